//! The admin API's sales operations under `/admin/api/v1` (seed 001): companies, their
//! contacts and address books, price books and agreements with their Stripe prices,
//! quotes, companies' draft orders sent to checkout, and invoices.
//!
//! They run in a Worker of their own (`sales`): the admin Worker forwards the requests
//! this table matches ([`serves`]) through a service binding, so each Worker stays within
//! its size budget and operators still see one admin API (one OpenAPI document, one key,
//! the same roles, audit log and idempotency: [`crate::admin::authorized`]).

mod billing;

use crate::admin::{Cx, Operations, Reply, author, before_auth};
use crate::http::{
    Access, Answer, Json, List, Method, NoBody, NoContent, Problem, Request, Response, Route,
    change, creation, route,
};
use crate::{Health, finish, healthz};
use billing::{
    add_invoice_line, allocate_payment, company_balance, create_credit_note, create_invoice,
    credit_note_document, delete_allocation, delete_invoice, export_invoices, get_invoice,
    get_payment, invoice_document, issue_invoice, list_invoices, list_payments, record_payment,
    void_invoice,
};
use lading_core::admin::audit::Audited;
use lading_core::auth::AdminCaller;
use lading_core::billing::{
    AdjustmentInput, InvoiceDetail, InvoiceInput, InvoicePage,
    credit_notes::{CreditNoteInput, CreditNoteView},
    issue::VoidInput,
    payments::{AllocationInput, CompanyBalance, PaymentInput, PaymentView},
};
use lading_core::companies::{
    self, CompanyDetail, CompanyInput, CompanyPage, CompanyUpdate, CompanyView,
    addresses::{AddressInput, AddressUpdate, AddressView},
    contacts::{ContactInput, ContactUpdate, ContactView, RolesInput},
};
use lading_core::domain::Role;
use lading_core::orders::drafts::{
    self, DraftInput, DraftSummary, DraftUpdate, DraftView, PriceRights,
};
use lading_core::orders::invoice_order::{self, InvoicedOrder};
use lading_core::orders::send_checkout::{self, SentCheckout};
use lading_core::ports::Platform;
use lading_core::pricing::{
    self, ItemResolution,
    agreements::{AgreementDetail, AgreementInput, AgreementUpdate, AgreementView},
    books::{BookDetail, BookInput, BookUpdate, BookView},
    entries::{EntryInput, EntryUpdate, EntryView},
    quote::{Quote, QuoteInput},
};

