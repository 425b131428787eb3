//! JSON Schemas of the app manifest and the platform file, and a checker that walks a located
//! YAML tree against them and reports *every* structural problem at once (unknown fields with
//! a did-you-mean, wrong types, missing fields, values outside an enum), each at its
//! `file:line:column`. Serde stops at the first error; users deserve the whole list.

use std::sync::OnceLock;

use serde_json::{Map, Value as J, json};

use crate::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use crate::manifest::App;
use crate::platform::Platform;
use crate::source::{Node, Path, Value};

/// The app manifest's JSON Schema (draft 2020-12), environment overrides included.
pub fn app_schema() -> &'static J {
    static SCHEMA: OnceLock<J> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut schema = schemars::schema_for!(App).to_value();
        add_override_defs(&mut schema);
        schema["$id"] = json!("https://ojek.dev/schemas/app-v1.json");
        schema
    })
}

/// The platform file's JSON Schema (draft 2020-12).
pub fn platform_schema() -> &'static J {
    static SCHEMA: OnceLock<J> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut schema = schemars::schema_for!(Platform).to_value();
        schema["$id"] = json!("https://ojek.dev/schemas/platform-v1.json");
        schema
    })
}

const OVERRIDE_PREFIX: &str = "Override";

/// The top-level field that holds settings of the app as a whole, the same in every
/// environment (its log streams' settings are stored per app): an environment override
/// cannot set it, and `load` says so at the override's line.
pub const PER_APP_ONLY: &str = "logs";

/// Environment overrides have the shape of the app body with nothing required: every
/// definition gets a copy named `Override<Name>` without `required`, and
/// `environments.<env>` points at `OverrideApp`.
fn add_override_defs(schema: &mut J) {
    let defs = schema
        .get("$defs")
        .and_then(J::as_object)
        .cloned()
        .unwrap_or_default();
    let mut root = schema.clone();
    if let Some(obj) = root.as_object_mut() {
        for k in ["$schema", "$defs", "title", "$id"] {
            obj.remove(k);
        }
        if let Some(props) = obj.get_mut("properties").and_then(J::as_object_mut) {
            for k in ["apiVersion", "kind", "environments", PER_APP_ONLY] {
                props.remove(k);
            }
        }
        obj.insert(
            "description".into(),
            json!("Overrides for one environment: any app field, merged key by key; null removes a key."),
        );
    }
    let mut new_defs = Map::new();
    for (name, def) in &defs {
        let mut copy = def.clone();
        if name == "Metadata"
            && let Some(props) = copy.get_mut("properties").and_then(J::as_object_mut)
        {
            props.remove("name");
            props.remove("team");
        }
        make_partial(&mut copy);
        new_defs.insert(format!("{OVERRIDE_PREFIX}{name}"), copy);
    }
    make_partial(&mut root);
    new_defs.insert(format!("{OVERRIDE_PREFIX}App"), root);
    if let Some(defs) = schema.get_mut("$defs").and_then(J::as_object_mut) {
        defs.extend(new_defs);
    }
    if let Some(defs) = schema.get_mut("$defs").and_then(J::as_object_mut) {
        defs.remove("EnvironmentOverride");
        defs.remove(&format!("{OVERRIDE_PREFIX}EnvironmentOverride"));
    }
    schema["properties"]["environments"] = json!({
        "description": "Per-environment overrides of any field above, merged key by key; `null` removes a key.",
        "type": "object",
        "additionalProperties": { "$ref": format!("#/$defs/{OVERRIDE_PREFIX}App") }
    });
}

fn make_partial(v: &mut J) {
    match v {
        J::Object(obj) => {
            obj.remove("required");
            if let Some(J::String(r)) = obj.get_mut("$ref")
                && let Some(name) = r.strip_prefix("#/$defs/")
            {
                *r = format!("#/$defs/{OVERRIDE_PREFIX}{name}");
            }
            obj.values_mut().for_each(make_partial);
            // In an override, `null` removes a key: every field and map entry may be null.
            let nullable = |v: &mut J| *v = json!({ "anyOf": [v.take(), { "type": "null" }] });
            if let Some(props) = obj.get_mut("properties").and_then(J::as_object_mut) {
                props.values_mut().for_each(nullable);
            }
            if let Some(add) = obj.get_mut("additionalProperties").filter(|a| a.is_object()) {
                nullable(add);
            }
        }
        J::Array(items) => items.iter_mut().for_each(make_partial),
        _ => {}
    }
}

