-- Snooze (pending until a time): the ticket leaves the open views until snoozed_until,
-- then the backend wakes it (waiting on us again, with a timeline entry). The time is on
-- the ticket; the thread carries a copy, as it does the status and owner, so the view
-- filters and counts read the thread's row alone.
ALTER TABLE tickets ADD COLUMN snoozed_until TEXT;
ALTER TABLE threads ADD COLUMN snoozed_until TEXT;
CREATE INDEX tickets_snoozed ON tickets(snoozed_until) WHERE snoozed_until IS NOT NULL;
