use crate::AppError;
use crate::auth::sha256_hex;
use crate::db::Db as _;
use crate::db::Stmt;
use crate::domain::{Role, Text};
use crate::ports::{Platform, PlatformExt};
use crate::sql::stores::{self, AdminKeyRow};
use crate::time_fmt::rfc3339;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct NewAdminKey {
    pub id: String,
    /// The secret: shown once here, stored only as SHA-256.
    pub key: String,
    pub role: Role,
    pub label: String,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
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

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct CreateAdminKey {
    pub role: Role,
    #[schemars(length(min = 1, max = 100))]
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
    let label = Text::line(label, 1, 100).map_err(|m| AppError::validation("label", m))?;
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

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAdminKey {
    #[serde(default)]
    pub role: Option<Role>,
    #[serde(default)]
    #[schemars(length(min = 1, max = 100))]
    pub label: Option<String>,
}

/// `PATCH /admin/api/v1/admin-keys/{id}`: give a key another role or label. The key itself
/// stays the same, and the web UI's sessions read the role again on every request, so a
/// demotion takes effect at once. A key cannot change its own role: the caller is a
/// superadmin, so the store always keeps one.
///
/// # Errors
/// 404 for an unknown or revoked key; 409 for the caller's own role; 422 for an invalid
/// label or an empty change.
pub async fn update_admin_key<P: Platform>(
    p: &P,
    store_id: &str,
    caller_key_id: &str,
    id: &str,
    input: UpdateAdminKey,
) -> Result<AdminKeyView, AppError> {
    let label = match &input.label {
        Some(l) => Some(
            Text::line(l, 1, 100)
                .map_err(|m| AppError::validation("label", m))?
                .into_string(),
        ),
        None => None,
    };
    if input.role.is_none() && label.is_none() {
        return Err(AppError::validation(
            "body",
            "names nothing to change: send `role` and/or `label`",
        ));
    }
    let current = stores::admin_keys(p.db(), store_id)
        .await?
        .into_iter()
        .find(|k| k.id == id && k.revoked_at.is_none())
        .ok_or(AppError::NotFound("admin key"))?;
    if id == caller_key_id && input.role.is_some_and(|r| r != current.role) {
        return Err(AppError::conflict(
            "cannot_change_own_role",
            "A key cannot change its own role; use another superadmin key.",
        ));
    }
    let mut view = AdminKeyView::from(current);
    view.role = input.role.unwrap_or(view.role);
    view.label = label.unwrap_or(view.label);
    match stores::update_admin_key(p.db(), store_id, id, view.role, &view.label).await? {
        0 => Err(AppError::NotFound("admin key")),
        _ => Ok(view),
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
