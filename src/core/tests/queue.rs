//! The queue consumer's decisions (the Worker maps them to ack / retry).

mod support;

use lading_core::queue::{Outcome, process};
use serde_json::json;
use support::{TestPlatform, run};

#[test]
fn unknown_or_malformed_messages_are_acked_with_a_reason_never_retried() {
    let p = TestPlatform::new();
    for body in [
        json!({ "kind": "launch_rocket" }),
        json!(42),
        json!({ "kind": "fulfil" }),
    ] {
        match run(process(&p, &body)) {
            Outcome::Dropped { reason } => {
                assert!(reason.contains("unknown or malformed"), "{reason}")
            }
            other => panic!("{body}: {other:?}"),
        }
    }
    assert_eq!(
        p.count("SELECT COUNT(*) FROM stores"),
        0,
        "processing wrote nothing"
    );
}
