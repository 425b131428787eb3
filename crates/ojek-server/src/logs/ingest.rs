//! Ingest endpoints for shippers, outside the session/CSRF layer (producer secrets, no
//! cookies):
//!
//! - Barito: `POST /produce` (one JSON object) and `POST /produce_batch` (`{"items": […]}`),
//!   with `X-App-Secret` (an app's secret) or `X-App-Group-Secret` + `X-App-Name` (a team's);
//! - Elasticsearch: `POST /_bulk` and `POST /{index}/_bulk` (NDJSON action/source pairs), with
//!   the secret as the password of basic auth, a bearer token or an `ApiKey`; the index name is
//!   `<app>` or `<app>.<env>`; plus `GET /` (when JSON is asked for), `GET /_license` and the
//!   other probes shippers make at start-up, with Elasticsearch-shaped answers.
//!
//! The environment is the `X-Ojek-Env` header, the index name's, or each line's `env` /
//! `environment` field. Bodies may be gzip (`Content-Encoding: gzip`). A request is answered
//! only once its records are durable in the write-ahead log; a bad line refuses the whole
//! request with a 4xx naming it, so nothing of it is stored.

use std::io::Read;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ojek_logs::Record;
use ojek_store::{AppSummary, StoreError};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::Logs;
use crate::auth::now_ms;
use crate::state::AppState;

/// The largest request body accepted, compressed or not.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// The largest body after gunzip.
pub const MAX_INFLATED_BYTES: usize = 64 * 1024 * 1024;
/// The most lines in one request.
pub const MAX_LINES: usize = 100_000;

/// The ingest routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/produce", post(produce))
        .route("/produce_batch", post(produce_batch))
        // Clients use either method (the Python client PUTs).
        .route("/_bulk", post(bulk).put(bulk))
        .route("/{index}/_bulk", post(bulk_index).put(bulk_index))
        .route("/v1/logs", post(super::otlp::export))
        .route("/_license", get(license))
        .route("/_xpack", get(xpack))
        .route("/_nodes", get(nodes))
        .route("/_cluster/health", get(cluster_health))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(refuse_declared_oversize))
}

/// A body that says (`Content-Length`) it is over the limit is refused before any of it is
/// read: a client that asked `Expect: 100-continue` gets the 413 instead of a `100 Continue`
/// and a connection closed part way through its upload.
async fn refuse_declared_oversize(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let declared =
        header_str(req.headers(), header::CONTENT_LENGTH.as_str()).and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > MAX_BODY_BYTES as u64 => IngestError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body is {n} bytes; the limit is {MAX_BODY_BYTES}"),
        )
        .into_response(),
        _ => next.run(req).await,
    }
}

/// A refusal: status, machine code and a sentence; Elasticsearch-shaped for the ES endpoints.
#[derive(Debug)]
pub struct IngestError {
    pub(super) status: StatusCode,
    code: &'static str,
    pub(super) message: String,
    pub(super) retry_after: Option<u64>,
    elastic: bool,
}

impl IngestError {
    pub(super) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> IngestError {
        IngestError {
            status,
            code,
            message: message.into(),
            retry_after: None,
            elastic: false,
        }
    }

