//! Paying an invoice online (seed 001 §2.3). A pay link opens a Stripe Checkout Session for
//! what the invoice owes — or less, an amount the payer chooses — one session at a time:
//! the invoice keeps its open session and answers it again while the amount is the same;
//! another amount (or a balance that changed) makes a new session, and the old one is
//! expired at Stripe. The session's completion comes through the exactly-once event path
//! ([`session_paid`]): the payment enters the ledger as the invoice's, becomes a billing
//! payment and is allocated to the invoice, once however often the event arrives.
//!
//! The link in the invoice's email is `GET /v1/pay/{token}` on the storefront API: the
//! token names the invoice and is signed with `ORDER_TOKEN_SECRET`; it only ever pays that
//! invoice's balance, so it does not expire.

use super::{InvoiceView, invoice, payments};
use crate::AppError;
use crate::auth::secure_eq;
use crate::db::{Batch, Db as _, DbExt as _, Stmt};
use crate::orders::checkout::{SESSION_TTL_MS, stripe_config, stripe_failure};
use crate::payments::stripe_client;
use crate::ports::{Platform, PlatformExt as _};
use crate::sql::stores::StoreRow;
use crate::stmt;
use crate::time_fmt::rfc3339;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

fn mac(secret: &str, body: &str) -> String {
    hex::encode(crate::crypto::hmac_sha256(
        secret.as_bytes(),
        &[body.as_bytes()],
    ))
}

/// `pl1.<invoice id>.<hex HMAC-SHA256 of the rest>`.
pub fn sign_pay_token(secret: &str, invoice_id: &str) -> String {
    let body = format!("pl1.{invoice_id}");
    let sig = mac(secret, &body);
    format!("{body}.{sig}")
}

/// The invoice id a valid token names.
pub fn verify_pay_token(secret: &str, token: &str) -> Option<String> {
    let (body, sig) = token.rsplit_once('.')?;
    if !secure_eq(mac(secret, body).as_bytes(), sig.as_bytes()) {
        return None;
    }
    body.strip_prefix("pl1.")
        .filter(|id| !id.is_empty() && !id.contains('.'))
        .map(str::to_owned)
}

/// The invoice's pay link, where the storefront API is public (`PUBLIC_API_BASE`) and
/// tokens can be signed.
pub fn pay_link<P: Platform>(p: &P, invoice_id: &str) -> Option<String> {
    let settings = p.settings();
    let (Some(base), Some(secret)) = (&settings.public_api_base, &settings.order_token_secret)
    else {
        return None;
    };
    Some(format!(
        "{base}/v1/pay/{}",
        sign_pay_token(secret, invoice_id)
    ))
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PayInput {
    /// Minor units, at most the balance (default: the whole balance).
    #[schemars(range(min = 1, max = 1_000_000_000_000i64))]
    pub amount: Option<i64>,
}

/// Where to pay: the invoice's open Checkout Session.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct InvoiceCheckout {
    pub invoice_id: String,
    pub invoice_number: Option<String>,
    pub currency: String,
    /// What this session takes.
    pub amount: i64,
    /// What the invoice owes now.
    pub balance: i64,
    pub checkout_url: String,
    pub session_id: String,
    pub expires_at: String,
}

#[derive(Deserialize)]
struct OpenSession {
    checkout_session_id: Option<String>,
    checkout_url: Option<String>,
    checkout_amount: Option<i64>,
    checkout_expires_at: Option<i64>,
}

/// The invoice's open session, as stored.
async fn open_session<P: Platform>(p: &P, invoice_id: &str) -> Result<OpenSession, AppError> {
    p.db()
        .first(stmt!(
            "SELECT checkout_session_id, checkout_url, checkout_amount, checkout_expires_at FROM invoices WHERE id = ?",
            invoice_id
        ))
        .await?
        .ok_or(AppError::NotFound("invoice"))
}

/// The invoice's open session id, if it has one.
///
/// # Errors
/// 404; storage failures.
pub(crate) async fn open_session_id<P: Platform>(
    p: &P,
    invoice_id: &str,
) -> Result<Option<String>, AppError> {
    Ok(open_session(p, invoice_id).await?.checkout_session_id)
}

/// Closes the invoice's session: forgotten by the invoice, expired at Stripe (best effort).
pub(crate) async fn close<P: Platform>(p: &P, invoice_id: &str, session_id: &str) {
    let _ = p
        .db()
        .run(closed_session(invoice_id, session_id, p.now_ms()))
        .await;
    if let Ok(cfg) = stripe_config(p) {
        let _ = stripe_client::post(
            p,
            cfg,
            &format!("/v1/checkout/sessions/{session_id}/expire"),
            &json!({}),
            &format!("expire:{session_id}"),
        )
        .await;
    }
}

/// A session expiring sooner than this is replaced rather than handed out.
const MIN_LEFT_MS: i64 = 10 * 60 * 1000;

