//! End-to-end tests: the five Workers under `wrangler dev` with real local D1, the
//! provider simulator, driven over HTTP on loopback. One stack serves every test; each test
//! creates its own store (tenant), so tests do not see each other's data.
//!
//! Run through `npm test` (which builds everything first), or
//! `cargo test -p lading-e2e --test e2e` after `npm run build`. Pass a name fragment to run
//! only matching tests: `cargo test -p lading-e2e --test e2e -- cart`.

mod admin;
mod crash;
mod fulfillment;
mod payments;
mod support;
mod tests;

use futures::FutureExt;
use std::panic::AssertUnwindSafe;
use std::time::Instant;

fn main() {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let selected: Vec<_> = tests::ALL
        .iter()
        .chain(payments::ALL)
        .chain(fulfillment::ALL)
        .chain(admin::ALL)
        // Last: it kills and restarts the runtime the others share.
        .chain(crash::ALL)
        .filter(|(name, _)| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str())))
        .collect();
    if selected.is_empty() {
        println!("0 passed, 0 failed");
        return;
    }
    eprintln!("starting the local stack (simulator + 5 Workers under wrangler dev)...");
    let started = Instant::now();
    let stack = lading_e2e::Stack::start(lading_e2e::Options::ephemeral("e2e"));
    eprintln!(
        "stack healthy in {:.1}s at {}",
        started.elapsed().as_secs_f64(),
        stack.base
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let ctx = support::Ctx::new(&stack);
    let (mut passed, mut failed) = (0, Vec::new());
    for (name, test) in selected {
        let t = Instant::now();
        let outcome = rt.block_on(AssertUnwindSafe(test(&ctx)).catch_unwind());
        match outcome {
            Ok(()) => {
                passed += 1;
                println!("test {name} ... ok ({:.2}s)", t.elapsed().as_secs_f64());
            }
            Err(_) => {
                failed.push(*name);
                println!("test {name} ... FAILED");
            }
        }
    }
    if !failed.is_empty() {
        println!("\nfailures:\n    {}", failed.join("\n    "));
        println!("logs: {}", stack.state_dir.display());
    }
    drop(stack);
    println!("\n{passed} passed, {} failed", failed.len());
    if !failed.is_empty() {
        std::process::exit(1);
    }
}
