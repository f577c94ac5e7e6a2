use crate::db::{Db, DbError, DbExt, Stmt, json_column};
use crate::domain::{ProviderCode, Role};
use crate::stmt;
use serde::{Deserialize, Serialize};

/// Store settings kept as JSON beside the store.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, schemars::JsonSchema)]
#[serde(default)]
pub struct StoreSettings {
    /// How customers' bearer JWTs are verified; without it, only guests can shop.
    pub identity: Option<IdentitySettings>,
    pub shipping: ShippingRates,
    #[schemars(regex(pattern = r"^https?://\S+$"))]
    pub success_url: Option<String>,
    #[schemars(regex(pattern = r"^https?://\S+$"))]
    pub cancel_url: Option<String>,
    /// Minutes after payment during which a customer may cancel.
    #[schemars(range(max = 4_294_967_295u32))]
    pub cancellation_window_minutes: Option<u32>,
    /// Provider for physical items whose variant names none.
    pub default_provider: Option<ProviderCode>,
    /// Countries Stripe Checkout offers for the shipping address (ISO alpha-2); empty
    /// means [`DEFAULT_SHIP_TO`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 200), inner(regex(pattern = r"^[A-Z]{2}$")))]
    pub ship_to_countries: Vec<String>,
    /// Each provider's credentials and options. Secrets are shown as `********`.
    pub providers: ProviderSettings,
    /// Where operational news goes by email (a webhook endpoint disabled, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 254), extend("examples" = ["ops@shop.example"]))]
    pub operations_email: Option<String>,
    /// A chat webhook (Slack-style `{"text": …}` JSON) that receives alerts: automation
    /// failures or a queue backlog past their thresholds, at most once per condition an hour.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^https?://\S+$"), length(max = 500))]
    pub alert_webhook_url: Option<String>,
}

/// Per-store provider accounts. A provider without settings cannot be submitted to (its
/// fulfillment orders fail with a clear error an operator can fix and retry).
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, schemars::JsonSchema)]
#[serde(default)]
pub struct ProviderSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub printful: Option<ProviderAccount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prodigi: Option<ProviderAccount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gooten: Option<ProviderAccount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gelato: Option<ProviderAccount>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, schemars::JsonSchema)]
#[serde(default)]
pub struct ProviderAccount {
    /// Printful token, Prodigi and Gelato API key, Gooten partner billing key.
    pub api_key: Option<String>,
    /// Printful `X-PF-Store-Id`, Gooten `recipeid`.
    pub account_id: Option<String>,
    /// Authenticates the provider's webhooks: Prodigi HMAC key, and the secret in every
    /// provider's callback URL (`?secret=`).
    pub webhook_secret: Option<String>,
    /// Gelato: `manual` (an operator places the order in Gelato's portal) or `api`.
    pub mode: Option<String>,
    /// Prodigi `shippingMethod`, Gooten `ShipType`, Gelato `shipmentMethodUid`.
    pub shipping_method: Option<String>,
}

impl ProviderSettings {
    pub fn account(&self, provider: ProviderCode) -> Option<&ProviderAccount> {
        match provider {
            ProviderCode::Printful => self.printful.as_ref(),
            ProviderCode::Prodigi => self.prodigi.as_ref(),
            ProviderCode::Gooten => self.gooten.as_ref(),
            ProviderCode::Gelato => self.gelato.as_ref(),
            ProviderCode::Manual | ProviderCode::Warehouse => None,
        }
    }
    fn accounts_mut(&mut self) -> [&mut Option<ProviderAccount>; 4] {
        [
            &mut self.printful,
            &mut self.prodigi,
            &mut self.gooten,
            &mut self.gelato,
        ]
    }
    /// Secrets replaced by `********` (what the API shows).
    pub fn masked(mut self) -> Self {
        for a in self.accounts_mut().into_iter().flatten() {
            for s in [&mut a.api_key, &mut a.webhook_secret] {
                if s.is_some() {
                    *s = Some(MASK.into());
                }
            }
        }
        self
    }
    /// Keeps the stored secret where an update sends back the mask.
    pub fn keep_masked_from(&mut self, old: &ProviderSettings) {
        let old = [&old.printful, &old.prodigi, &old.gooten, &old.gelato];
        for (new, old) in self.accounts_mut().into_iter().zip(old) {
            if let (Some(n), Some(o)) = (new.as_mut(), old.as_ref()) {
                if n.api_key.as_deref() == Some(MASK) {
                    n.api_key = o.api_key.clone();
                }
                if n.webhook_secret.as_deref() == Some(MASK) {
                    n.webhook_secret = o.webhook_secret.clone();
                }
            }
        }
    }
}

