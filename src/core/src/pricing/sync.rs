//! Every price entry mirrored to Stripe (strict mode: a company's checkout sends only
//! Stripe Price ids). The batch that changes an entry queues a message through the outbox;
//! the queue consumer makes the variant's Product (once) and the entry's Price of its
//! current amount, with Idempotency-Keys derived from our ids — so a message delivered
//! twice makes one Price per (entry, amount). Stripe keeps a 5xx under its key, so a try
//! after one first looks the Price up by the entry's lookup key, then creates it under a
//! key naming the try. A new Price
//! takes the entry's lookup key from the old one (`transfer_lookup_key`), and the old one
//! is archived (`active=false`: Stripe never deletes or re-prices a Price).

use super::entries::{self, EntryView};
use crate::AppError;
use crate::db::{Db as _, DbExt as _, Stmt};
use crate::orders::checkout::stripe_config;
use crate::payments::stripe_client::{self, StripeError};
use crate::ports::{Platform, PlatformExt as _};
use crate::queue::{Message, Outcome};
use crate::stmt;
use serde::Deserialize;
use serde_json::json;

/// An entry's sync, queued by the batch that changes the entry: one outbox row per change
/// (the consumer reads the entry's state when it runs, so an older message does the
/// newest work or nothing).
pub struct Queued {
    pub outbox_id: String,
    pub insert: Stmt,
}

/// The outbox row that asks for an entry's sync.
pub fn queue<P: Platform>(p: &P, store_id: &str, entry_id: &str) -> Queued {
    let message = Message::SyncPrice {
        price_entry_id: entry_id.to_owned(),
        store_id: store_id.to_owned(),
    };
    let outbox_id = format!("price_sync:{}", p.new_id(entry_id));
    let insert = stmt!(
        "INSERT INTO outbox (id, store_id, kind, payload, created_at) VALUES (?, ?, 'price_sync', ?, ?)",
        &outbox_id,
        store_id,
        serde_json::to_string(&message).unwrap_or_default(),
        p.now_ms()
    );
    Queued { outbox_id, insert }
}

impl Queued {
    /// Sends the message now (after its batch committed); a failure leaves it to the
    /// scheduler's sweep.
    pub async fn dispatch<P: Platform>(&self, p: &P) {
        let _unsent_is_swept =
            crate::fulfillment::dispatch::dispatch(p, std::slice::from_ref(&self.outbox_id)).await;
    }
}

/// The entry's `stripe_price_id` is always the Price of `synced_amount`; the lookup key
/// names the entry, so Stripe's side can be searched by our id.
pub fn lookup_key(entry_id: &str) -> String {
    format!("lading_{entry_id}")
}

#[derive(Debug, Deserialize)]
struct SyncRow {
    id: String,
    store_id: String,
    variant_id: String,
    variant_title: String,
    product_title: String,
    stripe_product_id: Option<String>,
    unit_amount: i64,
    price_version: i64,
    sync_tries: i64,
    currency: String,
    sync_status: String,
    stripe_price_id: Option<String>,
    synced_amount: Option<i64>,
    deleted: i64,
}

/// The queue consumer's work for one entry.
pub async fn process<P: Platform>(p: &P, entry_id: &str) -> Outcome {
    match sync(p, entry_id).await {
        Ok(o) => o,
        Err(e) => Outcome::RetryAfter {
            seconds: 30,
            reason: Some(e.to_string()),
        },
    }
}

fn retry(e: &StripeError) -> Outcome {
    Outcome::RetryAfter {
        seconds: 30,
        reason: Some(e.to_string()),
    }
}

