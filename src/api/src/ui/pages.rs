//! The pages, as maud templates: every value is escaped by construction (`(x)` in a template
//! is text, never markup), no inline script or style, forms carry the CSRF token.

use super::session::Operator;
use lading_core::admin::orders::OrderPage;
use lading_core::domain::format_amount;
use lading_core::domain::{FinancialStatus, OrderStatus, ProviderCode, Role};
use maud::{DOCTYPE, Markup, html};
use serde_json::Value;

pub struct Page<'a> {
    pub title: &'a str,
    pub operator: Option<&'a Operator>,
    pub csrf: FormKeys<'a>,
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
    pub nav: &'a str,
}

/// What every form carries: the session's CSRF token, and this page's nonce, from which
/// each form's Idempotency-Key is made (a form sent twice — a double click, a resubmit
/// after going back — is answered once).
#[derive(Clone, Copy)]
pub struct FormKeys<'a> {
    pub csrf: &'a str,
    pub nonce: &'a str,
}

pub fn layout(pg: &Page<'_>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (pg.title) " · Lading admin" }
                link rel="stylesheet" href="/admin/static/app.css";
                script src="/admin/static/app.js" defer {}
            }
            body {
                header.top {
                    a.brand href="/admin/orders" { "Lading" }
                    @if let Some(op) = pg.operator {
                        nav {
                            @for (id, href, label) in [("orders", "/admin/orders", "Orders"), ("fulfillment", "/admin/fulfillment", "Fulfillment"),
                                                        ("products", "/admin/products", "Products"), ("promo", "/admin/promo-codes", "Promo codes"),
                                                        ("users", "/admin/users", "Users"),
                                                        ("companies", "/admin/companies", "Companies"), ("prices", "/admin/price-books", "Price books"),
                                                        ("invoices", "/admin/invoices", "Invoices"), ("operations", "/admin/operations", "Operations")] {
                                a href=(href) class=@if pg.nav == id { "current" } { (label) }
                            }
                            @if op.can(Role::Admin) {
                                a href="/admin/webhooks" class=@if pg.nav == "webhooks" { "current" } { "Webhooks" }
                                a href="/admin/audit-log" class=@if pg.nav == "audit" { "current" } { "Audit log" }
                            }
                            @if op.can(Role::Superadmin) {
                                a href="/admin/keys" class=@if pg.nav == "keys" { "current" } { "Keys" }
                            }
                        }
                        form.signout method="post" action="/admin/logout" {
                            (csrf(pg.csrf))
                            span.who { (op.label) " · " (op.role.as_str()) }
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main {
                    @if let Some(n) = pg.notice { p.notice role="status" { (n) } }
                    @if let Some(e) = pg.error { p.error role="alert" { (e) } }
                    h1 { (pg.title) }
                    (body)
                }
            }
        }
    }
}

pub fn login(error: Option<&str>) -> Markup {
    let pg = Page {
        title: "Sign in",
        operator: None,
        csrf: FormKeys {
            csrf: "",
            nonce: "",
        },
        notice: None,
        error,
        nav: "",
    };
    layout(
        &pg,
        html! {
            form.card method="post" action="/admin/login" {
                label for="key" { "Admin key" }
                input #key type="password" name="key" autocomplete="off" required placeholder="lak_…";
                button type="submit" { "Sign in" }
                p.hint { "Use a store's admin key (support, admin or superadmin). It is exchanged for a session cookie and never stored in the browser." }
            }
        },
    )
}

/// A request that cannot be answered with its page (not found, not allowed, unavailable).
pub fn problem(status: u16, message: &str) -> Markup {
    let title = match status {
        404 => "Not found",
        403 => "Not allowed",
        503 => "Unavailable",
        _ => "Something went wrong",
    };
    let pg = Page {
        title,
        operator: None,
        csrf: FormKeys {
            csrf: "",
            nonce: "",
        },
        notice: None,
        error: Some(message),
        nav: "",
    };
    layout(
        &pg,
        html! { p { a.button.secondary href="/admin/orders" { "Back to orders" } } },
    )
}

