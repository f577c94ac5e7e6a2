//! The webhooks Worker's API: providers' callbacks, each authenticated (signature or URL
//! secret) before anything is written. Gooten is polled instead (lading_core::fulfillment::poll).

use super::{finish, healthz};
use crate::domain::ProviderCode;
use crate::fulfillment;
use crate::http::{Method, Problem, Request, Response, Route, route};
use crate::payments::webhook;
use crate::ports::Platform;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Healthz,
    OpenApi,
    Stripe,
    Printful,
    Prodigi,
    Gelato,
}

pub const ROUTES: &[Route<Op>] = &[
    Route {
        method: Method::Get,
        pattern: "/healthz",
        id: Op::Healthz,
    },
    Route {
        method: Method::Get,
        pattern: "/openapi.json",
        id: Op::OpenApi,
    },
    Route {
        method: Method::Post,
        pattern: "/webhooks/stripe",
        id: Op::Stripe,
    },
    Route {
        method: Method::Post,
        pattern: "/webhooks/printful",
        id: Op::Printful,
    },
    Route {
        method: Method::Post,
        pattern: "/webhooks/prodigi",
        id: Op::Prodigi,
    },
    Route {
        method: Method::Post,
        pattern: "/webhooks/gelato",
        id: Op::Gelato,
    },
];

pub async fn handle<P: Platform>(p: &P, req: Request) -> Response {
    let result = dispatch(p, &req).await;
    finish(&req, result)
}

async fn dispatch<P: Platform>(p: &P, req: &Request) -> Result<Response, Problem> {
    let (op, _) = route(ROUTES, req.method, &req.path)?;
    match op {
        Op::Healthz => Ok(healthz(p, "webhooks").await),
        Op::OpenApi => Ok(Response::json(200, &super::document("webhooks"))),
        Op::Stripe => webhook::receive(p, req).await,
        Op::Printful => fulfillment::webhooks::receive(p, ProviderCode::Printful, req).await,
        Op::Prodigi => fulfillment::webhooks::receive(p, ProviderCode::Prodigi, req).await,
        Op::Gelato => fulfillment::webhooks::receive(p, ProviderCode::Gelato, req).await,
    }
}
