//! Cancelling a paid order (customer inside the store's window, or an operator): each
//! fulfillment order not yet at a provider is cancelled at once; those at a provider become
//! `cancel_requested` and the queue asks the provider (Printful `DELETE`, Prodigi
//! `actions/cancel`, Gooten `orderstatus`, Gelato `:cancel`; manual → an operator task);
//! shipped ones are refused with a reason. Refunds follow what was actually cancelled: lines
//! cancelled locally at once, lines a provider cancelled when it says so, everything left
//! (shipping, digital items) once the whole order is cancelled. Each refund is reserved in
//! the batch that cancels, so a crash cannot lose it (the sweep sends it).

use super::dispatch::dispatch;
use super::providers::{AnyProvider, CancelOutcome, Provider, ProviderError};
use super::submit::LEASE_MS;
use super::{FO_COLUMNS, FulfillmentOrderRow, derive_order_status};
use crate::AppError;
use crate::db::{Db as _, DbExt as _, Stmt, decode};
use crate::domain::{FulfillmentStatus, OrderStatus};
use crate::orders::{OrderView, view};
use crate::payments::refunds;
use crate::ports::{Platform, PlatformExt};
use crate::queue::{Message, Outcome};
use crate::sql::orders::{self, OrderRow, domain_event};
use crate::sql::stores;
use crate::stmt;
use serde::Serialize;
use serde_json::json;

/// Who asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// Only in cancellable states and inside the store's cancellation window.
    Customer,
    Operator,
}

