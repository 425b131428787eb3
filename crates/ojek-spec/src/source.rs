//! YAML documents as a tree that remembers where every value was written.
//!
//! Serde-based YAML crates forget locations once a value is deserialised. ojek needs them
//! twice: for errors (`file:line:column`) and for `explain` (which manifest line, or which
//! environment override, a generated field came from). So the manifest is first read into a
//! [`Node`] tree with a [`Location`] and a [`Layer`] on every node; the typed manifest is
//! deserialised from that tree later, and the tree is kept beside it for lookups.
//!
//! Scalars follow the YAML 1.2 core schema: `yes`/`no`/`on`/`off` are strings, not booleans.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::diagnostic::Diagnostic;

/// Most nodes one document may expand to (aliases included): a guard against "billion laughs".
pub const MAX_NODES: usize = 1_000_000;
/// Deepest nesting accepted; deeper documents are rejected rather than risking the stack.
pub const MAX_DEPTH: usize = 64;

/// A place in a source file. Lines and columns count from 1.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Location {
    /// File name as the user gave it (or a label such as `<api>` for uploaded text).
    pub file: Arc<str>,
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1.
    pub column: u32,
}

impl Location {
    /// A location at `line:column` of `file`.
    pub fn new(file: &Arc<str>, line: u32, column: u32) -> Self {
        Location {
            file: file.clone(),
            line,
            column,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Which layer of configuration a node belongs to; `explain` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "layer", content = "name", rename_all = "camelCase")]
pub enum Layer {
    /// The app manifest's body.
    Manifest,
    /// An `environments.<name>` override in the app manifest.
    Environment(Arc<str>),
    /// The platform file.
    Platform,
    /// A variant's overrides in an Experiment (`<experiment>/<variant>`).
    Experiment(Arc<str>),
}

/// One segment of a path into a document.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Segment {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// A path into a document, displayed as `processes.web.routes[0].host`.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Path(pub Vec<Segment>);

impl Path {
    /// The empty path (the document root).
    pub fn root() -> Self {
        Path(Vec::new())
    }
    /// This path extended by a key.
    pub fn key(&self, key: &str) -> Self {
        let mut p = self.clone();
        p.0.push(Segment::Key(key.to_string()));
        p
    }
    /// This path extended by an index.
    pub fn index(&self, index: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Segment::Index(index));
        p
    }
    /// Parses `a.b[0].c`; keys containing dots can be written `a["x.y"]`.
    pub fn parse(text: &str) -> Option<Self> {
        let mut segs = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let (seg, next) = next_segment(rest)?;
            segs.push(match seg {
                SegmentRef::Key(k) => Segment::Key(k.to_string()),
                SegmentRef::Index(i) => Segment::Index(i),
            });
            rest = next;
        }
        Some(Path(segs))
    }
    /// True when `self` equals `other` or lies inside it.
    pub fn starts_with(&self, other: &Path) -> bool {
        self.0.starts_with(&other.0)
    }
}

/// A borrowed path segment, as read from text.
#[derive(Clone, Copy)]
enum SegmentRef<'a> {
    Key(&'a str),
    Index(usize),
}

/// Reads the first segment of a textual path (`a`, `.a`, `[0]`, `["a.b"]`) and returns it
/// with the rest; `None` when the text is not a path. The one reader of path syntax.
fn next_segment(rest: &str) -> Option<(SegmentRef<'_>, &str)> {
    if let Some(r) = rest.strip_prefix("[\"") {
        let end = r.find("\"]")?;
        Some((SegmentRef::Key(&r[..end]), &r[end + 2..]))
    } else if let Some(r) = rest.strip_prefix('[') {
        let end = r.find(']')?;
        Some((SegmentRef::Index(r[..end].parse().ok()?), &r[end + 1..]))
    } else {
        let r = rest.strip_prefix('.').unwrap_or(rest);
        let end = r.find(['.', '[']).unwrap_or(r.len());
        (end > 0).then(|| (SegmentRef::Key(&r[..end]), &r[end..]))
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for seg in &self.0 {
            match seg {
                Segment::Key(k) if k.contains(['.', '[', ']', '"', '/', ' ']) || k.is_empty() => {
                    write!(f, "[\"{k}\"]")?
                }
                Segment::Key(k) if first => write!(f, "{k}")?,
                Segment::Key(k) => write!(f, ".{k}")?,
                Segment::Index(i) => write!(f, "[{i}]")?,
            }
            first = false;
        }
        Ok(())
    }
}

