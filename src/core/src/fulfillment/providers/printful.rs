//! Printful v1: `POST /orders?confirm=1` with `external_id` = our reference; a recovered
//! claim first asks `GET /orders/@{external_id}`. Webhooks carry a secret in the URL.

use super::{
    Accepted, CancelOutcome, Capabilities, Provider, ProviderError, Submission, call, minor_units,
    rejected,
};
use crate::domain::ProviderCode;
use crate::ports::Platform;
use crate::sql::stores::ProviderAccount;
use serde_json::{Value, json};

pub struct Printful {
    base: String,
    account: ProviderAccount,
}

impl Printful {
    pub fn new(base: &str, account: ProviderAccount) -> Self {
        Printful {
            base: base.trim_end_matches('/').to_owned(),
            account,
        }
    }
    fn headers(&self) -> Vec<(String, String)> {
        let mut h = vec![(
            "authorization".into(),
            format!(
                "Bearer {}",
                self.account.api_key.as_deref().unwrap_or_default()
            ),
        )];
        if let Some(store) = &self.account.account_id {
            h.push(("x-pf-store-id".into(), store.clone()));
        }
        h
    }
    fn accepted(result: &Value) -> Accepted {
        Accepted {
            external_id: result["id"]
                .as_i64()
                .map(|i| i.to_string())
                .or_else(|| result["id"].as_str().map(str::to_owned)),
            cost: minor_units(
                &result["costs"]["total"],
                result["costs"]["currency"].as_str().unwrap_or("USD"),
            ),
        }
    }
}

impl Provider for Printful {
    fn code(&self) -> ProviderCode {
        ProviderCode::Printful
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
            "external_id": s.reference,
            "recipient": { "name": r.name, "address1": r.line1, "address2": r.line2, "city": r.city, "state_code": r.state,
                           "country_code": r.country, "zip": r.postal_code, "email": r.email },
            "items": s.items.iter().map(|i| {
                let variant = i.external_variant_id.clone().unwrap_or_default();
                json!({
                    "variant_id": variant.parse::<i64>().map_or(Value::from(variant.clone()), Value::from),
                    "external_id": i.line_id, "quantity": i.quantity, "retail_price": crate::domain::format_amount(i.unit_price, &s.currency), "name": i.title,
                    "files": i.files.iter().map(|(area, url)| json!({ "type": area, "url": url })).collect::<Vec<_>>(),
                })
            }).collect::<Vec<_>>(),
        });
        let a = call(
            p,
            "POST",
            format!("{}/orders?confirm=1", self.base),
            self.headers(),
            Some(&body),
        )
        .await?;
        if (200..300).contains(&a.status) {
            return Ok(Self::accepted(&a.body["result"]));
        }
        let message = a.body["error"]["message"]
            .as_str()
            .or(a.body["result"].as_str());
        // Our reference is already an order there (an earlier attempt got through).
        if message.is_some_and(|m| m.contains("external_id") && m.contains("exist")) {
            if let Some(found) = self.lookup(p, &s.reference).await? {
                return Ok(found);
            }
        }
        Err(rejected("Printful", &a, message))
    }
    async fn lookup<P: Platform>(
        &self,
        p: &P,
        reference: &str,
    ) -> Result<Option<Accepted>, ProviderError> {
        let a = call(
            p,
            "GET",
            format!("{}/orders/@{reference}", self.base),
            self.headers(),
            None,
        )
        .await?;
        match a.status {
            200..=299 => Ok(Some(Self::accepted(&a.body["result"]))),
            404 => Ok(None),
            _ => Err(rejected(
                "Printful",
                &a,
                a.body["error"]["message"].as_str(),
            )),
        }
    }
    async fn cancel<P: Platform>(
        &self,
        p: &P,
        external_id: &str,
    ) -> Result<CancelOutcome, ProviderError> {
        let a = call(
            p,
            "DELETE",
            format!("{}/orders/{external_id}", self.base),
            self.headers(),
            None,
        )
        .await?;
        if (200..300).contains(&a.status) {
            Ok(CancelOutcome::Cancelled)
        } else {
            Ok(CancelOutcome::Refused(
                a.body["error"]["message"]
                    .as_str()
                    .unwrap_or("Printful refused to cancel")
                    .to_owned(),
            ))
        }
    }
}
