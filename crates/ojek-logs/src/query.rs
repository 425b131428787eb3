//! The query language: a Kibana/Lucene-like syntax.

use serde::Serialize;

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Query {
    /// Everything (the empty query, `*`).
    All,
    /// A word: in the message (no field), or a field's exact value.
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
        /// The pattern.
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

/// Parses a query.
pub fn parse(_text: &str) -> Result<Query, QueryError> {
    Err(QueryError {
        column: 1,
        message: "not implemented yet".into(),
    })
}
