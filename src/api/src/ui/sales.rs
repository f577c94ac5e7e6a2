//! The web UI of the sales operations, served by the sales Worker (the admin Worker forwards
//! these paths with the API's, [`serves`]): companies with their people, address books,
//! agreements and orders; price books and agreements with each entry's Stripe sync state;
//! and the draft-order builder that shows where each line's price comes from and sends the
//! draft to checkout. The same session, CSRF tokens and layout as the rest of `/admin`, and
//! every change goes through the sales API's own operation ([`perform_as`]).

use super::sales_pages as pages;
use super::{Form, Visit, html, idempotency_key, local, minor_units, problem_page, problem_text};
use super::{redirect, secured, visit, with_flash};
use crate::admin::{Call, perform_as};
use crate::http::{Method, Params, Problem, Request, Response, Route, route};
use crate::sales::Op;
use lading_core::AppError;
use lading_core::admin::audit::Audited;
use lading_core::admin::orders::OrderFilters;
use lading_core::ports::Platform;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ui {
    Companies,
    CreateCompany,
    Company,
    CreateContact,
    CreateAddress,
    CreateAgreement,
    CreateDraft,
    PriceBooks,
    CreatePriceBook,
    PriceBook,
    AddBookEntry,
    Agreement,
    AddAgreementEntry,
    AgreementStatus,
    SyncEntry,
    Draft,
    AddDraftLine,
    RemoveDraftLine,
    SendCheckout,
    InvoiceOrder,
    Invoices,
    InvoicesCsv,
    CreateInvoice,
    Invoice,
    AddInvoiceLine,
    IssueInvoice,
    VoidInvoice,
    DeleteInvoice,
    InvoicePdf,
    RecordInvoicePayment,
    ApplyCredit,
    Unallocate,
    CreditNote,
    CreditNotePdf,
}

const fn r(method: Method, pattern: &'static str, id: Ui) -> Route<Ui> {
    Route::base(method, pattern, id)
}

const ROUTES: &[Route<Ui>] = &[
    r(Method::Get, "/admin/companies", Ui::Companies),
    r(Method::Post, "/admin/companies", Ui::CreateCompany),
    r(Method::Get, "/admin/companies/{id}", Ui::Company),
    r(
        Method::Post,
        "/admin/companies/{id}/contacts",
        Ui::CreateContact,
    ),
    r(
        Method::Post,
        "/admin/companies/{id}/addresses",
        Ui::CreateAddress,
    ),
    r(
        Method::Post,
        "/admin/companies/{id}/agreements",
        Ui::CreateAgreement,
    ),
    r(
        Method::Post,
        "/admin/companies/{id}/draft-orders",
        Ui::CreateDraft,
    ),
    r(Method::Get, "/admin/price-books", Ui::PriceBooks),
    r(Method::Post, "/admin/price-books", Ui::CreatePriceBook),
    r(Method::Get, "/admin/price-books/{id}", Ui::PriceBook),
    r(
        Method::Post,
        "/admin/price-books/{id}/entries",
        Ui::AddBookEntry,
    ),
    r(Method::Get, "/admin/agreements/{id}", Ui::Agreement),
    r(
        Method::Post,
        "/admin/agreements/{id}/entries",
        Ui::AddAgreementEntry,
    ),
    r(
        Method::Post,
        "/admin/agreements/{id}/status",
        Ui::AgreementStatus,
    ),
    r(
        Method::Post,
        "/admin/price-entries/{id}/sync",
        Ui::SyncEntry,
    ),
    r(Method::Get, "/admin/draft-orders/{id}", Ui::Draft),
    r(
        Method::Post,
        "/admin/draft-orders/{id}/lines",
        Ui::AddDraftLine,
    ),
    r(
        Method::Post,
        "/admin/draft-orders/{id}/lines/remove",
        Ui::RemoveDraftLine,
    ),
    r(
        Method::Post,
        "/admin/draft-orders/{id}/send-checkout",
        Ui::SendCheckout,
    ),
    r(
        Method::Post,
        "/admin/draft-orders/{id}/invoice",
        Ui::InvoiceOrder,
    ),
    r(
        Method::Post,
        "/admin/invoices/{id}/credit-notes",
        Ui::CreditNote,
    ),
    r(
        Method::Get,
        "/admin/credit-notes/{id}/pdf",
        Ui::CreditNotePdf,
    ),
    r(Method::Get, "/admin/invoices", Ui::Invoices),
    r(Method::Get, "/admin/invoices/export.csv", Ui::InvoicesCsv),
    r(Method::Post, "/admin/invoices", Ui::CreateInvoice),
    r(Method::Get, "/admin/invoices/{id}", Ui::Invoice),
    r(
        Method::Post,
        "/admin/invoices/{id}/lines",
        Ui::AddInvoiceLine,
    ),
    r(Method::Post, "/admin/invoices/{id}/issue", Ui::IssueInvoice),
    r(Method::Post, "/admin/invoices/{id}/void", Ui::VoidInvoice),
    r(
        Method::Post,
        "/admin/invoices/{id}/delete",
        Ui::DeleteInvoice,
    ),
    r(Method::Get, "/admin/invoices/{id}/pdf", Ui::InvoicePdf),
    r(
        Method::Post,
        "/admin/invoices/{id}/payments",
        Ui::RecordInvoicePayment,
    ),
    r(
        Method::Post,
        "/admin/invoices/{id}/allocations",
        Ui::ApplyCredit,
    ),
    r(
        Method::Post,
        "/admin/allocations/{id}/delete",
        Ui::Unallocate,
    ),
];

