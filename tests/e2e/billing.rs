//! Billing on the local stack: invoice numbers taken by fifty concurrent issues on local
//! D1 are gapless and distinct; a void keeps its number and an issued invoice is never
//! deleted.

use crate::support::*;
use crate::tests::{Test, tests};
use futures::FutureExt;
use futures::future::join_all;
use serde_json::json;

tests!(fifty_concurrent_issues_take_numbers_one_to_fifty_with_no_gap_and_no_duplicate,);

async fn fifty_concurrent_issues_take_numbers_one_to_fifty_with_no_gap_and_no_duplicate(
    c: &Ctx<'_>,
) {
    let s = c.store().await;
    let r = c
        .admin(&s, "POST", "/admin/api/v1/companies")
        .json(&json!({ "name": "Initrode", "payment_terms": "net_30" }))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let company = r.body["id"].as_str().unwrap().to_owned();
    let r = c
        .admin(
            &s,
            "POST",
            &format!("/admin/api/v1/companies/{company}/contacts"),
        )
        .json(
            &json!({ "first_name": "Sam", "last_name": "B", "email": "sam@initrode.test",
                       "roles": ["billing"], "primary_roles": ["billing"] }),
        )
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let mut drafts = Vec::new();
    for n in 1..=50 {
        let r = c
            .admin(&s, "POST", "/admin/api/v1/invoices")
            .json(&json!({ "company_id": company, "lines": [{ "description": format!("Service {n}"), "unit_amount": 1000 * n }] }))
            .send()
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        drafts.push(r.body["invoice"]["id"].as_str().unwrap().to_owned());
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
