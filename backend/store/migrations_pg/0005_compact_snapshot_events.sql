-- Snapshot events (thread.updated, ticket.updated, message.created/updated) are logged
-- as their type and the id of the row they show, with an empty payload; a replay builds
-- the frame from the row (engine.SqlEvent). Two ~1 KB frames per inbound message were
-- a seventh of the pages every ingest commit wrote (tests/bench/ingest.py).
ALTER TABLE events ADD COLUMN entity_id BIGINT;
