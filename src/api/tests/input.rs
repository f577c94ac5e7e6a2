//! What clients send is what it claims to be: bodies are JSON objects, text that goes on
//! to Stripe, email APIs, providers and CSV exports holds no control characters, amounts
//! are positive — each refused with a 422 that names the field, with nothing written.

mod support;

use lading_api::http::{Access, Method, Request};
use serde_json::{Value, json};
use support::*;

fn with_raw_body(mut r: Request, body: &[u8]) -> Request {
    r = r.header("content-type", "application/json");
    r.body = body.to_vec();
    r
}

/// Every route documented with a JSON request body, storefront and admin: an array, a
/// number, a string or null is a 422 naming the rule, and the database is byte-for-byte
/// what it was.
#[test]
fn every_json_route_refuses_a_body_that_is_not_an_object() {
    let p = TestPlatform::new();
    let s = create_store(&p, "JB");
    let cart = shop(&p, &s, Method::Post, "/v1/carts", None, None).body_json()["cart_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let jwt = hs256(&p, "customer-jb", AUDIENCE, 600);
    let mut checked = 0;
    let storefront: Vec<_> = lading_api::storefront::ROUTES
        .iter()
        .map(|r| (r.method, r.pattern, r.access, r.json_body))
        .collect();
    let admin_routes: Vec<_> = lading_api::admin::ROUTES
        .iter()
        .map(|r| (r.method, r.pattern, r.access, r.json_body))
        .collect();
    let documented = [&storefront, &admin_routes]
        .iter()
        .map(|routes| routes.iter().filter(|r| r.3).count())
        .sum::<usize>();
    for (api, routes) in [("storefront", &storefront), ("admin", &admin_routes)] {
        for &(method, path, access, _) in routes.iter().filter(|r| r.3) {
            for body in [
                &br#"["Array product"]"#[..],
                b"42",
                br#""a string""#,
                b"null",
            ] {
                let before = p.contents();
                let r = req(method, &concrete(path));
                let r = if access == Access::Bootstrap {
                    r.header("authorization", &format!("Bearer {BOOTSTRAP}"))
                } else if api == "admin" {
                    r.header("authorization", &format!("Bearer {}", s.admin))
                } else {
                    r.header("x-publishable-api-key", &s.pk)
                        .header("authorization", &format!("Bearer {jwt}"))
                        .header("x-cart-token", &cart)
                };
                let answer = call(&p, api, with_raw_body(r, body));
                let what = format!(
                    "{} {} with {}",
                    method.as_str(),
                    path,
                    String::from_utf8_lossy(body)
                );
                assert_eq!(
                    answer.status,
                    422,
                    "{what}: {}",
                    String::from_utf8_lossy(&answer.body)
                );
                assert_eq!(
                    answer.get_header("content-type"),
                    Some("application/problem+json"),
                    "{what}"
                );
                assert_eq!(
                    answer.body_json()["detail"],
                    "The body must be a JSON object.",
                    "{what}"
                );
                assert_eq!(p.contents(), before, "{what} wrote something");
                checked += 1;
            }
        }
    }
    assert!(
        documented >= 20,
        "the route tables document {documented} JSON bodies"
    );
    assert_eq!(checked, documented * 4);
}

const BAD_EMAILS: [&str; 5] = [
    "ada\u{0}@example.com",
    "ada@example.com\n",
    "ada@exa\rmple.com",
    "\u{1b}ada@example.com",
    "ada@example.com\u{7f}",
];

/// Checkout and order lookup: an email with a NUL, a line break or another control
/// character is a 422 naming `email`; no order, no Stripe call, nothing written.
#[test]
fn emails_with_control_characters_are_refused_at_checkout_and_lookup() {
    let p = TestPlatform::new();
    let s = create_store(&p, "EM");
    let (_, variants) = product(&p, &s, "poster", 2000);
    let cart = shop(&p, &s, Method::Post, "/v1/carts", None, None).body_json()["cart_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = shop(
        &p,
        &s,
        Method::Post,
        "/v1/carts/current/items",
        Some(&cart),
        Some(json!({ "variant_id": variants[0], "quantity": 1 })),
    );
    assert_eq!(r.status, 200);
    for email in BAD_EMAILS {
        for (path, body) in [
            ("/v1/checkout/sessions", json!({ "email": email })),
            ("/v1/payment-intents", json!({ "email": email })),
            (
                "/v1/orders/lookup",
                json!({ "email": email, "order_number": "EM-2026-ABCDEFGH" }),
            ),
        ] {
            let before = p.contents();
            let r = shop(&p, &s, Method::Post, path, Some(&cart), Some(body));
            assert_eq!(
                r.status,
                422,
                "{path} {email:?}: {}",
                String::from_utf8_lossy(&r.body)
            );
            assert_eq!(
                r.body_json()["errors"][0]["field"],
                "email",
                "{path} {email:?}"
            );
            assert_eq!(p.contents(), before, "{path} {email:?}");
        }
    }
    assert!(p.sent_to(STRIPE_BASE).is_empty(), "nothing reached Stripe");
    // A shipping address is text that reaches providers too.
    let before = p.contents();
    let r = shop(
        &p,
        &s,
        Method::Post,
        "/v1/payment-intents",
        Some(&cart),
        Some(json!({ "email": "ada@example.com", "shipping_address": {
            "name": "Ada\nLovelace", "line1": "2 Quay St", "city": "Bristol", "postal_code": "BS1 4DJ", "country": "GB" } })),
    );
    assert_eq!(r.status, 422, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.body_json()["errors"][0]["field"], "shipping_address.name");
    assert_eq!(p.contents(), before);
}

/// Every admin form that takes text refuses control characters with a 422 naming the
/// field and writes nothing; a note keeps its line breaks.
#[test]
fn admin_text_with_control_characters_is_refused_everywhere_it_enters() {
    let p = TestPlatform::new();
    let s = create_store(&p, "AT");
    let (_, variants) = product(&p, &s, "print", 2000);
    let order = paid_order(&p, &s, &[&variants[1]], "ada@example.com", "at1", None);
    let order_id = order["id"].as_str().unwrap();
    let product_id = p.text("SELECT id FROM products LIMIT 1");
    let cases: Vec<(Method, String, Value, &str)> = vec![
        (
            Method::Post,
            format!("/admin/api/v1/orders/{order_id}/notes"),
            json!({ "body": "call back\u{0}" }),
            "body",
        ),
        (
            Method::Post,
            "/admin/api/v1/products".into(),
            json!({ "title": "Poster\nA3", "slug": "poster-nl", "variants": [] }),
            "title",
        ),
        (
            Method::Patch,
            format!("/admin/api/v1/products/{product_id}"),
            json!({ "title": "Tab\tbed" }),
            "title",
        ),
        (
            Method::Post,
            "/admin/api/v1/promo-codes".into(),
            json!({ "code": "TEN", "discount_type": "percentage", "discount_value": 10, "description": "ten\u{7}" }),
            "description",
        ),
        (
            Method::Post,
            "/admin/api/v1/admin-keys".into(),
            json!({ "role": "support", "label": "ops\r\n" }),
            "label",
        ),
        (
            Method::Patch,
            "/admin/api/v1/store".into(),
            json!({ "name": "Shop\u{1b}[31m" }),
            "name",
        ),
        (
            Method::Post,
            format!("/admin/api/v1/orders/{order_id}/cancel"),
            json!({ "reason": "fraud\u{0}" }),
            "reason",
        ),
    ];
    for (method, path, body, field) in cases {
        let before = p.contents();
        let r = admin(&p, &s, method, &path, Some(body));
        assert_eq!(
            r.status,
            422,
            "{path}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(r.body_json()["errors"][0]["field"], field, "{path}");
        assert_eq!(p.contents(), before, "{path}");
    }
    let r = admin(
        &p,
        &s,
        Method::Post,
        &format!("/admin/api/v1/orders/{order_id}/notes"),
        Some(json!({ "body": "line one\r\nline two" })),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        p.text("SELECT body FROM order_notes"),
        "line one\r\nline two"
    );
}

/// A refund of zero or a negative amount is the client's mistake (422), not a conflict
/// with the order (409), even on an order with money left; an empty list of lines too.
#[test]
fn refund_amounts_must_be_positive() {
    let p = TestPlatform::new();
    let s = create_store(&p, "RA");
    let (_, variants) = product(&p, &s, "print", 2000);
    let order = paid_order(&p, &s, &[&variants[1]], "ada@example.com", "ra1", None);
    let path = format!(
        "/admin/api/v1/orders/{}/refunds",
        order["id"].as_str().unwrap()
    );
    for (body, field) in [
        (json!({ "amount": 0 }), "amount"),
        (json!({ "amount": -100 }), "amount"),
        (json!({ "lines": [] }), "lines"),
    ] {
        let before = p.contents();
        let r = admin(&p, &s, Method::Post, &path, Some(body.clone()));
        assert_eq!(
            r.status,
            422,
            "{body}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(r.body_json()["errors"][0]["field"], field, "{body}");
        assert_eq!(p.contents(), before, "{body}");
    }
}

/// A method the router does not know on a known path is 405 with `Allow`; a public route
/// reached through the UI's `perform_as` is a 404, never a panic.
#[test]
fn wrong_methods_name_the_allowed_ones_and_public_routes_are_not_operations() {
    let p = TestPlatform::new();
    let s = create_store(&p, "MA");
    let r = shop(&p, &s, Method::Put, "/v1/products", None, None);
    assert_eq!(r.status, 405);
    assert_eq!(r.get_header("allow"), Some("GET, HEAD"));
    let r = admin(&p, &s, Method::Put, "/admin/api/v1/promo-codes", None);
    assert_eq!(r.status, 405);
    assert_eq!(r.get_header("allow"), Some("GET, HEAD, POST"));
    let caller = run(lading_core::auth::admin_caller(
        &p,
        req(Method::Get, "/")
            .header("authorization", &format!("Bearer {}", s.admin))
            .admin_credentials(),
    ))
    .unwrap();
    use lading_api::admin::{Call, Op};
    for op in [Op::Healthz, Op::OpenCustomerFile, Op::CreateStore] {
        let call = Call {
            op,
            id: "x",
            input: json!({}),
        };
        let r = run(lading_api::admin::perform_as(
            &lading_core::admin::audit::Audited::new(&p),
            &caller,
            call,
            None,
            "req_ui",
        ));
        assert_eq!(r.unwrap_err().status, 404, "{op:?}");
    }
}

/// A cron string the core has no jobs for is reported as an error, not run as nothing.
#[test]
fn an_unknown_schedule_is_an_error() {
    let p = TestPlatform::new();
    let reports = run(lading_core::jobs::run_cron(&p, "*/7 * * * *"));
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].job, "unknown_schedule");
    assert!(reports[0].error.as_deref().unwrap().contains("*/7 * * * *"));
    let known = run(lading_core::jobs::run_cron(&p, lading_core::jobs::HOURLY));
    assert!(
        known
            .iter()
            .all(|r| r.error.is_none() && r.job != "unknown_schedule")
    );
}
