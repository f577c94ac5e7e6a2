//! A company's orders drafted by an operator: lines (variant, quantity, optionally a
//! bespoke price with a note — admin role), a billing contact and a billing address.
//! A draft is re-priced whenever it is read, so it shows what checkout would charge now;
//! it can be edited and deleted until it is sent ([`super::send_checkout`]), when it
//! becomes a pending order with the same id and items priced once and for all.

use crate::AppError;
use crate::companies::addresses::{self, AddressInput, AddressView, Checked as CheckedAddress};
use crate::companies::{self, contacts};
use crate::db::{Db as _, DbError, DbExt as _, Stmt};
use crate::domain::{Currency, PriceSource};
use crate::ports::{Platform, PlatformExt as _};
use crate::pricing::Resolution;
use crate::pricing::quote::{self, Buyer, LineInput, Quote, QuoteLine};
use crate::sql::stores::StoreRow;
use crate::stmt;
use crate::time_fmt::rfc3339;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, Clone, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftLineInput {
    pub variant_id: String,
    #[schemars(range(min = 1, max = 1_000_000))]
    pub quantity: i64,
    /// A price set by hand (admin role), in minor units of the company's currency.
    #[serde(default)]
    #[schemars(range(min = 0, max = 100_000_000_000i64))]
    pub unit_amount: Option<i64>,
    /// Why the price was set by hand (required with `unit_amount`).
    #[serde(default)]
    #[schemars(length(min = 1, max = 500))]
    pub bespoke_note: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftInput {
    pub company_id: String,
    /// Default: the company's primary billing contact.
    #[serde(default)]
    pub billing_contact_id: Option<String>,
    /// An address of the company's book (default: its default billing address)…
    #[serde(default)]
    pub billing_address_id: Option<String>,
    /// …or a new one, saved to the company's book (the same place already there is used).
    #[serde(default)]
    pub billing_address: Option<AddressInput>,
    #[serde(default)]
    #[schemars(length(max = 2000))]
    pub notes: Option<String>,
    #[schemars(length(min = 1, max = 250))]
    pub lines: Vec<DraftLineInput>,
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftUpdate {
    #[serde(default)]
    pub billing_contact_id: Option<String>,
    #[serde(default)]
    pub billing_address_id: Option<String>,
    #[serde(default)]
    pub billing_address: Option<AddressInput>,
    /// `null` clears them.
    #[serde(default, deserialize_with = "crate::input::nullable")]
    pub notes: Option<Option<String>>,
    /// The lines, replacing the old ones.
    #[serde(default)]
    pub lines: Option<Vec<DraftLineInput>>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ContactRef {
    pub id: String,
    pub name: String,
    pub email: String,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct DraftLineView {
    pub id: String,
    #[serde(flatten)]
    pub priced: QuoteLine,
}

/// A draft as checkout would price it now.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct DraftView {
    pub id: String,
    /// Always `draft`.
    pub status: String,
    pub company_id: String,
    pub company_name: String,
    pub billing_contact: ContactRef,
    pub billing_address: Option<AddressView>,
    pub currency: String,
    pub notes: Option<String>,
    pub lines: Vec<DraftLineView>,
    pub subtotal_amount: i64,
    pub shipping_amount: i64,
    pub total_amount: i64,
    /// Every line could go to Stripe Checkout now; otherwise each line's `problem` says why.
    pub strict_ready: bool,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Deserialize, Clone)]
pub(crate) struct DraftRow {
    pub id: String,
    pub company_id: String,
    pub billing_contact_id: String,
    pub billing_address_id: String,
    pub currency: String,
    pub notes: Option<String>,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Deserialize, Clone)]
pub(crate) struct LineRow {
    pub id: String,
    pub variant_id: String,
    pub quantity: u32,
    pub bespoke_unit_amount: Option<i64>,
    pub bespoke_note: Option<String>,
}

pub(crate) async fn draft_row<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
) -> Result<(DraftRow, Vec<LineRow>), AppError> {
    let res = p
        .db()
        .batch(vec![
            stmt!(
                "SELECT id, company_id, billing_contact_id, billing_address_id, currency, notes, created_by, created_at, updated_at \
                 FROM draft_orders WHERE id = ? AND store_id = ?",
                id,
                store_id
            ),
            stmt!(
                "SELECT l.id, l.variant_id, l.quantity, l.bespoke_unit_amount, l.bespoke_note FROM draft_order_lines l \
                 JOIN draft_orders d ON d.id = l.draft_id WHERE l.draft_id = ? AND d.store_id = ? ORDER BY l.position",
                id,
                store_id
            ),
        ])
        .await?;
    let row = res[0]
        .rows
        .first()
        .cloned()
        .map(crate::db::decode::<DraftRow>)
        .transpose()?
        .ok_or(AppError::NotFound("draft order"))?;
    let lines = res[1]
        .rows
        .iter()
        .cloned()
        .map(crate::db::decode)
        .collect::<Result<_, _>>()?;
    Ok((row, lines))
}

