//! The admin JSON API under `/admin/api/v1` (`Authorization: Bearer <admin key>`). Every
//! route names the least role it needs; the bootstrap key may only create stores.

use super::{finish, healthz, with_idempotency};
use crate::AppError;
use crate::admin;
use crate::admin::audit::Audited;
use crate::auth::{self, AdminCaller};
use crate::catalog::{
    self, Audience, add_variant::add_variant, archive, create_product::create_product,
    list_products::list_products, provider_mappings, update_product::update_product,
    update_variant::update_variant,
};
use crate::domain::{ProviderCode, Role};
use crate::fulfillment;
use crate::http::{Method, Params, Problem, Request, Response, Route, route};
use crate::payments::refunds;
use crate::ports::Platform;
use crate::sql::stores;
use crate::stores::{admin_keys, create_store::create_store, update_store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Healthz,
    OpenApi,
    CreateStore,
    ListStores,
    GetStore,
    UpdateStore,
    ListAdminKeys,
    CreateAdminKey,
    UpdateAdminKey,
    RevokeAdminKey,
    ListProducts,
    CreateProduct,
    GetProduct,
    UpdateProduct,
    ArchiveProduct,
    AddVariant,
    UpdateVariant,
    ArchiveVariant,
    ListProviderMappings,
    SetProviderMapping,
    RemoveProviderMapping,
    ListFulfillmentOrders,
    GetFulfillmentOrder,
    RetryFulfillmentOrder,
    ListRefunds,
    CreateRefund,
    CancelOrder,
    UploadArt,
    ProductFromArt,
    ListOrders,
    ExportOrders,
    GetOrder,
    AddOrderNote,
    AddTracking,
    FulfillmentDashboard,
    OpenCustomerFile,
    ListPromoCodes,
    CreatePromoCode,
    GetPromoCode,
    UpdatePromoCode,
    DeletePromoCode,
    ListUsers,
    GetUser,
    BlockUser,
    UnblockUser,
    ListAuditLog,
    SettleCancellation,
    AcceptPayment,
}

