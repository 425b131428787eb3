-- ojek store, PostgreSQL: log streams. Keep in step with ../sqlite/0003_logs.sql.
--
-- Producer secrets let a log shipper write to a team's streams (teams are Barito's app
-- groups). Only the SHA-256 of a secret is stored. A secret names one app of its team, or none:
-- then it is good for any app of the team. An app secret is deleted with its app, and is only
-- usable while the app is in the secret's team. Revoked secrets stay, for the team's list.
CREATE TABLE log_secrets (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_id     BIGINT  NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    -- The app (id and name, apps are never renamed); both NULL for a team secret.
    app_id      BIGINT  REFERENCES apps (id) ON DELETE CASCADE,
    app         TEXT,
    name        TEXT    NOT NULL,
    secret_hash BYTEA   NOT NULL UNIQUE,
    created_at  BIGINT  NOT NULL,
    -- Username.
    created_by  TEXT    NOT NULL,
    revoked_at  BIGINT,
    CHECK ((app_id IS NULL) = (app IS NULL))
);
CREATE INDEX log_secrets_team ON log_secrets (team_id, id);
CREATE INDEX log_secrets_app ON log_secrets (app_id);
-- A name is unique among a team's unrevoked secrets (a rotation revokes before it inserts).
CREATE UNIQUE INDEX log_secrets_team_name ON log_secrets (team_id, name) WHERE revoked_at IS NULL;

-- Log settings of a team (app NULL) and overrides per app of the team. NULL in a field: not set
-- here, so the team's value (for an app) or the default applies: 30 days, no rate limit, no
-- level filter. An app's row dies with the app, and applies only while the app is in the
-- row's team.
CREATE TABLE log_settings (
    team_id        BIGINT  NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    app_id         BIGINT  REFERENCES apps (id) ON DELETE CASCADE,
    app            TEXT,
    retention_days BIGINT  CHECK (retention_days BETWEEN 1 AND 3650),
    -- Lines per second.
    rate_limit     BIGINT  CHECK (rate_limit > 0),
    -- The lowest level kept.
    level_filter   TEXT    CHECK (level_filter IN ('trace', 'debug', 'info', 'warn', 'error', 'fatal')),
    updated_at     BIGINT  NOT NULL,
    updated_by     TEXT    NOT NULL,
    CHECK ((app_id IS NULL) = (app IS NULL))
);
-- One row per team, one per app of a team.
CREATE UNIQUE INDEX log_settings_team ON log_settings (team_id) WHERE app_id IS NULL;
CREATE UNIQUE INDEX log_settings_app ON log_settings (team_id, app_id) WHERE app_id IS NOT NULL;
CREATE INDEX log_settings_app_id ON log_settings (app_id);
