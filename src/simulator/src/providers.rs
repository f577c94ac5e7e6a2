//! Printful, Prodigi, Gooten and Gelato, as `shared/PROVIDERS.md` describes them, each under
//! its own prefix (`/printful`, `/prodigi/v4.0`, `/gooten`, `/gelato`), with their
//! idempotency behaviour:
//! - Printful: `external_id` is unique; a second create answers 400; `GET /orders/@{id}`.
//! - Prodigi: the same `idempotencyKey` answers `AlreadyExists` with the first order.
//! - Gooten: `SourceId` with `IsPartnerSourceIdUnique` answers the existing order's `Id`.
//! - Gelato: `orderReferenceId` is stored; a repeat makes a second order (as Gelato does).
//!
//! Controls:
//! - `POST /__control/providers/{provider}/orders/{id}/advance`
//!   `{"to": "in_production"|"shipped"|"partially_shipped"|"delivered"|"failed"|"cancelled", "reason"?}`
//!   moves an order and sends that provider's webhook (Printful: `?secret=` in the URL;
//!   Prodigi: a CloudEvent with `X-Prodigi-Signature` = hex HMAC-SHA256 of the body; Gelato:
//!   `?secret=`); Gooten sends nothing (it is polled).
//! - `POST /__control/providers/webhooks` `{"base_url", "secret"}`: where webhooks go
//!   (`{base_url}/{provider}`) and the secret they carry.
//! - `POST /__control/providers/delivery` `{"drop_next": N}`: lose the next N webhooks.
//! - `GET /__control/providers/{provider}/orders`: every order, for tests.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Clone)]
pub struct Providers(Arc<Mutex<Inner>>);

#[derive(Default)]
struct Inner {
    seq: u64,
    /// provider → order id → order (in the provider's own shape).
    orders: HashMap<&'static str, Vec<Value>>,
    webhook: Option<(String, String)>,
    drop_next: u32,
    deliveries: Vec<Value>,
}

impl Providers {
    pub fn new(webhook: Option<(String, String)>) -> Self {
        Providers(Arc::new(Mutex::new(Inner {
            webhook,
            ..Inner::default()
        })))
    }
}

impl Inner {
    fn next(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }
    fn list(&mut self, provider: &'static str) -> &mut Vec<Value> {
        self.orders.entry(provider).or_default()
    }
    fn find(&mut self, provider: &'static str, key: &str, value: &str) -> Option<&mut Value> {
        self.list(provider).iter_mut().find(|o| {
            o[key].as_str() == Some(value)
                || o[key].as_u64().map(|n| n.to_string()).as_deref() == Some(value)
        })
    }
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn reply(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

pub fn router(p: Providers) -> Router {
    Router::new()
        .route("/printful/orders", post(printful_create))
        .route(
            "/printful/orders/{id}",
            get(printful_get).delete(printful_cancel),
        )
        .route("/prodigi/v4.0/Orders", post(prodigi_create))
        .route("/prodigi/v4.0/orders/{id}", get(prodigi_get))
        .route(
            "/prodigi/v4.0/orders/{id}/actions/cancel",
            post(prodigi_cancel),
        )
        .route(
            "/gooten/api/v/5/source/api/orders/",
            post(gooten_create).get(gooten_get),
        )
        .route(
            "/gooten/api/v/5/source/api/orderstatus/",
            post(gooten_status),
        )
        .route("/gelato/v4/orders", post(gelato_create))
        .route("/gelato/v4/orders/{action}", post(gelato_action))
        .route("/__control/providers/webhooks", post(set_webhooks))
        .route("/__control/providers/delivery", post(set_delivery))
        .route("/__control/providers/deliveries", get(list_deliveries))
        .route("/__control/providers/{provider}/orders", get(list_orders))
        .route(
            "/__control/providers/{provider}/orders/{id}/advance",
            post(advance),
        )
        .with_state(p)
}

fn bearer_ok(h: &HeaderMap) -> bool {
    h.get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer ") && v.len() > 7)
}

fn header_ok(h: &HeaderMap, name: &str) -> bool {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| !v.is_empty())
}

// ---- Printful ----

fn printful_auth(h: &HeaderMap) -> Result<(), Response> {
    if bearer_ok(h) {
        Ok(())
    } else {
        Err(printful_error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Missing or invalid access token",
        ))
    }
}

