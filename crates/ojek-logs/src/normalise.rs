//! Normalising one shipped JSON log line into a [`Record`]: the fields shippers and logging
//! libraries use for the time, message, level, host, pod, revision and variant are recognised
//! and taken out; everything else is kept, unchanged, in [`Record::attrs`].

use serde_json::{Map, Number, Value};

use crate::record::Record;
use crate::time::{
    epoch_float_to_ms, epoch_integer_to_ms, is_integer, parse_date, parse_date_time, parse_number,
};

/// Where each built-in field is looked for, in order. A dotted name is a literal key
/// (`"log.level"`) or, failing that, a key in a nested object (`{"log": {"level": …}}`).
const TIMESTAMP: &[&str] = &["@timestamp", "timestamp", "time", "ts"];
const MESSAGE: &[&str] = &["message", "msg", "log", "body"];
const LEVEL: &[&str] = &["level", "severity", "log.level", "lvl", "levelname"];
const HOST: &[&str] = &[
    "host",
    "host.name",
    "host.hostname",
    "hostname",
    "kubernetes.host",
];
const POD: &[&str] = &["pod", "kubernetes.pod_name", "alloc_id"];
const REVISION: &[&str] = &["ojek.revision", "revision"];
const VARIANT: &[&str] = &["ojek.variant", "variant"];

impl Record {
    /// Normalises one shipped JSON log line of `app` in `env`, received at `received_ms`
    /// (Unix milliseconds).
    ///
    /// For each built-in field the first candidate that holds a usable value is taken and
    /// removed from the line; a candidate that is `null` or unusable (an unparseable time, a
    /// level that is an object, …) is skipped and stays in [`attrs`](Record::attrs):
    ///
    /// - `timestamp`: `@timestamp`, `timestamp`, `time`, `ts`: RFC 3339 with any offset (or
    ///   without one, read as UTC), a date, or an epoch number or numeric string in seconds,
    ///   milliseconds, microseconds or nanoseconds (told apart by magnitude: below 10¹¹ is
    ///   seconds, below 10¹⁴ milliseconds, below 10¹⁷ microseconds, else nanoseconds);
    ///   otherwise `received_ms`.
    /// - `message`: `message`, `msg`, `log` (unless it is an object, as in ECS's
    ///   `{"log": {"level": …}}`), `body`; a non-string is serialised as JSON; otherwise empty.
    /// - `level`: `level`, `severity`, `log.level`, `lvl`, `levelname`, through
    ///   [`normalise_level`].
    /// - `host`: `host` (a string), `host.name`, `host.hostname`, `hostname`, `kubernetes.host`.
    /// - `pod`: `pod`, `kubernetes.pod_name`, `alloc_id`.
    /// - `revision`: `ojek.revision`, `revision`: an integer, or a string of one.
    /// - `variant`: `ojek.variant`, `variant`: a string or number; else the pod label
    ///   `kubernetes.labels["ojek.dev/variant"]` (kept as an attribute too).
    ///
    /// A nested object left empty by taking a field out (`{"kubernetes": {"pod_name": …}}`)
    /// is removed too. Keys keep their order.
    ///
    /// ```
    /// let line = serde_json::json!({
    ///     "ts": 1_795_564_800.5,
    ///     "msg": "payment failed",
    ///     "level": "WARNING",
    ///     "kubernetes": {"pod_name": "shop-7d9f", "namespace": "shop"},
    ///     "http": {"status": 502},
    /// });
    /// let serde_json::Value::Object(line) = line else { unreachable!() };
    /// let record = ojek_logs::Record::from_json(line, "shop", "production", 1);
    /// assert_eq!(record.timestamp, 1_795_564_800_500);
    /// assert_eq!(record.message, "payment failed");
    /// assert_eq!(record.level.as_deref(), Some("warn"));
    /// assert_eq!(record.pod.as_deref(), Some("shop-7d9f"));
    /// assert_eq!(
    ///     serde_json::Value::Object(record.attrs),
    ///     serde_json::json!({"kubernetes": {"namespace": "shop"}, "http": {"status": 502}})
    /// );
    /// ```
    pub fn from_json(mut value: Map<String, Value>, app: &str, env: &str, received_ms: i64) -> Record {
        let attrs = &mut value;
        let timestamp = take_first(attrs, TIMESTAMP, |_, v| timestamp_ms(v)).unwrap_or(received_ms);
        let message = take_first(attrs, MESSAGE, message_text).unwrap_or_default();
        let level = take_first(attrs, LEVEL, |_, v| level_value(v));
        let host = take_first(attrs, HOST, |_, v| non_empty_string(v));
        let pod = take_first(attrs, POD, |_, v| non_empty_string(v));
        let revision = take_first(attrs, REVISION, |_, v| integer(v));
        let variant = take_first(attrs, VARIANT, |_, v| match v {
            Value::Number(n) => Some(n.to_string()),
            other => non_empty_string(other),
        })
        .or_else(|| pod_label(attrs, "ojek.dev/variant"));
        Record {
            timestamp,
            received: received_ms,
            app: app.to_owned(),
            env: env.to_owned(),
            level,
            host,
            pod,
            revision,
            variant,
            message,
            attrs: value,
        }
    }
}

