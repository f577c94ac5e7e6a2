//! `npm start`: the whole local stack with a seeded demo store.
//!
//! Starts the provider simulator and the five Workers (fresh local state in `.lading/`),
//! creates a demo store with products, and prints the URLs, keys and a few commands to try.
//! Ports: `LADING_PORT` (8787) and `LADING_SIMULATOR_PORT` (8790). Ctrl-C stops everything.

use lading_e2e::client::Client;
use lading_e2e::{Options, Stack, WORKERS, root};
use serde_json::json;

const ISSUER: &str = "http://lading-simulator/idp/";
const AUDIENCE: &str = "lading-demo";

fn port(var: &str, default: u16) -> u16 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let mut key = [0u8; 24];
    getrandom(&mut key);
    let bootstrap = format!(
        "lbk_{}",
        key.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let opts = Options {
        state_dir: root().join(".lading"),
        gateway_port: port("LADING_PORT", 8787),
        simulator_port: port("LADING_SIMULATOR_PORT", 8790),
        bootstrap_key: bootstrap,
    };
    println!("==> starting the simulator and the five Workers (fresh state in .lading/)");
    let stack = Stack::start(opts);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let demo = rt.block_on(seed(&stack));

    println!("\nLading is running.\n");
    for w in WORKERS {
        println!(
            "  {w:<12} {:<36} health: {}/healthz",
            stack.worker(w),
            stack.worker(w)
        );
    }
    println!(
        "  simulator    {}   (requests it received: {}/__control/requests)",
        stack.simulator, stack.simulator
    );
    println!("\nDemo store \"{}\"", demo.name);
    println!("  publishable key  {}", demo.pk);
    println!(
        "  admin key        {}   (superadmin; shown once)",
        demo.admin_key
    );
    println!(
        "  bootstrap key    {}   (platform superadmin: stores; any store with x-store-id)",
        stack.bootstrap_key
    );
    println!(
        "\nAdmin web UI: {}/admin   (sign in with the admin key above)",
        stack.base
    );
    println!(
        "Emails the store sent: {}/__control/emails",
        stack.simulator
    );
    println!("\nTry:");
    println!(
        "  curl -s {}/v1/products -H 'x-publishable-api-key: {}'",
        stack.base, demo.pk
    );
    println!(
        "  curl -s {}/admin/api/v1/products -H 'authorization: Bearer {}'",
        stack.base, demo.admin_key
    );
    println!(
        "  curl -s -XPOST {}/v1/carts -H 'x-publishable-api-key: {}'",
        stack.base, demo.pk
    );
    println!(
        "  curl -s -XPOST {}/idp/token -H 'content-type: application/json' -d '{{\"sub\":\"demo-customer\",\"aud\":\"{AUDIENCE}\"}}'   # a customer JWT",
        stack.simulator
    );
    println!(
        "\nBuy something (guest): create a cart, add a variant id from /v1/products, check out,"
    );
    println!(
        "open checkout_url in a browser and press Pay; the order becomes paid through the webhook:"
    );
    println!(
        "  T=$(curl -s -XPOST {b}/v1/carts -H 'x-publishable-api-key: {pk}' | sed 's/.*\"cart_token\":\"\\([^\"]*\\)\".*/\\1/')",
        b = stack.base,
        pk = demo.pk
    );
    println!(
        "  curl -s -XPOST {b}/v1/carts/current/items -H 'x-publishable-api-key: {pk}' -H \"x-cart-token: $T\" -H 'content-type: application/json' -d '{{\"variant_id\":\"<id>\",\"quantity\":1}}'",
        b = stack.base,
        pk = demo.pk
    );
    println!(
        "  curl -s -XPOST {b}/v1/checkout/sessions -H 'x-publishable-api-key: {pk}' -H \"x-cart-token: $T\" -H 'content-type: application/json' -d '{{\"email\":\"you@example.com\"}}'",
        b = stack.base,
        pk = demo.pk
    );
    println!("\nLogs: .lading/wrangler.log and .lading/simulator.log. Ctrl-C stops everything.");
    // Ctrl-C, or a SIGTERM from a process manager or `timeout`: stop every process we started.
    rt.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    });
    println!("stopping...");
    drop(stack);
}

struct Demo {
    name: String,
    pk: String,
    admin_key: String,
}

