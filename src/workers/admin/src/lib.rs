//! # Layout
//!
//! The admin Worker: the admin JSON API under `/admin/api/v1` (its CSV export streamed
//! from D1, signed customer-file links served from R2) and the web UI under `/admin`.
//! All behaviour lives in `lading_api::admin` and `lading_api::ui`; the sales operations
//! (`lading_api::sales`) are forwarded to the sales Worker, the operations side
//! (`lading_api::operations`) to the operations Worker.

use worker::{Context, Env, Request, Response, Result, event};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    // The sales operations run in the sales Worker (a size budget of its own): the request
    // goes there whole, body unread.
    let method = lading_api::http::Method::parse(&req.inner().method());
    if method.is_some_and(|m| lading_api::sales::serves(m, &req.path())) {
        return env.service("SALES")?.fetch_request(req).await;
    }
    // So do the operations side's (parcels, couriers, automation, webhooks, job runs,
    // timelines, metrics; its pages and the admin OpenAPI document), in the operations Worker.
    if method.is_some_and(|m| lading_api::operations::serves(m, &req.path())) {
        return env.service("OPERATIONS")?.fetch_request(req).await;
    }
    lading_edge::serve("admin", req, &env, async |p, r| {
        lading_api::admin::handle(p, r).await
    })
    .await
}
