//! Parcels built by operators, on real SQLite: quantities never above what a line has
//! left, destinations from the company's book or typed in, statuses forward only with the
//! fulfillment order and the order following, couriers' signed events applied once and
//! forward only, polled couriers. (Concurrent builders are proven on local D1: the
//! end-to-end suite.)

mod support;

use lading_api::http::{Method, Response};
use lading_core::jobs;
use lading_core::payments::stripe_signature;
use lading_core::ports::Platform as _;
use lading_core::queue::{Outcome, process};
use serde_json::{Value, json};
use support::*;

struct Shipping {
    store: Store,
    order_id: String,
    fo: String,
    /// Order item ids: 20 anchors, 2 brackets.
    items: [String; 2],
    company: String,
}

/// A company's paid order of 20 anchors and 2 brackets, shipped from the warehouse, its
/// fulfillment order handed to the operators.
fn setup(p: &TestPlatform) -> Shipping {
    let store = create_store(p, "SH");
    let r = admin(
        p,
        &store,
        Method::Post,
        "/admin/api/v1/products",
        Some(
            json!({ "title": "Anchors", "slug": "anchors", "status": "active", "variants": [
            { "sku": "ANC-1", "kind": "physical", "price_amount": 500 },
            { "sku": "BRK-1", "kind": "physical", "price_amount": 900 } ] }),
        ),
    );
    let variants: Vec<String> = ok(r, 201)["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    let company = id(&ok(
        admin(
            p,
            &store,
            Method::Post,
            "/admin/api/v1/companies",
            Some(json!({ "name": "Harbour Works", "currency": "usd", "payment_terms": "prepaid" })),
        ),
        201,
    ));
    let t = shop(p, &store, Method::Post, "/v1/carts", None, None).body_json()["cart_token"]
        .as_str()
        .unwrap()
        .to_owned();
    for (v, q) in [(&variants[0], 20), (&variants[1], 2)] {
        let r = shop(
            p,
            &store,
            Method::Post,
            "/v1/carts/current/items",
            Some(&t),
            Some(json!({ "variant_id": v, "quantity": q })),
        );
        assert_eq!(r.status, 200, "{}", text(&r));
    }
    p.serve(
        "http://stripe.test/v1/checkout/sessions",
        200,
        &json!({ "id": "cs_sh", "url": "https://checkout.test/cs_sh" }),
    );
    let r = shop(
        p,
        &store,
        Method::Post,
        "/v1/checkout/sessions",
        Some(&t),
        Some(json!({ "email": "buyer@harbour.test" })),
    );
    let o = ok(r, 201)["order"].clone();
    let order_id = id(&o);
    // The company's order (placed by support in the sales flow; here the row says so).
    p.exec(&format!(
        "UPDATE orders SET company_id = '{company}' WHERE id = '{order_id}'"
    ));
    complete_checkout(p, &store, &o, "buyer@harbour.test", "sh", "usd", None);
    let fo = p.text(&format!(
        "SELECT id FROM fulfillment_orders WHERE order_id = '{order_id}'"
    ));
    assert_eq!(
        p.text(&format!(
            "SELECT provider FROM fulfillment_orders WHERE id = '{fo}'"
        )),
        "warehouse",
        "a company's order ships from the warehouse by default"
    );
    let outcome = run(process(
        p,
        &json!({ "kind": "fulfil", "fulfillment_order_id": fo, "provider": "warehouse", "store_id": store.id }),
    ));
    assert_eq!(outcome, Outcome::Done);
    let item = |sku: &str| {
        p.text(&format!(
            "SELECT id FROM order_items WHERE order_id = '{order_id}' AND sku = '{sku}'"
        ))
    };
    Shipping {
        items: [item("ANC-1"), item("BRK-1")],
        store,
        order_id,
        fo,
        company,
    }
}

fn build(p: &TestPlatform, s: &Shipping, body: Value) -> Response {
    admin(
        p,
        &s.store,
        Method::Post,
        &format!("/admin/api/v1/fulfillment-orders/{}/shipments", s.fo),
        Some(body),
    )
}

fn set_status(p: &TestPlatform, s: &Shipping, shipment: &str, status: &str) -> Response {
    admin(
        p,
        &s.store,
        Method::Post,
        &format!("/admin/api/v1/shipments/{shipment}/status"),
        Some(json!({ "status": status })),
    )
}

fn status_of(p: &TestPlatform, table: &str, id: &str) -> String {
    p.text(&format!("SELECT status FROM {table} WHERE id = '{id}'"))
}

fn remaining(p: &TestPlatform, item: &str) -> i64 {
    p.count(&format!(
        "SELECT remaining_quantity FROM fulfillment_order_lines WHERE order_item_id = '{item}'"
    ))
}

fn courier_event(p: &TestPlatform, courier: &str, event: &Value, secret: &str) -> Response {
    let body = serde_json::to_vec(event).unwrap();
    let t = p.now_ms() / 1000;
    let mut r = req(Method::Post, &format!("/webhooks/couriers/{courier}")).header(
        "lading-courier-signature",
        &format!("t={t},v1={}", stripe_signature::sign(secret, t, &body)),
    );
    r.body = body;
    call(p, "webhooks", r)
}

