//! The invoice operations of the sales table (seed 001 §2.3): list, read, draft by hand,
//! adjust, issue, void, delete.

use crate::admin::{Cx, Reply, author};
use crate::http::{Answer, Json, NoBody, NoContent, Problem};
use lading_core::billing::{
    self, AdjustmentInput, InvoiceDetail, InvoiceFilters, InvoiceInput, InvoicePage,
    issue::VoidInput,
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