pub(super) fn money(minor: Option<i64>, currency: &str) -> String {
    minor.map_or_else(String::new, |m| {
        format!("{} {}", format_amount(m, currency), currency.to_uppercase())
    })
}

pub(super) fn badge(s: &str) -> Markup {
    html! { span class={ "badge " (s) } { (s.replace('_', " ")) } }
}

pub(super) fn csrf(k: FormKeys<'_>) -> Markup {
    html! { input type="hidden" name="_csrf" value=(k.csrf); input type="hidden" name="_idem" value=(k.nonce); }
}

pub(super) fn opt<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or("")
}

pub struct OrderQuery<'a> {
    pub q: &'a str,
    pub status: &'a str,
    pub financial_status: &'a str,
    pub provider: &'a str,
    pub created_from: &'a str,
    pub created_to: &'a str,
    pub needs_review: bool,
    /// The query string of the current filters (for the next page and the CSV).
    pub encoded: String,
}

pub fn orders(pg: &Page<'_>, f: &OrderQuery<'_>, page: &OrderPage) -> Markup {
    layout(
        pg,
        html! {
            form.filters method="get" action="/admin/orders" {
                input type="search" name="q" value=(f.q) placeholder="Email or order number" aria-label="Search";
                select name="status" aria-label="Status" {
                    option value="" { "Any status" }
                    @for s in OrderStatus::VALUES { option value=(s) selected[*s == f.status] { (s.replace('_', " ")) } }
                }
                select name="financial_status" aria-label="Payment" {
                    option value="" { "Any payment" }
                    @for s in FinancialStatus::VALUES { option value=(s) selected[*s == f.financial_status] { (s.replace('_', " ")) } }
                }
                select name="provider" aria-label="Provider" {
                    option value="" { "Any provider" }
                    @for s in ProviderCode::VALUES { option value=(s) selected[*s == f.provider] { (s) } }
                }
                label.check { input type="checkbox" name="needs_review" value="true" checked[f.needs_review]; " Needs review" }
                input type="date" name="created_from" value=(f.created_from) aria-label="From";
                input type="date" name="created_to" value=(f.created_to) aria-label="To";
                button type="submit" { "Search" }
                a.button.secondary href={ "/admin/orders.csv?" (f.encoded) } { "Export CSV" }
            }
            div.scroll {
                table {
                    thead { tr { th { "Order" } th { "Placed" } th { "Customer" } th { "Status" } th { "Payment" } th.num { "Total" } } }
                    tbody {
                        @for o in &page.data {
                            tr {
                                td { a href={ "/admin/orders/" (o.id) } { (o.order_number) } }
                                td { (o.created_at.get(..16).unwrap_or(&o.created_at).replace('T', " ")) }
                                td { (o.email.clone().unwrap_or_default()) }
                                td { (badge(o.status.as_str())) @if o.review_reason.is_some() { " " (badge("review")) } }
                                td { (badge(o.financial_status.as_str())) }
                                td.num { (money(Some(o.total), &o.currency)) }
                            }
                        }
                        @if page.data.is_empty() { tr { td colspan="6" { "No orders match." } } }
                    }
                }
            }
            @if let Some(next) = &page.next_starting_after {
                p { a.button.secondary href={ "/admin/orders?" (f.encoded) "&starting_after=" (next) } { "Older orders →" } }
            }
        },
    )
}

fn refund_form(d: &Value, token: FormKeys<'_>, currency: &str) -> Markup {
    let id = opt(&d["order"], "id");
    html! {
        form.card method="post" action={ "/admin/orders/" (id) "/refund" } data-confirm="Refund this amount to the customer's card?" {
            (csrf(token))
            h3 { "Refund" }
            p.hint { "Refundable now: " (money(d["money"]["refundable"].as_i64(), currency)) ". Leave the amount empty to refund all of it." }
            label for="refund-amount" { "Amount (" (currency.to_uppercase()) ")" }
            input #refund-amount type="text" inputmode="decimal" name="amount" placeholder={ "e.g. " (format_amount(10 * 10i64.pow(lading_core::domain::exponent_of(currency)), currency)) };
            label for="refund-reason" { "Reason" }
            select #refund-reason name="reason" {
                option value="requested_by_customer" { "Requested by customer" }
                option value="duplicate" { "Duplicate" }
                option value="fraudulent" { "Fraudulent" }
            }
            button type="submit" { "Refund" }
        }
    }
}

