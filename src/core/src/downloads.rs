//! Digital delivery: each digital item of a paid order has a download (its file
//! in R2, referenced by key). The buyer asks for links — random tokens (256 bits) kept only
//! as SHA-256, 48 h by default and at most 7 days, at most 10 links an hour per order — and
//! `GET /v1/downloads/{token}` streams the file (Range supported) without buffering it.
//! Links stop working when the order is cancelled or refunded.

use crate::AppError;
use crate::auth::{StorefrontCaller, sha256_hex};
use crate::db::{Db as _, DbExt as _, Stmt};
use crate::domain::{FinancialStatus, OrderStatus};
use crate::files::ServedFile;
use crate::orders::access::visible_order;
use crate::ports::{Platform, PlatformExt};
use crate::sql::orders::{self, OrderRow};
use crate::stmt;
use crate::time_fmt::{HOUR_MS, rfc3339};
use serde::{Deserialize, Serialize};

pub const DEFAULT_TTL_HOURS: i64 = 48;
pub const MAX_TTL_HOURS: i64 = 7 * 24;
pub const LINKS_PER_HOUR: i64 = 10;

/// The downloads of a paid order, written in the batch that pays it (`guard`: paid by this
/// payment). The file is referenced where the variant keeps it.
pub fn create_statements(order: &OrderRow, guard: &Stmt, now: i64) -> Stmt {
    stmt!(
        "INSERT INTO downloads (id, store_id, order_id, order_item_id, r2_key, filename, status, created_at, updated_at) \
         SELECT 'dl_' || oi.id, ?, oi.order_id, oi.id, oi.digital_asset_key, \
                COALESCE(NULLIF(replace(oi.digital_asset_key, rtrim(oi.digital_asset_key, replace(oi.digital_asset_key, '/', '')), ''), ''), 'download'), \
                'ready', ?, ? \
         FROM order_items oi WHERE oi.order_id = ? AND oi.kind = 'digital' AND oi.digital_asset_key IS NOT NULL",
        &order.store_id,
        now,
        now,
        &order.id
    )
    .and_when(guard)
    .or_nothing()
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkInput {
    /// How long the links work (default 48, at most 168).
    #[schemars(range(min = 1, max = 168))]
    pub expires_in_hours: Option<i64>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Link {
    pub order_item_id: String,
    pub filename: String,
    /// Relative to the storefront API: `GET` it (no headers needed; the token is the key).
    pub url: String,
    pub expires_at: String,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Links {
    pub data: Vec<Link>,
    /// Items whose file is not ready yet: ask again shortly.
    pub pending: Vec<String>,
}

#[derive(Deserialize, schemars::JsonSchema)]
struct DownloadRow {
    id: String,
    order_item_id: String,
    filename: String,
    status: String,
}

fn usable(o: &OrderRow) -> Result<(), AppError> {
    if o.status == OrderStatus::Cancelled || o.financial_status == FinancialStatus::Refunded {
        return Err(AppError::conflict(
            "order_not_downloadable",
            "This order was cancelled or refunded: its downloads are revoked.",
        ));
    }
    if o.paid_at.is_none() {
        return Err(AppError::conflict(
            "order_not_paid",
            "Downloads open once the order is paid.",
        ));
    }
    Ok(())
}

/// Issues links for the order's downloads.
///
/// # Errors
/// 404 when the caller may not see the order; 409 unpaid, cancelled or refunded; 422 bad
/// expiry; 429 over 10 links an hour.
pub async fn issue_links<P: Platform>(
    p: &P,
    caller: &StorefrontCaller,
    number: &str,
    input: LinkInput,
) -> Result<(u16, Links), AppError> {
    let order = visible_order(p, caller, number).await?;
    usable(&order)?;
    let hours = input.expires_in_hours.unwrap_or(DEFAULT_TTL_HOURS);
    if !(1..=MAX_TTL_HOURS).contains(&hours) {
        return Err(AppError::validation(
            "expires_in_hours",
            format!("must be 1 to {MAX_TTL_HOURS}"),
        ));
    }
    let now = p.now_ms();
    let downloads: Vec<DownloadRow> = p
        .db()
        .query(stmt!("SELECT id, order_item_id, filename, status FROM downloads WHERE order_id = ? ORDER BY id", &order.id))
        .await?;
    let ready: Vec<&DownloadRow> = downloads.iter().filter(|d| d.status == "ready").collect();
    let recent = p
        .db()
        .scalar_i64(stmt!(
            "SELECT COUNT(*) AS n FROM download_tokens WHERE order_id = ? AND created_at > ?",
            &order.id,
            now - HOUR_MS
        ))
        .await?;
    if recent + ready.len() as i64 > LINKS_PER_HOUR {
        return Err(AppError::RateLimited(format!(
            "At most {LINKS_PER_HOUR} download links an hour per order; try again later."
        )));
    }
    let expires = now + hours * HOUR_MS;
    let mut links = Vec::new();
    let mut batch = Vec::new();
    for d in &ready {
        let token = p.new_token("dlt_", 32);
        batch.push(stmt!(
            "INSERT INTO download_tokens (token_hash, download_id, order_id, expires_at, created_at) VALUES (?, ?, ?, ?, ?)",
            sha256_hex(&token),
            &d.id,
            &order.id,
            expires,
            now
        ));
        links.push(Link {
            order_item_id: d.order_item_id.clone(),
            filename: d.filename.clone(),
            url: format!("/v1/downloads/{token}"),
            expires_at: rfc3339(expires),
        });
    }
    if !batch.is_empty() {
        p.db().batch(batch).await?;
    }
    let pending: Vec<String> = downloads
        .iter()
        .filter(|d| d.status == "pending")
        .map(|d| d.order_item_id.clone())
        .collect();
    let status = if pending.is_empty() { 201 } else { 202 };
    Ok((
        status,
        Links {
            data: links,
            pending,
        },
    ))
}

#[derive(Deserialize, schemars::JsonSchema)]
struct TokenRow {
    expires_at: i64,
    revoked_at: Option<i64>,
    r2_key: String,
    filename: String,
    status: String,
    order_id: String,
}

/// `GET /v1/downloads/{token}`: the file, streamed.
///
/// # Errors
/// 404 for an unknown (or guessed) token; 410 expired, revoked, cancelled or refunded; 202
/// while the file is being prepared.
pub async fn download<P: Platform>(p: &P, token: &str) -> Result<Download, AppError> {
    if !token.starts_with("dlt_") || token.len() > 100 {
        return Err(AppError::NotFound("download"));
    }
    let row: TokenRow = p
        .db()
        .first(stmt!(
            "SELECT t.expires_at, t.revoked_at, d.r2_key, d.filename, d.status, d.order_id FROM download_tokens t JOIN downloads d ON d.id = t.download_id \
             WHERE t.token_hash = ?",
            sha256_hex(token)
        ))
        .await?
        .ok_or(AppError::NotFound("download"))?;
    let now = p.now_ms();
    if row.revoked_at.is_some() || now >= row.expires_at {
        return Err(AppError::Gone(
            "This download link has expired or was revoked; ask for a new one.",
        ));
    }
    let order = orders::order_by_id(p.db(), &row.order_id)
        .await?
        .ok_or(AppError::NotFound("download"))?;
    if usable(&order).is_err() {
        return Err(AppError::Gone(
            "The order was cancelled or refunded: its downloads are revoked.",
        ));
    }
    if row.status != "ready" {
        return Ok(Download::Preparing(Preparing {
            status: row.status,
            detail: "The file is being prepared; try again shortly.",
        }));
    }
    p.db()
        .run(stmt!("UPDATE download_tokens SET downloaded_at = COALESCE(downloaded_at, ?) WHERE token_hash = ?", now, sha256_hex(token)))
        .await?;
    Ok(Download::Ready(ServedFile {
        key: row.r2_key,
        filename: row.filename,
    }))
}

/// What a download link gives now.
#[derive(Debug)]
pub enum Download {
    Ready(ServedFile),
    /// The file is not in the bucket yet (answer 202 with this).
    Preparing(Preparing),
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Preparing {
    pub status: String,
    pub detail: &'static str,
}
