//! An order's invoice: its items (with a shipping line and a discount line) and its tax,
//! drafted and issued in the batch that invoices a company's order on net terms or pays a
//! prepaid order — so such an order never exists without its invoice, and never has two
//! (`UNIQUE(order_id)`; a repeated batch finds the invoice there and adds nothing).

use super::issue::issue_statements;
use crate::db::Stmt;
use crate::stmt;

/// Who the paying batch names as the author of what it writes.
pub const STRIPE_AUTHOR: &str = "stripe";

/// Statements that draft the order's invoice as `invoice_id` and issue it, when `guard`
/// holds and the order has none yet. An order with neither a company nor a customer (a
/// guest's) gets no invoice. The invoice's third issuing statement is the last one here.
pub(crate) fn invoice_statements(
    store_id: &str,
    order_id: &str,
    invoice_id: &str,
    author: &str,
    guard: &Stmt,
    now: i64,
) -> Vec<Stmt> {
    let drafted = stmt!(
        "EXISTS (SELECT 1 FROM invoices WHERE id = ? AND status = 'draft')",
        invoice_id
    );
    let mut out = vec![
        stmt!(
            "INSERT INTO invoices (id, store_id, company_id, customer_id, order_id, currency, subtotal_amount, tax_amount, total_amount, \
               billing_contact_id, billing_address_id, payment_terms, created_by, created_at, updated_at) \
             SELECT ?, o.store_id, o.company_id, CASE WHEN o.company_id IS NULL THEN o.customer_id END, o.id, upper(o.currency), \
               o.total_amount - o.tax_amount, o.tax_amount, o.total_amount, o.billing_contact_id, o.billing_address_id, \
               coalesce((SELECT payment_terms FROM companies WHERE id = o.company_id), 'prepaid'), ?, ?, ? \
             FROM orders o WHERE o.id = ? AND o.store_id = ? AND (o.company_id IS NOT NULL OR o.customer_id IS NOT NULL) \
               AND NOT EXISTS (SELECT 1 FROM invoices WHERE order_id = o.id)",
            invoice_id,
            author,
            now,
            now,
            order_id,
            store_id
        )
        .and_when(guard)
        .or_nothing(),
        // The items as the order snapshotted them, in its order.
        stmt!(
            "INSERT INTO invoice_lines (id, invoice_id, kind, order_item_id, description, quantity, unit_amount, amount, position) \
             SELECT 'invl_' || oi.id, ?, 'item', oi.id, \
               oi.title || CASE WHEN oi.variant_title <> '' AND oi.variant_title <> oi.title THEN ' — ' || oi.variant_title ELSE '' END || ' (' || oi.sku || ')', \
               oi.quantity, oi.unit_price, oi.quantity * oi.unit_price, \
               (SELECT count(*) FROM order_items x WHERE x.order_id = oi.order_id AND x.rowid < oi.rowid) \
             FROM order_items oi WHERE oi.order_id = ?",
            invoice_id,
            order_id
        )
        .and_when(&drafted),
        stmt!(
            "INSERT INTO invoice_lines (id, invoice_id, kind, description, quantity, unit_amount, amount, position) \
             SELECT ? || '_shipping', ?, 'shipping', 'Shipping', 1, shipping_amount, shipping_amount, 100000 \
             FROM orders WHERE id = ? AND shipping_amount > 0",
            invoice_id,
            invoice_id,
            order_id
        )
        .and_when(&drafted),
        stmt!(
            "INSERT INTO invoice_lines (id, invoice_id, kind, description, quantity, unit_amount, amount, position) \
             SELECT ? || '_discount', ?, 'discount', 'Discount' || coalesce(' (' || promo_code || ')', ''), 1, -discount_amount, -discount_amount, 100001 \
             FROM orders WHERE id = ? AND discount_amount > 0",
            invoice_id,
            invoice_id,
            order_id
        )
        .and_when(&drafted),
    ];
    let issuable = stmt!(
        "EXISTS (SELECT 1 FROM invoices WHERE id = ? AND store_id = ? AND status = 'draft' AND total_amount >= 0 \
           AND EXISTS (SELECT 1 FROM invoice_lines WHERE invoice_id = ?))",
        invoice_id,
        store_id,
        invoice_id
    );
    out.extend(issue_statements(store_id, invoice_id, &issuable, now));
    out
}

/// Statements for a prepaid order in the batch that pays it: its invoice, issued, and the
/// Stripe payment (the ledger's capture `ledger_payment_id`) recorded as the invoice's
/// billing payment and allocated to it in full. Nothing when `guard` does not hold.
pub(crate) fn prepaid_statements(
    store_id: &str,
    order_id: &str,
    invoice_id: &str,
    ledger_payment_id: &str,
    allocation_id: &str,
    guard: &Stmt,
    now: i64,
) -> Vec<Stmt> {
    let mut out = invoice_statements(store_id, order_id, invoice_id, STRIPE_AUTHOR, guard, now);
    let payment_id = format!("b{ledger_payment_id}");
    out.push(
        stmt!(
            "INSERT INTO billing_payments (id, store_id, company_id, customer_id, method, amount, currency, reference, received_at, \
               ledger_payment_id, created_by, created_at) \
             SELECT ?, i.store_id, i.company_id, i.customer_id, 'stripe', p.amount, i.currency, p.stripe_id, ?, p.id, ?, ? \
             FROM payments p JOIN invoices i ON i.id = ? WHERE p.id = ? AND p.kind = 'capture' AND i.status = 'issued'",
            &payment_id,
            now,
            STRIPE_AUTHOR,
            now,
            invoice_id,
            ledger_payment_id
        )
        .or_nothing(),
    );
    out.extend(super::payments::allocate_what_fits(
        allocation_id,
        store_id,
        &payment_id,
        invoice_id,
        STRIPE_AUTHOR,
        now,
    ));
    out
}
