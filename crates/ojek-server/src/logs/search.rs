//! Reading logs: `GET /api/logs/search`, `/histogram`, `/top` and `/tail` (Server-Sent
//! Events). Readers need read access to each app's team (a session or an API token; producer
//! secrets cannot read); every read is recorded in the audit log of the teams it touched (who,
//! query, range, apps). What was allowed is then read from the server's [`LogBackend`]: its own
//! store, or its log node.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use ojek_core::spec::values::parse_duration;
use ojek_logs::parse_at;
use ojek_logstore::index::{SearchRequest, Stream};
use ojek_store::Role;
use serde::Deserialize;
use serde_json::{Value, json};

use super::backend::{LogBackend, LogRead};
use crate::api::apps::readable_app;
use crate::auth::{Principal, now_ms};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The most records in one page.
pub(crate) const MAX_LIMIT: usize = 1_000;
/// The most histogram buckets.
pub(crate) const MAX_BUCKETS: usize = 1_000;
/// The most values of `/top`.
pub(crate) const MAX_TOP: usize = 100;

/// Query string of the log endpoints.
#[derive(Debug, Default, Deserialize)]
pub struct LogQuery {
    /// The query (`docs/logs-query.md`); empty: everything.
    #[serde(default)]
    pub q: Option<String>,
    /// Apps, comma separated; default every app the reader may read.
    #[serde(default)]
    pub app: Option<String>,
    /// Environments, comma separated; default every environment of the platform file.
    #[serde(default)]
    pub env: Option<String>,
    /// From (RFC 3339 or Unix ms); default `now - since`.
    #[serde(default)]
    pub from: Option<String>,
    /// To (RFC 3339 or Unix ms); default now.
    #[serde(default)]
    pub to: Option<String>,
    /// How far back when `from` is not given (`15m`, `1h`, `7d`); default `1h`.
    #[serde(default)]
    pub since: Option<String>,
    /// Page size (search; default 100, at most 1000).
    #[serde(default)]
    pub limit: Option<usize>,
    /// The `nextCursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<u64>,
    /// Histogram buckets (default 60).
    #[serde(default)]
    pub buckets: Option<usize>,
    /// The field of `/top`.
    #[serde(default)]
    pub field: Option<String>,
    /// How many values `/top` returns (default 10).
    #[serde(default)]
    pub n: Option<usize>,
    /// The logs page: `1` turns live tail on.
    #[serde(default)]
    pub tail: Option<String>,
}

/// What a request reads (its streams, the parsed query and the time range), where from, and
/// for the audit record the apps and teams it touches.
pub(crate) struct Read {
    pub backend: LogBackend,
    pub read: LogRead,
    pub apps: Vec<String>,
    pub teams: Vec<i64>,
}

/// Parses a query as of `now` (Unix ms): 400 `bad_query` with the column when it cannot be read.
pub(crate) fn parse_query(text: &str, now: i64) -> ApiResult<ojek_logs::Query> {
    parse_at(text, now).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_query",
            format!("the query cannot be read: {e}"),
        )
        .with_details(json!({ "column": e.column }))
    })
}

fn time_of(text: &str, what: &str) -> ApiResult<i64> {
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            ApiError::bad_request(format!(
                "`{what}`: `{text}` is not an RFC 3339 time or Unix milliseconds"
            ))
        })
}

