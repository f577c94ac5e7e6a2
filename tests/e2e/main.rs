//! End-to-end tests: the seven Workers under `wrangler dev` with real local D1, the
//! provider simulator, driven over HTTP on loopback. One stack serves every test but the
//! crash test (which kills its runtime, on a stack of its own); each test creates its own
//! store (tenant), so tests do not see each other's data.
//!
//! Run through `npm test` (which builds everything first), or
//! `cargo test -p lading-e2e --test e2e` after `npm run build`. Pass a name fragment to run
//! only matching tests: `cargo test -p lading-e2e --test e2e -- cart`.

mod admin;
mod b2b;
mod billing;
mod crash;
mod fulfillment;
mod operations;
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
    let wanted = |(name, _): &&(&str, tests::Test)| {
        filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()))
    };
    let shared: Vec<_> = tests::ALL
        .iter()
        .chain(payments::ALL)
        .chain(fulfillment::ALL)
        .chain(admin::ALL)
        .chain(b2b::ALL)
        .chain(billing::ALL)
        .chain(operations::ALL)
        .filter(wanted)
        .collect();
    // The crash test kills and restarts the runtime, and times the recovery: it gets a
    // stack of its own, after the others.
    let alone: Vec<_> = crash::ALL.iter().filter(wanted).collect();
    if shared.is_empty() && alone.is_empty() {
        println!("0 passed, 0 failed");
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (mut passed, mut failed) = (0, Vec::new());
    for (name, tests) in [("e2e", shared), ("e2e-crash", alone)] {
        if tests.is_empty() {
            continue;
        }
        eprintln!("starting a local stack (simulator + 7 Workers under wrangler dev)...");
        let started = Instant::now();
        let stack = lading_e2e::Stack::start(lading_e2e::Options::ephemeral(name));
        eprintln!(
            "stack healthy in {:.1}s at {}",
            started.elapsed().as_secs_f64(),
            stack.base
        );
        let ctx = support::Ctx::new(&stack);
        let before = failed.len();
        for (name, test) in tests {
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
        if failed.len() > before {
            println!("logs: {}", stack.state_dir.display());
        }
    }
    if !failed.is_empty() {
        println!("\nfailures:\n    {}", failed.join("\n    "));
    }
    println!("\n{passed} passed, {} failed", failed.len());
    if !failed.is_empty() {
        std::process::exit(1);
    }
}
