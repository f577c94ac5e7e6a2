//! The admin web UI under `/admin`, served by the admin Worker: server-rendered pages (maud,
//! escaping by construction), a strict Content-Security-Policy (no inline script or style;
//! one small external script), a signed HttpOnly, Secure, SameSite=Strict session cookie,
//! and a CSRF token on every form. Every change goes through the admin API's own operation
//! ([`crate::admin::perform_as`]): the same roles, idempotency and audit log.

pub mod operations;
mod operations_pages;
pub mod pages;
pub mod sales;
mod sales_pages;
pub mod session;

use crate::admin::{Call, Op, perform_as};
use crate::http::{Method, Params, Problem, Request, Response, Route, parse_query, route};
use lading_core::AppError;
use lading_core::admin::audit::Audited;
use lading_core::ports::{Platform, PlatformExt as _};
use maud::Markup;
use pages::Page;
use serde_json::{Value, json};
use session::{COOKIE, Operator, Session, TTL_S};

pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const APP_JS: &str = include_str!("app.js");
const APP_CSS: &str = include_str!("app.css");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ui {
    Home,
    Js,
    Css,
    LoginPage,
    Login,
    Logout,
    Orders,
    OrdersCsv,
    Order,
    Refund,
    Cancel,
    Note,
    Retry,
    Tracking,
    SettleCancel,
    AcceptPayment,
    Fulfillment,
    Products,
    PromoCodes,
    CreatePromo,
    TogglePromo,
    DeletePromo,
    Users,
    User,
    Audit,
    Block,
    Unblock,
    Keys,
    CreateKey,
    KeyRole,
    RevokeKey,
}

const fn r(method: Method, pattern: &'static str, id: Ui) -> Route<Ui> {
    Route::base(method, pattern, id)
}

const ROUTES: &[Route<Ui>] = &[
    r(Method::Get, "/admin", Ui::Home),
    r(Method::Get, "/admin/static/app.js", Ui::Js),
    r(Method::Get, "/admin/static/app.css", Ui::Css),
    r(Method::Get, "/admin/login", Ui::LoginPage),
    r(Method::Post, "/admin/login", Ui::Login),
    r(Method::Post, "/admin/logout", Ui::Logout),
    r(Method::Get, "/admin/orders", Ui::Orders),
    r(Method::Get, "/admin/orders.csv", Ui::OrdersCsv),
    r(Method::Get, "/admin/orders/{id}", Ui::Order),
    r(Method::Post, "/admin/orders/{id}/refund", Ui::Refund),
    r(Method::Post, "/admin/orders/{id}/cancel", Ui::Cancel),
    r(Method::Post, "/admin/orders/{id}/notes", Ui::Note),
    r(
        Method::Post,
        "/admin/orders/{id}/accept-payment",
        Ui::AcceptPayment,
    ),
    r(
        Method::Post,
        "/admin/fulfillment-orders/{id}/retry",
        Ui::Retry,
    ),
    r(
        Method::Post,
        "/admin/fulfillment-orders/{id}/tracking",
        Ui::Tracking,
    ),
    r(
        Method::Post,
        "/admin/fulfillment-orders/{id}/cancellation",
        Ui::SettleCancel,
    ),
    r(Method::Get, "/admin/fulfillment", Ui::Fulfillment),
    r(Method::Get, "/admin/products", Ui::Products),
    r(Method::Get, "/admin/promo-codes", Ui::PromoCodes),
    r(Method::Post, "/admin/promo-codes", Ui::CreatePromo),
    r(
        Method::Post,
        "/admin/promo-codes/{id}/toggle",
        Ui::TogglePromo,
    ),
    r(
        Method::Post,
        "/admin/promo-codes/{id}/delete",
        Ui::DeletePromo,
    ),
    r(Method::Get, "/admin/users", Ui::Users),
    r(Method::Get, "/admin/audit-log", Ui::Audit),
    r(Method::Get, "/admin/users/{id}", Ui::User),
    r(Method::Post, "/admin/users/{id}/block", Ui::Block),
    r(Method::Post, "/admin/users/{id}/unblock", Ui::Unblock),
    r(Method::Get, "/admin/keys", Ui::Keys),
    r(Method::Post, "/admin/keys", Ui::CreateKey),
    r(Method::Post, "/admin/keys/{id}/role", Ui::KeyRole),
    r(Method::Post, "/admin/keys/{id}/revoke", Ui::RevokeKey),
];

