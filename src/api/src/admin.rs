//! The admin JSON API under `/admin/api/v1` (`Authorization: Bearer <admin key>`). Every
//! route names the least role it needs; the bootstrap key may only create stores.

use crate::http::{
    Access, Answer, Audit, Json, List, Method, NoBody, NoContent, OptionalJson, Params, Problem,
    RawBody, Request, Response, Route, change, creation, route,
};
use crate::{Health, finish, healthz, with_idempotency};
use lading_core::AppError;
use lading_core::admin::{
    self,
    audit::{AuditPage, Audited},
    orders::{NoteInput, NoteView, OrderPage},
    promo_codes::DeletedPromo,
    promo_codes::{PromoInput, PromoUpdate, PromoView},
    tracking::{TrackingInput, TrackingResult},
    users::{BlockInput, UserDetail, UserPage, UserView},
};
use lading_core::auth::{self, AdminCaller};
use lading_core::catalog::{
    self, Audience, MappingView, Page, ProductView, VariantInput,
    create_product::CreateProduct,
    provider_mappings::{self, SetMapping},
    update_product::UpdateProduct,
    update_variant::UpdateVariant,
};
use lading_core::domain::{ProviderCode, Role};
use lading_core::files::{self, FromArt, StoredFile};
use lading_core::fulfillment::{
    self,
    admin::{Dashboard, FulfillmentOrderView, Page as FulfillmentPage},
    cancel::{CancellationResult, OperatorOutcome},
};
use lading_core::orders::shopper::CancelInput;
use lading_core::payments::events::AcceptedPayment;
use lading_core::payments::refunds::{self, RefundInput, RefundView};
use lading_core::ports::Platform;
use lading_core::sql::stores;
use lading_core::stores::{
    StoreView,
    admin_keys::{self, AdminKeyView, CreateAdminKey, NewAdminKey, UpdateAdminKey},
    create_store::{self, CreateStore, CreatedStore},
    update_store::{self, UpdateStore},
};

