//! The steps a parcel's lines carry, and what operators do with them: add them while the
//! parcel has not arrived, change a pending step's payload, retry a failed one, or mark one
//! done by hand (`fallback`, with a note).

use super::scenarios;
use crate::AppError;
use crate::db::{Db as _, DbExt as _, Stmt};
use crate::domain::{AutomationStepStatus, ShipmentStatus};
use crate::ports::{Platform, PlatformExt as _};
use crate::stmt;
use crate::time_fmt::rfc3339;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct StepRow {
    pub id: String,
    pub store_id: String,
    pub shipment_id: String,
    pub fulfillment_order_line_id: String,
    pub scenario: String,
    #[serde(deserialize_with = "crate::db::json_column")]
    pub payload: Value,
    pub status: AutomationStepStatus,
    pub attempts: i64,
    pub max_attempts: i64,
    pub due_at: Option<i64>,
    pub next_attempt_at: Option<i64>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub fallback_note: Option<String>,
    pub resolved_by: Option<String>,
    pub completed_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

pub(crate) const COLUMNS: &str = "id, store_id, shipment_id, fulfillment_order_line_id, scenario, payload, status, attempts, max_attempts, \
    due_at, next_attempt_at, last_status, last_error, fallback_note, resolved_by, completed_at, created_at, updated_at";

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct StepView {
    pub id: String,
    pub shipment_id: String,
    pub fulfillment_order_line_id: String,
    pub scenario: String,
    pub payload: Value,
    pub status: AutomationStepStatus,
    pub attempts: i64,
    pub max_attempts: i64,
    /// When its parcel was delivered (none before).
    pub due_at: Option<String>,
    pub next_attempt_at: Option<String>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub fallback_note: Option<String>,
    pub resolved_by: Option<String>,
    pub completed_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl StepRow {
    pub(crate) fn view(self) -> StepView {
        StepView {
            id: self.id,
            shipment_id: self.shipment_id,
            fulfillment_order_line_id: self.fulfillment_order_line_id,
            scenario: self.scenario,
            payload: self.payload,
            status: self.status,
            attempts: self.attempts,
            max_attempts: self.max_attempts,
            due_at: self.due_at.map(rfc3339),
            next_attempt_at: self.next_attempt_at.map(rfc3339),
            last_status: self.last_status,
            last_error: self.last_error,
            fallback_note: self.fallback_note,
            resolved_by: self.resolved_by,
            completed_at: self.completed_at.map(rfc3339),
            created_at: rfc3339(self.created_at),
            updated_at: rfc3339(self.updated_at),
        }
    }
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepInput {
    /// The parcel's line (its order item) the step is about.
    pub order_item_id: String,
    /// One of the store's active scenarios (`GET /admin/api/v1/automation-scenarios`).
    #[schemars(length(min = 2, max = 40))]
    pub scenario: String,
    /// Sent to the scenario's endpoint as it is (a JSON object, at most 8 KB).
    #[serde(default)]
    pub payload: Option<Value>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepUpdate {
    pub payload: Value,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FallbackInput {
    /// What was done by hand.
    #[schemars(length(min = 1, max = 1000))]
    pub note: String,
}

pub(crate) async fn row<P: Platform>(p: &P, store_id: &str, id: &str) -> Result<StepRow, AppError> {
    p.db()
        .first(stmt!(
            format!("SELECT {COLUMNS} FROM automation_steps WHERE id = ? AND store_id = ?"),
            id,
            store_id
        ))
        .await?
        .ok_or(AppError::NotFound("automation step"))
}

fn payload(v: Option<Value>) -> Result<String, AppError> {
    let v = v.unwrap_or_else(|| json!({}));
    if !v.is_object() {
        return Err(AppError::validation("payload", "must be a JSON object"));
    }
    let s = v.to_string();
    if s.len() > 8 * 1024 {
        return Err(AppError::validation("payload", "must be at most 8 KB"));
    }
    Ok(s)
}

/// A step to add: its id, its line (fulfillment order line id), scenario, payload and the
/// scenario's attempts.
pub(crate) struct NewStep {
    pub id: String,
    pub line: String,
    pub scenario: String,
    pub payload: String,
    pub max_attempts: i64,
}

/// The statements that add steps to a parcel, written only when `guard` holds. The
/// scenarios are checked by the caller.
pub(crate) fn insert_statements(
    store_id: &str,
    shipment_id: &str,
    steps: &[NewStep],
    guard: &Stmt,
    now: i64,
) -> Vec<Stmt> {
    steps
        .iter()
        .map(|NewStep { id, line, scenario, payload, max_attempts }| {
            stmt!(
                "INSERT INTO automation_steps (id, store_id, shipment_id, fulfillment_order_line_id, scenario, payload, max_attempts, created_at, updated_at) \
                 SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?",
                id,
                store_id,
                shipment_id,
                line,
                scenario,
                payload,
                *max_attempts,
                now,
                now
            )
            .when(guard)
        })
        .collect()
}

/// A scenario a new step may use: (code, its max attempts).
///
/// # Errors
/// 422 naming `field` when the store has no such active scenario.
pub(crate) async fn usable_scenario<P: Platform>(
    p: &P,
    store_id: &str,
    field: &str,
    code: &str,
) -> Result<(String, i64), AppError> {
    match scenarios::row(p, store_id, code.trim()).await? {
        Some(s) if s.active => Ok((s.code, s.max_attempts)),
        Some(_) => Err(AppError::validation(field, "this scenario is inactive")),
        None => Err(AppError::validation(
            field,
            "is not one of the store's scenarios (GET /admin/api/v1/automation-scenarios)",
        )),
    }
}

/// A step's payload, checked.
///
/// # Errors
/// 422 not an object, or larger than 8 KB.
pub(crate) fn checked_payload(v: Option<Value>) -> Result<String, AppError> {
    payload(v)
}

/// `GET /admin/api/v1/shipments/{id}/automation-steps`.
///
/// # Errors
/// 404 parcel.
pub async fn list<P: Platform>(
    p: &P,
    store_id: &str,
    shipment_id: &str,
) -> Result<Vec<StepView>, AppError> {
    crate::shipments::get(p, store_id, shipment_id).await?;
    let rows: Vec<StepRow> = p
        .db()
        .query(stmt!(
            format!("SELECT {COLUMNS} FROM automation_steps WHERE shipment_id = ? ORDER BY created_at, rowid"),
            shipment_id
        ))
        .await?;
    Ok(rows.into_iter().map(StepRow::view).collect())
}

/// `POST /admin/api/v1/shipments/{id}/automation-steps`: a step on one of the parcel's
/// lines, while the parcel has not arrived.
///
/// # Errors
/// 404 parcel; 409 delivered or cancelled; 422 not the parcel's item, unknown scenario, bad
/// payload.
pub async fn create<P: Platform>(
    p: &P,
    store_id: &str,
    shipment_id: &str,
    input: StepInput,
) -> Result<StepView, AppError> {
    let s = crate::shipments::get(p, store_id, shipment_id).await?;
    if matches!(
        s.status,
        ShipmentStatus::Delivered | ShipmentStatus::Cancelled
    ) {
        return Err(AppError::conflict(
            "shipment_closed",
            format!(
                "A parcel that is {} takes no new automation step.",
                s.status.as_str()
            ),
        ));
    }
    let Some(line) = s
        .lines
        .iter()
        .find(|l| l.order_item_id == input.order_item_id.trim())
    else {
        return Err(AppError::validation(
            "order_item_id",
            "is not an item in this parcel",
        ));
    };
    let (scenario, max) = usable_scenario(p, store_id, "scenario", &input.scenario).await?;
    let body = payload(input.payload)?;
    let guard = stmt!(
        "EXISTS (SELECT 1 FROM shipments WHERE id = ? AND status IN ('draft', 'ready', 'in_transit'))",
        shipment_id
    );
    let id = p.new_id("step");
    let stmts = insert_statements(
        store_id,
        shipment_id,
        &[NewStep {
            id: id.clone(),
            line: line.fulfillment_order_line_id.clone(),
            scenario,
            payload: body,
            max_attempts: max,
        }],
        &guard,
        p.now_ms(),
    );
    let res = p.db().batch(stmts).await?;
    if res[0].changes == 0 {
        return Err(AppError::conflict(
            "shipment_closed",
            "The parcel was delivered or cancelled meanwhile.",
        ));
    }
    Ok(row(p, store_id, &id).await?.view())
}

/// `PATCH /admin/api/v1/automation-steps/{id}`: a pending step's payload.
///
/// # Errors
/// 404; 409 once it ran; 422 bad payload.
pub async fn update<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
    input: StepUpdate,
) -> Result<StepView, AppError> {
    row(p, store_id, id).await?;
    let body = payload(Some(input.payload))?;
    let res = p
        .db()
        .batch(vec![stmt!(
            "UPDATE automation_steps SET payload = ?, updated_at = ? WHERE id = ? AND status = 'pending' AND attempts = 0",
            &body,
            p.now_ms(),
            id
        )])
        .await?;
    if res[0].changes == 0 {
        return Err(AppError::conflict(
            "step_not_editable",
            "Only a step that has not run yet can be changed.",
        ));
    }
    Ok(row(p, store_id, id).await?.view())
}

/// `POST /admin/api/v1/automation-steps/{id}/retry`: a failed step runs again with its
/// scenario's attempts anew (through the queue); its task is resolved.
///
/// # Errors
/// 404; 409 unless failed.
pub async fn retry<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
    by: &str,
) -> Result<StepView, AppError> {
    let s = row(p, store_id, id).await?;
    let max = scenarios::row(p, store_id, &s.scenario)
        .await?
        .map_or(s.max_attempts, |sc| sc.max_attempts);
    let now = p.now_ms();
    let outbox = format!("automation:{id}:retry:{}", p.new_id("r"));
    let mut batch = vec![
        stmt!(
            "UPDATE automation_steps SET status = 'pending', attempts = 0, max_attempts = ?, next_attempt_at = ?, \
               due_at = COALESCE(due_at, ?), resolved_by = ?, updated_at = ? WHERE id = ? AND status = 'failed'",
            max,
            now,
            now,
            by,
            now,
            id
        ),
        crate::operator_tasks::resolve_statement("automation_step_failed", id, by, now),
        stmt!(
            "INSERT INTO outbox (id, store_id, kind, payload, created_at) SELECT ?, ?, 'automation', ?, ? \
             WHERE EXISTS (SELECT 1 FROM automation_steps WHERE id = ? AND status = 'pending' AND next_attempt_at = ?)",
            &outbox,
            store_id,
            json!({ "kind": "automation", "step_id": id, "store_id": store_id }).to_string(),
            now,
            id,
            now
        ),
    ];
    batch.extend(crate::fulfillment::dispatch::claim(
        std::slice::from_ref(&outbox),
        now,
    ));
    let res = p.db().batch(batch).await?;
    if res[0].changes == 0 {
        return Err(AppError::conflict(
            "step_not_failed",
            format!("A step that is {} is not retried.", s.status.as_str()),
        ));
    }
    let _ = crate::fulfillment::dispatch::send_claimed(p, std::slice::from_ref(&outbox), &res[3..])
        .await;
    Ok(row(p, store_id, id).await?.view())
}

/// `POST /admin/api/v1/automation-steps/{id}/fallback`: an operator did the step by hand.
///
/// # Errors
/// 404; 409 unless pending or failed; 422 no note.
pub async fn fallback<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
    by: &str,
    input: FallbackInput,
) -> Result<StepView, AppError> {
    let note = crate::input::paragraph("note", &input.note, 1, 1000)?;
    let s = row(p, store_id, id).await?;
    let now = p.now_ms();
    let res = p
        .db()
        .batch(vec![
            stmt!(
                "UPDATE automation_steps SET status = 'fallback', fallback_note = ?, resolved_by = ?, completed_at = ?, updated_at = ? \
                 WHERE id = ? AND status IN ('pending', 'failed')",
                &note,
                by,
                now,
                now,
                id
            ),
            crate::operator_tasks::resolve_statement("automation_step_failed", id, by, now),
            crate::shipments::shipment_event(
                &format!("automation.step_fallback:{id}"),
                store_id,
                &s.shipment_id,
                "automation.step_fallback",
                &json!({ "step_id": id, "scenario": s.scenario, "note": note, "by": by }),
                now,
                stmt!("EXISTS (SELECT 1 FROM automation_steps WHERE id = ? AND status = 'fallback')", id),
            ),
        ])
        .await?;
    if res[0].changes == 0 {
        return Err(AppError::conflict(
            "step_not_open",
            format!("A step that is {} needs no fallback.", s.status.as_str()),
        ));
    }
    Ok(row(p, store_id, id).await?.view())
}
