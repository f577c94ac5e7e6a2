//! Companies as customers (seed 001 §2.1): the company, its people ([`contacts`]) with
//! roles, and its address book ([`addresses`]). Operators manage them in the admin API;
//! a contact linked to a signed-in customer acts for the company in the storefront.

pub mod addresses;
pub mod contacts;
pub mod people;

use crate::AppError;
use crate::admin::orders::parse_limit;
use crate::db::{Db as _, DbError, DbExt as _, Stmt};
use crate::domain::{Currency, PaymentTerms};
use crate::ports::{Platform, PlatformExt as _};
use crate::stmt;
use crate::time_fmt::rfc3339;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize, Clone, schemars::JsonSchema)]
pub struct CompanyView {
    pub id: String,
    pub name: String,
    /// The company's id in the seller's other systems.
    pub external_ref: Option<String>,
    pub currency: String,
    /// `prepaid` or `net_N` (days).
    pub payment_terms: String,
    /// Its VAT or tax registration number, printed on its invoices.
    pub tax_id: Option<String>,
    pub default_shipping_address_id: Option<String>,
    pub default_billing_address_id: Option<String>,
    #[serde(skip_deserializing)]
    pub created_at: String,
    #[serde(rename(deserialize = "created_at"), skip_serializing)]
    pub created_ms: i64,
}

const COLUMNS: &str = "id, name, external_ref, lower(currency) AS currency, payment_terms, tax_id, \
    default_shipping_address_id, default_billing_address_id, created_at";

fn finish(mut c: CompanyView) -> CompanyView {
    c.created_at = rfc3339(c.created_ms);
    c
}

/// A company of the store, or 404.
///
/// # Errors
/// 404 when it is not this store's.
pub async fn company<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
) -> Result<CompanyView, AppError> {
    p.db()
        .first::<CompanyView>(stmt!(
            format!("SELECT {COLUMNS} FROM companies WHERE id = ? AND store_id = ?"),
            id,
            store_id
        ))
        .await?
        .map(finish)
        .ok_or(AppError::NotFound("company"))
}

/// The company list's query (exposed for the query-plan test): by name, after the company
/// `after` (a keyset on the lowercased name and id); `q` is the name's beginning or the
/// exact external reference.
pub fn list_query(store_id: &str, q: Option<&str>, after: Option<&str>, limit: u32) -> Stmt {
    let mut s = stmt!(
        format!("SELECT {COLUMNS} FROM companies WHERE store_id = ?"),
        store_id
    );
    if let Some(q) = q {
        let low = q.to_lowercase();
        let high = format!("{low}{}", char::MAX);
        s = s.and_when(&stmt!(
            "(lower(name) >= ? AND lower(name) < ?) OR external_ref = ?",
            low,
            high,
            q
        ));
    }
    if let Some(after) = after {
        s = s.and_when(&stmt!(
            "(lower(name), id) > (SELECT lower(name), id FROM companies WHERE id = ? AND store_id = ?)",
            after,
            store_id
        ));
    }
    s.sql.push_str(" ORDER BY lower(name), id LIMIT ?");
    s.bind(i64::from(limit))
}

/// A page of companies.
pub type CompanyPage = crate::catalog::Page<CompanyView>;

/// `GET /admin/api/v1/companies?q=&limit=&starting_after=`.
///
/// # Errors
/// 422 bad limit.
pub async fn list<P: Platform>(
    p: &P,
    store_id: &str,
    q: Option<&str>,
    starting_after: Option<&str>,
    limit: Option<&str>,
) -> Result<CompanyPage, AppError> {
    let limit = parse_limit(limit, 50, 200)?;
    let q = q.map(str::trim).filter(|q| !q.is_empty());
    let after = starting_after.filter(|s| !s.is_empty());
    let mut rows: Vec<CompanyView> = p
        .db()
        .query(list_query(store_id, q, after, limit + 1))
        .await?;
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_starting_after = has_more
        .then(|| rows.last().map(|c| c.id.clone()))
        .flatten();
    Ok(crate::catalog::Page {
        data: rows.into_iter().map(finish).collect(),
        has_more,
        next_starting_after,
    })
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyInput {
    #[schemars(length(min = 1, max = 200))]
    pub name: String,
    #[serde(default)]
    #[schemars(length(max = 100))]
    pub external_ref: Option<String>,
    /// The currency the company is priced and invoiced in (default: the store's). Fixed
    /// once created.
    #[serde(default)]
    #[schemars(schema_with = "crate::domain::optional_currency_schema")]
    pub currency: Option<String>,
    /// `prepaid` (default) or `net_N` (N days, 1 to 365).
    #[serde(default)]
    #[schemars(regex(pattern = r"^(prepaid|net_[1-9][0-9]{0,2})$"), extend("examples" = ["net_30"]))]
    pub payment_terms: Option<String>,
    /// Its VAT or tax registration number, printed on its invoices.
    #[serde(default)]
    #[schemars(length(max = 50))]
    pub tax_id: Option<String>,
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyUpdate {
    #[serde(default)]
    #[schemars(length(min = 1, max = 200))]
    pub name: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "crate::input::nullable")]
    #[schemars(length(max = 100))]
    pub external_ref: Option<Option<String>>,
    /// `prepaid` or `net_N` (N days, 1 to 365).
    #[serde(default)]
    #[schemars(regex(pattern = r"^(prepaid|net_[1-9][0-9]{0,2})$"), extend("examples" = ["net_30"]))]
    pub payment_terms: Option<String>,
    /// Printed on its invoices; `null` clears it.
    #[serde(default, deserialize_with = "crate::input::nullable")]
    #[schemars(length(max = 50))]
    pub tax_id: Option<Option<String>>,
    /// An address of this company's book; `null` clears it.
    #[serde(default, deserialize_with = "crate::input::nullable")]
    pub default_shipping_address_id: Option<Option<String>>,
    /// An address of this company's book; `null` clears it.
    #[serde(default, deserialize_with = "crate::input::nullable")]
    pub default_billing_address_id: Option<Option<String>>,
}

