//! Reading the form from a manifest's JSON: the common fields of the base body, with what is
//! missing or of the wrong type read as empty (the YAML may be mid-edit and invalid).
//!
//! Never fails and never writes: checking is [`super::check`]'s job.

use serde_json::Value as Json;

use super::model::{FormApp, FormAutoscale, FormEnv, FormPort, FormProcess, FormResource, FormRoute};

pub(super) fn read_form(root: &Json) -> FormApp {
    let meta = root.get("metadata");
    FormApp {
        name: text_at(meta, "name"),
        team: text_at(meta, "team"),
        description: text_at(meta, "description"),
        resources: entries(root.get("resources"))
            .map(|(name, r)| FormResource {
                name: name.clone(),
                r#type: text_at(Some(r), "type"),
            })
            .collect(),
        processes: entries(root.get("processes"))
            .map(|(name, p)| read_process(name, p))
            .collect(),
    }
}

fn read_process(name: &str, p: &Json) -> FormProcess {
    let p = Some(p);
    let cpu = get(p, "cpu");
    let memory = get(p, "memory");
    let scaling = get(p, "scaling");
    FormProcess {
        name: name.to_string(),
        kind: text_at(p, "kind"),
        image: text_at(p, "image"),
        command: texts(get(p, "command")),
        args: texts(get(p, "args")),
        ports: entries(get(p, "ports"))
            .map(|(name, port)| FormPort {
                name: name.clone(),
                port: port
                    .get("port")
                    .and_then(Json::as_u64)
                    .and_then(|n| u16::try_from(n).ok())
                    .unwrap_or(0),
            })
            .collect(),
        routes: get(p, "routes")
            .and_then(Json::as_array)
            .map(|items| {
                items
                    .iter()
                    .map(|r| FormRoute {
                        host: text_at(Some(r), "host"),
                        path: text_at(Some(r), "path"),
                        port: text_at(Some(r), "port"),
                        tls: r.get("tls") == Some(&Json::Bool(true)),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        env: entries(get(p, "env"))
            .map(|(name, v)| {
                let (value, editable) = env_display(v);
                FormEnv {
                    name: name.clone(),
                    value,
                    editable,
                }
            })
            .collect(),
        cpu_request: text_at(cpu, "request"),
        cpu_limit: text_at(cpu, "limit"),
        memory_request: text_at(memory, "request"),
        memory_limit: text_at(memory, "limit"),
        replicas: get(scaling, "replicas").and_then(as_u32),
        autoscale: get(scaling, "autoscale")
            .filter(|a| a.is_object())
            .map(|a| FormAutoscale {
                min: a.get("min").and_then(as_u32).unwrap_or(0),
                max: a.get("max").and_then(as_u32).unwrap_or(0),
                cpu: a.get("cpu").and_then(as_u32),
            }),
        schedule: text_at(p, "schedule"),
        time_zone: text_at(p, "timeZone"),
    }
}

fn get<'a>(v: Option<&'a Json>, key: &str) -> Option<&'a Json> {
    v?.get(key)
}

/// The entries of a mapping (none for anything else).
fn entries(v: Option<&Json>) -> impl Iterator<Item = (&String, &Json)> {
    v.and_then(Json::as_object).into_iter().flatten()
}

fn as_u32(v: &Json) -> Option<u32> {
    v.as_u64().and_then(|n| u32::try_from(n).ok())
}

/// A scalar as the form shows it; collections as compact JSON, nothing as "".
pub(super) fn text_of(v: &Json) -> String {
    match v {
        Json::Null => String::new(),
        Json::String(s) => s.clone(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

fn text_at(v: Option<&Json>, key: &str) -> String {
    get(v, key).map(text_of).unwrap_or_default()
}

fn texts(v: Option<&Json>) -> Vec<String> {
    v.and_then(Json::as_array)
        .map(|items| items.iter().map(text_of).collect())
        .unwrap_or_default()
}

/// An env value as the form shows it, and whether the form may change it.
fn env_display(v: &Json) -> (String, bool) {
    match v {
        Json::String(s) => (s.clone(), !has_reference(s)),
        Json::Object(m) => match (m.get("secret"), m.get("key")) {
            (Some(Json::String(secret)), Some(Json::String(key))) if m.len() == 2 => {
                (format!("secret {secret}/{key}"), false)
            }
            _ => (v.to_string(), false),
        },
        Json::Array(_) => (v.to_string(), false),
        scalar => (text_of(scalar), true),
    }
}

/// Whether a string uses `${…}` interpolation (`$${` is a literal `${`).
fn has_reference(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' {
            match b.get(i + 1) {
                Some(b'$') => {
                    i += 2;
                    continue;
                }
                Some(b'{') => return true,
                _ => {}
            }
        }
        i += 1;
    }
    false
}
