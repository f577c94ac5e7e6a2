//! What providers tell us (webhooks, or Gooten polls), normalized into one
//! [`ProviderUpdate`] and applied through one path: recorded once per (provider, event id)
//! like Stripe events, then one batch that moves the fulfillment order forward only,
//! upserts parcels (tracking only moves forward), counts what is left to ship and derives
//! the order's status from all of its fulfillment orders.

use super::{FO_COLUMNS, FulfillmentOrderRow, derive_order_status};
use crate::AppError;
use crate::auth::sha256_hex;
use crate::db::{Db as _, DbExt as _, Stmt};
use crate::domain::{FulfillmentStatus, ProviderCode, ShipmentStatus, StateMachine};
use crate::inbound::{self, Seen};
use crate::ports::Platform;
use crate::sql::orders::domain_event;
use crate::stmt;
use serde::Serialize;
use serde_json::{Value, json};

/// A provider's news about one of its orders.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderUpdate {
    pub provider: ProviderCode,
    /// Unique per provider; synthesized from the content when the provider sends none.
    pub event_id: String,
    pub kind: String,
    /// Our fulfillment order id, when the provider echoes it.
    pub reference: Option<String>,
    /// The provider's order id.
    pub external_id: Option<String>,
    /// Where the order stands now, when the update says (parcels decide shipped states).
    pub status: Option<FulfillmentStatus>,
    pub shipments: Vec<ShipmentUpdate>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ShipmentUpdate {
    pub external_id: String,
    pub carrier: Option<String>,
    pub service: Option<String>,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
    pub status: ShipmentStatus,
    /// (our fulfillment order line id, quantity); empty means every line, in full.
    pub lines: Vec<(String, i64)>,
}

#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct Applied {
    pub event_id: String,
    pub duplicate: bool,
    pub result: String,
}

/// A content-derived event id for providers that send none (Printful v1, Gooten polls).
pub fn synthetic_id(parts: &[&str]) -> String {
    format!("syn_{}", &sha256_hex(&parts.join("|"))[..32])
}

/// Finds the fulfillment order an update is about.
///
/// # Errors
/// Storage failures.
pub async fn find<P: Platform>(
    p: &P,
    provider: ProviderCode,
    reference: Option<&str>,
    external_id: Option<&str>,
) -> Result<Option<FulfillmentOrderRow>, AppError> {
    if let Some(r) = reference {
        let found: Option<FulfillmentOrderRow> = p
            .db()
            .first(stmt!(
                format!(
                    "SELECT {FO_COLUMNS} FROM fulfillment_orders WHERE id = ? AND provider = ?"
                ),
                r,
                provider.as_str()
            ))
            .await?;
        if found.is_some() {
            return Ok(found);
        }
    }
    match external_id {
        Some(x) => Ok(p
            .db()
            .first(stmt!(
                format!("SELECT {FO_COLUMNS} FROM fulfillment_orders WHERE provider = ? AND external_id = ?"),
                provider.as_str(),
                x
            ))
            .await?),
        None => Ok(None),
    }
}

/// States from which `to` is reached by the fulfillment state machine: a status only
/// moves forward, so a late or repeated update never takes an order back.
fn predecessors(to: FulfillmentStatus) -> Vec<&'static str> {
    FulfillmentStatus::ALL
        .iter()
        .filter(|from| **from != to && reaches(**from, to))
        .map(|s| s.as_str())
        .collect()
}

fn reaches(from: FulfillmentStatus, to: FulfillmentStatus) -> bool {
    let mut seen = vec![from];
    let mut i = 0;
    while i < seen.len() {
        for (a, b) in FulfillmentStatus::TRANSITIONS {
            if *a == seen[i] && !seen.contains(b) {
                seen.push(*b);
            }
        }
        i += 1;
    }
    seen[1..].contains(&to)
}

