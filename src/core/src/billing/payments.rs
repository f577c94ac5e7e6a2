//! Money received for invoices, and where it went: a payment (entered by an admin, or a
//! Stripe payment) is allocated to invoices in guarded batches — never more than the
//! payment still holds, never more than the invoice still owes, however many allocations
//! race (D1 runs one batch at a time; the triggers of `migrations/0014_billing_payments.sql`
//! refuse the rest). An invoice's status follows its allocations in the same batch; what a
//! company paid and no invoice took is its credit.

use crate::AppError;
use crate::db::{Db as _, DbExt as _, Stmt};
use crate::ports::{Platform, PlatformExt as _};
use crate::stmt;
use crate::time_fmt::{parse_instant_ms, rfc3339};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Serialize, Deserialize, Clone, schemars::JsonSchema)]
pub struct AllocationView {
    pub id: String,
    pub payment_id: String,
    pub invoice_id: String,
    pub invoice_number: Option<String>,
    /// How the money came (`bank_transfer`, `stripe`, …) and its reference.
    pub method: String,
    pub reference: Option<String>,
    pub amount: i64,
    pub created_by: String,
    #[serde(skip_deserializing)]
    pub created_at: String,
    #[serde(rename(deserialize = "created_at"), skip_serializing)]
    created_ms: i64,
}

const ALLOCATION_COLUMNS: &str = "a.id, a.payment_id, a.invoice_id, i.number AS invoice_number, bp.method, bp.reference, \
    a.amount, a.created_by, a.created_at \
    FROM invoice_allocations a JOIN billing_payments bp ON bp.id = a.payment_id JOIN invoices i ON i.id = a.invoice_id";

/// The allocations to an invoice, oldest first.
///
/// # Errors
/// Storage failures.
pub async fn of_invoice<P: Platform>(
    p: &P,
    invoice_id: &str,
) -> Result<Vec<AllocationView>, AppError> {
    let rows: Vec<AllocationView> = p
        .db()
        .query(stmt!(
            format!(
                "SELECT {ALLOCATION_COLUMNS} WHERE a.invoice_id = ? ORDER BY a.created_at, a.id"
            ),
            invoice_id
        ))
        .await?;
    Ok(rows.into_iter().map(finish_allocation).collect())
}

fn finish_allocation(mut a: AllocationView) -> AllocationView {
    a.created_at = rfc3339(a.created_ms);
    a
}

#[derive(Debug, Serialize, Deserialize, Clone, schemars::JsonSchema)]
pub struct PaymentView {
    pub id: String,
    pub company_id: Option<String>,
    pub customer_id: Option<String>,
    /// `stripe`, `bank_transfer`, `cheque`, `cash` or `other`.
    pub method: String,
    pub amount: i64,
    /// What refunds took back.
    pub refunded_amount: i64,
    /// What invoices took.
    pub allocated_amount: i64,
    /// What is left to allocate (the company's credit from this payment).
    pub unallocated_amount: i64,
    pub currency: String,
    pub reference: Option<String>,
    #[serde(skip_deserializing)]
    pub received_at: String,
    pub created_by: String,
    #[serde(skip_deserializing)]
    pub created_at: String,
    #[serde(skip_deserializing)]
    pub allocations: Vec<AllocationView>,
    #[serde(rename(deserialize = "received_at"), skip_serializing)]
    received_ms: i64,
    #[serde(rename(deserialize = "created_at"), skip_serializing)]
    created_ms: i64,
}

const PAYMENT_COLUMNS: &str = "bp.id, bp.company_id, bp.customer_id, bp.method, bp.amount, bp.refunded_amount, \
    (SELECT coalesce(sum(amount), 0) FROM invoice_allocations WHERE payment_id = bp.id) AS allocated_amount, \
    bp.amount - bp.refunded_amount - (SELECT coalesce(sum(amount), 0) FROM invoice_allocations WHERE payment_id = bp.id) AS unallocated_amount, \
    lower(bp.currency) AS currency, bp.reference, bp.received_at, bp.created_by, bp.created_at FROM billing_payments bp";

fn finish_payment(mut v: PaymentView) -> PaymentView {
    v.received_at = rfc3339(v.received_ms);
    v.created_at = rfc3339(v.created_ms);
    v
}

