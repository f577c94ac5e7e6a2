//! Customer JWTs and admin keys.

mod support;

use jsonwebtoken::Algorithm;
use lading_api::admin::ROUTES;
use lading_api::http::Method::{Get, Post};
use serde_json::json;
use support::*;

#[test]
fn hs256_rs256_and_es256_tokens_are_accepted() {
    let p = TestPlatform::new();
    let s = create_store(&p, "AB");
    for jwt in [
        hs256(&p, "u1", AUDIENCE, 600),
        signed(&p, Algorithm::RS256, "u2"),
        signed(&p, Algorithm::ES256, "u3"),
    ] {
        let r = shop_as(&p, &s, &jwt, Post, "/v1/carts", None, None);
        assert_eq!(r.status, 201, "{:?}", r.body_json());
    }
    assert_eq!(p.count("SELECT COUNT(*) FROM customers"), 3);
    // The JWKS was fetched once and cached.
    assert_eq!(p.http.calls.get(), 1);
}

#[test]
fn expired_forged_or_misaddressed_tokens_are_refused_and_change_nothing() {
    let p = TestPlatform::new();
    let s = create_store(&p, "AB");
    let before = p.row_counts();
    let expired = hs256(&p, "u", AUDIENCE, -3600);
    let wrong_aud = hs256(&p, "u", "someone-else", 600);
    let mut forged = hs256(&p, "u", AUDIENCE, 600);
    forged.pop();
    forged.push(if forged.ends_with('A') { 'B' } else { 'A' });
    let other_key = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        &json!({ "sub": "u", "iss": ISSUER, "aud": AUDIENCE, "exp": p.now.get() / 1000 + 600 }),
        &jsonwebtoken::EncodingKey::from_secret(b"not-the-store-secret-not-the-store-secret"),
    )
    .unwrap();
    let none_alg = format!(
        "{}.{}.",
        b64(r#"{"alg":"none","typ":"JWT"}"#),
        b64(&format!(
            r#"{{"sub":"u","iss":"{ISSUER}","aud":"{AUDIENCE}","exp":9999999999}}"#
        ))
    );
    for (name, jwt) in [
        ("expired", expired),
        ("wrong audience", wrong_aud),
        ("forged", forged),
        ("other key", other_key),
        ("alg none", none_alg),
        ("garbage", "abc".into()),
    ] {
        let r = shop_as(&p, &s, &jwt, Post, "/v1/carts", None, None);
        assert_eq!(r.status, 401, "{name}");
        assert_eq!(r.body_json()["type"], "invalid_token", "{name}");
    }
    let r = call(
        &p,
        "storefront",
        req(Get, "/v1/carts/current")
            .header("x-publishable-api-key", &s.pk)
            .header("authorization", "Basic abc"),
    );
    assert_eq!(r.status, 401);
    assert_eq!(p.row_counts(), before);
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

#[test]
fn a_token_becomes_valid_at_nbf_and_invalid_after_exp() {
    let p = TestPlatform::new();
    let s = create_store(&p, "AB");
    let jwt = hs256(&p, "u", AUDIENCE, 120);
    assert_eq!(
        shop_as(&p, &s, &jwt, Post, "/v1/carts", None, None).status,
        201
    );
    p.advance_ms(200_000);
    assert_eq!(
        shop_as(&p, &s, &jwt, Get, "/v1/carts/current", None, None).status,
        401
    );
}

#[test]
fn every_admin_route_refuses_a_missing_or_wrong_key() {
    let p = TestPlatform::new();
    let _s = create_store(&p, "AB");
    let before = p.row_counts();
    for r in ROUTES.iter().filter(|r| r.pattern.starts_with("/admin/")) {
        let path = r
            .pattern
            .replace("{product_id}", "prod_x")
            .replace("{variant_id}", "var_x")
            .replace("{key_id}", "akey_x")
            .replace("{provider}", "printful");
        for auth in [
            None,
            Some("Bearer lak_wrong"),
            Some("Bearer "),
            Some("Token abc"),
        ] {
            let mut rq = req(r.method, &path).json_body(&json!({}));
            if let Some(a) = auth {
                rq = rq.header("authorization", a);
            }
            let resp = call(&p, "admin", rq);
            // Signed links carry their credential in the URL: without it, 403.
            let expected = if r.pattern.contains("/customer-files/") {
                403
            } else {
                401
            };
            assert_eq!(
                resp.status,
                expected,
                "{} {path} with {auth:?}",
                r.method.as_str()
            );
            assert_eq!(
                resp.get_header("content-type"),
                Some("application/problem+json")
            );
        }
    }
    assert_eq!(p.row_counts(), before);
}

#[test]
fn roles_limit_what_a_key_can_do() {
    let p = TestPlatform::new();
    let s = create_store(&p, "AB");
    let r = admin(
        &p,
        &s,
        Post,
        "/admin/api/v1/admin-keys",
        Some(json!({ "role": "support", "label": "helpdesk" })),
    );
    assert_eq!(r.status, 201);
    let support = Store {
        id: s.id.clone(),
        pk: s.pk.clone(),
        admin: r.body_json()["key"].as_str().unwrap().into(),
    };
    assert_eq!(
        admin(&p, &support, Get, "/admin/api/v1/products", None).status,
        200
    );
    let r = admin(
        &p,
        &support,
        Post,
        "/admin/api/v1/products",
        Some(json!({ "title": "No" })),
    );
    assert_eq!(r.status, 403);
    assert_eq!(
        admin(
            &p,
            &support,
            Post,
            "/admin/api/v1/admin-keys",
            Some(json!({ "role": "superadmin", "label": "x" }))
        )
        .status,
        403
    );
    // The bootstrap key creates stores and nothing else; store keys cannot create stores.
    let boot = Store {
        id: s.id.clone(),
        pk: s.pk.clone(),
        admin: BOOTSTRAP.into(),
    };
    assert_eq!(
        admin(&p, &boot, Get, "/admin/api/v1/products", None).status,
        403
    );
    assert_eq!(
        admin(
            &p,
            &s,
            Post,
            "/admin/api/v1/stores",
            Some(json!({ "name": "x", "order_prefix": "XX", "currency": "USD" }))
        )
        .status,
        403
    );
    // With x-store-id the bootstrap key is that store's superadmin (recovery); it lists stores.
    let as_boot = |path: &str, store: Option<&str>| {
        let mut r = req(Get, path).header("authorization", &format!("Bearer {BOOTSTRAP}"));
        if let Some(id) = store {
            r = r.header("x-store-id", id);
        }
        call(&p, "admin", r)
    };
    assert_eq!(as_boot("/admin/api/v1/admin-keys", Some(&s.id)).status, 200);
    assert_eq!(
        as_boot("/admin/api/v1/products", Some("store_unknown")).status,
        404
    );
    let stores = as_boot("/admin/api/v1/stores", None).body_json();
    assert_eq!(stores["data"][0]["id"], s.id.as_str());
    assert_eq!(
        admin(&p, &s, Get, "/admin/api/v1/stores", None).status,
        403,
        "store keys cannot list stores"
    );
    // Keys are hashed at rest and can be revoked.
    let key = support.admin.clone();
    assert_eq!(
        p.count(&format!(
            "SELECT COUNT(*) FROM admin_keys WHERE key_hash = '{key}' OR key_prefix = '{key}'"
        )),
        0
    );
    let list = admin(&p, &s, Get, "/admin/api/v1/admin-keys", None).body_json();
    let id = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["role"] == "support")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        admin(
            &p,
            &s,
            lading_api::http::Method::Delete,
            &format!("/admin/api/v1/admin-keys/{id}"),
            None
        )
        .status,
        204
    );
    assert_eq!(
        admin(&p, &support, Get, "/admin/api/v1/products", None).status,
        401
    );
}

