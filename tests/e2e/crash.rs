//! A crash loses nothing: during a storm of payments, provider webhooks and refunds the
//! whole Workers runtime is killed (SIGKILL, no graceful shutdown) and started again on
//! the same local state; then the crons and the queue run until every promise is kept.
//! Runs on a stack of its own, after the others (so the recovery it times is its own).

use crate::fulfillment::{catalog, fos, fos_become, provider_orders};
use crate::support::*;
use crate::tests::{Test, tests};
use futures::FutureExt;
use futures::future::join_all;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

tests!(a_crash_in_a_storm_loses_nothing);

/// One checkout waiting to be paid in the storm.
struct Pending {
    order: String,
    session: String,
}

async fn checkout_as(c: &Ctx<'_>, s: &Store, variants: &[&str], email: &str) -> Pending {
    let cart = c.guest_cart(s).await;
    for v in variants {
        c.add(s, &cart, v, 1).await;
    }
    let r = c
        .shop(s, "POST", "/v1/checkout/sessions")
        .header("x-cart-token", &cart)
        .json(&json!({ "email": email }))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    Pending {
        order: r.body["order"]["id"].as_str().unwrap().to_owned(),
        session: r.body["session_id"].as_str().unwrap().to_owned(),
    }
}

/// What each scheduled job changed, from the scheduler's `cron` log lines after `mark`.
fn jobs_since(c: &Ctx<'_>, mark: usize) -> BTreeMap<String, u64> {
    let mut changed = BTreeMap::new();
    for line in c.stack.wrangler_log().lines().skip(mark) {
        let Some(v) = line
            .find('{')
            .and_then(|i| serde_json::from_str::<Value>(&line[i..]).ok())
        else {
            continue;
        };
        if v["msg"] != "cron" {
            continue;
        }
        for job in v["jobs"].as_array().cloned().unwrap_or_default() {
            assert!(job["error"].is_null(), "{job}");
            *changed
                .entry(job["job"].as_str().unwrap_or("?").to_owned())
                .or_default() += job["changed"].as_u64().unwrap_or(0);
        }
    }
    changed
}

