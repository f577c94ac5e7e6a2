//! Notification emails: order confirmation, files ready, shipped with tracking, refund
//! issued, a company's checkout link, an overdue invoice's reminder. At most one of each
//! kind per order (or invoice), however often the change behind it repeats:
//! the batch that makes the change inserts `notifications(order_id, kind)` (UNIQUE) and an
//! outbox row; the queue consumer claims the row with a compare-and-set before calling the
//! email API, so a message delivered twice sends once.
//!
//! The email API is Brevo's transactional endpoint (`POST {base}/v3/smtp/email`, `api-key`
//! header), whose base URL is a setting so the simulator can capture what is sent.

use crate::AppError;
use crate::db::{Db as _, DbExt as _, Stmt};
use crate::orders::place::Address;
use crate::ports::{HttpClient as _, OutboundRequest, Platform};
use crate::queue::{Message, Outcome};
use crate::sql::orders;
use crate::stmt;
use maud::{Markup, html};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    OrderConfirmation,
    FilesReady,
    Shipped,
    RefundIssued,
    /// A company's order sent to checkout: the link, to its billing contact.
    CheckoutLink,
    /// An invoice past its due date with money owed: a reminder to its billing contact.
    InvoiceOverdue,
    /// A company's order invoiced on net terms: the invoice, its PDF and pay link.
    InvoiceIssued,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::OrderConfirmation,
        Kind::FilesReady,
        Kind::Shipped,
        Kind::RefundIssued,
        Kind::CheckoutLink,
        Kind::InvoiceOverdue,
        Kind::InvoiceIssued,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::OrderConfirmation => "order_confirmation",
            Kind::FilesReady => "files_ready",
            Kind::Shipped => "shipped",
            Kind::RefundIssued => "refund_issued",
            Kind::CheckoutLink => "checkout_link",
            Kind::InvoiceOverdue => "invoice_overdue",
            Kind::InvoiceIssued => "invoice_issued",
        }
    }
}

pub use crate::ports::EmailConfig;

pub fn notification_id(order_id: &str, kind: Kind) -> String {
    format!("ntf_{order_id}_{}", kind.as_str())
}

/// The outbox row id of a notification (what the writer dispatches after its batch).
pub fn outbox_id(order_id: &str, kind: Kind) -> String {
    format!("email:{}", notification_id(order_id, kind))
}

/// Statements that queue one email of `kind` for the order when `guard` (an SQL condition
/// on what the same batch leaves) holds; nothing when that email was queued before.
pub fn queue_statements(
    store_id: &str,
    order_id: &str,
    kind: Kind,
    guard: &Stmt,
    now: i64,
) -> Vec<Stmt> {
    let id = notification_id(order_id, kind);
    let insert = stmt!(
        "INSERT INTO notifications (id, store_id, order_id, kind, recipient, created_at) \
         SELECT ?, ?, ?, ?, (SELECT email FROM orders WHERE id = ?), ?",
        &id,
        store_id,
        order_id,
        kind.as_str(),
        order_id,
        now
    )
    .when(guard)
    .or_nothing();
    vec![insert, outbox_statement(store_id, order_id, kind, now)]
}

/// [`queue_statements`] for an invoice's email, to its billing contact.
pub fn queue_invoice_statements(
    store_id: &str,
    invoice_id: &str,
    kind: Kind,
    guard: &Stmt,
    now: i64,
) -> Vec<Stmt> {
    let insert = stmt!(
        "INSERT INTO notifications (id, store_id, invoice_id, kind, recipient, created_at) \
         SELECT ?, ?, ?, ?, (SELECT c.email FROM invoices i JOIN contacts c ON c.id = i.billing_contact_id WHERE i.id = ?), ?",
        notification_id(invoice_id, kind),
        store_id,
        invoice_id,
        kind.as_str(),
        invoice_id,
        now
    )
    .when(guard)
    .or_nothing();
    vec![insert, outbox_statement(store_id, invoice_id, kind, now)]
}

