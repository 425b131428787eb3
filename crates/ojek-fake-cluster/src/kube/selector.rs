//! Label and field selectors of LIST requests (`labelSelector`, `fieldSelector`).
//!
//! Labels: `key`, `!key`, `key=v`, `key==v`, `key!=v`, `key in (a,b)`, `key notin (a,b)`, joined
//! by commas; as on a real server, `!=` and `notin` also match objects without the label.
//! Fields: `path=v`, `path==v`, `path!=v` where `path` is a dotted path into the object
//! (`metadata.name`, `involvedObject.name`, `status.phase`); real servers allow only a few
//! paths per kind, the fake allows any.

use serde_json::Value;

/// One requirement of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Exists(String),
    NotExists(String),
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

/// A parsed label selector; matches everything when empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LabelSelector(Vec<Requirement>);

/// A parsed field selector; matches everything when empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldSelector(Vec<Requirement>);

/// Splits on commas outside parentheses.
fn split_terms(s: &str) -> Vec<&str> {
    let mut terms = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                terms.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    terms.push(&s[start..]);
    terms
        .into_iter()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect()
}

fn valid_key(k: &str) -> bool {
    !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
}

fn set_values(rest: &str) -> Option<Vec<String>> {
    let inner = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
    Some(
        inner
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect(),
    )
}

fn parse_term(term: &str, allow_sets: bool) -> Result<Requirement, String> {
    let bad = || format!("unable to parse requirement: {term:?}");
    if let Some(key) = term.strip_prefix('!') {
        let key = key.trim();
        return if allow_sets && valid_key(key) {
            Ok(Requirement::NotExists(key.into()))
        } else {
            Err(bad())
        };
    }
    for (op, neg) in [("!=", true), ("==", false), ("=", false)] {
        if let Some((k, v)) = term.split_once(op) {
            let (k, v) = (k.trim(), v.trim());
            if !valid_key(k) {
                return Err(bad());
            }
            return Ok(if neg {
                Requirement::NotEquals(k.into(), v.into())
            } else {
                Requirement::Equals(k.into(), v.into())
            });
        }
    }
    if allow_sets {
        let mut words = term.splitn(2, char::is_whitespace);
        let key = words.next().unwrap_or_default().trim();
        let rest = words.next().unwrap_or_default().trim();
        if let Some(values) = rest.strip_prefix("notin").and_then(set_values) {
            return Ok(Requirement::NotIn(key.into(), values));
        }
        if let Some(values) = rest.strip_prefix("in").and_then(set_values) {
            return Ok(Requirement::In(key.into(), values));
        }
        if rest.is_empty() && valid_key(key) {
            return Ok(Requirement::Exists(key.into()));
        }
    }
    Err(bad())
}

impl LabelSelector {
    /// Parses a `labelSelector` query value.
    pub fn parse(s: &str) -> Result<Self, String> {
        split_terms(s)
            .into_iter()
            .map(|t| parse_term(t, true))
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Whether `obj`'s labels satisfy every requirement.
    pub fn matches(&self, obj: &Value) -> bool {
        let labels = obj.pointer("/metadata/labels");
        let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            Requirement::Exists(k) => label(k).is_some(),
            Requirement::NotExists(k) => label(k).is_none(),
            Requirement::Equals(k, v) => label(k) == Some(v.as_str()),
            Requirement::NotEquals(k, v) => label(k) != Some(v.as_str()),
            Requirement::In(k, vs) => label(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            Requirement::NotIn(k, vs) => label(k).is_none_or(|l| vs.iter().all(|v| v != l)),
        })
    }
}

impl FieldSelector {
    /// Parses a `fieldSelector` query value.
    pub fn parse(s: &str) -> Result<Self, String> {
        split_terms(s)
            .into_iter()
            .map(|t| parse_term(t, false))
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Whether `obj` satisfies every requirement (a missing field compares as "").
    pub fn matches(&self, obj: &Value) -> bool {
        let field = |path: &str| {
            let pointer = format!("/{}", path.replace('.', "/"));
            match obj.pointer(&pointer) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            }
        };
        self.0.iter().all(|r| match r {
            Requirement::Equals(k, v) => field(k) == *v,
            Requirement::NotEquals(k, v) => field(k) != *v,
            _ => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn obj(labels: Value) -> Value {
        json!({"metadata": {"name": "a", "labels": labels}, "status": {"phase": "Running"}})
    }

    #[test]
    fn every_operator_matches_like_a_real_server() {
        let web = obj(json!({"app": "web", "tier": "front"}));
        let db = obj(json!({"app": "db"}));
        let cases = [
            ("app=web", true, false),
            ("app==web", true, false),
            ("app!=web", false, true),
            ("tier!=front", false, true),
            ("app in (web, api)", true, false),
            ("app notin (web)", false, true),
            ("tier notin (back)", true, true),
            ("tier", true, false),
            ("!tier", false, true),
            ("app=web,tier=front", true, false),
            ("app in (web,db),!tier", false, true),
            ("", true, true),
        ];
        for (sel, on_web, on_db) in cases {
            let s = LabelSelector::parse(sel).expect(sel);
            assert_eq!((s.matches(&web), s.matches(&db)), (on_web, on_db), "{sel}");
        }
    }

    #[test]
    fn malformed_selectors_are_errors() {
        for bad in ["app in web", "=x", "a b c", "!"] {
            assert!(LabelSelector::parse(bad).is_err(), "{bad}");
        }
        assert!(FieldSelector::parse("metadata.name").is_err());
    }

    #[test]
    fn field_selector_reads_dotted_paths() {
        let o = obj(json!({}));
        assert!(
            FieldSelector::parse("metadata.name=a,status.phase!=Failed")
                .expect("parse")
                .matches(&o)
        );
        assert!(
            !FieldSelector::parse("metadata.name=b")
                .expect("parse")
                .matches(&o)
        );
    }
}
