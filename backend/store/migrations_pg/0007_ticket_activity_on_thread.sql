-- Every inbound message rewrites its thread's row (last message, preview, unread count,
-- session window). The ticket's inbound activity lived on the ticket's row, a second
-- random page written to the WAL (and checkpointed) for every message, out of about
-- five. It now lives on the thread's row, the one row of the ticket's thread, so an
-- ordinary inbound message writes no ticket row at all (tests/bench/ingest.py).
--   inbound_count, first_inbound_at, last_inbound_at: as they were on the ticket;
--   inbound_stored_at: when the newest of them was stored (server time), which the
--     ticket's updated_at takes into account (conversations.ticket_columns);
--   the ticket's session_expires_at was a copy of the thread's and is read from it.
ALTER TABLE threads ADD COLUMN inbound_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE threads ADD COLUMN first_inbound_at TEXT;
ALTER TABLE threads ADD COLUMN last_inbound_at TEXT;
ALTER TABLE threads ADD COLUMN inbound_stored_at TEXT;
-- (SQLite moves the values from the tickets here: a PostgreSQL database starts empty.)
ALTER TABLE tickets DROP COLUMN inbound_count;
ALTER TABLE tickets DROP COLUMN first_inbound_at;
ALTER TABLE tickets DROP COLUMN last_inbound_at;
ALTER TABLE tickets DROP COLUMN session_expires_at;
