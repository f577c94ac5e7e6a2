//! Operations on the local stack: ten concurrent parcels of three units from a line of
//! twenty make exactly six on local D1; a company's order shipped in three parcels to two
//! addresses follows the simulated couriers — signed webhooks (a forged one refused, a
//! duplicate and a late one changing nothing) and a polled courier — through partially
//! shipped and shipped to delivered; automation steps run once after a delivery reported
//! twice, retried by their policy (three calls, never four) or escalated; webhook
//! subscribers verify every message with the `standardwebhooks` npm package and catch up
//! after an outage.

use crate::billing::net_terms_company_buying;
use crate::support::*;
use crate::tests::{Test, tests};
use futures::FutureExt;
use futures::future::join_all;
use lading_e2e::client::Reply;
use serde_json::{Value, json};

tests!(
    ten_concurrent_parcels_of_three_from_twenty_units_make_exactly_six,
    three_parcels_to_two_addresses_follow_the_simulated_couriers_to_delivered,
    automation_runs_once_after_a_twice_reported_delivery_retries_then_escalates,
    webhook_subscribers_verify_with_standardwebhooks_and_catch_up_after_an_outage,
    metrics_parse_as_prometheus_text_and_match_the_rows_in_d1,
    an_operator_ships_in_two_parcels_and_follows_them_in_headless_chromium,
);