pub fn order(pg: &Page<'_>, d: &Value, op: &Operator) -> Markup {
    let o = &d["order"];
    let cur = opt(o, "currency");
    let id = opt(o, "id");
    let token = pg.csrf;
    layout(
        pg,
        html! {
            section.summary {
                p { (badge(opt(o, "status"))) " " (badge(opt(o, "financial_status"))) }
                @if let Some(r) = o["review_reason"].as_str() {
                    p.error { "Needs review: " (r) }
                    @if opt(o, "status") == "pending" && op.can(Role::Admin) {
                        form.inline method="post" action={ "/admin/orders/" (id) "/accept-payment" } data-confirm="Accept the amount Stripe collected and fulfil this order?" {
                            (csrf(token))
                            button type="submit" { "Accept Stripe's amount and fulfil" }
                        }
                        p.hint { "Or refund it below." }
                    }
                }
                dl {
                    dt { "Email" } dd { (opt(o, "email")) }
                    dt { "Placed" } dd { (opt(o, "created_at")) }
                    dt { "Total" } dd { (money(o["total"].as_i64(), cur)) " (subtotal " (money(o["subtotal"].as_i64(), cur)) ", discount " (money(o["discount"].as_i64(), cur))
                        ", shipping " (money(o["shipping"].as_i64(), cur)) ", tax " (money(o["tax"].as_i64(), cur)) ")" }
                    dt { "Captured / refunded" } dd { (money(d["money"]["captured"].as_i64(), cur)) " / " (money(d["money"]["refunded"].as_i64(), cur)) }
                    @if let Some(c) = o["promo_code"].as_str() { dt { "Promo code" } dd { (c) } }
                    @if let Some(a) = o["shipping_address"].as_object() {
                        dt { "Ship to" } dd { @for k in ["name", "line1", "line2", "city", "state", "postal_code", "country"] { @if let Some(v) = a.get(k).and_then(Value::as_str) { (v) br; } } }
                    }
                    @if let Some(c) = d["customer"].as_object() {
                        dt { "Customer" } dd { a href={ "/admin/users/" (c.get("id").and_then(Value::as_str).unwrap_or("")) } { (c.get("email").and_then(Value::as_str).unwrap_or("customer")) } }
                    }
                    @if let Some(c) = d["company"].as_object().map(|_| &d["company"]) {
                        dt { "Company" } dd { a href={ "/admin/companies/" (opt(c, "id")) } { (opt(c, "name")) } " · " (opt(c, "payment_terms")) }
                        dt { "Billed to" } dd { (opt(c, "billing_contact_name")) " <" (opt(c, "billing_contact_email")) ">" br; (opt(c, "billing_address")) }
                    }
                    @if let Some(i) = d["invoice"].as_object().map(|_| &d["invoice"]) {
                        dt { "Invoice" } dd { a href={ "/admin/invoices/" (opt(i, "id")) } { (opt(i, "number")) } " " (badge(opt(i, "status"))) " · owed " (money(i["balance"].as_i64(), cur)) }
                    }
                    @if let Some(u) = d["stripe"]["payment"].as_str() { dt { "Stripe" } dd { a href=(u) rel="noreferrer" target="_blank" { "Payment in the Stripe dashboard" } } }
                }
            }
            h2 { "Items" }
            div.scroll { table {
                thead { tr { th { "Item" } th { "SKU" } th { "Kind" } th.num { "Qty" } th.num { "Line total" } th { "Price from" } } }
                tbody { @for (n, i) in d["order"]["items"].as_array().into_iter().flatten().enumerate() {
                    @let priced = &d["item_prices"][n]["resolution"];
                    tr { td { (opt(i, "title")) " — " (opt(i, "variant_title")) } td { (opt(i, "sku")) } td { (opt(i, "kind")) } td.num { (i["quantity"]) } td.num { (money(i["line_total"].as_i64(), cur)) }
                         td { (badge(opt(priced, "source"))) " " span.hint { (opt(priced, "label")) } @if let Some(note) = priced["bespoke_note"].as_str() { br; span.hint { "Note: " (note) } } } }
                } }
            } }
            h2 { "Fulfillment" }
            @for f in d["fulfillment_orders"].as_array().into_iter().flatten() {
                div.card.fo {
                    p { strong { (opt(f, "provider")) } " " (badge(opt(f, "status"))) " " span.mono { (opt(f, "id")) }
                        " · " a href={ "/admin/fulfillment-orders/" (opt(f, "id")) } { "Lines and parcels" } }
                    @if let Some(e) = f["error"].as_str() { p.error { (e) } }
                    @if opt(f, "status") == "failed" && op.can(Role::Admin) {
                        form method="post" action={ "/admin/fulfillment-orders/" (opt(f, "id")) "/retry" } {
                            (csrf(token)) input type="hidden" name="back" value={ "/admin/orders/" (id) };
                            button type="submit" { "Retry" }
                        }
                    }
                    @if opt(f, "status") == "cancel_requested" && f["external_id"].is_null() && op.can(Role::Admin) {
                        p.hint { "Cancellation requested: stop it where it was placed, then record what happened." }
                        form.inline method="post" action={ "/admin/fulfillment-orders/" (opt(f, "id")) "/cancellation" } data-confirm="Record this fulfillment order as cancelled? Its lines are refunded." {
                            (csrf(token)) input type="hidden" name="back" value={ "/admin/orders/" (id) };
                            input type="hidden" name="outcome" value="cancelled";
                            button.danger type="submit" { "Stopped: cancel it" }
                        }
                        form.inline method="post" action={ "/admin/fulfillment-orders/" (opt(f, "id")) "/cancellation" } {
                            (csrf(token)) input type="hidden" name="back" value={ "/admin/orders/" (id) };
                            input type="hidden" name="outcome" value="rejected";
                            input type="text" name="reason" placeholder="Why not (optional)" aria-label="Why it could not be stopped";
                            button.secondary type="submit" { "Too late to stop" }
                        }
                    }
                    @if f["manual_tracking"] == true && matches!(opt(f, "status"), "submitted" | "in_production" | "partially_shipped" | "on_hold") {
                        form.inline method="post" action={ "/admin/fulfillment-orders/" (opt(f, "id")) "/tracking" } {
                            (csrf(token)) input type="hidden" name="back" value={ "/admin/orders/" (id) };
                            input type="text" name="carrier" placeholder="Carrier" aria-label="Carrier" required;
                            input type="text" name="tracking_number" placeholder="Tracking number" aria-label="Tracking number" required;
                            input type="url" name="tracking_url" placeholder="Tracking URL (optional)" aria-label="Tracking URL";
                            button type="submit" { "Add tracking" }
                        }
                    }
                }
            }
            @if d["fulfillment_orders"].as_array().is_none_or(Vec::is_empty) { p.hint { "Nothing to ship (digital only, or not paid yet)." } }
            @if let Some(ships) = d["shipments"].as_array().filter(|s| !s.is_empty()) {
                h3 { "Parcels" }
                div.scroll { table {
                    thead { tr { th { "Carrier" } th { "Tracking" } th { "Status" } } }
                    tbody { @for s in ships {
                        tr { td { (opt(s, "carrier")) } td {
                            @match (s["tracking_url"].as_str().filter(|u| u.starts_with("https://") || u.starts_with("http://")), s["tracking_number"].as_str()) {
                                (Some(u), Some(t)) => a href=(u) rel="noreferrer" target="_blank" { (t) },
                                (_, Some(t)) => (t),
                                _ => "—",
                            }
                        } td { (badge(opt(s, "status"))) } }
                    } }
                } }
            }
            h2 { "Payments" }
            div.scroll { table {
                thead { tr { th { "Kind" } th.num { "Amount" } th { "Status" } th { "Reason" } th { "When" } } }
                tbody { @for x in d["payments"].as_array().into_iter().flatten() {
                    tr { td { (opt(x, "kind")) } td.num { (money(x["amount"].as_i64(), cur)) } td { (badge(opt(x, "status"))) } td { (opt(x, "reason")) } td { (opt(x, "created_at")) } }
                } }
            } }
            div.actions {
                @if op.can(Role::Admin) && d["money"]["refundable"].as_i64().unwrap_or(0) > 0 { (refund_form(d, token, cur)) }
                @if op.can(Role::Admin) && matches!(opt(o, "status"), "paid" | "processing" | "partially_shipped") {
                    form.card method="post" action={ "/admin/orders/" (id) "/cancel" } data-confirm="Cancel this order? Providers are asked to stop; what is cancelled is refunded." {
                        (csrf(token))
                        h3 { "Cancel" }
                        label for="cancel-reason" { "Reason" }
                        input #cancel-reason type="text" name="reason" maxlength="200";
                        button.danger type="submit" { "Cancel order" }
                    }
                }
            }
            @if let Some(files) = d["customer_files"].as_array().filter(|f| !f.is_empty()) {
                h2 { "Customer files" }
                ul { @for f in files { li {
                    @if let Some(u) = f["url"].as_str() { a href=(u) rel="noreferrer" { (opt(f, "id")) } } @else { (opt(f, "id")) }
                    " (" (opt(f, "content_type")) ", " (f["size"]) " bytes) — links last 15 minutes"
                } } }
            }
            @if let Some(dl) = d["downloads"].as_array().filter(|f| !f.is_empty()) {
                h2 { "Downloads" }
                ul { @for x in dl { li { (opt(x, "filename")) " " (badge(opt(x, "status"))) " · " (x["links_issued"]) " link(s) issued" } } }
            }
            h2 { "Notes" }
            ul.notes { @for n in d["notes"].as_array().into_iter().flatten() {
                li { p.note { (opt(n, "body")) } small { (opt(n, "author")) " · " (opt(n, "created_at")) } }
            } }
            form.card method="post" action={ "/admin/orders/" (id) "/notes" } {
                (csrf(token))
                label for="note" { "Add a note" }
                textarea #note name="body" rows="3" maxlength="4000" required {}
                button type="submit" { "Add note" }
            }
            h2 { "Emails" }
            ul { @for n in d["notifications"].as_array().into_iter().flatten() {
                li { (opt(n, "kind").replace('_', " ")) " " (badge(opt(n, "status"))) @if let Some(e) = n["error"].as_str() { " — " (e) } }
            } }
            h2 { "Timeline" }
            p { a href={ "/admin/orders/" (id) "/timeline" } { "The whole timeline: parcels, couriers, automation, emails, webhooks →" } }
            ol.timeline { @for e in d["timeline"].as_array().into_iter().flatten() {
                li { span.mono { (opt(e, "at")) } " " (opt(e, "type")) }
            } }
        },
    )
}

