//! A transactional email API shaped like Brevo's (`POST /brevo/v3/smtp/email`, `api-key`
//! header, JSON body with `sender`, `to`, `subject`, `htmlContent`/`textContent`, `tags`,
//! `headers`; 201 `{"messageId": "<…>"}`; errors `{"code", "message"}`). Every accepted
//! email is captured for tests and the demo:
//! - `GET /__control/emails?to=&tag=`: what was sent, oldest first.
//!
//! `GET /brevo/v3/smtp/emails?email=` (`api-key`): Brevo's list of transactional emails
//! sent to an address, `{"count", "transactionalEmails": [{email, subject, messageId,
//! tags, from, date}]}` — how a sender that lost track of a send finds out it happened.
//!
//! Outages and slow answers come from the harness's faults on `/brevo/`.

use axum::extract::{Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
pub struct Email(Arc<Mutex<Vec<Value>>>);

pub fn router(email: Email) -> Router {
    Router::new()
        .route("/brevo/v3/smtp/email", post(send))
        .route("/brevo/v3/smtp/emails", get(sent_to))
        .route("/__control/emails", get(list))
        .with_state(email)
}

fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "code": code, "message": message }))).into_response()
}

fn is_address(v: &Value) -> bool {
    v.as_str().is_some_and(|e| {
        e.split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
    })
}

async fn send(AxState(e): AxState<Email>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if headers
        .get("api-key")
        .and_then(|k| k.to_str().ok())
        .is_none_or(str::is_empty)
    {
        return refuse(StatusCode::UNAUTHORIZED, "unauthorized", "Key not found");
    }
    let Ok(b) = serde_json::from_slice::<Value>(&body) else {
        return refuse(StatusCode::BAD_REQUEST, "bad_request", "Invalid JSON body");
    };
    if !is_address(&b["sender"]["email"]) {
        return refuse(
            StatusCode::BAD_REQUEST,
            "missing_parameter",
            "sender.email is missing or invalid",
        );
    }
    let to = b["to"].as_array().cloned().unwrap_or_default();
    if to.is_empty() || !to.iter().all(|t| is_address(&t["email"])) {
        return refuse(
            StatusCode::BAD_REQUEST,
            "missing_parameter",
            "to is missing or has an invalid email",
        );
    }
    if b["subject"].as_str().is_none_or(str::is_empty) {
        return refuse(
            StatusCode::BAD_REQUEST,
            "missing_parameter",
            "subject is missing",
        );
    }
    if b["htmlContent"].as_str().is_none() && b["textContent"].as_str().is_none() {
        return refuse(
            StatusCode::BAD_REQUEST,
            "missing_parameter",
            "htmlContent or textContent is required",
        );
    }
    let mut list = e.0.lock().expect("lock");
    let message_id = format!(
        "<{:012}.{}@smtp-relay.mailin.fr>",
        list.len() + 1,
        std::process::id()
    );
    let mut stored = b.clone();
    stored["messageId"] = json!(message_id);
    list.push(stored);
    (
        StatusCode::CREATED,
        Json(json!({ "messageId": message_id })),
    )
        .into_response()
}

#[derive(Deserialize)]
struct SentTo {
    email: Option<String>,
}

async fn sent_to(
    AxState(e): AxState<Email>,
    headers: HeaderMap,
    Query(q): Query<SentTo>,
) -> Response {
    if headers
        .get("api-key")
        .and_then(|k| k.to_str().ok())
        .is_none_or(str::is_empty)
    {
        return refuse(StatusCode::UNAUTHORIZED, "unauthorized", "Key not found");
    }
    let Some(email) = q.email.filter(|e| !e.is_empty()) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "missing_parameter",
            "email, templateId or messageId is required",
        );
    };
    let found: Vec<Value> =
        e.0.lock()
            .expect("lock")
            .iter()
            .filter(|m| {
                m["to"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|t| t["email"].as_str() == Some(email.as_str()))
            })
            .map(|m| {
                json!({ "email": email, "subject": m["subject"], "messageId": m["messageId"],
                        "tags": m["tags"], "from": m["sender"]["email"], "date": "2026-01-01T00:00:00.000Z" })
            })
            .collect();
    Json(json!({ "count": found.len(), "transactionalEmails": found })).into_response()
}

#[derive(Deserialize)]
struct Filter {
    to: Option<String>,
    tag: Option<String>,
}

async fn list(AxState(e): AxState<Email>, Query(f): Query<Filter>) -> Response {
    let data: Vec<Value> =
        e.0.lock()
            .expect("lock")
            .iter()
            .filter(|m| {
                f.to.as_ref().is_none_or(|to| {
                    m["to"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|t| t["email"].as_str() == Some(to))
                })
            })
            .filter(|m| {
                f.tag.as_ref().is_none_or(|tag| {
                    m["tags"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|t| t.as_str() == Some(tag))
                })
            })
            .cloned()
            .collect();
    Json(json!({ "data": data })).into_response()
}
