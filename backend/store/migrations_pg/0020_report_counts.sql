-- The twin of migrations/0020: messages per hour, number and direction, kept by a
-- trigger on every stored message (notes and event lines aside), and the indexes the
-- response-time reports read.
CREATE TABLE message_hours (
    hour            TEXT NOT NULL,
    business_number TEXT NOT NULL,
    direction       TEXT NOT NULL,
    messages        BIGINT NOT NULL,
    PRIMARY KEY (hour, business_number, direction)
);
CREATE FUNCTION message_hours_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.kind NOT IN ('note', 'event') THEN
        INSERT INTO message_hours (hour, business_number, direction, messages)
        SELECT substr(NEW.created_at, 1, 13),
            COALESCE(th.business_number, th.phone_number_id, ''), NEW.direction, 1
        FROM threads th WHERE th.id = NEW.thread_id
        ON CONFLICT (hour, business_number, direction)
            DO UPDATE SET messages = message_hours.messages + 1;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER message_hours_count AFTER INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION message_hours_count();
CREATE INDEX tickets_created ON tickets(created_at, owner_id, business_number,
    first_response_seconds, resolution_seconds, thread_id);
CREATE INDEX tickets_closed ON tickets(closed_at) WHERE closed_at IS NOT NULL;
