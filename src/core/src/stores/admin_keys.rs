use crate::AppError;
use crate::auth::sha256_hex;
use crate::db::Db as _;
use crate::db::Stmt;
use crate::domain::{Role, Text};
use crate::ports::{Platform, PlatformExt};
use crate::sql::stores::{self, AdminKeyRow};
use crate::time_fmt::rfc3339;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize)]
pub struct NewAdminKey {
    pub id: String,
    /// The secret: shown once here, stored only as SHA-256.
    pub key: String,
    pub role: Role,
    pub label: String,
}

#[derive(Debug, Serialize)]
pub struct AdminKeyView {
    pub id: String,
    /// The first characters, to recognise a key without revealing it.
    pub key_prefix: String,
    pub role: Role,
    pub label: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

impl From<AdminKeyRow> for AdminKeyView {
    fn from(k: AdminKeyRow) -> Self {
        AdminKeyView {
            id: k.id,
            key_prefix: k.key_prefix,
            role: k.role,
            label: k.label,
            created_at: rfc3339(k.created_at),
            revoked_at: k.revoked_at.map(rfc3339),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct CreateAdminKey {
    pub role: Role,
    pub label: String,
}

/// A fresh key (256 random bits) and the statement that stores its hash.
///
/// # Errors
/// 422 for an invalid label.
pub fn new_admin_key<P: Platform>(
    p: &P,
    store_id: &str,
    role: Role,
    label: &str,
) -> Result<(NewAdminKey, Stmt), AppError> {
    let label = Text::parse(label, 1, 100).map_err(|m| AppError::validation("label", m))?;
    let key = p.new_token("lak_", 32);
    let row = AdminKeyRow {
        id: p.new_id("akey"),
        store_id: store_id.to_owned(),
        key_prefix: key[..12].to_owned(),
        role,
        label: label.into_string(),
        created_at: p.now_ms(),
        revoked_at: None,
    };
    let stmt = stores::insert_admin_key(&row, &sha256_hex(&key));
    Ok((
        NewAdminKey {
            id: row.id,
            key,
            role,
            label: row.label,
        },
        stmt,
    ))
}

/// # Errors
/// 422 for an invalid label.
pub async fn create_admin_key<P: Platform>(
    p: &P,
    store_id: &str,
    input: CreateAdminKey,
) -> Result<NewAdminKey, AppError> {
    let (key, stmt) = new_admin_key(p, store_id, input.role, &input.label)?;
    p.db().run(stmt).await?;
    Ok(key)
}

/// # Errors
/// 404 for an unknown or already revoked key; 409 for the caller's own key.
pub async fn revoke_admin_key<P: Platform>(
    p: &P,
    store_id: &str,
    caller_key_id: &str,
    id: &str,
) -> Result<(), AppError> {
    if id == caller_key_id {
        return Err(AppError::conflict(
            "cannot_revoke_own_key",
            "A key cannot revoke itself; use another superadmin key.",
        ));
    }
    match stores::revoke_admin_key(p.db(), store_id, id, p.now_ms()).await? {
        0 => Err(AppError::NotFound("admin key")),
        _ => Ok(()),
    }
}

/// # Errors
/// Storage failures.
pub async fn list_admin_keys<P: Platform>(
    p: &P,
    store_id: &str,
) -> Result<Vec<AdminKeyView>, AppError> {
    Ok(stores::admin_keys(p.db(), store_id)
        .await?
        .into_iter()
        .map(AdminKeyView::from)
        .collect())
}
