-- SQLite's built-in NOCASE collation, which the store's SQL names (`name COLLATE NOCASE`,
-- sorting and comparing names and e-mail addresses without regard to case): an ICU
-- collation that compares at strength 2 (case ignored, accents not), nondeterministic so
-- that equal-but-for-case strings are equal. PostgreSQL folds the unquoted NOCASE to nocase.
CREATE COLLATION IF NOT EXISTS nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