crate::route_table! {
    /// Every operation of this API, one per route.
    pub enum Op;
    pub const ROUTES;
    async fn run(Cx);
    Healthz = Get "/healthz" => before_auth(NoBody) -> Answer<Health> {
        summary: "Liveness and D1 check",
    },
    CreateStore = Post "/admin/api/v1/stores" => create_store(Json<CreateStore>) -> Answer<CreatedStore> {
        access: Access::Bootstrap,
        audit: creation("store.create", false),
        summary: "Create a store, its publishable key and first superadmin key",
        statuses: &[201],
    },
    ListStores = Get "/admin/api/v1/stores" => list_stores(NoBody) -> Answer<Page<StoreView>> {
        access: Access::Bootstrap,
        summary: "List every store (limit, starting_after)",
    },
    GetStore = Get "/admin/api/v1/store" => get_store(NoBody) -> Answer<StoreView> {
        access: Access::Admin(Role::Support),
        summary: "The caller's store",
    },
    UpdateStore = Patch "/admin/api/v1/store" => update_store(Json<UpdateStore>) -> Answer<StoreView> {
        access: Access::Admin(Role::Superadmin),
        audit: Audit::Change { action: "store.update", target: None, keep_body: false },
        summary: "Rename the store or replace its settings",
    },
    ListAdminKeys = Get "/admin/api/v1/admin-keys" => list_admin_keys(NoBody) -> Answer<List<AdminKeyView>> {
        access: Access::Admin(Role::Superadmin),
        summary: "List admin keys (prefixes only)",
    },
    CreateAdminKey = Post "/admin/api/v1/admin-keys" => create_admin_key(Json<CreateAdminKey>) -> Answer<NewAdminKey> {
        access: Access::Admin(Role::Superadmin),
        audit: creation("admin_key.create", false),
        summary: "Create an admin key (shown once)",
        statuses: &[201],
    },
    UpdateAdminKey = Patch "/admin/api/v1/admin-keys/{key_id}" => update_admin_key(Json<UpdateAdminKey>) -> Answer<AdminKeyView> {
        access: Access::Admin(Role::Superadmin),
        audit: change("admin_key.update", "admin_key", "key_id"),
        summary: "Change a key's role or label (not the caller's own role); the key stays the same",
    },
    RevokeAdminKey = Delete "/admin/api/v1/admin-keys/{key_id}" => revoke_admin_key(NoBody) -> NoContent {
        access: Access::Admin(Role::Superadmin),
        audit: change("admin_key.revoke", "admin_key", "key_id"),
        summary: "Revoke an admin key",
        statuses: &[204],
    },
    ListProducts = Get "/admin/api/v1/products" => list_products(NoBody) -> Answer<Page<ProductView>> {
        access: Access::Admin(Role::Support),
        summary: "List products of any status (status, limit, starting_after)",
    },
    CreateProduct = Post "/admin/api/v1/products" => create_product(Json<CreateProduct>) -> Answer<ProductView> {
        access: Access::Admin(Role::Admin),
        audit: creation("product.create", true),
        summary: "Create a product with variants",
        statuses: &[201],
    },
    GetProduct = Get "/admin/api/v1/products/{product_id}" => get_product(NoBody) -> Answer<ProductView> {
        access: Access::Admin(Role::Support),
        summary: "One product with variants and provider mappings",
    },
    UpdateProduct = Patch "/admin/api/v1/products/{product_id}" => update_product(Json<UpdateProduct>) -> Answer<ProductView> {
        access: Access::Admin(Role::Admin),
        audit: change("product.update", "product", "product_id"),
        summary: "Edit a product; status follows draft <-> active -> archived -> draft",
    },
    ArchiveProduct = Post "/admin/api/v1/products/{product_id}/archive" => archive_product(NoBody) -> Answer<ProductView> {
        access: Access::Admin(Role::Admin),
        audit: change("product.archive", "product", "product_id"),
        summary: "Take a product off sale",
    },
    AddVariant = Post "/admin/api/v1/products/{product_id}/variants" => add_variant(Json<VariantInput>) -> Answer<ProductView> {
        access: Access::Admin(Role::Admin),
        audit: change("variant.create", "product", "product_id"),
        summary: "Add a variant",
        statuses: &[201],
    },
    UpdateVariant = Patch "/admin/api/v1/variants/{variant_id}" => update_variant(Json<UpdateVariant>) -> Answer<ProductView> {
        access: Access::Admin(Role::Admin),
        audit: change("variant.update", "variant", "variant_id"),
        summary: "Edit a variant",
    },
    ArchiveVariant = Post "/admin/api/v1/variants/{variant_id}/archive" => archive_variant(NoBody) -> Answer<ProductView> {
        access: Access::Admin(Role::Admin),
        audit: change("variant.archive", "variant", "variant_id"),
        summary: "Take a variant off sale",
    },
    ListProviderMappings = Get "/admin/api/v1/variants/{variant_id}/provider-mappings" => list_mappings(NoBody) -> Answer<List<MappingView>> {
        access: Access::Admin(Role::Support),
        summary: "Provider mappings of a variant",
    },
    SetProviderMapping = Put "/admin/api/v1/variants/{variant_id}/provider-mappings/{provider}" => set_mapping(Json<SetMapping>) -> Answer<List<MappingView>> {
        access: Access::Admin(Role::Admin),
        audit: change("provider_mapping.set", "variant", "variant_id"),
        summary: "Set the provider's external variant id and cost",
    },
    RemoveProviderMapping = Delete "/admin/api/v1/variants/{variant_id}/provider-mappings/{provider}" => remove_mapping(NoBody) -> Answer<List<MappingView>> {
        access: Access::Admin(Role::Admin),
        audit: change("provider_mapping.remove", "variant", "variant_id"),
        summary: "Remove a provider mapping",
    },
    ListFulfillmentOrders = Get "/admin/api/v1/fulfillment-orders" => list_fulfillment_orders(NoBody) -> Answer<FulfillmentPage> {
        access: Access::Admin(Role::Support),
        summary: "Fulfillment orders, newest first, with errors (filters: status, provider; limit, starting_after)",
    },
    GetFulfillmentOrder = Get "/admin/api/v1/fulfillment-orders/{fulfillment_order_id}" => get_fulfillment_order(NoBody) -> Answer<FulfillmentOrderView> {
        access: Access::Admin(Role::Support),
        summary: "One fulfillment order with its lines and parcels",
    },
    RetryFulfillmentOrder = Post "/admin/api/v1/fulfillment-orders/{fulfillment_order_id}/retry" => retry_fulfillment_order(NoBody) -> Answer<FulfillmentOrderView> {
        access: Access::Admin(Role::Admin),
        audit: change("fulfillment_order.retry", "fulfillment_order", "fulfillment_order_id"),
        summary: "Retry a failed fulfillment order: back to pending and queued again (only from failed)",
    },
    ListRefunds = Get "/admin/api/v1/orders/{order_id}/refunds" => list_refunds(NoBody) -> Answer<List<RefundView>> {
        access: Access::Admin(Role::Support),
        summary: "The order's refunds (ledger rows)",
    },
    CreateRefund = Post "/admin/api/v1/orders/{order_id}/refunds" => create_refund(Json<RefundInput>) -> Answer<RefundView> {
        access: Access::Admin(Role::Admin),
        audit: change("order.refund", "order", "order_id"),
        summary: "Refund all that is left, an amount, or lines; never more than captured minus refunded",
        statuses: &[201],
    },
    CancelOrder = Post "/admin/api/v1/orders/{order_id}/cancel" => cancel_order(OptionalJson<CancelInput>) -> Answer<CancellationResult> {
        access: Access::Admin(Role::Admin),
        audit: change("order.cancel", "order", "order_id"),
        summary: "Cancel what can still be cancelled (providers asked through the queue); refunds follow what was cancelled",
    },
    UploadArt = Post "/admin/api/v1/art" => upload_art(RawBody) -> Answer<StoredFile> {
        access: Access::Admin(Role::Admin),
        audit: creation("art.upload", false),
        summary: "Upload art (raw body: image/png or image/jpeg, at most 25 MB) to make products from",
        statuses: &[201],
        uploads: &["image/png", "image/jpeg"],
    },
    ProductFromArt = Post "/admin/api/v1/products/from-art" => product_from_art(Json<FromArt>) -> Answer<ProductView> {
        access: Access::Admin(Role::Admin),
        audit: creation("product.create_from_art", true),
        summary: "Create a product from uploaded art: variants (digital ones sell the art), provider mappings with cost, design placements, images — one batch",
        statuses: &[201],
    },
    ListOrders = Get "/admin/api/v1/orders" => list_orders(NoBody) -> Answer<OrderPage> {
        access: Access::Admin(Role::Support),
        summary: "Orders, newest first: filters status, financial_status, provider, customer_id, company_id, needs_review, created_from, created_to (dates or RFC 3339); q = email or order number (or its beginning); limit, starting_after",
    },
    ExportOrders = Get "/admin/api/v1/orders/export.csv" => export_orders(NoBody) -> Response {
        access: Access::Admin(Role::Support),
        summary: "The same orders as CSV (same filters), streamed page by page",
        content_type: "text/csv; charset=utf-8",
    },
    GetOrder = Get "/admin/api/v1/orders/{order_id}" => get_order(NoBody) -> Answer<admin::orders::OrderDetail> {
        access: Access::Admin(Role::Support),
        summary: "One order in full: items, money, customer, fulfillment, parcels, payments, downloads, customer files (signed links), notes, emails, timeline, Stripe dashboard links",
    },
    AddOrderNote = Post "/admin/api/v1/orders/{order_id}/notes" => add_note(Json<NoteInput>) -> Answer<NoteView> {
        access: Access::Admin(Role::Support),
        audit: change("order.note", "order", "order_id"),
        summary: "Add an operator note (plain text, at most 4000 characters)",
        statuses: &[201],
    },
    AddTracking = Post "/admin/api/v1/fulfillment-orders/{fulfillment_order_id}/tracking" => add_tracking(Json<TrackingInput>) -> Answer<TrackingResult> {
        access: Access::Admin(Role::Support),
        audit: change("fulfillment_order.tracking", "fulfillment_order", "fulfillment_order_id"),
        summary: "Add a parcel with tracking to a manual, warehouse or hand-run Gelato fulfillment order (ships it; the shipped email follows)",
    },
    FulfillmentDashboard = Get "/admin/api/v1/fulfillment/dashboard" => dashboard(NoBody) -> Answer<Dashboard> {
        access: Access::Admin(Role::Support),
        summary: "Fulfillment orders counted by provider and status, and the latest failures",
    },
    OpenCustomerFile = Get "/admin/api/v1/customer-files/{file_id}" => before_auth(NoBody) -> Response {
        access: Access::Signed,
        summary: "A customer's file through a signed link from the order detail (store, expires, signature query parameters; 15 minutes)",
        content_type: "application/octet-stream",
        statuses: &[200, 206],
    },
    ListPromoCodes = Get "/admin/api/v1/promo-codes" => list_promo_codes(NoBody) -> Answer<List<PromoView>> {
        access: Access::Admin(Role::Support),
        summary: "Promo codes with redemption counts (deleted ones hidden)",
    },
    CreatePromoCode = Post "/admin/api/v1/promo-codes" => create_promo_code(Json<PromoInput>) -> Answer<PromoView> {
        access: Access::Admin(Role::Admin),
        audit: creation("promo_code.create", true),
        summary: "Create a promo code: a Stripe coupon and promotion code (resumable, idempotent)",
        statuses: &[201],
    },
    GetPromoCode = Get "/admin/api/v1/promo-codes/{promo_code_id}" => get_promo_code(NoBody) -> Answer<PromoView> {
        access: Access::Admin(Role::Support),
        summary: "One promo code",
    },
    UpdatePromoCode = Patch "/admin/api/v1/promo-codes/{promo_code_id}" => update_promo_code(Json<PromoUpdate>) -> Answer<PromoView> {
        access: Access::Admin(Role::Admin),
        audit: change("promo_code.update", "promo_code", "promo_code_id"),
        summary: "Activate or deactivate (at Stripe first), or change the description",
    },
    DeletePromoCode = Delete "/admin/api/v1/promo-codes/{promo_code_id}" => delete_promo_code(NoBody) -> Answer<DeletedPromo> {
        access: Access::Admin(Role::Admin),
        audit: change("promo_code.delete", "promo_code", "promo_code_id"),
        summary: "Soft delete: deactivated at Stripe, kept for the orders that used it",
    },
    ListUsers = Get "/admin/api/v1/users" => list_users(NoBody) -> Answer<UserPage> {
        access: Access::Admin(Role::Support),
        summary: "Customers, newest first, with lifetime value, order count and last order (email filter; limit, starting_after)",
    },
    GetUser = Get "/admin/api/v1/users/{user_id}" => get_user(NoBody) -> Answer<UserDetail> {
        access: Access::Admin(Role::Support),
        summary: "One customer and their orders",
    },
    BlockUser = Post "/admin/api/v1/users/{user_id}/block" => block_user(Json<BlockInput>) -> Answer<UserView> {
        access: Access::Admin(Role::Superadmin),
        audit: change("user.block", "user", "user_id"),
        summary: "Block a customer (reason required): they cannot check out",
    },
    UnblockUser = Post "/admin/api/v1/users/{user_id}/unblock" => unblock_user(OptionalJson<BlockInput>) -> Answer<UserView> {
        access: Access::Admin(Role::Superadmin),
        audit: change("user.unblock", "user", "user_id"),
        summary: "Unblock a customer",
    },
    ListAuditLog = Get "/admin/api/v1/audit-log" => list_audit_log(NoBody) -> Answer<AuditPage> {
        access: Access::Admin(Role::Admin),
        summary: "Every admin change: who, what, target, request id (newest first; limit, starting_after)",
    },
    AcceptPayment = Post "/admin/api/v1/orders/{order_id}/accept-payment" => accept_payment(NoBody) -> Answer<AcceptedPayment> {
        access: Access::Admin(Role::Admin),
        audit: change("order.accept_payment", "order", "order_id"),
        summary: "Accept what Stripe says was paid for an order under review (read again from Stripe): the order is paid and fulfilled",
    },
    SettleCancellation = Post "/admin/api/v1/fulfillment-orders/{fulfillment_order_id}/cancellation" => settle_cancellation(Json<OperatorOutcome>) -> Answer<FulfillmentOrderView> {
        access: Access::Admin(Role::Admin),
        audit: change("fulfillment_order.cancellation", "fulfillment_order", "fulfillment_order_id"),
        summary: "Settle the cancellation of an order run by hand (manual, warehouse, Gelato in its portal): cancelled (its lines are refunded) or rejected",
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
    let (route, params) = route(ROUTES, req.method, &req.path).map_err(|_| {
        // Not this table's: a method the sales operations (or these) answer at this path
        // is 405 with every method allowed; a path neither knows is 404.
        let mut allowed = crate::http::allowed_methods(ROUTES, &req.path);
        allowed.extend(crate::http::allowed_methods(
            crate::sales::ROUTES,
            &req.path,
        ));
        allowed.extend(crate::http::allowed_methods(
            crate::operations::ROUTES,
            &req.path,
        ));
        allowed.dedup();
        if allowed.is_empty() {
            Problem::route_not_found()
        } else {
            Problem::method_not_allowed(&allowed)
        }
    })?;
    match route.id {
        Op::Healthz => return Ok(healthz(p, "admin").await),
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
    authorized(p, req, route, &params).await
}

/// Authenticates the caller, checks the route's role and performs the operation: every
/// admin route table's way in (this one's and [`crate::sales`]'s).
///
/// # Errors
/// 401/403; the operation's problem.
pub async fn authorized<P: Platform, O: Operations>(
    p: &Audited<'_, P>,
    req: &Request,
    route: &Route<O>,
    params: &Params,
) -> Result<Response, Problem> {
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
    perform(p, req, route, params, &caller, &store_id).await
}

/// A route table's operations, run with an admin's context.
pub trait Operations: Copy + PartialEq + 'static {
    /// The table they are declared in.
    const ROUTES: &'static [Route<Self>];
    async fn run<P: Platform>(self, cx: &Cx<'_, P>) -> Result<Response, Problem>;
}

impl Operations for Op {
    const ROUTES: &'static [Route<Op>] = ROUTES;
    async fn run<P: Platform>(self, cx: &Cx<'_, P>) -> Result<Response, Problem> {
        run(cx, self).await
    }
}

/// An operation the web UI performs for an operator: which one, the id its path names
/// (if any) and its JSON input. The UI names operations, never API paths.
#[derive(Debug, Clone)]
pub struct Call<'a, O = Op> {
    pub op: O,
    pub id: &'a str,
    pub input: serde_json::Value,
}

impl<O: Operations> Call<'_, O> {
    pub fn route(&self) -> &'static Route<O> {
        O::ROUTES
            .iter()
            .find(|r| r.id == self.op)
            .expect("every operation has its route")
    }
    /// The API path the call stands for (in the audit log, and what its Idempotency-Key
    /// promises).
    pub fn path(&self) -> String {
        self.route()
            .pattern
            .split('/')
            .map(|seg| if seg.starts_with('{') { self.id } else { seg })
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// The web UI's way in: an operation as this caller (roles, idempotency and the audit log
/// exactly as for the API).
///
/// # Errors
/// 403 without the role; the operation's problem.
pub async fn perform_as<P: Platform, O: Operations>(
    p: &Audited<'_, P>,
    caller: &AdminCaller,
    call: Call<'_, O>,
    idempotency_key: Option<&str>,
    request_id: &str,
) -> Result<Response, Problem> {
    let route = call.route();
    if matches!(
        route.access,
        Access::Public | Access::Signed | Access::Bootstrap
    ) {
        return Err(not_an_operation());
    }
    let store_id = caller
        .require(route.access.role().unwrap_or(Role::Superadmin))?
        .0
        .to_owned();
    let params = Params::filled(route.pattern, call.id);
    let mut req = Request::new(route.method, &call.path()).json_body(&call.input);
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
pub async fn perform<P: Platform, O: Operations>(
    p: &Audited<'_, P>,
    req: &Request,
    route: &Route<O>,
    params: &Params,
    caller: &AdminCaller,
    store_id: &str,
) -> Result<Response, Problem> {
    let op = route.id;
    let cx = Cx {
        p,
        req,
        params,
        caller,
        store_id,
    };
    let Audit::Change {
        action,
        target,
        keep_body,
    } = route.audit
    else {
        return op.run(&cx).await;
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
        let result = op.run(&cx).await;
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
pub(crate) fn author(caller: &AdminCaller) -> String {
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

/// What an admin handler works with: the (audited) platform, the request (path
/// parameters, query), the authorized caller and the store it acts on.
pub struct Cx<'a, P: Platform> {
    pub p: &'a P,
    pub req: &'a Request,
    pub params: &'a Params,
    pub caller: &'a AdminCaller,
    pub store_id: &'a str,
}

impl<P: Platform> Cx<'_, P> {
    pub(crate) fn param(&self, name: &str) -> &str {
        self.params.get(name)
    }
    pub(crate) fn query(&self, name: &str) -> Option<&str> {
        self.req.query_param(name)
    }
    pub(crate) async fn store(&self) -> Result<stores::StoreRow, Problem> {
        Ok(stores::store_by_id(self.p.db(), self.store_id)
            .await?
            .ok_or(AppError::NotFound("store"))?)
    }
}

/// Public routes are answered in [`dispatch`] before authentication; the UI cannot run
/// them as an operation.
pub(crate) async fn before_auth<P: Platform, I, O>(_: &Cx<'_, P>, _: I) -> Result<O, Problem> {
    Err(not_an_operation())
}

pub(crate) type Reply<T> = Result<Answer<T>, Problem>;

async fn create_store<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<CreateStore>,
) -> Reply<CreatedStore> {
    Ok(Answer::created(
        create_store::create_store(cx.p, input).await?,
    ))
}

async fn list_stores<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<Page<StoreView>> {
    let page =
        update_store::list_stores(cx.p, cx.query("starting_after"), cx.query("limit")).await?;
    Ok(Answer::ok(page))
}

async fn get_store<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<StoreView> {
    Ok(Answer::ok(
        update_store::get_store(cx.p, cx.store_id).await?,
    ))
}

async fn update_store<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<UpdateStore>,
) -> Reply<StoreView> {
    Ok(Answer::ok(
        update_store::update_store(cx.p, cx.store_id, input).await?,
    ))
}

async fn list_admin_keys<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<List<AdminKeyView>> {
    let data = admin_keys::list_admin_keys(cx.p, cx.store_id).await?;
    Ok(Answer::ok(List { data }))
}

async fn create_admin_key<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<CreateAdminKey>,
) -> Reply<NewAdminKey> {
    Ok(Answer::created(
        admin_keys::create_admin_key(cx.p, cx.store_id, input).await?,
    ))
}

