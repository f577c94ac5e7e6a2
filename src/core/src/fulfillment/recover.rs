//! Stuck work: fulfillment orders left in `submitting` past their lease (the
//! consumer died mid-submit) are queued again — the consumer's claim recovers them and
//! looks the order up at the provider before creating it — and outbox rows never sent are
//! sent.

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
    #[derive(Deserialize)]
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
    Ok(n + dispatch::sweep(p).await?)
}
