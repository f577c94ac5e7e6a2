//! The rusqlite adapter keeps the storage port's contract on the real migrations.

mod support;

use lading_core::db::{Db, DbError, DbExt};
use lading_core::stmt;
use support::{TestPlatform, run};

#[test]
fn the_migrations_apply_to_a_fresh_sqlite() {
    let p = TestPlatform::new();
    let tables: Vec<String> = p.row_counts().into_iter().map(|(n, _)| n).collect();
    for t in [
        "stores",
        "publishable_keys",
        "admin_keys",
        "products",
        "variants",
        "provider_mappings",
        "carts",
        "cart_items",
        "idempotency_keys",
        "customers",
    ] {
        assert!(tables.contains(&t.to_string()), "missing table {t}");
    }
}

#[test]
fn a_batch_is_all_or_nothing() {
    let p = TestPlatform::new();
    let now = 1i64;
    let ok = stmt!(
        "INSERT INTO stores (id, name, order_prefix, currency, created_at, updated_at) VALUES ('s1', 'A', 'AA', 'USD', ?, ?)",
        now,
        now
    );
    let dup = ok.clone();
    let err = run(p.db.batch(vec![ok.clone(), dup])).unwrap_err();
    assert!(matches!(err, DbError::Unique(_)), "{err:?}");
    assert_eq!(
        p.count("SELECT COUNT(*) FROM stores"),
        0,
        "the first insert must be rolled back"
    );
    assert_eq!(run(p.db.batch(vec![ok])).unwrap()[0].changes, 1);
}

#[test]
fn unique_and_check_failures_are_typed() {
    let p = TestPlatform::new();
    run(p.db.run(stmt!("INSERT INTO stores (id, name, order_prefix, currency, created_at, updated_at) VALUES ('s1', 'A', 'AA', 'USD', 1, 1)"))).unwrap();
    let e = run(p.db.run(stmt!("INSERT INTO stores (id, name, order_prefix, currency, created_at, updated_at) VALUES ('s1', 'B', 'BB', 'USD', 1, 1)"))).unwrap_err();
    assert!(
        matches!(e, DbError::Unique(ref m) if m.contains("stores.id")),
        "{e:?}"
    );
    let e = run(p.db.run(stmt!("INSERT INTO admin_keys (id, store_id, key_hash, key_prefix, role, label, created_at) VALUES ('k', 's1', 'h', 'p', 'owner', 'l', 1)"))).unwrap_err();
    assert!(matches!(e, DbError::Constraint(_)), "{e:?}");
}

#[test]
fn integers_come_back_as_integers() {
    let p = TestPlatform::new();
    assert_eq!(run(p.db.scalar_i64(stmt!("SELECT 1 + 1 AS n"))).unwrap(), 2);
    let rows = run(p.db.all(stmt!("SELECT 7 AS n, 'x' AS s, NULL AS z"))).unwrap();
    assert_eq!(rows[0]["n"], serde_json::json!(7));
    assert!(rows[0]["z"].is_null());
}

#[test]
fn storefront_and_sweep_queries_use_indexes() {
    let p = TestPlatform::new();
    let conn = p.db.conn();
    for sql in [
        "SELECT * FROM products WHERE store_id = 'x' AND status = 'active' AND id > 'a' ORDER BY id LIMIT 21",
        "UPDATE carts SET status = 'abandoned' WHERE status = 'active' AND last_activity_at < 5",
        "SELECT * FROM variants WHERE product_id IN ('a', 'b') AND status = 'active' ORDER BY product_id, position, id",
        "SELECT * FROM cart_items WHERE cart_id = 'c'",
    ] {
        let mut st = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let plan: Vec<String> = st
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(
            plan.iter()
                .all(|l| !l.starts_with("SCAN ") || l.contains("USING")),
            "full scan in `{sql}`: {plan:?}"
        );
    }
}