async fn update_admin_key<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<UpdateAdminKey>,
) -> Reply<AdminKeyView> {
    let own = cx.caller.own_key_id();
    let key =
        admin_keys::update_admin_key(cx.p, cx.store_id, own, cx.param("key_id"), input).await?;
    Ok(Answer::ok(key))
}

async fn revoke_admin_key<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Result<NoContent, Problem> {
    let own = cx.caller.own_key_id();
    admin_keys::revoke_admin_key(cx.p, cx.store_id, own, cx.param("key_id")).await?;
    Ok(NoContent)
}

async fn list_products<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<Page<ProductView>> {
    let page = catalog::list_products::list_products(
        cx.p,
        cx.store_id,
        Audience::Admin,
        cx.query("status"),
        cx.query("starting_after"),
        cx.query("limit"),
    )
    .await?;
    Ok(Answer::ok(page))
}

async fn create_product<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<CreateProduct>,
) -> Reply<ProductView> {
    let store = cx.store().await?;
    Ok(Answer::created(
        catalog::create_product::create_product(cx.p, &store, input).await?,
    ))
}

async fn get_product<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<ProductView> {
    let id = cx.param("product_id");
    Ok(Answer::ok(
        catalog::get_product::admin_view(cx.p.db(), cx.store_id, id).await?,
    ))
}

