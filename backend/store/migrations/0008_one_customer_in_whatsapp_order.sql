-- A thread's messages are listed in WhatsApp's timestamp order, arrival breaking ties
-- (threads.list_messages: a message delivered late is shown in its place). The index by
-- id alone is replaced, not joined: every inbound message writes each index of messages.
CREATE INDEX messages_thread_time ON messages(thread_id, created_at, id);
DROP INDEX messages_thread;
-- Meta delivers late and out of order: a contact's WhatsApp identity (ids, username) is
-- changed only by a message newer than the one that last set it (wa_identity_at, the
-- WhatsApp timestamp of that message; conversations.apply_whatsapp_identity), and the ids
-- it had before are remembered, so a message sent from the old number and delivered after
-- the change still finds its customer (conversations.find_whatsapp_contact).
ALTER TABLE contacts ADD COLUMN wa_identity_at TEXT;
CREATE TABLE contact_former_ids (
    value       TEXT NOT NULL,     -- a wa_id, BSUID or parent BSUID the contact had
    contact_id  INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    until       TEXT NOT NULL,     -- the WhatsApp timestamp of the change that replaced it
    PRIMARY KEY (value, contact_id)
);
-- The wa_id is looked up like the BSUIDs (migration 0006): the newest contact first.
DROP INDEX contacts_wa_id;
CREATE INDEX contacts_wa_id ON contacts(wa_id, updated_at);

-- One customer is one contact. A wa_id the phone library refused (a range its metadata
-- lacks) used to give a new contact, thread and ticket for every message. Contacts that
-- share a WhatsApp id (wa_id, BSUID or parent BSUID, directly or through each other) are
-- merged into the oldest; its open tickets on a business number into the oldest open one
-- there. Nothing is deleted: threads, tickets, messages and associations move to the
-- surviving contact and ticket; the other contacts keep their fields but lose the
-- WhatsApp identity (properties.merged_into names the survivor); merged tickets are
-- closed, with a "merged" line on both timelines; closed tickets stay as they are.
CREATE TEMP TABLE merge_keys AS
    SELECT id AS contact_id, 'w' || wa_id AS key FROM contacts WHERE COALESCE(wa_id, '') != ''
    UNION SELECT id, 'u' || wa_user_id FROM contacts WHERE COALESCE(wa_user_id, '') != ''
    UNION SELECT id, 'p' || wa_parent_user_id FROM contacts
        WHERE COALESCE(wa_parent_user_id, '') != '';
CREATE INDEX temp.merge_keys_contact ON merge_keys(contact_id, key);
-- the keys of one contact are linked; a group is every key reachable (its smallest names it)
CREATE TEMP TABLE merge_links AS
    SELECT DISTINCT a.key AS key, b.key AS other
    FROM merge_keys a JOIN merge_keys b ON b.contact_id = a.contact_id;
CREATE INDEX temp.merge_links_key ON merge_links(key, other);
CREATE TEMP TABLE merge_groups AS
    WITH RECURSIVE reach(key, other) AS (
        SELECT DISTINCT key, key FROM merge_keys
        UNION SELECT reach.key, l.other FROM reach JOIN merge_links l ON l.key = reach.other)
    SELECT key, MIN(other) AS grp FROM reach GROUP BY key;
-- every contact of a group of two or more, with the group's oldest contact
CREATE TEMP TABLE merge_members AS
    WITH member AS (
        SELECT k.contact_id, MIN(g.grp) AS grp
        FROM merge_keys k JOIN merge_groups g ON g.key = k.key GROUP BY k.contact_id),
    survivor AS (
        SELECT grp, MIN(contact_id) AS survivor FROM member GROUP BY grp HAVING COUNT(*) > 1)
    SELECT m.contact_id, s.survivor FROM member m JOIN survivor s ON s.grp = m.grp;
CREATE INDEX temp.merge_members_survivor ON merge_members(survivor, contact_id);

