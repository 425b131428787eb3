//! Whether a record matches a query: used by live tail, and the reference the index's answers
//! are tested against. The semantics are specified in `docs/logs-query.md`; each rule here is
//! one the index reproduces.

use std::cell::OnceCell;
use std::cmp::Ordering;

use serde_json::{Number, Value};

use super::{Bound, Query, RangeValue};
use crate::normalise::normalise_level;
use crate::record::{FieldKind, FieldValue, Record};
use crate::time::{is_integer, parse_number};
use crate::tokens::{lowercase, positioned_tokens};

/// Whether `record` matches `query`.
///
/// ```
/// use ojek_logs::{Record, evaluate, parse};
/// let line = serde_json::json!({"msg": "GET /users/42 timed out", "level": "ERROR", "status": "504"});
/// let serde_json::Value::Object(line) = line else { unreachable!() };
/// let record = Record::from_json(line, "shop", "production", 0);
/// let matches = |q: &str| evaluate(&parse(q).expect("valid"), &record);
/// assert!(matches("\"timed out\" level:error status:>=500"));
/// assert!(matches("users-42 AND NOT pod:*"));
/// assert!(!matches("time"));
/// assert!(matches("time*"));
/// ```
pub fn evaluate(query: &Query, record: &Record) -> bool {
    Evaluator {
        record,
        message_tokens: OnceCell::new(),
    }
    .matches(query)
}

struct Evaluator<'a> {
    record: &'a Record,
    /// The message's tokens, cut once per record.
    message_tokens: OnceCell<Vec<(usize, String)>>,
}

