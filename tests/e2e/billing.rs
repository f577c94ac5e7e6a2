//! Billing on the local stack: invoice numbers taken by fifty concurrent issues on local
//! D1 are gapless and distinct; a void keeps its number and an issued invoice is never
//! deleted; twenty concurrent allocations of one payment never allocate more than it holds;
//! the daily cron run twice sends one reminder per overdue invoice; a net-terms order is
//! issued, fulfilled, paid in part by bank transfer and the rest online through its pay
//! link (the Stripe event delivered five times allocating once), then reopened by a refund.

use crate::support::*;
use crate::tests::{Test, tests};
use futures::FutureExt;
use futures::future::join_all;
use serde_json::json;

tests!(
    fifty_concurrent_issues_take_numbers_one_to_fifty_with_no_gap_and_no_duplicate,
    twenty_concurrent_allocations_of_one_payment_allocate_exactly_what_it_holds,
    the_daily_cron_run_twice_sends_one_reminder_per_overdue_invoice,
    an_issued_invoice_is_a_pdf_whose_text_reads_back,
    a_net_terms_order_is_fulfilled_on_issue_paid_by_transfer_then_online_once_and_reopened_by_a_refund,
    eight_net_terms_orders_invoiced_twice_each_at_once_make_eight_invoices_numbered_one_to_eight,
);

/// A company on net 30 with a primary billing contact.
async fn company(c: &Ctx<'_>, s: &Store, name: &str) -> String {
    let r = c
        .admin(s, "POST", "/admin/api/v1/companies")
        .json(&json!({ "name": name, "payment_terms": "net_30" }))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let company = r.body["id"].as_str().unwrap().to_owned();
    let r = c
        .admin(s, "POST", &format!("/admin/api/v1/companies/{company}/contacts"))
        .json(&json!({ "first_name": "Sam", "last_name": "B", "email": format!("sam@{}.test", name.to_lowercase()),
                       "roles": ["billing"], "primary_roles": ["billing"] }))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    company
}

/// A draft invoice of one line.
async fn draft(c: &Ctx<'_>, s: &Store, company: &str, description: &str, amount: i64) -> String {
    let r = c
        .admin(s, "POST", "/admin/api/v1/invoices")
        .json(&json!({ "company_id": company, "lines": [{ "description": description, "unit_amount": amount }] }))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["invoice"]["id"].as_str().unwrap().to_owned()
}

