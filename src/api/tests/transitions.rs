//! The state tables are the one source of truth: the database refuses every change of a
//! stored state that its table does not list, and the migrations hold exactly the
//! triggers the tables make.

mod support;

use lading_core::sql::transitions::{MACHINES, StoredMachine, check_migrations, trigger_sql};
use lading_core::sqlite::migrations_dir;
use support::*;

fn migrations() -> Vec<String> {
    let mut files: Vec<_> = std::fs::read_dir(migrations_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect()
}

/// The migrations hold, for every stored machine, the trigger its table makes today; a
/// table with an edge the migrations do not allow (or one fewer) fails the check.
#[test]
fn the_migrations_enforce_exactly_the_transition_tables() {
    let files = migrations();
    check_migrations(MACHINES, &files).unwrap_or_else(|e| panic!("{e}"));
    // Mutations: a table that gained an edge, and one that lost one.
    fn with_forbidden_edge() -> Vec<(&'static str, &'static str)> {
        let mut e = (MACHINES[0].edges)();
        e.push(("abandoned", "active"));
        e
    }
    fn with_an_edge_dropped() -> Vec<(&'static str, &'static str)> {
        (MACHINES[1].edges)().into_iter().skip(1).collect()
    }
    for (edges, name) in [
        (with_forbidden_edge as fn() -> _, "carts"),
        (with_an_edge_dropped, "orders"),
    ] {
        let mutated = [StoredMachine {
            table: name,
            column: "status",
            edges,
        }];
        let err = check_migrations(&mutated, &files).unwrap_err();
        assert!(
            err.contains(&format!("{name}.status: the migrations' trigger is stale")),
            "{err}"
        );
    }
}

/// Every edge of every table passes the database, and every pair of states that is not an
/// edge is refused — whatever statement tries it — leaving the row as it was.
#[test]
fn the_database_refuses_every_change_the_tables_do_not_list() {
    use lading_core::domain::{
        AgreementStatus, AutomationStepStatus, CartStatus, FinancialStatus, FulfillmentStatus,
        InvoiceStatus, OrderStatus, ShipmentStatus, StateMachine,
    };
    fn names<M: StateMachine>() -> Vec<&'static str> {
        M::ALL.iter().map(|s| s.name()).collect()
    }
    let p = TestPlatform::new();
    let s = create_store(&p, "ST");
    let (_, variants) = product(&p, &s, "poster", 2000);
    let order = paid_order(&p, &s, &[&variants[0]], "ada@example.com", "st1", None);
    let order_id = order["id"].as_str().unwrap().to_owned();
    let fo_id = p.text(&format!(
        "SELECT id FROM fulfillment_orders WHERE order_id = '{order_id}'"
    ));
    let cart_id = p.text(&format!(
        "SELECT cart_id FROM orders WHERE id = '{order_id}'"
    ));
    p.exec(&format!(
        "INSERT INTO shipments (id, store_id, fulfillment_order_id, external_id, status, created_at, updated_at) VALUES ('shp_t', '{}', '{fo_id}', 'ext_1', 'draft', 0, 0)",
        s.id
    ));
    p.exec(&format!(
        "INSERT INTO companies (id, store_id, name, currency, created_at, updated_at) VALUES ('co_t', '{0}', 'ACME', 'USD', 0, 0); \
         INSERT INTO price_agreements (id, store_id, company_id, name, currency, created_at, updated_at) VALUES ('pa_t', '{0}', 'co_t', 'A', 'USD', 0, 0); \
         INSERT INTO invoices (id, store_id, company_id, currency, number, sequence_number, void_reason, created_by, created_at, updated_at) \
             VALUES ('inv_t', '{0}', 'co_t', 'USD', 'INV-T', 1, 'a test', 'test', 0, 0); \
         INSERT INTO automation_steps (id, store_id, shipment_id, fulfillment_order_line_id, scenario, max_attempts, created_at, updated_at) \
             SELECT 'step_t', '{0}', 'shp_t', id, 'install', 3, 0, 0 FROM fulfillment_order_lines WHERE fulfillment_order_id = '{fo_id}' LIMIT 1",
        s.id
    ));
    let rows = [
        ("carts", "status", cart_id.as_str(), names::<CartStatus>()),
        (
            "orders",
            "status",
            order_id.as_str(),
            names::<OrderStatus>(),
        ),
        (
            "orders",
            "financial_status",
            order_id.as_str(),
            names::<FinancialStatus>(),
        ),
        (
            "fulfillment_orders",
            "status",
            fo_id.as_str(),
            names::<FulfillmentStatus>(),
        ),
        ("shipments", "status", "shp_t", names::<ShipmentStatus>()),
        (
            "price_agreements",
            "status",
            "pa_t",
            names::<AgreementStatus>(),
        ),
        ("invoices", "status", "inv_t", names::<InvoiceStatus>()),
        (
            "automation_steps",
            "status",
            "step_t",
            names::<AutomationStepStatus>(),
        ),
    ];
    let mut refused = 0usize;
    let mut allowed = 0usize;
    for (table, column, id, states) in rows {
        let machine = MACHINES
            .iter()
            .find(|m| m.table == table && m.column == column)
            .unwrap();
        let edges = (machine.edges)();
        for from in &states {
            for to in states.iter().filter(|t| *t != from) {
                // Put the row in `from` without the trigger, then try the change with it.
                let set =
                    |v: &str| format!("UPDATE {table} SET {column} = '{v}' WHERE id = '{id}'");
                let conn = p.db.conn();
                conn.execute_batch(&format!("DROP TRIGGER {}", machine.trigger_name()))
                    .unwrap();
                conn.execute_batch(&set(from)).unwrap();
                conn.execute_batch(&trigger_sql(machine)).unwrap();
                let result = conn.execute_batch(&set(to));
                let now: String = conn
                    .query_row(
                        &format!("SELECT {column} FROM {table} WHERE id = '{id}'"),
                        [],
                        |r| r.get(0),
                    )
                    .unwrap();
                drop(conn);
                if edges.contains(&(*from, *to)) {
                    assert!(
                        result.is_ok(),
                        "{table}.{column} {from} -> {to} is an edge: {result:?}"
                    );
                    assert_eq!(&now, to);
                    allowed += 1;
                } else {
                    let err = result
                        .expect_err(&format!("{table}.{column} {from} -> {to} is not an edge"));
                    assert!(
                        err.to_string()
                            .contains(&format!("state transition refused: {table}.{column}")),
                        "{err}"
                    );
                    assert_eq!(&now, from, "a refused change leaves the row as it was");
                    refused += 1;
                }
            }
        }
    }
    let edges: usize = MACHINES.iter().map(|m| (m.edges)().len()).sum();
    assert_eq!(allowed, edges);
    // Every ordered pair of distinct states (4, 8, 4, 12, 5, 3, 5 and 5 states) that is no edge.
    assert_eq!(
        refused,
        4 * 3 + 8 * 7 + 4 * 3 + 12 * 11 + 5 * 4 + 3 * 2 + 5 * 4 + 5 * 4 - edges
    );
}

/// A refused change inside a batch rolls the whole batch back, and the storage port
/// reports it as a constraint, not an outage.
#[test]
fn a_batch_with_a_forbidden_change_writes_nothing() {
    use lading_core::db::{Db, DbError};
    use lading_core::stmt;
    let p = TestPlatform::new();
    let s = create_store(&p, "SB");
    let (_, variants) = product(&p, &s, "poster", 2000);
    let order = paid_order(&p, &s, &[&variants[0]], "ada@example.com", "sb1", None);
    let before = p.contents();
    let err = run(p.db.batch(vec![
        stmt!(
            "UPDATE orders SET cancel_reason = 'x' WHERE id = ?",
            order["id"].as_str().unwrap()
        ),
        // paid -> pending: never an edge.
        stmt!(
            "UPDATE orders SET status = 'pending' WHERE id = ?",
            order["id"].as_str().unwrap()
        ),
    ]))
    .unwrap_err();
    assert!(
        matches!(&err, DbError::Constraint(m) if m.contains("state transition refused: orders.status")),
        "{err:?}"
    );
    assert_eq!(p.contents(), before);
}
