//! Every queue message and cron job run, recorded (seed 001 §5): which queue or cron,
//! what kind, about what, how it went (`queued`, `active`, `completed`, `failed`,
//! `delayed`), attempt and maximum, the last error and the next retry. A message keeps one
//! row across its retries (the queue's message id). The hourly cron prunes completed runs
//! older than a week, so the table stays bounded.

use crate::AppError;
use crate::db::{Db as _, Stmt};
use crate::jobs::JobReport;
use crate::ports::Platform;
use crate::queue::Outcome;
use crate::stmt;
use crate::time_fmt::rfc3339;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The queue every message is on.
pub const QUEUE: &str = "lading-fulfillment";
/// The consumer's `max_retries` plus the first delivery.
pub const QUEUE_MAX_ATTEMPTS: i64 = 9;
/// How long completed runs are kept.
pub const KEEP_COMPLETED_MS: i64 = 7 * 24 * 3600 * 1000;

/// (entity type, entity id) a message is about, from its body.
fn entity(body: &Value) -> (Option<&'static str>, Option<String>) {
    for (field, kind) in [
        ("fulfillment_order_id", "fulfillment_order"),
        ("notification_id", "notification"),
        ("price_entry_id", "price_entry"),
        ("event_id", "domain_event"),
        ("step_id", "automation_step"),
    ] {
        if let Some(id) = body[field].as_str() {
            return (Some(kind), Some(id.to_owned()));
        }
    }
    (None, None)
}

/// The row of a message the consumer starts on (again, for a retry: one more attempt).
pub fn started(message_id: &str, body: &Value, enqueued_at: Option<i64>, now: i64) -> Stmt {
    let (entity_type, entity_id) = entity(body);
    stmt!(
        "INSERT INTO job_runs (id, store_id, queue, kind, entity_type, entity_id, status, attempt, max_attempts, enqueued_at, started_at, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, 'active', 1, ?, ?, ?, ?, ?) \
         ON CONFLICT (id) DO UPDATE SET status = 'active', attempt = job_runs.attempt + 1, started_at = excluded.started_at, \
           next_retry_at = NULL, updated_at = excluded.updated_at",
        format!("msg_{message_id}"),
        body["store_id"].as_str(),
        QUEUE,
        body["kind"].as_str().unwrap_or("unknown"),
        entity_type,
        entity_id,
        QUEUE_MAX_ATTEMPTS,
        enqueued_at,
        now,
        now,
        now
    )
}

/// How the consumer left a message.
pub fn finished(message_id: &str, outcome: &Outcome, now: i64) -> Stmt {
    let (status, error, next, detail) = match outcome {
        Outcome::Done => ("completed", None, None, None),
        Outcome::Dropped { reason } => ("completed", None, None, Some(reason.clone())),
        Outcome::RetryAfter { seconds, reason } => (
            "delayed",
            reason.clone(),
            Some(now + i64::from(*seconds) * 1000),
            None,
        ),
        Outcome::DeadLetter { reason } => ("failed", Some(reason.clone()), None, None),
    };
    stmt!(
        "UPDATE job_runs SET status = ?, last_error = COALESCE(?, last_error), next_retry_at = ?, detail = ?, finished_at = ?, updated_at = ? WHERE id = ?",
        status,
        error,
        next,
        detail,
        now,
        now,
        format!("msg_{message_id}")
    )
}

/// The rows of one cron trigger's jobs.
pub fn cron_ran(cron: &str, reports: &[JobReport], started_at: i64, now: i64) -> Vec<Stmt> {
    reports
        .iter()
        .map(|r| {
            stmt!(
                "INSERT INTO job_runs (id, queue, kind, status, attempt, max_attempts, last_error, detail, started_at, finished_at, created_at, updated_at) \
                 VALUES (?, 'cron', ?, ?, 1, 1, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                format!("cron:{}:{started_at}", r.job),
                r.job,
                if r.error.is_some() { "failed" } else { "completed" },
                &r.error,
                format!("{cron}: changed {}", r.changed),
                started_at,
                now,
                now,
                now
            )
        })
        .collect()
}

/// Prunes completed runs older than a week; returns how many.
///
/// # Errors
/// Storage failures.
pub async fn prune<P: Platform>(p: &P) -> Result<u64, AppError> {
    let r = p
        .db()
        .batch(vec![stmt!(
            "DELETE FROM job_runs WHERE status = 'completed' AND created_at < ?",
            p.now_ms() - KEEP_COMPLETED_MS
        )])
        .await?;
    Ok(r[0].changes)
}

