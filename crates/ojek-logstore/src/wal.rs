//! The write-ahead log: a request's records are acknowledged only once they are on disk.
//!
//! Entries go to numbered segment files (`00000000000000000001.wal`, …). Each entry is
//! `[length u32 LE][crc32 u32 LE][sequence u64 LE][payload]`, the CRC covering the sequence
//! and the payload. One writer thread appends what every caller sent since its last round,
//! calls `fsync` once for all of them (group commit) and only then answers each caller with
//! its entry's sequence number.
//!
//! A write or `fsync` that fails answers every caller of that round with the error, and
//! truncates the segment back to where the round started: nothing of a failed round is kept,
//! so it can never be replayed half (a full disk is an error to the caller, never a silent
//! loss or a torn entry). On open, a torn entry at the end of the last segment (a crash mid
//! write: it was never acknowledged) is cut off; a damaged entry anywhere else is an error.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;

/// Bytes in front of each payload.
const HEADER: usize = 4 + 4 + 8;
/// A segment is closed once it is larger than this.
const SEGMENT_BYTES: u64 = 64 * 1024 * 1024;
/// The largest payload an entry may have.
pub const MAX_ENTRY_BYTES: usize = 256 * 1024 * 1024;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    /// Reading or writing the log failed (a full disk among others); nothing was kept.
    #[error("the write-ahead log at {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// An entry in the middle of the log is damaged.
    #[error("the write-ahead log {path} is damaged at byte {offset}: {why}")]
    Corrupt {
        /// The segment.
        path: PathBuf,
        /// Where.
        offset: u64,
        /// What is wrong.
        why: String,
    },
    /// The payload is larger than [`MAX_ENTRY_BYTES`].
    #[error("an entry of {0} bytes is larger than the write-ahead log allows")]
    TooLarge(usize),
    /// The writer thread is gone (the log was closed).
    #[error("the write-ahead log is closed")]
    Closed,
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> WalError + '_ {
    move |source| WalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One entry read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its sequence number (increasing from 1, never reused).
    pub seq: u64,
    /// What was appended.
    pub payload: Vec<u8>,
}

type Reply = mpsc::Sender<Result<u64, String>>;

enum Request {
    Append(Vec<u8>, Reply),
    /// Delete the segments whose entries are all at or below this sequence number.
    Truncate(u64, mpsc::Sender<Result<(), String>>),
}

/// The write-ahead log.
pub struct Wal {
    dir: PathBuf,
    sender: mpsc::Sender<Request>,
    writer: Option<thread::JoinHandle<()>>,
}

impl Wal {
    /// Opens (or creates) the log in `dir` and reads back every entry above `after` (the
    /// sequence number everything up to which is safely elsewhere), cutting off a torn last
    /// entry. Appends continue after the highest sequence number found.
    pub fn open(dir: &Path, after: u64) -> Result<(Wal, Vec<Entry>), WalError> {
        fs::create_dir_all(dir).map_err(io_error(dir))?;
        let segments = segments(dir)?;
        let mut entries = Vec::new();
        let mut last_seq = after;
        let count = segments.len();
        for (i, (_, path)) in segments.iter().enumerate() {
            let is_last = i + 1 == count;
            let (read, good_len) = read_segment(path, is_last)?;
            for entry in read {
                last_seq = last_seq.max(entry.seq);
                if entry.seq > after {
                    entries.push(entry);
                }
            }
            if is_last {
                let file = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(io_error(path))?;
                if file.metadata().map_err(io_error(path))?.len() != good_len {
                    tracing::warn!(
                        "write-ahead log {}: cut off a torn entry at byte {good_len} (never acknowledged)",
                        path.display()
                    );
                    file.set_len(good_len).map_err(io_error(path))?;
                    file.sync_all().map_err(io_error(path))?;
                }
            }
        }
        let (sender, receiver) = mpsc::channel();
        let mut writer = Writer::open(dir.to_path_buf(), segments, last_seq)?;
        let handle = thread::Builder::new()
            .name("ojek-wal".into())
            .spawn(move || writer.run(&receiver))
            .map_err(io_error(dir))?;
        Ok((
            Wal {
                dir: dir.to_path_buf(),
                sender,
                writer: Some(handle),
            },
            entries,
        ))
    }

    /// Appends `payload` and returns its sequence number once it is on disk. Blocks: call it
    /// from a blocking thread (`tokio::task::spawn_blocking`), or use [`Wal::append_handle`].
    pub fn append(&self, payload: Vec<u8>) -> Result<u64, WalError> {
        self.append_handle().append(payload)
    }

    /// A cheap handle that appends from any thread.
    pub fn append_handle(&self) -> AppendHandle {
        AppendHandle {
            dir: self.dir.clone(),
            sender: self.sender.clone(),
        }
    }

