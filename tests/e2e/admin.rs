//! Operators on the local stack: the role matrix over every admin route, order search and
//! a 10 000-order CSV export streamed by the Worker, notification emails sent once per
//! (order, kind) through the real queue, and the admin web UI driven by headless Chromium.

use crate::fulfillment::{buy, fo_becomes, fos_become};
use crate::support::*;
use crate::tests::{Test, tests};
use futures::FutureExt;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

tests!(
    every_admin_route_answers_each_role_with_its_result_or_403,
    ten_thousand_orders_are_searched_and_exported_as_a_streamed_csv_matching_the_api,
    each_email_kind_is_sent_once_even_when_its_message_is_delivered_twice,
    an_operator_works_an_order_in_the_admin_ui_in_headless_chromium,
);

async fn key_with_role(c: &Ctx<'_>, s: &Store, role: &str) -> String {
    let r = c
        .admin(s, "POST", "/admin/api/v1/admin-keys")
        .json(&json!({ "role": role, "label": format!("{role} key") }))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["key"].as_str().unwrap().to_owned()
}

fn rank(role: &str) -> u8 {
    match role {
        "metrics" => 0,
        "support" => 1,
        "admin" => 2,
        "superadmin" => 3,
        _ => 99,
    }
}

async fn every_admin_route_answers_each_role_with_its_result_or_403(c: &Ctx<'_>) {
    let s = c.store().await;
    let keys = [
        ("support", key_with_role(c, &s, "support").await),
        ("admin", key_with_role(c, &s, "admin").await),
        ("superadmin", key_with_role(c, &s, "superadmin").await),
    ];
    let doc = c.client.get(&c.adm("/openapi.json")).send().await.body;
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/admin/") {
            continue;
        }
        let concrete = path
            .split('/')
            .map(|seg| {
                if seg.starts_with('{') {
                    "x_missing"
                } else {
                    seg
                }
            })
            .collect::<Vec<_>>()
            .join("/")
            .replace(
                "/provider-mappings/x_missing",
                "/provider-mappings/printful",
            );
        for (method, op) in ops.as_object().unwrap() {
            // Public, bootstrap-only and signed-link routes have no role: no store key passes.
            let needed = op["x-required-role"].as_str();
            for (role, key) in &keys {
                let mut call = c
                    .client
                    .call(&method.to_uppercase(), &c.adm(&concrete))
                    .bearer(key);
                if method != "get" && method != "delete" {
                    call = call.json(&json!({}));
                }
                let r = call.send().await;
                let allowed = needed.is_some_and(|needed| rank(role) >= rank(needed));
                if allowed {
                    assert!(
                        !matches!(r.status, 401 | 403) && r.status < 500,
                        "{method} {concrete} as {role}: {} {}",
                        r.status,
                        r.text
                    );
                } else {
                    assert_problem(&r, 403, "forbidden");
                }
                checked += 1;
            }
        }
    }
    // The admin Worker's routes and the sales and operations routes it forwards.
    let routes = lading_api::admin::ROUTES
        .iter()
        .map(|r| r.pattern)
        .chain(lading_api::sales::ROUTES.iter().map(|r| r.pattern))
        .chain(lading_api::operations::ROUTES.iter().map(|r| r.pattern))
        .filter(|p| p.starts_with("/admin/"))
        .count();
    assert_eq!(checked, routes * 3, "every route, every role");
}

