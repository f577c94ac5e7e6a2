-- Lading schema, part 16: an issued invoice's PDF, written once to the files bucket and
-- kept (`invoices/<store>/<invoice>/<number>.pdf`); never overwritten.
ALTER TABLE invoices ADD COLUMN document_key TEXT;
