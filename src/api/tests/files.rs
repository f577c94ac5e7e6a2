//! Art → product and customer files: types and sizes checked before anything is stored;
//! the product, variants, mappings, placements and images in one batch.

mod support;

use lading_api::http::{Method, Response};
use serde_json::json;
use support::*;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR-sim-art";

fn upload(p: &TestPlatform, s: &Store, content_type: &str, body: &[u8]) -> Response {
    let mut r = req(Method::Post, "/admin/api/v1/art")
        .header("authorization", &format!("Bearer {}", s.admin))
        .header("content-type", content_type);
    r.body = body.to_vec();
    call(p, "admin", r)
}

#[test]
fn art_becomes_a_product_with_mappings_placements_and_images_in_one_go() {
    let p = TestPlatform::new();
    let s = create_store(&p, "AR");
    // Refusals store nothing.
    let before = p.row_counts();
    assert_eq!(upload(&p, &s, "image/gif", b"GIF89a").status, 415);
    assert_eq!(upload(&p, &s, "image/png", b"not a png").status, 422);
    assert_eq!(upload(&p, &s, "image/png", b"").status, 422);
    assert_eq!(
        upload(&p, &s, "image/png", &vec![0x89; 26 * 1024 * 1024]).status,
        413
    );
    assert_eq!(p.row_counts(), before);
    assert!(p.files.borrow().is_empty());
    let r = upload(&p, &s, "image/png", PNG);
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let art = r.body_json();
    let key = art["key"].as_str().unwrap().to_owned();
    assert_eq!(
        p.files.borrow()[&key],
        ("image/png".to_owned(), PNG.to_vec())
    );

    let r = admin(
        &p,
        &s,
        Method::Post,
        "/admin/api/v1/products/from-art",
        Some(json!({
            "art_id": art["id"], "title": "Harbour at Dusk", "status": "active",
            "variants": [
                { "sku": "DUSK-A3", "kind": "physical", "price_amount": 2900, "fulfillment_provider": "printful", "estimated_production_days": 3 },
                { "sku": "DUSK-PNG", "kind": "digital", "price_amount": 900 }
            ],
            "variant_extras": [
                { "provider_mappings": [{ "provider": "printful", "external_variant_id": "4012", "cost_amount": 1100 }],
                  "placements": [{ "area": "front", "x": 0.1, "y": 0.2, "scale": 0.8 }] }
            ]
        })),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let product = r.body_json();
    let art_url = format!("https://files.test/{key}");
    assert_eq!(product["images"][0], art_url.as_str());
    assert_eq!(
        product["variants"][0]["provider_mappings"][0]["external_variant_id"],
        "4012"
    );
    assert_eq!(
        product["variants"][1]["digital_asset_key"],
        key.as_str(),
        "the digital variant sells the art"
    );
    assert_eq!(p.count(&format!("SELECT COUNT(*) FROM design_placements WHERE image_url = '{art_url}' AND area = 'front'")), 1);
    // It is on sale.
    let listed = shop(&p, &s, Method::Get, "/v1/products", None, None);
    assert_eq!(listed.body_json()["data"][0]["title"], "Harbour at Dusk");
    // A bad extra aborts the whole batch.
    let before = p.row_counts();
    let r = admin(
        &p,
        &s,
        Method::Post,
        "/admin/api/v1/products/from-art",
        Some(json!({
        "art_id": art["id"], "title": "Broken", "variants": [{ "sku": "BRK-1", "kind": "physical", "price_amount": 100 }],
        "variant_extras": [{ "placements": [{ "area": "front", "scale": 0 }] }] })),
    );
    assert_eq!(r.status, 422);
    assert_eq!(p.row_counts(), before);
    let r = admin(
        &p,
        &s,
        Method::Post,
        "/admin/api/v1/products/from-art",
        Some(json!({ "art_id": "art_nope", "title": "X" })),
    );
    assert_eq!(r.status, 404);
}

#[test]
fn customers_add_files_only_to_their_own_paid_orders() {
    let p = TestPlatform::new();
    let s = create_store(&p, "CF");
    let (_, v) = product(&p, &s, "cf", 2000);
    let token = shop(&p, &s, Method::Post, "/v1/carts", None, None).body_json()["cart_token"]
        .as_str()
        .unwrap()
        .to_owned();
    shop(
        &p,
        &s,
        Method::Post,
        "/v1/carts/current/items",
        Some(&token),
        Some(json!({ "variant_id": v[1], "quantity": 1 })),
    );
    p.serve(
        "http://stripe.test/v1/checkout/sessions",
        200,
        &json!({ "id": "cs_cf", "url": "https://checkout.test/cs_cf" }),
    );
    let co = shop(
        &p,
        &s,
        Method::Post,
        "/v1/checkout/sessions",
        Some(&token),
        None,
    )
    .body_json();
    let number = co["order"]["order_number"].as_str().unwrap().to_owned();
    let item = co["order"]["items"][0]["id"].as_str().unwrap().to_owned();
    let send = |t: &str, item: &str, ct: &str, body: &[u8]| {
        let mut r = req(
            Method::Post,
            &format!("/v1/orders/{number}/items/{item}/files"),
        )
        .header("x-publishable-api-key", &s.pk)
        .header("x-cart-token", t)
        .header("content-type", ct);
        r.body = body.to_vec();
        call(&p, "storefront", r)
    };
    assert_eq!(
        send(&token, &item, "application/pdf", b"%PDF-1.4 x").body_json()["type"],
        "order_not_paid"
    );
    p.exec(&format!("UPDATE orders SET status = 'paid', financial_status = 'paid', paid_at = 1 WHERE order_number = '{number}'"));
    assert_eq!(
        send("ct_stranger", &item, "application/pdf", b"%PDF-1.4 x").status,
        404
    );
    assert_eq!(
        send(&token, "oi_nope", "application/pdf", b"%PDF-1.4 x").status,
        404
    );
    assert_eq!(send(&token, &item, "text/html", b"<script>").status, 415);
    let r = send(
        &token,
        &item,
        "application/pdf",
        b"%PDF-1.4 rendered by the customer",
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let key = r.body_json()["key"].as_str().unwrap().to_owned();
    assert!(
        key.starts_with(&format!("orders/{number}/{item}/")),
        "{key}"
    );
    assert!(p.files.borrow().contains_key(&key));
    assert_eq!(p.count("SELECT COUNT(*) FROM order_item_files"), 1);
}
