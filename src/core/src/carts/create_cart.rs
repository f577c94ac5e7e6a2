use super::{CartView, current, view};
use crate::AppError;
use crate::auth::{StorefrontCaller, sha256_hex};
use crate::db::Db as _;
use crate::ports::{Platform, PlatformExt};
use crate::sql::carts;

/// Bits of randomness in a guest cart token.
pub const TOKEN_BYTES: usize = 24;

/// A customer gets their active cart (made if needed); a guest gets a new cart and its
/// token, shown once. Returns whether a cart was created.
///
/// # Errors
/// Storage failures.
pub async fn create_cart<P: Platform>(
    p: &P,
    caller: &StorefrontCaller,
) -> Result<(bool, CartView), AppError> {
    if caller.customer.is_some() {
        let existed = current(p, caller, false).await.is_ok();
        let cart = current(p, caller, true).await?;
        return Ok((!existed, view(p, &cart).await?));
    }
    let token = p.new_token("ct_", TOKEN_BYTES);
    let id = p.new_id("cart");
    let store = &caller.store;
    p.db()
        .run(carts::insert_guest_cart(
            &id,
            &store.id,
            &sha256_hex(&token),
            &store.currency,
            p.now_ms(),
        ))
        .await?;
    let cart = carts::cart_by_token_hash(p.db(), &store.id, &sha256_hex(&token))
        .await?
        .ok_or(AppError::NotFound("cart"))?;
    let mut v = view(p, &cart).await?;
    v.cart_token = Some(token);
    Ok((true, v))
}
