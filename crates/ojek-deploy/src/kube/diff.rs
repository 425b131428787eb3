//! Field-level differences between two versions of a Kubernetes object, and their text form.
//!
//! Pure: compares JSON values. Server-maintained fields (`status`, `managedFields`,
//! `resourceVersion`, `generation`, `uid`, `creationTimestamp`) are removed first by
//! [`normalize`]. Lists of objects with a `name` (containers, ports, env, volumes) are matched
//! by name, so a reordering is not reported as a change of every item, and paths read
//! `spec.template.spec.containers[name=web].image`.

use serde::Serialize;
use serde_json::{Map, Value};

/// The annotation ojek sets to the app revision on every applied object.
pub const REVISION_ANNOTATION: &str = "ojek.dev/revision";

/// Metadata the server maintains; never a difference ojek made.
const SERVER_METADATA: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "generation",
    "uid",
    "creationTimestamp",
    "selfLink",
];

/// One changed field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    /// Where: `spec.template.spec.containers[name=web].image`, `metadata.labels["ojek.dev/app"]`.
    pub path: String,
    /// The live value (absent: the field is added).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    /// The value after applying (absent: the field is removed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
}

/// The object without `status` and server-maintained metadata.
pub fn normalize(obj: &Value) -> Value {
    let mut obj = obj.clone();
    if let Some(map) = obj.as_object_mut() {
        map.shift_remove("status");
        if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            for field in SERVER_METADATA {
                meta.shift_remove(*field);
            }
        }
    }
    obj
}

/// The object without the revision annotation (and without `annotations` if it was the only one).
pub fn without_revision(obj: &Value) -> Value {
    let mut obj = obj.clone();
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        let empty = match meta.get_mut("annotations").and_then(Value::as_object_mut) {
            Some(annotations) => {
                annotations.shift_remove(REVISION_ANNOTATION);
                annotations.is_empty()
            }
            None => false,
        };
        if empty {
            meta.shift_remove("annotations");
        }
    }
    obj
}

/// The differences from `old` to `new`, both normalised first, in document order.
pub fn diff(old: &Value, new: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    walk(&normalize(old), &normalize(new), "", &mut out);
    out
}

fn walk(old: &Value, new: &Value, path: &str, out: &mut Vec<FieldChange>) {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            for (k, ov) in o {
                let p = join_key(path, k);
                match n.get(k) {
                    Some(nv) => walk(ov, nv, &p, out),
                    None => out.push(change(p, Some(ov), None)),
                }
            }
            for (k, nv) in n.iter().filter(|(k, _)| !o.contains_key(*k)) {
                out.push(change(join_key(path, k), None, Some(nv)));
            }
        }
        (Value::Array(o), Value::Array(n)) if o != n => match (names(o), names(n)) {
            (Some(on), Some(nn)) => {
                for (name, ov) in on.iter().zip(o) {
                    let p = format!("{path}[name={name}]");
                    match nn.iter().position(|x| x == name) {
                        Some(i) => walk(ov, &n[i], &p, out),
                        None => out.push(change(p, Some(ov), None)),
                    }
                }
                for (name, nv) in nn.iter().zip(n).filter(|(name, _)| !on.contains(name)) {
                    out.push(change(format!("{path}[name={name}]"), None, Some(nv)));
                }
            }
            _ => {
                for i in 0..o.len().max(n.len()) {
                    let p = format!("{path}[{i}]");
                    match (o.get(i), n.get(i)) {
                        (Some(ov), Some(nv)) => walk(ov, nv, &p, out),
                        (ov, nv) => out.push(change(p, ov, nv)),
                    }
                }
            }
        },
        (o, n) if o != n => out.push(change(path.to_string(), Some(o), Some(n))),
        _ => {}
    }
}

fn change(path: String, old: Option<&Value>, new: Option<&Value>) -> FieldChange {
    FieldChange {
        path,
        old: old.cloned(),
        new: new.cloned(),
    }
}

/// The `name` of every item, if every item is an object with a distinct string `name`.
fn names(items: &[Value]) -> Option<Vec<&str>> {
    let names: Vec<&str> = items
        .iter()
        .map(|i| i.get("name").and_then(Value::as_str))
        .collect::<Option<_>>()?;
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    (sorted.len() == names.len()).then_some(names)
}

/// `a.b`, or `a["ojek.dev/app"]` for keys that are not plain identifiers.
fn join_key(path: &str, key: &str) -> String {
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    match (plain, path.is_empty()) {
        (true, true) => key.to_string(),
        (true, false) => format!("{path}.{key}"),
        (false, _) => format!("{path}[{}]", Value::String(key.to_string())),
    }
}

/// A value on one line: plain strings bare, everything else as compact JSON.
pub fn show(value: &Value) -> String {
    match value {
        Value::String(s) if !s.is_empty() && !s.contains(['\n', '"']) && s.trim() == s => s.clone(),
        other => other.to_string(),
    }
}