/// The queue message of a notification, written once, with it: a repeated change finds
/// both present.
fn outbox_statement(store_id: &str, owner_id: &str, kind: Kind, now: i64) -> Stmt {
    let id = notification_id(owner_id, kind);
    let message = Message::Email {
        notification_id: id.clone(),
        store_id: store_id.to_owned(),
    };
    stmt!(
        "INSERT INTO outbox (id, store_id, kind, payload, created_at) \
         SELECT ?, ?, 'email', ?, ? WHERE EXISTS (SELECT 1 FROM notifications WHERE id = ? AND created_at = ?) ON CONFLICT DO NOTHING",
        outbox_id(owner_id, kind),
        store_id,
        serde_json::to_string(&message).unwrap_or_default(),
        now,
        &id,
        now
    )
}

/// The refund email, queued by whatever batch records a succeeded refund.
pub fn refund_issued(order: &crate::sql::orders::OrderRow, now: i64) -> Vec<Stmt> {
    queue_statements(
        &order.store_id,
        &order.id,
        Kind::RefundIssued,
        &stmt!(
            "EXISTS (SELECT 1 FROM payments WHERE order_id = ? AND kind = 'refund' AND status = 'succeeded')",
            &order.id
        ),
        now,
    )
}

/// The shipped email, queued by the batch that records the order's first tracked parcel.
pub fn shipped(store_id: &str, order_id: &str, now: i64) -> Vec<Stmt> {
    queue_statements(
        store_id,
        order_id,
        Kind::Shipped,
        &stmt!(
            "EXISTS (SELECT 1 FROM shipments s JOIN fulfillment_orders f ON f.id = s.fulfillment_order_id \
             WHERE f.order_id = ? AND s.tracking_number IS NOT NULL AND s.status <> 'cancelled')",
            order_id
        ),
        now,
    )
}

const LEASE_MS: i64 = 60_000;
const MAX_ATTEMPTS: i64 = 8;

#[derive(Deserialize, schemars::JsonSchema)]
struct NotificationRow {
    id: String,
    store_id: String,
    order_id: Option<String>,
    invoice_id: Option<String>,
    kind: Kind,
    recipient: Option<String>,
    attempts: i64,
}

/// The email API's record of a message sent to `to` for this notification (tagged with
/// its id), if there is one: its message id.
async fn sent_before<P: Platform>(
    p: &P,
    cfg: &EmailConfig,
    to: &str,
    notification_id: &str,
) -> Result<Option<String>, String> {
    let req = OutboundRequest {
        method: "GET",
        url: format!(
            "{}/v3/smtp/emails?email={}",
            cfg.api_base.trim_end_matches('/'),
            form_urlencoded::byte_serialize(to.as_bytes()).collect::<String>()
        ),
        headers: vec![
            ("api-key".into(), cfg.api_key.clone()),
            ("accept".into(), "application/json".into()),
        ],
        body: None,
        timeout_ms: None,
    };
    let r = p.http().send(req).await?;
    if !(200..300).contains(&r.status) {
        return Err(format!("email API list answered {}", r.status));
    }
    let list: serde_json::Value =
        serde_json::from_slice(&r.body).map_err(|e| format!("email API list: {e}"))?;
    Ok(list["transactionalEmails"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| {
            m["tags"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t == notification_id))
        })
        .map(|m| m["messageId"].as_str().unwrap_or("").to_owned()))
}

/// The queue consumer's handler for `email` messages.
pub async fn process<P: Platform>(p: &P, notification_id: &str) -> Outcome {
    match send(p, notification_id).await {
        Ok(o) => o,
        Err(e) => Outcome::RetryAfter {
            seconds: 30,
            reason: Some(format!("storage: {e}")),
        },
    }
}

