//! Manual fulfilment: an operator places the order elsewhere (a warehouse, Gelato's portal)
//! and types the tracking in. Submitting hands it to the operator.

use super::{Accepted, CancelOutcome, Capabilities, Provider, ProviderError, Submission};
use crate::domain::ProviderCode;
use crate::ports::Platform;

pub struct Manual(pub ProviderCode);

impl Provider for Manual {
    fn code(&self) -> ProviderCode {
        self.0
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            push_webhooks: false,
            polling: false,
            cancel: true,
            lookup_by_reference: false,
        }
    }
    async fn submit<P: Platform>(&self, _: &P, _: &Submission) -> Result<Accepted, ProviderError> {
        Ok(Accepted {
            external_id: None,
            cost: None,
        })
    }
    async fn lookup<P: Platform>(&self, _: &P, _: &str) -> Result<Option<Accepted>, ProviderError> {
        Ok(None)
    }
    async fn cancel<P: Platform>(&self, _: &P, _: &str) -> Result<CancelOutcome, ProviderError> {
        Ok(CancelOutcome::OperatorTask)
    }
}
