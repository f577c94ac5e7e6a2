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
        self.store_with(jwks_url, "USD").await
    }

    /// A store that sells in `currency`.
    pub async fn store_in(&self, currency: &str) -> Store {
        self.store_with(&self.jwks_url(), currency).await
    }

    async fn store_with(&self, jwks_url: &str, currency: &str) -> Store {
        let n = self.seq.get() + 1;
        self.seq.set(n);
        let r = self
            .client
            .post(&self.adm("/admin/api/v1/stores"))
            .bearer(&self.stack.bootstrap_key)
            .json(&json!({
                "name": format!("E2E store {n}"), "order_prefix": format!("E{n}"), "currency": currency,
                "settings": { "identity": { "issuer": ISSUER, "audience": AUDIENCE, "hs256_secret": HS_SECRET, "jwks_url": jwks_url },
                    "success_url": "https://shop.example/thanks", "cancel_url": "https://shop.example/cart",
                    "providers": lading_e2e::local_provider_settings() }
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
        self.create_product(
            s,
            json!({
                "title": format!("Poster {slug}"), "slug": slug, "status": "active",
                "variants": [
                    { "sku": format!("{slug}-A3"), "kind": "physical", "price_amount": price, "fulfillment_provider": "printful" },
                    { "sku": format!("{slug}-PDF"), "kind": "digital", "price_amount": price / 2, "digital_asset_key": format!("assets/{slug}.pdf") }
                ]
            }),
        )
        .await
    }

    /// Creates the product `body` describes (it must be accepted); returns its id and its
    /// variant ids in order.
    pub async fn create_product(&self, s: &Store, body: Value) -> (String, Vec<String>) {
        let r = self
            .admin(s, "POST", "/admin/api/v1/products")
            .json(&body)
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

    /// Row counts once the stack is at rest: the same in two reads 300 ms apart. Earlier
    /// tests' queue work (provider submissions, emails) lands on its own time; a snapshot
    /// taken while it does would blame the next request for its rows.
    pub async fn rows_at_rest(&self) -> Vec<(String, i64)> {
        let mut last = self.rows();
        for _ in 0..60 {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            let now = self.rows();
            // At rest: the consumer has taken every message sent so far at least once, and
            // nothing changed between two reads.
            let (enqueued, outcomes) = self.queue_story("");
            if now == last && outcomes.len() >= enqueued {
                return now;
            }
            last = now;
        }
        panic!("the stack kept writing for 18 s; last counts: {last:?}");
    }

    pub fn sim(&self, path: &str) -> String {
        format!("{}{path}", self.stack.simulator)
    }

    /// Runs the scheduler's jobs of one cron expression, as Cloudflare's trigger would.
    pub async fn cron(&self, cron: &str) {
        let r = Client::with_timeout(std::time::Duration::from_secs(120))
            .get(&format!(
                "{}/__cron?cron={}",
                self.stack.worker("scheduler"),
                cron.replace(' ', "%20")
            ))
            .send()
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }

    /// Emails the simulator captured for this address.
    pub async fn emails(&self, to: &str) -> Vec<Value> {
        let r = self
            .client
            .get(&self.sim(&format!("/__control/emails?to={to}")))
            .send()
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["data"].as_array().cloned().unwrap_or_default()
    }

    /// Adds one line to a guest cart.
    pub async fn add(&self, s: &Store, cart: &str, variant: &str, quantity: i64) {
        let r = self
            .shop(s, "POST", "/v1/carts/current/items")
            .header("x-cart-token", cart)
            .json(&json!({ "variant_id": variant, "quantity": quantity }))
            .send()
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }

    /// Adds one line to a signed-in customer's cart.
    pub async fn add_as(&self, s: &Store, jwt: &str, variant: &str, quantity: i64) {
        let r = self
            .shop(s, "POST", "/v1/carts/current/items")
            .bearer(jwt)
            .json(&json!({ "variant_id": variant, "quantity": quantity }))
            .send()
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }

    /// Checks out a guest cart; returns the checkout session answer.
    pub async fn checkout(&self, s: &Store, cart: &str) -> Value {
        let r = self
            .shop(s, "POST", "/v1/checkout/sessions")
            .header("x-cart-token", cart)
            .json(&json!({ "email": "guest@example.com" }))
            .send()
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.body
    }

    /// Pays a Checkout Session in the simulator, as the hosted page's Pay button does.
    pub async fn pay(&self, session: &str, body: Value) -> Value {
        let r = self
            .client
            .post(&self.sim(&format!(
                "/__control/stripe/checkout_sessions/{session}/pay"
            )))
            .json(&body)
            .send()
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body
    }

    /// Sets the simulator's webhook delivery faults (drop_next, duplicate, delay_ms).
    pub async fn delivery(&self, faults: Value) {
        let r = self
            .client
            .post(&self.sim("/__control/stripe/delivery"))
            .json(&faults)
            .send()
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }

    /// Injects a fault into the simulator (status, body, retry_after, times, for a path prefix).
    pub async fn fault(&self, fault: &Value) {
        let r = self
            .client
            .post(&self.sim("/__control/faults"))
            .json(fault)
            .send()
            .await;
        assert!(r.status < 300, "{}", r.text);
    }

    /// An order's row in local D1: status, financial status, amounts.
    pub fn order(&self, id: &str) -> Value {
        let d1 = self.stack.d1();
        d1.query_row(
            "SELECT status, financial_status, subtotal_amount, shipping_amount, discount_amount, tax_amount, total_amount, cancel_reason, email FROM orders WHERE id = ?1",
            [id],
            |r| {
                Ok(json!({
                    "status": r.get::<_, String>(0)?, "financial_status": r.get::<_, String>(1)?,
                    "subtotal": r.get::<_, i64>(2)?, "shipping": r.get::<_, i64>(3)?, "discount": r.get::<_, i64>(4)?,
                    "tax": r.get::<_, i64>(5)?, "total": r.get::<_, i64>(6)?, "cancel_reason": r.get::<_, Option<String>>(7)?,
                    "email": r.get::<_, Option<String>>(8)?,
                }))
            },
        )
        .unwrap_or_else(|e| panic!("order {id}: {e}"))
    }

    /// Waits (up to 20 s) until the order reaches `status`; returns its row.
    pub async fn order_becomes(&self, id: &str, status: &str) -> Value {
        for _ in 0..200 {
            let o = self.order(id);
            if o["status"] == status {
                return o;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("order {id} did not become {status}: {}", self.order(id));
    }

    /// Waits (up to 20 s) until the order is paid (its status may already have moved on to
    /// processing once fulfillment picked it up); returns its row.
    pub async fn order_paid(&self, id: &str) -> Value {
        for _ in 0..200 {
            let o = self.order(id);
            if o["financial_status"] == "paid" {
                return o;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("order {id} was not paid: {}", self.order(id));
    }

    /// Waits (up to 20 s) until the queue consumer has done what a paid order set off —
    /// its fulfillment orders submitted (or failed) and its emails sent — so a row snapshot
    /// taken next sees only what the test does.
    pub async fn order_settled(&self, id: &str) {
        let busy = |id: &str| {
            self.count(
                "SELECT (SELECT COUNT(*) FROM fulfillment_orders WHERE order_id = ?1 AND status IN ('pending', 'submitting')) \
                      + (SELECT COUNT(*) FROM notifications WHERE order_id = ?1 AND status IN ('pending', 'sending'))",
                id,
            )
        };
        for _ in 0..200 {
            if busy(id) == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("order {id} kept the queue busy: {}", self.order(id));
    }

    /// The queue's story for messages whose body mentions `needle` (an order or
    /// fulfillment order id), from the Workers' log: how many were enqueued, and the
    /// outcome of each time the consumer processed one.
    pub fn queue_story(&self, needle: &str) -> (usize, Vec<String>) {
        let log = self.stack.wrangler_log();
        let mut enqueued = 0;
        let mut outcomes = Vec::new();
        for line in log.lines() {
            let Some(json) = line.find('{').map(|i| &line[i..]) else {
                continue;
            };
            let Ok(v) = serde_json::from_str::<Value>(json) else {
                continue;
            };
            if !v["body"].to_string().contains(needle) {
                continue;
            }
            match v["msg"].as_str() {
                Some("enqueued") => enqueued += 1,
                Some("message") => {
                    outcomes.push(v["outcome"]["outcome"].as_str().unwrap_or("").to_owned())
                }
                _ => {}
            }
        }
        (enqueued, outcomes)
    }

    /// Waits (up to 30 s) until every queue message that mentions `needle` has been
    /// processed to an end (done, dropped or dead-lettered; a retry is not an end): the
    /// queue holds nothing more for it, so nothing more will be written for it.
    pub async fn queue_drained(&self, needle: &str) {
        for _ in 0..300 {
            let (enqueued, outcomes) = self.queue_story(needle);
            let ended = outcomes.iter().filter(|o| *o != "retry_after").count();
            if enqueued > 0 && ended >= enqueued {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!(
            "the queue still holds messages for {needle}: {:?}",
            self.queue_story(needle)
        );
    }

    /// How many webhook deliveries the Stripe simulator has logged (a mark for
    /// [`Ctx::stripe_webhooks_answered`]).
    pub async fn stripe_delivery_mark(&self) -> usize {
        self.stripe_deliveries().await.len()
    }

    async fn stripe_deliveries(&self) -> Vec<Value> {
        let r = self
            .client
            .get(&self.sim("/__control/stripe/deliveries"))
            .send()
            .await;
        r.body["data"].as_array().cloned().unwrap_or_default()
    }

    /// Waits (up to 20 s) until, since `mark`, the webhooks Worker has answered `n`
    /// deliveries of each of `types` (Stripe's webhooks land on their own time).
    pub async fn stripe_webhooks_answered(&self, mark: usize, types: &[&str], n: usize) {
        for _ in 0..200 {
            let log = self.stripe_deliveries().await;
            let answered = |t: &str| {
                log.iter()
                    .skip(mark)
                    .filter(|d| {
                        d["type"] == t
                            && d["status"]
                                .as_u64()
                                .is_some_and(|s| (200..300).contains(&s))
                    })
                    .count()
            };
            if types.iter().all(|t| answered(t) >= n) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("Stripe's {types:?} webhooks were not answered {n} times each");
    }

    /// One number from local D1.
    pub fn count(&self, sql: &str, param: &str) -> i64 {
        self.stack
            .d1()
            .query_row(sql, [param], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Posts a body to the Stripe webhook endpoint with this `Stripe-Signature` header.
    pub async fn stripe_webhook(&self, body: &[u8], signature: Option<&str>) -> Reply {
        let mut call = self.client.post(&format!(
            "{}/webhooks/stripe",
            self.stack.worker("webhooks")
        ));
        if let Some(sig) = signature {
            call = call.header("stripe-signature", sig);
        }
        call.raw("application/json", std::str::from_utf8(body).unwrap())
            .send()
            .await
    }

    /// A `Stripe-Signature` header for `body`, signed now with the stack's endpoint secret.
    pub fn sign(&self, body: &[u8]) -> String {
        let t = now_s();
        format!(
            "t={t},v1={}",
            lading_core::payments::stripe_signature::sign(
                &self.stack.stripe_webhook_secret,
                t,
                body
            )
        )
    }
}

/// Polls `check` every 100 ms for up to 20 s (the queue batches for up to 5 s, and a busy
/// machine is slower); whether it came true.
pub async fn eventually(mut check: impl AsyncFnMut() -> bool) -> bool {
    for _ in 0..200 {
        if check().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}

pub fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
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
