//! Parsing query text into a [`Query`]: a hand-written recursive descent over characters, so
//! that every error can name the 1-based column and what was expected there. It never panics,
//! and refuses nesting deeper than [`MAX_DEPTH`] rather than overflowing the stack.
//!
//! Grammar (precedence NOT > AND > OR; adjacent clauses are joined by AND):
//!
//! ```text
//! query   = [ or ]
//! or      = and { ("OR" | "||") and }
//! and     = unary { [ "AND" | "&&" ] unary }
//! unary   = ("NOT" | "-" | "!") unary | primary
//! primary = "(" or ")" | phrase | "*" | word | field ":" value
//! value   = phrase | word | "(" or-of-values ")" | range | (">" | ">=" | "<" | "<=") bound
//! range   = ("[" | "{") bound "TO" bound ("]" | "}")
//! ```

use super::{Bound, Query, QueryError, RangeValue};
use crate::normalise::normalise_level;
use crate::record::FieldKind;
use crate::time::{QueryTime, parse_number, parse_query_time};
use crate::tokens::{MAX_TOKEN_BYTES, lowercase, tokens};

/// How deeply parentheses and `NOT`s may nest.
const MAX_DEPTH: usize = 100;

/// Parses a query, resolving relative times (`now-15m`) against the system clock.
///
/// ```
/// use ojek_logs::{Query, parse};
/// assert_eq!(
///     parse("level:error").expect("valid"),
///     Query::Term { field: Some("level".into()), text: "error".into() }
/// );
/// let error = parse("level:").expect_err("no value");
/// assert_eq!(error.to_string(), r#"column 7: expected a value after "level:""#);
/// ```
pub fn parse(text: &str) -> Result<Query, QueryError> {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        });
    parse_at(text, now_ms)
}

/// Parses a query, resolving relative times (`now`, `now-15m`) against `now_ms` (Unix
/// milliseconds). Deterministic: use this in tests, and to parse once per request.
///
/// ```
/// use ojek_logs::query::{Bound, Query, RangeValue, parse_at};
/// assert_eq!(
///     parse_at("@timestamp:>now-1m", 120_000).expect("valid"),
///     Query::Range {
///         field: "@timestamp".into(),
///         lower: Bound::Exclusive(RangeValue::Time(60_000)),
///         upper: Bound::Unbounded,
///     }
/// );
/// ```
pub fn parse_at(text: &str, now_ms: i64) -> Result<Query, QueryError> {
    let mut parser = Parser {
        chars: text.chars().collect(),
        pos: 0,
        now_ms,
        depth: 0,
    };
    parser.skip_whitespace();
    if parser.at_end() {
        return Ok(Query::All);
    }
    let query = parser.or(None)?;
    parser.skip_whitespace();
    match parser.peek() {
        None => Ok(query),
        _ => Err(parser.error(
            parser.pos,
            "unexpected \")\": there is no \"(\" before it to close",
        )),
    }
}

/// The field a group of values (`level:(error OR warn)`) or a single value belongs to.
#[derive(Debug, Clone)]
struct Field {
    /// As stored in the tree: `None` for the message, `@timestamp` for `timestamp`.
    name: Option<String>,
    /// As typed, for error messages.
    typed: String,
    kind: FieldKind,
}

impl Field {
    fn new(name: String, typed: String) -> Field {
        let kind = FieldKind::of(&name);
        let name = match kind {
            FieldKind::Message => None,
            FieldKind::Timestamp => Some("@timestamp".to_owned()),
            _ => Some(name),
        };
        Field { name, typed, kind }
    }

    /// The name, for variants that require one (ranges; never the message).
    fn range_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| "message".to_owned())
    }
}

/// `AND`, `OR`, `NOT` and their symbols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    And,
    Or,
    Not,
}

/// Where a word ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// A bare clause: whitespace, parentheses, a quote, or a colon (the field's end).
    Clause,
    /// A field's value: whitespace, parentheses or a quote; colons belong to the value.
    Value,
    /// A range bound: as a value, and `]`, `}`.
    Bound,
}

/// A word as typed: its characters, each with whether it was escaped with `\`.
#[derive(Debug, Default)]
struct Word {
    chars: Vec<(char, bool)>,
}

impl Word {
    fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    fn text(&self) -> String {
        self.chars.iter().map(|&(c, _)| c).collect()
    }

    fn is_star(&self) -> bool {
        self.chars == [('*', false)]
    }

