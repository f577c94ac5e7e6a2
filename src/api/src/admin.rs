//! The admin JSON API under `/admin/api/v1` (`Authorization: Bearer <admin key>`). Every
//! route names the least role it needs; the bootstrap key may only create stores.

use crate::http::{
    Access, Audit, Method, Params, Problem, Request, Response, Route, change, creation, route,
};
use crate::{finish, healthz, with_idempotency};
use lading_core::AppError;
use lading_core::admin;
use lading_core::admin::audit::Audited;
use lading_core::auth::{self, AdminCaller};
use lading_core::catalog::{
    self, Audience, add_variant::add_variant, archive, create_product::create_product,
    list_products::list_products, provider_mappings, update_product::update_product,
    update_variant::update_variant,
};
use lading_core::domain::{ProviderCode, Role};
use lading_core::fulfillment;
use lading_core::payments::refunds;
use lading_core::ports::Platform;
use lading_core::sql::stores;
use lading_core::stores::{admin_keys, create_store::create_store, update_store};

/// This API's OpenAPI document (generated; see `crate::openapi`).
pub const DOCUMENT: &str = crate::served_document!("admin");

crate::route_table! {
    /// Every operation of this API, one per route.
    pub enum Op;
    pub const ROUTES;
    Healthz = Get "/healthz" {
        summary: "Liveness and D1 check",
        response: Some("Health"),
    },
    OpenApi = Get "/openapi.json" {
        summary: "This document",
    },
    CreateStore = Post "/admin/api/v1/stores" {
        access: Access::Bootstrap,
        audit: creation("store.create", false),
        summary: "Create a store, its publishable key and first superadmin key",
        request: Some("CreateStore"),
        response: Some("CreatedStore"),
        statuses: &[201],
    },
    ListStores = Get "/admin/api/v1/stores" {
        access: Access::Bootstrap,
        summary: "List every store (limit, starting_after)",
        response: Some("StorePage"),
    },
    GetStore = Get "/admin/api/v1/store" {
        access: Access::Admin(Role::Support),
        summary: "The caller's store",
        response: Some("Store"),
    },
    UpdateStore = Patch "/admin/api/v1/store" {
        access: Access::Admin(Role::Superadmin),
        audit: Audit::Change { action: "store.update", target: None, keep_body: false },
        summary: "Rename the store or replace its settings",
        request: Some("UpdateStore"),
        response: Some("Store"),
    },
    ListAdminKeys = Get "/admin/api/v1/admin-keys" {
        access: Access::Admin(Role::Superadmin),
        summary: "List admin keys (prefixes only)",
        response: Some("AdminKeyList"),
    },
    CreateAdminKey = Post "/admin/api/v1/admin-keys" {
        access: Access::Admin(Role::Superadmin),
        audit: creation("admin_key.create", false),
        summary: "Create an admin key (shown once)",
        request: Some("CreateAdminKey"),
        response: Some("NewAdminKey"),
        statuses: &[201],
    },
    UpdateAdminKey = Patch "/admin/api/v1/admin-keys/{key_id}" {
        access: Access::Admin(Role::Superadmin),
        audit: change("admin_key.update", "admin_key", "key_id"),
        summary: "Change a key's role or label (not the caller's own role); the key stays the same",
        request: Some("UpdateAdminKey"),
        response: Some("AdminKey"),
    },
    RevokeAdminKey = Delete "/admin/api/v1/admin-keys/{key_id}" {
        access: Access::Admin(Role::Superadmin),
        audit: change("admin_key.revoke", "admin_key", "key_id"),
        summary: "Revoke an admin key",
        statuses: &[204],
    },
    ListProducts = Get "/admin/api/v1/products" {
        access: Access::Admin(Role::Support),
        summary: "List products of any status (status, limit, starting_after)",
        response: Some("ProductPage"),
    },
    CreateProduct = Post "/admin/api/v1/products" {
        access: Access::Admin(Role::Admin),
        audit: creation("product.create", true),
        summary: "Create a product with variants",
        request: Some("CreateProduct"),
        response: Some("Product"),
        statuses: &[201],
    },
    GetProduct = Get "/admin/api/v1/products/{product_id}" {
        access: Access::Admin(Role::Support),
        summary: "One product with variants and provider mappings",
        response: Some("Product"),
    },
    UpdateProduct = Patch "/admin/api/v1/products/{product_id}" {
        access: Access::Admin(Role::Admin),
        audit: change("product.update", "product", "product_id"),
        summary: "Edit a product; status follows draft <-> active -> archived -> draft",
        request: Some("UpdateProduct"),
        response: Some("Product"),
    },
    ArchiveProduct = Post "/admin/api/v1/products/{product_id}/archive" {
        access: Access::Admin(Role::Admin),
        audit: change("product.archive", "product", "product_id"),
        summary: "Take a product off sale",
        response: Some("Product"),
    },
    AddVariant = Post "/admin/api/v1/products/{product_id}/variants" {
        access: Access::Admin(Role::Admin),
        audit: change("variant.create", "product", "product_id"),
        summary: "Add a variant",
        request: Some("VariantInput"),
        response: Some("Product"),
        statuses: &[201],
    },
    UpdateVariant = Patch "/admin/api/v1/variants/{variant_id}" {
        access: Access::Admin(Role::Admin),
        audit: change("variant.update", "variant", "variant_id"),
        summary: "Edit a variant",
        request: Some("UpdateVariant"),
        response: Some("Product"),
    },
    ArchiveVariant = Post "/admin/api/v1/variants/{variant_id}/archive" {
        access: Access::Admin(Role::Admin),
        audit: change("variant.archive", "variant", "variant_id"),
        summary: "Take a variant off sale",
        response: Some("Product"),
    },
    ListProviderMappings = Get "/admin/api/v1/variants/{variant_id}/provider-mappings" {
        access: Access::Admin(Role::Support),
        summary: "Provider mappings of a variant",
        response: Some("MappingList"),
    },
    SetProviderMapping = Put "/admin/api/v1/variants/{variant_id}/provider-mappings/{provider}" {
        access: Access::Admin(Role::Admin),
        audit: change("provider_mapping.set", "variant", "variant_id"),
        summary: "Set the provider's external variant id and cost",
        request: Some("SetMapping"),
        response: Some("MappingList"),
    },
    RemoveProviderMapping = Delete "/admin/api/v1/variants/{variant_id}/provider-mappings/{provider}" {
        access: Access::Admin(Role::Admin),
        audit: change("provider_mapping.remove", "variant", "variant_id"),
        summary: "Remove a provider mapping",
        response: Some("MappingList"),
    },
    ListFulfillmentOrders = Get "/admin/api/v1/fulfillment-orders" {
        access: Access::Admin(Role::Support),
        summary: "Fulfillment orders, newest first, with errors (filters: status, provider; limit, starting_after)",
        response: Some("FulfillmentOrderPage"),
    },
    GetFulfillmentOrder = Get "/admin/api/v1/fulfillment-orders/{fulfillment_order_id}" {
        access: Access::Admin(Role::Support),
        summary: "One fulfillment order with its lines and parcels",
        response: Some("FulfillmentOrder"),
    },
    RetryFulfillmentOrder = Post "/admin/api/v1/fulfillment-orders/{fulfillment_order_id}/retry" {
        access: Access::Admin(Role::Admin),
        audit: change("fulfillment_order.retry", "fulfillment_order", "fulfillment_order_id"),
        summary: "Retry a failed fulfillment order: back to pending and queued again (only from failed)",
        response: Some("FulfillmentOrder"),
    },
    ListRefunds = Get "/admin/api/v1/orders/{order_id}/refunds" {
        access: Access::Admin(Role::Support),
        summary: "The order's refunds (ledger rows)",
        response: Some("RefundList"),
    },
    CreateRefund = Post "/admin/api/v1/orders/{order_id}/refunds" {
        access: Access::Admin(Role::Admin),
        audit: change("order.refund", "order", "order_id"),
        summary: "Refund all that is left, an amount, or lines; never more than captured minus refunded",
        request: Some("CreateRefund"),
        response: Some("Refund"),
        statuses: &[201],
    },
    CancelOrder = Post "/admin/api/v1/orders/{order_id}/cancel" {
        access: Access::Admin(Role::Admin),
        audit: change("order.cancel", "order", "order_id"),
        summary: "Cancel what can still be cancelled (providers asked through the queue); refunds follow what was cancelled",
        request: Some("CancelOrder"),
        response: Some("Cancellation"),
        request_optional: true,
    },
    UploadArt = Post "/admin/api/v1/art" {
        access: Access::Admin(Role::Admin),
        audit: creation("art.upload", false),
        summary: "Upload art (raw body: image/png or image/jpeg, at most 25 MB) to make products from",
        response: Some("StoredFile"),
        statuses: &[201],
        uploads: &["image/png", "image/jpeg"],
    },
    ProductFromArt = Post "/admin/api/v1/products/from-art" {
        access: Access::Admin(Role::Admin),
        audit: creation("product.create_from_art", true),
        summary: "Create a product from uploaded art: variants (digital ones sell the art), provider mappings with cost, design placements, images — one batch",
        request: Some("ProductFromArt"),
        response: Some("Product"),
        statuses: &[201],
    },
    ListOrders = Get "/admin/api/v1/orders" {
        access: Access::Admin(Role::Support),
        summary: "Orders, newest first: filters status, financial_status, provider, customer_id, needs_review, created_from, created_to (dates or RFC 3339); q = email or order number (or its beginning); limit, starting_after",
        response: Some("AdminOrderPage"),
    },
    ExportOrders = Get "/admin/api/v1/orders/export.csv" {
        access: Access::Admin(Role::Support),
        summary: "The same orders as CSV (same filters), streamed page by page",
        content_type: "text/csv; charset=utf-8",
    },
    GetOrder = Get "/admin/api/v1/orders/{order_id}" {
        access: Access::Admin(Role::Support),
        summary: "One order in full: items, money, customer, fulfillment, parcels, payments, downloads, customer files (signed links), notes, emails, timeline, Stripe dashboard links",
        response: Some("AdminOrder"),
    },
    AddOrderNote = Post "/admin/api/v1/orders/{order_id}/notes" {
        access: Access::Admin(Role::Support),
        audit: change("order.note", "order", "order_id"),
        summary: "Add an operator note (plain text, at most 4000 characters)",
        request: Some("Note"),
        response: Some("NoteView"),
        statuses: &[201],
    },
    AddTracking = Post "/admin/api/v1/fulfillment-orders/{fulfillment_order_id}/tracking" {
        access: Access::Admin(Role::Support),
        audit: change("fulfillment_order.tracking", "fulfillment_order", "fulfillment_order_id"),
        summary: "Add a parcel with tracking to a manual, warehouse or hand-run Gelato fulfillment order (ships it; the shipped email follows)",
        request: Some("Tracking"),
        response: Some("TrackingResult"),
    },
    FulfillmentDashboard = Get "/admin/api/v1/fulfillment/dashboard" {
        access: Access::Admin(Role::Support),
        summary: "Fulfillment orders counted by provider and status, and the latest failures",
        response: Some("Dashboard"),
    },
    OpenCustomerFile = Get "/admin/api/v1/customer-files/{file_id}" {
        access: Access::Signed,
        summary: "A customer's file through a signed link from the order detail (store, expires, signature query parameters; 15 minutes)",
        content_type: "application/octet-stream",
        statuses: &[200, 206],
    },
    ListPromoCodes = Get "/admin/api/v1/promo-codes" {
        access: Access::Admin(Role::Support),
        summary: "Promo codes with redemption counts (deleted ones hidden)",
        response: Some("PromoCodeList"),
    },
    CreatePromoCode = Post "/admin/api/v1/promo-codes" {
        access: Access::Admin(Role::Admin),
        audit: creation("promo_code.create", true),
        summary: "Create a promo code: a Stripe coupon and promotion code (resumable, idempotent)",
        request: Some("PromoCodeInput"),
        response: Some("PromoCode"),
        statuses: &[201],
    },
    GetPromoCode = Get "/admin/api/v1/promo-codes/{promo_code_id}" {
        access: Access::Admin(Role::Support),
        summary: "One promo code",
        response: Some("PromoCode"),
    },
    UpdatePromoCode = Patch "/admin/api/v1/promo-codes/{promo_code_id}" {
        access: Access::Admin(Role::Admin),
        audit: change("promo_code.update", "promo_code", "promo_code_id"),
        summary: "Activate or deactivate (at Stripe first), or change the description",
        request: Some("PromoCodeUpdate"),
        response: Some("PromoCode"),
    },
    DeletePromoCode = Delete "/admin/api/v1/promo-codes/{promo_code_id}" {
        access: Access::Admin(Role::Admin),
        audit: change("promo_code.delete", "promo_code", "promo_code_id"),
        summary: "Soft delete: deactivated at Stripe, kept for the orders that used it",
    },
    ListUsers = Get "/admin/api/v1/users" {
        access: Access::Admin(Role::Support),
        summary: "Customers, newest first, with lifetime value, order count and last order (email filter; limit, starting_after)",
        response: Some("UserPage"),
    },
    GetUser = Get "/admin/api/v1/users/{user_id}" {
        access: Access::Admin(Role::Support),
        summary: "One customer and their orders",
        response: Some("UserDetail"),
    },
    BlockUser = Post "/admin/api/v1/users/{user_id}/block" {
        access: Access::Admin(Role::Superadmin),
        audit: change("user.block", "user", "user_id"),
        summary: "Block a customer (reason required): they cannot check out",
        request: Some("Block"),
        response: Some("User"),
    },
    UnblockUser = Post "/admin/api/v1/users/{user_id}/unblock" {
        access: Access::Admin(Role::Superadmin),
        audit: change("user.unblock", "user", "user_id"),
        summary: "Unblock a customer",
        response: Some("User"),
        request_optional: true,
    },
    ListAuditLog = Get "/admin/api/v1/audit-log" {
        access: Access::Admin(Role::Admin),
        summary: "Every admin change: who, what, target, request id (newest first; limit, starting_after)",
        response: Some("AuditPage"),
    },
    AcceptPayment = Post "/admin/api/v1/orders/{order_id}/accept-payment" {
        access: Access::Admin(Role::Admin),
        audit: change("order.accept_payment", "order", "order_id"),
        summary: "Accept what Stripe says was paid for an order under review (read again from Stripe): the order is paid and fulfilled",
        response: Some("AcceptedPayment"),
    },
    SettleCancellation = Post "/admin/api/v1/fulfillment-orders/{fulfillment_order_id}/cancellation" {
        access: Access::Admin(Role::Admin),
        audit: change("fulfillment_order.cancellation", "fulfillment_order", "fulfillment_order_id"),
        summary: "Settle the cancellation of an order run by hand (manual, warehouse, Gelato in its portal): cancelled (its lines are refunded) or rejected",
        request: Some("OperatorOutcome"),
        response: Some("FulfillmentOrder"),
    },
}

