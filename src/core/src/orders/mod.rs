//! Orders: placing one from a cart (shared by Checkout Sessions and PaymentIntents), what
//! customers and guests may see, and the unpaid-order sweep.

pub mod access;
pub mod cancel_unpaid;
pub mod checkout;
pub mod drafts;
pub mod invoice_order;
pub mod payment_intent;
pub mod place;
pub mod place_draft;
pub mod send_checkout;
pub mod shopper;

use crate::AppError;
use crate::domain::{FinancialStatus, OrderStatus, VariantKind};
use crate::ports::Platform;
use crate::sql::orders::{self, OrderItemRow, OrderRow};
use crate::time_fmt::rfc3339;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct OrderView {
    pub id: String,
    pub order_number: String,
    pub status: OrderStatus,
    pub financial_status: FinancialStatus,
    pub email: Option<String>,
    pub currency: String,
    pub subtotal: i64,
    pub discount: i64,
    pub shipping: i64,
    pub tax: i64,
    pub total: i64,
    pub promo_code: Option<String>,
    pub shipping_address: Option<serde_json::Value>,
    /// Set when Stripe's amounts disagreed with the order: an operator must look.
    pub review_reason: Option<String>,
    pub cancel_reason: Option<String>,
    pub items: Vec<OrderItemView>,
    pub created_at: String,
    pub paid_at: Option<String>,
    pub cancelled_at: Option<String>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct OrderItemView {
    pub id: String,
    pub variant_id: String,
    pub product_id: String,
    pub title: String,
    pub variant_title: String,
    pub sku: String,
    pub kind: VariantKind,
    pub options: BTreeMap<String, String>,
    pub unit_price: i64,
    pub quantity: i64,
    pub line_total: i64,
    pub price_source: String,
}

pub fn view_of(o: &OrderRow, items: Vec<OrderItemRow>) -> OrderView {
    OrderView {
        id: o.id.clone(),
        order_number: o.order_number.clone(),
        status: o.status,
        financial_status: o.financial_status,
        email: o.email.clone(),
        currency: o.currency.clone(),
        subtotal: o.subtotal_amount,
        discount: o.discount_amount,
        shipping: o.shipping_amount,
        tax: o.tax_amount,
        total: o.total_amount,
        promo_code: o.promo_code.clone(),
        shipping_address: o
            .shipping_address
            .as_deref()
            .and_then(|a| serde_json::from_str(a).ok()),
        review_reason: o.review_reason.clone(),
        cancel_reason: o.cancel_reason.clone(),
        items: items
            .into_iter()
            .map(|i| OrderItemView {
                line_total: i.unit_price * i.quantity,
                id: i.id,
                variant_id: i.variant_id,
                product_id: i.product_id,
                title: i.title,
                variant_title: i.variant_title,
                sku: i.sku,
                kind: i.kind,
                options: i.options,
                unit_price: i.unit_price,
                quantity: i.quantity,
                price_source: i.price_source,
            })
            .collect(),
        created_at: rfc3339(o.created_at),
        paid_at: o.paid_at.map(rfc3339),
        cancelled_at: o.cancelled_at.map(rfc3339),
    }
}

/// An order with its items, as customers see it.
///
/// # Errors
/// Storage failures.
pub async fn view<P: Platform>(p: &P, o: &OrderRow) -> Result<OrderView, AppError> {
    Ok(view_of(o, orders::items(p.db(), &o.id).await?))
}

/// The one way to load an order on behalf of a store: another store's order is as unknown
/// as one that does not exist.
///
/// # Errors
/// 404 when it is not this store's.
pub async fn order_of_store<P: Platform>(
    p: &P,
    store_id: &str,
    order_id: &str,
) -> Result<OrderRow, AppError> {
    crate::sql::orders::order_by_id(p.db(), order_id)
        .await?
        .filter(|o| o.store_id == store_id)
        .ok_or(AppError::NotFound("order"))
}
