//! `Idempotency-Key` on storefront and admin POSTs: claim the key first, then either
//! proceed or replay what was saved. The same key with another request body is refused
//! (422); the same key while the first request still runs gets 409.
//!
//! A claim is a lease ([`LEASE_MS`]): a request that died holding it (a crashed isolate, a
//! lost connection to D1) keeps no one waiting past the lease; then the next retry takes
//! the key over — exactly one of several racing retries, since taking over is one guarded
//! upsert — and a late answer from the dead request cannot overwrite the new one.
//!
//! Saved responses can hold secrets shown once (a guest cart token, a new admin key), so
//! nothing is kept in plain text: the row is found by a hash of the key, and the response
//! is sealed with ChaCha20-Poly1305 under a key derived from the client's key, bound to
//! its row. Only a client presenting the same key can have it replayed; a reader of D1
//! learns nothing, and a writer cannot make a row answer another's response.
//!
//! Callers without an identity ([`Scope::Anonymous`]: no customer, no cart) share no scope
//! to tell them apart, so their keys guard against running twice but are never replayed:
//! two shoppers who happen to send the same key must not receive each other's cart token.

use crate::http::{Problem, Request, Response};
use lading_core::crypto;
use lading_core::db::{Db, DbError, DbExt};
use lading_core::ports::{Platform, PlatformExt as _};
use lading_core::stmt;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Saved keys are replayed for this long, then purged by the scheduler.
pub use lading_core::sql::idempotency::RETENTION_MS;

/// How long a claim holds the key before a retry may take it over.
pub const LEASE_MS: i64 = 60_000;

pub enum Claim {
    /// First use: run the request, then [`complete`] (or [`release`] on a 5xx).
    Proceed(Ticket),
    /// Seen before with the same body: answer this.
    Replay(Response),
}

/// Whose keys these are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// A known caller (an admin key, a customer, a cart): its responses are replayed.
    Caller(&'a str),
    /// Nobody in particular: the key is claimed (so it runs once) but never replayed.
    Anonymous,
}

impl Scope<'_> {
    fn as_str(&self) -> &str {
        match self {
            Scope::Caller(s) => s,
            Scope::Anonymous => "anonymous",
        }
    }
}

pub struct Ticket {
    store_id: String,
    scope: String,
    /// Hash of the client's key: what the row is found by.
    lookup: String,
    /// This claim's id: only its holder completes or releases the row.
    claim: String,
    /// Derived from the client's key; never stored.
    secret: [u8; 32],
    /// Whether the answer is kept for replays (never for [`Scope::Anonymous`]).
    replayable: bool,
}

/// The stored form of a client's key.
pub fn lookup_of(key: &str) -> String {
    hex::encode(Sha256::digest(
        format!("lading/idempotency/lookup:{key}").as_bytes(),
    ))
}

fn secret_of(key: &str) -> [u8; 32] {
    crypto::hmac_sha256(key.as_bytes(), &[b"lading/idempotency/response"])
}

/// What a sealed response is bound to: its row.
fn row_context(store_id: &str, scope: &str, lookup: &str) -> Vec<u8> {
    format!("{store_id}\n{scope}\n{lookup}").into_bytes()
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
/// 422 when the key was used with another request, 409 while the first is in flight or
/// when an anonymous key was already used, storage failures.
pub async fn claim<P: Platform>(
    p: &P,
    store_id: &str,
    scope: Scope<'_>,
    key: &str,
    hash: &str,
) -> Result<Claim, Problem> {
    let db = p.db();
    let now = p.now_ms();
    let lookup = lookup_of(key);
    let claim_id = p.new_id("claim");
    // First use inserts; a claim whose lease ran out without a response is taken over by
    // whichever retry's upsert SQLite runs first (the others see the new lease).
    let taken = db
        .run(stmt!(
            "INSERT INTO idempotency_keys (store_id, scope, key, request_hash, created_at, claim, locked_until) VALUES (?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (store_id, scope, key) DO UPDATE SET claim = excluded.claim, locked_until = excluded.locked_until \
             WHERE idempotency_keys.response_status IS NULL AND idempotency_keys.locked_until <= ? AND idempotency_keys.request_hash = excluded.request_hash",
            store_id,
            scope.as_str(),
            &lookup,
            hash,
            now,
            &claim_id,
            now + LEASE_MS,
            now
        ))
        .await?;
    if taken == 1 {
        return Ok(Claim::Proceed(Ticket {
            store_id: store_id.into(),
            scope: scope.as_str().into(),
            lookup,
            claim: claim_id,
            secret: secret_of(key),
            replayable: matches!(scope, Scope::Caller(_)),
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
            scope.as_str(),
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
    match (saved.response_status, saved.response_body, scope) {
        (Some(_), _, Scope::Anonymous) => Err(Problem::new(
            409,
            "idempotency_key_spent",
            "Idempotency-Key already used",
        )
        .detail(
            "A request with this Idempotency-Key was already answered. Requests without a cart token or a signed-in customer are never replayed (the answer may hold another caller's secret): send a new key.",
        )),
        (Some(status), Some(body), Scope::Caller(_)) => {
            let plain = hex::decode(body)
                .ok()
                .and_then(|sealed| {
                    crypto::open(
                        &secret_of(key),
                        &row_context(store_id, scope.as_str(), &lookup),
                        &sealed,
                    )
                })
                .ok_or_else(|| {
                    Problem::from(DbError::Decode(
                        "a saved response does not open with its key".into(),
                    ))
                })?;
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

/// Saves the response to replay, if this claim still holds the key.
///
/// # Errors
/// Storage failures.
pub async fn complete<P: Platform>(p: &P, t: &Ticket, resp: &Response) -> Result<(), DbError> {
    // An answer that is never replayed is not kept: only that the key was used.
    let sealed = t.replayable.then(|| {
        let mut nonce = [0u8; crypto::NONCE_LEN];
        p.fill_random(&mut nonce);
        hex::encode(crypto::seal(
            &t.secret,
            nonce,
            &row_context(&t.store_id, &t.scope, &t.lookup),
            &resp.body,
        ))
    });
    p.db()
        .run(stmt!(
            "UPDATE idempotency_keys SET response_status = ?, response_body = ?, locked_until = 0 WHERE store_id = ? AND scope = ? AND key = ? AND claim = ?",
            i64::from(resp.status),
            sealed,
            &t.store_id,
            &t.scope,
            &t.lookup,
            &t.claim
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
        "DELETE FROM idempotency_keys WHERE store_id = ? AND scope = ? AND key = ? AND claim = ? AND response_status IS NULL",
        &t.store_id,
        &t.scope,
        &t.lookup,
        &t.claim
    ))
    .await
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_do_not_reveal_the_key() {
        assert_ne!(lookup_of("k1"), lookup_of("k2"));
        assert!(!lookup_of("k1").contains("k1"));
        assert_ne!(secret_of("k1"), secret_of("k2"));
    }
}
