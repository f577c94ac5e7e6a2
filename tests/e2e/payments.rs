//! Checkout and Stripe on the local stack: the simulator plays Stripe (hosted page, events,
//! signed webhook deliveries with duplicates and drops); the Workers run under wrangler dev
//! with local D1.

use crate::support::*;
use crate::tests::{Test, tests};
use futures::FutureExt;
use futures::future::join_all;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

tests!(
    stores_in_yen_and_dinars_sell_export_and_refund_at_stripe_with_their_decimals,
    a_checkout_session_paid_in_the_simulator_becomes_one_paid_order,
    the_payment_intent_flow_is_paid_by_webhooks_and_confirm_only_reads,
    declined_and_expired_payments_cancel_the_order_and_free_the_cart,
    the_storm_of_duplicate_concurrent_events_makes_one_paid_order_each,
    replayed_events_change_nothing_and_altered_ones_are_refused,
    bad_signatures_get_400_and_write_nothing,
    a_dropped_delivery_is_recovered_by_the_reconciliation_cron,
    signatures_from_stripes_own_sdk_are_accepted,
    guests_look_up_their_order_and_customers_list_theirs,
    orders_unpaid_for_48_hours_are_cancelled_by_the_hourly_cron,
    a_declined_payment_intent_cancels_the_order_and_the_intent,
    concurrent_refunds_never_exceed_the_capture_and_stripe_gets_each_once,
    digital_downloads_stream_the_file_from_r2_to_its_buyer_only,
);

/// Store + product (25.00 physical, 12.50 digital) + a guest cart with 2 × physical and 1 ×
/// digital, checked out. Returns (store, cart token, checkout answer).
async fn checked_out(c: &Ctx<'_>, slug: &str) -> (Store, String, Value) {
    let s = c.store().await;
    let (_, v) = c.product(&s, slug, 2500).await;
    let cart = c.guest_cart(&s).await;
    c.add(&s, &cart, &v[0], 2).await;
    c.add(&s, &cart, &v[1], 1).await;
    let co = c.checkout(&s, &cart).await;
    (s, cart, co)
}

async fn cron(c: &Ctx<'_>, expr: &str) -> Value {
    let r = c
        .client
        .get(&format!(
            "{}/__cron?cron={}",
            c.stack.worker("scheduler"),
            expr.replace(' ', "%20")
        ))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["outcome"], "ok", "{}", r.text);
    r.body.clone()
}

async fn a_checkout_session_paid_in_the_simulator_becomes_one_paid_order(c: &Ctx<'_>) {
    let s = c.store().await;
    let (_, v) = c.product(&s, "paid-print", 2500).await;
    let cart = c.guest_cart(&s).await;
    c.add(&s, &cart, &v[0], 2).await;
    c.add(&s, &cart, &v[1], 1).await;
    // Prices, shipping and totals sent by the client are ignored.
    let r = c
        .shop(&s, "POST", "/v1/checkout/sessions")
        .header("x-cart-token", &cart)
        .json(
            &json!({ "email": "guest@example.com", "total": 1, "shipping": 0,
                       "items": [{ "variant_id": v[0], "unit_price": 1, "quantity": 2 }] }),
        )
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let order_id = r.body["order"]["id"].as_str().unwrap().to_owned();
    let session = r.body["session_id"].as_str().unwrap().to_owned();
    assert_eq!(
        (
            r.body["order"]["subtotal"].as_i64(),
            r.body["order"]["shipping"].as_i64(),
            r.body["order"]["total"].as_i64()
        ),
        (Some(6250), Some(999), Some(7249))
    );
    // The hosted page shows what Stripe was asked to charge.
    let page = c
        .client
        .get(r.body["checkout_url"].as_str().unwrap())
        .send()
        .await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("Total 72.49 USD"), "{}", page.text);
    assert!(page.text.contains("Poster paid-print"), "{}", page.text);
    // A second checkout call answers with the same session; the cart is checked out.
    let again = c
        .shop(&s, "POST", "/v1/checkout/sessions")
        .header("x-cart-token", &cart)
        .send()
        .await;
    assert_eq!(
        (again.status, again.body["session_id"].as_str()),
        (200, Some(session.as_str()))
    );
    let cart_now = c
        .shop(&s, "GET", "/v1/carts/current")
        .header("x-cart-token", &cart)
        .send()
        .await;
    assert_eq!(cart_now.body["status"], "checked_out");

    // Pay with a promotion code and tax: the order takes Stripe's discount and tax.
    let paid = c
        .pay(&session, json!({ "email": "buyer@example.com", "amount_discount": 500, "amount_tax": 300, "promotion_code": "promo_SPRING" }))
        .await;
    let pi = paid["payment_intent"].as_str().unwrap().to_owned();
    let o = c.order_paid(&order_id).await;
    assert_eq!(o["financial_status"], "paid");
    assert_eq!(
        (
            o["discount"].as_i64(),
            o["tax"].as_i64(),
            o["total"].as_i64()
        ),
        (Some(500), Some(300), Some(7049))
    );
    assert_eq!(o["email"], "guest@example.com");
    assert_eq!(
        c.count(
            "SELECT COUNT(*) FROM payments WHERE order_id = ?1 AND kind = 'capture'",
            &order_id
        ),
        1
    );
    assert_eq!(
        c.count("SELECT amount FROM payments WHERE stripe_id = ?1", &pi),
        7049
    );
    assert_eq!(
        c.count(
            "SELECT COUNT(*) FROM outbox WHERE id IN (SELECT 'fulfil:' || id FROM fulfillment_orders WHERE order_id = ?1)",
            &order_id
        ),
        1
    );
    assert_eq!(
        c.count(
            "SELECT COUNT(*) FROM domain_events WHERE aggregate_id = ?1 AND type = 'order.paid'",
            &order_id
        ),
        1
    );
    // The shopper reads it with the cart token they checked out with.
    let number = paid["metadata"]["order_number"].as_str().unwrap();
    let view = c
        .shop(&s, "GET", &format!("/v1/orders/{number}"))
        .header("x-cart-token", &cart)
        .send()
        .await;
    assert_eq!(view.status, 200, "{}", view.text);
    assert_eq!(view.body["financial_status"], "paid");
    assert_eq!(view.body["shipping_address"]["city"], "Portsmouth");
    assert_eq!(view.body["promo_code"], "promo_SPRING");
}

