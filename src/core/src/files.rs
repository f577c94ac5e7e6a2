//! Files in the bucket that are not downloads: art operators upload to make products from,
//! and files customers render for an item of their paid order. Types and sizes are checked before anything is stored.

use crate::AppError;
use crate::auth::StorefrontCaller;
use crate::catalog::ProductView;
use crate::catalog::create_product::{CreateProduct, create_product_with};
use crate::db::{Db as _, DbExt as _, Stmt};
use crate::domain::{ProviderCode, VariantKind};
use crate::orders::access::visible_order;
use crate::ports::{Platform, PlatformExt};
use crate::sql::catalog::{MappingRow, upsert_mapping};
use crate::sql::orders;
use crate::sql::stores::StoreRow;
use crate::stmt;
use crate::time_fmt::rfc3339;
use serde::{Deserialize, Serialize};

/// A file as a client sent it: the content type it declared and the bytes.
#[derive(Debug, Clone, Copy)]
pub struct Upload<'a> {
    pub content_type: Option<&'a str>,
    pub bytes: &'a [u8],
}

/// A stored object to hand to the client (the HTTP layer streams it from the bucket).
#[derive(Debug, Clone, PartialEq)]
pub struct ServedFile {
    pub key: String,
    pub filename: String,
}

pub const MAX_ART_BYTES: usize = 25 * 1024 * 1024;
pub const MAX_CUSTOMER_FILE_BYTES: usize = 20 * 1024 * 1024;

/// The body's type, if it is one of `allowed` (checked against the file's first bytes too,
/// so a mislabelled file is refused).
fn checked_type(
    upload: Upload<'_>,
    allowed: &[&'static str],
    max: usize,
) -> Result<&'static str, AppError> {
    let declared = upload
        .content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let Some(kind) = allowed.iter().copied().find(|a| *a == declared) else {
        return Err(AppError::UnsupportedType(format!(
            "Send the file as one of: {}.",
            allowed.join(", ")
        )));
    };
    if upload.bytes.is_empty() {
        return Err(AppError::validation("body", "the file is empty"));
    }
    if upload.bytes.len() > max {
        return Err(AppError::TooLarge(format!(
            "At most {} MB.",
            max / (1024 * 1024)
        )));
    }
    let magic_ok = match kind {
        "image/png" => upload.bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "image/jpeg" => upload.bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
        "application/pdf" => upload.bytes.starts_with(b"%PDF-"),
        _ => false,
    };
    if !magic_ok {
        return Err(AppError::validation(
            "body",
            format!("the file is not a {kind}"),
        ));
    }
    Ok(kind)
}

fn extension(kind: &str) -> &'static str {
    match kind {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        _ => "pdf",
    }
}

#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StoredFile {
    pub id: String,
    pub key: String,
    pub content_type: String,
    pub size: i64,
    #[serde(skip_deserializing)]
    pub created_at: String,
}