pub fn fulfillment(pg: &Page<'_>, dash: &Value, op: &Operator) -> Markup {
    layout(
        pg,
        html! {
            div.stats { @for (status, n) in dash["by_status"].as_object().into_iter().flatten() {
                div.stat { span.n { (n) } span { (status.replace('_', " ")) } }
            } }
            h2 { "By provider" }
            div.scroll { table {
                thead { tr { th { "Provider" } th { "Status" } th.num { "Orders" } } }
                tbody { @for c in dash["counts"].as_array().into_iter().flatten() {
                    tr { td { (opt(c, "provider")) } td { (badge(opt(c, "status"))) } td.num { (c["count"]) } }
                } }
            } }
            h2 { "Failed" }
            div.scroll { table {
                thead { tr { th { "Order" } th { "Provider" } th { "Error" } th { "Attempts" } th {} } }
                tbody {
                    @for f in dash["failed"].as_array().into_iter().flatten() {
                        tr {
                            td { a href={ "/admin/orders/" (opt(f, "order_id")) } { (opt(f, "order_number")) } }
                            td { (opt(f, "provider")) }
                            td.error-text { (opt(f, "error")) }
                            td.num { (f["attempts"]) }
                            td { @if op.can(Role::Admin) {
                                form method="post" action={ "/admin/fulfillment-orders/" (opt(f, "id")) "/retry" } {
                                    (csrf(pg.csrf)) input type="hidden" name="back" value="/admin/fulfillment";
                                    button type="submit" { "Retry" }
                                }
                            } }
                        }
                    }
                    @if dash["failed"].as_array().is_none_or(Vec::is_empty) { tr { td colspan="5" { "Nothing failed." } } }
                }
            } }
        },
    )
}

