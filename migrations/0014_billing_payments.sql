-- Lading schema, part 14: money received for invoices. A payment (a bank transfer or
-- cheque an admin enters, or a Stripe payment) is allocated to invoices: one payment may be
-- split over several invoices and an invoice paid by several payments. Allocations never
-- exceed what the payment still holds nor what the invoice still owes: the statements that
-- write them are guarded, and these triggers refuse anything else whatever SQL tries it.
-- What a company paid and no invoice took is its credit.

CREATE TABLE billing_payments (
    id                 TEXT PRIMARY KEY,
    store_id           TEXT NOT NULL REFERENCES stores(id),
    company_id         TEXT REFERENCES companies(id),
    customer_id        TEXT REFERENCES customers(id),
    method             TEXT NOT NULL CHECK (method IN ('stripe', 'bank_transfer', 'cheque', 'cash', 'other')),
    amount             INTEGER NOT NULL CHECK (amount > 0),
    -- What refunds took back (a Stripe payment): it covers that much less.
    refunded_amount    INTEGER NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0 AND refunded_amount <= amount),
    currency           TEXT NOT NULL,
    reference          TEXT,
    received_at        INTEGER NOT NULL,
    -- The payment ledger's row of a Stripe payment (one billing payment each).
    ledger_payment_id  TEXT UNIQUE REFERENCES payments(id),
    created_by         TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    CHECK (company_id IS NOT NULL OR customer_id IS NOT NULL),
    CHECK ((method = 'stripe') = (ledger_payment_id IS NOT NULL))
);
CREATE INDEX billing_payments_store ON billing_payments(store_id, created_at, id);
CREATE INDEX billing_payments_company ON billing_payments(company_id, created_at, id) WHERE company_id IS NOT NULL;

CREATE TABLE invoice_allocations (
    id          TEXT PRIMARY KEY,
    store_id    TEXT NOT NULL REFERENCES stores(id),
    payment_id  TEXT NOT NULL REFERENCES billing_payments(id),
    invoice_id  TEXT NOT NULL REFERENCES invoices(id),
    amount      INTEGER NOT NULL CHECK (amount > 0),
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX invoice_allocations_invoice ON invoice_allocations(invoice_id, amount);
CREATE INDEX invoice_allocations_payment ON invoice_allocations(payment_id, amount);

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

-- A refund never takes back what is allocated: allocations are undone first.
CREATE TRIGGER billing_payments_refund_within_the_unallocated BEFORE UPDATE OF refunded_amount ON billing_payments
WHEN NEW.refunded_amount > NEW.amount - (SELECT coalesce(sum(amount), 0) FROM invoice_allocations WHERE payment_id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'refund refused: undo the allocations first');
END;
