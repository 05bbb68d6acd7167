-- The twin of migrations/0023: message_hours is counted once per transaction from the
-- messages after the last id counted, not by a trigger per message (the PostgreSQL store
-- runs the same after-batch statement before it commits).
DROP TRIGGER message_hours_count ON messages;
DROP FUNCTION message_hours_count();
CREATE TABLE message_hours_counted (
    id   BIGINT PRIMARY KEY CHECK (id = 1),
    upto BIGINT NOT NULL
);
INSERT INTO message_hours_counted (id, upto) SELECT 1, COALESCE(MAX(id), 0) FROM messages;