pub fn products(pg: &Page<'_>, list: &Value) -> Markup {
    layout(
        pg,
        html! {
            div.scroll { table {
                thead { tr { th { "Product" } th { "Status" } th { "Variants" } } }
                tbody { @for p in list["data"].as_array().into_iter().flatten() {
                    tr {
                        td { (opt(p, "title")) br; small.mono { (opt(p, "slug")) } }
                        td { (badge(opt(p, "status"))) }
                        td { ul.compact { @for v in p["variants"].as_array().into_iter().flatten() {
                            li { (opt(v, "sku")) " · " (opt(v, "kind")) " · " (money(v["price"]["amount"].as_i64(), opt(&v["price"], "currency")))
                                @if let Some(fp) = v["fulfillment_provider"].as_str() { " · " (fp) }
                                " · " (v["provider_mappings"].as_array().map_or(0, Vec::len)) " mapping(s)" }
                        } } }
                    }
                } }
            } }
            p.hint { "Products, variants and provider mappings are edited through the admin API (" code { "/admin/api/v1/products" } ")." }
        },
    )
}

pub fn promo_codes(
    pg: &Page<'_>,
    list: &[lading_core::admin::promo_codes::PromoView],
    op: &Operator,
) -> Markup {
    layout(
        pg,
        html! {
            div.scroll { table {
                thead { tr { th { "Code" } th { "Discount" } th.num { "Redeemed" } th { "Expires" } th { "State" } th {} } }
                tbody {
                    @for c in list {
                        tr {
                            td { strong { (c.code) } @if let Some(d) = &c.description { br; small { (d) } } }
                            td { @if c.discount_type == "percentage" { (c.discount_value) "%" } @else { (money(Some(c.discount_value), c.currency.as_deref().unwrap_or(""))) } }
                            td.num { (c.redemptions) @if let Some(m) = c.max_redemptions { " / " (m) } }
                            td { (c.expires_at.clone().unwrap_or_default()) }
                            td { (badge(if c.active { "active" } else { "inactive" })) @if c.stripe_sync != "synced" { " " (badge("pending")) } }
                            td { @if op.can(Role::Admin) {
                                form.inline method="post" action={ "/admin/promo-codes/" (c.id) "/toggle" } {
                                    (csrf(pg.csrf)) input type="hidden" name="active" value=(if c.active { "false" } else { "true" });
                                    button.secondary type="submit" { @if c.active { "Deactivate" } @else { "Activate" } }
                                }
                                form.inline method="post" action={ "/admin/promo-codes/" (c.id) "/delete" } data-confirm="Delete this code? Orders that used it keep it." {
                                    (csrf(pg.csrf)) button.danger type="submit" { "Delete" }
                                }
                            } }
                        }
                    }
                    @if list.is_empty() { tr { td colspan="6" { "No promo codes yet." } } }
                }
            } }
            @if op.can(Role::Admin) {
                form.card method="post" action="/admin/promo-codes" {
                    (csrf(pg.csrf))
                    h3 { "New promo code" }
                    label for="pc-code" { "Code" } input #pc-code type="text" name="code" required pattern="[A-Za-z0-9_-]{3,40}";
                    label for="pc-type" { "Discount" }
                    select #pc-type name="discount_type" { option value="percentage" { "Percent off" } option value="fixed_amount" { "Amount off" } }
                    label for="pc-value" { "Value (percent, or amount like 5.00)" } input #pc-value type="text" inputmode="decimal" name="discount_value" required;
                    label for="pc-max" { "Max redemptions (optional)" } input #pc-max type="number" name="max_redemptions" min="1";
                    label for="pc-exp" { "Expires (optional)" } input #pc-exp type="date" name="expires_at";
                    label for="pc-desc" { "Description (optional)" } input #pc-desc type="text" name="description" maxlength="200";
                    button type="submit" { "Create at Stripe" }
                }
            }
        },
    )
}

