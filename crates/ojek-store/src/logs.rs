//! What the store keeps about log streams, as plain types: producer secrets, log settings per
//! team (Barito's app group) and per app, and how an app's settings are resolved field by field
//! (the app's, else the team's, else the default). Pure and synchronous: the queries are in
//! `store/logs.rs`, and log records themselves are never kept here (see `ojek-logstore`).

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use crate::{Result, StoreError};

/// Days logs are kept when neither the app nor its team sets a retention.
pub const DEFAULT_RETENTION_DAYS: i64 = 30;

/// The retentions a team or an app may set, in days (one day to about ten years).
pub const RETENTION_DAYS: RangeInclusive<i64> = 1..=3650;

/// The length of a secret hash: a SHA-256 digest.
const SECRET_HASH_LEN: usize = 32;

/// The levels a level filter may name, lowest first: a filter keeps its level and those after it.
pub const LOG_LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "fatal"];

/// A producer secret: a log shipper presenting it may write to the streams of its team (a team
/// secret, `app` is `None`) or of one app of the team. The store keeps only the SHA-256 of the
/// secret: the caller shows the secret once, when it creates it, and forgets it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogSecret {
    /// Row id.
    pub id: i64,
    /// The team whose streams it writes.
    pub team_id: i64,
    /// Team name (joined).
    pub team: String,
    /// The one app it writes for; `None`: any app of the team (the ingest checks that the app a
    /// shipper names is the team's). An app secret is deleted with its app, and stops working
    /// while the app is in another team.
    pub app: Option<String>,
    /// What it is for (unique among the team's unrevoked secrets).
    pub name: String,
    /// Unix ms.
    pub created_at: i64,
    /// Username of its creator.
    pub created_by: String,
    /// Unix ms; `None` while it works.
    pub revoked_at: Option<i64>,
}

/// Log settings of a team, or one app's overrides of its team's. `None` in a field: not set
/// here, so the team's value (for an app) or the default applies (see
/// [`EffectiveLogSettings::resolve`]). Hence an app can lower or raise its team's rate limit
/// or level filter, but not take it away: it sets a high limit, or the filter `trace`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogSettings {
    /// Days logs are kept, in [`RETENTION_DAYS`].
    pub retention_days: Option<i64>,
    /// Lines per second a stream accepts (more than 0).
    pub rate_limit: Option<i64>,
    /// The lowest level kept, one of [`LOG_LEVELS`]: lines below it are dropped at ingest.
    pub level_filter: Option<String>,
}

impl LogSettings {
    /// `InvalidInput` (saying what is allowed) if a field is out of range or the level is not
    /// one of [`LOG_LEVELS`].
    pub fn validate(&self) -> Result<()> {
        if let Some(days) = self.retention_days.filter(|d| !RETENTION_DAYS.contains(d)) {
            return Err(StoreError::InvalidInput(format!(
                "a log retention of {days} days: it must be {} to {} days",
                RETENTION_DAYS.start(),
                RETENTION_DAYS.end()
            )));
        }
        if let Some(limit) = self.rate_limit.filter(|l| *l <= 0) {
            return Err(StoreError::InvalidInput(format!(
                "a log rate limit of {limit} lines per second: it must be more than 0 (or none, for no limit)"
            )));
        }
        if let Some(level) = self.level_filter.as_deref().filter(|l| !LOG_LEVELS.contains(l)) {
            return Err(StoreError::InvalidInput(format!(
                "log level {level:?} cannot filter: use one of {} (or none, to keep every line)",
                LOG_LEVELS.join(", ")
            )));
        }
        Ok(())
    }
}

/// Where an effective setting comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SettingOrigin {
    /// The app's own settings.
    App,
    /// Its team's settings.
    Team,
    /// Neither sets it: the built-in default.
    Default,
}

/// The log settings in force for an app (or a team as a whole): the app's settings field by
/// field over its team's, over the defaults; and where each comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EffectiveLogSettings {
    /// Days logs are kept (default [`DEFAULT_RETENTION_DAYS`]).
    pub retention_days: i64,
    /// Lines per second a stream accepts; `None`: no limit (the default).
    pub rate_limit: Option<i64>,
    /// The lowest level kept (one of [`LOG_LEVELS`]); `None`: every line is kept (the default).
    pub level_filter: Option<String>,
    /// Where each of the fields above comes from.
    pub origin: LogSettingOrigins,
}

/// Where each field of [`EffectiveLogSettings`] comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogSettingOrigins {
    /// Of `retention_days`.
    pub retention_days: SettingOrigin,
    /// Of `rate_limit`.
    pub rate_limit: SettingOrigin,
    /// Of `level_filter`.
    pub level_filter: SettingOrigin,
}

impl EffectiveLogSettings {
    /// Resolves each field from the app's settings, else the team's, else the default. Both
    /// `None` gives the defaults; `app: None` gives what the team's apps get without overrides.
    pub fn resolve(team: Option<&LogSettings>, app: Option<&LogSettings>) -> EffectiveLogSettings {
        /// The first of app and team that sets the field, and which one it was.
        fn pick<T>(
            team: Option<&LogSettings>,
            app: Option<&LogSettings>,
            field: impl Fn(&LogSettings) -> Option<T>,
        ) -> (Option<T>, SettingOrigin) {
            let set = |settings: Option<&LogSettings>| settings.and_then(&field);
            match (set(app), set(team)) {
                (Some(value), _) => (Some(value), SettingOrigin::App),
                (None, Some(value)) => (Some(value), SettingOrigin::Team),
                (None, None) => (None, SettingOrigin::Default),
            }
        }
        let (retention_days, retention_origin) = pick(team, app, |s| s.retention_days);
        let (rate_limit, rate_origin) = pick(team, app, |s| s.rate_limit);
        let (level_filter, level_origin) = pick(team, app, |s| s.level_filter.clone());
        EffectiveLogSettings {
            retention_days: retention_days.unwrap_or(DEFAULT_RETENTION_DAYS),
            rate_limit,
            level_filter,
            origin: LogSettingOrigins {
                retention_days: retention_origin,
                rate_limit: rate_origin,
                level_filter: level_origin,
            },
        }
    }
}