/// Checks `node` against `schema`, appending every problem to `out`.
pub fn check(schema: &J, node: &Node, out: &mut Diagnostics) {
    static APP: OnceLock<Compiled> = OnceLock::new();
    static PLATFORM: OnceLock<Compiled> = OnceLock::new();
    let owned;
    let compiled = if std::ptr::eq(schema, app_schema()) {
        APP.get_or_init(|| Compiled::new(schema))
    } else if std::ptr::eq(schema, platform_schema()) {
        PLATFORM.get_or_init(|| Compiled::new(schema))
    } else {
        owned = Compiled::new(schema);
        &owned
    };
    compiled.walk(compiled.root, node, &Trail::ROOT, out, 0);
}

/// The path to the node being checked, built on the stack; turned into a [`Path`] only when
/// there is something to report (the walk visits every node, errors are rare).
struct Trail<'a> {
    parent: Option<&'a Trail<'a>>,
    key: Option<&'a str>,
    index: usize,
}

impl<'a> Trail<'a> {
    const ROOT: Trail<'static> = Trail {
        parent: None,
        key: None,
        index: 0,
    };

    fn key(&'a self, key: &'a str) -> Trail<'a> {
        Trail {
            parent: Some(self),
            key: Some(key),
            index: 0,
        }
    }

    fn index(&'a self, index: usize) -> Trail<'a> {
        Trail {
            parent: Some(self),
            key: None,
            index,
        }
    }

    fn to_path(&self) -> Path {
        let mut segs = Vec::new();
        let mut t = Some(self);
        while let Some(cur) = t {
            if cur.parent.is_some() {
                segs.push(match cur.key {
                    Some(k) => crate::source::Segment::Key(k.to_string()),
                    None => crate::source::Segment::Index(cur.index),
                });
            }
            t = cur.parent;
        }
        segs.reverse();
        Path(segs)
    }
}

/// A schema compiled for checking: `$ref`s resolved to indices, keywords read once. The
/// checker visits every node of every manifest it loads, so it must not look keywords up in
/// JSON maps each time.
struct Compiled {
    nodes: Vec<S>,
    root: usize,
}

enum S {
    /// Anything (`true`, or free-form values).
    Any,
    /// `anyOf` / `oneOf`.
    Alt(Vec<usize>),
    /// `const` / `enum`.
    Enum(Vec<J>),
    /// Everything else.
    Typed {
        types: Vec<&'static str>,
        /// Properties in schema order (for hints).
        props: Vec<(String, usize)>,
        /// The same, sorted by name (for lookups).
        by_name: Vec<(String, usize)>,
        additional: Additional,
        required: Vec<String>,
        items: Option<usize>,
        range: (i128, i128),
    },
}

enum Additional {
    Allowed,
    Forbidden,
    Schema(usize),
}

const TYPE_NAMES: &[&str] = &[
    "null", "boolean", "integer", "number", "string", "array", "object",
];

impl Compiled {
    fn new(root: &J) -> Self {
        let mut c = Compiled {
            nodes: Vec::new(),
            root: 0,
        };
        let mut defs = std::collections::HashMap::new();
        c.root = c.compile(root, root, &mut defs);
        c
    }