async fn send<P: Platform>(p: &P, id: &str) -> Result<Outcome, AppError> {
    let now = p.now_ms();
    let res = p
        .db()
        .batch(vec![
            // The state before this claim: `sending` means an earlier delivery claimed it
            // and died, perhaps after the email API took the message.
            stmt!("SELECT status FROM notifications WHERE id = ?", id),
            stmt!(
                "UPDATE notifications SET status = 'sending', attempts = attempts + 1, lease_until = ? \
                 WHERE id = ? AND (status = 'pending' OR (status = 'sending' AND lease_until < ?))",
                now + LEASE_MS,
                id,
                now
            ),
            stmt!(
                "SELECT id, store_id, order_id, invoice_id, kind, recipient, attempts FROM notifications WHERE id = ?",
                id
            ),
        ])
        .await?;
    let recovered = res[0]
        .rows
        .first()
        .is_some_and(|r| r["status"] == "sending");
    let res = &res[1..];
    if res[0].changes == 0 {
        return Ok(Outcome::Dropped {
            reason: "already sent, or being sent by another delivery".into(),
        });
    }
    let Some(n) = res[1].rows.first().and_then(|r| {
        serde_json::from_value::<NotificationRow>(serde_json::Value::Object(r.clone())).ok()
    }) else {
        return Ok(Outcome::Dropped {
            reason: "no such notification".into(),
        });
    };
    let finish = async |status: &str, message_id: Option<&str>, error: Option<&str>| {
        p.db()
            .run(stmt!(
                "UPDATE notifications SET status = ?, provider_message_id = COALESCE(?, provider_message_id), error = ?, \
                 sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END, lease_until = NULL WHERE id = ? AND status = 'sending'",
                status,
                message_id,
                error,
                status,
                p.now_ms(),
                &n.id
            ))
            .await
    };
    let (Some(cfg), Some(to)) = (p.settings().email.clone(), n.recipient.clone()) else {
        let why = if n.recipient.is_none() {
            "no email address to send it to"
        } else {
            "email is not configured (EMAIL_API_KEY)"
        };
        finish("skipped", None, Some(why)).await?;
        return Ok(Outcome::Dropped { reason: why.into() });
    };
    if recovered {
        match sent_before(p, &cfg, &to, &n.id).await {
            // The dead delivery's send went through: record it, send nothing.
            Ok(Some(message_id)) => {
                finish("sent", Some(&message_id), None).await?;
                return Ok(Outcome::Done);
            }
            Ok(None) => {}
            // Unknown: the claim runs out and the next delivery asks again.
            Err(why) => {
                return Ok(Outcome::RetryAfter {
                    seconds: (LEASE_MS / 1000) as u32,
                    reason: Some(why),
                });
            }
        }
    }
    let email = compose(p, &n).await?;
    let body = json!({
        "sender": { "name": email.store_name, "email": cfg.sender_email },
        "to": [{ "email": to }],
        "subject": email.subject,
        "htmlContent": email.html,
        "textContent": email.text,
        // The kind for people reading the email API's logs, our id to find it again.
        "tags": [n.kind.as_str(), n.id],
        "headers": { "X-Lading-Notification": n.id, "X-Lading-Store": n.store_id },
    });
    let req = OutboundRequest {
        method: "POST",
        url: format!("{}/v3/smtp/email", cfg.api_base.trim_end_matches('/')),
        headers: vec![
            ("api-key".into(), cfg.api_key.clone()),
            ("content-type".into(), "application/json".into()),
            ("accept".into(), "application/json".into()),
        ],
        body: Some(body.to_string().into_bytes()),
        timeout_ms: None,
    };
    match p.http().send(req).await {
        Ok(r) if (200..300).contains(&r.status) => {
            let answer: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
            finish("sent", answer["messageId"].as_str(), None).await?;
            Ok(Outcome::Done)
        }
        Ok(r) if (400..500).contains(&r.status) && r.status != 429 => {
            let why = format!(
                "email API refused it ({}): {}",
                r.status,
                String::from_utf8_lossy(&r.body)
                    .chars()
                    .take(300)
                    .collect::<String>()
            );
            finish("failed", None, Some(&why)).await?;
            Ok(Outcome::Done)
        }
        other => {
            let why = match other {
                Ok(r) => format!("email API answered {}", r.status),
                Err(e) => format!("email API unreachable: {e}"),
            };
            if n.attempts >= MAX_ATTEMPTS {
                finish("failed", None, Some(&why)).await?;
                return Ok(Outcome::DeadLetter { reason: why });
            }
            let seconds = (30u32 << (n.attempts.clamp(1, 6) - 1)).min(900);
            // Released for the next delivery of the message, which comes back at
            // `lease_until` (a message lost after that is re-sent).
            p.db()
                .run(stmt!(
                    "UPDATE notifications SET status = 'pending', lease_until = ?, error = ? WHERE id = ? AND status = 'sending'",
                    p.now_ms() + i64::from(seconds) * 1000,
                    &why,
                    &n.id
                ))
                .await?;
            Ok(Outcome::RetryAfter {
                seconds,
                reason: Some(why),
            })
        }
    }
}

