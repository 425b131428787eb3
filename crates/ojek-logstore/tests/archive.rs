//! The archive against object_store's in-memory store (and a local directory): a partition
//! archived in many small parts and ordering windows reads back as exactly the partition's
//! records, oldest first; the manifest matches the object; archiving again overwrites with the
//! same bytes; expired days are dropped only once archived, and kept when the upload fails, when
//! the stored size is wrong, or when records arrive while they are archived. URLs are checked at
//! start-up, without showing credentials.

use std::fmt;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use futures::stream::BoxStream;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, ObjectStoreExt,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use ojek_logs::{Query, Record};
use ojek_logstore::archive::{Archive, ArchiveError, FORMAT, Manifest};
use ojek_logstore::export::read_records;
use ojek_logstore::index::{PartitionKey, SearchRequest, Stream};
use ojek_logstore::store::LogStore;
use serde_json::{Map, json};
use sha2::{Digest, Sha256};

/// 2026-11-20T00:00:00Z.
const T0: i64 = 1_795_132_800_000;
const DAY: i64 = 86_400_000;

fn stream(app: &str) -> Stream {
    Stream {
        app: app.into(),
        env: "production".into(),
    }
}

fn key(app: &str, day: i64) -> PartitionKey {
    PartitionKey {
        stream: stream(app),
        day: T0 / DAY + day,
    }
}

/// Two days of `driver-location` (out of order, several records per millisecond, nested and
/// long attributes) and one of `payments`.
fn records(n: usize) -> Vec<Record> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..n)
        .map(|i| {
            let r = next();
            let app = if i % 5 == 0 { "payments" } else { "driver-location" };
            let day = if app == "payments" { 0 } else { (r % 2) as i64 };
            let mut attrs = Map::new();
            let status = [200, 503][(r >> 8) as usize % 2];
            attrs.insert("http".into(), json!({ "status": status, "path": "/v1" }));
            if i % 7 == 0 {
                attrs.insert("stack".into(), json!("at x\n".repeat(200)));
            }
            Record {
                // Coarse times: many records share a millisecond.
                timestamp: T0 + day * DAY + ((r >> 16) % (DAY as u64 / 1000)) as i64 * 1000 / 4 * 4,
                received: T0 + 2 * DAY,
                app: app.into(),
                env: "production".into(),
                level: Some(["info", "error"][(r >> 24) as usize % 2].into()),
                host: Some("node-a".into()),
                pod: (i % 3 == 0).then(|| format!("{app}-0")),
                revision: Some(3),
                variant: None,
                message: format!("line {i} ünïcode \"quoted\""),
                attrs,
            }
        })
        .collect()
}

/// A store filled with `records` in several commits (so a partition has several segments).
fn store_with(dir: &std::path::Path, records: &[Record]) -> Arc<LogStore> {
    let store = LogStore::open(dir).expect("open");
    for (i, chunk) in records.chunks(101).enumerate() {
        store.append(chunk.to_vec()).expect("append");
        if i % 4 == 3 {
            store.flush().expect("flush");
        }
    }
    store.flush().expect("flush");
    Arc::new(store)
}

/// A partition's records as the search API gives them, oldest first.
fn partition_records(store: &LogStore, key: &PartitionKey) -> Vec<Record> {
    let req = SearchRequest {
        streams: vec![key.stream.clone()],
        query: Query::All,
        from_ms: key.day * DAY,
        to_ms: (key.day + 1) * DAY,
    };
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.index().search(&req, 500, cursor).expect("search");
        out.extend(page.records);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    out.reverse();
    out
}

async fn download(archive: &Archive, path: &Path) -> Vec<u8> {
    let got = archive.store().get(path).await.expect("the object exists");
    got.bytes().await.expect("read the object").to_vec()
}

fn decode(bytes: &[u8]) -> Vec<Record> {
    read_records(bytes)
        .expect("zstd")
        .collect::<std::io::Result<Vec<_>>>()
        .expect("every line is a record")
}

