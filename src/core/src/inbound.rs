//! Every provider's events are recorded once in `inbound_events`: by
//! `(provider, event id)`, with a hash of their content, so the same id with other content
//! is refused and a processed event is not applied again.

use crate::db::{Db, DbError, Stmt, StmtResult};
use crate::ports::{Platform, PlatformExt};
use crate::stmt;
use serde_json::Value;

/// What recording an event found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// New, or seen but not yet applied (a concurrent copy, or an earlier failure): apply it.
    Unprocessed,
    /// Already applied: do nothing.
    Processed,
    /// The id was recorded with other content: refuse it.
    Mismatch,
}

/// Records the event (if new) and says what was there, in one round trip.
///
/// # Errors
/// Storage failures.
pub async fn record<P: Platform>(
    p: &P,
    provider: &str,
    event_id: &str,
    kind: &str,
    payload: &str,
    hash: &str,
) -> Result<Seen, DbError> {
    record_and_read(p, provider, event_id, kind, payload, hash, Vec::new())
        .await
        .map(|(seen, _)| seen)
}

/// [`record`], with the reads applying the event needs in the same round trip: their
/// results follow, in order.
///
/// # Errors
/// Storage failures.
pub async fn record_and_read<P: Platform>(
    p: &P,
    provider: &str,
    event_id: &str,
    kind: &str,
    payload: &str,
    hash: &str,
    reads: Vec<Stmt>,
) -> Result<(Seen, Vec<StmtResult>), DbError> {
    let mut batch = vec![
        stmt!(
            "INSERT INTO inbound_events (id, provider, event_id, type, payload, payload_hash, received_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            p.new_id("ie"),
            provider,
            event_id,
            kind,
            payload,
            hash,
            p.now_ms()
        ),
        stmt!(
            "SELECT payload_hash, processed_at FROM inbound_events WHERE provider = ? AND event_id = ?",
            provider,
            event_id
        ),
    ];
    batch.extend(reads);
    let mut res = p.db().batch(batch).await?.into_iter();
    let _inserted = res.next();
    let seen = res
        .next()
        .and_then(|r| r.rows.into_iter().next())
        .unwrap_or_default();
    let seen = if seen.get("payload_hash").and_then(Value::as_str) != Some(hash) {
        Seen::Mismatch
    } else if seen.get("processed_at").is_some_and(|v| !v.is_null()) {
        Seen::Processed
    } else {
        Seen::Unprocessed
    };
    Ok((seen, res.collect()))
}

/// Marks the event applied (put it last in the batch that applies it).
pub fn mark_processed(provider: &str, event_id: &str, now: i64) -> Stmt {
    stmt!(
        "UPDATE inbound_events SET processed_at = ?, error = NULL, attempts = attempts + 1 WHERE provider = ? AND event_id = ?",
        now,
        provider,
        event_id
    )
}

/// Records why applying it failed (best effort; it stays unprocessed and is retried).
pub async fn record_failure<P: Platform>(p: &P, provider: &str, event_id: &str, error: &str) {
    let _ = p
        .db()
        .run(stmt!(
            "UPDATE inbound_events SET error = ?, attempts = attempts + 1 WHERE provider = ? AND event_id = ?",
            error,
            provider,
            event_id
        ))
        .await;
}