-- the survivor: the WhatsApp identity of the most recently updated contact of the group
-- that has one, the other fields its own, else the most recently updated others'
UPDATE contacts SET
    wa_id = (SELECT c.wa_id FROM merge_members mm JOIN contacts c ON c.id = mm.contact_id
        WHERE mm.survivor = contacts.id AND COALESCE(c.wa_id, '') != ''
        ORDER BY c.updated_at DESC, c.id DESC LIMIT 1),
    wa_user_id = COALESCE((SELECT c.wa_user_id FROM merge_members mm
        JOIN contacts c ON c.id = mm.contact_id
        WHERE mm.survivor = contacts.id AND COALESCE(c.wa_user_id, '') != ''
        ORDER BY c.updated_at DESC, c.id DESC LIMIT 1), wa_user_id),
    wa_parent_user_id = COALESCE((SELECT c.wa_parent_user_id FROM merge_members mm
        JOIN contacts c ON c.id = mm.contact_id
        WHERE mm.survivor = contacts.id AND COALESCE(c.wa_parent_user_id, '') != ''
        ORDER BY c.updated_at DESC, c.id DESC LIMIT 1), wa_parent_user_id),
    wa_username = COALESCE((SELECT c.wa_username FROM merge_members mm
        JOIN contacts c ON c.id = mm.contact_id
        WHERE mm.survivor = contacts.id AND COALESCE(c.wa_username, '') != ''
        ORDER BY c.updated_at DESC, c.id DESC LIMIT 1), wa_username),
    first_name = COALESCE(NULLIF(first_name, ''), (SELECT c.first_name FROM merge_members mm
        JOIN contacts c ON c.id = mm.contact_id
        WHERE mm.survivor = contacts.id AND COALESCE(c.first_name, '') != ''
        ORDER BY c.updated_at DESC, c.id DESC LIMIT 1)),
    last_name = COALESCE(NULLIF(last_name, ''), (SELECT c.last_name FROM merge_members mm
        JOIN contacts c ON c.id = mm.contact_id
        WHERE mm.survivor = contacts.id AND COALESCE(c.last_name, '') != ''
        ORDER BY c.updated_at DESC, c.id DESC LIMIT 1)),
    email = COALESCE(NULLIF(email, ''), (SELECT c.email FROM merge_members mm
        JOIN contacts c ON c.id = mm.contact_id
        WHERE mm.survivor = contacts.id AND COALESCE(c.email, '') != ''
        ORDER BY c.updated_at DESC, c.id DESC LIMIT 1)),
    phone = COALESCE(NULLIF(phone, ''), (SELECT c.phone FROM merge_members mm
        JOIN contacts c ON c.id = mm.contact_id
        WHERE mm.survivor = contacts.id AND COALESCE(c.phone, '') != ''
        ORDER BY c.updated_at DESC, c.id DESC LIMIT 1)),
    mobile_phone = COALESCE(NULLIF(mobile_phone, ''), (SELECT c.mobile_phone
        FROM merge_members mm JOIN contacts c ON c.id = mm.contact_id
        WHERE mm.survivor = contacts.id AND COALESCE(c.mobile_phone, '') != ''
        ORDER BY c.updated_at DESC, c.id DESC LIMIT 1)),
    country = COALESCE(NULLIF(country, ''), (SELECT c.country FROM merge_members mm
        JOIN contacts c ON c.id = mm.contact_id
        WHERE mm.survivor = contacts.id AND COALESCE(c.country, '') != ''
        ORDER BY c.updated_at DESC, c.id DESC LIMIT 1)),
    owner_id = COALESCE(owner_id, (SELECT c.owner_id FROM merge_members mm
        JOIN contacts c ON c.id = mm.contact_id
        WHERE mm.survivor = contacts.id AND c.owner_id IS NOT NULL
        ORDER BY c.updated_at DESC, c.id DESC LIMIT 1)),
    updated_at = (SELECT MAX(c.updated_at) FROM merge_members mm
        JOIN contacts c ON c.id = mm.contact_id WHERE mm.survivor = contacts.id)
WHERE id IN (SELECT survivor FROM merge_members);
-- the group's other ids still find the customer (conversations.find_whatsapp_contact)
INSERT OR IGNORE INTO contact_former_ids (value, contact_id, until)
    SELECT substr(k.key, 2), mm.survivor, MAX(c.updated_at)
    FROM merge_keys k
    JOIN merge_members mm ON mm.contact_id = k.contact_id
    JOIN contacts c ON c.id = k.contact_id
    JOIN contacts s ON s.id = mm.survivor
    WHERE substr(k.key, 2) NOT IN (COALESCE(s.wa_id, ''), COALESCE(s.wa_user_id, ''),
        COALESCE(s.wa_parent_user_id, ''))
    GROUP BY 1, 2;
