//! The web UI of the operations side, served by the operations Worker (the admin Worker
//! forwards these paths with the API's, [`serves`]): the shipment builder on a fulfillment
//! order's page, a parcel's page (status, automation steps, timeline), an order's whole
//! timeline, the operations page (job runs by queue, failures, tasks) and webhook endpoints
//! with their deliveries. Same session, CSRF tokens and layout as the rest of `/admin`;
//! every change goes through the operations API's own operation ([`perform_as`]).

use super::operations_pages as pages;
use super::{Form, Visit, html, idempotency_key, problem_page, problem_text};
use super::{redirect, visit, with_flash};
use crate::admin::{Call, perform_as};
use crate::http::{Method, Params, Problem, Request, Response, Route, route};
use crate::operations::Op;
use lading_core::admin::audit::Audited;
use lading_core::ports::Platform;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ui {
    FulfillmentOrder,
    BuildShipment,
    Shipment,
    ShipmentStatus,
    RetryStep,
    FallbackStep,
    OrderTimeline,
    Operations,
    ResolveTask,
    Webhooks,
    CreateWebhook,
    Webhook,
    WebhookEnabled,
    ResendDelivery,
}

const fn r(method: Method, pattern: &'static str, id: Ui) -> Route<Ui> {
    Route::base(method, pattern, id)
}

const ROUTES: &[Route<Ui>] = &[
    r(
        Method::Get,
        "/admin/fulfillment-orders/{id}",
        Ui::FulfillmentOrder,
    ),
    r(
        Method::Post,
        "/admin/fulfillment-orders/{id}/shipments",
        Ui::BuildShipment,
    ),
    r(Method::Get, "/admin/shipments/{id}", Ui::Shipment),
    r(
        Method::Post,
        "/admin/shipments/{id}/status",
        Ui::ShipmentStatus,
    ),
    r(
        Method::Post,
        "/admin/automation-steps/{id}/retry",
        Ui::RetryStep,
    ),
    r(
        Method::Post,
        "/admin/automation-steps/{id}/fallback",
        Ui::FallbackStep,
    ),
    r(
        Method::Get,
        "/admin/orders/{id}/timeline",
        Ui::OrderTimeline,
    ),
    r(Method::Get, "/admin/operations", Ui::Operations),
    r(
        Method::Post,
        "/admin/operator-tasks/{id}/resolve",
        Ui::ResolveTask,
    ),
    r(Method::Get, "/admin/webhooks", Ui::Webhooks),
    r(Method::Post, "/admin/webhooks", Ui::CreateWebhook),
    r(Method::Get, "/admin/webhooks/{id}", Ui::Webhook),
    r(
        Method::Post,
        "/admin/webhooks/{id}/enabled",
        Ui::WebhookEnabled,
    ),
    r(
        Method::Post,
        "/admin/webhook-deliveries/{id}/resend",
        Ui::ResendDelivery,
    ),
];

/// Whether these pages answer the request (the admin Worker forwards it here).
pub fn serves(method: Method, path: &str) -> bool {
    route(ROUTES, method, path).is_ok()
}

/// Serves one operations page or form.
pub async fn handle<P: Platform>(p: &Audited<'_, P>, req: &Request) -> Response {
    serve(p, req).await.unwrap_or_else(problem_page)
}

async fn serve<P: Platform>(p: &Audited<'_, P>, req: &Request) -> Result<Response, Problem> {
    let (route, params) = route(ROUTES, req.method, &req.path)?;
    let v = match visit(p, req).await? {
        Ok(v) => v,
        Err(sign_in) => return Ok(sign_in),
    };
    if req.method == Method::Post {
        return act(p, req, route.id, params.get("id"), &v).await;
    }
    page(p, req, route.id, &params, &v).await
}

async fn page<P: Platform>(
    p: &Audited<'_, P>,
    req: &Request,
    ui: Ui,
    params: &Params,
    v: &Visit,
) -> Result<Response, Problem> {
    let store = v.op.store_id.as_str();
    let id = params.get("id");
    // Webhook endpoints are the admin role's, as in the API.
    if matches!(ui, Ui::Webhooks | Ui::Webhook) && !v.op.can(lading_core::domain::Role::Admin) {
        return Err(Problem::from(lading_core::AppError::Forbidden(
            "Webhook endpoints need the admin role.".into(),
        )));
    }
    Ok(match ui {
        Ui::FulfillmentOrder => {
            let fo = lading_core::fulfillment::admin::get(p, store, id).await?;
            let row = lading_core::fulfillment::fo_of_store(p, store, id).await?;
            let couriers = lading_core::shipments::couriers::list(p, store).await?;
            let scenarios = lading_core::automation::scenarios::list(p, store).await?;
            let book = match lading_core::sql::orders::order_by_id(p.db(), &fo.order_id)
                .await?
                .and_then(|o| o.company_id)
            {
                Some(c) => lading_core::companies::addresses::list(p, store, &c).await?,
                None => vec![],
            };
            let title = format!("Fulfillment of {}", fo.order_number);
            let screen = pages::FoScreen {
                fo: &fo,
                in_house: lading_core::shipments::build::built_in_house(&row),
                couriers: &couriers,
                scenarios: &scenarios,
                book: &book,
            };
            html(
                200,
                pages::fulfillment_order(&v.page(req, &title, "fulfillment"), &screen),
            )
        }
        Ui::Shipment => {
            let s = lading_core::shipments::get(p, store, id).await?;
            let steps = lading_core::automation::steps::list(p, store, id).await?;
            let timeline = lading_core::timelines::of_shipment(p, store, id).await?;
            let title = format!(
                "Parcel {}",
                s.tracking_number.clone().unwrap_or_else(|| s.id.clone())
            );
            html(
                200,
                pages::shipment(&v.page(req, &title, "fulfillment"), &s, &steps, &timeline),
            )
        }
        Ui::OrderTimeline => {
            let t = lading_core::timelines::of_order(p, store, id).await?;
            html(
                200,
                pages::order_timeline(&v.page(req, "Order timeline", "orders"), id, &t),
            )
        }
        Ui::Operations => {
            let runs = lading_core::job_runs::list(
                p,
                store,
                req.query_param("queue").filter(|q| !q.is_empty()),
                req.query_param("status").filter(|q| !q.is_empty()),
                req.query_param("entity_id").filter(|q| !q.is_empty()),
                req.query_param("starting_after"),
                Some("100"),
            )
            .await?;
            let tasks = lading_core::operator_tasks::list(p, store, Some("open")).await?;
            html(
                200,
                pages::operations(&v.page(req, "Operations", "operations"), &runs, &tasks, req),
            )
        }
        Ui::Webhooks => {
            let list = lading_core::outbound::endpoints::list(p, store).await?;
            html(
                200,
                pages::webhooks(&v.page(req, "Webhooks", "webhooks"), &list),
            )
        }
        Ui::Webhook => {
            let e = lading_core::outbound::endpoints::get(p, store, id).await?;
            let d = lading_core::outbound::deliveries::list(p, store, id, None).await?;
            html(
                200,
                pages::webhook(&v.page(req, &e.url, "webhooks"), &e, &d),
            )
        }
        _ => return Err(Problem::route_not_found()),
    })
}

