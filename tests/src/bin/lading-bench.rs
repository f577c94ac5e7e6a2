//! The benchmark (not a timed test): throughput and latency of the catalog read, the cart
//! write and signed Stripe completion events (each delivered 5 times, the copies at once),
//! each beside a trivial D1 endpoint (`/healthz`: one `SELECT 1`) measured in the same run,
//! on loopback, with bounded load (a fixed number of requests at a fixed concurrency). For
//! the events it also reports the time from sending an event to the answer of the delivery
//! that paid the order. Run through `npm run bench`, which also reports each Worker's size.
//!
//! Then ≥ 100 paid orders go through fulfillment: latency from paid to the provider
//! receiving the order, and consumer throughput.
//!
//! Last, a large digital file (`--file-mb`, default 50) is streamed through the storefront
//! Worker and straight from local R2: throughput ratio and the runtime's peak memory.
//!
//! Then the admin at volume: `--admin-orders` (default 100 000) orders seeded in local D1,
//! order search latency per filter (p50/p99), and the CSV export of all of them streamed by
//! the admin Worker (rate and the runtime's peak memory).
//!
//! Options: `--requests N` (default 2000 per endpoint), `--concurrency C` (default 16),
//! `--orders N` (default 100), `--file-mb N` (default 50), `--admin-orders N`.

use futures::StreamExt;
use lading_e2e::client::Client;
use lading_e2e::{Options, Stack};
use serde_json::json;
use std::time::{Duration, Instant};

struct Stats {
    name: &'static str,
    rps: f64,
    p50: Duration,
    p99: Duration,
    errors: usize,
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let requests = arg("--requests", 2000);
    let concurrency = arg("--concurrency", 16);
    eprintln!("==> starting the local stack");
    let stack = Stack::start(Options::ephemeral("bench"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let c = Client::default();
        let sf = stack.worker("storefront");
        let admin = stack.worker("admin");
        let r = c.post(&format!("{admin}/admin/api/v1/stores")).bearer(&stack.bootstrap_key)
            .json(&json!({ "name": "Bench", "order_prefix": "BEN", "currency": "USD",
                "settings": { "success_url": "https://shop.example/thanks", "cancel_url": "https://shop.example/cart" } })).send().await;
        let pk = r.body["publishable_key"].as_str().expect("pk").to_owned();
        let key = r.body["admin_key"]["key"].as_str().expect("key").to_owned();
        let mut variants = Vec::new();
        for i in 0..40 {
            let r = c.post(&format!("{admin}/admin/api/v1/products")).bearer(&key).json(&json!({
                "title": format!("Bench poster {i}"), "status": "active",
                "variants": [{ "sku": format!("B-{i}-A3"), "kind": "physical", "price_amount": 1000 + i }, { "sku": format!("B-{i}-A2"), "kind": "physical", "price_amount": 2000 + i }]
            })).send().await;
            for v in r.body["variants"].as_array().expect("variants") {
                variants.push(v["id"].as_str().expect("id").to_owned());
            }
        }
        let shop = Shop { pk, variants, secret: stack.stripe_webhook_secret.clone() };
        if arg("--quote-only", 0) == 1 {
            quote_at_volume(&stack, &c, &key).await;
            return;
        }
        eprintln!("==> D1 cost per operation");
        let costs = d1_costs(&stack, &c, &shop).await;
        eprintln!("==> load through the dev gateway");
        let work = Workload::prepare(&c, &sf, &shop, requests, "gw").await;
        let hooks = stack.worker("webhooks");
        let through_gateway = load(&c, &sf, &hooks, &shop, &work, requests, concurrency).await;
        eprintln!("==> load on the storefront and webhooks Workers alone");
        // The gateway's runtime stops meanwhile: two runtimes writing one local D1 file wait
        // on each other's locks (its queue consumer would be sending the emails of the
        // orders just paid), which production's one D1 does not do.
        stack.kill_runtime();
        let (sf_alone, hooks_alone) = (stack.start_alone("storefront"), stack.start_alone("webhooks"));
        let work = Workload::prepare(&c, &sf_alone.base, &shop, requests, "alone").await;
        let alone = load(&c, &sf_alone.base, &hooks_alone.base, &shop, &work, requests, concurrency).await;
        drop((sf_alone, hooks_alone));
        stack.restart_runtime();

        println!("\n{requests} requests per endpoint, concurrency {concurrency}, loopback, one run");
        print_costs("D1 cost per operation (median of 10, from each request's log line)", &costs);
        let ok_gateway = print_load("through the dev gateway (every Worker behind one port)", &through_gateway);
        let ok_alone = print_load("each Worker alone under wrangler dev (no gateway hop, as in production)", &alone);
        println!("\nbudgets: catalog read >= 0.70x, cart write >= 0.50x, Stripe events >= 0.50x of the trivial endpoint (Workers alone)");
        println!("{}", if ok_alone { "within budget" } else { "OUTSIDE BUDGET" });
        if !ok_gateway {
            println!("(through the gateway every route is capped near the trivial endpoint's rate: the gateway's hop dominates)");
        }
        quote_at_volume(&stack, &c, &key).await;
        let provider_cost = fulfillment_latency(&stack, &c, arg("--orders", 100)).await;
        print_costs("D1 cost of a provider webhook", &provider_cost);
        download_streaming(&stack, &c, arg("--file-mb", 50)).await;
        admin_at_volume(&stack, &c, arg("--admin-orders", 100_000) as u32).await;
    });
    drop(stack);
}

/// The bench store: its publishable key, its 80 variants and the Stripe endpoint secret.
struct Shop {
    pk: String,
    variants: Vec<String>,
    secret: String,
}

