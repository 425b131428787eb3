//! Field paths and field sets as server-side apply sees them, and their `FieldsV1` encoding.
//!
//! A path is a list of elements: a map field (`f:name`) or a list item chosen by its key
//! fields (`k:{"name":"app"}`). A manager owns a set of paths: leaves (scalars, atomic lists,
//! empty maps) and, for each keyed list item it sent, the item itself (`.` in `FieldsV1`).
//! Pure data and logic; no I/O.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Element {
    /// A field of a map.
    Field(String),
    /// An item of a keyed list: the canonical JSON of its key fields, e.g. `{"name":"app"}`.
    Key(String),
}

/// A path from the object's root.
pub(crate) type Path = Vec<Element>;

/// The paths one manager owns.
pub(crate) type FieldSet = BTreeSet<Path>;

/// The fields that identify an item of the list under `list_field`, if that list merges by key.
///
/// Kubernetes declares merge keys per field in its OpenAPI schema; the fake uses the common
/// ones (`containerPort`/`port` for ports, `mountPath` for volume mounts, `type` for
/// conditions) and treats any other list of maps that all have a `name` as keyed by `name`.
/// Every other list is atomic: applying it replaces it whole.
fn key_fields(list_field: &str, items: &[Value]) -> Option<&'static str> {
    if items.is_empty() || !items.iter().all(Value::is_object) {
        return None;
    }
    let all_have = |key: &str| items.iter().all(|i| i.get(key).is_some_and(|v| !v.is_null()));
    let candidates: &[&'static str] = match list_field {
        "ports" => &["containerPort", "port", "name"],
        "volumeMounts" => &["mountPath"],
        "conditions" => &["type"],
        _ => &["name"],
    };
    candidates.iter().copied().find(|k| all_have(k))
}

/// The canonical key (`{"name":"app"}`) of `item` in the list under `list_field`.
fn item_key(key_field: &str, item: &Value) -> Option<String> {
    let value = item.get(key_field)?;
    let mut m = Map::new();
    m.insert(key_field.to_string(), value.clone());
    Some(Value::Object(m).to_string())
}

/// Whether the list `items` under `list_field` merges by key (and with which field).
pub(crate) fn list_key(list_field: &str, items: &[Value]) -> Option<&'static str> {
    key_fields(list_field, items)
}

/// The key of `item` for a list merged by `key_field`.
pub(crate) fn key_of(key_field: &str, item: &Value) -> Option<String> {
    item_key(key_field, item)
}

/// Every path `value` sets, with `skip` deciding which top-level-ish paths are not owned.
pub(crate) fn field_set(value: &Value, skip: &dyn Fn(&Path) -> bool) -> FieldSet {
    let mut set = FieldSet::new();
    collect(value, &mut Vec::new(), None, skip, &mut set);
    set
}

fn collect(
    value: &Value,
    prefix: &mut Path,
    field: Option<&str>,
    skip: &dyn Fn(&Path) -> bool,
    set: &mut FieldSet,
) {
    if skip(prefix) {
        return;
    }
    match value {
        Value::Object(map) if !map.is_empty() || prefix.is_empty() => {
            for (k, v) in map {
                prefix.push(Element::Field(k.clone()));
                collect(v, prefix, Some(k), skip, set);
                prefix.pop();
            }
        }
        Value::Array(items) => match field.and_then(|f| key_fields(f, items)) {
            Some(key_field) => {
                for item in items {
                    let Some(key) = item_key(key_field, item) else {
                        continue;
                    };
                    prefix.push(Element::Key(key));
                    set.insert(prefix.clone());
                    collect(item, prefix, None, skip, set);
                    prefix.pop();
                }
            }
            None => {
                set.insert(prefix.clone());
            }
        },
        _ => {
            set.insert(prefix.clone());
        }
    }
}

/// The value at `path` in `root`.
pub(crate) fn get<'a>(root: &'a Value, path: &[Element]) -> Option<&'a Value> {
    let mut cur = root;
    let mut field = "";
    for el in path {
        match el {
            Element::Field(f) => {
                cur = cur.get(f)?;
                field = f;
            }
            Element::Key(k) => {
                let items = cur.as_array()?;
                let key_field = key_fields(field, items)?;
                cur = items
                    .iter()
                    .find(|i| item_key(key_field, i).as_deref() == Some(k))?;
            }
        }
    }
    Some(cur)
}

/// Removes the value at `path` (a map field or a list item); returns whether it was there.
/// Maps left empty by the removal are removed too, up to (not including) top-level fields.
pub(crate) fn remove(root: &mut Value, path: &[Element]) -> bool {
    let Some((last, parent_path)) = path.split_last() else {
        return false;
    };
    let field = match parent_path.last() {
        Some(Element::Field(f)) => f.clone(),
        _ => String::new(),
    };
    let Some(parent) = get_mut(root, parent_path) else {
        return false;
    };
    let removed = match (last, parent) {
        (Element::Field(f), Value::Object(map)) => map.shift_remove(f).is_some(),
        (Element::Key(k), Value::Array(items)) => match key_fields(&field, items) {
            Some(key_field) => {
                let before = items.len();
                items.retain(|i| item_key(key_field, i).as_deref() != Some(k));
                items.len() != before
            }
            None => false,
        },
        _ => false,
    };
    if removed && parent_path.len() > 1 && get(root, parent_path).is_some_and(is_empty_map) {
        remove(root, parent_path);
    }
    removed
}

