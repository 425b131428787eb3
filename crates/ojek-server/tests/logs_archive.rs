//! The log archive against a real S3 server on loopback: `s3s-fs` (an S3 implementation over a
//! directory, installed by `scripts/install-test-deps.sh`). Retention (`retention::run_once`)
//! archives each expired day to the bucket and drops it; the objects hold exactly the day's
//! records; with the S3 server stopped an expired day is kept, and the next run once it is back
//! archives and drops it.

#[macro_use]
mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Db, Options, TestServer, create_driver_location};
use object_store::ObjectStoreExt;
use ojek_logs::{Query, Record};
use ojek_logstore::archive::{Archive, Manifest};
use ojek_logstore::export::read_records;
use ojek_logstore::index::{PartitionKey, SearchRequest, Stream};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

both!(retention_archives_expired_days_to_s3_then_drops_them);

const SECRET: &str = "ojek-log-secret-for-archive-tests-0123";
const BUCKET: &str = "ojek-logs";
const ACCESS_KEY: &str = "ojek-test-access";
const SECRET_KEY: &str = "ojek-test-secret-key-0123456789";
const DAY: i64 = 86_400_000;
const INSTALL: &str = "s3s-fs is not installed: run scripts/install-test-deps.sh (it runs \
                       `cargo install s3s-fs@0.14.1 --locked --features binary`, about 2 minutes)";

/// `s3s-fs` serving `root` (one directory per bucket) on `127.0.0.1:port`.
struct S3Server {
    child: Option<Child>,
    port: u16,
    root: PathBuf,
}

