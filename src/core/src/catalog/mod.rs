//! Catalog use cases: products, variants, provider mappings. One file per verb.

pub mod add_variant;
pub mod archive;
pub mod create_product;
pub mod get_product;
pub mod list_products;
pub mod provider_mappings;
pub mod update_product;
pub mod update_variant;
mod views;

pub use list_products::Page;
pub use views::{Audience, MappingView, ProductView, VariantView, product_views};

use crate::AppError;
use crate::domain::{Currency, Money, ProviderCode, Sku, Text, VariantKind};
use crate::sql::catalog::VariantRow;
use serde::Deserialize;

/// A variant as the admin API receives it. A digital variant names its file and no
/// provider; a physical one may name a provider (else the store's default).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[schemars(extend(
    "if" = { "properties": { "kind": { "const": "digital" } } },
    "then" = {
        "required": ["digital_asset_key"],
        "properties": { "fulfillment_provider": { "type": "null" } }
    }
))]
pub struct VariantInput {
    #[schemars(regex(pattern = r"^[A-Za-z0-9._-]{1,64}$"), extend("examples" = ["POSTER-A2"]))]
    pub sku: String,
    #[serde(default)]
    #[schemars(length(min = 1, max = 200))]
    pub title: Option<String>,
    pub kind: VariantKind,
    #[schemars(range(min = 0, max = 100_000_000))]
    pub price_amount: i64,
    #[serde(default)]
    #[schemars(schema_with = "crate::domain::optional_currency_schema")]
    pub currency: Option<String>,
    #[serde(default)]
    #[schemars(regex(pattern = r"^(?:[^/.\u0000-\u001F\u007F][^/\u0000-\u001F\u007F]*|\.[^/.\u0000-\u001F\u007F][^/\u0000-\u001F\u007F]*|\.\.[^/\u0000-\u001F\u007F]+)(?:/(?:[^/.\u0000-\u001F\u007F][^/\u0000-\u001F\u007F]*|\.[^/.\u0000-\u001F\u007F][^/\u0000-\u001F\u007F]*|\.\.[^/\u0000-\u001F\u007F]+))*$"), length(max = 512), extend("examples" = ["assets/poster.pdf"]))]
    pub digital_asset_key: Option<String>,
    #[serde(default)]
    pub fulfillment_provider: Option<ProviderCode>,
    #[serde(default)]
    #[schemars(range(min = 0, max = 365))]
    pub estimated_production_days: Option<i64>,
}

/// Checks the rules shared by new and edited variants.
///
/// # Errors
/// The first rule broken, naming its field.
pub fn check_variant(v: &VariantRow, store_currency: &str) -> Result<(), AppError> {
    Sku::parse(&v.sku).map_err(|m| AppError::validation("sku", m))?;
    Text::line(&v.title, 1, 200).map_err(|m| AppError::validation("title", m))?;
    let cur = Currency::parse(&v.currency).map_err(|m| AppError::validation("currency", m))?;
    if cur.as_str() != store_currency {
        return Err(AppError::validation(
            "currency",
            format!("must be the store's currency, {store_currency}"),
        ));
    }
    Money::price(v.price_amount, cur).map_err(|m| AppError::validation("price_amount", m))?;
    if let Some(d) = v.estimated_production_days {
        if !(0..=365).contains(&d) {
            return Err(AppError::validation(
                "estimated_production_days",
                "must be between 0 and 365",
            ));
        }
    }
    match v.kind {
        VariantKind::Digital => {
            let key = v.digital_asset_key.as_deref().ok_or_else(|| {
                AppError::validation("digital_asset_key", "is required for digital variants")
            })?;
            check_asset_key(key)?;
            if v.fulfillment_provider.is_some() {
                return Err(AppError::validation(
                    "fulfillment_provider",
                    "digital variants are not fulfilled by a provider",
                ));
            }
        }
        VariantKind::Physical => {
            if let Some(k) = v.digital_asset_key.as_deref() {
                check_asset_key(k)?;
            }
        }
    }
    Ok(())
}

fn check_asset_key(key: &str) -> Result<(), AppError> {
    let ok = !key.is_empty()
        && key.len() <= 512
        && !key.starts_with('/')
        && !key
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
        && !key.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(AppError::validation(
            "digital_asset_key",
            "must be an R2 key like 'assets/poster.pdf'",
        ))
    }
}

/// Page size bounds for every list.
pub fn page_limit(requested: Option<&str>) -> Result<u32, AppError> {
    match requested {
        None => Ok(20),
        Some(s) => match s.parse::<u32>() {
            Ok(n) if (1..=100).contains(&n) => Ok(n),
            _ => Err(AppError::validation(
                "limit",
                "must be an integer between 1 and 100",
            )),
        },
    }
}
