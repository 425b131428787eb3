//! Settings: the user's teams and roles, their API tokens, team members (team admins), users
//! and teams (platform admins). Every change is a plain form post that goes through the same
//! handler as the JSON API (`api::admin`), so the rules and the audit entries are the same.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use ojek_store::Role;
use serde::Deserialize;

use super::apps::readable_teams;
use super::view::{time_ago, utc};
use super::{Nav, PageForm, SignedIn, api_error_page, notice_text};
use crate::api::JsonBody;
use crate::api::admin;
use crate::auth::{Principal, Via};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Query of the settings page.
#[derive(Debug, Default, Deserialize)]
pub struct SettingsQuery {
    /// What was just done (a known key, shown as a notice).
    #[serde(default)]
    done: String,
}

/// `GET /settings`.
pub async fn page(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Query(q): Query<SettingsQuery>,
) -> Response {
    let notice =
        notice_text(&q.done).map(|t| html! { div.alert.success #settings-notice role="status" { (t) } });
    render(&state, &p, StatusCode::OK, notice).await
}

/// The settings page with an optional notice; store failures give the error page.
async fn render(state: &AppState, p: &Principal, status: StatusCode, notice: Option<Markup>) -> Response {
    match body(state, p, notice).await {
        Ok(b) => (status, super::page(p, "Settings", Nav::Settings, "settings", b)).into_response(),
        Err(e) => api_error_page(p, e),
    }
}

/// After a failed change: the page again with the error, or the error page when the store failed.
async fn failed(state: &AppState, p: &Principal, e: ApiError) -> Response {
    if e.status.is_server_error() {
        return api_error_page(p, e);
    }
    let notice = html! { div.alert.error #settings-error role="alert" { strong { "Nothing was changed. " } (e.message) } };
    render(state, p, e.status, Some(notice)).await
}

fn role_options(selected: Option<Role>, max: Role) -> Markup {
    html! {
        @for r in [Role::Viewer, Role::Editor, Role::Admin] {
            @if r <= max { option value=(r.as_str()) selected[selected == Some(r)] { (r.as_str()) } }
        }
    }
}

async fn body(state: &AppState, p: &Principal, notice: Option<Markup>) -> ApiResult<Markup> {
    let csrf = p.csrf();
    let mut memberships: Vec<_> = p.teams.values().collect();
    memberships.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    let teams = readable_teams(state, p).await?;
    let tokens = state.store.tokens_of(p.user.id).await?;
    let mut admin_teams = Vec::new();
    for (t, r) in &teams {
        if *r == Role::Admin {
            admin_teams.push((t.clone(), state.store.members(t.id).await?));
        }
    }
    let users = if p.is_platform_admin() {
        state.store.users().await?
    } else {
        Vec::new()
    };
    let session = matches!(p.via, Via::Session { .. });
    let best_role = teams.iter().map(|(_, r)| *r).max().unwrap_or(Role::Viewer);
    Ok(html! {
        div.page-head { h1 { "Settings" } }
        @if let Some(n) = notice { (n) }
        nav.toc aria-label="Sections" {
            a href="#teams" { "Your teams" } a href="#tokens" { "API tokens" } a href="/settings/logs" { "Log settings" }
            @if !admin_teams.is_empty() { a href="#members" { "Team members" } }
            @if p.is_platform_admin() { a href="#admin" { "Users and teams" } }
        }
        section.card #teams aria-labelledby="teams-title" {
            h2 #teams-title { "Your teams" }
            p.muted { "Signed in as " strong { (p.user.display_name) } ", user name " code { (p.user.username) } "."
                @if p.user.is_admin { " You are a platform admin: you have the admin role in every team." } }
            @if memberships.is_empty() {
                p { "You are not a member of any team." }
            } @else {
                table.list.compact #my-teams {
                    thead { tr { th scope="col" { "Team" } th scope="col" { "Role" } th scope="col" { "Can" } } }
                    tbody {
                        @for (t, r) in &memberships {
                            tr { td { a href={ "/apps?team=" (t.name) } { (t.name) } } td { span.badge.role { (r.as_str()) } }
                                 td.muted { (match r { Role::Viewer => "read apps, preview, explain", Role::Editor => "also create and save apps", Role::Admin => "also delete apps and manage members" }) } }
                        }
                    }
                }
            }
        }
        section.card #tokens aria-labelledby="tokens-title" {
            h2 #tokens-title { "API tokens" }
            p.muted { "For the CLI and scripts: " code { "Authorization: Bearer ojek_…" } ". A token acts on one team, with at most its role and never more than yours." }
            @if tokens.is_empty() {
                p #no-tokens { "You have no tokens." }
            } @else {
                table.list.compact #token-table {
                    thead { tr {
                        th scope="col" { "Name" } th scope="col" { "Team" } th scope="col" { "Role" } th scope="col" { "Created" }
                        th scope="col" { "Last used" } th scope="col" { "Expires" } th scope="col" { span.visually-hidden { "Revoke" } }
                    } }
                    tbody {
                        @for t in &tokens {
                            tr data-token=(t.name) {
                                td { (t.name) } td { (t.team) } td { span.badge.role { (t.role.as_str()) } }
                                td.nowrap { (time_ago(t.created_at)) }
                                td.nowrap { @if let Some(u) = t.last_used_at { (time_ago(u)) } @else { span.muted { "never" } } }
                                td.nowrap { @if let Some(x) = t.expires_at { span title=(utc(x)) { (utc(x)[..10]) } } @else { span.muted { "never" } } }
                                td {
                                    form.inline method="post" action={ "/settings/tokens/" (t.id) "/revoke" }
                                        data-confirm={ "Revoke token " (t.name) "? Scripts using it stop working." } {
                                        input type="hidden" name="csrf" value=(csrf);
                                        button.btn.small.danger type="submit" { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if session && !teams.is_empty() {
                h3 { "Create a token" }
                form.grid-form #token-form method="post" action="/settings/tokens" {
                    input type="hidden" name="csrf" value=(csrf);
                    label { span { "Name" } input #token-name name="name" required maxlength="100" placeholder="ci-deploy"; }
                    label { span { "Team" }
                        select #token-team name="team" {
                            @for (t, r) in &teams { option value=(t.name) { (t.name) " (" (r.as_str()) ")" } }
                        }
                    }
                    label { span { "Role" } select #token-role name="role" { (role_options(Some(Role::Viewer), best_role)) } }
                    label { span { "Expires in (days)" } input #token-days type="number" name="expires_in_days" min="1" max="3650" value="90" placeholder="never"; }
                    div.form-actions { button.btn.primary #create-token type="submit" { "Create token" } }
                }
            }
        }
        @if !admin_teams.is_empty() {
            section.card #members aria-labelledby="members-title" {
                h2 #members-title { "Team members" }
                p.muted { "Teams where you are an admin." }
                @for (t, members) in &admin_teams {
                    h3 { (t.name) }
                    table.list.compact.members data-team=(t.name) {
                        thead { tr { th scope="col" { "User" } th scope="col" { "Role" } th scope="col" { span.visually-hidden { "Remove" } } } }
                        tbody {
                            @for m in members {
                                tr data-member=(m.user.username) {
                                    td { (m.user.display_name) " " span.muted { "(" (m.user.username) ")" } }
                                    td {
                                        form.inline method="post" action={ "/settings/teams/" (t.name) "/members/" (m.user.username) } {
                                            input type="hidden" name="csrf" value=(csrf);
                                            label.visually-hidden for={ "role-" (t.name) "-" (m.user.username) } { "Role of " (m.user.username) }
                                            select id={ "role-" (t.name) "-" (m.user.username) } name="role" { (role_options(Some(m.role), Role::Admin)) }
                                            " " button.btn.small type="submit" { "Change" }
                                        }
                                    }
                                    td {
                                        form.inline method="post" action={ "/settings/teams/" (t.name) "/members/" (m.user.username) "/remove" }
                                            data-confirm={ "Remove " (m.user.username) " from " (t.name) "?" } {
                                            input type="hidden" name="csrf" value=(csrf);
                                            button.btn.small.danger type="submit" { "Remove" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    form.grid-form.add-member method="post" action={ "/settings/teams/" (t.name) "/members" } {
                        input type="hidden" name="csrf" value=(csrf);
                        label { span { "User name" } input name="username" required autocomplete="off"; }
                        label { span { "Role" } select name="role" { (role_options(Some(Role::Viewer), Role::Admin)) } }
                        div.form-actions { button.btn type="submit" { "Add member" } }
                    }
                }
            }
        }
        @if p.is_platform_admin() {
            section.card #admin aria-labelledby="admin-title" {
                h2 #admin-title { "Users and teams" }
                div.two-col {
                    div {
                        h3 { "Create a user" }
                        form.grid-form #user-form method="post" action="/settings/users" {
                            input type="hidden" name="csrf" value=(csrf);
                            label { span { "User name" } input name="username" required autocomplete="off" pattern="[a-z][a-z0-9-]*"; }
                            label { span { "Display name" } input name="display_name" autocomplete="off"; }
                            label { span { "Password" } input type="password" name="password" required minlength="10" autocomplete="new-password"; }
                            label.check { input type="checkbox" name="is_admin" value="on"; " Platform admin" }
                            div.form-actions { button.btn.primary type="submit" { "Create user" } }
                        }
                    }
                    div {
                        h3 { "Create a team" }
                        form.grid-form #team-form method="post" action="/settings/teams" {
                            input type="hidden" name="csrf" value=(csrf);
                            label { span { "Team name" } input name="name" required autocomplete="off" pattern="[a-z][a-z0-9-]*"; }
                            div.form-actions { button.btn.primary type="submit" { "Create team" } }
                        }
                    }
                }
                h3 { "Users" }
                table.list.compact #user-table {
                    thead { tr { th scope="col" { "User" } th scope="col" { "Name" } th scope="col" { "Created" } } }
                    tbody {
                        @for u in &users {
                            tr { td { (u.username) @if u.is_admin { " " span.badge.admin { "admin" } } } td { (u.display_name) } td { (time_ago(u.created_at)) } }
                        }
                    }
                }
            }
        }
    })
}

/// The token form.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    name: String,
    team: String,
    role: String,
    #[serde(default)]
    expires_in_days: String,
}

fn unknown_role(s: &str) -> ApiError {
    ApiError::bad_request(format!("unknown role `{s}`; roles: viewer, editor, admin"))
}

/// `POST /settings/tokens`: creates a token and shows its secret, once.
pub async fn create_token(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    PageForm(f): PageForm<TokenForm>,
) -> Response {
    let Some(role) = Role::parse(&f.role) else {
        return failed(&state, &p, unknown_role(&f.role)).await;
    };
    let expires_in_days = match f.expires_in_days.trim() {
        "" => None,
        d => match d.parse::<u32>() {
            Ok(d) => Some(d),
            Err(_) => {
                return failed(
                    &state,
                    &p,
                    ApiError::bad_request("expiry: a whole number of days, or empty"),
                )
                .await;
            }
        },
    };
    let body = admin::NewToken {
        name: f.name.clone(),
        team: f.team.clone(),
        role,
        expires_in_days,
    };
    let result = admin::create_token(State(state.clone()), p.clone(), JsonBody(body)).await;
    let secret = match result {
        Ok((_, axum::Json(v))) => v["token"].as_str().unwrap_or_default().to_string(),
        Err(e) => return failed(&state, &p, e).await,
    };
    let body = html! {
        div.page-head { h1 { "Token created" } }
        section.card.token-once {
            p { "Token " strong { (f.name) } " for team " strong { (f.team) } " with the " (f.role) " role." }
            div.alert.warning role="note" { "Copy it now: it is shown only once. ojek keeps only its hash." }
            div.copy-row {
                label.visually-hidden for="token-secret" { "Token" }
                input #token-secret type="text" readonly value=(secret) spellcheck="false";
                button.btn.primary #copy-token type="button" data-copy="#token-secret" { "Copy" }
            }
            p.muted { "Use it as " code { "Authorization: Bearer <token>" } ", for example:" }
            pre.code { code { "curl -H \"Authorization: Bearer $OJEK_TOKEN\" " "http://…/api/me" } }
            p { a.btn href="/settings#tokens" { "Back to settings" } }
        }
    };
    (
        StatusCode::CREATED,
        super::page(&p, "Token created", Nav::Settings, "settings", body),
    )
        .into_response()
}

/// `POST /settings/tokens/{id}/revoke`.
pub async fn revoke_token(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(id): Path<i64>,
) -> Response {
    match admin::revoke_token(State(state.clone()), p.clone(), Path(id)).await {
        Ok(_) => Redirect::to("/settings?done=token-revoked#tokens").into_response(),
        Err(e) => failed(&state, &p, e).await,
    }
}

/// The member forms.
#[derive(Debug, Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    role: String,
}

/// `POST /settings/teams/{team}/members`: adds a member.
pub async fn add_member(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(team): Path<String>,
    PageForm(f): PageForm<MemberForm>,
) -> Response {
    member(
        state,
        p,
        team,
        f.username.trim().to_string(),
        f.role,
        "member-added",
    )
    .await
}

/// `POST /settings/teams/{team}/members/{user}`: changes a member's role.
pub async fn set_member(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path((team, user)): Path<(String, String)>,
    PageForm(f): PageForm<MemberForm>,
) -> Response {
    member(state, p, team, user, f.role, "member-changed").await
}

async fn member(
    state: AppState,
    p: Principal,
    team: String,
    user: String,
    role: String,
    done: &str,
) -> Response {
    let Some(role) = Role::parse(&role) else {
        return failed(&state, &p, unknown_role(&role)).await;
    };
    let r = admin::set_member(
        State(state.clone()),
        p.clone(),
        Path((team, user)),
        JsonBody(admin::SetRole { role }),
    )
    .await;
    match r {
        Ok(_) => Redirect::to(&format!("/settings?done={done}#members")).into_response(),
        Err(e) => failed(&state, &p, e).await,
    }
}

/// `POST /settings/teams/{team}/members/{user}/remove`.
pub async fn remove_member(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path((team, user)): Path<(String, String)>,
) -> Response {
    match admin::remove_member(State(state.clone()), p.clone(), Path((team, user))).await {
        Ok(_) => Redirect::to("/settings?done=member-removed#members").into_response(),
        Err(e) => failed(&state, &p, e).await,
    }
}

/// The new-user form.
#[derive(Debug, Deserialize)]
pub struct UserForm {
    username: String,
    #[serde(default)]
    display_name: String,
    password: String,
    #[serde(default)]
    is_admin: Option<String>,
}

/// `POST /settings/users` (platform admin).
pub async fn create_user(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    PageForm(f): PageForm<UserForm>,
) -> Response {
    let body = admin::NewUser {
        username: f.username.trim().to_string(),
        display_name: Some(f.display_name.trim().to_string()).filter(|d| !d.is_empty()),
        password: f.password,
        is_admin: f.is_admin.is_some(),
    };
    match admin::create_user(State(state.clone()), p.clone(), JsonBody(body)).await {
        Ok(_) => Redirect::to("/settings?done=user-created#admin").into_response(),
        Err(e) => failed(&state, &p, e).await,
    }
}

/// The new-team form.
#[derive(Debug, Deserialize)]
pub struct TeamForm {
    name: String,
}

/// `POST /settings/teams` (platform admin).
pub async fn create_team(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    PageForm(f): PageForm<TeamForm>,
) -> Response {
    let body = admin::NewTeam {
        name: f.name.trim().to_string(),
    };
    match admin::create_team(State(state.clone()), p.clone(), JsonBody(body)).await {
        Ok(_) => Redirect::to("/settings?done=team-created#admin").into_response(),
        Err(e) => failed(&state, &p, e).await,
    }
}
