-- The twin of migrations/0034 (the composer revision a draft keeps and a send consumed).
ALTER TABLE drafts ADD COLUMN revision BIGINT;
CREATE TABLE draft_sends (
    agent_id     BIGINT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    thread_id    BIGINT NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
    revision     BIGINT NOT NULL,
    PRIMARY KEY (agent_id, thread_id)
);
