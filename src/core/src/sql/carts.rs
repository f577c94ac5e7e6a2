use crate::db::{Db, DbError, DbExt, Stmt, json_column};
use crate::domain::{CartStatus, VariantKind};
use crate::stmt;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct CartRow {
    pub id: String,
    pub store_id: String,
    pub customer_id: Option<String>,
    pub status: CartStatus,
    pub currency: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_activity_at: i64,
}

/// A cart line joined with its variant and product as they are now: prices are always
/// read from the catalog, never from the cart.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct CartLine {
    pub id: String,
    pub variant_id: String,
    #[serde(deserialize_with = "json_column")]
    pub options: BTreeMap<String, String>,
    pub quantity: i64,
    pub product_id: String,
    pub product_title: String,
    pub product_slug: String,
    pub variant_title: String,
    pub sku: String,
    pub kind: VariantKind,
    pub price_amount: i64,
    pub currency: String,
    /// 1 when the variant and its product are both active.
    pub available: i64,
}

const CART_COLUMNS: &str =
    "id, store_id, customer_id, status, currency, created_at, updated_at, last_activity_at";

pub fn insert_guest_cart(
    id: &str,
    store_id: &str,
    token_hash: &str,
    currency: &str,
    now: i64,
) -> Stmt {
    stmt!(
        "INSERT INTO carts (id, store_id, token_hash, status, currency, created_at, updated_at, last_activity_at) VALUES (?, ?, ?, 'active', ?, ?, ?, ?)",
        id,
        store_id,
        token_hash,
        currency,
        now,
        now,
        now
    )
}

/// Creates the customer's active cart unless one exists (the partial unique index
/// `carts_active_customer` makes concurrent calls agree on one).
pub fn insert_customer_cart(
    id: &str,
    store_id: &str,
    customer_id: &str,
    currency: &str,
    now: i64,
) -> Stmt {
    stmt!(
        "INSERT INTO carts (id, store_id, customer_id, status, currency, created_at, updated_at, last_activity_at) VALUES (?, ?, ?, 'active', ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        id,
        store_id,
        customer_id,
        currency,
        now,
        now,
        now
    )
}

pub async fn cart_by_token_hash(
    db: &impl Db,
    store_id: &str,
    token_hash: &str,
) -> Result<Option<CartRow>, DbError> {
    db.first(stmt!(
        format!("SELECT {CART_COLUMNS} FROM carts WHERE token_hash = ? AND store_id = ?"),
        token_hash,
        store_id
    ))
    .await
}

pub async fn active_customer_cart(
    db: &impl Db,
    store_id: &str,
    customer_id: &str,
) -> Result<Option<CartRow>, DbError> {
    db.first(stmt!(
        format!("SELECT {CART_COLUMNS} FROM carts WHERE store_id = ? AND customer_id = ? AND status = 'active'"),
        store_id,
        customer_id
    ))
    .await
}

pub async fn lines(db: &impl Db, cart_id: &str) -> Result<Vec<CartLine>, DbError> {
    db.query(lines_stmt(cart_id)).await
}

/// The cart's lines with current catalog data (also placed at the end of write batches so
/// the response needs no second round trip).
pub fn lines_stmt(cart_id: &str) -> Stmt {
    stmt!(
        "SELECT ci.id, ci.variant_id, ci.options, ci.quantity, p.id AS product_id, p.title AS product_title, p.slug AS product_slug, \
                v.title AS variant_title, v.sku, v.kind, v.price_amount, v.currency, \
                (v.status = 'active' AND p.status = 'active') AS available \
         FROM cart_items ci JOIN variants v ON v.id = ci.variant_id JOIN products p ON p.id = v.product_id \
         WHERE ci.cart_id = ? ORDER BY ci.created_at, ci.rowid",
        cart_id
    )
}

pub async fn line_count(db: &impl Db, cart_id: &str) -> Result<i64, DbError> {
    db.scalar_i64(stmt!(
        "SELECT COUNT(*) AS n FROM cart_items WHERE cart_id = ?",
        cart_id
    ))
    .await
}

/// Adds `quantity` to the line for (variant, options), creating it if needed — only while
/// the cart is active and only if the line stays within `max`. Changes 0 rows otherwise.
pub fn add_to_line(
    line_id: &str,
    cart_id: &str,
    variant_id: &str,
    options: &str,
    quantity: i64,
    max: i64,
    now: i64,
) -> Stmt {
    stmt!(
        "INSERT INTO cart_items (id, cart_id, variant_id, options, quantity, created_at, updated_at) \
         SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM carts WHERE id = ? AND status = 'active') \
         ON CONFLICT (cart_id, variant_id, options) DO UPDATE SET quantity = cart_items.quantity + excluded.quantity, updated_at = excluded.updated_at \
         WHERE cart_items.quantity + excluded.quantity <= ?",
        line_id,
        cart_id,
        variant_id,
        options,
        quantity,
        now,
        now,
        cart_id,
        max
    )
}

