//! Refunds: refundable = captured − refunded, derived from ledger rows. A
//! refund is reserved in the ledger by one guarded insert — concurrent requests can never
//! reserve more than was captured — then sent to Stripe with `Idempotency-Key` = our refund
//! id and `metadata[refund_id]`, so Stripe's `refund.*` webhooks (which may arrive before
//! our call returns) update the same row instead of adding one, and a reservation left
//! unsent (a crash, an outage) is sent again by the 5-minute sweep.

use crate::AppError;
use crate::db::{Db as _, DbExt as _, Stmt};
use crate::orders::checkout::{stripe_config, stripe_failure};
use crate::payments::stripe_client::{self, StripeError};
use crate::ports::{Platform, PlatformExt};
use crate::sql::orders::{self, domain_event};
use crate::stmt;
use crate::time_fmt::rfc3339;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("not" = { "required": ["amount", "lines"] }))]
pub struct RefundInput {
    /// Minor units; without it (and without `lines`), everything still refundable.
    #[schemars(range(min = 1, max = 100_000_000))]
    pub amount: Option<i64>,
    /// Refund these items (unit price × quantity).
    pub lines: Option<Vec<RefundLine>>,
    /// Stripe's reasons: `duplicate`, `fraudulent`, `requested_by_customer`.
    #[schemars(extend("enum" = ["duplicate", "fraudulent", "requested_by_customer", null]))]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundLine {
    pub order_item_id: String,
    #[schemars(range(min = 1, max = 999))]
    pub quantity: i64,
}

#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
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
    crate::orders::order_of_store(p, store_id, order_id).await?;
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

/// One refund, if it exists.
///
/// # Errors
/// Storage failures.
pub async fn view<P: Platform>(p: &P, refund_id: &str) -> Result<Option<RefundView>, AppError> {
    let row: Option<RefundView> = p
        .db()
        .first(stmt!(
            "SELECT id, amount, currency, status, stripe_id, reason, created_at AS created FROM payments WHERE id = ? AND kind = 'refund'",
            refund_id
        ))
        .await?;
    Ok(row.map(|r| RefundView {
        created_at: rfc3339(r.created),
        ..r
    }))
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
    stripe_config(p)?;
    let order = crate::orders::order_of_store(p, store_id, order_id).await?;
    let Some(_) = order.stripe_payment_intent_id else {
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
        // An amount the client chose must be positive whatever is left: 422, not 409.
        (Some(a), None) if *a <= 0 => {
            return Err(AppError::validation(
                "amount",
                "must be a positive number of minor units",
            ));
        }
        (Some(a), None) => {
            if let Ok(c) = crate::domain::Currency::parse(&order.currency) {
                c.check_amount(*a)
                    .map_err(|m| AppError::validation("amount", m))?;
            }
            *a
        }
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
    let reserved = p
        .db()
        .run(
            Reservation {
                id: &id,
                store_id,
                order_id,
                currency: &order.currency,
                reason: input.reason.as_deref(),
                now: p.now_ms(),
            }
            .of(amount)
            .or_nothing(),
        )
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
    send(p, &id).await?;
    list(p, store_id, order_id)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(AppError::NotFound("refund"))
}

/// A refund to reserve in the ledger. Its inserts end at their `WHERE`: the caller may add
/// conditions ([`Stmt::and_when`]) and ends them with [`Stmt::or_nothing`], so a repeated
/// reservation (same id) is a no-op.
pub struct Reservation<'a> {
    pub id: &'a str,
    pub store_id: &'a str,
    pub order_id: &'a str,
    pub currency: &'a str,
    pub reason: Option<&'a str>,
    pub now: i64,
}

