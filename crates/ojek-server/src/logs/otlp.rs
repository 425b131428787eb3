//! OTLP/HTTP logs ingest: `POST /v1/logs`, for OpenTelemetry SDKs and collectors.
//!
//! The body is an `ExportLogsServiceRequest`, binary protobuf (`application/x-protobuf`) or
//! OTLP/JSON (`application/json`), gzip when `Content-Encoding: gzip` says so. The producer
//! secret comes as `Authorization: Bearer <secret>` or `X-App-Secret` (exporters set headers
//! through `OTEL_EXPORTER_OTLP_HEADERS`). The app is the secret's own; a team secret names it
//! with each resource's `service.name`. The environment is the resource's
//! `deployment.environment.name` (or the older `deployment.environment`), else `X-Ojek-Env`.
//!
//! Each log record becomes one JSON line that [`Record::from_json`](ojek_logs::Record::from_json)
//! normalises, like a Barito line; records are stored per (app, environment) through the same
//! rate limit, level filter and write-ahead log as the other ingest endpoints.
//!
//! Answers follow the OTLP/HTTP specification: 200 with an `ExportLogsServiceResponse` in the
//! request's encoding (records dropped by the level filter counted in `partial_success`), and
//! on failure a `google.rpc.Status` body with 400 (undecodable or invalid: do not retry),
//! 401/403 (secret), 413 (too large), 415 (another content type), or 429/503 with
//! `Retry-After` (retry later). Everything is checked before anything is stored, except the
//! rate limit, which is taken per (app, environment) group as it is stored.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message as _;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::ingest::{
    IngestError, IngestResult, MAX_LINES, Producer, body_bytes, header_str, producer, store, store_error,
};
use crate::state::AppState;

/// How a request (and so its answer) is encoded, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    /// `application/x-protobuf` (or `application/protobuf`).
    Protobuf,
    /// `application/json`: the OTLP/JSON mapping.
    Json,
}

impl Encoding {
    fn of(headers: &HeaderMap) -> Option<Encoding> {
        let content_type = header_str(headers, header::CONTENT_TYPE.as_str())?;
        let media_type = content_type.split(';').next().unwrap_or_default().trim();
        if media_type.eq_ignore_ascii_case("application/x-protobuf")
            || media_type.eq_ignore_ascii_case("application/protobuf")
        {
            Some(Encoding::Protobuf)
        } else if media_type.eq_ignore_ascii_case("application/json") {
            Some(Encoding::Json)
        } else {
            None
        }
    }

    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        })
    }

    fn decode(self, bytes: &[u8]) -> IngestResult<ExportLogsServiceRequest> {
        match self {
            Encoding::Protobuf => ExportLogsServiceRequest::decode(bytes).map_err(|e| {
                IngestError::bad(format!(
                    "the body is not a protobuf ExportLogsServiceRequest: {e}"
                ))
            }),
            Encoding::Json => serde_json::from_slice(bytes).map_err(|e| {
                IngestError::bad(format!(
                    "the body is not an OTLP/JSON ExportLogsServiceRequest: {e}"
                ))
            }),
        }
    }

    fn respond(self, status: StatusCode, body: Vec<u8>, retry_after: Option<u64>) -> Response {
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, self.content_type());
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// `google.rpc.Status`, the body OTLP/HTTP gives every 4xx and 5xx answer (`details` left
/// out: the specification makes them optional).
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    /// A `google.rpc.Code`; informational, clients go by the HTTP status.
    #[prost(int32, tag = "1")]
    code: i32,
    /// What went wrong, for the developer reading the exporter's log.
    #[prost(string, tag = "2")]
    message: String,
}

/// `POST /v1/logs`.
pub(super) async fn export(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(encoding) = Encoding::of(&headers) else {
        let refusal = IngestError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the logs as Content-Type: application/x-protobuf or application/json",
        );
        return failure(Encoding::Json, refusal);
    };
    match export_logs(&state, &headers, body, encoding).await {
        Ok(response) => response,
        Err(refusal) => failure(encoding, refusal),
    }
}

