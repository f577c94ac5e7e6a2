//! Invoices (seed 001 §2.3): drafted for a company (lines typed in, adjustments and
//! discounts while draft), issued with the next number of the store's gapless sequence
//! ([`issue`]), voided with a reason (the number stays), deleted only while draft.

pub mod credit_notes;
pub mod document;
pub mod issue;
pub mod order_invoices;
pub mod overdue;
pub mod pay;
pub mod payments;
pub mod pdf;
pub mod people;
pub mod refunds;

use crate::AppError;
use crate::admin::orders::{Cursor, parse_limit};
use crate::db::{Db as _, DbExt as _, Stmt};
use crate::domain::InvoiceStatus;
use crate::ports::{Platform, PlatformExt as _};
use crate::stmt;
use crate::time_fmt::rfc3339;
use serde::{Deserialize, Serialize};

pub use issue::{delete, issue, void};

/// Most lines an invoice holds.
pub const MAX_LINES: usize = 250;

#[derive(Debug, Serialize, Deserialize, Clone, schemars::JsonSchema)]
pub struct InvoiceView {
    pub id: String,
    /// `INV-000123` once issued; none while draft.
    pub number: Option<String>,
    pub status: InvoiceStatus,
    pub company_id: Option<String>,
    pub company_name: Option<String>,
    pub customer_id: Option<String>,
    pub order_id: Option<String>,
    pub currency: String,
    pub subtotal_amount: i64,
    pub tax_amount: i64,
    pub total_amount: i64,
    /// What payments allocated to it cover.
    pub amount_paid: i64,
    /// Total less what is paid (what is still owed once issued).
    pub balance: i64,
    /// `prepaid` or `net_N`: the due date is N days after issue.
    pub payment_terms: String,
    pub billing_contact_id: Option<String>,
    pub notes: Option<String>,
    /// Issued or partially paid, and past its due date.
    #[serde(skip_deserializing)]
    pub overdue: bool,
    #[serde(skip_deserializing)]
    pub issued_at: Option<String>,
    #[serde(skip_deserializing)]
    pub due_at: Option<String>,
    pub void_reason: Option<String>,
    #[serde(skip_deserializing)]
    pub voided_at: Option<String>,
    pub created_by: String,
    #[serde(skip_deserializing)]
    pub created_at: String,
    #[serde(rename(deserialize = "issued_at"), skip_serializing, default)]
    issued_ms: Option<i64>,
    #[serde(rename(deserialize = "due_at"), skip_serializing, default)]
    due_ms: Option<i64>,
    #[serde(rename(deserialize = "voided_at"), skip_serializing, default)]
    voided_ms: Option<i64>,
    #[serde(rename(deserialize = "created_at"), skip_serializing)]
    pub created_ms: i64,
}

const COLUMNS: &str = "i.id, i.number, i.status, i.company_id, co.name AS company_name, i.customer_id, i.order_id, \
    lower(i.currency) AS currency, i.subtotal_amount, i.tax_amount, i.total_amount, \
    (SELECT coalesce(sum(amount), 0) FROM invoice_allocations WHERE invoice_id = i.id) AS amount_paid, \
    i.total_amount - (SELECT coalesce(sum(amount), 0) FROM invoice_allocations WHERE invoice_id = i.id) AS balance, i.payment_terms, i.billing_contact_id, i.notes, i.issued_at, i.due_at, i.void_reason, \
    i.voided_at, i.created_by, i.created_at \
    FROM invoices i LEFT JOIN companies co ON co.id = i.company_id";

fn finish(mut v: InvoiceView, now_ms: i64) -> InvoiceView {
    v.created_at = rfc3339(v.created_ms);
    v.issued_at = v.issued_ms.map(rfc3339);
    v.due_at = v.due_ms.map(rfc3339);
    v.voided_at = v.voided_ms.map(rfc3339);
    v.overdue = v.status.is_open() && v.due_ms.is_some_and(|d| d < now_ms);
    v
}