crate::route_table! {
    /// Every sales operation, one per route.
    pub enum Op;
    pub const ROUTES;
    async fn run(Cx);
    Healthz = Get "/healthz" => before_auth(NoBody) -> Answer<Health> {
        summary: "Liveness and D1 check",
    },
    ListCompanies = Get "/admin/api/v1/companies" => list_companies(NoBody) -> Answer<CompanyPage> {
        access: Access::Admin(Role::Support),
        summary: "Companies by name (q = the name's beginning or the exact external_ref; limit, starting_after)",
    },
    CreateCompany = Post "/admin/api/v1/companies" => create_company(Json<CompanyInput>) -> Answer<CompanyView> {
        access: Access::Admin(Role::Admin),
        audit: creation("company.create", true),
        summary: "Create a company: name, external reference, currency (fixed once created), payment terms (prepaid or net_N)",
        statuses: &[201],
    },
    GetCompany = Get "/admin/api/v1/companies/{company_id}" => get_company(NoBody) -> Answer<CompanyDetail> {
        access: Access::Admin(Role::Support),
        summary: "One company with its contacts (and their roles) and address book",
    },
    UpdateCompany = Patch "/admin/api/v1/companies/{company_id}" => update_company(Json<CompanyUpdate>) -> Answer<CompanyView> {
        access: Access::Admin(Role::Admin),
        audit: change("company.update", "company", "company_id"),
        summary: "Rename, change the external reference or payment terms, set default shipping and billing addresses (from the company's book)",
    },
    ListContacts = Get "/admin/api/v1/companies/{company_id}/contacts" => list_contacts(NoBody) -> Answer<List<ContactView>> {
        access: Access::Admin(Role::Support),
        summary: "The company's contacts with their roles, active and archived",
    },
    CreateContact = Post "/admin/api/v1/companies/{company_id}/contacts" => create_contact(Json<ContactInput>) -> Answer<ContactView> {
        access: Access::Admin(Role::Support),
        audit: creation("contact.create", true),
        summary: "Add a contact (email unique within the company) with roles, primary roles, a spending limit and a storefront identity",
        statuses: &[201],
    },
    UpdateContact = Patch "/admin/api/v1/contacts/{contact_id}" => update_contact(Json<ContactUpdate>) -> Answer<ContactView> {
        access: Access::Admin(Role::Support),
        audit: change("contact.update", "contact", "contact_id"),
        summary: "Edit a contact (null clears phone, notes, storefront identity, spending limit)",
    },
    ArchiveContact = Post "/admin/api/v1/contacts/{contact_id}/archive" => archive_contact(NoBody) -> Answer<ContactView> {
        access: Access::Admin(Role::Support),
        audit: change("contact.archive", "contact", "contact_id"),
        summary: "Archive a contact: inactive, no longer a primary contact; history kept",
    },
    SetContactRoles = Post "/admin/api/v1/contacts/{contact_id}/roles" => set_contact_roles(Json<RolesInput>) -> Answer<ContactView> {
        access: Access::Admin(Role::Support),
        audit: change("contact.roles", "contact", "contact_id"),
        summary: "Set the contact's roles (billing, shipping, operations, technical, executive) and the roles they are primary for",
    },
    ListAddresses = Get "/admin/api/v1/companies/{company_id}/addresses" => list_addresses(NoBody) -> Answer<List<AddressView>> {
        access: Access::Admin(Role::Support),
        summary: "The company's address book, with which addresses are its defaults",
    },
    CreateAddress = Post "/admin/api/v1/companies/{company_id}/addresses" => create_address(Json<AddressInput>) -> Answer<AddressView> {
        access: Access::Admin(Role::Support),
        audit: creation("address.create", true),
        summary: "Save an address to the book (409 with the existing address's id when the book has the same place)",
        statuses: &[201],
    },
    UpdateAddress = Patch "/admin/api/v1/addresses/{address_id}" => update_address(Json<AddressUpdate>) -> Answer<AddressView> {
        access: Access::Admin(Role::Support),
        audit: change("address.update", "address", "address_id"),
        summary: "Edit an address or make it a default (409 when it becomes the same place as another)",
    },
    DeleteAddress = Delete "/admin/api/v1/addresses/{address_id}" => delete_address(NoBody) -> NoContent {
        access: Access::Admin(Role::Support),
        audit: change("address.delete", "address", "address_id"),
        summary: "Take an address out of the book (kept for what names it; no longer a default)",
        statuses: &[204],
    },
    ListPriceBooks = Get "/admin/api/v1/price-books" => list_price_books(NoBody) -> Answer<List<BookView>> {
        access: Access::Admin(Role::Support),
        summary: "Price books (global and regional) with entry counts and how many are not yet synced to Stripe",
    },
    CreatePriceBook = Post "/admin/api/v1/price-books" => create_price_book(Json<BookInput>) -> Answer<BookView> {
        access: Access::Admin(Role::Admin),
        audit: creation("price_book.create", true),
        summary: "Create a price book: global or regional (countries), currency, validity window, active or not (409 pricing_ambiguous when an active book would overlap another for the same place and currency)",
        statuses: &[201],
    },
    GetPriceBook = Get "/admin/api/v1/price-books/{price_book_id}" => get_price_book(NoBody) -> Answer<BookDetail> {
        access: Access::Admin(Role::Support),
        summary: "One price book with its entries and each entry's Stripe sync state",
    },
    UpdatePriceBook = Patch "/admin/api/v1/price-books/{price_book_id}" => update_price_book(Json<BookUpdate>) -> Answer<BookView> {
        access: Access::Admin(Role::Admin),
        audit: change("price_book.update", "price_book", "price_book_id"),
        summary: "Rename, change countries or validity, switch on or off (409 pricing_ambiguous naming the book it would collide with)",
    },
    AddPriceBookEntry = Post "/admin/api/v1/price-books/{price_book_id}/entries" => add_price_book_entry(Json<EntryInput>) -> Answer<EntryView> {
        access: Access::Admin(Role::Admin),
        audit: change("price_book.entry_add", "price_book", "price_book_id"),
        summary: "Price a variant from a minimum quantity (a tier); mirrored to a Stripe Price through the queue (409 price_tier_exists for a minimum the variant has)",
        statuses: &[201],
    },
    ListPriceAgreements = Get "/admin/api/v1/price-agreements" => list_price_agreements(NoBody) -> Answer<List<AgreementView>> {
        access: Access::Admin(Role::Support),
        summary: "Price agreements, newest first (company_id filter)",
    },
    CreatePriceAgreement = Post "/admin/api/v1/price-agreements" => create_price_agreement(Json<AgreementInput>) -> Answer<AgreementView> {
        access: Access::Admin(Role::Admin),
        audit: creation("price_agreement.create", true),
        summary: "Create a company's price agreement in its currency, draft or active, with a validity window",
        statuses: &[201],
    },
    GetPriceAgreement = Get "/admin/api/v1/price-agreements/{price_agreement_id}" => get_price_agreement(NoBody) -> Answer<AgreementDetail> {
        access: Access::Admin(Role::Support),
        summary: "One agreement with its entries and their Stripe sync state",
    },
    UpdatePriceAgreement = Patch "/admin/api/v1/price-agreements/{price_agreement_id}" => update_price_agreement(Json<AgreementUpdate>) -> Answer<AgreementView> {
        access: Access::Admin(Role::Admin),
        audit: change("price_agreement.update", "price_agreement", "price_agreement_id"),
        summary: "Rename, change the window, or move draft -> active -> expired (409 pricing_ambiguous when another active agreement overlaps)",
    },
    AddPriceAgreementEntry = Post "/admin/api/v1/price-agreements/{price_agreement_id}/entries" => add_price_agreement_entry(Json<EntryInput>) -> Answer<EntryView> {
        access: Access::Admin(Role::Admin),
        audit: change("price_agreement.entry_add", "price_agreement", "price_agreement_id"),
        summary: "Override a variant's price for the company from a minimum quantity; mirrored to a Stripe Price",
        statuses: &[201],
    },
    UpdatePriceEntry = Patch "/admin/api/v1/price-entries/{price_entry_id}" => update_price_entry(Json<EntryUpdate>) -> Answer<EntryView> {
        access: Access::Admin(Role::Admin),
        audit: change("price_entry.update", "price_entry", "price_entry_id"),
        summary: "Change an entry's amount (pending until a new Stripe Price exists; the old one is archived) or tier minimum",
    },
    DeletePriceEntry = Delete "/admin/api/v1/price-entries/{price_entry_id}" => delete_price_entry(NoBody) -> NoContent {
        access: Access::Admin(Role::Admin),
        audit: change("price_entry.delete", "price_entry", "price_entry_id"),
        summary: "Remove an entry (kept for the orders priced with it; its Stripe Price is archived)",
        statuses: &[204],
    },
    SyncPriceEntry = Post "/admin/api/v1/price-entries/{price_entry_id}/sync" => sync_price_entry(NoBody) -> Answer<EntryView> {
        access: Access::Admin(Role::Admin),
        audit: change("price_entry.sync", "price_entry", "price_entry_id"),
        summary: "Queue the entry's Stripe sync again (after a failure)",
    },
    AdminQuote = Post "/admin/api/v1/pricing/quote" => admin_quote(Json<QuoteInput>) -> Answer<Quote> {
        access: Access::Admin(Role::Support),
        summary: "Price many lines for any company (or none): each line's resolution and label, totals, and whether strict checkout takes every line",
    },
    CreateOrder = Post "/admin/api/v1/orders" => create_draft_order(Json<DraftInput>) -> Answer<DraftView> {
        access: Access::Admin(Role::Support),
        audit: creation("order.draft", true),
        summary: "Draft an order for a company: billing contact and address (or a new address, saved to the book), lines (bespoke prices with a note need the admin role); priced as checkout would price it",
        statuses: &[201],
    },
    ListDraftOrders = Get "/admin/api/v1/draft-orders" => list_draft_orders(NoBody) -> Answer<List<DraftSummary>> {
        access: Access::Admin(Role::Support),
        summary: "Draft orders, newest first (company_id filter)",
    },
    GetDraftOrder = Get "/admin/api/v1/draft-orders/{order_id}" => get_draft_order(NoBody) -> Answer<DraftView> {
        access: Access::Admin(Role::Support),
        summary: "One draft, each line re-priced now with its resolution, label and what strict checkout lacks",
    },
    UpdateDraftOrder = Patch "/admin/api/v1/draft-orders/{order_id}" => update_draft_order(Json<DraftUpdate>) -> Answer<DraftView> {
        access: Access::Admin(Role::Support),
        audit: change("order.draft_update", "order", "order_id"),
        summary: "Edit a draft: billing contact or address, notes, or its lines (replaced whole)",
    },
    DeleteDraftOrder = Delete "/admin/api/v1/draft-orders/{order_id}" => delete_draft_order(NoBody) -> NoContent {
        access: Access::Admin(Role::Support),
        audit: change("order.draft_delete", "order", "order_id"),
        summary: "Delete a draft (a sent order is not a draft)",
        statuses: &[204],
    },
    SendCheckout = Post "/admin/api/v1/orders/{order_id}/send-checkout" => send_checkout(NoBody) -> Answer<SentCheckout> {
        access: Access::Admin(Role::Support),
        audit: change("order.send_checkout", "order", "order_id"),
        summary: "Send a draft to Stripe Checkout in strict mode (409 checkout_refused naming lines without a synced Price; 409 spending_limit_exceeded): the order becomes pending and the billing contact gets the link",
    },
    InvoiceOrder = Post "/admin/api/v1/orders/{order_id}/invoice" => invoice_order(NoBody) -> Answer<InvoicedOrder> {
        access: Access::Admin(Role::Support),
        audit: change("order.invoice", "order", "order_id"),
        summary: "Invoice a company's draft on net terms instead of checkout: the order is placed within the billing contact's spending limit, its invoice issued (the next number, due by the terms), the order routed to fulfilment at once, and the invoice emailed to the billing contact with its pay link; asking again answers the same (409 company_prepaid, invoice_refused, spending_limit_exceeded)",
    },
    ListInvoices = Get "/admin/api/v1/invoices" => list_invoices(NoBody) -> Answer<InvoicePage> {
        access: Access::Admin(Role::Support),
        summary: "Invoices, newest first: filters status, company_id, overdue (true: issued or partially paid and past due), issued_from, issued_to (dates or RFC 3339); limit, starting_after",
    },
    CreateInvoice = Post "/admin/api/v1/invoices" => create_invoice(Json<InvoiceInput>) -> Answer<InvoiceDetail> {
        access: Access::Admin(Role::Support),
        audit: creation("invoice.create", true),
        summary: "Draft an invoice for a company by hand (lines typed in; billed to its primary billing contact unless another is named); no number until issued",
        statuses: &[201],
    },
    ExportInvoices = Get "/admin/api/v1/invoices/export.csv" => export_invoices(NoBody) -> Response {
        access: Access::Admin(Role::Support),
        summary: "The invoices the list's filters select (status, company_id, overdue, issued_from, issued_to) as CSV, newest first, streamed page by page",
        content_type: "text/csv; charset=utf-8",
    },
    GetInvoice = Get "/admin/api/v1/invoices/{invoice_id}" => get_invoice(NoBody) -> Answer<InvoiceDetail> {
        access: Access::Admin(Role::Support),
        summary: "One invoice with its lines, totals, balance and dates",
    },
    GetInvoiceDocument = Get "/admin/api/v1/invoices/{invoice_id}/pdf" => invoice_document(NoBody) -> Response {
        access: Access::Admin(Role::Support),
        summary: "The issued invoice as a PDF, as it was written when issued (409 invoice_not_issued for a draft)",
        content_type: "application/pdf",
    },
    AddInvoiceLine = Post "/admin/api/v1/invoices/{invoice_id}/lines" => add_invoice_line(Json<AdjustmentInput>) -> Answer<InvoiceDetail> {
        access: Access::Admin(Role::Support),
        audit: change("invoice.adjust", "invoice", "invoice_id"),
        summary: "Add an adjustment (either sign) or a discount to a draft; the total may not go below zero",
        statuses: &[201],
    },
    IssueInvoice = Post "/admin/api/v1/invoices/{invoice_id}/issue" => issue_invoice(NoBody) -> Answer<InvoiceDetail> {
        access: Access::Admin(Role::Support),
        audit: change("invoice.issue", "invoice", "invoice_id"),
        summary: "Issue a draft: the next number of the store's gapless sequence (INV-000123), issued now, due by its payment terms (409 invoice_not_draft once issued)",
    },
    VoidInvoice = Post "/admin/api/v1/invoices/{invoice_id}/void" => void_invoice(Json<VoidInput>) -> Answer<InvoiceDetail> {
        access: Access::Admin(Role::Admin),
        audit: change("invoice.void", "invoice", "invoice_id"),
        summary: "Void an issued invoice nothing has paid, with a reason; it keeps its number (409 invoice_not_voidable otherwise)",
    },
    CreateCreditNote = Post "/admin/api/v1/invoices/{invoice_id}/credit-notes" => create_credit_note(Json<CreditNoteInput>) -> Answer<CreditNoteView> {
        access: Access::Admin(Role::Admin),
        audit: change("invoice.credit", "invoice", "invoice_id"),
        summary: "A credit note against an issued invoice: its own number (CN-000001, gapless), a reason, an amount of at most what the invoice owes (409 credit_exceeds_balance, invoice_not_open); the invoice's balance goes down by it for good, and its PDF is written",
        statuses: &[201],
    },
    GetCreditNoteDocument = Get "/admin/api/v1/credit-notes/{credit_note_id}/pdf" => credit_note_document(NoBody) -> Response {
        access: Access::Admin(Role::Support),
        summary: "A credit note as the PDF it was written as",
        content_type: "application/pdf",
    },
    DeleteInvoice = Delete "/admin/api/v1/invoices/{invoice_id}" => delete_invoice(NoBody) -> NoContent {
        access: Access::Admin(Role::Support),
        audit: change("invoice.delete", "invoice", "invoice_id"),
        summary: "Delete a draft invoice (an issued one is voided instead: 409 invoice_not_draft)",
        statuses: &[204],
    },
    ListPayments = Get "/admin/api/v1/payments" => list_payments(NoBody) -> Answer<List<PaymentView>> {
        access: Access::Admin(Role::Support),
        summary: "Payments received, newest 200 (company_id filter): amount, refunded, allocated and what is left to allocate",
    },
    RecordPayment = Post "/admin/api/v1/payments" => record_payment(Json<PaymentInput>) -> Answer<PaymentView> {
        access: Access::Admin(Role::Admin),
        audit: creation("payment.record", true),
        summary: "Record money a company sent by bank transfer, cheque or cash (its reference and when it arrived); allocate it to invoices next",
        statuses: &[201],
    },
    GetPayment = Get "/admin/api/v1/payments/{payment_id}" => get_payment(NoBody) -> Answer<PaymentView> {
        access: Access::Admin(Role::Support),
        summary: "One payment with its allocations",
    },
    AllocatePayment = Post "/admin/api/v1/payments/{payment_id}/allocations" => allocate_payment(Json<AllocationInput>) -> Answer<PaymentView> {
        access: Access::Admin(Role::Admin),
        audit: change("payment.allocate", "payment", "payment_id"),
        summary: "Allocate part of a payment to an open invoice of the same company and currency: never more than the payment holds (409 allocation_exceeds_payment) or the invoice owes (409 allocation_exceeds_balance); the invoice becomes partially paid or paid",
        statuses: &[201],
    },
    DeleteAllocation = Delete "/admin/api/v1/allocations/{allocation_id}" => delete_allocation(NoBody) -> NoContent {
        access: Access::Admin(Role::Admin),
        audit: change("allocation.delete", "allocation", "allocation_id"),
        summary: "Undo an allocation: the money goes back to the payment (the company's credit) and the invoice's balance reopens (409 credit_note_kept: a credit note's allocation stays)",
        statuses: &[204],
    },
    GetCompanyBalance = Get "/admin/api/v1/companies/{company_id}/balance" => company_balance(NoBody) -> Answer<CompanyBalance> {
        access: Access::Admin(Role::Support),
        summary: "What a company owes (open invoices, overdue) and its credit (paid, not allocated)",
    },
    GetItemResolution = Get "/admin/api/v1/pricing/resolutions/{order_item_id}" => get_item_resolution(NoBody) -> Answer<ItemResolution> {
        access: Access::Admin(Role::Support),
        summary: "The resolution an order item was priced with (source, amount, book or agreement, Stripe Price, label)",
    },
}