pub const ROUTES: &[Route<Op>] = &[
    Route {
        method: Method::Get,
        pattern: "/healthz",
        id: Op::Healthz,
    },
    Route {
        method: Method::Get,
        pattern: "/openapi.json",
        id: Op::OpenApi,
    },
    Route {
        method: Method::Post,
        pattern: "/admin/api/v1/stores",
        id: Op::CreateStore,
    },
    Route {
        method: Method::Get,
        pattern: "/admin/api/v1/stores",
        id: Op::ListStores,
    },
    Route {
        method: Method::Get,
        pattern: "/admin/api/v1/store",
        id: Op::GetStore,
    },
    Route {
        method: Method::Patch,
        pattern: "/admin/api/v1/store",
        id: Op::UpdateStore,
    },
    Route {
        method: Method::Get,
        pattern: "/admin/api/v1/admin-keys",
        id: Op::ListAdminKeys,
    },
    Route {
        method: Method::Post,
        pattern: "/admin/api/v1/admin-keys",
        id: Op::CreateAdminKey,
    },
    Route {
        method: Method::Patch,
        pattern: "/admin/api/v1/admin-keys/{key_id}",
        id: Op::UpdateAdminKey,
    },
    Route {
        method: Method::Delete,
        pattern: "/admin/api/v1/admin-keys/{key_id}",
        id: Op::RevokeAdminKey,
    },
    Route {
        method: Method::Get,
        pattern: "/admin/api/v1/products",
        id: Op::ListProducts,
    },
    Route {
        method: Method::Post,
        pattern: "/admin/api/v1/products",
        id: Op::CreateProduct,
    },
    Route {
        method: Method::Get,
        pattern: "/admin/api/v1/products/{product_id}",
        id: Op::GetProduct,
    },
    Route {
        method: Method::Patch,
        pattern: "/admin/api/v1/products/{product_id}",
        id: Op::UpdateProduct,
    },
    Route {
        method: Method::Post,
        pattern: "/admin/api/v1/products/{product_id}/archive",
        id: Op::ArchiveProduct,
    },
    Route {
        method: Method::Post,
        pattern: "/admin/api/v1/products/{product_id}/variants",
        id: Op::AddVariant,
    },
    Route {
        method: Method::Patch,
        pattern: "/admin/api/v1/variants/{variant_id}",
        id: Op::UpdateVariant,
    },
    Route {
        method: Method::Post,
        pattern: "/admin/api/v1/variants/{variant_id}/archive",
        id: Op::ArchiveVariant,
    },
    Route {
        method: Method::Get,
        pattern: "/admin/api/v1/variants/{variant_id}/provider-mappings",
        id: Op::ListProviderMappings,
    },
    Route {
        method: Method::Put,
        pattern: "/admin/api/v1/variants/{variant_id}/provider-mappings/{provider}",
        id: Op::SetProviderMapping,
    },
    Route {
        method: Method::Delete,
        pattern: "/admin/api/v1/variants/{variant_id}/provider-mappings/{provider}",
        id: Op::RemoveProviderMapping,
    },
    Route {
        method: Method::Get,
        pattern: "/admin/api/v1/fulfillment-orders",
        id: Op::ListFulfillmentOrders,
    },
    Route {
        method: Method::Get,
        pattern: "/admin/api/v1/fulfillment-orders/{fulfillment_order_id}",
        id: Op::GetFulfillmentOrder,
    },
    Route {
        method: Method::Post,
        pattern: "/admin/api/v1/fulfillment-orders/{fulfillment_order_id}/retry",
        id: Op::RetryFulfillmentOrder,
    },
    Route {
        method: Method::Get,
        pattern: "/admin/api/v1/orders/{order_id}/refunds",
        id: Op::ListRefunds,
    },
    Route {
        method: Method::Post,
        pattern: "/admin/api/v1/orders/{order_id}/refunds",
        id: Op::CreateRefund,
    },
    Route {
        method: Method::Post,
        pattern: "/admin/api/v1/orders/{order_id}/cancel",
        id: Op::CancelOrder,
    },
    Route {
        method: Method::Post,
        pattern: "/admin/api/v1/art",
        id: Op::UploadArt,
    },
    Route {
        method: Method::Post,
        pattern: "/admin/api/v1/products/from-art",
        id: Op::ProductFromArt,
    },
    Route {
        method: Method::Get,
        pattern: "/admin/api/v1/orders",
        id: Op::ListOrders,
    },
    Route {
        method: Method::Get,
        pattern: "/admin/api/v1/orders/export.csv",
        id: Op::ExportOrders,
    },
    Route {
        method: Method::Get,
        pattern: "/admin/api/v1/orders/{order_id}",
        id: Op::GetOrder,
    },
    Route {
        method: Method::Post,
        pattern: "/admin/api/v1/orders/{order_id}/notes",
        id: Op::AddOrderNote,
    },
    Route {
        method: Method::Post,
        pattern: "/admin/api/v1/fulfillment-orders/{fulfillment_order_id}/tracking",
        id: Op::AddTracking,
    },
    Route {
        method: Method::Get,
        pattern: "/admin/api/v1/fulfillment/dashboard",
        id: Op::FulfillmentDashboard,
    },
    Route {
        method: Method::Get,
        pattern: "/admin/api/v1/customer-files/{file_id}",
        id: Op::OpenCustomerFile,
    },
    Route {
        method: Method::Get,
        pattern: "/admin/api/v1/promo-codes",
        id: Op::ListPromoCodes,
    },
    Route {
        method: Method::Post,
        pattern: "/admin/api/v1/promo-codes",
        id: Op::CreatePromoCode,
    },
    Route {
        method: Method::Get,
        pattern: "/admin/api/v1/promo-codes/{promo_code_id}",
        id: Op::GetPromoCode,
    },
    Route {
        method: Method::Patch,
        pattern: "/admin/api/v1/promo-codes/{promo_code_id}",
        id: Op::UpdatePromoCode,
    },
    Route {
        method: Method::Delete,
        pattern: "/admin/api/v1/promo-codes/{promo_code_id}",
        id: Op::DeletePromoCode,
    },
    Route {
        method: Method::Get,
        pattern: "/admin/api/v1/users",
        id: Op::ListUsers,
    },
    Route {
        method: Method::Get,
        pattern: "/admin/api/v1/users/{user_id}",
        id: Op::GetUser,
    },
    Route {
        method: Method::Post,
        pattern: "/admin/api/v1/users/{user_id}/block",
        id: Op::BlockUser,
    },
    Route {
        method: Method::Post,
        pattern: "/admin/api/v1/users/{user_id}/unblock",
        id: Op::UnblockUser,
    },
    Route {
        method: Method::Get,
        pattern: "/admin/api/v1/audit-log",
        id: Op::ListAuditLog,
    },
    Route {
        method: Method::Post,
        pattern: "/admin/api/v1/fulfillment-orders/{fulfillment_order_id}/cancellation",
        id: Op::SettleCancellation,
    },
    Route {
        method: Method::Post,
        pattern: "/admin/api/v1/orders/{order_id}/accept-payment",
        id: Op::AcceptPayment,
    },
];

