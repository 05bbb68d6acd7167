-- Several `ttydesk serve` processes on one database (issue 16, step 3): a send is claimed
-- by one process, which holds it under a lease it renews while the request is on the
-- wire. `claimed_by` names the claiming worker; `lease_until` (ISO-8601 UTC, the worker's
-- clock) is when the claim lapses unless renewed. Only an `in_flight` row whose lease has
-- run out (its process died) or was handed back (NULL: its process stopped) is made
-- ambiguous, never a live neighbour's. SQLite (one process, under its serving lock)
-- writes the same columns; its start-up still takes every `in_flight` row for ambiguous.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN lease_until TEXT;
ALTER TABLE email_outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE email_outbox ADD COLUMN lease_until TEXT;
