-- The outbox keeps what the agent asked (store/types.py OutboundRequest, as JSON), not
-- WhatsApp's request body: the channel builds its body from it at send time
-- (whatsapp/graph_bodies.py). Rows queued before this version keep their Graph API body
-- in `payload` and no `request`; they are sent as they are. New rows leave `payload` ''.
ALTER TABLE outbox ADD COLUMN request TEXT;
