//! The log store: the write-ahead log in front of the index.
//!
//! [`LogStore::append`] returns once a batch is durable in the write-ahead log. An indexer
//! thread then adds batches to the index strictly in sequence order (so each partition's
//! committed sequence number means "everything up to here"), commits every
//! [`COMMIT_INTERVAL`] (or on [`LogStore::flush`]), records the checkpoint and deletes the
//! log segments the index now holds. On open, whatever the log has above the checkpoint is
//! indexed again, and partitions skip what they had already committed: every acknowledged
//! record ends up in the index exactly once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use ojek_logs::Record;

use crate::index::{IndexError, LogIndex};
use crate::wal::{AppendHandle, Wal, WalError};

/// How often added records are committed (made searchable). Durability is the write-ahead
/// log's: the interval only sets how fresh searches are (live tail does not wait for it), and
/// each commit starts new segments, so a shorter one costs indexing speed (in the logs
/// benchmark, 500 ms indexed about a fifth slower than 5 s).
pub const COMMIT_INTERVAL: Duration = Duration::from_secs(5);
/// Bytes of acknowledged records waiting for the indexer above which [`LogStore::append`]
/// waits: ingest slows down to what the index keeps up with instead of queueing without bound.
pub const QUEUE_BYTES: usize = 64 * 1024 * 1024;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The write-ahead log failed: nothing of the batch was kept.
    #[error(transparent)]
    Wal(#[from] WalError),
    /// The index failed.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// A batch in the log does not read back.
    #[error("write-ahead log entry {seq} does not read back: {why}")]
    BadEntry {
        /// Its sequence number.
        seq: u64,
        /// Why.
        why: String,
    },
    /// The checkpoint file cannot be read or written.
    #[error("log checkpoint {path}: {source}")]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The store was closed.
    #[error("the log store is closed")]
    Closed,
}

enum Job {
    /// A batch, its records serialised, and their size.
    Batch(u64, Vec<Record>, Vec<String>, usize),
    Flush(mpsc::Sender<Result<(), String>>),
}

/// The log store.
pub struct LogStore {
    // Dropped before `wal`: the log's writer thread ends once every handle is gone.
    append: AppendHandle,
    wal: Arc<Wal>,
    index: Arc<LogIndex>,
    jobs: Mutex<mpsc::Sender<Job>>,
    indexer: Mutex<Option<thread::JoinHandle<()>>>,
    queue: Arc<Queue>,
}

/// Bytes appended but not yet indexed.
#[derive(Default)]
struct Queue {
    bytes: Mutex<usize>,
    room: Condvar,
}

impl Queue {
    /// Waits until `n` more bytes fit (at once when the queue is empty), and counts them.
    fn enter(&self, n: usize) {
        let mut bytes = self
            .bytes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while *bytes > 0 && *bytes + n > QUEUE_BYTES {
            bytes = self
                .room
                .wait(bytes)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        *bytes += n;
    }

    fn leave(&self, n: usize) {
        let mut bytes = self
            .bytes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *bytes = bytes.saturating_sub(n);
        self.room.notify_all();
    }
}

impl LogStore {
    /// Opens the store in `dir` (`wal/`, `index/`, `checkpoint`), indexing again what the log
    /// has above the checkpoint.
    pub fn open(dir: &Path) -> Result<LogStore, StoreError> {
        let checkpoint_path = dir.join("checkpoint");
        let checkpoint = read_checkpoint(&checkpoint_path)?;
        let index = Arc::new(LogIndex::open(&dir.join("index"))?);
        let (wal, replay) = Wal::open(&dir.join("wal"), checkpoint)?;
        let mut last = checkpoint;
        for entry in replay {
            let records: Vec<Record> =
                serde_json::from_slice(&entry.payload).map_err(|e| StoreError::BadEntry {
                    seq: entry.seq,
                    why: e.to_string(),
                })?;
            index.add(entry.seq, &records)?;
            last = entry.seq;
        }
        index.commit(last)?;
        write_checkpoint(&checkpoint_path, last)?;
        wal.truncate(last)?;
        let wal = Arc::new(wal);
        let (sender, receiver) = mpsc::channel();
        let queue = Arc::new(Queue::default());
        let indexer = Indexer {
            queue: queue.clone(),
            index: index.clone(),
            wal: wal.clone(),
            checkpoint_path,
            next: last + 1,
            waiting: BTreeMap::new(),
            dirty: false,
        };
        let handle = thread::Builder::new()
            .name("ojek-log-indexer".into())
            .spawn(move || indexer.run(&receiver))
            .map_err(|source| StoreError::Checkpoint {
                path: dir.to_path_buf(),
                source,
            })?;
        Ok(LogStore {
            append: wal.append_handle(),
            wal,
            index,
            jobs: Mutex::new(sender),
            indexer: Mutex::new(Some(handle)),
            queue,
        })
    }

