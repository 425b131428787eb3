//! The log index: Tantivy, one index per UTC day for every stream, under `<dir>/<YYYY-MM-DD>/`,
//! with the stream (app and environment) as an exact field. A *partition* is one stream's
//! records of one day: retention deletes a partition's records from its day (and the day's
//! directory once no stream is left in it), and the archive exports one.
//!
//! One index per day rather than per stream and day: a writer (its threads and memory budget)
//! and a set of segments per day, whatever the number of apps, and words common to every
//! stream go into one term dictionary per segment instead of one per stream (in the logs
//! benchmark, 18 streams: see `bench/logs/README.md`).
//!
//! Fields: `stream` (exact, `<app>/<env>`), `key` (u64, fast: the time in milliseconds shifted left by [`TIE_BITS`] plus a
//! tie-breaker, so that "newest first" is one fast-field order and a cursor is one number),
//! `ts` (i64, fast), `level`, `host`, `pod`, `variant` (exact), `revision` (i64), `message`
//! (full text, positions, Tantivy's default tokenizer), `attrs` (JSON, exact strings and
//! booleans of up to [`MAX_INDEXED_VALUE`] bytes), `nums` (JSON, fast: the numbers and numeric
//! strings among the attributes as `f64`, for ranges), `numv` (JSON, fast: the JSON numbers
//! alone, for exact values: as terms their many distinct values cost more to index than the
//! rest of the attributes), and the record itself as stored JSON (zstd-compressed document
//! store). No field keeps field norms: nothing is scored. A day written before `numv` existed
//! is rewritten into this schema when it is opened (`LogIndex::upgrade_day`).
//!
//! Each day's commits carry, as their payload, the highest write-ahead-log sequence
//! number they contain: replaying the log after a crash skips what a partition already has, so
//! every acknowledged record is indexed exactly once.

use std::collections::BTreeMap;
use std::ops::Bound as StdBound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ojek_logs::query::{Bound, Query, RangeValue};
use ojek_logs::{Record, query};
use serde::Serialize;
use serde_json::Value;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, Occur, PhraseQuery, Query as TQuery, RangeQuery, RegexQuery,
    TermQuery,
};
use tantivy::schema::{
    Field, IndexRecordOption, JsonObjectOptions, NumericOptions, OwnedValue, STORED, Schema,
    TextFieldIndexing, TextOptions,
};
use tantivy::store::{Compressor, ZstdCompressor};
use tantivy::{
    DocAddress, Index, IndexReader, IndexSettings, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term,
};

/// Bits of `key` below the milliseconds: records of the same millisecond are ordered by them.
pub const TIE_BITS: u32 = 21;
/// Memory for each indexing thread of a day's writer.
const WRITER_BYTES_PER_THREAD: usize = 128 * 1024 * 1024;
/// Segments with more records than this are not merged further.
const MERGE_BELOW_DOCS: usize = 100_000;
/// A day's writer is closed (its memory given back) after this many commits without records.
const IDLE_COMMITS: u32 = 12;
/// Attribute strings longer than this many bytes (stack traces, dumps) are stored but not
/// indexed as exact values: as terms they would be as large as they are unique. A query for
/// such a value checks stored records.
pub const MAX_INDEXED_VALUE: usize = 256;
/// Days are UTC days of this many milliseconds.
const DAY_MS: i64 = 86_400_000;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// Tantivy failed.
    #[error("log index {path}: {source}")]
    Tantivy {
        /// The partition.
        path: PathBuf,
        /// Why.
        #[source]
        source: tantivy::TantivyError,
    },
    /// The file system failed.
    #[error("log index {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A stream name that cannot be a directory name.
    #[error("`{0}` is not a valid app or environment name for a log stream")]
    BadName(String),
}

type Result<T, E = IndexError> = std::result::Result<T, E>;

/// A stream: an app in an environment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Stream {
    /// App name.
    pub app: String,
    /// Environment.
    pub env: String,
}

/// A partition: a stream's records of one UTC day.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct PartitionKey {
    /// The stream.
    pub stream: Stream,
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
}

impl PartitionKey {
    /// The day as `YYYY-MM-DD`.
    pub fn day_name(&self) -> String {
        day_name(self.day)
    }
}

fn day_name(day: i64) -> String {
    chrono::DateTime::from_timestamp_millis(day * DAY_MS)
        .map_or_else(|| format!("day-{day}"), |t| t.format("%Y-%m-%d").to_string())
}

fn parse_day(name: &str) -> Option<i64> {
    let date = chrono::NaiveDate::parse_from_str(name, "%Y-%m-%d").ok()?;
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
    Some((date - epoch).num_days())
}

/// The schema's fields.
#[derive(Clone, Copy)]
struct Fields {
    stream: Field,
    key: Field,
    ts: Field,
    level: Field,
    host: Field,
    pod: Field,
    variant: Field,
    revision: Field,
    message: Field,
    attrs: Field,
    nums: Field,
    doc: Field,
    numv: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    // Nothing is scored (results are ordered by time), so no field keeps field norms.
    let indexing = |tokenizer: &str, record: IndexRecordOption| {
        TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(record)
            .set_fieldnorms(false)
    };
    let exact = TextOptions::default().set_indexing_options(indexing("raw", IndexRecordOption::Basic));
    let text = TextOptions::default()
        .set_indexing_options(indexing("default", IndexRecordOption::WithFreqsAndPositions));
    let attrs = JsonObjectOptions::default()
        .set_indexing_options(indexing("raw", IndexRecordOption::Basic))
        .set_expand_dots_enabled();
    let fields = Fields {
        stream: b.add_text_field("stream", exact.clone()),
        // Fast fields only: ranges on a fast field are answered from its column, and as terms
        // these nearly unique values were the largest part of the term dictionaries.
        key: b.add_u64_field("key", NumericOptions::default().set_fast()),
        ts: b.add_i64_field("ts", NumericOptions::default().set_fast()),
        level: b.add_text_field("level", exact.clone()),
        host: b.add_text_field("host", exact.clone()),
        pod: b.add_text_field("pod", exact.clone()),
        variant: b.add_text_field("variant", exact),
        revision: b.add_i64_field("revision", NumericOptions::default().set_indexed()),
        message: b.add_text_field("message", text),
        attrs: b.add_json_field("attrs", attrs),
        nums: b.add_json_field(
            "nums",
            JsonObjectOptions::default()
                .set_fast(None)
                .set_expand_dots_enabled(),
        ),
        doc: b.add_text_field("doc", STORED),
        // Last, so that the fields before it keep their numbers in indexes written before it
        // existed (see `LogIndex::upgrade_day`).
        numv: b.add_json_field(
            "numv",
            JsonObjectOptions::default()
                .set_fast(None)
                .set_expand_dots_enabled(),
        ),
    };
    (b.build(), fields)
}

