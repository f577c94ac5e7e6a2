//! # Layout
//!
//! The scheduler Worker: cron triggers (its wrangler.toml lists exactly
//! `lading_core::jobs::SCHEDULES`, a repository check says so) run `lading_core::jobs`; a
//! schedule the core does not know is logged as an error. It also answers `/healthz`.

use worker::{Context, Env, Request, Response, Result, ScheduleContext, ScheduledEvent, event};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    lading_edge::serve("scheduler", req, &env, async |p, r| {
        lading_api::health_only(p, r, "scheduler").await
    })
    .await
}

#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let p = match lading_edge::platform(&env) {
        Ok(p) => p,
        Err(e) => {
            return lading_edge::log(
                "error",
                "scheduler",
                None,
                "no platform",
                serde_json::json!({ "cause": e.to_string() }),
            );
        }
    };
    let cron = event.cron();
    let reports = lading_core::jobs::run_cron(&p, &cron).await;
    let level = if reports.iter().any(|r| r.error.is_some()) {
        "error"
    } else {
        "info"
    };
    lading_edge::log(
        level,
        "scheduler",
        None,
        "cron",
        serde_json::json!({ "cron": cron, "jobs": reports, "d1": p.take_d1_cost() }),
    );
}
