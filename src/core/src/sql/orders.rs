//! SQL for orders, their item snapshots, the payment ledger and inbound events.
//!
//! Every write that follows a payment event is a guarded statement inside one batch:
//! the order's status is the guard, deterministic ids make repeats no-ops.

use crate::db::{Batch, Db, DbError, DbExt, Stmt, json_column};
use crate::domain::{FinancialStatus, OrderStatus, VariantKind};
use crate::stmt;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct OrderRow {
    pub id: String,
    pub store_id: String,
    pub order_number: String,
    pub customer_id: Option<String>,
    pub email: Option<String>,
    pub cart_id: Option<String>,
    pub status: OrderStatus,
    pub financial_status: FinancialStatus,
    pub currency: String,
    pub subtotal_amount: i64,
    pub discount_amount: i64,
    pub shipping_amount: i64,
    pub tax_amount: i64,
    pub total_amount: i64,
    pub stripe_checkout_session_id: Option<String>,
    pub stripe_payment_intent_id: Option<String>,
    pub stripe_customer_id: Option<String>,
    pub promo_code: Option<String>,
    pub shipping_address: Option<String>,
    pub review_reason: Option<String>,
    pub cancel_reason: Option<String>,
    pub checkout_url: Option<String>,
    pub payment_flow: String,
    pub paid_at: Option<i64>,
    pub cancelled_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// A company's order (sent from a draft), and who pays it.
    #[serde(default)]
    pub company_id: Option<String>,
    #[serde(default)]
    pub billing_contact_id: Option<String>,
    #[serde(default)]
    pub billing_address_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct OrderItemRow {
    pub id: String,
    pub order_id: String,
    pub variant_id: String,
    pub product_id: String,
    pub title: String,
    pub variant_title: String,
    pub sku: String,
    pub kind: VariantKind,
    #[serde(deserialize_with = "json_column")]
    pub options: BTreeMap<String, String>,
    pub unit_price: i64,
    pub quantity: i64,
    pub currency: String,
    pub price_source: String,
}

/// Refund totals of an order, from the ledger.
#[derive(Debug, Clone, Deserialize, Default, schemars::JsonSchema)]
pub struct LedgerTotals {
    pub captured: i64,
    pub refunded: i64,
}

/// A new pending order, written only while its cart is still active and unchanged since it
/// was priced (`cart_updated_at`); the partial unique index `orders_cart_pending` keeps one
/// unpaid order per cart when two checkouts race.
pub fn insert_order(o: &OrderRow, cart_updated_at: i64) -> Stmt {
    stmt!(
        "INSERT INTO orders (id, store_id, order_number, customer_id, email, cart_id, status, financial_status, currency, \
            subtotal_amount, discount_amount, shipping_amount, tax_amount, total_amount, shipping_address, payment_flow, created_at, updated_at) \
         SELECT ?, ?, ?, ?, ?, ?, 'pending', 'unpaid', ?, ?, 0, ?, 0, ?, ?, ?, ?, ? \
         WHERE EXISTS (SELECT 1 FROM carts WHERE id = ? AND status = 'active' AND updated_at = ?)",
        &o.id,
        &o.store_id,
        &o.order_number,
        &o.customer_id,
        &o.email,
        &o.cart_id,
        &o.currency,
        o.subtotal_amount,
        o.shipping_amount,
        o.total_amount,
        &o.shipping_address,
        &o.payment_flow,
        o.created_at,
        o.updated_at,
        &o.cart_id,
        cart_updated_at,
    )
}

/// An item snapshot, written only if its order was (same batch, after [`insert_order`]).
pub fn insert_item(it: &OrderItemRow, now: i64) -> Stmt {
    stmt!(
        "INSERT INTO order_items (id, order_id, variant_id, product_id, title, variant_title, sku, kind, options, unit_price, quantity, currency, \
            price_source, price_source_ids, fulfillment_provider, digital_asset_key, created_at) \
         SELECT ?, ?, v.id, v.product_id, ?, ?, ?, ?, ?, ?, ?, ?, 'pricebook_global', json_object('variant_id', v.id), v.fulfillment_provider, v.digital_asset_key, ? \
         FROM variants v WHERE v.id = ? AND EXISTS (SELECT 1 FROM orders WHERE id = ?)",
        &it.id,
        &it.order_id,
        &it.title,
        &it.variant_title,
        &it.sku,
        it.kind.as_str(),
        serde_json::to_string(&it.options).unwrap_or_else(|_| "{}".into()),
        it.unit_price,
        it.quantity,
        &it.currency,
        now,
        &it.variant_id,
        &it.order_id,
    )
}

/// The cart becomes checked out with its order (same batch, after [`insert_order`]).
pub fn check_out_cart(cart_id: &str, order_id: &str, now: i64) -> Stmt {
    stmt!(
        "UPDATE carts SET status = 'checked_out', updated_at = ? WHERE id = ? AND status = 'active' AND EXISTS (SELECT 1 FROM orders WHERE id = ?)",
        now,
        cart_id,
        order_id
    )
}

const ORDER_COLUMNS: &str = "id, store_id, order_number, customer_id, email, cart_id, status, financial_status, currency, subtotal_amount, \
    discount_amount, shipping_amount, tax_amount, total_amount, stripe_checkout_session_id, stripe_payment_intent_id, stripe_customer_id, \
    promo_code, shipping_address, review_reason, cancel_reason, checkout_url, payment_flow, paid_at, cancelled_at, created_at, updated_at, \
    company_id, billing_contact_id, billing_address_id";

pub async fn order_by_id(db: &impl Db, id: &str) -> Result<Option<OrderRow>, DbError> {
    db.first(stmt!(
        format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = ?"),
        id
    ))
    .await
}

/// `WITH found AS (…) `: the order with this id (and in this store, when one is given),
/// else the one with this Checkout Session, else the one with this PaymentIntent — one
/// indexed lookup each. Follow it with a query that reads `found`.
pub fn found_order(
    id: Option<&str>,
    store_id: Option<&str>,
    session: Option<&str>,
    intent: Option<&str>,
) -> Stmt {
    stmt!(
        "WITH found AS (SELECT * FROM (\
            SELECT 1 AS preference, * FROM orders WHERE id = ?1 AND (?2 IS NULL OR store_id = ?2) \
            UNION ALL SELECT 2, * FROM orders WHERE stripe_checkout_session_id = ?3 \
            UNION ALL SELECT 3, * FROM orders WHERE stripe_payment_intent_id = ?4) \
         ORDER BY preference LIMIT 1) ",
        id,
        store_id,
        session,
        intent
    )
}

/// The order a [`found_order`] statement names.
pub fn select_found(found: &Stmt) -> Stmt {
    Stmt {
        sql: format!("{}SELECT {ORDER_COLUMNS} FROM found", found.sql),
        params: found.params.clone(),
    }
}

pub async fn order_by_number(
    db: &impl Db,
    store_id: &str,
    number: &str,
) -> Result<Option<OrderRow>, DbError> {
    db.first(stmt!(
        format!("SELECT {ORDER_COLUMNS} FROM orders WHERE order_number = ? AND store_id = ?"),
        number,
        store_id
    ))
    .await
}

pub async fn order_by_payment_intent(
    db: &impl Db,
    payment_intent: &str,
) -> Result<Option<OrderRow>, DbError> {
    db.first(stmt!(
        format!("SELECT {ORDER_COLUMNS} FROM orders WHERE stripe_payment_intent_id = ?"),
        payment_intent
    ))
    .await
}

pub async fn order_by_session(db: &impl Db, session: &str) -> Result<Option<OrderRow>, DbError> {
    db.first(stmt!(
        format!("SELECT {ORDER_COLUMNS} FROM orders WHERE stripe_checkout_session_id = ?"),
        session
    ))
    .await
}

pub async fn pending_order_of_cart(
    db: &impl Db,
    cart_id: &str,
) -> Result<Option<OrderRow>, DbError> {
    db.first(stmt!(
        format!("SELECT {ORDER_COLUMNS} FROM orders WHERE cart_id = ? AND status = 'pending'"),
        cart_id
    ))
    .await
}

/// The customer's newest unpaid order whose cart was checked out (no newer cart since).
pub async fn pending_order_of_customer(
    db: &impl Db,
    store_id: &str,
    customer_id: &str,
) -> Result<Option<OrderRow>, DbError> {
    db.first(stmt!(
        format!("SELECT {ORDER_COLUMNS} FROM orders WHERE store_id = ? AND customer_id = ? AND status = 'pending' ORDER BY id DESC LIMIT 1"),
        store_id,
        customer_id
    ))
    .await
}

/// A customer's orders, newest first, after the keyset cursor.
pub async fn customer_orders(
    db: &impl Db,
    store_id: &str,
    customer_id: &str,
    before_id: Option<&str>,
    limit: u32,
) -> Result<Vec<OrderRow>, DbError> {
    db.query(stmt!(
        format!("SELECT {ORDER_COLUMNS} FROM orders WHERE store_id = ? AND customer_id = ? AND id < ? ORDER BY id DESC LIMIT ?"),
        store_id,
        customer_id,
        before_id.unwrap_or("~"),
        limit
    ))
    .await
}

/// A company contact's orders in the storefront: their own as a customer and their
/// company's (all of them, or those they are the billing contact of), newest first.
pub async fn member_orders(
    db: &impl Db,
    store_id: &str,
    customer_id: Option<&str>,
    company_id: &str,
    only_billing_contact: Option<&str>,
    before_id: Option<&str>,
    limit: u32,
) -> Result<Vec<OrderRow>, DbError> {
    db.query(stmt!(
        format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE id IN ( \
               SELECT id FROM orders WHERE store_id = ? AND customer_id = ? \
               UNION ALL \
               SELECT id FROM orders WHERE company_id = ? AND store_id = ? AND (? IS NULL OR billing_contact_id = ?) \
             ) AND id < ? ORDER BY id DESC LIMIT ?"
        ),
        store_id,
        customer_id.unwrap_or(""),
        company_id,
        store_id,
        only_billing_contact,
        only_billing_contact,
        before_id.unwrap_or("~"),
        limit
    ))
    .await
}

