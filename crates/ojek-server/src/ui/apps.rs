//! The apps list: search, team filter, pages of 50.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use ojek_store::{Role, Team};
use serde::Deserialize;

use super::view::{pager, query, time_ago};
use super::{Nav, SignedIn, api_error_page, page};
use crate::api::apps::{ListQuery, list_apps};
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::state::AppState;

/// Apps per page.
const PAGE_SIZE: i64 = 50;

/// Query of `GET /apps`.
#[derive(Debug, Default, Deserialize)]
pub struct AppsQuery {
    /// Search text (name or description).
    #[serde(default)]
    q: String,
    /// Team name.
    #[serde(default)]
    team: String,
    /// Page, from 1.
    #[serde(default)]
    page: Option<i64>,
}

/// The teams a user may read, with their role, by name.
pub async fn readable_teams(state: &AppState, p: &Principal) -> ApiResult<Vec<(Team, Role)>> {
    Ok(state
        .store
        .teams()
        .await?
        .into_iter()
        .filter_map(|t| p.role_in(t.id).map(|r| (t, r)))
        .collect())
}

/// `GET /apps`.
pub async fn list(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Query(q): Query<AppsQuery>,
) -> Response {
    // Bounded so that offsets cannot overflow.
    let page_no = q.page.unwrap_or(1).clamp(1, 1_000_000);
    let list_q = ListQuery {
        q: Some(q.q.clone()),
        team: Some(q.team.clone()),
        limit: Some(PAGE_SIZE),
        offset: Some((page_no - 1) * PAGE_SIZE),
    };
    let (apps, total) = match list_apps(&state, &p, &list_q).await {
        Ok(r) => r,
        Err(e) => return api_error_page(&p, e),
    };
    let teams = match readable_teams(&state, &p).await {
        Ok(t) => t,
        Err(e) => return api_error_page(&p, e),
    };
    let can_create = teams.iter().any(|(_, r)| *r >= Role::Editor);
    let first = (page_no - 1) * PAGE_SIZE;
    let link = |n: i64| {
        query(&[
            ("q", q.q.clone()),
            ("team", q.team.clone()),
            ("page", n.to_string()),
        ])
    };
    let prev = (page_no > 1).then(|| format!("/apps{}", link(page_no - 1)));
    let next = (first + (apps.len() as i64) < total).then(|| format!("/apps{}", link(page_no + 1)));
    let summary = if total == 0 {
        "no apps".to_string()
    } else {
        format!("showing {}–{} of {total}", first + 1, first + apps.len() as i64)
    };
    let filtered = !q.q.trim().is_empty() || !q.team.is_empty();
    let body = html! {
        div.page-head {
            h1 { "Apps" }
            @if can_create { a.btn.primary #new-app href="/apps/new" { "New app" } }
        }
        form.filters #app-filters method="get" action="/apps" role="search" {
            label.search {
                span.visually-hidden { "Search apps" }
                input #search type="search" name="q" value=(q.q) placeholder="Search by name or description"
                    autocomplete="off" data-shortcut="/" aria-keyshortcuts="/";
                kbd.shortcut-hint aria-hidden="true" { "/" }
            }
            label.team-filter {
                span.visually-hidden { "Team" }
                select #team-filter name="team" {
                    option value="" selected[q.team.is_empty()] { "All teams" }
                    @for (t, r) in &teams {
                        option value=(t.name) selected[q.team == t.name] { (t.name) " (" (r.as_str()) ")" }
                    }
                }
            }
            button.btn type="submit" { "Filter" }
            @if filtered { a.btn.link href="/apps" { "Clear" } }
        }
        @if apps.is_empty() {
            div.empty #apps-empty {
                @if filtered { p { "No app matches this search." } }
                @else if teams.is_empty() { p { "You are not in any team yet. Ask a team admin to add you." } }
                @else { p { "No apps yet." } @if can_create { p { a href="/apps/new" { "Create the first one" } } } }
            }
        } @else {
            table.list #apps-table {
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "Team" } th scope="col" { "Description" }
                    th.num scope="col" { "Revision" } th scope="col" { "Updated" } th scope="col" { "By" }
                } }
                tbody {
                    @for a in &apps {
                        tr data-app=(a.name) {
                            td.name { a href={ "/apps/" (a.name) } { (a.name) } }
                            td { a.team-link href={ "/apps" (query(&[("team", a.team.clone())])) } { (a.team) } }
                            td.description { (a.description) }
                            td.num { a href={ "/apps/" (a.name) "/history" } { (a.head) } }
                            td.nowrap { (time_ago(a.updated_at)) }
                            td { (a.updated_by) }
                        }
                    }
                }
            }
        }
        (pager(prev, next, &summary))
    };
    page(&p, "Apps", Nav::Apps, "apps", body).into_response()
}