fn problem_type(r: Response) -> String {
    r.body_json()["type"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn parcels_never_take_more_than_a_line_has_left_and_give_it_back_when_cancelled() {
    let p = TestPlatform::new();
    let s = setup(&p);
    let typed = json!({ "name": "Dock 4", "line1": "1 Pier Rd", "city": "Halifax", "region": "NS", "postal_code": "B3H 1A1", "country": "ca" });
    let mut built = Vec::new();
    for n in 0..7 {
        let r = build(
            &p,
            &s,
            json!({ "lines": [{ "order_item_id": s.items[0], "quantity": 3 }], "address": typed }),
        );
        if n < 6 {
            built.push(id(&ok(r, 201)));
        } else {
            assert_eq!(r.status, 409, "{}", text(&r));
            assert_eq!(problem_type(r), "quantity_exceeds_remaining");
        }
    }
    assert_eq!(remaining(&p, &s.items[0]), 2);
    // Cancelling a draft gives its units back; a parcel that left cannot be cancelled.
    let c = ok(set_status(&p, &s, &built[0], "cancelled"), 200);
    assert_eq!(c["status"], "cancelled");
    assert!(c["cancelled_at"].is_string());
    assert_eq!(remaining(&p, &s.items[0]), 5);
    let again = set_status(&p, &s, &built[0], "ready");
    assert_eq!(again.status, 409, "{}", text(&again));
    // Bad input changes nothing.
    let before = p.row_counts();
    for (body, status, field) in [
        (
            json!({ "lines": [{ "order_item_id": s.items[0], "quantity": 0 }] }),
            422,
            "lines[0].quantity",
        ),
        (
            json!({ "lines": [{ "order_item_id": "oi_nope", "quantity": 1 }] }),
            422,
            "lines[0].order_item_id",
        ),
        (
            json!({ "lines": [{ "order_item_id": s.items[1], "quantity": 1 }, { "order_item_id": s.items[1], "quantity": 1 }] }),
            422,
            "lines[1].order_item_id",
        ),
        (
            json!({ "lines": [{ "order_item_id": s.items[1], "quantity": 1 }], "courier": "pigeon" }),
            422,
            "courier",
        ),
        (
            json!({ "lines": [{ "order_item_id": s.items[1], "quantity": 1 }], "tracking_number": "1Z" }),
            422,
            "courier",
        ),
        (
            json!({ "lines": [{ "order_item_id": s.items[1], "quantity": 1 }], "address_id": "adr_elsewhere" }),
            422,
            "address_id",
        ),
        (
            json!({ "lines": [{ "order_item_id": s.items[1], "quantity": 3 }] }),
            409,
            "",
        ),
    ] {
        let r = build(&p, &s, body.clone());
        assert_eq!(r.status, status, "{body}: {}", text(&r));
        if !field.is_empty() {
            assert_eq!(r.body_json()["errors"][0]["field"], field, "{}", text(&r));
        }
    }
    assert_eq!(p.row_counts(), before, "refusals wrote nothing");
}

#[test]
fn three_parcels_to_two_addresses_move_the_order_through_partially_shipped_to_delivered() {
    let p = TestPlatform::new();
    let s = setup(&p);
    // The company's book has the yard; the dock is typed in and saved on request.
    let yard = id(&ok(
        admin(
            &p,
            &s.store,
            Method::Post,
            &format!("/admin/api/v1/companies/{}/addresses", s.company),
            Some(
                json!({ "label": "Yard", "name": "Receiving", "line1": "9 Yard Way", "city": "Portland", "region": "ME", "postal_code": "04101", "country": "US" }),
            ),
        ),
        201,
    ));
    let a = ok(
        build(
            &p,
            &s,
            json!({ "lines": [{ "order_item_id": s.items[0], "quantity": 10 }], "address_id": yard, "courier": "usps", "tracking_number": "9400 1000" }),
        ),
        201,
    );
    assert_eq!(a["destination"]["city"], "Portland");
    assert_eq!(
        a["tracking_url"],
        "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400%201000"
    );
    assert_eq!(a["carrier"], "USPS");
    let dock = json!({ "name": "Dock 4", "line1": "1 Pier Rd", "city": "Halifax", "region": "NS", "country": "CA" });
    let b = ok(
        build(
            &p,
            &s,
            json!({ "lines": [{ "order_item_id": s.items[0], "quantity": 10 }], "address": dock, "save_address": true, "courier": "dhl", "tracking_number": "DHL-1" }),
        ),
        201,
    );
    let saved = b["address_id"]
        .as_str()
        .expect("saved to the book")
        .to_owned();
    assert_eq!(
        p.count(&format!(
            "SELECT COUNT(*) FROM addresses WHERE company_id = '{}' AND id = '{saved}'",
            s.company
        )),
        1
    );
    // The same place typed again is the book's own copy, not a second entry.
    let c = ok(
        build(
            &p,
            &s,
            json!({ "lines": [{ "order_item_id": s.items[1], "quantity": 2 }], "address": dock, "save_address": true }),
        ),
        201,
    );
    assert_eq!(c["address_id"], saved.as_str());
    let (a, b, c) = (id(&a), id(&b), id(&c));
    assert_eq!(status_of(&p, "fulfillment_orders", &s.fo), "submitted");

    // Forward only, and a parcel leaves with its courier and tracking number.
    let r = set_status(&p, &s, &a, "delivered");
    assert_eq!(r.status, 409, "{}", text(&r));
    assert_eq!(problem_type(r), "shipment_transition_refused");
    let r = set_status(&p, &s, &c, "in_transit");
    assert_eq!(r.status, 422, "{}", text(&r));
    let r = admin(
        &p,
        &s.store,
        Method::Patch,
        &format!("/admin/api/v1/shipments/{c}"),
        Some(json!({ "courier": "canada_post", "tracking_number": "CP77" })),
    );
    assert_eq!(ok(r, 200)["tracking_number"], "CP77");

    assert_eq!(ok(set_status(&p, &s, &a, "ready"), 200)["status"], "ready");
    assert_eq!(
        ok(set_status(&p, &s, &a, "in_transit"), 200)["status"],
        "in_transit"
    );
    assert_eq!(
        status_of(&p, "fulfillment_orders", &s.fo),
        "partially_shipped"
    );
    assert_eq!(status_of(&p, "orders", &s.order_id), "partially_shipped");
    let shipped_emails = |p: &TestPlatform| {
        p.queued_of("email")
            .iter()
            .filter(|m| m.to_string().contains("_shipped"))
            .count()
    };
    assert_eq!(shipped_emails(&p), 1, "the shipped email, once");
    let r = admin(
        &p,
        &s.store,
        Method::Patch,
        &format!("/admin/api/v1/shipments/{a}"),
        Some(json!({ "tracking_number": "9400 2000" })),
    );
    assert_eq!(
        r.status,
        409,
        "a parcel that left is not edited: {}",
        text(&r)
    );

    set_status(&p, &s, &b, "in_transit");
    set_status(&p, &s, &c, "in_transit");
    assert_eq!(status_of(&p, "fulfillment_orders", &s.fo), "shipped");
    assert_eq!(status_of(&p, "orders", &s.order_id), "shipped");
    for shp in [&a, &b] {
        ok(set_status(&p, &s, shp, "delivered"), 200);
    }
    assert_eq!(status_of(&p, "fulfillment_orders", &s.fo), "shipped");
    ok(set_status(&p, &s, &c, "delivered"), 200);
    assert_eq!(status_of(&p, "fulfillment_orders", &s.fo), "delivered");
    assert_eq!(status_of(&p, "orders", &s.order_id), "delivered");
    assert_eq!(shipped_emails(&p), 1, "still one shipped email");
    let fo = ok(
        admin(
            &p,
            &s.store,
            Method::Get,
            &format!("/admin/api/v1/fulfillment-orders/{}", s.fo),
            None,
        ),
        200,
    );
    assert_eq!(fo["shipments"].as_array().unwrap().len(), 3);
    assert_eq!(fo["shipments"][2]["lines"][0]["sku"], "BRK-1");
    for kind in [
        "shipment.drafted",
        "shipment.ready",
        "shipment.in_transit",
        "shipment.delivered",
    ] {
        assert_eq!(
            p.count(&format!(
                "SELECT COUNT(*) FROM domain_events WHERE aggregate_type = 'shipment' AND aggregate_id = '{a}' AND type = '{kind}'"
            )),
            1,
            "{kind}"
        );
    }
}

#[test]
fn courier_events_are_authenticated_applied_once_and_never_move_a_parcel_back() {
    let p = TestPlatform::new();
    let s = setup(&p);
    let shp = id(&ok(
        build(
            &p,
            &s,
            json!({ "lines": [{ "order_item_id": s.items[0], "quantity": 20 }, { "order_item_id": s.items[1], "quantity": 2 }],
                    "address": { "name": "Dock", "line1": "1 Pier Rd", "city": "Halifax", "country": "CA" },
                    "courier": "dhl", "tracking_number": "JD0001" }),
        ),
        201,
    ));
    ok(set_status(&p, &s, &shp, "ready"), 200);
    let event = |id: &str, status: &str, at: &str| json!({ "id": id, "tracking_number": "JD0001", "status": status, "occurred_at": at, "location": "Leipzig" });
    // Forged, unsigned, stale: 401 and nothing written.
    let before = p.row_counts();
    let forged = courier_event(
        &p,
        "dhl",
        &event("e1", "delivered", "2026-09-21T10:00:00Z"),
        "not-the-secret",
    );
    assert_eq!(forged.status, 401, "{}", text(&forged));
    assert_eq!(problem_type(forged), "invalid_signature");
    let mut unsigned = req(Method::Post, "/webhooks/couriers/dhl");
    unsigned.body = serde_json::to_vec(&event("e1", "delivered", "2026-09-21T10:00:00Z")).unwrap();
    assert_eq!(call(&p, "webhooks", unsigned).status, 401);
    let body = serde_json::to_vec(&event("e1", "delivered", "2026-09-21T10:00:00Z")).unwrap();
    let old = p.now_ms() / 1000 - 301;
    let mut stale = req(Method::Post, "/webhooks/couriers/dhl").header(
        "lading-courier-signature",
        &format!(
            "t={old},v1={}",
            stripe_signature::sign(COURIER_SECRET, old, &body)
        ),
    );
    stale.body = body;
    assert_eq!(call(&p, "webhooks", stale).status, 401);
    assert_eq!(p.row_counts(), before, "rejections write nothing");
    // Another courier's number, and a body that is not an event.
    let r = courier_event(
        &p,
        "usps",
        &event("e1", "delivered", "2026-09-21T10:00:00Z"),
        COURIER_SECRET,
    );
    assert_eq!(r.status, 404, "{}", text(&r));
    let r = courier_event(
        &p,
        "dhl",
        &json!({ "id": "e9", "status": "lost" }),
        COURIER_SECRET,
    );
    assert_eq!(r.status, 400, "{}", text(&r));
    assert_eq!(p.row_counts(), before);

    // In transit, then delivered; then the in-transit event again, and an older one late.
    let r = courier_event(
        &p,
        "dhl",
        &event("e1", "in_transit", "2026-09-21T10:00:00Z"),
        COURIER_SECRET,
    );
    assert_eq!(ok(r, 200)["duplicate"], false);
    assert_eq!(status_of(&p, "shipments", &shp), "in_transit");
    assert_eq!(status_of(&p, "fulfillment_orders", &s.fo), "shipped");
    ok(
        courier_event(
            &p,
            "dhl",
            &event("e2", "out_for_delivery", "2026-09-22T08:00:00Z"),
            COURIER_SECRET,
        ),
        200,
    );
    ok(
        courier_event(
            &p,
            "dhl",
            &event("e3", "delivered", "2026-09-22T15:00:00Z"),
            COURIER_SECRET,
        ),
        200,
    );
    assert_eq!(status_of(&p, "shipments", &shp), "delivered");
    assert_eq!(status_of(&p, "orders", &s.order_id), "delivered");
    let dup = courier_event(
        &p,
        "dhl",
        &event("e1", "in_transit", "2026-09-21T10:00:00Z"),
        COURIER_SECRET,
    );
    assert_eq!(ok(dup, 200)["duplicate"], true);
    ok(
        courier_event(
            &p,
            "dhl",
            &event("e0", "in_transit", "2026-09-20T10:00:00Z"),
            COURIER_SECRET,
        ),
        200,
    );
    let v = ok(
        admin(
            &p,
            &s.store,
            Method::Get,
            &format!("/admin/api/v1/shipments/{shp}"),
            None,
        ),
        200,
    );
    assert_eq!(v["status"], "delivered");
    assert_eq!(v["tracking_status"], "delivered");
    assert_eq!(v["tracking_event_at"], "2026-09-22T15:00:00Z");
    // The same id with other content is refused.
    let r = courier_event(
        &p,
        "dhl",
        &event("e3", "exception", "2026-09-22T15:00:00Z"),
        COURIER_SECRET,
    );
    assert_eq!(r.status, 409, "{}", text(&r));
    assert_eq!(
        p.count(&format!(
            "SELECT COUNT(*) FROM domain_events WHERE aggregate_id = '{shp}' AND type LIKE 'courier.%'"
        )),
        4
    );
}

#[test]
fn polled_couriers_are_asked_by_the_scheduler() {
    let p = TestPlatform::new();
    let s = setup(&p);
    let shp = id(&ok(
        build(
            &p,
            &s,
            json!({ "lines": [{ "order_item_id": s.items[1], "quantity": 2 }],
                    "address": { "name": "Dock", "line1": "1 Pier Rd", "city": "Halifax", "country": "CA" },
                    "courier": "chitchats", "tracking_number": "CC 42" }),
        ),
        201,
    ));
    p.serve(
        &format!("{COURIER_API}/chitchats/tracking/CC%2042"),
        200,
        &json!({ "events": [
            { "id": "cc1", "tracking_number": "CC 42", "status": "in_transit", "occurred_at": "2026-09-21T10:00:00Z" },
            { "id": "cc2", "tracking_number": "CC 42", "status": "delivered", "occurred_at": "2026-09-22T10:00:00Z", "location": "Halifax" } ] }),
    );
    let reports = run(jobs::run_cron(&p, jobs::FIVE_MINUTES));
    let polled = reports.iter().find(|r| r.job == "poll_couriers").unwrap();
    assert_eq!((polled.changed, polled.error.as_deref()), (2, None));
    assert_eq!(status_of(&p, "shipments", &shp), "delivered");
    // Asked again: the same events, applied once.
    let reports = run(jobs::run_cron(&p, jobs::FIVE_MINUTES));
    assert_eq!(
        reports
            .iter()
            .find(|r| r.job == "poll_couriers")
            .unwrap()
            .changed,
        0
    );
    // A delivered parcel is not asked about any more.
    let asked = p.sent_to(&format!("{COURIER_API}/")).len();
    run(jobs::run_cron(&p, jobs::FIVE_MINUTES));
    assert_eq!(p.sent_to(&format!("{COURIER_API}/")).len(), asked);
}

#[test]
fn couriers_are_seeded_per_store_and_edited_by_admins() {
    let p = TestPlatform::new();
    let s = create_store(&p, "CO");
    let list = ok(
        admin(&p, &s, Method::Get, "/admin/api/v1/couriers", None),
        200,
    );
    let codes: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["canada_post", "chitchats", "dhl", "usps"]);
    assert_eq!(list["data"][1]["tracking_adapter"], "poll");
    assert_eq!(list["data"][2]["webhook_path"], "/webhooks/couriers/dhl");
    let r = admin(
        &p,
        &s,
        Method::Post,
        "/admin/api/v1/couriers",
        Some(
            json!({ "code": "purolator", "name": "Purolator", "tracking_url_template": "https://www.purolator.com/track/{number}", "tracking_adapter": "none" }),
        ),
    );
    assert_eq!(ok(r, 201)["code"], "purolator");
    let r = admin(
        &p,
        &s,
        Method::Post,
        "/admin/api/v1/couriers",
        Some(
            json!({ "code": "purolator", "name": "P", "tracking_url_template": "https://p.example/{number}", "tracking_adapter": "none" }),
        ),
    );
    assert_eq!(problem_type(r), "courier_exists");
    let r = admin(
        &p,
        &s,
        Method::Patch,
        "/admin/api/v1/couriers/purolator",
        Some(json!({ "tracking_url_template": "https://www.purolator.com/track" })),
    );
    assert_eq!(r.status, 422, "{}", text(&r));
    let r = admin(
        &p,
        &s,
        Method::Patch,
        "/admin/api/v1/couriers/dhl",
        Some(json!({ "active": false })),
    );
    assert_eq!(ok(r, 200)["active"], false);
}

/// The message's header value.
fn header<'a>(r: &'a lading_core::ports::OutboundRequest, name: &str) -> &'a str {
    r.headers
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// Whether a request carries a Standard Webhooks signature made with `secret`.
fn signed_with(r: &lading_core::ports::OutboundRequest, secret: &str) -> bool {
    lading_core::outbound::signing::verify(
        secret,
        header(r, "webhook-id"),
        header(r, "webhook-timestamp").parse().unwrap_or(0),
        r.body.as_deref().unwrap_or_default(),
        header(r, "webhook-signature"),
    )
}

