//! What each query form matches: the semantics the index must reproduce.

use ojek_logs::query::{Bound, Query, RangeValue};
use ojek_logs::{Record, evaluate, parse_at};
use serde_json::{Value, json};

/// 2026-11-25T00:00:00Z.
const NOV_25: i64 = 1_795_564_800_000;
const NOW: i64 = NOV_25 + 3_600_000;

fn record(line: Value) -> Record {
    let Value::Object(line) = line else {
        panic!("a line is an object")
    };
    Record::from_json(line, "shop", "production", NOW)
}

/// Whether `query` matches `record`, checking that `NOT query` is the opposite.
fn matches(query: &str, record: &Record) -> bool {
    let parsed = parse_at(query, NOW).unwrap_or_else(|e| panic!("{query:?}: {e}"));
    let result = evaluate(&parsed, record);
    assert_eq!(
        evaluate(&Query::Not(Box::new(parsed)), record),
        !result,
        "NOT {query}"
    );
    result
}

fn check(record: &Record, matching: &[&str], not_matching: &[&str]) {
    for query in matching {
        assert!(matches(query, record), "{query:?} should match {record:?}");
    }
    for query in not_matching {
        assert!(!matches(query, record), "{query:?} should not match {record:?}");
    }
}

#[test]
fn message_terms_match_whole_words_in_any_case() {
    let r = record(json!({"msg": "GET /api/Users-42 Timeout after 30s"}));
    check(
        &r,
        &["timeout", "TIMEOUT", "users", "api", "30s", "*"],
        &["time", "user", "users42", "get2", "seconds"],
    );
}

#[test]
fn a_bare_word_with_separators_is_a_phrase() {
    let r = record(json!({"msg": "GET /api/users-42 failed"}));
    check(
        &r,
        &[
            "users-42",
            "users_42",
            "users.42",
            "api/users",
            "/api/users-42/",
            r#""get api""#,
        ],
        &["42-users", "api-42", "get-failed"],
    );
}

#[test]
fn phrases_are_consecutive_words() {
    let r = record(json!({"msg": "Connection reset by peer, retrying"}));
    check(
        &r,
        &[
            r#""connection reset""#,
            r#""Reset by PEER""#,
            r#""peer retrying""#,
            r#""connection, reset by""#,
        ],
        &[
            r#""connection by""#,
            r#""reset connection""#,
            r#""peer retrying now""#,
        ],
    );
}

