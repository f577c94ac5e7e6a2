-- Lading schema, part 12: a company's orders. An operator drafts an order for a company
-- (lines, quantities, bespoke prices; editable and deletable) and sends it to checkout: the
-- draft becomes a pending order with the same id, its items priced in strict mode, in the
-- guarded batch that also keeps the billing contact's spending limit. Orders gain their
-- company, billing contact and address, and when they were placed; notifications gain the
-- checkout link sent to the billing contact.
--
-- (Drafts have tables of their own: `orders.status` has a CHECK constraint that SQLite
-- cannot change without rebuilding the table, and D1 cannot rebuild a table that others
-- reference while its foreign keys are enforced.)

ALTER TABLE orders ADD COLUMN company_id TEXT REFERENCES companies(id);
ALTER TABLE orders ADD COLUMN billing_contact_id TEXT REFERENCES contacts(id);
ALTER TABLE orders ADD COLUMN billing_address_id TEXT REFERENCES addresses(id);
-- When a company's order left draft (what a spending limit's period counts).
ALTER TABLE orders ADD COLUMN placed_at INTEGER;
CREATE INDEX orders_company ON orders(company_id, created_at, id) WHERE company_id IS NOT NULL;
CREATE INDEX orders_billing_contact ON orders(billing_contact_id, placed_at) WHERE billing_contact_id IS NOT NULL;

CREATE TABLE draft_orders (
    id                  TEXT PRIMARY KEY,          -- the order's id once sent
    store_id            TEXT NOT NULL REFERENCES stores(id),
    company_id          TEXT NOT NULL REFERENCES companies(id),
    billing_contact_id  TEXT NOT NULL REFERENCES contacts(id),
    billing_address_id  TEXT NOT NULL REFERENCES addresses(id),
    currency            TEXT NOT NULL,             -- the company's
    notes               TEXT,
    created_by          TEXT NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX draft_orders_store ON draft_orders(store_id, created_at, id);
CREATE INDEX draft_orders_company ON draft_orders(company_id, created_at);

CREATE TABLE draft_order_lines (
    id                   TEXT PRIMARY KEY,         -- the order item's id once sent
    draft_id             TEXT NOT NULL REFERENCES draft_orders(id) ON DELETE CASCADE,
    variant_id           TEXT NOT NULL REFERENCES variants(id),
    quantity             INTEGER NOT NULL CHECK (quantity > 0),
    -- An operator's price for this line (admin role), and why.
    bespoke_unit_amount  INTEGER CHECK (bespoke_unit_amount IS NULL OR bespoke_unit_amount >= 0),
    bespoke_note         TEXT,
    position             INTEGER NOT NULL,
    CHECK ((bespoke_unit_amount IS NULL) = (bespoke_note IS NULL))
);
CREATE INDEX draft_order_lines_draft ON draft_order_lines(draft_id, position);

-- A child of `orders`, rebuilt to take the new kind (nothing references it).
CREATE TABLE notifications_rebuilt (
    id                   TEXT PRIMARY KEY,  -- ntf_<order id>_<kind>: deterministic
    store_id             TEXT NOT NULL,
    order_id             TEXT NOT NULL REFERENCES orders(id),
    kind                 TEXT NOT NULL CHECK (kind IN ('order_confirmation', 'files_ready', 'shipped', 'refund_issued', 'checkout_link')),
    recipient            TEXT,
    status               TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
    attempts             INTEGER NOT NULL DEFAULT 0,
    lease_until          INTEGER,
    provider_message_id  TEXT,
    error                TEXT,
    created_at           INTEGER NOT NULL,
    sent_at              INTEGER,
    UNIQUE (order_id, kind)
);
INSERT INTO notifications_rebuilt SELECT * FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_rebuilt RENAME TO notifications;
CREATE INDEX notifications_open ON notifications(status) WHERE status IN ('pending', 'sending');
