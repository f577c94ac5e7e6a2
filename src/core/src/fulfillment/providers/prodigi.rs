//! Prodigi v4: `POST /Orders` with `idempotencyKey` = our reference; the same key answers
//! `AlreadyExists` with the order made before, so a resubmission is the lookup.

use super::{
    Accepted, CancelOutcome, Capabilities, Provider, ProviderError, Submission, call, rejected,
};
use crate::domain::ProviderCode;
use crate::ports::Platform;
use crate::sql::stores::ProviderAccount;
use serde_json::json;

pub struct Prodigi {
    base: String,
    account: ProviderAccount,
}

impl Prodigi {
    pub fn new(base: &str, account: ProviderAccount) -> Self {
        Prodigi {
            base: base.trim_end_matches('/').to_owned(),
            account,
        }
    }
}

impl Provider for Prodigi {
    fn code(&self) -> ProviderCode {
        ProviderCode::Prodigi
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            push_webhooks: true,
            polling: false,
            cancel: true,
            lookup_by_reference: true,
        }
    }
    async fn submit<P: Platform>(&self, p: &P, s: &Submission) -> Result<Accepted, ProviderError> {
        let r = &s.recipient;
        let body = json!({
            "merchantReference": s.reference,
            "idempotencyKey": s.reference,
            "shippingMethod": self.account.shipping_method.as_deref().unwrap_or("Standard"),
            "recipient": { "name": r.name, "email": r.email, "address": { "line1": r.line1, "line2": r.line2,
                "postalOrZipCode": r.postal_code, "countryCode": r.country, "townOrCity": r.city, "stateOrCounty": r.state } },
            "items": s.items.iter().map(|i| json!({
                "merchantReference": i.line_id, "sku": i.external_variant_id.clone().unwrap_or_else(|| i.sku.clone()),
                "copies": i.quantity, "sizing": "fillPrintArea",
                "assets": i.files.iter().map(|(area, url)| json!({ "printArea": area, "url": url })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "metadata": { "order_number": s.order_number },
        });
        let headers = vec![(
            "x-api-key".into(),
            self.account.api_key.clone().unwrap_or_default(),
        )];
        let a = call(
            p,
            "POST",
            format!("{}/Orders", self.base),
            headers,
            Some(&body),
        )
        .await?;
        let outcome = a.body["outcome"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let created =
            ["created", "onhold", "createdwithissues", "alreadyexists"].contains(&outcome.as_str());
        match a.body["order"]["id"].as_str() {
            Some(id) if (200..300).contains(&a.status) && created => Ok(Accepted {
                external_id: Some(id.to_owned()),
                cost: None,
            }),
            _ => Err(rejected(
                "Prodigi",
                &a,
                a.body["failures"]
                    .as_object()
                    .map(|_| a.body["failures"].to_string())
                    .as_deref()
                    .or(a.body["outcome"].as_str()),
            )),
        }
    }
    /// The idempotency key is the lookup: submitting again returns the existing order.
    async fn lookup<P: Platform>(&self, _: &P, _: &str) -> Result<Option<Accepted>, ProviderError> {
        Ok(None)
    }
    async fn cancel<P: Platform>(
        &self,
        p: &P,
        external_id: &str,
    ) -> Result<CancelOutcome, ProviderError> {
        let headers = vec![(
            "x-api-key".into(),
            self.account.api_key.clone().unwrap_or_default(),
        )];
        let a = call(
            p,
            "POST",
            format!("{}/orders/{external_id}/actions/cancel", self.base),
            headers,
            Some(&json!({})),
        )
        .await?;
        match a.body["outcome"]
            .as_str()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("cancelled") => Ok(CancelOutcome::Cancelled),
            Some(other) => Ok(CancelOutcome::Refused(format!("Prodigi: {other}"))),
            None => Err(rejected("Prodigi", &a, None)),
        }
    }
}
