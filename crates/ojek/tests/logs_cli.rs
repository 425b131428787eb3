//! `ojek logs …` against a real server (started in the test, SQLite, demo data): lines shipped
//! to Barito's `/produce_batch` are found by `ojek logs search` (newest first, multi-line
//! messages indented, `--json` records across several cursor pages), a bad query exits 2
//! naming its column, and `ojek logs tail` prints a line shipped after it started and stops
//! cleanly on Ctrl-C. The lines go to their own environment, away from the demo's generated
//! ones.

mod common;

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use ojek_server::auth::{TOKEN_PREFIX, now_ms};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

const SECRET: &str = "ojek_log_cli-test-secret-0123456789abcdef";
const TOKEN: &str = "cli-logs-token-0123456789abcdef";
/// The environment the test ships to (the demo writes to staging and production).
const ENV: &str = "cli-test";

fn ojek(server: &str, token: &str) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_ojek"));
    cmd.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .env("OJEK_SERVER", server)
        .env("OJEK_TOKEN", token)
        .kill_on_drop(true);
    cmd
}

async fn run(server: &str, token: &str, args: &[&str]) -> Output {
    ojek(server, token).args(args).output().await.expect("run ojek")
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

async fn produce(url: &str, lines: &[Value]) {
    let resp = reqwest::Client::new()
        .post(format!("{url}/produce_batch"))
        .header("X-App-Secret", SECRET)
        .header("X-Ojek-Env", ENV)
        .json(&json!({ "items": lines }))
        .send()
        .await
        .expect("produce");
    let status = resp.status().as_u16();
    assert_eq!(status, 200, "{}", resp.text().await.unwrap_or_default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_commands_work_against_a_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = ojek_server::Config::new(dir.path().join("data"));
    config.listen = ([127, 0, 0, 1], 0).into();
    config.demo = true;
    config.admin_password = Some("admin-password-for-tests".into());
    let server = ojek_server::start(config).await.expect("server");
    let url = format!("http://{}", server.addr);
    let store = server.state.store.clone();

    // A producer secret for driver-location (team fulfilment), and a viewer token of ana's.
    common::log_secret(&store, "fulfilment", "driver-location", "cli", SECRET).await;
    let token = format!("{TOKEN_PREFIX}{TOKEN}");
    common::viewer_token(&store, "ana", "fulfilment", "cli-logs", &token).await;

    // 1,200 lines over the last 20 minutes, one a second; every third an error; one of them
    // with a stack trace.
    let now = now_ms();
    let lines: Vec<Value> = (0..1200)
        .map(|i| {
            let message = if i == 1197 {
                "request 1197 failed\n\tat Ping.send(Ping.java:12)\n\tat Main.main(Main.java:3)".to_string()
            } else {
                format!("request {i} {}", if i % 3 == 0 { "failed" } else { "ok" })
            };
            json!({
                "@timestamp": now - 1_200_000 + i * 1000,
                "message": message,
                "level": if i % 3 == 0 { "error" } else { "info" },
                "id": format!("line-{i}"),
            })
        })
        .collect();
    produce(&url, &lines).await;
    server
        .state
        .logs
        .clone()
        .expect("logs")
        .store
        .flush()
        .expect("flush");

    // Newest first, one line each, the stack trace indented under its record.
    let o = run(
        &url,
        &token,
        &[
            "logs",
            "search",
            "--app",
            "driver-location",
            "--env",
            ENV,
            "--since",
            "1h",
            "--limit",
            "4",
        ],
    )
    .await;
    assert!(o.status.success(), "{}", err(&o));
    let time = |i: i64| {
        chrono::DateTime::from_timestamp_millis(now - 1_200_000 + i * 1000)
            .expect("time")
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string()
    };
    assert_eq!(
        out(&o),
        format!(
            "{} driver-location/cli-test INFO  request 1199 ok\n\
             {} driver-location/cli-test INFO  request 1198 ok\n\
             {} driver-location/cli-test ERROR request 1197 failed\n\
             \x20   \tat Ping.send(Ping.java:12)\n\
             \x20   \tat Main.main(Main.java:3)\n\
             {} driver-location/cli-test INFO  request 1196 ok\n",
            time(1199),
            time(1198),
            time(1197),
            time(1196)
        )
    );

    // --json: records as NDJSON, across several pages (the server's pages hold 1,000).
    let o = run(
        &url,
        &token,
        &[
            "logs",
            "search",
            "level:info OR level:error",
            "--app",
            "driver-location",
            "--env",
            ENV,
            "--limit",
            "1150",
            "--json",
        ],
    )
    .await;
    assert!(o.status.success(), "{}", err(&o));
    let records: Vec<Value> = out(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON record per line"))
        .collect();
    assert_eq!(records.len(), 1150);
    let ids: Vec<&str> = records
        .iter()
        .map(|r| r["attrs"]["id"].as_str().expect("id"))
        .collect();
    let expected: Vec<String> = (50..1200).rev().map(|i| format!("line-{i}")).collect();
    assert_eq!(ids, expected, "newest first, no repeats, no gaps between pages");

    // A query narrows the search; everything there is is fewer than the limit.
    let o = run(
        &url,
        &token,
        &[
            "logs",
            "search",
            "level:error AND failed",
            "--app",
            "driver-location",
            "--env",
            ENV,
            "--limit",
            "1000",
        ],
    )
    .await;
    assert!(o.status.success(), "{}", err(&o));
    let records = out(&o).lines().filter(|l| !l.starts_with(' ')).count();
    assert_eq!(records, 400, "{}", out(&o));

    // A bad query: exit 2 with the server's message and the column.
    let o = run(
        &url,
        &token,
        &["logs", "search", "level:error AND (", "--app", "driver-location"],
    )
    .await;
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(
        err(&o).starts_with("error: 400 the query cannot be read: column "),
        "{}",
        err(&o)
    );
    assert!(err(&o).contains("level:error AND ("), "{}", err(&o));
    // Another team's app is not there for this token.
    let o = run(&url, &token, &["logs", "search", "--app", "payments"]).await;
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(err(&o).starts_with("error: 404 "), "{}", err(&o));

    // Histogram and top values.
    let o = run(
        &url,
        &token,
        &["logs", "top", "level", "--app", "driver-location", "--env", ENV],
    )
    .await;
    assert!(o.status.success(), "{}", err(&o));
    let top: Vec<String> = out(&o)
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(top, ["800 info", "400 error"], "{}", out(&o));
    let o = run(
        &url,
        &token,
        &[
            "logs",
            "histogram",
            "--app",
            "driver-location",
            "--env",
            ENV,
            "--since",
            "30m",
            "--buckets",
            "6",
        ],
    )
    .await;
    assert!(o.status.success(), "{}", err(&o));
    assert!(out(&o).ends_with("1200 record(s)\n"), "{}", out(&o));
    assert_eq!(out(&o).lines().count(), 7, "{}", out(&o));

    // Live tail: errors only; it prints the error shipped after it started, not the info line
    // before it, and Ctrl-C ends it with success.
    let mut child = ojek(&url, &token)
        .args([
            "logs",
            "tail",
            "level:error",
            "--app",
            "driver-location",
            "--env",
            ENV,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ojek logs tail");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let started = tokio::time::timeout(Duration::from_secs(20), stderr.next_line())
        .await
        .expect("ojek logs tail connects within 20 s")
        .expect("stderr");
    assert_eq!(
        started.as_deref(),
        Some("ojek: following new records (Ctrl-C stops)")
    );
    produce(
        &url,
        &[
            json!({ "message": "tail quiet line", "level": "info" }),
            json!({ "message": "tail caught this\nsecond line", "level": "error" }),
        ],
    )
    .await;
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let line = tokio::time::timeout(Duration::from_secs(20), stdout.next_line())
            .await
            .unwrap_or_else(|_| panic!("ojek logs tail printed only {seen:?} in 20 s"))
            .expect("stdout")
            .expect("ojek logs tail ended early");
        seen.push(line);
    }
    assert!(
        seen[0].ends_with(" driver-location/cli-test ERROR tail caught this"),
        "{seen:?}"
    );
    assert_eq!(seen[1], "    second line");
    let pid = child.id().expect("pid").to_string();
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill -INT");
    assert!(interrupted.success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("ojek logs tail stops on Ctrl-C")
        .expect("wait");
    assert!(status.success(), "Ctrl-C is a clean exit: {status}");
    server.stop();
}
