-- The twin of migrations/0019: the ticket properties reports read. SQLite's backfill is
-- not repeated: no PostgreSQL database holds rows from before this version.
ALTER TABLE tickets ADD COLUMN resolution_seconds BIGINT;
ALTER TABLE tickets ADD COLUMN billable_messages BIGINT NOT NULL DEFAULT 0;
