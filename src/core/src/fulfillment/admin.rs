//! What operators do with fulfillment: list by status and provider (errors shown), see one
//! with its lines and parcels, and retry a failed one (back to pending and queued again).

use super::dispatch::dispatch;
use super::{FO_COLUMNS, FulfillmentOrderRow};
use crate::AppError;
use crate::db::{Db as _, DbExt as _};
use crate::domain::{FulfillmentStatus, ProviderCode};
use crate::ports::Platform;
use crate::queue::Message;
use crate::sql::orders::domain_event;
use crate::stmt;
use crate::time_fmt::rfc3339;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct FulfillmentOrderView {
    pub id: String,
    pub order_id: String,
    pub order_number: String,
    pub provider: ProviderCode,
    pub status: FulfillmentStatus,
    pub external_id: Option<String>,
    pub error: Option<String>,
    pub attempts: i64,
    pub cost_estimated: Option<i64>,
    pub cost_actual: Option<i64>,
    pub currency: String,
    pub submitted_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipments: Option<Vec<crate::shipments::ShipmentView>>,
}

#[derive(Deserialize, schemars::JsonSchema)]
struct Row {
    #[serde(flatten)]
    fo: FulfillmentOrderRow,
    order_number: String,
}

fn view(r: Row) -> FulfillmentOrderView {
    let fo = r.fo;
    FulfillmentOrderView {
        id: fo.id,
        order_id: fo.order_id,
        order_number: r.order_number,
        provider: fo.provider,
        status: fo.status,
        external_id: fo.external_id,
        error: fo.error,
        attempts: fo.attempts,
        cost_estimated: fo.cost_estimated,
        cost_actual: fo.cost_actual,
        currency: fo.currency,
        submitted_at: fo.submitted_at.map(rfc3339),
        created_at: rfc3339(fo.created_at),
        updated_at: rfc3339(fo.updated_at),
        lines: None,
        shipments: None,
    }
}

fn select() -> String {
    let cols: Vec<String> = FO_COLUMNS.split(", ").map(|c| format!("f.{c}")).collect();
    format!(
        "SELECT {}, o.order_number FROM fulfillment_orders f JOIN orders o ON o.id = f.order_id",
        cols.join(", ")
    )
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
#[schemars(rename = "FulfillmentOrderPage")]
pub struct Page {
    pub data: Vec<FulfillmentOrderView>,
    pub has_more: bool,
    pub next_starting_after: Option<String>,
}

/// The list's query (exposed for the query-plan test). Status and provider are bound as
/// values when given, so SQLite picks the index that serves them.
pub fn list_query(
    store_id: &str,
    status: Option<&str>,
    provider: Option<&str>,
    starting_after: Option<&str>,
    limit: u32,
) -> crate::db::Stmt {
    let mut sql = format!("{} WHERE f.store_id = ?", select());
    let mut params: Vec<crate::db::Value> = vec![store_id.into()];
    if let Some(p) = provider {
        sql.push_str(" AND f.provider = ?");
        params.push(p.into());
    }
    if let Some(s) = status {
        sql.push_str(" AND f.status = ?");
        params.push(s.into());
    }
    sql.push_str(" AND f.id < ? ORDER BY f.id DESC LIMIT ?");
    params.push(starting_after.unwrap_or("~").into());
    params.push(i64::from(limit).into());
    crate::db::Stmt { sql, params }
}

/// Fulfillment orders of the store, newest first, by status and provider.
///
/// # Errors
/// 422 for an unknown status or provider, or a bad limit.
pub async fn list<P: Platform>(
    p: &P,
    store_id: &str,
    status: Option<&str>,
    provider: Option<&str>,
    starting_after: Option<&str>,
    limit: Option<&str>,
) -> Result<Page, AppError> {
    let status = status
        .map(|s| {
            FulfillmentStatus::parse(s)
                .ok_or_else(|| AppError::validation("status", "unknown fulfillment status"))
        })
        .transpose()?;
    let provider = provider
        .map(|s| {
            ProviderCode::parse(s)
                .ok_or_else(|| AppError::validation("provider", "unknown provider"))
        })
        .transpose()?;
    let limit: u32 = match limit {
        None => 50,
        Some(l) => l
            .parse()
            .ok()
            .filter(|n| (1..=200).contains(n))
            .ok_or_else(|| AppError::validation("limit", "must be 1 to 200"))?,
    };
    let mut rows: Vec<Row> = p
        .db()
        .query(list_query(
            store_id,
            status.map(|s| s.as_str()),
            provider.map(|s| s.as_str()),
            starting_after,
            limit + 1,
        ))
        .await?;
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let data: Vec<FulfillmentOrderView> = rows.into_iter().map(view).collect();
    Ok(Page {
        next_starting_after: if has_more {
            data.last().map(|f| f.id.clone())
        } else {
            None
        },
        has_more,
        data,
    })
}

/// One fulfillment order with its lines and parcels.
///
/// # Errors
/// 404 when it is not this store's.
pub async fn get<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
) -> Result<FulfillmentOrderView, AppError> {
    let row: Row = p
        .db()
        .first(stmt!(
            format!("{} WHERE f.id = ? AND f.store_id = ?", select()),
            id,
            store_id
        ))
        .await?
        .ok_or(AppError::NotFound("fulfillment order"))?;
    let res = p
        .db()
        .batch(vec![
            stmt!(
                "SELECT l.id, l.order_item_id, oi.sku, oi.title, l.external_variant_id, l.quantity, l.remaining_quantity \
                 FROM fulfillment_order_lines l JOIN order_items oi ON oi.id = l.order_item_id WHERE l.fulfillment_order_id = ? ORDER BY l.rowid",
                id
            ),
        ])
        .await?;
    let mut v = view(row);
    v.lines = Some(
        res[0]
            .rows
            .iter()
            .map(|r| Value::Object(r.clone()))
            .collect(),
    );
    v.shipments = Some(crate::shipments::of_fulfillment_order(p, id).await?);
    Ok(v)
}

