//! Provider webhooks: `/webhooks/printful` (secret in the URL, or v2's
//! `x-pf-webhook-signature` HMAC when the store's secret is the v2 key), `/webhooks/prodigi`
//! (HMAC-SHA256 of the raw body with the store's secret, constant time; the URL secret is
//! also accepted), `/webhooks/gelato` (secret in the URL). Each is authenticated against
//! the store that owns the fulfillment order before anything is written; the
//! body is only parsed to find that store.

use super::events::{self, ProviderUpdate, ShipmentUpdate, synthetic_id};
use crate::AppError;
use crate::auth::secure_eq;
use crate::domain::{FulfillmentStatus, ProviderCode, ShipmentStatus};
use crate::ports::Platform;
use crate::sql::stores;
use serde_json::Value;

const MAX_BODY: usize = 512 * 1024;

fn malformed(code: &'static str, message: impl Into<String>) -> AppError {
    AppError::Malformed {
        code,
        message: message.into(),
    }
}

fn unauthorized() -> AppError {
    AppError::unauthenticated(
        "invalid_signature",
        "The webhook secret or signature does not match this store's provider settings.",
    )
}

/// One provider callback as it arrived: the raw body, the URL's `secret` parameter and the
/// header [`signature_header`] names.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    pub body: &'a [u8],
    pub url_secret: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// The header carrying a provider's HMAC of the raw body: Prodigi (as Lading documents it)
/// and Printful v2 sign; the others authenticate by the URL's secret only.
pub const fn signature_header(provider: ProviderCode) -> Option<&'static str> {
    match provider {
        ProviderCode::Prodigi => Some("x-prodigi-signature"),
        ProviderCode::Printful => Some("x-pf-webhook-signature"),
        _ => None,
    }
}

/// Handles `POST /webhooks/{provider}`.
///
/// # Errors
/// 400 malformed; 401 unauthenticated; 404 unknown order; 409 replayed id with other
/// content; 413 too large; 503 storage — none of the 4xx write anything.
pub async fn receive<P: Platform>(
    p: &P,
    provider: ProviderCode,
    delivery: Delivery<'_>,
) -> Result<events::Applied, AppError> {
    if delivery.body.len() > MAX_BODY {
        return Err(AppError::TooLarge(format!(
            "A provider event has at most {MAX_BODY} bytes."
        )));
    }
    let body: Value = serde_json::from_slice(delivery.body).map_err(|e| {
        malformed(
            "malformed_json",
            format!("The body is not valid JSON: {e}."),
        )
    })?;
    let update = match provider {
        ProviderCode::Printful => printful(&body),
        ProviderCode::Prodigi => prodigi(&body),
        ProviderCode::Gelato => gelato(&body),
        _ => None,
    }
    .ok_or_else(|| {
        malformed(
            "malformed_event",
            format!(
                "Not a {} webhook this endpoint understands.",
                provider.as_str()
            ),
        )
    })?;
    let fo = events::find(
        p,
        provider,
        update.reference.as_deref(),
        update.external_id.as_deref(),
    )
    .await?
    .ok_or(AppError::NotFound("fulfillment order"))?;
    let store = stores::store_by_id(p.db(), &fo.store_id)
        .await?
        .ok_or(AppError::NotFound("store"))?;
    let secret = store
        .settings
        .providers
        .account(provider)
        .and_then(|a| a.webhook_secret.clone())
        .filter(|s| !s.is_empty())
        .ok_or_else(unauthorized)?;
    let url_ok = delivery
        .url_secret
        .is_some_and(|s| secure_eq(s.as_bytes(), secret.as_bytes()));
    let hmac_ok = signature_header(provider)
        .and(delivery.signature)
        .is_some_and(|sig| {
            hex::decode(sig.trim()).is_ok_and(|tag| {
                crate::crypto::hmac_sha256_verify(secret.as_bytes(), &[delivery.body], &tag)
            })
        });
    if !(url_ok || hmac_ok) {
        return Err(unauthorized());
    }
    Ok(events::apply(p, &update, &body).await?)
}

