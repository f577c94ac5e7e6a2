//! The admin web UI on real SQLite: sign-in and the session cookie, CSP and security
//! headers, escaping of everything shoppers and operators type, CSRF on every form, role
//! limits, and a refund and a note made through the forms.

mod support;

use lading_api::http::{Method, Request, Response, parse_query};
use serde_json::json;
use support::*;

fn page(p: &TestPlatform, cookie: Option<&str>, path: &str) -> Response {
    let (path, q) = path.split_once('?').unwrap_or((path, ""));
    let mut r = req(Method::Get, path);
    r.query = parse_query(q);
    if let Some(c) = cookie {
        r = r.header("cookie", c);
    }
    call(p, "admin", r)
}

fn post_form(
    p: &TestPlatform,
    cookie: Option<&str>,
    path: &str,
    fields: &[(&str, &str)],
) -> Response {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let mut r: Request = req(Method::Post, path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("host", "admin.test")
        .header("origin", "https://admin.test");
    if let Some(c) = cookie {
        r = r.header("cookie", c);
    }
    r.body = body.into_bytes();
    call(p, "admin", r)
}

fn html(r: &Response) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

fn header<'a>(r: &'a Response, name: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Signs in with `key`; returns the cookie pair to send back.
fn sign_in(p: &TestPlatform, key: &str) -> String {
    let r = post_form(p, None, "/admin/login", &[("key", key)]);
    assert_eq!(r.status, 303, "{}", html(&r));
    let set = header(&r, "set-cookie")
        .expect("a session cookie")
        .to_owned();
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/admin"] {
        assert!(set.contains(attr), "{attr} missing: {set}");
    }
    assert!(
        !set.contains(key),
        "the key itself never goes into the cookie"
    );
    set.split(';').next().unwrap().to_owned()
}

fn idem_of(page_html: &str) -> String {
    let at = page_html
        .find("name=\"_idem\" value=\"")
        .expect("a form nonce")
        + "name=\"_idem\" value=\"".len();
    page_html[at..].split('"').next().unwrap().to_owned()
}

fn csrf_of(page_html: &str) -> String {
    let at = page_html
        .find("name=\"_csrf\" value=\"")
        .expect("a CSRF field")
        + "name=\"_csrf\" value=\"".len();
    page_html[at..].split('"').next().unwrap().to_owned()
}