/// A level, normalised: trimmed, lower case, and one of `trace`, `debug`, `info`, `warn`,
/// `error`, `fatal` when recognised; otherwise the lowercased text.
///
/// Recognised: those names with OpenTelemetry's `2`–`4` suffixes (`INFO2`), `warning`, `err`,
/// `critical`, `crit`, `emerg`, `emergency`, `alert`, `panic`, `dpanic`, `notice`,
/// `information`, `informational`, Java's `severe`, `fine`, `finer`, `finest`, `config`,
/// short forms (`trc`, `dbg`, `inf`, `wrn`, `eror`, `ftl`, `crt`, and glog's single letters
/// `t`, `d`, `i`, `w`, `e`, `f`), syslog severities `0`–`7`, and pino/bunyan levels `10`–`60`.
///
/// ```
/// use ojek_logs::normalise_level;
/// assert_eq!(normalise_level("WARNING"), "warn");
/// assert_eq!(normalise_level("3"), "error");
/// assert_eq!(normalise_level("Info2"), "info");
/// assert_eq!(normalise_level("Verbose"), "verbose");
/// ```
pub fn normalise_level(raw: &str) -> String {
    let lower = crate::tokens::lowercase(raw.trim());
    let known = match lower.as_str() {
        "0" | "1" | "2" | "60" => Some("fatal"),
        "3" | "50" => Some("error"),
        "4" | "40" => Some("warn"),
        "5" | "6" | "30" => Some("info"),
        "7" | "20" => Some("debug"),
        "10" => Some("trace"),
        name => level_name(name).or_else(|| {
            // OpenTelemetry severity texts: TRACE2…4, DEBUG2…4, INFO2…4, …
            let base = name.strip_suffix(['2', '3', '4'])?;
            level_name(base).filter(|level| base == *level)
        }),
    };
    known.map_or(lower, str::to_owned)
}

fn level_name(name: &str) -> Option<&'static str> {
    Some(match name {
        "trace" | "trc" | "finest" | "finer" | "t" => "trace",
        "debug" | "dbg" | "fine" | "config" | "d" => "debug",
        "info" | "inf" | "information" | "informational" | "notice" | "i" => "info",
        "warn" | "warning" | "wrn" | "w" => "warn",
        "error" | "err" | "eror" | "severe" | "e" => "error",
        "fatal" | "ftl" | "critical" | "crit" | "crt" | "emerg" | "emergency" | "alert" | "panic"
        | "dpanic" | "f" => "fatal",
        _ => return None,
    })
}

/// Takes the value at the first of `paths` that `accept` turns into something.
/// A pod label as log shippers' Kubernetes metadata puts it (`kubernetes.labels.<name>`, Fluent
/// Bit and Vector), left in place: pods of an experiment's shards carry `ojek.dev/variant`.
fn pod_label(attrs: &Map<String, Value>, name: &str) -> Option<String> {
    let labels = attrs.get("kubernetes")?.get("labels")?;
    non_empty_string(labels.get(name)?)
}

fn take_first<T>(
    attrs: &mut Map<String, Value>,
    paths: &[&str],
    accept: impl Fn(&str, &Value) -> Option<T>,
) -> Option<T> {
    paths
        .iter()
        .find_map(|path| take(attrs, path, |value| accept(path, value)))
}