/// A mapping key with its own location (for "unknown field" errors).
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    /// The key text.
    pub name: String,
    /// Where the key was written.
    pub loc: Location,
}

/// A YAML value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`, `~` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string (any quoted scalar, or a plain one that is no other type).
    String(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order; keys are unique.
    Map(Vec<(Key, Node)>),
}

/// A value with the place it was written and the layer it belongs to.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where it starts.
    pub loc: Location,
    /// Which configuration layer wrote it.
    pub layer: Layer,
}

impl Node {
    /// The node at `path`, if present.
    pub fn get(&self, path: &Path) -> Option<&Node> {
        let mut node = self;
        for seg in &path.0 {
            node = match (seg, &node.value) {
                (Segment::Key(k), Value::Map(entries)) => &entries.iter().find(|(key, _)| &key.name == k)?.1,
                (Segment::Index(i), Value::Seq(items)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// The deepest node along a textual path (`processes.web.files["/etc/x"]`), and whether
    /// the whole path was found. Does not allocate: renderers call it for every traced field.
    pub fn deepest(&self, path: &str) -> (&Node, bool) {
        let mut node = self;
        let mut rest = path;
        while !rest.is_empty() {
            let Some((seg, next)) = next_segment(rest) else {
                return (node, false);
            };
            let child = match (seg, &node.value) {
                (SegmentRef::Key(k), Value::Map(entries)) => {
                    entries.iter().find(|(e, _)| e.name == k).map(|(_, n)| n)
                }
                (SegmentRef::Index(i), Value::Seq(items)) => items.get(i),
                _ => None,
            };
            match child {
                Some(c) => node = c,
                None => return (node, false),
            }
            rest = next;
        }
        (node, true)
    }

    /// The key at the end of `path` (its location is where the field name was written).
    pub fn key_at(&self, path: &Path) -> Option<&Key> {
        let (last, parent) = path.0.split_last()?;
        let parent = self.get(&Path(parent.to_vec()))?;
        match (last, &parent.value) {
            (Segment::Key(k), Value::Map(entries)) => {
                entries.iter().find(|(key, _)| &key.name == k).map(|(k, _)| k)
            }
            _ => None,
        }
    }

    /// The entries of a mapping node (empty for other nodes).
    pub fn entries(&self) -> &[(Key, Node)] {
        match &self.value {
            Value::Map(e) => e,
            _ => &[],
        }
    }

    /// A short name for the node's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::String(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// Converts to JSON (locations are dropped).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::String(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// Builds a tree from JSON, every node at `loc` in `layer` (for values that come from
    /// somewhere other than a YAML file, such as an object read from a cluster).
    pub fn from_json(value: &serde_json::Value, loc: &Location, layer: &Layer) -> Node {
        use serde_json::Value as J;
        let value = match value {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            J::String(s) => Value::String(s.clone()),
            J::Array(items) => Value::Seq(items.iter().map(|v| Node::from_json(v, loc, layer)).collect()),
            J::Object(entries) => Value::Map(
                entries
                    .iter()
                    .map(|(k, v)| {
                        (
                            Key {
                                name: k.clone(),
                                loc: loc.clone(),
                            },
                            Node::from_json(v, loc, layer),
                        )
                    })
                    .collect(),
            ),
        };
        Node {
            value,
            loc: loc.clone(),
            layer: layer.clone(),
        }
    }

    /// Re-labels this node and all below it with `layer`.
    pub fn set_layer(&mut self, layer: &Layer) {
        self.layer = layer.clone();
        match &mut self.value {
            Value::Seq(items) => items.iter_mut().for_each(|n| n.set_layer(layer)),
            Value::Map(entries) => entries.iter_mut().for_each(|(_, n)| n.set_layer(layer)),
            _ => {}
        }
    }

    /// Removes mapping entries whose value is null, at any depth.
    fn drop_nulls(&mut self) {
        match &mut self.value {
            Value::Map(entries) => {
                entries.retain(|(_, v)| v.value != Value::Null);
                entries.iter_mut().for_each(|(_, v)| v.drop_nulls());
            }
            Value::Seq(items) => items.iter_mut().for_each(Node::drop_nulls),
            _ => {}
        }
    }

    /// Overlays `over` on `self`, like a JSON merge patch that keeps locations: mappings merge
    /// key by key, `null` removes a key, anything else replaces the value (lists included).
    pub fn merge(&mut self, over: &Node) {
        match (&mut self.value, &over.value) {
            (Value::Map(base), Value::Map(overs)) => {
                for (key, value) in overs {
                    let existing = base.iter().position(|(k, _)| k.name == key.name);
                    match (existing, &value.value) {
                        (Some(i), Value::Null) => {
                            base.remove(i);
                        }
                        (None, Value::Null) => {}
                        (Some(i), _) => base[i].1.merge(value),
                        (None, _) => {
                            // Like a JSON merge patch: nulls inside an added value remove nothing
                            // and are dropped.
                            let mut added = value.clone();
                            added.drop_nulls();
                            base.push((key.clone(), added));
                        }
                    }
                }
            }
            _ => {
                *self = over.clone();
                self.drop_nulls();
            }
        }
    }
}

/// Parses YAML text into documents. Syntax errors, duplicate keys, non-scalar keys, too deep
/// nesting or too many nodes are reported as diagnostics; this never panics.
pub fn parse_yaml(file: &Arc<str>, text: &str, layer: Layer) -> Result<Vec<Node>, Diagnostic> {
    let mut line_starts = vec![0];
    line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
    let mut builder = Builder {
        text,
        line_starts,
        file: file.clone(),
        layer,
        stack: Vec::new(),
        docs: Vec::new(),
        anchors: HashMap::new(),
        error: None,
        nodes: 0,
    };
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, true) {
        let m = e.marker();
        // The parser notices an unclosed `[` or `{` only where it stops making sense, often
        // lines later: point at the opener, which is where the typo is.
        if let Some((line, col, c)) = unclosed_flow(text, m.index())
            && line < m.line()
        {
            return Err(Diagnostic::error(
                Some(Location::new(file, line as u32, col as u32)),
                format!(
                    "invalid YAML: this `{c}` is never closed (the parser stopped at line {}, column {}: {})",
                    m.line(),
                    m.col() + 1,
                    e.info()
                ),
            )
            .with_hint(format!(
                "close it with `{}`, or quote the value",
                if c == '[' { ']' } else { '}' }
            )));
        }
        return Err(Diagnostic::error(
            Some(marker_loc(file, m)),
            format!("invalid YAML: {}", e.info()),
        ));
    }
    if let Some(err) = builder.error {
        return Err(err);
    }
    Ok(builder.docs)
}

/// The innermost flow collection (`[` or `{`) still open at character `upto` of `text`:
/// its line, column (from 1) and character. A scan that knows quotes, comments and where a
/// value may start (so `a[b` in a plain scalar is not an opener); used only to place an error.
fn unclosed_flow(text: &str, upto: usize) -> Option<(usize, usize, char)> {
    let mut stack: Vec<(usize, usize, char)> = Vec::new();
    let (mut line, mut col) = (1usize, 0usize);
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut escaped = false;
    // The last character that was not a space (a value may start after `:`, `-`, …), and the
    // character just before this one (a comment starts at `#` after a space).
    let mut prev = '\n';
    let mut before = '\n';
    for c in text.chars().take(upto) {
        let after_space = matches!(before, ' ' | '\t' | '\n');
        before = c;
        col += 1;
        if c == '\n' {
            line += 1;
            col = 0;
            comment = false;
            if quote.is_none() {
                prev = '\n';
            }
            continue;
        }
        if comment {
            continue;
        }
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if q == '"' && c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
                prev = c;
            }
            continue;
        }
        let value_start = matches!(prev, '\n' | ':' | '-' | ',' | '[' | '{' | '?');
        match c {
            ' ' | '\t' => continue,
            '#' if after_space => comment = true,
            '\'' | '"' if value_start => quote = Some(c),
            '[' | '{' if value_start => stack.push((line, col, c)),
            ']' | '}' if !stack.is_empty() => {
                stack.pop();
            }
            _ => {}
        }
        prev = c;
    }
    stack.pop()
}

fn marker_loc(file: &Arc<str>, m: &Marker) -> Location {
    Location::new(file, m.line() as u32, m.col() as u32 + 1)
}

enum Frame {
    Seq(Node, usize),
    /// A mapping, its anchor, the key waiting for its value, whether it is a flow mapping, and
    /// (for large mappings) the set of its keys.
    Map(
        Node,
        usize,
        Option<Key>,
        bool,
        Option<std::collections::HashSet<String>>,
    ),
}

struct Builder<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
    file: Arc<str>,
    layer: Layer,
    stack: Vec<Frame>,
    docs: Vec<Node>,
    /// Anchored nodes with their height (levels of nesting they bring along when aliased).
    anchors: HashMap<usize, (Node, usize)>,
    error: Option<Diagnostic>,
    nodes: usize,
}

