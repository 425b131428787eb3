//! The logs benchmark's ojek side (driven by `bench/logs/run.sh`); every result is printed as
//! one JSON object per line on standard output.
//!
//! ```text
//! logbench ingest --data DIR --store DIR [--batch 1000] [--producers 2] [--flush-mb 0]
//! logbench stages --data DIR --scratch DIR [--mb 64]
//! logbench query  --store DIR --queries FILE [--runs 20] [--budget-secs 20]
//! ```
//!
//! - `ingest` reads the NDJSON files `loggen` wrote (`<app>.<env>.ndjson`), interleaved so
//!   that all streams advance through time together, and for each batch of lines parses the
//!   JSON, normalises it (`Record::from_json`) and appends it through `LogStore` (write-ahead
//!   log with fsync, then the Tantivy index), from `--producers` threads. It ends with a flush
//!   (everything committed and searchable), then reports MB/s and lines/s (wall clock, and per
//!   CPU-second of the whole process), and the bytes on disk of the index and the log.
//!   `LogStore::append` waits while 64 MB wait for the indexer, so memory stays bounded;
//!   `--flush-mb N` adds a flush every N MB of input (off by default).
//! - `stages` takes the first `--mb` of the data into memory and times each step on its own:
//!   parse + normalise; + serialising the batch for the log; the write-ahead log alone;
//!   the index alone (add + commit); the whole store. This is the cost breakdown.
//! - `query` opens the store's index and runs each query of `FILE` (see
//!   `bench/logs/queries.json`) over every stream and the whole span: a page of the newest
//!   100 and a count, or a histogram; one warm-up run, then `--runs` timed runs (fewer when
//!   `--budget-secs` runs out, at least 3), and reports p50/p99.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ojek_logs::Record;
use ojek_logstore::index::{LogIndex, SearchRequest, Stream, dir_size};
use ojek_logstore::store::LogStore;
use ojek_logstore::wal::Wal;
use serde_json::{Map, Value, json};

/// The same allocator as the `ojek` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DAY_MS: i64 = 86_400_000;

fn main() {
    // As `ojek up` does (see its doc).
    ojek_logstore::prefer_small_pages();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ingest") => ingest(&Args::new(&args[1..])),
        Some("stages") => stages(&Args::new(&args[1..])),
        Some("query") => query(&Args::new(&args[1..])),
        _ => Err("usage: logbench ingest|stages|query … (see the top of examples/logbench.rs)".into()),
    };
    if let Err(e) = result {
        eprintln!("logbench: {e}");
        std::process::exit(2);
    }
}

type Result<T, E = String> = std::result::Result<T, E>;

struct Args(Vec<(String, String)>);

impl Args {
    fn new(args: &[String]) -> Args {
        Args(
            args.chunks(2)
                .map(|pair| (pair[0].clone(), pair.get(1).cloned().unwrap_or_default()))
                .collect(),
        )
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn path(&self, name: &str) -> Result<PathBuf> {
        self.get(name)
            .map(PathBuf::from)
            .ok_or_else(|| format!("{name} is required"))
    }

    fn number<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| format!("{name} takes a number, not {v:?}")),
        }
    }
}

// ---- reading the generated files ----------------------------------------------------------

/// The data files, read in chunks so that all streams advance through time together (as
/// shippers of many pods would send them).
struct Feed {
    files: Vec<FeedFile>,
}

struct FeedFile {
    app: String,
    env: String,
    reader: BufReader<File>,
    read: u64,
    size: u64,
    done: bool,
}

/// One batch: its stream and its lines (each without the newline).
struct Batch {
    app: String,
    env: String,
    lines: Vec<Vec<u8>>,
    bytes: u64,
}

