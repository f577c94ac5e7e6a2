use crate::support::*;
use futures::future::{FutureExt, LocalBoxFuture, join_all};
use lading_e2e::WORKERS;
use serde_json::json;

pub type Test = for<'a> fn(&'a Ctx<'a>) -> LocalBoxFuture<'a, ()>;

macro_rules! tests {
    ($($name:ident),+ $(,)?) => {
        pub const ALL: &[(&str, Test)] = &[$((stringify!($name), |c| $name(c).boxed_local())),+];
    };
}
pub(crate) use tests;

tests!(
    every_worker_answers_healthz_with_a_request_id,
    methods_are_read_as_sent_and_bodies_must_be_objects,
    a_product_created_through_the_admin_api_is_listed_by_the_storefront,
    a_guest_cart_is_priced_from_d1_and_ignores_client_prices,
    customers_sign_in_with_rs256_es256_and_hs256_tokens_and_merge_their_guest_cart,
    another_customers_or_another_stores_cart_is_not_found,
    bad_cart_input_gets_problem_json_and_changes_nothing,
    bad_keys_and_tokens_get_401_and_change_nothing,
    idempotency_keys_replay_and_refuse_another_body,
    every_admin_route_refuses_a_missing_or_wrong_key,
    the_openapi_documents_match_the_live_routes,
    the_hourly_cron_abandons_carts_idle_for_48_hours,
    concurrent_adds_to_one_line_add_up_exactly,
    workers_log_json_lines_with_the_request_id,
    an_unreachable_identity_provider_gives_502_and_writes_nothing,
    duplicate_slugs_and_skus_are_typed_conflicts_on_d1,
    roles_are_enforced_on_the_admin_api,
);

async fn every_worker_answers_healthz_with_a_request_id(c: &Ctx<'_>) {
    for w in WORKERS {
        let r = c
            .client
            .get(&format!("{}/healthz", c.stack.worker(w)))
            .send()
            .await;
        assert_eq!(r.status, 200, "{w}: {}", r.text);
        assert_eq!(r.body, json!({ "status": "ok", "worker": w, "d1": "ok" }));
        assert!(
            r.header("x-request-id")
                .is_some_and(|id| id.starts_with("req_")),
            "{w} sends x-request-id"
        );
        let nope = c
            .client
            .get(&format!("{}/no-such-path", c.stack.worker(w)))
            .send()
            .await;
        assert_problem(&nope, 404, "route_not_found");
    }
}

async fn a_product_created_through_the_admin_api_is_listed_by_the_storefront(c: &Ctx<'_>) {
    let s = c.store().await;
    let (id, vids) = c.product(&s, "harbour-print", 2900).await;
    let r = c
        .admin(
            &s,
            "PUT",
            &format!(
                "/admin/api/v1/variants/{}/provider-mappings/printful",
                vids[0]
            ),
        )
        .json(&json!({ "external_variant_id": "4012", "cost_amount": 1250 }))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let list = c.shop(&s, "GET", "/v1/products").send().await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.body["data"][0]["id"], id.as_str());
    assert_eq!(
        list.body["data"][0]["variants"][0]["price"],
        json!({ "amount": 2900, "currency": "USD" })
    );
    assert!(
        list.body["data"][0]["variants"][0]
            .get("provider_mappings")
            .is_none(),
        "costs stay private"
    );
    let one = c.shop(&s, "GET", "/v1/products/harbour-print").send().await;
    assert_eq!(one.body["id"], id.as_str());
    // Archived → gone from the storefront.
    c.admin(&s, "POST", &format!("/admin/api/v1/products/{id}/archive"))
        .send()
        .await;
    assert_problem(
        &c.shop(&s, "GET", "/v1/products/harbour-print").send().await,
        404,
        "product_not_found",
    );
    // CORS for browser storefronts.
    let pre = c
        .client
        .call("OPTIONS", &c.sf("/v1/products"))
        .header("origin", "https://shop.example")
        .send()
        .await;
    assert_eq!(pre.status, 204);
    assert_eq!(pre.header("access-control-allow-origin"), Some("*"));
}