/// Adds `quantity` of a variant to the cart in one guarded statement: only a variant on sale
/// in the cart's store and currency, only while the cart is active, only if the cart stays
/// within `max_lines` lines and the line within `max` items. Changes 0 rows otherwise; the
/// caller then finds out which rule stopped it.
#[allow(clippy::too_many_arguments)]
pub fn add_sellable_to_line(
    line_id: &str,
    cart_id: &str,
    variant_id: &str,
    options: &str,
    quantity: i64,
    max: i64,
    max_lines: i64,
    now: i64,
) -> Stmt {
    stmt!(
        "INSERT INTO cart_items (id, cart_id, variant_id, options, quantity, created_at, updated_at) \
         SELECT ?, c.id, v.id, ?, ?, ?, ? \
         FROM carts c JOIN variants v ON v.id = ? AND v.store_id = c.store_id AND v.status = 'active' AND v.currency = c.currency \
         JOIN products p ON p.id = v.product_id AND p.status = 'active' \
         WHERE c.id = ? AND c.status = 'active' \
           AND ((SELECT COUNT(*) FROM cart_items WHERE cart_id = ?) < ? \
                OR EXISTS (SELECT 1 FROM cart_items WHERE cart_id = ? AND variant_id = ? AND options = ?)) \
         ON CONFLICT (cart_id, variant_id, options) DO UPDATE SET quantity = cart_items.quantity + excluded.quantity, updated_at = excluded.updated_at \
         WHERE cart_items.quantity + excluded.quantity <= ?",
        line_id,
        options,
        quantity,
        now,
        now,
        variant_id,
        cart_id,
        cart_id,
        max_lines,
        cart_id,
        variant_id,
        options,
        max
    )
}

/// Like [`add_to_line`] but caps at `max` instead of refusing (used by merges), and only
/// while the source cart is still active, so a merge applies once.
pub fn merge_line(
    line_id: &str,
    into_cart: &str,
    from_cart: &str,
    variant_id: &str,
    options: &str,
    quantity: i64,
    max: i64,
    now: i64,
) -> Stmt {
    stmt!(
        "INSERT INTO cart_items (id, cart_id, variant_id, options, quantity, created_at, updated_at) \
         SELECT ?, ?, ?, ?, MIN(?, ?), ?, ? \
         WHERE EXISTS (SELECT 1 FROM carts WHERE id = ? AND status = 'active') AND EXISTS (SELECT 1 FROM carts WHERE id = ? AND status = 'active') \
         ON CONFLICT (cart_id, variant_id, options) DO UPDATE SET quantity = MIN(cart_items.quantity + excluded.quantity, ?), updated_at = excluded.updated_at",
        line_id,
        into_cart,
        variant_id,
        options,
        quantity,
        max,
        now,
        now,
        from_cart,
        into_cart,
        max
    )
}

pub fn set_line_quantity(line_id: &str, cart_id: &str, quantity: i64, now: i64) -> Stmt {
    stmt!(
        "UPDATE cart_items SET quantity = ?, updated_at = ? WHERE id = ? AND cart_id = ? AND EXISTS (SELECT 1 FROM carts WHERE id = ? AND status = 'active')",
        quantity,
        now,
        line_id,
        cart_id,
        cart_id
    )
}

pub fn delete_line(line_id: &str, cart_id: &str) -> Stmt {
    stmt!(
        "DELETE FROM cart_items WHERE id = ? AND cart_id = ? AND EXISTS (SELECT 1 FROM carts WHERE id = ? AND status = 'active')",
        line_id,
        cart_id,
        cart_id
    )
}

pub fn touch(cart_id: &str, now: i64) -> Stmt {
    stmt!(
        "UPDATE carts SET last_activity_at = ?, updated_at = ? WHERE id = ? AND status = 'active'",
        now,
        now,
        cart_id
    )
}

/// Moves an active cart to `to`; changes 0 rows if it was no longer active.
pub fn close(cart_id: &str, to: CartStatus, now: i64) -> Stmt {
    stmt!(
        "UPDATE carts SET status = ?, updated_at = ? WHERE id = ? AND status = 'active'",
        to.as_str(),
        now,
        cart_id
    )
}

/// Marks every cart idle since before `idle_before` abandoned; returns how many.
pub async fn abandon_idle(db: &impl Db, idle_before: i64, now: i64) -> Result<u64, DbError> {
    db.run(stmt!(
        "UPDATE carts SET status = 'abandoned', updated_at = ? WHERE status = 'active' AND last_activity_at < ?",
        now,
        idle_before
    ))
    .await
}
