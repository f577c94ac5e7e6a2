//! Price agreements: one company's negotiated prices, in the company's currency, `draft →
//! active → expired`, within a validity window. A company has at most one active agreement
//! in force at any instant (a save that would break this answers 409 naming the other).

use super::entries::{self, EntryInput, EntryView, Parent};
use crate::AppError;
use crate::db::{Db as _, DbError, DbExt as _, Stmt};
use crate::domain::{AgreementStatus, StateMachine as _};
use crate::error::Conflicting;
use crate::ports::{Platform, PlatformExt as _};
use crate::sql::transitions::AMBIGUOUS;
use crate::stmt;
use crate::time_fmt::rfc3339;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize, Clone, schemars::JsonSchema)]
pub struct AgreementView {
    pub id: String,
    pub company_id: String,
    pub company_name: String,
    pub name: String,
    pub currency: String,
    pub status: AgreementStatus,
    #[serde(skip_deserializing)]
    pub valid_from: Option<String>,
    #[serde(skip_deserializing)]
    pub valid_to: Option<String>,
    pub entry_count: i64,
    pub unsynced_count: i64,
    #[serde(rename(deserialize = "valid_from"), skip_serializing)]
    pub from_ms: i64,
    #[serde(rename(deserialize = "valid_to"), skip_serializing, default)]
    pub to_ms: Option<i64>,
}

const SELECT: &str = "SELECT a.id, a.company_id, co.name AS company_name, a.name, lower(a.currency) AS currency, a.status, \
    a.valid_from, a.valid_to, \
    (SELECT COUNT(*) FROM price_entries e WHERE e.agreement_id = a.id AND e.deleted_at IS NULL) AS entry_count, \
    (SELECT COUNT(*) FROM price_entries e WHERE e.agreement_id = a.id AND e.deleted_at IS NULL \
       AND (e.sync_status <> 'synced' OR e.synced_amount IS NOT e.unit_amount)) AS unsynced_count \
    FROM price_agreements a JOIN companies co ON co.id = a.company_id";

fn finish(mut a: AgreementView) -> AgreementView {
    a.valid_from = (a.from_ms > 0).then(|| rfc3339(a.from_ms));
    a.valid_to = a.to_ms.map(rfc3339);
    a
}

/// The store's agreements, or one company's (exposed for the query-plan test).
pub fn list_query(store_id: &str, company_id: Option<&str>) -> Stmt {
    match company_id {
        Some(c) => stmt!(
            format!(
                "{SELECT} WHERE a.company_id = ? AND a.store_id = ? ORDER BY a.valid_from DESC, a.id DESC LIMIT 500"
            ),
            c,
            store_id
        ),
        None => stmt!(
            format!(
                "{SELECT} WHERE a.store_id = ? ORDER BY a.created_at DESC, a.id DESC LIMIT 500"
            ),
            store_id
        ),
    }
}

/// `GET /admin/api/v1/price-agreements?company_id=`.
///
/// # Errors
/// Storage failures.
pub async fn list<P: Platform>(
    p: &P,
    store_id: &str,
    company_id: Option<&str>,
) -> Result<Vec<AgreementView>, AppError> {
    let rows: Vec<AgreementView> = p.db().query(list_query(store_id, company_id)).await?;
    Ok(rows.into_iter().map(finish).collect())
}

/// One agreement of the store, or 404.
///
/// # Errors
/// 404.
pub async fn agreement<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
) -> Result<AgreementView, AppError> {
    p.db()
        .first::<AgreementView>(stmt!(
            format!("{SELECT} WHERE a.id = ? AND a.store_id = ?"),
            id,
            store_id
        ))
        .await?
        .map(finish)
        .ok_or(AppError::NotFound("price agreement"))
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AgreementDetail {
    pub agreement: AgreementView,
    pub entries: Vec<EntryView>,
}

/// `GET /admin/api/v1/price-agreements/{price_agreement_id}`.
///
/// # Errors
/// 404.
pub async fn detail<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
) -> Result<AgreementDetail, AppError> {
    let agreement = agreement(p, store_id, id).await?;
    let entries = entries::list(p, Parent::Agreement(id)).await?;
    Ok(AgreementDetail { agreement, entries })
}

