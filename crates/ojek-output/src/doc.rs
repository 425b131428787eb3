//! A generated object and the origin of each of its fields.
//!
//! Origins are recorded by JSON pointer (`/spec/replicas`). A field without an origin of its
//! own takes the origin of its nearest ancestor that has one, so a renderer records the
//! object's origin once and then only the fields that come from somewhere else.

use std::collections::BTreeMap;

use ojek_spec::Diagnostics;
use ojek_spec::platform::TargetKind;
use serde::Serialize;
use serde_json::Value;

use crate::origin::Origin;

/// A value a packaging format may turn into a parameter (Helm values: image tags, replicas).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Param {
    /// JSON pointer of the field in the object.
    pub pointer: String,
    /// Dotted name in the values file (`web.image.tag`).
    pub name: String,
    /// The value as rendered.
    pub value: Value,
    /// For image tags: the part of the field before the tag (`registry/app:`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

/// One generated object.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Doc {
    /// The object.
    pub value: Value,
    /// Origins by JSON pointer; `""` is the whole object.
    pub origins: Origins,
    /// Fields a packaging format may parameterise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<Param>,
}

impl Doc {
    /// An object whose fields all come from `origin` until traced otherwise.
    pub fn new(value: Value, origin: Origin) -> Self {
        let mut origins = Origins::default();
        origins.insert(String::new(), origin);
        Doc {
            value,
            origins,
            params: Vec::new(),
        }
    }

    /// Records where the field at `pointer` (and everything below it) came from.
    pub fn trace(&mut self, pointer: &str, origin: Origin) {
        debug_assert!(
            self.value.pointer(pointer).is_some(),
            "trace of a missing field {pointer} in {}",
            self.value
        );
        self.origins.insert(pointer.to_string(), origin);
    }

    /// Records that the field at `pointer` was replaced as a whole: origins recorded below it
    /// before no longer apply.
    pub fn trace_replaced(&mut self, pointer: &str, origin: Origin) {
        let below = format!("{pointer}/");
        self.origins.0.retain(|(p, _)| !p.starts_with(&below));
        self.origins.insert(pointer.to_string(), origin);
    }

    /// Sets `pointer` (creating parent objects) to `value` and records its origin.
    pub fn set(&mut self, pointer: &str, value: Value, origin: Origin) {
        set_pointer(&mut self.value, pointer, value);
        self.origins.insert(pointer.to_string(), origin);
    }

    /// Puts `child` at `pointer` (creating parents), keeping the child's origins and params
    /// under that pointer. Lets renderers build parts (a pod template, a container) apart.
    pub fn graft(&mut self, pointer: &str, child: Doc) {
        set_pointer(&mut self.value, pointer, child.value);
        self.origins.0.reserve(child.origins.0.len());
        for (p, o) in child.origins.0 {
            let mut key = String::with_capacity(pointer.len() + p.len());
            key.push_str(pointer);
            key.push_str(&p);
            self.origins.0.push((key, o));
        }
        for mut param in child.params {
            param.pointer = format!("{pointer}{}", param.pointer);
            self.params.push(param);
        }
    }

    /// Appends `child` to the array at `pointer` (creating it), keeping its origins.
    pub fn push(&mut self, pointer: &str, child: Doc) {
        let len = match self.value.pointer(pointer) {
            Some(Value::Array(a)) => a.len(),
            _ => {
                set_pointer(&mut self.value, pointer, Value::Array(Vec::new()));
                0
            }
        };
        self.graft(&format!("{pointer}/{len}"), child);
    }

    /// Marks a field as a packaging parameter.
    pub fn param(&mut self, pointer: &str, name: impl Into<String>, prefix: Option<String>) {
        if let Some(v) = self.value.pointer(pointer) {
            self.params.push(Param {
                pointer: pointer.to_string(),
                name: name.into(),
                value: v.clone(),
                prefix,
            });
        }
    }

    /// The origin of the field at `pointer`: its own, or its nearest traced ancestor's.
    /// Returns the pointer the origin was recorded at.
    pub fn origin(&self, pointer: &str) -> Option<(&str, &Origin)> {
        let mut p = pointer;
        loop {
            if let Some((k, o)) = self.origins.get_key_value(p) {
                return Some((k.as_str(), o));
            }
            if p.is_empty() {
                return None;
            }
            p = match p.rfind('/') {
                Some(i) => &p[..i],
                None => "",
            };
        }
    }

    /// Every leaf field (scalars, empty lists and maps) with its pointer, in document order.
    pub fn leaves(&self) -> Vec<(String, &Value)> {
        let mut out = Vec::new();
        collect_leaves(&self.value, String::new(), &mut out);
        out
    }

    /// `kind` for Kubernetes objects; `Job` for Nomad jobs.
    pub fn kind(&self) -> &str {
        if self.value.get("Job").is_some() {
            return "Job";
        }
        self.value.get("kind").and_then(Value::as_str).unwrap_or("")
    }

