//! The test platform (shared with the core's tests: `src/core/tests/support`) and helpers
//! that call the APIs through HTTP requests.

#![allow(dead_code)]

#[path = "../../../core/tests/support/mod.rs"]
mod platform;

pub mod documented;

pub use platform::*;

use lading_api::http::{Method, Request, Response};
use lading_core::ports::Platform;
use serde_json::{Value, json};

/// Sends a request through the storefront or admin API.
/// Every answer is checked against the served OpenAPI document ([`documented::check`]).
pub fn call(p: &TestPlatform, api: &str, req: Request) -> Response {
    let sent = req.clone();
    let resp = run(async {
        match api {
            // The admin Worker forwards the sales operations to the sales Worker.
            "admin" if lading_api::sales::serves(req.method, &req.path) => {
                lading_api::sales::handle(p, req).await
            }
            // And the operations side to the operations Worker.
            "admin" if lading_api::operations::serves(req.method, &req.path) => {
                lading_api::operations::handle(p, req).await
            }
            "admin" => lading_api::admin::handle(p, req).await,
            "webhooks" => lading_api::webhooks::handle(p, req).await,
            _ => lading_api::storefront::handle(p, req).await,
        }
    });
    let api = match api {
        "admin" | "webhooks" => api,
        _ => "storefront",
    };
    documented::check(api, &sent, &resp);
    resp
}

/// A path of a route table with every `{param}` filled in (a mapping's provider with a
/// real one).
pub fn concrete(pattern: &str) -> String {
    pattern
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
        )
}

pub fn req(method: Method, path: &str) -> Request {
    Request::new(method, path)
}

/// A store with an identity provider, its publishable key and superadmin key.
pub struct Store {
    pub id: String,
    pub pk: String,
    pub admin: String,
}

