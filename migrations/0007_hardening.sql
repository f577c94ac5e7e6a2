-- Idempotency claims are leases: a request that died holding a key blocks retries only
-- until locked_until; `claim` names the holder, so only it may complete or release the
-- row. Rows from before this migration have no lease (0): a retry may take them over.
ALTER TABLE idempotency_keys ADD COLUMN claim TEXT;
ALTER TABLE idempotency_keys ADD COLUMN locked_until INTEGER NOT NULL DEFAULT 0;

-- Emails not yet sent, for the five-minute job that re-sends lost messages (few rows: most
-- notifications are sent within seconds).
CREATE INDEX notifications_open ON notifications(status) WHERE status IN ('pending', 'sending');
