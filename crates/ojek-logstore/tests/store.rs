//! The log store end to end: a generated corpus appended through the write-ahead log, then
//! every query operator checked against the same corpus filtered with `ojek_logs::query::evaluate`
//! (the ground truth), page by page; histograms, counts and top values likewise; retention;
//! and a writer killed with SIGKILL mid-stream whose acknowledged records are all found exactly
//! once after a restart.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use ojek_logs::{Record, parse};
use ojek_logstore::index::{SearchRequest, Stream, field_text};
use ojek_logstore::store::LogStore;
use serde_json::{Map, Value, json};

/// 2026-11-20T00:00:00Z.
const T0: i64 = 1_795_132_800_000;
const HOUR: i64 = 3_600_000;

/// A deterministic pseudo-random corpus: access logs, JSON app logs with stack traces, system
/// logs, over three days and two streams.
fn corpus(n: usize) -> Vec<Record> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let levels = ["info", "info", "info", "warn", "error", "debug"];
    let paths = [
        "/api/orders",
        "/api/drivers/42/location",
        "/health",
        "/api/payments",
    ];
    let hosts = ["node-a", "node-b", "node-c"];
    let errors = [
        "java.lang.NullPointerException: driver is null\n\tat com.gojek.Location.update(Location.java:42)",
        "connection refused: payments-db:5432",
        "timeout after 30s calling promo-service",
    ];
    (0..n)
        .map(|i| {
            let r = next();
            let app = if r % 3 == 0 { "payments" } else { "driver-location" };
            let level = levels[(r >> 8) as usize % levels.len()];
            let status = [200, 200, 201, 404, 500, 503][(r >> 12) as usize % 6];
            let path = paths[(r >> 16) as usize % paths.len()];
            let duration = (r >> 20) % 900;
            let message = match (r >> 30) % 3 {
                0 => format!("GET {path} {status} {duration}ms"),
                1 if level == "error" => errors[(r >> 34) as usize % errors.len()].to_string(),
                1 => format!("order {} accepted by driver {}", r % 10_000, (r >> 40) % 500),
                _ => format!(
                    "kernel: eth0 link up, speed {} Mbps",
                    [100, 1000][(r >> 36) as usize % 2]
                ),
            };
            let mut attrs = Map::new();
            attrs.insert("status".into(), json!(status));
            attrs.insert("duration_ms".into(), json!(duration));
            attrs.insert("http".into(), json!({ "method": "GET", "path": path }));
            if r % 5 == 0 {
                attrs.insert("user_id".into(), json!(format!("u{}", r % 50)));
            }
            Record {
                timestamp: T0 + (i as i64 * 3 * 24 * HOUR) / n as i64 + (r % 1000) as i64,
                received: T0,
                app: app.into(),
                env: "staging".into(),
                level: Some(level.into()),
                host: Some(hosts[(r >> 44) as usize % hosts.len()].into()),
                pod: Some(format!("{app}-web-{}", (r >> 48) % 4)),
                revision: Some(1 + (r >> 52) as i64 % 3),
                variant: (r % 7 == 0).then(|| "b".to_string()),
                message,
                attrs,
            }
        })
        .collect()
}

fn streams() -> Vec<Stream> {
    ["payments", "driver-location"]
        .iter()
        .map(|app| Stream {
            app: (*app).into(),
            env: "staging".into(),
        })
        .collect()
}

fn request(query: &str, from: i64, to: i64) -> SearchRequest {
    SearchRequest {
        streams: streams(),
        query: parse(query).unwrap_or_else(|e| panic!("{query}: {e}")),
        from_ms: from,
        to_ms: to,
    }
}

fn fill(dir: &std::path::Path, records: &[Record]) -> LogStore {
    let store = LogStore::open(dir).expect("open");
    for chunk in records.chunks(97) {
        store.append(chunk.to_vec()).expect("append");
    }
    store.flush().expect("flush");
    store
}