    fn has_wildcards(&self) -> bool {
        self.chars
            .iter()
            .any(|&(c, escaped)| !escaped && (c == '*' || c == '?'))
    }

    /// The pattern, in the tree's form: `\` only before a literal `*`, `?` or `\`.
    fn pattern(&self) -> String {
        let mut pattern = String::new();
        for &(c, escaped) in &self.chars {
            if escaped && matches!(c, '*' | '?' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern
    }

    fn starts_unescaped_with(&self, set: &[char]) -> bool {
        matches!(self.chars.first(), Some(&(c, false)) if set.contains(&c))
    }
}

/// Bounds of a range in one of the two syntaxes.
struct RangeSyntax {
    lower: Option<(String, usize)>,
    lower_inclusive: bool,
    upper: Option<(String, usize)>,
    upper_inclusive: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Lower,
    Upper,
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    now_ms: i64,
    depth: usize,
}

type Parsed<T> = Result<T, QueryError>;

impl Parser {
    // --- Characters -----------------------------------------------------------------------

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn error(&self, pos: usize, message: impl Into<String>) -> QueryError {
        QueryError {
            column: pos + 1,
            message: message.into(),
        }
    }

    fn typed(&self, from: usize, to: usize) -> String {
        self.chars[from..to.min(self.chars.len())].iter().collect()
    }

    /// Whether `c` ends an operator keyword or a raw word.
    fn is_delimiter(c: Option<char>) -> bool {
        match c {
            None => true,
            Some(c) => c.is_whitespace() || matches!(c, '(' | ')' | '"'),
        }
    }

    /// The operator at the cursor, and its length, if any.
    fn operator(&self) -> Option<(Operator, usize)> {
        let mut end = self.pos;
        while !Self::is_delimiter(self.chars.get(end).copied()) {
            end += 1;
        }
        let raw = &self.chars[self.pos..end];
        let operator = match raw {
            ['A', 'N', 'D'] | ['&', '&'] => Operator::And,
            ['O', 'R'] | ['|', '|'] => Operator::Or,
            ['N', 'O', 'T'] => Operator::Not,
            _ => return None,
        };
        Some((operator, raw.len()))
    }

    /// After an operator (`typed` as written): there must be a clause.
    fn expect_clause_after(&mut self, typed: &str) -> Parsed<()> {
        self.skip_whitespace();
        let found = match self.peek() {
            None => "the end of the query".to_owned(),
            Some(')') => "\")\"".to_owned(),
            Some(_) => match self.operator() {
                Some((Operator::And | Operator::Or, len)) => {
                    format!("{:?}", self.typed(self.pos, self.pos + len))
                }
                _ => return Ok(()),
            },
        };
        Err(self.error(
            self.pos,
            format!("expected a clause after {typed:?}, found {found}"),
        ))
    }

    fn enter(&mut self) -> Parsed<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(
                self.pos,
                format!("too deeply nested: at most {MAX_DEPTH} levels of parentheses and NOT"),
            ));
        }
        Ok(())
    }

    // --- Boolean structure ----------------------------------------------------------------

    fn or(&mut self, field: Option<&Field>) -> Parsed<Query> {
        let mut clauses = vec![self.and(field)?];
        loop {
            self.skip_whitespace();
            match self.operator() {
                Some((Operator::Or, len)) => {
                    let typed = self.typed(self.pos, self.pos + len);
                    self.pos += len;
                    self.expect_clause_after(&typed)?;
                    clauses.push(self.and(field)?);
                }
                _ => break,
            }
        }
        Ok(one_or(clauses, Query::Or))
    }

    fn and(&mut self, field: Option<&Field>) -> Parsed<Query> {
        let mut clauses = vec![self.unary(field)?];
        loop {
            self.skip_whitespace();
            if matches!(self.peek(), None | Some(')')) {
                break;
            }
            match self.operator() {
                Some((Operator::Or, _)) => break,
                Some((Operator::And, len)) => {
                    let typed = self.typed(self.pos, self.pos + len);
                    self.pos += len;
                    self.expect_clause_after(&typed)?;
                }
                // Adjacent clauses: an implicit AND.
                _ => {}
            }
            clauses.push(self.unary(field)?);
        }
        Ok(one_or(clauses, Query::And))
    }

    fn unary(&mut self, field: Option<&Field>) -> Parsed<Query> {
        self.skip_whitespace();
        self.enter()?;
        let query = match (self.operator(), self.peek()) {
            (Some((Operator::Not, len)), _) => {
                self.pos += len;
                self.expect_clause_after("NOT")?;
                Query::Not(Box::new(self.unary(field)?))
            }
            (Some((_, len)), _) => {
                let typed = self.typed(self.pos, self.pos + len);
                return Err(self.error(
                    self.pos,
                    format!(
                        "expected a clause, found {typed:?}: AND and OR go between two \
                        clauses"
                    ),
                ));
            }
            (None, Some(sign @ ('-' | '!'))) => {
                let next = self.peek_at(1);
                if next.is_none_or(|c| c.is_whitespace() || c == ')') {
                    return Err(self.error(
                        self.pos,
                        format!(
                            "expected a clause right after {:?} (as in {sign}debug); to \
                            search for it, quote it",
                            sign.to_string()
                        ),
                    ));
                }
                self.pos += 1;
                Query::Not(Box::new(self.unary(field)?))
            }
            _ => self.primary(field)?,
        };
        self.depth -= 1;
        Ok(query)
    }

    fn primary(&mut self, field: Option<&Field>) -> Parsed<Query> {
        let start = self.pos;
        match self.peek() {
            Some(')') => Err(self.error(
                start,
                "unexpected \")\": there is no \"(\" before it \
                to close",
            )),
            Some('(') => {
                self.pos += 1;
                self.skip_whitespace();
                match self.peek() {
                    None => return Err(self.unclosed_paren(start)),
                    Some(')') => {
                        let inside = field.map_or("( )".to_owned(), |f| format!("{}:( )", f.typed));
                        return Err(self.error(
                            start,
                            format!(
                                "expected a clause inside \
                            {inside:?}"
                            ),
                        ));
                    }
                    Some(_) => {}
                }
                let query = self.or(field)?;
                self.skip_whitespace();
                if self.peek() != Some(')') {
                    return Err(self.unclosed_paren(start));
                }
                self.pos += 1;
                Ok(query)
            }
            Some('"') => {
                let text = self.quoted()?;
                match field {
                    None => self.message_text(text, start, true),
                    Some(field) => self.field_text(field, text, start, true),
                }
            }
            _ => match field {
                None => self.clause(),
                Some(field) => self.value(field),
            },
        }
    }

    fn unclosed_paren(&self, open: usize) -> QueryError {
        self.error(open, "unclosed parenthesis: this \"(\" has no matching \")\"")
    }

    // --- Clauses --------------------------------------------------------------------------

    /// A clause outside a field group: `*`, a word, or `field:value`.
    fn clause(&mut self) -> Parsed<Query> {
        let start = self.pos;
        let word = self.word(Stop::Clause)?;
        if self.peek() == Some(':') {
            if word.is_empty() {
                return Err(self.error(
                    start,
                    "expected a field name before \":\" (as in level:error); to search for \
                        \":\", quote it",
                ));
            }
            let field = Field::new(word.text(), self.typed(start, self.pos));
            self.pos += 1;
            return self.field_value(&field);
        }
        if word.is_star() {
            return Ok(Query::All);
        }
        if word.starts_unescaped_with(&['>', '<']) {
            let text = word.text();
            let rest = text.trim_start_matches(['>', '<', '=']);
            if rest.is_empty() || parse_number(rest).is_some() || parse_query_time(rest, self.now_ms).is_ok()
            {
                return Err(self.error(
                    start,
                    format!(
                        "a comparison needs a field, with no space: write it as \
                        status:{text} or @timestamp:{text}"
                    ),
                ));
            }
        }
        if word.has_wildcards() {
            return self.message_wildcard(&word, start);
        }
        self.message_text(word.text(), start, false)
    }

    /// The value after `field:`.
    fn field_value(&mut self, field: &Field) -> Parsed<Query> {
        let start = self.pos;
        match self.peek() {
            None | Some(')') => Err(self.no_value(start, &format!("{}:", field.typed))),
            Some(c) if c.is_whitespace() => Err(self.no_value(start, &format!("{}:", field.typed))),
            Some('(') => self.primary(Some(field)),
            _ => self.value(field),
        }
    }

    fn no_value(&self, at: usize, after: &str) -> QueryError {
        self.error(at, format!("expected a value after {after:?}"))
    }

    /// One value of `field` (after `field:`, or inside `field:( )`).
    fn value(&mut self, field: &Field) -> Parsed<Query> {
        let start = self.pos;
        match self.peek() {
            Some('"') => {
                let text = self.quoted()?;
                self.field_text(field, text, start, true)
            }
            Some('[' | '{') => {
                self.rangeable(field, start)?;
                let syntax = self.range_syntax()?;
                self.range(field, syntax)
            }
            Some('>' | '<') => {
                self.rangeable(field, start)?;
                let syntax = self.comparison(field)?;
                self.range(field, syntax)
            }
            _ => {
                let word = self.word(Stop::Value)?;
                if word.is_empty() {
                    return Err(self.no_value(start, &format!("{}:", field.typed)));
                }
                self.field_word(field, &word, start)
            }
        }
    }

    /// An unquoted value: a wildcard pattern, or exact text.
    fn field_word(&mut self, field: &Field, word: &Word, start: usize) -> Parsed<Query> {
        if !word.has_wildcards() {
            return self.field_text(field, word.text(), start, false);
        }
        match field.kind {
            FieldKind::Message => self.message_wildcard(word, start),
            FieldKind::Timestamp if word.is_star() => Ok(Query::All),
            FieldKind::Timestamp => Err(self.error(
                start,
                format!(
                    "{:?} is a time and has no wildcards: use a range, as in \
                    @timestamp:[now-1h TO now] or @timestamp:>=2026-11-25",
                    field.typed
                ),
            )),
            FieldKind::Level => Ok(Query::Wildcard {
                field: field.name.clone(),
                pattern: lowercase(&word.pattern()),
            }),
            _ => Ok(Query::Wildcard {
                field: field.name.clone(),
                pattern: word.pattern(),
            }),
        }
    }

    /// Exact text for `field` (from a word or a quoted phrase).
    fn field_text(&mut self, field: &Field, text: String, start: usize, quoted: bool) -> Parsed<Query> {
        let (field_name, text) = match field.kind {
            FieldKind::Message => return self.message_text(text, start, quoted),
            FieldKind::Timestamp => {
                let time =
                    parse_query_time(&text, self.now_ms).map_err(|message| self.error(start, message))?;
                let (lower, upper) = match time.day_end {
                    Some(end) => (time.start, Bound::Exclusive(RangeValue::Time(end))),
                    None => (time.start, Bound::Inclusive(RangeValue::Time(time.start))),
                };
                return Ok(Query::Range {
                    field: field.range_name(),
                    lower: Bound::Inclusive(RangeValue::Time(lower)),
                    upper,
                });
            }
            FieldKind::Level => (field.name.clone(), normalise_level(&text)),
            _ => (field.name.clone(), text),
        };
        // A value that normalises to nothing (`level:\ `) can only be written quoted (`""`):
        // keep it a phrase so that the query prints back to itself.
        Ok(if quoted || text.is_empty() {
            Query::Phrase {
                field: field_name,
                text,
            }
        } else {
            Query::Term {
                field: field_name,
                text,
            }
        })
    }

    // --- Ranges ---------------------------------------------------------------------------

    /// Refuses ranges on text fields, before reading the range.
    fn rangeable(&self, field: &Field, at: usize) -> Parsed<()> {
        let typed = &field.typed;
        match field.kind {
            FieldKind::Message => Err(self.error(
                at,
                format!(
                    "{typed:?} is full text and has no order, so it has no ranges: search \
                    for words in it, or use a range on a number field or @timestamp"
                ),
            )),
            FieldKind::Level | FieldKind::Text => Err(self.error(
                at,
                format!(
                    "{typed:?} is text, so it has no ranges: ranges apply to numbers and \
                    @timestamp; match values with {typed}:value or {typed}:(a OR b)"
                ),
            )),
            _ => Ok(()),
        }
    }

    /// `[a TO b]`, `{a TO b}`, `[a TO b}`, `{a TO b]`.
    fn range_syntax(&mut self) -> Parsed<RangeSyntax> {
        let open = self.pos;
        let lower_inclusive = self.peek() == Some('[');
        self.pos += 1;
        let lower = self.bound(open, "a lower bound (a value, or * for none)")?;
        self.skip_whitespace();
        if self.at_end() {
            return Err(self.unclosed_range(open));
        }
        if self.peek() == Some('T')
            && self.peek_at(1) == Some('O')
            && self
                .peek_at(2)
                .is_none_or(|c| c.is_whitespace() || matches!(c, ']' | '}'))
        {
            self.pos += 2;
        } else {
            return Err(self.error(
                self.pos,
                "expected TO between the bounds of a range, as in [1 TO 5] or [now-1h TO now]",
            ));
        }
        let upper = self.bound(open, "an upper bound (a value, or * for none)")?;
        self.skip_whitespace();
        let upper_inclusive = match self.peek() {
            None => return Err(self.unclosed_range(open)),
            Some(']') => true,
            Some('}') => false,
            Some(_) => {
                return Err(self.error(
                    self.pos,
                    format!(
                        "expected \"]\" or \"}}\" to close the range opened at column {}",
                        open + 1
                    ),
                ));
            }
        };
        self.pos += 1;
        Ok(RangeSyntax {
            lower,
            lower_inclusive,
            upper,
            upper_inclusive,
        })
    }

    fn unclosed_range(&self, open: usize) -> QueryError {
        let close = if self.chars.get(open) == Some(&'[') {
            ']'
        } else {
            '}'
        };
        self.error(
            open,
            format!(
                "unclosed range: expected \"{close}\" (or the other bracket) to close it, as in \
                    [1 TO 5]"
            ),
        )
    }

    /// A bound inside brackets: `None` for `*`.
    fn bound(&mut self, open: usize, expected: &str) -> Parsed<Option<(String, usize)>> {
        self.skip_whitespace();
        let start = self.pos;
        match self.peek() {
            None => Err(self.unclosed_range(open)),
            Some('"') => Ok(Some((self.quoted()?, start))),
            Some(_) => {
                let word = self.word(Stop::Bound)?;
                if word.is_empty() {
                    return Err(self.error(start, format!("expected {expected}")));
                }
                Ok((!word.is_star()).then(|| (word.text(), start)))
            }
        }
    }

    /// `>v`, `>=v`, `<v`, `<=v`.
    fn comparison(&mut self, field: &Field) -> Parsed<RangeSyntax> {
        let op_start = self.pos;
        let greater = self.peek() == Some('>');
        self.pos += 1;
        let inclusive = self.peek() == Some('=');
        if inclusive {
            self.pos += 1;
        }
        let start = self.pos;
        let value = match self.peek() {
            Some('"') => Some((self.quoted()?, start)),
            _ => {
                let word = self.word(Stop::Value)?;
                if word.is_empty() {
                    let after = format!("{}:{}", field.typed, self.typed(op_start, self.pos));
                    return Err(self.no_value(start, &after));
                }
                (!word.is_star()).then(|| (word.text(), start))
            }
        };
        Ok(if greater {
            RangeSyntax {
                lower: value,
                lower_inclusive: inclusive,
                upper: None,
                upper_inclusive: true,
            }
        } else {
            RangeSyntax {
                lower: None,
                lower_inclusive: true,
                upper: value,
                upper_inclusive: inclusive,
            }
        })
    }

    fn range(&self, field: &Field, syntax: RangeSyntax) -> Parsed<Query> {
        Ok(Query::Range {
            field: field.range_name(),
            lower: self.resolve(field, syntax.lower, syntax.lower_inclusive, Side::Lower)?,
            upper: self.resolve(field, syntax.upper, syntax.upper_inclusive, Side::Upper)?,
        })
    }

    /// A bound's value for `field`: a time for `@timestamp` (a date covers its whole day), a
    /// number otherwise.
    fn resolve(
        &self,
        field: &Field,
        value: Option<(String, usize)>,
        inclusive: bool,
        side: Side,
    ) -> Parsed<Bound> {
        let Some((text, at)) = value else {
            return Ok(Bound::Unbounded);
        };
        if field.kind == FieldKind::Timestamp {
            let time = parse_query_time(&text, self.now_ms).map_err(|message| self.error(at, message))?;
            return Ok(time_bound(time, inclusive, side));
        }
        let Some(number) = parse_number(&text) else {
            let hint = if parse_query_time(&text, self.now_ms).is_ok() {
                " (times are for @timestamp)"
            } else {
                ""
            };
            return Err(self.error(
                at,
                format!(
                    "expected a number or * as a bound of a range on {:?}, found {text:?}{hint}",
                    field.typed
                ),
            ));
        };
        let value = RangeValue::Number(number);
        Ok(if inclusive {
            Bound::Inclusive(value)
        } else {
            Bound::Exclusive(value)
        })
    }

    // --- Words and phrases ----------------------------------------------------------------

    /// A word up to `stop`; `\` makes the next character part of it, literally.
    fn word(&mut self, stop: Stop) -> Parsed<Word> {
        let mut word = Word::default();
        while let Some(c) = self.peek() {
            let stops = c.is_whitespace()
                || matches!(c, '(' | ')' | '"')
                || (stop == Stop::Clause && c == ':')
                || (stop == Stop::Bound && matches!(c, ']' | '}'));
            if stops {
                break;
            }
            if c == '\\' {
                let Some(escaped) = self.peek_at(1) else {
                    return Err(self.error(
                        self.pos,
                        "a \"\\\" at the end escapes nothing: write \"\\\\\" for a backslash",
                    ));
                };
                word.chars.push((escaped, true));
                self.pos += 2;
            } else {
                word.chars.push((c, false));
                self.pos += 1;
            }
        }
        Ok(word)
    }

    /// A quoted phrase at the cursor; `\` makes the next character literal (`\"`, `\\`).
    fn quoted(&mut self) -> Parsed<String> {
        let open = self.pos;
        self.pos += 1;
        let mut text = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(self.error(
                        open,
                        "unclosed quote: this phrase has no closing \"; write \\\" for a quote \
                            inside it",
                    ));
                }
                Some('"') => {
                    self.pos += 1;
                    return Ok(text);
                }
                Some('\\') => match self.peek_at(1) {
                    Some(c) => {
                        text.push(c);
                        self.pos += 2;
                    }
                    None => self.pos += 1,
                },
                Some(c) => {
                    text.push(c);
                    self.pos += 1;
                }
            }
        }
    }
}