fn s(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Printful v1: `{type, created, retries, store, data:{order, shipment?, reason?}}`.
pub fn printful(b: &Value) -> Option<ProviderUpdate> {
    let kind = b["type"].as_str()?;
    let order = &b["data"]["order"];
    let ship = &b["data"]["shipment"];
    let status = match kind {
        "order_failed" => Some(FulfillmentStatus::Failed),
        "order_canceled" => Some(FulfillmentStatus::Cancelled),
        "order_put_hold" => Some(FulfillmentStatus::OnHold),
        "order_remove_hold" => Some(FulfillmentStatus::InProduction),
        "package_shipped" => Some(FulfillmentStatus::Shipped),
        _ => None,
    };
    // Printful's order items carry our line id as `external_id`; shipments list theirs.
    let line_of = |item_id: &Value| {
        order["items"]
            .as_array()?
            .iter()
            .find(|i| s(&i["id"]) == s(item_id))
            .and_then(|i| s(&i["external_id"]))
    };
    let shipments = if kind == "package_shipped" && ship.is_object() {
        vec![ShipmentUpdate {
            external_id: s(&ship["id"])?,
            carrier: s(&ship["carrier"]),
            service: s(&ship["service"]),
            tracking_number: s(&ship["tracking_number"]),
            tracking_url: s(&ship["tracking_url"]),
            status: ShipmentStatus::InTransit,
            lines: ship["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|i| Some((line_of(&i["item_id"])?, i["quantity"].as_i64()?)))
                .collect(),
        }]
    } else {
        vec![]
    };
    Some(ProviderUpdate {
        provider: ProviderCode::Printful,
        event_id: synthetic_id(&[
            kind,
            &s(&b["created"]).unwrap_or_default(),
            &s(&order["id"]).unwrap_or_default(),
            &s(&ship["id"]).unwrap_or_default(),
        ]),
        kind: kind.to_owned(),
        reference: s(&order["external_id"]),
        external_id: s(&order["id"]),
        status,
        shipments,
        error: s(&b["data"]["reason"]),
    })
}

/// Prodigi: a CloudEvent `{specversion, type, id, time, subject, data:{order}}`.
pub fn prodigi(b: &Value) -> Option<ProviderUpdate> {
    let kind = b["type"].as_str()?;
    let order = &b["data"]["order"];
    let stage = order["status"]["stage"].as_str().unwrap_or_default();
    let details = &order["status"]["details"];
    let line_of = |item_id: &Value| {
        order["items"]
            .as_array()?
            .iter()
            .find(|i| s(&i["id"]) == s(item_id))
            .and_then(|i| s(&i["merchantReference"]))
    };
    let shipments: Vec<ShipmentUpdate> = order["shipments"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|sh| {
            sh["status"]
                .as_str()
                .is_some_and(|st| st.eq_ignore_ascii_case("shipped"))
        })
        .filter_map(|sh| {
            Some(ShipmentUpdate {
                external_id: s(&sh["id"])?,
                carrier: s(&sh["carrier"]["name"]),
                service: s(&sh["carrier"]["service"]),
                tracking_number: s(&sh["tracking"]["number"]),
                tracking_url: s(&sh["tracking"]["url"]),
                status: ShipmentStatus::InTransit,
                lines: sh["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|i| {
                        let line = line_of(&i["itemId"])?;
                        let copies = order["items"]
                            .as_array()?
                            .iter()
                            .find(|x| s(&x["id"]) == s(&i["itemId"]))?["copies"]
                            .as_i64()
                            .unwrap_or(1);
                        Some((line, copies))
                    })
                    .collect(),
            })
        })
        .collect();
    let status = if stage.eq_ignore_ascii_case("cancelled") {
        Some(FulfillmentStatus::Cancelled)
    } else if shipments.is_empty()
        && details["inProduction"]
            .as_str()
            .is_some_and(|d| !d.eq_ignore_ascii_case("NotStarted"))
    {
        Some(FulfillmentStatus::InProduction)
    } else {
        None
    };
    Some(ProviderUpdate {
        provider: ProviderCode::Prodigi,
        event_id: s(&b["id"])?,
        kind: kind.to_owned(),
        reference: s(&order["merchantReference"]),
        external_id: s(&order["id"]).or_else(|| s(&b["subject"])),
        status,
        shipments,
        error: None,
    })
}

/// Gelato `order_status_updated`: per-item fulfilments carry the tracking codes.
pub fn gelato(b: &Value) -> Option<ProviderUpdate> {
    let kind = b["event"].as_str()?;
    let status = match b["fulfillmentStatus"].as_str().unwrap_or_default() {
        "in_production" | "printed" => Some(FulfillmentStatus::InProduction),
        "canceled" | "cancelled" => Some(FulfillmentStatus::Cancelled),
        "failed" => Some(FulfillmentStatus::Failed),
        _ => None,
    };
    // One parcel per tracking code, with the items it carries.
    let mut shipments: Vec<ShipmentUpdate> = Vec::new();
    for item in b["items"].as_array().into_iter().flatten() {
        for f in item["fulfillments"].as_array().into_iter().flatten() {
            let Some(code) = s(&f["trackingCode"]) else {
                continue;
            };
            let line = s(&item["itemReferenceId"]);
            let delivered = item["fulfillmentStatus"].as_str() == Some("delivered");
            match shipments.iter_mut().find(|x| x.external_id == code) {
                Some(x) => x
                    .lines
                    .extend(line.map(|l| (l, item["quantity"].as_i64().unwrap_or(1)))),
                None => shipments.push(ShipmentUpdate {
                    external_id: code.clone(),
                    carrier: s(&f["shipmentMethodName"]),
                    service: None,
                    tracking_number: Some(code),
                    tracking_url: s(&f["trackingUrl"]),
                    status: if delivered {
                        ShipmentStatus::Delivered
                    } else {
                        ShipmentStatus::InTransit
                    },
                    lines: line
                        .map(|l| (l, item["quantity"].as_i64().unwrap_or(1)))
                        .into_iter()
                        .collect(),
                }),
            }
        }
    }
    Some(ProviderUpdate {
        provider: ProviderCode::Gelato,
        event_id: s(&b["id"])?,
        kind: kind.to_owned(),
        reference: s(&b["orderReferenceId"]),
        external_id: s(&b["orderId"]),
        status,
        shipments,
        error: None,
    })
}
