//! The logs page: a query box, app / environment / time range pickers, a histogram (SVG, no
//! script), results newest first (HTML-escaped, long messages folded, the record's fields on
//! expand; a click on a field value adds it to the query), older pages by cursor, and live
//! tail (the script opens the page's Server-Sent Events feed). Reads go through the same
//! rules as the API (`logs::search`), and are audited the same way.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use ojek_logs::Record;
use ojek_store::AppFilter;

use super::view::{query, utc};
use super::{Nav, SignedIn, api_error_page, page};
use crate::logs::search::{LogQuery, audit, read};
use crate::state::AppState;

/// Records per page.
const PAGE: usize = 100;
/// Histogram bars.
const BARS: usize = 60;
/// Messages longer than this are folded.
const FOLD: usize = 240;

/// `GET /logs?q=&app=&env=&since=&cursor=&tail=`.
pub async fn logs_page(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Query(q): Query<LogQuery>,
) -> Response {
    let apps = match state
        .store
        .list_apps(&AppFilter {
            team_ids: p.readable_teams(),
            team: None,
            search: None,
            limit: 500,
            offset: 0,
        })
        .await
    {
        Ok((apps, _)) => apps,
        Err(e) => return api_error_page(&p, e.into()),
    };
    let envs: Vec<String> = match state.platform().await {
        Ok(pl) => pl.platform.environments.keys().cloned().collect(),
        Err(e) => return api_error_page(&p, e),
    };
    let since = q.since.clone().unwrap_or_else(|| "1h".into());
    let text = q.q.clone().unwrap_or_default();
    let tail = q.cursor.is_none() && q.tail.as_deref() == Some("1");
    // The read: a bad query is shown on the page with its column, like any other problem.
    let result = match read(&state, &p, &q).await {
        Ok(r) => match audit(&state, &p, &r, "search", &q).await {
            Ok(()) => Ok(r),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    let (status, found, histogram, error) = match result {
        Ok(r) => {
            let done = tokio::try_join!(
                r.backend.search(&r.read, PAGE, q.cursor),
                r.backend.histogram(&r.read, BARS)
            );
            match done {
                Ok((page, bars)) => (
                    StatusCode::OK,
                    Some(page),
                    Some((r.read.request.from_ms, r.read.request.to_ms, bars)),
                    None,
                ),
                Err(e) => (e.status, None, None, Some(e.message)),
            }
        }
        Err(e) if e.status == StatusCode::NOT_FOUND => return api_error_page(&p, e),
        Err(e) => (e.status, None, None, Some(e.message)),
    };
    let keep = |extra: &[(&str, String)]| {
        let mut pairs = vec![
            ("q", text.clone()),
            ("app", q.app.clone().unwrap_or_default()),
            ("env", q.env.clone().unwrap_or_default()),
            ("since", since.clone()),
        ];
        pairs.extend(extra.iter().cloned());
        format!("/logs{}", query(&pairs))
    };
    let add_filter = |field: &str, value: &str| {
        let clause = format!("{field}:\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""));
        let q2 = if text.trim().is_empty() {
            clause
        } else {
            format!("({text}) AND {clause}")
        };
        let mut pairs = vec![
            ("q", q2),
            ("app", q.app.clone().unwrap_or_default()),
            ("env", q.env.clone().unwrap_or_default()),
            ("since", since.clone()),
        ];
        pairs.retain(|(_, v)| !v.is_empty());
        format!("/logs{}", query(&pairs))
    };
    let tail_url = format!(
        "/api/logs/tail{}",
        query(&[
            ("q", text.clone()),
            ("app", q.app.clone().unwrap_or_default()),
            ("env", q.env.clone().unwrap_or_default()),
        ])
    );
    let body = html! {
        div.page-head { h1 { "Logs" } }
        form.log-search #log-search method="get" action="/logs" role="search" {
            label.visually-hidden for="log-q" { "Query" }
            input #log-q .log-query type="search" name="q" value=(text) autocomplete="off" spellcheck="false"
                placeholder="level:error AND \"connection refused\"   ·   http.status:>=500   ·   NOT health";
            label.visually-hidden for="log-app" { "App" }
            select #log-app name="app" {
                option value="" selected[q.app.is_none()] { "all apps" }
                @for a in &apps { option value=(a.name) selected[q.app.as_deref() == Some(a.name.as_str())] { (a.name) } }
            }
            label.visually-hidden for="log-env" { "Environment" }
            select #log-env name="env" {
                option value="" selected[q.env.is_none()] { "all environments" }
                @for e in &envs { option value=(e) selected[q.env.as_deref() == Some(e.as_str())] { (e) } }
            }
            label.visually-hidden for="log-since" { "Time range" }
            select #log-since name="since" {
                @for (v, label) in [("15m", "last 15 minutes"), ("1h", "last hour"), ("6h", "last 6 hours"), ("24h", "last 24 hours"), ("7d", "last 7 days"), ("30d", "last 30 days")] {
                    option value=(v) selected[since == v] { (label) }
                }
            }
            button.btn.primary #log-run type="submit" { "Search" }
            a.btn #log-tail-toggle href=(if tail { keep(&[]) } else { keep(&[("tail", "1".into())]) }) {
                @if tail { "Stop live tail" } @else { "Live tail" }
            }
        }
        p.muted.log-help {
            "Words search the message; " code { "field:value" } " an exact field (level, host, pod, app, env, or any shipped field like "
            code { "http.status" } "); " code { "AND OR NOT ( )" } ", " code { "\"phrases\"" } ", " code { "wild*" } ", "
            code { "field:[a TO b]" } ", " code { "field:>=500" } ". Every search is recorded in the audit log."
        }
        @if let Some(e) = &error {
            div.alert.error #log-error role="alert" { (e) }
        }
        @if let Some((from, to, bars)) = &histogram {
            (histogram_svg(*from, *to, bars))
        }
        @if tail {
            section #log-tail data-url=(tail_url) aria-live="polite" {
                h2 { "Live tail " span.status.busy #log-tail-status { "connecting" } }
                table.list.log-table { tbody #log-tail-rows {} }
            }
        }
        @if let Some(found) = &found {
            @if found.records.is_empty() {
                p.empty #log-empty { "No log lines match in this time range." }
            } @else {
                table.list.log-table #log-results {
                    thead { tr { th scope="col" { "Time (UTC)" } th scope="col" { "Stream" } th scope="col" { "Level" } th scope="col" { "Message" } } }
                    tbody {
                        @for r in &found.records { (row(r, &add_filter)) }
                    }
                }
                @if let Some(c) = found.next_cursor {
                    nav.pager { a.btn.small #log-older href=(keep(&[("cursor", c.to_string())])) rel="next" { "Older →" } }
                }
            }
        }
    };
    (status, page(&p, "Logs", Nav::Logs, "logs", body)).into_response()
}

