//! Reading logs: `GET /api/logs/search`, `/histogram`, `/top` and `/tail` (Server-Sent
//! Events). Readers need read access to each app's team (a session or an API token; producer
//! secrets cannot read); every read is recorded in the audit log of the teams it touched (who,
//! query, range, apps).

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use ojek_core::spec::values::parse_duration;
use ojek_logs::{Record, evaluate, parse_at};
use ojek_logstore::index::{SearchRequest, Stream};
use ojek_store::{AppFilter, Role};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::BroadcastStream;

use super::Logs;
use crate::api::apps::readable_app;
use crate::auth::{Principal, now_ms};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The most records in one page.
const MAX_LIMIT: usize = 1_000;
/// The most histogram buckets.
const MAX_BUCKETS: usize = 1_000;

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

/// What a request reads: its streams, the parsed query and the time range.
pub(crate) struct Read {
    pub logs: Arc<Logs>,
    pub request: SearchRequest,
    pub apps: Vec<String>,
    pub teams: Vec<i64>,
}

fn logs_of(state: &AppState) -> ApiResult<Arc<Logs>> {
    state.logs.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "logs_unavailable",
            "this server keeps no logs",
        )
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
    let logs = logs_of(state)?;
    let now = now_ms();
    let query = parse_at(q.q.as_deref().unwrap_or(""), now).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_query",
            format!("the query cannot be read: {e}"),
        )
        .with_details(json!({ "column": e.column }))
    })?;
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
            let mut offset = 0;
            loop {
                let filter = AppFilter {
                    team_ids: p.readable_teams(),
                    team: None,
                    search: None,
                    limit: 500,
                    offset,
                };
                let (page, total) = state.store.list_apps(&filter).await?;
                let n = page.len() as i64;
                apps.extend(page.into_iter().map(|a| (a.name, a.team_id)));
                offset += n;
                if n == 0 || offset >= total {
                    break;
                }
            }
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
        logs,
        request: SearchRequest {
            streams,
            query,
            from_ms: from,
            to_ms: to,
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
        "from": r.request.from_ms,
        "to": r.request.to_ms,
        "apps": r.apps,
        "environments": r.request.streams.iter().map(|s| s.env.clone()).collect::<BTreeSet<_>>(),
    });
    let target = r.apps.join(",");
    state
        .store
        .record_read(&p.actor(), "logs.search", &r.teams, &target, &detail)
        .await?;
    Ok(())
}

/// Runs index work on a blocking thread.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ojek_logstore::index::IndexError> + Send + 'static,
) -> ApiResult<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "log_index",
            e.to_string(),
        )),
        Err(e) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            e.to_string(),
        )),
    }
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
    let cursor = q.cursor;
    let logs = r.logs.clone();
    let request = r.request.clone();
    let page = blocking(move || logs.store.index().search(&request, limit, cursor)).await?;
    Ok(Json(json!({
        "records": page.records,
        "nextCursor": page.next_cursor,
        "from": r.request.from_ms,
        "to": r.request.to_ms,
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
    let logs = r.logs.clone();
    let request = r.request.clone();
    let counts = blocking(move || logs.store.index().histogram(&request, buckets)).await?;
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    Ok(Json(json!({
        "buckets": counts.iter().map(|(start, count)| json!({ "start": start, "count": count })).collect::<Vec<_>>(),
        "total": total,
        "from": r.request.from_ms,
        "to": r.request.to_ms,
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
    let n = q.n.unwrap_or(10).clamp(1, 100);
    let logs = r.logs.clone();
    let request = r.request.clone();
    let values = blocking(move || logs.store.index().top_values(&request, &field, n)).await?;
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
) -> ApiResult<Sse<impl tokio_stream::Stream<Item = Result<Event, Infallible>>>> {
    let r = read(&state, &p, &q).await?;
    audit(&state, &p, &r, "tail", &q).await?;
    let streams: BTreeSet<(String, String)> = r
        .request
        .streams
        .iter()
        .map(|s| (s.app.clone(), s.env.clone()))
        .collect();
    let query = r.request.query.clone();
    let receiver = r.logs.tail.subscribe();
    let events = BroadcastStream::new(receiver).filter_map(move |batch| match batch {
        Ok(records) => {
            let matching: Vec<&Record> = records
                .iter()
                .filter(|rec| streams.contains(&(rec.app.clone(), rec.env.clone())) && evaluate(&query, rec))
                .collect();
            if matching.is_empty() {
                None
            } else {
                Event::default()
                    .event("records")
                    .json_data(&matching)
                    .ok()
                    .map(Ok)
            }
        }
        Err(tokio_stream::wrappers::errors::BroadcastStreamRecvError::Lagged(n)) => {
            Some(Ok(Event::default().event("lagged").data(n.to_string())))
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
