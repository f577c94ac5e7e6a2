-- Lading schema, part 3: what checkout and payments need beside part 2.

-- Customer stats. Counters, so each is changed only in the batch that pays
-- the order it counts, guarded on that order still being pending (lading_core::payments).
ALTER TABLE customers ADD COLUMN lifetime_value INTEGER NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN order_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN last_order_at INTEGER;

-- Where the shopper pays (Checkout Session URL), so a repeated checkout call answers with it.
ALTER TABLE orders ADD COLUMN checkout_url TEXT;
-- How the order is paid: 'checkout_session' or 'payment_intent'.
ALTER TABLE orders ADD COLUMN payment_flow TEXT NOT NULL DEFAULT 'checkout_session'
    CHECK (payment_flow IN ('checkout_session', 'payment_intent'));

-- A cart has at most one unpaid order: concurrent checkouts of one cart agree on it.
CREATE UNIQUE INDEX orders_cart_pending ON orders(cart_id) WHERE status = 'pending';
-- Guests' order lookup: order number + email.
CREATE INDEX orders_number_email ON orders(order_number, email);

-- Cursors of scheduled jobs (the Stripe events reconciliation remembers how far it read).
CREATE TABLE job_cursors (
    name        TEXT PRIMARY KEY,
    cursor      TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);
