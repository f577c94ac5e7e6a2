//! A parcel moves forward only: `draft → ready → in_transit → delivered`, or `cancelled`
//! before it leaves. Operators move it by hand; couriers' events move it through the same
//! statements ([`advance_statements`]), each step guarded by the status it leaves, so a
//! late or repeated event never takes a parcel back. The fulfillment order and the order
//! follow in the same batch; the order's shipped email is queued when a parcel leaves.

use super::{ShipmentRow, ShipmentView, derive_statements, shipment_event};
use crate::AppError;
use crate::db::{Db as _, Stmt};
use crate::domain::{ShipmentStatus, StateMachine};
use crate::ports::Platform;
use crate::stmt;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipmentStatusInput {
    /// `ready`, `in_transit`, `delivered` or `cancelled` (forward only).
    pub status: ShipmentStatus,
    #[serde(default)]
    #[schemars(length(max = 500))]
    pub note: Option<String>,
}

/// The steps from one status to another along the transition table (shortest path), or
/// `None` when `to` is not ahead of `from`.
pub fn path(
    from: ShipmentStatus,
    to: ShipmentStatus,
) -> Option<Vec<(ShipmentStatus, ShipmentStatus)>> {
    let mut paths: Vec<Vec<(ShipmentStatus, ShipmentStatus)>> = vec![Vec::new()];
    let mut seen = vec![from];
    while !paths.is_empty() {
        let mut next = Vec::new();
        for p in paths {
            let at = p.last().map_or(from, |s| s.1);
            for &(a, b) in ShipmentStatus::TRANSITIONS {
                if a == at && !seen.contains(&b) {
                    let mut q = p.clone();
                    q.push((a, b));
                    if b == to {
                        return Some(q);
                    }
                    seen.push(b);
                    next.push(q);
                }
            }
        }
        paths = next;
    }
    None
}

fn stamp(to: ShipmentStatus) -> Option<&'static str> {
    match to {
        ShipmentStatus::Ready => Some("ready_at"),
        ShipmentStatus::InTransit => Some("shipped_at"),
        ShipmentStatus::Delivered => Some("delivered_at"),
        ShipmentStatus::Cancelled => Some("cancelled_at"),
        ShipmentStatus::Draft => None,
    }
}

/// What moves a parcel from the status it had when read to `to`, one guarded step at a
/// time, with a timeline entry per status reached (`shipment.<status>`, once per parcel),
/// the fulfillment order's and order's statuses, the shipped email once it leaves, and its
/// automation steps due once it is delivered. Returns the statements and the ids of the
/// timeline entries they may write (whose webhooks the caller sends).
pub(crate) fn advance_statements(
    s: &ShipmentRow,
    to: ShipmentStatus,
    detail: &Value,
    now: i64,
) -> (Vec<Stmt>, Vec<String>) {
    let mut out = Vec::new();
    let mut events = Vec::new();
    for (from, step) in path(s.status, to).unwrap_or_default() {
        let col = stamp(step).unwrap_or("updated_at");
        out.push(stmt!(
            format!(
                "UPDATE shipments SET status = ?, {col} = COALESCE({col}, ?), updated_at = ? WHERE id = ? AND status = ?"
            ),
            step.as_str(),
            now,
            now,
            &s.id,
            from.as_str()
        ));
        let mut payload = json!({ "fulfillment_order_id": s.fulfillment_order_id, "order_id": s.order_id,
            "courier": s.courier, "tracking_number": s.tracking_number, "from": from.as_str() });
        if let (Some(p), Some(d)) = (payload.as_object_mut(), detail.as_object()) {
            p.extend(d.clone());
        }
        events.push(format!("shipment.{}:{}", step.as_str(), s.id));
        out.push(shipment_event(
            &format!("shipment.{}:{}", step.as_str(), s.id),
            &s.store_id,
            &s.id,
            &format!("shipment.{}", step.as_str()),
            &payload,
            now,
            stmt!(
                "EXISTS (SELECT 1 FROM shipments WHERE id = ? AND status = ? AND updated_at = ?)",
                &s.id,
                step.as_str(),
                now
            ),
        ));
    }
    out.extend(derive_statements(&s.fulfillment_order_id, &s.order_id, now));
    if matches!(to, ShipmentStatus::InTransit | ShipmentStatus::Delivered) {
        out.extend(crate::notifications::shipped(&s.store_id, &s.order_id, now));
    }
    if to == ShipmentStatus::Delivered {
        out.extend(crate::automation::run::due_statements(&s.id, now));
    }
    (out, events)
}

