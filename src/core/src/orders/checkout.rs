//! `POST /v1/checkout/sessions`: the cart becomes a pending order and a Stripe Checkout
//! Session is created for it. A repeated call for the same cart answers with the same
//! session; a call that failed after the order was written resumes it (the Stripe call
//! carries an Idempotency-Key derived from the order id, so Stripe makes one session).

use super::place::{CheckoutInput, Flow, place_order};
use super::{OrderView, view};
use crate::AppError;
use crate::auth::StorefrontCaller;
use crate::db::Db as _;
use crate::domain::{OrderStatus, VariantKind};
use crate::payments::stripe_client::{self, StripeConfig, StripeError};
use crate::ports::Platform;
use crate::sql::orders::{self, OrderRow};
use crate::sql::stores::{DEFAULT_SHIP_TO, StoreRow};
use crate::time_fmt::{HOUR_MS, rfc3339};
use serde::Serialize;
use serde_json::{Value, json};

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CheckoutSessionView {
    pub checkout_url: String,
    pub session_id: String,
    pub expires_at: String,
    pub order: OrderView,
}

/// Sessions stay open this long after the order was placed (Stripe allows 30 min – 24 h;
/// derived from the order so a resumed call sends the same parameters).
pub const SESSION_TTL_MS: i64 = 23 * HOUR_MS;

/// The configured Stripe account.
///
/// # Errors
/// 503 when `STRIPE_SECRET_KEY` is not set.
pub fn stripe_config<P: Platform>(p: &P) -> Result<&StripeConfig, AppError> {
    p.settings().stripe.as_ref().ok_or_else(|| {
        AppError::unavailable(
            "payments_not_configured",
            "Payments are not configured: set the STRIPE_SECRET_KEY secret.",
        )
    })
}

/// Stripe's answer as our error: its refusals are ours to fix (502), the rest may pass.
pub fn stripe_failure(e: StripeError) -> AppError {
    match e {
        StripeError::RetryLater(m) => AppError::unavailable(
            "payments_unavailable",
            format!("Stripe did not answer ({m}); try again shortly."),
        ),
        other => AppError::Upstream(other.to_string()),
    }
}

/// # Errors
/// See [`place_order`]; 409 when the cart is being paid through a PaymentIntent; 502/503
/// when Stripe refuses or fails.
pub async fn create_checkout_session<P: Platform>(
    p: &P,
    caller: &StorefrontCaller,
    input: CheckoutInput,
) -> Result<(bool, CheckoutSessionView), AppError> {
    let cfg = stripe_config(p)?.clone();
    let store = &caller.store;
    let (success_url, cancel_url) = match (&store.settings.success_url, &store.settings.cancel_url)
    {
        (Some(s), Some(c)) => (s.clone(), c.clone()),
        _ => {
            return Err(AppError::conflict(
                "checkout_not_configured",
                "The store has no success_url and cancel_url settings; an admin must set them.",
            ));
        }
    };
    let (order, created) = place_order(p, caller, &input, Flow::CheckoutSession).await?;
    if order.payment_flow != Flow::CheckoutSession.as_str() {
        return Err(AppError::conflict(
            "payment_in_progress",
            "This cart is being paid with a payment form; finish or abandon that payment first.",
        ));
    }
    let expires_ms = order.created_at + SESSION_TTL_MS;
    if let (Some(id), Some(url)) = (&order.stripe_checkout_session_id, &order.checkout_url) {
        return Ok((
            false,
            CheckoutSessionView {
                checkout_url: url.clone(),
                session_id: id.clone(),
                expires_at: rfc3339(expires_ms),
                order: view(p, &order).await?,
            },
        ));
    }
    let items = orders::items(p.db(), &order.id).await?;
    let params = session_params(store, &order, &items, &success_url, &cancel_url, expires_ms);
    let session = match stripe_client::post(
        p,
        &cfg,
        "/v1/checkout/sessions",
        &params,
        &format!("checkout:{}", order.id),
    )
    .await
    {
        Ok(s) => s,
        Err(e @ StripeError::RetryLater(_)) => return Err(stripe_failure(e)),
        Err(e) => {
            // Stripe will never accept these parameters: give the cart back.
            p.db()
                .batch(orders::cancel_pending(
                    &store.id,
                    &order.id,
                    "checkout_rejected_by_stripe",
                    p.now_ms(),
                ))
                .await?;
            return Err(stripe_failure(e));
        }
    };
    let (Some(id), Some(url)) = (session["id"].as_str(), session["url"].as_str()) else {
        return Err(AppError::Upstream(
            "Stripe answered without a session id and url".into(),
        ));
    };
    p.db()
        .run(orders::set_checkout_session(&order.id, id, url, p.now_ms()))
        .await?;
    let order = OrderRow {
        stripe_checkout_session_id: Some(id.into()),
        checkout_url: Some(url.into()),
        ..order
    };
    debug_assert_eq!(order.status, OrderStatus::Pending);
    Ok((
        created,
        CheckoutSessionView {
            checkout_url: url.into(),
            session_id: id.into(),
            expires_at: rfc3339(expires_ms),
            order: super::view_of(&order, items),
        },
    ))
}

/// Metadata that ties Stripe objects back to the order (also copied onto the
/// PaymentIntent, so `payment_intent.*` events find it).
pub fn metadata(order: &OrderRow) -> Value {
    json!({ "order_id": order.id, "order_number": order.order_number, "store_id": order.store_id })
}

fn session_params(
    store: &StoreRow,
    order: &OrderRow,
    items: &[orders::OrderItemRow],
    success_url: &str,
    cancel_url: &str,
    expires_ms: i64,
) -> Value {
    let currency = order.currency.to_lowercase();
    let ships = items.iter().any(|i| i.kind == VariantKind::Physical);
    let with_query =
        |url: &str, q: &str| format!("{url}{}{q}", if url.contains('?') { '&' } else { '?' });
    let mut v = json!({
        "mode": "payment",
        // Stripe fills in {CHECKOUT_SESSION_ID} itself.
        "success_url": with_query(success_url, &format!("session_id={{CHECKOUT_SESSION_ID}}&order={}", order.order_number)),
        "cancel_url": with_query(cancel_url, &format!("order={}", order.order_number)),
        "client_reference_id": order.id,
        "customer_email": order.email,
        "metadata": metadata(order),
        "payment_intent_data": { "metadata": metadata(order) },
        "allow_promotion_codes": true,
        "expires_at": expires_ms / 1000,
        "line_items": items.iter().map(|i| json!({
            "quantity": i.quantity,
            "price_data": {
                "currency": currency,
                "unit_amount": i.unit_price,
                "product_data": {
                    "name": if i.variant_title.is_empty() || i.variant_title == i.title { i.title.clone() } else { format!("{} — {}", i.title, i.variant_title) },
                    "metadata": { "sku": i.sku, "variant_id": i.variant_id },
                },
            },
        })).collect::<Vec<_>>(),
    });
    if ships {
        let countries: Vec<String> = if store.settings.ship_to_countries.is_empty() {
            DEFAULT_SHIP_TO.iter().map(|c| (*c).to_owned()).collect()
        } else {
            store.settings.ship_to_countries.clone()
        };
        v["shipping_address_collection"] = json!({ "allowed_countries": countries });
        v["shipping_options"] = json!([{ "shipping_rate_data": {
            "type": "fixed_amount",
            "display_name": if order.shipping_amount == 0 { "Free shipping" } else { "Standard shipping" },
            "fixed_amount": { "amount": order.shipping_amount, "currency": currency },
        }}]);
    }
    v
}
