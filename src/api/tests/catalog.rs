//! Catalog through the admin and storefront APIs, natively on SQLite.

mod support;

use lading_api::http::Method::{Delete, Get, Patch, Post, Put};
use serde_json::json;
use support::*;

#[test]
fn an_active_product_created_by_the_admin_is_listed_by_the_storefront() {
    let p = TestPlatform::new();
    let s = create_store(&p, "AB");
    let (prod, _) = product(&p, &s, "mountain", 2500);
    assert_eq!(prod["variants"][0]["provider_mappings"], json!([]));
    let list = shop(&p, &s, Get, "/v1/products", None, None);
    assert_eq!(list.status, 200);
    let b = list.body_json();
    assert_eq!(b["data"][0]["slug"], "mountain");
    assert_eq!(
        b["data"][0]["variants"][0]["price"],
        json!({ "amount": 2500, "currency": "USD" })
    );
    // Shoppers never see asset keys or costs.
    assert!(
        b["data"][0]["variants"][1]
            .get("digital_asset_key")
            .is_none()
    );
    let by_slug = shop(&p, &s, Get, "/v1/products/mountain", None, None);
    assert_eq!(by_slug.body_json()["id"], prod["id"]);
    let by_id = shop(
        &p,
        &s,
        Get,
        &format!("/v1/products/{}", prod["id"].as_str().unwrap()),
        None,
        None,
    );
    assert_eq!(by_id.status, 200);
}

