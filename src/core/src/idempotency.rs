//! `Idempotency-Key` on storefront and admin POSTs: claim the key first (insert-or-nothing),
//! then either proceed or replay what was saved. The same key with another request body
//! is refused (422); the same key while the first request still runs gets 409.

use crate::db::{Db, DbError, DbExt};
use crate::http::{Problem, Request, Response};
use crate::stmt;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Saved keys are replayed for this long, then purged by the scheduler.
pub const RETENTION_MS: i64 = 24 * crate::time_fmt::HOUR_MS;

pub enum Claim {
    /// First use: run the request, then [`complete`] (or [`release`] on a 5xx).
    Proceed(Ticket),
    /// Seen before with the same body: answer this.
    Replay(Response),
}

pub struct Ticket {
    store_id: String,
    scope: String,
    key: String,
}

/// Reads and checks the header: 1–255 printable ASCII characters.
///
/// # Errors
/// 400 `invalid_idempotency_key`.
pub fn key_of(req: &Request) -> Result<Option<String>, Problem> {
    match req.get_header("idempotency-key") {
        None => Ok(None),
        Some(k)
            if !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| (0x21..0x7f).contains(&b)) =>
        {
            Ok(Some(k.to_owned()))
        }
        Some(_) => Err(
            Problem::new(400, "invalid_idempotency_key", "Invalid Idempotency-Key")
                .detail("Idempotency-Key must be 1-255 printable ASCII characters without spaces."),
        ),
    }
}

/// Fingerprint of what the key promises: method, path and body.
pub fn request_hash(req: &Request) -> String {
    let mut h = Sha256::new();
    h.update(req.method.as_str());
    h.update(b"\n");
    h.update(req.path.as_bytes());
    h.update(b"\n");
    h.update(&req.body);
    hex::encode(h.finalize())
}

/// # Errors
/// 422 when the key was used with another request, 409 while the first is in flight,
/// storage failures.
pub async fn claim(
    db: &impl Db,
    store_id: &str,
    scope: &str,
    key: &str,
    hash: &str,
    now: i64,
) -> Result<Claim, Problem> {
    let inserted = db
        .run(stmt!(
            "INSERT INTO idempotency_keys (store_id, scope, key, request_hash, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            store_id,
            scope,
            key,
            hash,
            now
        ))
        .await?;
    if inserted == 1 {
        return Ok(Claim::Proceed(Ticket {
            store_id: store_id.into(),
            scope: scope.into(),
            key: key.into(),
        }));
    }
    #[derive(Deserialize)]
    struct Saved {
        request_hash: String,
        response_status: Option<i64>,
        response_body: Option<String>,
    }
    let saved: Option<Saved> = db
        .first(stmt!(
            "SELECT request_hash, response_status, response_body FROM idempotency_keys WHERE store_id = ? AND scope = ? AND key = ?",
            store_id,
            scope,
            key
        ))
        .await?;
    let Some(saved) = saved else {
        // Released between our insert and read: the caller may simply retry.
        return Err(in_progress());
    };
    if saved.request_hash != hash {
        return Err(
            Problem::new(422, "idempotency_key_reused", "Idempotency-Key reused")
                .detail("This Idempotency-Key was already used with a different request."),
        );
    }
    match (saved.response_status, saved.response_body) {
        (Some(status), Some(body)) => {
            let mut r = Response::raw(status as u16, "application/json", body.into_bytes());
            if status >= 400 {
                r.headers[0].1 = "application/problem+json".into();
            }
            Ok(Claim::Replay(r.with_header("idempotent-replayed", "true")))
        }
        _ => Err(in_progress()),
    }
}

fn in_progress() -> Problem {
    let mut p = Problem::new(
        409,
        "idempotency_request_in_progress",
        "Request in progress",
    )
    .detail("A request with this Idempotency-Key is still running; retry shortly.");
    p.retry_after = Some(1);
    p
}

/// Saves the response to replay.
///
/// # Errors
/// Storage failures.
pub async fn complete(db: &impl Db, t: &Ticket, resp: &Response) -> Result<(), DbError> {
    db.run(stmt!(
        "UPDATE idempotency_keys SET response_status = ?, response_body = ? WHERE store_id = ? AND scope = ? AND key = ?",
        i64::from(resp.status),
        String::from_utf8_lossy(&resp.body).into_owned(),
        &t.store_id,
        &t.scope,
        &t.key
    ))
    .await
    .map(|_| ())
}

/// Forgets the claim so that a retry can run (after a 5xx, which promises nothing).
///
/// # Errors
/// Storage failures.
pub async fn release(db: &impl Db, t: &Ticket) -> Result<(), DbError> {
    db.run(stmt!(
        "DELETE FROM idempotency_keys WHERE store_id = ? AND scope = ? AND key = ? AND response_status IS NULL",
        &t.store_id,
        &t.scope,
        &t.key
    ))
    .await
    .map(|_| ())
}

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