async fn sync<P: Platform>(p: &P, entry_id: &str) -> Result<Outcome, AppError> {
    let Some(e) = p
        .db()
        .first::<SyncRow>(stmt!(
            "SELECT e.id, e.store_id, e.variant_id, v.title AS variant_title, pr.title AS product_title, v.stripe_product_id, \
             e.unit_amount, e.price_version, e.sync_tries, lower(e.currency) AS currency, e.sync_status, e.stripe_price_id, e.synced_amount, e.deleted_at IS NOT NULL AS deleted \
             FROM price_entries e JOIN variants v ON v.id = e.variant_id JOIN products pr ON pr.id = v.product_id WHERE e.id = ?",
            entry_id
        ))
        .await?
    else {
        return Ok(Outcome::Dropped {
            reason: "no such price entry".into(),
        });
    };
    let cfg = match stripe_config(p) {
        Ok(c) => c.clone(),
        Err(_) => {
            return Ok(Outcome::RetryAfter {
                seconds: 300,
                reason: Some("Stripe is not configured (STRIPE_SECRET_KEY)".into()),
            });
        }
    };
    if e.deleted == 1 {
        // Out of every book: its Price sells nothing more.
        if let Some(old) = &e.stripe_price_id {
            let archived = stripe_client::post(
                p,
                &cfg,
                &format!("/v1/prices/{old}"),
                &json!({ "active": false }),
                &format!("archive:{old}"),
            )
            .await;
            if let Err(err @ StripeError::RetryLater(_)) = &archived {
                return Ok(retry(err));
            }
        }
        return Ok(Outcome::Done);
    }
    if e.sync_status == "synced"
        && e.synced_amount == Some(e.unit_amount)
        && e.stripe_price_id.is_some()
    {
        return Ok(Outcome::Dropped {
            reason: "already synced at this amount".into(),
        });
    }
    let product = match &e.stripe_product_id {
        Some(id) => id.clone(),
        None => match product(p, &cfg, &e).await {
            Ok(id) => id,
            Err(err @ StripeError::RetryLater(_)) => return tried(p, &e, &err).await,
            Err(err) => return failed(p, &e, &err).await,
        },
    };
    // A Price made by an earlier try whose answer was lost (or a 5xx that Stripe keeps
    // under its key) is found by its lookup key before another is made.
    let found = stripe_client::get(
        p,
        &cfg,
        &format!("/v1/prices?lookup_keys[]={}&limit=1", lookup_key(&e.id)),
    )
    .await;
    let existing = match &found {
        Ok(list) => list["data"]
            .as_array()
            .and_then(|d| d.first())
            .filter(|pr| {
                pr["unit_amount"].as_i64() == Some(e.unit_amount)
                    && pr["active"] == json!(true)
                    && pr["metadata"]["price_version"].as_str()
                        == Some(&e.price_version.to_string())
            })
            .cloned(),
        Err(err @ StripeError::RetryLater(_)) => return tried(p, &e, err).await,
        Err(_) => None,
    };
    let price = match existing {
        Some(pr) => Ok(pr),
        None => {
            stripe_client::post(
                p,
                &cfg,
                "/v1/prices",
                &json!({
                    "product": product, "currency": e.currency, "unit_amount": e.unit_amount,
                    "lookup_key": lookup_key(&e.id), "transfer_lookup_key": true,
                    "metadata": { "price_entry_id": e.id, "store_id": e.store_id, "price_version": e.price_version.to_string() },
                }),
                &format!("price:{}:v{}:{}:t{}", e.id, e.price_version, e.unit_amount, e.sync_tries),
            )
            .await
        }
    };
    let price = match price {
        Ok(v) => v,
        Err(err @ StripeError::RetryLater(_)) => return tried(p, &e, &err).await,
        Err(err) => return failed(p, &e, &err).await,
    };
    let price_id = price["id"].as_str().unwrap_or_default().to_owned();
    // Recorded only if the amount is still the one priced; otherwise a newer change has
    // its own message, and this Price is archived at once.
    let recorded = p
        .db()
        .run(stmt!(
            "UPDATE price_entries SET sync_status = 'synced', stripe_price_id = ?, synced_amount = ?, synced_at = ?, sync_error = NULL \
             WHERE id = ? AND price_version = ? AND deleted_at IS NULL",
            &price_id,
            e.unit_amount,
            p.now_ms(),
            &e.id,
            e.price_version
        ))
        .await?;
    let replaced = if recorded > 0 {
        e.stripe_price_id.filter(|old| *old != price_id)
    } else {
        Some(price_id.clone())
    };
    if let Some(old) = replaced {
        let archived = stripe_client::post(
            p,
            &cfg,
            &format!("/v1/prices/{old}"),
            &json!({ "active": false }),
            &format!("archive:{old}"),
        )
        .await;
        if let Err(err @ StripeError::RetryLater(_)) = &archived {
            return Ok(retry(err));
        }
    }
    Ok(Outcome::Done)
}