    pub(super) fn bad(message: impl Into<String>) -> IngestError {
        IngestError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    fn elastic(mut self) -> IngestError {
        self.elastic = true;
        self
    }
}

impl IntoResponse for IngestError {
    fn into_response(self) -> Response {
        let body = if self.elastic {
            json!({
                "error": { "type": self.code, "reason": self.message,
                           "root_cause": [{ "type": self.code, "reason": self.message }] },
                "status": self.status.as_u16(),
            })
        } else {
            json!({ "error": self.message, "code": self.code })
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&seconds.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if self.elastic {
            resp.headers_mut()
                .insert("x-elastic-product", HeaderValue::from_static("Elasticsearch"));
        }
        resp
    }
}

pub(super) type IngestResult<T> = Result<T, IngestError>;

fn logs(state: &AppState) -> IngestResult<&Arc<Logs>> {
    state.logs.as_ref().ok_or_else(|| {
        IngestError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "logs_unavailable",
            "this server does not take logs",
        )
    })
}

/// Who is producing: the app (and its team) the secret allows.
pub(super) struct Producer {
    pub(super) app: AppSummary,
}

pub(super) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

/// The producer of a request from a secret, and the app named (for team secrets).
pub(super) async fn producer(
    state: &AppState,
    secret: &str,
    app_name: Option<&str>,
) -> IngestResult<Producer> {
    let unknown = || {
        IngestError::new(
            StatusCode::UNAUTHORIZED,
            "unknown_secret",
            "unknown or revoked producer secret",
        )
    };
    if secret.is_empty() {
        return Err(unknown());
    }
    let hash = Sha256::digest(secret.as_bytes());
    let found = state
        .store
        .log_secret_by_hash(&hash)
        .await
        .map_err(store_error)?
        .ok_or_else(unknown)?;
    let name = match (&found.app, app_name) {
        (Some(app), None) => app.clone(),
        (Some(app), Some(asked)) if app == asked => app.clone(),
        (Some(app), Some(asked)) => {
            return Err(IngestError::new(
                StatusCode::FORBIDDEN,
                "wrong_app",
                format!("this secret is {app}'s; it cannot produce for {asked}"),
            ));
        }
        (None, Some(asked)) => asked.to_string(),
        (None, None) => {
            return Err(IngestError::bad(
                "a team secret needs the app: send X-App-Name (or name the app in the index)",
            ));
        }
    };
    let app = state.store.app(&name).await.map_err(store_error)?;
    match app {
        Some(app) if app.team_id == found.team_id => Ok(Producer { app }),
        // Another team's app, or none: the same answer, so names do not leak.
        _ => Err(IngestError::new(
            StatusCode::FORBIDDEN,
            "wrong_app",
            format!("this secret cannot produce for {name}"),
        )),
    }
}

pub(super) fn store_error(e: StoreError) -> IngestError {
    match e {
        StoreError::Unavailable(m) => {
            IngestError::new(StatusCode::SERVICE_UNAVAILABLE, "database_unavailable", m)
        }
        other => IngestError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", other.to_string()),
    }
}

/// The body, gunzipped when the request says so (bounded: a gzip bomb is a 413).
pub(super) fn body_bytes(headers: &HeaderMap, body: Bytes) -> IngestResult<Vec<u8>> {
    let gzip = header_str(headers, header::CONTENT_ENCODING.as_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("gzip"));
    if !gzip {
        return Ok(body.to_vec());
    }
    let mut out = Vec::new();
    let mut decoder = flate2::read::GzDecoder::new(&body[..]).take(MAX_INFLATED_BYTES as u64 + 1);
    decoder
        .read_to_end(&mut out)
        .map_err(|e| IngestError::bad(format!("the body is not valid gzip: {e}")))?;
    if out.len() > MAX_INFLATED_BYTES {
        return Err(IngestError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body inflates to more than {MAX_INFLATED_BYTES} bytes"),
        ));
    }
    Ok(out)
}

/// The environment of a line: the request's, else the line's `env` / `environment` field
/// (taken out of it).
fn environment_of(
    request_env: Option<&str>,
    line: &mut Map<String, Value>,
    n: usize,
) -> IngestResult<String> {
    let from_line = ["env", "environment"]
        .iter()
        .find_map(|k| line.get(*k).and_then(Value::as_str).map(str::to_string));
    let env = match (request_env, from_line) {
        (Some(env), _) => env.to_string(),
        (None, Some(env)) => {
            line.remove("env");
            line.remove("environment");
            env
        }
        (None, None) => {
            return Err(IngestError::bad(format!(
                "line {n}: no environment: send an X-Ojek-Env header, name it in the index (<app>.<env>), \
                 or give each line an `env` field"
            )));
        }
    };
    let valid = !env.is_empty()
        && env.len() <= 63
        && env
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(env)
    } else {
        Err(IngestError::bad(format!(
            "line {n}: `{env}` is not an environment name"
        )))
    }
}