    /// Deletes the segments whose entries all have sequence numbers at or below `upto`
    /// (everything up to it is safely elsewhere). The segment being written is kept.
    pub fn truncate(&self, upto: u64) -> Result<(), WalError> {
        let (tx, rx) = mpsc::channel();
        self.sender
            .send(Request::Truncate(upto, tx))
            .map_err(|_| WalError::Closed)?;
        match rx.recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(WalError::Io {
                path: self.dir.clone(),
                source: io::Error::other(message),
            }),
            Err(_) => Err(WalError::Closed),
        }
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        // Closing the channel ends the writer after it answered what it had.
        let (sender, _) = mpsc::channel();
        drop(std::mem::replace(&mut self.sender, sender));
        if let Some(handle) = self.writer.take() {
            let _ = handle.join();
        }
    }
}

/// Appends to a [`Wal`] from any thread.
#[derive(Clone)]
pub struct AppendHandle {
    dir: PathBuf,
    sender: mpsc::Sender<Request>,
}

impl AppendHandle {
    /// See [`Wal::append`].
    pub fn append(&self, payload: Vec<u8>) -> Result<u64, WalError> {
        if payload.len() > MAX_ENTRY_BYTES {
            return Err(WalError::TooLarge(payload.len()));
        }
        let (tx, rx) = mpsc::channel();
        self.sender
            .send(Request::Append(payload, tx))
            .map_err(|_| WalError::Closed)?;
        match rx.recv() {
            Ok(Ok(seq)) => Ok(seq),
            Ok(Err(message)) => Err(WalError::Io {
                path: self.dir.clone(),
                source: io::Error::other(message),
            }),
            Err(_) => Err(WalError::Closed),
        }
    }
}

/// The segments of `dir`, oldest first: (first sequence number in its name, path).
fn segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, WalError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_error(dir))? {
        let path = entry.map_err(io_error(dir))?.path();
        let number = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".wal"))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(n) = number {
            out.push((n, path));
        }
    }
    out.sort();
    Ok(out)
}

fn segment_path(dir: &Path, first_seq: u64) -> PathBuf {
    dir.join(format!("{first_seq:020}.wal"))
}

/// Reads a segment's entries and the length of its intact prefix. A damaged or short entry is
/// tolerated at the end of the last segment only.
fn read_segment(path: &Path, is_last: bool) -> Result<(Vec<Entry>, u64), WalError> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(io_error(path))?;
    let mut entries = Vec::new();
    let mut offset = 0usize;
    while offset < bytes.len() {
        let damaged = |why: &str| WalError::Corrupt {
            path: path.to_path_buf(),
            offset: offset as u64,
            why: why.to_string(),
        };
        match parse_entry(&bytes[offset..]) {
            Ok((entry, len)) => {
                entries.push(entry);
                offset += len;
            }
            // A crash while writing the last entry of the last segment leaves it torn: it was
            // never acknowledged. Anything else is damage.
            Err((why, reaches_end)) if is_last && reaches_end => {
                let _ = why;
                return Ok((entries, offset as u64));
            }
            Err((why, _)) => return Err(damaged(why)),
        }
    }
    Ok((entries, offset as u64))
}

/// One entry at the start of `bytes` and its length, or why it is not intact and whether
/// it is the last thing in `bytes` (a torn write) or followed by more.
fn parse_entry(bytes: &[u8]) -> Result<(Entry, usize), (&'static str, bool)> {
    if bytes.len() < HEADER {
        return Err(("a short entry header", true));
    }
    let len = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    let crc = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    let end = HEADER.saturating_add(len);
    if len > MAX_ENTRY_BYTES || bytes.len() < end {
        return Err(("an entry longer than what follows it", true));
    }
    if crc32fast::hash(&bytes[8..end]) != crc {
        return Err(("a checksum mismatch", end == bytes.len()));
    }
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&bytes[8..16]);
    Ok((
        Entry {
            seq: u64::from_le_bytes(seq),
            payload: bytes[HEADER..end].to_vec(),
        },
        end,
    ))
}

fn encode(seq: u64, payload: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let mut body = Vec::with_capacity(8 + payload.len());
    body.extend_from_slice(&seq.to_le_bytes());
    body.extend_from_slice(payload);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    out.extend_from_slice(&body);
}

/// The writer thread's state.
struct Writer {
    dir: PathBuf,
    /// Closed segments: (first sequence number, path, last sequence number).
    closed: Vec<(u64, PathBuf, u64)>,
    file: File,
    path: PathBuf,
    first_seq: u64,
    len: u64,
    last_seq: u64,
}

