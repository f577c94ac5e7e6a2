use crate::AppError;
use crate::domain::CartStatus;
use crate::ports::Platform;
use crate::sql::carts;

/// The scheduler's hourly sweep: active carts idle for 48 h become `abandoned`.
///
/// # Errors
/// Storage failures.
pub async fn abandon_idle_carts<P: Platform>(p: &P) -> Result<u64, AppError> {
    let now = p.now_ms();
    Ok(carts::abandon_idle(p.db(), now - CartStatus::IDLE_MS, now).await?)
}