fn terms(v: &str) -> Result<String, AppError> {
    PaymentTerms::parse(v)
        .map(PaymentTerms::as_string)
        .map_err(|m| AppError::validation("payment_terms", m))
}

fn taken_ref(e: DbError) -> AppError {
    match e {
        DbError::Unique(m) if m.contains("external_ref") => AppError::conflict(
            "company_exists",
            "Another company of this store has that external_ref.",
        ),
        e => e.into(),
    }
}

/// `POST /admin/api/v1/companies`.
///
/// # Errors
/// 422 bad fields; 409 an external reference another company has.
pub async fn create<P: Platform>(
    p: &P,
    store_id: &str,
    store_currency: &str,
    input: CompanyInput,
) -> Result<CompanyView, AppError> {
    let name = crate::input::line("name", &input.name, 1, 200)?;
    let external_ref =
        crate::input::optional_line("external_ref", input.external_ref.as_deref(), 100)?;
    let currency = Currency::parse(input.currency.as_deref().unwrap_or(store_currency))
        .map_err(|m| AppError::validation("currency", m))?;
    let payment_terms = terms(input.payment_terms.as_deref().unwrap_or("prepaid"))?;
    let tax_id = crate::input::optional_line("tax_id", input.tax_id.as_deref(), 50)?;
    let id = p.new_id("co");
    let now = p.now_ms();
    p.db()
        .run(stmt!(
            "INSERT INTO companies (id, store_id, name, external_ref, currency, payment_terms, tax_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            &id,
            store_id,
            name,
            external_ref,
            currency.as_str().to_uppercase(),
            payment_terms,
            tax_id,
            now,
            now
        ))
        .await
        .map_err(taken_ref)?;
    company(p, store_id, &id).await
}

/// `PATCH /admin/api/v1/companies/{company_id}`: name, reference, terms, default addresses.
/// One statement, which changes nothing unless each new default is in the company's book
/// when it runs.
///
/// # Errors
/// 404, also for a default that is not in the company's book; 422 bad fields; 409 a
/// taken external reference.
pub async fn update<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
    input: CompanyUpdate,
) -> Result<CompanyView, AppError> {
    let current = company(p, store_id, id).await?;
    let name = input
        .name
        .as_deref()
        .map(|n| crate::input::line("name", n, 1, 200))
        .transpose()?;
    let external_ref = input
        .external_ref
        .map(|r| crate::input::optional_line("external_ref", r.as_deref(), 100))
        .transpose()?;
    let payment_terms = input.payment_terms.as_deref().map(terms).transpose()?;
    let tax_id = input
        .tax_id
        .map(|t| crate::input::optional_line("tax_id", t.as_deref(), 50))
        .transpose()?;
    let shipping = input
        .default_shipping_address_id
        .unwrap_or(current.default_shipping_address_id);
    let billing = input
        .default_billing_address_id
        .unwrap_or(current.default_billing_address_id);
    let mut update = stmt!(
        "UPDATE companies SET name = ?, external_ref = ?, payment_terms = ?, tax_id = ?, default_shipping_address_id = ?, default_billing_address_id = ?, updated_at = ? WHERE id = ?",
        name.unwrap_or(current.name),
        external_ref.unwrap_or(current.external_ref),
        payment_terms.unwrap_or(current.payment_terms),
        tax_id.unwrap_or(current.tax_id),
        &shipping,
        &billing,
        p.now_ms(),
        id
    );
    let defaults = [
        ("default_shipping_address_id", &shipping),
        ("default_billing_address_id", &billing),
    ];
    for (_, address) in &defaults {
        if let Some(a) = address {
            update = update.and_when(&in_book(a));
        }
    }
    if p.db().run(update).await.map_err(taken_ref)? == 0 {
        for (_, address) in defaults {
            if let Some(a) = address
                && addresses::in_book(p, id, a).await?.is_none()
            {
                // An id of nothing this company has: not found, as for any id.
                return Err(AppError::NotFound("address in this company's book"));
            }
        }
        return Err(AppError::conflict(
            "company_changed",
            "The company changed meanwhile; try again.",
        ));
    }
    company(p, store_id, id).await
}

/// The guard of a write that needs `address_id` in the book of `companies.id`.
fn in_book(address_id: &str) -> Stmt {
    stmt!(
        "EXISTS (SELECT 1 FROM addresses WHERE id = ? AND company_id = companies.id AND deleted_at IS NULL)",
        address_id
    )
}

/// A company with its people and address book.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CompanyDetail {
    pub company: CompanyView,
    pub contacts: Vec<contacts::ContactView>,
    pub addresses: Vec<addresses::AddressView>,
}

/// `GET /admin/api/v1/companies/{company_id}`.
///
/// # Errors
/// 404.
pub async fn detail<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
) -> Result<CompanyDetail, AppError> {
    let company = company(p, store_id, id).await?;
    let contacts = contacts::list(p, store_id, id).await?;
    let addresses = addresses::list(p, store_id, id).await?;
    Ok(CompanyDetail {
        company,
        contacts,
        addresses,
    })
}
