//! # Lading core
//!
//! Everything Lading knows about commerce, with no Workers dependency, so it is tested
//! natively against real SQLite and runs unchanged inside every Worker.
//!
//! # Layout
//!
//! - [`domain`]: values with rules (money, ids, SKUs, quantities) and the state machines.
//! - [`ports`]: what the core needs from the platform (storage, clock, randomness, HTTP).
//!   The Workers implement them with D1 and the Workers runtime; tests with SQLite.
//! - [`db`]: the storage port: SQL statements, atomic batches, typed unique violations.
//! - [`sql`]: the SQL for each aggregate, shared by both storage adapters (one schema:
//!   `migrations/`).
//! - [`auth`]: publishable keys, admin keys and roles, customer JWTs.
//! - [`stores`], [`catalog`], [`carts`]: use cases, one file per verb.
//! - [`idempotency`]: `Idempotency-Key` claims and replays.
//! - [`jobs`]: scheduled work by cron expression.
//! - [`orders`]: placing orders from carts (Checkout Sessions, PaymentIntents), what
//!   shoppers may read, the unpaid-order sweep.
//! - [`payments`]: Stripe: client, webhook signatures, event ingestion, reconciliation.
//! - [`http`]: a framework-free request/response model, routing and problem+json errors.
//! - [`api`]: the storefront and admin HTTP APIs (routes, handlers, OpenAPI documents);
//!   the Worker crates only translate `worker::Request` to [`http::Request`] and back.
//! - `sqlite` (feature `sqlite`): the rusqlite storage adapter and the migration runner.

#![recursion_limit = "512"]
#![allow(async_fn_in_trait)] // ports are used without `Send`: JS-backed futures are not `Send`.

pub mod admin;
pub mod api;
pub mod auth;
pub mod carts;
pub mod catalog;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod downloads;
pub mod error;
pub mod files;
pub mod fulfillment;
pub mod http;
pub mod idempotency;
pub mod inbound;
pub mod input;
pub mod jobs;
pub mod notifications;
pub mod orders;
pub mod payments;
pub mod ports;
pub mod queue;
pub mod sql;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod stores;
pub mod time_fmt;

pub use error::AppError;
