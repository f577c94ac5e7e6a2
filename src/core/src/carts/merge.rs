use super::{CartView, current, view};
use crate::AppError;
use crate::auth::{StorefrontCaller, sha256_hex};
use crate::db::Db as _;
use crate::domain::{CartStatus, Quantity};
use crate::ports::{Platform, PlatformExt};
use crate::sql::carts;

/// Merges the guest cart (`x-cart-token`) into the signed-in customer's cart: the same
/// variant with the same options adds up (capped at the line maximum), then the guest cart
/// is retired as `merged` — all in one batch guarded on the guest cart still being active,
/// so a repeated or concurrent merge adds nothing twice.
///
/// # Errors
/// 401 without a customer; 404 when the guest cart is unknown, another store's or
/// belongs to a customer; 409 when it is no longer active.
pub async fn merge<P: Platform>(p: &P, caller: &StorefrontCaller) -> Result<CartView, AppError> {
    if caller.customer.is_none() {
        return Err(AppError::unauthenticated(
            "customer_required",
            "Merging needs a signed-in customer (Authorization: Bearer <JWT>).",
        ));
    }
    let token = caller
        .cart_token
        .as_deref()
        .ok_or_else(|| AppError::validation("x-cart-token", "send the guest cart's token"))?;
    let guest = carts::cart_by_token_hash(p.db(), &caller.store.id, &sha256_hex(token))
        .await?
        .filter(|c| c.customer_id.is_none())
        .ok_or(AppError::NotFound("cart"))?;
    let target = current(p, caller, true).await?;
    if guest.status != CartStatus::Active {
        // Already merged (a retry): answer with the customer's cart, change nothing.
        if guest.status == CartStatus::Merged {
            return view(p, &target).await;
        }
        return Err(AppError::conflict(
            "cart_not_active",
            format!("The guest cart is {}.", guest.status.as_str()),
        ));
    }
    let now = p.now_ms();
    let lines = carts::lines(p.db(), &guest.id).await?;
    let mut stmts = Vec::with_capacity(lines.len() + 2);
    for l in &lines {
        let options = serde_json::to_string(&l.options).unwrap_or_else(|_| "{}".into());
        stmts.push(carts::merge_line(
            &p.new_id("ci"),
            &target.id,
            &guest.id,
            &l.variant_id,
            &options,
            l.quantity,
            Quantity::MAX,
            now,
        ));
    }
    stmts.push(carts::touch(&target.id, now));
    stmts.push(carts::close(&guest.id, CartStatus::Merged, now));
    p.db().batch(stmts).await?;
    view(p, &current(p, caller, false).await?).await
}
