//! The query language: a Kibana/Lucene-like syntax (see `docs/logs-query.md`), its syntax
//! tree ([`Query`]), parsing with 1-based columns in errors ([`parse`], [`parse_at`]),
//! printing back as valid syntax (`Display`), and evaluating against one record
//! ([`evaluate`]), the reference the index must agree with.
//!
//! What a parsed tree guarantees (so that translators need not re-check it):
//! - A field is never `Some("message")` (that is `None`) or `Some("timestamp")` (that is
//!   `"@timestamp"`); `@timestamp` appears only in [`Query::Range`] with [`RangeValue::Time`]
//!   bounds, and ranges on other fields have [`RangeValue::Number`] bounds and are never on a
//!   text field (`message`, `level`, `app`, `env`, `host`, `pod`, `variant`).
//! - `level` values are normalised ([`normalise_level`](crate::normalise_level)) and wildcard
//!   patterns on `level` and on the message are lower case.
//! - A message term or phrase has at least one [token](crate::tokens); a message wildcard
//!   pattern holds only alphanumeric characters, `*` and `?`.
//! - [`Query::And`] and [`Query::Or`] have at least two children; parentheses are kept as
//!   nesting (`(a AND b) AND c` is `And[And[a, b], c]`).

mod display;
mod evaluate;
mod parse;

pub use crate::tokens::{MAX_TOKEN_BYTES, positioned_tokens, tokens};
pub use evaluate::{evaluate, range_number};
pub use parse::{parse, parse_at};

use serde::Serialize;

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Query {
    /// Everything (the empty query, `*`).
    All,
    /// A word as typed, unquoted: in the message (no field) it means the same as a
    /// [`Query::Phrase`] of its text (`foo-bar` is the phrase `foo bar`); with a field, the
    /// field's exact value.
    Term {
        /// `None`: the message.
        field: Option<String>,
        /// The word or value.
        text: String,
    },
    /// Words in this order: in the message, or a field's exact value.
    Phrase {
        /// `None`: the message.
        field: Option<String>,
        /// The phrase.
        text: String,
    },
    /// A pattern with `*` and `?`: a message word, or a field's exact value.
    Wildcard {
        /// `None`: the message.
        field: Option<String>,
        /// The pattern: `*` is any characters, `?` one character, `\` makes the next character
        /// (`*`, `?` or `\`) literal.
        pattern: String,
    },
    /// A range of a numeric field, or of the time (`@timestamp`).
    Range {
        /// The field.
        field: String,
        /// Lower bound.
        lower: Bound,
        /// Upper bound.
        upper: Bound,
    },
    /// Every one.
    And(Vec<Query>),
    /// Any one.
    Or(Vec<Query>),
    /// Not this one.
    Not(Box<Query>),
}

/// One end of a range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Bound {
    /// No bound.
    Unbounded,
    /// At least / at most this.
    Inclusive(RangeValue),
    /// Above / below this.
    Exclusive(RangeValue),
}

/// A range bound's value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum RangeValue {
    /// A number.
    Number(f64),
    /// A time: Unix milliseconds.
    Time(i64),
}

/// A query that cannot be parsed: where, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct QueryError {
    /// 1-based character column.
    pub column: usize,
    /// What is wrong, and what would be right.
    pub message: String,
}