/// Whether these pages answer the request (the admin Worker forwards it here).
pub fn serves(method: Method, path: &str) -> bool {
    route(ROUTES, method, path).is_ok()
}

/// Serves one sales page or form.
pub async fn handle<P: Platform>(p: &Audited<'_, P>, req: &Request) -> Response {
    serve(p, req).await.unwrap_or_else(problem_page)
}

async fn serve<P: Platform>(p: &Audited<'_, P>, req: &Request) -> Result<Response, Problem> {
    let (route, params) = route(ROUTES, req.method, &req.path)?;
    let v = match visit(p, req).await? {
        Ok(v) => v,
        Err(sign_in) => return Ok(sign_in),
    };
    if req.method == Method::Post {
        return act(p, req, route.id, params.get("id"), &v).await;
    }
    page(p, req, route.id, &params, &v).await
}

/// The variants an operator can price or order (the first 200 products' variants).
async fn variants<P: Platform>(p: &P, store: &str) -> Result<Vec<pages::VariantChoice>, Problem> {
    let list = lading_core::catalog::list_products::list_products(
        p,
        store,
        lading_core::catalog::Audience::Admin,
        None,
        None,
        Some("100"),
    )
    .await?;
    Ok(list
        .data
        .into_iter()
        .flat_map(|pr| {
            let title = pr.title;
            pr.variants.into_iter().map(move |v| pages::VariantChoice {
                label: if v.title.is_empty() || v.title == title {
                    format!("{title} ({})", v.sku)
                } else {
                    format!("{title} — {} ({})", v.title, v.sku)
                },
                id: v.id,
            })
        })
        .collect())
}