pub async fn handle<P: Platform>(p: &P, req: Request) -> Response {
    // The whole admin API and UI run on the audited platform (see `perform`): one copy of
    // each use case in the Worker.
    let p = &admin::audit::Audited::new(p);
    if crate::ui::is_ui_path(&req.path) {
        let r = crate::ui::handle(p, &req).await;
        return finish(&req, Ok(r));
    }
    let result = dispatch(p, &req).await;
    finish(&req, result).with_header("cache-control", "no-store")
}

async fn dispatch<P: Platform>(p: &Audited<'_, P>, req: &Request) -> Result<Response, Problem> {
    let (route, params) = route(ROUTES, req.method, &req.path)?;
    match route.id {
        Op::Healthz => return Ok(healthz(p, "admin").await),
        Op::OpenApi => return Ok(Response::raw(200, "application/json", DOCUMENT)),
        Op::OpenCustomerFile => {
            let file = admin::files::open(
                p,
                params.get("file_id"),
                req.query_param("store"),
                req.query_param("expires"),
                req.query_param("signature"),
            )
            .await?;
            return Ok(Response::file(file, req.get_header("range"))
                .with_header("referrer-policy", "no-referrer"));
        }
        _ => {}
    }
    let caller = auth::admin_caller(p, req.admin_credentials()).await?;
    let store_id = match (route.access, &caller) {
        (Access::Bootstrap, AdminCaller::Bootstrap { .. }) => "platform".to_owned(),
        (Access::Bootstrap, _) => {
            return Err(AppError::Forbidden(
                "Only the bootstrap key (ADMIN_BOOTSTRAP_KEY) creates and lists stores.".into(),
            )
            .into());
        }
        (access, caller) => caller
            .require(access.role().unwrap_or(Role::Superadmin))?
            .0
            .to_owned(),
    };
    perform(p, req, route, &params, &caller, &store_id).await
}

