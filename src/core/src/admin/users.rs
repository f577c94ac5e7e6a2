//! Customers as operators see them: lifetime value, order count and last order (counted in
//! the batch that pays each order), their orders, and blocking — a blocked customer cannot
//! check out (`orders::place` refuses with 403).

use super::orders::{Cursor, OrderFilters, parse_limit};
use crate::AppError;
use crate::db::{Db as _, DbExt as _};
use crate::ports::Platform;
use crate::stmt;
use crate::time_fmt::rfc3339;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UserView {
    pub id: String,
    pub email: Option<String>,
    pub subject: String,
    /// Minor units of `currency`, the store's.
    pub lifetime_value: i64,
    pub currency: String,
    pub order_count: i64,
    #[serde(skip_deserializing)]
    pub last_order_at: Option<String>,
    #[serde(deserialize_with = "crate::db::int_bool")]
    pub blocked: bool,
    pub blocked_reason: Option<String>,
    #[serde(skip_deserializing)]
    pub created_at: String,
    #[serde(rename(deserialize = "last_order_at"), skip_serializing, default)]
    pub last_order_ms: Option<i64>,
    #[serde(rename(deserialize = "created_at"), skip_serializing)]
    pub created_ms: i64,
}

const COLUMNS: &str = "id, email, subject, lifetime_value, (SELECT lower(currency) FROM stores WHERE stores.id = customers.store_id) AS currency, order_count, last_order_at, blocked = 1 AS blocked, blocked_reason, created_at";

fn finish(mut u: UserView) -> UserView {
    u.last_order_at = u.last_order_ms.map(rfc3339);
    u.created_at = rfc3339(u.created_ms);
    u
}

/// The admin user list's query (exposed for the query-plan test): newest first, or one
/// email.
pub fn list_query(
    store_id: &str,
    email: Option<&str>,
    after: Option<&Cursor>,
    limit: u32,
) -> crate::db::Stmt {
    let after = after.cloned().unwrap_or(Cursor {
        created_at: i64::MAX,
        id: String::new(),
    });
    match email {
        Some(e) => stmt!(
            format!(
                "SELECT {COLUMNS} FROM customers WHERE store_id = ? AND email IN (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?"
            ),
            store_id,
            e,
            e.to_lowercase(),
            i64::from(limit)
        ),
        None => stmt!(
            format!(
                "SELECT {COLUMNS} FROM customers WHERE store_id = ? AND (created_at < ? OR (created_at = ? AND id < ?)) ORDER BY created_at DESC, id DESC LIMIT ?"
            ),
            store_id,
            after.created_at,
            after.created_at,
            if after.id.is_empty() {
                "~".to_owned()
            } else {
                after.id
            },
            i64::from(limit)
        ),
    }
}

/// `GET /admin/api/v1/users?email=&starting_after=&limit=`.
///
/// # Errors
/// 422 bad cursor or limit.
pub async fn list<P: Platform>(
    p: &P,
    store_id: &str,
    email: Option<&str>,
    starting_after: Option<&str>,
    limit: Option<&str>,
) -> Result<UserPage, AppError> {
    let limit = parse_limit(limit, 50, 200)?;
    let after = starting_after
        .filter(|s| !s.is_empty())
        .map(Cursor::decode)
        .transpose()?;
    let email = email.map(str::trim).filter(|e| !e.is_empty());
    let mut rows: Vec<UserView> = p
        .db()
        .query(list_query(store_id, email, after.as_ref(), limit + 1))
        .await?;
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next = has_more
        .then(|| {
            rows.last().map(|u| {
                Cursor {
                    created_at: u.created_ms,
                    id: u.id.clone(),
                }
                .encode()
            })
        })
        .flatten();
    let data: Vec<UserView> = rows.into_iter().map(finish).collect();
    Ok(crate::catalog::Page {
        data,
        has_more,
        next_starting_after: next,
    })
}

/// A page of customers.
pub type UserPage = crate::catalog::Page<UserView>;

/// A customer and their latest 50 orders.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct UserDetail {
    pub user: UserView,
    pub orders: super::orders::OrderPage,
}

async fn user<P: Platform>(p: &P, store_id: &str, id: &str) -> Result<UserView, AppError> {
    p.db()
        .first::<UserView>(stmt!(
            format!("SELECT {COLUMNS} FROM customers WHERE id = ? AND store_id = ?"),
            id,
            store_id
        ))
        .await?
        .map(finish)
        .ok_or(AppError::NotFound("user"))
}

/// `GET /admin/api/v1/users/{user_id}`: the customer and their latest orders.
///
/// # Errors
/// 404 when not this store's.
pub async fn get<P: Platform>(p: &P, store_id: &str, id: &str) -> Result<UserDetail, AppError> {
    let u = user(p, store_id, id).await?;
    let filters = OrderFilters {
        customer_id: Some(id.to_owned()),
        ..OrderFilters::default()
    };
    let orders = super::orders::list(p, store_id, &filters, None, Some("50")).await?;
    Ok(UserDetail { user: u, orders })
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockInput {
    #[serde(default)]
    #[schemars(length(max = 500))]
    pub reason: Option<String>,
}

/// `POST /admin/api/v1/users/{user_id}/block` and `/unblock`.
///
/// # Errors
/// 404 not this store's; 422 a block without a reason, or a reason over 500 characters.
pub async fn set_blocked<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
    blocked: bool,
    input: BlockInput,
) -> Result<UserView, AppError> {
    let reason = crate::input::optional_paragraph("reason", input.reason.as_deref(), 500)?;
    if blocked && reason.is_none() {
        return Err(AppError::validation(
            "reason",
            "say why the customer is blocked",
        ));
    }
    user(p, store_id, id).await?;
    p.db()
        .run(stmt!(
            "UPDATE customers SET blocked = ?, blocked_reason = ?, updated_at = ? WHERE id = ? AND store_id = ?",
            i64::from(blocked),
            if blocked { reason } else { None },
            p.now_ms(),
            id,
            store_id
        ))
        .await?;
    user(p, store_id, id).await
}
