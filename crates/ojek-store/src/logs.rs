//! What the store keeps about log streams, as plain types: producer secrets, log settings per
//! team (Barito's app group), per app (set in the API or UI) and set by an app's manifest (its
//! `logs:` section, parsed by the caller), and how an app's settings are resolved field by field
//! (the manifest's, else the app's, else the team's, else the default). Pure and synchronous:
//! the queries are in `store/logs.rs`, and log records themselves are never kept here (see
//! `ojek-logstore`).

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

impl LogSettings {
    /// True when no field is set.
    pub fn is_empty(&self) -> bool {
        self == &LogSettings::default()
    }

    /// The fields (API names) that `manifest` sets and that `new` changes from `stored`: a change
    /// the manifest would override, so it is refused. Empty when there is none.
    pub fn fields_set_by_manifest(
        stored: Option<&LogSettings>,
        new: &LogSettings,
        manifest: &LogSettings,
    ) -> Vec<&'static str> {
        let stored = stored.cloned().unwrap_or_default();
        let mut fields = Vec::new();
        if manifest.retention_days.is_some() && new.retention_days != stored.retention_days {
            fields.push("retentionDays");
        }
        if manifest.rate_limit.is_some() && new.rate_limit != stored.rate_limit {
            fields.push("rateLimit");
        }
        if manifest.level_filter.is_some() && new.level_filter != stored.level_filter {
            fields.push("levelFilter");
        }
        fields
    }
}

/// The log settings an app's manifest sets (the `logs:` section of its newest revision), and
/// which revision that is. They come before the app's own settings and its team's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestLogSettings {
    /// The revision whose manifest sets them.
    pub revision: i64,
    /// The values; at least one is set.
    #[serde(flatten)]
    pub settings: LogSettings,
}

/// What is stored about one app's log settings: its own (set in the API or UI) and its
/// manifest's. Resolve with [`EffectiveLogSettings::resolve_with_manifest`] and the team's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppLogSettings {
    /// App name.
    pub app: String,
    /// Its own settings, if any are stored.
    pub own: Option<LogSettings>,
    /// Its manifest's, if its newest revision has a `logs:` section.
    pub manifest: Option<ManifestLogSettings>,
}

/// Where an effective setting comes from. Serialised as `app`, `team`, `default` or
/// `manifest (revision N)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SettingOrigin {
    /// The app's manifest: the `logs:` section of this revision.
    Manifest(i64),
    /// The app's own settings (API or UI).
    App,
    /// Its team's settings.
    Team,
    /// Neither sets it: the built-in default.
    Default,
}

impl std::fmt::Display for SettingOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SettingOrigin::Manifest(revision) => write!(f, "manifest (revision {revision})"),
            SettingOrigin::App => f.write_str("app"),
            SettingOrigin::Team => f.write_str("team"),
            SettingOrigin::Default => f.write_str("default"),
        }
    }
}

impl std::str::FromStr for SettingOrigin {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let revision = s
            .strip_prefix("manifest (revision ")
            .and_then(|r| r.strip_suffix(')'))
            .and_then(|r| r.parse().ok());
        match (s, revision) {
            (_, Some(revision)) => Ok(SettingOrigin::Manifest(revision)),
            ("app", _) => Ok(SettingOrigin::App),
            ("team", _) => Ok(SettingOrigin::Team),
            ("default", _) => Ok(SettingOrigin::Default),
            _ => Err(format!(
                "unknown setting origin {s:?}: app, team, default or manifest (revision N)"
            )),
        }
    }
}

impl Serialize for SettingOrigin {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SettingOrigin {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The log settings in force for an app (or a team as a whole): its manifest's field by field
/// over the app's own settings, over its team's, over the defaults; and where each comes from.
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
        EffectiveLogSettings::resolve_with_manifest(team, app, None)
    }

