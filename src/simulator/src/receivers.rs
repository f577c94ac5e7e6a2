//! The seller's own systems, as Lading calls them: webhook subscribers and the endpoints of
//! automation scenarios ("the legacy bridge"). `POST /hooks/{name}` answers 200
//! `{"received": true}`; the harness logs every call with its headers and body
//! (`GET /__control/requests?path_prefix=/hooks/{name}`), and its faults make a receiver
//! fail, hang or drop the connection (`POST /__control/faults {"path_prefix": "/hooks/{name}", "status": 500, "times": 2}`).

use axum::Json;
use axum::Router;
use axum::extract::Path;
use axum::routing::post;
use serde_json::{Value, json};

pub fn router() -> Router {
    Router::new().route(
        "/hooks/{name}",
        post(|Path(name): Path<String>| async move {
            Json::<Value>(json!({ "received": true, "receiver": name }))
        }),
    )
}
