//! The HTTP APIs, free of any framework: each Worker hands a [`Request`] to one of these
//! and sends back the [`Response`].

pub mod admin;
#[cfg(any(test, feature = "openapi"))]
pub mod openapi;
pub mod storefront;
pub mod webhooks;

use crate::db::Db;
use crate::http::{Problem, Request, Response};
use crate::idempotency::{self, Claim};
use crate::ports::Platform;
use crate::stmt;

/// `GET /healthz`: the Worker runs and D1 answers (one trivial query).
pub async fn healthz<P: Platform>(p: &P, worker: &str) -> Response {
    match p.db().all(stmt!("SELECT 1 AS ok")).await {
        Ok(_) => Response::json(
            200,
            &serde_json::json!({ "status": "ok", "worker": worker, "d1": "ok" }),
        ),
        Err(e) => {
            let mut pr = Problem::new(503, "storage_unavailable", "Service unavailable")
                .detail("D1 did not answer.");
            pr.cause = Some(e.to_string());
            pr.into_response("")
        }
    }
}

/// Runs `handler` under the request's `Idempotency-Key`, if it sent one: the first
/// response is saved and replayed for later requests with the same key and body.
pub(crate) async fn with_idempotency<P, F>(
    p: &P,
    req: &Request,
    store_id: &str,
    scope: idempotency::Scope<'_>,
    handler: F,
) -> Result<Response, Problem>
where
    P: Platform,
    F: AsyncFnOnce() -> Result<Response, Problem>,
{
    let Some(key) = idempotency::key_of(req)? else {
        return handler().await;
    };
    let ticket = match idempotency::claim(p, store_id, scope, &key, &idempotency::request_hash(req))
        .await?
    {
        Claim::Replay(r) => return Ok(r),
        Claim::Proceed(t) => t,
    };
    let result = handler().await;
    let resp = match &result {
        Ok(r) => r.clone(),
        Err(pr) => pr.clone().into_response(&req.request_id),
    };
    if resp.status >= 500 {
        idempotency::release(p.db(), &ticket).await?;
    } else {
        idempotency::complete(p, &ticket, &resp).await?;
    }
    result
}

/// An API's OpenAPI document as generated from its route table ([`openapi`]) and checked
/// in under `openapi/`: each Worker links only its own.
macro_rules! served_document {
    ($api:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../openapi/",
            $api,
            ".json"
        ))
    };
}
pub(crate) use served_document;

/// Finishes every response: request id header; problems rendered as problem+json.
pub(crate) fn finish(req: &Request, result: Result<Response, Problem>) -> Response {
    let mut r = match result {
        Ok(r) => r,
        Err(p) => p.into_response(&req.request_id),
    };
    r.headers
        .push(("x-request-id".into(), req.request_id.clone()));
    r
}

/// Workers without a public API (webhooks for now, fulfillment, scheduler) answer only
/// `GET /healthz`; everything else is a 404 problem.
pub async fn health_only<P: Platform>(p: &P, req: Request, worker: &str) -> Response {
    let result = if req.path == "/healthz"
        && matches!(
            req.method,
            crate::http::Method::Get | crate::http::Method::Head
        ) {
        Ok(healthz(p, worker).await)
    } else {
        Err(Problem::route_not_found())
    };
    finish(&req, result)
}