/// The resolution of a line priced by hand.
pub fn bespoke(unit_amount: i64, currency: &str, note: &str) -> Resolution {
    Resolution {
        bespoke_note: Some(note.to_owned()),
        ..Resolution::unlisted(
            PriceSource::Bespoke,
            unit_amount,
            currency,
            format!("Bespoke: {note}"),
        )
    }
}

/// Prices a draft's lines as checkout would now: the resolver for each line, an operator's
/// price where one was set.
pub(crate) async fn priced<P: Platform>(
    p: &P,
    store: &StoreRow,
    d: &DraftRow,
    lines: &[LineRow],
) -> Result<Quote, AppError> {
    let buyer = Buyer::of(p, store, Some(&d.company_id), Some(&d.currency), None).await?;
    let asked: Vec<(String, u32)> = lines
        .iter()
        .map(|l| (l.variant_id.clone(), l.quantity))
        .collect();
    let mut q = quote::price(p, store, &buyer, &asked, p.now_ms()).await?;
    for (line, row) in q.lines.iter_mut().zip(lines) {
        if let (Some(amount), Some(note)) = (row.bespoke_unit_amount, &row.bespoke_note) {
            let r = bespoke(amount, &d.currency, note);
            line.line_total = Some(amount * i64::from(line.quantity));
            line.problem = Some(
                "a bespoke price has no Stripe Price: strict checkout cannot send it (invoice the order instead)".into(),
            );
            line.resolution = Some(r);
        }
    }
    let subtotal: i64 = q.lines.iter().filter_map(|l| l.line_total).sum();
    // Bespoke lines change the subtotal the free-shipping threshold looks at.
    q.shipping_amount = if d.currency.eq_ignore_ascii_case(&store.currency) {
        crate::orders::place::shipping_for(store, subtotal, q.ships)
    } else {
        0
    };
    q.subtotal_amount = subtotal;
    q.total_amount = subtotal + q.shipping_amount;
    q.complete = q.lines.iter().all(|l| l.resolution.is_some());
    q.strict_ready = q.lines.iter().all(|l| l.problem.is_none());
    Ok(q)
}

async fn view<P: Platform>(
    p: &P,
    store: &StoreRow,
    d: DraftRow,
    lines: Vec<LineRow>,
) -> Result<DraftView, AppError> {
    let company = companies::company(p, &store.id, &d.company_id).await?;
    let contact = contacts::contact(p, &store.id, &d.billing_contact_id).await?;
    let address = addresses::in_book(p, &d.company_id, &d.billing_address_id).await?;
    let q = priced(p, store, &d, &lines).await?;
    Ok(DraftView {
        status: "draft".into(),
        company_id: company.id,
        company_name: company.name,
        billing_contact: ContactRef {
            name: format!("{} {}", contact.first_name, contact.last_name),
            id: contact.id,
            email: contact.email,
        },
        billing_address: address,
        currency: d.currency.to_lowercase(),
        notes: d.notes,
        lines: lines
            .into_iter()
            .zip(q.lines)
            .map(|(l, priced)| DraftLineView { id: l.id, priced })
            .collect(),
        subtotal_amount: q.subtotal_amount,
        shipping_amount: q.shipping_amount,
        total_amount: q.total_amount,
        strict_ready: q.strict_ready,
        created_by: d.created_by,
        created_at: rfc3339(d.created_at),
        updated_at: rfc3339(d.updated_at),
        id: d.id,
    })
}