/// Resolves the streams, the query and the range of a request, checking read access.
pub(crate) async fn read(state: &AppState, p: &Principal, q: &LogQuery) -> ApiResult<Read> {
    let backend = LogBackend::of(state)?;
    let now = now_ms();
    let text = q.q.clone().unwrap_or_default();
    let query = parse_query(&text, now)?;
    let to = match &q.to {
        Some(t) => time_of(t, "to")?,
        None => now + 1,
    };
    let from = match (&q.from, &q.since) {
        (Some(f), _) => time_of(f, "from")?,
        (None, since) => {
            let since = since.as_deref().unwrap_or("1h");
            let ms = parse_duration(since).ok_or_else(|| {
                ApiError::bad_request(format!("`since`: `{since}` is not a duration like 15m, 1h or 7d"))
            })?;
            to - i64::try_from(ms).unwrap_or(i64::MAX / 4)
        }
    };
    if from >= to {
        return Err(ApiError::bad_request("`from` must be before `to`"));
    }
    // Apps: those named (each readable, else 404 like the apps API), or every readable one.
    let mut apps: Vec<(String, i64)> = Vec::new();
    match q.app.as_deref().filter(|a| !a.trim().is_empty()) {
        Some(list) => {
            for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                let app = readable_app(state, p, name, Role::Viewer).await?;
                apps.push((app.name, app.team_id));
            }
        }
        None => {
            apps = super::app_teams(&state.store, p.readable_teams()).await?;
        }
    }
    let envs: Vec<String> = match q.env.as_deref().filter(|e| !e.trim().is_empty()) {
        Some(list) => list
            .split(',')
            .map(|e| e.trim().to_string())
            .filter(|e| !e.is_empty())
            .collect(),
        None => state
            .platform()
            .await?
            .platform
            .environments
            .keys()
            .cloned()
            .collect(),
    };
    let streams = apps
        .iter()
        .flat_map(|(app, _)| {
            envs.iter().map(move |env| Stream {
                app: app.clone(),
                env: env.clone(),
            })
        })
        .collect();
    let teams: BTreeSet<i64> = apps.iter().map(|(_, t)| *t).collect();
    Ok(Read {
        backend,
        read: LogRead {
            request: SearchRequest {
                streams,
                query,
                from_ms: from,
                to_ms: to,
            },
            query: text,
            parsed_at: now,
        },
        apps: apps.into_iter().map(|(a, _)| a).collect(),
        teams: teams.into_iter().collect(),
    })
}

/// Records the read in the audit log of every team it touched.
pub(crate) async fn audit(
    state: &AppState,
    p: &Principal,
    r: &Read,
    kind: &str,
    q: &LogQuery,
) -> ApiResult<()> {
    let detail = json!({
        "kind": kind,
        "query": q.q.clone().unwrap_or_default(),
        "from": r.read.request.from_ms,
        "to": r.read.request.to_ms,
        "apps": r.apps,
        "environments": r.read.request.streams.iter().map(|s| s.env.clone()).collect::<BTreeSet<_>>(),
    });
    let target = r.apps.join(",");
    state
        .store
        .record_read(&p.actor(), "logs.search", &r.teams, &target, &detail)
        .await?;
    Ok(())
}

/// `GET /api/logs/search`: newest first, a page at a time.
pub async fn search(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<LogQuery>,
) -> ApiResult<Json<Value>> {
    let r = read(&state, &p, &q).await?;
    audit(&state, &p, &r, "search", &q).await?;
    let limit = q.limit.unwrap_or(100).clamp(1, MAX_LIMIT);
    let page = r.backend.search(&r.read, limit, q.cursor).await?;
    Ok(Json(json!({
        "records": page.records,
        "nextCursor": page.next_cursor,
        "from": r.read.request.from_ms,
        "to": r.read.request.to_ms,
    })))
}

/// `GET /api/logs/histogram`: counts per time bucket.
pub async fn histogram(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<LogQuery>,
) -> ApiResult<Json<Value>> {
    let r = read(&state, &p, &q).await?;
    audit(&state, &p, &r, "histogram", &q).await?;
    let buckets = q.buckets.unwrap_or(60).clamp(1, MAX_BUCKETS);
    let counts = r.backend.histogram(&r.read, buckets).await?;
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    Ok(Json(json!({
        "buckets": counts.iter().map(|(start, count)| json!({ "start": start, "count": count })).collect::<Vec<_>>(),
        "total": total,
        "from": r.read.request.from_ms,
        "to": r.read.request.to_ms,
    })))
}

/// `GET /api/logs/top?field=`: the most frequent values of a field.
pub async fn top(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<LogQuery>,
) -> ApiResult<Json<Value>> {
    let field = q
        .field
        .clone()
        .filter(|f| !f.is_empty())
        .ok_or_else(|| ApiError::bad_request("`field` is required: e.g. level, host, http.status"))?;
    let r = read(&state, &p, &q).await?;
    audit(&state, &p, &r, "top", &q).await?;
    let n = q.n.unwrap_or(10).clamp(1, MAX_TOP);
    let values = r.backend.top_values(&r.read, &field, n).await?;
    Ok(Json(json!({
        "values": values.iter().map(|(value, count)| json!({ "value": value, "count": count })).collect::<Vec<_>>(),
    })))
}

/// `GET /api/logs/tail`: Server-Sent Events: a `records` event (a JSON array) for each newly
/// written batch with matching records, `lagged` (how many batches were skipped) when the
/// reader fell behind.
pub async fn tail(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<LogQuery>,
) -> ApiResult<Response> {
    let r = read(&state, &p, &q).await?;
    audit(&state, &p, &r, "tail", &q).await?;
    r.backend.tail(&r.read).await
}