/// One payment of the store with its allocations, or 404.
///
/// # Errors
/// 404.
pub async fn payment<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
) -> Result<PaymentView, AppError> {
    let mut v = p
        .db()
        .first::<PaymentView>(stmt!(
            format!("SELECT {PAYMENT_COLUMNS} WHERE bp.id = ? AND bp.store_id = ?"),
            id,
            store_id
        ))
        .await?
        .map(finish_payment)
        .ok_or(AppError::NotFound("payment"))?;
    let rows: Vec<AllocationView> = p
        .db()
        .query(stmt!(
            format!(
                "SELECT {ALLOCATION_COLUMNS} WHERE a.payment_id = ? ORDER BY a.created_at, a.id"
            ),
            id
        ))
        .await?;
    v.allocations = rows.into_iter().map(finish_allocation).collect();
    Ok(v)
}

/// The payments list's query (exposed for the query-plan test): newest first.
pub fn list_query(store_id: &str, company_id: Option<&str>) -> Stmt {
    match company_id {
        Some(c) => stmt!(
            format!(
                "SELECT {PAYMENT_COLUMNS} WHERE bp.company_id = ? AND bp.store_id = ? ORDER BY bp.created_at DESC, bp.id DESC LIMIT 200"
            ),
            c,
            store_id
        ),
        None => stmt!(
            format!(
                "SELECT {PAYMENT_COLUMNS} WHERE bp.store_id = ? ORDER BY bp.created_at DESC, bp.id DESC LIMIT 200"
            ),
            store_id
        ),
    }
}

/// `GET /admin/api/v1/payments`: the newest 200 (a company's with `company_id`).
///
/// # Errors
/// Storage failures.
pub async fn list<P: Platform>(
    p: &P,
    store_id: &str,
    company_id: Option<&str>,
) -> Result<Vec<PaymentView>, AppError> {
    let rows: Vec<PaymentView> = p.db().query(list_query(store_id, company_id)).await?;
    Ok(rows.into_iter().map(finish_payment).collect())
}

