//! A test platform: real SQLite with the real migrations, a clock the test moves, a
//! seeded generator, and an HTTP client that serves fixed bodies (the JWKS).

#![allow(dead_code)]

use lading_core::auth::jwt::{Jwk, SigAlg};
use lading_core::http::{Method, Request, Response};
use lading_core::payments::stripe_client::StripeConfig;
use lading_core::ports::{
    HttpClient, OutboundRequest, OutboundResponse, Platform, ProviderBases, Settings,
};
use lading_core::sqlite::SqliteDb;
use serde_json::{Value, json};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

pub const BOOTSTRAP: &str = "bootstrap-key-for-tests-0123456789";
pub const HS_SECRET: &str = "an-hs256-secret-of-at-least-32-characters";
pub const JWKS_URL: &str = "http://idp.test/.well-known/jwks.json";
pub const ISSUER: &str = "https://idp.test/";
pub const AUDIENCE: &str = "lading-storefront";
pub const STRIPE_BASE: &str = "http://stripe.test";
pub const WEBHOOK_SECRET: &str = "whsec_current_secret_for_tests";
pub const OLD_WEBHOOK_SECRET: &str = "whsec_previous_secret_for_tests";

#[derive(Default)]
pub struct FakeHttp {
    pub bodies: RefCell<HashMap<String, (u16, String)>>,
    pub calls: Cell<u32>,
    /// Every request sent, in order.
    pub sent: RefCell<Vec<OutboundRequest>>,
}

impl HttpClient for FakeHttp {
    async fn send(&self, req: OutboundRequest) -> Result<OutboundResponse, String> {
        self.calls.set(self.calls.get() + 1);
        self.sent.borrow_mut().push(req.clone());
        match self.bodies.borrow().get(&req.url) {
            Some((status, body)) => Ok(OutboundResponse {
                status: *status,
                headers: vec![],
                body: body.clone().into_bytes(),
            }),
            None => Err(format!("connection refused: {}", req.url)),
        }
    }
}

pub struct TestPlatform {
    /// Files put in the bucket: key → (content type, bytes).
    pub files: RefCell<HashMap<String, (String, Vec<u8>)>>,
    /// Messages sent to the fulfillment queue, in order.
    pub queued: RefCell<Vec<Value>>,
    /// When set, the queue refuses messages (to prove the outbox keeps them).
    pub queue_down: Cell<bool>,
    pub db: SqliteDb,
    pub now: Cell<i64>,
    rng: Cell<u64>,
    pub http: FakeHttp,
    settings: Settings,
}

