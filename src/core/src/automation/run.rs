//! Running steps. When a parcel is delivered its pending steps come due in that batch, each
//! with an outbox message (`automation:<step id>`, once however often the delivery is
//! reported). The consumer claims a step with a compare-and-set (`pending → running`, a
//! lease of the scenario's timeout and a margin), calls the scenario's endpoint signed as
//! Standard Webhooks (`webhook-id` = the step id on every attempt), and records the attempt:
//! 2xx → `succeeded`; otherwise `pending` again after the scenario's delay while attempts
//! are left, else `failed` with an `automation.step_failed` event and an operator task. A
//! claim whose lease ran out (a consumer that died mid-call) is put back by the scheduler.

use super::scenarios::{self, ScenarioRow};
use super::steps::{COLUMNS, StepRow};
use crate::AppError;
use crate::db::{Db as _, DbExt as _, Stmt};
use crate::outbound::call::{self, Call};
use crate::ports::Platform;
use crate::queue::Outcome;
use crate::stmt;
use crate::time_fmt::rfc3339;
use serde::Deserialize;
use serde_json::json;

/// Extra lease beyond the call's own timeout.
const LEASE_MARGIN_MS: i64 = 15_000;

pub fn outbox_id(step_id: &str) -> String {
    format!("automation:{step_id}")
}

/// What a delivery does to the parcel's steps, in the batch that delivers it: pending steps
/// not yet due come due, each with its outbox message and a timeline entry.
pub fn due_statements(shipment_id: &str, now: i64) -> Vec<Stmt> {
    vec![
        stmt!(
            "UPDATE automation_steps SET due_at = ?, next_attempt_at = ?, updated_at = ? \
             WHERE shipment_id = ? AND status = 'pending' AND due_at IS NULL \
               AND EXISTS (SELECT 1 FROM shipments WHERE id = ? AND status = 'delivered')",
            now,
            now,
            now,
            shipment_id,
            shipment_id
        ),
        stmt!(
            "INSERT INTO outbox (id, store_id, kind, payload, created_at) \
             SELECT 'automation:' || id, store_id, 'automation', json_object('kind', 'automation', 'step_id', id, 'store_id', store_id), ? \
             FROM automation_steps WHERE shipment_id = ? AND status = 'pending' AND due_at = ? ON CONFLICT DO NOTHING",
            now,
            shipment_id,
            now
        ),
        stmt!(
            "INSERT INTO domain_events (id, store_id, aggregate_type, aggregate_id, type, payload, created_at) \
             SELECT 'automation.step_queued:' || id, store_id, 'shipment', shipment_id, 'automation.step_queued', \
               json_object('step_id', id, 'scenario', scenario), ? \
             FROM automation_steps WHERE shipment_id = ? AND status = 'pending' AND due_at = ? ON CONFLICT DO NOTHING",
            now,
            shipment_id,
            now
        ),
    ]
}

/// Sends the messages of a delivered parcel's steps that came due (a failure leaves them
/// to the scheduler's sweep).
///
/// # Errors
/// Storage failures.
pub async fn dispatch_due<P: Platform>(p: &P, shipment_id: &str) -> Result<u64, AppError> {
    #[derive(Deserialize)]
    struct Id {
        id: String,
    }
    let due: Vec<Id> = p
        .db()
        .query(stmt!(
            "SELECT id FROM automation_steps WHERE shipment_id = ? AND status = 'pending' AND due_at IS NOT NULL",
            shipment_id
        ))
        .await?;
    let ids: Vec<String> = due.iter().map(|s| outbox_id(&s.id)).collect();
    crate::fulfillment::dispatch::dispatch(p, &ids).await
}

/// The consumer's work for one `automation` message.
pub async fn process<P: Platform>(p: &P, step_id: &str) -> Outcome {
    match run(p, step_id).await {
        Ok(o) => o,
        Err(e) => Outcome::RetryAfter {
            seconds: 30,
            reason: Some(e.to_string()),
        },
    }
}

/// What the scenario's endpoint receives about the step.
#[derive(Deserialize)]
struct Context {
    order_id: String,
    order_number: String,
    sku: Option<String>,
    title: String,
    quantity: i64,
    courier: Option<String>,
    tracking_number: Option<String>,
    delivered_at: Option<i64>,
}

