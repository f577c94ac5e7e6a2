//! # Layout
//!
//! The fulfillment Worker: consumer of the `lading-fulfillment` queue (message types in
//! `queues/`). Each message goes to `lading_core::queue::process`, whose outcome becomes an
//! ack, a delayed retry, or (given up) a copy on the dead-letter queue; unknown kinds are
//! acked and logged.

use lading_core::queue::{Outcome, process_recorded};
use worker::{
    Context, Env, MessageBatch, MessageExt, QueueRetryOptionsBuilder, Request, Response, Result,
    event,
};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    lading_edge::serve("fulfillment", req, &env, async |p, r| {
        lading_api::health_only(p, r, "fulfillment").await
    })
    .await
}

/// Binding of the dead-letter queue's producer.
const DLQ_BINDING: &str = "FULFILLMENT_DLQ";

async fn dead_letter(env: &Env, body: &serde_json::Value) -> Result<()> {
    let js = js_sys::JSON::parse(&body.to_string())
        .map_err(|e| worker::Error::from(format!("{e:?}")))?;
    env.queue(DLQ_BINDING)?
        .send_raw(
            worker::RawMessageBuilder::new(js)
                .build_with_content_type(worker::QueueContentType::Json),
        )
        .await
}

/// Every message leaves acked, retried or dead-lettered; the handler never returns `Err`
/// (it would reset the isolate and redeliver the batch with no delay).
#[event(queue)]
async fn queue(batch: MessageBatch<serde_json::Value>, env: Env, _ctx: Context) -> Result<()> {
    let (p, messages) = match (lading_edge::platform(&env), batch.messages()) {
        (Ok(p), Ok(m)) => (p, m),
        (p, m) => {
            // Without bindings or readable bodies nothing can be processed now: every
            // message comes back later (and reaches the dead-letter queue after max_retries).
            let cause = [
                p.err().map(|e| e.to_string()),
                m.err().map(|e| e.to_string()),
            ];
            lading_edge::log(
                "error",
                "fulfillment",
                None,
                "batch retried: cannot process",
                serde_json::json!({ "queue": batch.queue(), "cause": cause }),
            );
            batch.retry_all();
            return Ok(());
        }
    };
    for message in messages {
        let sent_at = message.timestamp().as_millis() as i64;
        let outcome = process_recorded(&p, &message.id(), Some(sent_at), message.body()).await;
        // The body (kind and ids, no secrets) ties this line to the producer's `enqueued`.
        let fields = serde_json::json!({ "queue": batch.queue(), "message_id": message.id(), "body": message.body(), "outcome": &outcome, "d1": p.take_d1_cost() });
        lading_edge::log("info", "fulfillment", None, "message", fields);
        match outcome {
            Outcome::Done | Outcome::Dropped { .. } => message.ack(),
            Outcome::DeadLetter { .. } => match dead_letter(&env, message.body()).await {
                Ok(()) => message.ack(),
                // The DLQ is unreachable: the queue retries, and dead-letters it itself.
                Err(_) => message.retry(),
            },
            Outcome::RetryAfter { seconds, .. } => message.retry_with_options(
                &QueueRetryOptionsBuilder::new()
                    .with_delay_seconds(seconds)
                    .build(),
            ),
        }
    }
    Ok(())
}
