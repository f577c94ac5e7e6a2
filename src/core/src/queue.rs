//! Messages on the `lading-fulfillment` queue (definitions and policy in `queues/`).
//! The consumer Worker maps each [`Outcome`] to ack or retry.

use crate::ports::Platform;
use serde::{Deserialize, Serialize};

/// A message body. Tagged by `kind` so new kinds can be added without breaking old ones.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Message {
    /// Submit one fulfillment order to its provider.
    Fulfil {
        fulfillment_order_id: String,
        provider: String,
        store_id: String,
    },
    /// Ask the provider to cancel one fulfillment order (it is `cancel_requested`).
    Cancel {
        fulfillment_order_id: String,
        store_id: String,
    },
    /// Send one notification email (at most once per order and kind).
    Email {
        notification_id: String,
        store_id: String,
    },
    /// Mirror one price entry to Stripe (its Product, its Price of the current amount).
    SyncPrice {
        price_entry_id: String,
        store_id: String,
    },
    /// Deliver one domain event to the store's subscribed webhook endpoints.
    Webhook { event_id: String, store_id: String },
    /// Run one automation step that came due (its parcel was delivered).
    Automation { step_id: String, store_id: String },
}

#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Done,
    /// Acked without effect: unknown kind, malformed body, or nothing to do yet.
    Dropped {
        reason: String,
    },
    RetryAfter {
        seconds: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Given up after too many attempts: the work is marked failed in D1 (where an operator
    /// retries it) and the message goes to the dead-letter queue for the record.
    DeadLetter {
        reason: String,
    },
}

/// Handles one queue message and records it as a job run (started, then how it went; a
/// retry of the same message is the same run, one attempt more). A failure to record
/// never stops the work.
pub async fn process_recorded<P: Platform>(
    p: &P,
    message_id: &str,
    enqueued_at: Option<i64>,
    body: &serde_json::Value,
) -> Outcome {
    use crate::db::Db as _;
    let _ = p
        .db()
        .run(crate::job_runs::started(
            message_id,
            body,
            enqueued_at,
            p.now_ms(),
        ))
        .await;
    let outcome = process(p, body).await;
    let _ = p
        .db()
        .run(crate::job_runs::finished(message_id, &outcome, p.now_ms()))
        .await;
    outcome
}

/// Handles one queue message.
pub async fn process<P: Platform>(p: &P, body: &serde_json::Value) -> Outcome {
    match Message::deserialize(body) {
        Err(e) => Outcome::Dropped {
            reason: format!("unknown or malformed message: {e}"),
        },
        Ok(Message::Fulfil {
            fulfillment_order_id,
            ..
        }) => crate::fulfillment::submit::process(p, &fulfillment_order_id).await,
        Ok(Message::Cancel {
            fulfillment_order_id,
            ..
        }) => crate::fulfillment::cancel::process(p, &fulfillment_order_id).await,
        Ok(Message::Email {
            notification_id, ..
        }) => crate::notifications::process(p, &notification_id).await,
        Ok(Message::SyncPrice { price_entry_id, .. }) => {
            crate::pricing::sync::process(p, &price_entry_id).await
        }
        Ok(Message::Webhook { event_id, .. }) => {
            crate::outbound::deliveries::process(p, &event_id).await
        }
        Ok(Message::Automation { step_id, .. }) => {
            crate::automation::run::process(p, &step_id).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fulfil_messages_parse_and_unknown_kinds_are_dropped_not_retried() {
        let m: Message = serde_json::from_value(json!({ "kind": "fulfil", "fulfillment_order_id": "fo_1", "provider": "printful", "store_id": "store_1" })).unwrap();
        assert_eq!(
            m,
            Message::Fulfil {
                fulfillment_order_id: "fo_1".into(),
                provider: "printful".into(),
                store_id: "store_1".into()
            }
        );
        assert!(serde_json::from_value::<Message>(json!({ "kind": "launch_rocket" })).is_err());
        assert!(serde_json::from_value::<Message>(json!("not an object")).is_err());
        // The wire shape the consumer logs.
        assert_eq!(
            serde_json::to_value(Outcome::RetryAfter {
                seconds: 30,
                reason: None
            })
            .unwrap(),
            json!({ "outcome": "retry_after", "seconds": 30 })
        );
    }
}
