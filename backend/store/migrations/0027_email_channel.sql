-- E-mail, the second channel (issue 18).
-- email_channels: the support addresses mail is received at and sent from (a mailbox).
-- threads.email_channel_id: an e-mail thread's mailbox (channel_type 'EMAIL'); a
-- WhatsApp thread keeps phone_number_id. The same contact can have threads of both.
-- contacts.email_key: the address a contact is found by, lower-cased (plus-addressing
-- kept as given), beside contacts.email as the customer wrote it.
-- email_messages: what a mail adds to its message row: the Message-ID (a mail is never
-- stored twice; a reply finds its thread by In-Reply-To / References), the subject, the
-- addresses, the full text (the message's text is the new part, the quoted history and
-- signature folded away) and the receiving server's SPF/DKIM/DMARC verdicts.
-- email_attachments: a mail's files, in order, each a media row as WhatsApp's are.
CREATE TABLE email_channels (
    id            INTEGER PRIMARY KEY,
    address       TEXT NOT NULL,
    display_name  TEXT,
    created_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX email_channels_address ON email_channels(address);

ALTER TABLE threads ADD COLUMN email_channel_id INTEGER REFERENCES email_channels(id);
CREATE INDEX threads_email_contact ON threads(contact_id, email_channel_id)
    WHERE email_channel_id IS NOT NULL;

ALTER TABLE contacts ADD COLUMN email_key TEXT;
UPDATE contacts SET email_key = lower(trim(email)) WHERE COALESCE(trim(email), '') != '';
CREATE INDEX contacts_email_key ON contacts(email_key) WHERE email_key IS NOT NULL;

CREATE TABLE email_messages (
    message_id    INTEGER PRIMARY KEY REFERENCES messages(id),
    thread_id     INTEGER NOT NULL REFERENCES threads(id),
    header_id     TEXT NOT NULL,
    subject       TEXT NOT NULL DEFAULT '',
    from_address  TEXT,
    to_addresses  TEXT NOT NULL DEFAULT '[]',
    cc_addresses  TEXT NOT NULL DEFAULT '[]',
    in_reply_to   TEXT,
    reference_ids TEXT NOT NULL DEFAULT '[]',
    full_text     TEXT NOT NULL DEFAULT '',
    auth          TEXT,
    created_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX email_messages_header ON email_messages(header_id);
CREATE INDEX email_messages_thread ON email_messages(thread_id, message_id);

CREATE TABLE email_attachments (
    message_id  INTEGER NOT NULL REFERENCES messages(id),
    position    INTEGER NOT NULL,
    media_id    INTEGER NOT NULL REFERENCES media(id),
    content_id  TEXT,
    inline      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (message_id, position)
);