/// The least role each route needs; `None` for public routes and the bootstrap-only one.
pub fn required_role(op: Op) -> Option<Role> {
    use Op::*;
    match op {
        Healthz | OpenApi | CreateStore | ListStores | OpenCustomerFile => None,
        ListOrders | ExportOrders | GetOrder | AddOrderNote | AddTracking
        | FulfillmentDashboard | ListPromoCodes | GetPromoCode | ListUsers | GetUser => {
            Some(Role::Support)
        }
        CreatePromoCode | UpdatePromoCode | DeletePromoCode | ListAuditLog | SettleCancellation
        | AcceptPayment => Some(Role::Admin),
        BlockUser | UnblockUser => Some(Role::Superadmin),
        GetStore
        | ListProducts
        | GetProduct
        | ListProviderMappings
        | ListFulfillmentOrders
        | GetFulfillmentOrder
        | ListRefunds => Some(Role::Support),
        CreateProduct
        | UpdateProduct
        | ArchiveProduct
        | AddVariant
        | UpdateVariant
        | ArchiveVariant
        | SetProviderMapping
        | RemoveProviderMapping
        | RetryFulfillmentOrder
        | CreateRefund
        | CancelOrder
        | UploadArt
        | ProductFromArt => Some(Role::Admin),
        UpdateStore | ListAdminKeys | CreateAdminKey | UpdateAdminKey | RevokeAdminKey => {
            Some(Role::Superadmin)
        }
    }
}

pub async fn handle<P: Platform>(p: &P, req: Request) -> Response {
    // The whole admin API and UI run on the audited platform (see `perform`): one copy of
    // each use case in the Worker.
    let p = &admin::audit::Audited::new(p);
    if admin::ui::is_ui_path(&req.path) {
        let r = admin::ui::handle(p, &req).await;
        return finish(&req, Ok(r));
    }
    let result = dispatch(p, &req).await;
    finish(&req, result).with_header("cache-control", "no-store")
}

async fn dispatch<P: Platform>(p: &Audited<'_, P>, req: &Request) -> Result<Response, Problem> {
    let (op, params) = route(ROUTES, req.method, &req.path)?;
    match op {
        Op::Healthz => return Ok(healthz(p, "admin").await),
        Op::OpenApi => return Ok(Response::json(200, &super::document("admin"))),
        Op::OpenCustomerFile => {
            return Ok(admin::files::open(
                p,
                params.get("file_id"),
                req.query_param("store"),
                req.query_param("expires"),
                req.query_param("signature"),
                req.get_header("range"),
            )
            .await?
            .with_header("referrer-policy", "no-referrer"));
        }
        _ => {}
    }
    let caller = auth::admin_caller(p, req).await?;
    let store_id = match (op, &caller) {
        (Op::CreateStore | Op::ListStores, AdminCaller::Bootstrap { .. }) => "platform".to_owned(),
        (Op::CreateStore | Op::ListStores, _) => {
            return Err(AppError::Forbidden(
                "Only the bootstrap key (ADMIN_BOOTSTRAP_KEY) creates and lists stores.".into(),
            )
            .into());
        }
        (op, caller) => caller
            .require(required_role(op).unwrap_or(Role::Superadmin))?
            .0
            .to_owned(),
    };
    perform(p, req, op, &params, &caller, &store_id).await
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
    let (op, params) = route(ROUTES, method, path)?;
    let store_id = caller
        .require(required_role(op).unwrap_or(Role::Superadmin))?
        .0
        .to_owned();
    let mut req = Request::new(method, path).json_body(&body);
    if let Some(k) = idempotency_key {
        req = req.header("idempotency-key", k);
    }
    req.request_id = request_id.to_owned();
    perform(p, &req, op, &params, caller, &store_id).await
}

