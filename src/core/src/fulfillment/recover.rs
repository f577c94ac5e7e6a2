//! Stuck work: fulfillment orders left in `submitting` past their lease (the
//! consumer died mid-submit) are queued again — the consumer's claim recovers them and
//! looks the order up at the provider before creating it — and outbox rows never sent are
//! sent.
//!
//! Lost messages too: a fulfillment order or an email still `pending` long after its
//! message was sent (and after any retry it was put back for) has no message left to
//! bring it on — the queue lost it, or the runtime died holding it — so it is queued
//! again. The consumer's claims make an extra copy harmless.

use super::dispatch;
use crate::AppError;
use crate::db::DbExt as _;
use crate::ports::Platform;
use crate::queue::Message;
use crate::stmt;
use serde::Deserialize;

/// # Errors
/// Storage failures.
pub async fn recover_stuck<P: Platform>(p: &P) -> Result<u64, AppError> {
    #[derive(Deserialize, schemars::JsonSchema)]
    struct Row {
        id: String,
        provider: String,
        store_id: String,
    }
    let stuck: Vec<Row> = p
        .db()
        .query(stmt!(
            "SELECT id, provider, store_id FROM fulfillment_orders WHERE status = 'submitting' AND lease_until < ? LIMIT 100",
            p.now_ms()
        ))
        .await?;
    let mut n = 0;
    for r in stuck {
        let m = Message::Fulfil {
            fulfillment_order_id: r.id,
            provider: r.provider,
            store_id: r.store_id,
        };
        if p.enqueue(&serde_json::to_value(&m).unwrap_or_default())
            .await
            .is_ok()
        {
            n += 1;
        }
    }
    Ok(n + resend_lost(p).await? + dispatch::sweep(p).await?)
}

/// How long after its message was due a piece of work counts as lost. Queues deliver in
/// seconds; this leaves room for a slow consumer without sending copies early.
pub const LOST_AFTER_MS: i64 = 10 * 60 * 1000;

/// Work still waiting for a message that was due before `due` (exposed for the query-plan
/// test: it runs every five minutes and must not read whole tables).
pub fn lost_work_query(due: i64) -> crate::db::Stmt {
    stmt!(
        "SELECT json_object('kind', 'fulfil', 'fulfillment_order_id', f.id, 'provider', f.provider, 'store_id', f.store_id) AS message \
         FROM fulfillment_orders f JOIN outbox o ON o.id = 'fulfil:' || f.id \
         WHERE f.status = 'pending' AND o.sent_at IS NOT NULL AND o.sent_at < ? AND COALESCE(f.lease_until, f.updated_at) < ? \
         UNION ALL \
         SELECT json_object('kind', 'email', 'notification_id', n.id, 'store_id', n.store_id) AS message \
         FROM notifications n JOIN outbox o ON o.id = 'email:' || n.id \
         WHERE n.status IN ('pending', 'sending') AND o.sent_at IS NOT NULL AND o.sent_at < ? \
           AND ((n.status = 'pending' AND COALESCE(n.lease_until, n.created_at) < ?) OR (n.status = 'sending' AND n.lease_until < ?)) \
         LIMIT 200",
        due,
        due,
        due,
        due,
        due
    )
}

/// Re-sends the message of work whose message should have arrived long ago.
async fn resend_lost<P: Platform>(p: &P) -> Result<u64, AppError> {
    #[derive(Deserialize, schemars::JsonSchema)]
    struct Lost {
        message: String,
    }
    let due = p.now_ms() - LOST_AFTER_MS;
    // The outbox row was sent (else the sweep below sends it) and nothing claimed the work
    // since: not after its creation, nor after the retry time it was put back for.
    let lost: Vec<Lost> = p.db().query(lost_work_query(due)).await?;
    let mut n = 0;
    for l in lost {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(&l.message) else {
            continue;
        };
        if p.enqueue(&message).await.is_ok() {
            n += 1;
        }
    }
    Ok(n)
}
