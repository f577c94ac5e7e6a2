//! Prices for companies (seed 001 §3): price [`books`] (global, or regional for a set of
//! countries), company price [`agreements`], their [`entries`] (tiers by minimum quantity,
//! each mirrored to a Stripe Price), and the resolver that says what a line costs and
//! where that price came from.
//!
//! The resolver never guesses: a configuration that would give two answers (two active
//! books for one country and currency at one instant, two active agreements of a company,
//! two tiers with one minimum) is refused when it is saved (`migrations/0011_pricing.sql`).

pub mod agreements;
pub mod books;
pub mod entries;
pub mod quote;
pub mod sync;

use crate::AppError;
use crate::db::{DbExt as _, Stmt};
use crate::domain::{Country, PriceSource, SyncStatus, Tiered, pick};
use crate::ports::Platform;
use crate::stmt;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a line costs and where the price came from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct Resolution {
    pub source: PriceSource,
    /// Minor units of `currency`, per unit.
    pub unit_amount: i64,
    pub currency: String,
    /// The price book or agreement entry (none for a bespoke price).
    pub price_entry_id: Option<String>,
    pub price_book_id: Option<String>,
    pub price_agreement_id: Option<String>,
    /// The tier's minimum quantity.
    pub min_quantity: u32,
    /// The entry's Stripe Price, and the amount it was synced at.
    pub stripe_price_id: Option<String>,
    pub synced_amount: Option<i64>,
    pub sync_status: SyncStatus,
    /// Whether strict checkout accepts it: a Stripe Price exists at exactly this amount.
    pub strict_ready: bool,
    /// For people: "ACME 2027 agreement, 10+ tier".
    pub label: String,
    /// Why an operator set the price by hand.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub bespoke_note: Option<String>,
}

/// A candidate entry as the resolver reads it.
#[derive(Debug, Deserialize)]
struct Candidate {
    id: String,
    variant_id: String,
    min_quantity: u32,
    unit_amount: i64,
    currency: String,
    sync_status: SyncStatus,
    stripe_price_id: Option<String>,
    synced_amount: Option<i64>,
    source: PriceSource,
    book_id: Option<String>,
    agreement_id: Option<String>,
    parent_name: String,
}

impl Tiered for Candidate {
    fn source(&self) -> PriceSource {
        self.source
    }
    fn min_quantity(&self) -> u32 {
        self.min_quantity
    }
}

impl Candidate {
    fn resolution(&self) -> Resolution {
        let label = if self.min_quantity > 1 {
            format!("{}, {}+ tier", self.parent_name, self.min_quantity)
        } else {
            self.parent_name.clone()
        };
        Resolution {
            source: self.source,
            unit_amount: self.unit_amount,
            currency: self.currency.to_lowercase(),
            price_entry_id: Some(self.id.clone()),
            price_book_id: self.book_id.clone(),
            price_agreement_id: self.agreement_id.clone(),
            min_quantity: self.min_quantity,
            stripe_price_id: self.stripe_price_id.clone(),
            synced_amount: self.synced_amount,
            sync_status: self.sync_status,
            strict_ready: self.sync_status == SyncStatus::Synced
                && self.stripe_price_id.is_some()
                && self.synced_amount == Some(self.unit_amount),
            label,
            bespoke_note: None,
        }
    }
}

/// What is being priced: for whom, shipped where, in which currency, when.
#[derive(Debug, Clone)]
pub struct PricingContext<'a> {
    pub store_id: &'a str,
    pub company_id: Option<&'a str>,
    pub ship_to: Option<&'a Country>,
    /// Uppercase ISO 4217.
    pub currency: &'a str,
    pub at_ms: i64,
}