/// Issues a draft invoice; its number.
async fn issue(c: &Ctx<'_>, s: &Store, invoice: &str) -> String {
    let r = c
        .admin(
            s,
            "POST",
            &format!("/admin/api/v1/invoices/{invoice}/issue"),
        )
        .json(&json!({}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["invoice"]["number"].as_str().unwrap().to_owned()
}

async fn twenty_concurrent_allocations_of_one_payment_allocate_exactly_what_it_holds(c: &Ctx<'_>) {
    let s = c.store().await;
    let company = company(c, &s, "Vandelay").await;
    // Three invoices owing 3,000.00 together; one 1,000.00 transfer.
    let mut invoices = Vec::new();
    for amount in [150_000, 100_000, 50_000] {
        let id = draft(c, &s, &company, "Imports", amount).await;
        issue(c, &s, &id).await;
        invoices.push(id);
    }
    let r = c
        .admin(&s, "POST", "/admin/api/v1/payments")
        .json(&json!({ "company_id": company, "method": "bank_transfer", "amount": 100_000, "reference": "VDL-77" }))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let payment = r.body["id"].as_str().unwrap().to_owned();
    let before = c.rows();
    let path = format!("/admin/api/v1/payments/{payment}/allocations");
    let answers = join_all((0..20).map(|n| {
        c.admin(&s, "POST", &path)
            .json(&json!({ "invoice_id": invoices[n % 3], "amount": 10_000 }))
            .send()
    }))
    .await;
    let accepted = answers.iter().filter(|r| r.status == 201).count();
    for r in answers.iter().filter(|r| r.status != 201) {
        assert_problem(r, 409, "allocation_exceeds_payment");
    }
    assert_eq!(
        accepted,
        10,
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(
        c.count(
            "SELECT COALESCE(SUM(amount), 0) FROM invoice_allocations WHERE payment_id = ?1",
            &payment
        ),
        100_000
    );
    assert_eq!(
        c.count(
            "SELECT COUNT(*) FROM invoice_allocations WHERE payment_id = ?1",
            &payment
        ),
        10
    );
    // No invoice below a zero balance, and each one's status follows what it was paid.
    assert_eq!(
        c.count(
            "SELECT COUNT(*) FROM invoices i WHERE i.company_id = ?1 AND \
               (i.total_amount < (SELECT COALESCE(SUM(amount), 0) FROM invoice_allocations WHERE invoice_id = i.id) \
                OR i.status <> CASE WHEN (SELECT COUNT(*) FROM invoice_allocations WHERE invoice_id = i.id) > 0 THEN 'partially_paid' ELSE 'issued' END)",
            &company
        ),
        0
    );
    // Ten allocation rows; no payment or invoice row made or lost.
    let after = c.rows();
    let count = |rows: &[(String, i64)], table: &str| {
        rows.iter().find(|(t, _)| t == table).map_or(0, |(_, n)| *n)
    };
    assert_eq!(
        count(&after, "invoice_allocations") - count(&before, "invoice_allocations"),
        10
    );
    for table in ["billing_payments", "invoices", "invoice_lines"] {
        assert_eq!(count(&after, table), count(&before, table), "{table}");
    }
}

async fn fifty_concurrent_issues_take_numbers_one_to_fifty_with_no_gap_and_no_duplicate(
    c: &Ctx<'_>,
) {
    let s = c.store().await;
    let company = company(c, &s, "Initrode").await;
    let mut drafts = Vec::new();
    for n in 1..=50 {
        drafts.push(draft(c, &s, &company, &format!("Service {n}"), 1000 * n).await);
    }
    let paths: Vec<String> = drafts
        .iter()
        .map(|d| format!("/admin/api/v1/invoices/{d}/issue"))
        .collect();
    let answers = join_all(
        paths
            .iter()
            .map(|path| c.admin(&s, "POST", path).json(&json!({})).send()),
    )
    .await;
    for r in &answers {
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let mut numbers: Vec<String> = answers
        .iter()
        .map(|r| r.body["invoice"]["number"].as_str().unwrap().to_owned())
        .collect();
    numbers.sort();
    let expected: Vec<String> = (1..=50).map(|n| format!("INV-{n:06}")).collect();
    assert_eq!(numbers, expected, "gapless and distinct");
    // What D1 holds agrees: fifty numbers, fifty sequence numbers, and the counter at 51.
    assert_eq!(
        c.count(
            "SELECT COUNT(DISTINCT number) FROM invoices WHERE store_id = ?1 AND status = 'issued' AND sequence_number BETWEEN 1 AND 50",
            &s.id
        ),
        50
    );
    assert_eq!(
        c.count(
            "SELECT next_number FROM invoice_sequences WHERE store_id = ?1",
            &s.id
        ),
        51
    );
    // A void keeps its number; an issued invoice is never deleted; a retried issue takes
    // no number.
    let first = &drafts[0];
    let r = c
        .admin(&s, "POST", &format!("/admin/api/v1/invoices/{first}/void"))
        .json(&json!({ "reason": "Issued by mistake" }))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["invoice"]["status"], "void");
    let kept = r.body["invoice"]["number"].as_str().unwrap().to_owned();
    assert!(expected.contains(&kept));
    let r = c
        .admin(
            &s,
            "DELETE",
            &format!("/admin/api/v1/invoices/{}", drafts[1]),
        )
        .send()
        .await;
    assert_problem(&r, 409, "invoice_not_draft");
    let r = c
        .admin(
            &s,
            "POST",
            &format!("/admin/api/v1/invoices/{}/issue", drafts[2]),
        )
        .json(&json!({}))
        .send()
        .await;
    assert_problem(&r, 409, "invoice_not_draft");
    assert_eq!(
        c.count(
            "SELECT next_number FROM invoice_sequences WHERE store_id = ?1",
            &s.id
        ),
        51
    );
}

async fn the_daily_cron_run_twice_sends_one_reminder_per_overdue_invoice(c: &Ctx<'_>) {
    let s = c.store().await;
    let company = company(c, &s, "Kramerica").await;
    let invoice = draft(c, &s, &company, "Oil tanker bladders", 12_345).await;
    let number = issue(c, &s, &invoice).await;
    // Thirty days pass (the due date is moved back in D1; nothing else is touched).
    c.stack
        .d1()
        .execute(
            "UPDATE invoices SET due_at = due_at - 31 * 86400000, issued_at = issued_at - 31 * 86400000 WHERE id = ?1",
            [&invoice],
        )
        .unwrap();
    c.cron("0 7 * * *").await;
    c.cron("0 7 * * *").await;
    let to = "sam@kramerica.test";
    let subject = format!("Invoice {number} is overdue");
    let reminders = async || {
        c.emails(to)
            .await
            .into_iter()
            .filter(|m| m["subject"] == subject.as_str())
            .collect::<Vec<_>>()
    };
    assert!(
        eventually(async || !reminders().await.is_empty()).await,
        "the reminder reached the email API"
    );
    c.rows_at_rest().await;
    let sent = reminders().await;
    assert_eq!(sent.len(), 1, "one reminder: {sent:?}");
    assert_eq!(
        c.count("SELECT COUNT(*) FROM notifications WHERE invoice_id = ?1 AND kind = 'invoice_overdue' AND status = 'sent'", &invoice),
        1
    );
    assert_eq!(
        c.count("SELECT COUNT(*) FROM domain_events WHERE aggregate_id = ?1 AND type = 'invoice.overdue'", &invoice),
        1
    );
}

async fn an_issued_invoice_is_a_pdf_whose_text_reads_back(c: &Ctx<'_>) {
    let s = c.store().await;
    let company = company(c, &s, "Pendant").await;
    let r = c
        .admin(&s, "POST", &format!("/admin/api/v1/companies/{company}/addresses"))
        .json(&json!({ "name": "Pendant Publishing", "line1": "129 W 81st St", "city": "New York", "region": "NY",
                       "postal_code": "10024", "country": "US", "default_for": ["billing"] }))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let invoice = draft(c, &s, &company, "Latex sales — Q4 (Vandelay)", 98_765).await;
    let number = issue(c, &s, &invoice).await;
    // Through the admin Worker (forwarded to the sales Worker, streamed from local R2).
    let r = c
        .client
        .http()
        .get(format!(
            "{}/admin/api/v1/invoices/{invoice}/pdf",
            c.stack.worker("admin")
        ))
        .bearer_auth(&s.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    let file = std::env::temp_dir().join(format!("{invoice}.pdf"));
    std::fs::write(&file, &bytes).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-layout"])
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils, installed by scripts/setup.sh) runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for expected in [
        number.as_str(),
        "Pendant",
        "129 W 81st St",
        "Latex sales — Q4 (Vandelay)",
        "987.65 USD",
        "net 30",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} not in the PDF's text:\n{text}"
        );
    }
    let _ = std::fs::remove_file(&file);
}

async fn a_net_terms_order_is_fulfilled_on_issue_paid_by_transfer_then_online_once_and_reopened_by_a_refund(
    c: &Ctx<'_>,
) {
    let s = c.store().await;
    let (company, v) = net_terms_company(c, &s, "Monks").await;
    let r = c
        .admin(&s, "POST", "/admin/api/v1/orders")
        .json(&json!({ "company_id": company, "lines": [{ "variant_id": v[0], "quantity": 2 }] }))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let order = r.body["id"].as_str().unwrap().to_owned();

    // Issued: the order is placed, invoiced and sent to its provider at once.
    let r = c
        .admin(&s, "POST", &format!("/admin/api/v1/orders/{order}/invoice"))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "processing");
    let invoice = r.body["invoice"]["id"].as_str().unwrap().to_owned();
    assert_eq!(r.body["invoice"]["status"], "issued");
    assert_eq!(r.body["invoice"]["number"], "INV-000001");
    let total = r.body["invoice"]["total_amount"].as_i64().unwrap();
    assert!(total >= 50_000, "{}", r.text);
    let submitted = eventually(async || {
        c.count(
            "SELECT COUNT(*) FROM fulfillment_orders WHERE order_id = ?1 AND status NOT IN ('pending', 'submitting')",
            &order,
        ) == 1
    })
    .await;
    assert!(submitted, "fulfilled on issue: {}", c.order(&order));
    // The billing contact has the invoice, with its pay link.
    let mut mail = Vec::new();
    let emailed = eventually(async || {
        mail = c.emails("sam@monks.test").await;
        !mail.is_empty()
    })
    .await;
    assert!(emailed, "the invoice is emailed");
    assert!(
        mail[0]["subject"]
            .as_str()
            .is_some_and(|t| t.starts_with("Invoice INV-000001 from E2E store")),
        "{}",
        mail[0]
    );

    // A partial bank transfer.
    let r = c
        .admin(&s, "POST", "/admin/api/v1/payments")
        .json(&json!({ "company_id": company, "method": "bank_transfer", "amount": 20_000, "currency": "usd",
                       "reference": "WIRE-77", "received_at": "2026-09-20" }))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let transfer = r.body["id"].as_str().unwrap().to_owned();
    let r = c
        .admin(
            &s,
            "POST",
            &format!("/admin/api/v1/payments/{transfer}/allocations"),
        )
        .json(&json!({ "invoice_id": invoice, "amount": 20_000 }))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let detail_path = format!("/admin/api/v1/invoices/{invoice}");
    let detail = async || {
        let r = c.admin(&s, "GET", &detail_path).send().await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body
    };
    let d = detail().await;
    assert_eq!(d["invoice"]["status"], "partially_paid");
    assert_eq!(d["invoice"]["balance"], total - 20_000);

    // The rest online: the pay link redirects to a Checkout Session for the balance.
    let pay_url = d["pay_url"].as_str().expect("a pay link").to_owned();
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let go = no_redirects.get(&pay_url).send().await.unwrap();
    assert_eq!(go.status().as_u16(), 303, "{pay_url}");
    let location = go.headers()["location"].to_str().unwrap().to_owned();
    let session = location.rsplit('/').next().unwrap().to_owned();
    assert!(session.starts_with("cs_"), "{location}");
    let mark = c.stripe_delivery_mark().await;
    c.pay(&session, json!({ "email": "sam@monks.test" })).await;
    c.stripe_webhooks_answered(mark, &["checkout.session.completed"], 1)
        .await;
    // The same event delivered five more times allocates nothing more.
    let events = c
        .client
        .get(&c.sim("/v1/events?type=checkout.session.completed&limit=100"))
        .bearer("sk_test_lading")
        .send()
        .await;
    let event = events.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["data"]["object"]["id"] == session.as_str())
        .expect("the session's event")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mark = c.stripe_delivery_mark().await;
    let r = c
        .client
        .post(&c.sim(&format!("/__control/stripe/events/{event}/deliver")))
        .json(&json!({ "times": 5 }))
        .send()
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    c.stripe_webhooks_answered(mark, &["checkout.session.completed"], 5)
        .await;
    let d = detail().await;
    assert_eq!(d["invoice"]["status"], "paid", "{d}");
    assert_eq!(d["invoice"]["balance"], 0);
    assert_eq!(d["allocations"].as_array().unwrap().len(), 2);
    assert_eq!(
        c.count(
            "SELECT COUNT(*) FROM billing_payments WHERE method = 'stripe' AND company_id = ?1",
            &company
        ),
        1
    );
    assert_eq!(
        c.count(
            "SELECT COUNT(*) FROM invoice_allocations WHERE invoice_id = ?1",
            &invoice
        ),
        2
    );

    // A refund of part of it (from Stripe's dashboard) reopens that much.
    let intent = c
        .stack
        .d1()
        .query_row(
            "SELECT stripe_id FROM payments WHERE invoice_id = ?1 AND kind = 'capture'",
            [&invoice],
            |r| r.get::<_, String>(0),
        )
        .unwrap();
    let mark = c.stripe_delivery_mark().await;
    let r = c
        .client
        .post(&c.sim("/v1/refunds"))
        .bearer("sk_test_lading")
        .raw(
            "application/x-www-form-urlencoded",
            &format!("payment_intent={intent}&amount=7500"),
        )
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    c.stripe_webhooks_answered(mark, &["charge.refunded"], 1)
        .await;
    let d = detail().await;
    assert_eq!(d["invoice"]["status"], "partially_paid", "{d}");
    assert_eq!(d["invoice"]["balance"], 7_500);
}

