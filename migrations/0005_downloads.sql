-- Lading schema, part 5: digital delivery. One download per digital order item (the R2 key
-- of its file), and the links handed out for it: random tokens kept only as SHA-256.

CREATE TABLE downloads (
    id             TEXT PRIMARY KEY,           -- dl_<order item id>
    store_id       TEXT NOT NULL,
    order_id       TEXT NOT NULL REFERENCES orders(id),
    order_item_id  TEXT NOT NULL UNIQUE REFERENCES order_items(id),
    r2_key         TEXT NOT NULL,
    filename       TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'ready', 'failed')),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX downloads_order ON downloads(order_id);

CREATE TABLE download_tokens (
    token_hash     TEXT PRIMARY KEY,           -- SHA-256 of the token; the token is never stored
    download_id    TEXT NOT NULL REFERENCES downloads(id),
    order_id       TEXT NOT NULL,
    expires_at     INTEGER NOT NULL,
    revoked_at     INTEGER,
    downloaded_at  INTEGER,
    created_at     INTEGER NOT NULL
);
-- The rate limit: links issued for an order in the last hour.
CREATE INDEX download_tokens_order ON download_tokens(order_id, created_at);

-- Files a customer rendered for an item of their paid order, kept under the
-- order's key: orders/<order_number>/<item_id>/<file>.
CREATE TABLE order_item_files (
    id             TEXT PRIMARY KEY,
    store_id       TEXT NOT NULL,
    order_id       TEXT NOT NULL REFERENCES orders(id),
    order_item_id  TEXT NOT NULL REFERENCES order_items(id),
    r2_key         TEXT NOT NULL UNIQUE,
    content_type   TEXT NOT NULL,
    size           INTEGER NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX order_item_files_item ON order_item_files(order_item_id);

-- Art uploaded by operators, from which products are made.
CREATE TABLE art_assets (
    id            TEXT PRIMARY KEY,
    store_id      TEXT NOT NULL REFERENCES stores(id),
    r2_key        TEXT NOT NULL UNIQUE,
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
);
