-- Lading schema, part 2: orders and their item snapshots, the payment/refund ledger, every
-- inbound provider event, the transactional outbox and the domain-event timeline.
-- The UNIQUE constraints are what make payments exactly-once: a checkout session
-- or payment intent belongs to one order, a Stripe object is captured or refunded once, an
-- inbound event is recorded once per provider, an outbox message exists once per cause.

CREATE TABLE orders (
    id                          TEXT PRIMARY KEY,
    store_id                    TEXT NOT NULL REFERENCES stores(id),
    order_number                TEXT NOT NULL UNIQUE,
    customer_id                 TEXT REFERENCES customers(id),
    email                       TEXT,
    cart_id                     TEXT REFERENCES carts(id),
    status                      TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'processing', 'partially_shipped',
                                    'shipped', 'delivered', 'cancelled', 'cancel_requested')),
    financial_status            TEXT NOT NULL DEFAULT 'unpaid'
                                    CHECK (financial_status IN ('unpaid', 'paid', 'partially_refunded', 'refunded')),
    currency                    TEXT NOT NULL,
    subtotal_amount             INTEGER NOT NULL CHECK (subtotal_amount >= 0),
    discount_amount             INTEGER NOT NULL DEFAULT 0 CHECK (discount_amount >= 0),
    shipping_amount             INTEGER NOT NULL DEFAULT 0 CHECK (shipping_amount >= 0),
    tax_amount                  INTEGER NOT NULL DEFAULT 0 CHECK (tax_amount >= 0),
    total_amount                INTEGER NOT NULL CHECK (total_amount >= 0),
    tax_collected               INTEGER NOT NULL DEFAULT 0 CHECK (tax_collected IN (0, 1)),
    stripe_checkout_session_id  TEXT UNIQUE,
    stripe_payment_intent_id    TEXT UNIQUE,
    stripe_customer_id          TEXT,
    promo_code                  TEXT,
    shipping_address            TEXT,             -- JSON snapshot taken from Stripe
    review_reason               TEXT,             -- set when Stripe's amounts disagree with ours
    cancel_reason               TEXT,
    metadata                    TEXT NOT NULL DEFAULT '{}',
    paid_at                     INTEGER,
    cancelled_at                INTEGER,
    created_at                  INTEGER NOT NULL,
    updated_at                  INTEGER NOT NULL
);
CREATE INDEX orders_customer ON orders(store_id, customer_id, id);
CREATE INDEX orders_store_created ON orders(store_id, created_at);
CREATE INDEX orders_store_email ON orders(store_id, email);
-- The unpaid-order sweep: WHERE status = 'pending' AND created_at < ?.
CREATE INDEX orders_status_created ON orders(status, created_at);

-- Immutable snapshots: what was bought, at what price, and where the price came from.
CREATE TABLE order_items (
    id                    TEXT PRIMARY KEY,
    order_id              TEXT NOT NULL REFERENCES orders(id),
    variant_id            TEXT NOT NULL REFERENCES variants(id),
    product_id            TEXT NOT NULL REFERENCES products(id),
    title                 TEXT NOT NULL,
    variant_title         TEXT NOT NULL,
    sku                   TEXT NOT NULL,
    kind                  TEXT NOT NULL CHECK (kind IN ('physical', 'digital')),
    options               TEXT NOT NULL DEFAULT '{}',
    unit_price            INTEGER NOT NULL CHECK (unit_price >= 0),
    quantity              INTEGER NOT NULL CHECK (quantity > 0),
    currency              TEXT NOT NULL,
    price_source          TEXT NOT NULL DEFAULT 'pricebook_global'
                              CHECK (price_source IN ('pricebook_global', 'pricebook_regional', 'price_agreement', 'bespoke')),
    price_source_ids      TEXT NOT NULL DEFAULT '{}',
    fulfillment_provider  TEXT,
    digital_asset_key     TEXT,
    created_at            INTEGER NOT NULL
);
CREATE INDEX order_items_order ON order_items(order_id);

-- The ledger: every capture and every refund. Refundable = captures - refunds, derived.
-- Ids are deterministic (`pay_<payment_intent>`, `ref_<our refund id>`), so a repeated
-- write is a no-op, and a Stripe object is recorded once per kind.
CREATE TABLE payments (
    id               TEXT PRIMARY KEY,
    store_id         TEXT NOT NULL REFERENCES stores(id),
    order_id         TEXT NOT NULL REFERENCES orders(id),
    kind             TEXT NOT NULL CHECK (kind IN ('capture', 'refund')),
    amount           INTEGER NOT NULL CHECK (amount > 0),
    currency         TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'canceled')),
    stripe_id        TEXT,
    reason           TEXT,
    idempotency_key  TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (kind, stripe_id)
);
CREATE INDEX payments_order ON payments(order_id, kind);

-- Every webhook or polled status, from every provider, recorded once.
CREATE TABLE inbound_events (
    id            TEXT PRIMARY KEY,
    provider      TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    type          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    payload_hash  TEXT NOT NULL,
    received_at   INTEGER NOT NULL,
    processed_at  INTEGER,
    error         TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (provider, event_id)
);
CREATE INDEX inbound_events_unprocessed ON inbound_events(processed_at, received_at);

-- Transactional outbox: written in the same batch as the change that needs it; sent to the
-- queue after the batch commits; the scheduler re-sends rows left unsent.
CREATE TABLE outbox (
    id          TEXT PRIMARY KEY,            -- deterministic, e.g. fulfil:<order_id>
    store_id    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    sent_at     INTEGER,
    attempts    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_unsent ON outbox(sent_at, created_at);

-- The timeline shown to operators, written with the change it describes.
CREATE TABLE domain_events (
    id              TEXT PRIMARY KEY,
    store_id        TEXT NOT NULL,
    aggregate_type  TEXT NOT NULL,
    aggregate_id    TEXT NOT NULL,
    type            TEXT NOT NULL,
    payload         TEXT NOT NULL DEFAULT '{}',
    created_at      INTEGER NOT NULL
);
CREATE INDEX domain_events_aggregate ON domain_events(aggregate_type, aggregate_id, created_at);
