//! Companies as customers through the admin API on real SQLite: companies (search, pages,
//! terms, defaults), contacts with roles and one primary contact per role, the address
//! book (the same place once: 409 naming it), another store's companies (404), and the
//! query plans of every list.

mod support;

use lading_api::http::Method;
use serde_json::{Value, json};
use support::*;

fn company(p: &TestPlatform, s: &Store, name: &str, external_ref: Option<&str>) -> String {
    let b = ok(
        admin(
            p,
            s,
            Method::Post,
            "/admin/api/v1/companies",
            Some(json!({ "name": name, "external_ref": external_ref, "payment_terms": "net_30" })),
        ),
        201,
    );
    b["id"].as_str().unwrap().to_owned()
}

fn acme_address() -> Value {
    json!({ "label": "HQ", "name": "ACME Receiving", "line1": "12 Main St.", "city": "Springfield",
            "region": "IL", "postal_code": "62701", "country": "us" })
}

#[test]
fn companies_are_created_searched_by_name_and_paged() {
    let p = TestPlatform::new();
    let s = create_store(&p, "CO");
    for name in [
        "Globex",
        "acme hardware",
        "ACME Sensors",
        "Initech",
        "Umbrella",
    ] {
        company(&p, &s, name, None);
    }
    let ext = company(&p, &s, "Hooli", Some("CRM-77"));
    let b = ok(
        admin(
            &p,
            &s,
            Method::Get,
            "/admin/api/v1/companies/".to_owned().trim_end_matches('/'),
            None,
        ),
        200,
    );
    let names: Vec<&str> = b["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "acme hardware",
            "ACME Sensors",
            "Globex",
            "Hooli",
            "Initech",
            "Umbrella"
        ]
    );
    assert_eq!(b["data"][0]["currency"], "usd");
    assert_eq!(b["data"][0]["payment_terms"], "net_30");

    // Pages of two join up.
    let mut seen = Vec::new();
    let mut after = String::new();
    loop {
        let mut r = lading_api::http::Request::new(Method::Get, "/admin/api/v1/companies")
            .header("authorization", &format!("Bearer {}", s.admin));
        r.query = lading_api::http::parse_query(&format!("limit=2&starting_after={after}"));
        let b = ok(call(&p, "admin", r), 200);
        seen.extend(
            b["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].as_str().unwrap().to_owned()),
        );
        match b["next_starting_after"].as_str() {
            Some(n) => after = n.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, names);

    // The name's beginning in any case, or the exact external reference.
    for (q, expected) in [
        ("acme", vec!["acme hardware", "ACME Sensors"]),
        ("CRM-77", vec!["Hooli"]),
        ("zzz", vec![]),
    ] {
        let mut r = lading_api::http::Request::new(Method::Get, "/admin/api/v1/companies")
            .header("authorization", &format!("Bearer {}", s.admin));
        r.query = lading_api::http::parse_query(&format!("q={q}"));
        let b = ok(call(&p, "admin", r), 200);
        let got: Vec<&str> = b["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(got, expected, "q={q}");
    }

    // A reference another company has, bad terms, a bad currency: refused, nothing written.
    let before = p.row_counts();
    let r = admin(
        &p,
        &s,
        Method::Post,
        "/admin/api/v1/companies",
        Some(json!({ "name": "Dup", "external_ref": "CRM-77" })),
    );
    assert_eq!(r.status, 409, "{}", text(&r));
    assert!(text(&r).contains("company_exists"));
    for bad in [
        json!({ "name": "X", "payment_terms": "net_0" }),
        json!({ "name": "X", "currency": "ZZZ" }),
        json!({ "name": " " }),
    ] {
        let r = admin(
            &p,
            &s,
            Method::Post,
            "/admin/api/v1/companies",
            Some(bad.clone()),
        );
        assert_eq!(r.status, 422, "{bad}: {}", text(&r));
    }
    let r = admin(
        &p,
        &s,
        Method::Patch,
        &format!("/admin/api/v1/companies/{ext}"),
        Some(json!({ "payment_terms": "net_x" })),
    );
    assert_eq!(r.status, 422);
    assert_eq!(p.row_counts(), before);

    // Terms change; the reference clears with null.
    let b = ok(
        admin(
            &p,
            &s,
            Method::Patch,
            &format!("/admin/api/v1/companies/{ext}"),
            Some(json!({ "payment_terms": "prepaid", "external_ref": null })),
        ),
        200,
    );
    assert_eq!(b["payment_terms"], "prepaid");
    assert_eq!(b["external_ref"], Value::Null);
    assert_eq!(b["name"], "Hooli");
}

#[test]
fn contacts_hold_roles_with_one_primary_contact_per_role() {
    let p = TestPlatform::new();
    let s = create_store(&p, "CT");
    let co = company(&p, &s, "ACME", None);
    let contacts = format!("/admin/api/v1/companies/{co}/contacts");
    let ada = ok(
        admin(
            &p,
            &s,
            Method::Post,
            &contacts,
            Some(json!({
                "first_name": "Ada", "last_name": "Lovelace", "email": "Ada@Acme.test",
                "roles": ["billing", "technical"], "primary_roles": ["billing"],
                "spending_limit": { "amount": 500000, "period": "monthly" }
            })),
        ),
        201,
    );
    assert_eq!(ada["email"], "ada@acme.test");
    assert_eq!(
        ada["roles"],
        json!([{ "role": "billing", "primary": true }, { "role": "technical", "primary": false }])
    );
    assert_eq!(
        ada["spending_limit"],
        json!({ "amount": 500000, "period": "monthly" })
    );
    let ada_id = ada["id"].as_str().unwrap().to_owned();

    // Bob becomes the primary billing contact: the flag moves from Ada in the same batch.
    let bob = ok(
        admin(
            &p,
            &s,
            Method::Post,
            &contacts,
            Some(json!({
                "first_name": "Bob", "last_name": "Babbage", "email": "bob@acme.test",
                "roles": ["billing", "shipping"], "primary_roles": ["billing", "shipping"]
            })),
        ),
        201,
    );
    let bob_id = bob["id"].as_str().unwrap().to_owned();
    let list = ok(admin(&p, &s, Method::Get, &contacts, None), 200);
    let roles_of = |list: &Value, id: &str| {
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()["roles"]
            .clone()
    };
    assert_eq!(
        roles_of(&list, &ada_id),
        json!([{ "role": "billing", "primary": false }, { "role": "technical", "primary": false }])
    );
    assert_eq!(p.count(&format!("SELECT COUNT(*) FROM contact_roles WHERE company_id = '{co}' AND is_primary = 1 AND role = 'billing'")), 1);

    // Roles are replaced as a set; primary only among held roles.
    let b = ok(
        admin(
            &p,
            &s,
            Method::Post,
            &format!("/admin/api/v1/contacts/{ada_id}/roles"),
            Some(json!({ "roles": ["executive", "billing"], "primary_roles": ["billing"] })),
        ),
        200,
    );
    assert_eq!(
        b["roles"],
        json!([{ "role": "billing", "primary": true }, { "role": "executive", "primary": false }])
    );
    let before = p.row_counts();
    for bad in [
        json!({ "roles": ["billing"], "primary_roles": ["shipping"] }),
        json!({ "roles": ["accounting"] }),
    ] {
        let r = admin(
            &p,
            &s,
            Method::Post,
            &format!("/admin/api/v1/contacts/{ada_id}/roles"),
            Some(bad.clone()),
        );
        assert_eq!(r.status, 422, "{bad}: {}", text(&r));
    }
    // The same email in another case, a negative limit, a bad email: refused.
    let r = admin(
        &p,
        &s,
        Method::Post,
        &contacts,
        Some(json!({ "first_name": "A", "last_name": "L", "email": "ADA@acme.test" })),
    );
    assert_eq!(r.status, 409, "{}", text(&r));
    assert!(text(&r).contains("contact_exists"));
    for bad in [
        json!({ "first_name": "C", "last_name": "D", "email": "c@acme.test", "spending_limit": { "amount": -1, "period": "monthly" } }),
        json!({ "first_name": "C", "last_name": "D", "email": "c@acme.test", "spending_limit": { "amount": 1, "period": "weekly" } }),
        json!({ "first_name": "C", "last_name": "D", "email": "not-an-email" }),
    ] {
        let r = admin(&p, &s, Method::Post, &contacts, Some(bad.clone()));
        assert_eq!(r.status, 422, "{bad}: {}", text(&r));
    }
    assert_eq!(p.row_counts(), before);

    // Patch: null clears; a customer identity links one contact per store.
    let b = ok(
        admin(
            &p,
            &s,
            Method::Patch,
            &format!("/admin/api/v1/contacts/{ada_id}"),
            Some(
                json!({ "spending_limit": null, "phone": "+1 555 0100", "customer_subject": "idp|ada" }),
            ),
        ),
        200,
    );
    assert_eq!(b["spending_limit"], Value::Null);
    assert_eq!(b["phone"], "+1 555 0100");
    let r = admin(
        &p,
        &s,
        Method::Patch,
        &format!("/admin/api/v1/contacts/{bob_id}"),
        Some(json!({ "customer_subject": "idp|ada" })),
    );
    assert_eq!(r.status, 409, "{}", text(&r));
    assert!(text(&r).contains("customer_already_linked"));

    // Archived: inactive, no longer primary for anything, and holds no new roles.
    let b = ok(
        admin(
            &p,
            &s,
            Method::Post,
            &format!("/admin/api/v1/contacts/{bob_id}/archive"),
            None,
        ),
        200,
    );
    assert_eq!(b["active"], false);
    assert!(
        b["roles"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["primary"] == false)
    );
    let r = admin(
        &p,
        &s,
        Method::Post,
        &format!("/admin/api/v1/contacts/{bob_id}/roles"),
        Some(json!({ "roles": ["billing"] })),
    );
    assert_eq!(r.status, 409);
    assert!(text(&r).contains("contact_archived"));

    // Every change is in the audit log, naming its target (the refused link wrote nothing).
    let actions = p.text(&format!("SELECT group_concat(action || ':' || target_id, ' ') FROM (SELECT action, target_id FROM audit_log WHERE target_type = 'contact' AND target_id = '{bob_id}' ORDER BY created_at, id)"));
    assert_eq!(
        actions,
        format!("contact.create:{bob_id} contact.archive:{bob_id}")
    );
}

#[test]
fn the_address_book_has_each_place_once_and_defaults_only_from_it() {
    let p = TestPlatform::new();
    let s = create_store(&p, "AB");
    let co = company(&p, &s, "ACME", None);
    let other = company(&p, &s, "Globex", None);
    let book = format!("/admin/api/v1/companies/{co}/addresses");
    let mut first = acme_address();
    first["default_for"] = json!(["shipping", "billing"]);
    let hq = ok(admin(&p, &s, Method::Post, &book, Some(first)), 201);
    let hq_id = hq["id"].as_str().unwrap().to_owned();
    assert_eq!(hq["country"], "US");
    assert_eq!(hq["default_for"], json!(["shipping", "billing"]));

    // The same place written differently: 409 naming the address, nothing written.
    let before = p.row_counts();
    let same = json!({ "name": "Someone else", "line1": "12  main st", "city": "SPRINGFIELD", "region": "il",
                       "postal_code": "62701", "country": "US" });
    let r = admin(&p, &s, Method::Post, &book, Some(same.clone()));
    assert_eq!(r.status, 409, "{}", text(&r));
    let b = r.body_json();
    assert_eq!(
        b["type"].as_str().unwrap().rsplit('/').next().unwrap(),
        "address_exists"
    );
    assert_eq!(b["conflicts"][0]["id"], hq_id);
    for bad in [
        json!({ "name": "X", "line1": "1 A St", "city": "C", "country": "UK" }),
        json!({ "name": "X", "line1": "", "city": "C", "country": "US" }),
    ] {
        let r = admin(&p, &s, Method::Post, &book, Some(bad.clone()));
        assert_eq!(r.status, 422, "{bad}: {}", text(&r));
    }
    assert_eq!(p.row_counts(), before);
    // Another company's book may hold the same place.
    ok(
        admin(
            &p,
            &s,
            Method::Post,
            &format!("/admin/api/v1/companies/{other}/addresses"),
            Some(same),
        ),
        201,
    );

    // A second address; editing it into the first place is refused with the first's id.
    let dock = ok(
        admin(
            &p,
            &s,
            Method::Post,
            &book,
            Some(
                json!({ "name": "Dock 2", "line1": "99 Harbor Rd", "city": "Springfield", "country": "US" }),
            ),
        ),
        201,
    );
    let dock_id = dock["id"].as_str().unwrap().to_owned();
    let r = admin(
        &p,
        &s,
        Method::Patch,
        &format!("/admin/api/v1/addresses/{dock_id}"),
        Some(json!({ "line1": "12 Main St", "region": "IL", "postal_code": "62701" })),
    );
    assert_eq!(r.status, 409, "{}", text(&r));
    assert_eq!(r.body_json()["conflicts"][0]["id"], hq_id);
    let b = ok(
        admin(
            &p,
            &s,
            Method::Patch,
            &format!("/admin/api/v1/addresses/{dock_id}"),
            Some(json!({ "label": "Dock", "default_for": ["shipping"] })),
        ),
        200,
    );
    assert_eq!(b["default_for"], json!(["shipping"]));

    // Defaults come only from the company's own book.
    let globex_addr = p.text(&format!(
        "SELECT id FROM addresses WHERE company_id = '{other}'"
    ));
    let before = p.row_counts();
    let company_before = p.text(&format!("SELECT default_billing_address_id || '/' || default_shipping_address_id || '/' || updated_at FROM companies WHERE id = '{co}'"));
    let r = admin(
        &p,
        &s,
        Method::Patch,
        &format!("/admin/api/v1/companies/{co}"),
        Some(json!({ "name": "Renamed", "default_billing_address_id": globex_addr })),
    );
    assert_eq!(r.status, 404, "{}", text(&r));
    assert!(text(&r).contains("address in this company's book"));
    assert_eq!(p.row_counts(), before);
    assert_eq!(p.text(&format!("SELECT default_billing_address_id || '/' || default_shipping_address_id || '/' || updated_at FROM companies WHERE id = '{co}'")), company_before);
    assert_eq!(
        p.text(&format!("SELECT name FROM companies WHERE id = '{co}'")),
        "ACME"
    );

    // Deleting takes it out of the book and out of the defaults; the row stays.
    ok(
        admin(
            &p,
            &s,
            Method::Delete,
            &format!("/admin/api/v1/addresses/{hq_id}"),
            None,
        ),
        204,
    );
    let d = ok(
        admin(
            &p,
            &s,
            Method::Get,
            &format!("/admin/api/v1/companies/{co}"),
            None,
        ),
        200,
    );
    assert_eq!(d["company"]["default_billing_address_id"], Value::Null);
    assert_eq!(d["company"]["default_shipping_address_id"], dock_id);
    assert_eq!(d["addresses"].as_array().unwrap().len(), 1);
    assert_eq!(
        p.count(&format!(
            "SELECT COUNT(*) FROM addresses WHERE id = '{hq_id}' AND deleted_at IS NOT NULL"
        )),
        1
    );
    // Once deleted, the same place can be saved again.
    ok(
        admin(&p, &s, Method::Post, &book, Some(acme_address())),
        201,
    );
}

#[test]
fn another_stores_companies_contacts_and_addresses_are_not_found() {
    let p = TestPlatform::new();
    let a = create_store(&p, "SA");
    let b = create_store(&p, "SB");
    let co = company(&p, &a, "ACME", None);
    let contact = ok(
        admin(
            &p,
            &a,
            Method::Post,
            &format!("/admin/api/v1/companies/{co}/contacts"),
            Some(json!({ "first_name": "A", "last_name": "B", "email": "a@b.test" })),
        ),
        201,
    );
    let address = ok(
        admin(
            &p,
            &a,
            Method::Post,
            &format!("/admin/api/v1/companies/{co}/addresses"),
            Some(acme_address()),
        ),
        201,
    );
    let (ct, ad) = (
        contact["id"].as_str().unwrap(),
        address["id"].as_str().unwrap(),
    );
    let before = p.row_counts();
    for (m, path, body) in [
        (Method::Get, format!("/admin/api/v1/companies/{co}"), None),
        (
            Method::Patch,
            format!("/admin/api/v1/companies/{co}"),
            Some(json!({ "name": "Mine" })),
        ),
        (
            Method::Get,
            format!("/admin/api/v1/companies/{co}/contacts"),
            None,
        ),
        (
            Method::Post,
            format!("/admin/api/v1/companies/{co}/contacts"),
            Some(json!({ "first_name": "A", "last_name": "B", "email": "x@b.test" })),
        ),
        (
            Method::Get,
            format!("/admin/api/v1/companies/{co}/addresses"),
            None,
        ),
        (
            Method::Post,
            format!("/admin/api/v1/companies/{co}/addresses"),
            Some(acme_address()),
        ),
        (
            Method::Patch,
            format!("/admin/api/v1/contacts/{ct}"),
            Some(json!({ "first_name": "Z" })),
        ),
        (
            Method::Post,
            format!("/admin/api/v1/contacts/{ct}/archive"),
            None,
        ),
        (
            Method::Post,
            format!("/admin/api/v1/contacts/{ct}/roles"),
            Some(json!({ "roles": ["billing"] })),
        ),
        (
            Method::Patch,
            format!("/admin/api/v1/addresses/{ad}"),
            Some(json!({ "city": "Z" })),
        ),
        (
            Method::Delete,
            format!("/admin/api/v1/addresses/{ad}"),
            None,
        ),
    ] {
        let r = admin(&p, &b, m, &path, body);
        assert_eq!(r.status, 404, "{} {path}: {}", m.as_str(), text(&r));
    }
    assert_eq!(p.row_counts(), before);
    let list = ok(
        admin(&p, &b, Method::Get, "/admin/api/v1/companies", None),
        200,
    );
    assert_eq!(list["data"], json!([]));
}

/// Every company, contact and address list reads through an index.
#[test]
fn company_lists_use_an_index() {
    use lading_core::companies::{addresses, contacts, list_query};
    use lading_core::sqlite::full_scans;
    let p = TestPlatform::new();
    let conn = p.db.conn();
    let tables = &[
        "companies",
        "contacts",
        "addresses",
        "contact_roles",
        "c",
        "a",
        "co",
        "r",
    ];
    let queries = [
        list_query("st_1", None, None, 51),
        list_query("st_1", Some("acme"), None, 51),
        list_query("st_1", None, Some("co_x"), 51),
        list_query("st_1", Some("acme"), Some("co_x"), 51),
        contacts::list_query("st_1", "co_x"),
        addresses::list_query("st_1", "co_x"),
    ];
    for q in &queries {
        let scans = full_scans(&conn, q, tables).unwrap();
        assert!(scans.is_empty(), "full scan in `{}`: {scans:?}", q.sql);
    }
}
