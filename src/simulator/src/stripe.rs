//! Stripe, as `shared/PROVIDERS.md` describes it: form-encoded bodies with bracketed keys,
//! `{"error":{…}}` errors, Idempotency-Key semantics (replay; other parameters → 400
//! `idempotency_error`; still running → 409), Checkout Sessions (`url` only while open),
//! PaymentIntents, Refunds, Events (newest first, `created[gte]`, `starting_after`) and
//! webhook delivery signed with `Stripe-Signature` v1.
//!
//! Control API (JSON) to drive scenarios:
//! - `POST /__control/stripe/webhook` `{url, secret}`: where events are delivered
//! - `POST /__control/stripe/checkout_sessions/{id}/pay` `{email?, name?, amount_discount?, promotion_code?, amount_tax?}`
//! - `POST /__control/stripe/checkout_sessions/{id}/decline`, `…/expire`
//! - `POST /__control/stripe/events/{id}/deliver` `{times?}`: deliver again, `times` at once
//! - `POST /__control/stripe/delivery` `{drop_next?, duplicate?, delay_ms?, fail_next_with?}`
//! - `GET /__control/stripe/deliveries`: every delivery attempt and its answer
//! - `GET /__control/stripe/promotion_codes`: every promotion code, with its coupon
//! - `GET /__control/stripe/prices`: every Price, oldest first, and every Product
//! - `POST /__control/stripe/faults` `{prices_5xx}`: answer the next Price creations with 500
//!
//! Products and Prices follow Stripe's rules: a Price's amount never changes (update takes
//! only `active`, `lookup_key`, `transfer_lookup_key`, `metadata`, `nickname`), lookup keys
//! are unique (`transfer_lookup_key=true` moves one), a Product id given by the caller is
//! refused when taken (`resource_already_exists`), and Checkout Session lines may name an
//! active `price` instead of `price_data`.
//!
//! The hosted page `GET /checkout/{id}` has Pay and Decline buttons.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Clone)]
pub struct Stripe(Arc<Mutex<Inner>>);

struct Inner {
    base_url: String,
    seq: u64,
    sessions: HashMap<String, Value>,
    intents: HashMap<String, Value>,
    charges: HashMap<String, Value>,
    refunds: HashMap<String, Value>,
    coupons: HashMap<String, Value>,
    promotion_codes: HashMap<String, Value>,
    products: HashMap<String, Value>,
    prices: HashMap<String, Value>,
    /// Price creations still to answer with a 500 (`/__control/stripe/faults`), kept under
    /// their Idempotency-Key as Stripe does.
    fail_prices: u32,
    /// Oldest first.
    events: Vec<Value>,
    idempotency: HashMap<(String, String), Saved>,
    webhook: Option<(String, String)>,
    delivery: DeliveryFaults,
    deliveries: Vec<Value>,
}

#[derive(Default, Deserialize, Clone)]
struct DeliveryFaults {
    #[serde(default)]
    drop_next: u32,
    #[serde(default)]
    duplicate: u32,
    #[serde(default)]
    delay_ms: u64,
}

enum Saved {
    Running {
        params: String,
    },
    Done {
        params: String,
        status: u16,
        body: Value,
    },
}

fn now_s() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn error(
    status: StatusCode,
    kind: &str,
    code: &str,
    message: &str,
    param: Option<&str>,
) -> (StatusCode, Value) {
    (
        status,
        json!({ "error": { "type": kind, "code": code, "message": message, "param": param } }),
    )
}

fn invalid(message: &str, param: &str) -> (StatusCode, Value) {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        "parameter_invalid",
        message,
        Some(param),
    )
}

fn unexpected_state(message: &str) -> (StatusCode, Value) {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        "payment_intent_unexpected_state",
        message,
        None,
    )
}

fn missing(param: &str) -> (StatusCode, Value) {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        "parameter_missing",
        &format!("Missing required param: {param}."),
        Some(param),
    )
}

fn not_found(kind: &str, id: &str) -> (StatusCode, Value) {
    error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "resource_missing",
        &format!("No such {kind}: '{id}'"),
        Some("id"),
    )
}

/// `a[b][0][c]=v` pairs → nested JSON (arrays where every key is an index), values as strings.
pub fn decode_form(body: &[u8]) -> Value {
    let mut root = Value::Object(Map::new());
    for (k, v) in form_urlencoded::parse(body) {
        let (head, rest) = k.split_once('[').unwrap_or((k.as_ref(), ""));
        let mut path = vec![head.to_owned()];
        if !rest.is_empty() {
            path.extend(
                rest.split('[')
                    .map(|seg| seg.trim_end_matches(']').to_owned()),
            );
        }
        insert(&mut root, &path, v.into_owned());
    }
    arrays(root)
}

fn insert(node: &mut Value, path: &[String], value: String) {
    if !node.is_object() {
        *node = Value::Object(Map::new());
    }
    let obj = node.as_object_mut().expect("made an object above");
    match path {
        [] => {}
        [last] => {
            obj.insert(last.clone(), Value::String(value));
        }
        [first, rest @ ..] => insert(obj.entry(first.clone()).or_insert(Value::Null), rest, value),
    }
}

fn arrays(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let all_idx = !m.is_empty() && m.keys().all(|k| k.parse::<usize>().is_ok());
            if all_idx {
                let mut items: Vec<(usize, Value)> = m
                    .into_iter()
                    .map(|(k, v)| (k.parse().unwrap_or(0), arrays(v)))
                    .collect();
                items.sort_by_key(|(i, _)| *i);
                Value::Array(items.into_iter().map(|(_, v)| v).collect())
            } else {
                Value::Object(m.into_iter().map(|(k, v)| (k, arrays(v))).collect())
            }
        }
        other => other,
    }
}

fn int(v: &Value) -> Option<i64> {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| v.as_i64())
}

impl Stripe {
    pub fn new(base_url: String, webhook: Option<(String, String)>) -> Self {
        Stripe(Arc::new(Mutex::new(Inner {
            base_url,
            seq: 0,
            sessions: HashMap::new(),
            intents: HashMap::new(),
            charges: HashMap::new(),
            refunds: HashMap::new(),
            coupons: HashMap::new(),
            promotion_codes: HashMap::new(),
            products: HashMap::new(),
            prices: HashMap::new(),
            fail_prices: 0,
            events: Vec::new(),
            idempotency: HashMap::new(),
            webhook,
            delivery: DeliveryFaults::default(),
            deliveries: Vec::new(),
        })))
    }
}

