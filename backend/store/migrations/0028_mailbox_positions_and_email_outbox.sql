-- E-mail (issue 18), continued.
-- mailbox_positions: how far an IMAP folder has been fetched (its UIDVALIDITY and the
-- last UID taken), so a restart or a dropped connection never fetches a mail twice.
-- email_outbox: the send queue of our e-mails, with the states of the WhatsApp outbox
-- (pending, in_flight, ambiguous, done: each mail sent at most once, an unknown outcome
-- flagged, never resent on its own); ``request`` is what to send, channel-neutral JSON
-- (to, cc, subject, text, the Message-ID it goes out under, the ids it answers).
CREATE TABLE mailbox_positions (
    mailbox      TEXT PRIMARY KEY,
    uidvalidity  INTEGER,
    last_uid     INTEGER NOT NULL DEFAULT 0,
    updated_at   TEXT NOT NULL
);

CREATE TABLE email_outbox (
    message_id    INTEGER PRIMARY KEY REFERENCES messages(id),
    state         TEXT NOT NULL DEFAULT 'pending',
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_attempt  TEXT NOT NULL,
    request       TEXT NOT NULL,
    last_error    TEXT,
    updated_at    TEXT NOT NULL
);
CREATE INDEX email_outbox_due ON email_outbox(state, next_attempt);
