//! A company's draft becomes an order, in one guarded batch or not at all: only if the draft
//! is as it was read and the billing contact's spending limit allows it, counted over the
//! orders they placed this period (so concurrent requests can never exceed it). The order
//! keeps the draft's id, and its items the resolution they were priced with.
//!
//! Sent to checkout, the order waits for Stripe (`pending`). Invoiced on net terms, the
//! same batch issues its invoice, routes it to fulfilment (`processing`) and queues the
//! invoice's email to the billing contact: the order is fulfilled on issue, not payment.

use super::drafts::{self, DraftRow, LineRow};
use crate::AppError;
use crate::companies::{addresses, contacts};
use crate::db::{Db as _, DbError, DbExt as _, Stmt};
use crate::domain::{OrderNumber, OrderStatus, SpendingPeriod};
use crate::error::Conflicting;
use crate::fulfillment::{self, routing::RoutableItem};
use crate::notifications;
use crate::ports::Platform;
use crate::sql::orders::{self as order_sql, OrderRow};
use crate::sql::stores::StoreRow;
use crate::stmt;
use serde_json::json;

/// How the placed order will be paid.
pub(crate) enum Placing<'a> {
    /// Through a Stripe Checkout Session (strict mode: every line has a synced Price).
    Checkout,
    /// On net terms: its invoice is issued now, as `invoice_id`.
    Invoice {
        invoice_id: &'a str,
        author: &'a str,
    },
}

/// What was placed: the order, and (invoiced) the outbox rows its batch wrote.
pub(crate) struct Placed {
    pub order: OrderRow,
    pub outbox: Vec<String>,
}

/// The guard that keeps a billing contact's spending limit: the orders they placed in the
/// current period (not cancelled) plus `total` stay within it, or they have none. Read by
/// the statement that places the order, in its batch.
pub fn within_limit(contact_id: &str, total: i64, now: i64) -> Stmt {
    stmt!(
        "EXISTS (SELECT 1 FROM contacts c WHERE c.id = ? AND c.active = 1 AND (c.spending_limit_amount IS NULL OR \
           (SELECT COALESCE(SUM(o.total_amount), 0) FROM orders o WHERE o.billing_contact_id = c.id AND o.status <> 'cancelled' \
              AND o.placed_at >= CASE c.spending_limit_period WHEN 'monthly' THEN ? WHEN 'quarterly' THEN ? ELSE ? END) + ? \
           <= c.spending_limit_amount))",
        contact_id,
        SpendingPeriod::Monthly.start_ms(now),
        SpendingPeriod::Quarterly.start_ms(now),
        SpendingPeriod::Yearly.start_ms(now),
        total
    )
}

