//! Reading rows into the store's types, the column lists the queries select for them, and
//! small helpers shared by the queries (clock, bind values, LIKE patterns).

use std::collections::BTreeMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::*;

/// A value bound to a query built at run time (filters with optional parts).
#[derive(Clone, Debug)]
pub(crate) enum Param {
    Int(i64),
    Text(String),
}

/// Builds `$n` placeholders in order and remembers what to bind to them.
#[derive(Debug, Default)]
pub(crate) struct Params(pub(crate) Vec<Param>);

impl Params {
    /// Adds a value; returns its placeholder.
    pub(crate) fn push(&mut self, p: Param) -> String {
        self.0.push(p);
        format!("${}", self.0.len())
    }

    /// Binds every value, in order.
    pub(crate) fn bind<'q>(
        &self,
        mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        for p in &self.0 {
            q = match p {
                Param::Int(i) => q.bind(*i),
                Param::Text(s) => q.bind(s.clone()),
            };
        }
        q
    }
}

/// Now, in Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A `LIKE … ESCAPE '\'` pattern matching `term` anywhere, lower-cased, with `%`, `_` and `\`
/// in the term taken literally.
pub(crate) fn contains_pattern(term: &str) -> String {
    let mut out = String::with_capacity(term.len() + 2);
    out.push('%');
    for c in term.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// What app search matches: name and description, lower-cased (full Unicode, in Rust, so
/// both engines agree).
pub(crate) fn search_text(name: &str, description: &str) -> String {
    format!("{}\n{}", name, description).to_lowercase()
}

/// Page sizes: at least 1, at most 500.
pub(crate) fn page_size(limit: i64) -> i64 {
    limit.clamp(1, 500)
}

fn get<'r, T>(row: &'r AnyRow, col: &str) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(col)
        .map_err(|e| StoreError::Corrupt(format!("column {col}: {e}")))
}

/// A boolean column: `BOOLEAN` on PostgreSQL, `INTEGER` 0/1 on SQLite (the Any driver cannot
/// read SQLite columns declared `BOOLEAN`).
fn get_bool(row: &AnyRow, col: &str) -> Result<bool> {
    match row.try_get::<bool, _>(col) {
        Ok(b) => Ok(b),
        Err(_) => Ok(get::<i64>(row, col)? != 0),
    }
}

fn get_role(row: &AnyRow, col: &str) -> Result<Role> {
    let s: String = get(row, col)?;
    Role::parse(&s).ok_or_else(|| StoreError::Corrupt(format!("unknown role {s:?} in column {col}")))
}

/// Columns for [`user`] from `users u`.
pub(crate) const USER_COLS: &str =
    "u.id AS user_id, u.username, u.display_name, u.is_admin, u.created_at AS user_created_at";

pub(crate) fn user(row: &AnyRow) -> Result<User> {
    Ok(User {
        id: get(row, "user_id")?,
        username: get(row, "username")?,
        display_name: get(row, "display_name")?,
        is_admin: get_bool(row, "is_admin")?,
        created_at: get(row, "user_created_at")?,
    })
}

/// Columns for [`team`] from `teams t`.
pub(crate) const TEAM_COLS: &str = "t.id AS team_id, t.name AS team_name, t.created_at AS team_created_at";

pub(crate) fn team(row: &AnyRow) -> Result<Team> {
    Ok(Team {
        id: get(row, "team_id")?,
        name: get(row, "team_name")?,
        created_at: get(row, "team_created_at")?,
    })
}

/// Membership rows select [`USER_COLS`], [`TEAM_COLS`] and `m.role`.
pub(crate) fn membership(row: &AnyRow) -> Result<Membership> {
    Ok(Membership {
        team: team(row)?,
        user: user(row)?,
        role: get_role(row, "role")?,
    })
}

pub(crate) fn session(row: &AnyRow) -> Result<Session> {
    Ok(Session {
        user_id: get(row, "user_id")?,
        csrf: get(row, "csrf")?,
        expires_at: get(row, "expires_at")?,
    })
}

/// Columns for [`token`] from `api_tokens k JOIN teams t`.
pub(crate) const TOKEN_COLS: &str = "k.id, k.name, k.user_id, k.team_id, t.name AS team, k.role, \
     k.created_at, k.expires_at, k.last_used_at";

pub(crate) fn token(row: &AnyRow) -> Result<ApiToken> {
    Ok(ApiToken {
        id: get(row, "id")?,
        name: get(row, "name")?,
        user_id: get(row, "user_id")?,
        team_id: get(row, "team_id")?,
        team: get(row, "team")?,
        role: get_role(row, "role")?,
        created_at: get(row, "created_at")?,
        expires_at: get(row, "expires_at")?,
        last_used_at: get(row, "last_used_at")?,
    })
}

/// Columns for [`app`] from `apps a JOIN teams t`.
pub(crate) const APP_COLS: &str = "a.id, a.name, a.team_id, t.name AS team, a.description, a.head, \
     a.updated_at, a.updated_by";

pub(crate) fn app(row: &AnyRow) -> Result<AppSummary> {
    Ok(AppSummary {
        id: get(row, "id")?,
        name: get(row, "name")?,
        team_id: get(row, "team_id")?,
        team: get(row, "team")?,
        description: get(row, "description")?,
        head: get(row, "head")?,
        updated_at: get(row, "updated_at")?,
        updated_by: get(row, "updated_by")?,
    })
}

/// Columns for a whole [`revision`] from `revisions r JOIN apps a`.
pub(crate) const REVISION_COLS: &str = "a.name AS app, r.number, r.author_id, r.author, r.created_at, \
     r.message, r.manifest, r.files";