/// Authenticates, decodes and checks the whole request, then stores it group by group.
async fn export_logs(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    encoding: Encoding,
) -> IngestResult<Response> {
    let secret = request_secret(headers).ok_or_else(|| {
        IngestError::new(
            StatusCode::UNAUTHORIZED,
            "no_secret",
            "send the producer secret as Authorization: Bearer <secret> or X-App-Secret \
             (OTEL_EXPORTER_OTLP_HEADERS sets exporters' headers)",
        )
    })?;
    // Authenticated before the body is read: strangers do not get it decoded.
    let own_app = secret_own_app(state, secret).await?;
    let body = body.map_err(|e| IngestError::new(e.status(), "bad_body", e.body_text()))?;
    let request = encoding.decode(&body_bytes(headers, body)?)?;
    let fixed_app = own_app.as_ref().map(|p| p.app.name.as_str());
    let groups = group_lines(&request, fixed_app, header_str(headers, "x-ojek-env"))?;
    let lines: usize = groups.iter().map(|g| g.lines.len()).sum();
    if lines > MAX_LINES {
        return Err(IngestError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("{lines} log records in one request; at most {MAX_LINES}"),
        ));
    }
    // Every group's app is authorised before any is stored (with an app's secret, all groups
    // are its app's).
    let mut producers: Vec<Producer> = own_app.into_iter().collect();
    let mut authorised = Vec::with_capacity(groups.len());
    for group in groups {
        let index = match producers.iter().position(|p| p.app.name == group.app) {
            Some(index) => index,
            None => {
                producers.push(producer(state, secret, Some(&group.app)).await?);
                producers.len() - 1
            }
        };
        authorised.push((index, group));
    }
    let mut filtered = 0;
    for (index, group) in authorised {
        let (_, dropped) = store(state, &producers[index], group.lines, Some(&group.env)).await?;
        filtered += dropped;
    }
    Ok(success(encoding, filtered))
}

/// `Authorization: Bearer <secret>`, else `X-App-Secret`.
fn request_secret(headers: &HeaderMap) -> Option<&str> {
    let bearer = header_str(headers, header::AUTHORIZATION.as_str()).and_then(|value| {
        let (scheme, token) = value.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    });
    bearer
        .or_else(|| header_str(headers, "x-app-secret"))
        .filter(|s| !s.is_empty())
}

/// The producer for an app's secret; `None` for a team's secret, whose app each resource's
/// `service.name` names. An unknown or revoked secret is a 401.
async fn secret_own_app(state: &AppState, secret: &str) -> IngestResult<Option<Producer>> {
    let found = state
        .store
        .log_secret_by_hash(&Sha256::digest(secret.as_bytes()))
        .await
        .map_err(store_error)?;
    if found.is_some_and(|s| s.app.is_none()) {
        Ok(None)
    } else {
        producer(state, secret, None).await.map(Some)
    }
}

/// The records of one app in one environment, as JSON lines.
#[derive(Debug)]
struct Group {
    app: String,
    env: String,
    lines: Vec<Map<String, Value>>,
}

/// What a resource says about where its logs come from, and the attributes left for each
/// record.
#[derive(Debug, Default)]
struct Origin {
    service: Option<String>,
    env: Option<String>,
    pod: Option<String>,
    host: Option<String>,
    attributes: Map<String, Value>,
}