async fn ten_thousand_orders_are_searched_and_exported_as_a_streamed_csv_matching_the_api(
    c: &Ctx<'_>,
) {
    let s = c.store().await;
    let number_prefix: String = c
        .stack
        .d1()
        .query_row(
            "SELECT order_prefix FROM stores WHERE id = ?1",
            [&s.id],
            |r| r.get(0),
        )
        .unwrap();
    let now_ms = now_s() * 1000;
    c.stack
        .seed_orders(&s.id, &number_prefix, &s.id, 10_000, now_ms);
    // No admin list or search reads a big table whole, on local D1 with the orders in it.
    {
        let d1 = c.stack.d1();
        for (name, q) in lading_core::admin::list_and_search_queries(&s.id) {
            let scans =
                lading_core::sqlite::full_scans(&d1, &q, lading_core::admin::BIG_TABLES).unwrap();
            assert!(scans.is_empty(), "{name}: {scans:?}");
        }
    }
    // Search: one email's 20 orders; one order by the beginning of its number.
    let r = c
        .admin(
            &s,
            "GET",
            "/admin/api/v1/orders?q=BUYER7@example.com&limit=200",
        )
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["data"].as_array().unwrap().len(), 20);
    let r = c
        .admin(
            &s,
            "GET",
            &format!("/admin/api/v1/orders?q={number_prefix}-2026-S000123"),
        )
        .send()
        .await;
    assert_eq!(
        r.body["data"].as_array().unwrap().len(),
        10,
        "S0001230 to S0001239: {}",
        r.text
    );
    let r = c
        .admin(
            &s,
            "GET",
            &format!(
                "/admin/api/v1/orders?q={}-2026-s0001234",
                number_prefix.to_lowercase()
            ),
        )
        .send()
        .await;
    assert_eq!(r.body["data"].as_array().unwrap().len(), 1, "{}", r.text);
    let r = c
        .admin(
            &s,
            "GET",
            "/admin/api/v1/orders?financial_status=partially_refunded&limit=200",
        )
        .send()
        .await;
    assert_eq!(r.body["data"].as_array().unwrap().len(), 200);
    assert_eq!(r.body["has_more"], false, "10 000 / 50");
    // The API, page by page.
    let mut api: Vec<Value> = Vec::new();
    let mut cursor = String::new();
    loop {
        let r = c
            .admin(
                &s,
                "GET",
                &format!("/admin/api/v1/orders?limit=200&starting_after={cursor}"),
            )
            .send()
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        api.extend(r.body["data"].as_array().unwrap().iter().cloned());
        match r.body["next_starting_after"].as_str() {
            Some(n) => cursor = n.to_owned(),
            None => break,
        }
    }
    assert_eq!(api.len(), 10_000);
    // The export, read as it arrives: streamed (no Content-Length, several chunks), same rows.
    let started = Instant::now();
    let mut resp = c
        .client
        .http()
        .get(c.adm("/admin/api/v1/orders/export.csv"))
        .bearer_auth(&s.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(
        resp.headers().get("content-length").is_none(),
        "streamed, not buffered: {:?}",
        resp.headers()
    );
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"orders-")
    );
    let mut body = Vec::new();
    let mut chunks = 0;
    let mut first_chunk_ms = None;
    while let Some(chunk) = resp.chunk().await.unwrap() {
        first_chunk_ms.get_or_insert(started.elapsed().as_millis());
        chunks += 1;
        body.extend_from_slice(&chunk);
    }
    let total_ms = started.elapsed().as_millis();
    assert!(chunks > 1, "arrived in {chunks} chunk(s)");
    let text = String::from_utf8(body).unwrap();
    let lines: Vec<&str> = text.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 10_001, "header + 10 000 rows");
    assert_eq!(lines[0], lading_core::admin::orders::CSV_HEADER.trim_end());
    for (line, o) in lines[1..].iter().zip(&api) {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells[0], o["order_number"], "{line}");
        assert_eq!(cells[3], o["status"]);
        assert_eq!(cells[4], o["financial_status"]);
        assert_eq!(cells[5], o["email"]);
        assert_eq!(
            cells[11],
            lading_core::domain::format_amount(
                o["total"].as_i64().unwrap(),
                o["currency"].as_str().unwrap()
            )
        );
        assert_eq!(cells[13], o["id"]);
    }
    println!(
        "    csv: 10 000 orders, {} bytes in {chunks} chunks, first bytes after {} ms, all after {total_ms} ms",
        text.len(),
        first_chunk_ms.unwrap_or(0)
    );
}

