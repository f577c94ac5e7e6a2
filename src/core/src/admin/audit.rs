//! The audit log: one row for every admin change, naming the key that made it, the action,
//! its target and the request id that ties it to logs.
//!
//! The row is part of the change: the operation runs on an [`Audited`] platform, whose
//! storage adds the row's insert to every batch the operation writes between
//! [`Audited::begin`] and [`Audited::finish`] (the first one that commits writes it; later
//! copies find it there). A change therefore never commits
//! without its row, and a batch that fails leaves neither. Once the operation has
//! answered, [`Audited::finish`] adds what only the answer knows (the status, a new
//! row's id), or writes the row alone for a change made only at Stripe.

use crate::AppError;
use crate::db::{Db, DbError, DbExt as _, Row, Stmt, StmtResult};
use crate::ports::{Platform, PlatformExt as _};
use crate::stmt;
use crate::time_fmt::rfc3339;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::cell::{Cell, RefCell};

/// Who made a change.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: String,
    pub role: String,
}

#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub action: &'a str,
    pub target_type: Option<&'a str>,
    pub target_id: Option<&'a str>,
    pub detail: Value,
}

/// The admin API's platform: while an operation runs (between [`Audited::begin`] and
/// [`Audited::finish`]), every write batch carries the operation's audit row. The whole
/// admin API and UI run on it, so each use case is compiled once into the Worker.
pub struct Audited<'a, P: Platform> {
    inner: &'a P,
    db: AuditingDb<'a, P::Db>,
}

/// An operation whose writes no longer carry its row, waiting for its answer.
pub struct Ended {
    id: String,
    entry: Stmt,
    wrote: bool,
}

/// The storage of an [`Audited`] platform.
pub struct AuditingDb<'a, D> {
    inner: &'a D,
    /// The running operation's row (its insert-or-nothing), if one runs.
    entry: RefCell<Option<(String, Stmt)>>,
    wrote: Cell<bool>,
}

fn is_write(sql: &str) -> bool {
    let head = sql.trim_start().get(..7).unwrap_or("").to_ascii_uppercase();
    ["INSERT", "UPDATE", "DELETE", "REPLACE"]
        .iter()
        .any(|w| head.starts_with(w))
}

impl<D: Db> AuditingDb<'_, D> {
    async fn with_entry(&self, mut stmts: Vec<Stmt>) -> Result<Vec<StmtResult>, DbError> {
        let Some((_, entry)) = self.entry.borrow().clone() else {
            return self.inner.batch(stmts).await;
        };
        let n = stmts.len();
        stmts.push(entry);
        let mut res = self.inner.batch(stmts).await?;
        self.wrote.set(true);
        res.truncate(n);
        Ok(res)
    }
}

impl<D: Db> Db for AuditingDb<'_, D> {
    async fn all(&self, stmt: Stmt) -> Result<Vec<Row>, DbError> {
        if is_write(&stmt.sql) && self.entry.borrow().is_some() {
            let mut res = self.with_entry(vec![stmt]).await?;
            Ok(res.pop().map(|r| r.rows).unwrap_or_default())
        } else {
            self.inner.all(stmt).await
        }
    }
    async fn run(&self, stmt: Stmt) -> Result<u64, DbError> {
        if self.entry.borrow().is_none() {
            return self.inner.run(stmt).await;
        }
        let mut res = self.with_entry(vec![stmt]).await?;
        Ok(res.pop().map_or(0, |r| r.changes))
    }
    async fn batch(&self, stmts: Vec<Stmt>) -> Result<Vec<StmtResult>, DbError> {
        if stmts.iter().any(|s| is_write(&s.sql)) {
            self.with_entry(stmts).await
        } else {
            self.inner.batch(stmts).await
        }
    }
}

impl<'a, P: Platform> Audited<'a, P> {
    pub fn new(inner: &'a P) -> Self {
        Audited {
            inner,
            db: AuditingDb {
                inner: inner.db(),
                entry: RefCell::new(None),
                wrote: Cell::new(false),
            },
        }
    }

    /// Starts an operation: from now on its writes carry this row (`entry` as known before
    /// it runs; its target may be filled in by [`Audited::finish`]).
    pub fn begin(&self, store_id: &str, actor: &Actor, e: &Entry<'_>, request_id: &str) {
        let id = self.inner.new_id("aud");
        let entry = stmt!(
            "INSERT INTO audit_log (id, store_id, actor, actor_role, action, target_type, target_id, detail, request_id, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            &id,
            store_id,
            &actor.id,
            &actor.role,
            e.action,
            e.target_type,
            e.target_id,
            e.detail.to_string(),
            request_id,
            self.inner.now_ms()
        );
        *self.db.entry.borrow_mut() = Some((id, entry));
        self.db.wrote.set(false);
    }

