-- A customer's deletion (revoke) or edit that arrives before the message it deletes or
-- edits (store/revokes.py). Meta delivers in no order. A deletion is held here, one row
-- per deletion, and shown under its message when that arrives (the message never shows
-- without its mark); an edit is stored as it comes, and its row (edit_message_id) links
-- it to the original, as its quote, when that arrives. One whose message never arrives
-- within the hold is dropped (a deletion counted).
CREATE TABLE held_for_message (
    wamid            TEXT PRIMARY KEY,   -- the deletion's own wamid
    target_wamid     TEXT NOT NULL,      -- the message it deletes
    text             TEXT,
    content          TEXT NOT NULL,      -- JSON, as messages.content
    raw              TEXT,
    from_number      TEXT,
    at               TEXT NOT NULL,      -- WhatsApp's timestamp of the deletion
    edit_message_id  INTEGER,            -- an edit: its stored message (NULL: a deletion)
    received_at      TEXT NOT NULL
);
CREATE INDEX held_for_message_target ON held_for_message(target_wamid);
CREATE INDEX held_for_message_received ON held_for_message(received_at);
