//! The audit log: who did what, when and how, with the change itself (a manifest diff for app
//! saves), newest first, page by page.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use ojek_store::AuditEntry;
use serde::Deserialize;
use serde_json::Value;

use super::view::{code_block, diff_view, pager, query, time_ago};
use super::{Nav, SignedIn, api_error_page, page};
use crate::api::admin::{AuditQuery, audit_entries};
use crate::state::AppState;

/// Entries per page.
const PAGE_SIZE: i64 = 50;

/// Query of `GET /audit`.
#[derive(Debug, Default, Deserialize)]
pub struct AuditPageQuery {
    /// Only this app.
    #[serde(default)]
    app: String,
    /// Only entries older than this id.
    #[serde(default)]
    before: Option<i64>,
}

/// `GET /audit?app=&before=`.
pub async fn audit(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Query(q): Query<AuditPageQuery>,
) -> Response {
    let app = q.app.trim().to_string();
    let aq = AuditQuery {
        app: (!app.is_empty()).then(|| app.clone()),
        before: q.before,
        limit: Some(PAGE_SIZE),
    };
    let entries = match audit_entries(&state, &p, &aq).await {
        Ok(e) => e,
        Err(e) => return api_error_page(&p, e),
    };
    let next = (entries.len() as i64 == PAGE_SIZE)
        .then(|| {
            entries.last().map(|e| {
                format!(
                    "/audit{}",
                    query(&[("app", app.clone()), ("before", e.id.to_string())])
                )
            })
        })
        .flatten();
    let prev = q
        .before
        .map(|_| format!("/audit{}", query(&[("app", app.clone())])));
    let summary = if q.before.is_some() {
        "older entries"
    } else {
        "newest entries"
    };
    let body = html! {
        div.page-head { h1 { "Audit log" } }
        form.filters #audit-filters method="get" action="/audit" role="search" {
            label.search {
                span.visually-hidden { "App" }
                input #audit-app type="search" name="app" value=(app) placeholder="Filter by app name"
                    autocomplete="off" data-shortcut="/" aria-keyshortcuts="/";
                kbd.shortcut-hint aria-hidden="true" { "/" }
            }
            button.btn type="submit" { "Filter" }
            @if !app.is_empty() { a.btn.link href="/audit" { "Clear" } }
        }
        @if entries.is_empty() {
            div.empty { p { "No entries." } }
        } @else {
            table.list.audit-table #audit-table {
                thead { tr {
                    th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "Via" }
                    th scope="col" { "Action" } th scope="col" { "App / team" } th scope="col" { "Target" }
                } }
                tbody {
                    @for e in &entries {
                        tr data-action=(e.action) {
                            td.nowrap { (time_ago(e.at)) }
                            td { (e.actor) }
                            td.muted { (e.via) }
                            td { span.action.(action_class(&e.action)) { (e.action) } }
                            td {
                                @if let Some(a) = &e.app { a href={ "/apps/" (a) } { (a) } }
                                @if e.app.is_some() && e.team.is_some() { " · " }
                                @if let Some(t) = &e.team { span.muted { (t) } }
                            }
                            td.target {
                                (e.target)
                                @if e.before.is_some() || e.after.is_some() { (change(e)) }
                            }
                        }
                    }
                }
            }
        }
        (pager(prev, next, summary))
    };
    page(&p, "Audit log", Nav::Audit, "audit", body).into_response()
}

/// A CSS class grouping actions by what they do.
fn action_class(action: &str) -> &'static str {
    if action.ends_with("delete")
        || action.ends_with("remove")
        || action.ends_with("revoke")
        || action == "login.failed"
    {
        "danger"
    } else if action.ends_with("create") || action.ends_with("save") || action.ends_with("set") {
        "change"
    } else {
        "neutral"
    }
}

/// The text of a before/after field: a manifest (JSON string, or an object with `manifest`),
/// else the JSON pretty-printed.
fn change_text(json: &str) -> String {
    match serde_json::from_str::<Value>(json) {
        Ok(Value::String(s)) => s,
        Ok(Value::Object(o)) if o.get("manifest").is_some_and(Value::is_string) => {
            o["manifest"].as_str().unwrap_or_default().to_string()
        }
        Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_default(),
        Err(_) => json.to_string(),
    }
}

/// `revision N` when a before/after field names its revision, else `fallback`.
fn side_label(json: Option<&str>, fallback: &str) -> String {
    json.and_then(|j| serde_json::from_str::<Value>(j).ok())
        .and_then(|v| v.get("revision").and_then(Value::as_i64))
        .map_or_else(|| fallback.to_string(), |n| format!("revision {n}"))
}

/// The "show change" disclosure of an entry: a diff when both sides are there.
fn change(e: &AuditEntry) -> Markup {
    let before = e.before.as_deref().map(change_text);
    let after = e.after.as_deref().map(change_text);
    html! {
        details.change {
            summary { "Show change" }
            @match (&before, &after) {
                (Some(b), Some(a)) => {
                    @let d = similar::TextDiff::from_lines(b.as_str(), a.as_str())
                        .unified_diff()
                        .context_radius(3)
                        .header(&side_label(e.before.as_deref(), "before"), &side_label(e.after.as_deref(), "after"))
                        .to_string();
                    (diff_view(&d))
                }
                (Some(b), None) => { p.muted { "Before:" } (code_block(None, b)) }
                (None, Some(a)) => { p.muted { "After:" } (code_block(None, a)) }
                (None, None) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_text_reads_manifests_and_json() {
        assert_eq!(change_text("\"a: 1\\n\""), "a: 1\n");
        assert_eq!(change_text("{\"manifest\":\"x\",\"files\":{}}"), "x");
        assert_eq!(change_text("{\"role\":\"admin\"}"), "{\n  \"role\": \"admin\"\n}");
        assert_eq!(change_text("not json"), "not json");
        assert_eq!(
            side_label(Some("{\"revision\":3,\"manifest\":\"x\"}"), "after"),
            "revision 3"
        );
        assert_eq!(side_label(Some("{\"role\":\"admin\"}"), "after"), "after");
    }
}
