//! Credit notes (seed 001 §2.3): support reduces what an issued invoice owes — a damaged
//! part, a price agreed after the fact — with a document of its own, numbered apart from
//! invoices (`CN-000001`, gapless like them: the same counter row, the same guarded batch).
//! A credit note is kept as a billing payment of method `credit_note`, allocated in full to
//! its invoice in the batch that makes it, so the invoice's balance and status follow it
//! like any payment; the database keeps that allocation for good and on that invoice only.

use super::pdf::{self, CreditNote};
use super::{invoice, payments::follow_allocations};
use crate::AppError;
use crate::db::{Db as _, DbExt as _};
use crate::files::ServedFile;
use crate::ports::{Platform, PlatformExt as _};
use crate::stmt;
use crate::time_fmt::rfc3339;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditNoteInput {
    /// Minor units taken off the invoice: at most what it owes.
    #[schemars(range(min = 1, max = 1_000_000_000_000i64))]
    pub amount: i64,
    /// Why (printed on the credit note).
    #[schemars(length(min = 1, max = 500))]
    pub reason: String,
}

#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CreditNoteView {
    pub id: String,
    /// `CN-000001`.
    pub number: String,
    pub invoice_id: String,
    pub invoice_number: Option<String>,
    pub amount: i64,
    pub currency: String,
    pub reason: String,
    pub created_by: String,
    #[serde(skip_deserializing)]
    pub created_at: String,
    #[serde(rename(deserialize = "created_at"), skip_serializing)]
    created_ms: i64,
}

const COLUMNS: &str = "bp.id, bp.number, bp.credited_invoice_id AS invoice_id, i.number AS invoice_number, bp.amount, \
    lower(bp.currency) AS currency, bp.reason, bp.created_by, bp.created_at \
    FROM billing_payments bp JOIN invoices i ON i.id = bp.credited_invoice_id";

fn finish(mut v: CreditNoteView) -> CreditNoteView {
    v.created_at = rfc3339(v.created_ms);
    v
}

/// The credit notes of an invoice, oldest first.
///
/// # Errors
/// Storage failures.
pub async fn of_invoice<P: Platform>(
    p: &P,
    invoice_id: &str,
) -> Result<Vec<CreditNoteView>, AppError> {
    Ok(p
        .db()
        .query::<CreditNoteView>(stmt!(
            format!(
                "SELECT {COLUMNS} WHERE bp.credited_invoice_id = ? AND bp.method = 'credit_note' ORDER BY bp.created_at, bp.id"
            ),
            invoice_id
        ))
        .await?
        .into_iter()
        .map(finish)
        .collect())
}

/// One credit note of the store, or 404.
///
/// # Errors
/// 404.
pub async fn credit_note<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
) -> Result<CreditNoteView, AppError> {
    p.db()
        .first::<CreditNoteView>(stmt!(
            format!(
                "SELECT {COLUMNS} WHERE bp.id = ? AND bp.store_id = ? AND bp.method = 'credit_note'"
            ),
            id,
            store_id
        ))
        .await?
        .map(finish)
        .ok_or(AppError::NotFound("credit note"))
}

/// The statements that make credit note `id` of `amount` against an invoice, when the
/// invoice is open and owes at least that much: the next credit note number, the credit
/// (its third statement changes one row exactly when it was made), its allocation, the
/// invoice's status, its `invoice.credited` event.
pub(crate) fn statements(
    store_id: &str,
    id: &str,
    invoice_id: &str,
    amount: i64,
    reason: &str,
    author: &str,
    now: i64,
) -> Vec<crate::db::Stmt> {
    let fits = stmt!(
        "EXISTS (SELECT 1 FROM invoices i WHERE i.id = ? AND i.store_id = ? AND i.status IN ('issued', 'partially_paid') \
           AND ? <= i.total_amount - (SELECT coalesce(sum(amount), 0) FROM invoice_allocations WHERE invoice_id = i.id))",
        invoice_id,
        store_id,
        amount
    );
    const NUMBER: &str = "q.credit_prefix || printf('%06d', q.credit_next_number - 1)";
    vec![
            stmt!(
                "INSERT INTO invoice_sequences (store_id) VALUES (?) ON CONFLICT DO NOTHING",
                store_id
            ),
            stmt!(
                "UPDATE invoice_sequences SET credit_next_number = credit_next_number + 1 WHERE store_id = ?",
                store_id
            )
            .and_when(&fits),
            stmt!(
                format!(
                    "INSERT INTO billing_payments (id, store_id, company_id, customer_id, method, amount, currency, reference, received_at, \
                       number, credited_invoice_id, reason, created_by, created_at) \
                     SELECT ?, i.store_id, i.company_id, i.customer_id, 'credit_note', ?, i.currency, {NUMBER}, ?, {NUMBER}, i.id, ?, ?, ? \
                     FROM invoices i JOIN invoice_sequences q ON q.store_id = i.store_id WHERE i.id = ?"
                ),
                id,
                amount,
                now,
                reason,
                author,
                now,
                invoice_id
            )
            .and_when(&fits),
            stmt!(
                "INSERT INTO invoice_allocations (id, store_id, payment_id, invoice_id, amount, created_by, created_at) \
                 SELECT ?, store_id, id, credited_invoice_id, amount, created_by, ? FROM billing_payments WHERE id = ?",
                format!("alloc_{id}"),
                now,
                id
            ),
            follow_allocations(invoice_id, now),
            stmt!(
                "INSERT INTO domain_events (id, store_id, aggregate_type, aggregate_id, type, payload, created_at) \
                 SELECT ?, store_id, 'invoice', credited_invoice_id, 'invoice.credited', \
                   json_object('credit_note_id', id, 'number', number, 'amount', amount, 'reason', reason), ? \
                 FROM billing_payments WHERE id = ?",
                format!("evt_{id}"),
                now,
                id
            ),
    ]
}

