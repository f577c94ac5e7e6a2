//! The core's Stripe client against the simulated Stripe: encoding, idempotency and the
//! sorting of answers into what the caller can do.

mod common;

use common::CorePlatform;
use lading_core::payments::stripe_client::{self, StripeConfig, StripeError};
use serde_json::json;

#[tokio::test]
async fn the_core_client_speaks_stripe_to_the_simulator() {
    let sim = common::start(&[]);
    let p = CorePlatform::new(Default::default());
    let cfg = StripeConfig {
        api_base: sim.base.clone(),
        secret_key: "sk_test_core".into(),
    };
    let params = json!({
        "mode": "payment", "success_url": "http://shop/ok", "cancel_url": "http://shop/cart", "client_reference_id": "ord_7",
        "metadata": { "order_id": "ord_7", "order_number": "DEMO-2026-ABCDEFGH" },
        "line_items": [{ "quantity": 3, "price_data": { "currency": "usd", "unit_amount": 1200, "product_data": { "name": "Print" } } }],
    });
    let a = stripe_client::post(&p, &cfg, "/v1/checkout/sessions", &params, "checkout:ord_7")
        .await
        .unwrap();
    let b = stripe_client::post(&p, &cfg, "/v1/checkout/sessions", &params, "checkout:ord_7")
        .await
        .unwrap();
    assert_eq!(a["id"], b["id"], "same key, same session");
    assert_eq!(a["amount_total"], 3600);
    assert_eq!(a["metadata"]["order_number"], "DEMO-2026-ABCDEFGH");
    let got = stripe_client::get(
        &p,
        &cfg,
        &format!("/v1/checkout/sessions/{}", a["id"].as_str().unwrap()),
    )
    .await
    .unwrap();
    assert_eq!(got["client_reference_id"], "ord_7");

    let mut other = params.clone();
    other["client_reference_id"] = json!("ord_8");
    let e = stripe_client::post(&p, &cfg, "/v1/checkout/sessions", &other, "checkout:ord_7")
        .await
        .unwrap_err();
    assert!(matches!(e, StripeError::Idempotency(_)), "{e:?}");

    let e = stripe_client::post(
        &p,
        &cfg,
        "/v1/checkout/sessions",
        &json!({ "mode": "payment" }),
        "checkout:bad",
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e, StripeError::Rejected { status: 400, ref kind, .. } if kind == "invalid_request_error"),
        "{e:?}"
    );

    // A 503 from Stripe (injected by the harness) is worth retrying; so is no answer at all.
    reqwest::Client::new()
        .post(format!("{}/__control/faults", sim.base))
        .json(&json!({ "path_prefix": "/v1/checkout/sessions", "status": 503 }))
        .send()
        .await
        .unwrap();
    let e = stripe_client::post(&p, &cfg, "/v1/checkout/sessions", &params, "checkout:ord_9")
        .await
        .unwrap_err();
    assert!(matches!(e, StripeError::RetryLater(_)), "{e:?}");
    let nowhere = StripeConfig {
        api_base: "http://127.0.0.1:9".into(),
        secret_key: "sk_test".into(),
    };
    assert!(matches!(
        stripe_client::get(&p, &nowhere, "/v1/events").await,
        Err(StripeError::RetryLater(_))
    ));
}

