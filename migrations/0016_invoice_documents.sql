-- Lading schema, part 16: an issued invoice's PDF, written once to the files bucket and
-- kept (`invoices/<store>/<invoice>/<number>.pdf`); voiding writes a document of its own
-- (`…/<number>-void.pdf`) and never overwrites the first.
ALTER TABLE invoices ADD COLUMN document_key TEXT;
ALTER TABLE invoices ADD COLUMN void_document_key TEXT;
