//! Promo codes, mirrored to Stripe: each is a Stripe coupon (the discount) plus a promotion
//! code (what shoppers type in Checkout, `allow_promotion_codes`). Creating is resumable:
//! the local row is written first, then both Stripe objects with Idempotency-Keys derived
//! from its id, so a retry after a failure half-way finishes the same objects. Redemptions
//! are counted from paid orders, whose promotion code comes from Stripe's webhook.

use crate::AppError;
use crate::db::{Db as _, DbExt as _};
use crate::orders::checkout::{stripe_config, stripe_failure};
use crate::payments::stripe_client;
use crate::ports::{Platform, PlatformExt as _};
use crate::stmt;
use crate::time_fmt::{parse_instant_ms, rfc3339};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoInput {
    #[schemars(regex(pattern = r"^[A-Za-z0-9_-]{3,40}$"), extend("examples" = ["SUMMER-25"]))]
    pub code: String,
    #[schemars(extend("enum" = ["percentage", "fixed_amount"]))]
    pub discount_type: String,
    #[schemars(range(min = 1, max = 100_000_000))]
    pub discount_value: i64,
    #[serde(default)]
    #[schemars(schema_with = "crate::domain::optional_currency_schema")]
    pub currency: Option<String>,
    #[serde(default)]
    #[schemars(length(max = 200))]
    pub description: Option<String>,
    #[serde(default)]
    #[schemars(range(min = 1, max = 10_000_000))]
    pub max_redemptions: Option<i64>,
    /// RFC 3339 or YYYY-MM-DD.
    #[serde(default)]
    #[schemars(extend("examples" = ["2030-01-01", "2030-01-01T00:00:00Z"]))]
    pub expires_at: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, Clone, schemars::JsonSchema)]
pub struct PromoView {
    pub id: String,
    pub code: String,
    pub description: Option<String>,
    pub discount_type: String,
    pub discount_value: i64,
    pub currency: Option<String>,
    pub max_redemptions: Option<i64>,
    #[serde(skip_deserializing)]
    pub expires_at: Option<String>,
    #[serde(deserialize_with = "crate::db::int_bool")]
    pub active: bool,
    pub redemptions: i64,
    pub stripe_coupon_id: Option<String>,
    pub stripe_promotion_code_id: Option<String>,
    /// `synced` once both Stripe objects exist; `pending` when creating stopped half-way.
    #[serde(skip_deserializing)]
    pub stripe_sync: String,
    #[serde(skip_deserializing)]
    pub created_at: String,
    #[serde(rename(deserialize = "expires_at"), skip_serializing, default)]
    pub expires_ms: Option<i64>,
    #[serde(rename(deserialize = "created_at"), skip_serializing)]
    pub created_ms: i64,
}

const SELECT: &str = "SELECT p.id, p.code, p.description, p.discount_type, p.discount_value, p.currency, p.max_redemptions, p.expires_at, \
    p.active = 1 AS active, p.stripe_coupon_id, p.stripe_promotion_code_id, p.created_at, \
    (SELECT COUNT(*) FROM orders o WHERE o.store_id = p.store_id AND o.promo_code = p.stripe_promotion_code_id AND o.financial_status <> 'unpaid') AS redemptions \
    FROM promo_codes p";

fn finish(mut v: PromoView) -> PromoView {
    v.expires_at = v.expires_ms.map(rfc3339);
    v.created_at = rfc3339(v.created_ms);
    v.stripe_sync = if v.stripe_promotion_code_id.is_some() {
        "synced"
    } else {
        "pending"
    }
    .into();
    v
}

/// The promo code list's query (exposed for the query-plan test).
pub fn list_query(store_id: &str) -> crate::db::Stmt {
    stmt!(
        format!(
            "{SELECT} WHERE p.store_id = ? AND p.deleted_at IS NULL ORDER BY p.created_at DESC, p.id DESC LIMIT 500"
        ),
        store_id
    )
}

/// `GET /admin/api/v1/promo-codes`: not deleted, newest first, with redemption counts.
///
/// # Errors
/// Storage failures.
pub async fn list<P: Platform>(p: &P, store_id: &str) -> Result<Vec<PromoView>, AppError> {
    let rows: Vec<PromoView> = p.db().query(list_query(store_id)).await?;
    Ok(rows.into_iter().map(finish).collect())
}

async fn one<P: Platform>(p: &P, store_id: &str, id: &str) -> Result<PromoView, AppError> {
    p.db()
        .first::<PromoView>(stmt!(
            format!("{SELECT} WHERE p.id = ? AND p.store_id = ? AND p.deleted_at IS NULL"),
            id,
            store_id
        ))
        .await?
        .map(finish)
        .ok_or(AppError::NotFound("promo code"))
}

/// `GET /admin/api/v1/promo-codes/{id}`.
///
/// # Errors
/// 404.
pub async fn get<P: Platform>(p: &P, store_id: &str, id: &str) -> Result<PromoView, AppError> {
    one(p, store_id, id).await
}

