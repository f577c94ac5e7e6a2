//! Stripe events, however they arrive (webhook or the reconciliation cron), go through
//! [`ingest`]: recorded once per event id (`UNIQUE(provider, event_id)`, with a hash of the
//! payload so the same id with other content is refused), then applied as one D1 batch of
//! guarded statements: a repeated or concurrent application changes nothing.

use crate::AppError;
use crate::auth::sha256_hex;
use crate::db::{Batch, Db as _, Stmt};
use crate::domain::{OrderStatus, ProviderCode};
use crate::fulfillment::{self, routing::RoutableItem};
use crate::inbound::{self, Seen};
use crate::notifications;
use crate::orders::checkout::stripe_config;
use crate::payments::stripe_client;
use crate::ports::{Platform, PlatformExt as _};
use crate::sql::orders::{self, OrderRow, domain_event};
use crate::stmt;
use serde::Serialize;
use serde_json::{Value, json};

pub const PROVIDER: &str = "stripe";

/// What happened to one event.
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct Outcome {
    pub event_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Already applied before: nothing was done.
    pub duplicate: bool,
    /// What applying it did, in a few words.
    pub result: String,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Not a Stripe event envelope.
    #[error("{0}")]
    Malformed(String),
    /// The id was seen before with different content: refused and logged.
    #[error("event {0} was already received with a different payload")]
    PayloadMismatch(String),
    /// Storage or Stripe failed; applying it again later can succeed.
    #[error(transparent)]
    Retry(#[from] AppError),
}

/// The part of an event that identifies its content. `pending_webhooks` and `request`
/// change between deliveries of the same event, so they are left out.
fn payload_hash(e: &Value) -> String {
    sha256_hex(
        &json!({ "id": e["id"], "type": e["type"], "created": e["created"], "data": e["data"] })
            .to_string(),
    )
}

/// Records and applies one event.
///
/// # Errors
/// See [`IngestError`].
pub async fn ingest<P: Platform>(p: &P, event: &Value) -> Result<Outcome, IngestError> {
    let (Some(id), Some(kind), Some(_), true) = (
        event["id"]
            .as_str()
            .filter(|s| !s.is_empty() && s.len() <= 255),
        event["type"]
            .as_str()
            .filter(|s| !s.is_empty() && s.len() <= 100),
        event["created"].as_i64(),
        event["data"]["object"].is_object(),
    ) else {
        return Err(IngestError::Malformed(
            "not a Stripe event: id, type, created and data.object are required".into(),
        ));
    };
    let hash = payload_hash(event);
    let outcome = |duplicate, result: String| Outcome {
        event_id: id.to_owned(),
        kind: kind.to_owned(),
        duplicate,
        result,
    };
    let object = &event["data"]["object"];
    // What applying it reads goes in the round trip that records it: a paying event costs
    // two round trips (this one and the batch that applies it).
    let reads = Found::reads(kind, object);
    let (seen, read) =
        inbound::record_and_read(p, PROVIDER, id, kind, &event.to_string(), &hash, reads)
            .await
            .map_err(AppError::from)?;
    match seen {
        Seen::Mismatch => return Err(IngestError::PayloadMismatch(id.to_owned())),
        Seen::Processed => return Ok(outcome(true, "already applied".into())),
        Seen::Unprocessed => {}
    }
    // Not yet processed: first sight, a concurrent delivery, or an earlier failure. Every
    // statement below is guarded, so applying it more than once is harmless.
    let applied = match Found::decode(read) {
        Ok(found) => apply(p, kind, object, found).await,
        Err(e) => Err(e.into()),
    };
    match applied {
        Ok(effect) => {
            let (mut batch, decision) = effect.statements.into_parts();
            batch.push(inbound::mark_processed(PROVIDER, id, p.now_ms()));
            // The outbox rows this batch writes are claimed in it too: only the batch that
            // wrote them finds them unclaimed, and sending them costs one more round trip.
            let (mut outbox, mut others) = (Vec::new(), Vec::new());
            for follow_up in effect.follow_ups {
                match follow_up {
                    FollowUp::Dispatch(ids) => outbox.extend(ids),
                    other => others.push(other),
                }
            }
            let claims_from = batch.len();
            if !outbox.is_empty() {
                batch.extend(fulfillment::dispatch::claim(&outbox, p.now_ms()));
            }
            let res = p.db().batch(batch).await.map_err(AppError::from)?;
            // A concurrent copy may have made the change first: say what this one did, and
            // leave the follow-up work to the copy that made it.
            let made_it = decision.made_change(&res);
            let result = match effect.otherwise {
                Some(otherwise) if !made_it => otherwise,
                _ => effect.result,
            };
            if !outbox.is_empty() {
                // A failure leaves the rows to the scheduler's sweep.
                let _ = fulfillment::dispatch::send_claimed(p, &outbox, &res[claims_from..]).await;
            }
            if made_it {
                for follow_up in others {
                    follow_up.run(p).await;
                }
            }
            Ok(outcome(false, result))
        }
        Err(e) => {
            inbound::record_failure(p, PROVIDER, id, &e.to_string()).await;
            Err(IngestError::Retry(e))
        }
    }
}

/// The writes an event causes, and Stripe calls to make once they are committed.
struct Effect {
    /// `result` describes the change of its deciding statement, if it has one.
    statements: Batch,
    result: String,
    /// What to say when the deciding statement changed nothing.
    otherwise: Option<String>,
    follow_ups: Vec<FollowUp>,
}

impl Effect {
    fn none(result: impl Into<String>) -> Self {
        Effect::writes(vec![], result)
    }
    fn writes(statements: impl Into<Batch>, result: impl Into<String>) -> Self {
        Effect {
            statements: statements.into(),
            result: result.into(),
            otherwise: None,
            follow_ups: vec![],
        }
    }
}

/// Work after the batch commits: stop a payment that can no longer become an order (best
/// effort: if Stripe is down, a late success is caught by review instead), or send the
/// outbox messages the batch wrote (the scheduler's sweep sends them if this fails).
enum FollowUp {
    ExpireSession(String),
    CancelIntent(String),
    Dispatch(Vec<String>),
}

impl FollowUp {
    async fn run<P: Platform>(self, p: &P) {
        if let FollowUp::Dispatch(ids) = &self {
            let _ = fulfillment::dispatch::dispatch(p, ids).await;
            return;
        }
        let Ok(cfg) = stripe_config(p) else { return };
        let (path, key) = match &self {
            FollowUp::ExpireSession(id) => (
                format!("/v1/checkout/sessions/{id}/expire"),
                format!("expire:{id}"),
            ),
            FollowUp::CancelIntent(id) => (
                format!("/v1/payment_intents/{id}/cancel"),
                format!("cancel:{id}"),
            ),
            FollowUp::Dispatch(_) => return,
        };
        let _ = stripe_client::post(p, cfg, &path, &json!({}), &key).await;
    }
}

/// What an event's handler reads before deciding: the order its object belongs to and, for
/// an event that may pay it, what routing needs.
#[derive(Default)]
struct Found {
    order: Option<OrderRow>,
    routing: Option<RoutingInputs>,
}

type RoutingInputs = (Vec<RoutableItem>, Option<crate::sql::stores::StoreRow>);

impl Found {
    /// The reads for an event of this kind about this object: the order it belongs to (by
    /// the metadata we set, else by the Stripe ids we stored; objects of other systems
    /// sharing the Stripe account have neither), then routing's inputs when it may pay one.
    fn reads(kind: &str, obj: &Value) -> Vec<Stmt> {
        if !ACTED_ON.contains(&kind) {
            return Vec::new();
        }
        let object = obj["object"].as_str();
        let own_id = obj["id"].as_str();
        let intent = match object {
            Some("checkout.session") => None,
            Some("payment_intent") => own_id,
            _ => str_of(&obj["payment_intent"]),
        };
        let found = orders::found_order(
            obj["metadata"]["order_id"].as_str(),
            obj["metadata"]["store_id"].as_str(),
            own_id.filter(|_| object == Some("checkout.session")),
            intent,
        );
        let mut reads = vec![orders::select_found(&found)];
        if PAYING.contains(&kind) {
            reads.extend(fulfillment::routing_reads(&found));
        }
        reads
    }

    fn decode(results: Vec<crate::db::StmtResult>) -> Result<Found, crate::db::DbError> {
        let mut results = results.into_iter();
        let Some(order) = results.next() else {
            return Ok(Found::default());
        };
        let order = order
            .rows
            .into_iter()
            .next()
            .map(crate::db::decode::<OrderRow>)
            .transpose()?;
        let rest: Vec<_> = results.collect();
        let routing = if rest.is_empty() {
            None
        } else {
            Some(fulfillment::routing_inputs_of(rest)?)
        };
        Ok(Found { order, routing })
    }

    /// Routing's inputs, when the order may still be paid (it is pending).
    fn routing_if_pending(
        &mut self,
        order: &OrderRow,
    ) -> Option<(Vec<RoutableItem>, Option<ProviderCode>)> {
        if order.status != OrderStatus::Pending {
            return None;
        }
        self.routing
            .take()
            .map(|(items, store)| (items, store.and_then(|s| s.settings.default_provider)))
    }
}

/// The event types that may pay an order.
const PAYING: [&str; 3] = [
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "payment_intent.succeeded",
];

/// Every event type Lading acts on.
const ACTED_ON: [&str; 11] = [
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "payment_intent.succeeded",
    "checkout.session.expired",
    "checkout.session.async_payment_failed",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "charge.refunded",
    "refund.created",
    "refund.updated",
    "refund.failed",
];

async fn apply<P: Platform>(
    p: &P,
    kind: &str,
    obj: &Value,
    found: Found,
) -> Result<Effect, AppError> {
    if !ACTED_ON.contains(&kind) {
        return Ok(Effect::none("recorded; Lading does not act on this type"));
    }
    // An invoice's pay link (its session and intent carry the invoice, not an order).
    if let (Some(invoice_id), Some(store_id)) = (
        obj["metadata"]["invoice_id"].as_str(),
        obj["metadata"]["store_id"].as_str(),
    ) {
        return Ok(invoice_event(p, kind, obj, store_id, invoice_id));
    }
    if kind == "charge.refunded" {
        // What the refund takes back from invoices the payment paid (reopening them).
        let reopened = crate::billing::refunds::charge_refunded(p, obj).await?;
        if let Some(order) = &found.order {
            let mut effect = charge_refunded(p, obj, order);
            for s in reopened {
                effect.statements.push(s);
            }
            return Ok(effect);
        }
        if !reopened.is_empty() {
            return Ok(Effect::writes(
                reopened,
                "refunded: the invoices it paid owe it again",
            ));
        }
    }
    let Some(order) = found.order.clone() else {
        return Ok(Effect::none("ignored: not a Lading order"));
    };
    match kind {
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" => {
            session_paid(p, obj, order, found)
        }
        "checkout.session.expired" => Ok(ended(p, obj, &order, "checkout_expired", None)),
        "checkout.session.async_payment_failed" => {
            Ok(ended(p, obj, &order, "async_payment_failed", None))
        }
        "payment_intent.succeeded" => intent_succeeded(p, obj, order, found),
        "payment_intent.payment_failed" => {
            let why = obj["last_payment_error"]["code"]
                .as_str()
                .unwrap_or("payment_failed");
            Ok(ended(
                p,
                obj,
                &order,
                &format!("payment_failed: {why}"),
                Some(obj),
            ))
        }
        "payment_intent.canceled" => Ok(ended(p, obj, &order, "payment_canceled", None)),
        "charge.refunded" => Ok(charge_refunded(p, obj, &order)),
        _ => Ok(refund_changed(p, obj, &order)),
    }
}