impl Shop {
    /// A guest cart with one of the variants, checked out with `checkout_rid` as the
    /// request id: the signed `checkout.session.completed` event that pays it.
    async fn checked_out_event(
        &self,
        c: &Client,
        sf: &str,
        i: usize,
        tag: &str,
        checkout_rid: Option<String>,
    ) -> Vec<u8> {
        let r = c
            .post(&format!("{sf}/v1/carts"))
            .header("x-publishable-api-key", &self.pk)
            .send()
            .await;
        let cart = r.body["cart_token"].as_str().expect("token").to_owned();
        c.post(&format!("{sf}/v1/carts/current/items"))
            .header("x-publishable-api-key", &self.pk)
            .header("x-cart-token", &cart)
            .json(&json!({ "variant_id": self.variants[i % self.variants.len()], "quantity": 1 }))
            .send()
            .await;
        let mut co = c
            .post(&format!("{sf}/v1/checkout/sessions"))
            .header("x-publishable-api-key", &self.pk)
            .header("x-cart-token", &cart);
        if let Some(rid) = checkout_rid {
            co = co.header("x-request-id", &rid);
        }
        let co = co
            .json(&json!({ "email": "bench@example.com" }))
            .send()
            .await;
        assert_eq!(co.status, 201, "bench checkout: {}", co.text);
        let o = &co.body["order"];
        let (sub, ship) = (
            o["subtotal"].as_i64().unwrap_or(0),
            o["shipping"].as_i64().unwrap_or(0),
        );
        let event = json!({ "id": format!("evt_bench_{tag}_{i}"), "object": "event", "type": "checkout.session.completed", "created": 1_790_000_000 + i as i64,
            "data": { "object": { "id": co.body["session_id"], "object": "checkout.session", "status": "complete", "payment_status": "paid",
                "payment_intent": format!("pi_bench_{tag}_{i}"), "amount_subtotal": sub, "amount_total": sub + ship, "currency": "usd",
                "total_details": { "amount_discount": 0, "amount_shipping": ship, "amount_tax": 0 },
                "customer_details": { "email": "bench@example.com", "name": "Bench" },
                "metadata": { "order_id": o["id"], "order_number": o["order_number"] } } } });
        serde_json::to_vec(&event).expect("json")
    }

    /// A Stripe delivery of `body`, signed now.
    fn delivery(
        &self,
        http: &reqwest::Client,
        hooks: &str,
        body: &[u8],
    ) -> reqwest::RequestBuilder {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs() as i64;
        let sig = lading_core::payments::stripe_signature::sign(&self.secret, now, body);
        http.post(format!("{hooks}/webhooks/stripe"))
            .header("content-type", "application/json")
            .header("stripe-signature", format!("t={now},v1={sig}"))
            .body(body.to_vec())
    }
}

/// D1's cost of one request, as its Worker logged it.
#[derive(Clone, Copy, Default)]
struct Cost {
    round_trips: u64,
    rows_read: u64,
    rows_written: u64,
}

impl Cost {
    fn of(line: &serde_json::Value) -> Cost {
        let d1 = &line["d1"];
        let n = |k: &str| d1[k].as_u64().unwrap_or(0);
        Cost {
            round_trips: n("round_trips"),
            rows_read: n("rows_read"),
            rows_written: n("rows_written"),
        }
    }

    /// The median of each figure.
    fn median(costs: &[Cost]) -> Cost {
        let mid = |f: fn(&Cost) -> u64| {
            let mut v: Vec<u64> = costs.iter().map(f).collect();
            v.sort_unstable();
            v.get(v.len() / 2).copied().unwrap_or(0)
        };
        Cost {
            round_trips: mid(|c| c.round_trips),
            rows_read: mid(|c| c.rows_read),
            rows_written: mid(|c| c.rows_written),
        }
    }
}

