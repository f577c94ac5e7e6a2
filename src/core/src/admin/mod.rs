//! What operators do beyond the catalog: orders (search, export, detail, notes), tracking
//! typed in by hand, customers, promo codes, the fulfillment dashboard, the audit log, and
//! the web UI that puts them on pages.

pub mod audit;
pub mod files;
pub mod orders;
pub mod promo_codes;
pub mod tracking;
pub mod ui;
pub mod users;