pub fn create_store(p: &TestPlatform, prefix: &str) -> Store {
    let r = call(
        p,
        "admin",
        req(Method::Post, "/admin/api/v1/stores").header("authorization", &format!("Bearer {BOOTSTRAP}")).json_body(&json!({
            "name": format!("Store {prefix}"), "order_prefix": prefix, "currency": "usd",
            "settings": { "identity": { "issuer": ISSUER, "audience": AUDIENCE, "hs256_secret": HS_SECRET, "jwks_url": JWKS_URL },
                "success_url": "https://shop.test/thanks", "cancel_url": "https://shop.test/cart" }
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

pub fn admin(
    p: &TestPlatform,
    s: &Store,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Response {
    let mut r = req(method, path).header("authorization", &format!("Bearer {}", s.admin));
    if let Some(b) = body {
        r = r.json_body(&b);
    }
    call(p, "admin", r)
}

/// An active product with one physical and one digital variant; returns (product, [variant ids]).
pub fn product(p: &TestPlatform, s: &Store, slug: &str, price: i64) -> (Value, Vec<String>) {
    let r = admin(
        p,
        s,
        Method::Post,
        "/admin/api/v1/products",
        Some(json!({
            "title": format!("Poster {slug}"), "slug": slug, "status": "active",
            "variants": [
                { "sku": format!("{slug}-A3"), "kind": "physical", "price_amount": price, "fulfillment_provider": "printful", "estimated_production_days": 3 },
                { "sku": format!("{slug}-PDF"), "kind": "digital", "price_amount": price / 2, "digital_asset_key": format!("assets/{slug}.pdf") }
            ]
        })),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let b = r.body_json();
    let ids = b["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect();
    (b, ids)
}

/// Storefront request as a guest (optionally with a cart token).
pub fn shop(
    p: &TestPlatform,
    s: &Store,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Response {
    let mut r = req(method, path).header("x-publishable-api-key", &s.pk);
    if let Some(t) = token {
        r = r.header("x-cart-token", t);
    }
    if let Some(b) = body {
        r = r.json_body(&b);
    }
    call(p, "storefront", r)
}

/// Storefront request as a customer with a bearer JWT.
pub fn shop_as(
    p: &TestPlatform,
    s: &Store,
    jwt: &str,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Response {
    let mut r = req(method, path)
        .header("x-publishable-api-key", &s.pk)
        .header("authorization", &format!("Bearer {jwt}"));
    if let Some(t) = token {
        r = r.header("x-cart-token", t);
    }
    if let Some(b) = body {
        r = r.json_body(&b);
    }
    call(p, "storefront", r)
}

pub fn hs256(p: &TestPlatform, sub: &str, aud: &str, exp_in_s: i64) -> String {
    let now = p.now_ms() / 1000;
    let claims = json!({ "sub": sub, "iss": ISSUER, "aud": aud, "exp": now + exp_in_s, "iat": now, "email": format!("{sub}@example.com") });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(HS_SECRET.as_bytes()),
    )
    .unwrap()
}

pub fn signed(p: &TestPlatform, alg: jsonwebtoken::Algorithm, sub: &str) -> String {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/idp/");
    let (key, kid) = match alg {
        jsonwebtoken::Algorithm::RS256 => (
            jsonwebtoken::EncodingKey::from_rsa_pem(
                &std::fs::read(format!("{dir}rsa-private.pem")).unwrap(),
            )
            .unwrap(),
            "sim-rsa-1",
        ),
        _ => (
            jsonwebtoken::EncodingKey::from_ec_pem(
                &std::fs::read(format!("{dir}ec-private.pem")).unwrap(),
            )
            .unwrap(),
            "sim-ec-1",
        ),
    };
    let mut h = jsonwebtoken::Header::new(alg);
    h.kid = Some(kid.into());
    let now = p.now_ms() / 1000;
    let claims =
        json!({ "sub": sub, "iss": ISSUER, "aud": AUDIENCE, "exp": now + 600, "nbf": now - 1 });
    jsonwebtoken::encode(&h, &claims, &key).unwrap()
}

/// A signed Stripe event delivered to the webhooks API.
pub fn webhook(p: &TestPlatform, event: &Value) -> Response {
    let body = serde_json::to_vec(event).unwrap();
    let t = p.now_ms() / 1000;
    let mut r = req(Method::Post, "/webhooks/stripe").header(
        "stripe-signature",
        &format!(
            "t={t},v1={}",
            lading_core::payments::stripe_signature::sign(WEBHOOK_SECRET, t, &body)
        ),
    );
    r.body = body;
    call(p, "webhooks", r)
}

/// A guest puts `variants` (one each) in a cart and checks out as `email` (Checkout
/// Session `cs_<tag>`): the pending order.
pub fn pending_order(
    p: &TestPlatform,
    s: &Store,
    variants: &[&str],
    email: &str,
    tag: &str,
) -> Value {
    let t = shop(p, s, Method::Post, "/v1/carts", None, None).body_json()["cart_token"]
        .as_str()
        .unwrap()
        .to_owned();
    for v in variants {
        let r = shop(
            p,
            s,
            Method::Post,
            "/v1/carts/current/items",
            Some(&t),
            Some(json!({ "variant_id": v, "quantity": 1 })),
        );
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
    let cs = format!("cs_{tag}");
    p.serve(
        "http://stripe.test/v1/checkout/sessions",
        200,
        &json!({ "id": cs, "url": format!("https://checkout.test/{cs}") }),
    );
    let r = shop(
        p,
        s,
        Method::Post,
        "/v1/checkout/sessions",
        Some(&t),
        Some(json!({ "email": email })),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let o = r.body_json()["order"].clone();
    o
}

/// A guest buys `variants` (one each) as `email` and pays through a Checkout Session.
pub fn paid_order(
    p: &TestPlatform,
    s: &Store,
    variants: &[&str],
    email: &str,
    tag: &str,
    promo: Option<&str>,
) -> Value {
    let o = pending_order(p, s, variants, email, tag);
    complete_checkout(p, s, &o, email, tag, "usd", promo);
    o
}

/// Stripe's `checkout.session.completed` for the pending order of [`pending_order`]
/// (session `cs_<tag>`), paid in full in `currency`.
pub fn complete_checkout(
    p: &TestPlatform,
    s: &Store,
    o: &Value,
    email: &str,
    tag: &str,
    currency: &str,
    promo: Option<&str>,
) {
    let cs = format!("cs_{tag}");
    let (sub, ship) = (
        o["subtotal"].as_i64().unwrap(),
        o["shipping"].as_i64().unwrap(),
    );
    let r = webhook(
        p,
        &json!({ "id": format!("evt_{tag}"), "object": "event", "type": "checkout.session.completed", "created": 1_790_000_000,
        "data": { "object": { "id": cs, "object": "checkout.session", "payment_status": "paid", "payment_intent": format!("pi_{tag}"),
            "amount_subtotal": sub, "amount_total": sub + ship, "currency": currency, "total_details": { "amount_discount": 0, "amount_shipping": ship, "amount_tax": 0 },
            "discounts": promo.map(|pc| json!([{ "promotion_code": pc }])).unwrap_or(json!([])),
            "customer_details": { "email": email },
            "collected_information": { "shipping_details": { "name": "Ada Lovelace", "address": { "line1": "2 Quay St", "city": "Bristol", "postal_code": "BS1 4DJ", "country": "GB" } } },
            "metadata": { "order_id": o["id"], "store_id": s.id } } } }),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    p.advance_ms(1000);
}

/// A response body as text (for assertion messages).
pub fn text(r: &Response) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// The body of a response that must have this status (`null` when empty).
#[track_caller]
pub fn ok(r: Response, status: u16) -> Value {
    assert_eq!(r.status, status, "{}", text(&r));
    if r.body.is_empty() {
        Value::Null
    } else {
        r.body_json()
    }
}

/// The `id` of an answer.
pub fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}
