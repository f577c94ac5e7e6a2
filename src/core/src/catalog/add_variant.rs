use super::create_product::{catalog_conflict, new_variant};
use super::get_product::admin_view;
use super::{ProductView, VariantInput};
use crate::AppError;
use crate::db::Db as _;
use crate::db::DbExt;
use crate::ports::Platform;
use crate::sql::catalog;
use crate::sql::stores::StoreRow;
use crate::stmt;

/// Adds a variant at the end of a product's list.
///
/// # Errors
/// 404, 422 for invalid fields, 409 `sku_taken`.
pub async fn add_variant<P: Platform>(
    p: &P,
    store: &StoreRow,
    product_id: &str,
    input: VariantInput,
) -> Result<ProductView, AppError> {
    let product = catalog::product(p.db(), &store.id, product_id)
        .await?
        .ok_or(AppError::NotFound("product"))?;
    let position = p
        .db()
        .scalar_i64(stmt!(
            "SELECT COALESCE(MAX(position) + 1, 0) AS n FROM variants WHERE product_id = ?",
            &product.id
        ))
        .await?;
    let row = new_variant(p, store, &product.id, input, position)?;
    p.db()
        .run(catalog::insert_variant(&row))
        .await
        .map_err(catalog_conflict)?;
    admin_view(p.db(), &store.id, &product.id).await
}
