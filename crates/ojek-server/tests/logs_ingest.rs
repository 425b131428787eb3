//! Log ingest through real clients: `curl` for Barito's `/produce` and `/produce_batch`
//! (plain and gzip), the Python `elasticsearch` client's bulk helper for `_bulk`; and bad
//! input (malformed JSON, bad gzip, oversized bodies, unknown secrets, another team's app,
//! over the rate limit), each a clear 4xx with nothing of the request stored.

#[macro_use]
mod common;

use std::process::Command;

use common::{Db, TestServer, create_driver_location};
use ojek_logs::{Record, parse};
use ojek_logstore::index::{SearchRequest, Stream};
use ojek_store::{Actor, LogSettings, Role};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

both!(barito_and_elasticsearch_ingest);

const SECRET: &str = "ojek-log-secret-for-tests-0123456789";
const TEAM_SECRET: &str = "ojek-team-log-secret-for-tests-0123";

fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Every record of `app` in `env`, after the store committed what it acknowledged.
fn stored(s: &TestServer, app: &str, env: &str, query: &str) -> Vec<Record> {
    let logs = s.server.state.logs.clone().expect("logs");
    logs.store.flush().expect("flush");
    let req = SearchRequest {
        streams: vec![Stream {
            app: app.into(),
            env: env.into(),
        }],
        query: parse(query).expect("query"),
        from_ms: 0,
        to_ms: i64::MAX / 4,
    };
    logs.store
        .index()
        .search(&req, 10_000, None)
        .expect("search")
        .records
}

