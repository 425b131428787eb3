//! The desired document: the old manifest's JSON with the form's changes set in (or removed),
//! keeping what the form does not model and making references the form does not show follow
//! renames.
//!
//! Works on JSON only; turning the desired document into text is [`super::edit`]'s and
//! [`super::write`]'s job.

use std::sync::Arc;

use ojek_spec::source::{Layer, Value, parse_yaml};
use serde_json::{Map, Value as Json};

use super::model::{FormApp, FormEnv, FormError, FormPort, FormProcess, FormRoute, match_entries, names};
use super::read::text_of;

/// Where a key goes when it is added: after the last present key listed before it.
const ROOT_ORDER: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "resources",
    "processes",
    "environments",
    "targets",
    "bestEffort",
];
const METADATA_ORDER: &[&str] = &["name", "team", "description", "labels", "annotations"];
const RESOURCE_ORDER: &[&str] = &["type", "topic", "group", "access"];
const PROCESS_ORDER: &[&str] = &[
    "kind",
    "image",
    "command",
    "args",
    "env",
    "files",
    "volumes",
    "ports",
    "routes",
    "health",
    "cpu",
    "memory",
    "scaling",
    "update",
    "shutdownGracePeriod",
    "placement",
    "security",
    "sidecars",
    "initContainers",
    "disruptionBudget",
    "schedule",
    "timeZone",
    "concurrency",
    "retries",
    "deadline",
];
const PORT_ORDER: &[&str] = &["port", "protocol"];
const ROUTE_ORDER: &[&str] = &["host", "path", "port", "tls"];
const AMOUNT_ORDER: &[&str] = &["request", "limit"];
const SCALING_ORDER: &[&str] = &["replicas", "autoscale"];
const AUTOSCALE_ORDER: &[&str] = &["min", "max", "cpu", "memory", "kafkaLag"];

/// Sets `key`, in place when present, else where `order` puts it.
fn set_key(map: &mut Map<String, Json>, key: &str, value: Json, order: &[&str]) {
    if let Some(slot) = map.get_mut(key) {
        *slot = value;
        return;
    }
    let rank = |k: &str| order.iter().position(|o| *o == k);
    let pos = match rank(key) {
        Some(r) => map
            .keys()
            .enumerate()
            .filter(|(_, k)| rank(k).is_some_and(|kr| kr < r))
            .map(|(i, _)| i + 1)
            .max()
            .unwrap_or(0),
        None => map.len(),
    };
    map.shift_insert(pos, key.to_string(), value);
}

/// Sets a string, or removes the key for an empty one.
fn set_text(map: &mut Map<String, Json>, key: &str, value: &str, order: &[&str]) {
    if value.is_empty() {
        map.shift_remove(key);
    } else {
        set_key(map, key, Json::String(value.to_string()), order);
    }
}

/// Sets a mapping, or removes the key when it is empty (an empty mapping already written as
/// such stays).
fn set_map(map: &mut Map<String, Json>, key: &str, value: Map<String, Json>, order: &[&str]) {
    if value.is_empty() {
        if map
            .get(key)
            .and_then(Json::as_object)
            .is_none_or(|m| !m.is_empty())
        {
            map.shift_remove(key);
        }
    } else {
        set_key(map, key, Json::Object(value), order);
    }
}

fn object_at(v: Option<&Json>) -> Map<String, Json> {
    v.and_then(Json::as_object).cloned().unwrap_or_default()
}

fn strings(v: &[String]) -> Json {
    Json::Array(v.iter().cloned().map(Json::String).collect())
}

