//! Structural job diffs in the shape of Nomad's `JobDiff`, and the scheduler's per-group
//! update counts (`create`, `destroy`, `ignore`, `in-place update`, `create/destroy update`)
//! that `nomad job plan` prints.
//!
//! Nomad diffs typed structs; this diffs JSON with the same conventions: primitive fields as
//! `FieldDiff`s (values as strings), `Meta` flattened into `Meta[key]` fields, the driver
//! `Config` flattened (`args[0]`), nested blocks as `ObjectDiff`s named in the singular
//! (`Service`, `Template`), lists of strings as set diffs, task groups and tasks matched by
//! name. Edited blocks list their unchanged fields as `None` (Nomad's contextual diff).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

/// The diff of `new` against `old` (`None`: a new job); both are job specs without the
/// server-managed fields.
pub(super) fn job_diff(old: Option<&Value>, new: &Value, annotate: bool) -> Value {
    let id = new.get("ID").and_then(Value::as_str).unwrap_or_default();
    let old_map = old.and_then(Value::as_object);
    let new_map = new.as_object();
    let (fields, objects) = block(old_map, new_map, &["ID", "TaskGroups"], false);
    let groups = group_diffs(old_map, new_map, annotate);
    let changed = !fields.is_empty() || !objects.is_empty() || groups.iter().any(|g| kind(g) != "None");
    let job_kind = if old.is_none() {
        "Added"
    } else if changed {
        "Edited"
    } else {
        "None"
    };
    json!({"Type": job_kind, "ID": id, "Fields": fields, "Objects": objects, "TaskGroups": groups})
}

/// The scheduler annotations of a plan (`DesiredTGUpdates`) from a job diff's groups.
pub(super) fn desired_updates(diff: &Value) -> Value {
    let mut out = Map::new();
    for group in diff["TaskGroups"].as_array().into_iter().flatten() {
        let updates = &group["Updates"];
        let n = |k: &str| updates.get(k).and_then(Value::as_u64).unwrap_or(0);
        out.insert(
            group["Name"].as_str().unwrap_or_default().to_string(),
            json!({
                "Place": n("create"), "Stop": n("destroy"), "Ignore": n("ignore"), "Migrate": n("migrate"),
                "InPlaceUpdate": n("in-place update"), "DestructiveUpdate": n("create/destroy update"),
                "Canary": n("canary"), "Preemptions": 0
            }),
        );
    }
    json!({"DesiredTGUpdates": out, "PreemptedAllocs": null})
}

fn kind(diff: &Value) -> &str {
    diff["Type"].as_str().unwrap_or("None")
}

/// Group-level fields and blocks that Nomad changes in place; anything else in a group, and
/// any task change other than its services, replaces the allocations.
const IN_PLACE_GROUP: [&str; 6] = [
    "Count",
    "Update",
    "Migrate",
    "Scaling",
    "ReschedulePolicy",
    "Service",
];

fn group_diffs(
    old: Option<&Map<String, Value>>,
    new: Option<&Map<String, Value>>,
    annotate: bool,
) -> Vec<Value> {
    let old_groups = named(old, "TaskGroups");
    let new_groups = named(new, "TaskGroups");
    let names: BTreeSet<&String> = old_groups.keys().chain(new_groups.keys()).collect();
    let mut out = Vec::new();
    for name in names {
        let (o, n) = (old_groups.get(name).copied(), new_groups.get(name).copied());
        let (fields, objects) = block(o, n, &["Name", "Tasks"], false);
        let old_tasks = named(o, "Tasks");
        let new_tasks = named(n, "Tasks");
        let task_names: BTreeSet<&String> = old_tasks.keys().chain(new_tasks.keys()).collect();
        let mut tasks = Vec::new();
        for task in task_names {
            let (to, tn) = (old_tasks.get(task).copied(), new_tasks.get(task).copied());
            let (tf, tobj) = block(to, tn, &["Name"], false);
            let task_kind = change_kind(to.is_some(), tn.is_some(), !tf.is_empty() || !tobj.is_empty());
            tasks.push(
                json!({"Type": task_kind, "Name": task, "Fields": tf, "Objects": tobj, "Annotations": []}),
            );
        }
        let changed = !fields.is_empty() || !objects.is_empty() || tasks.iter().any(|t| kind(t) != "None");
        let group_kind = change_kind(o.is_some(), n.is_some(), changed);
        let mut diff = json!({
            "Type": group_kind, "Name": name, "Fields": fields, "Objects": objects, "Tasks": tasks, "Updates": {}
        });
        if annotate {
            annotate_group(&mut diff, count(o), count(n));
        }
        out.push(diff);
    }
    out
}