/// An event about an invoice's Checkout Session: paid, it records the payment for the
/// invoice; expired, the invoice forgets it. Its intent's events change nothing (the
/// session's carry what is needed).
fn invoice_event<P: Platform>(
    p: &P,
    kind: &str,
    obj: &Value,
    store_id: &str,
    invoice_id: &str,
) -> Effect {
    let now = p.now_ms();
    match kind {
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" => {
            match crate::billing::pay::session_paid(
                store_id,
                invoice_id,
                obj,
                &p.new_id("alloc"),
                now,
            ) {
                Some(batch) => Effect {
                    otherwise: Some("invoice payment already recorded".into()),
                    ..Effect::writes(batch, "invoice payment recorded")
                },
                None => Effect::none("awaiting payment of the invoice's session"),
            }
        }
        "checkout.session.expired" | "checkout.session.async_payment_failed" => Effect::writes(
            vec![crate::billing::pay::closed_session(
                invoice_id,
                obj["id"].as_str().unwrap_or_default(),
                now,
            )],
            "the invoice's session closed",
        ),
        _ => Effect::none("recorded; the invoice's Checkout Session events record its payment"),
    }
}

fn str_of<'a>(v: &'a Value) -> Option<&'a str> {
    // Stripe sends a related object as its id, or the object when expanded.
    v.as_str().or_else(|| v["id"].as_str())
}