struct Checked {
    code: String,
    discount_type: &'static str,
    value: i64,
    currency: Option<String>,
    description: Option<String>,
    max_redemptions: Option<i64>,
    expires_ms: Option<i64>,
}

fn check(input: PromoInput, now: i64) -> Result<Checked, AppError> {
    let code = input.code.trim().to_uppercase();
    if code.len() < 3
        || code.len() > 40
        || !code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(AppError::validation(
            "code",
            "must be 3 to 40 letters, digits, - or _",
        ));
    }
    let (discount_type, value) = match input.discount_type.as_str() {
        "percentage" if (1..=100).contains(&input.discount_value) => {
            ("percentage", input.discount_value)
        }
        "percentage" => {
            return Err(AppError::validation(
                "discount_value",
                "a percentage is 1 to 100",
            ));
        }
        "fixed_amount" if (1..=100_000_000).contains(&input.discount_value) => {
            ("fixed_amount", input.discount_value)
        }
        "fixed_amount" => {
            return Err(AppError::validation(
                "discount_value",
                "an amount is 1 to 100000000 minor units",
            ));
        }
        _ => {
            return Err(AppError::validation(
                "discount_type",
                "must be percentage or fixed_amount",
            ));
        }
    };
    let currency = match (discount_type, input.currency.as_deref()) {
        ("fixed_amount", None) => {
            return Err(AppError::validation(
                "currency",
                "a fixed amount needs a currency",
            ));
        }
        (_, Some(c)) => {
            let c = crate::domain::Currency::parse(c)
                .map_err(|m| AppError::validation("currency", m))?;
            if discount_type == "fixed_amount" {
                c.check_amount(value)
                    .map_err(|m| AppError::validation("discount_value", m))?;
            }
            Some(c.as_str().to_lowercase())
        }
        _ => None,
    };
    if input
        .max_redemptions
        .is_some_and(|m| !(1..=10_000_000).contains(&m))
    {
        return Err(AppError::validation(
            "max_redemptions",
            "must be 1 to 10000000",
        ));
    }
    let expires_ms = input
        .expires_at
        .as_deref()
        .map(|e| {
            parse_instant_ms(e).ok_or_else(|| {
                AppError::validation("expires_at", "must be a date or RFC 3339 time")
            })
        })
        .transpose()?;
    if expires_ms.is_some_and(|e| e <= now) {
        return Err(AppError::validation("expires_at", "must be in the future"));
    }
    let description =
        crate::input::optional_line("description", input.description.as_deref(), 200)?;
    Ok(Checked {
        code,
        discount_type,
        value,
        currency,
        description,
        max_redemptions: input.max_redemptions,
        expires_ms,
    })
}

#[derive(Deserialize, schemars::JsonSchema)]
struct Existing {
    id: String,
    discount_type: String,
    discount_value: i64,
    currency: Option<String>,
    stripe_promotion_code_id: Option<String>,
}

/// `POST /admin/api/v1/promo-codes`.
///
/// # Errors
/// 422 bad input; 409 the code exists; 502/503 Stripe (the row stays `pending` and the same
/// request finishes it).
pub async fn create<P: Platform>(
    p: &P,
    store_id: &str,
    created_by: &str,
    input: PromoInput,
) -> Result<PromoView, AppError> {
    let cfg = stripe_config(p)?.clone();
    let now = p.now_ms();
    let c = check(input, now)?;
    let id = p.new_id("promo");
    p.db()
        .run(stmt!(
            "INSERT INTO promo_codes (id, store_id, code, description, discount_type, discount_value, currency, max_redemptions, expires_at, created_by, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            &id, store_id, &c.code, &c.description, c.discount_type, c.value, &c.currency, c.max_redemptions, c.expires_ms, created_by, now, now
        ))
        .await?;
    let row: Existing = p
        .db()
        .first(stmt!(
            "SELECT id, discount_type, discount_value, currency, stripe_promotion_code_id FROM promo_codes WHERE store_id = ? AND code = ? AND deleted_at IS NULL",
            store_id,
            &c.code
        ))
        .await?
        .ok_or(AppError::NotFound("promo code"))?;
    // Someone else's code, or one already finished: the code is taken. The same code left
    // half-way with the same discount is finished instead.
    let same = row.discount_type == c.discount_type
        && row.discount_value == c.value
        && row.currency == c.currency;
    if row.id != id && (row.stripe_promotion_code_id.is_some() || !same) {
        return Err(AppError::conflict(
            "promo_code_exists",
            format!("The code {} already exists.", c.code),
        ));
    }
    let id = row.id;
    let mut coupon = json!({ "duration": "once", "name": c.code, "metadata": { "promo_code_id": id, "store_id": store_id } });
    if c.discount_type == "percentage" {
        coupon["percent_off"] = json!(c.value);
    } else {
        coupon["amount_off"] = json!(c.value);
        coupon["currency"] = json!(c.currency);
    }
    if let Some(m) = c.max_redemptions {
        coupon["max_redemptions"] = json!(m);
    }
    if let Some(e) = c.expires_ms {
        coupon["redeem_by"] = json!(e / 1000);
    }
    let coupon =
        match stripe_client::post(p, &cfg, "/v1/coupons", &coupon, &format!("coupon:{id}")).await {
            Ok(c) => c,
            Err(e) => return Err(refused(p, &id, e).await),
        };
    let coupon_id = coupon["id"].as_str().unwrap_or_default().to_owned();
    let mut promo = json!({ "coupon": coupon_id, "code": c.code, "active": true, "metadata": { "promo_code_id": id } });
    if let Some(m) = c.max_redemptions {
        promo["max_redemptions"] = json!(m);
    }
    if let Some(e) = c.expires_ms {
        promo["expires_at"] = json!(e / 1000);
    }
    let promo = stripe_client::post(
        p,
        &cfg,
        "/v1/promotion_codes",
        &promo,
        &format!("promotion_code:{id}"),
    )
    .await;
    let promo = match promo {
        Ok(pc) => pc,
        Err(e) => return Err(refused(p, &id, e).await),
    };
    p.db()
        .run(stmt!(
            "UPDATE promo_codes SET stripe_coupon_id = ?, stripe_promotion_code_id = ?, updated_at = ? WHERE id = ?",
            &coupon_id,
            promo["id"].as_str(),
            p.now_ms(),
            &id
        ))
        .await?;
    one(p, store_id, &id).await
}

