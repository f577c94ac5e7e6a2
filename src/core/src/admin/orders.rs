//! Operators' view of orders: the filtered, searchable list (keyset-paginated, newest
//! first), its CSV export streamed page by page, and one order in full — items, money,
//! customer, fulfillment, parcels, refunds, downloads, notes, notifications, timeline.
//!
//! Every list query is built by [`list_query`] so the test that runs `EXPLAIN QUERY PLAN`
//! on each filter combination sees exactly what production runs.

use crate::AppError;
use crate::db::{Db, DbExt as _, Stmt, Value};
use crate::domain::{FinancialStatus, OrderStatus, PriceSource, ProviderCode, format_amount};
use crate::ports::Platform;
use crate::pricing::Resolution;
use crate::sql::orders::{self, OrderRow};
use crate::stmt;
use crate::time_fmt::{Instant, rfc3339};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// What the list and the export may be narrowed by (all optional, combined with AND).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderFilters {
    pub status: Option<OrderStatus>,
    pub financial_status: Option<FinancialStatus>,
    pub provider: Option<ProviderCode>,
    pub customer_id: Option<String>,
    /// A company's orders.
    pub company_id: Option<String>,
    /// Only orders flagged for review (`review_reason` set).
    pub needs_review: bool,
    /// Inclusive lower / exclusive upper bound on `created_at` (ms).
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
    /// An email (exact, any case) or an order number (or its beginning).
    pub q: Option<String>,
}

impl OrderFilters {
    /// From the query string of `GET /orders` and `GET /orders/export.csv`.
    ///
    /// # Errors
    /// 422 naming the parameter that is not understood.
    pub fn from_query(get: impl Fn(&str) -> Option<String>) -> Result<Self, AppError> {
        let nonempty = |k: &str| {
            get(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let date = |k: &str, until| {
            nonempty(k)
                .map(|v| crate::input::query_instant(k, &v, until))
                .transpose()
        };
        let q = nonempty("q");
        if q.as_ref().is_some_and(|q| q.chars().count() > 254) {
            return Err(AppError::validation("q", "is longer than 254 characters"));
        }
        Ok(OrderFilters {
            status: nonempty("status")
                .map(|s| {
                    OrderStatus::parse(&s).ok_or_else(|| {
                        AppError::validation("status", format!("unknown order status `{s}`"))
                    })
                })
                .transpose()?,
            financial_status: nonempty("financial_status")
                .map(|s| {
                    FinancialStatus::parse(&s).ok_or_else(|| {
                        AppError::validation(
                            "financial_status",
                            format!("unknown financial status `{s}`"),
                        )
                    })
                })
                .transpose()?,
            provider: nonempty("provider")
                .map(|s| {
                    ProviderCode::parse(&s).ok_or_else(|| {
                        AppError::validation(
                            "provider",
                            format!("must be one of: {}", ProviderCode::VALUES.join(", ")),
                        )
                    })
                })
                .transpose()?,
            customer_id: nonempty("customer_id"),
            company_id: nonempty("company_id"),
            needs_review: match nonempty("needs_review").as_deref() {
                None | Some("false" | "0") => false,
                Some("true" | "1") => true,
                Some(_) => {
                    return Err(AppError::validation(
                        "needs_review",
                        "must be true or false",
                    ));
                }
            },
            created_from: date("created_from", false)?,
            created_to: date("created_to", true)?,
            q,
        })
    }
}

/// A keyset position: the last row's `created_at` and id.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub created_at: i64,
    pub id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        format!("{}.{}", self.created_at, self.id)
    }
    /// # Errors
    /// 422 when it is not a cursor this API handed out.
    pub fn decode(s: &str) -> Result<Cursor, AppError> {
        s.split_once('.')
            .and_then(|(t, id)| {
                Some(Cursor {
                    created_at: t.parse().ok()?,
                    id: id.to_owned(),
                })
            })
            .filter(|c| !c.id.is_empty())
            .ok_or_else(|| AppError::validation("starting_after", "is not a cursor from this list"))
    }
}

