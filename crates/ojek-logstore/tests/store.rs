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
            // Numbers as strings, floats, arrays, arrays of objects, a literal dotted key,
            // integers past 2^53, and values too long to be indexed exactly.
            match (r >> 24) % 8 {
                0 => {
                    attrs.insert(
                        "size".into(),
                        json!(["42", "1.5e3", "-7", "n/a"][(r >> 5) as usize % 4]),
                    );
                }
                1 => {
                    attrs.insert("ratio".into(), json!((r % 100) as f64 / 100.0));
                }
                2 => {
                    attrs.insert("samples".into(), json!([r % 10, (r >> 3) % 100, "x"]));
                }
                3 => {
                    attrs.insert(
                        "items".into(),
                        json!([{ "price": r % 100 }, { "price": (r >> 7) % 100, "sku": "a" }]),
                    );
                }
                4 => {
                    attrs.insert("lat.ms".into(), json!(r % 20));
                    attrs.insert("lat".into(), json!({ "ms": (r >> 9) % 20 }));
                }
                5 => {
                    attrs.insert("big".into(), json!(9_007_199_254_740_992u64 + r % 3));
                }
                6 => {
                    attrs.insert("stack".into(), json!(long_value(r % 2)));
                    // A string that reads as a time stays a string.
                    attrs.insert("started".into(), json!(format!("2026-11-2{}T10:00:00Z", r % 3)));
                }
                _ => {}
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

/// A stack-trace-like value of 360 bytes.
fn long_value(n: u64) -> String {
    format!("{}{n}", "at frame ".repeat(40))
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
    "size:>100",
    "size:[-10 TO 42]",
    "ratio:[0.1 TO 0.3}",
    "ratio:>0.95 OR status:503",
    "samples:>=95",
    "items.price:<3",
    "lat.ms:<2",
    "big:>9007199254740992",
    "big:9007199254740993",
    "revision:[2 TO 3]",
    "NOT duration_ms:>=450",
    "started:\"2026-11-21T10:00:00Z\"",
    "started:2026-11-2*",
    // Exact numbers (from `numv`): integers, floats, integer text for floats and the other
    // way round, in arrays and nested objects, numeric strings (text only), huge integers.
    "size:42",
    "size:1500",
    "ratio:0.25",
    "ratio:0.5 OR ratio:0.75",
    "status:500.0",
    "duration_ms:450",
    "samples:95",
    "lat.ms:7",
    "big:9007199254740992",
    "NOT status:200",
];

#[test]
fn every_operator_matches_the_ground_truth_page_by_page() {
    let dir = tempfile::tempdir().expect("dir");
    let records = corpus(6_000);
    let store = fill(dir.path(), &records);
    let (from, to) = (T0, T0 + 3 * 24 * HOUR + 1000);
    // A value longer than what the index keeps as an exact term.
    let long = format!("stack:\"{}\"", long_value(1));
    assert!(long.len() > ojek_logstore::index::MAX_INDEXED_VALUE);
    for q in QUERIES.iter().copied().chain([long.as_str()]) {
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
    // Days hold every stream: the dropped partitions are gone from the listing (also after the
    // restart, read back from the index), the other stream's are all there.
    let listed = |store: &LogStore| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = store
            .index()
            .partitions()
            .into_iter()
            .map(|(k, _)| (k.stream.app.clone(), k.day_name()))
            .collect();
        v.sort();
        v
    };
    let mut expected_partitions: Vec<(String, String)> = records
        .iter()
        .filter(|r| r.app != "payments" || r.timestamp >= T0 + 2 * 24 * HOUR)
        .map(|r| {
            let day = chrono_day(r.timestamp);
            (r.app.clone(), day)
        })
        .collect();
    expected_partitions.sort();
    expected_partitions.dedup();
    assert_eq!(listed(&store), expected_partitions);
    // Once no stream is left in a day, its directory goes.
    let drivers = Stream {
        app: "driver-location".into(),
        env: "staging".into(),
    };
    let first_day = dir.path().join("index").join("2026-11-20");
    assert!(
        first_day.is_dir(),
        "{} holds the driver-location stream",
        first_day.display()
    );
    let dropped = store.index().drop_before(&drivers, T0 + 24 * HOUR).expect("drop");
    assert_eq!(dropped.len(), 1);
    assert!(!first_day.exists(), "an empty day's directory is removed");
    let expected: Vec<Record> = expected
        .into_iter()
        .filter(|r| r.timestamp >= T0 + 24 * HOUR)
        .collect();
    same(
        &all_pages(&store, &req, 1000),
        &expected,
        "after dropping a whole day",
    );
}

/// `YYYY-MM-DD` of a time in Unix ms.
fn chrono_day(ms: i64) -> String {
    ojek_logstore::index::PartitionKey {
        stream: Stream {
            app: String::new(),
            env: String::new(),
        },
        day: ms.div_euclid(24 * HOUR),
    }
    .day_name()
}

/// Searches, flushes (commits) and retention on other threads while batches are appended: no
/// deadlock, every search answers, and the end state is the ground truth.
#[test]
fn searches_and_retention_run_while_records_are_indexed() {
    let dir = tempfile::tempdir().expect("dir");
    let records = corpus(3_000);
    let store = std::sync::Arc::new(LogStore::open(dir.path()).expect("open"));
    let payments = Stream {
        app: "payments".into(),
        env: "staging".into(),
    };
    let cut = T0 + 24 * HOUR;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|n| {
            let (store, done) = (store.clone(), done.clone());
            std::thread::spawn(move || {
                let mut searches = 0;
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let req = request(
                        if n == 0 { "level:error" } else { "status:>=500" },
                        T0,
                        T0 + 4 * 24 * HOUR,
                    );
                    store.index().search(&req, 50, None).expect("search");
                    store.index().histogram(&req, 24).expect("histogram");
                    if n == 1 {
                        store.flush().expect("flush");
                    }
                    searches += 1;
                }
                searches
            })
        })
        .collect();
    for (i, chunk) in records.chunks(50).enumerate() {
        store.append(chunk.to_vec()).expect("append");
        if i % 10 == 5 {
            store.index().drop_before(&payments, cut).expect("retention");
        }
    }
    store.flush().expect("flush");
    store.index().drop_before(&payments, cut).expect("retention");
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    for reader in readers {
        assert!(reader.join().expect("reader") > 0, "every reader searched");
    }
    let req = request("*", T0, T0 + 4 * 24 * HOUR);
    let expected: Vec<Record> = truth(&records, &req)
        .into_iter()
        .filter(|r| r.app != "payments" || r.timestamp >= cut)
        .collect();
    same(
        &all_pages(&store, &req, 1000),
        &expected,
        "after concurrent indexing and retention",
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

/// A day written before `numv` existed (numbers were attribute terms then), built here with
/// that schema, is rewritten into the current one when the index opens: same answers as the
/// ground truth, keys and the committed sequence number kept, nothing left beside it.
#[test]
fn a_day_written_by_the_previous_schema_is_upgraded_and_answers_the_same() {
    use tantivy::schema::{
        IndexRecordOption, JsonObjectOptions, NumericOptions, OwnedValue, STORED, Schema, TextFieldIndexing,
        TextOptions,
    };
    use tantivy::{Index, TantivyDocument};

    let records: Vec<Record> = corpus(2000)
        .into_iter()
        .filter(|r| r.timestamp >= T0 && r.timestamp < T0 + 24 * HOUR)
        .collect();
    assert!(records.len() > 300, "the corpus has records on the first day");
    let dir = tempfile::tempdir().expect("tmp");
    let day = dir.path().join("2026-11-20");
    std::fs::create_dir_all(&day).expect("day dir");

    let indexing = |tokenizer: &str, record: IndexRecordOption| {
        TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(record)
            .set_fieldnorms(false)
    };
    let exact = TextOptions::default().set_indexing_options(indexing("raw", IndexRecordOption::Basic));
    let mut b = Schema::builder();
    let stream = b.add_text_field("stream", exact.clone());
    let key = b.add_u64_field("key", NumericOptions::default().set_fast());
    let ts = b.add_i64_field("ts", NumericOptions::default().set_fast());
    let level = b.add_text_field("level", exact.clone());
    let host = b.add_text_field("host", exact.clone());
    let pod = b.add_text_field("pod", exact.clone());
    let variant = b.add_text_field("variant", exact);
    let revision = b.add_i64_field("revision", NumericOptions::default().set_indexed());
    let message = b.add_text_field(
        "message",
        TextOptions::default()
            .set_indexing_options(indexing("default", IndexRecordOption::WithFreqsAndPositions)),
    );
    let attrs = b.add_json_field(
        "attrs",
        JsonObjectOptions::default()
            .set_indexing_options(indexing("raw", IndexRecordOption::Basic))
            .set_expand_dots_enabled(),
    );
    let nums = b.add_json_field(
        "nums",
        JsonObjectOptions::default()
            .set_fast(None)
            .set_expand_dots_enabled(),
    );
    let doc_field = b.add_text_field("doc", STORED);
    let old = Index::create_in_dir(&day, b.build()).expect("legacy index");
    let mut writer: tantivy::IndexWriter = old.writer_with_num_threads(1, 32 * 1024 * 1024).expect("writer");
    fn numbers(v: &Value) -> Option<OwnedValue> {
        match v {
            Value::Array(items) => {
                let kept: Vec<OwnedValue> = items.iter().filter_map(numbers).collect();
                (!kept.is_empty()).then_some(OwnedValue::Array(kept))
            }
            Value::Object(m) => {
                let kept: Vec<(String, OwnedValue)> = m
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), numbers(v)?)))
                    .collect();
                (!kept.is_empty()).then_some(OwnedValue::Object(kept))
            }
            other => ojek_logs::query::range_number(other).map(OwnedValue::F64),
        }
    }
    let mut keys = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let mut d = TantivyDocument::default();
        d.add_text(stream, format!("{}/{}", r.app, r.env));
        let k = ojek_logstore::index::key_of(r.timestamp) | i as u64;
        keys.push(k);
        d.add_u64(key, k);
        d.add_i64(ts, r.timestamp);
        for (f, v) in [
            (level, &r.level),
            (host, &r.host),
            (pod, &r.pod),
            (variant, &r.variant),
        ] {
            if let Some(v) = v {
                d.add_text(f, v);
            }
        }
        if let Some(n) = r.revision {
            d.add_i64(revision, n);
        }
        d.add_text(message, &r.message);
        let object: std::collections::BTreeMap<String, OwnedValue> = r
            .attrs
            .iter()
            .map(|(k, v)| (k.clone(), OwnedValue::from(v.clone())))
            .collect();
        d.add_object(attrs, object);
        let n: std::collections::BTreeMap<String, OwnedValue> = r
            .attrs
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), numbers(v)?)))
            .collect();
        if !n.is_empty() {
            d.add_object(nums, n);
        }
        d.add_text(doc_field, serde_json::to_string(r).expect("json"));
        writer.add_document(d).expect("add");
    }
    let mut prepared = writer.prepare_commit().expect("prepare");
    prepared.set_payload("41");
    prepared.commit().expect("commit");
    writer.wait_merging_threads().expect("merges");
    drop(old);

    let index = ojek_logstore::index::LogIndex::open(dir.path()).expect("opens and upgrades");
    let upgraded = Index::open_in_dir(&day).expect("the day");
    assert!(
        upgraded.schema().get_field("numv").is_ok(),
        "the day has the current schema"
    );
    let leftovers: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(leftovers, vec!["2026-11-20".to_string()]);
    let to = T0 + 24 * HOUR;
    for q in [
        "*",
        "status:500",
        "status:>=500",
        "size:42",
        "ratio:0.25",
        "refused",
        "level:error AND status:503",
    ] {
        let req = request(q, T0, to);
        let mut found = Vec::new();
        let mut cursor = None;
        loop {
            let p = index.search(&req, 50, cursor).expect("search");
            found.extend(p.records);
            match p.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        same(&found, &truth(&records, &req), q);
    }
    // Every record kept its key (the cursor order).
    let searcher = upgraded.reader().expect("reader").searcher();
    let mut stored: Vec<u64> = Vec::new();
    for segment in searcher.segment_readers() {
        let column = segment.fast_fields().u64("key").expect("key column");
        stored.extend(segment.doc_ids_alive().filter_map(|id| column.first(id)));
    }
    stored.sort_unstable();
    let mut expected_keys = keys.clone();
    expected_keys.sort_unstable();
    assert_eq!(stored, expected_keys);
    // The committed sequence number came along: entry 41 is not indexed twice, 42 is.
    let before = index.count(&request("*", T0, to)).expect("count");
    index.add(41, &records[..1]).expect("replayed entry");
    index.add(42, &records[..1]).expect("new entry");
    index.commit(42).expect("commit");
    assert_eq!(index.count(&request("*", T0, to)).expect("count"), before + 1);
    assert_eq!(before as usize, records.len());
}
