-- Lading schema, part 18: parcels built by operators and followed by couriers. A
-- fulfillment order run in house (warehouse, manual) is shipped in parcels an operator
-- builds: each takes quantities of the order's lines (never more than is left), goes to
-- an address from the company's book or typed in, and is handed to a courier whose
-- events (signed webhooks, or the scheduler's polls) move it forward only.

-- The couriers a store ships with. Tracking pages are `tracking_url_template` with
-- `{number}` replaced; `tracking_adapter` says how its events arrive (`webhook`: the
-- courier's adapter posts them; `poll`: the scheduler asks its tracking API; `none`:
-- operators move the parcel by hand).
CREATE TABLE couriers (
    store_id               TEXT NOT NULL REFERENCES stores(id),
    code                   TEXT NOT NULL CHECK (length(code) BETWEEN 2 AND 30 AND code NOT GLOB '*[^a-z0-9_]*'),
    name                   TEXT NOT NULL,
    tracking_url_template  TEXT NOT NULL CHECK (instr(tracking_url_template, '{number}') > 0),
    tracking_adapter       TEXT NOT NULL CHECK (tracking_adapter IN ('webhook', 'poll', 'none')),
    active                 INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL,
    PRIMARY KEY (store_id, code)
);

-- Every existing store starts with the four couriers (new stores get them when created).
INSERT INTO couriers (store_id, code, name, tracking_url_template, tracking_adapter, created_at, updated_at)
SELECT s.id, c.code, c.name, c.template, c.adapter, s.created_at, s.created_at
FROM stores s, (
    SELECT 'usps' AS code, 'USPS' AS name, 'https://tools.usps.com/go/TrackConfirmAction?tLabels={number}' AS template, 'webhook' AS adapter
    UNION ALL SELECT 'dhl', 'DHL', 'https://www.dhl.com/en/express/tracking.html?AWB={number}', 'webhook'
    UNION ALL SELECT 'chitchats', 'Chit Chats', 'https://chitchats.com/tracking/{number}', 'poll'
    UNION ALL SELECT 'canada_post', 'Canada Post', 'https://www.canadapost-postescanada.ca/track-reperage/en#/details/{number}', 'webhook'
) c;

-- A parcel built by an operator: who built it (providers' parcels have none), its courier,
-- where it goes (the book's address it came from, and a snapshot that stays as it was),
-- and what the courier last said (`tracking_status`: in_transit, out_for_delivery,
-- delivered, exception) with the time of the furthest event.
ALTER TABLE shipments ADD COLUMN built_by TEXT;
ALTER TABLE shipments ADD COLUMN courier TEXT;
ALTER TABLE shipments ADD COLUMN address_id TEXT REFERENCES addresses(id);
ALTER TABLE shipments ADD COLUMN destination TEXT;
ALTER TABLE shipments ADD COLUMN tracking_status TEXT;
ALTER TABLE shipments ADD COLUMN tracking_event_at INTEGER;
ALTER TABLE shipments ADD COLUMN tracking_location TEXT;
ALTER TABLE shipments ADD COLUMN last_polled_at INTEGER;
ALTER TABLE shipments ADD COLUMN ready_at INTEGER;
ALTER TABLE shipments ADD COLUMN cancelled_at INTEGER;

-- A courier event names a tracking number: find its parcels. One number is one parcel
-- per courier in a store.
CREATE UNIQUE INDEX shipments_tracking ON shipments(courier, tracking_number, store_id)
    WHERE courier IS NOT NULL AND tracking_number IS NOT NULL;
-- The scheduler's polls: parcels on the road by courier.
CREATE INDEX shipments_in_flight ON shipments(status, courier, last_polled_at);
CREATE INDEX shipments_fulfillment_order ON shipments(fulfillment_order_id, created_at);
