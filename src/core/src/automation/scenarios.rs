//! A store's automation scenarios: what a step of that scenario calls, signed with the
//! scenario's own `whsec_` secret (shown in full once), and its retry policy.

use crate::AppError;
use crate::db::{Db as _, DbError, DbExt as _};
use crate::outbound::call::check_url;
use crate::outbound::signing;
use crate::ports::Platform;
use crate::stmt;
use crate::time_fmt::rfc3339;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ScenarioRow {
    pub code: String,
    pub name: String,
    pub endpoint_url: String,
    pub secret: String,
    pub max_attempts: i64,
    pub retry_delay_seconds: i64,
    pub timeout_ms: i64,
    #[serde(deserialize_with = "crate::db::int_bool")]
    pub active: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

pub(crate) const COLUMNS: &str = "code, name, endpoint_url, secret, max_attempts, retry_delay_seconds, timeout_ms, active, created_at, updated_at";

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ScenarioView {
    pub code: String,
    pub name: String,
    /// What a step of this scenario calls (the seller's other system).
    pub endpoint_url: String,
    /// The signing secret: in full only in the answer that made it, masked after.
    pub secret: String,
    pub max_attempts: i64,
    pub retry_delay_seconds: i64,
    pub timeout_ms: i64,
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl ScenarioRow {
    fn view(self, reveal: bool) -> ScenarioView {
        ScenarioView {
            secret: if reveal {
                self.secret.clone()
            } else {
                signing::masked(&self.secret)
            },
            code: self.code,
            name: self.name,
            endpoint_url: self.endpoint_url,
            max_attempts: self.max_attempts,
            retry_delay_seconds: self.retry_delay_seconds,
            timeout_ms: self.timeout_ms,
            active: self.active,
            created_at: rfc3339(self.created_at),
            updated_at: rfc3339(self.updated_at),
        }
    }
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioInput {
    /// Lowercase letters, digits and `_` (`first_time_install`, `replacement`, `return`).
    #[schemars(regex(pattern = r"^[a-z0-9_]{2,40}$"), extend("examples" = ["first_time_install"]))]
    pub code: String,
    #[schemars(length(min = 1, max = 100))]
    pub name: String,
    #[schemars(length(min = 8, max = 500), extend("examples" = ["https://legacy.example.com/hooks/install"]))]
    pub endpoint_url: String,
    /// Attempts before the step fails (1-20; 3 when absent).
    #[serde(default)]
    #[schemars(range(min = 1, max = 20))]
    pub max_attempts: Option<i64>,
    /// Seconds between attempts (1-86400; 60 when absent).
    #[serde(default)]
    #[schemars(range(min = 1, max = 86400))]
    pub retry_delay_seconds: Option<i64>,
    /// How long one call may take (100-20000 ms; 10000 when absent).
    #[serde(default)]
    #[schemars(range(min = 100, max = 20000))]
    pub timeout_ms: Option<i64>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioUpdate {
    #[serde(default)]
    #[schemars(length(min = 1, max = 100))]
    pub name: Option<String>,
    #[serde(default)]
    #[schemars(length(min = 8, max = 500))]
    pub endpoint_url: Option<String>,
    #[serde(default)]
    #[schemars(range(min = 1, max = 20))]
    pub max_attempts: Option<i64>,
    #[serde(default)]
    #[schemars(range(min = 1, max = 86400))]
    pub retry_delay_seconds: Option<i64>,
    #[serde(default)]
    #[schemars(range(min = 100, max = 20000))]
    pub timeout_ms: Option<i64>,
    /// An inactive scenario takes no new steps; its steps that come due fail at once.
    #[serde(default)]
    pub active: Option<bool>,
}

fn in_range(field: &str, v: i64, lo: i64, hi: i64) -> Result<i64, AppError> {
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(AppError::validation(field, format!("must be {lo} to {hi}")))
    }
}

pub(crate) async fn row<P: Platform>(
    p: &P,
    store_id: &str,
    code: &str,
) -> Result<Option<ScenarioRow>, AppError> {
    Ok(p.db()
        .first(stmt!(
            format!("SELECT {COLUMNS} FROM automation_scenarios WHERE store_id = ? AND code = ?"),
            store_id,
            code
        ))
        .await?)
}

/// `GET /admin/api/v1/automation-scenarios`.
///
/// # Errors
/// Storage failures.
pub async fn list<P: Platform>(p: &P, store_id: &str) -> Result<Vec<ScenarioView>, AppError> {
    let rows: Vec<ScenarioRow> = p
        .db()
        .query(stmt!(
            format!("SELECT {COLUMNS} FROM automation_scenarios WHERE store_id = ? ORDER BY code"),
            store_id
        ))
        .await?;
    Ok(rows.into_iter().map(|r| r.view(false)).collect())
}

/// `POST /admin/api/v1/automation-scenarios`: the answer carries the whole secret, once.
///
/// # Errors
/// 422 bad fields; 409 `scenario_exists`.
pub async fn create<P: Platform>(
    p: &P,
    store_id: &str,
    input: ScenarioInput,
) -> Result<ScenarioView, AppError> {
    let code = crate::input::code("code", &input.code, 40)?;
    let name = crate::input::line("name", &input.name, 1, 100)?;
    let url = check_url("endpoint_url", &input.endpoint_url)?;
    let attempts = in_range("max_attempts", input.max_attempts.unwrap_or(3), 1, 20)?;
    let delay = in_range(
        "retry_delay_seconds",
        input.retry_delay_seconds.unwrap_or(60),
        1,
        86_400,
    )?;
    let timeout = in_range(
        "timeout_ms",
        input.timeout_ms.unwrap_or(10_000),
        100,
        20_000,
    )?;
    let mut random = [0u8; 24];
    p.fill_random(&mut random);
    let now = p.now_ms();
    let r = p
        .db()
        .run(stmt!(
            "INSERT INTO automation_scenarios (store_id, code, name, endpoint_url, secret, max_attempts, retry_delay_seconds, timeout_ms, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            store_id,
            &code,
            &name,
            &url,
            signing::new_secret(&random),
            attempts,
            delay,
            timeout,
            now,
            now
        ))
        .await;
    match r {
        Ok(_) => {}
        Err(DbError::Unique(_)) => {
            return Err(AppError::conflict(
                "scenario_exists",
                format!("The store already has a scenario {code}."),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    row(p, store_id, &code)
        .await?
        .map(|r| r.view(true))
        .ok_or(AppError::NotFound("automation scenario"))
}

/// `PATCH /admin/api/v1/automation-scenarios/{code}`.
///
/// # Errors
/// 404; 422 bad fields.
pub async fn update<P: Platform>(
    p: &P,
    store_id: &str,
    code: &str,
    input: ScenarioUpdate,
) -> Result<ScenarioView, AppError> {
    let cur = row(p, store_id, code)
        .await?
        .ok_or(AppError::NotFound("automation scenario"))?;
    let name = match &input.name {
        Some(n) => crate::input::line("name", n, 1, 100)?,
        None => cur.name,
    };
    let url = match &input.endpoint_url {
        Some(u) => check_url("endpoint_url", u)?,
        None => cur.endpoint_url,
    };
    let attempts = in_range(
        "max_attempts",
        input.max_attempts.unwrap_or(cur.max_attempts),
        1,
        20,
    )?;
    let delay = in_range(
        "retry_delay_seconds",
        input.retry_delay_seconds.unwrap_or(cur.retry_delay_seconds),
        1,
        86_400,
    )?;
    let timeout = in_range(
        "timeout_ms",
        input.timeout_ms.unwrap_or(cur.timeout_ms),
        100,
        20_000,
    )?;
    p.db()
        .run(stmt!(
            "UPDATE automation_scenarios SET name = ?, endpoint_url = ?, max_attempts = ?, retry_delay_seconds = ?, timeout_ms = ?, active = ?, updated_at = ? \
             WHERE store_id = ? AND code = ?",
            &name,
            &url,
            attempts,
            delay,
            timeout,
            i64::from(input.active.unwrap_or(cur.active)),
            p.now_ms(),
            store_id,
            code
        ))
        .await?;
    row(p, store_id, code)
        .await?
        .map(|r| r.view(false))
        .ok_or(AppError::NotFound("automation scenario"))
}
