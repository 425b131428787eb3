//! Apps and their revisions.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use ojek_core::spec::diagnostic::Diagnostics;
use ojek_store::{AppFilter, AppSummary, NewRevision, Revision, Role, StoreError};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ManifestInput;
use super::render::{checked_manifest, revision_meta};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, diagnostics_json};
use crate::state::AppState;

/// Query of `GET /api/apps`.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// Substring of name or description.
    #[serde(default)]
    pub q: Option<String>,
    /// Team name.
    #[serde(default)]
    pub team: Option<String>,
    /// Page size (default 50, at most 500).
    #[serde(default)]
    pub limit: Option<i64>,
    /// Offset.
    #[serde(default)]
    pub offset: Option<i64>,
}

/// `GET /api/apps`: the apps the caller may read.
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    let (apps, total) = list_apps(&state, &p, &q).await?;
    Ok(Json(json!({ "apps": apps, "total": total })))
}

/// The apps the caller may read, filtered.
pub async fn list_apps(state: &AppState, p: &Principal, q: &ListQuery) -> ApiResult<(Vec<AppSummary>, i64)> {
    let filter = AppFilter {
        team_ids: p.readable_teams(),
        team: q.team.clone().filter(|t| !t.is_empty()),
        search: q.q.clone().filter(|s| !s.trim().is_empty()),
        limit: q.limit.unwrap_or(50).clamp(1, 500),
        offset: q.offset.unwrap_or(0).max(0),
    };
    Ok(state.store.list_apps(&filter).await?)
}

/// An app the caller may read with at least `role`; 404 if it does not exist or they may not
/// see it at all (so other teams' app names do not leak), 403 if they may see it but not do this.
pub async fn readable_app(state: &AppState, p: &Principal, name: &str, role: Role) -> ApiResult<AppSummary> {
    let app = state.store.app(name).await?;
    match app {
        Some(a) if p.can(a.team_id, Role::Viewer) => {
            if p.can(a.team_id, role) {
                Ok(a)
            } else {
                Err(ApiError::forbidden(format!(
                    "you need the {} role in team {} to do this with {}",
                    role.as_str(),
                    a.team,
                    a.name
                )))
            }
        }
        _ => Err(ApiError::not_found(format!(
            "no app `{name}` (or it belongs to a team you are not in)"
        ))),
    }
}

/// `POST /api/apps`: creates an app (revision 1) from a manifest.
pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    input: ManifestInput,
) -> ApiResult<impl IntoResponse> {
    let (app, rev, warnings) = create_app(&state, &p, input).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "app": app,
            "revision": revision_meta(&rev),
            "warnings": diagnostics_json(&warnings),
        })),
    ))
}

/// Creates an app (revision 1) from a manifest on behalf of the caller (API and UI): the
/// manifest must pass every check and the caller must be an editor of its team. Its `logs:`
/// section becomes the app's manifest-set log settings, in the same transaction.
pub async fn create_app(
    state: &AppState,
    p: &Principal,
    input: ManifestInput,
) -> ApiResult<(AppSummary, Revision, Diagnostics)> {
    let checked = checked_manifest(state, &input.manifest, &input.files).await?;
    let team = team_for_edit(state, p, &checked.team).await?;
    let new = NewRevision {
        app: checked.name.clone(),
        team_id: team.id,
        description: checked.description.clone(),
        manifest: input.manifest,
        files: input.files,
        message: message_or(&input.message, "Create app"),
        log_settings: crate::logs::admin::from_manifest(checked.loaded.app.logs.as_ref()),
        expected_team_id: None,
        also_audit: None,
    };
    let (app, rev) = state
        .store
        .create_app(&new, &p.actor())
        .await
        .map_err(|e| match e {
            StoreError::AlreadyExists(_) => ApiError::new(
                StatusCode::CONFLICT,
                "already_exists",
                format!(
                    "an app named `{}` already exists; names are unique across teams",
                    new.app
                ),
            ),
            e => e.into(),
        })?;
    Ok((app, rev, checked.warnings))
}

/// The message, or a default.
pub fn message_or(message: &str, default: &str) -> String {
    let m = message.trim();
    if m.is_empty() {
        default.to_string()
    } else {
        m.chars().take(2000).collect()
    }
}

