-- Lading schema, part 13: invoices (seed 001 §2.3). An invoice is drafted (for a company's
-- order, or by hand), then issued: issuing takes the next number of the store's sequence in
-- the batch that moves it out of draft, so numbers are gapless and never shared. Numbers
-- never change; only drafts are deleted; voiding keeps the number.

-- One counter per store: `next_number` is the number the next issue takes.
CREATE TABLE invoice_sequences (
    store_id     TEXT PRIMARY KEY REFERENCES stores(id),
    prefix       TEXT NOT NULL DEFAULT 'INV-',
    next_number  INTEGER NOT NULL DEFAULT 1 CHECK (next_number >= 1)
);

CREATE TABLE invoices (
    id                  TEXT PRIMARY KEY,
    store_id            TEXT NOT NULL REFERENCES stores(id),
    company_id          TEXT REFERENCES companies(id),
    customer_id         TEXT REFERENCES customers(id),
    order_id            TEXT REFERENCES orders(id),
    -- Set when issued: the sequence's number and its text (`INV-000123`).
    sequence_number     INTEGER,
    number              TEXT,
    status              TEXT NOT NULL DEFAULT 'draft'
                            CHECK (status IN ('draft', 'issued', 'partially_paid', 'paid', 'void')),
    currency            TEXT NOT NULL,
    subtotal_amount     INTEGER NOT NULL DEFAULT 0,
    tax_amount          INTEGER NOT NULL DEFAULT 0,
    total_amount        INTEGER NOT NULL DEFAULT 0,
    billing_contact_id  TEXT REFERENCES contacts(id),
    billing_address_id  TEXT REFERENCES addresses(id),
    -- The company's terms when the invoice was drafted (the due date follows them on issue).
    payment_terms       TEXT NOT NULL DEFAULT 'prepaid',
    notes               TEXT,
    issued_at           INTEGER,
    due_at              INTEGER,
    void_reason         TEXT,
    voided_at           INTEGER,
    created_by          TEXT NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    -- Whatever is out of draft has its number (and a void one its reason).
    CHECK (status = 'draft' OR number IS NOT NULL),
    CHECK ((number IS NULL) = (sequence_number IS NULL)),
    CHECK (status <> 'void' OR void_reason IS NOT NULL),
    CHECK (company_id IS NOT NULL OR customer_id IS NOT NULL)
);
CREATE UNIQUE INDEX invoices_number ON invoices(store_id, number) WHERE number IS NOT NULL;
CREATE INDEX invoices_store ON invoices(store_id, created_at, id);
CREATE INDEX invoices_company ON invoices(company_id, created_at, id) WHERE company_id IS NOT NULL;
CREATE INDEX invoices_open ON invoices(store_id, status, due_at) WHERE status IN ('issued', 'partially_paid');
-- One invoice per order (a credit note is an invoice of its own, with no order).
CREATE UNIQUE INDEX invoices_order ON invoices(order_id) WHERE order_id IS NOT NULL;

CREATE TABLE invoice_lines (
    id             TEXT PRIMARY KEY,
    invoice_id     TEXT NOT NULL REFERENCES invoices(id) ON DELETE CASCADE,
    -- `item` mirrors an order item's snapshot; an operator adds the others while draft.
    kind           TEXT NOT NULL CHECK (kind IN ('item', 'shipping', 'adjustment', 'discount')),
    order_item_id  TEXT REFERENCES order_items(id),
    description    TEXT NOT NULL,
    quantity       INTEGER NOT NULL DEFAULT 1 CHECK (quantity > 0),
    unit_amount    INTEGER NOT NULL,
    amount         INTEGER NOT NULL,   -- quantity × unit_amount (negative for a discount)
    position       INTEGER NOT NULL,
    CHECK (amount = quantity * unit_amount),
    CHECK (kind <> 'discount' OR amount <= 0)
);
CREATE INDEX invoice_lines_invoice ON invoice_lines(invoice_id, position);

CREATE TRIGGER invoices_number_is_kept BEFORE UPDATE OF number, sequence_number ON invoices
WHEN OLD.number IS NOT NULL AND (NEW.number IS NOT OLD.number OR NEW.sequence_number IS NOT OLD.sequence_number)
BEGIN
    SELECT RAISE(ABORT, 'invoice numbers never change');
END;

CREATE TRIGGER invoices_only_drafts_deleted BEFORE DELETE ON invoices
WHEN OLD.status <> 'draft'
BEGIN
    SELECT RAISE(ABORT, 'only draft invoices are deleted');
END;

-- An issued invoice's lines are what was issued.
CREATE TRIGGER invoice_lines_of_drafts_insert BEFORE INSERT ON invoice_lines
WHEN (SELECT status FROM invoices WHERE id = NEW.invoice_id) <> 'draft'
BEGIN
    SELECT RAISE(ABORT, 'an issued invoice''s lines never change');
END;

CREATE TRIGGER invoice_lines_of_drafts_delete BEFORE DELETE ON invoice_lines
WHEN (SELECT status FROM invoices WHERE id = OLD.invoice_id) <> 'draft'
BEGIN
    SELECT RAISE(ABORT, 'an issued invoice''s lines never change');
END;

CREATE TRIGGER invoices_status_transitions BEFORE UPDATE OF status ON invoices
WHEN NEW.status IS NOT OLD.status AND (OLD.status || '>' || NEW.status) NOT IN ('draft>issued', 'issued>partially_paid', 'issued>paid', 'issued>void', 'partially_paid>paid', 'partially_paid>issued', 'paid>partially_paid', 'paid>issued')
BEGIN
    SELECT RAISE(ABORT, 'state transition refused: invoices.status');
END;
