//! The audit row is part of the change: it commits in the change's batch, so no change is
//! ever without its row, and a batch that fails leaves neither.

mod support;

use lading_api::http::Method;
use lading_core::admin::audit::{Actor, Audited, Entry};
use lading_core::db::Db as _;
use lading_core::ports::Platform as _;
use lading_core::stmt;
use serde_json::json;
use support::*;

/// A note whose insert fails inside its batch: the answer is a 503, and neither the note
/// nor an audit row exists.
#[test]
fn a_failed_batch_leaves_neither_the_change_nor_its_audit_row() {
    let p = TestPlatform::new();
    let s = create_store(&p, "AU");
    let (_, variants) = product(&p, &s, "print", 2000);
    let order = paid_order(&p, &s, &[&variants[1]], "ada@example.com", "au1", None);
    let path = format!(
        "/admin/api/v1/orders/{}/notes",
        order["id"].as_str().unwrap()
    );
    // The storage fails this one write (a disk error, D1 going away mid-batch).
    p.exec("CREATE TEMP TRIGGER notes_fail BEFORE INSERT ON order_notes BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END;");
    let before = p.contents();
    let r = admin(
        &p,
        &s,
        Method::Post,
        &path,
        Some(json!({ "body": "call the customer" })),
    );
    assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(p.contents(), before, "neither the note nor an audit row");
    p.exec("DROP TRIGGER notes_fail;");
    let r = admin(
        &p,
        &s,
        Method::Post,
        &path,
        Some(json!({ "body": "call the customer" })),
    );
    assert_eq!(r.status, 201);
    assert_eq!(p.count("SELECT COUNT(*) FROM order_notes"), 1);
    assert_eq!(
        p.text("SELECT action || ' ' || json_extract(detail, '$.status') FROM audit_log WHERE action = 'order.note'"),
        "order.note 201"
    );
}

/// The request dies right after its change commits (it never answers): the audit row is
/// already there, in the change's batch, saying who did what (status still unknown).
#[test]
fn a_change_whose_request_died_before_answering_still_has_its_row() {
    let p = TestPlatform::new();
    let s = create_store(&p, "AD");
    let actor = Actor {
        id: "akey_1".into(),
        role: "admin".into(),
    };
    let entry = Entry {
        action: "order.note",
        target_type: Some("order"),
        target_id: Some("ord_1"),
        detail: json!({ "request": { "body": "x" }, "status": null }),
    };
    {
        let audited = Audited::new(&p);
        audited.begin(&s.id, &actor, &entry, "req_died");
        run(audited.db().run(stmt!(
            "UPDATE stores SET name = 'Renamed' WHERE id = ?",
            &s.id
        )))
        .unwrap();
        // Dropped here without `finish`: the isolate was killed.
    }
    assert_eq!(
        p.text(&format!("SELECT name FROM stores WHERE id = '{}'", s.id)),
        "Renamed"
    );
    assert_eq!(
        p.text("SELECT actor || ' ' || action || ' ' || target_id || ' ' || request_id || ' ' || (json_extract(detail, '$.status') IS NULL) FROM audit_log WHERE request_id = 'req_died'"),
        "akey_1 order.note ord_1 req_died 1"
    );
    // Several batches of one operation share one row.
    let audited = Audited::new(&p);
    audited.begin(&s.id, &actor, &entry, "req_two");
    run(audited
        .db()
        .run(stmt!("UPDATE stores SET name = 'A' WHERE id = ?", &s.id)))
    .unwrap();
    run(audited.db().batch(vec![stmt!(
        "UPDATE stores SET name = 'B' WHERE id = ?",
        &s.id
    )]))
    .unwrap();
    assert_eq!(
        p.count("SELECT COUNT(*) FROM audit_log WHERE request_id = 'req_two'"),
        1
    );
}