/// The resolver's one query (exposed for the query-plan test): every entry in force at
/// `at` for these variants — the company's active agreement, active regional books for the
/// country, active global books — in the currency.
pub fn candidates_query(cx: &PricingContext<'_>, variant_ids: &[&str]) -> Stmt {
    let ids = serde_json::to_string(variant_ids).unwrap_or_else(|_| "[]".into());
    stmt!(
        "SELECT e.id, e.variant_id, e.min_quantity, e.unit_amount, e.currency, e.sync_status, e.stripe_price_id, e.synced_amount, \
           e.book_id, e.agreement_id, \
           CASE WHEN e.agreement_id IS NOT NULL THEN 'price_agreement' WHEN b.scope = 'regional' THEN 'pricebook_regional' \
                ELSE 'pricebook_global' END AS source, \
           coalesce(a.name, b.name) AS parent_name \
         FROM price_entries e \
         LEFT JOIN price_books b ON b.id = e.book_id \
         LEFT JOIN price_agreements a ON a.id = e.agreement_id \
         WHERE e.store_id = ? AND e.variant_id IN (SELECT value FROM json_each(?)) AND e.currency = ? AND e.deleted_at IS NULL \
           AND ((a.id IS NOT NULL AND a.company_id = ? AND a.status = 'active' AND a.valid_from <= ? AND (a.valid_to IS NULL OR a.valid_to > ?)) \
             OR (b.id IS NOT NULL AND b.active = 1 AND b.valid_from <= ? AND (b.valid_to IS NULL OR b.valid_to > ?) \
                 AND (b.scope = 'global' OR EXISTS (SELECT 1 FROM price_book_countries c WHERE c.book_id = b.id AND c.country = ?))))",
        cx.store_id,
        ids,
        cx.currency,
        cx.company_id.unwrap_or(""),
        cx.at_ms,
        cx.at_ms,
        cx.at_ms,
        cx.at_ms,
        cx.ship_to.map_or("", Country::as_str)
    )
}

/// Resolves many lines in one query: for each `(variant, quantity)`, the resolution, or
/// `None` when nothing prices it.
///
/// # Errors
/// Storage failures.
pub async fn resolve<P: Platform>(
    p: &P,
    cx: &PricingContext<'_>,
    lines: &[(&str, u32)],
) -> Result<Vec<Option<Resolution>>, AppError> {
    let mut ids: Vec<&str> = lines.iter().map(|(v, _)| *v).collect();
    ids.sort_unstable();
    ids.dedup();
    let rows: Vec<Candidate> = if ids.is_empty() {
        Vec::new()
    } else {
        p.db().query(candidates_query(cx, &ids)).await?
    };
    let mut by_variant: BTreeMap<&str, Vec<&Candidate>> = BTreeMap::new();
    for c in &rows {
        by_variant.entry(c.variant_id.as_str()).or_default().push(c);
    }
    Ok(lines
        .iter()
        .map(|(variant, quantity)| {
            let cands: Vec<&Candidate> = by_variant.get(variant).cloned().unwrap_or_default();
            pick(&cands, *quantity).map(|c| c.resolution())
        })
        .collect())
}

/// An instant given as RFC 3339 or a date (`valid_from`, `valid_to`, `at`).
///
/// # Errors
/// 422 naming `field`.
pub fn instant(field: &str, v: &str) -> Result<i64, AppError> {
    crate::time_fmt::parse_instant_ms(v.trim()).ok_or_else(|| {
        AppError::validation(field, "must be a date (YYYY-MM-DD) or an RFC 3339 time")
    })
}

/// A validity window from optional inputs: from (default: always), to (default: open).
///
/// # Errors
/// 422 for a bad instant or an end not after the start.
pub fn window(from: Option<&str>, to: Option<&str>) -> Result<(i64, Option<i64>), AppError> {
    let from = from
        .map(|f| instant("valid_from", f))
        .transpose()?
        .unwrap_or(0);
    let to = to.map(|t| instant("valid_to", t)).transpose()?;
    if to.is_some_and(|t| t <= from) {
        return Err(AppError::validation("valid_to", "must be after valid_from"));
    }
    Ok((from, to))
}

