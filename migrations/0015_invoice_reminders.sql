-- Lading schema, part 15: reminders of overdue invoices. Notifications belong to an order
-- or (now) to an invoice; the daily job queues each overdue invoice's reminder once, to its
-- billing contact.

-- Rebuilt to take the invoice and the new kind (nothing references it).
CREATE TABLE notifications_rebuilt (
    id                   TEXT PRIMARY KEY,  -- ntf_<order or invoice id>_<kind>: deterministic
    store_id             TEXT NOT NULL,
    order_id             TEXT REFERENCES orders(id),
    invoice_id           TEXT REFERENCES invoices(id),
    kind                 TEXT NOT NULL CHECK (kind IN ('order_confirmation', 'files_ready', 'shipped', 'refund_issued', 'checkout_link', 'invoice_overdue')),
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
INSERT INTO notifications_rebuilt (id, store_id, order_id, kind, recipient, status, attempts, lease_until, provider_message_id, error, created_at, sent_at)
    SELECT id, store_id, order_id, kind, recipient, status, attempts, lease_until, provider_message_id, error, created_at, sent_at FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_rebuilt RENAME TO notifications;
CREATE INDEX notifications_open ON notifications(status) WHERE status IN ('pending', 'sending');

-- The daily job reads only the open invoices past due, across stores.
CREATE INDEX invoices_overdue ON invoices(due_at) WHERE status IN ('issued', 'partially_paid');
