//! Carts through the storefront API, natively on SQLite.

mod support;

use lading_api::http::Method::{Delete, Get, Patch, Post};
use serde_json::json;
use support::*;

fn guest_cart(p: &TestPlatform, s: &Store) -> String {
    let r = shop(p, s, Post, "/v1/carts", None, None);
    assert_eq!(r.status, 201);
    let token = r.body_json()["cart_token"].as_str().unwrap().to_owned();
    assert!(token.len() >= 3 + 26, "at least 128 random bits");
    token
}

#[test]
fn a_guest_cart_adds_updates_and_removes_items_at_catalog_prices() {
    let p = TestPlatform::new();
    let s = create_store(&p, "AB");
    let (_, v) = product(&p, &s, "poster", 2500);
    let t = guest_cart(&p, &s);
    // The token is not stored in plain text.
    assert_eq!(
        p.count(&format!(
            "SELECT COUNT(*) FROM carts WHERE token_hash = '{t}'"
        )),
        0
    );
    let r = shop(
        &p,
        &s,
        Post,
        "/v1/carts/current/items",
        Some(&t),
        Some(json!({ "variant_id": v[0], "quantity": 2, "price": 1, "unit_price": 1 })),
    );
    assert_eq!(r.status, 200, "{:?}", r.body_json());
    let b = r.body_json();
    assert_eq!(b["subtotal"], 5000, "client prices are ignored");
    assert_eq!(b["requires_shipping"], true);
    // Same variant + options adds up; other options make another line.
    shop(
        &p,
        &s,
        Post,
        "/v1/carts/current/items",
        Some(&t),
        Some(json!({ "variant_id": v[0], "quantity": 1 })),
    );
    let b = shop(
        &p,
        &s,
        Post,
        "/v1/carts/current/items",
        Some(&t),
        Some(json!({ "variant_id": v[0], "quantity": 1, "options": { "frame": "oak" } })),
    )
    .body_json();
    assert_eq!(b["items"].as_array().unwrap().len(), 2);
    assert_eq!(b["items"][0]["quantity"], 3);
    assert_eq!(b["item_count"], 4);
    let line = b["items"][1]["id"].as_str().unwrap().to_owned();
    let b = shop(
        &p,
        &s,
        Patch,
        &format!("/v1/carts/current/items/{line}"),
        Some(&t),
        Some(json!({ "quantity": 5 })),
    )
    .body_json();
    assert_eq!(b["items"][1]["quantity"], 5);
    // The price moves with the catalog.
    admin(
        &p,
        &s,
        Patch,
        &format!("/admin/api/v1/variants/{}", v[0]),
        Some(json!({ "price_amount": 3000 })),
    );
    let b = shop(&p, &s, Get, "/v1/carts/current", Some(&t), None).body_json();
    assert_eq!(b["subtotal"], 8 * 3000);
    let b = shop(
        &p,
        &s,
        Delete,
        &format!("/v1/carts/current/items/{line}"),
        Some(&t),
        None,
    )
    .body_json();
    assert_eq!(b["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        shop(
            &p,
            &s,
            Delete,
            &format!("/v1/carts/current/items/{line}"),
            Some(&t),
            None
        )
        .status,
        404
    );
}

