-- A sender is found by BSUID, the most recently updated contact first (inbound.admit,
-- conversations.resolve_whatsapp_contact): with updated_at in the index the newest is
-- read off the index instead of sorting the matches in a temporary b-tree per message.
DROP INDEX contacts_wa_user_id;
CREATE INDEX contacts_wa_user_id ON contacts(wa_user_id, updated_at);
DROP INDEX contacts_wa_parent_user_id;
CREATE INDEX contacts_wa_parent_user_id ON contacts(wa_parent_user_id, updated_at);