async fn the_payment_intent_flow_is_paid_by_webhooks_and_confirm_only_reads(c: &Ctx<'_>) {
    let s = c.store().await;
    let (_, v) = c.product(&s, "pi-print", 4000).await;
    let jwt = c.token("pi-buyer", "HS256", json!({})).await;
    c.add_as(&s, &jwt, &v[0], 1).await;
    let no_address = c
        .shop(&s, "POST", "/v1/payment-intents")
        .bearer(&jwt)
        .send()
        .await;
    assert_problem(&no_address, 422, "validation_failed");
    let address = json!({ "name": "Ada", "line1": "2 Quay Street", "city": "Bristol", "postal_code": "BS1 4DJ", "country": "GB" });
    let r = c
        .shop(&s, "POST", "/v1/payment-intents")
        .bearer(&jwt)
        .json(&json!({ "shipping_address": address }))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let pi = r.body["payment_intent"]["id"].as_str().unwrap().to_owned();
    assert!(
        r.body["payment_intent"]["client_secret"]
            .as_str()
            .unwrap()
            .starts_with(&pi)
    );
    assert_eq!(r.body["payment_intent"]["amount"], 4999);
    let order_id = r.body["order"]["id"].as_str().unwrap().to_owned();
    // The same call again resumes the same intent.
    let again = c
        .shop(&s, "POST", "/v1/payment-intents")
        .bearer(&jwt)
        .json(&json!({ "shipping_address": address }))
        .send()
        .await;
    assert_eq!(
        (again.status, again.body["payment_intent"]["id"].as_str()),
        (200, Some(pi.as_str()))
    );

    let confirm = |c: &Ctx<'_>| {
        let jwt = jwt.clone();
        let pi = pi.clone();
        let s_pk = s.pk.clone();
        let url = c.sf(&format!("/v1/payment-intents/{pi}/confirm"));
        let client = c.client.clone();
        async move {
            client
                .post(&url)
                .header("x-publishable-api-key", &s_pk)
                .bearer(&jwt)
                .send()
                .await
        }
    };
    let before = c.rows_at_rest().await;
    let r = confirm(c).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["payment_intent"]["status"],
        "requires_payment_method"
    );
    assert!(r.body["payment_intent"].get("client_secret").is_none());
    assert_eq!(c.rows(), before, "confirm writes nothing");
    // Someone else cannot read it.
    let other = c.token("pi-other", "HS256", json!({})).await;
    let r = c
        .shop(&s, "POST", &format!("/v1/payment-intents/{pi}/confirm"))
        .bearer(&other)
        .send()
        .await;
    assert_problem(&r, 404, "payment_intent_not_found");

    // The shopper's form confirms at Stripe; the webhook pays the order.
    let r = c
        .client
        .post(&c.sim(&format!("/v1/payment_intents/{pi}/confirm")))
        .bearer("sk_test_shopper_form")
        .raw(
            "application/x-www-form-urlencoded",
            "payment_method=pm_card_visa",
        )
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let o = c.order_paid(&order_id).await;
    assert_eq!(o["total"], 4999);
    let r = confirm(c).await;
    assert_eq!(r.body["payment_intent"]["status"], "succeeded");
    assert_eq!(r.body["order"]["financial_status"], "paid");
    assert_eq!(
        c.count(
            "SELECT COUNT(*) FROM payments WHERE order_id = ?1",
            &order_id
        ),
        1
    );
    assert_eq!(
        c.count(
            "SELECT order_count FROM customers WHERE subject = ?1",
            "pi-buyer"
        ),
        1
    );
    assert_eq!(
        c.count(
            "SELECT lifetime_value FROM customers WHERE subject = ?1",
            "pi-buyer"
        ),
        4999
    );
}

