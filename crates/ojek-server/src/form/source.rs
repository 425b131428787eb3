//! The user's YAML text as positions: lines, byte offsets of parser locations, and where
//! scalars, block entries, list items and flow collections end.
//!
//! Read-only and lexical: it finds extents, it does not parse or change the text.

use ojek_spec::source::Location;

pub(super) struct Source<'a> {
    pub(super) text: &'a str,
    /// Byte offset of each line's start.
    starts: Vec<usize>,
}

impl<'a> Source<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        if starts.last() == Some(&text.len()) && !text.is_empty() {
            starts.pop();
        }
        Source { text, starts }
    }

    pub(super) fn line_count(&self) -> usize {
        self.starts.len()
    }

    /// Line `i` (from 0) without its line break.
    pub(super) fn line(&self, i: usize) -> &'a str {
        let start = self.starts.get(i).copied().unwrap_or(self.text.len());
        let end = self.starts.get(i + 1).map_or(self.text.len(), |&next| next - 1);
        let line = self.text.get(start..end).unwrap_or("");
        line.strip_suffix('\r').unwrap_or(line)
    }

    /// The line (from 0) holding a byte offset.
    pub(super) fn line_index(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset).saturating_sub(1)
    }

    /// Offset just after line `i` and its line break.
    pub(super) fn after_line(&self, i: usize) -> usize {
        self.starts.get(i + 1).copied().unwrap_or(self.text.len())
    }

    pub(super) fn line_start(&self, loc: &Location) -> Option<usize> {
        self.starts.get((loc.line as usize).checked_sub(1)?).copied()
    }

    /// Byte offset of a location (columns count characters).
    pub(super) fn offset(&self, loc: &Location) -> Option<usize> {
        let start = self.line_start(loc)?;
        let col = (loc.column as usize).checked_sub(1)?;
        let rest = &self.text[start..];
        match rest.char_indices().nth(col) {
            Some((i, _)) => Some(start + i),
            None => (rest.chars().count() == col).then_some(self.text.len()),
        }
    }

    /// Whether only spaces precede `loc` on its line.
    pub(super) fn at_line_start(&self, loc: &Location) -> bool {
        match (self.line_start(loc), self.offset(loc)) {
            (Some(s), Some(o)) => self.text[s..o].bytes().all(|b| b == b' '),
            _ => false,
        }
    }

    /// The end of a block entry or list item whose key or dash is on line `line` (from 0) at
    /// column `column`: after the last following line indented deeper (comments included),
    /// or, for a mapping entry (`entry`), a `- ` item at the same column (a compact list).
    /// Trailing blank lines and less indented comments are left to what follows.
    pub(super) fn block_end(&self, line: usize, column: usize, entry: bool) -> usize {
        let mut end = self.after_line(line);
        for i in line + 1..self.line_count() {
            let l = self.line(i);
            let body = l.trim_start_matches(' ');
            if body.trim().is_empty() {
                continue;
            }
            let indent = l.len() - body.len();
            let compact_item = entry && indent == column && (body == "-" || body.starts_with("- "));
            if indent > column || compact_item {
                end = self.after_line(i);
            } else {
                break;
            }
        }
        end
    }

    /// The end of the scalar token starting at `start`: quoted, or plain up to a comment, a
    /// `: ` or (in flow context) a flow indicator. None for block scalars, anchors, aliases,
    /// tags and anything that is not a scalar token.
    pub(super) fn scalar_end(&self, start: usize, flow: bool) -> Option<usize> {
        let rest = self.text.get(start..)?;
        let b = rest.as_bytes();
        match *b.first()? {
            b'"' => {
                let mut i = 1;
                while i < b.len() {
                    match b[i] {
                        b'\\' => i += 2,
                        b'"' => return Some(start + i + 1),
                        _ => i += 1,
                    }
                }
                None
            }
            b'\'' => {
                let mut i = 1;
                while i < b.len() {
                    if b[i] == b'\'' {
                        if b.get(i + 1) == Some(&b'\'') {
                            i += 2;
                            continue;
                        }
                        return Some(start + i + 1);
                    }
                    i += 1;
                }
                None
            }
            b'|' | b'>' | b'&' | b'*' | b'!' | b'{' | b'[' | b'#' | b'\n' | b'\r' | b' ' => None,
            _ => {
                let mut i = 0;
                while i < b.len() {
                    let c = b[i];
                    let next = b.get(i + 1).copied();
                    let ends_value = |n: Option<u8>| {
                        matches!(n, None | Some(b' ' | b'\t' | b'\n' | b'\r'))
                            || (flow && matches!(n, Some(b',' | b'[' | b']' | b'{' | b'}')))
                    };
                    if c == b'\n'
                        || c == b'\r'
                        || (c == b'#' && i > 0 && matches!(b[i - 1], b' ' | b'\t'))
                        || (c == b':' && ends_value(next))
                        || (flow && matches!(c, b',' | b'[' | b']' | b'{' | b'}'))
                    {
                        break;
                    }
                    i += 1;
                }
                let token = rest[..i].trim_end_matches([' ', '\t']);
                (!token.is_empty()).then_some(start + token.len())
            }
        }
    }

    /// The end of the flow collection whose `{` or `[` is at `start`.
    pub(super) fn flow_end(&self, start: usize) -> Option<usize> {
        let b = self.text.as_bytes();
        let mut depth = 0usize;
        // The last byte that was not blank: a quote starts a scalar only after an indicator
        // (`it's` is plain).
        let mut last = b'[';
        let mut i = start;
        while i < b.len() {
            match b[i] {
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                b'"' | b'\'' if matches!(last, b'[' | b'{' | b',' | b':' | b'?') => {
                    i = self.scalar_end(i, true)? - 1;
                }
                b'#' if i > 0 && matches!(b[i - 1], b' ' | b'\t' | b'\n') => {
                    while i < b.len() && b[i] != b'\n' {
                        i += 1;
                    }
                    continue;
                }
                _ => {}
            }
            if !matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
                last = b[i];
            }
            i += 1;
        }
        None
    }
}
