-- ojek store, SQLite: deployment records. Keep in step with ../postgres/0002_deployments.sql.
--
-- One row per attempt to apply (or roll back to) a revision of an app in an environment,
-- written when the attempt starts (result 'running') and finished once, with its outcome.
-- Rows are never deleted: they outlive the app (app_id becomes NULL, the name stays) so the
-- history of what was put on a cluster is kept. No foreign key on team or actor, like audit.
CREATE TABLE deployments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The app while it exists. Reads by app name go through it, so an app deleted and
    -- created again (perhaps by another team) starts with an empty history.
    app_id      INTEGER REFERENCES apps (id) ON DELETE SET NULL,
    app         TEXT    NOT NULL,
    team_id     INTEGER NOT NULL,
    environment TEXT    NOT NULL,
    target      TEXT    NOT NULL CHECK (target IN ('kubernetes', 'nomad')),
    -- Context name or address, without credentials.
    cluster     TEXT    NOT NULL,
    revision    INTEGER NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('apply', 'rollback')),
    actor_id    INTEGER,
    actor_name  TEXT    NOT NULL,
    via         TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    result      TEXT    NOT NULL CHECK (result IN
                    ('running', 'succeeded', 'failed', 'timeout', 'unreachable', 'conflict', 'partial')),
    -- Hash of what was applied (NULL when nothing was).
    hash        TEXT,
    -- One line for lists.
    summary     TEXT    NOT NULL,
    -- The deploy report (JSON), set when the attempt finishes.
    report      TEXT
);
CREATE INDEX deployments_app ON deployments (app_id, environment, id);
CREATE INDEX deployments_team ON deployments (team_id, id);
-- At most one attempt at a time per app and environment.
CREATE UNIQUE INDEX deployments_running ON deployments (app_id, environment) WHERE result = 'running';
