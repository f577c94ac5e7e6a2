//! Tracking typed in by an operator, for fulfillment orders no provider reports on: manual
//! and warehouse ones, and Gelato run by hand in its portal. The parcel goes through the
//! same path as a provider's webhook ([`crate::fulfillment::events::apply`]): recorded once,
//! statuses forward only, the order's status derived, the shipped email queued.

use crate::AppError;
use crate::db::DbExt as _;
use crate::domain::{FulfillmentStatus, ProviderCode, ShipmentStatus};
use crate::fulfillment::FulfillmentOrderRow;
use crate::fulfillment::events::{self, ProviderUpdate, ShipmentUpdate};
use crate::ports::Platform;
use crate::stmt;
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackingInput {
    #[schemars(length(min = 1, max = 60))]
    pub carrier: String,
    #[schemars(length(min = 1, max = 100))]
    pub tracking_number: String,
    #[serde(default)]
    #[schemars(regex(pattern = r"^https?://\S+$"), length(max = 500), extend("examples" = ["https://track.example.com/1Z999"]))]
    pub tracking_url: Option<String>,
    /// Order items and quantities in this parcel; everything left when absent.
    #[serde(default)]
    pub lines: Option<Vec<TrackingLine>>,
}

/// What adding tracking answers: whether this parcel was already known, and the
/// fulfillment order now.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct TrackingResult {
    pub duplicate: bool,
    pub fulfillment_order: crate::fulfillment::admin::FulfillmentOrderView,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackingLine {
    pub order_item_id: String,
    #[schemars(range(min = 1, max = 999))]
    pub quantity: i64,
}

fn text(field: &str, v: &str, max: usize) -> Result<String, AppError> {
    crate::input::line(field, v, 1, max)
}

/// `POST /admin/api/v1/fulfillment-orders/{id}/tracking`.
///
/// # Errors
/// 404 not this store's; 409 when a provider reports on it, or it is not in production yet
/// or already fully shipped/cancelled; 422 bad carrier, number, URL or lines.
pub async fn add_tracking<P: Platform>(
    p: &P,
    store_id: &str,
    fo_id: &str,
    input: TrackingInput,
) -> Result<TrackingResult, AppError> {
    let carrier = text("carrier", &input.carrier, 60)?;
    let number = text("tracking_number", &input.tracking_number, 100)?;
    let url = match input
        .tracking_url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
    {
        None => None,
        Some(u)
            if (u.starts_with("https://") || u.starts_with("http://"))
                && u.len() <= 500
                && !u.contains(char::is_whitespace) =>
        {
            Some(u.to_owned())
        }
        Some(_) => {
            return Err(AppError::validation(
                "tracking_url",
                "must be an http(s) URL of at most 500 characters",
            ));
        }
    };
    let fo: FulfillmentOrderRow = crate::fulfillment::fo_of_store(p, store_id, fo_id).await?;
    let by_hand = matches!(fo.provider, ProviderCode::Manual | ProviderCode::Warehouse)
        || (fo.provider == ProviderCode::Gelato && fo.external_id.is_none());
    if !by_hand {
        return Err(AppError::conflict(
            "tracking_from_provider",
            format!(
                "{} reports this order's parcels itself; tracking cannot be typed in.",
                fo.provider.as_str()
            ),
        ));
    }
    if !matches!(
        fo.status,
        FulfillmentStatus::Submitted
            | FulfillmentStatus::InProduction
            | FulfillmentStatus::PartiallyShipped
            | FulfillmentStatus::OnHold
    ) {
        return Err(AppError::conflict(
            "fulfillment_not_shippable",
            format!(
                "A fulfillment order that is {} takes no new parcel.",
                fo.status.as_str()
            ),
        ));
    }
    let mut lines = Vec::new();
    for l in input.lines.unwrap_or_default() {
        if !(1..=999).contains(&l.quantity) {
            return Err(AppError::validation("lines.quantity", "must be 1 to 999"));
        }
        let known: Option<serde_json::Value> = p
            .db()
            .first(stmt!(
                "SELECT id FROM fulfillment_order_lines WHERE fulfillment_order_id = ? AND order_item_id = ? AND remaining_quantity >= ?",
                fo_id,
                &l.order_item_id,
                l.quantity
            ))
            .await?;
        let Some(line_id) = known.and_then(|k| k["id"].as_str().map(str::to_owned)) else {
            return Err(AppError::validation(
                "lines.order_item_id",
                format!(
                    "{} is not on this fulfillment order with {} left to ship",
                    l.order_item_id, l.quantity
                ),
            ));
        };
        lines.push((line_id, l.quantity));
    }
    let update = ProviderUpdate {
        provider: fo.provider,
        event_id: format!("manual:{fo_id}:{}", number.to_lowercase()),
        kind: "tracking_added".into(),
        reference: Some(fo.id.clone()),
        external_id: None,
        status: None,
        shipments: vec![ShipmentUpdate {
            external_id: format!("manual_{}", number.to_lowercase()),
            carrier: Some(carrier.clone()),
            service: None,
            tracking_number: Some(number.clone()),
            tracking_url: url.clone(),
            status: ShipmentStatus::InTransit,
            lines,
        }],
        error: None,
    };
    let payload = json!({ "carrier": carrier, "tracking_number": number, "tracking_url": url, "fulfillment_order_id": fo_id });
    let applied = events::apply(p, &update, &payload).await.map_err(|e| match e {
        AppError::Conflict { .. } => AppError::conflict(
            "tracking_number_used",
            "This tracking number was already added to this fulfillment order with other details.",
        ),
        e => e,
    })?;
    let fo_now = crate::fulfillment::admin::get(p, store_id, fo_id).await?;
    Ok(TrackingResult {
        duplicate: applied.duplicate,
        fulfillment_order: fo_now,
    })
}
