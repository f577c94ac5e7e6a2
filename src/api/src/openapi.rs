//! The OpenAPI 3.1 documents, generated from the route tables (natively: the Workers serve
//! the checked-in files under `openapi/`, so the wasm never carries this generator). A test
//! regenerates them and fails when a file differs: `LADING_WRITE_OPENAPI=1 cargo test -p
//! lading-core --features openapi openapi` rewrites them.

use crate::http::{Access, Method, Route};
use serde_json::{Value, json};

fn schemas() -> Value {
    let s = |t: &str| json!({ "type": t });
    let r = |n: &str| json!({ "$ref": format!("#/components/schemas/{n}") });
    let price = json!({ "type": "object", "properties": { "amount": s("integer"), "currency": s("string") }, "required": ["amount", "currency"] });
    json!({
        "Problem": { "type": "object", "description": "RFC 9457 problem; `type` is a stable snake_case code.",
            "properties": { "type": s("string"), "title": s("string"), "status": s("integer"), "detail": s("string"), "instance": s("string"),
                "errors": { "type": "array", "items": { "type": "object", "properties": { "field": s("string"), "message": s("string") } } } },
            "required": ["type", "title", "status"] },
        "Health": { "type": "object", "properties": { "status": s("string"), "worker": s("string"), "d1": s("string") } },
        "Price": price,
        "Variant": { "type": "object", "properties": { "id": s("string"), "sku": s("string"), "title": s("string"),
            "kind": { "enum": ["physical", "digital"] }, "price": r("Price"), "estimated_production_days": { "type": ["integer", "null"] },
            "status": { "enum": ["active", "archived"] }, "fulfillment_provider": { "type": ["string", "null"] },
            "digital_asset_key": { "type": ["string", "null"] }, "provider_mappings": { "type": "array", "items": r("Mapping") } } },
        "Product": { "type": "object", "properties": { "id": s("string"), "slug": s("string"), "title": s("string"), "description": s("string"),
            "status": { "enum": ["draft", "active", "archived"] }, "images": { "type": "array", "items": s("string") },
            "variants": { "type": "array", "items": r("Variant") }, "created_at": s("string"), "updated_at": s("string") } },
        "ProductPage": { "type": "object", "properties": { "data": { "type": "array", "items": r("Product") }, "has_more": s("boolean"), "next_cursor": { "type": ["string", "null"] } } },
        "CartItem": { "type": "object", "properties": { "id": s("string"), "variant_id": s("string"), "product_id": s("string"), "title": s("string"),
            "sku": s("string"), "kind": s("string"), "options": { "type": "object", "additionalProperties": s("string") }, "quantity": s("integer"),
            "unit_price": s("integer"), "line_total": s("integer"), "available": s("boolean") } },
        "Cart": { "type": "object", "properties": { "id": s("string"), "status": { "enum": ["active", "checked_out", "abandoned", "merged"] },
            "currency": s("string"), "items": { "type": "array", "items": r("CartItem") }, "item_count": s("integer"), "subtotal": s("integer"),
            "requires_shipping": s("boolean"), "expires_at": s("string"), "updated_at": s("string"),
            "cart_token": { "type": "string", "description": "Only when a guest cart is created." } } },
        "AddCartItem": { "type": "object", "required": ["variant_id", "quantity"], "properties": { "variant_id": s("string"),
            "quantity": { "type": "integer", "minimum": 1, "maximum": 99 }, "options": { "type": "object", "additionalProperties": s("string"), "maxProperties": 10 } } },
        "UpdateCartItem": { "type": "object", "required": ["quantity"], "properties": { "quantity": { "type": "integer", "minimum": 1, "maximum": 99 } } },
        "VariantInput": { "type": "object", "required": ["sku", "kind", "price_amount"], "properties": { "sku": s("string"), "title": s("string"),
            "kind": { "enum": ["physical", "digital"] }, "price_amount": { "type": "integer", "minimum": 0, "maximum": 100_000_000 }, "currency": s("string"),
            "digital_asset_key": s("string"), "fulfillment_provider": { "enum": ["printful", "prodigi", "gooten", "gelato", "manual", "warehouse"] },
            "estimated_production_days": { "type": "integer", "minimum": 0, "maximum": 365 } } },
        "UpdateVariant": { "type": "object", "properties": { "sku": s("string"), "title": s("string"), "price_amount": s("integer"),
            "digital_asset_key": { "type": ["string", "null"] }, "fulfillment_provider": { "type": ["string", "null"] },
            "estimated_production_days": { "type": ["integer", "null"] }, "status": { "enum": ["active", "archived"] }, "position": s("integer") } },
        "CreateProduct": { "type": "object", "required": ["title"], "properties": { "title": s("string"), "slug": s("string"), "description": s("string"),
            "status": { "enum": ["draft", "active"] }, "images": { "type": "array", "items": s("string") }, "variants": { "type": "array", "items": r("VariantInput") } } },
        "UpdateProduct": { "type": "object", "properties": { "title": s("string"), "slug": s("string"), "description": s("string"),
            "status": { "enum": ["draft", "active", "archived"] }, "images": { "type": "array", "items": s("string") } } },
        "Mapping": { "type": "object", "properties": { "provider": s("string"), "external_variant_id": s("string"), "cost": { "oneOf": [r("Price"), { "type": "null" }] }, "updated_at": s("string") } },
        "MappingList": { "type": "object", "properties": { "data": { "type": "array", "items": r("Mapping") } } },
        "SetMapping": { "type": "object", "required": ["external_variant_id"], "properties": { "external_variant_id": s("string"), "cost_amount": s("integer"), "cost_currency": s("string") } },
        "StoreSettings": { "type": "object", "properties": {
            "identity": { "type": ["object", "null"], "properties": { "issuer": s("string"), "audience": s("string"), "hs256_secret": s("string"), "jwks_url": s("string") } },
            "shipping": { "type": "object", "properties": { "flat_amount": s("integer"), "free_from_amount": { "type": ["integer", "null"] } } },
            "success_url": { "type": ["string", "null"] }, "cancel_url": { "type": ["string", "null"] },
            "ship_to_countries": { "type": "array", "items": { "type": "string", "pattern": "^[A-Z]{2}$" } },
            "cancellation_window_minutes": { "type": ["integer", "null"] }, "default_provider": { "type": ["string", "null"] } } },
        "Store": { "type": "object", "properties": { "id": s("string"), "name": s("string"), "order_prefix": s("string"), "currency": s("string"),
            "settings": r("StoreSettings"), "publishable_keys": { "type": "array", "items": s("string") }, "created_at": s("string"), "updated_at": s("string") } },
        "CreateStore": { "type": "object", "required": ["name", "order_prefix", "currency"], "properties": { "name": s("string"),
            "order_prefix": { "type": "string", "pattern": "^[A-Z0-9]{2,6}$" }, "currency": s("string"), "settings": r("StoreSettings") } },
        "UpdateStore": { "type": "object", "properties": { "name": s("string"), "settings": r("StoreSettings") } },
        "StorePage": { "type": "object", "properties": { "data": { "type": "array", "items": r("Store") }, "has_more": s("boolean"), "next_cursor": { "type": ["string", "null"] } } },
        "CreatedStore": { "type": "object", "properties": { "store": r("Store"), "publishable_key": s("string"), "admin_key": r("NewAdminKey") } },
        "CreateAdminKey": { "type": "object", "required": ["role", "label"], "properties": { "role": { "enum": ["support", "admin", "superadmin"] }, "label": s("string") } },
        "NewAdminKey": { "type": "object", "properties": { "id": s("string"), "key": s("string"), "role": s("string"), "label": s("string") } },
        "CheckoutInput": { "type": "object", "description": "Prices and totals are never read from the client.", "properties": {
            "email": { "type": "string", "description": "A guest's email (customers' comes from their token)." },
            "shipping_address": r("Address") } },
        "Address": { "type": "object", "required": ["name", "line1", "city", "postal_code", "country"], "properties": { "name": s("string"),
            "line1": s("string"), "line2": { "type": ["string", "null"] }, "city": s("string"), "state": { "type": ["string", "null"] },
            "postal_code": s("string"), "country": { "type": "string", "pattern": "^[A-Z]{2}$" } } },
        "OrderItem": { "type": "object", "properties": { "id": s("string"), "variant_id": s("string"), "product_id": s("string"), "title": s("string"),
            "variant_title": s("string"), "sku": s("string"), "kind": s("string"), "options": { "type": "object", "additionalProperties": s("string") },
            "unit_price": s("integer"), "quantity": s("integer"), "line_total": s("integer"), "price_source": s("string") } },
        "Order": { "type": "object", "properties": { "id": s("string"), "order_number": s("string"),
            "status": { "enum": ["pending", "paid", "processing", "partially_shipped", "shipped", "delivered", "cancelled", "cancel_requested"] },
            "financial_status": { "enum": ["unpaid", "paid", "partially_refunded", "refunded"] }, "email": { "type": ["string", "null"] },
            "currency": s("string"), "subtotal": s("integer"), "discount": s("integer"), "shipping": s("integer"), "tax": s("integer"), "total": s("integer"),
            "promo_code": { "type": ["string", "null"] }, "shipping_address": { "oneOf": [r("Address"), { "type": "null" }] },
            "review_reason": { "type": ["string", "null"] }, "cancel_reason": { "type": ["string", "null"] },
            "items": { "type": "array", "items": r("OrderItem") }, "created_at": s("string"), "paid_at": { "type": ["string", "null"] },
            "cancelled_at": { "type": ["string", "null"] } } },
        "CheckoutSession": { "type": "object", "properties": { "checkout_url": s("string"), "session_id": s("string"), "expires_at": s("string"), "order": r("Order") } },
        "PaymentIntentResult": { "type": "object", "properties": { "payment_intent": { "type": "object", "properties": { "id": s("string"), "status": s("string"),
            "client_secret": { "type": "string", "description": "Only when the intent is created or resumed." }, "amount": s("integer"), "currency": s("string"),
            "last_payment_error": s("string") } }, "order": r("Order") } },
        "OrderPage": { "type": "object", "properties": { "data": { "type": "array", "items": { "type": "object", "properties": { "id": s("string"),
            "order_number": s("string"), "status": s("string"), "financial_status": s("string"), "currency": s("string"), "total": s("integer"), "created_at": s("string") } } },
            "has_more": s("boolean"), "next_starting_after": { "type": ["string", "null"] } } },
        "OrderLookup": { "type": "object", "required": ["order_number", "email"], "properties": { "order_number": s("string"), "email": s("string") } },
        "OrderLookupResult": { "type": "object", "properties": { "order_token": s("string"), "expires_at": s("string"), "order": r("Order") } },
        "ProviderEventOutcome": { "type": "object", "properties": { "event_id": s("string"), "duplicate": s("boolean"), "result": s("string") } },
        "FulfillmentOrder": { "type": "object", "properties": { "id": s("string"), "order_id": s("string"), "order_number": s("string"),
            "provider": s("string"), "status": s("string"), "external_id": { "type": ["string", "null"] }, "error": { "type": ["string", "null"] },
            "attempts": s("integer"), "cost_estimated": { "type": ["integer", "null"] }, "cost_actual": { "type": ["integer", "null"] }, "currency": s("string"),
            "submitted_at": { "type": ["string", "null"] }, "created_at": s("string"), "updated_at": s("string"),
            "lines": { "type": "array", "items": { "type": "object" } }, "shipments": { "type": "array", "items": { "type": "object" } } } },
        "FulfillmentOrderPage": { "type": "object", "properties": { "data": { "type": "array", "items": r("FulfillmentOrder") }, "has_more": s("boolean"),
            "next_starting_after": { "type": ["string", "null"] } } },
        "DownloadLinkRequest": { "type": "object", "properties": { "expires_in_hours": { "type": "integer", "minimum": 1, "maximum": 168 } } },
        "DownloadLinks": { "type": "object", "properties": { "data": { "type": "array", "items": { "type": "object", "properties": {
            "order_item_id": s("string"), "filename": s("string"), "url": s("string"), "expires_at": s("string") } } },
            "pending": { "type": "array", "items": s("string") } } },
        "StoredFile": { "type": "object", "properties": { "id": s("string"), "key": s("string"), "content_type": s("string"), "size": s("integer"), "created_at": s("string") } },
        "ProductFromArt": { "allOf": [r("CreateProduct"), { "type": "object", "required": ["art_id"], "properties": { "art_id": s("string"),
            "variant_extras": { "type": "array", "description": "By variant position.", "items": { "type": "object", "properties": {
                "provider_mappings": { "type": "array", "items": { "type": "object", "required": ["provider", "external_variant_id"], "properties": {
                    "provider": s("string"), "external_variant_id": s("string"), "cost_amount": s("integer") } } },
                "placements": { "type": "array", "items": { "type": "object", "required": ["area"], "properties": {
                    "area": s("string"), "x": s("number"), "y": s("number"), "scale": s("number"), "rotation": s("number"), "print_area": s("string") } } } } } } } }] },
        "CancelOrder": { "type": "object", "properties": { "reason": s("string") } },
        "CancellationPart": { "type": "object", "properties": { "fulfillment_order_id": s("string"), "provider": s("string"), "reason": s("string") } },
        "Cancellation": { "type": "object", "properties": { "order": r("Order"),
            "cancelled": { "type": "array", "items": r("CancellationPart") }, "requested": { "type": "array", "items": r("CancellationPart") },
            "not_cancelled": { "type": "array", "items": r("CancellationPart") },
            "refund": { "type": ["object", "null"], "properties": { "id": s("string"), "amount": s("integer"), "status": s("string"), "stripe_id": { "type": ["string", "null"] } } } } },
        "Refund": { "type": "object", "properties": { "id": s("string"), "amount": s("integer"), "currency": s("string"),
            "status": { "enum": ["pending", "succeeded", "failed", "canceled"] }, "stripe_id": { "type": ["string", "null"] },
            "reason": { "type": ["string", "null"] }, "created_at": s("string") } },
        "AdminOrderSummary": { "type": "object", "properties": { "id": s("string"), "order_number": s("string"), "status": s("string"), "financial_status": s("string"),
            "email": { "type": ["string", "null"] }, "customer_id": { "type": ["string", "null"] }, "currency": s("string"), "subtotal": s("integer"), "discount": s("integer"),
            "shipping": s("integer"), "tax": s("integer"), "total": s("integer"), "promo_code": { "type": ["string", "null"] }, "review_reason": { "type": ["string", "null"] },
            "created_at": s("string"), "paid_at": { "type": ["string", "null"] } } },
        "AdminOrderPage": { "type": "object", "properties": { "data": { "type": "array", "items": r("AdminOrderSummary") }, "has_more": s("boolean"), "next_starting_after": { "type": ["string", "null"] } } },
        "AdminOrder": { "type": "object", "properties": { "order": s("object"), "customer": { "type": ["object", "null"] }, "money": s("object"), "stripe": s("object"),
            "fulfillment_orders": s("array"), "shipments": s("array"), "payments": s("array"), "downloads": s("array"), "customer_files": s("array"),
            "notes": s("array"), "notifications": s("array"), "timeline": s("array") } },
        "Note": { "type": "object", "required": ["body"], "properties": { "body": { "type": "string", "maxLength": 4000 } } },
        "NoteView": { "type": "object", "properties": { "id": s("string"), "order_id": s("string"), "author": s("string"), "body": s("string"), "created_at": s("string") } },
        "Tracking": { "type": "object", "required": ["carrier", "tracking_number"], "properties": { "carrier": s("string"), "tracking_number": s("string"), "tracking_url": s("string"),
            "lines": { "type": "array", "items": { "type": "object", "properties": { "order_item_id": s("string"), "quantity": s("integer") } } } } },
        "TrackingResult": { "type": "object", "properties": { "duplicate": s("boolean"), "fulfillment_order": r("FulfillmentOrder") } },
        "Dashboard": { "type": "object", "properties": { "counts": s("array"), "by_status": s("object"), "failed": { "type": "array", "items": r("FulfillmentOrder") } } },
        "PromoCodeInput": { "type": "object", "required": ["code", "discount_type", "discount_value"], "properties": { "code": s("string"),
            "discount_type": { "enum": ["percentage", "fixed_amount"] }, "discount_value": s("integer"), "currency": s("string"), "description": s("string"),
            "max_redemptions": s("integer"), "expires_at": s("string") } },
        "PromoCodeUpdate": { "type": "object", "properties": { "active": s("boolean"), "description": s("string") } },
        "PromoCode": { "type": "object", "properties": { "id": s("string"), "code": s("string"), "discount_type": s("string"), "discount_value": s("integer"),
            "currency": { "type": ["string", "null"] }, "active": s("boolean"), "redemptions": s("integer"), "max_redemptions": { "type": ["integer", "null"] },
            "expires_at": { "type": ["string", "null"] }, "stripe_coupon_id": { "type": ["string", "null"] }, "stripe_promotion_code_id": { "type": ["string", "null"] },
            "stripe_sync": { "enum": ["synced", "pending"] }, "created_at": s("string") } },
        "PromoCodeList": { "type": "object", "properties": { "data": { "type": "array", "items": r("PromoCode") } } },
        "User": { "type": "object", "properties": { "id": s("string"), "email": { "type": ["string", "null"] }, "subject": s("string"), "lifetime_value": s("integer"), "currency": s("string"),
            "order_count": s("integer"), "last_order_at": { "type": ["string", "null"] }, "blocked": s("boolean"), "blocked_reason": { "type": ["string", "null"] }, "created_at": s("string") } },
        "UserPage": { "type": "object", "properties": { "data": { "type": "array", "items": r("User") }, "has_more": s("boolean"), "next_starting_after": { "type": ["string", "null"] } } },
        "UserDetail": { "type": "object", "properties": { "user": r("User"), "orders": r("AdminOrderPage") } },
        "AcceptedPayment": { "type": "object", "properties": { "accepted": s("boolean"), "order": r("Order") } },
        "OperatorOutcome": { "type": "object", "required": ["outcome"], "properties": { "outcome": { "enum": ["cancelled", "rejected"] }, "reason": s("string") } },
        "Block": { "type": "object", "required": ["reason"], "properties": { "reason": { "type": "string", "maxLength": 500 } } },
        "AuditPage": { "type": "object", "properties": { "data": { "type": "array", "items": { "type": "object", "properties": { "id": s("string"), "actor": s("string"),
            "actor_role": s("string"), "action": s("string"), "target_type": { "type": ["string", "null"] }, "target_id": { "type": ["string", "null"] },
            "detail": s("object"), "request_id": s("string"), "at": s("string") } } }, "has_more": s("boolean"), "next_starting_after": { "type": ["string", "null"] } } },
        "RefundList": { "type": "object", "properties": { "data": { "type": "array", "items": r("Refund") } } },
        "CreateRefund": { "type": "object", "properties": { "amount": { "type": "integer", "minimum": 1 },
            "lines": { "type": "array", "items": { "type": "object", "required": ["order_item_id", "quantity"],
                "properties": { "order_item_id": s("string"), "quantity": { "type": "integer", "minimum": 1 } } } },
            "reason": { "enum": ["duplicate", "fraudulent", "requested_by_customer"] } } },
        "EventOutcome": { "type": "object", "properties": { "event_id": s("string"), "type": s("string"), "duplicate": s("boolean"), "result": s("string") } },
        "AdminKey": { "type": "object", "properties": { "id": s("string"), "key_prefix": s("string"), "role": { "enum": ["support", "admin", "superadmin"] },
            "label": s("string"), "created_at": s("string"), "revoked_at": { "type": ["string", "null"] } } },
        "AdminKeyList": { "type": "object", "properties": { "data": { "type": "array", "items": r("AdminKey") } } },
        "UpdateAdminKey": { "type": "object", "properties": { "role": { "enum": ["support", "admin", "superadmin"] }, "label": s("string") } }
    })
}

