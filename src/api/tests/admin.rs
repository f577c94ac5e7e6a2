//! The admin API on real SQLite with the real migrations: order search, filters, keyset
//! pages and the CSV export; the order detail; notes; manual tracking; users and blocking;
//! promo codes mirrored to Stripe; notification emails once per (order, kind); the audit
//! log; the role matrix over every route; and the query plans of every admin list.

mod support;

use lading_api::admin::ROUTES;
use lading_api::http::Access;
use lading_api::http::{Method, Request, Response, parse_query};
use lading_core::domain::Role;
use lading_core::queue::{Outcome, process};
use serde_json::{Value, json};
use support::*;

fn with_query(path: &str, key: &str) -> Request {
    let (p, q) = path.split_once('?').unwrap_or((path, ""));
    let mut r = req(Method::Get, p).header("authorization", &format!("Bearer {key}"));
    r.query = parse_query(q);
    r
}

fn get(p: &TestPlatform, s: &Store, path: &str) -> Response {
    call(p, "admin", with_query(path, &s.admin))
}

fn text(r: &Response) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// The order's only fulfillment order.
fn fo_of_order(p: &TestPlatform, order_id: &str) -> String {
    p.db.conn()
        .query_row(
            "SELECT id FROM fulfillment_orders WHERE order_id = ?",
            [order_id],
            |r| r.get(0),
        )
        .unwrap()
}

/// A store with a product whose physical variant goes to manual fulfillment.
fn manual_product(p: &TestPlatform, s: &Store) -> (String, String) {
    let r = admin(
        p,
        s,
        Method::Post,
        "/admin/api/v1/products",
        Some(json!({
        "title": "Hand-made <b>mug</b>", "slug": "mug", "status": "active",
        "variants": [
            { "sku": "MUG-1", "kind": "physical", "price_amount": 2500, "fulfillment_provider": "manual" },
            { "sku": "MUG-PDF", "kind": "digital", "price_amount": 500, "digital_asset_key": "assets/mug.pdf" }
        ] })),
    );
    assert_eq!(r.status, 201, "{}", text(&r));
    let v = r.body_json()["variants"].clone();
    (
        v[0]["id"].as_str().unwrap().into(),
        v[1]["id"].as_str().unwrap().into(),
    )
}

fn key_with_role(p: &TestPlatform, s: &Store, role: &str) -> Store {
    let r = admin(
        p,
        s,
        Method::Post,
        "/admin/api/v1/admin-keys",
        Some(json!({ "role": role, "label": role })),
    );
    assert_eq!(r.status, 201, "{}", text(&r));
    Store {
        id: s.id.clone(),
        pk: s.pk.clone(),
        admin: r.body_json()["key"].as_str().unwrap().into(),
    }
}

