//! The rusqlite storage adapter: the same SQL and the same migration files as D1, on a
//! real SQLite. Used by the core's tests and native tools.

use crate::db::{Db, DbError, Row, Stmt, StmtResult, Value};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ToSql};
use std::cell::RefCell;
use std::path::{Path, PathBuf};

pub struct SqliteDb {
    conn: RefCell<Connection>,
    /// Calls so far (one per statement run alone, one per batch), as D1 would bill them.
    round_trips: std::cell::Cell<u32>,
}

/// `migrations/` at the repository root.
pub fn migrations_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations")
}

impl SqliteDb {
    /// An in-memory database with every migration applied, in file-name order (as
    /// wrangler applies them).
    ///
    /// # Errors
    /// A migration that SQLite refuses.
    pub fn open_migrated() -> Result<Self, DbError> {
        let conn = Connection::open_in_memory().map_err(err)?;
        conn.execute_batch("PRAGMA foreign_keys = ON;")
            .map_err(err)?;
        let db = SqliteDb {
            round_trips: std::cell::Cell::new(0),
            conn: RefCell::new(conn),
        };
        db.apply_migrations(&migrations_dir())?;
        Ok(db)
    }

    /// # Errors
    /// An unreadable directory or a migration that SQLite refuses.
    pub fn apply_migrations(&self, dir: &Path) -> Result<(), DbError> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| DbError::Unavailable(format!("{}: {e}", dir.display())))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "sql"))
            .collect();
        files.sort();
        for f in files {
            let sql =
                std::fs::read_to_string(&f).map_err(|e| DbError::Unavailable(e.to_string()))?;
            self.conn
                .borrow()
                .execute_batch(&sql)
                .map_err(|e| DbError::Unavailable(format!("{}: {e}", f.display())))?;
        }
        Ok(())
    }

    /// Direct access for tests (`EXPLAIN QUERY PLAN`, counting rows).
    pub fn conn(&self) -> std::cell::Ref<'_, Connection> {
        self.conn.borrow()
    }
}

fn err(e: rusqlite::Error) -> DbError {
    DbError::from_message(&e.to_string())
}

struct Param<'a>(&'a Value);

impl ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Real(f) => ToSqlOutput::Borrowed(ValueRef::Real(*f)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

/// The tables SQLite would read whole for this query (`EXPLAIN QUERY PLAN` lines `SCAN t`
/// for a table or alias in `tables`), with its parameters bound as production binds them.
///
/// # Errors
/// SQL SQLite refuses.
pub fn full_scans(conn: &Connection, q: &Stmt, tables: &[&str]) -> rusqlite::Result<Vec<String>> {
    let params: Vec<Param<'_>> = q.params.iter().map(Param).collect();
    let mut st = conn.prepare(&format!("EXPLAIN QUERY PLAN {}", q.sql))?;
    let lines: Vec<String> = st
        .query_map(rusqlite::params_from_iter(params.iter()), |r| {
            r.get::<_, String>(3)
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(lines
        .into_iter()
        .filter(|l| {
            l.strip_prefix("SCAN ")
                .and_then(|rest| rest.split(' ').next())
                .is_some_and(|t| tables.contains(&t))
        })
        .collect())
}

/// Runs a read: the virtual machine steps it took (about proportional to the rows it
/// visited, as D1's `rows_read` is) and the rows it answered.
///
/// # Errors
/// SQL SQLite refuses.
pub fn steps_and_rows(conn: &Connection, q: &Stmt) -> rusqlite::Result<(i32, usize)> {
    let params: Vec<Param<'_>> = q.params.iter().map(Param).collect();
    let mut st = conn.prepare(&q.sql)?;
    let mut rows = st.query(rusqlite::params_from_iter(params.iter()))?;
    let mut answered = 0;
    while rows.next()?.is_some() {
        answered += 1;
    }
    drop(rows);
    Ok((st.get_status(rusqlite::StatementStatus::VmStep), answered))
}

/// Runs one statement, collecting its rows and (for writes) the rows it changed.
fn exec(conn: &Connection, stmt: &Stmt) -> Result<StmtResult, DbError> {
    let params: Vec<Param<'_>> = stmt.params.iter().map(Param).collect();
    let refs: Vec<&dyn ToSql> = params.iter().map(|p| p as &dyn ToSql).collect();
    let mut st = conn.prepare_cached(&stmt.sql).map_err(err)?;
    let names: Vec<String> = st.column_names().iter().map(|s| (*s).to_owned()).collect();
    let readonly = st.readonly();
    let before = conn.total_changes();
    let mut rows = st.query(refs.as_slice()).map_err(err)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(err)? {
        let mut row = Row::new();
        for (i, name) in names.iter().enumerate() {
            let v = match r.get_ref(i).map_err(err)? {
                ValueRef::Null => serde_json::Value::Null,
                ValueRef::Integer(n) => n.into(),
                ValueRef::Real(f) => f.into(),
                ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned().into(),
                ValueRef::Blob(b) => hex::encode(b).into(),
            };
            row.insert(name.clone(), v);
        }
        out.push(row);
    }
    drop(rows);
    // A write that matched nothing leaves total_changes alone; changes() would repeat the
    // previous write's count.
    let changes = if readonly || conn.total_changes() == before {
        0
    } else {
        conn.changes()
    };
    Ok(StmtResult { changes, rows: out })
}

impl SqliteDb {
    /// Round trips so far: what a use case would cost on D1, where each is latency.
    pub fn round_trips(&self) -> u32 {
        self.round_trips.get()
    }

    fn count(&self) {
        self.round_trips.set(self.round_trips.get() + 1);
    }
}

impl Db for SqliteDb {
    async fn all(&self, stmt: Stmt) -> Result<Vec<Row>, DbError> {
        self.count();
        Ok(exec(&self.conn.borrow(), &stmt)?.rows)
    }

    async fn run(&self, stmt: Stmt) -> Result<u64, DbError> {
        self.count();
        Ok(exec(&self.conn.borrow(), &stmt)?.changes)
    }

    async fn batch(&self, stmts: Vec<Stmt>) -> Result<Vec<StmtResult>, DbError> {
        self.count();
        let mut conn = self.conn.borrow_mut();
        let tx = conn.transaction().map_err(err)?;
        let mut results = Vec::with_capacity(stmts.len());
        for s in &stmts {
            results.push(exec(&tx, s)?);
        }
        tx.commit().map_err(err)?;
        Ok(results)
    }
}