/// The team named in a manifest, if it exists and the caller may edit its apps.
pub async fn team_for_edit(state: &AppState, p: &Principal, team: &str) -> ApiResult<ojek_store::Team> {
    let Some(t) = state.store.team_by_name(team).await? else {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_team",
            format!("metadata.team: there is no team `{team}`"),
        ));
    };
    if !p.can(t.id, Role::Editor) {
        return Err(ApiError::forbidden(format!(
            "you need the editor role in team {} to save its apps",
            t.name
        )));
    }
    Ok(t)
}

/// Query selecting a revision.
#[derive(Debug, Default, Deserialize)]
pub struct RevisionQuery {
    /// Revision number (default: the newest).
    #[serde(default)]
    pub revision: Option<i64>,
}

/// `GET /api/apps/{app}`: the app and a revision (default the newest), whole.
pub async fn show(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
    Query(q): Query<RevisionQuery>,
) -> ApiResult<Json<Value>> {
    let app = readable_app(&state, &p, &name, Role::Viewer).await?;
    let rev = load_revision(&state, &app, q.revision).await?;
    Ok(Json(json!({ "app": app, "revision": rev })))
}

/// A revision of an app (404 if missing).
pub async fn load_revision(state: &AppState, app: &AppSummary, number: Option<i64>) -> ApiResult<Revision> {
    let n = number.unwrap_or(app.head);
    state.store.revision(&app.name, n).await?.ok_or_else(|| {
        ApiError::not_found(format!("{} has no revision {n} (newest: {})", app.name, app.head))
    })
}

/// `PUT /api/apps/{app}`: saves a new revision; `baseRevision` is required and must be the
/// newest, else 409 with the change made since.
pub async fn update(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
    input: ManifestInput,
) -> ApiResult<Json<Value>> {
    let (rev, warnings) = save(&state, &p, &name, input).await?;
    Ok(Json(json!({
        "revision": revision_meta(&rev),
        "warnings": diagnostics_json(&warnings),
    })))
}

/// Saves a new revision of an app on behalf of the caller (API and UI; restoring an old
/// revision saves its manifest again). `input.base_revision` is required and must be the
/// newest revision, else 409 with the change made since (`current`, `currentManifest` and
/// `diff` in the details). The manifest's `logs:` section replaces the app's manifest-set log
/// settings (none clears them), in the same transaction.
pub async fn save(
    state: &AppState,
    p: &Principal,
    name: &str,
    input: ManifestInput,
) -> ApiResult<(Revision, Diagnostics)> {
    let app = readable_app(state, p, name, Role::Editor).await?;
    let Some(base) = input.base_revision else {
        return Err(ApiError::bad_request(
            "baseRevision is required: the revision your edit started from",
        ));
    };
    let checked = checked_manifest(state, &input.manifest, &input.files).await?;
    if checked.name != app.name {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "rename",
            format!(
                "metadata.name is `{}` but this is app `{}`; renaming is not supported (create a new app)",
                checked.name, app.name
            ),
        ));
    }
    let team = if checked.team == app.team {
        ojek_store::Team {
            id: app.team_id,
            name: app.team.clone(),
            created_at: 0,
        }
    } else {
        // Moving an app takes it away from its team, like deleting it: team admins only.
        if !p.can(app.team_id, Role::Admin) {
            return Err(ApiError::forbidden(format!(
                "moving {} from team {} to {} needs the admin role in team {}",
                app.name, app.team, checked.team, app.team
            )));
        }
        team_for_edit(state, p, &checked.team).await?
    };
    let new = NewRevision {
        app: app.name.clone(),
        team_id: team.id,
        description: checked.description.clone(),
        manifest: input.manifest,
        files: input.files,
        message: message_or(&input.message, "Update app"),
        log_settings: crate::logs::admin::from_manifest(checked.loaded.app.logs.as_ref()),
        expected_team_id: Some(app.team_id),
        also_audit: input.also_audit,
    };
    match state.store.save_revision(&new, base, &p.actor()).await {
        Ok(rev) => Ok((rev, checked.warnings)),
        Err(StoreError::Conflict(current)) => {
            let base_rev = state.store.revision(&app.name, base).await?;
            let diff = base_rev
                .as_ref()
                .map(|b| unified_diff(b, &current))
                .unwrap_or_default();
            let message = format!(
                "{} was saved by {} since revision {base} (now at revision {}: “{}”); nothing was saved. \
                 Merge your edit into revision {} and save again.",
                app.name, current.author, current.number, current.message, current.number
            );
            Err(
                ApiError::new(StatusCode::CONFLICT, "conflict", message).with_details(json!({
                    "current": revision_meta(&current),
                    "currentManifest": current.manifest,
                    "diff": diff,
                })),
            )
        }
        Err(e) => Err(e.into()),
    }
}

