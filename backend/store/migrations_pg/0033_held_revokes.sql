-- The twin of migrations/0033 (deletions held until their message arrives); see there.
CREATE TABLE held_revokes (
    wamid            TEXT PRIMARY KEY,
    target_wamid     TEXT NOT NULL,
    text             TEXT,
    content          TEXT NOT NULL,
    raw              TEXT,
    from_number      TEXT,
    at               TEXT NOT NULL,
    received_at      TEXT NOT NULL
);
CREATE INDEX held_revokes_target ON held_revokes(target_wamid);
CREATE INDEX held_revokes_received ON held_revokes(received_at);
