//! The control plane's store: teams, users, sessions, API tokens, apps with immutable numbered
//! revisions, platform files, deployment records, log stream secrets and settings, and an
//! append-only audit log. One implementation over SQLite (embedded default) and PostgreSQL
//! (shared by several ojek replicas), through sqlx's `Any` driver; SQL is written once in the
//! dialect both accept, migrations once per engine.
//!
//! Every mutation runs in one transaction together with its audit entry: either both are
//! written or neither. Timestamps are Unix milliseconds (UTC).

use serde::{Deserialize, Serialize};

mod db;
mod error;
mod logs;
mod rows;
pub use db::redact_url;
pub use error::StoreError;
pub use logs::{
    AppLogSettings, DEFAULT_RETENTION_DAYS, EffectiveLogSettings, LOG_LEVELS, LogSecret, LogSettingOrigins,
    LogSettings, ManifestLogSettings, RETENTION_DAYS, SettingOrigin,
};

/// Result of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which database engine a store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DbKind {
    /// SQLite file (embedded default).
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// A role in a team. Ordered: `Viewer < Editor < Admin`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads the team's apps, revisions, previews and audit entries.
    Viewer,
    /// Also creates apps and saves revisions.
    Editor,
    /// Also deletes apps and manages the team's members.
    Admin,
}

impl Role {
    /// `viewer`, `editor` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }
    /// Parses `viewer`, `editor` or `admin`.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "editor" => Some(Role::Editor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A user account.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// Row id.
    pub id: i64,
    /// Login name (unique).
    pub username: String,
    /// Name shown in the UI.
    pub display_name: String,
    /// Platform administrator: may do anything, in every team.
    pub is_admin: bool,
    /// Unix ms.
    pub created_at: i64,
}

/// A team (Barito's "app group"): owns apps; members have roles.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Team {
    /// Row id.
    pub id: i64,
    /// DNS-label name (unique); apps name their team in `metadata.team`.
    pub name: String,
    /// Unix ms.
    pub created_at: i64,
}

/// One user's role in one team.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Membership {
    /// The team.
    pub team: Team,
    /// The user.
    pub user: User,
    /// The role.
    pub role: Role,
}

/// A browser session (the cookie holds the token; the store keeps its SHA-256).
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    /// The signed-in user.
    pub user_id: i64,
    /// The session's CSRF token (sent back in forms and the `X-CSRF-Token` header).
    pub csrf: String,
    /// Unix ms.
    pub expires_at: i64,
}

/// An API token: scoped to one team and a role; the store keeps only its SHA-256.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiToken {
    /// Row id.
    pub id: i64,
    /// What it is for (unique per user).
    pub name: String,
    /// Owner; the token never has more rights than its owner has now.
    pub user_id: i64,
    /// The one team it may act on.
    pub team_id: i64,
    /// Team name (joined).
    pub team: String,
    /// Highest role it acts with.
    pub role: Role,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms; `None`: never expires.
    pub expires_at: Option<i64>,
    /// Unix ms of the last authenticated request.
    pub last_used_at: Option<i64>,
}

/// An app as listed.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppSummary {
    /// Row id.
    pub id: i64,
    /// `metadata.name` (unique).
    pub name: String,
    /// Owning team id.
    pub team_id: i64,
    /// Owning team name.
    pub team: String,
    /// `metadata.description` of the head revision.
    pub description: String,
    /// The newest revision number (1-based).
    pub head: i64,
    /// Unix ms of the newest revision.
    pub updated_at: i64,
    /// Author of the newest revision.
    pub updated_by: String,
}

/// One immutable revision of an app.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Revision {
    /// App name.
    pub app: String,
    /// Number, 1-based, consecutive per app.
    pub number: i64,
    /// Author's user id (`None` for the system, e.g. demo data).
    pub author_id: Option<i64>,
    /// Author's username at the time.
    pub author: String,
    /// Unix ms.
    pub created_at: i64,
    /// Commit-style message.
    pub message: String,
    /// The full manifest text, as saved.
    pub manifest: String,
    /// Files referenced by `fromFile`, by path relative to the manifest.
    pub files: std::collections::BTreeMap<String, String>,
}

