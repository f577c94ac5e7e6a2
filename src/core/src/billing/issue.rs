//! An invoice leaves draft: issued with the next number of the store's sequence, voided
//! with a reason, or (a draft only) deleted.
//!
//! Numbers are gapless and never shared because the counter and the invoice change in one
//! batch under one guard: the counter moves only when the invoice is a draft that can be
//! issued, and the invoice takes the number the counter just passed. D1 runs a batch as
//! one transaction, one at a time, so two issues never read the same counter; and
//! `UNIQUE(store_id, number)` would refuse a duplicate whatever happened.

use super::{InvoiceDetail, detail, invoice, not_draft};
use crate::AppError;
use crate::db::{Db as _, Stmt};
use crate::domain::InvoiceStatus;
use crate::ports::Platform;
use crate::stmt;
use serde::Deserialize;
use serde_json::json;

/// A domain event of an invoice, written when `guard` holds (once: its id is the
/// invoice's and the kind's).
pub(crate) fn event(
    store_id: &str,
    id: &str,
    kind: &str,
    payload: &serde_json::Value,
    now: i64,
    guard: &Stmt,
) -> Stmt {
    stmt!(
        "INSERT INTO domain_events (id, store_id, aggregate_type, aggregate_id, type, payload, created_at) \
         SELECT ?, ?, 'invoice', ?, ?, ?, ?",
        format!("evt_{id}_{}", kind.trim_start_matches("invoice.")),
        store_id,
        id,
        kind,
        payload.to_string(),
        now
    )
    .when(guard)
    .or_nothing()
}

/// `POST /admin/api/v1/invoices/{invoice_id}/issue`: the next number, the issue date and
/// the due date (from the payment terms), in one batch.
///
/// # Errors
/// 404; 409 `invoice_not_draft`; 422 an invoice without lines.
pub async fn issue<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
) -> Result<InvoiceDetail, AppError> {
    let now = p.now_ms();
    let issuable = stmt!(
        "EXISTS (SELECT 1 FROM invoices WHERE id = ? AND store_id = ? AND status = 'draft' AND total_amount >= 0 \
           AND EXISTS (SELECT 1 FROM invoice_lines WHERE invoice_id = ?))",
        id,
        store_id,
        id
    );
    let mut batch = issue_statements(store_id, id, &issuable, now);
    // Its billing contact gets it by email (with its PDF and pay link).
    let issued = stmt!(
        "EXISTS (SELECT 1 FROM invoices WHERE id = ? AND status = 'issued' AND issued_at = ? AND billing_contact_id IS NOT NULL)",
        id,
        now
    );
    batch.extend(crate::notifications::queue_invoice_statements(
        store_id,
        id,
        crate::notifications::Kind::InvoiceIssued,
        &issued,
        now,
    ));
    let res = p.db().batch(batch).await?;
    if res.get(2).is_some_and(|r| r.changes == 1) {
        // The document is written now; if the bucket fails, the first download writes it.
        let _written_later_if_not = super::document::document(p, store_id, id).await;
        let _swept_if_not = crate::fulfillment::dispatch::dispatch(
            p,
            &[crate::notifications::outbox_id(
                id,
                crate::notifications::Kind::InvoiceIssued,
            )],
        )
        .await;
        return detail(p, store_id, id).await;
    }
    let current = invoice(p, store_id, id).await?;
    Err(if current.status == InvoiceStatus::Draft {
        AppError::validation("lines", "an invoice is issued with at least one line")
    } else {
        not_draft(&current)
    })
}