#[test]
fn draft_and_archived_products_are_hidden_from_shoppers() {
    let p = TestPlatform::new();
    let s = create_store(&p, "AB");
    let r = admin(
        &p,
        &s,
        Post,
        "/admin/api/v1/products",
        Some(json!({ "title": "Draft thing" })),
    );
    assert_eq!(r.status, 201);
    assert_eq!(r.body_json()["slug"], "draft-thing");
    let (prod, _) = product(&p, &s, "live", 1000);
    let id = prod["id"].as_str().unwrap();
    assert_eq!(
        shop(&p, &s, Get, "/v1/products", None, None).body_json()["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        shop(&p, &s, Get, "/v1/products/draft-thing", None, None).status,
        404
    );
    assert_eq!(
        admin(
            &p,
            &s,
            Post,
            &format!("/admin/api/v1/products/{id}/archive"),
            None
        )
        .status,
        200
    );
    assert_eq!(
        shop(&p, &s, Get, "/v1/products/live", None, None).status,
        404
    );
    assert_eq!(
        shop(&p, &s, Get, "/v1/products", None, None).body_json()["data"],
        json!([])
    );
    // Archived cannot go straight back on sale.
    let r = admin(
        &p,
        &s,
        Patch,
        &format!("/admin/api/v1/products/{id}"),
        Some(json!({ "status": "active" })),
    );
    assert_eq!(r.status, 409);
    assert_eq!(r.body_json()["type"], "invalid_transition");
}

#[test]
fn storefront_pages_by_keyset_without_gaps_or_repeats() {
    let p = TestPlatform::new();
    let s = create_store(&p, "AB");
    for i in 0..7 {
        p.advance_ms(1);
        product(&p, &s, &format!("p{i}"), 100 + i);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/products?limit=3&starting_after={c}"),
            None => "/v1/products?limit=3".into(),
        };
        let b = shop(&p, &s, Get, &path, None, None).body_json();
        for d in b["data"].as_array().unwrap() {
            seen.push(d["slug"].as_str().unwrap().to_owned());
        }
        if !b["has_more"].as_bool().unwrap() {
            assert!(b["next_starting_after"].is_null());
            break;
        }
        cursor = Some(b["next_starting_after"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen, (0..7).map(|i| format!("p{i}")).collect::<Vec<_>>());
    assert_eq!(
        shop(&p, &s, Get, "/v1/products?limit=0", None, None).status,
        422
    );
    assert_eq!(
        shop(&p, &s, Get, "/v1/products?limit=1000", None, None).status,
        422
    );
}

#[test]
fn one_store_never_sees_another_stores_catalog() {
    let p = TestPlatform::new();
    let a = create_store(&p, "AA");
    let b = create_store(&p, "BB");
    let (prod, vids) = product(&p, &a, "only-a", 500);
    assert_eq!(
        shop(&p, &b, Get, "/v1/products", None, None).body_json()["data"],
        json!([])
    );
    assert_eq!(
        shop(&p, &b, Get, "/v1/products/only-a", None, None).status,
        404
    );
    assert_eq!(
        admin(
            &p,
            &b,
            Get,
            &format!("/admin/api/v1/products/{}", prod["id"].as_str().unwrap()),
            None
        )
        .status,
        404
    );
    assert_eq!(
        admin(
            &p,
            &b,
            Patch,
            &format!("/admin/api/v1/variants/{}", vids[0]),
            Some(json!({ "price_amount": 1 }))
        )
        .status,
        404
    );
}

#[test]
fn variants_and_provider_mappings_are_managed() {
    let p = TestPlatform::new();
    let s = create_store(&p, "AB");
    let (prod, vids) = product(&p, &s, "map", 2000);
    let pid = prod["id"].as_str().unwrap();
    let v = &vids[0];
    let r = admin(
        &p,
        &s,
        Put,
        &format!("/admin/api/v1/variants/{v}/provider-mappings/printful"),
        Some(json!({ "external_variant_id": "4012", "cost_amount": 900 })),
    );
    assert_eq!(r.status, 200, "{:?}", r.body_json());
    let r = admin(
        &p,
        &s,
        Put,
        &format!("/admin/api/v1/variants/{v}/provider-mappings/prodigi"),
        Some(
            json!({ "external_variant_id": "GLOBAL-FAP-16X24", "cost_amount": 1100, "cost_currency": "gbp" }),
        ),
    );
    let data = r.body_json()["data"].clone();
    assert_eq!(data.as_array().unwrap().len(), 2);
    assert_eq!(
        data[1]["cost"],
        json!({ "amount": 1100, "currency": "GBP" })
    );
    // Setting again replaces.
    admin(
        &p,
        &s,
        Put,
        &format!("/admin/api/v1/variants/{v}/provider-mappings/printful"),
        Some(json!({ "external_variant_id": "4013" })),
    );
    let got = admin(&p, &s, Get, &format!("/admin/api/v1/products/{pid}"), None).body_json();
    assert_eq!(
        got["variants"][0]["provider_mappings"][0]["external_variant_id"],
        "4013"
    );
    assert_eq!(
        admin(
            &p,
            &s,
            Put,
            &format!("/admin/api/v1/variants/{v}/provider-mappings/acme"),
            Some(json!({ "external_variant_id": "1" }))
        )
        .status,
        422
    );
    assert_eq!(
        admin(
            &p,
            &s,
            Delete,
            &format!("/admin/api/v1/variants/{v}/provider-mappings/prodigi"),
            None
        )
        .status,
        200
    );
    assert_eq!(
        admin(
            &p,
            &s,
            Delete,
            &format!("/admin/api/v1/variants/{v}/provider-mappings/prodigi"),
            None
        )
        .status,
        404
    );
    // Add, edit and archive variants.
    let r = admin(
        &p,
        &s,
        Post,
        &format!("/admin/api/v1/products/{pid}/variants"),
        Some(json!({ "sku": "map-A2", "kind": "physical", "price_amount": 3000 })),
    );
    assert_eq!(r.status, 201);
    let new_id = r.body_json()["variants"][2]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = admin(
        &p,
        &s,
        Patch,
        &format!("/admin/api/v1/variants/{new_id}"),
        Some(json!({ "price_amount": 3100, "estimated_production_days": null })),
    );
    assert_eq!(r.body_json()["variants"][2]["price"]["amount"], 3100);
    let r = admin(
        &p,
        &s,
        Post,
        &format!("/admin/api/v1/variants/{new_id}/archive"),
        None,
    );
    assert_eq!(r.body_json()["variants"][2]["status"], "archived");
    let shown = shop(&p, &s, Get, "/v1/products/map", None, None).body_json();
    assert_eq!(
        shown["variants"].as_array().unwrap().len(),
        2,
        "archived variants are not for sale"
    );
}

#[test]
fn invalid_catalog_input_is_refused_and_writes_nothing() {
    let p = TestPlatform::new();
    let s = create_store(&p, "AB");
    product(&p, &s, "taken", 100);
    let before = p.row_counts();
    let cases = [
        (json!({ "title": "" }), 422, "validation_failed"),
        (
            json!({ "title": "X", "slug": "Bad Slug" }),
            422,
            "validation_failed",
        ),
        (json!({ "title": "X", "slug": "taken" }), 409, "slug_taken"),
        (
            json!({ "title": "X", "variants": [{ "sku": "taken-A3", "kind": "physical", "price_amount": 1 }] }),
            409,
            "sku_taken",
        ),
        (
            json!({ "title": "X", "variants": [{ "sku": "d1", "kind": "digital", "price_amount": 1 }] }),
            422,
            "validation_failed",
        ),
        (
            json!({ "title": "X", "variants": [{ "sku": "n1", "kind": "physical", "price_amount": -5 }] }),
            422,
            "validation_failed",
        ),
        (
            json!({ "title": "X", "variants": [{ "sku": "n2", "kind": "physical", "price_amount": 1, "currency": "EUR" }] }),
            422,
            "validation_failed",
        ),
        (
            json!({ "title": "X", "variants": [{ "sku": "n3", "kind": "vinyl", "price_amount": 1 }] }),
            422,
            "validation_failed",
        ),
        (
            json!({ "title": "X", "variants": [{ "sku": "ok1", "kind": "physical", "price_amount": 1 }, { "sku": "ok1", "kind": "physical", "price_amount": 1 }] }),
            409,
            "sku_taken",
        ),
    ];
    for (body, status, kind) in cases {
        let r = admin(&p, &s, Post, "/admin/api/v1/products", Some(body.clone()));
        assert_eq!(r.status, status, "{body}: {:?}", r.body_json());
        assert_eq!(
            r.get_header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(r.body_json()["type"], kind, "{body}");
    }
    assert_eq!(p.row_counts(), before);
}