/// The invoice's Checkout Session for `amount` (default: the balance): the open one when
/// it is for that amount, else a new one that replaces it.
///
/// # Errors
/// 409 `invoice_not_payable` (a draft, paid or void invoice), 409 `checkout_not_configured`;
/// 422 an amount above the balance; 502/503 Stripe.
pub async fn checkout<P: Platform>(
    p: &P,
    store: &StoreRow,
    inv: &InvoiceView,
    input: PayInput,
) -> Result<InvoiceCheckout, AppError> {
    if !inv.status.is_open() || inv.balance <= 0 {
        return Err(AppError::conflict(
            "invoice_not_payable",
            format!(
                "Invoice {} is {}: nothing is owed on it.",
                inv.number.as_deref().unwrap_or(&inv.id),
                inv.status.as_str()
            ),
        ));
    }
    let amount = input.amount.unwrap_or(inv.balance);
    if amount < 1 || amount > inv.balance {
        return Err(AppError::validation(
            "amount",
            format!(
                "from 1 to the balance, {} {}",
                crate::domain::format_amount(inv.balance, &inv.currency),
                inv.currency.to_uppercase()
            ),
        ));
    }
    let (Some(success_url), Some(cancel_url)) =
        (&store.settings.success_url, &store.settings.cancel_url)
    else {
        return Err(AppError::conflict(
            "checkout_not_configured",
            "The store has no success_url and cancel_url settings; an admin must set them.",
        ));
    };
    let cfg = stripe_config(p)?.clone();
    let now = p.now_ms();
    let open = open_session(p, &inv.id).await?;
    if let (Some(session), Some(url), Some(a), Some(exp)) = (
        &open.checkout_session_id,
        &open.checkout_url,
        open.checkout_amount,
        open.checkout_expires_at,
    ) && a == amount
        && exp > now + MIN_LEFT_MS
    {
        return Ok(answer(inv, amount, session, url, exp));
    }
    let number = inv.number.clone().unwrap_or_else(|| inv.id.clone());
    let metadata = json!({ "invoice_id": inv.id, "invoice_number": number, "store_id": store.id });
    let expires_ms = now + SESSION_TTL_MS;
    let joint = |u: &str| if u.contains('?') { '&' } else { '?' };
    let params = json!({
        "mode": "payment",
        "success_url": format!("{success_url}{}session_id={{CHECKOUT_SESSION_ID}}&invoice={number}", joint(success_url)),
        "cancel_url": format!("{cancel_url}{}invoice={number}", joint(cancel_url)),
        "client_reference_id": inv.id,
        "customer_email": billing_email(p, inv).await?,
        "metadata": metadata,
        "payment_intent_data": { "metadata": metadata },
        "expires_at": expires_ms / 1000,
        "line_items": [{
            "quantity": 1,
            "price_data": {
                "currency": inv.currency.to_lowercase(),
                "unit_amount": amount,
                "product_data": { "name": format!("Invoice {number}") },
            },
        }],
    });
    let session = stripe_client::post(
        p,
        &cfg,
        "/v1/checkout/sessions",
        &params,
        &format!("invoice-checkout:{}:{}", inv.id, p.new_id("try")),
    )
    .await
    .map_err(stripe_failure)?;
    let (Some(session_id), Some(url)) = (session["id"].as_str(), session["url"].as_str()) else {
        return Err(AppError::Upstream(
            "Stripe answered without a session id and url".into(),
        ));
    };
    // Compare-and-set: the session this request read is replaced, or another request
    // replaced it first and its session is the one to use.
    let res = p
        .db()
        .batch(vec![stmt!(
            "UPDATE invoices SET checkout_session_id = ?, checkout_url = ?, checkout_amount = ?, checkout_expires_at = ?, updated_at = ? \
             WHERE id = ? AND checkout_session_id IS ?",
            session_id,
            url,
            amount,
            expires_ms,
            now,
            &inv.id,
            &open.checkout_session_id
        )])
        .await?;
    let (stale, answered) = if res.first().is_some_and(|r| r.changes == 1) {
        (
            open.checkout_session_id,
            answer(inv, amount, session_id, url, expires_ms),
        )
    } else {
        match open_session(p, &inv.id).await? {
            OpenSession {
                checkout_session_id: Some(s),
                checkout_url: Some(u),
                checkout_amount: Some(a),
                checkout_expires_at: Some(e),
            } => (Some(session_id.to_owned()), answer(inv, a, &s, &u, e)),
            _ => {
                return Err(AppError::conflict(
                    "invoice_changed",
                    "The invoice changed while its payment was being prepared; try again.",
                ));
            }
        }
    };
    if let Some(stale) = stale {
        // Best effort: a stale session someone still pays is allocated up to the balance,
        // and what is left stays on the company as a credit.
        close(p, &inv.id, &stale).await;
    }
    Ok(answered)
}

fn answer(inv: &InvoiceView, amount: i64, session: &str, url: &str, exp: i64) -> InvoiceCheckout {
    InvoiceCheckout {
        invoice_id: inv.id.clone(),
        invoice_number: inv.number.clone(),
        currency: inv.currency.clone(),
        amount,
        balance: inv.balance,
        checkout_url: url.to_owned(),
        session_id: session.to_owned(),
        expires_at: rfc3339(exp),
    }
}

