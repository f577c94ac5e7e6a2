//! A company's orders on real SQLite: drafts priced as checkout would price them, bespoke
//! prices (admin role), strict send-checkout (409 naming unsynced lines, nothing written;
//! then a Checkout Session of Stripe Price ids, the link emailed to the billing contact),
//! provenance kept after the books change, and the billing contact's spending limit.

mod support;

use lading_api::http::{Method, Response};
use lading_core::queue::{Outcome, process};
use serde_json::{Value, json};
use support::*;

fn post(p: &TestPlatform, s: &Store, path: &str, body: Value) -> Response {
    admin(p, s, Method::Post, path, Some(body))
}

fn stripe(path: &str) -> String {
    format!("{STRIPE_BASE}{path}")
}

/// ACME with a primary billing contact (Ada), default shipping and billing addresses, an
/// active agreement pricing `v[0]` at 800 and the global book pricing `v[1]` at 1000.
struct Shop {
    p: TestPlatform,
    s: Store,
    v: Vec<String>,
    acme: String,
    ada: String,
    agreement_entry: String,
    book_entry: String,
}

fn shop_with_prices() -> Shop {
    let p = TestPlatform::new();
    let s = create_store(&p, "CB");
    let (_, v) = product(&p, &s, "sensor", 1500);
    let acme = id(&ok(
        post(
            &p,
            &s,
            "/admin/api/v1/companies",
            json!({ "name": "ACME", "payment_terms": "net_30" }),
        ),
        201,
    ));
    let ada = id(&ok(
        post(
            &p,
            &s,
            &format!("/admin/api/v1/companies/{acme}/contacts"),
            json!({
            "first_name": "Ada", "last_name": "Lovelace", "email": "ada@acme.test",
            "roles": ["billing"], "primary_roles": ["billing"] }),
        ),
        201,
    ));
    ok(
        post(
            &p,
            &s,
            &format!("/admin/api/v1/companies/{acme}/addresses"),
            json!({
            "name": "ACME Receiving", "line1": "1 Dock Rd", "city": "Austin", "region": "TX", "postal_code": "73301",
            "country": "US", "default_for": ["shipping", "billing"] }),
        ),
        201,
    );
    let book = id(&ok(
        post(
            &p,
            &s,
            "/admin/api/v1/price-books",
            json!({ "name": "List", "scope": "global", "active": true }),
        ),
        201,
    ));
    let book_entry = id(&ok(
        post(
            &p,
            &s,
            &format!("/admin/api/v1/price-books/{book}/entries"),
            json!({ "variant_id": v[1], "unit_amount": 1000 }),
        ),
        201,
    ));
    let agreement = id(&ok(
        post(
            &p,
            &s,
            "/admin/api/v1/price-agreements",
            json!({ "company_id": acme, "name": "ACME 2027 agreement", "status": "active" }),
        ),
        201,
    ));
    let agreement_entry = id(&ok(
        post(
            &p,
            &s,
            &format!("/admin/api/v1/price-agreements/{agreement}/entries"),
            json!({ "variant_id": v[0], "unit_amount": 800 }),
        ),
        201,
    ));
    Shop {
        p,
        s,
        v,
        acme,
        ada,
        agreement_entry,
        book_entry,
    }
}

/// Runs the queued price syncs one by one, Stripe answering each with its own Price id.
fn sync_prices(p: &TestPlatform, price_ids: &[&str]) {
    let msgs: Vec<Value> = p.queued.borrow_mut().drain(..).collect();
    let syncs: Vec<&Value> = msgs.iter().filter(|m| m["kind"] == "sync_price").collect();
    assert_eq!(syncs.len(), price_ids.len());
    p.serve(
        &stripe("/v1/products"),
        200,
        &json!({ "id": "prod_x", "object": "product" }),
    );
    for (m, price) in syncs.into_iter().zip(price_ids) {
        let entry = m["price_entry_id"].as_str().unwrap();
        p.serve(
            &stripe(&format!("/v1/prices?lookup_keys[]=lading_{entry}&limit=1")),
            200,
            &json!({ "object": "list", "data": [] }),
        );
        p.serve(
            &stripe("/v1/prices"),
            200,
            &json!({ "id": price, "object": "price" }),
        );
        assert_eq!(run(process(p, m)), Outcome::Done);
    }
}

fn draft(sh: &Shop, lines: Value) -> Value {
    ok(
        post(
            &sh.p,
            &sh.s,
            "/admin/api/v1/orders",
            json!({ "company_id": sh.acme, "lines": lines }),
        ),
        201,
    )
}

