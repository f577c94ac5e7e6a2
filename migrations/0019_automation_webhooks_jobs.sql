-- Lading schema, part 19: what happens after a delivery, and what operators watch.
-- Automation steps on a parcel's lines call the seller's other systems when it is
-- delivered; stores subscribe URLs to domain events (outbound webhooks, signed as the
-- Standard Webhooks specification says); every queue message and cron job is recorded as
-- a job run; work that needs a person becomes an operator task.

-- What a store does after a delivery, by scenario (`first_time_install`, `replacement`,
-- `return`, …): the endpoint it calls, signed with the scenario's own `whsec_` secret, and
-- its retry policy.
CREATE TABLE automation_scenarios (
    store_id             TEXT NOT NULL REFERENCES stores(id),
    code                 TEXT NOT NULL CHECK (length(code) BETWEEN 2 AND 40 AND code NOT GLOB '*[^a-z0-9_]*'),
    name                 TEXT NOT NULL,
    endpoint_url         TEXT NOT NULL,
    secret               TEXT NOT NULL,
    max_attempts         INTEGER NOT NULL CHECK (max_attempts BETWEEN 1 AND 20),
    retry_delay_seconds  INTEGER NOT NULL CHECK (retry_delay_seconds BETWEEN 1 AND 86400),
    timeout_ms           INTEGER NOT NULL CHECK (timeout_ms BETWEEN 100 AND 20000),
    active               INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    PRIMARY KEY (store_id, code)
);

-- A step carried by a parcel's line: due once the parcel is delivered, then run through the
-- queue (claimed with a lease), retried by its scenario's policy, `failed` after the last
-- attempt (an operator task), retried or done by hand (`fallback`) by an operator.
CREATE TABLE automation_steps (
    id                         TEXT PRIMARY KEY,
    store_id                   TEXT NOT NULL REFERENCES stores(id),
    shipment_id                TEXT NOT NULL REFERENCES shipments(id),
    fulfillment_order_line_id  TEXT NOT NULL REFERENCES fulfillment_order_lines(id),
    scenario                   TEXT NOT NULL,
    payload                    TEXT NOT NULL DEFAULT '{}',
    status                     TEXT NOT NULL DEFAULT 'pending'
                                   CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'fallback')),
    attempts                   INTEGER NOT NULL DEFAULT 0,
    max_attempts               INTEGER NOT NULL,
    due_at                     INTEGER,
    next_attempt_at            INTEGER,
    lease_until                INTEGER,
    last_status                INTEGER,
    last_error                 TEXT,
    fallback_note              TEXT,
    resolved_by                TEXT,
    completed_at               INTEGER,
    created_at                 INTEGER NOT NULL,
    updated_at                 INTEGER NOT NULL
);
CREATE INDEX automation_steps_shipment ON automation_steps(shipment_id, created_at);
CREATE INDEX automation_steps_status ON automation_steps(store_id, status, next_attempt_at);

CREATE TRIGGER automation_steps_status_transitions BEFORE UPDATE OF status ON automation_steps
WHEN NEW.status IS NOT OLD.status AND (OLD.status || '>' || NEW.status) NOT IN ('pending>running', 'running>pending', 'running>succeeded', 'running>failed', 'failed>pending', 'failed>fallback', 'pending>fallback')
BEGIN
    SELECT RAISE(ABORT, 'state transition refused: automation_steps.status');
END;

-- A store's subscriptions: a URL, the event types it wants (`["*"]`: all), its `whsec_`
-- secret. An endpoint that keeps failing is disabled with a reason.
CREATE TABLE webhook_endpoints (
    id                    TEXT PRIMARY KEY,
    store_id              TEXT NOT NULL REFERENCES stores(id),
    url                   TEXT NOT NULL,
    description           TEXT,
    event_types           TEXT NOT NULL DEFAULT '["*"]',
    secret                TEXT NOT NULL,
    status                TEXT NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
    disabled_reason       TEXT,
    disabled_at           INTEGER,
    consecutive_failures  INTEGER NOT NULL DEFAULT 0,
    last_success_at       INTEGER,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);
CREATE INDEX webhook_endpoints_store ON webhook_endpoints(store_id, status);

-- One event to one endpoint: its exact body, signed per attempt; `webhook-id` is the
-- delivery's id, the same on every retry.
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    store_id         TEXT NOT NULL,
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints(id),
    event_id         TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'succeeded', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL,
    next_attempt_at  INTEGER,
    lease_until      INTEGER,
    last_status      INTEGER,
    last_error       TEXT,
    delivered_at     INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, created_at);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries(event_id);