impl Reservation<'_> {
    /// `amount`, only if it fits in what is still refundable (one statement, so
    /// concurrent reservations cannot overdraw).
    pub fn of(&self, amount: i64) -> Stmt {
        stmt!(
            format!(
                "INSERT INTO payments (id, store_id, order_id, kind, amount, currency, status, reason, idempotency_key, created_at, updated_at) \
                 SELECT ?, ?, ?, 'refund', ?, ?, 'pending', ?, ?, ?, ? WHERE {REFUNDABLE_SQL} >= ? AND ? > 0"
            ),
            self.id,
            self.store_id,
            self.order_id,
            amount,
            self.currency,
            self.reason,
            self.id,
            self.now,
            self.now,
            self.order_id,
            amount,
            amount
        )
    }

    /// Everything still refundable (an order cancelled in full).
    pub fn rest(&self) -> Stmt {
        stmt!(
            format!(
                "INSERT INTO payments (id, store_id, order_id, kind, amount, currency, status, reason, idempotency_key, created_at, updated_at) \
                 SELECT ?, ?, ?, 'refund', {REFUNDABLE_SQL}, ?, 'pending', ?, ?, ?, ? WHERE {REFUNDABLE_SQL} > 0"
            ),
            self.id,
            self.store_id,
            self.order_id,
            self.order_id,
            self.currency,
            self.reason,
            self.id,
            self.now,
            self.now,
            self.order_id
        )
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
struct Reserved {
    order_id: String,
    store_id: String,
    amount: i64,
    reason: Option<String>,
    stripe_id: Option<String>,
    status: String,
}

/// Sends a reserved refund to Stripe (`Idempotency-Key` = its id, so sending again — after a
/// crash, from the sweep — makes no second refund) and records the answer.
///
/// # Errors
/// 409 when Stripe refuses (the reservation is released), 503 when it cannot be reached
/// (the reservation stays for the sweep).
pub async fn send<P: Platform>(p: &P, id: &str) -> Result<(), AppError> {
    let cfg = stripe_config(p)?.clone();
    let Some(r) = p
        .db()
        .first::<Reserved>(stmt!("SELECT order_id, store_id, amount, reason, stripe_id, status FROM payments WHERE id = ? AND kind = 'refund'", id))
        .await?
    else {
        return Err(AppError::NotFound("refund"));
    };
    if r.stripe_id.is_some() || r.status != "pending" {
        return Ok(());
    }
    let order = orders::order_by_id(p.db(), &r.order_id)
        .await?
        .ok_or(AppError::NotFound("order"))?;
    let stripe_reason = r
        .reason
        .as_deref()
        .filter(|x| ["duplicate", "fraudulent", "requested_by_customer"].contains(x));
    let params = json!({ "payment_intent": order.stripe_payment_intent_id, "amount": r.amount, "reason": stripe_reason,
                         "metadata": { "refund_id": id, "order_id": r.order_id, "order_number": order.order_number } });
    match stripe_client::post(p, &cfg, "/v1/refunds", &params, id).await {
        Ok(answer) => {
            let now = p.now_ms();
            p.db()
                .batch([
                    stmt!(
                        "UPDATE payments SET stripe_id = COALESCE(stripe_id, ?), status = CASE WHEN status = 'pending' THEN ? ELSE status END, updated_at = ? WHERE id = ?",
                        answer["id"].as_str(),
                        stripe_status(answer["status"].as_str()),
                        now,
                        id
                    ),
                    financial_status(&r.order_id, now),
                    domain_event(
                        &format!("order.refund:{id}"),
                        &r.store_id,
                        &r.order_id,
                        "order.refund_created",
                        &json!({ "refund_id": id, "amount": r.amount, "stripe_id": answer["id"], "reason": r.reason }),
                        now,
                        stmt!("1 = 1"),
                    ),
                ]
                .into_iter()
                .chain(crate::notifications::refund_issued(&order, now))
                .collect())
                .await?;
            let _ = crate::fulfillment::dispatch::dispatch(
                p,
                &[crate::notifications::outbox_id(
                    &order.id,
                    crate::notifications::Kind::RefundIssued,
                )],
            )
            .await;
            Ok(())
        }
        Err(StripeError::Rejected { message, .. }) | Err(StripeError::Idempotency(message)) => {
            p.db()
                .run(stmt!(
                    "UPDATE payments SET status = 'failed', updated_at = ? WHERE id = ? AND status = 'pending' AND stripe_id IS NULL",
                    p.now_ms(),
                    id
                ))
                .await?;
            Err(AppError::conflict(
                "refund_refused",
                format!("Stripe refused the refund: {message}"),
            ))
        }
        // Unknown outcome: keep the reservation; the sweep sends it again with the same key.
        Err(e) => Err(stripe_failure(e)),
    }
}

/// Reservations not yet answered by Stripe (a crash, an outage): sent again.
///
/// # Errors
/// Storage failures.
pub async fn sweep<P: Platform>(p: &P) -> Result<u64, AppError> {
    #[derive(Deserialize, schemars::JsonSchema)]
    struct Row {
        id: String,
    }
    if p.settings().stripe.is_none() {
        return Ok(0);
    }
    let rows: Vec<Row> = p
        .db()
        .query(stmt!(
            "SELECT id FROM payments WHERE kind = 'refund' AND status = 'pending' AND stripe_id IS NULL AND created_at < ? LIMIT 50",
            p.now_ms() - 60_000
        ))
        .await?;
    let mut n = 0;
    for r in rows {
        if send(p, &r.id).await.is_ok() {
            n += 1;
        }
    }
    Ok(n)
}

async fn lines_amount<P: Platform>(
    p: &P,
    order_id: &str,
    lines: &[RefundLine],
) -> Result<i64, AppError> {
    if lines.is_empty() {
        return Err(AppError::validation("lines", "must name at least one item"));
    }
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
