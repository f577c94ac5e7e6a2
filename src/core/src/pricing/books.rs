//! Price books: global, or regional for a set of countries; a currency (fixed once
//! created), a validity window and an on/off switch. At any instant, one active global book
//! per currency and one active regional book per country and currency: a save that would
//! break this is refused with 409 naming the book it collides with.

use super::entries::{self, EntryInput, EntryView, Parent};
use crate::AppError;
use crate::db::{Db as _, DbError, DbExt as _, Stmt};
use crate::domain::{BookScope, Country, Currency};
use crate::error::Conflicting;
use crate::ports::{Platform, PlatformExt as _};
use crate::sql::transitions::AMBIGUOUS;
use crate::stmt;
use crate::time_fmt::rfc3339;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize, Clone, schemars::JsonSchema)]
pub struct BookView {
    pub id: String,
    pub name: String,
    pub scope: BookScope,
    /// The countries of a regional book (ISO 3166-1 alpha-2).
    #[serde(skip_deserializing)]
    pub countries: Vec<String>,
    pub currency: String,
    #[serde(skip_deserializing)]
    pub valid_from: Option<String>,
    #[serde(skip_deserializing)]
    pub valid_to: Option<String>,
    #[serde(deserialize_with = "crate::db::int_bool")]
    pub active: bool,
    pub entry_count: i64,
    /// Entries not (yet) mirrored to Stripe at their amount.
    pub unsynced_count: i64,
    #[serde(rename(deserialize = "valid_from"), skip_serializing)]
    pub from_ms: i64,
    #[serde(rename(deserialize = "valid_to"), skip_serializing, default)]
    pub to_ms: Option<i64>,
    #[serde(skip_serializing, default)]
    country_list: Option<String>,
}

const SELECT: &str = "SELECT b.id, b.name, b.scope, lower(b.currency) AS currency, b.valid_from, b.valid_to, b.active, \
    (SELECT group_concat(country) FROM (SELECT country FROM price_book_countries c WHERE c.book_id = b.id ORDER BY country)) AS country_list, \
    (SELECT COUNT(*) FROM price_entries e WHERE e.book_id = b.id AND e.deleted_at IS NULL) AS entry_count, \
    (SELECT COUNT(*) FROM price_entries e WHERE e.book_id = b.id AND e.deleted_at IS NULL \
       AND (e.sync_status <> 'synced' OR e.synced_amount IS NOT e.unit_amount)) AS unsynced_count \
    FROM price_books b";

fn finish(mut b: BookView) -> BookView {
    b.valid_from = (b.from_ms > 0).then(|| rfc3339(b.from_ms));
    b.valid_to = b.to_ms.map(rfc3339);
    b.countries = b
        .country_list
        .take()
        .map(|l| l.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    b
}

/// The store's books (exposed for the query-plan test).
pub fn list_query(store_id: &str) -> Stmt {
    stmt!(
        format!("{SELECT} WHERE b.store_id = ? ORDER BY b.scope, b.name, b.id LIMIT 500"),
        store_id
    )
}

/// `GET /admin/api/v1/price-books`.
///
/// # Errors
/// Storage failures.
pub async fn list<P: Platform>(p: &P, store_id: &str) -> Result<Vec<BookView>, AppError> {
    let rows: Vec<BookView> = p.db().query(list_query(store_id)).await?;
    Ok(rows.into_iter().map(finish).collect())
}

/// One book of the store, or 404.
///
/// # Errors
/// 404.
pub async fn book<P: Platform>(p: &P, store_id: &str, id: &str) -> Result<BookView, AppError> {
    p.db()
        .first::<BookView>(stmt!(
            format!("{SELECT} WHERE b.id = ? AND b.store_id = ?"),
            id,
            store_id
        ))
        .await?
        .map(finish)
        .ok_or(AppError::NotFound("price book"))
}

/// A book with its entries and their sync state.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct BookDetail {
    pub book: BookView,
    pub entries: Vec<EntryView>,
}

