//! The `Store`: SQL over sqlx's `Any` driver, written once with `$n` placeholders for both
//! engines. Every mutation is one transaction that also appends its audit entry.
//!
//! Write transactions start with a write: on SQLite `BEGIN IMMEDIATE` takes the write lock up
//! front (a deferred transaction that reads first can fail with `SQLITE_BUSY` when it tries to
//! upgrade), and on PostgreSQL (READ COMMITTED) the first statement of the read-modify-write
//! methods updates or locks the row it depends on, so concurrent writers queue behind it.

use serde_json::json;
use sqlx::AnyConnection;
use sqlx::{Any, AnyPool, Transaction};

use crate::error::{is_foreign_key_violation, map, map_named};
use crate::rows::{self, Param, Params, now_ms};
use crate::rows::{APP_COLS, AUDIT_COLS, PLATFORM_COLS, REVISION_COLS, REVISION_META_COLS, TEAM_COLS};
use crate::rows::{TOKEN_COLS, USER_COLS};
use crate::*;

mod deployments;
mod logs;

/// How often a token's `last_used_at` is written at most (ms).
const LAST_USED_EVERY_MS: i64 = 60_000;

/// The store. Cheap to clone (a connection pool).
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    kind: DbKind,
}

/// An audit entry to append inside a mutation's transaction.
struct Audit<'a> {
    action: &'a str,
    team_id: Option<i64>,
    app: Option<&'a str>,
    target: String,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
}

/// The extra audit entry a new revision carries (`NewRevision::also_audit`), in its
/// transaction.
async fn append_also_audit(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    actor: &Actor,
    now: i64,
    new: &NewRevision,
    number: i64,
) -> Result<(), StoreError> {
    let Some(also) = &new.also_audit else {
        return Ok(());
    };
    let entry = Audit {
        action: &also.action,
        team_id: Some(new.team_id),
        app: Some(&new.app),
        target: format!("app {} rev {number}: {}", new.app, also.detail),
        before: None,
        after: None,
    };
    append_audit(tx, actor, now, entry).await
}

