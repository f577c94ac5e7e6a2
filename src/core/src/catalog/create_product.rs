use super::{Audience, ProductView, VariantInput, check_variant, product_views};
use crate::AppError;
use crate::db::{Db, DbError};
use crate::domain::{ProductStatus, Slug, Text, VariantStatus};
use crate::ports::{Platform, PlatformExt};
use crate::sql::catalog::{self, ProductRow, VariantRow};
use crate::sql::stores::StoreRow;
use serde::Deserialize;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct CreateProduct {
    #[schemars(length(min = 1, max = 200))]
    pub title: String,
    #[serde(default)]
    #[schemars(regex(pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$"), length(max = 100), extend("examples" = ["harbour-at-dusk"]))]
    pub slug: Option<String>,
    #[serde(default)]
    #[schemars(length(max = 10000))]
    pub description: Option<String>,
    /// `draft` (default) or `active`.
    #[serde(default)]
    #[schemars(extend("enum" = ["draft", "active", null]))]
    pub status: Option<ProductStatus>,
    #[serde(default)]
    #[schemars(
        length(max = 20),
        inner(regex(pattern = r"^https?://\S+$"), length(max = 2048))
    )]
    pub images: Vec<String>,
    #[serde(default)]
    pub variants: Vec<VariantInput>,
}

/// Turns a duplicate slug or SKU into a 409 that names it.
pub(crate) fn catalog_conflict(e: DbError) -> AppError {
    match e {
        DbError::Unique(m) if m.contains("slug") => {
            AppError::conflict("slug_taken", "Another product of this store has this slug.")
        }
        DbError::Unique(m) if m.contains("sku") => {
            AppError::conflict("sku_taken", "Another variant of this store has this SKU.")
        }
        other => other.into(),
    }
}

pub(crate) fn check_images(images: &[String]) -> Result<(), AppError> {
    if images.len() > 20 {
        return Err(AppError::validation("images", "at most 20 images"));
    }
    for i in images {
        if !(i.starts_with("https://") || i.starts_with("http://")) || i.len() > 2048 {
            return Err(AppError::validation(
                "images",
                "each image must be an http(s) URL",
            ));
        }
    }
    Ok(())
}

pub(crate) fn new_variant<P: Platform>(
    p: &P,
    store: &StoreRow,
    product_id: &str,
    v: VariantInput,
    position: i64,
) -> Result<VariantRow, AppError> {
    let now = p.now_ms();
    let row = VariantRow {
        id: p.new_id("var"),
        store_id: store.id.clone(),
        product_id: product_id.to_owned(),
        title: v.title.clone().unwrap_or_else(|| v.sku.clone()),
        sku: v.sku,
        kind: v.kind,
        price_amount: v.price_amount,
        currency: v
            .currency
            .map(|c| c.to_ascii_uppercase())
            .unwrap_or_else(|| store.currency.clone()),
        digital_asset_key: v.digital_asset_key,
        fulfillment_provider: v.fulfillment_provider,
        estimated_production_days: v.estimated_production_days,
        status: VariantStatus::Active,
        position,
        created_at: now,
        updated_at: now,
    };
    check_variant(&row, &store.currency)?;
    Ok(row)
}

/// Creates a product and its variants in one batch.
///
/// # Errors
/// 422 for invalid fields, 409 `slug_taken` / `sku_taken`.
pub async fn create_product<P: Platform>(
    p: &P,
    store: &StoreRow,
    input: CreateProduct,
) -> Result<ProductView, AppError> {
    create_product_with(p, store, input, |_| Ok(Vec::new())).await
}

/// [`create_product`], with more statements for the new variants (by position) written in
/// the same batch.
///
/// # Errors
/// As [`create_product`], and whatever `extra` refuses.
pub async fn create_product_with<P: Platform>(
    p: &P,
    store: &StoreRow,
    input: CreateProduct,
    extra: impl FnOnce(&[String]) -> Result<Vec<crate::db::Stmt>, AppError>,
) -> Result<ProductView, AppError> {
    let title = Text::line(&input.title, 1, 200).map_err(|m| AppError::validation("title", m))?;
    let slug = match input.slug.as_deref() {
        Some(s) => Slug::parse(s).map_err(|m| AppError::validation("slug", m))?,
        None => Slug::from_title(title.as_str()).ok_or_else(|| {
            AppError::validation("slug", "cannot be derived from the title; send one")
        })?,
    };
    let description = Text::parse(input.description.as_deref().unwrap_or(""), 0, 10_000)
        .map_err(|m| AppError::validation("description", m))?;
    let status = input.status.unwrap_or(ProductStatus::Draft);
    if status == ProductStatus::Archived {
        return Err(AppError::validation(
            "status",
            "a new product is draft or active",
        ));
    }
    check_images(&input.images)?;
    if input.variants.len() > 50 {
        return Err(AppError::validation(
            "variants",
            "at most 50 variants per request",
        ));
    }
    let now = p.now_ms();
    let product = ProductRow {
        id: p.new_id("prod"),
        store_id: store.id.clone(),
        slug: slug.as_str().to_owned(),
        title: title.into_string(),
        description: description.into_string(),
        status,
        images: input.images,
        created_at: now,
        updated_at: now,
    };
    let mut stmts = vec![catalog::insert_product(&product)];
    let mut variant_ids = Vec::new();
    for (i, v) in input.variants.into_iter().enumerate() {
        let row = new_variant(p, store, &product.id, v, i as i64)
            .map_err(|e| prefix_field(e, &format!("variants[{i}].")))?;
        stmts.push(catalog::insert_variant(&row));
        variant_ids.push(row.id.clone());
    }
    // What the caller adds for the new variants (mappings, placements), in the same batch.
    stmts.extend(extra(&variant_ids)?);
    p.db().batch(stmts).await.map_err(catalog_conflict)?;
    let mut views = product_views(p.db(), vec![product], Audience::Admin).await?;
    Ok(views.remove(0))
}

fn prefix_field(e: AppError, prefix: &str) -> AppError {
    match e {
        AppError::Validation { field, message } => AppError::Validation {
            field: format!("{prefix}{field}"),
            message,
        },
        other => other,
    }
}
