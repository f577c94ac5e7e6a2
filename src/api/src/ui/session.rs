//! The web UI's session: an admin key is exchanged once for a signed cookie naming the key
//! (never the key itself), checked on every request against the key's current row — so a
//! revoked key's sessions end at once. CSRF tokens are derived from the session, and every
//! form posts one.

use crate::http::Request;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lading_core::AppError;
use lading_core::auth::{AdminCaller, secure_eq};
use lading_core::db::DbExt as _;
use lading_core::domain::Role;
use lading_core::ports::Platform;
use lading_core::stmt;
use serde::{Deserialize, Serialize};

pub const COOKIE: &str = "lading_admin";
pub const TTL_S: i64 = 8 * 3600;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Session {
    /// Admin key id.
    pub k: String,
    /// Expiry, unix seconds.
    pub e: i64,
    /// Random, so two sign-ins of one key differ (and so do their CSRF tokens).
    pub n: String,
}

/// Who is signed in: the key's current role and store (re-read on every request).
#[derive(Debug, Clone)]
pub struct Operator {
    pub key_id: String,
    pub label: String,
    pub store_id: String,
    pub role: Role,
    pub session: Session,
}

impl Operator {
    pub fn caller(&self) -> AdminCaller {
        AdminCaller::Key {
            key_id: self.key_id.clone(),
            store_id: self.store_id.clone(),
            role: self.role,
        }
    }
    pub fn can(&self, role: Role) -> bool {
        self.role.allows(role)
    }
}

fn mac(secret: &str, purpose: &str, body: &str) -> String {
    URL_SAFE_NO_PAD.encode(lading_core::crypto::hmac_sha256(
        secret.as_bytes(),
        &[purpose.as_bytes(), b"|", body.as_bytes()],
    ))
}

/// # Errors
/// 503 when `ADMIN_SESSION_SECRET` is not set.
pub fn secret<P: Platform>(p: &P) -> Result<&str, AppError> {
    p.settings().admin_session_secret.as_deref().ok_or_else(|| {
        AppError::unavailable(
            "admin_ui_not_configured",
            "The admin web UI needs the ADMIN_SESSION_SECRET secret (32+ characters).",
        )
    })
}

/// The cookie value for a new session.
pub fn issue(secret: &str, s: &Session) -> String {
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(s).unwrap_or_default());
    format!("{body}.{}", mac(secret, "session", &body))
}

fn decode(secret: &str, value: &str, now_s: i64) -> Option<Session> {
    let (body, sig) = value.split_once('.')?;
    if !secure_eq(mac(secret, "session", body).as_bytes(), sig.as_bytes()) {
        return None;
    }
    let s: Session = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()?;
    (s.e > now_s).then_some(s)
}

/// The CSRF token of a session (a form's hidden `_csrf`).
pub fn csrf_token(secret: &str, s: &Session) -> String {
    mac(secret, "csrf", &format!("{}|{}|{}", s.k, s.n, s.e))
}

pub fn cookie_of<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.get_header("cookie")?
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[derive(Deserialize)]
struct KeyRow {
    id: String,
    store_id: String,
    role: Role,
    label: String,
}

/// The signed-in operator, or `None` (no cookie, bad signature, expired, key revoked).
///
/// # Errors
/// 503 without a session secret; storage failures.
pub async fn operator<P: Platform>(p: &P, req: &Request) -> Result<Option<Operator>, AppError> {
    let secret = secret(p)?;
    let Some(s) = cookie_of(req, COOKIE).and_then(|v| decode(secret, v, p.now_ms() / 1000)) else {
        return Ok(None);
    };
    let row: Option<KeyRow> = p
        .db()
        .first(stmt!(
            "SELECT id, store_id, role, label FROM admin_keys WHERE id = ? AND revoked_at IS NULL",
            &s.k
        ))
        .await?;
    // A key re-roled to `metrics` after signing in signs out: the pages are for operators.
    Ok(row
        .filter(|r| r.role.allows(lading_core::domain::Role::Support))
        .map(|r| Operator {
            key_id: r.id,
            label: r.label,
            store_id: r.store_id,
            role: r.role,
            session: s,
        }))
}

/// A form's CSRF token is the session's, and the request came from this origin.
pub fn check_form(secret: &str, op: &Operator, req: &Request, form: &[(String, String)]) -> bool {
    let token = form
        .iter()
        .find(|(k, _)| k == "_csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    same_origin(req) && secure_eq(csrf_token(secret, &op.session).as_bytes(), token.as_bytes())
}

/// The request came from a page of this origin (browsers send `Origin` on every POST).
pub fn same_origin(req: &Request) -> bool {
    match (req.get_header("origin"), req.get_header("host")) {
        (None, _) => true,
        (Some(o), Some(h)) => o.split_once("://").is_some_and(|(_, rest)| rest == h),
        (Some(_), None) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_verify_expire_and_resist_tampering() {
        let s = Session {
            k: "akey_1".into(),
            e: 2_000,
            n: "abc".into(),
        };
        let v = issue("secret-secret-secret-secret-secret!", &s);
        assert_eq!(
            decode("secret-secret-secret-secret-secret!", &v, 1_000),
            Some(s.clone())
        );
        assert_eq!(
            decode("secret-secret-secret-secret-secret!", &v, 2_000),
            None,
            "expired"
        );
        assert_eq!(
            decode("another-secret-another-secret-12345", &v, 1_000),
            None
        );
        let (body, sig) = v.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode(br#"{"k":"akey_2","e":2000,"n":"abc"}"#);
        assert_eq!(
            decode(
                "secret-secret-secret-secret-secret!",
                &format!("{forged}.{sig}"),
                1_000
            ),
            None
        );
        assert!(
            decode(
                "secret-secret-secret-secret-secret!",
                &format!("{body}x.{sig}"),
                1_000
            )
            .is_none()
        );
        let other = Session {
            n: "xyz".into(),
            ..s.clone()
        };
        assert_ne!(csrf_token("k", &s), csrf_token("k", &other));
    }
}
