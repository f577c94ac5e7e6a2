//! Sending a company's draft to checkout (seed 001 §2.2, strict mode). Every line is
//! priced again; any line without a Stripe Price synced at its resolved amount refuses the
//! whole send (409 naming the lines, nothing written). Otherwise one guarded batch turns
//! the draft into a pending order with the same id — its items keeping the resolution
//! they were priced with — only if the billing contact's spending limit allows it, counted
//! over the orders they placed this period (so concurrent sends can never exceed it). Then
//! a Stripe Checkout Session with the lines' `price` ids, and the link by email to the
//! billing contact. Payment follows the same exactly-once path as every order.

use super::{drafts, place_draft};
use crate::AppError;
use crate::db::{Db as _, DbExt as _};
use crate::notifications::{self, Kind};
use crate::orders::checkout::{SESSION_TTL_MS, metadata, stripe_config, stripe_failure};
use crate::payments::stripe_client;
use crate::ports::Platform;
use crate::pricing::Resolution;
use crate::sql::orders::{self as order_sql, OrderRow};
use crate::sql::stores::StoreRow;
use crate::stmt;
use crate::time_fmt::rfc3339;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// What the operator sees once a draft was sent.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SentCheckout {
    pub order_id: String,
    pub order_number: String,
    pub status: crate::domain::OrderStatus,
    pub currency: String,
    pub total_amount: i64,
    pub checkout_url: String,
    pub session_id: String,
    pub expires_at: String,
    /// Who gets the link by email.
    pub billing_contact_email: Option<String>,
}

/// `POST /admin/api/v1/orders/{order_id}/send-checkout`. Sending again answers the same
/// session (and finishes one whose Stripe call failed).
///
/// # Errors
/// 404; 409 `checkout_refused` naming the lines strict mode refuses, 409
/// `spending_limit_exceeded`, 409 `no_shipping_address`, 409 `checkout_not_configured`;
/// 502/503 when Stripe refuses or fails.
pub async fn send_checkout<P: Platform>(
    p: &P,
    store: &StoreRow,
    id: &str,
) -> Result<SentCheckout, AppError> {
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
    let cfg = stripe_config(p)?.clone();
    let order = match order_sql::order_by_id(p.db(), id).await? {
        Some(o) if o.store_id == store.id && o.company_id.is_some() => o,
        Some(_) => return Err(AppError::NotFound("draft order")),
        None => {
            let (d, lines) = drafts::draft_row(p, &store.id, id).await?;
            place_draft::place(p, store, d, lines, &place_draft::Placing::Checkout)
                .await?
                .order
        }
    };
    if order.status != crate::domain::OrderStatus::Pending {
        return Err(AppError::conflict(
            "order_not_pending",
            format!(
                "The order is {}: its checkout is over.",
                order.status.as_str()
            ),
        ));
    }
    let expires_ms = order.created_at + SESSION_TTL_MS;
    if let (Some(session), Some(url)) = (&order.stripe_checkout_session_id, &order.checkout_url) {
        return Ok(sent(&order, session, url, expires_ms));
    }
    let lines = priced_items(p, &order.id).await?;
    let mut params = json!({
        "mode": "payment",
        "success_url": format!("{success_url}{}session_id={{CHECKOUT_SESSION_ID}}&order={}", if success_url.contains('?') { '&' } else { '?' }, order.order_number),
        "cancel_url": format!("{cancel_url}{}order={}", if cancel_url.contains('?') { '&' } else { '?' }, order.order_number),
        "client_reference_id": order.id,
        "customer_email": order.email,
        "metadata": metadata(&order),
        "payment_intent_data": { "metadata": metadata(&order) },
        "expires_at": expires_ms / 1000,
        // Strict mode: every line is a Price synced to Stripe, never price_data.
        "line_items": lines.iter().map(|(price, quantity)| json!({ "price": price, "quantity": quantity })).collect::<Vec<_>>(),
    });
    if order.shipping_amount > 0 {
        params["shipping_options"] = json!([{ "shipping_rate_data": {
            "type": "fixed_amount", "display_name": "Shipping",
            "fixed_amount": { "amount": order.shipping_amount, "currency": order.currency.to_lowercase() },
        }}]);
    }
    let session = stripe_client::post(
        p,
        &cfg,
        "/v1/checkout/sessions",
        &params,
        &format!("checkout:{}", order.id),
    )
    .await
    .map_err(stripe_failure)?;
    let (Some(session_id), Some(url)) = (session["id"].as_str(), session["url"].as_str()) else {
        return Err(AppError::Upstream(
            "Stripe answered without a session id and url".into(),
        ));
    };
    let now = p.now_ms();
    let mut batch = vec![order_sql::set_checkout_session(
        &order.id, session_id, url, now,
    )];
    batch.extend(notifications::queue_statements(
        &store.id,
        &order.id,
        Kind::CheckoutLink,
        &stmt!(
            "EXISTS (SELECT 1 FROM orders WHERE id = ? AND stripe_checkout_session_id = ?)",
            &order.id,
            session_id
        ),
        now,
    ));
    p.db().batch(batch).await?;
    let _unsent_is_swept = crate::fulfillment::dispatch::dispatch(
        p,
        &[notifications::outbox_id(&order.id, Kind::CheckoutLink)],
    )
    .await;
    Ok(sent(&order, session_id, url, expires_ms))
}

fn sent(order: &OrderRow, session: &str, url: &str, expires_ms: i64) -> SentCheckout {
    SentCheckout {
        order_id: order.id.clone(),
        order_number: order.order_number.clone(),
        status: order.status,
        currency: order.currency.to_lowercase(),
        total_amount: order.total_amount,
        checkout_url: url.to_owned(),
        session_id: session.to_owned(),
        expires_at: rfc3339(expires_ms),
        billing_contact_email: order.email.clone(),
    }
}

/// Each item's Stripe Price and quantity, from the resolution it was placed with.
async fn priced_items<P: Platform>(p: &P, order_id: &str) -> Result<Vec<(String, i64)>, AppError> {
    #[derive(Deserialize)]
    struct Item {
        quantity: i64,
        #[serde(deserialize_with = "crate::db::json_column")]
        price_source_ids: Resolution,
    }
    let items: Vec<Item> = p
        .db()
        .query(stmt!(
            "SELECT quantity, price_source_ids FROM order_items WHERE order_id = ? ORDER BY rowid",
            order_id
        ))
        .await?;
    items
        .into_iter()
        .map(|i| {
            i.price_source_ids
                .stripe_price_id
                .map(|price| (price, i.quantity))
                .ok_or_else(|| {
                    AppError::conflict(
                        "checkout_refused",
                        "An item of this order has no Stripe Price; it cannot be paid through Checkout.",
                    )
                })
        })
        .collect()
}
