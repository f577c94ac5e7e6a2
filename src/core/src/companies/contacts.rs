//! A company's people: names, email (unique within the company), roles from a fixed set
//! with one primary contact per role, an optional spending limit, and an optional link to
//! a customer identity (the JWT subject) so the person can act for the company in the
//! storefront. Archived contacts keep their history and lose their primary roles.

use crate::AppError;
use crate::db::{Db as _, DbError, DbExt as _, Stmt};
use crate::domain::{ContactRole, SpendingPeriod};
use crate::ports::{Platform, PlatformExt as _};
use crate::stmt;
use crate::time_fmt::rfc3339;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, schemars::JsonSchema)]
pub struct RoleView {
    pub role: ContactRole,
    /// The company's primary contact for this role.
    pub primary: bool,
}

#[derive(Debug, Serialize, Deserialize, Clone, Copy, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpendingLimit {
    /// Minor units of the company's currency.
    #[schemars(range(min = 0, max = 100_000_000_000i64))]
    pub amount: i64,
    pub period: SpendingPeriod,
}

#[derive(Debug, Serialize, Deserialize, Clone, schemars::JsonSchema)]
pub struct ContactView {
    pub id: String,
    pub company_id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub notes: Option<String>,
    #[serde(deserialize_with = "crate::db::int_bool")]
    pub active: bool,
    /// The identity provider's subject of the person, when linked.
    pub customer_subject: Option<String>,
    #[serde(skip_deserializing)]
    pub spending_limit: Option<SpendingLimit>,
    #[serde(skip_deserializing)]
    pub roles: Vec<RoleView>,
    #[serde(skip_deserializing)]
    pub created_at: String,
    #[serde(rename(deserialize = "created_at"), skip_serializing)]
    pub created_ms: i64,
    #[serde(skip_serializing, default)]
    spending_limit_amount: Option<i64>,
    #[serde(skip_serializing, default)]
    spending_limit_period: Option<SpendingPeriod>,
    /// `role:primary` pairs, comma-separated (one query reads contacts and their roles).
    #[serde(skip_serializing, default)]
    role_list: Option<String>,
}

const SELECT: &str = "SELECT c.id, c.company_id, c.first_name, c.last_name, c.email, c.phone, c.notes, c.active, \
    c.customer_subject, c.spending_limit_amount, c.spending_limit_period, c.created_at, \
    (SELECT group_concat(r.role || ':' || r.is_primary) FROM contact_roles r WHERE r.contact_id = c.id) AS role_list \
    FROM contacts c";

fn finish(mut c: ContactView) -> ContactView {
    c.created_at = rfc3339(c.created_ms);
    c.spending_limit = c
        .spending_limit_amount
        .zip(c.spending_limit_period)
        .map(|(amount, period)| SpendingLimit { amount, period });
    let mut roles: Vec<RoleView> = c
        .role_list
        .take()
        .unwrap_or_default()
        .split(',')
        .filter_map(|pair| {
            let (role, primary) = pair.split_once(':')?;
            Some(RoleView {
                role: ContactRole::parse(role)?,
                primary: primary == "1",
            })
        })
        .collect();
    roles.sort_by_key(|r| {
        ContactRole::VALUES
            .iter()
            .position(|v| *v == r.role.as_str())
    });
    c.roles = roles;
    c
}

/// The contacts of a company's list query (exposed for the query-plan test).
pub fn list_query(store_id: &str, company_id: &str) -> Stmt {
    stmt!(
        format!(
            "{SELECT} WHERE c.company_id = ? AND c.store_id = ? ORDER BY c.last_name, c.first_name, c.id LIMIT 500"
        ),
        company_id,
        store_id
    )
}

/// `GET /admin/api/v1/companies/{company_id}/contacts`: active and archived, by name.
///
/// # Errors
/// 404 when the company is not this store's.
pub async fn list<P: Platform>(
    p: &P,
    store_id: &str,
    company_id: &str,
) -> Result<Vec<ContactView>, AppError> {
    let rows: Vec<ContactView> = p.db().query(list_query(store_id, company_id)).await?;
    if rows.is_empty() {
        super::company(p, store_id, company_id).await?;
    }
    Ok(rows.into_iter().map(finish).collect())
}