/// The draft becomes an order, or nothing happens (see the module's comment).
///
/// # Errors
/// 409 `checkout_refused` / `invoice_refused` naming the lines that cannot go, 409
/// `spending_limit_exceeded`, `draft_changed`, `already_sent`, `no_shipping_address`,
/// `billing_contact_archived`; 404.
pub(crate) async fn place<P: Platform>(
    p: &P,
    store: &StoreRow,
    d: DraftRow,
    lines: Vec<LineRow>,
    how: &Placing<'_>,
) -> Result<Placed, AppError> {
    let contact = contacts::contact(p, &store.id, &d.billing_contact_id).await?;
    if !contact.active {
        return Err(AppError::conflict(
            "billing_contact_archived",
            "The billing contact is archived; choose another before sending.",
        ));
    }
    let q = drafts::priced(p, store, &d, &lines).await?;
    let invoiced = matches!(how, Placing::Invoice { .. });
    // Checkout needs every line's Stripe Price; an invoice only needs every line priced.
    let refused: Vec<Conflicting> = lines
        .iter()
        .zip(&q.lines)
        .filter_map(|(l, priced)| {
            let why = match (&priced.problem, &priced.resolution) {
                (Some(why), None) => why,
                (Some(why), Some(_)) if !invoiced => why,
                _ => return None,
            };
            Some(Conflicting {
                id: l.id.clone(),
                reason: format!("{} × {}: {why}", priced.sku, priced.quantity),
            })
        })
        .collect();
    if !refused.is_empty() {
        return Err(AppError::ConflictWith {
            code: if invoiced {
                "invoice_refused"
            } else {
                "checkout_refused"
            },
            message: if invoiced {
                format!(
                    "{} of {} lines have no price for this company; nothing was invoiced.",
                    refused.len(),
                    lines.len()
                )
            } else {
                format!(
                    "{} of {} lines cannot be sent to Stripe Checkout in strict mode (each needs a Stripe Price synced at its amount); nothing was sent.",
                    refused.len(),
                    lines.len()
                )
            },
            conflicts: refused,
        });
    }
    // What routing needs of each line, read before the batch that routes them.
    let routable = if invoiced {
        routable_lines(p, &d.id).await?
    } else {
        Vec::new()
    };
    let company = crate::companies::company(p, &store.id, &d.company_id).await?;
    let shipping_address = if q.ships {
        let address = match &company.default_shipping_address_id {
            Some(a) => addresses::in_book(p, &company.id, a).await?,
            None => None,
        };
        let Some(a) = address else {
            return Err(AppError::conflict(
                "no_shipping_address",
                "The company has no default shipping address; set one so the order can be routed.",
            ));
        };
        Some(
            json!({ "name": a.name, "line1": a.line1, "line2": a.line2, "city": a.city, "state": a.region,
                    "postal_code": a.postal_code.clone().unwrap_or_default(), "country": a.country })
            .to_string(),
        )
    } else {
        None
    };
    let now = p.now_ms();
    for _ in 0..4 {
        let mut r = [0u8; 5];
        p.fill_random(&mut r);
        let year = crate::time_fmt::rfc3339(now)[..4].parse().unwrap_or(2026);
        let number = OrderNumber::generate(&store.order_prefix, year, r);
        let mut batch = Vec::new();
        // The deciding statement: the draft as read, and the limit, or nothing.
        batch.push(
            stmt!(
                "INSERT INTO orders (id, store_id, order_number, email, status, financial_status, currency, subtotal_amount, \
                    shipping_amount, total_amount, shipping_address, payment_flow, company_id, billing_contact_id, billing_address_id, \
                    placed_at, created_at, updated_at) \
                 SELECT ?, ?, ?, ?, ?, 'unpaid', ?, ?, ?, ?, ?, 'checkout_session', ?, ?, ?, ?, ?, ?",
                &d.id,
                &store.id,
                number.as_str(),
                &contact.email,
                if invoiced { OrderStatus::Processing } else { OrderStatus::Pending }.as_str(),
                &d.currency,
                q.subtotal_amount,
                q.shipping_amount,
                q.total_amount,
                &shipping_address,
                &d.company_id,
                &d.billing_contact_id,
                &d.billing_address_id,
                now,
                now,
                now
            )
            .when(&stmt!(
                "EXISTS (SELECT 1 FROM draft_orders WHERE id = ? AND updated_at = ?)",
                &d.id,
                d.updated_at
            ))
            .and_when(&within_limit(&d.billing_contact_id, q.total_amount, now)),
        );
        let placed = stmt!(
            "EXISTS (SELECT 1 FROM orders WHERE id = ? AND placed_at = ?)",
            &d.id,
            now
        );
        for (l, priced) in lines.iter().zip(&q.lines) {
            let Some(r) = &priced.resolution else {
                continue;
            };
            batch.push(
                stmt!(
                    "INSERT INTO order_items (id, order_id, variant_id, product_id, title, variant_title, sku, kind, options, unit_price, \
                        quantity, currency, price_source, price_source_ids, fulfillment_provider, digital_asset_key, created_at) \
                     SELECT ?, ?, v.id, v.product_id, pr.title, v.title, v.sku, v.kind, '{}', ?, ?, ?, ?, ?, v.fulfillment_provider, \
                        v.digital_asset_key, ? FROM variants v JOIN products pr ON pr.id = v.product_id WHERE v.id = ?",
                    &l.id,
                    &d.id,
                    r.unit_amount,
                    i64::from(l.quantity),
                    &d.currency,
                    r.source.as_str(),
                    serde_json::to_string(r).unwrap_or_default(),
                    now,
                    &l.variant_id
                )
                .and_when(&placed),
            );
        }
        batch.push(
            stmt!("DELETE FROM draft_order_lines WHERE draft_id = ?", &d.id).and_when(&placed),
        );
        batch.push(stmt!("DELETE FROM draft_orders WHERE id = ?", &d.id).and_when(&placed));
        let event = if invoiced {
            "invoiced"
        } else {
            "checkout_sent"
        };
        batch.push(order_sql::domain_event(
            &format!("evt_{}_{event}", d.id),
            &store.id,
            &d.id,
            &format!("order.{event}"),
            &json!({ "company_id": d.company_id, "billing_contact_id": d.billing_contact_id, "total": q.total_amount }),
            now,
            placed.clone(),
        ));
        let mut outbox = Vec::new();
        if let Placing::Invoice { invoice_id, author } = how {
            let order = placed_row(store, &d, number.as_str(), now);
            let store_default = store.settings.default_provider;
            outbox = invoiced_statements(
                p,
                &order,
                invoice_id,
                author,
                (&routable, store_default),
                &placed,
                &mut batch,
            );
        }
        match p.db().batch(batch).await {
            Ok(res) if res[0].changes == 1 => {
                let order = order_sql::order_by_id(p.db(), &d.id)
                    .await?
                    .ok_or(AppError::NotFound("order"))?;
                return Ok(Placed { order, outbox });
            }
            Ok(_) => return Err(not_placed(p, &store.id, &d, q.total_amount, &contact, now).await),
            Err(DbError::Unique(m)) if m.contains("order_number") => continue,
            Err(DbError::Unique(m)) if m.contains("orders.id") => {
                // A concurrent send placed it first.
                let order = order_sql::order_by_id(p.db(), &d.id)
                    .await?
                    .ok_or(AppError::NotFound("order"))?;
                return Ok(Placed {
                    order,
                    outbox: Vec::new(),
                });
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::unavailable(
        "order_number_exhausted",
        "Could not find a free order number; try again.",
    ))
}

/// Why the placing statement wrote nothing: sent meanwhile, edited meanwhile, or over the
/// billing contact's limit.
async fn not_placed<P: Platform>(
    p: &P,
    store_id: &str,
    d: &DraftRow,
    total: i64,
    contact: &contacts::ContactView,
    now: i64,
) -> AppError {
    if let Ok(Some(_)) = order_sql::order_by_id(p.db(), &d.id).await {
        return AppError::conflict(
            "already_sent",
            "This draft was just sent by another request; send it again to get its link.",
        );
    }
    match drafts::draft_row(p, store_id, &d.id).await {
        Err(e) => return e,
        Ok((now_row, _)) if now_row.updated_at != d.updated_at => {
            return AppError::conflict(
                "draft_changed",
                "The draft changed while it was being sent; review it and send again.",
            );
        }
        Ok(_) => {}
    }
    let Some(limit) = &contact.spending_limit else {
        return AppError::conflict(
            "billing_contact_archived",
            "The billing contact is no longer active.",
        );
    };
    let spent = p
        .db()
        .scalar_i64(stmt!(
            "SELECT COALESCE(SUM(total_amount), 0) AS n FROM orders WHERE billing_contact_id = ? AND status <> 'cancelled' AND placed_at >= ?",
            &contact.id,
            limit.period.start_ms(now)
        ))
        .await
        .unwrap_or(0);
    let money = |m: i64| crate::domain::format_amount(m, &d.currency);
    AppError::conflict(
        "spending_limit_exceeded",
        format!(
            "{} {} has a {} spending limit of {} {cur}; orders placed this period come to {} {cur}, and this one ({} {cur}) would go over it.",
            contact.first_name,
            contact.last_name,
            limit.period.as_str(),
            money(limit.amount),
            money(spent),
            money(total),
            cur = d.currency.to_uppercase()
        ),
    )
}

/// The draft's lines as routing sees order items (the items keep the lines' ids).
async fn routable_lines<P: Platform>(p: &P, draft_id: &str) -> Result<Vec<RoutableItem>, AppError> {
    Ok(p.db()
        .query(stmt!(
            "SELECT l.id, l.variant_id, l.quantity, v.kind, v.fulfillment_provider, \
               (SELECT json_group_array(json_object('provider', pm.provider, 'external_variant_id', pm.external_variant_id, 'cost', pm.cost_amount)) \
                FROM provider_mappings pm WHERE pm.variant_id = l.variant_id) AS mappings \
             FROM draft_order_lines l JOIN variants v ON v.id = l.variant_id WHERE l.draft_id = ? ORDER BY l.rowid",
            draft_id
        ))
        .await?)
}

/// The order the batch places, as routing and the downloads read it.
fn placed_row(store: &StoreRow, d: &DraftRow, number: &str, now: i64) -> OrderRow {
    OrderRow {
        id: d.id.clone(),
        store_id: store.id.clone(),
        order_number: number.to_owned(),
        customer_id: None,
        email: None,
        cart_id: None,
        status: OrderStatus::Processing,
        financial_status: crate::domain::FinancialStatus::Unpaid,
        currency: d.currency.clone(),
        subtotal_amount: 0,
        discount_amount: 0,
        shipping_amount: 0,
        tax_amount: 0,
        total_amount: 0,
        stripe_checkout_session_id: None,
        stripe_payment_intent_id: None,
        stripe_customer_id: None,
        promo_code: None,
        shipping_address: None,
        review_reason: None,
        cancel_reason: None,
        checkout_url: None,
        payment_flow: "checkout_session".into(),
        paid_at: None,
        cancelled_at: None,
        created_at: now,
        updated_at: now,
        company_id: Some(d.company_id.clone()),
        billing_contact_id: Some(d.billing_contact_id.clone()),
        billing_address_id: Some(d.billing_address_id.clone()),
    }
}

/// An invoiced order's part of the placing batch: its invoice issued, and — only once it
/// is — its fulfillment orders, downloads and the invoice's email. Returns the outbox rows.
fn invoiced_statements<P: Platform>(
    p: &P,
    order: &OrderRow,
    invoice_id: &str,
    author: &str,
    (items, store_default): (&[RoutableItem], Option<crate::domain::ProviderCode>),
    placed: &Stmt,
    batch: &mut Vec<Stmt>,
) -> Vec<String> {
    let now = p.now_ms();
    batch.extend(crate::billing::order_invoices::invoice_statements(
        &order.store_id,
        &order.id,
        invoice_id,
        author,
        placed,
        now,
    ));
    let issued = stmt!(
        "EXISTS (SELECT 1 FROM invoices WHERE id = ? AND order_id = ? AND status = 'issued' AND issued_at = ?)",
        invoice_id,
        &order.id,
        now
    );
    let (routing, mut outbox) =
        fulfillment::routing_statements(p, order, items, store_default, &issued);
    batch.extend(routing);
    batch.push(crate::downloads::create_statements(order, &issued, now));
    batch.extend(notifications::queue_invoice_statements(
        &order.store_id,
        invoice_id,
        notifications::Kind::InvoiceIssued,
        &issued,
        now,
    ));
    outbox.push(notifications::outbox_id(
        invoice_id,
        notifications::Kind::InvoiceIssued,
    ));
    outbox
}