/// Runs an authorized operation: under its Idempotency-Key for POSTs, with an audit-log row
/// for every change that succeeded. The web UI's forms come through here too.
///
/// # Errors
/// The operation's problem.
pub async fn perform<P: Platform>(
    p: &Audited<'_, P>,
    req: &Request,
    op: Op,
    params: &Params,
    caller: &AdminCaller,
    store_id: &str,
) -> Result<Response, Problem> {
    if matches!(req.method, Method::Get | Method::Head) {
        return run(p, req, op, params, caller, store_id).await;
    }
    // Every write of the operation carries its audit row (see `admin::audit::Audited`).
    let ended = std::cell::RefCell::new(None);
    let operation = async || {
        p.begin(
            store_id,
            &actor(caller),
            &audit_entry(req, op, params, None).entry(),
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
        let done = audit_entry(req, op, params, Some(&answered));
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

/// What the audit log says an operation did: its action and target, and which request
/// fields are kept (never secrets: store settings and key creation keep field names only).
fn audit_action(op: Op) -> (&'static str, Option<(&'static str, &'static str)>, bool) {
    use Op::*;
    match op {
        CreateStore => ("store.create", None, false),
        UpdateStore => ("store.update", None, false),
        CreateAdminKey => ("admin_key.create", None, false),
        UpdateAdminKey => ("admin_key.update", Some(("admin_key", "key_id")), true),
        RevokeAdminKey => ("admin_key.revoke", Some(("admin_key", "key_id")), true),
        CreateProduct => ("product.create", None, true),
        UpdateProduct => ("product.update", Some(("product", "product_id")), true),
        ArchiveProduct => ("product.archive", Some(("product", "product_id")), true),
        AddVariant => ("variant.create", Some(("product", "product_id")), true),
        UpdateVariant => ("variant.update", Some(("variant", "variant_id")), true),
        ArchiveVariant => ("variant.archive", Some(("variant", "variant_id")), true),
        SetProviderMapping => (
            "provider_mapping.set",
            Some(("variant", "variant_id")),
            true,
        ),
        RemoveProviderMapping => (
            "provider_mapping.remove",
            Some(("variant", "variant_id")),
            true,
        ),
        RetryFulfillmentOrder => (
            "fulfillment_order.retry",
            Some(("fulfillment_order", "fulfillment_order_id")),
            true,
        ),
        AcceptPayment => ("order.accept_payment", Some(("order", "order_id")), true),
        SettleCancellation => (
            "fulfillment_order.cancellation",
            Some(("fulfillment_order", "fulfillment_order_id")),
            true,
        ),
        AddTracking => (
            "fulfillment_order.tracking",
            Some(("fulfillment_order", "fulfillment_order_id")),
            true,
        ),
        CreateRefund => ("order.refund", Some(("order", "order_id")), true),
        CancelOrder => ("order.cancel", Some(("order", "order_id")), true),
        AddOrderNote => ("order.note", Some(("order", "order_id")), true),
        UploadArt => ("art.upload", None, false),
        ProductFromArt => ("product.create_from_art", None, true),
        CreatePromoCode => ("promo_code.create", None, true),
        UpdatePromoCode => (
            "promo_code.update",
            Some(("promo_code", "promo_code_id")),
            true,
        ),
        DeletePromoCode => (
            "promo_code.delete",
            Some(("promo_code", "promo_code_id")),
            true,
        ),
        BlockUser => ("user.block", Some(("user", "user_id")), true),
        UnblockUser => ("user.unblock", Some(("user", "user_id")), true),
        Healthz
        | OpenApi
        | ListStores
        | GetStore
        | ListAdminKeys
        | ListProducts
        | GetProduct
        | ListProviderMappings
        | ListFulfillmentOrders
        | GetFulfillmentOrder
        | ListRefunds
        | ListOrders
        | ExportOrders
        | GetOrder
        | FulfillmentDashboard
        | OpenCustomerFile
        | ListPromoCodes
        | GetPromoCode
        | ListUsers
        | GetUser
        | ListAuditLog => ("read", None, false),
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

fn audit_entry(req: &Request, op: Op, params: &Params, answer: Option<&Response>) -> AuditEntry {
    let (action, target, keep_body) = audit_action(op);
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
        Op::UploadArt => Response::json(201, &crate::files::upload_art(p, store_id, req).await?),
        Op::ProductFromArt => {
            let input = req.json()?;
            Response::json(
                201,
                &crate::files::product_from_art(p, &store().await?, input).await?,
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
            let input: crate::orders::shopper::CancelInput = req.json_or_default()?;
            let reason = crate::input::optional_line("reason", input.reason.as_deref(), 200)?
                .map_or_else(
                    || "cancelled_by_operator".to_owned(),
                    |r| format!("cancelled_by_operator: {r}"),
                );
            let order = crate::sql::orders::order_by_id(p.db(), params.get("order_id"))
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
            let day = crate::time_fmt::rfc3339(p.now_ms());
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
            &crate::payments::events::accept_review(p, store_id, params.get("order_id")).await?,
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