pub fn items_stmt(order_id: &str) -> Stmt {
    stmt!(
        "SELECT id, order_id, variant_id, product_id, title, variant_title, sku, kind, options, unit_price, quantity, currency, price_source \
         FROM order_items WHERE order_id = ? ORDER BY rowid",
        order_id
    )
}

pub async fn items(db: &impl Db, order_id: &str) -> Result<Vec<OrderItemRow>, DbError> {
    db.query(items_stmt(order_id)).await
}

pub async fn ledger_totals(db: &impl Db, order_id: &str) -> Result<LedgerTotals, DbError> {
    Ok(db
        .first(stmt!(
            "SELECT COALESCE(SUM(CASE WHEN kind = 'capture' AND status = 'succeeded' THEN amount END), 0) AS captured, \
                    COALESCE(SUM(CASE WHEN kind = 'refund' AND status IN ('pending', 'succeeded') THEN amount END), 0) AS refunded \
             FROM payments WHERE order_id = ?",
            order_id
        ))
        .await?
        .unwrap_or_default())
}

pub fn set_checkout_session(order_id: &str, session_id: &str, url: &str, now: i64) -> Stmt {
    stmt!(
        "UPDATE orders SET stripe_checkout_session_id = ?, checkout_url = ?, updated_at = ? WHERE id = ? AND stripe_checkout_session_id IS NULL",
        session_id,
        url,
        now,
        order_id
    )
}