fn curl(args: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-s", "-o", "-", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

async fn curl_async(args: Vec<String>) -> (u16, String) {
    tokio::task::spawn_blocking(move || {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        curl(&a)
    })
    .await
    .expect("join")
}

fn python_bulk(url: &str, secret: &str, index: &str, n: usize) -> std::process::Output {
    let script = r#"
import sys
from elasticsearch import Elasticsearch, helpers
url, secret, index, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
es = Elasticsearch(url, basic_auth=("shipper", secret), request_timeout=30)
info = es.info()
assert info["tagline"] == "You Know, for Search", info
docs = ({"_index": index, "_source": {"@timestamp": "2026-11-25T10:00:%02d.%03dZ" % (i // 1000 % 60, i % 1000),
         "message": "bulk line %d from python" % i, "level": "INFO" if i % 3 else "ERROR",
         "http": {"status": 200 if i % 4 else 503}}} for i in range(n))
ok, errors = helpers.bulk(es, docs, chunk_size=250)
print(ok, len(errors))
"#;
    Command::new("python3")
        .args(["-c", script, url, secret, index, &n.to_string()])
        .output()
        .expect("python3")
}

async fn barito_and_elasticsearch_ingest(db: Db) {
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
    s.log_secret(&team, Some("driver-location"), "fluent-bit", SECRET)
        .await;
    store
        .create_log_secret(team.id, None, "team", &hash(TEAM_SECRET), &Actor::system())
        .await
        .expect("team secret");
    let base = s.url("");
    let url = |path: &str| format!("{base}{path}");

    // Barito /produce with the app's secret and the environment in a header.
    let (code, body) = curl_async(vec![
        "-X".into(),
        "POST".into(),
        url("/produce"),
        "-H".into(),
        format!("X-App-Secret: {SECRET}"),
        "-H".into(),
        "X-Ojek-Env: staging".into(),
        "-H".into(),
        "Content-Type: application/json".into(),
        "-d".into(),
        r#"{"@timestamp":"2026-11-25T08:00:00Z","message":"driver 42 location updated","level":"info","pod":"driver-location-web-1"}"#.into(),
    ])
    .await;
    assert_eq!(code, 200, "{body}");
    let got = stored(&s, "driver-location", "staging", "location");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].timestamp, 1_795_593_600_000);
    assert_eq!(got[0].pod.as_deref(), Some("driver-location-web-1"));

    // /produce_batch, gzip, with the team secret naming the app; environment per line.
    let batch = json!({ "items": (0..50).map(|i| json!({
        "time": 1_795_593_600 + i, "msg": format!("batch line {i}"), "env": "production", "level": "warn"
    })).collect::<Vec<_>>() });
    let dir = tempfile::tempdir().expect("dir");
    let gz = dir.path().join("batch.json.gz");
    {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(batch.to_string().as_bytes()).expect("gzip");
        std::fs::write(&gz, enc.finish().expect("gzip")).expect("write");
    }
    let (code, body) = curl_async(vec![
        "-X".into(),
        "POST".into(),
        url("/produce_batch"),
        "-H".into(),
        format!("X-App-Group-Secret: {TEAM_SECRET}"),
        "-H".into(),
        "X-App-Name: driver-location".into(),
        "-H".into(),
        "Content-Encoding: gzip".into(),
        "--data-binary".into(),
        format!("@{}", gz.display()),
    ])
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).expect("json")["stored"], 50);
    assert_eq!(stored(&s, "driver-location", "production", "batch").len(), 50);

    // The Python Elasticsearch client: info, then the bulk helper into <app>.<env>.
    let out = tokio::task::spawn_blocking({
        let base = base.clone();
        move || python_bulk(&base, SECRET, "driver-location.staging", 1_000)
    })
    .await
    .expect("join");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let missing = stderr.contains("No module named 'elasticsearch'");
    assert!(
        out.status.success() || (missing && !common::in_ci()),
        "python bulk failed: {stderr}"
    );
    if out.status.success() {
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1000 0");
        assert_eq!(stored(&s, "driver-location", "staging", "python").len(), 1_000);
        assert_eq!(
            stored(&s, "driver-location", "staging", "python AND level:error").len(),
            334
        );
        assert_eq!(
            stored(&s, "driver-location", "staging", "python AND http.status:503").len(),
            250
        );
    } else {
        common::skip("the Python elasticsearch client is missing (scripts/install-test-deps.sh installs it)");
    }

    // Bad input: each a clear 4xx, nothing of the request stored.
    let before = stored(&s, "driver-location", "staging", "*").len();
    let post = |path: &str, headers: Vec<String>, data: &str| {
        let mut args = vec!["-X".to_string(), "POST".into(), url(path)];
        for h in headers {
            args.push("-H".into());
            args.push(h);
        }
        args.push("--data-binary".into());
        args.push(data.to_string());
        curl_async(args)
    };
    let app_secret = vec![
        format!("X-App-Secret: {SECRET}"),
        "X-Ojek-Env: staging".to_string(),
    ];
    let (code, body) = post("/produce", app_secret.clone(), "{not json").await;
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("not valid JSON"), "{body}");
    let (code, body) = post(
        "/produce_batch",
        app_secret.clone(),
        r#"{"items":[{"message":"good"},"not an object"]}"#,
    )
    .await;
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("items[1]"), "{body}");
    let mut gz_headers = app_secret.clone();
    gz_headers.push("Content-Encoding: gzip".into());
    let (code, body) = post("/produce", gz_headers, "not gzip at all").await;
    assert_eq!(code, 400, "{body}");
    let (code, body) = post(
        "/produce",
        vec!["X-App-Secret: wrong".into(), "X-Ojek-Env: staging".into()],
        r#"{"message":"x"}"#,
    )
    .await;
    assert_eq!(code, 401, "{body}");
    let (code, body) = post(
        "/produce",
        vec![format!("X-App-Secret: {SECRET}")],
        r#"{"message":"no env"}"#,
    )
    .await;
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("no environment"), "{body}");
    // A team secret cannot produce for another team's app (nor one that does not exist).
    let other_secret = "another-teams-secret-0123456789abcdef";
    store
        .create_log_secret(other.id, None, "other", &hash(other_secret), &Actor::system())
        .await
        .expect("other team's secret");
    let (code, body) = post(
        "/produce",
        vec![
            format!("X-App-Group-Secret: {other_secret}"),
            "X-App-Name: driver-location".into(),
            "X-Ojek-Env: staging".into(),
        ],
        r#"{"message":"sneaky"}"#,
    )
    .await;
    assert_eq!(code, 403, "{body}");
    // A bulk body with one malformed source line stores none of its lines.
    let bulk = "{\"index\":{}}\n{\"message\":\"bulk good\"}\n{\"index\":{}}\n{oops\n";
    let (code, body) = curl_async(vec![
        "-X".into(),
        "POST".into(),
        url("/driver-location.staging/_bulk"),
        "-u".into(),
        format!("shipper:{SECRET}"),
        "-H".into(),
        "Content-Type: application/x-ndjson".into(),
        "--data-binary".into(),
        bulk.into(),
    ])
    .await;
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("line 4"), "{body}");
    // Oversized: over the 16 MiB body limit.
    let big = dir.path().join("big.json");
    std::fs::write(
        &big,
        format!("{{\"message\":\"{}\"}}", "x".repeat(17 * 1024 * 1024)),
    )
    .expect("write");
    let mut args = vec!["-X".to_string(), "POST".into(), url("/produce")];
    for h in &app_secret {
        args.push("-H".into());
        args.push(h.clone());
    }
    args.push("--data-binary".into());
    args.push(format!("@{}", big.display()));
    let (code, body) = curl_async(args).await;
    assert_eq!(code, 413, "{body}");
    assert!(
        body.contains("the limit is 16777216"),
        "refused before the body is read: {body}"
    );
    assert_eq!(
        stored(&s, "driver-location", "staging", "*").len(),
        before,
        "nothing of a refused request is stored"
    );

    // Rate limit: 10 lines per second; a batch of 20 is refused with Retry-After.
    store
        .set_log_settings(
            team.id,
            Some("driver-location"),
            &LogSettings {
                retention_days: None,
                rate_limit: Some(10),
                level_filter: Some("info".into()),
            },
            &Actor::system(),
        )
        .await
        .expect("settings");
    let twenty =
        json!({ "items": (0..20).map(|i| json!({"message": format!("burst {i}")})).collect::<Vec<_>>() });
    let out = tokio::task::spawn_blocking({
        let u = url("/produce_batch");
        let body = twenty.to_string();
        move || {
            Command::new("curl")
                .args([
                    "-s",
                    "-i",
                    "-X",
                    "POST",
                    &u,
                    "-H",
                    &format!("X-App-Secret: {SECRET}"),
                ])
                .args(["-H", "X-Ojek-Env: staging", "--data-binary", &body])
                .output()
                .expect("curl")
        }
    })
    .await
    .expect("join");
    let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
    assert!(text.starts_with("http/1.1 429"), "{text}");
    assert!(text.contains("retry-after: "), "{text}");
    // Within the limit, and the level filter drops debug lines.
    let (code, body) = post(
        "/produce_batch",
        app_secret.clone(),
        r#"{"items":[{"message":"kept info","level":"info"},{"message":"dropped","level":"debug"}]}"#,
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        (answer["stored"].as_u64(), answer["filtered"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(stored(&s, "driver-location", "staging", "kept").len(), 1);
    assert!(stored(&s, "driver-location", "staging", "dropped").is_empty());
}