fn scenario(p: &TestPlatform, s: &Shipping, code: &str, attempts: i64) -> String {
    let r = admin(
        p,
        &s.store,
        Method::Post,
        "/admin/api/v1/automation-scenarios",
        Some(
            json!({ "code": code, "name": code.replace('_', " "), "endpoint_url": format!("http://legacy.test/{code}"),
                     "max_attempts": attempts, "retry_delay_seconds": 5, "timeout_ms": 2000 }),
        ),
    );
    let v = ok(r, 201);
    assert!(v["secret"].as_str().unwrap().starts_with("whsec_"));
    v["secret"].as_str().unwrap().to_owned()
}

/// Runs a queue message as the consumer would, again after each delay it asks for (the
/// clock moved by that much), until it is done; the outcomes.
fn drain(p: &TestPlatform, message: &Value) -> Vec<Outcome> {
    let mut seen = Vec::new();
    for _ in 0..20 {
        let o = run(process(p, message));
        seen.push(o.clone());
        match o {
            Outcome::RetryAfter { seconds, .. } => p.advance_ms(i64::from(seconds) * 1000),
            _ => break,
        }
    }
    seen
}

fn deliver_parcel(p: &TestPlatform, s: &Shipping, shp: &str) {
    ok(set_status(p, s, shp, "in_transit"), 200);
    ok(set_status(p, s, shp, "delivered"), 200);
}

