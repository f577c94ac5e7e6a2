//! Outbound webhooks: a domain event a store's endpoints subscribe to becomes an outbox
//! message in the batch that records it (a trigger: `migrations/0019_…`); the queue
//! consumer makes one delivery per subscribed endpoint (`UNIQUE(endpoint, event)`), claims
//! each with a lease, signs and sends it, and records the attempt. A failed attempt is
//! retried with backoff (2 s, 10 s, 1 min, 5 min, 30 min, 2 h, 6 h); a delivery failed after
//! its last attempt counts against its endpoint, and an endpoint with five such in a row is
//! disabled with a reason, an operator task and an email to the store. The scheduler sends
//! what came due without a message (a lost one, an endpoint enabled again).

use super::call::{self, Call};
use super::endpoints::{COLUMNS, EndpointRow};
use crate::AppError;
use crate::auth::sha256_hex;
use crate::db::{Db as _, DbExt as _, Stmt};
use crate::ports::{Platform, PlatformExt as _};
use crate::queue::Outcome;
use crate::stmt;
use crate::time_fmt::rfc3339;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Seconds before the retry after each failed attempt; one attempt more than its length.
pub const BACKOFF_S: &[i64] = &[2, 10, 60, 300, 1800, 7200, 21600];
pub const MAX_ATTEMPTS: i64 = BACKOFF_S.len() as i64 + 1;
/// Deliveries failed for good in a row that disable an endpoint.
pub const DISABLE_AFTER: i64 = 5;
const LEASE_MS: i64 = 30_000;

/// The outbox row (and queue message) of one event's webhooks.
pub fn outbox_id(event_id: &str) -> String {
    format!("webhook:{event_id}")
}

#[derive(Debug, Deserialize)]
struct EventRow {
    id: String,
    store_id: String,
    aggregate_type: String,
    aggregate_id: String,
    #[serde(rename = "type")]
    kind: String,
    payload: String,
    created_at: i64,
}

/// The body every subscriber of an event receives: `{type, timestamp, data}`, the data
/// being the event's own fields with its id and what it is about.
fn body_of(e: &EventRow) -> String {
    let mut data = serde_json::from_str::<Value>(&e.payload)
        .ok()
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    data["event_id"] = json!(e.id);
    data["aggregate_type"] = json!(e.aggregate_type);
    data["aggregate_id"] = json!(e.aggregate_id);
    json!({ "type": e.kind, "timestamp": rfc3339(e.created_at), "data": data }).to_string()
}

#[derive(Debug, Deserialize)]
struct Due {
    id: String,
    store_id: String,
    endpoint_id: String,
    payload: String,
    status: String,
    attempts: i64,
    max_attempts: i64,
    next_attempt_at: Option<i64>,
    url: String,
    secret: String,
    endpoint_status: String,
}

/// The consumer's work for one `webhook` message.
pub async fn process<P: Platform>(p: &P, event_id: &str) -> Outcome {
    match run(p, event_id).await {
        Ok(o) => o,
        Err(e) => Outcome::RetryAfter {
            seconds: 30,
            reason: Some(e.to_string()),
        },
    }
}

async fn run<P: Platform>(p: &P, event_id: &str) -> Result<Outcome, AppError> {
    let Some(ev) = p
        .db()
        .first::<EventRow>(stmt!(
            "SELECT id, store_id, aggregate_type, aggregate_id, type, payload, created_at FROM domain_events WHERE id = ?",
            event_id
        ))
        .await?
    else {
        return Ok(Outcome::Dropped {
            reason: format!("no event {event_id}"),
        });
    };
    fan_out(p, &ev).await?;
    let due: Vec<Due> = p
        .db()
        .query(stmt!(
            "SELECT d.id, d.store_id, d.endpoint_id, d.payload, d.status, d.attempts, d.max_attempts, d.next_attempt_at, \
               e.url, e.secret, e.status AS endpoint_status \
             FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
             WHERE d.event_id = ? AND d.status IN ('pending', 'sending')",
            event_id
        ))
        .await?;
    let mut wait: Option<i64> = None;
    for d in &due {
        if let Some(w) = attempt(p, d).await? {
            wait = Some(wait.map_or(w, |x| x.min(w)));
        }
    }
    Ok(match wait {
        Some(ms) => Outcome::RetryAfter {
            seconds: u32::try_from((ms + 999) / 1000).unwrap_or(u32::MAX).max(1),
            reason: Some("a subscriber did not take it yet".into()),
        },
        None => Outcome::Done,
    })
}