#[test]
fn a_superadmin_changes_a_keys_role_and_it_counts_from_the_next_request() {
    use lading_api::http::Method::Patch;
    let p = TestPlatform::new();
    let s = create_store(&p, "AB");
    let created = admin(
        &p,
        &s,
        Post,
        "/admin/api/v1/admin-keys",
        Some(json!({ "role": "support", "label": "helpdesk" })),
    )
    .body_json();
    let helper = Store {
        id: s.id.clone(),
        pk: s.pk.clone(),
        admin: created["key"].as_str().unwrap().into(),
    };
    let key_path = format!(
        "/admin/api/v1/admin-keys/{}",
        created["id"].as_str().unwrap()
    );
    let audit = |who: &Store| admin(&p, who, Get, "/admin/api/v1/audit-log", None).status;
    assert_eq!(audit(&helper), 403, "support cannot read the audit log");

    let r = admin(&p, &s, Patch, &key_path, Some(json!({ "role": "admin" })));
    assert_eq!(r.status, 200, "{:?}", r.body_json());
    let b = r.body_json();
    assert_eq!(
        (b["role"].as_str(), b["label"].as_str()),
        (Some("admin"), Some("helpdesk"))
    );
    assert_eq!(
        b["key_prefix"].as_str(),
        Some(&helper.admin[..12]),
        "same key"
    );
    assert!(b.get("key").is_none(), "the secret is never shown again");
    assert_eq!(audit(&helper), 200, "the same key is an admin now");
    // Only superadmins manage keys.
    assert_eq!(
        admin(
            &p,
            &helper,
            Patch,
            &key_path,
            Some(json!({ "role": "superadmin" }))
        )
        .status,
        403
    );

    // Refusals are problems and change nothing.
    let own_id = admin(&p, &s, Get, "/admin/api/v1/admin-keys", None).body_json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key_prefix"].as_str() == Some(&s.admin[..12]))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let own_path = format!("/admin/api/v1/admin-keys/{own_id}");
    let before = p.row_counts();
    let keys_before = p.count("SELECT COUNT(*) FROM admin_keys WHERE role = 'admin'");
    for (path, body, status, kind) in [
        (
            &own_path,
            json!({ "role": "support" }),
            409,
            "cannot_change_own_role",
        ),
        (&key_path, json!({}), 422, "validation_failed"),
        (
            &key_path,
            json!({ "role": "owner" }),
            422,
            "validation_failed",
        ),
        (&key_path, json!({ "label": "" }), 422, "validation_failed"),
        (
            &key_path,
            json!({ "role": "support", "scopes": ["all"] }),
            422,
            "validation_failed",
        ),
        (
            &"/admin/api/v1/admin-keys/akey_missing".to_owned(),
            json!({ "role": "support" }),
            404,
            "admin_key_not_found",
        ),
    ] {
        let r = admin(&p, &s, Patch, path, Some(body.clone()));
        assert_eq!(r.status, status, "{body}: {:?}", r.body_json());
        assert_eq!(
            r.get_header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(r.body_json()["type"], kind, "{body}");
    }
    assert_eq!(p.row_counts(), before, "refusals write nothing");
    assert_eq!(
        p.count("SELECT COUNT(*) FROM admin_keys WHERE role = 'admin'"),
        keys_before
    );
    // A superadmin may rename its own key, keeping its role.
    let r = admin(
        &p,
        &s,
        Patch,
        &own_path,
        Some(json!({ "label": "owner", "role": "superadmin" })),
    );
    assert_eq!(r.status, 200, "{:?}", r.body_json());

    // Demoted: the next request has the old rights only; the change is in the audit log.
    let r = admin(
        &p,
        &s,
        Patch,
        &key_path,
        Some(json!({ "role": "support", "label": "night shift" })),
    );
    assert_eq!(r.status, 200);
    assert_eq!(audit(&helper), 403);
    let log = admin(&p, &s, Get, "/admin/api/v1/audit-log", None).body_json();
    let updates: Vec<_> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "admin_key.update")
        .map(|e| {
            (
                e["target_id"].clone(),
                e["detail"]["request"]["role"].clone(),
            )
        })
        .collect();
    assert_eq!(updates.len(), 3, "{log}");
    let create = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "admin_key.create")
        .unwrap();
    assert_eq!(
        (&create["target_type"], &create["target_id"]),
        (&json!("admin_key"), &created["id"]),
        "a creation names what it made"
    );
    assert!(create["detail"].get("request").is_none(), "nor its body");
    assert!(
        updates.contains(&(created["id"].clone(), json!("support"))),
        "{log}"
    );
    // A revoked key cannot be given a role again.
    assert_eq!(
        admin(&p, &s, lading_api::http::Method::Delete, &key_path, None).status,
        204
    );
    assert_eq!(
        admin(&p, &s, Patch, &key_path, Some(json!({ "role": "admin" }))).status,
        404
    );
}

