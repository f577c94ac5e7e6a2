//! The storefront API. `x-publishable-api-key` selects the store; customers send
//! a bearer JWT; guests send `x-cart-token`.

use super::{finish, healthz, with_idempotency};
use crate::auth::{self, StorefrontCaller, sha256_hex};
use crate::carts::{self, add_item::AddItem, update_item::UpdateItem};
use crate::catalog::{Audience, get_product::get_storefront_product, list_products::list_products};
use crate::http::{Method, Params, Problem, Request, Response, Route, route};
use crate::idempotency::Scope;
use crate::orders;
use crate::ports::Platform;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Healthz,
    OpenApi,
    ListProducts,
    GetProduct,
    CreateCart,
    GetCurrentCart,
    AddCartItem,
    UpdateCartItem,
    RemoveCartItem,
    MergeCarts,
    CreateCheckoutSession,
    CreatePaymentIntent,
    ConfirmPaymentIntent,
    ListOrders,
    GetOrder,
    LookupOrder,
    CancelOrder,
    IssueDownloadLinks,
    Download,
    UploadItemFile,
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
        method: Method::Get,
        pattern: "/v1/products",
        id: Op::ListProducts,
    },
    Route {
        method: Method::Get,
        pattern: "/v1/products/{id_or_slug}",
        id: Op::GetProduct,
    },
    Route {
        method: Method::Post,
        pattern: "/v1/carts",
        id: Op::CreateCart,
    },
    Route {
        method: Method::Get,
        pattern: "/v1/carts/current",
        id: Op::GetCurrentCart,
    },
    Route {
        method: Method::Post,
        pattern: "/v1/carts/current/items",
        id: Op::AddCartItem,
    },
    Route {
        method: Method::Patch,
        pattern: "/v1/carts/current/items/{item_id}",
        id: Op::UpdateCartItem,
    },
    Route {
        method: Method::Delete,
        pattern: "/v1/carts/current/items/{item_id}",
        id: Op::RemoveCartItem,
    },
    Route {
        method: Method::Post,
        pattern: "/v1/carts/merge",
        id: Op::MergeCarts,
    },
    Route {
        method: Method::Post,
        pattern: "/v1/checkout/sessions",
        id: Op::CreateCheckoutSession,
    },
    Route {
        method: Method::Post,
        pattern: "/v1/payment-intents",
        id: Op::CreatePaymentIntent,
    },
    Route {
        method: Method::Post,
        pattern: "/v1/payment-intents/{id}/confirm",
        id: Op::ConfirmPaymentIntent,
    },
    Route {
        method: Method::Get,
        pattern: "/v1/orders",
        id: Op::ListOrders,
    },
    Route {
        method: Method::Get,
        pattern: "/v1/orders/{order_number}",
        id: Op::GetOrder,
    },
    Route {
        method: Method::Post,
        pattern: "/v1/orders/lookup",
        id: Op::LookupOrder,
    },
    Route {
        method: Method::Post,
        pattern: "/v1/orders/{order_number}/cancel",
        id: Op::CancelOrder,
    },
    Route {
        method: Method::Post,
        pattern: "/v1/orders/{order_number}/downloads",
        id: Op::IssueDownloadLinks,
    },
    Route {
        method: Method::Get,
        pattern: "/v1/downloads/{token}",
        id: Op::Download,
    },
    Route {
        method: Method::Post,
        pattern: "/v1/orders/{order_number}/items/{item_id}/files",
        id: Op::UploadItemFile,
    },
];

const CORS_ALLOW_HEADERS: &str = "authorization, content-type, idempotency-key, x-cart-token, x-order-token, x-publishable-api-key, x-request-id";

/// Handles one storefront request. Browsers call it from any origin, so it answers CORS.
pub async fn handle<P: Platform>(p: &P, req: Request) -> Response {
    if req.method == Method::Options {
        return finish(
            &req,
            Ok(Response::empty(204)
                .with_header(
                    "access-control-allow-methods",
                    "GET, POST, PATCH, DELETE, OPTIONS",
                )
                .with_header("access-control-allow-headers", CORS_ALLOW_HEADERS)
                .with_header("access-control-max-age", "86400")),
        )
        .with_header("access-control-allow-origin", "*");
    }
    let result = dispatch(p, &req).await;
    finish(&req, result)
        .with_header("access-control-allow-origin", "*")
        .with_header(
            "access-control-expose-headers",
            "x-request-id, idempotent-replayed",
        )
}

