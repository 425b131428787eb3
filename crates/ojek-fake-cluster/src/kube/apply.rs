//! Server-side apply: merging a manager's applied configuration into the live object, with
//! field ownership recorded in `metadata.managedFields`.
//!
//! The rules the fake follows (a subset of the real structured-merge-diff):
//! - maps merge recursively; keyed lists (see [`fieldpath`]) merge item by item; every other
//!   list and every scalar is replaced;
//! - a leaf another `Apply` manager owns with a different value is a conflict, unless `force`,
//!   which moves ownership to the applier; equal values are shared;
//! - fields the manager applied before and no longer sends are removed, unless another
//!   manager still owns them;
//! - `status` is ignored on kinds with a status subresource, server-set metadata always.
//!
//! Pure logic; the store assigns resourceVersion, uid and generation.

use serde_json::{Map, Value, json};

use super::fieldpath::{self, Element, FieldSet, Path};

/// Metadata fields the server sets; never taken from an applied configuration.
const SERVER_METADATA: &[&str] = &[
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

/// Who applies, and how.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ApplyOptions<'a> {
    /// The `fieldManager` query parameter.
    pub manager: &'a str,
    /// `apiVersion` of the request, recorded in the managedFields entry.
    pub api_version: &'a str,
    /// `force=true`: take ownership instead of failing on conflicts.
    pub force: bool,
    /// The timestamp recorded in the managedFields entry.
    pub now: &'a str,
    /// Whether the kind has a status subresource (then `status` is not applied).
    pub status_subresource: bool,
}

/// A field another manager owns with a different value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Conflict {
    pub manager: String,
    pub api_version: String,
    pub path: Path,
}

/// One `managedFields` entry, with its field set decoded.
struct Entry {
    raw: Value,
    manager: String,
    operation: String,
    api_version: String,
    fields: FieldSet,
}

fn entries(obj: &Value) -> Vec<Entry> {
    let Some(list) = obj.pointer("/metadata/managedFields").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .map(|raw| Entry {
            raw: raw.clone(),
            manager: raw["manager"].as_str().unwrap_or_default().to_string(),
            operation: raw["operation"].as_str().unwrap_or_default().to_string(),
            api_version: raw["apiVersion"].as_str().unwrap_or_default().to_string(),
            fields: fieldpath::from_fields_v1(&raw["fieldsV1"]),
        })
        .collect()
}

/// The fields an applied configuration sets that its manager owns (not identity fields).
fn owned_set(config: &Value) -> FieldSet {
    let skip = |p: &Path| {
        matches!(p.as_slice(), [Element::Field(f)] if f == "apiVersion" || f == "kind")
            || matches!(p.as_slice(), [Element::Field(m), Element::Field(f)]
                if m == "metadata" && (f == "name" || f == "namespace"))
    };
    fieldpath::field_set(config, &skip)
}

/// Strips what an applier cannot set: server metadata, and `status` where it is a subresource.
fn sanitize(mut config: Value, status_subresource: bool) -> Value {
    if let Some(meta) = config.get_mut("metadata").and_then(Value::as_object_mut) {
        for f in SERVER_METADATA {
            meta.shift_remove(*f);
        }
    }
    if status_subresource && let Some(obj) = config.as_object_mut() {
        obj.shift_remove("status");
    }
    config
}