impl Store {
    /// Opens (creating a SQLite file if missing) and migrates. `url`: `sqlite:///path/ojek.db`
    /// (or `sqlite://relative.db`) or `postgres://user:pw@host:port/db`. Pool acquire timeout is
    /// short (3 s) so a database that is down is reported quickly as `Unavailable`.
    pub async fn open(url: &str) -> Result<Store> {
        let (pool, kind) = crate::db::open(url).await?;
        Ok(Store { pool, kind })
    }
    /// The engine.
    pub fn kind(&self) -> DbKind {
        self.kind
    }
    /// `SELECT 1`: `Unavailable` when the database cannot be reached.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(map)?;
        Ok(())
    }
    /// Closes every connection; later calls fail with `Unavailable` (graceful shutdown, tests).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a write transaction (see the module docs).
    async fn begin_write(&self) -> Result<Transaction<'static, Any>> {
        match self.kind {
            DbKind::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            DbKind::Postgres => self.pool.begin().await,
        }
        .map_err(map)
    }

    // ---- users

    /// Creates a user (audited as `user.create`, without the hash). `AlreadyExists` if taken.
    pub async fn create_user(
        &self,
        username: &str,
        display_name: &str,
        password_hash: &str,
        is_admin: bool,
        actor: &Actor,
    ) -> Result<User> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (username, display_name, password_hash, is_admin, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(username)
        .bind(display_name)
        .bind(password_hash)
        .bind(is_admin)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| map_named(e, || format!("user {username}")))?;
        let user = User {
            id,
            username: username.to_owned(),
            display_name: display_name.to_owned(),
            is_admin,
            created_at: now,
        };
        let audit = Audit {
            action: "user.create",
            team_id: None,
            app: None,
            target: format!("user {username}"),
            before: None,
            after: Some(json!({"username": username, "displayName": display_name, "isAdmin": is_admin})),
        };
        append_audit(&mut tx, actor, now, audit).await?;
        tx.commit().await.map_err(map)?;
        Ok(user)
    }
    /// A user and their password hash, by login name.
    pub async fn user_by_name(&self, username: &str) -> Result<Option<(User, String)>> {
        let sql = format!("SELECT {USER_COLS}, u.password_hash FROM users u WHERE u.username = $1");
        let row = sqlx::query(&sql)
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(map)?;
        row.map(|row| {
            let hash =
                sqlx::Row::try_get(&row, "password_hash").map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Ok((rows::user(&row)?, hash))
        })
        .transpose()
    }
    /// A user by id.
    pub async fn user(&self, id: i64) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users u WHERE u.id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map)?;
        row.as_ref().map(rows::user).transpose()
    }
    /// All users, by username.
    pub async fn users(&self) -> Result<Vec<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users u ORDER BY u.username");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await.map_err(map)?;
        rows.iter().map(rows::user).collect()
    }
    /// Number of users (first start creates the admin when 0).
    pub async fn count_users(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await
            .map_err(map)
    }
    /// Replaces a password hash and ends the user's sessions (audited `user.password`).
    pub async fn set_password(&self, user_id: i64, password_hash: &str, actor: &Actor) -> Result<()> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let username: Option<String> =
            sqlx::query_scalar("UPDATE users SET password_hash = $1 WHERE id = $2 RETURNING username")
                .bind(password_hash)
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map)?;
        let username = username.ok_or_else(|| StoreError::NotFound(format!("user {user_id}")))?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(map)?;
        let audit = Audit {
            action: "user.password",
            team_id: None,
            app: None,
            target: format!("user {username}"),
            before: None,
            after: None,
        };
        append_audit(&mut tx, actor, now, audit).await?;
        tx.commit().await.map_err(map)
    }

    // ---- teams

    /// Creates a team (audited `team.create`). `AlreadyExists` if taken.
    pub async fn create_team(&self, name: &str, actor: &Actor) -> Result<Team> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar("INSERT INTO teams (name, created_at) VALUES ($1, $2) RETURNING id")
            .bind(name)
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| map_named(e, || format!("team {name}")))?;
        let audit = Audit {
            action: "team.create",
            team_id: Some(id),
            app: None,
            target: format!("team {name}"),
            before: None,
            after: Some(json!({"name": name})),
        };
        append_audit(&mut tx, actor, now, audit).await?;
        tx.commit().await.map_err(map)?;
        Ok(Team {
            id,
            name: name.to_owned(),
            created_at: now,
        })
    }
    /// All teams, by name.
    pub async fn teams(&self) -> Result<Vec<Team>> {
        let sql = format!("SELECT {TEAM_COLS} FROM teams t ORDER BY t.name");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await.map_err(map)?;
        rows.iter().map(rows::team).collect()
    }
    /// A team by name.
    pub async fn team_by_name(&self, name: &str) -> Result<Option<Team>> {
        let sql = format!("SELECT {TEAM_COLS} FROM teams t WHERE t.name = $1");
        let row = sqlx::query(&sql)
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(map)?;
        row.as_ref().map(rows::team).transpose()
    }
    /// Sets (`Some`) or removes (`None`) a user's role in a team (audited `member.set` /
    /// `member.remove` with before/after role). `NotFound` if team or user is missing.
    /// Setting the role a user already has, or removing a non-member, changes nothing and
    /// writes no audit entry.
    pub async fn set_member(
        &self,
        team_id: i64,
        user_id: i64,
        role: Option<Role>,
        actor: &Actor,
    ) -> Result<()> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        // A no-op update locks the team row: concurrent membership changes of one team run one
        // after the other, so each reads the role the previous one wrote.
        let team: Option<String> =
            sqlx::query_scalar("UPDATE teams SET name = name WHERE id = $1 RETURNING name")
                .bind(team_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map)?;
        let team = team.ok_or_else(|| StoreError::NotFound(format!("team {team_id}")))?;
        let username: Option<String> = sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map)?;
        let username = username.ok_or_else(|| StoreError::NotFound(format!("user {user_id}")))?;
        let before: Option<String> =
            sqlx::query_scalar("SELECT role FROM members WHERE team_id = $1 AND user_id = $2")
                .bind(team_id)
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map)?;
        let before = before
            .as_deref()
            .map(|r| Role::parse(r).ok_or_else(|| corrupt_role(r)))
            .transpose()?;
        if before == role {
            return Ok(());
        }
        let action = match role {
            Some(role) => {
                sqlx::query(
                    "INSERT INTO members (team_id, user_id, role) VALUES ($1, $2, $3) \
                     ON CONFLICT (team_id, user_id) DO UPDATE SET role = excluded.role",
                )
                .bind(team_id)
                .bind(user_id)
                .bind(role.as_str())
                .execute(&mut *tx)
                .await
                .map_err(map)?;
                "member.set"
            }
            None => {
                sqlx::query("DELETE FROM members WHERE team_id = $1 AND user_id = $2")
                    .bind(team_id)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(map)?;
                "member.remove"
            }
        };
        let role_json = |r: Option<Role>| r.map(|r| json!({"role": r.as_str()}));
        let audit = Audit {
            action,
            team_id: Some(team_id),
            app: None,
            target: format!("member {username} of team {team}"),
            before: role_json(before),
            after: role_json(role),
        };
        append_audit(&mut tx, actor, now, audit).await?;
        tx.commit().await.map_err(map)
    }
    /// A user's teams and roles, by team name.
    pub async fn memberships_of(&self, user_id: i64) -> Result<Vec<Membership>> {
        self.memberships("m.user_id = $1 ORDER BY t.name", user_id).await
    }
    /// A team's members, by username.
    pub async fn members(&self, team_id: i64) -> Result<Vec<Membership>> {
        self.memberships("m.team_id = $1 ORDER BY u.username", team_id)
            .await
    }
    async fn memberships(&self, where_order: &str, id: i64) -> Result<Vec<Membership>> {
        let sql = format!(
            "SELECT {USER_COLS}, {TEAM_COLS}, m.role FROM members m \
             JOIN teams t ON t.id = m.team_id JOIN users u ON u.id = m.user_id WHERE {where_order}"
        );
        let rows = sqlx::query(&sql)
            .bind(id)
            .fetch_all(&self.pool)
            .await
            .map_err(map)?;
        rows.iter().map(rows::membership).collect()
    }

    // ---- sessions

    /// Stores a session (by the SHA-256 of its cookie token). Also forgets expired sessions.
    /// `NotFound` if the user is missing.
    pub async fn create_session(
        &self,
        token_hash: &[u8],
        user_id: i64,
        csrf: &str,
        expires_at: i64,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now_ms())
            .execute(&mut *tx)
            .await
            .map_err(map)?;
        sqlx::query("INSERT INTO sessions (token_hash, user_id, csrf, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(user_id)
            .bind(csrf)
            .bind(expires_at)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                if is_foreign_key_violation(&e) {
                    StoreError::NotFound(format!("user {user_id}"))
                } else {
                    map_named(e, || "a session with this token".into())
                }
            })?;
        tx.commit().await.map_err(map)
    }
    /// A session that has not expired.
    pub async fn session(&self, token_hash: &[u8], now: i64) -> Result<Option<Session>> {
        let row = sqlx::query(
            "SELECT user_id, csrf, expires_at FROM sessions WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(map)?;
        row.as_ref().map(rows::session).transpose()
    }
    /// Ends a session.
    pub async fn delete_session(&self, token_hash: &[u8]) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map_err(map)?;
        Ok(())
    }

    // ---- API tokens

    /// Stores a token (by its SHA-256; audited `token.create`). `AlreadyExists` if the user has a
    /// token of that name (one that is revoked or expired does not count: an expired one is
    /// revoked now). `NotFound` if the user or team is missing.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_token(
        &self,
        name: &str,
        user_id: i64,
        team_id: i64,
        role: Role,
        token_hash: &[u8],
        expires_at: Option<i64>,
        actor: &Actor,
    ) -> Result<ApiToken> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND name = $3 \
             AND revoked_at IS NULL AND expires_at IS NOT NULL AND expires_at <= $1",
        )
        .bind(now)
        .bind(user_id)
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(map)?;
        // A no-op update locks the team row: concurrent membership changes of one team run one
        // after the other, so each reads the role the previous one wrote.
        let team: Option<String> =
            sqlx::query_scalar("UPDATE teams SET name = name WHERE id = $1 RETURNING name")
                .bind(team_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map)?;
        let team = team.ok_or_else(|| StoreError::NotFound(format!("team {team_id}")))?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_tokens (name, user_id, team_id, role, token_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(name)
        .bind(user_id)
        .bind(team_id)
        .bind(role.as_str())
        .bind(token_hash)
        .bind(now)
        .bind(expires_at)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            if is_foreign_key_violation(&e) {
                StoreError::NotFound(format!("user {user_id}"))
            } else {
                map_named(e, || format!("token {name}"))
            }
        })?;
        let audit = Audit {
            action: "token.create",
            team_id: Some(team_id),
            app: None,
            target: format!("token {name}"),
            before: None,
            after: Some(
                json!({"name": name, "userId": user_id, "team": team, "role": role.as_str(),
                               "expiresAt": expires_at}),
            ),
        };
        append_audit(&mut tx, actor, now, audit).await?;
        tx.commit().await.map_err(map)?;
        Ok(ApiToken {
            id,
            name: name.to_owned(),
            user_id,
            team_id,
            team,
            role,
            created_at: now,
            expires_at,
            last_used_at: None,
        })
    }
    /// A token that is neither revoked nor expired; records `last_used_at = now` (at most once a
    /// minute per token).
    pub async fn token_by_hash(&self, token_hash: &[u8], now: i64) -> Result<Option<ApiToken>> {
        let sql = format!(
            "SELECT {TOKEN_COLS} FROM api_tokens k JOIN teams t ON t.id = k.team_id \
             WHERE k.token_hash = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > $2)"
        );
        let row = sqlx::query(&sql)
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(map)?;
        let Some(mut token) = row.as_ref().map(rows::token).transpose()? else {
            return Ok(None);
        };
        // Reads stay reads: `last_used_at` is written at most once a minute per token, so a
        // busy script does not turn every API call into a write transaction.
        if token.last_used_at.is_none_or(|t| now - t >= LAST_USED_EVERY_MS) {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(token.id)
                .execute(&self.pool)
                .await
                .map_err(map)?;
            token.last_used_at = Some(now);
        }
        Ok(Some(token))
    }
    /// A user's live tokens (neither revoked nor expired), newest first.
    pub async fn tokens_of(&self, user_id: i64) -> Result<Vec<ApiToken>> {
        let sql = format!(
            "SELECT {TOKEN_COLS} FROM api_tokens k JOIN teams t ON t.id = k.team_id \
             WHERE k.user_id = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > $2) \
             ORDER BY k.created_at DESC, k.id DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(user_id)
            .bind(now_ms())
            .fetch_all(&self.pool)
            .await
            .map_err(map)?;
        rows.iter().map(rows::token).collect()
    }
    /// Revokes a token of `user_id` (audited `token.revoke`). `NotFound` otherwise.
    pub async fn revoke_token(&self, id: i64, user_id: i64, actor: &Actor) -> Result<()> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let row: Option<(String, i64)> = sqlx::query_as(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL \
             RETURNING name, team_id",
        )
        .bind(now)
        .bind(id)
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map)?;
        let (name, team_id) = row.ok_or_else(|| StoreError::NotFound(format!("token {id}")))?;
        let audit = Audit {
            action: "token.revoke",
            team_id: Some(team_id),
            app: None,
            target: format!("token {name}"),
            before: Some(json!({"name": name, "userId": user_id})),
            after: None,
        };
        append_audit(&mut tx, actor, now, audit).await?;
        tx.commit().await.map_err(map)
    }

    // ---- apps and revisions

    /// Creates an app with revision 1 (audited `app.create`, after = manifest), and its
    /// manifest-set log settings (audited `logs.settings` if there are any).
    /// `AlreadyExists` if the name is taken; `NotFound` if the team is missing; `InvalidInput`
    /// if the log settings are out of range.
    pub async fn create_app(&self, new: &NewRevision, actor: &Actor) -> Result<(AppSummary, Revision)> {
        new.log_settings.validate()?;
        let now = now_ms();
        let files = files_json(new)?;
        let mut tx = self.begin_write().await?;
        let team: Option<String> = sqlx::query_scalar("SELECT name FROM teams WHERE id = $1")
            .bind(new.team_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map)?;
        let team = team.ok_or_else(|| StoreError::NotFound(format!("team {}", new.team_id)))?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO apps (name, team_id, description, search, head, created_at, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, 1, $5, $5, $6) RETURNING id",
        )
        .bind(&new.app)
        .bind(new.team_id)
        .bind(&new.description)
        .bind(rows::search_text(&new.app, &new.description))
        .bind(now)
        .bind(&actor.name)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            if is_foreign_key_violation(&e) {
                StoreError::NotFound(format!("team {}", new.team_id))
            } else {
                map_named(e, || format!("app {}", new.app))
            }
        })?;
        let revision = insert_revision(&mut tx, id, 1, new, &files, actor, now).await?;
        let audit = Audit {
            action: "app.create",
            team_id: Some(new.team_id),
            app: Some(&new.app),
            target: format!("app {} rev 1", new.app),
            before: None,
            after: Some(revision_state(1, &new.manifest, &files)),
        };
        append_audit(&mut tx, actor, now, audit).await?;
        append_also_audit(&mut tx, actor, now, new, 1).await?;
        let saved = logs::SavedRevision {
            app_id: id,
            app: &new.app,
            team_id: new.team_id,
            number: 1,
        };
        logs::set_manifest_log_settings(&mut tx, &saved, &new.log_settings, actor, now).await?;
        tx.commit().await.map_err(map)?;
        let app = AppSummary {
            id,
            name: new.app.clone(),
            team_id: new.team_id,
            team,
            description: new.description.clone(),
            head: 1,
            updated_at: now,
            updated_by: actor.name.clone(),
        };
        Ok((app, revision))
    }
    /// Saves revision `base + 1` if the head is still `base` (and may move the app to
    /// `new.team_id`); audited `app.save` with before = base manifest, after = new manifest.
    /// Its log settings replace the app's manifest-set ones (audited `logs.settings` when they
    /// change; none clears them).
    /// `Conflict` (carrying the current head revision) if someone saved since `base`;
    /// `NotFound` if there is no such app (or no team `new.team_id`); `InvalidInput` if the log
    /// settings are out of range.
    pub async fn save_revision(&self, new: &NewRevision, base: i64, actor: &Actor) -> Result<Revision> {
        new.log_settings.validate()?;
        let now = now_ms();
        let files = files_json(new)?;
        let mut tx = self.begin_write().await?;
        // The compare-and-set: of concurrent savers from one base, exactly one matches `head`
        // (PostgreSQL re-checks the condition after waiting for the row lock).
        // With `expected_team_id`, the app must still be in the team the caller was
        // authorised for (it may have been moved, or deleted and re-created by another team).
        let team_guard = if new.expected_team_id.is_some() {
            " AND team_id = $7"
        } else {
            ""
        };
        let search_param = if new.expected_team_id.is_some() {
            "$8"
        } else {
            "$7"
        };
        let sql = format!(
            "UPDATE apps SET head = head + 1, team_id = $1, description = $2, updated_at = $3, updated_by = $4, \
             search = {search_param} WHERE name = $5 AND head = $6{team_guard} RETURNING id, head"
        );
        let mut update = sqlx::query_as(&sql)
            .bind(new.team_id)
            .bind(&new.description)
            .bind(now)
            .bind(&actor.name)
            .bind(&new.app)
            .bind(base);
        if let Some(team) = new.expected_team_id {
            update = update.bind(team);
        }
        update = update.bind(rows::search_text(&new.app, &new.description));
        let updated: Option<(i64, i64)> = update.fetch_optional(&mut *tx).await.map_err(|e| {
            if is_foreign_key_violation(&e) {
                StoreError::NotFound(format!("team {}", new.team_id))
            } else {
                map(e)
            }
        })?;
        let Some((app_id, number)) = updated else {
            let found: Option<(i64, i64)> = sqlx::query_as("SELECT head, team_id FROM apps WHERE name = $1")
                .bind(&new.app)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map)?;
            let Some((head, _)) = found.filter(|(_, t)| new.expected_team_id.is_none_or(|e| e == *t)) else {
                return Err(StoreError::NotFound(format!("app {}", new.app)));
            };
            let current = fetch_revision(&mut tx, &new.app, head)
                .await?
                .ok_or_else(|| StoreError::Corrupt(format!("app {} has no head revision {head}", new.app)))?;
            return Err(StoreError::Conflict(Box::new(current)));
        };
        // Revisions never change, so the base read here is the one the new revision replaces.
        let before: Option<(String, String)> =
            sqlx::query_as("SELECT manifest, files FROM revisions WHERE app_id = $1 AND number = $2")
                .bind(app_id)
                .bind(base)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map)?;
        let revision = insert_revision(&mut tx, app_id, number, new, &files, actor, now).await?;
        let audit = Audit {
            action: "app.save",
            team_id: Some(new.team_id),
            app: Some(&new.app),
            target: format!("app {} rev {number}", new.app),
            before: before.map(|(m, f)| revision_state(base, &m, &f)),
            after: Some(revision_state(number, &new.manifest, &files)),
        };
        append_audit(&mut tx, actor, now, audit).await?;
        append_also_audit(&mut tx, actor, now, new, number).await?;
        let saved = logs::SavedRevision {
            app_id,
            app: &new.app,
            team_id: new.team_id,
            number,
        };
        logs::set_manifest_log_settings(&mut tx, &saved, &new.log_settings, actor, now).await?;
        // A move is also recorded for the team the app leaves, so its readers see where it went.
        if let Some(from) = new.expected_team_id.filter(|t| *t != new.team_id) {
            let target_team: Option<String> = sqlx::query_scalar("SELECT name FROM teams WHERE id = $1")
                .bind(new.team_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map)?;
            let moved = Audit {
                action: "app.move",
                team_id: Some(from),
                app: Some(&new.app),
                target: format!(
                    "app {} rev {number} moved to team {}",
                    new.app,
                    target_team.unwrap_or_else(|| new.team_id.to_string())
                ),
                before: None,
                after: None,
            };
            append_audit(&mut tx, actor, now, moved).await?;
        }
        tx.commit().await.map_err(map)?;
        Ok(revision)
    }
    /// An app by name.
    pub async fn app(&self, name: &str) -> Result<Option<AppSummary>> {
        let sql = format!("SELECT {APP_COLS} FROM apps a JOIN teams t ON t.id = a.team_id WHERE a.name = $1");
        let row = sqlx::query(&sql)
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(map)?;
        row.as_ref().map(rows::app).transpose()
    }
    /// Apps matching the filter, by name, and the total count matching it. The page size is
    /// clamped to 1..=500.
    pub async fn list_apps(&self, filter: &AppFilter) -> Result<(Vec<AppSummary>, i64)> {
        let mut params = Params::default();
        let mut conds: Vec<String> = Vec::new();
        if let Some(ids) = &filter.team_ids {
            if ids.is_empty() {
                return Ok((Vec::new(), 0));
            }
            let list: Vec<String> = ids.iter().map(|id| params.push(Param::Int(*id))).collect();
            conds.push(format!("a.team_id IN ({})", list.join(", ")));
        }
        if let Some(team) = &filter.team {
            conds.push(format!("t.name = {}", params.push(Param::Text(team.clone()))));
        }
        if let Some(search) = filter.search.as_deref().filter(|s| !s.is_empty()) {
            let p = params.push(Param::Text(rows::contains_pattern(search)));
            conds.push(format!("a.search LIKE {p} ESCAPE '\\'"));
        }
        let from = format!(
            "FROM apps a JOIN teams t ON t.id = a.team_id{}",
            if conds.is_empty() {
                String::new()
            } else {
                format!(" WHERE {}", conds.join(" AND "))
            }
        );
        let count_sql = format!("SELECT COUNT(*) {from}");
        let total: i64 = params
            .bind(sqlx::query(&count_sql))
            .fetch_one(&self.pool)
            .await
            .map_err(map)
            .and_then(|row| sqlx::Row::try_get(&row, 0).map_err(|e| StoreError::Corrupt(e.to_string())))?;
        let limit = params.push(Param::Int(rows::page_size(filter.limit)));
        let offset = params.push(Param::Int(filter.offset.max(0)));
        let sql = format!("SELECT {APP_COLS} {from} ORDER BY a.name LIMIT {limit} OFFSET {offset}");
        let rows = params
            .bind(sqlx::query(&sql))
            .fetch_all(&self.pool)
            .await
            .map_err(map)?;
        let apps = rows.iter().map(rows::app).collect::<Result<Vec<_>>>()?;
        Ok((apps, total))
    }
    /// Deletes an app and its revisions (audited `app.delete`, before = last manifest).
    pub async fn delete_app(&self, name: &str, expected_team_id: Option<i64>, actor: &Actor) -> Result<()> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        // A no-op update locks the row, so no save can slip in between reading the head and
        // deleting (savers wait, then find no app).
        let row: Option<(i64, i64, i64)> =
            sqlx::query_as("UPDATE apps SET head = head WHERE name = $1 RETURNING id, team_id, head")
                .bind(name)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map)?;
        let (app_id, team_id, head) = row
            .filter(|(_, team, _)| expected_team_id.is_none_or(|t| t == *team))
            .ok_or_else(|| StoreError::NotFound(format!("app {name}")))?;
        let last: Option<(String, String)> =
            sqlx::query_as("SELECT manifest, files FROM revisions WHERE app_id = $1 AND number = $2")
                .bind(app_id)
                .bind(head)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map)?;
        for sql in [
            "DELETE FROM revisions WHERE app_id = $1",
            "DELETE FROM apps WHERE id = $1",
        ] {
            sqlx::query(sql)
                .bind(app_id)
                .execute(&mut *tx)
                .await
                .map_err(map)?;
        }
        let audit = Audit {
            action: "app.delete",
            team_id: Some(team_id),
            app: Some(name),
            target: format!("app {name}"),
            before: last.map(|(m, f)| revision_state(head, &m, &f)),
            after: None,
        };
        append_audit(&mut tx, actor, now, audit).await?;
        tx.commit().await.map_err(map)
    }
    /// An app's revisions without manifests/files (empty strings/maps), newest first;
    /// `before`: only numbers below it. The page size is clamped to 1..=500.
    pub async fn revisions(&self, app: &str, before: Option<i64>, limit: i64) -> Result<Vec<Revision>> {
        let sql = format!(
            "SELECT {REVISION_META_COLS} FROM revisions r JOIN apps a ON a.id = r.app_id \
             WHERE a.name = $1 AND r.number < $2 ORDER BY r.number DESC LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(app)
            .bind(before.unwrap_or(i64::MAX))
            .bind(rows::page_size(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(map)?;
        rows.iter().map(rows::revision).collect()
    }
    /// One revision, whole.
    pub async fn revision(&self, app: &str, number: i64) -> Result<Option<Revision>> {
        let mut conn = self.pool.acquire().await.map_err(map)?;
        fetch_revision(&mut conn, app, number).await
    }

    // ---- platform files

    /// A platform file by name.
    pub async fn platform(&self, name: &str) -> Result<Option<PlatformFile>> {
        let sql = format!("SELECT {PLATFORM_COLS} FROM platform_files WHERE name = $1");
        let row = sqlx::query(&sql)
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(map)?;
        row.as_ref().map(rows::platform_file).transpose()
    }
    /// Saves a platform file: `base = None` creates it (`AlreadyExists` if present), `Some(v)`
    /// replaces version `v` (`PlatformConflict` otherwise; `NotFound` if there is none).
    /// Audited `platform.save`.
    pub async fn save_platform(
        &self,
        name: &str,
        content: &str,
        base: Option<i64>,
        actor: &Actor,
    ) -> Result<PlatformFile> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let (before, version) = match base {
            None => {
                sqlx::query(
                    "INSERT INTO platform_files (name, content, version, updated_at, updated_by) \
                     VALUES ($1, $2, 1, $3, $4)",
                )
                .bind(name)
                .bind(content)
                .bind(now)
                .bind(&actor.name)
                .execute(&mut *tx)
                .await
                .map_err(|e| map_named(e, || format!("platform file {name}")))?;
                (None, 1)
            }
            Some(base) => {
                // A no-op update locks the row; then the version check cannot race a saver.
                let sql = format!(
                    "UPDATE platform_files SET version = version WHERE name = $1 RETURNING {PLATFORM_COLS}"
                );
                let row = sqlx::query(&sql)
                    .bind(name)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map)?;
                let row = row.ok_or_else(|| StoreError::NotFound(format!("platform file {name}")))?;
                let current = rows::platform_file(&row)?;
                if current.version != base {
                    return Err(StoreError::PlatformConflict(Box::new(current)));
                }
                sqlx::query(
                    "UPDATE platform_files SET content = $1, version = $2, updated_at = $3, updated_by = $4 \
                     WHERE name = $5",
                )
                .bind(content)
                .bind(base + 1)
                .bind(now)
                .bind(&actor.name)
                .bind(name)
                .execute(&mut *tx)
                .await
                .map_err(map)?;
                (
                    Some(json!({"version": base, "content": current.content})),
                    base + 1,
                )
            }
        };
        let audit = Audit {
            action: "platform.save",
            team_id: None,
            app: None,
            target: format!("platform file {name} version {version}"),
            before,
            after: Some(json!({"version": version, "content": content})),
        };
        append_audit(&mut tx, actor, now, audit).await?;
        tx.commit().await.map_err(map)?;
        Ok(PlatformFile {
            name: name.to_owned(),
            content: content.to_owned(),
            version,
            updated_at: now,
            updated_by: actor.name.clone(),
        })
    }

    // ---- audit

    /// Appends an entry on its own (logins, failed logins, logouts).
    pub async fn record(
        &self,
        actor: &Actor,
        action: &str,
        team_id: Option<i64>,
        app: Option<&str>,
        target: &str,
    ) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(map)?;
        let audit = Audit {
            action,
            team_id,
            app,
            target: target.to_owned(),
            before: None,
            after: None,
        };
        append_audit(&mut conn, actor, now_ms(), audit).await
    }
    /// Entries, newest first. The page size is clamped to 1..=500.
    pub async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let mut params = Params::default();
        let mut conds: Vec<String> = Vec::new();
        if let Some(ids) = &filter.team_ids {
            let mut either: Vec<String> = Vec::new();
            if !ids.is_empty() {
                let list: Vec<String> = ids.iter().map(|id| params.push(Param::Int(*id))).collect();
                either.push(format!("au.team_id IN ({})", list.join(", ")));
            }
            if let Some(actor) = filter.actor_id {
                // Entries about the reader that belong to no team (sign-ins, tokens). Their
                // entries in teams they can no longer read stay hidden.
                either.push(format!(
                    "(au.actor_id = {} AND au.team_id IS NULL)",
                    params.push(Param::Int(actor))
                ));
            }
            if either.is_empty() {
                return Ok(Vec::new());
            }
            conds.push(format!("({})", either.join(" OR ")));
        }
        if let Some(app) = &filter.app {
            conds.push(format!("au.app = {}", params.push(Param::Text(app.clone()))));
        }
        if let Some(before) = filter.before {
            conds.push(format!("au.id < {}", params.push(Param::Int(before))));
        }
        let limit = params.push(Param::Int(rows::page_size(filter.limit)));
        let sql = format!(
            "SELECT {AUDIT_COLS} FROM audit au LEFT JOIN teams t ON t.id = au.team_id{} \
             ORDER BY au.id DESC LIMIT {limit}",
            if conds.is_empty() {
                String::new()
            } else {
                format!(" WHERE {}", conds.join(" AND "))
            }
        );
        let rows = params
            .bind(sqlx::query(&sql))
            .fetch_all(&self.pool)
            .await
            .map_err(map)?;
        rows.iter().map(rows::audit_entry).collect()
    }
}

