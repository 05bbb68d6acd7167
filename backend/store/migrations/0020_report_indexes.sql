-- The reports' range reads (backend/store/reports.py): messages per day and hour read
-- the time, direction, kind and thread of a range of messages from this index alone;
-- tickets opened and closed, and the response-time samples, read a range of tickets.
CREATE INDEX messages_created ON messages(created_at, direction, kind, thread_id);
CREATE INDEX tickets_created ON tickets(created_at);
CREATE INDEX tickets_closed ON tickets(closed_at) WHERE closed_at IS NOT NULL;