fn kinds(list: &[Value]) -> Vec<String> {
    let mut k: Vec<String> = list
        .iter()
        .map(|m| m["tags"][0].as_str().unwrap_or("").to_owned())
        .collect();
    k.sort();
    k
}

async fn each_email_kind_is_sent_once_even_when_its_message_is_delivered_twice(c: &Ctx<'_>) {
    let s = c.store().await;
    let (_, v) = c
        .create_product(&s, json!({ "title": "Mug & <b>print</b>", "slug": "mail-mug", "status": "active", "variants": [
            { "sku": "MAIL-MUG", "kind": "physical", "price_amount": 2500, "fulfillment_provider": "manual" },
            { "sku": "MAIL-PDF", "kind": "digital", "price_amount": 700, "digital_asset_key": "assets/mail.pdf" } ] }))
        .await;
    let cart = c.guest_cart(&s).await;
    c.add(&s, &cart, &v[0], 1).await;
    c.add(&s, &cart, &v[1], 1).await;
    let to = format!(
        "mail-{}@example.com",
        &s.id[s.id.len() - 8..].to_lowercase()
    );
    let co = c
        .shop(&s, "POST", "/v1/checkout/sessions")
        .header("x-cart-token", &cart)
        .json(&json!({ "email": to }))
        .send()
        .await;
    assert_eq!(co.status, 201, "{}", co.text);
    let order = co.body["order"]["id"].as_str().unwrap().to_owned();
    c.pay(
        co.body["session_id"].as_str().unwrap(),
        json!({ "name": "Ada Lovelace", "email": to }),
    )
    .await;
    c.order_paid(&order).await;
    assert!(
        eventually(async || kinds(&c.emails(&to).await) == ["files_ready", "order_confirmation"])
            .await,
        "confirmation and files ready: {:?}",
        kinds(&c.emails(&to).await)
    );
    // Tracking typed in for the manual parcel, and a partial refund.
    let f = fos_become(c, &order, &["submitted"]).await;
    let r = c
        .admin(&s, "POST", &format!("/admin/api/v1/fulfillment-orders/{}/tracking", f[0].1))
        .json(&json!({ "carrier": "Royal Mail", "tracking_number": "RM000111222GB", "tracking_url": "https://track.example/RM000111222GB" }))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = c
        .admin(&s, "POST", &format!("/admin/api/v1/orders/{order}/refunds"))
        .json(&json!({ "amount": 500, "reason": "requested_by_customer" }))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(
        eventually(async || c.emails(&to).await.len() == 4).await,
        "four kinds: {:?}",
        kinds(&c.emails(&to).await)
    );
    assert_eq!(
        kinds(&c.emails(&to).await),
        [
            "files_ready",
            "order_confirmation",
            "refund_issued",
            "shipped"
        ]
    );
    // Every message delivered again: the outbox rows are re-sent by the scheduler's sweep.
    let d1 = c.stack.d1();
    let resent = d1
        .execute(
            "UPDATE outbox SET sent_at = NULL, next_attempt_at = NULL, created_at = created_at - 60000 WHERE kind = 'email' AND store_id = ?1",
            [&s.id],
        )
        .unwrap();
    assert_eq!(resent, 4);
    let r = lading_e2e::client::Client::with_timeout(Duration::from_secs(120))
        .get(&format!(
            "{}/__cron?cron=*/5%20*%20*%20*%20*",
            c.stack.worker("scheduler")
        ))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(c.count("SELECT COUNT(*) FROM outbox WHERE kind = 'email' AND store_id = ?1 AND sent_at IS NOT NULL", &s.id), 4);
    // Wait until the consumer has handled all eight email messages (four first sends, four
    // copies): nothing more can be sent for this order after that.
    c.queue_drained(&format!("ntf_{order}_")).await;
    assert_eq!(c.queue_story(&format!("ntf_{order}_")).0, 8);
    let mails = c.emails(&to).await;
    assert_eq!(
        kinds(&mails),
        [
            "files_ready",
            "order_confirmation",
            "refund_issued",
            "shipped"
        ],
        "still one of each"
    );
    assert_eq!(
        c.count(
            "SELECT COUNT(*) FROM notifications WHERE order_id = ?1 AND status = 'sent'",
            &order
        ),
        4
    );
    let shipped = mails.iter().find(|m| m["tags"][0] == "shipped").unwrap();
    assert!(
        shipped["htmlContent"]
            .as_str()
            .unwrap()
            .contains("https://track.example/RM000111222GB")
    );
    let confirmation = mails
        .iter()
        .find(|m| m["tags"][0] == "order_confirmation")
        .unwrap();
    assert!(
        confirmation["htmlContent"]
            .as_str()
            .unwrap()
            .contains("Mug &amp; &lt;b&gt;print&lt;/b&gt;"),
        "titles escaped"
    );
    assert_eq!(
        confirmation["headers"]["X-Lading-Notification"],
        format!("ntf_{order}_order_confirmation")
    );
    let refund = mails
        .iter()
        .find(|m| m["tags"][0] == "refund_issued")
        .unwrap();
    assert!(
        refund["htmlContent"].as_str().unwrap().contains("5.00 USD"),
        "{}",
        refund["htmlContent"]
    );
}