async fn run<P: Platform>(p: &P, step_id: &str) -> Result<Outcome, AppError> {
    let Some(s) = p
        .db()
        .first::<StepRow>(stmt!(
            format!("SELECT {COLUMNS} FROM automation_steps WHERE id = ?"),
            step_id
        ))
        .await?
    else {
        return Ok(Outcome::Dropped {
            reason: format!("no step {step_id}"),
        });
    };
    let now = p.now_ms();
    if s.status != crate::domain::AutomationStepStatus::Pending || s.due_at.is_none() {
        return Ok(Outcome::Dropped {
            reason: format!("step is {} (not due)", s.status.as_str()),
        });
    }
    if let Some(t) = s.next_attempt_at.filter(|t| *t > now) {
        return Ok(Outcome::RetryAfter {
            seconds: u32::try_from((t - now + 999) / 1000).unwrap_or(1).max(1),
            reason: Some("not due yet".into()),
        });
    }
    let scenario = scenarios::row(p, &s.store_id, &s.scenario).await?;
    let timeout = scenario.as_ref().map_or(10_000, |sc| sc.timeout_ms);
    let claimed = p
        .db()
        .batch(vec![stmt!(
            "UPDATE automation_steps SET status = 'running', attempts = attempts + 1, lease_until = ?, updated_at = ? \
             WHERE id = ? AND status = 'pending' AND attempts = ? AND due_at IS NOT NULL AND COALESCE(next_attempt_at, 0) <= ?",
            now + timeout + LEASE_MARGIN_MS,
            now,
            step_id,
            s.attempts,
            now
        )])
        .await?;
    if claimed[0].changes == 0 {
        return Ok(Outcome::Dropped {
            reason: "claimed elsewhere".into(),
        });
    }
    let n = s.attempts + 1;
    let (answer, url) = match scenario.as_ref().filter(|sc| sc.active) {
        Some(sc) => {
            let body = body(p, &s, n).await?;
            let c = Call {
                subject_id: step_id,
                attempt: n,
                url: &sc.endpoint_url,
                secret: &sc.secret,
                message_id: step_id,
                body: body.as_bytes(),
                timeout_ms: u64::try_from(sc.timeout_ms).ok(),
            };
            (call::send(p, &c).await, sc.endpoint_url.clone())
        }
        None => (
            call::Answered {
                status: None,
                error: Some(format!(
                    "scenario {} is not configured or inactive",
                    s.scenario
                )),
                duration_ms: 0,
            },
            String::new(),
        ),
    };
    finish(p, &s, scenario.as_ref(), n, &url, &answer).await
}

async fn body<P: Platform>(p: &P, s: &StepRow, attempt: i64) -> Result<String, AppError> {
    let c: Option<Context> = p
        .db()
        .first(stmt!(
            "SELECT f.order_id, o.order_number, oi.sku, oi.title, sl.quantity, sh.courier, sh.tracking_number, sh.delivered_at \
             FROM automation_steps st JOIN shipments sh ON sh.id = st.shipment_id \
             JOIN fulfillment_order_lines l ON l.id = st.fulfillment_order_line_id JOIN order_items oi ON oi.id = l.order_item_id \
             JOIN fulfillment_orders f ON f.id = sh.fulfillment_order_id JOIN orders o ON o.id = f.order_id \
             LEFT JOIN shipment_lines sl ON sl.shipment_id = sh.id AND sl.fulfillment_order_line_id = l.id \
             WHERE st.id = ?",
            &s.id
        ))
        .await?;
    let c = c.ok_or(AppError::NotFound("automation step's parcel"))?;
    Ok(json!({
        "type": "automation.step",
        "timestamp": rfc3339(p.now_ms()),
        "data": {
            "step_id": s.id, "scenario": s.scenario, "attempt": attempt, "payload": s.payload,
            "shipment_id": s.shipment_id, "order_id": c.order_id, "order_number": c.order_number,
            "line": { "sku": c.sku, "title": c.title, "quantity": c.quantity },
            "courier": c.courier, "tracking_number": c.tracking_number, "delivered_at": c.delivered_at.map(rfc3339),
        }
    })
    .to_string())
}

