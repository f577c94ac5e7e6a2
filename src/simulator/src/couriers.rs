//! USPS, DHL, Chit Chats and Canada Post, as `shared/PROVIDERS.md` describes them: each
//! courier's adapter speaks Lading's one courier-event shape (`id`, `tracking_number`,
//! `status` in `in_transit | out_for_delivery | delivered | exception`, `occurred_at`,
//! `location`), posted to `{base}/{code}` signed `Lading-Courier-Signature: t=<unix>,v1=<hex
//! HMAC-SHA256(secret, t + "." + body)>`. Chit Chats has no webhooks: it is polled.
//!
//! - `GET /couriers/{code}/tracking/{number}`: the tracking API — every event of the
//!   parcel so far, oldest first (404 for a number the courier never saw).
//!
//! Controls:
//! - `POST /__control/couriers/{code}/parcels/{number}/advance`
//!   `{"status", "location"?, "occurred_at"?, "event_id"?, "webhook"?}`: the parcel's next
//!   event, sent as the courier's signed webhook (not for Chit Chats, or `"webhook": false`).
//! - `POST /__control/couriers/{code}/events/{id}/deliver` `{"times"?}`: send an event again
//!   (`times` copies at once): duplicates, and old events arriving late.
//! - `POST /__control/couriers/delivery` `{"drop_next"?, "duplicate"?, "delay_ms"?, "fail_next"?}`:
//!   lose the next N webhooks, send each N extra times, hold each back, or sign the next N
//!   with a wrong secret.
//! - `POST /__control/couriers/webhooks` `{"base_url", "secret"}`: where webhooks go.
//! - `GET /__control/couriers/deliveries`: every webhook attempt and its answer.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const CODES: &[&str] = &["usps", "dhl", "chitchats", "canada_post"];
const STATUSES: &[&str] = &["in_transit", "out_for_delivery", "delivered", "exception"];

#[derive(Clone)]
pub struct Couriers(Arc<Mutex<Inner>>);

#[derive(Default, Deserialize, Clone)]
struct DeliveryFaults {
    #[serde(default)]
    drop_next: u32,
    #[serde(default)]
    duplicate: u32,
    #[serde(default)]
    delay_ms: u64,
    /// Sign the next N deliveries with a wrong secret (a forged webhook).
    #[serde(default)]
    fail_next: u32,
}

#[derive(Default)]
struct Inner {
    seq: u64,
    /// (courier, tracking number) → its events, oldest first.
    parcels: HashMap<(String, String), Vec<Value>>,
    webhook: Option<(String, String)>,
    delivery: DeliveryFaults,
    deliveries: Vec<Value>,
}

impl Couriers {
    pub fn new(webhook: Option<(String, String)>) -> Self {
        Couriers(Arc::new(Mutex::new(Inner {
            webhook,
            ..Inner::default()
        })))
    }
}

pub fn router(s: Couriers) -> Router {
    Router::new()
        .route("/couriers/{code}/tracking/{number}", get(tracking))
        .route(
            "/__control/couriers/{code}/parcels/{number}/advance",
            post(advance),
        )
        .route(
            "/__control/couriers/{code}/events/{id}/deliver",
            post(redeliver),
        )
        .route("/__control/couriers/delivery", post(set_delivery))
        .route("/__control/couriers/webhooks", post(set_webhooks))
        .route("/__control/couriers/deliveries", get(list_deliveries))
        .with_state(s)
}