/// A company on net 30 (with a billing contact and a default address) and a product its
/// global price book sells at 250.00: the company and the product's variants.
async fn net_terms_company(c: &Ctx<'_>, s: &Store, name: &str) -> (String, Vec<String>) {
    let (_, v) = c
        .product(s, &format!("{}-rack", name.to_lowercase()), 30_000)
        .await;
    (net_terms_company_buying(c, s, name, &v[0]).await, v)
}

/// A company on net 30 (with a billing contact and a default shipping and billing address)
/// and a global price book that sells it `variant` at 250.00.
pub(crate) async fn net_terms_company_buying(
    c: &Ctx<'_>,
    s: &Store,
    name: &str,
    variant: &str,
) -> String {
    let company = company(c, s, name).await;
    let r = c
        .admin(s, "POST", &format!("/admin/api/v1/companies/{company}/addresses"))
        .json(&json!({ "name": "Receiving", "line1": "1 Dock Rd", "city": "Austin", "region": "TX", "postal_code": "73301",
                       "country": "US", "default_for": ["shipping", "billing"] }))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = c
        .admin(s, "POST", "/admin/api/v1/price-books")
        .json(&json!({ "name": "Trade", "scope": "global", "active": true }))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let book = r.body["id"].as_str().unwrap().to_owned();
    let r = c
        .admin(
            s,
            "POST",
            &format!("/admin/api/v1/price-books/{book}/entries"),
        )
        .json(&json!({ "variant_id": variant, "unit_amount": 25_000 }))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    company
}