/// `DELETE /api/apps/{app}` (team admin).
pub async fn remove(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    let app = readable_app(&state, &p, &name, Role::Admin).await?;
    state
        .store
        .delete_app(&app.name, Some(app.team_id), &p.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Pagination of revisions.
#[derive(Debug, Default, Deserialize)]
pub struct RevisionsQuery {
    /// Only revisions below this number.
    #[serde(default)]
    pub before: Option<i64>,
    /// Page size (default 50).
    #[serde(default)]
    pub limit: Option<i64>,
}

/// `GET /api/apps/{app}/revisions`: newest first, without manifests.
pub async fn revisions(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
    Query(q): Query<RevisionsQuery>,
) -> ApiResult<Json<Value>> {
    let app = readable_app(&state, &p, &name, Role::Viewer).await?;
    let revs = state
        .store
        .revisions(&app.name, q.before, q.limit.unwrap_or(50).clamp(1, 500))
        .await?;
    Ok(Json(json!({
        "app": app.name,
        "head": app.head,
        "revisions": revs.iter().map(revision_meta).collect::<Vec<_>>(),
    })))
}

/// `GET /api/apps/{app}/revisions/{number}`: one revision, whole.
pub async fn revision(
    State(state): State<AppState>,
    p: Principal,
    Path((name, number)): Path<(String, i64)>,
) -> ApiResult<Json<Revision>> {
    let app = readable_app(&state, &p, &name, Role::Viewer).await?;
    Ok(Json(load_revision(&state, &app, Some(number)).await?))
}

/// Query of a diff.
#[derive(Debug, Default, Deserialize)]
pub struct DiffQuery {
    /// Older revision (default: `to - 1`).
    #[serde(default)]
    pub from: Option<i64>,
    /// Newer revision (default: the newest).
    #[serde(default)]
    pub to: Option<i64>,
}

/// `GET /api/apps/{app}/diff?from=&to=`: a unified diff of manifests (and files).
pub async fn diff(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
    Query(q): Query<DiffQuery>,
) -> ApiResult<Json<Value>> {
    let app = readable_app(&state, &p, &name, Role::Viewer).await?;
    let (from, to) = diff_range(&app, q.from, q.to);
    let a = load_revision(&state, &app, Some(from)).await?;
    let b = load_revision(&state, &app, Some(to)).await?;
    Ok(Json(json!({
        "app": app.name,
        "from": revision_meta(&a),
        "to": revision_meta(&b),
        "diff": unified_diff(&a, &b),
    })))
}

/// The revisions a diff compares: `to` defaults to the newest, `from` to the one before it.
pub fn diff_range(app: &AppSummary, from: Option<i64>, to: Option<i64>) -> (i64, i64) {
    let to = to.unwrap_or(app.head);
    let from = from.unwrap_or(to.saturating_sub(1).max(1));
    (from, to)
}

/// A unified diff between two revisions: the manifest, then each `fromFile` file.
pub fn unified_diff(a: &Revision, b: &Revision) -> String {
    let mut out = String::new();
    let mut one = |old: &str, new: &str, name: &str| {
        if old == new {
            return;
        }
        let d = similar::TextDiff::from_lines(old, new);
        out.push_str(
            &d.unified_diff()
                .context_radius(3)
                .header(
                    &format!("{name} (revision {})", a.number),
                    &format!("{name} (revision {})", b.number),
                )
                .to_string(),
        );
    };
    one(&a.manifest, &b.manifest, "manifest");
    let names: std::collections::BTreeSet<&String> = a.files.keys().chain(b.files.keys()).collect();
    for n in names {
        one(
            a.files.get(n).map(String::as_str).unwrap_or(""),
            b.files.get(n).map(String::as_str).unwrap_or(""),
            n,
        );
    }
    out
}
