-- Lookups the backend core's queries need beyond 0001.

-- set_ticket_status / set_ticket_owner update the thread of a ticket by ticket_id
CREATE INDEX threads_ticket ON threads(ticket_id);
-- the view sidebar lists views by position
CREATE INDEX views_position ON views(position, id);
-- the audit log can be filtered by action
CREATE INDEX audit_log_action ON audit_log(action, id);
