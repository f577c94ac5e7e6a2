//! `POST /webhooks/stripe`: the signature is checked before anything is written;
//! then the event goes through [`ingest`], the same path the reconciliation cron uses.

use crate::http::{Problem, Request};
use lading_core::payments::events::{IngestError, Outcome, ingest};
use lading_core::payments::stripe_signature::{self, TOLERANCE_S};
use lading_core::ports::Platform;

/// Stripe events are small; anything bigger is not one.
pub const MAX_EVENT_BYTES: usize = 512 * 1024;

/// # Errors
/// 400 for a bad signature, a malformed event or a replayed id with another payload (these
/// write nothing); 413 for an oversized body; 503 when not configured or when storage
/// failed (Stripe retries).
pub async fn receive<P: Platform>(p: &P, req: &Request) -> Result<Outcome, Problem> {
    let secrets: Vec<&str> = p
        .settings()
        .stripe_webhook_secrets
        .iter()
        .map(String::as_str)
        .collect();
    if secrets.is_empty() {
        let mut pr = Problem::new(503, "webhook_not_configured", "Service unavailable")
            .detail("Set the STRIPE_WEBHOOK_SECRET secret to receive Stripe events.");
        pr.retry_after = Some(60);
        return Err(pr);
    }
    if req.body.len() > MAX_EVENT_BYTES {
        return Err(
            Problem::new(413, "payload_too_large", "Payload too large").detail(format!(
                "A Stripe event has at most {MAX_EVENT_BYTES} bytes."
            )),
        );
    }
    stripe_signature::verify(
        req.get_header("stripe-signature"),
        &req.body,
        &secrets,
        p.now_ms() / 1000,
        TOLERANCE_S,
    )
    .map_err(|e| {
        Problem::new(400, "invalid_signature", "Invalid signature")
            .detail(format!("The Stripe-Signature header does not verify: {e}."))
    })?;
    let event: serde_json::Value = serde_json::from_slice(&req.body).map_err(|e| {
        Problem::new(400, "malformed_json", "Malformed JSON")
            .detail(format!("The body is not valid JSON: {e}."))
    })?;
    match ingest(p, &event).await {
        Ok(outcome) => Ok(outcome),
        Err(IngestError::Malformed(m)) => {
            Err(Problem::new(400, "malformed_event", "Malformed event").detail(m))
        }
        Err(e @ IngestError::PayloadMismatch(_)) => {
            let mut pr = Problem::new(409, "event_payload_mismatch", "Event payload mismatch")
                .detail(e.to_string());
            pr.cause = Some(e.to_string());
            Err(pr)
        }
        Err(IngestError::Retry(e)) => {
            let mut pr: Problem = e.into();
            if pr.status < 500 {
                pr.status = 503;
            }
            Err(pr)
        }
    }
}
