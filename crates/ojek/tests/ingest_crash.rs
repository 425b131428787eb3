//! Crash test of log ingest: the real `ojek up` binary takes Barito batches from several
//! concurrent clients, is killed with SIGKILL mid-stream, and is started again on the same data
//! directory. Read back through `GET /api/logs/search`, every acknowledged batch is there
//! exactly once; batches that were not acknowledged are there whole or not at all, never twice.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ojek_server::auth::{TOKEN_PREFIX, now_ms, secret_hash};
use ojek_store::{Actor, Role, Store};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

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
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log = std::fs::File::create(log).expect("server log file");
        let child = Command::new(env!("CARGO_BIN_EXE_ojek"))
            .args([
                "up",
                "--demo",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
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
            assert!(
                Instant::now() < deadline,
                "ojek up did not answer /healthz in 30 s"
            );
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stream_loses_and_repeats_no_acknowledged_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data: PathBuf = dir.path().join("data");
    let from = now_ms() - 60_000;
    let mut server = ServerProcess::start(&data, &dir.path().join("first.log")).await;

    // A producer secret for driver-location (team fulfilment) and the admin's reading token,
    // straight into the server's SQLite database.
    let store = Store::open(&format!("sqlite://{}", data.join("ojek.db").display()))
        .await
        .expect("open the server's database");
    let fulfilment = store
        .team_by_name("fulfilment")
        .await
        .expect("store")
        .expect("demo team");
    store
        .create_log_secret(
            fulfilment.id,
            Some("driver-location"),
            "crash-test",
            &Sha256::digest(SECRET.as_bytes()),
            &Actor::system(),
        )
        .await
        .expect("secret");
    let (admin, _) = store.user_by_name("admin").await.expect("store").expect("admin");
    let token = format!("{TOKEN_PREFIX}{TOKEN}");
    store
        .create_token(
            "crash-test",
            admin.id,
            fulfilment.id,
            Role::Viewer,
            &secret_hash(&token),
            None,
            &Actor::system(),
        )
        .await
        .expect("token");
    drop(store);

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
