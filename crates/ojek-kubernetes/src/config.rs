//! The app's ServiceAccount and the ConfigMaps holding config files.

use ojek_output::{Doc, Origin};
use ojek_spec::manifest::Process;
use serde_json::{Map, Value, json};

use crate::Ctx;
use crate::meta;

/// One ServiceAccount per app, so that cluster permissions can be granted per app.
pub(crate) fn service_account(cx: &Ctx) -> Doc {
    let mut doc = meta::object(
        cx,
        "ServiceAccount",
        &cx.app.metadata.name,
        None,
        Origin::default(
            "every app gets its own ServiceAccount so that permissions can be granted per app, never to `default`",
        ),
    );
    doc.value["automountServiceAccountToken"] = json!(false);
    doc.trace(
        "/automountServiceAccountToken",
        Origin::default(
            "no API token in pods unless a patch asks for it: apps rarely need the Kubernetes API",
        ),
    );
    doc
}

/// Name of the ConfigMap holding a process's files.
pub(crate) fn config_map_name(cx: &Ctx, process: &str) -> String {
    format!("{}-files", cx.object_name(process))
}

/// The ConfigMap key of each file: its base name, made unique and valid.
pub(crate) fn file_keys(p: &Process) -> Vec<(String, String)> {
    let mut used: Vec<String> = Vec::new();
    p.files
        .keys()
        .map(|path| {
            let base: String = path
                .rsplit('/')
                .next()
                .unwrap_or("file")
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let base = if base.is_empty() || base == "." || base == ".." {
                "file".to_string()
            } else {
                base
            };
            let mut key = base.clone();
            let mut n = 2;
            while used.contains(&key) {
                key = format!("{n}-{base}");
                n += 1;
            }
            used.push(key.clone());
            (path.clone(), key)
        })
        .collect()
}

/// A ConfigMap with the process's config files, if it has any.
pub(crate) fn files_config_map(cx: &Ctx, name: &str, p: &Process) -> Option<Doc> {
    if p.files.is_empty() {
        return None;
    }
    let mut doc = meta::object(
        cx,
        "ConfigMap",
        &config_map_name(cx, name),
        Some(name),
        cx.src.manifest_note(
            &format!("processes.{name}.files"),
            "config files are mounted from a ConfigMap",
        ),
    );
    let keys = file_keys(p);
    let mut data = Map::new();
    for (path, key) in &keys {
        let content = p
            .files
            .get(path)
            .and_then(|f| f.content.clone())
            .unwrap_or_default();
        data.insert(key.clone(), json!(content));
    }
    doc.value["data"] = Value::Object(data);
    for (path, key) in &keys {
        // `fromFile` content is located at the `fromFile` line when the manifest loads.
        doc.trace(
            &format!("/data/{}", ojek_output::doc::escape(key)),
            cx.src
                .manifest(&format!("processes.{name}.files[\"{path}\"].content")),
        );
    }
    Some(doc)
}
