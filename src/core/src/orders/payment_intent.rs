//! The PaymentIntent flow, for storefronts with their own payment form:
//! `POST /v1/payment-intents` places the order and creates its PaymentIntent (Idempotency-Key
//! derived from the order, never from the clock); `POST /v1/payment-intents/{id}/confirm`
//! only reads where the payment stands. Webhooks alone change the order.

use super::access::may_see;
use super::checkout::{metadata, stripe_config, stripe_failure};
use super::place::{CheckoutInput, Flow, place_order};
use super::{OrderView, view};
use crate::AppError;
use crate::auth::StorefrontCaller;
use crate::db::Db as _;
use crate::payments::stripe_client::{self, StripeError};
use crate::ports::Platform;
use crate::sql::orders;
use serde::Serialize;
use serde_json::{Value, json};

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct PaymentIntentView {
    pub id: String,
    pub status: String,
    /// For Stripe.js `confirmPayment`; only shown to the shopper who placed the order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub amount: i64,
    pub currency: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_payment_error: Option<String>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct PaymentIntentResponse {
    pub payment_intent: PaymentIntentView,
    pub order: OrderView,
}

fn intent_view(pi: &Value, with_secret: bool) -> PaymentIntentView {
    PaymentIntentView {
        id: pi["id"].as_str().unwrap_or_default().into(),
        status: pi["status"].as_str().unwrap_or_default().into(),
        client_secret: pi["client_secret"]
            .as_str()
            .filter(|_| with_secret)
            .map(str::to_owned),
        amount: pi["amount"].as_i64().unwrap_or(0),
        currency: pi["currency"].as_str().unwrap_or_default().to_uppercase(),
        last_payment_error: pi["last_payment_error"]["message"]
            .as_str()
            .map(str::to_owned),
    }
}

/// # Errors
/// See [`place_order`]; 409 when the cart is being paid through Checkout; 502/503 when
/// Stripe refuses or fails.
pub async fn create_payment_intent<P: Platform>(
    p: &P,
    caller: &StorefrontCaller,
    input: CheckoutInput,
) -> Result<(bool, PaymentIntentResponse), AppError> {
    let cfg = stripe_config(p)?.clone();
    let (order, created) = place_order(p, caller, &input, Flow::PaymentIntent).await?;
    if order.payment_flow != Flow::PaymentIntent.as_str() {
        return Err(AppError::conflict(
            "payment_in_progress",
            "This cart is being paid through Stripe Checkout; finish or abandon that first.",
        ));
    }
    let pi = match &order.stripe_payment_intent_id {
        Some(id) => stripe_client::get(p, &cfg, &format!("/v1/payment_intents/{id}"))
            .await
            .map_err(stripe_failure)?,
        None => {
            let mut params = json!({
                "amount": order.total_amount,
                "currency": order.currency.to_lowercase(),
                "metadata": metadata(&order),
                "automatic_payment_methods": { "enabled": true },
                "receipt_email": order.email,
                "description": format!("Order {}", order.order_number),
            });
            if let Some(a) = order
                .shipping_address
                .as_deref()
                .and_then(|a| serde_json::from_str::<Value>(a).ok())
            {
                params["shipping"] = json!({ "name": a["name"], "address": {
                    "line1": a["line1"], "line2": a["line2"], "city": a["city"], "state": a["state"],
                    "postal_code": a["postal_code"], "country": a["country"] } });
            }
            let pi = match stripe_client::post(
                p,
                &cfg,
                "/v1/payment_intents",
                &params,
                &format!("payment_intent:{}", order.id),
            )
            .await
            {
                Ok(pi) => pi,
                Err(e @ StripeError::RetryLater(_)) => return Err(stripe_failure(e)),
                Err(e) => {
                    p.db()
                        .batch(orders::cancel_pending(
                            &order.store_id,
                            &order.id,
                            "payment_intent_rejected_by_stripe",
                            p.now_ms(),
                        ))
                        .await?;
                    return Err(stripe_failure(e));
                }
            };
            let id = pi["id"]
                .as_str()
                .ok_or_else(|| AppError::Upstream("Stripe answered without an id".into()))?;
            p.db()
                .run(orders::set_payment_intent(&order.id, id, p.now_ms()))
                .await?;
            pi
        }
    };
    Ok((
        created,
        PaymentIntentResponse {
            payment_intent: intent_view(&pi, true),
            order: view(p, &order).await?,
        },
    ))
}

/// Where a PaymentIntent stands, read from Stripe, beside the order as D1 has it. Writes
/// nothing: the order changes only through Stripe's events.
///
/// # Errors
/// 404 for an unknown intent or one the caller may not see; 502/503 from Stripe.
pub async fn confirm_status<P: Platform>(
    p: &P,
    caller: &StorefrontCaller,
    id: &str,
) -> Result<PaymentIntentResponse, AppError> {
    let cfg = stripe_config(p)?.clone();
    let order = orders::order_by_payment_intent(p.db(), id)
        .await?
        .filter(|o| o.store_id == caller.store.id)
        .ok_or(AppError::NotFound("payment_intent"))?;
    if !may_see(p, caller, &order).await? {
        return Err(AppError::NotFound("payment_intent"));
    }
    let pi = stripe_client::get(p, &cfg, &format!("/v1/payment_intents/{id}"))
        .await
        .map_err(stripe_failure)?;
    Ok(PaymentIntentResponse {
        payment_intent: intent_view(&pi, false),
        order: view(p, &order).await?,
    })
}
