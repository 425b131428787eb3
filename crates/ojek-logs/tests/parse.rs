//! The query syntax: each operator and value form, and errors with their columns.

use ojek_logs::query::{Bound, Query, RangeValue, parse_at};

/// 2026-11-25T00:00:00Z.
const NOV_25: i64 = 1_795_564_800_000;
const DAY: i64 = 86_400_000;
/// "now" in these tests: 2026-11-25T12:00:00Z.
const NOW: i64 = NOV_25 + DAY / 2;

fn q(text: &str) -> Query {
    parse_at(text, NOW).unwrap_or_else(|e| panic!("{text:?} should parse: {e}"))
}

fn err(text: &str) -> String {
    match parse_at(text, NOW) {
        Ok(query) => panic!("{text:?} should not parse, got {query:?}"),
        Err(e) => e.to_string(),
    }
}

fn term(text: &str) -> Query {
    Query::Term {
        field: None,
        text: text.into(),
    }
}

fn fterm(field: &str, text: &str) -> Query {
    Query::Term {
        field: Some(field.into()),
        text: text.into(),
    }
}

fn phrase(field: Option<&str>, text: &str) -> Query {
    Query::Phrase {
        field: field.map(Into::into),
        text: text.into(),
    }
}

fn wildcard(field: Option<&str>, pattern: &str) -> Query {
    Query::Wildcard {
        field: field.map(Into::into),
        pattern: pattern.into(),
    }
}

fn range(field: &str, lower: Bound, upper: Bound) -> Query {
    Query::Range {
        field: field.into(),
        lower,
        upper,
    }
}

fn not(query: Query) -> Query {
    Query::Not(Box::new(query))
}

fn num(n: f64) -> RangeValue {
    RangeValue::Number(n)
}

fn time(ms: i64) -> RangeValue {
    RangeValue::Time(ms)
}

#[test]
fn empty_and_star_are_all() {
    assert_eq!(q(""), Query::All);
    assert_eq!(q("   "), Query::All);
    assert_eq!(q("*"), Query::All);
    assert_eq!(q("(*)"), Query::All);
}

#[test]
fn bare_words_are_message_terms() {
    assert_eq!(q("timeout"), term("timeout"));
    assert_eq!(q("  Timeout "), term("Timeout"));
    assert_eq!(q("foo-bar"), term("foo-bar"));
    assert_eq!(q("/api/v1"), term("/api/v1"));
    assert_eq!(q("and"), term("and"));
    assert_eq!(q("ANDROID"), term("ANDROID"));
    assert_eq!(q("a&&b"), term("a&&b"));
    assert_eq!(q("<html>"), term("<html>"));
}