pub fn users(pg: &Page<'_>, list: &Value, email: &str) -> Markup {
    layout(
        pg,
        html! {
            form.filters method="get" action="/admin/users" {
                input type="search" name="email" value=(email) placeholder="Email" aria-label="Email";
                button type="submit" { "Search" }
            }
            div.scroll { table {
                thead { tr { th { "Customer" } th.num { "Lifetime value" } th.num { "Orders" } th { "Last order" } th { "State" } } }
                tbody { @for u in list["data"].as_array().into_iter().flatten() {
                    tr {
                        td { a href={ "/admin/users/" (opt(u, "id")) } { (u["email"].as_str().unwrap_or(opt(u, "subject"))) } }
                        td.num { (money(u["lifetime_value"].as_i64(), u["currency"].as_str().unwrap_or(""))) }
                        td.num { (u["order_count"]) }
                        td { (opt(u, "last_order_at")) }
                        td { @if u["blocked"] == true { (badge("blocked")) } @else { (badge("active")) } }
                    }
                } }
            } }
            @if let Some(next) = list["next_starting_after"].as_str() {
                p { a.button.secondary href={ "/admin/users?starting_after=" (next) } { "More →" } }
            }
        },
    )
}

pub fn user(pg: &Page<'_>, d: &Value, op: &Operator) -> Markup {
    let u = &d["user"];
    let id = opt(u, "id");
    layout(
        pg,
        html! {
            dl {
                dt { "Subject" } dd.mono { (opt(u, "subject")) }
                dt { "Lifetime value" } dd { (money(u["lifetime_value"].as_i64(), u["currency"].as_str().unwrap_or(""))) }
                dt { "Orders" } dd { (u["order_count"]) }
                dt { "Last order" } dd { (opt(u, "last_order_at")) }
                dt { "State" } dd { @if u["blocked"] == true { (badge("blocked")) " " (opt(u, "blocked_reason")) } @else { (badge("active")) } }
            }
            @if op.can(Role::Superadmin) {
                @if u["blocked"] == true {
                    form.card method="post" action={ "/admin/users/" (id) "/unblock" } { (csrf(pg.csrf)) button type="submit" { "Unblock" } }
                } @else {
                    form.card method="post" action={ "/admin/users/" (id) "/block" } data-confirm="Block this customer? They will not be able to check out." {
                        (csrf(pg.csrf))
                        label for="block-reason" { "Reason" } input #block-reason type="text" name="reason" required maxlength="500";
                        button.danger type="submit" { "Block" }
                    }
                }
            }
            h2 { "Orders" }
            div.scroll { table {
                thead { tr { th { "Order" } th { "Placed" } th { "Status" } th.num { "Total" } } }
                tbody { @for o in d["orders"]["data"].as_array().into_iter().flatten() {
                    tr { td { a href={ "/admin/orders/" (opt(o, "id")) } { (opt(o, "order_number")) } } td { (opt(o, "created_at")) }
                         td { (badge(opt(o, "status"))) } td.num { (money(o["total"].as_i64(), opt(o, "currency"))) } }
                } }
            } }
        },
    )
}

