-- A contact merged into another (0008) is kept, but it is no longer a contact of its own:
-- lists, search and number matching skip it, and its id opens the one it was merged into.
-- The column mirrors properties.merged_into so those reads need no JSON.
ALTER TABLE contacts ADD COLUMN merged_into INTEGER REFERENCES contacts(id);
UPDATE contacts SET merged_into = json_extract(properties, '$.merged_into')
    WHERE json_valid(properties) AND json_extract(properties, '$.merged_into') IS NOT NULL
        AND json_extract(properties, '$.merged_into') IN (SELECT id FROM contacts);
CREATE INDEX contacts_merged_into ON contacts(merged_into) WHERE merged_into IS NOT NULL;
DELETE FROM contacts_fts WHERE rowid IN (SELECT id FROM contacts WHERE merged_into IS NOT NULL);
