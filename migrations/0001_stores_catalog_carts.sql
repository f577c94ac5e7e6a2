-- Lading schema, part 1: tenants, credentials, catalog, carts, idempotency.
-- Timestamps are integer milliseconds since the Unix epoch; money is integer minor units;
-- ids are TEXT (prefix + ULID). Applied by wrangler to D1 and by the core's tests to SQLite.

CREATE TABLE stores (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    order_prefix  TEXT NOT NULL,
    currency      TEXT NOT NULL,
    -- JSON: shipping rates, URLs, cancellation window, identity provider.
    settings      TEXT NOT NULL DEFAULT '{}',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- Storefront keys are public by design (they sit in frontend code); they only select a store.
CREATE TABLE publishable_keys (
    key         TEXT PRIMARY KEY,
    store_id    TEXT NOT NULL REFERENCES stores(id),
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX publishable_keys_store ON publishable_keys(store_id);

-- Admin keys are secrets: only their SHA-256 is kept.
CREATE TABLE admin_keys (
    id            TEXT PRIMARY KEY,
    store_id      TEXT NOT NULL REFERENCES stores(id),
    key_hash      TEXT NOT NULL UNIQUE,
    key_prefix    TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('support', 'admin', 'superadmin')),
    label         TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER
);
CREATE INDEX admin_keys_store ON admin_keys(store_id, id);

-- Customers are keyed by the identity provider's subject.
CREATE TABLE customers (
    id              TEXT PRIMARY KEY,
    store_id        TEXT NOT NULL REFERENCES stores(id),
    subject         TEXT NOT NULL,
    email           TEXT,
    blocked         INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1)),
    blocked_reason  TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (store_id, subject)
);

CREATE TABLE products (
    id           TEXT PRIMARY KEY,
    store_id     TEXT NOT NULL REFERENCES stores(id),
    slug         TEXT NOT NULL,
    title        TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL CHECK (status IN ('draft', 'active', 'archived')),
    images       TEXT NOT NULL DEFAULT '[]',
    metadata     TEXT NOT NULL DEFAULT '{}',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (store_id, slug)
);
-- Keyset pagination of the storefront catalog: WHERE store_id=? AND status='active' AND id>?.
CREATE INDEX products_store_status_id ON products(store_id, status, id);
CREATE INDEX products_store_id ON products(store_id, id);

CREATE TABLE variants (
    id                         TEXT PRIMARY KEY,
    store_id                   TEXT NOT NULL REFERENCES stores(id),
    product_id                 TEXT NOT NULL REFERENCES products(id),
    sku                        TEXT NOT NULL,
    title                      TEXT NOT NULL,
    kind                       TEXT NOT NULL CHECK (kind IN ('physical', 'digital')),
    price_amount               INTEGER NOT NULL CHECK (price_amount >= 0),
    currency                   TEXT NOT NULL,
    digital_asset_key          TEXT,
    fulfillment_provider       TEXT,
    estimated_production_days  INTEGER CHECK (estimated_production_days >= 0),
    status                     TEXT NOT NULL CHECK (status IN ('active', 'archived')),
    position                   INTEGER NOT NULL DEFAULT 0,
    created_at                 INTEGER NOT NULL,
    updated_at                 INTEGER NOT NULL,
    UNIQUE (store_id, sku),
    CHECK (kind = 'physical' OR digital_asset_key IS NOT NULL)
);
CREATE INDEX variants_product ON variants(product_id, position, id);

-- One row per variant x provider: several providers can make the same variant.
CREATE TABLE provider_mappings (
    variant_id           TEXT NOT NULL REFERENCES variants(id),
    provider             TEXT NOT NULL,
    store_id             TEXT NOT NULL REFERENCES stores(id),
    external_variant_id  TEXT NOT NULL,
    cost_amount          INTEGER CHECK (cost_amount >= 0),
    cost_currency        TEXT,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    PRIMARY KEY (variant_id, provider)
);

CREATE TABLE carts (
    id                TEXT PRIMARY KEY,
    store_id          TEXT NOT NULL REFERENCES stores(id),
    customer_id       TEXT REFERENCES customers(id),
    -- Guest carts: SHA-256 of the cart token; the token itself is never stored.
    token_hash        TEXT UNIQUE,
    status            TEXT NOT NULL CHECK (status IN ('active', 'checked_out', 'abandoned', 'merged')),
    currency          TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    last_activity_at  INTEGER NOT NULL,
    CHECK (customer_id IS NOT NULL OR token_hash IS NOT NULL)
);
-- A customer has at most one active cart per store.
CREATE UNIQUE INDEX carts_active_customer ON carts(store_id, customer_id)
    WHERE status = 'active' AND customer_id IS NOT NULL;
-- The abandonment sweep: WHERE status='active' AND last_activity_at < ?.
CREATE INDEX carts_status_activity ON carts(status, last_activity_at);

CREATE TABLE cart_items (
    id           TEXT PRIMARY KEY,
    cart_id      TEXT NOT NULL REFERENCES carts(id),
    variant_id   TEXT NOT NULL REFERENCES variants(id),
    options      TEXT NOT NULL DEFAULT '{}',
    quantity     INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 99),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    -- Same variant with the same (canonical) options is one line.
    UNIQUE (cart_id, variant_id, options)
);

-- Idempotency-Key on storefront and admin POSTs: the first response is kept and replayed.
-- Neither the client's key nor the response is stored in plain text (lading_core::idempotency).
CREATE TABLE idempotency_keys (
    store_id         TEXT NOT NULL,
    scope            TEXT NOT NULL,
    key              TEXT NOT NULL,   -- SHA-256 of the client's key
    request_hash     TEXT NOT NULL,
    response_status  INTEGER,
    response_body    TEXT,            -- hex, encrypted with a key derived from the client's key
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (store_id, scope, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);
