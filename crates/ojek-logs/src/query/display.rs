//! Printing a [`Query`] as query text that parses back to the same tree (for every tree
//! [`parse`](super::parse) can produce): for saved searches, links, the audit log, and
//! showing users how their query was understood.

use std::fmt::{self, Display, Formatter, Write};

use super::{Bound, Query, RangeValue};
use crate::time::format_ms;

/// Characters that end or change a word anywhere in it.
fn always_escaped(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '"' | '\\' | ':' | '*' | '?')
}

/// Characters that mean something else at the start of a word (`-x` is NOT, `>5` a range…).
fn escaped_first(c: char) -> bool {
    matches!(c, '-' | '!' | '>' | '<' | '[' | '{' | ']' | '}')
}

impl Display for Query {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Query::All => f.write_str("*"),
            Query::Term { field, text } => {
                write_field(f, field.as_deref())?;
                if text.is_empty() {
                    f.write_str("\"\"")
                } else {
                    write_word(f, text)
                }
            }
            Query::Phrase { field, text } => {
                write_field(f, field.as_deref())?;
                write_quoted(f, text)
            }
            Query::Wildcard { field, pattern } => {
                // A lone `*` is "everything"; a message with any word is `message:*`.
                let field = match field.as_deref() {
                    None if pattern == "*" => Some("message"),
                    field => field,
                };
                write_field(f, field)?;
                write_pattern(f, pattern)
            }
            Query::Range { field, lower, upper } => {
                write_field(f, Some(field))?;
                let (open, lower) = match lower {
                    Bound::Unbounded => ('[', None),
                    Bound::Inclusive(value) => ('[', Some(value)),
                    Bound::Exclusive(value) => ('{', Some(value)),
                };
                let (close, upper) = match upper {
                    Bound::Unbounded => (']', None),
                    Bound::Inclusive(value) => (']', Some(value)),
                    Bound::Exclusive(value) => ('}', Some(value)),
                };
                f.write_char(open)?;
                write_bound(f, lower)?;
                f.write_str(" TO ")?;
                write_bound(f, upper)?;
                f.write_char(close)
            }
            Query::And(clauses) if clauses.is_empty() => f.write_str("*"),
            Query::Or(clauses) if clauses.is_empty() => f.write_str("NOT *"),
            Query::And(clauses) => write_joined(f, clauses, " AND "),
            Query::Or(clauses) => write_joined(f, clauses, " OR "),
            Query::Not(inner) => {
                f.write_str("NOT ")?;
                write_operand(f, inner)
            }
        }
    }
}

/// `AND` and `OR` inside another operator are parenthesised, keeping the tree's shape.
fn write_operand(f: &mut Formatter<'_>, query: &Query) -> fmt::Result {
    match query {
        Query::And(clauses) | Query::Or(clauses) if clauses.len() > 1 => write!(f, "({query})"),
        _ => write!(f, "{query}"),
    }
}

fn write_joined(f: &mut Formatter<'_>, clauses: &[Query], separator: &str) -> fmt::Result {
    for (i, clause) in clauses.iter().enumerate() {
        if i > 0 {
            f.write_str(separator)?;
        }
        write_operand(f, clause)?;
    }
    Ok(())
}

fn write_field(f: &mut Formatter<'_>, field: Option<&str>) -> fmt::Result {
    match field {
        Some(name) => {
            write_word(f, name)?;
            f.write_char(':')
        }
        None => Ok(()),
    }
}

/// A word, escaped so that it reads back as exactly this text.
fn write_word(f: &mut Formatter<'_>, text: &str) -> fmt::Result {
    let keyword = matches!(text, "AND" | "OR" | "NOT" | "&&" | "||");
    for (i, c) in text.chars().enumerate() {
        if always_escaped(c) || (i == 0 && (keyword || escaped_first(c))) {
            f.write_char('\\')?;
        }
        f.write_char(c)?;
    }
    Ok(())
}