async fn a_guest_cart_is_priced_from_d1_and_ignores_client_prices(c: &Ctx<'_>) {
    let s = c.store().await;
    let (_, v) = c.product(&s, "cart-poster", 2500).await;
    let t = c.guest_cart(&s).await;
    assert!(t.len() >= 3 + 26, "≥ 128 random bits");
    let add = c.shop(&s, "POST", "/v1/carts/current/items").header("x-cart-token", &t)
        .json(&json!({ "variant_id": v[0], "quantity": 2, "unit_price": 1, "price": { "amount": 1 } })).send().await;
    assert_eq!(add.status, 200, "{}", add.text);
    assert_eq!(add.body["subtotal"], 5000);
    let add2 = c
        .shop(&s, "POST", "/v1/carts/current/items")
        .header("x-cart-token", &t)
        .json(&json!({ "variant_id": v[0], "quantity": 1 }))
        .send()
        .await;
    assert_eq!(
        add2.body["items"][0]["quantity"], 3,
        "same variant and options add up"
    );
    let add3 = c
        .shop(&s, "POST", "/v1/carts/current/items")
        .header("x-cart-token", &t)
        .json(&json!({ "variant_id": v[1], "quantity": 1 }))
        .send()
        .await;
    let digital_line = add3.body["items"][1]["id"].as_str().unwrap().to_owned();
    let upd = c
        .shop(
            &s,
            "PATCH",
            &format!("/v1/carts/current/items/{digital_line}"),
        )
        .header("x-cart-token", &t)
        .json(&json!({ "quantity": 4 }))
        .send()
        .await;
    assert_eq!(upd.body["items"][1]["quantity"], 4);
    // Changing the catalog price changes the cart: prices are read from D1 every time.
    c.admin(&s, "PATCH", &format!("/admin/api/v1/variants/{}", v[0]))
        .json(&json!({ "price_amount": 3000 }))
        .send()
        .await;
    let now = c
        .shop(&s, "GET", "/v1/carts/current")
        .header("x-cart-token", &t)
        .send()
        .await;
    assert_eq!(now.body["subtotal"], 3 * 3000 + 4 * 1250);
    let del = c
        .shop(
            &s,
            "DELETE",
            &format!("/v1/carts/current/items/{digital_line}"),
        )
        .header("x-cart-token", &t)
        .send()
        .await;
    assert_eq!(del.body["items"].as_array().unwrap().len(), 1);
    // The token is stored hashed only.
    let plain: i64 = c
        .stack
        .d1()
        .query_row(
            "SELECT COUNT(*) FROM carts WHERE token_hash = ?1",
            [&t],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(plain, 0);
}

async fn customers_sign_in_with_rs256_es256_and_hs256_tokens_and_merge_their_guest_cart(
    c: &Ctx<'_>,
) {
    let s = c.store().await;
    let (_, v) = c.product(&s, "merge-me", 1000).await;
    for (alg, sub) in [
        ("RS256", "rsa-user"),
        ("ES256", "ec-user"),
        ("HS256", "hs-user"),
    ] {
        let jwt = c.token(sub, alg, json!({})).await;
        let r = c.shop(&s, "POST", "/v1/carts").bearer(&jwt).send().await;
        assert_eq!(r.status, 201, "{alg}: {}", r.text);
        assert!(r.body.get("cart_token").is_none());
    }
    let jwt = c.token("merger", "RS256", json!({})).await;
    c.shop(&s, "POST", "/v1/carts/current/items")
        .bearer(&jwt)
        .json(&json!({ "variant_id": v[0], "quantity": 2 }))
        .send()
        .await;
    let t = c.guest_cart(&s).await;
    c.shop(&s, "POST", "/v1/carts/current/items")
        .header("x-cart-token", &t)
        .json(&json!({ "variant_id": v[0], "quantity": 3 }))
        .send()
        .await;
    c.shop(&s, "POST", "/v1/carts/current/items")
        .header("x-cart-token", &t)
        .json(&json!({ "variant_id": v[1], "quantity": 1 }))
        .send()
        .await;
    let m = c
        .shop(&s, "POST", "/v1/carts/merge")
        .bearer(&jwt)
        .header("x-cart-token", &t)
        .send()
        .await;
    assert_eq!(m.status, 200, "{}", m.text);
    assert_eq!(m.body["items"][0]["quantity"], 5);
    assert_eq!(m.body["items"][1]["quantity"], 1);
    let guest = c
        .shop(&s, "GET", "/v1/carts/current")
        .header("x-cart-token", &t)
        .send()
        .await;
    assert_eq!(guest.body["status"], "merged");
    let again = c
        .shop(&s, "POST", "/v1/carts/merge")
        .bearer(&jwt)
        .header("x-cart-token", &t)
        .send()
        .await;
    assert_eq!(
        again.body["items"][0]["quantity"], 5,
        "a repeated merge adds nothing"
    );
}

async fn another_customers_or_another_stores_cart_is_not_found(c: &Ctx<'_>) {
    let a = c.store().await;
    let b = c.store().await;
    let (_, v) = c.product(&a, "mine", 700).await;
    let mine = c.guest_cart(&a).await;
    let theirs = c.guest_cart(&a).await;
    let line = c
        .shop(&a, "POST", "/v1/carts/current/items")
        .header("x-cart-token", &theirs)
        .json(&json!({ "variant_id": v[0], "quantity": 1 }))
        .send()
        .await
        .body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_problem(
        &c.shop(&b, "GET", "/v1/carts/current")
            .header("x-cart-token", &mine)
            .send()
            .await,
        404,
        "cart_not_found",
    );
    assert_problem(
        &c.shop(&a, "PATCH", &format!("/v1/carts/current/items/{line}"))
            .header("x-cart-token", &mine)
            .json(&json!({ "quantity": 2 }))
            .send()
            .await,
        404,
        "cart_item_not_found",
    );
    assert_problem(
        &c.shop(&a, "DELETE", &format!("/v1/carts/current/items/{line}"))
            .header("x-cart-token", &mine)
            .send()
            .await,
        404,
        "cart_item_not_found",
    );
    let alice = c.token("alice", "RS256", json!({})).await;
    let bob = c.token("bob", "RS256", json!({})).await;
    let aline = c
        .shop(&a, "POST", "/v1/carts/current/items")
        .bearer(&alice)
        .json(&json!({ "variant_id": v[0], "quantity": 1 }))
        .send()
        .await
        .body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_problem(
        &c.shop(&a, "GET", "/v1/carts/current")
            .bearer(&bob)
            .send()
            .await,
        404,
        "cart_not_found",
    );
    assert_problem(
        &c.shop(&a, "DELETE", &format!("/v1/carts/current/items/{aline}"))
            .bearer(&bob)
            .send()
            .await,
        404,
        "cart_not_found",
    );
    // Store B's variant cannot go into a store A cart.
    let (_, bv) = c.product(&b, "theirs", 100).await;
    assert_problem(
        &c.shop(&a, "POST", "/v1/carts/current/items")
            .bearer(&alice)
            .json(&json!({ "variant_id": bv[0], "quantity": 1 }))
            .send()
            .await,
        422,
        "validation_failed",
    );
}

async fn bad_cart_input_gets_problem_json_and_changes_nothing(c: &Ctx<'_>) {
    let s = c.store().await;
    let (_, v) = c.product(&s, "strict", 1500).await;
    let (old, ov) = c.product(&s, "retired", 100).await;
    c.admin(&s, "POST", &format!("/admin/api/v1/products/{old}/archive"))
        .send()
        .await;
    let t = c.guest_cart(&s).await;
    c.shop(&s, "POST", "/v1/carts/current/items")
        .header("x-cart-token", &t)
        .json(&json!({ "variant_id": v[0], "quantity": 98 }))
        .send()
        .await;
    let before = c.rows_at_rest().await;
    for (body, status, kind) in [
        (
            json!({ "variant_id": "var_01unknown", "quantity": 1 }),
            422,
            "validation_failed",
        ),
        (
            json!({ "variant_id": ov[0], "quantity": 1 }),
            422,
            "validation_failed",
        ),
        (
            json!({ "variant_id": v[0], "quantity": 0 }),
            422,
            "validation_failed",
        ),
        (
            json!({ "variant_id": v[0], "quantity": 1_000_000_000_000i64 }),
            422,
            "validation_failed",
        ),
        (
            json!({ "variant_id": v[0], "quantity": 2 }),
            422,
            "validation_failed",
        ),
        (json!({ "variant_id": v[0] }), 422, "validation_failed"),
        (json!([1, 2]), 422, "validation_failed"),
    ] {
        let r = c
            .shop(&s, "POST", "/v1/carts/current/items")
            .header("x-cart-token", &t)
            .json(&body)
            .send()
            .await;
        assert_problem(&r, status, kind);
    }
    let r = c
        .shop(&s, "POST", "/v1/carts/current/items")
        .header("x-cart-token", &t)
        .raw("application/json", "{\"variant_id\": ")
        .send()
        .await;
    assert_problem(&r, 400, "malformed_json");
    let r = c
        .shop(&s, "POST", "/v1/carts/current/items")
        .header("x-cart-token", &t)
        .raw("text/plain", "variant_id=1")
        .send()
        .await;
    assert_problem(&r, 415, "unsupported_media_type");
    let r = c
        .shop(&s, "PATCH", "/v1/carts/current/items/ci_x")
        .header("x-cart-token", &t)
        .json(&json!({ "quantity": -1 }))
        .send()
        .await;
    assert_problem(&r, 422, "validation_failed");
    let r = c
        .shop(&s, "PUT", "/v1/carts/current")
        .header("x-cart-token", &t)
        .json(&json!({}))
        .send()
        .await;
    assert_problem(&r, 405, "method_not_allowed");
    let r = c.admin(&s, "POST", "/admin/api/v1/products").json(&json!({ "title": "Bad", "variants": [{ "sku": "x y", "kind": "physical", "price_amount": 1 }] })).send().await;
    assert_problem(&r, 422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "variants[0].sku");
    assert_eq!(c.rows(), before, "rejected requests wrote nothing");
}

async fn bad_keys_and_tokens_get_401_and_change_nothing(c: &Ctx<'_>) {
    let s = c.store().await;
    let before = c.rows_at_rest().await;
    assert_problem(
        &c.client.post(&c.sf("/v1/carts")).send().await,
        401,
        "publishable_key_missing",
    );
    assert_problem(
        &c.client
            .post(&c.sf("/v1/carts"))
            .header("x-publishable-api-key", "pk_wrong")
            .send()
            .await,
        401,
        "publishable_key_invalid",
    );
    let expired = c.token("late", "RS256", json!({ "exp_in": -3600 })).await;
    let not_yet = c.token("early", "ES256", json!({ "nbf_in": 3600 })).await;
    let wrong_aud = c
        .token("aud", "RS256", json!({ "aud": "another-app" }))
        .await;
    let wrong_iss = c
        .token("iss", "RS256", json!({ "iss": "https://evil.example/" }))
        .await;
    let mut forged = c.token("forged", "RS256", json!({})).await;
    let parts: Vec<&str> = forged.split('.').collect();
    let claims = base64_url(
        &serde_json::to_vec(
            &json!({ "sub": "admin", "aud": AUDIENCE, "iss": ISSUER, "exp": 9_999_999_999i64 }),
        )
        .unwrap(),
    );
    forged = format!("{}.{}.{}", parts[0], claims, parts[2]);
    for (name, jwt) in [
        ("expired", expired),
        ("not yet valid", not_yet),
        ("wrong audience", wrong_aud),
        ("wrong issuer", wrong_iss),
        ("forged", forged),
        ("garbage", "not.a.jwt".into()),
    ] {
        let r = c.shop(&s, "POST", "/v1/carts").bearer(&jwt).send().await;
        assert_eq!(r.status, 401, "{name}: {}", r.text);
        assert_problem(&r, 401, "invalid_token");
    }
    assert_eq!(c.rows(), before);
}

fn base64_url(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &x)| acc | (u32::from(x) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

async fn idempotency_keys_replay_and_refuse_another_body(c: &Ctx<'_>) {
    let s = c.store().await;
    let body = json!({ "title": "Idem", "status": "active" });
    let first = c
        .admin(&s, "POST", "/admin/api/v1/products")
        .header("idempotency-key", "idem-1")
        .json(&body)
        .send()
        .await;
    let again = c
        .admin(&s, "POST", "/admin/api/v1/products")
        .header("idempotency-key", "idem-1")
        .json(&body)
        .send()
        .await;
    assert_eq!(first.status, 201);
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body["id"], first.body["id"]);
    let other = c
        .admin(&s, "POST", "/admin/api/v1/products")
        .header("idempotency-key", "idem-1")
        .json(&json!({ "title": "Other" }))
        .send()
        .await;
    assert_problem(&other, 422, "idempotency_key_reused");
    let n: i64 = c
        .stack
        .d1()
        .query_row(
            "SELECT COUNT(*) FROM products WHERE store_id = ?1",
            [&s.id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);
    // Storefront, anonymous: two shoppers send the same key at once. One cart is made;
    // the other shopper gets a 4xx (in progress or spent), never the first one's token.
    let (a, b) = tokio::join!(
        c.shop(&s, "POST", "/v1/carts")
            .header("idempotency-key", "cart-xyz")
            .send(),
        c.shop(&s, "POST", "/v1/carts")
            .header("idempotency-key", "cart-xyz")
            .send()
    );
    let (made, refused) = if a.status == 201 { (a, b) } else { (b, a) };
    assert_eq!(made.status, 201, "{:?}", made.body);
    assert_eq!(refused.status, 409, "{:?}", refused.body);
    assert!(
        ["idempotency_key_spent", "idempotency_request_in_progress"]
            .contains(&refused.body["type"].as_str().unwrap_or("")),
        "{:?}",
        refused.body
    );
    let token = made.body["cart_token"].as_str().unwrap();
    assert!(!refused.text.contains(token));
    let later = c
        .shop(&s, "POST", "/v1/carts")
        .header("idempotency-key", "cart-xyz")
        .send()
        .await;
    assert_problem(&later, 409, "idempotency_key_spent");
    let carts: i64 = c
        .stack
        .d1()
        .query_row(
            "SELECT COUNT(*) FROM carts WHERE store_id = ?1",
            [&s.id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(carts, 1);
    // The saved response holds the cart token, but not in plain text.
    let leaks: i64 = c
        .stack
        .d1()
        .query_row(
            "SELECT COUNT(*) FROM idempotency_keys WHERE response_body LIKE ?1 OR key = 'cart-xyz'",
            [format!("%{token}%")],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(leaks, 0);

    // A request that died holding its claim (a row with no answer, lease run out) on local
    // D1: two retries race for the key and the operation runs exactly once.
    let body = json!({ "title": "After a crash", "status": "active" });
    let path = "/admin/api/v1/products";
    let mut probe = lading_api::http::Request::new(lading_api::http::Method::Post, path);
    probe.body = serde_json::to_vec(&body).unwrap();
    let key_id: String = c
        .stack
        .d1()
        .query_row(
            "SELECT id FROM admin_keys WHERE store_id = ?1 AND revoked_at IS NULL LIMIT 1",
            [&s.id],
            |r| r.get(0),
        )
        .unwrap();
    c.stack
        .d1()
        .execute(
            "INSERT INTO idempotency_keys (store_id, scope, key, request_hash, created_at, claim, locked_until) VALUES (?1, ?2, ?3, ?4, 0, 'claim_dead', 1)",
            rusqlite::params![
                s.id,
                format!("admin:{key_id}"),
                lading_api::idempotency::lookup_of("crashed-1"),
                lading_api::idempotency::request_hash(&probe)
            ],
        )
        .unwrap();
    let (a, b) = tokio::join!(
        c.admin(&s, "POST", path)
            .header("idempotency-key", "crashed-1")
            .json(&body)
            .send(),
        c.admin(&s, "POST", path)
            .header("idempotency-key", "crashed-1")
            .json(&body)
            .send()
    );
    let ran: Vec<_> = [&a, &b]
        .into_iter()
        .filter(|r| r.status == 201 && r.header("idempotent-replayed").is_none())
        .collect();
    assert_eq!(
        ran.len(),
        1,
        "exactly one retry runs: {} {:?} / {} {:?}",
        a.status,
        a.body,
        b.status,
        b.body
    );
    for r in [&a, &b] {
        assert!(
            r.status == 201
                || (r.status == 409 && r.body["type"] == "idempotency_request_in_progress"),
            "{} {:?}",
            r.status,
            r.body
        );
    }
    let made: i64 = c
        .stack
        .d1()
        .query_row(
            "SELECT COUNT(*) FROM products WHERE store_id = ?1 AND title = 'After a crash'",
            [&s.id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(made, 1);
}

async fn every_admin_route_refuses_a_missing_or_wrong_key(c: &Ctx<'_>) {
    let _s = c.store().await;
    let doc = c.client.get(&c.adm("/openapi.json")).send().await.body;
    let before = c.rows_at_rest().await;
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/admin/") {
            continue;
        }
        let concrete = path
            .replace("{product_id}", "prod_x")
            .replace("{variant_id}", "var_x")
            .replace("{key_id}", "akey_x")
            .replace("{provider}", "printful");
        for method in ops.as_object().unwrap().keys() {
            for auth in [
                None,
                Some("Bearer lak_not_a_real_key"),
                Some("Basic Zm9vOmJhcg=="),
            ] {
                let mut call = c
                    .client
                    .call(&method.to_uppercase(), &c.adm(&concrete))
                    .json(&json!({}));
                if let Some(a) = auth {
                    call = call.header("authorization", a);
                }
                let r = call.send().await;
                // A signed file link's credential is its signature (403 without it).
                let expected = if ops[method]["security"] == json!([]) {
                    403
                } else {
                    401
                };
                assert_eq!(
                    r.status, expected,
                    "{method} {concrete} with {auth:?}: {}",
                    r.text
                );
                checked += 1;
            }
        }
    }
    // Every admin route of the route tables (the sales and operations routes forwarded too), three
    // ways each.
    let routes = lading_api::admin::ROUTES
        .iter()
        .map(|r| r.pattern)
        .chain(lading_api::sales::ROUTES.iter().map(|r| r.pattern))
        .chain(lading_api::operations::ROUTES.iter().map(|r| r.pattern))
        .filter(|p| p.starts_with("/admin/"))
        .count();
    assert!(routes > 40, "{routes} admin routes");
    assert_eq!(checked, routes * 3);
    assert_eq!(c.rows(), before);
}

async fn the_openapi_documents_match_the_live_routes(c: &Ctx<'_>) {
    for (worker, base) in [
        ("storefront", c.stack.worker("storefront")),
        ("admin", c.stack.worker("admin")),
        ("webhooks", c.stack.worker("webhooks")),
    ] {
        let doc = c.client.get(&format!("{base}/openapi.json")).send().await;
        assert_eq!(doc.status, 200);
        assert_eq!(doc.body["openapi"], "3.1.0");
        // What the Worker serves is the generated, checked-in document.
        let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../src/api/openapi/");
        let checked_in = std::fs::read_to_string(format!("{file}{worker}.json")).unwrap();
        assert_eq!(doc.text, checked_in, "{worker}: served document");
        let paths = doc.body["paths"].as_object().unwrap();
        assert!(!paths.is_empty());
        for (path, ops) in paths {
            let concrete = path.replace('{', "x").replace('}', "");
            for method in ops.as_object().unwrap().keys() {
                let r = c
                    .client
                    .call(&method.to_uppercase(), &format!("{base}{concrete}"))
                    .send()
                    .await;
                assert_ne!(
                    r.problem(),
                    Some("route_not_found"),
                    "{worker}: documented {method} {path} is not served"
                );
                assert_ne!(
                    r.problem(),
                    Some("method_not_allowed"),
                    "{worker}: documented {method} {path} is not served"
                );
            }
        }
    }
}

async fn the_hourly_cron_abandons_carts_idle_for_48_hours(c: &Ctx<'_>) {
    let s = c.store().await;
    let idle = c.guest_cart(&s).await;
    let fresh = c.guest_cart(&s).await;
    // Stand in for 49 hours passing: age the idle cart's activity in local D1.
    let d1 = c.stack.d1();
    let hash = sha256_hex(&idle);
    let n = d1.execute("UPDATE carts SET last_activity_at = last_activity_at - 49 * 3600000 WHERE token_hash = ?1", [&hash]).unwrap();
    assert_eq!(n, 1);
    drop(d1);
    let r = c
        .client
        .get(&format!(
            "{}/__cron?cron=0%20*%20*%20*%20*",
            c.stack.worker("scheduler")
        ))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["outcome"], "ok");
    assert_eq!(
        c.shop(&s, "GET", "/v1/carts/current")
            .header("x-cart-token", &idle)
            .send()
            .await
            .body["status"],
        "abandoned"
    );
    assert_eq!(
        c.shop(&s, "GET", "/v1/carts/current")
            .header("x-cart-token", &fresh)
            .send()
            .await
            .body["status"],
        "active"
    );
    let (_, v) = c.product(&s, "late", 100).await;
    let late = c
        .shop(&s, "POST", "/v1/carts/current/items")
        .header("x-cart-token", &idle)
        .json(&json!({ "variant_id": v[0], "quantity": 1 }))
        .send()
        .await;
    assert_problem(&late, 409, "cart_not_active");
    // The scheduler logged the run as one JSON line naming each job.
    let mut logged = false;
    for _ in 0..40 {
        logged = c.stack.wrangler_log().lines().any(|l| {
            l.contains("[lading-scheduler]")
                && l.contains("\"msg\":\"cron\"")
                && l.contains("abandon_idle_carts")
        });
        if logged {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(logged, "the scheduler logs its cron run");
}

fn sha256_hex(s: &str) -> String {
    let out = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut ch| {
            use std::io::Write;
            ch.stdin.take().unwrap().write_all(s.as_bytes())?;
            ch.wait_with_output()
        });
    String::from_utf8_lossy(&out.expect("sha256sum").stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

async fn concurrent_adds_to_one_line_add_up_exactly(c: &Ctx<'_>) {
    let s = c.store().await;
    let (_, v) = c.product(&s, "rush", 100).await;
    let t = c.guest_cart(&s).await;
    let calls = (0..20).map(|_| {
        c.shop(&s, "POST", "/v1/carts/current/items")
            .header("x-cart-token", &t)
            .json(&json!({ "variant_id": v[0], "quantity": 1 }))
            .send()
    });
    let replies = join_all(calls).await;
    assert!(
        replies.iter().all(|r| r.status == 200),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let cart = c
        .shop(&s, "GET", "/v1/carts/current")
        .header("x-cart-token", &t)
        .send()
        .await;
    assert_eq!(cart.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(cart.body["items"][0]["quantity"], 20);
}

async fn workers_log_json_lines_with_the_request_id(c: &Ctx<'_>) {
    let r = c
        .client
        .get(&c.sf("/v1/products"))
        .header("x-request-id", "req_e2e_log_probe")
        .send()
        .await;
    assert_eq!(r.header("x-request-id"), Some("req_e2e_log_probe"));
    let mut found = None;
    for _ in 0..40 {
        found = c
            .stack
            .wrangler_log()
            .lines()
            .find(|l| l.contains("req_e2e_log_probe"))
            .map(str::to_owned);
        if found.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let line = found.expect("a log line with the request id");
    let json_part = &line[line.find('{').expect("JSON")..];
    let v: serde_json::Value = serde_json::from_str(json_part).expect("the log line is JSON");
    assert_eq!(v["worker"], "storefront");
    assert_eq!(v["status"], 401);
    assert_eq!(v["path"], "/v1/products");
    assert_eq!(v["level"], "info");
    assert!(v["ts"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert_eq!(
        v["d1"]["round_trips"], 0,
        "a refused request costs D1 nothing"
    );
    // What each request cost in D1 is on its line: the health check is one `SELECT 1`,
    // and a catalog read reads rows.
    let pk = c.store().await.pk;
    for (rid, path, key) in [
        ("req_e2e_cost_health", "/healthz", None),
        ("req_e2e_cost_catalog", "/v1/products", Some(pk.as_str())),
    ] {
        let mut r = c.client.get(&c.sf(path)).header("x-request-id", rid);
        if let Some(k) = key {
            r = r.header("x-publishable-api-key", k);
        }
        assert_eq!(r.send().await.status, 200, "{path}");
    }
    let mut costs = Vec::new();
    for _ in 0..40 {
        let log = c.stack.wrangler_log();
        costs = ["req_e2e_cost_health", "req_e2e_cost_catalog"]
            .iter()
            .filter_map(|rid| {
                let line = log.lines().find(|l| l.contains(rid))?;
                let v: serde_json::Value = serde_json::from_str(&line[line.find('{')?..]).ok()?;
                Some(v["d1"].clone())
            })
            .collect();
        if costs.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(costs.len(), 2, "both requests logged");
    assert_eq!(costs[0]["round_trips"], 1, "the health check: {}", costs[0]);
    assert_eq!(costs[0]["rows_written"], 0);
    assert!(
        costs[1]["round_trips"].as_u64().is_some_and(|n| n >= 1)
            && costs[1]["rows_read"].as_u64().is_some_and(|n| n >= 1)
            && costs[1]["rows_written"] == 0,
        "the catalog read: {}",
        costs[1]
    );
}

async fn an_unreachable_identity_provider_gives_502_and_writes_nothing(c: &Ctx<'_>) {
    let jwks = format!("{}/idp/.well-known/jwks.json?fresh=1", c.stack.simulator);
    let s = c.store_with_jwks(&jwks).await;
    let jwt = c.token("down", "RS256", json!({})).await;
    c.fault(&json!({ "path_prefix": "/idp/.well-known/", "status": 503 }))
        .await;
    let before = c.rows_at_rest().await;
    let r = c.shop(&s, "POST", "/v1/carts").bearer(&jwt).send().await;
    assert_problem(&r, 502, "upstream_unavailable");
    assert_eq!(c.rows(), before);
    // The simulator logged the attempt; the next try (fault used up) works.
    let log = c
        .client
        .get(&format!(
            "{}/__control/requests?path_prefix=/idp/.well-known/",
            c.stack.simulator
        ))
        .send()
        .await;
    assert!(
        log.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["outcome"] == "503")
    );
    let ok = c.shop(&s, "POST", "/v1/carts").bearer(&jwt).send().await;
    assert_eq!(ok.status, 201, "{}", ok.text);
}

async fn duplicate_slugs_and_skus_are_typed_conflicts_on_d1(c: &Ctx<'_>) {
    let s = c.store().await;
    c.product(&s, "unique", 100).await;
    let before = c.rows_at_rest().await;
    let slug = c
        .admin(&s, "POST", "/admin/api/v1/products")
        .json(&json!({ "title": "Again", "slug": "unique" }))
        .send()
        .await;
    assert_problem(&slug, 409, "slug_taken");
    // The batch is atomic on D1: the product row before the failing variant is not kept.
    let sku = c
        .admin(&s, "POST", "/admin/api/v1/products")
        .json(&json!({ "title": "Other", "slug": "other", "variants": [{ "sku": "unique-A3", "kind": "physical", "price_amount": 1 }] }))
        .send()
        .await;
    assert_problem(&sku, 409, "sku_taken");
    assert_eq!(c.rows(), before);
    // Another store may use the same slug and SKU.
    let t = c.store().await;
    c.product(&t, "unique", 100).await;
}

async fn roles_are_enforced_on_the_admin_api(c: &Ctx<'_>) {
    let s = c.store().await;
    let r = c
        .admin(&s, "POST", "/admin/api/v1/admin-keys")
        .json(&json!({ "role": "support", "label": "helpdesk" }))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let support = Store {
        id: s.id.clone(),
        pk: s.pk.clone(),
        admin_key: r.body["key"].as_str().unwrap().to_owned(),
    };
    assert_eq!(
        c.admin(&support, "GET", "/admin/api/v1/products")
            .send()
            .await
            .status,
        200
    );
    assert_problem(
        &c.admin(&support, "POST", "/admin/api/v1/products")
            .json(&json!({ "title": "No" }))
            .send()
            .await,
        403,
        "forbidden",
    );
    assert_problem(
        &c.admin(&support, "GET", "/admin/api/v1/admin-keys")
            .send()
            .await,
        403,
        "forbidden",
    );
    // The bootstrap key creates stores and nothing else.
    let boot = Store {
        id: s.id.clone(),
        pk: s.pk.clone(),
        admin_key: c.stack.bootstrap_key.clone(),
    };
    assert_problem(
        &c.admin(&boot, "GET", "/admin/api/v1/products").send().await,
        403,
        "forbidden",
    );
    // A revoked key stops working at once.
    let id = r.body["id"].as_str().unwrap();
    assert_eq!(
        c.admin(&s, "DELETE", &format!("/admin/api/v1/admin-keys/{id}"))
            .send()
            .await
            .status,
        204
    );
    assert_problem(
        &c.admin(&support, "GET", "/admin/api/v1/products")
            .send()
            .await,
        401,
        "admin_key_invalid",
    );
}

/// The runtime's request binding maps methods it does not know to GET; the Workers read
/// the raw method instead. A JSON array is never read field by field into a struct.
async fn methods_are_read_as_sent_and_bodies_must_be_objects(c: &Ctx<'_>) {
    let s = c.store().await;
    let before = c.rows_at_rest().await;
    let r = c.shop(&s, "QUERY", "/v1/products").send().await;
    assert_problem(&r, 501, "method_not_implemented");
    assert!(r.body["detail"].as_str().unwrap().contains("QUERY"));
    let r = c.shop(&s, "PUT", "/v1/products").send().await;
    assert_problem(&r, 405, "method_not_allowed");
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    let r = c
        .admin(&s, "POST", "/admin/api/v1/products")
        .json(&json!(["Array product"]))
        .send()
        .await;
    assert_problem(&r, 422, "validation_failed");
    assert_eq!(r.body["detail"], "The body must be a JSON object.");
    assert_eq!(c.rows(), before, "nothing written");
}