async fn declined_and_expired_payments_cancel_the_order_and_free_the_cart(c: &Ctx<'_>) {
    let (s, cart, co) = checked_out(c, "decline-print").await;
    let order_id = co["order"]["id"].as_str().unwrap().to_owned();
    let session = co["session_id"].as_str().unwrap();
    let r = c
        .client
        .post(&c.sim(&format!(
            "/__control/stripe/checkout_sessions/{session}/decline"
        )))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let o = c.order_becomes(&order_id, "cancelled").await;
    assert_eq!(o["cancel_reason"], "payment_failed: card_declined");
    // The open session was expired at Stripe, so it can no longer be paid.
    let expired = eventually(async || {
        let url = c.sim(&format!("/v1/checkout/sessions/{session}"));
        c.client.get(&url).bearer("sk_test_check").send().await.body["status"] == "expired"
    })
    .await;
    assert!(expired, "the declined session is expired at Stripe");
    // The cart is usable again: a new checkout makes a new order, and expiry cancels it.
    let cart_now = c
        .shop(&s, "GET", "/v1/carts/current")
        .header("x-cart-token", &cart)
        .send()
        .await;
    assert_eq!(cart_now.body["status"], "active");
    let co2 = c.checkout(&s, &cart).await;
    let order2 = co2["order"]["id"].as_str().unwrap().to_owned();
    assert_ne!(order2, order_id);
    let session2 = co2["session_id"].as_str().unwrap();
    let r = c
        .client
        .post(&c.sim(&format!(
            "/__control/stripe/checkout_sessions/{session2}/expire"
        )))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let o = c.order_becomes(&order2, "cancelled").await;
    assert_eq!(o["cancel_reason"], "checkout_expired");
    let cart_now = c
        .shop(&s, "GET", "/v1/carts/current")
        .header("x-cart-token", &cart)
        .send()
        .await;
    assert_eq!(cart_now.body["status"], "active");
    assert_eq!(c.count("SELECT COUNT(*) FROM payments WHERE order_id IN (SELECT id FROM orders WHERE store_id = ?1)", &s.id), 0);
    assert_eq!(
        c.count("SELECT COUNT(*) FROM outbox WHERE store_id = ?1", &s.id),
        0
    );
}

async fn the_storm_of_duplicate_concurrent_events_makes_one_paid_order_each(c: &Ctx<'_>) {
    const ORDERS: usize = 50;
    let s = c.store().await;
    let (_, v) = c.product(&s, "storm-print", 1800).await;
    // 50 shoppers check out.
    let mut sessions = Vec::new();
    for chunk in (0..ORDERS).collect::<Vec<_>>().chunks(10) {
        let placed = join_all(chunk.iter().map(|_| async {
            let cart = c.guest_cart(&s).await;
            c.add(&s, &cart, &v[0], 1).await;
            let co = c.checkout(&s, &cart).await;
            (
                cart,
                co["order"]["id"].as_str().unwrap().to_owned(),
                co["session_id"].as_str().unwrap().to_owned(),
            )
        }))
        .await;
        sessions.extend(placed);
    }
    // Every event is delivered 5 times at once; all 50 are paid at once; each shopper's page
    // polls confirm meanwhile, and every completion event is redelivered 5 more times.
    c.delivery(json!({ "duplicate": 4 })).await;
    let started = Instant::now();
    let paid: Vec<Value> =
        join_all(sessions.iter().map(|(_, _, sess)| c.pay(sess, json!({})))).await;
    let pk = &s.pk;
    let confirms = join_all(paid.iter().zip(&sessions).flat_map(|(p, (cart, _, _))| {
        let pi = p["payment_intent"].as_str().unwrap().to_owned();
        (0..2).map(move |_| {
            let url = c.sf(&format!("/v1/payment-intents/{pi}/confirm"));
            let client = c.client.clone();
            let (pk, cart) = (pk.clone(), cart.clone());
            async move {
                client
                    .post(&url)
                    .header("x-publishable-api-key", &pk)
                    .header("x-cart-token", &cart)
                    .send()
                    .await
            }
        })
    }))
    .await;
    for r in &confirms {
        assert!(r.status < 500, "confirm answered {}: {}", r.status, r.text);
    }
    let events = c
        .client
        .get(&c.sim("/v1/events?type=checkout.session.completed&limit=100"))
        .bearer("sk_test_storm")
        .send()
        .await;
    let ids: Vec<String> = events.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["data"]["object"]["metadata"]["store_id"] == s.id.as_str())
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), ORDERS);
    join_all(ids.iter().map(|id| {
        c.client
            .post(&c.sim(&format!("/__control/stripe/events/{id}/deliver")))
            .json(&json!({ "times": 5 }))
            .send()
    }))
    .await;
    for (_, order, _) in &sessions {
        c.order_paid(order).await;
    }
    eprintln!(
        "    storm: {ORDERS} orders paid in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    // Let every delivery of this store's events land before counting: 2 events × 5 copies,
    // and 5 redeliveries of each completion event.
    let mut ours: std::collections::HashSet<String> = ids.iter().cloned().collect();
    let intents = c
        .client
        .get(&c.sim("/v1/events?type=payment_intent.succeeded&limit=100"))
        .bearer("sk_test_storm")
        .send()
        .await;
    ours.extend(
        intents.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["data"]["object"]["metadata"]["store_id"] == s.id.as_str())
            .map(|e| e["id"].as_str().unwrap().to_owned()),
    );
    assert_eq!(ours.len(), 2 * ORDERS);
    let deliveries = wait_for_deliveries(c, &ours, ORDERS * (2 * 5 + 5)).await;
    c.delivery(json!({ "duplicate": 0 })).await;
    assert!(
        deliveries
            .iter()
            .all(|d| d["status"].as_u64().is_some_and(|s| s < 500)),
        "no 5xx: {:?}",
        deliveries
            .iter()
            .filter(|d| d["status"].as_u64().is_none_or(|s| s >= 500))
            .collect::<Vec<_>>()
    );
    let store = s.id.as_str();
    assert_eq!(
        c.count(
            "SELECT COUNT(*) FROM orders WHERE store_id = ?1 AND financial_status = 'paid'",
            store
        ),
        ORDERS as i64
    );
    assert_eq!(
        c.count("SELECT COUNT(*) FROM payments WHERE store_id = ?1", store),
        ORDERS as i64
    );
    assert_eq!(
        c.count(
            "SELECT COUNT(DISTINCT stripe_id) FROM payments WHERE store_id = ?1",
            store
        ),
        ORDERS as i64
    );
    assert_eq!(
        c.count(
            "SELECT COUNT(*) FROM outbox WHERE store_id = ?1 AND kind = 'fulfil'",
            store
        ),
        ORDERS as i64
    );
    // One confirmation email queued per order, however many copies of each event came.
    assert_eq!(
        c.count("SELECT COUNT(*) FROM notifications WHERE store_id = ?1 AND kind = 'order_confirmation'", store),
        ORDERS as i64
    );
    assert_eq!(
        c.count(
            "SELECT COUNT(*) FROM domain_events WHERE store_id = ?1 AND type = 'order.paid'",
            store
        ),
        ORDERS as i64
    );
    assert_eq!(
        c.count("SELECT COUNT(*) FROM inbound_events WHERE json_extract(payload, '$.data.object.metadata.store_id') = ?1", store),
        2 * ORDERS as i64,
        "each event recorded once"
    );
}

