//! The OpenAPI 3.1 documents served at `/openapi.json`. Operations are listed here, apart
//! from the route tables, so that a test can catch a route missing from the document or a
//! documented path that no longer exists.

use crate::http::Method;
use serde_json::{Value, json};

pub struct Operation {
    pub method: Method,
    pub path: &'static str,
    pub summary: &'static str,
    /// `publishable`, `customer_or_cart`, `admin:<role>`, `bootstrap` or `none`.
    pub auth: &'static str,
    pub request: Option<&'static str>,
    pub response: Option<&'static str>,
    pub status: u16,
}

const fn op(
    method: Method,
    path: &'static str,
    summary: &'static str,
    auth: &'static str,
    request: Option<&'static str>,
    response: Option<&'static str>,
    status: u16,
) -> Operation {
    Operation {
        method,
        path,
        summary,
        auth,
        request,
        response,
        status,
    }
}

use Method::{Delete, Get, Patch, Post, Put};

/// Every Worker's first two operations.
const HEALTHZ: Operation = op(
    Get,
    "/healthz",
    "Liveness and D1 check",
    "none",
    None,
    Some("Health"),
    200,
);
const OPENAPI: Operation = op(
    Get,
    "/openapi.json",
    "This document",
    "none",
    None,
    None,
    200,
);

pub const STOREFRONT: &[Operation] = &[
    HEALTHZ,
    OPENAPI,
    op(
        Get,
        "/v1/products",
        "List active products (keyset pagination: limit, starting_after)",
        "publishable",
        None,
        Some("ProductPage"),
        200,
    ),
    op(
        Get,
        "/v1/products/{id_or_slug}",
        "One active product by id or slug",
        "publishable",
        None,
        Some("Product"),
        200,
    ),
    op(
        Post,
        "/v1/carts",
        "Create a guest cart (returns cart_token once) or get the customer's cart",
        "publishable",
        None,
        Some("Cart"),
        201,
    ),
    op(
        Get,
        "/v1/carts/current",
        "The caller's cart, priced from the catalog now",
        "customer_or_cart",
        None,
        Some("Cart"),
        200,
    ),
    op(
        Post,
        "/v1/carts/current/items",
        "Add a variant; same variant and options add up",
        "customer_or_cart",
        Some("AddCartItem"),
        Some("Cart"),
        200,
    ),
    op(
        Patch,
        "/v1/carts/current/items/{item_id}",
        "Set a line's quantity (1-99)",
        "customer_or_cart",
        Some("UpdateCartItem"),
        Some("Cart"),
        200,
    ),
    op(
        Delete,
        "/v1/carts/current/items/{item_id}",
        "Remove a line",
        "customer_or_cart",
        None,
        Some("Cart"),
        200,
    ),
    op(
        Post,
        "/v1/carts/merge",
        "Merge the guest cart (x-cart-token) into the signed-in customer's cart",
        "customer",
        None,
        Some("Cart"),
        200,
    ),
    op(
        Post,
        "/v1/checkout/sessions",
        "Place the cart's order (prices from the catalog) and open a Stripe Checkout Session; a repeat answers with the same session",
        "customer_or_cart",
        Some("CheckoutInput"),
        Some("CheckoutSession"),
        201,
    ),
    op(
        Post,
        "/v1/payment-intents",
        "Place the cart's order and create its Stripe PaymentIntent (for a custom payment form)",
        "customer_or_cart",
        Some("CheckoutInput"),
        Some("PaymentIntentResult"),
        201,
    ),
    op(
        Post,
        "/v1/payment-intents/{id}/confirm",
        "Where the payment stands (read from Stripe) and the order; changes nothing",
        "customer_or_cart",
        None,
        Some("PaymentIntentResult"),
        200,
    ),
    op(
        Get,
        "/v1/orders",
        "The signed-in customer's orders, newest first (limit, starting_after)",
        "customer",
        None,
        Some("OrderPage"),
        200,
    ),
    op(
        Get,
        "/v1/orders/{order_number}",
        "One order: its customer, the guest with its cart token, or x-order-token",
        "order_reader",
        None,
        Some("Order"),
        200,
    ),
    op(
        Post,
        "/v1/orders/lookup",
        "A guest's order by number and email: returns a one-hour order-access token (send as x-order-token)",
        "publishable",
        Some("OrderLookup"),
        Some("OrderLookupResult"),
        200,
    ),
    op(
        Post,
        "/v1/orders/{order_number}/cancel",
        "Cancel the order inside the store's cancellation window: what was cancelled, asked of providers, refused, and the refund",
        "order_reader",
        Some("CancelOrder"),
        Some("Cancellation"),
        200,
    ),
    op(
        Post,
        "/v1/orders/{order_number}/downloads",
        "Download links for the order's digital items (48 h by default, at most 7 days; 10 links an hour); 202 while a file is prepared",
        "order_reader",
        Some("DownloadLinkRequest"),
        Some("DownloadLinks"),
        201,
    ),
    op(
        Post,
        "/v1/orders/{order_number}/items/{item_id}/files",
        "Upload a file rendered for an item of a paid order (raw body: image/png, image/jpeg or application/pdf, at most 20 MB)",
        "order_reader",
        None,
        Some("StoredFile"),
        201,
    ),
    op(
        Get,
        "/v1/downloads/{token}",
        "The file, streamed (Range supported); the token in the link is the credential",
        "none",
        None,
        None,
        200,
    ),
];

