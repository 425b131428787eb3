//! A small, deterministic YAML writer for JSON values.
//!
//! Written here rather than taken from a YAML crate for two reasons: the output must be
//! byte-stable across releases (golden files), and the web UI needs to know which output line
//! holds which field (for click-to-explain), which [`to_yaml_with_lines`] returns.
//!
//! Strings are written plain only when no YAML 1.1 or 1.2 reader could take them for anything
//! else; multi-line strings become literal blocks; everything else is double-quoted.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::doc::escape;

/// YAML text of `value`.
pub fn to_yaml(value: &Value) -> String {
    write(value, false, None).0
}

/// YAML text of `value` with the scalars at the given JSON pointers replaced by verbatim
/// text (Helm template expressions such as `{{ .Values.web.replicas }}`). Verbatim text is
/// chosen by pointer, never by content, so no manifest value can inject raw text.
pub fn to_yaml_with_raw(value: &Value, raw: &BTreeMap<String, String>) -> String {
    write(value, false, Some(raw)).0
}

/// YAML text of `value`, and for each output line (from 0) the JSON pointer of the field that
/// starts on it.
pub fn to_yaml_with_lines(value: &Value) -> (String, Vec<String>) {
    write(value, true, None)
}

fn write(value: &Value, track: bool, raw: Option<&BTreeMap<String, String>>) -> (String, Vec<String>) {
    let mut w = Writer {
        out: String::with_capacity(4096),
        lines: Vec::new(),
        track,
        raw,
    };
    match value {
        Value::Object(m) if !m.is_empty() => w.map(m, 0, ""),
        Value::Array(a) if !a.is_empty() => w.seq(a, 0, ""),
        // A document that is a single multi-line string is quoted: a literal block at
        // indent 0 could contain `---` or `...` lines, which end a document.
        Value::String(s) => {
            w.line("");
            w.out
                .push_str(&if is_plain_safe(s) { s.clone() } else { quote(s) });
            w.out.push('\n');
        }
        other => {
            w.line("");
            w.scalar(other, 0);
            w.out.push('\n');
        }
    }
    (w.out, w.lines)
}

/// Several documents separated by `---`.
pub fn to_yaml_stream<'a>(values: impl IntoIterator<Item = &'a Value>) -> String {
    let mut out = String::new();
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&to_yaml(v));
    }
    out
}

struct Writer<'a> {
    out: String,
    lines: Vec<String>,
    /// Whether to record the pointer of each line (costs an allocation per field).
    track: bool,
    /// Verbatim text for some scalars, by pointer.
    raw: Option<&'a BTreeMap<String, String>>,
}

