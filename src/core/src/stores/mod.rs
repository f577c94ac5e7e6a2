//! Stores (tenants) and their credentials.

pub mod admin_keys;
pub mod create_store;
pub mod update_store;

use crate::sql::stores::{StoreRow, StoreSettings};
use crate::time_fmt::rfc3339;
use serde::Serialize;

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct StoreView {
    pub id: String,
    pub name: String,
    pub order_prefix: String,
    pub currency: String,
    /// Secrets (the HS256 identity secret) are never shown.
    pub settings: StoreSettings,
    pub publishable_keys: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

pub fn store_view(s: StoreRow, publishable_keys: Vec<String>) -> StoreView {
    let mut settings = s.settings;
    if let Some(i) = settings.identity.as_mut() {
        i.hs256_secret = i.hs256_secret.as_ref().map(|_| "********".into());
    }
    settings.providers = settings.providers.masked();
    StoreView {
        id: s.id,
        name: s.name,
        order_prefix: s.order_prefix,
        currency: s.currency,
        settings,
        publishable_keys,
        created_at: rfc3339(s.created_at),
        updated_at: rfc3339(s.updated_at),
    }
}

/// Checks settings a store may be given.
///
/// # Errors
/// The first invalid field.
pub fn check_settings(s: &StoreSettings) -> Result<(), crate::AppError> {
    use crate::AppError;
    if let Some(e) = &s.operations_email {
        crate::input::email("settings.operations_email", e)?;
    }
    if let Some(u) = &s.alert_webhook_url {
        crate::outbound::call::check_url("settings.alert_webhook_url", u)?;
    }
    if let Some(i) = &s.identity {
        if i.issuer.is_empty() || i.audience.is_empty() {
            return Err(AppError::validation(
                "settings.identity",
                "issuer and audience are required",
            ));
        }
        if i.hs256_secret.is_none() && i.jwks_url.is_none() {
            return Err(AppError::validation(
                "settings.identity",
                "give hs256_secret or jwks_url",
            ));
        }
        if i.hs256_secret.as_ref().is_some_and(|k| k.len() < 32) {
            return Err(AppError::validation(
                "settings.identity.hs256_secret",
                "must have at least 32 characters",
            ));
        }
        if i.jwks_url
            .as_ref()
            .is_some_and(|u| !(u.starts_with("https://") || u.starts_with("http://")))
        {
            return Err(AppError::validation(
                "settings.identity.jwks_url",
                "must be an http(s) URL",
            ));
        }
    }
    if s.shipping.flat_amount < 0 || s.shipping.flat_amount > crate::domain::Money::MAX_PRICE {
        return Err(AppError::validation(
            "settings.shipping.flat_amount",
            "must be a non-negative amount in minor units",
        ));
    }
    if s.shipping.free_from_amount.is_some_and(|a| a < 0) {
        return Err(AppError::validation(
            "settings.shipping.free_from_amount",
            "must not be negative",
        ));
    }
    for (f, u) in [
        ("settings.success_url", &s.success_url),
        ("settings.cancel_url", &s.cancel_url),
    ] {
        if u.as_ref()
            .is_some_and(|u| !(u.starts_with("https://") || u.starts_with("http://")))
        {
            return Err(AppError::validation(f, "must be an http(s) URL"));
        }
    }
    if s.ship_to_countries.len() > 200
        || s.ship_to_countries
            .iter()
            .any(|c| c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()))
    {
        return Err(AppError::validation(
            "settings.ship_to_countries",
            "must be ISO 3166-1 alpha-2 codes such as GB or US",
        ));
    }
    Ok(())
}
