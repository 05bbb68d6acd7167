-- Each message's full-text row names its message's thread, so a search filters its hits
-- by their threads' view without reading each message (PostgresStore._message_hits reads
-- the messages of the page only). A message never moves to another thread; the store
-- writes the column with the row (PgStoreTx.index_message), admin migrate --to copies
-- it from the messages (pg_copy).
ALTER TABLE messages_fts ADD COLUMN thread_id BIGINT;
UPDATE messages_fts SET thread_id = m.thread_id FROM messages m WHERE m.id = messages_fts.rowid;

-- Every word (tsvector lexeme) of messages_fts, in byte order: a search's last word, a
-- prefix, is searched as the words that begin with it ('refund' | 'refunds'), which
-- the GIN index answers several times faster than the prefix itself (it gathers every
-- hit of each word the prefix matches, where it skips through exact words' lists). A
-- word may stay after its messages are gone (it then finds nothing). The store adds the
-- words of the messages a transaction indexed before its COMMIT (PgWriter._commit),
-- admin migrate --to those it copied (pg_copy).
CREATE TABLE messages_fts_words (word TEXT COLLATE "C" PRIMARY KEY);
INSERT INTO messages_fts_words (word) SELECT word FROM ts_stat('SELECT document FROM messages_fts');