/// Rate limit, level filter, then the write-ahead log: answers once durable. Returns how
/// many lines were stored and how many the level filter dropped.
pub(super) async fn store(
    state: &AppState,
    producer: &Producer,
    lines: Vec<Map<String, Value>>,
    request_env: Option<&str>,
) -> IngestResult<(usize, usize)> {
    let logs = logs(state)?.clone();
    if lines.len() > MAX_LINES {
        return Err(IngestError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("{} lines in one request; at most {MAX_LINES}", lines.len()),
        ));
    }
    let settings = state
        .store
        .effective_log_settings(producer.app.team_id, Some(&producer.app.name))
        .await
        .map_err(store_error)?;
    if let Err(seconds) = logs.take(&producer.app.name, settings.rate_limit, lines.len()) {
        let mut e = IngestError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "{} may send {} lines per second; retry after {seconds} s",
                producer.app.name,
                settings.rate_limit.unwrap_or_default()
            ),
        );
        e.retry_after = Some(seconds);
        return Err(e);
    }
    let now = now_ms();
    let minimum = settings.level_filter.as_deref().map(level_rank);
    let mut records = Vec::with_capacity(lines.len());
    let mut filtered = 0;
    for (i, mut line) in lines.into_iter().enumerate() {
        let env = environment_of(request_env, &mut line, i + 1)?;
        let record = Record::from_json(line, &producer.app.name, &env, now);
        if let (Some(min), Some(level)) = (minimum, record.level.as_deref())
            && level_rank(level) < min
        {
            filtered += 1;
            continue;
        }
        records.push(record);
    }
    let stored = records.len();
    if stored > 0 {
        let batch = Arc::new(records);
        let to_store = batch.as_ref().clone();
        let durable = {
            let store = logs.store.clone();
            tokio::task::spawn_blocking(move || store.append(to_store)).await
        };
        match durable {
            Ok(Ok(_)) => {
                let _ = logs.tail.send(batch);
            }
            Ok(Err(e)) => {
                tracing::error!("log write failed, nothing of the request was kept: {e}");
                let mut err = IngestError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_unavailable",
                    format!("the log store cannot write ({e}); nothing of the request was kept"),
                );
                err.retry_after = Some(5);
                return Err(err);
            }
            Err(e) => {
                return Err(IngestError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    format!("the write failed: {e}"),
                ));
            }
        }
    }
    Ok((stored, filtered))
}

/// Order of levels for the level filter (unknown levels are kept).
fn level_rank(level: &str) -> u8 {
    match level {
        "trace" => 0,
        "debug" => 1,
        "info" => 2,
        "warn" => 3,
        "error" => 4,
        "fatal" => 5,
        _ => 6,
    }
}

fn json_object(bytes: &[u8], what: &str) -> IngestResult<Map<String, Value>> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(IngestError::bad(format!("{what} is not a JSON object"))),
        Err(e) => Err(IngestError::bad(format!("{what} is not valid JSON: {e}"))),
    }
}

async fn barito_producer(state: &AppState, headers: &HeaderMap) -> IngestResult<Producer> {
    if let Some(secret) = header_str(headers, "x-app-secret") {
        return producer(state, secret, None).await;
    }
    if let Some(secret) = header_str(headers, "x-app-group-secret") {
        let app = header_str(headers, "x-app-name")
            .ok_or_else(|| IngestError::bad("X-App-Group-Secret needs X-App-Name"))?;
        return producer(state, secret, Some(app)).await;
    }
    Err(IngestError::new(
        StatusCode::UNAUTHORIZED,
        "no_secret",
        "send X-App-Secret, or X-App-Group-Secret and X-App-Name",
    ))
}

fn accepted(stored: usize, filtered: usize) -> Response {
    (
        StatusCode::OK,
        axum::Json(json!({ "stored": stored, "filtered": filtered })),
    )
        .into_response()
}

