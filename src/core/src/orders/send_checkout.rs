//! Sending a company's draft to checkout (seed 001 §2.2, strict mode). Every line is
//! priced again; any line without a Stripe Price synced at its resolved amount refuses the
//! whole send (409 naming the lines, nothing written). Otherwise one guarded batch turns
//! the draft into a pending order with the same id — its items keeping the resolution
//! they were priced with — only if the billing contact's spending limit allows it, counted
//! over the orders they placed this period (so concurrent sends can never exceed it). Then
//! a Stripe Checkout Session with the lines' `price` ids, and the link by email to the
//! billing contact. Payment follows the same exactly-once path as every order.

use super::drafts::{self, DraftRow, LineRow};
use crate::AppError;
use crate::companies::{addresses, contacts};
use crate::db::{Db as _, DbError, DbExt as _, Stmt};
use crate::domain::{OrderNumber, SpendingPeriod};
use crate::error::Conflicting;
use crate::notifications::{self, Kind};
use crate::orders::checkout::{SESSION_TTL_MS, metadata, stripe_config, stripe_failure};
use crate::payments::stripe_client;
use crate::ports::Platform;
use crate::pricing::Resolution;
use crate::sql::orders::{self as order_sql, OrderRow};
use crate::sql::stores::StoreRow;
use crate::stmt;
use crate::time_fmt::rfc3339;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// What the operator sees once a draft was sent.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SentCheckout {
    pub order_id: String,
    pub order_number: String,
    pub status: crate::domain::OrderStatus,
    pub currency: String,
    pub total_amount: i64,
    pub checkout_url: String,
    pub session_id: String,
    pub expires_at: String,
    /// Who gets the link by email.
    pub billing_contact_email: Option<String>,
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

/// `POST /admin/api/v1/orders/{order_id}/send-checkout`. Sending again answers the same
/// session (and finishes one whose Stripe call failed).
///
/// # Errors
/// 404; 409 `checkout_refused` naming the lines strict mode refuses, 409
/// `spending_limit_exceeded`, 409 `no_shipping_address`, 409 `checkout_not_configured`;
/// 502/503 when Stripe refuses or fails.
pub async fn send_checkout<P: Platform>(
    p: &P,
    store: &StoreRow,
    id: &str,
) -> Result<SentCheckout, AppError> {
    let (success_url, cancel_url) = match (&store.settings.success_url, &store.settings.cancel_url)
    {
        (Some(s), Some(c)) => (s.clone(), c.clone()),
        _ => {
            return Err(AppError::conflict(
                "checkout_not_configured",
                "The store has no success_url and cancel_url settings; an admin must set them.",
            ));
        }
    };
    let cfg = stripe_config(p)?.clone();
    let order = match order_sql::order_by_id(p.db(), id).await? {
        Some(o) if o.store_id == store.id && o.company_id.is_some() => o,
        Some(_) => return Err(AppError::NotFound("draft order")),
        None => {
            let (d, lines) = drafts::draft_row(p, &store.id, id).await?;
            place(p, store, d, lines).await?
        }
    };
    if order.status != crate::domain::OrderStatus::Pending {
        return Err(AppError::conflict(
            "order_not_pending",
            format!(
                "The order is {}: its checkout is over.",
                order.status.as_str()
            ),
        ));
    }
    let expires_ms = order.created_at + SESSION_TTL_MS;
    if let (Some(session), Some(url)) = (&order.stripe_checkout_session_id, &order.checkout_url) {
        return Ok(sent(&order, session, url, expires_ms));
    }
    let lines = priced_items(p, &order.id).await?;
    let mut params = json!({
        "mode": "payment",
        "success_url": format!("{success_url}{}session_id={{CHECKOUT_SESSION_ID}}&order={}", if success_url.contains('?') { '&' } else { '?' }, order.order_number),
        "cancel_url": format!("{cancel_url}{}order={}", if cancel_url.contains('?') { '&' } else { '?' }, order.order_number),
        "client_reference_id": order.id,
        "customer_email": order.email,
        "metadata": metadata(&order),
        "payment_intent_data": { "metadata": metadata(&order) },
        "expires_at": expires_ms / 1000,
        // Strict mode: every line is a Price synced to Stripe, never price_data.
        "line_items": lines.iter().map(|(price, quantity)| json!({ "price": price, "quantity": quantity })).collect::<Vec<_>>(),
    });
    if order.shipping_amount > 0 {
        params["shipping_options"] = json!([{ "shipping_rate_data": {
            "type": "fixed_amount", "display_name": "Shipping",
            "fixed_amount": { "amount": order.shipping_amount, "currency": order.currency.to_lowercase() },
        }}]);
    }
    let session = stripe_client::post(
        p,
        &cfg,
        "/v1/checkout/sessions",
        &params,
        &format!("checkout:{}", order.id),
    )
    .await
    .map_err(stripe_failure)?;
    let (Some(session_id), Some(url)) = (session["id"].as_str(), session["url"].as_str()) else {
        return Err(AppError::Upstream(
            "Stripe answered without a session id and url".into(),
        ));
    };
    let now = p.now_ms();
    let mut batch = vec![order_sql::set_checkout_session(
        &order.id, session_id, url, now,
    )];
    batch.extend(notifications::queue_statements(
        &store.id,
        &order.id,
        Kind::CheckoutLink,
        &stmt!(
            "EXISTS (SELECT 1 FROM orders WHERE id = ? AND stripe_checkout_session_id = ?)",
            &order.id,
            session_id
        ),
        now,
    ));
    p.db().batch(batch).await?;
    let _unsent_is_swept = crate::fulfillment::dispatch::dispatch(
        p,
        &[notifications::outbox_id(&order.id, Kind::CheckoutLink)],
    )
    .await;
    Ok(sent(&order, session_id, url, expires_ms))
}

