//! # Layout
//!
//! The webhooks Worker: `/webhooks/{stripe,printful,prodigi,gooten,gelato,shopify}` verify,
//! record and apply provider events (arriving with the checkout and fulfillment issues).
//! Today it answers `/healthz`.

use worker::{Context, Env, Request, Response, Result, event};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    lading_edge::serve("webhooks", req, &env, async |p, r| {
        lading_core::api::health_only(p, r, "webhooks").await
    })
    .await
}