/// `GET /admin/api/v1/draft-orders/{order_id}`.
///
/// # Errors
/// 404.
pub async fn get<P: Platform>(p: &P, store: &StoreRow, id: &str) -> Result<DraftView, AppError> {
    let (d, lines) = draft_row(p, &store.id, id).await?;
    view(p, store, d, lines).await
}

/// A draft in a list (not re-priced).
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DraftSummary {
    pub id: String,
    pub company_id: String,
    pub company_name: String,
    pub billing_contact_email: String,
    pub line_count: i64,
    pub created_by: String,
    #[serde(skip_deserializing)]
    pub created_at: String,
    #[serde(rename(deserialize = "created_at"), skip_serializing)]
    pub created_ms: i64,
}

/// The drafts list query (exposed for the query-plan test).
pub fn list_query(store_id: &str, company_id: Option<&str>) -> Stmt {
    let select = "SELECT d.id, d.company_id, co.name AS company_name, c.email AS billing_contact_email, d.created_by, d.created_at, \
        (SELECT COUNT(*) FROM draft_order_lines l WHERE l.draft_id = d.id) AS line_count \
        FROM draft_orders d JOIN companies co ON co.id = d.company_id JOIN contacts c ON c.id = d.billing_contact_id";
    match company_id {
        Some(c) => stmt!(
            format!(
                "{select} WHERE d.company_id = ? AND d.store_id = ? ORDER BY d.created_at DESC LIMIT 200"
            ),
            c,
            store_id
        ),
        None => stmt!(
            format!(
                "{select} WHERE d.store_id = ? ORDER BY d.created_at DESC, d.id DESC LIMIT 200"
            ),
            store_id
        ),
    }
}

/// `GET /admin/api/v1/draft-orders?company_id=`: newest first.
///
/// # Errors
/// Storage failures.
pub async fn list<P: Platform>(
    p: &P,
    store_id: &str,
    company_id: Option<&str>,
) -> Result<Vec<DraftSummary>, AppError> {
    let rows: Vec<DraftSummary> = p.db().query(list_query(store_id, company_id)).await?;
    Ok(rows
        .into_iter()
        .map(|mut d| {
            d.created_at = rfc3339(d.created_ms);
            d
        })
        .collect())
}

/// What the operator may do with prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceRights {
    /// Support: lines are priced by the resolver only.
    Resolved,
    /// Admin: a line may carry a bespoke price with a note.
    Bespoke,
}

fn checked_lines(
    lines: &[DraftLineInput],
    currency: &str,
    rights: PriceRights,
) -> Result<Vec<(String, u32, Option<(i64, String)>)>, AppError> {
    let shapes: Vec<LineInput> = lines
        .iter()
        .map(|l| LineInput {
            variant_id: l.variant_id.clone(),
            quantity: l.quantity,
        })
        .collect();
    let base = quote::checked_lines(&shapes)?;
    let cur = Currency::parse(currency).map_err(|m| AppError::validation("currency", m))?;
    base.into_iter()
        .zip(lines)
        .enumerate()
        .map(|(i, ((variant, qty), l))| {
            let price = match (l.unit_amount, l.bespoke_note.as_deref()) {
                (None, None) => None,
                (Some(_), _) if rights == PriceRights::Resolved => {
                    return Err(AppError::Forbidden(
                        "Setting a price by hand needs the admin role.".into(),
                    ));
                }
                (Some(a), Some(note)) => {
                    cur.check_amount(a)
                        .map_err(|m| AppError::validation(format!("lines[{i}].unit_amount"), m))?;
                    let note =
                        crate::input::line(&format!("lines[{i}].bespoke_note"), note, 1, 500)?;
                    Some((a, note))
                }
                (Some(_), None) => {
                    return Err(AppError::validation(
                        format!("lines[{i}].bespoke_note"),
                        "say why the price is set by hand",
                    ));
                }
                (None, Some(_)) => {
                    return Err(AppError::validation(
                        format!("lines[{i}].unit_amount"),
                        "a note goes with a price set by hand",
                    ));
                }
            };
            Ok((variant, qty, price))
        })
        .collect()
}

