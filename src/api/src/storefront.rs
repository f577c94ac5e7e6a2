//! The storefront API. `x-publishable-api-key` selects the store; customers send
//! a bearer JWT; guests send `x-cart-token`.

use crate::http::{
    Access, Answer, Json, List, Method, NoBody, OptionalJson, Params, Problem, RawBody, Request,
    Response, route,
};
use crate::idempotency::Scope;
use crate::{Health, finish, healthz, with_idempotency};
use lading_core::auth::{self, StorefrontCaller, sha256_hex};
use lading_core::billing::pay::{InvoiceCheckout, PayInput};
use lading_core::billing::payments::PaymentView;
use lading_core::billing::{InvoiceDetail, InvoicePage};
use lading_core::carts::{self, CartView, add_item::AddItem, update_item::UpdateItem};
use lading_core::catalog::{self, Audience, Page, ProductView};
use lading_core::downloads::{self, Download, LinkInput, Links};
use lading_core::files::{self, StoredFile};
use lading_core::fulfillment::cancel::CancellationResult;
use lading_core::orders::{
    self, OrderView,
    checkout::CheckoutSessionView,
    payment_intent::PaymentIntentResponse,
    place::CheckoutInput,
    shopper::{CancelInput, LookupInput, LookupResult, OrderPage},
};
use lading_core::ports::Platform;
use lading_core::pricing::quote::{Quote, QuoteInput};

/// This API's OpenAPI document (generated; see `crate::openapi`).
pub const DOCUMENT: &str = crate::served_document!("storefront");

