//! The in-place editor: reconciles the located YAML tree with the desired document into text
//! edits, so comments, key order and formatting survive (step 2 of [`super::apply_form`]).
//!
//! Gives up (returns `None`) rather than guess; the caller checks the result reads back and
//! falls back to coarser rewrites.

use ojek_spec::source::{Key, Node, Value};
use serde_json::{Map, Value as Json};

use super::compare::{reads_as, same};
use super::source::Source;
use super::write::{flow_text, pad, push_entry, push_item_body, scalar_text, to_yaml_entry};

/// A replacement of `start..end` of the source by `text`.
struct Edit {
    start: usize,
    end: usize,
    text: String,
}

/// This part cannot be edited in place; the caller rewrites something larger.
struct Unsafe;

type Patched = Result<(), Unsafe>;

struct Patcher<'s, 'a> {
    src: &'s Source<'a>,
    edits: Vec<Edit>,
    /// Rewrite changed top-level entries whole, with the platform's YAML writer.
    shallow: bool,
}

/// The text with the changes from the old tree to `desired`, if they can be made by edits.
pub(super) fn patch_document(src: &Source<'_>, root: &Node, desired: &Json, shallow: bool) -> Option<String> {
    let mut p = Patcher {
        src,
        edits: Vec::new(),
        shallow,
    };
    p.value(root, desired, false, root.loc.line, 0).ok()?;
    let mut edits = p.edits;
    edits.sort_by_key(|e| (e.start, e.end));
    let newline = if src.text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut out = String::with_capacity(src.text.len() + 256);
    let mut at = 0;
    for e in &edits {
        if e.start < at {
            return None;
        }
        out.push_str(&src.text[at..e.start]);
        if newline == "\n" {
            out.push_str(&e.text);
        } else {
            out.push_str(&e.text.replace('\n', newline));
        }
        at = e.end;
    }
    out.push_str(&src.text[at..]);
    Some(out)
}

impl Patcher<'_, '_> {
    fn push(&mut self, start: usize, end: usize, text: String) {
        self.edits.push(Edit { start, end, text });
    }

    fn is_flow(&self, node: &Node) -> bool {
        self.src
            .offset(&node.loc)
            .and_then(|o| self.src.text.as_bytes().get(o))
            .is_some_and(|b| matches!(b, b'{' | b'['))
    }

    /// Makes `node` (a value whose key or dash is on `owner_line`) read as `new`.
    fn value(&mut self, node: &Node, new: &Json, flow: bool, owner_line: u32, depth: usize) -> Patched {
        if same(&node.to_json(), new) {
            return Ok(());
        }
        if self.shallow && depth > 0 {
            return Err(Unsafe);
        }
        let is_flow = self.is_flow(node);
        match (&node.value, new) {
            (Value::Map(_) | Value::Seq(_), _) if is_flow => self.flow_collection(node, new, depth),
            (Value::Map(entries), Json::Object(m)) => self.block_map(entries, m, depth),
            (Value::Seq(items), Json::Array(a)) => self.block_seq(items, a, depth),
            (Value::Map(_) | Value::Seq(_), _) => Err(Unsafe),
            (_, Json::Object(_) | Json::Array(_)) if !flow => Err(Unsafe),
            _ => self.scalar(node, new, flow, owner_line),
        }
    }

    /// Replaces a scalar token in place.
    fn scalar(&mut self, node: &Node, new: &Json, flow: bool, owner_line: u32) -> Patched {
        // In block context a value on a later line than its key is a block scalar, a
        // multi-line scalar or an empty value: not replaceable in place.
        if !flow && node.loc.line != owner_line {
            return Err(Unsafe);
        }
        let start = self.src.offset(&node.loc).ok_or(Unsafe)?;
        let end = self.src.scalar_end(start, flow).ok_or(Unsafe)?;
        if !reads_as(&self.src.text[start..end], &node.to_json()) {
            return Err(Unsafe);
        }
        self.push(start, end, scalar_text(new, flow));
        Ok(())
    }

