//! A company's invoices for its billing contacts in the storefront: the issued ones (never
//! drafts), each with its lines and the payments that paid it. Another company's invoice
//! answers 404, as if it did not exist.

use super::{InvoiceDetail, InvoiceFilters, InvoicePage, by_number, list, with_lines};
use crate::AppError;
use crate::auth::StorefrontCaller;
use crate::companies::people::{Member, member};
use crate::domain::ContactRole;
use crate::ports::Platform;

/// The billing contact the caller acts as.
async fn billing_member<P: Platform>(p: &P, caller: &StorefrontCaller) -> Result<Member, AppError> {
    if caller.customer.is_none() {
        return Err(AppError::unauthenticated(
            "customer_token_required",
            "Sign in as your company's billing contact to see its invoices.",
        ));
    }
    member(p, caller)
        .await?
        .filter(|m| {
            m.contact
                .roles
                .iter()
                .any(|r| r.role == ContactRole::Billing)
        })
        .ok_or_else(|| {
            AppError::Forbidden("A company's invoices are for its billing contacts.".into())
        })
}

/// `GET /v1/invoices`: the company's issued invoices, newest first.
///
/// # Errors
/// 401 guests; 403 anyone but a billing contact; 422 a bad cursor or limit.
pub async fn list_for<P: Platform>(
    p: &P,
    caller: &StorefrontCaller,
    starting_after: Option<&str>,
    limit: Option<&str>,
) -> Result<InvoicePage, AppError> {
    let m = billing_member(p, caller).await?;
    let f = InvoiceFilters {
        company_id: Some(m.company_id().to_owned()),
        issued_only: true,
        ..InvoiceFilters::default()
    };
    list(p, &caller.store.id, &f, starting_after, limit).await
}

/// `GET /v1/invoices/{number}`.
///
/// # Errors
/// 401; 403; 404 an invoice of another company (or none).
pub async fn get_for<P: Platform>(
    p: &P,
    caller: &StorefrontCaller,
    number: &str,
) -> Result<InvoiceDetail, AppError> {
    let m = billing_member(p, caller).await?;
    let invoice = by_number(p, &caller.store.id, number).await?;
    if invoice.company_id.as_deref() != Some(m.company_id()) {
        return Err(AppError::NotFound("invoice"));
    }
    with_lines(p, invoice).await
}

/// `GET /v1/invoices/{number}/pdf`: its document.
///
/// # Errors
/// 401; 403; 404 an invoice of another company (or none).
pub async fn document_for<P: Platform>(
    p: &P,
    caller: &StorefrontCaller,
    number: &str,
) -> Result<crate::files::ServedFile, AppError> {
    let m = billing_member(p, caller).await?;
    let invoice = by_number(p, &caller.store.id, number).await?;
    if invoice.company_id.as_deref() != Some(m.company_id()) {
        return Err(AppError::NotFound("invoice"));
    }
    super::document::document(p, &caller.store.id, &invoice.id).await
}

/// `POST /v1/invoices/{number}/pay`: the invoice's Checkout Session (see [`super::pay`]).
///
/// # Errors
/// 401; 403; 404 an invoice of another company (or none); see [`super::pay::checkout`].
pub async fn pay_for<P: Platform>(
    p: &P,
    caller: &StorefrontCaller,
    number: &str,
    input: super::pay::PayInput,
) -> Result<super::pay::InvoiceCheckout, AppError> {
    let m = billing_member(p, caller).await?;
    let invoice = by_number(p, &caller.store.id, number).await?;
    if invoice.company_id.as_deref() != Some(m.company_id()) {
        return Err(AppError::NotFound("invoice"));
    }
    super::pay::checkout(p, &caller.store, &invoice, input).await
}

/// `GET /v1/payments`: the company's payment history — what it paid (by transfer, cheque,
/// online) and the credit notes it was given, newest first, each with the invoices it
/// went to. Who recorded it at the seller is the seller's business: it reads `seller`.
///
/// # Errors
/// 401; 403 anyone but a billing contact.
pub async fn payments_for<P: Platform>(
    p: &P,
    caller: &StorefrontCaller,
) -> Result<Vec<super::payments::PaymentView>, AppError> {
    let m = billing_member(p, caller).await?;
    let seller = |by: &mut String| {
        if by != super::order_invoices::STRIPE_AUTHOR {
            "seller".clone_into(by);
        }
    };
    let mut list =
        super::payments::list_with_allocations(p, &caller.store.id, m.company_id()).await?;
    for payment in &mut list {
        seller(&mut payment.created_by);
        for a in &mut payment.allocations {
            seller(&mut a.created_by);
        }
    }
    Ok(list)
}

/// `GET /v1/credit-notes/{number}/pdf`: a credit note of the company, as its document.
///
/// # Errors
/// 401; 403; 404 another company's (or none).
pub async fn credit_note_document_for<P: Platform>(
    p: &P,
    caller: &StorefrontCaller,
    number: &str,
) -> Result<crate::files::ServedFile, AppError> {
    use crate::db::DbExt as _;
    #[derive(serde::Deserialize)]
    struct Found {
        id: String,
    }
    let m = billing_member(p, caller).await?;
    let found: Found = p
        .db()
        .first(crate::stmt!(
            "SELECT id FROM billing_payments WHERE store_id = ? AND number = ? AND company_id = ? AND method = 'credit_note'",
            &caller.store.id,
            number,
            m.company_id()
        ))
        .await?
        .ok_or(AppError::NotFound("credit note"))?;
    super::credit_notes::document(p, &caller.store.id, &found.id).await
}
