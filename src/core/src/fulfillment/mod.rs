//! Fulfillment: a paid order's physical items are routed to providers in the
//! batch that pays it; each fulfillment order travels outbox → queue → consumer, which
//! claims it, submits it once (idempotency reference = our id) and records the result;
//! provider webhooks and polling bring back statuses and parcels.

pub mod admin;
pub mod cancel;
pub mod dispatch;
pub mod events;
pub mod poll;
pub mod providers;
pub mod recover;
pub mod routing;
pub mod submit;
pub mod webhooks;

use crate::db::{DbError, Stmt};
use crate::domain::{FulfillmentStatus, ProviderCode};
use crate::ports::{Platform, PlatformExt};
use crate::queue::Message;
use crate::sql::orders::OrderRow;
use crate::stmt;
use routing::{Group, PreferredProvider, RoutableItem, route};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct FulfillmentOrderRow {
    pub id: String,
    pub store_id: String,
    pub order_id: String,
    pub provider: ProviderCode,
    pub status: FulfillmentStatus,
    pub external_id: Option<String>,
    pub cost_estimated: Option<i64>,
    pub cost_actual: Option<i64>,
    pub currency: String,
    pub error: Option<String>,
    pub attempts: i64,
    pub lease_until: Option<i64>,
    pub submit_started: i64,
    pub submitted_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

pub const FO_COLUMNS: &str = "id, store_id, order_id, provider, status, external_id, cost_estimated, cost_actual, currency, error, \
    attempts, lease_until, submit_started, submitted_at, created_at, updated_at";

/// The order's items with their provider mappings, and its store, for routing (one round
/// trip: this runs on the payment webhook's path).
///
/// # Errors
/// Storage failures.
pub async fn routing_inputs<P: Platform>(
    p: &P,
    order_id: &str,
    store_id: &str,
) -> Result<(Vec<RoutableItem>, Option<crate::sql::stores::StoreRow>), DbError> {
    use crate::db::Db as _;
    let found = stmt!(
        "WITH found AS (SELECT ? AS id, ? AS store_id) ",
        order_id,
        store_id
    );
    routing_inputs_of(p.db().batch(routing_reads(&found)).await?)
}

/// The reads [`routing_inputs`] makes, for the order that `found` (a statement
/// `WITH found AS (…)` giving its `id` and `store_id`) names, so they can join another
/// round trip.
pub fn routing_reads(found: &Stmt) -> Vec<Stmt> {
    let after = |sql: &str| Stmt {
        sql: format!("{}{sql}", found.sql),
        params: found.params.clone(),
    };
    vec![
        after(
            "SELECT oi.id, oi.variant_id, oi.quantity, oi.kind, oi.fulfillment_provider, \
                (SELECT json_group_array(json_object('provider', pm.provider, 'external_variant_id', pm.external_variant_id, 'cost', pm.cost_amount)) \
                 FROM provider_mappings pm WHERE pm.variant_id = oi.variant_id) AS mappings \
             FROM order_items oi WHERE oi.order_id = (SELECT id FROM found) ORDER BY oi.rowid",
        ),
        after("SELECT * FROM stores WHERE id = (SELECT store_id FROM found)"),
    ]
}

/// Decodes the results of [`routing_reads`].
///
/// # Errors
/// Rows that do not decode.
pub fn routing_inputs_of(
    results: Vec<crate::db::StmtResult>,
) -> Result<(Vec<RoutableItem>, Option<crate::sql::stores::StoreRow>), DbError> {
    let mut res = results.into_iter();
    let items = res
        .next()
        .map(|r| {
            r.rows
                .into_iter()
                .map(crate::db::decode)
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    let store = res
        .next()
        .and_then(|r| r.rows.into_iter().next())
        .map(crate::db::decode)
        .transpose()?;
    Ok((items, store))
}

/// Statements that create the order's fulfillment orders, their lines and one outbox
/// message each — run only when `paid_guard` (an SQL condition) holds, and once per
/// (order, provider) whatever runs them again. Returns the statements and the outbox ids.
pub fn routing_statements<P: Platform>(
    p: &P,
    order: &OrderRow,
    items: &[RoutableItem],
    store_default: Option<ProviderCode>,
    paid_guard: &Stmt,
) -> (Vec<Stmt>, Vec<String>) {
    let now = p.now_ms();
    let mut statements = Vec::new();
    let mut outbox = Vec::new();
    // A company's order ships from the seller's warehouse unless a variant names its own
    // provider: operators build its parcels (seed 001 §2.4).
    let store_default = if order.company_id.is_some() {
        Some(ProviderCode::Warehouse)
    } else {
        store_default
    };
    for Group {
        provider,
        lines,
        cost_estimated,
    } in route(&PreferredProvider, items, store_default)
    {
        let fo_id = p.new_id("fo");
        statements.push(
            stmt!(
                "INSERT INTO fulfillment_orders (id, store_id, order_id, provider, status, currency, cost_estimated, created_at, updated_at) \
                 SELECT ?, ?, ?, ?, 'pending', ?, ?, ?, ?",
                &fo_id,
                &order.store_id,
                &order.id,
                provider.as_str(),
                &order.currency,
                cost_estimated,
                now,
                now
            )
            .when(paid_guard)
            .or_nothing(),
        );
        for (item, external) in &lines {
            statements.push(stmt!(
                "INSERT INTO fulfillment_order_lines (id, fulfillment_order_id, order_item_id, external_variant_id, quantity, remaining_quantity) \
                 SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM fulfillment_orders WHERE id = ?) ON CONFLICT DO NOTHING",
                format!("fol_{}", item.id),
                &fo_id,
                &item.id,
                external,
                item.quantity,
                item.quantity,
                &fo_id
            ));
        }
        let message = Message::Fulfil {
            fulfillment_order_id: fo_id.clone(),
            provider: provider.as_str().into(),
            store_id: order.store_id.clone(),
        };
        let outbox_id = format!("fulfil:{fo_id}");
        statements.push(stmt!(
            "INSERT INTO outbox (id, store_id, kind, payload, created_at) \
             SELECT ?, ?, 'fulfil', ?, ? WHERE EXISTS (SELECT 1 FROM fulfillment_orders WHERE id = ?) ON CONFLICT DO NOTHING",
            &outbox_id,
            &order.store_id,
            serde_json::to_string(&message).unwrap_or_default(),
            now,
            &fo_id
        ));
        outbox.push(outbox_id);
    }
    (statements, outbox)
}

/// The order's status derived from all of its fulfillment orders: delivered when
/// all are, shipped when all have shipped, partially shipped when some parcel left,
/// processing once any is at a provider. Only moves forward from paid/processing, one
/// step per update: the update runs three times (paid → processing → shipped → delivered
/// is the longest path one change can open), each step one the transition table allows.
pub fn derive_order_status(order_id: &str, now: i64) -> Vec<Stmt> {
    let step = stmt!(
        "UPDATE orders SET status = COALESCE(( \
            SELECT CASE \
              WHEN orders.status = 'shipped' AND SUM(status = 'delivered') = COUNT(*) THEN 'delivered' \
              WHEN orders.status IN ('processing', 'partially_shipped') AND SUM(status IN ('shipped', 'delivered')) = COUNT(*) THEN 'shipped' \
              WHEN orders.status = 'processing' AND SUM(status IN ('shipped', 'delivered', 'partially_shipped')) > 0 THEN 'partially_shipped' \
              WHEN orders.status = 'paid' AND SUM(status NOT IN ('pending', 'submitting', 'failed')) > 0 THEN 'processing' \
              ELSE orders.status END \
            FROM fulfillment_orders WHERE order_id = orders.id AND status NOT IN ('cancelled')), orders.status), updated_at = ? \
         WHERE id = ? AND status IN ('paid', 'processing', 'partially_shipped', 'shipped') \
           AND EXISTS (SELECT 1 FROM fulfillment_orders WHERE order_id = orders.id AND status NOT IN ('cancelled'))",
        now,
        order_id
    );
    vec![step.clone(), step.clone(), step]
}

/// One of the store's fulfillment orders, or 404.
///
/// # Errors
/// 404 when it is not this store's; storage failures.
pub async fn fo_of_store<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
) -> Result<FulfillmentOrderRow, crate::AppError> {
    use crate::db::DbExt as _;
    p.db()
        .first(crate::stmt!(
            format!("SELECT {FO_COLUMNS} FROM fulfillment_orders WHERE id = ? AND store_id = ?"),
            id,
            store_id
        ))
        .await?
        .ok_or(crate::AppError::NotFound("fulfillment order"))
}
