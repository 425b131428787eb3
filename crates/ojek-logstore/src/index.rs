//! The log index: Tantivy, one index per stream (app and environment) and UTC day, under
//! `<dir>/<app>/<env>/<YYYY-MM-DD>/`. Retention drops whole partitions.
//!
//! Fields: `key` (u64, fast: the time in milliseconds shifted left by [`TIE_BITS`] plus a
//! tie-breaker, so that "newest first" is one fast-field order and a cursor is one number),
//! `ts` (i64, fast), `level`, `host`, `pod`, `variant` (exact, fast), `revision` (i64),
//! `message` (full text, positions, Tantivy's default tokenizer), `attrs` (JSON, exact values,
//! fast), and the record itself as stored JSON (zstd-compressed document store).
//!
//! Each partition's commits carry, as their payload, the highest write-ahead-log sequence
//! number they contain: replaying the log after a crash skips what a partition already has, so
//! every acknowledged record is indexed exactly once.

use std::collections::BTreeMap;
use std::ops::Bound as StdBound;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ojek_logs::query::{Bound, Query, RangeValue};
use ojek_logs::{Record, query};
use serde::Serialize;
use serde_json::Value;
use tantivy::collector::TopDocs;
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, Occur, PhraseQuery, Query as TQuery, RangeQuery, RegexQuery,
    TermQuery,
};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, JsonObjectOptions, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions,
};
use tantivy::store::{Compressor, ZstdCompressor};
use tantivy::{
    DocAddress, Index, IndexReader, IndexSettings, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term,
};

/// Bits of `key` below the milliseconds: records of the same millisecond are ordered by them.
pub const TIE_BITS: u32 = 21;
/// Memory for one partition's writer.
const WRITER_BYTES: usize = 32 * 1024 * 1024;
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
    key: Field,
    ts: Field,
    level: Field,
    host: Field,
    pod: Field,
    variant: Field,
    revision: Field,
    message: Field,
    attrs: Field,
    doc: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let exact = STRING | FAST;
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("default")
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let attrs = JsonObjectOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("raw")
                .set_index_option(IndexRecordOption::Basic),
        )
        .set_fast(Some("raw"))
        .set_expand_dots_enabled();
    let fields = Fields {
        key: b.add_u64_field("key", INDEXED | FAST),
        ts: b.add_i64_field("ts", INDEXED | FAST),
        level: b.add_text_field("level", exact.clone()),
        host: b.add_text_field("host", exact.clone()),
        pod: b.add_text_field("pod", exact.clone()),
        variant: b.add_text_field("variant", exact),
        revision: b.add_i64_field("revision", INDEXED | FAST),
        message: b.add_text_field("message", text),
        attrs: b.add_json_field("attrs", attrs),
        doc: b.add_text_field("doc", STORED),
    };
    (b.build(), fields)
}

/// One open partition.
struct Partition {
    path: PathBuf,
    index: Index,
    reader: IndexReader,
    writer: Option<IndexWriter>,
    /// The highest write-ahead-log sequence number committed here.
    committed_seq: u64,
    /// The highest one added, committed or not.
    added_seq: u64,
}

impl Partition {
    fn tantivy(&self) -> impl FnOnce(tantivy::TantivyError) -> IndexError + '_ {
        |source| IndexError::Tantivy {
            path: self.path.clone(),
            source,
        }
    }
}

