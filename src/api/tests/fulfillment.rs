//! Fulfillment on real SQLite: routing in the paying batch, outbox → queue, the consumer's
//! claim and lease, provider answers (fixed per URL here; the local-stack suite runs the
//! simulator), webhooks, Gooten polling, the admin API.

mod support;

use hmac::{Hmac, Mac};
use lading_api::http::{Method, Response};
use lading_core::jobs;
use lading_core::payments::stripe_signature;
use lading_core::ports::Platform as _;
use lading_core::queue::{Outcome, process};
use serde_json::{Value, json};
use sha2::Sha256;
use support::*;

const PRINTFUL_CREATE: &str = "http://printful.test/orders?confirm=1";
const PRODIGI_CREATE: &str = "http://prodigi.test/v4.0/Orders";
const GOOTEN_CREATE: &str = "http://gooten.test/api/v/5/source/api/orders/?recipeid=recipe-1";

/// A store with provider accounts, a product with a Printful, a Prodigi, a Gooten and a
/// digital variant (mapped), and a paid order of one of each.
struct Paid {
    store: Store,
    order_id: String,
    fos: Vec<(String, String)>,
}

fn setup(p: &TestPlatform) -> Paid {
    let store = create_store(p, "FF");
    let r = admin(
        p,
        &store,
        Method::Patch,
        "/admin/api/v1/store",
        Some(json!({ "settings": {
        "success_url": "https://shop.test/thanks", "cancel_url": "https://shop.test/cart",
        "providers": {
            "printful": { "api_key": "pf-token", "account_id": "77", "webhook_secret": "pf-hook-secret" },
            "prodigi": { "api_key": "pd-key", "webhook_secret": "pd-hmac-secret" },
            "gooten": { "api_key": "gt-billing", "account_id": "recipe-1" }
        } } })),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        r.body_json()["settings"]["providers"]["printful"]["api_key"],
        "********"
    );
    let r = admin(
        p,
        &store,
        Method::Post,
        "/admin/api/v1/products",
        Some(json!({
        "title": "Harbour", "slug": "harbour", "status": "active",
        "variants": [
            { "sku": "H-PF", "kind": "physical", "price_amount": 3000, "fulfillment_provider": "printful" },
            { "sku": "H-PD", "kind": "physical", "price_amount": 4000, "fulfillment_provider": "prodigi" },
            { "sku": "H-GT", "kind": "physical", "price_amount": 2000, "fulfillment_provider": "gooten" },
            { "sku": "H-PDF", "kind": "digital", "price_amount": 900, "digital_asset_key": "assets/h.pdf" }
        ] })),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let v: Vec<String> = r.body_json()["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect();
    for (variant, provider, ext) in [
        (&v[0], "printful", "4012"),
        (&v[1], "prodigi", "GLOBAL-CFPM-16X20"),
        (&v[2], "gooten", "CanvsWrp-BlkWrp-10x10"),
    ] {
        let r = admin(
            p,
            &store,
            Method::Put,
            &format!("/admin/api/v1/variants/{variant}/provider-mappings/{provider}"),
            Some(json!({ "external_variant_id": ext, "cost_amount": 1000 })),
        );
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
    p.exec(&format!(
        "INSERT INTO design_placements (id, variant_id, area, image_url, created_at) VALUES ('dp1', '{}', 'front', 'https://files.test/harbour.png', 1)",
        v[0]
    ));
    let t = shop(p, &store, Method::Post, "/v1/carts", None, None).body_json()["cart_token"]
        .as_str()
        .unwrap()
        .to_owned();
    for variant in &v {
        let r = shop(
            p,
            &store,
            Method::Post,
            "/v1/carts/current/items",
            Some(&t),
            Some(json!({ "variant_id": variant, "quantity": 1 })),
        );
        assert_eq!(r.status, 200);
    }
    p.serve(
        "http://stripe.test/v1/checkout/sessions",
        200,
        &json!({ "id": "cs_ff", "url": "https://checkout.test/cs_ff" }),
    );
    let r = shop(
        p,
        &store,
        Method::Post,
        "/v1/checkout/sessions",
        Some(&t),
        Some(json!({ "email": "ada@example.com" })),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let o = r.body_json()["order"].clone();
    let (sub, ship) = (
        o["subtotal"].as_i64().unwrap(),
        o["shipping"].as_i64().unwrap(),
    );
    let event = json!({ "id": "evt_ff_paid", "object": "event", "type": "checkout.session.completed", "created": 1_790_000_000,
        "data": { "object": { "id": "cs_ff", "object": "checkout.session", "payment_status": "paid", "payment_intent": "pi_ff",
            "amount_subtotal": sub, "amount_total": sub + ship, "currency": "usd", "total_details": { "amount_discount": 0, "amount_shipping": ship, "amount_tax": 0 },
            "customer_details": { "email": "ada@example.com" },
            "collected_information": { "shipping_details": { "name": "Ada Lovelace", "address": { "line1": "2 Quay St", "city": "Bristol", "postal_code": "BS1 4DJ", "country": "GB" } } },
            "metadata": { "order_id": o["id"], "store_id": store.id } } } });
    let body = serde_json::to_vec(&event).unwrap();
    let t = p.now_ms() / 1000;
    let mut r = req(Method::Post, "/webhooks/stripe").header(
        "stripe-signature",
        &format!(
            "t={t},v1={}",
            stripe_signature::sign(WEBHOOK_SECRET, t, &body)
        ),
    );
    r.body = body;
    let r = call(p, "webhooks", r);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let order_id = o["id"].as_str().unwrap().to_owned();
    let fos = fos(p, &order_id);
    Paid {
        store,
        order_id,
        fos,
    }
}

/// (provider, fulfillment order id) of an order, by provider.
fn fos(p: &TestPlatform, order_id: &str) -> Vec<(String, String)> {
    let conn = p.db.conn();
    let mut st = conn
        .prepare("SELECT provider, id FROM fulfillment_orders WHERE order_id = ? ORDER BY provider")
        .unwrap();
    st.query_map([order_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn fo_of<'a>(paid: &'a Paid, provider: &str) -> &'a str {
    &paid.fos.iter().find(|(pr, _)| pr == provider).unwrap().1
}

fn status(p: &TestPlatform, table: &str, id: &str) -> String {
    p.db.conn()
        .query_row(
            &format!("SELECT status FROM {table} WHERE id = ?"),
            [id],
            |r| r.get(0),
        )
        .unwrap()
}

fn fulfil(p: &TestPlatform, fo: &str) -> Outcome {
    run(process(
        p,
        &json!({ "kind": "fulfil", "fulfillment_order_id": fo, "provider": "x", "store_id": "x" }),
    ))
}

fn serve_providers_ok(p: &TestPlatform) {
    p.serve(PRINTFUL_CREATE, 200, &json!({ "code": 200, "result": { "id": 9001, "status": "pending", "costs": { "total": "12.50" } } }));
    p.serve(
        PRODIGI_CREATE,
        200,
        &json!({ "outcome": "Created", "order": { "id": "ord_pd_1" } }),
    );
    p.serve(GOOTEN_CREATE, 200, &json!({ "Id": "GT-1" }));
}

#[test]
fn a_paid_order_is_routed_per_provider_in_the_paying_batch_and_queued_once() {
    let p = TestPlatform::new();
    let paid = setup(&p);
    let providers: Vec<&str> = paid.fos.iter().map(|(pr, _)| pr.as_str()).collect();
    assert_eq!(
        providers,
        ["gooten", "printful", "prodigi"],
        "digital items make none"
    );
    assert_eq!(p.count("SELECT COUNT(*) FROM fulfillment_order_lines"), 3);
    assert_eq!(
        p.count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL AND kind = 'fulfil'"),
        3
    );
    let queued: Vec<Value> = p
        .queued
        .borrow()
        .iter()
        .filter(|m| m["kind"] == "fulfil")
        .cloned()
        .collect();
    assert_eq!(queued.len(), 3);
    // Beside them, the confirmation and files-ready emails (one digital item).
    assert_eq!(p.queued_of("email").len(), 2);
    // Mapped variant ids and cost estimates travel with the lines.
    assert_eq!(
        p.count("SELECT COUNT(*) FROM fulfillment_order_lines WHERE external_variant_id = '4012'"),
        1
    );
    assert_eq!(
        p.count("SELECT SUM(cost_estimated) FROM fulfillment_orders"),
        3000
    );
    // The sweep finds nothing left to send.
    p.advance_ms(120_000);
    let r = run(jobs::run_cron(&p, jobs::FIVE_MINUTES));
    let sweep = r
        .iter()
        .find(|j| j.job == "recover_stuck_fulfillment")
        .unwrap();
    assert_eq!(sweep.changed, 0, "{r:?}");
    assert_eq!(p.queued.borrow().len(), 5);
}

#[test]
fn an_unsent_outbox_row_is_sent_by_the_sweep() {
    let p = TestPlatform::new();
    p.queue_down.set(true);
    let paid = setup(&p);
    assert!(p.queued.borrow().is_empty());
    assert_eq!(
        p.count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL"),
        5,
        "three fulfil, two email"
    );
    p.queue_down.set(false);
    p.advance_ms(61_000);
    run(jobs::run_cron(&p, jobs::FIVE_MINUTES));
    assert_eq!(p.queued.borrow().len(), 5);
    assert_eq!(
        p.count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL"),
        0
    );
    assert_eq!(paid.fos.len(), 3);
}

#[test]
fn each_provider_receives_its_order_once_with_our_reference() {
    let p = TestPlatform::new();
    let paid = setup(&p);
    serve_providers_ok(&p);
    for (_, fo) in &paid.fos {
        assert_eq!(fulfil(&p, fo), Outcome::Done);
        // The same message again finds nothing to do, and writes nothing anywhere.
        let before = p.contents();
        assert!(matches!(fulfil(&p, fo), Outcome::Dropped { .. }));
        assert_eq!(p.contents(), before);
    }
    for (url, n) in [
        (PRINTFUL_CREATE, 1),
        (PRODIGI_CREATE, 1),
        (GOOTEN_CREATE, 1),
    ] {
        assert_eq!(p.sent_to(url).len(), n, "{url}");
    }
    let pf = &p.sent_to(PRINTFUL_CREATE)[0];
    let body: Value = serde_json::from_slice(pf.body.as_deref().unwrap()).unwrap();
    assert_eq!(body["external_id"], fo_of(&paid, "printful"));
    assert_eq!(body["recipient"]["city"], "Bristol");
    assert_eq!(body["items"][0]["variant_id"], 4012);
    assert_eq!(
        body["items"][0]["files"][0]["url"],
        "https://files.test/harbour.png"
    );
    assert!(pf.headers.contains(&("x-pf-store-id".into(), "77".into())));
    let pd: Value =
        serde_json::from_slice(p.sent_to(PRODIGI_CREATE)[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(pd["idempotencyKey"], fo_of(&paid, "prodigi"));
    let gt: Value =
        serde_json::from_slice(p.sent_to(GOOTEN_CREATE)[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(
        (
            gt["SourceId"].as_str(),
            gt["IsPartnerSourceIdUnique"].as_bool()
        ),
        (Some(fo_of(&paid, "gooten")), Some(true))
    );
    for (_, fo) in &paid.fos {
        assert_eq!(status(&p, "fulfillment_orders", fo), "submitted");
    }
    assert_eq!(
        p.count("SELECT cost_actual FROM fulfillment_orders WHERE provider = 'printful'"),
        1250
    );
    assert_eq!(status(&p, "orders", &paid.order_id), "processing");
}

#[test]
fn a_claim_whose_lease_ran_out_is_recovered_by_looking_the_order_up_first() {
    let p = TestPlatform::new();
    let paid = setup(&p);
    let fo = fo_of(&paid, "printful").to_owned();
    // A consumer claimed it, reached Printful, and died before recording the answer.
    p.exec(&format!("UPDATE fulfillment_orders SET status = 'submitting', submit_started = 1, lease_until = {} WHERE id = '{fo}'", p.now_ms() + 1000));
    assert!(
        matches!(fulfil(&p, &fo), Outcome::Dropped { .. }),
        "the lease still holds"
    );
    p.advance_ms(2000);
    p.serve(
        &format!("http://printful.test/orders/@{fo}"),
        200,
        &json!({ "code": 200, "result": { "id": 9002, "external_id": fo } }),
    );
    let r = run(jobs::run_cron(&p, jobs::FIVE_MINUTES));
    assert!(
        r.iter()
            .any(|j| j.job == "recover_stuck_fulfillment" && j.changed >= 1),
        "{r:?}"
    );
    assert_eq!(fulfil(&p, &fo), Outcome::Done);
    assert_eq!(
        p.sent_to(PRINTFUL_CREATE).len(),
        0,
        "found, not created again"
    );
    assert_eq!(
        p.count(&format!(
            "SELECT CAST(external_id AS INTEGER) FROM fulfillment_orders WHERE id = '{fo}'"
        )),
        9002
    );
}

#[test]
fn provider_outages_are_retried_and_refusals_fail_until_an_operator_retries() {
    let p = TestPlatform::new();
    let paid = setup(&p);
    let fo = fo_of(&paid, "printful").to_owned();
    p.serve(
        PRINTFUL_CREATE,
        503,
        &json!({ "code": 503, "error": { "reason": "Unavailable", "message": "try later" } }),
    );
    match fulfil(&p, &fo) {
        Outcome::RetryAfter { seconds, reason } => {
            assert_eq!(seconds, 30);
            assert!(reason.unwrap().contains("503"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(status(&p, "fulfillment_orders", &fo), "pending");
    // Second attempt: the earlier one may have reached Printful, so it looks first.
    p.serve(
        PRINTFUL_CREATE,
        200,
        &json!({ "code": 200, "result": { "id": 9003 } }),
    );
    p.serve(
        &format!("http://printful.test/orders/@{fo}"),
        404,
        &json!({ "code": 404, "error": { "message": "Not found" } }),
    );
    assert_eq!(fulfil(&p, &fo), Outcome::Done);
    assert_eq!(
        p.sent_to(&format!("http://printful.test/orders/@{fo}"))
            .len(),
        1
    );
    assert_eq!(status(&p, "fulfillment_orders", &fo), "submitted");

    // A refusal fails it with Prodigi's reason, visible in the admin API.
    let pd = fo_of(&paid, "prodigi").to_owned();
    p.serve(PRODIGI_CREATE, 400, &json!({ "outcome": "ValidationFailed", "failures": { "recipient.address.postalOrZipCode": [{ "code": "NotValid" }] } }));
    assert_eq!(fulfil(&p, &pd), Outcome::Done);
    assert_eq!(status(&p, "fulfillment_orders", &pd), "failed");
    let list = admin(
        &p,
        &paid.store,
        Method::Get,
        "/admin/api/v1/fulfillment-orders?status=failed",
        None,
    );
    assert_eq!(list.status, 200, "{}", String::from_utf8_lossy(&list.body));
    let failed = &list.body_json()["data"][0];
    assert_eq!(failed["id"], pd.as_str());
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("postalOrZipCode"),
        "{failed}"
    );
    // Retrying works only from failed; it queues the order again.
    let not_failed = admin(
        &p,
        &paid.store,
        Method::Post,
        &format!("/admin/api/v1/fulfillment-orders/{fo}/retry"),
        None,
    );
    assert_eq!(
        (not_failed.status, not_failed.body_json()["type"].as_str()),
        (409, Some("not_retryable"))
    );
    let before = p.queued.borrow().len();
    let r = admin(
        &p,
        &paid.store,
        Method::Post,
        &format!("/admin/api/v1/fulfillment-orders/{pd}/retry"),
        None,
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.body_json()["status"], "pending");
    assert_eq!(p.queued.borrow().len(), before + 1);
    serve_providers_ok(&p);
    assert_eq!(fulfil(&p, &pd), Outcome::Done);
    assert_eq!(status(&p, "fulfillment_orders", &pd), "submitted");

    // An outage that outlasts 8 attempts: failed, and the message is dead-lettered.
    let gt = fo_of(&paid, "gooten").to_owned();
    p.serve(GOOTEN_CREATE, 502, &json!({ "HadError": true }));
    for attempt in 1..=8 {
        match fulfil(&p, &gt) {
            Outcome::RetryAfter { .. } if attempt < 8 => {}
            Outcome::DeadLetter { reason } if attempt == 8 => {
                assert!(reason.contains("gave up after 8 attempts"), "{reason}")
            }
            other => panic!("attempt {attempt}: {other:?}"),
        }
    }
    assert_eq!(status(&p, "fulfillment_orders", &gt), "failed");
}

fn webhook(p: &TestPlatform, path: &str, body: &Value, headers: &[(&str, String)]) -> Response {
    let mut r = req(Method::Post, path).header("content-type", "application/json");
    for (k, v) in headers {
        r = r.header(k, v);
    }
    r.body = serde_json::to_vec(body).unwrap();
    call(p, "webhooks", r)
}

fn line_of(p: &TestPlatform, fo: &str) -> String {
    p.db.conn()
        .query_row(
            "SELECT id FROM fulfillment_order_lines WHERE fulfillment_order_id = ?",
            [fo],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn provider_webhooks_bring_parcels_and_the_order_status_follows() {
    let p = TestPlatform::new();
    let paid = setup(&p);
    serve_providers_ok(&p);
    for (_, fo) in &paid.fos {
        fulfil(&p, fo);
    }
    let pf = fo_of(&paid, "printful").to_owned();
    let shipped = json!({ "type": "package_shipped", "created": 1_790_000_100, "retries": 0, "store": 77, "data": {
        "order": { "id": 9001, "external_id": pf, "status": "fulfilled", "items": [{ "id": 55, "external_id": line_of(&p, &pf), "quantity": 1 }] },
        "shipment": { "id": 3001, "carrier": "USPS", "service": "First Class", "tracking_number": "9400100000000000000001",
                      "tracking_url": "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400100000000000000001", "items": [{ "item_id": 55, "quantity": 1 }] } } });
    let before = p.row_counts();
    let r = webhook(&p, "/webhooks/printful?secret=wrong", &shipped, &[]);
    assert_eq!(r.status, 401);
    assert_eq!(p.row_counts(), before, "a forged webhook writes nothing");
    for i in 0..2 {
        let r = webhook(
            &p,
            "/webhooks/printful?secret=pf-hook-secret",
            &shipped,
            &[],
        );
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.body_json()["duplicate"], i > 0);
    }
    assert_eq!(status(&p, "fulfillment_orders", &pf), "shipped");
    assert_eq!(p.count("SELECT COUNT(*) FROM shipments"), 1);
    // Printful v2 signs the body instead (x-pf-webhook-signature, hex HMAC-SHA256).
    let returned = json!({ "type": "package_returned", "created": 1_790_000_150, "data": { "order": { "id": 9001, "external_id": pf } } });
    let mut m = Hmac::<Sha256>::new_from_slice(b"pf-hook-secret").unwrap();
    m.update(&serde_json::to_vec(&returned).unwrap());
    let v2 = hex::encode(m.finalize().into_bytes());
    assert_eq!(
        webhook(
            &p,
            "/webhooks/printful",
            &returned,
            &[("x-pf-webhook-signature", "ab".repeat(32))]
        )
        .status,
        401
    );
    let r = webhook(
        &p,
        "/webhooks/printful",
        &returned,
        &[("x-pf-webhook-signature", v2)],
    );
    assert_eq!(
        (r.status, r.body_json()["duplicate"].as_bool()),
        (200, Some(false))
    );
    assert_eq!(status(&p, "orders", &paid.order_id), "partially_shipped");

    // Prodigi: HMAC of the raw body with the store's secret.
    let pd = fo_of(&paid, "prodigi").to_owned();
    let event = json!({ "specversion": "1.0", "type": "com.prodigi.order.status.stage.changed#Complete", "id": "evt_pd_1", "time": "2026-11-21T10:00:00Z",
        "subject": "ord_pd_1", "data": { "order": { "id": "ord_pd_1", "merchantReference": pd, "status": { "stage": "Complete", "details": { "inProduction": "Complete", "shipping": "Complete" } },
            "items": [{ "id": "ori_1", "merchantReference": line_of(&p, &pd), "copies": 1 }],
            "shipments": [{ "id": "shp_1", "status": "Shipped", "carrier": { "name": "Royal Mail", "service": "Tracked 48" },
                            "tracking": { "number": "RM123456789GB", "url": "https://www.royalmail.com/track-your-item#/tracking-results/RM123456789GB" },
                            "items": [{ "itemId": "ori_1" }] }] } } });
    let body = serde_json::to_vec(&event).unwrap();
    let sign = |key: &str| {
        let mut m = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
        m.update(&body);
        hex::encode(m.finalize().into_bytes())
    };
    let before = p.row_counts();
    let r = webhook(
        &p,
        "/webhooks/prodigi",
        &event,
        &[("x-prodigi-signature", sign("not-the-secret"))],
    );
    assert_eq!(r.status, 401);
    assert_eq!(p.row_counts(), before);
    let r = webhook(
        &p,
        "/webhooks/prodigi",
        &event,
        &[("x-prodigi-signature", sign("pd-hmac-secret"))],
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(status(&p, "fulfillment_orders", &pd), "shipped");

    // Gooten by polling: still in production, then shipped.
    let gt = fo_of(&paid, "gooten").to_owned();
    let poll_url = "http://gooten.test/api/v/5/source/api/orders/?recipeid=recipe-1&id=GT-1";
    let answer = |status: &str, tracking: &str| {
        json!({ "Id": "GT-1", "NiceId": "N-1", "SourceId": gt, "Items": [
        { "SourceId": line_of(&p, &gt), "Sku": "CanvsWrp-BlkWrp-10x10", "Quantity": 1, "Status": status, "TrackingNumber": tracking,
          "TrackingUrl": "https://track.test/1Z999", "ShipCarrierName": "UPS" }] })
    };
    p.serve(poll_url, 200, &answer("In Production", ""));
    run(jobs::run_cron(&p, jobs::FIVE_MINUTES));
    assert_eq!(status(&p, "fulfillment_orders", &gt), "in_production");
    p.advance_ms(300_000);
    run(jobs::run_cron(&p, jobs::FIVE_MINUTES));
    assert_eq!(p.sent_to(poll_url).len(), 2);
    assert_eq!(
        p.count("SELECT COUNT(*) FROM inbound_events WHERE provider = 'gooten'"),
        1,
        "an unchanged answer is the same event"
    );
    p.serve(poll_url, 200, &answer("Shipped", "1Z999"));
    p.advance_ms(300_000);
    run(jobs::run_cron(&p, jobs::FIVE_MINUTES));
    assert_eq!(status(&p, "fulfillment_orders", &gt), "shipped");
    assert_eq!(status(&p, "orders", &paid.order_id), "shipped");
    assert_eq!(
        p.count(
            "SELECT COUNT(*) FROM shipments WHERE tracking_number = '1Z999' AND carrier = 'UPS'"
        ),
        1
    );

    // Tracking only moves forward: an older "in production" answer changes nothing.
    let r = webhook(
        &p,
        "/webhooks/printful?secret=pf-hook-secret",
        &json!({ "type": "order_remove_hold", "created": 1_790_000_200, "data": { "order": { "id": 9001, "external_id": pf } } }),
        &[],
    );
    assert_eq!(r.status, 200);
    assert_eq!(status(&p, "fulfillment_orders", &pf), "shipped");
    let detail = admin(
        &p,
        &paid.store,
        Method::Get,
        &format!("/admin/api/v1/fulfillment-orders/{pf}"),
        None,
    );
    assert_eq!(
        detail.body_json()["shipments"][0]["tracking_number"],
        "9400100000000000000001"
    );
    assert_eq!(detail.body_json()["lines"][0]["remaining_quantity"], 0);
}

#[test]
fn gooten_polling_is_spaced_and_capped_at_60_a_run() {
    let p = TestPlatform::new();
    let paid = setup(&p);
    serve_providers_ok(&p);
    fulfil(&p, fo_of(&paid, "gooten"));
    // 70 more submitted Gooten orders (as if from other paid orders).
    for i in 0..70 {
        p.exec(&format!(
            "INSERT INTO orders (id, store_id, order_number, status, financial_status, currency, subtotal_amount, total_amount, created_at, updated_at) \
             VALUES ('ord_x{i:02}', '{s}', 'FF-2026-X{i:07}', 'processing', 'paid', 'USD', 100, 100, 1, 1); \
             INSERT INTO fulfillment_orders (id, store_id, order_id, provider, status, external_id, currency, created_at, updated_at) \
             VALUES ('fo_extra_{i:02}', '{s}', 'ord_x{i:02}', 'gooten', 'submitted', 'GX-{i}', 'USD', 1, 1);",
            s = paid.store.id
        ));
    }
    let start = p.now_ms();
    run(jobs::run_cron(&p, jobs::FIVE_MINUTES));
    let polls = p.sent_to("http://gooten.test/api/v/5/source/api/orders/?recipeid=recipe-1&id=");
    assert_eq!(polls.len(), 60, "at most 60 a run");
    assert!(p.now_ms() - start >= 59 * 1000, "at least 1 s apart");
    // The next run starts with those not checked yet.
    run(jobs::run_cron(&p, jobs::FIVE_MINUTES));
    let polls = p.sent_to("http://gooten.test/api/v/5/source/api/orders/?recipeid=recipe-1&id=");
    let distinct: std::collections::HashSet<&str> = polls.iter().map(|r| r.url.as_str()).collect();
    assert_eq!(
        distinct.len(),
        71,
        "every order was checked within two runs"
    );
}

fn refunds_sent(p: &TestPlatform) -> Vec<i64> {
    p.sent_to("http://stripe.test/v1/refunds")
        .iter()
        .map(|r| {
            let form: Vec<(String, String)> = form_urlencoded::parse(r.body.as_deref().unwrap())
                .into_owned()
                .collect();
            form.iter()
                .find(|(k, _)| k == "amount")
                .unwrap()
                .1
                .parse()
                .unwrap()
        })
        .collect()
}

#[test]
fn cancellation_follows_each_fulfillment_order_and_refunds_what_was_cancelled() {
    let p = TestPlatform::new();
    let paid = setup(&p);
    serve_providers_ok(&p);
    for (_, fo) in &paid.fos {
        fulfil(&p, fo);
    }
    let (pf, pd, gt) = (
        fo_of(&paid, "printful").to_owned(),
        fo_of(&paid, "prodigi").to_owned(),
        fo_of(&paid, "gooten").to_owned(),
    );
    // Gooten already shipped its part; Printful can still stop; Prodigi is in production.
    p.exec(&format!(
        "UPDATE fulfillment_orders SET status = 'shipped' WHERE id = '{gt}'"
    ));
    p.serve(
        "http://printful.test/orders/9001",
        200,
        &json!({ "code": 200, "result": { "id": 9001, "status": "canceled" } }),
    );
    p.serve(
        "http://prodigi.test/v4.0/orders/ord_pd_1/actions/cancel",
        200,
        &json!({ "outcome": "FailedToCancel" }),
    );
    p.serve(
        "http://stripe.test/v1/refunds",
        200,
        &json!({ "id": "re_cancel_1", "object": "refund", "status": "succeeded" }),
    );
    let queued_before = p.queued.borrow().len();
    let r = admin(
        &p,
        &paid.store,
        Method::Post,
        &format!("/admin/api/v1/orders/{}/cancel", paid.order_id),
        Some(json!({ "reason": "customer called" })),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let b = r.body_json();
    let ids = |k: &str| -> Vec<String> {
        b[k].as_array()
            .unwrap()
            .iter()
            .map(|x| x["fulfillment_order_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids("cancelled"), Vec::<String>::new());
    assert_eq!(ids("requested"), vec![pf.clone(), pd.clone()]);
    assert_eq!(ids("not_cancelled"), vec![gt.clone()]);
    assert!(
        b["not_cancelled"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("shipped")
    );
    assert_eq!(b["order"]["status"], "cancel_requested");
    assert!(
        b["refund"].is_null(),
        "nothing was cancelled yet, so nothing is refunded yet"
    );
    assert!(refunds_sent(&p).is_empty());
    let cancels: Vec<Value> = p.queued.borrow()[queued_before..].to_vec();
    assert_eq!(cancels.len(), 2);
    for m in &cancels {
        assert_eq!(m["kind"], "cancel");
        assert_eq!(run(process(&p, m)), Outcome::Done);
        assert!(
            matches!(run(process(&p, m)), Outcome::Dropped { .. }),
            "a second delivery does nothing"
        );
    }
    assert_eq!(status(&p, "fulfillment_orders", &pf), "cancelled");
    assert_eq!(status(&p, "fulfillment_orders", &pd), "cancel_rejected");
    assert_eq!(status(&p, "fulfillment_orders", &gt), "shipped");
    assert_eq!(status(&p, "orders", &paid.order_id), "partially_shipped");
    // Printful's yes refunded its line (30.00), once; Prodigi's no refunded nothing.
    assert_eq!(refunds_sent(&p), vec![3000]);
    assert_eq!(
        p.count("SELECT COUNT(*) FROM payments WHERE kind = 'refund'"),
        1
    );
    let events = p.count("SELECT COUNT(*) FROM domain_events WHERE type IN ('fulfillment.cancelled', 'fulfillment.cancel_rejected', 'order.cancel_requested')");
    assert_eq!(events, 3);
}

#[test]
fn an_order_not_yet_at_any_provider_is_cancelled_and_refunded_in_full() {
    let p = TestPlatform::new();
    let paid = setup(&p);
    p.serve(
        "http://stripe.test/v1/refunds",
        200,
        &json!({ "id": "re_full", "object": "refund", "status": "succeeded" }),
    );
    let total = p.count(&format!(
        "SELECT total_amount FROM orders WHERE id = '{}'",
        paid.order_id
    ));
    let r = admin(
        &p,
        &paid.store,
        Method::Post,
        &format!("/admin/api/v1/orders/{}/cancel", paid.order_id),
        None,
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let b = r.body_json();
    assert_eq!(b["cancelled"].as_array().unwrap().len(), 3);
    assert_eq!(b["order"]["status"], "cancelled");
    assert_eq!(b["order"]["financial_status"], "refunded");
    assert_eq!(
        b["refund"]["amount"], total,
        "shipping and the digital item too"
    );
    assert_eq!(refunds_sent(&p), vec![total]);
    // Nothing was sent to a provider, and nothing more can be cancelled.
    serve_providers_ok(&p);
    for (_, fo) in &paid.fos {
        assert!(matches!(fulfil(&p, fo), Outcome::Dropped { .. }));
    }
    assert!(p.sent_to(PRINTFUL_CREATE).is_empty());
    let again = admin(
        &p,
        &paid.store,
        Method::Post,
        &format!("/admin/api/v1/orders/{}/cancel", paid.order_id),
        None,
    );
    assert_eq!(
        (again.status, again.body_json()["type"].as_str()),
        (409, Some("order_not_cancellable"))
    );
}

#[test]
fn customers_cancel_only_inside_the_stores_window() {
    let p = TestPlatform::new();
    let paid = setup(&p);
    p.serve(
        "http://stripe.test/v1/refunds",
        200,
        &json!({ "id": "re_cust", "object": "refund", "status": "succeeded" }),
    );
    let number: String =
        p.db.conn()
            .query_row(
                "SELECT order_number FROM orders WHERE id = ?",
                [&paid.order_id],
                |r| r.get(0),
            )
            .unwrap();
    let token: String =
        p.db.conn()
            .query_row(
                "SELECT c.token_hash FROM carts c JOIN orders o ON o.cart_id = c.id WHERE o.id = ?",
                [&paid.order_id],
                |r| r.get(0),
            )
            .unwrap();
    assert_eq!(token.len(), 64);
    // A stranger cannot; the window is 60 minutes by default.
    let r = shop(
        &p,
        &paid.store,
        Method::Post,
        &format!("/v1/orders/{number}/cancel"),
        Some("ct_not_the_owner"),
        None,
    );
    assert_eq!(r.status, 404);
    p.advance_ms(61 * 60_000);
    let lookup = shop(
        &p,
        &paid.store,
        Method::Post,
        "/v1/orders/lookup",
        None,
        Some(json!({ "order_number": number, "email": "ada@example.com" })),
    );
    let order_token = lookup.body_json()["order_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let late = call(
        &p,
        "storefront",
        req(Method::Post, &format!("/v1/orders/{number}/cancel"))
            .header("x-publishable-api-key", &paid.store.pk)
            .header("x-order-token", &order_token),
    );
    assert_eq!(
        (late.status, late.body_json()["type"].as_str()),
        (409, Some("cancellation_window_closed"))
    );
    assert_eq!(status(&p, "orders", &paid.order_id), "paid");
    // Inside a longer window it works.
    let r = admin(
        &p,
        &paid.store,
        Method::Patch,
        "/admin/api/v1/store",
        Some(json!({ "settings": {
        "success_url": "https://shop.test/thanks", "cancel_url": "https://shop.test/cart", "cancellation_window_minutes": 120,
        "providers": { "printful": { "api_key": "********", "account_id": "77", "webhook_secret": "********" } } } })),
    );
    assert_eq!(r.status, 200);
    p.advance_ms(31_000); // the storefront's store cache
    let ok = call(
        &p,
        "storefront",
        req(Method::Post, &format!("/v1/orders/{number}/cancel"))
            .header("x-publishable-api-key", &paid.store.pk)
            .header("x-order-token", &order_token),
    );
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    assert_eq!(ok.body_json()["order"]["status"], "cancelled");
}

/// Messages the queue lost (a runtime killed while holding them, a local queue that does
/// not persist) are re-sent by the five-minute job once they are long overdue — not while
/// a retry is still due to come back — and the work is then done exactly once.
#[test]
fn work_whose_message_was_lost_is_queued_again_once_it_is_overdue() {
    use lading_core::fulfillment::recover::{LOST_AFTER_MS, recover_stuck};
    let p = TestPlatform::new();
    let paid = setup(&p);
    serve_providers_ok(&p);
    let (_, printful_fo) = paid
        .fos
        .iter()
        .find(|(prov, _)| prov == "printful")
        .unwrap()
        .clone();
    // Every message of the paying batch was sent and then lost: nothing processed them.
    let sent = p.queued.borrow().len();
    assert!(sent >= 3, "{sent} messages sent");
    p.queued.borrow_mut().clear();
    let messages = |kind: &str| -> Vec<Value> {
        p.queued
            .borrow()
            .iter()
            .filter(|m| m["kind"] == kind)
            .cloned()
            .collect()
    };
    // Not yet overdue: nothing is sent again.
    p.advance_ms(LOST_AFTER_MS - 60_000);
    run(recover_stuck(&p)).unwrap();
    assert!(messages("fulfil").is_empty() && messages("email").is_empty());
    // Overdue: one message for each fulfillment order and each unsent email.
    p.advance_ms(120_000);
    run(recover_stuck(&p)).unwrap();
    let fulfils = messages("fulfil");
    assert_eq!(fulfils.len(), paid.fos.len(), "{fulfils:?}");
    assert!(!messages("email").is_empty());
    // Printful answers 429: the work is pending again, its message due back after the
    // backoff, so the job leaves it alone until that time (and the grace) has passed.
    p.serve(
        PRINTFUL_CREATE,
        429,
        &json!({ "code": 429, "error": { "message": "Too many requests" } }),
    );
    let Outcome::RetryAfter { seconds, .. } = fulfil(&p, &printful_fo) else {
        panic!("a 429 is retried")
    };
    p.queued.borrow_mut().clear();
    p.advance_ms(i64::from(seconds) * 1000 + LOST_AFTER_MS - 60_000);
    run(recover_stuck(&p)).unwrap();
    assert!(
        !messages("fulfil")
            .iter()
            .any(|m| m["fulfillment_order_id"] == printful_fo.as_str())
    );
    p.advance_ms(120_000);
    run(recover_stuck(&p)).unwrap();
    let again: Vec<Value> = messages("fulfil")
        .into_iter()
        .filter(|m| m["fulfillment_order_id"] == printful_fo.as_str())
        .collect();
    assert_eq!(again.len(), 1);
    // Delivered (twice, as a lost message may turn up after all): one Printful order (the
    // consumer looks the order up first, since an attempt was made).
    serve_providers_ok(&p);
    p.serve(
        &format!("http://printful.test/orders/@{printful_fo}"),
        404,
        &json!({ "code": 404, "error": { "message": "Not found" } }),
    );
    assert_eq!(run(process(&p, &again[0])), Outcome::Done);
    assert!(matches!(
        run(process(&p, &again[0])),
        Outcome::Dropped { .. }
    ));
    assert_eq!(
        p.sent_to(PRINTFUL_CREATE).len(),
        2,
        "the refused attempt and the one that made it"
    );
    assert_eq!(status(&p, "fulfillment_orders", &printful_fo), "submitted");
}

/// The lost-work query runs every five minutes over every store: it reads only the open
/// work (indexes on status), never whole tables.
#[test]
fn the_lost_work_query_reads_only_open_work() {
    let p = TestPlatform::new();
    let conn = p.db.conn();
    let q = lading_core::fulfillment::recover::lost_work_query(1_790_000_000_000);
    let scans = lading_core::sqlite::full_scans(
        &conn,
        &q,
        &[
            "fulfillment_orders",
            "notifications",
            "outbox",
            "f",
            "n",
            "o",
        ],
    )
    .unwrap();
    assert!(scans.is_empty(), "{scans:?}");
}
