-- Removing (disconnecting) a mailbox keeps it: its threads and messages stay readable,
-- searchable and in the views that filter by it. email_channels.removed_at marks it
-- disconnected (NULL: in use): it is no longer fetched from, forwarded mail to its
-- address is refused, and nothing is sent from it. Connecting the same address again
-- clears it, and its old threads come back to life.
ALTER TABLE email_channels ADD COLUMN removed_at TEXT;