impl Store {
    /// Records something that changed nothing but must be audited (a log search): one entry
    /// per team in `team_ids`, with `detail` as its "after".
    pub async fn record_read(
        &self,
        actor: &Actor,
        action: &str,
        team_ids: &[i64],
        target: &str,
        detail: &serde_json::Value,
    ) -> Result<()> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        for team_id in team_ids {
            let a = Audit {
                action,
                team_id: Some(*team_id),
                app: None,
                target: target.to_string(),
                before: None,
                after: Some(detail.clone()),
            };
            append_audit(&mut tx, actor, now, a).await?;
        }
        tx.commit().await.map_err(map)?;
        Ok(())
    }
}

/// Appends an audit entry on `conn` (inside the mutation's transaction).
async fn append_audit(conn: &mut AnyConnection, actor: &Actor, at: i64, a: Audit<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit (at, actor_id, actor_name, via, action, team_id, app, target, before, after) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(at)
    .bind(actor.user_id)
    .bind(&actor.name)
    .bind(&actor.via)
    .bind(a.action)
    .bind(a.team_id)
    .bind(a.app.map(str::to_owned))
    .bind(a.target)
    .bind(a.before.map(|v| v.to_string()))
    .bind(a.after.map(|v| v.to_string()))
    .execute(conn)
    .await
    .map_err(map)?;
    Ok(())
}

