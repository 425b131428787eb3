//! Properties: parsing never panics; printing a query gives text that parses back to the same
//! tree; `NOT`, `AND` and `OR` mean negation, conjunction and disjunction; normalising never
//! panics and keeps unrecognised fields unchanged.

use ojek_logs::query::{Bound, Query, RangeValue, parse_at};
use ojek_logs::{Record, evaluate};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// 2026-11-25T00:00:00Z.
const NOW: i64 = 1_795_564_800_000;

// --- Queries as the parser produces them ----------------------------------------------------

/// Text with at least one word: starts with a letter or digit.
fn message_text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9é日][a-zA-Z0-9é _.:/\"\\\\()*?<>!&|-]{0,12}"
}

/// Any value text, with every character the syntax treats specially.
fn value_text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9é _.:/\"\\\\()*?<>\\[\\]{}!&|-]{0,12}"
}

/// Field names (never `message`, `timestamp` or `@timestamp`, which the parser rewrites).
fn field_name() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "status",
        "http.status",
        "host",
        "app",
        "env",
        "pod",
        "variant",
        "revision",
        "user_id",
        "kubernetes.labels.app",
        "@version",
        "x-request-id",
        "a b",
        "AND",
        "-x",
        "tags",
    ])
    .prop_map(str::to_owned)
}

fn level_value() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["trace", "debug", "info", "warn", "error", "fatal"]).prop_map(str::to_owned)
}

/// A pattern in the tree's form, with at least one unescaped wildcard.
fn pattern(literal: &'static str) -> impl Strategy<Value = String> {
    let part = prop_oneof![
        3 => literal.prop_map(|c: String| c),
        1 => Just("*".to_owned()),
        1 => Just("?".to_owned()),
    ];
    prop::collection::vec(part, 1..6)
        .prop_filter("needs a wildcard", |parts| {
            parts.iter().any(|p| p == "*" || p == "?")
        })
        .prop_map(|parts| parts.concat())
}

fn field_leaf() -> impl Strategy<Value = Query> {
    prop_oneof![
        (
            field_name(),
            value_text().prop_filter("non-empty", |t| !t.is_empty())
        )
            .prop_filter("level values are normalised", |(f, _)| f != "level")
            .prop_map(|(field, text)| Query::Term {
                field: Some(field),
                text
            }),
        (field_name(), value_text()).prop_map(|(field, text)| Query::Phrase {
            field: Some(field),
            text
        }),
        level_value().prop_map(|text| Query::Term {
            field: Some("level".into()),
            text
        }),
        (field_name(), pattern("[a-zA-Z0-9 :()\"/-]|\\\\[*?\\\\]")).prop_map(|(field, pattern)| {
            Query::Wildcard {
                field: Some(field),
                pattern,
            }
        }),
        pattern("[a-z]").prop_map(|pattern| Query::Wildcard {
            field: Some("level".into()),
            pattern
        }),
    ]
}

fn number_bound() -> impl Strategy<Value = Bound> {
    let value = prop_oneof![
        (-1_000_000i64..1_000_000).prop_map(|n| n as f64),
        -1e6f64..1e6,
        prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO,
    ]
    .prop_map(RangeValue::Number);
    prop_oneof![
        Just(Bound::Unbounded),
        value.clone().prop_map(Bound::Inclusive),
        value.prop_map(Bound::Exclusive),
    ]
}

fn time_bound() -> impl Strategy<Value = Bound> {
    let value = prop_oneof![(NOW - 1_000_000_000_000..NOW + 1_000_000_000_000), any::<i64>(),]
        .prop_map(RangeValue::Time);
    prop_oneof![
        Just(Bound::Unbounded),
        value.clone().prop_map(Bound::Inclusive),
        value.prop_map(Bound::Exclusive),
    ]
}

fn range_leaf() -> impl Strategy<Value = Query> {
    let numeric = prop::sample::select(vec!["status", "http.status", "latency", "revision", "many"]);
    prop_oneof![
        (numeric, number_bound(), number_bound()).prop_map(|(field, lower, upper)| {
            Query::Range {
                field: field.into(),
                lower,
                upper,
            }
        }),
        (time_bound(), time_bound()).prop_map(|(lower, upper)| Query::Range {
            field: "@timestamp".into(),
            lower,
            upper,
        }),
    ]
}

fn leaf() -> impl Strategy<Value = Query> {
    prop_oneof![
        1 => Just(Query::All),
        3 => message_text().prop_map(|text| Query::Term { field: None, text }),
        2 => message_text().prop_map(|text| Query::Phrase { field: None, text }),
        2 => pattern("[a-z0-9é]")
            .prop_filter("* alone is All", |p| p != "*")
            .prop_map(|pattern| Query::Wildcard { field: None, pattern }),
        4 => field_leaf(),
        2 => range_leaf(),
    ]
}

fn query() -> impl Strategy<Value = Query> {
    leaf().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Query::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Query::Or),
            inner.prop_map(|q| Query::Not(Box::new(q))),
        ]
    })
}

// --- Records --------------------------------------------------------------------------------