fn security(access: Access) -> Value {
    match access {
        Access::Public | Access::Signed => json!([]),
        Access::Publishable => json!([{ "publishableKey": [] }]),
        Access::Customer => json!([{ "publishableKey": [], "customerJwt": [] }]),
        Access::CustomerOrCart => {
            json!([{ "publishableKey": [], "customerJwt": [] }, { "publishableKey": [], "cartToken": [] }])
        }
        Access::OrderReader => {
            json!([{ "publishableKey": [], "customerJwt": [] }, { "publishableKey": [], "cartToken": [] }, { "publishableKey": [], "orderToken": [] }])
        }
        Access::StripeSignature => json!([{ "stripeSignature": [] }]),
        Access::ProviderSecret => json!([{ "providerSecret": [] }]),
        Access::Bootstrap | Access::Admin(_) => json!([{ "adminKey": [] }]),
    }
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn operation<R: Copy>(r: &Route<R>) -> Value {
    let mut params = Vec::new();
    for seg in r.pattern.split('/') {
        if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            params.push(json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }));
        }
    }
    for q in r.query {
        let schema: Value = serde_json::from_str(q.schema).expect("query schema is JSON");
        params.push(json!({ "name": q.name, "in": "query", "required": false, "description": q.description, "schema": schema }));
    }
    if r.method == Method::Post
        && !matches!(
            r.access,
            Access::Public | Access::StripeSignature | Access::ProviderSecret | Access::Signed
        )
    {
        params.push(json!({ "name": "Idempotency-Key", "in": "header", "required": false,
            "schema": { "type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$" },
            "description": "The first response is saved for 24 h and replayed; the same key with another body gets 422." }));
    }
    let mut responses = serde_json::Map::new();
    for status in r.statuses {
        let ok = match (r.response, *status) {
            (_, 204) | (None, _) if r.content_type == "application/json" => {
                json!({ "description": "Success" })
            }
            (Some(s), _) if r.content_type == "application/json" => {
                json!({ "description": "Success", "content": { "application/json": { "schema": reference(s) } } })
            }
            _ => {
                json!({ "description": "Success", "content": { r.content_type: { "schema": { "type": "string", "format": "binary" } } } })
            }
        };
        responses.insert(status.to_string(), ok);
    }
    responses.insert("default".into(), json!({ "description": "Problem", "content": { "application/problem+json": { "schema": reference("Problem") } } }));
    let mut op = json!({
        "summary": r.summary,
        "operationId": format!("{}{}", r.method.as_str().to_lowercase(), r.pattern.replace(['/', '{', '}', '-', '.'], "_")),
        "parameters": params,
        "security": security(r.access),
        "responses": responses,
    });
    if let Some(role) = r.access.role() {
        op["x-required-role"] = json!(role.as_str());
    }
    if let Some(req) = r.request {
        op["requestBody"] = json!({ "required": !r.request_optional, "content": { "application/json": { "schema": reference(req) } } });
    } else if !r.uploads.is_empty() {
        let content: serde_json::Map<String, Value> = r
            .uploads
            .iter()
            .map(|t| {
                (
                    (*t).to_owned(),
                    json!({ "schema": { "type": "string", "format": "binary" } }),
                )
            })
            .collect();
        op["requestBody"] = json!({ "required": true, "content": content });
    }
    op
}