impl Inner {
    fn id(&mut self, prefix: &str) -> String {
        self.seq += 1;
        let mut h = Sha256::new();
        h.update(format!("{prefix}{}{}", self.seq, now_s()).as_bytes());
        format!(
            "{prefix}_sim{:06}{}",
            self.seq,
            &hex::encode(h.finalize())[..14]
        )
    }

    /// Records an event and returns it for delivery.
    fn event(&mut self, kind: &str, object: &Value) -> Value {
        let id = self.id("evt");
        let e = json!({
            "id": id, "object": "event", "api_version": "2024-06-20", "created": now_s(), "livemode": false,
            "pending_webhooks": 1, "type": kind, "request": { "id": null, "idempotency_key": null },
            "data": { "object": object },
        });
        self.events.push(e.clone());
        e
    }

    fn session_total(&self, s: &Value) -> i64 {
        s["amount_total"].as_i64().unwrap_or(0)
    }
}

pub fn router(stripe: Stripe) -> Router {
    Router::new()
        .route("/v1/checkout/sessions", post(create_session))
        .route("/v1/checkout/sessions/{id}", get(get_session))
        .route("/v1/checkout/sessions/{id}/expire", post(expire_session))
        .route(
            "/v1/checkout/sessions/{id}/line_items",
            get(session_line_items),
        )
        .route("/v1/payment_intents", post(create_intent))
        .route("/v1/payment_intents/{id}", get(get_intent))
        .route("/v1/payment_intents/{id}/confirm", post(confirm_intent))
        .route("/v1/payment_intents/{id}/cancel", post(cancel_intent))
        .route("/v1/refunds", post(create_refund))
        .route("/v1/events", get(list_events))
        .route("/v1/coupons", post(create_coupon))
        .route("/v1/promotion_codes", post(create_promotion_code))
        .route(
            "/v1/promotion_codes/{id}",
            post(update_promotion_code).get(get_promotion_code),
        )
        .route(
            "/__control/stripe/promotion_codes",
            get(list_promotion_codes),
        )
        .route("/v1/products", post(create_product))
        .route("/v1/products/{id}", get(get_product))
        .route("/v1/prices", post(create_price).get(list_prices))
        .route("/v1/prices/{id}", post(update_price).get(get_price))
        .route("/__control/stripe/prices", get(all_prices))
        .route("/__control/stripe/faults", post(set_faults))
        .route("/checkout/{id}", get(hosted_page))
        .route("/checkout/{id}/pay", post(hosted_pay))
        .route("/checkout/{id}/decline", post(hosted_decline))
        .route("/__control/stripe/webhook", post(set_webhook))
        .route("/__control/stripe/delivery", post(set_delivery))
        .route("/__control/stripe/deliveries", get(list_deliveries))
        .route(
            "/__control/stripe/checkout_sessions/{id}/pay",
            post(control_pay),
        )
        .route(
            "/__control/stripe/checkout_sessions/{id}/decline",
            post(control_decline),
        )
        .route(
            "/__control/stripe/checkout_sessions/{id}/expire",
            post(control_expire),
        )
        .route("/__control/stripe/events/{id}/deliver", post(redeliver))
        .with_state(stripe)
}

fn authorized(headers: &HeaderMap) -> Result<(), (StatusCode, Value)> {
    let ok = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|k| k.starts_with("sk_"));
    if ok {
        Ok(())
    } else {
        Err(error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "api_key_invalid",
            "Invalid API Key provided.",
            None,
        ))
    }
}

fn reply((status, body): (StatusCode, Value)) -> Response {
    (status, Json(body)).into_response()
}

/// Runs a POST under Stripe's Idempotency-Key rules.
fn idempotent(
    stripe: &Stripe,
    headers: &HeaderMap,
    body: &Bytes,
    run: impl FnOnce(&mut Inner, Value) -> ((StatusCode, Value), Vec<Value>),
) -> Response {
    if let Err(e) = authorized(headers) {
        return reply(e);
    }
    let params = hex::encode(Sha256::digest(body));
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let api_key = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if let Some(k) = &key {
        if k.len() > 255 {
            return reply(invalid(
                "Idempotency-Key must be at most 255 characters.",
                "Idempotency-Key",
            ));
        }
        let mut inner = stripe.0.lock().expect("lock");
        let reused = || {
            reply(error(
                StatusCode::BAD_REQUEST,
                "idempotency_error",
                "idempotency_key_reused",
                "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                None,
            ))
        };
        match inner.idempotency.get(&(api_key.clone(), k.clone())) {
            Some(Saved::Done {
                params: p,
                status,
                body,
            }) if *p == params => {
                let mut r = (
                    StatusCode::from_u16(*status).unwrap_or(StatusCode::OK),
                    Json(body.clone()),
                )
                    .into_response();
                r.headers_mut()
                    .insert("idempotent-replayed", "true".parse().expect("header"));
                return r;
            }
            Some(Saved::Done { .. }) => return reused(),
            Some(Saved::Running { params: p }) if *p != params => return reused(),
            Some(Saved::Running { .. }) => {
                return reply(error(
                    StatusCode::CONFLICT,
                    "idempotency_error",
                    "idempotency_key_in_use",
                    "There is currently another in-progress request using this Idempotent Key.",
                    None,
                ));
            }
            None => {}
        }
        inner.idempotency.insert(
            (api_key.clone(), k.clone()),
            Saved::Running {
                params: params.clone(),
            },
        );
    }
    let form = decode_form(body);
    let ((status, out), events) = {
        let mut inner = stripe.0.lock().expect("lock");
        run(&mut inner, form)
    };
    if let Some(k) = key {
        let mut inner = stripe.0.lock().expect("lock");
        inner.idempotency.insert(
            (api_key, k),
            Saved::Done {
                params,
                status: status.as_u16(),
                body: out.clone(),
            },
        );
    }
    for e in events {
        deliver(stripe.clone(), e, None);
    }
    reply((status, out))
}