/// What Stripe says was paid.
struct Paid {
    payment_intent: String,
    currency: String,
    subtotal: i64,
    discount: i64,
    shipping: i64,
    tax: i64,
    total: i64,
    email: Option<String>,
    shipping_address: Option<String>,
    promo_code: Option<String>,
    stripe_customer: Option<String>,
    session_id: Option<String>,
}

impl Paid {
    /// Why these amounts cannot pay this order, if they cannot.
    fn mismatch(&self, o: &OrderRow) -> Option<String> {
        if !self.currency.eq_ignore_ascii_case(&o.currency) {
            return Some(format!(
                "currency {} differs from the order's {}",
                self.currency, o.currency
            ));
        }
        if self.subtotal != o.subtotal_amount {
            return Some(format!(
                "subtotal {} differs from the order's {}",
                self.subtotal, o.subtotal_amount
            ));
        }
        if self.shipping != o.shipping_amount {
            return Some(format!(
                "shipping {} differs from the order's {}",
                self.shipping, o.shipping_amount
            ));
        }
        if self.discount < 0
            || self.tax < 0
            || self.discount > self.subtotal
            || self.total != self.subtotal - self.discount + self.shipping + self.tax
        {
            return Some(format!(
                "total {} is not subtotal {} - discount {} + shipping {} + tax {}",
                self.total, self.subtotal, self.discount, self.shipping, self.tax
            ));
        }
        None
    }
}