/// Whether the admin Worker should hand this path to the UI (everything under `/admin`
/// except the JSON API).
pub fn is_ui_path(path: &str) -> bool {
    (path == "/admin" || path.starts_with("/admin/")) && !path.starts_with("/admin/api/")
}

fn secured(mut r: Response) -> Response {
    for (k, v) in [
        ("content-security-policy", CSP),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
        ("cache-control", "no-store"),
    ] {
        r.headers.push((k.into(), v.into()));
    }
    r
}

fn html(status: u16, m: Markup) -> Response {
    secured(Response::raw(
        status,
        "text/html; charset=utf-8",
        m.into_string(),
    ))
}

fn redirect(to: &str) -> Response {
    secured(Response::empty(303).with_header("location", to))
}

/// Only our own pages are redirect targets (a form's `back` is client input).
fn local(path: &str, fallback: &str) -> String {
    if path.starts_with("/admin/") && !path.starts_with("//") && !path.contains(['\\', '\r', '\n'])
    {
        path.to_owned()
    } else {
        fallback.to_owned()
    }
}

fn with_flash(to: &str, key: &str, message: &str) -> String {
    let sep = if to.contains('?') { '&' } else { '?' };
    let msg: String = form_urlencoded::byte_serialize(message.as_bytes()).collect();
    format!("{to}{sep}{key}={msg}")
}

fn problem_text(pr: &Problem) -> String {
    let mut t = pr.detail.clone().unwrap_or_else(|| pr.title.clone());
    for e in &pr.errors {
        t.push_str(&format!(" {}: {}", e.field, e.message));
    }
    t
}

/// Serves one UI request.
pub async fn handle<P: Platform>(p: &Audited<'_, P>, req: &Request) -> Response {
    serve(p, req).await.unwrap_or_else(problem_page)
}

/// A problem as a page (the login page when the operator must sign in).
fn problem_page(pr: Problem) -> Response {
    let text = problem_text(&pr);
    let status = pr.status;
    let page = if status == 401 {
        pages::login(Some(&text))
    } else {
        pages::problem(status, &text)
    };
    let mut r = html(status, page);
    r.log_cause = pr.cause;
    r
}

/// A signed-in operator's request: who, the keys this page's forms carry, and the posted
/// form (already checked against the session's CSRF token).
struct Visit {
    op: Operator,
    csrf: String,
    nonce: String,
    form: Vec<(String, String)>,
}

impl Visit {
    fn keys(&self) -> pages::FormKeys<'_> {
        pages::FormKeys {
            csrf: &self.csrf,
            nonce: &self.nonce,
        }
    }

    /// The page frame: the operator, the form keys and the flash from the query.
    fn page<'a>(&'a self, req: &'a Request, title: &'a str, nav: &'a str) -> Page<'a> {
        Page {
            title,
            operator: Some(&self.op),
            csrf: self.keys(),
            notice: req.query_param("notice"),
            error: req.query_param("error"),
            nav,
        }
    }
}

/// The operator behind the request, or the answer for a browser that is not signed in
/// (the login page; a GET is sent there).
///
/// # Errors
/// 403 for a form without this session's CSRF token; 503 when sessions are not configured.
async fn visit<P: Platform>(p: &P, req: &Request) -> Result<Result<Visit, Response>, Problem> {
    let secret = session::secret(p)?.to_owned();
    let Some(op) = session::operator(p, req).await? else {
        return Ok(Err(match req.method {
            Method::Get | Method::Head => redirect("/admin/login"),
            _ => html(
                401,
                pages::login(Some("Your session ended; sign in again.")),
            ),
        }));
    };
    let mut form = vec![];
    if req.method == Method::Post {
        form = parse_query(&String::from_utf8_lossy(&req.body));
        if !session::check_form(&secret, &op, req, &form) {
            return Err(Problem::new(403, "csrf_failed", "Forbidden").detail(
                "The form is stale or came from another site; reload the page and try again.",
            ));
        }
    }
    Ok(Ok(Visit {
        csrf: session::csrf_token(&secret, &op.session),
        nonce: p.new_token("f", 12),
        op,
        form,
    }))
}

