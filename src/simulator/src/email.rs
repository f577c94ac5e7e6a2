//! A transactional email API shaped like Brevo's (`POST /brevo/v3/smtp/email`, `api-key`
//! header, JSON body with `sender`, `to`, `subject`, `htmlContent`/`textContent`, `tags`,
//! `headers`; 201 `{"messageId": "<…>"}`; errors `{"code", "message"}`). Every accepted
//! email is captured for tests and the demo:
//! - `GET /__control/emails?to=&tag=`: what was sent, oldest first.
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