fn address_of(details: &Value) -> Option<String> {
    let a = &details["address"];
    a.is_object().then(|| {
        json!({
            "name": details["name"], "line1": a["line1"], "line2": a["line2"], "city": a["city"],
            "state": a["state"], "postal_code": a["postal_code"], "country": a["country"],
        })
        .to_string()
    })
}

fn session_paid<P: Platform>(
    p: &P,
    s: &Value,
    order: OrderRow,
    mut found: Found,
) -> Result<Effect, AppError> {
    if s["payment_status"].as_str() != Some("paid") {
        return Ok(Effect::none(
            "awaiting payment (checkout.session.async_payment_succeeded)",
        ));
    }
    let Some(pi) = str_of(&s["payment_intent"]) else {
        return Ok(Effect::none(
            "ignored: paid session without a payment intent",
        ));
    };
    let paid = paid_from_session(s, pi);
    let routing = found.routing_if_pending(&order);
    Ok(settle(p, &order, &paid, routing, false))
}

/// What a paid Checkout Session says was paid.
fn paid_from_session(s: &Value, pi: &str) -> Paid {
    let int = |v: &Value| v.as_i64().unwrap_or(0);
    let t = &s["total_details"];
    let shipping_details = if s["collected_information"]["shipping_details"].is_object() {
        &s["collected_information"]["shipping_details"]
    } else {
        &s["shipping_details"]
    };
    Paid {
        payment_intent: pi.to_owned(),
        currency: s["currency"].as_str().unwrap_or_default().to_uppercase(),
        subtotal: int(&s["amount_subtotal"]),
        discount: int(&t["amount_discount"]),
        shipping: int(&t["amount_shipping"]),
        tax: int(&t["amount_tax"]),
        total: int(&s["amount_total"]),
        email: s["customer_details"]["email"]
            .as_str()
            .map(str::to_lowercase),
        shipping_address: address_of(shipping_details),
        promo_code: s["discounts"][0]["promotion_code"]
            .as_str()
            .map(str::to_owned),
        stripe_customer: str_of(&s["customer"]).map(str::to_owned),
        session_id: s["id"].as_str().map(str::to_owned),
    }
}

/// What routing needs, read only when the order may be paid by this event.
async fn routing_inputs<P: Platform>(
    p: &P,
    order: &OrderRow,
) -> Result<Option<(Vec<RoutableItem>, Option<ProviderCode>)>, AppError> {
    if order.status != OrderStatus::Pending {
        return Ok(None);
    }
    let (items, store) = fulfillment::routing_inputs(p, &order.id, &order.store_id).await?;
    Ok(Some((
        items,
        store.and_then(|s| s.settings.default_provider),
    )))
}

fn intent_succeeded<P: Platform>(
    p: &P,
    pi: &Value,
    order: OrderRow,
    mut found: Found,
) -> Result<Effect, AppError> {
    let Some(id) = pi["id"].as_str() else {
        return Ok(Effect::none("ignored: payment intent without an id"));
    };
    let received = pi["amount_received"].as_i64().unwrap_or(0);
    // No money moved (a malformed or test event): nothing to record, and nothing to retry.
    if received <= 0 {
        return Ok(Effect::none(
            "ignored: payment intent without amount_received",
        ));
    }
    let from_checkout = order.payment_flow == "checkout_session";
    // A Checkout order's discount, tax and address come with its session event; its intent
    // can pay it alone only when the amount leaves nothing to explain.
    if from_checkout && order.status == OrderStatus::Pending && received != order.total_amount {
        return Ok(Effect::none(
            "awaiting checkout.session.completed for discount and tax",
        ));
    }
    let paid = paid_from_intent(&order, id, received, pi);
    let routing = found.routing_if_pending(&order);
    Ok(settle(p, &order, &paid, routing, false))
}

/// What a succeeded PaymentIntent says was paid (the rest of the order is ours).
fn paid_from_intent(order: &OrderRow, id: &str, received: i64, pi: &Value) -> Paid {
    Paid {
        payment_intent: id.to_owned(),
        currency: pi["currency"].as_str().unwrap_or_default().to_uppercase(),
        subtotal: order.subtotal_amount,
        discount: 0,
        shipping: order.shipping_amount,
        tax: received - order.subtotal_amount - order.shipping_amount,
        total: received,
        email: pi["receipt_email"].as_str().map(str::to_lowercase),
        shipping_address: None,
        promo_code: None,
        stripe_customer: str_of(&pi["customer"]).map(str::to_owned),
        session_id: None,
    }
}

