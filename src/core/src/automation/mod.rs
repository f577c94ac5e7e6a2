//! Automation after a delivery (seed 001 §2.4, "the legacy bridge"): a parcel's lines
//! carry steps with a scenario (`first_time_install`, `replacement`, `return`, …
//! configured per store in [`scenarios`]) and a JSON payload ([`steps`]). When the parcel is
//! delivered its pending steps come due and each runs through the queue ([`run`]): claimed
//! with a lease, a signed call to the scenario's endpoint (`webhook-id` = the step's id on
//! every attempt, so the seller's system can drop a repeat), retried by the scenario's
//! policy, then `failed` with an event and an operator task; operators retry a step or mark
//! it done by hand (`fallback`).

pub mod run;
pub mod scenarios;
pub mod steps;