/// Puts a failed fulfillment order back to pending and queues it (only from `failed`).
///
/// # Errors
/// 404 when not this store's; 409 when it is not failed.
pub async fn retry<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
) -> Result<FulfillmentOrderView, AppError> {
    let fo: FulfillmentOrderRow = super::fo_of_store(p, store_id, id).await?;
    let now = p.now_ms();
    let outbox_id = format!("fulfil:{id}:retry:{now}");
    let message = Message::Fulfil {
        fulfillment_order_id: fo.id.clone(),
        provider: fo.provider.as_str().into(),
        store_id: fo.store_id.clone(),
    };
    let res = p
        .db()
        .batch(vec![
            // Attempts start again; `submit_started` stays, so the consumer looks first.
            stmt!(
                "UPDATE fulfillment_orders SET status = 'pending', attempts = 0, lease_until = NULL, updated_at = ? WHERE id = ? AND status = 'failed'",
                now,
                id
            ),
            stmt!(
                "INSERT INTO outbox (id, store_id, kind, payload, created_at) SELECT ?, ?, 'fulfil', ?, ? \
                 WHERE EXISTS (SELECT 1 FROM fulfillment_orders WHERE id = ? AND status = 'pending' AND updated_at = ?)",
                &outbox_id,
                store_id,
                serde_json::to_string(&message).unwrap_or_default(),
                now,
                id,
                now
            ),
            domain_event(
                &format!("fulfillment.retried:{id}:{now}"),
                store_id,
                &fo.order_id,
                "fulfillment.retried",
                &json!({ "fulfillment_order_id": id, "previous_error": fo.error }),
                now,
                stmt!("EXISTS (SELECT 1 FROM outbox WHERE id = ?)", &outbox_id),
            ),
        ])
        .await?;
    if res[0].changes == 0 {
        return Err(AppError::conflict(
            "not_retryable",
            format!(
                "Only a failed fulfillment order can be retried; this one is {}.",
                fo.status.as_str()
            ),
        ));
    }
    dispatch(p, &[outbox_id]).await?;
    get(p, store_id, id).await
}

/// The dashboard's counts query (exposed for the query-plan test).
pub fn dashboard_counts_query(store_id: &str) -> crate::db::Stmt {
    stmt!(
        "SELECT provider, status, COUNT(*) AS count FROM fulfillment_orders WHERE store_id = ? GROUP BY provider, status ORDER BY provider, status",
        store_id
    )
}

/// `GET /admin/api/v1/fulfillment/dashboard`: counts by provider and status, totals by
/// status, and the latest failures with their errors.
///
/// # Errors
/// Storage failures.
pub async fn dashboard<P: Platform>(p: &P, store_id: &str) -> Result<Dashboard, AppError> {
    let counts: Vec<DashboardCount> = p.db().query(dashboard_counts_query(store_id)).await?;
    let mut by_status = std::collections::BTreeMap::new();
    for c in &counts {
        *by_status.entry(c.status.clone()).or_insert(0) += c.count;
    }
    let failed = list(p, store_id, Some("failed"), None, None, Some("50")).await?;
    Ok(Dashboard {
        counts,
        by_status,
        failed: failed.data,
    })
}

/// How many fulfillment orders each provider has in each status.
#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
pub struct DashboardCount {
    pub provider: String,
    pub status: String,
    pub count: i64,
}

/// The fulfillment dashboard: counts by provider and status, totals by status, and the
/// latest 50 failures with their errors.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Dashboard {
    pub counts: Vec<DashboardCount>,
    pub by_status: std::collections::BTreeMap<String, i64>,
    pub failed: Vec<FulfillmentOrderView>,
}
