//! The webhooks Worker's API: providers' callbacks, each authenticated (signature or URL
//! secret) before anything is written. Gooten is polled instead (lading_core::fulfillment::poll).

use crate::http::{Access, Problem, Request, Response, route};
use crate::{finish, healthz};
use lading_core::domain::ProviderCode;
use lading_core::fulfillment::webhooks;
use lading_core::ports::Platform;

/// This API's OpenAPI document (generated; see `crate::openapi`).
pub const DOCUMENT: &str = crate::served_document!("webhooks");

crate::route_table! {
    /// Every operation of this API, one per route.
    pub enum Op;
    pub const ROUTES;
    Healthz = Get "/healthz" {
        summary: "Liveness and D1 check",
        response: Some("Health"),
    },
    OpenApi = Get "/openapi.json" {
        summary: "This document",
    },
    Stripe = Post "/webhooks/stripe" {
        access: Access::StripeSignature,
        summary: "Stripe events, signed with Stripe-Signature (v1, 300 s tolerance); each applied once",
        response: Some("EventOutcome"),
    },
    Printful = Post "/webhooks/printful" {
        access: Access::ProviderSecret,
        summary: "Printful v1 events; authenticated by ?secret= (the store's printful webhook_secret)",
        response: Some("ProviderEventOutcome"),
    },
    Prodigi = Post "/webhooks/prodigi" {
        access: Access::ProviderSecret,
        summary: "Prodigi CloudEvents; X-Prodigi-Signature = hex HMAC-SHA256 of the body with the store's prodigi webhook_secret (or ?secret=)",
        response: Some("ProviderEventOutcome"),
    },
    Gelato = Post "/webhooks/gelato" {
        access: Access::ProviderSecret,
        summary: "Gelato order_status_updated events; authenticated by ?secret=",
        response: Some("ProviderEventOutcome"),
    },
}

pub async fn handle<P: Platform>(p: &P, req: Request) -> Response {
    let result = dispatch(p, &req).await;
    finish(&req, result)
}

async fn dispatch<P: Platform>(p: &P, req: &Request) -> Result<Response, Problem> {
    let (route, _) = route(ROUTES, req.method, &req.path)?;
    match route.id {
        Op::Healthz => Ok(healthz(p, "webhooks").await),
        Op::OpenApi => Ok(Response::raw(200, "application/json", DOCUMENT)),
        Op::Stripe => crate::stripe_webhook::receive(p, req).await,
        Op::Printful => provider(p, ProviderCode::Printful, req).await,
        Op::Prodigi => provider(p, ProviderCode::Prodigi, req).await,
        Op::Gelato => provider(p, ProviderCode::Gelato, req).await,
    }
}

/// A print provider's callback: the raw body, its URL secret and the signature header the
/// provider's rules name, handed to the core.
async fn provider<P: Platform>(
    p: &P,
    provider: ProviderCode,
    req: &Request,
) -> Result<Response, Problem> {
    let delivery = webhooks::Delivery {
        body: &req.body,
        url_secret: req.query_param("secret"),
        signature: webhooks::signature_header(provider).and_then(|h| req.get_header(h)),
    };
    let applied = webhooks::receive(p, provider, delivery).await?;
    Ok(Response::json(200, &applied))
}
