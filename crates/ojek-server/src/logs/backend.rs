//! Where log reads go: [`LogBackend`] is the log store of this process, or a log node (`ojek
//! ingest`) asked over its internal API when the control plane runs with `--logs-node`. The
//! reading handlers (`search`, the Logs page) decide who may read what and audit it, then hand
//! the authorised [`LogRead`] to the backend without looking at which one it is.
//!
//! It must not decide access: a [`LogRead`] names only streams its caller may read.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use ojek_logs::{Record, evaluate};
use ojek_logstore::index::{IndexError, Page, SearchRequest};
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::BroadcastStream;

use super::Logs;
use super::node_client::LogNode;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// How often an idle live tail sends a keep-alive comment (the node's relay gives up after
/// three missed ones).
pub const TAIL_KEEP_ALIVE: Duration = Duration::from_secs(15);

/// A read someone was allowed to make: the streams, the parsed query and the range, plus the
/// query as written and the time it was parsed at, so a log node parses it to the same query
/// (`now-15m` in a query means the same instant on both).
#[derive(Debug, Clone)]
pub struct LogRead {
    /// Streams (only readable ones), parsed query, range.
    pub request: SearchRequest,
    /// The query as written.
    pub query: String,
    /// When the query was parsed (Unix ms).
    pub parsed_at: i64,
}

/// Where this server's log reads go.
#[derive(Debug, Clone)]
pub enum LogBackend {
    /// The log store of this process (`ojek up`; `ojek ingest` answering its internal API).
    Local(Arc<Logs>),
    /// A log node (`ojek up --logs-node`).
    Node(Arc<LogNode>),
}

impl LogBackend {
    /// The backend of a server: its log node when it has one, else its own store; 503 when it
    /// has neither.
    pub fn of(state: &AppState) -> ApiResult<LogBackend> {
        if let Some(node) = &state.logs_node {
            return Ok(LogBackend::Node(node.clone()));
        }
        state.logs.clone().map(LogBackend::Local).ok_or_else(|| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "logs_unavailable",
                "this server keeps no logs",
            )
        })
    }

    /// A page of records, newest first; `cursor` continues an earlier page.
    pub async fn search(&self, read: &LogRead, limit: usize, cursor: Option<u64>) -> ApiResult<Page> {
        match self {
            LogBackend::Local(logs) => {
                let (logs, request) = (logs.clone(), read.request.clone());
                blocking(move || logs.store.index().search(&request, limit, cursor)).await
            }
            LogBackend::Node(node) => node.search(read, limit, cursor).await,
        }
    }

    /// Counts per time bucket: `(bucket start, count)`.
    pub async fn histogram(&self, read: &LogRead, buckets: usize) -> ApiResult<Vec<(i64, u64)>> {
        match self {
            LogBackend::Local(logs) => {
                let (logs, request) = (logs.clone(), read.request.clone());
                blocking(move || logs.store.index().histogram(&request, buckets)).await
            }
            LogBackend::Node(node) => node.histogram(read, buckets).await,
        }
    }

    /// How many records match (one histogram bucket: exact, and counted from the index
    /// without reading the records when the query allows).
    pub async fn count(&self, read: &LogRead) -> ApiResult<u64> {
        Ok(self.histogram(read, 1).await?.iter().map(|(_, n)| n).sum())
    }

    /// The `n` most frequent values of `field`: `(value, count)`.
    pub async fn top_values(&self, read: &LogRead, field: &str, n: usize) -> ApiResult<Vec<(String, u64)>> {
        match self {
            LogBackend::Local(logs) => {
                let (logs, request, field) = (logs.clone(), read.request.clone(), field.to_string());
                blocking(move || logs.store.index().top_values(&request, &field, n)).await
            }
            LogBackend::Node(node) => node.top_values(read, field, n).await,
        }
    }

    /// Live tail as Server-Sent Events: a `records` event (a JSON array) for each newly written
    /// batch with matching records, `lagged` (how many batches were skipped) when the reader
    /// fell behind. From a log node, its stream is relayed as it comes.
    pub async fn tail(&self, read: &LogRead) -> ApiResult<Response> {
        match self {
            LogBackend::Local(logs) => Ok(local_tail(logs, read)),
            LogBackend::Node(node) => node.tail(read).await,
        }
    }
}

/// The live tail of this process's store.
fn local_tail(logs: &Logs, read: &LogRead) -> Response {
    let streams: BTreeSet<(String, String)> = read
        .request
        .streams
        .iter()
        .map(|s| (s.app.clone(), s.env.clone()))
        .collect();
    let query = read.request.query.clone();
    let receiver = logs.tail.subscribe();
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
                    .map(Ok::<_, Infallible>)
            }
        }
        Err(tokio_stream::wrappers::errors::BroadcastStreamRecvError::Lagged(n)) => {
            Some(Ok(Event::default().event("lagged").data(n.to_string())))
        }
    });
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(TAIL_KEEP_ALIVE))
        .into_response()
}

/// Runs index work on a blocking thread.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, IndexError> + Send + 'static,
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
