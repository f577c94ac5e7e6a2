//! The saved answers of `Idempotency-Key` requests (written by the HTTP layer): how long
//! they are kept, and the hourly purge.

use crate::db::{Db, DbError};
use crate::stmt;

/// How long a key and its answer are kept.
pub const RETENTION_MS: i64 = 24 * crate::time_fmt::HOUR_MS;

/// Drops keys past retention; returns how many.
///
/// # Errors
/// Storage failures.
pub async fn purge(db: &impl Db, now: i64) -> Result<u64, DbError> {
    db.run(stmt!(
        "DELETE FROM idempotency_keys WHERE created_at < ?",
        now - RETENTION_MS
    ))
    .await
}
