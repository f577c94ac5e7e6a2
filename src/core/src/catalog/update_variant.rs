use super::create_product::catalog_conflict;
use super::get_product::admin_view;
use super::update_product::transition;
use super::{ProductView, check_variant};
use crate::AppError;
use crate::db::Db as _;
use crate::domain::{ProviderCode, VariantStatus};
use crate::ports::Platform;
use crate::sql::catalog;
use crate::sql::stores::StoreRow;
use serde::Deserialize;

/// Fields to change; `null` clears the optional ones.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct UpdateVariant {
    #[schemars(regex(pattern = r"^[A-Za-z0-9._-]{1,64}$"), extend("examples" = ["POSTER-A2"]))]
    pub sku: Option<String>,
    #[schemars(length(min = 1, max = 200))]
    pub title: Option<String>,
    #[schemars(range(min = 0, max = 100_000_000))]
    pub price_amount: Option<i64>,
    #[serde(default, deserialize_with = "double_option")]
    #[schemars(regex(pattern = r"^(?:[^/.\u0000-\u001F\u007F][^/\u0000-\u001F\u007F]*|\.[^/.\u0000-\u001F\u007F][^/\u0000-\u001F\u007F]*|\.\.[^/\u0000-\u001F\u007F]+)(?:/(?:[^/.\u0000-\u001F\u007F][^/\u0000-\u001F\u007F]*|\.[^/.\u0000-\u001F\u007F][^/\u0000-\u001F\u007F]*|\.\.[^/\u0000-\u001F\u007F]+))*$"), length(max = 512), extend("examples" = ["assets/poster.pdf"]))]
    pub digital_asset_key: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub fulfillment_provider: Option<Option<ProviderCode>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schemars(range(min = 0, max = 365))]
    pub estimated_production_days: Option<Option<i64>>,
    pub status: Option<VariantStatus>,
    #[schemars(range(min = 0, max = 10000))]
    pub position: Option<i64>,
}

fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Edits a variant. The kind and currency are fixed once created.
///
/// # Errors
/// 404, 422 for invalid fields, 409 `sku_taken` / `invalid_transition`.
pub async fn update_variant<P: Platform>(
    p: &P,
    store: &StoreRow,
    id: &str,
    input: UpdateVariant,
) -> Result<ProductView, AppError> {
    let mut v = catalog::variant(p.db(), &store.id, id)
        .await?
        .ok_or(AppError::NotFound("variant"))?;
    if let Some(s) = input.sku {
        v.sku = s;
    }
    if let Some(t) = input.title {
        v.title = t;
    }
    if let Some(a) = input.price_amount {
        v.price_amount = a;
    }
    if let Some(k) = input.digital_asset_key {
        v.digital_asset_key = k;
    }
    if let Some(f) = input.fulfillment_provider {
        v.fulfillment_provider = f;
    }
    if let Some(d) = input.estimated_production_days {
        v.estimated_production_days = d;
    }
    if let Some(pos) = input.position {
        if !(0..=10_000).contains(&pos) {
            return Err(AppError::validation(
                "position",
                "must be between 0 and 10000",
            ));
        }
        v.position = pos;
    }
    if let Some(s) = input.status {
        transition(v.status, s)?;
        v.status = s;
    }
    check_variant(&v, &store.currency)?;
    v.updated_at = p.now_ms();
    p.db()
        .run(catalog::update_variant(&v))
        .await
        .map_err(catalog_conflict)?;
    admin_view(p.db(), &store.id, &v.product_id).await
}