#[test]
fn a_draft_goes_to_checkout_only_with_synced_prices_and_keeps_its_provenance() {
    let sh = shop_with_prices();
    let (p, s) = (&sh.p, &sh.s);
    let d = draft(
        &sh,
        json!([{ "variant_id": sh.v[0], "quantity": 3 }, { "variant_id": sh.v[1], "quantity": 2 }]),
    );
    let order_id = id(&d);
    assert_eq!(d["status"], "draft");
    assert_eq!(
        d["billing_contact"]["id"], sh.ada,
        "the primary billing contact by default"
    );
    assert_eq!(d["lines"][0]["resolution"]["source"], "price_agreement");
    assert_eq!(d["lines"][0]["resolution"]["label"], "ACME 2027 agreement");
    assert_eq!(d["lines"][1]["resolution"]["source"], "pricebook_global");
    assert_eq!(d["subtotal_amount"], 3 * 800 + 2 * 1000);
    assert_eq!(d["strict_ready"], false);

    // Nothing synced yet: refused, naming both lines; nothing written.
    let before = p.row_counts();
    let r = post(
        p,
        s,
        &format!("/admin/api/v1/orders/{order_id}/send-checkout"),
        json!({}),
    );
    assert_eq!(r.status, 409, "{}", text(&r));
    let b = r.body_json();
    assert!(b["type"].as_str().unwrap().ends_with("checkout_refused"));
    let named: Vec<&str> = b["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        named,
        [
            d["lines"][0]["id"].as_str().unwrap(),
            d["lines"][1]["id"].as_str().unwrap()
        ]
    );
    assert!(
        b["conflicts"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("not synced")
    );
    assert_eq!(p.row_counts(), before);
    assert!(p.sent_to(&stripe("/v1/checkout/sessions")).is_empty());

    // Synced: the session's lines are the Stripe Price ids, never price_data.
    sync_prices(p, &["price_books_1000", "price_agreement_800"]);
    p.serve(
        &stripe("/v1/checkout/sessions"),
        200,
        &json!({ "id": "cs_b2b", "url": "https://checkout.test/cs_b2b" }),
    );
    let sent = ok(
        post(
            p,
            s,
            &format!("/admin/api/v1/orders/{order_id}/send-checkout"),
            json!({}),
        ),
        200,
    );
    assert_eq!(sent["order_id"], order_id, "the draft's id is the order's");
    assert_eq!(sent["status"], "pending");
    assert_eq!(sent["checkout_url"], "https://checkout.test/cs_b2b");
    assert_eq!(sent["billing_contact_email"], "ada@acme.test");
    let call = &p.sent_to(&stripe("/v1/checkout/sessions"))[0];
    let form = String::from_utf8_lossy(call.body.as_deref().unwrap()).into_owned();
    assert!(
        form.contains("line_items%5B0%5D%5Bprice%5D=price_agreement_800"),
        "{form}"
    );
    assert!(
        form.contains("line_items%5B1%5D%5Bprice%5D=price_books_1000"),
        "{form}"
    );
    assert!(!form.contains("price_data"), "{form}");
    assert_eq!(
        p.count(&format!(
            "SELECT COUNT(*) FROM draft_orders WHERE id = '{order_id}'"
        )),
        0
    );
    assert_eq!(
        p.text(&format!("SELECT company_id || ' ' || billing_contact_id || ' ' || status FROM orders WHERE id = '{order_id}'")),
        format!("{} {} pending", sh.acme, sh.ada)
    );
    // The link goes to the billing contact by email.
    assert_eq!(
        p.text(&format!("SELECT recipient FROM notifications WHERE order_id = '{order_id}' AND kind = 'checkout_link'")),
        "ada@acme.test"
    );
    // Sending again answers the same session, without asking Stripe again.
    let again = ok(
        post(
            p,
            s,
            &format!("/admin/api/v1/orders/{order_id}/send-checkout"),
            json!({}),
        ),
        200,
    );
    assert_eq!(again["session_id"], "cs_b2b");
    assert_eq!(p.sent_to(&stripe("/v1/checkout/sessions")).len(), 1);

    // Paid through the same path as every order; then the agreement's price changes and the
    // item keeps what it was priced with.
    let o = json!({ "id": order_id, "subtotal": 4400, "shipping": sent["total_amount"].as_i64().unwrap() - 4400 });
    complete_checkout(p, s, &o, "ada@acme.test", "b2b", "usd", None);
    assert_eq!(
        p.text(&format!("SELECT status || ' ' || coalesce(review_reason, 'no review') FROM orders WHERE id = '{order_id}'")),
        "paid no review",
        "Stripe's amounts are the order's"
    );
    ok(
        admin(
            p,
            s,
            Method::Patch,
            &format!("/admin/api/v1/price-entries/{}", sh.agreement_entry),
            Some(json!({ "unit_amount": 700 })),
        ),
        200,
    );
    let item = p.text(&format!(
        "SELECT id FROM order_items WHERE order_id = '{order_id}' AND variant_id = '{}'",
        sh.v[0]
    ));
    let r = ok(
        admin(
            p,
            s,
            Method::Get,
            &format!("/admin/api/v1/pricing/resolutions/{item}"),
            None,
        ),
        200,
    );
    assert_eq!(r["resolution"]["source"], "price_agreement");
    assert_eq!(r["resolution"]["unit_amount"], 800);
    assert_eq!(r["resolution"]["price_entry_id"], sh.agreement_entry);
    assert_eq!(r["resolution"]["stripe_price_id"], "price_agreement_800");
    assert_eq!(r["resolution"]["label"], "ACME 2027 agreement");
    assert_eq!(
        p.text(&format!(
            "SELECT price_source FROM order_items WHERE id = '{item}'"
        )),
        "price_agreement"
    );

    // The operator's order page, list and export say whose order it is and where each
    // price came from.
    let detail = ok(
        admin(
            p,
            s,
            Method::Get,
            &format!("/admin/api/v1/orders/{order_id}"),
            None,
        ),
        200,
    );
    assert_eq!(detail["company"]["name"], "ACME");
    assert_eq!(detail["company"]["billing_contact_email"], "ada@acme.test");
    assert_eq!(
        detail["company"]["billing_address"],
        "ACME Receiving, 1 Dock Rd, Austin 73301, US"
    );
    let sources: Vec<(&str, &str)> = detail["item_prices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["resolution"]["source"].as_str().unwrap(),
                i["resolution"]["price_entry_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        sources,
        [
            ("price_agreement", sh.agreement_entry.as_str()),
            ("pricebook_global", sh.book_entry.as_str())
        ]
    );
    let listed = ok(
        admin(
            p,
            s,
            Method::Get,
            &format!("/admin/api/v1/orders?company_id={}", sh.acme),
            None,
        ),
        200,
    );
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert_eq!(listed["data"][0]["company_name"], "ACME");
    let none = ok(
        admin(
            p,
            s,
            Method::Get,
            "/admin/api/v1/orders?company_id=co_nobody",
            None,
        ),
        200,
    );
    assert!(none["data"].as_array().unwrap().is_empty());
    let r = admin(
        p,
        s,
        Method::Get,
        &format!("/admin/api/v1/orders/export.csv?company_id={}", sh.acme),
        None,
    );
    let csv = text(&run(r.drain_export(&p.db)).unwrap());
    let row: Vec<&str> = csv
        .trim_end()
        .split("\r\n")
        .nth(1)
        .unwrap()
        .split(',')
        .collect();
    assert_eq!(
        row[13..],
        [
            order_id.as_str(),
            sh.acme.as_str(),
            "ACME",
            "price_agreement;pricebook_global"
        ]
    );
}

#[test]
fn bespoke_prices_need_the_admin_role_and_strict_checkout_refuses_them() {
    let sh = shop_with_prices();
    let (p, s) = (&sh.p, &sh.s);
    let r = admin(
        p,
        s,
        Method::Post,
        "/admin/api/v1/admin-keys",
        Some(json!({ "role": "support", "label": "desk" })),
    );
    let support = Store {
        id: s.id.clone(),
        pk: s.pk.clone(),
        admin: ok(r, 201)["key"].as_str().unwrap().into(),
    };
    let lines = json!([{ "variant_id": sh.v[0], "quantity": 1, "unit_amount": 500, "bespoke_note": "trade show deal" }]);
    let before = p.row_counts();
    let r = post(
        p,
        &support,
        "/admin/api/v1/orders",
        json!({ "company_id": sh.acme, "lines": lines }),
    );
    assert_eq!(r.status, 403, "{}", text(&r));
    for bad in [
        json!([{ "variant_id": sh.v[0], "quantity": 1, "unit_amount": 500 }]),
        json!([{ "variant_id": sh.v[0], "quantity": 0 }]),
    ] {
        let r = post(
            p,
            s,
            "/admin/api/v1/orders",
            json!({ "company_id": sh.acme, "lines": bad }),
        );
        assert_eq!(r.status, 422, "{bad}: {}", text(&r));
    }
    let r = post(
        p,
        s,
        "/admin/api/v1/orders",
        json!({ "company_id": sh.acme, "lines": [{ "variant_id": "var_elsewhere", "quantity": 1 }] }),
    );
    assert_eq!(r.status, 404, "{}", text(&r));
    assert_eq!(p.row_counts(), before);

    let d = draft(&sh, lines);
    assert_eq!(d["lines"][0]["resolution"]["source"], "bespoke");
    assert_eq!(
        d["lines"][0]["resolution"]["bespoke_note"],
        "trade show deal"
    );
    assert_eq!(d["lines"][0]["line_total"], 500);
    // A support operator may edit the draft while keeping the admin's price as it is.
    let order_id = id(&d);
    let keep = json!({ "lines": [
        { "variant_id": sh.v[0], "quantity": 1, "unit_amount": 500, "bespoke_note": "trade show deal" },
        { "variant_id": sh.v[1], "quantity": 4 }
    ] });
    let d = ok(
        admin(
            p,
            &support,
            Method::Patch,
            &format!("/admin/api/v1/draft-orders/{order_id}"),
            Some(keep),
        ),
        200,
    );
    assert_eq!(d["lines"].as_array().unwrap().len(), 2);
    let r = admin(
        p,
        &support,
        Method::Patch,
        &format!("/admin/api/v1/draft-orders/{order_id}"),
        Some(
            json!({ "lines": [{ "variant_id": sh.v[0], "quantity": 1, "unit_amount": 1, "bespoke_note": "friend" }] }),
        ),
    );
    assert_eq!(r.status, 403);
    // Strict checkout cannot send a hand-set price.
    sync_prices(p, &["price_b", "price_a"]);
    let r = post(
        p,
        s,
        &format!("/admin/api/v1/orders/{order_id}/send-checkout"),
        json!({}),
    );
    assert_eq!(r.status, 409, "{}", text(&r));
    let b = r.body_json();
    assert_eq!(b["conflicts"].as_array().unwrap().len(), 1);
    assert!(
        b["conflicts"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("bespoke")
    );
    // Deleted while a draft.
    ok(
        admin(
            p,
            s,
            Method::Delete,
            &format!("/admin/api/v1/draft-orders/{order_id}"),
            None,
        ),
        204,
    );
    assert_eq!(
        admin(
            p,
            s,
            Method::Get,
            &format!("/admin/api/v1/draft-orders/{order_id}"),
            None
        )
        .status,
        404
    );
}

#[test]
fn a_billing_contacts_spending_limit_counts_what_they_placed_this_period() {
    let sh = shop_with_prices();
    let (p, s) = (&sh.p, &sh.s);
    sync_prices(p, &["price_b", "price_a"]);
    // 3 × 800 + shipping each; the limit allows three such orders.
    let one = draft(&sh, json!([{ "variant_id": sh.v[0], "quantity": 3 }]));
    let total = one["total_amount"].as_i64().unwrap();
    ok(
        admin(
            p,
            s,
            Method::Patch,
            &format!("/admin/api/v1/contacts/{}", sh.ada),
            Some(
                json!({ "spending_limit": { "amount": total * 3 + total / 2, "period": "monthly" } }),
            ),
        ),
        200,
    );
    let mut ids = vec![id(&one)];
    for _ in 0..3 {
        ids.push(id(&draft(
            &sh,
            json!([{ "variant_id": sh.v[0], "quantity": 3 }]),
        )));
    }
    let mut statuses = Vec::new();
    for (i, order_id) in ids.iter().enumerate() {
        p.serve(
            &stripe("/v1/checkout/sessions"),
            200,
            &json!({ "id": format!("cs_{i}"), "url": format!("https://checkout.test/cs_{i}") }),
        );
        let r = post(
            p,
            s,
            &format!("/admin/api/v1/orders/{order_id}/send-checkout"),
            json!({}),
        );
        statuses.push(r.status);
        if r.status == 409 {
            let b = r.body_json();
            assert!(
                b["type"]
                    .as_str()
                    .unwrap()
                    .ends_with("spending_limit_exceeded"),
                "{b}"
            );
            assert!(
                b["detail"]
                    .as_str()
                    .unwrap()
                    .contains("monthly spending limit"),
                "{b}"
            );
        }
    }
    assert_eq!(statuses, [200, 200, 200, 409]);
    assert_eq!(
        p.count(&format!(
            "SELECT COUNT(*) FROM draft_orders WHERE id = '{}'",
            ids[3]
        )),
        1,
        "the refused draft stays a draft"
    );
    // A cancelled order no longer counts; next month starts again.
    p.exec(&format!(
        "UPDATE orders SET status = 'cancelled' WHERE id = '{}'",
        ids[0]
    ));
    ok(
        post(
            p,
            s,
            &format!("/admin/api/v1/orders/{}/send-checkout", ids[3]),
            json!({}),
        ),
        200,
    );
    let fifth = id(&draft(
        &sh,
        json!([{ "variant_id": sh.v[0], "quantity": 3 }]),
    ));
    assert_eq!(
        post(
            p,
            s,
            &format!("/admin/api/v1/orders/{fifth}/send-checkout"),
            json!({})
        )
        .status,
        409
    );
    p.advance_ms(32 * 86_400_000);
    sync_prices(p, &[]);
    p.serve(
        &stripe("/v1/checkout/sessions"),
        200,
        &json!({ "id": "cs_next", "url": "https://checkout.test/cs_next" }),
    );
    ok(
        post(
            p,
            s,
            &format!("/admin/api/v1/orders/{fifth}/send-checkout"),
            json!({}),
        ),
        200,
    );
}

/// A contact linked to the caller's identity: (contact id, bearer JWT).
fn person(sh: &Shop, company: &str, email: &str, roles: Value, subject: &str) -> (String, String) {
    let contact = id(&ok(
        post(
            &sh.p,
            &sh.s,
            &format!("/admin/api/v1/companies/{company}/contacts"),
            json!({ "first_name": "A", "last_name": "Person", "email": email, "roles": roles,
                    "customer_subject": subject }),
        ),
        201,
    ));
    (contact, hs256(&sh.p, subject, AUDIENCE, 3600))
}

fn order_numbers(page: &Value) -> Vec<&str> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["order_number"].as_str().unwrap())
        .collect()
}

#[test]
fn company_people_quote_and_read_their_companys_orders_and_never_anothers() {
    let sh = shop_with_prices();
    let (p, s) = (&sh.p, &sh.s);
    ok(
        admin(
            p,
            s,
            Method::Patch,
            &format!("/admin/api/v1/contacts/{}", sh.ada),
            Some(json!({ "customer_subject": "idp|ada" })),
        ),
        200,
    );
    let ada = hs256(p, "idp|ada", AUDIENCE, 3600);
    let (bob_id, bob) = person(
        &sh,
        &sh.acme,
        "bob@acme.test",
        json!(["technical"]),
        "idp|bob",
    );
    let globex = id(&ok(
        post(p, s, "/admin/api/v1/companies", json!({ "name": "Globex" })),
        201,
    ));
    let (_, gia) = person(
        &sh,
        &globex,
        "gia@globex.test",
        json!(["billing", "executive"]),
        "idp|gia",
    );
    let zed = hs256(p, "idp|zed", AUDIENCE, 3600);

    // Two ACME orders: Ada's (the default billing contact) and Bob's.
    sync_prices(p, &["price_books_1000", "price_agreement_800"]);
    let mut numbers = vec![];
    for (i, billing) in [None, Some(bob_id.as_str())].into_iter().enumerate() {
        let mut body =
            json!({ "company_id": sh.acme, "lines": [{ "variant_id": sh.v[0], "quantity": 2 }] });
        if let Some(b) = billing {
            body["billing_contact_id"] = json!(b);
        }
        let order_id = id(&ok(post(p, s, "/admin/api/v1/orders", body), 201));
        p.serve(
            &stripe("/v1/checkout/sessions"),
            200,
            &json!({ "id": format!("cs_{i}"), "url": format!("https://checkout.test/cs_{i}") }),
        );
        ok(
            post(
                p,
                s,
                &format!("/admin/api/v1/orders/{order_id}/send-checkout"),
                json!({}),
            ),
            200,
        );
        numbers.push(p.text(&format!(
            "SELECT order_number FROM orders WHERE id = '{order_id}'"
        )));
    }
    let (adas, bobs) = (numbers[0].as_str(), numbers[1].as_str());
    let list = |jwt: &str| {
        ok(
            shop_as(p, s, jwt, Method::Get, "/v1/orders", None, None),
            200,
        )
    };

    // Billing sees every ACME order; a technical contact their own; Globex none of them.
    let all = list(&ada);
    assert_eq!(order_numbers(&all), [bobs, adas], "newest first");
    assert_eq!(all["data"][0]["company_id"], sh.acme.as_str());
    assert_eq!(order_numbers(&list(&bob)), [bobs]);
    assert!(order_numbers(&list(&gia)).is_empty());
    assert!(order_numbers(&list(&zed)).is_empty());
    let read = |jwt: &str, number: &str| {
        shop_as(
            p,
            s,
            jwt,
            Method::Get,
            &format!("/v1/orders/{number}"),
            None,
            None,
        )
        .status
    };
    assert_eq!(read(&ada, bobs), 200);
    assert_eq!(read(&bob, bobs), 200);
    assert_eq!(
        read(&bob, adas),
        404,
        "not theirs, and their role sees only their own"
    );
    assert_eq!(read(&gia, adas), 404, "another company's order");
    assert_eq!(read(&zed, adas), 404);

    // Quotes at the caller's company's prices; naming another company is 404.
    let quote = |jwt: &str, body: Value| {
        shop_as(
            p,
            s,
            jwt,
            Method::Post,
            "/v1/pricing/quote",
            None,
            Some(body),
        )
    };
    let lines =
        json!([{ "variant_id": sh.v[0], "quantity": 3 }, { "variant_id": sh.v[1], "quantity": 1 }]);
    let q = ok(quote(&bob, json!({ "lines": lines })), 200);
    assert_eq!(q["company_id"], sh.acme.as_str());
    assert_eq!(q["lines"][0]["resolution"]["source"], "price_agreement");
    assert_eq!(q["subtotal_amount"], 3 * 800 + 1000);
    let g = ok(quote(&gia, json!({ "lines": lines })), 200);
    assert_eq!(g["company_id"], globex.as_str());
    assert!(
        g["lines"][0]["resolution"].is_null(),
        "ACME's agreement is not Globex's"
    );
    assert_eq!(g["lines"][1]["resolution"]["source"], "pricebook_global");
    let r = quote(&gia, json!({ "company_id": sh.acme, "lines": lines }));
    assert_eq!(r.status, 404, "{}", text(&r));
    let r = quote(&zed, json!({ "lines": lines }));
    assert_eq!(r.status, 403, "{}", text(&r));
    let r = shop(
        p,
        s,
        Method::Post,
        "/v1/pricing/quote",
        None,
        Some(json!({ "lines": lines })),
    );
    assert_eq!(r.status, 401, "{}", text(&r));

    // An archived contact acts for nobody.
    ok(
        post(
            p,
            s,
            &format!("/admin/api/v1/contacts/{bob_id}/archive"),
            json!({}),
        ),
        200,
    );
    assert!(order_numbers(&list(&bob)).is_empty());
    assert_eq!(read(&bob, bobs), 404);
}

fn invoice_event(id: &str, kind: &str, object: Value) -> Value {
    json!({ "id": id, "object": "event", "type": kind, "created": 1_790_000_000, "data": { "object": object } })
}

#[test]
fn a_net_terms_order_is_invoiced_fulfilled_on_issue_and_paid_online_once() {
    let sh = shop_with_prices();
    let (p, s) = (&sh.p, &sh.s);
    let d = draft(&sh, json!([{ "variant_id": sh.v[0], "quantity": 3 }]));
    let order_id = id(&d);
    let path = format!("/admin/api/v1/orders/{order_id}/invoice");

    // Invoiced without any Stripe Price: the order is placed, its invoice issued and it is
    // routed to fulfilment in one batch; the billing contact gets the invoice by email.
    let inv = ok(post(p, s, &path, json!({})), 200);
    assert_eq!(
        inv["status"], "processing",
        "fulfilled on issue, not payment"
    );
    assert_eq!(inv["billing_contact_email"], "ada@acme.test");
    let invoice = &inv["invoice"];
    assert_eq!(invoice["status"], "issued");
    assert_eq!(invoice["number"], "INV-000001");
    assert_eq!(invoice["order_id"], order_id.as_str());
    assert_eq!(invoice["payment_terms"], "net_30");
    assert_eq!(invoice["total_amount"], inv["total_amount"]);
    let total = inv["total_amount"].as_i64().unwrap();
    assert!(total >= 3 * 800, "{inv}");
    let invoice_id = invoice["id"].as_str().unwrap().to_owned();
    assert_eq!(
        p.count(&format!("SELECT COUNT(*) FROM fulfillment_orders WHERE order_id = '{order_id}' AND status = 'pending'")),
        1,
        "routed on issue"
    );
    assert_eq!(
        p.count(&format!("SELECT COUNT(*) FROM invoice_lines WHERE invoice_id = '{invoice_id}' AND kind = 'item' AND quantity = 3 AND unit_amount = 800")),
        1,
        "the invoice mirrors the order's items"
    );
    assert!(
        p.sent_to(&stripe("/v1/checkout/sessions")).is_empty(),
        "no checkout for an invoiced order"
    );
    // Asking again answers the same order and invoice, and writes nothing.
    let unaudited = || {
        p.row_counts()
            .into_iter()
            .filter(|(t, _)| t != "audit_log")
            .collect::<Vec<_>>()
    };
    let before = unaudited();
    let again = ok(post(p, s, &path, json!({})), 200);
    assert_eq!(again["invoice"]["id"], invoice_id.as_str());
    assert_eq!(unaudited(), before);

    // The email: the invoice, its pay link and its PDF.
    let emails = p.queued_of("email");
    assert_eq!(emails.len(), 1, "{emails:?}");
    p.serve(
        "http://email.test/v3/smtp/email",
        201,
        &json!({ "messageId": "<i1@relay>" }),
    );
    assert_eq!(run(process(p, &emails[0])), Outcome::Done);
    let sent = p.sent_to("http://email.test/v3/smtp/email");
    let body: Value = serde_json::from_slice(sent[0].body.as_ref().unwrap()).unwrap();
    assert_eq!(body["to"][0]["email"], "ada@acme.test");
    assert_eq!(body["subject"], "Invoice INV-000001 from Store CB");
    let text_body = body["textContent"].as_str().unwrap();
    let pay_url = text_body
        .lines()
        .find_map(|l| l.strip_prefix("Pay online: "))
        .expect("a pay link")
        .to_owned();
    assert!(
        pay_url.starts_with("https://api.shop.test/v1/pay/pl1."),
        "{pay_url}"
    );
    assert!(text_body.contains(&format!("PDF: {pay_url}/invoice.pdf")));
    let path_of = |url: &str| url.trim_start_matches("https://api.shop.test").to_owned();

    // The PDF behind the link is the issued document.
    let pdf = call(
        p,
        "storefront",
        req(Method::Get, &path_of(&format!("{pay_url}/invoice.pdf"))),
    );
    assert_eq!(pdf.status, 200);
    let key = pdf.file.as_ref().map(|f| f.key.clone()).expect("a file");
    assert_eq!(
        key,
        format!("invoices/{}/{invoice_id}/INV-000001.pdf", s.id)
    );
    let (_, bytes) = p
        .files
        .borrow()
        .get(&key)
        .cloned()
        .expect("written on issue");
    assert!(bytes.starts_with(b"%PDF-"));
    // A forged token finds nothing.
    let forged = call(
        p,
        "storefront",
        req(Method::Get, &format!("/v1/pay/pl1.{invoice_id}.00")),
    );
    assert_eq!(forged.status, 404);

    // A partial bank transfer: partially paid.
    let transfer = id(&ok(
        post(
            p,
            s,
            "/admin/api/v1/payments",
            json!({ "company_id": sh.acme, "method": "bank_transfer", "amount": 1000, "currency": "usd",
                    "reference": "WIRE-1", "received_at": "2026-09-20" }),
        ),
        201,
    ));
    ok(
        post(
            p,
            s,
            &format!("/admin/api/v1/payments/{transfer}/allocations"),
            json!({ "invoice_id": invoice_id, "amount": 1000 }),
        ),
        201,
    );
    let rest = total - 1000;

    // The pay link opens a session for the balance, and answers it again while it stands.
    p.serve(
        &stripe("/v1/checkout/sessions"),
        200,
        &json!({ "id": "cs_inv1", "object": "checkout.session", "url": "https://checkout.test/cs_inv1" }),
    );
    let go = call(p, "storefront", req(Method::Get, &path_of(&pay_url)));
    assert_eq!(go.status, 303, "{}", String::from_utf8_lossy(&go.body));
    assert_eq!(
        go.get_header("location"),
        Some("https://checkout.test/cs_inv1")
    );
    let asked = &p.sent_to(&stripe("/v1/checkout/sessions"))[0];
    let form = String::from_utf8_lossy(asked.body.as_ref().unwrap()).into_owned();
    assert!(
        form.contains(&format!("unit_amount%5D={rest}"))
            || form.contains(&format!("unit_amount]={rest}")),
        "{form}"
    );
    assert!(
        form.contains(&format!("metadata%5Binvoice_id%5D={invoice_id}"))
            || form.contains(&format!("metadata[invoice_id]={invoice_id}")),
        "{form}"
    );
    let again = call(p, "storefront", req(Method::Get, &path_of(&pay_url)));
    assert_eq!(
        again.get_header("location"),
        Some("https://checkout.test/cs_inv1")
    );
    assert_eq!(
        p.sent_to(&stripe("/v1/checkout/sessions")).len(),
        1,
        "one session at a time"
    );
    // Beyond the balance: refused.
    let over = call(
        p,
        "storefront",
        req(
            Method::Get,
            &format!("{}?amount={}", path_of(&pay_url), rest + 1),
        ),
    );
    assert_eq!(over.status, 422);

    // Paid: the event delivered five times allocates once, and the invoice is paid.
    let session = json!({ "id": "cs_inv1", "object": "checkout.session", "payment_status": "paid", "payment_intent": "pi_inv1",
        "amount_total": rest, "currency": "usd",
        "metadata": { "invoice_id": invoice_id, "invoice_number": "INV-000001", "store_id": s.id } });
    for _ in 0..5 {
        let r = webhook(
            p,
            &invoice_event(
                "evt_inv_paid",
                "checkout.session.completed",
                session.clone(),
            ),
        );
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
    let paid = ok(
        admin(
            p,
            s,
            Method::Get,
            &format!("/admin/api/v1/invoices/{invoice_id}"),
            None,
        ),
        200,
    );
    assert_eq!(paid["invoice"]["status"], "paid");
    assert_eq!(paid["invoice"]["balance"], 0);
    assert_eq!(paid["allocations"].as_array().unwrap().len(), 2);
    assert!(paid["pay_url"].is_null(), "nothing owed, nothing to pay");
    assert_eq!(
        p.count("SELECT COUNT(*) FROM billing_payments WHERE method = 'stripe' AND ledger_payment_id = 'pay_pi_inv1'"),
        1
    );
    assert_eq!(
        p.count(&format!("SELECT COUNT(*) FROM payments WHERE invoice_id = '{invoice_id}' AND order_id IS NULL AND kind = 'capture'")),
        1,
        "the ledger records it as the invoice's"
    );
    assert_eq!(
        p.count(&format!("SELECT COUNT(*) FROM invoices WHERE id = '{invoice_id}' AND checkout_session_id IS NULL")),
        1,
        "the paid session is closed"
    );

    // A refund of part of the online payment reopens that much of the balance.
    let charge = json!({ "id": "ch_inv1", "object": "charge", "payment_intent": "pi_inv1", "amount": rest,
        "amount_refunded": 500, "currency": "usd", "refunds": { "data": [] } });
    for _ in 0..2 {
        let r = webhook(
            p,
            &invoice_event("evt_inv_refund", "charge.refunded", charge.clone()),
        );
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
    let reopened = ok(
        admin(
            p,
            s,
            Method::Get,
            &format!("/admin/api/v1/invoices/{invoice_id}"),
            None,
        ),
        200,
    );
    assert_eq!(reopened["invoice"]["status"], "partially_paid");
    assert_eq!(reopened["invoice"]["balance"], 500);
    // The order's page names its invoice and what is owed.
    let order = ok(
        admin(
            p,
            s,
            Method::Get,
            &format!("/admin/api/v1/orders/{order_id}"),
            None,
        ),
        200,
    );
    assert_eq!(order["invoice"]["number"], "INV-000001");
    assert_eq!(order["invoice"]["balance"], 500);
    assert_eq!(order["order"]["status"], "processing");
    assert_eq!(
        p.count(
            "SELECT refunded_amount FROM billing_payments WHERE ledger_payment_id = 'pay_pi_inv1'"
        ),
        500
    );
}

#[test]
fn only_net_terms_companies_are_invoiced_and_within_their_limits() {
    let sh = shop_with_prices();
    let (p, s) = (&sh.p, &sh.s);
    // A prepaid company is sent to checkout instead.
    ok(
        admin(
            p,
            s,
            Method::Patch,
            &format!("/admin/api/v1/companies/{}", sh.acme),
            Some(json!({ "payment_terms": "prepaid" })),
        ),
        200,
    );
    let d = draft(&sh, json!([{ "variant_id": sh.v[0], "quantity": 1 }]));
    let path = format!("/admin/api/v1/orders/{}/invoice", id(&d));
    let before = p.row_counts();
    let r = post(p, s, &path, json!({}));
    assert_eq!(r.status, 409);
    assert_eq!(r.body_json()["type"], "company_prepaid", "{}", text(&r));
    assert_eq!(p.row_counts(), before, "nothing written");

    // On net terms, a line without a price refuses the whole invoice.
    ok(
        admin(
            p,
            s,
            Method::Patch,
            &format!("/admin/api/v1/companies/{}", sh.acme),
            Some(json!({ "payment_terms": "net_15" })),
        ),
        200,
    );
    let (_, other) = product(p, s, "unpriced", 900);
    let d = draft(
        &sh,
        json!([{ "variant_id": sh.v[0], "quantity": 1 }, { "variant_id": other[0], "quantity": 1 }]),
    );
    let before = p.row_counts();
    let r = post(
        p,
        s,
        &format!("/admin/api/v1/orders/{}/invoice", id(&d)),
        json!({}),
    );
    assert_eq!(r.status, 409, "{}", text(&r));
    assert_eq!(r.body_json()["type"], "invoice_refused");
    assert_eq!(p.row_counts(), before, "nothing written");
}