UPDATE contacts SET wa_id = NULL, wa_user_id = NULL, wa_parent_user_id = NULL,
    wa_username = NULL,
    properties = json_set(CASE WHEN json_valid(properties) THEN properties ELSE '{}' END,
        '$.merged_into', (SELECT survivor FROM merge_members WHERE contact_id = contacts.id))
WHERE id IN (SELECT contact_id FROM merge_members WHERE contact_id != survivor);

-- everything of the others is the survivor's
UPDATE threads SET contact_id = mm.survivor FROM merge_members mm
    WHERE threads.contact_id = mm.contact_id AND mm.contact_id != mm.survivor;
UPDATE tickets SET contact_id = mm.survivor FROM merge_members mm
    WHERE tickets.contact_id = mm.contact_id AND mm.contact_id != mm.survivor;
UPDATE usage_records SET contact_id = mm.survivor FROM merge_members mm
    WHERE usage_records.contact_id = mm.contact_id AND mm.contact_id != mm.survivor;
INSERT OR IGNORE INTO associations (contact_id, object_type, object_id)
    SELECT mm.survivor, a.object_type, a.object_id
    FROM associations a JOIN merge_members mm ON mm.contact_id = a.contact_id
    WHERE mm.contact_id != mm.survivor;
DELETE FROM associations
    WHERE contact_id IN (SELECT contact_id FROM merge_members WHERE contact_id != survivor);

-- the survivor's open tickets on one business number: the oldest takes the others' thread
CREATE TEMP TABLE ticket_merge AS
    WITH open AS (
        SELECT th.id AS thread_id, th.ticket_id, th.contact_id, th.phone_number_id
        FROM threads th JOIN tickets t ON t.id = th.ticket_id
        WHERE t.status != 'closed' AND th.contact_id IN (SELECT survivor FROM merge_members)),
    oldest AS (
        SELECT contact_id, phone_number_id, MIN(ticket_id) AS ticket_id
        FROM open GROUP BY contact_id, phone_number_id)
    SELECT o.ticket_id AS merged_ticket, o.thread_id AS merged_thread,
        s.ticket_id AS ticket_id,
        (SELECT thread_id FROM open WHERE ticket_id = s.ticket_id) AS thread_id
    FROM open o JOIN oldest s
        ON s.contact_id = o.contact_id AND s.phone_number_id IS o.phone_number_id
    WHERE o.ticket_id != s.ticket_id;
CREATE INDEX temp.ticket_merge_thread ON ticket_merge(thread_id, merged_thread);
UPDATE messages SET thread_id = tm.thread_id FROM ticket_merge tm
    WHERE messages.thread_id = tm.merged_thread;
UPDATE usage_records SET thread_id = tm.thread_id FROM ticket_merge tm
    WHERE usage_records.thread_id = tm.merged_thread;
-- the surviving thread's activity covers its messages now (the list follows the newest)
UPDATE threads SET
    inbound_count = (SELECT SUM(l.inbound_count) FROM threads l
        WHERE l.id = threads.id OR l.id IN (
            SELECT merged_thread FROM ticket_merge WHERE thread_id = threads.id)),
    unread_count = (SELECT SUM(l.unread_count) FROM threads l
        WHERE l.id = threads.id OR l.id IN (
            SELECT merged_thread FROM ticket_merge WHERE thread_id = threads.id)),
    first_inbound_at = (SELECT MIN(l.first_inbound_at) FROM threads l
        WHERE l.id = threads.id OR l.id IN (
            SELECT merged_thread FROM ticket_merge WHERE thread_id = threads.id)),
    last_inbound_at = (SELECT MAX(l.last_inbound_at) FROM threads l
        WHERE l.id = threads.id OR l.id IN (
            SELECT merged_thread FROM ticket_merge WHERE thread_id = threads.id)),
    inbound_stored_at = (SELECT MAX(l.inbound_stored_at) FROM threads l
        WHERE l.id = threads.id OR l.id IN (
            SELECT merged_thread FROM ticket_merge WHERE thread_id = threads.id)),
    session_expires_at = (SELECT MAX(l.session_expires_at) FROM threads l
        WHERE l.id = threads.id OR l.id IN (
            SELECT merged_thread FROM ticket_merge WHERE thread_id = threads.id)),
    last_message_at = (SELECT l.last_message_at FROM threads l
        WHERE l.id = threads.id OR l.id IN (
            SELECT merged_thread FROM ticket_merge WHERE thread_id = threads.id)
        ORDER BY l.last_message_at DESC, l.id DESC LIMIT 1),
    last_message_preview = (SELECT l.last_message_preview FROM threads l
        WHERE l.id = threads.id OR l.id IN (
            SELECT merged_thread FROM ticket_merge WHERE thread_id = threads.id)
        ORDER BY l.last_message_at DESC, l.id DESC LIMIT 1),
    last_message_direction = (SELECT l.last_message_direction FROM threads l
        WHERE l.id = threads.id OR l.id IN (
            SELECT merged_thread FROM ticket_merge WHERE thread_id = threads.id)
        ORDER BY l.last_message_at DESC, l.id DESC LIMIT 1)
