-- Lading schema, part 10: selling to companies. A company has people (contacts) with roles
-- from a fixed set, and an address book. Orders of a company name their billing contact
-- and billing address; shipments (a later part) own their destinations.

CREATE TABLE companies (
    id                           TEXT PRIMARY KEY,
    store_id                     TEXT NOT NULL REFERENCES stores(id),
    name                         TEXT NOT NULL,
    external_ref                 TEXT,      -- the company's id in the seller's other systems
    currency                     TEXT NOT NULL,
    -- `prepaid`, or `net_N`: an invoice due N days after it is issued.
    payment_terms                TEXT NOT NULL DEFAULT 'prepaid'
                                     CHECK (payment_terms = 'prepaid' OR (payment_terms GLOB 'net_[1-9]*'
                                            AND payment_terms NOT GLOB 'net_*[^0-9]*')),
    default_shipping_address_id  TEXT,
    default_billing_address_id   TEXT,
    created_at                   INTEGER NOT NULL,
    updated_at                   INTEGER NOT NULL
);
-- The operators' list is by name (and searched by its beginning).
CREATE INDEX companies_store_name ON companies(store_id, lower(name), id);
CREATE UNIQUE INDEX companies_external_ref ON companies(store_id, external_ref) WHERE external_ref IS NOT NULL;

CREATE TABLE contacts (
    id                     TEXT PRIMARY KEY,
    store_id               TEXT NOT NULL REFERENCES stores(id),
    company_id             TEXT NOT NULL REFERENCES companies(id),
    first_name             TEXT NOT NULL,
    last_name              TEXT NOT NULL,
    email                  TEXT NOT NULL,             -- lowercased
    phone                  TEXT,
    notes                  TEXT,
    active                 INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    -- The identity provider's subject of the person, when they act for the company in the
    -- storefront (one company per person and store).
    customer_subject       TEXT,
    -- What this contact's orders may add up to per period (minor units of the company's
    -- currency); both or neither.
    spending_limit_amount  INTEGER CHECK (spending_limit_amount IS NULL OR spending_limit_amount >= 0),
    spending_limit_period  TEXT CHECK (spending_limit_period IN ('monthly', 'quarterly', 'yearly')),
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL,
    CHECK ((spending_limit_amount IS NULL) = (spending_limit_period IS NULL))
);
CREATE UNIQUE INDEX contacts_company_email ON contacts(company_id, email);
CREATE UNIQUE INDEX contacts_subject ON contacts(store_id, customer_subject) WHERE customer_subject IS NOT NULL;
CREATE INDEX contacts_company ON contacts(company_id, last_name, first_name, id);

-- A contact's roles; at most one primary contact per (company, role).
CREATE TABLE contact_roles (
    company_id  TEXT NOT NULL REFERENCES companies(id),
    contact_id  TEXT NOT NULL REFERENCES contacts(id),
    role        TEXT NOT NULL CHECK (role IN ('billing', 'shipping', 'operations', 'technical', 'executive')),
    is_primary  INTEGER NOT NULL DEFAULT 0 CHECK (is_primary IN (0, 1)),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (company_id, contact_id, role)
);
CREATE UNIQUE INDEX contact_roles_primary ON contact_roles(company_id, role) WHERE is_primary = 1;
CREATE INDEX contact_roles_contact ON contact_roles(contact_id);

-- The address book. `dedupe_key` is the address normalised (case, spaces, punctuation):
-- the same place is in a company's book once.
CREATE TABLE addresses (
    id            TEXT PRIMARY KEY,
    store_id      TEXT NOT NULL REFERENCES stores(id),
    company_id    TEXT NOT NULL REFERENCES companies(id),
    label         TEXT,
    name          TEXT NOT NULL,
    line1         TEXT NOT NULL,
    line2         TEXT,
    city          TEXT NOT NULL,
    region        TEXT,
    postal_code   TEXT,
    country       TEXT NOT NULL CHECK (length(country) = 2 AND country = upper(country)),
    phone         TEXT,
    dedupe_key    TEXT NOT NULL,
    last_used_at  INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    deleted_at    INTEGER             -- kept for the orders and shipments that name it
);
CREATE UNIQUE INDEX addresses_company_dedupe ON addresses(company_id, dedupe_key) WHERE deleted_at IS NULL;
CREATE INDEX addresses_company ON addresses(company_id, created_at);