/// One day's index. Searches use only `reader` and `streams`, so they never wait for a
/// commit (which holds `state` while Tantivy writes its segments).
struct Day {
    path: PathBuf,
    index: Index,
    reader: IndexReader,
    state: Mutex<DayState>,
    /// The streams with records here (committed or not).
    streams: Mutex<BTreeMap<Stream, StreamStats>>,
}

/// A day's writing side.
struct DayState {
    writer: Option<IndexWriter>,
    /// The highest write-ahead-log sequence number committed here.
    committed_seq: u64,
    /// The highest one added, committed or not.
    added_seq: u64,
    /// Commits since a record was last added here.
    idle_commits: u32,
    /// Set when retention removed the day: a writer that still holds it must look again.
    removed: bool,
}

impl Day {
    fn state(&self) -> std::sync::MutexGuard<'_, DayState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn streams(&self) -> std::sync::MutexGuard<'_, BTreeMap<Stream, StreamStats>> {
        self.streams
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn tantivy(&self) -> impl FnOnce(tantivy::TantivyError) -> IndexError + '_ {
        |source| IndexError::Tantivy {
            path: self.path.clone(),
            source,
        }
    }
}

/// A read-only view of one partition: see [`LogIndex::partition_snapshot`].
pub(crate) struct PartitionSnapshot {
    /// Over what the partition's day has committed.
    pub searcher: tantivy::Searcher,
    /// The partition's documents among the day's.
    pub stream: TermQuery,
    /// The sequence number committed in the day.
    pub committed_seq: u64,
}

/// A stream's records in a day.
#[derive(Debug, Clone, Copy, Default)]
struct StreamStats {
    /// How many (committed or not).
    records: u64,
    /// The highest write-ahead-log sequence number that added one (for records found on
    /// disk at start: the day's committed one).
    last_seq: u64,
}

/// The log index.
pub struct LogIndex {
    dir: PathBuf,
    schema: Schema,
    fields: Fields,
    days: Mutex<BTreeMap<i64, Arc<Day>>>,
}

/// What to search.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    /// The streams to search (those the reader may read).
    pub streams: Vec<Stream>,
    /// The query.
    pub query: Query,
    /// From this time (Unix ms, inclusive).
    pub from_ms: i64,
    /// To this time (Unix ms, exclusive).
    pub to_ms: i64,
}

/// One page of results, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    /// The records.
    pub records: Vec<Record>,
    /// Pass it back for the next (older) page; `None` at the end.
    pub next_cursor: Option<u64>,
}

