-- message_hours (0020) was kept by a trigger on every stored message: an upsert per
-- message, about a tenth of the writer's time on the ingest path. The writer now counts a
-- batch's new messages with one statement before it commits (store/engine.py,
-- after_batch; store/reports.py): the messages after the last id counted, whichever way
-- they were stored, by this process or another.
DROP TRIGGER message_hours_count;
CREATE TABLE message_hours_counted (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    upto INTEGER NOT NULL   -- messages.id of the newest message counted
);
INSERT INTO message_hours_counted (id, upto) SELECT 1, COALESCE(MAX(id), 0) FROM messages;
