//! The couriers a store ships with: a code parcels name, a tracking page made from a URL
//! template, and how the courier's events arrive (its adapter posts signed webhooks, the
//! scheduler polls its tracking API, or operators move parcels by hand). Every store
//! starts with USPS, DHL, Chit Chats and Canada Post; admins add and edit them.

use crate::AppError;
use crate::db::{Db as _, DbError, DbExt as _, Stmt};
use crate::ports::Platform;
use crate::stmt;
use crate::time_fmt::rfc3339;
use serde::{Deserialize, Serialize};

crate::string_enum!(
    /// How a courier's parcel events reach Lading.
    TrackingAdapter { Webhook = "webhook", Poll = "poll", None = "none" }
);

/// The couriers every store starts with: (code, name, tracking URL template, adapter).
pub const SEEDED: &[(&str, &str, &str, TrackingAdapter)] = &[
    (
        "usps",
        "USPS",
        "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
        TrackingAdapter::Webhook,
    ),
    (
        "dhl",
        "DHL",
        "https://www.dhl.com/en/express/tracking.html?AWB={number}",
        TrackingAdapter::Webhook,
    ),
    (
        "chitchats",
        "Chit Chats",
        "https://chitchats.com/tracking/{number}",
        TrackingAdapter::Poll,
    ),
    (
        "canada_post",
        "Canada Post",
        "https://www.canadapost-postescanada.ca/track-reperage/en#/details/{number}",
        TrackingAdapter::Webhook,
    ),
];

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CourierView {
    pub code: String,
    pub name: String,
    /// The tracking page of a parcel: `{number}` is replaced by its tracking number.
    pub tracking_url_template: String,
    pub tracking_adapter: TrackingAdapter,
    #[serde(deserialize_with = "crate::db::int_bool")]
    pub active: bool,
    /// Where this courier's adapter posts parcel events (signed `Lading-Courier-Signature`).
    #[serde(skip_deserializing)]
    pub webhook_path: String,
    #[serde(skip_deserializing)]
    pub created_at: String,
    #[serde(skip_deserializing)]
    pub updated_at: String,
    #[serde(rename(deserialize = "created_at"), skip_serializing)]
    created_ms: i64,
    #[serde(rename(deserialize = "updated_at"), skip_serializing)]
    updated_ms: i64,
}

fn finish(mut c: CourierView) -> CourierView {
    c.webhook_path = format!("/webhooks/couriers/{}", c.code);
    c.created_at = rfc3339(c.created_ms);
    c.updated_at = rfc3339(c.updated_ms);
    c
}

const SELECT: &str = "SELECT code, name, tracking_url_template, tracking_adapter, active, created_at, updated_at FROM couriers";

/// The statements that give a new store the seeded couriers.
pub fn seed_statements(store_id: &str, now: i64) -> Vec<Stmt> {
    SEEDED
        .iter()
        .map(|(code, name, template, adapter)| {
            insert(store_id, code, name, template, *adapter, now)
        })
        .collect()
}

fn insert(
    store_id: &str,
    code: &str,
    name: &str,
    template: &str,
    adapter: TrackingAdapter,
    now: i64,
) -> Stmt {
    stmt!(
        "INSERT INTO couriers (store_id, code, name, tracking_url_template, tracking_adapter, active, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, 1, ?, ?)",
        store_id,
        code,
        name,
        template,
        adapter.as_str(),
        now,
        now
    )
}

/// A parcel's tracking page: the template with the number (percent-encoded) in it.
pub fn tracking_url(template: &str, number: &str) -> String {
    let encoded: String = number
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    template.replace("{number}", &encoded)
}

/// The store's couriers, by code.
///
/// # Errors
/// Storage failures.
pub async fn list<P: Platform>(p: &P, store_id: &str) -> Result<Vec<CourierView>, AppError> {
    let rows: Vec<CourierView> = p
        .db()
        .query(stmt!(
            format!("{SELECT} WHERE store_id = ? ORDER BY code"),
            store_id
        ))
        .await?;
    Ok(rows.into_iter().map(finish).collect())
}