#[test]
fn bad_cart_input_gets_a_problem_and_changes_nothing() {
    let p = TestPlatform::new();
    let s = create_store(&p, "AB");
    let other = create_store(&p, "CD");
    let (_, v) = product(&p, &s, "poster", 2500);
    let (_, ov) = product(&p, &other, "theirs", 100);
    let (arch, av) = product(&p, &s, "old", 100);
    admin(
        &p,
        &s,
        Post,
        &format!(
            "/admin/api/v1/products/{}/archive",
            arch["id"].as_str().unwrap()
        ),
        None,
    );
    let t = guest_cart(&p, &s);
    shop(
        &p,
        &s,
        Post,
        "/v1/carts/current/items",
        Some(&t),
        Some(json!({ "variant_id": v[0], "quantity": 98 })),
    );
    let before = p.row_counts();
    let add = |body: serde_json::Value| {
        shop(
            &p,
            &s,
            Post,
            "/v1/carts/current/items",
            Some(&t),
            Some(body),
        )
    };
    for (body, status) in [
        (json!({ "variant_id": "var_nope", "quantity": 1 }), 422),
        (json!({ "variant_id": av[0], "quantity": 1 }), 422),
        (json!({ "variant_id": ov[0], "quantity": 1 }), 422),
        (json!({ "variant_id": v[0], "quantity": 0 }), 422),
        (json!({ "variant_id": v[0], "quantity": -1 }), 422),
        (
            json!({ "variant_id": v[0], "quantity": 1_000_000_000_000i64 }),
            422,
        ),
        (json!({ "variant_id": v[0], "quantity": 2 }), 422), // 98 + 2 > 99
        (json!({ "variant_id": v[0], "quantity": "1" }), 422),
        (json!({ "quantity": 1 }), 422),
    ] {
        let r = add(body.clone());
        assert_eq!(r.status, status, "{body}: {:?}", r.body_json());
        assert_eq!(
            r.get_header("content-type"),
            Some("application/problem+json")
        );
    }
    let mut raw = req(Post, "/v1/carts/current/items")
        .header("x-publishable-api-key", &s.pk)
        .header("x-cart-token", &t)
        .header("content-type", "application/json");
    raw.body = b"{\"variant_id\": ".to_vec();
    let r = call(&p, "storefront", raw.clone());
    assert_eq!(
        (r.status, r.body_json()["type"].as_str()),
        (400, Some("malformed_json"))
    );
    raw.headers.retain(|(k, _)| k != "content-type");
    raw.headers
        .push(("content-type".into(), "text/plain".into()));
    assert_eq!(call(&p, "storefront", raw).status, 415);
    let r = shop(
        &p,
        &s,
        Patch,
        "/v1/carts/current/items/ci_nope",
        Some(&t),
        Some(json!({ "quantity": 0 })),
    );
    assert_eq!(r.status, 422);
    assert_eq!(p.row_counts(), before);
}

#[test]
fn keys_and_tokens_are_required_and_checked() {
    let p = TestPlatform::new();
    let s = create_store(&p, "AB");
    let before = p.row_counts();
    let r = call(&p, "storefront", req(Post, "/v1/carts"));
    assert_eq!(
        (r.status, r.body_json()["type"].as_str()),
        (401, Some("publishable_key_missing"))
    );
    let r = call(
        &p,
        "storefront",
        req(Post, "/v1/carts").header("x-publishable-api-key", "pk_wrong"),
    );
    assert_eq!(
        (r.status, r.body_json()["type"].as_str()),
        (401, Some("publishable_key_invalid"))
    );
    assert_eq!(
        shop(&p, &s, Get, "/v1/carts/current", None, None).status,
        404
    );
    assert_eq!(
        shop(&p, &s, Get, "/v1/carts/current", Some("ct_guessed"), None).status,
        404
    );
    assert_eq!(p.row_counts(), before);
}

