//! OTLP/HTTP logs ingest (`POST /v1/logs`) through real clients: the Python OpenTelemetry SDK
//! with its OTLP/HTTP exporter (protobuf, gzip, bearer secret), `curl` with OTLP/JSON (a team's
//! secret in `X-App-Secret`, the app from `service.name`, the environment from `X-Ojek-Env`),
//! and Google's protobuf library reading the answers; bad input (garbage protobuf, bad JSON,
//! unknown secrets, another team's app, no or a bad environment, other content types), each a
//! 4xx with a `google.rpc.Status` and nothing of the request stored; the rate limit (429 with
//! `Retry-After`) and the level filter (reported as a partial success).

#[macro_use]
mod common;

use std::process::{Command, Output};

use common::{Db, TestServer, create_driver_location};
use ojek_logs::{Record, parse};
use ojek_logstore::index::{SearchRequest, Stream};
use ojek_store::{Actor, LogSettings, Role};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

both!(otlp_ingest);

const SECRET: &str = "ojek-otlp-secret-for-tests-0123456789";
const TEAM_SECRET: &str = "ojek-otlp-team-secret-for-tests-0123";
const OTHER_TEAM_SECRET: &str = "ojek-otlp-other-team-secret-0123456";
const APP: &str = "driver-location";

fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Every record of the app in `env` matching `query`, after the store committed what it
/// acknowledged; oldest first.
fn stored(s: &TestServer, env: &str, query: &str) -> Vec<Record> {
    let logs = s.server.state.logs.clone().expect("logs");
    logs.store.flush().expect("flush");
    let req = SearchRequest {
        streams: vec![Stream {
            app: APP.into(),
            env: env.into(),
        }],
        query: parse(query).expect("query"),
        from_ms: 0,
        to_ms: i64::MAX / 4,
    };
    let mut records = logs
        .store
        .index()
        .search(&req, 10_000, None)
        .expect("search")
        .records;
    records.reverse();
    records
}

/// What `curl` got back.
#[derive(Debug)]
struct Answer {
    status: u16,
    content_type: String,
    retry_after: String,
    body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// `curl -X POST url` with `headers` and the body in a file.
async fn post(url: &str, headers: &[String], body: &[u8]) -> Answer {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("body");
    std::fs::write(&file, body).expect("write body");
    let mut args = vec![
        "-s".to_string(),
        "-o".into(),
        "-".into(),
        "-w".into(),
        "\n%{http_code}\t%{content_type}\t%header{retry-after}".into(),
        "-X".into(),
        "POST".into(),
        url.into(),
        "--data-binary".into(),
        format!("@{}", file.display()),
    ];
    for h in headers {
        args.push("-H".into());
        args.push(h.clone());
    }
    let out = tokio::task::spawn_blocking(move || Command::new("curl").args(&args).output())
        .await
        .expect("join")
        .expect("curl");
    let newline = out
        .stdout
        .iter()
        .rposition(|b| *b == b'\n')
        .expect("curl's trailer");
    let trailer = String::from_utf8_lossy(&out.stdout[newline + 1..]).into_owned();
    let mut fields = trailer.split('\t');
    let mut next = || fields.next().unwrap_or_default().trim().to_string();
    Answer {
        status: next().parse().expect("status"),
        content_type: next(),
        retry_after: next(),
        body: out.stdout[..newline].to_vec(),
    }
}

/// Runs against a server as `python3 -c SCRIPT MODE URL SECRET [N]`:
///
/// - `sdk`: the OpenTelemetry SDK's `LoggerProvider` with a `BatchLogRecordProcessor` and the
///   OTLP/HTTP exporter (gzip, `Authorization: Bearer`) logs N records at four severities
///   (the last only by number), with attributes, one in a span, plus one structured body;
///   prints each export's size and result.
/// - `raw`: posts garbage protobuf and then a debug and an info record as protobuf with
///   `requests`, and reads the answers with the protobuf classes (`google.rpc.Status`,
///   `ExportLogsServiceResponse`).
///
/// Exits 3 when a Python package is missing.
const PYTHON: &str = r#"
import json, sys
try:
    import requests
    from google.rpc.status_pb2 import Status
    from opentelemetry import trace
    from opentelemetry._logs import SeverityNumber
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
        ExportLogsServiceRequest, ExportLogsServiceResponse)
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.resources import Resource
except ImportError as e:
    print(f"missing Python package: {e}", file=sys.stderr)
    sys.exit(3)

