use super::ProductView;
use super::get_product::admin_view;
use super::update_product::transition;
use crate::AppError;
use crate::db::Db as _;
use crate::domain::{ProductStatus, VariantStatus};
use crate::ports::Platform;
use crate::sql::catalog;

/// Takes a product off sale. Carts keep their lines but show them unavailable; history
/// (orders) keeps its snapshots.
///
/// # Errors
/// 404.
pub async fn archive_product<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
) -> Result<ProductView, AppError> {
    let mut row = catalog::product(p.db(), store_id, id)
        .await?
        .ok_or(AppError::NotFound("product"))?;
    transition(row.status, ProductStatus::Archived)?;
    row.status = ProductStatus::Archived;
    row.updated_at = p.now_ms();
    p.db().run(catalog::update_product(&row)).await?;
    admin_view(p.db(), store_id, &row.id).await
}

/// Takes one variant off sale.
///
/// # Errors
/// 404.
pub async fn archive_variant<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
) -> Result<ProductView, AppError> {
    let mut v = catalog::variant(p.db(), store_id, id)
        .await?
        .ok_or(AppError::NotFound("variant"))?;
    transition(v.status, VariantStatus::Archived)?;
    v.status = VariantStatus::Archived;
    v.updated_at = p.now_ms();
    p.db().run(catalog::update_variant(&v)).await?;
    admin_view(p.db(), store_id, &v.product_id).await
}