#[test]
fn another_stores_or_another_shoppers_cart_is_not_found() {
    let p = TestPlatform::new();
    let a = create_store(&p, "AA");
    let b = create_store(&p, "BB");
    let (_, v) = product(&p, &a, "poster", 100);
    let mine = guest_cart(&p, &a);
    let theirs = guest_cart(&p, &a);
    let line = shop(
        &p,
        &a,
        Post,
        "/v1/carts/current/items",
        Some(&theirs),
        Some(json!({ "variant_id": v[0], "quantity": 1 })),
    )
    .body_json()["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Store B's key with store A's token: not found.
    assert_eq!(
        shop(&p, &b, Get, "/v1/carts/current", Some(&mine), None).status,
        404
    );
    // My token cannot touch their line.
    assert_eq!(
        shop(
            &p,
            &a,
            Patch,
            &format!("/v1/carts/current/items/{line}"),
            Some(&mine),
            Some(json!({ "quantity": 3 }))
        )
        .status,
        404
    );
    assert_eq!(
        shop(
            &p,
            &a,
            Delete,
            &format!("/v1/carts/current/items/{line}"),
            Some(&mine),
            None
        )
        .status,
        404
    );
    // A customer cannot see another customer's cart.
    let alice = hs256(&p, "alice", AUDIENCE, 600);
    let bob = hs256(&p, "bob", AUDIENCE, 600);
    let line = shop_as(
        &p,
        &a,
        &alice,
        Post,
        "/v1/carts/current/items",
        None,
        Some(json!({ "variant_id": v[0], "quantity": 1 })),
    )
    .body_json()["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        shop_as(&p, &a, &bob, Get, "/v1/carts/current", None, None).status,
        404
    );
    assert_eq!(
        shop_as(
            &p,
            &a,
            &bob,
            Delete,
            &format!("/v1/carts/current/items/{line}"),
            None,
            None
        )
        .status,
        404
    );
    assert_eq!(
        shop_as(&p, &a, &alice, Get, "/v1/carts/current", None, None).body_json()["item_count"],
        1
    );
}

#[test]
fn a_customer_has_one_active_cart() {
    let p = TestPlatform::new();
    let s = create_store(&p, "AB");
    let jwt = hs256(&p, "carol", AUDIENCE, 600);
    let first = shop_as(&p, &s, &jwt, Post, "/v1/carts", None, None);
    assert_eq!(first.status, 201);
    assert!(first.body_json().get("cart_token").is_none());
    let again = shop_as(&p, &s, &jwt, Post, "/v1/carts", None, None);
    assert_eq!(again.status, 200);
    assert_eq!(again.body_json()["id"], first.body_json()["id"]);
    assert_eq!(
        p.count("SELECT COUNT(*) FROM carts WHERE customer_id IS NOT NULL"),
        1
    );
}

#[test]
fn merging_adds_guest_lines_to_the_customer_cart_once() {
    let p = TestPlatform::new();
    let s = create_store(&p, "AB");
    let (_, v) = product(&p, &s, "poster", 1000);
    let jwt = hs256(&p, "dave", AUDIENCE, 600);
    shop_as(
        &p,
        &s,
        &jwt,
        Post,
        "/v1/carts/current/items",
        None,
        Some(json!({ "variant_id": v[0], "quantity": 2 })),
    );
    let t = guest_cart(&p, &s);
    shop(
        &p,
        &s,
        Post,
        "/v1/carts/current/items",
        Some(&t),
        Some(json!({ "variant_id": v[0], "quantity": 3 })),
    );
    shop(
        &p,
        &s,
        Post,
        "/v1/carts/current/items",
        Some(&t),
        Some(json!({ "variant_id": v[1], "quantity": 1 })),
    );
    let r = shop_as(&p, &s, &jwt, Post, "/v1/carts/merge", Some(&t), None);
    assert_eq!(r.status, 200, "{:?}", r.body_json());
    let b = r.body_json();
    assert_eq!(b["items"][0]["quantity"], 5);
    assert_eq!(b["items"][1]["quantity"], 1);
    assert_eq!(b["subtotal"], 5 * 1000 + 500);
    // The guest cart is retired; merging again adds nothing.
    assert_eq!(
        shop(&p, &s, Get, "/v1/carts/current", Some(&t), None).body_json()["status"],
        "merged"
    );
    let again = shop_as(&p, &s, &jwt, Post, "/v1/carts/merge", Some(&t), None).body_json();
    assert_eq!(again["items"][0]["quantity"], 5);
    let r = shop(
        &p,
        &s,
        Post,
        "/v1/carts/current/items",
        Some(&t),
        Some(json!({ "variant_id": v[0], "quantity": 1 })),
    );
    assert_eq!(
        (r.status, r.body_json()["type"].as_str()),
        (409, Some("cart_not_active"))
    );
    // Merging needs a customer.
    let t2 = guest_cart(&p, &s);
    assert_eq!(
        shop(&p, &s, Post, "/v1/carts/merge", Some(&t2), None).status,
        401
    );
}

#[test]
fn carts_idle_for_48_hours_are_abandoned_by_the_sweep() {
    let p = TestPlatform::new();
    let s = create_store(&p, "AB");
    let (_, v) = product(&p, &s, "poster", 1000);
    let idle = guest_cart(&p, &s);
    p.advance_ms(47 * 3_600_000);
    let busy = guest_cart(&p, &s);
    shop(
        &p,
        &s,
        Post,
        "/v1/carts/current/items",
        Some(&busy),
        Some(json!({ "variant_id": v[0], "quantity": 1 })),
    );
    p.advance_ms(2 * 3_600_000);
    let n = run(lading_core::carts::abandon_idle::abandon_idle_carts(&p)).unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        shop(&p, &s, Get, "/v1/carts/current", Some(&idle), None).body_json()["status"],
        "abandoned"
    );
    assert_eq!(
        shop(&p, &s, Get, "/v1/carts/current", Some(&busy), None).body_json()["status"],
        "active"
    );
    assert_eq!(
        run(lading_core::carts::abandon_idle::abandon_idle_carts(&p)).unwrap(),
        0
    );
}