/// What the API shows instead of a secret.
pub const MASK: &str = "********";

/// Where a store ships when its settings do not say.
pub const DEFAULT_SHIP_TO: &[&str] = &[
    "US", "CA", "GB", "IE", "FR", "DE", "NL", "BE", "LU", "ES", "PT", "IT", "AT", "CH", "DK", "SE",
    "NO", "FI", "PL", "CZ", "AU", "NZ", "JP",
];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[schemars(extend("anyOf" = [{ "required": ["hs256_secret"] }, { "required": ["jwks_url"] }]))]
pub struct IdentitySettings {
    #[schemars(length(min = 1))]
    pub issuer: String,
    #[schemars(length(min = 1))]
    pub audience: String,
    /// Shared secret for HS256 tokens. Never returned by the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// At least 32 characters; answers show it as `********`, and sending that back
    /// keeps the current secret.
    #[schemars(regex(pattern = r"^(?:\*{8}|[\s\S]{32,})$"), extend("examples" = ["a-shared-secret-of-at-least-32-characters"]))]
    pub hs256_secret: Option<String>,
    /// JWKS for RS256/ES256 tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^https?://\S+$"))]
    pub jwks_url: Option<String>,
}

/// Flat shipping below a threshold, free from it (seed default: 9.99 below 150.00).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct ShippingRates {
    #[schemars(range(min = 0, max = 100_000_000))]
    pub flat_amount: i64,
    #[schemars(range(min = 0))]
    pub free_from_amount: Option<i64>,
}