/// One contact of the store, or 404.
///
/// # Errors
/// 404.
pub async fn contact<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
) -> Result<ContactView, AppError> {
    p.db()
        .first::<ContactView>(stmt!(
            format!("{SELECT} WHERE c.id = ? AND c.store_id = ?"),
            id,
            store_id
        ))
        .await?
        .map(finish)
        .ok_or(AppError::NotFound("contact"))
}

/// The active contact a signed-in customer acts as, if their subject is linked to one.
///
/// # Errors
/// Storage failures.
pub async fn of_subject<P: Platform>(
    p: &P,
    store_id: &str,
    subject: &str,
) -> Result<Option<ContactView>, AppError> {
    Ok(p.db()
        .first::<ContactView>(stmt!(
            format!("{SELECT} WHERE c.store_id = ? AND c.customer_subject = ? AND c.active = 1"),
            store_id,
            subject
        ))
        .await?
        .map(finish))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    #[schemars(length(min = 1, max = 100))]
    pub first_name: String,
    #[schemars(length(min = 1, max = 100))]
    pub last_name: String,
    /// Unique within the company (in any case).
    #[schemars(email, length(max = 254))]
    pub email: String,
    #[serde(default)]
    #[schemars(length(max = 40))]
    pub phone: Option<String>,
    #[serde(default)]
    #[schemars(length(max = 2000))]
    pub notes: Option<String>,
    #[serde(default)]
    pub roles: Vec<ContactRole>,
    /// Roles (among `roles`) this contact becomes the company's primary contact for.
    #[serde(default)]
    pub primary_roles: Vec<ContactRole>,
    /// The identity provider's subject of the person (the JWT `sub`), to let them act for
    /// the company in the storefront.
    #[serde(default)]
    #[schemars(length(max = 255))]
    pub customer_subject: Option<String>,
    #[serde(default)]
    pub spending_limit: Option<SpendingLimit>,
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactUpdate {
    #[serde(default)]
    #[schemars(length(min = 1, max = 100))]
    pub first_name: Option<String>,
    #[serde(default)]
    #[schemars(length(min = 1, max = 100))]
    pub last_name: Option<String>,
    #[serde(default)]
    #[schemars(email, length(max = 254))]
    pub email: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "crate::input::nullable")]
    #[schemars(length(max = 40))]
    pub phone: Option<Option<String>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "crate::input::nullable")]
    #[schemars(length(max = 2000))]
    pub notes: Option<Option<String>>,
    /// `null` unlinks the person.
    #[serde(default, deserialize_with = "crate::input::nullable")]
    #[schemars(length(max = 255))]
    pub customer_subject: Option<Option<String>>,
    /// `null` removes the limit.
    #[serde(default, deserialize_with = "crate::input::nullable")]
    pub spending_limit: Option<Option<SpendingLimit>>,
}

/// The roles a contact holds (replacing what they held) and those they are the primary
/// contact for.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RolesInput {
    pub roles: Vec<ContactRole>,
    #[serde(default)]
    pub primary_roles: Vec<ContactRole>,
}

struct Checked {
    first_name: String,
    last_name: String,
    email: String,
    phone: Option<String>,
    notes: Option<String>,
    customer_subject: Option<String>,
    spending_limit: Option<SpendingLimit>,
}

fn check_limit(limit: Option<SpendingLimit>) -> Result<Option<SpendingLimit>, AppError> {
    match limit {
        Some(l) if !(0..=100_000_000_000).contains(&l.amount) => Err(AppError::validation(
            "spending_limit.amount",
            "must be 0 to 100000000000 (minor units)",
        )),
        l => Ok(l),
    }
}

fn checked_roles(roles: &[ContactRole], primary: &[ContactRole]) -> Result<(), AppError> {
    match primary.iter().find(|r| !roles.contains(r)) {
        Some(r) => Err(AppError::validation(
            "primary_roles",
            format!("{} is not among the contact's roles", r.as_str()),
        )),
        None => Ok(()),
    }
}

fn refused(e: DbError) -> AppError {
    match e {
        DbError::Unique(m) if m.contains("email") => AppError::conflict(
            "contact_exists",
            "The company already has a contact with that email.",
        ),
        DbError::Unique(m) if m.contains("customer_subject") => AppError::conflict(
            "customer_already_linked",
            "That customer already acts for a company of this store (as another contact).",
        ),
        e => e.into(),
    }
}

