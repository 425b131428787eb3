//! Crash test of log ingest: the real `ojek up` binary takes Barito batches from several
//! concurrent clients, is killed with SIGKILL mid-stream, and is started again on the same data
//! directory. Read back through `GET /api/logs/search`, every acknowledged batch is there
//! exactly once; batches that were not acknowledged are there whole or not at all, never twice.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ojek_server::auth::{TOKEN_PREFIX, now_ms};
use ojek_store::Store;
use serde_json::{Value, json};

const SECRET: &str = "ojek_log_crash-test-secret-0123456789abcdef";
const TOKEN: &str = "crash-test-token-0123456789abcdef";
const ADMIN_PASSWORD: &str = "admin-password-for-tests";
/// The environment the test ships to (the demo writes to staging and production).
const ENV: &str = "crash-test";
/// Concurrent producers.
const PRODUCERS: usize = 4;
/// Lines per batch.
const LINES: usize = 10;
/// Acknowledged batches before the kill.
const ACKNOWLEDGED_BEFORE_KILL: usize = 300;

/// `ojek up` as a child process, killed (SIGKILL) when dropped.
struct ServerProcess {
    child: Child,
    url: String,
}

impl ServerProcess {
    /// Starts `ojek up --demo` on `data` and a free port, and waits until `/healthz` answers.
    async fn start(data: &Path, log: &Path) -> ServerProcess {
        ServerProcess::start_limited(data, log, None).await
    }