fn count(group: Option<&Map<String, Value>>) -> u64 {
    group.map_or(0, |g| g.get("Count").and_then(Value::as_u64).unwrap_or(1))
}

/// Fills `Updates` and the task and `Count` annotations like Nomad's scheduler annotator.
fn annotate_group(diff: &mut Value, old_count: u64, new_count: u64) {
    let group_kind = kind(diff).to_string();
    let mut updates = BTreeMap::new();
    let task_note = match group_kind.as_str() {
        "Added" => {
            updates.insert("create", new_count);
            Some("forces create")
        }
        "Deleted" => {
            updates.insert("destroy", old_count);
            Some("forces destroy")
        }
        "None" => {
            updates.insert("ignore", new_count);
            None
        }
        _ => {
            let is_in_place = |d: &Value| IN_PLACE_GROUP.contains(&d["Name"].as_str().unwrap_or_default());
            let group_level = diff["Fields"]
                .as_array()
                .into_iter()
                .chain(diff["Objects"].as_array())
                .flatten();
            let mut destructive = false;
            let mut in_place = false;
            for d in group_level {
                if !is_in_place(d) {
                    destructive = true;
                } else if d["Name"] != "Count" {
                    in_place = true;
                }
            }
            for task in diff["Tasks"].as_array().into_iter().flatten() {
                if kind(task) == "None" {
                    continue;
                }
                let only_services = task["Fields"].as_array().is_none_or(Vec::is_empty)
                    && task["Objects"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .all(|o| o["Name"] == "Service");
                if kind(task) == "Edited" && only_services {
                    in_place = true;
                } else {
                    destructive = true;
                }
            }
            let kept = old_count.min(new_count);
            let (key, note) = if destructive {
                ("create/destroy update", Some("forces create/destroy update"))
            } else if in_place {
                ("in-place update", Some("forces in-place update"))
            } else {
                ("ignore", None)
            };
            updates.insert(key, kept);
            if new_count > old_count {
                updates.insert("create", new_count - old_count);
            } else if old_count > new_count {
                updates.insert("destroy", old_count - new_count);
            }
            if let Some(fields) = diff["Fields"].as_array_mut() {
                for f in fields.iter_mut().filter(|f| f["Name"] == "Count") {
                    let note = if new_count > old_count {
                        "forces create"
                    } else {
                        "forces destroy"
                    };
                    f["Annotations"] = json!([note]);
                }
            }
            note
        }
    };
    updates.retain(|_, n| *n > 0);
    diff["Updates"] = json!(updates);
    if let (Some(note), Some(tasks)) = (task_note, diff["Tasks"].as_array_mut()) {
        for task in tasks.iter_mut().filter(|t| t["Type"] != "None") {
            task["Annotations"] = json!([note]);
        }
    }
}

fn change_kind(had: bool, has: bool, changed: bool) -> &'static str {
    match (had, has) {
        (false, true) => "Added",
        (true, false) => "Deleted",
        _ if changed => "Edited",
        _ => "None",
    }
}

/// Elements of the list `key` of `map`, by their `Name`.
fn named<'a>(map: Option<&'a Map<String, Value>>, key: &str) -> BTreeMap<String, &'a Map<String, Value>> {
    map.and_then(|m| m.get(key))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .enumerate()
        .map(|(i, m)| {
            (
                m.get("Name")
                    .and_then(Value::as_str)
                    .map_or(i.to_string(), String::from),
                m,
            )
        })
        .collect()
}

