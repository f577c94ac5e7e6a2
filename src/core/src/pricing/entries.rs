//! Entries of price books and agreements alike: a variant's unit amount from a minimum
//! quantity. Each is mirrored to a Stripe Price; a new amount makes it `pending` again
//! until the sync has created the Price of that amount (see [`super::sync`]).

use crate::AppError;
use crate::db::{Db as _, DbError, DbExt as _, Stmt};
use crate::domain::{Currency, SyncStatus};
use crate::error::Conflicting;
use crate::ports::{Platform, PlatformExt as _};
use crate::stmt;
use crate::time_fmt::rfc3339;
use serde::{Deserialize, Serialize};

/// A book or an agreement: what an entry belongs to.
#[derive(Debug, Clone, Copy)]
pub enum Parent<'a> {
    Book(&'a str),
    Agreement(&'a str),
}

impl Parent<'_> {
    fn column(self) -> &'static str {
        match self {
            Parent::Book(_) => "book_id",
            Parent::Agreement(_) => "agreement_id",
        }
    }
    fn value(&self) -> &str {
        match self {
            Parent::Book(id) | Parent::Agreement(id) => id,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, Clone, schemars::JsonSchema)]
pub struct EntryView {
    pub id: String,
    pub book_id: Option<String>,
    pub agreement_id: Option<String>,
    pub variant_id: String,
    pub sku: String,
    pub min_quantity: u32,
    /// Minor units of `currency`, per unit.
    pub unit_amount: i64,
    pub currency: String,
    /// `pending` until a Stripe Price of `unit_amount` exists; `failed` with Stripe's words.
    pub sync_status: SyncStatus,
    pub stripe_price_id: Option<String>,
    /// The amount `stripe_price_id` charges.
    pub synced_amount: Option<i64>,
    pub sync_error: Option<String>,
    #[serde(skip_deserializing)]
    pub synced_at: Option<String>,
    #[serde(rename(deserialize = "synced_at"), skip_serializing, default)]
    pub synced_ms: Option<i64>,
}

const SELECT: &str = "SELECT e.id, e.book_id, e.agreement_id, e.variant_id, v.sku, e.min_quantity, e.unit_amount, \
    lower(e.currency) AS currency, e.sync_status, e.stripe_price_id, e.synced_amount, e.sync_error, e.synced_at \
    FROM price_entries e JOIN variants v ON v.id = e.variant_id";

fn finish(mut e: EntryView) -> EntryView {
    e.synced_at = e.synced_ms.map(rfc3339);
    e
}

/// The entries of a book or agreement (exposed for the query-plan test).
pub fn list_query(parent: Parent<'_>) -> Stmt {
    stmt!(
        format!(
            "{SELECT} WHERE e.{} = ? AND e.deleted_at IS NULL ORDER BY v.sku, e.min_quantity LIMIT 5000",
            parent.column()
        ),
        parent.value()
    )
}

/// Every live entry of a book or agreement, by SKU and tier.
///
/// # Errors
/// Storage failures.
pub async fn list<P: Platform>(p: &P, parent: Parent<'_>) -> Result<Vec<EntryView>, AppError> {
    let rows: Vec<EntryView> = p.db().query(list_query(parent)).await?;
    Ok(rows.into_iter().map(finish).collect())
}