struct Email {
    store_name: String,
    subject: String,
    html: String,
    text: String,
}

fn money(minor: i64, currency: &str) -> String {
    format!(
        "{} {}",
        crate::domain::format_amount(minor, currency),
        currency.to_uppercase()
    )
}

/// Builds the email from D1 as it is now (the tracking number, the refund's amount).
async fn compose<P: Platform>(p: &P, n: &NotificationRow) -> Result<Email, AppError> {
    let store_name = crate::sql::stores::store_by_id(p.db(), &n.store_id)
        .await?
        .map_or_else(|| "Lading".to_owned(), |s| s.name);
    let order_id = match (&n.order_id, &n.invoice_id) {
        (Some(o), _) => o.as_str(),
        (None, Some(invoice)) => return compose_invoice(p, n, invoice, store_name).await,
        (None, None) => return Err(AppError::NotFound("order")),
    };
    let order = orders::order_by_id(p.db(), order_id)
        .await?
        .ok_or(AppError::NotFound("order"))?;
    let items = orders::items(p.db(), order_id).await?;
    let number = &order.order_number;
    let (subject, intro, extra): (String, String, Markup) = match n.kind {
        Kind::OrderConfirmation => {
            let address: Option<Address> = order
                .shipping_address
                .as_deref()
                .and_then(|a| serde_json::from_str(a).ok());
            (
                format!("Order {number} confirmed"),
                format!("Thank you for your order. We received your payment of {}.", money(order.total_amount, &order.currency)),
                html! {
                    table {
                        @for i in &items {
                            tr { td { (i.title) " — " (i.variant_title) } td { "× " (i.quantity) } td { (money(i.unit_price * i.quantity, &i.currency)) } }
                        }
                        tr { td { "Total" } td {} td { (money(order.total_amount, &order.currency)) } }
                    }
                    @if let Some(a) = address {
                        p { "Shipping to: " (a.name) ", " (a.line1) ", " (a.city) " " (a.postal_code) ", " (a.country) }
                    }
                },
            )
        }
        Kind::FilesReady => (
            format!("Your downloads for {number} are ready"),
            "Your digital items are ready to download from your order page (links last 48 hours and can be renewed).".into(),
            html! {
                ul { @for i in items.iter().filter(|i| i.kind == crate::domain::VariantKind::Digital) { li { (i.title) " — " (i.variant_title) } } }
            },
        ),
        Kind::Shipped => {
            #[derive(Deserialize, schemars::JsonSchema)]
            struct Parcel {
                carrier: Option<String>,
                tracking_number: Option<String>,
                tracking_url: Option<String>,
            }
            let parcels: Vec<Parcel> = p
                .db()
                .query(stmt!(
                    "SELECT s.carrier, s.tracking_number, s.tracking_url FROM shipments s JOIN fulfillment_orders f ON f.id = s.fulfillment_order_id \
                     WHERE f.order_id = ? AND s.status <> 'cancelled' ORDER BY s.created_at, s.id",
                    order_id
                ))
                .await?;
            (
                format!("Order {number} has shipped"),
                "Your order is on its way.".into(),
                html! {
                    @for s in &parcels {
                        p {
                            (s.carrier.clone().unwrap_or_else(|| "Carrier".into())) ": "
                            @match (&s.tracking_url, &s.tracking_number) {
                                (Some(u), Some(t)) if u.starts_with("https://") || u.starts_with("http://") => a href=(u) { (t) },
                                (_, Some(t)) => (t),
                                _ => "no tracking number",
                            }
                        }
                    }
                },
            )
        }
        Kind::RefundIssued => {
            let t = orders::ledger_totals(p.db(), order_id).await?;
            (
                format!("Refund for order {number}"),
                format!("We refunded {} to your original payment method. It can take 5–10 days to appear.", money(t.refunded, &order.currency)),
                html! {},
            )
        }
        Kind::InvoiceOverdue | Kind::InvoiceIssued => return Err(AppError::NotFound("invoice")),
        Kind::CheckoutLink => {
            let url = order.checkout_url.clone().unwrap_or_default();
            (
                format!("Order {number} is ready to pay"),
                format!(
                    "We prepared your order of {}. Pay it securely through the link below; it works for 24 hours.",
                    money(order.total_amount, &order.currency)
                ),
                html! {
                    table {
                        @for i in &items {
                            tr { td { (i.title) " — " (i.variant_title) } td { "× " (i.quantity) } td { (money(i.unit_price * i.quantity, &i.currency)) } }
                        }
                        tr { td { "Total" } td {} td { (money(order.total_amount, &order.currency)) } }
                    }
                    @if url.starts_with("https://") || url.starts_with("http://") {
                        p { a href=(url) { "Pay order " (number) } }
                    }
                },
            )
        }
    };
    let page = html! {
        (maud::DOCTYPE)
        html { body style="font-family: sans-serif" {
            h1 { (store_name) }
            p { (intro) }
            p { "Order " strong { (number) } }
            (extra)
        } }
    };
    let mut text = format!("{store_name}\n\n{intro}\n\nOrder {number}\n");
    if let (Kind::CheckoutLink, Some(url)) = (n.kind, &order.checkout_url) {
        text.push_str(&format!("\nPay here: {url}\n"));
    }
    Ok(Email {
        store_name,
        subject,
        html: page.into_string(),
        text,
    })
}