impl Origin {
    fn of(resource: Option<&Resource>) -> Origin {
        let mut origin = Origin::default();
        let mut old_env = None;
        for kv in resource.map(|r| r.attributes.as_slice()).unwrap_or_default() {
            let text = kv
                .value
                .as_ref()
                .and_then(|v| match &v.value {
                    Some(any_value::Value::StringValue(s)) if !s.trim().is_empty() => Some(s.trim()),
                    _ => None,
                })
                .map(str::to_string);
            let slot = match kv.key.as_str() {
                "deployment.environment.name" => &mut origin.env,
                "deployment.environment" => &mut old_env,
                "k8s.pod.name" => &mut origin.pod,
                "host.name" => &mut origin.host,
                "service.name" => {
                    // Kept as an attribute too: with an app's secret it may name a part of the app.
                    origin.service = text.clone();
                    insert_attribute(&mut origin.attributes, kv);
                    continue;
                }
                _ => {
                    insert_attribute(&mut origin.attributes, kv);
                    continue;
                }
            };
            if text.is_some() {
                *slot = text;
            } else {
                insert_attribute(&mut origin.attributes, kv);
            }
        }
        origin.env = origin.env.or(old_env);
        origin
    }
}

/// The request's records as JSON lines grouped by (app, environment), in the order first
/// seen. The app is `fixed_app` (an app's secret) or the resource's `service.name`; the
/// environment the resource's, else `header_env`. A group without either is a 400.
fn group_lines(
    request: &ExportLogsServiceRequest,
    fixed_app: Option<&str>,
    header_env: Option<&str>,
) -> IngestResult<Vec<Group>> {
    let mut groups: Vec<Group> = Vec::new();
    for (r, resource_logs) in request.resource_logs.iter().enumerate() {
        let records = resource_logs
            .scope_logs
            .iter()
            .map(|s| s.log_records.len())
            .sum::<usize>();
        if records == 0 {
            continue;
        }
        let origin = Origin::of(resource_logs.resource.as_ref());
        let app = match (fixed_app, &origin.service) {
            (Some(app), _) => app.to_string(),
            (None, Some(service)) => service.clone(),
            (None, None) => {
                return Err(IngestError::bad(format!(
                    "resourceLogs[{r}]: a team's secret needs the app: set the resource attribute \
                     service.name to the app's name"
                )));
            }
        };
        let env = origin
            .env
            .clone()
            .or_else(|| header_env.map(str::to_string))
            .ok_or_else(|| {
                IngestError::bad(format!(
                    "resourceLogs[{r}]: no environment: set the resource attribute \
                     deployment.environment.name, or send an X-Ojek-Env header"
                ))
            })?;
        if !is_environment_name(&env) {
            return Err(IngestError::bad(format!(
                "resourceLogs[{r}]: `{env}` is not an environment name (lower-case letters, digits \
                 and dashes, at most 63)"
            )));
        }
        let index = match groups.iter().position(|g| g.app == app && g.env == env) {
            Some(index) => index,
            None => {
                groups.push(Group {
                    app,
                    env,
                    lines: Vec::new(),
                });
                groups.len() - 1
            }
        };
        for scope_logs in &resource_logs.scope_logs {
            let scope = scope_logs.scope.as_ref().map_or("", |s| s.name.as_str());
            for record in &scope_logs.log_records {
                groups[index].lines.push(log_line(&origin, scope, record));
            }
        }
    }
    Ok(groups)
}

