//! The log archive: before retention drops a partition (a stream's day), its records are copied
//! to object storage (S3-compatible, or a local directory) as one zstd-compressed NDJSON object,
//! with a small JSON manifest beside it:
//!
//! ```text
//! <prefix>/<app>/<env>/<YYYY-MM-DD>.ndjson.zst      records oldest first, one JSON per line
//! <prefix>/<app>/<env>/<YYYY-MM-DD>.manifest.json   Manifest: count, first/last time, size, SHA-256
//! ```
//!
//! The object is streamed with a multipart upload (the export runs on a blocking thread and
//! hands compressed chunks over a small channel, so memory stays bounded whatever the size of
//! the day), then checked with a HEAD request: its size must be what was written. Only then may
//! the partition be dropped ([`Archive::archive_expired`] drops it, unless records arrived in
//! it meanwhile). A failed archive leaves the partition in place for the next run; archiving a
//! partition again overwrites both objects.
//!
//! Credentials come from the standard `AWS_*` variables and are never printed: an archive shows
//! itself as its URL, which may not carry any.

use std::fmt;
use std::io::Write;
use std::sync::Arc;

use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::export::{self, ExportError, ExportSummary};
use crate::index::{IndexError, LogIndex, PartitionKey, Stream};
use crate::store::{LogStore, StoreError};

/// The size of each uploaded part (S3 wants at least 5 MiB for all but the last).
pub const PART_BYTES: usize = 8 * 1024 * 1024;
/// Parts uploading at once.
const PARTS_IN_FLIGHT: usize = 2;
/// Compressed bytes handed from the export thread to the upload at a time.
const CHUNK_BYTES: usize = 1024 * 1024;
/// Days are UTC days of this many milliseconds.
const DAY_MS: i64 = 86_400_000;
/// The manifest's `format`.
pub const FORMAT: &str = "ojek-logs-ndjson-zstd-1";

/// Why archiving failed.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The archive URL cannot be used.
    #[error("log archive `{url}`: {why}")]
    BadUrl {
        /// The URL (without any user or password).
        url: String,
        /// Why, and what to write instead.
        why: String,
    },
    /// The object store could not be set up.
    #[error("log archive `{location}`: {source}")]
    Setup {
        /// The archive's URL.
        location: String,
        /// Why.
        #[source]
        source: object_store::Error,
    },
    /// An upload, the size check or the manifest failed.
    #[error(
        "cannot archive to {object}: {source} (the partition is kept and archived again at the next run)"
    )]
    Upload {
        /// The object.
        object: String,
        /// Why.
        #[source]
        source: object_store::Error,
    },
    /// The uploaded object does not have the size that was written.
    #[error(
        "{object} holds {stored} bytes where {written} were written (the partition is kept and \
         archived again at the next run)"
    )]
    SizeMismatch {
        /// The object.
        object: String,
        /// Bytes written.
        written: u64,
        /// Bytes the store reports.
        stored: u64,
    },
    /// The partition could not be read.
    #[error("cannot export log partition {partition}: {source}")]
    Export {
        /// `app/env/day`.
        partition: String,
        /// Why.
        #[source]
        source: ExportError,
    },
    /// There is no such partition.
    #[error("there is no log partition {0}")]
    NoPartition(String),
    /// Records arrived in the partition while it was archived.
    #[error(
        "log partition {0} received records while it was archived; it is kept and archived again at the next run"
    )]
    Changed(String),
    /// The index failed (dropping the partition).
    #[error(transparent)]
    Index(#[from] IndexError),
    /// The store failed (flushing before the archive).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The export thread panicked or was cancelled.
    #[error("the log archive's export task failed: {0}")]
    Task(String),
}

/// What is stored beside each archived day (`<day>.manifest.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`]: zstd-compressed NDJSON, one `Record` per line, oldest first.
    pub format: String,
    /// App.
    pub app: String,
    /// Environment.
    pub env: String,
    /// The UTC day, `YYYY-MM-DD`.
    pub day: String,
    /// The records' object (its full path in the bucket or directory).
    pub object: String,
    /// How many records it holds.
    pub records: u64,
    /// The oldest record's time (Unix ms); `None` for an empty day.
    pub first_timestamp: Option<i64>,
    /// The newest record's time (Unix ms).
    pub last_timestamp: Option<i64>,
    /// The object's size in bytes.
    pub bytes: u64,
    /// The object's SHA-256, lower-case hex.
    pub sha256: String,
}

