//! An app's history: its revisions, the diff between any two, and each revision whole (with
//! "restore").

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use ojek_store::Role;
use serde::Deserialize;

use super::view::{code_block, diff_view, pager, query, time_ago};
use super::{Nav, SignedIn, api_error_page, app_or_page, page};
use crate::api::apps::{diff_range, load_revision, unified_diff};
use crate::state::AppState;

/// Revisions per page.
const PAGE_SIZE: i64 = 100;

/// Query of the history page.
#[derive(Debug, Default, Deserialize)]
pub struct HistoryQuery {
    /// Older revision of the diff (default: `to - 1`).
    #[serde(default)]
    from: Option<i64>,
    /// Newer revision of the diff (default: the newest).
    #[serde(default)]
    to: Option<i64>,
    /// List only revisions below this number.
    #[serde(default)]
    before: Option<i64>,
}

/// `GET /apps/{app}/history?from=&to=`.
pub async fn history(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(name): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Response {
    let app = match app_or_page(&state, &p, &name, Role::Viewer).await {
        Ok(a) => a,
        Err(page) => return page,
    };
    let revs = match state.store.revisions(&app.name, q.before, PAGE_SIZE).await {
        Ok(r) => r,
        Err(e) => return api_error_page(&p, e.into()),
    };
    let (from, to) = diff_range(&app, q.from, q.to);
    let diff = if from == to {
        Ok(String::new())
    } else {
        match (
            load_revision(&state, &app, Some(from)).await,
            load_revision(&state, &app, Some(to)).await,
        ) {
            (Ok(a), Ok(b)) => Ok(unified_diff(&a, &b)),
            (Err(e), _) | (_, Err(e)) => Err(e),
        }
    };
    let oldest_shown = revs.last().map(|r| r.number).unwrap_or(1);
    let keep = |before: Option<i64>| {
        query(&[
            ("from", from.to_string()),
            ("to", to.to_string()),
            ("before", before.map(|b| b.to_string()).unwrap_or_default()),
        ])
    };
    let next = (oldest_shown > 1).then(|| format!("/apps/{}/history{}", app.name, keep(Some(oldest_shown))));
    let prev = q
        .before
        .map(|_| format!("/apps/{}/history{}", app.name, keep(None)));
    let body = html! {
        div.page-head {
            h1 { a href={ "/apps/" (app.name) } { (app.name) } " · history" }
            nav.head-links aria-label="App" {
                a.btn.small href={ "/apps/" (app.name) } { "Editor" }
                a.btn.small href={ "/apps/" (app.name) "/deploy" } { "Deploy" }
                a.btn.small href={ "/apps/" (app.name) "/experiments" } { "Experiments" }
                a.btn.small href={ "/audit?app=" (app.name) } { "Audit" }
            }
        }
        div.history-grid {
            form.revisions #compare-form method="get" action={ "/apps/" (app.name) "/history" } {
                @if let Some(b) = q.before { input type="hidden" name="before" value=(b); }
                table.list.revision-table #revisions {
                    thead { tr {
                        th.num scope="col" { "#" }
                        th scope="col" { abbr title="Compare from" { "From" } }
                        th scope="col" { abbr title="Compare to" { "To" } }
                        th scope="col" { "Message" } th scope="col" { "Author" } th scope="col" { "When" }
                    } }
                    tbody {
                        @for r in &revs {
                            tr.selected[r.number == from || r.number == to] data-revision=(r.number) {
                                td.num { a href={ "/apps/" (app.name) "/revisions/" (r.number) } title="View this revision" { (r.number) } }
                                td { input type="radio" name="from" value=(r.number) checked[r.number == from]
                                        aria-label={ "Compare from revision " (r.number) }; }
                                td { input type="radio" name="to" value=(r.number) checked[r.number == to]
                                        aria-label={ "Compare to revision " (r.number) }; }
                                td.message { (r.message) }
                                td { (r.author) }
                                td.nowrap { (time_ago(r.created_at)) }
                            }
                        }
                    }
                }
                div.form-actions {
                    button.btn.primary #compare type="submit" { "Compare" }
                    (pager(prev, next, &format!("revisions {}–{} of {}", oldest_shown, revs.first().map(|r| r.number).unwrap_or(0), app.head)))
                }
            }
            section.diff-section #diff aria-labelledby="diff-title" {
                h2 #diff-title { "Revision " (from) " → " (to) }
                @if from == to {
                    p.muted { "Pick two different revisions to compare." }
                } @else {
                    @match &diff {
                        Ok(d) => (diff_view(d)),
                        Err(e) => div.alert.error role="alert" { (e.message) },
                    }
                }
            }
        }
    };
    page(&p, &format!("{} · history", app.name), Nav::Apps, "history", body).into_response()
}

/// `GET /apps/{app}/revisions/{number}`: one revision, whole, with "restore" for editors.
pub async fn revision(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path((name, number)): Path<(String, i64)>,
) -> Response {
    let app = match app_or_page(&state, &p, &name, Role::Viewer).await {
        Ok(a) => a,
        Err(page) => return page,
    };
    let rev = match load_revision(&state, &app, Some(number)).await {
        Ok(r) => r,
        Err(e) => return api_error_page(&p, e),
    };
    let can_restore = p.can(app.team_id, Role::Editor) && rev.number != app.head;
    let body = html! {
        div.page-head {
            h1 { a href={ "/apps/" (app.name) } { (app.name) } " · revision " (rev.number) }
            nav.head-links aria-label="App" {
                @if rev.number > 1 {
                    a.btn.small href={ "/apps/" (app.name) "/history" (query(&[("from", (rev.number - 1).to_string()), ("to", rev.number.to_string())])) } { "Changes in this revision" }
                }
                a.btn.small href={ "/apps/" (app.name) } { "Editor" }
            }
        }
        p.meta {
            "by " (rev.author) ", " (time_ago(rev.created_at))
            @if !rev.message.is_empty() { " — " span.rev-message { (rev.message) } }
            @if rev.number == app.head { " " span.badge { "newest" } }
        }
        @if can_restore {
            form.restore #restore-form method="post" action={ "/apps/" (app.name) } {
                input type="hidden" name="csrf" value=(p.csrf());
                input type="hidden" name="base" value=(app.head);
                input type="hidden" name="files_from" value=(rev.number);
                input type="hidden" name="message" value={ "Restore revision " (rev.number) };
                textarea.visually-hidden name="manifest" tabindex="-1" aria-hidden="true" readonly { "\n" (rev.manifest) }
                button.btn #restore type="submit" { "Restore this revision" }
                span.muted { " saves it as revision " (app.head + 1) }
            }
        }
        (code_block(Some("revision-manifest"), &rev.manifest))
        @for (file, content) in &rev.files {
            h2.file-title { code { (file) } }
            (code_block(None, content))
        }
    };
    page(
        &p,
        &format!("{} · revision {}", app.name, rev.number),
        Nav::Apps,
        "revision",
        body,
    )
    .into_response()
}
