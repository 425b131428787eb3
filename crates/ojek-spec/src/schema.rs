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
            for k in ["apiVersion", "kind", "environments"] {
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
    let checker = Checker { root: schema };
    checker.walk(schema, node, &Path::root(), out, 0);
}

struct Checker<'a> {
    root: &'a J,
}

impl Checker<'_> {
    fn resolve<'s>(&'s self, mut schema: &'s J) -> &'s J {
        for _ in 0..32 {
            match schema.get("$ref").and_then(J::as_str) {
                Some(r) => match r.strip_prefix("#/$defs/") {
                    Some(name) => match self.root.get("$defs").and_then(|d| d.get(name)) {
                        Some(def) => schema = def,
                        None => return schema,
                    },
                    None => return schema,
                },
                None => return schema,
            }
        }
        schema
    }

    /// Whether `node` has a type `schema` accepts (values are checked later, for better errors).
    fn could_match(&self, schema: &J, node: &Node, depth: usize) -> bool {
        let s = self.resolve(schema);
        if depth > 16 {
            return false;
        }
        if s == &J::Bool(true) {
            return true;
        }
        if let Some(alts) = s.get("anyOf").or_else(|| s.get("oneOf")).and_then(J::as_array) {
            return alts.iter().any(|a| self.could_match(a, node, depth + 1));
        }
        if let Some(types) = schema_types(s) {
            return types.iter().any(|t| type_matches(t, node));
        }
        if let Some(vals) = allowed_values(s) {
            let node_json = node.to_json();
            return vals
                .iter()
                .any(|v| std::mem::discriminant(v) == std::mem::discriminant(&node_json));
        }
        true
    }

    fn walk(&self, schema: &J, node: &Node, path: &Path, out: &mut Diagnostics, depth: usize) {
        if depth > 64 {
            return;
        }
        let schema = self.resolve(schema);
        if schema == &J::Bool(true) {
            return;
        }
        if let Some(branches) = schema
            .get("anyOf")
            .or_else(|| schema.get("oneOf"))
            .and_then(J::as_array)
        {
            self.walk_alternatives(branches, node, path, out, depth);
            return;
        }
        if let Some(allowed) = allowed_values(schema) {
            if !allowed.iter().any(|a| json_matches(a, node)) {
                let shown: Vec<String> = allowed.iter().map(show_json).collect();
                let mut d = err(node, path, format!("{} is not allowed here", show_node(node)));
                let names: Vec<&str> = allowed.iter().filter_map(J::as_str).collect();
                let hint = match node_str(node).and_then(|s| did_you_mean(s, names.iter().copied())) {
                    Some(m) => format!("did you mean `{m}`? Allowed: {}", shown.join(", ")),
                    None => format!("allowed: {}", shown.join(", ")),
                };
                d = d.with_hint(hint);
                out.push(d);
            }
            return;
        }
        if let Some(types) = schema_types(schema)
            && !types.iter().any(|t| type_matches(t, node))
        {
            out.push(err(
                node,
                path,
                format!("expected {}, found {}", describe_types(&types), show_node(node)),
            ));
            return;
        }
        match &node.value {
            Value::Map(entries) => self.walk_object(schema, node, entries, path, out, depth),
            Value::Seq(items) => {
                if let Some(item_schema) = schema.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.walk(item_schema, item, &path.index(i), out, depth + 1);
                    }
                }
            }
            Value::Int(i) => {
                let (lo, hi) = int_range(schema);
                if (*i as i128) < lo || (*i as i128) > hi {
                    out.push(err(node, path, format!("{i} is out of range ({lo} to {hi})")));
                }
            }
            _ => {}
        }
    }

    fn walk_object(
        &self,
        schema: &J,
        node: &Node,
        entries: &[(crate::source::Key, Node)],
        path: &Path,
        out: &mut Diagnostics,
        depth: usize,
    ) {
        let props = schema.get("properties").and_then(J::as_object);
        let additional = schema.get("additionalProperties");
        for (key, value) in entries {
            let child = path.key(&key.name);
            if let Some(prop) = props.and_then(|p| p.get(&key.name)) {
                self.walk(prop, value, &child, out, depth + 1);
            } else {
                match additional {
                    Some(J::Bool(false)) => {
                        let names: Vec<&str> = props
                            .map(|p| p.keys().map(String::as_str).collect())
                            .unwrap_or_default();
                        let mut d =
                            Diagnostic::error(Some(key.loc.clone()), format!("unknown field `{}`", key.name))
                                .with_path(&child);
                        d = match did_you_mean(&key.name, names.iter().copied()) {
                            Some(m) => d.with_hint(format!("did you mean `{m}`?")),
                            None => d.with_hint(format!("fields here: {}", names.join(", "))),
                        };
                        out.push(d);
                    }
                    Some(s) if s.is_object() => self.walk(s, value, &child, out, depth + 1),
                    _ => {}
                }
            }
        }
        if let Some(required) = schema.get("required").and_then(J::as_array) {
            for name in required.iter().filter_map(J::as_str) {
                if !entries.iter().any(|(k, _)| k.name == name) {
                    out.push(err(node, path, format!("missing field `{name}`")));
                }
            }
        }
    }

    fn walk_alternatives(
        &self,
        branches: &[J],
        node: &Node,
        path: &Path,
        out: &mut Diagnostics,
        depth: usize,
    ) {
        // Unit-variant enums come as one `const` per branch: treat as one enum.
        let consts: Option<Vec<J>> = branches
            .iter()
            .map(|b| {
                let b = self.resolve(b);
                b.get("const")
                    .cloned()
                    .map(|c| vec![c])
                    .or_else(|| b.get("enum").and_then(J::as_array).cloned())
            })
            .collect::<Option<Vec<_>>>()
            .map(|v| v.into_iter().flatten().collect());
        if let Some(consts) = consts {
            let synthetic = json!({ "enum": consts });
            self.walk(&synthetic, node, path, out, depth);
            return;
        }
        let fitting: Vec<&J> = branches.iter().filter(|b| self.could_match(b, node, 0)).collect();
        match fitting.as_slice() {
            [] => {
                let mut types = Vec::new();
                for b in branches {
                    if let Some(t) = schema_types(self.resolve(b)) {
                        for t in t {
                            if t != "null" && !types.contains(&t) {
                                types.push(t);
                            }
                        }
                    }
                }
                out.push(err(
                    node,
                    path,
                    format!("expected {}, found {}", describe_types(&types), show_node(node)),
                ));
            }
            [one] => self.walk(one, node, path, out, depth + 1),
            many => {
                let mut best: Option<Diagnostics> = None;
                for b in many {
                    let mut trial = Diagnostics::default();
                    self.walk(b, node, path, &mut trial, depth + 1);
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
}

fn err(node: &Node, path: &Path, message: String) -> Diagnostic {
    Diagnostic::error(Some(node.loc.clone()), message).with_path(path)
}

fn allowed_values(schema: &J) -> Option<Vec<J>> {
    if let Some(c) = schema.get("const") {
        return Some(vec![c.clone()]);
    }
    schema.get("enum").and_then(J::as_array).cloned()
}

fn schema_types(schema: &J) -> Option<Vec<&str>> {
    match schema.get("type")? {
        J::String(s) => Some(vec![s.as_str()]),
        J::Array(a) => Some(a.iter().filter_map(J::as_str).collect()),
        _ => None,
    }
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
    *expected == node.to_json()
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
