use super::{CartView, current, require_active, view};
use crate::AppError;
use crate::auth::StorefrontCaller;
use crate::db::Db as _;
use crate::ports::Platform;
use crate::sql::carts;

/// Removes a line from the caller's cart.
///
/// # Errors
/// 404 when the line is not in the caller's cart.
pub async fn remove_item<P: Platform>(
    p: &P,
    caller: &StorefrontCaller,
    item_id: &str,
) -> Result<CartView, AppError> {
    let cart = current(p, caller, false).await?;
    require_active(&cart)?;
    let now = p.now_ms();
    let changes = p
        .db()
        .batch(vec![
            carts::delete_line(item_id, &cart.id),
            carts::touch(&cart.id, now),
        ])
        .await?;
    if changes[0].changes == 0 {
        return Err(AppError::NotFound("cart item"));
    }
    view(p, &current(p, caller, false).await?).await
}