/// One live entry of the store, or 404.
///
/// # Errors
/// 404.
pub async fn entry<P: Platform>(p: &P, store_id: &str, id: &str) -> Result<EntryView, AppError> {
    p.db()
        .first::<EntryView>(stmt!(
            format!("{SELECT} WHERE e.id = ? AND e.store_id = ? AND e.deleted_at IS NULL"),
            id,
            store_id
        ))
        .await?
        .map(finish)
        .ok_or(AppError::NotFound("price entry"))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryInput {
    pub variant_id: String,
    /// The tier: this price applies from this quantity (default 1).
    #[serde(default)]
    #[schemars(range(min = 1, max = 1_000_000))]
    pub min_quantity: Option<u32>,
    /// Minor units of the book's or agreement's currency.
    #[schemars(range(min = 0, max = 100_000_000_000i64))]
    pub unit_amount: i64,
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryUpdate {
    #[serde(default)]
    #[schemars(range(min = 0, max = 100_000_000_000i64))]
    pub unit_amount: Option<i64>,
    #[serde(default)]
    #[schemars(range(min = 1, max = 1_000_000))]
    pub min_quantity: Option<u32>,
}

fn check_amount(currency: &str, amount: i64) -> Result<(), AppError> {
    let c = Currency::parse(currency).map_err(|m| AppError::validation("currency", m))?;
    if !(0..=100_000_000_000).contains(&amount) {
        return Err(AppError::validation(
            "unit_amount",
            "must be 0 to 100000000000 (minor units)",
        ));
    }
    c.check_amount(amount)
        .map_err(|m| AppError::validation("unit_amount", m))
}

fn check_min(min: u32) -> Result<u32, AppError> {
    if (1..=1_000_000).contains(&min) {
        Ok(min)
    } else {
        Err(AppError::validation("min_quantity", "must be 1 to 1000000"))
    }
}

/// The 409 for a tier the parent already has.
async fn refused<P: Platform>(
    p: &P,
    parent: Parent<'_>,
    variant_id: &str,
    min: u32,
    e: DbError,
) -> AppError {
    #[derive(Deserialize)]
    struct Id {
        id: String,
    }
    match e {
        DbError::Unique(m) if m.contains("min_quantity") => {
            let same = p
                .db()
                .first::<Id>(stmt!(
                    format!(
                        "SELECT id FROM price_entries WHERE {} = ? AND variant_id = ? AND min_quantity = ? AND deleted_at IS NULL",
                        parent.column()
                    ),
                    parent.value(),
                    variant_id,
                    min
                ))
                .await;
            match same {
                Ok(same) => AppError::ConflictWith {
                    code: "price_tier_exists",
                    message: format!(
                        "This variant already has a price from quantity {min} here; two tiers with one minimum would be ambiguous. Change that entry instead."
                    ),
                    conflicts: same
                        .into_iter()
                        .map(|s| Conflicting {
                            id: s.id,
                            reason: format!("the tier from quantity {min}"),
                        })
                        .collect(),
                },
                Err(e) => e.into(),
            }
        }
        e => e.into(),
    }
}

/// Adds an entry to a book or agreement (whose store and currency the caller checked).
///
/// # Errors
/// 404 a variant not in the store; 422 bad amount or tier; 409 a tier the parent has.
pub async fn add<P: Platform>(
    p: &P,
    store_id: &str,
    parent: Parent<'_>,
    currency: &str,
    input: EntryInput,
) -> Result<EntryView, AppError> {
    check_amount(currency, input.unit_amount)?;
    let min = check_min(input.min_quantity.unwrap_or(1))?;
    let known = p
        .db()
        .scalar_i64(stmt!(
            "SELECT COUNT(*) FROM variants WHERE id = ? AND store_id = ?",
            &input.variant_id,
            store_id
        ))
        .await?;
    if known == 0 {
        return Err(AppError::validation(
            "variant_id",
            "is not a variant of this store",
        ));
    }
    let id = p.new_id("pe");
    let now = p.now_ms();
    let mut batch = vec![stmt!(
        format!(
            "INSERT INTO price_entries (id, store_id, {}, variant_id, min_quantity, unit_amount, currency, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            parent.column()
        ),
        &id,
        store_id,
        parent.value(),
        &input.variant_id,
        min,
        input.unit_amount,
        currency.to_uppercase(),
        now,
        now
    )];
    let sync = super::sync::queue(p, store_id, &id);
    batch.push(sync.insert.clone());
    if let Err(e) = p.db().batch(batch).await {
        return Err(refused(p, parent, &input.variant_id, min, e).await);
    }
    sync.dispatch(p).await;
    entry(p, store_id, &id).await
}

/// `PATCH /admin/api/v1/price-entries/{entry_id}`: a new amount is `pending` until its
/// Stripe Price exists (the old Price is archived then); a new tier minimum keeps the
/// Price.
///
/// # Errors
/// 404; 422 bad values; 409 a tier the parent has.
pub async fn update<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
    input: EntryUpdate,
) -> Result<EntryView, AppError> {
    let cur = entry(p, store_id, id).await?;
    let amount = input.unit_amount.unwrap_or(cur.unit_amount);
    check_amount(&cur.currency, amount)?;
    let min = check_min(input.min_quantity.unwrap_or(cur.min_quantity))?;
    let parent = match (&cur.book_id, &cur.agreement_id) {
        (Some(b), _) => Parent::Book(b),
        (_, Some(a)) => Parent::Agreement(a),
        _ => return Err(AppError::NotFound("price entry")),
    };
    let now = p.now_ms();
    let new_amount = amount != cur.unit_amount;
    let mut batch = vec![stmt!(
        "UPDATE price_entries SET unit_amount = ?, min_quantity = ?, updated_at = ?, \
         price_version = price_version + ?, \
         sync_status = CASE WHEN ? THEN 'pending' ELSE sync_status END, \
         sync_error = CASE WHEN ? THEN NULL ELSE sync_error END \
         WHERE id = ? AND deleted_at IS NULL",
        amount,
        min,
        now,
        i64::from(new_amount),
        new_amount,
        new_amount,
        id
    )];
    let sync = new_amount.then(|| super::sync::queue(p, store_id, id));
    batch.extend(sync.as_ref().map(|q| q.insert.clone()));
    if let Err(e) = p.db().batch(batch).await {
        return Err(refused(p, parent, &cur.variant_id, min, e).await);
    }
    if let Some(sync) = sync {
        sync.dispatch(p).await;
    }
    entry(p, store_id, id).await
}

/// `DELETE /admin/api/v1/price-entries/{entry_id}`: the entry prices nothing more (kept for
/// the order items priced with it); its Stripe Price is archived.
///
/// # Errors
/// 404.
pub async fn delete<P: Platform>(p: &P, store_id: &str, id: &str) -> Result<(), AppError> {
    entry(p, store_id, id).await?;
    let now = p.now_ms();
    let sync = super::sync::queue(p, store_id, id);
    p.db()
        .batch(vec![
            stmt!(
                "UPDATE price_entries SET deleted_at = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL",
                now,
                now,
                id
            ),
            sync.insert.clone(),
        ])
        .await?;
    sync.dispatch(p).await;
    Ok(())
}