/// The webhooks Worker: providers call it; each request is authenticated by its signature.
pub const WEBHOOKS: &[Operation] = &[
    HEALTHZ,
    OPENAPI,
    op(
        Post,
        "/webhooks/stripe",
        "Stripe events, signed with Stripe-Signature (v1, 300 s tolerance); each applied once",
        "stripe_signature",
        None,
        Some("EventOutcome"),
        200,
    ),
    op(
        Post,
        "/webhooks/printful",
        "Printful v1 events; authenticated by ?secret= (the store's printful webhook_secret)",
        "provider_secret",
        None,
        Some("ProviderEventOutcome"),
        200,
    ),
    op(
        Post,
        "/webhooks/prodigi",
        "Prodigi CloudEvents; X-Prodigi-Signature = hex HMAC-SHA256 of the body with the store's prodigi webhook_secret (or ?secret=)",
        "provider_secret",
        None,
        Some("ProviderEventOutcome"),
        200,
    ),
    op(
        Post,
        "/webhooks/gelato",
        "Gelato order_status_updated events; authenticated by ?secret=",
        "provider_secret",
        None,
        Some("ProviderEventOutcome"),
        200,
    ),
];

pub const ADMIN: &[Operation] = &[
    HEALTHZ,
    OPENAPI,
    op(
        Post,
        "/admin/api/v1/stores",
        "Create a store, its publishable key and first superadmin key",
        "bootstrap",
        Some("CreateStore"),
        Some("CreatedStore"),
        201,
    ),
    op(
        Get,
        "/admin/api/v1/stores",
        "List every store (limit, starting_after)",
        "bootstrap",
        None,
        Some("StorePage"),
        200,
    ),
    op(
        Get,
        "/admin/api/v1/store",
        "The caller's store",
        "admin:support",
        None,
        Some("Store"),
        200,
    ),
    op(
        Patch,
        "/admin/api/v1/store",
        "Rename the store or replace its settings",
        "admin:superadmin",
        Some("UpdateStore"),
        Some("Store"),
        200,
    ),
    op(
        Get,
        "/admin/api/v1/admin-keys",
        "List admin keys (prefixes only)",
        "admin:superadmin",
        None,
        Some("AdminKeyList"),
        200,
    ),
    op(
        Post,
        "/admin/api/v1/admin-keys",
        "Create an admin key (shown once)",
        "admin:superadmin",
        Some("CreateAdminKey"),
        Some("NewAdminKey"),
        201,
    ),
    op(
        Patch,
        "/admin/api/v1/admin-keys/{key_id}",
        "Change a key's role or label (not the caller's own role); the key stays the same",
        "admin:superadmin",
        Some("UpdateAdminKey"),
        Some("AdminKey"),
        200,
    ),
    op(
        Delete,
        "/admin/api/v1/admin-keys/{key_id}",
        "Revoke an admin key",
        "admin:superadmin",
        None,
        None,
        204,
    ),
    op(
        Get,
        "/admin/api/v1/products",
        "List products of any status (status, limit, starting_after)",
        "admin:support",
        None,
        Some("ProductPage"),
        200,
    ),
    op(
        Post,
        "/admin/api/v1/products",
        "Create a product with variants",
        "admin:admin",
        Some("CreateProduct"),
        Some("Product"),
        201,
    ),
    op(
        Get,
        "/admin/api/v1/products/{product_id}",
        "One product with variants and provider mappings",
        "admin:support",
        None,
        Some("Product"),
        200,
    ),
    op(
        Patch,
        "/admin/api/v1/products/{product_id}",
        "Edit a product; status follows draft <-> active -> archived -> draft",
        "admin:admin",
        Some("UpdateProduct"),
        Some("Product"),
        200,
    ),
    op(
        Post,
        "/admin/api/v1/products/{product_id}/archive",
        "Take a product off sale",
        "admin:admin",
        None,
        Some("Product"),
        200,
    ),
    op(
        Post,
        "/admin/api/v1/products/{product_id}/variants",
        "Add a variant",
        "admin:admin",
        Some("VariantInput"),
        Some("Product"),
        201,
    ),
    op(
        Patch,
        "/admin/api/v1/variants/{variant_id}",
        "Edit a variant",
        "admin:admin",
        Some("UpdateVariant"),
        Some("Product"),
        200,
    ),
    op(
        Post,
        "/admin/api/v1/variants/{variant_id}/archive",
        "Take a variant off sale",
        "admin:admin",
        None,
        Some("Product"),
        200,
    ),
    op(
        Get,
        "/admin/api/v1/variants/{variant_id}/provider-mappings",
        "Provider mappings of a variant",
        "admin:support",
        None,
        Some("MappingList"),
        200,
    ),
    op(
        Put,
        "/admin/api/v1/variants/{variant_id}/provider-mappings/{provider}",
        "Set the provider's external variant id and cost",
        "admin:admin",
        Some("SetMapping"),
        Some("MappingList"),
        200,
    ),
    op(
        Delete,
        "/admin/api/v1/variants/{variant_id}/provider-mappings/{provider}",
        "Remove a provider mapping",
        "admin:admin",
        None,
        Some("MappingList"),
        200,
    ),
    op(
        Get,
        "/admin/api/v1/fulfillment-orders",
        "Fulfillment orders, newest first, with errors (filters: status, provider; limit, starting_after)",
        "admin:support",
        None,
        Some("FulfillmentOrderPage"),
        200,
    ),
    op(
        Get,
        "/admin/api/v1/fulfillment-orders/{fulfillment_order_id}",
        "One fulfillment order with its lines and parcels",
        "admin:support",
        None,
        Some("FulfillmentOrder"),
        200,
    ),
    op(
        Post,
        "/admin/api/v1/fulfillment-orders/{fulfillment_order_id}/retry",
        "Retry a failed fulfillment order: back to pending and queued again (only from failed)",
        "admin:admin",
        None,
        Some("FulfillmentOrder"),
        200,
    ),
    op(
        Get,
        "/admin/api/v1/orders/{order_id}/refunds",
        "The order's refunds (ledger rows)",
        "admin:support",
        None,
        Some("RefundList"),
        200,
    ),
    op(
        Post,
        "/admin/api/v1/orders/{order_id}/refunds",
        "Refund all that is left, an amount, or lines; never more than captured minus refunded",
        "admin:admin",
        Some("CreateRefund"),
        Some("Refund"),
        201,
    ),
    op(
        Post,
        "/admin/api/v1/orders/{order_id}/cancel",
        "Cancel what can still be cancelled (providers asked through the queue); refunds follow what was cancelled",
        "admin:admin",
        Some("CancelOrder"),
        Some("Cancellation"),
        200,
    ),
    op(
        Post,
        "/admin/api/v1/art",
        "Upload art (raw body: image/png or image/jpeg, at most 25 MB) to make products from",
        "admin:admin",
        None,
        Some("StoredFile"),
        201,
    ),
    op(
        Post,
        "/admin/api/v1/products/from-art",
        "Create a product from uploaded art: variants (digital ones sell the art), provider mappings with cost, design placements, images — one batch",
        "admin:admin",
        Some("ProductFromArt"),
        Some("Product"),
        201,
    ),
    op(
        Get,
        "/admin/api/v1/orders",
        "Orders, newest first: filters status, financial_status, provider, customer_id, needs_review, created_from, created_to (dates or RFC 3339); q = email or order number (or its beginning); limit, starting_after",
        "admin:support",
        None,
        Some("AdminOrderPage"),
        200,
    ),
    op(
        Get,
        "/admin/api/v1/orders/export.csv",
        "The same orders as CSV (same filters), streamed page by page",
        "admin:support",
        None,
        None,
        200,
    ),
    op(
        Get,
        "/admin/api/v1/orders/{order_id}",
        "One order in full: items, money, customer, fulfillment, parcels, payments, downloads, customer files (signed links), notes, emails, timeline, Stripe dashboard links",
        "admin:support",
        None,
        Some("AdminOrder"),
        200,
    ),
    op(
        Post,
        "/admin/api/v1/orders/{order_id}/notes",
        "Add an operator note (plain text, at most 4000 characters)",
        "admin:support",
        Some("Note"),
        Some("NoteView"),
        201,
    ),
    op(
        Post,
        "/admin/api/v1/fulfillment-orders/{fulfillment_order_id}/tracking",
        "Add a parcel with tracking to a manual, warehouse or hand-run Gelato fulfillment order (ships it; the shipped email follows)",
        "admin:support",
        Some("Tracking"),
        Some("TrackingResult"),
        200,
    ),
    op(
        Get,
        "/admin/api/v1/fulfillment/dashboard",
        "Fulfillment orders counted by provider and status, and the latest failures",
        "admin:support",
        None,
        Some("Dashboard"),
        200,
    ),
    op(
        Get,
        "/admin/api/v1/customer-files/{file_id}",
        "A customer's file through a signed link from the order detail (store, expires, signature query parameters; 15 minutes)",
        "signed",
        None,
        None,
        200,
    ),
    op(
        Get,
        "/admin/api/v1/promo-codes",
        "Promo codes with redemption counts (deleted ones hidden)",
        "admin:support",
        None,
        Some("PromoCodeList"),
        200,
    ),
    op(
        Post,
        "/admin/api/v1/promo-codes",
        "Create a promo code: a Stripe coupon and promotion code (resumable, idempotent)",
        "admin:admin",
        Some("PromoCodeInput"),
        Some("PromoCode"),
        201,
    ),
    op(
        Get,
        "/admin/api/v1/promo-codes/{promo_code_id}",
        "One promo code",
        "admin:support",
        None,
        Some("PromoCode"),
        200,
    ),
    op(
        Patch,
        "/admin/api/v1/promo-codes/{promo_code_id}",
        "Activate or deactivate (at Stripe first), or change the description",
        "admin:admin",
        Some("PromoCodeUpdate"),
        Some("PromoCode"),
        200,
    ),
    op(
        Delete,
        "/admin/api/v1/promo-codes/{promo_code_id}",
        "Soft delete: deactivated at Stripe, kept for the orders that used it",
        "admin:admin",
        None,
        None,
        200,
    ),
    op(
        Get,
        "/admin/api/v1/users",
        "Customers, newest first, with lifetime value, order count and last order (email filter; limit, starting_after)",
        "admin:support",
        None,
        Some("UserPage"),
        200,
    ),
    op(
        Get,
        "/admin/api/v1/users/{user_id}",
        "One customer and their orders",
        "admin:support",
        None,
        Some("UserDetail"),
        200,
    ),
    op(
        Post,
        "/admin/api/v1/users/{user_id}/block",
        "Block a customer (reason required): they cannot check out",
        "admin:superadmin",
        Some("Block"),
        Some("User"),
        200,
    ),
    op(
        Post,
        "/admin/api/v1/users/{user_id}/unblock",
        "Unblock a customer",
        "admin:superadmin",
        None,
        Some("User"),
        200,
    ),
    op(
        Get,
        "/admin/api/v1/audit-log",
        "Every admin change: who, what, target, request id (newest first; limit, starting_after)",
        "admin:admin",
        None,
        Some("AuditPage"),
        200,
    ),
    op(
        Post,
        "/admin/api/v1/orders/{order_id}/accept-payment",
        "Accept what Stripe says was paid for an order under review (read again from Stripe): the order is paid and fulfilled",
        "admin:admin",
        None,
        Some("AcceptedPayment"),
        200,
    ),
    op(
        Post,
        "/admin/api/v1/fulfillment-orders/{fulfillment_order_id}/cancellation",
        "Settle the cancellation of an order run by hand (manual, warehouse, Gelato in its portal): cancelled (its lines are refunded) or rejected",
        "admin:admin",
        Some("OperatorOutcome"),
        Some("FulfillmentOrder"),
        200,
    ),
];

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

