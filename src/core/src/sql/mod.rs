//! The SQL of each aggregate, run by either storage adapter. Every multi-statement write
//! is one atomic batch whose statements are safe to run again.

pub mod carts;
pub mod catalog;
pub mod idempotency;
pub mod orders;
pub mod stores;
pub mod transitions;
