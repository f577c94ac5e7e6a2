//! Print-on-demand providers behind one trait, each declaring what it can do. Every create
//! carries an idempotency reference derived from our fulfillment order id.

mod gelato;
mod gooten;
mod manual;
mod printful;
mod prodigi;

pub use gelato::Gelato;
pub use gooten::Gooten;
pub use manual::Manual;
pub use printful::Printful;
pub use prodigi::Prodigi;

use crate::domain::ProviderCode;
use crate::ports::{HttpClient, OutboundRequest, Platform};
use crate::sql::stores::ProviderAccount;
use serde::Serialize;
use serde_json::Value;

/// What a provider can do, so callers never ask for what it lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Capabilities {
    /// It calls our webhook with status changes.
    pub push_webhooks: bool,
    /// We ask it for status (Gooten).
    pub polling: bool,
    pub cancel: bool,
    /// An order can be found by our reference, so a recovered claim never creates twice.
    pub lookup_by_reference: bool,
}

/// Everything a provider needs to make one fulfillment order, read from D1.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Submission {
    /// Our fulfillment order id: the idempotency reference every create carries.
    pub reference: String,
    pub order_number: String,
    pub currency: String,
    pub recipient: Recipient,
    pub items: Vec<SubmissionItem>,
}

#[derive(Debug, Clone, Serialize, Default, schemars::JsonSchema)]
pub struct Recipient {
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub state: Option<String>,
    pub postal_code: String,
    pub country: String,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SubmissionItem {
    /// Our fulfillment order line id (providers echo it per item).
    pub line_id: String,
    pub sku: String,
    pub external_variant_id: Option<String>,
    pub title: String,
    pub quantity: i64,
    pub unit_price: i64,
    /// (print area, file URL) from the variant's design placements.
    pub files: Vec<(String, String)>,
}

/// The provider took the order.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    /// The provider's order id (none for manual fulfilment).
    pub external_id: Option<String>,
    pub cost: Option<i64>,
}

/// What a provider said to a cancellation.
#[derive(Debug, Clone, PartialEq)]
pub enum CancelOutcome {
    Cancelled,
    /// Too late (in production, shipped), in the provider's words.
    Refused(String),
    /// Nobody to ask: an operator must stop it where it was placed (manual fulfilment).
    OperatorTask,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    /// The provider refused the order; sending it again will not help (fix, then retry).
    #[error("{0}")]
    Rejected(String),
    /// Timeout, 5xx or 429: try again after this many seconds (`Retry-After` when given).
    #[error("{message}")]
    Retry {
        after_s: Option<u32>,
        message: String,
    },
    /// The store has no account for this provider.
    #[error("{0}")]
    NotConfigured(String),
}

pub trait Provider {
    fn code(&self) -> ProviderCode;
    fn capabilities(&self) -> Capabilities;
    /// Creates the order at the provider (idempotent by `s.reference`).
    async fn submit<P: Platform>(&self, p: &P, s: &Submission) -> Result<Accepted, ProviderError>;
    /// The order made earlier for this reference, if the provider has one.
    async fn lookup<P: Platform>(
        &self,
        p: &P,
        reference: &str,
    ) -> Result<Option<Accepted>, ProviderError>;
    /// Asks the provider to stop the order (`external_id` is its id).
    async fn cancel<P: Platform>(
        &self,
        p: &P,
        external_id: &str,
    ) -> Result<CancelOutcome, ProviderError>;
}

/// One of the providers, chosen by code from the store's accounts.
pub enum AnyProvider {
    Printful(Printful),
    Prodigi(Prodigi),
    Gooten(Gooten),
    Gelato(Gelato),
    Manual(Manual),
}

impl AnyProvider {
    /// # Errors
    /// [`ProviderError::NotConfigured`] when the store has no account for an API provider.
    pub fn for_store<P: Platform>(
        p: &P,
        code: ProviderCode,
        accounts: &crate::sql::stores::ProviderSettings,
    ) -> Result<Self, ProviderError> {
        let bases = &p.settings().provider_bases;
        let account = || -> Result<ProviderAccount, ProviderError> {
            accounts
                .account(code)
                .filter(|a| a.api_key.is_some())
                .cloned()
                .ok_or_else(|| {
                    ProviderError::NotConfigured(format!(
                        "The store has no {} account (settings.providers.{}.api_key); set it, then retry.",
                        code.as_str(),
                        code.as_str()
                    ))
                })
        };
        Ok(match code {
            ProviderCode::Printful => {
                AnyProvider::Printful(Printful::new(&bases.printful, account()?))
            }
            ProviderCode::Prodigi => AnyProvider::Prodigi(Prodigi::new(&bases.prodigi, account()?)),
            ProviderCode::Gooten => AnyProvider::Gooten(Gooten::new(&bases.gooten, account()?)),
            // Gelato runs manually (an operator uses Gelato's portal) unless set to `api`.
            ProviderCode::Gelato => match accounts
                .gelato
                .as_ref()
                .filter(|a| a.mode.as_deref() == Some("api"))
            {
                Some(_) => AnyProvider::Gelato(Gelato::new(&bases.gelato, account()?)),
                None => AnyProvider::Manual(Manual(ProviderCode::Gelato)),
            },
            ProviderCode::Manual | ProviderCode::Warehouse => AnyProvider::Manual(Manual(code)),
        })
    }
}