impl LogIndex {
    /// Opens the index in `dir`, with every day found there.
    pub fn open(dir: &Path) -> Result<LogIndex> {
        std::fs::create_dir_all(dir).map_err(|source| IndexError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let (schema, fields) = schema();
        let index = LogIndex {
            dir: dir.to_path_buf(),
            schema,
            fields,
            days: Mutex::new(BTreeMap::new()),
        };
        for (day, path) in index.scan()? {
            let opened = index.open_day(&path)?;
            index.lock().insert(day, Arc::new(opened));
        }
        Ok(index)
    }

    /// The map of days: held only to find, add or remove one, never during a search or commit.
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<i64, Arc<Day>>> {
        self.days
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The days on disk.
    fn scan(&self) -> Result<Vec<(i64, PathBuf)>> {
        let io = |source| IndexError::Io {
            path: self.dir.clone(),
            source,
        };
        // An upgrade interrupted between its renames left the whole new day beside the
        // missing one: put it in place (`upgrade_day` finishes the rest).
        for e in std::fs::read_dir(&self.dir).map_err(io)? {
            let e = e.map_err(io)?;
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(day) = name.strip_suffix(".upgrade")
                && parse_day(day).is_some()
                && e.path().join(UPGRADE_DONE).exists()
                && !self.dir.join(day).join("meta.json").exists()
            {
                let _ = std::fs::remove_dir_all(self.dir.join(day));
                std::fs::rename(e.path(), self.dir.join(day)).map_err(io)?;
            }
        }
        let mut out = Vec::new();
        for e in std::fs::read_dir(&self.dir).map_err(io)? {
            let e = e.map_err(io)?;
            if e.file_type().map_err(io)?.is_dir()
                && let Some(day) = parse_day(&e.file_name().to_string_lossy())
            {
                out.push((day, e.path()));
            }
        }
        Ok(out)
    }

    /// Rewrites a day written before the schema's last change (no `numv` field: its
    /// attributes' numbers were terms) into the current schema, from its stored records,
    /// keeping each record's key (so cursors stay valid) and the day's committed sequence
    /// number. The new index is built beside the old one and swapped in by renames; a crash
    /// part way leaves the old day or the new one whole (finished on the next open).
    fn upgrade_day(&self, path: &Path) -> Result<()> {
        let tantivy = |source| IndexError::Tantivy {
            path: path.to_path_buf(),
            source,
        };
        let io = |source| IndexError::Io {
            path: path.to_path_buf(),
            source,
        };
        let side = |ext: &str| path.with_extension(ext);
        let (new, old) = (side("upgrade"), side("old"));
        // A crash after the first rename: the new day is whole, put it in place.
        if !path.join("meta.json").exists() && new.join(UPGRADE_DONE).exists() {
            std::fs::rename(&new, path).map_err(io)?;
        }
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(io)?;
        }
        if new.exists() {
            std::fs::remove_dir_all(&new).map_err(io)?;
        }
        if !path.join("meta.json").exists() {
            return Ok(());
        }
        let current = Index::open_in_dir(path).map_err(tantivy)?;
        let schema = current.schema();
        if schema.get_field("numv").is_ok() {
            return Ok(());
        }
        let (Ok(_), Ok(doc_field)) = (schema.get_field("key"), schema.get_field("doc")) else {
            return Err(io(std::io::Error::other(
                "not a log index day (no key or doc field)",
            )));
        };
        let payload = current.load_metas().map_err(tantivy)?.payload;
        std::fs::create_dir_all(&new).map_err(io)?;
        let target = Index::builder()
            .schema(self.schema.clone())
            .settings(index_settings())
            .create_in_dir(&new)
            .map_err(tantivy)?;
        let mut writer: IndexWriter = target
            .writer_with_num_threads(1, WRITER_BYTES_PER_THREAD)
            .map_err(tantivy)?;
        let searcher = current.reader().map_err(tantivy)?.searcher();
        for segment in searcher.segment_readers() {
            let keys = segment.fast_fields().u64("key").map_err(tantivy)?;
            let store = segment.get_store_reader(64).map_err(|e| tantivy(e.into()))?;
            for id in segment.doc_ids_alive() {
                use tantivy::schema::document::Value as _;
                let doc: TantivyDocument = store.get(id).map_err(tantivy)?;
                let json = doc
                    .get_first(doc_field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string();
                let record: Record = serde_json::from_str(&json).map_err(|e| {
                    io(std::io::Error::other(format!(
                        "a stored record does not read back: {e}"
                    )))
                })?;
                let key = keys.first(id).unwrap_or_else(|| key_of(record.timestamp));
                writer
                    .add_document(self.document_with_key(key, &record, json))
                    .map_err(tantivy)?;
            }
        }
        let mut prepared = writer.prepare_commit().map_err(tantivy)?;
        if let Some(p) = &payload {
            prepared.set_payload(p);
        }
        prepared.commit().map_err(tantivy)?;
        writer.wait_merging_threads().map_err(tantivy)?;
        std::fs::write(new.join(UPGRADE_DONE), b"").map_err(io)?;
        drop(searcher);
        drop(current);
        std::fs::rename(path, &old).map_err(io)?;
        std::fs::rename(&new, path).map_err(io)?;
        std::fs::remove_dir_all(&old).map_err(io)?;
        let _ = std::fs::remove_file(path.join(UPGRADE_DONE));
        Ok(())
    }

    fn open_day(&self, path: &Path) -> Result<Day> {
        let tantivy = |source| IndexError::Tantivy {
            path: path.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(path).map_err(|source| IndexError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        self.upgrade_day(path)?;
        let directory = tantivy::directory::MmapDirectory::open(path).map_err(|e| tantivy(e.into()))?;
        let index = Index::builder()
            .schema(self.schema.clone())
            .settings(index_settings())
            .open_or_create(directory)
            .map_err(tantivy)?;
        let committed_seq = index
            .load_metas()
            .map_err(tantivy)?
            .payload
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(tantivy)?;
        let streams = self
            .streams_in(&reader.searcher(), committed_seq)
            .map_err(tantivy)?;
        Ok(Day {
            path: path.to_path_buf(),
            index,
            reader,
            state: Mutex::new(DayState {
                writer: None,
                committed_seq,
                added_seq: committed_seq,
                idle_commits: 0,
                removed: false,
            }),
            streams: Mutex::new(streams),
        })
    }

    /// The streams a day's committed records belong to, with how many records each.
    fn streams_in(
        &self,
        searcher: &tantivy::Searcher,
        committed_seq: u64,
    ) -> tantivy::Result<BTreeMap<Stream, StreamStats>> {
        let mut names = std::collections::BTreeSet::new();
        for segment in searcher.segment_readers() {
            let inverted = segment.inverted_index(self.fields.stream)?;
            let mut terms = inverted.terms().stream()?;
            while terms.advance() {
                names.insert(String::from_utf8_lossy(terms.key()).into_owned());
            }
        }
        let mut out = BTreeMap::new();
        for name in names {
            let Some((app, env)) = name.split_once('/') else {
                continue;
            };
            let stream = Stream {
                app: app.to_string(),
                env: env.to_string(),
            };
            let n = searcher.search(&self.stream_filter(std::slice::from_ref(&stream)), &Count)?;
            if n > 0 {
                out.insert(
                    stream,
                    StreamStats {
                        records: n as u64,
                        last_seq: committed_seq,
                    },
                );
            }
        }
        Ok(out)
    }

    /// Matches the records of any of `streams`.
    fn stream_filter(&self, streams: &[Stream]) -> BooleanQuery {
        BooleanQuery::new(
            streams
                .iter()
                .map(|s| (Occur::Should, term(self.fields.stream, &stream_term(s))))
                .collect(),
        )
    }

    /// Adds the records of write-ahead-log entry `seq`. Records a day already committed
    /// (replay after a crash) are skipped.
    pub fn add(&self, seq: u64, records: &[Record]) -> Result<()> {
        self.add_serialised(seq, records, Vec::new())
    }

    /// [`LogIndex::add`], with the records' JSON when the caller has it already (one string per
    /// record, in order; records without one are serialised here).
    pub fn add_serialised(&self, seq: u64, records: &[Record], json: Vec<String>) -> Result<()> {
        let mut json = json.into_iter();
        // Documents are built before taking the lock: searches wait only for the hand-over.
        let mut docs = Vec::with_capacity(records.len());
        for (i, record) in records.iter().enumerate() {
            let stream = Stream {
                app: valid_name(&record.app)?,
                env: valid_name(&record.env)?,
            };
            let text = match json.next() {
                Some(text) => text,
                None => serde_json::to_string(record).unwrap_or_default(),
            };
            docs.push((
                record.timestamp.div_euclid(DAY_MS),
                stream,
                self.document(seq, i, record, text),
            ));
        }
        // A batch's records of one day are added under one hold of the day's lock, so that a
        // commit from elsewhere (retention) never falls between them: a day's committed sequence
        // number means the whole batch, which replay and the check below rely on.
        let mut by_day: BTreeMap<i64, Vec<(Stream, TantivyDocument)>> = BTreeMap::new();
        for (day, stream, doc) in docs {
            by_day.entry(day).or_default().push((stream, doc));
        }
        for (day, docs) in by_day {
            // A day that retention removes meanwhile is looked up (created) again.
            loop {
                let entry = self.day(day)?;
                let mut state = entry.state();
                if state.removed {
                    continue;
                }
                if seq <= state.committed_seq {
                    break;
                }
                let writer = match &mut state.writer {
                    Some(writer) => writer,
                    none => {
                        let threads =
                            std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).clamp(1, 4));
                        let writer = entry
                            .index
                            .writer_with_num_threads(threads, threads * WRITER_BYTES_PER_THREAD)
                            .map_err(entry.tantivy())?;
                        // Small segments (a quiet stream's commits) are merged; segments of
                        // a busy day are left as they are: merging them again cost a fifth of
                        // the indexing time at 5 GB. Retention's deletions are reclaimed too.
                        let mut policy = tantivy::merge_policy::LogMergePolicy::default();
                        policy.set_max_docs_before_merge(MERGE_BELOW_DOCS);
                        policy.set_del_docs_ratio_before_merge(0.2);
                        writer.set_merge_policy(Box::new(policy));
                        none.insert(writer)
                    }
                };
                let mut streams = entry.streams();
                for (stream, doc) in docs {
                    writer.add_document(doc).map_err(entry.tantivy())?;
                    let stats = streams.entry(stream).or_default();
                    stats.records += 1;
                    stats.last_seq = stats.last_seq.max(seq);
                }
                state.added_seq = state.added_seq.max(seq);
                state.idle_commits = 0;
                break;
            }
        }
        Ok(())
    }

    /// The day's index, opened (created) when needed.
    fn day(&self, day: i64) -> Result<Arc<Day>> {
        let mut days = self.lock();
        if let Some(entry) = days.get(&day) {
            return Ok(entry.clone());
        }
        let opened = Arc::new(self.open_day(&self.dir.join(day_name(day)))?);
        days.insert(day, opened.clone());
        Ok(opened)
    }

    fn document(&self, seq: u64, i: usize, record: &Record, json: String) -> TantivyDocument {
        let tie = (seq.wrapping_mul(1024).wrapping_add(i as u64)) & ((1 << TIE_BITS) - 1);
        self.document_with_key(key_of(record.timestamp) | tie, record, json)
    }

    fn document_with_key(&self, key: u64, record: &Record, json: String) -> TantivyDocument {
        let f = &self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(
            f.stream,
            stream_term(&Stream {
                app: record.app.clone(),
                env: record.env.clone(),
            }),
        );
        doc.add_u64(f.key, key);
        doc.add_i64(f.ts, record.timestamp);
        for (field, value) in [
            (f.level, &record.level),
            (f.host, &record.host),
            (f.pod, &record.pod),
            (f.variant, &record.variant),
        ] {
            if let Some(v) = value {
                doc.add_text(field, v);
            }
        }
        if let Some(r) = record.revision {
            doc.add_i64(f.revision, r);
        }
        doc.add_text(f.message, &record.message);
        if !record.attrs.is_empty() {
            let object: BTreeMap<String, OwnedValue> = record
                .attrs
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), indexed_value(v)?)))
                .collect();
            if !object.is_empty() {
                doc.add_object(f.attrs, object);
            }
            let numbers: BTreeMap<String, OwnedValue> = record
                .attrs
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), numeric_value(v)?)))
                .collect();
            if !numbers.is_empty() {
                doc.add_object(f.nums, numbers);
            }
            let values: BTreeMap<String, OwnedValue> = record
                .attrs
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), number_value(v)?)))
                .collect();
            if !values.is_empty() {
                doc.add_object(f.numv, values);
            }
        }
        doc.add_text(f.doc, json);
        doc
    }

    /// Commits every partition with added records (each commit carrying its highest sequence
    /// number) and makes them searchable. Returns the sequence number everything up to which
    /// is committed everywhere (for truncating the write-ahead log): `upto` when all commits
    /// succeeded.
    pub fn commit(&self, upto: u64) -> Result<u64> {
        let days: Vec<Arc<Day>> = self.lock().values().cloned().collect();
        for entry in days {
            let mut state = entry.state();
            if state.removed {
                continue;
            }
            if state.added_seq <= state.committed_seq {
                state.idle_commits = state.idle_commits.saturating_add(1);
                if state.idle_commits >= IDLE_COMMITS {
                    state.writer = None;
                }
                continue;
            }
            let added = state.added_seq;
            Self::commit_day(&entry, &mut state, added)?;
        }
        Ok(upto)
    }

    /// Commits a day's writer with `payload` as its sequence number, and reloads its reader.
    fn commit_day(entry: &Day, state: &mut DayState, payload: u64) -> Result<()> {
        if let Some(writer) = state.writer.as_mut() {
            let mut prepared = writer.prepare_commit().map_err(entry.tantivy())?;
            prepared.set_payload(&payload.to_string());
            prepared.commit().map_err(entry.tantivy())?;
        }
        state.committed_seq = payload;
        entry.reader.reload().map_err(entry.tantivy())
    }

    /// The days a request reads (those holding any of its streams), newest first.
    fn selected(&self, req: &SearchRequest) -> Vec<(i64, Arc<Day>)> {
        let first_day = req.from_ms.div_euclid(DAY_MS);
        let last_day = (req.to_ms - 1).div_euclid(DAY_MS);
        if last_day < first_day {
            return Vec::new();
        }
        self.lock()
            .range(first_day..=last_day)
            .rev()
            .filter(|(_, d)| {
                let streams = d.streams();
                req.streams.iter().any(|s| streams.contains_key(s))
            })
            .map(|(day, d)| (*day, d.clone()))
            .collect()
    }

    /// The newest `limit` records matching `req` (older than `cursor` when given).
    pub fn search(&self, req: &SearchRequest, limit: usize, cursor: Option<u64>) -> Result<Page> {
        let (query, exact) = self.translate(&req.query);
        let upper = match cursor {
            Some(c) => c.min(key_of(req.to_ms)),
            None => key_of(req.to_ms),
        };
        let full = self.restricted(query, req, upper);
        let selected = self.selected(req);
        // Whether the `limit + 1` newest found so far are all newer than anything `day` holds:
        // then older days cannot change the page (days come newest first).
        let settled = |keys: &mut Vec<u64>, day: i64| {
            keys.sort_unstable_by(|a, b| b.cmp(a));
            keys.truncate(limit + 1);
            keys.len() > limit && keys[limit] >= key_of((day + 1) * DAY_MS)
        };
        let mut found: Vec<(u64, Record)> = Vec::new();
        if exact {
            // Keys first (fast field only), then the stored records of the page alone.
            let mut keys: Vec<(u64, usize, DocAddress)> = Vec::new();
            let mut newest: Vec<u64> = Vec::new();
            let mut searchers = Vec::with_capacity(selected.len());
            for (i, (day, entry)) in selected.iter().enumerate() {
                if settled(&mut newest, *day) {
                    break;
                }
                let searcher = entry.reader.searcher();
                let top: Vec<(u64, DocAddress)> = searcher
                    .search(
                        &full,
                        &TopDocs::with_limit(limit + 1).order_by_u64_field("key", Order::Desc),
                    )
                    .map_err(entry.tantivy())?;
                newest.extend(top.iter().map(|(k, _)| *k));
                keys.extend(top.into_iter().map(|(k, a)| (k, i, a)));
                searchers.push(searcher);
            }
            keys.sort_by_key(|k| std::cmp::Reverse(k.0));
            let more = keys.len() > limit;
            keys.truncate(limit);
            for (key, i, address) in keys {
                let record = self.stored(&searchers[i], address, &selected[i].1)?;
                found.push((key, record));
            }
            let next_cursor = if more { found.last().map(|(k, _)| *k) } else { None };
            return Ok(Page {
                records: found.into_iter().map(|(_, r)| r).collect(),
                next_cursor,
            });
        }
        for (day, entry) in &selected {
            let day = *day;
            let mut newest: Vec<u64> = found.iter().map(|(k, _)| *k).collect();
            if settled(&mut newest, day) {
                break;
            }
            let searcher = entry.reader.searcher();
            // Inexact translations are checked record by record, so ask for more.
            let mut want = limit + 1;
            loop {
                let top: Vec<(u64, DocAddress)> = searcher
                    .search(
                        &full,
                        &TopDocs::with_limit(want).order_by_u64_field("key", Order::Desc),
                    )
                    .map_err(entry.tantivy())?;
                let exhausted = top.len() < want;
                let mut matched = Vec::new();
                for (key, address) in &top {
                    let record = self.stored(&searcher, *address, entry)?;
                    if query::evaluate(&req.query, &record) {
                        matched.push((*key, record));
                    }
                }
                if matched.len() > limit || exhausted {
                    found.extend(matched);
                    break;
                }
                want *= 4;
            }
        }
        found.sort_by_key(|f| std::cmp::Reverse(f.0));
        let more = found.len() > limit;
        found.truncate(limit);
        let next_cursor = if more { found.last().map(|(k, _)| *k) } else { None };
        Ok(Page {
            records: found.into_iter().map(|(_, r)| r).collect(),
            next_cursor,
        })
    }

    /// `query` within the request's streams and from its start to the key `upper` (excluded).
    fn restricted(&self, query: Box<dyn TQuery>, req: &SearchRequest, upper: u64) -> Box<dyn TQuery> {
        let range = RangeQuery::new(
            StdBound::Included(Term::from_field_u64(self.fields.key, key_of(req.from_ms))),
            StdBound::Excluded(Term::from_field_u64(self.fields.key, upper)),
        );
        Box::new(BooleanQuery::new(vec![
            (Occur::Must, query),
            (Occur::Must, Box::new(self.stream_filter(&req.streams))),
            (Occur::Must, Box::new(range)),
        ]))
    }

    fn stored(&self, searcher: &tantivy::Searcher, address: DocAddress, day: &Day) -> Result<Record> {
        use tantivy::schema::document::Value as _;
        let doc: TantivyDocument = searcher.doc(address).map_err(day.tantivy())?;
        let text = doc
            .get_first(self.fields.doc)
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        serde_json::from_str(text).map_err(|e| IndexError::Io {
            path: day.path.clone(),
            source: std::io::Error::other(format!("a stored record does not read back: {e}")),
        })
    }

    /// How many records match `req`.
    pub fn count(&self, req: &SearchRequest) -> Result<u64> {
        Ok(self.histogram(req, 1)?.iter().map(|(_, n)| n).sum())
    }

    /// Counts of matching records in `buckets` equal time buckets from `from_ms` to `to_ms`:
    /// `(bucket start, count)`.
    pub fn histogram(&self, req: &SearchRequest, buckets: usize) -> Result<Vec<(i64, u64)>> {
        let buckets = buckets.max(1);
        let span = (req.to_ms - req.from_ms).max(1);
        let width = (span + buckets as i64 - 1) / buckets as i64;
        let mut counts = vec![0u64; buckets];
        self.for_each_match(req, |ts| {
            let i = ((ts - req.from_ms) / width.max(1)) as usize;
            if let Some(c) = counts.get_mut(i) {
                *c += 1;
            }
        })?;
        Ok(counts
            .into_iter()
            .enumerate()
            .map(|(i, n)| (req.from_ms + i as i64 * width, n))
            .collect())
    }

    /// The `n` most frequent values of a field among matching records, with their counts.
    pub fn top_values(&self, req: &SearchRequest, field: &str, n: usize) -> Result<Vec<(String, u64)>> {
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        let (query, exact) = self.translate(&req.query);
        let full = self.restricted(query, req, key_of(req.to_ms));
        for (_, entry) in self.selected(req) {
            let searcher = entry.reader.searcher();
            let all = searcher
                .search(&full, &tantivy::collector::DocSetCollector)
                .map_err(entry.tantivy())?;
            for address in all {
                let record = self.stored(&searcher, address, &entry)?;
                if !exact && !query::evaluate(&req.query, &record) {
                    continue;
                }
                if let Some(v) = field_text(&record, field) {
                    *counts.entry(v).or_default() += 1;
                }
            }
        }
        let mut out: Vec<(String, u64)> = counts.into_iter().collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out.truncate(n);
        Ok(out)
    }

    /// Calls `f` with the time of every matching record.
    fn for_each_match(&self, req: &SearchRequest, mut f: impl FnMut(i64)) -> Result<()> {
        let (query, exact) = self.translate(&req.query);
        let full = self.restricted(query, req, key_of(req.to_ms));
        for (_, entry) in self.selected(req) {
            let searcher = entry.reader.searcher();
            if exact {
                let times = searcher.search(&full, &TimesCollector).map_err(entry.tantivy())?;
                times.into_iter().for_each(&mut f);
            } else {
                let all = searcher
                    .search(&full, &tantivy::collector::DocSetCollector)
                    .map_err(entry.tantivy())?;
                for address in all {
                    let record = self.stored(&searcher, address, &entry)?;
                    if query::evaluate(&req.query, &record) {
                        f(record.timestamp);
                    }
                }
            }
        }
        Ok(())
    }

    /// Deletes the partitions of `stream` whose day ended before `before_ms` (and a day's
    /// directory once no stream is left in it); returns them.
    pub fn drop_before(&self, stream: &Stream, before_ms: i64) -> Result<Vec<PartitionKey>> {
        let last_day = before_ms.div_euclid(DAY_MS) - 1;
        let doomed: Vec<(i64, Arc<Day>)> = self
            .lock()
            .range(..=last_day)
            .filter(|(_, d)| d.streams().contains_key(stream))
            .map(|(day, d)| (*day, d.clone()))
            .collect();
        let mut dropped = Vec::new();
        for (day, entry) in doomed {
            let mut state = entry.state();
            if !state.removed && entry.streams().contains_key(stream) {
                self.drop_partition(day, &entry, &mut state, stream)?;
                dropped.push(PartitionKey {
                    stream: stream.clone(),
                    day,
                });
            }
        }
        Ok(dropped)
    }

    /// Deletes one partition if the stream has had no record added to its day after
    /// `upto_seq` and has no older day (late records that came in while it was being
    /// archived); returns whether it did. No record can be added to the day between the check
    /// and the deletion.
    pub fn drop_partition_if_unchanged(&self, key: &PartitionKey, upto_seq: u64) -> Result<bool> {
        let Some(entry) = self.lock().get(&key.day).cloned() else {
            return Ok(false);
        };
        let mut state = entry.state();
        let unchanged = !state.removed
            && entry
                .streams()
                .get(&key.stream)
                .is_some_and(|stats| stats.last_seq <= upto_seq);
        let older = self
            .lock()
            .range(..key.day)
            .any(|(_, d)| d.streams().contains_key(&key.stream));
        if !unchanged || older {
            return Ok(false);
        }
        self.drop_partition(key.day, &entry, &mut state, &key.stream)?;
        Ok(true)
    }

    /// Deletes `stream`'s records of `day` (whose state the caller holds), and the day once no
    /// stream is left in it.
    fn drop_partition(
        &self,
        day: i64,
        entry: &Arc<Day>,
        state: &mut DayState,
        stream: &Stream,
    ) -> Result<()> {
        let empty = {
            let mut streams = entry.streams();
            streams.remove(stream);
            streams.is_empty()
        };
        if empty {
            state.removed = true;
            state.writer = None;
            {
                let mut days = self.lock();
                if days.get(&day).is_some_and(|d| Arc::ptr_eq(d, entry)) {
                    days.remove(&day);
                }
            }
            let path = entry.path.clone();
            return std::fs::remove_dir_all(&path).map_err(|source| IndexError::Io { path, source });
        }
        let writer = match &mut state.writer {
            Some(writer) => writer,
            none => none.insert(
                entry
                    .index
                    .writer_with_num_threads(1, WRITER_BYTES_PER_THREAD)
                    .map_err(entry.tantivy())?,
            ),
        };
        writer.delete_term(Term::from_field_text(self.fields.stream, &stream_term(stream)));
        // What was added is committed with the deletion: the payload says so.
        let payload = state.added_seq;
        Self::commit_day(entry, state, payload)
    }

    /// Every partition: its key and its share of its day's size on disk in bytes (by records).
    pub fn partitions(&self) -> Vec<(PartitionKey, u64)> {
        let days: Vec<(i64, Arc<Day>)> = self.lock().iter().map(|(d, e)| (*d, e.clone())).collect();
        let mut out = Vec::new();
        for (day, entry) in days {
            let streams = entry.streams().clone();
            let total: u64 = streams.values().map(|s| s.records).sum();
            let size = dir_size(&entry.path);
            for (stream, stats) in &streams {
                let share = if total == 0 {
                    0
                } else {
                    u64::try_from(u128::from(size) * u128::from(stats.records) / u128::from(total))
                        .unwrap_or(u64::MAX)
                };
                out.push((
                    PartitionKey {
                        stream: stream.clone(),
                        day,
                    },
                    share,
                ));
            }
        }
        out
    }

    /// The query for Tantivy, and whether it is exact (else every candidate is checked with
    /// [`query::evaluate`]).
    fn translate(&self, q: &Query) -> (Box<dyn TQuery>, bool) {
        let f = &self.fields;
        match q {
            Query::All => (Box::new(AllQuery), true),
            Query::Term { field: None, text } | Query::Phrase { field: None, text } => {
                (self.message_words(text), true)
            }
            Query::Term {
                field: Some(name),
                text,
            }
            | Query::Phrase {
                field: Some(name),
                text,
            } => {
                match name.as_str() {
                    "message" => (self.message_words(text), true),
                    "level" => (term(f.level, &text.to_lowercase()), true),
                    "host" => (term(f.host, text), true),
                    "pod" => (term(f.pod, text), true),
                    "variant" => (term(f.variant, text), true),
                    "revision" => match text.parse::<i64>() {
                        Ok(n) => (
                            Box::new(TermQuery::new(
                                Term::from_field_i64(f.revision, n),
                                IndexRecordOption::Basic,
                            )),
                            true,
                        ),
                        Err(_) => (Box::new(EmptyQuery), true),
                    },
                    // Streams are chosen by the request; time by ranges.
                    "app" | "env" | "@timestamp" | "timestamp" => (Box::new(AllQuery), false),
                    // Long values are not in the index (see `MAX_INDEXED_VALUE`).
                    _ if text.len() > MAX_INDEXED_VALUE => (Box::new(AllQuery), false),
                    path => self.attr_value(path, text),
                }
            }
            Query::Wildcard { field: None, pattern } => {
                match RegexQuery::from_pattern(&glob(&pattern.to_lowercase()), f.message) {
                    Ok(r) => (Box::new(r), true),
                    Err(_) => (Box::new(AllQuery), false),
                }
            }
            Query::Wildcard {
                field: Some(name),
                pattern,
            } => {
                let field = match name.as_str() {
                    "level" => Some((f.level, pattern.to_lowercase())),
                    "host" => Some((f.host, pattern.clone())),
                    "pod" => Some((f.pod, pattern.clone())),
                    "variant" => Some((f.variant, pattern.clone())),
                    _ => None,
                };
                match field.map(|(field, p)| RegexQuery::from_pattern(&glob(&p), field)) {
                    Some(Ok(r)) => (Box::new(r), true),
                    _ => (Box::new(AllQuery), false),
                }
            }
            Query::Range { field, lower, upper } => match field.as_str() {
                "@timestamp" | "timestamp" => {
                    let lo = time_bound(lower, |t| Term::from_field_i64(f.ts, t));
                    let hi = time_bound(upper, |t| Term::from_field_i64(f.ts, t));
                    (Box::new(RangeQuery::new(lo, hi)), true)
                }
                // Built-in fields are compared record by record.
                "revision" | "level" | "host" | "pod" | "variant" | "app" | "env" | "message" => {
                    (Box::new(AllQuery), false)
                }
                // Attributes: their numbers (and numeric strings) as `f64` in `nums`.
                path => self.attr_range(path, lower, upper),
            },
            Query::And(parts) | Query::Or(parts) => {
                let occur = if matches!(q, Query::And(_)) {
                    Occur::Must
                } else {
                    Occur::Should
                };
                let mut exact = true;
                let clauses = parts
                    .iter()
                    .map(|p| {
                        let (t, e) = self.translate(p);
                        exact &= e;
                        (occur, t)
                    })
                    .collect();
                (Box::new(BooleanQuery::new(clauses)), exact)
            }
            Query::Not(inner) => {
                let (t, e) = self.translate(inner);
                if e {
                    (
                        Box::new(BooleanQuery::new(vec![
                            (Occur::Must, Box::new(AllQuery)),
                            (Occur::MustNot, t),
                        ])),
                        true,
                    )
                } else {
                    // The negation of a superset is not a superset: check every record.
                    (Box::new(AllQuery), false)
                }
            }
        }
    }

    fn message_words(&self, text: &str) -> Box<dyn TQuery> {
        // Positions as the tokenizer gives them: dropped (too long) words keep their place.
        let terms: Vec<(usize, Term)> = query::positioned_tokens(text)
            .into_iter()
            .map(|(position, w)| (position, Term::from_field_text(self.fields.message, &w)))
            .collect();
        match terms.len() {
            0 => Box::new(EmptyQuery),
            1 => Box::new(TermQuery::new(terms[0].1.clone(), IndexRecordOption::Basic)),
            _ => Box::new(PhraseQuery::new_with_offset(terms)),
        }
    }

    /// A range over an attribute's numbers. Bounds on such fields are numbers, and the
    /// evaluator compares in `f64` as `nums` stores (see [`query::range_number`]): exact.
    fn attr_range(&self, path: &str, lower: &Bound, upper: &Bound) -> (Box<dyn TQuery>, bool) {
        let mut exact = true;
        let mut bound = |b: &Bound| {
            let term = |x: f64| {
                let mut t = Term::from_field_json_path(self.fields.nums, path, true);
                t.append_type_and_fast_value(x);
                t
            };
            match b {
                Bound::Unbounded => StdBound::Unbounded,
                Bound::Inclusive(RangeValue::Number(x)) => StdBound::Included(term(*x)),
                Bound::Exclusive(RangeValue::Number(x)) => StdBound::Excluded(term(*x)),
                // Not made by the parser on attributes; widened, and checked record by record.
                Bound::Inclusive(RangeValue::Time(t)) | Bound::Exclusive(RangeValue::Time(t)) => {
                    exact = false;
                    StdBound::Included(term(*t as f64))
                }
            }
        };
        let (lo, hi) = (bound(lower), bound(upper));
        if matches!((&lo, &hi), (StdBound::Unbounded, StdBound::Unbounded)) {
            // `field:*`-like ranges: every record with a number there.
            let mut t = Term::from_field_json_path(self.fields.nums, path, true);
            t.append_type_and_fast_value(f64::MIN);
            return (
                Box::new(RangeQuery::new(StdBound::Included(t), StdBound::Unbounded)),
                exact,
            );
        }
        (Box::new(RangeQuery::new(lo, hi)), exact)
    }

    /// An attribute's exact value: the string, the boolean, and (when the text is a number)
    /// the records with that JSON number, from `numv`. Compared as `f64` there, which is the
    /// evaluator's comparison except for integers of 2^53 and more: those are checked record
    /// by record (`false`).
    fn attr_value(&self, path: &str, text: &str) -> (Box<dyn TQuery>, bool) {
        let mut alternatives: Vec<(Occur, Box<dyn TQuery>)> = Vec::new();
        let mut exact = true;
        let mut t = Term::from_field_json_path(self.fields.attrs, path, true);
        t.append_type_and_str(text);
        alternatives.push((
            Occur::Should,
            Box::new(TermQuery::new(t, IndexRecordOption::Basic)),
        ));
        if let Some(x) = query::range_number(&Value::String(text.to_string())) {
            if text.parse::<i128>().is_ok_and(|n| n.unsigned_abs() >= 1 << 53) {
                exact = false;
            }
            let bound = || {
                let mut t = Term::from_field_json_path(self.fields.numv, path, true);
                t.append_type_and_fast_value(x + 0.0);
                t
            };
            alternatives.push((
                Occur::Should,
                Box::new(RangeQuery::new(
                    StdBound::Included(bound()),
                    StdBound::Included(bound()),
                )),
            ));
        }
        if let "true" | "false" = text {
            let mut t = Term::from_field_json_path(self.fields.attrs, path, true);
            t.append_type_and_fast_value(text == "true");
            alternatives.push((
                Occur::Should,
                Box::new(TermQuery::new(t, IndexRecordOption::Basic)),
            ));
        }
        (Box::new(BooleanQuery::new(alternatives)), exact)
    }

    /// A consistent read-only view of one partition, for exporting it (the archive). Days hold
    /// every stream: the searcher covers the partition's whole day, and only the documents
    /// matching `stream` (a term query on the `stream` field) belong to the partition.
    /// `None` when there is no such partition.
    pub(crate) fn partition_snapshot(&self, key: &PartitionKey) -> Option<PartitionSnapshot> {
        let entry = self.lock().get(&key.day).cloned()?;
        // Under the state lock, the reader holds exactly what `committed_seq` says.
        let state = entry.state();
        if state.removed || !entry.streams().contains_key(&key.stream) {
            return None;
        }
        Some(PartitionSnapshot {
            searcher: entry.reader.searcher(),
            stream: TermQuery::new(
                Term::from_field_text(self.fields.stream, &stream_term(&key.stream)),
                IndexRecordOption::Basic,
            ),
            committed_seq: state.committed_seq,
        })
    }
}