/// `POST /admin/api/v1/orders/{order_id}/accept-payment`: an operator accepts what Stripe
/// says was paid for an order under review (its amounts disagreed with ours) and the order
/// is paid and fulfilled as if the webhook had matched. Stripe's record is read again — not
/// the event that was doubted — and goes through the same paying batch.
///
/// # Errors
/// 404 not this store's; 409 when it is not under review, was cancelled (refund it
/// What accepting a payment held for review answers: whether this call accepted it, and
/// the order now.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AcceptedPayment {
    pub accepted: bool,
    pub order: crate::orders::OrderView,
}

/// instead), is not paid at Stripe, or was paid in another currency; 502/503 Stripe.
pub async fn accept_review<P: Platform>(
    p: &P,
    store_id: &str,
    order_id: &str,
) -> Result<AcceptedPayment, AppError> {
    let cfg = stripe_config(p)?.clone();
    let order = crate::orders::order_of_store(p, store_id, order_id).await?;
    if order.status != OrderStatus::Pending || order.review_reason.is_none() {
        return Err(AppError::conflict(
            "not_under_review",
            format!(
                "Only a pending order under review can be accepted; this one is {}{}.",
                order.status.as_str(),
                if order.review_reason.is_some() {
                    " (refund it instead)"
                } else {
                    ""
                }
            ),
        ));
    }
    let not_paid = || {
        AppError::conflict(
            "not_paid_at_stripe",
            "Stripe does not show this order as paid.",
        )
    };
    let mut paid = match (
        order.payment_flow.as_str(),
        &order.stripe_checkout_session_id,
        &order.stripe_payment_intent_id,
    ) {
        ("checkout_session", Some(cs), _) => {
            let s = stripe_client::get(p, &cfg, &format!("/v1/checkout/sessions/{cs}"))
                .await
                .map_err(crate::orders::checkout::stripe_failure)?;
            match (s["payment_status"].as_str(), str_of(&s["payment_intent"])) {
                (Some("paid"), Some(pi)) => paid_from_session(&s, pi),
                _ => return Err(not_paid()),
            }
        }
        (_, _, Some(pi_id)) => {
            let pi = stripe_client::get(p, &cfg, &format!("/v1/payment_intents/{pi_id}"))
                .await
                .map_err(crate::orders::checkout::stripe_failure)?;
            let received = pi["amount_received"].as_i64().unwrap_or(0);
            if pi["status"].as_str() != Some("succeeded") || received <= 0 {
                return Err(not_paid());
            }
            paid_from_intent(&order, pi_id, received, &pi)
        }
        _ => return Err(not_paid()),
    };
    if !paid.currency.eq_ignore_ascii_case(&order.currency) {
        return Err(AppError::conflict(
            "currency_differs",
            format!(
                "Stripe was paid in {}, the order is in {}: refund it instead.",
                paid.currency, order.currency
            ),
        ));
    }
    // Stripe's total over our subtotal and shipping (which the order keeps), kept
    // consistent: a shortfall becomes discount, a surplus tax.
    paid.subtotal = order.subtotal_amount;
    paid.shipping = order.shipping_amount;
    let gap = paid.total - (paid.subtotal - paid.discount + paid.shipping + paid.tax);
    if gap < 0 {
        paid.discount = (paid.discount - gap).min(paid.subtotal);
    } else {
        paid.tax += gap;
    }
    if paid.tax < 0 {
        paid.discount = (paid.discount - paid.tax).min(paid.subtotal);
        paid.tax = 0;
    }
    let routing = routing_inputs(p, &order).await?;
    let effect = settle(p, &order, &paid, routing, true);
    let (mut batch, decision) = effect.statements.into_parts();
    let now = p.now_ms();
    batch.push(domain_event(
        &format!("order.review_accepted:{}", order.id),
        &order.store_id,
        &order.id,
        "order.review_accepted",
        &json!({ "previous_reason": order.review_reason, "amount": paid.total, "payment_intent": paid.payment_intent }),
        now,
        stmt!("EXISTS (SELECT 1 FROM orders WHERE id = ? AND status = 'paid')", &order.id),
    ));
    let res = p.db().batch(batch).await?;
    let accepted = decision.made_change(&res);
    if accepted {
        for follow_up in effect.follow_ups {
            follow_up.run(p).await;
        }
    }
    let order = crate::sql::orders::order_by_id(p.db(), &order.id)
        .await?
        .ok_or(AppError::NotFound("order"))?;
    Ok(AcceptedPayment {
        accepted,
        order: crate::orders::view(p, &order).await?,
    })
}

