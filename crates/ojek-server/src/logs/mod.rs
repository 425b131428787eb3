//! Logs (Barito): ingest endpoints for shippers ([`ingest`]), the log store they write to
//! (`ojek-logstore`: write-ahead log + Tantivy index in `<data dir>/logs`), per-app rate
//! limits, and the live-tail feed of what was just written. Reads go through a
//! [`backend::LogBackend`]: this store, or a log node ([`node`], `ojek ingest`) that keeps the
//! logs apart from the control plane ([`node_client`], `ojek up --logs-node`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use ojek_logs::Record;
use ojek_logstore::store::LogStore;
use tokio::sync::broadcast;

pub mod admin;
pub mod backend;
pub mod demo;
pub mod ingest;
pub mod node;
pub mod node_client;
pub mod otlp;
pub mod retention;
pub mod search;

/// The logs part of the server state.
pub struct Logs {
    /// The store.
    pub store: Arc<LogStore>,
    /// Per-app token buckets.
    limiter: Mutex<HashMap<String, Bucket>>,
    /// What was just written, for live tail.
    pub tail: broadcast::Sender<Arc<Vec<Record>>>,
}

impl std::fmt::Debug for Logs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logs").finish_non_exhaustive()
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Logs {
    /// Opens the log store in `dir` (replaying its write-ahead log).
    pub fn open(dir: &Path) -> anyhow::Result<Logs> {
        // Indexing allocates large short-lived arenas: see `prefer_small_pages`.
        ojek_logstore::prefer_small_pages();
        let store = LogStore::open(dir)
            .map_err(|e| anyhow::anyhow!("cannot open the log store in {}: {e}", dir.display()))?;
        let (tail, _) = broadcast::channel(1024);
        Ok(Logs {
            store: Arc::new(store),
            limiter: Mutex::new(HashMap::new()),
            tail,
        })
    }

    /// Takes `lines` from `app`'s bucket of `per_second` lines per second (a second's worth of
    /// burst). `Err(seconds)`: over the limit, retry after that many seconds; nothing is taken.
    pub fn take(&self, app: &str, per_second: Option<i64>, lines: usize) -> Result<(), u64> {
        let Some(rate) = per_second.filter(|r| *r > 0) else {
            return Ok(());
        };
        let rate = rate as f64;
        let now = Instant::now();
        let mut buckets = self
            .limiter
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = buckets.entry(app.to_string()).or_insert(Bucket {
            tokens: rate,
            at: now,
        });
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * rate).min(rate);
        bucket.at = now;
        let want = lines as f64;
        if want <= bucket.tokens {
            bucket.tokens -= want;
            Ok(())
        } else {
            let missing = want.min(rate) - bucket.tokens;
            Err((missing / rate).ceil().max(1.0) as u64)
        }
    }
}

/// Every app (name, team id) of the given teams (`None`: of every team), page by page.
pub(crate) async fn app_teams(
    store: &ojek_store::Store,
    team_ids: Option<Vec<i64>>,
) -> Result<Vec<(String, i64)>, ojek_store::StoreError> {
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let filter = ojek_store::AppFilter {
            team_ids: team_ids.clone(),
            team: None,
            search: None,
            limit: 500,
            offset,
        };
        let (page, total) = store.list_apps(&filter).await?;
        let n = page.len() as i64;
        out.extend(page.into_iter().map(|a| (a.name, a.team_id)));
        offset += n;
        if n == 0 || offset >= total {
            return Ok(out);
        }
    }
}