#[derive(Debug, Serialize, Deserialize, Clone, schemars::JsonSchema)]
pub struct InvoiceLineView {
    pub id: String,
    /// `item`, `shipping`, `adjustment` or `discount`.
    pub kind: String,
    pub order_item_id: Option<String>,
    pub description: String,
    pub quantity: i64,
    pub unit_amount: i64,
    pub amount: i64,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct InvoiceDetail {
    pub invoice: InvoiceView,
    pub lines: Vec<InvoiceLineView>,
    /// The payments that paid it, oldest first.
    pub allocations: Vec<payments::AllocationView>,
    /// What happened to it (issued, payments allocated, overdue, voided), oldest first.
    pub timeline: Vec<crate::admin::orders::TimelineEntry>,
    /// The credit notes that reduced it, oldest first.
    pub credit_notes: Vec<credit_notes::CreditNoteView>,
    /// Its pay link (the page its email links), while something is owed and the storefront
    /// API's public address is configured (`PUBLIC_API_BASE`).
    pub pay_url: Option<String>,
    /// A signed link to its PDF that works without signing in (to hand to the buyer or an
    /// accountant), once issued and where `PUBLIC_API_BASE` is configured.
    pub document_url: Option<String>,
}

/// The invoice with this number, or 404.
///
/// # Errors
/// 404.
pub async fn by_number<P: Platform>(
    p: &P,
    store_id: &str,
    number: &str,
) -> Result<InvoiceView, AppError> {
    p.db()
        .first::<InvoiceView>(stmt!(
            format!("SELECT {COLUMNS} WHERE i.store_id = ? AND i.number = ?"),
            store_id,
            number
        ))
        .await?
        .map(|v| finish(v, p.now_ms()))
        .ok_or(AppError::NotFound("invoice"))
}

/// One invoice of the store, or 404.
///
/// # Errors
/// 404.
pub async fn invoice<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
) -> Result<InvoiceView, AppError> {
    p.db()
        .first::<InvoiceView>(stmt!(
            format!("SELECT {COLUMNS} WHERE i.id = ? AND i.store_id = ?"),
            id,
            store_id
        ))
        .await?
        .map(|v| finish(v, p.now_ms()))
        .ok_or(AppError::NotFound("invoice"))
}

/// `GET /admin/api/v1/invoices/{invoice_id}`.
///
/// # Errors
/// 404.
pub async fn detail<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
) -> Result<InvoiceDetail, AppError> {
    let invoice = invoice(p, store_id, id).await?;
    with_lines(p, invoice).await
}

async fn with_lines<P: Platform>(p: &P, invoice: InvoiceView) -> Result<InvoiceDetail, AppError> {
    let id = invoice.id.as_str();
    let lines = p
        .db()
        .query(stmt!(
            "SELECT id, kind, order_item_id, description, quantity, unit_amount, amount FROM invoice_lines \
             WHERE invoice_id = ? ORDER BY position, id",
            id
        ))
        .await?;
    let allocations = payments::of_invoice(p, id).await?;
    let timeline = p
        .db()
        .query(stmt!(
            "SELECT type, payload, created_at FROM domain_events WHERE aggregate_type = 'invoice' AND aggregate_id = ? ORDER BY created_at, id",
            id
        ))
        .await?;
    let link = (invoice.status != InvoiceStatus::Draft)
        .then(|| pay::pay_link(p, &invoice.id))
        .flatten();
    let pay_url = link
        .clone()
        .filter(|_| invoice.status.is_open() && invoice.balance > 0);
    let document_url = link.map(|l| format!("{l}/invoice.pdf"));
    Ok(InvoiceDetail {
        credit_notes: credit_notes::of_invoice(p, &invoice.id).await?,
        invoice,
        lines,
        allocations,
        timeline,
        pay_url,
        document_url,
    })
}

/// What the invoice list is narrowed by.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InvoiceFilters {
    pub status: Option<InvoiceStatus>,
    pub company_id: Option<String>,
    /// Only invoices past their due date with money owed.
    pub overdue: bool,
    /// Leave drafts out (what a company's people see).
    pub issued_only: bool,
    /// Issued from (inclusive) / to (exclusive), ms.
    pub issued_from: Option<i64>,
    pub issued_to: Option<i64>,
}