/// Pays the order, or flags it for review when Stripe's amounts do not add up to it, or it
/// was cancelled before the money arrived. Money Stripe captured always enters the ledger.
fn settle<P: Platform>(
    p: &P,
    order: &OrderRow,
    paid: &Paid,
    routing: Option<(Vec<RoutableItem>, Option<ProviderCode>)>,
    // An operator accepted Stripe's amounts for an order under review.
    accepting: bool,
) -> Effect {
    let now = p.now_ms();
    let capture = stmt!(
        "INSERT INTO payments (id, store_id, order_id, kind, amount, currency, status, stripe_id, created_at, updated_at) \
         VALUES (?, ?, ?, 'capture', ?, ?, 'succeeded', ?, ?, ?) ON CONFLICT DO NOTHING",
        format!("pay_{}", paid.payment_intent),
        &order.store_id,
        &order.id,
        paid.total,
        &order.currency,
        &paid.payment_intent,
        now,
        now
    );
    let review = match order.status {
        OrderStatus::Cancelled => {
            Some("paid after the order was cancelled; refund or reinstate".to_owned())
        }
        OrderStatus::Pending if accepting => None,
        OrderStatus::Pending => paid.mismatch(order),
        _ => None,
    };
    if let Some(reason) = review {
        return hold_for_review(order, paid, &reason, capture, now);
    }
    let mut statements = payment_statements(order, paid, capture, now);
    let mut follow_ups = Vec::new();
    // Subscribers hear `order.paid` at once (when some endpoint wants it).
    let webhook = crate::outbound::deliveries::outbox_id(&format!("order.paid:{}", order.id));
    if let Some((items, store_default)) = routing {
        let (after, mut outbox) = after_payment(p, order, paid, &items, store_default);
        statements.extend(after);
        outbox.push(webhook);
        follow_ups.push(FollowUp::Dispatch(outbox));
    }
    Effect {
        otherwise: Some("order already paid".into()),
        follow_ups,
        ..Effect::writes(statements, "order paid")
    }
}

/// The money enters the ledger but the order stays where it is, flagged for an operator.
fn hold_for_review(order: &OrderRow, paid: &Paid, reason: &str, capture: Stmt, now: i64) -> Effect {
    Effect::writes(
        vec![
            stmt!(
                "UPDATE orders SET review_reason = ?, updated_at = ? WHERE id = ? AND review_reason IS NULL AND status IN ('pending', 'cancelled')",
                reason,
                now,
                &order.id
            ),
            capture,
            domain_event(
                &format!("order.payment_review:{}:{}", order.id, paid.payment_intent),
                &order.store_id,
                &order.id,
                "order.payment_review",
                &json!({ "reason": reason, "payment_intent": paid.payment_intent, "amount": paid.total }),
                now,
                stmt!("1 = 1"),
            ),
        ],
        format!("flagged for review: {reason}"),
    )
}

/// The order moves from pending to paid (the deciding statement: this batch did the work,
/// or a copy did), with the customer's totals, the session's details, the capture and the
/// `order.paid` event.
fn payment_statements(order: &OrderRow, paid: &Paid, capture: Stmt, now: i64) -> Batch {
    let mut statements = Batch::default();
    // Counted only by the batch that moves the order out of pending (the next statement).
    statements.push(stmt!(
        "UPDATE customers SET lifetime_value = lifetime_value + ?, order_count = order_count + 1, last_order_at = ?, updated_at = ? \
         WHERE id = (SELECT customer_id FROM orders WHERE id = ? AND status = 'pending')",
        paid.total,
        now,
        now,
        &order.id
    ));
    statements.push_deciding(stmt!(
            "UPDATE orders SET status = 'paid', financial_status = 'paid', stripe_payment_intent_id = ?, \
                discount_amount = ?, tax_amount = ?, total_amount = ?, tax_collected = ?, promo_code = COALESCE(?, promo_code), \
                email = COALESCE(email, ?), shipping_address = COALESCE(?, shipping_address), stripe_customer_id = COALESCE(?, stripe_customer_id), \
                review_reason = NULL, paid_at = ?, updated_at = ? \
             WHERE id = ? AND status = 'pending' AND (stripe_payment_intent_id IS NULL OR stripe_payment_intent_id = ?)",
            &paid.payment_intent,
            paid.discount,
            paid.tax,
            paid.total,
            i64::from(paid.tax > 0),
            &paid.promo_code,
            &paid.email,
            &paid.shipping_address,
            &paid.stripe_customer,
            now,
            now,
            &order.id,
            &paid.payment_intent
    ));
    statements.extend([
        // Details only the session carries, for an order its intent already paid.
        stmt!(
            "UPDATE orders SET email = COALESCE(email, ?), shipping_address = COALESCE(shipping_address, ?), \
                stripe_customer_id = COALESCE(stripe_customer_id, ?), promo_code = COALESCE(promo_code, ?), \
                stripe_checkout_session_id = COALESCE(stripe_checkout_session_id, ?) \
             WHERE id = ? AND status <> 'pending' AND stripe_payment_intent_id = ?",
            &paid.email,
            &paid.shipping_address,
            &paid.stripe_customer,
            &paid.promo_code,
            &paid.session_id,
            &order.id,
            &paid.payment_intent
        ),
        capture,
        domain_event(
            &format!("order.paid:{}", order.id),
            &order.store_id,
            &order.id,
            "order.paid",
            &json!({ "payment_intent": paid.payment_intent, "amount": paid.total, "currency": order.currency }),
            now,
            stmt!(
                "EXISTS (SELECT 1 FROM orders WHERE id = ? AND status = 'paid' AND stripe_payment_intent_id = ?)",
                &order.id,
                &paid.payment_intent
            ),
        ),
    ]);
    statements
}

