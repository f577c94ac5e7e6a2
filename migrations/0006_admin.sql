-- Lading schema, part 6: running the store. Operator notes on orders, the audit log of
-- every admin change, promo codes mirrored to Stripe, notification emails (one per order
-- and kind), and the indexes behind the admin's order search and filters.

CREATE TABLE order_notes (
    id          TEXT PRIMARY KEY,
    store_id    TEXT NOT NULL REFERENCES stores(id),
    order_id    TEXT NOT NULL REFERENCES orders(id),
    author      TEXT NOT NULL,              -- the admin key's label (and id)
    body        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX order_notes_order ON order_notes(order_id, created_at);

-- One row per admin change that succeeded: who, what, on which object, with which request.
CREATE TABLE audit_log (
    id           TEXT PRIMARY KEY,
    store_id     TEXT NOT NULL,
    actor        TEXT NOT NULL,             -- admin key id, or 'bootstrap'
    actor_role   TEXT NOT NULL,
    action       TEXT NOT NULL,             -- e.g. order.refund, promo_code.create
    target_type  TEXT,
    target_id    TEXT,
    detail       TEXT NOT NULL DEFAULT '{}',
    request_id   TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX audit_log_store ON audit_log(store_id, created_at);
CREATE INDEX audit_log_target ON audit_log(target_type, target_id, created_at);

CREATE TABLE promo_codes (
    id                        TEXT PRIMARY KEY,
    store_id                  TEXT NOT NULL REFERENCES stores(id),
    code                      TEXT NOT NULL,
    description               TEXT,
    discount_type             TEXT NOT NULL CHECK (discount_type IN ('percentage', 'fixed_amount')),
    discount_value            INTEGER NOT NULL CHECK (discount_value > 0),
    currency                  TEXT,
    max_redemptions           INTEGER CHECK (max_redemptions IS NULL OR max_redemptions > 0),
    expires_at                INTEGER,
    active                    INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    stripe_coupon_id          TEXT,
    stripe_promotion_code_id  TEXT UNIQUE,
    created_by                TEXT,
    created_at                INTEGER NOT NULL,
    updated_at                INTEGER NOT NULL,
    deleted_at                INTEGER,
    CHECK (discount_type <> 'percentage' OR discount_value <= 100),
    CHECK (discount_type <> 'fixed_amount' OR currency IS NOT NULL)
);
-- A code is unique in its store while it is not deleted (a deleted code keeps its history).
CREATE UNIQUE INDEX promo_codes_store_code ON promo_codes(store_id, code) WHERE deleted_at IS NULL;
CREATE INDEX promo_codes_store ON promo_codes(store_id, created_at);

-- Notification emails: at most one per (order, kind), whatever repeats upstream.
CREATE TABLE notifications (
    id                   TEXT PRIMARY KEY,  -- ntf_<order id>_<kind>: deterministic
    store_id             TEXT NOT NULL,
    order_id             TEXT NOT NULL REFERENCES orders(id),
    kind                 TEXT NOT NULL CHECK (kind IN ('order_confirmation', 'files_ready', 'shipped', 'refund_issued')),
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

-- Admin order list: newest first within a store, optionally by status, financial status,
-- promo code; keyset on (created_at, id).
DROP INDEX orders_store_created;
CREATE INDEX orders_store_created ON orders(store_id, created_at, id);
CREATE INDEX orders_store_status ON orders(store_id, status, created_at, id);
CREATE INDEX orders_store_financial ON orders(store_id, financial_status, created_at, id);
CREATE INDEX orders_store_promo ON orders(store_id, promo_code);
-- Orders an operator must look at (Stripe's amounts disagreed, or money for a cancelled order).
CREATE INDEX orders_store_review ON orders(store_id, created_at, id) WHERE review_reason IS NOT NULL;
-- Fulfillment dashboard and the provider filter, per store.
CREATE INDEX fulfillment_orders_store ON fulfillment_orders(store_id, provider, status, order_id);
-- Admin user list: per store, by lifetime value or recency.
CREATE INDEX customers_store ON customers(store_id, created_at, id);
CREATE INDEX customers_store_email ON customers(store_id, email);
CREATE INDEX payments_store_refunds ON payments(store_id, kind, status);
CREATE INDEX order_item_files_order ON order_item_files(order_id);