impl Builder<'_> {
    fn fail(&mut self, loc: Location, msg: impl Into<String>) {
        if self.error.is_none() {
            self.error = Some(Diagnostic::error(Some(loc), msg));
        }
    }

    /// Adds a finished node to its parent. `weight` is how many values it adds to the
    /// document: 1 for a scalar or a just-closed collection (its children were counted as
    /// they came), the whole subtree for an alias.
    fn push_value(&mut self, node: Node, anchor: usize, weight: usize) {
        self.nodes += weight;
        if self.nodes > MAX_NODES {
            let loc = node.loc.clone();
            self.fail(loc, format!("document expands to more than {MAX_NODES} values"));
            return;
        }
        if anchor > 0 {
            let h = height(&node);
            self.anchors.insert(anchor, (node.clone(), h));
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq(seq, _)) => {
                if let Value::Seq(items) = &mut seq.value {
                    items.push(node);
                }
            }
            Some(Frame::Map(map, _, pending, _, keys)) => match pending.take() {
                None => {
                    let name = match &node.value {
                        Value::String(s) => s.clone(),
                        Value::Int(i) => i.to_string(),
                        Value::Float(f) => f.to_string(),
                        Value::Bool(b) => b.to_string(),
                        Value::Null => "null".to_string(),
                        Value::Seq(_) | Value::Map(_) => {
                            let loc = node.loc.clone();
                            self.fail(loc, "mapping keys must be plain values, not lists or mappings");
                            return;
                        }
                    };
                    // Large mappings keep a set of their keys: a linear scan per key would
                    // make a mapping of n keys cost n² (a denial of service in 4 MiB).
                    let dup = match keys {
                        Some(set) => !set.insert(name.clone()),
                        None => {
                            let entries = map.entries();
                            let dup = entries.iter().any(|(k, _)| k.name == name);
                            if !dup && entries.len() >= 32 {
                                let mut set: std::collections::HashSet<String> =
                                    entries.iter().map(|(k, _)| k.name.clone()).collect();
                                set.insert(name.clone());
                                *keys = Some(set);
                            }
                            dup
                        }
                    };
                    if dup {
                        let loc = node.loc.clone();
                        self.fail(loc, format!("duplicate key `{name}`"));
                        return;
                    }
                    *pending = Some(Key { name, loc: node.loc });
                }
                Some(key) => {
                    if let Value::Map(entries) = &mut map.value {
                        entries.push((key, node));
                    }
                }
            },
        }
    }

    fn open(&mut self, value: Value, anchor: usize, loc: Location) {
        if self.stack.len() >= MAX_DEPTH {
            self.fail(loc.clone(), format!("nesting deeper than {MAX_DEPTH} levels"));
        }
        let node = Node {
            value: value.clone(),
            loc,
            layer: self.layer.clone(),
        };
        let flow = self.char_at(&node.loc) == Some('{');
        self.stack.push(match value {
            Value::Seq(_) => Frame::Seq(node, anchor),
            _ => Frame::Map(node, anchor, None, flow, None),
        });
    }

    /// The character at a location of the source, if any.
    fn char_at(&self, loc: &Location) -> Option<char> {
        let start = *self.line_starts.get((loc.line as usize).checked_sub(1)?)?;
        self.text
            .get(start..)?
            .chars()
            .nth((loc.column as usize).checked_sub(1)?)
    }
}

