-- The twin of migrations/0033 (deletions and edits held until their message arrives).
CREATE TABLE held_for_message (
    wamid            TEXT PRIMARY KEY,
    target_wamid     TEXT NOT NULL,
    text             TEXT,
    content          TEXT NOT NULL,
    raw              TEXT,
    from_number      TEXT,
    at               TEXT NOT NULL,
    edit_message_id  BIGINT,
    received_at      TEXT NOT NULL
);
CREATE INDEX held_for_message_target ON held_for_message(target_wamid);
CREATE INDEX held_for_message_received ON held_for_message(received_at);
