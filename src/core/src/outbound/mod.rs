//! Calls Lading makes to systems a store owns (SPEC invariant 12): its webhook subscribers
//! ([`endpoints`], [`deliveries`]) and the endpoints of its automation scenarios
//! (`crate::automation`). Every call is signed as the Standard Webhooks specification says
//! ([`signing`]), made from the queue (never inside the change that caused it), retried with
//! backoff, and recorded with each attempt ([`call`]).

pub mod call;
pub mod deliveries;
pub mod endpoints;
pub mod signing;