#[test]
fn sign_in_sessions_and_security_headers() {
    let p = TestPlatform::new();
    let s = create_store(&p, "UI");
    // Not signed in: pages send you to sign in; posts are refused.
    let r = page(&p, None, "/admin/orders");
    assert_eq!(
        (r.status, header(&r, "location")),
        (303, Some("/admin/login"))
    );
    let r = page(&p, None, "/admin/login");
    assert_eq!(r.status, 200);
    let csp = header(&r, "content-security-policy").unwrap();
    assert!(
        csp.contains("script-src 'self'")
            && csp.contains("default-src 'none'")
            && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(header(&r, "x-frame-options"), Some("DENY"));
    assert!(!html(&r).contains("<script>"), "no inline script");
    assert!(html(&r).contains("<script src=\"/admin/static/app.js\""));
    // Wrong keys, and the bootstrap key, do not sign in.
    assert_eq!(
        post_form(&p, None, "/admin/login", &[("key", "lak_wrong")]).status,
        401
    );
    assert_eq!(
        post_form(&p, None, "/admin/login", &[("key", BOOTSTRAP)]).status,
        403
    );
    let mut cross = req(Method::Post, "/admin/login")
        .header("host", "admin.test")
        .header("origin", "https://evil.test");
    cross.body = format!("key={}", s.admin).into_bytes();
    let r = call(&p, "admin", cross);
    assert_eq!(r.status, 403);
    assert!(
        header(&r, "set-cookie").is_none(),
        "no session from another site's form"
    );
    let cookie = sign_in(&p, &s.admin);
    let r = page(&p, Some(&cookie), "/admin/orders");
    assert_eq!(r.status, 200, "{}", html(&r));
    assert!(html(&r).contains("Export CSV"));
    // A forged or altered cookie is no session.
    let forged = format!("{}x", cookie);
    assert_eq!(page(&p, Some(&forged), "/admin/orders").status, 303);
    // Sessions end after 8 hours, and at once when the key is revoked.
    p.advance_ms(8 * 3600 * 1000 + 1000);
    assert_eq!(page(&p, Some(&cookie), "/admin/orders").status, 303);
    let other = admin(
        &p,
        &s,
        Method::Post,
        "/admin/api/v1/admin-keys",
        Some(json!({ "role": "support", "label": "temp" })),
    )
    .body_json();
    let cookie = sign_in(&p, other["key"].as_str().unwrap());
    assert_eq!(page(&p, Some(&cookie), "/admin/users").status, 200);
    let r = admin(
        &p,
        &s,
        Method::Delete,
        &format!("/admin/api/v1/admin-keys/{}", other["id"].as_str().unwrap()),
        None,
    );
    assert_eq!(r.status, 204);
    assert_eq!(page(&p, Some(&cookie), "/admin/users").status, 303);
    // Static assets carry the same headers.
    let js = page(&p, None, "/admin/static/app.js");
    assert_eq!(
        header(&js, "content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert!(html(&js).contains("data-confirm"));
}

#[test]
fn what_shoppers_and_operators_type_renders_inert() {
    let p = TestPlatform::new();
    let s = create_store(&p, "XS");
    let evil = "<script>alert('x')</script><img src=x onerror=alert(1)>";
    let r = admin(
        &p,
        &s,
        Method::Post,
        "/admin/api/v1/products",
        Some(json!({
        "title": evil, "slug": "evil", "status": "active",
        "variants": [{ "sku": "EV-1", "kind": "physical", "price_amount": 1000, "fulfillment_provider": "manual" }] })),
    );
    assert_eq!(r.status, 201);
    let variant = r.body_json()["variants"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let o = pending_order(&p, &s, &[&variant], "x@example.com", "xs");
    let id = o["id"].as_str().unwrap();
    let cookie = sign_in(&p, &s.admin);
    let token = csrf_of(&html(&page(
        &p,
        Some(&cookie),
        &format!("/admin/orders/{id}"),
    )));
    let r = post_form(
        &p,
        Some(&cookie),
        &format!("/admin/orders/{id}/notes"),
        &[("_csrf", &token), ("body", evil)],
    );
    assert_eq!(r.status, 303, "{}", html(&r));
    assert!(header(&r, "location").unwrap().contains("notice="));
    for path in [format!("/admin/orders/{id}"), "/admin/products".to_owned()] {
        let body = html(&page(&p, Some(&cookie), &path));
        assert!(!body.contains("<script>alert"), "{path} renders a script");
        assert!(!body.contains("<img src=x"), "{path} renders markup");
        assert!(
            body.contains("&lt;script&gt;alert('x')&lt;/script&gt;"),
            "{path} shows it as text"
        );
    }
    // A flash message is text too.
    let body = html(&page(
        &p,
        Some(&cookie),
        &format!("/admin/orders?error={}", "%3Cscript%3Ex%3C%2Fscript%3E"),
    ));
    assert!(body.contains("&lt;script&gt;x&lt;/script&gt;") && !body.contains("<script>x"));
}

#[test]
fn forms_need_the_sessions_csrf_token_and_the_role() {
    let p = TestPlatform::new();
    let s = create_store(&p, "CS");
    let (_, v) = product(&p, &s, "poster", 4000);
    let o = paid_order(&p, &s, &[&v[0]], "c@example.com", "cs", None);
    let id = o["id"].as_str().unwrap();
    let cookie = sign_in(&p, &s.admin);
    let token = csrf_of(&html(&page(
        &p,
        Some(&cookie),
        &format!("/admin/orders/{id}"),
    )));
    let refund = format!("/admin/orders/{id}/refund");
    let before = p.row_counts();
    // No token, a wrong token, another session's token, another origin: refused, nothing written.
    let other_cookie = sign_in(&p, &s.admin);
    let other_token = csrf_of(&html(&page(&p, Some(&other_cookie), "/admin/orders")));
    for fields in [
        vec![("amount", "10.00")],
        vec![("_csrf", "nope"), ("amount", "10.00")],
        vec![("_csrf", other_token.as_str()), ("amount", "10.00")],
    ] {
        assert_eq!(post_form(&p, Some(&cookie), &refund, &fields).status, 403);
    }
    let mut cross = req(Method::Post, &refund)
        .header("cookie", &cookie)
        .header("host", "admin.test")
        .header("origin", "https://evil.test");
    cross.body = format!("_csrf={token}&amount=10.00").into_bytes();
    assert_eq!(call(&p, "admin", cross).status, 403);
    assert_eq!(p.row_counts(), before);
    // A support key sees the order but has no refund form, and a forged post is refused by the API's role check.
    let support = admin(
        &p,
        &s,
        Method::Post,
        "/admin/api/v1/admin-keys",
        Some(json!({ "role": "support", "label": "desk" })),
    )
    .body_json();
    let sc = sign_in(&p, support["key"].as_str().unwrap());
    let sp = html(&page(&p, Some(&sc), &format!("/admin/orders/{id}")));
    assert!(
        !sp.contains(&format!("action=\"{refund}\"")),
        "no refund form for support"
    );
    let st = csrf_of(&sp);
    let r = post_form(
        &p,
        Some(&sc),
        &refund,
        &[("_csrf", &st), ("amount", "10.00")],
    );
    assert!(
        header(&r, "location").unwrap().contains("error="),
        "{:?}",
        r.headers
    );
    assert_eq!(
        p.count("SELECT COUNT(*) FROM payments WHERE kind = 'refund'"),
        0
    );
    // A bad amount is explained, not sent.
    let r = post_form(
        &p,
        Some(&cookie),
        &refund,
        &[("_csrf", &token), ("amount", "ten")],
    );
    assert!(header(&r, "location").unwrap().contains("error="));
    assert_eq!(
        p.count("SELECT COUNT(*) FROM payments WHERE kind = 'refund'"),
        0
    );
    // The admin's refund goes through the ledger and Stripe, and is audited as theirs.
    p.serve(
        "http://stripe.test/v1/refunds",
        200,
        &json!({ "id": "re_ui", "object": "refund", "status": "succeeded", "amount": 1000 }),
    );
    let nonce = idem_of(&html(&page(
        &p,
        Some(&cookie),
        &format!("/admin/orders/{id}"),
    )));
    let form = [
        ("_csrf", token.as_str()),
        ("_idem", nonce.as_str()),
        ("amount", "10.00"),
        ("reason", "requested_by_customer"),
    ];
    let r = post_form(&p, Some(&cookie), &refund, &form);
    assert_eq!(r.status, 303);
    assert!(
        header(&r, "location").unwrap().contains("notice="),
        "{:?}",
        r.headers
    );
    assert_eq!(p.count("SELECT COUNT(*) FROM payments WHERE kind = 'refund' AND amount = 1000 AND status = 'succeeded'"), 1);
    // The same form sent again (a double click without script, a resubmit): answered once.
    let again = post_form(&p, Some(&cookie), &refund, &form);
    assert!(header(&again, "location").unwrap().contains("notice="));
    assert_eq!(
        p.count("SELECT COUNT(*) FROM payments WHERE kind = 'refund'"),
        1
    );
    assert_eq!(
        p.count("SELECT COUNT(*) FROM audit_log WHERE action = 'order.refund'"),
        1,
        "a replay is not a second change"
    );
    let page_now = html(&page(&p, Some(&cookie), &format!("/admin/orders/{id}")));
    assert!(page_now.contains("partially refunded"));
    // The audit log page: the admin's refund, with who made it; not for support.
    let audit = html(&page(&p, Some(&cookie), "/admin/audit-log"));
    assert!(
        audit.contains("order.refund") && audit.contains("superadmin"),
        "{audit}"
    );
    assert_eq!(page(&p, Some(&sc), "/admin/audit-log").status, 403);
    // Signing out clears the cookie.
    let r = post_form(&p, Some(&cookie), "/admin/logout", &[("_csrf", &token)]);
    assert!(header(&r, "set-cookie").unwrap().contains("Max-Age=0"));
}

#[test]
fn superadmins_create_re_role_and_revoke_keys_in_the_ui() {
    let p = TestPlatform::new();
    let s = create_store(&p, "UI");
    let owner = sign_in(&p, &s.admin);
    let keys = page(&p, Some(&owner), "/admin/keys");
    assert_eq!(keys.status, 200, "{}", html(&keys));
    assert!(html(&keys).contains("(you)"), "the owner's own row");
    assert!(
        !html(&keys).contains("/revoke\""),
        "no key but the owner's yet, and it cannot revoke itself"
    );
    let (csrf, idem) = (csrf_of(&html(&keys)), idem_of(&html(&keys)));
    let create = || {
        post_form(
            &p,
            Some(&owner),
            "/admin/keys",
            &[
                ("_csrf", &csrf),
                ("_idem", &idem),
                ("label", "Night <b>shift</b>"),
                ("role", "admin"),
            ],
        )
    };
    // The new key is on the page that answers the form, never in a URL.
    let r = create();
    assert_eq!(r.status, 200, "{}", html(&r));
    assert!(header(&r, "location").is_none());
    assert_eq!(header(&r, "cache-control"), Some("no-store"));
    let shown = |r: &Response| {
        let h = html(r);
        let at = h.find("id=\"new-key\">").expect("the new key") + "id=\"new-key\">".len();
        h[at..].split('<').next().unwrap().to_owned()
    };
    let key = shown(&r);
    assert!(key.starts_with("lak_") && key.len() > 40, "{key}");
    assert!(
        html(&r).contains("Night &lt;b&gt;shift&lt;/b&gt;"),
        "escaped"
    );
    // Sent again (a reload), the same key is shown and no second key is made.
    let again = create();
    assert_eq!(shown(&again), key);
    assert_eq!(p.count("SELECT COUNT(*) FROM admin_keys"), 2);
    let id = p.text("SELECT id FROM admin_keys WHERE label = 'Night <b>shift</b>'");

    // The holder signs in as an admin; a superadmin makes them support, which counts at once.
    let holder = sign_in(&p, &key);
    assert_eq!(page(&p, Some(&holder), "/admin/audit-log").status, 200);
    let r = page(&p, Some(&holder), "/admin/keys");
    assert_eq!(r.status, 403, "keys are for superadmins");
    assert!(!html(&page(&p, Some(&holder), "/admin/orders")).contains("href=\"/admin/keys\""));
    let keys = html(&page(&p, Some(&owner), "/admin/keys"));
    let r = post_form(
        &p,
        Some(&owner),
        &format!("/admin/keys/{id}/role"),
        &[
            ("_csrf", &csrf),
            ("_idem", &idem_of(&keys)),
            ("role", "support"),
        ],
    );
    assert_eq!(r.status, 303);
    assert!(header(&r, "location").unwrap().contains("notice="));
    assert_eq!(page(&p, Some(&holder), "/admin/audit-log").status, 403);
    // A support key cannot make keys, even with its own valid form token.
    let holder_page = html(&page(&p, Some(&holder), "/admin/orders"));
    let before = p.row_counts();
    let r = post_form(
        &p,
        Some(&holder),
        "/admin/keys",
        &[
            ("_csrf", &csrf_of(&holder_page)),
            ("_idem", &idem_of(&holder_page)),
            ("label", "sneaky"),
            ("role", "superadmin"),
        ],
    );
    assert_eq!(r.status, 303);
    assert!(header(&r, "location").unwrap().contains("error="));
    assert_eq!(p.row_counts(), before, "refused, nothing written");
    // Revoked: the holder's session ends with the next request.
    let r = post_form(
        &p,
        Some(&owner),
        &format!("/admin/keys/{id}/revoke"),
        &[("_csrf", &csrf), ("_idem", &idem_of(&keys))],
    );
    assert_eq!(r.status, 303);
    assert_eq!(
        header(&page(&p, Some(&holder), "/admin/orders"), "location"),
        Some("/admin/login")
    );
    let actions = p.count(
        "SELECT COUNT(*) FROM audit_log WHERE action IN ('admin_key.create', 'admin_key.update', 'admin_key.revoke')",
    );
    assert_eq!(
        actions, 3,
        "one audit row each, none for the replay or the refusal"
    );
}

/// The flash a redirect carries (`notice` or `error`), decoded.
fn flash(r: &Response, kind: &str) -> Option<String> {
    let location = header(r, "location")?;
    let (_, q) = location.split_once('?')?;
    parse_query(q)
        .into_iter()
        .find(|(k, _)| k == kind)
        .map(|(_, v)| v)
}

/// The id a redirect's location ends with (`/admin/companies/co_…` → `co_…`).
fn redirected_id(r: &Response) -> String {
    let location = header(r, "location").expect("a redirect");
    let path = location.split('?').next().unwrap();
    path.rsplit('/').next().unwrap().to_owned()
}

#[test]
fn companies_prices_and_drafts_are_run_from_the_pages() {
    let p = TestPlatform::new();
    let s = create_store(&p, "SU");
    let (_, v) = product(&p, &s, "sensor", 1500);
    let cookie = sign_in(&p, &s.admin);
    let form = |path: &str, fields: &[(&str, &str)]| {
        let token = csrf_of(&html(&page(&p, Some(&cookie), "/admin/companies")));
        let mut all = vec![("_csrf", token.as_str())];
        all.extend_from_slice(fields);
        let r = post_form(&p, Some(&cookie), path, &all);
        assert_eq!(r.status, 303, "{path}: {}", html(&r));
        r
    };
    // A company whose name would be markup, its billing contact and address.
    let evil = "ACME <script>alert(1)</script>";
    let r = form(
        "/admin/companies",
        &[("name", evil), ("payment_terms", "net_30")],
    );
    assert_eq!(flash(&r, "notice").as_deref(), Some("Company created."));
    let acme = redirected_id(&r);
    let r = form(
        &format!("/admin/companies/{acme}/contacts"),
        &[
            ("first_name", "Ada"),
            ("last_name", "Lovelace"),
            ("email", "ada@acme.test"),
            ("roles", "billing"),
            ("roles", "executive"),
            ("primary", "true"),
            ("spending_limit", "5000"),
            ("spending_period", "monthly"),
        ],
    );
    assert_eq!(flash(&r, "error"), None);
    let r = form(
        &format!("/admin/companies/{acme}/addresses"),
        &[
            ("name", "ACME Receiving"),
            ("line1", "1 Dock Rd"),
            ("city", "Austin"),
            ("postal_code", "73301"),
            ("country", "us"),
            ("default_for", "shipping"),
            ("default_for", "billing"),
        ],
    );
    assert_eq!(flash(&r, "error"), None);
    // The same place again is refused, naming the address it already is.
    let r = form(
        &format!("/admin/companies/{acme}/addresses"),
        &[
            ("name", "ACME Receiving"),
            ("line1", "1 Dock Rd"),
            ("city", "Austin"),
            ("postal_code", "73301"),
            ("country", "US"),
        ],
    );
    assert!(
        flash(&r, "error").is_some_and(|e| e.contains("already")),
        "{:?}",
        flash(&r, "error")
    );
    let company = html(&page(
        &p,
        Some(&cookie),
        &format!("/admin/companies/{acme}"),
    ));
    assert!(!company.contains("<script>alert"), "escaped");
    assert!(company.contains("ACME &lt;script&gt;"));
    assert!(
        company.contains("billing (primary)") && company.contains("5000.00 USD monthly"),
        "{company}"
    );
    assert!(
        company.contains("ACME Receiving, 1 Dock Rd, Austin 73301, US"),
        "{company}"
    );
    // An agreement with a price for the sensor: pending until Stripe has it.
    let r = form(
        &format!("/admin/companies/{acme}/agreements"),
        &[("name", "ACME 2027 agreement"), ("status", "active")],
    );
    let agreement = redirected_id(&r);
    assert!(
        header(&r, "location")
            .unwrap()
            .starts_with("/admin/agreements/")
    );
    let r = form(
        &format!("/admin/agreements/{agreement}/entries"),
        &[
            ("variant_id", &v[0]),
            ("unit_amount", "8"),
            ("min_quantity", ""),
        ],
    );
    assert_eq!(flash(&r, "error"), None);
    let page_html = html(&page(
        &p,
        Some(&cookie),
        &format!("/admin/agreements/{agreement}"),
    ));
    assert!(
        page_html.contains("8.00 USD") && page_html.contains("pending"),
        "{page_html}"
    );
    assert!(page_html.contains("Re-sync"));
    // Typed amounts are checked before anything is asked of the API.
    let r = form(
        &format!("/admin/agreements/{agreement}/entries"),
        &[("variant_id", &v[0]), ("unit_amount", "eight")],
    );
    assert!(flash(&r, "error").is_some_and(|e| e.contains("unit_amount")));

    // A draft shows where each line's price comes from; checkout refuses the unsynced line
    // and says which one, and nothing is written.
    let r = form(
        &format!("/admin/companies/{acme}/draft-orders"),
        &[("variant_id", &v[0]), ("quantity", "3")],
    );
    assert!(
        header(&r, "location")
            .unwrap()
            .starts_with("/admin/draft-orders/")
    );
    let draft = redirected_id(&r);
    let d = html(&page(
        &p,
        Some(&cookie),
        &format!("/admin/draft-orders/{draft}"),
    ));
    assert!(
        d.contains("ACME 2027 agreement") && d.contains("price agreement"),
        "{d}"
    );
    assert!(d.contains("24.00 USD"), "3 × 8.00: {d}");
    let before = p.row_counts();
    let r = form(&format!("/admin/draft-orders/{draft}/send-checkout"), &[]);
    let refused = flash(&r, "error").expect("refused");
    assert!(
        refused.contains("sensor") && refused.contains("not synced"),
        "{refused}"
    );
    assert_eq!(p.row_counts(), before);
    // A second line, then removed.
    form(
        &format!("/admin/draft-orders/{draft}/lines"),
        &[("variant_id", &v[0]), ("quantity", "10")],
    );
    let d = html(&page(
        &p,
        Some(&cookie),
        &format!("/admin/draft-orders/{draft}"),
    ));
    let line = d
        .split("name=\"line_id\" value=\"")
        .nth(2)
        .expect("two lines")
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    form(
        &format!("/admin/draft-orders/{draft}/lines/remove"),
        &[("line_id", &line)],
    );
    assert_eq!(
        p.count(&format!(
            "SELECT COUNT(*) FROM draft_order_lines WHERE draft_id = '{draft}'"
        )),
        1
    );
    // The list pages and the company's draft.
    let list = html(&page(&p, Some(&cookie), "/admin/companies?q=ACME"));
    assert!(list.contains(&format!("/admin/companies/{acme}")));
    let books = html(&page(&p, Some(&cookie), "/admin/price-books"));
    assert!(books.contains("ACME 2027 agreement"));
    assert!(
        html(&page(
            &p,
            Some(&cookie),
            &format!("/admin/companies/{acme}")
        ))
        .contains(&draft)
    );
    // Forms need the session's CSRF token, like every other form.
    let r = post_form(&p, Some(&cookie), "/admin/companies", &[("name", "Nope")]);
    assert_eq!(r.status, 403);
    assert_eq!(
        p.count("SELECT COUNT(*) FROM companies WHERE name = 'Nope'"),
        0
    );
    // Signed out: the pages send you to sign in.
    let r = page(&p, None, "/admin/companies");
    assert_eq!(
        (r.status, header(&r, "location")),
        (303, Some("/admin/login"))
    );
}

#[test]
fn invoices_are_drafted_issued_and_voided_from_the_pages() {
    let p = TestPlatform::new();
    let s = create_store(&p, "IU");
    let cookie = sign_in(&p, &s.admin);
    let form = |path: &str, fields: &[(&str, &str)]| {
        let token = csrf_of(&html(&page(&p, Some(&cookie), "/admin/invoices")));
        let mut all = vec![("_csrf", token.as_str())];
        all.extend_from_slice(fields);
        let r = post_form(&p, Some(&cookie), path, &all);
        assert_eq!(r.status, 303, "{path}: {}", html(&r));
        r
    };
    let r = form(
        "/admin/companies",
        &[("name", "Umbrella"), ("payment_terms", "net_30")],
    );
    let company = redirected_id(&r);
    form(
        &format!("/admin/companies/{company}/contacts"),
        &[
            ("first_name", "Al"),
            ("last_name", "W"),
            ("email", "al@umbrella.test"),
            ("roles", "billing"),
            ("primary", "true"),
        ],
    );
    let r = form(
        "/admin/invoices",
        &[
            ("company_id", &company),
            ("description", "Audit, Q4"),
            ("quantity", "2"),
            ("unit_amount", "1250.50"),
        ],
    );
    assert!(
        header(&r, "location")
            .unwrap()
            .starts_with("/admin/invoices/inv_")
    );
    let invoice = redirected_id(&r);
    let here = format!("/admin/invoices/{invoice}");
    let r = form(
        &format!("{here}/lines"),
        &[
            ("kind", "discount"),
            ("description", "Early payment"),
            ("amount", "1"),
        ],
    );
    assert_eq!(flash(&r, "error"), None);
    let r = form(
        &format!("{here}/lines"),
        &[
            ("kind", "credit"),
            ("description", "Too much"),
            ("amount", "99999"),
        ],
    );
    assert!(flash(&r, "error").is_some_and(|e| e.contains("negative")));
    let body = html(&page(&p, Some(&cookie), &here));
    assert!(
        body.contains("2500.00 USD") && body.contains("Early payment"),
        "{body}"
    );
    let r = form(&format!("{here}/issue"), &[]);
    assert_eq!(
        flash(&r, "notice").as_deref(),
        Some("Issued as INV-000001.")
    );
    let body = html(&page(&p, Some(&cookie), &here));
    assert!(
        body.contains("<h1>INV-000001</h1>") && !body.contains("/issue\""),
        "{body}"
    );
    let r = form(
        &format!("{here}/void"),
        &[("reason", "Sent to the wrong company")],
    );
    assert_eq!(flash(&r, "error"), None);
    assert_eq!(
        p.text(&format!(
            "SELECT status || ' ' || number FROM invoices WHERE id = '{invoice}'"
        )),
        "void INV-000001"
    );
    // The list, the company's page and the overdue view.
    assert!(html(&page(&p, Some(&cookie), "/admin/invoices")).contains(&here));
    assert!(
        html(&page(
            &p,
            Some(&cookie),
            &format!("/admin/companies/{company}")
        ))
        .contains(&here)
    );
    assert!(!html(&page(&p, Some(&cookie), "/admin/invoices?overdue=true")).contains(&here));
    // The list's CSV, with its filters, for a signed-in operator only.
    let list = html(&page(&p, Some(&cookie), "/admin/invoices?status=void"));
    assert!(
        list.contains("/admin/invoices/export.csv?status=void"),
        "{list}"
    );
    let csv = page(&p, Some(&cookie), "/admin/invoices/export.csv?status=void");
    assert_eq!(csv.status, 200);
    let csv = html(&run(csv.drain_export(&p.db)).unwrap());
    assert!(csv.starts_with("number,status,overdue,"), "{csv}");
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.contains("INV-000001,void,false"), "{csv}");
    let anonymous = page(&p, None, "/admin/invoices/export.csv");
    assert!(anonymous.export.is_none() && anonymous.status != 200);
    // A draft is deleted from its page.
    let r = form(
        "/admin/invoices",
        &[
            ("company_id", &company),
            ("description", "Oops"),
            ("quantity", "1"),
            ("unit_amount", "1"),
        ],
    );
    let draft = redirected_id(&r);
    let r = form(&format!("/admin/invoices/{draft}/delete"), &[]);
    assert_eq!(
        header(&r, "location").map(|l| l.starts_with("/admin/invoices?notice")),
        Some(true)
    );
    assert_eq!(
        p.count(&format!(
            "SELECT COUNT(*) FROM invoices WHERE id = '{draft}'"
        )),
        0
    );
}

#[test]
fn payments_are_recorded_applied_and_undone_from_an_invoices_page() {
    let p = TestPlatform::new();
    let s = create_store(&p, "PU");
    let cookie = sign_in(&p, &s.admin);
    let form = |path: &str, fields: &[(&str, &str)]| {
        let token = csrf_of(&html(&page(&p, Some(&cookie), "/admin/invoices")));
        let mut all = vec![("_csrf", token.as_str())];
        all.extend_from_slice(fields);
        let r = post_form(&p, Some(&cookie), path, &all);
        assert_eq!(r.status, 303, "{path}: {}", html(&r));
        r
    };
    let company = redirected_id(&form(
        "/admin/companies",
        &[("name", "Soylent"), ("payment_terms", "net_30")],
    ));
    form(
        &format!("/admin/companies/{company}/contacts"),
        &[
            ("first_name", "S"),
            ("last_name", "G"),
            ("email", "s@soylent.test"),
            ("roles", "billing"),
            ("primary", "true"),
        ],
    );
    let invoice = redirected_id(&form(
        "/admin/invoices",
        &[
            ("company_id", &company),
            ("description", "Crackers"),
            ("quantity", "1"),
            ("unit_amount", "100"),
        ],
    ));
    let here = format!("/admin/invoices/{invoice}");
    form(&format!("{here}/issue"), &[]);
    let r = page(&p, Some(&cookie), &format!("{here}/pdf"));
    assert_eq!(r.status, 200);
    assert!(
        r.file
            .as_ref()
            .is_some_and(|f| f.filename == "INV-000001.pdf")
    );
    // A partial transfer, then more than the rest: the excess becomes credit.
    let r = form(
        &format!("{here}/payments"),
        &[
            ("method", "bank_transfer"),
            ("amount", "30"),
            ("reference", "SG-1"),
        ],
    );
    assert_eq!(flash(&r, "notice").as_deref(), Some("Payment applied."));
    let body = html(&page(&p, Some(&cookie), &here));
    assert!(
        body.contains("partially paid") && body.contains("70.00 USD") && body.contains("SG-1"),
        "{body}"
    );
    let r = form(
        &format!("{here}/payments"),
        &[
            ("method", "cheque"),
            ("amount", "90"),
            ("reference", "CHQ-9"),
        ],
    );
    assert!(flash(&r, "notice").is_some_and(|n| n.contains("credit")));
    assert_eq!(
        p.text(&format!(
            "SELECT status FROM invoices WHERE id = '{invoice}'"
        )),
        "paid"
    );
    // Undo the cheque's allocation, then apply its credit again from the page.
    let body = html(&page(&p, Some(&cookie), &here));
    let undo = p.text(
        "SELECT a.id FROM invoice_allocations a JOIN billing_payments b ON b.id = a.payment_id WHERE b.reference = 'CHQ-9'",
    );
    assert!(body.contains(&format!("/admin/allocations/{undo}/delete")));
    form(
        &format!("/admin/allocations/{undo}/delete"),
        &[("back", &here)],
    );
    assert_eq!(
        p.text(&format!(
            "SELECT status FROM invoices WHERE id = '{invoice}'"
        )),
        "partially_paid"
    );
    let body = html(&page(&p, Some(&cookie), &here));
    let cheque = p.text("SELECT id FROM billing_payments WHERE reference = 'CHQ-9'");
    assert!(
        body.contains(&format!("value=\"{cheque}\"")) && body.contains("90.00 USD left"),
        "{body}"
    );
    let r = form(
        &format!("{here}/allocations"),
        &[("payment_id", &cheque), ("amount", "70")],
    );
    assert_eq!(flash(&r, "error"), None);
    assert_eq!(
        p.text(&format!(
            "SELECT status FROM invoices WHERE id = '{invoice}'"
        )),
        "paid"
    );
    // Too much for what is owed: refused with the API's words.
    let r = form(
        &format!("{here}/allocations"),
        &[("payment_id", &cheque), ("amount", "5")],
    );
    assert!(flash(&r, "error").is_some(), "a paid invoice takes no more");
    // The company's page: nothing owed, the cheque's 20.00 left as credit.
    let body = html(&page(
        &p,
        Some(&cookie),
        &format!("/admin/companies/{company}"),
    ));
    assert!(
        body.contains("20.00 USD paid and not yet applied") && body.contains("CHQ-9"),
        "{body}"
    );
    // A credit note from another invoice's page: its number, its PDF, what is owed after.
    let second = redirected_id(&form(
        "/admin/invoices",
        &[
            ("company_id", &company),
            ("description", "Biscuits"),
            ("quantity", "1"),
            ("unit_amount", "40"),
        ],
    ));
    let there = format!("/admin/invoices/{second}");
    form(&format!("{there}/issue"), &[]);
    let r = form(
        &format!("{there}/credit-notes"),
        &[("amount", "15"), ("reason", "Broken biscuits")],
    );
    assert_eq!(
        flash(&r, "notice").as_deref(),
        Some("Credit note CN-000001 made.")
    );
    let body = html(&page(&p, Some(&cookie), &there));
    let cn = p.text("SELECT id FROM billing_payments WHERE method = 'credit_note'");
    assert!(
        body.contains("Broken biscuits")
            && body.contains(&format!("/admin/credit-notes/{cn}/pdf"))
            && body.contains("25.00 USD"),
        "{body}"
    );
    let r = page(&p, Some(&cookie), &format!("/admin/credit-notes/{cn}/pdf"));
    assert!(
        r.file
            .as_ref()
            .is_some_and(|f| f.filename == "CN-000001.pdf")
    );
    let r = form(
        &format!("{there}/credit-notes"),
        &[("amount", "30"), ("reason", "Too much")],
    );
    assert!(
        flash(&r, "error").is_some_and(|e| e.contains("cannot take off more")),
        "refused with the API's words"
    );
}

#[test]
fn a_metrics_key_reads_the_metrics_and_never_the_pages() {
    let p = TestPlatform::new();
    let s = create_store(&p, "MK");
    let new_key = |role: &str| {
        let r = admin(
            &p,
            &s,
            Method::Post,
            "/admin/api/v1/admin-keys",
            Some(json!({ "role": role, "label": role })),
        );
        assert_eq!(r.status, 201, "{}", html(&r));
        let b = r.body_json();
        (
            b["id"].as_str().unwrap().to_owned(),
            b["key"].as_str().unwrap().to_owned(),
        )
    };
    let (_, metrics) = new_key("metrics");
    let r = post_form(&p, None, "/admin/login", &[("key", &metrics)]);
    assert_eq!(r.status, 403, "{}", html(&r));
    assert!(header(&r, "set-cookie").is_none(), "no session");
    assert!(html(&r).contains("metrics key only reads"));
    // A support key signed in, then re-roled to metrics, is signed out.
    let (id, support) = new_key("support");
    let cookie = sign_in(&p, &support);
    assert_eq!(page(&p, Some(&cookie), "/admin/orders").status, 200);
    let r = admin(
        &p,
        &s,
        Method::Patch,
        &format!("/admin/api/v1/admin-keys/{id}"),
        Some(json!({ "role": "metrics" })),
    );
    assert_eq!(r.status, 200, "{}", html(&r));
    let r = page(&p, Some(&cookie), "/admin/orders");
    assert_eq!(r.status, 303);
    assert_eq!(header(&r, "location"), Some("/admin/login"));
    // Support reads operations, but not the webhook endpoints (the admin role's).
    let (_, support2) = new_key("support");
    let cookie = sign_in(&p, &support2);
    assert_eq!(page(&p, Some(&cookie), "/admin/operations").status, 200);
    assert_eq!(page(&p, Some(&cookie), "/admin/webhooks").status, 403);
    // An admin adds an endpoint: its secret is on the answer's page, never in a URL.
    let (_, admin_key) = new_key("admin");
    let cookie = sign_in(&p, &admin_key);
    let form = html(&page(&p, Some(&cookie), "/admin/webhooks"));
    let r = post_form(
        &p,
        Some(&cookie),
        "/admin/webhooks",
        &[
            ("_csrf", &csrf_of(&form)),
            ("_idem", &idem_of(&form)),
            ("url", "https://erp.example.com/hooks"),
            ("event_types", "order.paid, shipment.delivered"),
        ],
    );
    assert_eq!(r.status, 200, "{}", html(&r));
    assert!(header(&r, "location").is_none());
    let secret = p.text("SELECT secret FROM webhook_endpoints");
    assert!(html(&r).contains(&secret), "shown once");
    assert!(!html(&page(&p, Some(&cookie), "/admin/webhooks")).contains(&secret));
    assert_eq!(
        p.text("SELECT event_types FROM webhook_endpoints"),
        r#"["order.paid","shipment.delivered"]"#
    );
}
