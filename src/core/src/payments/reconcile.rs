//! Every five minutes the scheduler lists Stripe's events since its cursor and ingests
//! those not yet applied, through the same path as webhooks: a dropped or failed delivery
//! still ends as a paid (or cancelled, or refunded) order.

use super::events::{IngestError, PROVIDER, ingest};
use crate::AppError;
use crate::db::{Db as _, DbExt as _, Stmt};
use crate::orders::checkout::stripe_failure;
use crate::payments::stripe_client;
use crate::ports::Platform;
use crate::stmt;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashSet;

const CURSOR: &str = "stripe_events";
/// A first run looks back this far (Stripe retries deliveries for up to 3 days).
const FIRST_LOOKBACK_S: i64 = 3 * 24 * 3600;
/// Re-read a little before the cursor: events are not listed in strict creation order
/// across Stripe's servers.
const OVERLAP_S: i64 = 300;
const MAX_PAGES: usize = 20;

#[derive(Debug, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Reconciled {
    pub listed: usize,
    pub applied: usize,
    pub failed: usize,
}

/// # Errors
/// Stripe or storage failures before anything was applied; failures of single events are
/// counted and retried next run.
pub async fn reconcile_stripe<P: Platform>(p: &P) -> Result<Reconciled, AppError> {
    let Some(cfg) = p.settings().stripe.clone() else {
        return Ok(Reconciled::default());
    };
    let now_s = p.now_ms() / 1000;
    #[derive(Deserialize, schemars::JsonSchema)]
    struct C {
        cursor: String,
    }
    let cursor = p
        .db()
        .first::<C>(stmt!(
            "SELECT cursor FROM job_cursors WHERE name = ?",
            CURSOR
        ))
        .await?
        .and_then(|c| c.cursor.parse::<i64>().ok())
        .unwrap_or(now_s - FIRST_LOOKBACK_S);
    let since = cursor - OVERLAP_S;

    // Stripe lists newest first; gather the window, then apply oldest first.
    let mut events: Vec<Value> = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut path = format!("/v1/events?limit=100&created%5Bgte%5D={since}");
        if let Some(a) = &after {
            path.push_str(&format!("&starting_after={a}"));
        }
        let page = stripe_client::get(p, &cfg, &path)
            .await
            .map_err(stripe_failure)?;
        let data = page["data"].as_array().cloned().unwrap_or_default();
        after = data
            .last()
            .and_then(|e| e["id"].as_str())
            .map(str::to_owned);
        events.extend(data);
        if page["has_more"].as_bool() != Some(true) || after.is_none() {
            break;
        }
    }
    events.sort_by_key(|e| e["created"].as_i64().unwrap_or(0));

    let done = processed(p, &events).await?;
    let mut report = Reconciled {
        listed: events.len(),
        ..Reconciled::default()
    };
    let mut new_cursor = events
        .last()
        .and_then(|e| e["created"].as_i64())
        .unwrap_or(cursor)
        .max(cursor);
    for e in &events {
        let id = e["id"].as_str().unwrap_or_default();
        if done.contains(id) {
            continue;
        }
        match ingest(p, e).await {
            Ok(o) if !o.duplicate => report.applied += 1,
            Ok(_) => {}
            Err(IngestError::Retry(_)) => {
                report.failed += 1;
                // Come back to it: the cursor stops before the first failure.
                new_cursor = new_cursor.min(e["created"].as_i64().unwrap_or(cursor));
            }
            // Refused (malformed, or conflicting with what a webhook delivered): recorded
            // as far as it can be, and not retried.
            Err(_) => report.failed += 1,
        }
    }
    p.db()
        .run(stmt!(
            "INSERT INTO job_cursors (name, cursor, updated_at) VALUES (?, ?, ?) \
             ON CONFLICT (name) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
            CURSOR,
            new_cursor.to_string(),
            p.now_ms()
        ))
        .await?;
    Ok(report)
}

/// Which of these events were already applied (one query per 90 ids: D1 binds ≤ 100).
async fn processed<P: Platform>(p: &P, events: &[Value]) -> Result<HashSet<String>, AppError> {
    #[derive(Deserialize, schemars::JsonSchema)]
    struct R {
        event_id: String,
    }
    let ids: Vec<&str> = events.iter().filter_map(|e| e["id"].as_str()).collect();
    let mut done = HashSet::new();
    for chunk in ids.chunks(90) {
        let mut s = Stmt::new(format!(
            "SELECT event_id FROM inbound_events WHERE provider = ? AND processed_at IS NOT NULL AND event_id IN ({})",
            vec!["?"; chunk.len()].join(", ")
        ))
        .bind(PROVIDER);
        for id in chunk {
            s = s.bind(*id);
        }
        done.extend(p.db().query::<R>(s).await?.into_iter().map(|r| r.event_id));
    }
    Ok(done)
}