impl Feed {
    fn open(dir: &Path) -> Result<Feed> {
        let mut files = Vec::new();
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut paths: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "ndjson"))
            .collect();
        paths.sort();
        for path in paths {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let Some((app, env)) = stem.split_once('.') else {
                continue;
            };
            let file = File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let size = file.metadata().map_err(|e| e.to_string())?.len();
            files.push(FeedFile {
                app: app.to_string(),
                env: env.to_string(),
                reader: BufReader::with_capacity(1 << 20, file),
                read: 0,
                size,
                done: false,
            });
        }
        if files.is_empty() {
            return Err(format!("no <app>.<env>.ndjson files in {}", dir.display()));
        }
        Ok(Feed { files })
    }

    fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// The next batch of up to `lines` lines of the stream that is furthest behind.
    fn next(&mut self, lines: usize) -> Result<Option<Batch>> {
        let Some(file) = self.files.iter_mut().filter(|f| !f.done).min_by(|a, b| {
            let fa = a.read as f64 / a.size.max(1) as f64;
            let fb = b.read as f64 / b.size.max(1) as f64;
            fa.total_cmp(&fb)
        }) else {
            return Ok(None);
        };
        let mut batch = Batch {
            app: file.app.clone(),
            env: file.env.clone(),
            lines: Vec::with_capacity(lines),
            bytes: 0,
        };
        while batch.lines.len() < lines {
            let mut line = Vec::with_capacity(1024);
            let n = file
                .reader
                .read_until(b'\n', &mut line)
                .map_err(|e| e.to_string())?;
            if n == 0 {
                file.done = true;
                break;
            }
            file.read += n as u64;
            batch.bytes += n as u64;
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            if !line.is_empty() {
                batch.lines.push(line);
            }
        }
        Ok(Some(batch))
    }
}

/// Parses and normalises a batch's lines.
fn normalise(batch: &Batch, received_ms: i64) -> Result<Vec<Record>> {
    batch
        .lines
        .iter()
        .map(|line| {
            let object: Map<String, Value> =
                serde_json::from_slice(line).map_err(|e| format!("a line is not a JSON object: {e}"))?;
            Ok(Record::from_json(object, &batch.app, &batch.env, received_ms))
        })
        .collect()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// CPU seconds (user + system) this process used so far, all threads.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // Fields after the command (which is in parentheses and may hold spaces).
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return f64::NAN;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the command.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (ticks(11) + ticks(12)) / clock_ticks()
}

fn clock_ticks() -> f64 {
    std::env::var("CLK_TCK")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100.0)
}

/// Peak resident memory of the process, MB.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<f64>().ok()))
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn emit(value: &Value) {
    println!("{value}");
}

// ---- ingest ------------------------------------------------------------------------------------

fn ingest(args: &Args) -> Result<()> {
    let data = args.path("--data")?;
    let dir = args.path("--store")?;
    let batch_lines: usize = args.number("--batch", 1000)?;
    let producers: usize = args.number("--producers", 2)?;
    let flush_bytes: u64 = args.number::<u64>("--flush-mb", 0)? * 1_000_000;
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let feed = Feed::open(&data)?;
    let raw_bytes = feed.total_bytes();
    let feed = Mutex::new(feed);
    let store = LogStore::open(&dir).map_err(|e| e.to_string())?;
    let bytes = AtomicU64::new(0);
    let lines = AtomicU64::new(0);
    let next_flush = AtomicU64::new(flush_bytes);
    let cpu_before = cpu_seconds();
    let began = Instant::now();
    let failure: Mutex<Option<String>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..producers.max(1) {
            scope.spawn(|| {
                let run = || -> Result<()> {
                    loop {
                        let batch = feed.lock().map_err(|_| "poisoned")?.next(batch_lines)?;
                        let Some(batch) = batch else {
                            return Ok(());
                        };
                        let records = normalise(&batch, now_ms())?;
                        let n = records.len() as u64;
                        store.append(records).map_err(|e| e.to_string())?;
                        lines.fetch_add(n, Ordering::Relaxed);
                        let total = bytes.fetch_add(batch.bytes, Ordering::Relaxed) + batch.bytes;
                        let due = next_flush.load(Ordering::Relaxed);
                        if flush_bytes > 0
                            && total >= due
                            && next_flush
                                .compare_exchange(
                                    due,
                                    due + flush_bytes,
                                    Ordering::Relaxed,
                                    Ordering::Relaxed,
                                )
                                .is_ok()
                        {
                            store.flush().map_err(|e| e.to_string())?;
                        }
                    }
                };
                if let Err(e) = run() {
                    *failure.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(e);
                }
            });
        }
    });
    if let Some(e) = failure
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
    {
        return Err(e);
    }
    store.flush().map_err(|e| e.to_string())?;
    let secs = began.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    let partitions = store.index().partitions().len();
    let index_after_flush = dir_size(&dir.join("index"));
    let wal_after_flush = dir_size(&dir.join("wal"));
    drop(store);
    let closed_secs = began.elapsed().as_secs_f64();
    let index_bytes = dir_size(&dir.join("index"));
    let wal_bytes = dir_size(&dir.join("wal"));
    let bytes = bytes.load(Ordering::Relaxed);
    let lines = lines.load(Ordering::Relaxed);
    emit(&json!({
        "bench": "ingest",
        "raw_bytes": raw_bytes,
        "bytes": bytes,
        "lines": lines,
        "producers": producers,
        "batch_lines": batch_lines,
        "flush_mb": flush_bytes / 1_000_000,
        "seconds": secs,
        "seconds_until_closed": closed_secs,
        "cpu_seconds": cpu,
        "mb_per_s": bytes as f64 / 1e6 / secs,
        "lines_per_s": lines as f64 / secs,
        "mb_per_cpu_s": bytes as f64 / 1e6 / cpu,
        "lines_per_cpu_s": lines as f64 / cpu,
        "partitions": partitions,
        "index_bytes_after_flush": index_after_flush,
        "wal_bytes_after_flush": wal_after_flush,
        "index_bytes": index_bytes,
        "wal_bytes": wal_bytes,
        "index_per_raw": index_bytes as f64 / bytes as f64,
        "index_and_wal_per_raw": (index_after_flush + wal_after_flush) as f64 / bytes as f64,
        "peak_rss_mb": peak_rss_mb(),
    }));
    Ok(())
}

