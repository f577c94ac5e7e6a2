-- Lading schema, part 17: how invoices get settled. A company's order on net terms is
-- invoiced (and its invoice emailed with a pay link); a pay link opens one Stripe Checkout
-- Session at a time for what the invoice owes; the payment it takes enters the ledger as
-- the invoice's (no order of its own); a credit note reduces an issued invoice's balance.
-- Tables referenced by others are rebuilt with foreign keys checked at commit.
PRAGMA defer_foreign_keys = on;

-- The invoice's open Checkout Session (one at a time): which, where, for how much, until.
ALTER TABLE invoices ADD COLUMN checkout_session_id TEXT;
ALTER TABLE invoices ADD COLUMN checkout_url TEXT;
ALTER TABLE invoices ADD COLUMN checkout_amount INTEGER;
ALTER TABLE invoices ADD COLUMN checkout_expires_at INTEGER;
CREATE UNIQUE INDEX invoices_checkout_session ON invoices(checkout_session_id) WHERE checkout_session_id IS NOT NULL;

-- The buyer's tax id, printed on its invoices.
ALTER TABLE companies ADD COLUMN tax_id TEXT;

-- Credit notes are numbered apart (`CN-000001`), from the same row as invoices.
ALTER TABLE invoice_sequences ADD COLUMN credit_prefix TEXT NOT NULL DEFAULT 'CN-';
ALTER TABLE invoice_sequences ADD COLUMN credit_next_number INTEGER NOT NULL DEFAULT 1 CHECK (credit_next_number >= 1);

-- The payment ledger: an invoice's online payment belongs to the invoice, not to an order.
DROP INDEX payments_order;
CREATE TABLE payments_rebuilt (
    id               TEXT PRIMARY KEY,
    store_id         TEXT NOT NULL REFERENCES stores(id),
    order_id         TEXT REFERENCES orders(id),
    invoice_id       TEXT REFERENCES invoices(id),
    kind             TEXT NOT NULL CHECK (kind IN ('capture', 'refund')),
    amount           INTEGER NOT NULL CHECK (amount > 0),
    currency         TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'canceled')),
    stripe_id        TEXT,
    reason           TEXT,
    idempotency_key  TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (kind, stripe_id),
    CHECK (order_id IS NOT NULL OR invoice_id IS NOT NULL)
);
INSERT INTO payments_rebuilt (id, store_id, order_id, kind, amount, currency, status, stripe_id, reason, idempotency_key, created_at, updated_at)
    SELECT id, store_id, order_id, kind, amount, currency, status, stripe_id, reason, idempotency_key, created_at, updated_at FROM payments;
DROP TABLE payments;
ALTER TABLE payments_rebuilt RENAME TO payments;
CREATE INDEX payments_order ON payments(order_id, kind) WHERE order_id IS NOT NULL;
CREATE INDEX payments_invoice ON payments(invoice_id, kind) WHERE invoice_id IS NOT NULL;

-- Billing payments take credit notes: a number, the invoice it reduces, why, its document.
-- Its triggers (and the allocations' triggers that read it) go while it is rebuilt.
DROP TRIGGER invoice_allocations_within_the_payment;
DROP TRIGGER invoice_allocations_within_the_balance;
DROP TRIGGER billing_payments_refund_within_the_unallocated;
DROP INDEX billing_payments_store;
DROP INDEX billing_payments_company;
CREATE TABLE billing_payments_rebuilt (
    id                   TEXT PRIMARY KEY,
    store_id             TEXT NOT NULL REFERENCES stores(id),
    company_id           TEXT REFERENCES companies(id),
    customer_id          TEXT REFERENCES customers(id),
    method               TEXT NOT NULL CHECK (method IN ('stripe', 'bank_transfer', 'cheque', 'cash', 'other', 'credit_note')),
    amount               INTEGER NOT NULL CHECK (amount > 0),
    -- What refunds took back (a Stripe payment): it covers that much less.
    refunded_amount      INTEGER NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0 AND refunded_amount <= amount),
    currency             TEXT NOT NULL,
    reference            TEXT,
    received_at          INTEGER NOT NULL,
    -- The payment ledger's row of a Stripe payment (one billing payment each).
    ledger_payment_id    TEXT UNIQUE REFERENCES payments(id),
    -- A credit note's number (`CN-000001`), the invoice it reduces, why, and its PDF.
    number               TEXT,
    credited_invoice_id  TEXT REFERENCES invoices(id),
    reason               TEXT,
    document_key         TEXT,
    created_by           TEXT NOT NULL,
    created_at           INTEGER NOT NULL,
    CHECK (company_id IS NOT NULL OR customer_id IS NOT NULL),
    CHECK ((method = 'stripe') = (ledger_payment_id IS NOT NULL)),
    CHECK ((method = 'credit_note') = (number IS NOT NULL)),
    CHECK (method <> 'credit_note' OR (credited_invoice_id IS NOT NULL AND reason IS NOT NULL AND refunded_amount = 0))
);
INSERT INTO billing_payments_rebuilt (id, store_id, company_id, customer_id, method, amount, refunded_amount, currency, reference,
        received_at, ledger_payment_id, created_by, created_at)
    SELECT id, store_id, company_id, customer_id, method, amount, refunded_amount, currency, reference,
        received_at, ledger_payment_id, created_by, created_at FROM billing_payments;