    /// Stops adding the row to writes (the operation has returned; what follows, such as
    /// saving its answer for replays, is not part of it).
    pub fn end(&self) -> Option<Ended> {
        let (id, entry) = self.db.entry.borrow_mut().take()?;
        Some(Ended {
            id,
            entry,
            wrote: self.db.wrote.get(),
        })
    }

    /// Settles an ended operation's row with the answer's `status`: a success that wrote
    /// nothing locally (a change made only at Stripe) gets its row now; a refusal (4xx)
    /// leaves none, since it changed nothing; a failure (5xx) keeps the row of what it
    /// wrote, which the sweeps may still finish. The row is completed with what only the
    /// answer knows.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn finish(&self, ended: Ended, e: &Entry<'_>, status: u16) -> Result<(), AppError> {
        let Ended { id, entry, wrote } = ended;
        let db = self.inner.db();
        if (400..500).contains(&status) {
            if wrote {
                db.run(stmt!("DELETE FROM audit_log WHERE id = ?", &id))
                    .await?;
            }
            return Ok(());
        }
        if !wrote {
            if status >= 300 {
                return Ok(());
            }
            db.run(entry).await?;
        }
        db.run(stmt!(
            "UPDATE audit_log SET target_type = COALESCE(target_type, ?), target_id = COALESCE(target_id, ?), detail = ? WHERE id = ?",
            e.target_type,
            e.target_id,
            e.detail.to_string(),
            &id
        ))
        .await?;
        Ok(())
    }
}

impl<'a, P: Platform> Platform for Audited<'a, P> {
    type Db = AuditingDb<'a, P::Db>;
    type Http = P::Http;
    fn db(&self) -> &Self::Db {
        &self.db
    }
    fn http(&self) -> &Self::Http {
        self.inner.http()
    }
    fn now_ms(&self) -> i64 {
        self.inner.now_ms()
    }
    fn fill_random(&self, buf: &mut [u8]) {
        self.inner.fill_random(buf);
    }
    fn settings(&self) -> &crate::ports::Settings {
        self.inner.settings()
    }
    async fn enqueue(&self, body: &serde_json::Value) -> Result<(), String> {
        self.inner.enqueue(body).await
    }
    async fn sleep_ms(&self, ms: u64) {
        self.inner.sleep_ms(ms).await;
    }
    async fn put_file(&self, key: &str, bytes: &[u8], content_type: &str) -> Result<(), String> {
        self.inner.put_file(key, bytes, content_type).await
    }
    async fn verify_signature(
        &self,
        alg: crate::auth::jwt::SigAlg,
        key: &crate::auth::jwt::Jwk,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, String> {
        self.inner
            .verify_signature(alg, key, message, signature)
            .await
    }
}

#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AuditRow {
    pub id: String,
    pub actor: String,
    pub actor_role: String,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    #[serde(deserialize_with = "crate::db::json_column")]
    pub detail: Value,
    pub request_id: String,
    #[serde(skip_deserializing)]
    pub at: String,
    #[serde(rename(deserialize = "created_at"), skip_serializing)]
    pub created: i64,
}

/// A page of the audit log, newest first.
pub type AuditPage = crate::catalog::Page<AuditRow>;

/// The audit log's query (exposed for the query-plan test).
pub fn list_query(store_id: &str, after: &super::orders::Cursor, limit: u32) -> crate::db::Stmt {
    stmt!(
        "SELECT id, actor, actor_role, action, target_type, target_id, detail, request_id, created_at FROM audit_log \
         WHERE store_id = ? AND (created_at < ? OR (created_at = ? AND id < ?)) ORDER BY created_at DESC, id DESC LIMIT ?",
        store_id,
        after.created_at,
        after.created_at,
        if after.id.is_empty() {
            "~".to_owned()
        } else {
            after.id.clone()
        },
        i64::from(limit)
    )
}

/// `GET /admin/api/v1/audit-log`: newest first, keyset by (time, id).
///
/// # Errors
/// 422 for a bad cursor or limit.
pub async fn list<P: Platform>(
    p: &P,
    store_id: &str,
    starting_after: Option<&str>,
    limit: Option<&str>,
) -> Result<AuditPage, AppError> {
    let limit = super::orders::parse_limit(limit, 50, 200)?;
    let after = starting_after
        .filter(|s| !s.is_empty())
        .map(super::orders::Cursor::decode)
        .transpose()?
        .unwrap_or(super::orders::Cursor {
            created_at: i64::MAX,
            id: String::new(),
        });
    let mut rows: Vec<AuditRow> = p
        .db()
        .query(list_query(store_id, &after, limit + 1))
        .await?;
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    for r in &mut rows {
        r.at = rfc3339(r.created);
    }
    let next = has_more
        .then(|| {
            rows.last().map(|r| {
                super::orders::Cursor {
                    created_at: r.created,
                    id: r.id.clone(),
                }
                .encode()
            })
        })
        .flatten();
    Ok(crate::catalog::Page {
        data: rows,
        has_more,
        next_starting_after: next,
    })
}