/// The statements that issue a draft when `issuable` holds: the store's counter moves on
/// and the invoice takes the number it passed, its issue date and due date (from its
/// payment terms), and its `invoice.issued` event. The third statement changes one row
/// exactly when it issued the invoice.
pub(crate) fn issue_statements(store_id: &str, id: &str, issuable: &Stmt, now: i64) -> Vec<Stmt> {
    let issued = stmt!(
        "EXISTS (SELECT 1 FROM invoices WHERE id = ? AND status = 'issued' AND issued_at = ?)",
        id,
        now
    );
    vec![
        stmt!(
            "INSERT INTO invoice_sequences (store_id) VALUES (?) ON CONFLICT DO NOTHING",
            store_id
        ),
        stmt!(
            "UPDATE invoice_sequences SET next_number = next_number + 1 WHERE store_id = ?",
            store_id
        )
        .and_when(issuable),
        stmt!(
            "UPDATE invoices SET status = 'issued', \
               sequence_number = (SELECT next_number - 1 FROM invoice_sequences WHERE store_id = ?), \
               number = (SELECT prefix || printf('%06d', next_number - 1) FROM invoice_sequences WHERE store_id = ?), \
               issued_at = ?, \
               due_at = ? + CASE WHEN payment_terms GLOB 'net_*' THEN CAST(substr(payment_terms, 5) AS INTEGER) * 86400000 ELSE 0 END, \
               updated_at = ? \
             WHERE id = ?",
            store_id,
            store_id,
            now,
            now,
            now,
            id
        )
        .and_when(issuable),
        event(store_id, id, "invoice.issued", &serde_json::json!({}), now, &issued),
    ]
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidInput {
    /// Why it is void (kept with the invoice and its number).
    #[schemars(length(min = 1, max = 500))]
    pub reason: String,
}

/// `POST /admin/api/v1/invoices/{invoice_id}/void`: an issued invoice nothing has paid;
/// it keeps its number.
///
/// # Errors
/// 404; 409 `invoice_not_voidable` (a draft is deleted; a paid one refunded); 422 no reason.
pub async fn void<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
    input: VoidInput,
) -> Result<InvoiceDetail, AppError> {
    let reason = crate::input::line("reason", &input.reason, 1, 500)?;
    let open_session = super::pay::open_session_id(p, id).await?;
    let now = p.now_ms();
    let voided = stmt!(
        "EXISTS (SELECT 1 FROM invoices WHERE id = ? AND status = 'void' AND voided_at = ?)",
        id,
        now
    );
    let res = p
        .db()
        .batch(vec![
            stmt!(
                "UPDATE invoices SET status = 'void', void_reason = ?, voided_at = ?, updated_at = ? \
                 WHERE id = ? AND store_id = ? AND status = 'issued'",
                &reason,
                now,
                now,
                id,
                store_id
            ),
            event(store_id, id, "invoice.voided", &json!({ "reason": reason }), now, &voided),
        ])
        .await?;
    if res.first().is_some_and(|r| r.changes == 1) {
        // Its pay link's session can no longer pay it (if someone still does, the money
        // stays as the company's credit).
        if let Some(session) = open_session {
            super::pay::close(p, id, &session).await;
        }
        // The void notice, beside the issued document (a failed write is retried by the
        // first download).
        let _written_later_if_not = super::document::document(p, store_id, id).await;
        return detail(p, store_id, id).await;
    }
    let current = invoice(p, store_id, id).await?;
    Err(AppError::conflict(
        "invoice_not_voidable",
        match current.status {
            InvoiceStatus::Draft => "A draft has no number to keep: delete it instead.".to_owned(),
            InvoiceStatus::Void => format!(
                "Invoice {} is already void.",
                current.number.as_deref().unwrap_or(id)
            ),
            _ => format!(
                "Invoice {} has payments against it: refund or unallocate them first, or issue a credit note.",
                current.number.as_deref().unwrap_or(id)
            ),
        },
    ))
}

/// `DELETE /admin/api/v1/invoices/{invoice_id}`: drafts only (an issued number is kept for
/// good; the database refuses it too).
///
/// # Errors
/// 404; 409 `invoice_not_draft`.
pub async fn delete<P: Platform>(p: &P, store_id: &str, id: &str) -> Result<(), AppError> {
    let current = invoice(p, store_id, id).await?;
    let res = p
        .db()
        .batch(vec![stmt!(
            "DELETE FROM invoices WHERE id = ? AND store_id = ? AND status = 'draft'",
            id,
            store_id
        )])
        .await?;
    if res.first().is_some_and(|r| r.changes == 1) {
        Ok(())
    } else {
        Err(not_draft(
            &invoice(p, store_id, id).await.unwrap_or(current),
        ))
    }
}