/// The rule `store` applies to environments (`environment_of` in the ingest module), checked
/// here for every group first so that a bad one refuses the whole request.
fn is_environment_name(env: &str) -> bool {
    !env.is_empty()
        && env.len() <= 63
        && env
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// One log record as a JSON line in the shape `Record::from_json` reads: `@timestamp`
/// (nanoseconds), `message`, `level`, `host`, `pod`, then `trace_id`, `span_id`,
/// `otel.scope.name`, `event.name`, the record's attributes and the resource's. A key already
/// taken is not overwritten: built-in fields win over record attributes, and those over
/// resource attributes.
fn log_line(origin: &Origin, scope: &str, record: &LogRecord) -> Map<String, Value> {
    let mut line = Map::new();
    let nanos = match record.time_unix_nano {
        0 => record.observed_time_unix_nano,
        nanos => nanos,
    };
    if nanos > 0 {
        line.insert("@timestamp".into(), nanos.into());
    }
    if let Some(body) = record.body.as_ref().filter(|b| b.value.is_some()) {
        line.insert("message".into(), any_value_json(body));
    }
    let level = Some(record.severity_text.trim())
        .filter(|t| !t.is_empty())
        .or_else(|| severity_level(record.severity_number));
    if let Some(level) = level {
        line.insert("level".into(), level.into());
    }
    if let Some(host) = &origin.host {
        line.insert("host".into(), host.as_str().into());
    }
    if let Some(pod) = &origin.pod {
        line.insert("pod".into(), pod.as_str().into());
    }
    if let Some(trace_id) = hex_id(&record.trace_id) {
        line.insert("trace_id".into(), trace_id.into());
    }
    if let Some(span_id) = hex_id(&record.span_id) {
        line.insert("span_id".into(), span_id.into());
    }
    if !scope.is_empty() {
        line.insert("otel.scope.name".into(), scope.into());
    }
    if !record.event_name.is_empty() {
        line.insert("event.name".into(), record.event_name.as_str().into());
    }
    for kv in &record.attributes {
        insert_attribute(&mut line, kv);
    }
    for (key, value) in &origin.attributes {
        if !line.contains_key(key) {
            line.insert(key.clone(), value.clone());
        }
    }
    line
}

/// Adds an attribute under its own (dotted) key, unless the key is taken or it has no value.
fn insert_attribute(line: &mut Map<String, Value>, kv: &KeyValue) {
    let Some(value) = kv.value.as_ref().filter(|v| v.value.is_some()) else {
        return;
    };
    if !kv.key.is_empty() && !line.contains_key(&kv.key) {
        line.insert(kv.key.clone(), any_value_json(value));
    }
}

/// An `AnyValue` as JSON: maps as objects, arrays as arrays, bytes in base64, non-finite
/// doubles as their names.
fn any_value_json(value: &AnyValue) -> Value {
    use any_value::Value as V;
    match &value.value {
        None | Some(V::StringValueStrindex(_)) => Value::Null,
        Some(V::StringValue(s)) => Value::String(s.clone()),
        Some(V::BoolValue(b)) => Value::Bool(*b),
        Some(V::IntValue(i)) => Value::from(*i),
        Some(V::DoubleValue(d)) => {
            serde_json::Number::from_f64(*d).map_or_else(|| Value::String(d.to_string()), Value::Number)
        }
        Some(V::ArrayValue(array)) => Value::Array(array.values.iter().map(any_value_json).collect()),
        Some(V::KvlistValue(list)) => {
            let mut object = Map::new();
            for kv in &list.values {
                insert_attribute(&mut object, kv);
            }
            Value::Object(object)
        }
        Some(V::BytesValue(bytes)) => {
            use base64::Engine as _;
            Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
        }
    }
}

/// The level of an OpenTelemetry severity number (1–24), when the record has no severity text.
fn severity_level(number: i32) -> Option<&'static str> {
    Some(match number {
        1..=4 => "trace",
        5..=8 => "debug",
        9..=12 => "info",
        13..=16 => "warn",
        17..=20 => "error",
        21..=24 => "fatal",
        _ => return None,
    })
}

