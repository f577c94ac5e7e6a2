//! The admin API's operations side under `/admin/api/v1` (seed 001 §2.4, §4, §5): parcels
//! built by operators for fulfillment orders run in house, the couriers that carry them,
//! automation after delivery, outbound webhooks, and operator tasks.
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
use lading_core::automation::{
    scenarios::{self, ScenarioInput, ScenarioUpdate, ScenarioView},
    steps::{self, FallbackInput, StepInput, StepUpdate, StepView},
};
use lading_core::domain::Role;
use lading_core::job_runs::{self, JobRunPage};
use lading_core::operator_tasks::{self, TaskView};
use lading_core::outbound::{
    deliveries::{self, DeliveryView},
    endpoints::{self, EndpointInput, EndpointUpdate, EndpointView},
};
use lading_core::ports::Platform;
use lading_core::shipments::{
    self, ShipmentView,
    build::{ShipmentInput, ShipmentUpdate},
    couriers::{self, CourierInput, CourierUpdate, CourierView},
    status::ShipmentStatusInput,
};
use lading_core::timelines::{self, Timeline};

/// The admin API's OpenAPI document (generated; see `crate::openapi`), served here for the
/// admin Worker (which forwards `/openapi.json`): it is big, and this Worker has the room.
pub const DOCUMENT: &str = crate::served_document!("admin");

