//! The caller, teams and members, users, API tokens, the platform file and the audit log.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use ojek_core::spec::load::load_platform;
use ojek_store::{AuditFilter, Role};
use serde::Deserialize;
use serde_json::{Value, json};

use super::JsonBody;
use super::apps::readable_app;
use crate::auth::{
    Principal, TOKEN_PREFIX, Via, check_password, hash_password, now_ms, random_secret, secret_hash,
};
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, PLATFORM};

/// `GET /api/me`: who the caller is, their teams and roles, and how they authenticated.
pub async fn me(p: Principal) -> Json<Value> {
    let mut teams: Vec<Value> = p
        .teams
        .values()
        .filter_map(|(t, _)| Some(json!({ "team": t.name, "role": p.role_in(t.id)? })))
        .collect();
    teams.sort_by(|a, b| a["team"].as_str().cmp(&b["team"].as_str()));
    let via = match &p.via {
        Via::Session { .. } => json!({ "kind": "session" }),
        Via::Token(t) => json!({ "kind": "token", "name": t.name, "team": t.team, "role": t.role }),
    };
    Json(json!({ "user": p.user, "teams": teams, "via": via }))
}

fn require_platform_admin(p: &Principal) -> ApiResult<()> {
    if p.is_platform_admin() {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only platform administrators (signed in, not with a token) can do this",
        ))
    }
}

/// A DNS label (team names, user names).
pub fn check_name(what: &str, name: &str) -> ApiResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && name.as_bytes()[0].is_ascii_lowercase()
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "{what} `{name}` must be 1–63 lowercase letters, digits or `-`, starting with a letter and not ending with `-`"
        )))
    }
}

/// `GET /api/teams`: every team for platform admins, else the caller's teams with roles.
pub async fn teams(State(state): State<AppState>, p: Principal) -> ApiResult<Json<Value>> {
    let all = state.store.teams().await?;
    let teams: Vec<Value> = all
        .into_iter()
        .filter_map(|t| {
            let role = p.role_in(t.id)?;
            Some(json!({ "id": t.id, "name": t.name, "createdAt": t.created_at, "role": role }))
        })
        .collect();
    Ok(Json(json!({ "teams": teams })))
}

/// Body of `POST /api/teams`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTeam {
    /// DNS label.
    pub name: String,
}

/// `POST /api/teams` (platform admin).
pub async fn create_team(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(body): JsonBody<NewTeam>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    require_platform_admin(&p)?;
    check_name("team name", &body.name)?;
    let t = state.store.create_team(&body.name, &p.actor()).await?;
    Ok((StatusCode::CREATED, Json(json!(t))))
}

async fn team(state: &AppState, p: &Principal, name: &str, role: Role) -> ApiResult<ojek_store::Team> {
    match state.store.team_by_name(name).await? {
        Some(t) if p.can(t.id, Role::Viewer) => {
            if p.can(t.id, role) {
                Ok(t)
            } else {
                Err(ApiError::forbidden(format!(
                    "you need the {} role in team {name}",
                    role.as_str()
                )))
            }
        }
        _ => Err(ApiError::not_found(format!(
            "no team `{name}` (or you are not in it)"
        ))),
    }
}

/// `GET /api/teams/{team}/members`.
pub async fn members(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let t = team(&state, &p, &name, Role::Viewer).await?;
    let members: Vec<Value> = state
        .store
        .members(t.id)
        .await?
        .into_iter()
        .map(|m| json!({ "username": m.user.username, "displayName": m.user.display_name, "role": m.role }))
        .collect();
    Ok(Json(json!({ "team": t.name, "members": members })))
}

/// Body of `PUT /api/teams/{team}/members/{user}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetRole {
    /// `viewer`, `editor` or `admin`.
    pub role: Role,
}

/// `PUT /api/teams/{team}/members/{user}` (team admin): adds a member or changes their role.
pub async fn set_member(
    State(state): State<AppState>,
    p: Principal,
    Path((team_name, username)): Path<(String, String)>,
    JsonBody(body): JsonBody<SetRole>,
) -> ApiResult<StatusCode> {
    let t = team(&state, &p, &team_name, Role::Admin).await?;
    let Some((user, _)) = state.store.user_by_name(&username).await? else {
        return Err(ApiError::not_found(format!("no user `{username}`")));
    };
    state
        .store
        .set_member(t.id, user.id, Some(body.role), &p.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/teams/{team}/members/{user}` (team admin).
pub async fn remove_member(
    State(state): State<AppState>,
    p: Principal,
    Path((team_name, username)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let t = team(&state, &p, &team_name, Role::Admin).await?;
    let Some((user, _)) = state.store.user_by_name(&username).await? else {
        return Err(ApiError::not_found(format!("no user `{username}`")));
    };
    state.store.set_member(t.id, user.id, None, &p.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/users` (platform admin).
pub async fn users(State(state): State<AppState>, p: Principal) -> ApiResult<Json<Value>> {
    require_platform_admin(&p)?;
    Ok(Json(json!({ "users": state.store.users().await? })))
}

/// Body of `POST /api/users`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewUser {
    /// Login name (DNS label).
    pub username: String,
    /// Shown name (default: the login name).
    #[serde(default)]
    pub display_name: Option<String>,
    /// At least 10 characters.
    pub password: String,
    /// Platform administrator.
    #[serde(default)]
    pub is_admin: bool,
}

/// `POST /api/users` (platform admin).
pub async fn create_user(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(body): JsonBody<NewUser>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    require_platform_admin(&p)?;
    check_name("user name", &body.username)?;
    check_password(&body.password)?;
    let display = body.display_name.unwrap_or_else(|| body.username.clone());
    let hash = hash_password(body.password).await?;
    let u = state
        .store
        .create_user(&body.username, &display, &hash, body.is_admin, &p.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(json!(u))))
}

