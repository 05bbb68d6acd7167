-- A customer's reactions, by WhatsApp's timestamp (store/reactions.py). Meta delivers
-- out of order: a reaction may come before the message it reacts to, and a removal
-- before the add it undoes. One row per reacted-to wamid and sender holds the newest
-- add or removal seen (emoji NULL: removed), so an older one arriving late changes
-- nothing; held = 1 while the target message has not arrived (it is attached when it
-- does, or ends as a quiet event line once the hold expires).
CREATE TABLE inbound_reactions (
    target_wamid     TEXT NOT NULL,
    sender           TEXT NOT NULL,   -- the sender's BSUID, else wa_id
    sender_wa_id     TEXT,
    sender_user_id   TEXT,
    emoji            TEXT,            -- NULL: removed
    wamid            TEXT NOT NULL,   -- the reaction's own wamid
    at               TEXT NOT NULL,   -- WhatsApp's timestamp of the reaction
    phone_number_id  TEXT,
    received_at      TEXT NOT NULL,
    held             BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (target_wamid, sender)
);
CREATE INDEX inbound_reactions_held ON inbound_reactions(received_at) WHERE held = 1;