/// An invoice's email: the issued invoice (a company's order on net terms), or the
/// reminder of an overdue one — what is owed, by when, and the pay link.
async fn compose_invoice<P: Platform>(
    p: &P,
    n: &NotificationRow,
    invoice_id: &str,
    store_name: String,
) -> Result<Email, AppError> {
    let i = crate::billing::invoice(p, &n.store_id, invoice_id).await?;
    let number = i.number.clone().unwrap_or_else(|| i.id.clone());
    let due = i
        .due_at
        .as_deref()
        .map_or("", |d| d.get(..10).unwrap_or(d))
        .to_owned();
    let owed = money(i.balance, &i.currency);
    let total = money(i.total_amount, &i.currency);
    let pay = crate::billing::pay::pay_link(p, invoice_id).filter(|_| i.balance > 0);
    let pdf =
        crate::billing::pay::pay_link(p, invoice_id).map(|link| format!("{link}/invoice.pdf"));
    let (subject, intro) = if n.kind == Kind::InvoiceIssued {
        (
            format!("Invoice {number} from {store_name}"),
            format!(
                "Here is invoice {number} for {total}, due on {due}. The PDF is linked below; pay it online, or by bank transfer quoting the invoice number."
            ),
        )
    } else {
        (
            format!("Invoice {number} is overdue"),
            format!(
                "Invoice {number} of {total} was due on {due}; {owed} is still owed. Please pay it, quoting the invoice number, or tell us if you already have."
            ),
        )
    };
    let page = html! {
        (maud::DOCTYPE)
        html { body style="font-family: sans-serif" {
            h1 { (store_name) }
            p { (intro) }
            table {
                tr { td { "Invoice" } td { strong { (number) } } }
                tr { td { "Due" } td { (due) } }
                tr { td { "Total" } td { (total) } }
                tr { td { "Paid" } td { (money(i.amount_paid, &i.currency)) } }
                tr { td { "Owed" } td { strong { (owed) } } }
            }
            @if let Some(url) = &pay {
                p { a href=(url) { "Pay " (owed) " online" } }
            }
            @if let Some(url) = &pdf {
                p { a href=(url) { "Invoice " (number) " (PDF)" } }
            }
        } }
    };
    let mut text = format!("{store_name}\n\n{intro}\n\nInvoice {number}\nOwed: {owed}\n");
    if let Some(url) = &pay {
        text.push_str(&format!("Pay online: {url}\n"));
    }
    if let Some(url) = &pdf {
        text.push_str(&format!("PDF: {url}\n"));
    }
    Ok(Email {
        text,
        store_name,
        subject,
        html: page.into_string(),
    })
}