    /// [`ServerProcess::start`], with no file of the process allowed to grow past `file_kib`
    /// KiB when given (`ulimit -f`, with SIGXFSZ ignored: writes past it fail as on a full
    /// disk), and then without the demo.
    async fn start_limited(data: &Path, log: &Path, file_kib: Option<u64>) -> ServerProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log_path = log.to_path_buf();
        let log = std::fs::File::create(log).expect("server log file");
        let mut command = match file_kib {
            // An ignored signal stays ignored across exec.
            Some(kib) => {
                let mut c = Command::new("bash");
                c.args([
                    "-c",
                    &format!("trap '' XFSZ; ulimit -f {kib} && exec \"$0\" \"$@\""),
                    env!("CARGO_BIN_EXE_ojek"),
                ]);
                c
            }
            None => Command::new(env!("CARGO_BIN_EXE_ojek")),
        };
        // Limited: without `--demo`, whose trickle of lines would share the write-ahead log
        // with the test's batches (every batch is the same size, so once one no longer fits
        // none does; a demo line in the same group could make one refusal out of two).
        if file_kib.is_none() {
            command.arg("up").arg("--demo");
        } else {
            command.arg("up");
        }
        let child = command
            .args(["--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(data)
            .env("OJEK_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("OJEK_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start ojek up");
        let server = ServerProcess {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ok = http
                .get(format!("{}/healthz", server.url))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                return server;
            }
            if Instant::now() >= deadline {
                let said = std::fs::read_to_string(&log_path).unwrap_or_default();
                panic!("ojek up did not answer /healthz in 30 s; it said:\n{said}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL, and wait for the process to be gone.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What the producers sent and what the server acknowledged, by batch (`producer-n`).
#[derive(Default)]
struct Ledger {
    sent: BTreeSet<String>,
    acknowledged: BTreeSet<String>,
}

/// Sends batches until `stop`, recording each; gives up on the first failed request after
/// `stop` (the server is gone).
async fn produce(producer: usize, url: String, ledger: Arc<Mutex<Ledger>>, stop: Arc<AtomicBool>) {
    let http = reqwest::Client::new();
    for n in 0.. {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let batch = format!("{producer}-{n}");
        let items: Vec<Value> = (0..LINES)
            .map(|line| json!({ "message": format!("crash test batch {batch} line {line}"), "id": format!("{batch}-{line}") }))
            .collect();
        ledger.lock().expect("ledger").sent.insert(batch.clone());
        let answer = http
            .post(format!("{url}/produce_batch"))
            .header("X-App-Secret", SECRET)
            .header("X-Ojek-Env", ENV)
            .json(&json!({ "items": items }))
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        match answer {
            Ok(resp) if resp.status().is_success() => {
                ledger.lock().expect("ledger").acknowledged.insert(batch);
            }
            Ok(resp) => panic!(
                "batch {batch} refused: {} {}",
                resp.status(),
                resp.text().await.unwrap_or_default()
            ),
            Err(_) if stop.load(Ordering::SeqCst) => return,
            Err(e) => panic!("batch {batch} failed before the kill: {e}"),
        }
    }
}

/// Every record of the test's environment, following cursor pages.
async fn read_back(url: &str, token: &str, from: i64, to: i64) -> Vec<Value> {
    let http = reqwest::Client::new();
    let base = format!("{url}/api/logs/search?app=driver-location&env={ENV}&from={from}&to={to}&limit=1000");
    let mut records = Vec::new();
    let mut path = base.clone();
    loop {
        let resp = http
            .get(&path)
            .bearer_auth(token)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .expect("search");
        let status = resp.status();
        let page: Value = resp.json().await.expect("search answer");
        assert!(status.is_success(), "search: {status} {page}");
        records.extend(page["records"].as_array().expect("records").iter().cloned());
        match page["nextCursor"].as_u64() {
            Some(cursor) => path = format!("{base}&cursor={cursor}"),
            None => return records,
        }
    }
}

/// A producer secret for driver-location (team fulfilment) and the admin's reading token,
/// straight into the server's SQLite database; returns the token.
async fn seed(data: &Path) -> String {
    let store = Store::open(&format!("sqlite://{}", data.join("ojek.db").display()))
        .await
        .expect("open the server's database");
    common::log_secret(&store, "fulfilment", "driver-location", "crash-test", SECRET).await;
    let token = format!("{TOKEN_PREFIX}{TOKEN}");
    common::viewer_token(&store, "admin", "fulfilment", "crash-test", &token).await;
    drop(store);
    token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stream_loses_and_repeats_no_acknowledged_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data: PathBuf = dir.path().join("data");
    let from = now_ms() - 60_000;
    let mut server = ServerProcess::start(&data, &dir.path().join("first.log")).await;

    let token = seed(&data).await;

    // Stream until enough batches are acknowledged, then SIGKILL while requests are in flight.
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| tokio::spawn(produce(p, server.url.clone(), ledger.clone(), stop.clone())))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while ledger.lock().expect("ledger").acknowledged.len() < ACKNOWLEDGED_BEFORE_KILL {
        assert!(
            Instant::now() < deadline,
            "{} batches acknowledged in 30 s",
            ledger.lock().expect("ledger").acknowledged.len()
        );
        assert!(
            !producers.iter().any(|p| p.is_finished()),
            "a producer stopped before the kill"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::SeqCst);
    server.kill();
    for p in producers {
        p.await.expect("producer");
    }
    let ledger = Arc::into_inner(ledger)
        .expect("producers are done")
        .into_inner()
        .expect("ledger");

    // Start again on the same data directory and read everything back.
    let server = ServerProcess::start(&data, &dir.path().join("second.log")).await;
    let records = read_back(&server.url, &token, from, now_ms() + 60_000).await;
    let mut found: BTreeMap<String, usize> = BTreeMap::new();
    for r in &records {
        let id = r["attrs"]["id"].as_str().expect("every record has its id");
        *found.entry(id.to_string()).or_default() += 1;
    }
    let twice: Vec<_> = found.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "records stored more than once: {twice:?}");
    let mut partial = Vec::new();
    let mut lost = Vec::new();
    let mut unacknowledged_kept = 0;
    for batch in &ledger.sent {
        let present = (0..LINES)
            .filter(|line| found.contains_key(&format!("{batch}-{line}")))
            .count();
        if present != 0 && present != LINES {
            partial.push(format!("{batch}: {present} of {LINES} lines"));
        }
        if ledger.acknowledged.contains(batch) {
            if present != LINES {
                lost.push(batch.clone());
            }
        } else if present == LINES {
            unacknowledged_kept += 1;
        }
    }
    assert!(lost.is_empty(), "acknowledged batches lost: {lost:?}");
    assert!(partial.is_empty(), "batches kept in part: {partial:?}");
    let kept_batches = found.len() / LINES;
    assert_eq!(
        kept_batches,
        ledger.acknowledged.len() + unacknowledged_kept,
        "only lines that were sent are there"
    );
    eprintln!(
        "{} batches sent, {} acknowledged before SIGKILL, {} more kept; {} records read back",
        ledger.sent.len(),
        ledger.acknowledged.len(),
        unacknowledged_kept,
        records.len()
    );
}

/// A full disk: the real `ojek up` with a limit on how large its files may grow (writes past it
/// fail as they do on a full disk). Requests are answered 503 `storage_unavailable` with
/// Retry-After once the write-ahead log cannot grow, and nothing of a refused request is kept;
/// restarted without the limit, every acknowledged batch is there exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_requests_and_keeps_every_acknowledged_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data: PathBuf = dir.path().join("data");
    let from = now_ms() - 60_000;
    // First start: the demo's hour of lines, the database; then the secret and token.
    let mut first = ServerProcess::start(&data, &dir.path().join("first.log")).await;
    first.kill();
    let token = seed(&data).await;

    // The write-ahead log's segment grows from where it is: 512 KiB more than the largest file
    // of the data directory now (the database's own write-ahead log included, which the start
    // writes to), then every write past that fails.
    fn largest_file(dir: &Path) -> u64 {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| match e.file_type() {
                Ok(t) if t.is_dir() => largest_file(&e.path()),
                _ => e.metadata().map_or(0, |m| m.len()),
            })
            .max()
            .unwrap_or(0)
    }
    let largest = largest_file(&data);
    let limit_kib = largest / 1024 + 512;
    let server = ServerProcess::start_limited(&data, &dir.path().join("full.log"), Some(limit_kib)).await;
    let http = reqwest::Client::new();
    let mut acknowledged = BTreeSet::new();
    let mut refused = BTreeSet::new();
    for n in 0..5_000 {
        let batch = format!("full-{n}");
        let items: Vec<Value> = (0..LINES)
            .map(|line| json!({ "message": format!("full disk batch {batch} line {line} {}", "x".repeat(100)), "id": format!("{batch}-{line}") }))
            .collect();
        let resp = http
            .post(format!("{}/produce_batch", server.url))
            .header("X-App-Secret", SECRET)
            .header("X-Ojek-Env", ENV)
            .json(&json!({ "items": items }))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .expect("an answer");
        let status = resp.status().as_u16();
        let retry_after = resp.headers().get("retry-after").is_some();
        let body: Value = resp.json().await.expect("a JSON answer");
        match status {
            200 => {
                assert!(
                    refused.is_empty(),
                    "batch {batch} acknowledged after a refusal: the limit does not move"
                );
                acknowledged.insert(batch);
            }
            503 => {
                assert_eq!(body["code"], "storage_unavailable", "{body}");
                assert!(retry_after, "503 says when to retry");
                refused.insert(batch);
                if refused.len() == 20 {
                    break;
                }
            }
            other => panic!("batch {batch}: {other} {body}"),
        }
    }
    assert!(
        !acknowledged.is_empty(),
        "batches were acknowledged before the disk filled up"
    );
    assert_eq!(
        refused.len(),
        20,
        "the full disk was reached within 5,000 batches"
    );
    drop(server);

    // Room again: everything acknowledged is there once, nothing refused is there at all.
    let server = ServerProcess::start(&data, &dir.path().join("after.log")).await;
    let records = read_back(&server.url, &token, from, now_ms() + 60_000).await;
    let mut found: BTreeMap<String, usize> = BTreeMap::new();
    for r in &records {
        let id = r["attrs"]["id"].as_str().expect("every record has its id");
        *found.entry(id.to_string()).or_default() += 1;
    }
    assert!(found.values().all(|n| *n == 1), "no record twice");
    for batch in &acknowledged {
        for line in 0..LINES {
            assert!(
                found.contains_key(&format!("{batch}-{line}")),
                "{batch}-{line} was acknowledged and is lost"
            );
        }
    }
    let kept_refused: Vec<_> = found
        .keys()
        .filter(|id| refused.iter().any(|b| id.starts_with(&format!("{b}-"))))
        .collect();
    assert!(
        kept_refused.is_empty(),
        "refused lines were kept: {kept_refused:?}"
    );
    assert_eq!(
        found.len(),
        acknowledged.len() * LINES,
        "only acknowledged lines are there"
    );
}
