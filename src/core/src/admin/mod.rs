//! What operators do beyond the catalog: orders (search, export, detail, notes), tracking
//! typed in by hand, customers, promo codes, the fulfillment dashboard and the audit log
//! (the web UI that puts them on pages is in `lading-api`).

pub mod audit;
pub mod files;
pub mod orders;
pub mod promo_codes;
pub mod tracking;
pub mod users;

use crate::db::Stmt;

/// Tables no admin list or search may read whole (and the aliases the queries give them).
pub const BIG_TABLES: &[&str] = &[
    "orders",
    "order_items",
    "fulfillment_orders",
    "domain_events",
    "inbound_events",
    "o",
    "f",
];

/// Every admin list and search query, with each filter alone and together and with a
/// keyset cursor: what the query-plan checks run `EXPLAIN QUERY PLAN` on.
pub fn list_and_search_queries(store_id: &str) -> Vec<(String, Stmt)> {
    use crate::domain::{FinancialStatus, OrderStatus, ProviderCode};
    use orders::{Cursor, OrderFilters, list_query};
    let cursor = Cursor {
        created_at: 1_790_000_000_000,
        id: "ord_x".into(),
    };
    let base = OrderFilters::default();
    let filters = [
        ("newest", base.clone()),
        (
            "status",
            OrderFilters {
                status: Some(OrderStatus::Paid),
                ..base.clone()
            },
        ),
        (
            "financial status",
            OrderFilters {
                financial_status: Some(FinancialStatus::PartiallyRefunded),
                ..base.clone()
            },
        ),
        (
            "provider",
            OrderFilters {
                provider: Some(ProviderCode::Printful),
                ..base.clone()
            },
        ),
        (
            "customer",
            OrderFilters {
                customer_id: Some("cus_1".into()),
                ..base.clone()
            },
        ),
        (
            "date range",
            OrderFilters {
                created_from: Some(1),
                created_to: Some(2),
                ..base.clone()
            },
        ),
        (
            "email",
            OrderFilters {
                q: Some("ada@example.com".into()),
                ..base.clone()
            },
        ),
        (
            "order number",
            OrderFilters {
                q: Some("LAD-2026-4F".into()),
                ..base.clone()
            },
        ),
        (
            "everything",
            OrderFilters {
                status: Some(OrderStatus::Shipped),
                financial_status: Some(FinancialStatus::Paid),
                provider: Some(ProviderCode::Gelato),
                created_from: Some(1),
                created_to: Some(2),
                q: Some("x@y.z".into()),
                ..base.clone()
            },
        ),
    ];
    let mut out = Vec::new();
    for (name, f) in &filters {
        out.push((format!("orders: {name}"), list_query(store_id, f, None, 51)));
        out.push((
            format!("orders: {name}, next page"),
            list_query(store_id, f, Some(&cursor), 51),
        ));
    }
    out.push((
        "users".into(),
        users::list_query(store_id, None, Some(&cursor), 51),
    ));
    out.push((
        "users by email".into(),
        users::list_query(store_id, Some("a@b.c"), None, 51),
    ));
    out.push((
        "promo codes with redemptions".into(),
        promo_codes::list_query(store_id),
    ));
    out.push(("audit log".into(), audit::list_query(store_id, &cursor, 51)));
    out.push((
        "fulfillment dashboard".into(),
        crate::fulfillment::admin::dashboard_counts_query(store_id),
    ));
    out.push((
        "fulfillment orders by status and provider".into(),
        crate::fulfillment::admin::list_query(store_id, Some("failed"), Some("printful"), None, 51),
    ));
    out.push((
        "fulfillment orders, next page".into(),
        crate::fulfillment::admin::list_query(store_id, None, None, Some("fo_x"), 51),
    ));
    out
}
