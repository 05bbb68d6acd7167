-- What WhatsApp bills for each of our messages, from the `pricing` block of its status
-- webhooks (WHATSAPP.md "The customer service window and pricing"): the category as Meta
-- gives it ("unknown" when a status carried no block), billable (NULL when not said),
-- the pricing model and type. NULL category: no status has come yet (or only a failure).
ALTER TABLE messages ADD COLUMN pricing_category TEXT;
ALTER TABLE messages ADD COLUMN pricing_billable BIGINT;
ALTER TABLE messages ADD COLUMN pricing_model TEXT;
ALTER TABLE messages ADD COLUMN pricing_type TEXT;
-- the month view (usage per category and number) reads only priced messages of a period
CREATE INDEX messages_priced ON messages(created_at) WHERE pricing_category IS NOT NULL;