/// `POST /admin/api/v1/art` (PNG or JPEG, ≤ 25 MB): stored as `art/<id>.<ext>`.
///
/// # Errors
/// 415 other types, 413 too large, 422 empty or mislabelled; 503 when the bucket fails.
pub async fn upload_art<P: Platform>(
    p: &P,
    store_id: &str,
    upload: Upload<'_>,
) -> Result<StoredFile, AppError> {
    let kind = checked_type(upload, &["image/png", "image/jpeg"], MAX_ART_BYTES)?;
    let id = p.new_id("art");
    let key = format!("art/{store_id}/{id}.{}", extension(kind));
    p.put_file(&key, &upload.bytes, kind).await.map_err(|e| {
        AppError::unavailable(
            "files_unavailable",
            format!("The file could not be stored ({e}); try again."),
        )
    })?;
    let now = p.now_ms();
    p.db()
        .run(stmt!(
            "INSERT INTO art_assets (id, store_id, r2_key, content_type, size, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            &id,
            store_id,
            &key,
            kind,
            upload.bytes.len() as i64,
            now
        ))
        .await?;
    Ok(StoredFile {
        id,
        key,
        content_type: kind.into(),
        size: upload.bytes.len() as i64,
        created_at: rfc3339(now),
    })
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct FromArt {
    pub art_id: String,
    #[serde(flatten)]
    pub product: CreateProduct,
    /// Per variant, by position: provider mappings and design placements.
    #[serde(default)]
    pub variant_extras: Vec<VariantExtras>,
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantExtras {
    #[serde(default)]
    pub provider_mappings: Vec<MappingInput>,
    #[serde(default)]
    pub placements: Vec<PlacementInput>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingInput {
    pub provider: ProviderCode,
    pub external_variant_id: String,
    pub cost_amount: Option<i64>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlacementInput {
    pub area: String,
    #[serde(default)]
    pub x: f64,
    #[serde(default)]
    pub y: f64,
    #[serde(default = "one")]
    pub scale: f64,
    #[serde(default)]
    pub rotation: f64,
    pub print_area: Option<String>,
}

fn one() -> f64 {
    1.0
}

/// `POST /admin/api/v1/products/from-art`: the product, its variants (digital ones sell the
/// art file itself), provider mappings with cost, design placements (the art as print
/// file) and the art as the product image — one batch.
///
/// # Errors
/// 404 unknown art; as product creation otherwise.
pub async fn product_from_art<P: Platform>(
    p: &P,
    store: &StoreRow,
    input: FromArt,
) -> Result<ProductView, AppError> {
    #[derive(Deserialize, schemars::JsonSchema)]
    struct Art {
        r2_key: String,
    }
    let art: Art = p
        .db()
        .first(stmt!(
            "SELECT r2_key FROM art_assets WHERE id = ? AND store_id = ?",
            &input.art_id,
            &store.id
        ))
        .await?
        .ok_or(AppError::NotFound("art"))?;
    let base = p.settings().files_public_base.clone().ok_or_else(|| {
        AppError::unavailable(
            "files_not_public",
            "Set FILES_PUBLIC_BASE so providers can fetch print files.",
        )
    })?;
    let art_url = format!("{}/{}", base.trim_end_matches('/'), art.r2_key);
    let mut product = input.product;
    if product.variants.len() < input.variant_extras.len() {
        return Err(AppError::validation(
            "variant_extras",
            "one entry per variant at most",
        ));
    }
    for v in &mut product.variants {
        if v.kind == VariantKind::Digital && v.digital_asset_key.is_none() {
            v.digital_asset_key = Some(art.r2_key.clone());
        }
    }
    if product.images.is_empty() {
        product.images.push(art_url.clone());
    }
    let extras = input.variant_extras;
    let now = p.now_ms();
    let ids: Vec<String> = (0..extras.iter().map(|e| e.placements.len()).sum::<usize>())
        .map(|_| p.new_id("dp"))
        .collect();
    let store_id = store.id.clone();
    create_product_with(p, store, product, move |variant_ids: &[String]| {
        let mut out: Vec<Stmt> = Vec::new();
        let mut ids = ids.into_iter();
        for (i, (extra, variant_id)) in extras.iter().zip(variant_ids).enumerate() {
            for m in &extra.provider_mappings {
                if m.external_variant_id.trim().is_empty() || m.cost_amount.is_some_and(|c| c < 0) {
                    return Err(AppError::validation(format!("variant_extras[{i}].provider_mappings"), "external_variant_id is required and cost_amount must not be negative"));
                }
                out.push(upsert_mapping(
                    &store_id,
                    &MappingRow {
                        variant_id: variant_id.clone(),
                        provider: m.provider,
                        external_variant_id: m.external_variant_id.trim().to_owned(),
                        cost_amount: m.cost_amount,
                        cost_currency: None,
                        updated_at: now,
                    },
                ));
            }
            for pl in &extra.placements {
                if pl.area.trim().is_empty() || pl.area.len() > 50 || !(pl.scale > 0.0) {
                    return Err(AppError::validation(format!("variant_extras[{i}].placements"), "area is required and scale must be positive"));
                }
                out.push(stmt!(
                    "INSERT INTO design_placements (id, variant_id, area, image_url, x, y, scale, rotation, print_area, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    ids.next().unwrap_or_default(),
                    variant_id,
                    pl.area.trim(),
                    &art_url,
                    pl.x,
                    pl.y,
                    pl.scale,
                    pl.rotation,
                    &pl.print_area,
                    now
                ));
            }
        }
        Ok(out)
    })
    .await
}

/// `POST /v1/orders/{order_number}/items/{item_id}/files` (PNG, JPEG or PDF, ≤ 20 MB): a
/// file the customer rendered for an item of their paid order.
///
/// # Errors
/// 404 when the caller may not see the order or the item is not in it; 409 unpaid; 413,
/// 415, 422 for the file.
pub async fn upload_customer_file<P: Platform>(
    p: &P,
    caller: &StorefrontCaller,
    number: &str,
    item_id: &str,
    upload: Upload<'_>,
) -> Result<StoredFile, AppError> {
    let order = visible_order(p, caller, number).await?;
    if order.paid_at.is_none() {
        return Err(AppError::conflict(
            "order_not_paid",
            "Files can be added once the order is paid.",
        ));
    }
    if !orders::items(p.db(), &order.id)
        .await?
        .iter()
        .any(|i| i.id == item_id)
    {
        return Err(AppError::NotFound("order item"));
    }
    let kind = checked_type(
        upload,
        &["image/png", "image/jpeg", "application/pdf"],
        MAX_CUSTOMER_FILE_BYTES,
    )?;
    let id = p.new_id("file");
    let key = format!(
        "orders/{}/{item_id}/{id}.{}",
        order.order_number,
        extension(kind)
    );
    p.put_file(&key, &upload.bytes, kind).await.map_err(|e| {
        AppError::unavailable(
            "files_unavailable",
            format!("The file could not be stored ({e}); try again."),
        )
    })?;
    let now = p.now_ms();
    p.db()
        .run(stmt!(
            "INSERT INTO order_item_files (id, store_id, order_id, order_item_id, r2_key, content_type, size, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            &id,
            &order.store_id,
            &order.id,
            item_id,
            &key,
            kind,
            upload.bytes.len() as i64,
            now
        ))
        .await?;
    Ok(StoredFile {
        id,
        key,
        content_type: kind.into(),
        size: upload.bytes.len() as i64,
        created_at: rfc3339(now),
    })
}