async fn update_product<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<UpdateProduct>,
) -> Reply<ProductView> {
    let id = cx.param("product_id");
    Ok(Answer::ok(
        catalog::update_product::update_product(cx.p, cx.store_id, id, input).await?,
    ))
}

async fn archive_product<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<ProductView> {
    let id = cx.param("product_id");
    Ok(Answer::ok(
        catalog::archive::archive_product(cx.p, cx.store_id, id).await?,
    ))
}

async fn add_variant<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<VariantInput>,
) -> Reply<ProductView> {
    let store = cx.store().await?;
    let product_id = cx.param("product_id");
    Ok(Answer::created(
        catalog::add_variant::add_variant(cx.p, &store, product_id, input).await?,
    ))
}

async fn update_variant<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<UpdateVariant>,
) -> Reply<ProductView> {
    let store = cx.store().await?;
    let id = cx.param("variant_id");
    Ok(Answer::ok(
        catalog::update_variant::update_variant(cx.p, &store, id, input).await?,
    ))
}

async fn archive_variant<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<ProductView> {
    let id = cx.param("variant_id");
    Ok(Answer::ok(
        catalog::archive::archive_variant(cx.p, cx.store_id, id).await?,
    ))
}

async fn list_mappings<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<List<MappingView>> {
    let variant_id = cx.param("variant_id");
    let data = provider_mappings::list_mappings(cx.p, cx.store_id, variant_id).await?;
    Ok(Answer::ok(List { data }))
}

