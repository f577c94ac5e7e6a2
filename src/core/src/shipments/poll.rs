//! Couriers without webhooks (adapter `poll`; Chit Chats by default) are asked by the
//! scheduler every five minutes: parcels that have not arrived, the least recently checked
//! first, at most 60 a run. Each answer's events go through the webhook's path
//! ([`super::courier_events::apply`]): recorded once per event id, forward only.

use super::courier_events::{self, CourierEvent};
use crate::AppError;
use crate::db::{Db as _, DbExt as _};
use crate::ports::{HttpClient as _, OutboundRequest, Platform};
use crate::stmt;
use serde::Deserialize;

pub const MAX_PER_RUN: i64 = 60;
pub const SPACING_MS: u64 = 250;

#[derive(Deserialize)]
struct Due {
    id: String,
    courier: String,
    tracking_number: String,
}

#[derive(Deserialize)]
struct Tracking {
    events: Vec<CourierEvent>,
}

/// Asks the polled couriers about parcels on their way; returns the events applied.
///
/// # Errors
/// Storage failures, or parcels to poll with no `COURIER_API_BASE`; a courier's failure
/// skips that parcel until the next run.
pub async fn poll_couriers<P: Platform>(p: &P) -> Result<u64, AppError> {
    let due: Vec<Due> = p
        .db()
        .query(stmt!(
            "SELECT s.id, s.courier, s.tracking_number FROM shipments s \
             JOIN couriers c ON c.store_id = s.store_id AND c.code = s.courier \
             WHERE s.status IN ('draft', 'ready', 'in_transit') AND s.tracking_number IS NOT NULL AND c.tracking_adapter = 'poll' \
             ORDER BY COALESCE(s.last_polled_at, 0), s.created_at LIMIT ?",
            MAX_PER_RUN
        ))
        .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let Some(base) = p.settings().courier_api_base.clone() else {
        return Err(AppError::unavailable(
            "courier_api_not_configured",
            format!(
                "{} parcel(s) wait for a polled courier: set COURIER_API_BASE",
                due.len()
            ),
        ));
    };
    let mut applied = 0;
    for (i, s) in due.iter().enumerate() {
        if i > 0 {
            p.sleep_ms(SPACING_MS).await;
        }
        p.db()
            .run(stmt!(
                "UPDATE shipments SET last_polled_at = ? WHERE id = ?",
                p.now_ms(),
                &s.id
            ))
            .await?;
        let url = format!(
            "{base}/{}/tracking/{}",
            s.courier,
            super::couriers::tracking_url("{number}", &s.tracking_number)
        );
        let Ok(r) = p
            .http()
            .send(OutboundRequest {
                method: "GET",
                url,
                headers: vec![("accept".into(), "application/json".into())],
                body: None,
                timeout_ms: None,
            })
            .await
        else {
            continue;
        };
        if !(200..300).contains(&r.status) {
            continue;
        }
        let Ok(t) = serde_json::from_slice::<Tracking>(&r.body) else {
            continue;
        };
        for e in t
            .events
            .iter()
            .filter(|e| e.tracking_number == s.tracking_number)
        {
            if let Ok(o) = courier_events::apply(p, &s.courier, e).await
                && !o.duplicate
            {
                applied += 1;
            }
        }
    }
    Ok(applied)
}