impl Operations for Op {
    const ROUTES: &'static [Route<Op>] = ROUTES;
    async fn run<P: Platform>(self, cx: &Cx<'_, P>) -> Result<Response, Problem> {
        run(cx, self).await
    }
}

/// Whether this table answers the request (the admin Worker forwards it here; every
/// other request, a 405 on a sales path included, the admin Worker answers itself).
pub fn serves(method: Method, path: &str) -> bool {
    route(ROUTES, method, path).is_ok_and(|(r, _)| r.id != Op::Healthz)
        || crate::ui::sales::serves(method, path)
}

pub async fn handle<P: Platform>(p: &P, req: Request) -> Response {
    let p = &Audited::new(p);
    if crate::ui::is_ui_path(&req.path) {
        let r = crate::ui::sales::handle(p, &req).await;
        return finish(&req, Ok(r));
    }
    let result = match route(ROUTES, req.method, &req.path) {
        Err(e) => Err(e),
        Ok((r, _)) if r.id == Op::Healthz => Ok(healthz(p, "sales").await),
        Ok((r, params)) => crate::admin::authorized(p, &req, r, &params).await,
    };
    finish(&req, result).with_header("cache-control", "no-store")
}

async fn list_companies<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<CompanyPage> {
    let page = companies::list(
        cx.p,
        cx.store_id,
        cx.query("q"),
        cx.query("starting_after"),
        cx.query("limit"),
    )
    .await?;
    Ok(Answer::ok(page))
}