/// Columns for a [`revision`] without manifest and files.
pub(crate) const REVISION_META_COLS: &str = "a.name AS app, r.number, r.author_id, r.author, r.created_at, \
     r.message, '' AS manifest, '{}' AS files";

pub(crate) fn revision(row: &AnyRow) -> Result<Revision> {
    let files: String = get(row, "files")?;
    let files: BTreeMap<String, String> = serde_json::from_str(&files).map_err(|e| {
        StoreError::Corrupt(format!(
            "files of a revision are not a JSON object of strings: {e}"
        ))
    })?;
    Ok(Revision {
        app: get(row, "app")?,
        number: get(row, "number")?,
        author_id: get(row, "author_id")?,
        author: get(row, "author")?,
        created_at: get(row, "created_at")?,
        message: get(row, "message")?,
        manifest: get(row, "manifest")?,
        files,
    })
}

/// Columns for [`platform_file`] from `platform_files`.
pub(crate) const PLATFORM_COLS: &str = "name, content, version, updated_at, updated_by";

pub(crate) fn platform_file(row: &AnyRow) -> Result<PlatformFile> {
    Ok(PlatformFile {
        name: get(row, "name")?,
        content: get(row, "content")?,
        version: get(row, "version")?,
        updated_at: get(row, "updated_at")?,
        updated_by: get(row, "updated_by")?,
    })
}

/// Columns for a whole [`deployment`] from `deployments d`.
pub(crate) const DEPLOYMENT_COLS: &str = "d.id, d.app, d.team_id, d.environment, d.target, d.cluster, \
     d.revision, d.kind, d.actor_id, d.actor_name, d.via, d.started_at, d.finished_at, d.result, d.hash, \
     d.summary, d.report";

/// Columns for a [`deployment`] without its report (lists).
pub(crate) const DEPLOYMENT_META_COLS: &str = "d.id, d.app, d.team_id, d.environment, d.target, \
     d.cluster, d.revision, d.kind, d.actor_id, d.actor_name, d.via, d.started_at, d.finished_at, d.result, \
     d.hash, d.summary, NULL AS report";

pub(crate) fn deployment(row: &AnyRow) -> Result<DeploymentRecord> {
    let target: String = get(row, "target")?;
    let kind: String = get(row, "kind")?;
    let result: String = get(row, "result")?;
    let report: Option<String> = get(row, "report")?;
    let report = report
        .map(|r| serde_json::from_str(&r))
        .transpose()
        .map_err(|e| StoreError::Corrupt(format!("the report of a deployment is not JSON: {e}")))?;
    Ok(DeploymentRecord {
        id: get(row, "id")?,
        app: get(row, "app")?,
        team_id: get(row, "team_id")?,
        environment: get(row, "environment")?,
        target: DeployTarget::parse(&target)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown deployment target {target:?}")))?,
        cluster: get(row, "cluster")?,
        revision: get(row, "revision")?,
        kind: DeployKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown deployment kind {kind:?}")))?,
        actor_id: get(row, "actor_id")?,
        actor: get(row, "actor_name")?,
        via: get(row, "via")?,
        started_at: get(row, "started_at")?,
        finished_at: get(row, "finished_at")?,
        result: DeployResult::parse(&result)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown deployment result {result:?}")))?,
        hash: get(row, "hash")?,
        summary: get(row, "summary")?,
        report,
    })
}

/// Columns for [`log_secret`] from `log_secrets s JOIN teams t`.
pub(crate) const LOG_SECRET_COLS: &str = "s.id, s.team_id, t.name AS team, s.app, s.name, s.created_at, \
     s.created_by, s.revoked_at";

pub(crate) fn log_secret(row: &AnyRow) -> Result<LogSecret> {
    Ok(LogSecret {
        id: get(row, "id")?,
        team_id: get(row, "team_id")?,
        team: get(row, "team")?,
        app: get(row, "app")?,
        name: get(row, "name")?,
        created_at: get(row, "created_at")?,
        created_by: get(row, "created_by")?,
        revoked_at: get(row, "revoked_at")?,
    })
}

/// Columns for [`log_settings`] from `log_settings s`.
pub(crate) const LOG_SETTINGS_COLS: &str = "s.team_id, s.app, s.retention_days, s.rate_limit, s.level_filter";

/// A settings row: its team, its app (`None`: the team's row) and the settings.
pub(crate) fn log_settings(row: &AnyRow) -> Result<(i64, Option<String>, LogSettings)> {
    let settings = LogSettings {
        retention_days: get(row, "retention_days")?,
        rate_limit: get(row, "rate_limit")?,
        level_filter: get(row, "level_filter")?,
    };
    Ok((get(row, "team_id")?, get(row, "app")?, settings))
}

/// Columns for [`audit_entry`] from `audit au LEFT JOIN teams t`.
pub(crate) const AUDIT_COLS: &str = "au.id, au.at, au.actor_name, au.actor_id, au.via, au.action, \
     au.team_id, t.name AS team, au.app, au.target, au.before, au.after";

pub(crate) fn audit_entry(row: &AnyRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        id: get(row, "id")?,
        at: get(row, "at")?,
        actor: get(row, "actor_name")?,
        actor_id: get(row, "actor_id")?,
        via: get(row, "via")?,
        action: get(row, "action")?,
        team_id: get(row, "team_id")?,
        team: get(row, "team")?,
        app: get(row, "app")?,
        target: get(row, "target")?,
        before: get(row, "before")?,
        after: get(row, "after")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_take_wildcards_literally() {
        assert_eq!(contains_pattern("Pay"), "%pay%");
        assert_eq!(contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }

    #[test]
    fn page_sizes_are_clamped() {
        assert_eq!(page_size(0), 1);
        assert_eq!(page_size(20), 20);
        assert_eq!(page_size(10_000), 500);
    }
}
