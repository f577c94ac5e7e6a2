//! # Layout
//!
//! The operations Worker: the admin API's operations side under `/admin/api/v1` (parcels
//! built by operators, couriers). The admin Worker forwards them here through its
//! `OPERATIONS` service binding, so each Worker stays within its size budget; callers see
//! one admin API. All behaviour lives in `lading_api::operations`.

use worker::{Context, Env, Request, Response, Result, event};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    lading_edge::serve("operations", req, &env, async |p, r| {
        lading_api::operations::handle(p, r).await
    })
    .await
}