    /// A `{…}` or `[…]` collection: element by element when the shape is the same, else
    /// written afresh on its line.
    fn flow_collection(&mut self, node: &Node, new: &Json, depth: usize) -> Patched {
        let mark = self.edits.len();
        let in_place = match (&node.value, new) {
            (Value::Map(entries), Json::Object(m))
                if entries.len() == m.len()
                    && entries.iter().zip(m).all(|((k, _), (nk, _))| &k.name == nk) =>
            {
                entries.iter().zip(m).try_for_each(|((k, v), (_, nv))| {
                    if v.loc < k.loc {
                        return Err(Unsafe); // an alias
                    }
                    self.value(v, nv, true, k.loc.line, depth + 1)
                })
            }
            (Value::Seq(items), Json::Array(a)) if items.len() == a.len() => items
                .iter()
                .zip(a)
                .try_for_each(|(v, nv)| self.value(v, nv, true, v.loc.line, depth + 1)),
            _ => Err(Unsafe),
        };
        if in_place.is_ok() {
            return Ok(());
        }
        self.edits.truncate(mark);
        let (start, end) = self.node_extent(node).ok_or(Unsafe)?;
        let text = self.flow_rewrite(node, new);
        self.push(start, end, text);
        Ok(())
    }

    /// The end of the block entry (`entry`) or list item on line `line` at `column` that holds
    /// `value`: its more indented lines, and all of a value written on its line (a flow
    /// collection may close at the key's column, a quoted scalar may go on).
    fn end_of(&self, line: u32, column: usize, entry: bool, value: &Node) -> usize {
        let end = self.src.block_end(line as usize - 1, column, entry);
        match self.node_extent(value) {
            Some((_, e)) if e > end => self.src.after_line(self.src.line_index(e - 1)),
            _ => end,
        }
    }

    /// Where a flow collection or a one-line scalar is written, checked by reading it back.
    fn node_extent(&self, node: &Node) -> Option<(usize, usize)> {
        let start = self.src.offset(&node.loc)?;
        let end = if self.is_flow(node) {
            self.src.flow_end(start)?
        } else {
            self.src.scalar_end(start, true)?
        };
        reads_as(&self.src.text[start..end], &node.to_json()).then_some((start, end))
    }

    /// `new` in flow style, reusing the text of what did not change (keys, values, nested
    /// collections), so a rewritten `{…}` keeps the user's quoting.
    fn flow_rewrite(&self, node: &Node, new: &Json) -> String {
        let reuse = |old: &Node, new: &Json| -> String {
            if let Some((s, e)) = self.node_extent(old).filter(|_| same(&old.to_json(), new)) {
                return self.src.text[s..e].to_string();
            }
            match (&old.value, new) {
                (Value::Map(_), Json::Object(_)) | (Value::Seq(_), Json::Array(_)) if self.is_flow(old) => {
                    self.flow_rewrite(old, new)
                }
                _ => flow_text(new),
            }
        };
        match (&node.value, new) {
            (Value::Map(entries), Json::Object(m)) => {
                let items: Vec<String> = m
                    .iter()
                    .map(|(k, v)| {
                        let key = Json::String(k.clone());
                        match entries.iter().find(|(ok, ov)| &ok.name == k && ov.loc >= ok.loc) {
                            Some((ok, ov)) => {
                                let key_text = self
                                    .src
                                    .offset(&ok.loc)
                                    .and_then(|s| Some((s, self.src.scalar_end(s, true)?)))
                                    .map(|(s, e)| &self.src.text[s..e])
                                    .filter(|t| reads_as(t, &key))
                                    .map_or_else(|| scalar_text(&key, true), str::to_string);
                                format!("{key_text}: {}", reuse(ov, v))
                            }
                            None => format!("{}: {}", scalar_text(&key, true), flow_text(v)),
                        }
                    })
                    .collect();
                format!("{{{}}}", items.join(", "))
            }
            (Value::Seq(items), Json::Array(a)) => {
                let texts: Vec<String> = a
                    .iter()
                    .enumerate()
                    .map(|(i, v)| match items.get(i) {
                        Some(old) => reuse(old, v),
                        None => flow_text(v),
                    })
                    .collect();
                format!("[{}]", texts.join(", "))
            }
            _ => flow_text(new),
        }
    }

