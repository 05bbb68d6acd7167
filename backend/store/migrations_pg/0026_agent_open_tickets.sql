-- The twin of migrations/0026: each agent's routing load, kept on their row by the store.
ALTER TABLE agents ADD COLUMN open_tickets BIGINT NOT NULL DEFAULT 0;
UPDATE agents SET open_tickets = (
    SELECT COUNT(*) FROM tickets t WHERE t.owner_id = agents.id AND t.status != 'closed'
);