/// Minutes after payment a customer may cancel when the store does not say.
pub const DEFAULT_WINDOW_MINUTES: u32 = 60;

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Part {
    pub fulfillment_order_id: String,
    pub provider: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CancellationResult {
    pub order: OrderView,
    /// Cancelled now (never reached a provider).
    pub cancelled: Vec<Part>,
    /// Asked of the provider; the outcome arrives shortly (`cancelled` or `cancel_rejected`).
    pub requested: Vec<Part>,
    /// Not cancellable (shipped, or being submitted this moment), with the reason.
    pub not_cancelled: Vec<Part>,
    /// The refund this cancellation leads to now (more follows each provider's yes).
    pub refund: Option<refunds::RefundView>,
}

fn part(fo: &FulfillmentOrderRow, reason: Option<&str>) -> Part {
    Part {
        fulfillment_order_id: fo.id.clone(),
        provider: fo.provider.as_str().into(),
        reason: reason.map(str::to_owned),
    }
}

/// The order's status once cancellations are settled: cancelled when nothing is left,
/// still `cancel_requested` while a provider has not answered, else back to processing
/// (then refined from the fulfillment orders).
fn settle(order_id: &str, now: i64) -> Vec<Stmt> {
    let mut out = vec![stmt!(
        "UPDATE orders SET status = CASE \
                WHEN NOT EXISTS (SELECT 1 FROM fulfillment_orders WHERE order_id = orders.id AND status <> 'cancelled') THEN 'cancelled' \
                WHEN EXISTS (SELECT 1 FROM fulfillment_orders WHERE order_id = orders.id AND status = 'cancel_requested') THEN 'cancel_requested' \
                ELSE 'processing' END, \
              cancelled_at = CASE WHEN NOT EXISTS (SELECT 1 FROM fulfillment_orders WHERE order_id = orders.id AND status <> 'cancelled') THEN ? ELSE cancelled_at END, \
              updated_at = ? \
             WHERE id = ? AND status = 'cancel_requested'",
        now,
        now,
        order_id
    )];
    out.extend(derive_order_status(order_id, now));
    out
}

/// Refund reservations for what this step cancelled: everything left when the order ended
/// cancelled, else the cancelled lines.
fn refund_statements(
    order: &OrderRow,
    id: &str,
    lines_amount: i64,
    reason: &str,
    now: i64,
) -> Vec<Stmt> {
    let cancelled = stmt!(
        "EXISTS (SELECT 1 FROM orders WHERE id = ? AND status = 'cancelled')",
        &order.id
    );
    let not_cancelled = stmt!(
        "NOT EXISTS (SELECT 1 FROM orders WHERE id = ? AND status = 'cancelled')",
        &order.id
    );
    let refund = refunds::Reservation {
        id,
        store_id: &order.store_id,
        order_id: &order.id,
        currency: &order.currency,
        reason: Some(reason),
        now,
    };
    vec![
        refund.rest().and_when(&cancelled).or_nothing(),
        refund
            .of(lines_amount)
            .and_when(&not_cancelled)
            .or_nothing(),
    ]
}

async fn lines_total<P: Platform>(p: &P, fo_ids: &[&str]) -> Result<i64, AppError> {
    let mut total = 0;
    for id in fo_ids {
        total += p
            .db()
            .scalar_i64(stmt!(
                "SELECT COALESCE(SUM(oi.unit_price * l.quantity), 0) AS n FROM fulfillment_order_lines l JOIN order_items oi ON oi.id = l.order_item_id \
                 WHERE l.fulfillment_order_id = ?",
                *id
            ))
            .await?;
    }
    Ok(total)
}

/// Cancels what can be cancelled of a paid order.
///
/// # Errors
/// 409 when the order is not in a cancellable state, the customer's window has closed, or
/// nothing in it can be cancelled any more (with the reasons).
pub async fn cancel_order<P: Platform>(
    p: &P,
    order: OrderRow,
    actor: Actor,
    reason: &str,
) -> Result<CancellationResult, AppError> {
    let now = p.now_ms();
    if order.status == OrderStatus::Pending {
        return cancel_unpaid(p, &order, reason, now).await;
    }
    may_cancel(p, &order, actor, now).await?;
    let fos: Vec<FulfillmentOrderRow> = p
        .db()
        .query(stmt!(
            format!(
                "SELECT {FO_COLUMNS} FROM fulfillment_orders WHERE order_id = ? ORDER BY provider"
            ),
            &order.id
        ))
        .await?;
    let triage = Triage::of(&fos)?;
    let local_ids: Vec<&str> = triage.local.iter().map(|f| f.id.as_str()).collect();
    let local_amount = lines_total(p, &local_ids).await?;
    let refund_id = p.new_id("ref");
    let (mut batch, outbox) = triage.statements(&order, reason, now);
    batch.extend(settle(&order.id, now));
    batch.extend(refund_statements(
        &order,
        &refund_id,
        local_amount,
        reason,
        now,
    ));
    batch.push(domain_event(
        &format!("order.cancel_requested:{}:{now}", order.id),
        &order.store_id,
        &order.id,
        "order.cancel_requested",
        &json!({ "reason": reason, "by": format!("{actor:?}").to_lowercase(), "cancelled": local_ids,
                 "requested": triage.remote.iter().map(|f| &f.id).collect::<Vec<_>>() }),
        now,
        stmt!("1 = 1"),
    ));
    let res = p.db().batch(batch).await?;
    if res[0].changes == 0 {
        return Err(AppError::conflict(
            "order_not_cancellable",
            "The order changed meanwhile; look at it again.",
        ));
    }
    dispatch(p, &outbox).await?;
    // Best effort now; the 5-minute sweep sends a reservation Stripe did not answer.
    let _ = refunds::send(p, &refund_id).await;
    let refund = refunds::view(p, &refund_id).await?;
    let order = orders::order_by_id(p.db(), &order.id)
        .await?
        .ok_or(AppError::NotFound("order"))?;
    Ok(CancellationResult {
        order: view(p, &order).await?,
        cancelled: triage.local.iter().map(|f| part(f, None)).collect(),
        requested: triage.remote.iter().map(|f| part(f, None)).collect(),
        not_cancelled: triage.refused,
        refund,
    })
}

/// An order not yet paid is simply cancelled (its cart given back): nothing to refund.
async fn cancel_unpaid<P: Platform>(
    p: &P,
    order: &OrderRow,
    reason: &str,
    now: i64,
) -> Result<CancellationResult, AppError> {
    p.db()
        .batch(orders::cancel_pending(
            &order.store_id,
            &order.id,
            reason,
            now,
        ))
        .await?;
    let order = orders::order_by_id(p.db(), &order.id)
        .await?
        .ok_or(AppError::NotFound("order"))?;
    Ok(CancellationResult {
        order: view(p, &order).await?,
        cancelled: vec![],
        requested: vec![],
        not_cancelled: vec![],
        refund: None,
    })
}

/// Whether this actor may cancel the order now: its status, and for a customer the
/// store's cancellation window after payment.
async fn may_cancel<P: Platform>(
    p: &P,
    order: &OrderRow,
    actor: Actor,
    now: i64,
) -> Result<(), AppError> {
    let allowed: &[OrderStatus] = match actor {
        Actor::Customer => &[OrderStatus::Paid, OrderStatus::Processing],
        Actor::Operator => &[
            OrderStatus::Paid,
            OrderStatus::Processing,
            OrderStatus::PartiallyShipped,
        ],
    };
    if !allowed.contains(&order.status) {
        return Err(AppError::conflict(
            "order_not_cancellable",
            format!(
                "An order that is {} cannot be cancelled.",
                order.status.as_str()
            ),
        ));
    }
    if actor == Actor::Customer {
        let store = stores::store_by_id(p.db(), &order.store_id)
            .await?
            .ok_or(AppError::NotFound("store"))?;
        let minutes = store
            .settings
            .cancellation_window_minutes
            .unwrap_or(DEFAULT_WINDOW_MINUTES);
        if order
            .paid_at
            .is_none_or(|paid| now > paid + i64::from(minutes) * 60_000)
        {
            return Err(AppError::conflict(
                "cancellation_window_closed",
                format!(
                    "Orders can be cancelled within {minutes} minutes of payment; contact the store."
                ),
            ));
        }
    }
    Ok(())
}

/// An order's fulfillment orders sorted by what cancelling does to each.
struct Triage<'a> {
    /// Never reached a provider: cancelled here, at once.
    local: Vec<&'a FulfillmentOrderRow>,
    /// At a provider: the queue asks it to cancel.
    remote: Vec<&'a FulfillmentOrderRow>,
    /// Shipped, or being submitted this moment: not cancellable, with the reason.
    refused: Vec<Part>,
}

