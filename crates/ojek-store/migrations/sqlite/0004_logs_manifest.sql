-- ojek store, SQLite: log settings set by app manifests. Keep in step with
-- ../postgres/0004_logs_manifest.sql.
--
-- The `logs:` section of an app's newest revision (retention, rate limit, level filter), written
-- in the transaction that saves the revision: the server parses the manifest, the store keeps
-- the values. They come before the app's own settings (`log_settings`, set in the API or UI),
-- which come before its team's. One row per app whose newest revision sets at least one field;
-- a revision without `logs:` deletes the row. NULL in a field: the manifest does not set it.
-- The row belongs to the app, whatever its team, and dies with it.
CREATE TABLE log_settings_manifest (
    app_id         INTEGER PRIMARY KEY REFERENCES apps (id) ON DELETE CASCADE,
    -- The revision whose manifest sets these values (the app's newest).
    revision       INTEGER NOT NULL,
    retention_days INTEGER CHECK (retention_days BETWEEN 1 AND 3650),
    -- Lines per second.
    rate_limit     INTEGER CHECK (rate_limit > 0),
    -- The lowest level kept.
    level_filter   TEXT    CHECK (level_filter IN ('trace', 'debug', 'info', 'warn', 'error', 'fatal')),
    CHECK (retention_days IS NOT NULL OR rate_limit IS NOT NULL OR level_filter IS NOT NULL)
);
