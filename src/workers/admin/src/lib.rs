//! # Layout
//!
//! The admin Worker: the admin JSON API under `/admin/api/v1` (its CSV export streamed
//! from D1, signed customer-file links served from R2) and the web UI under `/admin`.
//! All behaviour lives in `lading_api::admin` and `lading_api::ui`.

use worker::{Context, Env, Request, Response, Result, event};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    lading_edge::serve("admin", req, &env, async |p, r| {
        lading_api::admin::handle(p, r).await
    })
    .await
}