fn security(auth: &str) -> Value {
    match auth {
        "none" => json!([]),
        "publishable" => json!([{ "publishableKey": [] }]),
        "customer" => json!([{ "publishableKey": [], "customerJwt": [] }]),
        "stripe_signature" => json!([{ "stripeSignature": [] }]),
        "provider_secret" => json!([{ "providerSecret": [] }]),
        // The link's signature is the credential (query parameters).
        "signed" => json!([]),
        "order_reader" => {
            json!([{ "publishableKey": [], "customerJwt": [] }, { "publishableKey": [], "cartToken": [] }, { "publishableKey": [], "orderToken": [] }])
        }
        "customer_or_cart" => {
            json!([{ "publishableKey": [], "customerJwt": [] }, { "publishableKey": [], "cartToken": [] }])
        }
        _ => json!([{ "adminKey": [] }]),
    }
}

/// The operations of one API (`storefront`, `admin` or `webhooks`).
pub fn operations(api: &str) -> &'static [Operation] {
    match api {
        "admin" => ADMIN,
        "webhooks" => WEBHOOKS,
        _ => STOREFRONT,
    }
}

/// The whole OpenAPI document of `storefront` or `admin`.
pub fn document(api: &str) -> Value {
    let mut paths = serde_json::Map::new();
    for o in operations(api) {
        let mut params = Vec::new();
        for seg in o.path.split('/') {
            if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                params.push(json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }));
            }
        }
        if o.method == Post
            && !matches!(
                o.auth,
                "none" | "stripe_signature" | "provider_secret" | "signed"
            )
        {
            params.push(json!({ "name": "Idempotency-Key", "in": "header", "required": false, "schema": { "type": "string", "maxLength": 255 },
                "description": "The first response is saved for 24 h and replayed; the same key with another body gets 422." }));
        }
        let mut responses = serde_json::Map::new();
        let ok = match o.response {
            Some(s) => {
                json!({ "description": "Success", "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{s}") } } } })
            }
            None => json!({ "description": "Success" }),
        };
        responses.insert(o.status.to_string(), ok);
        responses.insert("default".into(), json!({ "description": "Problem", "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } }));
        let mut operation = json!({
            "summary": o.summary,
            "operationId": format!("{}{}", o.method.as_str().to_lowercase(), o.path.replace(['/', '{', '}', '-', '.'], "_")),
            "parameters": params,
            "security": security(o.auth),
            "responses": responses,
        });
        if let Some(role) = o.auth.strip_prefix("admin:") {
            operation["x-required-role"] = json!(role);
        }
        if let Some(req) = o.request {
            operation["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{req}") } } } });
        }
        let entry = paths.entry(o.path.to_owned()).or_insert_with(|| json!({}));
        entry[o.method.as_str().to_lowercase()] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": { "title": format!("Lading {api} API"), "version": env!("CARGO_PKG_VERSION"),
            "description": "Errors are application/problem+json with a stable `type`. Every response carries x-request-id." },
        "paths": paths,
        "components": {
            "schemas": schemas(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Route;

    fn same<R: Copy>(api: &str, routes: &[Route<R>]) {
        let doc = document(api);
        for r in routes {
            assert!(
                doc["paths"][r.pattern][r.method.as_str().to_lowercase()].is_object(),
                "{api}: route {} {} is missing from openapi.json",
                r.method.as_str(),
                r.pattern
            );
        }
        for o in operations(api) {
            assert!(
                routes
                    .iter()
                    .any(|r| r.method == o.method && r.pattern == o.path),
                "{api}: openapi.json documents {} {} but no route serves it",
                o.method.as_str(),
                o.path
            );
        }
        // Every $ref resolves.
        let text = doc.to_string();
        for part in text.split("#/components/schemas/").skip(1) {
            let name: String = part.chars().take_while(|c| c.is_alphanumeric()).collect();
            assert!(
                doc["components"]["schemas"][&name].is_object(),
                "{api}: dangling $ref {name}"
            );
        }
    }

    #[test]
    fn storefront_document_matches_its_routes() {
        same("storefront", crate::api::storefront::ROUTES);
    }

    #[test]
    fn webhooks_document_matches_its_routes() {
        same("webhooks", crate::api::webhooks::ROUTES);
    }

    #[test]
    fn admin_document_matches_its_routes() {
        same("admin", crate::api::admin::ROUTES);
    }

    #[test]
    fn documented_admin_roles_match_enforced_roles() {
        for r in crate::api::admin::ROUTES {
            let o = ADMIN
                .iter()
                .find(|o| o.method == r.method && o.path == r.pattern)
                .unwrap();
            let documented = o.auth.strip_prefix("admin:");
            let enforced = crate::api::admin::required_role(r.id).map(|r| r.as_str());
            assert_eq!(documented, enforced, "{} {}", r.method.as_str(), r.pattern);
        }
    }
}
