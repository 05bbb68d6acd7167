-- Each message's full-text row names its message's thread, so a search filters its hits
-- by their threads' view without reading each message (PostgresStore._message_hits reads
-- the messages of the page only). A message never moves to another thread; the store
-- writes the column with the row (PgStoreTx.index_message), admin migrate --to copies
-- it from the messages (pg_copy).
ALTER TABLE messages_fts ADD COLUMN thread_id BIGINT;
UPDATE messages_fts SET thread_id = m.thread_id FROM messages m WHERE m.id = messages_fts.rowid;