impl Writer {
    fn open(dir: PathBuf, segments: Vec<(u64, PathBuf)>, last_seq: u64) -> Result<Writer, WalError> {
        let mut closed = Vec::new();
        let mut segments = segments;
        let current = segments.pop();
        // The last sequence number of a closed segment is one below the next one's first.
        for (i, (first, path)) in segments.iter().enumerate() {
            let next_first = segments
                .get(i + 1)
                .map(|(n, _)| *n)
                .or_else(|| current.as_ref().map(|(n, _)| *n))
                .unwrap_or(last_seq + 1);
            closed.push((*first, path.clone(), next_first.saturating_sub(1)));
        }
        let (first_seq, path) = current.unwrap_or_else(|| (last_seq + 1, segment_path(&dir, last_seq + 1)));
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io_error(&path))?;
        let len = file.seek(SeekFrom::End(0)).map_err(io_error(&path))?;
        sync_dir(&dir)?;
        Ok(Writer {
            dir,
            closed,
            file,
            path,
            first_seq,
            len,
            last_seq,
        })
    }

    fn run(&mut self, receiver: &mpsc::Receiver<Request>) {
        while let Ok(first) = receiver.recv() {
            // Everything that arrived meanwhile goes into the same round (group commit).
            let mut round = vec![first];
            while let Ok(more) = receiver.try_recv() {
                round.push(more);
            }
            let mut appends = Vec::new();
            for request in round {
                match request {
                    Request::Append(payload, reply) => appends.push((payload, reply)),
                    Request::Truncate(upto, reply) => {
                        let _ = reply.send(self.truncate(upto).map_err(|e| e.to_string()));
                    }
                }
            }
            if !appends.is_empty() {
                self.commit(appends);
            }
        }
        let _ = self.file.sync_all();
    }

    fn commit(&mut self, appends: Vec<(Vec<u8>, Reply)>) {
        if self.len >= SEGMENT_BYTES
            && let Err(e) = self.rotate()
        {
            for (_, reply) in appends {
                let _ = reply.send(Err(e.to_string()));
            }
            return;
        }
        let start_len = self.len;
        let mut buffer = Vec::new();
        let mut seqs = Vec::with_capacity(appends.len());
        for (i, (payload, _)) in appends.iter().enumerate() {
            let seq = self.last_seq + 1 + i as u64;
            encode(seq, payload, &mut buffer);
            seqs.push(seq);
        }
        let written = self.file.write_all(&buffer).and_then(|()| self.file.sync_data());
        match written {
            Ok(()) => {
                self.len += buffer.len() as u64;
                self.last_seq += seqs.len() as u64;
                for ((_, reply), seq) in appends.into_iter().zip(seqs) {
                    let _ = reply.send(Ok(seq));
                }
            }
            Err(e) => {
                // Nothing of a failed round stays: cut the segment back to where it began.
                let restored = self.file.set_len(start_len).and_then(|()| self.file.sync_all());
                if let Err(r) = restored {
                    tracing::error!(
                        "write-ahead log {}: cannot cut back a failed write: {r}",
                        self.path.display()
                    );
                }
                let message = e.to_string();
                for (_, reply) in appends {
                    let _ = reply.send(Err(message.clone()));
                }
            }
        }
    }

    fn rotate(&mut self) -> Result<(), WalError> {
        self.file.sync_all().map_err(io_error(&self.path))?;
        let next = self.last_seq + 1;
        let path = segment_path(&self.dir, next);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io_error(&path))?;
        sync_dir(&self.dir)?;
        let old = std::mem::replace(&mut self.path, path);
        self.closed.push((self.first_seq, old, self.last_seq));
        self.file = file;
        self.first_seq = next;
        self.len = 0;
        Ok(())
    }

    fn truncate(&mut self, upto: u64) -> Result<(), WalError> {
        let mut kept = Vec::new();
        for (first, path, last) in std::mem::take(&mut self.closed) {
            if last <= upto {
                fs::remove_file(&path).map_err(io_error(&path))?;
            } else {
                kept.push((first, path, last));
            }
        }
        self.closed = kept;
        sync_dir(&self.dir)
    }
}

