//! Invoicing a company's draft on net terms (seed 001 §2.3): instead of a checkout link,
//! one batch places the order (within the billing contact's spending limit), issues its
//! invoice with the next number, routes it to fulfilment — the order is fulfilled on
//! issue, not on payment — and queues the invoice's email (its PDF and pay link) to the
//! billing contact. Asking again answers the same order and invoice.

use super::drafts;
use super::place_draft::{self, Placing};
use crate::AppError;
use crate::billing::{self, InvoiceView};
use crate::db::DbExt as _;
use crate::domain::OrderStatus;
use crate::ports::{Platform, PlatformExt as _};
use crate::sql::orders as order_sql;
use crate::sql::stores::StoreRow;
use crate::stmt;
use serde::Serialize;

/// What the operator sees once an order was invoiced.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct InvoicedOrder {
    pub order_id: String,
    pub order_number: String,
    pub status: OrderStatus,
    pub currency: String,
    pub total_amount: i64,
    /// Who gets the invoice by email.
    pub billing_contact_email: Option<String>,
    pub invoice: InvoiceView,
}

/// `POST /admin/api/v1/orders/{order_id}/invoice`.
///
/// # Errors
/// 404; 409 `company_prepaid` (send it to checkout), `order_sent_to_checkout`,
/// `invoice_refused` naming the unpriced lines, `spending_limit_exceeded`,
/// `no_shipping_address`, `draft_changed`.
pub async fn invoice_order<P: Platform>(
    p: &P,
    store: &StoreRow,
    author: &str,
    id: &str,
) -> Result<InvoicedOrder, AppError> {
    let order = match order_sql::order_by_id(p.db(), id).await? {
        Some(o) if o.store_id == store.id && o.company_id.is_some() => o,
        Some(_) => return Err(AppError::NotFound("draft order")),
        None => {
            let (d, lines) = drafts::draft_row(p, &store.id, id).await?;
            let company = crate::companies::company(p, &store.id, &d.company_id).await?;
            if !company.payment_terms.starts_with("net_") {
                return Err(AppError::conflict(
                    "company_prepaid",
                    format!(
                        "{} pays up front (its terms are {}): send the order to checkout, or give the company net terms first.",
                        company.name, company.payment_terms
                    ),
                ));
            }
            let invoice_id = p.new_id("inv");
            let how = Placing::Invoice {
                invoice_id: &invoice_id,
                author,
            };
            match place_draft::place(p, store, d, lines, &how).await {
                Ok(placed) => {
                    if !placed.outbox.is_empty() {
                        // The PDF first, so the email can link it; a failed write is retried
                        // by the first download, and unsent messages by the scheduler's sweep.
                        let _written_later_if_not =
                            billing::document::document(p, &store.id, &invoice_id).await;
                        let _swept_if_not =
                            crate::fulfillment::dispatch::dispatch(p, &placed.outbox).await;
                    }
                    placed.order
                }
                // A concurrent request invoiced it first: answer that.
                Err(e) => match order_sql::order_by_id(p.db(), id).await? {
                    Some(o) if o.store_id == store.id => o,
                    _ => return Err(e),
                },
            }
        }
    };
    let invoice_id: Option<String> = p
        .db()
        .first::<IdRow>(stmt!(
            "SELECT id FROM invoices WHERE order_id = ?",
            &order.id
        ))
        .await?
        .map(|r| r.id);
    let Some(invoice_id) = invoice_id else {
        return Err(AppError::conflict(
            "order_sent_to_checkout",
            format!(
                "Order {} was sent to checkout; it is paid there, not invoiced.",
                order.order_number
            ),
        ));
    };
    Ok(InvoicedOrder {
        invoice: billing::invoice(p, &store.id, &invoice_id).await?,
        order_id: order.id,
        order_number: order.order_number,
        status: order.status,
        currency: order.currency.to_lowercase(),
        total_amount: order.total_amount,
        billing_contact_email: order.email,
    })
}

#[derive(serde::Deserialize)]
struct IdRow {
    id: String,
}