/// Records the attempt and moves the step on (one batch), then sends the webhook of the
/// event it made.
async fn finish<P: Platform>(
    p: &P,
    s: &StepRow,
    scenario: Option<&ScenarioRow>,
    n: i64,
    url: &str,
    a: &call::Answered,
) -> Result<Outcome, AppError> {
    let now = p.now_ms();
    let c = Call {
        subject_id: &s.id,
        attempt: n,
        url,
        secret: "",
        message_id: &s.id,
        body: b"",
        timeout_ms: None,
    };
    let mut batch = vec![call::record(&c, a, now)];
    let event = |kind: &str, extra: serde_json::Value| {
        crate::shipments::shipment_event(
            &format!("{kind}:{}:{n}", s.id),
            &s.store_id,
            &s.shipment_id,
            kind,
            &json!({ "step_id": s.id, "scenario": s.scenario, "attempts": n, "detail": extra }),
            now,
            stmt!(
                "EXISTS (SELECT 1 FROM automation_steps WHERE id = ? AND updated_at = ?)",
                &s.id,
                now
            ),
        )
    };
    let event_id;
    let outcome;
    if a.ok() {
        batch.push(stmt!(
            "UPDATE automation_steps SET status = 'succeeded', completed_at = ?, last_status = ?, last_error = NULL, lease_until = NULL, updated_at = ? \
             WHERE id = ? AND status = 'running'",
            now,
            a.status.map(i64::from),
            now,
            &s.id
        ));
        batch.push(event(
            "automation.step_succeeded",
            json!({ "status": a.status }),
        ));
        event_id = format!("automation.step_succeeded:{}:{n}", s.id);
        outcome = Outcome::Done;
    } else if n < s.max_attempts && scenario.is_some_and(|sc| sc.active) {
        let delay = scenario.map_or(60, |sc| sc.retry_delay_seconds);
        batch.push(stmt!(
            "UPDATE automation_steps SET status = 'pending', next_attempt_at = ?, last_status = ?, last_error = ?, lease_until = NULL, updated_at = ? \
             WHERE id = ? AND status = 'running'",
            now + delay * 1000,
            a.status.map(i64::from),
            a.reason(),
            now,
            &s.id
        ));
        p.db().batch(batch).await?;
        return Ok(Outcome::RetryAfter {
            seconds: u32::try_from(delay).unwrap_or(60),
            reason: Some(format!("attempt {n} of {}: {}", s.max_attempts, a.reason())),
        });
    } else {
        batch.push(stmt!(
            "UPDATE automation_steps SET status = 'failed', last_status = ?, last_error = ?, lease_until = NULL, updated_at = ? \
             WHERE id = ? AND status = 'running'",
            a.status.map(i64::from),
            a.reason(),
            now,
            &s.id
        ));
        batch.push(event(
            "automation.step_failed",
            json!({ "status": a.status, "error": a.reason() }),
        ));
        batch.push(crate::operator_tasks::open_statement(
            &crate::operator_tasks::NewTask {
                store_id: &s.store_id,
                kind: "automation_step_failed",
                subject_type: "automation_step",
                subject_id: &s.id,
                title: format!("Automation step {} ({}) failed", s.id, s.scenario),
                detail: Some(format!("after {n} attempt(s): {}", a.reason())),
            },
            &format!("task_{}_{n}", s.id),
            now,
            &stmt!(
                "EXISTS (SELECT 1 FROM automation_steps WHERE id = ? AND status = 'failed' AND updated_at = ?)",
                &s.id,
                now
            ),
        ));
        event_id = format!("automation.step_failed:{}:{n}", s.id);
        outcome = Outcome::Done;
    }
    let webhook = [crate::outbound::deliveries::outbox_id(&event_id)];
    let claims_from = batch.len();
    batch.extend(crate::fulfillment::dispatch::claim(&webhook, now));
    let res = p.db().batch(batch).await?;
    let _ = crate::fulfillment::dispatch::send_claimed(p, &webhook, &res[claims_from..]).await;
    Ok(outcome)
}

/// The scheduler's sweep: claims whose lease ran out go back to pending, and due steps
/// with no message on its way run. Returns how many it ran.
///
/// # Errors
/// Storage failures.
pub async fn sweep<P: Platform>(p: &P) -> Result<u64, AppError> {
    #[derive(Deserialize)]
    struct Id {
        id: String,
    }
    let now = p.now_ms();
    p.db()
        .run(stmt!(
            "UPDATE automation_steps SET status = 'pending', lease_until = NULL, next_attempt_at = ?, \
               last_error = COALESCE(last_error, 'the attempt did not finish (its lease ran out)'), updated_at = ? \
             WHERE status = 'running' AND lease_until < ?",
            now,
            now,
            now
        ))
        .await?;
    let due: Vec<Id> = p
        .db()
        .query(stmt!(
            "SELECT id FROM automation_steps WHERE status = 'pending' AND due_at IS NOT NULL AND next_attempt_at <= ? LIMIT 50",
            now - 5_000
        ))
        .await?;
    let mut n = 0;
    for s in due {
        if matches!(
            run(p, &s.id).await?,
            Outcome::Done | Outcome::RetryAfter { .. }
        ) {
            n += 1;
        }
    }
    Ok(n)
}
