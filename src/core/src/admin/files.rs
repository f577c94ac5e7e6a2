//! Signed links to the files customers made for their items: an operator's browser (or a
//! print shop it is forwarded to) opens the link without an admin key for 15 minutes; the
//! signature, not the path, is the credential.

use crate::AppError;
use crate::auth::secure_eq;
use crate::db::DbExt as _;
use crate::files::ServedFile;
use crate::ports::Platform;
use crate::stmt;
use serde::Deserialize;

pub const LINK_TTL_S: i64 = 15 * 60;

fn signature(secret: &str, store_id: &str, file_id: &str, expires_s: i64) -> String {
    // Domain-separated from order tokens, which share the secret.
    let body = format!("customer-file.v1|{store_id}|{file_id}|{expires_s}");
    hex::encode(crate::crypto::hmac_sha256(
        secret.as_bytes(),
        &[body.as_bytes()],
    ))
}

/// The link (a path on the admin Worker), or `None` when no signing secret is configured.
pub fn signed_url<P: Platform>(p: &P, store_id: &str, file_id: &str, now_s: i64) -> Option<String> {
    let secret = p.settings().order_token_secret.as_deref()?;
    let exp = now_s + LINK_TTL_S;
    Some(format!(
        "/admin/api/v1/customer-files/{file_id}?store={store_id}&expires={exp}&signature={}",
        signature(secret, store_id, file_id, exp)
    ))
}

/// `GET /admin/api/v1/customer-files/{file_id}?store&expires&signature`: the file, streamed.
///
/// # Errors
/// 403 for a wrong or expired signature (the same answer for both, and for unknown files).
pub async fn open<P: Platform>(
    p: &P,
    file_id: &str,
    store_id: Option<&str>,
    expires: Option<&str>,
    sig: Option<&str>,
) -> Result<ServedFile, AppError> {
    let denied = || {
        AppError::Forbidden(
            "This file link is invalid or has expired; open the order again for a fresh one."
                .into(),
        )
    };
    let secret = p
        .settings()
        .order_token_secret
        .as_deref()
        .ok_or_else(denied)?;
    let (Some(store_id), Some(exp), Some(sig)) =
        (store_id, expires.and_then(|e| e.parse::<i64>().ok()), sig)
    else {
        return Err(denied());
    };
    if exp <= p.now_ms() / 1000
        || !secure_eq(
            signature(secret, store_id, file_id, exp).as_bytes(),
            sig.as_bytes(),
        )
    {
        return Err(denied());
    }
    #[derive(Deserialize, schemars::JsonSchema)]
    struct Row {
        r2_key: String,
    }
    let row: Row = p
        .db()
        .first(stmt!(
            "SELECT r2_key FROM order_item_files WHERE id = ? AND store_id = ?",
            file_id,
            store_id
        ))
        .await?
        .ok_or(AppError::NotFound("file"))?;
    let filename = row.r2_key.rsplit('/').next().unwrap_or("file").to_owned();
    Ok(ServedFile {
        key: row.r2_key,
        filename,
    })
}