crate::route_table! {
    /// Every operation of this API, one per route.
    pub enum Op;
    pub const ROUTES;
    async fn run(Cx);
    Healthz = Get "/healthz" => before_auth(NoBody) -> Answer<Health> {
        summary: "Liveness and D1 check",
    },
    OpenApi = Get "/openapi.json" => before_auth(NoBody) -> Response {
        summary: "This document",
    },
    ListProducts = Get "/v1/products" => list_products(NoBody) -> Answer<Page<ProductView>> {
        access: Access::Publishable,
        summary: "List active products (keyset pagination: limit, starting_after)",
    },
    GetProduct = Get "/v1/products/{id_or_slug}" => get_product(NoBody) -> Answer<ProductView> {
        access: Access::Publishable,
        summary: "One active product by id or slug",
    },
    CreateCart = Post "/v1/carts" => create_cart(NoBody) -> Answer<CartView> {
        access: Access::Publishable,
        summary: "Create a guest cart (returns cart_token once) or get the customer's cart",
        statuses: &[201, 200],
    },
    GetCurrentCart = Get "/v1/carts/current" => current_cart(NoBody) -> Answer<CartView> {
        access: Access::CustomerOrCart,
        summary: "The caller's cart, priced from the catalog now",
    },
    AddCartItem = Post "/v1/carts/current/items" => add_item(Json<AddItem>) -> Answer<CartView> {
        access: Access::CustomerOrCart,
        summary: "Add a variant; same variant and options add up",
    },
    UpdateCartItem = Patch "/v1/carts/current/items/{item_id}" => update_item(Json<UpdateItem>) -> Answer<CartView> {
        access: Access::CustomerOrCart,
        summary: "Set a line's quantity (1-99)",
    },
    RemoveCartItem = Delete "/v1/carts/current/items/{item_id}" => remove_item(NoBody) -> Answer<CartView> {
        access: Access::CustomerOrCart,
        summary: "Remove a line",
    },
    MergeCarts = Post "/v1/carts/merge" => merge_carts(NoBody) -> Answer<CartView> {
        access: Access::Customer,
        summary: "Merge the guest cart (x-cart-token) into the signed-in customer's cart",
    },
    CreateCheckoutSession = Post "/v1/checkout/sessions" => checkout_session(OptionalJson<CheckoutInput>) -> Answer<CheckoutSessionView> {
        access: Access::CustomerOrCart,
        summary: "Place the cart's order (prices from the catalog) and open a Stripe Checkout Session; a repeat answers with the same session",
        statuses: &[201, 200],
    },
    CreatePaymentIntent = Post "/v1/payment-intents" => payment_intent(OptionalJson<CheckoutInput>) -> Answer<PaymentIntentResponse> {
        access: Access::CustomerOrCart,
        summary: "Place the cart's order and create its Stripe PaymentIntent (for a custom payment form)",
        statuses: &[201, 200],
    },
    ConfirmPaymentIntent = Post "/v1/payment-intents/{id}/confirm" => confirm_payment_intent(NoBody) -> Answer<PaymentIntentResponse> {
        access: Access::CustomerOrCart,
        summary: "Where the payment stands (read from Stripe) and the order; changes nothing",
    },
    ListOrders = Get "/v1/orders" => list_orders(NoBody) -> Answer<OrderPage> {
        access: Access::Customer,
        summary: "The signed-in customer's orders, newest first (limit, starting_after); a company's contact also sees the company's orders (billing, operations, executive: all; others: their own)",
    },
    GetOrder = Get "/v1/orders/{order_number}" => get_order(NoBody) -> Answer<OrderView> {
        access: Access::OrderReader,
        summary: "One order: its customer, the guest with its cart token, or x-order-token",
    },
    LookupOrder = Post "/v1/orders/lookup" => lookup_order(Json<LookupInput>) -> Answer<LookupResult> {
        access: Access::Publishable,
        summary: "A guest's order by number and email: returns a one-hour order-access token (send as x-order-token)",
    },
    CancelOrder = Post "/v1/orders/{order_number}/cancel" => cancel_order(OptionalJson<CancelInput>) -> Answer<CancellationResult> {
        access: Access::OrderReader,
        summary: "Cancel the order inside the store's cancellation window: what was cancelled, asked of providers, refused, and the refund",
    },
    IssueDownloadLinks = Post "/v1/orders/{order_number}/downloads" => download_links(OptionalJson<LinkInput>) -> Answer<Links> {
        access: Access::OrderReader,
        summary: "Download links for the order's digital items (48 h by default, at most 7 days; 10 links an hour); 202 while a file is prepared",
        statuses: &[201, 202],
    },
    UploadItemFile = Post "/v1/orders/{order_number}/items/{item_id}/files" => upload_item_file(RawBody) -> Answer<StoredFile> {
        access: Access::OrderReader,
        summary: "Upload a file rendered for an item of a paid order (raw body: image/png, image/jpeg or application/pdf, at most 20 MB)",
        statuses: &[201],
        uploads: &["image/png", "image/jpeg", "application/pdf"],
    },
    PricingQuote = Post "/v1/pricing/quote" => pricing_quote(Json<QuoteInput>) -> Answer<Quote> {
        access: Access::Customer,
        summary: "A company's contact: many lines priced at the company's prices (agreement, regional or global book), each with where its price came from; changes nothing",
    },
    ListInvoices = Get "/v1/invoices" => list_invoices(NoBody) -> Answer<InvoicePage> {
        access: Access::Customer,
        summary: "A company's billing contact: the company's issued invoices, newest first (limit, starting_after), with what is paid and owed",
    },
    GetInvoice = Get "/v1/invoices/{number}" => get_invoice(NoBody) -> Answer<InvoiceDetail> {
        access: Access::Customer,
        summary: "One of the company's invoices by number, with its lines and the payments that paid it",
    },
    GetInvoiceDocument = Get "/v1/invoices/{number}/pdf" => invoice_document(NoBody) -> Response {
        access: Access::Customer,
        summary: "One of the company's invoices as the PDF it was issued as",
        content_type: "application/pdf",
    },
    PayInvoice = Post "/v1/invoices/{number}/pay" => pay_invoice(OptionalJson<PayInput>) -> Answer<InvoiceCheckout> {
        access: Access::Customer,
        summary: "A company's billing contact pays one of its invoices online: the invoice's Stripe Checkout Session for its balance, or for `amount` (at most the balance); one session at a time, a new amount replaces it",
    },
    GetCreditNoteDocument = Get "/v1/credit-notes/{number}/pdf" => credit_note_document(NoBody) -> Response {
        access: Access::Customer,
        summary: "A company's billing contact: one of its credit notes (CN-000001) as its PDF",
        content_type: "application/pdf",
    },
    ListPayments = Get "/v1/payments" => list_payments(NoBody) -> Answer<List<PaymentView>> {
        access: Access::Customer,
        summary: "A company's billing contact: the company's payment history (transfers, cheques, online payments, credit notes), newest first, each with the invoices it paid",
    },
    PayLink = Get "/v1/pay/{token}" => before_auth(NoBody) -> Response {
        summary: "An invoice's pay link (from its email; the token is the credential): redirects (303) to the invoice's Stripe Checkout Session for its balance, or for `?amount=` in minor units",
        content_type: "text/plain",
        statuses: &[303],
    },
    PayLinkDocument = Get "/v1/pay/{token}/invoice.pdf" => before_auth(NoBody) -> Response {
        summary: "The PDF of the invoice a pay link names",
        content_type: "application/pdf",
    },
    Download = Get "/v1/downloads/{token}" => before_auth(NoBody) -> Response {
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
        Op::PayLink => {
            let to = lading_core::billing::pay::by_token(
                p,
                params.get("token"),
                req.query_param("amount"),
            )
            .await?;
            return Ok(
                Response::raw(303, "text/plain", format!("Pay at {}\n", to.checkout_url))
                    .with_header("location", &to.checkout_url)
                    .with_header("cache-control", "no-store"),
            );
        }
        Op::PayLinkDocument => {
            let (invoice, store) =
                lading_core::billing::pay::invoice_of_token(p, params.get("token")).await?;
            let file = lading_core::billing::document::document(p, &store.id, &invoice.id).await?;
            return Ok(Response::file(file, req.get_header("range")));
        }
        _ => {}
    }
    let caller = auth::storefront_caller(p, req.storefront_credentials()).await?;
    let cx = Cx {
        p,
        req,
        params: &params,
        caller: &caller,
    };
    if req.method == Method::Post {
        let scope = caller_scope(&caller);
        let scope = match &scope {
            Some(s) => Scope::Caller(s),
            None => Scope::Anonymous,
        };
        let store_id = caller.store.id.clone();
        with_idempotency(p, req, &store_id, scope, async || run(&cx, op).await).await
    } else {
        run(&cx, op).await
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

/// What a storefront handler works with: the platform, the request (path parameters,
/// query, headers) and the caller its credentials name.
pub struct Cx<'a, P: Platform> {
    pub p: &'a P,
    pub req: &'a Request,
    pub params: &'a Params,
    pub caller: &'a StorefrontCaller,
}

impl<P: Platform> Cx<'_, P> {
    fn store_id(&self) -> &str {
        &self.caller.store.id
    }
}