fn record() -> impl Strategy<Value = Record> {
    let word = prop::sample::select(vec![
        "GET", "api", "users", "42", "timeout", "error", "Payment", "failed", "é", "日本", "a", "b", "c",
        "web",
    ]);
    let message = prop::collection::vec(word, 0..8).prop_map(|w| w.join(" "));
    let scalar = prop_oneof![
        (-5i64..700).prop_map(|n| json!(n)),
        (-5i64..700).prop_map(|n| json!(n.to_string())),
        Just(json!(12.5)),
        Just(json!("web-1")),
        Just(json!("a b")),
        Just(json!(true)),
        Just(Value::Null),
    ];
    let level = prop::option::of(prop::sample::select(vec!["info", "WARN", "error", "7"]));
    let host = prop::option::of(prop::sample::select(vec!["web-1", "web-2", "db"]));
    (
        message,
        level,
        host,
        prop::option::of(scalar.clone()),
        prop::option::of(scalar.clone()),
        prop::option::of(prop::collection::vec(scalar, 0..3)),
        prop::option::of(0i64..20),
        NOW - 1_000_000_000..NOW + 1_000_000_000,
    )
        .prop_map(|(message, level, host, status, nested, tags, revision, ts)| {
            let mut line = Map::new();
            line.insert("msg".into(), json!(message));
            line.insert("@timestamp".into(), json!(ts));
            if let Some(level) = level {
                line.insert("level".into(), json!(level));
            }
            if let Some(host) = host {
                line.insert("host".into(), json!(host));
            }
            if let Some(status) = status {
                line.insert("status".into(), status);
            }
            if let Some(nested) = nested {
                line.insert("http".into(), json!({"status": nested}));
            }
            if let Some(tags) = tags {
                line.insert("tags".into(), Value::Array(tags));
            }
            if let Some(revision) = revision {
                line.insert("revision".into(), json!(revision));
            }
            Record::from_json(line, "shop", "production", NOW)
        })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        ".{0,20}".prop_map(Value::String),
        "[0-9T:.+Z-]{0,25}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Keys, often ones the normaliser looks for.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "@timestamp",
            "timestamp",
            "time",
            "ts",
            "message",
            "msg",
            "log",
            "body",
            "level",
            "severity",
            "log.level",
            "lvl",
            "levelname",
            "host",
            "name",
            "hostname",
            "kubernetes",
            "kubernetes.host",
            "pod",
            "pod_name",
            "kubernetes.pod_name",
            "alloc_id",
            "ojek",
            "revision",
            "ojek.revision",
            "variant",
            "ojek.variant",
        ])
        .prop_map(str::to_owned),
        "[a-z.]{0,6}",
    ]
}

/// Pieces of query syntax, glued or spaced at random.
fn query_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => "[a-zA-Z0-9]{1,3}",
        3 => r#"[:()"\\*?<>=!&|\[\]{}.@-]"#,
        4 => prop::sample::select(vec![
            "AND", "OR", "NOT", "TO", "&&", "||", "level:", "status:", "@timestamp:",
            "timestamp:", "message:", "host:", "now-1h", "now", "2026-11-25",
            "2026-11-25T10:00:00Z", "-5", "1.5", "*", "[", "]", "{", "}", ">=", "<", "\\",
            "\"", "(", ")", "x*", "Error",
        ])
        .prop_map(str::to_owned),
    ];
    let spacing = prop::sample::select(vec!["", " ", " ", " ", "  "]);
    prop::collection::vec((piece, spacing), 0..14).prop_map(|pieces| {
        pieces
            .into_iter()
            .map(|(piece, space)| format!("{piece}{space}"))
            .collect()
    })
}

// --- Properties -----------------------------------------------------------------------------

proptest! {
    // Parsing is cheap: many cases.
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn parse_never_panics_on_any_string(text in any::<String>()) {
        let _ = parse_at(&text, NOW);
    }

    /// Query-like strings reach deep into the parser; whatever parses prints back the same,
    /// and errors point inside the text (or just after it).
    #[test]
    fn parsed_queries_print_back_to_themselves(text in query_like()) {
        match parse_at(&text, NOW) {
            Ok(query) => {
                let printed = query.to_string();
                prop_assert_eq!(parse_at(&printed, NOW), Ok(query), "{:?} printed as {:?}", text, printed);
            }
            Err(error) => {
                let columns = 1..=text.chars().count() + 1;
                prop_assert!(columns.contains(&error.column), "{:?}: {}", text, error);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]


    #[test]
    fn printed_queries_parse_back(query in query()) {
        let printed = query.to_string();
        prop_assert_eq!(parse_at(&printed, NOW), Ok(query), "printed as {:?}", printed);
    }

    #[test]
    fn not_is_negation(query in query(), record in record()) {
        prop_assert_eq!(
            evaluate(&Query::Not(Box::new(query.clone())), &record),
            !evaluate(&query, &record)
        );
    }

    #[test]
    fn and_is_both_or_is_either(a in query(), b in query(), record in record()) {
        let (ra, rb) = (evaluate(&a, &record), evaluate(&b, &record));
        prop_assert_eq!(evaluate(&Query::And(vec![a.clone(), b.clone()]), &record), ra && rb);
        prop_assert_eq!(evaluate(&Query::Or(vec![a, b]), &record), ra || rb);
    }

    #[test]
    fn normalising_never_panics_and_keeps_other_fields(
        line in prop::collection::btree_map(key(), json_value(), 0..8),
        extra in prop::collection::btree_map("x_[a-z]{1,5}", json_value(), 0..4),
    ) {
        let mut map: Map<String, Value> = line.into_iter().collect();
        for (k, v) in &extra {
            map.insert(k.clone(), v.clone());
        }
        let record = Record::from_json(map, "shop", "production", NOW);
        for (k, v) in &extra {
            prop_assert_eq!(record.attrs.get(k), Some(v));
        }
        // The record is a valid query target: every field can be looked up.
        for name in ["app", "level", "host", "@timestamp", "http.status", "x_a"] {
            let _ = record.field(name);
        }
    }
}
