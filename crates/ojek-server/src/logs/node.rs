//! The log node (`ojek ingest`): the log pipeline without the control plane, so ingest and log
//! storage scale apart from it. It serves the ingest endpoints (the same routes as `ojek up`,
//! [`super::ingest::routes`]), `/healthz`, and an internal read API under `/internal/logs/`
//! for control planes started with `--logs-node`; it owns the log store, so it runs retention
//! (and the archive). Producer secrets, log settings and rate limits come from the database
//! it shares with the control plane.
//!
//! The internal API takes streams the control plane has already authorised and audited: it
//! trusts only the node token (`Authorization: Bearer`, compared in constant time) and must
//! never be exposed where shippers or browsers reach it. No UI, no `/api`, no demo here.

use std::sync::Arc;

use anyhow::Context;
use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ojek_logs::Record;
use ojek_logstore::index::{SearchRequest, Stream};
use ojek_store::Store;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tower_http::set_header::SetResponseHeaderLayer;

use super::Logs;
use super::backend::{LogBackend, LogRead};
use super::search::{MAX_BUCKETS, MAX_LIMIT, MAX_TOP, parse_query};
use crate::api::JsonBody;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, Config};

/// The environment variable holding the node token.
pub const NODE_TOKEN_VAR: &str = "OJEK_NODE_TOKEN";

/// Where the internal read API is served on a log node.
pub const INTERNAL_PREFIX: &str = "/internal/logs";

/// The shared secret of a log node and its control planes (`OJEK_NODE_TOKEN`). Its `Debug`
/// does not show it.
#[derive(Clone)]
pub struct NodeToken(String);

/// Why a node token was refused.
#[derive(Debug, thiserror::Error)]
pub enum NodeTokenError {
    /// The variable is not set (or empty).
    #[error(
        "{NODE_TOKEN_VAR} is not set: the log node and the control plane share a secret of at least \
         {min} characters (for example `openssl rand -hex 32`), set on both",
        min = NodeToken::MIN_CHARS
    )]
    Missing,
    /// Too short to be a secret.
    #[error(
        "{NODE_TOKEN_VAR} has {0} characters; it must have at least {min} (for example `openssl rand -hex 32`)",
        min = NodeToken::MIN_CHARS
    )]
    TooShort(usize),
}

impl NodeToken {
    /// The fewest characters a node token may have.
    pub const MIN_CHARS: usize = 32;

    /// A token from the variable's value (`None`: unset).
    pub fn new(value: Option<String>) -> Result<NodeToken, NodeTokenError> {
        let value = value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let value = value.ok_or(NodeTokenError::Missing)?;
        let chars = value.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(NodeTokenError::TooShort(chars));
        }
        Ok(NodeToken(value))
    }

    /// Whether `presented` is this token, in time that does not depend on where they differ
    /// (both are hashed first, so not on their lengths either).
    pub fn matches(&self, presented: &str) -> bool {
        let (a, b) = (
            Sha256::digest(self.0.as_bytes()),
            Sha256::digest(presented.as_bytes()),
        );
        a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    /// The secret, for the `Authorization` header of requests to the node.
    pub(crate) fn secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NodeToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NodeToken(…)")
    }
}

/// Opens the database (migrating it) and the log store in `<data dir>/logs`, starts retention
/// (with the archive when configured) and serves the node on `config.listen`.
pub async fn start(config: Config) -> anyhow::Result<crate::Server> {
    anyhow::ensure!(config.node_token.is_some(), "{}", NodeTokenError::Missing);
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    let url = config.database_url();
    let store = Store::open(&url)
        .await
        .with_context(|| format!("cannot open the database ({})", crate::bootstrap::redact(&url)))?;
    let logs = Logs::open(&config.data_dir.join("logs"))?;
    let mut state = AppState::new(store, config);
    state.logs = Some(Arc::new(logs));
    super::retention::spawn(state.clone());
    crate::serve(state.clone(), router(state), None).await
}

/// The node's routes: ingest (the same as `ojek up`'s), the Elasticsearch root probe,
/// `/healthz`, and the internal read API behind the node token.
pub fn router(state: AppState) -> Router {
    let internal = Router::new()
        .route("/health", get(health))
        .route("/search", post(search))
        .route("/histogram", post(histogram))
        .route("/top", post(top))
        .route("/tail", post(tail))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_node_token));
    Router::new()
        .merge(super::ingest::routes())
        // Elasticsearch clients probe `/` before shipping; nothing else is served there.
        .route("/", get(|| async { super::ingest::elastic_root() }))
        .route("/healthz", get(crate::healthz))
        .nest(INTERNAL_PREFIX, internal)
        .fallback(not_here)
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .with_state(state)
}

async fn not_here() -> ApiError {
    ApiError::not_found(
        "this is an ojek log node: it serves ingest (/produce, /produce_batch, /_bulk, /v1/logs) and \
         /healthz; the web UI and /api are on the control plane (`ojek up`)",
    )
}