mode, url, secret = sys.argv[1], sys.argv[2], sys.argv[3]
T0 = 1_795_593_600_000_000_000

def sdk(n):
    results = []
    class Recording(OTLPLogExporter):
        def export(self, batch):
            result = super().export(batch)
            results.append([len(batch), result.name])
            return result
    exporter = Recording(endpoint=f"{url}/v1/logs", headers={"authorization": f"Bearer {secret}"},
                         compression=Compression.Gzip, timeout=20)
    provider = LoggerProvider(resource=Resource.create({
        "service.name": "driver-location-worker",
        "deployment.environment.name": "staging",
        "k8s.pod.name": "driver-location-worker-7d9f",
        "host.name": "node-3",
    }))
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter, max_export_batch_size=16))
    logger = provider.get_logger("checkout.payments")
    severities = [(SeverityNumber.INFO, "INFO"), (SeverityNumber.WARN, "WARN"),
                  (SeverityNumber.ERROR, "ERROR"), (SeverityNumber.DEBUG2, None)]
    span = trace.NonRecordingSpan(trace.SpanContext(
        trace_id=0x5B8EFFF798038103D269B633813FC60C, span_id=0xEEE19B7EC3C1B174,
        is_remote=False, trace_flags=trace.TraceFlags(1)))
    in_span = trace.set_span_in_context(span)
    for i in range(n):
        number, text = severities[i % 4]
        logger.emit(timestamp=T0 + i * 1_000_000, severity_number=number, severity_text=text,
                    body=f"otel line {i} from python",
                    attributes={"http.status_code": 503 if i % 5 == 0 else 200, "user.id": f"u{i}"},
                    context=in_span if i == 0 else None)
    logger.emit(timestamp=T0 + n * 1_000_000, severity_number=SeverityNumber.INFO,
                body={"event": "checkout", "items": 3}, attributes={"structured": True})
    flushed = provider.force_flush()
    provider.shutdown()
    return {"flushed": flushed, "exports": results}

def raw():
    headers = {"content-type": "application/x-protobuf", "authorization": f"Bearer {secret}"}
    out = {}
    r = requests.post(f"{url}/v1/logs", data=b"\xff\xff\xff\xffnot protobuf", headers=headers, timeout=20)
    out["garbage"] = [r.status_code, r.headers.get("content-type"), Status.FromString(r.content).message]
    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    for key, value in [("service.name", "driver-location"), ("deployment.environment.name", "staging")]:
        attribute = resource_logs.resource.attributes.add()
        attribute.key = key
        attribute.value.string_value = value
    records = resource_logs.scope_logs.add().log_records
    for i, (number, text) in enumerate([(5, "DEBUG"), (9, "INFO")]):
        record = records.add()
        record.time_unix_nano = T0 + 3_600_000_000_000 + i
        record.severity_number = number
        record.severity_text = text
        record.body.string_value = f"raw protobuf {text.lower()}"
    r = requests.post(f"{url}/v1/logs", data=request.SerializeToString(), headers=headers, timeout=20)
    answer = ExportLogsServiceResponse.FromString(r.content)
    out["filtered"] = [r.status_code, r.headers.get("content-type"),
                       answer.partial_success.rejected_log_records, answer.partial_success.error_message]
    return out

print(json.dumps(sdk(int(sys.argv[4])) if mode == "sdk" else raw()))
"#;

/// The script's answer; `None` (after a note, or a failure in CI) when a package is missing.
async fn python(args: Vec<String>) -> Option<Value> {
    let out: Output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg("-c")
            .arg(PYTHON)
            .args(&args)
            .output()
            .expect("python3")
    })
    .await
    .expect("join");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.code() == Some(3) && stderr.contains("missing Python package") {
        common::skip(&format!(
            "{} (scripts/install-test-deps.sh installs tools/validate/requirements.txt)",
            stderr.trim()
        ));
        return None;
    }
    assert!(out.status.success(), "python failed: {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let last = stdout.lines().last().unwrap_or_default();
    Some(serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}")))
}

fn attr<'a>(record: &'a Record, key: &str) -> Option<&'a Value> {
    record.attrs.get(key)
}