async fn create_session(AxState(s): AxState<Stripe>, headers: HeaderMap, body: Bytes) -> Response {
    idempotent(&s, &headers, &body, |inner, f| {
        if f["mode"].as_str() != Some("payment") {
            return (invalid("Only mode=payment is simulated.", "mode"), vec![]);
        }
        for p in ["success_url", "cancel_url"] {
            if f[p].as_str().is_none() {
                return (missing(p), vec![]);
            }
        }
        let Some(items) = f["line_items"].as_array().filter(|a| !a.is_empty()) else {
            return (missing("line_items"), vec![]);
        };
        let mut subtotal = 0i64;
        let mut currency = None;
        let mut lines = Vec::new();
        for (i, li) in items.iter().enumerate() {
            // A line names an active Price, or gives its price inline.
            let named = match li["price"].as_str() {
                Some(pid) => match inner.prices.get(pid) {
                    Some(pr) if pr["active"] == json!(true) => Some(pr.clone()),
                    Some(_) => {
                        return (
                            invalid(
                                &format!(
                                    "The price specified ({pid}) is inactive. This field only accepts active prices."
                                ),
                                &format!("line_items[{i}][price]"),
                            ),
                            vec![],
                        );
                    }
                    None => return (not_found("price", pid), vec![]),
                },
                None => None,
            };
            let unit = match &named {
                Some(pr) => pr["unit_amount"].as_i64(),
                None => int(&li["price_data"]["unit_amount"]),
            };
            let (Some(q), Some(unit)) = (int(&li["quantity"]), unit) else {
                return (
                    missing(&format!("line_items[{i}][price_data][unit_amount]")),
                    vec![],
                );
            };
            let cur = match &named {
                Some(pr) => pr["currency"].as_str().unwrap_or("").to_owned(),
                None => li["price_data"]["currency"]
                    .as_str()
                    .unwrap_or("")
                    .to_lowercase(),
            };
            if currency.get_or_insert(cur.clone()) != &cur || cur.len() != 3 {
                return (
                    invalid(
                        "All line items must share one valid currency.",
                        &format!("line_items[{i}][price_data][currency]"),
                    ),
                    vec![],
                );
            }
            if let Some(pr) = named {
                subtotal += q * unit;
                let name = inner
                    .products
                    .get(pr["product"].as_str().unwrap_or(""))
                    .map(|p| p["name"].clone());
                lines.push(json!({
                    "id": format!("li_{i}"), "object": "item", "quantity": q, "amount_subtotal": q * unit, "amount_total": q * unit,
                    "currency": cur, "description": name, "price": public_price(&pr),
                }));
                continue;
            }
            subtotal += q * unit;
            lines.push(json!({
                "id": format!("li_{i}"), "object": "item", "quantity": q, "amount_subtotal": q * unit, "amount_total": q * unit,
                "currency": cur, "description": li["price_data"]["product_data"]["name"],
                "price": { "unit_amount": unit, "currency": cur, "product_data": li["price_data"]["product_data"] },
            }));
        }
        let shipping = f["shipping_options"][0]["shipping_rate_data"]["fixed_amount"]["amount"]
            .as_str()
            .and_then(|a| a.parse().ok())
            .unwrap_or(0i64);
        let expires_at = int(&f["expires_at"]).unwrap_or(now_s() + 24 * 3600);
        let age = expires_at - now_s();
        if !(1800 - 5..=24 * 3600 + 5).contains(&age) {
            return (
                invalid(
                    "expires_at must be between 30 minutes and 24 hours from now.",
                    "expires_at",
                ),
                vec![],
            );
        }
        let id = inner.id("cs_test");
        let session = json!({
            "id": id, "object": "checkout.session", "mode": "payment", "status": "open", "payment_status": "unpaid",
            "url": format!("{}/checkout/{id}", inner.base_url), "payment_intent": null, "customer": null, "customer_details": null,
            "collected_information": null, "amount_subtotal": subtotal, "amount_total": subtotal + shipping,
            "total_details": { "amount_discount": 0, "amount_shipping": shipping, "amount_tax": 0 },
            "currency": currency, "metadata": f.get("metadata").cloned().unwrap_or(json!({})),
            "client_reference_id": f["client_reference_id"], "success_url": f["success_url"], "cancel_url": f["cancel_url"],
            "allow_promotion_codes": f["allow_promotion_codes"].as_str() == Some("true"),
            "shipping_address_collection": f.get("shipping_address_collection").cloned(),
            "expires_at": expires_at, "created": now_s(), "livemode": false, "line_items_sim": lines,
        });
        inner.sessions.insert(id, session.clone());
        ((StatusCode::OK, public_session(&session)), vec![])
    })
}

/// The session as the API shows it (line items only through their own endpoint).
fn public_session(s: &Value) -> Value {
    let mut v = s.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("line_items_sim");
    }
    v
}

async fn get_session(
    AxState(s): AxState<Stripe>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(e) = authorized(&headers) {
        return reply(e);
    }
    let inner = s.0.lock().expect("lock");
    match inner.sessions.get(&id) {
        Some(sess) => reply((StatusCode::OK, public_session(sess))),
        None => reply(not_found("checkout.session", &id)),
    }
}

async fn session_line_items(
    AxState(s): AxState<Stripe>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(e) = authorized(&headers) {
        return reply(e);
    }
    let inner = s.0.lock().expect("lock");
    match inner.sessions.get(&id) {
        Some(sess) => reply((
            StatusCode::OK,
            json!({ "object": "list", "data": sess["line_items_sim"], "has_more": false, "url": format!("/v1/checkout/sessions/{id}/line_items") }),
        )),
        None => reply(not_found("checkout.session", &id)),
    }
}

fn expire(inner: &mut Inner, id: &str) -> ((StatusCode, Value), Vec<Value>) {
    let Some(sess) = inner.sessions.get_mut(id) else {
        return (not_found("checkout.session", id), vec![]);
    };
    if sess["status"] != "open" {
        return (
            invalid(
                "Only Checkout Sessions with a status of open can be expired.",
                "session",
            ),
            vec![],
        );
    }
    sess["status"] = json!("expired");
    sess["url"] = Value::Null;
    let snapshot = public_session(sess);
    let e = inner.event("checkout.session.expired", &snapshot);
    ((StatusCode::OK, snapshot), vec![e])
}

async fn expire_session(
    AxState(s): AxState<Stripe>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    idempotent(&s, &headers, &body, |inner, _| expire(inner, &id))
}

#[derive(Deserialize, Default)]
struct PayInput {
    email: Option<String>,
    name: Option<String>,
    amount_discount: Option<i64>,
    amount_tax: Option<i64>,
    promotion_code: Option<String>,
}