pub fn set_payment_intent(order_id: &str, payment_intent: &str, now: i64) -> Stmt {
    stmt!(
        "UPDATE orders SET stripe_payment_intent_id = ?, updated_at = ? WHERE id = ? AND stripe_payment_intent_id IS NULL",
        payment_intent,
        now,
        order_id
    )
}

/// A domain event with a deterministic id, written only when `guard_sql` (an `EXISTS`
/// condition on the state the batch leaves) holds.
pub fn domain_event(
    id: &str,
    store_id: &str,
    order_id: &str,
    kind: &str,
    payload: &serde_json::Value,
    now: i64,
    guard: Stmt,
) -> Stmt {
    stmt!(
        "INSERT INTO domain_events (id, store_id, aggregate_type, aggregate_id, type, payload, created_at) \
         SELECT ?, ?, 'order', ?, ?, ?, ?",
        id,
        store_id,
        order_id,
        kind,
        payload.to_string(),
        now
    )
    .when(&guard)
    .or_nothing()
}

/// Cancels a pending order and gives its cart back to the shopper (unless a customer has
/// started another cart since), with a timeline entry; no-ops once the order left pending.
pub fn cancel_pending(store_id: &str, order_id: &str, reason: &str, now: i64) -> Vec<Stmt> {
    cancel_pending_batch(store_id, order_id, reason, now)
        .into_parts()
        .0
}

/// [`cancel_pending`], decided by the order leaving `pending`.
pub fn cancel_pending_batch(store_id: &str, order_id: &str, reason: &str, now: i64) -> Batch {
    let mut batch = Batch::default();
    batch.push(
        stmt!(
            "UPDATE carts SET status = 'active', updated_at = ?, last_activity_at = ? \
             WHERE id = (SELECT cart_id FROM orders WHERE id = ? AND status = 'pending') AND status = 'checked_out' \
               AND (customer_id IS NULL OR NOT EXISTS (SELECT 1 FROM carts c2 WHERE c2.store_id = carts.store_id \
                    AND c2.customer_id = carts.customer_id AND c2.status = 'active'))",
            now,
            now,
            order_id
        ),
    );
    batch.push_deciding(stmt!(
        "UPDATE orders SET status = 'cancelled', cancel_reason = ?, cancelled_at = ?, updated_at = ? WHERE id = ? AND status = 'pending'",
        reason,
        now,
        now,
        order_id
    ));
    batch.push(domain_event(
        &format!("order.cancelled:{order_id}"),
        store_id,
        order_id,
        "order.cancelled",
        &serde_json::json!({ "reason": reason }),
        now,
        stmt!(
            "EXISTS (SELECT 1 FROM orders WHERE id = ? AND status = 'cancelled')",
            order_id
        ),
    ));
    batch
}
