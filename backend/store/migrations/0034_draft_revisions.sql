-- Drafts carry the revision of the composer state they keep (DraftUpdate.revision: the
-- client's milliseconds, newer for each change), and a send from the composer leaves the
-- revision it sent (draft_revision) here, so that a save of the composer read before the
-- send and arriving after it (a save on its way, the quit's save while the send was
-- unanswered) is refused instead of bringing the sent text back as a draft
-- (store/drafts.py). A draft saved with a newer revision than the send stays.
ALTER TABLE drafts ADD COLUMN revision INTEGER;
CREATE TABLE draft_sends (
    agent_id     INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    thread_id    INTEGER NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
    revision     INTEGER NOT NULL,   -- the newest composer revision a send consumed
    PRIMARY KEY (agent_id, thread_id)
);
