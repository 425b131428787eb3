//! Log streams' control data: producer secrets (with one, a log shipper may write the streams of
//! a team, or of one app of it) and log settings (retention, rate limit, level filter) per team,
//! per app, and set by an app's manifest. The types, their validation and how settings are
//! resolved live in `crate::logs`; this module only reads and writes them. It never sees a
//! secret (only its SHA-256), never parses a manifest (the caller passes its `logs:` values in
//! [`NewRevision`]) and never touches log records.
//!
//! An app's secret or settings row belongs to the app and the team it was created in: it is
//! deleted with the app (foreign key, `ON DELETE CASCADE`), and while the app is in another
//! team it is ignored (a secret is not found by its hash; settings are not read). Manifest-set
//! settings belong to the app alone (`log_settings_manifest`, one row per app): each saved
//! revision replaces them, in the save's transaction.

use serde_json::json;
use sqlx::AnyConnection;

use super::{Audit, Store, append_audit};
use crate::error::map;
use crate::logs::{check_secret_hash, check_secret_name};
use crate::rows::{self, LOG_SECRET_COLS, LOG_SETTINGS_COLS, now_ms};
use crate::*;

impl Store {
    // ---- producer secrets

    /// Stores a producer secret by its SHA-256 (`secret_hash`, 32 bytes), for one app of the
    /// team (`app`) or for all of them (`None`); audited `logs.secret.create`, without the hash.
    /// `NotFound` if the team is missing or `app` is not one of its apps; `AlreadyExists` if the
    /// team has an unrevoked secret of that name, or the hash is stored already;
    /// `InvalidInput` if the name is blank or the hash is not 32 bytes.
    pub async fn create_log_secret(
        &self,
        team_id: i64,
        app: Option<&str>,
        name: &str,
        secret_hash: &[u8],
        actor: &Actor,
    ) -> Result<LogSecret> {
        check_secret_name(name)?;
        check_secret_hash(secret_hash)?;
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let team = team_name(&mut tx, team_id).await?;
        let app_id = match app {
            Some(app) => Some(lock_team_app(&mut tx, team_id, app).await?),
            None => None,
        };
        let secret = NewSecret {
            team_id,
            team,
            app_id,
            app,
            name,
        };
        let created = insert_secret(&mut tx, &secret, secret_hash, actor, now).await?;
        let audit = Audit {
            action: "logs.secret.create",
            team_id: Some(team_id),
            app,
            target: secret_target(name, app),
            before: None,
            after: Some(secret_state(&created)),
        };
        append_audit(&mut tx, actor, now, audit).await?;
        tx.commit().await.map_err(map)?;
        Ok(created)
    }