/// `InvalidInput` unless `hash` is a SHA-256 digest: it guards against storing a secret itself.
pub(crate) fn check_secret_hash(hash: &[u8]) -> Result<()> {
    if hash.len() == SECRET_HASH_LEN {
        Ok(())
    } else {
        Err(StoreError::InvalidInput(format!(
            "a log secret is stored as its SHA-256 ({SECRET_HASH_LEN} bytes), not {} bytes",
            hash.len()
        )))
    }
}

/// `InvalidInput` if a secret's name is blank.
pub(crate) fn check_secret_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        Err(StoreError::InvalidInput("a log secret needs a name".into()))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(retention_days: Option<i64>, rate_limit: Option<i64>, level: Option<&str>) -> LogSettings {
        LogSettings {
            retention_days,
            rate_limit,
            level_filter: level.map(str::to_owned),
        }
    }

    fn defaults() -> EffectiveLogSettings {
        EffectiveLogSettings {
            retention_days: DEFAULT_RETENTION_DAYS,
            rate_limit: None,
            level_filter: None,
            origin: LogSettingOrigins {
                retention_days: SettingOrigin::Default,
                rate_limit: SettingOrigin::Default,
                level_filter: SettingOrigin::Default,
            },
        }
    }

    #[test]
    fn nothing_set_gives_the_defaults() {
        assert_eq!(EffectiveLogSettings::resolve(None, None), defaults());
        let empty = LogSettings::default();
        assert_eq!(
            EffectiveLogSettings::resolve(Some(&empty), Some(&empty)),
            defaults()
        );
    }

    #[test]
    fn app_over_team_over_defaults_field_by_field() {
        let team = settings(Some(14), Some(500), None);
        let app = settings(None, Some(2000), Some("warn"));
        assert_eq!(
            EffectiveLogSettings::resolve(Some(&team), Some(&app)),
            EffectiveLogSettings {
                retention_days: 14,
                rate_limit: Some(2000),
                level_filter: Some("warn".into()),
                origin: LogSettingOrigins {
                    retention_days: SettingOrigin::Team,
                    rate_limit: SettingOrigin::App,
                    level_filter: SettingOrigin::App,
                },
            }
        );
        // The team alone.
        let team_only = EffectiveLogSettings::resolve(Some(&team), None);
        assert_eq!(
            (team_only.rate_limit, team_only.origin.rate_limit),
            (Some(500), SettingOrigin::Team)
        );
        assert_eq!(
            (team_only.level_filter, team_only.origin.level_filter),
            (None, SettingOrigin::Default)
        );
        // An app without a team row.
        let app_only = EffectiveLogSettings::resolve(None, Some(&app));
        assert_eq!(
            (app_only.retention_days, app_only.origin.retention_days),
            (30, SettingOrigin::Default)
        );
        assert_eq!(app_only.origin.level_filter, SettingOrigin::App);
    }

    #[test]
    fn effective_settings_serialise_with_origins() {
        let app = settings(None, None, Some("error"));
        let json = serde_json::to_value(EffectiveLogSettings::resolve(None, Some(&app))).ok();
        assert_eq!(
            json,
            Some(serde_json::json!({
                "retentionDays": 30,
                "rateLimit": null,
                "levelFilter": "error",
                "origin": {"retentionDays": "default", "rateLimit": "default", "levelFilter": "app"},
            }))
        );
    }

    #[test]
    fn validation_names_what_is_allowed() {
        assert!(LogSettings::default().validate().is_ok());
        assert!(settings(Some(1), Some(1), Some("trace")).validate().is_ok());
        assert!(
            settings(Some(3650), Some(i64::MAX), Some("fatal"))
                .validate()
                .is_ok()
        );
        for level in LOG_LEVELS {
            assert!(settings(None, None, Some(level)).validate().is_ok(), "{level}");
        }
        for bad in [
            settings(Some(0), None, None),
            settings(Some(3651), None, None),
            settings(Some(-5), None, None),
            settings(None, Some(0), None),
            settings(None, Some(-1), None),
            settings(None, None, Some("WARN")),
            settings(None, None, Some("warning")),
            settings(None, None, Some("")),
        ] {
            let err = bad.validate();
            assert!(
                matches!(err, Err(StoreError::InvalidInput(_))),
                "{bad:?}: {err:?}"
            );
        }
        let why = |s: LogSettings| match s.validate() {
            Err(StoreError::InvalidInput(why)) => why,
            other => panic!("invalid: {other:?}"),
        };
        assert!(why(settings(Some(0), None, None)).contains("1 to 3650 days"));
        assert!(why(settings(None, None, Some("loud"))).contains("trace, debug, info, warn, error, fatal"));
    }

    #[test]
    fn secret_hashes_are_sha256_sized() {
        assert!(check_secret_hash(&[7; 32]).is_ok());
        assert!(matches!(
            check_secret_hash(b"the-secret-itself"),
            Err(StoreError::InvalidInput(_))
        ));
        assert!(check_secret_name("shipper").is_ok());
        assert!(matches!(
            check_secret_name("  "),
            Err(StoreError::InvalidInput(_))
        ));
    }
}
