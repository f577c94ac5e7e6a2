//! What shoppers do with their orders: a customer's orders, one order, guests' lookup by
//! order number and email, and cancellation by the customer.

use super::access::{ORDER_TOKEN_TTL_S, sign_order_token, token_secret, visible_order};
use super::{OrderView, view};
use crate::AppError;
use crate::auth::StorefrontCaller;
use crate::domain::OrderNumber;
use crate::ports::Platform;
use crate::sql::orders;
use crate::sql::stores;
use crate::time_fmt::rfc3339;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct OrderSummary {
    pub id: String,
    pub order_number: String,
    pub status: crate::domain::OrderStatus,
    pub financial_status: crate::domain::FinancialStatus,
    pub currency: String,
    pub total: i64,
    /// A company's order (the caller acts for that company).
    pub company_id: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct OrderPage {
    pub data: Vec<OrderSummary>,
    pub has_more: bool,
    /// Pass as `starting_after` for the next (older) page.
    pub next_starting_after: Option<String>,
}

/// The signed-in customer's orders, newest first; for a company's contact, also the
/// company's orders their role lets them see.
///
/// # Errors
/// 401 for guests; 422 for a bad limit.
pub async fn list_orders<P: Platform>(
    p: &P,
    caller: &StorefrontCaller,
    starting_after: Option<&str>,
    limit: Option<&str>,
) -> Result<OrderPage, AppError> {
    let claims = caller.customer.as_ref().ok_or_else(|| {
        AppError::unauthenticated(
            "customer_token_required",
            "Sign in to list orders; guests use POST /v1/orders/lookup.",
        )
    })?;
    let limit: u32 = match limit {
        None => 20,
        Some(l) => l
            .parse()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| AppError::validation("limit", "must be 1 to 100"))?,
    };
    let customer = stores::customer_by_subject(p.db(), &caller.store.id, &claims.sub).await?;
    let member = crate::companies::people::member(p, caller).await?;
    let mut rows = match (&member, &customer) {
        (Some(m), customer) => {
            orders::member_orders(
                p.db(),
                &caller.store.id,
                customer.as_ref().map(|c| c.id.as_str()),
                m.company_id(),
                (!m.sees_company_orders).then_some(m.contact.id.as_str()),
                starting_after,
                limit + 1,
            )
            .await?
        }
        (None, Some(customer)) => {
            orders::customer_orders(
                p.db(),
                &caller.store.id,
                &customer.id,
                starting_after,
                limit + 1,
            )
            .await?
        }
        (None, None) => vec![],
    };
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    Ok(OrderPage {
        next_starting_after: has_more
            .then(|| rows.last().map(|o| o.id.clone()))
            .flatten(),
        has_more,
        data: rows
            .into_iter()
            .map(|o| OrderSummary {
                id: o.id,
                order_number: o.order_number,
                status: o.status,
                financial_status: o.financial_status,
                currency: o.currency,
                total: o.total_amount,
                company_id: o.company_id,
                created_at: rfc3339(o.created_at),
            })
            .collect(),
    })
}

/// One order, for its owner (customer, cart-token guest, or order-token guest).
///
/// # Errors
/// 404 when it does not exist or the caller may not see it (the same answer for both).
pub async fn get_order<P: Platform>(
    p: &P,
    caller: &StorefrontCaller,
    number: &str,
) -> Result<OrderView, AppError> {
    let order = visible_order(p, caller, number).await?;
    view(p, &order).await
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupInput {
    #[schemars(regex(pattern = r"^[A-Za-z0-9]{2,6}-[0-9]{4}-[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{8}$"), extend("examples" = ["SHOP-2026-7G3K9Q2M"]))]
    pub order_number: String,
    #[schemars(email, length(max = 254))]
    pub email: String,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct LookupResult {
    /// Send as `x-order-token` to read this order.
    pub order_token: String,
    pub expires_at: String,
    pub order: OrderView,
}

/// A guest proves they placed an order by its number and email; they get a short-lived
/// order-access token.
///
/// # Errors
/// 422 for malformed input; 404 when the number and email do not match an order (the same
/// answer whichever is wrong).
pub async fn lookup<P: Platform>(
    p: &P,
    caller: &StorefrontCaller,
    input: LookupInput,
) -> Result<LookupResult, AppError> {
    let secret = token_secret(p)?.to_owned();
    let number = OrderNumber::parse(&input.order_number)
        .map_err(|m| AppError::validation("order_number", m))?;
    let email = crate::input::email("email", &input.email)?;
    let order = orders::order_by_number(p.db(), &caller.store.id, number.as_str())
        .await?
        .filter(|o| {
            o.email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(email.as_str()))
        })
        .ok_or(AppError::NotFound("order"))?;
    let expires_s = p.now_ms() / 1000 + ORDER_TOKEN_TTL_S;
    Ok(LookupResult {
        order_token: sign_order_token(&secret, &order.id, expires_s),
        expires_at: rfc3339(expires_s * 1000),
        order: view(p, &order).await?,
    })
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelInput {
    #[schemars(length(max = 200))]
    pub reason: Option<String>,
}

/// A shopper cancels their order (inside the store's window; see
/// [`crate::fulfillment::cancel`]).
///
/// # Errors
/// 404 when the caller may not see it; 409 when it cannot be cancelled.
pub async fn cancel<P: Platform>(
    p: &P,
    caller: &StorefrontCaller,
    number: &str,
    input: CancelInput,
) -> Result<crate::fulfillment::cancel::CancellationResult, AppError> {
    let reason = crate::input::optional_line("reason", input.reason.as_deref(), 200)?.map_or_else(
        || "cancelled_by_customer".to_owned(),
        |r| format!("cancelled_by_customer: {r}"),
    );
    let order = visible_order(p, caller, number).await?;
    crate::fulfillment::cancel::cancel_order(
        p,
        order,
        crate::fulfillment::cancel::Actor::Customer,
        &reason,
    )
    .await
}
