//! The core's provider adapters against the simulated providers: one order per reference
//! whatever is resent, refusals with the provider's words, statuses back through the
//! parsers the webhooks Worker uses, and webhooks signed each provider's way.

mod common;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Uri};
use axum::routing::post;
use common::CorePlatform;
use hmac::{Hmac, Mac};
use lading_core::domain::{FulfillmentStatus, ProviderCode};
use lading_core::fulfillment::providers::{
    AnyProvider, CancelOutcome, Gooten, Provider, ProviderError, Recipient, Submission,
    SubmissionItem,
};
use lading_core::fulfillment::{poll, webhooks};
use lading_core::ports::{ProviderBases, Settings};
use lading_core::sql::stores::{ProviderAccount, ProviderSettings};
use serde_json::{Value, json};
use sha2::Sha256;
use std::sync::{Arc, Mutex};

type Received = Arc<Mutex<Vec<(String, String, Value, Option<String>)>>>;

/// A webhook receiver: (provider path, query, body, x-prodigi-signature).
async fn receiver() -> (String, Received) {
    let got: Received = Arc::default();
    let g = got.clone();
    let app = Router::new().route(
        "/hooks/{provider}",
        post(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let g = g.clone();
            async move {
                let sig = headers
                    .get("x-prodigi-signature")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                g.lock().unwrap().push((
                    uri.path().to_owned(),
                    uri.query().unwrap_or("").to_owned(),
                    serde_json::from_slice(&body).unwrap_or(Value::Null),
                    sig,
                ));
                "ok"
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (url, got)
}

fn platform(base: &str) -> CorePlatform {
    CorePlatform::new(Settings {
        provider_bases: ProviderBases {
            printful: format!("{base}/printful"),
            prodigi: format!("{base}/prodigi/v4.0"),
            gooten: format!("{base}/gooten"),
            gelato: format!("{base}/gelato"),
        },
        ..Settings::default()
    })
}

fn accounts() -> ProviderSettings {
    let a = |key: &str, id: Option<&str>| {
        Some(ProviderAccount {
            api_key: Some(key.into()),
            account_id: id.map(Into::into),
            ..Default::default()
        })
    };
    ProviderSettings {
        printful: a("pf-token", Some("77")),
        prodigi: a("pd-key", None),
        gooten: a("gt-billing", Some("recipe-1")),
        gelato: Some(ProviderAccount {
            mode: Some("api".into()),
            ..a("gl-key", None).unwrap()
        }),
    }
}

fn submission(reference: &str) -> Submission {
    Submission {
        reference: reference.into(),
        order_number: "SIM-2026-00000001".into(),
        currency: "USD".into(),
        recipient: Recipient {
            name: "Ada Lovelace".into(),
            line1: "2 Quay Street".into(),
            city: "Bristol".into(),
            postal_code: "BS1 4DJ".into(),
            country: "GB".into(),
            email: Some("ada@example.com".into()),
            ..Recipient::default()
        },
        items: vec![
            SubmissionItem {
                line_id: "fol_a".into(),
                sku: "A".into(),
                external_variant_id: Some("4012".into()),
                title: "Print A".into(),
                quantity: 1,
                unit_price: 3000,
                files: vec![("front".into(), "https://files.test/a.png".into())],
            },
            SubmissionItem {
                line_id: "fol_b".into(),
                sku: "B".into(),
                external_variant_id: Some("4013".into()),
                title: "Print B".into(),
                quantity: 2,
                unit_price: 2000,
                files: vec![],
            },
        ],
    }
}

async fn orders(base: &str, provider: &str) -> Vec<Value> {
    reqwest::get(format!("{base}/__control/providers/{provider}/orders"))
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["data"]
        .as_array()
        .unwrap()
        .clone()
}

async fn advance(base: &str, provider: &str, id: &str, to: &str) -> Value {
    reqwest::Client::new()
        .post(format!(
            "{base}/__control/providers/{provider}/orders/{id}/advance"
        ))
        .json(&json!({ "to": to }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn wait_for(got: &Received, n: usize) -> Vec<(String, String, Value, Option<String>)> {
    for _ in 0..100 {
        if got.lock().unwrap().len() >= n {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    got.lock().unwrap().clone()
}

#[tokio::test]
async fn each_provider_makes_one_order_per_reference_and_reports_back_its_own_way() {
    let (hooks, got) = receiver().await;
    let sim = common::start(&[
        "--provider-webhook-base",
        &hooks,
        "--provider-webhook-secret",
        "hook-secret",
    ]);
    let p = platform(&sim.base);
    let accts = accounts();
    for code in [
        ProviderCode::Printful,
        ProviderCode::Prodigi,
        ProviderCode::Gooten,
    ] {
        let provider = AnyProvider::for_store(&p, code, &accts).unwrap();
        let first = provider
            .submit(&p, &submission("fo_same"))
            .await
            .unwrap_or_else(|e| panic!("{code:?}: {e}"));
        // Sent again (a retry after a lost answer): the same order, never a second one.
        let again = match provider.submit(&p, &submission("fo_same")).await {
            Ok(a) => a,
            Err(e) => panic!("{code:?} resubmission: {e}"),
        };
        assert_eq!(first.external_id, again.external_id, "{code:?}");
        assert_eq!(orders(&sim.base, code.as_str()).await.len(), 1, "{code:?}");
    }
    // Printful: found by our reference; the cost comes back in minor units.
    let printful = AnyProvider::for_store(&p, ProviderCode::Printful, &accts).unwrap();
    let found = printful.lookup(&p, "fo_same").await.unwrap().unwrap();
    assert_eq!(found.cost, Some(2850));
    assert_eq!(printful.lookup(&p, "fo_other").await.unwrap(), None);
    // A refusal carries the provider's words.
    let mut bad = submission("fo_bad");
    bad.recipient.postal_code.clear();
    let prodigi = AnyProvider::for_store(&p, ProviderCode::Prodigi, &accts).unwrap();
    match prodigi.submit(&p, &bad).await {
        Err(ProviderError::Rejected(m)) => assert!(m.contains("postalOrZipCode"), "{m}"),
        other => panic!("{other:?}"),
    }
    // Gelato (API mode) takes orders too; without an account a provider is not configured.
    let gelato = AnyProvider::for_store(&p, ProviderCode::Gelato, &accts).unwrap();
    assert!(
        gelato
            .submit(&p, &submission("fo_gl"))
            .await
            .unwrap()
            .external_id
            .is_some()
    );
    assert!(matches!(
        AnyProvider::for_store(&p, ProviderCode::Printful, &ProviderSettings::default()),
        Err(ProviderError::NotConfigured(_))
    ));

    // Advancing sends each provider's webhook, which the core's parsers understand.
    let pf_id = orders(&sim.base, "printful").await[0]["id"].to_string();
    advance(&sim.base, "printful", &pf_id, "partially_shipped").await;
    let pd_id = orders(&sim.base, "prodigi").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    advance(&sim.base, "prodigi", &pd_id, "shipped").await;
    let gl_id = orders(&sim.base, "gelato").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    advance(&sim.base, "gelato", &gl_id, "shipped").await;
    let hooks = wait_for(&got, 3).await;
    let by = |p: &str| {
        hooks
            .iter()
            .find(|h| h.0.ends_with(p))
            .unwrap_or_else(|| panic!("no {p} webhook"))
            .clone()
    };
    let (_, query, body, _) = by("/printful");
    assert_eq!(query, "secret=hook-secret");
    let u = webhooks::printful(&body).unwrap();
    assert_eq!(u.reference.as_deref(), Some("fo_same"));
    assert_eq!(u.shipments.len(), 1);
    assert_eq!(
        u.shipments[0].lines,
        vec![("fol_a".to_owned(), 1)],
        "a partial parcel carries the first item only"
    );
    let (_, _, body, sig) = by("/prodigi");
    let mut m = Hmac::<Sha256>::new_from_slice(b"hook-secret").unwrap();
    m.update(&serde_json::to_vec(&body).unwrap());
    assert_eq!(sig.unwrap(), hex::encode(m.finalize().into_bytes()));
    let u = webhooks::prodigi(&body).unwrap();
    assert_eq!(
        (u.reference.as_deref(), u.shipments.len()),
        (Some("fo_same"), 1)
    );
    assert_eq!(u.shipments[0].lines.len(), 2);
    let (_, query, body, _) = by("/gelato");
    assert_eq!(query, "secret=hook-secret");
    let u = webhooks::gelato(&body).unwrap();
    assert_eq!(
        (u.reference.as_deref(), u.shipments.len()),
        (Some("fo_gl"), 1)
    );

    // Gooten is polled: its order reads back with per-item statuses.
    let gt_id = orders(&sim.base, "gooten").await[0]["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    advance(&sim.base, "gooten", &gt_id, "shipped").await;
    let gooten = Gooten::new(
        &format!("{}/gooten", sim.base),
        accts.gooten.clone().unwrap(),
    );
    let order = gooten.order(&p, &gt_id).await.unwrap();
    let u = poll::update(&order).unwrap();
    assert_eq!(u.shipments.len(), 1);
    assert_eq!(u.shipments[0].carrier.as_deref(), Some("UPS"));
    assert_eq!(u.status, None, "parcels decide the shipped state");
    advance(&sim.base, "gooten", &gt_id, "in_production").await;
    let u = poll::update(&gooten.order(&p, &gt_id).await.unwrap()).unwrap();
    assert_eq!(u.status, Some(FulfillmentStatus::InProduction));

    // Cancelling: each provider says no once production started, yes before.
    for code in [
        ProviderCode::Printful,
        ProviderCode::Prodigi,
        ProviderCode::Gooten,
        ProviderCode::Gelato,
    ] {
        let provider = AnyProvider::for_store(&p, code, &accts).unwrap();
        let fresh = provider
            .submit(&p, &submission(&format!("fo_cancel_{}", code.as_str())))
            .await
            .unwrap();
        let ext = fresh.external_id.unwrap();
        assert_eq!(
            provider.cancel(&p, &ext).await.unwrap(),
            CancelOutcome::Cancelled,
            "{code:?}"
        );
    }
    for (code, id) in [
        (ProviderCode::Prodigi, pd_id.as_str()),
        (ProviderCode::Gooten, gt_id.as_str()),
        (ProviderCode::Gelato, gl_id.as_str()),
    ] {
        let provider = AnyProvider::for_store(&p, code, &accts).unwrap();
        assert!(
            matches!(
                provider.cancel(&p, id).await.unwrap(),
                CancelOutcome::Refused(_)
            ),
            "{code:?}"
        );
    }
    let printful = AnyProvider::for_store(&p, ProviderCode::Printful, &accts).unwrap();
    assert!(
        matches!(printful.cancel(&p, &pf_id).await.unwrap(), CancelOutcome::Refused(m) if m.contains("in process"))
    );
}