fn sent(order: &OrderRow, session: &str, url: &str, expires_ms: i64) -> SentCheckout {
    SentCheckout {
        order_id: order.id.clone(),
        order_number: order.order_number.clone(),
        status: order.status,
        currency: order.currency.to_lowercase(),
        total_amount: order.total_amount,
        checkout_url: url.to_owned(),
        session_id: session.to_owned(),
        expires_at: rfc3339(expires_ms),
        billing_contact_email: order.email.clone(),
    }
}

/// Each item's Stripe Price and quantity, from the resolution it was placed with.
async fn priced_items<P: Platform>(p: &P, order_id: &str) -> Result<Vec<(String, i64)>, AppError> {
    #[derive(Deserialize)]
    struct Item {
        quantity: i64,
        #[serde(deserialize_with = "crate::db::json_column")]
        price_source_ids: Resolution,
    }
    let items: Vec<Item> = p
        .db()
        .query(stmt!(
            "SELECT quantity, price_source_ids FROM order_items WHERE order_id = ? ORDER BY rowid",
            order_id
        ))
        .await?;
    items
        .into_iter()
        .map(|i| {
            i.price_source_ids
                .stripe_price_id
                .map(|price| (price, i.quantity))
                .ok_or_else(|| {
                    AppError::conflict(
                        "checkout_refused",
                        "An item of this order has no Stripe Price; it cannot be paid through Checkout.",
                    )
                })
        })
        .collect()
}

/// The draft becomes a pending order, or nothing happens (see the module's comment).
async fn place<P: Platform>(
    p: &P,
    store: &StoreRow,
    d: DraftRow,
    lines: Vec<LineRow>,
) -> Result<OrderRow, AppError> {
    let contact = contacts::contact(p, &store.id, &d.billing_contact_id).await?;
    if !contact.active {
        return Err(AppError::conflict(
            "billing_contact_archived",
            "The billing contact is archived; choose another before sending.",
        ));
    }
    let q = drafts::priced(p, store, &d, &lines).await?;
    let refused: Vec<Conflicting> = lines
        .iter()
        .zip(&q.lines)
        .filter_map(|(l, priced)| {
            priced.problem.as_ref().map(|why| Conflicting {
                id: l.id.clone(),
                reason: format!("{} × {}: {why}", priced.sku, priced.quantity),
            })
        })
        .collect();
    if !refused.is_empty() {
        return Err(AppError::ConflictWith {
            code: "checkout_refused",
            message: format!(
                "{} of {} lines cannot be sent to Stripe Checkout in strict mode (each needs a Stripe Price synced at its amount); nothing was sent.",
                refused.len(),
                lines.len()
            ),
            conflicts: refused,
        });
    }
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
                 SELECT ?, ?, ?, ?, 'pending', 'unpaid', ?, ?, ?, ?, ?, 'checkout_session', ?, ?, ?, ?, ?, ?",
                &d.id,
                &store.id,
                number.as_str(),
                &contact.email,
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
        batch.push(order_sql::domain_event(
            &format!("evt_{}_checkout_sent", d.id),
            &store.id,
            &d.id,
            "order.checkout_sent",
            &json!({ "company_id": d.company_id, "billing_contact_id": d.billing_contact_id, "total": q.total_amount }),
            now,
            placed.clone(),
        ));
        match p.db().batch(batch).await {
            Ok(res) if res[0].changes == 1 => {
                return order_sql::order_by_id(p.db(), &d.id)
                    .await?
                    .ok_or(AppError::NotFound("order"));
            }
            Ok(_) => return Err(not_placed(p, &store.id, &d, q.total_amount, &contact, now).await),
            Err(DbError::Unique(m)) if m.contains("order_number") => continue,
            Err(DbError::Unique(m)) if m.contains("orders.id") => {
                // A concurrent send placed it first.
                return order_sql::order_by_id(p.db(), &d.id)
                    .await?
                    .ok_or(AppError::NotFound("order"));
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
