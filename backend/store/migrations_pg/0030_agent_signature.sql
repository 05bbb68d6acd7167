-- The twin of migrations/0030: each agent's own e-mail signature (NULL: none set, the
-- mail is signed with the agent's name and the mailbox's display name).
ALTER TABLE agents ADD COLUMN signature TEXT;
