-- from_ad: the conversation came from a click-to-WhatsApp ad (a message of it carries a
-- referral), for the "came from an ad" view filter; set by the ingest from then on.
-- group_id: a WhatsApp group's thread, found by group id and business number (a group
-- message is filed there, not in its sender's 1:1 thread, and replies go to the group).
ALTER TABLE threads ADD COLUMN from_ad INTEGER NOT NULL DEFAULT 0;
ALTER TABLE threads ADD COLUMN group_id TEXT;
UPDATE threads SET from_ad = 1 WHERE EXISTS (
    SELECT 1 FROM messages m WHERE m.thread_id = threads.id
        AND json_type(m.content, '$.referral') = 'object');
CREATE INDEX threads_group ON threads(group_id, phone_number_id) WHERE group_id IS NOT NULL;