/// Queues the reminder of every open invoice past its due date that has none yet (once per
/// invoice, ever), to its billing contact, with its `invoice.overdue` event.
pub fn overdue_reminders(now: i64) -> Vec<Stmt> {
    const OVERDUE: &str = "FROM invoices i WHERE i.status IN ('issued', 'partially_paid') AND i.due_at < ? AND i.billing_contact_id IS NOT NULL";
    vec![
        stmt!(
            format!(
                "INSERT INTO domain_events (id, store_id, aggregate_type, aggregate_id, type, payload, created_at) \
                 SELECT 'evt_' || i.id || '_overdue', i.store_id, 'invoice', i.id, 'invoice.overdue', \
                   json_object('number', i.number, 'due_at', i.due_at), ? {OVERDUE} ON CONFLICT DO NOTHING"
            ),
            now,
            now
        ),
        stmt!(
            format!(
                "INSERT INTO notifications (id, store_id, invoice_id, kind, recipient, created_at) \
                 SELECT 'ntf_' || i.id || '_invoice_overdue', i.store_id, i.id, 'invoice_overdue', \
                   (SELECT email FROM contacts WHERE id = i.billing_contact_id), ? {OVERDUE} ON CONFLICT DO NOTHING"
            ),
            now,
            now
        ),
        // The queue message of each reminder made now (the outbox sends it; a lost send is
        // swept).
        stmt!(
            "INSERT INTO outbox (id, store_id, kind, payload, created_at) \
             SELECT 'email:' || n.id, n.store_id, 'email', json_object('kind', 'email', 'notification_id', n.id, 'store_id', n.store_id), ? \
             FROM notifications n WHERE n.kind = 'invoice_overdue' AND n.created_at = ? AND n.status = 'pending' ON CONFLICT DO NOTHING",
            now,
            now
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_match_the_schema_and_ids_are_deterministic() {
        let names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        let schema = include_str!("../../../migrations/0017_invoice_settlement.sql");
        for n in &names {
            assert!(
                schema.contains(&format!("'{n}'")),
                "{n} missing from the CHECK"
            );
        }
        assert_eq!(outbox_id("ord_1", Kind::Shipped), "email:ntf_ord_1_shipped");
    }
}

/// Sends one operational email (not tied to an order or invoice: an endpoint disabled, …)
/// now, through the email API. Best effort: callers keep their own record.
///
/// # Errors
/// The email API's refusal, or no answer; `Ok` without `EMAIL_API_KEY` (nothing to send with).
pub async fn send_operational<P: Platform>(
    p: &P,
    store_name: &str,
    to: &str,
    subject: &str,
    text: &str,
) -> Result<(), String> {
    let Some(cfg) = p.settings().email.clone() else {
        return Ok(());
    };
    let html = maud::html! { @for line in text.lines() { p { (line) } } }.into_string();
    let body = json!({
        "sender": { "name": store_name, "email": cfg.sender_email },
        "to": [{ "email": to }],
        "subject": subject,
        "htmlContent": html,
        "textContent": text,
        "tags": ["operations"],
    });
    let r = p
        .http()
        .send(OutboundRequest {
            method: "POST",
            url: format!("{}/v3/smtp/email", cfg.api_base.trim_end_matches('/')),
            headers: vec![
                ("api-key".into(), cfg.api_key.clone()),
                ("content-type".into(), "application/json".into()),
                ("accept".into(), "application/json".into()),
            ],
            body: Some(body.to_string().into_bytes()),
            timeout_ms: None,
        })
        .await?;
    if (200..300).contains(&r.status) {
        Ok(())
    } else {
        Err(format!("email API answered {}", r.status))
    }
}
