-- Every inbound message moves its thread's last_message_at, which rewrites the thread's
-- entry in each index keyed on it: in threads_recent, threads_status_recent and
-- threads_owner_recent, three random index pages written to the WAL per message out of
-- about eight (tests/bench/ingest.py). threads_recent already carries status and
-- owner_id (0003), so a status or owner view reads it in order and filters the entries
-- it passes, without table rows; the two narrower indexes are dropped.
DROP INDEX IF EXISTS threads_status_recent;
DROP INDEX IF EXISTS threads_owner_recent;