async fn create_company<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<CompanyInput>,
) -> Reply<CompanyView> {
    let store = cx.store().await?;
    Ok(Answer::created(
        companies::create(cx.p, cx.store_id, &store.currency, input).await?,
    ))
}

async fn get_company<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<CompanyDetail> {
    let id = cx.param("company_id");
    Ok(Answer::ok(companies::detail(cx.p, cx.store_id, id).await?))
}

async fn update_company<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<CompanyUpdate>,
) -> Reply<CompanyView> {
    let id = cx.param("company_id");
    Ok(Answer::ok(
        companies::update(cx.p, cx.store_id, id, input).await?,
    ))
}

async fn list_contacts<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<List<ContactView>> {
    let data = companies::contacts::list(cx.p, cx.store_id, cx.param("company_id")).await?;
    Ok(Answer::ok(List { data }))
}

async fn create_contact<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<ContactInput>,
) -> Reply<ContactView> {
    let company_id = cx.param("company_id");
    Ok(Answer::created(
        companies::contacts::create(cx.p, cx.store_id, company_id, input).await?,
    ))
}

async fn update_contact<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<ContactUpdate>,
) -> Reply<ContactView> {
    let id = cx.param("contact_id");
    Ok(Answer::ok(
        companies::contacts::update(cx.p, cx.store_id, id, input).await?,
    ))
}