async fn eight_net_terms_orders_invoiced_twice_each_at_once_make_eight_invoices_numbered_one_to_eight(
    c: &Ctx<'_>,
) {
    let s = c.store().await;
    let (company, v) = net_terms_company(c, &s, "Pendant").await;
    let mut drafts = Vec::new();
    for _ in 0..8 {
        let r = c
            .admin(&s, "POST", "/admin/api/v1/orders")
            .json(
                &json!({ "company_id": company, "lines": [{ "variant_id": v[0], "quantity": 1 }] }),
            )
            .send()
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        drafts.push(r.body["id"].as_str().unwrap().to_owned());
    }
    let answers = join_all(drafts.iter().chain(drafts.iter()).map(|d| {
        let path = format!("/admin/api/v1/orders/{d}/invoice");
        let call = c.admin(&s, "POST", &path);
        async move { (d.clone(), call.send().await) }
    }))
    .await;
    let mut by_draft = std::collections::BTreeMap::<String, Vec<String>>::new();
    for (d, r) in &answers {
        assert_eq!(r.status, 200, "{}", r.text);
        by_draft
            .entry(d.clone())
            .or_default()
            .push(r.body["invoice"]["number"].as_str().unwrap().to_owned());
    }
    let mut numbers: Vec<String> = by_draft
        .values()
        .map(|n| {
            assert_eq!(n[0], n[1], "both requests answer the same invoice");
            n[0].clone()
        })
        .collect();
    numbers.sort();
    let expected: Vec<String> = (1..=8).map(|n| format!("INV-{n:06}")).collect();
    assert_eq!(numbers, expected, "one number each, no gap, no duplicate");
    assert_eq!(
        c.count(
            "SELECT COUNT(*) FROM invoices WHERE company_id = ?1",
            &company
        ),
        8
    );
    assert_eq!(
        c.count(
            "SELECT COUNT(*) FROM orders WHERE company_id = ?1 AND status = 'processing'",
            &company
        ),
        8
    );
    assert_eq!(
        c.count(
            "SELECT next_number FROM invoice_sequences WHERE store_id = ?1",
            &s.id
        ),
        9
    );
}