fn printful_error(status: StatusCode, reason: &str, message: &str) -> Response {
    reply(
        status,
        json!({ "code": status.as_u16(), "result": message, "error": { "reason": reason, "message": message } }),
    )
}

async fn printful_create(AxState(s): AxState<Providers>, h: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = printful_auth(&h) {
        return r;
    }
    let Ok(b) = serde_json::from_slice::<Value>(&body) else {
        return printful_error(StatusCode::BAD_REQUEST, "BadRequest", "Invalid JSON");
    };
    let items = b["items"].as_array().cloned().unwrap_or_default();
    if b["recipient"]["country_code"]
        .as_str()
        .is_none_or(str::is_empty)
        || b["recipient"]["address1"]
            .as_str()
            .is_none_or(str::is_empty)
    {
        return printful_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Recipient address is incomplete",
        );
    }
    if items.is_empty()
        || items
            .iter()
            .any(|i| i["variant_id"].is_null() || i["variant_id"] == "")
    {
        return printful_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Item variant_id is missing",
        );
    }
    let mut inner = s.0.lock().expect("lock");
    let external = b["external_id"].as_str().unwrap_or_default().to_owned();
    if !external.is_empty() && inner.find("printful", "external_id", &external).is_some() {
        return printful_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("Order with external_id {external} already exists"),
        );
    }
    let id = 10_000 + inner.next();
    // Production cost: 9.50 per piece.
    let total = 9.5
        * items
            .iter()
            .map(|i| i["quantity"].as_f64().unwrap_or(1.0))
            .sum::<f64>();
    let items: Vec<Value> = items
        .iter()
        .enumerate()
        .map(|(k, i)| {
            json!({ "id": id * 100 + k as u64, "external_id": i["external_id"], "variant_id": i["variant_id"], "quantity": i["quantity"],
                    "name": i["name"], "retail_price": i["retail_price"], "files": i["files"] })
        })
        .collect();
    let order = json!({ "id": id, "external_id": external, "status": "pending", "recipient": b["recipient"], "items": items,
        "shipments": [], "costs": { "total": format!("{total:.2}"), "currency": "USD" }, "created": now_s() });
    inner.list("printful").push(order.clone());
    reply(StatusCode::OK, json!({ "code": 200, "result": order }))
}

async fn printful_get(
    AxState(s): AxState<Providers>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = printful_auth(&h) {
        return r;
    }
    let mut inner = s.0.lock().expect("lock");
    let found = match id.strip_prefix('@') {
        Some(ext) => inner.find("printful", "external_id", ext).cloned(),
        None => inner.find("printful", "id", &id).cloned(),
    };
    match found {
        Some(o) => reply(StatusCode::OK, json!({ "code": 200, "result": o })),
        None => printful_error(StatusCode::NOT_FOUND, "NotFound", "Order not found"),
    }
}

async fn printful_cancel(
    AxState(s): AxState<Providers>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = printful_auth(&h) {
        return r;
    }
    let mut inner = s.0.lock().expect("lock");
    let Some(o) = inner.find("printful", "id", &id) else {
        return printful_error(StatusCode::NOT_FOUND, "NotFound", "Order not found");
    };
    if !["draft", "pending", "failed", "onhold"].contains(&o["status"].as_str().unwrap_or("")) {
        return printful_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Order is already in process and cannot be canceled",
        );
    }
    o["status"] = json!("canceled");
    let o = o.clone();
    reply(StatusCode::OK, json!({ "code": 200, "result": o }))
}

// ---- Prodigi ----