fn line_statements<P: Platform>(
    p: &P,
    draft_id: &str,
    lines: &[(String, u32, Option<(i64, String)>)],
) -> Vec<Stmt> {
    lines
        .iter()
        .enumerate()
        .map(|(i, (variant, qty, price))| {
            stmt!(
                "INSERT INTO draft_order_lines (id, draft_id, variant_id, quantity, bespoke_unit_amount, bespoke_note, position) \
                 SELECT ?, ?, v.id, ?, ?, ?, ? FROM variants v WHERE v.id = ?",
                p.new_id("oi"),
                draft_id,
                *qty,
                price.as_ref().map(|(a, _)| *a),
                price.as_ref().map(|(_, n)| n.clone()),
                i as i64,
                variant
            )
        })
        .collect()
}

/// The billing address a draft names: one of the book, or a new one saved to it (the same
/// place already in the book is used).
async fn billing_address<P: Platform>(
    p: &P,
    store_id: &str,
    company_id: &str,
    id: Option<&str>,
    new: Option<&AddressInput>,
    fallback: Option<&str>,
    batch: &mut Vec<Stmt>,
) -> Result<String, AppError> {
    if let Some(a) = new {
        let checked = CheckedAddress::from_input("billing_address.", a)?;
        if let Some(same) = addresses::same_place(p, company_id, &checked.dedupe_key()).await? {
            return Ok(same);
        }
        let id = p.new_id("adr");
        batch.push(addresses::insert(
            &id,
            store_id,
            company_id,
            &checked,
            p.now_ms(),
        ));
        return Ok(id);
    }
    let Some(id) = id.or(fallback) else {
        return Err(AppError::validation(
            "billing_address_id",
            "the company has no default billing address: name one, or give billing_address",
        ));
    };
    addresses::in_book(p, company_id, id)
        .await?
        .map(|a| a.id)
        .ok_or(AppError::NotFound("address in this company's book"))
}

fn unknown_variant(e: DbError) -> AppError {
    match e {
        DbError::Constraint(m) if m.contains("FOREIGN KEY") => {
            AppError::validation("lines", "a variant is not of this store")
        }
        e => e.into(),
    }
}

/// `POST /admin/api/v1/orders`: a draft order for a company.
///
/// # Errors
/// 422 bad fields (naming them); 403 a bespoke price without the admin role.
pub async fn create<P: Platform>(
    p: &P,
    store: &StoreRow,
    created_by: &str,
    rights: PriceRights,
    input: DraftInput,
) -> Result<DraftView, AppError> {
    let company = companies::company(p, &store.id, &input.company_id).await?;
    let lines = checked_lines(&input.lines, &company.currency, rights)?;
    // Every variant must be the store's (checked by pricing them).
    let buyer = Buyer::of(p, store, Some(&company.id), None, None).await?;
    let asked: Vec<(String, u32)> = lines.iter().map(|(v, q, _)| (v.clone(), *q)).collect();
    quote::price(p, store, &buyer, &asked, p.now_ms()).await?;
    let notes = crate::input::optional_paragraph("notes", input.notes.as_deref(), 2000)?;
    let contact = contacts::billing_contact(
        p,
        &store.id,
        &company.id,
        input.billing_contact_id.as_deref(),
    )
    .await?;
    let mut batch = Vec::new();
    let address = billing_address(
        p,
        &store.id,
        &company.id,
        input.billing_address_id.as_deref(),
        input.billing_address.as_ref(),
        company.default_billing_address_id.as_deref(),
        &mut batch,
    )
    .await?;
    let id = p.new_id("ord");
    let now = p.now_ms();
    batch.push(stmt!(
        "INSERT INTO draft_orders (id, store_id, company_id, billing_contact_id, billing_address_id, currency, notes, created_by, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &id,
        &store.id,
        &company.id,
        &contact,
        &address,
        company.currency.to_uppercase(),
        notes,
        created_by,
        now,
        now
    ));
    batch.extend(line_statements(p, &id, &lines));
    p.db().batch(batch).await.map_err(unknown_variant)?;
    get(p, store, &id).await
}