/// Takes the value at `path` (a key, or `outer.inner` into a nested object) if `accept` turns
/// it into something, removing it, and its object if that is left empty.
fn take<T>(attrs: &mut Map<String, Value>, path: &str, accept: impl Fn(&Value) -> Option<T>) -> Option<T> {
    if let Some(found) = attrs.get(path).and_then(&accept) {
        attrs.shift_remove(path);
        return Some(found);
    }
    let (outer, inner) = path.split_once('.')?;
    let Some(Value::Object(object)) = attrs.get_mut(outer) else {
        return None;
    };
    let found = object.get(inner).and_then(&accept)?;
    object.shift_remove(inner);
    if object.is_empty() {
        attrs.shift_remove(outer);
    }
    Some(found)
}

fn timestamp_ms(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => epoch_number(number),
        Value::String(text) => {
            let text = text.trim();
            parse_date_time(text).or_else(|| parse_date(text)).or_else(|| {
                if is_integer(text) {
                    epoch_integer_to_ms(text.parse().ok()?)
                } else {
                    epoch_float_to_ms(parse_number(text)?)
                }
            })
        }
        _ => None,
    }
}

fn epoch_number(number: &Number) -> Option<i64> {
    if let Some(integer) = number.as_i64() {
        epoch_integer_to_ms(integer.into())
    } else if let Some(integer) = number.as_u64() {
        epoch_integer_to_ms(integer.into())
    } else {
        epoch_float_to_ms(number.as_f64()?)
    }
}

fn message_text(path: &str, value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        // ECS puts log metadata under "log" ({"log": {"level": …, "logger": …}}).
        Value::Object(_) if path == "log" => None,
        Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

fn level_value(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.trim().is_empty() => Some(normalise_level(text)),
        Value::Number(number) => {
            let text = match number.as_f64() {
                Some(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{n:.0}"),
                _ => number.to_string(),
            };
            Some(normalise_level(&text))
        }
        _ => None,
    }
}

fn non_empty_string(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        _ => None,
    }
}

fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64().or_else(|| {
            let n = number.as_f64()?;
            // Within ±2⁵³ a float holds integers exactly.
            (n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_992.0).then_some(n as i64)
        }),
        Value::String(text) if is_integer(text.trim()) => text.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RECEIVED: i64 = 1_000;
    const NOV_25: i64 = 1_795_564_800_000; // 2026-11-25T00:00:00Z

    fn normalise(line: Value) -> Record {
        let Value::Object(line) = line else {
            panic!("a line is an object")
        };
        Record::from_json(line, "shop", "production", RECEIVED)
    }

    fn attrs(record: &Record) -> Value {
        Value::Object(record.attrs.clone())
    }

    #[test]
    fn app_env_and_received_come_from_the_caller() {
        let r = normalise(json!({}));
        assert_eq!((r.app.as_str(), r.env.as_str()), ("shop", "production"));
        assert_eq!((r.timestamp, r.received), (RECEIVED, RECEIVED));
        assert_eq!(r.message, "");
        assert_eq!(r.level, None);
        assert_eq!(attrs(&r), json!({}));
    }

    #[test]
    fn timestamp_rfc3339_any_offset() {
        for text in [
            "2026-11-25T00:00:00Z",
            "2026-11-25T07:00:00+07:00",
            "2026-11-24T19:00:00-05:00",
            "2026-11-25 00:00:00Z",
            "2026-11-25T00:00:00.000000000Z",
            "2026-11-25T00:00:00",
        ] {
            let r = normalise(json!({"@timestamp": text}));
            assert_eq!(r.timestamp, NOV_25, "{text}");
            assert_eq!(attrs(&r), json!({}));
        }
    }

    #[test]
    fn timestamp_epoch_by_magnitude() {
        let s: i64 = 1_795_564_800;
        for value in [
            json!(s),
            json!(s * 1000),
            json!(s * 1_000_000),
            json!(s * 1_000_000_000),
            json!(s.to_string()),
            json!((s * 1000).to_string()),
            json!(s as f64),
        ] {
            assert_eq!(normalise(json!({"ts": value})).timestamp, NOV_25, "{value}");
        }
        assert_eq!(
            normalise(json!({"time": 1_795_564_800.25})).timestamp,
            NOV_25 + 250
        );
        assert_eq!(
            normalise(json!({"time": "1795564800.25"})).timestamp,
            NOV_25 + 250
        );
        assert_eq!(
            normalise(json!({"time": 1_795_564_800_123_456_789_u64})).timestamp,
            NOV_25 + 123
        );
    }

    #[test]
    fn timestamp_candidates_in_order() {
        let r = normalise(json!({"ts": 1, "time": 2, "timestamp": 3, "@timestamp": 4}));
        assert_eq!(r.timestamp, 4000);
        assert_eq!(attrs(&r), json!({"ts": 1, "time": 2, "timestamp": 3}));
        let r = normalise(json!({"ts": 1, "time": 2}));
        assert_eq!(r.timestamp, 2000);
        assert_eq!(attrs(&r), json!({"ts": 1}));
    }

    #[test]
    fn unparseable_timestamp_stays_and_received_time_is_used() {
        let r = normalise(json!({"timestamp": "yesterday", "time": true, "ts": null}));
        assert_eq!(r.timestamp, RECEIVED);
        assert_eq!(
            attrs(&r),
            json!({"timestamp": "yesterday", "time": true, "ts": null})
        );
        // A later candidate that parses is used; the unparseable one stays.
        let r = normalise(json!({"timestamp": "10:00:01", "ts": 1_795_564_800}));
        assert_eq!(r.timestamp, NOV_25);
        assert_eq!(attrs(&r), json!({"timestamp": "10:00:01"}));
        // Out of range.
        let r = normalise(json!({"ts": 1e300}));
        assert_eq!(r.timestamp, RECEIVED);
    }

    #[test]
    fn message_candidates() {
        assert_eq!(normalise(json!({"message": "a", "msg": "b"})).message, "a");
        assert_eq!(normalise(json!({"msg": "b", "log": "c"})).message, "b");
        assert_eq!(normalise(json!({"log": "c", "body": "d"})).message, "c");
        let r = normalise(json!({"body": "d", "other": 1}));
        assert_eq!(r.message, "d");
        assert_eq!(attrs(&r), json!({"other": 1}));
        assert_eq!(normalise(json!({"message": ""})).message, "");
    }

    #[test]
    fn non_string_message_is_serialised() {
        assert_eq!(
            normalise(json!({"body": {"event": "login", "ok": true}})).message,
            r#"{"event":"login","ok":true}"#
        );
        assert_eq!(normalise(json!({"msg": 42})).message, "42");
        assert_eq!(normalise(json!({"msg": [1, "a"]})).message, r#"[1,"a"]"#);
    }

    #[test]
    fn ecs_log_object_is_not_the_message() {
        let r = normalise(json!({
            "log": {"level": "ERROR", "logger": "db"},
            "message": "x"
        }));
        assert_eq!(r.message, "x");
        assert_eq!(r.level.as_deref(), Some("error"));
        assert_eq!(attrs(&r), json!({"log": {"logger": "db"}}));
        let r = normalise(json!({"log": {"level": "info"}, "body": "y"}));
        assert_eq!(r.message, "y");
        assert_eq!(attrs(&r), json!({}));
    }

    #[test]
    fn level_candidates() {
        for (line, level) in [
            (json!({"level": "INFO"}), "info"),
            (json!({"severity": "Warning"}), "warn"),
            (json!({"log.level": "err"}), "error"),
            (json!({"log": {"level": "critical"}}), "fatal"),
            (json!({"lvl": "dbg"}), "debug"),
            (json!({"levelname": "CRITICAL"}), "fatal"),
            (json!({"level": 30}), "info"),
            (json!({"level": 3}), "error"),
            (json!({"level": 4.0}), "warn"),
        ] {
            let r = normalise(line.clone());
            assert_eq!(r.level.as_deref(), Some(level), "{line}");
            assert_eq!(attrs(&r), json!({}), "{line}");
        }
        let r = normalise(json!({"level": {"x": 1}, "severity": "E"}));
        assert_eq!(r.level.as_deref(), Some("error"));
        assert_eq!(attrs(&r), json!({"level": {"x": 1}}));
    }

    #[test]
    fn level_normalisation() {
        for (raw, level) in [
            ("TRACE", "trace"),
            ("trace4", "trace"),
            ("Debug2", "debug"),
            ("INFO3", "info"),
            ("warn2", "warn"),
            ("ERROR4", "error"),
            ("FATAL2", "fatal"),
            ("warning", "warn"),
            ("err", "error"),
            ("crit", "fatal"),
            ("emerg", "fatal"),
            ("alert", "fatal"),
            ("panic", "fatal"),
            ("notice", "info"),
            ("SEVERE", "error"),
            (" info ", "info"),
            ("0", "fatal"),
            ("1", "fatal"),
            ("2", "fatal"),
            ("3", "error"),
            ("4", "warn"),
            ("5", "info"),
            ("6", "info"),
            ("7", "debug"),
            ("10", "trace"),
            ("20", "debug"),
            ("40", "warn"),
            ("50", "error"),
            ("60", "fatal"),
            // Unknown: kept, lowercased.
            ("VERBOSE", "verbose"),
            ("info5", "info5"),
            ("errors", "errors"),
            ("8", "8"),
        ] {
            assert_eq!(normalise_level(raw), level, "{raw:?}");
        }
    }

    #[test]
    fn host_candidates() {
        for line in [
            json!({"host": "n1"}),
            json!({"host": {"name": "n1"}}),
            json!({"host": {"hostname": "n1"}}),
            json!({"hostname": "n1"}),
            json!({"kubernetes.host": "n1"}),
            json!({"kubernetes": {"host": "n1"}}),
        ] {
            let r = normalise(line.clone());
            assert_eq!(r.host.as_deref(), Some("n1"), "{line}");
            assert_eq!(attrs(&r), json!({}), "{line}");
        }
        let r = normalise(json!({"host": {"name": "n1", "ip": "10.0.0.1"}, "hostname": "n2"}));
        assert_eq!(r.host.as_deref(), Some("n1"));
        assert_eq!(attrs(&r), json!({"host": {"ip": "10.0.0.1"}, "hostname": "n2"}));
    }

    #[test]
    fn pod_candidates() {
        for line in [
            json!({"pod": "p"}),
            json!({"kubernetes.pod_name": "p"}),
            json!({"kubernetes": {"pod_name": "p"}}),
            json!({"alloc_id": "p"}),
        ] {
            let r = normalise(line.clone());
            assert_eq!(r.pod.as_deref(), Some("p"), "{line}");
            assert_eq!(attrs(&r), json!({}), "{line}");
        }
        let r = normalise(json!({
            "kubernetes": {"pod_name": "p", "host": "n", "labels": {"app": "shop"}}
        }));
        assert_eq!((r.pod.as_deref(), r.host.as_deref()), (Some("p"), Some("n")));
        assert_eq!(attrs(&r), json!({"kubernetes": {"labels": {"app": "shop"}}}));
    }

    #[test]
    fn revision_and_variant() {
        let r = normalise(json!({"ojek": {"revision": 12, "variant": "b"}}));
        assert_eq!((r.revision, r.variant.as_deref()), (Some(12), Some("b")));
        assert_eq!(attrs(&r), json!({}));
        let r = normalise(json!({"ojek.revision": "7", "ojek.variant": "a"}));
        assert_eq!((r.revision, r.variant.as_deref()), (Some(7), Some("a")));
        let r = normalise(json!({"revision": 3, "variant": 2}));
        assert_eq!((r.revision, r.variant.as_deref()), (Some(3), Some("2")));
        // Shipped with the pod's Kubernetes labels (experiment shards label their pods).
        let r = normalise(json!({"kubernetes": {"labels": {"ojek.dev/variant": "b"}}}));
        assert_eq!(r.variant.as_deref(), Some("b"));
        assert_eq!(
            attrs(&r),
            json!({"kubernetes": {"labels": {"ojek.dev/variant": "b"}}})
        );
        let r = normalise(json!({"variant": "a", "kubernetes": {"labels": {"ojek.dev/variant": "b"}}}));
        assert_eq!(r.variant.as_deref(), Some("a"));
        let r = normalise(json!({"revision": "abc", "variant": true}));
        assert_eq!((r.revision, r.variant.as_deref()), (None, None));
        assert_eq!(attrs(&r), json!({"revision": "abc", "variant": true}));
        let r = normalise(json!({"revision": 1.5}));
        assert_eq!(r.revision, None);
    }

    #[test]
    fn everything_else_is_kept_unchanged_in_order() {
        let r = normalise(json!({
            "z": 1,
            "msg": "m",
            "a": {"nested": {"deep": [1, 2]}},
            "level": "info",
            "m": null,
        }));
        let keys: Vec<&String> = r.attrs.keys().collect();
        assert_eq!(keys, ["z", "a", "m"]);
        assert_eq!(
            attrs(&r),
            json!({"z": 1, "a": {"nested": {"deep": [1, 2]}}, "m": null})
        );
    }
}
