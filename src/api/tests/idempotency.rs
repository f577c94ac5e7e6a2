//! Idempotency-Key on storefront and admin POSTs.

mod support;

use lading_api::http::Method::Post;
use lading_core::ports::Platform as _;
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

/// Callers without a cart or a customer have no scope of their own: a key guards their
/// request against running twice, but its answer (a cart token, a secret) is never handed
/// to whoever sends the same key next.
#[test]
fn anonymous_keys_run_once_and_never_hand_one_shoppers_secret_to_another() {
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
    let first = send();
    assert_eq!(first.status, 201);
    let token = first.body_json()["cart_token"].as_str().unwrap().to_owned();
    // A second shopper (or the same one: nothing tells them apart) with the same key.
    let second = send();
    assert_eq!(
        second.status,
        409,
        "{}",
        String::from_utf8_lossy(&second.body)
    );
    assert_eq!(second.body_json()["type"], "idempotency_key_spent");
    assert!(!String::from_utf8_lossy(&second.body).contains(&token));
    assert_eq!(second.get_header("idempotent-replayed"), None);
    assert_eq!(p.count("SELECT COUNT(*) FROM carts"), 1);
    // Its answer is not even kept, sealed or not: only that the key was used.
    assert_eq!(
        p.count("SELECT COUNT(*) FROM idempotency_keys WHERE scope = 'anonymous' AND response_status = 201 AND response_body IS NULL"),
        1
    );
    // With a new key the shopper gets a cart of their own.
    let own = call(
        &p,
        "storefront",
        req(Post, "/v1/carts")
            .header("x-publishable-api-key", &s.pk)
            .header("idempotency-key", "cart-2"),
    );
    assert_eq!(own.status, 201);
    assert_ne!(own.body_json()["cart_token"], token.as_str());
    assert_eq!(p.count("SELECT COUNT(*) FROM carts"), 2);
    // A cart holder's keys are replayed within that cart's scope only.
    let (_, variants) = product(&p, &s, "mug", 1500);
    let add = |cart: &str| {
        call(
            &p,
            "storefront",
            req(Post, "/v1/carts/current/items")
                .header("x-publishable-api-key", &s.pk)
                .header("x-cart-token", cart)
                .header("idempotency-key", "add-1")
                .json_body(&json!({ "variant_id": variants[0], "quantity": 1 })),
        )
    };
    assert_eq!(add(&token).status, 200);
    let replay = add(&token);
    assert_eq!(replay.get_header("idempotent-replayed"), Some("true"));
    let other_cart = own.body_json()["cart_token"].as_str().unwrap().to_owned();
    let other = add(&other_cart);
    assert_eq!(other.status, 200);
    assert_eq!(
        other.get_header("idempotent-replayed"),
        None,
        "another cart, another scope"
    );
    assert_eq!(p.count("SELECT COUNT(*) FROM cart_items"), 2);
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

/// A claim left by a request that died answers 409 during its lease; after it, the next
/// retry runs the operation — exactly one of two racing retries — and the dead request's
/// late answer cannot overwrite the retry's.
#[test]
fn a_claim_whose_request_died_is_retried_after_its_lease_exactly_once() {
    use lading_api::idempotency::{
        Claim, LEASE_MS, Scope, claim, complete, lookup_of, request_hash,
    };
    let p = TestPlatform::new();
    let s = create_store(&p, "AB");
    let body = json!({ "title": "After a crash", "status": "active" });
    let create = || {
        req(Post, "/admin/api/v1/products")
            .header("authorization", &format!("Bearer {}", s.admin))
            .header("idempotency-key", "crash-1")
            .json_body(&body)
    };
    // The request that died: its claim, no response.
    let dead = match run(claim(
        &p,
        &s.id,
        Scope::Caller("dead-caller"),
        "crash-1",
        &request_hash(&create()),
    ))
    .unwrap()
    {
        Claim::Proceed(t) => t,
        Claim::Replay(_) => panic!("a first use proceeds"),
    };
    p.exec(&format!(
        "UPDATE idempotency_keys SET scope = (SELECT 'admin:' || id FROM admin_keys WHERE store_id = '{}' LIMIT 1) WHERE key = '{}'",
        s.id,
        lookup_of("crash-1")
    ));
    let during = call(&p, "admin", create());
    assert_eq!(during.status, 409);
    assert_eq!(
        during.body_json()["type"],
        "idempotency_request_in_progress"
    );
    assert_eq!(during.get_header("retry-after"), Some("1"));
    assert_eq!(p.count("SELECT COUNT(*) FROM products"), 0);

    p.advance_ms(LEASE_MS);
    // Two retries race for the expired claim: the first upsert takes it, the second sees
    // the new lease.
    let scope = p.text("SELECT scope FROM idempotency_keys");
    let hash = request_hash(&create());
    let first = run(claim(&p, &s.id, Scope::Caller(&scope), "crash-1", &hash)).unwrap();
    let second = run(claim(&p, &s.id, Scope::Caller(&scope), "crash-1", &hash));
    assert!(matches!(first, Claim::Proceed(_)));
    assert_eq!(
        second.err().map(|e| e.kind),
        Some("idempotency_request_in_progress".into())
    );
    // The winner's lease ends too (it never completes), and a whole request then runs once.
    p.advance_ms(LEASE_MS);
    let retried = call(&p, "admin", create());
    assert_eq!(
        retried.status,
        201,
        "{}",
        String::from_utf8_lossy(&retried.body)
    );
    let raced = call(&p, "admin", create());
    assert_eq!(raced.get_header("idempotent-replayed"), Some("true"));
    assert_eq!(raced.body_json()["id"], retried.body_json()["id"]);
    assert_eq!(p.count("SELECT COUNT(*) FROM products"), 1);
    assert_eq!(
        p.count("SELECT COUNT(*) FROM audit_log WHERE action = 'product.create'"),
        1
    );
    // The dead request wakes up and tries to save its answer: the row is not its own.
    run(complete(
        &p,
        &dead,
        &lading_api::http::Response::json(500, &json!({ "late": true })),
    ))
    .unwrap();
    let again = call(&p, "admin", create());
    assert_eq!(again.body_json()["id"], retried.body_json()["id"]);
}

#[test]
fn a_key_still_in_flight_gets_409() {
    let p = TestPlatform::new();
    let s = create_store(&p, "AB");
    p.exec(&format!(
        "INSERT INTO idempotency_keys (store_id, scope, key, request_hash, created_at, claim, locked_until) VALUES ('{}', 'anonymous', '{}', '{}', 0, 'claim_other', {})",
        s.id,
        lading_api::idempotency::lookup_of("busy"),
        lading_api::idempotency::request_hash(&req(Post, "/v1/carts")),
        p.now_ms() + 1000
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

/// A saved response opens only with its own key and row: a row's sealed answer copied to
/// another row is refused, never replayed.
#[test]
fn a_saved_response_moved_to_another_row_does_not_open() {
    let p = TestPlatform::new();
    let s = create_store(&p, "AB");
    let send = |key: &str, title: &str| {
        call(
            &p,
            "admin",
            req(Post, "/admin/api/v1/products")
                .header("authorization", &format!("Bearer {}", s.admin))
                .header("idempotency-key", key)
                .json_body(&json!({ "title": title })),
        )
    };
    assert_eq!(send("a", "A").status, 201);
    assert_eq!(send("b", "B").status, 201);
    p.exec(&format!(
        "UPDATE idempotency_keys SET response_body = (SELECT response_body FROM idempotency_keys WHERE key = '{}') WHERE key = '{}'",
        lading_api::idempotency::lookup_of("a"),
        lading_api::idempotency::lookup_of("b")
    ));
    let r = send("b", "B");
    assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(p.count("SELECT COUNT(*) FROM products"), 2);
}