#[test]
fn phrases_with_escapes() {
    assert_eq!(q(r#""connection reset""#), phrase(None, "connection reset"));
    assert_eq!(q(r#""say \"hi\" \\ now""#), phrase(None, r#"say "hi" \ now"#));
    assert_eq!(
        q(r#"a"b c"d"#),
        Query::And(vec![term("a"), phrase(None, "b c"), term("d")])
    );
}

#[test]
fn backslash_escapes_in_words() {
    assert_eq!(q(r"a\:b"), term("a:b"));
    assert_eq!(q(r"\-x"), term("-x"));
    assert_eq!(q(r"\AND"), term("AND"));
    assert_eq!(q(r"path:C\:\\tmp\ dir"), fterm("path", r"C:\tmp dir"));
    assert_eq!(q(r"path:a\*"), fterm("path", "a*"));
}

#[test]
fn field_values() {
    assert_eq!(q("level:error"), fterm("level", "error"));
    assert_eq!(q("http.status:500"), fterm("http.status", "500"));
    assert_eq!(q("status:-5"), fterm("status", "-5"));
    assert_eq!(q("url:http://x/y?"), wildcard(Some("url"), "http://x/y?"));
    assert_eq!(q("time:10:00:01"), fterm("time", "10:00:01"));
    assert_eq!(q(r#"host:"web 1""#), phrase(Some("host"), "web 1"));
    assert_eq!(q(r#"host:"web*""#), phrase(Some("host"), "web*"));
    assert_eq!(q(r#"host:"""#), phrase(Some("host"), ""));
    assert_eq!(q("@version:1"), fterm("@version", "1"));
    assert_eq!(q("x-request-id:abc"), fterm("x-request-id", "abc"));
}

#[test]
fn message_field_is_the_message() {
    assert_eq!(q("message:timeout"), term("timeout"));
    assert_eq!(q(r#"message:"timed out""#), phrase(None, "timed out"));
    assert_eq!(q("message:time*"), wildcard(None, "time*"));
}

#[test]
fn level_values_are_normalised() {
    assert_eq!(q("level:ERROR"), fterm("level", "error"));
    assert_eq!(q("level:warning"), fterm("level", "warn"));
    assert_eq!(q(r#"level:"Critical""#), phrase(Some("level"), "fatal"));
    assert_eq!(q("level:ERR*"), wildcard(Some("level"), "err*"));
}

#[test]
fn wildcards() {
    assert_eq!(q("time*"), wildcard(None, "time*"));
    assert_eq!(q("Ti?e*"), wildcard(None, "ti?e*"));
    assert_eq!(q("**"), wildcard(None, "**"));
    assert_eq!(q("host:web-*"), wildcard(Some("host"), "web-*"));
    assert_eq!(q("host:*"), wildcard(Some("host"), "*"));
    assert_eq!(q("Host:Web?"), wildcard(Some("Host"), "Web?"));
    assert_eq!(q(r"path:/a\*/*"), wildcard(Some("path"), r"/a\*/*"));
    assert_eq!(q(r"path:\\*"), wildcard(Some("path"), r"\\*"));
    assert_eq!(q("@timestamp:*"), Query::All);
}

#[test]
fn boolean_operators() {
    let (a, b, c) = (term("a"), term("b"), term("c"));
    assert_eq!(q("a AND b"), Query::And(vec![a.clone(), b.clone()]));
    assert_eq!(q("a && b"), Query::And(vec![a.clone(), b.clone()]));
    assert_eq!(q("a OR b"), Query::Or(vec![a.clone(), b.clone()]));
    assert_eq!(q("a || b"), Query::Or(vec![a.clone(), b.clone()]));
    assert_eq!(q("NOT a"), not(a.clone()));
    assert_eq!(q("!a"), not(a.clone()));
    assert_eq!(q("-a"), not(a.clone()));
    assert_eq!(q("-level:debug"), not(fterm("level", "debug")));
    assert_eq!(q(r#"-"a b""#), not(phrase(None, "a b")));
    assert_eq!(q("NOT NOT a"), not(not(a.clone())));
    assert_eq!(q("--a"), not(not(a.clone())));
    assert_eq!(q("NOT(a)"), not(a.clone()));
    assert_eq!(q("a b c"), Query::And(vec![a.clone(), b.clone(), c.clone()]));
    assert_eq!(q("a OR b OR c"), Query::Or(vec![a.clone(), b.clone(), c.clone()]));
    assert_eq!(q("a-b"), term("a-b"));
}

#[test]
fn precedence_not_and_or() {
    let (a, b, c) = (term("a"), term("b"), term("c"));
    assert_eq!(
        q("a OR b AND c"),
        Query::Or(vec![a.clone(), Query::And(vec![b.clone(), c.clone()])])
    );
    assert_eq!(
        q("a b OR c"),
        Query::Or(vec![Query::And(vec![a.clone(), b.clone()]), c.clone()])
    );
    assert_eq!(q("NOT a AND b"), Query::And(vec![not(a.clone()), b.clone()]));
    assert_eq!(q("NOT a OR b"), Query::Or(vec![not(a.clone()), b.clone()]));
    assert_eq!(
        q("a AND b c AND NOT a"),
        Query::And(vec![a.clone(), b.clone(), c.clone(), not(a.clone())])
    );
}

#[test]
fn parentheses_keep_nesting() {
    let (a, b, c) = (term("a"), term("b"), term("c"));
    assert_eq!(
        q("(a OR b) c"),
        Query::And(vec![Query::Or(vec![a.clone(), b.clone()]), c.clone()])
    );
    assert_eq!(
        q("(a AND b) AND c"),
        Query::And(vec![Query::And(vec![a.clone(), b.clone()]), c.clone()])
    );
    assert_eq!(q("NOT (a OR b)"), not(Query::Or(vec![a.clone(), b.clone()])));
    assert_eq!(q("((a))"), a);
}

#[test]
fn field_groups_apply_the_field_inside() {
    assert_eq!(
        q("level:(error OR warn)"),
        Query::Or(vec![fterm("level", "error"), fterm("level", "warn")])
    );
    assert_eq!(
        q(r#"host:(web-* AND NOT "web 2" -web-3)"#),
        Query::And(vec![
            wildcard(Some("host"), "web-*"),
            not(phrase(Some("host"), "web 2")),
            not(fterm("host", "web-3")),
        ])
    );
    assert_eq!(
        q("status:(>=500 AND <600)"),
        Query::And(vec![
            range("status", Bound::Inclusive(num(500.0)), Bound::Unbounded),
            range("status", Bound::Unbounded, Bound::Exclusive(num(600.0))),
        ])
    );
    assert_eq!(
        q("code:(a:b (c OR d))"),
        Query::And(vec![
            fterm("code", "a:b"),
            Query::Or(vec![fterm("code", "c"), fterm("code", "d")]),
        ])
    );
    assert_eq!(
        q("message:(timeout OR \"reset by peer\")"),
        Query::Or(vec![term("timeout"), phrase(None, "reset by peer")])
    );
}

#[test]
fn numeric_ranges() {
    assert_eq!(
        q("status:[500 TO 599]"),
        range(
            "status",
            Bound::Inclusive(num(500.0)),
            Bound::Inclusive(num(599.0))
        )
    );
    assert_eq!(
        q("status:{500 TO 599}"),
        range(
            "status",
            Bound::Exclusive(num(500.0)),
            Bound::Exclusive(num(599.0))
        )
    );
    assert_eq!(
        q("d:[-1.5 TO 2e3}"),
        range("d", Bound::Inclusive(num(-1.5)), Bound::Exclusive(num(2000.0)))
    );
    assert_eq!(
        q("d:{* TO 5]"),
        range("d", Bound::Unbounded, Bound::Inclusive(num(5.0)))
    );
    assert_eq!(
        q("d:[ 1   TO   * ]"),
        range("d", Bound::Inclusive(num(1.0)), Bound::Unbounded)
    );
    assert_eq!(
        q(r#"d:["1" TO "2"]"#),
        range("d", Bound::Inclusive(num(1.0)), Bound::Inclusive(num(2.0)))
    );
    assert_eq!(
        q("revision:>=12"),
        range("revision", Bound::Inclusive(num(12.0)), Bound::Unbounded)
    );
    assert_eq!(
        q("d:>5"),
        range("d", Bound::Exclusive(num(5.0)), Bound::Unbounded)
    );
    assert_eq!(
        q("d:<5"),
        range("d", Bound::Unbounded, Bound::Exclusive(num(5.0)))
    );
    assert_eq!(
        q("d:<=-5"),
        range("d", Bound::Unbounded, Bound::Inclusive(num(-5.0)))
    );
}

#[test]
fn time_ranges() {
    let ts = "@timestamp";
    assert_eq!(
        q("@timestamp:[now-15m TO now]"),
        range(
            ts,
            Bound::Inclusive(time(NOW - 15 * 60_000)),
            Bound::Inclusive(time(NOW))
        )
    );
    assert_eq!(
        q("timestamp:>now-1h"),
        range(ts, Bound::Exclusive(time(NOW - 3_600_000)), Bound::Unbounded)
    );
    assert_eq!(
        q("@timestamp:>=now-2d"),
        range(ts, Bound::Inclusive(time(NOW - 2 * DAY)), Bound::Unbounded)
    );
    assert_eq!(
        q("@timestamp:[2026-11-25T07:00:00+07:00 TO *]"),
        range(ts, Bound::Inclusive(time(NOV_25)), Bound::Unbounded)
    );
    assert_eq!(
        q("@timestamp:<1795564800000"),
        range(ts, Bound::Unbounded, Bound::Exclusive(time(NOV_25)))
    );
}

#[test]
fn dates_cover_their_whole_day() {
    let ts = "@timestamp";
    let next = NOV_25 + DAY;
    assert_eq!(
        q("@timestamp:[2026-11-24 TO 2026-11-25]"),
        range(
            ts,
            Bound::Inclusive(time(NOV_25 - DAY)),
            Bound::Exclusive(time(next))
        )
    );
    assert_eq!(
        q("@timestamp:{2026-11-25 TO 2026-11-26}"),
        range(ts, Bound::Inclusive(time(next)), Bound::Exclusive(time(next)))
    );
    assert_eq!(
        q("@timestamp:>2026-11-25"),
        range(ts, Bound::Inclusive(time(next)), Bound::Unbounded)
    );
    assert_eq!(
        q("@timestamp:<=2026-11-25"),
        range(ts, Bound::Unbounded, Bound::Exclusive(time(next)))
    );
    assert_eq!(
        q("@timestamp:2026-11-25"),
        range(ts, Bound::Inclusive(time(NOV_25)), Bound::Exclusive(time(next)))
    );
    assert_eq!(
        q("@timestamp:2026-11-25T00:00:00Z"),
        range(ts, Bound::Inclusive(time(NOV_25)), Bound::Inclusive(time(NOV_25)))
    );
}

#[test]
fn error_missing_value() {
    assert_eq!(err("level:"), r#"column 7: expected a value after "level:""#);
    assert_eq!(err("a level: b"), r#"column 9: expected a value after "level:""#);
    assert_eq!(err("(level:)"), r#"column 8: expected a value after "level:""#);
    assert_eq!(
        err("status:>="),
        r#"column 10: expected a value after "status:>=""#
    );
    assert_eq!(
        err(":x"),
        r#"column 1: expected a field name before ":" (as in level:error); to search for ":", quote it"#
    );
}

#[test]
fn error_unclosed_quote_and_paren_point_at_the_opening() {
    assert_eq!(
        err(r#"a "bc"#),
        r#"column 3: unclosed quote: this phrase has no closing "; write \" for a quote inside it"#
    );
    assert_eq!(err(r#"host:"x\""#).split(':').next(), Some("column 6"));
    assert_eq!(
        err("a (b OR c"),
        r#"column 3: unclosed parenthesis: this "(" has no matching ")""#
    );
    assert!(err("((a) b").starts_with("column 1: unclosed parenthesis"));
    assert!(err("level:(a OR b").starts_with("column 7: unclosed parenthesis"));
    assert!(err("(").starts_with("column 1: unclosed parenthesis"));
    assert_eq!(
        err("a ) b"),
        r#"column 3: unexpected ")": there is no "(" before it to close"#
    );
    assert_eq!(err("()"), r#"column 1: expected a clause inside "( )""#);
    assert_eq!(
        err("level:()"),
        r#"column 7: expected a clause inside "level:( )""#
    );
}

#[test]
fn error_ranges() {
    assert_eq!(
        err("status:[1 5]"),
        "column 11: expected TO between the bounds of a range, as in [1 TO 5] or [now-1h TO now]"
    );
    assert!(err("status:[1 to 5]").starts_with("column 11: expected TO"));
    assert!(err("status:[1 TO 5").starts_with("column 8: unclosed range"));
    assert!(err("status:{1 TO").starts_with("column 8: unclosed range"));
    assert_eq!(
        err("status:[1 TO 5 6]"),
        r#"column 16: expected "]" or "}" to close the range opened at column 8"#
    );
    assert_eq!(
        err("status:[1 TO]"),
        "column 13: expected an upper bound (a value, or * for none)"
    );
    assert_eq!(
        err("status:[abc TO 5]"),
        r#"column 9: expected a number or * as a bound of a range on "status", found "abc""#
    );
    assert!(err("status:>now-1h").ends_with("(times are for @timestamp)"));
    assert_eq!(
        err("@timestamp:[yesterday TO now]"),
        r#"column 13: expected a time (2026-11-25T10:00:00Z, 2026-11-25, now, now-15m or epoch milliseconds), found "yesterday""#
    );
    assert!(err("@timestamp:>now-15x").starts_with("column 13: expected now, or now with offsets"));
    assert!(err("@timestamp:>2026-02-30").starts_with("column 13: expected a time"));
}

#[test]
fn error_range_on_text_fields() {
    assert_eq!(
        err("message:[a TO b]"),
        r#"column 9: "message" is full text and has no order, so it has no ranges: search for words in it, or use a range on a number field or @timestamp"#
    );
    assert!(err("level:>=warn").starts_with(r#"column 7: "level" is text, so it has no ranges"#));
    for field in ["app", "env", "host", "pod", "variant"] {
        let message = err(&format!("{field}:[1 TO 2]"));
        assert!(message.contains("is text, so it has no ranges"), "{message}");
    }
}

#[test]
fn error_operators_without_operands() {
    assert_eq!(
        err("a AND"),
        r#"column 6: expected a clause after "AND", found the end of the query"#
    );
    assert_eq!(
        err("a OR OR b"),
        r#"column 6: expected a clause after "OR", found "OR""#
    );
    assert_eq!(
        err("(a &&)"),
        r#"column 6: expected a clause after "&&", found ")""#
    );
    assert_eq!(
        err("AND a"),
        r#"column 1: expected a clause, found "AND": AND and OR go between two clauses"#
    );
    assert_eq!(
        err("NOT"),
        r#"column 4: expected a clause after "NOT", found the end of the query"#
    );
    assert!(err("a - b").starts_with(r#"column 3: expected a clause right after "-""#));
    assert!(err("a !").starts_with(r#"column 3: expected a clause right after "!""#));
}

#[test]
fn error_words_that_cannot_match() {
    assert!(err("a --- b").starts_with("column 5: expected a clause right after"));
    assert!(err("a ... b").starts_with(r#"column 3: the word "..." has no letters or digits"#));
    assert!(err(r#""!!""#).starts_with(r#"column 1: the phrase "!!" has no letters or digits"#));
    assert!(err("user-*").starts_with(r#"column 1: the message wildcard "user-*" contains '-'"#));
    assert!(err(r"a\*b*").contains("contains '*'"));
    assert!(
        err("status >= 500")
            .starts_with("column 8: a comparison needs a field, with no space: write it as status:>= or")
    );
    assert!(err("status >=500").starts_with("column 8: a comparison needs a field"));
    assert!(err("@timestamp:2026*").starts_with(r#"column 12: "@timestamp" is a time and has no wildcards"#));
    assert!(err("a\\").starts_with(r#"column 2: a "\" at the end escapes nothing"#));
}

#[test]
fn columns_count_characters_not_bytes() {
    assert_eq!(
        err("ünïcödé level:"),
        r#"column 15: expected a value after "level:""#
    );
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let deep = format!("{}a{}", "(".repeat(5000), ")".repeat(5000));
    assert!(err(&deep).contains("too deeply nested"));
    let nots = format!("{}a", "NOT ".repeat(5000));
    assert!(err(&nots).contains("too deeply nested"));
    let ok = format!("{}a{}", "(".repeat(50), ")".repeat(50));
    assert_eq!(q(&ok), term("a"));
}

#[test]
fn parse_uses_the_clock_for_relative_times() {
    let Ok(Query::Range {
        lower: Bound::Exclusive(RangeValue::Time(ms)),
        ..
    }) = ojek_logs::parse("@timestamp:>now-15m")
    else {
        panic!("a time range")
    };
    assert!(ms > NOV_25 - 10 * 365 * DAY, "a recent time: {ms}");
}

/// Found by the round-trip property: a level that normalises to nothing prints as `""` and
/// must parse back to the same tree.
#[test]
fn an_empty_level_value_prints_back_to_itself() {
    let parsed = ojek_logs::parse("level:\\ ").expect("parses");
    let printed = parsed.to_string();
    assert_eq!(
        ojek_logs::parse(&printed).expect("parses back"),
        parsed,
        "{printed}"
    );
}
