-- A thread's messages are listed in WhatsApp's timestamp order, arrival breaking ties
-- (threads.list_messages: a message delivered late is shown in its place).
CREATE INDEX messages_thread_time ON messages(thread_id, created_at, id);
-- Meta delivers late and out of order: a contact's WhatsApp identity (ids, username) is
-- changed only by a message newer than the one that last set it (wa_identity_at, the
-- WhatsApp timestamp of that message; conversations.apply_whatsapp_identity), and the ids
-- it had before are remembered, so a message sent from the old number and delivered after
-- the change still finds its customer (conversations.find_whatsapp_contact).
ALTER TABLE contacts ADD COLUMN wa_identity_at TEXT;
CREATE TABLE contact_former_ids (
    value       TEXT NOT NULL,     -- a wa_id, BSUID or parent BSUID the contact had
    contact_id  INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    until       TEXT NOT NULL,     -- the WhatsApp timestamp of the change that replaced it
    PRIMARY KEY (value, contact_id)
);
-- The wa_id is looked up like the BSUIDs (migration 0006): the newest contact first.
DROP INDEX contacts_wa_id;
CREATE INDEX contacts_wa_id ON contacts(wa_id, updated_at);