crate::string_enum!(
    /// How an agreement starts.
    NewAgreementStatus { Draft = "draft", Active = "active" }
);

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgreementInput {
    pub company_id: String,
    #[schemars(length(min = 1, max = 200), extend("examples" = ["ACME 2027 agreement"]))]
    pub name: String,
    /// Inclusive; a date or RFC 3339 (default: always).
    #[serde(default)]
    #[schemars(extend("examples" = ["2027-01-01"]))]
    pub valid_from: Option<String>,
    /// Exclusive; a date or RFC 3339 (default: open-ended).
    #[serde(default)]
    #[schemars(extend("examples" = ["2028-01-01"]))]
    pub valid_to: Option<String>,
    /// Default `draft`.
    #[serde(default)]
    pub status: Option<NewAgreementStatus>,
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgreementUpdate {
    #[serde(default)]
    #[schemars(length(min = 1, max = 200))]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::input::nullable")]
    #[schemars(extend("examples" = ["2027-01-01"]))]
    pub valid_from: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::input::nullable")]
    #[schemars(extend("examples" = ["2028-01-01"]))]
    pub valid_to: Option<Option<String>>,
    /// `draft → active → expired`.
    #[serde(default)]
    pub status: Option<AgreementStatus>,
}

async fn ambiguous<P: Platform>(
    p: &P,
    company_id: &str,
    id: &str,
    (from, to): (i64, Option<i64>),
) -> AppError {
    #[derive(Deserialize)]
    struct Other {
        id: String,
        name: String,
    }
    let others: Result<Vec<Other>, _> = p
        .db()
        .query(stmt!(
            "SELECT id, name FROM price_agreements WHERE company_id = ? AND status = 'active' AND id <> ? \
             AND valid_from < coalesce(?, 253402300800000) AND ? < coalesce(valid_to, 253402300800000) LIMIT 20",
            company_id,
            id,
            to,
            from
        ))
        .await;
    match others {
        Err(e) => e.into(),
        Ok(others) => AppError::ConflictWith {
            code: "pricing_ambiguous",
            message: "The company has another active agreement in an overlapping window: prices would be ambiguous. Expire it or make the windows not overlap.".into(),
            conflicts: others
                .into_iter()
                .map(|o| Conflicting {
                    reason: format!("{} is active then", o.name),
                    id: o.id,
                })
                .collect(),
        },
    }
}

/// `POST /admin/api/v1/price-agreements`: in the company's currency.
///
/// # Errors
/// 404 an unknown company; 422 bad fields; 409 `pricing_ambiguous`.
pub async fn create<P: Platform>(
    p: &P,
    store_id: &str,
    input: AgreementInput,
) -> Result<AgreementView, AppError> {
    let company = crate::companies::company(p, store_id, &input.company_id).await?;
    let name = crate::input::line("name", &input.name, 1, 200)?;
    let window = super::window(input.valid_from.as_deref(), input.valid_to.as_deref())?;
    let status = match input.status {
        Some(NewAgreementStatus::Active) => AgreementStatus::Active,
        _ => AgreementStatus::Draft,
    };
    let id = p.new_id("pa");
    let now = p.now_ms();
    let insert = stmt!(
        "INSERT INTO price_agreements (id, store_id, company_id, name, currency, status, valid_from, valid_to, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &id,
        store_id,
        &company.id,
        name,
        company.currency.to_uppercase(),
        status.as_str(),
        window.0,
        window.1,
        now,
        now
    );
    match p.db().run(insert).await {
        Err(DbError::Constraint(m)) if m.contains(AMBIGUOUS) => {
            Err(ambiguous(p, &company.id, &id, window).await)
        }
        Err(e) => Err(e.into()),
        Ok(_) => agreement(p, store_id, &id).await,
    }
}

/// `PATCH /admin/api/v1/price-agreements/{price_agreement_id}`.
///
/// # Errors
/// 404; 422 bad fields; 409 a status change its table does not list, or
/// `pricing_ambiguous`.
pub async fn update<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
    input: AgreementUpdate,
) -> Result<AgreementView, AppError> {
    let cur = agreement(p, store_id, id).await?;
    let name = match &input.name {
        Some(n) => crate::input::line("name", n, 1, 200)?,
        None => cur.name.clone(),
    };
    let (from, to) = super::window_update(
        (cur.from_ms, cur.to_ms),
        input.valid_from.as_ref().map(Option::as_deref),
        input.valid_to.as_ref().map(Option::as_deref),
    )?;
    let status = input.status.unwrap_or(cur.status);
    if status != cur.status && !cur.status.can_go(status) {
        return Err(AppError::conflict(
            "invalid_transition",
            format!(
                "An agreement cannot go from {} to {} (draft → active → expired).",
                cur.status.as_str(),
                status.as_str()
            ),
        ));
    }
    let update = stmt!(
        "UPDATE price_agreements SET name = ?, valid_from = ?, valid_to = ?, status = ?, updated_at = ? WHERE id = ? AND status = ?",
        name,
        from,
        to,
        status.as_str(),
        p.now_ms(),
        id,
        cur.status.as_str()
    );
    match p.db().run(update).await {
        Err(DbError::Constraint(m)) if m.contains(AMBIGUOUS) => {
            Err(ambiguous(p, &cur.company_id, id, (from, to)).await)
        }
        Err(e) => Err(e.into()),
        Ok(0) => Err(AppError::conflict(
            "agreement_changed",
            "The agreement changed meanwhile; read it again.",
        )),
        Ok(_) => agreement(p, store_id, id).await,
    }
}

/// `POST /admin/api/v1/price-agreements/{price_agreement_id}/entries`.
///
/// # Errors
/// 404 agreement; 409 an expired agreement; see [`entries::add`].
pub async fn add_entry<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
    input: EntryInput,
) -> Result<EntryView, AppError> {
    let a = agreement(p, store_id, id).await?;
    if a.status == AgreementStatus::Expired {
        return Err(AppError::conflict(
            "agreement_expired",
            "An expired agreement keeps what was agreed; draft a new one.",
        ));
    }
    entries::add(p, store_id, Parent::Agreement(id), &a.currency, input).await
}