/// One value of a field, as compared.
#[derive(Debug, Clone, Copy)]
enum Scalar<'a> {
    Text(&'a str),
    Integer(i64),
    Number(&'a Number),
    Bool(bool),
}

impl Scalar<'_> {
    fn text(&self) -> String {
        match self {
            Scalar::Text(text) => (*text).to_owned(),
            Scalar::Integer(n) => n.to_string(),
            Scalar::Number(n) => n.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }

    /// As a number: numbers, and strings that are a decimal number.
    fn numeric(&self) -> Option<Numeric> {
        match self {
            Scalar::Integer(n) => Some(Numeric::Integer((*n).into())),
            Scalar::Number(n) => Some(json_numeric(n)),
            Scalar::Text(text) => text_numeric(text),
            Scalar::Bool(_) => None,
        }
    }
}

/// Integers compare exactly; anything else as `f64`.
#[derive(Debug, Clone, Copy)]
enum Numeric {
    Integer(i128),
    Float(f64),
}

fn json_numeric(number: &Number) -> Numeric {
    if let Some(n) = number.as_i64() {
        Numeric::Integer(n.into())
    } else if let Some(n) = number.as_u64() {
        Numeric::Integer(n.into())
    } else {
        Numeric::Float(number.as_f64().unwrap_or(f64::NAN))
    }
}

/// The number a range query compares a shipped scalar value as, in `f64`: JSON numbers, and
/// strings that are a decimal number; `None` for anything else. With a range's bounds, which
/// are numbers, this comparison in `f64` is exactly the evaluator's (an index may store it).
pub fn range_number(value: &Value) -> Option<f64> {
    let numeric = match value {
        Value::Number(n) => json_numeric(n),
        Value::String(text) => text_numeric(text)?,
        _ => return None,
    };
    Some(match numeric {
        Numeric::Integer(n) => n as f64,
        Numeric::Float(x) => x,
    })
}

fn text_numeric(text: &str) -> Option<Numeric> {
    if is_integer(text)
        && let Ok(n) = text.parse::<i128>()
    {
        return Some(Numeric::Integer(n));
    }
    parse_number(text).map(Numeric::Float)
}

fn compare(a: Numeric, b: Numeric) -> Option<Ordering> {
    match (a, b) {
        (Numeric::Integer(a), Numeric::Integer(b)) => Some(a.cmp(&b)),
        (Numeric::Integer(a), Numeric::Float(b)) => (a as f64).partial_cmp(&b),
        (Numeric::Float(a), Numeric::Integer(b)) => a.partial_cmp(&(b as f64)),
        (Numeric::Float(a), Numeric::Float(b)) => a.partial_cmp(&b),
    }
}

fn bound_numeric(value: &RangeValue) -> Numeric {
    match value {
        RangeValue::Number(n) => Numeric::Float(*n),
        RangeValue::Time(ms) => Numeric::Integer((*ms).into()),
    }
}

impl Evaluator<'_> {
    fn matches(&self, query: &Query) -> bool {
        match query {
            Query::All => true,
            Query::And(clauses) => clauses.iter().all(|clause| self.matches(clause)),
            Query::Or(clauses) => clauses.iter().any(|clause| self.matches(clause)),
            Query::Not(inner) => !self.matches(inner),
            Query::Term { field, text } | Query::Phrase { field, text } => {
                match message_or_field(field.as_deref()) {
                    None => self.message_phrase(text),
                    Some(name) => self.field_equals(name, text),
                }
            }
            Query::Wildcard { field, pattern } => match message_or_field(field.as_deref()) {
                None => {
                    let pattern = Pattern::new(&lowercase(pattern));
                    self.tokens().iter().any(|(_, token)| pattern.matches(token))
                }
                Some(name) => self.field_like(name, pattern),
            },
            Query::Range { field, lower, upper } => self.in_range(field, lower, upper),
        }
    }

    fn tokens(&self) -> &[(usize, String)] {
        self.message_tokens
            .get_or_init(|| positioned_tokens(&self.record.message))
    }

    /// The text's tokens at the same relative positions in the message; never for no tokens.
    fn message_phrase(&self, text: &str) -> bool {
        let wanted = positioned_tokens(text);
        let Some((first_position, first)) = wanted.first() else {
            return false;
        };
        let message = self.tokens();
        let token_at = |position: usize| {
            message
                .binary_search_by_key(&position, |(p, _)| *p)
                .ok()
                .map(|i| message[i].1.as_str())
        };
        message
            .iter()
            .filter(|(_, token)| token == first)
            .any(|(position, _)| {
                // Message positions p with p - first_position + offset for each wanted token.
                wanted.iter().all(|(offset, token)| {
                    (position + offset)
                        .checked_sub(*first_position)
                        .and_then(token_at)
                        == Some(token.as_str())
                })
            })
    }

    fn scalars(&self, name: &str) -> Vec<Scalar<'_>> {
        let mut scalars = Vec::new();
        match self.record.field(name) {
            None => {}
            Some(FieldValue::Text(text)) => scalars.push(Scalar::Text(text)),
            Some(FieldValue::Integer(n)) => scalars.push(Scalar::Integer(n)),
            Some(FieldValue::Attrs(values)) => {
                for value in values {
                    flatten(value, &mut scalars);
                }
            }
        }
        scalars
    }

    /// Exact value: the same text, or (for a number in the record) the same number.
    fn field_equals(&self, name: &str, text: &str) -> bool {
        if FieldKind::of(name) == FieldKind::Level {
            let wanted = normalise_level(text);
            return self
                .scalars(name)
                .iter()
                .any(|value| normalise_level(&value.text()) == wanted);
        }
        let wanted_number = text_numeric(text);
        self.scalars(name).iter().any(|value| {
            value.text() == text
                || match (value, wanted_number) {
                    (Scalar::Integer(_) | Scalar::Number(_), Some(wanted)) => value
                        .numeric()
                        .and_then(|n| compare(n, wanted))
                        .is_some_and(Ordering::is_eq),
                    _ => false,
                }
        })
    }

    /// The whole value's text matches the pattern.
    fn field_like(&self, name: &str, pattern: &str) -> bool {
        let level = FieldKind::of(name) == FieldKind::Level;
        let pattern = if level {
            Pattern::new(&lowercase(pattern))
        } else {
            Pattern::new(pattern)
        };
        self.scalars(name).iter().any(|value| {
            let text = value.text();
            if level {
                pattern.matches(&normalise_level(&text))
            } else {
                pattern.matches(&text)
            }
        })
    }

    fn in_range(&self, name: &str, lower: &Bound, upper: &Bound) -> bool {
        self.scalars(name)
            .iter()
            .filter_map(Scalar::numeric)
            .any(|value| within(value, lower, Ordering::Greater) && within(value, upper, Ordering::Less))
    }
}