async fn billing_email<P: Platform>(p: &P, inv: &InvoiceView) -> Result<Option<String>, AppError> {
    #[derive(Deserialize)]
    struct Email {
        email: String,
    }
    let Some(contact) = &inv.billing_contact_id else {
        return Ok(None);
    };
    Ok(p.db()
        .first::<Email>(stmt!("SELECT email FROM contacts WHERE id = ?", contact))
        .await?
        .map(|e| e.email))
}

/// `GET /v1/pay/{token}`: the invoice the token names, its session (`?amount=` for part
/// of the balance).
///
/// # Errors
/// 404 a token that is not valid; see [`checkout`].
pub async fn by_token<P: Platform>(
    p: &P,
    token: &str,
    amount: Option<&str>,
) -> Result<InvoiceCheckout, AppError> {
    let (inv, store) = invoice_of_token(p, token).await?;
    let amount = amount
        .map(|a| {
            a.parse::<i64>()
                .map_err(|_| AppError::validation("amount", "an amount in minor units"))
        })
        .transpose()?;
    checkout(p, &store, &inv, PayInput { amount }).await
}

/// The invoice a pay token names, with its store.
///
/// # Errors
/// 404 a token that is not valid (or an invoice that is gone); 503 no token secret.
pub async fn invoice_of_token<P: Platform>(
    p: &P,
    token: &str,
) -> Result<(InvoiceView, StoreRow), AppError> {
    let secret = crate::orders::access::token_secret(p)?;
    let id = verify_pay_token(secret, token).ok_or(AppError::NotFound("invoice"))?;
    #[derive(Deserialize)]
    struct StoreOf {
        store_id: String,
    }
    let of: StoreOf = p
        .db()
        .first(stmt!("SELECT store_id FROM invoices WHERE id = ?", &id))
        .await?
        .ok_or(AppError::NotFound("invoice"))?;
    let store = crate::sql::stores::store_by_id(p.db(), &of.store_id)
        .await?
        .ok_or(AppError::NotFound("invoice"))?;
    Ok((invoice(p, &store.id, &id).await?, store))
}

/// The statements that record a paid invoice session (from a `checkout.session.completed`
/// or `…async_payment_succeeded` event): the ledger's capture, the billing payment (the
/// deciding statement — a repeat finds it there), its allocation to the invoice (what it
/// owes at most; the rest stays as the company's credit), and the invoice's session closed.
/// `None` when the session is not paid yet.
pub(crate) fn session_paid(
    store_id: &str,
    invoice_id: &str,
    session: &Value,
    allocation_id: &str,
    now: i64,
) -> Option<Batch> {
    if session["payment_status"].as_str() != Some("paid") {
        return None;
    }
    let intent = session["payment_intent"]
        .as_str()
        .or_else(|| session["payment_intent"]["id"].as_str())?;
    let amount = session["amount_total"].as_i64().filter(|a| *a > 0)?;
    let ledger_id = format!("pay_{intent}");
    let payment_id = format!("bpay_{intent}");
    let mut batch = Batch::default();
    batch.push(stmt!(
        "INSERT INTO payments (id, store_id, invoice_id, kind, amount, currency, status, stripe_id, created_at, updated_at) \
         SELECT ?, store_id, id, 'capture', ?, currency, 'succeeded', ?, ?, ? FROM invoices WHERE id = ? AND store_id = ? \
           AND lower(currency) = lower(?) ON CONFLICT DO NOTHING",
        &ledger_id,
        amount,
        intent,
        now,
        now,
        invoice_id,
        store_id,
        session["currency"].as_str().unwrap_or_default()
    ));
    batch.push_deciding(stmt!(
        "INSERT INTO billing_payments (id, store_id, company_id, customer_id, method, amount, currency, reference, received_at, \
           ledger_payment_id, created_by, created_at) \
         SELECT ?, i.store_id, i.company_id, i.customer_id, 'stripe', p.amount, i.currency, p.stripe_id, ?, p.id, ?, ? \
         FROM payments p JOIN invoices i ON i.id = p.invoice_id WHERE p.id = ? AND p.kind = 'capture' ON CONFLICT DO NOTHING",
        &payment_id,
        now,
        super::order_invoices::STRIPE_AUTHOR,
        now,
        &ledger_id
    ));
    for s in payments::allocate_what_fits(
        allocation_id,
        store_id,
        &payment_id,
        invoice_id,
        super::order_invoices::STRIPE_AUTHOR,
        now,
    ) {
        batch.push(s);
    }
    batch.push(closed_session(
        invoice_id,
        session["id"].as_str().unwrap_or_default(),
        now,
    ));
    Some(batch)
}

/// The invoice forgets its session once it is paid or expired (a later pay link makes a
/// new one).
pub(crate) fn closed_session(invoice_id: &str, session_id: &str, now: i64) -> Stmt {
    stmt!(
        "UPDATE invoices SET checkout_session_id = NULL, checkout_url = NULL, checkout_amount = NULL, checkout_expires_at = NULL, \
           updated_at = ? WHERE id = ? AND checkout_session_id = ?",
        now,
        invoice_id,
        session_id
    )
}
