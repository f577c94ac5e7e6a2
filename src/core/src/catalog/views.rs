use crate::db::Db;
use crate::domain::{ProductStatus, ProviderCode, VariantKind, VariantStatus};
use crate::sql::catalog::{self, MappingRow, ProductRow, StorefrontProductRow, VariantRow};
use crate::time_fmt::rfc3339;
use serde::Serialize;

/// Who the view is for: shoppers never see asset keys, costs or inactive variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Storefront,
    Admin,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ProductView {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub status: ProductStatus,
    pub images: Vec<String>,
    pub variants: Vec<VariantView>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Price {
    pub amount: i64,
    pub currency: String,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct VariantView {
    pub id: String,
    pub sku: String,
    pub title: String,
    pub kind: VariantKind,
    pub price: Price,
    pub estimated_production_days: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<VariantStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fulfillment_provider: Option<Option<ProviderCode>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digital_asset_key: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_mappings: Option<Vec<MappingView>>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct MappingView {
    pub provider: ProviderCode,
    pub external_variant_id: String,
    pub cost: Option<Price>,
    pub updated_at: String,
}

impl From<&MappingRow> for MappingView {
    fn from(m: &MappingRow) -> Self {
        MappingView {
            provider: m.provider,
            external_variant_id: m.external_variant_id.clone(),
            cost: m.cost_amount.map(|a| Price {
                amount: a,
                currency: m.cost_currency.clone().unwrap_or_default(),
            }),
            updated_at: rfc3339(m.updated_at),
        }
    }
}

fn variant_view(v: &VariantRow, who: Audience, mappings: &[MappingRow]) -> VariantView {
    let admin = who == Audience::Admin;
    VariantView {
        id: v.id.clone(),
        sku: v.sku.clone(),
        title: v.title.clone(),
        kind: v.kind,
        price: Price {
            amount: v.price_amount,
            currency: v.currency.clone(),
        },
        estimated_production_days: v.estimated_production_days,
        status: admin.then_some(v.status),
        fulfillment_provider: admin.then_some(v.fulfillment_provider),
        digital_asset_key: admin.then(|| v.digital_asset_key.clone()),
        provider_mappings: admin.then(|| {
            mappings
                .iter()
                .filter(|m| m.variant_id == v.id)
                .map(MappingView::from)
                .collect()
        }),
    }
}

/// Views of products with their variants, loaded in two queries (three for admins).
///
/// # Errors
/// Storage failures.
pub async fn product_views(
    db: &impl Db,
    products: Vec<ProductRow>,
    who: Audience,
) -> Result<Vec<ProductView>, crate::db::DbError> {
    let ids: Vec<String> = products.iter().map(|p| p.id.clone()).collect();
    let variants = catalog::variants_of(db, &ids, who == Audience::Storefront).await?;
    let mappings = if who == Audience::Admin {
        let vids: Vec<String> = variants.iter().map(|v| v.id.clone()).collect();
        catalog::mappings_of(db, &vids).await?
    } else {
        Vec::new()
    };
    Ok(products
        .into_iter()
        .map(|p| ProductView {
            variants: variants
                .iter()
                .filter(|v| v.product_id == p.id)
                .map(|v| variant_view(v, who, &mappings))
                .collect(),
            id: p.id,
            slug: p.slug,
            title: p.title,
            description: p.description,
            status: p.status,
            images: p.images,
            created_at: rfc3339(p.created_at),
            updated_at: rfc3339(p.updated_at),
        })
        .collect())
}

impl From<StorefrontProductRow> for ProductView {
    fn from(p: StorefrontProductRow) -> Self {
        ProductView {
            id: p.id,
            slug: p.slug,
            title: p.title,
            description: p.description,
            status: ProductStatus::Active,
            images: p.images,
            variants: p
                .variants
                .into_iter()
                .map(|v| VariantView {
                    id: v.id,
                    sku: v.sku,
                    title: v.title,
                    kind: v.kind,
                    price: Price {
                        amount: v.price_amount,
                        currency: v.currency,
                    },
                    estimated_production_days: v.estimated_production_days,
                    status: None,
                    fulfillment_provider: None,
                    digital_asset_key: None,
                    provider_mappings: None,
                })
                .collect(),
            created_at: rfc3339(p.created_at),
            updated_at: rfc3339(p.updated_at),
        }
    }
}
