//! Quotes: many lines priced at once for a company (or none), shipped to a country, in a
//! currency — each line's resolution, the totals, and whether strict checkout would take
//! every line (and why not). Operators quote for any company; a company's contact quotes
//! as their own company.

use super::{PricingContext, Resolution, resolve};
use crate::AppError;
use crate::db::{DbExt as _, Stmt};
use crate::domain::{Country, Currency, Quantity};
use crate::ports::Platform;
use crate::sql::stores::StoreRow;
use crate::stmt;
use crate::time_fmt::rfc3339;
use serde::{Deserialize, Serialize};

/// At most this many lines per quote (and per order).
pub const MAX_LINES: usize = 250;

/// The most a quote or order may come to, in minor units.
pub const MAX_TOTAL: i64 = 1_000_000_000_000;

#[derive(Debug, Deserialize, Clone, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LineInput {
    pub variant_id: String,
    #[schemars(range(min = 1, max = 1_000_000))]
    pub quantity: i64,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteInput {
    /// Operators: the company to quote for (none: book prices only). In the storefront it
    /// is the caller's company; naming another answers 404.
    #[serde(default)]
    pub company_id: Option<String>,
    /// Default: the company's currency (or the store's).
    #[serde(default)]
    #[schemars(schema_with = "crate::domain::optional_currency_schema")]
    pub currency: Option<String>,
    /// Where it ships (regional books; ISO 3166-1 alpha-2); default: the company's default
    /// shipping address.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[A-Za-z]{2}$"), extend("examples" = ["US"]))]
    pub ship_to_country: Option<String>,
    #[schemars(length(min = 1, max = 250))]
    pub lines: Vec<LineInput>,
}

#[derive(Debug, Serialize, Clone, schemars::JsonSchema)]
pub struct QuoteLine {
    pub variant_id: String,
    pub sku: String,
    pub title: String,
    pub quantity: u32,
    /// How the line is priced; none when nothing prices it.
    pub resolution: Option<Resolution>,
    pub line_total: Option<i64>,
    /// Why the line cannot be bought as it is, or cannot go to Stripe in strict mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[derive(Debug, Serialize, Clone, schemars::JsonSchema)]
pub struct Quote {
    pub company_id: Option<String>,
    pub currency: String,
    pub ship_to_country: Option<String>,
    pub priced_at: String,
    pub lines: Vec<QuoteLine>,
    /// Of the priced lines.
    pub subtotal_amount: i64,
    pub shipping_amount: i64,
    pub total_amount: i64,
    /// Every line has a price.
    pub complete: bool,
    /// Some line is physical (shipping applies).
    pub ships: bool,
    /// Every line could be sent to Stripe Checkout now (a synced Price at its amount).
    pub strict_ready: bool,
}

#[derive(Debug, Deserialize)]
struct VariantRow {
    id: String,
    sku: String,
    title: String,
    kind: String,
    status: String,
    product_status: String,
}

/// The variants of a quote's lines (exposed for the query-plan test).
pub fn variants_query(store_id: &str, ids: &[&str]) -> Stmt {
    stmt!(
        "SELECT v.id, v.sku, CASE WHEN v.title = '' OR v.title = pr.title THEN pr.title ELSE pr.title || ' — ' || v.title END AS title, \
         v.kind, v.status, pr.status AS product_status \
         FROM variants v JOIN products pr ON pr.id = v.product_id \
         WHERE v.id IN (SELECT value FROM json_each(?)) AND v.store_id = ?",
        serde_json::to_string(ids).unwrap_or_else(|_| "[]".into()),
        store_id
    )
}

/// Who is priced, shipped where, in which currency.
pub struct Buyer {
    pub company_id: Option<String>,
    pub currency: String,
    pub ship_to: Option<Country>,
}

impl Buyer {
    /// The buyer a quote asks about: the company's currency and default shipping country
    /// unless the input names others.
    ///
    /// # Errors
    /// 404 an unknown company; 422 an unknown currency or country.
    pub async fn of<P: Platform>(
        p: &P,
        store: &StoreRow,
        company_id: Option<&str>,
        currency: Option<&str>,
        ship_to_country: Option<&str>,
    ) -> Result<Buyer, AppError> {
        let company = match company_id {
            Some(id) => Some(crate::companies::company(p, &store.id, id).await?),
            None => None,
        };
        let currency = Currency::parse(
            currency
                .or(company.as_ref().map(|c| c.currency.as_str()))
                .unwrap_or(&store.currency),
        )
        .map_err(|m| AppError::validation("currency", m))?;
        let ship_to = match (ship_to_country, &company) {
            (Some(c), _) => {
                Some(Country::parse(c).map_err(|m| AppError::validation("ship_to_country", m))?)
            }
            (None, Some(co)) => match &co.default_shipping_address_id {
                Some(a) => crate::companies::addresses::in_book(p, &co.id, a)
                    .await?
                    .and_then(|a| Country::parse(&a.country).ok()),
                None => None,
            },
            (None, None) => None,
        };
        Ok(Buyer {
            company_id: company.map(|c| c.id),
            currency: currency.as_str().to_uppercase(),
            ship_to,
        })
    }
}

/// Checks the lines' shape: 1 to [`MAX_LINES`] lines, quantities within bounds.
///
/// # Errors
/// 422 naming the line.
pub fn checked_lines(lines: &[LineInput]) -> Result<Vec<(String, u32)>, AppError> {
    if lines.is_empty() || lines.len() > MAX_LINES {
        return Err(AppError::validation(
            "lines",
            format!("give 1 to {MAX_LINES} lines"),
        ));
    }
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let q = Quantity::parse(l.quantity)
                .map_err(|m| AppError::validation(format!("lines[{i}].quantity"), m))?;
            Ok((l.variant_id.clone(), q.get()))
        })
        .collect()
}

