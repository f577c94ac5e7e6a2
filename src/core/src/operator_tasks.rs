//! Work for a person: an automation step that failed after its last attempt, a webhook
//! endpoint disabled after failing again and again. A task is opened in the batch that
//! makes the failure (at most one open per kind and subject) and resolved by the action
//! that settles it (a retried step, an endpoint enabled again) or by hand.

use crate::AppError;
use crate::db::{Db as _, DbExt as _, Stmt};
use crate::ports::Platform;
use crate::stmt;
use crate::time_fmt::rfc3339;
use serde::{Deserialize, Serialize};

/// What opens a task.
pub struct NewTask<'a> {
    pub store_id: &'a str,
    pub kind: &'a str,
    pub subject_type: &'a str,
    pub subject_id: &'a str,
    pub title: String,
    pub detail: Option<String>,
}

/// Opens the task unless one of this kind is open for the subject, when `guard` holds.
pub fn open_statement(t: &NewTask<'_>, id: &str, now: i64, guard: &Stmt) -> Stmt {
    stmt!(
        "INSERT INTO operator_tasks (id, store_id, kind, subject_type, subject_id, title, detail, created_at) \
         SELECT ?, ?, ?, ?, ?, ?, ?, ?",
        id,
        t.store_id,
        t.kind,
        t.subject_type,
        t.subject_id,
        &t.title,
        &t.detail,
        now
    )
    .when(guard)
    .or_nothing()
}

/// Resolves the open task of this kind for the subject, if any.
pub fn resolve_statement(kind: &str, subject_id: &str, by: &str, now: i64) -> Stmt {
    stmt!(
        "UPDATE operator_tasks SET status = 'resolved', resolved_by = ?, resolved_at = ? \
         WHERE kind = ? AND subject_id = ? AND status = 'open'",
        by,
        now,
        kind,
        subject_id
    )
}

#[derive(Debug, Clone, Deserialize)]
struct Row {
    id: String,
    kind: String,
    subject_type: String,
    subject_id: String,
    title: String,
    detail: Option<String>,
    status: String,
    resolved_by: Option<String>,
    resolved_at: Option<i64>,
    created_at: i64,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TaskView {
    pub id: String,
    /// `automation_step_failed`, `webhook_endpoint_disabled`, …
    pub kind: String,
    pub subject_type: String,
    pub subject_id: String,
    pub title: String,
    pub detail: Option<String>,
    /// `open` or `resolved`.
    pub status: String,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<String>,
    pub created_at: String,
}

impl Row {
    fn view(self) -> TaskView {
        TaskView {
            id: self.id,
            kind: self.kind,
            subject_type: self.subject_type,
            subject_id: self.subject_id,
            title: self.title,
            detail: self.detail,
            status: self.status,
            resolved_by: self.resolved_by,
            resolved_at: self.resolved_at.map(rfc3339),
            created_at: rfc3339(self.created_at),
        }
    }
}

const SELECT: &str = "SELECT id, kind, subject_type, subject_id, title, detail, status, resolved_by, resolved_at, created_at FROM operator_tasks";

/// `GET /admin/api/v1/operator-tasks?status=open|resolved`: newest first, at most 200.
///
/// # Errors
/// 422 an unknown status.
pub async fn list<P: Platform>(
    p: &P,
    store_id: &str,
    status: Option<&str>,
) -> Result<Vec<TaskView>, AppError> {
    let status = status.unwrap_or("open");
    if !matches!(status, "open" | "resolved") {
        return Err(AppError::validation("status", "must be open or resolved"));
    }
    let rows: Vec<Row> = p
        .db()
        .query(stmt!(
            format!("{SELECT} WHERE store_id = ? AND status = ? ORDER BY created_at DESC, id DESC LIMIT 200"),
            store_id,
            status
        ))
        .await?;
    Ok(rows.into_iter().map(Row::view).collect())
}

/// `POST /admin/api/v1/operator-tasks/{id}/resolve`.
///
/// # Errors
/// 404.
pub async fn resolve<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
    by: &str,
) -> Result<TaskView, AppError> {
    p.db()
        .run(stmt!(
            "UPDATE operator_tasks SET status = 'resolved', resolved_by = ?, resolved_at = ? WHERE id = ? AND store_id = ? AND status = 'open'",
            by,
            p.now_ms(),
            id,
            store_id
        ))
        .await?;
    p.db()
        .first::<Row>(stmt!(
            format!("{SELECT} WHERE id = ? AND store_id = ?"),
            id,
            store_id
        ))
        .await?
        .map(Row::view)
        .ok_or(AppError::NotFound("operator task"))
}
