//! Invoices on real SQLite: drafted by hand with adjustments and discounts, issued with the
//! next number of the store's gapless sequence and due by the payment terms, voided with the
//! number kept, deleted only while draft — and the database refusing what the code would
//! not do (a changed number, an issued invoice deleted or its lines changed).

mod support;

use lading_api::http::{Method, Response};
use serde_json::{Value, json};
use support::*;

fn post(p: &TestPlatform, s: &Store, path: &str, body: Value) -> Response {
    admin(p, s, Method::Post, path, Some(body))
}

/// ACME on net 30 with a primary billing contact.
fn acme(p: &TestPlatform, s: &Store) -> (String, String) {
    let company = id(&ok(
        post(
            p,
            s,
            "/admin/api/v1/companies",
            json!({ "name": "ACME", "payment_terms": "net_30" }),
        ),
        201,
    ));
    let contact = id(&ok(
        post(
            p,
            s,
            &format!("/admin/api/v1/companies/{company}/contacts"),
            json!({ "first_name": "Ada", "last_name": "L", "email": "ada@acme.test",
                    "roles": ["billing"], "primary_roles": ["billing"] }),
        ),
        201,
    ));
    (company, contact)
}

/// Another company (prepaid), with the contact `contact` describes.
fn globex(p: &TestPlatform, s: &Store, contact: Value) -> String {
    let globex = id(&ok(
        post(p, s, "/admin/api/v1/companies", json!({ "name": "Globex" })),
        201,
    ));
    ok(
        post(
            p,
            s,
            &format!("/admin/api/v1/companies/{globex}/contacts"),
            contact,
        ),
        201,
    );
    globex
}

fn draft(p: &TestPlatform, s: &Store, company: &str, amount: i64) -> Value {
    ok(
        post(
            p,
            s,
            "/admin/api/v1/invoices",
            json!({ "company_id": company, "lines": [
                { "description": "Consulting, November", "quantity": 2, "unit_amount": amount },
            ] }),
        ),
        201,
    )
}

fn invoice_id(v: &Value) -> String {
    v["invoice"]["id"].as_str().unwrap().to_owned()
}

fn invoice_detail(p: &TestPlatform, s: &Store, id: &str) -> Value {
    ok(
        admin(
            p,
            s,
            Method::Get,
            &format!("/admin/api/v1/invoices/{id}"),
            None,
        ),
        200,
    )
}

fn issue(p: &TestPlatform, s: &Store, id: &str) -> Response {
    post(
        p,
        s,
        &format!("/admin/api/v1/invoices/{id}/issue"),
        json!({}),
    )
}

#[test]
fn invoices_are_drafted_adjusted_and_issued_with_gapless_numbers() {
    let p = TestPlatform::new();
    let s = create_store(&p, "IV");
    let (company, ada) = acme(&p, &s);
    let d = draft(&p, &s, &company, 5000);
    let inv = &d["invoice"];
    assert_eq!(inv["status"], "draft");
    assert!(inv["number"].is_null(), "a draft has no number");
    assert_eq!(inv["total_amount"], 10_000);
    assert_eq!(
        inv["billing_contact_id"],
        ada.as_str(),
        "the primary billing contact"
    );
    assert_eq!(inv["payment_terms"], "net_30");
    let first = invoice_id(&d);

    // Adjustments and discounts while draft; the total never goes below zero.
    let lines = format!("/admin/api/v1/invoices/{first}/lines");
    let a = ok(
        post(
            &p,
            &s,
            &lines,
            json!({ "kind": "adjustment", "description": "Travel", "amount": 1500 }),
        ),
        201,
    );
    assert_eq!(a["invoice"]["total_amount"], 11_500);
    let a = ok(
        post(
            &p,
            &s,
            &lines,
            json!({ "kind": "discount", "description": "Loyalty", "amount": 1000 }),
        ),
        201,
    );
    assert_eq!(a["invoice"]["total_amount"], 10_500);
    assert_eq!(a["lines"][2]["amount"], -1000);
    let before = p.row_counts();
    for bad in [
        json!({ "kind": "discount", "description": "Too much", "amount": 20_000 }),
        json!({ "kind": "discount", "description": "Backwards", "amount": -5 }),
        json!({ "kind": "adjustment", "description": "Nothing", "amount": 0 }),
        json!({ "kind": "refund", "description": "?", "amount": 5 }),
    ] {
        let r = post(&p, &s, &lines, bad.clone());
        assert_eq!(r.status, 422, "{bad}: {}", text(&r));
    }
    assert_eq!(p.row_counts(), before, "refused lines write nothing");

    // Issued: the first number, due in 30 days.
    let i = ok(issue(&p, &s, &first), 200)["invoice"].clone();
    assert_eq!(i["number"], "INV-000001");
    assert_eq!(i["status"], "issued");
    let issued = lading_core::time_fmt::parse_instant_ms(i["issued_at"].as_str().unwrap()).unwrap();
    let due = lading_core::time_fmt::parse_instant_ms(i["due_at"].as_str().unwrap()).unwrap();
    assert_eq!(due - issued, 30 * 86_400_000);
    assert_eq!(i["balance"], 10_500);
    // Issued again, or changed: refused, and no number is used up.
    let r = issue(&p, &s, &first);
    assert_eq!(r.status, 409, "{}", text(&r));
    assert!(text(&r).contains("invoice_not_draft"));
    let r = post(
        &p,
        &s,
        &lines,
        json!({ "kind": "adjustment", "description": "Late", "amount": 1 }),
    );
    assert_eq!(r.status, 409, "{}", text(&r));
    // A deleted draft takes no number either.
    let gone = invoice_id(&draft(&p, &s, &company, 100));
    let r = admin(
        &p,
        &s,
        Method::Delete,
        &format!("/admin/api/v1/invoices/{gone}"),
        None,
    );
    assert_eq!(r.status, 204, "{}", text(&r));
    assert_eq!(
        p.count(&format!(
            "SELECT COUNT(*) FROM invoice_lines WHERE invoice_id = '{gone}'"
        )),
        0
    );
    let second = invoice_id(&draft(&p, &s, &company, 700));
    assert_eq!(
        ok(issue(&p, &s, &second), 200)["invoice"]["number"],
        "INV-000002"
    );

    // Another store counts from one.
    let other = create_store(&p, "OT");
    let (theirs, _) = acme(&p, &other);
    let t = invoice_id(&draft(&p, &other, &theirs, 100));
    assert_eq!(
        ok(issue(&p, &other, &t), 200)["invoice"]["number"],
        "INV-000001"
    );
    // And sees none of ours.
    for (method, path) in [
        (Method::Get, format!("/admin/api/v1/invoices/{first}")),
        (
            Method::Post,
            format!("/admin/api/v1/invoices/{first}/issue"),
        ),
        (Method::Delete, format!("/admin/api/v1/invoices/{second}")),
    ] {
        let r = admin(
            &p,
            &other,
            method,
            &path,
            (method == Method::Post).then(|| json!({})),
        );
        assert_eq!(r.status, 404, "{path}: {}", text(&r));
    }
    let listed = ok(
        admin(
            &p,
            &s,
            Method::Get,
            "/admin/api/v1/invoices?status=issued",
            None,
        ),
        200,
    );
    let numbers: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["INV-000002", "INV-000001"], "newest first");
}