impl Writer<'_> {
    fn line(&mut self, pointer: &str) {
        if self.track {
            self.lines.push(pointer.to_string());
        }
    }

    fn child(&self, ptr: &str, key: &str) -> String {
        if self.track || self.raw.is_some() {
            format!("{ptr}/{}", escape(key))
        } else {
            String::new()
        }
    }

    fn indent(&mut self, n: usize) {
        const SPACES: &str = "                                                                ";
        let mut n = n;
        while n > 0 {
            let k = n.min(SPACES.len());
            self.out.push_str(&SPACES[..k]);
            n -= k;
        }
    }

    fn map(&mut self, m: &serde_json::Map<String, Value>, indent: usize, ptr: &str) {
        let mut first = true;
        for (k, v) in m {
            let child = self.child(ptr, k);
            if !first {
                self.indent(indent);
            }
            first = false;
            self.line(&child);
            if is_plain_safe(k) {
                self.out.push_str(k);
            } else {
                self.out.push_str(&quote(k));
            }
            self.out.push(':');
            self.value_after_key(v, indent, &child);
        }
    }

    fn seq(&mut self, a: &[Value], indent: usize, ptr: &str) {
        let mut first = true;
        for (i, v) in a.iter().enumerate() {
            let child = if self.track || self.raw.is_some() {
                format!("{ptr}/{i}")
            } else {
                String::new()
            };
            if !first {
                self.indent(indent);
            }
            first = false;
            self.out.push_str("- ");
            match v {
                Value::Object(m) if !m.is_empty() => self.map(m, indent + 2, &child),
                // The inner list's first item shares this line and records it.
                Value::Array(inner) if !inner.is_empty() => self.seq(inner, indent + 2, &child),
                other => {
                    self.line(&child);
                    self.scalar_at(other, indent + 2, &child);
                    self.out.push('\n');
                }
            }
        }
    }

    fn value_after_key(&mut self, v: &Value, indent: usize, ptr: &str) {
        match v {
            Value::Object(m) if !m.is_empty() => {
                self.out.push('\n');
                self.indent(indent + 2);
                self.map(m, indent + 2, ptr);
            }
            Value::Array(a) if !a.is_empty() => {
                self.out.push('\n');
                self.indent(indent + 2);
                self.seq(a, indent + 2, ptr);
            }
            other => {
                self.out.push(' ');
                self.scalar_at(other, indent + 2, ptr);
                self.out.push('\n');
            }
        }
    }

    fn scalar_at(&mut self, v: &Value, indent: usize, ptr: &str) {
        match self.raw.and_then(|r| r.get(ptr)) {
            Some(text) => self.out.push_str(text),
            None => self.scalar(v, indent),
        }
    }

    fn scalar(&mut self, v: &Value, indent: usize) {
        match v {
            Value::Null => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => {
                use std::fmt::Write;
                let _ = write!(self.out, "{n}");
            }
            Value::String(s) => self.string(s, indent),
            Value::Object(_) => self.out.push_str("{}"),
            Value::Array(_) => self.out.push_str("[]"),
        }
    }

    fn string(&mut self, s: &str, indent: usize) {
        if is_plain_safe(s) {
            self.out.push_str(s);
        } else if block_safe(s) {
            let chomp = if !s.ends_with('\n') {
                "-"
            } else if s.ends_with("\n\n") {
                "+"
            } else {
                ""
            };
            self.out.push('|');
            self.out.push_str(chomp);
            let body = s.strip_suffix('\n').unwrap_or(s);
            for line in body.split('\n') {
                self.out.push('\n');
                if self.track {
                    self.lines.push(String::new());
                }
                if !line.is_empty() {
                    self.indent(indent);
                    self.out.push_str(line);
                }
            }
        } else {
            self.out.push_str(&quote(s));
        }
    }
}

/// Double-quoted YAML string. Escapes what JSON escapes plus what YAML readers treat
/// specially: DEL and C1 controls, NEL, the line and paragraph separators and the BOM.
pub fn quote(s: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Characters a YAML reader may not keep as they are inside a scalar.
fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
}

/// Words a YAML 1.1 or 1.2 reader takes for something other than a string. Only those that
/// can pass the first-character check of [`is_plain_safe`] (a letter) are listed.
fn is_reserved(s: &str) -> bool {
    let is = |w: &str| s.eq_ignore_ascii_case(w);
    match s.len() {
        1 => is("y") || is("n"),
        2 => is("no") || is("on"),
        3 => is("yes") || is("off") || is("nan"),
        4 => is("null") || is("true"),
        5 => is("false"),
        _ => false,
    }
}

/// Bytes a plain scalar may contain (ASCII letters, digits and a few punctuation marks).
static PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b' ' | b'_'
                    | b'.'
                    | b'/'
                    | b':'
                    | b'@'
                    | b'='
                    | b'+'
                    | b'-'
                    | b'('
                    | b')'
                    | b'$'
                    | b';'
                    | b'<'
                    | b'>'
                    | b'^'
            );
        b += 1;
    }
    t
};

fn is_plain_safe(s: &str) -> bool {
    let bytes = s.as_bytes();
    let Some(&first) = bytes.first() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == b'/' || first == b'_') {
        return false;
    }
    if is_reserved(s) {
        return false;
    }
    let last = bytes[bytes.len() - 1];
    if last == b' ' || last == b':' {
        return false;
    }
    // One pass: allowed characters only (no `#`, so no comment), and no `: ` (a mapping).
    let mut prev = 0u8;
    for &b in bytes {
        if !PLAIN[b as usize] || (prev == b':' && b == b' ') {
            return false;
        }
        prev = b;
    }
    true
}