crate::route_table! {
    /// Every operations route, one per route.
    pub enum Op;
    pub const ROUTES;
    async fn run(Cx);
    Healthz = Get "/healthz" => before_auth(NoBody) -> Answer<Health> {
        summary: "Liveness and D1 check",
    },
    OpenApi = Get "/openapi.json" => before_auth(NoBody) -> Response {
        summary: "This document",
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
    ListAutomationScenarios = Get "/admin/api/v1/automation-scenarios" => list_scenarios(NoBody) -> Answer<List<ScenarioView>> {
        access: Access::Admin(Role::Support),
        summary: "The store's automation scenarios: endpoint, retry policy (max attempts, delay, timeout), secret masked",
    },
    CreateAutomationScenario = Post "/admin/api/v1/automation-scenarios" => create_scenario(Json<ScenarioInput>) -> Answer<ScenarioView> {
        access: Access::Admin(Role::Admin),
        audit: creation("automation_scenario.create", false),
        summary: "Add a scenario (first_time_install, replacement, return, …): the endpoint its steps call and its retry policy; the answer shows its whsec_ signing secret once",
        statuses: &[201],
    },
    UpdateAutomationScenario = Patch "/admin/api/v1/automation-scenarios/{code}" => update_scenario(Json<ScenarioUpdate>) -> Answer<ScenarioView> {
        access: Access::Admin(Role::Admin),
        audit: change("automation_scenario.update", "automation_scenario", "code"),
        summary: "Change a scenario's name, endpoint, retry policy, or deactivate it",
    },
    ListAutomationSteps = Get "/admin/api/v1/shipments/{shipment_id}/automation-steps" => list_steps(NoBody) -> Answer<List<StepView>> {
        access: Access::Admin(Role::Support),
        summary: "A parcel's automation steps with their status, attempts and last error",
    },
    CreateAutomationStep = Post "/admin/api/v1/shipments/{shipment_id}/automation-steps" => create_step(Json<StepInput>) -> Answer<StepView> {
        access: Access::Admin(Role::Support),
        audit: creation("automation_step.create", true),
        summary: "Add a step to one of a parcel's lines (before it is delivered): scenario and JSON payload; it runs once the parcel is delivered",
        statuses: &[201],
    },
    UpdateAutomationStep = Patch "/admin/api/v1/automation-steps/{step_id}" => update_step(Json<StepUpdate>) -> Answer<StepView> {
        access: Access::Admin(Role::Support),
        audit: change("automation_step.update", "automation_step", "step_id"),
        summary: "Change the payload of a step that has not run (409 step_not_editable)",
    },
    RetryAutomationStep = Post "/admin/api/v1/automation-steps/{step_id}/retry" => retry_step(NoBody) -> Answer<StepView> {
        access: Access::Admin(Role::Support),
        audit: change("automation_step.retry", "automation_step", "step_id"),
        summary: "Run a failed step again with its scenario's attempts anew (through the queue); resolves its operator task",
    },
    FallbackAutomationStep = Post "/admin/api/v1/automation-steps/{step_id}/fallback" => fallback_step(Json<FallbackInput>) -> Answer<StepView> {
        access: Access::Admin(Role::Support),
        audit: change("automation_step.fallback", "automation_step", "step_id"),
        summary: "Record that a pending or failed step was done by hand, with a note; resolves its operator task",
    },
    ListWebhookEndpoints = Get "/admin/api/v1/webhook-endpoints" => list_endpoints(NoBody) -> Answer<List<EndpointView>> {
        access: Access::Admin(Role::Admin),
        summary: "The store's webhook subscriptions: URL, event types, status (disabled with a reason after repeated failures), secret masked",
    },
    CreateWebhookEndpoint = Post "/admin/api/v1/webhook-endpoints" => create_endpoint(Json<EndpointInput>) -> Answer<EndpointView> {
        access: Access::Admin(Role::Admin),
        audit: creation("webhook_endpoint.create", false),
        summary: "Subscribe a URL to domain events (order.paid, fulfillment.submitted, shipment.delivered, invoice.issued, refund.succeeded, … or *); deliveries are signed as Standard Webhooks with the whsec_ secret this answer shows once",
        statuses: &[201],
    },
    GetWebhookEndpoint = Get "/admin/api/v1/webhook-endpoints/{endpoint_id}" => get_endpoint(NoBody) -> Answer<EndpointView> {
        access: Access::Admin(Role::Admin),
        summary: "One webhook endpoint",
    },
    UpdateWebhookEndpoint = Patch "/admin/api/v1/webhook-endpoints/{endpoint_id}" => update_endpoint(Json<EndpointUpdate>) -> Answer<EndpointView> {
        access: Access::Admin(Role::Admin),
        audit: change("webhook_endpoint.update", "webhook_endpoint", "endpoint_id"),
        summary: "Change an endpoint's URL, description or event types; enabled: true enables a disabled one again (what came due is sent), false pauses it",
    },
    ListWebhookDeliveries = Get "/admin/api/v1/webhook-endpoints/{endpoint_id}/deliveries" => list_deliveries(NoBody) -> Answer<List<DeliveryView>> {
        access: Access::Admin(Role::Admin),
        summary: "An endpoint's deliveries, newest first (status = pending, sending, succeeded, failed), each with its attempts",
    },
    GetWebhookDelivery = Get "/admin/api/v1/webhook-deliveries/{delivery_id}" => get_delivery(NoBody) -> Answer<DeliveryView> {
        access: Access::Admin(Role::Admin),
        summary: "One delivery: the body as sent and every attempt with its answer",
    },
    ResendWebhookDelivery = Post "/admin/api/v1/webhook-deliveries/{delivery_id}/resend" => resend_delivery(NoBody) -> Answer<DeliveryView> {
        access: Access::Admin(Role::Admin),
        audit: change("webhook_delivery.resend", "webhook_delivery", "delivery_id"),
        summary: "Send a failed or delivered message again (same webhook-id, one more attempt) through the queue; 409 delivery_in_progress",
    },
    ListOperatorTasks = Get "/admin/api/v1/operator-tasks" => list_tasks(NoBody) -> Answer<List<TaskView>> {
        access: Access::Admin(Role::Support),
        summary: "Work for a person (status = open, the default, or resolved): automation steps that failed, webhook endpoints disabled",
    },
    ResolveOperatorTask = Post "/admin/api/v1/operator-tasks/{task_id}/resolve" => resolve_task(NoBody) -> Answer<TaskView> {
        access: Access::Admin(Role::Support),
        audit: change("operator_task.resolve", "operator_task", "task_id"),
        summary: "Mark a task done",
    },
    ListJobRuns = Get "/admin/api/v1/job-runs" => list_job_runs(NoBody) -> Answer<JobRunPage> {
        access: Access::Admin(Role::Support),
        summary: "Queue messages and cron job runs, newest first (queue = lading-fulfillment or cron; status = queued, active, completed, failed, delayed; entity_id; limit, starting_after), with per-queue counts and average waiting and processing times",
    },
    GetOrderTimeline = Get "/admin/api/v1/orders/{order_id}/timeline" => order_timeline(NoBody) -> Answer<Timeline> {
        access: Access::Admin(Role::Support),
        summary: "An order's timeline: its events, its parcels' and invoices' events (courier updates, automation results), its emails and the webhook deliveries of those events, oldest first",
    },
    GetMetrics = Get "/admin/api/v1/metrics" => metrics(NoBody) -> Response {
        access: Access::Admin(Role::Metrics),
        summary: "The store's numbers in the Prometheus text format (orders paid, fulfillment lead time, parcel delivery time, automation outcomes, queue backlog and age, job runs, webhook deliveries); any admin key, or a key with the metrics role",
        content_type: "text/plain",
    },
    GetShipmentTimeline = Get "/admin/api/v1/shipments/{shipment_id}/timeline" => shipment_timeline(NoBody) -> Answer<Timeline> {
        access: Access::Admin(Role::Support),
        summary: "A parcel's timeline: built, moved, what its courier said, its automation steps, and the webhook deliveries of those events",
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
        || crate::ui::operations::serves(method, path)
}

pub async fn handle<P: Platform>(p: &P, req: Request) -> Response {
    let p = &Audited::new(p);
    if crate::ui::is_ui_path(&req.path) {
        let r = crate::ui::operations::handle(p, &req).await;
        return finish(&req, Ok(r));
    }
    let result = match route(ROUTES, req.method, &req.path) {
        Err(e) => Err(e),
        Ok((r, _)) if r.id == Op::Healthz => Ok(healthz(p, "operations").await),
        Ok((r, _)) if r.id == Op::OpenApi => Ok(Response::raw(200, "application/json", DOCUMENT)),
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

async fn list_scenarios<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<List<ScenarioView>> {
    Ok(Answer::ok(List {
        data: scenarios::list(cx.p, cx.store_id).await?,
    }))
}

async fn create_scenario<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<ScenarioInput>,
) -> Reply<ScenarioView> {
    Ok(Answer::created(
        scenarios::create(cx.p, cx.store_id, input).await?,
    ))
}

async fn update_scenario<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<ScenarioUpdate>,
) -> Reply<ScenarioView> {
    Ok(Answer::ok(
        scenarios::update(cx.p, cx.store_id, cx.param("code"), input).await?,
    ))
}

async fn list_steps<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<List<StepView>> {
    Ok(Answer::ok(List {
        data: steps::list(cx.p, cx.store_id, cx.param("shipment_id")).await?,
    }))
}

async fn create_step<P: Platform>(cx: &Cx<'_, P>, Json(input): Json<StepInput>) -> Reply<StepView> {
    Ok(Answer::created(
        steps::create(cx.p, cx.store_id, cx.param("shipment_id"), input).await?,
    ))
}

async fn update_step<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<StepUpdate>,
) -> Reply<StepView> {
    Ok(Answer::ok(
        steps::update(cx.p, cx.store_id, cx.param("step_id"), input).await?,
    ))
}

async fn retry_step<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<StepView> {
    Ok(Answer::ok(
        steps::retry(cx.p, cx.store_id, cx.param("step_id"), &author(cx.caller)).await?,
    ))
}

async fn fallback_step<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<FallbackInput>,
) -> Reply<StepView> {
    Ok(Answer::ok(
        steps::fallback(
            cx.p,
            cx.store_id,
            cx.param("step_id"),
            &author(cx.caller),
            input,
        )
        .await?,
    ))
}

