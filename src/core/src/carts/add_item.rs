use super::{CartView, MAX_LINES, current, require_active, view_of};
use crate::AppError;
use crate::auth::StorefrontCaller;
use crate::db::{Db as _, decode};
use crate::domain::{CartOptions, Quantity};
use crate::ports::{Platform, PlatformExt};
use crate::sql::carts::{self, CartRow};
use crate::sql::catalog;
use serde::Deserialize;
use std::collections::BTreeMap;

/// What the shopper sends. Any price in the body is ignored: prices come from D1.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct AddItem {
    pub variant_id: String,
    #[schemars(range(min = 1, max = 99))]
    pub quantity: i64,
    #[serde(default)]
    #[schemars(extend("maxProperties" = 10, "propertyNames" = { "minLength": 1, "maxLength": 40 }, "additionalProperties" = { "type": "string", "maxLength": 200 }))]
    pub options: BTreeMap<String, String>,
}

/// Adds a variant to the current cart; the same variant with the same options adds up.
///
/// The common path is two round trips: find the cart, then one batch that adds the line
/// (every rule checked in SQL), touches the cart and reads the lines back.
///
/// # Errors
/// 422 for an unknown, archived or other store's variant, a quantity out of bounds or a
/// full cart; 404 without a cart; 409 when the cart is no longer active.
pub async fn add_item<P: Platform>(
    p: &P,
    caller: &StorefrontCaller,
    input: AddItem,
) -> Result<CartView, AppError> {
    let qty = Quantity::parse(input.quantity).map_err(|m| AppError::validation("quantity", m))?;
    let options = CartOptions::parse(input.options)
        .map_err(|m| AppError::validation("options", m))?
        .canonical_json();
    let mut cart = match current(p, caller, false).await {
        Ok(c) => c,
        Err(AppError::NotFound(_)) if caller.customer.is_some() => {
            // A customer's first add creates their cart: only for a sellable variant, so
            // that bad input writes nothing.
            sellable(p, caller, &input.variant_id).await?;
            current(p, caller, true).await?
        }
        Err(e) => return Err(e),
    };
    require_active(&cart)?;
    let now = p.now_ms();
    let mut res = p
        .db()
        .batch(vec![
            carts::add_sellable_to_line(
                &p.new_id("ci"),
                &cart.id,
                &input.variant_id,
                &options,
                i64::from(qty.get()),
                Quantity::MAX,
                MAX_LINES,
                now,
            ),
            carts::touch(&cart.id, now),
            carts::lines_stmt(&cart.id),
        ])
        .await?;
    if res[0].changes == 0 {
        return Err(why_not_added(p, caller, &cart, &input.variant_id).await);
    }
    let lines = std::mem::take(&mut res[2].rows)
        .into_iter()
        .map(decode)
        .collect::<Result<Vec<_>, _>>()?;
    cart.updated_at = now;
    cart.last_activity_at = now;
    Ok(view_of(&cart, lines))
}

async fn sellable<P: Platform>(
    p: &P,
    caller: &StorefrontCaller,
    variant_id: &str,
) -> Result<catalog::VariantRow, AppError> {
    catalog::sellable_variant(p.db(), &caller.store.id, variant_id)
        .await?
        .ok_or_else(|| {
            AppError::validation("variant_id", "no variant on sale in this store has this id")
        })
}

/// Which rule refused the add (only on the failure path).
async fn why_not_added<P: Platform>(
    p: &P,
    caller: &StorefrontCaller,
    cart: &CartRow,
    variant_id: &str,
) -> AppError {
    let variant = match sellable(p, caller, variant_id).await {
        Ok(v) => v,
        Err(e) => return e,
    };
    if variant.currency != cart.currency {
        return AppError::validation(
            "variant_id",
            "the variant is priced in another currency than the cart",
        );
    }
    match current(p, caller, false).await {
        Ok(now) if now.status != cart.status || now.id != cart.id => {
            if let Err(e) = require_active(&now) {
                return e;
            }
        }
        Err(e) => return e,
        Ok(_) => {}
    }
    match carts::line_count(p.db(), &cart.id).await {
        Ok(n) if n >= MAX_LINES => AppError::validation(
            "variant_id",
            format!("a cart holds at most {MAX_LINES} different items"),
        ),
        Ok(_) => AppError::validation(
            "quantity",
            format!("a line may hold at most {} of an item", Quantity::MAX),
        ),
        Err(e) => e.into(),
    }
}