/// What [`Archive::archive_expired`] did for one stream.
#[derive(Debug, Default)]
pub struct Expired {
    /// The partitions archived (oldest first).
    pub archived: Vec<Manifest>,
    /// The partitions dropped (each one archived first).
    pub dropped: Vec<PartitionKey>,
    /// The first partition that could not be archived (or dropped), and why: it and the
    /// stream's newer expired days are kept for the next run.
    pub kept: Option<(PartitionKey, ArchiveError)>,
}

/// Where expired partitions are archived.
pub struct Archive {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    location: String,
    part_bytes: usize,
    window_docs: usize,
}

impl fmt::Debug for Archive {
    // Only the URL: the object store's own form may hold credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Archive")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Archive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.location)
    }
}

impl Archive {
    /// An archive at `url`: `s3://bucket/prefix` (S3 or S3-compatible, configured by the
    /// `AWS_*` entries of `env`, normally `std::env::vars()`: `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`, …) or
    /// `file:///directory` (created when missing).
    pub fn from_url(
        url: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Archive, ArchiveError> {
        let parsed = url::Url::parse(url).map_err(|e| ArchiveError::BadUrl {
            url: url.to_string(),
            why: format!("{e}; write s3://bucket/prefix or file:///directory"),
        })?;
        let shown = without_credentials(&parsed);
        let bad = |why: &str| ArchiveError::BadUrl {
            url: shown.clone(),
            why: why.to_string(),
        };
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(bad(
                "credentials do not belong in the URL; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
            ));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(bad("a query or fragment is not supported"));
        }
        let setup = |source| ArchiveError::Setup {
            location: shown.clone(),
            source,
        };
        match parsed.scheme() {
            "s3" => {
                let bucket = parsed
                    .host_str()
                    .filter(|b| !b.is_empty())
                    .ok_or_else(|| bad("no bucket; write s3://bucket/prefix"))?;
                let prefix =
                    Path::from_url_path(parsed.path()).map_err(|e| bad(&format!("bad prefix: {e}")))?;
                let mut builder = AmazonS3Builder::new();
                let mut allow_http = false;
                let mut http_endpoint = false;
                for (key, value) in env {
                    if !key.starts_with("AWS_") {
                        continue;
                    }
                    let lower = key.to_ascii_lowercase();
                    match lower.as_str() {
                        "aws_allow_http" => allow_http = value.eq_ignore_ascii_case("true"),
                        "aws_endpoint" | "aws_endpoint_url" => http_endpoint = value.starts_with("http://"),
                        _ => {}
                    }
                    if let Ok(config) = lower.parse() {
                        builder = builder.with_config(config, value);
                    }
                }
                if http_endpoint && !allow_http {
                    return Err(bad(
                        "AWS_ENDPOINT_URL is plain http://; set AWS_ALLOW_HTTP=true to allow it",
                    ));
                }
                let retry = object_store::RetryConfig {
                    max_retries: 3,
                    retry_timeout: std::time::Duration::from_secs(60),
                    ..Default::default()
                };
                let store = builder
                    .with_bucket_name(bucket)
                    .with_retry(retry)
                    .build()
                    .map_err(setup)?;
                Ok(Archive::new(Arc::new(store), prefix, shown.clone()))
            }
            "file" => {
                let dir = parsed
                    .to_file_path()
                    .map_err(|()| bad("not a local path; write file:///absolute/directory"))?;
                std::fs::create_dir_all(&dir)
                    .map_err(|e| bad(&format!("cannot create the directory: {e}")))?;
                let store = LocalFileSystem::new_with_prefix(&dir).map_err(setup)?;
                Ok(Archive::new(Arc::new(store), Path::default(), shown.clone()))
            }
            other => Err(bad(&format!(
                "unsupported scheme `{other}`; write s3://bucket/prefix or file:///directory"
            ))),
        }
    }

    /// An archive in `store` under `prefix`, shown as `location` in messages.
    pub fn new(store: Arc<dyn ObjectStore>, prefix: Path, location: impl Into<String>) -> Archive {
        Archive {
            store,
            prefix,
            location: location.into(),
            part_bytes: PART_BYTES,
            window_docs: export::WINDOW_DOCS,
        }
    }