#[test]
fn store_settings_hide_the_identity_secret() {
    let p = TestPlatform::new();
    let s = create_store(&p, "AB");
    let b = admin(&p, &s, Get, "/admin/api/v1/store", None).body_json();
    assert_eq!(b["settings"]["identity"]["hs256_secret"], "********");
    assert_eq!(
        b["settings"]["shipping"],
        json!({ "flat_amount": 999, "free_from_amount": 15000 })
    );
    let mut settings = b["settings"].clone();
    settings["success_url"] = json!("https://shop.example/thanks");
    let r = admin(
        &p,
        &s,
        lading_api::http::Method::Patch,
        "/admin/api/v1/store",
        Some(json!({ "settings": settings })),
    );
    assert_eq!(r.status, 200, "{:?}", r.body_json());
    // The masked secret sent back keeps the real one working.
    assert_eq!(
        shop_as(
            &p,
            &s,
            &hs256(&p, "u", AUDIENCE, 60),
            Post,
            "/v1/carts",
            None,
            None
        )
        .status,
        201
    );
}

#[test]
fn keys_are_matched_to_the_algorithm_and_claims_are_required() {
    let p = TestPlatform::new();
    let s = create_store(&p, "AB");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/idp/");
    let rsa = jsonwebtoken::EncodingKey::from_rsa_pem(
        &std::fs::read(format!("{dir}rsa-private.pem")).unwrap(),
    )
    .unwrap();
    let now = p.now.get() / 1000;
    let sign = |kid: &str, claims: serde_json::Value| {
        let mut h = jsonwebtoken::Header::new(Algorithm::RS256);
        h.kid = Some(kid.into());
        jsonwebtoken::encode(&h, &claims, &rsa).unwrap()
    };
    let good = json!({ "sub": "u", "iss": ISSUER, "aud": [ "other", AUDIENCE ], "exp": now + 60 });
    // An audience list that contains ours is fine.
    assert_eq!(
        shop_as(
            &p,
            &s,
            &sign("sim-rsa-1", good.clone()),
            Post,
            "/v1/carts",
            None,
            None
        )
        .status,
        201
    );
    // An RS256 token naming the EC key's kid finds no usable key.
    let r = shop_as(
        &p,
        &s,
        &sign("sim-ec-1", good.clone()),
        Post,
        "/v1/carts",
        None,
        None,
    );
    assert_eq!(r.status, 401);
    // Every required claim is required.
    for missing in ["sub", "iss", "aud", "exp"] {
        let mut c = good.clone();
        c.as_object_mut().unwrap().remove(missing);
        let r = shop_as(&p, &s, &sign("sim-rsa-1", c), Post, "/v1/carts", None, None);
        assert_eq!(r.status, 401, "{missing}");
        assert!(
            r.body_json()["detail"].as_str().unwrap().contains(missing),
            "{missing}: {:?}",
            r.body_json()
        );
    }
}