/// Levels of nesting in a node: 0 for a scalar.
fn height(node: &Node) -> usize {
    match &node.value {
        Value::Seq(items) => 1 + items.iter().map(height).max().unwrap_or(0),
        Value::Map(entries) => 1 + entries.iter().map(|(_, n)| height(n)).max().unwrap_or(0),
        _ => 0,
    }
}

fn count_nodes(node: &Node) -> usize {
    match &node.value {
        Value::Seq(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        Value::Map(entries) => 1 + entries.iter().map(|(_, n)| count_nodes(n)).sum::<usize>(),
        _ => 1,
    }
}

impl MarkedEventReceiver for Builder<'_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        let loc = marker_loc(&self.file, &mark);
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let value = resolve_scalar(text, style, tag.as_ref());
                let node = Node {
                    value,
                    loc,
                    layer: self.layer.clone(),
                };
                self.push_value(node, anchor, 1);
            }
            Event::SequenceStart(anchor, _) => self.open(Value::Seq(Vec::new()), anchor, loc),
            Event::MappingStart(anchor, _) => self.open(Value::Map(Vec::new()), anchor, loc),
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Frame::Seq(n, a)) => (n, a),
                    Some(Frame::Map(mut n, a, _, flow, _)) => {
                        // The parser marks a block mapping after its first key; the first key
                        // is where a reader sees the mapping start.
                        if !flow && let Some((k, _)) = n.entries().first() {
                            n.loc = k.loc.clone();
                        }
                        (n, a)
                    }
                    None => return,
                };
                self.push_value(node, anchor, 1);
            }
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                // An alias brings its anchor's nesting along: the depth limit counts it too,
                // or chained aliases could nest deep enough to overflow the stack later.
                Some((_, h)) if self.stack.len() + h > MAX_DEPTH => {
                    self.fail(
                        loc,
                        format!("nesting deeper than {MAX_DEPTH} levels (through aliases)"),
                    );
                }
                Some((node, _)) => {
                    let weight = count_nodes(&node);
                    self.push_value(node, 0, weight)
                }
                None => self.fail(loc, "alias refers to an unknown anchor"),
            },
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

