"""Full screens: inbox, search, records and record page, settings (with the channel wizard), help."""
