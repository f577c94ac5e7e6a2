//! # Layout
//!
//! The provider simulator: plays the services Lading talks to but cannot reach here, on
//! loopback, with state in memory.
//! - [`harness`]: request log, fault injection (status, delay, hang, dropped connection) and
//!   the control API under `/__control`.
//! - [`idp`]: an identity provider for customer JWTs (JWKS + a token mint for tests/demos).
//!
//! Provider protocols (Stripe, Printful, Prodigi, Gooten, Gelato, email) plug in as more
//! routers beside `idp`, each faithful to `shared/PROVIDERS.md`.
//!
//! Usage: `lading-simulator [--port N]` (default 8790; 0 picks a free port). The first line
//! on stdout is `listening on http://127.0.0.1:<port>`.

mod harness;
mod idp;

use std::net::SocketAddr;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut port: u16 = 8790;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => {
                port = args
                    .next()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or_else(|| usage("--port needs a number"))
            }
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let state = harness::State::default();
    let app = harness::wrap(idp::router(), state);
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .unwrap_or_else(|e| usage(&format!("cannot listen on 127.0.0.1:{port}: {e}")));
    let addr = listener.local_addr().expect("bound socket has an address");
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
    eprintln!("usage: lading-simulator [--port N]");
    std::process::exit(if problem.is_empty() { 0 } else { 2 })
}
