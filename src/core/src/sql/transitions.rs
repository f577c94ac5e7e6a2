//! Where each state machine is stored, and the triggers that make the database refuse any
//! change of a stored state that its transition table does not list — whatever SQL
//! attempts it, in tests (SQLite) and in production (D1) alike.
//!
//! The triggers live in `migrations/`; a test compares the newest definition of each one
//! there with [`trigger_sql`], so changing a table without a migration fails the build's
//! tests, and a statement that moves a state along an unlisted edge fails when it runs.

use crate::domain::{
    AgreementStatus, AutomationStepStatus, CartStatus, FinancialStatus, FulfillmentStatus,
    InvoiceStatus, OrderStatus, ShipmentStatus, StateMachine,
};

/// A state machine kept in one column of one table.
pub struct StoredMachine {
    pub table: &'static str,
    pub column: &'static str,
    pub edges: fn() -> Vec<(&'static str, &'static str)>,
}

/// Every stored state machine.
pub const MACHINES: &[StoredMachine] = &[
    StoredMachine {
        table: "carts",
        column: "status",
        edges: CartStatus::edges,
    },
    StoredMachine {
        table: "orders",
        column: "status",
        edges: OrderStatus::edges,
    },
    StoredMachine {
        table: "orders",
        column: "financial_status",
        edges: FinancialStatus::edges,
    },
    StoredMachine {
        table: "fulfillment_orders",
        column: "status",
        edges: FulfillmentStatus::edges,
    },
    StoredMachine {
        table: "shipments",
        column: "status",
        edges: ShipmentStatus::edges,
    },
    StoredMachine {
        table: "price_agreements",
        column: "status",
        edges: AgreementStatus::edges,
    },
    StoredMachine {
        table: "invoices",
        column: "status",
        edges: InvoiceStatus::edges,
    },
    StoredMachine {
        table: "automation_steps",
        column: "status",
        edges: AutomationStepStatus::edges,
    },
];

/// What the database answers when a statement tries an unlisted change.
pub const REFUSED: &str = "state transition refused";

/// What the database answers when a write would make a price ambiguous (two active books
/// or agreements for one place, currency and instant: `migrations/0011_pricing.sql`).
pub const AMBIGUOUS: &str = "ambiguous pricing";

impl StoredMachine {
    pub fn trigger_name(&self) -> String {
        format!("{}_{}_transitions", self.table, self.column)
    }
}

/// The trigger that refuses every change of `m`'s column outside its table.
pub fn trigger_sql(m: &StoredMachine) -> String {
    let (t, c) = (m.table, m.column);
    let allowed = (m.edges)()
        .iter()
        .map(|(f, to)| format!("'{f}>{to}'"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "CREATE TRIGGER {name} BEFORE UPDATE OF {c} ON {t}\n\
         WHEN NEW.{c} IS NOT OLD.{c} AND (OLD.{c} || '>' || NEW.{c}) NOT IN ({allowed})\n\
         BEGIN\n    SELECT RAISE(ABORT, '{REFUSED}: {t}.{c}');\nEND;",
        name = m.trigger_name()
    )
}

/// Checks that the newest definition of every machine's trigger in `migrations` (the
/// files' texts, in order) is the one its table makes today.
///
/// # Errors
/// Each trigger that is missing or stale, with the SQL a new migration should hold.
pub fn check_migrations(machines: &[StoredMachine], migrations: &[String]) -> Result<(), String> {
    let all = migrations.join("\n");
    let mut problems = Vec::new();
    for m in machines {
        let head = format!("CREATE TRIGGER {} ", m.trigger_name());
        let newest = all.rfind(&head).and_then(|at| {
            let rest = &all[at..];
            rest.find("END;").map(|end| &rest[..end + "END;".len()])
        });
        let want = trigger_sql(m);
        if newest != Some(want.as_str()) {
            problems.push(format!(
                "{}.{}: the migrations' trigger is {}; add a migration with\nDROP TRIGGER IF EXISTS {};\n{want}",
                m.table,
                m.column,
                if newest.is_some() { "stale" } else { "missing" },
                m.trigger_name()
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n\n"))
    }
}
