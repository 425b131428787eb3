//! ojek logs storage: the write-ahead log every acknowledged record goes through ([`wal`]),
//! and the Tantivy index partitioned by stream and day ([`index`]).

pub mod index;
pub mod store;
pub mod wal;
