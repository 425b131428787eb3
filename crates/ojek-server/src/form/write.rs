//! Writing YAML text for JSON values: scalars (plain when safe, else quoted), flow
//! collections, indented blocks, and the fallbacks that use the platform's YAML writer (one
//! top-level entry, or the whole document).
//!
//! Produces new text only; splicing it into the user's text is [`super::edit`]'s job.

use serde_json::{Map, Value as Json};

use super::compare::reads_as;
use super::source::Source;

/// Words YAML 1.1 readers (editors, other tools) take for booleans.
fn is_yaml11_bool(s: &str) -> bool {
    ["y", "n", "yes", "no", "on", "off"]
        .iter()
        .any(|w| s.eq_ignore_ascii_case(w))
}

/// Whether `s` can be written as a plain scalar, as a key or a value, in flow (`{…}`, `[…]`)
/// or block context, and read back as the same string by any YAML reader.
fn plain_ok(s: &str, flow: bool) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let second = s.chars().nth(1);
    let dash_word = first == '-' && second.is_some_and(|c| !c.is_whitespace()); // `--flag`
    if !(first.is_alphanumeric() || dash_word || matches!(first, '/' | '_' | '$' | '.'))
        || s.ends_with([' ', ':'])
    {
        return false;
    }
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '#' | '\u{feff}' | '\u{2028}' | '\u{2029}')
            || (flow && matches!(c, ',' | '[' | ']' | '{' | '}'))
    };
    if s.chars().any(unsafe_char) || s.contains(": ") || is_yaml11_bool(s) {
        return false;
    }
    // Numbers, dates and times in YAML 1.1 (`1_000`, `12:30`, `2024-01-01`) start with a digit.
    let numeric = first.is_ascii_digit()
        || first == '.'
        || (first == '-' && second.is_some_and(|c| c.is_ascii_digit()));
    if numeric && !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '.') {
        return false;
    }
    let text = Json::String(s.to_string());
    if flow {
        let mut m = Map::new();
        m.insert(s.to_string(), text.clone());
        reads_as(
            &format!("[{s}, {{{s}: {s}}}]"),
            &Json::Array(vec![text, Json::Object(m)]),
        )
    } else {
        let mut m = Map::new();
        m.insert(s.to_string(), text);
        reads_as(&format!("{s}: {s}"), &Json::Object(m))
    }
}

/// A scalar on one line. Collections are written in flow style.
pub(super) fn scalar_text(v: &Json, flow: bool) -> String {
    match v {
        Json::Null => "null".into(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => n.to_string(),
        Json::String(s) if plain_ok(s, flow) => s.clone(),
        Json::String(s) => ojek_output::yaml::quote(s),
        other => flow_text(other),
    }
}

/// A value in flow style, on one line.
pub(super) fn flow_text(v: &Json) -> String {
    match v {
        Json::Object(m) => {
            let items: Vec<String> = m
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}: {}",
                        scalar_text(&Json::String(k.clone()), true),
                        flow_text(v)
                    )
                })
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        Json::Array(a) => {
            let items: Vec<String> = a.iter().map(flow_text).collect();
            format!("[{}]", items.join(", "))
        }
        scalar => scalar_text(scalar, true),
    }
}

pub(super) fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// A literal block keeps the text exactly when it has no control characters but newlines and
/// tabs, no trailing blanks on lines, and does not start with a blank.
fn block_safe(s: &str) -> bool {
    s.contains('\n')
        && !s.starts_with([' ', '\t', '\n'])
        && s.chars().all(|c| {
            c == '\n' || c == '\t' || !(c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}'))
        })
        && s.split('\n').all(|l| !l.ends_with([' ', '\t']))
}

/// A scalar after `key: ` or `- `, as a literal block (lines at `indent`) when multi-line.
fn push_scalar(out: &mut String, v: &Json, indent: usize) {
    match v {
        Json::String(s) if block_safe(s) => {
            let chomp = if !s.ends_with('\n') {
                "-"
            } else if s.ends_with("\n\n") {
                "+"
            } else {
                ""
            };
            out.push('|');
            out.push_str(chomp);
            for line in s.strip_suffix('\n').unwrap_or(s).split('\n') {
                out.push('\n');
                if !line.is_empty() {
                    pad(out, indent);
                    out.push_str(line);
                }
            }
        }
        other => out.push_str(&scalar_text(other, false)),
    }
}

/// Whether a list reads well on one line: short, and scalars only.
fn flow_list_ok(items: &[Json]) -> bool {
    items
        .iter()
        .all(|v| !matches!(v, Json::Object(_) | Json::Array(_)))
        && flow_text(&Json::Array(items.to_vec())).len() <= 72
}

/// Appends `key: value` and a newline. The caller has placed the first line; further lines
/// are indented relative to `indent`, the key's column.
pub(super) fn push_entry(out: &mut String, key: &str, v: &Json, indent: usize) {
    out.push_str(&scalar_text(&Json::String(key.to_string()), false));
    out.push(':');
    match v {
        Json::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                out.push('\n');
                pad(out, indent + 2);
                push_entry_body(out, k, v, indent + 2);
            }
        }
        Json::Array(a) if !a.is_empty() && !flow_list_ok(a) => {
            for item in a {
                out.push('\n');
                pad(out, indent + 2);
                out.push_str("- ");
                push_item_body(out, item, indent + 4);
            }
        }
        other => {
            out.push(' ');
            push_scalar(out, other, indent + 2);
        }
    }
    out.push('\n');
}

/// [`push_entry`] without the final newline (for nesting).
fn push_entry_body(out: &mut String, key: &str, v: &Json, indent: usize) {
    push_entry(out, key, v, indent);
    out.pop();
}

/// Appends a list item's value (after `- `, at column `indent`), without a final newline.
pub(super) fn push_item_body(out: &mut String, v: &Json, indent: usize) {
    match v {
        Json::Object(m) if !m.is_empty() => {
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                    pad(out, indent);
                }
                push_entry_body(out, k, v, indent);
            }
        }
        Json::Array(a) if !a.is_empty() && !flow_list_ok(a) => {
            for (i, item) in a.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                    pad(out, indent);
                }
                out.push_str("- ");
                push_item_body(out, item, indent + 2);
            }
        }
        Json::Array(_) => out.push_str(&flow_text(v)),
        other => push_scalar(out, other, indent),
    }
}

/// `key: value` written by the platform's YAML writer (the section-level fallback), with
/// lines after the first indented by `indent`.
pub(super) fn to_yaml_entry(key: &str, v: &Json, indent: usize) -> String {
    let mut m = Map::new();
    m.insert(key.to_string(), v.clone());
    let text = ojek_output::yaml::to_yaml(&Json::Object(m));
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.lines().enumerate() {
        if i > 0 && !line.is_empty() {
            pad(&mut out, indent);
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The last resort: the whole document from the desired JSON, after the leading comments.
pub(super) fn regenerate_document(src: &Source<'_>, desired: &Json) -> String {
    let mut out = String::new();
    for i in 0..src.line_count() {
        let line = src.line(i);
        if !(line.trim().is_empty() || line.starts_with('#')) {
            break;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&ojek_output::yaml::to_yaml(desired));
    out
}