    fn block_map(&mut self, entries: &[(Key, Node)], new: &Map<String, Json>, depth: usize) -> Patched {
        let Some((first, _)) = entries.first() else {
            return Err(Unsafe);
        };
        if new.is_empty() {
            return Err(Unsafe);
        }
        let column = first.loc.column;
        if entries.iter().any(|(k, _)| k.loc.column != column) {
            return Err(Unsafe);
        }
        let indent = column as usize - 1;
        let old_keys: Vec<&str> = entries.iter().map(|(k, _)| k.name.as_str()).collect();
        let new_entries: Vec<(&String, &Json)> = new.iter().collect();
        let kept_old: Vec<&str> = old_keys
            .iter()
            .copied()
            .filter(|k| new.contains_key(*k))
            .collect();
        let kept_new: Vec<&str> = new
            .keys()
            .map(String::as_str)
            .filter(|k| old_keys.contains(k))
            .collect();
        if kept_old != kept_new {
            return Err(Unsafe); // reordered
        }
        // Walk the gaps between kept keys: pair removed with added keys (renames), then
        // remove or insert the rest.
        let (mut i, mut j) = (0, 0);
        let mut last: Option<usize> = None;
        while i < entries.len() || j < new_entries.len() {
            let gi = (i..entries.len())
                .find(|&x| new.contains_key(old_keys[x]))
                .unwrap_or(entries.len());
            let gj = (j..new_entries.len())
                .find(|&x| old_keys.contains(&new_entries[x].0.as_str()))
                .unwrap_or(new_entries.len());
            let paired = (gi - i).min(gj - j);
            for k in 0..paired {
                let (nk, nv) = new_entries[j + k];
                self.entry(&entries[i + k], nk, nv, indent, depth)?;
                last = Some(i + k);
            }
            for entry in &entries[i + paired..gi] {
                self.delete_entry(entry, indent)?;
            }
            if gj - j > paired {
                self.insert_entries(entries, last, &new_entries[j + paired..gj], indent)?;
            }
            i = gi;
            j = gj;
            if i < entries.len() && j < new_entries.len() {
                let (nk, nv) = new_entries[j];
                self.entry(&entries[i], nk, nv, indent, depth)?;
                last = Some(i);
                i += 1;
                j += 1;
            }
        }
        Ok(())
    }

    /// Makes one entry read `new_key: new`: in place, or else written afresh.
    fn entry(
        &mut self,
        (key, value): &(Key, Node),
        new_key: &str,
        new: &Json,
        indent: usize,
        depth: usize,
    ) -> Patched {
        if key.name == new_key && same(&value.to_json(), new) {
            return Ok(());
        }
        let mark = self.edits.len();
        if self.entry_in_place(key, value, new_key, new, depth).is_ok() {
            return Ok(());
        }
        self.edits.truncate(mark);
        let start = self.src.offset(&key.loc).ok_or(Unsafe)?;
        let end = self.end_of(key.loc.line, indent, true, value);
        let text = if self.shallow {
            to_yaml_entry(new_key, new, indent)
        } else {
            let mut t = String::new();
            push_entry(&mut t, new_key, new, indent);
            t
        };
        self.push(start, end, text);
        Ok(())
    }

    fn entry_in_place(
        &mut self,
        key: &Key,
        value: &Node,
        new_key: &str,
        new: &Json,
        depth: usize,
    ) -> Patched {
        if value.loc < key.loc {
            return Err(Unsafe); // an alias: its location is its anchor's
        }
        if key.name != new_key {
            let start = self.src.offset(&key.loc).ok_or(Unsafe)?;
            let end = self.src.scalar_end(start, false).ok_or(Unsafe)?;
            if !reads_as(&self.src.text[start..end], &Json::String(key.name.clone())) {
                return Err(Unsafe);
            }
            self.push(start, end, scalar_text(&Json::String(new_key.to_string()), false));
        }
        self.value(value, new, false, key.loc.line, depth + 1)
    }

    fn delete_entry(&mut self, (key, value): &(Key, Node), indent: usize) -> Patched {
        if !self.src.at_line_start(&key.loc) {
            return Err(Unsafe);
        }
        let start = self.src.line_start(&key.loc).ok_or(Unsafe)?;
        let end = self.end_of(key.loc.line, indent, true, value);
        self.push(start, end, String::new());
        Ok(())
    }