async fn an_operator_works_an_order_in_the_admin_ui_in_headless_chromium(c: &Ctx<'_>) {
    let s = c.store().await;
    // A manual item (tracking is typed in) and a Prodigi item that the provider refuses once.
    let (_, v) = c
        .create_product(&s, json!({ "title": "Harbour <script>document.title='pwned'</script>", "slug": "ui-harbour", "status": "active", "variants": [
            { "sku": "UI-MAN", "kind": "physical", "price_amount": 3000, "fulfillment_provider": "manual" },
            { "sku": "UI-PD", "kind": "physical", "price_amount": 4249, "fulfillment_provider": "prodigi" } ] }))
        .await;
    let r = c
        .admin(
            &s,
            "PUT",
            &format!("/admin/api/v1/variants/{}/provider-mappings/prodigi", v[1]),
        )
        .json(&json!({ "external_variant_id": "GLOBAL-CFPM-16X20", "cost_amount": 1500 }))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let fault = json!({ "path_prefix": "/prodigi/v4.0/Orders", "method": "POST", "status": 400,
        "body": { "statusCode": 400, "outcome": "ValidationFailed", "failures": { "recipient.address.postalOrZipCode": [{ "code": "NotValid" }] } } });
    c.fault(&fault).await;
    let order = buy(c, &s, &[&v[0], &v[1]]).await;
    let fos = fos_become(c, &order, &["submitted", "failed"]).await;
    let (manual, prodigi) = (&fos[0], &fos[1]);
    assert_eq!(
        (manual.0.as_str(), prodigi.0.as_str()),
        ("manual", "prodigi")
    );
    let total = c.order(&order)["total"].as_i64().unwrap();
    let admin_key = key_with_role(c, &s, "admin").await;
    // The script signs in, searches by email, refunds 12.34, adds tracking, retries the
    // failed fulfillment, and keeps screenshots.
    let artifacts = lading_e2e::root().join("target/artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let out = tokio::process::Command::new(lading_e2e::root().join("node_modules/.bin/node"))
        .arg(lading_e2e::root().join("tests/browser/admin-ui.mjs"))
        .env("ADMIN_BASE", &c.stack.base)
        .env("ADMIN_KEY", &admin_key)
        .env("ORDER_EMAIL", "guest@example.com")
        .env("ORDER_ID", &order)
        .env("B2B_VARIANT", &v[0])
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
    // What the clicks did, in D1 and at the providers.
    assert_eq!(
        c.count("SELECT COUNT(*) FROM payments WHERE order_id = ?1 AND kind = 'refund' AND amount = 1234 AND status = 'succeeded'", &order),
        1
    );
    assert_eq!(c.order(&order)["financial_status"], "partially_refunded");
    assert_eq!(
        c.count("SELECT COUNT(*) FROM shipments WHERE fulfillment_order_id = ?1 AND tracking_number = 'UI-TRACK-0042' AND carrier = 'DHL'", &manual.1),
        1
    );
    fo_becomes(c, &prodigi.1, "submitted").await;
    for action in [
        "order.refund",
        "fulfillment_order.tracking",
        "fulfillment_order.retry",
    ] {
        assert_eq!(
            c.count(&format!("SELECT COUNT(*) FROM audit_log WHERE store_id = ?1 AND action = '{action}' AND actor_role = 'admin'"), &s.id),
            1,
            "{action} audited"
        );
    }
    assert!(total > 1234);
    // The company's order the pages drafted and sent: paid at the agreement's price, its
    // item keeping where the price came from and the Stripe Price it was sold at (the
    // manual fulfillment may already have moved it on to processing).
    assert_eq!(
        c.count(
            "SELECT COUNT(*) FROM orders o JOIN companies co ON co.id = o.company_id \
             JOIN order_items i ON i.order_id = o.id \
             WHERE co.store_id = ?1 AND co.name = 'Initech' AND o.status IN ('paid', 'processing') AND o.financial_status = 'paid' \
               AND i.quantity = 4 AND i.unit_price = 2500 AND i.price_source = 'price_agreement' \
               AND json_extract(i.price_source_ids, '$.stripe_price_id') LIKE 'price_%'",
            &s.id
        ),
        1
    );
    // The net-terms order the pages invoiced: issued, routed, a bank transfer applied to it.
    assert_eq!(
        c.count(
            "SELECT COUNT(*) FROM invoices i JOIN orders o ON o.id = i.order_id JOIN companies co ON co.id = o.company_id \
             WHERE co.store_id = ?1 AND co.name = 'Initech' AND i.status = 'partially_paid' AND i.payment_terms = 'net_30' \
               AND o.financial_status = 'unpaid' AND EXISTS (SELECT 1 FROM fulfillment_orders f WHERE f.order_id = o.id) \
               AND (SELECT SUM(a.amount) FROM invoice_allocations a JOIN billing_payments bp ON bp.id = a.payment_id \
                    WHERE a.invoice_id = i.id AND bp.method = 'bank_transfer' AND bp.reference = 'WIRE-INITECH-1') = 3000",
            &s.id
        ),
        1
    );
    for (action, times) in [
        ("company.create", 1),
        ("contact.create", 1),
        ("address.create", 1),
        ("price_agreement.create", 1),
        ("price_agreement.entry_add", 1),
        ("order.draft", 2),
        ("order.send_checkout", 1),
        ("order.invoice", 1),
        ("payment.record", 1),
        ("payment.allocate", 1),
    ] {
        assert_eq!(
            c.count(
                &format!(
                    "SELECT COUNT(*) FROM audit_log WHERE store_id = ?1 AND action = '{action}'"
                ),
                &s.id
            ),
            times,
            "{action} audited"
        );
    }
    for shot in [
        "admin-orders.png",
        "admin-order.png",
        "admin-fulfillment.png",
        "admin-agreement.png",
        "admin-draft.png",
        "admin-company-order.png",
        "admin-invoice.png",
        "admin-order-phone.png",
    ] {
        let meta =
            std::fs::metadata(artifacts.join(shot)).unwrap_or_else(|e| panic!("{shot}: {e}"));
        assert!(meta.len() > 10_000, "{shot} is a real screenshot");
    }
}