/// Products and Prices as PROVIDERS.md says: amounts never change, lookup keys are unique
/// and move only with `transfer_lookup_key`, a 5xx is kept under its key, and Checkout
/// lines may name a Price.
#[tokio::test]
async fn products_and_prices_follow_stripes_rules() {
    let sim = common::start(&[]);
    let p = CorePlatform::new(Default::default());
    let cfg = StripeConfig {
        api_base: sim.base.clone(),
        secret_key: "sk_test_core".into(),
    };
    let post = |path: &'static str, params: serde_json::Value, key: &'static str| {
        let (p, cfg) = (&p, &cfg);
        async move { stripe_client::post(p, cfg, path, &params, key).await }
    };
    let prod = post(
        "/v1/products",
        json!({ "id": "lading_var_1", "name": "Sensor" }),
        "product:var_1:t0",
    )
    .await
    .unwrap();
    assert_eq!(prod["id"], "lading_var_1");
    let again = post(
        "/v1/products",
        json!({ "id": "lading_var_1", "name": "Sensor" }),
        "product:var_1:t1",
    )
    .await
    .unwrap_err();
    assert!(
        matches!(again, StripeError::Rejected { ref code, .. } if code == "resource_already_exists"),
        "{again:?}"
    );

    let price = |amount: i64, transfer: bool| json!({ "product": "lading_var_1", "currency": "usd", "unit_amount": amount, "lookup_key": "lading_pe_1", "transfer_lookup_key": transfer });
    let a = post("/v1/prices", price(1000, true), "price:pe_1:v1")
        .await
        .unwrap();
    let taken = post(
        "/v1/prices",
        price(1200, false),
        "price:pe_1:v2:no-transfer",
    )
    .await
    .unwrap_err();
    assert!(
        matches!(taken, StripeError::Rejected { ref message, .. } if message.contains("already uses that lookup key")),
        "{taken:?}"
    );
    let b = post("/v1/prices", price(1200, true), "price:pe_1:v2")
        .await
        .unwrap();
    let found = stripe_client::get(&p, &cfg, "/v1/prices?lookup_keys[]=lading_pe_1")
        .await
        .unwrap();
    assert_eq!(found["data"].as_array().unwrap().len(), 1);
    assert_eq!(found["data"][0]["id"], b["id"]);
    assert_eq!(found["data"][0]["unit_amount"], 1200);
    // Amounts never change; archiving is allowed.
    let a_id = a["id"].as_str().unwrap().to_owned();
    let e = stripe_client::post(
        &p,
        &cfg,
        &format!("/v1/prices/{a_id}"),
        &json!({ "unit_amount": 5 }),
        "bad-update",
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e, StripeError::Rejected { ref message, .. } if message.contains("unknown parameter: unit_amount")),
        "{e:?}"
    );
    let archived = stripe_client::post(
        &p,
        &cfg,
        &format!("/v1/prices/{a_id}"),
        &json!({ "active": false }),
        "archive:a",
    )
    .await
    .unwrap();
    assert_eq!(archived["active"], false);

    // Checkout lines name Prices; an archived one is refused.
    let session = |price_id: &str| {
        json!({ "mode": "payment", "success_url": "http://shop/ok", "cancel_url": "http://shop/cart",
        "line_items": [{ "price": price_id, "quantity": 3 }] })
    };
    let s = stripe_client::post(
        &p,
        &cfg,
        "/v1/checkout/sessions",
        &session(b["id"].as_str().unwrap()),
        "cs:b",
    )
    .await
    .unwrap();
    assert_eq!(s["amount_subtotal"], 3600);
    let lines = stripe_client::get(
        &p,
        &cfg,
        &format!(
            "/v1/checkout/sessions/{}/line_items",
            s["id"].as_str().unwrap()
        ),
    )
    .await
    .unwrap();
    assert_eq!(lines["data"][0]["price"]["id"], b["id"]);
    let e = stripe_client::post(&p, &cfg, "/v1/checkout/sessions", &session(&a_id), "cs:a")
        .await
        .unwrap_err();
    assert!(
        matches!(e, StripeError::Rejected { ref message, .. } if message.contains("inactive")),
        "{e:?}"
    );

    // A 5xx is kept under its key: the same key answers it again; a new key goes through.
    reqwest::Client::new()
        .post(format!("{}/__control/stripe/faults", sim.base))
        .json(&json!({ "prices_5xx": 1 }))
        .send()
        .await
        .unwrap();
    let c = json!({ "product": "lading_var_1", "currency": "usd", "unit_amount": 1300 });
    for _ in 0..2 {
        let e = post("/v1/prices", c.clone(), "price:pe_2:t0")
            .await
            .unwrap_err();
        assert!(matches!(e, StripeError::RetryLater(_)), "{e:?}");
    }
    assert!(post("/v1/prices", c.clone(), "price:pe_2:t1").await.is_ok());
}