/// An attribute's value as indexed: strings longer than [`MAX_INDEXED_VALUE`] bytes (stack
/// traces, dumps) are left out, here and inside objects and arrays; `None` when nothing is left.
/// Strings stay strings: Tantivy's own conversion would index one that reads as a time as a
/// date, which an exact query for the text then misses.
fn indexed_value(v: &Value) -> Option<OwnedValue> {
    match v {
        Value::String(s) if s.len() > MAX_INDEXED_VALUE => None,
        Value::String(s) => Some(OwnedValue::Str(s.clone())),
        Value::Array(items) => {
            let kept: Vec<OwnedValue> = items.iter().filter_map(indexed_value).collect();
            (!kept.is_empty()).then_some(OwnedValue::Array(kept))
        }
        Value::Object(map) => {
            let kept: Vec<(String, OwnedValue)> = map
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), indexed_value(v)?)))
                .collect();
            (!kept.is_empty()).then_some(OwnedValue::Object(kept))
        }
        // Numbers are in `numv` (exact values) and `nums` (ranges): as terms here their many
        // distinct values cost more to index than everything else in the attributes.
        Value::Number(_) => None,
        other => Some(OwnedValue::from(other.clone())),
    }
}

/// An attribute's JSON numbers (not numeric strings) for `numv`, as `f64`, inside objects and
/// arrays too; `None` when there are none.
fn number_value(v: &Value) -> Option<OwnedValue> {
    match v {
        // `+ 0.0`: -0 is stored as 0, as an exact query for it looks for 0.
        Value::Number(n) => n.as_f64().map(|x| OwnedValue::F64(x + 0.0)),
        Value::Array(items) => {
            let kept: Vec<OwnedValue> = items.iter().filter_map(number_value).collect();
            (!kept.is_empty()).then_some(OwnedValue::Array(kept))
        }
        Value::Object(map) => {
            let kept: Vec<(String, OwnedValue)> = map
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), number_value(v)?)))
                .collect();
            (!kept.is_empty()).then_some(OwnedValue::Object(kept))
        }
        _ => None,
    }
}

