-- The twin of migrations/0031 (a removed mailbox is kept, marked); see there.
ALTER TABLE email_channels ADD COLUMN removed_at TEXT;