/// One delivery per enabled endpoint subscribed to the event (once, however often this runs).
async fn fan_out<P: Platform>(p: &P, ev: &EventRow) -> Result<(), AppError> {
    let endpoints: Vec<EndpointRow> = p
        .db()
        .query(stmt!(
            format!(
                "SELECT {COLUMNS} FROM webhook_endpoints e WHERE store_id = ? AND status = 'enabled' \
                 AND EXISTS (SELECT 1 FROM json_each(e.event_types) j WHERE j.value IN ('*', ?))"
            ),
            &ev.store_id,
            &ev.kind
        ))
        .await?;
    if endpoints.is_empty() {
        return Ok(());
    }
    let body = body_of(ev);
    let now = p.now_ms();
    let inserts = endpoints
        .iter()
        .map(|e| {
            stmt!(
                "INSERT INTO webhook_deliveries (id, store_id, endpoint_id, event_id, event_type, payload, status, max_attempts, \
                   next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                format!("msg_{}", &sha256_hex(&format!("{}|{}", e.id, ev.id))[..26]),
                &ev.store_id,
                &e.id,
                &ev.id,
                &ev.kind,
                &body,
                MAX_ATTEMPTS,
                now,
                now,
                now
            )
        })
        .collect();
    p.db().batch(inserts).await?;
    Ok(())
}

/// One attempt at a delivery that is due; how long until it is due again, if it is to be
/// retried.
async fn attempt<P: Platform>(p: &P, d: &Due) -> Result<Option<i64>, AppError> {
    let now = p.now_ms();
    if d.endpoint_status != "enabled" {
        return Ok(None);
    }
    if d.status == "pending" && d.next_attempt_at.is_some_and(|t| t > now) {
        return Ok(d.next_attempt_at.map(|t| t - now));
    }
    let claimed = p
        .db()
        .batch(vec![stmt!(
            "UPDATE webhook_deliveries SET status = 'sending', attempts = attempts + 1, lease_until = ?, updated_at = ? \
             WHERE id = ? AND attempts = ? AND ((status = 'pending' AND COALESCE(next_attempt_at, 0) <= ?) OR (status = 'sending' AND lease_until < ?))",
            now + LEASE_MS,
            now,
            &d.id,
            d.attempts,
            now,
            now
        )])
        .await?;
    if claimed[0].changes == 0 {
        return Ok(None);
    }
    let n = d.attempts + 1;
    let c = Call {
        subject_id: &d.id,
        attempt: n,
        url: &d.url,
        secret: &d.secret,
        message_id: &d.id,
        body: d.payload.as_bytes(),
        timeout_ms: None,
    };
    let a = call::send(p, &c).await;
    let now = p.now_ms();
    let mut batch = vec![call::record(&c, &a, now)];
    if a.ok() {
        batch.push(stmt!(
            "UPDATE webhook_deliveries SET status = 'succeeded', delivered_at = ?, last_status = ?, last_error = NULL, lease_until = NULL, updated_at = ? \
             WHERE id = ? AND status = 'sending'",
            now,
            a.status.map(i64::from),
            now,
            &d.id
        ));
        batch.push(stmt!(
            "UPDATE webhook_endpoints SET consecutive_failures = 0, last_success_at = ? WHERE id = ?",
            now,
            &d.endpoint_id
        ));
        p.db().batch(batch).await?;
        return Ok(None);
    }
    if n < d.max_attempts {
        let wait = BACKOFF_S
            .get(usize::try_from(n - 1).unwrap_or(0))
            .copied()
            .unwrap_or(21600)
            * 1000;
        batch.push(stmt!(
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?, last_status = ?, last_error = ?, lease_until = NULL, updated_at = ? \
             WHERE id = ? AND status = 'sending'",
            now + wait,
            a.status.map(i64::from),
            a.reason(),
            now,
            &d.id
        ));
        p.db().batch(batch).await?;
        return Ok(Some(wait));
    }
    batch.extend(failed_for_good(d, &a.reason(), now));
    let disabled_at = batch.len() - 2;
    let res = p.db().batch(batch).await?;
    if res[disabled_at].changes == 1 {
        let _ = tell_the_store(p, &d.store_id, &d.url, &a.reason()).await;
    }
    Ok(None)
}

