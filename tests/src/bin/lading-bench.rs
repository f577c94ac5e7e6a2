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
        // One cart per 40 adds keeps every line under its quantity bound and every cart under 50 lines.
        let mut carts = Vec::new();
        for _ in 0..requests.div_ceil(40) {
            let r = c.post(&format!("{sf}/v1/carts")).header("x-publishable-api-key", &pk).send().await;
            carts.push(r.body["cart_token"].as_str().expect("token").to_owned());
        }
        // One pending order per 5 event deliveries, checked out through the simulator's Stripe.
        let mut events = Vec::new();
        for i in 0..requests.div_ceil(5) {
            let r = c.post(&format!("{sf}/v1/carts")).header("x-publishable-api-key", &pk).send().await;
            let cart = r.body["cart_token"].as_str().expect("token").to_owned();
            c.post(&format!("{sf}/v1/carts/current/items")).header("x-publishable-api-key", &pk).header("x-cart-token", &cart)
                .json(&json!({ "variant_id": variants[i % variants.len()], "quantity": 1 })).send().await;
            let co = c.post(&format!("{sf}/v1/checkout/sessions")).header("x-publishable-api-key", &pk).header("x-cart-token", &cart)
                .json(&json!({ "email": "bench@example.com" })).send().await;
            assert_eq!(co.status, 201, "bench checkout: {}", co.text);
            let o = &co.body["order"];
            let (sub, ship) = (o["subtotal"].as_i64().unwrap_or(0), o["shipping"].as_i64().unwrap_or(0));
            let event = json!({ "id": format!("evt_bench_{i}"), "object": "event", "type": "checkout.session.completed", "created": 1_790_000_000 + i as i64,
                "data": { "object": { "id": co.body["session_id"], "object": "checkout.session", "status": "complete", "payment_status": "paid",
                    "payment_intent": format!("pi_bench_{i}"), "amount_subtotal": sub, "amount_total": sub + ship, "currency": "usd",
                    "total_details": { "amount_discount": 0, "amount_shipping": ship, "amount_tax": 0 },
                    "customer_details": { "email": "bench@example.com", "name": "Bench" },
                    "metadata": { "order_id": o["id"], "order_number": o["order_number"] } } } });
            events.push(serde_json::to_vec(&event).expect("json"));
        }
        let secret = stack.stripe_webhook_secret.clone();
        let hooks = format!("{}/webhooks/stripe", stack.worker("webhooks"));
        let http = c.http().clone();
        // Warm-up so every isolate is compiled and D1 is open.
        for _ in 0..50 {
            let _ = http.get(format!("{sf}/healthz")).send().await;
            let _ = http.get(format!("{sf}/v1/products?limit=20")).header("x-publishable-api-key", &pk).send().await;
        }
        let mut results = Vec::new();
        // Interleave rounds so machine noise hits every endpoint alike.
        let rounds = 4;
        let per_round = requests / rounds;
        let mut lat: [Vec<Duration>; 4] = Default::default();
        let mut busy = [Duration::ZERO; 4];
        let mut errors = [0usize; 4];
        let mut to_paid: Vec<Duration> = Vec::new();
        for round in 0..rounds {
            for (k, _) in ["trivial", "products", "cart", "stripe"].iter().enumerate() {
                let started = Instant::now();
                let outcomes: Vec<(Duration, bool, bool)> = futures::stream::iter(0..per_round)
                    .map(|i| {
                        let http = http.clone();
                        let idx = round * per_round + i;
                        let req = match k {
                            0 => http.get(format!("{sf}/healthz")),
                            1 => http.get(format!("{sf}/v1/products?limit=20")).header("x-publishable-api-key", &pk),
                            2 => http
                                .post(format!("{sf}/v1/carts/current/items"))
                                .header("x-publishable-api-key", &pk)
                                .header("x-cart-token", &carts[idx / 40])
                                .json(&json!({ "variant_id": variants[idx % 40 * 2 % variants.len()], "quantity": 1 })),
                            // Consecutive requests are the 5 copies of one event: they run at once.
                            _ => {
                                let body = &events[(idx / 5) % events.len()];
                                let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64;
                                let sig = lading_core::payments::stripe_signature::sign(&secret, now, body);
                                http.post(&hooks)
                                    .header("content-type", "application/json")
                                    .header("stripe-signature", format!("t={now},v1={sig}"))
                                    .body(body.clone())
                            }
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
        for (k, name) in ["GET /healthz (trivial D1)", "GET /v1/products", "POST /v1/carts/current/items", "POST /webhooks/stripe (5 copies)"].into_iter().enumerate() {
            let mut l = lat[k].clone();
            l.sort();
            let pct = |q: f64| l[((l.len() as f64 * q) as usize).min(l.len() - 1)];
            results.push(Stats { name, rps: l.len() as f64 / busy[k].as_secs_f64(), p50: pct(0.50), p99: pct(0.99), errors: errors[k] });
        }
        println!("\n{requests} requests per endpoint, concurrency {concurrency}, loopback, one run\n");
        println!("{:<32} {:>9} {:>9} {:>9} {:>7} {:>8}", "endpoint", "req/s", "p50 ms", "p99 ms", "errors", "ratio");
        let base = results[0].rps;
        for s in &results {
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
        to_paid.sort();
        if !to_paid.is_empty() {
            let pct = |q: f64| to_paid[((to_paid.len() as f64 * q) as usize).min(to_paid.len() - 1)].as_secs_f64() * 1e3;
            println!("\nevent sent -> order paid (the delivery that paid it): {} orders, p50 {:.2} ms, p99 {:.2} ms", to_paid.len(), pct(0.5), pct(0.99));
        }
        println!("\nbudgets: catalog read >= 0.70x, cart write >= 0.50x, Stripe events >= 0.30x of the trivial endpoint");
        let ok = results[1].rps / base >= 0.7 && results[2].rps / base >= 0.5 && results[3].rps / base >= 0.3 && results.iter().all(|s| s.errors == 0);
        println!("{}", if ok { "within budget" } else { "OUTSIDE BUDGET" });
        fulfillment_latency(&stack, &c, arg("--orders", 100)).await;
        download_streaming(&stack, &c, arg("--file-mb", 50)).await;
        admin_at_volume(&stack, &c, arg("--admin-orders", 100_000) as u32).await;
    });
    drop(stack);
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

async fn fulfillment_latency(stack: &Stack, c: &Client, orders: usize) {
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
        return;
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
    let seeded = Instant::now();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    stack.seed_orders(&store, "BAD", "bench", n, now_ms);
    println!(
        "\nadmin: {n} orders seeded in local D1 in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );
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
    let http = c.http().clone();
    let day = move |back_days: i64| time_of(now_ms - back_days * 86_400_000);
    let cursor = format!("{}.ord_bench_{:07}", now_ms - 50_000 * 60_000, 50_000);
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
            Box::new(move |_| format!("created_from={}&created_to={}&limit=50", day(20), day(19))),
        ),
        (
            "deep page (keyset at 50 000)",
            Box::new(move |_| format!("limit=50&starting_after={cursor}")),
        ),
        (
            "provider=printful (none)",
            Box::new(|_| "provider=printful&limit=50".to_owned()),
        ),
    ];
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
        let pct =
            |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)].as_secs_f64() * 1e3;
        println!("{name:<40} {:>9.2} {:>9.2} {rows:>8}", pct(0.5), pct(0.99));
    }
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