async fn serve<P: Platform>(p: &Audited<'_, P>, req: &Request) -> Result<Response, Problem> {
    let (route, params) = route(ROUTES, req.method, &req.path)?;
    let ui = route.id;
    match ui {
        Ui::Js => {
            return Ok(
                secured(Response::raw(200, "text/javascript; charset=utf-8", APP_JS))
                    .with_header("cache-control", "public, max-age=300"),
            );
        }
        Ui::Css => {
            return Ok(secured(Response::raw(
                200,
                "text/css; charset=utf-8",
                APP_CSS,
            )));
        }
        Ui::LoginPage => return Ok(html(200, pages::login(req.query_param("error")))),
        Ui::Login => return login(p, req).await,
        _ => {}
    }
    let v = match visit(p, req).await? {
        Ok(v) => v,
        Err(sign_in) => return Ok(sign_in),
    };
    if req.method == Method::Post {
        if ui == Ui::CreateKey {
            return create_key(p, req, &v.op, &v.form, v.keys()).await;
        }
        return act(p, req, ui, &params, &v.op, &v.form).await;
    }
    page(p, req, ui, &params, &v.op, &v.page(req, "", "")).await
}

/// The page a GET shows, around `base` (the operator, the form keys and the flash).
async fn page<P: Platform>(
    p: &Audited<'_, P>,
    req: &Request,
    ui: Ui,
    params: &Params,
    op: &Operator,
    base: &Page<'_>,
) -> Result<Response, Problem> {
    let pg = |title: &'static str, nav: &'static str| Page {
        title,
        nav,
        ..*base
    };
    let store = op.store_id.as_str();
    Ok(match ui {
        Ui::Home => redirect("/admin/orders"),
        Ui::Orders => orders_page(p, req, store, pg("Orders", "orders")).await,
        Ui::OrdersCsv => {
            let f = lading_core::admin::orders::OrderFilters::from_query(|k| {
                req.query_param(k).map(str::to_owned)
            })?;
            let day = lading_core::time_fmt::rfc3339(p.now_ms());
            secured(Response::export(
                lading_core::admin::orders::CsvExport::new(store, f),
                &format!("orders-{}.csv", &day[..10]),
            ))
        }
        Ui::Order => {
            let d = as_json(&lading_core::admin::orders::detail(p, store, params.get("id")).await?);
            let number = d["order"]["order_number"]
                .as_str()
                .unwrap_or("Order")
                .to_owned();
            let pgv = Page {
                title: &number,
                ..pg("", "orders")
            };
            html(200, pages::order(&pgv, &d, op))
        }
        Ui::Fulfillment => {
            let d = as_json(&lading_core::fulfillment::admin::dashboard(p, store).await?);
            html(
                200,
                pages::fulfillment(&pg("Fulfillment", "fulfillment"), &d, op),
            )
        }
        Ui::Products => {
            let list = lading_core::catalog::list_products::list_products(
                p,
                store,
                lading_core::catalog::Audience::Admin,
                None,
                None,
                Some("100"),
            )
            .await?;
            html(
                200,
                pages::products(
                    &pg("Products", "products"),
                    &serde_json::to_value(list).unwrap_or_default(),
                ),
            )
        }
        Ui::PromoCodes => {
            let list = lading_core::admin::promo_codes::list(p, store).await?;
            html(
                200,
                pages::promo_codes(&pg("Promo codes", "promo"), &list, op),
            )
        }
        Ui::Users => {
            let email = req.query_param("email").unwrap_or("");
            let list = lading_core::admin::users::list(
                p,
                store,
                Some(email),
                req.query_param("starting_after"),
                Some("50"),
            )
            .await?;
            let list = as_json(&list);
            html(200, pages::users(&pg("Users", "users"), &list, email))
        }
        Ui::User => {
            let d = as_json(&lading_core::admin::users::get(p, store, params.get("id")).await?);
            let title = d["user"]["email"].as_str().unwrap_or("Customer").to_owned();
            let pgv = Page {
                title: &title,
                ..pg("", "users")
            };
            html(200, pages::user(&pgv, &d, op))
        }
        Ui::Keys => {
            let list = keys_for(p, op).await?;
            html(200, pages::keys(&pg("Admin keys", "keys"), &list, op, None))
        }
        Ui::Audit => {
            if !op.can(lading_core::domain::Role::Admin) {
                return Err(Problem::from(AppError::Forbidden(
                    "The audit log needs the admin role.".into(),
                )));
            }
            let list = lading_core::admin::audit::list(
                p,
                store,
                req.query_param("starting_after"),
                Some("100"),
            )
            .await?;
            let list = as_json(&list);
            html(200, pages::audit_log(&pg("Audit log", "audit"), &list))
        }
        _ => return Err(Problem::route_not_found()),
    })
}