impl Resolution {
    /// A price that comes from no book or agreement (and so has no Stripe Price: strict
    /// checkout refuses it).
    pub fn unlisted(
        source: PriceSource,
        unit_amount: i64,
        currency: &str,
        label: String,
    ) -> Resolution {
        Resolution {
            source,
            unit_amount,
            currency: currency.to_lowercase(),
            price_entry_id: None,
            price_book_id: None,
            price_agreement_id: None,
            min_quantity: 1,
            stripe_price_id: None,
            synced_amount: None,
            sync_status: SyncStatus::Pending,
            strict_ready: false,
            label,
            bespoke_note: None,
        }
    }

    /// What an order item keeps: the resolution it was priced with, or (an item a shopper
    /// bought from the catalog, which records none) the catalog price.
    pub fn recorded(source: PriceSource, ids: &str, unit_price: i64, currency: &str) -> Resolution {
        serde_json::from_str::<Resolution>(ids).unwrap_or_else(|_| {
            Resolution::unlisted(
                source,
                unit_price,
                currency,
                "Catalog price (the variant's own)".into(),
            )
        })
    }
}

/// The tables (and their aliases) the pricing queries read, for query-plan checks.
pub const PLANNED_TABLES: &[&str] = &[
    "price_entries",
    "price_books",
    "price_agreements",
    "price_book_countries",
    "variants",
    "products",
    "e",
    "b",
    "a",
    "c",
    "v",
    "pr",
    "co",
];

/// The resolution an order item was priced with.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ItemResolution {
    pub order_item_id: String,
    pub order_id: String,
    pub order_number: String,
    pub sku: String,
    pub quantity: i64,
    pub resolution: Resolution,
}

/// `GET /admin/api/v1/pricing/resolutions/{order_item_id}`: what an item was priced with,
/// as it was when the order was placed (a shopper's item: the catalog price).
///
/// # Errors
/// 404 when the item is not of this store's orders.
pub async fn resolution_of_item<P: Platform>(
    p: &P,
    store_id: &str,
    item_id: &str,
) -> Result<ItemResolution, AppError> {
    #[derive(Deserialize)]
    struct Row {
        id: String,
        order_id: String,
        order_number: String,
        sku: String,
        quantity: i64,
        unit_price: i64,
        currency: String,
        price_source: PriceSource,
        price_source_ids: String,
    }
    let r: Row = p
        .db()
        .first(stmt!(
            "SELECT i.id, i.order_id, o.order_number, i.sku, i.quantity, i.unit_price, i.currency, i.price_source, i.price_source_ids \
             FROM order_items i JOIN orders o ON o.id = i.order_id WHERE i.id = ? AND o.store_id = ?",
            item_id,
            store_id
        ))
        .await?
        .ok_or(AppError::NotFound("order item"))?;
    let resolution = Resolution::recorded(
        r.price_source,
        &r.price_source_ids,
        r.unit_price,
        &r.currency,
    );
    Ok(ItemResolution {
        order_item_id: r.id,
        order_id: r.order_id,
        order_number: r.order_number,
        sku: r.sku,
        quantity: r.quantity,
        resolution,
    })
}

/// A validity window changed by a PATCH: each end given (`null`: always, or open-ended) or
/// kept as it was.
///
/// # Errors
/// 422 for a bad instant or an end not after the start.
pub fn window_update(
    (from, to): (i64, Option<i64>),
    new_from: Option<Option<&str>>,
    new_to: Option<Option<&str>>,
) -> Result<(i64, Option<i64>), AppError> {
    let from = match new_from {
        Some(v) => v
            .map(|f| instant("valid_from", f))
            .transpose()?
            .unwrap_or(0),
        None => from,
    };
    let to = match new_to {
        Some(v) => v.map(|t| instant("valid_to", t)).transpose()?,
        None => to,
    };
    if to.is_some_and(|t| t <= from) {
        return Err(AppError::validation("valid_to", "must be after valid_from"));
    }
    Ok((from, to))
}