/// Every page of a search, newest first.
fn all_pages(store: &LogStore, req: &SearchRequest, page: usize) -> Vec<Record> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let p = store.index().search(req, page, cursor).expect("search");
        assert!(p.records.len() <= page);
        out.extend(p.records);
        match p.next_cursor {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

fn truth(records: &[Record], req: &SearchRequest) -> Vec<Record> {
    let mut v: Vec<Record> = records
        .iter()
        .filter(|r| r.timestamp >= req.from_ms && r.timestamp < req.to_ms)
        .filter(|r| ojek_logs::query::evaluate(&req.query, r))
        .cloned()
        .collect();
    v.sort_by_key(|r| std::cmp::Reverse(r.timestamp));
    v
}

/// Compares as multisets ordered by time (records of the same millisecond may come in any
/// order), and checks that the result is newest first.
fn same(found: &[Record], expected: &[Record], what: &str) {
    assert!(
        found.windows(2).all(|w| w[0].timestamp >= w[1].timestamp),
        "{what}: not newest first"
    );
    let key = |r: &Record| serde_json::to_string(r).unwrap_or_default();
    let mut a: Vec<String> = found.iter().map(key).collect();
    let mut b: Vec<String> = expected.iter().map(key).collect();
    a.sort();
    b.sort();
    assert_eq!(
        a.len(),
        b.len(),
        "{what}: {} found, {} expected",
        a.len(),
        b.len()
    );
    assert!(a == b, "{what}: different records");
}

const QUERIES: &[&str] = &[
    "*",
    "refused",
    "connection",
    "\"connection refused\"",
    "\"refused connection\"",
    "NullPointerException",
    "nullpointer*",
    "dr?ver",
    "level:error",
    "level:ERROR",
    "level:warn OR level:error",
    "level:error AND refused",
    "level:error NOT refused",
    "NOT level:info",
    "-level:info",
    "(level:error OR level:warn) AND host:node-b",
    "host:node-*",
    "pod:payments-web-1",
    "variant:b",
    "revision:2",
    "status:500",
    "status:>=500",
    "status:[404 TO 500]",
    "status:{404 TO 503}",
    "duration_ms:<100",
    "duration_ms:[100 TO *]",
    "http.path:\"/api/orders\"",
    "http.method:GET AND status:404",
    "user_id:u7",
    "user_id:*",
    "app:payments",
    "app:payments AND level:error",
    "orders OR payments",
    "GET AND NOT health",
    "@timestamp:[2026-11-21T00:00:00Z TO 2026-11-21T12:00:00Z]",
    "eth0 AND speed",
    "missing_field:1",
    "NOT missing_field:1",
];

#[test]
fn every_operator_matches_the_ground_truth_page_by_page() {
    let dir = tempfile::tempdir().expect("dir");
    let records = corpus(6_000);
    let store = fill(dir.path(), &records);
    let (from, to) = (T0, T0 + 3 * 24 * HOUR + 1000);
    for q in QUERIES {
        let req = request(q, from, to);
        let expected = truth(&records, &req);
        let found = all_pages(&store, &req, 250);
        same(&found, &expected, q);
        assert_eq!(
            store.index().count(&req).expect("count"),
            expected.len() as u64,
            "count of {q}"
        );
    }
    // A narrower time range than the corpus.
    let req = request("level:error", T0 + 30 * HOUR, T0 + 40 * HOUR);
    same(
        &all_pages(&store, &req, 7),
        &truth(&records, &req),
        "level:error in 10 hours",
    );
    // Only the streams asked for.
    let mut req = request("*", from, to);
    req.streams.truncate(1);
    let expected: Vec<Record> = truth(&records, &req)
        .into_iter()
        .filter(|r| r.app == "payments")
        .collect();
    same(&all_pages(&store, &req, 500), &expected, "one stream");
}

#[test]
fn histograms_and_top_values_match_the_ground_truth() {
    let dir = tempfile::tempdir().expect("dir");
    let records = corpus(3_000);
    let store = fill(dir.path(), &records);
    let (from, to) = (T0, T0 + 3 * 24 * HOUR);
    for q in ["*", "level:error", "status:>=500", "NOT level:info"] {
        let req = request(q, from, to);
        let expected = truth(&records, &req);
        let histogram = store.index().histogram(&req, 72).expect("histogram");
        assert_eq!(histogram.len(), 72);
        let width = (to - from) / 72;
        for (i, (start, n)) in histogram.iter().enumerate() {
            assert_eq!(*start, from + i as i64 * width);
            let want = expected
                .iter()
                .filter(|r| r.timestamp >= *start && r.timestamp < start + width)
                .count() as u64;
            assert_eq!(*n, want, "{q}: bucket {i}");
        }
        for field in ["level", "host", "status", "http.path", "app"] {
            let top = store.index().top_values(&req, field, 3).expect("top");
            let mut counts: BTreeMap<String, u64> = BTreeMap::new();
            for r in &expected {
                if let Some(v) = field_text(r, field) {
                    *counts.entry(v).or_default() += 1;
                }
            }
            let mut want: Vec<(String, u64)> = counts.into_iter().collect();
            want.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            want.truncate(3);
            assert_eq!(top, want, "{q}: top {field}");
        }
    }
}

#[test]
fn retention_drops_whole_days_of_one_stream_only() {
    let dir = tempfile::tempdir().expect("dir");
    let records = corpus(2_000);
    let store = fill(dir.path(), &records);
    let payments = Stream {
        app: "payments".into(),
        env: "staging".into(),
    };
    let dropped = store
        .index()
        .drop_before(&payments, T0 + 2 * 24 * HOUR)
        .expect("drop");
    assert_eq!(
        dropped.iter().map(|k| k.day_name()).collect::<Vec<_>>(),
        ["2026-11-20", "2026-11-21"]
    );
    let req = request("*", T0, T0 + 4 * 24 * HOUR);
    let expected: Vec<Record> = truth(&records, &req)
        .into_iter()
        .filter(|r| r.app != "payments" || r.timestamp >= T0 + 2 * 24 * HOUR)
        .collect();
    same(&all_pages(&store, &req, 1000), &expected, "after retention");
    // And after a restart.
    drop(store);
    let store = LogStore::open(dir.path()).expect("reopen");
    same(
        &all_pages(&store, &req, 1000),
        &expected,
        "after retention and restart",
    );
}

#[test]
fn a_restart_replays_what_was_not_committed_exactly_once() {
    let dir = tempfile::tempdir().expect("dir");
    let records = corpus(500);
    {
        let store = LogStore::open(dir.path()).expect("open");
        for chunk in records.chunks(50) {
            store.append(chunk.to_vec()).expect("append");
        }
        // Dropped without an explicit flush: Drop flushes; then simulate a lost checkpoint.
    }
    std::fs::write(dir.path().join("checkpoint"), "0").expect("rewind the checkpoint");
    let store = LogStore::open(dir.path()).expect("reopen");
    let req = request("*", T0, T0 + 4 * 24 * HOUR);
    same(&all_pages(&store, &req, 1000), &truth(&records, &req), "replayed");
}

/// The child side of the crash test: appends batches forever, printing each acknowledged
/// batch's first record number.
#[test]
#[ignore = "run by sigkill_mid_stream_loses_no_acknowledged_record"]
fn crash_child() {
    let Ok(dir) = std::env::var("OJEK_LOGSTORE_CRASH_DIR") else {
        return;
    };
    let store = LogStore::open(std::path::Path::new(&dir)).expect("open");
    let records = corpus(50);
    for batch in 0u64.. {
        let chunk: Vec<Record> = records
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut r = r.clone();
                r.attrs.insert("id".into(), json!(batch * 1000 + i as u64));
                r
            })
            .collect();
        store.append(chunk).expect("append");
        println!("{batch}");
    }
}

