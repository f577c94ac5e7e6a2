//! # Layout
//!
//! The provider simulator: plays the services Lading talks to but cannot reach here, on
//! loopback, with state in memory.
//! - [`harness`]: request log, fault injection (status, delay, hang, dropped connection) and
//!   the control API under `/__control`.
//! - [`idp`]: an identity provider for customer JWTs (JWKS + a token mint for tests/demos).
//! - [`stripe`]: Checkout Sessions, PaymentIntents, Refunds, Events, signed webhooks,
//!   Idempotency-Key rules, a hosted checkout page and scenario controls.
//! - [`providers`]: Printful, Prodigi, Gooten and Gelato with their idempotency rules, a
//!   control to advance an order (which sends that provider's webhook, signed its way).
//!
//! - [`couriers`]: USPS, DHL, Chit Chats and Canada Post: a tracking API, and a control to
//!   advance a parcel that sends the courier's signed event (drop, duplicate, delay and
//!   forged-signature controls).
//! - [`email`]: a Brevo-style transactional email API that captures what is sent.
//! - [`receivers`]: the seller's own systems (webhook subscribers, automation endpoints)
//!   under `/hooks/{name}`, logged and faulted by the harness.
//!
//! Usage: `lading-simulator [--port N]` (default 8790; 0 picks a free port). The first line
//! on stdout is `listening on http://127.0.0.1:<port>`.

mod couriers;
mod email;
mod harness;
mod idp;
mod providers;
mod receivers;
mod stripe;

use std::net::SocketAddr;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut port: u16 = 8790;
    let mut webhook_url = None;
    let mut webhook_secret = None;
    let mut provider_base = None;
    let mut provider_secret = None;
    let mut courier_base = None;
    let mut courier_secret = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => {
                port = args
                    .next()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or_else(|| usage("--port needs a number"))
            }
            "--stripe-webhook-url" => webhook_url = args.next(),
            "--stripe-webhook-secret" => webhook_secret = args.next(),
            "--provider-webhook-base" => provider_base = args.next(),
            "--provider-webhook-secret" => provider_secret = args.next(),
            "--courier-webhook-base" => courier_base = args.next(),
            "--courier-webhook-secret" => courier_secret = args.next(),
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .unwrap_or_else(|e| usage(&format!("cannot listen on 127.0.0.1:{port}: {e}")));
    let addr = listener.local_addr().expect("bound socket has an address");
    let stripe = stripe::Stripe::new(format!("http://{addr}"), webhook_url.zip(webhook_secret));
    let app = harness::wrap(
        idp::router()
            .merge(stripe::router(stripe))
            .merge(email::router(email::Email::default()))
            .merge(providers::router(providers::Providers::new(
                provider_base.zip(provider_secret),
            )))
            .merge(couriers::router(couriers::Couriers::new(
                courier_base.zip(courier_secret),
            )))
            .merge(receivers::router()),
        harness::State::default(),
    );
    println!("listening on http://{addr}");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .expect("server runs");
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("lading-simulator: {problem}");
    }
    eprintln!(
        "usage: lading-simulator [--port N] [--stripe-webhook-url URL --stripe-webhook-secret whsec_...]\n\
         \x20                      [--provider-webhook-base URL --provider-webhook-secret S]\n\
         \x20                      [--courier-webhook-base URL --courier-webhook-secret S]"
    );
    std::process::exit(if problem.is_empty() { 0 } else { 2 })
}
