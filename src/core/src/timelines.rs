//! What happened to an order or a parcel, in one ordered list (seed 001 §5, appendix C
//! names): domain events (`order.paid`, `shipment.drafted` … `shipment.delivered`,
//! `automation.step_queued`/`_succeeded`/`_failed`), what couriers said (`courier.<status>`),
//! the emails sent (`email.<kind>`) and the webhook deliveries of those events
//! (`webhook.<status>`). One query; at most 500 entries, oldest first.

use crate::AppError;
use crate::db::{DbExt as _, Stmt};
use crate::ports::Platform;
use crate::stmt;
use crate::time_fmt::rfc3339;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Deserialize)]
struct Row {
    at: i64,
    source: String,
    #[serde(rename = "type")]
    kind: String,
    subject_type: String,
    subject_id: String,
    #[serde(deserialize_with = "crate::db::json_column")]
    detail: Value,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
#[schemars(rename = "OperationsTimelineEntry")]
pub struct TimelineEntry {
    pub at: String,
    /// `event`, `courier`, `automation`, `email` or `webhook`.
    pub source: String,
    /// `order.paid`, `shipment.delivered`, `courier.out_for_delivery`, `email.shipped`,
    /// `webhook.succeeded`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// What it is about: `order`, `shipment`, `invoice`, `webhook_delivery`.
    pub subject_type: String,
    pub subject_id: String,
    pub detail: Value,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
#[schemars(rename = "OperationsTimeline")]
pub struct Timeline {
    pub data: Vec<TimelineEntry>,
}

/// The list for the events `events` (a statement `WITH evs AS (…)` selecting domain events)
/// and the emails of `order_id`, if any.
fn query(events: Stmt, order_id: Option<&str>) -> Stmt {
    let mut sql = events.sql;
    sql.push_str(
        " SELECT created_at AS at, \
            CASE WHEN type LIKE 'courier.%' THEN 'courier' WHEN type LIKE 'automation.%' THEN 'automation' ELSE 'event' END AS source, \
            type, aggregate_type AS subject_type, aggregate_id AS subject_id, payload AS detail FROM evs \
          UNION ALL \
          SELECT COALESCE(d.delivered_at, d.updated_at), 'webhook', 'webhook.' || d.status, 'webhook_delivery', d.id, \
            json_object('event_type', d.event_type, 'event_id', d.event_id, 'endpoint', e.url, 'attempts', d.attempts, \
              'last_status', d.last_status, 'last_error', d.last_error) \
          FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.event_id IN (SELECT id FROM evs)",
    );
    let mut params = events.params;
    if let Some(o) = order_id {
        sql.push_str(
            " UNION ALL SELECT COALESCE(sent_at, created_at), 'email', 'email.' || kind, 'order', order_id, \
                json_object('status', status, 'recipient', recipient, 'error', error) FROM notifications WHERE order_id = ?",
        );
        params.push(o.into());
    }
    sql.push_str(" ORDER BY at, source LIMIT 500");
    Stmt { sql, params }
}

async fn run<P: Platform>(p: &P, q: Stmt) -> Result<Timeline, AppError> {
    let rows: Vec<Row> = p.db().query(q).await?;
    Ok(Timeline {
        data: rows
            .into_iter()
            .map(|r| TimelineEntry {
                at: rfc3339(r.at),
                source: r.source,
                kind: r.kind,
                subject_type: r.subject_type,
                subject_id: r.subject_id,
                detail: r.detail,
            })
            .collect(),
    })
}

/// `GET /admin/api/v1/orders/{id}/timeline`: the order's events, its parcels' and
/// invoices' events, its emails and the webhooks of all of them.
///
/// # Errors
/// 404 when the order is not this store's.
pub async fn of_order<P: Platform>(
    p: &P,
    store_id: &str,
    order_id: &str,
) -> Result<Timeline, AppError> {
    let known: Option<Value> = p
        .db()
        .first(stmt!(
            "SELECT id FROM orders WHERE id = ? AND store_id = ?",
            order_id,
            store_id
        ))
        .await?;
    if known.is_none() {
        return Err(AppError::NotFound("order"));
    }
    let events = stmt!(
        "WITH evs AS (SELECT id, type, aggregate_type, aggregate_id, payload, created_at FROM domain_events \
           WHERE store_id = ? AND ((aggregate_type = 'order' AND aggregate_id = ?) \
             OR (aggregate_type = 'shipment' AND aggregate_id IN (SELECT s.id FROM shipments s JOIN fulfillment_orders f ON f.id = s.fulfillment_order_id WHERE f.order_id = ?)) \
             OR (aggregate_type = 'invoice' AND aggregate_id IN (SELECT id FROM invoices WHERE order_id = ?))))",
        store_id,
        order_id,
        order_id,
        order_id
    );
    run(p, query(events, Some(order_id))).await
}

/// `GET /admin/api/v1/shipments/{id}/timeline`: the parcel's events (built, moved, what
/// its courier said, its automation) and their webhooks.
///
/// # Errors
/// 404 when the parcel is not this store's.
pub async fn of_shipment<P: Platform>(
    p: &P,
    store_id: &str,
    shipment_id: &str,
) -> Result<Timeline, AppError> {
    crate::shipments::get(p, store_id, shipment_id).await?;
    let events = stmt!(
        "WITH evs AS (SELECT id, type, aggregate_type, aggregate_id, payload, created_at FROM domain_events \
           WHERE store_id = ? AND aggregate_type = 'shipment' AND aggregate_id = ?)",
        store_id,
        shipment_id
    );
    run(p, query(events, None)).await
}