async fn prodigi_create(AxState(s): AxState<Providers>, h: HeaderMap, body: Bytes) -> Response {
    if !header_ok(&h, "x-api-key") {
        return reply(
            StatusCode::UNAUTHORIZED,
            json!({ "statusCode": 401, "outcome": "NotAuthenticated" }),
        );
    }
    let json_ct = h
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"));
    if !json_ct {
        return reply(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            json!({ "statusCode": 415, "outcome": "UnsupportedMediaType" }),
        );
    }
    let Ok(b) = serde_json::from_slice::<Value>(&body) else {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({ "statusCode": 400, "outcome": "ValidationFailed", "failures": { "body": [{ "code": "InvalidJson" }] } }),
        );
    };
    let mut inner = s.0.lock().expect("lock");
    if let Some(key) = b["idempotencyKey"].as_str() {
        if let Some(existing) = inner.find("prodigi", "idempotencyKey", key) {
            let order = existing["order"].clone();
            return reply(
                StatusCode::OK,
                json!({ "outcome": "AlreadyExists", "order": order, "traceParent": "00-sim" }),
            );
        }
    }
    let addr = &b["recipient"]["address"];
    let mut failures = serde_json::Map::new();
    for f in ["line1", "postalOrZipCode", "countryCode", "townOrCity"] {
        if addr[f].as_str().is_none_or(str::is_empty) {
            failures.insert(
                format!("recipient.address.{f}"),
                json!([{ "code": "NotValid", "value": addr[f] }]),
            );
        }
    }
    let items = b["items"].as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        failures.insert("items".into(), json!([{ "code": "MustNotBeEmpty" }]));
    }
    if !failures.is_empty() {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({ "statusCode": 400, "outcome": "ValidationFailed", "failures": failures }),
        );
    }
    let n = inner.next();
    let id = format!("ord_{}", 800_000 + n);
    let items: Vec<Value> = items
        .iter()
        .enumerate()
        .map(|(k, i)| json!({ "id": format!("ori_{}_{k}", 800_000 + n), "merchantReference": i["merchantReference"], "sku": i["sku"],
                               "copies": i["copies"], "status": "Ok", "assets": i["assets"] }))
        .collect();
    let order = json!({ "id": id, "created": now_s(), "merchantReference": b["merchantReference"], "shippingMethod": b["shippingMethod"],
        "idempotencyKey": b["idempotencyKey"], "callbackUrl": b["callbackUrl"], "recipient": b["recipient"], "items": items, "shipments": [],
        "status": { "stage": "InProgress", "issues": [], "details": { "downloadAssets": "NotStarted", "printReadyAssetsPrepared": "NotStarted",
            "allocateProductionLocation": "NotStarted", "inProduction": "NotStarted", "shipping": "NotStarted" } } });
    inner
        .list("prodigi")
        .push(json!({ "id": id, "idempotencyKey": b["idempotencyKey"], "order": order }));
    reply(
        StatusCode::OK,
        json!({ "outcome": "Created", "order": order, "traceParent": "00-sim" }),
    )
}

async fn prodigi_get(
    AxState(s): AxState<Providers>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !header_ok(&h, "x-api-key") {
        return reply(
            StatusCode::UNAUTHORIZED,
            json!({ "statusCode": 401, "outcome": "NotAuthenticated" }),
        );
    }
    match s.0.lock().expect("lock").find("prodigi", "id", &id) {
        Some(o) => reply(
            StatusCode::OK,
            json!({ "outcome": "Ok", "order": o["order"] }),
        ),
        None => reply(
            StatusCode::NOT_FOUND,
            json!({ "statusCode": 404, "outcome": "EntityNotFound" }),
        ),
    }
}

async fn prodigi_cancel(
    AxState(s): AxState<Providers>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !header_ok(&h, "x-api-key") {
        return reply(
            StatusCode::UNAUTHORIZED,
            json!({ "statusCode": 401, "outcome": "NotAuthenticated" }),
        );
    }
    let mut inner = s.0.lock().expect("lock");
    let Some(o) = inner.find("prodigi", "id", &id) else {
        return reply(
            StatusCode::NOT_FOUND,
            json!({ "statusCode": 404, "outcome": "EntityNotFound" }),
        );
    };
    let in_production = o["order"]["status"]["details"]["inProduction"] != "NotStarted";
    if in_production || o["order"]["status"]["stage"] != "InProgress" {
        return reply(
            StatusCode::OK,
            json!({ "outcome": "FailedToCancel", "order": o["order"] }),
        );
    }
    o["order"]["status"]["stage"] = json!("Cancelled");
    reply(
        StatusCode::OK,
        json!({ "outcome": "Cancelled", "order": o["order"] }),
    )
}

// ---- Gooten ----

#[derive(Deserialize)]
struct GootenQuery {
    recipeid: Option<String>,
    id: Option<String>,
}

fn gooten_error(message: &str) -> Response {
    reply(
        StatusCode::BAD_REQUEST,
        json!({ "HadError": true, "Errors": [{ "ErrorMessage": message, "PropertyName": null }] }),
    )
}