/// The order list: filters from the query, 50 a page; a bad filter shows its problem
/// above an empty list.
async fn orders_page<P: Platform>(
    p: &Audited<'_, P>,
    req: &Request,
    store: &str,
    mut pgv: Page<'_>,
) -> Response {
    let q = |k: &str| req.query_param(k).unwrap_or("");
    let filters = lading_core::admin::orders::OrderFilters::from_query(|k| {
        req.query_param(k).map(str::to_owned)
    });
    let (list, err) = match filters {
        Ok(f) => match lading_core::admin::orders::list(
            p,
            store,
            &f,
            req.query_param("starting_after"),
            Some("50"),
        )
        .await
        {
            Ok(l) => (l, None),
            Err(e) => (empty_page(), Some(problem_text(&Problem::from(e)))),
        },
        Err(e) => (empty_page(), Some(problem_text(&Problem::from(e)))),
    };
    let mut enc = form_urlencoded::Serializer::new(String::new());
    for k in [
        "q",
        "status",
        "financial_status",
        "provider",
        "created_from",
        "created_to",
        "needs_review",
    ] {
        if !q(k).is_empty() {
            enc.append_pair(k, q(k));
        }
    }
    let fq = pages::OrderQuery {
        q: q("q"),
        status: q("status"),
        financial_status: q("financial_status"),
        provider: q("provider"),
        created_from: q("created_from"),
        created_to: q("created_to"),
        needs_review: q("needs_review") == "true",
        encoded: enc.finish(),
    };
    if err.is_some() {
        pgv.error = err.as_deref();
    }
    html(200, pages::orders(&pgv, &fq, &list))
}

/// The store's admin keys, for superadmins only (the API's own rule, said before any
/// read).
async fn keys_for<P: Platform>(
    p: &P,
    op: &Operator,
) -> Result<Vec<lading_core::stores::admin_keys::AdminKeyView>, Problem> {
    if !op.can(lading_core::domain::Role::Superadmin) {
        return Err(Problem::from(AppError::Forbidden(
            "Admin keys need the superadmin role.".into(),
        )));
    }
    Ok(lading_core::stores::admin_keys::list_admin_keys(p, &op.store_id).await?)
}

/// A new key is shown once, on the page that answers the form (never in a redirect's
/// URL, which browsers and proxies keep); sent again, the form's Idempotency-Key replays
/// the same key instead of making another.
async fn create_key<P: Platform>(
    p: &Audited<'_, P>,
    req: &Request,
    op: &Operator,
    form: &[(String, String)],
    keys: pages::FormKeys<'_>,
) -> Result<Response, Problem> {
    let field = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map_or("", |(_, v)| v.trim())
    };
    let call = Call {
        op: Op::CreateAdminKey,
        id: "",
        input: json!({ "role": field("role"), "label": field("label") }),
    };
    let key = idempotency_key(field("_idem"), &call);
    let created = perform_as(p, &op.caller(), call, key.as_deref(), &req.request_id).await;
    let created: Value = match created {
        Ok(r) => serde_json::from_slice(&r.body).unwrap_or_default(),
        Err(pr) => {
            return Ok(redirect(&with_flash(
                "/admin/keys",
                "error",
                &problem_text(&pr),
            )));
        }
    };
    let list = keys_for(p, op).await?;
    let pg = Page {
        title: "Admin keys",
        operator: Some(op),
        csrf: keys,
        notice: Some("Key created. Copy it now: it is shown once and kept only as a hash."),
        error: None,
        nav: "keys",
    };
    Ok(html(200, pages::keys(&pg, &list, op, Some(&created))))
}