WHERE id IN (SELECT thread_id FROM ticket_merge);
UPDATE tickets SET
    outbound_count = outbound_count + (SELECT SUM(m.outbound_count) FROM tickets m
        WHERE m.id IN (SELECT merged_ticket FROM ticket_merge WHERE ticket_id = tickets.id)),
    needs_review = MAX(needs_review, (SELECT MAX(m.needs_review) FROM tickets m
        WHERE m.id IN (SELECT merged_ticket FROM ticket_merge WHERE ticket_id = tickets.id))),
    first_response_seconds = (SELECT MIN(m.first_response_seconds) FROM tickets m
        WHERE m.id = tickets.id OR m.id IN (
            SELECT merged_ticket FROM ticket_merge WHERE ticket_id = tickets.id))
WHERE id IN (SELECT ticket_id FROM ticket_merge);
INSERT INTO ticket_timeline (ticket_id, at, actor_id, action, old, new)
    SELECT ticket_id, strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000+00:00', NULL,
        'merged', merged_ticket, ticket_id
    FROM ticket_merge ORDER BY ticket_id, merged_ticket;
INSERT INTO ticket_timeline (ticket_id, at, actor_id, action, old, new)
    SELECT tm.merged_ticket, strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000+00:00', NULL,
        step.action, CASE step.n WHEN 1 THEN tm.merged_ticket ELSE t.status END,
        CASE step.n WHEN 1 THEN tm.ticket_id ELSE 'closed' END
    FROM ticket_merge tm JOIN tickets t ON t.id = tm.merged_ticket
    CROSS JOIN (SELECT 1 AS n, 'merged' AS action UNION ALL SELECT 2, 'status_changed') step
    ORDER BY tm.merged_ticket, step.n;
UPDATE tickets SET status = 'closed',
    closed_at = strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000+00:00'
WHERE id IN (SELECT merged_ticket FROM ticket_merge);
UPDATE threads SET status = 'closed', inbound_count = 0, unread_count = 0,
    first_inbound_at = NULL, last_inbound_at = NULL, session_expires_at = NULL,
    last_message_at = NULL, last_message_preview = NULL, last_message_direction = NULL
WHERE id IN (SELECT merged_thread FROM ticket_merge);
UPDATE tickets SET contact_wa_id = COALESCE(NULLIF(c.wa_id, ''), c.wa_user_id)
    FROM contacts c
    WHERE c.id = tickets.contact_id AND tickets.status != 'closed'
        AND c.id IN (SELECT survivor FROM merge_members);

-- the contacts' search index (conversations.index_contact)
DELETE FROM contacts_fts WHERE rowid IN (SELECT contact_id FROM merge_members);
INSERT INTO contacts_fts (rowid, body)
    SELECT c.id, trim(COALESCE(NULLIF(c.first_name, '') || ' ', '')
        || COALESCE(NULLIF(c.last_name, '') || ' ', '') || COALESCE(NULLIF(c.email, '') || ' ', '')
        || COALESCE(NULLIF(c.phone, '') || ' ', '')
        || COALESCE(NULLIF(c.mobile_phone, '') || ' ', '')
        || COALESCE(NULLIF(c.wa_id, '') || ' ', '') || COALESCE(NULLIF(c.wa_username, '') || ' ', '')
        || COALESCE(ltrim(NULLIF(c.phone, ''), '+') || ' ', '')
        || COALESCE(ltrim(NULLIF(c.mobile_phone, ''), '+'), ''))
    FROM contacts c WHERE c.id IN (SELECT contact_id FROM merge_members);

DROP TABLE temp.ticket_merge;
DROP TABLE temp.merge_members;
DROP TABLE temp.merge_groups;
DROP TABLE temp.merge_links;
DROP TABLE temp.merge_keys;