async fn gooten_create(
    AxState(s): AxState<Providers>,
    Query(q): Query<GootenQuery>,
    body: Bytes,
) -> Response {
    if q.recipeid.as_deref().is_none_or(str::is_empty) {
        return reply(
            StatusCode::UNAUTHORIZED,
            json!({ "HadError": true, "Errors": [{ "ErrorMessage": "recipeid is required" }] }),
        );
    }
    let Ok(b) = serde_json::from_slice::<Value>(&body) else {
        return gooten_error("Invalid JSON");
    };
    if b["Payment"]["PartnerBillingKey"]
        .as_str()
        .is_none_or(str::is_empty)
    {
        return gooten_error("Payment.PartnerBillingKey is required");
    }
    let a = &b["ShipToAddress"];
    if a["CountryCode"].as_str().is_none_or(str::is_empty)
        || a["Line1"].as_str().is_none_or(str::is_empty)
    {
        return gooten_error("ShipToAddress is incomplete");
    }
    let items = b["Items"].as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        return gooten_error("Items must not be empty");
    }
    let mut inner = s.0.lock().expect("lock");
    let source = b["SourceId"].as_str().unwrap_or_default().to_owned();
    if b["IsPartnerSourceIdUnique"] == true && !source.is_empty() {
        if let Some(existing) = inner.find("gooten", "SourceId", &source) {
            let id = existing["Id"].clone();
            return reply(StatusCode::CREATED, json!({ "Id": id }));
        }
    }
    let n = inner.next();
    let id = format!("{}", 7_000_000 + n);
    let items: Vec<Value> = items
        .iter()
        .map(|i| json!({ "SourceId": i["SourceId"], "Sku": i["SKU"], "Quantity": i["Quantity"], "Status": "New",
                          "TrackingNumber": null, "TrackingUrl": null, "ShipCarrierName": null }))
        .collect();
    inner.list("gooten").push(json!({ "Id": id, "NiceId": format!("SIM-{n}"), "SourceId": source, "Items": items, "ShipToAddress": b["ShipToAddress"] }));
    reply(StatusCode::CREATED, json!({ "Id": id }))
}

async fn gooten_get(AxState(s): AxState<Providers>, Query(q): Query<GootenQuery>) -> Response {
    if q.recipeid.as_deref().is_none_or(str::is_empty) {
        return reply(
            StatusCode::UNAUTHORIZED,
            json!({ "HadError": true, "Errors": [{ "ErrorMessage": "recipeid is required" }] }),
        );
    }
    match s
        .0
        .lock()
        .expect("lock")
        .find("gooten", "Id", q.id.as_deref().unwrap_or_default())
    {
        Some(o) => reply(StatusCode::OK, o.clone()),
        None => reply(
            StatusCode::NOT_FOUND,
            json!({ "HadError": true, "Errors": [{ "ErrorMessage": "Order not found" }] }),
        ),
    }
}

#[derive(Deserialize)]
struct GootenStatusQuery {
    id: Option<String>,
    #[serde(rename = "partnerBillingKey")]
    partner_billing_key: Option<String>,
}