async fn seed(stack: &Stack) -> Demo {
    let c = Client::default();
    let admin = stack.worker("admin");
    let r = c
        .post(&format!("{admin}/admin/api/v1/stores"))
        .bearer(&stack.bootstrap_key)
        .json(&json!({
            "name": "Lading Demo Prints", "order_prefix": "DEMO", "currency": "USD",
            "settings": {
                "identity": { "issuer": ISSUER, "audience": AUDIENCE, "jwks_url": format!("{}/idp/.well-known/jwks.json", stack.simulator) },
                // The gateway's demo pages stand in for a storefront's return pages.
                "success_url": format!("{}/demo/checkout/success", stack.base), "cancel_url": format!("{}/demo/cart", stack.base),
                "cancellation_window_minutes": 60, "default_provider": "printful",
                "providers": lading_e2e::local_provider_settings()
            }
        }))
        .send()
        .await;
    assert_eq!(r.status, 201, "seeding the demo store failed: {}", r.text);
    let key = r.body["admin_key"]["key"]
        .as_str()
        .expect("admin key")
        .to_owned();
    let products = [
        json!({ "title": "Harbour at Dawn — Poster", "slug": "harbour-at-dawn", "status": "active",
            "description": "Museum-quality matte poster.", "images": ["https://images.example/harbour.jpg"],
            "variants": [
                { "sku": "HARBOUR-A3", "title": "A3 poster", "kind": "physical", "price_amount": 2900, "fulfillment_provider": "printful", "estimated_production_days": 3 },
                { "sku": "HARBOUR-A2", "title": "A2 poster", "kind": "physical", "price_amount": 3900, "fulfillment_provider": "printful", "estimated_production_days": 3 }
            ] }),
        json!({ "title": "Alpine Lake — Framed Print", "slug": "alpine-lake-framed", "status": "active",
            "variants": [
                { "sku": "ALPINE-FRAME-30X40", "title": "30×40 cm, oak frame", "kind": "physical", "price_amount": 8900, "fulfillment_provider": "prodigi", "estimated_production_days": 5 }
            ] }),
        json!({ "title": "City Lights — Digital Download", "slug": "city-lights-digital", "status": "active",
            "variants": [
                { "sku": "CITY-PDF", "title": "High-resolution PDF", "kind": "digital", "price_amount": 900, "digital_asset_key": "assets/city-lights.pdf" }
            ] }),
    ];
    for p in products {
        let r = c
            .post(&format!("{admin}/admin/api/v1/products"))
            .bearer(&key)
            .json(&p)
            .send()
            .await;
        assert_eq!(r.status, 201, "seeding a product failed: {}", r.text);
        for v in r.body["variants"].as_array().into_iter().flatten() {
            let provider = v["fulfillment_provider"].as_str();
            if let Some(provider) = provider {
                let sku = v["sku"].as_str().unwrap_or_default();
                let ext = if provider == "printful" {
                    "4012"
                } else {
                    "GLOBAL-CFPM-12X16"
                };
                c.call("PUT", &format!("{admin}/admin/api/v1/variants/{}/provider-mappings/{provider}", v["id"].as_str().unwrap_or_default()))
                    .bearer(&key)
                    .json(&json!({ "external_variant_id": format!("{ext}-{sku}"), "cost_amount": v["price"]["amount"].as_i64().unwrap_or(0) / 2 }))
                    .send()
                    .await;
            }
        }
    }
    // A promo code, mirrored to the simulated Stripe (coupon + promotion code).
    let promo = c
        .post(&format!("{admin}/admin/api/v1/promo-codes"))
        .bearer(&key)
        .json(&json!({ "code": "WELCOME10", "discount_type": "percentage", "discount_value": 10, "description": "10% off a first order" }))
        .send()
        .await;
    assert_eq!(
        promo.status, 201,
        "seeding a promo code failed: {}",
        promo.text
    );
    // The digital product's file, so its download links work on the local stack.
    let pdf = b"%PDF-1.4\n% Lading demo download: City Lights\n%%EOF\n".to_vec();
    let _ = c
        .http()
        .put(format!("{}/_/r2/assets/city-lights.pdf", stack.base))
        .header("content-type", "application/pdf")
        .body(pdf)
        .send()
        .await;
    Demo {
        name: "Lading Demo Prints".into(),
        pk: r.body["publishable_key"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        admin_key: key,
    }
}

fn getrandom(buf: &mut [u8]) {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .expect("/dev/urandom");
}