fn in_list(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("'{v}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// SQL rank of a shipment status, for forward-only tracking.
fn shipment_rank(col: &str) -> String {
    format!(
        "(CASE {col} WHEN 'draft' THEN 0 WHEN 'ready' THEN 1 WHEN 'in_transit' THEN 2 WHEN 'delivered' THEN 3 ELSE -1 END)"
    )
}

/// Records and applies one update for an already-authenticated provider request.
///
/// # Errors
/// 404 when no fulfillment order matches; 409 when the event id was seen with other
/// content; storage failures.
pub async fn apply<P: Platform>(
    p: &P,
    u: &ProviderUpdate,
    payload: &Value,
) -> Result<Applied, AppError> {
    let fo = find(
        p,
        u.provider,
        u.reference.as_deref(),
        u.external_id.as_deref(),
    )
    .await?
    .ok_or(AppError::NotFound("fulfillment order"))?;
    let now = p.now_ms();
    let hash = sha256_hex(&payload.to_string());
    match inbound::record(
        p,
        u.provider.as_str(),
        &u.event_id,
        &u.kind,
        &payload.to_string(),
        &hash,
    )
    .await?
    {
        Seen::Mismatch => {
            return Err(AppError::conflict(
                "event_payload_mismatch",
                format!(
                    "{} event {} was already received with a different payload",
                    u.provider.as_str(),
                    u.event_id
                ),
            ));
        }
        Seen::Processed => {
            return Ok(Applied {
                event_id: u.event_id.clone(),
                duplicate: true,
                result: "already applied".into(),
            });
        }
        Seen::Unprocessed => {}
    }
    let mut batch = statements(&fo, u, now);
    batch.push(inbound::mark_processed(
        u.provider.as_str(),
        &u.event_id,
        now,
    ));
    // A parcel's email is claimed in the batch that queues it: one round trip less.
    let outbox = if u.shipments.is_empty() {
        Vec::new()
    } else {
        vec![crate::notifications::outbox_id(
            &fo.order_id,
            crate::notifications::Kind::Shipped,
        )]
    };
    let claims_from = batch.len();
    if !outbox.is_empty() {
        batch.extend(super::dispatch::claim(&outbox, now));
    }
    let res = p.db().batch(batch).await?;
    if !outbox.is_empty() {
        // A failure leaves the row to the scheduler's sweep.
        let _ = super::dispatch::send_claimed(p, &outbox, &res[claims_from..]).await;
    }
    Ok(Applied {
        event_id: u.event_id.clone(),
        duplicate: false,
        result: format!(
            "{}{}",
            u.status.map_or("", |s| s.as_str()),
            if u.shipments.is_empty() {
                String::new()
            } else {
                format!(" ({} parcel(s))", u.shipments.len())
            }
        ),
    })
}

fn statements(fo: &FulfillmentOrderRow, u: &ProviderUpdate, now: i64) -> Vec<Stmt> {
    let mut out = Vec::new();
    // The provider's id, learnt even if this update outran the consumer's own record.
    if let Some(x) = &u.external_id {
        out.push(stmt!(
            "UPDATE fulfillment_orders SET external_id = COALESCE(external_id, ?) WHERE id = ?",
            x,
            &fo.id
        ));
    }
    if let Some(to) = u.status.filter(|s| {
        !matches!(
            s,
            FulfillmentStatus::Shipped
                | FulfillmentStatus::PartiallyShipped
                | FulfillmentStatus::Delivered
        ) || u.shipments.is_empty()
    }) {
        out.push(stmt!(
            format!(
                "UPDATE fulfillment_orders SET status = ?, error = COALESCE(?, error), lease_until = NULL, updated_at = ? \
                 WHERE id = ? AND status IN ({})",
                in_list(&predecessors(to))
            ),
            to.as_str(),
            &u.error,
            now,
            &fo.id
        ));
    }
    for s in &u.shipments {
        let shp_id = format!("shp_{}_{}", fo.id, s.external_id);
        let (new_rank, old_rank) = (
            shipment_rank("excluded.status"),
            shipment_rank("shipments.status"),
        );
        out.push(stmt!(
            format!(
                "INSERT INTO shipments (id, store_id, fulfillment_order_id, external_id, carrier, service, tracking_number, tracking_url, status, shipped_at, delivered_at, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (fulfillment_order_id, external_id) DO UPDATE SET \
                   carrier = COALESCE(excluded.carrier, shipments.carrier), service = COALESCE(excluded.service, shipments.service), \
                   tracking_number = COALESCE(excluded.tracking_number, shipments.tracking_number), \
                   tracking_url = COALESCE(excluded.tracking_url, shipments.tracking_url), \
                   status = CASE WHEN {new_rank} > {old_rank} THEN excluded.status ELSE shipments.status END, \
                   delivered_at = COALESCE(shipments.delivered_at, excluded.delivered_at), updated_at = excluded.updated_at"
            ),
            &shp_id,
            &fo.store_id,
            &fo.id,
            &s.external_id,
            &s.carrier,
            &s.service,
            &s.tracking_number,
            &s.tracking_url,
            s.status.as_str(),
            now,
            (s.status == ShipmentStatus::Delivered).then_some(now),
            now,
            now
        ));
        if s.lines.is_empty() {
            out.push(stmt!(
                "INSERT INTO shipment_lines (shipment_id, fulfillment_order_line_id, quantity) \
                 SELECT ?, id, quantity FROM fulfillment_order_lines WHERE fulfillment_order_id = ? ON CONFLICT DO NOTHING",
                &shp_id,
                &fo.id
            ));
        }
        for (line, qty) in &s.lines {
            out.push(stmt!(
                "INSERT INTO shipment_lines (shipment_id, fulfillment_order_line_id, quantity) \
                 SELECT ?, id, ? FROM fulfillment_order_lines WHERE id = ? AND fulfillment_order_id = ? ON CONFLICT DO NOTHING",
                &shp_id,
                *qty,
                line,
                &fo.id
            ));
        }
    }
    if !u.shipments.is_empty() {
        out.push(stmt!(
            "UPDATE fulfillment_order_lines SET remaining_quantity = MAX(0, quantity - COALESCE((SELECT SUM(sl.quantity) FROM shipment_lines sl \
                JOIN shipments s ON s.id = sl.shipment_id WHERE sl.fulfillment_order_line_id = fulfillment_order_lines.id AND s.status <> 'cancelled'), 0)) \
             WHERE fulfillment_order_id = ?",
            &fo.id
        ));
        let eligible = in_list(&predecessors(FulfillmentStatus::Delivered));
        out.push(stmt!(
            format!(
                "UPDATE fulfillment_orders SET status = CASE \
                    WHEN EXISTS (SELECT 1 FROM fulfillment_order_lines WHERE fulfillment_order_id = fulfillment_orders.id AND remaining_quantity > 0) THEN 'partially_shipped' \
                    WHEN NOT EXISTS (SELECT 1 FROM shipments WHERE fulfillment_order_id = fulfillment_orders.id AND status NOT IN ('delivered', 'cancelled')) THEN 'delivered' \
                    ELSE 'shipped' END, lease_until = NULL, updated_at = ? \
                 WHERE id = ? AND (status IN ({eligible}) OR status = 'shipped')"
            ),
            now,
            &fo.id
        ));
    }
    out.extend(derive_order_status(&fo.order_id, now));
    if !u.shipments.is_empty() {
        out.extend(crate::notifications::shipped(
            &fo.store_id,
            &fo.order_id,
            now,
        ));
    }
    out.push(domain_event(
        &format!("fulfillment.{}:{}:{}", fo.provider.as_str(), fo.id, u.event_id),
        &fo.store_id,
        &fo.order_id,
        &format!("fulfillment.{}", u.kind.replace(['#', ' '], "_")),
        &json!({ "fulfillment_order_id": fo.id, "status": u.status.map(|s| s.as_str()), "parcels": u.shipments.len(), "error": u.error }),
        now,
        stmt!("1 = 1"),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_only_move_forward() {
        let to_shipped = predecessors(FulfillmentStatus::Shipped);
        assert!(to_shipped.contains(&"submitted") && to_shipped.contains(&"in_production"));
        assert!(!to_shipped.contains(&"delivered"));
        let to_production = predecessors(FulfillmentStatus::InProduction);
        assert!(!to_production.contains(&"shipped"), "{to_production:?}");
        assert!(!to_production.contains(&"cancelled"));
        assert!(predecessors(FulfillmentStatus::Pending).contains(&"failed"));
    }
}
