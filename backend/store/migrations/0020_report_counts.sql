-- The reports' reads (backend/store/reports.py) over a 1M-message desk.
-- Messages per hour, business number and direction (customers' and ours; notes and event
-- lines are not messages), kept as messages are stored, by a trigger, so every path that
-- stores one (the ingest's fast path, insert_message) counts it: a report of 30 days
-- then reads ~720 × numbers × 2 rows rather than grouping ~170k messages.
CREATE TABLE message_hours (
    hour            TEXT NOT NULL,   -- the message's created_at to the hour: 2026-11-26T09
    business_number TEXT NOT NULL,   -- as pricing_daily: the thread's number, else its id
    direction       TEXT NOT NULL,
    messages        INTEGER NOT NULL,
    PRIMARY KEY (hour, business_number, direction)
);
INSERT INTO message_hours (hour, business_number, direction, messages)
SELECT substr(m.created_at, 1, 13), COALESCE(th.business_number, th.phone_number_id, ''),
    m.direction, COUNT(*)
FROM messages m JOIN threads th ON th.id = m.thread_id
WHERE m.kind NOT IN ('note', 'event')
GROUP BY 1, 2, 3;
CREATE TRIGGER message_hours_count AFTER INSERT ON messages
WHEN NEW.kind NOT IN ('note', 'event')
BEGIN
    INSERT INTO message_hours (hour, business_number, direction, messages)
    SELECT substr(NEW.created_at, 1, 13), COALESCE(th.business_number, th.phone_number_id, ''),
        NEW.direction, 1
    FROM threads th WHERE th.id = NEW.thread_id
    ON CONFLICT (hour, business_number, direction) DO UPDATE SET messages = messages + 1;
END;
-- tickets opened in a range, with what the response-time reports read of them
CREATE INDEX tickets_created ON tickets(created_at, owner_id, business_number,
    first_response_seconds, resolution_seconds, thread_id);
CREATE INDEX tickets_closed ON tickets(closed_at) WHERE closed_at IS NOT NULL;