/// One clause as itself, several joined by `join`.
fn one_or(mut clauses: Vec<Query>, join: fn(Vec<Query>) -> Query) -> Query {
    match clauses.pop() {
        Some(only) if clauses.is_empty() => only,
        Some(last) => {
            clauses.push(last);
            join(clauses)
        }
        None => Query::All,
    }
}

impl Parser {
    /// Words in the message: a bare word (`Term`) or a phrase; there must be a word to search.
    fn message_text(&self, text: String, start: usize, quoted: bool) -> Parsed<Query> {
        if tokens(&text).is_empty() {
            let what = if quoted { "phrase" } else { "word" };
            if text.chars().any(char::is_alphanumeric) {
                return Err(self.error(
                    start,
                    format!(
                        "the {what} {text:?} has only words of {MAX_TOKEN_BYTES} bytes or more, \
                    and such words are not indexed: search a shorter part, or a field"
                    ),
                ));
            }
            return Err(self.error(
                start,
                format!(
                    "the {what} {text:?} has no letters or digits, and the message is searched \
                by words of letters and digits: search a field instead, as in path:{text:?}"
                ),
            ));
        }
        Ok(if quoted {
            Query::Phrase { field: None, text }
        } else {
            Query::Term { field: None, text }
        })
    }

    /// A wildcard in the message matches one word, so it may hold only letters, digits, `*`, `?`.
    fn message_wildcard(&self, word: &Word, start: usize) -> Parsed<Query> {
        let pattern = word.pattern();
        let literal_non_word = word
            .chars
            .iter()
            .find(|&&(c, escaped)| (escaped || !matches!(c, '*' | '?')) && !c.is_alphanumeric());
        if let Some(&(c, _)) = literal_non_word {
            return Err(self.error(
                start,
                format!(
                    "the message wildcard {:?} contains {c:?}, but a message wildcard matches \
                one word of letters and digits: use a phrase, as in \"get users\", or a field, \
                    as in path:{pattern}",
                    word.text()
                ),
            ));
        }
        Ok(Query::Wildcard {
            field: None,
            pattern: lowercase(&pattern),
        })
    }
}

/// A time bound; a date covers its whole day: `>= day` from its start, `<= day` to its end,
/// `> day` after its end, `< day` before its start.
fn time_bound(time: QueryTime, inclusive: bool, side: Side) -> Bound {
    let at = |ms| RangeValue::Time(ms);
    match (side, inclusive, time.day_end) {
        (Side::Lower, true, _) => Bound::Inclusive(at(time.start)),
        (Side::Lower, false, Some(end)) => Bound::Inclusive(at(end)),
        (Side::Lower, false, None) => Bound::Exclusive(at(time.start)),
        (Side::Upper, true, Some(end)) => Bound::Exclusive(at(end)),
        (Side::Upper, true, None) => Bound::Inclusive(at(time.start)),
        (Side::Upper, false, _) => Bound::Exclusive(at(time.start)),
    }
}