/// How every day's index is written: documents in 256 KB blocks compressed with zstd level 1
/// (level 3 and 64 KB blocks cost 5 % of the indexing time for a few % of disk).
fn index_settings() -> IndexSettings {
    IndexSettings {
        docstore_compression: Compressor::Zstd(ZstdCompressor {
            compression_level: Some(1),
        }),
        docstore_blocksize: 256 * 1024,
        ..IndexSettings::default()
    }
}

/// Marks an upgraded day as whole (see `LogIndex::upgrade_day`).
const UPGRADE_DONE: &str = "ojek-upgrade-done";

/// A stream's value in the `stream` field.
fn stream_term(stream: &Stream) -> String {
    format!("{}/{}", stream.app, stream.env)
}

/// An attribute's numbers for `nums`: numbers and numeric strings as `f64`, inside objects and
/// arrays too; `None` when there are none.
fn numeric_value(v: &Value) -> Option<OwnedValue> {
    match v {
        Value::Array(items) => {
            let kept: Vec<OwnedValue> = items.iter().filter_map(numeric_value).collect();
            (!kept.is_empty()).then_some(OwnedValue::Array(kept))
        }
        Value::Object(map) => {
            let kept: Vec<(String, OwnedValue)> = map
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), numeric_value(v)?)))
                .collect();
            (!kept.is_empty()).then_some(OwnedValue::Object(kept))
        }
        other => query::range_number(other).map(OwnedValue::F64),
    }
}

