use super::{bearer, jwt, secure_eq, sha256_hex};
use crate::AppError;
use crate::domain::Role;
use crate::ports::{Platform, PlatformExt};
use crate::sql::stores::{self, CustomerRow, StoreRow};
use std::cell::RefCell;
use std::collections::HashMap;

/// How long a Worker isolate trusts a store it read by publishable key. Every storefront
/// request needs the store; caching it saves a D1 round trip per request. Settings changed
/// in the admin API (and revoked keys) reach the storefront within this time.
pub const STORE_CACHE_MS: i64 = 30_000;

thread_local! {
    static STORES: RefCell<HashMap<String, (i64, StoreRow)>> = RefCell::new(HashMap::new());
}

async fn store_for_key<P: Platform>(p: &P, key: &str) -> Result<Option<StoreRow>, AppError> {
    let now = p.now_ms();
    let hit = STORES.with(|c| {
        c.borrow()
            .get(key)
            .filter(|(at, _)| now - at < STORE_CACHE_MS && now >= *at)
            .map(|(_, s)| s.clone())
    });
    if hit.is_some() {
        return Ok(hit);
    }
    let found = stores::store_by_publishable_key(p.db(), key).await?;
    if let Some(s) = &found {
        STORES.with(|c| {
            let mut c = c.borrow_mut();
            if c.len() >= 1000 {
                c.clear();
            }
            c.insert(key.to_owned(), (now, s.clone()));
        });
    }
    Ok(found)
}

/// A storefront request: the store chosen by its publishable key, and the customer when a
/// valid bearer JWT came with it.
pub struct StorefrontCaller {
    pub store: StoreRow,
    pub customer: Option<jwt::CustomerClaims>,
    /// `x-cart-token`, when sent.
    pub cart_token: Option<String>,
    /// `x-order-token` (from `POST /v1/orders/lookup`), when sent.
    pub order_token: Option<String>,
}

/// What a storefront request presents (the HTTP layer reads these headers:
/// `x-publishable-api-key`, `authorization`, `x-cart-token`, `x-order-token`).
#[derive(Debug, Default, Clone, Copy)]
pub struct StorefrontCredentials<'a> {
    pub publishable_key: Option<&'a str>,
    pub authorization: Option<&'a str>,
    pub cart_token: Option<&'a str>,
    pub order_token: Option<&'a str>,
}

/// What an admin request presents (`authorization`; `x-store-id` for the bootstrap key).
#[derive(Debug, Default, Clone, Copy)]
pub struct AdminCredentials<'a> {
    pub authorization: Option<&'a str>,
    pub store_id: Option<&'a str>,
}

/// # Errors
/// 401 for a missing or unknown publishable key, or a bearer token that fails
/// verification (a bad token is never treated as a guest).
pub async fn storefront_caller<P: Platform>(
    p: &P,
    presented: StorefrontCredentials<'_>,
) -> Result<StorefrontCaller, AppError> {
    let key = presented
        .publishable_key
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            AppError::unauthenticated(
                "publishable_key_missing",
                "Send the store's publishable key in x-publishable-api-key.",
            )
        })?;
    let store = store_for_key(p, key).await?.ok_or_else(|| {
        AppError::unauthenticated(
            "publishable_key_invalid",
            "The publishable key is unknown or revoked.",
        )
    })?;
    let customer = match presented.authorization {
        None => None,
        Some(h) => {
            let token = bearer(Some(h)).ok_or_else(|| {
                AppError::unauthenticated("invalid_token", "Authorization must be 'Bearer <JWT>'.")
            })?;
            let identity = store.settings.identity.as_ref().ok_or_else(|| {
                AppError::unauthenticated(
                    "invalid_token",
                    "This store has no identity provider; shop as a guest.",
                )
            })?;
            Some(jwt::verify(p, identity, token).await?)
        }
    };
    let cart_token = presented
        .cart_token
        .map(str::to_owned)
        .filter(|t| !t.is_empty());
    let order_token = presented
        .order_token
        .map(str::to_owned)
        .filter(|t| !t.is_empty());
    Ok(StorefrontCaller {
        store,
        customer,
        cart_token,
        order_token,
    })
}

/// The customer record of a verified caller, created on first sight.
///
/// # Errors
/// Storage failures.
pub async fn customer_of<P: Platform>(
    p: &P,
    store_id: &str,
    claims: &jwt::CustomerClaims,
) -> Result<CustomerRow, AppError> {
    Ok(stores::upsert_customer(
        p.db(),
        &p.new_id("cus"),
        store_id,
        &claims.sub,
        claims.email.as_deref(),
        p.now_ms(),
    )
    .await?)
}

/// An admin request.
#[derive(Debug, Clone)]
pub enum AdminCaller {
    /// The platform key from the `ADMIN_BOOTSTRAP_KEY` secret: creates and lists stores, and
    /// acts as superadmin of the store named by `x-store-id` (to recover a store whose keys
    /// were lost).
    Bootstrap { store_id: Option<String> },
    /// A store's admin key.
    Key {
        key_id: String,
        store_id: String,
        role: Role,
    },
}

impl AdminCaller {
    /// The id of the caller's own admin key; empty for the bootstrap key, which has none.
    pub fn own_key_id(&self) -> &str {
        match self {
            AdminCaller::Key { key_id, .. } => key_id,
            AdminCaller::Bootstrap { .. } => "",
        }
    }

    /// The store this caller acts on, if it has the role.
    ///
    /// # Errors
    /// 403 when the role is too low or the caller is the bootstrap key.
    pub fn require(&self, needed: Role) -> Result<(&str, Role), AppError> {
        match self {
            AdminCaller::Bootstrap { store_id: Some(id) } => Ok((id, Role::Superadmin)),
            AdminCaller::Bootstrap { store_id: None } => Err(AppError::Forbidden(
                "The bootstrap key acts on a store only when x-store-id names it; or use a store's admin key.".into(),
            )),
            AdminCaller::Key { store_id, role, .. } if role.allows(needed) => Ok((store_id, *role)),
            AdminCaller::Key { role, .. } => Err(AppError::Forbidden(format!(
                "This needs the {} role; the key has {}.",
                needed.as_str(),
                role.as_str()
            ))),
        }
    }
}

/// # Errors
/// 401 for a missing, malformed, unknown or revoked key.
pub async fn admin_caller<P: Platform>(
    p: &P,
    presented: AdminCredentials<'_>,
) -> Result<AdminCaller, AppError> {
    let key = bearer(presented.authorization).ok_or_else(|| {
        AppError::unauthenticated(
            "admin_key_missing",
            "Send 'Authorization: Bearer <admin key>'.",
        )
    })?;
    if let Some(boot) = p
        .settings()
        .bootstrap_admin_key
        .as_deref()
        .filter(|b| b.len() >= 16)
    {
        if secure_eq(boot.as_bytes(), key.as_bytes()) {
            let store_id = match presented.store_id.filter(|s| !s.is_empty()) {
                None => None,
                Some(id) => Some(
                    stores::store_by_id(p.db(), id)
                        .await?
                        .ok_or(AppError::NotFound("store"))?
                        .id,
                ),
            };
            return Ok(AdminCaller::Bootstrap { store_id });
        }
    }
    let row = stores::admin_key_by_hash(p.db(), &sha256_hex(key))
        .await?
        .ok_or_else(|| {
            AppError::unauthenticated("admin_key_invalid", "The admin key is unknown or revoked.")
        })?;
    Ok(AdminCaller::Key {
        key_id: row.id,
        store_id: row.store_id,
        role: row.role,
    })
}
