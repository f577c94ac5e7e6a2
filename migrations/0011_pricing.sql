-- Lading schema, part 11: prices for companies. A price book (global, or regional for a set
-- of countries) or a company's price agreement lists entries: a variant's unit amount from
-- a minimum quantity (tiers). Every entry is mirrored to a Stripe Price (strict checkout
-- sends only synced prices). The triggers below refuse, when it is saved, any configuration
-- that would make a price ambiguous; the unique indexes refuse two tiers with one minimum.

CREATE TABLE price_books (
    id          TEXT PRIMARY KEY,
    store_id    TEXT NOT NULL REFERENCES stores(id),
    name        TEXT NOT NULL,
    scope       TEXT NOT NULL CHECK (scope IN ('global', 'regional')),
    currency    TEXT NOT NULL,
    valid_from  INTEGER NOT NULL DEFAULT 0,      -- inclusive (ms)
    valid_to    INTEGER,                         -- exclusive (ms); NULL: open-ended
    active      INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE INDEX price_books_store ON price_books(store_id, scope, currency, active);

-- The countries of a regional book.
CREATE TABLE price_book_countries (
    book_id  TEXT NOT NULL REFERENCES price_books(id),
    country  TEXT NOT NULL CHECK (length(country) = 2 AND country = upper(country)),
    PRIMARY KEY (book_id, country)
);
CREATE INDEX price_book_countries_country ON price_book_countries(country, book_id);

CREATE TABLE price_agreements (
    id          TEXT PRIMARY KEY,
    store_id    TEXT NOT NULL REFERENCES stores(id),
    company_id  TEXT NOT NULL REFERENCES companies(id),
    name        TEXT NOT NULL,
    currency    TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'expired')),
    valid_from  INTEGER NOT NULL DEFAULT 0,
    valid_to    INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE INDEX price_agreements_company ON price_agreements(company_id, status, currency);
CREATE INDEX price_agreements_store ON price_agreements(store_id, created_at);

-- Entries of books and agreements alike (exactly one parent), each mirrored to a Stripe
-- Price: `stripe_price_id` is the Price of `synced_amount`; strict checkout accepts an entry
-- only when that is its current `unit_amount`.
CREATE TABLE price_entries (
    id               TEXT PRIMARY KEY,
    store_id         TEXT NOT NULL REFERENCES stores(id),
    book_id          TEXT REFERENCES price_books(id),
    agreement_id     TEXT REFERENCES price_agreements(id),
    variant_id       TEXT NOT NULL REFERENCES variants(id),
    min_quantity     INTEGER NOT NULL DEFAULT 1 CHECK (min_quantity >= 1),
    unit_amount      INTEGER NOT NULL CHECK (unit_amount >= 0),
    -- Counts amount changes: the Stripe Price of each version is created once (its
    -- Idempotency-Key names the version), even when an amount comes back.
    price_version    INTEGER NOT NULL DEFAULT 1,
    -- Stripe keeps a 5xx answer under its Idempotency-Key: each try after one looks the
    -- Price up by its lookup key, then creates it under a key naming the try.
    sync_tries       INTEGER NOT NULL DEFAULT 0,
    currency         TEXT NOT NULL,              -- the parent's
    sync_status      TEXT NOT NULL DEFAULT 'pending' CHECK (sync_status IN ('pending', 'synced', 'failed')),
    stripe_price_id  TEXT,
    synced_amount    INTEGER,
    sync_error       TEXT,
    synced_at        INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    deleted_at       INTEGER,                    -- kept for the order items priced with it
    CHECK ((book_id IS NULL) <> (agreement_id IS NULL))
);
CREATE UNIQUE INDEX price_entries_book_tier ON price_entries(book_id, variant_id, min_quantity)
    WHERE book_id IS NOT NULL AND deleted_at IS NULL;
CREATE UNIQUE INDEX price_entries_agreement_tier ON price_entries(agreement_id, variant_id, min_quantity)
    WHERE agreement_id IS NOT NULL AND deleted_at IS NULL;
-- The resolver: a variant's entries in a currency.
CREATE INDEX price_entries_variant ON price_entries(store_id, variant_id, currency);
CREATE INDEX price_entries_book ON price_entries(book_id, created_at) WHERE book_id IS NOT NULL;
CREATE INDEX price_entries_agreement ON price_entries(agreement_id, created_at) WHERE agreement_id IS NOT NULL;
CREATE INDEX price_entries_sync ON price_entries(store_id, sync_status);

