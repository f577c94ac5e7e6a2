//! The consumer's work for one `fulfil` message: claim the fulfillment order
//! with a compare-and-set and a lease, build the provider request from D1, look the order
//! up first when an earlier attempt may have reached the provider, submit it with our id
//! as the idempotency reference, record the outcome.

use super::providers::{
    AnyProvider, Provider, ProviderError, Recipient, Submission, SubmissionItem,
};
use super::{FO_COLUMNS, FulfillmentOrderRow, derive_order_status};
use crate::AppError;
use crate::db::{Db as _, DbExt as _, decode};
use crate::ports::Platform;
use crate::queue::Outcome;
use crate::sql::orders::{self, domain_event};
use crate::sql::stores;
use crate::stmt;
use serde::Deserialize;
use serde_json::{Value, json};

/// How long a claim holds before another consumer may recover it.
pub const LEASE_MS: i64 = 120_000;
/// After this many attempts a fulfillment order fails for an operator to look at.
pub const MAX_ATTEMPTS: i64 = 8;

/// Backoff for the queue's retry: the provider's `Retry-After`, else 30 s doubling, ≤ 1 h.
fn backoff(attempts: i64, after_s: Option<u32>) -> u32 {
    after_s.unwrap_or_else(|| (30u32 << attempts.clamp(1, 7).saturating_sub(1) as u32).min(3600))
}

/// Handles one `fulfil` message.
pub async fn process<P: Platform>(p: &P, fo_id: &str) -> Outcome {
    // D1 failed: let the queue redeliver; the claim's lease lets a later try recover it.
    run(p, fo_id).await.unwrap_or_else(|e| Outcome::RetryAfter {
        seconds: 5,
        reason: Some(e.to_string()),
    })
}

async fn run<P: Platform>(p: &P, fo_id: &str) -> Result<Outcome, AppError> {
    let now = p.now_ms();
    // Read the row as it was, then claim it, in one batch: whether an earlier attempt may
    // have reached the provider is known before this claim sets the flag.
    let res = p
        .db()
        .batch(vec![
            stmt!(format!("SELECT {FO_COLUMNS} FROM fulfillment_orders WHERE id = ?"), fo_id),
            stmt!(
                "UPDATE fulfillment_orders SET status = 'submitting', lease_until = ?, attempts = attempts + 1, submit_started = 1, updated_at = ? \
                 WHERE id = ? AND (status = 'pending' OR (status = 'submitting' AND lease_until < ?))",
                now + LEASE_MS,
                now,
                fo_id,
                now
            ),
        ])
        .await?;
    let Some(before) = res[0].rows.first().cloned() else {
        return Ok(Outcome::Dropped {
            reason: format!("no fulfillment order {fo_id}"),
        });
    };
    let fo: FulfillmentOrderRow = decode(before)?;
    if res[1].changes == 0 {
        return Ok(Outcome::Dropped {
            reason: format!("{fo_id} is {}; nothing to submit", fo.status.as_str()),
        });
    }
    let attempts = fo.attempts + 1;
    let store = stores::store_by_id(p.db(), &fo.store_id)
        .await?
        .ok_or(AppError::NotFound("store"))?;
    let provider = match AnyProvider::for_store(p, fo.provider, &store.settings.providers) {
        Ok(x) => x,
        Err(e) => return fail(p, &fo, &e.to_string()).await,
    };
    // An earlier attempt got as far as the provider: find its order before making one.
    if fo.submit_started == 1 && provider.capabilities().lookup_by_reference {
        match provider.lookup(p, &fo.id).await {
            Ok(Some(found)) => return accepted(p, &fo, found.external_id, found.cost, true).await,
            Ok(None) => {}
            Err(e) => return retry_or_fail(p, &fo, attempts, e).await,
        }
    }
    let submission = build(p, &fo).await?;
    match provider.submit(p, &submission).await {
        Ok(a) => accepted(p, &fo, a.external_id, a.cost, false).await,
        Err(e) => retry_or_fail(p, &fo, attempts, e).await,
    }
}

async fn accepted<P: Platform>(
    p: &P,
    fo: &FulfillmentOrderRow,
    external_id: Option<String>,
    cost: Option<i64>,
    found: bool,
) -> Result<Outcome, AppError> {
    let now = p.now_ms();
    let mut batch = vec![
        stmt!(
            "UPDATE fulfillment_orders SET status = 'submitted', external_id = COALESCE(?, external_id), cost_actual = COALESCE(?, cost_actual), \
                    submitted_at = ?, lease_until = NULL, error = NULL, updated_at = ? WHERE id = ? AND status = 'submitting'",
            &external_id,
            cost,
            now,
            now,
            &fo.id
        ),
        // A provider webhook may have outrun this record: keep its id all the same.
        stmt!(
            "UPDATE fulfillment_orders SET external_id = COALESCE(external_id, ?), lease_until = NULL WHERE id = ?",
            &external_id,
            &fo.id
        ),
    ];
    batch.extend(derive_order_status(&fo.order_id, now));
    batch.push(domain_event(
                &format!("fulfillment.submitted:{}", fo.id),
                &fo.store_id,
                &fo.order_id,
                "fulfillment.submitted",
                &json!({ "fulfillment_order_id": fo.id, "provider": fo.provider, "external_id": external_id, "found_by_reference": found }),
                now,
                stmt!("EXISTS (SELECT 1 FROM fulfillment_orders WHERE id = ? AND status = 'submitted')", &fo.id),
    ));
    // Subscribers hear `fulfillment.submitted` at once (when some endpoint wants it).
    let webhook = [crate::outbound::deliveries::outbox_id(&format!(
        "fulfillment.submitted:{}",
        fo.id
    ))];
    let claims_from = batch.len();
    batch.extend(super::dispatch::claim(&webhook, now));
    let res = p.db().batch(batch).await?;
    let _ = super::dispatch::send_claimed(p, &webhook, &res[claims_from..]).await;
    Ok(Outcome::Done)
}