fn sync_dir(dir: &Path) -> Result<(), WalError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_error(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payloads(entries: &[Entry]) -> Vec<String> {
        entries
            .iter()
            .map(|e| String::from_utf8_lossy(&e.payload).into_owned())
            .collect()
    }

    #[test]
    fn appended_entries_are_read_back_in_order_after_the_checkpoint() {
        let dir = tempfile::tempdir().expect("dir");
        {
            let (wal, replayed) = Wal::open(dir.path(), 0).expect("open");
            assert!(replayed.is_empty());
            for i in 1..=5u64 {
                assert_eq!(wal.append(format!("entry {i}").into_bytes()).expect("append"), i);
            }
        }
        let (wal, replayed) = Wal::open(dir.path(), 2).expect("reopen");
        assert_eq!(payloads(&replayed), ["entry 3", "entry 4", "entry 5"]);
        assert_eq!(replayed.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4, 5]);
        assert_eq!(
            wal.append(b"entry 6".to_vec()).expect("append"),
            6,
            "numbers go on"
        );
    }

    #[test]
    fn a_torn_last_entry_is_cut_off_and_appends_continue_cleanly() {
        let dir = tempfile::tempdir().expect("dir");
        {
            let (wal, _) = Wal::open(dir.path(), 0).expect("open");
            wal.append(b"kept".to_vec()).expect("append");
            wal.append(b"torn".to_vec()).expect("append");
        }
        let (_, path) = segments(dir.path()).expect("segments").pop().expect("a segment");
        let len = fs::metadata(&path).expect("meta").len();
        // A crash in the middle of writing the second entry.
        OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_len(len - 3))
            .expect("tear");
        {
            let (wal, replayed) = Wal::open(dir.path(), 0).expect("reopen");
            assert_eq!(payloads(&replayed), ["kept"]);
            assert_eq!(wal.append(b"after".to_vec()).expect("append"), 2);
        }
        let (_, replayed) = Wal::open(dir.path(), 0).expect("reopen");
        assert_eq!(payloads(&replayed), ["kept", "after"]);
    }

    #[test]
    fn damage_before_the_end_is_an_error_not_a_silent_loss() {
        let dir = tempfile::tempdir().expect("dir");
        {
            let (wal, _) = Wal::open(dir.path(), 0).expect("open");
            wal.append(b"first".to_vec()).expect("append");
            wal.append(b"second".to_vec()).expect("append");
        }
        let (_, path) = segments(dir.path()).expect("segments").pop().expect("segment");
        let good = fs::read(&path).expect("read");
        // A flipped bit in the first entry, which an acknowledged entry follows: an error.
        let mut bytes = good.clone();
        bytes[HEADER + 1] ^= 0xff;
        fs::write(&path, &bytes).expect("write");
        assert!(matches!(
            Wal::open(dir.path(), 0),
            Err(WalError::Corrupt { offset: 0, .. })
        ));
        // The same damage in the last entry is a torn write: cut off.
        let mut bytes = good;
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        fs::write(&path, &bytes).expect("write");
        let (_, replayed) = Wal::open(dir.path(), 0).expect("open");
        assert_eq!(payloads(&replayed), ["first"]);
    }

    #[test]
    fn concurrent_appends_get_distinct_sequence_numbers_and_all_survive() {
        let dir = tempfile::tempdir().expect("dir");
        let mut seqs = Vec::new();
        {
            let (wal, _) = Wal::open(dir.path(), 0).expect("open");
            let threads: Vec<_> = (0..8)
                .map(|t| {
                    let handle = wal.append_handle();
                    thread::spawn(move || {
                        (0..50)
                            .map(|i| handle.append(format!("{t}-{i}").into_bytes()).expect("append"))
                            .collect::<Vec<u64>>()
                    })
                })
                .collect();
            for t in threads {
                seqs.extend(t.join().expect("join"));
            }
        }
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=400).collect::<Vec<u64>>());
        let (_, replayed) = Wal::open(dir.path(), 0).expect("reopen");
        assert_eq!(replayed.len(), 400);
        let mut names = payloads(&replayed);
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 400, "each entry exactly once");
    }

    #[test]
    fn segments_at_or_below_the_checkpoint_are_deleted() {
        let dir = tempfile::tempdir().expect("dir");
        let (wal, _) = Wal::open(dir.path(), 0).expect("open");
        let big = vec![b'x'; 40 * 1024 * 1024];
        for _ in 0..3 {
            wal.append(big.clone()).expect("append");
        }
        // 40 MB, 80 MB (rotate after), 40 MB in a second segment.
        assert_eq!(segments(dir.path()).expect("segments").len(), 2);
        wal.truncate(1).expect("truncate");
        assert_eq!(
            segments(dir.path()).expect("segments").len(),
            2,
            "entry 2 is in the first"
        );
        wal.truncate(2).expect("truncate");
        assert_eq!(segments(dir.path()).expect("segments").len(), 1);
        drop(wal);
        let (_, replayed) = Wal::open(dir.path(), 2).expect("reopen");
        assert_eq!(replayed.iter().map(|e| e.seq).collect::<Vec<_>>(), [3]);
    }

    #[test]
    fn an_oversized_entry_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let (wal, _) = Wal::open(dir.path(), 0).expect("open");
        assert!(matches!(
            wal.append(vec![0; MAX_ENTRY_BYTES + 1]),
            Err(WalError::TooLarge(_))
        ));
    }
}