/// The OpenAPI document of one API (`storefront`, `admin` or `webhooks`) from its routes.
pub fn document<R: Copy>(api: &str, routes: &[Route<R>]) -> Value {
    let mut paths = serde_json::Map::new();
    for r in routes {
        let entry = paths
            .entry(r.pattern.to_owned())
            .or_insert_with(|| json!({}));
        entry[r.method.as_str().to_lowercase()] = operation(r);
    }
    // Only the schemas this document refers to (directly or through another schema).
    let all = schemas();
    let mut used = std::collections::BTreeMap::new();
    let mut todo: Vec<String> = refs(&Value::Object(paths.clone()));
    while let Some(name) = todo.pop() {
        if used.contains_key(&name) {
            continue;
        }
        let schema = all[&name].clone();
        assert!(schema.is_object(), "{api}: no schema named {name}");
        todo.extend(refs(&schema));
        used.insert(name, schema);
    }
    json!({
        "openapi": "3.1.0",
        "info": { "title": format!("Lading {api} API"), "version": env!("CARGO_PKG_VERSION"),
            "description": "Errors are application/problem+json with a stable `type`. Every response carries x-request-id." },
        "paths": paths,
        "components": {
            "schemas": used,
            "securitySchemes": {
                "publishableKey": { "type": "apiKey", "in": "header", "name": "x-publishable-api-key" },
                "cartToken": { "type": "apiKey", "in": "header", "name": "x-cart-token" },
                "orderToken": { "type": "apiKey", "in": "header", "name": "x-order-token" },
                "stripeSignature": { "type": "apiKey", "in": "header", "name": "Stripe-Signature" },
                "providerSecret": { "type": "apiKey", "in": "query", "name": "secret" },
                "customerJwt": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" },
                "adminKey": { "type": "http", "scheme": "bearer", "description": "An admin key, or the bootstrap key (stores; with x-store-id, superadmin of that store)." }
            }
        }
    })
}

