//! A test platform: real SQLite with the real migrations, a clock the test moves, a
//! seeded generator, and an HTTP client that serves fixed bodies (the JWKS).

#![allow(dead_code)]

use lading_core::auth::jwt::{Jwk, SigAlg};
use lading_core::payments::stripe_client::StripeConfig;
use lading_core::ports::{
    HttpClient, OutboundRequest, OutboundResponse, Platform, ProviderBases, Settings,
};
use lading_core::sqlite::SqliteDb;
use serde_json::Value;
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
pub const COURIER_SECRET: &str = "courier-secret-for-tests";
pub const COURIER_API: &str = "http://couriers.test";

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
                courier_webhook_secrets: vec![COURIER_SECRET.into()],
                courier_api_base: Some(COURIER_API.into()),
                order_token_secret: Some("an-order-token-secret-of-32-characters!".into()),
                admin_session_secret: Some("an-admin-session-secret-of-32-characters".into()),
                files_public_base: Some("https://files.test".into()),
                public_api_base: Some("https://api.shop.test".into()),
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

    /// The queue messages of one kind (`email`, `fulfil`, …) sent so far.
    pub fn queued_of(&self, kind: &str) -> Vec<Value> {
        self.queued
            .borrow()
            .iter()
            .filter(|m| m["kind"] == kind)
            .cloned()
            .collect()
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