async fn dispatch<P: Platform>(p: &P, req: &Request) -> Result<Response, Problem> {
    let (op, params) = route(ROUTES, req.method, &req.path)?;
    match op {
        Op::Healthz => return Ok(healthz(p, "storefront").await),
        Op::OpenApi => return Ok(Response::json(200, &super::document("storefront"))),
        // The link is the credential: browsers follow it without headers.
        Op::Download => {
            return Ok(
                crate::downloads::download(p, params.get("token"), req.get_header("range")).await?,
            );
        }
        _ => {}
    }
    let caller = auth::storefront_caller(p, req).await?;
    if req.method == Method::Post {
        let scope = caller_scope(&caller);
        let scope = match &scope {
            Some(s) => Scope::Caller(s),
            None => Scope::Anonymous,
        };
        let store_id = caller.store.id.clone();
        with_idempotency(p, req, &store_id, scope, async || {
            run(p, req, op, &params, &caller).await
        })
        .await
    } else {
        run(p, req, op, &params, &caller).await
    }
}

/// Keys are per caller: one shopper's key never replays another's response. A caller
/// with neither a customer token nor a cart has no scope of its own (see
/// [`Scope::Anonymous`]).
fn caller_scope(c: &StorefrontCaller) -> Option<String> {
    match (&c.customer, &c.cart_token) {
        (Some(claims), _) => Some(format!("storefront:customer:{}", claims.sub)),
        (None, Some(t)) => Some(format!("storefront:cart:{}", sha256_hex(t))),
        (None, None) => None,
    }
}

async fn run<P: Platform>(
    p: &P,
    req: &Request,
    op: Op,
    params: &Params,
    caller: &StorefrontCaller,
) -> Result<Response, Problem> {
    let store_id = caller.store.id.as_str();
    Ok(match op {
        Op::Healthz | Op::OpenApi | Op::Download => return Err(Problem::route_not_found()),
        Op::UploadItemFile => Response::json(
            201,
            &crate::files::upload_customer_file(
                p,
                caller,
                params.get("order_number"),
                params.get("item_id"),
                req,
            )
            .await?,
        ),
        Op::IssueDownloadLinks => {
            let (status, links) = crate::downloads::issue_links(
                p,
                caller,
                params.get("order_number"),
                req.json_or_default()?,
            )
            .await?;
            Response::json(status, &links)
        }
        Op::ListProducts => {
            let page = list_products(
                p,
                store_id,
                Audience::Storefront,
                None,
                req.query_param("starting_after"),
                req.query_param("limit"),
            )
            .await?;
            Response::json(200, &page)
        }
        Op::GetProduct => Response::json(
            200,
            &get_storefront_product(p, store_id, params.get("id_or_slug")).await?,
        ),
        Op::CreateCart => {
            let (created, cart) = carts::create_cart::create_cart(p, caller).await?;
            Response::json(if created { 201 } else { 200 }, &cart)
        }
        Op::GetCurrentCart => Response::json(
            200,
            &carts::view(p, &carts::current(p, caller, false).await?).await?,
        ),
        Op::AddCartItem => {
            let input: AddItem = req.json()?;
            Response::json(200, &carts::add_item::add_item(p, caller, input).await?)
        }
        Op::UpdateCartItem => {
            let input: UpdateItem = req.json()?;
            Response::json(
                200,
                &carts::update_item::update_item(p, caller, params.get("item_id"), input).await?,
            )
        }
        Op::RemoveCartItem => Response::json(
            200,
            &carts::remove_item::remove_item(p, caller, params.get("item_id")).await?,
        ),
        Op::MergeCarts => Response::json(200, &carts::merge::merge(p, caller).await?),
        Op::CreateCheckoutSession => {
            let input = req.json_or_default()?;
            let (created, session) =
                orders::checkout::create_checkout_session(p, caller, input).await?;
            Response::json(if created { 201 } else { 200 }, &session)
        }
        Op::CreatePaymentIntent => {
            let input = req.json_or_default()?;
            let (created, pi) =
                orders::payment_intent::create_payment_intent(p, caller, input).await?;
            Response::json(if created { 201 } else { 200 }, &pi)
        }
        Op::ConfirmPaymentIntent => Response::json(
            200,
            &orders::payment_intent::confirm_status(p, caller, params.get("id")).await?,
        ),
        Op::ListOrders => Response::json(
            200,
            &orders::shopper::list_orders(
                p,
                caller,
                req.query_param("starting_after"),
                req.query_param("limit"),
            )
            .await?,
        ),
        Op::GetOrder => Response::json(
            200,
            &orders::shopper::get_order(p, caller, params.get("order_number")).await?,
        ),
        Op::CancelOrder => Response::json(
            200,
            &orders::shopper::cancel(
                p,
                caller,
                params.get("order_number"),
                req.json_or_default()?,
            )
            .await?,
        ),
        Op::LookupOrder => {
            Response::json(200, &orders::shopper::lookup(p, caller, req.json()?).await?)
        }
    })
}