/// What a paid order sets going, written only by the batch in which this payment pays it:
/// one fulfillment order per provider, its downloads, the confirmation and files-ready
/// emails. Returns the statements and the outbox rows to send.
fn after_payment<P: Platform>(
    p: &P,
    order: &OrderRow,
    paid: &Paid,
    items: &[RoutableItem],
    store_default: Option<ProviderCode>,
) -> (Vec<Stmt>, Vec<String>) {
    let now = p.now_ms();
    let paid_by_this = stmt!(
        "EXISTS (SELECT 1 FROM orders WHERE id = ? AND status = 'paid' AND stripe_payment_intent_id = ?)",
        &order.id,
        &paid.payment_intent
    );
    let (mut statements, mut outbox) =
        fulfillment::routing_statements(p, order, items, store_default, &paid_by_this);
    statements.push(crate::downloads::create_statements(
        order,
        &paid_by_this,
        now,
    ));
    // Its invoice, issued and paid by this payment (the same batch: never one without
    // the other).
    statements.extend(crate::billing::order_invoices::prepaid_statements(
        &order.store_id,
        &order.id,
        &p.new_id("inv"),
        &format!("pay_{}", paid.payment_intent),
        &p.new_id("alloc"),
        &paid_by_this,
        now,
    ));
    statements.extend(notifications::queue_statements(
        &order.store_id,
        &order.id,
        notifications::Kind::OrderConfirmation,
        &paid_by_this,
        now,
    ));
    let files_ready = stmt!(
        "EXISTS (SELECT 1 FROM downloads WHERE order_id = ? AND status = 'ready')",
        &order.id
    )
    .and_when(&paid_by_this);
    statements.extend(notifications::queue_statements(
        &order.store_id,
        &order.id,
        notifications::Kind::FilesReady,
        &files_ready,
        now,
    ));
    outbox.extend([
        notifications::outbox_id(&order.id, notifications::Kind::OrderConfirmation),
        notifications::outbox_id(&order.id, notifications::Kind::FilesReady),
    ]);
    (statements, outbox)
}

/// A payment that ended without money: the order is cancelled and its cart given back;
/// a Checkout Session still open is expired and a declined intent cancelled, so the
/// shopper pays through a new checkout.
fn ended<P: Platform>(
    p: &P,
    obj: &Value,
    order: &OrderRow,
    reason: &str,
    failed_intent: Option<&Value>,
) -> Effect {
    if order.status != OrderStatus::Pending {
        return Effect::none(format!("no change: the order is {}", order.status.as_str()));
    }
    let mut effect = Effect {
        otherwise: Some("no change: the order already left pending".into()),
        ..Effect::writes(
            orders::cancel_pending_batch(&order.store_id, &order.id, reason, p.now_ms()),
            format!("order cancelled: {reason}"),
        )
    };
    if failed_intent.is_some() {
        match (&order.stripe_checkout_session_id, obj["id"].as_str()) {
            (Some(session), _) => effect
                .follow_ups
                .push(FollowUp::ExpireSession(session.clone())),
            (None, Some(pi)) => effect
                .follow_ups
                .push(FollowUp::CancelIntent(pi.to_owned())),
            _ => {}
        }
    }
    effect
}

/// Sets the financial status from what was refunded against what was captured; it only
/// moves forward (paid → partially refunded → refunded).
fn financial_status(order_id: &str, refunded: Stmt, captured: Stmt, now: i64) -> Stmt {
    let mut s = Stmt::new(format!(
        "UPDATE orders SET financial_status = CASE WHEN ({r}) >= ({c}) THEN 'refunded' ELSE 'partially_refunded' END, updated_at = ? \
         WHERE id = ? AND financial_status IN ('paid', 'partially_refunded') AND ({r}) > 0",
        r = refunded.sql,
        c = captured.sql
    ));
    // Placeholders in order of appearance: r, c, now, id, r.
    s.params.extend(refunded.params.iter().cloned());
    s.params.extend(captured.params.iter().cloned());
    s.params.push(now.into());
    s.params.push(order_id.into());
    s.params.extend(refunded.params);
    s
}