/// The store's admin keys (superadmins): roles changed in place, revocation, and a new
/// key shown once on the page that answers its form.
pub fn keys(
    pg: &Page<'_>,
    list: &[lading_core::stores::admin_keys::AdminKeyView],
    op: &Operator,
    created: Option<&Value>,
) -> Markup {
    let roles = [Role::Support, Role::Admin, Role::Superadmin];
    layout(
        pg,
        html! {
            @if let Some(k) = created {
                div.card.secret {
                    h3 { "New key: " (opt(k, "label")) " " (badge(opt(k, "role"))) }
                    code #new-key { (opt(k, "key")) }
                    p.hint { "Give it to its holder over a safe channel. Lost keys cannot be shown again: revoke and create another." }
                }
            }
            div.scroll { table {
                thead { tr { th { "Label" } th { "Key" } th { "Role" } th { "Created" } th { "State" } th {} } }
                tbody {
                    @for k in list {
                        tr {
                            td { (k.label) @if k.id == op.key_id { " " small { "(you)" } } }
                            td.mono { (k.key_prefix) "…" }
                            td { (badge(k.role.as_str())) }
                            td { (k.created_at) }
                            td { @if k.revoked_at.is_some() { (badge("revoked")) } @else { (badge("active")) } }
                            td { @if k.revoked_at.is_none() && k.id != op.key_id {
                                form.inline method="post" action={ "/admin/keys/" (k.id) "/role" } {
                                    (csrf(pg.csrf))
                                    select name="role" aria-label={ "Role of " (k.label) } {
                                        @for r in roles { option value=(r.as_str()) selected[r == k.role] { (r.as_str()) } }
                                    }
                                    button.secondary type="submit" { "Change role" }
                                }
                                form.inline method="post" action={ "/admin/keys/" (k.id) "/revoke" } data-confirm="Revoke this key? Whoever holds it is signed out at once." {
                                    (csrf(pg.csrf)) button.danger type="submit" { "Revoke" }
                                }
                            } }
                        }
                    }
                }
            } }
            form.card method="post" action="/admin/keys" {
                (csrf(pg.csrf))
                h3 { "New admin key" }
                label for="key-label" { "Label (who holds it)" } input #key-label type="text" name="label" required maxlength="100";
                label for="key-role" { "Role" }
                select #key-role name="role" { @for r in roles { option value=(r.as_str()) { (r.as_str()) } } }
                button type="submit" { "Create key" }
            }
        },
    )
}