fn term(field: Field, text: &str) -> Box<dyn TQuery> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::Basic,
    ))
}

fn time_bound(b: &Bound, term: impl Fn(i64) -> Term) -> StdBound<Term> {
    let ms = |v: &RangeValue| match v {
        RangeValue::Time(t) => *t,
        RangeValue::Number(n) => *n as i64,
    };
    match b {
        Bound::Unbounded => StdBound::Unbounded,
        Bound::Inclusive(v) => StdBound::Included(term(ms(v))),
        Bound::Exclusive(v) => StdBound::Excluded(term(ms(v))),
    }
}

/// A `*`/`?` pattern (with `\\` escaping a literal `*`, `?` or `\\`) as a regular expression
/// over a whole term; `.` matches newlines too, as the evaluator does.
fn glob(pattern: &str) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push_str("(?s:.)*"),
            '?' => out.push_str("(?s:.)"),
            '\\' => {
                if let Some(next) = chars.next() {
                    push_literal(&mut out, next);
                }
            }
            c => push_literal(&mut out, c),
        }
    }
    out
}

fn push_literal(out: &mut String, c: char) {
    if c.is_alphanumeric() {
        out.push(c);
    } else {
        out.push('\\');
        out.push(c);
    }
}

/// The `key` of a time: milliseconds shifted left by [`TIE_BITS`] (negative times as 0).
pub fn key_of(ms: i64) -> u64 {
    u64::try_from(ms.max(0)).unwrap_or(0) << TIE_BITS
}