fn new_charge(inner: &mut Inner, pi: &str, amount: i64, currency: &Value) -> String {
    let id = inner.id("ch");
    inner.charges.insert(
        id.clone(),
        json!({ "id": id, "object": "charge", "amount": amount, "amount_refunded": 0, "refunded": false, "currency": currency, "payment_intent": pi, "status": "succeeded" }),
    );
    id
}

fn pay(inner: &mut Inner, id: &str, input: PayInput) -> ((StatusCode, Value), Vec<Value>) {
    let Some(sess) = inner.sessions.get(id).cloned() else {
        return (not_found("checkout.session", id), vec![]);
    };
    if sess["status"] != "open" {
        return (
            invalid("This Checkout Session is not open.", "session"),
            vec![],
        );
    }
    let discount = input
        .amount_discount
        .unwrap_or(0)
        .clamp(0, inner.session_total(&sess));
    let tax = input.amount_tax.unwrap_or(0).max(0);
    let total = inner.session_total(&sess) - discount + tax;
    let pi_id = inner.id("pi");
    let charge = new_charge(inner, &pi_id, total, &sess["currency"]);
    let pi = json!({
        "id": pi_id, "object": "payment_intent", "amount": total, "amount_received": total, "currency": sess["currency"],
        "status": "succeeded", "metadata": sess["metadata"], "latest_charge": charge, "last_payment_error": null,
        "client_secret": format!("{pi_id}_secret_sim"), "created": now_s(), "livemode": false,
    });
    inner.intents.insert(pi_id.clone(), pi.clone());
    let email = input.email.unwrap_or_else(|| "shopper@example.com".into());
    let name = input.name.unwrap_or_else(|| "Sam Shopper".into());
    let address = json!({ "line1": "1 Harbour Road", "line2": null, "city": "Portsmouth", "state": null, "postal_code": "PO1 2AB", "country": "GB" });
    let sess = inner.sessions.get_mut(id).expect("present");
    sess["status"] = json!("complete");
    sess["payment_status"] = json!("paid");
    sess["payment_intent"] = json!(pi_id);
    sess["url"] = Value::Null;
    sess["amount_total"] = json!(total);
    sess["total_details"]["amount_discount"] = json!(discount);
    sess["total_details"]["amount_tax"] = json!(tax);
    sess["customer_details"] = json!({ "email": email, "name": name, "address": address });
    if sess["shipping_address_collection"].is_object() {
        sess["collected_information"] =
            json!({ "shipping_details": { "name": name, "address": address } });
    }
    if let Some(code) = input.promotion_code {
        sess["discounts"] = json!([{ "promotion_code": code }]);
    }
    let snapshot = public_session(sess);
    let e1 = inner.event("payment_intent.succeeded", &pi);
    let e2 = inner.event("checkout.session.completed", &snapshot);
    ((StatusCode::OK, snapshot), vec![e1, e2])
}

fn decline(inner: &mut Inner, id: &str) -> ((StatusCode, Value), Vec<Value>) {
    let Some(sess) = inner.sessions.get(id).cloned() else {
        return (not_found("checkout.session", id), vec![]);
    };
    if sess["status"] != "open" {
        return (
            invalid("This Checkout Session is not open.", "session"),
            vec![],
        );
    }
    let pi_id = inner.id("pi");
    let pi = json!({
        "id": pi_id, "object": "payment_intent", "amount": sess["amount_total"], "amount_received": 0, "currency": sess["currency"],
        "status": "requires_payment_method", "metadata": sess["metadata"], "latest_charge": null,
        "last_payment_error": { "type": "card_error", "code": "card_declined", "decline_code": "generic_decline", "message": "Your card was declined." },
        "client_secret": format!("{pi_id}_secret_sim"), "created": now_s(), "livemode": false,
    });
    inner.intents.insert(pi_id.clone(), pi.clone());
    inner.sessions.get_mut(id).expect("present")["payment_intent"] = json!(pi_id);
    let e = inner.event("payment_intent.payment_failed", &pi);
    ((StatusCode::OK, pi), vec![e])
}

/// Applies a change under the lock, then delivers the events it produced.
fn apply(
    s: &Stripe,
    change: impl FnOnce(&mut Inner) -> ((StatusCode, Value), Vec<Value>),
) -> (StatusCode, Value) {
    let (r, events) = change(&mut s.0.lock().expect("lock"));
    for e in events {
        deliver(s.clone(), e, None);
    }
    r
}

async fn control_pay(AxState(s): AxState<Stripe>, Path(id): Path<String>, body: Bytes) -> Response {
    let input: PayInput = serde_json::from_slice(&body).unwrap_or_default();
    let r = apply(&s, |inner| pay(inner, &id, input));
    reply(r)
}

async fn control_decline(AxState(s): AxState<Stripe>, Path(id): Path<String>) -> Response {
    let r = apply(&s, |inner| decline(inner, &id));
    reply(r)
}

async fn control_expire(AxState(s): AxState<Stripe>, Path(id): Path<String>) -> Response {
    let r = apply(&s, |inner| expire(inner, &id));
    reply(r)
}

async fn hosted_page(AxState(s): AxState<Stripe>, Path(id): Path<String>) -> Response {
    let inner = s.0.lock().expect("lock");
    let Some(sess) = inner.sessions.get(&id) else {
        return (
            StatusCode::NOT_FOUND,
            Html("<h1>No such checkout session</h1>".to_owned()),
        )
            .into_response();
    };
    let esc = |v: &Value| {
        v.as_str()
            .unwrap_or("")
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut rows = String::new();
    for li in sess["line_items_sim"].as_array().into_iter().flatten() {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{:.2}</td></tr>",
            esc(&li["description"]),
            li["quantity"],
            li["amount_total"].as_i64().unwrap_or(0) as f64 / 100.0
        ));
    }
    let open = sess["status"] == "open";
    Html(format!(
        "<!doctype html><html><head><meta charset=utf-8><meta name=viewport content='width=device-width'><title>Simulated Stripe Checkout</title></head>\
         <body style='font-family:sans-serif;max-width:32rem;margin:2rem auto'><h1>Simulated checkout</h1><p>Session <code>{id}</code> — {status}</p>\
         <table>{rows}</table><p><strong>Total {total:.2} {cur}</strong></p>{buttons}</body></html>",
        status = esc(&sess["status"]),
        total = sess["amount_total"].as_i64().unwrap_or(0) as f64 / 100.0,
        cur = esc(&sess["currency"]).to_uppercase(),
        buttons = if open {
            format!("<form method=post action='/checkout/{id}/pay'><button>Pay</button></form><form method=post action='/checkout/{id}/decline'><button>Decline</button></form>")
        } else {
            String::new()
        },
    ))
    .into_response()
}

