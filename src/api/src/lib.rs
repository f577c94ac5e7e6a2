//! # Lading API
//!
//! The HTTP layer over [`lading_core`]: it verifies and parses what clients send, calls the
//! use cases with domain input, and answers JSON or problem+json. Free of any framework and
//! of the Workers runtime: each Worker hands a [`http::Request`] to one of the APIs here and
//! sends back the [`http::Response`], so every route runs (and is tested) natively too.
//!
//! # Layout
//!
//! - [`http`]: the request/response model, routing ([`route_table!`]: each route declared
//!   once), problem+json errors.
//! - [`storefront`], [`admin`], [`webhooks`]: the three APIs, each a route table and the
//!   handlers behind it; [`sales`] is the admin API's sales operations (companies, prices,
//!   draft orders, invoices) and [`operations`] its operations side (parcels, couriers),
//!   each run by a Worker of its own; [`ui`] is the admin web UI.
//! - [`idempotency`]: `Idempotency-Key` claims (leases), replays and their sealed answers.
//! - [`stripe_webhook`]: Stripe's signed events, verified before the core ingests them.
//! - `openapi` (feature `openapi`, and tests): the documents, generated from the route
//!   tables and checked in under `openapi/`; each Worker serves its own file.

#![recursion_limit = "512"]
#![allow(async_fn_in_trait)]

pub mod admin;
pub mod http;
pub mod idempotency;
#[cfg(any(test, feature = "openapi"))]
pub mod openapi;
pub mod operations;
pub mod sales;
pub mod storefront;
pub mod stripe_webhook;
pub mod ui;
pub mod webhooks;

use crate::http::{Problem, Request, Response};
use crate::idempotency::Claim;
use lading_core::db::Db;
use lading_core::ports::Platform;
use lading_core::stmt;

/// What `GET /healthz` answers when the Worker runs and D1 answers.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
    /// Which Worker answered.
    pub worker: String,
    /// `ok`: D1 answered a trivial query.
    pub d1: &'static str,
}

/// `GET /healthz`: the Worker runs and D1 answers (one trivial query).
///
/// # Errors
/// 503 when D1 does not answer.
pub async fn health<P: Platform>(p: &P, worker: &str) -> Result<http::Answer<Health>, Problem> {
    match p.db().all(stmt!("SELECT 1 AS ok")).await {
        Ok(_) => Ok(http::Answer::ok(Health {
            status: "ok",
            worker: worker.to_owned(),
            d1: "ok",
        })),
        Err(e) => {
            let mut pr = Problem::new(503, "storage_unavailable", "Service unavailable")
                .detail("D1 did not answer.");
            pr.cause = Some(e.to_string());
            Err(pr)
        }
    }
}

/// [`health`] as a response.
pub async fn healthz<P: Platform>(p: &P, worker: &str) -> Response {
    match health(p, worker).await {
        Ok(answer) => http::IntoResponse::into_response(answer),
        Err(pr) => pr.into_response(""),
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
            "/openapi/",
            $api,
            ".json"
        ))
    };
}
use served_document;

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