pub(super) fn desired_document(old_root: &Json, old: &FormApp, new: &FormApp) -> Result<Json, FormError> {
    let mut root = match old_root {
        Json::Object(m) => m.clone(),
        Json::Null => {
            let mut m = Map::new();
            m.insert(
                "apiVersion".into(),
                Json::String(ojek_spec::manifest::API_VERSION.into()),
            );
            m.insert("kind".into(), Json::String("App".into()));
            m
        }
        _ => return Err(FormError::NotAMapping),
    };
    if (&old.name, &old.team, &old.description) != (&new.name, &new.team, &new.description) {
        let mut meta = object_at(root.get("metadata"));
        if old.name != new.name {
            set_text(&mut meta, "name", &new.name, METADATA_ORDER);
        }
        if old.team != new.team {
            set_text(&mut meta, "team", &new.team, METADATA_ORDER);
        }
        if old.description != new.description {
            set_text(&mut meta, "description", &new.description, METADATA_ORDER);
        }
        set_map(&mut root, "metadata", meta, ROOT_ORDER);
    }
    let mut resource_renames = Vec::new();
    if old.resources != new.resources {
        let old_map = root.get("resources").and_then(Json::as_object);
        let (old_names, new_names) = (names(&old.resources), names(&new.resources));
        let mut out = Map::new();
        for (r, m) in new.resources.iter().zip(match_entries(&old_names, &new_names)) {
            let before = m.map(|j| &old.resources[j]);
            let mut obj = object_at(before.and_then(|b| old_map?.get(&b.name)));
            if before.is_none_or(|b| b.r#type != r.r#type) {
                set_text(&mut obj, "type", &r.r#type, RESOURCE_ORDER);
            }
            if let Some(b) = before.filter(|b| b.name != r.name) {
                resource_renames.push((b.name.clone(), r.name.clone()));
            }
            out.insert(r.name.clone(), Json::Object(obj));
        }
        set_map(&mut root, "resources", out, ROOT_ORDER);
    }
    let mut process_renames = Vec::new();
    if old.processes != new.processes {
        let old_map = root.get("processes").and_then(Json::as_object);
        let (old_names, new_names) = (names(&old.processes), names(&new.processes));
        let empty = FormProcess::default();
        let mut out = Map::new();
        for (p, m) in new.processes.iter().zip(match_entries(&old_names, &new_names)) {
            let before = m.map(|j| &old.processes[j]);
            let mut obj = object_at(before.and_then(|b| old_map?.get(&b.name)));
            apply_process(&mut obj, before.unwrap_or(&empty), p)?;
            if let Some(b) = before.filter(|b| b.name != p.name) {
                process_renames.push((b.name.clone(), p.name.clone()));
            }
            out.insert(p.name.clone(), Json::Object(obj));
        }
        set_map(&mut root, "processes", out, ROOT_ORDER);
    }
    rename_references(&mut root, &process_renames, &resource_renames);
    Ok(Json::Object(root))
}

/// Keeps references the form does not show pointing at renamed things: `bestEffort` paths
/// at renamed processes, `kafkaLag.topic` at renamed resources.
fn rename_references(
    root: &mut Map<String, Json>,
    processes: &[(String, String)],
    resources: &[(String, String)],
) {
    if let Some(Json::Array(paths)) = root.get_mut("bestEffort") {
        for path in paths.iter_mut() {
            let Json::String(p) = path else { continue };
            for (old, new) in processes {
                let prefix = format!("processes.{old}");
                if let Some(rest) = p.strip_prefix(&prefix)
                    && (rest.is_empty() || rest.starts_with(['.', '[']))
                {
                    *p = format!("processes.{new}{rest}");
                    break;
                }
            }
        }
    }
    if resources.is_empty() {
        return;
    }
    let Some(Json::Object(procs)) = root.get_mut("processes") else {
        return;
    };
    for process in procs.values_mut() {
        let topic = process
            .pointer_mut("/scaling/autoscale/kafkaLag/topic")
            .filter(|t| t.is_string());
        if let Some(Json::String(t)) = topic
            && let Some((_, new)) = resources.iter().find(|(old, _)| old == t)
        {
            *t = new.clone();
        }
    }
}

fn apply_process(obj: &mut Map<String, Json>, old: &FormProcess, new: &FormProcess) -> Result<(), FormError> {
    let field = format!("processes.{}", new.name);
    if old.kind != new.kind {
        set_text(obj, "kind", &new.kind, PROCESS_ORDER);
    }
    if old.image != new.image {
        set_text(obj, "image", &new.image, PROCESS_ORDER);
    }
    for (key, before, after) in [
        ("command", &old.command, &new.command),
        ("args", &old.args, &new.args),
    ] {
        if before != after {
            if after.is_empty() {
                obj.shift_remove(key);
            } else {
                set_key(obj, key, strings(after), PROCESS_ORDER);
            }
        }
    }
    if old.env != new.env {
        let env = build_env(obj.get("env"), &old.env, &new.env, &field)?;
        set_map(obj, "env", env, PROCESS_ORDER);
    }
    if old.ports != new.ports {
        let (ports, renames) = build_ports(obj.get("ports"), &old.ports, &new.ports);
        set_map(obj, "ports", ports, PROCESS_ORDER);
        rename_check_ports(obj, &renames);
    }
    if old.routes != new.routes {
        let routes = build_routes(obj.get("routes"), &old.routes, &new.routes);
        if routes.is_empty() {
            obj.shift_remove("routes");
        } else {
            set_key(obj, "routes", Json::Array(routes), PROCESS_ORDER);
        }
    }
    apply_amount(
        obj,
        "cpu",
        (&old.cpu_request, &new.cpu_request),
        (&old.cpu_limit, &new.cpu_limit),
    );
    apply_amount(
        obj,
        "memory",
        (&old.memory_request, &new.memory_request),
        (&old.memory_limit, &new.memory_limit),
    );
    if old.replicas != new.replicas || old.autoscale != new.autoscale {
        let mut scaling = object_at(obj.get("scaling"));
        if old.replicas != new.replicas {
            match new.replicas {
                Some(n) => set_key(&mut scaling, "replicas", Json::from(n), SCALING_ORDER),
                None => {
                    scaling.shift_remove("replicas");
                }
            }
        }
        if old.autoscale != new.autoscale {
            match &new.autoscale {
                None => {
                    scaling.shift_remove("autoscale");
                }
                Some(a) => {
                    let (mut auto, before) = match &old.autoscale {
                        Some(b) => (object_at(scaling.get("autoscale")), Some(b)),
                        None => (Map::new(), None),
                    };
                    if before.is_none_or(|b| b.min != a.min) {
                        set_key(&mut auto, "min", Json::from(a.min), AUTOSCALE_ORDER);
                    }
                    if before.is_none_or(|b| b.max != a.max) {
                        set_key(&mut auto, "max", Json::from(a.max), AUTOSCALE_ORDER);
                    }
                    if before.is_none_or(|b| b.cpu != a.cpu) {
                        match a.cpu {
                            Some(c) => set_key(&mut auto, "cpu", Json::from(c), AUTOSCALE_ORDER),
                            None => {
                                auto.shift_remove("cpu");
                            }
                        }
                    }
                    set_key(&mut scaling, "autoscale", Json::Object(auto), SCALING_ORDER);
                }
            }
        }
        set_map(obj, "scaling", scaling, PROCESS_ORDER);
    }
    if old.schedule != new.schedule {
        set_text(obj, "schedule", &new.schedule, PROCESS_ORDER);
    }
    if old.time_zone != new.time_zone {
        set_text(obj, "timeZone", &new.time_zone, PROCESS_ORDER);
    }
    Ok(())
}

fn build_env(
    old_json: Option<&Json>,
    old: &[FormEnv],
    new: &[FormEnv],
    field: &str,
) -> Result<Map<String, Json>, FormError> {
    let old_map = old_json.and_then(Json::as_object);
    let (old_names, new_names) = (names(old), names(new));
    let mut out = Map::new();
    for (e, m) in new.iter().zip(match_entries(&old_names, &new_names)) {
        // A variable in the place of a removed one continues it only with the same value
        // (renaming a secret reference keeps it); with another value it is simply new.
        let before = m
            .map(|j| &old[j])
            .filter(|b| b.name == e.name || b.value == e.value);
        let value = match before {
            Some(before) => {
                let was = old_map
                    .and_then(|o| o.get(&before.name))
                    .cloned()
                    .unwrap_or(Json::Null);
                if e.value == before.value {
                    was
                } else if !before.editable {
                    return Err(FormError::ReadOnly {
                        field: format!("{field}.env.{}", before.name),
                    });
                } else {
                    typed_env(&was, &e.value)
                }
            }
            None => Json::String(e.value.clone()),
        };
        out.insert(e.name.clone(), value);
    }
    Ok(out)
}

/// An edited env value: a number or boolean stays one when the new text reads as one and
/// shows the same (`2` → `4`); anything else is a string.
fn typed_env(was: &Json, text: &str) -> Json {
    if matches!(was, Json::Number(_) | Json::Bool(_))
        && let Some(v) = read_scalar(text)
        && matches!(v, Json::Number(_) | Json::Bool(_))
        && text_of(&v) == text
    {
        return v;
    }
    Json::String(text.to_string())
}

/// The value a text has as a YAML document, if it is a single scalar.
fn read_scalar(text: &str) -> Option<Json> {
    let file: Arc<str> = Arc::from("<value>");
    let docs = parse_yaml(&file, text, Layer::Manifest).ok()?;
    match docs.as_slice() {
        [doc] if !matches!(doc.value, Value::Map(_) | Value::Seq(_)) => Some(doc.to_json()),
        _ => None,
    }
}

fn build_ports(
    old_json: Option<&Json>,
    old: &[FormPort],
    new: &[FormPort],
) -> (Map<String, Json>, Vec<(String, String)>) {
    let old_map = old_json.and_then(Json::as_object);
    let (old_names, new_names) = (names(old), names(new));
    let mut out = Map::new();
    let mut renames = Vec::new();
    for (p, m) in new.iter().zip(match_entries(&old_names, &new_names)) {
        let before = m.map(|j| &old[j]);
        let mut obj = object_at(before.and_then(|b| old_map?.get(&b.name)));
        if before.is_none_or(|b| b.port != p.port) {
            set_key(&mut obj, "port", Json::from(p.port), PORT_ORDER);
        }
        if let Some(b) = before.filter(|b| b.name != p.name) {
            renames.push((b.name.clone(), p.name.clone()));
        }
        out.insert(p.name.clone(), Json::Object(obj));
    }
    (out, renames)
}

/// Health checks name ports too; the form does not show them, so they follow a rename.
fn rename_check_ports(process: &mut Map<String, Json>, renames: &[(String, String)]) {
    let Some(Json::Object(health)) = process.get_mut("health") else {
        return;
    };
    for probe in health.values_mut() {
        for check in ["http", "tcp", "grpc"] {
            let Some(Json::String(port)) = probe.get_mut(check).and_then(|c| c.get_mut("port")) else {
                continue;
            };
            if let Some((_, new)) = renames.iter().find(|(old, _)| old == port) {
                *port = new.clone();
            }
        }
    }
}

fn build_routes(old_json: Option<&Json>, old: &[FormRoute], new: &[FormRoute]) -> Vec<Json> {
    let old_items = old_json.and_then(Json::as_array);
    let empty = FormRoute::default();
    new.iter()
        .enumerate()
        .map(|(i, r)| {
            let before = old.get(i).unwrap_or(&empty);
            let mut obj = object_at(old_items.and_then(|items| items.get(i)));
            if before.host != r.host {
                set_text(&mut obj, "host", &r.host, ROUTE_ORDER);
            }
            if before.path != r.path {
                set_text(&mut obj, "path", &r.path, ROUTE_ORDER);
            }
            if before.port != r.port {
                set_text(&mut obj, "port", &r.port, ROUTE_ORDER);
            }
            if before.tls != r.tls && (r.tls || obj.contains_key("tls")) {
                set_key(&mut obj, "tls", Json::Bool(r.tls), ROUTE_ORDER);
            }
            Json::Object(obj)
        })
        .collect()
}

/// `cpu` / `memory`: request and limit, as strings (quantities accept both).
fn apply_amount(obj: &mut Map<String, Json>, key: &str, request: (&str, &str), limit: (&str, &str)) {
    if request.0 == request.1 && limit.0 == limit.1 {
        return;
    }
    let mut amount = object_at(obj.get(key));
    if request.0 != request.1 {
        set_text(&mut amount, "request", request.1, AMOUNT_ORDER);
    }
    if limit.0 != limit.1 {
        set_text(&mut amount, "limit", limit.1, AMOUNT_ORDER);
    }
    set_map(obj, key, amount, PROCESS_ORDER);
}
