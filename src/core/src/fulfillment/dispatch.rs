//! Outbox → queue. A row is claimed for a minute (so two dispatchers do not
//! both send it), sent, then marked sent; a row whose claim ran out unsent is sent again by
//! the scheduler. Sending twice is harmless: the consumer claims its work with a
//! compare-and-set.

use crate::AppError;
use crate::db::{Db as _, DbExt as _};
use crate::ports::Platform;
use crate::stmt;
use serde::Deserialize;

/// How long a dispatcher owns a row it is sending.
pub const CLAIM_MS: i64 = 60_000;

/// Sends these outbox rows, if still unsent and unclaimed. Returns how many were sent.
///
/// # Errors
/// Storage failures (a queue failure leaves the row for the sweep).
pub async fn dispatch<P: Platform>(p: &P, ids: &[String]) -> Result<u64, AppError> {
    let mut sent = 0;
    for id in ids {
        let now = p.now_ms();
        let res = p
            .db()
            .batch(vec![
                stmt!(
                    "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ? \
                     WHERE id = ? AND sent_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= ?)",
                    now + CLAIM_MS,
                    id,
                    now
                ),
                stmt!("SELECT payload FROM outbox WHERE id = ?", id),
            ])
            .await?;
        if res[0].changes == 0 {
            continue;
        }
        let Some(payload) = res[1]
            .rows
            .first()
            .and_then(|r| r.get("payload"))
            .and_then(|v| v.as_str())
        else {
            continue;
        };
        let body: serde_json::Value = serde_json::from_str(payload).unwrap_or_default();
        if p.enqueue(&body).await.is_ok() {
            p.db()
                .run(stmt!(
                    "UPDATE outbox SET sent_at = ? WHERE id = ?",
                    p.now_ms(),
                    id
                ))
                .await?;
            sent += 1;
        }
    }
    Ok(sent)
}

/// The scheduler's sweep: rows never sent, or whose send failed, after their claim ran out.
///
/// # Errors
/// Storage failures.
pub async fn sweep<P: Platform>(p: &P) -> Result<u64, AppError> {
    #[derive(Deserialize, schemars::JsonSchema)]
    struct Row {
        id: String,
    }
    let now = p.now_ms();
    let rows: Vec<Row> = p
        .db()
        .query(stmt!(
            "SELECT id FROM outbox WHERE sent_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= ?) AND created_at <= ? \
             ORDER BY created_at LIMIT 200",
            now,
            // Rows younger than this are being dispatched by the request that wrote them.
            now - 10_000
        ))
        .await?;
    let ids: Vec<String> = rows.into_iter().map(|r| r.id).collect();
    dispatch(p, &ids).await
}