impl S3Server {
    fn start(root: &Path, port: u16) -> S3Server {
        let bin = find_s3s_fs().expect(INSTALL);
        let child = Command::new(bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start s3s-fs");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "s3s-fs did not start on port {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        S3Server {
            child: Some(child),
            port,
            root: root.to_path_buf(),
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The archive as `ojek up --logs-archive s3://ojek-logs/barito` would build it from these
    /// AWS variables.
    fn archive(&self) -> Archive {
        let env = [
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_string()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_string()),
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{}", self.port)),
            ("AWS_ALLOW_HTTP", "true".to_string()),
        ];
        Archive::from_url(
            &format!("s3://{BUCKET}/barito"),
            env.into_iter().map(|(k, v)| (k.to_string(), v)),
        )
        .expect("the archive URL")
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `s3s-fs` on the `PATH`, else where `cargo install` puts it.
fn find_s3s_fs() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        dirs.push(PathBuf::from(home).join("bin"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cargo/bin"));
    }
    dirs.into_iter().map(|d| d.join("s3s-fs")).find(|p| p.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn produce(s: &TestServer, lines: &[Value]) {
    let resp = reqwest::Client::new()
        .post(s.url("/produce_batch"))
        .header("X-App-Secret", SECRET)
        .header("X-Ojek-Env", "staging")
        .json(&json!({ "items": lines }))
        .send()
        .await
        .expect("produce");
    assert_eq!(
        resp.status().as_u16(),
        200,
        "{}",
        resp.text().await.unwrap_or_default()
    );
    s.server
        .state
        .logs
        .clone()
        .expect("logs")
        .store
        .flush()
        .expect("flush");
}

fn stream() -> Stream {
    Stream {
        app: "driver-location".into(),
        env: "staging".into(),
    }
}

fn day_key(now: i64, age_days: i64) -> PartitionKey {
    PartitionKey {
        stream: stream(),
        day: (now - age_days * DAY).div_euclid(DAY),
    }
}

/// The local partitions of the stream.
fn local_days(s: &TestServer) -> Vec<PartitionKey> {
    let logs = s.server.state.logs.clone().expect("logs");
    let mut v: Vec<PartitionKey> = logs
        .store
        .index()
        .partitions()
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| k.stream == stream())
        .collect();
    v.sort();
    v
}

/// A day's records as the search API gives them, oldest first.
fn day_records(s: &TestServer, key: &PartitionKey) -> Vec<Record> {
    let logs = s.server.state.logs.clone().expect("logs");
    let req = SearchRequest {
        streams: vec![stream()],
        query: Query::All,
        from_ms: key.day * DAY,
        to_ms: (key.day + 1) * DAY,
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

/// The archived records and manifest of a day, read back over S3.
async fn archived(archive: &Archive, key: &PartitionKey) -> (Vec<Record>, Manifest) {
    let object = archive.object_path(key);
    let bytes = archive
        .store()
        .get(&object)
        .await
        .unwrap_or_else(|e| panic!("{object} is in the bucket: {e}"))
        .bytes()
        .await
        .expect("read the object");
    let records = read_records(&bytes[..])
        .expect("zstd")
        .collect::<std::io::Result<Vec<_>>>()
        .expect("NDJSON records");
    let manifest_bytes = archive
        .store()
        .get(&archive.manifest_path(key))
        .await
        .expect("the manifest is in the bucket")
        .bytes()
        .await
        .expect("read the manifest");
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes).expect("manifest JSON");
    assert_eq!(manifest.bytes, bytes.len() as u64);
    let sha: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(manifest.sha256, sha);
    (records, manifest)
}

async fn retention_archives_expired_days_to_s3_then_drops_them(db: Db) {
    let s3_root = tempfile::tempdir().expect("s3 root");
    // s3s-fs keeps each bucket as a directory of its root.
    std::fs::create_dir(s3_root.path().join(BUCKET)).expect("bucket");
    let port = free_port();
    let mut s3 = S3Server::start(s3_root.path(), port);
    let archive = Arc::new(s3.archive());
    let Some(s) = common::server_with(
        db,
        Options {
            logs_archive: Some(archive.clone()),
            ..Options::default()
        },
    )
    .await
    else {
        return;
    };
    let team = s.team("fulfilment").await;
    let admin = s.admin_session().await;
    create_driver_location(&admin).await;
    s.log_secret(&team, Some("driver-location"), "shipper", SECRET)
        .await;

    // Default retention: 30 days. Days 40 and 41 ago have expired; yesterday has not.
    let now = ojek_server::auth::now_ms();
    let mut lines = Vec::new();
    for age in [1, 40, 41] {
        for i in 0..50 {
            let level = ["info", "error"][i as usize % 2];
            lines.push(json!({
                "@timestamp": now - age * DAY + i * 1000,
                "message": format!("{age} days old, line {i}"),
                "level": level,
                "http": { "status": 200 + i, "path": "/v1/location" },
            }));
        }
    }
    produce(&s, &lines).await;
    let (d1, d40, d41) = (day_key(now, 1), day_key(now, 40), day_key(now, 41));
    let before40 = day_records(&s, &d40);
    let before41 = day_records(&s, &d41);
    assert!(!before40.is_empty() && !before41.is_empty());

    let dropped = ojek_server::logs::retention::run_once(&s.server.state, now)
        .await
        .expect("retention");
    let mut expected_dropped = vec![d41.clone(), d40.clone()];
    expected_dropped.sort();
    assert_eq!(dropped, expected_dropped, "the expired days, oldest first");
    assert_eq!(
        local_days(&s),
        std::slice::from_ref(&d1),
        "the expired days are gone locally"
    );
    let (records41, manifest41) = archived(&archive, &d41).await;
    assert_eq!(records41, before41, "exactly the day's records, oldest first");
    assert_eq!(manifest41.records, before41.len() as u64);
    assert_eq!(manifest41.day, d41.day_name());
    let (records40, _) = archived(&archive, &d40).await;
    assert_eq!(records40, before40);
    // On the S3 server's disk, under the bucket and prefix.
    let on_disk = s3
        .root
        .join(BUCKET)
        .join("barito/driver-location/staging")
        .join(format!("{}.ndjson.zst", d40.day_name()));
    assert!(on_disk.is_file(), "{} exists", on_disk.display());

    // With the S3 server down, a newly expired day is kept (and the run does not fail).
    s3.stop();
    let late: Vec<Value> = (0..5)
        .map(|i| json!({ "@timestamp": now - 45 * DAY + i, "message": format!("45 days old, line {i}") }))
        .collect();
    produce(&s, &late).await;
    let d45 = day_key(now, 45);
    let before45 = day_records(&s, &d45);
    let dropped = ojek_server::logs::retention::run_once(&s.server.state, now)
        .await
        .expect("retention runs with the archive down");
    assert!(
        dropped.is_empty(),
        "nothing dropped without an archive: {dropped:?}"
    );
    assert_eq!(local_days(&s), [d45.clone(), d1.clone()], "the day is kept");
    assert_eq!(day_records(&s, &d45), before45);

    // Back up: the next run archives and drops it.
    let s3 = S3Server::start(s3_root.path(), port);
    let dropped = ojek_server::logs::retention::run_once(&s.server.state, now)
        .await
        .expect("retention");
    assert_eq!(dropped, std::slice::from_ref(&d45));
    assert_eq!(local_days(&s), [d1]);
    let (records45, _) = archived(&archive, &d45).await;
    assert_eq!(records45, before45);
    drop(s3);
}
