//! Hourly: orders still unpaid 48 h after they were placed are cancelled, each
//! with a timeline entry, in one batch.

use crate::AppError;
use crate::db::Db as _;
use crate::ports::Platform;
use crate::stmt;

/// How long an order may wait for its payment.
pub const UNPAID_TTL_MS: i64 = 48 * crate::time_fmt::HOUR_MS;

/// # Errors
/// Storage failures.
pub async fn cancel_unpaid_orders<P: Platform>(p: &P) -> Result<u64, AppError> {
    let now = p.now_ms();
    let before = now - UNPAID_TTL_MS;
    let res = p
        .db()
        .batch(vec![
            // The timeline first: it names exactly the orders the update below cancels.
            stmt!(
                "INSERT INTO domain_events (id, store_id, aggregate_type, aggregate_id, type, payload, created_at) \
                 SELECT 'order.cancelled:' || id, store_id, 'order', id, 'order.cancelled', '{\"reason\":\"unpaid_48h\"}', ? \
                 FROM orders WHERE status = 'pending' AND created_at < ? AND review_reason IS NULL ON CONFLICT DO NOTHING",
                now,
                before
            ),
            stmt!(
                "UPDATE orders SET status = 'cancelled', cancel_reason = 'unpaid_48h', cancelled_at = ?, updated_at = ? \
                 WHERE status = 'pending' AND created_at < ? AND review_reason IS NULL",
                now,
                now,
                before
            ),
        ])
        .await?;
    Ok(res[1].changes)
}