async fn list_endpoints<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<List<EndpointView>> {
    Ok(Answer::ok(List {
        data: endpoints::list(cx.p, cx.store_id).await?,
    }))
}

async fn create_endpoint<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<EndpointInput>,
) -> Reply<EndpointView> {
    Ok(Answer::created(
        endpoints::create(cx.p, cx.store_id, input).await?,
    ))
}

async fn get_endpoint<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<EndpointView> {
    Ok(Answer::ok(
        endpoints::get(cx.p, cx.store_id, cx.param("endpoint_id")).await?,
    ))
}

async fn update_endpoint<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<EndpointUpdate>,
) -> Reply<EndpointView> {
    Ok(Answer::ok(
        endpoints::update(
            cx.p,
            cx.store_id,
            cx.param("endpoint_id"),
            &author(cx.caller),
            input,
        )
        .await?,
    ))
}

async fn list_deliveries<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<List<DeliveryView>> {
    Ok(Answer::ok(List {
        data: deliveries::list(
            cx.p,
            cx.store_id,
            cx.param("endpoint_id"),
            cx.query("status"),
        )
        .await?,
    }))
}

async fn get_delivery<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<DeliveryView> {
    Ok(Answer::ok(
        deliveries::get(cx.p, cx.store_id, cx.param("delivery_id")).await?,
    ))
}

async fn resend_delivery<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<DeliveryView> {
    Ok(Answer::ok(
        deliveries::resend(cx.p, cx.store_id, cx.param("delivery_id")).await?,
    ))
}

async fn list_tasks<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<List<TaskView>> {
    Ok(Answer::ok(List {
        data: operator_tasks::list(cx.p, cx.store_id, cx.query("status")).await?,
    }))
}

async fn resolve_task<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<TaskView> {
    Ok(Answer::ok(
        operator_tasks::resolve(cx.p, cx.store_id, cx.param("task_id"), &author(cx.caller)).await?,
    ))
}

async fn list_job_runs<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<JobRunPage> {
    Ok(Answer::ok(
        job_runs::list(
            cx.p,
            cx.store_id,
            cx.query("queue"),
            cx.query("status"),
            cx.query("entity_id"),
            cx.query("starting_after"),
            cx.query("limit"),
        )
        .await?,
    ))
}

async fn order_timeline<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<Timeline> {
    Ok(Answer::ok(
        timelines::of_order(cx.p, cx.store_id, cx.param("order_id")).await?,
    ))
}

async fn shipment_timeline<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<Timeline> {
    Ok(Answer::ok(
        timelines::of_shipment(cx.p, cx.store_id, cx.param("shipment_id")).await?,
    ))
}

async fn metrics<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Result<Response, Problem> {
    let text = lading_core::metrics::render_store(cx.p, cx.store_id).await?;
    Ok(Response::raw(
        200,
        "text/plain; version=0.0.4; charset=utf-8",
        text,
    ))
}
