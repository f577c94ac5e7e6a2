//! Outbox → queue. A row is claimed for a minute (so two dispatchers do not
//! both send it), sent, then marked sent; a row whose claim ran out unsent is sent again by
//! the scheduler. Sending twice is harmless: the consumer claims its work with a
//! compare-and-set.

use crate::AppError;
use crate::db::{Db as _, DbExt as _, Stmt, StmtResult};
use crate::ports::Platform;
use crate::stmt;
use serde::Deserialize;

/// How long a dispatcher owns a row it is sending.
pub const CLAIM_MS: i64 = 60_000;

/// Sends these outbox rows, if still unsent and unclaimed. Returns how many were sent.
/// Two round trips whatever their number: the claim, and marking what was sent.
///
/// # Errors
/// Storage failures (a queue failure leaves the row for the sweep).
pub async fn dispatch<P: Platform>(p: &P, ids: &[String]) -> Result<u64, AppError> {
    if ids.is_empty() {
        return Ok(0);
    }
    let claimed = p.db().batch(claim(ids, p.now_ms())).await?;
    send_claimed(p, ids, &claimed).await
}

/// Statements that claim these outbox rows (those still unsent and unclaimed) and read
/// their payloads. Run them alone ([`dispatch`]) or at the end of the batch that writes
/// the rows, and hand their results to [`send_claimed`].
pub fn claim(ids: &[String], now: i64) -> Vec<Stmt> {
    let mut statements: Vec<Stmt> = ids
        .iter()
        .map(|id| {
            stmt!(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ? \
                 WHERE id = ? AND sent_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= ?)",
                now + CLAIM_MS,
                id,
                now
            )
        })
        .collect();
    let mut payloads = Stmt::new(format!(
        "SELECT id, payload FROM outbox WHERE id IN ({})",
        vec!["?"; ids.len()].join(", ")
    ));
    payloads.params = ids.iter().map(Into::into).collect();
    statements.push(payloads);
    statements
}

/// Sends the rows a [`claim`] claimed (`results` are its statements' results, in order),
/// then marks those the queue took as sent. Returns how many were sent.
///
/// # Errors
/// Storage failures (a queue failure leaves the row for the sweep).
pub async fn send_claimed<P: Platform>(
    p: &P,
    ids: &[String],
    results: &[StmtResult],
) -> Result<u64, AppError> {
    let Some((payloads, claims)) = results.split_last() else {
        return Ok(0);
    };
    let mut sent = Vec::new();
    for (id, _) in ids.iter().zip(claims).filter(|(_, c)| c.changes > 0) {
        let Some(payload) = payloads
            .rows
            .iter()
            .find(|r| r.get("id").and_then(|v| v.as_str()) == Some(id))
            .and_then(|r| r.get("payload"))
            .and_then(|v| v.as_str())
        else {
            continue;
        };
        let body: serde_json::Value = serde_json::from_str(payload).unwrap_or_default();
        if p.enqueue(&body).await.is_ok() {
            sent.push(id);
        }
    }
    if !sent.is_empty() {
        let mut mark = Stmt::new(format!(
            "UPDATE outbox SET sent_at = ? WHERE id IN ({})",
            vec!["?"; sent.len()].join(", ")
        ));
        mark.params.push(p.now_ms().into());
        mark.params.extend(sent.iter().map(|id| (*id).into()));
        p.db().run(mark).await?;
    }
    Ok(sent.len() as u64)
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