/// Whether `value` is on the `inside` side of `bound` (`Greater` for a lower bound, `Less` for
/// an upper one), or on it when it is inclusive.
fn within(value: Numeric, bound: &Bound, inside: Ordering) -> bool {
    match bound {
        Bound::Unbounded => true,
        Bound::Inclusive(at) => {
            compare(value, bound_numeric(at)).is_some_and(|order| order == inside || order.is_eq())
        }
        Bound::Exclusive(at) => compare(value, bound_numeric(at)) == Some(inside),
    }
}

/// `None` for the message (no field, or `message`), else the field's name.
fn message_or_field(field: Option<&str>) -> Option<&str> {
    field.filter(|name| FieldKind::of(name) != FieldKind::Message)
}

/// Strings, numbers and booleans, looking into arrays; `null` and objects have no value.
fn flatten<'a>(value: &'a Value, scalars: &mut Vec<Scalar<'a>>) {
    match value {
        Value::String(text) => scalars.push(Scalar::Text(text)),
        Value::Number(number) => scalars.push(Scalar::Number(number)),
        Value::Bool(b) => scalars.push(Scalar::Bool(*b)),
        Value::Array(items) => {
            for item in items {
                flatten(item, scalars);
            }
        }
        Value::Null | Value::Object(_) => {}
    }
}

/// A wildcard pattern: `*` any characters, `?` one character, `\x` a literal `x`.
struct Pattern {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Any,
    One,
    Literal(char),
}

impl Pattern {
    fn new(pattern: &str) -> Pattern {
        let mut parts = Vec::new();
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            parts.push(match c {
                '*' => Part::Any,
                '?' => Part::One,
                '\\' => Part::Literal(chars.next().unwrap_or('\\')),
                c => Part::Literal(c),
            });
        }
        Pattern { parts }
    }

    /// Whole-text match; linear backtracking to the last `*`, so no pattern is slow.
    fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        let (mut p, mut t) = (0, 0);
        let mut last_star: Option<(usize, usize)> = None;
        while t < text.len() {
            match self.parts.get(p) {
                Some(Part::Any) => {
                    last_star = Some((p, t));
                    p += 1;
                }
                Some(Part::One) => {
                    p += 1;
                    t += 1;
                }
                Some(Part::Literal(c)) if *c == text[t] => {
                    p += 1;
                    t += 1;
                }
                _ => match last_star {
                    Some((star, star_t)) => {
                        p = star + 1;
                        t = star_t + 1;
                        last_star = Some((star, star_t + 1));
                    }
                    None => return false,
                },
            }
        }
        self.parts[p..].iter().all(|part| *part == Part::Any)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let m = |p: &str, t: &str| Pattern::new(p).matches(t);
        assert!(m("*", ""));
        assert!(m("*", "abc"));
        assert!(m("a*c", "abbbc"));
        assert!(m("a*c", "ac"));
        assert!(!m("a*c", "acb"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(m("?", "é"));
        assert!(m(r"a\*", "a*"));
        assert!(!m(r"a\*", "ab"));
        assert!(m(r"\\", "\\"));
        assert!(m("*a*a*a*a*b", &format!("{}b", "a".repeat(50))));
        assert!(!m("*a*a*a*a*b", &"a".repeat(5000)));
        assert!(!m("abc", "ab"));
        assert!(!m("ab", "abc"));
    }
}
