//! ojek logs storage: the write-ahead log every acknowledged record goes through ([`wal`]),
//! the Tantivy index partitioned by stream and day ([`index`]), and the archive of expired days
//! to object storage ([`archive`], written by [`export`]).

pub mod archive;
pub mod export;
pub mod index;
pub mod store;
pub mod wal;

/// Asks the kernel not to back this process's memory with transparent huge pages.
///
/// Index writers allocate large short-lived memory arenas for every segment; where the system
/// sets transparent huge pages to `always` (a common default), each one is faulted in and zeroed
/// 2 MB at a time, which took about a quarter of the indexing CPU in the logs benchmark (15.4
/// against 20.3 MB of logs indexed per CPU-second with it off; see `bench/logs/README.md`).
/// Call it once at start-up of a process that ingests logs. Returns whether it took effect
/// (always `false` off Linux).
pub fn prefer_small_pages() -> bool {
    #[cfg(target_os = "linux")]
    {
        nix::sys::prctl::set_thp_disable(true).is_ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}