fn valid_name(name: &str) -> Result<String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-');
    if ok {
        Ok(name.to_string())
    } else {
        Err(IndexError::BadName(name.to_string()))
    }
}

/// The bytes of the files under `path`, recursively (0 for what cannot be read).
pub fn dir_size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Collects the `ts` of every matching document.
struct TimesCollector;

impl tantivy::collector::Collector for TimesCollector {
    type Fruit = Vec<i64>;
    type Child = TimesSegment;

    fn for_segment(
        &self,
        _segment_local_id: tantivy::SegmentOrdinal,
        segment: &tantivy::SegmentReader,
    ) -> tantivy::Result<TimesSegment> {
        Ok(TimesSegment {
            column: segment.fast_fields().i64("ts")?,
            times: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<i64>>) -> tantivy::Result<Vec<i64>> {
        Ok(fruits.into_iter().flatten().collect())
    }
}

struct TimesSegment {
    column: tantivy::columnar::Column<i64>,
    times: Vec<i64>,
}

impl tantivy::collector::SegmentCollector for TimesSegment {
    type Fruit = Vec<i64>;

    fn collect(&mut self, doc: tantivy::DocId, _score: tantivy::Score) {
        if let Some(t) = self.column.first(doc) {
            self.times.push(t);
        }
    }

    fn harvest(self) -> Vec<i64> {
        self.times
    }
}

/// A field of a record as text, for top values: the built-in fields, else a dotted path in
/// the attributes (a literal dotted key first).
pub fn field_text(record: &Record, field: &str) -> Option<String> {
    let some = |v: &Option<String>| v.clone();
    match field {
        "app" => Some(record.app.clone()),
        "env" => Some(record.env.clone()),
        "level" => some(&record.level),
        "host" => some(&record.host),
        "pod" => some(&record.pod),
        "variant" => some(&record.variant),
        "revision" => record.revision.map(|r| r.to_string()),
        _ => {
            let value = record.attrs.get(field).or_else(|| {
                let mut parts = field.split('.');
                let first = record.attrs.get(parts.next()?)?;
                parts.try_fold(first, |v, p| v.get(p))
            })?;
            match value {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            }
        }
    }
}
