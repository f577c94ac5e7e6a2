use super::admin_keys::{NewAdminKey, new_admin_key};
use super::{StoreView, check_settings, store_view};
use crate::AppError;
use crate::db::Db as _;
use crate::domain::{Currency, Role, Text};
use crate::ports::{Platform, PlatformExt};
use crate::sql::stores::{self, StoreRow, StoreSettings};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct CreateStore {
    #[schemars(length(min = 1, max = 100))]
    pub name: String,
    /// Order numbers read `PREFIX-YYYY-XXXXXXXX`.
    #[schemars(regex(pattern = r"^[A-Za-z0-9]{2,6}$"), extend("examples" = ["SHOP"]))]
    pub order_prefix: String,
    #[schemars(schema_with = "crate::domain::currency_schema")]
    pub currency: String,
    #[serde(default)]
    pub settings: StoreSettings,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CreatedStore {
    pub store: StoreView,
    /// For the storefront's `x-publishable-api-key` (public by design).
    pub publishable_key: String,
    /// The store's first superadmin key: shown once, kept only as a hash.
    pub admin_key: NewAdminKey,
}

/// Creates a store with a publishable key, a first superadmin key and the seeded couriers,
/// in one batch.
///
/// # Errors
/// 422 for invalid fields.
pub async fn create_store<P: Platform>(
    p: &P,
    input: CreateStore,
) -> Result<CreatedStore, AppError> {
    let name = Text::line(&input.name, 1, 100).map_err(|m| AppError::validation("name", m))?;
    let prefix = input.order_prefix.trim().to_ascii_uppercase();
    if !(2..=6).contains(&prefix.len())
        || !prefix
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Err(AppError::validation(
            "order_prefix",
            "must be 2-6 letters or digits",
        ));
    }
    let currency =
        Currency::parse(&input.currency).map_err(|m| AppError::validation("currency", m))?;
    check_settings(&input.settings)?;
    let now = p.now_ms();
    let store = StoreRow {
        id: p.new_id("store"),
        name: name.into_string(),
        order_prefix: prefix,
        currency: currency.as_str().to_owned(),
        settings: input.settings,
        created_at: now,
        updated_at: now,
    };
    let publishable_key = p.new_token("pk_", 16);
    let (key, key_stmt) = new_admin_key(p, &store.id, Role::Superadmin, "first superadmin")?;
    let mut batch = vec![
        stores::insert_store(&store),
        stores::insert_publishable_key(&publishable_key, &store.id, now),
        key_stmt,
    ];
    batch.extend(crate::shipments::couriers::seed_statements(&store.id, now));
    p.db().batch(batch).await?;
    Ok(CreatedStore {
        store: store_view(store, vec![publishable_key.clone()]),
        publishable_key,
        admin_key: key,
    })
}
