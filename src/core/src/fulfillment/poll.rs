//! Gooten has no webhook we trust, so the scheduler polls it every 5 minutes: submitted and
//! in-production orders, the least recently checked first, at most 60 a run, at least 1 s
//! apart. Each answer becomes a synthetic event through the same path as webhooks (and is
//! deduplicated the same way: an unchanged answer is the same event).

use super::events::{self, ProviderUpdate, ShipmentUpdate, synthetic_id};
use super::providers::{Gooten, ProviderError};
use super::{FO_COLUMNS, FulfillmentOrderRow};
use crate::AppError;
use crate::db::{Db as _, DbExt as _};
use crate::domain::{FulfillmentStatus, ProviderCode, ShipmentStatus};
use crate::ports::Platform;
use crate::sql::stores;
use crate::stmt;
use serde_json::Value;

pub const MAX_PER_RUN: usize = 60;
pub const SPACING_MS: u64 = 1000;

/// # Errors
/// Storage failures; a provider failure skips that order until the next run.
pub async fn poll_gooten<P: Platform>(p: &P) -> Result<u64, AppError> {
    let due: Vec<FulfillmentOrderRow> = p
        .db()
        .query(stmt!(
            format!(
                "SELECT {FO_COLUMNS} FROM fulfillment_orders WHERE provider = 'gooten' AND status IN ('submitted', 'in_production', 'partially_shipped', 'on_hold') \
                 AND external_id IS NOT NULL ORDER BY COALESCE(last_polled_at, 0), created_at LIMIT ?"
            ),
            MAX_PER_RUN as i64
        ))
        .await?;
    let mut changed = 0;
    for (i, fo) in due.iter().enumerate() {
        if i > 0 {
            p.sleep_ms(SPACING_MS).await;
        }
        p.db()
            .run(stmt!(
                "UPDATE fulfillment_orders SET last_polled_at = ? WHERE id = ?",
                p.now_ms(),
                &fo.id
            ))
            .await?;
        let Some(store) = stores::store_by_id(p.db(), &fo.store_id).await? else {
            continue;
        };
        let Some(account) = store.settings.providers.gooten.clone() else {
            continue;
        };
        let gooten = Gooten::new(&p.settings().provider_bases.gooten, account);
        let order = match gooten
            .order(p, fo.external_id.as_deref().unwrap_or_default())
            .await
        {
            Ok(o) => o,
            Err(
                ProviderError::Retry { .. }
                | ProviderError::Rejected(_)
                | ProviderError::NotConfigured(_),
            ) => continue,
        };
        if let Some(u) = update(&order) {
            if !events::apply(p, &u, &order).await?.duplicate {
                changed += 1;
            }
        }
    }
    Ok(changed)
}

/// Gooten's order (statuses are per item) as an update.
pub fn update(order: &Value) -> Option<ProviderUpdate> {
    let items: Vec<&Value> = order["Items"].as_array()?.iter().collect();
    let status_of = |i: &Value| {
        i["Status"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    let shipped = |st: &str| matches!(st, "shipped" | "out for delivery" | "delivered");
    let mut shipments: Vec<ShipmentUpdate> = Vec::new();
    for i in items.iter().filter(|i| shipped(&status_of(i))) {
        let Some(tracking) = i["TrackingNumber"].as_str().filter(|t| !t.is_empty()) else {
            continue;
        };
        let line = i["SourceId"]
            .as_str()
            .map(|l| (l.to_owned(), i["Quantity"].as_i64().unwrap_or(1)));
        let delivered = status_of(i) == "delivered";
        match shipments.iter_mut().find(|s| s.external_id == tracking) {
            Some(s) => {
                s.lines.extend(line);
                if !delivered {
                    s.status = ShipmentStatus::InTransit;
                }
            }
            None => shipments.push(ShipmentUpdate {
                external_id: tracking.to_owned(),
                carrier: i["ShipCarrierName"].as_str().map(str::to_owned),
                service: None,
                tracking_number: Some(tracking.to_owned()),
                tracking_url: i["TrackingUrl"].as_str().map(str::to_owned),
                status: if delivered {
                    ShipmentStatus::Delivered
                } else {
                    ShipmentStatus::InTransit
                },
                lines: line.into_iter().collect(),
            }),
        }
    }
    let statuses: Vec<String> = items.iter().map(|i| status_of(i)).collect();
    let status = if !statuses.is_empty() && statuses.iter().all(|s| s == "cancelled") {
        Some(FulfillmentStatus::Cancelled)
    } else if shipments.is_empty() && statuses.iter().any(|s| s.contains("issue") || s == "hold") {
        Some(FulfillmentStatus::OnHold)
    } else if shipments.is_empty()
        && statuses
            .iter()
            .any(|s| s == "in production" || s == "printing")
    {
        Some(FulfillmentStatus::InProduction)
    } else {
        None
    };
    let fingerprint: Vec<String> = items
        .iter()
        .map(|i| {
            format!(
                "{}:{}:{}",
                i["SourceId"].as_str().unwrap_or(""),
                status_of(i),
                i["TrackingNumber"].as_str().unwrap_or("")
            )
        })
        .collect();
    let id = order["Id"].as_str()?;
    Some(ProviderUpdate {
        provider: ProviderCode::Gooten,
        event_id: synthetic_id(&[id, &fingerprint.join(",")]),
        kind: "polled".into(),
        reference: order["SourceId"].as_str().map(str::to_owned),
        external_id: Some(id.to_owned()),
        error: statuses.iter().find(|s| s.contains("issue")).cloned(),
        status,
        shipments,
    })
}