/// Field and object diffs of one block. `context`: list unchanged fields as `None`.
fn block(
    old: Option<&Map<String, Value>>,
    new: Option<&Map<String, Value>>,
    skip: &[&str],
    context: bool,
) -> (Vec<Value>, Vec<Value>) {
    let empty = Map::new();
    let (o, n) = (old.unwrap_or(&empty), new.unwrap_or(&empty));
    let keys: BTreeSet<&String> = o
        .keys()
        .chain(n.keys())
        .filter(|k| !skip.contains(&k.as_str()))
        .collect();
    let mut fields = Vec::new();
    let mut objects = Vec::new();
    for key in keys {
        let (ov, nv) = (o.get(key.as_str()), n.get(key.as_str()));
        let sample = nv.or(ov).unwrap_or(&Value::Null);
        match sample {
            Value::Object(_) if key == "Meta" => {
                let mut of = BTreeMap::new();
                let mut nf = BTreeMap::new();
                flatten("Meta", ov.unwrap_or(&Value::Null), &mut of);
                flatten("Meta", nv.unwrap_or(&Value::Null), &mut nf);
                fields.extend(flat_fields(&of, &nf, context));
            }
            Value::Object(_) if key == "Config" => {
                let mut of = BTreeMap::new();
                let mut nf = BTreeMap::new();
                flatten("", ov.unwrap_or(&Value::Null), &mut of);
                flatten("", nv.unwrap_or(&Value::Null), &mut nf);
                let changed = flat_fields(&of, &nf, false);
                if !changed.is_empty() {
                    let k = change_kind(ov.is_some(), nv.is_some(), true);
                    let f = flat_fields(&of, &nf, k == "Edited");
                    objects.push(json!({"Type": k, "Name": key, "Fields": f, "Objects": []}));
                }
            }
            Value::Object(_) => {
                if let Some(d) = object(key, ov.and_then(Value::as_object), nv.and_then(Value::as_object)) {
                    objects.push(d);
                }
            }
            Value::Array(items) if items.iter().all(|v| !v.is_object() && !v.is_array()) => {
                if let Some(d) = string_set(key, ov, nv) {
                    objects.push(d);
                }
            }
            Value::Array(_) => {
                let singular = singular(key);
                let old_items = identified(ov);
                let new_items = identified(nv);
                let ids: BTreeSet<&String> = old_items.keys().chain(new_items.keys()).collect();
                for id in ids {
                    let (a, b) = (old_items.get(id).copied(), new_items.get(id).copied());
                    if let Some(d) = object(&singular, a, b) {
                        objects.push(d);
                    }
                }
            }
            _ => {
                let (os, ns) = (ov.map(scalar), nv.map(scalar));
                if os != ns {
                    let k = change_kind(os.is_some(), ns.is_some(), true);
                    fields.push(field(k, key, os.as_deref(), ns.as_deref()));
                } else if context {
                    fields.push(field("None", key, os.as_deref(), ns.as_deref()));
                }
            }
        }
    }
    (fields, objects)
}

fn object(name: &str, old: Option<&Map<String, Value>>, new: Option<&Map<String, Value>>) -> Option<Value> {
    let (changed_fields, changed_objects) = block(old, new, &[], false);
    let edited = old.is_some() && new.is_some();
    if changed_fields.is_empty() && changed_objects.is_empty() && edited {
        return None;
    }
    let k = change_kind(old.is_some(), new.is_some(), true);
    let (fields, objects) = if edited {
        block(old, new, &[], true)
    } else {
        (changed_fields, changed_objects)
    };
    Some(json!({"Type": k, "Name": name, "Fields": fields, "Objects": objects}))
}

/// A list of strings as a set: each added or removed element is a field named after the list.
fn string_set(key: &str, old: Option<&Value>, new: Option<&Value>) -> Option<Value> {
    let set = |v: Option<&Value>| -> BTreeSet<String> {
        v.and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(scalar)
            .collect()
    };
    let (o, n) = (set(old), set(new));
    if o == n {
        return None;
    }
    let mut fields = Vec::new();
    for v in o.union(&n) {
        match (o.contains(v), n.contains(v)) {
            (true, false) => fields.push(field("Deleted", key, Some(v), None)),
            (false, true) => fields.push(field("Added", key, None, Some(v))),
            _ => fields.push(field("None", key, Some(v), Some(v))),
        }
    }
    let k = change_kind(old.is_some(), new.is_some(), true);
    Some(json!({"Type": k, "Name": key, "Fields": fields, "Objects": []}))
}

/// Objects of a list by `Name` or `Label` when they have one, else by position.
fn identified(list: Option<&Value>) -> BTreeMap<String, &Map<String, Value>> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .enumerate()
        .map(|(i, m)| {
            let id = ["Name", "Label", "DestPath"]
                .iter()
                .find_map(|k| m.get(*k).and_then(Value::as_str))
                .map_or(format!("{i:08}"), String::from);
            (id, m)
        })
        .collect()
}

fn flat_fields(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>, context: bool) -> Vec<Value> {
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let mut out = Vec::new();
    for key in keys {
        let (o, n) = (old.get(key), new.get(key));
        if o != n {
            let k = change_kind(o.is_some(), n.is_some(), true);
            out.push(field(k, key, o.map(String::as_str), n.map(String::as_str)));
        } else if context {
            out.push(field("None", key, o.map(String::as_str), n.map(String::as_str)));
        }
    }
    out
}