    /// `metadata.name` for Kubernetes objects; `Job.ID` for Nomad jobs.
    pub fn name(&self) -> &str {
        if let Some(id) = self.value.pointer("/Job/ID").and_then(Value::as_str) {
            return id;
        }
        self.value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// `Kind/name`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.kind(), self.name())
    }
}

/// Origins by JSON pointer. Renderers record thousands per app, so this is an append-only
/// list in which a later entry for the same pointer wins; lookups (explain) scan it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Origins(Vec<(String, Origin)>);

impl Origins {
    /// Records `origin` for `pointer`, replacing any earlier one.
    pub fn insert(&mut self, pointer: String, origin: Origin) {
        self.0.push((pointer, origin));
    }

    /// Forgets the origin of `pointer`.
    pub fn remove(&mut self, pointer: &str) {
        self.0.retain(|(p, _)| p != pointer);
    }

    /// The origin recorded for exactly `pointer`, with the stored pointer.
    pub fn get_key_value(&self, pointer: &str) -> Option<(&String, &Origin)> {
        self.0
            .iter()
            .rev()
            .find(|(p, _)| p == pointer)
            .map(|(p, o)| (p, o))
    }

    /// Every recorded origin (earlier, replaced ones included).
    pub fn values(&self) -> impl Iterator<Item = &Origin> {
        self.0.iter().map(|(_, o)| o)
    }

    /// Every (pointer, origin), in the order recorded.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Origin)> {
        self.0.iter().map(|(p, o)| (p, o))
    }

    /// The current origin of each pointer, sorted by pointer.
    pub fn current(&self) -> BTreeMap<&str, &Origin> {
        self.0.iter().map(|(p, o)| (p.as_str(), o)).collect()
    }
}

impl Extend<(String, Origin)> for Origins {
    fn extend<I: IntoIterator<Item = (String, Origin)>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

impl Serialize for Origins {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.current().serialize(s)
    }
}

/// Escapes a key for use in a JSON pointer.
pub fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn collect_leaves<'a>(v: &'a Value, path: String, out: &mut Vec<(String, &'a Value)>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                collect_leaves(child, format!("{path}/{}", escape(k)), out);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for (i, child) in a.iter().enumerate() {
                collect_leaves(child, format!("{path}/{i}"), out);
            }
        }
        _ => out.push((path, v)),
    }
}

fn set_pointer(root: &mut Value, pointer: &str, value: Value) {
    if pointer.is_empty() {
        *root = value;
        return;
    }
    let mut cur = root;
    let mut parts = pointer.split('/').skip(1).peekable();
    while let Some(raw) = parts.next() {
        let part: std::borrow::Cow<str> = if raw.contains('~') {
            raw.replace("~1", "/").replace("~0", "~").into()
        } else {
            raw.into()
        };
        if !cur.is_object() && !cur.is_array() {
            // A missing container is an array when it is indexed by a number.
            *cur = if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
                Value::Array(Vec::new())
            } else {
                Value::Object(Default::default())
            };
        }
        cur = match cur {
            Value::Array(a) => {
                let idx = part.parse::<usize>().unwrap_or(a.len());
                while a.len() <= idx {
                    a.push(Value::Null);
                }
                &mut a[idx]
            }
            Value::Object(m) => {
                if !m.contains_key(part.as_ref()) {
                    m.insert(part.to_string(), Value::Null);
                }
                match m.get_mut(part.as_ref()) {
                    Some(v) => v,
                    None => return,
                }
            }
            _ => return,
        };
        if parts.peek().is_none() {
            *cur = value;
            return;
        }
    }
}

/// The output of rendering one app for one environment and target.
#[derive(Clone, Debug, Serialize)]
pub struct Rendered {
    /// Kubernetes or Nomad.
    pub target: TargetKind,
    /// Generated objects, in apply order (Nomad: the job first, then raw extra jobs).
    pub objects: Vec<Doc>,
    /// Warnings (fields dropped under `bestEffort`, and the like).
    pub warnings: Diagnostics,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn origin_falls_back_to_nearest_ancestor() {
        let mut d = Doc::new(json!({"spec": {"a": 1, "b": {"c": 2}}}), Origin::default("root"));
        d.trace("/spec/b", Origin::default("b"));
        assert_eq!(
            d.origin("/spec/b/c").map(|(p, o)| (p, &*o.note)),
            Some(("/spec/b", "b"))
        );
        assert_eq!(d.origin("/spec/a").map(|(p, _)| p), Some(""));
    }

    #[test]
    fn set_creates_parents() {
        let mut d = Doc::new(json!({}), Origin::default("root"));
        d.set(
            "/metadata/labels/app.kubernetes.io~1name",
            json!("x"),
            Origin::default("l"),
        );
        assert_eq!(
            d.value,
            json!({"metadata": {"labels": {"app.kubernetes.io/name": "x"}}})
        );
        let leaves = d.leaves();
        assert_eq!(leaves[0].0, "/metadata/labels/app.kubernetes.io~1name");
        d.set("/spec/items/0/name", json!("a"), Origin::default("i"));
        assert_eq!(d.value["spec"]["items"], json!([{"name": "a"}]));
    }
}