/// A delivery that failed its last attempt: it counts against its endpoint, which is
/// disabled (with an operator task) once five have in a row. The second-to-last statement
/// is the disabling one.
fn failed_for_good(d: &Due, reason: &str, now: i64) -> Vec<Stmt> {
    let why = format!(
        "{DISABLE_AFTER} deliveries in a row failed after {} attempts each (last: {reason})",
        d.max_attempts
    );
    vec![
        stmt!(
            "UPDATE webhook_deliveries SET status = 'failed', last_error = ?, lease_until = NULL, updated_at = ? WHERE id = ? AND status = 'sending'",
            reason,
            now,
            &d.id
        ),
        stmt!(
            "UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1, updated_at = ? WHERE id = ?",
            now,
            &d.endpoint_id
        ),
        stmt!(
            "UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = ?, disabled_at = ? \
             WHERE id = ? AND status = 'enabled' AND consecutive_failures >= ?",
            &why,
            now,
            &d.endpoint_id,
            DISABLE_AFTER
        ),
        crate::operator_tasks::open_statement(
            &crate::operator_tasks::NewTask {
                store_id: &d.store_id,
                kind: "webhook_endpoint_disabled",
                subject_type: "webhook_endpoint",
                subject_id: &d.endpoint_id,
                title: format!("Webhook endpoint {} was disabled", d.url),
                detail: Some(why.clone()),
            },
            &format!(
                "task_{}",
                &sha256_hex(&format!("{}|{now}", d.endpoint_id))[..26]
            ),
            now,
            &stmt!(
                "EXISTS (SELECT 1 FROM webhook_endpoints WHERE id = ? AND status = 'disabled' AND disabled_at = ?)",
                &d.endpoint_id,
                now
            ),
        ),
    ]
}

/// Emails the store's operations address that an endpoint was disabled (best effort: the
/// operator task stays either way).
async fn tell_the_store<P: Platform>(
    p: &P,
    store_id: &str,
    url: &str,
    reason: &str,
) -> Result<(), AppError> {
    let Some(store) = crate::sql::stores::store_by_id(p.db(), store_id).await? else {
        return Ok(());
    };
    let Some(to) = store.settings.operations_email.clone() else {
        return Ok(());
    };
    crate::notifications::send_operational(
        p,
        &store.name,
        &to,
        &format!("Webhook endpoint disabled: {url}"),
        &format!(
            "Lading stopped sending events to {url}: {DISABLE_AFTER} deliveries in a row failed (last: {reason}).\n\
             Fix the endpoint, then enable it again in the admin (Webhooks); what failed can be re-sent from there."
        ),
    )
    .await
    .map_err(AppError::Upstream)
}

