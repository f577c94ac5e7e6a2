use super::{Audience, ProductView, product_views};
use crate::AppError;
use crate::domain::ProductStatus;
use crate::ports::Platform;
use crate::sql::catalog;

/// A product on sale, by id or slug.
///
/// # Errors
/// 404 when unknown, of another store, or not active.
pub async fn get_storefront_product<P: Platform>(
    p: &P,
    store_id: &str,
    id_or_slug: &str,
) -> Result<ProductView, AppError> {
    let row = catalog::product(p.db(), store_id, id_or_slug)
        .await?
        .filter(|r| r.status == ProductStatus::Active)
        .ok_or(AppError::NotFound("product"))?;
    Ok(product_views(p.db(), vec![row], Audience::Storefront)
        .await?
        .remove(0))
}
