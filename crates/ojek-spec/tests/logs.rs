//! The manifest's `logs:` section: its values, every mistake in it reported at its
//! `file:line:column`, and its refusal inside environment overrides (log settings are per app).

use ojek_spec::diagnostic::Diagnostic;
use ojek_spec::load::{load_app, resolve, validate_all};
use ojek_spec::manifest::{APPLIED_BY_OJEK, LogLevel, Logs};
use ojek_spec::schema::app_schema;
use ojek_spec::{Diagnostics, NoFiles};

const BASE: &str = "apiVersion: ojek.dev/v1
kind: App
metadata: {name: shop, team: payments}
processes:
  web:
    kind: worker
    image: registry.example.com/shop:1.0.0
logs:
  retentionDays: 14
  rateLimit: 500
  level: info
";

/// `BASE` with the first occurrence of `from` replaced by `to`.
fn with(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "BASE has no `{from}`");
    BASE.replacen(from, to, 1)
}

/// 1-based line and column of the first occurrence of `needle`.
fn position_of(text: &str, needle: &str) -> (u32, u32) {
    let offset = text
        .find(needle)
        .unwrap_or_else(|| panic!("no `{needle}` in the text"));
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line as u32, column as u32)
}

/// File, line and column of a diagnostic.
fn at(d: &Diagnostic) -> (String, u32, u32) {
    let loc = d.location.as_ref().unwrap_or_else(|| panic!("no location: {d}"));
    (loc.file.to_string(), loc.line, loc.column)
}

/// The single error of loading and validating `text`; fails (printing all) otherwise.
fn single_error(text: &str) -> Diagnostic {
    let diags: Diagnostics = match load_app("app.yaml", text, &NoFiles) {
        Err(d) => d,
        Ok(loaded) => validate_all(&loaded, &["staging".to_string()]),
    };
    let errs: Vec<Diagnostic> = diags.errors().cloned().collect();
    let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert_eq!(errs.len(), 1, "expected one error, got:\n{}", shown.join("\n"));
    errs.into_iter().next().expect("one")
}

/// Asserts that `text` has one error, at the first occurrence of `needle` in `app.yaml`.
fn error_at(text: &str, needle: &str) -> Diagnostic {
    let d = single_error(text);
    let (line, column) = position_of(text, needle);
    assert_eq!(at(&d), ("app.yaml".to_string(), line, column), "{d}");
    d
}

/// Asserts that `text` has one error, at the value of the first `key: value`.
fn error_at_value(text: &str, key: &str, value: &str) -> Diagnostic {
    let d = single_error(text);
    let (line, column) = position_of(text, &format!("{key}: {value}"));
    let column = column + key.len() as u32 + 2;
    assert_eq!(at(&d), ("app.yaml".to_string(), line, column), "{d}");
    d
}

#[test]
fn logs_section_loads_into_typed_settings_for_every_environment() {
    let loaded = load_app("app.yaml", BASE, &NoFiles).unwrap_or_else(|d| panic!("{d}"));
    let want = Logs {
        retention_days: Some(14),
        rate_limit: Some(500),
        level: Some(LogLevel::Info),
    };
    assert_eq!(loaded.app.logs.as_ref(), Some(&want));
    let staging = resolve(&loaded, "staging").unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(staging.app.logs.as_ref(), Some(&want));
    // Every field is optional; a manifest without the section has none.
    let partial = with("  rateLimit: 500\n  level: info\n", "");
    let loaded = load_app("app.yaml", &partial, &NoFiles).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(
        loaded.app.logs,
        Some(Logs {
            retention_days: Some(14),
            ..Logs::default()
        })
    );
    let none = with(
        "logs:\n  retentionDays: 14\n  rateLimit: 500\n  level: info\n",
        "",
    );
    let loaded = load_app("app.yaml", &none, &NoFiles).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(loaded.app.logs, None);
}

#[test]
fn every_level_is_accepted_lowest_first() {
    let names: Vec<&str> = LogLevel::ALL.iter().map(|l| l.as_str()).collect();
    assert_eq!(names, ["trace", "debug", "info", "warn", "error", "fatal"]);
    assert!(LogLevel::ALL.windows(2).all(|w| w[0] < w[1]));
    for level in LogLevel::ALL {
        let text = with("level: info", &format!("level: {}", level.as_str()));
        let loaded = load_app("app.yaml", &text, &NoFiles).unwrap_or_else(|d| panic!("{d}"));
        assert_eq!(loaded.app.logs.and_then(|l| l.level), Some(level));
    }
}

#[test]
fn unknown_field_in_logs_points_at_the_key_with_did_you_mean() {
    let text = with("retentionDays: 14", "retention: 14");
    let d = error_at(&text, "retention: 14");
    assert_eq!(d.message, "unknown field `retention`");
    assert_eq!(d.hint.as_deref(), Some("did you mean `retentionDays`?"));
    assert_eq!(d.path.as_deref(), Some("logs.retention"));
}