/// The scheduler's sweep: deliveries due with no message on its way (a lost message, an
/// endpoint enabled again, a claim whose lease ran out). Returns how many events it sent.
///
/// # Errors
/// Storage failures.
pub async fn sweep<P: Platform>(p: &P) -> Result<u64, AppError> {
    #[derive(Deserialize)]
    struct Ev {
        event_id: String,
    }
    let now = p.now_ms();
    let due: Vec<Ev> = p
        .db()
        .query(stmt!(
            "SELECT DISTINCT d.event_id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
             WHERE e.status = 'enabled' AND ((d.status = 'pending' AND d.next_attempt_at <= ?) OR (d.status = 'sending' AND d.lease_until < ?)) LIMIT 50",
            now - 5_000,
            now
        ))
        .await?;
    let mut n = 0;
    for e in due {
        run(p, &e.event_id).await?;
        n += 1;
    }
    Ok(n)
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AttemptView {
    pub attempt: i64,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub at: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DeliveryView {
    /// Also the `webhook-id` header: the same on every retry.
    pub id: String,
    pub endpoint_id: String,
    pub event_id: String,
    pub event_type: String,
    /// `pending`, `sending`, `succeeded`, `failed`.
    pub status: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub next_attempt_at: Option<String>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub delivered_at: Option<String>,
    pub created_at: String,
    /// The body as sent.
    pub payload: Value,
    pub attempt_log: Vec<AttemptView>,
}

#[derive(Debug, Deserialize)]
struct DeliveryRow {
    id: String,
    endpoint_id: String,
    event_id: String,
    event_type: String,
    status: String,
    attempts: i64,
    max_attempts: i64,
    next_attempt_at: Option<i64>,
    last_status: Option<i64>,
    last_error: Option<String>,
    delivered_at: Option<i64>,
    created_at: i64,
    payload: String,
    #[serde(deserialize_with = "crate::db::json_column")]
    attempt_log: Vec<AttemptRow>,
}

#[derive(Debug, Deserialize)]
struct AttemptRow {
    attempt: i64,
    status_code: Option<i64>,
    error: Option<String>,
    duration_ms: i64,
    created_at: i64,
}

impl DeliveryRow {
    fn view(self) -> DeliveryView {
        DeliveryView {
            id: self.id,
            endpoint_id: self.endpoint_id,
            event_id: self.event_id,
            event_type: self.event_type,
            status: self.status,
            attempts: self.attempts,
            max_attempts: self.max_attempts,
            next_attempt_at: self.next_attempt_at.map(rfc3339),
            last_status: self.last_status,
            last_error: self.last_error,
            delivered_at: self.delivered_at.map(rfc3339),
            created_at: rfc3339(self.created_at),
            payload: serde_json::from_str(&self.payload).unwrap_or(Value::Null),
            attempt_log: self
                .attempt_log
                .into_iter()
                .map(|a| AttemptView {
                    attempt: a.attempt,
                    status_code: a.status_code,
                    error: a.error,
                    duration_ms: a.duration_ms,
                    at: rfc3339(a.created_at),
                })
                .collect(),
        }
    }
}

const SELECT: &str = "SELECT d.id, d.endpoint_id, d.event_id, d.event_type, d.status, d.attempts, d.max_attempts, d.next_attempt_at, \
    d.last_status, d.last_error, d.delivered_at, d.created_at, d.payload, \
    (SELECT json_group_array(json_object('attempt', a.attempt, 'status_code', a.status_code, 'error', a.error, \
        'duration_ms', a.duration_ms, 'created_at', a.created_at)) \
     FROM (SELECT * FROM outbound_attempts WHERE subject_id = d.id ORDER BY attempt) a) AS attempt_log \
    FROM webhook_deliveries d";

/// `GET /admin/api/v1/webhook-endpoints/{id}/deliveries?status=`: newest first, at most 100.
///
/// # Errors
/// 404 endpoint; 422 unknown status.
pub async fn list<P: Platform>(
    p: &P,
    store_id: &str,
    endpoint_id: &str,
    status: Option<&str>,
) -> Result<Vec<DeliveryView>, AppError> {
    super::endpoints::row(p, store_id, endpoint_id).await?;
    if let Some(s) = status
        && !matches!(s, "pending" | "sending" | "succeeded" | "failed")
    {
        return Err(AppError::validation(
            "status",
            "must be pending, sending, succeeded or failed",
        ));
    }
    let rows: Vec<DeliveryRow> = p
        .db()
        .query(stmt!(
            format!("{SELECT} WHERE d.endpoint_id = ? AND (? IS NULL OR d.status = ?) ORDER BY d.created_at DESC, d.rowid DESC LIMIT 100"),
            endpoint_id,
            status,
            status
        ))
        .await?;
    Ok(rows.into_iter().map(DeliveryRow::view).collect())
}

/// `GET /admin/api/v1/webhook-deliveries/{id}`.
///
/// # Errors
/// 404.
pub async fn get<P: Platform>(p: &P, store_id: &str, id: &str) -> Result<DeliveryView, AppError> {
    p.db()
        .first::<DeliveryRow>(stmt!(
            format!("{SELECT} WHERE d.id = ? AND d.store_id = ?"),
            id,
            store_id
        ))
        .await?
        .map(DeliveryRow::view)
        .ok_or(AppError::NotFound("webhook delivery"))
}

/// `POST /admin/api/v1/webhook-deliveries/{id}/resend`: a failed or delivered message goes
/// again (same `webhook-id`, one more attempt), through the queue.
///
/// # Errors
/// 404; 409 while it is still being tried.
pub async fn resend<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
) -> Result<DeliveryView, AppError> {
    let d = get(p, store_id, id).await?;
    let now = p.now_ms();
    let outbox = format!("{}:resend:{}", outbox_id(&d.event_id), p.new_id("r"));
    let mut batch = vec![
        stmt!(
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?, max_attempts = MAX(max_attempts, attempts + 1), updated_at = ? \
             WHERE id = ? AND store_id = ? AND status IN ('failed', 'succeeded')",
            now,
            now,
            id,
            store_id
        ),
        stmt!(
            "INSERT INTO outbox (id, store_id, kind, payload, created_at) SELECT ?, ?, 'webhook', ?, ? \
             WHERE EXISTS (SELECT 1 FROM webhook_deliveries WHERE id = ? AND status = 'pending' AND next_attempt_at = ?)",
            &outbox,
            store_id,
            json!({ "kind": "webhook", "event_id": d.event_id, "store_id": store_id }).to_string(),
            now,
            id,
            now
        ),
    ];
    batch.extend(crate::fulfillment::dispatch::claim(
        std::slice::from_ref(&outbox),
        now,
    ));
    let res = p.db().batch(batch).await?;
    if res[0].changes == 0 {
        return Err(AppError::conflict(
            "delivery_in_progress",
            "This delivery is still being tried; it can be re-sent once it succeeded or failed.",
        ));
    }
    let _ = crate::fulfillment::dispatch::send_claimed(p, std::slice::from_ref(&outbox), &res[2..])
        .await;
    get(p, store_id, id).await
}