/// Nomad's flatmap: `prefix[key]` for maps, `prefix[i]` for lists.
fn flatten(prefix: &str, value: &Value, out: &mut BTreeMap<String, String>) {
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}[{k}]")
        }
    };
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                flatten(&join(k), v, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&join(&i.to_string()), v, out);
            }
        }
        Value::Null => {}
        v => {
            out.insert(prefix.to_string(), scalar(v));
        }
    }
}

fn field(kind: &str, name: &str, old: Option<&str>, new: Option<&str>) -> Value {
    json!({"Type": kind, "Name": name, "Old": old.unwrap_or_default(), "New": new.unwrap_or_default(), "Annotations": null})
}

/// A primitive as Nomad prints it in a diff.
fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        v => v.to_string(),
    }
}

/// The block name Nomad uses for an element of the list `key`.
fn singular(key: &str) -> String {
    match key {
        "DynamicPorts" => "Dynamic Port".into(),
        "ReservedPorts" => "Static Port".into(),
        "Affinities" => "Affinity".into(),
        "Policies" => "Policy".into(),
        k => k.strip_suffix('s').unwrap_or(k).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(image: &str, count: u64) -> Value {
        json!({
            "ID": "web", "Type": "service", "Datacenters": ["dc1"], "Meta": {"team": "a"},
            "TaskGroups": [{"Name": "web", "Count": count, "Tasks": [{
                "Name": "web", "Driver": "docker",
                "Config": {"image": image, "args": ["serve"]},
                "Env": {"A": "1"}
            }]}]
        })
    }

    #[test]
    fn a_new_job_is_added_with_group_creates() {
        let d = job_diff(None, &job("a:1", 3), true);
        assert_eq!(d["Type"], "Added");
        assert_eq!(d["TaskGroups"][0]["Type"], "Added");
        assert_eq!(d["TaskGroups"][0]["Updates"], json!({"create": 3}));
        assert_eq!(
            d["TaskGroups"][0]["Tasks"][0]["Annotations"],
            json!(["forces create"])
        );
    }

    #[test]
    fn identical_jobs_have_no_changes() {
        let d = job_diff(Some(&job("a:1", 3)), &job("a:1", 3), true);
        assert_eq!(d["Type"], "None");
        assert_eq!(d["TaskGroups"][0]["Updates"], json!({"ignore": 3}));
    }

    #[test]
    fn an_image_change_is_a_destructive_edit_of_config() {
        let d = job_diff(Some(&job("a:1", 3)), &job("a:2", 3), true);
        assert_eq!(d["Type"], "Edited");
        let tg = &d["TaskGroups"][0];
        assert_eq!(tg["Updates"], json!({"create/destroy update": 3}));
        let config = &tg["Tasks"][0]["Objects"][0];
        assert_eq!(config["Name"], "Config");
        assert_eq!(config["Type"], "Edited");
        let fields = config["Fields"].as_array().expect("fields");
        assert!(fields.contains(
            &json!({"Type": "None", "Name": "args[0]", "Old": "serve", "New": "serve", "Annotations": null})
        ));
        assert!(fields.contains(
            &json!({"Type": "Edited", "Name": "image", "Old": "a:1", "New": "a:2", "Annotations": null})
        ));
    }

    #[test]
    fn a_count_change_creates_and_ignores() {
        let d = job_diff(Some(&job("a:1", 3)), &job("a:1", 5), true);
        let tg = &d["TaskGroups"][0];
        assert_eq!(tg["Updates"], json!({"create": 2, "ignore": 3}));
        assert_eq!(tg["Fields"][0]["Annotations"], json!(["forces create"]));
    }

    #[test]
    fn meta_and_datacenters_follow_nomad_naming() {
        let mut new = job("a:1", 3);
        new["Meta"]["team"] = json!("b");
        new["Datacenters"] = json!(["dc1", "dc2"]);
        let d = job_diff(Some(&job("a:1", 3)), &new, true);
        assert_eq!(d["Fields"][0]["Name"], "Meta[team]");
        assert_eq!(d["Objects"][0]["Name"], "Datacenters");
        assert_eq!(
            d["Objects"][0]["Fields"][1],
            json!({"Type": "Added", "Name": "Datacenters", "Old": "", "New": "dc2", "Annotations": null})
        );
    }
}
