//! The admin API's operations side under `/admin/api/v1` (seed 001 §2.4, §4, §5): parcels
//! built by operators for fulfillment orders run in house, and the couriers that carry
//! them.
//!
//! They run in a Worker of their own (`operations`): the admin Worker forwards the
//! requests this table matches ([`serves`]) through a service binding, so each Worker
//! stays within its size budget and operators still see one admin API (one OpenAPI
//! document, one key, the same roles, audit log and idempotency:
//! [`crate::admin::authorized`]).

use crate::admin::{Cx, Operations, Reply, author, before_auth};
use crate::http::{
    Access, Answer, Json, List, Method, NoBody, Problem, Request, Response, Route, change,
    creation, route,
};
use crate::{Health, finish, healthz};
use lading_core::admin::audit::Audited;
use lading_core::domain::Role;
use lading_core::ports::Platform;
use lading_core::shipments::{
    self, ShipmentView,
    build::{ShipmentInput, ShipmentUpdate},
    couriers::{self, CourierInput, CourierUpdate, CourierView},
    status::ShipmentStatusInput,
};

crate::route_table! {
    /// Every operations route, one per route.
    pub enum Op;
    pub const ROUTES;
    async fn run(Cx);
    Healthz = Get "/healthz" => before_auth(NoBody) -> Answer<Health> {
        summary: "Liveness and D1 check",
    },
    ListCouriers = Get "/admin/api/v1/couriers" => list_couriers(NoBody) -> Answer<List<CourierView>> {
        access: Access::Admin(Role::Support),
        summary: "The store's couriers (seeded: USPS, DHL, Chit Chats, Canada Post) with their tracking URL templates, how their events arrive and their webhook path",
    },
    CreateCourier = Post "/admin/api/v1/couriers" => create_courier(Json<CourierInput>) -> Answer<CourierView> {
        access: Access::Admin(Role::Admin),
        audit: creation("courier.create", true),
        summary: "Add a courier: code, name, tracking URL template with {number}, tracking adapter (webhook, poll, none); 409 courier_exists",
        statuses: &[201],
    },
    UpdateCourier = Patch "/admin/api/v1/couriers/{code}" => update_courier(Json<CourierUpdate>) -> Answer<CourierView> {
        access: Access::Admin(Role::Admin),
        audit: change("courier.update", "courier", "code"),
        summary: "Rename a courier, change its tracking URL template or adapter, or deactivate it (it takes no new parcels)",
    },
    ListShipments = Get "/admin/api/v1/fulfillment-orders/{fulfillment_order_id}/shipments" => list_shipments(NoBody) -> Answer<List<ShipmentView>> {
        access: Access::Admin(Role::Support),
        summary: "A fulfillment order's parcels, oldest first",
    },
    CreateShipment = Post "/admin/api/v1/fulfillment-orders/{fulfillment_order_id}/shipments" => create_shipment(Json<ShipmentInput>) -> Answer<ShipmentView> {
        access: Access::Admin(Role::Support),
        audit: creation("shipment.create", true),
        summary: "Build a draft parcel of a fulfillment order run in house: lines and quantities (never more than a line has left: 409 quantity_exceeds_remaining), a destination from the company's book or typed in (saved on request; default: the company's default shipping address or the order's), courier and tracking number",
        statuses: &[201],
    },
    GetShipment = Get "/admin/api/v1/shipments/{shipment_id}" => get_shipment(NoBody) -> Answer<ShipmentView> {
        access: Access::Admin(Role::Support),
        summary: "One parcel: lines, destination, courier, tracking and what the courier last said",
    },
    UpdateShipment = Patch "/admin/api/v1/shipments/{shipment_id}" => update_shipment(Json<ShipmentUpdate>) -> Answer<ShipmentView> {
        access: Access::Admin(Role::Support),
        audit: change("shipment.update", "shipment", "shipment_id"),
        summary: "Change a draft or ready parcel's destination, courier or tracking number (409 shipment_not_editable once it left)",
    },
    SetShipmentStatus = Post "/admin/api/v1/shipments/{shipment_id}/status" => set_shipment_status(Json<ShipmentStatusInput>) -> Answer<ShipmentView> {
        access: Access::Admin(Role::Support),
        audit: change("shipment.status", "shipment", "shipment_id"),
        summary: "Move a parcel forward: ready, in_transit (needs its courier and tracking number), delivered, or cancelled before it leaves (its units go back to the lines); 409 shipment_transition_refused",
    },
}

impl Operations for Op {
    const ROUTES: &'static [Route<Op>] = ROUTES;
    async fn run<P: Platform>(self, cx: &Cx<'_, P>) -> Result<Response, Problem> {
        run(cx, self).await
    }
}

/// Whether this table answers the request (the admin Worker forwards it here).
pub fn serves(method: Method, path: &str) -> bool {
    route(ROUTES, method, path).is_ok_and(|(r, _)| r.id != Op::Healthz)
}

pub async fn handle<P: Platform>(p: &P, req: Request) -> Response {
    let p = &Audited::new(p);
    let result = match route(ROUTES, req.method, &req.path) {
        Err(e) => Err(e),
        Ok((r, _)) if r.id == Op::Healthz => Ok(healthz(p, "operations").await),
        Ok((r, params)) => crate::admin::authorized(p, &req, r, &params).await,
    };
    finish(&req, result).with_header("cache-control", "no-store")
}

async fn list_couriers<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<List<CourierView>> {
    Ok(Answer::ok(List {
        data: couriers::list(cx.p, cx.store_id).await?,
    }))
}

async fn create_courier<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<CourierInput>,
) -> Reply<CourierView> {
    Ok(Answer::created(
        couriers::create(cx.p, cx.store_id, input).await?,
    ))
}

async fn update_courier<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<CourierUpdate>,
) -> Reply<CourierView> {
    Ok(Answer::ok(
        couriers::update(cx.p, cx.store_id, cx.param("code"), input).await?,
    ))
}

async fn list_shipments<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<List<ShipmentView>> {
    let fo =
        lading_core::fulfillment::fo_of_store(cx.p, cx.store_id, cx.param("fulfillment_order_id"))
            .await?;
    Ok(Answer::ok(List {
        data: shipments::of_fulfillment_order(cx.p, &fo.id).await?,
    }))
}

async fn create_shipment<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<ShipmentInput>,
) -> Reply<ShipmentView> {
    Ok(Answer::created(
        shipments::build::create(
            cx.p,
            cx.store_id,
            cx.param("fulfillment_order_id"),
            &author(cx.caller),
            input,
        )
        .await?,
    ))
}

async fn get_shipment<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<ShipmentView> {
    Ok(Answer::ok(
        shipments::get(cx.p, cx.store_id, cx.param("shipment_id")).await?,
    ))
}

async fn update_shipment<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<ShipmentUpdate>,
) -> Reply<ShipmentView> {
    Ok(Answer::ok(
        shipments::build::update(
            cx.p,
            cx.store_id,
            cx.param("shipment_id"),
            &author(cx.caller),
            input,
        )
        .await?,
    ))
}

async fn set_shipment_status<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<ShipmentStatusInput>,
) -> Reply<ShipmentView> {
    Ok(Answer::ok(
        shipments::status::set(
            cx.p,
            cx.store_id,
            cx.param("shipment_id"),
            &author(cx.caller),
            input,
        )
        .await?,
    ))
}