/// Inserts revision `number` of app `app_id`.
async fn insert_revision(
    conn: &mut AnyConnection,
    app_id: i64,
    number: i64,
    new: &NewRevision,
    files: &str,
    actor: &Actor,
    now: i64,
) -> Result<Revision> {
    sqlx::query(
        "INSERT INTO revisions (app_id, number, author_id, author, created_at, message, manifest, files) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(app_id)
    .bind(number)
    .bind(actor.user_id)
    .bind(&actor.name)
    .bind(now)
    .bind(&new.message)
    .bind(&new.manifest)
    .bind(files)
    .execute(conn)
    .await
    .map_err(|e| map_named(e, || format!("app {} rev {number}", new.app)))?;
    Ok(Revision {
        app: new.app.clone(),
        number,
        author_id: actor.user_id,
        author: actor.name.clone(),
        created_at: now,
        message: new.message.clone(),
        manifest: new.manifest.clone(),
        files: new.files.clone(),
    })
}

/// One whole revision.
async fn fetch_revision(conn: &mut AnyConnection, app: &str, number: i64) -> Result<Option<Revision>> {
    let sql = format!(
        "SELECT {REVISION_COLS} FROM revisions r JOIN apps a ON a.id = r.app_id WHERE a.name = $1 AND r.number = $2"
    );
    let row = sqlx::query(&sql)
        .bind(app)
        .bind(number)
        .fetch_optional(conn)
        .await
        .map_err(map)?;
    row.as_ref().map(rows::revision).transpose()
}

/// A revision's state for the audit log: number, manifest and `fromFile` files.
fn revision_state(number: i64, manifest: &str, files_json: &str) -> serde_json::Value {
    let files: serde_json::Value =
        serde_json::from_str(files_json).unwrap_or_else(|_| serde_json::Value::String(files_json.into()));
    json!({"revision": number, "manifest": manifest, "files": files})
}

fn files_json(new: &NewRevision) -> Result<String> {
    serde_json::to_string(&new.files).map_err(|e| StoreError::Database(format!("encoding files: {e}")))
}

fn corrupt_role(r: &str) -> StoreError {
    StoreError::Corrupt(format!("unknown role {r:?} in members"))
}