/// 401 unless the request carries the node token.
async fn require_node_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let presented = crate::auth::bearer(req.headers());
    match (&state.config.node_token, presented) {
        (Some(token), Some(presented)) if token.matches(presented) => next.run(req).await,
        _ => ApiError::unauthorized(format!(
            "the internal log API needs the node token: `Authorization: Bearer <{NODE_TOKEN_VAR}>`"
        ))
        .into_response(),
    }
}

/// A stream on the wire.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct NodeStream {
    pub(crate) app: String,
    pub(crate) env: String,
}

/// The body of every internal read: what the control plane authorised (streams, the query as
/// written with the time it parsed it at, the range) and the endpoint's options.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NodeRead {
    pub(crate) streams: Vec<NodeStream>,
    pub(crate) query: String,
    pub(crate) parsed_at: i64,
    pub(crate) from: i64,
    pub(crate) to: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) limit: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cursor: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) buckets: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) n: Option<usize>,
}

impl NodeRead {
    /// The wire form of an authorised read, without options.
    pub(crate) fn of(read: &LogRead) -> NodeRead {
        NodeRead {
            streams: read
                .request
                .streams
                .iter()
                .map(|s| NodeStream {
                    app: s.app.clone(),
                    env: s.env.clone(),
                })
                .collect(),
            query: read.query.clone(),
            parsed_at: read.parsed_at,
            from: read.request.from_ms,
            to: read.request.to_ms,
            limit: None,
            cursor: None,
            buckets: None,
            field: None,
            n: None,
        }
    }

    /// Back to a read, parsing the query as the control plane did.
    fn to_read(&self) -> ApiResult<LogRead> {
        let query = parse_query(&self.query, self.parsed_at)?;
        Ok(LogRead {
            request: SearchRequest {
                streams: self
                    .streams
                    .iter()
                    .map(|s| Stream {
                        app: s.app.clone(),
                        env: s.env.clone(),
                    })
                    .collect(),
                query,
                from_ms: self.from,
                to_ms: self.to,
            },
            query: self.query.clone(),
            parsed_at: self.parsed_at,
        })
    }
}

/// The answer of `/internal/logs/search`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SearchAnswer {
    pub(crate) records: Vec<Record>,
    pub(crate) next_cursor: Option<u64>,
}

/// The answer of `/internal/logs/histogram`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct HistogramAnswer {
    pub(crate) buckets: Vec<(i64, u64)>,
}

/// The answer of `/internal/logs/top`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct TopAnswer {
    pub(crate) values: Vec<(String, u64)>,
}

/// `GET /internal/logs/health`: the token is right (control planes check it at start).
async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "ok": true }))
}

/// `POST /internal/logs/search`.
async fn search(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<NodeRead>,
) -> ApiResult<Json<SearchAnswer>> {
    let read = body.to_read()?;
    let limit = body.limit.unwrap_or(100).clamp(1, MAX_LIMIT);
    let page = LogBackend::of(&state)?.search(&read, limit, body.cursor).await?;
    Ok(Json(SearchAnswer {
        records: page.records,
        next_cursor: page.next_cursor,
    }))
}

/// `POST /internal/logs/histogram`.
async fn histogram(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<NodeRead>,
) -> ApiResult<Json<HistogramAnswer>> {
    let read = body.to_read()?;
    let buckets = body.buckets.unwrap_or(60).clamp(1, MAX_BUCKETS);
    let buckets = LogBackend::of(&state)?.histogram(&read, buckets).await?;
    Ok(Json(HistogramAnswer { buckets }))
}

/// `POST /internal/logs/top`.
async fn top(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<NodeRead>,
) -> ApiResult<Json<TopAnswer>> {
    let read = body.to_read()?;
    let field = body
        .field
        .as_deref()
        .filter(|f| !f.is_empty())
        .ok_or_else(|| ApiError::bad_request("`field` is required"))?;
    let n = body.n.unwrap_or(10).clamp(1, MAX_TOP);
    let values = LogBackend::of(&state)?.top_values(&read, field, n).await?;
    Ok(Json(TopAnswer { values }))
}

/// `POST /internal/logs/tail`: Server-Sent Events, as `/api/logs/tail`.
async fn tail(State(state): State<AppState>, JsonBody(body): JsonBody<NodeRead>) -> ApiResult<Response> {
    let read = body.to_read()?;
    LogBackend::of(&state)?.tail(&read).await
}

#[cfg(test)]
mod tests {
    use super::{NodeToken, NodeTokenError};

    #[test]
    fn tokens_are_long_secrets_compared_whole() {
        assert!(matches!(NodeToken::new(None), Err(NodeTokenError::Missing)));
        assert!(matches!(
            NodeToken::new(Some("  ".into())),
            Err(NodeTokenError::Missing)
        ));
        assert!(matches!(
            NodeToken::new(Some("short".into())),
            Err(NodeTokenError::TooShort(5))
        ));
        let token = NodeToken::new(Some("0123456789abcdef0123456789abcdef".into())).expect("long enough");
        assert!(token.matches("0123456789abcdef0123456789abcdef"));
        assert!(!token.matches("0123456789abcdef0123456789abcdeF"));
        assert!(!token.matches("0123456789abcdef0123456789abcdef0"));
        assert!(!token.matches(""));
        assert_eq!(format!("{token:?}"), "NodeToken(…)");
    }
}
