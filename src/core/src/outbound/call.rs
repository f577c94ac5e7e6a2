//! One signed call to a store's system, and its record. A call answered 2xx succeeded;
//! anything else (another status, no answer in time) failed and may be retried.

use super::signing;
use crate::db::Stmt;
use crate::ports::{HttpClient as _, OutboundRequest, Platform};
use crate::stmt;

/// What to send: `message_id` is `webhook-id` (the same on every retry, so the receiver
/// can drop a repeat), `subject_id` and `attempt` name the record.
pub struct Call<'a> {
    pub subject_id: &'a str,
    pub attempt: i64,
    pub url: &'a str,
    pub secret: &'a str,
    pub message_id: &'a str,
    pub body: &'a [u8],
    pub timeout_ms: Option<u64>,
}

/// How a call went.
#[derive(Debug, Clone, PartialEq)]
pub struct Answered {
    pub status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

impl Answered {
    pub fn ok(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
    /// The reason a failed call failed, for people.
    pub fn reason(&self) -> String {
        match (&self.error, self.status) {
            (Some(e), _) => e.clone(),
            (None, Some(s)) => format!("answered {s}"),
            (None, None) => "no answer".into(),
        }
    }
}

/// Sends one signed POST of `body`.
pub async fn send<P: Platform>(p: &P, c: &Call<'_>) -> Answered {
    let started = p.now_ms();
    let mut headers = signing::headers(c.secret, c.message_id, started / 1000, c.body);
    headers.push(("content-type".into(), "application/json".into()));
    headers.push(("user-agent".into(), "Lading-Webhooks/1".into()));
    let r = p
        .http()
        .send(OutboundRequest {
            method: "POST",
            url: c.url.to_owned(),
            headers,
            body: Some(c.body.to_vec()),
            timeout_ms: c.timeout_ms,
        })
        .await;
    let duration_ms = p.now_ms() - started;
    match r {
        Ok(r) => Answered {
            status: Some(r.status),
            error: None,
            duration_ms,
        },
        Err(e) => Answered {
            status: None,
            error: Some(e.chars().take(300).collect()),
            duration_ms,
        },
    }
}

/// The attempt's row (once per subject and attempt number).
pub fn record(c: &Call<'_>, a: &Answered, now: i64) -> Stmt {
    stmt!(
        "INSERT INTO outbound_attempts (subject_id, attempt, url, status_code, error, duration_ms, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        c.subject_id,
        c.attempt,
        c.url,
        a.status.map(i64::from),
        &a.error,
        a.duration_ms,
        now
    )
}

/// An http(s) URL a store may point Lading at (checked when saved).
///
/// # Errors
/// 422 naming `field`.
pub fn check_url(field: &str, v: &str) -> Result<String, crate::AppError> {
    let u = crate::input::line(field, v, 8, 500)?;
    if !(u.starts_with("https://") || u.starts_with("http://")) || u.contains(char::is_whitespace) {
        return Err(crate::AppError::validation(
            field,
            "must be an http(s) URL of at most 500 characters",
        ));
    }
    Ok(u)
}