fn reply(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

fn now_s() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// Unix seconds as RFC 3339 UTC (days to civil date: Howard Hinnant's algorithm).
fn rfc3339(t: i64) -> String {
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn unknown_courier(code: &str) -> Response {
    reply(
        StatusCode::NOT_FOUND,
        json!({ "error": format!("no courier {code}; the simulator plays {}", CODES.join(", ")) }),
    )
}

async fn tracking(
    AxState(s): AxState<Couriers>,
    Path((code, number)): Path<(String, String)>,
) -> Response {
    if !CODES.contains(&code.as_str()) {
        return unknown_courier(&code);
    }
    let inner = s.0.lock().expect("lock");
    match inner.parcels.get(&(code.clone(), number.clone())) {
        Some(events) => reply(
            StatusCode::OK,
            json!({ "courier": code, "tracking_number": number, "events": events }),
        ),
        None => reply(
            StatusCode::NOT_FOUND,
            json!({ "error": format!("{code} has no parcel {number}") }),
        ),
    }
}

#[derive(Deserialize)]
struct Advance {
    status: String,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    occurred_at: Option<String>,
    #[serde(default)]
    event_id: Option<String>,
    #[serde(default)]
    webhook: Option<bool>,
}

async fn advance(
    AxState(s): AxState<Couriers>,
    Path((code, number)): Path<(String, String)>,
    Json(a): Json<Advance>,
) -> Response {
    if !CODES.contains(&code.as_str()) {
        return unknown_courier(&code);
    }
    if !STATUSES.contains(&a.status.as_str()) {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({ "error": format!("status must be one of {}", STATUSES.join(", ")) }),
        );
    }
    let event = {
        let mut inner = s.0.lock().expect("lock");
        inner.seq += 1;
        let id = a
            .event_id
            .unwrap_or_else(|| format!("{code}_evt_{:06}", inner.seq));
        let event = json!({
            "id": id, "tracking_number": number, "status": a.status,
            "occurred_at": a.occurred_at.unwrap_or_else(|| rfc3339(now_s())),
            "location": a.location, "description": format!("{} ({code})", a.status.replace('_', " ")),
        });
        inner
            .parcels
            .entry((code.clone(), number.clone()))
            .or_default()
            .push(event.clone());
        event
    };
    let webhook = a.webhook.unwrap_or(code != "chitchats");
    if webhook {
        deliver(s, &code, event.clone(), None);
    }
    reply(
        StatusCode::OK,
        json!({ "event": event, "webhook": if webhook { "sent" } else { "none (polled)" } }),
    )
}

#[derive(Deserialize, Default)]
struct Redeliver {
    times: Option<u32>,
}

async fn redeliver(
    AxState(s): AxState<Couriers>,
    Path((code, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let times = serde_json::from_slice::<Redeliver>(&body)
        .unwrap_or_default()
        .times
        .unwrap_or(1)
        .clamp(1, 100);
    let event = {
        let inner = s.0.lock().expect("lock");
        inner
            .parcels
            .iter()
            .filter(|((c, _), _)| *c == code)
            .flat_map(|(_, events)| events.iter())
            .find(|e| e["id"] == id.as_str())
            .cloned()
    };
    match event {
        Some(e) => {
            deliver(s, &code, e, Some(times));
            reply(StatusCode::ACCEPTED, json!({ "id": id, "times": times }))
        }
        None => reply(
            StatusCode::NOT_FOUND,
            json!({ "error": format!("{code} sent no event {id}") }),
        ),
    }
}

#[derive(Deserialize)]
struct WebhookConfig {
    base_url: String,
    secret: String,
}

async fn set_webhooks(AxState(s): AxState<Couriers>, Json(c): Json<WebhookConfig>) -> Response {
    s.0.lock().expect("lock").webhook = Some((c.base_url.clone(), c.secret));
    reply(StatusCode::OK, json!({ "base_url": c.base_url }))
}

async fn set_delivery(AxState(s): AxState<Couriers>, Json(d): Json<DeliveryFaults>) -> Response {
    s.0.lock().expect("lock").delivery = d.clone();
    reply(
        StatusCode::OK,
        json!({ "drop_next": d.drop_next, "duplicate": d.duplicate, "delay_ms": d.delay_ms, "fail_next": d.fail_next }),
    )
}

async fn list_deliveries(AxState(s): AxState<Couriers>) -> Response {
    reply(
        StatusCode::OK,
        json!({ "data": s.0.lock().expect("lock").deliveries }),
    )
}

/// The `Lading-Courier-Signature` header for a body: the same `t=<unix>,v1=<hex HMAC>` over
/// `"{t}.{body}"` as Stripe's (`shared/PROVIDERS.md`).
pub use crate::stripe::signature_header;

/// Posts an event as the courier's adapter would, in the background: `times` copies (or
/// 1 + the configured duplicates) unless a drop is pending; non-2xx answers are retried a
/// few times (couriers retry for hours; here, seconds).
fn deliver(s: Couriers, code: &str, event: Value, times: Option<u32>) {
    let (target, copies, delay_ms, forged) = {
        let mut inner = s.0.lock().expect("lock");
        let Some(target) = inner.webhook.clone() else {
            return;
        };
        if times.is_none() && inner.delivery.drop_next > 0 {
            inner.delivery.drop_next -= 1;
            inner.deliveries.push(
                json!({ "courier": code, "event": event["id"], "status_sent": event["status"], "outcome": "dropped" }),
            );
            return;
        }
        let forged = inner.delivery.fail_next > 0;
        if forged {
            inner.delivery.fail_next -= 1;
        }
        let copies = times.unwrap_or(1 + inner.delivery.duplicate);
        (target, copies, inner.delivery.delay_ms, forged)
    };
    let payload = serde_json::to_vec(&event).expect("JSON");
    let url = format!("{}/{code}", target.0.trim_end_matches('/'));
    for _ in 0..copies {
        let (s, url, payload, code) = (s.clone(), url.clone(), payload.clone(), code.to_owned());
        let (secret, id) = (target.1.clone(), event["id"].clone());
        tokio::spawn(async move {
            if delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            }
            let client = reqwest::Client::new();
            // A forged delivery is sent once: its 401 is the point.
            let attempts = if forged { 1 } else { 3u32 };
            for attempt in 1..=attempts {
                let key = if forged {
                    format!("not-{secret}")
                } else {
                    secret.clone()
                };
                let status = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header(
                        "lading-courier-signature",
                        signature_header(&key, now_s(), &payload),
                    )
                    .body(payload.clone())
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0);
                s.0.lock().expect("lock").deliveries.push(
                    json!({ "courier": code, "event": id, "attempt": attempt, "status": status, "forged": forged }),
                );
                if (200..300).contains(&status) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(300 * u64::from(attempt))).await;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_796_300_000), "2026-12-03T12:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn signatures_verify_with_the_core() {
        let body = br#"{"id":"e1"}"#;
        let h = signature_header("s3cret", 1_700_000_000, body);
        assert!(
            lading_core::payments::stripe_signature::verify(
                Some(&h),
                body,
                &["s3cret"],
                1_700_000_010,
                300
            )
            .is_ok()
        );
    }
}