/// `POST /orderstatus/?id=&partnerBillingKey=` `{orderStatusName: Cancelled|Hold}`: refused
/// once anything is in production.
async fn gooten_status(
    AxState(s): AxState<Providers>,
    Query(q): Query<GootenStatusQuery>,
    body: Bytes,
) -> Response {
    if q.partner_billing_key.as_deref().is_none_or(str::is_empty) {
        return gooten_error("partnerBillingKey is required");
    }
    let wanted = serde_json::from_slice::<Value>(&body).unwrap_or_default()["orderStatusName"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut inner = s.0.lock().expect("lock");
    let Some(o) = inner.find("gooten", "Id", q.id.as_deref().unwrap_or_default()) else {
        return gooten_error("Order not found");
    };
    let started = o["Items"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|i| !["New", "Pending", "Hold"].contains(&i["Status"].as_str().unwrap_or("")));
    if started {
        return reply(
            StatusCode::OK,
            json!({ "HadError": true, "Errors": [{ "ErrorMessage": "Order is already in production and cannot be changed" }] }),
        );
    }
    let status = if wanted == "Hold" {
        "Hold"
    } else {
        "Cancelled"
    };
    for item in o["Items"].as_array_mut().into_iter().flatten() {
        item["Status"] = json!(status);
    }
    reply(StatusCode::OK, json!({ "HadError": false }))
}

// ---- Gelato ----

/// `POST /v4/orders/{id}:cancel`: 409 once printed.
async fn gelato_action(
    AxState(s): AxState<Providers>,
    h: HeaderMap,
    Path(action): Path<String>,
) -> Response {
    if !header_ok(&h, "x-api-key") {
        return reply(
            StatusCode::UNAUTHORIZED,
            json!({ "code": "unauthorized", "message": "Invalid API key" }),
        );
    }
    let Some(id) = action.strip_suffix(":cancel") else {
        return reply(
            StatusCode::NOT_FOUND,
            json!({ "code": "not_found", "message": "Unknown action" }),
        );
    };
    let mut inner = s.0.lock().expect("lock");
    let Some(o) = inner.find("gelato", "id", id) else {
        return reply(
            StatusCode::NOT_FOUND,
            json!({ "code": "not_found", "message": "Order not found" }),
        );
    };
    if !["created", "passed"].contains(&o["fulfillmentStatus"].as_str().unwrap_or("")) {
        return reply(
            StatusCode::CONFLICT,
            json!({ "code": "conflict", "message": "Order is already printed and cannot be canceled" }),
        );
    }
    o["fulfillmentStatus"] = json!("canceled");
    reply(StatusCode::OK, o.clone())
}

async fn gelato_create(AxState(s): AxState<Providers>, h: HeaderMap, body: Bytes) -> Response {
    if !header_ok(&h, "x-api-key") {
        return reply(
            StatusCode::UNAUTHORIZED,
            json!({ "code": "unauthorized", "message": "Invalid API key" }),
        );
    }
    let Ok(b) = serde_json::from_slice::<Value>(&body) else {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({ "code": "invalid_request", "message": "Invalid JSON" }),
        );
    };
    let items = b["items"].as_array().cloned().unwrap_or_default();
    if items.is_empty()
        || b["shippingAddress"]["country"]
            .as_str()
            .is_none_or(str::is_empty)
    {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({ "code": "invalid_request", "message": "items and shippingAddress.country are required" }),
        );
    }
    let mut inner = s.0.lock().expect("lock");
    let n = inner.next();
    let id = format!("a6a1f9c5-0000-4000-8000-{n:012}");
    let items: Vec<Value> = items
        .iter()
        .map(|i| json!({ "itemReferenceId": i["itemReferenceId"], "productUid": i["productUid"], "quantity": i["quantity"],
                          "fulfillmentStatus": "created", "fulfillments": [] }))
        .collect();
    let order = json!({ "id": id, "orderReferenceId": b["orderReferenceId"], "customerReferenceId": b["customerReferenceId"],
        "fulfillmentStatus": "created", "currency": b["currency"], "items": items });
    inner.list("gelato").push(order.clone());
    reply(StatusCode::OK, order)
}

// ---- controls ----

#[derive(Deserialize)]
struct WebhookConfig {
    base_url: String,
    secret: String,
}

async fn set_webhooks(AxState(s): AxState<Providers>, Json(c): Json<WebhookConfig>) -> Response {
    s.0.lock().expect("lock").webhook = Some((c.base_url.clone(), c.secret));
    reply(StatusCode::OK, json!({ "base_url": c.base_url }))
}

#[derive(Deserialize)]
struct Delivery {
    drop_next: u32,
}

async fn set_delivery(AxState(s): AxState<Providers>, Json(d): Json<Delivery>) -> Response {
    s.0.lock().expect("lock").drop_next = d.drop_next;
    reply(StatusCode::OK, json!({ "drop_next": d.drop_next }))
}

async fn list_deliveries(AxState(s): AxState<Providers>) -> Response {
    reply(
        StatusCode::OK,
        json!({ "data": s.0.lock().expect("lock").deliveries }),
    )
}

fn provider_name(p: &str) -> Option<&'static str> {
    ["printful", "prodigi", "gooten", "gelato"]
        .into_iter()
        .find(|x| *x == p)
}

async fn list_orders(AxState(s): AxState<Providers>, Path(provider): Path<String>) -> Response {
    let Some(name) = provider_name(&provider) else {
        return reply(
            StatusCode::NOT_FOUND,
            json!({ "error": "unknown provider" }),
        );
    };
    let orders = s.0.lock().expect("lock").list(name).clone();
    reply(StatusCode::OK, json!({ "data": orders }))
}

#[derive(Deserialize)]
struct Advance {
    to: String,
    reason: Option<String>,
}

