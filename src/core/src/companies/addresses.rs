//! A company's address book. The same place is in a book once: saving an address that
//! normalises to one already there answers 409 with that address's id (the unique index
//! on the normalised form decides, so two concurrent saves cannot both land). Deleting an
//! address keeps its row for the orders and shipments that name it and clears the
//! company's defaults that pointed at it, in one batch.

use crate::AppError;
use crate::db::{Db as _, DbError, DbExt as _, Stmt};
use crate::domain::{Country, address_dedupe_key};
use crate::error::Conflicting;
use crate::ports::{Platform, PlatformExt as _};
use crate::stmt;
use crate::time_fmt::rfc3339;
use serde::{Deserialize, Serialize};

crate::string_enum!(
    /// Which default of the company an address is.
    AddressKind { Shipping = "shipping", Billing = "billing" }
);

impl AddressKind {
    fn column(self) -> &'static str {
        match self {
            AddressKind::Shipping => "default_shipping_address_id",
            AddressKind::Billing => "default_billing_address_id",
        }
    }
}

#[derive(Debug, Serialize, Deserialize, Clone, schemars::JsonSchema)]
pub struct AddressView {
    pub id: String,
    pub company_id: String,
    pub label: Option<String>,
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub phone: Option<String>,
    /// The company defaults this address is (`shipping`, `billing`).
    #[serde(skip_deserializing)]
    pub default_for: Vec<AddressKind>,
    #[serde(skip_deserializing)]
    pub last_used_at: Option<String>,
    #[serde(skip_deserializing)]
    pub created_at: String,
    #[serde(rename(deserialize = "last_used_at"), skip_serializing, default)]
    pub last_used_ms: Option<i64>,
    #[serde(rename(deserialize = "created_at"), skip_serializing)]
    pub created_ms: i64,
    #[serde(skip_serializing, default, deserialize_with = "crate::db::int_bool")]
    is_default_shipping: bool,
    #[serde(skip_serializing, default, deserialize_with = "crate::db::int_bool")]
    is_default_billing: bool,
}

const SELECT: &str = "SELECT a.id, a.company_id, a.label, a.name, a.line1, a.line2, a.city, a.region, a.postal_code, a.country, \
    a.phone, a.last_used_at, a.created_at, \
    a.id IS co.default_shipping_address_id AS is_default_shipping, a.id IS co.default_billing_address_id AS is_default_billing \
    FROM addresses a JOIN companies co ON co.id = a.company_id";

fn finish(mut a: AddressView) -> AddressView {
    a.created_at = rfc3339(a.created_ms);
    a.last_used_at = a.last_used_ms.map(rfc3339);
    a.default_for = [
        (a.is_default_shipping, AddressKind::Shipping),
        (a.is_default_billing, AddressKind::Billing),
    ]
    .into_iter()
    .filter_map(|(is, kind)| is.then_some(kind))
    .collect();
    a
}

/// A company's address book query (exposed for the query-plan test).
pub fn list_query(store_id: &str, company_id: &str) -> Stmt {
    stmt!(
        format!(
            "{SELECT} WHERE a.company_id = ? AND a.store_id = ? AND a.deleted_at IS NULL ORDER BY a.created_at, a.id LIMIT 500"
        ),
        company_id,
        store_id
    )
}

/// `GET /admin/api/v1/companies/{company_id}/addresses`.
///
/// # Errors
/// 404 when the company is not this store's.
pub async fn list<P: Platform>(
    p: &P,
    store_id: &str,
    company_id: &str,
) -> Result<Vec<AddressView>, AppError> {
    let rows: Vec<AddressView> = p.db().query(list_query(store_id, company_id)).await?;
    if rows.is_empty() {
        super::company(p, store_id, company_id).await?;
    }
    Ok(rows.into_iter().map(finish).collect())
}

/// An address in a company's book (not deleted), if it is there.
///
/// # Errors
/// Storage failures.
pub async fn in_book<P: Platform>(
    p: &P,
    company_id: &str,
    id: &str,
) -> Result<Option<AddressView>, AppError> {
    Ok(p.db()
        .first::<AddressView>(stmt!(
            format!("{SELECT} WHERE a.id = ? AND a.company_id = ? AND a.deleted_at IS NULL"),
            id,
            company_id
        ))
        .await?
        .map(finish))
}

async fn address<P: Platform>(p: &P, store_id: &str, id: &str) -> Result<AddressView, AppError> {
    p.db()
        .first::<AddressView>(stmt!(
            format!("{SELECT} WHERE a.id = ? AND a.store_id = ? AND a.deleted_at IS NULL"),
            id,
            store_id
        ))
        .await?
        .map(finish)
        .ok_or(AppError::NotFound("address"))
}

