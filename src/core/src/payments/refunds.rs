//! Refunds (SPEC §4 ledger): refundable = captured − refunded, derived from ledger rows. A
//! refund is reserved in the ledger by one guarded insert — concurrent requests can never
//! reserve more than was captured — then sent to Stripe with `Idempotency-Key` = our refund
//! id and `metadata[refund_id]`, so Stripe's `refund.*` webhooks (which may arrive before
//! our call returns) update the same row instead of adding one.

use crate::AppError;
use crate::db::{Db as _, DbExt as _};
use crate::orders::checkout::{stripe_config, stripe_failure};
use crate::payments::stripe_client::{self, StripeError};
use crate::ports::{Platform, PlatformExt};
use crate::sql::orders::{self, domain_event};
use crate::stmt;
use crate::time_fmt::rfc3339;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RefundInput {
    /// Minor units; without it (and without `lines`), everything still refundable.
    pub amount: Option<i64>,
    /// Refund these items (unit price × quantity).
    pub lines: Option<Vec<RefundLine>>,
    /// Stripe's reasons: `duplicate`, `fraudulent`, `requested_by_customer`.
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundLine {
    pub order_item_id: String,
    pub quantity: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct RefundView {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    pub stripe_id: Option<String>,
    pub reason: Option<String>,
    #[serde(skip_deserializing)]
    pub created_at: String,
    #[serde(default, skip_serializing)]
    pub created: i64,
}

/// SQL: what is still refundable on an order (captured − pending/succeeded refunds).
pub const REFUNDABLE_SQL: &str = "(SELECT COALESCE(SUM(CASE WHEN kind = 'capture' AND status = 'succeeded' THEN amount END), 0) \
    - COALESCE(SUM(CASE WHEN kind = 'refund' AND status IN ('pending', 'succeeded') THEN amount END), 0) FROM payments WHERE order_id = ?)";

/// The order's refunds, oldest first.
///
/// # Errors
/// 404 when the order is not this store's.
pub async fn list<P: Platform>(
    p: &P,
    store_id: &str,
    order_id: &str,
) -> Result<Vec<RefundView>, AppError> {
    orders::order_by_id(p.db(), order_id)
        .await?
        .filter(|o| o.store_id == store_id)
        .ok_or(AppError::NotFound("order"))?;
    let rows: Vec<RefundView> = p
        .db()
        .query(stmt!(
            "SELECT id, amount, currency, status, stripe_id, reason, created_at AS created FROM payments WHERE order_id = ? AND kind = 'refund' ORDER BY created_at, id",
            order_id
        ))
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| RefundView {
            created_at: rfc3339(r.created),
            ..r
        })
        .collect())
}