/// `POST /produce`: one JSON object.
async fn produce(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> IngestResult<Response> {
    let producer = barito_producer(&state, &headers).await?;
    let bytes = body_bytes(&headers, body)?;
    let line = json_object(&bytes, "the body")?;
    let (stored, filtered) = store(&state, &producer, vec![line], header_str(&headers, "x-ojek-env")).await?;
    Ok(accepted(stored, filtered))
}

/// `POST /produce_batch`: `{"items": [{…}, …]}`.
async fn produce_batch(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> IngestResult<Response> {
    let producer = barito_producer(&state, &headers).await?;
    let bytes = body_bytes(&headers, body)?;
    let mut batch = json_object(&bytes, "the body")?;
    let Some(Value::Array(items)) = batch.remove("items") else {
        return Err(IngestError::bad(
            "the body needs `items`: an array of log objects",
        ));
    };
    let mut lines = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        match item {
            Value::Object(map) => lines.push(map),
            _ => return Err(IngestError::bad(format!("items[{i}] is not a JSON object"))),
        }
    }
    let (stored, filtered) = store(&state, &producer, lines, header_str(&headers, "x-ojek-env")).await?;
    Ok(accepted(stored, filtered))
}

/// The secret of an Elasticsearch request: basic auth's password, a bearer token, or an
/// `ApiKey` (`base64(id:key)`, the key part).
fn elastic_secret(headers: &HeaderMap) -> Option<String> {
    use base64::Engine as _;
    let value = header_str(headers, header::AUTHORIZATION.as_str())?;
    let (scheme, rest) = value.split_once(' ')?;
    let decode = |b64: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
    };
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => decode(rest).and_then(|s| s.split_once(':').map(|(_, p)| p.to_string())),
        "bearer" => Some(rest.trim().to_string()),
        "apikey" => decode(rest)
            .and_then(|s| s.split_once(':').map(|(_, k)| k.to_string()))
            .or_else(|| Some(rest.trim().to_string())),
        _ => None,
    }
}

/// `<app>` or `<app>.<env>`.
fn split_index(index: &str) -> (&str, Option<&str>) {
    match index.split_once('.') {
        Some((app, env)) => (app, Some(env)),
        None => (index, None),
    }
}

async fn bulk(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    bulk_into(&state, &headers, None, body)
        .await
        .unwrap_or_else(|e| e.elastic().into_response())
}

async fn bulk_index(
    State(state): State<AppState>,
    Path(index): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    bulk_into(&state, &headers, Some(index), body)
        .await
        .unwrap_or_else(|e| e.elastic().into_response())
}

/// `POST [/{index}]/_bulk`: NDJSON action and source lines; `index` and `create` actions
/// (with `_index` or the path's index). All lines are read before anything is stored.
async fn bulk_into(
    state: &AppState,
    headers: &HeaderMap,
    path_index: Option<String>,
    body: Bytes,
) -> IngestResult<Response> {
    let started = std::time::Instant::now();
    let secret = elastic_secret(headers).ok_or_else(|| {
        IngestError::new(
            StatusCode::UNAUTHORIZED,
            "security_exception",
            "send the producer secret as the password of basic auth, a bearer token or an ApiKey",
        )
    })?;
    let bytes = body_bytes(headers, body)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| IngestError::bad("the body is not UTF-8"))?;
    // (index, source) pairs.
    let mut docs: Vec<(String, Map<String, Value>)> = Vec::new();
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    while let Some((n, action_line)) = lines.next() {
        let action = json_object(action_line.as_bytes(), &format!("line {}", n + 1))?;
        let (kind, meta) = action
            .iter()
            .next()
            .ok_or_else(|| IngestError::bad(format!("line {}: an empty action", n + 1)))?;
        if !matches!(kind.as_str(), "index" | "create") {
            return Err(IngestError::bad(format!(
                "line {}: action `{kind}` is not supported (only index and create)",
                n + 1
            )));
        }
        let index = meta
            .get("_index")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| path_index.clone())
            .ok_or_else(|| IngestError::bad(format!("line {}: no _index and no index in the path", n + 1)))?;
        let (m, source_line) = lines
            .next()
            .ok_or_else(|| IngestError::bad(format!("line {}: the action has no source line", n + 1)))?;
        docs.push((
            index,
            json_object(source_line.as_bytes(), &format!("line {}", m + 1))?,
        ));
    }
    // Group by app; each group is authorised (the same secret must be allowed for each app).
    let mut by_index: Vec<(String, Vec<Map<String, Value>>)> = Vec::new();
    for (index, doc) in docs {
        match by_index.iter_mut().find(|(i, _)| *i == index) {
            Some((_, v)) => v.push(doc),
            None => by_index.push((index, vec![doc])),
        }
    }
    let mut groups = Vec::new();
    for (index, group) in by_index {
        let (app, env) = split_index(&index);
        let producer = producer(state, &secret, Some(app)).await?;
        let env = env
            .map(str::to_string)
            .or_else(|| header_str(headers, "x-ojek-env").map(str::to_string));
        groups.push((index, producer, env, group));
    }
    let mut items = Vec::new();
    for (index, producer, env, group) in groups {
        let n = group.len();
        store(state, &producer, group, env.as_deref()).await?;
        for _ in 0..n {
            items.push(json!({ "index": {
                "_index": index, "_id": format!("{:x}", rand::random::<u64>()),
                "_version": 1, "result": "created", "status": 201,
                "_shards": { "total": 1, "successful": 1, "failed": 0 },
            }}));
        }
    }
    Ok(elastic_json(json!({
        "took": started.elapsed().as_millis() as u64,
        "errors": false,
        "items": items,
    })))
}

