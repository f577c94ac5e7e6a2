//! Scheduled work, keyed by the cron expression that triggers it (see the scheduler's
//! wrangler.toml). Each job is safe to run twice and reports what it changed.

use crate::AppError;
use crate::carts::abandon_idle::abandon_idle_carts;
use crate::fulfillment::{poll::poll_gooten, recover::recover_stuck};
use crate::orders::cancel_unpaid::cancel_unpaid_orders;
use crate::payments::reconcile::reconcile_stripe;
use crate::ports::Platform;
use serde::Serialize;

/// Hourly: abandoned carts, expired idempotency keys, orders unpaid for 48 h, completed job
/// runs older than a week.
pub const HOURLY: &str = "0 * * * *";
/// Every five minutes: Stripe events missed by webhooks, stuck fulfillment and unsent
/// outbox rows, Gooten and polled couriers.
pub const FIVE_MINUTES: &str = "*/5 * * * *";
/// Daily at 07:00 UTC: reminders of overdue invoices.
pub const DAILY: &str = "0 7 * * *";
/// Every schedule the core knows; the scheduler's `crons` must list exactly these (a
/// repository check compares them).
pub const SCHEDULES: &[&str] = &[HOURLY, FIVE_MINUTES, DAILY];

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct JobReport {
    pub job: &'static str,
    pub changed: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn report(job: &'static str, r: Result<u64, AppError>) -> JobReport {
    match r {
        Ok(changed) => JobReport {
            job,
            changed,
            error: None,
        },
        Err(e) => JobReport {
            job,
            changed: 0,
            error: Some(e.to_string()),
        },
    }
}

/// Runs the jobs of one cron trigger; one failing job does not stop the others.
pub async fn run_cron<P: Platform>(p: &P, cron: &str) -> Vec<JobReport> {
    let started_at = p.now_ms();
    let out = run_jobs(p, cron).await;
    // Each job is a job run; a failure to record them never fails the trigger.
    use crate::db::Db as _;
    let _ = p
        .db()
        .batch(crate::job_runs::cron_ran(
            cron,
            &out,
            started_at,
            p.now_ms(),
        ))
        .await;
    out
}

async fn run_jobs<P: Platform>(p: &P, cron: &str) -> Vec<JobReport> {
    let mut out = Vec::new();
    if cron == HOURLY {
        out.push(report("abandon_idle_carts", abandon_idle_carts(p).await));
        out.push(report(
            "purge_idempotency_keys",
            crate::sql::idempotency::purge(p.db(), p.now_ms())
                .await
                .map_err(AppError::from),
        ));
        out.push(report(
            "cancel_unpaid_orders",
            cancel_unpaid_orders(p).await,
        ));
        out.push(report("prune_job_runs", crate::job_runs::prune(p).await));
    }
    if !SCHEDULES.contains(&cron) {
        // A trigger the deploy added without code for it: loud, not a silent no-op.
        out.push(report(
            "unknown_schedule",
            Err(AppError::validation(
                "cron",
                format!("no jobs for {cron:?}; known: {}", SCHEDULES.join(", ")),
            )),
        ));
    }
    if cron == DAILY {
        out.push(report(
            "remind_overdue_invoices",
            crate::billing::overdue::remind_overdue(p).await,
        ));
    }
    if cron == FIVE_MINUTES {
        out.push(report(
            "reconcile_stripe_events",
            reconcile_stripe(p).await.map(|r| r.applied as u64),
        ));
        out.push(report("recover_stuck_fulfillment", recover_stuck(p).await));
        out.push(report("poll_gooten", poll_gooten(p).await));
        out.push(report(
            "poll_couriers",
            crate::shipments::poll::poll_couriers(p).await,
        ));
        out.push(report(
            "send_due_webhooks",
            crate::outbound::deliveries::sweep(p).await,
        ));
        out.push(report(
            "run_due_automation",
            crate::automation::run::sweep(p).await,
        ));
        out.push(report("send_alerts", crate::metrics::alert(p).await));
        out.push(report(
            "send_pending_refunds",
            crate::payments::refunds::sweep(p).await,
        ));
    }
    out
}