fn rows(c: &Ctx<'_>, sql: &str, store: &str) -> Vec<Vec<String>> {
    let d1 = c.stack.d1();
    let mut st = d1.prepare(sql).unwrap();
    let n = st.column_count();
    st.query_map([store], |r| {
        (0..n)
            .map(|i| {
                r.get::<_, rusqlite::types::Value>(i).map(|v| match v {
                    rusqlite::types::Value::Text(t) => t,
                    rusqlite::types::Value::Integer(i) => i.to_string(),
                    other => format!("{other:?}"),
                })
            })
            .collect::<Result<Vec<_>, _>>()
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// What is still owed: each broken promise, named. Empty when every one is kept.
async fn broken_promises(
    c: &Ctx<'_>,
    s: &Store,
    paid_sessions: &[(String, String)],
) -> Vec<String> {
    let mut broken = Vec::new();
    // Every payment Stripe took has exactly one paid order, with one capture.
    for (session, intent) in paid_sessions {
        let orders = c.count("SELECT COUNT(*) FROM orders WHERE stripe_payment_intent_id = ?1 AND financial_status <> 'unpaid'", intent);
        let captures = c.count(
            "SELECT COUNT(*) FROM payments WHERE kind = 'capture' AND stripe_id = ?1",
            intent,
        );
        if (orders, captures) != (1, 1) {
            broken.push(format!(
                "payment {intent} (session {session}): {orders} paid orders, {captures} captures"
            ));
        }
    }
    // Every paid order's fulfillment orders reached their provider exactly once.
    for fo in rows(
        c,
        "SELECT f.id, f.provider, f.status FROM fulfillment_orders f JOIN orders o ON o.id = f.order_id \
         WHERE o.store_id = ?1 AND o.financial_status <> 'unpaid' AND f.status <> 'cancelled'",
        &s.id,
    ) {
        let at_provider = provider_orders(c, &fo[1], &fo[0]).await.len();
        if at_provider != 1 || ["pending", "submitting"].contains(&fo[2].as_str()) {
            broken.push(format!(
                "{} at {}: {} there, {} here",
                fo[0], fo[1], at_provider, fo[2]
            ));
        }
    }
    // Every refund reserved was sent once (Stripe made one refund for it) and settled.
    let refunds = c
        .client
        .get(&c.sim("/v1/events?type=refund.created&limit=100"))
        .bearer("sk_test_crash")
        .send()
        .await;
    let mut at_stripe: BTreeMap<String, usize> = BTreeMap::new();
    for e in refunds.body["data"].as_array().cloned().unwrap_or_default() {
        if let Some(id) = e["data"]["object"]["metadata"]["refund_id"].as_str() {
            *at_stripe.entry(id.to_owned()).or_default() += 1;
        }
    }
    for r in rows(
        c,
        "SELECT p.id, p.status FROM payments p JOIN orders o ON o.id = p.order_id WHERE o.store_id = ?1 AND p.kind = 'refund'",
        &s.id,
    ) {
        let n = at_stripe.get(&r[0]).copied().unwrap_or(0);
        if n != 1 || r[1] != "succeeded" {
            broken.push(format!("refund {}: {} at Stripe, {} here", r[0], n, r[1]));
        }
    }
    // Every email kind went once.
    for n in rows(
        c,
        "SELECT n.id, n.kind, n.recipient, n.status FROM notifications n JOIN orders o ON o.id = n.order_id WHERE o.store_id = ?1",
        &s.id,
    ) {
        let r = c
            .client
            .get(&c.sim(&format!("/__control/emails?to={}", n[2])))
            .send()
            .await;
        let sent = r.body["data"].as_array().map_or(0, |m| {
            m.iter().filter(|m| m["tags"][0] == n[1].as_str()).count()
        });
        if sent != 1 || n[3] != "sent" {
            broken.push(format!(
                "email {}: sent {} times, {} here",
                n[0], sent, n[3]
            ));
        }
    }
    // No claim stays stuck, nothing waits in the outbox.
    let stuck = c.count(
        "SELECT (SELECT COUNT(*) FROM fulfillment_orders WHERE store_id = ?1 AND status = 'submitting') \
              + (SELECT COUNT(*) FROM notifications WHERE store_id = ?1 AND status = 'sending') \
              + (SELECT COUNT(*) FROM outbox WHERE store_id = ?1 AND sent_at IS NULL)",
        &s.id,
    );
    if stuck != 0 {
        broken.push(format!("{stuck} claims or outbox rows stuck"));
    }
    broken
}

async fn a_crash_in_a_storm_loses_nothing(c: &Ctx<'_>) {
    let s = c.store().await;
    let v = catalog(c, &s, "crash").await;
    // Orders paid before the storm (Printful and a download), to refund and ship in it.
    let mut earlier = Vec::new();
    for i in 0..3 {
        let p = checkout_as(c, &s, &[&v[0], &v[3]], &format!("early{i}@crash.test")).await;
        c.pay(&p.session, json!({ "name": "Ada Lovelace" })).await;
        c.order_paid(&p.order).await;
        fos_become(c, &p.order, &["submitted"]).await;
        earlier.push(p.order);
    }
    // Checkouts to be paid in the storm, across the providers.
    let mut waiting = Vec::new();
    for i in 0..9 {
        let physical = &v[i % 3];
        waiting.push(checkout_as(c, &s, &[physical, &v[3]], &format!("storm{i}@crash.test")).await);
    }

    // The storm: payments at Stripe, parcels shipped at Printful, refunds by operators —
    // all at once, and the runtime dies in the middle of it.
    let storm_mark = c.stripe_delivery_mark().await;
    let started = Instant::now();
    let pays = join_all(waiting.iter().map(|p| {
        c.client
            .post(&c.sim(&format!(
                "/__control/stripe/checkout_sessions/{}/pay",
                p.session
            )))
            .json(&json!({ "name": "Grace Hopper" }))
            .try_send()
    }));
    let ships = join_all(earlier.iter().map(|o| {
        let ext = fos(c, o)[0].3.clone().unwrap_or_default();
        c.client
            .post(&c.sim(&format!(
                "/__control/providers/printful/orders/{ext}/advance"
            )))
            .json(&json!({ "to": "shipped" }))
            .try_send()
    }));
    let refunds = join_all(earlier.iter().map(|o| {
        c.client
            .post(&c.adm(&format!("/admin/api/v1/orders/{o}/refunds")))
            .bearer(&s.admin_key)
            .json(&json!({ "amount": 900, "reason": "requested_by_customer" }))
            .try_send()
    }));
    // The runtime dies mid-storm: once it has answered the first payment's webhook (so
    // some of the storm landed and the rest is in flight), not after a guessed delay.
    let crash = async {
        c.stripe_webhooks_answered(storm_mark, &["checkout.session.completed"], 1)
            .await;
        c.stack.kill_runtime();
    };
    let (paid, _, refunded, ()) = tokio::join!(pays, ships, refunds, crash);
    let answered_refunds = refunded.iter().filter(|r| r.is_some()).count();
    let paid_sessions: Vec<(String, String)> = paid
        .iter()
        .zip(&waiting)
        .map(|(r, p)| {
            let r = r.as_ref().expect("the simulator (Stripe) stays up");
            assert_eq!(r.status, 200, "{}", r.text);
            (
                p.session.clone(),
                r.body["payment_intent"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let killed_after = started.elapsed();
    let before_restart = broken_promises(c, &s, &paid_sessions).await.len();

    // Back up on the same state.
    let restart = c.stack.restart_runtime();
    let recovering = Instant::now();
    // Time passes: what was in flight is now overdue (the sweeps leave fresh work to the
    // requests and messages that carry it).
    // Timestamps only: the states stay as the crash left them.
    let d1 = c.stack.d1();
    for sql in [
        "UPDATE outbox SET created_at = created_at - 900000, sent_at = sent_at - 900000 WHERE store_id = ?1",
        "UPDATE notifications SET created_at = created_at - 900000, lease_until = lease_until - 900000 WHERE store_id = ?1",
        "UPDATE payments SET created_at = created_at - 900000 WHERE store_id = ?1",
        "UPDATE fulfillment_orders SET updated_at = updated_at - 900000, lease_until = lease_until - 900000 WHERE store_id = ?1",
    ] {
        d1.execute(sql, [&s.id]).unwrap();
    }
    drop(d1);
    let mark = c.stack.wrangler_log().lines().count();
    let mut runs = 0;
    let mut broken = Vec::new();
    while recovering.elapsed() < Duration::from_secs(120) {
        runs += 1;
        c.cron("*/5 * * * *").await;
        broken = broken_promises(c, &s, &paid_sessions).await;
        if broken.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }
    let recovered_in = recovering.elapsed();
    let fixed = jobs_since(c, mark);
    eprintln!(
        "    crash: killed {:.1}s into the storm ({} of 3 refund requests answered); {} promises open at the crash; \
         runtime back in {:.1}s; all kept {:.1}s later after {runs} run(s) of the 5-minute cron; what the jobs did: {fixed:?}",
        killed_after.as_secs_f64(),
        answered_refunds,
        before_restart,
        restart.as_secs_f64(),
        recovered_in.as_secs_f64()
    );
    assert!(broken.is_empty(), "after {runs} cron runs: {broken:#?}");
    assert!(
        before_restart > 0,
        "the crash left work open (else it proved nothing)"
    );
}