/// `POST /admin/api/v1/invoices/{invoice_id}/credit-notes`: the next credit note number,
/// the credit and its allocation to the invoice, in one guarded batch; then its PDF.
///
/// # Errors
/// 404; 409 `invoice_not_open` (a draft, paid or void invoice), 409
/// `credit_exceeds_balance`; 422 bad fields.
pub async fn create<P: Platform>(
    p: &P,
    store_id: &str,
    author: &str,
    invoice_id: &str,
    input: CreditNoteInput,
) -> Result<CreditNoteView, AppError> {
    if !(1..=1_000_000_000_000).contains(&input.amount) {
        return Err(AppError::validation(
            "amount",
            "must be a positive amount in minor units",
        ));
    }
    let reason = crate::input::line("reason", &input.reason, 1, 500)?;
    let current = invoice(p, store_id, invoice_id).await?;
    let now = p.now_ms();
    let id = p.new_id("cn");
    let res = p
        .db()
        .batch(statements(
            store_id,
            &id,
            invoice_id,
            input.amount,
            &reason,
            author,
            now,
        ))
        .await?;
    if res.get(2).is_some_and(|r| r.changes == 1) {
        // Written now; if the bucket fails, the first download writes it.
        let _written_later_if_not = document(p, store_id, &id).await;
        return credit_note(p, store_id, &id).await;
    }
    let now_invoice = invoice(p, store_id, invoice_id).await.unwrap_or(current);
    let number = now_invoice.number.as_deref().unwrap_or(invoice_id);
    Err(if now_invoice.status.is_open() {
        AppError::conflict(
            "credit_exceeds_balance",
            format!(
                "Invoice {number} owes {} {}; a credit note cannot take off more.",
                crate::domain::format_amount(now_invoice.balance, &now_invoice.currency),
                now_invoice.currency.to_uppercase()
            ),
        )
    } else {
        AppError::conflict(
            "invoice_not_open",
            format!(
                "Invoice {number} is {}: only an issued invoice with something owed takes a credit note.",
                now_invoice.status.as_str()
            ),
        )
    })
}

/// The credit note's PDF, written once to the files bucket beside its invoice's.
///
/// # Errors
/// 404; 503 when the bucket refuses the write.
pub async fn document<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
) -> Result<ServedFile, AppError> {
    #[derive(Deserialize)]
    struct Kept {
        document_key: Option<String>,
    }
    let cn = credit_note(p, store_id, id).await?;
    let filename = format!("{}.pdf", cn.number);
    let kept: Option<Kept> = p
        .db()
        .first(stmt!(
            "SELECT document_key FROM billing_payments WHERE id = ?",
            id
        ))
        .await?;
    if let Some(key) = kept.and_then(|k| k.document_key) {
        return Ok(ServedFile { key, filename });
    }
    let d = super::detail(p, store_id, &cn.invoice_id).await?;
    // The balance the credit left: what was owed after the allocations made before it.
    let before: i64 = d
        .allocations
        .iter()
        .take_while(|a| a.payment_id != cn.id)
        .map(|a| a.amount)
        .sum();
    let parties = super::document::parties(p, store_id, &d).await?;
    let bytes = pdf::render_credit_note(
        &CreditNote {
            number: &cn.number,
            issued_at: &cn.created_at,
            invoice_number: d.invoice.number.as_deref().unwrap_or(&d.invoice.id),
            reason: &cn.reason,
            amount: cn.amount,
            currency: &cn.currency,
            balance_after: d.invoice.total_amount - before - cn.amount,
        },
        &parties,
    );
    let key = format!("invoices/{store_id}/{}/{filename}", cn.invoice_id);
    super::document::keep(
        p,
        &key,
        &bytes,
        stmt!(
            "UPDATE billing_payments SET document_key = ? WHERE id = ? AND document_key IS NULL",
            &key,
            id
        ),
    )
    .await?;
    Ok(ServedFile { key, filename })
}