/// One Idempotency-Key per form on a rendered page: sent twice, answered once.
fn idempotency_key<O: crate::admin::Operations>(nonce: &str, call: &Call<'_, O>) -> Option<String> {
    (!nonce.is_empty()
        && nonce.len() <= 64
        && nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
    .then(|| {
        format!(
            "ui:{nonce}:{}:{}",
            call.route().method.as_str(),
            call.path()
        )
    })
}

fn empty_page() -> lading_core::admin::orders::OrderPage {
    lading_core::admin::orders::OrderPage {
        data: vec![],
        has_more: false,
        next_starting_after: None,
    }
}

async fn login<P: Platform>(p: &P, req: &Request) -> Result<Response, Problem> {
    let secret = session::secret(p)?.to_owned();
    // Another site must not sign a browser in with its own key (login CSRF).
    if !session::same_origin(req) {
        return Ok(html(403, pages::login(Some("Sign in from this page."))));
    }
    let form = parse_query(&String::from_utf8_lossy(&req.body));
    let key = form
        .iter()
        .find(|(k, _)| k == "key")
        .map(|(_, v)| v.trim())
        .unwrap_or("");
    let authorization = format!("Bearer {key}");
    let presented = lading_core::auth::AdminCredentials {
        authorization: Some(&authorization),
        store_id: None,
    };
    let caller = match lading_core::auth::admin_caller(p, presented).await {
        Ok(lading_core::auth::AdminCaller::Key { role, .. })
            if !role.allows(lading_core::domain::Role::Support) =>
        {
            return Ok(html(
                403,
                pages::login(Some(
                    "A metrics key only reads /admin/api/v1/metrics; sign in with a support, admin or superadmin key.",
                )),
            ));
        }
        Ok(lading_core::auth::AdminCaller::Key { key_id, .. }) => key_id,
        Ok(lading_core::auth::AdminCaller::Bootstrap { .. }) => {
            return Ok(html(
                403,
                pages::login(Some(
                    "The bootstrap key manages stores through the API; sign in with a store's admin key.",
                )),
            ));
        }
        Err(AppError::Storage(e)) => return Err(AppError::Storage(e).into()),
        Err(_) => {
            return Ok(html(
                401,
                pages::login(Some("That admin key is unknown or revoked.")),
            ));
        }
    };
    let s = Session {
        k: caller,
        e: p.now_ms() / 1000 + TTL_S,
        n: p.new_token("", 12),
    };
    let cookie = format!(
        "{COOKIE}={}; Path=/admin; Max-Age={TTL_S}; HttpOnly; Secure; SameSite=Strict",
        session::issue(&secret, &s)
    );
    Ok(redirect("/admin/orders").with_header("set-cookie", &cookie))
}

/// Minor units from a decimal amount a person typed ("10", "10.5", "10.50" — as many
/// decimals as `currency` has).
fn minor_units(field: &str, v: &str, currency: &str) -> Result<i64, Problem> {
    let currency = lading_core::domain::Currency::parse(currency)
        .map_err(|m| Problem::from(AppError::validation("currency", m)))?;
    currency
        .parse_amount(v)
        .map_err(|m| Problem::from(AppError::validation(field, m)))
}

async fn act<P: Platform>(
    p: &Audited<'_, P>,
    req: &Request,
    ui: Ui,
    params: &Params,
    op: &Operator,
    form: &[(String, String)],
) -> Result<Response, Problem> {
    if ui == Ui::Logout {
        return Ok(redirect("/admin/login").with_header(
            "set-cookie",
            &format!("{COOKIE}=; Path=/admin; Max-Age=0; HttpOnly; Secure; SameSite=Strict"),
        ));
    }
    let form = Form(form);
    let id = params.get("id");
    let order_page = format!("/admin/orders/{id}");
    let back = local(form.field("back"), "/admin/orders");
    let currency = form_currency(p, ui, op, id).await?;
    let action = match form_action(ui, &form, &currency, &order_page, &back, id) {
        Ok(action) => action,
        Err(pr) => {
            return Ok(redirect(&with_flash(
                &back_for(ui, &order_page, &back, id),
                "error",
                &problem_text(&pr),
            )));
        }
    };
    let call = Call {
        op: action.op,
        id,
        input: action.input,
    };
    let key = idempotency_key(form.field("_idem"), &call);
    Ok(
        match perform_as(p, &op.caller(), call, key.as_deref(), &req.request_id).await {
            Ok(_) => redirect(&with_flash(&action.then, "notice", &action.done)),
            Err(pr) => redirect(&with_flash(&action.then, "error", &problem_text(&pr))),
        },
    )
}

/// A submitted form's fields.
struct Form<'a>(&'a [(String, String)]);