-- Every call made for a delivery or an automation step, with its answer.
CREATE TABLE outbound_attempts (
    subject_id   TEXT NOT NULL,           -- a webhook delivery or an automation step
    attempt      INTEGER NOT NULL,
    url          TEXT NOT NULL,
    status_code  INTEGER,
    error        TEXT,
    duration_ms  INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (subject_id, attempt)
);

-- A domain event a store's endpoints subscribe to becomes one outbox message, in the
-- batch that records the event: no event is lost between D1 and the queue.
CREATE TRIGGER domain_events_to_webhooks AFTER INSERT ON domain_events
WHEN EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.store_id = NEW.store_id AND e.status = 'enabled'
    AND EXISTS (SELECT 1 FROM json_each(e.event_types) j WHERE j.value IN ('*', NEW.type)))
BEGIN
    INSERT INTO outbox (id, store_id, kind, payload, created_at)
    VALUES ('webhook:' || NEW.id, NEW.store_id, 'webhook',
            json_object('kind', 'webhook', 'event_id', NEW.id, 'store_id', NEW.store_id), NEW.created_at)
    ON CONFLICT DO NOTHING;
END;

-- Every queue message and cron job run: what, about what, how it went.
CREATE TABLE job_runs (
    id            TEXT PRIMARY KEY,         -- the queue message's id, or cron:<job>:<time>
    store_id      TEXT,                     -- none for a cron run (every store's)
    queue         TEXT NOT NULL,            -- lading-fulfillment, or cron
    kind          TEXT NOT NULL,
    entity_type   TEXT,
    entity_id     TEXT,
    status        TEXT NOT NULL CHECK (status IN ('queued', 'active', 'completed', 'failed', 'delayed')),
    attempt       INTEGER NOT NULL DEFAULT 1,
    max_attempts  INTEGER NOT NULL,
    last_error    TEXT,
    detail        TEXT,
    next_retry_at INTEGER,
    enqueued_at   INTEGER,
    started_at    INTEGER,
    finished_at   INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX job_runs_list ON job_runs(queue, status, created_at);
CREATE INDEX job_runs_store ON job_runs(store_id, created_at);
CREATE INDEX job_runs_entity ON job_runs(entity_id);

-- Work for a person: a step that failed for good, an endpoint disabled. Resolved by hand
-- or by the action that settles it (a retried step, an endpoint enabled again).
CREATE TABLE operator_tasks (
    id           TEXT PRIMARY KEY,
    store_id     TEXT NOT NULL REFERENCES stores(id),
    kind         TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    title        TEXT NOT NULL,
    detail       TEXT,
    status       TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    resolved_by  TEXT,
    resolved_at  INTEGER,
    created_at   INTEGER NOT NULL
);
CREATE INDEX operator_tasks_open ON operator_tasks(store_id, status, created_at);
CREATE UNIQUE INDEX operator_tasks_one_open ON operator_tasks(kind, subject_id) WHERE status = 'open';

-- A key that only reads the metrics (`GET /admin/api/v1/metrics`): role `metrics`, below
-- support. The table is rebuilt to take the role (nothing references it).
CREATE TABLE admin_keys_rebuilt (
    id            TEXT PRIMARY KEY,
    store_id      TEXT NOT NULL REFERENCES stores(id),
    key_hash      TEXT NOT NULL UNIQUE,
    key_prefix    TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('metrics', 'support', 'admin', 'superadmin')),
    label         TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER
);
INSERT INTO admin_keys_rebuilt (id, store_id, key_hash, key_prefix, role, label, created_at, revoked_at)
    SELECT id, store_id, key_hash, key_prefix, role, label, created_at, revoked_at FROM admin_keys;
DROP TABLE admin_keys;
ALTER TABLE admin_keys_rebuilt RENAME TO admin_keys;
CREATE INDEX admin_keys_store ON admin_keys(store_id, id);

-- Alerts sent to a store's chat webhook: at most one per condition an hour.
CREATE TABLE alerts (
    id          TEXT PRIMARY KEY,          -- <store>:<condition>:<hour>
    store_id    TEXT NOT NULL REFERENCES stores(id),
    condition   TEXT NOT NULL,
    message     TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('sent', 'failed')),
    created_at  INTEGER NOT NULL
);