async fn set_mapping<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<SetMapping>,
) -> Reply<List<MappingView>> {
    let provider = provider_param(cx.params)?;
    let variant_id = cx.param("variant_id");
    let data =
        provider_mappings::set_mapping(cx.p, cx.store_id, variant_id, provider, input).await?;
    Ok(Answer::ok(List { data }))
}

async fn remove_mapping<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<List<MappingView>> {
    let provider = provider_param(cx.params)?;
    let variant_id = cx.param("variant_id");
    let data = provider_mappings::remove_mapping(cx.p, cx.store_id, variant_id, provider).await?;
    Ok(Answer::ok(List { data }))
}

async fn list_fulfillment_orders<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<FulfillmentPage> {
    let page = fulfillment::admin::list(
        cx.p,
        cx.store_id,
        cx.query("status"),
        cx.query("provider"),
        cx.query("starting_after"),
        cx.query("limit"),
    )
    .await?;
    Ok(Answer::ok(page))
}

async fn get_fulfillment_order<P: Platform>(
    cx: &Cx<'_, P>,
    _: NoBody,
) -> Reply<FulfillmentOrderView> {
    let id = cx.param("fulfillment_order_id");
    Ok(Answer::ok(
        fulfillment::admin::get(cx.p, cx.store_id, id).await?,
    ))
}