/// Applies `config` for `opts.manager` onto `live` (or a new object); returns the merged
/// object with its managedFields updated, or the conflicts that stop it.
pub(crate) fn apply(
    live: Option<&Value>,
    config: Value,
    opts: &ApplyOptions<'_>,
) -> Result<Value, Vec<Conflict>> {
    let config = sanitize(config, opts.status_subresource);
    let applied = owned_set(&config);
    let mut merged = match live {
        Some(live) => live.clone(),
        None => json!({
            "apiVersion": config["apiVersion"],
            "kind": config["kind"],
            "metadata": {"name": config["metadata"]["name"]},
        }),
    };
    let mut entries = entries(&merged);

    // Conflicts: leaves another applier owns, set here to another value.
    let mut conflicts = Vec::new();
    for other in entries
        .iter()
        .filter(|e| e.manager != opts.manager && e.operation == "Apply")
    {
        for path in applied.intersection(&other.fields) {
            if matches!(path.last(), Some(Element::Key(_))) {
                continue;
            }
            if fieldpath::get(&merged, path) != fieldpath::get(&config, path) {
                conflicts.push(Conflict {
                    manager: other.manager.clone(),
                    api_version: other.api_version.clone(),
                    path: path.clone(),
                });
            }
        }
    }
    if !conflicts.is_empty() {
        if !opts.force {
            return Err(conflicts);
        }
        for c in &conflicts {
            for e in entries.iter_mut().filter(|e| e.manager == c.manager) {
                e.fields.remove(&c.path);
            }
        }
    }

    // Fields this manager stops sending go, unless someone else still owns them.
    let previous: FieldSet = entries
        .iter()
        .filter(|e| e.manager == opts.manager && e.operation == "Apply")
        .flat_map(|e| e.fields.iter().cloned())
        .collect();
    for path in previous.difference(&applied) {
        let owned_elsewhere = entries
            .iter()
            .filter(|e| !(e.manager == opts.manager && e.operation == "Apply"))
            .any(|e| e.fields.iter().any(|p| p.starts_with(path)));
        if !owned_elsewhere {
            fieldpath::remove(&mut merged, path);
        }
    }

    merge(&mut merged, &config, None);

    // The applier's entry replaces its previous one, in place; empty entries are dropped.
    let mine = json!({
        "manager": opts.manager,
        "operation": "Apply",
        "apiVersion": opts.api_version,
        "time": opts.now,
        "fieldsType": "FieldsV1",
        "fieldsV1": fieldpath::to_fields_v1(&applied),
    });
    let mut managed: Vec<Value> = Vec::new();
    let mut placed = false;
    for e in entries {
        if e.manager == opts.manager && e.operation == "Apply" {
            if !placed && !applied.is_empty() {
                managed.push(mine.clone());
            }
            placed = true;
        } else if !e.fields.is_empty() {
            let mut raw = e.raw;
            raw["fieldsV1"] = fieldpath::to_fields_v1(&e.fields);
            managed.push(raw);
        }
    }
    if !placed && !applied.is_empty() {
        managed.push(mine);
    }
    if let Some(meta) = merged.get_mut("metadata").and_then(Value::as_object_mut) {
        if managed.is_empty() {
            meta.shift_remove("managedFields");
        } else {
            meta.insert("managedFields".into(), Value::Array(managed));
        }
    }
    Ok(merged)
}

/// Merges `patch` into `target`: maps recursively, keyed lists by key, the rest replaced.
fn merge(target: &mut Value, patch: &Value, field: Option<&str>) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                match t.get_mut(k) {
                    Some(existing) => merge(existing, v, Some(k)),
                    None => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (Value::Array(t), Value::Array(p)) => {
            let key_field = field.and_then(|f| fieldpath::list_key(f, p));
            let live_keyed = key_field.is_some_and(|k| t.iter().all(|i| fieldpath::key_of(k, i).is_some()));
            match key_field {
                Some(key_field) if live_keyed => {
                    for item in p {
                        let key = fieldpath::key_of(key_field, item);
                        match t.iter_mut().find(|i| fieldpath::key_of(key_field, i) == key) {
                            Some(existing) => merge(existing, item, None),
                            None => t.push(item.clone()),
                        }
                    }
                }
                _ => *t = p.clone(),
            }
        }
        (t, p) => *t = p.clone(),
    }
}

/// The object without managedFields timestamps: two applies that differ only there are the same.
pub(crate) fn without_times(obj: &Value) -> Value {
    let mut obj = obj.clone();
    if let Some(list) = obj
        .pointer_mut("/metadata/managedFields")
        .and_then(Value::as_array_mut)
    {
        for e in list {
            if let Some(e) = e.as_object_mut() {
                e.shift_remove("time");
            }
        }
    }
    obj
}

/// Whether anything outside `metadata` and `status` differs: the rule for bumping `generation`.
pub(crate) fn spec_changed(old: &Value, new: &Value) -> bool {
    let strip = |v: &Value| -> Map<String, Value> {
        let mut m = v.as_object().cloned().unwrap_or_default();
        m.shift_remove("metadata");
        m.shift_remove("status");
        m
    };
    strip(old) != strip(new)
}

