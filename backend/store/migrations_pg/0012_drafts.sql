-- An agent's unsent reply or note in a thread, kept on the server so that it survives a
-- quit, a crash and a second terminal (issue 15). One per agent and thread; only that
-- agent reads it (GET/PUT/DELETE /api/v1/threads/{id}/draft). A send from the composer
-- (text, media, note) removes it in the send's transaction.
CREATE TABLE drafts (
    agent_id     BIGINT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    thread_id    BIGINT NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
    text         TEXT NOT NULL,
    note         BIGINT NOT NULL DEFAULT 0,
    reply_to_id  BIGINT,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (agent_id, thread_id)
);