// ---- stages --------------------------------------------------------------------------------------

fn stages(args: &Args) -> Result<()> {
    let data = args.path("--data")?;
    let scratch = args.path("--scratch")?;
    let limit: u64 = args.number::<u64>("--mb", 64)? * 1_000_000;
    let batch_lines: usize = args.number("--batch", 1000)?;
    let mut feed = Feed::open(&data)?;
    let mut batches = Vec::new();
    let mut bytes = 0u64;
    while bytes < limit {
        let Some(batch) = feed.next(batch_lines)? else {
            break;
        };
        bytes += batch.bytes;
        batches.push(batch);
    }
    let lines: u64 = batches.iter().map(|b| b.lines.len() as u64).sum();
    let received = now_ms();
    let report = |stage: &str, secs: f64, cpu: f64| {
        emit(&json!({
            "bench": "stage",
            "stage": stage,
            "bytes": bytes,
            "lines": lines,
            "seconds": secs,
            "cpu_seconds": cpu,
            "mb_per_s": bytes as f64 / 1e6 / secs,
            "lines_per_s": lines as f64 / secs,
        }));
    };
    let timed = |f: &mut dyn FnMut() -> Result<()>| -> Result<(f64, f64)> {
        let cpu = cpu_seconds();
        let t = Instant::now();
        f()?;
        Ok((t.elapsed().as_secs_f64(), cpu_seconds() - cpu))
    };

    // 1. Parse the JSON and normalise.
    let mut records: Vec<Vec<Record>> = Vec::new();
    let (s, c) = timed(&mut || {
        records = batches
            .iter()
            .map(|b| normalise(b, received))
            .collect::<Result<_>>()?;
        Ok(())
    })?;
    report("parse + normalise", s, c);

    // 2. Serialise each batch as the log's payload.
    let mut payloads: Vec<Vec<u8>> = Vec::new();
    let (s, c) = timed(&mut || {
        payloads = records
            .iter()
            .map(|r| serde_json::to_vec(r).map_err(|e| e.to_string()))
            .collect::<Result<_>>()?;
        Ok(())
    })?;
    report("serialise for the log (serde_json)", s, c);

    // 3. The write-ahead log alone: one append (write + fsync) per batch, one at a time.
    let wal_dir = scratch.join("wal-only");
    let _ = std::fs::remove_dir_all(&wal_dir);
    let (s, c) = timed(&mut || {
        let (wal, _) = Wal::open(&wal_dir, 0).map_err(|e| e.to_string())?;
        for p in &payloads {
            wal.append(p.clone()).map_err(|e| e.to_string())?;
        }
        Ok(())
    })?;
    report("write-ahead log alone (1 append + fsync per batch)", s, c);
    let _ = std::fs::remove_dir_all(&wal_dir);

    // 4. The index alone: add every batch, then commit.
    let index_dir = scratch.join("index-only");
    let _ = std::fs::remove_dir_all(&index_dir);
    let (s, c) = timed(&mut || {
        let index = LogIndex::open(&index_dir).map_err(|e| e.to_string())?;
        for (i, r) in records.iter().enumerate() {
            index.add(i as u64 + 1, r).map_err(|e| e.to_string())?;
        }
        index.commit(records.len() as u64).map_err(|e| e.to_string())?;
        Ok(())
    })?;
    report("index alone (Tantivy add + commit)", s, c);
    let index_bytes = dir_size(&index_dir);
    emit(
        &json!({"bench": "stage-size", "index_bytes": index_bytes, "bytes": bytes,
        "index_per_raw": index_bytes as f64 / bytes as f64}),
    );
    let _ = std::fs::remove_dir_all(&index_dir);

    // 5. Everything: parse, normalise, append through the store, flush.
    let store_dir = scratch.join("store");
    let _ = std::fs::remove_dir_all(&store_dir);
    let (s, c) = timed(&mut || {
        let store = LogStore::open(&store_dir).map_err(|e| e.to_string())?;
        for b in &batches {
            let r = normalise(b, received)?;
            store.append(r).map_err(|e| e.to_string())?;
        }
        store.flush().map_err(|e| e.to_string())?;
        Ok(())
    })?;
    report(
        "whole store, one producer (parse, normalise, log, index, flush)",
        s,
        c,
    );
    let _ = std::fs::remove_dir_all(&store_dir);
    Ok(())
}