#[test]
fn an_issued_invoice_is_voided_with_its_number_never_deleted_and_the_database_agrees() {
    let p = TestPlatform::new();
    let s = create_store(&p, "VD");
    let (company, _) = acme(&p, &s);
    let id = invoice_id(&draft(&p, &s, &company, 2500));
    // A draft is deleted, not voided.
    let r = post(
        &p,
        &s,
        &format!("/admin/api/v1/invoices/{id}/void"),
        json!({ "reason": "wrong" }),
    );
    assert_eq!(r.status, 409, "{}", text(&r));
    ok(issue(&p, &s, &id), 200);
    let r = admin(
        &p,
        &s,
        Method::Delete,
        &format!("/admin/api/v1/invoices/{id}"),
        None,
    );
    assert_eq!(r.status, 409, "{}", text(&r));
    assert!(text(&r).contains("invoice_not_draft"));
    // Voiding needs the admin role and a reason.
    let support = {
        let r = post(
            &p,
            &s,
            "/admin/api/v1/admin-keys",
            json!({ "role": "support", "label": "s" }),
        );
        Store {
            id: s.id.clone(),
            pk: s.pk.clone(),
            admin: ok(r, 201)["key"].as_str().unwrap().to_owned(),
        }
    };
    let void = format!("/admin/api/v1/invoices/{id}/void");
    assert_eq!(
        post(&p, &support, &void, json!({ "reason": "dup" })).status,
        403
    );
    assert_eq!(post(&p, &s, &void, json!({})).status, 422);
    assert_eq!(post(&p, &s, &void, json!({ "reason": "  " })).status, 422);
    let v = ok(
        post(&p, &s, &void, json!({ "reason": "Billed twice" })),
        200,
    )["invoice"]
        .clone();
    assert_eq!(v["status"], "void");
    assert_eq!(v["number"], "INV-000001", "void keeps the number");
    assert_eq!(v["void_reason"], "Billed twice");
    assert_eq!(v["balance"], 5000);
    assert_eq!(
        post(&p, &s, &void, json!({ "reason": "again" })).status,
        409
    );
    let d = invoice_detail(&p, &s, &id);
    let timeline: Vec<&str> = d["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(timeline, ["invoice.issued", "invoice.voided"]);
    assert_eq!(d["timeline"][1]["payload"]["reason"], "Billed twice");
    assert_eq!(
        p.count(&format!("SELECT COUNT(*) FROM domain_events WHERE aggregate_id = '{id}' AND type IN ('invoice.issued', 'invoice.voided')")),
        2
    );
    // What the code never does, the database refuses too.
    let conn = p.db.conn();
    for (sql, words) in [
        (
            format!("UPDATE invoices SET number = 'INV-999999' WHERE id = '{id}'"),
            "invoice numbers never change",
        ),
        (
            format!("DELETE FROM invoices WHERE id = '{id}'"),
            "only draft invoices are deleted",
        ),
        (
            format!(
                "INSERT INTO invoice_lines (id, invoice_id, kind, description, quantity, unit_amount, amount, position) VALUES ('l_x', '{id}', 'adjustment', 'x', 1, 5, 5, 9)"
            ),
            "lines never change",
        ),
        (
            format!("UPDATE invoices SET status = 'draft' WHERE id = '{id}'"),
            "state transition refused",
        ),
    ] {
        let err = conn.execute_batch(&sql).expect_err(&sql);
        assert!(err.to_string().contains(words), "{sql}: {err}");
    }
    drop(conn);
    // Two issued invoices cannot share a number.
    let other = invoice_id(&draft(&p, &s, &company, 100));
    let dup = p.db.conn().execute_batch(&format!(
        "UPDATE invoices SET status = 'issued', number = 'INV-000001', sequence_number = 1 WHERE id = '{other}'"
    ));
    assert!(dup.unwrap_err().to_string().contains("UNIQUE"));
}

#[test]
fn overdue_invoices_are_those_open_past_their_due_date() {
    let p = TestPlatform::new();
    let s = create_store(&p, "OD");
    let (company, _) = acme(&p, &s);
    let late = invoice_id(&draft(&p, &s, &company, 100));
    ok(issue(&p, &s, &late), 200);
    let voided = invoice_id(&draft(&p, &s, &company, 100));
    ok(issue(&p, &s, &voided), 200);
    ok(
        post(
            &p,
            &s,
            &format!("/admin/api/v1/invoices/{voided}/void"),
            json!({ "reason": "x" }),
        ),
        200,
    );
    let _still_draft = draft(&p, &s, &company, 100);
    let overdue = |p: &TestPlatform| {
        ok(
            admin(
                p,
                &s,
                Method::Get,
                "/admin/api/v1/invoices?overdue=true",
                None,
            ),
            200,
        )["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert!(overdue(&p).is_empty(), "due in 30 days");
    p.advance_ms(30 * 86_400_000 + 1);
    assert_eq!(overdue(&p), [late.clone()]);
    let one = ok(
        admin(
            &p,
            &s,
            Method::Get,
            &format!("/admin/api/v1/invoices/{late}"),
            None,
        ),
        200,
    );
    assert_eq!(one["invoice"]["overdue"], true);
    let issued_on = one["invoice"]["issued_at"].as_str().unwrap()[..10].to_owned();
    let on_the_day = |q: &str| {
        ok(
            admin(
                &p,
                &s,
                Method::Get,
                &format!("/admin/api/v1/invoices?{q}"),
                None,
            ),
            200,
        )["data"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(
        on_the_day(&format!("issued_from={issued_on}&issued_to={issued_on}")),
        2,
        "both issued that day; the draft never was"
    );
    assert_eq!(on_the_day("issued_to=2000-01-01"), 0);
    assert_eq!(
        admin(
            &p,
            &s,
            Method::Get,
            "/admin/api/v1/invoices?issued_from=soon",
            None
        )
        .status,
        422
    );
    let r = admin(
        &p,
        &s,
        Method::Get,
        "/admin/api/v1/invoices?overdue=maybe",
        None,
    );
    assert_eq!(r.status, 422);
    let r = admin(
        &p,
        &s,
        Method::Get,
        "/admin/api/v1/invoices?status=late",
        None,
    );
    assert_eq!(r.status, 422);
    let listed = ok(
        admin(
            &p,
            &s,
            Method::Get,
            &format!("/admin/api/v1/invoices?company_id={company}&limit=2"),
            None,
        ),
        200,
    );
    assert_eq!(listed["data"].as_array().unwrap().len(), 2);
    assert_eq!(listed["has_more"], true);
    let next = listed["next_starting_after"].as_str().unwrap();
    let rest = ok(
        admin(
            &p,
            &s,
            Method::Get,
            &format!("/admin/api/v1/invoices?company_id={company}&limit=2&starting_after={next}"),
            None,
        ),
        200,
    );
    assert_eq!(rest["data"].as_array().unwrap().len(), 1);
    // The same selection as CSV: the overdue one, its balance, flagged overdue.
    let csv = admin(
        &p,
        &s,
        Method::Get,
        "/admin/api/v1/invoices/export.csv?overdue=true",
        None,
    );
    assert_eq!(csv.status, 200);
    let csv = text(&run(csv.drain_export(&p.db)).unwrap());
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 2, "{csv}");
    assert!(
        rows[0].starts_with("number,status,overdue,company"),
        "{csv}"
    );
    assert!(
        rows[1].starts_with("INV-000001,issued,true,ACME,")
            && rows[1].contains(",USD,2.00,0.00,2.00,0.00,2.00,net_30,"),
        "{csv}"
    );
    let all = admin(
        &p,
        &s,
        Method::Get,
        "/admin/api/v1/invoices/export.csv",
        None,
    );
    let all = text(&run(all.drain_export(&p.db)).unwrap());
    assert_eq!(
        all.lines().count(),
        1 + 3,
        "every invoice, drafts too: {all}"
    );
}

/// Every invoice list query reads through an index.
#[test]
fn invoice_queries_use_an_index() {
    use lading_core::billing::{InvoiceFilters, list_query};
    use lading_core::domain::InvoiceStatus;
    let p = TestPlatform::new();
    let conn = p.db.conn();
    let cursor = lading_core::admin::orders::Cursor {
        created_at: 5,
        id: "inv_5".into(),
    };
    for f in [
        InvoiceFilters::default(),
        InvoiceFilters {
            status: Some(InvoiceStatus::Issued),
            ..Default::default()
        },
        InvoiceFilters {
            company_id: Some("co_1".into()),
            ..Default::default()
        },
        InvoiceFilters {
            overdue: true,
            ..Default::default()
        },
        InvoiceFilters {
            overdue: true,
            company_id: Some("co_1".into()),
            ..Default::default()
        },
    ] {
        for after in [None, Some(&cursor)] {
            let q = list_query("st_1", &f, after, 10, 51);
            let scans =
                lading_core::sqlite::full_scans(&conn, &q, &["invoices", "i", "companies", "co"])
                    .unwrap();
            assert!(scans.is_empty(), "full scan in `{}`: {scans:?}", q.sql);
        }
    }
    let tables = &[
        "billing_payments",
        "bp",
        "invoice_allocations",
        "invoices",
        "i",
        "a",
    ];
    for q in [
        lading_core::billing::payments::list_query("st_1", None),
        lading_core::billing::payments::list_query("st_1", Some("co_1")),
    ] {
        let scans = lading_core::sqlite::full_scans(&conn, &q, tables).unwrap();
        assert!(scans.is_empty(), "full scan in `{}`: {scans:?}", q.sql);
    }
}

#[test]
fn payments_are_allocated_never_beyond_what_they_hold_or_invoices_owe() {
    let p = TestPlatform::new();
    let s = create_store(&p, "PA");
    let (company, _) = acme(&p, &s);
    let issued = |amount: i64| {
        let id = invoice_id(&draft(&p, &s, &company, amount / 2));
        ok(issue(&p, &s, &id), 200);
        id
    };
    let (first, second) = (issued(100_000), issued(100_000));
    let transfer = id(&ok(
        post(
            &p,
            &s,
            "/admin/api/v1/payments",
            json!({
            "company_id": company, "method": "bank_transfer", "amount": 100_000,
            "reference": "ACME remittance 4411", "received_at": "2024-05-01" }),
        ),
        201,
    ));
    let allocate = |invoice: &str, amount: i64| {
        post(
            &p,
            &s,
            &format!("/admin/api/v1/payments/{transfer}/allocations"),
            json!({ "invoice_id": invoice, "amount": amount }),
        )
    };
    let status = |invoice: &str| {
        ok(
            admin(
                &p,
                &s,
                Method::Get,
                &format!("/admin/api/v1/invoices/{invoice}"),
                None,
            ),
            200,
        )["invoice"]
            .clone()
    };
    let paid = ok(allocate(&first, 60_000), 201);
    assert_eq!(paid["unallocated_amount"], 40_000);
    let inv = status(&first);
    assert_eq!(
        (inv["status"].as_str(), inv["balance"].as_i64()),
        (Some("partially_paid"), Some(40_000))
    );
    // More than the invoice owes, then more than the payment holds: refused, nothing written.
    let r = allocate(&first, 50_000);
    assert_eq!(r.status, 409, "{}", text(&r));
    assert!(text(&r).contains("allocation_exceeds_balance"));
    ok(allocate(&first, 40_000), 201);
    assert_eq!(status(&first)["status"], "paid");
    let r = allocate(&second, 1);
    assert_eq!(r.status, 409, "{}", text(&r));
    assert!(text(&r).contains("allocation_exceeds_payment"));
    assert_eq!(
        p.count("SELECT COUNT(*) FROM invoice_allocations"),
        2,
        "the refusals wrote nothing"
    );
    // A paid invoice is not voided; undoing an allocation reopens it and frees the money.
    let r = post(
        &p,
        &s,
        &format!("/admin/api/v1/invoices/{first}/void"),
        json!({ "reason": "x" }),
    );
    assert_eq!(r.status, 409, "{}", text(&r));
    let pay = ok(
        admin(
            &p,
            &s,
            Method::Get,
            &format!("/admin/api/v1/payments/{transfer}"),
            None,
        ),
        200,
    );
    let last = pay["allocations"][1]["id"].as_str().unwrap().to_owned();
    assert_eq!(pay["allocations"][1]["invoice_number"], "INV-000001");
    let r = admin(
        &p,
        &s,
        Method::Delete,
        &format!("/admin/api/v1/allocations/{last}"),
        None,
    );
    assert_eq!(r.status, 204, "{}", text(&r));
    assert_eq!(status(&first)["status"], "partially_paid");
    let balance = ok(
        admin(
            &p,
            &s,
            Method::Get,
            &format!("/admin/api/v1/companies/{company}/balance"),
            None,
        ),
        200,
    );
    assert_eq!(balance["credit"], 40_000, "what no invoice took");
    assert_eq!(balance["owed"], 40_000 + 100_000);
    assert_eq!(balance["open_invoices"], 2);
    ok(allocate(&second, 40_000), 201);
    assert_eq!(status(&second)["amount_paid"], 40_000);

    // Not open, another company's, another currency, or by a support key: refused.
    let draft_id = invoice_id(&draft(&p, &s, &company, 10));
    let globex = globex(
        &p,
        &s,
        json!({ "first_name": "G", "last_name": "X", "email": "g@globex.test",
                    "roles": ["billing"], "primary_roles": ["billing"] }),
    );
    let theirs = invoice_id(&draft(&p, &s, &globex, 10));
    ok(issue(&p, &s, &theirs), 200);
    let euros = id(&ok(
        post(
            &p,
            &s,
            "/admin/api/v1/payments",
            json!({ "company_id": company, "method": "cheque", "amount": 500, "currency": "eur" }),
        ),
        201,
    ));
    for (payment, invoice, status, code) in [
        (
            transfer.as_str(),
            draft_id.as_str(),
            409,
            "invoice_not_open",
        ),
        (transfer.as_str(), theirs.as_str(), 422, "invoice_id"),
        (euros.as_str(), second.as_str(), 422, "invoice_id"),
        (transfer.as_str(), "inv_nope", 404, "not_found"),
    ] {
        let r = post(
            &p,
            &s,
            &format!("/admin/api/v1/payments/{payment}/allocations"),
            json!({ "invoice_id": invoice, "amount": 1 }),
        );
        assert_eq!(r.status, status, "{invoice}: {}", text(&r));
        assert!(text(&r).contains(code), "{}", text(&r));
    }
    let support = {
        let r = post(
            &p,
            &s,
            "/admin/api/v1/admin-keys",
            json!({ "role": "support", "label": "s" }),
        );
        Store {
            id: s.id.clone(),
            pk: s.pk.clone(),
            admin: ok(r, 201)["key"].as_str().unwrap().to_owned(),
        }
    };
    let r = post(
        &p,
        &support,
        "/admin/api/v1/payments",
        json!({ "company_id": company, "method": "cash", "amount": 5 }),
    );
    assert_eq!(r.status, 403);
    let r = post(
        &p,
        &s,
        "/admin/api/v1/payments",
        json!({ "company_id": company, "method": "cash", "amount": 5, "received_at": "2099-01-01" }),
    );
    assert_eq!(r.status, 422, "{}", text(&r));
    // The database refuses an allocation beyond either bound whatever SQL tries it.
    let conn = p.db.conn();
    for (invoice, amount, words) in [
        (second.as_str(), 70_000, "more than the invoice owes"),
        (second.as_str(), 1, "more than the payment holds"),
    ] {
        let payment = if words.contains("invoice") {
            euros.as_str()
        } else {
            transfer.as_str()
        };
        let sql = format!(
            "INSERT INTO invoice_allocations (id, store_id, payment_id, invoice_id, amount, created_by, created_at) VALUES ('al_x', '{}', '{payment}', '{invoice}', {amount}, 't', 0)",
            s.id
        );
        let err = conn.execute_batch(&sql).expect_err(&sql);
        assert!(err.to_string().contains(words), "{err}");
    }
}

#[test]
fn billing_contacts_read_their_companys_issued_invoices_and_never_anothers() {
    let p = TestPlatform::new();
    let s = create_store(&p, "SI");
    let (acme, ada) = acme(&p, &s);
    let link = |contact: &str, subject: &str| {
        ok(
            admin(
                &p,
                &s,
                Method::Patch,
                &format!("/admin/api/v1/contacts/{contact}"),
                Some(json!({ "customer_subject": subject })),
            ),
            200,
        );
        hs256(&p, subject, AUDIENCE, 3600)
    };
    let ada_jwt = link(&ada, "idp|ada");
    ok(
        post(
            &p,
            &s,
            &format!("/admin/api/v1/companies/{acme}/contacts"),
            json!({
            "first_name": "Bob", "last_name": "T", "email": "bob@acme.test", "roles": ["technical"], "customer_subject": "idp|bob" }),
        ),
        201,
    );
    let bob_jwt = hs256(&p, "idp|bob", AUDIENCE, 3600);
    let globex = globex(
        &p,
        &s,
        json!({
            "first_name": "Gia", "last_name": "G", "email": "gia@globex.test", "roles": ["billing"], "primary_roles": ["billing"],
            "customer_subject": "idp|gia" }),
    );
    let gia_jwt = hs256(&p, "idp|gia", AUDIENCE, 3600);
    let ours = invoice_id(&draft(&p, &s, &acme, 1000));
    ok(issue(&p, &s, &ours), 200);
    let _still_draft = draft(&p, &s, &acme, 5);
    let theirs = invoice_id(&draft(&p, &s, &globex, 300));
    let theirs_number = ok(issue(&p, &s, &theirs), 200)["invoice"]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let transfer = id(&ok(
        post(
            &p,
            &s,
            "/admin/api/v1/payments",
            json!({ "company_id": acme, "method": "bank_transfer", "amount": 500, "reference": "R-1" }),
        ),
        201,
    ));
    ok(
        post(
            &p,
            &s,
            &format!("/admin/api/v1/payments/{transfer}/allocations"),
            json!({ "invoice_id": ours, "amount": 500 }),
        ),
        201,
    );

    let list = |jwt: &str| shop_as(&p, &s, jwt, Method::Get, "/v1/invoices", None, None);
    let mine = ok(list(&ada_jwt), 200);
    let numbers: Vec<&str> = mine["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["INV-000001"], "issued ones only, ACME's only");
    assert_eq!(mine["data"][0]["balance"], 1500);
    let one = ok(
        shop_as(
            &p,
            &s,
            &ada_jwt,
            Method::Get,
            "/v1/invoices/INV-000001",
            None,
            None,
        ),
        200,
    );
    assert_eq!(one["allocations"][0]["reference"], "R-1");
    assert_eq!(one["lines"][0]["description"], "Consulting, November");
    // Another company's number is not found; a contact who is not billing is refused;
    // a guest must sign in.
    let r = shop_as(
        &p,
        &s,
        &ada_jwt,
        Method::Get,
        &format!("/v1/invoices/{theirs_number}"),
        None,
        None,
    );
    assert_eq!(r.status, 404, "{}", text(&r));
    let r = shop_as(
        &p,
        &s,
        &gia_jwt,
        Method::Get,
        "/v1/invoices/INV-000001",
        None,
        None,
    );
    assert_eq!(r.status, 404, "{}", text(&r));
    let theirs_list = ok(list(&gia_jwt), 200);
    assert_eq!(theirs_list["data"].as_array().unwrap().len(), 1);
    assert_eq!(theirs_list["data"][0]["number"], theirs_number.as_str());
    assert_eq!(list(&bob_jwt).status, 403);
    assert_eq!(
        shop(&p, &s, Method::Get, "/v1/invoices", None, None).status,
        401
    );
    // The payment history: what the company paid and where it went, not who typed it in.
    let history = ok(
        shop_as(&p, &s, &ada_jwt, Method::Get, "/v1/payments", None, None),
        200,
    );
    assert_eq!(history["data"].as_array().unwrap().len(), 1, "{history}");
    assert_eq!(history["data"][0]["reference"], "R-1");
    assert_eq!(history["data"][0]["created_by"], "seller");
    assert_eq!(
        history["data"][0]["allocations"][0]["invoice_number"],
        "INV-000001"
    );
    let theirs = ok(
        shop_as(&p, &s, &gia_jwt, Method::Get, "/v1/payments", None, None),
        200,
    );
    assert!(
        theirs["data"].as_array().unwrap().is_empty(),
        "ACME's payments are ACME's"
    );
    let r = shop_as(&p, &s, &bob_jwt, Method::Get, "/v1/payments", None, None);
    assert_eq!(r.status, 403);
    // Paying online from the storefront: the balance, or part of it, never more.
    p.serve(
        "http://stripe.test/v1/checkout/sessions",
        200,
        &json!({ "id": "cs_sf1", "url": "https://checkout.test/cs_sf1" }),
    );
    let pay = |jwt: &str, body: Value| {
        shop_as(
            &p,
            &s,
            jwt,
            Method::Post,
            "/v1/invoices/INV-000001/pay",
            None,
            Some(body),
        )
    };
    let r = pay(&ada_jwt, json!({ "amount": 1501 }));
    assert_eq!(r.status, 422, "{}", text(&r));
    let session = ok(pay(&ada_jwt, json!({ "amount": 500 })), 200);
    assert_eq!(session["amount"], 500);
    assert_eq!(session["balance"], 1500);
    assert_eq!(session["checkout_url"], "https://checkout.test/cs_sf1");
    assert_eq!(
        pay(&gia_jwt, json!({})).status,
        404,
        "another company's invoice"
    );
    assert_eq!(pay(&bob_jwt, json!({})).status, 403);
    assert_eq!(
        one["pay_url"]
            .as_str()
            .map(|u| u.starts_with("https://api.shop.test/v1/pay/")),
        Some(true)
    );
    // Its credit notes, as documents, for its billing contacts only.
    let invoice = one["invoice"]["id"].as_str().unwrap();
    ok(
        post(
            &p,
            &s,
            &format!("/admin/api/v1/invoices/{invoice}/credit-notes"),
            json!({ "amount": 100, "reason": "Late delivery" }),
        ),
        201,
    );
    let cn = |jwt: &str| {
        shop_as(
            &p,
            &s,
            jwt,
            Method::Get,
            "/v1/credit-notes/CN-000001/pdf",
            None,
            None,
        )
    };
    let r = cn(&ada_jwt);
    assert_eq!(r.status, 200, "{}", text(&r));
    assert!(
        r.file
            .as_ref()
            .is_some_and(|f| f.filename == "CN-000001.pdf")
    );
    assert_eq!(cn(&gia_jwt).status, 404);
    assert_eq!(cn(&bob_jwt).status, 403);
}

#[test]
fn the_daily_job_reminds_each_overdue_invoice_once() {
    use lading_core::queue::{Outcome, process};
    let p = TestPlatform::new();
    let s = create_store(&p, "RM");
    let (company, _) = acme(&p, &s);
    let late = invoice_id(&draft(&p, &s, &company, 4000));
    ok(issue(&p, &s, &late), 200);
    let paid = invoice_id(&draft(&p, &s, &company, 100));
    ok(issue(&p, &s, &paid), 200);
    let transfer = id(&ok(
        post(
            &p,
            &s,
            "/admin/api/v1/payments",
            json!({ "company_id": company, "method": "bank_transfer", "amount": 200 }),
        ),
        201,
    ));
    ok(
        post(
            &p,
            &s,
            &format!("/admin/api/v1/payments/{transfer}/allocations"),
            json!({ "invoice_id": paid, "amount": 200 }),
        ),
        201,
    );
    let daily = |p: &TestPlatform| run(lading_core::jobs::run_cron(p, lading_core::jobs::DAILY));
    // Not yet due: nothing.
    let r = daily(&p);
    assert_eq!((r[0].job, r[0].changed), ("remind_overdue_invoices", 0));
    p.advance_ms(31 * 86_400_000);
    p.queued.borrow_mut().clear();
    let r = daily(&p);
    assert_eq!(r[0].changed, 1, "{r:?}");
    // Run again the same day (and the next): no second reminder.
    assert_eq!(daily(&p)[0].changed, 0);
    p.advance_ms(86_400_000);
    assert_eq!(daily(&p)[0].changed, 0);
    assert_eq!(
        p.text(&format!("SELECT recipient FROM notifications WHERE invoice_id = '{late}' AND kind = 'invoice_overdue'")),
        "ada@acme.test"
    );
    assert_eq!(
        p.count("SELECT COUNT(*) FROM notifications WHERE kind = 'invoice_overdue'"),
        1,
        "the paid one is not reminded"
    );
    assert_eq!(
        p.count(&format!("SELECT COUNT(*) FROM domain_events WHERE aggregate_id = '{late}' AND type = 'invoice.overdue'")),
        1
    );
    // The queued email, delivered twice, is sent once, saying what is owed.
    let messages = p.queued_of("email");
    assert_eq!(messages.len(), 1, "{messages:?}");
    p.serve(
        "http://email.test/v3/smtp/email",
        201,
        &json!({ "messageId": "<r1@relay>" }),
    );
    assert_eq!(run(process(&p, &messages[0])), Outcome::Done);
    assert!(matches!(
        run(process(&p, &messages[0])),
        Outcome::Dropped { .. }
    ));
    let sent = p.sent_to("http://email.test/v3/smtp/email");
    assert_eq!(sent.len(), 1);
    let body: Value = serde_json::from_slice(sent[0].body.as_ref().unwrap()).unwrap();
    assert_eq!(body["to"][0]["email"], "ada@acme.test");
    assert_eq!(body["subject"], "Invoice INV-000001 is overdue");
    assert!(
        body["textContent"].as_str().unwrap().contains("80.00 USD"),
        "{body}"
    );
}

#[test]
fn an_issued_invoice_is_written_once_as_a_pdf_for_operators_and_its_billing_contact() {
    let p = TestPlatform::new();
    let s = create_store(&p, "PD");
    let (company, ada) = acme(&p, &s);
    ok(
        post(
            &p,
            &s,
            &format!("/admin/api/v1/companies/{company}/addresses"),
            json!({
            "name": "ACME Accounts", "line1": "1 Ledger Way", "city": "Austin", "region": "TX", "postal_code": "73301",
            "country": "US", "default_for": ["billing"] }),
        ),
        201,
    );
    ok(
        admin(
            &p,
            &s,
            Method::Patch,
            &format!("/admin/api/v1/contacts/{ada}"),
            Some(json!({ "customer_subject": "idp|ada" })),
        ),
        200,
    );
    let d = draft(&p, &s, &company, 52_500);
    let id = invoice_id(&d);
    let pdf_path = format!("/admin/api/v1/invoices/{id}/pdf");
    let r = admin(&p, &s, Method::Get, &pdf_path, None);
    assert_eq!(r.status, 409, "a draft has no document: {}", text(&r));
    ok(issue(&p, &s, &id), 200);
    let key = format!("invoices/{}/{id}/INV-000001.pdf", s.id);
    let (content_type, bytes) = p
        .files
        .borrow()
        .get(&key)
        .cloned()
        .expect("written on issue");
    assert_eq!(content_type, "application/pdf");
    assert!(bytes.starts_with(b"%PDF-") && bytes.trim_ascii_end().ends_with(b"%%EOF"));
    let body = String::from_utf8_lossy(&bytes);
    for shown in [
        "(INV-000001)",
        "(ACME)",
        "(1 Ledger Way)",
        "(Consulting, November)",
        "(1050.00 USD)",
        "(net 30)",
    ] {
        assert!(body.contains(shown), "{shown} missing");
    }
    // Served from the bucket as written, to operators and to the billing contact only.
    let r = admin(&p, &s, Method::Get, &pdf_path, None);
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(
        r.file
            .as_ref()
            .map(|f| (f.key.as_str(), f.filename.as_str())),
        Some((key.as_str(), "INV-000001.pdf"))
    );
    let jwt = hs256(&p, "idp|ada", AUDIENCE, 3600);
    let r = shop_as(
        &p,
        &s,
        &jwt,
        Method::Get,
        "/v1/invoices/INV-000001/pdf",
        None,
        None,
    );
    assert_eq!(r.file.as_ref().map(|f| f.key.as_str()), Some(key.as_str()));
    let stranger = hs256(&p, "idp|nobody", AUDIENCE, 3600);
    let r = shop_as(
        &p,
        &s,
        &stranger,
        Method::Get,
        "/v1/invoices/INV-000001/pdf",
        None,
        None,
    );
    assert_eq!(r.status, 403);
    // Written once: a later change of the company's name does not rewrite it.
    ok(
        admin(
            &p,
            &s,
            Method::Patch,
            &format!("/admin/api/v1/companies/{company}"),
            Some(json!({ "name": "ACME Renamed" })),
        ),
        200,
    );
    admin(&p, &s, Method::Get, &pdf_path, None);
    assert_eq!(
        p.files.borrow().get(&key).map(|f| f.1.clone()),
        Some(bytes.clone())
    );
    // Voided: a notice of its own beside it; the issued document stays as it was.
    ok(
        post(
            &p,
            &s,
            &format!("/admin/api/v1/invoices/{id}/void"),
            json!({ "reason": "Billed to the wrong branch" }),
        ),
        200,
    );
    let void_key = format!("invoices/{}/{id}/INV-000001-void.pdf", s.id);
    let notice =
        String::from_utf8_lossy(&p.files.borrow().get(&void_key).expect("the void notice").1)
            .into_owned();
    assert!(
        notice.contains("(VOID INVOICE)") && notice.contains("Billed to the wrong branch"),
        "{notice}"
    );
    assert_eq!(p.files.borrow().get(&key).map(|f| f.1.clone()), Some(bytes));
    let r = admin(&p, &s, Method::Get, &pdf_path, None);
    assert_eq!(
        r.file.as_ref().map(|f| f.filename.as_str()),
        Some("INV-000001-void.pdf")
    );
}

#[test]
fn credit_notes_reduce_an_issued_invoice_for_good_with_their_own_numbers_and_documents() {
    let p = TestPlatform::new();
    let s = create_store(&p, "CN");
    let (company, _) = acme(&p, &s);
    ok(
        admin(
            &p,
            &s,
            Method::Patch,
            &format!("/admin/api/v1/companies/{company}"),
            Some(json!({ "tax_id": "DE123456789" })),
        ),
        200,
    );
    let id = invoice_id(&draft(&p, &s, &company, 5000));
    // A draft takes no credit note.
    let credit = format!("/admin/api/v1/invoices/{id}/credit-notes");
    let r = post(&p, &s, &credit, json!({ "amount": 100, "reason": "Early" }));
    assert_eq!(r.status, 409, "{}", text(&r));
    assert_eq!(r.body_json()["type"], "invoice_not_open");
    ok(issue(&p, &s, &id), 200);
    let invoice_pdf = p
        .files
        .borrow()
        .get(&format!("invoices/{}/{id}/INV-000001.pdf", s.id))
        .cloned()
        .expect("written on issue")
        .1;
    assert!(
        String::from_utf8_lossy(&invoice_pdf).contains("(Tax ID: DE123456789)"),
        "the buyer's tax id is printed"
    );

    let cn = ok(
        post(
            &p,
            &s,
            &credit,
            json!({ "amount": 2500, "reason": "Damaged in transit" }),
        ),
        201,
    );
    assert_eq!(cn["number"], "CN-000001");
    assert_eq!(cn["invoice_number"], "INV-000001");
    let d = invoice_detail(&p, &s, &id);
    assert_eq!(d["invoice"]["status"], "partially_paid");
    assert_eq!(d["invoice"]["balance"], 7500);
    assert_eq!(d["credit_notes"][0]["number"], "CN-000001");
    assert_eq!(d["allocations"][0]["method"], "credit_note");

    // Never more than what is owed; a refusal writes nothing.
    let before = p.row_counts();
    let r = post(
        &p,
        &s,
        &credit,
        json!({ "amount": 7501, "reason": "Too much" }),
    );
    assert_eq!(r.status, 409, "{}", text(&r));
    assert_eq!(r.body_json()["type"], "credit_exceeds_balance");
    for bad in [
        json!({ "amount": 0, "reason": "Nothing" }),
        json!({ "amount": 10, "reason": "" }),
        json!({ "amount": 10 }),
    ] {
        assert_eq!(post(&p, &s, &credit, bad.clone()).status, 422, "{bad}");
    }
    assert_eq!(p.row_counts(), before);

    // The rest credited: paid, and numbered next without a gap.
    let second = ok(
        post(
            &p,
            &s,
            &credit,
            json!({ "amount": 7500, "reason": "Goodwill" }),
        ),
        201,
    );
    assert_eq!(second["number"], "CN-000002");
    let d = invoice_detail(&p, &s, &id);
    assert_eq!(d["invoice"]["status"], "paid");
    assert_eq!(d["invoice"]["balance"], 0);

    // Its own document, beside the invoice's.
    let cn_id = cn["id"].as_str().unwrap();
    let r = admin(
        &p,
        &s,
        Method::Get,
        &format!("/admin/api/v1/credit-notes/{cn_id}/pdf"),
        None,
    );
    assert_eq!(r.status, 200, "{}", text(&r));
    let key = format!("invoices/{}/{id}/CN-000001.pdf", s.id);
    assert_eq!(r.file.as_ref().map(|f| f.key.as_str()), Some(key.as_str()));
    let bytes = p.files.borrow().get(&key).cloned().expect("written").1;
    let body = String::from_utf8_lossy(&bytes);
    for shown in [
        "(CREDIT NOTE)",
        "(CN-000001)",
        "(INV-000001)",
        "(Damaged in transit)",
        "(25.00 USD)",
        "(75.00 USD)",
    ] {
        assert!(body.contains(shown), "{shown} missing");
    }
    assert_eq!(
        p.files
            .borrow()
            .get(&format!("invoices/{}/{id}/INV-000001.pdf", s.id))
            .cloned()
            .expect("kept")
            .1,
        invoice_pdf,
        "the invoice's document is never overwritten"
    );

    // A credit note's allocation stays: the API refuses to undo it, and so does the database.
    let alloc = d["allocations"][0]["id"].as_str().unwrap();
    let r = admin(
        &p,
        &s,
        Method::Delete,
        &format!("/admin/api/v1/allocations/{alloc}"),
        None,
    );
    assert_eq!(r.status, 409, "{}", text(&r));
    assert_eq!(r.body_json()["type"], "credit_note_kept");
    let err =
        p.db.conn()
            .execute_batch(&format!(
                "DELETE FROM invoice_allocations WHERE id = '{alloc}'"
            ))
            .expect_err("kept");
    assert!(err.to_string().contains("credit note"), "{err}");
    assert_eq!(
        p.count("SELECT credit_next_number FROM invoice_sequences"),
        3
    );
}

#[test]
fn a_pay_link_pays_what_is_owed_and_stops_when_the_invoice_is_void() {
    let p = TestPlatform::new();
    let s = create_store(&p, "PL");
    let (company, _) = acme(&p, &s);
    let id = invoice_id(&draft(&p, &s, &company, 2500));
    assert!(
        invoice_detail(&p, &s, &id)["pay_url"].is_null(),
        "a draft has no pay link"
    );
    ok(issue(&p, &s, &id), 200);
    let pay_url = invoice_detail(&p, &s, &id)["pay_url"]
        .as_str()
        .expect("a pay link once issued")
        .to_owned();
    let path = pay_url
        .trim_start_matches("https://api.shop.test")
        .to_owned();
    p.serve(
        "http://stripe.test/v1/checkout/sessions",
        200,
        &json!({ "id": "cs_pl1", "url": "https://checkout.test/cs_pl1" }),
    );
    let r = call(&p, "storefront", req(Method::Get, &path));
    assert_eq!(r.status, 303, "{}", text(&r));
    assert_eq!(
        r.get_header("location"),
        Some("https://checkout.test/cs_pl1")
    );
    // Part of it: a new session replaces the first, which is expired at Stripe.
    p.serve(
        "http://stripe.test/v1/checkout/sessions",
        200,
        &json!({ "id": "cs_pl2", "url": "https://checkout.test/cs_pl2" }),
    );
    p.serve(
        "http://stripe.test/v1/checkout/sessions/cs_pl1/expire",
        200,
        &json!({ "id": "cs_pl1", "status": "expired" }),
    );
    let r = call(
        &p,
        "storefront",
        req(Method::Get, &format!("{path}?amount=1000")),
    );
    assert_eq!(
        r.get_header("location"),
        Some("https://checkout.test/cs_pl2")
    );
    assert_eq!(
        p.sent_to("http://stripe.test/v1/checkout/sessions/cs_pl1/expire")
            .len(),
        1
    );
    assert_eq!(
        p.text(&format!(
            "SELECT checkout_session_id || ' ' || checkout_amount FROM invoices WHERE id = '{id}'"
        )),
        "cs_pl2 1000"
    );
    for bad in ["?amount=0", "?amount=5001", "?amount=ten"] {
        let r = call(&p, "storefront", req(Method::Get, &format!("{path}{bad}")));
        assert_eq!(r.status, 422, "{bad}: {}", text(&r));
    }

    // Voided: its session is closed and the link pays nothing more.
    p.serve(
        "http://stripe.test/v1/checkout/sessions/cs_pl2/expire",
        200,
        &json!({ "id": "cs_pl2", "status": "expired" }),
    );
    ok(
        post(
            &p,
            &s,
            &format!("/admin/api/v1/invoices/{id}/void"),
            json!({ "reason": "Sent to the wrong company" }),
        ),
        200,
    );
    assert_eq!(
        p.sent_to("http://stripe.test/v1/checkout/sessions/cs_pl2/expire")
            .len(),
        1
    );
    assert_eq!(
        p.count(&format!(
            "SELECT COUNT(*) FROM invoices WHERE id = '{id}' AND checkout_session_id IS NULL"
        )),
        1
    );
    let r = call(&p, "storefront", req(Method::Get, &path));
    assert_eq!(r.status, 409, "{}", text(&r));
    assert_eq!(r.body_json()["type"], "invoice_not_payable");
    // Its signed document link still serves its void notice, without signing in.
    let d = invoice_detail(&p, &s, &id);
    assert!(d["pay_url"].is_null());
    let doc = d["document_url"].as_str().expect("a signed document link");
    assert_eq!(doc, format!("{pay_url}/invoice.pdf"));
    let r = call(
        &p,
        "storefront",
        req(Method::Get, doc.trim_start_matches("https://api.shop.test")),
    );
    assert_eq!(
        r.file.as_ref().map(|f| f.filename.as_str()),
        Some("INV-000001-void.pdf")
    );
    // A token for another invoice id, signed with another secret, finds nothing.
    let forged =
        lading_core::billing::pay::sign_pay_token("another-secret-of-32-characters!!", &id);
    let r = call(
        &p,
        "storefront",
        req(Method::Get, &format!("/v1/pay/{forged}")),
    );
    assert_eq!(r.status, 404);
}
