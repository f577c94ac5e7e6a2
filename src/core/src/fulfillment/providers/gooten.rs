//! Gooten: `POST /api/v/5/source/api/orders/` with `SourceId` = our reference and
//! `IsPartnerSourceIdUnique`; no webhooks we trust, so the scheduler polls it.

use super::{
    Accepted, CancelOutcome, Capabilities, Provider, ProviderError, Submission, call, rejected,
    split_name,
};
use crate::domain::ProviderCode;
use crate::ports::Platform;
use crate::sql::stores::ProviderAccount;
use serde_json::{Value, json};

pub struct Gooten {
    base: String,
    account: ProviderAccount,
}

impl Gooten {
    pub fn new(base: &str, account: ProviderAccount) -> Self {
        Gooten {
            base: base.trim_end_matches('/').to_owned(),
            account,
        }
    }
    fn recipe(&self) -> &str {
        self.account.account_id.as_deref().unwrap_or_default()
    }
    /// `GET .../orders/?id=`: the order with per-item statuses (polling).
    ///
    /// # Errors
    /// Retry on transport failures, rejected otherwise.
    pub async fn order<P: Platform>(
        &self,
        p: &P,
        external_id: &str,
    ) -> Result<Value, ProviderError> {
        let a = call(
            p,
            "GET",
            format!(
                "{}/api/v/5/source/api/orders/?recipeid={}&id={external_id}",
                self.base,
                self.recipe()
            ),
            vec![],
            None,
        )
        .await?;
        if (200..300).contains(&a.status) && a.body["Id"].is_string() {
            Ok(a.body)
        } else {
            Err(rejected(
                "Gooten",
                &a,
                a.body["Errors"][0]["ErrorMessage"].as_str(),
            ))
        }
    }
}

impl Provider for Gooten {
    fn code(&self) -> ProviderCode {
        ProviderCode::Gooten
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            push_webhooks: false,
            polling: true,
            cancel: true,
            lookup_by_reference: true,
        }
    }
    async fn submit<P: Platform>(&self, p: &P, s: &Submission) -> Result<Accepted, ProviderError> {
        let r = &s.recipient;
        let (first, last) = split_name(&r.name);
        let body = json!({
            "ShipToAddress": { "FirstName": first, "LastName": last, "Line1": r.line1, "Line2": r.line2, "City": r.city,
                "State": r.state, "PostalCode": r.postal_code, "CountryCode": r.country, "Email": r.email },
            "Items": s.items.iter().map(|i| json!({
                "SKU": i.external_variant_id.clone().unwrap_or_else(|| i.sku.clone()), "Quantity": i.quantity,
                "ShipType": self.account.shipping_method.as_deref().unwrap_or("standard"), "SourceId": i.line_id,
                "Images": i.files.iter().enumerate().map(|(n, (_, url))| json!({ "Index": n, "Url": url })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "Payment": { "PartnerBillingKey": self.account.api_key },
            "SourceId": s.reference,
            "IsPartnerSourceIdUnique": true,
            "IsInTestMode": false,
        });
        let a = call(
            p,
            "POST",
            format!(
                "{}/api/v/5/source/api/orders/?recipeid={}",
                self.base,
                self.recipe()
            ),
            vec![],
            Some(&body),
        )
        .await?;
        match a.body["Id"].as_str() {
            Some(id) if (200..300).contains(&a.status) && a.body["HadError"] != true => {
                Ok(Accepted {
                    external_id: Some(id.to_owned()),
                    cost: None,
                })
            }
            _ => Err(rejected(
                "Gooten",
                &a,
                a.body["Errors"][0]["ErrorMessage"].as_str(),
            )),
        }
    }
    /// `SourceId` is unique per partner: submitting again answers with the existing order.
    async fn lookup<P: Platform>(&self, _: &P, _: &str) -> Result<Option<Accepted>, ProviderError> {
        Ok(None)
    }
    async fn cancel<P: Platform>(
        &self,
        p: &P,
        external_id: &str,
    ) -> Result<CancelOutcome, ProviderError> {
        let a = call(
            p,
            "POST",
            format!(
                "{}/api/v/5/source/api/orderstatus/?id={external_id}&partnerBillingKey={}",
                self.base,
                self.account.api_key.as_deref().unwrap_or_default()
            ),
            vec![],
            Some(&json!({ "orderStatusName": "Cancelled" })),
        )
        .await?;
        if (200..300).contains(&a.status) && a.body["HadError"] == false {
            Ok(CancelOutcome::Cancelled)
        } else {
            Ok(CancelOutcome::Refused(
                a.body["Errors"][0]["ErrorMessage"]
                    .as_str()
                    .unwrap_or("Gooten refused to cancel")
                    .to_owned(),
            ))
        }
    }
}