    /// Inserts entries after entry `after` (or before the first entry).
    fn insert_entries(
        &mut self,
        entries: &[(Key, Node)],
        after: Option<usize>,
        new: &[(&String, &Json)],
        indent: usize,
    ) -> Patched {
        let at = match after {
            Some(a) => {
                let (key, value) = &entries[a];
                self.end_of(key.loc.line, indent, true, value)
            }
            None => {
                let key = &entries.first().ok_or(Unsafe)?.0;
                if !self.src.at_line_start(&key.loc) {
                    return Err(Unsafe);
                }
                self.src.line_start(&key.loc).ok_or(Unsafe)?
            }
        };
        let mut text = String::new();
        if at == self.src.text.len() && !self.src.text.is_empty() && !self.src.text.ends_with('\n') {
            text.push('\n');
        }
        for (k, v) in new {
            pad(&mut text, indent);
            if self.shallow {
                text.push_str(&to_yaml_entry(k, v, indent));
            } else {
                push_entry(&mut text, k, v, indent);
            }
        }
        self.push(at, at, text);
        Ok(())
    }

    fn block_seq(&mut self, items: &[Node], new: &[Json], depth: usize) -> Patched {
        if items.is_empty() || new.is_empty() {
            return Err(Unsafe);
        }
        // Every item must start on its own line after `- ` at one column.
        let mut dash: Option<usize> = None;
        let mut prev_line = 0;
        for item in items {
            if item.loc.line <= prev_line {
                return Err(Unsafe);
            }
            prev_line = item.loc.line;
            let ls = self.src.line_start(&item.loc).ok_or(Unsafe)?;
            let off = self.src.offset(&item.loc).ok_or(Unsafe)?;
            let prefix = &self.src.text[ls..off];
            let body = prefix.trim_start_matches(' ');
            let col = prefix.len() - body.len();
            let ok = body.len() >= 2 && body.starts_with('-') && body[1..].bytes().all(|b| b == b' ');
            if !ok || dash.is_some_and(|d| d != col) {
                return Err(Unsafe);
            }
            dash = Some(col);
        }
        let dash = dash.ok_or(Unsafe)?;
        let (n, m) = (items.len(), new.len());
        let mut prefix = 0;
        while prefix < n && prefix < m && same(&items[prefix].to_json(), &new[prefix]) {
            prefix += 1;
        }
        let mut suffix = 0;
        while suffix < n - prefix
            && suffix < m - prefix
            && same(&items[n - 1 - suffix].to_json(), &new[m - 1 - suffix])
        {
            suffix += 1;
        }
        let (old_mid, new_mid) = (prefix..n - suffix, prefix..m - suffix);
        let paired = old_mid.len().min(new_mid.len());
        for k in 0..paired {
            self.item(&items[prefix + k], &new[prefix + k], dash, depth)?;
        }
        for item in &items[prefix + paired..old_mid.end] {
            let start = self.src.line_start(&item.loc).ok_or(Unsafe)?;
            let end = self.end_of(item.loc.line, dash, false, item);
            self.push(start, end, String::new());
        }
        if new_mid.len() > paired {
            let at = match (prefix + paired).checked_sub(1) {
                Some(a) => self.end_of(items[a].loc.line, dash, false, &items[a]),
                None => self.src.line_start(&items[0].loc).ok_or(Unsafe)?,
            };
            let mut text = String::new();
            if at == self.src.text.len() && !self.src.text.ends_with('\n') {
                text.push('\n');
            }
            for v in &new[prefix + paired..new_mid.end] {
                pad(&mut text, dash);
                text.push_str("- ");
                if self.shallow {
                    return Err(Unsafe);
                }
                push_item_body(&mut text, v, dash + 2);
                text.push('\n');
            }
            self.push(at, at, text);
        }
        Ok(())
    }

    /// Makes one list item read as `new`: in place, or else written afresh after its dash.
    fn item(&mut self, item: &Node, new: &Json, dash: usize, depth: usize) -> Patched {
        let mark = self.edits.len();
        if self.value(item, new, false, item.loc.line, depth + 1).is_ok() {
            return Ok(());
        }
        self.edits.truncate(mark);
        if self.shallow {
            return Err(Unsafe);
        }
        let start = self.src.offset(&item.loc).ok_or(Unsafe)?;
        let end = self.end_of(item.loc.line, dash, false, item);
        let mut text = String::new();
        push_item_body(&mut text, new, item.loc.column as usize - 1);
        text.push('\n');
        self.push(start, end, text);
        Ok(())
    }
}