/// The web UI's way in: the operation behind an API path, as this caller (roles enforced
/// exactly as for the API).
///
/// # Errors
/// 403 without the role; the operation's problem.
pub async fn perform_as<P: Platform>(
    p: &Audited<'_, P>,
    caller: &AdminCaller,
    method: Method,
    path: &str,
    body: serde_json::Value,
    idempotency_key: Option<&str>,
    request_id: &str,
) -> Result<Response, Problem> {
    let (route, params) = route(ROUTES, method, path)?;
    let store_id = caller
        .require(route.access.role().unwrap_or(Role::Superadmin))?
        .0
        .to_owned();
    let mut req = Request::new(method, path).json_body(&body);
    if let Some(k) = idempotency_key {
        req = req.header("idempotency-key", k);
    }
    req.request_id = request_id.to_owned();
    perform(p, &req, route, &params, caller, &store_id).await
}

/// Runs an authorized operation: under its Idempotency-Key for POSTs, with an audit-log row
/// for every change that succeeded. The web UI's forms come through here too.
///
/// # Errors
/// The operation's problem.
pub async fn perform<P: Platform>(
    p: &Audited<'_, P>,
    req: &Request,
    route: &Route<Op>,
    params: &Params,
    caller: &AdminCaller,
    store_id: &str,
) -> Result<Response, Problem> {
    let op = route.id;
    let Audit::Change {
        action,
        target,
        keep_body,
    } = route.audit
    else {
        return run(p, req, op, params, caller, store_id).await;
    };
    let audited = |answer| audit_entry(req, action, target, keep_body, params, answer);
    // Every write of the operation carries its audit row (see `admin::audit::Audited`).
    let ended = std::cell::RefCell::new(None);
    let operation = async || {
        p.begin(
            store_id,
            &actor(caller),
            &audited(None).entry(),
            &req.request_id,
        );
        let result = run(p, req, op, params, caller, store_id).await;
        *ended.borrow_mut() = p.end();
        result
    };
    let result = if req.method == Method::Post {
        let scope = match caller {
            AdminCaller::Bootstrap { .. } => "admin:bootstrap".to_owned(),
            AdminCaller::Key { key_id, .. } => format!("admin:{key_id}"),
        };
        with_idempotency(
            p,
            req,
            store_id,
            crate::idempotency::Scope::Caller(&scope),
            operation,
        )
        .await
    } else {
        operation().await
    };
    // A replayed answer ran nothing this time (no operation ended); anything else
    // completes (or, refused, removes) its row.
    if let Some(ended) = ended.into_inner() {
        let answered = match &result {
            Ok(r) => r.clone(),
            Err(pr) => pr.clone().into_response(&req.request_id),
        };
        let done = audited(Some(&answered));
        p.finish(ended, &done.entry(), answered.status).await?;
    }
    result
}