/// A failed Stripe call while creating. A refusal (Stripe will not take this code, e.g. it is
/// already active there) removes the unfinished local row and is the client's 409; anything
/// else keeps the row for the same request to finish.
async fn refused<P: Platform>(p: &P, id: &str, e: stripe_client::StripeError) -> AppError {
    match e {
        stripe_client::StripeError::Rejected { message, .. } => {
            let removed = p
                .db()
                .run(stmt!(
                    "DELETE FROM promo_codes WHERE id = ? AND stripe_promotion_code_id IS NULL",
                    id
                ))
                .await;
            match removed {
                Ok(_) => AppError::conflict(
                    "promo_code_refused",
                    format!("Stripe refused the promo code: {message}"),
                ),
                Err(db) => db.into(),
            }
        }
        other => stripe_failure(other),
    }
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoUpdate {
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    #[schemars(length(max = 200))]
    pub description: Option<String>,
}

/// `PATCH /admin/api/v1/promo-codes/{id}`: (de)activate — at Stripe first, so Checkout never
/// accepts a code the admin shows as inactive — and the description.
///
/// # Errors
/// 404; 422; 502/503 Stripe (nothing changed locally).
pub async fn update<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
    input: PromoUpdate,
) -> Result<PromoView, AppError> {
    let description = input
        .description
        .as_deref()
        .map(|d| crate::input::line("description", d, 0, 200))
        .transpose()?;
    let current = one(p, store_id, id).await?;
    if let Some(active) = input.active
        && active != current.active
    {
        set_active_at_stripe(p, &current, active).await?;
    }
    p.db()
        .run(stmt!(
            "UPDATE promo_codes SET active = COALESCE(?, active), description = COALESCE(?, description), updated_at = ? WHERE id = ? AND store_id = ?",
            input.active.map(i64::from),
            description,
            p.now_ms(),
            id,
            store_id
        ))
        .await?;
    one(p, store_id, id).await
}

async fn set_active_at_stripe<P: Platform>(
    p: &P,
    promo: &PromoView,
    active: bool,
) -> Result<(), AppError> {
    let Some(pc) = &promo.stripe_promotion_code_id else {
        return Ok(());
    };
    let cfg = stripe_config(p)?.clone();
    let key = format!("promotion_code:{}:active:{active}:{}", promo.id, p.now_ms());
    stripe_client::post(
        p,
        &cfg,
        &format!("/v1/promotion_codes/{pc}"),
        &json!({ "active": active }),
        &key,
    )
    .await
    .map_err(stripe_failure)?;
    Ok(())
}

/// `DELETE /admin/api/v1/promo-codes/{id}`: deactivated at Stripe, hidden here, kept for the
/// orders that used it.
///
/// # Errors
/// 404; 502/503 Stripe.
/// What deleting a promo code answers.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct DeletedPromo {
    pub id: String,
    /// Always `true`.
    pub deleted: bool,
    /// How many orders used it (they keep it).
    pub redemptions: i64,
}

pub async fn delete<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
) -> Result<DeletedPromo, AppError> {
    let current = one(p, store_id, id).await?;
    if current.active {
        set_active_at_stripe(p, &current, false).await?;
    }
    let now = p.now_ms();
    p.db()
        .run(stmt!(
            "UPDATE promo_codes SET active = 0, deleted_at = ?, updated_at = ? WHERE id = ? AND store_id = ? AND deleted_at IS NULL",
            now,
            now,
            id,
            store_id
        ))
        .await?;
    Ok(DeletedPromo {
        id: id.to_owned(),
        deleted: true,
        redemptions: current.redemptions,
    })
}
