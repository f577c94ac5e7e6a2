//! The storage port. Both adapters (D1 in the Workers, rusqlite natively) run the same SQL
//! against the same schema (`migrations/`).
//!
//! Rows come back as JSON objects (what D1 gives natively) and are decoded into typed rows
//! with serde, so the SQL modules are written once.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value as Json};

/// A bound SQL parameter. D1 turns every number into a JS number: keep integers well under
/// 2^53 and ids as TEXT.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Int(i64::from(v))
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Real(v)
    }
}

impl From<&Option<String>> for Value {
    fn from(v: &Option<String>) -> Self {
        v.as_deref().into()
    }
}

/// One SQL statement with `?` placeholders (at most 100 parameters: D1's limit).
#[derive(Debug, Clone, PartialEq)]
pub struct Stmt {
    pub sql: String,
    pub params: Vec<Value>,
}

impl Stmt {
    pub fn new(sql: impl Into<String>) -> Self {
        Stmt {
            sql: sql.into(),
            params: Vec::new(),
        }
    }
    /// Appends one parameter.
    #[must_use]
    pub fn bind(mut self, v: impl Into<Value>) -> Self {
        self.params.push(v.into());
        self
    }

    /// Guarded writes: `self` ends where its condition goes (`INSERT … SELECT …` without a
    /// `WHERE`, or with one); [`Stmt::when`] adds `WHERE (guard)` and [`Stmt::and_when`]
    /// `AND (guard)`, each with the guard's parameters after `self`'s — so the text and
    /// its placeholders always line up, and no guard is spliced into the middle of SQL.
    #[must_use]
    pub fn when(self, guard: &Stmt) -> Self {
        self.append(" WHERE (", guard)
    }

    /// See [`Stmt::when`].
    #[must_use]
    pub fn and_when(self, guard: &Stmt) -> Self {
        self.append(" AND (", guard)
    }

    /// An insert that writes nothing when its row exists (the end of a guarded insert).
    #[must_use]
    pub fn or_nothing(mut self) -> Self {
        self.sql.push_str(" ON CONFLICT DO NOTHING");
        self
    }

    fn append(mut self, joint: &str, guard: &Stmt) -> Self {
        self.sql.push_str(joint);
        self.sql.push_str(&guard.sql);
        self.sql.push(')');
        self.params.extend(guard.params.iter().cloned());
        self
    }
}

/// The statements of one atomic batch, of which one may be the deciding one: the guarded
/// state change that every other statement follows. Whether the batch did its work (or a
/// concurrent copy did it first) is whether that statement changed a row.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    statements: Vec<Stmt>,
    deciding: Option<usize>,
}

impl Batch {
    pub fn push(&mut self, s: Stmt) {
        self.statements.push(s);
    }
    pub fn extend(&mut self, s: impl IntoIterator<Item = Stmt>) {
        self.statements.extend(s);
    }
    /// Adds the deciding statement (one per batch: a second replaces the first's role).
    pub fn push_deciding(&mut self, s: Stmt) {
        self.deciding = Some(self.statements.len());
        self.statements.push(s);
    }
    /// The statements to run, and how to read their results.
    pub fn into_parts(self) -> (Vec<Stmt>, Decision) {
        (self.statements, Decision(self.deciding))
    }
}

impl From<Vec<Stmt>> for Batch {
    fn from(statements: Vec<Stmt>) -> Self {
        Batch {
            statements,
            deciding: None,
        }
    }
}

/// Which result of a [`Batch`] decides.
#[derive(Debug, Clone, Copy)]
pub struct Decision(Option<usize>);

impl Decision {
    /// Whether the deciding statement changed a row (true when none decides).
    pub fn made_change(self, results: &[StmtResult]) -> bool {
        self.0
            .is_none_or(|i| results.get(i).is_some_and(|r| r.changes > 0))
    }
}

/// Builds a [`Stmt`]: `stmt!("SELECT … WHERE id = ?", id)`.
#[macro_export]
macro_rules! stmt {
    ($sql:expr $(, $p:expr)* $(,)?) => {
        $crate::db::Stmt::new($sql)$(.bind($p))*
    };
}