fn resolve_scalar(text: String, style: TScalarStyle, tag: Option<&Tag>) -> Value {
    if let Some(tag) = tag
        && (tag.handle == "!!" || tag.handle == "tag:yaml.org,2002:")
    {
        match tag.suffix.as_str() {
            "str" => return Value::String(text),
            "null" => return Value::Null,
            _ => {}
        }
    }
    if style != TScalarStyle::Plain {
        return Value::String(text);
    }
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    if let Some(i) = parse_int(&text) {
        return Value::Int(i);
    }
    if looks_like_float(&text)
        && let Ok(f) = text.parse::<f64>()
    {
        return Value::Float(f);
    }
    Value::String(text)
}

fn parse_int(text: &str) -> Option<i64> {
    let (neg, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    // Digits only: `from_str_radix` would also accept a sign after the prefix (`0x-10`).
    let radix_digits = |d: &str, ok: fn(&u8) -> bool| !d.is_empty() && d.bytes().all(|b| ok(&b));
    let parsed = if let Some(hex) = digits.strip_prefix("0x") {
        if !radix_digits(hex, u8::is_ascii_hexdigit) {
            return None;
        }
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(oct) = digits.strip_prefix("0o") {
        if !radix_digits(oct, |b| (b'0'..=b'7').contains(b)) {
            return None;
        }
        i64::from_str_radix(oct, 8).ok()?
    } else if radix_digits(digits, u8::is_ascii_digit) {
        digits.parse::<i64>().ok()?
    } else {
        return None;
    };
    if neg { parsed.checked_neg() } else { Some(parsed) }
}

fn looks_like_float(text: &str) -> bool {
    let t = text.trim_start_matches(['-', '+']);
    !t.is_empty()
        && t.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'.')
        && t.bytes().any(|b| b.is_ascii_digit())
        && t.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<Node>, Diagnostic> {
        parse_yaml(&Arc::from("t.yaml"), text, Layer::Manifest)
    }

    #[test]
    fn locations_are_one_based_and_point_at_values() {
        let docs = parse("a:\n  b: 3\n  c: [x, 'y']\n").expect("valid");
        let root = &docs[0];
        let b = root.get(&Path::parse("a.b").expect("path")).expect("a.b");
        assert_eq!((b.loc.line, b.loc.column), (2, 6));
        assert_eq!(b.value, Value::Int(3));
        let key = root.key_at(&Path::parse("a.c").expect("path")).expect("key");
        assert_eq!((key.loc.line, key.loc.column), (3, 3));
        let y = root.get(&Path::parse("a.c[1]").expect("path")).expect("y");
        assert_eq!(y.value, Value::String("y".into()));
    }

    #[test]
    fn core_schema_scalars() {
        let docs =
            parse("[yes, no, on, 1, -2, 0x10, 1.5, .inf, null, ~, '1', true, 1e3, 1.2.3]").expect("valid");
        let Value::Seq(items) = &docs[0].value else {
            panic!("not a list")
        };
        let v: Vec<_> = items.iter().map(|n| n.value.clone()).collect();
        assert_eq!(v[0], Value::String("yes".into()));
        assert_eq!(v[2], Value::String("on".into()));
        assert_eq!(v[3], Value::Int(1));
        assert_eq!(v[4], Value::Int(-2));
        assert_eq!(v[5], Value::Int(16));
        assert_eq!(v[6], Value::Float(1.5));
        assert_eq!(v[7], Value::Float(f64::INFINITY));
        assert_eq!(v[8], Value::Null);
        assert_eq!(v[9], Value::Null);
        assert_eq!(v[10], Value::String("1".into()));
        assert_eq!(v[11], Value::Bool(true));
        assert_eq!(v[12], Value::Float(1000.0));
        assert_eq!(v[13], Value::String("1.2.3".into()));
    }

    #[test]
    fn duplicate_keys_are_errors_with_location() {
        let err = parse("a: 1\nb: 2\na: 3\n").expect_err("duplicate");
        assert!(err.message.contains("duplicate key `a`"), "{err:?}");
        assert_eq!(err.location.as_ref().map(|l| l.line), Some(3));
    }

    #[test]
    fn an_unclosed_bracket_is_reported_where_it_opens() {
        let text = "a:\n  b: [1, 2\n  c: 3\n  d: 4\n";
        let err = parse(text).expect_err("unclosed");
        let loc = err.location.as_ref().expect("location");
        assert_eq!((loc.line, loc.column), (2, 6), "{err:?}");
        assert!(err.message.contains("`[` is never closed"), "{err:?}");
        // Brackets inside quotes, comments and plain scalars are not openers.
        let text = "a: 'x[y'\nb: c[d  # e[f\nc: {k: [1, 2]}\nd: [1,\n  e: f: g\n";
        let err = parse(text).expect_err("unclosed");
        let loc = err.location.as_ref().expect("location");
        assert_eq!((loc.line, loc.column), (4, 4), "{err:?}");
        // A closed collection followed by another error is left where the parser put it.
        let err = parse("a: [1, 2]\nb: c: d\n").expect_err("bad");
        assert_eq!(err.location.as_ref().map(|l| l.line), Some(2), "{err:?}");
        assert!(!err.message.contains("never closed"), "{err:?}");
    }

    #[test]
    fn syntax_errors_have_locations() {
        let err = parse("a:\n  b: [1, 2\n").expect_err("unclosed");
        assert!(err.message.starts_with("invalid YAML"), "{err:?}");
        assert!(err.location.is_some());
    }

    #[test]
    fn aliases_expand_and_billion_laughs_is_refused() {
        let docs = parse("a: &x {k: 1}\nb: *x\n").expect("valid");
        assert_eq!(
            docs[0].get(&Path::parse("b.k").expect("p")).map(|n| &n.value),
            Some(&Value::Int(1))
        );
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let err = parse(&bomb).expect_err("bomb");
        assert!(err.message.contains("more than"), "{err:?}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = "[".repeat(200) + &"]".repeat(200);
        let err = parse(&text).expect_err("deep");
        assert!(err.message.contains("nesting"), "{err:?}");
    }

    #[test]
    fn merge_overlays_maps_and_null_deletes() {
        let base = parse("a: {x: 1, y: 2}\nl: [1, 2]\n").expect("b").remove(0);
        let mut over = parse_yaml(
            &Arc::from("o.yaml"),
            "a: {y: 3, x: null, z: 4}\nl: [9]\n",
            Layer::Environment("prod".into()),
        )
        .expect("o")
        .remove(0);
        over.set_layer(&Layer::Environment("prod".into()));
        let mut merged = base.clone();
        merged.merge(&over);
        assert_eq!(
            merged.to_json(),
            serde_json::json!({"a": {"y": 3, "z": 4}, "l": [9]})
        );
        let y = merged.get(&Path::parse("a.y").expect("p")).expect("y");
        assert_eq!(y.layer, Layer::Environment("prod".into()));
        assert_eq!(&*y.loc.file, "o.yaml");
    }

    #[test]
    fn path_round_trips() {
        for p in [
            "a.b[0].c",
            "processes.web",
            "files[\"/etc/app.conf\"].content",
            "x[3]",
        ] {
            assert_eq!(Path::parse(p).expect(p).to_string(), p);
        }
    }
}