impl TestPlatform {
    pub fn new() -> Self {
        let http = FakeHttp::default();
        let jwks = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/idp/jwks.json"
        ))
        .unwrap();
        http.bodies
            .borrow_mut()
            .insert(JWKS_URL.into(), (200, jwks));
        TestPlatform {
            files: RefCell::new(HashMap::new()),
            queued: RefCell::new(Vec::new()),
            queue_down: Cell::new(false),
            db: SqliteDb::open_migrated().expect("migrations apply"),
            now: Cell::new(1_790_000_000_000),
            rng: Cell::new(0x9E37_79B9_7F4A_7C15),
            http,
            settings: Settings {
                bootstrap_admin_key: Some(BOOTSTRAP.into()),
                environment: "test".into(),
                stripe: Some(StripeConfig {
                    api_base: STRIPE_BASE.into(),
                    secret_key: "sk_test_lading".into(),
                }),
                stripe_webhook_secrets: vec![WEBHOOK_SECRET.into(), OLD_WEBHOOK_SECRET.into()],
                order_token_secret: Some("an-order-token-secret-of-32-characters!".into()),
                admin_session_secret: Some("an-admin-session-secret-of-32-characters".into()),
                files_public_base: Some("https://files.test".into()),
                email: Some(lading_core::notifications::EmailConfig {
                    api_base: "http://email.test".into(),
                    api_key: "xkeysib-test".into(),
                    sender_email: "orders@shop.test".into(),
                }),
                provider_bases: ProviderBases {
                    printful: "http://printful.test".into(),
                    prodigi: "http://prodigi.test/v4.0".into(),
                    gooten: "http://gooten.test".into(),
                    gelato: "http://gelato.test".into(),
                },
            },
        }
    }
    /// Answers `url` with this status and JSON body from now on.
    pub fn serve(&self, url: &str, status: u16, body: &Value) {
        self.http
            .bodies
            .borrow_mut()
            .insert(url.to_owned(), (status, body.to_string()));
    }
    /// Requests sent to URLs starting with `prefix`.
    pub fn sent_to(&self, prefix: &str) -> Vec<OutboundRequest> {
        self.http
            .sent
            .borrow()
            .iter()
            .filter(|r| r.url.starts_with(prefix))
            .cloned()
            .collect()
    }
    pub fn advance_ms(&self, ms: i64) {
        self.now.set(self.now.get() + ms);
    }
    /// Rows in every table: what "changes nothing" is checked against.
    pub fn row_counts(&self) -> Vec<(String, i64)> {
        let conn = self.db.conn();
        let mut st = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").unwrap();
        let names: Vec<String> = st
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        names
            .into_iter()
            .map(|n| {
                let c: i64 = conn
                    .query_row(&format!("SELECT COUNT(*) FROM \"{n}\""), [], |r| r.get(0))
                    .unwrap();
                (n, c)
            })
            .collect()
    }
    /// Every row of every table, as text: "changes nothing" for updates too.
    pub fn contents(&self) -> String {
        let conn = self.db.conn();
        let mut out = String::new();
        for (table, _) in self.row_counts() {
            let mut st = conn
                .prepare(&format!("SELECT * FROM \"{table}\" ORDER BY rowid"))
                .unwrap();
            let cols = st.column_count();
            let rows = st
                .query_map([], |r| {
                    (0..cols)
                        .map(|i| {
                            r.get::<_, rusqlite::types::Value>(i)
                                .map(|v| format!("{v:?}"))
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
                .unwrap();
            for row in rows {
                out.push_str(&format!("{table}: {}\n", row.unwrap().join(" | ")));
            }
        }
        out
    }
    pub fn count(&self, sql: &str) -> i64 {
        self.db.conn().query_row(sql, [], |r| r.get(0)).unwrap()
    }
    /// The one text value `sql` selects.
    pub fn text(&self, sql: &str) -> String {
        self.db
            .conn()
            .query_row(sql, [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
    pub fn exec(&self, sql: &str) {
        self.db.conn().execute_batch(sql).unwrap();
    }
}

impl Platform for TestPlatform {
    type Db = SqliteDb;
    type Http = FakeHttp;
    fn db(&self) -> &SqliteDb {
        &self.db
    }
    fn http(&self) -> &FakeHttp {
        &self.http
    }
    fn now_ms(&self) -> i64 {
        self.now.get()
    }
    fn fill_random(&self, buf: &mut [u8]) {
        // xorshift64*: deterministic, distinct per call; real Workers use crypto.getRandomValues.
        for b in buf {
            let mut x = self.rng.get();
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.rng.set(x);
            *b = (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8;
        }
    }
    fn settings(&self) -> &Settings {
        &self.settings
    }
    async fn put_file(&self, key: &str, bytes: &[u8], content_type: &str) -> Result<(), String> {
        self.files
            .borrow_mut()
            .insert(key.to_owned(), (content_type.to_owned(), bytes.to_vec()));
        Ok(())
    }
    /// Time passes at once: the clock moves, nothing waits.
    async fn sleep_ms(&self, ms: u64) {
        self.advance_ms(ms as i64);
    }
    async fn enqueue(&self, body: &Value) -> Result<(), String> {
        if self.queue_down.get() {
            return Err("queue unavailable".into());
        }
        self.queued.borrow_mut().push(body.clone());
        Ok(())
    }
    /// The Workers use Web Crypto; natively the RustCrypto crates stand in.
    async fn verify_signature(
        &self,
        alg: SigAlg,
        key: &Jwk,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, String> {
        use base64::Engine;
        let d = |s: &Option<String>| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(s.as_deref().unwrap_or(""))
                .map_err(|e| e.to_string())
        };
        match alg {
            SigAlg::Rs256 => {
                use rsa::pkcs1v15::{Signature, VerifyingKey};
                use rsa::signature::Verifier;
                let pk = rsa::RsaPublicKey::new(
                    rsa::BigUint::from_bytes_be(&d(&key.n)?),
                    rsa::BigUint::from_bytes_be(&d(&key.e)?),
                )
                .map_err(|e| e.to_string())?;
                let Ok(sig) = Signature::try_from(signature) else {
                    return Ok(false);
                };
                Ok(VerifyingKey::<sha2::Sha256>::new(pk)
                    .verify(message, &sig)
                    .is_ok())
            }
            SigAlg::Es256 => {
                use p256::ecdsa::signature::Verifier;
                use p256::ecdsa::{Signature, VerifyingKey};
                let (x, y) = (d(&key.x)?, d(&key.y)?);
                if x.len() != 32 || y.len() != 32 {
                    return Err("bad EC point".into());
                }
                let point = p256::EncodedPoint::from_affine_coordinates(
                    x.as_slice().into(),
                    y.as_slice().into(),
                    false,
                );
                let vk = VerifyingKey::from_encoded_point(&point).map_err(|e| e.to_string())?;
                let Ok(sig) = Signature::from_slice(signature) else {
                    return Ok(false);
                };
                Ok(vk.verify(message, &sig).is_ok())
            }
        }
    }
}

pub fn run<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

/// Sends a request through the storefront or admin API.
pub fn call(p: &TestPlatform, api: &str, req: Request) -> Response {
    run(async {
        match api {
            "admin" => lading_core::api::admin::handle(p, req).await,
            "webhooks" => lading_core::api::webhooks::handle(p, req).await,
            _ => lading_core::api::storefront::handle(p, req).await,
        }
    })
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