/// `GET /admin/api/v1/price-books/{price_book_id}`.
///
/// # Errors
/// 404.
pub async fn detail<P: Platform>(p: &P, store_id: &str, id: &str) -> Result<BookDetail, AppError> {
    let book = book(p, store_id, id).await?;
    let entries = entries::list(p, Parent::Book(id)).await?;
    Ok(BookDetail { book, entries })
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BookInput {
    #[schemars(length(min = 1, max = 200))]
    pub name: String,
    pub scope: BookScope,
    /// A regional book's countries (at least one; ISO 3166-1 alpha-2); none for a global
    /// book.
    #[serde(default)]
    #[schemars(inner(regex(pattern = r"^[A-Z]{2}$")))]
    pub countries: Vec<String>,
    /// Default: the store's. Fixed once created.
    #[serde(default)]
    #[schemars(schema_with = "crate::domain::optional_currency_schema")]
    pub currency: Option<String>,
    /// Inclusive; a date or RFC 3339 (default: always).
    #[serde(default)]
    #[schemars(extend("examples" = ["2027-01-01"]))]
    pub valid_from: Option<String>,
    /// Exclusive; a date or RFC 3339 (default: open-ended).
    #[serde(default)]
    #[schemars(extend("examples" = ["2028-01-01"]))]
    pub valid_to: Option<String>,
    /// Default false: fill a book, then switch it on.
    #[serde(default)]
    pub active: bool,
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BookUpdate {
    #[serde(default)]
    #[schemars(length(min = 1, max = 200))]
    pub name: Option<String>,
    /// A regional book's countries, replacing the old set.
    #[serde(default)]
    #[schemars(inner(regex(pattern = r"^[A-Z]{2}$")))]
    pub countries: Option<Vec<String>>,
    /// `null`: always.
    #[serde(default, deserialize_with = "crate::input::nullable")]
    #[schemars(extend("examples" = ["2027-01-01"]))]
    pub valid_from: Option<Option<String>>,
    /// `null`: open-ended.
    #[serde(default, deserialize_with = "crate::input::nullable")]
    #[schemars(extend("examples" = ["2028-01-01"]))]
    pub valid_to: Option<Option<String>>,
    #[serde(default)]
    pub active: Option<bool>,
}

fn countries(scope: BookScope, list: &[String]) -> Result<Vec<Country>, AppError> {
    let mut out: Vec<Country> = list
        .iter()
        .map(|c| Country::parse(c).map_err(|m| AppError::validation("countries", m)))
        .collect::<Result<_, _>>()?;
    out.sort();
    out.dedup();
    match scope {
        BookScope::Global if !out.is_empty() => Err(AppError::validation(
            "countries",
            "a global book applies everywhere; give countries only to a regional book",
        )),
        BookScope::Regional if out.is_empty() => Err(AppError::validation(
            "countries",
            "a regional book needs at least one country",
        )),
        _ if out.len() > 60 => Err(AppError::validation("countries", "at most 60 countries")),
        _ => Ok(out),
    }
}

fn country_rows(book_id: &str, list: &[Country]) -> Vec<Stmt> {
    list.iter()
        .map(|c| {
            stmt!(
                "INSERT INTO price_book_countries (book_id, country) VALUES (?, ?)",
                book_id,
                c.as_str()
            )
        })
        .collect()
}

/// What an ambiguous save collides with: the other active books for the same place,
/// currency and time.
async fn ambiguous<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
    scope: BookScope,
    currency: &str,
    (from, to): (i64, Option<i64>),
    list: &[Country],
) -> AppError {
    #[derive(Deserialize)]
    struct Other {
        id: String,
        name: String,
        country: Option<String>,
    }
    let codes: Vec<&str> = list.iter().map(Country::as_str).collect();
    let others: Result<Vec<Other>, _> = p
        .db()
        .query(stmt!(
            "SELECT o.id, o.name, c.country FROM price_books o LEFT JOIN price_book_countries c ON c.book_id = o.id \
             WHERE o.store_id = ? AND o.active = 1 AND o.currency = ? AND o.id <> ? AND o.scope = ? \
               AND o.valid_from < coalesce(?, 253402300800000) AND ? < coalesce(o.valid_to, 253402300800000) \
               AND (o.scope = 'global' OR c.country IN (SELECT value FROM json_each(?))) ORDER BY o.name LIMIT 20",
            store_id,
            currency.to_uppercase(),
            id,
            scope.as_str(),
            to,
            from,
            serde_json::to_string(&codes).unwrap_or_default()
        ))
        .await;
    match others {
        Err(e) => e.into(),
        Ok(others) => AppError::ConflictWith {
            code: "pricing_ambiguous",
            message: match scope {
                BookScope::Global => "Another active global book in this currency overlaps this validity window: prices would be ambiguous. Deactivate it or make the windows not overlap.".into(),
                BookScope::Regional => "Another active regional book in this currency covers one of these countries in an overlapping window: prices would be ambiguous. Deactivate it, change its countries, or make the windows not overlap.".into(),
            },
            conflicts: others
                .into_iter()
                .map(|o| Conflicting {
                    reason: match o.country {
                        Some(c) => format!("{} also prices {c} then", o.name),
                        None => format!("{} is active then", o.name),
                    },
                    id: o.id,
                })
                .collect(),
        },
    }
}

/// `POST /admin/api/v1/price-books`.
///
/// # Errors
/// 422 bad fields; 409 `pricing_ambiguous` naming the books an active one would collide
/// with.
pub async fn create<P: Platform>(
    p: &P,
    store_id: &str,
    store_currency: &str,
    input: BookInput,
) -> Result<BookView, AppError> {
    let name = crate::input::line("name", &input.name, 1, 200)?;
    let list = countries(input.scope, &input.countries)?;
    let currency = Currency::parse(input.currency.as_deref().unwrap_or(store_currency))
        .map_err(|m| AppError::validation("currency", m))?;
    let window = super::window(input.valid_from.as_deref(), input.valid_to.as_deref())?;
    let id = p.new_id("pb");
    let now = p.now_ms();
    let mut batch = vec![stmt!(
        "INSERT INTO price_books (id, store_id, name, scope, currency, valid_from, valid_to, active, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &id,
        store_id,
        name,
        input.scope.as_str(),
        currency.as_str().to_uppercase(),
        window.0,
        window.1,
        input.active,
        now,
        now
    )];
    batch.extend(country_rows(&id, &list));
    match p.db().batch(batch).await {
        Err(DbError::Constraint(m)) if m.contains(AMBIGUOUS) => Err(ambiguous(
            p,
            store_id,
            &id,
            input.scope,
            currency.as_str(),
            window,
            &list,
        )
        .await),
        Err(e) => Err(e.into()),
        Ok(_) => book(p, store_id, &id).await,
    }
}

/// `PATCH /admin/api/v1/price-books/{price_book_id}`: name, countries, window, on/off —
/// one batch, refused whole when it would make prices ambiguous.
///
/// # Errors
/// 404; 422 bad fields; 409 `pricing_ambiguous`.
pub async fn update<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
    input: BookUpdate,
) -> Result<BookView, AppError> {
    let cur = book(p, store_id, id).await?;
    let name = match &input.name {
        Some(n) => crate::input::line("name", n, 1, 200)?,
        None => cur.name.clone(),
    };
    let list = match &input.countries {
        Some(l) => countries(cur.scope, l)?,
        None => cur
            .countries
            .iter()
            .filter_map(|c| Country::parse(c).ok())
            .collect(),
    };
    let (from, to) = super::window_update(
        (cur.from_ms, cur.to_ms),
        input.valid_from.as_ref().map(Option::as_deref),
        input.valid_to.as_ref().map(Option::as_deref),
    )?;
    let active = input.active.unwrap_or(cur.active);
    let now = p.now_ms();
    // Countries first, with the book switched off; the update that ends the batch switches
    // it on again (its trigger then checks the new countries and window together).
    let mut batch = Vec::new();
    if input.countries.is_some() {
        batch.push(stmt!("UPDATE price_books SET active = 0 WHERE id = ?", id));
        batch.push(stmt!(
            "DELETE FROM price_book_countries WHERE book_id = ?",
            id
        ));
        batch.extend(country_rows(id, &list));
    }
    batch.push(stmt!(
        "UPDATE price_books SET name = ?, valid_from = ?, valid_to = ?, active = ?, updated_at = ? WHERE id = ?",
        name,
        from,
        to,
        active,
        now,
        id
    ));
    match p.db().batch(batch).await {
        Err(DbError::Constraint(m)) if m.contains(AMBIGUOUS) => {
            Err(ambiguous(p, store_id, id, cur.scope, &cur.currency, (from, to), &list).await)
        }
        Err(e) => Err(e.into()),
        Ok(_) => book(p, store_id, id).await,
    }
}

/// `POST /admin/api/v1/price-books/{price_book_id}/entries`.
///
/// # Errors
/// 404 book; see [`entries::add`].
pub async fn add_entry<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
    input: EntryInput,
) -> Result<EntryView, AppError> {
    let b = book(p, store_id, id).await?;
    entries::add(p, store_id, Parent::Book(id), &b.currency, input).await
}
