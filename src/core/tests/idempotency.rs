//! Idempotency-Key on storefront and admin POSTs.

mod support;

use lading_core::http::Method::Post;
use serde_json::json;
use support::*;

#[test]
fn a_repeated_key_replays_the_first_response_and_writes_once() {
    let p = TestPlatform::new();
    let s = create_store(&p, "AB");
    let body = json!({ "title": "Once", "status": "active" });
    let send = |b: &serde_json::Value| {
        call(
            &p,
            "admin",
            req(Post, "/admin/api/v1/products")
                .header("authorization", &format!("Bearer {}", s.admin))
                .header("idempotency-key", "k-1")
                .json_body(b),
        )
    };
    let first = send(&body);
    assert_eq!(first.status, 201);
    let again = send(&body);
    assert_eq!(again.status, 201);
    assert_eq!(again.get_header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body_json()["id"], first.body_json()["id"]);
    assert_eq!(p.count("SELECT COUNT(*) FROM products"), 1);
    let other = send(&json!({ "title": "Different" }));
    assert_eq!(other.status, 422);
    assert_eq!(other.body_json()["type"], "idempotency_key_reused");
    assert_eq!(p.count("SELECT COUNT(*) FROM products"), 1);
}

#[test]
fn guest_cart_creation_with_a_key_is_replayed_not_duplicated() {
    let p = TestPlatform::new();
    let s = create_store(&p, "AB");
    let send = || {
        call(
            &p,
            "storefront",
            req(Post, "/v1/carts")
                .header("x-publishable-api-key", &s.pk)
                .header("idempotency-key", "cart-1"),
        )
    };
    let a = send();
    let b = send();
    assert_eq!(a.body_json()["id"], b.body_json()["id"]);
    assert_eq!(p.count("SELECT COUNT(*) FROM carts"), 1);
    let bad = call(
        &p,
        "storefront",
        req(Post, "/v1/carts")
            .header("x-publishable-api-key", &s.pk)
            .header("idempotency-key", "has space"),
    );
    assert_eq!(bad.status, 400);
}

#[test]
fn saved_responses_keep_no_secret_in_plain_text() {
    let p = TestPlatform::new();
    let s = create_store(&p, "AB");
    let send = || {
        call(
            &p,
            "admin",
            req(Post, "/admin/api/v1/admin-keys")
                .header("authorization", &format!("Bearer {}", s.admin))
                .header("idempotency-key", "key-create-1")
                .json_body(&json!({ "role": "admin", "label": "ops" })),
        )
    };
    let first = send();
    let again = send();
    let key = first.body_json()["key"].as_str().unwrap().to_owned();
    assert_eq!(
        again.body_json()["key"],
        key.as_str(),
        "the replay returns the secret to the same caller"
    );
    assert_eq!(p.count("SELECT COUNT(*) FROM admin_keys"), 2);
    let stored = p.text("SELECT key || '|' || response_body FROM idempotency_keys");
    assert!(
        !stored.contains(&key),
        "the admin key is not stored in plain text"
    );
    assert!(
        !stored.contains("key-create-1"),
        "nor the Idempotency-Key itself"
    );
}

#[test]
fn a_key_still_in_flight_gets_409() {
    let p = TestPlatform::new();
    let s = create_store(&p, "AB");
    p.exec(&format!(
        "INSERT INTO idempotency_keys (store_id, scope, key, request_hash, created_at) VALUES ('{}', 'storefront:guest', '{}', '{}', 0)",
        s.id,
        lading_core::idempotency::lookup_of("busy"),
        lading_core::idempotency::request_hash(&req(Post, "/v1/carts"))
    ));
    let r = call(
        &p,
        "storefront",
        req(Post, "/v1/carts")
            .header("x-publishable-api-key", &s.pk)
            .header("idempotency-key", "busy"),
    );
    assert_eq!(r.status, 409);
    assert_eq!(r.body_json()["type"], "idempotency_request_in_progress");
    assert_eq!(p.count("SELECT COUNT(*) FROM carts"), 0);
}