async fn page<P: Platform>(
    p: &Audited<'_, P>,
    req: &Request,
    ui: Ui,
    params: &Params,
    v: &Visit,
) -> Result<Response, Problem> {
    let store = v.op.store_id.as_str();
    let id = params.get("id");
    Ok(match ui {
        Ui::Companies => {
            let q = req.query_param("q").unwrap_or("");
            let list = lading_core::companies::list(
                p,
                store,
                Some(q).filter(|q| !q.is_empty()),
                req.query_param("starting_after"),
                Some("50"),
            )
            .await?;
            html(
                200,
                pages::companies(&v.page(req, "Companies", "companies"), &list, q),
            )
        }
        Ui::Company => {
            let detail = lading_core::companies::detail(p, store, id).await?;
            let agreements = lading_core::pricing::agreements::list(p, store, Some(id)).await?;
            let drafts = lading_core::orders::drafts::list(p, store, Some(id)).await?;
            let filters = OrderFilters {
                company_id: Some(id.to_owned()),
                ..OrderFilters::default()
            };
            let orders =
                lading_core::admin::orders::list(p, store, &filters, None, Some("50")).await?;
            let variants = variants(p, store).await?;
            let invoices = lading_core::billing::list(
                p,
                store,
                &lading_core::billing::InvoiceFilters {
                    company_id: Some(id.to_owned()),
                    ..Default::default()
                },
                None,
                Some("50"),
            )
            .await?;
            let balance = lading_core::billing::payments::company_balance(p, store, id).await?;
            let payments = lading_core::billing::payments::list(p, store, Some(id)).await?;
            let title = detail.company.name.clone();
            let company = pages::CompanyScreen {
                balance: &balance,
                payments: &payments,
                detail: &detail,
                agreements: &agreements,
                drafts: &drafts,
                orders: &orders,
                invoices: &invoices,
                variants: &variants,
            };
            html(
                200,
                pages::company(&v.page(req, &title, "companies"), &company),
            )
        }
        Ui::PriceBooks => {
            let books = lading_core::pricing::books::list(p, store).await?;
            let agreements = lading_core::pricing::agreements::list(p, store, None).await?;
            html(
                200,
                pages::price_books(
                    &v.page(req, "Price books and agreements", "prices"),
                    &books,
                    &agreements,
                ),
            )
        }
        Ui::PriceBook => {
            let d = lading_core::pricing::books::detail(p, store, id).await?;
            let variants = variants(p, store).await?;
            let title = d.book.name.clone();
            html(
                200,
                pages::price_book(&v.page(req, &title, "prices"), &d, &variants),
            )
        }
        Ui::Agreement => {
            let d = lading_core::pricing::agreements::detail(p, store, id).await?;
            let variants = variants(p, store).await?;
            let title = d.agreement.name.clone();
            html(
                200,
                pages::agreement(&v.page(req, &title, "prices"), &d, &variants),
            )
        }
        Ui::Draft => {
            let store_row = lading_core::sql::stores::store_by_id(p.db(), store)
                .await?
                .ok_or(AppError::NotFound("store"))?;
            let d = lading_core::orders::drafts::get(p, &store_row, id).await?;
            let terms = lading_core::companies::company(p, store, &d.company_id)
                .await?
                .payment_terms;
            let variants = variants(p, store).await?;
            let title = format!("Draft order for {}", d.company_name);
            html(
                200,
                pages::draft(
                    &v.page(req, &title, "companies"),
                    &d,
                    &terms,
                    &variants,
                    &v.op,
                ),
            )
        }
        Ui::Invoices => {
            let f = lading_core::billing::InvoiceFilters::from_query(|k| {
                req.query_param(k).map(str::to_owned)
            })?;
            let list = lading_core::billing::list(
                p,
                store,
                &f,
                req.query_param("starting_after"),
                Some("50"),
            )
            .await?;
            let filters = pages::InvoiceQuery {
                status: req.query_param("status").unwrap_or(""),
                overdue: f.overdue,
                company_id: req.query_param("company_id").unwrap_or(""),
            };
            html(
                200,
                pages::invoices(&v.page(req, "Invoices", "invoices"), &list, &filters),
            )
        }
        Ui::InvoicesCsv => {
            let f = lading_core::billing::InvoiceFilters::from_query(|k| {
                req.query_param(k).map(str::to_owned)
            })?;
            let now = p.now_ms();
            let day = lading_core::time_fmt::rfc3339(now);
            secured(Response::export(
                lading_core::admin::orders::CsvExport::invoices(store, f, now),
                &format!("invoices-{}.csv", &day[..10]),
            ))
        }
        Ui::InvoicePdf => {
            let file = lading_core::billing::document::document(p, store, id).await?;
            secured(Response::file(file, None))
        }
        Ui::CreditNotePdf => {
            let file = lading_core::billing::credit_notes::document(p, store, id).await?;
            secured(Response::file(file, None))
        }
        Ui::Invoice => {
            let d = lading_core::billing::detail(p, store, id).await?;
            let credit: Vec<lading_core::billing::payments::PaymentView> =
                match &d.invoice.company_id {
                    Some(c) => lading_core::billing::payments::list(p, store, Some(c))
                        .await?
                        .into_iter()
                        .filter(|x| x.unallocated_amount > 0 && x.currency == d.invoice.currency)
                        .collect(),
                    None => vec![],
                };
            let title = d
                .invoice
                .number
                .clone()
                .unwrap_or_else(|| "Draft invoice".to_owned());
            html(
                200,
                pages::invoice(&v.page(req, &title, "invoices"), &d, &credit, &v.op),
            )
        }
        _ => return Err(Problem::route_not_found()),
    })
}

