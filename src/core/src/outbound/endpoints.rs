//! A store's webhook subscriptions: a URL, the event types it wants, its `whsec_` secret
//! (shown in full once, when made), and its health — an endpoint whose deliveries keep
//! failing is disabled with a reason until an admin enables it again.

use super::call::check_url;
use super::signing;
use crate::AppError;
use crate::db::{Db as _, DbExt as _};
use crate::ports::{Platform, PlatformExt as _};
use crate::stmt;
use crate::time_fmt::rfc3339;
use serde::{Deserialize, Serialize};

/// Event types a store commonly subscribes to; any domain event type (`order.paid`,
/// `shipment.delivered`, …) or `*` is accepted.
pub const COMMON_EVENTS: &[&str] = &[
    "order.paid",
    "order.cancelled",
    "order.refunded",
    "fulfillment.submitted",
    "fulfillment.failed",
    "shipment.in_transit",
    "shipment.delivered",
    "invoice.issued",
    "invoice.voided",
    "refund.succeeded",
    "automation.step_succeeded",
    "automation.step_failed",
];

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct EndpointRow {
    pub id: String,
    pub url: String,
    pub description: Option<String>,
    #[serde(deserialize_with = "crate::db::json_column")]
    pub event_types: Vec<String>,
    pub secret: String,
    pub status: String,
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<i64>,
    pub consecutive_failures: i64,
    pub last_success_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

pub(crate) const COLUMNS: &str = "id, url, description, event_types, secret, status, disabled_reason, disabled_at, \
    consecutive_failures, last_success_at, created_at, updated_at";

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct EndpointView {
    pub id: String,
    pub url: String,
    pub description: Option<String>,
    /// What it receives; `["*"]` is every event.
    pub event_types: Vec<String>,
    /// The signing secret: in full only in the answer that made it, masked after.
    pub secret: String,
    /// `enabled` or `disabled`.
    pub status: String,
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<String>,
    /// Deliveries in a row that failed after their last attempt.
    pub consecutive_failures: i64,
    pub last_success_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl EndpointRow {
    fn view(self, reveal: bool) -> EndpointView {
        EndpointView {
            secret: if reveal {
                self.secret.clone()
            } else {
                signing::masked(&self.secret)
            },
            id: self.id,
            url: self.url,
            description: self.description,
            event_types: self.event_types,
            status: self.status,
            disabled_reason: self.disabled_reason,
            disabled_at: self.disabled_at.map(rfc3339),
            consecutive_failures: self.consecutive_failures,
            last_success_at: self.last_success_at.map(rfc3339),
            created_at: rfc3339(self.created_at),
            updated_at: rfc3339(self.updated_at),
        }
    }
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointInput {
    #[schemars(length(min = 8, max = 500), extend("examples" = ["https://erp.example.com/lading/events"]))]
    pub url: String,
    #[serde(default)]
    #[schemars(length(max = 200))]
    pub description: Option<String>,
    /// Event types (`order.paid`, `shipment.delivered`, …) or `*`; every event when absent.
    #[serde(default)]
    #[schemars(length(max = 50))]
    pub event_types: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointUpdate {
    #[serde(default)]
    #[schemars(length(min = 8, max = 500))]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "crate::input::nullable")]
    #[schemars(length(max = 200))]
    pub description: Option<Option<String>>,
    #[serde(default)]
    #[schemars(length(max = 50))]
    pub event_types: Option<Vec<String>>,
    /// `true` enables a disabled endpoint again (its failure count starts over); `false`
    /// pauses it.
    #[serde(default)]
    pub enabled: Option<bool>,
}

fn event_types(v: Option<Vec<String>>) -> Result<Vec<String>, AppError> {
    let list = v.unwrap_or_else(|| vec!["*".into()]);
    if list.is_empty() || list.len() > 50 {
        return Err(AppError::validation(
            "event_types",
            "give 1 to 50 event types, or [\"*\"]",
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, t) in list.iter().enumerate() {
        let t = t.trim();
        let shaped = t == "*"
            || t.split_once('.').is_some_and(|(a, b)| {
                !a.is_empty()
                    && !b.is_empty()
                    && t.len() <= 60
                    && t.bytes()
                        .all(|c| c.is_ascii_lowercase() || c == b'_' || c == b'.')
            });
        if !shaped {
            return Err(AppError::validation(
                format!("event_types[{i}]"),
                format!(
                    "must be * or an event type such as {}",
                    COMMON_EVENTS[..4].join(", ")
                ),
            ));
        }
        if !out.iter().any(|o| o == t) {
            out.push(t.to_owned());
        }
    }
    Ok(out)
}

pub(crate) async fn row<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
) -> Result<EndpointRow, AppError> {
    p.db()
        .first(stmt!(
            format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE id = ? AND store_id = ?"),
            id,
            store_id
        ))
        .await?
        .ok_or(AppError::NotFound("webhook endpoint"))
}

/// `GET /admin/api/v1/webhook-endpoints`.
///
/// # Errors
/// Storage failures.
pub async fn list<P: Platform>(p: &P, store_id: &str) -> Result<Vec<EndpointView>, AppError> {
    let rows: Vec<EndpointRow> = p
        .db()
        .query(stmt!(
            format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE store_id = ? ORDER BY created_at, id LIMIT 100"),
            store_id
        ))
        .await?;
    Ok(rows.into_iter().map(|r| r.view(false)).collect())
}

/// `GET /admin/api/v1/webhook-endpoints/{id}`.
///
/// # Errors
/// 404.
pub async fn get<P: Platform>(p: &P, store_id: &str, id: &str) -> Result<EndpointView, AppError> {
    Ok(row(p, store_id, id).await?.view(false))
}

/// `POST /admin/api/v1/webhook-endpoints`: the answer carries the whole secret, once.
///
/// # Errors
/// 422 bad URL, description or event types; 409 past 20 endpoints.
pub async fn create<P: Platform>(
    p: &P,
    store_id: &str,
    input: EndpointInput,
) -> Result<EndpointView, AppError> {
    let url = check_url("url", &input.url)?;
    let description =
        crate::input::optional_line("description", input.description.as_deref(), 200)?;
    let types = event_types(input.event_types)?;
    let mut random = [0u8; 24];
    p.fill_random(&mut random);
    let secret = signing::new_secret(&random);
    let id = p.new_id("we");
    let now = p.now_ms();
    let res = p
        .db()
        .batch(vec![stmt!(
            "INSERT INTO webhook_endpoints (id, store_id, url, description, event_types, secret, created_at, updated_at) \
             SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE (SELECT COUNT(*) FROM webhook_endpoints WHERE store_id = ?) < 20",
            &id,
            store_id,
            &url,
            &description,
            serde_json::to_string(&types).unwrap_or_default(),
            &secret,
            now,
            now,
            store_id
        )])
        .await?;
    if res[0].changes == 0 {
        return Err(AppError::conflict(
            "too_many_endpoints",
            "A store has at most 20 webhook endpoints.",
        ));
    }
    Ok(row(p, store_id, &id).await?.view(true))
}

/// `PATCH /admin/api/v1/webhook-endpoints/{id}`. Enabling a disabled endpoint starts its
/// failure count over and resolves its operator task.
///
/// # Errors
/// 404; 422 bad fields.
pub async fn update<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
    author: &str,
    input: EndpointUpdate,
) -> Result<EndpointView, AppError> {
    let cur = row(p, store_id, id).await?;
    let url = match &input.url {
        Some(u) => check_url("url", u)?,
        None => cur.url.clone(),
    };
    let description = match input.description {
        Some(d) => crate::input::optional_line("description", d.as_deref(), 200)?,
        None => cur.description.clone(),
    };
    let types = match input.event_types {
        Some(t) => event_types(Some(t))?,
        None => cur.event_types.clone(),
    };
    let now = p.now_ms();
    let mut batch = vec![stmt!(
        "UPDATE webhook_endpoints SET url = ?, description = ?, event_types = ?, updated_at = ? WHERE id = ?",
        &url,
        &description,
        serde_json::to_string(&types).unwrap_or_default(),
        now,
        id
    )];
    match input.enabled {
        Some(true) => {
            batch.push(stmt!(
                "UPDATE webhook_endpoints SET status = 'enabled', disabled_reason = NULL, disabled_at = NULL, consecutive_failures = 0 WHERE id = ?",
                id
            ));
            batch.push(crate::operator_tasks::resolve_statement(
                "webhook_endpoint_disabled",
                id,
                author,
                now,
            ));
        }
        Some(false) => batch.push(stmt!(
            "UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = ?, disabled_at = ? WHERE id = ? AND status = 'enabled'",
            format!("paused by {author}"),
            now,
            id
        )),
        None => {}
    }
    p.db().batch(batch).await?;
    Ok(row(p, store_id, id).await?.view(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_are_star_or_dotted_names() {
        assert_eq!(event_types(None).unwrap(), ["*"]);
        assert_eq!(
            event_types(Some(vec!["order.paid".into(), "order.paid".into()])).unwrap(),
            ["order.paid"]
        );
        assert!(event_types(Some(vec!["Order.Paid".into()])).is_err());
        assert!(event_types(Some(vec!["paid".into()])).is_err());
        assert!(event_types(Some(vec![])).is_err());
    }
}