/// A trace or span id in lower-case hex; `None` when absent or all zeros (invalid in OTLP).
fn hex_id(bytes: &[u8]) -> Option<String> {
    if bytes.iter().all(|b| *b == 0) {
        return None;
    }
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// 200 with an `ExportLogsServiceResponse`; records the level filter dropped are reported as
/// rejected in `partial_success` (which also tells the exporter not to retry them).
fn success(encoding: Encoding, filtered: usize) -> Response {
    let partial = (filtered > 0).then(|| ExportLogsPartialSuccess {
        rejected_log_records: i64::try_from(filtered).unwrap_or(i64::MAX),
        error_message: format!("{filtered} log records were below the app's level filter and were dropped"),
    });
    let body = match encoding {
        Encoding::Protobuf => ExportLogsServiceResponse {
            partial_success: partial,
        }
        .encode_to_vec(),
        // By hand: the proto3 JSON mapping writes int64 as a string.
        Encoding::Json => match partial {
            Some(p) => json!({ "partialSuccess": {
                "rejectedLogRecords": p.rejected_log_records.to_string(),
                "errorMessage": p.error_message,
            }}),
            None => json!({}),
        }
        .to_string()
        .into_bytes(),
    };
    encoding.respond(StatusCode::OK, body, None)
}

/// A refusal as OTLP/HTTP wants it: the status, a `google.rpc.Status` body in the request's
/// encoding, and `Retry-After` when retrying later helps.
fn failure(encoding: Encoding, refusal: IngestError) -> Response {
    let status = RpcStatus {
        code: rpc_code(refusal.status),
        message: refusal.message,
    };
    let body = match encoding {
        Encoding::Protobuf => status.encode_to_vec(),
        Encoding::Json => json!({ "code": status.code, "message": status.message })
            .to_string()
            .into_bytes(),
    };
    encoding.respond(refusal.status, body, refusal.retry_after)
}

/// The `google.rpc.Code` closest to an HTTP status.
fn rpc_code(status: StatusCode) -> i32 {
    match status.as_u16() {
        400 | 413 | 415 => 3, // INVALID_ARGUMENT
        401 => 16,            // UNAUTHENTICATED
        403 => 7,             // PERMISSION_DENIED
        429 => 8,             // RESOURCE_EXHAUSTED
        503 => 14,            // UNAVAILABLE
        _ => 13,              // INTERNAL
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ojek_logs::Record;

    fn request(json: Value) -> ExportLogsServiceRequest {
        Encoding::Json
            .decode(json.to_string().as_bytes())
            .expect("an OTLP/JSON request")
    }

    fn kv(key: &str, value: &str) -> Value {
        json!({ "key": key, "value": { "stringValue": value } })
    }

    #[test]
    fn content_types_choose_the_encoding() {
        let mut headers = HeaderMap::new();
        assert_eq!(Encoding::of(&headers), None);
        for (content_type, encoding) in [
            ("application/x-protobuf", Some(Encoding::Protobuf)),
            ("Application/JSON; charset=utf-8", Some(Encoding::Json)),
            ("text/plain", None),
        ] {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            assert_eq!(Encoding::of(&headers), encoding, "{content_type}");
        }
    }

    #[test]
    fn secrets_come_from_a_bearer_token_or_x_app_secret() {
        let mut headers = HeaderMap::new();
        assert_eq!(request_secret(&headers), None);
        headers.insert("x-app-secret", HeaderValue::from_static("s1"));
        assert_eq!(request_secret(&headers), Some("s1"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("bearer  s2 "));
        assert_eq!(request_secret(&headers), Some("s2"));
    }

    #[test]
    fn records_become_lines_that_normalise_into_records() {
        let request = request(json!({ "resourceLogs": [{
            "resource": { "attributes": [
                kv("service.name", "checkout"),
                kv("deployment.environment", "staging"),
                kv("k8s.pod.name", "checkout-7d9f"),
                kv("host.name", "node-3"),
                kv("cloud.region", "ap-southeast-3"),
            ]},
            "scopeLogs": [{
                "scope": { "name": "payments" },
                "logRecords": [
                    {
                        "timeUnixNano": "1795593600123456789",
                        "severityNumber": 17,
                        "body": { "stringValue": "card declined" },
                        "traceId": "5B8EFFF798038103D269B633813FC60C",
                        "spanId": "EEE19B7EC3C1B174",
                        "attributes": [
                            { "key": "http.status_code", "value": { "intValue": "402" } },
                            { "key": "cloud.region", "value": { "stringValue": "overridden" } },
                            { "key": "cart", "value": { "kvlistValue": { "values": [
                                { "key": "items", "value": { "intValue": 3 } },
                                { "key": "total", "value": { "doubleValue": 12.5 } },
                            ]}}},
                        ],
                    },
                    {
                        "observedTimeUnixNano": "1795593601000000000",
                        "severityText": "Warning",
                        "severityNumber": 9,
                        "body": { "kvlistValue": { "values": [kv("event", "retry")] } },
                        "traceId": "00000000000000000000000000000000",
                    },
                ],
            }],
        }]}));
        let groups = group_lines(&request, None, Some("production")).expect("groups");
        assert_eq!(groups.len(), 1);
        assert_eq!(
            (groups[0].app.as_str(), groups[0].env.as_str()),
            ("checkout", "staging")
        );
        let records: Vec<Record> = groups[0]
            .lines
            .iter()
            .map(|line| Record::from_json(line.clone(), "checkout", "staging", 7))
            .collect();
        let first = &records[0];
        assert_eq!(first.timestamp, 1_795_593_600_123);
        assert_eq!(first.message, "card declined");
        assert_eq!(first.level.as_deref(), Some("error"));
        assert_eq!(first.pod.as_deref(), Some("checkout-7d9f"));
        assert_eq!(first.host.as_deref(), Some("node-3"));
        assert_eq!(
            Value::Object(first.attrs.clone()),
            json!({
                "trace_id": "5b8efff798038103d269b633813fc60c",
                "span_id": "eee19b7ec3c1b174",
                "otel.scope.name": "payments",
                "http.status_code": 402,
                "cloud.region": "overridden",
                "cart": { "items": 3, "total": 12.5 },
                "service.name": "checkout",
            })
        );
        let second = &records[1];
        assert_eq!(second.timestamp, 1_795_593_601_000);
        assert_eq!(second.message, r#"{"event":"retry"}"#);
        assert_eq!(
            second.level.as_deref(),
            Some("warn"),
            "the text wins over the number"
        );
        assert!(!second.attrs.contains_key("trace_id"), "an all-zero id is no id");
    }

    #[test]
    fn apps_and_environments_group_the_records() {
        let resource = |service: &str, env: Option<&str>| {
            let mut attributes = vec![kv("service.name", service)];
            attributes.extend(env.map(|e| kv("deployment.environment.name", e)));
            json!({
                "resource": { "attributes": attributes },
                "scopeLogs": [{ "logRecords": [{ "body": { "stringValue": service } }] }],
            })
        };
        let request = request(json!({ "resourceLogs": [
            resource("a", Some("staging")),
            resource("b", None),
            resource("a", Some("staging")),
            { "resource": {}, "scopeLogs": [] },
        ]}));
        let groups = group_lines(&request, None, Some("production")).expect("groups");
        let summary: Vec<_> = groups
            .iter()
            .map(|g| (g.app.as_str(), g.env.as_str(), g.lines.len()))
            .collect();
        assert_eq!(summary, [("a", "staging", 2), ("b", "production", 1)]);
        // An app's secret decides the app, whatever service.name says.
        let groups = group_lines(&request, Some("shop"), Some("production")).expect("groups");
        assert_eq!(groups.len(), 2);
        assert!(groups.iter().all(|g| g.app == "shop"));
        // No environment anywhere, or a bad one: refused.
        let e = group_lines(&request, None, None).expect_err("no environment");
        assert!(
            e.message.contains("resourceLogs[1]: no environment"),
            "{}",
            e.message
        );
        let e = group_lines(&request, None, Some("Prod")).expect_err("bad environment");
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn severity_numbers_map_to_levels() {
        let levels: Vec<_> = [0, 1, 4, 5, 9, 12, 13, 17, 21, 24, 25]
            .into_iter()
            .map(severity_level)
            .collect();
        assert_eq!(
            levels,
            [
                None,
                Some("trace"),
                Some("trace"),
                Some("debug"),
                Some("info"),
                Some("info"),
                Some("warn"),
                Some("error"),
                Some("fatal"),
                Some("fatal"),
                None
            ]
        );
    }

    #[test]
    fn failures_carry_a_status_in_the_request_encoding() {
        let mut refusal = IngestError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "slow down");
        refusal.retry_after = Some(3);
        let response = failure(Encoding::Protobuf, refusal);
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/x-protobuf");
        assert_eq!(response.headers()[header::RETRY_AFTER], "3");
        let response = success(Encoding::Json, 2);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    }
}
