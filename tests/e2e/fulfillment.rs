//! Fulfillment on the local stack: paid orders routed to the simulated providers through
//! the outbox, the real queue and the fulfillment Worker; provider webhooks and Gooten
//! polling bring parcels back.

use crate::support::*;
use crate::tests::{Test, tests};
use futures::FutureExt;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::time::{Duration, Instant};

tests!(
    a_paid_order_reaches_each_provider_once_and_comes_back_as_parcels,
    duplicate_messages_and_an_expired_lease_still_make_one_provider_order,
    provider_outages_are_retried_and_refusals_wait_for_an_operator,
    provider_webhooks_are_applied_once_and_forged_ones_write_nothing,
    gooten_is_polled_one_second_apart_at_most_60_a_run,
    the_cancellation_matrix_ends_in_the_right_states_and_refunds,
    art_becomes_a_product_that_sells_and_reaches_its_provider,
);

/// A product whose variants are made by Printful, Prodigi and Gooten (mapped), plus a
/// digital one. Returns the variant ids in that order.
pub(crate) async fn catalog(c: &Ctx<'_>, s: &Store, slug: &str) -> Vec<String> {
    let (_, v) = c
        .create_product(s, json!({ "title": format!("Harbour {slug}"), "slug": slug, "status": "active", "variants": [
            { "sku": format!("{slug}-PF"), "kind": "physical", "price_amount": 3000, "fulfillment_provider": "printful" },
            { "sku": format!("{slug}-PD"), "kind": "physical", "price_amount": 4000, "fulfillment_provider": "prodigi" },
            { "sku": format!("{slug}-GT"), "kind": "physical", "price_amount": 2000, "fulfillment_provider": "gooten" },
            { "sku": format!("{slug}-PDF"), "kind": "digital", "price_amount": 900, "digital_asset_key": format!("assets/{slug}.pdf") }
        ] }))
        .await;
    for (variant, provider, ext) in [
        (&v[0], "printful", "4012"),
        (&v[1], "prodigi", "GLOBAL-CFPM-16X20"),
        (&v[2], "gooten", "CanvsWrp-BlkWrp-10x10"),
    ] {
        let r = c
            .admin(
                s,
                "PUT",
                &format!("/admin/api/v1/variants/{variant}/provider-mappings/{provider}"),
            )
            .json(&json!({ "external_variant_id": ext, "cost_amount": 1100 }))
            .send()
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    v
}

/// Buys these variants as a guest and pays in the simulator; returns the order id.
pub(crate) async fn buy(c: &Ctx<'_>, s: &Store, variants: &[&str]) -> String {
    let cart = c.guest_cart(s).await;
    for v in variants {
        c.add(s, &cart, v, 1).await;
    }
    let co = c.checkout(s, &cart).await;
    let order = co["order"]["id"].as_str().unwrap().to_owned();
    c.pay(
        co["session_id"].as_str().unwrap(),
        json!({ "name": "Ada Lovelace" }),
    )
    .await;
    c.order_paid(&order).await;
    order
}

/// (provider, id, status, external id) of the order's fulfillment orders.
pub(crate) fn fos(c: &Ctx<'_>, order: &str) -> Vec<(String, String, String, Option<String>)> {
    let d1 = c.stack.d1();
    let mut st = d1
        .prepare("SELECT provider, id, status, external_id FROM fulfillment_orders WHERE order_id = ?1 ORDER BY provider")
        .unwrap();
    st.query_map([order], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// Waits (up to 30 s) until every fulfillment order of the order is in one of `statuses`.
pub(crate) async fn fos_become(
    c: &Ctx<'_>,
    order: &str,
    statuses: &[&str],
) -> Vec<(String, String, String, Option<String>)> {
    for _ in 0..300 {
        let f = fos(c, order);
        if !f.is_empty()
            && f.iter()
                .all(|(_, _, st, _)| statuses.contains(&st.as_str()))
        {
            return f;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "fulfillment orders of {order} did not reach {statuses:?}: {:?}",
        fos(c, order)
    );
}

pub(crate) async fn fo_becomes(c: &Ctx<'_>, fo: &str, status: &str) {
    for _ in 0..300 {
        let st: String = c
            .stack
            .d1()
            .query_row(
                "SELECT status FROM fulfillment_orders WHERE id = ?1",
                [fo],
                |r| r.get(0),
            )
            .unwrap();
        if st == status {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{fo} did not become {status}");
}

/// The simulator's orders at a provider made for this reference (our fulfillment order id).
pub(crate) async fn provider_orders(c: &Ctx<'_>, provider: &str, reference: &str) -> Vec<Value> {
    let key = match provider {
        "printful" => "external_id",
        "prodigi" => "idempotencyKey",
        "gooten" => "SourceId",
        _ => "orderReferenceId",
    };
    let r = c
        .client
        .get(&c.sim(&format!("/__control/providers/{provider}/orders")))
        .send()
        .await;
    r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o[key] == reference)
        .cloned()
        .collect()
}

async fn advance(c: &Ctx<'_>, provider: &str, external_id: &str, to: &str) {
    let r = c
        .client
        .post(&c.sim(&format!(
            "/__control/providers/{provider}/orders/{external_id}/advance"
        )))
        .json(&json!({ "to": to }))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn cron5(c: &Ctx<'_>) {
    // A run may pace Gooten calls a second apart: give it time.
    let r = lading_e2e::client::Client::with_timeout(Duration::from_secs(120))
        .get(&format!(
            "{}/__cron?cron=*/5%20*%20*%20*%20*",
            c.stack.worker("scheduler")
        ))
        .send()
        .await;
    assert_eq!(
        (r.status, r.body["outcome"].as_str()),
        (200, Some("ok")),
        "{}",
        r.text
    );
}

fn order_status(c: &Ctx<'_>, order: &str) -> String {
    c.order(order)["status"].as_str().unwrap().to_owned()
}

async fn order_becomes_status(c: &Ctx<'_>, order: &str, status: &str) {
    c.order_becomes(order, status).await;
}

async fn a_paid_order_reaches_each_provider_once_and_comes_back_as_parcels(c: &Ctx<'_>) {
    let s = c.store().await;
    let v = catalog(c, &s, "ff-route").await;
    let order = buy(c, &s, &[&v[0], &v[1], &v[3]]).await;
    let f = fos_become(c, &order, &["submitted"]).await;
    let providers: Vec<&str> = f.iter().map(|x| x.0.as_str()).collect();
    assert_eq!(
        providers,
        ["printful", "prodigi"],
        "the digital item makes none"
    );
    for (provider, id, _, external) in &f {
        let made = provider_orders(c, provider, id).await;
        assert_eq!(made.len(), 1, "{provider} received exactly one order");
        assert!(external.is_some());
    }
    assert_eq!(order_status(c, &order), "processing");
    // The recipient and items came from D1.
    let pf = provider_orders(c, "printful", &f[0].1).await.remove(0);
    assert_eq!(pf["recipient"]["name"], "Ada Lovelace");
    assert_eq!(pf["items"][0]["variant_id"], 4012);

    // Printful ships part, Prodigi ships all: partially shipped; then the rest: shipped.
    advance(
        c,
        "printful",
        f[0].3.as_deref().unwrap(),
        "partially_shipped",
    )
    .await;
    advance(c, "prodigi", f[1].3.as_deref().unwrap(), "shipped").await;
    fo_becomes(c, &f[1].1, "shipped").await;
    fo_becomes(c, &f[0].1, "shipped").await;
    order_becomes_status(c, &order, "shipped").await;
    let r = c
        .admin(
            &s,
            "GET",
            &format!("/admin/api/v1/fulfillment-orders/{}", f[1].1),
        )
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let parcel = &r.body["shipments"][0];
    assert_eq!(parcel["carrier"], "Royal Mail");
    assert!(
        parcel["tracking_number"]
            .as_str()
            .unwrap()
            .starts_with("SIM")
    );
    assert!(
        parcel["tracking_url"]
            .as_str()
            .unwrap()
            .contains("royalmail")
    );

    // A partial parcel leaves the order partially shipped.
    let order2 = buy(c, &s, &[&v[0], &v[1]]).await;
    let f2 = fos_become(c, &order2, &["submitted"]).await;
    advance(
        c,
        "prodigi",
        f2[1].3.as_deref().unwrap(),
        "partially_shipped",
    )
    .await;
    order_becomes_status(c, &order2, "partially_shipped").await;
}

async fn duplicate_messages_and_an_expired_lease_still_make_one_provider_order(c: &Ctx<'_>) {
    let s = c.store().await;
    let v = catalog(c, &s, "ff-dup").await;
    let order = buy(c, &s, &[&v[0]]).await;
    let f = fos_become(c, &order, &["submitted"]).await;
    let fo = f[0].1.clone();
    // The same queue message again: the outbox row is sent a second time by the sweep.
    let n = c
        .stack
        .d1()
        .execute("UPDATE outbox SET sent_at = NULL, next_attempt_at = NULL, created_at = created_at - 60000 WHERE id = 'fulfil:' || ?1", [&fo])
        .unwrap();
    assert_eq!(n, 1);
    cron5(c).await;
    for _ in 0..60 {
        let sent: Option<i64> = c
            .stack
            .d1()
            .query_row(
                "SELECT sent_at FROM outbox WHERE id = 'fulfil:' || ?1",
                [&fo],
                |r| r.get(0),
            )
            .unwrap();
        if sent.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A consumer that reached Printful and died: the claim is left `submitting`, its lease
    // expired, and the id it received was never recorded.
    c.stack.fabricate(
        "UPDATE fulfillment_orders SET status = 'submitting', lease_until = 1, submit_started = 1, external_id = NULL WHERE id = ?1",
        [&fo],
    );
    cron5(c).await;
    fo_becomes(c, &fo, "submitted").await;
    let external: Option<String> = c
        .stack
        .d1()
        .query_row(
            "SELECT external_id FROM fulfillment_orders WHERE id = ?1",
            [&fo],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(external, f[0].3, "recovered by looking it up at Printful");
    // Every message for it (the first, the sweep's copy, the recovery's) has been handled.
    c.queue_drained(&fo).await;
    assert_eq!(
        provider_orders(c, "printful", &fo).await.len(),
        1,
        "still one Printful order"
    );
    let lookups = c
        .client
        .get(&c.sim(&format!(
            "/__control/requests?path_prefix=/printful/orders/@{fo}"
        )))
        .send()
        .await;
    assert!(
        !lookups.body["data"].as_array().unwrap().is_empty(),
        "the recovered claim looked first"
    );
}

async fn provider_outages_are_retried_and_refusals_wait_for_an_operator(c: &Ctx<'_>) {
    let s = c.store().await;
    let v = catalog(c, &s, "ff-fault").await;
    // Printful is rate limited once (Retry-After: 1), Prodigi refuses the address.
    for fault in [
        json!({ "path_prefix": "/printful/orders", "method": "POST", "status": 429, "retry_after": 1,
                "body": { "code": 429, "error": { "reason": "TooManyRequests", "message": "Too many requests" } } }),
        json!({ "path_prefix": "/prodigi/v4.0/Orders", "method": "POST", "status": 400,
                "body": { "statusCode": 400, "outcome": "ValidationFailed", "failures": { "recipient.address.postalOrZipCode": [{ "code": "NotValid" }] } } }),
    ] {
        c.fault(&fault).await;
    }
    let order = buy(c, &s, &[&v[0], &v[1]]).await;
    let f = fos_become(c, &order, &["submitted", "failed"]).await;
    let (pf, pd) = (&f[0], &f[1]);
    assert_eq!(
        (pf.2.as_str(), pd.2.as_str()),
        ("submitted", "failed"),
        "{f:?}"
    );
    assert_eq!(
        provider_orders(c, "printful", &pf.1).await.len(),
        1,
        "one order after the 429"
    );
    // The operator sees the failure with Prodigi's reason, and retries it.
    let r = c
        .admin(&s, "GET", "/admin/api/v1/fulfillment-orders?status=failed")
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["data"][0]["id"], pd.1.as_str());
    assert!(
        r.body["data"][0]["error"]
            .as_str()
            .unwrap()
            .contains("postalOrZipCode"),
        "{}",
        r.text
    );
    let support = c
        .admin(&s, "POST", "/admin/api/v1/admin-keys")
        .json(&json!({ "role": "support", "label": "desk" }))
        .send()
        .await;
    let support_key = support.body["key"].as_str().unwrap().to_owned();
    let denied = c
        .client
        .post(&c.adm(&format!("/admin/api/v1/fulfillment-orders/{}/retry", pd.1)))
        .bearer(&support_key)
        .send()
        .await;
    assert_problem(&denied, 403, "forbidden");
    let r = c
        .admin(
            &s,
            "POST",
            &format!("/admin/api/v1/fulfillment-orders/{}/retry", pd.1),
        )
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    fo_becomes(c, &pd.1, "submitted").await;
    assert_eq!(provider_orders(c, "prodigi", &pd.1).await.len(), 1);
    let again = c
        .admin(
            &s,
            "POST",
            &format!("/admin/api/v1/fulfillment-orders/{}/retry", pd.1),
        )
        .send()
        .await;
    assert_problem(&again, 409, "not_retryable");
}

async fn provider_webhooks_are_applied_once_and_forged_ones_write_nothing(c: &Ctx<'_>) {
    let s = c.store().await;
    let v = catalog(c, &s, "ff-hooks").await;
    let order = buy(c, &s, &[&v[1]]).await;
    let f = fos_become(c, &order, &["submitted"]).await;
    let (fo, external) = (f[0].1.clone(), f[0].3.clone().unwrap());
    let line: String = c
        .stack
        .d1()
        .query_row(
            "SELECT id FROM fulfillment_order_lines WHERE fulfillment_order_id = ?1",
            [&fo],
            |r| r.get(0),
        )
        .unwrap();
    let event = json!({ "specversion": "1.0", "type": "com.prodigi.order.status.stage.changed#Complete", "id": format!("evt_e2e_{fo}"),
        "time": "2026-11-21T10:00:00Z", "subject": external,
        "data": { "order": { "id": external, "merchantReference": fo, "status": { "stage": "Complete", "details": { "inProduction": "Complete" } },
            "items": [{ "id": "ori_e2e", "merchantReference": line, "copies": 1 }],
            "shipments": [{ "id": "shp_e2e", "status": "Shipped", "carrier": { "name": "DPD", "service": "Next day" },
                "tracking": { "number": "DPD123", "url": "https://track.dpd.test/DPD123" }, "items": [{ "itemId": "ori_e2e" }] }] } } });
    let body = serde_json::to_vec(&event).unwrap();
    let sign = |key: &str| {
        let mut m = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
        m.update(&body);
        hex::encode(m.finalize().into_bytes())
    };
    let post = |sig: String| {
        c.client
            .post(&format!("{}/webhooks/prodigi", c.stack.worker("webhooks")))
            .header("x-prodigi-signature", &sig)
            .raw("application/json", std::str::from_utf8(&body).unwrap())
            .send()
    };
    let before = c.rows_at_rest().await;
    assert_problem(
        &post(sign("not-the-store-secret")).await,
        401,
        "invalid_signature",
    );
    assert_problem(&post("00".repeat(32)).await, 401, "invalid_signature");
    assert_eq!(c.rows(), before, "forged webhooks write nothing");
    let first = post(sign(lading_e2e::PROVIDER_WEBHOOK_SECRET)).await;
    assert_eq!(
        (first.status, first.body["duplicate"].as_bool()),
        (200, Some(false)),
        "{}",
        first.text
    );
    let after_first = c.rows();
    let second = post(sign(lading_e2e::PROVIDER_WEBHOOK_SECRET)).await;
    assert_eq!(
        (second.status, second.body["duplicate"].as_bool()),
        (200, Some(true)),
        "{}",
        second.text
    );
    assert_eq!(c.rows(), after_first, "applied once");
    fo_becomes(c, &fo, "shipped").await;
    assert_eq!(c.count("SELECT COUNT(*) FROM shipments WHERE fulfillment_order_id = ?1 AND tracking_number = 'DPD123'", &fo), 1);
    order_becomes_status(c, &order, "shipped").await;
    // Printful's secret travels in the URL; a wrong one is refused.
    let r = c
        .client
        .post(&format!("{}/webhooks/printful?secret=wrong", c.stack.worker("webhooks")))
        .json(&json!({ "type": "order_failed", "created": 1, "data": { "order": { "id": 1, "external_id": fo } } }))
        .send()
        .await;
    assert!(r.status == 401 || r.status == 404, "{}", r.text);
}

async fn gooten_is_polled_one_second_apart_at_most_60_a_run(c: &Ctx<'_>) {
    let s = c.store().await;
    let v = catalog(c, &s, "ff-gooten").await;
    let order = buy(c, &s, &[&v[2]]).await;
    let f = fos_become(c, &order, &["submitted"]).await;
    let (fo, external) = (f[0].1.clone(), f[0].3.clone().unwrap());
    advance(c, "gooten", &external, "shipped").await;
    // 64 more submitted Gooten orders, each checked once long ago; the real one never was,
    // so it goes first (least recently checked first).
    let d1 = c.stack.d1();
    for i in 0..64 {
        d1.execute_batch(&format!(
            "INSERT INTO orders (id, store_id, order_number, status, financial_status, currency, subtotal_amount, total_amount, created_at, updated_at) \
             VALUES ('ord_gx{i:02}', '{s}', 'GX-2026-{i:08}', 'processing', 'paid', 'USD', 100, 100, 1, 1); \
             INSERT INTO fulfillment_orders (id, store_id, order_id, provider, status, external_id, currency, last_polled_at, created_at, updated_at) \
             VALUES ('fo_gx{i:02}', '{s}', 'ord_gx{i:02}', 'gooten', 'submitted', 'GX{i}', 'USD', {checked}, 1, 1);",
            checked = 1 + i,
            s = s.id
        ))
        .unwrap();
    }
    d1.execute(
        "UPDATE fulfillment_orders SET last_polled_at = 0 WHERE id = ?1",
        [&fo],
    )
    .unwrap();
    drop(d1);
    let mark = c
        .client
        .get(&c.sim("/__control/requests"))
        .send()
        .await
        .body["last_seq"]
        .as_u64()
        .unwrap();
    let started = Instant::now();
    let slow = lading_e2e::client::Client::with_timeout(Duration::from_secs(180));
    let r = slow
        .get(&format!(
            "{}/__cron?cron=*/5%20*%20*%20*%20*",
            c.stack.worker("scheduler")
        ))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    eprintln!(
        "    gooten poll run: {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let all = c
        .client
        .get(&c.sim(&format!(
            "/__control/requests?path_prefix=/gooten/&after={mark}"
        )))
        .send()
        .await;
    let polls: Vec<&Value> = all.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] == "GET")
        .collect();
    assert_eq!(polls.len(), 60, "at most 60 a run");
    let times: Vec<u64> = polls.iter().map(|r| r["at_ms"].as_u64().unwrap()).collect();
    let min_gap = times.windows(2).map(|w| w[1] - w[0]).min().unwrap();
    assert!(
        min_gap >= 1000,
        "calls at least 1 s apart (closest {min_gap} ms)"
    );
    // The real one was among the least recently checked, and is now shipped with tracking.
    fo_becomes(c, &fo, "shipped").await;
    assert_eq!(
        c.count(
            "SELECT COUNT(*) FROM shipments WHERE fulfillment_order_id = ?1 AND carrier = 'UPS'",
            &fo
        ),
        1
    );
    order_becomes_status(c, &order, "shipped").await;
}

async fn the_cancellation_matrix_ends_in_the_right_states_and_refunds(c: &Ctx<'_>) {
    let s = c.store().await;
    let v = catalog(c, &s, "ff-cancel").await;
    // One order at Printful (not started), Prodigi (in production) and Gooten (shipped).
    let order = buy(c, &s, &[&v[0], &v[1], &v[2]]).await;
    let f = fos_become(c, &order, &["submitted"]).await;
    let (gt, pf, pd) = (&f[0], &f[1], &f[2]);
    advance(c, "prodigi", pd.3.as_deref().unwrap(), "in_production").await;
    fo_becomes(c, &pd.1, "in_production").await;
    advance(c, "gooten", gt.3.as_deref().unwrap(), "shipped").await;
    c.stack
        .d1()
        .execute(
            "UPDATE fulfillment_orders SET last_polled_at = 0 WHERE id = ?1",
            [&gt.1],
        )
        .unwrap();
    cron5(c).await;
    fo_becomes(c, &gt.1, "shipped").await;
    let r = c
        .admin(&s, "POST", &format!("/admin/api/v1/orders/{order}/cancel"))
        .json(&json!({ "reason": "changed their mind" }))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let part = |k: &str| -> Vec<String> {
        r.body[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["provider"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(part("requested"), ["printful", "prodigi"]);
    assert_eq!(part("not_cancelled"), ["gooten"]);
    fo_becomes(c, &pf.1, "cancelled").await;
    fo_becomes(c, &pd.1, "cancel_rejected").await;
    order_becomes_status(c, &order, "partially_shipped").await;
    // The Printful line (30.00) is refunded, once; nothing for the others.
    eventually(async || {
        c.count("SELECT COUNT(*) FROM payments WHERE order_id = ?1 AND kind = 'refund' AND status = 'succeeded'", &order) == 1
    })
    .await;
    assert_eq!(c.count("SELECT COALESCE(SUM(amount), 0) FROM payments WHERE order_id = ?1 AND kind = 'refund' AND status = 'succeeded'", &order), 3000);
    assert_eq!(c.order(&order)["financial_status"], "partially_refunded");
    let printful = provider_orders(c, "printful", &pf.1).await;
    assert_eq!(printful[0]["status"], "canceled");

    // An order whose fulfillment never reached a provider (Printful rate-limits it for an
    // hour) is cancelled at once and refunded in full, shipping included.
    let fault = json!({ "path_prefix": "/printful/orders", "method": "POST", "status": 429, "retry_after": 3600, "times": 1 });
    c.fault(&fault).await;
    let held = buy(c, &s, &[&v[0]]).await;
    fos_become(c, &held, &["pending"]).await;
    // The consumer has met the rate limit and put the message back for an hour.
    let held_fo = fos(c, &held)[0].1.clone();
    assert!(
        eventually(async || c.queue_story(&held_fo).1.iter().any(|o| o == "retry_after")).await,
        "{:?}",
        c.queue_story(&held_fo)
    );
    let total = c.order(&held)["total"].as_i64().unwrap();
    let r = c
        .admin(&s, "POST", &format!("/admin/api/v1/orders/{held}/cancel"))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["order"]["status"], "cancelled");
    assert_eq!(r.body["refund"]["amount"], total);
    eventually(async || c.order(&held)["financial_status"] == "refunded").await;
    assert_eq!(c.order(&held)["financial_status"], "refunded");
    // A fully shipped order cannot be cancelled.
    let shipped = buy(c, &s, &[&v[1]]).await;
    let f = fos_become(c, &shipped, &["submitted"]).await;
    advance(c, "prodigi", f[0].3.as_deref().unwrap(), "shipped").await;
    order_becomes_status(c, &shipped, "shipped").await;
    let r = c
        .admin(
            &s,
            "POST",
            &format!("/admin/api/v1/orders/{shipped}/cancel"),
        )
        .send()
        .await;
    assert_problem(&r, 409, "order_not_cancellable");
    c.client
        .call("DELETE", &c.sim("/__control/faults"))
        .send()
        .await;
}

async fn art_becomes_a_product_that_sells_and_reaches_its_provider(c: &Ctx<'_>) {
    let s = c.store().await;
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR-e2e-art".to_vec();
    let up = c
        .client
        .http()
        .post(c.adm("/admin/api/v1/art"))
        .bearer_auth(&s.admin_key)
        .header("content-type", "image/png")
        .body(png.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(up.status(), 201);
    let art: Value = up.json().await.unwrap();
    let r = c
        .admin(&s, "POST", "/admin/api/v1/products/from-art")
        .json(&json!({ "art_id": art["id"], "title": "Harbour from art", "slug": "harbour-from-art", "status": "active",
            "variants": [{ "sku": "HFA-A3", "kind": "physical", "price_amount": 3100, "fulfillment_provider": "printful", "estimated_production_days": 2 }],
            "variant_extras": [{ "provider_mappings": [{ "provider": "printful", "external_variant_id": "4012", "cost_amount": 1200 }],
                                 "placements": [{ "area": "front", "scale": 0.9 }] }] }))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let variant = r.body["variants"][0]["id"].as_str().unwrap().to_owned();
    // The art is in R2 where the product points.
    let image = r.body["images"][0].as_str().unwrap().to_owned();
    let stored = c.client.http().get(&image).send().await.unwrap();
    assert_eq!(stored.bytes().await.unwrap().as_ref(), png.as_slice());
    // Listed, bought, routed to the mapped provider with the art as its print file.
    let listed = c
        .shop(&s, "GET", "/v1/products/harbour-from-art")
        .send()
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let order = buy(c, &s, &[&variant]).await;
    let f = fos_become(c, &order, &["submitted"]).await;
    assert_eq!(f[0].0, "printful");
    let made = provider_orders(c, "printful", &f[0].1).await;
    assert_eq!(made.len(), 1);
    assert_eq!(made[0]["items"][0]["files"][0]["url"], image.as_str());
    assert_eq!(made[0]["items"][0]["variant_id"], 4012);
}