-- The Stripe Product each variant is sold as (prices hang off it).
ALTER TABLE variants ADD COLUMN stripe_product_id TEXT;

-- Ambiguity is refused when it is saved: at any instant, at most one active global book per
-- store and currency, one active regional book per country and currency, one active
-- agreement per company and currency. (Windows overlap when each starts before the other
-- ends; an open end is year 10000.)
CREATE TRIGGER price_books_one_global_insert BEFORE INSERT ON price_books
WHEN NEW.active = 1 AND NEW.scope = 'global' AND EXISTS (
    SELECT 1 FROM price_books o WHERE o.store_id = NEW.store_id AND o.scope = 'global' AND o.active = 1
      AND o.currency = NEW.currency AND o.id <> NEW.id
      AND o.valid_from < coalesce(NEW.valid_to, 253402300800000) AND NEW.valid_from < coalesce(o.valid_to, 253402300800000))
BEGIN
    SELECT RAISE(ABORT, 'ambiguous pricing: price_books');
END;

CREATE TRIGGER price_books_unambiguous_update BEFORE UPDATE OF active, valid_from, valid_to ON price_books
WHEN NEW.active = 1 AND (
    (NEW.scope = 'global' AND EXISTS (
        SELECT 1 FROM price_books o WHERE o.store_id = NEW.store_id AND o.scope = 'global' AND o.active = 1
          AND o.currency = NEW.currency AND o.id <> NEW.id
          AND o.valid_from < coalesce(NEW.valid_to, 253402300800000) AND NEW.valid_from < coalesce(o.valid_to, 253402300800000)))
    OR (NEW.scope = 'regional' AND EXISTS (
        SELECT 1 FROM price_book_countries nc
          JOIN price_book_countries oc ON oc.country = nc.country AND oc.book_id <> nc.book_id
          JOIN price_books o ON o.id = oc.book_id
        WHERE nc.book_id = NEW.id AND o.store_id = NEW.store_id AND o.active = 1 AND o.currency = NEW.currency
          AND o.valid_from < coalesce(NEW.valid_to, 253402300800000) AND NEW.valid_from < coalesce(o.valid_to, 253402300800000))))
BEGIN
    SELECT RAISE(ABORT, 'ambiguous pricing: price_books');
END;

CREATE TRIGGER price_book_countries_unambiguous BEFORE INSERT ON price_book_countries
WHEN EXISTS (
    SELECT 1 FROM price_books n
      JOIN price_book_countries oc ON oc.country = NEW.country AND oc.book_id <> NEW.book_id
      JOIN price_books o ON o.id = oc.book_id
    WHERE n.id = NEW.book_id AND n.active = 1 AND o.active = 1 AND o.store_id = n.store_id AND o.currency = n.currency
      AND o.valid_from < coalesce(n.valid_to, 253402300800000) AND n.valid_from < coalesce(o.valid_to, 253402300800000))
BEGIN
    SELECT RAISE(ABORT, 'ambiguous pricing: price_books');
END;

CREATE TRIGGER price_agreements_one_active_insert BEFORE INSERT ON price_agreements
WHEN NEW.status = 'active' AND EXISTS (
    SELECT 1 FROM price_agreements o WHERE o.company_id = NEW.company_id AND o.status = 'active'
      AND o.currency = NEW.currency AND o.id <> NEW.id
      AND o.valid_from < coalesce(NEW.valid_to, 253402300800000) AND NEW.valid_from < coalesce(o.valid_to, 253402300800000))
BEGIN
    SELECT RAISE(ABORT, 'ambiguous pricing: price_agreements');
END;

CREATE TRIGGER price_agreements_one_active_update BEFORE UPDATE OF status, valid_from, valid_to ON price_agreements
WHEN NEW.status = 'active' AND EXISTS (
    SELECT 1 FROM price_agreements o WHERE o.company_id = NEW.company_id AND o.status = 'active'
      AND o.currency = NEW.currency AND o.id <> NEW.id
      AND o.valid_from < coalesce(NEW.valid_to, 253402300800000) AND NEW.valid_from < coalesce(o.valid_to, 253402300800000))
BEGIN
    SELECT RAISE(ABORT, 'ambiguous pricing: price_agreements');
END;

CREATE TRIGGER price_agreements_status_transitions BEFORE UPDATE OF status ON price_agreements
WHEN NEW.status IS NOT OLD.status AND (OLD.status || '>' || NEW.status) NOT IN ('draft>active', 'active>expired')
BEGIN
    SELECT RAISE(ABORT, 'state transition refused: price_agreements.status');
END;