/// A literal block keeps the text exactly when it has no control characters but newlines and
/// tabs, no trailing spaces on lines, and its first line does not start with a space.
fn block_safe(s: &str) -> bool {
    s.contains('\n')
        && !s.starts_with([' ', '\n'])
        && !s.starts_with('\t')
        && s.chars().all(|c| c == '\n' || c == '\t' || !needs_escape(c))
        && s.split('\n').all(|l| !l.ends_with([' ', '\t']))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn parse_back(text: &str) -> Value {
        let docs = yaml_rust2::YamlLoader::load_from_str(text).expect("valid YAML");
        fn conv(y: &yaml_rust2::Yaml) -> Value {
            use yaml_rust2::Yaml;
            match y {
                Yaml::Real(r) => json!(r.parse::<f64>().expect("float")),
                Yaml::Integer(i) => json!(i),
                Yaml::String(s) => json!(s),
                Yaml::Boolean(b) => json!(b),
                Yaml::Array(a) => Value::Array(a.iter().map(conv).collect()),
                Yaml::Hash(h) => Value::Object(
                    h.iter()
                        .map(|(k, v)| (k.as_str().expect("string key").to_string(), conv(v)))
                        .collect(),
                ),
                Yaml::Null => Value::Null,
                other => panic!("unexpected {other:?}"),
            }
        }
        conv(&docs[0])
    }

    #[test]
    fn kubernetes_style_output() {
        let v = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "x", "labels": {"app.kubernetes.io/name": "x"}},
            "data": {"config.toml": "a = 1\nb = \"two\"\n", "port": "8080", "flag": "yes"},
            "list": [{"name": "a", "value": "1"}, "plain", [], {}],
        });
        let text = to_yaml(&v);
        assert_eq!(
            text,
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels:\n    app.kubernetes.io/name: x\ndata:\n  config.toml: |\n    a = 1\n    b = \"two\"\n  port: \"8080\"\n  flag: \"yes\"\nlist:\n  - name: a\n    value: \"1\"\n  - plain\n  - []\n  - {}\n"
        );
        assert_eq!(parse_back(&text), v);
    }

    #[test]
    fn line_map_stays_in_step_with_nested_lists_and_blocks() {
        let v = json!({"a": [[1, 2], [3]], "t": "x\ny\n", "b": 1});
        let (text, lines) = to_yaml_with_lines(&v);
        assert_eq!(text.lines().count(), lines.len(), "{text}");
        let b_line = text.lines().position(|l| l.starts_with("b:")).expect("b");
        assert_eq!(lines[b_line], "/b");
    }

    #[test]
    fn characters_yaml_readers_change_are_escaped() {
        let v = json!({"k": "a\u{7f}b\u{85}c\u{2028}d\u{feff}"});
        let text = to_yaml(&v);
        assert!(
            text.contains("\\u007f") && text.contains("\\u0085") && text.contains("\\u2028"),
            "{text}"
        );
        assert_eq!(parse_back(&text), v);
    }

    #[test]
    fn line_map_points_at_fields() {
        let v = json!({"a": {"b": 1, "c": ["x", {"d": 2}]}});
        let (text, lines) = to_yaml_with_lines(&v);
        let printed: Vec<&str> = text.lines().collect();
        assert_eq!(printed.len(), lines.len());
        assert_eq!(lines[1], "/a/b");
        assert_eq!(lines[4], "/a/c/1/d");
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|i| json!(i)),
            "\\PC{0,12}".prop_map(Value::String),
            "[ -~\n\t]{0,30}".prop_map(Value::String),
            "[\u{0}-\u{a0}\u{2028}\u{2029}\u{feff}a-z\n]{0,16}".prop_map(Value::String),
            prop_oneof![
                Just("yes"),
                Just("1.5"),
                Just("0x1F"),
                Just("- a"),
                Just("a: b"),
                Just("#x"),
                Just(" x"),
                Just("@y"),
                Just("1e3"),
                Just("~")
            ]
            .prop_map(|s| Value::String(s.to_string())),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map("[a-zA-Z0-9_./ -]{1,10}", inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn round_trips_through_a_yaml_parser(v in arb_json()) {
            let text = to_yaml(&v);
            prop_assert_eq!(parse_back(&text), v, "{}", text);
        }
    }
}