fn actor(caller: &AdminCaller) -> admin::audit::Actor {
    match caller {
        AdminCaller::Bootstrap { .. } => admin::audit::Actor {
            id: "bootstrap".into(),
            role: "superadmin".into(),
        },
        AdminCaller::Key { key_id, role, .. } => admin::audit::Actor {
            id: key_id.clone(),
            role: role.as_str().into(),
        },
    }
}

/// What the audit row of an operation says: before it runs (`answer` none) and after.
struct AuditEntry {
    action: &'static str,
    target_type: Option<&'static str>,
    target_id: Option<String>,
    detail: serde_json::Value,
}

impl AuditEntry {
    fn entry(&self) -> admin::audit::Entry<'_> {
        admin::audit::Entry {
            action: self.action,
            target_type: self.target_type,
            target_id: self.target_id.as_deref(),
            detail: self.detail.clone(),
        }
    }
}

fn audit_entry(
    req: &Request,
    action: &'static str,
    target: Option<(&'static str, &'static str)>,
    keep_body: bool,
    params: &Params,
    answer: Option<&Response>,
) -> AuditEntry {
    let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
    let answered: serde_json::Value = answer
        .and_then(|r| serde_json::from_slice(&r.body).ok())
        .unwrap_or_default();
    let target_id = target
        .map(|(_, param)| params.get(param).to_owned())
        .or_else(|| answered["id"].as_str().map(str::to_owned))
        .or_else(|| answered["user"]["id"].as_str().map(str::to_owned));
    // Until the operation answers, the status is unknown: a row left so says the change
    // committed and the request died before answering.
    let status = answer.map_or(serde_json::Value::Null, |r| r.status.into());
    let detail = if keep_body && body.to_string().len() <= 4000 {
        serde_json::json!({ "request": body, "status": status })
    } else {
        let fields: Vec<&String> = body
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        serde_json::json!({ "fields": fields, "status": status })
    };
    AuditEntry {
        action,
        // A creation names its new row by the action's noun (`product.create` → product).
        target_type: target.map(|(t, _)| t).or_else(|| {
            target_id
                .as_ref()
                .and_then(|_| action.split_once('.').map(|(noun, _)| noun))
        }),
        target_id,
        detail,
    }
}