/// A new revision to store.
#[derive(Clone, Debug, Default)]
pub struct NewRevision {
    /// App name (`metadata.name`).
    pub app: String,
    /// Owning team (must exist).
    pub team_id: i64,
    /// `metadata.description`, for lists and search.
    pub description: String,
    /// Manifest text.
    pub manifest: String,
    /// `fromFile` files.
    pub files: std::collections::BTreeMap<String, String>,
    /// Message.
    pub message: String,
    /// The manifest's log settings (its `logs:` section, parsed by the caller; all `None` when it
    /// has none). Saving makes them the app's manifest-set log settings, which come before the
    /// app's own and its team's (audited `logs.settings` when they change).
    pub log_settings: LogSettings,
    /// For saves: the team the caller found (and was authorised for) the app in. The save
    /// fails with `NotFound` if the app is no longer in that team; if `team_id` differs, the
    /// move is also audited (`app.move`) for this team. `None`: no check (creation, system).
    pub expected_team_id: Option<i64>,
    /// For saves: one more audit entry written in the save's transaction, after its
    /// `app.save` (an `experiment.promote` says which experiment the revision came from).
    pub also_audit: Option<AlsoAudit>,
}

/// An audit entry that goes with a saved revision: `action`, and a target of
/// `app <app> rev <number>: <detail>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlsoAudit {
    /// What (`experiment.promote`).
    pub action: String,
    /// What the entry adds to the revision.
    pub detail: String,
}

/// A platform file, versioned like an app (one row per name; edits need the base version).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlatformFile {
    /// Name (`default`).
    pub name: String,
    /// YAML text.
    pub content: String,
    /// 1-based, +1 per save.
    pub version: i64,
    /// Unix ms.
    pub updated_at: i64,
    /// Username.
    pub updated_by: String,
}

/// Who does something, for the audit log.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    /// `None` for the system (first start, demo data).
    pub user_id: Option<i64>,
    /// Username, or `system`.
    pub name: String,
    /// How: `ui`, `api`, `token:<name>`, `cli`, `system`.
    pub via: String,
}

impl Actor {
    /// The system itself (migrations, first-start admin, demo data).
    pub fn system() -> Actor {
        Actor {
            user_id: None,
            name: "system".into(),
            via: "system".into(),
        }
    }
}

/// One audit entry. Append-only: the store has no update or delete for them.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// Increasing id (cursor for pagination).
    pub id: i64,
    /// Unix ms.
    pub at: i64,
    /// Who.
    pub actor: String,
    /// Their user id.
    pub actor_id: Option<i64>,
    /// How (`ui`, `api`, `token:…`, `system`).
    pub via: String,
    /// What: `app.create`, `app.save`, `app.delete`, `team.create`, `member.set`,
    /// `member.remove`, `app.move`, `user.create`, `user.password`, `token.create`, `token.revoke`,
    /// `platform.save`, `deploy.apply`, `deploy.rollback`, `logs.secret.create`,
    /// `logs.secret.revoke`, `logs.secret.rotate`, `logs.settings`, `logs.search`,
    /// `experiment.promote`, `login`, `login.failed`, `logout`.
    pub action: String,
    /// The team concerned (for team-scoped reading), if any.
    pub team_id: Option<i64>,
    /// Team name (joined).
    pub team: Option<String>,
    /// App name, if any.
    pub app: Option<String>,
    /// What was acted on, readable (`app payments rev 3`, `user ana`).
    pub target: String,
    /// State before (JSON text), if any.
    pub before: Option<String>,
    /// State after (JSON text), if any.
    pub after: Option<String>,
}

/// Which apps to list.
#[derive(Clone, Debug, Default)]
pub struct AppFilter {
    /// Only apps of these teams (`None`: all teams, for platform admins).
    pub team_ids: Option<Vec<i64>>,
    /// Only this team (by name).
    pub team: Option<String>,
    /// Case-insensitive substring of name or description.
    pub search: Option<String>,
    /// Page size (capped at 500 by the store).
    pub limit: i64,
    /// Offset.
    pub offset: i64,
}

/// Which audit entries to list (newest first).
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// Only entries of these teams, plus entries about the reader themselves
    /// (`None`: everything, for platform admins).
    pub team_ids: Option<Vec<i64>>,
    /// Entries about the reader (their logins, tokens) when `team_ids` is set.
    pub actor_id: Option<i64>,
    /// Only this app.
    pub app: Option<String>,
    /// Only entries with `id < before` (pagination cursor).
    pub before: Option<i64>,
    /// Page size (capped at 500).
    pub limit: i64,
}

/// Where a deployment goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeployTarget {
    /// A Kubernetes cluster.
    Kubernetes,
    /// A Nomad cluster.
    Nomad,
}

impl DeployTarget {
    /// `kubernetes` or `nomad`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeployTarget::Kubernetes => "kubernetes",
            DeployTarget::Nomad => "nomad",
        }
    }
    /// Parses `kubernetes` or `nomad`.
    pub fn parse(s: &str) -> Option<DeployTarget> {
        match s {
            "kubernetes" => Some(DeployTarget::Kubernetes),
            "nomad" => Some(DeployTarget::Nomad),
            _ => None,
        }
    }
}

