-- Ticket properties a lead filters on and reports read (issue 17), kept by the store as
-- things happen rather than computed per request: resolution_seconds (closed_at -
-- created_at in wall-clock seconds, set when the ticket closes, NULL while it is open)
-- and billable_messages (our messages on the ticket's thread that a status said Meta
-- bills: what the ticket has cost so far, in messages). first_response_seconds and the
-- message counts (threads.inbound_count, tickets.outbound_count) were already kept.
ALTER TABLE tickets ADD COLUMN resolution_seconds INTEGER;
ALTER TABLE tickets ADD COLUMN billable_messages INTEGER NOT NULL DEFAULT 0;
UPDATE tickets SET resolution_seconds =
    CAST(ROUND((julianday(closed_at) - julianday(created_at)) * 86400) AS INTEGER)
WHERE status = 'closed' AND closed_at IS NOT NULL;
UPDATE tickets SET billable_messages = billed.messages
FROM (SELECT th.ticket_id, COUNT(*) AS messages FROM messages m
    JOIN threads th ON th.id = m.thread_id
    WHERE m.direction = 'out' AND m.pricing_billable = 1 GROUP BY th.ticket_id) AS billed
WHERE tickets.id = billed.ticket_id;