    /// Uploads in parts of `bytes` (tests: many small parts; S3 needs 5 MiB but for the last).
    pub fn with_part_bytes(mut self, bytes: usize) -> Archive {
        self.part_bytes = bytes.max(1);
        self
    }

    /// Orders each partition in windows of at most `docs` records (tests: many windows).
    pub fn with_window_docs(mut self, docs: usize) -> Archive {
        self.window_docs = docs.max(1);
        self
    }

    /// The object store (for reading an archive back).
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The records' object of a partition: `<prefix>/<app>/<env>/<YYYY-MM-DD>.ndjson.zst`.
    pub fn object_path(&self, key: &PartitionKey) -> Path {
        self.stream_dir(&key.stream)
            .join(format!("{}.ndjson.zst", key.day_name()))
    }

    /// The manifest of a partition: `<prefix>/<app>/<env>/<YYYY-MM-DD>.manifest.json`.
    pub fn manifest_path(&self, key: &PartitionKey) -> Path {
        self.stream_dir(&key.stream)
            .join(format!("{}.manifest.json", key.day_name()))
    }

    fn stream_dir(&self, stream: &Stream) -> Path {
        self.prefix
            .clone()
            .join(stream.app.as_str())
            .join(stream.env.as_str())
    }

    /// Archives one partition (what is committed in it now), overwriting an earlier archive of
    /// it; returns the manifest once the object is uploaded and its size checked.
    pub async fn archive_partition(
        &self,
        index: &LogIndex,
        key: &PartitionKey,
    ) -> Result<Manifest, ArchiveError> {
        Ok(self.archive_snapshot(index, key).await?.0)
    }

    /// Archives then drops, oldest first, the partitions of `stream` whose day ended before
    /// `before_ms`. Stops at the first that fails (it and the newer ones stay for the next run).
    pub async fn archive_expired(&self, store: &Arc<LogStore>, stream: &Stream, before_ms: i64) -> Expired {
        let mut out = Expired::default();
        // Records acknowledged so far belong in the archive: commit them first.
        let flushing = store.clone();
        match tokio::task::spawn_blocking(move || flushing.flush()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("log archive: flushing the log store failed: {e}"),
            Err(e) => tracing::warn!("log archive: flushing the log store failed: {e}"),
        }
        let last_day = before_ms.div_euclid(DAY_MS) - 1;
        let mut expired: Vec<PartitionKey> = store
            .index()
            .partitions()
            .into_iter()
            .map(|(k, _)| k)
            .filter(|k| &k.stream == stream && k.day <= last_day)
            .collect();
        expired.sort();
        for key in expired {
            match self.archive_then_drop(store, &key).await {
                Ok((manifest, dropped)) => {
                    out.archived.push(manifest);
                    out.dropped.extend(dropped);
                }
                Err(e) => {
                    out.kept = Some((key, e));
                    break;
                }
            }
        }
        out
    }

    async fn archive_then_drop(
        &self,
        store: &Arc<LogStore>,
        key: &PartitionKey,
    ) -> Result<(Manifest, Vec<PartitionKey>), ArchiveError> {
        let (manifest, seq) = self.archive_snapshot(store.index(), key).await?;
        // Drop only what was archived: no record of the stream may have been added to this day
        // since the snapshot, and no older day of the stream may have appeared (late records);
        // the index checks and drops under one lock.
        let dropping = store.clone();
        let partition = key.clone();
        let dropped = tokio::task::spawn_blocking(move || {
            dropping.index().drop_partition_if_unchanged(&partition, seq)
        })
        .await
        .map_err(|e| ArchiveError::Task(e.to_string()))??;
        if !dropped {
            return Err(ArchiveError::Changed(partition_name(key)));
        }
        Ok((manifest, vec![key.clone()]))
    }