/// The shipment builder's form as the operation's input: `qty_<order item>` fields with a
/// quantity become lines (each with the chosen scenario's step, if any).
fn shipment_input(form: &Form<'_>) -> Value {
    let scenario = form.field("scenario");
    let lines: Vec<Value> = form
        .0
        .iter()
        .filter_map(|(k, v)| {
            let item = k.strip_prefix("qty_")?;
            let q: i64 = v.trim().parse().ok().filter(|q| *q > 0)?;
            let mut line = json!({ "order_item_id": item, "quantity": q });
            if !scenario.is_empty() {
                line["automation_steps"] = json!([{ "scenario": scenario }]);
            }
            Some(line)
        })
        .collect();
    let mut input = json!({ "lines": lines });
    for k in ["courier", "tracking_number"] {
        if !form.field(k).is_empty() {
            input[k] = json!(form.field(k));
        }
    }
    match form.field("address_id") {
        "" => {}
        "typed" => {
            let mut a = json!({});
            for k in ["name", "line1", "city", "region", "postal_code", "country"] {
                if !form.field(k).is_empty() {
                    a[k] = json!(form.field(k));
                }
            }
            input["address"] = a;
            input["save_address"] = json!(form.field("save_address") == "on");
        }
        id => input["address_id"] = json!(id),
    }
    input
}

async fn act<P: Platform>(
    p: &Audited<'_, P>,
    req: &Request,
    ui: Ui,
    id: &str,
    v: &Visit,
) -> Result<Response, Problem> {
    let form = Form(&v.form);
    let back = super::local(form.field("back"), "/admin/operations");
    let (op, input, then, done) = match ui {
        Ui::BuildShipment => (
            Op::CreateShipment,
            shipment_input(&form),
            back.clone(),
            "Parcel built.",
        ),
        Ui::ShipmentStatus => (
            Op::SetShipmentStatus,
            json!({ "status": form.field("status") }),
            back.clone(),
            "Parcel moved.",
        ),
        Ui::RetryStep => (
            Op::RetryAutomationStep,
            json!({}),
            back.clone(),
            "The step runs again.",
        ),
        Ui::FallbackStep => (
            Op::FallbackAutomationStep,
            json!({ "note": form.field("note") }),
            back.clone(),
            "Recorded as done by hand.",
        ),
        Ui::ResolveTask => (
            Op::ResolveOperatorTask,
            json!({}),
            back.clone(),
            "Task resolved.",
        ),
        Ui::CreateWebhook => {
            let types: Vec<&str> = form
                .field("event_types")
                .split([',', ' '])
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .collect();
            let mut input = json!({ "url": form.field("url") });
            if !types.is_empty() {
                input["event_types"] = json!(types);
            }
            (
                Op::CreateWebhookEndpoint,
                input,
                "/admin/webhooks".to_owned(),
                "",
            )
        }
        Ui::WebhookEnabled => (
            Op::UpdateWebhookEndpoint,
            json!({ "enabled": form.field("enabled") == "true" }),
            format!("/admin/webhooks/{id}"),
            "Saved.",
        ),
        Ui::ResendDelivery => (
            Op::ResendWebhookDelivery,
            json!({}),
            back.clone(),
            "Queued to be sent again.",
        ),
        _ => return Err(Problem::route_not_found()),
    };
    let call = Call { op, id, input };
    let key = idempotency_key(form.field("_idem"), &call);
    let answer = perform_as(p, &v.op.caller(), call, key.as_deref(), &req.request_id).await;
    Ok(match answer {
        // The secret is shown once, on this answer's page (never in a URL).
        Ok(r) if ui == Ui::CreateWebhook => {
            let created: Value = serde_json::from_slice(&r.body).unwrap_or_default();
            let list = lading_core::outbound::endpoints::list(p, &v.op.store_id).await?;
            let mut pg = v.page(req, "Webhooks", "webhooks");
            pg.notice = Some("Endpoint added. Copy its signing secret now: it is shown once.");
            html(
                200,
                pages::webhooks_created(&pg, &list, created["secret"].as_str().unwrap_or("")),
            )
        }
        Ok(_) => redirect(&with_flash(&then, "notice", done)),
        Err(pr) => redirect(&with_flash(&back, "error", &problem_text(&pr))),
    })
}