fn in_memory() -> Archive {
    Archive::new(
        Arc::new(InMemory::new()),
        Path::from("barito/archive"),
        "memory://test",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_reads_back_exactly_oldest_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store_with(dir.path(), &records(3000));
    // Tiny parts and ordering windows: many of each.
    let archive = in_memory().with_part_bytes(1024).with_window_docs(37);
    let day1 = key("driver-location", 1);
    let manifest = archive
        .archive_partition(store.index(), &day1)
        .await
        .expect("archive");

    let object = archive.object_path(&day1);
    assert_eq!(
        object.as_ref(),
        "barito/archive/driver-location/production/2026-11-21.ndjson.zst"
    );
    let bytes = download(&archive, &object).await;
    assert!(bytes.len() > 4 * 1024, "several parts: {} bytes", bytes.len());
    let archived = decode(&bytes);
    let expected = partition_records(&store, &day1);
    assert!(expected.len() > 1000, "{}", expected.len());
    assert_eq!(archived, expected, "the partition's records, oldest first");
    assert!(archived.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
    // Each line is the record's JSON, as the search API shows it.
    let text = String::from_utf8(zstd::decode_all(&bytes[..]).expect("zstd")).expect("utf-8");
    let first_line = text.lines().next().expect("a line");
    assert_eq!(first_line, serde_json::to_string(&expected[0]).expect("json"));

    assert_eq!(
        manifest,
        Manifest {
            format: FORMAT.into(),
            app: "driver-location".into(),
            env: "production".into(),
            day: "2026-11-21".into(),
            object: object.to_string(),
            records: expected.len() as u64,
            first_timestamp: expected.first().map(|r| r.timestamp),
            last_timestamp: expected.last().map(|r| r.timestamp),
            bytes: bytes.len() as u64,
            sha256: hex(&Sha256::digest(&bytes)),
        }
    );
    let stored: Manifest = serde_json::from_slice(&download(&archive, &archive.manifest_path(&day1)).await)
        .expect("manifest JSON");
    assert_eq!(stored, manifest);
    // Archiving does not touch the partition.
    assert_eq!(partition_records(&store, &day1), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archiving_again_overwrites_with_the_same_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store_with(dir.path(), &records(500));
    let archive = in_memory().with_part_bytes(1000);
    let day0 = key("payments", 0);
    archive
        .archive_partition(store.index(), &day0)
        .await
        .expect("archive");
    let first = download(&archive, &archive.object_path(&day0)).await;
    archive
        .archive_partition(store.index(), &day0)
        .await
        .expect("archive again");
    assert_eq!(download(&archive, &archive.object_path(&day0)).await, first);
    let listed = list(&archive).await;
    assert_eq!(
        listed,
        [
            "barito/archive/payments/production/2026-11-20.manifest.json",
            "barito/archive/payments/production/2026-11-20.ndjson.zst",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_days_are_archived_then_dropped_oldest_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let all = records(800);
    let store = store_with(dir.path(), &all);
    let archive = in_memory();
    let expected0 = partition_records(&store, &key("driver-location", 0));
    let expected1 = partition_records(&store, &key("driver-location", 1));

    // Only day 0 has ended before the start of day 1.
    let outcome = archive
        .archive_expired(&store, &stream("driver-location"), T0 + DAY)
        .await;
    assert!(outcome.kept.is_none(), "{:?}", outcome.kept);
    assert_eq!(outcome.dropped, [key("driver-location", 0)]);
    assert_eq!(outcome.archived.len(), 1);
    assert_eq!(outcome.archived[0].records, expected0.len() as u64);
    let archived = decode(&download(&archive, &archive.object_path(&key("driver-location", 0))).await);
    assert_eq!(archived, expected0);
    assert_eq!(
        partitions(&store),
        [key("driver-location", 1), key("payments", 0)]
    );

    // Then day 1; `payments` is another stream and stays.
    let outcome = archive
        .archive_expired(&store, &stream("driver-location"), T0 + 10 * DAY)
        .await;
    assert!(outcome.kept.is_none(), "{:?}", outcome.kept);
    assert_eq!(outcome.dropped, [key("driver-location", 1)]);
    let archived = decode(&download(&archive, &archive.object_path(&key("driver-location", 1))).await);
    assert_eq!(archived, expected1);
    assert_eq!(partitions(&store), [key("payments", 0)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_upload_keeps_the_partition() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store_with(dir.path(), &records(300));
    let target = tempfile::tempdir().expect("archive dir");
    // A file where the stream's directory should be: every upload fails.
    std::fs::write(target.path().join("driver-location"), b"in the way").expect("blocker");
    let url = format!("file://{}", target.path().display());
    let archive = Archive::from_url(&url, Vec::new()).expect("file URL");
    let before = partition_records(&store, &key("driver-location", 0));

    let outcome = archive
        .archive_expired(&store, &stream("driver-location"), T0 + 10 * DAY)
        .await;
    let (kept, error) = outcome.kept.expect("the archive fails");
    assert_eq!(kept, key("driver-location", 0), "the oldest first, then stop");
    assert!(matches!(error, ArchiveError::Upload { .. }), "{error}");
    assert!(
        error.to_string().contains("archived again at the next run"),
        "{error}"
    );
    assert!(outcome.dropped.is_empty() && outcome.archived.is_empty());
    assert_eq!(
        partitions(&store),
        [
            key("driver-location", 0),
            key("driver-location", 1),
            key("payments", 0)
        ]
    );
    assert_eq!(partition_records(&store, &key("driver-location", 0)), before);

    // Once the way is clear, the next run archives and drops both days.
    std::fs::remove_file(target.path().join("driver-location")).expect("unblock");
    let outcome = archive
        .archive_expired(&store, &stream("driver-location"), T0 + 10 * DAY)
        .await;
    assert!(outcome.kept.is_none(), "{:?}", outcome.kept);
    assert_eq!(outcome.dropped.len(), 2);
    let file = target
        .path()
        .join("driver-location/production/2026-11-20.ndjson.zst");
    let archived = decode(&std::fs::read(file).expect("archived file"));
    assert_eq!(archived, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_size_after_upload_keeps_the_partition() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store_with(dir.path(), &records(300));
    let hooked = Hooked::new(|| {});
    *hooked.short_head.lock().expect("lock") = true;
    let archive = Archive::new(Arc::new(hooked), Path::from("a"), "memory://short-head");
    let outcome = archive
        .archive_expired(&store, &stream("driver-location"), T0 + 10 * DAY)
        .await;
    let (kept, error) = outcome.kept.expect("the size check fails");
    assert_eq!(kept, key("driver-location", 0));
    assert!(matches!(error, ArchiveError::SizeMismatch { .. }), "{error}");
    assert!(outcome.dropped.is_empty());
    assert_eq!(partitions(&store).len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_arriving_during_the_archive_keep_the_partition() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store_with(dir.path(), &records(300));
    let late = store.clone();
    // A late record for the day being archived, written between the upload and the drop.
    let hooked = Hooked::new(move || {
        let mut record = records(1).remove(0);
        record.app = "driver-location".into();
        record.timestamp = T0 + 5;
        record.message = "late".into();
        late.append(vec![record]).expect("append");
        late.flush().expect("flush");
    });
    let archive = Archive::new(Arc::new(hooked), Path::from("a"), "memory://late");
    let outcome = archive
        .archive_expired(&store, &stream("driver-location"), T0 + 10 * DAY)
        .await;
    let (kept, error) = outcome.kept.expect("the day changed");
    assert_eq!(kept, key("driver-location", 0));
    assert!(matches!(error, ArchiveError::Changed(_)), "{error}");
    assert!(outcome.dropped.is_empty());
    let day0 = partition_records(&store, &key("driver-location", 0));
    assert!(
        day0.iter().any(|r| r.message == "late"),
        "the late record is still there"
    );

    // The next run archives it with the late record, then drops it.
    let outcome = archive
        .archive_expired(&store, &stream("driver-location"), T0 + 10 * DAY)
        .await;
    assert!(outcome.kept.is_none(), "{:?}", outcome.kept);
    let archived = decode(&download(&archive, &archive.object_path(&key("driver-location", 0))).await);
    assert_eq!(archived, day0);
}

#[test]
fn urls_are_checked_at_start_up_without_showing_credentials() {
    let err = |url: &str, env: Vec<(String, String)>| Archive::from_url(url, env).expect_err(url).to_string();
    let e = err("ftp://host/x", vec![]);
    assert!(
        e.contains("unsupported scheme `ftp`") && e.contains("s3://bucket/prefix"),
        "{e}"
    );
    let e = err("not a url", vec![]);
    assert!(e.contains("s3://bucket/prefix or file:///directory"), "{e}");
    let e = err("s3://AKIAEXAMPLE:very-secret@bucket/logs", vec![]);
    assert!(e.contains("AWS_SECRET_ACCESS_KEY"), "{e}");
    assert!(
        !e.contains("very-secret") && !e.contains("AKIAEXAMPLE"),
        "no credentials shown: {e}"
    );
    let e = err("s3://bucket/logs?x=1", vec![]);
    assert!(e.contains("query"), "{e}");
    let local = vec![
        (
            "AWS_ENDPOINT_URL".to_string(),
            "http://127.0.0.1:9000".to_string(),
        ),
        ("AWS_REGION".to_string(), "local".to_string()),
    ];
    let e = err("s3://bucket/logs", local.clone());
    assert!(e.contains("AWS_ALLOW_HTTP=true"), "{e}");

    let mut allowed = local;
    allowed.push(("AWS_ALLOW_HTTP".into(), "true".into()));
    allowed.push(("AWS_ACCESS_KEY_ID".into(), "AKIAEXAMPLE".into()));
    allowed.push(("AWS_SECRET_ACCESS_KEY".into(), "very-secret".into()));
    for (url, object) in [
        ("s3://bucket", "payments/production/2026-11-20.ndjson.zst"),
        ("s3://bucket/", "payments/production/2026-11-20.ndjson.zst"),
        (
            "s3://bucket/logs/",
            "logs/payments/production/2026-11-20.ndjson.zst",
        ),
    ] {
        let archive = Archive::from_url(url, allowed.clone()).expect(url);
        assert_eq!(archive.object_path(&key("payments", 0)).as_ref(), object, "{url}");
    }
    let archive = Archive::from_url("s3://bucket/barito/logs", allowed).expect("s3 URL");
    assert_eq!(archive.to_string(), "s3://bucket/barito/logs");
    assert!(!format!("{archive:?}").contains("very-secret"));
    assert_eq!(
        archive.object_path(&key("payments", 0)).as_ref(),
        "barito/logs/payments/production/2026-11-20.ndjson.zst"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("archive/logs");
    let archive = Archive::from_url(&format!("file://{}", missing.display()), vec![]).expect("file URL");
    assert!(missing.is_dir(), "created");
    assert_eq!(
        archive.object_path(&key("payments", 0)).as_ref(),
        "payments/production/2026-11-20.ndjson.zst"
    );
}

fn partitions(store: &LogStore) -> Vec<PartitionKey> {
    let mut v: Vec<PartitionKey> = store.index().partitions().into_iter().map(|(k, _)| k).collect();
    v.sort();
    v
}

async fn list(archive: &Archive) -> Vec<String> {
    use futures::TryStreamExt;
    let mut v: Vec<String> = archive
        .store()
        .list(None)
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .expect("list");
    v.sort();
    v
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An in-memory store that runs a hook on the first HEAD request (after the upload, before the
/// drop), and can report a size one byte short.
struct Hooked {
    inner: InMemory,
    on_head: Mutex<Option<Box<dyn FnOnce() + Send>>>,
    short_head: Mutex<bool>,
}

impl Hooked {
    fn new(hook: impl FnOnce() + Send + 'static) -> Hooked {
        Hooked {
            inner: InMemory::new(),
            on_head: Mutex::new(Some(Box::new(hook))),
            short_head: Mutex::new(false),
        }
    }
}

impl fmt::Debug for Hooked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Hooked")
    }
}

impl fmt::Display for Hooked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Hooked")
    }
}

#[async_trait::async_trait]
impl ObjectStore for Hooked {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> object_store::Result<GetResult> {
        let head = options.head;
        let mut result = self.inner.get_opts(location, options).await?;
        if head {
            let hook = self.on_head.lock().expect("lock").take();
            if let Some(hook) = hook {
                tokio::task::block_in_place(hook);
            }
            if *self.short_head.lock().expect("lock") {
                result.meta.size -= 1;
            }
        }
        Ok(result)
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<bytes::Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}
