//! The daily reminder of overdue invoices: each invoice issued (or partly paid) and past its
//! due date gets its `invoice.overdue` event and one email to its billing contact — once,
//! however often the job runs.

use crate::AppError;
use crate::db::{Db as _, DbExt as _};
use crate::ports::Platform;
use crate::stmt;
use serde::Deserialize;

/// Queues the reminders due now and hands them to the queue; returns how many it made.
///
/// # Errors
/// Storage failures.
pub async fn remind_overdue<P: Platform>(p: &P) -> Result<u64, AppError> {
    let now = p.now_ms();
    let res = p
        .db()
        .batch(crate::notifications::overdue_reminders(now))
        .await?;
    // The reminders this run made (the notifications statement's inserts).
    let made = res.get(1).map_or(0, |r| r.changes);
    #[derive(Deserialize)]
    struct Queued {
        id: String,
    }
    let queued: Vec<Queued> = p
        .db()
        .query(stmt!(
            "SELECT 'email:' || id AS id FROM notifications WHERE status = 'pending' AND kind = 'invoice_overdue' AND created_at = ?",
            now
        ))
        .await?;
    let ids: Vec<String> = queued.into_iter().map(|q| q.id).collect();
    // What is not sent now is swept by the five-minute job.
    let _unsent_is_swept = crate::fulfillment::dispatch::dispatch(p, &ids).await;
    Ok(made)
}