/// A pattern: `*` and `?` and its own `\` escapes as they are, other characters as in a word.
fn write_pattern(f: &mut Formatter<'_>, pattern: &str) -> fmt::Result {
    let mut chars = pattern.chars().enumerate();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, escaped)) => {
                    f.write_char('\\')?;
                    f.write_char(escaped)?;
                }
                None => f.write_str("\\\\")?,
            },
            '*' | '?' => f.write_char(c)?,
            _ => {
                if always_escaped(c) || (i == 0 && escaped_first(c)) {
                    f.write_char('\\')?;
                }
                f.write_char(c)?;
            }
        }
    }
    Ok(())
}

fn write_quoted(f: &mut Formatter<'_>, text: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in text.chars() {
        if matches!(c, '"' | '\\') {
            f.write_char('\\')?;
        }
        f.write_char(c)?;
    }
    f.write_char('"')
}

fn write_bound(f: &mut Formatter<'_>, value: Option<&RangeValue>) -> fmt::Result {
    match value {
        None => f.write_char('*'),
        // f64's Display is exact and never uses an exponent, so it reads back the same.
        Some(RangeValue::Number(number)) => write!(f, "{number}"),
        Some(RangeValue::Time(ms)) => match format_ms(*ms) {
            Some(text) => f.write_str(&text),
            // Outside chrono's years: epoch milliseconds, which a time bound also accepts.
            None => write!(f, "{ms}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(field: Option<&str>, text: &str) -> Query {
        Query::Term {
            field: field.map(str::to_owned),
            text: text.to_owned(),
        }
    }

    #[test]
    fn prints_leaves() {
        assert_eq!(term(None, "timeout").to_string(), "timeout");
        assert_eq!(term(Some("level"), "error").to_string(), "level:error");
        assert_eq!(term(Some("path"), "/a b:c").to_string(), r"path:/a\ b\:c");
        assert_eq!(term(None, "-x").to_string(), r"\-x");
        assert_eq!(term(None, "AND").to_string(), r"\AND");
        assert_eq!(term(Some("x"), "").to_string(), r#"x:"""#);
        assert_eq!(
            Query::Phrase {
                field: None,
                text: r#"say "hi" \o/"#.into()
            }
            .to_string(),
            r#""say \"hi\" \\o/""#
        );
        assert_eq!(
            Query::Wildcard {
                field: Some("path".into()),
                pattern: r"/api/*\*x?".into()
            }
            .to_string(),
            r"path:/api/*\*x?"
        );
        // Found by the round-trip property: `message:*` (any word) is not `*` (everything).
        let any_word = crate::parse("message:*").expect("valid");
        assert_eq!(any_word.to_string(), "message:*");
        assert_eq!(crate::parse(&any_word.to_string()).expect("valid"), any_word);
        assert_eq!(crate::parse("*").expect("valid").to_string(), "*");
        assert_eq!(
            Query::Range {
                field: "status".into(),
                lower: Bound::Inclusive(RangeValue::Number(500.0)),
                upper: Bound::Exclusive(RangeValue::Number(-1.5)),
            }
            .to_string(),
            "status:[500 TO -1.5}"
        );
        assert_eq!(
            Query::Range {
                field: "@timestamp".into(),
                lower: Bound::Exclusive(RangeValue::Time(1_795_564_800_000)),
                upper: Bound::Unbounded,
            }
            .to_string(),
            "@timestamp:{2026-11-25T00:00:00.000Z TO *]"
        );
    }

    #[test]
    fn parenthesises_nested_operators() {
        let a = term(None, "a");
        let b = term(None, "b");
        let c = term(None, "c");
        let query = Query::Or(vec![
            Query::And(vec![a.clone(), b.clone()]),
            Query::Not(Box::new(Query::Or(vec![b, c.clone()]))),
            Query::Not(Box::new(c)),
        ]);
        assert_eq!(query.to_string(), "(a AND b) OR NOT (b OR c) OR NOT c");
        assert_eq!(Query::And(vec![a]).to_string(), "a");
    }
}
