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
    billable        BIGINT NOT NULL,
    messages        BIGINT NOT NULL,
    PRIMARY KEY (day, business_number, market, category, billable)
);
-- (SQLite fills both from messages priced under 0016 alone: a PostgreSQL database starts
-- empty at this series, so there is nothing to fill.)