DROP TABLE billing_payments;
ALTER TABLE billing_payments_rebuilt RENAME TO billing_payments;
CREATE INDEX billing_payments_store ON billing_payments(store_id, created_at, id);
CREATE INDEX billing_payments_company ON billing_payments(company_id, created_at, id) WHERE company_id IS NOT NULL;
CREATE UNIQUE INDEX billing_payments_credit_number ON billing_payments(store_id, number) WHERE number IS NOT NULL;
CREATE INDEX billing_payments_credited ON billing_payments(credited_invoice_id) WHERE credited_invoice_id IS NOT NULL;

CREATE TRIGGER invoice_allocations_within_the_payment BEFORE INSERT ON invoice_allocations
WHEN NEW.amount + (SELECT coalesce(sum(amount), 0) FROM invoice_allocations WHERE payment_id = NEW.payment_id)
     > (SELECT amount - refunded_amount FROM billing_payments WHERE id = NEW.payment_id)
BEGIN
    SELECT RAISE(ABORT, 'allocation refused: more than the payment holds');
END;

CREATE TRIGGER invoice_allocations_within_the_balance BEFORE INSERT ON invoice_allocations
WHEN NEW.amount + (SELECT coalesce(sum(amount), 0) FROM invoice_allocations WHERE invoice_id = NEW.invoice_id)
     > (SELECT total_amount FROM invoices WHERE id = NEW.invoice_id)
  OR (SELECT status FROM invoices WHERE id = NEW.invoice_id) NOT IN ('issued', 'partially_paid')
  OR (SELECT currency FROM invoices WHERE id = NEW.invoice_id) IS NOT (SELECT currency FROM billing_payments WHERE id = NEW.payment_id)
BEGIN
    SELECT RAISE(ABORT, 'allocation refused: more than the invoice owes');
END;

-- A refund never takes back what is allocated: allocations are reduced first.
CREATE TRIGGER billing_payments_refund_within_the_unallocated BEFORE UPDATE OF refunded_amount ON billing_payments
WHEN NEW.refunded_amount > NEW.amount - (SELECT coalesce(sum(amount), 0) FROM invoice_allocations WHERE payment_id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'refund refused: undo the allocations first');
END;

-- A credit note reduces its own invoice only, and for good.
CREATE TRIGGER invoice_allocations_credit_note_own_invoice BEFORE INSERT ON invoice_allocations
WHEN (SELECT credited_invoice_id FROM billing_payments WHERE id = NEW.payment_id) IS NOT NULL
 AND (SELECT credited_invoice_id FROM billing_payments WHERE id = NEW.payment_id) <> NEW.invoice_id
BEGIN
    SELECT RAISE(ABORT, 'allocation refused: a credit note reduces its own invoice');
END;

CREATE TRIGGER invoice_allocations_credit_note_kept BEFORE DELETE ON invoice_allocations
WHEN (SELECT method FROM billing_payments WHERE id = OLD.payment_id) = 'credit_note'
BEGIN
    SELECT RAISE(ABORT, 'a credit note''s allocation is kept');
END;

-- Notifications take the issued invoice's email (with its PDF and pay link).
CREATE TABLE notifications_rebuilt (
    id                   TEXT PRIMARY KEY,  -- ntf_<order or invoice id>_<kind>: deterministic
    store_id             TEXT NOT NULL,
    order_id             TEXT REFERENCES orders(id),
    invoice_id           TEXT REFERENCES invoices(id),
    kind                 TEXT NOT NULL CHECK (kind IN ('order_confirmation', 'files_ready', 'shipped', 'refund_issued', 'checkout_link', 'invoice_overdue', 'invoice_issued')),
    recipient            TEXT,
    status               TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
    attempts             INTEGER NOT NULL DEFAULT 0,
    lease_until          INTEGER,
    provider_message_id  TEXT,
    error                TEXT,
    created_at           INTEGER NOT NULL,
    sent_at              INTEGER,
    CHECK ((order_id IS NULL) <> (invoice_id IS NULL)),
    UNIQUE (order_id, kind),
    UNIQUE (invoice_id, kind)
);
INSERT INTO notifications_rebuilt SELECT id, store_id, order_id, invoice_id, kind, recipient, status, attempts, lease_until,
    provider_message_id, error, created_at, sent_at FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_rebuilt RENAME TO notifications;
CREATE INDEX notifications_open ON notifications(status) WHERE status IN ('pending', 'sending');