pub fn audit_log(pg: &Page<'_>, list: &Value) -> Markup {
    layout(
        pg,
        html! {
            div.scroll { table {
                thead { tr { th { "When" } th { "Who" } th { "Action" } th { "Target" } th { "Request" } } }
                tbody {
                    @for e in list["data"].as_array().into_iter().flatten() {
                        tr {
                            td.mono { (opt(e, "at")) }
                            td { span.mono { (opt(e, "actor")) } " " (badge(opt(e, "actor_role"))) }
                            td { (opt(e, "action")) }
                            td {
                                @if opt(e, "target_type") == "order" { a href={ "/admin/orders/" (opt(e, "target_id")) } { (opt(e, "target_id")) } }
                                @else if opt(e, "target_type") == "user" { a href={ "/admin/users/" (opt(e, "target_id")) } { (opt(e, "target_id")) } }
                                @else { (opt(e, "target_type")) " " span.mono { (opt(e, "target_id")) } }
                            }
                            td.mono { (opt(e, "request_id")) }
                        }
                    }
                    @if list["data"].as_array().is_none_or(Vec::is_empty) { tr { td colspan="5" { "No changes yet." } } }
                }
            } }
            @if let Some(next) = list["next_starting_after"].as_str() {
                p { a.button.secondary href={ "/admin/audit-log?starting_after=" (next) } { "Older →" } }
            }
        },
    )
}