fn charge_refunded<P: Platform>(p: &P, ch: &Value, order: &OrderRow) -> Effect {
    let now = p.now_ms();
    let refunded = ch["amount_refunded"].as_i64().unwrap_or(0);
    let captured = ch["amount"].as_i64().unwrap_or(0).max(1);
    let mut statements: Vec<Stmt> = ch["refunds"]["data"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| refund_row(order, r, now))
        .collect();
    statements.push(financial_status(
        &order.id,
        stmt!("?", refunded),
        stmt!("?", captured),
        now,
    ));
    statements.extend(notifications::refund_issued(order, now));
    statements.push(domain_event(
        &format!("order.refunded:{}:{}", order.id, refunded),
        &order.store_id,
        &order.id,
        "order.refunded",
        &json!({ "amount_refunded": refunded, "charge": ch["id"] }),
        now,
        stmt!("1 = 1"),
    ));
    Effect {
        follow_ups: vec![FollowUp::Dispatch(vec![notifications::outbox_id(
            &order.id,
            notifications::Kind::RefundIssued,
        )])],
        ..Effect::writes(statements, format!("refunded {refunded} of {captured}"))
    }
}

/// The ledger row of a Stripe refund, inserted or moved to its latest status.
/// The ledger rows of a Stripe refund: the row we reserved when we made it (named by
/// `metadata[refund_id]`) takes Stripe's id and status; a refund made elsewhere (the
/// dashboard) gets its own row. Either way one row per Stripe refund.
fn refund_row(order: &OrderRow, r: &Value, now: i64) -> Vec<Stmt> {
    let (Some(id), Some(amount)) = (r["id"].as_str(), r["amount"].as_i64().filter(|a| *a > 0))
    else {
        return vec![];
    };
    let status = super::refunds::stripe_status(r["status"].as_str());
    let mut out = Vec::new();
    if let Some(ours) = r["metadata"]["refund_id"].as_str() {
        out.push(stmt!(
            "UPDATE payments SET stripe_id = COALESCE(stripe_id, ?), status = CASE WHEN ? = 'pending' THEN status ELSE ? END, updated_at = ? \
             WHERE id = ? AND kind = 'refund' AND order_id = ?",
            id,
            status,
            status,
            now,
            ours,
            &order.id
        ));
    }
    out.push(stmt!(
        "INSERT INTO payments (id, store_id, order_id, kind, amount, currency, status, stripe_id, reason, created_at, updated_at) \
         VALUES (?, ?, ?, 'refund', ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (kind, stripe_id) DO UPDATE SET \
           status = CASE WHEN excluded.status = 'pending' THEN payments.status ELSE excluded.status END, updated_at = excluded.updated_at",
        format!("ref_{id}"),
        &order.store_id,
        &order.id,
        amount,
        &order.currency,
        status,
        id,
        r["reason"].as_str(),
        now,
        now
    ));
    // Once per Stripe refund, when it succeeded (subscribers hear `refund.succeeded`).
    out.push(domain_event(
        &refund_succeeded_event(id),
        &order.store_id,
        &order.id,
        "refund.succeeded",
        &json!({ "stripe_refund_id": id, "amount": amount, "currency": order.currency, "reason": r["reason"] }),
        now,
        stmt!(
            "EXISTS (SELECT 1 FROM payments WHERE kind = 'refund' AND stripe_id = ? AND status = 'succeeded')",
            id
        ),
    ));
    out
}

/// The id of a Stripe refund's `refund.succeeded` event.
fn refund_succeeded_event(stripe_refund_id: &str) -> String {
    format!("refund.succeeded:{stripe_refund_id}")
}

fn refund_changed<P: Platform>(p: &P, r: &Value, order: &OrderRow) -> Effect {
    let now = p.now_ms();
    let mut statements = refund_row(order, r, now);
    if statements.is_empty() {
        return Effect::none("ignored: refund without id or amount");
    }
    statements.push(super::refunds::financial_status(&order.id, now));
    statements.extend(notifications::refund_issued(order, now));
    let webhook = crate::outbound::deliveries::outbox_id(&refund_succeeded_event(
        r["id"].as_str().unwrap_or_default(),
    ));
    Effect {
        follow_ups: vec![FollowUp::Dispatch(vec![
            notifications::outbox_id(&order.id, notifications::Kind::RefundIssued),
            webhook,
        ])],
        ..Effect::writes(
            statements,
            format!(
                "refund {} is {}",
                r["id"].as_str().unwrap_or("?"),
                r["status"].as_str().unwrap_or("?")
            ),
        )
    }
}
