//! Checkout, Stripe events and reconciliation on real SQLite with the real migrations.
//! Stripe's API is a fixed answer per URL here; the local-stack suite runs the simulator.

mod support;

use lading_api::http::{Method, Response};
use lading_core::jobs;
use lading_core::payments::stripe_signature;
use lading_core::ports::Platform as _;
use serde_json::{Value, json};
use support::*;

const SESSIONS: &str = "http://stripe.test/v1/checkout/sessions";

fn guest_cart(p: &TestPlatform, s: &Store) -> String {
    let r = shop(p, s, Method::Post, "/v1/carts", None, None);
    assert_eq!(r.status, 201);
    r.body_json()["cart_token"].as_str().unwrap().to_owned()
}

fn add(p: &TestPlatform, s: &Store, token: &str, variant: &str, qty: i64) {
    let r = shop(
        p,
        s,
        Method::Post,
        "/v1/carts/current/items",
        Some(token),
        Some(json!({ "variant_id": variant, "quantity": qty })),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

fn add_as(p: &TestPlatform, s: &Store, jwt: &str, variant: &str, qty: i64) {
    let r = shop_as(
        p,
        s,
        jwt,
        Method::Post,
        "/v1/carts/current/items",
        None,
        Some(json!({ "variant_id": variant, "quantity": qty })),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

fn serve_session(p: &TestPlatform, id: &str) {
    p.serve(
        SESSIONS,
        200,
        &json!({ "id": id, "object": "checkout.session", "status": "open", "url": format!("https://checkout.test/{id}") }),
    );
}

fn checkout(p: &TestPlatform, s: &Store, token: &str, body: Option<Value>) -> Response {
    shop(
        p,
        s,
        Method::Post,
        "/v1/checkout/sessions",
        Some(token),
        body,
    )
}

/// A store, a guest cart with 2 × physical 25.00 and 1 × digital 12.50, checked out.
struct Placed {
    store: Store,
    token: String,
    order: Value,
}

fn placed(p: &TestPlatform, prefix: &str) -> Placed {
    let store = create_store(p, prefix);
    let (_, v) = product(p, &store, &format!("p-{}", prefix.to_lowercase()), 2500);
    let token = guest_cart(p, &store);
    add(p, &store, &token, &v[0], 2);
    add(p, &store, &token, &v[1], 1);
    serve_session(p, &format!("cs_{prefix}"));
    let r = checkout(
        p,
        &store,
        &token,
        Some(json!({ "email": "guest@example.com" })),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    Placed {
        store,
        token,
        order: r.body_json()["order"].clone(),
    }
}

fn event(id: &str, kind: &str, object: Value) -> Value {
    json!({ "id": id, "object": "event", "api_version": "2025-10-29", "created": 1_790_000_000, "livemode": false,
            "pending_webhooks": 1, "type": kind, "request": { "id": null, "idempotency_key": null }, "data": { "object": object } })
}

fn deliver_with(p: &TestPlatform, body: &[u8], header: Option<String>) -> Response {
    let mut r = req(Method::Post, "/webhooks/stripe").header("content-type", "application/json");
    if let Some(h) = header {
        r = r.header("stripe-signature", &h);
    }
    r.body = body.to_vec();
    call(p, "webhooks", r)
}

fn deliver(p: &TestPlatform, e: &Value) -> Response {
    let body = serde_json::to_vec(e).unwrap();
    let t = p.now_ms() / 1000;
    let header = format!(
        "t={t},v1={}",
        stripe_signature::sign(WEBHOOK_SECRET, t, &body)
    );
    deliver_with(p, &body, Some(header))
}

fn completed_session(o: &Value, store_id: &str, pi: &str, discount: i64, tax: i64) -> Value {
    let (sub, ship) = (
        o["subtotal"].as_i64().unwrap(),
        o["shipping"].as_i64().unwrap(),
    );
    json!({
        "id": format!("cs_for_{}", o["id"].as_str().unwrap()), "object": "checkout.session", "status": "complete", "payment_status": "paid",
        "payment_intent": pi, "amount_subtotal": sub, "amount_total": sub - discount + ship + tax, "currency": "usd",
        "total_details": { "amount_discount": discount, "amount_shipping": ship, "amount_tax": tax },
        "customer": "cus_stripe_1", "customer_details": { "email": "Guest@Example.com", "name": "Sam" },
        "collected_information": { "shipping_details": { "name": "Sam Shopper", "address": { "line1": "1 Harbour Road", "city": "Portsmouth", "postal_code": "PO1 2AB", "country": "GB" } } },
        "discounts": if discount > 0 { json!([{ "promotion_code": "promo_1" }]) } else { json!([]) },
        "metadata": { "order_id": o["id"], "store_id": store_id, "order_number": o["order_number"] },
    })
}

fn order_row(p: &TestPlatform, id: &str) -> Value {
    let conn = p.db.conn();
    conn.query_row(
        "SELECT status, financial_status, total_amount, discount_amount, tax_amount, review_reason, email, shipping_address, promo_code, cancel_reason FROM orders WHERE id = ?",
        [id],
        |r| {
            Ok(json!({
                "status": r.get::<_, String>(0)?, "financial_status": r.get::<_, String>(1)?, "total": r.get::<_, i64>(2)?,
                "discount": r.get::<_, i64>(3)?, "tax": r.get::<_, i64>(4)?, "review_reason": r.get::<_, Option<String>>(5)?,
                "email": r.get::<_, Option<String>>(6)?, "shipping_address": r.get::<_, Option<String>>(7)?,
                "promo_code": r.get::<_, Option<String>>(8)?, "cancel_reason": r.get::<_, Option<String>>(9)?,
            }))
        },
    )
    .unwrap()
}

fn form_of(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

#[test]
fn checkout_prices_from_d1_and_sends_stripe_one_session_per_order() {
    let p = TestPlatform::new();
    let store = create_store(&p, "CK");
    let (_, v) = product(&p, &store, "ck", 2500);
    let token = guest_cart(&p, &store);
    add(&p, &store, &token, &v[0], 2);
    add(&p, &store, &token, &v[1], 1);
    serve_session(&p, "cs_1");
    // The client's idea of prices is ignored.
    let r = checkout(
        &p,
        &store,
        &token,
        Some(
            json!({ "email": "guest@example.com", "total": 1, "items": [{ "variant_id": v[0], "unit_price": 1 }] }),
        ),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let b = r.body_json();
    let o = &b["order"];
    assert_eq!(b["checkout_url"], "https://checkout.test/cs_1");
    assert_eq!(
        (
            o["subtotal"].as_i64(),
            o["shipping"].as_i64(),
            o["total"].as_i64()
        ),
        (Some(6250), Some(999), Some(7249))
    );
    assert_eq!(o["status"], "pending");
    assert_eq!(o["items"].as_array().unwrap().len(), 2);
    let number = o["order_number"].as_str().unwrap();
    assert!(
        number.starts_with("CK-") && number.len() == "CK-2026-".len() + 8,
        "{number}"
    );

    let sent = p.sent_to(SESSIONS);
    assert_eq!(sent.len(), 1);
    let key = sent[0]
        .headers
        .iter()
        .find(|(k, _)| k == "idempotency-key")
        .unwrap();
    assert_eq!(key.1, format!("checkout:{}", o["id"].as_str().unwrap()));
    let form = form_of(sent[0].body.as_deref().unwrap());
    let get = |k: &str| form.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str());
    assert_eq!(get("line_items[0][price_data][unit_amount]"), Some("2500"));
    assert_eq!(get("line_items[0][quantity]"), Some("2"));
    assert_eq!(get("line_items[1][price_data][unit_amount]"), Some("1250"));
    assert_eq!(
        get("shipping_options[0][shipping_rate_data][fixed_amount][amount]"),
        Some("999")
    );
    assert_eq!(get("metadata[order_id]"), o["id"].as_str());
    assert_eq!(
        get("payment_intent_data[metadata][order_id]"),
        o["id"].as_str()
    );
    assert_eq!(get("client_reference_id"), o["id"].as_str());
    assert_eq!(get("allow_promotion_codes"), Some("true"));
    assert_eq!(get("customer_email"), Some("guest@example.com"));
    assert!(get("shipping_address_collection[allowed_countries][0]").is_some());
    assert!(
        get("success_url")
            .unwrap()
            .starts_with("https://shop.test/thanks?session_id={CHECKOUT_SESSION_ID}")
    );

    // The cart is checked out; checking out again answers with the same session.
    let cart = shop(
        &p,
        &store,
        Method::Get,
        "/v1/carts/current",
        Some(&token),
        None,
    );
    assert_eq!(cart.body_json()["status"], "checked_out");
    let again = checkout(&p, &store, &token, None);
    assert_eq!(again.status, 200);
    assert_eq!(again.body_json()["session_id"], "cs_1");
    assert_eq!(p.sent_to(SESSIONS).len(), 1, "no second Stripe session");
    assert_eq!(p.count("SELECT COUNT(*) FROM orders"), 1);
}

#[test]
fn a_failed_stripe_call_is_resumed_with_the_same_idempotency_key() {
    let p = TestPlatform::new();
    let store = create_store(&p, "RS");
    let (_, v) = product(&p, &store, "rs", 2500);
    let token = guest_cart(&p, &store);
    add(&p, &store, &token, &v[1], 1);
    // Stripe unreachable: the order stays pending, the caller may retry.
    let r = checkout(&p, &store, &token, None);
    assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));
    serve_session(&p, "cs_later");
    let r = checkout(&p, &store, &token, None);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let sent = p.sent_to(SESSIONS);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].headers, sent[1].headers, "same Idempotency-Key");
    assert_eq!(sent[0].body, sent[1].body, "same parameters");
    // Digital only: no shipping, no address collection.
    let form = form_of(sent[1].body.as_deref().unwrap());
    assert!(
        !form.iter().any(|(k, _)| k.starts_with("shipping")),
        "{form:?}"
    );
    assert_eq!(r.body_json()["order"]["shipping"], 0);
    assert_eq!(p.count("SELECT COUNT(*) FROM orders"), 1);
}

#[test]
fn checkout_refuses_empty_stale_and_blocked_and_ships_free_from_the_threshold() {
    let p = TestPlatform::new();
    let store = create_store(&p, "RF");
    let (prod, v) = product(&p, &store, "rf", 8000);
    serve_session(&p, "cs_rf");
    let token = guest_cart(&p, &store);
    let before = p.row_counts();
    let r = checkout(&p, &store, &token, None);
    assert_eq!(
        (r.status, r.body_json()["type"].as_str()),
        (409, Some("cart_empty"))
    );
    assert_eq!(p.row_counts(), before);

    add(&p, &store, &token, &v[0], 2);
    let r = admin(
        &p,
        &store,
        Method::Post,
        &format!(
            "/admin/api/v1/products/{}/archive",
            prod["id"].as_str().unwrap()
        ),
        None,
    );
    assert!(r.status < 300, "{}", String::from_utf8_lossy(&r.body));
    let before = p.row_counts();
    let r = checkout(&p, &store, &token, None);
    assert_eq!(
        (r.status, r.body_json()["type"].as_str()),
        (409, Some("cart_item_unavailable"))
    );
    assert_eq!(p.row_counts(), before);

    // 2 × 80.00 = 160.00 ≥ 150.00: free shipping.
    let (_, v2) = product(&p, &store, "rf2", 8000);
    let t2 = guest_cart(&p, &store);
    add(&p, &store, &t2, &v2[0], 2);
    let r = checkout(&p, &store, &t2, Some(json!({ "email": "not-an-email" })));
    assert_eq!(r.status, 422);
    let r = checkout(&p, &store, &t2, None);
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.body_json()["order"]["shipping"], 0);

    // A blocked customer cannot check out.
    let jwt = hs256(&p, "blocked-1", AUDIENCE, 600);
    add_as(&p, &store, &jwt, &v2[0], 1);
    p.exec("UPDATE customers SET blocked = 1, blocked_reason = 'chargebacks' WHERE subject = 'blocked-1'");
    let before = p.row_counts();
    let r = shop_as(
        &p,
        &store,
        &jwt,
        Method::Post,
        "/v1/checkout/sessions",
        None,
        None,
    );
    assert_eq!(r.status, 403);
    assert_eq!(p.row_counts(), before);
}

#[test]
fn a_completed_session_pays_the_order_once_however_often_and_however_it_arrives() {
    let p = TestPlatform::new();
    let store = create_store(&p, "PD");
    let (_, v) = product(&p, &store, "pd", 2500);
    let jwt = hs256(&p, "cust-1", AUDIENCE, 600);
    add_as(&p, &store, &jwt, &v[0], 2);
    serve_session(&p, "cs_pd");
    let r = shop_as(
        &p,
        &store,
        &jwt,
        Method::Post,
        "/v1/checkout/sessions",
        None,
        None,
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let o = r.body_json()["order"].clone();
    let oid = o["id"].as_str().unwrap();
    // The customer's cart is checked out; asking again answers with the same order.
    let again = shop_as(
        &p,
        &store,
        &jwt,
        Method::Post,
        "/v1/checkout/sessions",
        None,
        None,
    );
    assert_eq!(
        (again.status, again.body_json()["order"]["id"].as_str()),
        (200, Some(oid))
    );

    let session = completed_session(&o, &store.id, "pi_pd", 500, 120);
    let completed = event(
        "evt_completed",
        "checkout.session.completed",
        session.clone(),
    );
    for i in 0..3 {
        let r = deliver(&p, &completed);
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.body_json()["duplicate"], i > 0);
    }
    // A copy applied concurrently (recorded, not yet marked processed) finds the work done.
    p.exec("UPDATE inbound_events SET processed_at = NULL WHERE event_id = 'evt_completed'");
    let r = deliver(&p, &completed);
    assert_eq!(r.body_json()["result"], "order already paid");
    // The intent's own event and a second session event find the order already paid.
    let pi = json!({ "id": "pi_pd", "object": "payment_intent", "status": "succeeded", "amount_received": session["amount_total"], "currency": "usd",
                     "metadata": session["metadata"] });
    assert_eq!(
        deliver(&p, &event("evt_pi", "payment_intent.succeeded", pi)).status,
        200
    );
    assert_eq!(
        deliver(
            &p,
            &event(
                "evt_async",
                "checkout.session.async_payment_succeeded",
                session.clone()
            )
        )
        .status,
        200
    );

    let row = order_row(&p, oid);
    assert_eq!(row["status"], "paid");
    assert_eq!(row["financial_status"], "paid");
    assert_eq!(
        (row["discount"].as_i64(), row["tax"].as_i64()),
        (Some(500), Some(120))
    );
    assert_eq!(row["total"], 5000 - 500 + 999 + 120);
    assert_eq!(row["promo_code"], "promo_1");
    assert!(
        row["shipping_address"]
            .as_str()
            .unwrap()
            .contains("Harbour Road")
    );
    assert_eq!(
        p.count("SELECT COUNT(*) FROM payments WHERE kind = 'capture'"),
        1
    );
    assert_eq!(
        p.count("SELECT amount FROM payments WHERE id = 'pay_pi_pd'"),
        5619
    );
    assert_eq!(
        p.count("SELECT COUNT(*) FROM outbox WHERE id LIKE 'fulfil:%'"),
        1
    );
    assert_eq!(
        p.count("SELECT COUNT(*) FROM domain_events WHERE type = 'order.paid'"),
        1
    );
    assert_eq!(
        p.count("SELECT COUNT(*) FROM inbound_events WHERE processed_at IS NOT NULL"),
        3
    );
    assert_eq!(
        p.count("SELECT order_count FROM customers WHERE subject = 'cust-1'"),
        1
    );
    assert_eq!(
        p.count("SELECT lifetime_value FROM customers WHERE subject = 'cust-1'"),
        5619
    );
    // Prepaid: its invoice was issued and paid by the batch that paid it, once.
    assert_eq!(
        p.text(&format!("SELECT status || ' ' || number || ' ' || total_amount || ' ' || tax_amount FROM invoices WHERE order_id = '{oid}'")),
        "paid INV-000001 5619 120"
    );
    assert_eq!(
        p.text(&format!("SELECT group_concat(kind || ':' || amount, ' ') FROM (SELECT kind, amount FROM invoice_lines WHERE invoice_id = (SELECT id FROM invoices WHERE order_id = '{oid}') ORDER BY position)")),
        "item:5000 shipping:999 discount:-500"
    );
    assert_eq!(
        p.text("SELECT method || ' ' || amount || ' ' || (SELECT SUM(amount) FROM invoice_allocations WHERE payment_id = bp.id) FROM billing_payments bp"),
        "stripe 5619 5619"
    );
    assert_eq!(p.count("SELECT COUNT(*) FROM invoices"), 1);
    // Refunded in part at Stripe: the money goes back and nothing is owed again — a credit
    // note takes the refunded part off the invoice in the same batch, once.
    let charge = json!({ "id": "ch_pd", "object": "charge", "payment_intent": "pi_pd", "amount": 5619,
        "amount_refunded": 1000, "currency": "usd", "refunds": { "data": [] } });
    for _ in 0..2 {
        let r = deliver(
            &p,
            &event("evt_pd_refund", "charge.refunded", charge.clone()),
        );
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
    assert_eq!(
        p.text(&format!("SELECT status || ' ' || (total_amount - (SELECT SUM(amount) FROM invoice_allocations WHERE invoice_id = i.id)) FROM invoices i WHERE order_id = '{oid}'")),
        "paid 0"
    );
    assert_eq!(
        p.text("SELECT group_concat(method || ':' || amount || ':' || refunded_amount || ':' || coalesce(number, '-'), ' ') FROM (SELECT * FROM billing_payments ORDER BY created_at, id)"),
        "stripe:5619:1000:- credit_note:1000:0:CN-000001"
    );

    // The customer sees it; another customer does not.
    let r = shop_as(&p, &store, &jwt, Method::Get, "/v1/orders", None, None);
    assert_eq!(r.body_json()["data"][0]["id"], oid);
    let number = o["order_number"].as_str().unwrap();
    let r = shop_as(
        &p,
        &store,
        &jwt,
        Method::Get,
        &format!("/v1/orders/{number}"),
        None,
        None,
    );
    assert_eq!(r.body_json()["status"], "paid");
    let other = hs256(&p, "cust-2", AUDIENCE, 600);
    let r = shop_as(
        &p,
        &store,
        &other,
        Method::Get,
        &format!("/v1/orders/{number}"),
        None,
        None,
    );
    assert_eq!(r.status, 404);
}

#[test]
fn a_payment_intent_event_alone_pays_a_checkout_order_without_discount() {
    let p = TestPlatform::new();
    let placed = placed(&p, "PI");
    let o = &placed.order;
    let pi = json!({ "id": "pi_only", "object": "payment_intent", "status": "succeeded", "amount_received": o["total"], "currency": "usd",
                     "metadata": { "order_id": o["id"], "store_id": placed.store.id } });
    assert_eq!(
        deliver(&p, &event("evt_pi_only", "payment_intent.succeeded", pi)).status,
        200
    );
    assert_eq!(order_row(&p, o["id"].as_str().unwrap())["status"], "paid");
    // The session event arriving later adds what only it knows, and pays nothing twice.
    let session = completed_session(o, &placed.store.id, "pi_only", 0, 0);
    assert_eq!(
        deliver(
            &p,
            &event("evt_late_session", "checkout.session.completed", session)
        )
        .status,
        200
    );
    let row = order_row(&p, o["id"].as_str().unwrap());
    assert!(
        row["shipping_address"]
            .as_str()
            .unwrap()
            .contains("Portsmouth")
    );
    assert_eq!(p.count("SELECT COUNT(*) FROM payments"), 1);
    assert_eq!(
        p.count("SELECT COUNT(*) FROM outbox WHERE kind = 'fulfil'"),
        1
    );
    assert_eq!(
        p.count("SELECT COUNT(*) FROM outbox WHERE kind = 'email'"),
        2,
        "confirmation and files ready (a digital item)"
    );
}

#[test]
fn amounts_that_do_not_add_up_are_flagged_for_review_not_paid() {
    let p = TestPlatform::new();
    let placed = placed(&p, "MM");
    let mut session = completed_session(&placed.order, &placed.store.id, "pi_mm", 0, 0);
    session["amount_subtotal"] = json!(100);
    session["amount_total"] = json!(1099);
    let r = deliver(&p, &event("evt_mm", "checkout.session.completed", session));
    assert_eq!(r.status, 200);
    assert!(r.body_json()["result"].as_str().unwrap().contains("review"));
    let row = order_row(&p, placed.order["id"].as_str().unwrap());
    assert_eq!(row["status"], "pending");
    assert!(row["review_reason"].as_str().unwrap().contains("subtotal"));
    assert_eq!(p.count("SELECT COUNT(*) FROM outbox"), 0);
    assert_eq!(
        p.count("SELECT COUNT(*) FROM payments WHERE kind = 'capture'"),
        1,
        "captured money is in the ledger"
    );
    // The unpaid sweep leaves an order under review alone.
    p.advance_ms(49 * 3_600_000);
    let r = run(lading_core::jobs::run_cron(&p, jobs::HOURLY));
    assert!(r.iter().all(|j| j.error.is_none()), "{r:?}");
    assert_eq!(
        order_row(&p, placed.order["id"].as_str().unwrap())["status"],
        "pending"
    );
}

#[test]
fn expiry_and_decline_cancel_the_order_and_give_the_cart_back() {
    let p = TestPlatform::new();
    let placed = placed(&p, "EX");
    let o = &placed.order;
    let expired = json!({ "id": "cs_EX", "object": "checkout.session", "status": "expired", "payment_status": "unpaid",
                          "metadata": { "order_id": o["id"], "store_id": placed.store.id } });
    let r = deliver(&p, &event("evt_exp", "checkout.session.expired", expired));
    assert_eq!(r.status, 200);
    let row = order_row(&p, o["id"].as_str().unwrap());
    assert_eq!(
        (row["status"].as_str(), row["cancel_reason"].as_str()),
        (Some("cancelled"), Some("checkout_expired"))
    );
    let cart = shop(
        &p,
        &placed.store,
        Method::Get,
        "/v1/carts/current",
        Some(&placed.token),
        None,
    );
    assert_eq!(cart.body_json()["status"], "active");
    // A new checkout of the same cart makes a new order.
    serve_session(&p, "cs_EX2");
    let r = checkout(&p, &placed.store, &placed.token, None);
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let o2 = r.body_json()["order"].clone();
    assert_ne!(o2["id"], o["id"]);

    // A declined card cancels too, and the open session is expired at Stripe.
    let failed = json!({ "id": "pi_declined", "object": "payment_intent", "status": "requires_payment_method",
                         "last_payment_error": { "code": "card_declined", "message": "Your card was declined." },
                         "metadata": { "order_id": o2["id"], "store_id": placed.store.id } });
    let r = deliver(
        &p,
        &event("evt_declined", "payment_intent.payment_failed", failed),
    );
    assert_eq!(r.status, 200);
    let row = order_row(&p, o2["id"].as_str().unwrap());
    assert_eq!(row["status"], "cancelled");
    assert_eq!(row["cancel_reason"], "payment_failed: card_declined");
    assert_eq!(
        p.sent_to("http://stripe.test/v1/checkout/sessions/cs_EX2/expire")
            .len(),
        1
    );
    assert_eq!(
        p.count("SELECT COUNT(*) FROM domain_events WHERE type = 'order.cancelled'"),
        2
    );
    // Paid after it was cancelled: the money is recorded and an operator must look.
    let late = completed_session(&o2, &placed.store.id, "pi_late", 0, 0);
    assert_eq!(
        deliver(&p, &event("evt_late", "checkout.session.completed", late)).status,
        200
    );
    let row = order_row(&p, o2["id"].as_str().unwrap());
    assert_eq!(row["status"], "cancelled");
    assert!(row["review_reason"].as_str().unwrap().contains("cancelled"));
    assert_eq!(p.count("SELECT COUNT(*) FROM outbox"), 0);
}

#[test]
fn refunds_move_the_financial_status_forward() {
    let p = TestPlatform::new();
    let placed = placed(&p, "RF");
    let o = &placed.order;
    let total = o["total"].as_i64().unwrap();
    let session = completed_session(o, &placed.store.id, "pi_rf", 0, 0);
    assert_eq!(
        deliver(
            &p,
            &event("evt_paid", "checkout.session.completed", session)
        )
        .status,
        200
    );
    let refund = |id: &str, amount: i64, status: &str| json!({ "id": id, "object": "refund", "amount": amount, "status": status, "payment_intent": "pi_rf", "reason": "requested_by_customer" });
    assert_eq!(
        deliver(
            &p,
            &event(
                "evt_r1",
                "refund.created",
                refund("re_1", 1000, "succeeded")
            )
        )
        .status,
        200
    );
    let row = order_row(&p, o["id"].as_str().unwrap());
    assert_eq!(row["financial_status"], "partially_refunded");
    let charge = json!({ "id": "ch_1", "object": "charge", "amount": total, "amount_refunded": total, "refunded": true, "payment_intent": "pi_rf" });
    assert_eq!(
        deliver(&p, &event("evt_ch", "charge.refunded", charge)).status,
        200
    );
    assert_eq!(
        order_row(&p, o["id"].as_str().unwrap())["financial_status"],
        "refunded"
    );
    // A late "partial" event cannot move it back.
    assert_eq!(
        deliver(
            &p,
            &event(
                "evt_r1u",
                "refund.updated",
                refund("re_1", 1000, "succeeded")
            )
        )
        .status,
        200
    );
    assert_eq!(
        order_row(&p, o["id"].as_str().unwrap())["financial_status"],
        "refunded"
    );
    assert_eq!(
        p.count("SELECT COUNT(*) FROM payments WHERE kind = 'refund'"),
        1
    );
}

#[test]
fn unsigned_forged_stale_or_replayed_with_other_content_events_write_nothing() {
    let p = TestPlatform::new();
    let placed = placed(&p, "SG");
    let session = completed_session(&placed.order, &placed.store.id, "pi_sg", 0, 0);
    let e = event("evt_sg", "checkout.session.completed", session);
    let body = serde_json::to_vec(&e).unwrap();
    let t = p.now_ms() / 1000;
    let before = p.row_counts();
    for (name, header) in [
        ("missing", None),
        ("malformed", Some("garbage".to_owned())),
        ("no v1", Some(format!("t={t}"))),
        (
            "wrong secret",
            Some(format!(
                "t={t},v1={}",
                stripe_signature::sign("whsec_wrong", t, &body)
            )),
        ),
        (
            "stale",
            Some(format!(
                "t={},v1={}",
                t - 301,
                stripe_signature::sign(WEBHOOK_SECRET, t - 301, &body)
            )),
        ),
        (
            "other body",
            Some(format!(
                "t={t},v1={}",
                stripe_signature::sign(WEBHOOK_SECRET, t, b"{}")
            )),
        ),
    ] {
        let r = deliver_with(&p, &body, header);
        assert_eq!(r.status, 400, "{name}");
        assert_eq!(r.body_json()["type"], "invalid_signature", "{name}");
        assert_eq!(
            r.get_header("content-type"),
            Some("application/problem+json")
        );
    }
    assert_eq!(p.row_counts(), before, "rejections write nothing");

    // The previous secret still works while rotating, next to a wrong signature.
    let header = format!(
        "t={t},v1={},v1={}",
        "00".repeat(32),
        stripe_signature::sign(OLD_WEBHOOK_SECRET, t, &body)
    );
    assert_eq!(deliver_with(&p, &body, Some(header)).status, 200);
    assert_eq!(
        order_row(&p, placed.order["id"].as_str().unwrap())["status"],
        "paid"
    );

    // The same id with other content is refused and changes nothing.
    let mut other = e.clone();
    other["data"]["object"]["amount_total"] = json!(1);
    let before = p.row_counts();
    let r = deliver(&p, &other);
    assert_eq!(
        (r.status, r.body_json()["type"].as_str()),
        (409, Some("event_payload_mismatch"))
    );
    assert_eq!(p.row_counts(), before);
    // A changed delivery counter is not other content.
    let mut redelivered = e.clone();
    redelivered["pending_webhooks"] = json!(0);
    assert_eq!(deliver(&p, &redelivered).body_json()["duplicate"], true);
}

#[test]
fn reconciliation_applies_events_no_webhook_delivered() {
    let p = TestPlatform::new();
    let placed = placed(&p, "RC");
    let o = &placed.order;
    let session = completed_session(o, &placed.store.id, "pi_rc", 0, 0);
    let missed = event("evt_missed", "checkout.session.completed", session);
    let since = p.now_ms() / 1000 - 3 * 24 * 3600 - 300;
    p.serve(
        &format!("http://stripe.test/v1/events?limit=100&created%5Bgte%5D={since}"),
        200,
        &json!({ "object": "list", "data": [missed, event("evt_other", "customer.created", json!({ "id": "cus_1", "object": "customer" }))], "has_more": false }),
    );
    let r = run(jobs::run_cron(&p, jobs::FIVE_MINUTES));
    assert_eq!(r[0].job, "reconcile_stripe_events");
    assert_eq!((r[0].changed, r[0].error.as_deref()), (2, None), "{r:?}");
    assert_eq!(order_row(&p, o["id"].as_str().unwrap())["status"], "paid");
    assert_eq!(
        p.count("SELECT COUNT(*) FROM outbox WHERE kind = 'fulfil'"),
        1
    );
    assert_eq!(
        p.count("SELECT COUNT(*) FROM outbox WHERE kind = 'email'"),
        2,
        "confirmation and files ready (a digital item)"
    );
    // The cursor moved: the next run reads from the newest event seen, and a webhook
    // arriving late for the same event is a duplicate.
    let cursor =
        p.count("SELECT CAST(cursor AS INTEGER) FROM job_cursors WHERE name = 'stripe_events'");
    assert_eq!(cursor, 1_790_000_000);
    assert_eq!(
        deliver(&p, &missed_again(&p)).body_json()["duplicate"],
        true
    );
}

fn missed_again(p: &TestPlatform) -> Value {
    let payload = p.text("SELECT payload FROM inbound_events WHERE event_id = 'evt_missed'");
    serde_json::from_str(&payload).unwrap()
}

#[test]
fn unpaid_orders_are_cancelled_after_48_hours() {
    let p = TestPlatform::new();
    let placed = placed(&p, "UP");
    p.advance_ms(47 * 3_600_000);
    run(jobs::run_cron(&p, jobs::HOURLY));
    assert_eq!(
        order_row(&p, placed.order["id"].as_str().unwrap())["status"],
        "pending"
    );
    p.advance_ms(2 * 3_600_000);
    let r = run(jobs::run_cron(&p, jobs::HOURLY));
    let sweep = r.iter().find(|j| j.job == "cancel_unpaid_orders").unwrap();
    assert_eq!(sweep.changed, 1);
    let row = order_row(&p, placed.order["id"].as_str().unwrap());
    assert_eq!(
        (row["status"].as_str(), row["cancel_reason"].as_str()),
        (Some("cancelled"), Some("unpaid_48h"))
    );
}

#[test]
fn guests_read_their_order_with_a_lookup_token_only() {
    let p = TestPlatform::new();
    let placed = placed(&p, "LK");
    let number = placed.order["order_number"].as_str().unwrap().to_owned();
    let path = format!("/v1/orders/{number}");
    // With the cart token it was placed with: yes. Without anything: no.
    assert_eq!(
        shop(
            &p,
            &placed.store,
            Method::Get,
            &path,
            Some(&placed.token),
            None
        )
        .status,
        200
    );
    assert_eq!(
        shop(&p, &placed.store, Method::Get, &path, None, None).status,
        404
    );

    let lookup = |email: &str, n: &str| {
        shop(
            &p,
            &placed.store,
            Method::Post,
            "/v1/orders/lookup",
            None,
            Some(json!({ "order_number": n, "email": email })),
        )
    };
    assert_eq!(lookup("someone@example.com", &number).status, 404);
    assert_eq!(lookup("guest@example.com", "LK-2026-ZZZZZZZZ").status, 404);
    assert_eq!(lookup("guest@example.com", "nonsense").status, 422);
    let r = lookup("GUEST@example.com", &number.to_lowercase());
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let token = r.body_json()["order_token"].as_str().unwrap().to_owned();
    let with = |t: &str| {
        call(
            &p,
            "storefront",
            req(Method::Get, &path)
                .header("x-publishable-api-key", &placed.store.pk)
                .header("x-order-token", t),
        )
    };
    assert_eq!(with(&token).status, 200);
    assert_eq!(with(&token.replace("ot1.", "ot1.x")).status, 404);
    p.advance_ms(3_601_000);
    assert_eq!(with(&token).status, 404, "expired");
    // Guests have no order list.
    assert_eq!(
        shop(
            &p,
            &placed.store,
            Method::Get,
            "/v1/orders",
            Some(&placed.token),
            None
        )
        .status,
        401
    );
}

/// A paid order of `placed()` (total 7249), paid with `pi_<prefix>`.
fn paid(p: &TestPlatform, prefix: &str) -> (Placed, String) {
    let placed = placed(p, prefix);
    let pi = format!("pi_{}", prefix.to_lowercase());
    let session = completed_session(&placed.order, &placed.store.id, &pi, 0, 0);
    assert_eq!(
        deliver(
            p,
            &event(
                &format!("evt_paid_{prefix}"),
                "checkout.session.completed",
                session
            )
        )
        .status,
        200
    );
    (placed, pi)
}

fn refund(p: &TestPlatform, s: &Store, order: &str, body: Value) -> Response {
    admin(
        p,
        s,
        Method::Post,
        &format!("/admin/api/v1/orders/{order}/refunds"),
        Some(body),
    )
}

#[test]
fn refunds_never_exceed_what_was_captured_and_reach_stripe_with_our_id() {
    let p = TestPlatform::new();
    let (placed, pi) = paid(&p, "RL");
    let order = placed.order["id"].as_str().unwrap();
    p.serve(
        "http://stripe.test/v1/refunds",
        200,
        &json!({ "id": "re_rl_1", "object": "refund", "status": "succeeded", "amount": 3000 }),
    );
    let r = refund(
        &p,
        &placed.store,
        order,
        json!({ "amount": 3000, "reason": "requested_by_customer" }),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let created = r.body_json();
    assert_eq!(
        (created["status"].as_str(), created["stripe_id"].as_str()),
        (Some("succeeded"), Some("re_rl_1"))
    );
    let sent = p.sent_to("http://stripe.test/v1/refunds");
    assert_eq!(sent.len(), 1);
    let key = &sent[0]
        .headers
        .iter()
        .find(|(k, _)| k == "idempotency-key")
        .unwrap()
        .1;
    assert_eq!(
        key,
        created["id"].as_str().unwrap(),
        "Idempotency-Key is our refund id"
    );
    let form = form_of(sent[0].body.as_deref().unwrap());
    let get = |k: &str| form.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
    assert_eq!(get("payment_intent"), Some(pi.clone()));
    assert_eq!(
        get("metadata[refund_id]").as_deref(),
        created["id"].as_str()
    );
    assert_eq!(
        order_row(&p, order)["financial_status"],
        "partially_refunded"
    );

    // 7249 captured, 3000 refunded: 4250 is too much, and changes nothing.
    let before = p.row_counts();
    let r = refund(&p, &placed.store, order, json!({ "amount": 4250 }));
    assert_eq!(
        (r.status, r.body_json()["type"].as_str()),
        (409, Some("refund_exceeds_refundable"))
    );
    assert_eq!(p.row_counts(), before);
    assert_eq!(
        p.sent_to("http://stripe.test/v1/refunds").len(),
        1,
        "Stripe was not asked"
    );
    // Bad input is refused the same way.
    for bad in [
        json!({ "amount": 10, "lines": [] }),
        json!({ "reason": "because" }),
        json!({ "lines": [{ "order_item_id": "oi_nope", "quantity": 1 }] }),
    ] {
        assert_eq!(
            refund(&p, &placed.store, order, bad.clone()).status,
            422,
            "{bad}"
        );
    }
    // By lines: one of the two posters (2500).
    let item = placed.order["items"][0]["id"].as_str().unwrap();
    p.serve(
        "http://stripe.test/v1/refunds",
        200,
        &json!({ "id": "re_rl_2", "object": "refund", "status": "pending", "amount": 2500 }),
    );
    let r = refund(
        &p,
        &placed.store,
        order,
        json!({ "lines": [{ "order_item_id": item, "quantity": 1 }] }),
    );
    assert_eq!(
        (r.status, r.body_json()["amount"].as_i64()),
        (201, Some(2500))
    );
    // Its webhook (our id in the metadata) settles it; a stale "pending" changes nothing.
    let re2 = json!({ "id": "re_rl_2", "object": "refund", "amount": 2500, "status": "succeeded", "payment_intent": pi,
                      "metadata": { "refund_id": r.body_json()["id"], "order_id": order } });
    assert_eq!(
        deliver(&p, &event("evt_re2_ok", "refund.updated", re2.clone())).status,
        200
    );
    let mut stale = re2.clone();
    stale["status"] = json!("pending");
    assert_eq!(
        deliver(&p, &event("evt_re2_created", "refund.created", stale)).status,
        200
    );
    assert_eq!(
        p.count("SELECT COUNT(*) FROM payments WHERE kind = 'refund' AND status = 'succeeded'"),
        2
    );
    assert_eq!(
        p.count("SELECT COUNT(*) FROM payments WHERE kind = 'refund'"),
        2,
        "one row per Stripe refund"
    );
    // The rest (1749) refunds everything.
    p.serve(
        "http://stripe.test/v1/refunds",
        200,
        &json!({ "id": "re_rl_3", "object": "refund", "status": "succeeded", "amount": 1749 }),
    );
    let r = refund(&p, &placed.store, order, json!({}));
    assert_eq!(
        (r.status, r.body_json()["amount"].as_i64()),
        (201, Some(1749))
    );
    assert_eq!(order_row(&p, order)["financial_status"], "refunded");
    assert_eq!(
        refund(&p, &placed.store, order, json!({})).body_json()["type"],
        "nothing_to_refund"
    );
    let list = admin(
        &p,
        &placed.store,
        Method::Get,
        &format!("/admin/api/v1/orders/{order}/refunds"),
        None,
    );
    assert_eq!(list.body_json()["data"].as_array().unwrap().len(), 3);
}

#[test]
fn a_refund_webhook_that_outruns_our_call_is_recorded_once() {
    let p = TestPlatform::new();
    let (placed, pi) = paid(&p, "RW");
    let order = placed.order["id"].as_str().unwrap();
    // Our reservation is written; Stripe's webhook arrives before our call has returned.
    p.exec(&format!(
        "INSERT INTO payments (id, store_id, order_id, kind, amount, currency, status, idempotency_key, created_at, updated_at) \
         VALUES ('ref_ours', '{}', '{order}', 'refund', 1000, 'USD', 'pending', 'ref_ours', 1, 1)",
        placed.store.id
    ));
    let re = json!({ "id": "re_early", "object": "refund", "amount": 1000, "status": "succeeded", "payment_intent": pi,
                     "metadata": { "refund_id": "ref_ours", "order_id": order } });
    assert_eq!(
        deliver(&p, &event("evt_early", "refund.created", re.clone())).status,
        200
    );
    let charge = json!({ "id": "ch_rw", "object": "charge", "amount": 7249, "amount_refunded": 1000, "payment_intent": pi,
                         "refunds": { "data": [re] } });
    assert_eq!(
        deliver(&p, &event("evt_early_ch", "charge.refunded", charge)).status,
        200
    );
    assert_eq!(
        p.count("SELECT COUNT(*) FROM payments WHERE kind = 'refund'"),
        1
    );
    assert_eq!(p.count("SELECT COUNT(*) FROM payments WHERE id = 'ref_ours' AND stripe_id = 're_early' AND status = 'succeeded'"), 1);
    assert_eq!(
        order_row(&p, order)["financial_status"],
        "partially_refunded"
    );
}

#[test]
fn digital_items_are_downloaded_with_short_lived_hashed_links() {
    let p = TestPlatform::new();
    let placed = placed(&p, "DL");
    let number = placed.order["order_number"].as_str().unwrap().to_owned();
    let links = |token: Option<&str>| {
        shop(
            &p,
            &placed.store,
            Method::Post,
            &format!("/v1/orders/{number}/downloads"),
            token,
            None,
        )
    };
    // Not before payment.
    assert_eq!(
        links(Some(&placed.token)).body_json()["type"],
        "order_not_paid"
    );
    let session = completed_session(&placed.order, &placed.store.id, "pi_dl", 0, 0);
    assert_eq!(
        deliver(
            &p,
            &event("evt_dl_paid", "checkout.session.completed", session)
        )
        .status,
        200
    );
    assert_eq!(p.count("SELECT COUNT(*) FROM downloads WHERE status = 'ready' AND filename = 'p-dl.pdf' AND r2_key = 'assets/p-dl.pdf'"), 1);
    // Someone else cannot ask; the buyer can.
    assert_eq!(links(Some("ct_someone_else")).status, 404);
    let r = links(Some(&placed.token));
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let link = r.body_json()["data"][0].clone();
    assert_eq!(link["filename"], "p-dl.pdf");
    let url = link["url"].as_str().unwrap().to_owned();
    let token = url.strip_prefix("/v1/downloads/").unwrap().to_owned();
    assert!(token.len() > 40, "≥ 128 random bits");
    assert_eq!(
        p.count(&format!(
            "SELECT COUNT(*) FROM download_tokens WHERE token_hash = '{token}'"
        )),
        0,
        "never stored in plain text"
    );
    // The link streams the file (the Worker reads it from R2), with the client's Range.
    let get = |t: &str, range: Option<&str>| {
        let mut r = req(Method::Get, &format!("/v1/downloads/{t}"));
        if let Some(x) = range {
            r = r.header("range", x);
        }
        call(&p, "storefront", r)
    };
    let ok = get(&token, Some("bytes=0-99"));
    assert_eq!(ok.status, 200);
    let file = ok.file.expect("a file body");
    assert_eq!(
        (
            file.key.as_str(),
            file.filename.as_str(),
            file.range.as_deref()
        ),
        ("assets/p-dl.pdf", "p-dl.pdf", Some("bytes=0-99"))
    );
    assert_eq!(
        get("dlt_guessed0000000000000000000000000000000000000000", None).status,
        404
    );
    assert_eq!(get("../../etc/passwd", None).status, 404);
    // At most 10 links an hour per order.
    for _ in 0..9 {
        assert_eq!(links(Some(&placed.token)).status, 201);
    }
    let limited = links(Some(&placed.token));
    assert_eq!(
        (limited.status, limited.body_json()["type"].as_str()),
        (429, Some("rate_limited"))
    );
    // Links expire (48 h by default).
    p.advance_ms(48 * 3_600_000);
    assert_eq!(get(&token, None).status, 410);
    let fresh = links(Some(&placed.token)).body_json()["data"][0]["url"]
        .as_str()
        .unwrap()
        .trim_start_matches("/v1/downloads/")
        .to_owned();
    assert_eq!(get(&fresh, None).status, 200);
    // A refunded order's links stop working.
    p.serve(
        "http://stripe.test/v1/refunds",
        200,
        &json!({ "id": "re_dl", "object": "refund", "status": "succeeded" }),
    );
    assert_eq!(
        refund(
            &p,
            &placed.store,
            placed.order["id"].as_str().unwrap(),
            json!({})
        )
        .status,
        201
    );
    assert_eq!(get(&fresh, None).status, 410);
    assert_eq!(
        links(Some(&placed.token)).body_json()["type"],
        "order_not_downloadable"
    );
}

/// D1 bills and limits by round trip, and each is latency on the webhook's path: a paying
/// event records itself with what applying it reads (1), applies its batch with the claim
/// of the outbox rows it writes (2), and marks the rows the queue took as sent (3).
#[test]
fn a_paying_event_costs_three_round_trips_and_a_repeat_one() {
    let p = TestPlatform::new();
    let placed = placed(&p, "RT");
    let session = completed_session(&placed.order, &placed.store.id, "pi_rt", 0, 0);
    let paying = event("evt_rt", "checkout.session.completed", session);
    let before = p.db.round_trips();
    let r = deliver(&p, &paying);
    assert_eq!(r.body_json()["result"], "order paid");
    assert_eq!(p.db.round_trips() - before, 3);
    // Its fulfillment orders and its confirmation email: every row the batch wrote.
    assert_eq!(
        p.queued.borrow().len() as i64,
        p.count("SELECT COUNT(*) FROM outbox"),
        "the paying delivery sent every outbox row it wrote"
    );
    assert!(p.queued.borrow().len() >= 2);
    assert_eq!(
        p.count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL"),
        0,
        "what the queue took is marked sent"
    );
    let before = p.db.round_trips();
    let r = deliver(&p, &paying);
    assert_eq!(r.body_json()["duplicate"], true);
    assert_eq!(
        p.db.round_trips() - before,
        1,
        "a repeat only finds it recorded"
    );
}
