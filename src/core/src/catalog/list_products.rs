use super::{Audience, ProductView, page_limit, product_views};
use crate::AppError;
use crate::domain::ProductStatus;
use crate::ports::Platform;
use crate::sql::catalog;
use serde::Serialize;

/// A keyset page: pass `next_starting_after` back as `starting_after`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[schemars(rename = "{T}Page")]
pub struct Page<T> {
    pub data: Vec<T>,
    pub has_more: bool,
    pub next_starting_after: Option<String>,
}

/// Lists products by creation order. Shoppers see active products only.
///
/// # Errors
/// 422 for a bad `limit` or `status`.
pub async fn list_products<P: Platform>(
    p: &P,
    store_id: &str,
    who: Audience,
    status: Option<&str>,
    starting_after: Option<&str>,
    limit: Option<&str>,
) -> Result<Page<ProductView>, AppError> {
    let limit = page_limit(limit)?;
    if who == Audience::Storefront {
        let rows = catalog::storefront_page(p.db(), store_id, starting_after, limit + 1).await?;
        let (rows, has_more, next_starting_after) = split_page(rows, limit, |r| &r.id);
        let data = rows.into_iter().map(ProductView::from).collect();
        return Ok(Page {
            data,
            has_more,
            next_starting_after,
        });
    }
    let status = status
        .map(|s| {
            ProductStatus::parse(s)
                .ok_or_else(|| AppError::validation("status", "must be draft, active or archived"))
        })
        .transpose()?;
    let rows = catalog::products_page(p.db(), store_id, status, starting_after, limit + 1).await?;
    let (rows, has_more, next_starting_after) = split_page(rows, limit, |r| &r.id);
    Ok(Page {
        data: product_views(p.db(), rows, who).await?,
        has_more,
        next_starting_after,
    })
}

/// Rows were read with `limit + 1`: the extra one only says that there is more.
pub fn split_page<T>(
    mut rows: Vec<T>,
    limit: u32,
    id: impl Fn(&T) -> &String,
) -> (Vec<T>, bool, Option<String>) {
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next = if has_more {
        rows.last().map(|r| id(r).clone())
    } else {
        None
    };
    (rows, has_more, next)
}