    /// The unrevoked secret with this SHA-256, if it may be used: a team secret, or an app
    /// secret whose app is still in the secret's team. One indexed read, no write.
    pub async fn log_secret_by_hash(&self, secret_hash: &[u8]) -> Result<Option<LogSecret>> {
        let sql = format!(
            "SELECT {LOG_SECRET_COLS} FROM log_secrets s JOIN teams t ON t.id = s.team_id \
             LEFT JOIN apps a ON a.id = s.app_id \
             WHERE s.secret_hash = $1 AND s.revoked_at IS NULL AND (s.app_id IS NULL OR a.team_id = s.team_id)"
        );
        let row = sqlx::query(&sql)
            .bind(secret_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(map)?;
        row.as_ref().map(rows::log_secret).transpose()
    }

    /// A team's secrets, revoked ones too (with `revoked_at`), newest first.
    pub async fn log_secrets(&self, team_id: i64) -> Result<Vec<LogSecret>> {
        let sql = format!(
            "SELECT {LOG_SECRET_COLS} FROM log_secrets s JOIN teams t ON t.id = s.team_id \
             WHERE s.team_id = $1 ORDER BY s.id DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(team_id)
            .fetch_all(&self.pool)
            .await
            .map_err(map)?;
        rows.iter().map(rows::log_secret).collect()
    }

    /// Revokes a secret of team `expected_team_id` (the team the caller was authorised for);
    /// audited `logs.secret.revoke`. `NotFound` if there is no such unrevoked secret in that
    /// team.
    pub async fn revoke_log_secret(&self, id: i64, expected_team_id: i64, actor: &Actor) -> Result<()> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let revoked = revoke_secret(&mut tx, id, expected_team_id, now).await?;
        let audit = Audit {
            action: "logs.secret.revoke",
            team_id: Some(expected_team_id),
            app: revoked.app.as_deref(),
            target: secret_target(&revoked.name, revoked.app.as_deref()),
            before: Some(json!({"id": id, "name": revoked.name, "app": revoked.app})),
            after: None,
        };
        append_audit(&mut tx, actor, now, audit).await?;
        tx.commit().await.map_err(map)
    }

    /// Rotates a secret of team `expected_team_id`: revokes it and stores `new_hash` under the
    /// same name, for the same app or team, in one transaction (audited once, as
    /// `logs.secret.rotate`, with the old and new ids). The old secret stops working at once.
    /// `NotFound` if there is no such unrevoked secret in that team, or its app has left the
    /// team; `AlreadyExists` if `new_hash` is stored already; `InvalidInput` if it is not 32
    /// bytes. On any error nothing changes.
    pub async fn rotate_log_secret(
        &self,
        id: i64,
        new_hash: &[u8],
        expected_team_id: i64,
        actor: &Actor,
    ) -> Result<LogSecret> {
        check_secret_hash(new_hash)?;
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let old = revoke_secret(&mut tx, id, expected_team_id, now).await?;
        if let (Some(app_id), Some(app)) = (old.app_id, old.app.as_deref()) {
            let moved: Option<i64> =
                sqlx::query_scalar("UPDATE apps SET head = head WHERE id = $1 AND team_id = $2 RETURNING id")
                    .bind(app_id)
                    .bind(expected_team_id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map)?;
            if moved.is_none() {
                return Err(StoreError::NotFound(format!("app {app}")));
            }
        }
        let secret = NewSecret {
            team_id: expected_team_id,
            team: team_name(&mut tx, expected_team_id).await?,
            app_id: old.app_id,
            app: old.app.as_deref(),
            name: &old.name,
        };
        let created = insert_secret(&mut tx, &secret, new_hash, actor, now).await?;
        let audit = Audit {
            action: "logs.secret.rotate",
            team_id: Some(expected_team_id),
            app: old.app.as_deref(),
            target: secret_target(&old.name, old.app.as_deref()),
            before: Some(json!({"id": id, "name": old.name, "app": old.app})),
            after: Some(secret_state(&created)),
        };
        append_audit(&mut tx, actor, now, audit).await?;
        tx.commit().await.map_err(map)?;
        Ok(created)
    }

    // ---- settings

    /// Sets the log settings of a team (`app: None`) or of one of its apps, replacing what was
    /// there; audited `logs.settings` with before (`null` if there were none) and after.
    /// Settings equal to those stored change nothing and write no audit entry.
    /// `InvalidInput` if a field is out of range or the level unknown (see
    /// [`LogSettings::validate`]); `NotFound` if
    /// the team is missing or `app` is not one of its apps; `SetByManifest` if an app's field
    /// that its manifest sets would change (see [`LogSettings::fields_set_by_manifest`]):
    /// then nothing changes.
    pub async fn set_log_settings(
        &self,
        team_id: i64,
        app: Option<&str>,
        settings: &LogSettings,
        actor: &Actor,
    ) -> Result<()> {
        settings.validate()?;
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        // A no-op update locks the team row: concurrent setters of the team's settings run one
        // after the other, so each reads (for the audit) what the previous one wrote.
        let team: Option<String> =
            sqlx::query_scalar("UPDATE teams SET name = name WHERE id = $1 RETURNING name")
                .bind(team_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map)?;
        let team = team.ok_or_else(|| StoreError::NotFound(format!("team {team_id}")))?;
        let app_id = match app {
            Some(app) => Some(lock_team_app(&mut tx, team_id, app).await?),
            None => None,
        };
        // App ids start at 1, so 0 stands for the team's row (here and in the update).
        let sql = format!(
            "SELECT {LOG_SETTINGS_COLS} FROM log_settings s WHERE s.team_id = $1 AND COALESCE(s.app_id, 0) = $2"
        );
        let before = sqlx::query(&sql)
            .bind(team_id)
            .bind(app_id.unwrap_or(0))
            .fetch_optional(&mut *tx)
            .await
            .map_err(map)?
            .as_ref()
            .map(rows::log_settings)
            .transpose()?
            .map(|(_, _, settings)| settings);
        // The app row is locked, so no save can change the manifest's settings until commit.
        if let (Some(app), Some(app_id)) = (app, app_id)
            && let Some(manifest) = manifest_log_settings_of(&mut tx, app_id).await?
        {
            let fields = LogSettings::fields_set_by_manifest(before.as_ref(), settings, &manifest.settings);
            if !fields.is_empty() {
                return Err(StoreError::SetByManifest {
                    app: app.to_owned(),
                    revision: manifest.revision,
                    fields,
                });
            }
        }
        if before.as_ref() == Some(settings) {
            return Ok(());
        }
        if before.is_some() {
            sqlx::query(
                "UPDATE log_settings SET retention_days = $1, rate_limit = $2, level_filter = $3, \
                 updated_at = $4, updated_by = $5 WHERE team_id = $6 AND COALESCE(app_id, 0) = $7",
            )
            .bind(settings.retention_days)
            .bind(settings.rate_limit)
            .bind(settings.level_filter.as_deref())
            .bind(now)
            .bind(&actor.name)
            .bind(team_id)
            .bind(app_id.unwrap_or(0))
            .execute(&mut *tx)
            .await
            .map_err(map)?;
        } else {
            sqlx::query(
                "INSERT INTO log_settings (retention_days, rate_limit, level_filter, updated_at, updated_by, \
                 team_id, app_id, app) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(settings.retention_days)
            .bind(settings.rate_limit)
            .bind(settings.level_filter.as_deref())
            .bind(now)
            .bind(&actor.name)
            .bind(team_id)
            .bind(app_id)
            .bind(app)
            .execute(&mut *tx)
            .await
            .map_err(map)?;
        }
        let audit = Audit {
            action: "logs.settings",
            team_id: Some(team_id),
            app,
            target: match app {
                Some(app) => format!("log settings of app {app}"),
                None => format!("log settings of team {team}"),
            },
            before: before.map(|b| json!(b)),
            after: Some(json!(settings)),
        };
        append_audit(&mut tx, actor, now, audit).await?;
        tx.commit().await.map_err(map)
    }

    /// The settings stored for a team (`app: None`) or for one of its apps (its own, set in the
    /// API or UI), as stored (fields not set are `None`); `None` if nothing is stored (or the
    /// app is not in the team).
    pub async fn log_settings(&self, team_id: i64, app: Option<&str>) -> Result<Option<LogSettings>> {
        let stored = self.stored_log_settings(team_id, app).await?;
        Ok(if app.is_some() { stored.app } else { stored.team })
    }

    /// The settings app `app` of the team has from its manifest (the `logs:` section of its
    /// newest revision); `None` if it has none (or the app is not in the team).
    pub async fn manifest_log_settings(
        &self,
        team_id: i64,
        app: &str,
    ) -> Result<Option<ManifestLogSettings>> {
        Ok(self.stored_log_settings(team_id, Some(app)).await?.manifest)
    }

    /// The settings in force for an app of the team (or the team as a whole, `app: None`): its
    /// manifest's over the app's own over the team's over the defaults, field by field, each
    /// saying where it comes from (see [`EffectiveLogSettings::resolve_with_manifest`]). Never
    /// fails for a missing team or app: what is not stored is not set. One query (ingest asks
    /// this for every request).
    pub async fn effective_log_settings(
        &self,
        team_id: i64,
        app: Option<&str>,
    ) -> Result<EffectiveLogSettings> {
        let stored = self.stored_log_settings(team_id, app).await?;
        Ok(EffectiveLogSettings::resolve_with_manifest(
            stored.team.as_ref(),
            stored.app.as_ref(),
            stored.manifest.as_ref(),
        ))
    }

    /// What is stored about the log settings of each app of the team that has any (its own or
    /// its manifest's), by app name.
    pub async fn apps_log_settings(&self, team_id: i64) -> Result<Vec<AppLogSettings>> {
        let sql = format!(
            "SELECT {LOG_SETTINGS_COLS}, NULL AS revision FROM log_settings s JOIN apps a ON a.id = s.app_id \
             WHERE s.team_id = $1 AND a.team_id = s.team_id \
             UNION ALL \
             SELECT {MANIFEST_COLS} \
             FROM log_settings_manifest m JOIN apps a ON a.id = m.app_id WHERE a.team_id = $1"
        );
        let rows = sqlx::query(&sql)
            .bind(team_id)
            .fetch_all(&self.pool)
            .await
            .map_err(map)?;
        let mut apps: std::collections::BTreeMap<String, AppLogSettings> = Default::default();
        for row in &rows {
            let (_, app, settings) = rows::log_settings(row)?;
            let app =
                app.ok_or_else(|| StoreError::Corrupt("an app's log settings without the app".into()))?;
            let entry = apps.entry(app.clone()).or_insert_with(|| AppLogSettings {
                app,
                own: None,
                manifest: None,
            });
            match manifest_revision(row)? {
                Some(revision) => entry.manifest = Some(ManifestLogSettings { revision, settings }),
                None => entry.own = Some(settings),
            }
        }
        Ok(apps.into_values().collect())
    }

    /// Every app's manifest-set settings, as (its team id, app name, settings), by app name.
    /// For the retention job, with [`Store::all_log_settings`].
    pub async fn all_manifest_log_settings(&self) -> Result<Vec<(i64, String, ManifestLogSettings)>> {
        let sql = format!(
            "SELECT {MANIFEST_COLS} FROM log_settings_manifest m JOIN apps a ON a.id = m.app_id ORDER BY a.name"
        );
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await.map_err(map)?;
        rows.iter().map(manifest_row).collect()
    }

    /// Every stored settings row that applies (app rows only while the app is in the row's
    /// team), as (team id, app name or `None` for the team's row, settings); by team, the
    /// team's row first, then apps by name. For the retention job, which resolves each stream
    /// with [`EffectiveLogSettings::resolve`].
    pub async fn all_log_settings(&self) -> Result<Vec<(i64, Option<String>, LogSettings)>> {
        let sql = format!(
            "SELECT {LOG_SETTINGS_COLS} FROM log_settings s \
             LEFT JOIN apps a ON a.id = s.app_id WHERE s.app_id IS NULL OR a.team_id = s.team_id \
             ORDER BY s.team_id, s.app_id IS NOT NULL, s.app"
        );
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await.map_err(map)?;
        rows.iter().map(rows::log_settings).collect()
    }

    /// The team's stored settings and, if `app` is given, that app's own and its manifest's
    /// (while it is in the team), read together in one query.
    async fn stored_log_settings(&self, team_id: i64, app: Option<&str>) -> Result<StoredLogSettings> {
        // App names are never empty, so "" matches no app. Rows of the manifest's settings are
        // the ones with a revision.
        let sql = format!(
            "SELECT {LOG_SETTINGS_COLS}, NULL AS revision FROM log_settings s LEFT JOIN apps a ON a.id = s.app_id \
             WHERE s.team_id = $1 AND (s.app_id IS NULL OR (a.name = $2 AND a.team_id = s.team_id)) \
             UNION ALL \
             SELECT {MANIFEST_COLS} \
             FROM log_settings_manifest m JOIN apps a ON a.id = m.app_id WHERE a.team_id = $1 AND a.name = $2"
        );
        let rows = sqlx::query(&sql)
            .bind(team_id)
            .bind(app.unwrap_or(""))
            .fetch_all(&self.pool)
            .await
            .map_err(map)?;
        let mut stored = StoredLogSettings::default();
        for row in &rows {
            match (rows::log_settings(row)?, manifest_revision(row)?) {
                ((_, Some(_), settings), Some(revision)) => {
                    stored.manifest = Some(ManifestLogSettings { revision, settings })
                }
                ((_, Some(_), settings), None) => stored.app = Some(settings),
                ((_, None, settings), _) => stored.team = Some(settings),
            }
        }
        Ok(stored)
    }
}

/// A team's stored log settings and one app's, own and from its manifest.
#[derive(Default)]
struct StoredLogSettings {
    team: Option<LogSettings>,
    app: Option<LogSettings>,
    manifest: Option<ManifestLogSettings>,
}

/// Columns of manifest-set settings from `log_settings_manifest m JOIN apps a`, named as
/// [`LOG_SETTINGS_COLS`] are (plus `revision`), so that the two can be read in one `UNION ALL`.
const MANIFEST_COLS: &str =
    "a.team_id, a.name AS app, m.retention_days, m.rate_limit, m.level_filter, m.revision";

/// A row of [`MANIFEST_COLS`]: the app's team id, its name and its manifest-set settings.
fn manifest_row(row: &sqlx::any::AnyRow) -> Result<(i64, String, ManifestLogSettings)> {
    let (team_id, app, settings) = rows::log_settings(row)?;
    let app = app.ok_or_else(|| StoreError::Corrupt("manifest log settings without their app".into()))?;
    let revision = manifest_revision(row)?.ok_or_else(|| {
        StoreError::Corrupt(format!("manifest log settings of app {app} without a revision"))
    })?;
    Ok((team_id, app, ManifestLogSettings { revision, settings }))
}

/// The `revision` column of a settings row read together with manifest-set ones: `None` for a
/// team's or an app's own settings.
fn manifest_revision(row: &sqlx::any::AnyRow) -> Result<Option<i64>> {
    sqlx::Row::try_get(row, "revision").map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The revision being saved, for [`set_manifest_log_settings`].
pub(super) struct SavedRevision<'a> {
    /// App id.
    pub app_id: i64,
    /// App name.
    pub app: &'a str,
    /// The app's team with this revision.
    pub team_id: i64,
    /// The revision's number.
    pub number: i64,
}

/// Makes `settings` (the `logs:` values of revision `saved`, validated by the caller) the app's
/// manifest-set log settings, on the save's transaction: stored with the revision's number, or
/// deleted when there are none. A change of the values is audited `logs.settings` (before and
/// after with their revisions); the same values under a new revision only move the revision.
pub(super) async fn set_manifest_log_settings(
    conn: &mut AnyConnection,
    saved: &SavedRevision<'_>,
    settings: &LogSettings,
    actor: &Actor,
    now: i64,
) -> Result<()> {
    let before = manifest_log_settings_of(conn, saved.app_id).await?;
    let write = match (&before, settings.is_empty()) {
        (None, true) => return Ok(()),
        (Some(_), true) => None,
        (Some(_), false) => Some(
            "UPDATE log_settings_manifest SET revision = $1, retention_days = $2, rate_limit = $3, \
             level_filter = $4 WHERE app_id = $5",
        ),
        (None, false) => Some(
            "INSERT INTO log_settings_manifest (revision, retention_days, rate_limit, level_filter, app_id) \
             VALUES ($1, $2, $3, $4, $5)",
        ),
    };
    match write {
        Some(sql) => sqlx::query(sql)
            .bind(saved.number)
            .bind(settings.retention_days)
            .bind(settings.rate_limit)
            .bind(settings.level_filter.as_deref())
            .bind(saved.app_id),
        None => sqlx::query("DELETE FROM log_settings_manifest WHERE app_id = $1").bind(saved.app_id),
    }
    .execute(&mut *conn)
    .await
    .map_err(map)?;
    if before.as_ref().map(|b| &b.settings) == Some(settings) {
        return Ok(());
    }
    let after = ManifestLogSettings {
        revision: saved.number,
        settings: settings.clone(),
    };
    let audit = Audit {
        action: "logs.settings",
        team_id: Some(saved.team_id),
        app: Some(saved.app),
        target: format!(
            "log settings of app {} set by its manifest (revision {})",
            saved.app, saved.number
        ),
        before: before.map(|b| json!(b)),
        after: Some(json!(after)),
    };
    append_audit(conn, actor, now, audit).await
}

/// The manifest-set log settings of app `app_id`, if it has any.
async fn manifest_log_settings_of(
    conn: &mut AnyConnection,
    app_id: i64,
) -> Result<Option<ManifestLogSettings>> {
    let sql = format!(
        "SELECT {MANIFEST_COLS} FROM log_settings_manifest m JOIN apps a ON a.id = m.app_id WHERE m.app_id = $1"
    );
    let row = sqlx::query(&sql)
        .bind(app_id)
        .fetch_optional(conn)
        .await
        .map_err(map)?;
    Ok(row.as_ref().map(manifest_row).transpose()?.map(|(_, _, m)| m))
}

/// A secret about to be stored.
struct NewSecret<'a> {
    team_id: i64,
    team: String,
    app_id: Option<i64>,
    app: Option<&'a str>,
    name: &'a str,
}

/// What a revoked secret was.
struct RevokedSecret {
    name: String,
    app_id: Option<i64>,
    app: Option<String>,
}

/// The name of team `team_id`; `NotFound` if there is none.
async fn team_name(conn: &mut AnyConnection, team_id: i64) -> Result<String> {
    let team: Option<String> = sqlx::query_scalar("SELECT name FROM teams WHERE id = $1")
        .bind(team_id)
        .fetch_optional(conn)
        .await
        .map_err(map)?;
    team.ok_or_else(|| StoreError::NotFound(format!("team {team_id}")))
}

/// The id of app `app` of team `team_id`, its row locked by a no-op update so that the app
/// cannot move to another team or be deleted before the transaction ends. `NotFound` if the team
/// has no such app (whether it is missing or another team's).
async fn lock_team_app(conn: &mut AnyConnection, team_id: i64, app: &str) -> Result<i64> {
    let id: Option<i64> =
        sqlx::query_scalar("UPDATE apps SET head = head WHERE name = $1 AND team_id = $2 RETURNING id")
            .bind(app)
            .bind(team_id)
            .fetch_optional(conn)
            .await
            .map_err(map)?;
    id.ok_or_else(|| StoreError::NotFound(format!("app {app}")))
}

/// Inserts a secret. `AlreadyExists` names what is taken: the hash, or the name.
async fn insert_secret(
    conn: &mut AnyConnection,
    new: &NewSecret<'_>,
    secret_hash: &[u8],
    actor: &Actor,
    now: i64,
) -> Result<LogSecret> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO log_secrets (team_id, app_id, app, name, secret_hash, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(new.team_id)
    .bind(new.app_id)
    .bind(new.app)
    .bind(new.name)
    .bind(secret_hash)
    .bind(now)
    .bind(&actor.name)
    .fetch_one(conn)
    .await
    .map_err(|e| match map(e) {
        // Both engines name the column or its constraint (`log_secrets_secret_hash_key`).
        StoreError::AlreadyExists(what) if what.contains("secret_hash") => {
            StoreError::AlreadyExists("a log secret with this hash".into())
        }
        StoreError::AlreadyExists(_) => StoreError::AlreadyExists(format!("log secret {}", new.name)),
        other => other,
    })?;
    Ok(LogSecret {
        id,
        team_id: new.team_id,
        team: new.team.clone(),
        app: new.app.map(str::to_owned),
        name: new.name.to_owned(),
        created_at: now,
        created_by: actor.name.clone(),
        revoked_at: None,
    })
}

/// Revokes unrevoked secret `id` of team `team_id`; `NotFound` if there is none.
async fn revoke_secret(conn: &mut AnyConnection, id: i64, team_id: i64, now: i64) -> Result<RevokedSecret> {
    let row: Option<(String, Option<i64>, Option<String>)> = sqlx::query_as(
        "UPDATE log_secrets SET revoked_at = $1 WHERE id = $2 AND team_id = $3 AND revoked_at IS NULL \
         RETURNING name, app_id, app",
    )
    .bind(now)
    .bind(id)
    .bind(team_id)
    .fetch_optional(conn)
    .await
    .map_err(map)?;
    let (name, app_id, app) = row.ok_or_else(|| StoreError::NotFound(format!("log secret {id}")))?;
    Ok(RevokedSecret { name, app_id, app })
}

/// `log secret shipper`, or `log secret shipper of app checkout`.
fn secret_target(name: &str, app: Option<&str>) -> String {
    match app {
        Some(app) => format!("log secret {name} of app {app}"),
        None => format!("log secret {name}"),
    }
}

/// A secret's state for the audit log: never its hash.
fn secret_state(secret: &LogSecret) -> serde_json::Value {
    json!({"id": secret.id, "name": secret.name, "app": secret.app})
}
