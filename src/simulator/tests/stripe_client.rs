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