async fn retry_fulfillment_order<P: Platform>(
    cx: &Cx<'_, P>,
    _: NoBody,
) -> Reply<FulfillmentOrderView> {
    let id = cx.param("fulfillment_order_id");
    Ok(Answer::ok(
        fulfillment::admin::retry(cx.p, cx.store_id, id).await?,
    ))
}

async fn list_refunds<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<List<RefundView>> {
    let data = refunds::list(cx.p, cx.store_id, cx.param("order_id")).await?;
    Ok(Answer::ok(List { data }))
}

async fn create_refund<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<RefundInput>,
) -> Reply<RefundView> {
    let order_id = cx.param("order_id");
    Ok(Answer::created(
        refunds::create(cx.p, cx.store_id, order_id, input).await?,
    ))
}

async fn cancel_order<P: Platform>(
    cx: &Cx<'_, P>,
    OptionalJson(input): OptionalJson<CancelInput>,
) -> Reply<CancellationResult> {
    let reason = lading_core::input::optional_line("reason", input.reason.as_deref(), 200)?
        .map_or_else(
            || "cancelled_by_operator".to_owned(),
            |r| format!("cancelled_by_operator: {r}"),
        );
    let order = admin::orders::order_of_store(cx.p, cx.store_id, cx.param("order_id")).await?;
    let result = fulfillment::cancel::cancel_order(
        cx.p,
        order,
        fulfillment::cancel::Actor::Operator,
        &reason,
    )
    .await?;
    Ok(Answer::ok(result))
}