impl<'a> Triage<'a> {
    /// # Errors
    /// 409 when there are fulfillment orders and none of them can be cancelled.
    fn of(fos: &'a [FulfillmentOrderRow]) -> Result<Self, AppError> {
        use FulfillmentStatus::*;
        let (mut local, mut remote, mut refused) = (Vec::new(), Vec::new(), Vec::new());
        for fo in fos {
            match fo.status {
                Pending | Failed => local.push(fo),
                Submitted | InProduction | OnHold | CancelRejected => remote.push(fo),
                Submitting => refused.push(part(
                    fo,
                    Some("being submitted to the provider right now; try again in a minute"),
                )),
                Cancelled | CancelRequested => {}
                other => refused.push(part(fo, Some(&format!("already {}", other.as_str())))),
            }
        }
        if local.is_empty() && remote.is_empty() && !fos.is_empty() {
            return Err(AppError::conflict(
                "order_not_cancellable",
                format!(
                    "Nothing in this order can be cancelled any more: {}.",
                    refused
                        .iter()
                        .map(|r| format!("{} {}", r.provider, r.reason.as_deref().unwrap_or("")))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            ));
        }
        Ok(Triage {
            local,
            remote,
            refused,
        })
    }

    /// The order becomes `cancel_requested` (the first statement: it changes nothing when
    /// the order moved meanwhile), local fulfillment orders are cancelled and remote ones
    /// requested, each with its outbox message. Returns the statements and the outbox ids.
    fn statements(&self, order: &OrderRow, reason: &str, now: i64) -> (Vec<Stmt>, Vec<String>) {
        let mut batch = vec![stmt!(
            "UPDATE orders SET status = 'cancel_requested', cancel_reason = ?, updated_at = ? WHERE id = ? AND status IN ('paid', 'processing', 'partially_shipped')",
            reason,
            now,
            &order.id
        )];
        for fo in &self.local {
            batch.push(stmt!(
                "UPDATE fulfillment_orders SET status = 'cancelled', lease_until = NULL, updated_at = ? WHERE id = ? AND status IN ('pending', 'failed')",
                now,
                &fo.id
            ));
        }
        let mut outbox = Vec::new();
        for fo in &self.remote {
            batch.push(stmt!(
                "UPDATE fulfillment_orders SET status = 'cancel_requested', lease_until = NULL, updated_at = ? \
                 WHERE id = ? AND status IN ('submitted', 'in_production', 'on_hold', 'cancel_rejected')",
                now,
                &fo.id
            ));
            let id = format!("cancel:{}:{now}", fo.id);
            let message = Message::Cancel {
                fulfillment_order_id: fo.id.clone(),
                store_id: fo.store_id.clone(),
            };
            batch.push(stmt!(
                "INSERT INTO outbox (id, store_id, kind, payload, created_at) SELECT ?, ?, 'cancel', ?, ? \
                 WHERE EXISTS (SELECT 1 FROM fulfillment_orders WHERE id = ? AND status = 'cancel_requested') ON CONFLICT DO NOTHING",
                &id,
                &fo.store_id,
                serde_json::to_string(&message).unwrap_or_default(),
                now,
                &fo.id
            ));
            outbox.push(id);
        }
        (batch, outbox)
    }
}

/// The consumer's work for one `cancel` message.
pub async fn process<P: Platform>(p: &P, fo_id: &str) -> Outcome {
    run(p, fo_id).await.unwrap_or_else(|e| Outcome::RetryAfter {
        seconds: 5,
        reason: Some(e.to_string()),
    })
}

async fn run<P: Platform>(p: &P, fo_id: &str) -> Result<Outcome, AppError> {
    let now = p.now_ms();
    let res = p
        .db()
        .batch(vec![
            stmt!(
                "UPDATE fulfillment_orders SET lease_until = ? WHERE id = ? AND status = 'cancel_requested' AND (lease_until IS NULL OR lease_until < ?)",
                now + LEASE_MS,
                fo_id,
                now
            ),
            stmt!(format!("SELECT {FO_COLUMNS} FROM fulfillment_orders WHERE id = ?"), fo_id),
        ])
        .await?;
    let Some(row) = res[1].rows.first().cloned() else {
        return Ok(Outcome::Dropped {
            reason: format!("no fulfillment order {fo_id}"),
        });
    };
    let fo: FulfillmentOrderRow = decode(row)?;
    if res[0].changes == 0 {
        return Ok(Outcome::Dropped {
            reason: format!("{fo_id} is {}; nothing to cancel", fo.status.as_str()),
        });
    }
    let order = orders::order_by_id(p.db(), &fo.order_id)
        .await?
        .ok_or(AppError::NotFound("order"))?;
    let store = stores::store_by_id(p.db(), &fo.store_id)
        .await?
        .ok_or(AppError::NotFound("store"))?;
    let outcome = match (
        AnyProvider::for_store(p, fo.provider, &store.settings.providers),
        fo.external_id.as_deref(),
    ) {
        (Ok(provider), Some(ext)) => provider.cancel(p, ext).await,
        (Ok(_), None) | (Err(ProviderError::NotConfigured(_)), _) => {
            Ok(CancelOutcome::OperatorTask)
        }
        (Err(e), _) => Err(e),
    };
    let now = p.now_ms();
    match outcome {
        Ok(o @ (CancelOutcome::Cancelled | CancelOutcome::Refused(_))) => {
            settle_outcome(p, &fo, &order, o, "cancelled_by_provider").await?;
            Ok(Outcome::Done)
        }
        Ok(CancelOutcome::OperatorTask) => {
            p.db()
                .batch(vec![
                    stmt!(
                        "UPDATE fulfillment_orders SET lease_until = NULL, error = ?, updated_at = ? WHERE id = ? AND status = 'cancel_requested'",
                        format!("an operator must stop it at {} and confirm", fo.provider.as_str()),
                        now,
                        &fo.id
                    ),
                    domain_event(
                        &format!("fulfillment.cancel_task:{}", fo.id),
                        &fo.store_id,
                        &fo.order_id,
                        "fulfillment.cancel_task",
                        &json!({ "fulfillment_order_id": fo.id, "provider": fo.provider }),
                        now,
                        stmt!("1 = 1"),
                    ),
                ])
                .await?;
            Ok(Outcome::Done)
        }
        Err(ProviderError::Retry { after_s, message }) => {
            p.db()
                .run(stmt!("UPDATE fulfillment_orders SET lease_until = NULL, error = ? WHERE id = ? AND status = 'cancel_requested'", &message, &fo.id))
                .await?;
            Ok(Outcome::RetryAfter {
                seconds: after_s.unwrap_or(30),
                reason: Some(message),
            })
        }
        Err(e) => {
            // The provider cannot be asked (refused request): record it for an operator.
            p.db()
                .run(stmt!("UPDATE fulfillment_orders SET lease_until = NULL, error = ? WHERE id = ? AND status = 'cancel_requested'", e.to_string(), &fo.id))
                .await?;
            Ok(Outcome::Done)
        }
    }
}

/// Records what the provider (or an operator, for orders run by hand) said about a
/// requested cancellation: cancelled — with the refund of its lines, sent after the batch —
/// or refused with the reason. Only from `cancel_requested`; returns whether this call
/// settled it.
///
/// # Errors
/// Storage failures.
pub async fn settle_outcome<P: Platform>(
    p: &P,
    fo: &FulfillmentOrderRow,
    order: &crate::sql::orders::OrderRow,
    outcome: CancelOutcome,
    refund_reason: &str,
) -> Result<bool, AppError> {
    let now = p.now_ms();
    match outcome {
        CancelOutcome::Cancelled => {
            let refund_id = p.new_id("ref");
            let amount = lines_total(p, &[fo.id.as_str()]).await?;
            let mut batch = vec![stmt!(
                "UPDATE fulfillment_orders SET status = 'cancelled', lease_until = NULL, error = NULL, updated_at = ? WHERE id = ? AND status = 'cancel_requested'",
                now,
                &fo.id
            )];
            batch.extend(settle(&order.id, now));
            batch.extend(refund_statements(
                order,
                &refund_id,
                amount,
                refund_reason,
                now,
            ));
            batch.push(domain_event(
                &format!("fulfillment.cancelled:{}", fo.id),
                &fo.store_id,
                &fo.order_id,
                "fulfillment.cancelled",
                &json!({ "fulfillment_order_id": fo.id, "provider": fo.provider }),
                now,
                stmt!("1 = 1"),
            ));
            let res = p.db().batch(batch).await?;
            if res[0].changes == 1 {
                let _ = refunds::send(p, &refund_id).await;
            }
            Ok(res[0].changes == 1)
        }
        CancelOutcome::Refused(why) => {
            let mut batch = vec![stmt!(
                "UPDATE fulfillment_orders SET status = 'cancel_rejected', lease_until = NULL, error = ?, updated_at = ? WHERE id = ? AND status = 'cancel_requested'",
                &why,
                now,
                &fo.id
            )];
            batch.extend(settle(&order.id, now));
            batch.push(domain_event(
                &format!("fulfillment.cancel_rejected:{}", fo.id),
                &fo.store_id,
                &fo.order_id,
                "fulfillment.cancel_rejected",
                &json!({ "fulfillment_order_id": fo.id, "provider": fo.provider, "reason": why }),
                now,
                stmt!("1 = 1"),
            ));
            let res = p.db().batch(batch).await?;
            Ok(res[0].changes == 1)
        }
        CancelOutcome::OperatorTask => Ok(false),
    }
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OperatorOutcome {
    /// `cancelled` (stopped where it was placed) or `rejected` (too late).
    #[schemars(extend("enum" = ["cancelled", "rejected"]))]
    pub outcome: String,
    #[serde(default)]
    #[schemars(length(max = 300))]
    pub reason: Option<String>,
}

/// `POST /admin/api/v1/fulfillment-orders/{id}/cancellation`: an operator settles the
/// cancellation of an order run by hand (manual, warehouse, Gelato in its portal), which no
/// provider answers for. Cancelled refunds its lines, as a provider's yes does.
///
/// # Errors
/// 404 not this store's; 409 when it is not awaiting an operator's answer; 422 bad outcome.
pub async fn settle_by_operator<P: Platform>(
    p: &P,
    store_id: &str,
    fo_id: &str,
    input: OperatorOutcome,
) -> Result<super::admin::FulfillmentOrderView, AppError> {
    let reason = crate::input::optional_line("reason", input.reason.as_deref(), 300)?;
    let outcome = match input.outcome.as_str() {
        "cancelled" => CancelOutcome::Cancelled,
        "rejected" => CancelOutcome::Refused(
            reason.unwrap_or_else(|| "the operator could not stop it in time".into()),
        ),
        _ => {
            return Err(AppError::validation(
                "outcome",
                "must be cancelled or rejected",
            ));
        }
    };
    let fo: FulfillmentOrderRow = super::fo_of_store(p, store_id, fo_id).await?;
    if fo.status != crate::domain::FulfillmentStatus::CancelRequested {
        return Err(AppError::conflict(
            "not_awaiting_cancellation",
            format!(
                "The fulfillment order is {}, not cancel_requested.",
                fo.status.as_str()
            ),
        ));
    }
    if fo.external_id.is_some() {
        return Err(AppError::conflict(
            "provider_decides",
            format!("{} answers this cancellation itself.", fo.provider.as_str()),
        ));
    }
    let order = orders::order_by_id(p.db(), &fo.order_id)
        .await?
        .ok_or(AppError::NotFound("order"))?;
    settle_outcome(p, &fo, &order, outcome, "cancelled_by_operator").await?;
    super::admin::get(p, store_id, fo_id).await
}