/// The log index.
pub struct LogIndex {
    dir: PathBuf,
    schema: Schema,
    fields: Fields,
    partitions: Mutex<BTreeMap<PartitionKey, Partition>>,
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
    /// Opens the index in `dir`, with every partition found there.
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
            partitions: Mutex::new(BTreeMap::new()),
        };
        for (key, path) in index.scan()? {
            let partition = index.open_partition(&path)?;
            index.lock().insert(key, partition);
        }
        Ok(index)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<PartitionKey, Partition>> {
        self.partitions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The partitions on disk.
    fn scan(&self) -> Result<Vec<(PartitionKey, PathBuf)>> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| IndexError::Io { path, source }
        };
        let mut out = Vec::new();
        let dirs = |p: &Path| -> Result<Vec<(String, PathBuf)>> {
            let mut v = Vec::new();
            for e in std::fs::read_dir(p).map_err(io(p))? {
                let e = e.map_err(io(p))?;
                if e.file_type().map_err(io(p))?.is_dir() {
                    v.push((e.file_name().to_string_lossy().into_owned(), e.path()));
                }
            }
            Ok(v)
        };
        for (app, app_dir) in dirs(&self.dir)? {
            for (env, env_dir) in dirs(&app_dir)? {
                for (day, path) in dirs(&env_dir)? {
                    if let Some(day) = parse_day(&day) {
                        let stream = Stream {
                            app: app.clone(),
                            env: env.clone(),
                        };
                        out.push((PartitionKey { stream, day }, path));
                    }
                }
            }
        }
        Ok(out)
    }

    fn open_partition(&self, path: &Path) -> Result<Partition> {
        let tantivy = |source| IndexError::Tantivy {
            path: path.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(path).map_err(|source| IndexError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let directory = tantivy::directory::MmapDirectory::open(path).map_err(|e| tantivy(e.into()))?;
        let settings = IndexSettings {
            docstore_compression: Compressor::Zstd(ZstdCompressor {
                compression_level: Some(3),
            }),
            docstore_blocksize: 64 * 1024,
            ..IndexSettings::default()
        };
        let index = Index::builder()
            .schema(self.schema.clone())
            .settings(settings)
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
        Ok(Partition {
            path: path.to_path_buf(),
            index,
            reader,
            writer: None,
            committed_seq,
            added_seq: committed_seq,
        })
    }

    /// Adds the records of write-ahead-log entry `seq`. Records a partition already committed
    /// (replay after a crash) are skipped.
    pub fn add(&self, seq: u64, records: &[Record]) -> Result<()> {
        let mut partitions = self.lock();
        for (i, record) in records.iter().enumerate() {
            let key = PartitionKey {
                stream: Stream {
                    app: valid_name(&record.app)?,
                    env: valid_name(&record.env)?,
                },
                day: record.timestamp.div_euclid(DAY_MS),
            };
            if !partitions.contains_key(&key) {
                let path = self
                    .dir
                    .join(&key.stream.app)
                    .join(&key.stream.env)
                    .join(key.day_name());
                let partition = self.open_partition(&path)?;
                partitions.insert(key.clone(), partition);
            }
            let Some(partition) = partitions.get_mut(&key) else {
                continue;
            };
            if seq <= partition.committed_seq {
                continue;
            }
            if partition.writer.is_none() {
                let writer = partition
                    .index
                    .writer_with_num_threads(1, WRITER_BYTES)
                    .map_err(partition.tantivy())?;
                partition.writer = Some(writer);
            }
            let doc = self.document(seq, i, record);
            if let Some(writer) = &partition.writer {
                writer.add_document(doc).map_err(partition.tantivy())?;
            }
            partition.added_seq = partition.added_seq.max(seq);
        }
        Ok(())
    }

    fn document(&self, seq: u64, i: usize, record: &Record) -> TantivyDocument {
        let f = &self.fields;
        let mut doc = TantivyDocument::default();
        let tie = (seq.wrapping_mul(1024).wrapping_add(i as u64)) & ((1 << TIE_BITS) - 1);
        doc.add_u64(f.key, key_of(record.timestamp) | tie);
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
            doc.add_object(
                f.attrs,
                record
                    .attrs
                    .iter()
                    .map(|(k, v)| (k.clone(), tantivy::schema::OwnedValue::from(v.clone())))
                    .collect(),
            );
        }
        doc.add_text(f.doc, serde_json::to_string(record).unwrap_or_default());
        doc
    }

    /// Commits every partition with added records (each commit carrying its highest sequence
    /// number) and makes them searchable. Returns the sequence number everything up to which
    /// is committed everywhere (for truncating the write-ahead log): `upto` when all commits
    /// succeeded.
    pub fn commit(&self, upto: u64) -> Result<u64> {
        let mut partitions = self.lock();
        for partition in partitions.values_mut() {
            if partition.added_seq <= partition.committed_seq {
                continue;
            }
            let added = partition.added_seq;
            let path = partition.path.clone();
            let tantivy = |source| IndexError::Tantivy {
                path: path.clone(),
                source,
            };
            if let Some(writer) = partition.writer.as_mut() {
                let mut prepared = writer.prepare_commit().map_err(tantivy)?;
                prepared.set_payload(&added.to_string());
                prepared.commit().map_err(tantivy)?;
            }
            partition.committed_seq = added;
            partition.reader.reload().map_err(tantivy)?;
        }
        Ok(upto)
    }

    /// The partitions a request reads, newest day first.
    fn selected<'a>(
        partitions: &'a BTreeMap<PartitionKey, Partition>,
        req: &SearchRequest,
    ) -> Vec<(&'a PartitionKey, &'a Partition)> {
        let first_day = req.from_ms.div_euclid(DAY_MS);
        let last_day = (req.to_ms - 1).div_euclid(DAY_MS);
        let mut out: Vec<_> = partitions
            .iter()
            .filter(|(k, _)| k.day >= first_day && k.day <= last_day && req.streams.contains(&k.stream))
            .collect();
        out.sort_by_key(|p| std::cmp::Reverse(p.0.day));
        out
    }

    /// The newest `limit` records matching `req` (older than `cursor` when given).
    pub fn search(&self, req: &SearchRequest, limit: usize, cursor: Option<u64>) -> Result<Page> {
        let (query, exact) = self.translate(&req.query);
        let lower = key_of(req.from_ms);
        let upper = match cursor {
            Some(c) => c.min(key_of(req.to_ms)),
            None => key_of(req.to_ms),
        };
        let range = RangeQuery::new(
            StdBound::Included(Term::from_field_u64(self.fields.key, lower)),
            StdBound::Excluded(Term::from_field_u64(self.fields.key, upper)),
        );
        let full: Box<dyn TQuery> = Box::new(BooleanQuery::new(vec![
            (Occur::Must, query),
            (Occur::Must, Box::new(range)),
        ]));
        let partitions = self.lock();
        let selected = Self::selected(&partitions, req);
        let mut found: Vec<(u64, Record)> = Vec::new();
        if exact {
            // Keys first from every partition (fast field only), then the stored records of
            // the page alone.
            let mut keys: Vec<(u64, usize, DocAddress)> = Vec::new();
            let mut searchers = Vec::with_capacity(selected.len());
            for (i, (_, partition)) in selected.iter().enumerate() {
                let searcher = partition.reader.searcher();
                let top: Vec<(u64, DocAddress)> = searcher
                    .search(
                        &full,
                        &TopDocs::with_limit(limit + 1).order_by_u64_field("key", Order::Desc),
                    )
                    .map_err(partition.tantivy())?;
                keys.extend(top.into_iter().map(|(k, a)| (k, i, a)));
                searchers.push(searcher);
            }
            keys.sort_by_key(|k| std::cmp::Reverse(k.0));
            let more = keys.len() > limit;
            keys.truncate(limit);
            for (key, i, address) in keys {
                let record = self.stored(&searchers[i], address, selected[i].1)?;
                found.push((key, record));
            }
            let next_cursor = if more { found.last().map(|(k, _)| *k) } else { None };
            return Ok(Page {
                records: found.into_iter().map(|(_, r)| r).collect(),
                next_cursor,
            });
        }
        for (_, partition) in selected {
            let searcher = partition.reader.searcher();
            // Inexact translations are checked record by record, so ask for more.
            let mut want = limit + 1;
            loop {
                let top: Vec<(u64, DocAddress)> = searcher
                    .search(
                        &full,
                        &TopDocs::with_limit(want).order_by_u64_field("key", Order::Desc),
                    )
                    .map_err(partition.tantivy())?;
                let exhausted = top.len() < want;
                let mut matched = Vec::new();
                for (key, address) in &top {
                    let record = self.stored(&searcher, *address, partition)?;
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

    fn stored(
        &self,
        searcher: &tantivy::Searcher,
        address: DocAddress,
        partition: &Partition,
    ) -> Result<Record> {
        use tantivy::schema::document::Value as _;
        let doc: TantivyDocument = searcher.doc(address).map_err(partition.tantivy())?;
        let text = doc
            .get_first(self.fields.doc)
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        serde_json::from_str(text).map_err(|e| IndexError::Io {
            path: partition.path.clone(),
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
        let partitions = self.lock();
        let (query, exact) = self.translate(&req.query);
        let full = self.with_time(query, req);
        for (_, partition) in Self::selected(&partitions, req) {
            let searcher = partition.reader.searcher();
            let all = searcher
                .search(&full, &tantivy::collector::DocSetCollector)
                .map_err(partition.tantivy())?;
            for address in all {
                let record = self.stored(&searcher, address, partition)?;
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

    fn with_time(&self, query: Box<dyn TQuery>, req: &SearchRequest) -> Box<dyn TQuery> {
        let range = RangeQuery::new(
            StdBound::Included(Term::from_field_u64(self.fields.key, key_of(req.from_ms))),
            StdBound::Excluded(Term::from_field_u64(self.fields.key, key_of(req.to_ms))),
        );
        Box::new(BooleanQuery::new(vec![
            (Occur::Must, query),
            (Occur::Must, Box::new(range)),
        ]))
    }

    /// Calls `f` with the time of every matching record.
    fn for_each_match(&self, req: &SearchRequest, mut f: impl FnMut(i64)) -> Result<()> {
        let partitions = self.lock();
        let (query, exact) = self.translate(&req.query);
        let full = self.with_time(query, req);
        for (_, partition) in Self::selected(&partitions, req) {
            let searcher = partition.reader.searcher();
            if exact {
                let times = searcher
                    .search(&full, &TimesCollector)
                    .map_err(partition.tantivy())?;
                times.into_iter().for_each(&mut f);
            } else {
                let all = searcher
                    .search(&full, &tantivy::collector::DocSetCollector)
                    .map_err(partition.tantivy())?;
                for address in all {
                    let record = self.stored(&searcher, address, partition)?;
                    if query::evaluate(&req.query, &record) {
                        f(record.timestamp);
                    }
                }
            }
        }
        Ok(())
    }

    /// Deletes the partitions of `stream` whose day ended before `before_ms`; returns them.
    pub fn drop_before(&self, stream: &Stream, before_ms: i64) -> Result<Vec<PartitionKey>> {
        let last_day = before_ms.div_euclid(DAY_MS) - 1;
        let mut partitions = self.lock();
        let doomed: Vec<PartitionKey> = partitions
            .keys()
            .filter(|k| &k.stream == stream && k.day <= last_day)
            .cloned()
            .collect();
        for key in &doomed {
            if let Some(partition) = partitions.remove(key) {
                let path = partition.path.clone();
                drop(partition);
                std::fs::remove_dir_all(&path).map_err(|source| IndexError::Io { path, source })?;
            }
        }
        Ok(doomed)
    }

    /// Every partition: its key and size on disk in bytes.
    pub fn partitions(&self) -> Vec<(PartitionKey, u64)> {
        self.lock()
            .iter()
            .map(|(k, p)| (k.clone(), dir_size(&p.path)))
            .collect()
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
                    path => (self.attr_value(path, text), true),
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
                // Numbers in attributes (and numeric strings) are compared record by record.
                _ => (Box::new(AllQuery), false),
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

    /// An attribute's exact value: the string, and the number when it is one.
    fn attr_value(&self, path: &str, text: &str) -> Box<dyn TQuery> {
        let mut alternatives: Vec<(Occur, Box<dyn TQuery>)> = Vec::new();
        let mut t = Term::from_field_json_path(self.fields.attrs, path, true);
        t.append_type_and_str(text);
        alternatives.push((
            Occur::Should,
            Box::new(TermQuery::new(t, IndexRecordOption::Basic)),
        ));
        if let Ok(n) = text.parse::<i64>() {
            let mut t = Term::from_field_json_path(self.fields.attrs, path, true);
            t.append_type_and_fast_value(n);
            alternatives.push((
                Occur::Should,
                Box::new(TermQuery::new(t, IndexRecordOption::Basic)),
            ));
        }
        if let Ok(x) = text.parse::<f64>() {
            let mut t = Term::from_field_json_path(self.fields.attrs, path, true);
            t.append_type_and_fast_value(x);
            alternatives.push((
                Occur::Should,
                Box::new(TermQuery::new(t, IndexRecordOption::Basic)),
            ));
        }
        match text {
            "true" | "false" => {
                let mut t = Term::from_field_json_path(self.fields.attrs, path, true);
                t.append_type_and_fast_value(text == "true");
                alternatives.push((
                    Occur::Should,
                    Box::new(TermQuery::new(t, IndexRecordOption::Basic)),
                ));
            }
            _ => {}
        }
        Box::new(BooleanQuery::new(alternatives))
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

fn dir_size(path: &Path) -> u64 {
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
