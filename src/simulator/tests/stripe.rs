//! The Stripe simulator on a real socket, checked against PROVIDERS.md, with webhooks
//! verified by the core's `Stripe-Signature` check.

mod common;

use axum::Router;
use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::routing::post;
use common::Sim;
use lading_core::payments::stripe_signature;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET: &str = "whsec_sim_test";
const KEY: &str = "Bearer sk_test_sim";

type Received = Arc<Mutex<Vec<(Value, bool)>>>;

/// A webhook endpoint that records each delivery and whether its signature verified.
async fn receiver() -> (String, Received) {
    let got: Received = Arc::default();
    let g = got.clone();
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let g = g.clone();
            async move {
                let sig = headers
                    .get("stripe-signature")
                    .and_then(|v| v.to_str().ok());
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs() as i64;
                let ok = stripe_signature::verify(sig, &body, &[SECRET], now, 300).is_ok();
                g.lock()
                    .unwrap()
                    .push((serde_json::from_slice(&body).unwrap_or(Value::Null), ok));
                "ok"
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (url, got)
}

fn start(hook: &str) -> Sim {
    common::start(&[
        "--stripe-webhook-url",
        hook,
        "--stripe-webhook-secret",
        SECRET,
    ])
}

fn session_form(order: &str) -> String {
    format!(
        "mode=payment&success_url=http%3A%2F%2Fshop%2Fok&cancel_url=http%3A%2F%2Fshop%2Fcart&client_reference_id={order}\
         &metadata[order_id]={order}&line_items[0][quantity]=2&line_items[0][price_data][currency]=usd\
         &line_items[0][price_data][unit_amount]=2500&line_items[0][price_data][product_data][name]=Poster\
         &shipping_address_collection[allowed_countries][0]=US\
         &shipping_options[0][shipping_rate_data][fixed_amount][amount]=999&shipping_options[0][shipping_rate_data][fixed_amount][currency]=usd"
    )
}

async fn form(
    c: &reqwest::Client,
    url: &str,
    body: String,
    key: Option<&str>,
) -> (u16, Value, bool) {
    let mut r = c
        .post(url)
        .header("authorization", KEY)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(k) = key {
        r = r.header("idempotency-key", k);
    }
    let r = r.send().await.unwrap();
    let replayed = r.headers().get("idempotent-replayed").is_some();
    (
        r.status().as_u16(),
        r.json().await.unwrap_or(Value::Null),
        replayed,
    )
}

async fn wait_for(got: &Received, n: usize) -> Vec<(Value, bool)> {
    for _ in 0..100 {
        if got.lock().unwrap().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    got.lock().unwrap().clone()
}

#[tokio::test]
async fn checkout_sessions_follow_stripes_contract_and_webhooks_are_signed() {
    let (hook, got) = receiver().await;
    let sim = start(&hook);
    let c = reqwest::Client::new();
    let url = format!("{}/v1/checkout/sessions", sim.base);

    let (status, s, _) = form(&c, &url, session_form("ord_1"), Some("order-ord_1")).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["object"], "checkout.session");
    assert_eq!(s["status"], "open");
    assert_eq!(s["payment_status"], "unpaid");
    assert_eq!(s["amount_subtotal"], 5000);
    assert_eq!(s["amount_total"], 5999);
    assert_eq!(s["metadata"]["order_id"], "ord_1");
    assert!(s["url"].as_str().unwrap().contains("/checkout/cs_test_"));
    let id = s["id"].as_str().unwrap().to_owned();

    // Idempotency: replay, then a parameter mismatch.
    let (_, again, replayed) = form(&c, &url, session_form("ord_1"), Some("order-ord_1")).await;
    assert!(replayed);
    assert_eq!(again["id"], id.as_str());
    let (status, err, _) = form(&c, &url, session_form("ord_2"), Some("order-ord_1")).await;
    assert_eq!(status, 400);
    assert_eq!(err["error"]["type"], "idempotency_error");

    // No key: 401 in Stripe's error shape.
    let r = c.post(&url).body(session_form("x")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.json::<Value>().await.unwrap()["error"]["message"].is_string());

    let items: Value = c
        .get(format!("{url}/{id}/line_items"))
        .header("authorization", KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(items["data"][0]["amount_total"], 5000);

    // Paying completes the session and delivers two signed events.
    let paid: Value = c
        .post(format!(
            "{}/__control/stripe/checkout_sessions/{id}/pay",
            sim.base
        ))
        .json(&json!({ "email": "a@b.co" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(paid["status"], "complete");
    assert_eq!(paid["payment_status"], "paid");
    assert!(paid["url"].is_null(), "url only while open");
    assert!(paid["collected_information"]["shipping_details"]["address"]["country"].is_string());
    let delivered = wait_for(&got, 2).await;
    let kinds: Vec<&str> = delivered
        .iter()
        .map(|(e, _)| e["type"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"checkout.session.completed")
            && kinds.contains(&"payment_intent.succeeded"),
        "{kinds:?}"
    );
    assert!(
        delivered.iter().all(|(_, ok)| *ok),
        "every delivery verifies"
    );

    // Events list newest first, with starting_after.
    let events: Value = c
        .get(format!("{}/v1/events?limit=1", sim.base))
        .header("authorization", KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(events["data"][0]["type"], "checkout.session.completed");
    assert_eq!(events["has_more"], true);
    let first = events["data"][0]["id"].as_str().unwrap();
    let older: Value = c
        .get(format!("{}/v1/events?starting_after={first}", sim.base))
        .header("authorization", KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(older["data"][0]["type"], "payment_intent.succeeded");

    // Refunds never exceed what is left.
    let pi = paid["payment_intent"].as_str().unwrap();
    let refunds = format!("{}/v1/refunds", sim.base);
    let (status, r, _) = form(
        &c,
        &refunds,
        format!("payment_intent={pi}&amount=1000"),
        Some("re-1"),
    )
    .await;
    assert_eq!((status, r["status"].as_str()), (200, Some("succeeded")));
    let (status, r, _) = form(
        &c,
        &refunds,
        format!("payment_intent={pi}&amount=5000"),
        Some("re-2"),
    )
    .await;
    assert_eq!(status, 400, "{r}");

    // A dropped delivery is still listed; a redelivery sends copies at once.
    c.post(format!("{}/__control/stripe/delivery", sim.base))
        .json(&json!({ "drop_next": 1 }))
        .send()
        .await
        .unwrap();
    let (_, s2, _) = form(&c, &url, session_form("ord_3"), None).await;
    let id2 = s2["id"].as_str().unwrap();
    let before = got.lock().unwrap().len();
    let expired: Value = c
        .post(format!("{url}/{id2}/expire"))
        .header("authorization", KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(expired["status"], "expired");
    // The delivery log says the expiry event was dropped (decided before the expire call
    // answered, so no copy can still be on its way).
    let deliveries: Value = c
        .get(format!("{}/__control/stripe/deliveries", sim.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let outcomes: Vec<&Value> = deliveries["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["type"] == "checkout.session.expired")
        .map(|d| &d["outcome"])
        .collect();
    assert_eq!(outcomes, vec![&json!("dropped")]);
    assert_eq!(
        got.lock().unwrap().len(),
        before,
        "the expiry event was dropped"
    );
    let listed: Value = c
        .get(format!(
            "{}/v1/events?type=checkout.session.expired",
            sim.base
        ))
        .header("authorization", KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let evt = listed["data"][0]["id"].as_str().unwrap();
    c.post(format!(
        "{}/__control/stripe/events/{evt}/deliver",
        sim.base
    ))
    .json(&json!({ "times": 3 }))
    .send()
    .await
    .unwrap();
    let all = wait_for(&got, before + 3).await;
    assert_eq!(all.iter().filter(|(e, _)| e["id"] == evt).count(), 3);
}

#[tokio::test]
async fn payment_intents_confirm_or_decline() {
    let (hook, got) = receiver().await;
    let sim = start(&hook);
    let c = reqwest::Client::new();
    let (status, pi, _) = form(
        &c,
        &format!("{}/v1/payment_intents", sim.base),
        "amount=1999&currency=usd&metadata[order_id]=ord_9".into(),
        Some("pi-ord_9"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(pi["status"], "requires_payment_method");
    assert!(
        pi["client_secret"]
            .as_str()
            .unwrap()
            .starts_with(pi["id"].as_str().unwrap())
    );
    let id = pi["id"].as_str().unwrap();
    let confirm = format!("{}/v1/payment_intents/{id}/confirm", sim.base);
    let (_, declined, _) = form(
        &c,
        &confirm,
        "payment_method=pm_card_chargeDeclined".into(),
        None,
    )
    .await;
    assert_eq!(declined["last_payment_error"]["code"], "card_declined");
    let (_, ok, _) = form(&c, &confirm, "payment_method=pm_card_visa".into(), None).await;
    assert_eq!(ok["status"], "succeeded");
    assert_eq!(ok["amount_received"], 1999);
    let (status, _, _) = form(&c, &confirm, "payment_method=pm_card_visa".into(), None).await;
    assert_eq!(status, 400, "a succeeded intent cannot be confirmed again");
    let kinds: Vec<String> = wait_for(&got, 2)
        .await
        .iter()
        .map(|(e, _)| e["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds.len(), 2);
    assert!(
        kinds.contains(&"payment_intent.payment_failed".to_owned())
            && kinds.contains(&"payment_intent.succeeded".to_owned())
    );
    let (status, _, _) = form(
        &c,
        &format!("{}/v1/payment_intents/{id}/cancel", sim.base),
        String::new(),
        None,
    )
    .await;
    assert_eq!(status, 400, "a succeeded intent cannot be cancelled");
    // One that has not succeeded can, and says so with an event.
    let (_, other, _) = form(
        &c,
        &format!("{}/v1/payment_intents", sim.base),
        "amount=500&currency=usd".into(),
        None,
    )
    .await;
    let other = other["id"].as_str().unwrap();
    let (status, cancelled, _) = form(
        &c,
        &format!("{}/v1/payment_intents/{other}/cancel", sim.base),
        String::new(),
        None,
    )
    .await;
    assert_eq!(
        (status, cancelled["status"].as_str()),
        (200, Some("canceled"))
    );
    let all = wait_for(&got, 3).await;
    assert!(
        all.iter()
            .any(|(e, _)| e["type"] == "payment_intent.canceled")
    );
}
