//! Payments with Stripe: the API client, webhook signatures, event ingestion (one path for
//! webhooks and reconciliation) and the reconciliation cron.

pub mod events;
pub mod reconcile;
pub mod refunds;
pub mod stripe_client;
pub mod stripe_signature;
pub mod webhook;