/// What a form does: the operation and its input, where to go afterwards and what to say.
struct FormAction {
    op: Op,
    input: Value,
    then: String,
    done: String,
}

async fn act<P: Platform>(
    p: &Audited<'_, P>,
    req: &Request,
    ui: Ui,
    id: &str,
    v: &Visit,
) -> Result<Response, Problem> {
    let form = Form(&v.form);
    let back = back_of(ui, id, &form);
    if matches!(ui, Ui::RecordInvoicePayment | Ui::ApplyCredit) {
        return pay_invoice(p, req, ui, id, &form, v).await;
    }
    let action = match form_action(p, ui, id, &form, &v.op.store_id).await {
        Ok(a) => a,
        Err(pr) => return Ok(redirect(&with_flash(&back, "error", &problem_text(&pr)))),
    };
    let call = Call {
        op: action.op,
        id,
        input: action.input,
    };
    let key = idempotency_key(form.field("_idem"), &call);
    let answer = perform_as(p, &v.op.caller(), call, key.as_deref(), &req.request_id).await;
    Ok(match answer {
        Ok(r) => {
            let body: Value = serde_json::from_slice(&r.body).unwrap_or_default();
            let (then, done) = after(ui, &action.then, &action.done, &body);
            redirect(&with_flash(&then, "notice", &done))
        }
        Err(pr)
            if matches!(ui, Ui::SendCheckout | Ui::InvoiceOrder) && !pr.conflicts.is_empty() =>
        {
            redirect(&with_flash(
                &back,
                "error",
                &refused_lines(p, &v.op.store_id, id, &pr).await,
            ))
        }
        Err(pr) => redirect(&with_flash(&back, "error", &problem_text(&pr))),
    })
}