impl Provider for AnyProvider {
    fn code(&self) -> ProviderCode {
        match self {
            AnyProvider::Printful(x) => x.code(),
            AnyProvider::Prodigi(x) => x.code(),
            AnyProvider::Gooten(x) => x.code(),
            AnyProvider::Gelato(x) => x.code(),
            AnyProvider::Manual(x) => x.code(),
        }
    }
    fn capabilities(&self) -> Capabilities {
        match self {
            AnyProvider::Printful(x) => x.capabilities(),
            AnyProvider::Prodigi(x) => x.capabilities(),
            AnyProvider::Gooten(x) => x.capabilities(),
            AnyProvider::Gelato(x) => x.capabilities(),
            AnyProvider::Manual(x) => x.capabilities(),
        }
    }
    async fn submit<P: Platform>(&self, p: &P, s: &Submission) -> Result<Accepted, ProviderError> {
        match self {
            AnyProvider::Printful(x) => x.submit(p, s).await,
            AnyProvider::Prodigi(x) => x.submit(p, s).await,
            AnyProvider::Gooten(x) => x.submit(p, s).await,
            AnyProvider::Gelato(x) => x.submit(p, s).await,
            AnyProvider::Manual(x) => x.submit(p, s).await,
        }
    }
    async fn lookup<P: Platform>(
        &self,
        p: &P,
        reference: &str,
    ) -> Result<Option<Accepted>, ProviderError> {
        match self {
            AnyProvider::Printful(x) => x.lookup(p, reference).await,
            AnyProvider::Prodigi(x) => x.lookup(p, reference).await,
            AnyProvider::Gooten(x) => x.lookup(p, reference).await,
            AnyProvider::Gelato(x) => x.lookup(p, reference).await,
            AnyProvider::Manual(x) => x.lookup(p, reference).await,
        }
    }
    async fn cancel<P: Platform>(
        &self,
        p: &P,
        external_id: &str,
    ) -> Result<CancelOutcome, ProviderError> {
        match self {
            AnyProvider::Printful(x) => x.cancel(p, external_id).await,
            AnyProvider::Prodigi(x) => x.cancel(p, external_id).await,
            AnyProvider::Gooten(x) => x.cancel(p, external_id).await,
            AnyProvider::Gelato(x) => x.cancel(p, external_id).await,
            AnyProvider::Manual(x) => x.cancel(p, external_id).await,
        }
    }
}

/// A provider's answer: status and JSON body (empty object when not JSON).
pub(crate) struct Answer {
    pub status: u16,
    pub body: Value,
}

/// Sends one JSON request; network failures, timeouts, 429 and 5xx become
/// [`ProviderError::Retry`] (honouring `Retry-After`), everything else is an [`Answer`].
pub(crate) async fn call<P: Platform>(
    p: &P,
    method: &'static str,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<&Value>,
) -> Result<Answer, ProviderError> {
    let mut headers = headers;
    if body.is_some() {
        headers.push(("content-type".into(), "application/json".into()));
    }
    let resp = p
        .http()
        .send(OutboundRequest {
            method,
            url: url.clone(),
            headers,
            body: body.map(|b| b.to_string().into_bytes()),
            timeout_ms: None,
        })
        .await
        .map_err(|e| ProviderError::Retry {
            after_s: None,
            message: format!("{method} {url}: {e}"),
        })?;
    if resp.status == 429 || resp.status >= 500 {
        return Err(ProviderError::Retry {
            after_s: resp
                .header("retry-after")
                .and_then(|v| v.trim().parse().ok()),
            message: format!(
                "{method} {url} answered {}: {}",
                resp.status,
                String::from_utf8_lossy(&resp.body)
                    .chars()
                    .take(300)
                    .collect::<String>()
            ),
        });
    }
    Ok(Answer {
        status: resp.status,
        body: serde_json::from_slice(&resp.body)
            .unwrap_or_else(|_| Value::Object(Default::default())),
    })
}

/// A refusal with the provider's own words.
pub(crate) fn rejected(provider: &str, a: &Answer, message: Option<&str>) -> ProviderError {
    ProviderError::Rejected(format!(
        "{provider} refused the order ({}): {}",
        a.status,
        message.unwrap_or("no reason given")
    ))
}

/// A provider's decimal amount ("12.50" or 12.5) in minor units of `currency`.
pub(crate) fn minor_units(v: &Value, currency: &str) -> Option<i64> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    crate::domain::parse_amount(&s, currency)
}

/// "Sam Q. Shopper" → ("Sam Q.", "Shopper").
pub(crate) fn split_name(name: &str) -> (String, String) {
    match name.trim().rsplit_once(' ') {
        Some((first, last)) => (first.to_owned(), last.to_owned()),
        None => (name.trim().to_owned(), String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_names_convert_both_ways() {
        assert_eq!(minor_units(&Value::from("12.50"), "USD"), Some(1250));
        assert_eq!(minor_units(&Value::from("7"), "USD"), Some(700));
        assert_eq!(minor_units(&Value::from("7.5"), "USD"), Some(750));
        assert_eq!(minor_units(&serde_json::json!(3.25), "usd"), Some(325));
        assert_eq!(minor_units(&Value::from("1500"), "JPY"), Some(1500));
        assert_eq!(minor_units(&Value::from("2.5"), "KWD"), Some(2500));
        assert_eq!(
            split_name("Sam Q. Shopper"),
            ("Sam Q.".into(), "Shopper".into())
        );
        assert_eq!(split_name("Cher"), ("Cher".into(), String::new()));
    }
}
