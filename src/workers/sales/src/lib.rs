//! # Layout
//!
//! The sales Worker: the admin API's sales operations under `/admin/api/v1` (companies,
//! contacts, address books, price books and agreements, quotes, draft orders sent to
//! checkout). The admin Worker forwards them here through its `SALES` service binding, so
//! each Worker stays within its size budget; callers see one admin API. All behaviour lives
//! in `lading_api::sales`.

use worker::{Context, Env, Request, Response, Result, event};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    lading_edge::serve("sales", req, &env, async |p, r| {
        lading_api::sales::handle(p, r).await
    })
    .await
}
