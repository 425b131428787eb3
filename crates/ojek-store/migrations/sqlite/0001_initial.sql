-- ojek store, SQLite. Keep in step with ../postgres/0001_initial.sql: same tables and
-- columns, each engine's own types. Timestamps are Unix milliseconds. Booleans are INTEGER
-- 0/1 here because sqlx's Any driver cannot read columns declared BOOLEAN in SQLite.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    is_admin      INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    created_at    INTEGER NOT NULL
);

CREATE TABLE teams (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE members (
    team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role    TEXT    NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX members_user ON members (user_id);

CREATE TABLE sessions (
    token_hash BLOB    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf       TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    team_id      INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    role         TEXT    NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    token_hash   BLOB    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
-- A name is unique among a user's unrevoked tokens.
CREATE UNIQUE INDEX api_tokens_user_name ON api_tokens (user_id, name) WHERE revoked_at IS NULL;

CREATE TABLE apps (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    team_id     INTEGER NOT NULL REFERENCES teams (id),
    -- Denormalised from the head revision so that listing never reads manifests.
    description TEXT    NOT NULL,
    -- Lower-cased in Rust (full Unicode) from name and description, for search: SQL
    -- LOWER() folds only ASCII on SQLite.
    search      TEXT    NOT NULL,
    head        INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT    NOT NULL
);
CREATE INDEX apps_team ON apps (team_id, name);

CREATE TABLE revisions (
    app_id     INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    number     INTEGER NOT NULL,
    author_id  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    author     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    message    TEXT    NOT NULL,
    manifest   TEXT    NOT NULL,
    -- JSON object: path -> content.
    files      TEXT    NOT NULL,
    PRIMARY KEY (app_id, number)
);

CREATE TABLE platform_files (
    name       TEXT    PRIMARY KEY,
    content    TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT    NOT NULL
);

-- Append-only. No foreign keys: entries outlive the users, teams and apps they mention.
CREATE TABLE audit (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    actor_id   INTEGER,
    actor_name TEXT    NOT NULL,
    via        TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    team_id    INTEGER,
    app        TEXT,
    target     TEXT    NOT NULL,
    before     TEXT,
    after      TEXT
);
CREATE INDEX audit_team ON audit (team_id, id);
CREATE INDEX audit_actor ON audit (actor_id, id);
CREATE INDEX audit_app ON audit (app, id);
