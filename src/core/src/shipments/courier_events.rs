//! What couriers say about parcels. Every courier's adapter (or the scheduler's poll of its
//! tracking API) produces one event shape — id, tracking number, status (`in_transit`,
//! `out_for_delivery`, `delivered`, `exception`), time, location — posted to
//! `/webhooks/couriers/{code}` signed `Lading-Courier-Signature: t=<unix>,v1=<hex
//! HMAC-SHA256(secret, t + "." + body)>` (`shared/PROVIDERS.md`). A signature is checked
//! before anything is read or written; each event is recorded once per (courier, event
//! id); a parcel's status only moves forward, and what the courier last said only follows
//! newer events, so duplicated and out-of-order events leave it at its furthest state.

use super::ShipmentRow;
use super::status::{advance_statements, run_and_dispatch};
use crate::AppError;
use crate::auth::sha256_hex;
use crate::db::{Db as _, DbExt as _, Stmt};
use crate::domain::ShipmentStatus;
use crate::inbound::{self, Seen};
use crate::payments::stripe_signature::{self, SignatureError};
use crate::ports::Platform;
use crate::stmt;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The signature header couriers' events carry.
pub const SIGNATURE_HEADER: &str = "lading-courier-signature";
/// How old a signed event may be.
pub const TOLERANCE_S: i64 = 300;
/// The most an event may weigh.
pub const MAX_EVENT_BYTES: usize = 16 * 1024;

crate::string_enum!(
    /// What a courier says about a parcel.
    TrackingStatus { InTransit = "in_transit", OutForDelivery = "out_for_delivery", Delivered = "delivered", Exception = "exception" }
);

impl TrackingStatus {
    /// The parcel status this news moves a parcel to (an exception moves nothing).
    fn parcel_status(self) -> Option<ShipmentStatus> {
        match self {
            TrackingStatus::InTransit | TrackingStatus::OutForDelivery => {
                Some(ShipmentStatus::InTransit)
            }
            TrackingStatus::Delivered => Some(ShipmentStatus::Delivered),
            TrackingStatus::Exception => None,
        }
    }
}

/// One courier event (the body of a courier webhook, or one entry of a tracking API's answer).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct CourierEvent {
    /// Unique per courier.
    pub id: String,
    pub tracking_number: String,
    pub status: TrackingStatus,
    /// When it happened (RFC 3339).
    pub occurred_at: String,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CourierOutcome {
    pub event_id: String,
    /// The event was applied before; nothing changed.
    pub duplicate: bool,
    /// The parcels it is about.
    pub shipments: Vec<String>,
}

/// Settings' secrets, or 503 when none is set.
fn secrets<P: Platform>(p: &P) -> Result<Vec<String>, AppError> {
    let s = p.settings().courier_webhook_secrets.clone();
    if s.is_empty() {
        return Err(AppError::unavailable(
            "webhook_not_configured",
            "Set the COURIER_WEBHOOK_SECRET secret to receive courier events.",
        ));
    }
    Ok(s)
}

/// `POST /webhooks/couriers/{code}`: verifies, parses and applies one courier event.
///
/// # Errors
/// 401 bad or missing signature; 400 not an event; 404 no parcel of that courier has the
/// tracking number; 409 the event id was seen with other content; 503 not configured.
pub async fn receive<P: Platform>(
    p: &P,
    courier: &str,
    body: &[u8],
    signature: Option<&str>,
) -> Result<CourierOutcome, AppError> {
    let secrets = secrets(p)?;
    if body.len() > MAX_EVENT_BYTES {
        return Err(AppError::TooLarge(format!(
            "A courier event has at most {MAX_EVENT_BYTES} bytes."
        )));
    }
    let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
    stripe_signature::verify(signature, body, &refs, p.now_ms() / 1000, TOLERANCE_S).map_err(
        |e| {
            AppError::unauthenticated(
                "invalid_signature",
                match e {
                    SignatureError::MissingHeader => {
                        "The Lading-Courier-Signature header is missing.".to_owned()
                    }
                    e => format!("The Lading-Courier-Signature header does not verify: {e}."),
                },
            )
        },
    )?;
    let event: CourierEvent = serde_json::from_slice(body).map_err(|e| AppError::Malformed {
        code: "malformed_event",
        message: format!("The body is not a courier event: {e}."),
    })?;
    apply(p, courier, &event).await
}