async fn archive_contact<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<ContactView> {
    let id = cx.param("contact_id");
    Ok(Answer::ok(
        companies::contacts::archive(cx.p, cx.store_id, id).await?,
    ))
}

async fn set_contact_roles<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<RolesInput>,
) -> Reply<ContactView> {
    let id = cx.param("contact_id");
    Ok(Answer::ok(
        companies::contacts::set_roles(cx.p, cx.store_id, id, input).await?,
    ))
}

async fn list_addresses<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<List<AddressView>> {
    let data = companies::addresses::list(cx.p, cx.store_id, cx.param("company_id")).await?;
    Ok(Answer::ok(List { data }))
}

async fn create_address<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<AddressInput>,
) -> Reply<AddressView> {
    let company_id = cx.param("company_id");
    Ok(Answer::created(
        companies::addresses::create(cx.p, cx.store_id, company_id, input).await?,
    ))
}

async fn update_address<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<AddressUpdate>,
) -> Reply<AddressView> {
    let id = cx.param("address_id");
    Ok(Answer::ok(
        companies::addresses::update(cx.p, cx.store_id, id, input).await?,
    ))
}

async fn delete_address<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Result<NoContent, Problem> {
    companies::addresses::delete(cx.p, cx.store_id, cx.param("address_id")).await?;
    Ok(NoContent)
}

