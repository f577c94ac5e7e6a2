//! Payments with Stripe: the API client, webhook signatures, event ingestion (one path for
//! webhooks and reconciliation), the reconciliation cron and the refund ledger.

pub mod events;
pub mod reconcile;
pub mod refunds;
pub mod stripe_client;
pub mod stripe_signature;
