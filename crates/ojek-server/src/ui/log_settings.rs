//! `/settings/logs`: each of the user's teams' log settings (what applies, and for team admins
//! a form), the settings of its apps that set their own (read-only here; those an app's manifest
//! sets are marked as such, since they are changed in the manifest) and producer secrets (team
//! admins: create — shown once —, rotate, revoke). Every change goes through the API's handlers
//! (`logs::admin`), so the same rules apply.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use ojek_store::{AppFilter, AppLogSettings, EffectiveLogSettings, LogSettings, Role, SettingOrigin};
use serde::Deserialize;
use serde_json::Value;

use super::view::time_ago;
use super::{Nav, PageForm, SignedIn, api_error_page, page};
use crate::api::JsonBody;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::logs::admin;
use crate::state::AppState;

/// `GET /settings/logs`.
pub async fn show(State(state): State<AppState>, SignedIn(p): SignedIn) -> Response {
    render(&state, &p, StatusCode::OK, None).await
}

async fn render(state: &AppState, p: &Principal, status: StatusCode, notice: Option<Markup>) -> Response {
    let mut teams: Vec<_> = p.teams.values().cloned().collect();
    teams.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    let mut sections = Vec::new();
    for (team, role) in &teams {
        let effective = match state.store.effective_log_settings(team.id, None).await {
            Ok(e) => e,
            Err(e) => return api_error_page(p, e.into()),
        };
        let (team_row, app_rows) = match (
            state.store.log_settings(team.id, None).await,
            state.store.apps_log_settings(team.id).await,
        ) {
            (Ok(t), Ok(a)) => (t, a),
            (Err(e), _) | (_, Err(e)) => return api_error_page(p, e.into()),
        };
        let admin = p.can(team.id, Role::Admin);
        let (secrets, apps) = if admin {
            let secrets = match state.store.log_secrets(team.id).await {
                Ok(s) => s,
                Err(e) => return api_error_page(p, e.into()),
            };
            let filter = AppFilter {
                team_ids: Some(vec![team.id]),
                team: None,
                search: None,
                limit: 500,
                offset: 0,
            };
            let apps = match state.store.list_apps(&filter).await {
                Ok((a, _)) => a,
                Err(e) => return api_error_page(p, e.into()),
            };
            (secrets, apps)
        } else {
            (Vec::new(), Vec::new())
        };
        let csrf = p.csrf();
        sections.push(html! {
            section.card id={ "logs-" (team.name) } data-team=(team.name) {
                h2 { (team.name) " " span.badge.role { (role.as_str()) } }
                dl.facts.log-effective {
                    dt { "Retention" } dd { (retention_text(&effective)) }
                    dt { "Rate limit" } dd { (rate_limit_text(&effective)) @if effective.rate_limit.is_some() { " per app" } }
                    dt { "Level filter" } dd { (level_text(&effective)) }
                }
                (apps_table(team_row.as_ref(), &app_rows))
                @if admin {
                    form.grid-form.log-settings-form method="post" action={ "/settings/logs/" (team.name) "/settings" } {
                        input type="hidden" name="csrf" value=(csrf);
                        label { "Retention (days) " input type="number" name="retention_days" min="1" max="3650" placeholder="30" value=[effective.retention_days_if_set()]; }
                        label { "Rate limit (lines/s) " input type="number" name="rate_limit" min="1" placeholder="none" value=[effective.rate_limit]; }
                        label { "Level filter "
                            select name="level_filter" {
                                option value="" { "keep every line" }
                                @for l in ojek_store::LOG_LEVELS {
                                    option value=(l) selected[effective.level_filter.as_deref() == Some(l)] { (l) " and above" }
                                }
                            }
                        }
                        button.btn.primary type="submit" { "Save team log settings" }
                    }
                    h3 { "Producer secrets" }
                    @if secrets.is_empty() {
                        p.muted { "No secrets yet: shippers need one to send logs." }
                    } @else {
                        table.list.compact.secret-table {
                            thead { tr { th { "Name" } th { "App" } th { "Created" } th { "State" } th { span.visually-hidden { "Actions" } } } }
                            tbody {
                                @for s in &secrets {
                                    tr data-secret=(s.name) {
                                        td { (s.name) }
                                        td { @match &s.app { Some(a) => { (a) }, None => span.muted { "any app of the team" } } }
                                        td.nowrap { (time_ago(s.created_at)) " by " (s.created_by) }
                                        td { @if s.revoked_at.is_some() { span.status.error { "revoked" } } @else { span.status.ok { "active" } } }
                                        td.nowrap {
                                            @if s.revoked_at.is_none() {
                                                form.inline method="post" action={ "/settings/logs/" (team.name) "/secrets/" (s.id) "/rotate" }
                                                    data-confirm={ "Rotate " (s.name) "? The current secret stops working at once." } {
                                                    input type="hidden" name="csrf" value=(csrf);
                                                    button.btn.small type="submit" { "Rotate" }
                                                }
                                                " "
                                                form.inline method="post" action={ "/settings/logs/" (team.name) "/secrets/" (s.id) "/revoke" }
                                                    data-confirm={ "Revoke " (s.name) "? Shippers using it stop at once." } {
                                                    input type="hidden" name="csrf" value=(csrf);
                                                    button.btn.small.danger type="submit" { "Revoke" }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    form.grid-form.secret-form method="post" action={ "/settings/logs/" (team.name) "/secrets" } {
                        input type="hidden" name="csrf" value=(csrf);
                        label { "Name " input type="text" name="name" required maxlength="100" placeholder="fluent-bit-production"; }
                        label { "For "
                            select name="app" {
                                option value="" { "any app of the team" }
                                @for a in &apps { option value=(a.name) { (a.name) } }
                            }
                        }
                        button.btn.primary type="submit" { "Create a producer secret" }
                    }
                }
            }
        });
    }
    let body = html! {
        div.page-head { h1 { "Log settings" } }
        @if let Some(n) = notice { (n) }
        p.muted {
            "Shipping, reading and the query language: docs/logs.md. Apps can override these settings "
            "through the API, or in their manifest's " code { "logs:" } " section, which comes first."
        }
        @if sections.is_empty() { p { "You are not a member of any team." } }
        @for s in sections { (s) }
    };
    (
        status,
        page(p, "Log settings", Nav::Settings, "log-settings", body),
    )
        .into_response()
}

fn retention_text(e: &EffectiveLogSettings) -> String {
    format!("{} days", e.retention_days)
}

fn rate_limit_text(e: &EffectiveLogSettings) -> String {
    match e.rate_limit {
        Some(r) => format!("{r} lines/s"),
        None => "none".into(),
    }
}

fn level_text(e: &EffectiveLogSettings) -> String {
    match &e.level_filter {
        Some(l) => format!("keep {l} and above"),
        None => "keep every line".into(),
    }
}

/// The apps of a team that set their own log settings, with what applies to each and where it
/// comes from. Read-only: what a manifest sets is changed in the manifest (the API refuses it
/// with 409 `set_by_manifest`), the rest through the API.
fn apps_table(team: Option<&LogSettings>, apps: &[AppLogSettings]) -> Markup {
    if apps.is_empty() {
        return html! {};
    }
    let cell = |field: &'static str, value: String, origin: SettingOrigin| match origin {
        SettingOrigin::Manifest(revision) => html! {
            td.set-by-manifest data-field=(field) data-set-by="manifest" {
                (value) " "
                span.origin-kind.manifest title="Set by the app manifest's logs: section: change it there (read-only here)" {
                    "manifest (revision " (revision) ")"
                }
            }
        },
        other => html! {
            td data-field=(field) data-set-by=(other.to_string()) {
                (value) " " span.origin-kind { (other.to_string()) }
            }
        },
    };
    html! {
        h3 { "Apps with their own settings" }
        p.muted {
            "Values set by an app's manifest (" code { "logs:" } ") come first and are read-only here: "
            "change them in the manifest. Other app values are set through the API."
        }
        table.list.compact.app-log-settings {
            thead { tr { th { "App" } th { "Retention" } th { "Rate limit" } th { "Level filter" } } }
            tbody {
                @for a in apps {
                    @let e = EffectiveLogSettings::resolve_with_manifest(team, a.own.as_ref(), a.manifest.as_ref());
                    tr data-app=(a.app) {
                        td.name { a href={ "/apps/" (a.app) } { (a.app) } }
                        (cell("retentionDays", retention_text(&e), e.origin.retention_days))
                        (cell("rateLimit", rate_limit_text(&e), e.origin.rate_limit))
                        (cell("levelFilter", level_text(&e), e.origin.level_filter))
                    }
                }
            }
        }
    }
}

trait RetentionIfSet {
    fn retention_days_if_set(&self) -> Option<i64>;
}

impl RetentionIfSet for ojek_store::EffectiveLogSettings {
    fn retention_days_if_set(&self) -> Option<i64> {
        (self.origin.retention_days != ojek_store::SettingOrigin::Default).then_some(self.retention_days)
    }
}

async fn failed(state: &AppState, p: &Principal, e: ApiError) -> Response {
    if e.status.is_server_error() {
        return api_error_page(p, e);
    }
    let notice = html! { div.alert.error #log-settings-error role="alert" { strong { "Nothing was changed. " } (e.message) } };
    render(state, p, e.status, Some(notice)).await
}

/// The settings form.
#[derive(Debug, Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    retention_days: String,
    #[serde(default)]
    rate_limit: String,
    #[serde(default)]
    level_filter: String,
}

fn number(text: &str, what: &str) -> Result<Option<i64>, ApiError> {
    match text.trim() {
        "" => Ok(None),
        t => t
            .parse()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("{what}: a whole number, or empty"))),
    }
}

/// `POST /settings/logs/{team}/settings`.
pub async fn save_settings(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(team): Path<String>,
    PageForm(f): PageForm<SettingsForm>,
) -> Response {
    let body = match (
        number(&f.retention_days, "retention"),
        number(&f.rate_limit, "rate limit"),
    ) {
        (Ok(retention), Ok(rate)) => serde_json::json!({
            "team": team,
            "retentionDays": retention,
            "rateLimit": rate,
            "levelFilter": Some(f.level_filter.trim()).filter(|l| !l.is_empty()),
        }),
        (Err(e), _) | (_, Err(e)) => return failed(&state, &p, e).await,
    };
    let parsed = match serde_json::from_value(body) {
        Ok(v) => v,
        Err(e) => return failed(&state, &p, ApiError::bad_request(e.to_string())).await,
    };
    match admin::put_settings(State(state.clone()), p.clone(), JsonBody(parsed)).await {
        Ok(_) => Redirect::to(&format!("/settings/logs#logs-{team}")).into_response(),
        Err(e) => failed(&state, &p, e).await,
    }
}

/// The new-secret form.
#[derive(Debug, Deserialize)]
pub struct SecretForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    app: String,
}

fn shown_once(p: &Principal, title: &str, team: &str, answer: &Value) -> Response {
    let secret = answer["secret"].as_str().unwrap_or_default();
    let body = html! {
        div.page-head { h1 { (title) } }
        section.card.token-once {
            div.alert.warning role="note" { "Copy it now: it is shown only once. ojek keeps only its hash." }
            div.copy-row {
                label.visually-hidden for="log-secret" { "Producer secret" }
                input #log-secret type="text" readonly value=(secret) spellcheck="false";
                button.btn.small type="button" data-copy="#log-secret" { "Copy" }
            }
            p { a href={ "/settings/logs#logs-" (team) } { "Back to log settings" } }
        }
    };
    (
        StatusCode::CREATED,
        page(p, title, Nav::Settings, "log-secret", body),
    )
        .into_response()
}

/// `POST /settings/logs/{team}/secrets`.
pub async fn create_secret(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(team): Path<String>,
    PageForm(f): PageForm<SecretForm>,
) -> Response {
    let body = serde_json::json!({
        "team": team,
        "app": Some(f.app.trim()).filter(|a| !a.is_empty()),
        "name": f.name,
    });
    let parsed = match serde_json::from_value(body) {
        Ok(v) => v,
        Err(e) => return failed(&state, &p, ApiError::bad_request(e.to_string())).await,
    };
    match admin::create_secret(State(state.clone()), p.clone(), JsonBody(parsed)).await {
        Ok((_, Json(answer))) => shown_once(&p, "Producer secret created", &team, &answer),
        Err(e) => failed(&state, &p, e).await,
    }
}

/// `POST /settings/logs/{team}/secrets/{id}/rotate`.
pub async fn rotate_secret(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path((team, id)): Path<(String, i64)>,
) -> Response {
    let scope = admin::Scope {
        team: team.clone(),
        app: None,
    };
    match admin::rotate_secret(State(state.clone()), p.clone(), Path(id), Query(scope)).await {
        Ok(Json(answer)) => shown_once(&p, "Producer secret rotated", &team, &answer),
        Err(e) => failed(&state, &p, e).await,
    }
}

/// `POST /settings/logs/{team}/secrets/{id}/revoke`.
pub async fn revoke_secret(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path((team, id)): Path<(String, i64)>,
) -> Response {
    let scope = admin::Scope {
        team: team.clone(),
        app: None,
    };
    match admin::revoke_secret(State(state.clone()), p.clone(), Path(id), Query(scope)).await {
        Ok(_) => Redirect::to(&format!("/settings/logs#logs-{team}")).into_response(),
        Err(e) => failed(&state, &p, e).await,
    }
}
