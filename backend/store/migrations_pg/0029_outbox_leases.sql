-- The twin of migrations/0029: who claimed an outbox row (`claimed_by`) and until when
-- the claim holds unless renewed (`lease_until`, ISO-8601 UTC text as every timestamp);
-- a row whose lease ran out or was handed back (NULL) is ambiguous, a live one is not.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN lease_until TEXT;
ALTER TABLE email_outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE email_outbox ADD COLUMN lease_until TEXT;