#[derive(Debug, Deserialize)]
struct Row {
    id: String,
    queue: String,
    kind: String,
    entity_type: Option<String>,
    entity_id: Option<String>,
    status: String,
    attempt: i64,
    max_attempts: i64,
    last_error: Option<String>,
    detail: Option<String>,
    next_retry_at: Option<i64>,
    enqueued_at: Option<i64>,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    created_at: i64,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct JobRunView {
    pub id: String,
    /// `lading-fulfillment` or `cron`.
    pub queue: String,
    /// The message kind (`fulfil`, `email`, `automation`, `webhook`, …) or the cron job.
    pub kind: String,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    /// `queued`, `active`, `completed`, `failed` or `delayed`.
    pub status: String,
    pub attempt: i64,
    pub max_attempts: i64,
    pub last_error: Option<String>,
    pub detail: Option<String>,
    pub next_retry_at: Option<String>,
    pub enqueued_at: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// From the message's sending to the consumer's start.
    pub wait_ms: Option<i64>,
    /// From start to finish.
    pub run_ms: Option<i64>,
    pub created_at: String,
}

impl Row {
    fn view(self) -> JobRunView {
        JobRunView {
            wait_ms: self.started_at.zip(self.enqueued_at).map(|(s, e)| s - e),
            run_ms: self.finished_at.zip(self.started_at).map(|(f, s)| f - s),
            id: self.id,
            queue: self.queue,
            kind: self.kind,
            entity_type: self.entity_type,
            entity_id: self.entity_id,
            status: self.status,
            attempt: self.attempt,
            max_attempts: self.max_attempts,
            last_error: self.last_error,
            detail: self.detail,
            next_retry_at: self.next_retry_at.map(rfc3339),
            enqueued_at: self.enqueued_at.map(rfc3339),
            started_at: self.started_at.map(rfc3339),
            finished_at: self.finished_at.map(rfc3339),
            created_at: rfc3339(self.created_at),
        }
    }
}

/// Counts and times of one queue (or the crons) by status.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct QueueSummary {
    pub queue: String,
    pub status: String,
    pub count: i64,
    /// Average wait before the consumer started (ms).
    pub avg_wait_ms: Option<f64>,
    /// Average run time (ms).
    pub avg_run_ms: Option<f64>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct JobRunPage {
    pub summary: Vec<QueueSummary>,
    pub data: Vec<JobRunView>,
    pub has_more: bool,
    pub next_starting_after: Option<String>,
}

const STATUSES: &[&str] = &["queued", "active", "completed", "failed", "delayed"];

/// `GET /admin/api/v1/job-runs?queue=&status=&entity_id=&limit=&starting_after=`: the
/// store's messages and every cron run, newest first, with per-queue counts.
///
/// # Errors
/// 422 an unknown status or queue, or a bad limit.
pub async fn list<P: Platform>(
    p: &P,
    store_id: &str,
    queue: Option<&str>,
    status: Option<&str>,
    entity_id: Option<&str>,
    starting_after: Option<&str>,
    limit: Option<&str>,
) -> Result<JobRunPage, AppError> {
    if let Some(s) = status
        && !STATUSES.contains(&s)
    {
        return Err(AppError::validation(
            "status",
            format!("must be one of: {}", STATUSES.join(", ")),
        ));
    }
    if let Some(q) = queue
        && !matches!(q, QUEUE | "cron")
    {
        return Err(AppError::validation(
            "queue",
            format!("must be {QUEUE} or cron"),
        ));
    }
    let limit: i64 = match limit {
        None => 50,
        Some(l) => l
            .parse()
            .ok()
            .filter(|n| (1..=200).contains(n))
            .ok_or_else(|| AppError::validation("limit", "must be 1 to 200"))?,
    };
    let scope = "(store_id = ? OR store_id IS NULL)";
    let res = p
        .db()
        .batch(vec![
            stmt!(
                format!(
                    "SELECT id, queue, kind, entity_type, entity_id, status, attempt, max_attempts, last_error, detail, next_retry_at, \
                       enqueued_at, started_at, finished_at, created_at FROM job_runs \
                     WHERE {scope} AND (? IS NULL OR queue = ?) AND (? IS NULL OR status = ?) AND (? IS NULL OR entity_id = ?) \
                       AND (? IS NULL OR (created_at, id) < (SELECT created_at, id FROM job_runs WHERE id = ?)) \
                     ORDER BY created_at DESC, id DESC LIMIT ?"
                ),
                store_id,
                queue,
                queue,
                status,
                status,
                entity_id,
                entity_id,
                starting_after,
                starting_after,
                limit + 1
            ),
            stmt!(
                format!(
                    "SELECT queue, status, COUNT(*) AS count, AVG(started_at - enqueued_at) AS avg_wait_ms, AVG(finished_at - started_at) AS avg_run_ms \
                     FROM job_runs WHERE {scope} GROUP BY queue, status ORDER BY queue, status"
                ),
                store_id
            ),
        ])
        .await?;
    let mut rows: Vec<Row> = res[0]
        .rows
        .iter()
        .cloned()
        .map(crate::db::decode)
        .collect::<Result<_, _>>()?;
    let summary: Vec<QueueSummary> = res[1]
        .rows
        .iter()
        .cloned()
        .map(crate::db::decode)
        .collect::<Result<_, _>>()?;
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let data: Vec<JobRunView> = rows.into_iter().map(Row::view).collect();
    Ok(JobRunPage {
        next_starting_after: if has_more {
            data.last().map(|r| r.id.clone())
        } else {
            None
        },
        has_more,
        summary,
        data,
    })
}
