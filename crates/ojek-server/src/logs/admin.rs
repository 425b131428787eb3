//! Log settings and producer secrets through the API. Settings: team defaults (team admins)
//! and per-app overrides (the app's editors), below what an app's manifest sets (`logs:`,
//! stored with each saved revision, see [`from_manifest`]); secrets: per team or per app, shown
//! once, stored hashed, rotated or revoked by team admins. Every change is audited by the store.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use ojek_spec::manifest::Logs;
use ojek_store::{LogSettings, Role, Team};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::api::JsonBody;
use crate::auth::{Principal, random_secret};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The prefix of producer secrets (so a leaked one is recognisable).
pub const SECRET_PREFIX: &str = "ojek_log_";

/// `team` and optional `app` of the settings and secrets endpoints.
#[derive(Debug, Deserialize)]
pub struct Scope {
    /// Team name.
    pub team: String,
    /// App name (its override / its secret); absent: the team's.
    #[serde(default)]
    pub app: Option<String>,
}

/// The log settings a manifest's `logs:` section sets (none when it has no section), as the
/// store keeps them with the revision that is saved.
pub fn from_manifest(logs: Option<&Logs>) -> LogSettings {
    let Some(logs) = logs else {
        return LogSettings::default();
    };
    LogSettings {
        retention_days: logs.retention_days.map(i64::from),
        rate_limit: logs.rate_limit.map(i64::from),
        level_filter: logs.level.map(|l| l.as_str().to_owned()),
    }
}

/// A team the caller holds `role` in (404 for teams they are not in, so names do not leak).
async fn team(state: &AppState, p: &Principal, name: &str, role: Role) -> ApiResult<Team> {
    let team = state.store.team_by_name(name).await?;
    match team {
        Some(t) if p.can(t.id, role) => Ok(t),
        Some(t) if p.role_in(t.id).is_some() => Err(ApiError::forbidden(format!(
            "this needs the {} role in team {name}",
            role.as_str()
        ))),
        _ => Err(ApiError::not_found(format!("no team {name} that you are in"))),
    }
}

/// An app of `team` (404 otherwise).
async fn app_in(state: &AppState, team: &Team, app: &str) -> ApiResult<()> {
    match state.store.app(app).await? {
        Some(a) if a.team_id == team.id => Ok(()),
        _ => Err(ApiError::not_found(format!("no app {app} in team {}", team.name))),
    }
}

/// `GET /api/logs/settings?team=&app=` (team viewers): what is stored (the team's, the app's
/// own, the app's manifest's with its revision) and what applies.
pub async fn settings(
    State(state): State<AppState>,
    p: Principal,
    Query(scope): Query<Scope>,
) -> ApiResult<Json<Value>> {
    let team = team(&state, &p, &scope.team, Role::Viewer).await?;
    if let Some(app) = &scope.app {
        app_in(&state, &team, app).await?;
    }
    let team_row = state.store.log_settings(team.id, None).await?;
    let (app_row, manifest) = match &scope.app {
        Some(app) => (
            state.store.log_settings(team.id, Some(app)).await?,
            state.store.manifest_log_settings(team.id, app).await?,
        ),
        None => (None, None),
    };
    let effective = state
        .store
        .effective_log_settings(team.id, scope.app.as_deref())
        .await?;
    Ok(Json(json!({
        "team": team_row,
        "app": app_row,
        "manifest": manifest,
        "effective": effective,
    })))
}

/// Body of `PUT /api/logs/settings`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PutSettings {
    team: String,
    #[serde(default)]
    app: Option<String>,
    #[serde(default)]
    retention_days: Option<i64>,
    #[serde(default)]
    rate_limit: Option<i64>,
    #[serde(default)]
    level_filter: Option<String>,
}