#[test]
fn automation_steps_run_once_after_delivery_retry_by_their_policy_then_need_a_person() {
    let p = TestPlatform::new();
    let s = setup(&p);
    let install = scenario(&p, &s, "first_time_install", 3);
    scenario(&p, &s, "replacement", 2);
    let r = build(
        &p,
        &s,
        json!({ "lines": [
            { "order_item_id": s.items[0], "quantity": 20, "automation_steps": [{ "scenario": "first_time_install", "payload": { "sensor": "S-1" } }] },
            { "order_item_id": s.items[1], "quantity": 2, "automation_steps": [{ "scenario": "replacement" }] } ],
            "address": { "name": "Dock", "line1": "1 Pier Rd", "city": "Halifax", "country": "CA" },
            "courier": "dhl", "tracking_number": "JD-AUTO" }),
    );
    let shp = id(&ok(r, 201));
    let bad = build(
        &p,
        &s,
        json!({ "lines": [{ "order_item_id": s.items[0], "quantity": 1, "automation_steps": [{ "scenario": "teleport" }] }] }),
    );
    assert_eq!(
        bad.body_json()["errors"][0]["field"],
        "lines[0].automation_steps[0].scenario"
    );
    let steps = ok(
        admin(
            &p,
            &s.store,
            Method::Get,
            &format!("/admin/api/v1/shipments/{shp}/automation-steps"),
            None,
        ),
        200,
    );
    let (install_step, replace_step) = (id(&steps["data"][0]), id(&steps["data"][1]));
    assert_eq!(steps["data"][0]["payload"]["sensor"], "S-1");
    assert!(
        steps["data"][0]["due_at"].is_null(),
        "not due before delivery"
    );

    // Delivered, and the courier says so twice: each step comes due once.
    ok(set_status(&p, &s, &shp, "in_transit"), 200);
    let delivered = json!({ "id": "dl1", "tracking_number": "JD-AUTO", "status": "delivered", "occurred_at": "2026-09-22T15:00:00Z" });
    ok(courier_event(&p, "dhl", &delivered, COURIER_SECRET), 200);
    p.exec("DELETE FROM inbound_events WHERE event_id = 'dl1'");
    ok(courier_event(&p, "dhl", &delivered, COURIER_SECRET), 200);
    let messages = p.queued_of("automation");
    assert_eq!(messages.len(), 2, "{messages:?}");

    // The endpoint fails twice, then takes it: three calls, never four.
    let url = "http://legacy.test/first_time_install";
    p.serve(url, 500, &json!({ "error": "busy" }));
    let first = run(process(&p, &messages[0]));
    assert!(
        matches!(first, Outcome::RetryAfter { seconds: 5, .. }),
        "{first:?}"
    );
    assert_eq!(
        run(process(&p, &messages[0])),
        Outcome::RetryAfter {
            seconds: 5,
            reason: Some("not due yet".into())
        }
    );
    p.advance_ms(5000);
    p.serve(url, 503, &json!({}));
    assert!(matches!(
        run(process(&p, &messages[0])),
        Outcome::RetryAfter { .. }
    ));
    p.advance_ms(5000);
    p.serve(url, 200, &json!({ "ok": true }));
    assert_eq!(run(process(&p, &messages[0])), Outcome::Done);
    assert!(matches!(
        run(process(&p, &messages[0])),
        Outcome::Dropped { .. }
    ));
    let calls = p.sent_to(url);
    assert_eq!(calls.len(), 3);
    assert!(
        calls
            .iter()
            .all(|c| header(c, "webhook-id") == install_step && signed_with(c, &install))
    );
    let body: Value = serde_json::from_slice(calls[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(
        (
            body["data"]["payload"]["sensor"].as_str(),
            body["data"]["line"]["sku"].as_str()
        ),
        (Some("S-1"), Some("ANC-1"))
    );
    let step = |id: &str| {
        ok(
            admin(
                &p,
                &s.store,
                Method::Get,
                &format!("/admin/api/v1/shipments/{shp}/automation-steps"),
                None,
            ),
            200,
        )["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(
        (
            step(&install_step)["status"].as_str(),
            step(&install_step)["attempts"].as_i64()
        ),
        (Some("succeeded"), Some(3))
    );

    // Always failing: failed after its two attempts, an event and a task for a person.
    p.serve("http://legacy.test/replacement", 500, &json!({}));
    let outcomes = drain(&p, &messages[1]);
    assert_eq!(outcomes.last(), Some(&Outcome::Done));
    assert_eq!(p.sent_to("http://legacy.test/replacement").len(), 2);
    assert_eq!(step(&replace_step)["status"], "failed");
    assert_eq!(
        p.count(&format!("SELECT COUNT(*) FROM domain_events WHERE type = 'automation.step_failed' AND payload LIKE '%{replace_step}%'")),
        1
    );
    let tasks = ok(
        admin(
            &p,
            &s.store,
            Method::Get,
            "/admin/api/v1/operator-tasks",
            None,
        ),
        200,
    );
    assert_eq!(tasks["data"][0]["subject_id"], replace_step.as_str());
    assert_eq!(tasks["data"][0]["kind"], "automation_step_failed");

    // An operator retries it; the task is resolved and the step runs again.
    let r = admin(
        &p,
        &s.store,
        Method::Post,
        &format!("/admin/api/v1/automation-steps/{replace_step}/retry"),
        None,
    );
    assert_eq!(ok(r, 200)["status"], "pending");
    assert_eq!(
        ok(
            admin(
                &p,
                &s.store,
                Method::Get,
                "/admin/api/v1/operator-tasks",
                None
            ),
            200
        )["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    p.serve("http://legacy.test/replacement", 200, &json!({}));
    let again = p.queued_of("automation");
    assert_eq!(
        drain(&p, again.last().unwrap()).last(),
        Some(&Outcome::Done)
    );
    assert_eq!(step(&replace_step)["status"], "succeeded");
    // Done by hand is only for open steps.
    let r = admin(
        &p,
        &s.store,
        Method::Post,
        &format!("/admin/api/v1/automation-steps/{replace_step}/fallback"),
        Some(json!({ "note": "called them" })),
    );
    assert_eq!(r.status, 409, "{}", text(&r));
    assert_eq!(problem_type(r), "step_not_open");
}

#[test]
fn webhook_subscribers_get_signed_events_retried_with_backoff_and_a_failing_endpoint_is_disabled() {
    let p = TestPlatform::new();
    let s = setup(&p);
    let r = admin(
        &p,
        &s.store,
        Method::Patch,
        "/admin/api/v1/store",
        Some(json!({ "settings": { "operations_email": "ops@harbour.test" } })),
    );
    assert_eq!(r.status, 200, "{}", text(&r));
    let bad = admin(
        &p,
        &s.store,
        Method::Post,
        "/admin/api/v1/webhook-endpoints",
        Some(json!({ "url": "ftp://x", "event_types": ["order.paid"] })),
    );
    assert_eq!(bad.status, 422);
    let e = ok(
        admin(
            &p,
            &s.store,
            Method::Post,
            "/admin/api/v1/webhook-endpoints",
            Some(
                json!({ "url": "http://erp.test/hooks", "event_types": ["shipment.delivered", "shipment.drafted"] }),
            ),
        ),
        201,
    );
    let (endpoint, secret) = (id(&e), e["secret"].as_str().unwrap().to_owned());
    let listed = ok(
        admin(
            &p,
            &s.store,
            Method::Get,
            "/admin/api/v1/webhook-endpoints",
            None,
        ),
        200,
    );
    assert_ne!(listed["data"][0]["secret"], secret.as_str(), "shown once");

    // A delivered parcel: its event goes to the subscriber, signed.
    p.serve("http://erp.test/hooks", 200, &json!({}));
    let shp = id(&ok(
        build(
            &p,
            &s,
            json!({ "lines": [{ "order_item_id": s.items[1], "quantity": 1 }],
            "address": { "name": "Dock", "line1": "1 Pier Rd", "city": "Halifax", "country": "CA" }, "courier": "usps", "tracking_number": "WH-1" }),
        ),
        201,
    ));
    deliver_parcel(&p, &s, &shp);
    let messages = p.queued_of("webhook");
    assert_eq!(
        messages.len(),
        1,
        "the delivered parcel's event, dispatched at once: {messages:?}"
    );
    assert_eq!(run(process(&p, &messages[0])), Outcome::Done);
    let sent = p.sent_to("http://erp.test/hooks");
    assert_eq!(sent.len(), 1);
    assert!(signed_with(&sent[0], &secret));
    let body: Value = serde_json::from_slice(sent[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(body["type"], "shipment.delivered");
    assert_eq!(body["data"]["aggregate_id"], shp.as_str());
    // Run again: nothing is sent twice.
    assert_eq!(run(process(&p, &messages[0])), Outcome::Done);
    assert_eq!(p.sent_to("http://erp.test/hooks").len(), 1);
    // The drafted event waits for the sweep (no request dispatched it).
    let drafted = p.text(&format!(
        "SELECT id FROM domain_events WHERE type = 'shipment.drafted' AND aggregate_id = '{shp}'"
    ));
    assert_eq!(
        p.count(&format!(
            "SELECT COUNT(*) FROM outbox WHERE id = 'webhook:{drafted}' AND sent_at IS NULL"
        )),
        1
    );

    // Down: each event is retried with backoff, then fails for good; five in a row
    // disable the endpoint, with a task and an email to the store.
    p.serve("http://erp.test/hooks", 500, &json!({}));
    p.serve(
        "http://email.test/v3/smtp/email",
        201,
        &json!({ "messageId": "<m1>" }),
    );
    let mut events = Vec::new();
    for n in 0..5 {
        let r = build(
            &p,
            &s,
            json!({ "lines": [{ "order_item_id": s.items[0], "quantity": 1 }],
            "address": { "name": "Dock", "line1": "1 Pier Rd", "city": "Halifax", "country": "CA" } }),
        );
        let parcel = id(&ok(r, 201));
        let ev = p.text(&format!("SELECT id FROM domain_events WHERE type = 'shipment.drafted' AND aggregate_id = '{parcel}'"));
        let out = drain(
            &p,
            &json!({ "kind": "webhook", "event_id": ev, "store_id": s.store.id }),
        );
        let waits: Vec<u32> = out
            .iter()
            .filter_map(|o| match o {
                Outcome::RetryAfter { seconds, .. } => Some(*seconds),
                _ => None,
            })
            .collect();
        assert_eq!(waits, [2, 10, 60, 300, 1800, 7200, 21600], "delivery {n}");
        events.push(ev);
    }
    let e = ok(
        admin(
            &p,
            &s.store,
            Method::Get,
            &format!("/admin/api/v1/webhook-endpoints/{endpoint}"),
            None,
        ),
        200,
    );
    assert_eq!(e["status"], "disabled");
    assert!(
        e["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("5 deliveries in a row failed"),
        "{e}"
    );
    let mail = p.sent_to("http://email.test/v3/smtp/email");
    assert_eq!(mail.len(), 1);
    assert!(String::from_utf8_lossy(mail[0].body.as_deref().unwrap()).contains("ops@harbour.test"));
    let tasks = ok(
        admin(
            &p,
            &s.store,
            Method::Get,
            "/admin/api/v1/operator-tasks",
            None,
        ),
        200,
    );
    assert_eq!(tasks["data"][0]["kind"], "webhook_endpoint_disabled");
    let deliveries = ok(
        admin(
            &p,
            &s.store,
            Method::Get,
            &format!("/admin/api/v1/webhook-endpoints/{endpoint}/deliveries?status=failed"),
            None,
        ),
        200,
    );
    assert_eq!(deliveries["data"].as_array().unwrap().len(), 5);
    assert_eq!(
        deliveries["data"][0]["attempt_log"]
            .as_array()
            .unwrap()
            .len(),
        8
    );

    // Back up: enabled again (the task resolved), a failed delivery is re-sent, once more.
    p.serve("http://erp.test/hooks", 200, &json!({}));
    let r = admin(
        &p,
        &s.store,
        Method::Patch,
        &format!("/admin/api/v1/webhook-endpoints/{endpoint}"),
        Some(json!({ "enabled": true })),
    );
    assert_eq!(ok(r, 200)["consecutive_failures"], 0);
    assert_eq!(
        ok(
            admin(
                &p,
                &s.store,
                Method::Get,
                "/admin/api/v1/operator-tasks",
                None
            ),
            200
        )["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let failed = id(&deliveries["data"][0]);
    let r = admin(
        &p,
        &s.store,
        Method::Post,
        &format!("/admin/api/v1/webhook-deliveries/{failed}/resend"),
        None,
    );
    assert_eq!(ok(r, 200)["status"], "pending");
    let resent = p.queued_of("webhook");
    assert_eq!(run(process(&p, resent.last().unwrap())), Outcome::Done);
    let d = ok(
        admin(
            &p,
            &s.store,
            Method::Get,
            &format!("/admin/api/v1/webhook-deliveries/{failed}"),
            None,
        ),
        200,
    );
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_i64()),
        (Some("succeeded"), Some(9))
    );
    let r = admin(
        &p,
        &s.store,
        Method::Post,
        &format!("/admin/api/v1/webhook-deliveries/{failed}/resend"),
        None,
    );
    assert_eq!(
        ok(r, 200)["status"],
        "pending",
        "a delivered message can be sent again too"
    );
}

#[test]
fn job_runs_timelines_and_metrics_tell_operators_what_happened() {
    let p = TestPlatform::new();
    let s = setup(&p);
    scenario(&p, &s, "first_time_install", 2);
    let shp = id(&ok(
        build(
            &p,
            &s,
            json!({ "lines": [{ "order_item_id": s.items[1], "quantity": 2, "automation_steps": [{ "scenario": "first_time_install" }] }],
            "address": { "name": "Dock", "line1": "1 Pier Rd", "city": "Halifax", "country": "CA" }, "courier": "usps", "tracking_number": "TL-1" }),
        ),
        201,
    ));
    ok(set_status(&p, &s, &shp, "in_transit"), 200);
    p.advance_ms(60_000);
    ok(
        courier_event(
            &p,
            "usps",
            &json!({ "id": "tl-d", "tracking_number": "TL-1", "status": "delivered", "occurred_at": "2026-09-22T15:00:00Z" }),
            COURIER_SECRET,
        ),
        200,
    );

    // Each message is a job run: one row across its retries.
    let step = p.queued_of("automation").remove(0);
    p.serve("http://legacy.test/first_time_install", 500, &json!({}));
    let first = run(lading_core::queue::process_recorded(
        &p,
        "m-auto",
        Some(p.now_ms() - 1500),
        &step,
    ));
    assert!(matches!(first, Outcome::RetryAfter { .. }));
    let runs = ok(
        admin(
            &p,
            &s.store,
            Method::Get,
            "/admin/api/v1/job-runs?queue=lading-fulfillment",
            None,
        ),
        200,
    );
    let r0 = &runs["data"][0];
    assert_eq!(
        (
            r0["kind"].as_str(),
            r0["status"].as_str(),
            r0["attempt"].as_i64()
        ),
        (Some("automation"), Some("delayed"), Some(1))
    );
    assert_eq!(r0["wait_ms"], 1500);
    assert!(
        r0["next_retry_at"].is_string()
            && r0["last_error"].as_str().unwrap().contains("answered 500"),
        "{r0}"
    );
    p.advance_ms(5_000);
    p.serve("http://legacy.test/first_time_install", 200, &json!({}));
    assert_eq!(
        run(lading_core::queue::process_recorded(
            &p, "m-auto", None, &step
        )),
        Outcome::Done
    );
    let runs = ok(
        admin(
            &p,
            &s.store,
            Method::Get,
            &format!(
                "/admin/api/v1/job-runs?entity_id={}",
                step["step_id"].as_str().unwrap()
            ),
            None,
        ),
        200,
    );
    assert_eq!(runs["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        (
            runs["data"][0]["status"].as_str(),
            runs["data"][0]["attempt"].as_i64()
        ),
        (Some("completed"), Some(2))
    );
    // Cron runs too, each job its own row.
    run(jobs::run_cron(&p, jobs::FIVE_MINUTES));
    let crons = ok(
        admin(
            &p,
            &s.store,
            Method::Get,
            "/admin/api/v1/job-runs?queue=cron&limit=200",
            None,
        ),
        200,
    );
    let kinds: Vec<&str> = crons["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    for job in [
        "poll_couriers",
        "send_due_webhooks",
        "run_due_automation",
        "send_alerts",
    ] {
        assert!(kinds.contains(&job), "{kinds:?}");
    }
    assert!(
        crons["summary"]
            .as_array()
            .unwrap()
            .iter()
            .any(|q| q["queue"] == "cron" && q["status"] == "completed")
    );
    let bad = admin(
        &p,
        &s.store,
        Method::Get,
        "/admin/api/v1/job-runs?status=stuck",
        None,
    );
    assert_eq!(bad.status, 422);

    // The order's timeline: payment, the parcel's life, the courier, automation, emails.
    let t = ok(
        admin(
            &p,
            &s.store,
            Method::Get,
            &format!("/admin/api/v1/orders/{}/timeline", s.order_id),
            None,
        ),
        200,
    );
    let types: Vec<&str> = t["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    for kind in [
        "order.paid",
        "shipment.drafted",
        "shipment.in_transit",
        "courier.delivered",
        "shipment.delivered",
        "automation.step_queued",
        "automation.step_succeeded",
        "email.order_confirmation",
        "email.shipped",
    ] {
        assert!(types.contains(&kind), "{kind} in {types:?}");
    }
    let at: Vec<&str> = t["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["at"].as_str().unwrap())
        .collect();
    assert!(at.windows(2).all(|w| w[0] <= w[1]), "oldest first: {at:?}");
    let t = ok(
        admin(
            &p,
            &s.store,
            Method::Get,
            &format!("/admin/api/v1/shipments/{shp}/timeline"),
            None,
        ),
        200,
    );
    let sources: Vec<&str> = t["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["source"].as_str().unwrap())
        .collect();
    assert!(
        sources.contains(&"courier")
            && sources.contains(&"automation")
            && !sources.contains(&"email"),
        "{sources:?}"
    );

    // Metrics: the numbers are the rows, readable with a metrics key that reads nothing else.
    let key = ok(
        admin(
            &p,
            &s.store,
            Method::Post,
            "/admin/api/v1/admin-keys",
            Some(json!({ "role": "metrics", "label": "prometheus" })),
        ),
        201,
    )["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let scrape = |key: &str, path: &str| {
        call(
            &p,
            "admin",
            req(Method::Get, path).header("authorization", &format!("Bearer {key}")),
        )
    };
    let m = scrape(&key, "/admin/api/v1/metrics");
    assert_eq!(m.status, 200, "{}", text(&m));
    assert_eq!(
        m.get_header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert_eq!(scrape(&key, "/admin/api/v1/orders").status, 403);
    let body = text(&m);
    let value = |line: &str| -> f64 {
        body.lines()
            .find_map(|l| l.strip_prefix(line).and_then(|v| v.trim().parse().ok()))
            .unwrap_or_else(|| panic!("{line} in\n{body}"))
    };
    assert_eq!(value("lading_orders_paid_total "), 1.0);
    assert_eq!(
        value("lading_shipments{status=\"delivered\"} "),
        p.count("SELECT COUNT(*) FROM shipments WHERE status = 'delivered'") as f64
    );
    assert_eq!(value("lading_automation_steps{status=\"succeeded\"} "), 1.0);
    assert_eq!(value("lading_automation_success_ratio "), 1.0);
    assert_eq!(value("lading_shipment_delivery_time_seconds_count "), 1.0);
    assert_eq!(value("lading_shipment_delivery_time_seconds_sum "), 60.0);
    assert_eq!(value("lading_fulfillment_lead_time_seconds_count "), 1.0);

    // Alerts: three failed steps in an hour post once to the chat webhook, not again that hour.
    let r = admin(
        &p,
        &s.store,
        Method::Patch,
        "/admin/api/v1/store",
        Some(json!({ "settings": { "alert_webhook_url": "http://chat.test/hook" } })),
    );
    assert_eq!(r.status, 200, "{}", text(&r));
    p.serve("http://chat.test/hook", 200, &json!({ "ok": true }));
    let line = p.text(&format!(
        "SELECT id FROM fulfillment_order_lines WHERE order_item_id = '{}'",
        s.items[1]
    ));
    for n in 0..3 {
        p.exec(&format!(
            "INSERT INTO automation_steps (id, store_id, shipment_id, fulfillment_order_line_id, scenario, status, max_attempts, created_at, updated_at) \
             VALUES ('step_f{n}', '{}', '{shp}', '{line}', 'first_time_install', 'failed', 2, {1}, {1})",
            s.store.id,
            p.now_ms()
        ));
    }
    run(jobs::run_cron(&p, jobs::FIVE_MINUTES));
    run(jobs::run_cron(&p, jobs::FIVE_MINUTES));
    let alerts = p.sent_to("http://chat.test/hook");
    assert_eq!(alerts.len(), 1);
    assert!(
        String::from_utf8_lossy(alerts[0].body.as_deref().unwrap())
            .contains("3 automation step(s) failed")
    );
}
