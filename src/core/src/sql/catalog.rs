use crate::db::{Db, DbError, DbExt, Stmt, Value, json_column};
use crate::domain::{ProductStatus, ProviderCode, VariantKind, VariantStatus};
use crate::stmt;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct ProductRow {
    pub id: String,
    pub store_id: String,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub status: ProductStatus,
    #[serde(deserialize_with = "json_column")]
    pub images: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct VariantRow {
    pub id: String,
    pub store_id: String,
    pub product_id: String,
    pub sku: String,
    pub title: String,
    pub kind: VariantKind,
    pub price_amount: i64,
    pub currency: String,
    pub digital_asset_key: Option<String>,
    pub fulfillment_provider: Option<ProviderCode>,
    pub estimated_production_days: Option<i64>,
    pub status: VariantStatus,
    pub position: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct MappingRow {
    pub variant_id: String,
    pub provider: ProviderCode,
    pub external_variant_id: String,
    pub cost_amount: Option<i64>,
    pub cost_currency: Option<String>,
    pub updated_at: i64,
}

pub fn insert_product(p: &ProductRow) -> Stmt {
    stmt!(
        "INSERT INTO products (id, store_id, slug, title, description, status, images, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &p.id,
        &p.store_id,
        &p.slug,
        &p.title,
        &p.description,
        p.status.as_str(),
        serde_json::to_string(&p.images).unwrap_or_else(|_| "[]".into()),
        p.created_at,
        p.updated_at
    )
}

pub fn update_product(p: &ProductRow) -> Stmt {
    stmt!(
        "UPDATE products SET slug = ?, title = ?, description = ?, status = ?, images = ?, updated_at = ? WHERE id = ? AND store_id = ?",
        &p.slug,
        &p.title,
        &p.description,
        p.status.as_str(),
        serde_json::to_string(&p.images).unwrap_or_else(|_| "[]".into()),
        p.updated_at,
        &p.id,
        &p.store_id
    )
}

pub fn insert_variant(v: &VariantRow) -> Stmt {
    stmt!(
        "INSERT INTO variants (id, store_id, product_id, sku, title, kind, price_amount, currency, digital_asset_key, fulfillment_provider, estimated_production_days, status, position, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &v.id,
        &v.store_id,
        &v.product_id,
        &v.sku,
        &v.title,
        v.kind.as_str(),
        v.price_amount,
        &v.currency,
        v.digital_asset_key.as_deref(),
        v.fulfillment_provider.map(ProviderCode::as_str),
        v.estimated_production_days,
        v.status.as_str(),
        v.position,
        v.created_at,
        v.updated_at
    )
}

pub fn update_variant(v: &VariantRow) -> Stmt {
    stmt!(
        "UPDATE variants SET sku = ?, title = ?, price_amount = ?, digital_asset_key = ?, fulfillment_provider = ?, estimated_production_days = ?, status = ?, position = ?, updated_at = ? WHERE id = ? AND store_id = ?",
        &v.sku,
        &v.title,
        v.price_amount,
        v.digital_asset_key.as_deref(),
        v.fulfillment_provider.map(ProviderCode::as_str),
        v.estimated_production_days,
        v.status.as_str(),
        v.position,
        v.updated_at,
        &v.id,
        &v.store_id
    )
}

pub async fn product(
    db: &impl Db,
    store_id: &str,
    id_or_slug: &str,
) -> Result<Option<ProductRow>, DbError> {
    db.first(stmt!(
        "SELECT * FROM products WHERE store_id = ? AND (id = ? OR slug = ?) LIMIT 1",
        store_id,
        id_or_slug,
        id_or_slug
    ))
    .await
}

/// One page of products by id (ids are time-ordered ULIDs), optionally of one status.
pub async fn products_page(
    db: &impl Db,
    store_id: &str,
    status: Option<ProductStatus>,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<ProductRow>, DbError> {
    let mut s = Stmt::new(String::new());
    let mut sql = String::from("SELECT * FROM products WHERE store_id = ?");
    s.params.push(store_id.into());
    if let Some(st) = status {
        sql.push_str(" AND status = ?");
        s.params.push(st.as_str().into());
    }
    if let Some(a) = after {
        sql.push_str(" AND id > ?");
        s.params.push(a.into());
    }
    sql.push_str(" ORDER BY id LIMIT ?");
    s.params.push(Value::Int(i64::from(limit)));
    s.sql = sql;
    db.query(s).await
}

/// Variants of several products, in display order.
pub async fn variants_of(
    db: &impl Db,
    product_ids: &[String],
    active_only: bool,
) -> Result<Vec<VariantRow>, DbError> {
    if product_ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; product_ids.len()].join(", ");
    let mut s = Stmt::new(format!(
        "SELECT * FROM variants WHERE product_id IN ({marks}){} ORDER BY product_id, position, id",
        if active_only {
            " AND status = 'active'"
        } else {
            ""
        }
    ));
    s.params.extend(product_ids.iter().map(Value::from));
    db.query(s).await
}

pub async fn variant(
    db: &impl Db,
    store_id: &str,
    id: &str,
) -> Result<Option<VariantRow>, DbError> {
    db.first(stmt!(
        "SELECT * FROM variants WHERE id = ? AND store_id = ?",
        id,
        store_id
    ))
    .await
}

/// A variant that can be sold now: itself and its product active, in this store.
pub async fn sellable_variant(
    db: &impl Db,
    store_id: &str,
    id: &str,
) -> Result<Option<VariantRow>, DbError> {
    db.first(stmt!(
        "SELECT v.* FROM variants v JOIN products p ON p.id = v.product_id WHERE v.id = ? AND v.store_id = ? AND v.status = 'active' AND p.status = 'active'",
        id,
        store_id
    ))
    .await
}

pub async fn mappings_of(db: &impl Db, variant_ids: &[String]) -> Result<Vec<MappingRow>, DbError> {
    if variant_ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; variant_ids.len()].join(", ");
    let mut s = Stmt::new(format!(
        "SELECT variant_id, provider, external_variant_id, cost_amount, cost_currency, updated_at FROM provider_mappings WHERE variant_id IN ({marks}) ORDER BY variant_id, provider"
    ));
    s.params.extend(variant_ids.iter().map(Value::from));
    db.query(s).await
}

pub fn upsert_mapping(store_id: &str, m: &MappingRow) -> Stmt {
    stmt!(
        "INSERT INTO provider_mappings (variant_id, provider, store_id, external_variant_id, cost_amount, cost_currency, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (variant_id, provider) DO UPDATE SET external_variant_id = excluded.external_variant_id, cost_amount = excluded.cost_amount, cost_currency = excluded.cost_currency, updated_at = excluded.updated_at",
        &m.variant_id,
        m.provider.as_str(),
        store_id,
        &m.external_variant_id,
        m.cost_amount,
        m.cost_currency.as_deref(),
        m.updated_at,
        m.updated_at
    )
}

pub fn delete_mapping(store_id: &str, variant_id: &str, provider: ProviderCode) -> Stmt {
    stmt!(
        "DELETE FROM provider_mappings WHERE variant_id = ? AND provider = ? AND store_id = ?",
        variant_id,
        provider.as_str(),
        store_id
    )
}

/// A product on sale with its active variants, as the storefront shows it: one query, the
/// variants aggregated to JSON by SQLite (list and detail pages are the hottest reads).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct StorefrontProductRow {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub description: String,
    #[serde(deserialize_with = "json_column")]
    pub images: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
    #[serde(deserialize_with = "json_column")]
    pub variants: Vec<StorefrontVariant>,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct StorefrontVariant {
    pub id: String,
    pub sku: String,
    pub title: String,
    pub kind: VariantKind,
    pub price_amount: i64,
    pub currency: String,
    pub estimated_production_days: Option<i64>,
}

const STOREFRONT_PRODUCT: &str = "SELECT p.id, p.slug, p.title, p.description, p.images, p.created_at, p.updated_at, \
    (SELECT json_group_array(json_object('id', v.id, 'sku', v.sku, 'title', v.title, 'kind', v.kind, 'price_amount', v.price_amount, \
            'currency', v.currency, 'estimated_production_days', v.estimated_production_days)) \
       FROM (SELECT * FROM variants WHERE product_id = p.id AND status = 'active' ORDER BY position, id) v) AS variants \
    FROM products p WHERE p.store_id = ? AND p.status = 'active'";

/// One storefront page by id (keyset).
pub async fn storefront_page(
    db: &impl Db,
    store_id: &str,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<StorefrontProductRow>, DbError> {
    let s = match after {
        Some(a) => stmt!(
            format!("{STOREFRONT_PRODUCT} AND p.id > ? ORDER BY p.id LIMIT ?"),
            store_id,
            a,
            limit
        ),
        None => stmt!(
            format!("{STOREFRONT_PRODUCT} ORDER BY p.id LIMIT ?"),
            store_id,
            limit
        ),
    };
    db.query(s).await
}

/// One product on sale by id or slug.
pub async fn storefront_product(
    db: &impl Db,
    store_id: &str,
    id_or_slug: &str,
) -> Result<Option<StorefrontProductRow>, DbError> {
    db.first(stmt!(
        format!("{STOREFRONT_PRODUCT} AND (p.id = ? OR p.slug = ?) LIMIT 1"),
        store_id,
        id_or_slug,
        id_or_slug
    ))
    .await
}