#[test]
fn orders_are_searched_filtered_paged_and_exported_alike() {
    let p = TestPlatform::new();
    let s = create_store(&p, "AD");
    let (_, v) = product(&p, &s, "print", 3000);
    let mut made = Vec::new();
    for i in 0..7 {
        let email = if i == 3 {
            "Grace.Hopper@Example.com".to_owned()
        } else {
            format!("buyer{i}@example.com")
        };
        made.push(paid_order(
            &p,
            &s,
            &[&v[0]],
            &email,
            &format!("ad{i}"),
            None,
        ));
    }
    // Newest first, in pages of 3 that join up without gaps or repeats.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let r = get(
            &p,
            &s,
            &format!("/admin/api/v1/orders?limit=3&starting_after={cursor}"),
        );
        assert_eq!(r.status, 200, "{}", text(&r));
        let b = r.body_json();
        for o in b["data"].as_array().unwrap() {
            seen.push(o["order_number"].as_str().unwrap().to_owned());
        }
        match b["next_starting_after"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    let mut expected: Vec<String> = made
        .iter()
        .rev()
        .map(|o| o["order_number"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen, expected);
    // Search by email (any case) and by the beginning of an order number.
    let r = get(&p, &s, "/admin/api/v1/orders?q=grace.hopper@example.com").body_json();
    assert_eq!(r["data"].as_array().unwrap().len(), 1);
    assert_eq!(r["data"][0]["order_number"], made[3]["order_number"]);
    let number = made[5]["order_number"].as_str().unwrap();
    let r = get(
        &p,
        &s,
        &format!(
            "/admin/api/v1/orders?q={}",
            &number[..number.len() - 3].to_lowercase()
        ),
    )
    .body_json();
    assert!(
        r["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["order_number"] == number)
    );
    // Filters: status, financial status, provider, date range.
    assert_eq!(
        get(&p, &s, "/admin/api/v1/orders?status=paid").body_json()["data"]
            .as_array()
            .unwrap()
            .len(),
        7
    );
    assert_eq!(
        get(&p, &s, "/admin/api/v1/orders?financial_status=refunded").body_json()["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    // Orders flagged for review (Stripe's amounts disagreed) are found with one filter.
    p.exec(&format!(
        "UPDATE orders SET review_reason = 'amounts differ' WHERE id = '{}'",
        made[2]["id"].as_str().unwrap()
    ));
    let flagged = get(&p, &s, "/admin/api/v1/orders?needs_review=true").body_json();
    assert_eq!(flagged["data"].as_array().unwrap().len(), 1);
    assert_eq!(flagged["data"][0]["review_reason"], "amounts differ");
    // Printful is the variant's preference, but without a mapping it went to manual.
    assert_eq!(
        get(&p, &s, "/admin/api/v1/orders?provider=manual").body_json()["data"]
            .as_array()
            .unwrap()
            .len(),
        7
    );
    assert_eq!(
        get(&p, &s, "/admin/api/v1/orders?provider=printful").body_json()["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        get(&p, &s, "/admin/api/v1/orders?provider=prodigi").body_json()["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        get(&p, &s, "/admin/api/v1/orders?created_to=2000-01-01").body_json()["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    // Bad filters are 422 and name the parameter.
    for (q, field) in [
        ("status=lost", "status"),
        ("provider=acme", "provider"),
        ("created_from=soon", "created_from"),
        ("limit=0", "limit"),
        ("starting_after=zz", "starting_after"),
        ("needs_review=maybe", "needs_review"),
    ] {
        let r = get(&p, &s, &format!("/admin/api/v1/orders?{q}"));
        assert_eq!(r.status, 422, "{q}");
        assert!(text(&r).contains(field), "{q}: {}", text(&r));
    }
    // The export: same orders, same order, same amounts as the API.
    let r = get(&p, &s, "/admin/api/v1/orders/export.csv");
    assert_eq!(r.status, 200);
    assert!(r.export.is_some(), "the Worker streams it");
    let r = run(r.drain_export(&p.db)).unwrap();
    let csv = text(&r);
    let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert_eq!(lines[0], lading_core::admin::orders::CSV_HEADER.trim_end());
    assert_eq!(lines.len(), 8);
    let api = get(&p, &s, "/admin/api/v1/orders?limit=200").body_json();
    for (line, o) in lines[1..].iter().zip(api["data"].as_array().unwrap()) {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells[0], o["order_number"]);
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
    expected.clear();
}

#[test]
fn the_order_detail_has_everything_and_notes_are_kept_as_written() {
    let p = TestPlatform::new();
    let s = create_store(&p, "DT");
    let (phys, digital) = manual_product(&p, &s);
    let o = paid_order(&p, &s, &[&phys, &digital], "ada@example.com", "dt1", None);
    let id = o["id"].as_str().unwrap();
    let before = p.row_counts();
    for bad in [
        json!({ "body": "   " }),
        json!({ "body": "x".repeat(4001) }),
        json!({ "text": "hi" }),
    ] {
        let r = admin(
            &p,
            &s,
            Method::Post,
            &format!("/admin/api/v1/orders/{id}/notes"),
            Some(bad),
        );
        assert_eq!(r.status, 422, "{}", text(&r));
    }
    assert_eq!(
        admin(
            &p,
            &s,
            Method::Post,
            "/admin/api/v1/orders/ord_nope/notes",
            Some(json!({ "body": "x" }))
        )
        .status,
        404
    );
    assert_eq!(p.row_counts(), before, "refused notes write nothing");
    let r = admin(
        &p,
        &s,
        Method::Post,
        &format!("/admin/api/v1/orders/{id}/notes"),
        Some(json!({ "body": "<script>alert(1)</script> called the customer" })),
    );
    assert_eq!(r.status, 201, "{}", text(&r));
    let d = get(&p, &s, &format!("/admin/api/v1/orders/{id}"));
    assert_eq!(d.status, 200, "{}", text(&d));
    let d = d.body_json();
    assert_eq!(d["order"]["order_number"], o["order_number"]);
    assert_eq!(d["order"]["items"].as_array().unwrap().len(), 2);
    assert_eq!(d["money"]["captured"], o["total"]);
    assert_eq!(d["money"]["refundable"], o["total"]);
    assert_eq!(d["fulfillment_orders"][0]["provider"], "manual");
    assert_eq!(d["fulfillment_orders"][0]["manual_tracking"], true);
    assert_eq!(d["downloads"].as_array().unwrap().len(), 1);
    assert_eq!(
        d["notes"][0]["body"], "<script>alert(1)</script> called the customer",
        "stored as written; pages escape it"
    );
    assert!(
        d["stripe"]["payment"]
            .as_str()
            .unwrap()
            .starts_with("https://dashboard.stripe.com/test/payments/pi_dt1")
    );
    let types: Vec<&str> = d["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert!(types.contains(&"order.paid"), "{types:?}");
    let kinds: Vec<&str> = d["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["kind"].as_str())
        .collect();
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    // Another store's key sees nothing of it.
    let other = create_store(&p, "OT");
    assert_eq!(
        get(&p, &other, &format!("/admin/api/v1/orders/{id}")).status,
        404
    );
}

#[test]
fn tracking_typed_in_ships_a_manual_order_once_and_only_manual_ones() {
    let p = TestPlatform::new();
    let s = create_store(&p, "TR");
    let (phys, _) = manual_product(&p, &s);
    let o = paid_order(&p, &s, &[&phys], "ada@example.com", "tr1", None);
    let id = o["id"].as_str().unwrap();
    let fo = fo_of_order(&p, id);
    // The manual "provider" accepts at once: submitted with no provider id.
    assert_eq!(
        run(process(
            &p,
            &json!({ "kind": "fulfil", "fulfillment_order_id": fo, "provider": "manual", "store_id": s.id })
        )),
        Outcome::Done
    );
    let path = format!("/admin/api/v1/fulfillment-orders/{fo}/tracking");
    let before = p.row_counts();
    for bad in [
        json!({ "carrier": "", "tracking_number": "1Z" }),
        json!({ "carrier": "UPS", "tracking_number": "1Z", "tracking_url": "javascript:alert(1)" }),
        json!({ "carrier": "UPS", "tracking_number": "1Z", "lines": [{ "order_item_id": "oi_nope", "quantity": 1 }] }),
        json!({ "carrier": "UPS" }),
    ] {
        let r = admin(&p, &s, Method::Post, &path, Some(bad.clone()));
        assert_eq!(r.status, 422, "{bad}: {}", text(&r));
    }
    assert_eq!(p.row_counts(), before);
    let body = json!({ "carrier": "Royal Mail", "tracking_number": "RM123456785GB", "tracking_url": "https://www.royalmail.com/track-your-item#/tracking-results/RM123456785GB" });
    let r = admin(&p, &s, Method::Post, &path, Some(body.clone()));
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(r.body_json()["fulfillment_order"]["status"], "shipped");
    assert_eq!(
        r.body_json()["fulfillment_order"]["shipments"][0]["tracking_number"],
        "RM123456785GB"
    );
    let order_status: String =
        p.db.conn()
            .query_row("SELECT status FROM orders WHERE id = ?", [id], |r| r.get(0))
            .unwrap();
    assert_eq!(order_status, "shipped");
    // The same parcel again changes nothing; a shipped order takes no more.
    let r = admin(&p, &s, Method::Post, &path, Some(body));
    assert_eq!(r.status, 409, "{}", text(&r));
    assert_eq!(p.count("SELECT COUNT(*) FROM shipments"), 1);
    assert_eq!(
        p.count(&format!(
            "SELECT COUNT(*) FROM notifications WHERE order_id = '{id}' AND kind = 'shipped'"
        )),
        1
    );
    // A provider that reports its own parcels refuses typed tracking.
    let (_, v) = product(&p, &s, "poster", 3000);
    let r = admin(
        &p,
        &s,
        Method::Put,
        &format!("/admin/api/v1/variants/{}/provider-mappings/printful", v[0]),
        Some(json!({ "external_variant_id": "4012" })),
    );
    assert_eq!(r.status, 200, "{}", text(&r));
    let o2 = paid_order(&p, &s, &[&v[0]], "bo@example.com", "tr2", None);
    let fo2 = fo_of_order(&p, o2["id"].as_str().unwrap());
    let r = admin(
        &p,
        &s,
        Method::Post,
        &format!("/admin/api/v1/fulfillment-orders/{fo2}/tracking"),
        Some(json!({ "carrier": "UPS", "tracking_number": "1Z999" })),
    );
    assert_eq!(r.status, 409);
    assert!(text(&r).contains("tracking_from_provider"));
}

#[test]
fn each_email_kind_is_sent_once_per_order_even_when_its_message_comes_twice() {
    let p = TestPlatform::new();
    let s = create_store(&p, "EM");
    let (phys, digital) = manual_product(&p, &s);
    let o = paid_order(&p, &s, &[&phys, &digital], "ada@example.com", "em1", None);
    let id = o["id"].as_str().unwrap();
    // The payment queued a confirmation and a files-ready email, each once, even when the
    // same completion event is delivered again.
    let again = webhook(
        &p,
        &json!({ "id": "evt_em1_again", "object": "event", "type": "payment_intent.succeeded", "created": 1_790_000_001,
        "data": { "object": { "id": "pi_em1", "object": "payment_intent", "amount": o["total"], "amount_received": o["total"], "currency": "usd", "status": "succeeded",
            "metadata": { "order_id": id, "store_id": s.id } } } }),
    );
    assert_eq!(again.status, 200, "{} {:?}", text(&again), again.log_cause);
    assert_eq!(
        p.count(&format!(
            "SELECT COUNT(*) FROM notifications WHERE order_id = '{id}'"
        )),
        2
    );
    let messages = p.queued_of("email");
    assert_eq!(messages.len(), 2, "{messages:?}");
    p.serve(
        "http://email.test/v3/smtp/email",
        201,
        &json!({ "messageId": "<m1@smtp-relay.mailin.fr>" }),
    );
    for m in &messages {
        // Every message delivered twice.
        assert_eq!(run(process(&p, m)), Outcome::Done);
        let before = p.contents();
        assert!(matches!(run(process(&p, m)), Outcome::Dropped { .. }));
        assert_eq!(p.contents(), before, "a second delivery writes nothing");
    }
    let sent = p.sent_to("http://email.test/");
    assert_eq!(sent.len(), 2);
    let bodies: Vec<Value> = sent
        .iter()
        .map(|r| serde_json::from_slice(r.body.as_ref().unwrap()).unwrap())
        .collect();
    assert!(sent.iter().all(|r| {
        r.headers
            .iter()
            .any(|(k, v)| k == "api-key" && v == "xkeysib-test")
    }));
    let subjects: Vec<&str> = bodies
        .iter()
        .map(|b| b["subject"].as_str().unwrap())
        .collect();
    assert!(
        subjects[0].contains("confirmed") && subjects[1].contains("downloads"),
        "{subjects:?}"
    );
    assert_eq!(bodies[0]["to"][0]["email"], "ada@example.com");
    // Product titles are escaped in the email's HTML.
    assert!(
        bodies[0]["htmlContent"]
            .as_str()
            .unwrap()
            .contains("Hand-made &lt;b&gt;mug&lt;/b&gt;")
    );
    // An outage: released and retried later; the retry sends it once.
    let fo = fo_of_order(&p, id);
    run(process(
        &p,
        &json!({ "kind": "fulfil", "fulfillment_order_id": fo, "provider": "manual", "store_id": s.id }),
    ));
    let r = admin(
        &p,
        &s,
        Method::Post,
        &format!("/admin/api/v1/fulfillment-orders/{fo}/tracking"),
        Some(json!({ "carrier": "DHL", "tracking_number": "JD0001" })),
    );
    assert_eq!(r.status, 200, "{}", text(&r));
    let shipped = json!({ "kind": "email", "notification_id": format!("ntf_{id}_shipped"), "store_id": s.id });
    p.serve(
        "http://email.test/v3/smtp/email",
        503,
        &json!({ "code": "unavailable" }),
    );
    assert!(matches!(
        run(process(&p, &shipped)),
        Outcome::RetryAfter { .. }
    ));
    p.serve(
        "http://email.test/v3/smtp/email",
        201,
        &json!({ "messageId": "<m2@x>" }),
    );
    assert_eq!(run(process(&p, &shipped)), Outcome::Done);
    assert!(matches!(
        run(process(&p, &shipped)),
        Outcome::Dropped { .. }
    ));
    let shipped_mails: Vec<Value> = p
        .sent_to("http://email.test/")
        .iter()
        .map(|r| serde_json::from_slice::<Value>(r.body.as_ref().unwrap()).unwrap())
        .filter(|b| b["tags"][0] == "shipped")
        .collect();
    assert_eq!(
        shipped_mails.len(),
        2,
        "one refused by the outage, one sent"
    );
    assert!(
        shipped_mails[1]["htmlContent"]
            .as_str()
            .unwrap()
            .contains("JD0001")
    );
    let status = p.text(&format!(
        "SELECT status FROM notifications WHERE id = 'ntf_{id}_shipped'"
    ));
    assert_eq!(status, "sent");
}

#[test]
fn users_are_listed_with_their_value_and_blocked_ones_cannot_check_out() {
    let p = TestPlatform::new();
    let s = create_store(&p, "US");
    let (_, v) = product(&p, &s, "print", 3000);
    let jwt = hs256(&p, "user-42", AUDIENCE, 3600);
    let r = shop_as(
        &p,
        &s,
        &jwt,
        Method::Post,
        "/v1/carts/current/items",
        None,
        Some(json!({ "variant_id": v[0], "quantity": 1 })),
    );
    assert_eq!(r.status, 200, "{}", text(&r));
    let list = get(&p, &s, "/admin/api/v1/users").body_json();
    let user = list["data"][0].clone();
    assert_eq!(user["subject"], "user-42");
    let uid = user["id"].as_str().unwrap();
    let support = key_with_role(&p, &s, "support");
    let admin_role = key_with_role(&p, &s, "admin");
    // Blocking is a superadmin's; a block needs a reason.
    for k in [&support, &admin_role] {
        assert_eq!(
            admin(
                &p,
                k,
                Method::Post,
                &format!("/admin/api/v1/users/{uid}/block"),
                Some(json!({ "reason": "fraud" }))
            )
            .status,
            403
        );
    }
    p.advance_ms(1);
    let before = p.row_counts();
    assert_eq!(
        admin(
            &p,
            &s,
            Method::Post,
            &format!("/admin/api/v1/users/{uid}/block"),
            Some(json!({}))
        )
        .status,
        422
    );
    assert_eq!(p.row_counts(), before);
    let r = admin(
        &p,
        &s,
        Method::Post,
        &format!("/admin/api/v1/users/{uid}/block"),
        Some(json!({ "reason": "chargebacks" })),
    );
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(r.body_json()["blocked"], true);
    p.serve(
        "http://stripe.test/v1/checkout/sessions",
        200,
        &json!({ "id": "cs_us", "url": "https://checkout.test/cs_us" }),
    );
    let r = shop_as(
        &p,
        &s,
        &jwt,
        Method::Post,
        "/v1/checkout/sessions",
        None,
        Some(json!({})),
    );
    assert_eq!(r.status, 403, "{}", text(&r));
    p.advance_ms(1);
    let r = admin(
        &p,
        &s,
        Method::Post,
        &format!("/admin/api/v1/users/{uid}/unblock"),
        None,
    );
    assert_eq!(r.status, 200, "{}", text(&r));
    let r = shop_as(
        &p,
        &s,
        &jwt,
        Method::Post,
        "/v1/checkout/sessions",
        None,
        Some(json!({})),
    );
    assert_eq!(r.status, 201, "{}", text(&r));
    let d = get(&p, &s, &format!("/admin/api/v1/users/{uid}")).body_json();
    assert_eq!(d["orders"]["data"].as_array().unwrap().len(), 1);
    // The audit log names who blocked and unblocked, with the reason.
    let log = get(&p, &s, "/admin/api/v1/audit-log").body_json();
    let actions: Vec<&str> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(&actions[..2], ["user.unblock", "user.block"]);
    assert_eq!(log["data"][1]["detail"]["request"]["reason"], "chargebacks");
    assert_eq!(log["data"][1]["target_id"], uid);
    assert_eq!(get(&p, &support, "/admin/api/v1/audit-log").status, 403);
}

#[test]
fn promo_codes_are_mirrored_to_stripe_resumably_and_count_redemptions() {
    let p = TestPlatform::new();
    let s = create_store(&p, "PC");
    let before = p.row_counts();
    for bad in [
        json!({ "code": "X", "discount_type": "percentage", "discount_value": 10 }),
        json!({ "code": "SUMMER", "discount_type": "percentage", "discount_value": 150 }),
        json!({ "code": "SUMMER", "discount_type": "fixed_amount", "discount_value": 500 }),
        json!({ "code": "SUMMER", "discount_type": "bogus", "discount_value": 5 }),
        json!({ "code": "SUMMER", "discount_type": "percentage", "discount_value": 10, "expires_at": "2001-01-01" }),
    ] {
        let r = admin(
            &p,
            &s,
            Method::Post,
            "/admin/api/v1/promo-codes",
            Some(bad.clone()),
        );
        assert_eq!(r.status, 422, "{bad}: {}", text(&r));
    }
    assert_eq!(p.row_counts(), before);
    p.serve(
        "http://stripe.test/v1/coupons",
        200,
        &json!({ "id": "coupon_1", "object": "coupon" }),
    );
    // Stripe fails half-way: the coupon exists, the promotion code does not.
    p.serve(
        "http://stripe.test/v1/promotion_codes",
        503,
        &json!({ "error": { "type": "api_error", "message": "down" } }),
    );
    let body = json!({ "code": "summer-25", "discount_type": "percentage", "discount_value": 25, "max_redemptions": 100 });
    let r = admin(
        &p,
        &s,
        Method::Post,
        "/admin/api/v1/promo-codes",
        Some(body.clone()),
    );
    assert_eq!(r.status, 503, "{}", text(&r));
    let listed = get(&p, &s, "/admin/api/v1/promo-codes").body_json();
    assert_eq!(listed["data"][0]["stripe_sync"], "pending");
    // The same request again finishes the same objects, with the same Idempotency-Keys.
    p.serve(
        "http://stripe.test/v1/promotion_codes",
        200,
        &json!({ "id": "promo_1", "object": "promotion_code", "code": "SUMMER-25" }),
    );
    let r = admin(
        &p,
        &s,
        Method::Post,
        "/admin/api/v1/promo-codes",
        Some(body.clone()),
    );
    assert_eq!(r.status, 201, "{}", text(&r));
    let promo = r.body_json();
    assert_eq!(promo["code"], "SUMMER-25");
    assert_eq!(promo["stripe_promotion_code_id"], "promo_1");
    assert_eq!(p.count("SELECT COUNT(*) FROM promo_codes"), 1);
    let coupons = p.sent_to("http://stripe.test/v1/coupons");
    assert_eq!(coupons.len(), 2);
    let key = |r: &lading_core::ports::OutboundRequest| {
        r.headers
            .iter()
            .find(|(k, _)| k == "Idempotency-Key" || k == "idempotency-key")
            .map(|(_, v)| v.clone())
    };
    assert_eq!(key(&coupons[0]), key(&coupons[1]));
    assert_eq!(
        key(&coupons[0]).unwrap(),
        format!("coupon:{}", promo["id"].as_str().unwrap())
    );
    let form = String::from_utf8(coupons[0].body.clone().unwrap()).unwrap();
    assert!(
        form.contains("percent_off=25")
            && form.contains("duration=once")
            && form.contains("max_redemptions=100"),
        "{form}"
    );
    let promos = p.sent_to("http://stripe.test/v1/promotion_codes");
    assert!(
        String::from_utf8(promos[1].body.clone().unwrap())
            .unwrap()
            .contains("coupon=coupon_1")
    );
    // Taken now.
    assert_eq!(
        admin(
            &p,
            &s,
            Method::Post,
            "/admin/api/v1/promo-codes",
            Some(body)
        )
        .status,
        409
    );
    // Redemptions come from paid orders whose Stripe session used the code.
    let (_, v) = product(&p, &s, "print", 3000);
    paid_order(&p, &s, &[&v[0]], "ada@example.com", "pc1", Some("promo_1"));
    paid_order(&p, &s, &[&v[0]], "bo@example.com", "pc2", None);
    let pid = promo["id"].as_str().unwrap();
    assert_eq!(
        get(&p, &s, &format!("/admin/api/v1/promo-codes/{pid}")).body_json()["redemptions"],
        1
    );
    // Deactivated at Stripe first; then soft-deleted (kept, hidden).
    p.serve(
        "http://stripe.test/v1/promotion_codes/promo_1",
        200,
        &json!({ "id": "promo_1", "active": false }),
    );
    let r = admin(
        &p,
        &s,
        Method::Patch,
        &format!("/admin/api/v1/promo-codes/{pid}"),
        Some(json!({ "active": false })),
    );
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(r.body_json()["active"], false);
    let sent = p.sent_to("http://stripe.test/v1/promotion_codes/promo_1");
    assert_eq!(sent.len(), 1);
    assert!(
        String::from_utf8(sent[0].body.clone().unwrap())
            .unwrap()
            .contains("active=false")
    );
    assert_eq!(
        admin(
            &p,
            &s,
            Method::Delete,
            &format!("/admin/api/v1/promo-codes/{pid}"),
            None
        )
        .status,
        200
    );
    assert_eq!(
        get(&p, &s, "/admin/api/v1/promo-codes").body_json()["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        p.count("SELECT COUNT(*) FROM promo_codes WHERE deleted_at IS NOT NULL"),
        1
    );
    let actions = p.text(
        "SELECT group_concat(action || ':' || json_extract(detail, '$.status'), ' ') FROM (SELECT * FROM audit_log WHERE action LIKE 'promo_code.%' ORDER BY action, json_extract(detail, '$.status'))",
    );
    assert_eq!(
        actions,
        "promo_code.create:201 promo_code.create:503 promo_code.delete:200 promo_code.update:200",
        "the attempt Stripe failed left a pending row, and its audit row with it; refusals leave none"
    );
    // Stripe refuses a code (active there already, made outside Lading): 409, nothing kept.
    p.serve(
        "http://stripe.test/v1/promotion_codes",
        400,
        &json!({ "error": { "type": "invalid_request_error", "message": "An active promotion code with `code: TAKEN` already exists.", "param": "code" } }),
    );
    let before = p.row_counts();
    let r = admin(
        &p,
        &s,
        Method::Post,
        "/admin/api/v1/promo-codes",
        Some(json!({ "code": "TAKEN", "discount_type": "percentage", "discount_value": 5 })),
    );
    assert_eq!(r.status, 409, "{}", text(&r));
    assert!(text(&r).contains("promo_code_refused") && text(&r).contains("already exists"));
    assert_eq!(p.row_counts(), before);
}

struct Route {
    method: Method,
    pattern: &'static str,
    access: Access,
}

/// Every admin route × every role: allowed (whatever the answer, it is not 401/403) exactly
/// when the route's least role is within the key's role.
#[test]
fn role_matrix_every_route_for_every_role() {
    let p = TestPlatform::new();
    let s = create_store(&p, "RM");
    let keys = [
        (Role::Support, key_with_role(&p, &s, "support")),
        (Role::Admin, key_with_role(&p, &s, "admin")),
        (Role::Superadmin, key_with_role(&p, &s, "superadmin")),
    ];
    let mut checked = 0;
    let sales = lading_api::sales::ROUTES
        .iter()
        .map(|r| (r.method, r.pattern, r.access));
    let routes: Vec<_> = ROUTES
        .iter()
        .map(|r| (r.method, r.pattern, r.access))
        .chain(sales)
        .collect();
    for &(method, pattern, access) in &routes {
        let route = Route {
            method,
            pattern,
            access,
        };
        let path = concrete(route.pattern);
        for (role, key) in &keys {
            let mut r =
                req(route.method, &path).header("authorization", &format!("Bearer {}", key.admin));
            if !matches!(route.method, Method::Get | Method::Delete) {
                r = r.json_body(&json!({}));
            }
            let status = call(&p, "admin", r).status;
            let expected_allowed = match route.access {
                Access::Admin(needed) => role.allows(needed),
                // A store key is never enough for bootstrap-only routes, nor a signed link's
                // credential; public ones answer anyone.
                access => access == Access::Public,
            };
            if expected_allowed {
                assert!(
                    !matches!(status, 401 | 403),
                    "{} {} as {role:?}: {status}",
                    route.method.as_str(),
                    route.pattern
                );
            } else {
                assert_eq!(
                    status,
                    403,
                    "{} {} as {role:?}",
                    route.method.as_str(),
                    route.pattern
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, routes.len() * 3);
}

/// `EXPLAIN QUERY PLAN` of every admin list and search query: none may scan orders, order
/// items, fulfillment orders or events in full. (The local-stack suite runs the same check
/// on local D1 with 10 000 orders in it.)
#[test]
fn admin_lists_and_searches_never_scan_the_big_tables() {
    use lading_core::admin::{BIG_TABLES, list_and_search_queries};
    use lading_core::sqlite::full_scans;
    let p = TestPlatform::new();
    let conn = p.db.conn();
    // The check itself catches a scan (a filter no index serves).
    let bad = lading_core::stmt!(
        "SELECT id FROM orders o WHERE o.store_id = ? OR o.total_amount > ?",
        "st_1",
        5
    );
    assert!(!full_scans(&conn, &bad, BIG_TABLES).unwrap().is_empty());
    let queries = list_and_search_queries("st_1");
    assert!(queries.len() >= 25);
    for (name, q) in &queries {
        let scans = full_scans(&conn, q, BIG_TABLES).unwrap();
        assert!(
            scans.is_empty(),
            "{name}: full scan in `{}`: {scans:?}",
            q.sql
        );
    }
}

/// Every order search reads about a page of rows whatever the number of orders: with ten
/// times the orders, none does ten times the work. (The bench measures the same on local
/// D1 as `rows_read`, at 10 000 and 100 000 orders.)
#[test]
fn order_searches_read_a_page_not_the_table() {
    use lading_core::admin::orders::{Cursor, OrderFilters, list_query};
    use lading_core::domain::{OrderStatus, ProviderCode};
    use lading_core::sqlite::steps_and_rows;
    let p = TestPlatform::new();
    let conn = p.db.conn();
    conn.execute_batch("INSERT INTO stores (id, name, order_prefix, currency, settings, created_at, updated_at) VALUES ('st_small', 'S', 'SML', 'USD', '{}', 0, 0), ('st_large', 'L', 'LRG', 'USD', '{}', 0, 0)").unwrap();
    let seed = |store: &str, n: u32| {
        conn.execute(
            "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?2) \
             INSERT INTO orders (id, store_id, order_number, email, status, financial_status, currency, subtotal_amount, \
                 shipping_amount, total_amount, payment_flow, created_at, updated_at) \
             SELECT printf('ord_%s_%07d', ?1, i), ?1, printf('%s-2026-S%07d', upper(?1), i), printf('Buyer%d@example.com', i % 50), \
                 CASE i % 4 WHEN 0 THEN 'shipped' ELSE 'paid' END, 'paid', 'USD', 1000, 0, 1000, 'checkout_session', \
                 1000000000000 - i * 60000, 0 FROM k",
            rusqlite::params![store, n],
        )
        .unwrap();
    };
    seed("st_small", 2_000);
    seed("st_large", 20_000);
    let searches: Vec<(&str, OrderFilters, Option<u32>)> = vec![
        ("newest", OrderFilters::default(), None),
        (
            "email, any case",
            OrderFilters {
                q: Some("BUYER7@example.com".into()),
                ..Default::default()
            },
            None,
        ),
        (
            "order number prefix",
            OrderFilters {
                q: Some("-2026-S00001".into()),
                ..Default::default()
            },
            None,
        ),
        (
            "status",
            OrderFilters {
                status: Some(OrderStatus::Shipped),
                ..Default::default()
            },
            None,
        ),
        (
            "provider with no orders",
            OrderFilters {
                provider: Some(ProviderCode::Printful),
                ..Default::default()
            },
            None,
        ),
        (
            "company with no orders",
            OrderFilters {
                company_id: Some("co_none".into()),
                ..Default::default()
            },
            None,
        ),
        ("a page deep in the list", OrderFilters::default(), Some(2)),
    ];
    for (name, f, deep) in &searches {
        let steps = |store: &str, n: u32| {
            let f = OrderFilters {
                q: f.q.as_ref().map(|q| {
                    if q.starts_with('-') {
                        format!("{store}{q}")
                    } else {
                        q.clone()
                    }
                }),
                ..f.clone()
            };
            let cursor = deep.map(|d| Cursor {
                created_at: 1_000_000_000_000 - i64::from(n / d) * 60_000,
                id: format!("ord_{store}_{:07}", n / d),
            });
            steps_and_rows(&conn, &list_query(store, &f, cursor.as_ref(), 51)).unwrap()
        };
        let ((small, small_rows), (large, large_rows)) =
            (steps("st_small", 2_000), steps("st_large", 20_000));
        if !name.ends_with("with no orders") {
            assert!(
                small_rows > 0 && large_rows > 0,
                "{name}: finds orders in both stores"
            );
        }
        assert!(
            large <= 2 * small + 2_000,
            "{name}: {small} steps with 2 000 orders, {large} with 20 000"
        );
    }
}

#[test]
fn an_operator_settles_the_cancellation_of_an_order_run_by_hand() {
    let p = TestPlatform::new();
    let s = create_store(&p, "OC");
    let (phys, _) = manual_product(&p, &s);
    let o = paid_order(&p, &s, &[&phys], "ada@example.com", "oc1", None);
    let id = o["id"].as_str().unwrap();
    let fo = fo_of_order(&p, id);
    run(process(
        &p,
        &json!({ "kind": "fulfil", "fulfillment_order_id": fo, "provider": "manual", "store_id": s.id }),
    ));
    let path = format!("/admin/api/v1/fulfillment-orders/{fo}/cancellation");
    // Nothing to settle before a cancellation was asked for.
    let r = admin(
        &p,
        &s,
        Method::Post,
        &path,
        Some(json!({ "outcome": "cancelled" })),
    );
    assert_eq!(r.status, 409, "{}", text(&r));
    let r = admin(
        &p,
        &s,
        Method::Post,
        &format!("/admin/api/v1/orders/{id}/cancel"),
        Some(json!({ "reason": "changed mind" })),
    );
    assert_eq!(r.status, 200, "{}", text(&r));
    // The queue's cancel message finds nobody to ask: an operator task.
    let msg = p
        .queued
        .borrow()
        .iter()
        .find(|m| m["kind"] == "cancel")
        .cloned()
        .unwrap();
    assert_eq!(run(process(&p, &msg)), Outcome::Done);
    let before = p.row_counts();
    for bad in [json!({ "outcome": "maybe" }), json!({})] {
        assert_eq!(admin(&p, &s, Method::Post, &path, Some(bad)).status, 422);
    }
    assert_eq!(p.row_counts(), before);
    p.serve(
        "http://stripe.test/v1/refunds",
        200,
        &json!({ "id": "re_oc", "object": "refund", "status": "succeeded" }),
    );
    let r = admin(
        &p,
        &s,
        Method::Post,
        &path,
        Some(json!({ "outcome": "cancelled" })),
    );
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(r.body_json()["status"], "cancelled");
    let (status, refunded): (String, i64) = p
        .db
        .conn()
        .query_row(
            "SELECT o.status, (SELECT COALESCE(SUM(amount), 0) FROM payments WHERE order_id = o.id AND kind = 'refund') FROM orders o WHERE o.id = ?",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(status, "cancelled");
    assert!(
        refunded >= 2500,
        "the cancelled line is refunded: {refunded}"
    );
    // Settled once.
    assert_eq!(
        admin(
            &p,
            &s,
            Method::Post,
            &path,
            Some(json!({ "outcome": "rejected" }))
        )
        .status,
        409
    );
    assert_eq!(
        p.count("SELECT COUNT(*) FROM audit_log WHERE action = 'fulfillment_order.cancellation'"),
        1
    );
}

#[test]
fn an_order_under_review_is_accepted_from_stripes_record_and_fulfilled_once() {
    let p = TestPlatform::new();
    let s = create_store(&p, "RV");
    let (phys, _) = manual_product(&p, &s);
    let o = pending_order(&p, &s, &[&phys], "rv@example.com", "rv");
    let id = o["id"].as_str().unwrap();
    let (sub, ship) = (
        o["subtotal"].as_i64().unwrap(),
        o["shipping"].as_i64().unwrap(),
    );
    // Stripe collected 1.00 more than the order adds up to, and says no tax: flagged.
    let session = json!({ "id": "cs_rv", "object": "checkout.session", "payment_status": "paid", "payment_intent": "pi_rv",
        "amount_subtotal": sub, "amount_total": sub + ship + 100, "currency": "usd",
        "total_details": { "amount_discount": 0, "amount_shipping": ship, "amount_tax": 0 },
        "customer_details": { "email": "rv@example.com" },
        "collected_information": { "shipping_details": { "name": "R V", "address": { "line1": "1 Review Rd", "city": "Leeds", "postal_code": "LS1 1AA", "country": "GB" } } },
        "metadata": { "order_id": id, "store_id": s.id } });
    let r = webhook(
        &p,
        &json!({ "id": "evt_rv", "object": "event", "type": "checkout.session.completed", "created": 1_790_000_000, "data": { "object": session } }),
    );
    assert_eq!(r.status, 200, "{}", text(&r));
    let flagged = get(&p, &s, "/admin/api/v1/orders?needs_review=true").body_json();
    assert_eq!(flagged["data"][0]["id"], id);
    assert_eq!(
        p.count("SELECT COUNT(*) FROM fulfillment_orders"),
        0,
        "not fulfilled while under review"
    );
    // Support may not; an order that is not under review cannot be accepted.
    let support = key_with_role(&p, &s, "support");
    let path = format!("/admin/api/v1/orders/{id}/accept-payment");
    assert_eq!(admin(&p, &support, Method::Post, &path, None).status, 403);
    // Stripe's record is read again: not paid there → 409, nothing written.
    p.serve(
        "http://stripe.test/v1/checkout/sessions/cs_rv",
        200,
        &json!({ "id": "cs_rv", "payment_status": "unpaid" }),
    );
    let before = p.row_counts();
    let r = admin(&p, &s, Method::Post, &path, None);
    assert_eq!(r.status, 409, "{}", text(&r));
    assert_eq!(p.row_counts(), before);
    p.serve(
        "http://stripe.test/v1/checkout/sessions/cs_rv",
        200,
        &session,
    );
    let r = admin(&p, &s, Method::Post, &path, None);
    assert_eq!(r.status, 200, "{}", text(&r));
    let b = r.body_json();
    assert_eq!(b["accepted"], true);
    assert_eq!(b["order"]["status"], "paid");
    assert_eq!(b["order"]["total"], sub + ship + 100);
    assert_eq!(
        b["order"]["tax"], 100,
        "the surplus is kept as tax so the amounts add up"
    );
    assert!(b["order"]["review_reason"].is_null());
    assert_eq!(b["order"]["shipping_address"]["city"], "Leeds");
    // Paid once: one capture, routed to fulfillment, confirmation queued.
    assert_eq!(
        p.count(&format!(
            "SELECT COUNT(*) FROM payments WHERE order_id = '{id}' AND kind = 'capture'"
        )),
        1
    );
    assert_eq!(
        p.count(&format!(
            "SELECT COUNT(*) FROM fulfillment_orders WHERE order_id = '{id}'"
        )),
        1
    );
    assert_eq!(p.count(&format!("SELECT COUNT(*) FROM notifications WHERE order_id = '{id}' AND kind = 'order_confirmation'")), 1);
    assert_eq!(
        p.count("SELECT COUNT(*) FROM audit_log WHERE action = 'order.accept_payment'"),
        1
    );
    let r = admin(&p, &s, Method::Post, &path, None);
    assert_eq!(r.status, 409);
    assert_eq!(
        p.count(&format!(
            "SELECT COUNT(*) FROM fulfillment_orders WHERE order_id = '{id}'"
        )),
        1
    );
}

/// A delivery that died holding an email's claim may have got as far as the email API: the
/// next delivery, taking the expired claim over, asks the API first (by the notification
/// id it tags every email with) and sends only if nothing went out.
#[test]
fn an_email_whose_sender_died_mid_send_is_looked_up_before_it_is_sent_again() {
    use lading_core::ports::Platform as _;
    let p = TestPlatform::new();
    let s = create_store(&p, "EL");
    let (phys, digital) = manual_product(&p, &s);
    let o = paid_order(&p, &s, &[&phys, &digital], "ada@example.com", "el1", None);
    let id = o["id"].as_str().unwrap();
    let confirmation = format!("ntf_{id}_order_confirmation");
    let files = format!("ntf_{id}_files_ready");
    let message = |n: &str| json!({ "kind": "email", "notification_id": n, "store_id": s.id });
    // Both claimed by a delivery that then died; the confirmation had reached the API.
    p.exec(&format!(
        "UPDATE notifications SET status = 'sending', attempts = 1, lease_until = {} WHERE order_id = '{id}'",
        p.now_ms() - 1
    ));
    p.serve(
        "http://email.test/v3/smtp/emails?email=ada%40example.com",
        200,
        &json!({ "count": 1, "transactionalEmails": [
            { "email": "ada@example.com", "messageId": "<sent-before@relay>", "tags": ["order_confirmation", confirmation] } ] }),
    );
    p.serve(
        "http://email.test/v3/smtp/email",
        201,
        &json!({ "messageId": "<m2@relay>" }),
    );
    assert_eq!(run(process(&p, &message(&confirmation))), Outcome::Done);
    assert_eq!(run(process(&p, &message(&files))), Outcome::Done);
    let posts = || -> Vec<Value> {
        p.sent_to("http://email.test/v3/smtp/email")
            .iter()
            .filter(|r| r.method == "POST")
            .map(|r| serde_json::from_slice(r.body.as_deref().unwrap()).unwrap())
            .collect()
    };
    let sent = posts();
    assert_eq!(sent.len(), 1, "only the email that never went out is sent");
    assert_eq!(sent[0]["tags"], json!(["files_ready", files]));
    assert_eq!(
        p.text(&format!("SELECT status || ' ' || provider_message_id FROM notifications WHERE id = '{confirmation}'")),
        "sent <sent-before@relay>"
    );
    // The API cannot be asked: nothing is sent, and the next delivery asks again.
    p.exec(&format!(
        "UPDATE notifications SET status = 'sending', lease_until = {} WHERE id = '{files}'",
        p.now_ms() - 1
    ));
    p.serve(
        "http://email.test/v3/smtp/emails?email=ada%40example.com",
        503,
        &json!({}),
    );
    assert!(matches!(
        run(process(&p, &message(&files))),
        Outcome::RetryAfter { .. }
    ));
    assert_eq!(posts().len(), 1, "still only the one send");
}
