//! Retention: every hour (and at start), each stream's days older than its app's retention
//! (the app's setting, else its team's, else 30 days) are dropped whole.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ojek_logstore::index::{PartitionKey, Stream};
use ojek_store::{AppFilter, DEFAULT_RETENTION_DAYS, EffectiveLogSettings, LogSettings};

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
    let mut team_of: BTreeMap<String, i64> = BTreeMap::new();
    let mut offset = 0;
    loop {
        let filter = AppFilter {
            team_ids: None,
            team: None,
            search: None,
            limit: 500,
            offset,
        };
        let (page, total) = state.store.list_apps(&filter).await?;
        let n = page.len() as i64;
        team_of.extend(page.into_iter().map(|a| (a.name, a.team_id)));
        offset += n;
        if n == 0 || offset >= total {
            break;
        }
    }
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
                EffectiveLogSettings::resolve(team_rows.get(team), app_rows.get(&(*team, stream.app.clone())))
                    .retention_days
            }
            None => DEFAULT_RETENTION_DAYS,
        };
        let index = logs.store.clone();
        let before = now - days * DAY_MS;
        let stream_ = stream.clone();
        let gone = tokio::task::spawn_blocking(move || index.index().drop_before(&stream_, before)).await??;
        dropped.extend(gone);
    }
    Ok(dropped)
}
