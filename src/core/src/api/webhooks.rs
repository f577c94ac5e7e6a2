//! The webhooks Worker's API: providers' callbacks, each authenticated (signature or URL
//! secret) before anything is written. Gooten is polled instead (lading_core::fulfillment::poll).

use super::{finish, healthz};
use crate::domain::ProviderCode;
use crate::fulfillment;
use crate::http::{Access, Problem, Request, Response, route};
use crate::payments::webhook;
use crate::ports::Platform;

/// This API's OpenAPI document (generated; see [`super::openapi`]).
pub const DOCUMENT: &str = super::served_document!("webhooks");

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
        Op::Stripe => webhook::receive(p, req).await,
        Op::Printful => fulfillment::webhooks::receive(p, ProviderCode::Printful, req).await,
        Op::Prodigi => fulfillment::webhooks::receive(p, ProviderCode::Prodigi, req).await,
        Op::Gelato => fulfillment::webhooks::receive(p, ProviderCode::Gelato, req).await,
    }
}