async fn hosted_pay(AxState(s): AxState<Stripe>, Path(id): Path<String>) -> Response {
    let r = apply(&s, |inner| pay(inner, &id, PayInput::default()));
    match r.1["success_url"].as_str() {
        Some(url) if r.0 == StatusCode::OK => {
            Redirect::to(&url.replace("{CHECKOUT_SESSION_ID}", &id)).into_response()
        }
        _ => reply(r),
    }
}

async fn hosted_decline(AxState(s): AxState<Stripe>, Path(id): Path<String>) -> Response {
    let r = apply(&s, |inner| decline(inner, &id));
    let cancel =
        s.0.lock()
            .expect("lock")
            .sessions
            .get(&id)
            .and_then(|x| x["cancel_url"].as_str().map(str::to_owned));
    match cancel {
        Some(url) if r.0 == StatusCode::OK => Redirect::to(&url).into_response(),
        _ => reply(r),
    }
}

async fn create_intent(AxState(s): AxState<Stripe>, headers: HeaderMap, body: Bytes) -> Response {
    idempotent(&s, &headers, &body, |inner, f| {
        let Some(amount) = int(&f["amount"]).filter(|a| *a >= 50) else {
            return (
                invalid("Amount must be at least 50 cents.", "amount"),
                vec![],
            );
        };
        let Some(currency) = f["currency"].as_str().filter(|c| c.len() == 3) else {
            return (missing("currency"), vec![]);
        };
        let id = inner.id("pi");
        let pi = json!({
            "id": id, "object": "payment_intent", "amount": amount, "amount_received": 0, "currency": currency.to_lowercase(),
            "status": "requires_payment_method", "metadata": f.get("metadata").cloned().unwrap_or(json!({})),
            "latest_charge": null, "last_payment_error": null, "client_secret": format!("{id}_secret_sim"),
            "created": now_s(), "livemode": false,
        });
        inner.intents.insert(id, pi.clone());
        ((StatusCode::OK, pi), vec![])
    })
}

async fn get_intent(
    AxState(s): AxState<Stripe>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(e) = authorized(&headers) {
        return reply(e);
    }
    match s.0.lock().expect("lock").intents.get(&id) {
        Some(pi) => reply((StatusCode::OK, pi.clone())),
        None => reply(not_found("payment_intent", &id)),
    }
}

async fn confirm_intent(
    AxState(s): AxState<Stripe>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    idempotent(&s, &headers, &body, |inner, f| {
        let Some(pi) = inner.intents.get(&id).cloned() else {
            return (not_found("payment_intent", &id), vec![]);
        };
        if pi["status"] == "succeeded" || pi["status"] == "canceled" {
            return (
                unexpected_state("This PaymentIntent's status does not allow confirmation."),
                vec![],
            );
        }
        let declined = f["payment_method"].as_str() == Some("pm_card_chargeDeclined");
        let mut pi = pi;
        let event = if declined {
            pi["status"] = json!("requires_payment_method");
            pi["last_payment_error"] = json!({ "type": "card_error", "code": "card_declined", "message": "Your card was declined." });
            "payment_intent.payment_failed"
        } else {
            let charge = new_charge(
                inner,
                &id,
                pi["amount"].as_i64().unwrap_or(0),
                &pi["currency"],
            );
            pi["status"] = json!("succeeded");
            pi["amount_received"] = pi["amount"].clone();
            pi["latest_charge"] = json!(charge);
            pi["last_payment_error"] = Value::Null;
            "payment_intent.succeeded"
        };
        inner.intents.insert(id.clone(), pi.clone());
        let e = inner.event(event, &pi);
        ((StatusCode::OK, pi), vec![e])
    })
}

/// Cancels an intent that has not succeeded (Stripe refuses once it has).
async fn cancel_intent(
    AxState(s): AxState<Stripe>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    idempotent(&s, &headers, &body, |inner, _| {
        let Some(mut pi) = inner.intents.get(&id).cloned() else {
            return (not_found("payment_intent", &id), vec![]);
        };
        if pi["status"] == "succeeded" || pi["status"] == "canceled" {
            return (
                unexpected_state(
                    "You cannot cancel this PaymentIntent because it has a status of succeeded or canceled.",
                ),
                vec![],
            );
        }
        pi["status"] = json!("canceled");
        pi["cancellation_reason"] = json!("requested_by_customer");
        inner.intents.insert(id.clone(), pi.clone());
        let e = inner.event("payment_intent.canceled", &pi);
        ((StatusCode::OK, pi), vec![e])
    })
}

async fn create_refund(AxState(s): AxState<Stripe>, headers: HeaderMap, body: Bytes) -> Response {
    idempotent(&s, &headers, &body, |inner, f| {
        let charge_id = match (f["payment_intent"].as_str(), f["charge"].as_str()) {
            (Some(pi), _) => match inner
                .intents
                .get(pi)
                .and_then(|p| p["latest_charge"].as_str().map(str::to_owned))
            {
                Some(c) => c,
                None => {
                    return (
                        invalid(
                            &format!("PaymentIntent {pi} has no successful charge to refund."),
                            "payment_intent",
                        ),
                        vec![],
                    );
                }
            },
            (None, Some(c)) => c.to_owned(),
            (None, None) => return (missing("payment_intent"), vec![]),
        };
        let Some(charge) = inner.charges.get(&charge_id).cloned() else {
            return (not_found("charge", &charge_id), vec![]);
        };
        let remaining = charge["amount"].as_i64().unwrap_or(0)
            - charge["amount_refunded"].as_i64().unwrap_or(0);
        let amount = int(&f["amount"]).unwrap_or(remaining);
        if amount <= 0 || amount > remaining {
            return (
                invalid(
                    &format!(
                        "Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})."
                    ),
                    "amount",
                ),
                vec![],
            );
        }
        let id = inner.id("re");
        let refund = json!({
            "id": id, "object": "refund", "amount": amount, "charge": charge_id, "payment_intent": charge["payment_intent"],
            "currency": charge["currency"], "reason": f["reason"], "metadata": f.get("metadata").cloned().unwrap_or(json!({})),
            "status": "succeeded", "created": now_s(),
        });
        inner.refunds.insert(id, refund.clone());
        let ch = inner.charges.get_mut(&charge_id).expect("present");
        let refunded = ch["amount_refunded"].as_i64().unwrap_or(0) + amount;
        ch["amount_refunded"] = json!(refunded);
        ch["refunded"] = json!(refunded == ch["amount"].as_i64().unwrap_or(0));
        let ch = ch.clone();
        let e1 = inner.event("refund.created", &refund);
        let e2 = inner.event("charge.refunded", &ch);
        ((StatusCode::OK, refund), vec![e1, e2])
    })
}