/// Public routes are answered in [`dispatch`] before the caller is known.
async fn before_auth<P: Platform, I, O>(_: &Cx<'_, P>, _: I) -> Result<O, Problem> {
    Err(Problem::route_not_found())
}

async fn list_products<P: Platform>(
    cx: &Cx<'_, P>,
    _: NoBody,
) -> Result<Answer<Page<ProductView>>, Problem> {
    let page = catalog::list_products::list_products(
        cx.p,
        cx.store_id(),
        Audience::Storefront,
        None,
        cx.req.query_param("starting_after"),
        cx.req.query_param("limit"),
    )
    .await?;
    Ok(Answer::ok(page))
}

async fn get_product<P: Platform>(
    cx: &Cx<'_, P>,
    _: NoBody,
) -> Result<Answer<ProductView>, Problem> {
    let id_or_slug = cx.params.get("id_or_slug");
    let product =
        catalog::get_product::get_storefront_product(cx.p, cx.store_id(), id_or_slug).await?;
    Ok(Answer::ok(product))
}

async fn create_cart<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Result<Answer<CartView>, Problem> {
    let (created, cart) = carts::create_cart::create_cart(cx.p, cx.caller).await?;
    Ok(Answer::created_if(created, cart))
}

async fn current_cart<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Result<Answer<CartView>, Problem> {
    let cart = carts::current(cx.p, cx.caller, false).await?;
    Ok(Answer::ok(carts::view(cx.p, &cart).await?))
}

async fn add_item<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<AddItem>,
) -> Result<Answer<CartView>, Problem> {
    Ok(Answer::ok(
        carts::add_item::add_item(cx.p, cx.caller, input).await?,
    ))
}

async fn update_item<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<UpdateItem>,
) -> Result<Answer<CartView>, Problem> {
    let item_id = cx.params.get("item_id");
    Ok(Answer::ok(
        carts::update_item::update_item(cx.p, cx.caller, item_id, input).await?,
    ))
}

async fn remove_item<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Result<Answer<CartView>, Problem> {
    let item_id = cx.params.get("item_id");
    Ok(Answer::ok(
        carts::remove_item::remove_item(cx.p, cx.caller, item_id).await?,
    ))
}

async fn merge_carts<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Result<Answer<CartView>, Problem> {
    Ok(Answer::ok(carts::merge::merge(cx.p, cx.caller).await?))
}

async fn checkout_session<P: Platform>(
    cx: &Cx<'_, P>,
    OptionalJson(input): OptionalJson<CheckoutInput>,
) -> Result<Answer<CheckoutSessionView>, Problem> {
    let (created, session) =
        orders::checkout::create_checkout_session(cx.p, cx.caller, input).await?;
    Ok(Answer::created_if(created, session))
}

