-- ttydesk schema, version 1. Timestamps are ISO-8601 UTC text ("2026-11-26T10:00:00.000000+00:00"),
-- which sorts correctly as text. JSON columns hold compact JSON text.

CREATE TABLE agents (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    email         TEXT,
    role          TEXT NOT NULL DEFAULT 'agent',
    skills        TEXT NOT NULL DEFAULT '[]',
    team          TEXT,
    availability  TEXT NOT NULL DEFAULT 'available',
    notify        TEXT NOT NULL DEFAULT 'mine',
    bell          INTEGER NOT NULL DEFAULT 0,
    token_hash    TEXT NOT NULL UNIQUE,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX agents_name ON agents(name);

CREATE TABLE companies (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    domain      TEXT,
    properties  TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE deals (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    stage       TEXT,
    amount      REAL,
    currency    TEXT,
    properties  TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE contacts (
    id                 INTEGER PRIMARY KEY,
    first_name         TEXT,
    last_name          TEXT,
    email              TEXT,
    phone              TEXT,          -- E.164
    mobile_phone       TEXT,          -- E.164
    country            TEXT,
    wa_user_id         TEXT,          -- business-scoped user id (BSUID)
    wa_parent_user_id  TEXT,
    wa_id              TEXT,
    wa_username        TEXT,
    owner_id           INTEGER REFERENCES agents(id),
    properties         TEXT NOT NULL DEFAULT '{}',
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);
CREATE INDEX contacts_phone ON contacts(phone);
CREATE INDEX contacts_mobile_phone ON contacts(mobile_phone);
CREATE INDEX contacts_wa_user_id ON contacts(wa_user_id);
CREATE INDEX contacts_wa_parent_user_id ON contacts(wa_parent_user_id);
CREATE INDEX contacts_wa_id ON contacts(wa_id);
CREATE INDEX contacts_updated ON contacts(updated_at, id);

-- contact ↔ company / deal / ticket
CREATE TABLE associations (
    contact_id   INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    object_type  TEXT NOT NULL,     -- company | deal | ticket
    object_id    INTEGER NOT NULL,
    PRIMARY KEY (contact_id, object_type, object_id)
);
CREATE INDEX associations_object ON associations(object_type, object_id);

CREATE TABLE channels (
    id                 INTEGER PRIMARY KEY,
    type               TEXT NOT NULL DEFAULT 'WHATSAPP',
    waba_id            TEXT NOT NULL,
    access_token       TEXT NOT NULL,  -- a secret: never returned by the API
    legal_name         TEXT NOT NULL,
    display_name       TEXT NOT NULL,
    business           TEXT NOT NULL DEFAULT '{}',
    profile            TEXT NOT NULL DEFAULT '{}',
    verified_business  INTEGER NOT NULL DEFAULT 0,
    status             TEXT NOT NULL DEFAULT 'pending',
    status_reason      TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);
CREATE UNIQUE INDEX channels_waba ON channels(waba_id);

CREATE TABLE phone_numbers (
    id                        INTEGER PRIMARY KEY,
    channel_id                INTEGER NOT NULL REFERENCES channels(id),
    phone_number_id           TEXT NOT NULL UNIQUE,
    display_phone_number      TEXT NOT NULL,
    verified_name             TEXT,
    code_verification_status  TEXT,
    quality_rating            TEXT,
    destination               TEXT NOT NULL DEFAULT 'help_desk',
    status                    TEXT NOT NULL DEFAULT 'pending',
    connected_at              TEXT,
    disconnected_at           TEXT,
    created_at                TEXT NOT NULL
);

CREATE TABLE tickets (
    id                      INTEGER PRIMARY KEY,
    subject                 TEXT NOT NULL,
    status                  TEXT NOT NULL DEFAULT 'new',
    priority                TEXT NOT NULL DEFAULT 'medium',
    owner_id                INTEGER REFERENCES agents(id),
    pipeline                TEXT NOT NULL DEFAULT 'support',
    original_channel_type   TEXT NOT NULL DEFAULT 'WHATSAPP',
    thread_id               INTEGER,
    contact_id              INTEGER REFERENCES contacts(id),
    business_number         TEXT,
    contact_wa_id           TEXT,
    needs_review            INTEGER NOT NULL DEFAULT 0,
    first_inbound_at        TEXT,
    last_inbound_at         TEXT,
    session_expires_at      TEXT,
    first_response_seconds  INTEGER,
    inbound_count           INTEGER NOT NULL DEFAULT 0,
    outbound_count          INTEGER NOT NULL DEFAULT 0,
    last_delivery_status    TEXT,
    created_at              TEXT NOT NULL,
    updated_at              TEXT NOT NULL,
    closed_at               TEXT
);
CREATE INDEX tickets_owner_status ON tickets(owner_id, status);
CREATE INDEX tickets_status ON tickets(status);
CREATE INDEX tickets_contact ON tickets(contact_id);

CREATE TABLE threads (
    id                      INTEGER PRIMARY KEY,
    channel_type            TEXT NOT NULL DEFAULT 'WHATSAPP',
    phone_number_id         TEXT,
    business_number         TEXT,
    contact_id              INTEGER NOT NULL REFERENCES contacts(id),
    ticket_id               INTEGER NOT NULL REFERENCES tickets(id),
    -- denormalised for the thread list: one index scan per page
    status                  TEXT NOT NULL DEFAULT 'new',
    owner_id                INTEGER,
    last_message_at         TEXT,
    last_message_preview    TEXT,
    last_message_direction  TEXT,
    unread_count            INTEGER NOT NULL DEFAULT 0,
    session_expires_at      TEXT,
    session_counted         INTEGER NOT NULL DEFAULT 0,  -- pre-2024-11 usage rule
    created_at              TEXT NOT NULL
);
CREATE INDEX threads_recent ON threads(last_message_at DESC, id DESC);
CREATE INDEX threads_status_recent ON threads(status, last_message_at DESC, id DESC);
CREATE INDEX threads_owner_recent ON threads(owner_id, last_message_at DESC, id DESC);
CREATE INDEX threads_contact ON threads(contact_id, phone_number_id);

CREATE TABLE media (
    id           INTEGER PRIMARY KEY,
    external_id  TEXT,                 -- Meta's media id
    direction    TEXT NOT NULL,        -- in | out
    mime_type    TEXT,
    filename     TEXT,
    size         INTEGER,
    sha256       TEXT,
    path         TEXT,                 -- under the data dir
    state        TEXT NOT NULL DEFAULT 'pending',
    error        TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    phone_number_id TEXT,
    created_at   TEXT NOT NULL
);
CREATE INDEX media_external ON media(external_id);
CREATE INDEX media_pending ON media(state) WHERE state = 'pending';

CREATE TABLE messages (
    id                  INTEGER PRIMARY KEY,
    thread_id           INTEGER NOT NULL REFERENCES threads(id),
    direction           TEXT NOT NULL,
    kind                TEXT NOT NULL,
    text                TEXT,
    author_id           INTEGER REFERENCES agents(id),
    wamid               TEXT,
    client_id           TEXT,
    status              TEXT,
    error_code          INTEGER,
    error_message       TEXT,
    reply_to_id         INTEGER,
    reply_to_wamid      TEXT,
    forwarded           INTEGER NOT NULL DEFAULT 0,
    media_id            INTEGER REFERENCES media(id),
    caption             TEXT,
    content             TEXT NOT NULL DEFAULT '{}',  -- location, contacts, order, template, event details
    unsupported_reason  TEXT,
    quarantine_rule     TEXT,
    quarantine_revealed INTEGER NOT NULL DEFAULT 0,
    from_number         TEXT,
    to_number           TEXT,
    raw                 TEXT,                        -- the webhook payload as received
    created_at          TEXT NOT NULL,
    sent_at             TEXT,
    delivered_at        TEXT,
    read_at             TEXT,
    failed_at           TEXT
);
CREATE UNIQUE INDEX messages_wamid ON messages(wamid) WHERE wamid IS NOT NULL;
CREATE UNIQUE INDEX messages_client_id ON messages(thread_id, client_id) WHERE client_id IS NOT NULL;
CREATE INDEX messages_thread ON messages(thread_id, id DESC);

CREATE TABLE reactions (
    message_id  INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    by          TEXT NOT NULL,                -- in (contact) | out (agent)
    agent_id    INTEGER NOT NULL DEFAULT 0,   -- 0 for the contact
    emoji       TEXT NOT NULL,
    wamid       TEXT,
    at          TEXT NOT NULL,
    PRIMARY KEY (message_id, by, agent_id)
);

-- status webhooks applied, for idempotency by wamid + status
CREATE TABLE status_receipts (
    wamid   TEXT NOT NULL,
    status  TEXT NOT NULL,
    at      TEXT NOT NULL,
    PRIMARY KEY (wamid, status)
);

-- the send queue: a row per outbound message not yet settled
CREATE TABLE outbox (
    message_id    INTEGER PRIMARY KEY REFERENCES messages(id),
    state         TEXT NOT NULL DEFAULT 'pending',  -- pending | in_flight | ambiguous | done
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_attempt  TEXT NOT NULL,
    payload       TEXT NOT NULL,                    -- the Graph API request body
    phone_number_id TEXT NOT NULL,
    last_error    TEXT,
    updated_at    TEXT NOT NULL
);
CREATE INDEX outbox_due ON outbox(state, next_attempt);

CREATE TABLE ticket_timeline (
    id          INTEGER PRIMARY KEY,
    ticket_id   INTEGER NOT NULL REFERENCES tickets(id),
    at          TEXT NOT NULL,
    actor_id    INTEGER,
    action      TEXT NOT NULL,
    old         TEXT,
    new         TEXT
);
CREATE INDEX ticket_timeline_ticket ON ticket_timeline(ticket_id, id);

CREATE TABLE views (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    sharing     TEXT NOT NULL DEFAULT 'private',
    owner_id    INTEGER NOT NULL REFERENCES agents(id),
    team        TEXT,
    filters     TEXT NOT NULL DEFAULT '[]',
    position    INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE templates (
    id                INTEGER PRIMARY KEY,
    waba_id           TEXT,
    external_id       TEXT,
    name              TEXT NOT NULL,
    language          TEXT NOT NULL,
    status            TEXT NOT NULL,
    category          TEXT,
    parameter_format  TEXT NOT NULL DEFAULT 'POSITIONAL',
    components        TEXT NOT NULL DEFAULT '[]',
    variable_mapping  TEXT NOT NULL DEFAULT '{}',
    updated_at        TEXT NOT NULL
);
CREATE UNIQUE INDEX templates_name_lang ON templates(name, language);

CREATE TABLE inserts (
    id      INTEGER PRIMARY KEY,
    kind    TEXT NOT NULL,
    title   TEXT NOT NULL,
    body    TEXT NOT NULL DEFAULT '',
    url     TEXT,
    tags    TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX inserts_kind ON inserts(kind, title);

-- a row per business-initiated conversation counted against the usage limit
CREATE TABLE usage_records (
    id          INTEGER PRIMARY KEY,
    message_id  INTEGER,
    thread_id   INTEGER,
    contact_id  INTEGER,
    at          TEXT NOT NULL,
    business_initiated INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX usage_records_at ON usage_records(at);

CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor_id  INTEGER,
    action    TEXT NOT NULL,
    target    TEXT,
    detail    TEXT NOT NULL DEFAULT '{}'
);

-- webhook bookkeeping: dropped events and signature failures are counted
CREATE TABLE counters (
    name   TEXT PRIMARY KEY,
    value  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE settings_kv (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

-- every committed change, in commit order; clients replay from here
CREATE TABLE events (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    type     TEXT NOT NULL,
    payload  TEXT NOT NULL,   -- the whole {"seq","type","data"} frame, encoded once
    at       TEXT NOT NULL
);

-- full-text search; rowid = the message / contact / ticket id. Quarantined text is never indexed.
CREATE VIRTUAL TABLE messages_fts USING fts5(body, tokenize = 'unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE contacts_fts USING fts5(body, tokenize = 'unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE tickets_fts USING fts5(body, tokenize = 'unicode61 remove_diacritics 2');