    /// Archives what a partition has committed; returns the manifest and the sequence number
    /// the archive holds everything up to.
    async fn archive_snapshot(
        &self,
        index: &LogIndex,
        key: &PartitionKey,
    ) -> Result<(Manifest, u64), ArchiveError> {
        let name = partition_name(key);
        let snapshot = index
            .partition_snapshot(key)
            .ok_or_else(|| ArchiveError::NoPartition(name.clone()))?;
        let committed = snapshot.committed_seq;
        let object = self.object_path(key);
        let upload_error = |path: &Path| {
            let object = format!("{}: {path}", self.location);
            move |source| ArchiveError::Upload { object, source }
        };
        let (chunks, received) = mpsc::channel::<Bytes>(2);
        let window_docs = self.window_docs;
        let exporting = tokio::task::spawn_blocking(move || {
            let (summary, sender) = export::write_ndjson_zst(
                &snapshot.searcher,
                &snapshot.stream,
                ChunkSender::new(chunks),
                window_docs,
            )?;
            let (bytes, sha256) = sender.finish()?;
            Ok::<_, ExportError>((summary, bytes, sha256))
        });
        let uploaded = self.upload(&object, received).await;
        let exported = exporting.await.map_err(|e| ArchiveError::Task(e.to_string()))?;
        let (summary, written, sha256) = match (uploaded, exported) {
            // The export stops with "the upload stopped": the upload's error is the one to tell.
            (Err(e), _) => return Err(upload_error(&object)(e)),
            (Ok(writer), Err(source)) => {
                let _ = writer.abort().await;
                return Err(ArchiveError::Export {
                    partition: name,
                    source,
                });
            }
            (Ok(writer), Ok(done)) => {
                writer.finish().await.map_err(upload_error(&object))?;
                done
            }
        };
        let stored = self
            .store
            .head(&object)
            .await
            .map_err(upload_error(&object))?
            .size;
        if stored != written {
            return Err(ArchiveError::SizeMismatch {
                object: format!("{}: {object}", self.location),
                written,
                stored,
            });
        }
        let manifest = manifest(key, &object, summary, written, sha256);
        let json = serde_json::to_vec_pretty(&manifest).map_err(|e| ArchiveError::Export {
            partition: name,
            source: ExportError::BadRecord(e),
        })?;
        let manifest_path = self.manifest_path(key);
        self.store
            .put(&manifest_path, PutPayload::from(json))
            .await
            .map_err(upload_error(&manifest_path))?;
        Ok((manifest, committed))
    }

    /// Uploads the chunks `received` as `object` in parts, at most [`PARTS_IN_FLIGHT`] at once;
    /// returns the upload to finish once the export succeeded. Dropping `received` on the way
    /// out stops an export that is still writing.
    async fn upload(
        &self,
        object: &Path,
        mut received: mpsc::Receiver<Bytes>,
    ) -> object_store::Result<WriteMultipart> {
        let upload = self.store.put_multipart(object).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, self.part_bytes);
        while let Some(chunk) = received.recv().await {
            if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                let _ = writer.abort().await;
                return Err(e);
            }
            writer.put(chunk);
        }
        Ok(writer)
    }
}

fn manifest(
    key: &PartitionKey,
    object: &Path,
    summary: ExportSummary,
    bytes: u64,
    sha256: String,
) -> Manifest {
    Manifest {
        format: FORMAT.to_string(),
        app: key.stream.app.clone(),
        env: key.stream.env.clone(),
        day: key.day_name(),
        object: object.to_string(),
        records: summary.records,
        first_timestamp: summary.first_ms,
        last_timestamp: summary.last_ms,
        bytes,
        sha256,
    }
}

fn partition_name(key: &PartitionKey) -> String {
    format!("{}/{}/{}", key.stream.app, key.stream.env, key.day_name())
}

/// The URL as shown in messages: without user name or password.
fn without_credentials(url: &url::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

/// The export's output: compressed bytes in chunks to the upload, counted and hashed.
struct ChunkSender {
    chunks: mpsc::Sender<Bytes>,
    buffer: Vec<u8>,
    bytes: u64,
    sha256: Sha256,
}

impl ChunkSender {
    fn new(chunks: mpsc::Sender<Bytes>) -> ChunkSender {
        ChunkSender {
            chunks,
            buffer: Vec::with_capacity(CHUNK_BYTES),
            bytes: 0,
            sha256: Sha256::new(),
        }
    }

    fn send(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK_BYTES),
        ));
        self.chunks
            .blocking_send(chunk)
            .map_err(|_| std::io::Error::other("the upload stopped"))
    }

    /// Sends what is left; returns the size and the SHA-256 (hex) of everything written.
    fn finish(mut self) -> std::io::Result<(u64, String)> {
        self.send()?;
        let digest = self.sha256.finalize();
        Ok((self.bytes, digest.iter().map(|b| format!("{b:02x}")).collect()))
    }
}

impl Write for ChunkSender {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(data);
        self.sha256.update(data);
        self.bytes += data.len() as u64;
        if self.buffer.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
