use super::ProductView;
use super::create_product::{catalog_conflict, check_images};
use super::get_product::admin_view;
use crate::AppError;
use crate::db::Db as _;
use crate::domain::{ProductStatus, Slug, StateMachine, Text};
use crate::ports::Platform;
use crate::sql::catalog;
use serde::Deserialize;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct UpdateProduct {
    #[schemars(length(min = 1, max = 200))]
    pub title: Option<String>,
    #[schemars(regex(pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$"), length(max = 100), extend("examples" = ["harbour-at-dusk"]))]
    pub slug: Option<String>,
    #[schemars(length(max = 10000))]
    pub description: Option<String>,
    pub status: Option<ProductStatus>,
    #[schemars(
        length(max = 20),
        inner(regex(pattern = r"^https?://\S+$"), length(max = 2048))
    )]
    pub images: Option<Vec<String>>,
}

/// Edits a product; a status change must follow the product state machine.
///
/// # Errors
/// 404, 422 for invalid fields, 409 `invalid_transition` / `slug_taken`.
pub async fn update_product<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
    input: UpdateProduct,
) -> Result<ProductView, AppError> {
    let mut row = catalog::product(p.db(), store_id, id)
        .await?
        .ok_or(AppError::NotFound("product"))?;
    if let Some(t) = input.title {
        row.title = Text::line(&t, 1, 200)
            .map_err(|m| AppError::validation("title", m))?
            .into_string();
    }
    if let Some(s) = input.slug {
        row.slug = Slug::parse(&s)
            .map_err(|m| AppError::validation("slug", m))?
            .as_str()
            .to_owned();
    }
    if let Some(d) = input.description {
        row.description = Text::parse(&d, 0, 10_000)
            .map_err(|m| AppError::validation("description", m))?
            .into_string();
    }
    if let Some(i) = input.images {
        check_images(&i)?;
        row.images = i;
    }
    if let Some(to) = input.status {
        transition(row.status, to)?;
        row.status = to;
    }
    row.updated_at = p.now_ms();
    p.db()
        .run(catalog::update_product(&row))
        .await
        .map_err(catalog_conflict)?;
    admin_view(p.db(), store_id, &row.id).await
}

/// # Errors
/// 409 `invalid_transition` naming both states.
pub fn transition<S: StateMachine + Copy>(from: S, to: S) -> Result<(), AppError>
where
    S: std::fmt::Debug,
{
    if from == to || from.can_go(to) {
        Ok(())
    } else {
        Err(AppError::conflict(
            "invalid_transition",
            format!("Cannot go from {from:?} to {to:?}.").to_lowercase(),
        ))
    }
}