fn refs(v: &Value) -> Vec<String> {
    v.to_string()
        .split("#/components/schemas/")
        .skip(1)
        .map(|part| part.chars().take_while(|c| c.is_alphanumeric()).collect())
        .collect()
}

/// The three documents as the files under `openapi/` hold them.
pub fn documents() -> [(&'static str, String); 3] {
    let text = |v: Value| serde_json::to_string_pretty(&v).expect("a document serializes") + "\n";
    [
        (
            "storefront",
            text(document("storefront", crate::storefront::ROUTES)),
        ),
        ("admin", text(document("admin", crate::admin::ROUTES))),
        (
            "webhooks",
            text(document("webhooks", crate::webhooks::ROUTES)),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The served documents are the generated ones: an API change shows in the diff.
    #[test]
    fn the_checked_in_documents_are_generated_from_the_route_tables() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi");
        for (api, text) in documents() {
            let path = dir.join(format!("{api}.json"));
            if std::env::var_os("LADING_WRITE_OPENAPI").is_some() {
                std::fs::write(&path, &text).unwrap();
            }
            let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                on_disk == text,
                "{} differs from the route table; run LADING_WRITE_OPENAPI=1 cargo test -p lading-core --features openapi openapi, and review the diff",
                path.display()
            );
        }
    }

    #[test]
    fn every_admin_write_is_audited_and_no_read_is() {
        for r in crate::admin::ROUTES {
            let reads = matches!(r.method, Method::Get | Method::Head);
            assert_eq!(
                reads,
                r.audit == crate::http::Audit::Read,
                "{} {}",
                r.method.as_str(),
                r.pattern
            );
        }
    }
}