/// The statements that give a contact exactly `roles`, primary for `primary` (which moves
/// the primary flag from whoever held it).
fn role_statements(
    company_id: &str,
    contact_id: &str,
    roles: &[ContactRole],
    primary: &[ContactRole],
    now: i64,
) -> Vec<Stmt> {
    let list = |rs: &[ContactRole]| {
        let names: Vec<String> = rs.iter().map(|r| format!("'{}'", r.as_str())).collect();
        if names.is_empty() {
            "''".to_owned()
        } else {
            names.join(", ")
        }
    };
    let (held, first) = (list(roles), list(primary));
    let mut out = vec![
        stmt!(
            format!("DELETE FROM contact_roles WHERE contact_id = ? AND role NOT IN ({held})"),
            contact_id
        ),
        stmt!(
            format!(
                "UPDATE contact_roles SET is_primary = 0 WHERE company_id = ? AND is_primary = 1 \
                 AND ((role IN ({first}) AND contact_id <> ?) OR (contact_id = ? AND role NOT IN ({first})))"
            ),
            company_id,
            contact_id,
            contact_id
        ),
    ];
    for role in roles {
        out.push(stmt!(
            "INSERT INTO contact_roles (company_id, contact_id, role, is_primary, created_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (company_id, contact_id, role) DO UPDATE SET is_primary = excluded.is_primary",
            company_id,
            contact_id,
            role.as_str(),
            primary.contains(role),
            now
        ));
    }
    out
}

/// `POST /admin/api/v1/companies/{company_id}/contacts`: the contact and their roles, one
/// batch.
///
/// # Errors
/// 404 company; 422 bad fields; 409 an email the company has, or a customer already
/// linked.
pub async fn create<P: Platform>(
    p: &P,
    store_id: &str,
    company_id: &str,
    input: ContactInput,
) -> Result<ContactView, AppError> {
    super::company(p, store_id, company_id).await?;
    checked_roles(&input.roles, &input.primary_roles)?;
    let c = Checked {
        first_name: crate::input::line("first_name", &input.first_name, 1, 100)?,
        last_name: crate::input::line("last_name", &input.last_name, 1, 100)?,
        email: crate::input::email("email", &input.email)?,
        phone: crate::input::optional_line("phone", input.phone.as_deref(), 40)?,
        notes: crate::input::optional_paragraph("notes", input.notes.as_deref(), 2000)?,
        customer_subject: crate::input::optional_line(
            "customer_subject",
            input.customer_subject.as_deref(),
            255,
        )?,
        spending_limit: check_limit(input.spending_limit)?,
    };
    let id = p.new_id("ctc");
    let now = p.now_ms();
    let mut batch = vec![stmt!(
        "INSERT INTO contacts (id, store_id, company_id, first_name, last_name, email, phone, notes, customer_subject, \
         spending_limit_amount, spending_limit_period, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &id,
        store_id,
        company_id,
        c.first_name,
        c.last_name,
        c.email,
        c.phone,
        c.notes,
        c.customer_subject,
        c.spending_limit.map(|l| l.amount),
        c.spending_limit.map(|l| l.period.as_str()),
        now,
        now
    )];
    batch.extend(role_statements(
        company_id,
        &id,
        &input.roles,
        &input.primary_roles,
        now,
    ));
    p.db().batch(batch).await.map_err(refused)?;
    contact(p, store_id, &id).await
}

