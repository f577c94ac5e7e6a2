use lading_e2e::Stack;
use lading_e2e::client::{Call, Client, Reply};
use serde_json::{Value, json};
use std::cell::Cell;

pub const AUDIENCE: &str = "lading-e2e";
pub const ISSUER: &str = "http://lading-simulator/idp/";
pub const HS_SECRET: &str = "e2e-hs256-shared-secret-0123456789abcdef";

pub struct Ctx<'a> {
    pub stack: &'a Stack,
    pub client: Client,
    seq: Cell<u32>,
}

pub struct Store {
    pub id: String,
    pub pk: String,
    pub admin_key: String,
}

impl<'a> Ctx<'a> {
    pub fn new(stack: &'a Stack) -> Self {
        Ctx {
            stack,
            client: Client::default(),
            seq: Cell::new(0),
        }
    }

    pub fn sf(&self, path: &str) -> String {
        format!("{}{path}", self.stack.worker("storefront"))
    }
    pub fn adm(&self, path: &str) -> String {
        format!("{}{path}", self.stack.worker("admin"))
    }
    pub fn jwks_url(&self) -> String {
        format!("{}/idp/.well-known/jwks.json", self.stack.simulator)
    }

    /// A new store with an identity provider (HS256 secret + the simulator's JWKS).
    pub async fn store(&self) -> Store {
        self.store_with_jwks(&self.jwks_url()).await
    }

    pub async fn store_with_jwks(&self, jwks_url: &str) -> Store {
        let n = self.seq.get() + 1;
        self.seq.set(n);
        let r = self
            .client
            .post(&self.adm("/admin/api/v1/stores"))
            .bearer(&self.stack.bootstrap_key)
            .json(&json!({
                "name": format!("E2E store {n}"), "order_prefix": format!("E{n}"), "currency": "USD",
                "settings": { "identity": { "issuer": ISSUER, "audience": AUDIENCE, "hs256_secret": HS_SECRET, "jwks_url": jwks_url } }
            }))
            .send()
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        Store {
            id: r.body["store"]["id"].as_str().unwrap().into(),
            pk: r.body["publishable_key"].as_str().unwrap().into(),
            admin_key: r.body["admin_key"]["key"].as_str().unwrap().into(),
        }
    }

    pub fn admin(&self, s: &Store, method: &str, path: &str) -> Call<'_> {
        self.client
            .call(method, &self.adm(path))
            .bearer(&s.admin_key)
    }

    pub fn shop(&self, s: &Store, method: &str, path: &str) -> Call<'_> {
        self.client
            .call(method, &self.sf(path))
            .header("x-publishable-api-key", &s.pk)
    }

    /// An active product with a physical and a digital variant; returns its id and variant ids.
    pub async fn product(&self, s: &Store, slug: &str, price: i64) -> (String, Vec<String>) {
        let r = self
            .admin(s, "POST", "/admin/api/v1/products")
            .json(&json!({
                "title": format!("Poster {slug}"), "slug": slug, "status": "active",
                "variants": [
                    { "sku": format!("{slug}-A3"), "kind": "physical", "price_amount": price, "fulfillment_provider": "printful" },
                    { "sku": format!("{slug}-PDF"), "kind": "digital", "price_amount": price / 2, "digital_asset_key": format!("assets/{slug}.pdf") }
                ]
            }))
            .send()
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let vids = r.body["variants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_str().unwrap().to_owned())
            .collect();
        (r.body["id"].as_str().unwrap().to_owned(), vids)
    }

    pub async fn guest_cart(&self, s: &Store) -> String {
        let r = self.shop(s, "POST", "/v1/carts").send().await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.body["cart_token"].as_str().unwrap().to_owned()
    }

    /// A customer token from the simulator's identity provider.
    pub async fn token(&self, sub: &str, alg: &str, extra: Value) -> String {
        let mut body = json!({ "sub": sub, "aud": AUDIENCE, "alg": alg, "email": format!("{sub}@example.com") });
        if alg == "HS256" {
            body["secret"] = json!(HS_SECRET);
        }
        if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
            b.extend(e);
        }
        let r = self
            .client
            .post(&format!("{}/idp/token", self.stack.simulator))
            .json(&body)
            .send()
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["token"].as_str().unwrap().to_owned()
    }

    pub fn rows(&self) -> Vec<(String, i64)> {
        self.stack.row_counts()
    }
}

/// Asserts a problem+json answer with this status and type.
#[track_caller]
pub fn assert_problem(r: &Reply, status: u16, kind: &str) {
    assert_eq!(r.status, status, "expected {status} {kind}, got {}", r.text);
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{}",
        r.text
    );
    assert_eq!(r.body["type"], kind, "{}", r.text);
    assert!(
        r.body["instance"]
            .as_str()
            .is_some_and(|i| i.starts_with("req_")),
        "problem names the request: {}",
        r.text
    );
}