async fn list_price_books<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<List<BookView>> {
    let data = pricing::books::list(cx.p, cx.store_id).await?;
    Ok(Answer::ok(List { data }))
}

async fn create_price_book<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<BookInput>,
) -> Reply<BookView> {
    let store = cx.store().await?;
    Ok(Answer::created(
        pricing::books::create(cx.p, cx.store_id, &store.currency, input).await?,
    ))
}

async fn get_price_book<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<BookDetail> {
    let id = cx.param("price_book_id");
    Ok(Answer::ok(
        pricing::books::detail(cx.p, cx.store_id, id).await?,
    ))
}

async fn update_price_book<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<BookUpdate>,
) -> Reply<BookView> {
    let id = cx.param("price_book_id");
    Ok(Answer::ok(
        pricing::books::update(cx.p, cx.store_id, id, input).await?,
    ))
}

async fn add_price_book_entry<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<EntryInput>,
) -> Reply<EntryView> {
    let id = cx.param("price_book_id");
    Ok(Answer::created(
        pricing::books::add_entry(cx.p, cx.store_id, id, input).await?,
    ))
}

async fn list_price_agreements<P: Platform>(
    cx: &Cx<'_, P>,
    _: NoBody,
) -> Reply<List<AgreementView>> {
    let company = cx.query("company_id").filter(|c| !c.is_empty());
    let data = pricing::agreements::list(cx.p, cx.store_id, company).await?;
    Ok(Answer::ok(List { data }))
}