    /// Appends a batch; returns its sequence number once it is durable. Blocks (call it from a
    /// blocking thread), also while more than [`QUEUE_BYTES`] wait for the indexer. Searchable
    /// after the next commit.
    pub fn append(&self, records: Vec<Record>) -> Result<u64, StoreError> {
        // Each record is serialised once: the log's payload is their JSON array, and the index
        // stores each one's JSON.
        let json = records
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<String>, _>>()
            .map_err(|e| StoreError::BadEntry {
                seq: 0,
                why: e.to_string(),
            })?;
        let size = json.iter().map(|j| j.len() + 1).sum::<usize>() + 1;
        let mut payload = Vec::with_capacity(size);
        payload.push(b'[');
        for (i, j) in json.iter().enumerate() {
            if i > 0 {
                payload.push(b',');
            }
            payload.extend_from_slice(j.as_bytes());
        }
        payload.push(b']');
        self.queue.enter(size);
        let seq = match self.append.append(payload) {
            Ok(seq) => seq,
            Err(e) => {
                self.queue.leave(size);
                return Err(e.into());
            }
        };
        let sent = self
            .jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .send(Job::Batch(seq, records, json, size));
        if sent.is_err() {
            self.queue.leave(size);
            return Err(StoreError::Closed);
        }
        Ok(seq)
    }

    /// Commits what was appended so far and makes it searchable.
    pub fn flush(&self) -> Result<(), StoreError> {
        let (tx, rx) = mpsc::channel();
        self.jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .send(Job::Flush(tx))
            .map_err(|_| StoreError::Closed)?;
        match rx.recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => Err(StoreError::BadEntry { seq: 0, why }),
            Err(_) => Err(StoreError::Closed),
        }
    }

    /// The index, for searching.
    pub fn index(&self) -> &LogIndex {
        &self.index
    }

    /// The write-ahead log.
    pub fn wal(&self) -> &Wal {
        &self.wal
    }
}

impl Drop for LogStore {
    fn drop(&mut self) {
        let _ = self.flush();
        let (sender, _) = mpsc::channel();
        drop(std::mem::replace(
            &mut *self
                .jobs
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            sender,
        ));
        let handle = self
            .indexer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

struct Indexer {
    index: Arc<LogIndex>,
    wal: Arc<Wal>,
    checkpoint_path: PathBuf,
    /// The next sequence number to add.
    next: u64,
    /// Batches that arrived before an earlier one.
    waiting: BTreeMap<u64, (Vec<Record>, Vec<String>, usize)>,
    queue: Arc<Queue>,
    dirty: bool,
}

impl Indexer {
    fn run(mut self, receiver: &mpsc::Receiver<Job>) {
        let mut last_commit = Instant::now();
        loop {
            let timeout = COMMIT_INTERVAL.saturating_sub(last_commit.elapsed());
            match receiver.recv_timeout(timeout) {
                Ok(Job::Batch(seq, records, json, size)) => {
                    self.waiting.insert(seq, (records, json, size));
                    self.add_ready();
                }
                Ok(Job::Flush(reply)) => {
                    // Batches acknowledged before the flush are already queued before it.
                    while let Ok(job) = receiver.try_recv() {
                        match job {
                            Job::Batch(seq, records, json, size) => {
                                self.waiting.insert(seq, (records, json, size));
                            }
                            Job::Flush(other) => {
                                let _ = other.send(Ok(()));
                            }
                        }
                    }
                    self.add_ready();
                    let _ = reply.send(self.commit().map_err(|e| e.to_string()));
                    last_commit = Instant::now();
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let _ = self.commit();
                    return;
                }
            }
            if last_commit.elapsed() >= COMMIT_INTERVAL {
                if let Err(e) = self.commit() {
                    tracing::error!("log index commit failed (the records stay in the write-ahead log): {e}");
                }
                last_commit = Instant::now();
            }
        }
    }

    fn add_ready(&mut self) {
        while let Some((records, json, size)) = self.waiting.remove(&self.next) {
            if let Err(e) = self.index.add_serialised(self.next, &records, json) {
                tracing::error!("cannot index write-ahead log entry {}: {e}", self.next);
                // Keep it for the next restart's replay: stop advancing.
                self.waiting.insert(self.next, (records, Vec::new(), size));
                return;
            }
            self.queue.leave(size);
            self.next += 1;
            self.dirty = true;
        }
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        if !self.dirty {
            return Ok(());
        }
        let upto = self.next - 1;
        self.index.commit(upto)?;
        write_checkpoint(&self.checkpoint_path, upto)?;
        self.wal.truncate(upto)?;
        self.dirty = false;
        Ok(())
    }
}

fn read_checkpoint(path: &Path) -> Result<u64, StoreError> {
    match std::fs::read_to_string(path) {
        Ok(text) => text.trim().parse().map_err(|_| StoreError::Checkpoint {
            path: path.to_path_buf(),
            source: std::io::Error::other(format!("not a number: {text:?}")),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(source) => Err(StoreError::Checkpoint {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Writes the checkpoint atomically (temporary file, fsync, rename).
fn write_checkpoint(path: &Path, seq: u64) -> Result<(), StoreError> {
    let error = |source| StoreError::Checkpoint {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp).map_err(error)?;
        f.write_all(seq.to_string().as_bytes()).map_err(error)?;
        f.sync_all().map_err(error)?;
    }
    std::fs::rename(&tmp, path).map_err(error)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(error)?;
    }
    Ok(())
}
