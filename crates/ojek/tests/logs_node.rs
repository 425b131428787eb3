//! The log node apart from the control plane, as real processes on one SQLite database: `ojek
//! ingest` takes lines shipped with `curl` (Barito and Elasticsearch bulk) and `ojek up
//! --logs-node` finds them for its users (`/api/logs/search`, `ojek logs search`, live tail),
//! still deciding who may read what and auditing it. The node's internal API wants the node
//! token, the control plane takes no logs itself, `ojek ingest` refuses to start without a
//! token, and when the node is gone the control plane says so (503).

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ojek_server::auth::TOKEN_PREFIX;
use ojek_store::Store;
use serde_json::{Value, json};

const NODE_TOKEN: &str = "node-test-token-0123456789abcdef-0123456789";
const SECRET: &str = "ojek_log_node-test-secret-0123456789abcdef";
const ENV: &str = "node-test";

/// A server process (`ojek up` or `ojek ingest`), killed when dropped.
struct Process {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Process {
    /// Starts `ojek ARGS --listen <a free port>` and waits until `/healthz` answers.
    async fn start(args: &[&str], log: PathBuf) -> Process {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_ojek"))
            .args(args)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("OJEK_NODE_TOKEN", NODE_TOKEN)
            .env("OJEK_ADMIN_PASSWORD", "admin-password-for-tests")
            .env("OJEK_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start ojek");
        let mut process = Process {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let up = http
                .get(format!("{}/healthz", process.url))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if up {
                return process;
            }
            let exited = process.child.try_wait().expect("try_wait");
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "ojek {} did not answer /healthz ({exited:?}):\n{}",
                args[0],
                process.output()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// What it wrote to standard error.
    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// `curl ARGS`: the status and the body.
fn curl(args: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "-o", "-", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
    let status = status.trim().parse().unwrap_or_else(|_| {
        panic!(
            "curl {args:?}: no status ({})",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (status, body.to_string())
}

/// Ships Barito lines to `url` with curl.
fn ship(url: &str, messages: &[&str]) {
    let items: Vec<Value> = messages
        .iter()
        .map(|m| json!({ "message": m, "level": "info" }))
        .collect();
    let body = json!({ "items": items }).to_string();
    let (status, answer) = curl(&[
        "-X",
        "POST",
        &format!("{url}/produce_batch"),
        "-H",
        &format!("X-App-Secret: {SECRET}"),
        "-H",
        &format!("X-Ojek-Env: {ENV}"),
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        &body,
    ]);
    assert_eq!(status, 200, "{answer}");
}

async fn get(url: &str, token: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .timeout(Duration::from_secs(40))
        .send()
        .await
        .expect("GET");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The messages of the test's environment that the control plane finds for `token`, once
/// there are at least `want` (lines are searchable within a second or so of being shipped).
async fn search_until(control: &str, token: &str, want: usize) -> Vec<String> {
    let url = format!("{control}/api/logs/search?app=driver-location&env={ENV}&since=1h");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, page) = get(&url, token).await;
        assert_eq!(status, 200, "{page}");
        let messages: Vec<String> = page["records"]
            .as_array()
            .expect("records")
            .iter()
            .map(|r| r["message"].as_str().expect("message").to_string())
            .collect();
        if messages.len() >= want {
            return messages;
        }
        assert!(Instant::now() < deadline, "only {messages:?} found in 15 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn seed(db: &str) -> (String, String) {
    let store = Store::open(db).await.expect("open the database");
    common::log_secret(&store, "fulfilment", "driver-location", "node-test", SECRET).await;
    // ana reads fulfilment's apps; budi is in gofood and promotions only.
    let token = |user: &str| format!("{TOKEN_PREFIX}node-test-{user}-0123456789abcdef");
    common::viewer_token(&store, "ana", "fulfilment", "node-test", &token("ana")).await;
    common::viewer_token(&store, "budi", "gofood", "node-test", &token("budi")).await;
    store.close().await;
    (token("ana"), token("budi"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_node_takes_the_logs_and_the_control_plane_reads_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("ojek.db").display());

    // `ojek ingest` refuses to start without a node token, or with a short one.
    let node_dir = dir.path().join("node");
    let ingest = |token: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ojek"));
        cmd.args([
            "ingest",
            "--database",
            &db,
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(&node_dir)
        .env_remove("OJEK_NODE_TOKEN");
        if let Some(t) = token {
            cmd.env("OJEK_NODE_TOKEN", t);
        }
        cmd.output().expect("run ojek ingest")
    };
    let refused = ingest(None);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(stderr.contains("OJEK_NODE_TOKEN is not set"), "{stderr}");
    let refused = ingest(Some("too-short"));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(stderr.contains("at least 32"), "{stderr}");
    assert!(
        !node_dir.exists(),
        "nothing is created before the token is checked"
    );

    // The node, then a control plane reading from it; both on one database.
    let node_dir = node_dir.display().to_string();
    let node = Process::start(
        &["ingest", "--database", &db, "--data-dir", &node_dir],
        dir.path().join("node.log"),
    )
    .await;
    let node_url = node.url.clone();
    let control = Process::start(
        &[
            "up",
            "--demo",
            "--database",
            &db,
            "--data-dir",
            &dir.path().join("control").display().to_string(),
            "--logs-node",
            &node_url,
        ],
        dir.path().join("control.log"),
    )
    .await;
    let (ana, budi) = seed(&db).await;

    // The node answers Elasticsearch clients' probe; the control plane takes no logs.
    let (status, probe) = curl(&["-H", "Accept: application/json", &format!("{}/", node.url)]);
    assert_eq!(status, 200, "{probe}");
    assert!(probe.contains("\"tagline\""), "{probe}");
    let (status, answer) = curl(&[
        "-X",
        "POST",
        &format!("{}/produce_batch", control.url),
        "-H",
        &format!("X-App-Secret: {SECRET}"),
        "--data-binary",
        "{\"items\": []}",
    ]);
    assert_eq!(status, 421, "{answer}");
    assert!(answer.contains("\"logs_on_node\""), "{answer}");

    // Lines shipped to the node (Barito and Elasticsearch bulk) are found through the control
    // plane.
    ship(
        &node.url,
        &["first line via the node", "second line via the node"],
    );
    let (status, answer) = curl(&[
        "-X",
        "POST",
        &format!("{}/driver-location.{ENV}/_bulk", node.url),
        "-u",
        &format!("shipper:{SECRET}"),
        "-H",
        "Content-Type: application/x-ndjson",
        "--data-binary",
        "{\"index\":{}}\n{\"message\":\"bulk line via the node\",\"level\":\"warn\"}\n",
    ]);
    assert_eq!(status, 200, "{answer}");
    let mut found = search_until(&control.url, &ana, 3).await;
    found.sort();
    assert_eq!(
        found,
        [
            "bulk line via the node",
            "first line via the node",
            "second line via the node"
        ]
    );
    let (status, top) = get(
        &format!(
            "{}/api/logs/top?field=level&app=driver-location&env={ENV}",
            control.url
        ),
        &ana,
    )
    .await;
    assert_eq!(status, 200, "{top}");
    assert_eq!(
        top["values"],
        json!([{ "value": "info", "count": 2 }, { "value": "warn", "count": 1 }])
    );
    let (status, histogram) = get(
        &format!(
            "{}/api/logs/histogram?app=driver-location&env={ENV}&buckets=4",
            control.url
        ),
        &ana,
    )
    .await;
    assert_eq!(status, 200, "{histogram}");
    assert_eq!(histogram["total"], 3, "{histogram}");

    // The same from a terminal.
    let cli = Command::new(env!("CARGO_BIN_EXE_ojek"))
        .args(["logs", "search", "--app", "driver-location", "--env", ENV])
        .env("OJEK_SERVER", &control.url)
        .env("OJEK_TOKEN", &ana)
        .output()
        .expect("run ojek logs search");
    let printed = String::from_utf8_lossy(&cli.stdout);
    assert!(cli.status.success(), "{}", String::from_utf8_lossy(&cli.stderr));
    assert_eq!(printed.lines().count(), 3, "{printed}");
    assert!(
        printed.contains("driver-location/node-test WARN  bulk line via the node"),
        "{printed}"
    );

    // The control plane still decides: another team's user gets 404, as for any app of
    // another team, and every read is in the team's audit log.
    let (status, refused) = get(
        &format!("{}/api/logs/search?app=driver-location&env={ENV}", control.url),
        &budi,
    )
    .await;
    assert_eq!(status, 404, "{refused}");
    let (status, audit) = get(&format!("{}/api/audit", control.url), &ana).await;
    assert_eq!(status, 200, "{audit}");
    let reads = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "logs.search")
        .count();
    assert!(reads >= 4, "{audit}");

    // The node's internal API wants the node token; the control plane does not serve it.
    let internal = json!({ "streams": [{ "app": "driver-location", "env": ENV }], "query": "",
                           "parsedAt": 0, "from": 0, "to": i64::MAX / 2 })
    .to_string();
    let ask_node = |auth: Option<String>| {
        let mut args = vec![
            "-X".to_string(),
            "POST".into(),
            format!("{}/internal/logs/search", node.url),
            "-H".into(),
            "Content-Type: application/json".into(),
            "--data-binary".into(),
            internal.clone(),
        ];
        if let Some(a) = auth {
            args.extend(["-H".into(), format!("Authorization: {a}")]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        curl(&args)
    };
    let (status, answer) = ask_node(Some(format!("Bearer {NODE_TOKEN}x")));
    assert_eq!(status, 401, "{answer}");
    assert!(answer.contains("\"unauthorized\""), "{answer}");
    assert_eq!(ask_node(None).0, 401);
    assert_eq!(ask_node(Some(format!("Bearer {ana}"))).0, 401);
    let (status, answer) = ask_node(Some(format!("Bearer {NODE_TOKEN}")));
    assert_eq!(status, 200, "{answer}");
    let answer: Value = serde_json::from_str(&answer).expect("JSON");
    assert_eq!(answer["records"].as_array().map(Vec::len), Some(3), "{answer}");
    let (status, _) = curl(&[
        "-X",
        "POST",
        "-H",
        &format!("Authorization: Bearer {NODE_TOKEN}"),
        &format!("{}/internal/logs/search", control.url),
    ]);
    assert_eq!(status, 404);

    // Live tail through the control plane sees a line shipped to the node after it started.
    let mut tail = reqwest::Client::new()
        .get(format!(
            "{}/api/logs/tail?app=driver-location&env={ENV}",
            control.url
        ))
        .bearer_auth(&ana)
        .send()
        .await
        .expect("tail");
    assert_eq!(tail.status().as_u16(), 200);
    assert_eq!(
        tail.headers().get("content-type").and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    ship(&node.url, &["a line for the live tail"]);
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !seen.contains("a line for the live tail") {
        let left = deadline.saturating_duration_since(Instant::now());
        let chunk = tokio::time::timeout(left, tail.chunk())
            .await
            .unwrap_or_else(|_| panic!("the live tail showed only {seen:?} in 15 s"))
            .expect("tail chunk")
            .expect("the tail goes on");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("event: records"), "{seen}");

    // The node goes away: the live tail ends, and reads answer 503 with the reason.
    let mut node = node;
    node.kill();
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(_)) = tail.chunk().await {}
    })
    .await;
    assert!(ended.is_ok(), "the live tail ends when the node goes away");
    let (status, down) = get(
        &format!("{}/api/logs/search?app=driver-location&env={ENV}", control.url),
        &ana,
    )
    .await;
    assert_eq!(status, 503, "{down}");
    assert_eq!(down["code"], "logs_node_unreachable", "{down}");
    assert!(
        down["error"]
            .as_str()
            .is_some_and(|e| e.contains(&node_url) && e.contains("cannot be reached")),
        "{down}"
    );
    let page = reqwest::Client::new()
        .get(format!("{}/logs?app=driver-location", control.url))
        .bearer_auth(&ana)
        .send()
        .await
        .expect("logs page");
    assert_eq!(page.status().as_u16(), 503);
    assert!(
        page.text()
            .await
            .unwrap_or_default()
            .contains("cannot be reached"),
        "the Logs page shows why"
    );
    assert!(
        control.output().contains("log node unreachable"),
        "{}",
        control.output()
    );
}
