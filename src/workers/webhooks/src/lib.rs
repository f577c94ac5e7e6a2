//! # Layout
//!
//! The webhooks Worker: `/webhooks/stripe` verifies the `Stripe-Signature`, records the
//! event once and applies it (lading_core::payments). The fulfillment providers' endpoints
//! arrive with the fulfillment issue.

use worker::{Context, Env, Request, Response, Result, event};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    lading_edge::serve("webhooks", req, &env, async |p, r| {
        lading_core::api::webhooks::handle(p, r).await
    })
    .await
}