// ---- queries --------------------------------------------------------------------------------------

fn query(args: &Args) -> Result<()> {
    let dir = args.path("--store")?;
    let file = args.path("--queries")?;
    let runs: usize = args.number("--runs", 20)?;
    let budget = Duration::from_secs_f64(args.number("--budget-secs", 20.0)?);
    let only: Option<&str> = args.get("--only");
    let queries: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?,
    )
    .map_err(|e| format!("{}: {e}", file.display()))?;
    let open = Instant::now();
    let index = Arc::new(LogIndex::open(&dir.join("index")).map_err(|e| e.to_string())?);
    let open_secs = open.elapsed().as_secs_f64();
    let partitions = index.partitions();
    let streams: Vec<Stream> = partitions
        .iter()
        .map(|(k, _)| k.stream.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let first_day = partitions.iter().map(|(k, _)| k.day).min().unwrap_or(0);
    let last_day = partitions.iter().map(|(k, _)| k.day).max().unwrap_or(0);
    let (from_ms, to_ms) = (first_day * DAY_MS, (last_day + 1) * DAY_MS);
    emit(
        &json!({"bench": "open", "seconds": open_secs, "partitions": partitions.len(),
        "streams": streams.len(), "from_ms": from_ms, "to_ms": to_ms}),
    );
    for q in &queries {
        let name = q["name"].as_str().unwrap_or("?");
        if only.is_some_and(|o| !name.contains(o)) {
            continue;
        }
        let text = q["ojek"]
            .as_str()
            .ok_or_else(|| format!("query {name} has no \"ojek\""))?;
        let parsed = ojek_logs::parse_at(text, to_ms).map_err(|e| format!("query {name} ({text}): {e}"))?;
        let req = SearchRequest {
            streams: streams.clone(),
            query: parsed,
            from_ms,
            to_ms,
        };
        let ops: Vec<&str> = if q["kind"] == "histogram" {
            vec!["histogram"]
        } else {
            vec!["page", "count"]
        };
        for op in ops {
            let buckets = q["buckets"].as_u64().unwrap_or(96) as usize;
            let once = || -> Result<u64> {
                match op {
                    "page" => Ok(index
                        .search(&req, 100, None)
                        .map_err(|e| e.to_string())?
                        .records
                        .len() as u64),
                    "count" => index.count(&req).map_err(|e| e.to_string()),
                    _ => Ok(index
                        .histogram(&req, buckets)
                        .map_err(|e| e.to_string())?
                        .iter()
                        .map(|(_, n)| n)
                        .sum()),
                }
            };
            let (times, result) = measure(runs, budget, once)?;
            emit(&json!({
                "bench": "query",
                "engine": "ojek",
                "name": name,
                "kind": q["kind"],
                "query": text,
                "op": op,
                "result": result,
                "runs": times.len(),
                "p50_ms": percentile(&times, 0.50),
                "p99_ms": percentile(&times, 0.99),
                "mean_ms": times.iter().sum::<f64>() / times.len() as f64,
            }));
        }
    }
    Ok(())
}

/// One warm-up run, then up to `runs` timed ones (at least 3, fewer than `runs` once `budget`
/// is spent): the times in milliseconds, and the last result.
fn measure(runs: usize, budget: Duration, mut once: impl FnMut() -> Result<u64>) -> Result<(Vec<f64>, u64)> {
    let mut result = once()?;
    let began = Instant::now();
    let mut times = Vec::with_capacity(runs);
    while times.len() < runs.max(1) && (times.len() < 3 || began.elapsed() < budget) {
        let t = Instant::now();
        result = once()?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    Ok((times, result))
}

/// Nearest-rank percentile of `times`.
fn percentile(times: &[f64], p: f64) -> f64 {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}
