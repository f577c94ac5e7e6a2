//! Prices for companies on real SQLite: the resolver's table (precedence, tiers, validity
//! windows at their edges, inactive books, draft and expired agreements, another
//! currency), ambiguous configurations refused when saved, quotes with labels and strict
//! readiness, and the Stripe price sync (new amount → new Price with the lookup key and
//! the old one archived; 5xx → pending then retried; refusal → failed with Stripe's words).

mod support;

use lading_api::http::{Method, Response};
use lading_core::domain::{Country, PriceSource};
use lading_core::pricing::{PricingContext, resolve};
use lading_core::queue::{Outcome, process};
use lading_core::time_fmt::rfc3339;
use serde_json::{Value, json};
use support::*;

fn post(p: &TestPlatform, s: &Store, path: &str, body: Value) -> Response {
    admin(p, s, Method::Post, path, Some(body))
}

fn patch(p: &TestPlatform, s: &Store, path: &str, body: Value) -> Response {
    admin(p, s, Method::Patch, path, Some(body))
}

fn problem_type(r: &Response) -> String {
    r.body_json()["type"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned()
}

const DAY: i64 = 86_400_000;

/// A store with two variants, two companies, a global book (1000; 900 from 10), a
/// regional book for US and CA (950), and ACME's active agreement (800 from 5) valid
/// from `t1` to `t2`.
struct World {
    p: TestPlatform,
    s: Store,
    v1: String,
    v2: String,
    acme: String,
    globex: String,
    global: String,
    regional: String,
    agreement: String,
    t1: i64,
    t2: i64,
}

fn world() -> World {
    let p = TestPlatform::new();
    let s = create_store(&p, "PR");
    let (_, v) = product(&p, &s, "sensor", 1500);
    let (v1, v2) = (v[0].clone(), v[1].clone());
    let acme = id(&ok(
        post(&p, &s, "/admin/api/v1/companies", json!({ "name": "ACME" })),
        201,
    ));
    let globex = id(&ok(
        post(
            &p,
            &s,
            "/admin/api/v1/companies",
            json!({ "name": "Globex" }),
        ),
        201,
    ));
    let now = p.now.get();
    let global = id(&ok(
        post(
            &p,
            &s,
            "/admin/api/v1/price-books",
            json!({ "name": "List prices", "scope": "global", "active": true, "valid_from": rfc3339(now - 30 * DAY) }),
        ),
        201,
    ));
    for (min, amount) in [(1, 1000), (10, 900)] {
        ok(
            post(
                &p,
                &s,
                &format!("/admin/api/v1/price-books/{global}/entries"),
                json!({ "variant_id": v1, "min_quantity": min, "unit_amount": amount }),
            ),
            201,
        );
    }
    let regional = id(&ok(
        post(
            &p,
            &s,
            "/admin/api/v1/price-books",
            json!({ "name": "North America", "scope": "regional", "countries": ["us", "CA"], "active": true }),
        ),
        201,
    ));
    ok(
        post(
            &p,
            &s,
            &format!("/admin/api/v1/price-books/{regional}/entries"),
            json!({ "variant_id": v1, "unit_amount": 950 }),
        ),
        201,
    );
    let (t1, t2) = (now + DAY, now + 366 * DAY);
    let agreement = id(&ok(
        post(
            &p,
            &s,
            "/admin/api/v1/price-agreements",
            json!({ "company_id": acme, "name": "ACME 2027 agreement", "status": "active",
            "valid_from": rfc3339(t1), "valid_to": rfc3339(t2) }),
        ),
        201,
    ));
    ok(
        post(
            &p,
            &s,
            &format!("/admin/api/v1/price-agreements/{agreement}/entries"),
            json!({ "variant_id": v1, "min_quantity": 5, "unit_amount": 800 }),
        ),
        201,
    );
    World {
        p,
        s,
        v1,
        v2,
        acme,
        globex,
        global,
        regional,
        agreement,
        t1,
        t2,
    }
}

impl World {
    /// (source, amount, tier minimum) of one line, or None.
    fn resolve(
        &self,
        company: Option<&str>,
        country: Option<&str>,
        currency: &str,
        variant: &str,
        qty: u32,
        at: i64,
    ) -> Option<(PriceSource, i64, u32)> {
        let country = country.map(|c| Country::parse(c).unwrap());
        let cx = PricingContext {
            store_id: &self.s.id,
            company_id: company,
            ship_to: country.as_ref(),
            currency,
            at_ms: at,
        };
        let got = run(resolve(&self.p, &cx, &[(variant, qty)])).unwrap();
        got[0]
            .as_ref()
            .map(|r| (r.source, r.unit_amount, r.min_quantity))
    }
}

#[test]
fn the_resolver_follows_precedence_tiers_and_windows() {
    use PriceSource::*;
    let w = world();
    let (acme, globex, v1, v2) = (
        w.acme.as_str(),
        w.globex.as_str(),
        w.v1.as_str(),
        w.v2.as_str(),
    );
    let in_window = w.t1 + DAY;
    let cases: Vec<(
        &str,
        Option<&str>,
        Option<&str>,
        &str,
        &str,
        u32,
        i64,
        Option<(PriceSource, i64, u32)>,
    )> = vec![
        (
            "global book, tier 1",
            None,
            None,
            "USD",
            v1,
            1,
            in_window,
            Some((PricebookGlobal, 1000, 1)),
        ),
        (
            "global book, just below the 10 tier",
            None,
            Some("DE"),
            "USD",
            v1,
            9,
            in_window,
            Some((PricebookGlobal, 1000, 1)),
        ),
        (
            "global book, at the 10 tier",
            None,
            Some("DE"),
            "USD",
            v1,
            10,
            in_window,
            Some((PricebookGlobal, 900, 10)),
        ),
        (
            "regional beats global",
            None,
            Some("US"),
            "USD",
            v1,
            1,
            in_window,
            Some((PricebookRegional, 950, 1)),
        ),
        (
            "regional beats a global tier",
            None,
            Some("CA"),
            "USD",
            v1,
            10,
            in_window,
            Some((PricebookRegional, 950, 1)),
        ),
        (
            "agreement tier not reached",
            Some(acme),
            Some("US"),
            "USD",
            v1,
            4,
            in_window,
            Some((PricebookRegional, 950, 1)),
        ),
        (
            "agreement beats regional",
            Some(acme),
            Some("US"),
            "USD",
            v1,
            5,
            in_window,
            Some((PriceAgreement, 800, 5)),
        ),
        (
            "agreement without a country",
            Some(acme),
            None,
            "USD",
            v1,
            50,
            in_window,
            Some((PriceAgreement, 800, 5)),
        ),
        (
            "just before the agreement",
            Some(acme),
            Some("US"),
            "USD",
            v1,
            5,
            w.t1 - 1,
            Some((PricebookRegional, 950, 1)),
        ),
        (
            "at the agreement's start",
            Some(acme),
            Some("US"),
            "USD",
            v1,
            5,
            w.t1,
            Some((PriceAgreement, 800, 5)),
        ),
        (
            "just before the agreement's end",
            Some(acme),
            Some("US"),
            "USD",
            v1,
            5,
            w.t2 - 1,
            Some((PriceAgreement, 800, 5)),
        ),
        (
            "at the agreement's end",
            Some(acme),
            Some("US"),
            "USD",
            v1,
            5,
            w.t2,
            Some((PricebookRegional, 950, 1)),
        ),
        (
            "another company's agreement",
            Some(globex),
            Some("US"),
            "USD",
            v1,
            5,
            in_window,
            Some((PricebookRegional, 950, 1)),
        ),
        (
            "another currency",
            Some(acme),
            Some("US"),
            "EUR",
            v1,
            5,
            in_window,
            None,
        ),
        (
            "a variant no book prices",
            None,
            Some("US"),
            "USD",
            v2,
            1,
            in_window,
            None,
        ),
    ];
    let book_start = w.p.now.get() - 30 * DAY;
    let mut all = cases;
    all.push((
        "just before the global book",
        None,
        Some("DE"),
        "USD",
        v1,
        1,
        book_start - 1,
        None,
    ));
    all.push((
        "at the global book's start",
        None,
        Some("DE"),
        "USD",
        v1,
        1,
        book_start,
        Some((PricebookGlobal, 1000, 1)),
    ));
    for (name, company, country, currency, variant, qty, at, expected) in &all {
        assert_eq!(
            &w.resolve(*company, *country, currency, variant, *qty, *at),
            expected,
            "{name}"
        );
    }

    // An inactive regional book prices nothing; an expired agreement neither.
    ok(
        patch(
            &w.p,
            &w.s,
            &format!("/admin/api/v1/price-books/{}", w.regional),
            json!({ "active": false }),
        ),
        200,
    );
    assert_eq!(
        w.resolve(None, Some("US"), "USD", v1, 1, in_window),
        Some((PricebookGlobal, 1000, 1))
    );
    ok(
        patch(
            &w.p,
            &w.s,
            &format!("/admin/api/v1/price-agreements/{}", w.agreement),
            json!({ "status": "expired" }),
        ),
        200,
    );
    assert_eq!(
        w.resolve(Some(acme), Some("US"), "USD", v1, 5, in_window),
        Some((PricebookGlobal, 1000, 1))
    );
    // A draft agreement neither; and an expired one does not come back.
    let draft = id(&ok(
        post(
            &w.p,
            &w.s,
            "/admin/api/v1/price-agreements",
            json!({ "company_id": acme, "name": "Draft" }),
        ),
        201,
    ));
    ok(
        post(
            &w.p,
            &w.s,
            &format!("/admin/api/v1/price-agreements/{draft}/entries"),
            json!({ "variant_id": v1, "unit_amount": 1 }),
        ),
        201,
    );
    assert_eq!(
        w.resolve(Some(acme), None, "USD", v1, 5, in_window),
        Some((PricebookGlobal, 1000, 1))
    );
    let r = patch(
        &w.p,
        &w.s,
        &format!("/admin/api/v1/price-agreements/{}", w.agreement),
        json!({ "status": "active" }),
    );
    assert_eq!(r.status, 409, "{}", text(&r));
    assert_eq!(problem_type(&r), "invalid_transition");
}

#[test]
fn ambiguous_configurations_are_refused_when_saved() {
    let w = world();
    let (p, s) = (&w.p, &w.s);
    let before = p.contents();
    // A second active global book in USD over the same time.
    let r = post(
        p,
        s,
        "/admin/api/v1/price-books",
        json!({ "name": "Other list", "scope": "global", "active": true }),
    );
    assert_eq!(r.status, 409, "{}", text(&r));
    assert_eq!(problem_type(&r), "pricing_ambiguous");
    assert_eq!(r.body_json()["conflicts"][0]["id"], w.global);
    // A regional book that also covers CA.
    let r = post(
        p,
        s,
        "/admin/api/v1/price-books",
        json!({ "name": "Canada+Mexico", "scope": "regional", "countries": ["MX", "CA"], "active": true }),
    );
    assert_eq!(r.status, 409, "{}", text(&r));
    assert_eq!(r.body_json()["conflicts"][0]["id"], w.regional);
    assert!(
        r.body_json()["conflicts"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("CA")
    );
    // A second active agreement of ACME over an overlapping window.
    let r = post(
        p,
        s,
        "/admin/api/v1/price-agreements",
        json!({ "company_id": w.acme, "name": "Overlap", "status": "active",
        "valid_from": rfc3339(w.t2 - DAY) }),
    );
    assert_eq!(r.status, 409, "{}", text(&r));
    assert_eq!(r.body_json()["conflicts"][0]["id"], w.agreement);
    // Two tiers with one minimum.
    let r = post(
        p,
        s,
        &format!("/admin/api/v1/price-books/{}/entries", w.global),
        json!({ "variant_id": w.v1, "min_quantity": 10, "unit_amount": 1 }),
    );
    assert_eq!(r.status, 409, "{}", text(&r));
    assert_eq!(problem_type(&r), "price_tier_exists");
    assert_eq!(p.contents(), before, "refused saves change nothing");

    // What does not overlap is accepted: another currency, another country, a later window.
    ok(
        post(
            p,
            s,
            "/admin/api/v1/price-books",
            json!({ "name": "Euro list", "scope": "global", "currency": "eur", "active": true }),
        ),
        201,
    );
    let mx = id(&ok(
        post(
            p,
            s,
            "/admin/api/v1/price-books",
            json!({ "name": "Mexico", "scope": "regional", "countries": ["MX"], "active": true }),
        ),
        201,
    ));
    ok(
        post(
            p,
            s,
            "/admin/api/v1/price-agreements",
            json!({ "company_id": w.acme, "name": "ACME 2028", "status": "active", "valid_from": rfc3339(w.t2) }),
        ),
        201,
    );
    // An inactive copy is fine until it is switched on.
    let copy = id(&ok(
        post(
            p,
            s,
            "/admin/api/v1/price-books",
            json!({ "name": "Next year's list", "scope": "global" }),
        ),
        201,
    ));
    let before = p.contents();
    let r = patch(
        p,
        s,
        &format!("/admin/api/v1/price-books/{copy}"),
        json!({ "active": true }),
    );
    assert_eq!(r.status, 409, "{}", text(&r));
    // Adding US to Mexico's book collides with North America; the batch leaves MX alone.
    let r = patch(
        p,
        s,
        &format!("/admin/api/v1/price-books/{mx}"),
        json!({ "countries": ["MX", "US"] }),
    );
    assert_eq!(r.status, 409, "{}", text(&r));
    assert_eq!(r.body_json()["conflicts"][0]["id"], w.regional);
    // A tier moved onto another's minimum.
    let entries = ok(
        admin(
            p,
            s,
            Method::Get,
            &format!("/admin/api/v1/price-books/{}", w.global),
            None,
        ),
        200,
    )["entries"]
        .clone();
    let tier1 = entries
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["min_quantity"] == 1)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = patch(
        p,
        s,
        &format!("/admin/api/v1/price-entries/{tier1}"),
        json!({ "min_quantity": 10 }),
    );
    assert_eq!(r.status, 409, "{}", text(&r));
    assert_eq!(p.contents(), before, "refused saves change nothing");
    // Once the old one ends, the copy can take over from then.
    ok(
        patch(
            p,
            s,
            &format!("/admin/api/v1/price-books/{}", w.global),
            json!({ "valid_to": rfc3339(w.t2) }),
        ),
        200,
    );
    ok(
        patch(
            p,
            s,
            &format!("/admin/api/v1/price-books/{copy}"),
            json!({ "active": true, "valid_from": rfc3339(w.t2) }),
        ),
        200,
    );
}

#[test]
fn a_quote_prices_every_line_with_its_label_and_says_what_strict_checkout_lacks() {
    let w = world();
    let (p, s) = (&w.p, &w.s);
    // The company ships to the US by default.
    let mut addr = json!({ "name": "ACME", "line1": "1 Main St", "city": "Austin", "country": "US", "default_for": ["shipping"] });
    ok(
        post(
            p,
            s,
            &format!("/admin/api/v1/companies/{}/addresses", w.acme),
            addr.take(),
        ),
        201,
    );
    p.now.set(w.t1 + DAY);
    let q = ok(
        post(
            p,
            s,
            "/admin/api/v1/pricing/quote",
            json!({ "company_id": w.acme, "lines": [
            { "variant_id": w.v1, "quantity": 12 }, { "variant_id": w.v1, "quantity": 1 }, { "variant_id": w.v2, "quantity": 1 }
        ] }),
        ),
        200,
    );
    assert_eq!(q["ship_to_country"], "US");
    assert_eq!(q["currency"], "usd");
    let l = &q["lines"];
    assert_eq!(l[0]["resolution"]["source"], "price_agreement");
    assert_eq!(l[0]["resolution"]["label"], "ACME 2027 agreement, 5+ tier");
    assert_eq!(l[0]["line_total"], 9600);
    assert_eq!(l[1]["resolution"]["source"], "pricebook_regional");
    assert_eq!(l[1]["resolution"]["label"], "North America");
    assert_eq!(l[2]["resolution"], Value::Null);
    assert!(
        l[2]["problem"]
            .as_str()
            .unwrap()
            .contains("no price for this variant in USD shipped to US"),
        "{}",
        l[2]
    );
    assert_eq!(q["subtotal_amount"], 9600 + 950);
    assert_eq!(q["complete"], false);
    // Nothing is synced to Stripe yet (no Stripe here): strict checkout would refuse.
    assert_eq!(q["strict_ready"], false);
    assert!(l[0]["problem"].as_str().unwrap().contains("not synced"));

    // Bad input: 422 naming the field; an unknown variant or company: 404.
    for body in [
        json!({ "lines": [{ "variant_id": "var_nope", "quantity": 1 }] }),
        json!({ "company_id": "co_nope", "lines": [{ "variant_id": w.v1, "quantity": 1 }] }),
    ] {
        let r = post(p, s, "/admin/api/v1/pricing/quote", body.clone());
        assert_eq!(r.status, 404, "{body}: {}", text(&r));
    }
    for (body, field) in [
        (json!({ "lines": [] }), "lines"),
        (
            json!({ "lines": [{ "variant_id": w.v1, "quantity": 0 }] }),
            "lines[0].quantity",
        ),
        (
            json!({ "ship_to_country": "XX", "lines": [{ "variant_id": w.v1, "quantity": 1 }] }),
            "ship_to_country",
        ),
    ] {
        let r = post(p, s, "/admin/api/v1/pricing/quote", body.clone());
        assert_eq!(r.status, 422, "{body}: {}", text(&r));
        assert_eq!(r.body_json()["errors"][0]["field"], field, "{body}");
    }
}

fn stripe(path: &str) -> String {
    format!("{STRIPE_BASE}{path}")
}

fn form(r: &lading_core::ports::OutboundRequest) -> String {
    String::from_utf8_lossy(r.body.as_deref().unwrap_or_default()).into_owned()
}

fn key(r: &lading_core::ports::OutboundRequest) -> String {
    r.headers
        .iter()
        .find(|(k, _)| k == "idempotency-key")
        .unwrap()
        .1
        .clone()
}

/// Runs every queued message (as the consumer would), returning their outcomes.
fn drain(p: &TestPlatform) -> Vec<Outcome> {
    let msgs: Vec<Value> = p.queued.borrow_mut().drain(..).collect();
    msgs.iter().map(|m| run(process(p, m))).collect()
}

#[test]
fn entries_sync_to_stripe_prices_and_a_new_amount_makes_a_new_price() {
    let p = TestPlatform::new();
    let s = create_store(&p, "SY");
    let (_, v) = product(&p, &s, "sensor", 1500);
    let book = id(&ok(
        post(
            &p,
            &s,
            "/admin/api/v1/price-books",
            json!({ "name": "List", "scope": "global", "active": true }),
        ),
        201,
    ));
    p.serve(
        &stripe("/v1/products"),
        200,
        &json!({ "id": "prod_1", "object": "product" }),
    );
    p.serve(
        &stripe("/v1/prices"),
        200,
        &json!({ "id": "price_1", "object": "price" }),
    );
    let nothing_found = json!({ "object": "list", "data": [] });
    let lookup = |entry: &str| stripe(&format!("/v1/prices?lookup_keys[]=lading_{entry}&limit=1"));
    let posts = |p: &TestPlatform| {
        p.sent_to(&stripe("/v1/prices"))
            .iter()
            .filter(|r| r.method == "POST" && r.url.ends_with("/v1/prices"))
            .map(key)
            .collect::<Vec<_>>()
    };
    let entry = ok(
        post(
            &p,
            &s,
            &format!("/admin/api/v1/price-books/{book}/entries"),
            json!({ "variant_id": v[0], "unit_amount": 1000 }),
        ),
        201,
    );
    let entry_id = id(&entry);
    assert_eq!(entry["sync_status"], "pending");
    p.serve(&lookup(&entry_id), 200, &nothing_found);
    assert_eq!(drain(&p), vec![Outcome::Done]);
    let e = ok(
        admin(
            &p,
            &s,
            Method::Get,
            &format!("/admin/api/v1/price-books/{book}"),
            None,
        ),
        200,
    )["entries"][0]
        .clone();
    assert_eq!(
        (
            e["sync_status"].as_str(),
            e["stripe_price_id"].as_str(),
            e["synced_amount"].as_i64()
        ),
        (Some("synced"), Some("price_1"), Some(1000))
    );
    let sent: Vec<_> = p
        .sent_to(&stripe("/v1/prices"))
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(sent.len(), 1);
    let body = form(&sent[0]);
    for part in [
        "product=lading_",
        "unit_amount=1000",
        "currency=usd",
        &format!("lookup_key=lading_{entry_id}"),
        "transfer_lookup_key=true",
    ] {
        assert!(body.contains(part), "{part} in {body}");
    }
    assert_eq!(key(&sent[0]), format!("price:{entry_id}:v1:1000:t0"));
    let product_call = &p.sent_to(&stripe("/v1/products"))[0];
    assert_eq!(key(product_call), format!("product:{}:t0", v[0]));
    assert!(form(product_call).contains(&format!("id=lading_{}", v[0])));

    // The same message again: nothing more at Stripe.
    ok(
        post(
            &p,
            &s,
            &format!("/admin/api/v1/price-entries/{entry_id}/sync"),
            json!({}),
        ),
        200,
    );
    assert!(matches!(drain(&p)[..], [Outcome::Dropped { .. }]));
    assert_eq!(posts(&p).len(), 1);

    // A new amount: pending (strict checkout would refuse it) until a new Price exists;
    // then the old one is archived. A Stripe 5xx leaves it pending for the retry, which
    // first looks up what the failed try may have made (Stripe keeps the 5xx under its
    // key) — here it had made it.
    p.serve(
        &stripe("/v1/prices"),
        500,
        &json!({ "error": { "type": "api_error", "message": "boom" } }),
    );
    let e = ok(
        patch(
            &p,
            &s,
            &format!("/admin/api/v1/price-entries/{entry_id}"),
            json!({ "unit_amount": 1200 }),
        ),
        200,
    );
    assert_eq!(
        (e["sync_status"].as_str(), e["stripe_price_id"].as_str()),
        (Some("pending"), Some("price_1"))
    );
    let queued = p.queued.borrow().clone();
    let first = run(process(&p, &queued[0]));
    assert!(matches!(first, Outcome::RetryAfter { .. }), "{first:?}");
    assert_eq!(
        p.text(&format!(
            "SELECT sync_status FROM price_entries WHERE id = '{entry_id}'"
        )),
        "pending"
    );
    p.serve(
        &lookup(&entry_id),
        200,
        &json!({ "object": "list", "data": [
            { "id": "price_2", "object": "price", "unit_amount": 1200, "active": true, "metadata": { "price_version": "2" } }
        ] }),
    );
    p.serve(
        &stripe("/v1/prices/price_1"),
        200,
        &json!({ "id": "price_1", "active": false }),
    );
    assert_eq!(run(process(&p, &queued[0])), Outcome::Done);
    p.queued.borrow_mut().clear();
    let e = p.text(&format!("SELECT sync_status || ' ' || stripe_price_id || ' ' || synced_amount FROM price_entries WHERE id = '{entry_id}'"));
    assert_eq!(e, "synced price_2 1200");
    let archive = p.sent_to(&stripe("/v1/prices/price_1"));
    assert_eq!(archive.len(), 1);
    assert_eq!(form(&archive[0]), "active=false");
    // The Price the failed try made was found, not made again.
    assert_eq!(
        posts(&p),
        [
            format!("price:{entry_id}:v1:1000:t0"),
            format!("price:{entry_id}:v2:1200:t0")
        ]
    );

    // Stripe refuses: failed with its words, until an operator re-syncs.
    p.serve(&lookup(&entry_id), 200, &nothing_found);
    p.serve(&stripe("/v1/prices"), 400, &json!({ "error": { "type": "invalid_request_error", "message": "Amount must be at least 50 cents" } }));
    ok(
        patch(
            &p,
            &s,
            &format!("/admin/api/v1/price-entries/{entry_id}"),
            json!({ "unit_amount": 10 }),
        ),
        200,
    );
    assert_eq!(drain(&p), vec![Outcome::Done]);
    let e = ok(
        admin(
            &p,
            &s,
            Method::Get,
            &format!("/admin/api/v1/price-books/{book}"),
            None,
        ),
        200,
    )["entries"][0]
        .clone();
    assert_eq!(e["sync_status"], "failed");
    assert_eq!(e["sync_error"], "Amount must be at least 50 cents");
    assert_eq!(
        e["stripe_price_id"], "price_2",
        "the last synced Price stays until one replaces it"
    );
    p.serve(
        &stripe("/v1/prices"),
        200,
        &json!({ "id": "price_3", "object": "price" }),
    );
    p.serve(
        &stripe("/v1/prices/price_2"),
        200,
        &json!({ "id": "price_2", "active": false }),
    );
    let e = ok(
        post(
            &p,
            &s,
            &format!("/admin/api/v1/price-entries/{entry_id}/sync"),
            json!({}),
        ),
        200,
    );
    assert_eq!(e["sync_status"], "pending");
    assert_eq!(drain(&p), vec![Outcome::Done]);
    assert_eq!(p.text(&format!("SELECT sync_status || ' ' || stripe_price_id FROM price_entries WHERE id = '{entry_id}'")), "synced price_3");
    // Stripe keeps its refusal under the key: the operator's re-sync asks under a new one.
    assert_eq!(
        posts(&p)[2..],
        [
            format!("price:{entry_id}:v3:10:t1"),
            format!("price:{entry_id}:v3:10:t2")
        ]
    );

    // Deleting archives its Price.
    p.serve(
        &stripe("/v1/prices/price_3"),
        200,
        &json!({ "id": "price_3", "active": false }),
    );
    ok(
        admin(
            &p,
            &s,
            Method::Delete,
            &format!("/admin/api/v1/price-entries/{entry_id}"),
            None,
        ),
        204,
    );
    assert_eq!(drain(&p), vec![Outcome::Done]);
    assert_eq!(
        form(&p.sent_to(&stripe("/v1/prices/price_3"))[0]),
        "active=false"
    );
}

/// Every resolver and pricing list query reads through an index.
#[test]
fn pricing_queries_use_an_index() {
    use lading_core::pricing::{agreements, books, candidates_query, entries, quote};
    use lading_core::sqlite::full_scans;
    let p = TestPlatform::new();
    let conn = p.db.conn();
    let tables = lading_core::pricing::PLANNED_TABLES;
    let us = Country::parse("US").unwrap();
    let cx = PricingContext {
        store_id: "st_1",
        company_id: Some("co_1"),
        ship_to: Some(&us),
        currency: "USD",
        at_ms: 1,
    };
    let queries = [
        candidates_query(&cx, &["var_1", "var_2"]),
        candidates_query(
            &PricingContext {
                company_id: None,
                ship_to: None,
                ..cx.clone()
            },
            &["var_1"],
        ),
        quote::variants_query("st_1", &["var_1"]),
        books::list_query("st_1"),
        agreements::list_query("st_1", None),
        agreements::list_query("st_1", Some("co_1")),
        entries::list_query(entries::Parent::Book("pb_1")),
        entries::list_query(entries::Parent::Agreement("pa_1")),
    ];
    for q in &queries {
        let scans = full_scans(&conn, q, tables).unwrap();
        assert!(scans.is_empty(), "full scan in `{}`: {scans:?}", q.sql);
    }
}