/// What a deployment does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeployKind {
    /// Applies a revision (audited `deploy.apply`).
    Apply,
    /// Goes back to an earlier revision (audited `deploy.rollback`).
    Rollback,
}

impl DeployKind {
    /// `apply` or `rollback`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeployKind::Apply => "apply",
            DeployKind::Rollback => "rollback",
        }
    }
    /// Parses `apply` or `rollback`.
    pub fn parse(s: &str) -> Option<DeployKind> {
        match s {
            "apply" => Some(DeployKind::Apply),
            "rollback" => Some(DeployKind::Rollback),
            _ => None,
        }
    }
    /// The audit action of a finished deployment of this kind.
    pub fn audit_action(self) -> &'static str {
        match self {
            DeployKind::Apply => "deploy.apply",
            DeployKind::Rollback => "deploy.rollback",
        }
    }
}

/// How a deployment ended (or that it has not yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeployResult {
    /// Started, not finished: the only state a deployment can be finished from.
    Running,
    /// Everything applied and became ready: the environment now runs this revision.
    Succeeded,
    /// Applying or the rollout failed.
    Failed,
    /// Applied, but not ready within the wait.
    Timeout,
    /// The cluster could not be reached: nothing was applied.
    Unreachable,
    /// The cluster refused because someone else owns a field or changed the job since the plan.
    Conflict,
    /// Some objects applied, others failed (the report says which).
    Partial,
}

impl DeployResult {
    /// Every result, `Running` first.
    pub const ALL: [DeployResult; 7] = [
        DeployResult::Running,
        DeployResult::Succeeded,
        DeployResult::Failed,
        DeployResult::Timeout,
        DeployResult::Unreachable,
        DeployResult::Conflict,
        DeployResult::Partial,
    ];
    /// The lowercase name (`running`, `succeeded`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            DeployResult::Running => "running",
            DeployResult::Succeeded => "succeeded",
            DeployResult::Failed => "failed",
            DeployResult::Timeout => "timeout",
            DeployResult::Unreachable => "unreachable",
            DeployResult::Conflict => "conflict",
            DeployResult::Partial => "partial",
        }
    }
    /// Parses the lowercase name.
    pub fn parse(s: &str) -> Option<DeployResult> {
        DeployResult::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A deployment to record as started.
#[derive(Clone, Debug)]
pub struct NewDeployment {
    /// App name (must exist).
    pub app: String,
    /// The revision applied, or rolled back to (must exist).
    pub revision: i64,
    /// Environment name from the platform file (`production`).
    pub environment: String,
    /// Kubernetes or Nomad.
    pub target: DeployTarget,
    /// Cluster context name or address. Credentials in a URL are redacted by the store, but
    /// callers should pass none.
    pub cluster: String,
    /// Apply or rollback.
    pub kind: DeployKind,
    /// The team the caller found (and was authorised for) the app in: `NotFound` if the app
    /// is no longer there. `None`: no check.
    pub expected_team_id: Option<i64>,
}

/// One deployment: an attempt to apply (or roll back to) a revision of an app in an
/// environment. Kept after the app is deleted.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentRecord {
    /// Increasing id (cursor for pagination).
    pub id: i64,
    /// App name.
    pub app: String,
    /// The app's team when the deployment started.
    pub team_id: i64,
    /// Environment name.
    pub environment: String,
    /// Kubernetes or Nomad.
    pub target: DeployTarget,
    /// Cluster context name or address.
    pub cluster: String,
    /// The revision applied, or rolled back to.
    pub revision: i64,
    /// Apply or rollback.
    pub kind: DeployKind,
    /// Who started it (`None` for the system).
    pub actor_id: Option<i64>,
    /// Their username at the time.
    pub actor: String,
    /// How (`ui`, `api`, `token:…`, `cli`).
    pub via: String,
    /// Unix ms.
    pub started_at: i64,
    /// Unix ms; `None` while running.
    pub finished_at: Option<i64>,
    /// The outcome, or `Running`.
    pub result: DeployResult,
    /// Hash of what was applied, if anything was.
    pub hash: Option<String>,
    /// One line for lists (empty while running).
    pub summary: String,
    /// The deploy report (JSON). `None` while running, for interrupted deployments, and in
    /// lists (read one deployment for its report).
    pub report: Option<serde_json::Value>,
}

/// What one environment of an app runs, and how the latest attempt there went.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentStatus {
    /// Environment name.
    pub environment: String,
    /// The newest deployment there, whatever its result (may be running).
    pub last: DeploymentRecord,
    /// The newest one that succeeded: what the environment runs, as far as ojek knows.
    pub last_succeeded: Option<DeploymentRecord>,
}

mod store;
pub use store::Store;
