-- Each agent's own e-mail signature (issue 18, outbound): plain text of a few lines, set
-- through PATCH /api/v1/me and appended under the "-- " line of every e-mail the agent
-- sends, read when the e-mail outbox claims the mail. NULL: none set, and a mail is
-- signed with the agent's name and the mailbox's display name as before.
ALTER TABLE agents ADD COLUMN signature TEXT;