async fn fail<P: Platform>(
    p: &P,
    fo: &FulfillmentOrderRow,
    error: &str,
) -> Result<Outcome, AppError> {
    let now = p.now_ms();
    p.db()
        .batch(vec![
            stmt!(
                "UPDATE fulfillment_orders SET status = 'failed', error = ?, lease_until = NULL, updated_at = ? WHERE id = ? AND status = 'submitting'",
                error,
                now,
                &fo.id
            ),
            domain_event(
                &format!("fulfillment.failed:{}:{}", fo.id, fo.attempts + 1),
                &fo.store_id,
                &fo.order_id,
                "fulfillment.failed",
                &json!({ "fulfillment_order_id": fo.id, "provider": fo.provider, "error": error }),
                now,
                stmt!("1 = 1"),
            ),
        ])
        .await?;
    Ok(Outcome::Done)
}

async fn retry_or_fail<P: Platform>(
    p: &P,
    fo: &FulfillmentOrderRow,
    attempts: i64,
    e: ProviderError,
) -> Result<Outcome, AppError> {
    match e {
        ProviderError::Retry { after_s, message } if attempts < MAX_ATTEMPTS => {
            let seconds = backoff(attempts, after_s);
            let now = p.now_ms();
            // Release the claim so the redelivered message can take it again; `lease_until`
            // says when the queue brings it back (a message lost after that is re-sent).
            p.db()
                .run(stmt!(
                    "UPDATE fulfillment_orders SET status = 'pending', lease_until = ?, error = ?, updated_at = ? WHERE id = ? AND status = 'submitting'",
                    now + i64::from(seconds) * 1000,
                    &message,
                    now,
                    &fo.id
                ))
                .await?;
            Ok(Outcome::RetryAfter {
                seconds,
                reason: Some(message),
            })
        }
        ProviderError::Retry { message, .. } => {
            let reason = format!("gave up after {attempts} attempts: {message}");
            fail(p, fo, &reason).await?;
            Ok(Outcome::DeadLetter { reason })
        }
        other => fail(p, fo, &other.to_string()).await,
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
struct LineRow {
    id: String,
    sku: String,
    title: String,
    variant_title: String,
    quantity: i64,
    unit_price: i64,
    external_variant_id: Option<String>,
    #[serde(deserialize_with = "crate::db::json_column")]
    files: Vec<Value>,
}

/// The provider request, read from D1: recipient from the order's shipping address, items
/// with the provider's variant ids, print files from the variants' design placements.
async fn build<P: Platform>(p: &P, fo: &FulfillmentOrderRow) -> Result<Submission, AppError> {
    let order = orders::order_by_id(p.db(), &fo.order_id)
        .await?
        .ok_or(AppError::NotFound("order"))?;
    let lines: Vec<LineRow> = p
        .db()
        .query(stmt!(
            "SELECT l.id, oi.sku, oi.title, oi.variant_title, oi.variant_id, l.quantity, oi.unit_price, l.external_variant_id, \
                (SELECT json_group_array(json_object('area', dp.area, 'url', dp.image_url)) FROM design_placements dp WHERE dp.variant_id = oi.variant_id) AS files \
             FROM fulfillment_order_lines l JOIN order_items oi ON oi.id = l.order_item_id WHERE l.fulfillment_order_id = ? ORDER BY l.rowid",
            &fo.id
        ))
        .await?;
    let a: Value = order
        .shipping_address
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let opt = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
    Ok(Submission {
        reference: fo.id.clone(),
        order_number: order.order_number.clone(),
        currency: order.currency.clone(),
        recipient: Recipient {
            name: text(&a["name"]),
            line1: text(&a["line1"]),
            line2: opt(&a["line2"]),
            city: text(&a["city"]),
            state: opt(&a["state"]),
            postal_code: text(&a["postal_code"]),
            country: text(&a["country"]),
            email: order.email.clone(),
        },
        items: lines
            .into_iter()
            .map(|l| SubmissionItem {
                title: if l.variant_title.is_empty() {
                    l.title
                } else {
                    format!("{} — {}", l.title, l.variant_title)
                },
                line_id: l.id,
                sku: l.sku,
                external_variant_id: l.external_variant_id,
                quantity: l.quantity,
                unit_price: l.unit_price,
                files: l
                    .files
                    .iter()
                    .filter_map(|f| {
                        Some((
                            f["area"].as_str()?.to_owned(),
                            f["url"].as_str()?.to_owned(),
                        ))
                    })
                    .collect(),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn backoff_honours_retry_after_and_doubles_to_an_hour() {
        assert_eq!(backoff(1, Some(7)), 7);
        assert_eq!(backoff(1, None), 30);
        assert_eq!(backoff(2, None), 60);
        assert_eq!(backoff(3, None), 120);
        assert_eq!(backoff(7, None), 1920);
        assert_eq!(backoff(20, None), 1920);
    }
}