/// One of the store's couriers.
///
/// # Errors
/// 404 when the store has no courier with this code.
pub async fn get<P: Platform>(p: &P, store_id: &str, code: &str) -> Result<CourierView, AppError> {
    p.db()
        .first::<CourierView>(stmt!(
            format!("{SELECT} WHERE store_id = ? AND code = ?"),
            store_id,
            code
        ))
        .await?
        .map(finish)
        .ok_or(AppError::NotFound("courier"))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CourierInput {
    /// Lowercase letters, digits and `_` (parcels and webhook URLs name it).
    #[schemars(regex(pattern = r"^[a-z0-9_]{2,30}$"), extend("examples" = ["purolator"]))]
    pub code: String,
    #[schemars(length(min = 1, max = 60))]
    pub name: String,
    /// An https URL with `{number}` where the tracking number goes.
    #[schemars(length(min = 12, max = 300), extend("examples" = ["https://track.example.com/{number}"]))]
    pub tracking_url_template: String,
    pub tracking_adapter: TrackingAdapter,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CourierUpdate {
    #[serde(default)]
    #[schemars(length(min = 1, max = 60))]
    pub name: Option<String>,
    #[serde(default)]
    #[schemars(length(min = 12, max = 300))]
    pub tracking_url_template: Option<String>,
    #[serde(default)]
    pub tracking_adapter: Option<TrackingAdapter>,
    /// An inactive courier takes no new parcels; its parcels keep being followed.
    #[serde(default)]
    pub active: Option<bool>,
}

fn template(field: &str, v: &str) -> Result<String, AppError> {
    let t = crate::input::line(field, v, 12, 300)?;
    if !t.starts_with("https://") || t.contains(char::is_whitespace) {
        return Err(AppError::validation(field, "must be an https URL"));
    }
    if !t.contains("{number}") {
        return Err(AppError::validation(
            field,
            "must contain {number} where the tracking number goes",
        ));
    }
    Ok(t)
}

/// `POST /admin/api/v1/couriers`.
///
/// # Errors
/// 422 bad fields; 409 when the store has a courier with this code.
pub async fn create<P: Platform>(
    p: &P,
    store_id: &str,
    input: CourierInput,
) -> Result<CourierView, AppError> {
    let code = crate::input::code("code", &input.code, 30)?;
    let name = crate::input::line("name", &input.name, 1, 60)?;
    let t = template("tracking_url_template", &input.tracking_url_template)?;
    let now = p.now_ms();
    match p
        .db()
        .run(insert(
            store_id,
            &code,
            &name,
            &t,
            input.tracking_adapter,
            now,
        ))
        .await
    {
        Ok(_) => get(p, store_id, &code).await,
        Err(DbError::Unique(_)) => Err(AppError::conflict(
            "courier_exists",
            format!("The store already has a courier with code {code}."),
        )),
        Err(e) => Err(e.into()),
    }
}

/// `PATCH /admin/api/v1/couriers/{code}`.
///
/// # Errors
/// 404; 422 bad fields.
pub async fn update<P: Platform>(
    p: &P,
    store_id: &str,
    code: &str,
    input: CourierUpdate,
) -> Result<CourierView, AppError> {
    let cur = get(p, store_id, code).await?;
    let name = match &input.name {
        Some(n) => crate::input::line("name", n, 1, 60)?,
        None => cur.name,
    };
    let t = match &input.tracking_url_template {
        Some(t) => template("tracking_url_template", t)?,
        None => cur.tracking_url_template,
    };
    let adapter = input.tracking_adapter.unwrap_or(cur.tracking_adapter);
    let active = input.active.unwrap_or(cur.active);
    p.db()
        .run(stmt!(
            "UPDATE couriers SET name = ?, tracking_url_template = ?, tracking_adapter = ?, active = ?, updated_at = ? \
             WHERE store_id = ? AND code = ?",
            &name,
            &t,
            adapter.as_str(),
            i64::from(active),
            p.now_ms(),
            store_id,
            code
        ))
        .await?;
    get(p, store_id, code).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_urls_carry_the_number_encoded() {
        assert_eq!(
            tracking_url("https://chitchats.com/tracking/{number}", "CC 12/3"),
            "https://chitchats.com/tracking/CC%2012%2F3"
        );
        assert_eq!(
            tracking_url(SEEDED[0].2, "9400111"),
            "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400111"
        );
    }

    #[test]
    fn codes_are_lowercase_words() {
        let code = |v| crate::input::code("code", v, 30);
        assert!(code("canada_post").is_ok());
        assert!(code("DHL").is_err());
        assert!(code("a").is_err());
        assert!(code("ups/2").is_err());
    }
}
