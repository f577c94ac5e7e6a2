//! Stores sell in any currency Stripe charges in, with that currency's decimals: a JPY
//! store (no decimals) and a KWD store (three, in Stripe's steps of 0.010) each sell,
//! export and refund with the amounts Stripe and the spreadsheet expect.

mod support;

use lading_api::http::Method;
use serde_json::{Value, json};
use support::*;

fn store_in(p: &TestPlatform, prefix: &str, currency: &str) -> Store {
    let r = call(
        p,
        "admin",
        req(Method::Post, "/admin/api/v1/stores")
            .header("authorization", &format!("Bearer {BOOTSTRAP}"))
            .json_body(&json!({
                "name": format!("Store {prefix}"), "order_prefix": prefix, "currency": currency,
                "settings": { "success_url": "https://shop.test/thanks", "cancel_url": "https://shop.test/cart" }
            })),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let b = r.body_json();
    Store {
        id: b["store"]["id"].as_str().unwrap().into(),
        pk: b["publishable_key"].as_str().unwrap().into(),
        admin: b["admin_key"]["key"].as_str().unwrap().into(),
    }
}

fn form_value(body: &[u8], key: &str) -> Option<String> {
    lading_api::http::parse_query(&String::from_utf8_lossy(body))
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// A guest buys one download priced `price`, pays, and the store refunds `refund`; returns
/// the order, the Checkout Session Stripe was asked for, the CSV row and the refund sent.
fn sell_export_refund(
    p: &TestPlatform,
    s: &Store,
    currency: &str,
    price: i64,
    refund: i64,
) -> (Value, Vec<u8>, Vec<String>, Vec<u8>) {
    let r = admin(
        p,
        s,
        Method::Post,
        "/admin/api/v1/products",
        Some(json!({
            "title": "Wallpaper", "slug": format!("wallpaper-{currency}"), "status": "active",
            "variants": [{ "sku": format!("WP-{currency}"), "kind": "digital", "price_amount": price, "digital_asset_key": "assets/wp.png" }]
        })),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let variant = r.body_json()["variants"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let order = pending_order(p, s, &[&variant], "ada@example.com", currency);
    let session_request = p
        .sent_to("http://stripe.test/v1/checkout/sessions")
        .last()
        .unwrap()
        .body
        .clone()
        .unwrap_or_default();
    complete_checkout(p, s, &order, "ada@example.com", currency, currency, None);
    let paid = admin(
        p,
        s,
        Method::Get,
        &format!("/admin/api/v1/orders/{}", order["id"].as_str().unwrap()),
        None,
    )
    .body_json();
    assert_eq!(
        paid["order"]["status"].as_str().or(paid["status"].as_str()),
        Some("paid"),
        "{paid}"
    );
    let csv = admin(p, s, Method::Get, "/admin/api/v1/orders/export.csv", None);
    let csv = run(csv.drain_export(&p.db)).unwrap();
    let text = String::from_utf8(csv.body).unwrap();
    let row: Vec<String> = text
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .map(str::to_owned)
        .collect();
    p.serve(
        "http://stripe.test/v1/refunds",
        200,
        &json!({ "id": format!("re_{currency}"), "object": "refund", "status": "succeeded" }),
    );
    let r = admin(
        p,
        s,
        Method::Post,
        &format!(
            "/admin/api/v1/orders/{}/refunds",
            order["id"].as_str().unwrap()
        ),
        Some(json!({ "amount": refund })),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let refund_request = p
        .sent_to("http://stripe.test/v1/refunds")
        .last()
        .unwrap()
        .body
        .clone()
        .unwrap_or_default();
    (order, session_request, row, refund_request)
}

#[test]
fn a_yen_store_sells_exports_and_refunds_without_decimals() {
    let p = TestPlatform::new();
    let s = store_in(&p, "JP", "jpy");
    let (order, session, row, refund) = sell_export_refund(&p, &s, "jpy", 1500, 500);
    assert_eq!(order["total"], 1500, "¥1500 is 1500 minor units");
    assert_eq!(
        form_value(&session, "line_items[0][price_data][unit_amount]").as_deref(),
        Some("1500")
    );
    assert_eq!(
        form_value(&session, "line_items[0][price_data][currency]").as_deref(),
        Some("jpy")
    );
    assert_eq!(
        (row[6].as_str(), row[7].as_str(), row[11].as_str()),
        ("JPY", "1500", "1500")
    );
    assert_eq!(form_value(&refund, "amount").as_deref(), Some("500"));
    let ledger =
        p.text("SELECT group_concat(kind || ':' || amount || ':' || currency, ' ') FROM payments");
    assert_eq!(ledger.to_lowercase(), "capture:1500:jpy refund:500:jpy");
}

#[test]
fn a_dinar_store_sells_exports_and_refunds_with_three_decimals_in_stripes_steps() {
    let p = TestPlatform::new();
    let s = store_in(&p, "KW", "kwd");
    // Stripe takes three-decimal amounts only in steps of ten: 12.345 KWD is refused.
    let before = p.contents();
    let r = admin(
        &p,
        &s,
        Method::Post,
        "/admin/api/v1/products",
        Some(json!({
            "title": "Odd", "slug": "odd", "status": "active",
            "variants": [{ "sku": "ODD", "kind": "digital", "price_amount": 12_345, "digital_asset_key": "assets/odd.png" }]
        })),
    );
    assert_eq!(r.status, 422, "{}", String::from_utf8_lossy(&r.body));
    assert!(r.body_json()["detail"].as_str().unwrap().contains("0.010"));
    assert_eq!(p.contents(), before);
    let (order, session, row, refund) = sell_export_refund(&p, &s, "kwd", 12_340, 1_230);
    assert_eq!(order["total"], 12_340);
    assert_eq!(
        form_value(&session, "line_items[0][price_data][unit_amount]").as_deref(),
        Some("12340")
    );
    assert_eq!(
        form_value(&session, "line_items[0][price_data][currency]").as_deref(),
        Some("kwd")
    );
    assert_eq!(
        (row[6].as_str(), row[7].as_str(), row[11].as_str()),
        ("KWD", "12.340", "12.340")
    );
    assert_eq!(form_value(&refund, "amount").as_deref(), Some("1230"));
    // A refund Stripe would refuse is the client's 422, before Stripe is asked.
    let sent = p.sent_to("http://stripe.test/v1/refunds").len();
    let r = admin(
        &p,
        &s,
        Method::Post,
        &format!(
            "/admin/api/v1/orders/{}/refunds",
            order["id"].as_str().unwrap()
        ),
        Some(json!({ "amount": 1_235 })),
    );
    assert_eq!(r.status, 422);
    assert_eq!(p.sent_to("http://stripe.test/v1/refunds").len(), sent);
}

/// A store, a fixed-amount promo code or a product in a currency Stripe does not charge in
/// is a 422, and nothing is written.
#[test]
fn currencies_stripe_does_not_support_are_refused() {
    let p = TestPlatform::new();
    let before = p.contents();
    let r = call(
        &p,
        "admin",
        req(Method::Post, "/admin/api/v1/stores")
            .header("authorization", &format!("Bearer {BOOTSTRAP}"))
            .json_body(&json!({ "name": "Gold", "order_prefix": "AU", "currency": "xau" })),
    );
    assert_eq!(r.status, 422, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.body_json()["errors"][0]["field"], "currency");
    assert_eq!(p.contents(), before);
    let s = create_store(&p, "PC");
    let before = p.contents();
    let r = admin(
        &p,
        &s,
        Method::Post,
        "/admin/api/v1/promo-codes",
        Some(json!({
        "code": "ZIM", "discount_type": "fixed_amount", "discount_value": 500, "currency": "zwl" })),
    );
    assert_eq!(r.status, 422, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.body_json()["errors"][0]["field"], "currency");
    assert_eq!(p.contents(), before);
}
