-- The month view's counts (GET /api/v1/usage/month), kept as statuses price our messages
-- (backend/store/statuses.py), so a month reads ~30 days × a few groups rather than a
-- scan of its messages: per day (the message's created_at date, UTC), business number,
-- market (the customer's country when the message was first priced; '' when not known),
-- category and billable (1, 0, or -1 when the status did not say).
ALTER TABLE messages ADD COLUMN pricing_market TEXT;
DROP INDEX IF EXISTS messages_priced;
CREATE TABLE pricing_daily (
    day             TEXT NOT NULL,
    business_number TEXT NOT NULL,
    market          TEXT NOT NULL,
    category        TEXT NOT NULL,
    billable        INTEGER NOT NULL,
    messages        INTEGER NOT NULL,
    PRIMARY KEY (day, business_number, market, category, billable)
);
-- messages priced under 0016 alone
UPDATE messages SET pricing_market = (
    SELECT c.country FROM threads th JOIN contacts c ON c.id = th.contact_id
    WHERE th.id = messages.thread_id)
WHERE pricing_category IS NOT NULL;
INSERT INTO pricing_daily (day, business_number, market, category, billable, messages)
SELECT substr(m.created_at, 1, 10), COALESCE(th.business_number, th.phone_number_id, ''),
    COALESCE(m.pricing_market, ''), m.pricing_category, COALESCE(m.pricing_billable, -1),
    COUNT(*)
FROM messages m JOIN threads th ON th.id = m.thread_id
WHERE m.pricing_category IS NOT NULL
GROUP BY 1, 2, 3, 4, 5;