fn row(r: &Record, add_filter: &dyn Fn(&str, &str) -> String) -> Markup {
    let first_line = r.message.lines().next().unwrap_or_default();
    let folded = r.message.len() > FOLD || r.message.contains('\n') || !r.attrs.is_empty();
    let short: String = first_line.chars().take(FOLD).collect();
    html! {
        tr.log-row data-level=[r.level.as_deref()] {
            td.nowrap.log-time { (utc(r.timestamp)) }
            td.nowrap {
                a href=(add_filter("app", &r.app)) { (r.app) } " · " a href=(add_filter("env", &r.env)) { (r.env) }
            }
            td {
                @if let Some(level) = &r.level {
                    a class={ "log-level " (level) } href=(add_filter("level", level)) { (level) }
                }
            }
            td.log-message {
                @if folded {
                    details {
                        summary { (short) @if short.len() < r.message.len() { "…" } }
                        pre.log-full { (r.message) }
                        dl.log-fields {
                            @for (name, value) in fields(r) {
                                dt { (name) }
                                dd { a href=(add_filter(&name, &value)) title="Add to the query" { (value) } }
                            }
                        }
                    }
                } @else {
                    (short)
                }
            }
        }
    }
}

/// The record's fields as (dotted name, text), for the expanded view.
fn fields(r: &Record) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (k, v) in [("host", &r.host), ("pod", &r.pod), ("variant", &r.variant)] {
        if let Some(v) = v {
            out.push((k.to_string(), v.clone()));
        }
    }
    if let Some(rev) = r.revision {
        out.push(("revision".into(), rev.to_string()));
    }
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let name = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&name, v, out);
                }
            }
            serde_json::Value::String(s) => out.push((prefix.to_string(), s.clone())),
            serde_json::Value::Null => {}
            other => out.push((prefix.to_string(), other.to_string())),
        }
    }
    for (k, v) in &r.attrs {
        walk(k, v, &mut out);
    }
    out
}

/// Bars of the histogram as SVG (attributes only: the CSP forbids inline styles).
fn histogram_svg(from: i64, to: i64, bars: &[(i64, u64)]) -> Markup {
    let max = bars.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let total: u64 = bars.iter().map(|(_, n)| n).sum();
    let width = 1000.0 / bars.len().max(1) as f64;
    html! {
        figure.log-histogram #log-histogram {
            svg viewBox="0 0 1000 80" preserveAspectRatio="none" role="img"
                aria-label={ (total) " matching lines from " (utc(from)) " to " (utc(to)) } {
                @for (i, (start, n)) in bars.iter().enumerate() {
                    @let h = (*n as f64 / max as f64) * 76.0;
                    rect x=(format!("{:.1}", i as f64 * width + 1.0)) y=(format!("{:.1}", 80.0 - h))
                        width=(format!("{:.1}", (width - 2.0).max(0.5))) height=(format!("{h:.1}")) {
                        title { (n) " lines from " (utc(*start)) }
                    }
                }
            }
            figcaption.muted { (total) " matching lines · " (utc(from)) " – " (utc(to)) }
        }
    }
}
