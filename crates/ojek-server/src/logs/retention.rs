//! Retention: every hour (and at start), each stream's days older than its app's retention
//! (its manifest's, else the app's setting, else its team's, else 30 days) are dropped whole.
//! With a log archive (`ojek up --logs-archive`), each such day is first copied to it
//! (`ojek_logstore::archive`) and dropped only once the copy is verified; a day that cannot be
//! archived stays until a later run archives it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use ojek_logstore::archive::Archive;
use ojek_logstore::index::{PartitionKey, Stream};
use ojek_logstore::store::LogStore;
use ojek_store::{DEFAULT_RETENTION_DAYS, EffectiveLogSettings, LogSettings, ManifestLogSettings};

use crate::auth::now_ms;
use crate::state::AppState;

/// How often retention runs.
pub const INTERVAL: Duration = Duration::from_secs(3600);
const DAY_MS: i64 = 86_400_000;

/// Starts the hourly retention task.
pub fn spawn(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        loop {
            tick.tick().await;
            match run_once(&state, now_ms()).await {
                Ok(dropped) if !dropped.is_empty() => {
                    tracing::info!(partitions = dropped.len(), "log retention dropped expired days");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("log retention failed (it runs again in an hour): {e}"),
            }
        }
    });
}

/// Drops every partition past its stream's retention at `now` (Unix ms); returns them.
pub async fn run_once(state: &AppState, now: i64) -> anyhow::Result<Vec<PartitionKey>> {
    let Some(logs) = state.logs.clone() else {
        return Ok(Vec::new());
    };
    // App → team, for every app; streams of apps that no longer exist keep the default.
    let team_of: BTreeMap<String, i64> = super::app_teams(&state.store, None).await?.into_iter().collect();
    let mut team_rows: BTreeMap<i64, LogSettings> = BTreeMap::new();
    let mut app_rows: BTreeMap<(i64, String), LogSettings> = BTreeMap::new();
    for (team, app, settings) in state.store.all_log_settings().await? {
        match app {
            Some(app) => {
                app_rows.insert((team, app), settings);
            }
            None => {
                team_rows.insert(team, settings);
            }
        }
    }
    let mut manifest_rows: BTreeMap<(i64, String), ManifestLogSettings> = BTreeMap::new();
    for (team, app, settings) in state.store.all_manifest_log_settings().await? {
        manifest_rows.insert((team, app), settings);
    }
    let streams: BTreeSet<Stream> = logs
        .store
        .index()
        .partitions()
        .into_iter()
        .map(|(k, _)| k.stream)
        .collect();
    let mut dropped = Vec::new();
    for stream in streams {
        let days = match team_of.get(&stream.app) {
            Some(team) => {
                let key = (*team, stream.app.clone());
                EffectiveLogSettings::resolve_with_manifest(
                    team_rows.get(team),
                    app_rows.get(&key),
                    manifest_rows.get(&key),
                )
                .retention_days
            }
            None => DEFAULT_RETENTION_DAYS,
        };
        let before = now - days * DAY_MS;
        if let Some(archive) = &state.config.logs_archive {
            dropped.extend(archive_then_drop(archive, &logs.store, &stream, before).await);
            continue;
        }
        let index = logs.store.clone();
        let stream_ = stream.clone();
        let gone = tokio::task::spawn_blocking(move || index.index().drop_before(&stream_, before)).await??;
        dropped.extend(gone);
    }
    Ok(dropped)
}

/// Archives each expired day of `stream`, oldest first, and drops it once archived; a day that
/// cannot be archived is kept (with the stream's newer expired days) and tried again at the next
/// run. Returns the days dropped.
async fn archive_then_drop(
    archive: &Archive,
    store: &Arc<LogStore>,
    stream: &Stream,
    before: i64,
) -> Vec<PartitionKey> {
    let expired = archive.archive_expired(store, stream, before).await;
    for m in &expired.archived {
        tracing::info!(
            app = %m.app, env = %m.env, day = %m.day, records = m.records, bytes = m.bytes,
            object = %m.object, "log day archived"
        );
    }
    if let Some((key, e)) = &expired.kept {
        tracing::warn!(
            app = %key.stream.app, env = %key.stream.env, day = %key.day_name(), archive = %archive,
            "expired log day not archived, so not dropped: {e}"
        );
    }
    expired.dropped
}
