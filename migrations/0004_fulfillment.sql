-- Lading schema, part 4: fulfillment. One fulfillment order per (order, provider), its
-- lines, the parcels that come back (shipments and their lines), design placements that
-- become print files, and the outbox's retry schedule.

CREATE TABLE fulfillment_orders (
    id              TEXT PRIMARY KEY,             -- fo_<order id>_<provider>: deterministic
    store_id        TEXT NOT NULL REFERENCES stores(id),
    order_id        TEXT NOT NULL REFERENCES orders(id),
    provider        TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'submitting', 'submitted', 'in_production', 'partially_shipped',
                            'shipped', 'delivered', 'failed', 'on_hold', 'cancel_requested', 'cancelled', 'cancel_rejected')),
    external_id     TEXT,                         -- the provider's order id
    cost_estimated  INTEGER,
    cost_actual     INTEGER,
    currency        TEXT NOT NULL,
    error           TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    -- A claim: `submitting` until this time; a claim past it is recovered.
    lease_until     INTEGER,
    -- Set once a submission was attempted: a recovered claim looks the order up first.
    submit_started  INTEGER NOT NULL DEFAULT 0 CHECK (submit_started IN (0, 1)),
    submitted_at    INTEGER,
    last_polled_at  INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (order_id, provider)
);
-- Dashboards, stuck-work recovery and Gooten polling: by status and provider.
CREATE INDEX fulfillment_orders_status ON fulfillment_orders(status, provider, updated_at);
CREATE INDEX fulfillment_orders_external ON fulfillment_orders(provider, external_id);
CREATE INDEX fulfillment_orders_order ON fulfillment_orders(order_id);

CREATE TABLE fulfillment_order_lines (
    id                    TEXT PRIMARY KEY,       -- fol_<order item id>
    fulfillment_order_id  TEXT NOT NULL REFERENCES fulfillment_orders(id),
    order_item_id         TEXT NOT NULL REFERENCES order_items(id),
    external_variant_id   TEXT,                   -- from the provider mapping
    quantity              INTEGER NOT NULL CHECK (quantity > 0),
    remaining_quantity    INTEGER NOT NULL CHECK (remaining_quantity >= 0),
    provider_line_id      TEXT,
    UNIQUE (fulfillment_order_id, order_item_id)
);

CREATE TABLE shipments (
    id                    TEXT PRIMARY KEY,       -- shp_<fulfillment order>_<provider's shipment id>
    store_id              TEXT NOT NULL,
    fulfillment_order_id  TEXT NOT NULL REFERENCES fulfillment_orders(id),
    external_id           TEXT NOT NULL,
    carrier               TEXT,
    service               TEXT,
    tracking_number       TEXT,
    tracking_url          TEXT,
    status                TEXT NOT NULL CHECK (status IN ('draft', 'ready', 'in_transit', 'delivered', 'cancelled')),
    shipped_at            INTEGER,
    delivered_at          INTEGER,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    UNIQUE (fulfillment_order_id, external_id)
);

CREATE TABLE shipment_lines (
    shipment_id                TEXT NOT NULL REFERENCES shipments(id),
    fulfillment_order_line_id  TEXT NOT NULL REFERENCES fulfillment_order_lines(id),
    quantity                   INTEGER NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (shipment_id, fulfillment_order_line_id)
);

-- Where a design goes on a variant; its image is the print file sent to the provider.
CREATE TABLE design_placements (
    id          TEXT PRIMARY KEY,
    variant_id  TEXT NOT NULL REFERENCES variants(id),
    area        TEXT NOT NULL,                    -- front, back, default…
    image_url   TEXT NOT NULL,
    x           REAL NOT NULL DEFAULT 0,
    y           REAL NOT NULL DEFAULT 0,
    scale       REAL NOT NULL DEFAULT 1,
    rotation    REAL NOT NULL DEFAULT 0,
    print_area  TEXT,
    created_at  INTEGER NOT NULL,
    UNIQUE (variant_id, area)
);

-- The dispatcher claims an outbox row until this time, sends it, then sets sent_at; the
-- scheduler re-sends rows whose claim ran out unsent.
ALTER TABLE outbox ADD COLUMN next_attempt_at INTEGER;
DROP INDEX outbox_unsent;
CREATE INDEX outbox_unsent ON outbox(sent_at, next_attempt_at);