#[test]
fn retention_outside_1_to_3650_days_points_at_the_value() {
    for bad in ["0", "3651", "-7"] {
        let text = with("retentionDays: 14", &format!("retentionDays: {bad}"));
        let d = error_at_value(&text, "retentionDays", bad);
        assert_eq!(d.message, format!("{bad} is out of range (1 to 3650)"), "{d}");
        assert_eq!(d.path.as_deref(), Some("logs.retentionDays"));
    }
    for good in ["1", "3650"] {
        let text = with("retentionDays: 14", &format!("retentionDays: {good}"));
        load_app("app.yaml", &text, &NoFiles).unwrap_or_else(|d| panic!("{good}: {d}"));
    }
}

#[test]
fn rate_limit_must_be_a_positive_whole_number() {
    for bad in ["0", "-1"] {
        let text = with("rateLimit: 500", &format!("rateLimit: {bad}"));
        let d = error_at_value(&text, "rateLimit", bad);
        assert!(
            d.message.starts_with(&format!("{bad} is out of range (1 to ")),
            "{d}"
        );
        assert_eq!(d.path.as_deref(), Some("logs.rateLimit"));
    }
    let text = with("rateLimit: 500", "rateLimit: 2.5");
    let d = error_at(&text, "2.5");
    assert_eq!(d.message, "expected a whole number, found `2.5`");
    let text = with("rateLimit: 500", "rateLimit: lots");
    let d = error_at(&text, "lots");
    assert_eq!(d.message, "expected a whole number, found `lots`");
}

#[test]
fn unknown_level_lists_the_levels_and_suggests_the_closest() {
    let text = with("level: info", "level: warning");
    let d = error_at(&text, "warning");
    assert_eq!(d.message, "`warning` is not allowed here");
    assert_eq!(
        d.hint.as_deref(),
        Some("did you mean `warn`? Allowed: `trace`, `debug`, `info`, `warn`, `error`, `fatal`")
    );
    assert_eq!(d.path.as_deref(), Some("logs.level"));
    // Levels are lowercase, as the log pipeline normalises them.
    let text = with("level: info", "level: INFO");
    let d = error_at(&text, "INFO");
    assert!(
        d.hint
            .as_deref()
            .unwrap_or_default()
            .starts_with("did you mean `info`?"),
        "{d}"
    );
}

#[test]
fn logs_must_be_a_mapping() {
    let text = with(
        "logs:\n  retentionDays: 14\n  rateLimit: 500\n  level: info\n",
        "logs: 14\n",
    );
    let d = error_at_value(&text, "logs", "14");
    assert_eq!(d.message, "expected a mapping, found `14`");
    assert_eq!(d.path.as_deref(), Some("logs"));
}

#[test]
fn every_mistake_is_reported_at_once() {
    let text = with(
        "logs:\n  retentionDays: 14\n  rateLimit: 500\n  level: info\n",
        "logs:\n  retentionDays: 0\n  rateLimit: 0\n  level: loud\n  format: json\n",
    );
    let diags = load_app("app.yaml", &text, &NoFiles).expect_err("four mistakes");
    let paths: Vec<&str> = diags.errors().filter_map(|d| d.path.as_deref()).collect();
    assert_eq!(
        paths,
        [
            "logs.retentionDays",
            "logs.rateLimit",
            "logs.level",
            "logs.format"
        ],
        "{diags}"
    );
}

#[test]
fn logs_in_an_environment_override_are_refused_at_the_override() {
    let text = format!("{BASE}environments:\n  staging:\n    logs:\n      retentionDays: 3\n");
    let d = error_at(&text, "logs:\n      retentionDays: 3");
    assert_eq!(d.message, "`logs` cannot be set per environment");
    assert_eq!(
        d.hint.as_deref(),
        Some(
            "log settings are per app, the same in every environment: set `logs` at the top level \
             of the manifest"
        )
    );
    assert_eq!(d.path.as_deref(), Some("environments.staging.logs"));
    // Also when the body has no `logs`, and when the override would remove it.
    let body = with(
        "logs:\n  retentionDays: 14\n  rateLimit: 500\n  level: info\n",
        "",
    );
    for over in ["logs: {level: debug}", "logs: null"] {
        let text = format!("{body}environments:\n  production:\n    {over}\n");
        let d = error_at(&text, over);
        assert_eq!(d.message, "`logs` cannot be set per environment", "{over}");
    }
}

#[test]
fn the_schema_has_logs_at_the_top_level_only() {
    let schema = app_schema();
    let logs = &schema["properties"]["logs"];
    assert!(logs.is_object(), "{logs}");
    let defs = &schema["$defs"];
    assert_eq!(defs["Logs"]["additionalProperties"], false);
    let retention = &defs["Logs"]["properties"]["retentionDays"];
    assert_eq!(retention["minimum"], 1, "{retention}");
    assert_eq!(retention["maximum"], 3650, "{retention}");
    assert_eq!(defs["Logs"]["properties"]["rateLimit"]["minimum"], 1);
    let over = &defs["OverrideApp"]["properties"];
    assert!(over.get("processes").is_some(), "{over}");
    assert!(over.get("logs").is_none(), "overrides cannot set logs: {over}");
    // The fields ojek applies itself are real top-level fields.
    for (field, why) in APPLIED_BY_OJEK {
        assert!(schema["properties"].get(*field).is_some(), "{field}");
        assert!(!why.is_empty());
    }
}
