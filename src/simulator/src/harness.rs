//! Request log and fault injection for every simulated service, plus the control API.
//!
//! Control API (JSON):
//! - `GET /__control/health`
//! - `GET /__control/requests[?path_prefix=/v1/&after=<seq>]`: what the simulator received
//! - `DELETE /__control/requests`
//! - `POST /__control/faults` `{path_prefix, method?, status?, body?, retry_after?, delay_ms?, hang?, drop?, times?}`:
//!   the next `times` (default 1; 0 = until cleared) matching requests get `status` (with
//!   `body`), wait `delay_ms` first, hang until the client gives up, or have their
//!   connection dropped without an answer
//! - `GET|DELETE /__control/faults`
//! - `POST /__control/reset`: clears requests and faults

use axum::Json;
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Query, Request, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Bodies above this are logged truncated.
const LOG_BODY_LIMIT: usize = 64 * 1024;

#[derive(Clone, Default)]
pub struct State(Arc<Mutex<Inner>>);

#[derive(Default)]
struct Inner {
    seq: u64,
    requests: Vec<Logged>,
    faults: Vec<Fault>,
}

#[derive(Clone, Serialize)]
struct Logged {
    seq: u64,
    at_ms: u128,
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: String,
    /// The status we answered, or `dropped` / `hung`.
    outcome: String,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct Fault {
    #[serde(default)]
    id: u64,
    path_prefix: String,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    body: Option<Value>,
    #[serde(default)]
    delay_ms: Option<u64>,
    /// Sent as `Retry-After` with `status` (429s).
    #[serde(default)]
    retry_after: Option<u32>,
    #[serde(default)]
    hang: bool,
    #[serde(default)]
    drop: bool,
    /// How many requests it applies to; 0 means until cleared.
    #[serde(default = "one")]
    times: u32,
}

fn one() -> u32 {
    1
}

impl State {
    fn take_fault(&self, method: &str, path: &str) -> Option<Fault> {
        let mut inner = self.0.lock().expect("lock");
        let i = inner.faults.iter().position(|f| {
            path.starts_with(&f.path_prefix)
                && f.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
        })?;
        let f = inner.faults[i].clone();
        if f.times == 1 {
            inner.faults.remove(i);
        } else if f.times > 1 {
            inner.faults[i].times -= 1;
        }
        Some(f)
    }
    fn log(&self, mut entry: Logged) -> u64 {
        let mut inner = self.0.lock().expect("lock");
        inner.seq += 1;
        entry.seq = inner.seq;
        inner.requests.push(entry);
        inner.seq
    }
    fn set_outcome(&self, seq: u64, outcome: String) {
        let mut inner = self.0.lock().expect("lock");
        if let Some(e) = inner.requests.iter_mut().rev().find(|e| e.seq == seq) {
            e.outcome = outcome;
        }
    }
}

/// Adds logging, faults and the control API around the simulated services.
pub fn wrap(services: Router, state: State) -> Router {
    let control = Router::new()
        .route(
            "/__control/health",
            get(|| async { Json(json!({ "status": "ok" })) }),
        )
        .route(
            "/__control/requests",
            get(list_requests).delete(clear_requests),
        )
        .route(
            "/__control/faults",
            post(add_fault).get(list_faults).delete(clear_faults),
        )
        .route("/__control/reset", post(reset))
        .with_state(state.clone());
    let services = services
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                Json(json!({ "error": { "message": "simulator: no such endpoint" } })),
            )
        })
        .layer(middleware::from_fn_with_state(state, record_and_inject));
    control.merge(services)
}

async fn record_and_inject(AxState(state): AxState<State>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, 16 * 1024 * 1024).await.unwrap_or_default();
    let method = parts.method.to_string();
    let path = parts.uri.path().to_owned();
    let shown = &bytes[..bytes.len().min(LOG_BODY_LIMIT)];
    let seq = state.log(Logged {
        seq: 0,
        at_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0),
        method: method.clone(),
        path: path.clone(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        headers: headers_of(&parts.headers),
        body: String::from_utf8_lossy(shown).into_owned(),
        outcome: "pending".into(),
    });
    if let Some(f) = state.take_fault(&method, &path) {
        if let Some(ms) = f.delay_ms {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if f.hang {
            state.set_outcome(seq, "hung".into());
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        if f.drop {
            state.set_outcome(seq, "dropped".into());
            // A body that fails at once makes the server abort the connection unanswered.
            let failing = futures::stream::once(async {
                Err::<bytes::Bytes, std::io::Error>(std::io::Error::other("dropped by fault"))
            });
            return Response::builder()
                .status(200)
                .header("content-length", "100")
                .body(Body::from_stream(failing))
                .expect("response");
        }
        if let Some(status) = f.status {
            state.set_outcome(seq, status.to_string());
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = f.body.unwrap_or_else(
                || json!({ "error": { "message": format!("simulated fault: {status}") } }),
            );
            let mut resp = (code, Json(body)).into_response();
            if let Some(s) = f.retry_after {
                resp.headers_mut()
                    .insert("retry-after", s.to_string().parse().expect("digits"));
            }
            return resp;
        }
    }
    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    state.set_outcome(seq, resp.status().as_u16().to_string());
    resp
}

fn headers_of(h: &HeaderMap) -> Vec<(String, String)> {
    h.iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or("<binary>").to_owned(),
            )
        })
        .collect()
}

#[derive(Deserialize)]
struct RequestFilter {
    path_prefix: Option<String>,
    after: Option<u64>,
}

async fn list_requests(
    AxState(state): AxState<State>,
    Query(f): Query<RequestFilter>,
) -> Json<Value> {
    let inner = state.0.lock().expect("lock");
    let data: Vec<&Logged> = inner
        .requests
        .iter()
        .filter(|r| {
            f.path_prefix
                .as_deref()
                .is_none_or(|p| r.path.starts_with(p))
                && f.after.is_none_or(|a| r.seq > a)
        })
        .collect();
    Json(json!({ "data": data, "last_seq": inner.seq }))
}

async fn clear_requests(AxState(state): AxState<State>) -> StatusCode {
    state.0.lock().expect("lock").requests.clear();
    StatusCode::NO_CONTENT
}

async fn add_fault(AxState(state): AxState<State>, Json(mut f): Json<Fault>) -> impl IntoResponse {
    if !f.path_prefix.starts_with('/') {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": "path_prefix must start with /" })),
        );
    }
    if f.status.is_none() && f.delay_ms.is_none() && !f.hang && !f.drop {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": "give status, delay_ms, hang or drop" })),
        );
    }
    let mut inner = state.0.lock().expect("lock");
    inner.seq += 1;
    f.id = inner.seq;
    inner.faults.push(f.clone());
    (StatusCode::CREATED, Json(json!(f)))
}

async fn list_faults(AxState(state): AxState<State>) -> Json<Value> {
    Json(json!({ "data": state.0.lock().expect("lock").faults }))
}

async fn clear_faults(AxState(state): AxState<State>) -> StatusCode {
    state.0.lock().expect("lock").faults.clear();
    StatusCode::NO_CONTENT
}

async fn reset(AxState(state): AxState<State>) -> StatusCode {
    let mut inner = state.0.lock().expect("lock");
    inner.requests.clear();
    inner.faults.clear();
    StatusCode::NO_CONTENT
}