#[test]
fn a_full_cart_refuses_a_new_line_but_not_more_of_an_existing_one() {
    let p = TestPlatform::new();
    let s = create_store(&p, "AB");
    let variants: Vec<_> = (0..50)
        .map(|i| json!({ "sku": format!("V{i}"), "kind": "physical", "price_amount": 100 }))
        .collect();
    let r = admin(
        &p,
        &s,
        Post,
        "/admin/api/v1/products",
        Some(json!({ "title": "Many", "status": "active", "variants": variants })),
    );
    let ids: Vec<String> = r.body_json()["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect();
    let (_, extra) = product(&p, &s, "extra", 100);
    let t = guest_cart(&p, &s);
    for id in &ids {
        assert_eq!(
            shop(
                &p,
                &s,
                Post,
                "/v1/carts/current/items",
                Some(&t),
                Some(json!({ "variant_id": id, "quantity": 1 }))
            )
            .status,
            200
        );
    }
    let before = p.row_counts();
    let r = shop(
        &p,
        &s,
        Post,
        "/v1/carts/current/items",
        Some(&t),
        Some(json!({ "variant_id": extra[0], "quantity": 1 })),
    );
    assert_eq!(r.status, 422);
    assert!(
        r.body_json()["detail"]
            .as_str()
            .unwrap()
            .contains("at most 50"),
        "{:?}",
        r.body_json()
    );
    assert_eq!(p.row_counts(), before);
    let r = shop(
        &p,
        &s,
        Post,
        "/v1/carts/current/items",
        Some(&t),
        Some(json!({ "variant_id": ids[0], "quantity": 2 })),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body_json()["items"][0]["quantity"], 3);
}

#[test]
fn a_new_customer_who_only_reads_or_sends_bad_input_leaves_no_trace() {
    let p = TestPlatform::new();
    let s = create_store(&p, "AB");
    let jwt = hs256(&p, "newcomer", AUDIENCE, 600);
    let before = p.row_counts();
    assert_eq!(
        shop_as(&p, &s, &jwt, Get, "/v1/carts/current", None, None).status,
        404
    );
    let r = shop_as(
        &p,
        &s,
        &jwt,
        Post,
        "/v1/carts/current/items",
        None,
        Some(json!({ "variant_id": "var_nope", "quantity": 1 })),
    );
    assert_eq!(r.status, 422);
    assert_eq!(
        shop_as(
            &p,
            &s,
            &jwt,
            Post,
            "/v1/carts/merge",
            Some("ct_unknown"),
            None
        )
        .status,
        404
    );
    assert_eq!(p.row_counts(), before);
}