async fn create_price_agreement<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<AgreementInput>,
) -> Reply<AgreementView> {
    Ok(Answer::created(
        pricing::agreements::create(cx.p, cx.store_id, input).await?,
    ))
}

async fn get_price_agreement<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<AgreementDetail> {
    let id = cx.param("price_agreement_id");
    Ok(Answer::ok(
        pricing::agreements::detail(cx.p, cx.store_id, id).await?,
    ))
}

async fn update_price_agreement<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<AgreementUpdate>,
) -> Reply<AgreementView> {
    let id = cx.param("price_agreement_id");
    Ok(Answer::ok(
        pricing::agreements::update(cx.p, cx.store_id, id, input).await?,
    ))
}

async fn add_price_agreement_entry<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<EntryInput>,
) -> Reply<EntryView> {
    let id = cx.param("price_agreement_id");
    Ok(Answer::created(
        pricing::agreements::add_entry(cx.p, cx.store_id, id, input).await?,
    ))
}

async fn update_price_entry<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<EntryUpdate>,
) -> Reply<EntryView> {
    let id = cx.param("price_entry_id");
    Ok(Answer::ok(
        pricing::entries::update(cx.p, cx.store_id, id, input).await?,
    ))
}

async fn delete_price_entry<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Result<NoContent, Problem> {
    pricing::entries::delete(cx.p, cx.store_id, cx.param("price_entry_id")).await?;
    Ok(NoContent)
}