impl InvoiceFilters {
    /// # Errors
    /// 422 naming the parameter that is not understood.
    pub fn from_query(get: impl Fn(&str) -> Option<String>) -> Result<Self, AppError> {
        let nonempty = |k: &str| {
            get(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let date = |k: &str, until| {
            nonempty(k)
                .map(|v| crate::input::query_instant(k, &v, until))
                .transpose()
        };
        Ok(InvoiceFilters {
            status: nonempty("status")
                .map(|s| {
                    InvoiceStatus::parse(&s).ok_or_else(|| {
                        AppError::validation(
                            "status",
                            format!("must be one of: {}", InvoiceStatus::VALUES.join(", ")),
                        )
                    })
                })
                .transpose()?,
            company_id: nonempty("company_id"),
            overdue: match nonempty("overdue").as_deref() {
                None | Some("false" | "0") => false,
                Some("true" | "1") => true,
                Some(_) => return Err(AppError::validation("overdue", "must be true or false")),
            },
            issued_only: false,
            issued_from: date("issued_from", false)?,
            issued_to: date("issued_to", true)?,
        })
    }
}

/// The invoice list's query (exposed for the query-plan test): newest first, keyset on
/// (created, id).
pub fn list_query(
    store_id: &str,
    f: &InvoiceFilters,
    after: Option<&Cursor>,
    now_ms: i64,
    limit: u32,
) -> Stmt {
    let mut s = match (&f.company_id, f.overdue) {
        (_, true) => stmt!(
            format!(
                "SELECT {COLUMNS} WHERE i.store_id = ? AND i.status IN ('issued', 'partially_paid') AND i.due_at < ?"
            ),
            store_id,
            now_ms
        ),
        (Some(c), false) => stmt!(
            format!("SELECT {COLUMNS} WHERE i.company_id = ? AND i.store_id = ?"),
            c.as_str(),
            store_id
        ),
        (None, false) => stmt!(format!("SELECT {COLUMNS} WHERE i.store_id = ?"), store_id),
    };
    if let (Some(c), true) = (&f.company_id, f.overdue) {
        s = s.and_when(&stmt!("i.company_id = ?", c.as_str()));
    }
    if let Some(st) = f.status {
        s = s.and_when(&stmt!("i.status = ?", st.as_str()));
    }
    if f.issued_only {
        s.sql.push_str(" AND i.status <> 'draft'");
    }
    if let Some(t) = f.issued_from {
        s = s.and_when(&stmt!("i.issued_at >= ?", t));
    }
    if let Some(t) = f.issued_to {
        s = s.and_when(&stmt!("i.issued_at < ?", t));
    }
    if let Some(c) = after {
        s = s.and_when(&stmt!(
            "(i.created_at, i.id) < (?, ?)",
            c.created_at,
            c.id.as_str()
        ));
    }
    s.sql
        .push_str(" ORDER BY i.created_at DESC, i.id DESC LIMIT ?");
    s.bind(i64::from(limit))
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct InvoicePage {
    pub data: Vec<InvoiceView>,
    pub has_more: bool,
    pub next_starting_after: Option<String>,
}

/// `GET /admin/api/v1/invoices`.
///
/// # Errors
/// 422 a bad filter, cursor or limit.
pub async fn list<P: Platform>(
    p: &P,
    store_id: &str,
    f: &InvoiceFilters,
    starting_after: Option<&str>,
    limit: Option<&str>,
) -> Result<InvoicePage, AppError> {
    let limit = parse_limit(limit, 50, 200)?;
    let after = starting_after
        .filter(|s| !s.is_empty())
        .map(Cursor::decode)
        .transpose()?;
    let now = p.now_ms();
    let mut rows: Vec<InvoiceView> = p
        .db()
        .query(list_query(store_id, f, after.as_ref(), now, limit + 1))
        .await?;
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_starting_after = has_more
        .then(|| {
            rows.last().map(|v| {
                Cursor {
                    created_at: v.created_ms,
                    id: v.id.clone(),
                }
                .encode()
            })
        })
        .flatten();
    Ok(InvoicePage {
        data: rows.into_iter().map(|v| finish(v, now)).collect(),
        has_more,
        next_starting_after,
    })
}

/// The columns of the invoices' CSV export.
pub const CSV_HEADER: &str = "number,status,overdue,company,company_id,order_id,currency,subtotal,tax,total,paid,balance,payment_terms,issued_at,due_at,void_reason,invoice_id\r\n";

/// One page of the invoices' CSV export: its lines, the cursor after it, whether more
/// follow.
///
/// # Errors
/// Storage failures.
pub async fn csv_page(
    db: &impl crate::db::Db,
    store_id: &str,
    f: &InvoiceFilters,
    after: Option<&Cursor>,
    now_ms: i64,
    limit: u32,
) -> Result<(String, Option<Cursor>, bool), AppError> {
    use crate::admin::orders::csv_cell;
    use crate::domain::format_amount;
    let mut rows: Vec<InvoiceView> = db
        .query(list_query(store_id, f, after, now_ms, limit + 1))
        .await?;
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let mut out = String::new();
    for v in rows.iter().cloned().map(|v| finish(v, now_ms)) {
        let cur = v.currency.as_str();
        let cells = [
            v.number.clone().unwrap_or_default(),
            v.status.as_str().to_owned(),
            v.overdue.to_string(),
            v.company_name.clone().unwrap_or_default(),
            v.company_id.clone().unwrap_or_default(),
            v.order_id.clone().unwrap_or_default(),
            cur.to_uppercase(),
            format_amount(v.subtotal_amount, cur),
            format_amount(v.tax_amount, cur),
            format_amount(v.total_amount, cur),
            format_amount(v.amount_paid, cur),
            format_amount(v.balance, cur),
            v.payment_terms.clone(),
            v.issued_at.clone().unwrap_or_default(),
            v.due_at.clone().unwrap_or_default(),
            v.void_reason.clone().unwrap_or_default(),
            v.id.clone(),
        ];
        let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    let last = rows.last().map(|v| Cursor {
        created_at: v.created_ms,
        id: v.id.clone(),
    });
    Ok((out, last, has_more))
}

#[derive(Debug, Deserialize, Clone, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceLineInput {
    #[schemars(length(min = 1, max = 500))]
    pub description: String,
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 1_000_000))]
    pub quantity: i64,
    /// Minor units of the company's currency, per unit (negative for a credit line).
    #[schemars(range(min = -1_000_000_000_000i64, max = 1_000_000_000_000i64))]
    pub unit_amount: i64,
}