/// Money for an invoice from its page: a payment typed in (recorded for the company, then
/// applied up to the invoice's balance; the rest stays as the company's credit), or the
/// company's credit from an earlier payment applied.
async fn pay_invoice<P: Platform>(
    p: &Audited<'_, P>,
    req: &Request,
    ui: Ui,
    id: &str,
    form: &Form<'_>,
    v: &Visit,
) -> Result<Response, Problem> {
    let here = format!("/admin/invoices/{id}");
    let fail = |pr: &Problem| Ok(redirect(&with_flash(&here, "error", &problem_text(pr))));
    let invoice = lading_core::billing::invoice(p, &v.op.store_id, id).await?;
    let amount = match minor_units("amount", form.field("amount"), &invoice.currency) {
        Ok(a) => a,
        Err(pr) => return fail(&pr),
    };
    let payment = if ui == Ui::ApplyCredit {
        form.field("payment_id").to_owned()
    } else {
        let record = Call {
            op: Op::RecordPayment,
            id: "",
            input: json!({
                "company_id": invoice.company_id, "method": form.field("method"), "amount": amount,
                "currency": invoice.currency, "reference": optional(form, "reference"),
                "received_at": optional(form, "received_at"),
            }),
        };
        let key = idempotency_key(form.field("_idem"), &record);
        match perform_as(p, &v.op.caller(), record, key.as_deref(), &req.request_id).await {
            Ok(r) => serde_json::from_slice::<Value>(&r.body).unwrap_or_default()["id"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
            Err(pr) => return fail(&pr),
        }
    };
    let apply = Call {
        op: Op::AllocatePayment,
        id: &payment,
        input: json!({ "invoice_id": id, "amount": amount.min(invoice.balance).max(1) }),
    };
    let key = idempotency_key(form.field("_idem"), &apply);
    Ok(
        match perform_as(p, &v.op.caller(), apply, key.as_deref(), &req.request_id).await {
            Ok(_) if amount > invoice.balance => redirect(&with_flash(
                &here,
                "notice",
                "Applied up to the balance; the rest is the company's credit.",
            )),
            Ok(_) => redirect(&with_flash(&here, "notice", "Payment applied.")),
            Err(pr) if ui == Ui::RecordInvoicePayment => redirect(&with_flash(
                &here,
                "error",
                &format!(
                    "Recorded as the company's credit, not applied: {}",
                    problem_text(&pr)
                ),
            )),
            Err(pr) => return fail(&pr),
        },
    )
}

/// Where an answered form leads: a new company, book or draft opens on its own page; a
/// sent checkout shows the order it became.
fn after(ui: Ui, then: &str, done: &str, body: &Value) -> (String, String) {
    let new_id = body["id"].as_str().unwrap_or("");
    match ui {
        Ui::CreateCompany => (format!("/admin/companies/{new_id}"), done.into()),
        Ui::CreatePriceBook => (format!("/admin/price-books/{new_id}"), done.into()),
        Ui::CreateAgreement => (format!("/admin/agreements/{new_id}"), done.into()),
        Ui::CreateDraft => (format!("/admin/draft-orders/{new_id}"), done.into()),
        Ui::CreateInvoice => (
            format!(
                "/admin/invoices/{}",
                body["invoice"]["id"].as_str().unwrap_or("")
            ),
            done.into(),
        ),
        Ui::IssueInvoice => (
            then.into(),
            format!(
                "Issued as {}.",
                body["invoice"]["number"].as_str().unwrap_or("")
            ),
        ),
        Ui::InvoiceOrder => (
            format!(
                "/admin/invoices/{}",
                body["invoice"]["id"].as_str().unwrap_or("")
            ),
            format!(
                "Order {} is invoiced as {} and on its way to fulfilment; the invoice went to {}.",
                body["order_number"].as_str().unwrap_or(""),
                body["invoice"]["number"].as_str().unwrap_or(""),
                body["billing_contact_email"]
                    .as_str()
                    .unwrap_or("the billing contact"),
            ),
        ),
        Ui::CreditNote => (
            then.into(),
            format!(
                "Credit note {} made.",
                body["number"].as_str().unwrap_or("")
            ),
        ),
        Ui::SendCheckout => (
            format!("/admin/orders/{}", body["order_id"].as_str().unwrap_or("")),
            format!(
                "Order {} is pending payment; the checkout link went to {}: {}",
                body["order_number"].as_str().unwrap_or(""),
                body["billing_contact_email"]
                    .as_str()
                    .unwrap_or("the billing contact"),
                body["checkout_url"].as_str().unwrap_or("")
            ),
        ),
        _ => (then.into(), done.into()),
    }
}

/// The refusal of a strict checkout, naming each refused line by what it sells.
async fn refused_lines<P: Platform>(p: &P, store: &str, id: &str, pr: &Problem) -> String {
    let names: Vec<(String, String)> =
        match lading_core::sql::stores::store_by_id(p.db(), store).await {
            Ok(Some(s)) => lading_core::orders::drafts::get(p, &s, id)
                .await
                .map(|d| {
                    d.lines
                        .into_iter()
                        .map(|l| (l.id, l.priced.title))
                        .collect()
                })
                .unwrap_or_default(),
            _ => vec![],
        };
    let mut text = pr.detail.clone().unwrap_or_else(|| pr.title.clone());
    for c in &pr.conflicts {
        let name = names
            .iter()
            .find(|(line, _)| *line == c.id)
            .map_or(c.id.as_str(), |(_, title)| title.as_str());
        text.push_str(&format!(" {name}: {}.", c.reason));
    }
    text
}

/// The page a form returns to when it is refused.
fn back_of(ui: Ui, id: &str, form: &Form<'_>) -> String {
    match ui {
        Ui::CreateCompany => "/admin/companies".into(),
        Ui::CreatePriceBook => "/admin/price-books".into(),
        Ui::CreateContact | Ui::CreateAddress | Ui::CreateAgreement | Ui::CreateDraft => {
            format!("/admin/companies/{id}")
        }
        Ui::AddBookEntry => format!("/admin/price-books/{id}"),
        Ui::AddAgreementEntry | Ui::AgreementStatus => format!("/admin/agreements/{id}"),
        Ui::AddDraftLine | Ui::RemoveDraftLine | Ui::SendCheckout | Ui::InvoiceOrder => {
            format!("/admin/draft-orders/{id}")
        }
        Ui::CreateInvoice => local(form.field("back"), "/admin/invoices"),
        Ui::AddInvoiceLine
        | Ui::IssueInvoice
        | Ui::VoidInvoice
        | Ui::DeleteInvoice
        | Ui::CreditNote => {
            format!("/admin/invoices/{id}")
        }
        _ => local(form.field("back"), "/admin/price-books"),
    }
}

/// A form field, or nothing when left empty.
fn optional(form: &Form<'_>, k: &str) -> Value {
    match form.field(k) {
        "" => Value::Null,
        v => json!(v),
    }
}

/// Every value of a repeated field (checkboxes).
fn all<'f>(form: &'f Form<'_>, k: &str) -> Vec<&'f str> {
    form.0
        .iter()
        .filter(|(n, _)| n == k)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
        .collect()
}

fn quantity(form: &Form<'_>, k: &str) -> Result<i64, Problem> {
    form.field(k)
        .parse::<i64>()
        .map_err(|_| Problem::from(AppError::validation(k, "must be a whole number")))
}

async fn form_action<P: Platform>(
    p: &Audited<'_, P>,
    ui: Ui,
    id: &str,
    form: &Form<'_>,
    store: &str,
) -> Result<FormAction, Problem> {
    let field = |k: &str| form.field(k);
    let action = |op, input, then: String, done: &str| FormAction {
        op,
        input,
        then,
        done: done.to_owned(),
    };
    let company_page = format!("/admin/companies/{id}");
    Ok(match ui {
        Ui::CreateCompany => action(
            Op::CreateCompany,
            json!({ "name": field("name"), "external_ref": optional(form, "external_ref"),
                    "currency": optional(form, "currency"), "payment_terms": optional(form, "payment_terms"),
                    "tax_id": optional(form, "tax_id") }),
            String::new(),
            "Company created.",
        ),
        Ui::CreateContact => {
            let roles = all(form, "roles");
            let mut body = json!({
                "first_name": field("first_name"), "last_name": field("last_name"), "email": field("email"),
                "phone": optional(form, "phone"), "roles": roles,
                "primary_roles": if field("primary") == "true" { roles.clone() } else { vec![] },
                "customer_subject": optional(form, "customer_subject"),
            });
            if !field("spending_limit").is_empty() {
                let currency = lading_core::companies::company(p, store, id)
                    .await?
                    .currency;
                body["spending_limit"] = json!({
                    "amount": minor_units("spending_limit", field("spending_limit"), &currency)?,
                    "period": field("spending_period"),
                });
            }
            action(Op::CreateContact, body, company_page, "Contact added.")
        }
        Ui::CreateAddress => action(
            Op::CreateAddress,
            json!({
                "label": optional(form, "label"), "name": field("name"), "line1": field("line1"),
                "line2": optional(form, "line2"), "city": field("city"), "region": optional(form, "region"),
                "postal_code": optional(form, "postal_code"), "country": field("country"),
                "phone": optional(form, "phone"), "default_for": all(form, "default_for"),
            }),
            company_page,
            "Address saved to the book.",
        ),
        Ui::CreateAgreement => action(
            Op::CreatePriceAgreement,
            json!({ "company_id": id, "name": field("name"), "status": optional(form, "status"),
                    "valid_from": optional(form, "valid_from"), "valid_to": optional(form, "valid_to") }),
            String::new(),
            "Agreement created: add its prices.",
        ),
        Ui::CreateDraft => action(
            Op::CreateOrder,
            json!({
                "company_id": id,
                "billing_contact_id": optional(form, "billing_contact_id"),
                "billing_address_id": optional(form, "billing_address_id"),
                "notes": optional(form, "notes"),
                "lines": [{ "variant_id": field("variant_id"), "quantity": quantity(form, "quantity")? }],
            }),
            String::new(),
            "Draft created.",
        ),
        Ui::CreatePriceBook => {
            let countries: Vec<String> = field("countries")
                .split([',', ' '])
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect();
            action(
                Op::CreatePriceBook,
                json!({ "name": field("name"), "scope": field("scope"), "countries": countries,
                        "currency": optional(form, "currency"), "active": field("active") == "true",
                        "valid_from": optional(form, "valid_from"), "valid_to": optional(form, "valid_to") }),
                String::new(),
                "Price book created: add its prices.",
            )
        }
        Ui::AddBookEntry | Ui::AddAgreementEntry => {
            let (op, currency, then) = if ui == Ui::AddBookEntry {
                let b = lading_core::pricing::books::detail(p, store, id)
                    .await?
                    .book;
                (
                    Op::AddPriceBookEntry,
                    b.currency,
                    format!("/admin/price-books/{id}"),
                )
            } else {
                let a = lading_core::pricing::agreements::detail(p, store, id)
                    .await?
                    .agreement;
                (
                    Op::AddPriceAgreementEntry,
                    a.currency,
                    format!("/admin/agreements/{id}"),
                )
            };
            let mut body = json!({ "variant_id": field("variant_id"),
                                   "unit_amount": minor_units("unit_amount", field("unit_amount"), &currency)? });
            if !field("min_quantity").is_empty() {
                body["min_quantity"] = json!(quantity(form, "min_quantity")?);
            }
            action(op, body, then, "Price added; it is being synced to Stripe.")
        }
        Ui::AgreementStatus => action(
            Op::UpdatePriceAgreement,
            json!({ "status": field("status") }),
            format!("/admin/agreements/{id}"),
            "Agreement updated.",
        ),
        Ui::SyncEntry => action(
            Op::SyncPriceEntry,
            json!({}),
            local(field("back"), "/admin/price-books"),
            "Sync queued again.",
        ),
        Ui::AddDraftLine | Ui::RemoveDraftLine => {
            let store_row = lading_core::sql::stores::store_by_id(p.db(), store)
                .await?
                .ok_or(AppError::NotFound("store"))?;
            let d = lading_core::orders::drafts::get(p, &store_row, id).await?;
            let remove = (ui == Ui::RemoveDraftLine).then(|| field("line_id"));
            let mut lines: Vec<Value> = d
                .lines
                .iter()
                .filter(|l| Some(l.id.as_str()) != remove)
                .map(|l| {
                    let bespoke = l.priced.resolution.as_ref().filter(|r| {
                        r.source == lading_core::domain::PriceSource::Bespoke
                    });
                    match bespoke {
                        Some(r) => json!({ "variant_id": l.priced.variant_id, "quantity": l.priced.quantity,
                                           "unit_amount": r.unit_amount, "bespoke_note": r.bespoke_note }),
                        None => json!({ "variant_id": l.priced.variant_id, "quantity": l.priced.quantity }),
                    }
                })
                .collect();
            if remove.is_none() {
                let mut line = json!({ "variant_id": field("variant_id"), "quantity": quantity(form, "quantity")? });
                if !field("unit_amount").is_empty() {
                    line["unit_amount"] = json!(minor_units(
                        "unit_amount",
                        field("unit_amount"),
                        &d.currency
                    )?);
                    line["bespoke_note"] = json!(field("bespoke_note"));
                }
                lines.push(line);
            }
            let done = if remove.is_some() {
                "Line removed."
            } else {
                "Line added."
            };
            action(
                Op::UpdateDraftOrder,
                json!({ "lines": lines }),
                format!("/admin/draft-orders/{id}"),
                done,
            )
        }
        Ui::SendCheckout => action(Op::SendCheckout, json!({}), String::new(), "Checkout sent."),
        Ui::InvoiceOrder => action(Op::InvoiceOrder, json!({}), String::new(), "Invoiced."),
        Ui::CreditNote => {
            let currency = lading_core::billing::invoice(p, store, id).await?.currency;
            action(
                Op::CreateCreditNote,
                json!({ "amount": minor_units("amount", field("amount"), &currency)?, "reason": field("reason") }),
                format!("/admin/invoices/{id}"),
                "Credit note made.",
            )
        }
        Ui::CreateInvoice => {
            let company = lading_core::companies::company(p, store, field("company_id")).await?;
            action(
                Op::CreateInvoice,
                json!({ "company_id": company.id, "notes": optional(form, "notes"), "lines": [{
                    "description": field("description"),
                    "quantity": quantity(form, "quantity")?,
                    "unit_amount": minor_units("unit_amount", field("unit_amount"), &company.currency)?,
                }] }),
                String::new(),
                "Draft invoice created: add lines or issue it.",
            )
        }
        Ui::AddInvoiceLine => {
            let currency = lading_core::billing::invoice(p, store, id).await?.currency;
            let amount = minor_units("amount", field("amount"), &currency)?;
            // People type a positive amount and say which way it goes.
            let (kind, amount) = match field("kind") {
                "credit" => ("adjustment", -amount),
                "discount" => ("discount", amount),
                _ => ("adjustment", amount),
            };
            action(
                Op::AddInvoiceLine,
                json!({ "kind": kind, "description": field("description"), "amount": amount }),
                format!("/admin/invoices/{id}"),
                "Line added.",
            )
        }
        Ui::IssueInvoice => action(
            Op::IssueInvoice,
            json!({}),
            format!("/admin/invoices/{id}"),
            "Issued.",
        ),
        Ui::VoidInvoice => action(
            Op::VoidInvoice,
            json!({ "reason": field("reason") }),
            format!("/admin/invoices/{id}"),
            "Voided: the number is kept.",
        ),
        Ui::DeleteInvoice => action(
            Op::DeleteInvoice,
            json!({}),
            "/admin/invoices".into(),
            "Draft deleted.",
        ),
        Ui::Unallocate => action(
            Op::DeleteAllocation,
            json!({}),
            local(field("back"), "/admin/invoices"),
            "Allocation undone: the money is the company's credit again.",
        ),
        _ => return Err(Problem::route_not_found()),
    })
}
