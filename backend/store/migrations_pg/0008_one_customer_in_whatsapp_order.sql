-- The twin of migrations/0008: the same indexes, column and table. Its merge of contacts
-- that share a WhatsApp id repairs SQLite databases written before it; a PostgreSQL
-- database starts empty at this series (its rows come from the store or `admin migrate`,
-- after the merge), so the repair is not repeated here.
CREATE INDEX messages_thread_time ON messages(thread_id, created_at, id);
DROP INDEX messages_thread;
ALTER TABLE contacts ADD COLUMN wa_identity_at TEXT;
CREATE TABLE contact_former_ids (
    value       TEXT NOT NULL,     -- a wa_id, BSUID or parent BSUID the contact had
    contact_id  BIGINT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    until       TEXT NOT NULL,     -- the WhatsApp timestamp of the change that replaced it
    PRIMARY KEY (value, contact_id)
);
DROP INDEX contacts_wa_id;
CREATE INDEX contacts_wa_id ON contacts(wa_id, updated_at);