async fn payment_intent<P: Platform>(
    cx: &Cx<'_, P>,
    OptionalJson(input): OptionalJson<CheckoutInput>,
) -> Result<Answer<PaymentIntentResponse>, Problem> {
    let (created, intent) =
        orders::payment_intent::create_payment_intent(cx.p, cx.caller, input).await?;
    Ok(Answer::created_if(created, intent))
}

async fn confirm_payment_intent<P: Platform>(
    cx: &Cx<'_, P>,
    _: NoBody,
) -> Result<Answer<PaymentIntentResponse>, Problem> {
    let id = cx.params.get("id");
    Ok(Answer::ok(
        orders::payment_intent::confirm_status(cx.p, cx.caller, id).await?,
    ))
}

async fn list_orders<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Result<Answer<OrderPage>, Problem> {
    let page = orders::shopper::list_orders(
        cx.p,
        cx.caller,
        cx.req.query_param("starting_after"),
        cx.req.query_param("limit"),
    )
    .await?;
    Ok(Answer::ok(page))
}

async fn get_order<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Result<Answer<OrderView>, Problem> {
    let number = cx.params.get("order_number");
    Ok(Answer::ok(
        orders::shopper::get_order(cx.p, cx.caller, number).await?,
    ))
}

async fn lookup_order<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<LookupInput>,
) -> Result<Answer<LookupResult>, Problem> {
    Ok(Answer::ok(
        orders::shopper::lookup(cx.p, cx.caller, input).await?,
    ))
}

async fn cancel_order<P: Platform>(
    cx: &Cx<'_, P>,
    OptionalJson(input): OptionalJson<CancelInput>,
) -> Result<Answer<CancellationResult>, Problem> {
    let number = cx.params.get("order_number");
    Ok(Answer::ok(
        orders::shopper::cancel(cx.p, cx.caller, number, input).await?,
    ))
}

async fn download_links<P: Platform>(
    cx: &Cx<'_, P>,
    OptionalJson(input): OptionalJson<LinkInput>,
) -> Result<Answer<Links>, Problem> {
    let number = cx.params.get("order_number");
    let (status, links) = downloads::issue_links(cx.p, cx.caller, number, input).await?;
    Ok(Answer {
        status,
        body: links,
    })
}

async fn upload_item_file<P: Platform>(
    cx: &Cx<'_, P>,
    _: RawBody,
) -> Result<Answer<StoredFile>, Problem> {
    let stored = files::upload_customer_file(
        cx.p,
        cx.caller,
        cx.params.get("order_number"),
        cx.params.get("item_id"),
        cx.req.upload(),
    )
    .await?;
    Ok(Answer::created(stored))
}

async fn pricing_quote<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<QuoteInput>,
) -> Result<Answer<Quote>, Problem> {
    Ok(Answer::ok(
        lading_core::companies::people::quote(cx.p, cx.caller, &input).await?,
    ))
}

async fn list_invoices<P: Platform>(
    cx: &Cx<'_, P>,
    _: NoBody,
) -> Result<Answer<InvoicePage>, Problem> {
    Ok(Answer::ok(
        lading_core::billing::people::list_for(
            cx.p,
            cx.caller,
            cx.req.query_param("starting_after"),
            cx.req.query_param("limit"),
        )
        .await?,
    ))
}

async fn get_invoice<P: Platform>(
    cx: &Cx<'_, P>,
    _: NoBody,
) -> Result<Answer<InvoiceDetail>, Problem> {
    Ok(Answer::ok(
        lading_core::billing::people::get_for(cx.p, cx.caller, cx.params.get("number")).await?,
    ))
}

async fn list_payments<P: Platform>(
    cx: &Cx<'_, P>,
    _: NoBody,
) -> Result<Answer<List<PaymentView>>, Problem> {
    let data = lading_core::billing::people::payments_for(cx.p, cx.caller).await?;
    Ok(Answer::ok(List { data }))
}

async fn pay_invoice<P: Platform>(
    cx: &Cx<'_, P>,
    OptionalJson(input): OptionalJson<PayInput>,
) -> Result<Answer<InvoiceCheckout>, Problem> {
    Ok(Answer::ok(
        lading_core::billing::people::pay_for(cx.p, cx.caller, cx.params.get("number"), input)
            .await?,
    ))
}

async fn credit_note_document<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Result<Response, Problem> {
    let file = lading_core::billing::people::credit_note_document_for(
        cx.p,
        cx.caller,
        cx.params.get("number"),
    )
    .await?;
    Ok(Response::file(file, cx.req.get_header("range")))
}

async fn invoice_document<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Result<Response, Problem> {
    let file = lading_core::billing::people::document_for(cx.p, cx.caller, cx.params.get("number"))
        .await?;
    Ok(Response::file(file, cx.req.get_header("range")))
}