/// Moves an order and builds the webhook that provider would send (none for Gooten).
async fn advance(
    AxState(s): AxState<Providers>,
    Path((provider, id)): Path<(String, String)>,
    Json(a): Json<Advance>,
) -> Response {
    let Some(name) = provider_name(&provider) else {
        return reply(
            StatusCode::NOT_FOUND,
            json!({ "error": "unknown provider" }),
        );
    };
    let valid = [
        "in_production",
        "shipped",
        "partially_shipped",
        "delivered",
        "failed",
        "cancelled",
    ];
    if !valid.contains(&a.to.as_str()) {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({ "error": format!("to must be one of {valid:?}") }),
        );
    }
    let mut inner = s.0.lock().expect("lock");
    let n = inner.next();
    let key = if name == "gooten" { "Id" } else { "id" };
    let Some(order) = inner.find(name, key, &id) else {
        return reply(StatusCode::NOT_FOUND, json!({ "error": "no such order" }));
    };
    let tracking = format!("SIM{:010}", n);
    let webhook = match name {
        "printful" => Some(printful_advance(order, &a, n, &tracking)),
        "prodigi" => Some(prodigi_advance(order, &a, n, &tracking)),
        "gelato" => Some(gelato_advance(order, &a, n, &tracking)),
        _ => {
            gooten_advance(order, &a, &tracking);
            None
        }
    };
    let snapshot = order.clone();
    drop(inner);
    if let Some(body) = webhook {
        deliver(s.clone(), name, body);
    }
    reply(StatusCode::OK, snapshot)
}

fn printful_advance(o: &mut Value, a: &Advance, n: u64, tracking: &str) -> Value {
    let all: Vec<Value> = o["items"].as_array().cloned().unwrap_or_default();
    let (kind, status) = match a.to.as_str() {
        "in_production" => ("order_updated", "inprocess"),
        "shipped" | "delivered" => ("package_shipped", "fulfilled"),
        "partially_shipped" => ("package_shipped", "partial"),
        "failed" => ("order_failed", "failed"),
        _ => ("order_canceled", "canceled"),
    };
    o["status"] = json!(status);
    let mut data = json!({ "order": o.clone() });
    if kind == "package_shipped" {
        let items: Vec<Value> = if a.to == "partially_shipped" {
            all.into_iter().take(1).collect()
        } else {
            all
        };
        let shipment = json!({ "id": 30_000 + n, "carrier": "USPS", "service": "USPS First Class Mail", "tracking_number": tracking,
            "tracking_url": format!("https://tools.usps.com/go/TrackConfirmAction?tLabels={tracking}"), "ship_date": "2026-11-21",
            "items": items.iter().map(|i| json!({ "item_id": i["id"], "quantity": i["quantity"] })).collect::<Vec<_>>() });
        o["shipments"]
            .as_array_mut()
            .expect("array")
            .push(shipment.clone());
        data = json!({ "order": o.clone(), "shipment": shipment });
    }
    if let Some(r) = &a.reason {
        data["reason"] = json!(r);
    }
    json!({ "type": kind, "created": now_s() * 1000 + n, "retries": 0, "store": 77, "data": data })
}

fn prodigi_advance(o: &mut Value, a: &Advance, n: u64, tracking: &str) -> Value {
    let order = &mut o["order"];
    let stage = match a.to.as_str() {
        "in_production" => {
            order["status"]["details"]["inProduction"] = json!("InProgress");
            "InProgress"
        }
        "cancelled" | "failed" => {
            order["status"]["stage"] = json!("Cancelled");
            "Cancelled"
        }
        _ => {
            let all: Vec<Value> = order["items"].as_array().cloned().unwrap_or_default();
            let items: Vec<Value> = if a.to == "partially_shipped" {
                all.into_iter().take(1).collect()
            } else {
                all
            };
            order["status"]["details"]["inProduction"] = json!("Complete");
            let shipment = json!({ "id": format!("shp_{}", 900_000 + n), "status": "Shipped", "carrier": { "name": "Royal Mail", "service": "Tracked 48" },
                "tracking": { "number": tracking, "url": format!("https://www.royalmail.com/track-your-item#/tracking-results/{tracking}") },
                "dispatchDate": "2026-11-21T12:00:00Z", "items": items.iter().map(|i| json!({ "itemId": i["id"] })).collect::<Vec<_>>() });
            order["shipments"]
                .as_array_mut()
                .expect("array")
                .push(shipment);
            if a.to == "partially_shipped" {
                "InProgress"
            } else {
                order["status"]["stage"] = json!("Complete");
                order["status"]["details"]["shipping"] = json!("Complete");
                "Complete"
            }
        }
    };
    json!({ "specversion": "1.0", "type": format!("com.prodigi.order.status.stage.changed#{stage}"), "source": "http://api.prodigi.com/v4.0/Orders/",
        "id": format!("evt_{}", 500_000 + n), "time": "2026-11-21T12:00:00Z", "datacontenttype": "application/json",
        "subject": order["id"], "data": { "order": order.clone() } })
}