async fn upload_art<P: Platform>(cx: &Cx<'_, P>, _: RawBody) -> Reply<StoredFile> {
    Ok(Answer::created(
        files::upload_art(cx.p, cx.store_id, cx.req.upload()).await?,
    ))
}

async fn product_from_art<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<FromArt>,
) -> Reply<ProductView> {
    let store = cx.store().await?;
    Ok(Answer::created(
        files::product_from_art(cx.p, &store, input).await?,
    ))
}

fn order_filters<P: Platform>(cx: &Cx<'_, P>) -> Result<admin::orders::OrderFilters, Problem> {
    Ok(admin::orders::OrderFilters::from_query(|k| {
        cx.query(k).map(str::to_owned)
    })?)
}

async fn list_orders<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<OrderPage> {
    let filters = order_filters(cx)?;
    let page = admin::orders::list(
        cx.p,
        cx.store_id,
        &filters,
        cx.query("starting_after"),
        cx.query("limit"),
    )
    .await?;
    Ok(Answer::ok(page))
}

async fn export_orders<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Result<Response, Problem> {
    let filters = order_filters(cx)?;
    let day = lading_core::time_fmt::rfc3339(cx.p.now_ms());
    Ok(Response::export(
        admin::orders::CsvExport::new(cx.store_id, filters),
        &format!("orders-{}.csv", &day[..10]),
    ))
}

