//! The log store on a small generated corpus (16 MB of realistic shipped lines, three days,
//! 18 streams: `benches/support/loggen.rs`), for quick before/after comparisons of a change:
//!
//! - `ingest/parse_normalise`: JSON lines to records (`Record::from_json`);
//! - `ingest/store_append_flush`: the same plus appending through `LogStore` (write-ahead log
//!   with fsync, Tantivy index) into a fresh store, then a flush;
//! - `query/*`: a page of the newest 100, a count and a histogram over the whole corpus.
//!
//! The 5 GB measurements with baselines (ripgrep, SQLite FTS5) are `bench/logs/run.sh`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ojek_logs::Record;
use ojek_logstore::index::{SearchRequest, Stream};
use ojek_logstore::store::LogStore;
use serde_json::{Map, Value};

/// The same allocator as the `ojek` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "support/loggen.rs"]
mod loggen;

const BYTES: u64 = 16_000_000;
const BATCH_LINES: usize = 1000;

/// A batch of lines of one stream: app, env, lines.
type Batch = (String, String, Vec<String>);

/// Batches of lines of one stream each, in time order across streams, and the time span.
fn corpus() -> (Vec<Batch>, (i64, i64)) {
    let mut generator = loggen::Generator::new(loggen::Config {
        bytes: BYTES,
        seed: 1,
        start_ms: loggen::DEFAULT_START_MS,
        days: 3,
    });
    let names: Vec<(String, String)> = generator
        .streams()
        .iter()
        .map(|s| (s.app.to_string(), s.env.to_string()))
        .collect();
    let mut pending: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut batches = Vec::new();
    let mut line = String::new();
    while let Some(stream) = generator.next_line(&mut line) {
        let lines = pending.entry(stream).or_default();
        lines.push(std::mem::take(&mut line));
        if lines.len() == BATCH_LINES {
            let (app, env) = names[stream].clone();
            batches.push((app, env, std::mem::take(lines)));
        }
    }
    for (stream, lines) in pending {
        if !lines.is_empty() {
            let (app, env) = names[stream].clone();
            batches.push((app, env, lines));
        }
    }
    (batches, generator.span())
}

fn normalise(app: &str, env: &str, lines: &[String]) -> Vec<Record> {
    lines
        .iter()
        .map(|l| {
            let object: Map<String, Value> =
                serde_json::from_str(l).expect("generated lines are JSON objects");
            Record::from_json(object, app, env, 0)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let (batches, (from_ms, to_ms)) = corpus();
    let bytes: u64 = batches
        .iter()
        .flat_map(|(_, _, lines)| lines.iter().map(|l| l.len() as u64 + 1))
        .sum();

    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(40));
    g.bench_function("parse_normalise", |b| {
        b.iter(|| {
            batches
                .iter()
                .map(|(app, env, lines)| normalise(app, env, lines).len())
                .sum::<usize>()
        })
    });
    g.bench_function("store_append_flush", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().expect("temporary directory");
                let began = Instant::now();
                let store = LogStore::open(dir.path()).expect("store opens");
                for (app, env, lines) in &batches {
                    store.append(normalise(app, env, lines)).expect("append");
                }
                store.flush().expect("flush");
                total += began.elapsed();
                drop(store);
            }
            total
        })
    });
    g.finish();

    let dir = tempfile::tempdir().expect("temporary directory");
    let store = LogStore::open(dir.path()).expect("store opens");
    for (app, env, lines) in &batches {
        store.append(normalise(app, env, lines)).expect("append");
    }
    store.flush().expect("flush");
    let streams: Vec<Stream> = batches
        .iter()
        .map(|(app, env, _)| Stream {
            app: app.clone(),
            env: env.clone(),
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let request = |text: &str| SearchRequest {
        streams: streams.clone(),
        query: ojek_logs::parse_at(text, to_ms).expect("valid query"),
        from_ms,
        to_ms,
    };
    let index = store.index();
    let mut g = c.benchmark_group("query");
    g.sample_size(20);
    for (name, text) in [
        ("term_rare", "deadlock"),
        ("term_common", "api"),
        ("phrase", "\"connection reset by peer\""),
        ("field_level", "level:error"),
        ("range_attr", "http.status:[500 TO 599]"),
    ] {
        let req = request(text);
        g.bench_function(format!("{name}_newest_100"), |b| {
            b.iter(|| black_box(index.search(&req, 100, None).expect("search").records.len()))
        });
        g.bench_function(format!("{name}_count"), |b| {
            b.iter(|| black_box(index.count(&req).expect("count")))
        });
    }
    let req = request("level:error");
    g.bench_function("histogram_level_error_72", |b| {
        b.iter(|| black_box(index.histogram(&req, 72).expect("histogram").len()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
