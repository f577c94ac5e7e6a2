//! Server-side carts. Guests hold a random cart token; customers have
//! one active cart per store. Prices are read from the catalog every time a cart is shown.

pub mod abandon_idle;
pub mod add_item;
pub mod create_cart;
pub mod merge;
pub mod remove_item;
pub mod update_item;

use crate::AppError;
use crate::auth::{StorefrontCaller, customer_of, sha256_hex};
use crate::db::Db as _;
use crate::domain::{CartStatus, VariantKind};
use crate::ports::{Platform, PlatformExt};
use crate::sql::carts::{self, CartRow};
use crate::time_fmt::rfc3339;
use serde::Serialize;
use std::collections::BTreeMap;

/// At most this many distinct lines in one cart.
pub const MAX_LINES: i64 = 50;

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CartView {
    pub id: String,
    pub status: CartStatus,
    pub currency: String,
    pub items: Vec<CartItemView>,
    pub item_count: i64,
    /// Sum of available lines at today's prices.
    pub subtotal: i64,
    /// Whether anything in it ships (digital-only carts need no address).
    pub requires_shipping: bool,
    pub expires_at: String,
    pub updated_at: String,
    /// Only in the response that created a guest cart: keep it, it is not shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cart_token: Option<String>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CartItemView {
    pub id: String,
    pub variant_id: String,
    pub product_id: String,
    pub product_slug: String,
    pub title: String,
    pub variant_title: String,
    pub sku: String,
    pub kind: VariantKind,
    pub options: BTreeMap<String, String>,
    pub quantity: i64,
    pub unit_price: i64,
    pub line_total: i64,
    /// False when the variant or its product was archived since it was added.
    pub available: bool,
}

/// Renders a cart with current catalog prices.
///
/// # Errors
/// Storage failures.
pub async fn view<P: Platform>(p: &P, cart: &CartRow) -> Result<CartView, AppError> {
    let lines = carts::lines(p.db(), &cart.id).await?;
    Ok(view_of(cart, lines))
}

/// Renders a cart from lines already read (see [`carts::lines_stmt`]).
pub fn view_of(cart: &CartRow, lines: Vec<carts::CartLine>) -> CartView {
    let items: Vec<CartItemView> = lines
        .into_iter()
        .map(|l| CartItemView {
            line_total: l.price_amount * l.quantity,
            available: l.available == 1 && l.currency == cart.currency,
            id: l.id,
            variant_id: l.variant_id,
            product_id: l.product_id,
            product_slug: l.product_slug,
            title: l.product_title,
            variant_title: l.variant_title,
            sku: l.sku,
            kind: l.kind,
            options: l.options,
            quantity: l.quantity,
            unit_price: l.price_amount,
        })
        .collect();
    let available = items.iter().filter(|i| i.available);
    CartView {
        id: cart.id.clone(),
        status: cart.status,
        currency: cart.currency.clone(),
        item_count: available.clone().map(|i| i.quantity).sum(),
        subtotal: available.clone().map(|i| i.line_total).sum(),
        requires_shipping: available.clone().any(|i| i.kind == VariantKind::Physical),
        items,
        expires_at: rfc3339(cart.last_activity_at + CartStatus::IDLE_MS),
        updated_at: rfc3339(cart.updated_at),
        cart_token: None,
    }
}

/// The caller's current cart: the customer's active cart (created on first use when
/// `create` is set), or the guest cart named by `x-cart-token` in this store.
///
/// # Errors
/// 404 `cart_not_found` when there is none the caller may see.
pub async fn current<P: Platform>(
    p: &P,
    caller: &StorefrontCaller,
    create: bool,
) -> Result<CartRow, AppError> {
    let store = &caller.store;
    if let Some(claims) = &caller.customer {
        // Reading never writes: the customer record is created only with their first cart.
        let customer = if create {
            customer_of(p, &store.id, claims).await?
        } else {
            crate::sql::stores::customer_by_subject(p.db(), &store.id, &claims.sub)
                .await?
                .ok_or(AppError::NotFound("cart"))?
        };
        if let Some(c) = carts::active_customer_cart(p.db(), &store.id, &customer.id).await? {
            return Ok(c);
        }
        if !create {
            return Err(AppError::NotFound("cart"));
        }
        p.db()
            .run(carts::insert_customer_cart(
                &p.new_id("cart"),
                &store.id,
                &customer.id,
                &store.currency,
                p.now_ms(),
            ))
            .await?;
        return carts::active_customer_cart(p.db(), &store.id, &customer.id)
            .await?
            .ok_or(AppError::NotFound("cart"));
    }
    let token = caller
        .cart_token
        .as_deref()
        .ok_or(AppError::NotFound("cart"))?;
    carts::cart_by_token_hash(p.db(), &store.id, &sha256_hex(token))
        .await?
        .ok_or(AppError::NotFound("cart"))
}

/// # Errors
/// 409 `cart_not_active` when the cart was checked out, merged or abandoned.
pub fn require_active(cart: &CartRow) -> Result<(), AppError> {
    if cart.status == CartStatus::Active {
        Ok(())
    } else {
        Err(AppError::conflict(
            "cart_not_active",
            format!("This cart is {}; start a new one.", cart.status.as_str()),
        ))
    }
}
