//! # Layout
//!
//! The storefront Worker: the public catalog, carts, checkout (Checkout Sessions and
//! PaymentIntents), shoppers' orders, cancellation, customer files and download links
//! streamed from R2. All behaviour lives in `lading_api::storefront`; this crate
//! only wires the runtime.

use worker::{Context, Env, Request, Response, Result, event};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    lading_edge::serve("storefront", req, &env, async |p, r| {
        lading_api::storefront::handle(p, r).await
    })
    .await
}
