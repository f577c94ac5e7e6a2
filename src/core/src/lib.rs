//! # Lading core
//!
//! Everything Lading knows about commerce, with no Workers dependency and no HTTP, so it is
//! tested natively against real SQLite and runs unchanged inside every Worker. The HTTP
//! layer (routes, problem+json, OpenAPI, the admin web UI) is `lading-api`, above this
//! crate; the Workers are above that.
//!
//! # Layout
//!
//! Dependencies point one way: domain ← ports/db/sql ← use cases (← `lading-api` ← Workers).
//! A repository test checks it (`tests/repo`: no module imports from a layer above it).
//!
//! - [`domain`]: values with rules (money, ids, SKUs, quantities, text) and the state
//!   machines, whose transition tables the database enforces ([`sql::transitions`]).
//! - [`error`]: [`AppError`], the one error every use case returns.
//! - [`input`]: the one way client text enters a use case (422s that name the field).
//! - [`crypto`]: HMAC-SHA256, constant-time comparison, the AEAD for saved responses.
//! - [`ports`]: what the core needs from the platform (storage, clock, randomness, HTTP,
//!   queue, files). The Workers implement them with D1 and the Workers runtime; tests with
//!   SQLite.
//! - [`db`]: the storage port: SQL statements, guarded writes, atomic batches, typed
//!   constraint errors.
//! - [`sql`]: the SQL for each aggregate, shared by both storage adapters (one schema:
//!   `migrations/`), and the state-transition triggers.
//! - [`auth`]: publishable keys, admin keys and roles, customer JWTs.
//! - Use cases, one file per verb or per audience: [`stores`], [`catalog`], [`carts`],
//!   [`orders`] (placing orders from carts, what shoppers see and do, the unpaid-order
//!   sweep), [`payments`] (Stripe client, webhook signatures, event ingestion,
//!   reconciliation, the refund ledger), [`fulfillment`] (routing, the outbox, the queue
//!   consumer's submission to each provider, provider webhooks and polling, cancellation),
//!   [`downloads`] (digital delivery), [`files`] (art and customer uploads),
//!   [`notifications`] (emails once per order and kind, rendered with maud), [`admin`]
//!   (the operators' order search and export, notes, tracking, users, promo codes, audit
//!   log), [`companies`] (companies as customers: contacts with roles, address books),
//!   [`pricing`] (price books, agreements, the resolver, quotes, Stripe price sync),
//!   [`shipments`] (parcels built by operators, couriers and their events).
//! - [`inbound`]: every provider's event recorded once.
//! - [`queue`]: the queue's message kinds and what processing each one gives.
//! - [`jobs`]: scheduled work by cron expression.
//! - [`time_fmt`]: timestamps as RFC 3339 and back.
//! - `sqlite` (feature `sqlite`): the rusqlite storage adapter and the migration runner.

#![recursion_limit = "512"]
#![allow(async_fn_in_trait)] // ports are used without `Send`: JS-backed futures are not `Send`.

pub mod admin;
pub mod auth;
pub mod automation;
pub mod billing;
pub mod carts;
pub mod catalog;
pub mod companies;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod downloads;
pub mod error;
pub mod files;
pub mod fulfillment;
pub mod inbound;
pub mod input;
pub mod job_runs;
pub mod jobs;
pub mod metrics;
pub mod notifications;
pub mod operator_tasks;
pub mod orders;
pub mod outbound;
pub mod payments;
pub mod ports;
pub mod pricing;
pub mod queue;
pub mod shipments;
pub mod sql;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod stores;
pub mod time_fmt;
pub mod timelines;

pub use error::AppError;
