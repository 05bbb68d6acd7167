-- A customer's deletion (revoke) that arrives before the message it deletes
-- (store/revokes.py). Meta delivers in no order; the deletion is held here, one row per
-- deletion, and shown under its message when that arrives (the message never shows
-- without its mark). One whose message never arrives within the hold is dropped and
-- counted.
CREATE TABLE held_revokes (
    wamid            TEXT PRIMARY KEY,   -- the deletion's own wamid
    target_wamid     TEXT NOT NULL,      -- the message it deletes
    text             TEXT,
    content          TEXT NOT NULL,      -- JSON, as messages.content
    raw              TEXT,
    from_number      TEXT,
    at               TEXT NOT NULL,      -- WhatsApp's timestamp of the deletion
    received_at      TEXT NOT NULL
);
CREATE INDEX held_revokes_target ON held_revokes(target_wamid);
CREATE INDEX held_revokes_received ON held_revokes(received_at);
