use super::views::MappingView;
use crate::AppError;
use crate::db::Db as _;
use crate::domain::{Currency, Money, ProviderCode, Text};
use crate::ports::Platform;
use crate::sql::catalog::{self, MappingRow};
use serde::Deserialize;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SetMapping {
    #[schemars(length(min = 1, max = 200))]
    pub external_variant_id: String,
    #[serde(default)]
    #[schemars(range(min = 0, max = 100_000_000))]
    pub cost_amount: Option<i64>,
    #[serde(default)]
    #[schemars(schema_with = "crate::domain::optional_currency_schema")]
    pub cost_currency: Option<String>,
}

/// Says which provider product makes this variant, and at what cost. One row per
/// (variant, provider); setting it again replaces it.
///
/// # Errors
/// 404 for another store's or an unknown variant; 422 for invalid fields.
pub async fn set_mapping<P: Platform>(
    p: &P,
    store_id: &str,
    variant_id: &str,
    provider: ProviderCode,
    input: SetMapping,
) -> Result<Vec<MappingView>, AppError> {
    let v = catalog::variant(p.db(), store_id, variant_id)
        .await?
        .ok_or(AppError::NotFound("variant"))?;
    let ext = Text::line(&input.external_variant_id, 1, 200)
        .map_err(|m| AppError::validation("external_variant_id", m))?;
    let cost_currency = match (input.cost_amount, input.cost_currency.as_deref()) {
        (None, None) => None,
        (Some(a), c) => {
            let cur = Currency::parse(c.unwrap_or(&v.currency))
                .map_err(|m| AppError::validation("cost_currency", m))?;
            Money::price(a, cur.clone()).map_err(|m| AppError::validation("cost_amount", m))?;
            Some(cur.as_str().to_owned())
        }
        (None, Some(_)) => {
            return Err(AppError::validation(
                "cost_amount",
                "is required with cost_currency",
            ));
        }
    };
    let row = MappingRow {
        variant_id: v.id.clone(),
        provider,
        external_variant_id: ext.into_string(),
        cost_amount: input.cost_amount,
        cost_currency,
        updated_at: p.now_ms(),
    };
    p.db().run(catalog::upsert_mapping(store_id, &row)).await?;
    list_mappings(p, store_id, &v.id).await
}

/// # Errors
/// 404 when the variant or the mapping does not exist.
pub async fn remove_mapping<P: Platform>(
    p: &P,
    store_id: &str,
    variant_id: &str,
    provider: ProviderCode,
) -> Result<Vec<MappingView>, AppError> {
    let n = p
        .db()
        .run(catalog::delete_mapping(store_id, variant_id, provider))
        .await?;
    if n == 0 {
        return Err(AppError::NotFound("provider mapping"));
    }
    list_mappings(p, store_id, variant_id).await
}

/// # Errors
/// 404 for another store's or an unknown variant.
pub async fn list_mappings<P: Platform>(
    p: &P,
    store_id: &str,
    variant_id: &str,
) -> Result<Vec<MappingView>, AppError> {
    let v = catalog::variant(p.db(), store_id, variant_id)
        .await?
        .ok_or(AppError::NotFound("variant"))?;
    let rows = catalog::mappings_of(p.db(), std::slice::from_ref(&v.id)).await?;
    Ok(rows.iter().map(MappingView::from).collect())
}