pub type Row = Map<String, Json>;

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum DbError {
    /// A UNIQUE or PRIMARY KEY constraint refused the write; the text names the constraint.
    #[error("unique constraint violated: {0}")]
    Unique(String),
    /// A CHECK or FOREIGN KEY constraint refused the write.
    #[error("constraint violated: {0}")]
    Constraint(String),
    /// A row did not have the shape the code expected (a bug or a schema drift).
    #[error("cannot decode row: {0}")]
    Decode(String),
    /// The database is unreachable or failed; retrying may help.
    #[error("database failure: {0}")]
    Unavailable(String),
}

impl DbError {
    /// Classifies a driver error message (SQLite's wording is the same on D1).
    pub fn from_message(msg: &str) -> Self {
        if msg.contains("UNIQUE constraint failed") || msg.contains("PRIMARY KEY constraint failed")
        {
            DbError::Unique(msg.to_owned())
        } else if msg.contains("CHECK constraint failed")
            || msg.contains(crate::sql::transitions::REFUSED)
            || msg.contains(crate::sql::transitions::AMBIGUOUS)
            || msg.contains("FOREIGN KEY constraint failed")
            || msg.contains("NOT NULL constraint failed")
        {
            DbError::Constraint(msg.to_owned())
        } else {
            DbError::Unavailable(msg.to_owned())
        }
    }
}

/// What one statement of a batch did: rows changed, and rows returned (for a `SELECT`
/// placed in the batch to read the state the batch left, in the same round trip).
#[derive(Debug, Clone, Default)]
pub struct StmtResult {
    pub changes: u64,
    pub rows: Vec<Row>,
}

/// The storage port.
///
/// Contracts every adapter MUST keep:
/// - `batch` is atomic: either every statement takes effect or none does, and no other
///   writer sees a state in between.
/// - `run` and `batch` report, per statement, the number of rows it changed; `batch` also
///   returns the rows of each statement that yields any.
/// - Integer columns come back as JSON integers, never as floats.
/// - Constraint failures come back as [`DbError::Unique`] / [`DbError::Constraint`].
pub trait Db {
    /// Runs a query and returns every row.
    async fn all(&self, stmt: Stmt) -> Result<Vec<Row>, DbError>;
    /// Runs one write and returns the number of changed rows.
    async fn run(&self, stmt: Stmt) -> Result<u64, DbError>;
    /// Runs several statements atomically; returns what each did.
    async fn batch(&self, stmts: Vec<Stmt>) -> Result<Vec<StmtResult>, DbError>;
}

/// Query helpers with typed decoding, for every [`Db`].
pub trait DbExt: Db {
    async fn query<T: DeserializeOwned>(&self, stmt: Stmt) -> Result<Vec<T>, DbError> {
        self.all(stmt).await?.into_iter().map(decode).collect()
    }
    async fn first<T: DeserializeOwned>(&self, stmt: Stmt) -> Result<Option<T>, DbError> {
        self.all(stmt)
            .await?
            .into_iter()
            .next()
            .map(decode)
            .transpose()
    }
    /// Value of the first column of the first row, e.g. for `SELECT COUNT(*) AS n`.
    async fn scalar_i64(&self, stmt: Stmt) -> Result<i64, DbError> {
        let rows = self.all(stmt).await?;
        rows.first()
            .and_then(|r| r.values().next())
            .and_then(Json::as_i64)
            .ok_or_else(|| DbError::Decode("expected one integer".into()))
    }
}
impl<D: Db + ?Sized> DbExt for D {}

pub fn decode<T: DeserializeOwned>(row: Row) -> Result<T, DbError> {
    serde_json::from_value(Json::Object(row)).map_err(|e| DbError::Decode(e.to_string()))
}

/// Decodes a TEXT column holding JSON (`settings`, `options`, `images`).
pub fn json_column<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: DeserializeOwned,
{
    use serde::Deserialize;
    let s = String::deserialize(d)?;
    serde_json::from_str(&s).map_err(serde::de::Error::custom)
}

/// A 0/1 INTEGER column as a `bool`.
///
/// # Errors
/// Values other than 0, 1, true or false.
pub fn int_bool<'de, D>(d: D) -> Result<bool, D::Error>
where
    D: serde::Deserializer<'de>,
{
    match <serde_json::Value as serde::Deserialize>::deserialize(d)? {
        serde_json::Value::Bool(b) => Ok(b),
        serde_json::Value::Number(n) if n.as_i64() == Some(0) => Ok(false),
        serde_json::Value::Number(n) if n.as_i64() == Some(1) => Ok(true),
        other => Err(serde::de::Error::custom(format!("not a boolean: {other}"))),
    }
}