/// Token management needs a signed-in session: a token must not see or revoke its owner's
/// tokens for other teams.
fn require_session(p: &Principal, what: &str) -> ApiResult<()> {
    match p.via {
        Via::Session { .. } => Ok(()),
        Via::Token(_) => Err(ApiError::forbidden(format!(
            "tokens cannot {what}; sign in to do it"
        ))),
    }
}

/// `GET /api/tokens` (signed-in users): the caller's live tokens (never their secrets).
pub async fn tokens(State(state): State<AppState>, p: Principal) -> ApiResult<Json<Value>> {
    require_session(&p, "list tokens")?;
    Ok(Json(json!({ "tokens": state.store.tokens_of(p.user.id).await? })))
}

/// Body of `POST /api/tokens`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewToken {
    /// What it is for.
    pub name: String,
    /// The team it may act on.
    pub team: String,
    /// Its highest role (at most the caller's).
    pub role: Role,
    /// Days until it expires (default: never).
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

/// `POST /api/tokens` (signed-in users only): the secret is in the response, once.
pub async fn create_token(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(body): JsonBody<NewToken>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    require_session(&p, "create tokens")?;
    let name = body.name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(ApiError::bad_request("a token name is 1–100 characters"));
    }
    let t = team(&state, &p, &body.team, body.role).await?;
    let secret = format!("{TOKEN_PREFIX}{}", random_secret());
    let expires = body
        .expires_in_days
        .map(|d| now_ms() + i64::from(d) * 24 * 3600 * 1000);
    let token = state
        .store
        .create_token(
            name,
            p.user.id,
            t.id,
            body.role,
            &secret_hash(&secret),
            expires,
            &p.actor(),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "token": secret, "info": token })),
    ))
}

/// `DELETE /api/tokens/{id}`: revokes one of the caller's tokens.
pub async fn revoke_token(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    require_session(&p, "revoke tokens")?;
    state.store.revoke_token(id, p.user.id, &p.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/platform`: the platform file.
pub async fn platform(State(state): State<AppState>, _p: Principal) -> ApiResult<Json<Value>> {
    match state.store.platform(PLATFORM).await? {
        Some(f) => Ok(Json(json!(f))),
        None => Err(ApiError::not_found("no platform file yet")),
    }
}

/// Body of `PUT /api/platform`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SavePlatform {
    /// YAML text.
    pub content: String,
    /// The version the edit started from (`null` to create).
    pub base_version: Option<i64>,
}

/// `PUT /api/platform` (platform admin): validated before it is stored.
pub async fn save_platform(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(body): JsonBody<SavePlatform>,
) -> ApiResult<Json<Value>> {
    require_platform_admin(&p)?;
    if let Err(d) = load_platform("platform.yaml", &body.content) {
        return Err(ApiError::invalid(
            "the platform file has errors; nothing was saved",
            &d,
        ));
    }
    let f = state
        .store
        .save_platform(PLATFORM, &body.content, body.base_version, &p.actor())
        .await?;
    Ok(Json(json!(f)))
}

/// Query of `GET /api/audit`.
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    /// Only this app.
    #[serde(default)]
    pub app: Option<String>,
    /// Only entries older than this id.
    #[serde(default)]
    pub before: Option<i64>,
    /// Page size (default 100).
    #[serde(default)]
    pub limit: Option<i64>,
}

/// `GET /api/audit`: entries of the caller's teams and about the caller, newest first.
pub async fn audit(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "entries": audit_entries(&state, &p, &q).await? })))
}

/// The audit entries a caller may read.
pub async fn audit_entries(
    state: &AppState,
    p: &Principal,
    q: &AuditQuery,
) -> ApiResult<Vec<ojek_store::AuditEntry>> {
    if let Some(app) = &q.app {
        readable_app(state, p, app, Role::Viewer).await?;
    }
    let filter = AuditFilter {
        team_ids: p.readable_teams(),
        // A session also sees the reader's own team-less entries (sign-ins, tokens); a token
        // sees only its team's.
        actor_id: matches!(p.via, Via::Session { .. }).then_some(p.user.id),
        app: q.app.clone(),
        before: q.before,
        limit: q.limit.unwrap_or(100).clamp(1, 500),
    };
    Ok(state.store.audit(&filter).await?)
}
