use super::{CartView, current, require_active, view};
use crate::AppError;
use crate::auth::StorefrontCaller;
use crate::db::Db as _;
use crate::domain::Quantity;
use crate::ports::Platform;
use crate::sql::carts;
use serde::Deserialize;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct UpdateItem {
    #[schemars(range(min = 1, max = 99))]
    pub quantity: i64,
}

/// Sets a line's quantity (1–99; remove a line with DELETE).
///
/// # Errors
/// 422 for a quantity out of bounds; 404 when the line is not in the caller's cart.
pub async fn update_item<P: Platform>(
    p: &P,
    caller: &StorefrontCaller,
    item_id: &str,
    input: UpdateItem,
) -> Result<CartView, AppError> {
    let qty = Quantity::parse(input.quantity).map_err(|m| AppError::validation("quantity", m))?;
    let cart = current(p, caller, false).await?;
    require_active(&cart)?;
    let now = p.now_ms();
    let changes = p
        .db()
        .batch(vec![
            carts::set_line_quantity(item_id, &cart.id, i64::from(qty.get()), now),
            carts::touch(&cart.id, now),
        ])
        .await?;
    if changes[0].changes == 0 {
        return Err(AppError::NotFound("cart item"));
    }
    view(p, &current(p, caller, false).await?).await
}
