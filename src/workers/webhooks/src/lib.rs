//! # Layout
//!
//! The webhooks Worker: `/webhooks/stripe` verifies the `Stripe-Signature`, records the
//! event once and applies it (`lading_core::payments`); `/webhooks/{provider}` does the
//! same for Printful, Prodigi, Gooten and Gelato (`lading_core::fulfillment::webhooks`).

use worker::{Context, Env, Request, Response, Result, event};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    lading_edge::serve("webhooks", req, &env, async |p, r| {
        lading_api::webhooks::handle(p, r).await
    })
    .await
}