/// Runs a batch that moves a parcel, then sends what it queued: the shipped email, the
/// webhooks of the timeline entries `events` it wrote, and (delivered) the automation steps
/// that came due. A failure leaves them to the scheduler's sweeps.
pub(crate) async fn run_and_dispatch<P: Platform>(
    p: &P,
    s: &ShipmentRow,
    mut batch: Vec<Stmt>,
    events: &[String],
    now: i64,
) -> Result<(), AppError> {
    let mut outbox = vec![crate::notifications::outbox_id(
        &s.order_id,
        crate::notifications::Kind::Shipped,
    )];
    outbox.extend(
        events
            .iter()
            .map(|e| crate::outbound::deliveries::outbox_id(e)),
    );
    let claims_from = batch.len();
    batch.extend(crate::fulfillment::dispatch::claim(&outbox, now));
    let res = p.db().batch(batch).await?;
    let _ = crate::fulfillment::dispatch::send_claimed(p, &outbox, &res[claims_from..]).await;
    if events.iter().any(|e| e.starts_with("shipment.delivered:")) {
        let _ = crate::automation::run::dispatch_due(p, &s.id).await;
    }
    Ok(())
}

/// `POST /admin/api/v1/shipments/{id}/status`.
///
/// # Errors
/// 404; 409 when the parcel cannot move there from where it is (`shipment_transition_refused`);
/// 422 a parcel leaving without its courier and tracking number.
pub async fn set<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
    author: &str,
    input: ShipmentStatusInput,
) -> Result<ShipmentView, AppError> {
    let note = crate::input::optional_line("note", input.note.as_deref(), 500)?;
    let cur = super::row(p, store_id, id).await?;
    let to = input.status;
    if cur.status == to {
        return Ok(cur.view());
    }
    if !cur.status.can_go(to) {
        return Err(AppError::conflict(
            "shipment_transition_refused",
            format!(
                "A parcel that is {} cannot become {}.",
                cur.status.as_str(),
                to.as_str()
            ),
        ));
    }
    if to == ShipmentStatus::InTransit
        && (cur.courier.is_none() || cur.tracking_number.is_none())
        && cur.built_by.is_some()
    {
        return Err(AppError::validation(
            "status",
            "a parcel leaves with its courier and tracking number: set them first (PATCH)",
        ));
    }
    let now = p.now_ms();
    let (batch, events) = advance_statements(&cur, to, &json!({ "by": author, "note": note }), now);
    run_and_dispatch(p, &cur, batch, &events, now).await?;
    let after = super::get(p, store_id, id).await?;
    if after.status != to {
        return Err(AppError::conflict(
            "shipment_transition_refused",
            format!("The parcel became {} meanwhile.", after.status.as_str()),
        ));
    }
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ShipmentStatus::*;

    #[test]
    fn paths_go_forward_only() {
        assert_eq!(
            path(Ready, Delivered),
            Some(vec![(Ready, InTransit), (InTransit, Delivered)])
        );
        assert_eq!(path(Draft, InTransit), Some(vec![(Draft, InTransit)]));
        assert_eq!(path(Delivered, InTransit), None);
        assert_eq!(path(InTransit, Ready), None);
        assert_eq!(path(Cancelled, Delivered), None);
    }
}