#[test]
fn phrases_do_not_jump_over_dropped_long_words() {
    let long = "x".repeat(40);
    let r = record(json!({"msg": format!("start {long} end")}));
    check(
        &r,
        &["start", "end", &format!(r#""start {} end""#, "y".repeat(45))],
        &[r#""start end""#],
    );
    // A word that long is never indexed, so searching for it alone is refused.
    assert!(parse_at(&long, NOW).is_err());
}

#[test]
fn message_wildcards_match_one_word() {
    let r = record(json!({"msg": "Payment declined: card_expired"}));
    check(
        &r,
        &["pay*", "PAY*", "*clined", "d?clined", "card*", "????", "exp*"],
        &["pay", "payment?", "?????", "declined*x"],
    );
    // "card_*" is refused by the parser; the message has the words "card" and "expired".
    assert!(parse_at("card_*", NOW).is_err());
}

#[test]
fn empty_message_matches_no_words() {
    let r = record(json!({"level": "info"}));
    check(&r, &["*", "level:info"], &["anything", "any*", r#""a b""#]);
}

#[test]
fn field_terms_are_exact_and_case_sensitive() {
    let r = record(json!({"msg": "x", "user": "Alice Smith", "path": "/api/v1"}));
    check(
        &r,
        &[r#"user:"Alice Smith""#, r"user:Alice\ Smith", "path:/api/v1"],
        &[
            "user:alice",
            "user:Alice",
            r#"user:"alice smith""#,
            "path:api",
            "path:/api/v1/",
        ],
    );
}

#[test]
fn numbers_match_by_text_and_by_value() {
    let r = record(json!({
        "status": 500,
        "code": "500",
        "ratio": 0.5,
        "big": 18_446_744_073_709_551_615_u64,
        "text": "500.0",
    }));
    check(
        &r,
        &[
            "status:500",
            "status:500.0",
            "status:5e2",
            r#"status:"500""#,
            "code:500",
            "ratio:0.5",
            "ratio:.5",
            "ratio:0.50",
            "big:18446744073709551615",
            "text:500.0",
        ],
        &[
            "status:501",
            "status:5*1",
            "code:500.0",
            "code:5e2",
            "text:500",
            "big:18446744073709551614",
        ],
    );
}

#[test]
fn booleans_and_nulls() {
    let r = record(json!({"ok": true, "gone": null}));
    check(
        &r,
        &["ok:true", "ok:t*", "NOT gone:*", "NOT gone:null"],
        &["ok:false", "ok:True", "ok:1", "gone:null", "gone:*"],
    );
}

#[test]
fn dotted_paths_nested_literal_and_arrays() {
    let r = record(json!({
        "http": {"status": 502, "method": "GET"},
        "user.id": "u1",
        "tags": ["blue", "green"],
        "items": [{"sku": "a1"}, {"sku": "b2"}],
        "obj": {"inner": 1},
    }));
    check(
        &r,
        &[
            "http.status:502",
            "http.method:GET",
            "user.id:u1",
            "tags:green",
            "tags:bl*",
            "items.sku:b2",
            "obj.inner:1",
        ],
        &[
            "http:*",
            "http.status:GET",
            "tags:red",
            "items.sku:c3",
            "obj:*",
            "status:502",
        ],
    );
}

#[test]
fn field_wildcards_match_the_whole_value() {
    let r = record(json!({"path": "/api/users/42", "host": "web-3"}));
    check(
        &r,
        &[
            "path:/api/*",
            "path:*/42",
            "path:*users*",
            "host:web-?",
            "host:*",
            "path:*",
        ],
        &["path:/api", "path:users*", "host:web-??", "host:Web-*", "pod:*"],
    );
}

#[test]
fn literal_wildcard_characters() {
    let r = record(json!({"expr": "a*b?"}));
    check(
        &r,
        &[r"expr:a\*b\?", r"expr:a\**", r#"expr:"a*b?""#, "expr:a*"],
        &[r"expr:a\*c*", r#"expr:"a*""#],
    );
}

#[test]
fn level_is_case_insensitive_and_normalised() {
    let r = record(json!({"level": "WARNING", "msg": "disk"}));
    assert_eq!(r.level.as_deref(), Some("warn"));
    check(
        &r,
        &[
            "level:warn",
            "level:WARN",
            "level:warning",
            "level:4",
            "level:w*",
            "level:(error OR warn)",
        ],
        &["level:error", "level:warning*", "level:info"],
    );
    // Hand-built queries and records behave the same as normalised ones.
    let mut raw = r.clone();
    raw.level = Some("Warning".into());
    let query = Query::Term {
        field: Some("level".into()),
        text: "WARN".into(),
    };
    assert!(evaluate(&query, &raw));
}

#[test]
fn built_in_fields() {
    let r = record(json!({
        "msg": "m",
        "host": "node-1",
        "kubernetes": {"pod_name": "shop-7d9f"},
        "ojek": {"revision": 12, "variant": "b"},
    }));
    check(
        &r,
        &[
            "app:shop",
            "env:production",
            "host:node-1",
            "pod:shop-*",
            "revision:12",
            "revision:[10 TO 12]",
            "revision:>11",
            "variant:b",
            "message:m",
        ],
        &[
            "app:Shop",
            "env:prod*x",
            "host:node",
            "revision:13",
            "revision:<12",
            "variant:a",
            "kubernetes.pod_name:*",
        ],
    );
}

#[test]
fn a_missing_field_never_matches() {
    let r = record(json!({"msg": "m"}));
    for query in [
        "status:500",
        "status:*",
        "status:[* TO *]",
        "status:>0",
        r#"status:"""#,
        "host:x",
        "level:*",
        "revision:1",
        "variant:*",
    ] {
        assert!(!matches(query, &r), "{query}");
        assert!(matches(&format!("NOT {query}"), &r), "NOT {query}");
        assert!(matches(&format!("-{query}"), &r), "-{query}");
    }
}

#[test]
fn numeric_ranges() {
    let r = record(json!({
        "status": 503,
        "latency": "12.5",
        "name": "abc",
        "many": [1, 50, 100],
        "neg": -3,
    }));
    check(
        &r,
        &[
            "status:[500 TO 599]",
            "status:[503 TO 503]",
            "status:{502 TO 504}",
            "status:>=503",
            "status:>500",
            "status:<=503",
            "status:[* TO *]",
            "latency:>12",
            "latency:[12.5 TO *]",
            "many:[40 TO 60]",
            "neg:<0",
            "neg:[-3 TO -3]",
        ],
        &[
            "status:{503 TO 599]",
            "status:[500 TO 503}",
            "status:>503",
            "status:<503",
            "latency:>12.5",
            "name:[* TO *]",
            "many:{1 TO 50}",
            "neg:>-3",
        ],
    );
}

#[test]
fn time_ranges_use_the_record_time() {
    let r = record(json!({"@timestamp": "2026-11-25T10:30:00+07:00", "msg": "m"}));
    assert_eq!(r.timestamp, NOV_25 + 3_600_000 * 3 + 1_800_000);
    check(
        &r,
        &[
            "@timestamp:2026-11-25",
            "@timestamp:[2026-11-25 TO 2026-11-25]",
            "@timestamp:[2026-11-25T03:30:00Z TO 2026-11-25T03:30:00Z]",
            "@timestamp:>=2026-11-25T03:30:00Z",
            "@timestamp:>2026-11-24",
            "@timestamp:<2026-11-26",
            "timestamp:[now-1d TO now+1d]",
            "@timestamp:>now-1w",
            "@timestamp:*",
        ],
        &[
            "@timestamp:2026-11-24",
            "@timestamp:>2026-11-25",
            "@timestamp:<2026-11-25",
            "@timestamp:>2026-11-25T03:30:00Z",
            "@timestamp:{2026-11-24 TO 2026-11-25}",
            "@timestamp:[now-15m TO now]",
            "@timestamp:<now-1d",
        ],
    );
}

#[test]
fn boolean_operators() {
    let r = record(json!({"msg": "payment failed", "level": "error"}));
    check(
        &r,
        &[
            "payment AND failed",
            "payment failed",
            "payment && level:error",
            "payment OR nothing",
            "nothing || failed",
            "NOT nothing",
            "-nothing",
            "!nothing",
            "payment -nothing",
            "nothing OR payment failed",
            "(nothing OR payment) failed",
            "NOT (nothing OR refund)",
            "level:(warn OR error) payment",
        ],
        &[
            "payment AND nothing",
            "payment nothing",
            "nothing OR refund",
            "NOT payment",
            "-level:error",
            "payment -failed",
            "(payment OR nothing) refund",
            "NOT (payment OR refund)",
        ],
    );
}

#[test]
fn hand_built_edge_cases() {
    let r = record(json!({"msg": "a b"}));
    let no_tokens = Query::Term {
        field: None,
        text: "--".into(),
    };
    assert!(!evaluate(&no_tokens, &r));
    assert!(evaluate(&Query::Not(Box::new(no_tokens)), &r));
    assert!(evaluate(&Query::And(vec![]), &r));
    assert!(!evaluate(&Query::Or(vec![]), &r));
    let message_field = Query::Phrase {
        field: Some("message".into()),
        text: "A B".into(),
    };
    assert!(evaluate(&message_field, &r));
    let inverted = Query::Range {
        field: "@timestamp".into(),
        lower: Bound::Inclusive(RangeValue::Time(NOW + 1)),
        upper: Bound::Inclusive(RangeValue::Time(NOW - 1)),
    };
    assert!(!evaluate(&inverted, &r));
}