/// `PATCH /admin/api/v1/contacts/{contact_id}`.
///
/// # Errors
/// 404; 422 bad fields; 409 a taken email or customer link.
pub async fn update<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
    input: ContactUpdate,
) -> Result<ContactView, AppError> {
    let cur = contact(p, store_id, id).await?;
    let line = |field: &str, v: Option<&String>, cur: String| -> Result<String, AppError> {
        v.map_or(Ok(cur), |v| crate::input::line(field, v, 1, 100))
    };
    let c = Checked {
        first_name: line("first_name", input.first_name.as_ref(), cur.first_name)?,
        last_name: line("last_name", input.last_name.as_ref(), cur.last_name)?,
        email: input
            .email
            .map_or(Ok(cur.email), |e| crate::input::email("email", &e))?,
        phone: match input.phone {
            Some(v) => crate::input::optional_line("phone", v.as_deref(), 40)?,
            None => cur.phone,
        },
        notes: match input.notes {
            Some(v) => crate::input::optional_paragraph("notes", v.as_deref(), 2000)?,
            None => cur.notes,
        },
        customer_subject: match input.customer_subject {
            Some(v) => crate::input::optional_line("customer_subject", v.as_deref(), 255)?,
            None => cur.customer_subject,
        },
        spending_limit: match input.spending_limit {
            Some(v) => check_limit(v)?,
            None => cur.spending_limit,
        },
    };
    p.db()
        .run(stmt!(
            "UPDATE contacts SET first_name = ?, last_name = ?, email = ?, phone = ?, notes = ?, customer_subject = ?, \
             spending_limit_amount = ?, spending_limit_period = ?, updated_at = ? WHERE id = ? AND store_id = ?",
            c.first_name,
            c.last_name,
            c.email,
            c.phone,
            c.notes,
            c.customer_subject,
            c.spending_limit.map(|l| l.amount),
            c.spending_limit.map(|l| l.period.as_str()),
            p.now_ms(),
            id,
            store_id
        ))
        .await
        .map_err(refused)?;
    contact(p, store_id, id).await
}

/// `POST /admin/api/v1/contacts/{contact_id}/archive`: inactive, no longer anyone's primary
/// contact; their orders and history stay. Archiving twice answers the same.
///
/// # Errors
/// 404.
pub async fn archive<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
) -> Result<ContactView, AppError> {
    let cur = contact(p, store_id, id).await?;
    if cur.active {
        p.db()
            .batch(vec![
                stmt!(
                    "UPDATE contacts SET active = 0, updated_at = ? WHERE id = ? AND store_id = ?",
                    p.now_ms(),
                    id,
                    store_id
                ),
                stmt!(
                    "UPDATE contact_roles SET is_primary = 0 WHERE contact_id = ?",
                    id
                ),
            ])
            .await?;
    }
    contact(p, store_id, id).await
}

/// `POST /admin/api/v1/contacts/{contact_id}/roles`: the contact's roles become exactly
/// these; each primary role moves to this contact.
///
/// # Errors
/// 404; 422 a primary role the contact does not hold; 409 an archived contact.
pub async fn set_roles<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
    input: RolesInput,
) -> Result<ContactView, AppError> {
    let cur = contact(p, store_id, id).await?;
    checked_roles(&input.roles, &input.primary_roles)?;
    if !cur.active {
        return Err(AppError::conflict(
            "contact_archived",
            "An archived contact holds no roles.",
        ));
    }
    let roles = input.roles;
    p.db()
        .batch(role_statements(
            &cur.company_id,
            id,
            &roles,
            &input.primary_roles,
            p.now_ms(),
        ))
        .await?;
    contact(p, store_id, id).await
}

/// The contact who pays for a company's order or invoice: the one named (active, of this
/// company) or the company's primary billing contact.
///
/// # Errors
/// 404 a contact of another company; 409 an archived one; 422 when none is named and the
/// company has no primary billing contact.
pub async fn billing_contact<P: Platform>(
    p: &P,
    store_id: &str,
    company_id: &str,
    id: Option<&str>,
) -> Result<String, AppError> {
    let id = match id {
        Some(id) => id.to_owned(),
        None => {
            let people = list(p, store_id, company_id).await?;
            people
                .into_iter()
                .find(|c| {
                    c.active
                        && c.roles
                            .iter()
                            .any(|r| r.role == crate::domain::ContactRole::Billing && r.primary)
                })
                .map(|c| c.id)
                .ok_or_else(|| {
                    AppError::validation(
                        "billing_contact_id",
                        "the company has no primary billing contact: name the contact who pays",
                    )
                })?
        }
    };
    match contact(p, store_id, &id).await {
        Ok(c) if c.company_id == company_id && c.active => Ok(c.id),
        Ok(c) if c.company_id == company_id => Err(AppError::conflict(
            "billing_contact_archived",
            "That contact is archived; choose an active one.",
        )),
        _ => Err(AppError::NotFound("contact of this company")),
    }
}