/// The simulator's finished delivery attempts of these events, once there are at least `n`
/// (up to 60 s).
async fn wait_for_deliveries(
    c: &Ctx<'_>,
    events: &std::collections::HashSet<String>,
    n: usize,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = c
            .client
            .get(&c.sim("/__control/stripe/deliveries"))
            .send()
            .await;
        let all: Vec<Value> = r.body["data"].as_array().cloned().unwrap_or_default();
        let done: Vec<Value> = all
            .into_iter()
            .filter(|d| d.get("status").is_some())
            .filter(|d| d["event"].as_str().is_some_and(|e| events.contains(e)))
            .collect();
        if done.len() >= n || Instant::now() > deadline {
            return done;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The stored copy of a Stripe event, as the simulator lists it.
async fn stripe_event(c: &Ctx<'_>, kind: &str, store: &str) -> Value {
    let r = c
        .client
        .get(&c.sim(&format!("/v1/events?type={kind}&limit=100")))
        .bearer("sk_test_lookup")
        .send()
        .await;
    r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["data"]["object"]["metadata"]["store_id"] == store)
        .cloned()
        .unwrap_or_else(|| panic!("no {kind} event for store {store}"))
}

async fn replayed_events_change_nothing_and_altered_ones_are_refused(c: &Ctx<'_>) {
    let (s, _, co) = checked_out(c, "replay-print").await;
    let order_id = co["order"]["id"].as_str().unwrap().to_owned();
    c.pay(co["session_id"].as_str().unwrap(), json!({})).await;
    c.order_paid(&order_id).await;
    let event = stripe_event(c, "checkout.session.completed", &s.id).await;
    // Wait until both of the payment's events were applied, then replay one.
    for _ in 0..100 {
        if c.count("SELECT COUNT(*) FROM inbound_events WHERE processed_at IS NOT NULL AND json_extract(payload, '$.data.object.metadata.store_id') = ?1", &s.id) == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.order_settled(&order_id).await;
    let before = c.rows_at_rest().await;
    let body = serde_json::to_vec(&event).unwrap();
    let r = c.stripe_webhook(&body, Some(&c.sign(&body))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["duplicate"], true);
    assert_eq!(c.rows(), before, "a replay changes nothing");
    // Same id, other content (a bigger total): refused, logged, nothing written.
    let mut altered = event.clone();
    altered["data"]["object"]["amount_total"] = json!(1);
    let body = serde_json::to_vec(&altered).unwrap();
    let r = c.stripe_webhook(&body, Some(&c.sign(&body))).await;
    assert_problem(&r, 409, "event_payload_mismatch");
    assert_eq!(c.rows(), before);
    let rid = r.header("x-request-id").unwrap().to_owned();
    let mut logged = false;
    for _ in 0..40 {
        logged = c
            .stack
            .wrangler_log()
            .lines()
            .any(|l| l.contains(&rid) && l.contains("different payload"));
        if logged {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(logged, "the refusal is logged with its request id");
    assert_eq!(c.order(&order_id)["total"], 7249);
}

async fn bad_signatures_get_400_and_write_nothing(c: &Ctx<'_>) {
    let (s, _, co) = checked_out(c, "forged-print").await;
    let order_id = co["order"]["id"].as_str().unwrap().to_owned();
    let forged = json!({ "id": "evt_forged_1", "object": "event", "type": "checkout.session.completed", "created": now_s(),
        "data": { "object": { "id": co["session_id"], "object": "checkout.session", "payment_status": "paid", "payment_intent": "pi_forged",
            "amount_subtotal": 6250, "amount_total": 7249, "currency": "usd", "total_details": { "amount_discount": 0, "amount_shipping": 999, "amount_tax": 0 },
            "metadata": { "order_id": order_id, "store_id": s.id } } } });
    let body = serde_json::to_vec(&forged).unwrap();
    let t = now_s();
    let sign = |secret: &str, t: i64, payload: &[u8]| {
        lading_core::payments::stripe_signature::sign(secret, t, payload)
    };
    let secret = c.stack.stripe_webhook_secret.clone();
    let before = c.rows_at_rest().await;
    for (name, header) in [
        ("missing", None),
        ("malformed", Some("v1=abc,t=notanumber".to_owned())),
        (
            "no v1",
            Some(format!("t={t},v0={}", sign(&secret, t, &body))),
        ),
        (
            "wrong secret",
            Some(format!("t={t},v1={}", sign("whsec_someone_else", t, &body))),
        ),
        (
            "stale",
            Some(format!(
                "t={},v1={}",
                t - 400,
                sign(&secret, t - 400, &body)
            )),
        ),
    ] {
        let r = c.stripe_webhook(&body, header.as_deref()).await;
        assert_problem(&r, 400, "invalid_signature");
        assert!(r.body["detail"].as_str().is_some(), "{name}: says why");
    }
    // Signed correctly, but not an event.
    let junk = b"{\"hello\":\"world\"}";
    let r = c.stripe_webhook(junk, Some(&c.sign(junk))).await;
    assert_problem(&r, 400, "malformed_event");
    assert_eq!(c.rows(), before, "rejections write nothing");
    assert_eq!(c.order(&order_id)["status"], "pending");
}

async fn a_dropped_delivery_is_recovered_by_the_reconciliation_cron(c: &Ctx<'_>) {
    let (_, _, co) = checked_out(c, "dropped-print").await;
    let order_id = co["order"]["id"].as_str().unwrap().to_owned();
    // Both events of this payment are lost on the way.
    c.delivery(json!({ "drop_next": 2 })).await;
    let mark = c.stripe_delivery_mark().await;
    c.pay(co["session_id"].as_str().unwrap(), json!({})).await;
    // The simulator decides a drop before the payment answers and never sends a dropped
    // event: its log proves nothing is on the way.
    let r = c
        .client
        .get(&c.sim("/__control/stripe/deliveries"))
        .send()
        .await;
    let since: Vec<&Value> = r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .skip(mark)
        .collect();
    assert_eq!(since.len(), 2, "{since:?}");
    assert!(since.iter().all(|d| d["outcome"] == "dropped"), "{since:?}");
    assert_eq!(
        c.order(&order_id)["status"],
        "pending",
        "no webhook arrived"
    );
    let r = cron(c, "*/5 * * * *").await;
    assert_eq!(r["cron"], "*/5 * * * *", "{r}");
    let o = c.order_paid(&order_id).await;
    assert_eq!(o["total"], 7249);
    assert_eq!(
        c.count(
            "SELECT COUNT(*) FROM outbox WHERE id IN (SELECT 'fulfil:' || id FROM fulfillment_orders WHERE order_id = ?1)",
            &order_id
        ),
        1
    );
    // The queue consumer submits the order and sends its emails on its own time, writing
    // timeline entries: let it finish so the snapshot sees only what the second run does.
    c.order_settled(&order_id).await;
    // Running it again applies nothing new.
    let before = c.rows_at_rest().await;
    cron(c, "*/5 * * * *").await;
    let after = c.rows();
    assert_eq!(before, after);
}

async fn signatures_from_stripes_own_sdk_are_accepted(c: &Ctx<'_>) {
    let event = json!({ "id": format!("evt_sdk_{}", now_s()), "object": "event", "type": "customer.created", "created": now_s(),
                        "data": { "object": { "id": "cus_sdk", "object": "customer" } } });
    let payload = event.to_string();
    let script = "const Stripe = require('stripe'); const s = new Stripe('sk_test_sdk'); \
                  process.stdout.write(s.webhooks.generateTestHeaderString({ payload: process.env.PAYLOAD, secret: process.env.SECRET }));";
    let out = std::process::Command::new(lading_e2e::root().join("node_modules/.bin/node"))
        .args(["-e", script])
        .env("PAYLOAD", &payload)
        .env("SECRET", &c.stack.stripe_webhook_secret)
        .current_dir(lading_e2e::root())
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let header = String::from_utf8(out.stdout).unwrap();
    assert!(
        header.starts_with("t=") && header.contains(",v1="),
        "{header}"
    );
    // One byte different: refused, nothing written.
    let mut altered = payload.clone().into_bytes();
    let at = altered.len() - 2;
    altered[at] = if altered[at] == b' ' { b'\n' } else { b' ' };
    let before = c.rows_at_rest().await;
    let r = c.stripe_webhook(&altered, Some(&header)).await;
    assert_problem(&r, 400, "invalid_signature");
    assert_eq!(c.rows(), before);
    let r = c.stripe_webhook(payload.as_bytes(), Some(&header)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["duplicate"], false);
}

async fn guests_look_up_their_order_and_customers_list_theirs(c: &Ctx<'_>) {
    let (s, _, co) = checked_out(c, "lookup-print").await;
    let number = co["order"]["order_number"].as_str().unwrap().to_owned();
    c.pay(co["session_id"].as_str().unwrap(), json!({})).await;
    c.order_paid(co["order"]["id"].as_str().unwrap()).await;
    let lookup = |email: &str| {
        c.shop(&s, "POST", "/v1/orders/lookup")
            .json(&json!({ "order_number": number, "email": email }))
            .send()
    };
    assert_problem(&lookup("nobody@example.com").await, 404, "order_not_found");
    let r = lookup("Guest@Example.com").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let token = r.body["order_token"].as_str().unwrap();
    let read = c
        .shop(&s, "GET", &format!("/v1/orders/{number}"))
        .header("x-order-token", token)
        .send()
        .await;
    assert_eq!(
        (read.status, read.body["financial_status"].as_str()),
        (200, Some("paid"))
    );
    let anon = c
        .shop(&s, "GET", &format!("/v1/orders/{number}"))
        .send()
        .await;
    assert_problem(&anon, 404, "order_not_found");
    // Another store's key does not reach it, even with the token.
    let other = c.store().await;
    let r = c
        .shop(&other, "GET", &format!("/v1/orders/{number}"))
        .header("x-order-token", token)
        .send()
        .await;
    assert_problem(&r, 404, "order_not_found");

    // A customer lists only their own orders, newest first, page by page.
    let (_, v) = c.product(&s, "lookup-print-2", 1000).await;
    let jwt = c.token("lister", "HS256", json!({})).await;
    for _ in 0..3 {
        c.add_as(&s, &jwt, &v[1], 1).await;
        let r = c
            .shop(&s, "POST", "/v1/checkout/sessions")
            .bearer(&jwt)
            .send()
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.body["order"]["shipping"], 0, "digital only ships nothing");
    }
    let page = c
        .shop(&s, "GET", "/v1/orders?limit=2")
        .bearer(&jwt)
        .send()
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(page.body["data"].as_array().unwrap().len(), 2);
    assert_eq!(page.body["has_more"], true);
    let next = page.body["next_starting_after"].as_str().unwrap();
    let rest = c
        .shop(
            &s,
            "GET",
            &format!("/v1/orders?limit=2&starting_after={next}"),
        )
        .bearer(&jwt)
        .send()
        .await;
    assert_eq!(rest.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(rest.body["has_more"], false);
    let guest = c.shop(&s, "GET", "/v1/orders").send().await;
    assert_problem(&guest, 401, "customer_token_required");
}

async fn orders_unpaid_for_48_hours_are_cancelled_by_the_hourly_cron(c: &Ctx<'_>) {
    let (_, _, old) = checked_out(c, "unpaid-old").await;
    let (_, _, fresh) = checked_out(c, "unpaid-fresh").await;
    let old_id = old["order"]["id"].as_str().unwrap().to_owned();
    let fresh_id = fresh["order"]["id"].as_str().unwrap().to_owned();
    // Stand in for 49 hours passing: age one order in local D1.
    let n = c
        .stack
        .d1()
        .execute(
            "UPDATE orders SET created_at = created_at - 49 * 3600000 WHERE id = ?1",
            [&old_id],
        )
        .unwrap();
    assert_eq!(n, 1);
    cron(c, "0 * * * *").await;
    let o = c.order(&old_id);
    assert_eq!(
        (o["status"].as_str(), o["cancel_reason"].as_str()),
        (Some("cancelled"), Some("unpaid_48h"))
    );
    assert_eq!(c.order(&fresh_id)["status"], "pending");
    assert_eq!(c.count("SELECT COUNT(*) FROM domain_events WHERE aggregate_id = ?1 AND type = 'order.cancelled'", &old_id), 1);
}

async fn a_declined_payment_intent_cancels_the_order_and_the_intent(c: &Ctx<'_>) {
    let s = c.store().await;
    let (_, v) = c.product(&s, "pi-decline", 3000).await;
    let jwt = c.token("pi-decliner", "HS256", json!({})).await;
    c.add_as(&s, &jwt, &v[1], 1).await;
    let r = c
        .shop(&s, "POST", "/v1/payment-intents")
        .bearer(&jwt)
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let pi = r.body["payment_intent"]["id"].as_str().unwrap().to_owned();
    let order_id = r.body["order"]["id"].as_str().unwrap().to_owned();
    let r = c
        .client
        .post(&c.sim(&format!("/v1/payment_intents/{pi}/confirm")))
        .bearer("sk_test_shopper_form")
        .raw(
            "application/x-www-form-urlencoded",
            "payment_method=pm_card_chargeDeclined",
        )
        .send()
        .await;
    assert_eq!(
        r.body["last_payment_error"]["code"], "card_declined",
        "{}",
        r.text
    );
    let o = c.order_becomes(&order_id, "cancelled").await;
    assert_eq!(o["cancel_reason"], "payment_failed: card_declined");
    // The intent is cancelled at Stripe, so a retried confirm cannot take money for it.
    let cancelled = eventually(async || {
        let url = c.sim(&format!("/v1/payment_intents/{pi}"));
        c.client.get(&url).bearer("sk_test_check").send().await.body["status"] == "canceled"
    })
    .await;
    assert!(cancelled, "the declined intent is cancelled at Stripe");
    // The customer's cart is theirs again, and a new attempt makes a new order.
    let cart = c
        .shop(&s, "GET", "/v1/carts/current")
        .bearer(&jwt)
        .send()
        .await;
    assert_eq!(
        (cart.status, cart.body["status"].as_str()),
        (200, Some("active")),
        "{}",
        cart.text
    );
    let r = c
        .shop(&s, "POST", "/v1/payment-intents")
        .bearer(&jwt)
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_ne!(r.body["order"]["id"].as_str(), Some(order_id.as_str()));
    assert_ne!(r.body["payment_intent"]["id"].as_str(), Some(pi.as_str()));
}

async fn concurrent_refunds_never_exceed_the_capture_and_stripe_gets_each_once(c: &Ctx<'_>) {
    let (s, _, co) = checked_out(c, "refund-print").await;
    let order = co["order"]["id"].as_str().unwrap().to_owned();
    c.pay(co["session_id"].as_str().unwrap(), json!({})).await;
    c.order_paid(&order).await;
    let mark = c
        .client
        .get(&c.sim("/__control/requests"))
        .send()
        .await
        .body["last_seq"]
        .as_u64()
        .unwrap();
    // Five operators refund 30.00 each at once: 72.49 was captured, so two get through.
    let url = c.adm(&format!("/admin/api/v1/orders/{order}/refunds"));
    let deliveries = c.stripe_delivery_mark().await;
    let answers = join_all((0..5).map(|_| {
        c.client
            .post(&url)
            .bearer(&s.admin_key)
            .json(&json!({ "amount": 3000, "reason": "requested_by_customer" }))
            .send()
    }))
    .await;
    let ok = answers.iter().filter(|r| r.status == 201).count();
    assert_eq!(
        ok,
        2,
        "{:?}",
        answers
            .iter()
            .map(|r| (r.status, r.text.clone()))
            .collect::<Vec<_>>()
    );
    for r in answers.iter().filter(|r| r.status != 201) {
        assert_problem(r, 409, "refund_exceeds_refundable");
    }
    let sent = c
        .client
        .get(&c.sim(&format!(
            "/__control/requests?path_prefix=/v1/refunds&after={mark}"
        )))
        .send()
        .await;
    assert_eq!(
        sent.body["data"].as_array().unwrap().len(),
        2,
        "Stripe received each refund once"
    );
    // Stripe's refund.created / charge.refunded webhooks land (maybe before our calls
    // returned): once all four are answered, still one ledger row per refund.
    c.stripe_webhooks_answered(deliveries, &["refund.created", "charge.refunded"], 2)
        .await;
    assert_eq!(
        c.count(
            "SELECT COUNT(*) FROM payments WHERE order_id = ?1 AND kind = 'refund'",
            &order
        ),
        2
    );
    assert_eq!(c.count("SELECT COUNT(*) FROM payments WHERE order_id = ?1 AND kind = 'refund' AND status = 'succeeded'", &order), 2);
    assert_eq!(c.order(&order)["financial_status"], "partially_refunded");
    // The rest: refunded in full; nothing more can go.
    let rest = c
        .admin(&s, "POST", &format!("/admin/api/v1/orders/{order}/refunds"))
        .json(&json!({}))
        .send()
        .await;
    assert_eq!(
        (rest.status, rest.body["amount"].as_i64()),
        (201, Some(1249)),
        "{}",
        rest.text
    );
    eventually(async || c.order(&order)["financial_status"] == "refunded").await;
    assert_eq!(c.order(&order)["financial_status"], "refunded");
    let more = c
        .admin(&s, "POST", &format!("/admin/api/v1/orders/{order}/refunds"))
        .json(&json!({ "amount": 1 }))
        .send()
        .await;
    assert_problem(&more, 409, "refund_exceeds_refundable");
}

async fn digital_downloads_stream_the_file_from_r2_to_its_buyer_only(c: &Ctx<'_>) {
    // The product's file in local R2 (the digital variant's asset key), 1 MB of known bytes.
    let bytes: Vec<u8> = (0..1_048_576u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let put = c
        .client
        .http()
        .put(format!("{}/_/r2/assets/dl-print.pdf", c.stack.base))
        .header("content-type", "application/pdf")
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 201);
    let (s, cart, co) = checked_out(c, "dl-print").await;
    let order = co["order"]["id"].as_str().unwrap().to_owned();
    let number = co["order"]["order_number"].as_str().unwrap().to_owned();
    c.pay(co["session_id"].as_str().unwrap(), json!({})).await;
    c.order_paid(&order).await;
    let links = c
        .shop(&s, "POST", &format!("/v1/orders/{number}/downloads"))
        .header("x-cart-token", &cart)
        .send()
        .await;
    assert_eq!(links.status, 201, "{}", links.text);
    let url = format!(
        "{}{}",
        c.stack.worker("storefront"),
        links.body["data"][0]["url"].as_str().unwrap()
    );
    let token = url.rsplit('/').next().unwrap().to_owned();
    assert_eq!(
        c.count(
            "SELECT COUNT(*) FROM download_tokens WHERE token_hash = ?1",
            &token
        ),
        0,
        "hashed at rest"
    );
    // The whole file, as a download.
    let r = c.client.http().get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert_eq!(h.get("content-type").unwrap(), "application/pdf");
    assert_eq!(h.get("content-length").unwrap(), "1048576");
    assert_eq!(
        h.get("content-disposition").unwrap(),
        "attachment; filename=\"dl-print.pdf\""
    );
    assert_eq!(h.get("accept-ranges").unwrap(), "bytes");
    assert!(
        r.bytes().await.unwrap().as_ref() == bytes.as_slice(),
        "the bytes of the R2 object"
    );
    // A range.
    let r = c
        .client
        .http()
        .get(&url)
        .header("range", "bytes=1000-1999")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(
        r.headers().get("content-range").unwrap(),
        "bytes 1000-1999/1048576"
    );
    assert!(r.bytes().await.unwrap().as_ref() == &bytes[1000..2000]);
    let r = c
        .client
        .http()
        .get(&url)
        .header("range", "bytes=2000000-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);
    // Guessed tokens, other shoppers, and a refunded order get nothing.
    let guessed = c
        .client
        .get(&format!(
            "{}/v1/downloads/dlt_{}",
            c.stack.worker("storefront"),
            "0".repeat(52)
        ))
        .send()
        .await;
    assert_problem(&guessed, 404, "download_not_found");
    let other = c.guest_cart(&s).await;
    let r = c
        .shop(&s, "POST", &format!("/v1/orders/{number}/downloads"))
        .header("x-cart-token", &other)
        .send()
        .await;
    assert_problem(&r, 404, "order_not_found");
    let refund = c
        .admin(&s, "POST", &format!("/admin/api/v1/orders/{order}/refunds"))
        .json(&json!({}))
        .send()
        .await;
    assert_eq!(refund.status, 201, "{}", refund.text);
    let gone = c.client.get(&url).send().await;
    assert_problem(&gone, 410, "gone");
}

/// A JPY store (no decimals) and a KWD store (three, in Stripe's steps of 0.010) sell, are
/// paid, export and refund with the amounts the simulated Stripe and a spreadsheet expect.
async fn stores_in_yen_and_dinars_sell_export_and_refund_at_stripe_with_their_decimals(
    c: &Ctx<'_>,
) {
    for (currency, price, refund, cell) in
        [("JPY", 1500, 500, "1500"), ("KWD", 12_340, 1_230, "12.340")]
    {
        let s = c.store_in(currency).await;
        let (_, v) = c
            .create_product(&s, json!({ "title": format!("Print {currency}"), "slug": format!("print-{}", currency.to_lowercase()), "status": "active",
                "variants": [{ "sku": format!("P-{currency}"), "kind": "digital", "price_amount": price, "digital_asset_key": "assets/p.pdf" }] }))
            .await;
        let cart = c.guest_cart(&s).await;
        c.add(&s, &cart, &v[0], 1).await;
        let co = c.checkout(&s, &cart).await;
        let order = co["order"]["id"].as_str().unwrap().to_owned();
        let session = co["session_id"].as_str().unwrap();
        let at_stripe = c
            .client
            .get(&c.sim(&format!("/v1/checkout/sessions/{session}")))
            .bearer("sk_test_currency")
            .send()
            .await;
        assert_eq!(
            (
                at_stripe.body["amount_total"].as_i64(),
                at_stripe.body["currency"].as_str()
            ),
            (Some(price), Some(currency.to_lowercase().as_str())),
            "{}",
            at_stripe.text
        );
        c.pay(session, json!({})).await;
        let paid = c.order_paid(&order).await;
        assert_eq!(paid["total"], price);
        let csv = c
            .admin(&s, "GET", "/admin/api/v1/orders/export.csv")
            .send()
            .await;
        let row: Vec<&str> = csv.text.lines().nth(1).unwrap().split(',').collect();
        assert_eq!(
            (row[6], row[7], row[11]),
            (currency, cell, cell),
            "{}",
            csv.text
        );
        let r = c
            .admin(&s, "POST", &format!("/admin/api/v1/orders/{order}/refunds"))
            .json(&json!({ "amount": refund }))
            .send()
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let events = c
            .client
            .get(&c.sim("/v1/events?type=refund.created&limit=100"))
            .bearer("sk_test_currency")
            .send()
            .await;
        let refunds: Vec<&Value> = events.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["data"]["object"])
            .filter(|r| r["metadata"]["order_id"] == order.as_str())
            .collect();
        assert_eq!(refunds.len(), 1, "{refunds:?}");
        assert_eq!(
            (
                refunds[0]["amount"].as_i64(),
                refunds[0]["currency"].as_str()
            ),
            (Some(refund), Some(currency.to_lowercase().as_str()))
        );
    }
}
