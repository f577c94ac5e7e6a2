use super::{StoreView, check_settings, store_view};
use crate::AppError;
use crate::domain::Text;
use crate::ports::Platform;
use crate::sql::stores::{self, StoreSettings};
use serde::Deserialize;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct UpdateStore {
    #[schemars(length(min = 1, max = 100))]
    pub name: Option<String>,
    /// Replaces the settings whole.
    pub settings: Option<StoreSettings>,
}

/// # Errors
/// 404, 422 for invalid fields.
pub async fn update_store<P: Platform>(
    p: &P,
    store_id: &str,
    input: UpdateStore,
) -> Result<StoreView, AppError> {
    let mut s = stores::store_by_id(p.db(), store_id)
        .await?
        .ok_or(AppError::NotFound("store"))?;
    if let Some(n) = input.name {
        s.name = Text::line(&n, 1, 100)
            .map_err(|m| AppError::validation("name", m))?
            .into_string();
    }
    if let Some(mut settings) = input.settings {
        // The masked secret coming back from a GET keeps the stored one.
        if let (Some(new), Some(old)) = (settings.identity.as_mut(), s.settings.identity.as_ref()) {
            if new.hs256_secret.as_deref() == Some("********") {
                new.hs256_secret = old.hs256_secret.clone();
            }
        }
        settings.providers.keep_masked_from(&s.settings.providers);
        check_settings(&settings)?;
        s.settings = settings;
    }
    s.updated_at = p.now_ms();
    stores::update_store(p.db(), &s).await?;
    let keys = stores::publishable_keys(p.db(), store_id).await?;
    Ok(store_view(s, keys))
}

/// # Errors
/// 404.
pub async fn get_store<P: Platform>(p: &P, store_id: &str) -> Result<StoreView, AppError> {
    let s = stores::store_by_id(p.db(), store_id)
        .await?
        .ok_or(AppError::NotFound("store"))?;
    let keys = stores::publishable_keys(p.db(), store_id).await?;
    Ok(store_view(s, keys))
}

/// Every store, for the platform operator (bootstrap key), by id.
///
/// # Errors
/// 422 for a bad `limit`.
pub async fn list_stores<P: Platform>(
    p: &P,
    starting_after: Option<&str>,
    limit: Option<&str>,
) -> Result<crate::catalog::list_products::Page<StoreView>, AppError> {
    let limit = crate::catalog::page_limit(limit)?;
    let rows = stores::stores_page(p.db(), starting_after, limit + 1).await?;
    let (rows, has_more, next_starting_after) =
        crate::catalog::list_products::split_page(rows, limit, |s| &s.id);
    let data = rows
        .into_iter()
        .map(|s| super::store_view(s, Vec::new()))
        .collect();
    Ok(crate::catalog::list_products::Page {
        data,
        has_more,
        next_starting_after,
    })
}