fn is_empty_map(v: &Value) -> bool {
    v.as_object().is_some_and(Map::is_empty)
}

fn get_mut<'a>(root: &'a mut Value, path: &[Element]) -> Option<&'a mut Value> {
    let mut cur = root;
    let mut field = String::new();
    for el in path {
        match el {
            Element::Field(f) => {
                cur = cur.get_mut(f)?;
                field = f.clone();
            }
            Element::Key(k) => {
                let items = cur.as_array_mut()?;
                let key_field = key_fields(&field, items)?;
                cur = items
                    .iter_mut()
                    .find(|i| item_key(key_field, i).as_deref() == Some(k))?;
            }
        }
    }
    Some(cur)
}

/// `.spec.template.spec.containers[name="app"].image`: how conflicts name a field.
pub(crate) fn display(path: &[Element]) -> String {
    let mut out = String::new();
    for el in path {
        match el {
            Element::Field(f) => {
                out.push('.');
                out.push_str(f);
            }
            Element::Key(k) => {
                let parsed: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
                let parts: Vec<String> = parsed.iter().map(|(k, v)| format!("{k}={v}")).collect();
                out.push('[');
                out.push_str(&parts.join(","));
                out.push(']');
            }
        }
    }
    out
}

/// The `fieldsV1` object of a field set: `{"f:spec":{"f:replicas":{}}}`, items as `k:…` with `.`.
pub(crate) fn to_fields_v1(set: &FieldSet) -> Value {
    let mut root = Map::new();
    for path in set {
        let mut node = &mut root;
        for (i, el) in path.iter().enumerate() {
            let name = match el {
                Element::Field(f) => format!("f:{f}"),
                Element::Key(k) => format!("k:{k}"),
            };
            let child = node.entry(name).or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(child) = child else { break };
            if i + 1 == path.len() && matches!(el, Element::Key(_)) {
                child.insert(".".into(), Value::Object(Map::new()));
            }
            node = child;
        }
    }
    Value::Object(root)
}

/// The field set a `fieldsV1` object describes (`v:` and `i:` elements, which the fake never
/// writes, are ignored).
pub(crate) fn from_fields_v1(fields: &Value) -> FieldSet {
    let mut set = FieldSet::new();
    decode(fields, &mut Vec::new(), &mut set);
    set
}

fn decode(node: &Value, prefix: &mut Path, set: &mut FieldSet) {
    let Some(map) = node.as_object() else { return };
    for (name, child) in map {
        let el = if name == "." {
            set.insert(prefix.clone());
            continue;
        } else if let Some(f) = name.strip_prefix("f:") {
            Element::Field(f.to_string())
        } else if let Some(k) = name.strip_prefix("k:") {
            match serde_json::from_str::<Value>(k) {
                Ok(v) => Element::Key(v.to_string()),
                Err(_) => continue,
            }
        } else {
            continue;
        };
        prefix.push(el);
        if is_empty_map(child) {
            set.insert(prefix.clone());
        } else {
            decode(child, prefix, set);
        }
        prefix.pop();
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn f(s: &str) -> Element {
        Element::Field(s.into())
    }

    #[test]
    fn containers_are_keyed_by_name_and_args_are_atomic() {
        let obj = json!({"spec": {"containers": [{"name": "app", "image": "a:1", "args": ["x", "y"]}]}});
        let set = field_set(&obj, &|_| false);
        let item = vec![
            f("spec"),
            f("containers"),
            Element::Key(r#"{"name":"app"}"#.into()),
        ];
        assert!(set.contains(&item));
        let mut image = item.clone();
        image.push(f("image"));
        assert!(set.contains(&image));
        let mut args = item.clone();
        args.push(f("args"));
        assert!(set.contains(&args));
        assert_eq!(get(&obj, &image), Some(&json!("a:1")));
        assert_eq!(display(&image), r#".spec.containers[name="app"].image"#);
    }

    #[test]
    fn fields_v1_round_trips_in_the_real_format() {
        let obj = json!({"metadata": {"labels": {"a": "1"}}, "spec": {"replicas": 2,
            "ports": [{"containerPort": 80, "name": "http"}], "emptyDir": {}}});
        let set = field_set(&obj, &|_| false);
        let v1 = to_fields_v1(&set);
        assert_eq!(
            v1,
            json!({"f:metadata": {"f:labels": {"f:a": {}}}, "f:spec": {"f:emptyDir": {},
                "f:ports": {"k:{\"containerPort\":80}": {".": {}, "f:containerPort": {}, "f:name": {}}},
                "f:replicas": {}}})
        );
        assert_eq!(from_fields_v1(&v1), set);
    }

    #[test]
    fn removing_the_last_field_prunes_empty_parents_but_not_top_level() {
        let mut obj =
            json!({"metadata": {"annotations": {"x": "1"}, "labels": {"a": "1"}}, "spec": {"a": {"b": 1}}});
        assert!(remove(&mut obj, &[f("metadata"), f("annotations"), f("x")]));
        assert!(remove(&mut obj, &[f("spec"), f("a"), f("b")]));
        assert_eq!(obj, json!({"metadata": {"labels": {"a": "1"}}, "spec": {}}));
        assert!(!remove(&mut obj, &[f("spec"), f("missing")]));
    }
}