/// Appends `  - path: old` / `  + path: new` lines for each change, like `kubectl diff`.
pub fn write_changes(changes: &[FieldChange], out: &mut String) {
    for c in changes {
        if let Some(old) = &c.old {
            out.push_str(&format!("    - {}: {}\n", c.path, show(old)));
        }
        if let Some(new) = &c.new {
            out.push_str(&format!("    + {}: {}\n", c.path, show(new)));
        }
    }
}

/// A copy of `value` with every object's keys sorted: the canonical form that is hashed.
pub fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let sorted: Map<String, Value> = keys
                .into_iter()
                .map(|k| (k.clone(), canonical(&map[k])))
                .collect();
            Value::Object(sorted)
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// Replaces the values of a Secret's `data` and `stringData` in `changes` by a placeholder:
/// plans are shown to viewers, who must not read secrets through them (the live values come
/// from the cluster). That a key is added, changed or removed stays visible.
pub fn hide_secret_values(changes: &mut [FieldChange]) {
    let hidden = || Value::String("(secret value hidden)".into());
    for c in changes {
        if c.path.starts_with("data") || c.path.starts_with("stringData") {
            if c.old.is_some() {
                c.old = Some(hidden());
            }
            if c.new.is_some() {
                c.new = Some(hidden());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(image: &str, replicas: i64) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"ojek.dev/app": "web"}, "resourceVersion": "7",
                "managedFields": [{"manager": "ojek"}]},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [
                {"name": "side", "image": "side:1"}, {"name": "web", "image": image}]}}},
            "status": {"replicas": 1}})
    }

    #[test]
    fn containers_are_matched_by_name_and_server_fields_ignored() {
        let mut new = deployment("web:2", 2);
        new["metadata"]["resourceVersion"] = json!("8");
        new["status"] = json!({});
        let changes = diff(&deployment("web:1", 2), &new);
        assert_eq!(
            changes,
            vec![FieldChange {
                path: "spec.template.spec.containers[name=web].image".into(),
                old: Some(json!("web:1")),
                new: Some(json!("web:2")),
            }]
        );
    }

    #[test]
    fn added_removed_and_quoted_keys() {
        let mut new = deployment("web:1", 3);
        new["metadata"]["labels"]["ojek.dev/env"] = json!("staging");
        new["spec"]["template"]["spec"]["containers"] = json!([{"name": "web", "image": "web:1"}]);
        let paths: Vec<(String, bool, bool)> = diff(&deployment("web:1", 2), &new)
            .into_iter()
            .map(|c| (c.path, c.old.is_some(), c.new.is_some()))
            .collect();
        assert_eq!(
            paths,
            vec![
                ("metadata.labels[\"ojek.dev/env\"]".to_string(), false, true),
                ("spec.replicas".to_string(), true, true),
                (
                    "spec.template.spec.containers[name=side]".to_string(),
                    true,
                    false
                ),
            ]
        );
    }

    #[test]
    fn unnamed_lists_compare_by_index() {
        let changes = diff(&json!({"args": ["a", "b"]}), &json!({"args": ["a", "c", "d"]}));
        let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["args[1]", "args[2]"]);
        assert_eq!(changes[1].old, None);
    }

    #[test]
    fn revision_is_removed_with_an_emptied_annotations_map() {
        let a = json!({"metadata": {"annotations": {"ojek.dev/revision": "3"}}});
        assert_eq!(without_revision(&a), json!({"metadata": {}}));
        let b = json!({"metadata": {"annotations": {"ojek.dev/revision": "3", "x": "y"}}});
        assert_eq!(
            without_revision(&b),
            json!({"metadata": {"annotations": {"x": "y"}}})
        );
    }

    #[test]
    fn text_lines_and_canonical_order() {
        let mut out = String::new();
        write_changes(
            &diff(&json!({"a": {"b": "x y"}}), &json!({"a": {"b": 2}})),
            &mut out,
        );
        assert_eq!(out, "    - a.b: x y\n    + a.b: 2\n");
        assert_eq!(
            canonical(&json!({"b": 1, "a": [{"d": 1, "c": 2}]})).to_string(),
            r#"{"a":[{"c":2,"d":1}],"b":1}"#
        );
    }

    #[test]
    fn secret_values_are_hidden_but_their_keys_are_not() {
        let live = serde_json::json!({"kind": "Secret", "data": {"password": "aHVudGVyMg==", "user": "YQ=="}, "metadata": {"labels": {"a": "1"}}});
        let after = serde_json::json!({"kind": "Secret", "data": {"password": "bmV3", "token": "dA=="}, "metadata": {"labels": {"a": "2"}}});
        let mut changes = diff(&live, &after);
        hide_secret_values(&mut changes);
        let mut text = String::new();
        write_changes(&changes, &mut text);
        assert!(
            !text.contains("aHVudGVyMg==") && !text.contains("bmV3") && !text.contains("dA=="),
            "{text}"
        );
        for key in ["data.password", "data.token", "data.user"] {
            assert!(text.contains(key), "{key} in {text}");
        }
        assert!(text.contains(": 2\n"), "other fields keep their values: {text}");
    }
}
