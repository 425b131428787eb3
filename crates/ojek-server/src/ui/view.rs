//! Pieces shared by several pages: times, code blocks with line numbers, unified diffs,
//! problem lists.

use maud::{Markup, html};
use serde::Deserialize;

use crate::auth::now_ms;

/// A Unix-ms time as `2025-06-01 14:03 UTC`.
pub fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// The same time in ISO 8601 (for `<time datetime>`).
fn iso(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 as a (year, month, day) of the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// How long ago a time was, in words (`just now`, `5 min ago`, `3 days ago`).
pub fn ago(ms: i64, now: i64) -> String {
    let s = (now - ms).max(0) / 1000;
    match s {
        0..=44 => "just now".into(),
        45..=5399 => format!("{} min ago", (s + 30) / 60),
        5400..=86_399 => format!("{} h ago", (s + 1800) / 3600),
        86_400..=2_591_999 => {
            let d = (s + 43_200) / 86_400;
            if d == 1 {
                "yesterday".into()
            } else {
                format!("{d} days ago")
            }
        }
        _ => utc(ms)[..10].to_string(),
    }
}

/// A `<time>` showing how long ago, with the exact time as its title.
pub fn time_ago(ms: i64) -> Markup {
    html! { time datetime=(iso(ms)) title=(utc(ms)) { (ago(ms, now_ms())) } }
}

/// A read-only code block with line numbers (CSS counters, so copying leaves them out).
pub fn code_block(id: Option<&str>, text: &str) -> Markup {
    html! {
        pre.code.numbered id=[id] tabindex="0" {
            code { @for line in text.lines() { span.line { (line) "\n" } } }
        }
    }
}

/// One line of a parsed unified diff.
#[derive(Debug, PartialEq, Eq)]
enum DiffLine<'a> {
    /// `--- a` / `+++ b` file header.
    File(&'a str),
    /// `@@ -1,3 +1,4 @@`.
    Hunk(&'a str),
    /// Unchanged, with old and new line numbers.
    Context(u32, u32, &'a str),
    /// Removed, with its old line number.
    Removed(u32, &'a str),
    /// Added, with its new line number.
    Added(u32, &'a str),
    /// `\ No newline at end of file` and anything else.
    Note(&'a str),
}

/// Parses the unified diff `similar` writes (several files one after the other).
fn parse_diff(diff: &str) -> Vec<DiffLine<'_>> {
    let (mut old, mut new) = (0u32, 0u32);
    let mut out = Vec::new();
    for line in diff.lines() {
        if let Some(rest) = line.strip_prefix("@@") {
            // `@@ -a,b +c,d @@`
            let mut nums = rest.split_whitespace();
            let start = |s: Option<&str>| {
                s.and_then(|s| s.get(1..))
                    .and_then(|s| s.split(',').next())
                    .and_then(|n| n.parse::<u32>().ok())
                    .unwrap_or(1)
            };
            old = start(nums.next());
            new = start(nums.next());
            out.push(DiffLine::Hunk(line));
        } else if line.starts_with("--- ") || line.starts_with("+++ ") {
            out.push(DiffLine::File(line));
        } else if let Some(t) = line.strip_prefix('+') {
            out.push(DiffLine::Added(new, t));
            new += 1;
        } else if let Some(t) = line.strip_prefix('-') {
            out.push(DiffLine::Removed(old, t));
            old += 1;
        } else if let Some(t) = line.strip_prefix(' ') {
            out.push(DiffLine::Context(old, new, t));
            old += 1;
            new += 1;
        } else if line.is_empty() {
            out.push(DiffLine::Context(old, new, ""));
            old += 1;
            new += 1;
        } else {
            out.push(DiffLine::Note(line));
        }
    }
    out
}

/// A unified diff as a table: old and new line numbers, then the line, coloured by kind.
pub fn diff_view(diff: &str) -> Markup {
    if diff.trim().is_empty() {
        return html! { p.muted.diff-empty { "No differences." } };
    }
    let lines = parse_diff(diff);
    let added = lines.iter().filter(|l| matches!(l, DiffLine::Added(..))).count();
    let removed = lines
        .iter()
        .filter(|l| matches!(l, DiffLine::Removed(..)))
        .count();
    html! {
        div.diff-wrap {
            p.diff-stats { span.add-count { "+" (added) } " " span.del-count { "−" (removed) } " lines" }
            table.diff {
                @for l in &lines {
                    @match l {
                        DiffLine::File(t) => tr.diff-file { td.num {} td.num {} td.text { (t) } },
                        DiffLine::Hunk(t) => tr.diff-hunk { td.num { "…" } td.num { "…" } td.text { (t) } },
                        DiffLine::Context(o, n, t) => tr.diff-ctx {
                            td.num { (o) } td.num { (n) } td.text { span.sign aria-hidden="true" { " " } (t) }
                        },
                        DiffLine::Removed(o, t) => tr.diff-del {
                            td.num { (o) } td.num {} td.text { span.sign { "-" } (t) }
                        },
                        DiffLine::Added(n, t) => tr.diff-add {
                            td.num {} td.num { (n) } td.text { span.sign { "+" } (t) }
                        },
                        DiffLine::Note(t) => tr.diff-note { td.num {} td.num {} td.text { (t) } },
                    }
                }
            }
        }
    }
}

/// A diagnostic as the API reports it (`error::diagnostics_json`).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Problem {
    /// `error` or `warning`.
    #[serde(default)]
    pub severity: String,
    /// File name (`app.yaml`).
    #[serde(default)]
    pub file: Option<String>,
    /// Line, from 1.
    #[serde(default)]
    pub line: Option<u32>,
    /// Column, from 1.
    #[serde(default)]
    pub column: Option<u32>,
    /// Field path.
    #[serde(default)]
    pub path: Option<String>,
    /// What is wrong.
    #[serde(default)]
    pub message: String,
    /// What to do.
    #[serde(default)]
    pub hint: Option<String>,
}

/// Problems from a diagnostics JSON array (anything else gives none).
pub fn problems_from(v: Option<&serde_json::Value>) -> Vec<Problem> {
    v.and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

/// The problems list: severity, `line:column`, path, message, hint. The script re-renders it
/// with the same markup on every preview; `data-line` lets a click move the cursor there.
pub fn problems_list(problems: &[Problem]) -> Markup {
    html! {
        @for p in problems {
            li.problem.(if p.severity == "error" { "error" } else { "warning" }) data-line=[p.line] {
                button.problem-go type="button" {
                    span.sev { (p.severity) }
                    span.loc {
                        @if let Some(l) = p.line { (l) ":" (p.column.unwrap_or(1)) } @else { "—" }
                    }
                    @if let Some(f) = p.file.as_deref().filter(|f| *f != crate::api::render::MANIFEST_FILE) { span.file { (f) } }
                    @if let Some(path) = &p.path { code.path { (path) } }
                    span.msg { (p.message) }
                    @if let Some(h) = &p.hint { span.hint { (h) } }
                }
            }
        }
    }
}

/// Previous / next links of a list shown page by page.
pub fn pager(prev: Option<String>, next: Option<String>, summary: &str) -> Markup {
    html! {
        nav.pager aria-label="Pages" {
            span.pager-summary { (summary) }
            @if let Some(href) = prev { a.btn.small href=(href) rel="prev" { "← Previous" } }
            @if let Some(href) = next { a.btn.small href=(href) rel="next" { "Next →" } }
        }
    }
}

/// A query string from pairs, leaving out empty values.
pub fn query(pairs: &[(&str, String)]) -> String {
    let kept: Vec<(&str, &str)> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    let q = serde_urlencoded::to_string(kept).unwrap_or_default();
    if q.is_empty() { q } else { format!("?{q}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_known_times() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00 UTC");
        assert_eq!(utc(1_748_786_580_000), "2025-06-01 14:03 UTC");
        assert_eq!(iso(1_748_786_580_000), "2025-06-01T14:03:00Z");
    }

    #[test]
    fn ago_in_words() {
        let now = 1_748_786_580_000;
        assert_eq!(ago(now - 3_000, now), "just now");
        assert_eq!(ago(now - 5 * 60_000, now), "5 min ago");
        assert_eq!(ago(now - 3 * 3_600_000, now), "3 h ago");
        assert_eq!(ago(now - 86_400_000, now), "yesterday");
        assert_eq!(ago(now - 40 * 86_400_000, now), "2025-04-22");
    }

    #[test]
    fn diff_lines_are_numbered() {
        let d = "--- a\n+++ b\n@@ -2,3 +2,3 @@\n x\n-y\n+z\n w\n";
        let lines = parse_diff(d);
        assert_eq!(lines[3], DiffLine::Context(2, 2, "x"));
        assert_eq!(lines[4], DiffLine::Removed(3, "y"));
        assert_eq!(lines[5], DiffLine::Added(3, "z"));
        assert_eq!(lines[6], DiffLine::Context(4, 4, "w"));
        let html = diff_view(d).into_string();
        assert!(html.contains("diff-add") && html.contains("diff-del"));
    }

    #[test]
    fn query_leaves_out_empty_values() {
        assert_eq!(query(&[("q", "a b".into()), ("team", String::new())]), "?q=a+b");
        assert_eq!(query(&[("q", String::new())]), "");
    }
}