fn boolean(v: &Value) -> Option<bool> {
    match v.as_str() {
        Some("true") => Some(true),
        Some("false") => Some(false),
        _ => v.as_bool(),
    }
}

async fn create_coupon(AxState(s): AxState<Stripe>, headers: HeaderMap, body: Bytes) -> Response {
    idempotent(&s, &headers, &body, |inner, f| {
        let percent = f["percent_off"]
            .as_str()
            .and_then(|v| v.parse::<f64>().ok());
        let amount = int(&f["amount_off"]);
        match (percent, amount) {
            (Some(p), None) if p > 0.0 && p <= 100.0 => {}
            (None, Some(a)) if a > 0 && f["currency"].as_str().is_some() => {}
            (None, Some(_)) => return (missing("currency"), vec![]),
            (Some(_), Some(_)) => {
                return (
                    invalid(
                        "You may only specify one of these parameters: amount_off, percent_off.",
                        "percent_off",
                    ),
                    vec![],
                );
            }
            (None, None) => {
                return (
                    invalid(
                        "You must specify one of these parameters: amount_off, percent_off.",
                        "percent_off",
                    ),
                    vec![],
                );
            }
            _ => return (invalid("Invalid discount.", "percent_off"), vec![]),
        }
        let duration = f["duration"].as_str().unwrap_or("once");
        if !["once", "forever", "repeating"].contains(&duration) {
            return (invalid("Invalid duration.", "duration"), vec![]);
        }
        let id = inner.id("coupon");
        let c = json!({
            "id": id, "object": "coupon", "percent_off": percent, "amount_off": amount, "currency": f["currency"],
            "duration": duration, "max_redemptions": int(&f["max_redemptions"]), "redeem_by": int(&f["redeem_by"]),
            "name": f["name"], "metadata": f.get("metadata").cloned().unwrap_or(json!({})), "times_redeemed": 0, "valid": true,
            "created": now_s(), "livemode": false,
        });
        inner.coupons.insert(id, c.clone());
        ((StatusCode::OK, c), vec![])
    })
}

async fn create_promotion_code(
    AxState(s): AxState<Stripe>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    idempotent(&s, &headers, &body, |inner, f| {
        let Some(coupon_id) = f["coupon"].as_str() else {
            return (missing("coupon"), vec![]);
        };
        let Some(coupon) = inner.coupons.get(coupon_id).cloned() else {
            return (not_found("coupon", coupon_id), vec![]);
        };
        let code = f["code"].as_str().map(str::to_owned);
        if let Some(c) = &code
            && inner.promotion_codes.values().any(|p| {
                p["active"] == json!(true)
                    && p["code"]
                        .as_str()
                        .is_some_and(|x| x.eq_ignore_ascii_case(c))
            })
        {
            return (
                invalid(
                    &format!("An active promotion code with `code: {c}` already exists."),
                    "code",
                ),
                vec![],
            );
        }
        let id = inner.id("promo");
        let code = code.unwrap_or_else(|| id[6..14].to_uppercase());
        let p = json!({
            "id": id, "object": "promotion_code", "code": code, "coupon": coupon, "active": boolean(&f["active"]).unwrap_or(true),
            "max_redemptions": int(&f["max_redemptions"]), "expires_at": int(&f["expires_at"]), "times_redeemed": 0,
            "metadata": f.get("metadata").cloned().unwrap_or(json!({})), "created": now_s(), "livemode": false,
        });
        inner.promotion_codes.insert(id, p.clone());
        ((StatusCode::OK, p), vec![])
    })
}

async fn update_promotion_code(
    AxState(s): AxState<Stripe>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    idempotent(&s, &headers, &body, |inner, f| {
        let Some(p) = inner.promotion_codes.get_mut(&id) else {
            return (not_found("promotion_code", &id), vec![]);
        };
        if let Some(a) = boolean(&f["active"]) {
            p["active"] = json!(a);
        }
        ((StatusCode::OK, p.clone()), vec![])
    })
}

async fn get_promotion_code(
    AxState(s): AxState<Stripe>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = authorized(&headers) {
        return reply(e);
    }
    let inner = s.0.lock().expect("lock");
    reply(match inner.promotion_codes.get(&id) {
        Some(p) => (StatusCode::OK, p.clone()),
        None => not_found("promotion_code", &id),
    })
}

async fn list_promotion_codes(AxState(s): AxState<Stripe>) -> Response {
    let inner = s.0.lock().expect("lock");
    let mut data: Vec<Value> = inner.promotion_codes.values().cloned().collect();
    data.sort_by_key(|p| p["id"].as_str().unwrap_or_default().to_owned());
    reply((StatusCode::OK, json!({ "data": data })))
}

#[derive(Deserialize)]
struct EventQuery {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(rename = "created[gte]")]
    created_gte: Option<i64>,
    starting_after: Option<String>,
    limit: Option<usize>,
}

async fn list_events(
    AxState(s): AxState<Stripe>,
    headers: HeaderMap,
    Query(q): Query<EventQuery>,
) -> Response {
    if let Err(e) = authorized(&headers) {
        return reply(e);
    }
    let inner = s.0.lock().expect("lock");
    let limit = q.limit.unwrap_or(10).clamp(1, 100);
    // Newest first; starting_after continues with older ones.
    let mut newest_first: Vec<&Value> = inner.events.iter().rev().collect();
    if let Some(after) = &q.starting_after {
        match newest_first.iter().position(|e| e["id"] == after.as_str()) {
            Some(i) => newest_first.drain(..=i).for_each(drop),
            None => return reply(not_found("event", after)),
        }
    }
    let matching: Vec<&Value> = newest_first
        .into_iter()
        .filter(|e| q.kind.as_deref().is_none_or(|k| e["type"] == k))
        .filter(|e| {
            q.created_gte
                .is_none_or(|t| e["created"].as_i64().unwrap_or(0) >= t)
        })
        .collect();
    let has_more = matching.len() > limit;
    let data: Vec<&Value> = matching.into_iter().take(limit).collect();
    reply((
        StatusCode::OK,
        json!({ "object": "list", "data": data, "has_more": has_more, "url": "/v1/events" }),
    ))
}