async fn sync_price_entry<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<EntryView> {
    let id = cx.param("price_entry_id");
    Ok(Answer::ok(
        pricing::sync::resync(cx.p, cx.store_id, id).await?,
    ))
}

async fn admin_quote<P: Platform>(cx: &Cx<'_, P>, Json(input): Json<QuoteInput>) -> Reply<Quote> {
    let store = cx.store().await?;
    let company = input.company_id.clone();
    Ok(Answer::ok(
        pricing::quote::quote(cx.p, &store, company.as_deref(), &input).await?,
    ))
}

/// Whether the caller may price a line by hand (admins and above).
fn price_rights(caller: &AdminCaller) -> PriceRights {
    match caller {
        AdminCaller::Key { role, .. } if !role.allows(Role::Admin) => PriceRights::Resolved,
        _ => PriceRights::Bespoke,
    }
}

async fn create_draft_order<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<DraftInput>,
) -> Reply<DraftView> {
    let store = cx.store().await?;
    let author = author(cx.caller);
    Ok(Answer::created(
        drafts::create(cx.p, &store, &author, price_rights(cx.caller), input).await?,
    ))
}

async fn list_draft_orders<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<List<DraftSummary>> {
    let company = cx.query("company_id").filter(|c| !c.is_empty());
    let data = drafts::list(cx.p, cx.store_id, company).await?;
    Ok(Answer::ok(List { data }))
}

async fn get_draft_order<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<DraftView> {
    let store = cx.store().await?;
    Ok(Answer::ok(
        drafts::get(cx.p, &store, cx.param("order_id")).await?,
    ))
}

async fn update_draft_order<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<DraftUpdate>,
) -> Reply<DraftView> {
    let store = cx.store().await?;
    let id = cx.param("order_id");
    Ok(Answer::ok(
        drafts::update(cx.p, &store, id, price_rights(cx.caller), input).await?,
    ))
}

async fn delete_draft_order<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Result<NoContent, Problem> {
    drafts::delete(cx.p, cx.store_id, cx.param("order_id")).await?;
    Ok(NoContent)
}

async fn send_checkout<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<SentCheckout> {
    let store = cx.store().await?;
    Ok(Answer::ok(
        send_checkout::send_checkout(cx.p, &store, cx.param("order_id")).await?,
    ))
}

async fn invoice_order<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<InvoicedOrder> {
    let store = cx.store().await?;
    Ok(Answer::ok(
        invoice_order::invoice_order(
            cx.p,
            &store,
            &crate::admin::author(cx.caller),
            cx.param("order_id"),
        )
        .await?,
    ))
}

async fn get_item_resolution<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<ItemResolution> {
    let id = cx.param("order_item_id");
    Ok(Answer::ok(
        pricing::resolution_of_item(cx.p, cx.store_id, id).await?,
    ))
}
