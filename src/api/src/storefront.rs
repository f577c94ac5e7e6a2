//! The storefront API. `x-publishable-api-key` selects the store; customers send
//! a bearer JWT; guests send `x-cart-token`.

use crate::http::{Access, Method, Params, Problem, Request, Response, route};
use crate::idempotency::Scope;
use crate::{finish, healthz, with_idempotency};
use lading_core::auth::{self, StorefrontCaller, sha256_hex};
use lading_core::carts::{self, add_item::AddItem, update_item::UpdateItem};
use lading_core::catalog::{
    Audience, get_product::get_storefront_product, list_products::list_products,
};
use lading_core::downloads::Download;
use lading_core::orders;
use lading_core::ports::Platform;

/// This API's OpenAPI document (generated; see `crate::openapi`).
pub const DOCUMENT: &str = crate::served_document!("storefront");

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
    ListProducts = Get "/v1/products" {
        access: Access::Publishable,
        summary: "List active products (keyset pagination: limit, starting_after)",
        response: Some("ProductPage"),
    },
    GetProduct = Get "/v1/products/{id_or_slug}" {
        access: Access::Publishable,
        summary: "One active product by id or slug",
        response: Some("Product"),
    },
    CreateCart = Post "/v1/carts" {
        access: Access::Publishable,
        summary: "Create a guest cart (returns cart_token once) or get the customer's cart",
        response: Some("Cart"),
        statuses: &[201, 200],
    },
    GetCurrentCart = Get "/v1/carts/current" {
        access: Access::CustomerOrCart,
        summary: "The caller's cart, priced from the catalog now",
        response: Some("Cart"),
    },
    AddCartItem = Post "/v1/carts/current/items" {
        access: Access::CustomerOrCart,
        summary: "Add a variant; same variant and options add up",
        request: Some("AddCartItem"),
        response: Some("Cart"),
    },
    UpdateCartItem = Patch "/v1/carts/current/items/{item_id}" {
        access: Access::CustomerOrCart,
        summary: "Set a line's quantity (1-99)",
        request: Some("UpdateCartItem"),
        response: Some("Cart"),
    },
    RemoveCartItem = Delete "/v1/carts/current/items/{item_id}" {
        access: Access::CustomerOrCart,
        summary: "Remove a line",
        response: Some("Cart"),
    },
    MergeCarts = Post "/v1/carts/merge" {
        access: Access::Customer,
        summary: "Merge the guest cart (x-cart-token) into the signed-in customer's cart",
        response: Some("Cart"),
    },
    CreateCheckoutSession = Post "/v1/checkout/sessions" {
        access: Access::CustomerOrCart,
        summary: "Place the cart's order (prices from the catalog) and open a Stripe Checkout Session; a repeat answers with the same session",
        request: Some("CheckoutInput"),
        response: Some("CheckoutSession"),
        statuses: &[201, 200],
        request_optional: true,
    },
    CreatePaymentIntent = Post "/v1/payment-intents" {
        access: Access::CustomerOrCart,
        summary: "Place the cart's order and create its Stripe PaymentIntent (for a custom payment form)",
        request: Some("CheckoutInput"),
        response: Some("PaymentIntentResult"),
        statuses: &[201, 200],
        request_optional: true,
    },
    ConfirmPaymentIntent = Post "/v1/payment-intents/{id}/confirm" {
        access: Access::CustomerOrCart,
        summary: "Where the payment stands (read from Stripe) and the order; changes nothing",
        response: Some("PaymentIntentResult"),
    },
    ListOrders = Get "/v1/orders" {
        access: Access::Customer,
        summary: "The signed-in customer's orders, newest first (limit, starting_after)",
        response: Some("OrderPage"),
    },
    GetOrder = Get "/v1/orders/{order_number}" {
        access: Access::OrderReader,
        summary: "One order: its customer, the guest with its cart token, or x-order-token",
        response: Some("Order"),
    },
    LookupOrder = Post "/v1/orders/lookup" {
        access: Access::Publishable,
        summary: "A guest's order by number and email: returns a one-hour order-access token (send as x-order-token)",
        request: Some("OrderLookup"),
        response: Some("OrderLookupResult"),
    },
    CancelOrder = Post "/v1/orders/{order_number}/cancel" {
        access: Access::OrderReader,
        summary: "Cancel the order inside the store's cancellation window: what was cancelled, asked of providers, refused, and the refund",
        request: Some("CancelOrder"),
        response: Some("Cancellation"),
        request_optional: true,
    },
    IssueDownloadLinks = Post "/v1/orders/{order_number}/downloads" {
        access: Access::OrderReader,
        summary: "Download links for the order's digital items (48 h by default, at most 7 days; 10 links an hour); 202 while a file is prepared",
        request: Some("DownloadLinkRequest"),
        response: Some("DownloadLinks"),
        statuses: &[201, 202],
        request_optional: true,
    },
    UploadItemFile = Post "/v1/orders/{order_number}/items/{item_id}/files" {
        access: Access::OrderReader,
        summary: "Upload a file rendered for an item of a paid order (raw body: image/png, image/jpeg or application/pdf, at most 20 MB)",
        response: Some("StoredFile"),
        statuses: &[201],
        uploads: &["image/png", "image/jpeg", "application/pdf"],
    },
    Download = Get "/v1/downloads/{token}" {
        summary: "The file, streamed (Range supported); the token in the link is the credential",
        content_type: "application/octet-stream",
        statuses: &[200, 206, 202],
    },
}

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
    let (route, params) = route(ROUTES, req.method, &req.path)?;
    let op = route.id;
    match op {
        Op::Healthz => return Ok(healthz(p, "storefront").await),
        Op::OpenApi => return Ok(Response::raw(200, "application/json", DOCUMENT)),
        // The link is the credential: browsers follow it without headers.
        Op::Download => {
            return Ok(
                match lading_core::downloads::download(p, params.get("token")).await? {
                    Download::Ready(file) => Response::file(file, req.get_header("range")),
                    Download::Preparing(preparing) => Response::json(202, &preparing),
                },
            );
        }
        _ => {}
    }
    let caller = auth::storefront_caller(p, req.storefront_credentials()).await?;
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
            &lading_core::files::upload_customer_file(
                p,
                caller,
                params.get("order_number"),
                params.get("item_id"),
                req.upload(),
            )
            .await?,
        ),
        Op::IssueDownloadLinks => {
            let (status, links) = lading_core::downloads::issue_links(
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