#[derive(Deserialize)]
struct WebhookConfig {
    url: String,
    secret: String,
}

async fn set_webhook(AxState(s): AxState<Stripe>, Json(c): Json<WebhookConfig>) -> Response {
    s.0.lock().expect("lock").webhook = Some((c.url.clone(), c.secret));
    reply((StatusCode::OK, json!({ "url": c.url })))
}

async fn set_delivery(AxState(s): AxState<Stripe>, Json(d): Json<DeliveryFaults>) -> Response {
    s.0.lock().expect("lock").delivery = d.clone();
    reply((
        StatusCode::OK,
        json!({ "drop_next": d.drop_next, "duplicate": d.duplicate, "delay_ms": d.delay_ms }),
    ))
}

async fn list_deliveries(AxState(s): AxState<Stripe>) -> Response {
    reply((
        StatusCode::OK,
        json!({ "data": s.0.lock().expect("lock").deliveries }),
    ))
}

#[derive(Deserialize, Default)]
struct Redeliver {
    times: Option<u32>,
}

async fn redeliver(AxState(s): AxState<Stripe>, Path(id): Path<String>, body: Bytes) -> Response {
    let times = serde_json::from_slice::<Redeliver>(&body)
        .unwrap_or_default()
        .times
        .unwrap_or(1)
        .clamp(1, 100);
    let event =
        s.0.lock()
            .expect("lock")
            .events
            .iter()
            .find(|e| e["id"] == id.as_str())
            .cloned();
    match event {
        Some(e) => {
            deliver(s.clone(), e, Some(times));
            reply((StatusCode::ACCEPTED, json!({ "id": id, "times": times })))
        }
        None => reply(not_found("event", &id)),
    }
}