pub const SUMMARY_COLUMNS: &str = "o.id, o.order_number, o.status, o.financial_status, o.email, o.customer_id, o.currency, \
    o.subtotal_amount, o.discount_amount, o.shipping_amount, o.tax_amount, o.total_amount, o.promo_code, o.review_reason, \
    o.created_at, o.paid_at, o.company_id, \
    (SELECT c.name FROM companies c WHERE c.id = o.company_id) AS company_name, \
    (SELECT group_concat(DISTINCT i.price_source) FROM order_items i WHERE i.order_id = o.id) AS price_sources";

/// The one query behind the list, the export and a customer's orders.
pub fn list_query(store_id: &str, f: &OrderFilters, after: Option<&Cursor>, limit: u32) -> Stmt {
    // Every filter reads about a page of rows whatever the number of orders: the list is
    // walked newest first through an index that starts with the filter, and stops at the
    // page. With a provider it walks that provider's fulfillment orders (one per order),
    // which carry their order's creation time for this.
    let (mut sql, created, id) = match f.provider {
        Some(_) => (
            format!(
                "SELECT {SUMMARY_COLUMNS} FROM fulfillment_orders f JOIN orders o ON o.id = f.order_id \
                 WHERE f.store_id = ? AND f.provider = ? AND o.store_id = f.store_id"
            ),
            "f.order_created_at",
            "f.order_id",
        ),
        None => (
            format!("SELECT {SUMMARY_COLUMNS} FROM orders o WHERE o.store_id = ?"),
            "o.created_at",
            "o.id",
        ),
    };
    let mut params: Vec<Value> = vec![store_id.into()];
    if let Some(p) = f.provider {
        params.push(p.as_str().into());
    }
    if let Some(s) = f.status {
        sql.push_str(" AND o.status = ?");
        params.push(s.as_str().into());
    }
    if let Some(s) = f.financial_status {
        sql.push_str(" AND o.financial_status = ?");
        params.push(s.as_str().into());
    }
    if let Some(c) = &f.customer_id {
        sql.push_str(" AND o.customer_id = ?");
        params.push(c.as_str().into());
    }
    if let Some(c) = &f.company_id {
        sql.push_str(" AND o.company_id = ?");
        params.push(c.as_str().into());
    }
    if f.needs_review {
        sql.push_str(" AND o.review_reason IS NOT NULL");
    }
    if let Some(t) = f.created_from {
        sql.push_str(&format!(" AND {created} >= ?"));
        params.push(t.into());
    }
    if let Some(t) = f.created_to {
        sql.push_str(&format!(" AND {created} < ?"));
        params.push(t.into());
    }
    if let Some(q) = &f.q {
        if q.contains('@') {
            // Emails are matched whole, in any case (SQLite's lower() folds ASCII only).
            sql.push_str(" AND lower(o.email) = ?");
            params.push(q.to_ascii_lowercase().into());
        } else {
            // Order numbers are upper case; a beginning is enough ("LAD-2026-4F").
            let prefix = q.to_uppercase();
            sql.push_str(" AND o.order_number >= ? AND o.order_number < ?");
            params.push(prefix.as_str().into());
            params.push(format!("{prefix}\u{10FFFF}").into());
        }
    }
    if let Some(c) = after {
        // A row value: the index seeks straight to the cursor.
        sql.push_str(&format!(" AND ({created}, {id}) < (?, ?)"));
        params.push(c.created_at.into());
        params.push(c.id.as_str().into());
    }
    sql.push_str(&format!(" ORDER BY {created} DESC, {id} DESC LIMIT ?"));
    params.push(i64::from(limit).into());
    Stmt { sql, params }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[schemars(rename = "AdminOrderSummary")]
pub struct OrderSummary {
    pub id: String,
    pub order_number: String,
    pub status: OrderStatus,
    pub financial_status: FinancialStatus,
    pub email: Option<String>,
    pub customer_id: Option<String>,
    pub currency: String,
    #[serde(alias = "subtotal_amount")]
    pub subtotal: i64,
    #[serde(alias = "discount_amount")]
    pub discount: i64,
    #[serde(alias = "shipping_amount")]
    pub shipping: i64,
    #[serde(alias = "tax_amount")]
    pub tax: i64,
    #[serde(alias = "total_amount")]
    pub total: i64,
    pub promo_code: Option<String>,
    pub review_reason: Option<String>,
    /// A company's order.
    pub company_id: Option<String>,
    pub company_name: Option<String>,
    /// Where its items' prices came from (`pricebook_global`, `price_agreement`, …),
    /// comma-separated (the export's column).
    #[serde(skip_serializing, default)]
    pub price_sources: Option<String>,
    #[serde(skip_deserializing)]
    pub created_at: String,
    #[serde(skip_deserializing)]
    pub paid_at: Option<String>,
    #[serde(rename(deserialize = "created_at"), skip_serializing)]
    pub created_ms: i64,
    #[serde(rename(deserialize = "paid_at"), skip_serializing)]
    pub paid_ms: Option<i64>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
#[schemars(rename = "AdminOrderPage")]
pub struct OrderPage {
    pub data: Vec<OrderSummary>,
    pub has_more: bool,
    pub next_starting_after: Option<String>,
}

/// # Errors
/// 422 for a bad limit.
pub fn parse_limit(limit: Option<&str>, default: u32, max: u32) -> Result<u32, AppError> {
    match limit {
        None | Some("") => Ok(default),
        Some(l) => l
            .parse()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| AppError::validation("limit", format!("must be 1 to {max}"))),
    }
}

async fn page(
    db: &impl Db,
    store_id: &str,
    f: &OrderFilters,
    after: Option<&Cursor>,
    limit: u32,
) -> Result<(Vec<OrderSummary>, bool), AppError> {
    let mut rows: Vec<OrderSummary> = db.query(list_query(store_id, f, after, limit + 1)).await?;
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    for r in &mut rows {
        r.created_at = rfc3339(r.created_ms);
        r.paid_at = r.paid_ms.map(rfc3339);
    }
    Ok((rows, has_more))
}

/// `GET /admin/api/v1/orders`.
///
/// # Errors
/// 422 for a bad filter, cursor or limit.
pub async fn list<P: Platform>(
    p: &P,
    store_id: &str,
    f: &OrderFilters,
    starting_after: Option<&str>,
    limit: Option<&str>,
) -> Result<OrderPage, AppError> {
    let limit = parse_limit(limit, 50, 200)?;
    let after = starting_after
        .filter(|s| !s.is_empty())
        .map(Cursor::decode)
        .transpose()?;
    let (data, has_more) = page(p.db(), store_id, f, after.as_ref(), limit).await?;
    Ok(OrderPage {
        next_starting_after: if has_more {
            data.last().map(|o| {
                Cursor {
                    created_at: o.created_ms,
                    id: o.id.clone(),
                }
                .encode()
            })
        } else {
            None
        },
        has_more,
        data,
    })
}

/// The CSV export, read from D1 one page at a time while the body is streamed: memory stays
/// flat however many orders match. The Worker drives it (`Response::export`).
#[derive(Debug, Clone, PartialEq)]
pub struct CsvExport {
    pub store_id: String,
    pub rows: ExportRows,
    after: Option<Cursor>,
    started: bool,
    done: bool,
}

/// What an export lists: orders, or invoices (whose overdue column is as of `now_ms`).
#[derive(Debug, Clone, PartialEq)]
pub enum ExportRows {
    Orders(OrderFilters),
    Invoices {
        filters: crate::billing::InvoiceFilters,
        now_ms: i64,
    },
}

pub const CSV_HEADER: &str = "order_number,created_at,paid_at,status,financial_status,email,currency,subtotal,discount,shipping,tax,total,promo_code,order_id,company_id,company_name,price_sources\r\n";
const EXPORT_PAGE: u32 = 500;

impl CsvExport {
    pub fn new(store_id: &str, filters: OrderFilters) -> Self {
        CsvExport {
            store_id: store_id.to_owned(),
            rows: ExportRows::Orders(filters),
            after: None,
            started: false,
            done: false,
        }
    }

    /// The store's invoices the filters select, newest first.
    pub fn invoices(store_id: &str, filters: crate::billing::InvoiceFilters, now_ms: i64) -> Self {
        CsvExport {
            rows: ExportRows::Invoices { filters, now_ms },
            ..CsvExport::new(store_id, OrderFilters::default())
        }
    }

    /// The next piece of the body (the header first), or `None` at the end.
    ///
    /// # Errors
    /// Storage failures (the stream ends with an error; the client sees a cut download).
    pub async fn next_chunk(&mut self, db: &impl Db) -> Result<Option<Vec<u8>>, AppError> {
        if self.done {
            return Ok(None);
        }
        let mut out = String::new();
        if !self.started {
            self.started = true;
            out.push_str(match &self.rows {
                ExportRows::Orders(_) => CSV_HEADER,
                ExportRows::Invoices { .. } => crate::billing::CSV_HEADER,
            });
        }
        if let ExportRows::Invoices { filters, now_ms } = &self.rows {
            let (lines, last, has_more) = crate::billing::csv_page(
                db,
                &self.store_id,
                filters,
                self.after.as_ref(),
                *now_ms,
                EXPORT_PAGE,
            )
            .await?;
            out.push_str(&lines);
            self.after = last;
            self.done = !has_more;
            return Ok(Some(out.into_bytes()));
        }
        let ExportRows::Orders(filters) = &self.rows else {
            return Ok(None);
        };
        let (rows, has_more) = page(
            db,
            &self.store_id,
            filters,
            self.after.as_ref(),
            EXPORT_PAGE,
        )
        .await?;
        for o in &rows {
            let cells = [
                o.order_number.clone(),
                o.created_at.clone(),
                o.paid_at.clone().unwrap_or_default(),
                o.status.as_str().to_owned(),
                o.financial_status.as_str().to_owned(),
                o.email.clone().unwrap_or_default(),
                o.currency.to_uppercase(),
                format_amount(o.subtotal, &o.currency),
                format_amount(o.discount, &o.currency),
                format_amount(o.shipping, &o.currency),
                format_amount(o.tax, &o.currency),
                format_amount(o.total, &o.currency),
                o.promo_code.clone().unwrap_or_default(),
                o.id.clone(),
                o.company_id.clone().unwrap_or_default(),
                o.company_name.clone().unwrap_or_default(),
                o.price_sources
                    .clone()
                    .unwrap_or_default()
                    .replace(',', ";"),
            ];
            let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
            out.push_str(&line.join(","));
            out.push_str("\r\n");
        }
        self.after = rows.last().map(|o| Cursor {
            created_at: o.created_ms,
            id: o.id.clone(),
        });
        self.done = !has_more;
        Ok(Some(out.into_bytes()))
    }
}

/// Digits with at most one decimal point (no float parsing: it would weigh on every Worker).
fn is_plain_number(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && s.bytes().filter(|b| *b == b'.').count() <= 1
        && s.bytes().any(|b| b.is_ascii_digit())
}

/// One CSV cell (RFC 4180 quoting). A cell a spreadsheet would run as a formula gets a
/// leading apostrophe: shoppers choose their emails, and an export is opened in Excel.
pub fn csv_cell(v: &str) -> String {
    // A negative amount is a number, not a formula.
    let formula = v.starts_with(['=', '+', '@', '\t', '\r'])
        || (v.starts_with('-') && !is_plain_number(&v[1..]));
    let guarded = if formula {
        format!("'{v}")
    } else {
        v.to_owned()
    };
    if guarded.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

pub use crate::orders::order_of_store;

/// Where an operator sees this order's payment in Stripe.
pub fn stripe_links<P: Platform>(p: &P, o: &OrderRow) -> StripeLinks {
    let test = p
        .settings()
        .stripe
        .as_ref()
        .is_none_or(|s| !s.secret_key.starts_with("sk_live"));
    let base = if test {
        "https://dashboard.stripe.com/test"
    } else {
        "https://dashboard.stripe.com"
    };
    StripeLinks {
        payment: o
            .stripe_payment_intent_id
            .as_ref()
            .map(|pi| format!("{base}/payments/{pi}")),
        checkout_session: o
            .stripe_checkout_session_id
            .as_ref()
            .map(|s| format!("{base}/checkout/sessions/{s}")),
        customer: o
            .stripe_customer_id
            .as_ref()
            .map(|c| format!("{base}/customers/{c}")),
    }
}

/// `GET /admin/api/v1/orders/{order_id}`: everything an operator needs on one page, read in
/// one round trip.
///
/// # Errors
/// 404 when it is not this store's.
pub async fn detail<P: Platform>(
    p: &P,
    store_id: &str,
    order_id: &str,
) -> Result<OrderDetail, AppError> {
    let o = order_of_store(p, store_id, order_id).await?;
    let res = p
        .db()
        .batch(vec![
            orders::items_stmt(order_id),
            stmt!(
                "SELECT f.id, f.provider, f.status, f.external_id, f.error, f.attempts, f.cost_estimated, f.cost_actual, f.currency, \
                    f.submitted_at, f.updated_at, \
                    (SELECT json_group_array(json_object('order_item_id', l.order_item_id, 'quantity', l.quantity, 'remaining_quantity', l.remaining_quantity)) \
                       FROM fulfillment_order_lines l WHERE l.fulfillment_order_id = f.id) AS lines \
                 FROM fulfillment_orders f WHERE f.order_id = ? ORDER BY f.provider",
                order_id
            ),
            stmt!(
                "SELECT s.id, s.fulfillment_order_id, s.carrier, s.service, s.tracking_number, s.tracking_url, s.status, s.shipped_at, s.delivered_at \
                 FROM shipments s JOIN fulfillment_orders f ON f.id = s.fulfillment_order_id WHERE f.order_id = ? ORDER BY s.created_at, s.id",
                order_id
            ),
            stmt!(
                "SELECT id, kind, amount, currency, status, stripe_id, reason, created_at FROM payments WHERE order_id = ? ORDER BY created_at, id",
                order_id
            ),
            stmt!(
                "SELECT d.id, d.order_item_id, d.filename, d.status, \
                    (SELECT COUNT(*) FROM download_tokens t WHERE t.download_id = d.id) AS links_issued, \
                    (SELECT MAX(t.downloaded_at) FROM download_tokens t WHERE t.download_id = d.id) AS last_downloaded_at \
                 FROM downloads d WHERE d.order_id = ? ORDER BY d.id",
                order_id
            ),
            stmt!(
                "SELECT id, author, body, created_at FROM order_notes WHERE order_id = ? ORDER BY created_at, id",
                order_id
            ),
            stmt!(
                "SELECT kind, status, recipient, attempts, error, sent_at, created_at FROM notifications WHERE order_id = ? ORDER BY created_at, kind",
                order_id
            ),
            stmt!(
                "SELECT type, payload, created_at FROM domain_events WHERE aggregate_type = 'order' AND aggregate_id = ? ORDER BY created_at, id",
                order_id
            ),
            stmt!(
                "SELECT id, order_item_id, content_type, size, created_at FROM order_item_files WHERE order_id = ? ORDER BY created_at, id",
                order_id
            ),
            stmt!(
                "SELECT id, email, blocked, blocked_reason, lifetime_value, order_count, last_order_at FROM customers WHERE id = ? AND store_id = ?",
                &o.customer_id,
                store_id
            ),
            // What is still refundable, as the refund ledger computes it (one rule).
            stmt!(
                format!("SELECT {} AS refundable", crate::payments::refunds::REFUNDABLE_SQL),
                order_id
            ),
            stmt!(
                "SELECT id AS order_item_id, price_source, price_source_ids, unit_price, currency FROM order_items WHERE order_id = ? ORDER BY rowid",
                order_id
            ),
            stmt!(
                "SELECT c.id, c.name, c.external_ref, c.payment_terms, \
                    k.id AS billing_contact_id, k.first_name || ' ' || k.last_name AS billing_contact_name, k.email AS billing_contact_email, \
                    a.id AS billing_address_id, \
                    trim(a.name || ', ' || a.line1 || ', ' || a.city || ' ' || coalesce(a.postal_code, '') || ', ' || a.country) AS billing_address \
                 FROM companies c LEFT JOIN contacts k ON k.id = ? LEFT JOIN addresses a ON a.id = ? \
                 WHERE c.id = ? AND c.store_id = ?",
                &o.billing_contact_id,
                &o.billing_address_id,
                &o.company_id,
                store_id
            ),
            stmt!(
                "SELECT i.id, i.number, i.status, i.total_amount, \
                   i.total_amount - (SELECT coalesce(sum(amount), 0) FROM invoice_allocations WHERE invoice_id = i.id) AS balance \
                 FROM invoices i WHERE i.order_id = ?",
                order_id
            ),
        ])
        .await?;
    let mut res = res.into_iter().map(|r| r.rows);
    let mut next = || res.next().unwrap_or_default();
    let items: Vec<orders::OrderItemRow> = decode_all(next())?;
    let mut fulfillment_orders: Vec<FulfillmentOrderDetail> = decode_all(next())?;
    for f in &mut fulfillment_orders {
        f.manual_tracking = matches!(f.provider.as_str(), "manual" | "warehouse")
            || (f.provider == "gelato" && f.external_id.is_none());
    }
    let shipments = decode_all(next())?;
    let payments: Vec<PaymentLine> = decode_all(next())?;
    let sum = |kind: &str, status: &str| -> i64 {
        payments
            .iter()
            .filter(|x| x.kind == kind && x.status == status)
            .map(|x| x.amount)
            .sum()
    };
    let (captured, refunded, refund_pending) = (
        sum("capture", "succeeded"),
        sum("refund", "succeeded"),
        sum("refund", "pending"),
    );
    let downloads = decode_all(next())?;
    let notes = decode_all(next())?;
    let notifications = decode_all(next())?;
    let timeline = decode_all(next())?;
    let now_s = p.now_ms() / 1000;
    let mut customer_files: Vec<CustomerFile> = decode_all(next())?;
    for f in &mut customer_files {
        f.url = super::files::signed_url(p, store_id, &f.id, now_s);
    }
    let customer = decode_all(next())?.into_iter().next();
    let refundable = next()
        .first()
        .and_then(|r| r.get("refundable"))
        .and_then(Json::as_i64)
        .unwrap_or(0)
        .max(0);
    let item_prices = decode_all::<RecordedPrice>(next())?
        .into_iter()
        .map(|r| ItemPrice {
            resolution: Resolution::recorded(
                r.price_source,
                &r.price_source_ids,
                r.unit_price,
                &r.currency,
            ),
            order_item_id: r.order_item_id,
        })
        .collect();
    let company = decode_all(next())?.into_iter().next();
    let invoice = decode_all(next())?.into_iter().next();
    Ok(OrderDetail {
        company,
        invoice,
        item_prices,
        stripe: stripe_links(p, &o),
        order: crate::orders::view_of(&o, items),
        customer,
        money: Money {
            captured,
            refunded,
            refund_pending,
            refundable,
        },
        fulfillment_orders,
        shipments,
        payments,
        downloads,
        customer_files,
        notes,
        notifications,
        timeline,
    })
}

fn decode_all<T: serde::de::DeserializeOwned>(
    rows: Vec<crate::db::Row>,
) -> Result<Vec<T>, crate::db::DbError> {
    rows.into_iter().map(crate::db::decode).collect()
}

/// One order in full: everything an operator needs on one page.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct OrderDetail {
    pub order: crate::orders::OrderView,
    /// The signed-in customer who placed it (none for a guest).
    pub customer: Option<CustomerSummary>,
    /// The company it was sold to (none for a shopper's order).
    pub company: Option<OrderCompany>,
    /// Its invoice (a company's order, or a signed-in shopper's once paid).
    pub invoice: Option<OrderInvoice>,
    /// Where each item's price came from, as it was priced (the items' order).
    pub item_prices: Vec<ItemPrice>,
    pub money: Money,
    pub stripe: StripeLinks,
    pub fulfillment_orders: Vec<FulfillmentOrderDetail>,
    pub shipments: Vec<ShipmentLine>,
    /// Captures and refunds, oldest first.
    pub payments: Vec<PaymentLine>,
    pub downloads: Vec<DownloadLine>,
    /// Files the customer uploaded for their items, with short-lived links.
    pub customer_files: Vec<CustomerFile>,
    pub notes: Vec<OrderNote>,
    pub notifications: Vec<NotificationLine>,
    /// What happened to the order, oldest first.
    pub timeline: Vec<TimelineEntry>,
}

/// An order's invoice, as its page names it.
#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
pub struct OrderInvoice {
    pub id: String,
    pub number: Option<String>,
    pub status: crate::domain::InvoiceStatus,
    pub total_amount: i64,
    /// What is still owed on it.
    pub balance: i64,
}

#[derive(Debug, Deserialize)]
struct RecordedPrice {
    order_item_id: String,
    price_source: PriceSource,
    price_source_ids: String,
    unit_price: i64,
    currency: String,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ItemPrice {
    pub order_item_id: String,
    pub resolution: Resolution,
}

/// A company's order: who it was sold to and billed to.
#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
pub struct OrderCompany {
    pub id: String,
    pub name: String,
    pub external_ref: Option<String>,
    pub payment_terms: String,
    pub billing_contact_id: Option<String>,
    pub billing_contact_name: Option<String>,
    pub billing_contact_email: Option<String>,
    pub billing_address_id: Option<String>,
    /// On one line, for people.
    pub billing_address: Option<String>,
}

/// Amounts in the order's currency's minor unit.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Money {
    pub captured: i64,
    pub refunded: i64,
    pub refund_pending: i64,
    /// Captured less refunds pending or made: what a refund may still take.
    pub refundable: i64,
}

#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
pub struct CustomerSummary {
    pub id: String,
    pub email: Option<String>,
    #[serde(deserialize_with = "crate::db::int_bool")]
    pub blocked: bool,
    pub blocked_reason: Option<String>,
    pub lifetime_value: i64,
    pub order_count: i64,
    pub last_order_at: Option<Instant>,
}

#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
pub struct FulfillmentOrderDetail {
    pub id: String,
    pub provider: String,
    pub status: String,
    pub external_id: Option<String>,
    pub error: Option<String>,
    pub attempts: i64,
    pub cost_estimated: Option<i64>,
    pub cost_actual: Option<i64>,
    pub currency: String,
    pub submitted_at: Option<Instant>,
    pub updated_at: Instant,
    #[serde(deserialize_with = "crate::db::json_column")]
    pub lines: Vec<FulfillmentLine>,
    /// Tracking is entered by hand (manual, warehouse, or a Gelato order made outside).
    #[serde(default)]
    pub manual_tracking: bool,
}

#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
pub struct FulfillmentLine {
    pub order_item_id: String,
    pub quantity: i64,
    /// Not yet shipped.
    pub remaining_quantity: i64,
}

#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
pub struct ShipmentLine {
    pub id: String,
    pub fulfillment_order_id: String,
    pub carrier: Option<String>,
    pub service: Option<String>,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
    pub status: String,
    pub shipped_at: Option<Instant>,
    pub delivered_at: Option<Instant>,
}

#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
pub struct PaymentLine {
    pub id: String,
    /// `capture` or `refund`.
    pub kind: String,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    pub stripe_id: Option<String>,
    pub reason: Option<String>,
    pub created_at: Instant,
}

#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
pub struct DownloadLine {
    pub id: String,
    pub order_item_id: String,
    pub filename: String,
    pub status: String,
    pub links_issued: i64,
    pub last_downloaded_at: Option<Instant>,
}

#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
pub struct CustomerFile {
    pub id: String,
    pub order_item_id: String,
    pub content_type: String,
    pub size: i64,
    pub created_at: Instant,
    /// A short-lived signed link (none when files are not served publicly).
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
pub struct OrderNote {
    pub id: String,
    pub author: String,
    pub body: String,
    pub created_at: Instant,
}

#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
pub struct NotificationLine {
    pub kind: String,
    pub status: String,
    pub recipient: Option<String>,
    pub attempts: i64,
    pub error: Option<String>,
    pub sent_at: Option<Instant>,
    pub created_at: Instant,
}

#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
pub struct TimelineEntry {
    #[serde(rename = "type")]
    pub kind: String,
    /// The event's details, as recorded (their fields depend on its type).
    #[serde(deserialize_with = "json_object_column")]
    pub payload: Option<serde_json::Map<String, Json>>,
    #[serde(rename(deserialize = "created_at"))]
    pub at: Instant,
}

/// A TEXT column holding a JSON object; anything else reads as none.
fn json_object_column<'de, D>(d: D) -> Result<Option<serde_json::Map<String, Json>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let text = Option::<String>::deserialize(d)?;
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
}

/// Where an operator sees this order in the Stripe dashboard.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct StripeLinks {
    pub payment: Option<String>,
    pub checkout_session: Option<String>,
    pub customer: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteInput {
    #[schemars(length(min = 1, max = 4000))]
    pub body: String,
}

/// `POST /admin/api/v1/orders/{order_id}/notes`: an operator's note (plain text, kept as
/// written; every page escapes it).
///
/// # Errors
/// An operator's note on an order.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct NoteView {
    pub id: String,
    pub order_id: String,
    pub author: String,
    pub body: String,
    pub created_at: String,
}