/// Public routes are not operations a caller performs (the UI cannot run them as one).
fn not_an_operation() -> Problem {
    Problem::new(404, "route_not_found", "Not found")
        .detail("This path is not an operation an admin performs.")
}

/// How notes and promo codes name who made them.
fn author(caller: &AdminCaller) -> String {
    match caller {
        AdminCaller::Bootstrap { .. } => "bootstrap".into(),
        AdminCaller::Key { key_id, role, .. } => format!("{key_id} ({})", role.as_str()),
    }
}

fn provider_param(params: &Params) -> Result<ProviderCode, AppError> {
    ProviderCode::parse(params.get("provider")).ok_or_else(|| {
        AppError::validation(
            "provider",
            format!("must be one of: {}", ProviderCode::VALUES.join(", ")),
        )
    })
}

async fn run<P: Platform>(
    p: &P,
    req: &Request,
    op: Op,
    params: &Params,
    caller: &AdminCaller,
    store_id: &str,
) -> Result<Response, Problem> {
    let store = || async {
        stores::store_by_id(p.db(), store_id)
            .await?
            .ok_or(AppError::NotFound("store"))
    };
    Ok(match op {
        // Answered before authentication; reached here only through `perform_as`.
        Op::Healthz | Op::OpenApi | Op::OpenCustomerFile => return Err(not_an_operation()),
        Op::CreateStore => Response::json(201, &create_store(p, req.json()?).await?),
        Op::ListStores => Response::json(
            200,
            &update_store::list_stores(
                p,
                req.query_param("starting_after"),
                req.query_param("limit"),
            )
            .await?,
        ),
        Op::GetStore => Response::json(200, &update_store::get_store(p, store_id).await?),
        Op::UpdateStore => Response::json(
            200,
            &update_store::update_store(p, store_id, req.json()?).await?,
        ),
        Op::ListAdminKeys => Response::json(
            200,
            &serde_json::json!({ "data": admin_keys::list_admin_keys(p, store_id).await? }),
        ),
        Op::CreateAdminKey => Response::json(
            201,
            &admin_keys::create_admin_key(p, store_id, req.json()?).await?,
        ),
        Op::UpdateAdminKey => Response::json(
            200,
            &admin_keys::update_admin_key(
                p,
                store_id,
                caller.own_key_id(),
                params.get("key_id"),
                req.json()?,
            )
            .await?,
        ),
        Op::RevokeAdminKey => {
            admin_keys::revoke_admin_key(p, store_id, caller.own_key_id(), params.get("key_id"))
                .await?;
            Response::empty(204)
        }
        Op::ListProducts => Response::json(
            200,
            &list_products(
                p,
                store_id,
                Audience::Admin,
                req.query_param("status"),
                req.query_param("starting_after"),
                req.query_param("limit"),
            )
            .await?,
        ),
        Op::CreateProduct => {
            let input = req.json()?;
            Response::json(201, &create_product(p, &store().await?, input).await?)
        }
        Op::UploadArt => Response::json(
            201,
            &lading_core::files::upload_art(p, store_id, req.upload()).await?,
        ),
        Op::ProductFromArt => {
            let input = req.json()?;
            Response::json(
                201,
                &lading_core::files::product_from_art(p, &store().await?, input).await?,
            )
        }
        Op::GetProduct => Response::json(
            200,
            &catalog::get_product::admin_view(p.db(), store_id, params.get("product_id")).await?,
        ),
        Op::UpdateProduct => Response::json(
            200,
            &update_product(p, store_id, params.get("product_id"), req.json()?).await?,
        ),
        Op::ArchiveProduct => Response::json(
            200,
            &archive::archive_product(p, store_id, params.get("product_id")).await?,
        ),
        Op::AddVariant => {
            let input = req.json()?;
            Response::json(
                201,
                &add_variant(p, &store().await?, params.get("product_id"), input).await?,
            )
        }
        Op::UpdateVariant => {
            let input = req.json()?;
            Response::json(
                200,
                &update_variant(p, &store().await?, params.get("variant_id"), input).await?,
            )
        }
        Op::ArchiveVariant => Response::json(
            200,
            &archive::archive_variant(p, store_id, params.get("variant_id")).await?,
        ),
        Op::ListProviderMappings => Response::json(
            200,
            &serde_json::json!({ "data": provider_mappings::list_mappings(p, store_id, params.get("variant_id")).await? }),
        ),
        Op::SetProviderMapping => {
            let provider = provider_param(params)?;
            let input = req.json()?;
            let data = provider_mappings::set_mapping(
                p,
                store_id,
                params.get("variant_id"),
                provider,
                input,
            )
            .await?;
            Response::json(200, &serde_json::json!({ "data": data }))
        }
        Op::RemoveProviderMapping => {
            let provider = provider_param(params)?;
            let data =
                provider_mappings::remove_mapping(p, store_id, params.get("variant_id"), provider)
                    .await?;
            Response::json(200, &serde_json::json!({ "data": data }))
        }
        Op::ListFulfillmentOrders => Response::json(
            200,
            &fulfillment::admin::list(
                p,
                store_id,
                req.query_param("status"),
                req.query_param("provider"),
                req.query_param("starting_after"),
                req.query_param("limit"),
            )
            .await?,
        ),
        Op::GetFulfillmentOrder => Response::json(
            200,
            &fulfillment::admin::get(p, store_id, params.get("fulfillment_order_id")).await?,
        ),
        Op::RetryFulfillmentOrder => Response::json(
            200,
            &fulfillment::admin::retry(p, store_id, params.get("fulfillment_order_id")).await?,
        ),
        Op::CancelOrder => {
            let input: lading_core::orders::shopper::CancelInput = req.json_or_default()?;
            let reason = lading_core::input::optional_line("reason", input.reason.as_deref(), 200)?
                .map_or_else(
                    || "cancelled_by_operator".to_owned(),
                    |r| format!("cancelled_by_operator: {r}"),
                );
            let order = lading_core::sql::orders::order_by_id(p.db(), params.get("order_id"))
                .await?
                .filter(|o| o.store_id == store_id)
                .ok_or(AppError::NotFound("order"))?;
            Response::json(
                200,
                &fulfillment::cancel::cancel_order(
                    p,
                    order,
                    fulfillment::cancel::Actor::Operator,
                    &reason,
                )
                .await?,
            )
        }
        Op::ListOrders => {
            let f =
                admin::orders::OrderFilters::from_query(|k| req.query_param(k).map(str::to_owned))?;
            Response::json(
                200,
                &admin::orders::list(
                    p,
                    store_id,
                    &f,
                    req.query_param("starting_after"),
                    req.query_param("limit"),
                )
                .await?,
            )
        }
        Op::ExportOrders => {
            let f =
                admin::orders::OrderFilters::from_query(|k| req.query_param(k).map(str::to_owned))?;
            let day = lading_core::time_fmt::rfc3339(p.now_ms());
            Response::export(
                admin::orders::CsvExport::new(store_id, f),
                &format!("orders-{}.csv", &day[..10]),
            )
        }
        Op::GetOrder => Response::json(
            200,
            &admin::orders::detail(p, store_id, params.get("order_id")).await?,
        ),
        Op::AddOrderNote => {
            let input = req.json()?;
            Response::json(
                201,
                &admin::orders::add_note(
                    p,
                    store_id,
                    params.get("order_id"),
                    &author(caller),
                    input,
                )
                .await?,
            )
        }
        Op::AddTracking => {
            let input = req.json()?;
            Response::json(
                200,
                &admin::tracking::add_tracking(
                    p,
                    store_id,
                    params.get("fulfillment_order_id"),
                    input,
                )
                .await?,
            )
        }
        Op::AcceptPayment => Response::json(
            200,
            &lading_core::payments::events::accept_review(p, store_id, params.get("order_id"))
                .await?,
        ),
        Op::SettleCancellation => {
            let input = req.json()?;
            Response::json(
                200,
                &fulfillment::cancel::settle_by_operator(
                    p,
                    store_id,
                    params.get("fulfillment_order_id"),
                    input,
                )
                .await?,
            )
        }
        Op::FulfillmentDashboard => {
            Response::json(200, &fulfillment::admin::dashboard(p, store_id).await?)
        }
        Op::ListPromoCodes => Response::json(
            200,
            &serde_json::json!({ "data": admin::promo_codes::list(p, store_id).await? }),
        ),
        Op::CreatePromoCode => {
            let input = req.json()?;
            Response::json(
                201,
                &admin::promo_codes::create(p, store_id, &author(caller), input).await?,
            )
        }
        Op::GetPromoCode => Response::json(
            200,
            &admin::promo_codes::get(p, store_id, params.get("promo_code_id")).await?,
        ),
        Op::UpdatePromoCode => {
            let input = req.json()?;
            Response::json(
                200,
                &admin::promo_codes::update(p, store_id, params.get("promo_code_id"), input)
                    .await?,
            )
        }
        Op::DeletePromoCode => Response::json(
            200,
            &admin::promo_codes::delete(p, store_id, params.get("promo_code_id")).await?,
        ),
        Op::ListUsers => Response::json(
            200,
            &admin::users::list(
                p,
                store_id,
                req.query_param("email"),
                req.query_param("starting_after"),
                req.query_param("limit"),
            )
            .await?,
        ),
        Op::GetUser => Response::json(
            200,
            &admin::users::get(p, store_id, params.get("user_id")).await?,
        ),
        Op::BlockUser => {
            let input = req.json()?;
            Response::json(
                200,
                &admin::users::set_blocked(p, store_id, params.get("user_id"), true, input).await?,
            )
        }
        Op::UnblockUser => {
            let input = req.json_or_default()?;
            Response::json(
                200,
                &admin::users::set_blocked(p, store_id, params.get("user_id"), false, input)
                    .await?,
            )
        }
        Op::ListAuditLog => Response::json(
            200,
            &admin::audit::list(
                p,
                store_id,
                req.query_param("starting_after"),
                req.query_param("limit"),
            )
            .await?,
        ),
        Op::ListRefunds => Response::json(
            200,
            &serde_json::json!({ "data": refunds::list(p, store_id, params.get("order_id")).await? }),
        ),
        Op::CreateRefund => Response::json(
            201,
            &refunds::create(p, store_id, params.get("order_id"), req.json()?).await?,
        ),
    })
}