#[test]
fn sigkill_mid_stream_loses_no_acknowledged_record() {
    let dir = tempfile::tempdir().expect("dir");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "crash_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("OJEK_LOGSTORE_CRASH_DIR", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("child");
    let stdout = child.stdout.take().expect("stdout");
    let mut acknowledged = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        if let Ok(batch) = line.trim().parse::<u64>() {
            acknowledged.push(batch);
            if acknowledged.len() == 300 {
                child.kill().expect("SIGKILL");
                break;
            }
        }
    }
    let _ = child.wait();
    assert_eq!(acknowledged.len(), 300, "the child acknowledged batches");
    let store = LogStore::open(dir.path()).expect("reopen after the crash");
    let req = request("*", 0, i64::MAX / 4);
    let found = all_pages(&store, &req, 5_000);
    let mut ids: BTreeMap<u64, usize> = BTreeMap::new();
    for r in &found {
        let id = r.attrs.get("id").and_then(Value::as_u64).expect("id");
        *ids.entry(id).or_default() += 1;
    }
    assert!(ids.values().all(|n| *n == 1), "a record indexed twice");
    for batch in acknowledged {
        for i in 0..50 {
            assert!(
                ids.contains_key(&(batch * 1000 + i)),
                "acknowledged record {batch}/{i} lost"
            );
        }
    }
}
