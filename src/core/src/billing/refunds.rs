//! A refund of a Stripe payment that paid invoices (seed 001 §2.3): it covers that much
//! less, so what it had paid is owed again. Stripe's `charge.refunded` says how much of the
//! charge is refunded in all; the billing payment's `refunded_amount` moves up to it, and
//! what the payment no longer holds comes off its allocations, newest first, reopening
//! those invoices (`paid` → `partially_paid` or `issued`). The batch is guarded by the
//! refunded amount it read, so a repeat (or a copy racing it) changes nothing.
//!
//! A prepaid order's payment is different: its refund gives back money for goods that did
//! not go (a cancellation, a return), so nothing is owed again — the same batch makes a
//! credit note for what it took off the order's invoice, whose balance stays at zero.

use super::payments::follow_allocations;
use crate::AppError;
use crate::db::{DbExt as _, Stmt};
use crate::ports::{Platform, PlatformExt as _};
use crate::stmt;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Paid {
    id: String,
    store_id: String,
    amount: i64,
    refunded_amount: i64,
    /// The prepaid order it paid (none for an invoice's own payment).
    order_number: Option<String>,
}

#[derive(Deserialize)]
struct Allocation {
    id: String,
    invoice_id: String,
    amount: i64,
}

/// The statements a `charge.refunded` event causes for the billing payment of its
/// PaymentIntent, if one exists (none when nothing more is refunded).
///
/// # Errors
/// Storage failures.
pub async fn charge_refunded<P: Platform>(p: &P, charge: &Value) -> Result<Vec<Stmt>, AppError> {
    let Some(intent) = charge["payment_intent"]
        .as_str()
        .or_else(|| charge["payment_intent"]["id"].as_str())
    else {
        return Ok(Vec::new());
    };
    let Some(paid) = p
        .db()
        .first::<Paid>(stmt!(
            "SELECT bp.id, bp.store_id, bp.amount, bp.refunded_amount, \
               (SELECT o.order_number FROM payments lp JOIN orders o ON o.id = lp.order_id WHERE lp.id = bp.ledger_payment_id) AS order_number \
             FROM billing_payments bp WHERE bp.ledger_payment_id = ?",
            format!("pay_{intent}")
        ))
        .await?
    else {
        return Ok(Vec::new());
    };
    let refunded = charge["amount_refunded"]
        .as_i64()
        .unwrap_or(0)
        .clamp(0, paid.amount);
    if refunded <= paid.refunded_amount {
        return Ok(Vec::new());
    }
    let allocations: Vec<Allocation> = p
        .db()
        .query(stmt!(
            "SELECT id, invoice_id, amount FROM invoice_allocations WHERE payment_id = ? ORDER BY created_at DESC, id DESC",
            &paid.id
        ))
        .await?;
    let credit_note_ids: Vec<String> = allocations.iter().map(|_| p.new_id("cn")).collect();
    Ok(statements(
        &paid,
        &allocations,
        refunded,
        &credit_note_ids,
        p.now_ms(),
    ))
}

fn statements(
    paid: &Paid,
    allocations: &[Allocation],
    refunded: i64,
    credit_note_ids: &[String],
    now: i64,
) -> Vec<Stmt> {
    let allocated: i64 = allocations.iter().map(|a| a.amount).sum();
    let unallocated = paid.amount - paid.refunded_amount - allocated;
    let mut to_take = (refunded - paid.refunded_amount - unallocated).max(0);
    let as_read = stmt!(
        "(SELECT refunded_amount FROM billing_payments WHERE id = ?) = ?",
        &paid.id,
        paid.refunded_amount
    );
    let mut out = Vec::new();
    let mut reopened = Vec::new();
    for a in allocations {
        if to_take == 0 {
            break;
        }
        let take = to_take.min(a.amount);
        to_take -= take;
        out.push(if take == a.amount {
            stmt!(
                "DELETE FROM invoice_allocations WHERE id = ? AND amount = ?",
                &a.id,
                a.amount
            )
            .and_when(&as_read)
        } else {
            stmt!(
                "UPDATE invoice_allocations SET amount = amount - ? WHERE id = ? AND amount = ?",
                take,
                &a.id,
                a.amount
            )
            .and_when(&as_read)
        });
        reopened.push((a.invoice_id.clone(), take));
    }
    out.push(stmt!(
        "UPDATE billing_payments SET refunded_amount = ? WHERE id = ? AND refunded_amount = ?",
        refunded,
        &paid.id,
        paid.refunded_amount
    ));
    let done = stmt!(
        "EXISTS (SELECT 1 FROM billing_payments WHERE id = ? AND refunded_amount = ?)",
        &paid.id,
        refunded
    );
    for ((invoice_id, amount), cn) in reopened.into_iter().zip(credit_note_ids) {
        out.push(follow_allocations(&invoice_id, now));
        if let Some(order) = &paid.order_number {
            out.extend(super::credit_notes::statements(
                &paid.store_id,
                cn,
                &invoice_id,
                amount,
                &format!("Refunded at Stripe: order {order}"),
                super::order_invoices::STRIPE_AUTHOR,
                now,
            ));
        }
        out.push(
            stmt!(
                "INSERT INTO domain_events (id, store_id, aggregate_type, aggregate_id, type, payload, created_at) \
                 SELECT ?, ?, 'invoice', ?, 'invoice.payment_refunded', ?, ?",
                format!("evt_{}_refunded_{refunded}_{invoice_id}", paid.id),
                &paid.store_id,
                &invoice_id,
                json!({ "payment_id": paid.id, "amount": amount, "refunded_amount": refunded }).to_string(),
                now
            )
            .when(&done)
            .or_nothing(),
        );
    }
    out
}