/// `PUT /api/logs/settings`: replaces the team's settings (team admins) or an app's override
/// (the app's editors); absent fields are inherited. 409 `set_by_manifest` (naming the
/// revision and the fields) if it would change an app's field that its manifest sets.
pub async fn put_settings(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(body): JsonBody<PutSettings>,
) -> ApiResult<Json<Value>> {
    let role = if body.app.is_some() {
        Role::Editor
    } else {
        Role::Admin
    };
    let team = team(&state, &p, &body.team, role).await?;
    if let Some(app) = &body.app {
        app_in(&state, &team, app).await?;
    }
    let settings = LogSettings {
        retention_days: body.retention_days,
        rate_limit: body.rate_limit,
        level_filter: body.level_filter.clone(),
    };
    state
        .store
        .set_log_settings(team.id, body.app.as_deref(), &settings, &p.actor())
        .await?;
    let effective = state
        .store
        .effective_log_settings(team.id, body.app.as_deref())
        .await?;
    Ok(Json(json!({ "stored": settings, "effective": effective })))
}

/// `GET /api/logs/secrets?team=` (team admins): the team's secrets, revoked ones too.
pub async fn secrets(
    State(state): State<AppState>,
    p: Principal,
    Query(scope): Query<Scope>,
) -> ApiResult<Json<Value>> {
    let team = team(&state, &p, &scope.team, Role::Admin).await?;
    Ok(Json(
        json!({ "secrets": state.store.log_secrets(team.id).await? }),
    ))
}

/// Body of `POST /api/logs/secrets`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSecret {
    team: String,
    #[serde(default)]
    app: Option<String>,
    name: String,
}

fn new_secret() -> (String, Vec<u8>) {
    let secret = format!("{SECRET_PREFIX}{}", random_secret());
    let hash = Sha256::digest(secret.as_bytes()).to_vec();
    (secret, hash)
}

/// `POST /api/logs/secrets` (team admins): a new producer secret, shown once.
pub async fn create_secret(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(body): JsonBody<NewSecret>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let team = team(&state, &p, &body.team, Role::Admin).await?;
    if body.name.trim().is_empty() || body.name.len() > 100 {
        return Err(ApiError::bad_request("`name`: 1 to 100 characters"));
    }
    if let Some(app) = &body.app {
        app_in(&state, &team, app).await?;
    }
    let (secret, hash) = new_secret();
    let created = state
        .store
        .create_log_secret(team.id, body.app.as_deref(), body.name.trim(), &hash, &p.actor())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "secret": secret, "logSecret": created, "note": "the secret is shown once" })),
    ))
}

/// `POST /api/logs/secrets/{id}/rotate?team=` (team admins): a new secret replaces the old
/// one at once; shown once.
pub async fn rotate_secret(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Query(scope): Query<Scope>,
) -> ApiResult<Json<Value>> {
    let team = team(&state, &p, &scope.team, Role::Admin).await?;
    let (secret, hash) = new_secret();
    let rotated = state
        .store
        .rotate_log_secret(id, &hash, team.id, &p.actor())
        .await?;
    Ok(Json(
        json!({ "secret": secret, "logSecret": rotated, "note": "the secret is shown once" }),
    ))
}

/// `DELETE /api/logs/secrets/{id}?team=` (team admins): revokes a secret.
pub async fn revoke_secret(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    Query(scope): Query<Scope>,
) -> ApiResult<StatusCode> {
    let team = team(&state, &p, &scope.team, Role::Admin).await?;
    state.store.revoke_log_secret(id, team.id, &p.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use ojek_spec::manifest::LogLevel;

    use super::*;

    #[test]
    fn manifest_levels_are_the_levels_the_store_accepts() {
        let names: Vec<&str> = LogLevel::ALL.iter().map(|l| l.as_str()).collect();
        assert_eq!(names, ojek_store::LOG_LEVELS);
    }

    #[test]
    fn manifest_settings_become_store_settings() {
        assert_eq!(from_manifest(None), LogSettings::default());
        let logs = Logs {
            retention_days: Some(3650),
            rate_limit: Some(u32::MAX),
            level: Some(LogLevel::Warn),
        };
        let settings = from_manifest(Some(&logs));
        assert_eq!(
            settings,
            LogSettings {
                retention_days: Some(3650),
                rate_limit: Some(i64::from(u32::MAX)),
                level_filter: Some("warn".into()),
            }
        );
        assert!(
            settings.validate().is_ok(),
            "what the schema accepts, the store accepts"
        );
        assert_eq!(from_manifest(Some(&Logs::default())), LogSettings::default());
    }
}
