//! Gelato v4 (API mode): `POST /v4/orders` with `orderReferenceId` = our reference. Stores
//! run Gelato manually unless `settings.providers.gelato.mode` is `api`.

use super::{
    Accepted, CancelOutcome, Capabilities, Provider, ProviderError, Submission, call, rejected,
    split_name,
};
use crate::domain::ProviderCode;
use crate::ports::Platform;
use crate::sql::stores::ProviderAccount;
use serde_json::json;

pub struct Gelato {
    base: String,
    account: ProviderAccount,
}

impl Gelato {
    pub fn new(base: &str, account: ProviderAccount) -> Self {
        Gelato {
            base: base.trim_end_matches('/').to_owned(),
            account,
        }
    }
}

impl Provider for Gelato {
    fn code(&self) -> ProviderCode {
        ProviderCode::Gelato
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            push_webhooks: true,
            polling: false,
            cancel: true,
            lookup_by_reference: false,
        }
    }
    async fn submit<P: Platform>(&self, p: &P, s: &Submission) -> Result<Accepted, ProviderError> {
        let r = &s.recipient;
        let (first, last) = split_name(&r.name);
        let body = json!({
            "orderType": "order", "orderReferenceId": s.reference, "customerReferenceId": s.order_number, "currency": s.currency,
            "items": s.items.iter().map(|i| json!({
                "itemReferenceId": i.line_id, "productUid": i.external_variant_id.clone().unwrap_or_else(|| i.sku.clone()),
                "quantity": i.quantity,
                "files": i.files.iter().map(|(area, url)| json!({ "type": area, "url": url })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "shipmentMethodUid": self.account.shipping_method.as_deref().unwrap_or("normal"),
            "shippingAddress": { "firstName": first, "lastName": last, "addressLine1": r.line1, "addressLine2": r.line2,
                "city": r.city, "postCode": r.postal_code, "state": r.state, "country": r.country, "email": r.email },
        });
        let headers = vec![(
            "x-api-key".into(),
            self.account.api_key.clone().unwrap_or_default(),
        )];
        let a = call(
            p,
            "POST",
            format!("{}/v4/orders", self.base),
            headers,
            Some(&body),
        )
        .await?;
        match a.body["id"].as_str() {
            Some(id) if (200..300).contains(&a.status) => Ok(Accepted {
                external_id: Some(id.to_owned()),
                cost: None,
            }),
            _ => Err(rejected("Gelato", &a, a.body["message"].as_str())),
        }
    }
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
            format!("{}/v4/orders/{external_id}:cancel", self.base),
            headers,
            Some(&json!({})),
        )
        .await?;
        if (200..300).contains(&a.status) {
            Ok(CancelOutcome::Cancelled)
        } else {
            Ok(CancelOutcome::Refused(
                a.body["message"]
                    .as_str()
                    .unwrap_or("Gelato refused to cancel (already printed)")
                    .to_owned(),
            ))
        }
    }
}
