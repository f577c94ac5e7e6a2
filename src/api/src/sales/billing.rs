//! The billing operations of the sales table (seed 001 §2.3): invoices (list, read, draft
//! by hand, adjust, issue, void, delete), payments received and their allocations to
//! invoices, and a company's balance.

use crate::admin::{Cx, Reply, author};
use crate::http::List;
use crate::http::{Answer, Json, NoBody, NoContent, Problem, Response};
use lading_core::billing::credit_notes::{self, CreditNoteInput, CreditNoteView};
use lading_core::billing::{
    self, AdjustmentInput, InvoiceDetail, InvoiceFilters, InvoiceInput, InvoicePage,
    issue::VoidInput,
    payments::{self, AllocationInput, CompanyBalance, PaymentInput, PaymentView},
};
use lading_core::ports::Platform;

pub(super) async fn list_invoices<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<InvoicePage> {
    let f = InvoiceFilters::from_query(|k| cx.query(k).map(str::to_owned))?;
    Ok(Answer::ok(
        billing::list(
            cx.p,
            cx.store_id,
            &f,
            cx.query("starting_after"),
            cx.query("limit"),
        )
        .await?,
    ))
}

pub(super) async fn export_invoices<P: Platform>(
    cx: &Cx<'_, P>,
    _: NoBody,
) -> Result<Response, Problem> {
    let f = InvoiceFilters::from_query(|k| cx.query(k).map(str::to_owned))?;
    let now = cx.p.now_ms();
    let day = lading_core::time_fmt::rfc3339(now);
    Ok(Response::export(
        lading_core::admin::orders::CsvExport::invoices(cx.store_id, f, now),
        &format!("invoices-{}.csv", &day[..10]),
    ))
}

pub(super) async fn create_invoice<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<InvoiceInput>,
) -> Reply<InvoiceDetail> {
    Ok(Answer::created(
        billing::create_manual(cx.p, cx.store_id, &author(cx.caller), input).await?,
    ))
}

pub(super) async fn get_invoice<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<InvoiceDetail> {
    Ok(Answer::ok(
        billing::detail(cx.p, cx.store_id, cx.param("invoice_id")).await?,
    ))
}

pub(super) async fn add_invoice_line<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<AdjustmentInput>,
) -> Reply<InvoiceDetail> {
    Ok(Answer::created(
        billing::add_adjustment(cx.p, cx.store_id, cx.param("invoice_id"), input).await?,
    ))
}

pub(super) async fn issue_invoice<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<InvoiceDetail> {
    Ok(Answer::ok(
        billing::issue(cx.p, cx.store_id, cx.param("invoice_id")).await?,
    ))
}

pub(super) async fn void_invoice<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<VoidInput>,
) -> Reply<InvoiceDetail> {
    Ok(Answer::ok(
        billing::void(cx.p, cx.store_id, cx.param("invoice_id"), input).await?,
    ))
}

pub(super) async fn delete_invoice<P: Platform>(
    cx: &Cx<'_, P>,
    _: NoBody,
) -> Result<NoContent, Problem> {
    billing::delete(cx.p, cx.store_id, cx.param("invoice_id")).await?;
    Ok(NoContent)
}

pub(super) async fn list_payments<P: Platform>(
    cx: &Cx<'_, P>,
    _: NoBody,
) -> Reply<List<PaymentView>> {
    let data = payments::list(cx.p, cx.store_id, cx.query("company_id")).await?;
    Ok(Answer::ok(List { data }))
}

pub(super) async fn record_payment<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<PaymentInput>,
) -> Reply<PaymentView> {
    Ok(Answer::created(
        payments::record(cx.p, cx.store_id, &author(cx.caller), input).await?,
    ))
}

pub(super) async fn get_payment<P: Platform>(cx: &Cx<'_, P>, _: NoBody) -> Reply<PaymentView> {
    Ok(Answer::ok(
        payments::payment(cx.p, cx.store_id, cx.param("payment_id")).await?,
    ))
}

pub(super) async fn allocate_payment<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<AllocationInput>,
) -> Reply<PaymentView> {
    Ok(Answer::created(
        payments::allocate(
            cx.p,
            cx.store_id,
            &author(cx.caller),
            cx.param("payment_id"),
            input,
        )
        .await?,
    ))
}

pub(super) async fn delete_allocation<P: Platform>(
    cx: &Cx<'_, P>,
    _: NoBody,
) -> Result<NoContent, Problem> {
    payments::unallocate(cx.p, cx.store_id, cx.param("allocation_id")).await?;
    Ok(NoContent)
}

pub(super) async fn company_balance<P: Platform>(
    cx: &Cx<'_, P>,
    _: NoBody,
) -> Reply<CompanyBalance> {
    Ok(Answer::ok(
        payments::company_balance(cx.p, cx.store_id, cx.param("company_id")).await?,
    ))
}

pub(super) async fn invoice_document<P: Platform>(
    cx: &Cx<'_, P>,
    _: NoBody,
) -> Result<Response, Problem> {
    let file = billing::document::document(cx.p, cx.store_id, cx.param("invoice_id")).await?;
    Ok(Response::file(file, cx.req.get_header("range")))
}

pub(super) async fn create_credit_note<P: Platform>(
    cx: &Cx<'_, P>,
    Json(input): Json<CreditNoteInput>,
) -> Reply<CreditNoteView> {
    Ok(Answer::created(
        credit_notes::create(
            cx.p,
            cx.store_id,
            &author(cx.caller),
            cx.param("invoice_id"),
            input,
        )
        .await?,
    ))
}

pub(super) async fn credit_note_document<P: Platform>(
    cx: &Cx<'_, P>,
    _: NoBody,
) -> Result<Response, Problem> {
    let file = credit_notes::document(cx.p, cx.store_id, cx.param("credit_note_id")).await?;
    Ok(Response::file(file, cx.req.get_header("range")))
}