fn gelato_advance(o: &mut Value, a: &Advance, n: u64, tracking: &str) -> Value {
    let status = match a.to.as_str() {
        "in_production" => "in_production",
        "shipped" | "partially_shipped" => "shipped",
        "delivered" => "delivered",
        "failed" => "failed",
        _ => "canceled",
    };
    let partial = a.to == "partially_shipped";
    if let Some(items) = o["items"].as_array_mut() {
        for (k, item) in items.iter_mut().enumerate() {
            if partial && k > 0 {
                continue;
            }
            item["fulfillmentStatus"] = json!(status);
            if matches!(status, "shipped" | "delivered")
                && item["fulfillments"].as_array().is_some_and(Vec::is_empty)
            {
                item["fulfillments"] = json!([{ "trackingCode": tracking, "trackingUrl": format!("https://track.gelato.test/{tracking}"), "shipmentMethodName": "DHL Parcel" }]);
            }
        }
    }
    o["fulfillmentStatus"] = json!(if partial { "in_production" } else { status });
    json!({ "id": format!("os_{}", 600_000 + n), "event": "order_status_updated", "orderId": o["id"], "orderReferenceId": o["orderReferenceId"],
        "fulfillmentStatus": o["fulfillmentStatus"], "items": o["items"] })
}

fn gooten_advance(o: &mut Value, a: &Advance, tracking: &str) {
    let status = match a.to.as_str() {
        "in_production" => "In Production",
        "shipped" | "partially_shipped" => "Shipped",
        "delivered" => "Delivered",
        "failed" => "Image Issue",
        _ => "Cancelled",
    };
    if let Some(items) = o["Items"].as_array_mut() {
        for (k, item) in items.iter_mut().enumerate() {
            if a.to == "partially_shipped" && k > 0 {
                continue;
            }
            item["Status"] = json!(status);
            if matches!(status, "Shipped" | "Delivered") {
                item["TrackingNumber"] = json!(tracking);
                item["TrackingUrl"] =
                    json!(format!("https://www.ups.com/track?tracknum={tracking}"));
                item["ShipCarrierName"] = json!("UPS");
            }
        }
    }
}

/// Sends a provider webhook in the background, as that provider signs it; retried a few
/// times on failure (providers retry for hours; here, seconds).
fn deliver(s: Providers, provider: &'static str, body: Value) {
    let target = {
        let mut inner = s.0.lock().expect("lock");
        if inner.drop_next > 0 {
            inner.drop_next -= 1;
            inner
                .deliveries
                .push(json!({ "provider": provider, "outcome": "dropped" }));
            return;
        }
        inner.webhook.clone()
    };
    let Some((base, secret)) = target else { return };
    let payload = serde_json::to_vec(&body).expect("JSON");
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        // Prodigi signs the body; Printful and Gelato carry the secret in the URL.
        let url = match provider {
            "prodigi" => format!("{}/prodigi", base.trim_end_matches('/')),
            _ => format!("{}/{provider}?secret={secret}", base.trim_end_matches('/')),
        };
        for attempt in 1..=3u32 {
            let mut req = client
                .post(&url)
                .header("content-type", "application/json")
                .body(payload.clone());
            if provider == "prodigi" {
                let mut m =
                    Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
                m.update(&payload);
                req = req.header(
                    "x-prodigi-signature",
                    hex::encode(m.finalize().into_bytes()),
                );
            }
            let status = req
                .timeout(Duration::from_secs(10))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0);
            s.0.lock()
                .expect("lock")
                .deliveries
                .push(json!({ "provider": provider, "attempt": attempt, "status": status }));
            if (200..300).contains(&status) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300 * u64::from(attempt))).await;
        }
    });
}