async fn otlp_ingest(db: Db) {
    let Some(s) = common::server(db, false).await else {
        return;
    };
    let store = s.store().clone();
    let team = s.team("fulfilment").await;
    let other = s.team("other").await;
    let editor = s.user("edna", false).await;
    s.member(&team, &editor, Role::Editor).await;
    let client = s.session(&editor).await;
    create_driver_location(&client).await;
    for (team_id, app, name, secret) in [
        (team.id, Some(APP), "otel", SECRET),
        (team.id, None, "team", TEAM_SECRET),
        (other.id, None, "other", OTHER_TEAM_SECRET),
    ] {
        store
            .create_log_secret(team_id, app, name, &hash(secret), &Actor::system())
            .await
            .expect("secret");
    }
    let base = s.url("");
    let endpoint = s.url("/v1/logs");

    // The Python SDK: protobuf, gzip, the app's secret as a bearer token; the app is the
    // secret's (service.name names a part of it), the environment the resource's.
    let n = 40;
    if let Some(answer) = python(vec!["sdk".into(), base.clone(), SECRET.into(), n.to_string()]).await {
        assert_eq!(answer["flushed"], true, "{answer}");
        let exports = answer["exports"].as_array().expect("exports");
        assert!(
            exports.iter().all(|e| e[1] == "SUCCESS"),
            "every export succeeds: {answer}"
        );
        let exported: u64 = exports.iter().filter_map(|e| e[0].as_u64()).sum();
        assert_eq!(exported, n + 1, "{answer}");
        assert!(exports.len() > 1, "several batches: {answer}");

        let all = stored(&s, "staging", "*");
        assert_eq!(all.len() as u64, n + 1);
        for level in ["info", "warn", "error", "debug"] {
            let query = format!("otel AND level:{level}");
            assert_eq!(stored(&s, "staging", &query).len(), 10, "{query}");
        }
        assert_eq!(stored(&s, "staging", "otel AND http.status_code:503").len(), 8);
        let first = &stored(&s, "staging", "\"otel line 0 from python\"")[0];
        assert_eq!((first.app.as_str(), first.env.as_str()), (APP, "staging"));
        assert_eq!(first.message, "otel line 0 from python");
        assert_eq!(first.timestamp, 1_795_593_600_000);
        assert_eq!(first.level.as_deref(), Some("info"));
        assert_eq!(first.pod.as_deref(), Some("driver-location-worker-7d9f"));
        assert_eq!(first.host.as_deref(), Some("node-3"));
        assert_eq!(
            attr(first, "trace_id"),
            Some(&json!("5b8efff798038103d269b633813fc60c"))
        );
        assert_eq!(attr(first, "span_id"), Some(&json!("eee19b7ec3c1b174")));
        assert_eq!(attr(first, "http.status_code"), Some(&json!(503)));
        assert_eq!(attr(first, "user.id"), Some(&json!("u0")));
        assert_eq!(attr(first, "otel.scope.name"), Some(&json!("checkout.payments")));
        assert_eq!(
            attr(first, "service.name"),
            Some(&json!("driver-location-worker"))
        );
        assert_eq!(attr(first, "telemetry.sdk.language"), Some(&json!("python")));
        for consumed in ["deployment.environment.name", "k8s.pod.name", "host.name"] {
            assert!(attr(first, consumed).is_none(), "{consumed}: {:?}", first.attrs);
        }
        let second = &stored(&s, "staging", "\"otel line 1 from python\"")[0];
        assert_eq!(second.timestamp, 1_795_593_600_001);
        assert!(attr(second, "trace_id").is_none(), "outside a span");
        // DEBUG2 without a severity text: the number gives the level.
        let third = &stored(&s, "staging", "\"otel line 3 from python\"")[0];
        assert_eq!(third.level.as_deref(), Some("debug"));
        let structured = all.last().expect("the structured record");
        assert_eq!(structured.message, r#"{"event":"checkout","items":3}"#);
        assert_eq!(attr(structured, "structured"), Some(&json!(true)));
    }

    // OTLP/JSON with curl: a team's secret in X-App-Secret, the app from service.name, the
    // environment from X-Ojek-Env; int64 as strings or numbers, hex ids, enums as ints.
    let body = json!({ "resourceLogs": [{
        "resource": { "attributes": [
            { "key": "service.name", "value": { "stringValue": APP } },
            { "key": "k8s.pod.name", "value": { "stringValue": "driver-location-web-1" } },
        ]},
        "scopeLogs": [{
            "scope": { "name": "curl" },
            "logRecords": [
                {
                    "timeUnixNano": "1795593700000000000",
                    "severityNumber": 17,
                    "body": { "stringValue": "json line one" },
                    "traceId": "5B8EFFF798038103D269B633813FC60C",
                    "spanId": "EEE19B7EC3C1B174",
                    "attributes": [
                        { "key": "http.route", "value": { "stringValue": "/drivers/{id}" } },
                        { "key": "retries", "value": { "intValue": "2" } },
                        { "key": "tags", "value": { "arrayValue": { "values": [
                            { "stringValue": "a" }, { "intValue": 7 } ] } } },
                        { "key": "cart", "value": { "kvlistValue": { "values": [
                            { "key": "items", "value": { "intValue": "3" } } ] } } },
                    ],
                },
                {
                    "observedTimeUnixNano": 1_795_593_701_000_000_000_u64,
                    "severityText": "Information",
                    "body": { "intValue": "42" },
                },
            ],
        }],
    }]});
    let team_headers = |secret: &str| {
        vec![
            "Content-Type: application/json".to_string(),
            format!("X-App-Secret: {secret}"),
            "X-Ojek-Env: production".into(),
        ]
    };
    let answer = post(&endpoint, &team_headers(TEAM_SECRET), body.to_string().as_bytes()).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.content_type, "application/json");
    assert_eq!(answer.json(), json!({}));
    let got = stored(&s, "production", "*");
    assert_eq!(got.len(), 2);
    let (one, two) = (&got[0], &got[1]);
    assert_eq!(one.message, "json line one");
    assert_eq!(one.timestamp, 1_795_593_700_000);
    assert_eq!(one.level.as_deref(), Some("error"));
    assert_eq!(one.pod.as_deref(), Some("driver-location-web-1"));
    assert_eq!(
        attr(one, "trace_id"),
        Some(&json!("5b8efff798038103d269b633813fc60c"))
    );
    assert_eq!(attr(one, "http.route"), Some(&json!("/drivers/{id}")));
    assert_eq!(attr(one, "retries"), Some(&json!(2)));
    assert_eq!(attr(one, "tags"), Some(&json!(["a", 7])));
    assert_eq!(attr(one, "cart"), Some(&json!({ "items": 3 })));
    assert_eq!(stored(&s, "production", "cart.items:3 AND retries:2").len(), 1);
    assert_eq!(two.message, "42");
    assert_eq!(two.timestamp, 1_795_593_701_000);
    assert_eq!(two.level.as_deref(), Some("info"));

    // Bad input: a 4xx with a google.rpc.Status, nothing of the request stored.
    let count = || stored(&s, "staging", "*").len() + stored(&s, "production", "*").len();
    let before = count();
    let protobuf = vec![
        "Content-Type: application/x-protobuf".to_string(),
        format!("Authorization: Bearer {SECRET}"),
    ];
    let answer = post(&endpoint, &protobuf, b"\xff\xff\xff\xffnot protobuf").await;
    assert_eq!(answer.status, 400, "{}", answer.text());
    assert_eq!(answer.content_type, "application/x-protobuf");
    assert!(answer.text().contains("not a protobuf"), "{}", answer.text());
    let mut gzip = protobuf.clone();
    gzip.push("Content-Encoding: gzip".into());
    let answer = post(&endpoint, &gzip, b"not gzip").await;
    assert_eq!(answer.status, 400, "{}", answer.text());
    let answer = post(&endpoint, &team_headers(TEAM_SECRET), b"{\"resourceLogs\": [").await;
    assert_eq!(answer.status, 400, "{}", answer.text());
    assert_eq!(answer.json()["code"], 3);
    assert!(
        answer.json()["message"]
            .as_str()
            .is_some_and(|m| m.contains("OTLP/JSON")),
        "{}",
        answer.text()
    );
    let valid = body.to_string();
    let answer = post(&endpoint, &team_headers("not-a-secret"), valid.as_bytes()).await;
    assert_eq!(answer.status, 401, "{}", answer.text());
    assert_eq!(answer.json()["code"], 16);
    let answer = post(
        &endpoint,
        &["Content-Type: application/json".into()],
        valid.as_bytes(),
    )
    .await;
    assert_eq!(answer.status, 401, "{}", answer.text());
    // Another team's secret cannot write the app's logs.
    let answer = post(&endpoint, &team_headers(OTHER_TEAM_SECRET), valid.as_bytes()).await;
    assert_eq!(answer.status, 403, "{}", answer.text());
    let mut text = team_headers(TEAM_SECRET);
    text[0] = "Content-Type: text/plain".into();
    let answer = post(&endpoint, &text, valid.as_bytes()).await;
    assert_eq!(answer.status, 415, "{}", answer.text());
    // No environment in the resource nor the request.
    let no_env = vec![
        "Content-Type: application/json".to_string(),
        format!("Authorization: Bearer {SECRET}"),
    ];
    let answer = post(&endpoint, &no_env, valid.as_bytes()).await;
    assert_eq!(answer.status, 400, "{}", answer.text());
    assert!(answer.text().contains("no environment"), "{}", answer.text());
    // A second resource with a bad environment refuses the first one's records too.
    let mut two_resources = body.clone();
    let mut bad = body["resourceLogs"][0].clone();
    bad["resource"]["attributes"]
        .as_array_mut()
        .expect("attributes")
        .push(json!({ "key": "deployment.environment.name", "value": { "stringValue": "Prod" } }));
    two_resources["resourceLogs"]
        .as_array_mut()
        .expect("resourceLogs")
        .push(bad);
    let answer = post(
        &endpoint,
        &team_headers(TEAM_SECRET),
        two_resources.to_string().as_bytes(),
    )
    .await;
    assert_eq!(answer.status, 400, "{}", answer.text());
    assert!(answer.text().contains("resourceLogs[1]"), "{}", answer.text());
    assert_eq!(count(), before, "nothing of a refused request is stored");
    // An empty request is a success.
    let answer = post(&endpoint, &team_headers(TEAM_SECRET), b"{}").await;
    assert_eq!((answer.status, answer.json()), (200, json!({})));

    // Rate limit (10 lines a second: 20 records are a 429 with Retry-After) and level filter
    // (a debug record dropped, reported as rejected in the partial success).
    store
        .set_log_settings(
            team.id,
            Some(APP),
            &LogSettings {
                retention_days: None,
                rate_limit: Some(10),
                level_filter: Some("info".into()),
            },
            &Actor::system(),
        )
        .await
        .expect("settings");
    let twenty: Vec<Value> = (0..20)
        .map(|i| json!({ "body": { "stringValue": format!("burst {i}") } }))
        .collect();
    let burst = json!({ "resourceLogs": [{
        "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": APP } }] },
        "scopeLogs": [{ "logRecords": twenty }],
    }]});
    let answer = post(
        &endpoint,
        &team_headers(TEAM_SECRET),
        burst.to_string().as_bytes(),
    )
    .await;
    assert_eq!(answer.status, 429, "{}", answer.text());
    assert!(
        answer.retry_after.parse::<u64>().is_ok_and(|s| s >= 1),
        "{answer:?}"
    );
    assert_eq!(answer.json()["code"], 8);
    assert!(stored(&s, "production", "burst").is_empty());
    if let Some(answer) = python(vec!["raw".into(), base.clone(), SECRET.into()]).await {
        let garbage = &answer["garbage"];
        assert_eq!(
            (&garbage[0], &garbage[1]),
            (&json!(400), &json!("application/x-protobuf"))
        );
        assert!(
            garbage[2].as_str().is_some_and(|m| m.contains("not a protobuf")),
            "{answer}"
        );
        let filtered = &answer["filtered"];
        assert_eq!(
            (&filtered[0], &filtered[1], &filtered[2]),
            (&json!(200), &json!("application/x-protobuf"), &json!(1)),
            "{answer}"
        );
        assert!(
            filtered[3].as_str().is_some_and(|m| m.contains("level filter")),
            "{answer}"
        );
        assert_eq!(stored(&s, "staging", "raw AND protobuf").len(), 1);
        assert_eq!(stored(&s, "staging", "raw AND level:info").len(), 1);
    }
}