/// `PATCH /admin/api/v1/draft-orders/{order_id}`: contact, address, notes, or the lines
/// (replaced whole), one batch.
///
/// # Errors
/// 404 (also once sent); 422 bad fields; 403 a bespoke price without the admin role.
pub async fn update<P: Platform>(
    p: &P,
    store: &StoreRow,
    id: &str,
    rights: PriceRights,
    input: DraftUpdate,
) -> Result<DraftView, AppError> {
    let (d, old_lines) = draft_row(p, &store.id, id).await?;
    let company = companies::company(p, &store.id, &d.company_id).await?;
    let mut batch = Vec::new();
    let contact = match &input.billing_contact_id {
        Some(c) => contacts::billing_contact(p, &store.id, &company.id, Some(c)).await?,
        None => d.billing_contact_id.clone(),
    };
    let address = if input.billing_address_id.is_some() || input.billing_address.is_some() {
        billing_address(
            p,
            &store.id,
            &company.id,
            input.billing_address_id.as_deref(),
            input.billing_address.as_ref(),
            None,
            &mut batch,
        )
        .await?
    } else {
        d.billing_address_id.clone()
    };
    let notes = match &input.notes {
        Some(n) => crate::input::optional_paragraph("notes", n.as_deref(), 2000)?,
        None => d.notes.clone(),
    };
    let now = p.now_ms();
    // Every statement is guarded by the draft as it was read: a concurrent edit (or a
    // send) makes this one change nothing.
    let unchanged = stmt!(
        "EXISTS (SELECT 1 FROM draft_orders WHERE id = ? AND updated_at = ?)",
        id,
        d.updated_at
    );
    if let Some(lines) = &input.lines {
        // Bespoke prices already on a line may stay for a support operator only unchanged.
        let keeps_prices = |l: &DraftLineInput| {
            old_lines.iter().any(|o| {
                o.variant_id == l.variant_id
                    && o.bespoke_unit_amount == l.unit_amount
                    && o.bespoke_note.as_deref() == l.bespoke_note.as_deref()
            })
        };
        let effective = if rights == PriceRights::Resolved
            && lines
                .iter()
                .all(|l| l.unit_amount.is_none() || keeps_prices(l))
        {
            PriceRights::Bespoke
        } else {
            rights
        };
        let checked = checked_lines(lines, &company.currency, effective)?;
        let buyer = Buyer::of(p, store, Some(&company.id), None, None).await?;
        let asked: Vec<(String, u32)> = checked.iter().map(|(v, q, _)| (v.clone(), *q)).collect();
        quote::price(p, store, &buyer, &asked, now).await?;
        batch.push(
            stmt!("DELETE FROM draft_order_lines WHERE draft_id = ?", id).and_when(&unchanged),
        );
        batch.extend(
            line_statements(p, id, &checked)
                .into_iter()
                .map(|s| s.and_when(&unchanged)),
        );
    }
    batch.push(
        stmt!(
            "UPDATE draft_orders SET billing_contact_id = ?, billing_address_id = ?, notes = ?, updated_at = ? WHERE id = ? AND updated_at = ?",
            &contact,
            &address,
            notes,
            now.max(d.updated_at + 1),
            id,
            d.updated_at
        ),
    );
    let res = p.db().batch(batch).await.map_err(unknown_variant)?;
    if res.last().is_none_or(|r| r.changes == 0) {
        return Err(AppError::conflict(
            "draft_changed",
            "The draft changed (or was sent) meanwhile; read it again.",
        ));
    }
    get(p, store, id).await
}

/// `DELETE /admin/api/v1/draft-orders/{order_id}`.
///
/// # Errors
/// 404 (also once sent).
pub async fn delete<P: Platform>(p: &P, store_id: &str, id: &str) -> Result<(), AppError> {
    let changed = p
        .db()
        .batch(vec![
            stmt!(
                "DELETE FROM draft_order_lines WHERE draft_id = (SELECT id FROM draft_orders WHERE id = ? AND store_id = ?)",
                id,
                store_id
            ),
            stmt!(
                "DELETE FROM draft_orders WHERE id = ? AND store_id = ?",
                id,
                store_id
            ),
        ])
        .await?;
    if changed[1].changes == 0 {
        return Err(AppError::NotFound("draft order"));
    }
    Ok(())
}
