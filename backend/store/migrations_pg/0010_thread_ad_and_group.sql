-- The twin of migrations/0010 (from_ad, group_id). SQLite's backfill of from_ad from
-- earlier messages is not repeated: a PostgreSQL database starts empty at this series.
ALTER TABLE threads ADD COLUMN from_ad BIGINT NOT NULL DEFAULT 0;
ALTER TABLE threads ADD COLUMN group_id TEXT;
CREATE INDEX threads_group ON threads(group_id, phone_number_id) WHERE group_id IS NOT NULL;