#[derive(Debug, Deserialize, Clone, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressInput {
    /// What the company calls it ("Warehouse 2").
    #[serde(default)]
    #[schemars(length(max = 100))]
    pub label: Option<String>,
    /// The recipient (person or department).
    #[schemars(length(min = 1, max = 200))]
    pub name: String,
    #[schemars(length(min = 1, max = 200))]
    pub line1: String,
    #[serde(default)]
    #[schemars(length(max = 200))]
    pub line2: Option<String>,
    #[schemars(length(min = 1, max = 100))]
    pub city: String,
    #[serde(default)]
    #[schemars(length(max = 100))]
    pub region: Option<String>,
    #[serde(default)]
    #[schemars(length(max = 20))]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2 (either case).
    #[schemars(regex(pattern = r"^[A-Za-z]{2}$"), extend("examples" = ["US"]))]
    pub country: String,
    #[serde(default)]
    #[schemars(length(max = 40))]
    pub phone: Option<String>,
    /// Make it the company's default for these.
    #[serde(default)]
    pub default_for: Vec<AddressKind>,
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressUpdate {
    #[serde(default, deserialize_with = "crate::input::nullable")]
    #[schemars(length(max = 100))]
    pub label: Option<Option<String>>,
    #[serde(default)]
    #[schemars(length(min = 1, max = 200))]
    pub name: Option<String>,
    #[serde(default)]
    #[schemars(length(min = 1, max = 200))]
    pub line1: Option<String>,
    #[serde(default, deserialize_with = "crate::input::nullable")]
    #[schemars(length(max = 200))]
    pub line2: Option<Option<String>>,
    #[serde(default)]
    #[schemars(length(min = 1, max = 100))]
    pub city: Option<String>,
    #[serde(default, deserialize_with = "crate::input::nullable")]
    #[schemars(length(max = 100))]
    pub region: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::input::nullable")]
    #[schemars(length(max = 20))]
    pub postal_code: Option<Option<String>>,
    /// ISO 3166-1 alpha-2.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[A-Za-z]{2}$"), extend("examples" = ["US"]))]
    pub country: Option<String>,
    #[serde(default, deserialize_with = "crate::input::nullable")]
    #[schemars(length(max = 40))]
    pub phone: Option<Option<String>>,
    /// Make it the company's default for these (other defaults stay as they are).
    #[serde(default)]
    pub default_for: Vec<AddressKind>,
}

/// An address checked and normalised.
pub struct Checked {
    pub label: Option<String>,
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Country,
    pub phone: Option<String>,
}

impl Checked {
    /// # Errors
    /// 422 naming the field (`prefix` + field, e.g. `billing_address.city`).
    pub fn from_input(prefix: &str, a: &AddressInput) -> Result<Self, AppError> {
        let f = |name: &str| format!("{prefix}{name}");
        Ok(Checked {
            label: crate::input::optional_line(&f("label"), a.label.as_deref(), 100)?,
            name: crate::input::line(&f("name"), &a.name, 1, 200)?,
            line1: crate::input::line(&f("line1"), &a.line1, 1, 200)?,
            line2: crate::input::optional_line(&f("line2"), a.line2.as_deref(), 200)?,
            city: crate::input::line(&f("city"), &a.city, 1, 100)?,
            region: crate::input::optional_line(&f("region"), a.region.as_deref(), 100)?,
            postal_code: crate::input::optional_line(
                &f("postal_code"),
                a.postal_code.as_deref(),
                20,
            )?,
            country: Country::parse(&a.country)
                .map_err(|m| AppError::validation(f("country"), m))?,
            phone: crate::input::optional_line(&f("phone"), a.phone.as_deref(), 40)?,
        })
    }
    pub fn dedupe_key(&self) -> String {
        address_dedupe_key(
            &self.line1,
            self.line2.as_deref(),
            &self.city,
            self.region.as_deref(),
            self.postal_code.as_deref(),
            self.country.as_str(),
        )
    }
}

/// The insert of a checked address into a company's book (fails on the unique index when
/// the book has the same place); an `INSERT … SELECT`, so a guard can follow (`when`).
pub fn insert(id: &str, store_id: &str, company_id: &str, a: &Checked, now: i64) -> Stmt {
    stmt!(
        "INSERT INTO addresses (id, store_id, company_id, label, name, line1, line2, city, region, postal_code, country, phone, \
         dedupe_key, created_at, updated_at) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?",
        id,
        store_id,
        company_id,
        &a.label,
        &a.name,
        &a.line1,
        &a.line2,
        &a.city,
        &a.region,
        &a.postal_code,
        a.country.as_str(),
        &a.phone,
        a.dedupe_key(),
        now,
        now
    )
}

/// The id of the address in a company's book that is the same place, if any.
///
/// # Errors
/// Storage failures.
pub async fn same_place<P: Platform>(
    p: &P,
    company_id: &str,
    dedupe_key: &str,
) -> Result<Option<String>, AppError> {
    #[derive(Deserialize)]
    struct Id {
        id: String,
    }
    Ok(p.db()
        .first::<Id>(stmt!(
            "SELECT id FROM addresses WHERE company_id = ? AND dedupe_key = ? AND deleted_at IS NULL",
            company_id,
            dedupe_key
        ))
        .await?
        .map(|r| r.id))
}

