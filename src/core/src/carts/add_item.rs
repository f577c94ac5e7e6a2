use super::{CartView, MAX_LINES, current, require_active, view};
use crate::AppError;
use crate::auth::StorefrontCaller;
use crate::db::Db as _;
use crate::domain::{CartOptions, Quantity};
use crate::ports::{Platform, PlatformExt};
use crate::sql::{carts, catalog};
use serde::Deserialize;
use std::collections::BTreeMap;

/// What the shopper sends. Any price in the body is ignored: prices come from D1.
#[derive(Debug, Deserialize)]
pub struct AddItem {
    pub variant_id: String,
    pub quantity: i64,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

/// Adds a variant to the current cart; the same variant with the same options adds up.
///
/// # Errors
/// 422 for an unknown, archived or other store's variant or a quantity out of bounds;
/// 404 without a cart; 409 when the cart is no longer active.
pub async fn add_item<P: Platform>(
    p: &P,
    caller: &StorefrontCaller,
    input: AddItem,
) -> Result<CartView, AppError> {
    let qty = Quantity::parse(input.quantity).map_err(|m| AppError::validation("quantity", m))?;
    let options =
        CartOptions::parse(input.options).map_err(|m| AppError::validation("options", m))?;
    let store = &caller.store;
    let variant = catalog::sellable_variant(p.db(), &store.id, &input.variant_id)
        .await?
        .ok_or_else(|| {
            AppError::validation("variant_id", "no variant on sale in this store has this id")
        })?;
    let cart = current(p, caller, true).await?;
    require_active(&cart)?;
    if variant.currency != cart.currency {
        return Err(AppError::validation(
            "variant_id",
            "the variant is priced in another currency than the cart",
        ));
    }
    if carts::line_count(p.db(), &cart.id).await? >= MAX_LINES {
        return Err(AppError::validation(
            "variant_id",
            format!("a cart holds at most {MAX_LINES} different items"),
        ));
    }
    let now = p.now_ms();
    let changes = p
        .db()
        .batch(vec![
            carts::add_to_line(
                &p.new_id("ci"),
                &cart.id,
                &variant.id,
                &options.canonical_json(),
                i64::from(qty.get()),
                Quantity::MAX,
                now,
            ),
            carts::touch(&cart.id, now),
        ])
        .await?;
    if changes[0] == 0 {
        let cart = current(p, caller, false).await?;
        require_active(&cart)?;
        return Err(AppError::validation(
            "quantity",
            format!("a line may hold at most {} of an item", Quantity::MAX),
        ));
    }
    let cart = current(p, caller, false).await?;
    view(p, &cart).await
}