async fn get_order<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<admin::orders::OrderDetail> {
    let order_id = cx.param("order_id");
    Ok(Answer::ok(
        admin::orders::detail(cx.p, cx.store_id, order_id).await?,
    ))
}

async fn add_note<P: Platform>(cx: &Cx<'_, P>, Json(input): Json<NoteInput>) -> Reply<NoteView> {
    let order_id = cx.param("order_id");
    let author = author(cx.caller);
    Ok(Answer::created(
        admin::orders::add_note(cx.p, cx.store_id, order_id, &author, input).await?,
    ))
}

async fn add_tracking<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<TrackingInput>,
) -> Reply<TrackingResult> {
    let id = cx.param("fulfillment_order_id");
    Ok(Answer::ok(
        admin::tracking::add_tracking(cx.p, cx.store_id, id, input).await?,
    ))
}

async fn dashboard<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<Dashboard> {
    Ok(Answer::ok(
        fulfillment::admin::dashboard(cx.p, cx.store_id).await?,
    ))
}

async fn list_promo_codes<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<List<PromoView>> {
    let data = admin::promo_codes::list(cx.p, cx.store_id).await?;
    Ok(Answer::ok(List { data }))
}

async fn create_promo_code<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<PromoInput>,
) -> Reply<PromoView> {
    let author = author(cx.caller);
    Ok(Answer::created(
        admin::promo_codes::create(cx.p, cx.store_id, &author, input).await?,
    ))
}

async fn get_promo_code<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<PromoView> {
    let id = cx.param("promo_code_id");
    Ok(Answer::ok(
        admin::promo_codes::get(cx.p, cx.store_id, id).await?,
    ))
}

async fn update_promo_code<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<PromoUpdate>,
) -> Reply<PromoView> {
    let id = cx.param("promo_code_id");
    Ok(Answer::ok(
        admin::promo_codes::update(cx.p, cx.store_id, id, input).await?,
    ))
}

async fn delete_promo_code<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<DeletedPromo> {
    let id = cx.param("promo_code_id");
    Ok(Answer::ok(
        admin::promo_codes::delete(cx.p, cx.store_id, id).await?,
    ))
}

async fn list_users<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<UserPage> {
    let page = admin::users::list(
        cx.p,
        cx.store_id,
        cx.query("email"),
        cx.query("starting_after"),
        cx.query("limit"),
    )
    .await?;
    Ok(Answer::ok(page))
}

async fn get_user<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<UserDetail> {
    let id = cx.param("user_id");
    Ok(Answer::ok(admin::users::get(cx.p, cx.store_id, id).await?))
}

async fn block_user<P: Platform>(cx: &Cx<'_, P>, Json(input): Json<BlockInput>) -> Reply<UserView> {
    let id = cx.param("user_id");
    Ok(Answer::ok(
        admin::users::set_blocked(cx.p, cx.store_id, id, true, input).await?,
    ))
}

async fn unblock_user<P: Platform>(
    cx: &Cx<'_, P>,
    OptionalJson(input): OptionalJson<BlockInput>,
) -> Reply<UserView> {
    let id = cx.param("user_id");
    Ok(Answer::ok(
        admin::users::set_blocked(cx.p, cx.store_id, id, false, input).await?,
    ))
}

async fn list_audit_log<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<AuditPage> {
    let page = admin::audit::list(
        cx.p,
        cx.store_id,
        cx.query("starting_after"),
        cx.query("limit"),
    )
    .await?;
    Ok(Answer::ok(page))
}

async fn settle_cancellation<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<OperatorOutcome>,
) -> Reply<FulfillmentOrderView> {
    let id = cx.param("fulfillment_order_id");
    Ok(Answer::ok(
        fulfillment::cancel::settle_by_operator(cx.p, cx.store_id, id, input).await?,
    ))
}

async fn accept_payment<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<AcceptedPayment> {
    let order_id = cx.param("order_id");
    Ok(Answer::ok(
        lading_core::payments::events::accept_review(cx.p, cx.store_id, order_id).await?,
    ))
}
