-- The twin of migrations/0024: the outbox keeps the channel-neutral request (JSON text);
-- `payload` holds only the Graph API body of rows queued before it ('' for new rows).
ALTER TABLE outbox ADD COLUMN request TEXT;
