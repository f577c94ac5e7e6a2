//! Selling to companies on the local stack: price entries mirrored to the simulator's
//! Stripe Prices through the real queue (a new amount is a new Price carrying the lookup
//! key, the old one archived; a sync asked for twice makes one Price per amount), strict
//! send-checkout (an unsynced line refused with nothing written; then a Checkout Session
//! of Price ids, paid through the simulator, the paid order keeping its provenance), and a
//! billing contact's spending limit kept under ten concurrent sends on local D1.

use crate::support::*;
use crate::tests::{Test, tests};
use futures::FutureExt;
use futures::future::join_all;
use lading_e2e::client::Reply;
use serde_json::{Value, json};

tests!(
    price_entries_become_stripe_prices_and_a_new_amount_archives_the_old_one,
    a_company_draft_goes_to_checkout_with_price_ids_only_once_every_line_is_synced,
    ten_concurrent_sends_by_one_billing_contact_never_pass_the_spending_limit,
);

async fn post(c: &Ctx<'_>, s: &Store, path: &str, body: Value) -> Reply {
    c.admin(s, "POST", path).json(&body).send().await
}

async fn created(c: &Ctx<'_>, s: &Store, path: &str, body: Value) -> Value {
    let r = post(c, s, path, body).await;
    assert_eq!(r.status, 201, "{path}: {}", r.text);
    r.body
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// The simulator's Prices carrying this entry's lookup key now, and every Price made for
/// the entry (by its metadata).
async fn stripe_prices(c: &Ctx<'_>, entry: &str) -> Vec<Value> {
    let all = c
        .client
        .get(&c.sim("/__control/stripe/prices"))
        .send()
        .await
        .body;
    all["prices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["metadata"]["price_entry_id"] == entry)
        .cloned()
        .collect()
}

/// Waits for an entry's Price at `amount`: up to 60 s, as a Stripe 5xx is retried by the
/// queue 30 s later.
async fn entry_synced_at(
    c: &Ctx<'_>,
    s: &Store,
    book_path: &str,
    entry: &str,
    amount: i64,
) -> Value {
    let mut last = Value::Null;
    for _ in 0..600 {
        let d = c.admin(s, "GET", book_path).send().await.body;
        last = d["entries"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["id"] == entry)
            .cloned()
            .unwrap_or(Value::Null);
        if last["sync_status"] == "synced" && last["synced_amount"] == amount {
            return last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("entry {entry} not synced at {amount}: {last}");
}

async fn price_entries_become_stripe_prices_and_a_new_amount_archives_the_old_one(c: &Ctx<'_>) {
    let s = c.store().await;
    let (_, v) = c.product(&s, "b2b-sensor", 4000).await;
    let book = id(&created(
        c,
        &s,
        "/admin/api/v1/price-books",
        json!({ "name": "List", "scope": "global", "active": true }),
    )
    .await);
    let book_path = format!("/admin/api/v1/price-books/{book}");
    let entry = id(&created(
        c,
        &s,
        &format!("{book_path}/entries"),
        json!({ "variant_id": v[0], "unit_amount": 3500 }),
    )
    .await);
    let first = entry_synced_at(c, &s, &book_path, &entry, 3500).await;

    // Asked for twice at once: still one Price for this amount.
    let sync = format!("/admin/api/v1/price-entries/{entry}/sync");
    let (a, b) = futures::join!(post(c, &s, &sync, json!({})), post(c, &s, &sync, json!({})));
    assert_eq!((a.status, b.status), (200, 200), "{} {}", a.text, b.text);
    c.queue_drained(&entry).await;
    let prices = stripe_prices(c, &entry).await;
    assert_eq!(prices.len(), 1, "{prices:?}");
    assert_eq!(prices[0]["id"], first["stripe_price_id"]);
    assert_eq!(prices[0]["lookup_key"], format!("lading_{entry}"));

    // A new amount: a new Price takes the lookup key, the old one is archived.
    let r = c
        .admin(&s, "PATCH", &format!("/admin/api/v1/price-entries/{entry}"))
        .json(&json!({ "unit_amount": 3200 }))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["sync_status"], "pending");
    let second = entry_synced_at(c, &s, &book_path, &entry, 3200).await;
    assert_ne!(second["stripe_price_id"], first["stripe_price_id"]);
    let mut prices = Vec::new();
    assert!(
        eventually(async || {
            prices = stripe_prices(c, &entry).await;
            prices.len() == 2 && prices[0]["active"] == false
        })
        .await,
        "{prices:?}"
    );
    assert_eq!(
        (
            prices[0]["unit_amount"].as_i64(),
            prices[0]["lookup_key"].clone()
        ),
        (Some(3500), Value::Null)
    );
    assert_eq!(
        (
            prices[1]["unit_amount"].as_i64(),
            prices[1]["active"].clone()
        ),
        (Some(3200), json!(true))
    );
    assert_eq!(prices[1]["lookup_key"], format!("lading_{entry}"));
}

/// A company whose primary billing contact is Ada, with a default shipping and billing
/// address in Texas.
async fn company(c: &Ctx<'_>, s: &Store, name: &str, limit: Option<Value>) -> (String, String) {
    let co = id(&created(c, s, "/admin/api/v1/companies", json!({ "name": name })).await);
    let mut contact = json!({ "first_name": "Ada", "last_name": "Lovelace", "email": format!("ada@{}.test", name.to_lowercase()),
        "roles": ["billing"], "primary_roles": ["billing"] });
    if let Some(l) = limit {
        contact["spending_limit"] = l;
    }
    let ada = id(&created(
        c,
        s,
        &format!("/admin/api/v1/companies/{co}/contacts"),
        contact,
    )
    .await);
    created(c, s, &format!("/admin/api/v1/companies/{co}/addresses"), json!({
        "name": "Receiving", "line1": "1 Dock Rd", "city": "Austin", "region": "TX", "postal_code": "73301", "country": "US",
        "default_for": ["shipping", "billing"] })).await;
    (co, ada)
}

async fn a_company_draft_goes_to_checkout_with_price_ids_only_once_every_line_is_synced(
    c: &Ctx<'_>,
) {
    let s = c.store().await;
    let (_, v) = c.product(&s, "b2b-gateway", 9000).await;
    let (co, ada) = company(c, &s, "Initech", None).await;
    let agreement = id(&created(
        c,
        &s,
        "/admin/api/v1/price-agreements",
        json!({ "company_id": co, "name": "Initech 2027", "status": "active" }),
    )
    .await);
    let agreement_path = format!("/admin/api/v1/price-agreements/{agreement}");
    // The sync waits until the entry is there: Stripe is made to fail its first try.
    let r = c
        .client
        .post(&c.sim("/__control/stripe/faults"))
        .json(&json!({ "prices_5xx": 1 }))
        .send()
        .await;
    assert_eq!(r.status, 200);
    let entry = id(&created(
        c,
        &s,
        &format!("{agreement_path}/entries"),
        json!({ "variant_id": v[0], "min_quantity": 2, "unit_amount": 7000 }),
    )
    .await);
    let d = created(
        c,
        &s,
        "/admin/api/v1/orders",
        json!({ "company_id": co, "lines": [{ "variant_id": v[0], "quantity": 4 }] }),
    )
    .await;
    let order_id = id(&d);
    assert_eq!(
        d["lines"][0]["resolution"]["label"],
        "Initech 2027, 2+ tier"
    );

    // Until the entry's Price exists at its amount, sending is refused and writes nothing.
    let draft_left = c
        .stack
        .d1()
        .query_row(
            "SELECT sync_status FROM price_entries WHERE id = ?1",
            [&entry],
            |r| r.get::<_, String>(0),
        )
        .unwrap();
    // Stripe answered 500 and the queue retries in 30 s: pending until then.
    assert_eq!(draft_left, "pending");
    {
        let before = c.rows();
        let r = post(
            c,
            &s,
            &format!("/admin/api/v1/orders/{order_id}/send-checkout"),
            json!({}),
        )
        .await;
        assert_problem(&r, 409, "checkout_refused");
        assert_eq!(r.body["conflicts"][0]["id"], d["lines"][0]["id"]);
        assert_eq!(c.rows(), before);
    }
    // The 5xx is retried by the queue; the retry finds nothing made and makes the Price.
    let synced = entry_synced_at(c, &s, &agreement_path, &entry, 7000).await;
    let price_id = synced["stripe_price_id"].as_str().unwrap().to_owned();

    let r = post(
        c,
        &s,
        &format!("/admin/api/v1/orders/{order_id}/send-checkout"),
        json!({}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let session = r.body["session_id"].as_str().unwrap().to_owned();
    assert_eq!(r.body["billing_contact_email"], "ada@initech.test");
    let lines = c
        .client
        .get(&c.sim(&format!("/v1/checkout/sessions/{session}/line_items")))
        .header("authorization", "Bearer sk_test_lading")
        .send()
        .await;
    assert_eq!(
        lines.body["data"][0]["price"]["id"],
        price_id.as_str(),
        "{}",
        lines.text
    );
    assert_eq!(lines.body["data"][0]["quantity"], 4);

    c.pay(&session, json!({ "email": "ada@initech.test" }))
        .await;
    let paid = c.order_paid(&order_id).await;
    assert_eq!(paid["total"], r.body["total_amount"]);
    // The books change; the paid order's item keeps what it was priced with.
    let r = c
        .admin(&s, "PATCH", &format!("/admin/api/v1/price-entries/{entry}"))
        .json(&json!({ "unit_amount": 6500 }))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let item: String = c
        .stack
        .d1()
        .query_row(
            "SELECT id FROM order_items WHERE order_id = ?1",
            [&order_id],
            |r| r.get(0),
        )
        .unwrap();
    let res = c
        .admin(
            &s,
            "GET",
            &format!("/admin/api/v1/pricing/resolutions/{item}"),
        )
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["resolution"]["source"], "price_agreement");
    assert_eq!(
        res.body["resolution"]["price_agreement_id"],
        agreement.as_str()
    );
    assert_eq!(res.body["resolution"]["unit_amount"], 7000);
    assert_eq!(res.body["resolution"]["stripe_price_id"], price_id.as_str());
    let company_of: (String, String) = c
        .stack
        .d1()
        .query_row(
            "SELECT company_id, billing_contact_id FROM orders WHERE id = ?1",
            [&order_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(company_of, (co, ada));
}

async fn ten_concurrent_sends_by_one_billing_contact_never_pass_the_spending_limit(c: &Ctx<'_>) {
    let s = c.store().await;
    let (_, v) = c.product(&s, "b2b-probe", 1000).await;
    let book = id(&created(
        c,
        &s,
        "/admin/api/v1/price-books",
        json!({ "name": "List", "scope": "global", "active": true }),
    )
    .await);
    let book_path = format!("/admin/api/v1/price-books/{book}");
    let entry = id(&created(
        c,
        &s,
        &format!("{book_path}/entries"),
        json!({ "variant_id": v[1], "unit_amount": 1000 }),
    )
    .await);
    entry_synced_at(c, &s, &book_path, &entry, 1000).await;
    // Each order is one digital item at 1000 (nothing ships): the limit allows three.
    let (co, ada) = company(
        c,
        &s,
        "Hooli",
        Some(json!({ "amount": 3500, "period": "monthly" })),
    )
    .await;
    let mut drafts = Vec::new();
    for _ in 0..10 {
        drafts.push(id(&created(
            c,
            &s,
            "/admin/api/v1/orders",
            json!({ "company_id": co, "lines": [{ "variant_id": v[1], "quantity": 1 }] }),
        )
        .await));
    }
    let paths: Vec<String> = drafts
        .iter()
        .map(|d| format!("/admin/api/v1/orders/{d}/send-checkout"))
        .collect();
    let sends = paths.iter().map(|path| post(c, &s, path, json!({})));
    let answers = join_all(sends).await;
    let accepted = answers.iter().filter(|r| r.status == 200).count();
    for r in answers.iter().filter(|r| r.status != 200) {
        assert_problem(r, 409, "spending_limit_exceeded");
    }
    assert_eq!(
        accepted,
        3,
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let placed = c.count(
        "SELECT COUNT(*) FROM orders WHERE billing_contact_id = ?1 AND status = 'pending'",
        &ada,
    );
    assert_eq!(placed, 3);
    let total = c.count(
        "SELECT COALESCE(SUM(total_amount), 0) FROM orders WHERE billing_contact_id = ?1",
        &ada,
    );
    assert!(total <= 3500, "{total}");
    assert_eq!(
        c.count(
            "SELECT COUNT(*) FROM draft_orders WHERE company_id = ?1",
            &co
        ),
        7
    );
}
