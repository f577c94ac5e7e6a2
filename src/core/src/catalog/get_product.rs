use super::ProductView;
use crate::AppError;
use crate::ports::Platform;
use crate::sql::catalog;

/// A product on sale, by id or slug, with its active variants.
///
/// # Errors
/// 404 when unknown, of another store, or not active.
pub async fn get_storefront_product<P: Platform>(
    p: &P,
    store_id: &str,
    id_or_slug: &str,
) -> Result<ProductView, AppError> {
    let row = catalog::storefront_product(p.db(), store_id, id_or_slug)
        .await?
        .ok_or(AppError::NotFound("product"))?;
    Ok(row.into())
}
