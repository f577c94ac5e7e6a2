//! The webhooks Worker's API: providers' callbacks, each authenticated by its signature
//! before anything is written.

use super::{finish, healthz};
use crate::http::{Method, Problem, Request, Response, Route, route};
use crate::payments::webhook;
use crate::ports::Platform;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Healthz,
    OpenApi,
    Stripe,
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
    }
}
