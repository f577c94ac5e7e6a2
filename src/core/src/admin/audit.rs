//! The audit log: one row for every admin change that succeeded, written by the admin API
//! (and the web UI, which goes through the same use cases) right after the change, naming
//! the key that made it, the action, its target and the request id that ties it to logs.

use crate::AppError;
use crate::db::{Db as _, DbExt as _};
use crate::ports::{Platform, PlatformExt as _};
use crate::stmt;
use crate::time_fmt::rfc3339;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who made a change.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: String,
    pub role: String,
}

#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub action: &'a str,
    pub target_type: Option<&'a str>,
    pub target_id: Option<&'a str>,
    pub detail: Value,
}

/// # Errors
/// Storage failures.
pub async fn record<P: Platform>(
    p: &P,
    store_id: &str,
    actor: &Actor,
    e: &Entry<'_>,
    request_id: &str,
) -> Result<(), AppError> {
    p.db()
        .run(stmt!(
            "INSERT INTO audit_log (id, store_id, actor, actor_role, action, target_type, target_id, detail, request_id, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            p.new_id("aud"),
            store_id,
            &actor.id,
            &actor.role,
            e.action,
            e.target_type,
            e.target_id,
            e.detail.to_string(),
            request_id,
            p.now_ms()
        ))
        .await?;
    Ok(())
}

#[derive(Debug, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: String,
    pub actor: String,
    pub actor_role: String,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    #[serde(deserialize_with = "crate::db::json_column")]
    pub detail: Value,
    pub request_id: String,
    #[serde(skip_deserializing)]
    pub at: String,
    #[serde(rename(deserialize = "created_at"), skip_serializing)]
    pub created: i64,
}

/// The audit log's query (exposed for the query-plan test).
pub fn list_query(store_id: &str, after: &super::orders::Cursor, limit: u32) -> crate::db::Stmt {
    stmt!(
        "SELECT id, actor, actor_role, action, target_type, target_id, detail, request_id, created_at FROM audit_log \
         WHERE store_id = ? AND (created_at < ? OR (created_at = ? AND id < ?)) ORDER BY created_at DESC, id DESC LIMIT ?",
        store_id,
        after.created_at,
        after.created_at,
        if after.id.is_empty() {
            "~".to_owned()
        } else {
            after.id.clone()
        },
        i64::from(limit)
    )
}

/// `GET /admin/api/v1/audit-log`: newest first, keyset by (time, id).
///
/// # Errors
/// 422 for a bad cursor or limit.
pub async fn list<P: Platform>(
    p: &P,
    store_id: &str,
    starting_after: Option<&str>,
    limit: Option<&str>,
) -> Result<Value, AppError> {
    let limit = super::orders::parse_limit(limit, 50, 200)?;
    let after = starting_after
        .filter(|s| !s.is_empty())
        .map(super::orders::Cursor::decode)
        .transpose()?
        .unwrap_or(super::orders::Cursor {
            created_at: i64::MAX,
            id: String::new(),
        });
    let mut rows: Vec<AuditRow> = p
        .db()
        .query(list_query(store_id, &after, limit + 1))
        .await?;
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    for r in &mut rows {
        r.at = rfc3339(r.created);
    }
    let next = has_more
        .then(|| {
            rows.last().map(|r| {
                super::orders::Cursor {
                    created_at: r.created,
                    id: r.id.clone(),
                }
                .encode()
            })
        })
        .flatten();
    Ok(serde_json::json!({ "data": rows, "has_more": has_more, "next_starting_after": next }))
}