/// Log lines after `mark` that `pick` keeps, waiting (up to 30 s) until there are `n`.
async fn logged(
    stack: &Stack,
    mark: u64,
    n: usize,
    pick: impl Fn(&serde_json::Value) -> bool,
) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let lines: Vec<_> = stack
            .log_lines_since(mark)
            .into_iter()
            .filter(|l| l["msg"] == "request" && pick(l))
            .collect();
        if lines.len() >= n || Instant::now() > deadline {
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Each operation 10 times, one at a time, each request tagged with a request id; the costs
/// come from the Workers' log lines.
async fn d1_costs(stack: &Stack, c: &Client, shop: &Shop) -> Vec<(String, Cost)> {
    let sf = stack.worker("storefront");
    let hooks = stack.worker("webhooks");
    let mark = stack.log_len();
    let http = c.http().clone();
    let rid = |op: &str, i: usize| format!("bench-cost-{op}-{i}");
    for i in 0..10 {
        let _ = http
            .get(format!("{sf}/healthz"))
            .header("x-request-id", rid("trivial", i))
            .send()
            .await;
        let _ = http
            .get(format!("{sf}/v1/products?limit=20"))
            .header("x-publishable-api-key", &shop.pk)
            .header("x-request-id", rid("products", i))
            .send()
            .await;
        let cart = c
            .post(&format!("{sf}/v1/carts"))
            .header("x-publishable-api-key", &shop.pk)
            .send()
            .await;
        let cart = cart.body["cart_token"].as_str().expect("token").to_owned();
        for (j, op) in ["cart-add-first", "cart-add-more"].into_iter().enumerate() {
            let _ = http.post(format!("{sf}/v1/carts/current/items")).header("x-publishable-api-key", &shop.pk)
                .header("x-cart-token", &cart).header("x-request-id", rid(op, i))
                .json(&json!({ "variant_id": shop.variants[(i * 2 + j) % shop.variants.len()], "quantity": 1 })).send().await;
        }
        let event = shop
            .checked_out_event(c, &sf, i, "cost", Some(rid("checkout", i)))
            .await;
        for op in ["stripe-paying", "stripe-repeat"] {
            let r = shop
                .delivery(&http, &hooks, &event)
                .header("x-request-id", rid(op, i))
                .send()
                .await
                .expect("delivery");
            assert!(r.status().is_success(), "bench delivery: {}", r.status());
        }
    }
    let lines = logged(stack, mark, 70, |l| {
        l["request_id"]
            .as_str()
            .is_some_and(|r| r.starts_with("bench-cost-"))
    })
    .await;
    [
        ("trivial", "GET /healthz (trivial D1)"),
        ("products", "GET /v1/products?limit=20"),
        ("cart-add-first", "POST /v1/carts/current/items (new line)"),
        ("cart-add-more", "POST /v1/carts/current/items (2nd line)"),
        ("checkout", "POST /v1/checkout/sessions"),
        (
            "stripe-paying",
            "POST /webhooks/stripe (the paying delivery)",
        ),
        ("stripe-repeat", "POST /webhooks/stripe (a repeat)"),
    ]
    .into_iter()
    .map(|(op, name)| {
        let prefix = format!("bench-cost-{op}-");
        let costs: Vec<Cost> = lines
            .iter()
            .filter(|l| {
                l["request_id"].as_str().is_some_and(|r| {
                    r.strip_prefix(&prefix)
                        .is_some_and(|n| n.parse::<u32>().is_ok())
                })
            })
            .map(Cost::of)
            .collect();
        assert!(!costs.is_empty(), "no log line for {op}");
        (name.to_owned(), Cost::median(&costs))
    })
    .collect()
}

fn print_costs(title: &str, costs: &[(String, Cost)]) {
    println!("\n{title}");
    println!(
        "{:<48} {:>11} {:>10} {:>13}",
        "operation", "round trips", "rows read", "rows written"
    );
    for (name, c) in costs {
        println!(
            "{name:<48} {:>11} {:>10} {:>13}",
            c.round_trips, c.rows_read, c.rows_written
        );
    }
}

/// Carts and signed Stripe events for one load run.
struct Workload {
    carts: Vec<String>,
    events: Vec<Vec<u8>>,
}

impl Workload {
    async fn prepare(c: &Client, sf: &str, shop: &Shop, requests: usize, tag: &str) -> Workload {
        // One cart per 40 adds keeps every line under its quantity bound and every cart under 50 lines.
        let mut carts = Vec::new();
        for _ in 0..requests.div_ceil(40) {
            let r = c
                .post(&format!("{sf}/v1/carts"))
                .header("x-publishable-api-key", &shop.pk)
                .send()
                .await;
            carts.push(r.body["cart_token"].as_str().expect("token").to_owned());
        }
        // One pending order per 5 event deliveries, checked out through the simulator's Stripe.
        let mut events = Vec::new();
        for i in 0..requests.div_ceil(5) {
            events.push(shop.checked_out_event(c, sf, i, tag, None).await);
        }
        Workload { carts, events }
    }
}

/// Interleaved rounds of the trivial endpoint, the catalog, cart adds and Stripe events
/// (5 copies of each, at once) against these bases.
async fn load(
    c: &Client,
    sf: &str,
    hooks: &str,
    shop: &Shop,
    w: &Workload,
    requests: usize,
    concurrency: usize,
) -> (Vec<Stats>, Vec<Duration>) {
    let http = c.http().clone();
    let pk = &shop.pk;
    // Warm-up so every isolate is compiled and D1 is open.
    for _ in 0..50 {
        let _ = http.get(format!("{sf}/healthz")).send().await;
        let _ = http
            .get(format!("{sf}/v1/products?limit=20"))
            .header("x-publishable-api-key", pk)
            .send()
            .await;
    }
    // Interleave rounds so machine noise hits every endpoint alike.
    let rounds = 4;
    let per_round = requests / rounds;
    let mut lat: [Vec<Duration>; 4] = Default::default();
    let mut busy = [Duration::ZERO; 4];
    let mut errors = [0usize; 4];
    let mut to_paid: Vec<Duration> = Vec::new();
    for round in 0..rounds {
        for k in 0..4 {
            let started = Instant::now();
            let outcomes: Vec<(Duration, bool, bool)> = futures::stream::iter(0..per_round)
                .map(|i| {
                    let idx = round * per_round + i;
                    let req = match k {
                        0 => http.get(format!("{sf}/healthz")),
                        1 => http.get(format!("{sf}/v1/products?limit=20")).header("x-publishable-api-key", pk),
                        2 => http
                            .post(format!("{sf}/v1/carts/current/items"))
                            .header("x-publishable-api-key", pk)
                            .header("x-cart-token", &w.carts[idx / 40])
                            .json(&json!({ "variant_id": shop.variants[idx % 40 * 2 % shop.variants.len()], "quantity": 1 })),
                        // Consecutive requests are the 5 copies of one event: they run at once.
                        _ => shop.delivery(&http, hooks, &w.events[(idx / 5) % w.events.len()]),
                    };
                    async move {
                        let t = Instant::now();
                        let (ok, paid) = match req.send().await {
                            Ok(r) if r.status().is_success() => {
                                let text = r.text().await.unwrap_or_default();
                                (true, text.contains("\"order paid\""))
                            }
                            _ => (false, false),
                        };
                        (t.elapsed(), ok, paid)
                    }
                })
                .buffer_unordered(concurrency)
                .collect()
                .await;
            busy[k] += started.elapsed();
            for (d, ok, paid) in outcomes {
                lat[k].push(d);
                if paid {
                    to_paid.push(d);
                }
                if !ok {
                    errors[k] += 1;
                }
            }
        }
    }
    let names = [
        "GET /healthz (trivial D1)",
        "GET /v1/products",
        "POST /v1/carts/current/items",
        "POST /webhooks/stripe (5 copies)",
    ];
    let stats = names
        .into_iter()
        .enumerate()
        .map(|(k, name)| {
            let mut l = lat[k].clone();
            l.sort();
            let pct = |q: f64| l[((l.len() as f64 * q) as usize).min(l.len() - 1)];
            Stats {
                name,
                rps: l.len() as f64 / busy[k].as_secs_f64(),
                p50: pct(0.50),
                p99: pct(0.99),
                errors: errors[k],
            }
        })
        .collect();
    to_paid.sort();
    (stats, to_paid)
}

/// Prints one load run; true when it is within the budgets.
fn print_load(title: &str, (results, to_paid): &(Vec<Stats>, Vec<Duration>)) -> bool {
    println!("\n{title}");
    println!(
        "{:<32} {:>9} {:>9} {:>9} {:>7} {:>8}",
        "endpoint", "req/s", "p50 ms", "p99 ms", "errors", "ratio"
    );
    let base = results[0].rps;
    for s in results {
        println!(
            "{:<32} {:>9.0} {:>9.2} {:>9.2} {:>7} {:>7.2}x",
            s.name,
            s.rps,
            s.p50.as_secs_f64() * 1e3,
            s.p99.as_secs_f64() * 1e3,
            s.errors,
            s.rps / base
        );
    }
    if !to_paid.is_empty() {
        let pct = |q: f64| {
            to_paid[((to_paid.len() as f64 * q) as usize).min(to_paid.len() - 1)].as_secs_f64()
                * 1e3
        };
        println!(
            "event sent -> order paid (the delivery that paid it): {} orders, p50 {:.2} ms, p99 {:.2} ms",
            to_paid.len(),
            pct(0.5),
            pct(0.99)
        );
    }
    results[1].rps / base >= 0.7
        && results[2].rps / base >= 0.5
        && results[3].rps / base >= 0.5
        && results.iter().all(|s| s.errors == 0)
}

/// Paid orders → provider: each order is paid in the simulated Stripe (its webhook pays the
/// order, routing writes the outbox row, the dispatcher sends it to the queue, the
/// fulfillment Worker submits to the simulated Printful). Latency is the simulator's receipt
/// time minus the order's `paid_at`; throughput is fulfillment orders per second from the
/// first payment to the last receipt.
/// A guest cart with one of `variant`, checked out: the cart token and the checkout
/// answer (order, session).
async fn guest_checkout(
    c: &Client,
    sf: &str,
    pk: &str,
    variant: &str,
) -> (String, serde_json::Value) {
    let cart = c
        .post(&format!("{sf}/v1/carts"))
        .header("x-publishable-api-key", pk)
        .send()
        .await
        .body["cart_token"]
        .as_str()
        .expect("cart")
        .to_owned();
    c.post(&format!("{sf}/v1/carts/current/items"))
        .header("x-publishable-api-key", pk)
        .header("x-cart-token", &cart)
        .json(&json!({ "variant_id": variant, "quantity": 1 }))
        .send()
        .await;
    let co = c
        .post(&format!("{sf}/v1/checkout/sessions"))
        .header("x-publishable-api-key", pk)
        .header("x-cart-token", &cart)
        .json(&json!({ "email": "bench@example.com" }))
        .send()
        .await
        .body;
    (cart, co)
}

async fn fulfillment_latency(stack: &Stack, c: &Client, orders: usize) -> Vec<(String, Cost)> {
    let admin = stack.worker("admin");
    let sf = stack.worker("storefront");
    let r = c.post(&format!("{admin}/admin/api/v1/stores")).bearer(&stack.bootstrap_key)
        .json(&json!({ "name": "Bench fulfillment", "order_prefix": "BFF", "currency": "USD",
            "settings": { "success_url": "https://shop.example/thanks", "cancel_url": "https://shop.example/cart", "providers": lading_e2e::local_provider_settings() } }))
        .send().await;
    let pk = r.body["publishable_key"].as_str().expect("pk").to_owned();
    let key = r.body["admin_key"]["key"].as_str().expect("key").to_owned();
    let r = c.post(&format!("{admin}/admin/api/v1/products")).bearer(&key).json(&json!({
        "title": "Bench print", "status": "active",
        "variants": [{ "sku": "BFF-A3", "kind": "physical", "price_amount": 2500, "fulfillment_provider": "printful" }] })).send().await;
    let variant = r.body["variants"][0]["id"]
        .as_str()
        .expect("variant")
        .to_owned();
    c.call(
        "PUT",
        &format!("{admin}/admin/api/v1/variants/{variant}/provider-mappings/printful"),
    )
    .bearer(&key)
    .json(&json!({ "external_variant_id": "4012", "cost_amount": 950 }))
    .send()
    .await;
    let mut sessions = Vec::new();
    for _ in 0..orders {
        let (_, co) = guest_checkout(c, &sf, &pk, &variant).await;
        sessions.push(co["session_id"].as_str().expect("session").to_owned());
    }
    let started = Instant::now();
    futures::stream::iter(sessions.iter())
        .map(|s| {
            c.post(&format!(
                "{}/__control/stripe/checkout_sessions/{s}/pay",
                stack.simulator
            ))
            .json(&json!({}))
            .send()
        })
        .buffer_unordered(10)
        .collect::<Vec<_>>()
        .await;
    // Wait until every fulfillment order was submitted (at most 5 minutes).
    let count = |sql: &str| -> i64 { stack.d1().query_row(sql, [], |r| r.get(0)).unwrap_or(0) };
    while count(
        "SELECT COUNT(*) FROM fulfillment_orders f JOIN orders o ON o.id = f.order_id WHERE o.order_number LIKE 'BFF-%' AND f.status = 'submitted'",
    ) < orders as i64
        && started.elapsed() < Duration::from_secs(300)
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let paid: std::collections::HashMap<String, i64> = {
        let d1 = stack.d1();
        let mut st = d1.prepare("SELECT f.id, o.paid_at FROM fulfillment_orders f JOIN orders o ON o.id = f.order_id WHERE o.order_number LIKE 'BFF-%'").expect("query");
        st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .expect("rows")
            .map(Result::unwrap)
            .collect()
    };
    let log = c
        .get(&format!(
            "{}/__control/requests?path_prefix=/printful/orders",
            stack.simulator
        ))
        .send()
        .await;
    let mut latencies = Vec::new();
    let mut last = 0i64;
    for req in log.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["method"] == "POST")
    {
        let body: serde_json::Value =
            serde_json::from_str(req["body"].as_str().unwrap_or("{}")).unwrap_or_default();
        if let Some(paid_at) = body["external_id"].as_str().and_then(|id| paid.get(id)) {
            let at = req["at_ms"].as_i64().unwrap_or(0);
            latencies.push(at - paid_at);
            last = last.max(at);
        }
    }
    latencies.sort_unstable();
    if latencies.is_empty() {
        println!(
            "
fulfillment: no order reached the provider"
        );
        return Vec::new();
    }
    let first_paid = paid.values().min().copied().unwrap_or(0);
    let pct = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "
fulfillment: {} of {orders} paid orders reached Printful once each; paid -> provider received p50 {} ms, p99 {} ms; \
         throughput {:.1} fulfillment orders/s (first payment to last receipt)",
        latencies.len(),
        pct(0.5),
        pct(0.99),
        latencies.len() as f64 / ((last - first_paid).max(1) as f64 / 1000.0)
    );
    println!("(local queue: batches of 10 or every 5 s, as in queues/fulfillment.md)");
    // Printful ships 10 of them, one at a time: its signed webhooks reach the webhooks Worker.
    let mark = stack.log_len();
    let at_printful = c
        .get(&format!(
            "{}/__control/providers/printful/orders",
            stack.simulator
        ))
        .send()
        .await;
    let shipped: Vec<String> = at_printful.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|o| {
            o["external_id"]
                .as_str()
                .is_some_and(|id| paid.contains_key(id))
        })
        .map(|o| {
            o["id"].as_i64().map_or_else(
                || o["id"].as_str().unwrap_or_default().to_owned(),
                |n| n.to_string(),
            )
        })
        .take(10)
        .collect();
    for id in &shipped {
        let r = c
            .post(&format!(
                "{}/__control/providers/printful/orders/{id}/advance",
                stack.simulator
            ))
            .json(&json!({ "to": "shipped" }))
            .send()
            .await;
        assert_eq!(r.status, 200, "advance: {}", r.text);
    }
    let lines = logged(stack, mark, shipped.len(), |l| {
        l["path"] == "/webhooks/printful"
    })
    .await;
    let costs: Vec<Cost> = lines.iter().map(Cost::of).collect();
    vec![(
        format!(
            "POST /webhooks/printful (package_shipped), {} of them",
            costs.len()
        ),
        Cost::median(&costs),
    )]
}

