//! Who may see an order: the customer who placed it (a company's order: the company's
//! people, by role — see `companies::people`), the guest holding the
//! cart token it was placed with, or a guest holding an order-access token from
//! `POST /v1/orders/lookup` (order number + email). Tokens are HMAC-signed and short-lived.

use crate::AppError;
use crate::auth::{StorefrontCaller, secure_eq, sha256_hex};
use crate::db::DbExt as _;
use crate::domain::OrderNumber;
use crate::ports::Platform;
use crate::sql::orders::{self as orders, OrderRow};
use crate::stmt;

/// How long an order-access token works.
pub const ORDER_TOKEN_TTL_S: i64 = 3600;

/// Header a guest sends the token in.
pub const ORDER_TOKEN_HEADER: &str = "x-order-token";

fn mac(secret: &str, body: &str) -> String {
    hex::encode(crate::crypto::hmac_sha256(
        secret.as_bytes(),
        &[body.as_bytes()],
    ))
}

/// `ot1.<order id>.<expiry, unix seconds>.<hex HMAC-SHA256 of the rest>`.
pub fn sign_order_token(secret: &str, order_id: &str, expires_s: i64) -> String {
    let body = format!("ot1.{order_id}.{expires_s}");
    let sig = mac(secret, &body);
    format!("{body}.{sig}")
}

/// The order id a valid, unexpired token names.
pub fn verify_order_token(secret: &str, token: &str, now_s: i64) -> Option<String> {
    let (body, sig) = token.rsplit_once('.')?;
    if !secure_eq(mac(secret, body).as_bytes(), sig.as_bytes()) {
        return None;
    }
    let mut parts = body.split('.');
    let (Some("ot1"), Some(order_id), Some(exp), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    (exp.parse::<i64>().ok()? > now_s).then(|| order_id.to_owned())
}

/// The secret that signs order-access tokens.
///
/// # Errors
/// 503 when `ORDER_TOKEN_SECRET` is not set.
pub fn token_secret<P: Platform>(p: &P) -> Result<&str, AppError> {
    p.settings().order_token_secret.as_deref().ok_or_else(|| {
        AppError::unavailable(
            "order_lookup_not_configured",
            "Order lookup is not configured: set the ORDER_TOKEN_SECRET secret (32+ characters).",
        )
    })
}

/// The order with this number, if the caller may see it. Not found and not theirs get
/// the same 404, so order numbers cannot be probed.
///
/// # Errors
/// 404; storage failures.
pub async fn visible_order<P: Platform>(
    p: &P,
    caller: &StorefrontCaller,
    number: &str,
) -> Result<OrderRow, AppError> {
    let number = OrderNumber::parse(number).map_err(|_| AppError::NotFound("order"))?;
    let order = orders::order_by_number(p.db(), &caller.store.id, number.as_str())
        .await?
        .ok_or(AppError::NotFound("order"))?;
    if !may_see(p, caller, &order).await? {
        return Err(AppError::NotFound("order"));
    }
    Ok(order)
}

/// # Errors
/// Storage failures.
pub async fn may_see<P: Platform>(
    p: &P,
    caller: &StorefrontCaller,
    order: &OrderRow,
) -> Result<bool, AppError> {
    if order.store_id != caller.store.id {
        return Ok(false);
    }
    if let Some(claims) = &caller.customer {
        if order.company_id.is_some() {
            // A company's order: its people, by their role.
            return Ok(crate::companies::people::member(p, caller)
                .await?
                .is_some_and(|m| m.may_see(order)));
        }
        let Some(customer_id) = &order.customer_id else {
            return Ok(false);
        };
        let owner = p
            .db()
            .first::<serde_json::Value>(stmt!(
                "SELECT 1 AS ok FROM customers WHERE id = ? AND subject = ?",
                customer_id,
                &claims.sub
            ))
            .await?;
        return Ok(owner.is_some());
    }
    if let (Some(token), Some(cart_id)) = (&caller.cart_token, &order.cart_id) {
        let same_cart = p
            .db()
            .first::<serde_json::Value>(stmt!(
                "SELECT 1 AS ok FROM carts WHERE id = ? AND token_hash = ?",
                cart_id,
                sha256_hex(token)
            ))
            .await?;
        if same_cart.is_some() {
            return Ok(true);
        }
    }
    Ok(caller
        .order_token
        .as_deref()
        .zip(p.settings().order_token_secret.as_deref())
        .and_then(|(t, secret)| verify_order_token(secret, t, p.now_ms() / 1000))
        .is_some_and(|id| id == order.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_until_they_expire_and_not_when_altered() {
        let s = "a-secret-of-at-least-thirty-two-characters";
        let t = sign_order_token(s, "ord_1", 1000);
        assert_eq!(verify_order_token(s, &t, 999).as_deref(), Some("ord_1"));
        assert_eq!(verify_order_token(s, &t, 1000), None, "expired");
        assert_eq!(
            verify_order_token("another-secret-xxxxxxxxxxxxxxxxxxxxxx", &t, 1),
            None
        );
        let forged = t.replace("ord_1", "ord_2");
        assert_eq!(verify_order_token(s, &forged, 1), None);
        let longer = t.replace(".1000.", ".9999.");
        assert_eq!(verify_order_token(s, &longer, 1), None);
        assert_eq!(verify_order_token(s, "ot1.ord_1.1000", 1), None);
    }
}