/// The variant's Stripe Product, made once: its id is ours (`lading_<variant id>`), so a
/// try after a lost answer finds it taken and uses it.
async fn product<P: Platform>(
    p: &P,
    cfg: &stripe_client::StripeConfig,
    e: &SyncRow,
) -> Result<String, StripeError> {
    let id = format!("lading_{}", e.variant_id);
    let name = if e.variant_title.is_empty() || e.variant_title == e.product_title {
        e.product_title.clone()
    } else {
        format!("{} — {}", e.product_title, e.variant_title)
    };
    let made = stripe_client::post(
        p,
        cfg,
        "/v1/products",
        &json!({ "id": id, "name": name, "metadata": { "variant_id": e.variant_id, "store_id": e.store_id } }),
        &format!("product:{}:t{}", e.variant_id, e.sync_tries),
    )
    .await;
    match made {
        Ok(_) => {}
        Err(StripeError::Rejected { code, .. }) if code == "resource_already_exists" => {}
        Err(err) => return Err(err),
    }
    let _recorded_or_already = p
        .db()
        .run(stmt!(
            "UPDATE variants SET stripe_product_id = ? WHERE id = ? AND stripe_product_id IS NULL",
            &id,
            &e.variant_id
        ))
        .await;
    Ok(id)
}

/// Stripe did not answer, or answered 5xx (which it keeps under the key): the next try
/// uses a new key, after looking up what this one may have made.
async fn tried<P: Platform>(p: &P, e: &SyncRow, err: &StripeError) -> Result<Outcome, AppError> {
    p.db()
        .run(stmt!(
            "UPDATE price_entries SET sync_tries = sync_tries + 1 WHERE id = ? AND sync_tries = ?",
            &e.id,
            e.sync_tries
        ))
        .await?;
    Ok(retry(err))
}

/// Stripe refused: the entry shows `failed` with Stripe's words until an operator re-syncs.
async fn failed<P: Platform>(p: &P, e: &SyncRow, err: &StripeError) -> Result<Outcome, AppError> {
    let words = match err {
        StripeError::Rejected { message, .. } => message.clone(),
        other => other.to_string(),
    };
    p.db()
        .run(stmt!(
            "UPDATE price_entries SET sync_status = 'failed', sync_error = ?, updated_at = ? WHERE id = ? AND price_version = ? AND deleted_at IS NULL",
            &words,
            p.now_ms(),
            &e.id,
            e.price_version
        ))
        .await?;
    Ok(Outcome::Done)
}

/// `POST /admin/api/v1/price-entries/{entry_id}/sync`: queue the entry's sync again (after a
/// failure, or to check a pending one).
///
/// # Errors
/// 404.
pub async fn resync<P: Platform>(p: &P, store_id: &str, id: &str) -> Result<EntryView, AppError> {
    entries::entry(p, store_id, id).await?;
    let now = p.now_ms();
    let sync = queue(p, store_id, id);
    p.db()
        .batch(vec![
            stmt!(
                "UPDATE price_entries SET sync_status = 'pending', sync_error = NULL, sync_tries = sync_tries + 1, updated_at = ? \
                 WHERE id = ? AND store_id = ? AND sync_status = 'failed'",
                now,
                id,
                store_id
            ),
            sync.insert.clone(),
        ])
        .await?;
    sync.dispatch(p).await;
    entries::entry(p, store_id, id).await
}
