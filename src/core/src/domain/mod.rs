//! Values with rules and the state machines. Every value that has a rule is a newtype
//! with a private field and a `parse` that returns a typed error.

mod billing;
mod cart;
mod catalog;
mod company;
mod ids;
mod money;
mod operations;
mod order;
mod pricing;
mod roles;
mod state_machine;
mod values;

pub use billing::InvoiceStatus;
pub use cart::CartStatus;
pub use catalog::{ProductStatus, ProviderCode, VariantKind, VariantStatus};
pub use company::{ContactRole, PaymentTerms, SpendingPeriod, address_dedupe_key};
pub use ids::crockford;
pub use money::{
    Currency, Money, currency_schema, exponent_of, format_amount, optional_currency_schema,
    parse_amount,
};
pub use operations::AutomationStepStatus;
pub use order::{FinancialStatus, FulfillmentStatus, OrderNumber, OrderStatus, ShipmentStatus};
pub use pricing::{AgreementStatus, BookScope, PriceSource, SyncStatus, Tiered, pick};
pub use roles::Role;
pub use state_machine::{Named, StateMachine};
pub use values::{CartOptions, Country, Email, Quantity, Sku, Slug, Text};
