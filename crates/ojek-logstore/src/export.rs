//! Exporting a partition: its records oldest first as NDJSON (one record's JSON per line, the
//! shape the search API returns) compressed with zstd, written to any [`Write`] in bounded
//! memory; and reading such a stream back ([`read_records`]).
//!
//! The export reads a snapshot of the partition (a Tantivy searcher over what was committed), so
//! it never holds the index's lock while it works and ingestion goes on beside it. Records are
//! ordered by the index's `key` (time, then arrival): the day is cut into key ranges small enough
//! that the (key, document) pairs of one range fit in [`WINDOW_DOCS`] entries, each range is
//! sorted, and its stored records are written one at a time. Memory stays bounded by the window,
//! one bit per document of the day (which of them are the stream's) and zstd's buffers; no
//! day's records are ever held whole.
//!
//! It must not change the index, nor upload anything: that is [`crate::archive`].

use std::io::{BufRead, BufReader, Read, Write};
use std::ops::RangeInclusive;

use ojek_logs::Record;
use tantivy::schema::document::Value as _;
use tantivy::{DocAddress, Searcher, TantivyDocument};

/// The most (key, document) pairs held at once while ordering a partition (16 bytes each).
pub const WINDOW_DOCS: usize = 256 * 1024;
/// Documents scanned between two checks of a window's size.
const SCAN_BLOCK: u32 = 64 * 1024;
/// The zstd level: zstd's default, fast enough to keep up with reading the index.
const ZSTD_LEVEL: i32 = 3;

/// What an export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// Records written.
    pub records: u64,
    /// The first (oldest) record's time, Unix ms.
    pub first_ms: Option<i64>,
    /// The last (newest) record's time, Unix ms.
    pub last_ms: Option<i64>,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The index could not be read.
    #[error("cannot read the partition: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// A stored record does not read back.
    #[error("a stored record does not read back: {0}")]
    BadRecord(serde_json::Error),
    /// The output failed.
    #[error("cannot write the export: {0}")]
    Io(#[from] std::io::Error),
}

/// A segment's documents of the partition's stream, one bit each.
struct Members(Vec<u64>);

impl Members {
    fn insert(&mut self, doc: u32) {
        if let Some(word) = self.0.get_mut(doc as usize / 64) {
            *word |= 1 << (doc % 64);
        }
    }

    fn contains(&self, doc: u32) -> bool {
        self.0
            .get(doc as usize / 64)
            .is_some_and(|word| word & (1 << (doc % 64)) != 0)
    }
}

/// A (key, segment, document) triple: sorting these orders records oldest first, ties in a
/// fixed order.
type Entry = (u64, u32, u32);

/// Writes every record of a partition (the documents of `partition`, a searcher over the
/// partition's day, that `stream` matches), oldest first, as zstd-compressed NDJSON into `out`;
/// returns what it wrote and `out`. `window_docs` bounds the memory used for ordering
/// ([`WINDOW_DOCS`] outside tests).
pub fn write_ndjson_zst<W: Write>(
    partition: &Searcher,
    stream: &dyn tantivy::query::Query,
    out: W,
    window_docs: usize,
) -> Result<(ExportSummary, W), ExportError> {
    let mut encoder = zstd::stream::write::Encoder::new(out, ZSTD_LEVEL)?;
    let mut summary = ExportSummary::default();
    let mut line = Vec::new();
    for_each_oldest_first(partition, stream, window_docs, |record| {
        line.clear();
        serde_json::to_writer(&mut line, &record).map_err(ExportError::BadRecord)?;
        line.push(b'\n');
        encoder.write_all(&line)?;
        summary.records += 1;
        summary.first_ms.get_or_insert(record.timestamp);
        summary.last_ms = Some(record.timestamp);
        Ok(())
    })?;
    let out = encoder.finish()?;
    Ok((summary, out))
}

/// Reads a zstd-compressed NDJSON export back, one record at a time.
pub fn read_records(input: impl Read) -> std::io::Result<impl Iterator<Item = std::io::Result<Record>>> {
    let decoder = zstd::stream::read::Decoder::new(input)?;
    Ok(BufReader::new(decoder).lines().filter_map(|line| match line {
        Ok(line) if line.is_empty() => None,
        Ok(line) => Some(serde_json::from_str(&line).map_err(std::io::Error::other)),
        Err(e) => Some(Err(e)),
    }))
}

/// Calls `f` with every record of the partition, in key order (oldest first).
fn for_each_oldest_first(
    partition: &Searcher,
    stream: &dyn tantivy::query::Query,
    window_docs: usize,
    mut f: impl FnMut(Record) -> Result<(), ExportError>,
) -> Result<(), ExportError> {
    let doc_field = partition.schema().get_field("doc")?;
    // The stream's documents in each segment of the day.
    let weight = stream.weight(tantivy::query::EnableScoring::disabled_from_searcher(partition))?;
    let mut members = Vec::new();
    for segment in partition.segment_readers() {
        let mut set = Members(vec![0u64; (segment.max_doc() as usize).div_ceil(64)]);
        weight.for_each_no_score(segment, &mut |docs| docs.iter().for_each(|&d| set.insert(d)))?;
        members.push(set);
    }
    let keys = partition
        .segment_readers()
        .iter()
        .map(|segment| segment.fast_fields().u64("key"))
        .collect::<tantivy::Result<Vec<_>>>()?;
    let (Some(low), Some(high)) = (
        keys.iter()
            .filter(|k| k.num_docs() > 0)
            .map(|k| k.min_value())
            .min(),
        keys.iter()
            .filter(|k| k.num_docs() > 0)
            .map(|k| k.max_value())
            .max(),
    ) else {
        return Ok(());
    };
    // Key ranges still to write, the next one last: split in halves until one fits.
    let mut ranges = vec![low..=high];
    while let Some(range) = ranges.pop() {
        let Some(entries) = window(partition, &keys, &members, &range, window_docs) else {
            let (lo, hi) = (*range.start(), *range.end());
            let mid = lo + (hi - lo) / 2;
            ranges.push(mid + 1..=hi);
            ranges.push(lo..=mid);
            continue;
        };
        for (_, segment, doc) in entries {
            let stored: TantivyDocument = partition.doc(DocAddress::new(segment, doc))?;
            let text = stored
                .get_first(doc_field)
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            f(serde_json::from_str(text).map_err(ExportError::BadRecord)?)?;
        }
    }
    Ok(())
}

/// The live documents whose key is in `range`, sorted; `None` when there are more than `max`
/// and the range can still be split.
fn window(
    partition: &Searcher,
    keys: &[tantivy::columnar::Column<u64>],
    members: &[Members],
    range: &RangeInclusive<u64>,
    max: usize,
) -> Option<Vec<Entry>> {
    let splittable = range.start() < range.end();
    let mut entries: Vec<Entry> = Vec::new();
    let mut hits = Vec::new();
    for (ord, (segment, column)) in partition.segment_readers().iter().zip(keys).enumerate() {
        let ord = ord as u32;
        let mut start = 0;
        while start < segment.max_doc() {
            let end = start.saturating_add(SCAN_BLOCK).min(segment.max_doc());
            hits.clear();
            column.get_docids_for_value_range(range.clone(), start..end, &mut hits);
            for &doc in &hits {
                let member = members.get(ord as usize).is_some_and(|m| m.contains(doc));
                if let Some(key) = column.first(doc).filter(|_| member && !segment.is_deleted(doc)) {
                    entries.push((key, ord, doc));
                }
            }
            if splittable && entries.len() > max {
                return None;
            }
            start = end;
        }
    }
    entries.sort_unstable();
    Some(entries)
}