    /// Resolves each field from the app's manifest, else the app's own settings, else the
    /// team's, else the default.
    pub fn resolve_with_manifest(
        team: Option<&LogSettings>,
        app: Option<&LogSettings>,
        manifest: Option<&ManifestLogSettings>,
    ) -> EffectiveLogSettings {
        let layers = [
            manifest.map(|m| (&m.settings, SettingOrigin::Manifest(m.revision))),
            app.map(|a| (a, SettingOrigin::App)),
            team.map(|t| (t, SettingOrigin::Team)),
        ];
        /// The first layer that sets the field, and where it comes from.
        fn pick<T>(
            layers: &[Option<(&LogSettings, SettingOrigin)>],
            field: impl Fn(&LogSettings) -> Option<T>,
        ) -> (Option<T>, SettingOrigin) {
            layers
                .iter()
                .flatten()
                .find_map(|(settings, origin)| field(settings).map(|value| (Some(value), *origin)))
                .unwrap_or((None, SettingOrigin::Default))
        }
        let (retention_days, retention_origin) = pick(&layers, |s| s.retention_days);
        let (rate_limit, rate_origin) = pick(&layers, |s| s.rate_limit);
        let (level_filter, level_origin) = pick(&layers, |s| s.level_filter.clone());
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
    fn manifest_over_app_over_team_field_by_field() {
        let team = settings(Some(14), Some(500), Some("debug"));
        let app = settings(Some(60), Some(2000), None);
        let manifest = ManifestLogSettings {
            revision: 4,
            settings: settings(None, Some(50), None),
        };
        let resolved = EffectiveLogSettings::resolve_with_manifest(Some(&team), Some(&app), Some(&manifest));
        assert_eq!(
            resolved,
            EffectiveLogSettings {
                retention_days: 60,
                rate_limit: Some(50),
                level_filter: Some("debug".into()),
                origin: LogSettingOrigins {
                    retention_days: SettingOrigin::App,
                    rate_limit: SettingOrigin::Manifest(4),
                    level_filter: SettingOrigin::Team,
                },
            }
        );
        let json = serde_json::to_value(&resolved).ok();
        assert_eq!(
            json.as_ref().map(|j| j["origin"].clone()),
            Some(serde_json::json!({
                "retentionDays": "app", "rateLimit": "manifest (revision 4)", "levelFilter": "team",
            }))
        );
        // Without a manifest, as before.
        assert_eq!(
            EffectiveLogSettings::resolve_with_manifest(Some(&team), Some(&app), None),
            EffectiveLogSettings::resolve(Some(&team), Some(&app))
        );
        // The manifest alone.
        let only = EffectiveLogSettings::resolve_with_manifest(None, None, Some(&manifest));
        assert_eq!(
            (only.retention_days, only.origin.retention_days),
            (DEFAULT_RETENTION_DAYS, SettingOrigin::Default)
        );
        assert_eq!(
            serde_json::to_value(&manifest).ok(),
            Some(
                serde_json::json!({"revision": 4, "retentionDays": null, "rateLimit": 50, "levelFilter": null})
            )
        );
    }

    #[test]
    fn origins_print_and_parse_back() {
        for origin in [
            SettingOrigin::Manifest(12),
            SettingOrigin::App,
            SettingOrigin::Team,
            SettingOrigin::Default,
        ] {
            let text = origin.to_string();
            assert_eq!(text.parse::<SettingOrigin>(), Ok(origin), "{text}");
            let json = serde_json::to_string(&origin).unwrap_or_default();
            assert_eq!(
                serde_json::from_str::<SettingOrigin>(&json).ok(),
                Some(origin),
                "{json}"
            );
        }
        assert_eq!(SettingOrigin::Manifest(3).to_string(), "manifest (revision 3)");
        for bad in ["manifest", "manifest (revision x)", "App", ""] {
            assert!(bad.parse::<SettingOrigin>().is_err(), "{bad}");
        }
    }

    #[test]
    fn only_changes_to_fields_the_manifest_sets_are_refused() {
        let manifest = settings(Some(14), None, Some("warn"));
        let stored = settings(Some(7), Some(100), None);
        // Unchanged fields pass, whatever their value; fields the manifest leaves alone change.
        assert!(LogSettings::fields_set_by_manifest(Some(&stored), &stored, &manifest).is_empty());
        let rate_only = settings(Some(7), Some(5), None);
        assert!(LogSettings::fields_set_by_manifest(Some(&stored), &rate_only, &manifest).is_empty());
        // Setting, changing or clearing a field the manifest sets is refused.
        let both = settings(None, Some(100), Some("info"));
        assert_eq!(
            LogSettings::fields_set_by_manifest(Some(&stored), &both, &manifest),
            ["retentionDays", "levelFilter"]
        );
        assert_eq!(
            LogSettings::fields_set_by_manifest(None, &settings(Some(14), None, None), &manifest),
            ["retentionDays"]
        );
        assert!(LogSettings::fields_set_by_manifest(None, &LogSettings::default(), &manifest).is_empty());
        assert!(LogSettings::default().is_empty() && !manifest.is_empty());
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