/// A company's payments as [`list`] gives them, each with its allocations (one more query
/// for all of them).
///
/// # Errors
/// Storage failures.
pub async fn list_with_allocations<P: Platform>(
    p: &P,
    store_id: &str,
    company_id: &str,
) -> Result<Vec<PaymentView>, AppError> {
    let mut list = list(p, store_id, Some(company_id)).await?;
    let rows: Vec<AllocationView> = p
        .db()
        .query(stmt!(
            format!(
                "SELECT {ALLOCATION_COLUMNS} WHERE bp.company_id = ? AND bp.store_id = ? ORDER BY a.created_at, a.id"
            ),
            company_id,
            store_id
        ))
        .await?;
    for a in rows.into_iter().map(finish_allocation) {
        if let Some(payment) = list.iter_mut().find(|x| x.id == a.payment_id) {
            payment.allocations.push(a);
        }
    }
    Ok(list)
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ManualMethod {
    BankTransfer,
    Cheque,
    Cash,
    Other,
}

impl ManualMethod {
    fn as_str(self) -> &'static str {
        match self {
            ManualMethod::BankTransfer => "bank_transfer",
            ManualMethod::Cheque => "cheque",
            ManualMethod::Cash => "cash",
            ManualMethod::Other => "other",
        }
    }
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentInput {
    pub company_id: String,
    pub method: ManualMethod,
    /// Minor units of `currency`.
    #[schemars(range(min = 1, max = 1_000_000_000_000i64))]
    pub amount: i64,
    /// Default: the company's.
    #[serde(default)]
    #[schemars(schema_with = "crate::domain::optional_currency_schema")]
    pub currency: Option<String>,
    /// The bank's or cheque's reference.
    #[serde(default)]
    #[schemars(length(max = 200))]
    pub reference: Option<String>,
    /// When the money arrived (a date or an RFC 3339 time; default now).
    #[serde(default)]
    pub received_at: Option<String>,
}

/// `POST /admin/api/v1/payments`: money a company sent by other means than Stripe.
///
/// # Errors
/// 404 an unknown company; 422 a bad amount, currency or date.
pub async fn record<P: Platform>(
    p: &P,
    store_id: &str,
    author: &str,
    input: PaymentInput,
) -> Result<PaymentView, AppError> {
    let company = crate::companies::company(p, store_id, &input.company_id).await?;
    if !(1..=1_000_000_000_000).contains(&input.amount) {
        return Err(AppError::validation(
            "amount",
            "must be 1 to 1000000000000 minor units",
        ));
    }
    let currency =
        crate::domain::Currency::parse(input.currency.as_deref().unwrap_or(&company.currency))
            .map_err(|m| AppError::validation("currency", m))?;
    let reference = crate::input::optional_line("reference", input.reference.as_deref(), 200)?;
    let now = p.now_ms();
    let received = match input.received_at.as_deref().filter(|s| !s.is_empty()) {
        None => now,
        Some(s) => parse_instant_ms(s)
            .filter(|t| *t <= now + 86_400_000)
            .ok_or_else(|| {
                AppError::validation(
                    "received_at",
                    "must be a date or an RFC 3339 time, not in the future",
                )
            })?,
    };
    let id = p.new_id("bpay");
    p.db()
        .batch(vec![stmt!(
            "INSERT INTO billing_payments (id, store_id, company_id, method, amount, currency, reference, received_at, created_by, created_at) \
             VALUES (?, ?, ?, ?, ?, upper(?), ?, ?, ?, ?)",
            &id,
            store_id,
            &company.id,
            input.method.as_str(),
            input.amount,
            currency.as_str(),
            reference,
            received,
            author,
            now
        )])
        .await?;
    payment(p, store_id, &id).await
}

/// The status an invoice's allocations give it (issued, partially paid or paid), in an
/// `UPDATE invoices`.
const STATUS_AFTER: &str = "CASE WHEN (SELECT coalesce(sum(amount), 0) FROM invoice_allocations WHERE invoice_id = invoices.id) >= total_amount THEN 'paid' \
    WHEN (SELECT coalesce(sum(amount), 0) FROM invoice_allocations WHERE invoice_id = invoices.id) > 0 THEN 'partially_paid' \
    ELSE 'issued' END";

/// The statement that moves an invoice to the status its allocations give it (nothing when
/// it is there already, or not open to payments).
pub(crate) fn follow_allocations(invoice_id: &str, now: i64) -> Stmt {
    stmt!(
        format!(
            "UPDATE invoices SET updated_at = ?, status = {STATUS_AFTER} \
             WHERE id = ? AND status IN ('issued', 'partially_paid', 'paid') AND status <> {STATUS_AFTER}"
        ),
        now,
        invoice_id
    )
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AllocationInput {
    pub invoice_id: String,
    /// Minor units; at most what the payment still holds and what the invoice still owes.
    #[schemars(range(min = 1, max = 1_000_000_000_000i64))]
    pub amount: i64,
}

/// `POST /admin/api/v1/payments/{payment_id}/allocations`: part of a payment to an invoice
/// of the same company and currency, in one guarded batch with the invoice's new status.
///
/// # Errors
/// 404 an unknown payment or invoice; 409 `allocation_exceeds_payment`,
/// `allocation_exceeds_balance`, `invoice_not_open`; 422 another company's invoice, another
/// currency, a bad amount.
pub async fn allocate<P: Platform>(
    p: &P,
    store_id: &str,
    author: &str,
    payment_id: &str,
    input: AllocationInput,
) -> Result<PaymentView, AppError> {
    if !(1..=1_000_000_000_000).contains(&input.amount) {
        return Err(AppError::validation(
            "amount",
            "must be a positive amount in minor units",
        ));
    }
    let now = p.now_ms();
    let invoice_id = input.invoice_id.as_str();
    let fits = stmt!(
        "EXISTS (SELECT 1 FROM billing_payments bp JOIN invoices i ON i.id = ? AND i.store_id = bp.store_id \
           WHERE bp.id = ? AND bp.store_id = ? AND i.status IN ('issued', 'partially_paid') AND i.currency = bp.currency \
             AND i.company_id IS bp.company_id \
             AND ? <= bp.amount - bp.refunded_amount - (SELECT coalesce(sum(amount), 0) FROM invoice_allocations WHERE payment_id = bp.id) \
             AND ? <= i.total_amount - (SELECT coalesce(sum(amount), 0) FROM invoice_allocations WHERE invoice_id = i.id))",
        invoice_id,
        payment_id,
        store_id,
        input.amount,
        input.amount
    );
    let id = p.new_id("alloc");
    let res = p
        .db()
        .batch(vec![
            stmt!(
                "INSERT INTO invoice_allocations (id, store_id, payment_id, invoice_id, amount, created_by, created_at) \
                 SELECT ?, ?, ?, ?, ?, ?, ?",
                &id,
                store_id,
                payment_id,
                invoice_id,
                input.amount,
                author,
                now
            )
            .when(&fits),
            follow_allocations(invoice_id, now),
            stmt!(
                "INSERT INTO domain_events (id, store_id, aggregate_type, aggregate_id, type, payload, created_at) \
                 SELECT ?, ?, 'invoice', ?, 'invoice.payment_allocated', ?, ? \
                 WHERE EXISTS (SELECT 1 FROM invoice_allocations WHERE id = ?)",
                format!("evt_{id}"),
                store_id,
                invoice_id,
                json!({ "payment_id": payment_id, "allocation_id": id, "amount": input.amount }).to_string(),
                now,
                &id
            ),
        ])
        .await?;
    if res.first().is_some_and(|r| r.changes == 1) {
        return payment(p, store_id, payment_id).await;
    }
    Err(refusal(p, store_id, payment_id, invoice_id, input.amount).await?)
}

/// Why an allocation was refused (read after the guarded batch wrote nothing).
async fn refusal<P: Platform>(
    p: &P,
    store_id: &str,
    payment_id: &str,
    invoice_id: &str,
    amount: i64,
) -> Result<AppError, AppError> {
    let pay = payment(p, store_id, payment_id).await?;
    let inv = super::invoice(p, store_id, invoice_id).await?;
    let name = inv.number.clone().unwrap_or_else(|| inv.id.clone());
    Ok(if !inv.status.is_open() {
        AppError::conflict(
            "invoice_not_open",
            format!(
                "Invoice {name} is {}: only an issued, unpaid invoice takes payments.",
                inv.status.as_str()
            ),
        )
    } else if inv.company_id != pay.company_id {
        AppError::validation("invoice_id", "is another company's invoice")
    } else if inv.currency != pay.currency {
        AppError::validation(
            "invoice_id",
            format!(
                "is in {}, the payment in {}",
                inv.currency.to_uppercase(),
                pay.currency.to_uppercase()
            ),
        )
    } else if amount > inv.balance {
        AppError::conflict(
            "allocation_exceeds_balance",
            format!("Invoice {name} owes {}.", inv.balance),
        )
    } else {
        AppError::conflict(
            "allocation_exceeds_payment",
            format!(
                "The payment has {} left to allocate.",
                pay.unallocated_amount
            ),
        )
    })
}

/// `DELETE /admin/api/v1/allocations/{allocation_id}`: the money goes back to the payment
/// (the company's credit) and the invoice's balance reopens.
///
/// # Errors
/// 404.
pub async fn unallocate<P: Platform>(
    p: &P,
    store_id: &str,
    allocation_id: &str,
) -> Result<(), AppError> {
    #[derive(Deserialize)]
    struct Row {
        invoice_id: String,
        method: String,
    }
    let row: Row = p
        .db()
        .first(stmt!(
            "SELECT a.invoice_id, bp.method FROM invoice_allocations a JOIN billing_payments bp ON bp.id = a.payment_id \
             WHERE a.id = ? AND a.store_id = ?",
            allocation_id,
            store_id
        ))
        .await?
        .ok_or(AppError::NotFound("allocation"))?;
    if row.method == "credit_note" {
        return Err(AppError::conflict(
            "credit_note_kept",
            "A credit note stays on its invoice; to undo it, add an adjustment on a new invoice.",
        ));
    }
    let now = p.now_ms();
    p.db()
        .batch(vec![
            stmt!(
                "DELETE FROM invoice_allocations WHERE id = ? AND store_id = ?",
                allocation_id,
                store_id
            ),
            follow_allocations(&row.invoice_id, now),
        ])
        .await?;
    Ok(())
}

/// What a company owes and holds.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CompanyBalance {
    pub company_id: String,
    pub currency: String,
    /// Issued and partially paid invoices.
    pub open_invoices: i64,
    /// Their balances.
    pub owed: i64,
    /// Of that, past due.
    pub overdue: i64,
    /// Paid and not allocated to any invoice.
    pub credit: i64,
}

/// `GET /admin/api/v1/companies/{company_id}/balance`.
///
/// # Errors
/// 404.
pub async fn company_balance<P: Platform>(
    p: &P,
    store_id: &str,
    company_id: &str,
) -> Result<CompanyBalance, AppError> {
    let company = crate::companies::company(p, store_id, company_id).await?;
    let now = p.now_ms();
    let b = p
        .db()
        .first::<CompanyBalance>(stmt!(
            "SELECT ? AS company_id, ? AS currency, \
               (SELECT COUNT(*) FROM invoices WHERE company_id = ? AND status IN ('issued', 'partially_paid')) AS open_invoices, \
               (SELECT coalesce(sum(i.total_amount - (SELECT coalesce(sum(amount), 0) FROM invoice_allocations WHERE invoice_id = i.id)), 0) \
                  FROM invoices i WHERE i.company_id = ? AND i.status IN ('issued', 'partially_paid')) AS owed, \
               (SELECT coalesce(sum(i.total_amount - (SELECT coalesce(sum(amount), 0) FROM invoice_allocations WHERE invoice_id = i.id)), 0) \
                  FROM invoices i WHERE i.company_id = ? AND i.status IN ('issued', 'partially_paid') AND i.due_at < ?) AS overdue, \
               (SELECT coalesce(sum(bp.amount - bp.refunded_amount - (SELECT coalesce(sum(amount), 0) FROM invoice_allocations WHERE payment_id = bp.id)), 0) \
                  FROM billing_payments bp WHERE bp.company_id = ?) AS credit",
            &company.id,
            &company.currency,
            &company.id,
            &company.id,
            &company.id,
            now,
            &company.id
        ))
        .await?
        .ok_or(AppError::NotFound("company"))?;
    Ok(b)
}

/// Statements that allocate as much of a payment as an invoice owes (all of it, or the
/// balance), once per (payment, invoice): a repeated batch finds the allocation there and
/// adds nothing. Then the invoice's status and its `invoice.payment_allocated` event.
pub(crate) fn allocate_what_fits(
    allocation_id: &str,
    store_id: &str,
    payment_id: &str,
    invoice_id: &str,
    author: &str,
    now: i64,
) -> Vec<Stmt> {
    const FITS: &str = "min(bp.amount - bp.refunded_amount - (SELECT coalesce(sum(amount), 0) FROM invoice_allocations WHERE payment_id = bp.id), \
        i.total_amount - (SELECT coalesce(sum(amount), 0) FROM invoice_allocations WHERE invoice_id = i.id))";
    vec![
        stmt!(
            format!(
                "INSERT INTO invoice_allocations (id, store_id, payment_id, invoice_id, amount, created_by, created_at) \
                 SELECT ?, ?, bp.id, i.id, {FITS}, ?, ? FROM billing_payments bp JOIN invoices i ON i.id = ? \
                 WHERE bp.id = ? AND i.status IN ('issued', 'partially_paid') AND i.currency = bp.currency AND {FITS} > 0 \
                   AND NOT EXISTS (SELECT 1 FROM invoice_allocations WHERE payment_id = bp.id AND invoice_id = i.id)"
            ),
            allocation_id,
            store_id,
            author,
            now,
            invoice_id,
            payment_id
        ),
        follow_allocations(invoice_id, now),
        stmt!(
            "INSERT INTO domain_events (id, store_id, aggregate_type, aggregate_id, type, payload, created_at) \
             SELECT ?, ?, 'invoice', ?, 'invoice.payment_allocated', \
               json_object('payment_id', payment_id, 'allocation_id', id, 'amount', amount), ? \
             FROM invoice_allocations WHERE id = ?",
            format!("evt_{allocation_id}"),
            store_id,
            invoice_id,
            now,
            allocation_id
        ),
    ]
}