/// Prices lines for a buyer: two queries whatever the number of lines (the variants, then
/// every candidate entry).
///
/// # Errors
/// 404 a variant not in the store; 422 a total beyond [`MAX_TOTAL`].
pub async fn price<P: Platform>(
    p: &P,
    store: &StoreRow,
    buyer: &Buyer,
    lines: &[(String, u32)],
    at_ms: i64,
) -> Result<Quote, AppError> {
    let ids: Vec<&str> = lines.iter().map(|(v, _)| v.as_str()).collect();
    let variants: Vec<VariantRow> = p.db().query(variants_query(&store.id, &ids)).await?;
    let cx = PricingContext {
        store_id: &store.id,
        company_id: buyer.company_id.as_deref(),
        ship_to: buyer.ship_to.as_ref(),
        currency: &buyer.currency,
        at_ms,
    };
    let asked: Vec<(&str, u32)> = lines.iter().map(|(v, q)| (v.as_str(), *q)).collect();
    let resolutions = resolve(p, &cx, &asked).await?;
    let mut out = Vec::with_capacity(lines.len());
    let (mut subtotal, mut ships) = (0i64, false);
    for ((variant_id, quantity), resolution) in lines.iter().zip(resolutions) {
        let Some(v) = variants.iter().find(|v| v.id == *variant_id) else {
            return Err(AppError::NotFound("variant"));
        };
        ships |= v.kind == "physical";
        let on_sale = v.status == "active" && v.product_status == "active";
        let line_total = resolution
            .as_ref()
            .map(|r| r.unit_amount * i64::from(*quantity));
        subtotal += line_total.unwrap_or(0);
        let problem = if !on_sale {
            Some("this variant is no longer sold".to_owned())
        } else {
            match &resolution {
                None => Some(format!(
                    "no price for this variant in {}{}",
                    buyer.currency,
                    buyer
                        .ship_to
                        .as_ref()
                        .map(|c| format!(" shipped to {}", c.as_str()))
                        .unwrap_or_default()
                )),
                Some(r) if !r.strict_ready => Some(match r.sync_status {
                    crate::domain::SyncStatus::Failed => {
                        "its Stripe Price could not be created (see the entry's sync error; re-sync it)".to_owned()
                    }
                    _ => "its Stripe Price is not synced at this amount yet".to_owned(),
                }),
                Some(_) => None,
            }
        };
        out.push(QuoteLine {
            variant_id: variant_id.clone(),
            sku: v.sku.clone(),
            title: v.title.clone(),
            quantity: *quantity,
            resolution,
            line_total,
            problem,
        });
    }
    // Money stays far inside what D1 (JavaScript numbers) holds exactly.
    if subtotal > MAX_TOTAL {
        return Err(AppError::validation(
            "total_amount",
            format!("the lines come to more than {MAX_TOTAL} minor units; split the order"),
        ));
    }
    let complete = out.iter().all(|l| l.resolution.is_some());
    let shipping = if buyer.currency.eq_ignore_ascii_case(&store.currency) {
        crate::orders::place::shipping_for(store, subtotal, ships)
    } else {
        0
    };
    Ok(Quote {
        company_id: buyer.company_id.clone(),
        currency: buyer.currency.to_lowercase(),
        ship_to_country: buyer.ship_to.as_ref().map(|c| c.as_str().to_owned()),
        priced_at: rfc3339(at_ms),
        strict_ready: out.iter().all(|l| l.problem.is_none()),
        lines: out,
        subtotal_amount: subtotal,
        shipping_amount: shipping,
        total_amount: subtotal + shipping,
        complete,
        ships,
    })
}

/// `POST /admin/api/v1/pricing/quote` (any company) and `POST /v1/pricing/quote` (the
/// caller's company, passed as `company_id`).
///
/// # Errors
/// 422 bad lines, company, currency or country.
pub async fn quote<P: Platform>(
    p: &P,
    store: &StoreRow,
    company_id: Option<&str>,
    input: &QuoteInput,
) -> Result<Quote, AppError> {
    let lines = checked_lines(&input.lines)?;
    let buyer = Buyer::of(
        p,
        store,
        company_id,
        input.currency.as_deref(),
        input.ship_to_country.as_deref(),
    )
    .await?;
    price(p, store, &buyer, &lines, p.now_ms()).await
}