/// The `Stripe-Signature` header for a payload.
pub fn signature_header(secret: &str, t: i64, payload: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{t}.").as_bytes());
    mac.update(payload);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Delivers an event to the configured endpoint in the background: `times` copies at once
/// (or the configured duplicate count), unless a drop is pending; non-2xx answers are
/// retried a few times, as Stripe does (its retries span days; here, seconds).
fn deliver(s: Stripe, event: Value, times: Option<u32>) {
    let (target, copies, delay_ms) = {
        let mut inner = s.0.lock().expect("lock");
        let Some(target) = inner.webhook.clone() else {
            return;
        };
        if times.is_none() && inner.delivery.drop_next > 0 {
            inner.delivery.drop_next -= 1;
            inner
                .deliveries
                .push(json!({ "event": event["id"], "type": event["type"], "outcome": "dropped" }));
            return;
        }
        let copies = times.unwrap_or(1 + inner.delivery.duplicate);
        (target, copies, inner.delivery.delay_ms)
    };
    let payload = serde_json::to_vec(&event).expect("JSON");
    for _ in 0..copies {
        let (s, (url, secret), payload, id, kind) = (
            s.clone(),
            target.clone(),
            payload.clone(),
            event["id"].clone(),
            event["type"].clone(),
        );
        tokio::spawn(async move {
            if delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            }
            let client = reqwest::Client::new();
            for attempt in 1..=3u32 {
                let r = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header(
                        "stripe-signature",
                        signature_header(&secret, now_s(), &payload),
                    )
                    .body(payload.clone())
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await;
                let status = r.as_ref().map(|r| r.status().as_u16()).unwrap_or(0);
                s.0.lock().expect("lock").deliveries.push(
                    json!({ "event": id, "type": kind, "attempt": attempt, "status": status }),
                );
                if (200..300).contains(&status) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bracketed_form_keys_become_nested_json() {
        let v = decode_form(b"mode=payment&line_items[0][quantity]=2&line_items[0][price_data][currency]=usd&line_items[1][quantity]=1&metadata[order_id]=ord_1&shipping_address_collection[allowed_countries][0]=US&shipping_address_collection[allowed_countries][1]=GB");
        assert_eq!(v["mode"], "payment");
        assert_eq!(v["line_items"][0]["quantity"], "2");
        assert_eq!(v["line_items"][0]["price_data"]["currency"], "usd");
        assert_eq!(v["line_items"][1]["quantity"], "1");
        assert_eq!(v["metadata"]["order_id"], "ord_1");
        assert_eq!(
            v["shipping_address_collection"]["allowed_countries"],
            json!(["US", "GB"])
        );
    }
}

async fn create_product(AxState(s): AxState<Stripe>, headers: HeaderMap, body: Bytes) -> Response {
    idempotent(&s, &headers, &body, |inner, f| {
        let Some(name) = f["name"].as_str().filter(|n| !n.is_empty()) else {
            return (missing("name"), vec![]);
        };
        let id = match f["id"].as_str() {
            Some(id) if inner.products.contains_key(id) => {
                return (
                    error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request_error",
                        "resource_already_exists",
                        "Product already exists.",
                        Some("id"),
                    ),
                    vec![],
                );
            }
            Some(id) => id.to_owned(),
            None => inner.id("prod"),
        };
        let p = json!({
            "id": id, "object": "product", "name": name, "active": true,
            "metadata": f.get("metadata").cloned().unwrap_or(json!({})), "created": now_s(), "livemode": false,
        });
        inner.products.insert(id, p.clone());
        ((StatusCode::OK, p), vec![])
    })
}

async fn get_product(
    AxState(s): AxState<Stripe>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(e) = authorized(&headers) {
        return reply(e);
    }
    let inner = s.0.lock().expect("lock");
    match inner.products.get(&id) {
        Some(p) => reply((StatusCode::OK, p.clone())),
        None => reply(not_found("product", &id)),
    }
}

/// Gives `key` to `price_id`, taking it from the Price that has it when `transfer`.
fn take_lookup_key(
    inner: &mut Inner,
    price_id: &str,
    key: &str,
    transfer: bool,
) -> Result<(), (StatusCode, Value)> {
    let holder = inner
        .prices
        .values()
        .find(|p| p["lookup_key"].as_str() == Some(key) && p["id"].as_str() != Some(price_id))
        .and_then(|p| p["id"].as_str())
        .map(str::to_owned);
    if let Some(holder) = holder {
        if !transfer {
            return Err(invalid(
                &format!("A price (`{holder}`) already uses that lookup key."),
                "lookup_key",
            ));
        }
        if let Some(old) = inner.prices.get_mut(&holder) {
            old["lookup_key"] = Value::Null;
        }
    }
    Ok(())
}

async fn create_price(AxState(s): AxState<Stripe>, headers: HeaderMap, body: Bytes) -> Response {
    idempotent(&s, &headers, &body, |inner, f| {
        if inner.fail_prices > 0 {
            inner.fail_prices -= 1;
            return (
                error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "api_error",
                    "",
                    "An unknown error occurred (simulated).",
                    None,
                ),
                vec![],
            );
        }
        let Some(product) = f["product"].as_str() else {
            return (missing("product"), vec![]);
        };
        if !inner.products.contains_key(product) {
            return (not_found("product", product), vec![]);
        }
        let currency = f["currency"].as_str().unwrap_or("").to_lowercase();
        if currency.len() != 3 {
            return (missing("currency"), vec![]);
        }
        let Some(amount) = int(&f["unit_amount"]).filter(|a| *a >= 0) else {
            return (missing("unit_amount"), vec![]);
        };
        let id = inner.id("price");
        let key = f["lookup_key"].as_str().map(str::to_owned);
        if let Some(k) = &key
            && let Err(e) = take_lookup_key(
                inner,
                &id,
                k,
                boolean(&f["transfer_lookup_key"]).unwrap_or(false),
            )
        {
            return (e, vec![]);
        }
        let p = json!({
            "id": id, "object": "price", "active": true, "currency": currency, "unit_amount": amount,
            "product": product, "lookup_key": key, "type": "one_time", "billing_scheme": "per_unit",
            "metadata": f.get("metadata").cloned().unwrap_or(json!({})), "created": now_s(), "livemode": false,
            "seq": inner.seq,
        });
        inner.prices.insert(id, p.clone());
        ((StatusCode::OK, public_price(&p)), vec![])
    })
}

fn public_price(p: &Value) -> Value {
    let mut v = p.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("seq");
    }
    v
}

async fn update_price(
    AxState(s): AxState<Stripe>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    idempotent(&s, &headers, &body, |inner, f| {
        const UPDATABLE: [&str; 7] = [
            "active",
            "lookup_key",
            "transfer_lookup_key",
            "metadata",
            "nickname",
            "tax_behavior",
            "currency_options",
        ];
        if let Some(k) = f
            .as_object()
            .and_then(|o| o.keys().find(|k| !UPDATABLE.contains(&k.as_str())))
        {
            return (
                invalid(&format!("Received unknown parameter: {k}"), k),
                vec![],
            );
        }
        if !inner.prices.contains_key(&id) {
            return (not_found("price", &id), vec![]);
        }
        if let Some(k) = f["lookup_key"].as_str() {
            if let Err(e) = take_lookup_key(
                inner,
                &id,
                k,
                boolean(&f["transfer_lookup_key"]).unwrap_or(false),
            ) {
                return (e, vec![]);
            }
        }
        let p = inner.prices.get_mut(&id).expect("checked above");
        if let Some(a) = boolean(&f["active"]) {
            p["active"] = json!(a);
        }
        if let Some(k) = f["lookup_key"].as_str() {
            p["lookup_key"] = json!(k);
        }
        if let Some(m) = f.get("metadata").and_then(Value::as_object) {
            for (k, v) in m {
                p["metadata"][k] = v.clone();
            }
        }
        if let Some(n) = f["nickname"].as_str() {
            p["nickname"] = json!(n);
        }
        ((StatusCode::OK, public_price(p)), vec![])
    })
}

async fn get_price(
    AxState(s): AxState<Stripe>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(e) = authorized(&headers) {
        return reply(e);
    }
    let inner = s.0.lock().expect("lock");
    match inner.prices.get(&id) {
        Some(p) => reply((StatusCode::OK, public_price(p))),
        None => reply(not_found("price", &id)),
    }
}

/// `GET /v1/prices?lookup_keys[]=…&active=&product=&limit=`, newest first.
async fn list_prices(
    AxState(s): AxState<Stripe>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    if let Err(e) = authorized(&headers) {
        return reply(e);
    }
    let mut keys = Vec::new();
    let (mut active, mut product, mut limit) = (None, None, 10usize);
    for (k, v) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "lookup_keys[]" => keys.push(v.into_owned()),
            k if k.starts_with("lookup_keys[") => keys.push(v.into_owned()),
            "active" => active = Some(v == "true"),
            "product" => product = Some(v.into_owned()),
            "limit" => limit = v.parse().unwrap_or(10).clamp(1, 100),
            _ => {}
        }
    }
    let inner = s.0.lock().expect("lock");
    let mut data: Vec<&Value> = inner
        .prices
        .values()
        .filter(|p| {
            (keys.is_empty()
                || p["lookup_key"]
                    .as_str()
                    .is_some_and(|k| keys.iter().any(|x| x == k)))
                && active.is_none_or(|a| p["active"] == json!(a))
                && product
                    .as_ref()
                    .is_none_or(|pr| p["product"].as_str() == Some(pr))
        })
        .collect();
    data.sort_by_key(|p| std::cmp::Reverse(p["seq"].as_u64()));
    let has_more = data.len() > limit;
    let data: Vec<Value> = data.into_iter().take(limit).map(public_price).collect();
    reply((
        StatusCode::OK,
        json!({ "object": "list", "data": data, "has_more": has_more, "url": "/v1/prices" }),
    ))
}

async fn all_prices(AxState(s): AxState<Stripe>) -> Response {
    let inner = s.0.lock().expect("lock");
    let mut prices: Vec<&Value> = inner.prices.values().collect();
    prices.sort_by_key(|p| p["seq"].as_u64());
    let prices: Vec<Value> = prices.into_iter().map(public_price).collect();
    let products: Vec<&Value> = inner.products.values().collect();
    reply((
        StatusCode::OK,
        json!({ "prices": prices, "products": products }),
    ))
}

#[derive(Deserialize)]
struct Faults {
    #[serde(default)]
    prices_5xx: u32,
}

async fn set_faults(AxState(s): AxState<Stripe>, Json(f): Json<Faults>) -> Response {
    s.0.lock().expect("lock").fail_prices = f.prices_5xx;
    reply((StatusCode::OK, json!({ "prices_5xx": f.prices_5xx })))
}
