use super::ProductView;
use super::{Audience, product_views};
use crate::AppError;
use crate::db::Db;
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

/// Loads one product of the store for the admin.
///
/// # Errors
/// 404 when it is not this store's.
pub async fn admin_view(db: &impl Db, store_id: &str, id: &str) -> Result<ProductView, AppError> {
    let row = catalog::product(db, store_id, id)
        .await?
        .ok_or(AppError::NotFound("product"))?;
    Ok(product_views(db, vec![row], Audience::Admin)
        .await?
        .remove(0))
}