/// 404 unknown order; 422 empty or over 4000 characters.
pub async fn add_note<P: Platform>(
    p: &P,
    store_id: &str,
    order_id: &str,
    author: &str,
    input: NoteInput,
) -> Result<NoteView, AppError> {
    use crate::ports::PlatformExt as _;
    let body = crate::input::paragraph("body", &input.body, 1, 4000)?;
    let body = body.as_str();
    order_of_store(p, store_id, order_id).await?;
    let id = p.new_id("note");
    let now = p.now_ms();
    p.db()
        .run(stmt!(
            "INSERT INTO order_notes (id, store_id, order_id, author, body, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            &id,
            store_id,
            order_id,
            author,
            body,
            now
        ))
        .await?;
    Ok(NoteView {
        id,
        order_id: order_id.to_owned(),
        author: author.to_owned(),
        body: body.to_owned(),
        created_at: rfc3339(now),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("-12.50"), "-12.50");
        assert_eq!(csv_cell("-cmd"), "'-cmd");
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_422() {
        let c = Cursor {
            created_at: 1_700_000_000_000,
            id: "ord_01H".into(),
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        assert!(Cursor::decode("nonsense").is_err());
        assert!(Cursor::decode("12.").is_err());
    }

    #[test]
    fn filters_parse_and_name_the_bad_parameter() {
        let q = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(a, _)| *a == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let f = OrderFilters::from_query(q(&[
            ("status", "paid"),
            ("created_from", "2026-11-01"),
            ("created_to", "2026-11-01"),
        ]))
        .unwrap();
        assert_eq!(f.status, Some(OrderStatus::Paid));
        assert_eq!(f.created_to.unwrap() - f.created_from.unwrap(), 86_400_000);
        match OrderFilters::from_query(q(&[("financial_status", "rich")])) {
            Err(AppError::Validation { field, .. }) => assert_eq!(field, "financial_status"),
            other => panic!("{other:?}"),
        }
        match OrderFilters::from_query(q(&[("created_from", "yesterday")])) {
            Err(AppError::Validation { field, .. }) => assert_eq!(field, "created_from"),
            other => panic!("{other:?}"),
        }
    }
}