/// Resident memory of the local runtime (every workerd process), in KB.
fn workerd_rss_kb() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .chars()
                .all(|c| c.is_ascii_digit())
        })
        .filter(|e| {
            std::fs::read(e.path().join("cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("workerd"))
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("status")).ok())
        .filter_map(|st| {
            st.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .sum()
}

/// Samples the runtime's resident memory every 50 ms until stopped; keeps the peak.
struct PeakRss {
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<u64>,
}

impl PeakRss {
    fn start() -> Self {
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let d = done.clone();
        let task = tokio::spawn(async move {
            let mut peak = 0;
            while !d.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(workerd_rss_kb());
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            peak
        });
        PeakRss { done, task }
    }
    /// The peak, in KB.
    async fn stop(self) -> u64 {
        self.done.store(true, std::sync::atomic::Ordering::Relaxed);
        self.task.await.unwrap_or(0)
    }
}

/// Downloads `url` `n` times, reading the body as a stream; returns (MB/s, peak workerd RSS KB).
async fn stream_rate(url: &str, n: usize, expected: u64) -> (f64, u64) {
    let http = reqwest::Client::new();
    let sampler = PeakRss::start();
    let started = Instant::now();
    let mut total = 0u64;
    for _ in 0..n {
        let mut r = http.get(url).send().await.expect("download");
        assert!(r.status().is_success(), "{url}: {}", r.status());
        let mut got = 0u64;
        while let Some(chunk) = r.chunk().await.expect("chunk") {
            got += chunk.len() as u64;
        }
        assert_eq!(got, expected, "{url}: whole file");
        total += got;
    }
    let secs = started.elapsed().as_secs_f64();
    let peak = sampler.stop().await;
    (total as f64 / 1_048_576.0 / secs, peak)
}

/// A large digital file streamed through the storefront Worker versus read straight from
/// local R2 (the dev gateway's `/_/r2/`), in the same run, with the runtime's memory.
async fn download_streaming(stack: &Stack, c: &Client, mb: usize) {
    let size = (mb * 1_048_576) as u64;
    let key = format!("bench/file-{mb}mb.bin");
    let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let put = c
        .http()
        .put(format!("{}/_/r2/{key}", stack.base))
        .header("content-type", "application/octet-stream")
        .body(data)
        .send()
        .await
        .expect("put");
    assert_eq!(put.status().as_u16(), 201, "upload to local R2");
    let admin = stack.worker("admin");
    let sf = stack.worker("storefront");
    let r = c.post(&format!("{admin}/admin/api/v1/stores")).bearer(&stack.bootstrap_key)
        .json(&json!({ "name": "Bench downloads", "order_prefix": "BDL", "currency": "USD",
            "settings": { "success_url": "https://shop.example/thanks", "cancel_url": "https://shop.example/cart" } })).send().await;
    let pk = r.body["publishable_key"].as_str().expect("pk").to_owned();
    let akey = r.body["admin_key"]["key"].as_str().expect("key").to_owned();
    let r = c.post(&format!("{admin}/admin/api/v1/products")).bearer(&akey).json(&json!({
        "title": "Bench file", "status": "active",
        "variants": [{ "sku": "BDL-BIN", "kind": "digital", "price_amount": 900, "digital_asset_key": key }] })).send().await;
    let variant = r.body["variants"][0]["id"]
        .as_str()
        .expect("variant")
        .to_owned();
    let (cart, co) = guest_checkout(c, &sf, &pk, &variant).await;
    let number = co["order"]["order_number"]
        .as_str()
        .expect("number")
        .to_owned();
    c.post(&format!(
        "{}/__control/stripe/checkout_sessions/{}/pay",
        stack.simulator,
        co["session_id"].as_str().expect("session")
    ))
    .json(&json!({}))
    .send()
    .await;
    let mut links = None;
    for _ in 0..100 {
        let r = c
            .post(&format!("{sf}/v1/orders/{number}/downloads"))
            .header("x-publishable-api-key", &pk)
            .header("x-cart-token", &cart)
            .send()
            .await;
        if r.status == 201 {
            links = Some(r.body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let links = links.expect("download links once paid");
    let via_worker = format!("{sf}{}", links["data"][0]["url"].as_str().expect("url"));
    let direct = format!("{}/_/r2/{key}", stack.base);
    let idle = workerd_rss_kb();
    let (w_rate, w_peak) = stream_rate(&via_worker, 3, size).await;
    let (d_rate, d_peak) = stream_rate(&direct, 3, size).await;
    println!(
        "\ndownloads: {mb} MB file x3 through the storefront Worker {w_rate:.0} MB/s vs straight from local R2 {d_rate:.0} MB/s = {:.2}x; \
         workerd RSS idle {} MB, peak while streaming through the Worker {} MB, straight {} MB",
        w_rate / d_rate,
        idle / 1024,
        w_peak / 1024,
        d_peak / 1024
    );
}

/// Admin search and export with many orders in local D1.
async fn admin_at_volume(stack: &Stack, c: &Client, n: u32) {
    let admin = stack.worker("admin");
    let r = c
        .post(&format!("{admin}/admin/api/v1/stores"))
        .bearer(&stack.bootstrap_key)
        .json(&json!({ "name": "Bench admin", "order_prefix": "BAD", "currency": "USD" }))
        .send()
        .await;
    let store = r.body["store"]["id"].as_str().expect("store").to_owned();
    let key = r.body["admin_key"]["key"].as_str().expect("key").to_owned();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    let http = c.http().clone();
    let day = move |back_days: i64| time_of(now_ms - back_days * 86_400_000);
    // The same searches with a tenth of the orders and with all of them: the rows each
    // reads must not grow with the table.
    let mut costs: Vec<(String, Cost, Cost)> = Vec::new();
    for (round, count) in [(0, (n / 10).max(1)), (1, n)] {
        let seeded = Instant::now();
        stack
            .d1()
            .execute("DELETE FROM orders WHERE store_id = ?1", [&store])
            .expect("empty the bench store");
        stack.seed_orders(&store, "BAD", "bench", count, now_ms);
        println!(
            "\nadmin: {count} orders seeded in local D1 in {:.1} s",
            seeded.elapsed().as_secs_f64()
        );
        let half = count / 2;
        let cursor = format!("{}.ord_bench_{half:07}", now_ms - i64::from(half) * 60_000);
        let searches: Vec<(&str, Box<dyn Fn(usize) -> String>)> = vec![
            ("newest 50", Box::new(|_| "limit=50".to_owned())),
            (
                "by email",
                Box::new(|i| format!("q=buyer{}@example.com&limit=50", i * 7 % 500)),
            ),
            (
                "by order number prefix",
                Box::new(|i| format!("q=BAD-2026-S{:05}", (i * 37) % 99_999 / 100)),
            ),
            (
                "status=shipped",
                Box::new(|_| "status=shipped&limit=50".to_owned()),
            ),
            (
                "financial_status=partially_refunded",
                Box::new(|_| "financial_status=partially_refunded&limit=50".to_owned()),
            ),
            (
                "date range (one day)",
                Box::new(move |_| {
                    format!("created_from={}&created_to={}&limit=50", day(2), day(1))
                }),
            ),
            (
                "deep page (keyset at half the orders)",
                Box::new(move |_| format!("limit=50&starting_after={cursor}")),
            ),
            (
                "provider=printful (none)",
                Box::new(|_| "provider=printful&limit=50".to_owned()),
            ),
        ];
        let mark = stack.log_len();
        for (k, (_, q)) in searches.iter().enumerate() {
            for i in 0..5 {
                let r = http
                    .get(format!("{admin}/admin/api/v1/orders?{}", q(i)))
                    .bearer_auth(&key)
                    .header("x-request-id", format!("bench-search-{round}-{k}-{i}"))
                    .send()
                    .await
                    .expect("search");
                assert!(r.status().is_success(), "search: {}", r.status());
            }
        }
        let lines = logged(stack, mark, searches.len() * 5, |l| {
            l["request_id"]
                .as_str()
                .is_some_and(|r| r.starts_with(&format!("bench-search-{round}-")))
        })
        .await;
        for (k, (name, _)) in searches.iter().enumerate() {
            let prefix = format!("bench-search-{round}-{k}-");
            let of: Vec<Cost> = lines
                .iter()
                .filter(|l| {
                    l["request_id"]
                        .as_str()
                        .is_some_and(|r| r.starts_with(&prefix))
                })
                .map(Cost::of)
                .collect();
            let median = Cost::median(&of);
            match costs.get_mut(k) {
                Some(entry) => entry.2 = median,
                None => costs.push(((*name).to_owned(), median, Cost::default())),
            }
        }
        if round == 0 {
            continue;
        }
        let d1 = stack.d1();
        let queries = lading_core::admin::list_and_search_queries(&store);
        let scanning: Vec<String> = queries
            .iter()
            .filter(|(_, q)| {
                !lading_core::sqlite::full_scans(&d1, q, lading_core::admin::BIG_TABLES)
                    .expect("plan")
                    .is_empty()
            })
            .map(|(name, _)| name.clone())
            .collect();
        println!(
            "query plans on local D1: {} admin list/search queries, full scans of orders/items/fulfillment/events: {scanning:?}",
            queries.len()
        );
        drop(d1);
        println!(
            "{:<40} {:>9} {:>9} {:>8}",
            "order search (200 each, concurrency 4)", "p50 ms", "p99 ms", "rows"
        );
        for (name, q) in &searches {
            let mut lat = Vec::new();
            let mut rows = 0;
            let outcomes: Vec<(Duration, usize)> = futures::stream::iter(0..200)
                .map(|i| {
                    let url = format!("{admin}/admin/api/v1/orders?{}", q(i));
                    let req = http.get(url).bearer_auth(&key);
                    async move {
                        let t = Instant::now();
                        let r = req.send().await.expect("search");
                        assert!(r.status().is_success(), "search: {}", r.status());
                        let v: serde_json::Value = r.json().await.expect("json");
                        (t.elapsed(), v["data"].as_array().map_or(0, Vec::len))
                    }
                })
                .buffer_unordered(4)
                .collect()
                .await;
            for (d, n) in outcomes {
                lat.push(d);
                rows = rows.max(n);
            }
            lat.sort();
            let pct = |q: f64| {
                lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)].as_secs_f64() * 1e3
            };
            println!("{name:<40} {:>9.2} {:>9.2} {rows:>8}", pct(0.5), pct(0.99));
        }
    }
    let tenth = (n / 10).max(1);
    println!(
        "\nD1 cost of an admin order search (median of 5): round trips, rows read, rows written"
    );
    println!(
        "{:<40} {:>22} {:>22}",
        "search",
        format!("{tenth} orders"),
        format!("{n} orders")
    );
    let mut grew = Vec::new();
    for (name, small, large) in &costs {
        let show = |c: &Cost| format!("{} / {} / {}", c.round_trips, c.rows_read, c.rows_written);
        println!("{name:<40} {:>22} {:>22}", show(small), show(large));
        // Ten times the orders: a search that scans would read about ten times the rows.
        if large.rows_read > 2 * small.rows_read + 100 {
            grew.push(name.as_str());
        }
    }
    println!(
        "{}",
        if grew.is_empty() {
            "rows read do not grow with the table (10x the orders, at most 2x + 100 the rows)"
                .to_owned()
        } else {
            format!("ROWS READ GROW WITH THE TABLE: {grew:?}")
        }
    );
    let idle = workerd_rss_kb();
    let url = format!("{admin}/admin/api/v1/orders/export.csv");
    let sampler = PeakRss::start();
    let started = Instant::now();
    let mut r = http
        .get(&url)
        .bearer_auth(&key)
        .send()
        .await
        .expect("export");
    assert!(r.status().is_success(), "export: {}", r.status());
    let (mut bytes, mut lines, mut first) = (0usize, 0usize, None);
    while let Some(chunk) = r.chunk().await.expect("chunk") {
        first.get_or_insert(started.elapsed());
        bytes += chunk.len();
        lines += chunk.iter().filter(|b| **b == b'\n').count();
    }
    let secs = started.elapsed().as_secs_f64();
    let peak = sampler.stop().await;
    assert_eq!(lines, n as usize + 1, "header + every order");
    println!(
        "csv export: {n} orders, {:.1} MB in {secs:.1} s ({:.0} orders/s), first bytes after {} ms; workerd RSS idle {} MB, peak during export {} MB",
        bytes as f64 / 1_048_576.0,
        f64::from(n) / secs,
        first.unwrap_or_default().as_millis(),
        idle / 1024,
        peak / 1024
    );
}

/// A day as `YYYY-MM-DD` (UTC).
fn time_of(ms: i64) -> String {
    lading_core::time_fmt::rfc3339(ms)[..10].to_owned()
}

/// A company's 100-line quote with 10 000 price entries in local D1 (1 000 variants, each in
/// a global book with two tiers, four regional books and four companies' agreements),
/// beside the trivial endpoint in the same run; then the resolver's queries' plans on the
/// same database.
async fn quote_at_volume(stack: &Stack, c: &Client, key: &str) {
    let admin = stack.worker("admin");
    let post = |path: &str, body: serde_json::Value| {
        c.post(&format!("{admin}/admin/api/v1{path}"))
            .bearer(key)
            .json(&body)
            .send()
    };
    let mut variants = Vec::new();
    for i in 0..250 {
        let r = post("/products", json!({
            "title": format!("Bench part {i}"), "status": "active",
            "variants": (0..4).map(|k| json!({ "sku": format!("Q-{i}-{k}"), "kind": "physical", "price_amount": 500 + k })).collect::<Vec<_>>()
        })).await;
        for v in r.body["variants"].as_array().expect("variants") {
            variants.push(v["id"].as_str().expect("id").to_owned());
        }
    }
    let mut parents: Vec<(&str, String)> = Vec::new();
    let r = post(
        "/price-books",
        json!({ "name": "List", "scope": "global", "active": true }),
    )
    .await;
    parents.push(("book_id", r.body["id"].as_str().expect("book").to_owned()));
    for country in ["DE", "FR", "US", "GB"] {
        let r = post("/price-books", json!({ "name": format!("{country} list"), "scope": "regional", "countries": [country], "active": true })).await;
        parents.push(("book_id", r.body["id"].as_str().expect("book").to_owned()));
    }
    let mut companies = Vec::new();
    for n in 0..4 {
        let r = post(
            "/companies",
            json!({ "name": format!("Bench company {n}") }),
        )
        .await;
        let company = r.body["id"].as_str().expect("company").to_owned();
        let r = post("/price-agreements", json!({ "company_id": company, "name": format!("Bench agreement {n}"), "status": "active" })).await;
        parents.push((
            "agreement_id",
            r.body["id"].as_str().expect("agreement").to_owned(),
        ));
        companies.push(company);
    }
    let seeded = Instant::now();
    {
        let mut d1 = stack.d1();
        let store: String = d1
            .query_row(
                "SELECT store_id FROM companies WHERE id = ?1",
                [&companies[0]],
                |r| r.get(0),
            )
            .expect("store");
        let tx = d1.transaction().expect("tx");
        let mut n = 0;
        for (p, (column, parent)) in parents.iter().enumerate() {
            let tiers: &[i64] = if p == 0 { &[1, 10] } else { &[1] };
            for (k, v) in variants.iter().enumerate() {
                for min in tiers {
                    n += 1;
                    let amount = 400 + (k as i64 % 50) - min - p as i64;
                    tx.execute(
                        &format!("INSERT INTO price_entries (id, store_id, {column}, variant_id, min_quantity, unit_amount, currency, \
                                   sync_status, stripe_price_id, synced_amount, synced_at, created_at, updated_at) \
                                  VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'USD', 'synced', ?7, ?6, 1, 1, 1)"),
                        rusqlite::params![format!("pe_bench_{n:05}"), store, parent, v, min, amount, format!("price_bench_{n:05}")],
                    )
                    .expect("entry");
                }
            }
        }
        tx.commit().expect("commit");
        println!(
            "\nquote: {n} price entries for {} variants seeded in local D1 in {:.1} s",
            variants.len(),
            seeded.elapsed().as_secs_f64()
        );
    }
    let sales_quote = format!("{admin}/admin/api/v1/pricing/quote");
    let http = c.http().clone();
    let rounds = 40;
    let mark = stack.log_len();
    let (mut quote_ms, mut trivial_ms) = (Vec::new(), Vec::new());
    for i in 0..rounds {
        let lines: Vec<serde_json::Value> = (0..100)
            .map(|k| json!({ "variant_id": variants[(i * 97 + k * 7) % variants.len()], "quantity": 1 + (k % 20) }))
            .collect();
        let body =
            json!({ "company_id": companies[i % 4], "ship_to_country": "US", "lines": lines });
        let t = Instant::now();
        let r = http
            .post(&sales_quote)
            .bearer_auth(key)
            .header("x-request-id", format!("bench-quote-{i}"))
            .json(&body)
            .send()
            .await
            .expect("quote");
        let status = r.status();
        let answer: serde_json::Value = r.json().await.expect("json");
        quote_ms.push(t.elapsed());
        assert!(status.is_success(), "quote: {status} {answer}");
        assert_eq!(answer["complete"], true, "every line priced");
        assert_eq!(
            answer["lines"][0]["resolution"]["source"],
            "price_agreement"
        );
        let t = Instant::now();
        let r = http
            .get(format!("{admin}/healthz"))
            .send()
            .await
            .expect("healthz");
        assert!(r.status().is_success());
        trivial_ms.push(t.elapsed());
    }
    let pct = |v: &mut Vec<Duration>, q: f64| {
        v.sort_unstable();
        v[((v.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1e3
    };
    let (q50, q99) = (pct(&mut quote_ms, 0.5), pct(&mut quote_ms, 0.99));
    let (t50, t99) = (pct(&mut trivial_ms, 0.5), pct(&mut trivial_ms, 0.99));
    let costs: Vec<Cost> = logged(stack, mark, rounds, |l| {
        l["request_id"]
            .as_str()
            .is_some_and(|r| r.starts_with("bench-quote-"))
    })
    .await
    .iter()
    .map(Cost::of)
    .collect();
    let cost = Cost::median(&costs);
    println!(
        "{:<44} {:>9} {:>9} {:>8}",
        format!("one at a time, {rounds} rounds"),
        "p50 ms",
        "p99 ms",
        "ratio"
    );
    println!(
        "{:<44} {t50:>9.2} {t99:>9.2} {:>8}",
        "GET /healthz (trivial D1)", "1.00x"
    );
    println!(
        "{:<44} {q50:>9.2} {q99:>9.2} {:>7.2}x",
        "POST pricing/quote (100 lines, 10k entries)",
        q50 / t50
    );
    println!(
        "quote D1 cost (median): {} round trips, {} rows read, {} rows written",
        cost.round_trips, cost.rows_read, cost.rows_written
    );
    let d1 = stack.d1();
    let us = lading_core::domain::Country::parse("US").expect("US");
    let store: String = d1
        .query_row(
            "SELECT store_id FROM companies WHERE id = ?1",
            [&companies[0]],
            |r| r.get(0),
        )
        .expect("store");
    let ids: Vec<&str> = variants.iter().take(100).map(String::as_str).collect();
    let cx = lading_core::pricing::PricingContext {
        store_id: &store,
        company_id: Some(&companies[0]),
        ship_to: Some(&us),
        currency: "USD",
        at_ms: 2,
    };
    let queries = [
        (
            "resolver (company, country)",
            lading_core::pricing::candidates_query(&cx, &ids),
        ),
        (
            "resolver (no company, no country)",
            lading_core::pricing::candidates_query(
                &lading_core::pricing::PricingContext {
                    company_id: None,
                    ship_to: None,
                    ..cx.clone()
                },
                &ids,
            ),
        ),
        (
            "the quote's variants",
            lading_core::pricing::quote::variants_query(&store, &ids),
        ),
    ];
    let tables = lading_core::pricing::PLANNED_TABLES;
    for (name, q) in &queries {
        let scans = lading_core::sqlite::full_scans(&d1, q, tables).expect("plan");
        println!(
            "query plan on local D1, {name}: {}",
            if scans.is_empty() {
                "indexed (no full scan)".to_owned()
            } else {
                format!("FULL SCAN {scans:?}")
            }
        );
    }
}