/// A company's invoiced order of `quantity` warehouse-shipped units, handed to the
/// operators: (order id, fulfillment order id, order item id).
async fn warehouse_order(
    c: &Ctx<'_>,
    s: &Store,
    name: &str,
    quantity: i64,
) -> (String, String, String) {
    let slug = format!("{}-crate", name.to_lowercase());
    let (_, v) = c
        .create_product(
            s,
            json!({ "title": format!("Crate {name}"), "slug": slug, "status": "active",
                    "variants": [{ "sku": format!("{slug}-1"), "kind": "physical", "price_amount": 30_000 }] }),
        )
        .await;
    let company = net_terms_company_buying(c, s, name, &v[0]).await;
    let r = c
        .admin(s, "POST", "/admin/api/v1/orders")
        .json(&json!({ "company_id": company, "lines": [{ "variant_id": v[0], "quantity": quantity }] }))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let order = r.body["id"].as_str().unwrap().to_owned();
    let item = r.body["lines"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let r = c
        .admin(s, "POST", &format!("/admin/api/v1/orders/{order}/invoice"))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let submitted = eventually(async || {
        c.count(
            "SELECT COUNT(*) FROM fulfillment_orders WHERE order_id = ?1 AND provider = 'warehouse' AND status = 'submitted'",
            &order,
        ) == 1
    })
    .await;
    assert!(submitted, "handed to the warehouse: {}", c.order(&order));
    let d1 = c.stack.d1();
    let fo: String = d1
        .query_row(
            "SELECT id FROM fulfillment_orders WHERE order_id = ?1",
            [&order],
            |r| r.get(0),
        )
        .unwrap();
    let item = if item.is_empty() {
        d1.query_row(
            "SELECT id FROM order_items WHERE order_id = ?1",
            [&order],
            |r| r.get(0),
        )
        .unwrap()
    } else {
        item
    };
    (order, fo, item)
}

async fn build(c: &Ctx<'_>, s: &Store, fo: &str, body: Value) -> Reply {
    c.admin(
        s,
        "POST",
        &format!("/admin/api/v1/fulfillment-orders/{fo}/shipments"),
    )
    .json(&body)
    .send()
    .await
}

async fn ten_concurrent_parcels_of_three_from_twenty_units_make_exactly_six(c: &Ctx<'_>) {
    let s = c.store().await;
    let (_, fo, item) = warehouse_order(c, &s, "Tenfold", 20).await;
    let body = json!({ "lines": [{ "order_item_id": item, "quantity": 3 }] });
    let answers = join_all((0..10).map(|_| build(c, &s, &fo, body.clone()))).await;
    let made = answers.iter().filter(|r| r.status == 201).count();
    assert_eq!(
        made,
        6,
        "{:?}",
        answers
            .iter()
            .map(|r| (r.status, &r.text))
            .collect::<Vec<_>>()
    );
    for r in answers.iter().filter(|r| r.status != 201) {
        assert_problem(r, 409, "quantity_exceeds_remaining");
    }
    assert_eq!(
        c.count(
            "SELECT SUM(sl.quantity) FROM shipment_lines sl JOIN shipments s ON s.id = sl.shipment_id WHERE s.fulfillment_order_id = ?1",
            &fo
        ),
        18
    );
    assert_eq!(
        c.count(
            "SELECT remaining_quantity FROM fulfillment_order_lines WHERE fulfillment_order_id = ?1",
            &fo
        ),
        2
    );
}

/// The parcel's status on local D1, once it is `status` (or what it is after 20 s).
async fn parcel_becomes(c: &Ctx<'_>, s: &Store, id: &str, status: &str) -> Value {
    let mut last = Value::Null;
    eventually(async || {
        last = c
            .admin(s, "GET", &format!("/admin/api/v1/shipments/{id}"))
            .send()
            .await
            .body;
        last["status"] == status
    })
    .await;
    last
}

/// What the simulated courier does next with a parcel (and its webhook, if it sends one).
async fn advance(c: &Ctx<'_>, courier: &str, number: &str, body: Value) -> Value {
    let r = c
        .client
        .post(&c.sim(&format!(
            "/__control/couriers/{courier}/parcels/{number}/advance"
        )))
        .json(&body)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["event"].clone()
}

async fn courier_deliveries(c: &Ctx<'_>) -> Vec<Value> {
    let r = c
        .client
        .get(&c.sim("/__control/couriers/deliveries"))
        .send()
        .await;
    r.body["data"].as_array().cloned().unwrap_or_default()
}

async fn three_parcels_to_two_addresses_follow_the_simulated_couriers_to_delivered(c: &Ctx<'_>) {
    let s = c.store().await;
    let (order, fo, item) = warehouse_order(c, &s, "Parcelry", 20).await;
    let dock = json!({ "name": "Dock 4", "line1": "1 Pier Rd", "city": "Halifax", "region": "NS", "country": "CA" });
    // Two parcels to the company's default address, one to a dock typed in and saved.
    let mut parcels = Vec::new();
    for (qty, courier, number, to) in [
        (8, "usps", "9400E2E0001", None),
        (8, "dhl", "JDE2E0002", None),
        (4, "chitchats", "CCE2E0003", Some(&dock)),
    ] {
        let mut body = json!({ "lines": [{ "order_item_id": item, "quantity": qty }], "courier": courier, "tracking_number": number });
        if let Some(a) = to {
            body["address"] = a.clone();
            body["save_address"] = json!(true);
        }
        let r = build(c, &s, &fo, body).await;
        assert_eq!(r.status, 201, "{}", r.text);
        parcels.push((r.body["id"].as_str().unwrap().to_owned(), courier, number));
    }
    let cities: Vec<String> = c
        .admin(
            &s,
            "GET",
            &format!("/admin/api/v1/fulfillment-orders/{fo}/shipments"),
        )
        .send()
        .await
        .body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p["destination"]["city"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(cities, ["Austin", "Austin", "Halifax"]);

    // A forged webhook is refused and moves nothing.
    c.client
        .post(&c.sim("/__control/couriers/delivery"))
        .json(&json!({ "fail_next": 1 }))
        .send()
        .await;
    advance(
        c,
        "usps",
        "9400E2E0001",
        json!({ "status": "in_transit", "location": "Chicago" }),
    )
    .await;
    let refused = eventually(async || {
        courier_deliveries(c)
            .await
            .iter()
            .any(|d| d["forged"] == true && d["status"] == 401)
    })
    .await;
    assert!(refused, "{:?}", courier_deliveries(c).await);
    let untouched = c
        .admin(
            &s,
            "GET",
            &format!("/admin/api/v1/shipments/{}", parcels[0].0),
        )
        .send()
        .await;
    assert_eq!(untouched.body["status"], "draft", "{}", untouched.text);

    // The same news, signed: the first parcel leaves (sent twice: applied once).
    c.client
        .post(&c.sim("/__control/couriers/delivery"))
        .json(&json!({ "duplicate": 1 }))
        .send()
        .await;
    let first = advance(
        c,
        "usps",
        "9400E2E0001",
        json!({ "status": "in_transit", "location": "Chicago" }),
    )
    .await;
    assert_eq!(
        parcel_becomes(c, &s, &parcels[0].0, "in_transit").await["status"],
        "in_transit"
    );
    c.client
        .post(&c.sim("/__control/couriers/delivery"))
        .json(&json!({}))
        .send()
        .await;
    let partial = eventually(async || {
        c.count(
            "SELECT COUNT(*) FROM fulfillment_orders WHERE id = ?1 AND status = 'partially_shipped'",
            &fo,
        ) == 1
    })
    .await;
    assert!(partial, "{}", c.order(&order));
    assert_eq!(c.order(&order)["status"], "partially_shipped");

    // The others leave: DHL by webhook, Chit Chats found by the scheduler's poll.
    advance(c, "dhl", "JDE2E0002", json!({ "status": "in_transit" })).await;
    assert_eq!(
        parcel_becomes(c, &s, &parcels[1].0, "in_transit").await["status"],
        "in_transit"
    );
    let polled = advance(
        c,
        "chitchats",
        "CCE2E0003",
        json!({ "status": "in_transit" }),
    )
    .await;
    assert_eq!(polled["tracking_number"], "CCE2E0003");
    c.cron("*/5 * * * *").await;
    assert_eq!(
        parcel_becomes(c, &s, &parcels[2].0, "in_transit").await["status"],
        "in_transit"
    );
    assert_eq!(c.order(&order)["status"], "shipped");

    // Delivered, each; then the first parcel's old in-transit news arrives again, late.
    advance(
        c,
        "usps",
        "9400E2E0001",
        json!({ "status": "out_for_delivery" }),
    )
    .await;
    advance(
        c,
        "usps",
        "9400E2E0001",
        json!({ "status": "delivered", "location": "Austin" }),
    )
    .await;
    advance(c, "dhl", "JDE2E0002", json!({ "status": "delivered" })).await;
    for (id, _, _) in &parcels[..2] {
        assert_eq!(
            parcel_becomes(c, &s, id, "delivered").await["status"],
            "delivered"
        );
    }
    let r = c
        .client
        .post(&c.sim(&format!(
            "/__control/couriers/usps/events/{}/deliver",
            first["id"].as_str().unwrap()
        )))
        .json(&json!({ "times": 2 }))
        .send()
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    advance(
        c,
        "chitchats",
        "CCE2E0003",
        json!({ "status": "delivered" }),
    )
    .await;
    c.cron("*/5 * * * *").await;
    assert_eq!(
        parcel_becomes(c, &s, &parcels[2].0, "delivered").await["status"],
        "delivered"
    );
    let late = eventually(async || {
        courier_deliveries(c)
            .await
            .iter()
            .filter(|d| d["event"] == first["id"] && d["status"] == 200)
            .count()
            >= 4
    })
    .await;
    assert!(late, "{:?}", courier_deliveries(c).await);
    let p0 = parcel_becomes(c, &s, &parcels[0].0, "delivered").await;
    assert_eq!(
        (p0["status"].as_str(), p0["tracking_status"].as_str()),
        (Some("delivered"), Some("delivered"))
    );
    assert_eq!(p0["tracking_location"], "Austin");
    assert_eq!(
        c.count(
            "SELECT COUNT(*) FROM fulfillment_orders WHERE id = ?1 AND status = 'delivered'",
            &fo
        ),
        1
    );
    assert_eq!(c.order(&order)["status"], "delivered");
    // Each courier event once on the parcel's timeline, whatever was sent twice.
    assert_eq!(
        c.count(
            "SELECT COUNT(*) FROM domain_events WHERE aggregate_id = ?1 AND type LIKE 'courier.%'",
            &parcels[0].0
        ),
        3
    );
}

/// What the simulated receiver `/hooks/{name}` was sent: each call's headers, body and answer.
async fn received(c: &Ctx<'_>, name: &str) -> Vec<Value> {
    let r = c
        .client
        .get(&c.sim(&format!("/__control/requests?path_prefix=/hooks/{name}")))
        .send()
        .await;
    r.body["data"].as_array().cloned().unwrap_or_default()
}

/// Verifies each message with the `standardwebhooks` npm package (and that one byte
/// changed is refused): (verified, refused).
fn standard_webhooks_verify(secret: &str, messages: &[Value]) -> (usize, usize) {
    let script = "const { Webhook } = require('standardwebhooks'); const wh = new Webhook(process.env.SECRET); \
        let ok = 0, refused = 0; \
        for (const m of JSON.parse(process.env.MESSAGES)) { \
          const h = Object.fromEntries(m.headers); wh.verify(m.body, h); ok++; \
          const i = m.body.length - 2; \
          const altered = m.body.slice(0, i) + (m.body[i] === ' ' ? '\\n' : ' ') + m.body.slice(i + 1); \
          try { wh.verify(altered, h); } catch (e) { refused++; } } \
        process.stdout.write(ok + ' ' + refused);";
    let out = std::process::Command::new(lading_e2e::root().join("node_modules/.bin/node"))
        .args(["-e", script])
        .env("SECRET", secret)
        .env("MESSAGES", Value::Array(messages.to_vec()).to_string())
        .current_dir(lading_e2e::root())
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut n = text.split(' ').map(|x| x.parse::<usize>().unwrap());
    (n.next().unwrap(), n.next().unwrap())
}

/// A scenario whose endpoint is the simulator's receiver `name`: its secret.
async fn scenario(c: &Ctx<'_>, s: &Store, code: &str, name: &str, attempts: i64) -> String {
    let r = c
        .admin(s, "POST", "/admin/api/v1/automation-scenarios")
        .json(
            &json!({ "code": code, "name": code, "endpoint_url": c.sim(&format!("/hooks/{name}")),
                       "max_attempts": attempts, "retry_delay_seconds": 1, "timeout_ms": 5000 }),
        )
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["secret"].as_str().unwrap().to_owned()
}

async fn automation_runs_once_after_a_twice_reported_delivery_retries_then_escalates(c: &Ctx<'_>) {
    let s = c.store().await;
    let tag = &s.id[s.id.len() - 8..];
    let (install, returns) = (format!("install-{tag}"), format!("return-{tag}"));
    let secret = scenario(c, &s, "first_time_install", &install, 3).await;
    scenario(c, &s, "return", &returns, 2).await;
    // The install endpoint fails twice, then works; the returns endpoint never does.
    c.fault(&json!({ "path_prefix": format!("/hooks/{install}"), "status": 500, "times": 2 }))
        .await;
    c.fault(&json!({ "path_prefix": format!("/hooks/{returns}"), "status": 503, "times": 0 }))
        .await;
    let (_, fo, item) = warehouse_order(c, &s, "Automata", 2).await;
    let number = format!("9400AUTO{tag}");
    let r = build(
        c,
        &s,
        &fo,
        json!({ "lines": [{ "order_item_id": item, "quantity": 2, "automation_steps": [
                    { "scenario": "first_time_install", "payload": { "sensor": "SN-77" } }, { "scenario": "return" } ] }],
                "courier": "usps", "tracking_number": number }),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let parcel = r.body["id"].as_str().unwrap().to_owned();
    advance(c, "usps", &number, json!({ "status": "in_transit" })).await;
    assert_eq!(
        parcel_becomes(c, &s, &parcel, "in_transit").await["status"],
        "in_transit"
    );
    // The delivery is reported twice.
    c.client
        .post(&c.sim("/__control/couriers/delivery"))
        .json(&json!({ "duplicate": 1 }))
        .send()
        .await;
    advance(c, "usps", &number, json!({ "status": "delivered" })).await;
    c.client
        .post(&c.sim("/__control/couriers/delivery"))
        .json(&json!({}))
        .send()
        .await;
    assert_eq!(
        parcel_becomes(c, &s, &parcel, "delivered").await["status"],
        "delivered"
    );

    let steps_path = format!("/admin/api/v1/shipments/{parcel}/automation-steps");
    let mut steps = Value::Null;
    let settled = eventually(async || {
        steps = c.admin(&s, "GET", &steps_path).send().await.body;
        steps["data"][0]["status"] == "succeeded" && steps["data"][1]["status"] == "failed"
    })
    .await;
    assert!(settled, "{steps}");
    assert_eq!(steps["data"][0]["attempts"], 3);
    assert_eq!(steps["data"][1]["attempts"], 2);
    let calls = received(c, &install).await;
    let answers: Vec<&str> = calls
        .iter()
        .map(|r| r["outcome"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(answers, ["500", "500", "200"], "three calls, never four");
    assert_eq!(received(c, &returns).await.len(), 2);
    // Signed the same way as webhooks: standardwebhooks verifies each call.
    assert_eq!(standard_webhooks_verify(&secret, &calls), (3, 3));
    let ids: Vec<&str> = calls
        .iter()
        .filter_map(|r| {
            r["headers"]
                .as_array()?
                .iter()
                .find(|h| h[0] == "webhook-id")?[1]
                .as_str()
        })
        .collect();
    assert!(
        ids.len() == 3 && ids.iter().all(|i| *i == ids[0]),
        "one webhook-id for every attempt: {ids:?}"
    );
    // The failed one is an event and a task for a person.
    let tasks = c
        .admin(&s, "GET", "/admin/api/v1/operator-tasks")
        .send()
        .await;
    assert_eq!(
        tasks.body["data"][0]["kind"], "automation_step_failed",
        "{}",
        tasks.text
    );
    assert_eq!(
        c.count(
            "SELECT COUNT(*) FROM domain_events WHERE aggregate_id = ?1 AND type = 'automation.step_failed'",
            &parcel
        ),
        1
    );
    assert_eq!(
        c.count(
            "SELECT COUNT(*) FROM domain_events WHERE aggregate_id = ?1 AND type = 'automation.step_queued'",
            &parcel
        ),
        2,
        "each step came due once"
    );
}

async fn webhook_subscribers_verify_with_standardwebhooks_and_catch_up_after_an_outage(
    c: &Ctx<'_>,
) {
    let s = c.store().await;
    let tag = &s.id[s.id.len() - 8..];
    let name = format!("subscriber-{tag}");
    let r = c
        .admin(&s, "POST", "/admin/api/v1/webhook-endpoints")
        .json(&json!({ "url": c.sim(&format!("/hooks/{name}")), "event_types": ["shipment.in_transit", "shipment.delivered"] }))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let (endpoint, secret) = (
        r.body["id"].as_str().unwrap().to_owned(),
        r.body["secret"].as_str().unwrap().to_owned(),
    );
    let (_, fo, item) = warehouse_order(c, &s, "Subscribed", 1).await;
    // The subscriber is down when both messages are first sent (503), then back.
    c.fault(&json!({ "path_prefix": format!("/hooks/{name}"), "status": 503, "times": 2 }))
        .await;
    let r = build(
        c,
        &s,
        &fo,
        json!({ "lines": [{ "order_item_id": item, "quantity": 1 }], "courier": "dhl", "tracking_number": format!("JDSUB{tag}") }),
    )
    .await;
    let parcel = r.body["id"].as_str().unwrap().to_owned();
    for status in ["in_transit", "delivered"] {
        let r = c
            .admin(
                &s,
                "POST",
                &format!("/admin/api/v1/shipments/{parcel}/status"),
            )
            .json(&json!({ "status": status }))
            .send()
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let deliveries_path =
        format!("/admin/api/v1/webhook-endpoints/{endpoint}/deliveries?status=succeeded");
    let mut delivered = Value::Null;
    let caught_up = eventually(async || {
        delivered = c.admin(&s, "GET", &deliveries_path).send().await.body;
        delivered["data"].as_array().is_some_and(|d| d.len() == 2)
    })
    .await;
    assert!(caught_up, "{delivered}");
    for d in delivered["data"].as_array().unwrap() {
        assert_eq!(d["attempts"], 2, "{d}");
        assert_eq!(d["attempt_log"][0]["status_code"], 503, "{d}");
    }
    let calls = received(c, &name).await;
    let ok: Vec<Value> = calls
        .into_iter()
        .filter(|r| r["outcome"] == "200")
        .collect();
    let types: Vec<String> = ok
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(r["body"].as_str().unwrap()).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(
        types.contains(&"shipment.in_transit".to_owned())
            && types.contains(&"shipment.delivered".to_owned()),
        "{types:?}"
    );
    assert_eq!(standard_webhooks_verify(&secret, &ok), (2, 2));
}

async fn metrics_parse_as_prometheus_text_and_match_the_rows_in_d1(c: &Ctx<'_>) {
    let s = c.store().await;
    let (_, fo, item) = warehouse_order(c, &s, "Metered", 3).await;
    for (n, status) in [(1, "delivered"), (1, "in_transit"), (1, "draft")] {
        let r = build(
            c,
            &s,
            &fo,
            json!({ "lines": [{ "order_item_id": item, "quantity": n }], "courier": "usps", "tracking_number": format!("MET{status}{}", &s.id[s.id.len() - 6..]) }),
        )
        .await;
        let parcel = r.body["id"].as_str().unwrap().to_owned();
        let path = format!("/admin/api/v1/shipments/{parcel}/status");
        for to in ["in_transit", "delivered"] {
            if status == "draft" || (status == "in_transit" && to == "delivered") {
                break;
            }
            let r = c
                .admin(&s, "POST", &path)
                .json(&json!({ "status": to }))
                .send()
                .await;
            assert_eq!(r.status, 200, "{}", r.text);
        }
    }
    let r = c
        .admin(&s, "POST", "/admin/api/v1/admin-keys")
        .json(&json!({ "role": "metrics", "label": "prometheus" }))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let key = r.body["key"].as_str().unwrap().to_owned();
    let scrape = c
        .client
        .get(&c.adm("/admin/api/v1/metrics"))
        .bearer(&key)
        .send()
        .await;
    assert_eq!(scrape.status, 200, "{}", scrape.text);
    assert!(
        scrape
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4"))
    );
    let parsed = prometheus_parse::Scrape::parse(scrape.text.lines().map(|l| Ok(l.to_owned())))
        .expect("Prometheus text");
    let value = |name: &str, label: Option<(&str, &str)>| -> f64 {
        parsed
            .samples
            .iter()
            .find(|x| x.metric == name && label.is_none_or(|(k, v)| x.labels.get(k) == Some(v)))
            .map(|x| match x.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => f64::NAN,
            })
            .unwrap_or(0.0)
    };
    let d1 = |sql: &str| c.count(sql, &s.id) as f64;
    for status in ["draft", "in_transit", "delivered"] {
        assert_eq!(
            value("lading_shipments", Some(("status", status))),
            d1(&format!(
                "SELECT COUNT(*) FROM shipments WHERE store_id = ?1 AND status = '{status}'"
            )),
            "{status}"
        );
    }
    assert_eq!(
        value("lading_orders_paid_total", None),
        d1(
            "SELECT COUNT(*) FROM orders WHERE store_id = ?1 AND status <> 'draft' AND financial_status <> 'unpaid'"
        )
    );
    assert_eq!(
        value("lading_orders", Some(("status", "partially_shipped"))),
        d1("SELECT COUNT(*) FROM orders WHERE store_id = ?1 AND status = 'partially_shipped'")
    );
    assert_eq!(
        value("lading_orders", Some(("status", "partially_shipped"))),
        1.0
    );
    assert!(
        parsed
            .docs
            .contains_key("lading_shipment_delivery_time_seconds"),
        "{:?}",
        parsed.docs.keys()
    );
    assert!(
        scrape
            .text
            .contains("lading_shipment_delivery_time_seconds_count 1\n"),
        "{}",
        scrape.text
    );
    // The key reads nothing else.
    let r = c
        .client
        .get(&c.adm("/admin/api/v1/orders"))
        .bearer(&key)
        .send()
        .await;
    assert_problem(&r, 403, "forbidden");
}

async fn an_operator_ships_in_two_parcels_and_follows_them_in_headless_chromium(c: &Ctx<'_>) {
    let s = c.store().await;
    let tag = s.id[s.id.len() - 6..].to_uppercase();
    let receiver = format!("ui-install-{tag}");
    scenario(c, &s, "first_time_install", &receiver, 3).await;
    // The seller's system is down for the first call: the step is retried.
    c.fault(&json!({ "path_prefix": format!("/hooks/{receiver}"), "status": 500, "times": 1 }))
        .await;
    let (_, fo, _) = warehouse_order(c, &s, "Browsed", 3).await;
    let r = c
        .admin(&s, "POST", "/admin/api/v1/admin-keys")
        .json(&json!({ "role": "support", "label": "warehouse" }))
        .send()
        .await;
    let key = r.body["key"].as_str().unwrap().to_owned();
    let artifacts = lading_e2e::root().join("target/artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let out = tokio::process::Command::new(lading_e2e::root().join("node_modules/.bin/node"))
        .arg(lading_e2e::root().join("tests/browser/operations-ui.mjs"))
        .env("ADMIN_BASE", &c.stack.base)
        .env("SIM_BASE", c.sim(""))
        .env("ADMIN_KEY", &key)
        .env("FO_ID", &fo)
        .env("TAG", &tag)
        .env("ARTIFACTS", &artifacts)
        .kill_on_drop(true)
        .output()
        .await
        .expect("node runs the browser script");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "browser script failed:\n{log}");
    print!(
        "{}",
        log.lines()
            .map(|l| format!("    {l}\n"))
            .collect::<String>()
    );
    // What the clicks did.
    assert_eq!(
        c.count(
            "SELECT COUNT(*) FROM shipments WHERE fulfillment_order_id = ?1",
            &fo
        ),
        2
    );
    assert_eq!(
        c.count("SELECT COUNT(DISTINCT json_extract(destination, '$.city')) FROM shipments WHERE fulfillment_order_id = ?1", &fo),
        2,
        "two addresses"
    );
    assert_eq!(
        c.count("SELECT COUNT(*) FROM automation_steps WHERE store_id = ?1 AND status = 'succeeded' AND attempts = 2", &s.id),
        1
    );
    assert_eq!(c.count("SELECT COUNT(*) FROM fulfillment_orders WHERE id = ?1 AND status = 'partially_shipped'", &fo), 1);
}
