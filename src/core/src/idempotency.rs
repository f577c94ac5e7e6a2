//! `Idempotency-Key` on storefront and admin POSTs: claim the key first (insert-or-nothing),
//! then either proceed or replay what was saved. The same key with another request body
//! is refused (422); the same key while the first request still runs gets 409.
//!
//! Saved responses can hold secrets shown once (a guest cart token, a new admin key), so
//! nothing is kept in plain text: the row is found by a hash of the key, and the response
//! is encrypted with a keystream derived from the key itself (HMAC-SHA256 in counter
//! mode). Only a client presenting the same key can have it replayed; a reader of D1
//! learns nothing.

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
    /// Hash of the client's key: what the row is found by.
    lookup: String,
    /// Derived from the client's key; never stored.
    secret: [u8; 32],
}

type HmacSha256 = hmac::Hmac<Sha256>;

/// The stored form of a client's key.
pub fn lookup_of(key: &str) -> String {
    hex::encode(Sha256::digest(
        format!("lading/idempotency/lookup:{key}").as_bytes(),
    ))
}

fn secret_of(key: &str) -> [u8; 32] {
    use hmac::Mac;
    let mut m = HmacSha256::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    m.update(b"lading/idempotency/response");
    m.finalize().into_bytes().into()
}

/// XORs `data` with HMAC-SHA256(secret, block counter): encrypts and decrypts alike.
fn keystream_xor(secret: &[u8; 32], data: &mut [u8]) {
    use hmac::Mac;
    for (i, chunk) in data.chunks_mut(32).enumerate() {
        let mut m = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
        m.update(&(i as u64).to_be_bytes());
        let block = m.finalize().into_bytes();
        for (b, k) in chunk.iter_mut().zip(block.iter()) {
            *b ^= k;
        }
    }
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
    let lookup = lookup_of(key);
    let inserted = db
        .run(stmt!(
            "INSERT INTO idempotency_keys (store_id, scope, key, request_hash, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            store_id,
            scope,
            &lookup,
            hash,
            now
        ))
        .await?;
    if inserted == 1 {
        return Ok(Claim::Proceed(Ticket {
            store_id: store_id.into(),
            scope: scope.into(),
            lookup,
            secret: secret_of(key),
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
            &lookup
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
            let mut plain = hex::decode(body).map_err(|e| {
                Problem::from(crate::db::DbError::Decode(format!("saved response: {e}")))
            })?;
            keystream_xor(&secret_of(key), &mut plain);
            let mut r = Response::raw(status as u16, "application/json", plain);
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
    let mut sealed = resp.body.clone();
    keystream_xor(&t.secret, &mut sealed);
    db.run(stmt!(
        "UPDATE idempotency_keys SET response_status = ?, response_body = ? WHERE store_id = ? AND scope = ? AND key = ?",
        i64::from(resp.status),
        hex::encode(sealed),
        &t.store_id,
        &t.scope,
        &t.lookup
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
        &t.lookup
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keystream_round_trips_and_depends_on_the_key() {
        let body = br#"{"cart_token":"ct_secret"}"#.to_vec();
        let mut sealed = body.clone();
        keystream_xor(&secret_of("k1"), &mut sealed);
        assert_ne!(sealed, body);
        let mut wrong = sealed.clone();
        keystream_xor(&secret_of("k2"), &mut wrong);
        assert_ne!(wrong, body);
        keystream_xor(&secret_of("k1"), &mut sealed);
        assert_eq!(sealed, body);
        assert_ne!(lookup_of("k1"), lookup_of("k2"));
        assert!(!lookup_of("k1").contains("k1"));
    }
}