impl Default for ShippingRates {
    fn default() -> Self {
        ShippingRates {
            flat_amount: 999,
            free_from_amount: Some(15_000),
        }
    }
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct StoreRow {
    pub id: String,
    pub name: String,
    pub order_prefix: String,
    pub currency: String,
    #[serde(deserialize_with = "json_column")]
    pub settings: StoreSettings,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct AdminKeyRow {
    pub id: String,
    pub store_id: String,
    pub key_prefix: String,
    pub role: Role,
    pub label: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

pub fn insert_store(s: &StoreRow) -> Stmt {
    stmt!(
        "INSERT INTO stores (id, name, order_prefix, currency, settings, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        &s.id,
        &s.name,
        &s.order_prefix,
        &s.currency,
        serde_json::to_string(&s.settings).unwrap_or_else(|_| "{}".into()),
        s.created_at,
        s.updated_at,
    )
}

pub fn insert_publishable_key(key: &str, store_id: &str, now: i64) -> Stmt {
    stmt!(
        "INSERT INTO publishable_keys (key, store_id, created_at) VALUES (?, ?, ?)",
        key,
        store_id,
        now
    )
}

pub fn insert_admin_key(k: &AdminKeyRow, key_hash: &str) -> Stmt {
    stmt!(
        "INSERT INTO admin_keys (id, store_id, key_hash, key_prefix, role, label, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        &k.id,
        &k.store_id,
        key_hash,
        &k.key_prefix,
        k.role.as_str(),
        &k.label,
        k.created_at,
    )
}

pub async fn store_by_publishable_key(
    db: &impl Db,
    key: &str,
) -> Result<Option<StoreRow>, DbError> {
    db.first(stmt!(
        "SELECT s.* FROM publishable_keys k JOIN stores s ON s.id = k.store_id WHERE k.key = ? AND k.revoked_at IS NULL",
        key
    ))
    .await
}

pub async fn store_by_id(db: &impl Db, id: &str) -> Result<Option<StoreRow>, DbError> {
    db.first(stmt!("SELECT * FROM stores WHERE id = ?", id))
        .await
}

pub async fn stores_page(
    db: &impl Db,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<StoreRow>, DbError> {
    db.query(stmt!(
        "SELECT * FROM stores WHERE id > ? ORDER BY id LIMIT ?",
        after.unwrap_or(""),
        limit
    ))
    .await
}

pub async fn publishable_keys(db: &impl Db, store_id: &str) -> Result<Vec<String>, DbError> {
    #[derive(Deserialize, schemars::JsonSchema)]
    struct K {
        key: String,
    }
    let rows: Vec<K> = db
        .query(stmt!("SELECT key FROM publishable_keys WHERE store_id = ? AND revoked_at IS NULL ORDER BY created_at", store_id))
        .await?;
    Ok(rows.into_iter().map(|k| k.key).collect())
}

pub async fn update_store(db: &impl Db, s: &StoreRow) -> Result<u64, DbError> {
    db.run(stmt!(
        "UPDATE stores SET name = ?, settings = ?, updated_at = ? WHERE id = ?",
        &s.name,
        serde_json::to_string(&s.settings).unwrap_or_else(|_| "{}".into()),
        s.updated_at,
        &s.id
    ))
    .await
}

pub async fn admin_key_by_hash(
    db: &impl Db,
    key_hash: &str,
) -> Result<Option<AdminKeyRow>, DbError> {
    db.first(stmt!(
        "SELECT id, store_id, key_prefix, role, label, created_at, revoked_at FROM admin_keys WHERE key_hash = ? AND revoked_at IS NULL",
        key_hash
    ))
    .await
}

pub async fn admin_keys(db: &impl Db, store_id: &str) -> Result<Vec<AdminKeyRow>, DbError> {
    db.query(stmt!(
        "SELECT id, store_id, key_prefix, role, label, created_at, revoked_at FROM admin_keys WHERE store_id = ? ORDER BY id",
        store_id
    ))
    .await
}

pub async fn update_admin_key(
    db: &impl Db,
    store_id: &str,
    id: &str,
    role: Role,
    label: &str,
) -> Result<u64, DbError> {
    db.run(stmt!(
        "UPDATE admin_keys SET role = ?, label = ? WHERE id = ? AND store_id = ? AND revoked_at IS NULL",
        role.as_str(),
        label,
        id,
        store_id
    ))
    .await
}

pub async fn revoke_admin_key(
    db: &impl Db,
    store_id: &str,
    id: &str,
    now: i64,
) -> Result<u64, DbError> {
    db.run(stmt!(
        "UPDATE admin_keys SET revoked_at = ? WHERE id = ? AND store_id = ? AND revoked_at IS NULL",
        now,
        id,
        store_id
    ))
    .await
}

/// The customer for an identity-provider subject, created on first sight.
pub async fn upsert_customer(
    db: &impl Db,
    new_id: &str,
    store_id: &str,
    subject: &str,
    email: Option<&str>,
    now: i64,
) -> Result<CustomerRow, DbError> {
    if let Some(c) = customer_by_subject(db, store_id, subject).await? {
        return Ok(c);
    }
    db.run(stmt!(
        "INSERT INTO customers (id, store_id, subject, email, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        new_id,
        store_id,
        subject,
        email,
        now,
        now
    ))
    .await?;
    customer_by_subject(db, store_id, subject)
        .await?
        .ok_or_else(|| DbError::Decode("customer vanished after insert".into()))
}

pub async fn customer_by_subject(
    db: &impl Db,
    store_id: &str,
    subject: &str,
) -> Result<Option<CustomerRow>, DbError> {
    db.first(stmt!("SELECT id, store_id, subject, email, blocked FROM customers WHERE store_id = ? AND subject = ?", store_id, subject))
        .await
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct CustomerRow {
    pub id: String,
    pub store_id: String,
    pub subject: String,
    pub email: Option<String>,
    pub blocked: i64,
}
