//! Parcels (seed 001 §2.4). A fulfillment order run in house (warehouse, manual) is shipped
//! in parcels operators build ([`build`]): each takes quantities of the order's lines —
//! never more than is left, decided inside the batch that writes it — goes to an address
//! from the company's book or typed in, and is handed to one of the store's [`couriers`].
//! Operators ([`status`]) and couriers ([`courier_events`]) move a parcel forward only;
//! the fulfillment order and the order derive their statuses from their parcels in the
//! same batch.

pub mod build;
pub mod courier_events;
pub mod couriers;
pub mod poll;
pub mod status;

use crate::AppError;
use crate::db::{DbExt as _, Stmt};
use crate::domain::ShipmentStatus;
use crate::ports::Platform;
use crate::stmt;
use crate::time_fmt::rfc3339;
use serde::{Deserialize, Serialize};

/// Where a parcel goes, as it was when the parcel was built.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct Destination {
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ShipmentLineView {
    pub fulfillment_order_line_id: String,
    pub order_item_id: String,
    pub sku: Option<String>,
    pub title: String,
    pub quantity: i64,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ShipmentView {
    pub id: String,
    pub fulfillment_order_id: String,
    pub order_id: String,
    pub order_number: String,
    pub status: ShipmentStatus,
    /// The store's courier code, for parcels built by operators.
    pub courier: Option<String>,
    /// The carrier as named to people (a provider's parcels carry only this).
    pub carrier: Option<String>,
    pub service: Option<String>,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
    /// What the courier last said: `in_transit`, `out_for_delivery`, `delivered`, `exception`.
    pub tracking_status: Option<String>,
    pub tracking_location: Option<String>,
    /// When the furthest courier event happened.
    pub tracking_event_at: Option<String>,
    /// The book's address the destination came from.
    pub address_id: Option<String>,
    pub destination: Option<Destination>,
    pub lines: Vec<ShipmentLineView>,
    /// Who built it (an admin key's id or a session's user); none for a provider's parcel.
    pub built_by: Option<String>,
    pub ready_at: Option<String>,
    pub shipped_at: Option<String>,
    pub delivered_at: Option<String>,
    pub cancelled_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A parcel as stored (with its order's number and its lines).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ShipmentRow {
    pub id: String,
    pub store_id: String,
    pub fulfillment_order_id: String,
    pub order_id: String,
    pub order_number: String,
    pub status: ShipmentStatus,
    pub courier: Option<String>,
    pub carrier: Option<String>,
    pub service: Option<String>,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
    pub tracking_status: Option<String>,
    pub tracking_location: Option<String>,
    pub tracking_event_at: Option<i64>,
    pub address_id: Option<String>,
    #[serde(default, deserialize_with = "crate::db::json_column")]
    pub destination: Option<Destination>,
    #[serde(deserialize_with = "crate::db::json_column")]
    pub lines: Vec<ShipmentLineView>,
    pub built_by: Option<String>,
    pub ready_at: Option<i64>,
    pub shipped_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub cancelled_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ShipmentRow {
    fn view(self) -> ShipmentView {
        ShipmentView {
            id: self.id,
            fulfillment_order_id: self.fulfillment_order_id,
            order_id: self.order_id,
            order_number: self.order_number,
            status: self.status,
            courier: self.courier,
            carrier: self.carrier,
            service: self.service,
            tracking_number: self.tracking_number,
            tracking_url: self.tracking_url,
            tracking_status: self.tracking_status,
            tracking_location: self.tracking_location,
            tracking_event_at: self.tracking_event_at.map(rfc3339),
            address_id: self.address_id,
            destination: self.destination,
            lines: self.lines,
            built_by: self.built_by,
            ready_at: self.ready_at.map(rfc3339),
            shipped_at: self.shipped_at.map(rfc3339),
            delivered_at: self.delivered_at.map(rfc3339),
            cancelled_at: self.cancelled_at.map(rfc3339),
            created_at: rfc3339(self.created_at),
            updated_at: rfc3339(self.updated_at),
        }
    }
}

pub(crate) const SELECT: &str = "SELECT s.id, s.store_id, s.fulfillment_order_id, f.order_id, o.order_number, s.status, s.courier, s.carrier, s.service, \
    s.tracking_number, s.tracking_url, s.tracking_status, s.tracking_location, s.tracking_event_at, s.address_id, COALESCE(s.destination, 'null') AS destination, s.built_by, \
    s.ready_at, s.shipped_at, s.delivered_at, s.cancelled_at, s.created_at, s.updated_at, \
    (SELECT json_group_array(json_object('fulfillment_order_line_id', sl.fulfillment_order_line_id, 'order_item_id', l.order_item_id, \
        'sku', oi.sku, 'title', oi.title, 'quantity', sl.quantity)) \
     FROM shipment_lines sl JOIN fulfillment_order_lines l ON l.id = sl.fulfillment_order_line_id JOIN order_items oi ON oi.id = l.order_item_id \
     WHERE sl.shipment_id = s.id) AS lines \
    FROM shipments s JOIN fulfillment_orders f ON f.id = s.fulfillment_order_id JOIN orders o ON o.id = f.order_id";

/// One of the store's parcels.
///
/// # Errors
/// 404 when it is not this store's.
pub async fn get<P: Platform>(p: &P, store_id: &str, id: &str) -> Result<ShipmentView, AppError> {
    Ok(row(p, store_id, id).await?.view())
}

pub(crate) async fn row<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
) -> Result<ShipmentRow, AppError> {
    p.db()
        .first::<ShipmentRow>(stmt!(
            format!("{SELECT} WHERE s.id = ? AND s.store_id = ?"),
            id,
            store_id
        ))
        .await?
        .ok_or(AppError::NotFound("shipment"))
}

/// A fulfillment order's parcels, oldest first.
///
/// # Errors
/// Storage failures.
pub async fn of_fulfillment_order<P: Platform>(
    p: &P,
    fo_id: &str,
) -> Result<Vec<ShipmentView>, AppError> {
    let rows: Vec<ShipmentRow> = p
        .db()
        .query(stmt!(
            format!("{SELECT} WHERE s.fulfillment_order_id = ? ORDER BY s.created_at, s.rowid"),
            fo_id
        ))
        .await?;
    Ok(rows.into_iter().map(ShipmentRow::view).collect())
}

/// Units of a fulfillment order line in parcels of these statuses.
fn units_in(statuses: &str) -> String {
    format!(
        "COALESCE((SELECT SUM(sl.quantity) FROM shipment_lines sl JOIN shipments s ON s.id = sl.shipment_id \
           WHERE sl.fulfillment_order_line_id = l.id AND s.status IN ({statuses})), 0)"
    )
}

/// What follows a change to a fulfillment order's parcels, in the batch that makes it:
/// each line's remaining quantity (what no live parcel holds), the fulfillment order's
/// status from what its parcels carry (partially shipped while some units have not left,
/// shipped when all have, delivered when all arrived), and the order's from its
/// fulfillment orders. A status moves one step per update, so each update runs as often
/// as the longest path it may take.
pub fn derive_statements(fo_id: &str, order_id: &str, now: i64) -> Vec<Stmt> {
    let left = units_in("'in_transit', 'delivered'");
    let arrived = units_in("'delivered'");
    let all_lines = |held: &str| {
        format!(
            "NOT EXISTS (SELECT 1 FROM fulfillment_order_lines l WHERE l.fulfillment_order_id = fulfillment_orders.id AND l.quantity > {held})"
        )
    };
    let (all_left, all_arrived) = (all_lines(&left), all_lines(&arrived));
    let fo_status = stmt!(
        format!(
            "UPDATE fulfillment_orders SET status = CASE \
                WHEN status = 'shipped' AND {all_arrived} THEN 'delivered' \
                WHEN status <> 'shipped' AND {all_left} THEN 'shipped' \
                WHEN status NOT IN ('shipped', 'partially_shipped') AND EXISTS (SELECT 1 FROM shipments \
                    WHERE fulfillment_order_id = fulfillment_orders.id AND status IN ('in_transit', 'delivered')) THEN 'partially_shipped' \
                ELSE status END, updated_at = ? \
             WHERE id = ? AND status IN ('submitted', 'in_production', 'partially_shipped', 'shipped', 'cancel_rejected')"
        ),
        now,
        fo_id
    );
    let mut out = vec![stmt!(
        format!(
            "UPDATE fulfillment_order_lines SET remaining_quantity = MAX(0, quantity - {}) WHERE fulfillment_order_id = ?",
            units_in("'draft', 'ready', 'in_transit', 'delivered'")
                .replace("l.id", "fulfillment_order_lines.id")
        ),
        fo_id
    )];
    out.push(fo_status.clone());
    out.push(fo_status);
    out.extend(crate::fulfillment::derive_order_status(order_id, now));
    out
}

/// A parcel's timeline entry (seed 001 appendix C names: `shipment.drafted`, `.ready`,
/// `.in_transit`, `.delivered`, …), written when `guard` holds and once per id.
pub fn shipment_event(
    id: &str,
    store_id: &str,
    shipment_id: &str,
    kind: &str,
    payload: &serde_json::Value,
    now: i64,
    guard: Stmt,
) -> Stmt {
    stmt!(
        "INSERT INTO domain_events (id, store_id, aggregate_type, aggregate_id, type, payload, created_at) \
         SELECT ?, ?, 'shipment', ?, ?, ?, ?",
        id,
        store_id,
        shipment_id,
        kind,
        payload.to_string(),
        now
    )
    .when(&guard)
    .or_nothing()
}