/// The 409 message real servers give: `Apply failed with 1 conflict: conflict with "ojek" using apps/v1: .spec.replicas`.
pub(crate) fn conflict_message(conflicts: &[Conflict]) -> String {
    let mut by_manager: Vec<(&str, &str, Vec<String>)> = Vec::new();
    for c in conflicts {
        let path = fieldpath::display(&c.path);
        match by_manager
            .iter_mut()
            .find(|(m, v, _)| *m == c.manager && *v == c.api_version)
        {
            Some((_, _, paths)) => paths.push(path),
            None => by_manager.push((&c.manager, &c.api_version, vec![path])),
        }
    }
    let n = conflicts.len();
    let parts: Vec<String> = by_manager
        .iter()
        .map(|(m, v, paths)| {
            if paths.len() == 1 {
                format!("conflict with \"{m}\" using {v}: {}", paths[0])
            } else {
                let list: Vec<String> = paths.iter().map(|p| format!("- {p}")).collect();
                format!("conflicts with \"{m}\" using {v}:\n{}", list.join("\n"))
            }
        })
        .collect();
    format!(
        "Apply failed with {n} conflict{}: {}",
        if n == 1 { "" } else { "s" },
        parts.join("\n")
    )
}

/// One `FieldManagerConflict` cause per conflicting field.
pub(crate) fn conflict_causes(conflicts: &[Conflict]) -> Vec<Value> {
    conflicts
        .iter()
        .map(|c| {
            json!({
                "reason": "FieldManagerConflict",
                "message": format!("conflict with \"{}\" using {}", c.manager, c.api_version),
                "field": fieldpath::display(&c.path),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts<'a>(manager: &'a str, force: bool) -> ApplyOptions<'a> {
        ApplyOptions {
            manager,
            api_version: "apps/v1",
            force,
            now: "2025-01-01T00:00:00Z",
            status_subresource: true,
        }
    }

    fn deployment(image: &str, replicas: i64) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "app", "image": image}]}}}})
    }

    #[test]
    fn create_records_the_manager_and_ignores_status() {
        let mut config = deployment("a:1", 2);
        config["status"] = json!({"replicas": 5});
        let obj = apply(None, config, &opts("ojek", false)).expect("no conflicts on create");
        assert!(obj.get("status").is_none());
        let mf = &obj["metadata"]["managedFields"][0];
        assert_eq!(mf["manager"], "ojek");
        assert_eq!(mf["operation"], "Apply");
        assert_eq!(mf["fieldsType"], "FieldsV1");
        assert_eq!(mf["fieldsV1"]["f:spec"]["f:replicas"], json!({}));
    }

    #[test]
    fn other_manager_conflicts_on_different_value_and_force_moves_ownership() {
        let live = apply(None, deployment("a:1", 2), &opts("ojek", false)).expect("create");
        let kubectl = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 3}});
        let conflicts = apply(Some(&live), kubectl.clone(), &opts("kubectl", false)).expect_err("conflict");
        assert_eq!(conflicts.len(), 1);
        assert_eq!(fieldpath::display(&conflicts[0].path), ".spec.replicas");
        assert_eq!(
            conflict_message(&conflicts),
            "Apply failed with 1 conflict: conflict with \"ojek\" using apps/v1: .spec.replicas"
        );

        let forced = apply(Some(&live), kubectl, &opts("kubectl", true)).expect("forced");
        assert_eq!(forced["spec"]["replicas"], 3);
        let ojek = &forced["metadata"]["managedFields"][0];
        assert_eq!(ojek["manager"], "ojek");
        assert!(ojek["fieldsV1"]["f:spec"].get("f:replicas").is_none());
    }

    #[test]
    fn same_value_is_shared_and_survives_the_first_owner_dropping_it() {
        let live = apply(None, deployment("a:1", 2), &opts("ojek", false)).expect("create");
        let kubectl = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 2}});
        let shared = apply(Some(&live), kubectl, &opts("kubectl", false)).expect("same value: no conflict");
        let mut without = deployment("a:1", 2);
        without["spec"]
            .as_object_mut()
            .map(|s| s.shift_remove("replicas"));
        without["metadata"]
            .as_object_mut()
            .map(|m| m.shift_remove("labels"));
        let after = apply(Some(&shared), without, &opts("ojek", false)).expect("apply");
        assert_eq!(after["spec"]["replicas"], 2, "kubectl still owns it");
        assert!(
            after["metadata"].get("labels").is_none(),
            "only ojek owned the labels"
        );
    }

    #[test]
    fn containers_merge_by_name_and_a_dropped_container_goes() {
        let mut two = deployment("a:1", 1);
        two["spec"]["template"]["spec"]["containers"] =
            json!([{"name": "app", "image": "a:1"}, {"name": "side", "image": "s:1"}]);
        let live = apply(None, two, &opts("ojek", false)).expect("create");
        let after = apply(Some(&live), deployment("a:2", 1), &opts("ojek", false)).expect("apply");
        assert_eq!(
            after["spec"]["template"]["spec"]["containers"],
            json!([{"name": "app", "image": "a:2"}])
        );
    }
}
