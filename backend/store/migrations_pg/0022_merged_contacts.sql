-- The twin of migrations/0022: merged_into mirrors properties.merged_into. SQLite's
-- backfill (and the removal of merged contacts from contacts_fts) is not repeated: no
-- PostgreSQL database holds rows from before this version (docs/POSTGRESQL.md).
ALTER TABLE contacts ADD COLUMN merged_into BIGINT REFERENCES contacts(id);
CREATE INDEX contacts_merged_into ON contacts(merged_into) WHERE merged_into IS NOT NULL;
