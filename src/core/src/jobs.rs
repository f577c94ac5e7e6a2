//! Scheduled work, keyed by the cron expression that triggers it (see the scheduler's
//! wrangler.toml). Each job is safe to run twice and reports what it changed.

use crate::AppError;
use crate::carts::abandon_idle::abandon_idle_carts;
use crate::idempotency;
use crate::ports::Platform;
use serde::Serialize;

/// Hourly: abandoned carts, expired idempotency keys.
pub const HOURLY: &str = "0 * * * *";

#[derive(Debug, Serialize)]
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
    let mut out = Vec::new();
    if cron == HOURLY {
        out.push(report("abandon_idle_carts", abandon_idle_carts(p).await));
        out.push(report(
            "purge_idempotency_keys",
            idempotency::purge(p.db(), p.now_ms())
                .await
                .map_err(AppError::from),
        ));
    }
    out
}