    fn compile(&mut self, root: &J, s: &J, defs: &mut std::collections::HashMap<String, usize>) -> usize {
        if let Some(r) = s.get("$ref").and_then(J::as_str) {
            let name = r.trim_start_matches("#/$defs/").to_string();
            if let Some(&i) = defs.get(&name) {
                return i;
            }
            // Reserve the slot first: definitions may refer to themselves.
            let slot = self.nodes.len();
            self.nodes.push(S::Any);
            defs.insert(name.clone(), slot);
            let compiled = match root.get("$defs").and_then(|d| d.get(&name)) {
                Some(def) => self.build(root, def, defs),
                None => S::Any,
            };
            self.nodes[slot] = compiled;
            return slot;
        }
        let node = self.build(root, s, defs);
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    fn build(&mut self, root: &J, s: &J, defs: &mut std::collections::HashMap<String, usize>) -> S {
        if s.get("$ref").is_some() {
            let target = self.compile(root, s, defs);
            return S::Alt(vec![target]);
        }
        if !s.is_object() {
            return S::Any;
        }
        if let Some(alts) = s.get("anyOf").or_else(|| s.get("oneOf")).and_then(J::as_array) {
            return S::Alt(alts.iter().map(|a| self.compile(root, a, defs)).collect());
        }
        if s.get("const").is_some() || s.get("enum").is_some() {
            return S::Enum(allowed_values_ref(s).cloned().collect());
        }
        let types: Vec<&'static str> = match s.get("type") {
            Some(J::String(t)) => TYPE_NAMES.iter().copied().filter(|n| n == t).collect(),
            Some(J::Array(a)) => TYPE_NAMES
                .iter()
                .copied()
                .filter(|n| a.iter().any(|t| t == *n))
                .collect(),
            _ => Vec::new(),
        };
        let props: Vec<(String, usize)> = s
            .get("properties")
            .and_then(J::as_object)
            .map(|p| {
                p.iter()
                    .map(|(k, v)| (k.clone(), self.compile(root, v, defs)))
                    .collect()
            })
            .unwrap_or_default();
        let mut by_name = props.clone();
        by_name.sort_by(|a, b| a.0.cmp(&b.0));
        let additional = match s.get("additionalProperties") {
            Some(J::Bool(false)) => Additional::Forbidden,
            Some(a) if a.is_object() => Additional::Schema(self.compile(root, a, defs)),
            _ => Additional::Allowed,
        };
        let required = s
            .get("required")
            .and_then(J::as_array)
            .map(|r| r.iter().filter_map(J::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        let items = s
            .get("items")
            .filter(|i| i.is_object())
            .map(|i| self.compile(root, i, defs));
        S::Typed {
            types,
            props,
            by_name,
            additional,
            required,
            items,
            range: int_range(s),
        }
    }

    /// Whether `node` has a type schema `i` accepts (values are checked later, for better errors).
    fn could_match(&self, i: usize, node: &Node, depth: usize) -> bool {
        if depth > 16 {
            return false;
        }
        match &self.nodes[i] {
            S::Any => true,
            S::Alt(alts) => alts.iter().any(|a| self.could_match(*a, node, depth + 1)),
            S::Enum(vals) => vals.iter().any(|v| {
                matches!(
                    (v, &node.value),
                    (J::String(_), Value::String(_))
                        | (J::Bool(_), Value::Bool(_))
                        | (J::Null, Value::Null)
                        | (J::Number(_), Value::Int(_) | Value::Float(_))
                        | (J::Array(_), Value::Seq(_))
                        | (J::Object(_), Value::Map(_))
                )
            }),
            S::Typed { types, .. } => types.is_empty() || types.iter().any(|t| type_matches(t, node)),
        }
    }

    fn enum_values(&self, i: usize) -> Option<&[J]> {
        match &self.nodes[i] {
            S::Enum(v) => Some(v),
            S::Alt(a) if a.len() == 1 => self.enum_values(a[0]),
            _ => None,
        }
    }

    fn walk(&self, i: usize, node: &Node, path: &Trail, out: &mut Diagnostics, depth: usize) {
        if depth > 64 {
            return;
        }
        match &self.nodes[i] {
            S::Any => {}
            S::Alt(branches) => self.walk_alternatives(branches, node, path, out, depth),
            S::Enum(allowed) => check_enum(allowed, node, path, out),
            S::Typed {
                types,
                props,
                by_name,
                additional,
                required,
                items,
                range,
            } => {
                if !types.is_empty() && !types.iter().any(|t| type_matches(t, node)) {
                    out.push(err(
                        node,
                        path,
                        format!("expected {}, found {}", describe_types(types), show_node(node)),
                    ));
                    return;
                }
                match &node.value {
                    Value::Map(entries) => {
                        for (key, value) in entries {
                            let child = path.key(&key.name);
                            if let Ok(at) = by_name.binary_search_by(|(k, _)| k.as_str().cmp(&key.name)) {
                                self.walk(by_name[at].1, value, &child, out, depth + 1);
                                continue;
                            }
                            match additional {
                                Additional::Forbidden => {
                                    let names: Vec<&str> = props.iter().map(|(k, _)| k.as_str()).collect();
                                    let d = Diagnostic::error(
                                        Some(key.loc.clone()),
                                        format!("unknown field `{}`", key.name),
                                    )
                                    .with_path(child.to_path());
                                    out.push(match did_you_mean(&key.name, names.iter().copied()) {
                                        Some(m) => d.with_hint(format!("did you mean `{m}`?")),
                                        None => d.with_hint(format!("fields here: {}", names.join(", "))),
                                    });
                                }
                                Additional::Schema(s) => self.walk(*s, value, &child, out, depth + 1),
                                Additional::Allowed => {}
                            }
                        }
                        for name in required {
                            if !entries.iter().any(|(k, _)| k.name == *name) {
                                out.push(err(node, path, format!("missing field `{name}`")));
                            }
                        }
                    }
                    Value::Seq(list) => {
                        if let Some(item) = items {
                            for (n, child) in list.iter().enumerate() {
                                self.walk(*item, child, &path.index(n), out, depth + 1);
                            }
                        }
                    }
                    Value::Int(v) => {
                        let (lo, hi) = *range;
                        if (*v as i128) < lo || (*v as i128) > hi {
                            out.push(err(node, path, format!("{v} is out of range ({lo} to {hi})")));
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    fn walk_alternatives(
        &self,
        branches: &[usize],
        node: &Node,
        path: &Trail,
        out: &mut Diagnostics,
        depth: usize,
    ) {
        // Unit-variant enums come as one `const` per branch: treat as one enum.
        if branches.len() > 1 && branches.iter().all(|b| self.enum_values(*b).is_some()) {
            let all: Vec<J> = branches
                .iter()
                .flat_map(|b| self.enum_values(*b).unwrap_or_default().iter().cloned())
                .collect();
            check_enum(&all, node, path, out);
            return;
        }
        // Most alternatives are `Option`s: exactly one branch fits; avoid collecting then.
        let mut fits = branches.iter().copied().filter(|b| self.could_match(*b, node, 0));
        if let (Some(one), None) = (fits.next(), fits.next()) {
            self.walk(one, node, path, out, depth + 1);
            return;
        }
        let fitting: Vec<usize> = branches
            .iter()
            .copied()
            .filter(|b| self.could_match(*b, node, 0))
            .collect();
        match fitting.as_slice() {
            [] => {
                let mut types: Vec<&str> = Vec::new();
                for b in branches {
                    self.collect_types(*b, &mut types, 0);
                }
                out.push(err(
                    node,
                    path,
                    format!("expected {}, found {}", describe_types(&types), show_node(node)),
                ));
            }
            [one] => self.walk(*one, node, path, out, depth + 1),
            many => {
                let mut best: Option<Diagnostics> = None;
                for b in many {
                    let mut trial = Diagnostics::default();
                    self.walk(*b, node, path, &mut trial, depth + 1);
                    if trial.0.is_empty() {
                        return;
                    }
                    if best.as_ref().is_none_or(|bst| trial.0.len() < bst.0.len()) {
                        best = Some(trial);
                    }
                }
                out.0.extend(best.unwrap_or_default().0);
            }
        }
    }

    fn collect_types(&self, i: usize, types: &mut Vec<&'static str>, depth: usize) {
        if depth > 4 {
            return;
        }
        match &self.nodes[i] {
            S::Typed { types: t, .. } => {
                for t in t {
                    if *t != "null" && !types.contains(t) {
                        types.push(t);
                    }
                }
            }
            // Untagged enums (`{env} | {file}`) nest alternatives inside an `Option`'s.
            S::Alt(alternatives) => {
                for a in alternatives {
                    self.collect_types(*a, types, depth + 1);
                }
            }
            _ => {}
        }
    }
}

fn check_enum(allowed: &[J], node: &Node, path: &Trail, out: &mut Diagnostics) {
    if allowed.iter().any(|a| json_matches(a, node)) {
        return;
    }
    let shown: Vec<String> = allowed.iter().map(show_json).collect();
    let names: Vec<&str> = allowed.iter().filter_map(J::as_str).collect();
    let hint = match node_str(node).and_then(|s| did_you_mean(s, names.iter().copied())) {
        Some(m) => format!("did you mean `{m}`? Allowed: {}", shown.join(", ")),
        None => format!("allowed: {}", shown.join(", ")),
    };
    out.push(err(node, path, format!("{} is not allowed here", show_node(node))).with_hint(hint));
}

fn err(node: &Node, path: &Trail, message: String) -> Diagnostic {
    Diagnostic::error(Some(node.loc.clone()), message).with_path(path.to_path())
}

fn allowed_values_ref(schema: &J) -> impl Iterator<Item = &J> {
    schema
        .get("const")
        .into_iter()
        .chain(schema.get("enum").and_then(J::as_array).into_iter().flatten())
}

fn type_matches(t: &str, node: &Node) -> bool {
    matches!(
        (t, &node.value),
        ("null", Value::Null)
            | ("boolean", Value::Bool(_))
            | ("integer", Value::Int(_))
            | ("number", Value::Int(_) | Value::Float(_))
            | ("string", Value::String(_))
            | ("array", Value::Seq(_))
            | ("object", Value::Map(_))
    )
}

fn int_range(schema: &J) -> (i128, i128) {
    let (mut lo, mut hi) = match schema.get("format").and_then(J::as_str) {
        Some("uint8") => (0, u8::MAX as i128),
        Some("uint16") => (0, u16::MAX as i128),
        Some("uint32" | "uint") => (0, u32::MAX as i128),
        Some("int32") => (i32::MIN as i128, i32::MAX as i128),
        _ => (i64::MIN as i128, i64::MAX as i128),
    };
    if let Some(m) = schema.get("minimum").and_then(J::as_i64) {
        lo = lo.max(m as i128);
    }
    if let Some(m) = schema.get("maximum").and_then(J::as_i64) {
        hi = hi.min(m as i128);
    }
    (lo, hi)
}

fn describe_types(types: &[&str]) -> String {
    let words: Vec<&str> = types
        .iter()
        .filter(|t| **t != "null" || types.len() == 1)
        .map(|t| match *t {
            "null" => "nothing",
            "boolean" => "true or false",
            "integer" => "a whole number",
            "number" => "a number",
            "string" => "a string",
            "array" => "a list",
            "object" => "a mapping",
            other => other,
        })
        .collect();
    words.join(" or ")
}

fn json_matches(expected: &J, node: &Node) -> bool {
    match (expected, &node.value) {
        (J::String(a), Value::String(b)) => a == b,
        (J::Bool(a), Value::Bool(b)) => a == b,
        (J::Null, Value::Null) => true,
        (J::Number(a), Value::Int(b)) => a.as_i64() == Some(*b),
        (J::String(_) | J::Bool(_) | J::Null | J::Number(_), _) => false,
        _ => *expected == node.to_json(),
    }
}

fn node_str(node: &Node) -> Option<&str> {
    match &node.value {
        Value::String(s) => Some(s),
        _ => None,
    }
}

fn show_json(v: &J) -> String {
    match v {
        J::String(s) => format!("`{s}`"),
        other => format!("`{other}`"),
    }
}

fn show_node(node: &Node) -> String {
    match &node.value {
        Value::String(s) if s.chars().count() > 40 => {
            format!("a string `{}…`", s.chars().take(40).collect::<String>())
        }
        Value::String(s) => format!("`{s}`"),
        Value::Int(i) => format!("`{i}`"),
        Value::Float(f) => format!("`{f}`"),
        Value::Bool(b) => format!("`{b}`"),
        _ => node.type_name().to_string(),
    }
}