impl Form<'_> {
    /// The field, trimmed; empty when absent.
    fn field(&self, k: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim())
            .unwrap_or("")
    }
}

/// The currency typed amounts are in: the order's for a refund, the store's for a promo
/// code.
async fn form_currency<P: Platform>(
    p: &Audited<'_, P>,
    ui: Ui,
    op: &Operator,
    id: &str,
) -> Result<String, Problem> {
    Ok(match ui {
        Ui::Refund => match lading_core::orders::order_of_store(p, &op.store_id, id).await {
            Ok(o) => Some(o.currency),
            Err(AppError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        },
        Ui::CreatePromo => lading_core::sql::stores::store_by_id(p.db(), &op.store_id)
            .await?
            .map(|s| s.currency),
        _ => None,
    }
    .unwrap_or_else(|| "usd".into()))
}

/// The admin API operation a form stands for, with its input, where to go afterwards and
/// what to tell the operator when it worked.
struct FormAction {
    op: Op,
    input: Value,
    then: String,
    done: String,
}

fn form_action(
    ui: Ui,
    form: &Form<'_>,
    currency: &str,
    order_page: &str,
    back: &str,
    id: &str,
) -> Result<FormAction, Problem> {
    let field = |k: &str| form.field(k);
    let action = |op, input, then: &str, done: &str| FormAction {
        op,
        input,
        then: then.to_owned(),
        done: done.to_owned(),
    };
    Ok(match ui {
        Ui::Refund => {
            let mut body = json!({ "reason": field("reason") });
            if !field("amount").is_empty() {
                body["amount"] = json!(minor_units("amount", field("amount"), currency)?);
            }
            action(Op::CreateRefund, body, order_page, "Refund sent to Stripe.")
        }
        Ui::Cancel => {
            let reason = field("reason");
            let body = if reason.is_empty() {
                json!({})
            } else {
                json!({ "reason": reason })
            };
            action(Op::CancelOrder, body, order_page, "Cancellation requested.")
        }
        Ui::Note => action(
            Op::AddOrderNote,
            json!({ "body": field("body") }),
            order_page,
            "Note added.",
        ),
        Ui::AcceptPayment => action(
            Op::AcceptPayment,
            json!({}),
            order_page,
            "Accepted: the order is paid and goes to fulfillment.",
        ),
        Ui::Retry => action(
            Op::RetryFulfillmentOrder,
            json!({}),
            back,
            "Queued for another attempt.",
        ),
        Ui::Tracking => {
            let mut body =
                json!({ "carrier": field("carrier"), "tracking_number": field("tracking_number") });
            if !field("tracking_url").is_empty() {
                body["tracking_url"] = json!(field("tracking_url"));
            }
            action(
                Op::AddTracking,
                body,
                back,
                "Tracking added; the customer is emailed.",
            )
        }
        Ui::SettleCancel => {
            let outcome = field("outcome");
            let mut body = json!({ "outcome": outcome });
            if !field("reason").is_empty() {
                body["reason"] = json!(field("reason"));
            }
            let done = if outcome == "cancelled" {
                "Cancelled; its lines are being refunded."
            } else {
                "Recorded: it could not be stopped."
            };
            action(Op::SettleCancellation, body, back, done)
        }
        Ui::CreatePromo => action(
            Op::CreatePromoCode,
            promo_input(form, currency)?,
            "/admin/promo-codes",
            "Promo code created at Stripe.",
        ),
        Ui::TogglePromo => action(
            Op::UpdatePromoCode,
            json!({ "active": field("active") == "true" }),
            "/admin/promo-codes",
            "Promo code updated.",
        ),
        Ui::DeletePromo => action(
            Op::DeletePromoCode,
            json!({}),
            "/admin/promo-codes",
            "Promo code deleted.",
        ),
        Ui::Block => action(
            Op::BlockUser,
            json!({ "reason": field("reason") }),
            &format!("/admin/users/{id}"),
            "Customer blocked.",
        ),
        Ui::Unblock => action(
            Op::UnblockUser,
            json!({}),
            &format!("/admin/users/{id}"),
            "Customer unblocked.",
        ),
        Ui::KeyRole => action(
            Op::UpdateAdminKey,
            json!({ "role": field("role") }),
            "/admin/keys",
            "Role changed; it counts from the key's next request.",
        ),
        Ui::RevokeKey => action(
            Op::RevokeAdminKey,
            json!({}),
            "/admin/keys",
            "Key revoked; its sessions have ended.",
        ),
        _ => return Err(Problem::route_not_found()),
    })
}

/// A new promo code's input: a fixed amount is typed in the store's currency.
fn promo_input(form: &Form<'_>, currency: &str) -> Result<Value, Problem> {
    let field = |k: &str| form.field(k);
    let kind = field("discount_type");
    let value = if kind == "fixed_amount" {
        minor_units("discount_value", field("discount_value"), currency)?
    } else {
        field("discount_value").parse::<i64>().map_err(|_| {
            Problem::from(AppError::validation(
                "discount_value",
                "a percentage is a whole number 1 to 100",
            ))
        })?
    };
    let mut body = json!({ "code": field("code"), "discount_type": kind, "discount_value": value });
    if kind == "fixed_amount" {
        body["currency"] = json!(currency.to_lowercase());
    }
    for k in ["description", "expires_at"] {
        if !field(k).is_empty() {
            body[k] = json!(field(k));
        }
    }
    if !field("max_redemptions").is_empty() {
        body["max_redemptions"] = json!(field("max_redemptions").parse::<i64>().map_err(|_| {
            Problem::from(AppError::validation(
                "max_redemptions",
                "must be a whole number",
            ))
        })?);
    }
    Ok(body)
}

/// The pages read answers as JSON (the same shape the API sends).
fn as_json<T: serde::Serialize>(answer: &T) -> Value {
    serde_json::to_value(answer).unwrap_or_default()
}

fn back_for(ui: Ui, order_page: &str, back: &str, id: &str) -> String {
    match ui {
        Ui::Refund | Ui::Cancel | Ui::Note | Ui::AcceptPayment => order_page.to_owned(),
        Ui::CreatePromo | Ui::TogglePromo | Ui::DeletePromo => "/admin/promo-codes".into(),
        Ui::Block | Ui::Unblock => format!("/admin/users/{id}"),
        Ui::KeyRole | Ui::RevokeKey => "/admin/keys".into(),
        _ => back.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_amounts_become_minor_units_and_junk_is_refused() {
        assert_eq!(minor_units("a", "10", "usd").unwrap(), 1000);
        assert_eq!(minor_units("a", "10.5", "usd").unwrap(), 1050);
        assert_eq!(minor_units("a", "0.07", "usd").unwrap(), 7);
        assert_eq!(minor_units("a", "1500", "jpy").unwrap(), 1500);
        assert_eq!(minor_units("a", "1.234", "kwd").unwrap(), 1234);
        for bad in ["", "-1", "1.234", "1e3", "ten", ".5", "1,50"] {
            assert!(minor_units("a", bad, "usd").is_err(), "{bad}");
        }
        assert!(minor_units("a", "10.5", "jpy").is_err());
    }

    #[test]
    fn redirects_stay_on_our_pages() {
        assert_eq!(local("/admin/orders/ord_1", "/x"), "/admin/orders/ord_1");
        for evil in [
            "https://evil.test/",
            "//evil.test/admin/",
            "/admin/\r\nx",
            "javascript:alert(1)",
        ] {
            assert_eq!(local(evil, "/admin/orders"), "/admin/orders", "{evil}");
        }
    }
}