fn elastic_json(body: Value) -> Response {
    let mut resp = (StatusCode::OK, axum::Json(body)).into_response();
    resp.headers_mut()
        .insert("x-elastic-product", HeaderValue::from_static("Elasticsearch"));
    resp
}

/// `GET /` for Elasticsearch clients (which ask for JSON): the cluster's identity.
pub fn elastic_root() -> Response {
    elastic_json(json!({
        "name": "ojek",
        "cluster_name": "ojek",
        "cluster_uuid": "ojek-logs",
        "version": {
            "number": "8.11.0",
            "build_flavor": "default",
            "build_type": "ojek",
            "lucene_version": "9.8.0",
            "minimum_wire_compatibility_version": "7.17.0",
            "minimum_index_compatibility_version": "7.0.0"
        },
        "tagline": "You Know, for Search"
    }))
}

/// Whether a request to `/` comes from an Elasticsearch client rather than a browser.
pub fn wants_elastic(headers: &HeaderMap) -> bool {
    let accept = header_str(headers, header::ACCEPT.as_str()).unwrap_or_default();
    (accept.contains("json") && !accept.contains("text/html")) || elastic_secret(headers).is_some()
}

async fn license() -> Response {
    elastic_json(json!({ "license": { "status": "active", "type": "basic", "uid": "ojek" } }))
}

async fn xpack() -> Response {
    elastic_json(json!({
        "build": {}, "license": { "status": "active", "type": "basic" },
        "features": { "ilm": { "available": false, "enabled": false } }
    }))
}

async fn nodes() -> Response {
    elastic_json(
        json!({ "_nodes": { "total": 1, "successful": 1, "failed": 0 }, "cluster_name": "ojek", "nodes": {} }),
    )
}

async fn cluster_health() -> Response {
    elastic_json(json!({ "cluster_name": "ojek", "status": "green", "number_of_nodes": 1 }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elastic_secrets_come_from_basic_bearer_and_api_keys() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic ZWxhc3RpYzpzM2NyZXQ="),
        ); // elastic:s3cret
        assert_eq!(elastic_secret(&h).as_deref(), Some("s3cret"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer tok"));
        assert_eq!(elastic_secret(&h).as_deref(), Some("tok"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("ApiKey aWQ6a2V5")); // id:key
        assert_eq!(elastic_secret(&h).as_deref(), Some("key"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Digest x"));
        assert_eq!(elastic_secret(&h), None);
    }

    #[test]
    fn index_names_select_the_app_and_maybe_the_environment() {
        assert_eq!(split_index("driver-location"), ("driver-location", None));
        assert_eq!(
            split_index("driver-location.staging"),
            ("driver-location", Some("staging"))
        );
    }

    #[test]
    fn a_gzip_bomb_is_refused_and_bad_gzip_is_a_400() {
        use std::io::Write;
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![b'a'; MAX_INFLATED_BYTES + 10])
            .expect("write");
        let bomb = enc.finish().expect("gzip");
        assert!(bomb.len() < MAX_BODY_BYTES);
        let e = body_bytes(&h, Bytes::from(bomb)).expect_err("too large");
        assert_eq!(e.status, StatusCode::PAYLOAD_TOO_LARGE);
        let e = body_bytes(&h, Bytes::from_static(b"not gzip")).expect_err("bad");
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn levels_are_ordered_for_the_filter() {
        assert!(level_rank("debug") < level_rank("info"));
        assert!(level_rank("warn") < level_rank("error"));
        assert!(level_rank("fatal") < level_rank("something-else"));
    }
}