/// The 409 for an address the book already has.
async fn refused<P: Platform>(p: &P, company_id: &str, key: &str, e: DbError) -> AppError {
    match e {
        DbError::Unique(m) if m.contains("dedupe_key") => {
            match same_place(p, company_id, key).await {
                Ok(Some(id)) => AppError::ConflictWith {
                    code: "address_exists",
                    message: "The company's address book already has this address.".into(),
                    conflicts: vec![Conflicting {
                        id,
                        reason: "the same address (ignoring case, spacing and punctuation)".into(),
                    }],
                },
                Ok(None) => AppError::conflict(
                    "address_changed",
                    "The address book changed meanwhile; try again.",
                ),
                Err(e) => e,
            }
        }
        e => e.into(),
    }
}

fn defaults(company_id: &str, id: &str, kinds: &[AddressKind], now: i64) -> Vec<Stmt> {
    kinds
        .iter()
        .map(|k| {
            stmt!(
                format!(
                    "UPDATE companies SET {} = ?, updated_at = ? WHERE id = ?",
                    k.column()
                ),
                id,
                now,
                company_id
            )
        })
        .collect()
}

/// `POST /admin/api/v1/companies/{company_id}/addresses`: saves an address to the book
/// (and makes it a default), one batch.
///
/// # Errors
/// 404 company; 422 bad fields; 409 with the existing address's id when the book has the
/// same place.
pub async fn create<P: Platform>(
    p: &P,
    store_id: &str,
    company_id: &str,
    input: AddressInput,
) -> Result<AddressView, AppError> {
    super::company(p, store_id, company_id).await?;
    let a = Checked::from_input("", &input)?;
    let id = p.new_id("adr");
    let now = p.now_ms();
    let mut batch = vec![insert(&id, store_id, company_id, &a, now)];
    batch.extend(defaults(company_id, &id, &input.default_for, now));
    if let Err(e) = p.db().batch(batch).await {
        return Err(refused(p, company_id, &a.dedupe_key(), e).await);
    }
    address(p, store_id, &id).await
}

/// `PATCH /admin/api/v1/addresses/{address_id}`.
///
/// # Errors
/// 404; 422 bad fields; 409 with the other address's id when the change makes it the same
/// place as another address in the book.
pub async fn update<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
    input: AddressUpdate,
) -> Result<AddressView, AppError> {
    let cur = address(p, store_id, id).await?;
    let merged = AddressInput {
        label: input.label.unwrap_or(cur.label),
        name: input.name.unwrap_or(cur.name),
        line1: input.line1.unwrap_or(cur.line1),
        line2: input.line2.unwrap_or(cur.line2),
        city: input.city.unwrap_or(cur.city),
        region: input.region.unwrap_or(cur.region),
        postal_code: input.postal_code.unwrap_or(cur.postal_code),
        country: input.country.unwrap_or(cur.country),
        phone: input.phone.unwrap_or(cur.phone),
        default_for: input.default_for,
    };
    let a = Checked::from_input("", &merged)?;
    let now = p.now_ms();
    let mut batch = vec![stmt!(
        "UPDATE addresses SET label = ?, name = ?, line1 = ?, line2 = ?, city = ?, region = ?, postal_code = ?, country = ?, \
         phone = ?, dedupe_key = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL",
        &a.label,
        &a.name,
        &a.line1,
        &a.line2,
        &a.city,
        &a.region,
        &a.postal_code,
        a.country.as_str(),
        &a.phone,
        a.dedupe_key(),
        now,
        id
    )];
    batch.extend(defaults(&cur.company_id, id, &merged.default_for, now));
    if let Err(e) = p.db().batch(batch).await {
        return Err(refused(p, &cur.company_id, &a.dedupe_key(), e).await);
    }
    address(p, store_id, id).await
}

/// `DELETE /admin/api/v1/addresses/{address_id}`: out of the book (kept for what names it),
/// and no longer a default.
///
/// # Errors
/// 404.
pub async fn delete<P: Platform>(p: &P, store_id: &str, id: &str) -> Result<(), AppError> {
    let cur = address(p, store_id, id).await?;
    let now = p.now_ms();
    p.db()
        .batch(vec![
            stmt!(
                "UPDATE addresses SET deleted_at = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL",
                now,
                now,
                id
            ),
            stmt!(
                "UPDATE companies SET default_shipping_address_id = NULL, updated_at = ? WHERE id = ? AND default_shipping_address_id = ?",
                now,
                &cur.company_id,
                id
            ),
            stmt!(
                "UPDATE companies SET default_billing_address_id = NULL, updated_at = ? WHERE id = ? AND default_billing_address_id = ?",
                now,
                &cur.company_id,
                id
            ),
        ])
        .await?;
    Ok(())
}