/// Refunds part or all of a paid order.
///
/// # Errors
/// 404 unknown order; 409 when nothing was captured or the amount exceeds what is still
/// refundable; 422 bad input; 502/503 from Stripe (a refusal releases the reservation).
pub async fn create<P: Platform>(
    p: &P,
    store_id: &str,
    order_id: &str,
    input: RefundInput,
) -> Result<RefundView, AppError> {
    let cfg = stripe_config(p)?.clone();
    let order = orders::order_by_id(p.db(), order_id)
        .await?
        .filter(|o| o.store_id == store_id)
        .ok_or(AppError::NotFound("order"))?;
    let Some(pi) = order.stripe_payment_intent_id.clone() else {
        return Err(AppError::conflict(
            "not_paid",
            "This order has no captured payment to refund.",
        ));
    };
    if let Some(r) = &input.reason {
        if !["duplicate", "fraudulent", "requested_by_customer"].contains(&r.as_str()) {
            return Err(AppError::validation(
                "reason",
                "must be duplicate, fraudulent or requested_by_customer",
            ));
        }
    }
    let refundable = p
        .db()
        .scalar_i64(stmt!(format!("SELECT {REFUNDABLE_SQL} AS n"), order_id))
        .await?;
    let amount = match (&input.amount, &input.lines) {
        (Some(_), Some(_)) => {
            return Err(AppError::validation(
                "amount",
                "give amount or lines, not both",
            ));
        }
        (Some(a), None) => *a,
        (None, Some(lines)) => lines_amount(p, order_id, lines).await?,
        (None, None) => refundable,
    };
    if amount <= 0 {
        return Err(AppError::conflict(
            "nothing_to_refund",
            "Nothing is left to refund on this order.",
        ));
    }
    let id = p.new_id("ref");
    let now = p.now_ms();
    // The reservation: one statement, so two concurrent refunds cannot both pass the check.
    let reserved = p
        .db()
        .run(stmt!(
            format!(
                "INSERT INTO payments (id, store_id, order_id, kind, amount, currency, status, reason, idempotency_key, created_at, updated_at) \
                 SELECT ?, ?, ?, 'refund', ?, ?, 'pending', ?, ?, ?, ? WHERE {REFUNDABLE_SQL} >= ?"
            ),
            &id,
            store_id,
            order_id,
            amount,
            &order.currency,
            &input.reason,
            &id,
            now,
            now,
            order_id,
            amount
        ))
        .await?;
    if reserved == 0 {
        return Err(AppError::conflict(
            "refund_exceeds_refundable",
            format!(
                "At most {refundable} ({}) can still be refunded.",
                order.currency
            ),
        ));
    }
    let params = json!({ "payment_intent": pi, "amount": amount, "reason": input.reason,
                         "metadata": { "refund_id": id, "order_id": order_id, "order_number": order.order_number } });
    let status = match stripe_client::post(p, &cfg, "/v1/refunds", &params, &id).await {
        Ok(r) => {
            let status = stripe_status(r["status"].as_str());
            p.db()
                .batch(vec![
                    stmt!(
                        "UPDATE payments SET stripe_id = COALESCE(stripe_id, ?), status = CASE WHEN status = 'pending' THEN ? ELSE status END, updated_at = ? WHERE id = ?",
                        r["id"].as_str(),
                        status,
                        p.now_ms(),
                        &id
                    ),
                    financial_status(order_id, p.now_ms()),
                    domain_event(
                        &format!("order.refund:{id}"),
                        store_id,
                        order_id,
                        "order.refund_created",
                        &json!({ "refund_id": id, "amount": amount, "stripe_id": r["id"] }),
                        now,
                        stmt!("1 = 1"),
                    ),
                ])
                .await?;
            status
        }
        Err(e) => {
            // Refused, or unknown: release the reservation (a refund Stripe did make comes
            // back through `refund.created` with our id and is recorded then).
            p.db()
                .run(stmt!(
                    "UPDATE payments SET status = 'failed', updated_at = ? WHERE id = ? AND status = 'pending' AND stripe_id IS NULL",
                    p.now_ms(),
                    &id
                ))
                .await?;
            return Err(match e {
                StripeError::Rejected { message, .. } => AppError::conflict(
                    "refund_refused",
                    format!("Stripe refused the refund: {message}"),
                ),
                other => stripe_failure(other),
            });
        }
    };
    let _ = status;
    list(p, store_id, order_id)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(AppError::NotFound("refund"))
}

async fn lines_amount<P: Platform>(
    p: &P,
    order_id: &str,
    lines: &[RefundLine],
) -> Result<i64, AppError> {
    let items = orders::items(p.db(), order_id).await?;
    let mut total = 0;
    for l in lines {
        let item = items
            .iter()
            .find(|i| i.id == l.order_item_id)
            .ok_or_else(|| {
                AppError::validation(
                    "lines.order_item_id",
                    format!("{} is not an item of this order", l.order_item_id),
                )
            })?;
        if l.quantity < 1 || l.quantity > item.quantity {
            return Err(AppError::validation(
                "lines.quantity",
                format!("must be 1 to {}", item.quantity),
            ));
        }
        total += item.unit_price * l.quantity;
    }
    Ok(total)
}

/// Stripe refund status → ledger status.
pub fn stripe_status(s: Option<&str>) -> &'static str {
    match s {
        Some("succeeded") => "succeeded",
        Some("failed") => "failed",
        Some("canceled") => "canceled",
        _ => "pending",
    }
}

/// The order's financial status from its ledger: refunded once succeeded refunds cover the
/// capture, partially refunded before; only forward.
pub fn financial_status(order_id: &str, now: i64) -> crate::db::Stmt {
    let sum = |kind: &str| {
        format!(
            "(SELECT COALESCE(SUM(amount), 0) FROM payments WHERE order_id = orders.id AND kind = '{kind}' AND status = 'succeeded')"
        )
    };
    stmt!(
        format!(
            "UPDATE orders SET financial_status = CASE WHEN {r} >= {c} THEN 'refunded' ELSE 'partially_refunded' END, updated_at = ? \
             WHERE id = ? AND financial_status IN ('paid', 'partially_refunded') AND {r} > 0",
            r = sum("refund"),
            c = sum("capture")
        ),
        now,
        order_id
    )
}