fn one() -> i64 {
    1
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceInput {
    pub company_id: String,
    /// Default: the company's primary billing contact.
    #[serde(default)]
    pub billing_contact_id: Option<String>,
    #[serde(default)]
    #[schemars(length(max = 2000))]
    pub notes: Option<String>,
    #[schemars(length(min = 1, max = 250))]
    pub lines: Vec<InvoiceLineInput>,
}

/// A line's checked amount.
fn amount_of(n: usize, l: &InvoiceLineInput) -> Result<(String, i64, i64, i64), AppError> {
    let field = |f: &str| format!("lines[{n}].{f}");
    let description = crate::input::line(&field("description"), &l.description, 1, 500)?;
    if !(1..=1_000_000).contains(&l.quantity) {
        return Err(AppError::validation(
            field("quantity"),
            "must be 1 to 1000000",
        ));
    }
    if l.unit_amount.abs() > 1_000_000_000_000 {
        return Err(AppError::validation(field("unit_amount"), "is too large"));
    }
    let amount = l
        .quantity
        .checked_mul(l.unit_amount)
        .filter(|a| a.abs() <= 1_000_000_000_000)
        .ok_or_else(|| AppError::validation(field("unit_amount"), "the line total is too large"))?;
    Ok((description, l.quantity, l.unit_amount, amount))
}

/// `POST /admin/api/v1/invoices`: a draft invoice for a company, its lines typed in.
///
/// # Errors
/// 404 an unknown company or contact; 422 bad lines (or a negative total).
pub async fn create_manual<P: Platform>(
    p: &P,
    store_id: &str,
    author: &str,
    input: InvoiceInput,
) -> Result<InvoiceDetail, AppError> {
    let company = crate::companies::company(p, store_id, &input.company_id).await?;
    let contact = crate::companies::contacts::billing_contact(
        p,
        store_id,
        &company.id,
        input.billing_contact_id.as_deref(),
    )
    .await?;
    if input.lines.is_empty() || input.lines.len() > MAX_LINES {
        return Err(AppError::validation(
            "lines",
            format!("1 to {MAX_LINES} lines"),
        ));
    }
    let lines = input
        .lines
        .iter()
        .enumerate()
        .map(|(n, l)| amount_of(n, l))
        .collect::<Result<Vec<_>, _>>()?;
    let subtotal: i64 = lines.iter().map(|l| l.3).sum();
    if subtotal < 0 {
        return Err(AppError::validation(
            "lines",
            "the total must not be negative",
        ));
    }
    let notes = crate::input::optional_line("notes", input.notes.as_deref(), 2000)?;
    let now = p.now_ms();
    let id = p.new_id("inv");
    let mut batch = vec![stmt!(
        "INSERT INTO invoices (id, store_id, company_id, currency, subtotal_amount, total_amount, billing_contact_id, \
           billing_address_id, payment_terms, notes, created_by, created_at, updated_at) \
         VALUES (?, ?, ?, upper(?), ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &id,
        store_id,
        &company.id,
        &company.currency,
        subtotal,
        subtotal,
        contact,
        &company.default_billing_address_id,
        &company.payment_terms,
        notes,
        author,
        now,
        now
    )];
    for (n, (description, quantity, unit, amount)) in lines.into_iter().enumerate() {
        batch.push(stmt!(
            "INSERT INTO invoice_lines (id, invoice_id, kind, description, quantity, unit_amount, amount, position) \
             VALUES (?, ?, 'item', ?, ?, ?, ?, ?)",
            p.new_id("invl"),
            &id,
            description,
            quantity,
            unit,
            amount,
            n as i64
        ));
    }
    p.db().batch(batch).await?;
    detail(p, store_id, &id).await
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentInput {
    /// `adjustment` (either sign) or `discount` (an amount taken off).
    pub kind: AdjustmentKind,
    #[schemars(length(min = 1, max = 500))]
    pub description: String,
    /// Minor units: an adjustment's signed amount, or the discount's size (positive).
    #[schemars(range(min = -1_000_000_000_000i64, max = 1_000_000_000_000i64))]
    pub amount: i64,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentKind {
    Adjustment,
    Discount,
}

/// `POST /admin/api/v1/invoices/{invoice_id}/lines`: an adjustment or a discount on a draft;
/// the totals follow in the same batch, which refuses a negative total.
///
/// # Errors
/// 404; 409 `invoice_not_draft`; 422 a bad amount, or one that makes the total negative.
pub async fn add_adjustment<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
    input: AdjustmentInput,
) -> Result<InvoiceDetail, AppError> {
    let current = invoice(p, store_id, id).await?;
    let description = crate::input::line("description", &input.description, 1, 500)?;
    let amount = match input.kind {
        AdjustmentKind::Discount if input.amount <= 0 => {
            return Err(AppError::validation(
                "amount",
                "a discount is a positive amount taken off",
            ));
        }
        AdjustmentKind::Discount => -input.amount,
        AdjustmentKind::Adjustment if input.amount == 0 => {
            return Err(AppError::validation("amount", "must not be zero"));
        }
        AdjustmentKind::Adjustment => input.amount,
    };
    if amount.abs() > 1_000_000_000_000 {
        return Err(AppError::validation("amount", "is too large"));
    }
    let kind = match input.kind {
        AdjustmentKind::Adjustment => "adjustment",
        AdjustmentKind::Discount => "discount",
    };
    // Written only while the invoice is a draft whose total stays at or above zero.
    let fits = stmt!(
        "EXISTS (SELECT 1 FROM invoices WHERE id = ? AND store_id = ? AND status = 'draft' AND total_amount + ? >= 0)",
        id,
        store_id,
        amount
    );
    let now = p.now_ms();
    let res = p
        .db()
        .batch(vec![
            stmt!(
                "INSERT INTO invoice_lines (id, invoice_id, kind, description, quantity, unit_amount, amount, position) \
                 SELECT ?, ?, ?, ?, 1, ?, ?, (SELECT coalesce(max(position), -1) + 1 FROM invoice_lines WHERE invoice_id = ?)",
                p.new_id("invl"),
                id,
                kind,
                description,
                amount,
                amount,
                id
            )
            .when(&fits),
            stmt!(
                "UPDATE invoices SET subtotal_amount = subtotal_amount + ?, total_amount = total_amount + ?, updated_at = ? \
                 WHERE id = ?",
                amount,
                amount,
                now,
                id
            )
            .and_when(&fits),
        ])
        .await?;
    if res.first().is_none_or(|r| r.changes != 1) {
        return Err(if current.status == InvoiceStatus::Draft {
            AppError::validation("amount", "would make the invoice's total negative")
        } else {
            not_draft(&current)
        });
    }
    detail(p, store_id, id).await
}

/// 409 for a change only a draft takes.
pub(crate) fn not_draft(v: &InvoiceView) -> AppError {
    AppError::conflict(
        "invoice_not_draft",
        format!(
            "Invoice {} is {}: only a draft changes (void it, or issue a credit note).",
            v.number.as_deref().unwrap_or(&v.id),
            v.status.as_str()
        ),
    )
}