/// Applies one authenticated event to the parcels with its courier and tracking number.
///
/// # Errors
/// 400 a bad time or empty id; 404 no such parcel; 409 the id was seen with other content.
pub async fn apply<P: Platform>(
    p: &P,
    courier: &str,
    e: &CourierEvent,
) -> Result<CourierOutcome, AppError> {
    let malformed = |m: &str| AppError::Malformed {
        code: "malformed_event",
        message: m.to_owned(),
    };
    if e.id.trim().is_empty() || e.id.len() > 200 {
        return Err(malformed("id must be 1 to 200 characters"));
    }
    let occurred = crate::time_fmt::parse_instant_ms(&e.occurred_at)
        .ok_or_else(|| malformed("occurred_at must be an RFC 3339 time"))?;
    let parcels: Vec<ShipmentRow> = p
        .db()
        .query(stmt!(
            format!(
                "{} WHERE s.courier = ? AND s.tracking_number = ?",
                super::SELECT
            ),
            courier,
            e.tracking_number.trim()
        ))
        .await?;
    if parcels.is_empty() {
        return Err(AppError::NotFound(
            "parcel with this courier and tracking number",
        ));
    }
    let provider = format!("courier:{courier}");
    let payload = serde_json::to_string(e).unwrap_or_default();
    let ids: Vec<String> = parcels.iter().map(|s| s.id.clone()).collect();
    match inbound::record(
        p,
        &provider,
        &e.id,
        e.status.as_str(),
        &payload,
        &sha256_hex(&payload),
    )
    .await?
    {
        Seen::Mismatch => {
            return Err(AppError::conflict(
                "event_payload_mismatch",
                format!(
                    "{courier} event {} was already received with other content",
                    e.id
                ),
            ));
        }
        Seen::Processed => {
            return Ok(CourierOutcome {
                event_id: e.id.clone(),
                duplicate: true,
                shipments: ids,
            });
        }
        Seen::Unprocessed => {}
    }
    let now = p.now_ms();
    for s in &parcels {
        let mut batch = tracking_statements(s, courier, e, occurred, now);
        let mut events = vec![format!("courier:{courier}:{}:{}", e.id, s.id)];
        if let Some(to) = e.status.parcel_status()
            && super::status::path(s.status, to).is_some()
        {
            let (moves, moved) = advance_statements(
                s,
                to,
                &json!({ "by": provider, "event_id": e.id, "location": e.location }),
                now,
            );
            batch.extend(moves);
            events.extend(moved);
        }
        run_and_dispatch(p, s, batch, &events, now).await?;
    }
    p.db()
        .run(inbound::mark_processed(&provider, &e.id, now))
        .await?;
    Ok(CourierOutcome {
        event_id: e.id.clone(),
        duplicate: false,
        shipments: ids,
    })
}

/// What the courier last said follows only newer events and stops at delivered; each
/// event is a timeline entry (`courier.<status>`) once.
fn tracking_statements(
    s: &ShipmentRow,
    courier: &str,
    e: &CourierEvent,
    occurred: i64,
    now: i64,
) -> Vec<Stmt> {
    vec![
        stmt!(
            "UPDATE shipments SET tracking_status = ?, tracking_location = ?, tracking_event_at = ?, updated_at = ? \
             WHERE id = ? AND (tracking_status IS NULL OR tracking_status <> 'delivered') \
               AND (tracking_event_at IS NULL OR tracking_event_at <= ?)",
            e.status.as_str(),
            &e.location,
            occurred,
            now,
            &s.id,
            occurred
        ),
        super::shipment_event(
            &format!("courier:{courier}:{}:{}", e.id, s.id),
            &s.store_id,
            &s.id,
            &format!("courier.{}", e.status.as_str()),
            &json!({ "event_id": e.id, "tracking_number": e.tracking_number, "location": e.location,
                     "description": e.description, "occurred_at": e.occurred_at, "order_id": s.order_id }),
            now,
            stmt!("1 = 1"),
        ),
    ]
}
