//! Payments with Stripe. This release has the webhook signature check; checkout,
//! PaymentIntents and the exactly-once order machinery build on it (SPEC §4–§5).

pub mod stripe_client;
pub mod stripe_signature;
