//! The webhooks Worker's API: providers' callbacks, each authenticated (signature or URL
//! secret) before anything is written. Gooten is polled instead (lading_core::fulfillment::poll).

use crate::http::{Access, Answer, NoBody, Problem, Request, Response, route};
use crate::{Health, finish, health, stripe_webhook};
use lading_core::domain::ProviderCode;
use lading_core::fulfillment::events::Applied;
use lading_core::fulfillment::webhooks;
use lading_core::payments::events::Outcome;
use lading_core::ports::Platform;
use lading_core::shipments::courier_events::{self, CourierOutcome};

/// This API's OpenAPI document (generated; see `crate::openapi`).
pub const DOCUMENT: &str = crate::served_document!("webhooks");

crate::route_table! {
    /// Every operation of this API, one per route.
    pub enum Op;
    pub const ROUTES;
    async fn run(Cx);
    Healthz = Get "/healthz" => healthz_op(NoBody) -> Answer<Health> {
        summary: "Liveness and D1 check",
    },
    OpenApi = Get "/openapi.json" => document(NoBody) -> Response {
        summary: "This document",
    },
    Stripe = Post "/webhooks/stripe" => stripe(NoBody) -> Answer<Outcome> {
        access: Access::StripeSignature,
        summary: "Stripe events, signed with Stripe-Signature (v1, 300 s tolerance); each applied once",
    },
    Printful = Post "/webhooks/printful" => printful(NoBody) -> Answer<Applied> {
        access: Access::ProviderSecret,
        summary: "Printful v1 events; authenticated by ?secret= (the store's printful webhook_secret)",
    },
    Prodigi = Post "/webhooks/prodigi" => prodigi(NoBody) -> Answer<Applied> {
        access: Access::ProviderSecret,
        summary: "Prodigi CloudEvents; X-Prodigi-Signature = hex HMAC-SHA256 of the body with the store's prodigi webhook_secret (or ?secret=)",
    },
    Gelato = Post "/webhooks/gelato" => gelato(NoBody) -> Answer<Applied> {
        access: Access::ProviderSecret,
        summary: "Gelato order_status_updated events; authenticated by ?secret=",
    },
    Courier = Post "/webhooks/couriers/{code}" => courier(NoBody) -> Answer<CourierOutcome> {
        access: Access::CourierSignature,
        summary: "A courier's parcel event (id, tracking_number, status in_transit|out_for_delivery|delivered|exception, occurred_at, location), signed Lading-Courier-Signature: t=<unix>,v1=<hex HMAC-SHA256 of t.body> with COURIER_WEBHOOK_SECRET (300 s tolerance); each event applied once, parcels move forward only",
    },
}

async fn courier<P: Platform>(
    cx: &Cx<'_, P>,
    _: NoBody,
) -> Result<Answer<CourierOutcome>, Problem> {
    let req = cx.req;
    Ok(Answer::ok(
        courier_events::receive(
            cx.p,
            req.path.rsplit('/').next().unwrap_or_default(),
            &req.body,
            req.get_header(courier_events::SIGNATURE_HEADER),
        )
        .await?,
    ))
}

pub async fn handle<P: Platform>(p: &P, req: Request) -> Response {
    let result = dispatch(p, &req).await;
    finish(&req, result)
}

async fn dispatch<P: Platform>(p: &P, req: &Request) -> Result<Response, Problem> {
    let (route, _) = route(ROUTES, req.method, &req.path)?;
    run(&Cx { p, req }, route.id).await
}

/// What a webhook handler works with: each request authenticates itself (signature or
/// URL secret), so there is no caller to resolve first.
pub struct Cx<'a, P: Platform> {
    pub p: &'a P,
    pub req: &'a Request,
}

async fn healthz_op<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Result<Answer<Health>, Problem> {
    health(cx.p, "webhooks").await
}

async fn document<P: Platform>(_: &Cx<'_, P>, _: NoBody) -> Result<Response, Problem> {
    Ok(Response::raw(200, "application/json", DOCUMENT))
}

async fn stripe<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Result<Answer<Outcome>, Problem> {
    Ok(Answer::ok(stripe_webhook::receive(cx.p, cx.req).await?))
}

async fn printful<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Result<Answer<Applied>, Problem> {
    provider(cx, ProviderCode::Printful).await
}

async fn prodigi<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Result<Answer<Applied>, Problem> {
    provider(cx, ProviderCode::Prodigi).await
}

async fn gelato<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Result<Answer<Applied>, Problem> {
    provider(cx, ProviderCode::Gelato).await
}

/// A print provider's callback: the raw body, its URL secret and the signature header the
/// provider's rules name, handed to the core.
async fn provider<P: Platform>(
    cx: &Cx<'_, P>,
    provider: ProviderCode,
) -> Result<Answer<Applied>, Problem> {
    let req = cx.req;
    let delivery = webhooks::Delivery {
        body: &req.body,
        url_secret: req.query_param("secret"),
        signature: webhooks::signature_header(provider).and_then(|h| req.get_header(h)),
    };
    Ok(Answer::ok(
        webhooks::receive(cx.p, provider, delivery).await?,
    ))
}
