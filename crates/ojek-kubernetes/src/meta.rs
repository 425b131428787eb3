//! Object metadata: names, namespace, labels and annotations shared by every object.

use ojek_output::{Doc, Origin};
use serde_json::{Map, Value, json};

use crate::Ctx;
use crate::versions::api_version;

/// Selector labels of a process's pods. Stable across releases: never add to these.
pub(crate) fn selector(cx: &Ctx, process: &str) -> Value {
    json!({
        "ojek.dev/app": cx.app.metadata.name,
        "ojek.dev/process": process,
    })
}

/// All labels of an object of `process` (or of the whole app).
pub(crate) fn labels(cx: &Ctx, process: Option<&str>) -> Value {
    let app = &cx.app.metadata;
    let mut m = Map::new();
    m.insert("app.kubernetes.io/name".into(), json!(app.name));
    if let Some(p) = process {
        m.insert("app.kubernetes.io/instance".into(), json!(cx.object_name(p)));
        m.insert("app.kubernetes.io/component".into(), json!(p));
    }
    m.insert("app.kubernetes.io/part-of".into(), json!(app.name));
    m.insert("app.kubernetes.io/managed-by".into(), json!("ojek"));
    m.insert("ojek.dev/app".into(), json!(app.name));
    m.insert("ojek.dev/env".into(), json!(cx.env));
    m.insert("ojek.dev/team".into(), json!(app.team));
    if let Some(p) = process {
        m.insert("ojek.dev/process".into(), json!(p));
    }
    for (k, v) in &app.labels {
        m.insert(k.clone(), json!(v));
    }
    Value::Object(m)
}

/// The metadata shared by every object of `process` (or of the app): namespace, labels,
/// annotations, traced. Built once per process and copied into each object.
pub(crate) fn shared_metadata(cx: &Ctx, process: Option<&str>) -> Doc {
    let mut metadata = json!({
        "namespace": cx.namespace,
        "labels": labels(cx, process),
    });
    let mut annotations = Map::new();
    if let Some(d) = &cx.app.metadata.description {
        annotations.insert("ojek.dev/description".into(), json!(d));
    }
    for (k, v) in &cx.app.metadata.annotations {
        annotations.insert(k.clone(), json!(v));
    }
    if !annotations.is_empty() {
        metadata["annotations"] = Value::Object(annotations);
    }
    let mut doc = Doc::new(metadata, Origin::default("object metadata"));
    trace_metadata(cx, &mut doc, "", process);
    doc.trace("/namespace", cx.namespace_origin.clone());
    if cx.app.metadata.description.is_some() {
        doc.trace(
            "/annotations/ojek.dev~1description",
            cx.src.manifest("metadata.description"),
        );
    }
    doc
}

/// Copies the `fields` of the process's shared metadata, with their origins, into `/metadata`.
pub(crate) fn copy_shared(cx: &Ctx, doc: &mut Doc, process: Option<&str>, fields: &[&str]) {
    let built;
    let shared = match cx.metadata.get(process.unwrap_or("")) {
        Some(s) => s,
        None => {
            built = shared_metadata(cx, process);
            &built
        }
    };
    for field in fields {
        if let Some(v) = shared.value.get(*field) {
            doc.value["metadata"][*field] = v.clone();
        }
    }
    for (p, o) in shared.origins.iter() {
        let top = p.split('/').nth(1).unwrap_or("");
        if !p.is_empty() && fields.contains(&top) {
            doc.origins.insert(format!("/metadata{p}"), o.clone());
        }
    }
}

/// A new object `kind`/`name` with metadata filled and traced; `origin` covers the rest.
pub(crate) fn object(cx: &Ctx, kind: &str, name: &str, process: Option<&str>, origin: Origin) -> Doc {
    let mut doc = Doc::new(
        json!({
            "apiVersion": api_version(&cx.version, kind),
            "kind": kind,
            "metadata": {"name": name},
        }),
        origin,
    );
    copy_shared(cx, &mut doc, process, &["namespace", "labels", "annotations"]);
    doc.trace(
        "/apiVersion",
        Origin::default(format!(
            "{kind} is served as {} in Kubernetes {}",
            api_version(&cx.version, kind),
            cx.version
        )),
    );
    let name_origin = match process {
        Some(p) => cx.src.manifest_note(
            &format!("processes.{p}"),
            format!("named after the app and process: {name}"),
        ),
        None => cx.src.manifest_note("metadata.name", "the app name"),
    };
    doc.trace("/metadata/name", name_origin);
    doc
}

/// Traces the labels and annotations under `at` (an object's or a pod template's metadata).
pub(crate) fn trace_metadata(cx: &Ctx, doc: &mut Doc, at: &str, process: Option<&str>) {
    let src = cx.src;
    doc.trace(
        &format!("{at}/labels"),
        Origin::default("recommended labels (app.kubernetes.io/*) and ojek.dev/* labels that deploys, logs and selectors use"),
    );
    for key in [
        "app.kubernetes.io~1name",
        "app.kubernetes.io~1part-of",
        "ojek.dev~1app",
    ] {
        doc.trace(
            &format!("{at}/labels/{key}"),
            src.manifest_note("metadata.name", "the app name"),
        );
    }
    doc.trace(
        &format!("{at}/labels/ojek.dev~1team"),
        src.manifest("metadata.team"),
    );
    doc.trace(
        &format!("{at}/labels/ojek.dev~1env"),
        Origin::default(format!("the environment being rendered: {}", cx.env)),
    );
    if let Some(p) = process {
        for key in [
            "app.kubernetes.io~1instance",
            "app.kubernetes.io~1component",
            "ojek.dev~1process",
        ] {
            doc.trace(
                &format!("{at}/labels/{key}"),
                src.manifest_note(&format!("processes.{p}"), "the process name"),
            );
        }
    }
    for k in cx.app.metadata.labels.keys() {
        doc.trace(
            &format!("{at}/labels/{}", ojek_output::doc::escape(k)),
            src.manifest(&format!("metadata.labels[\"{k}\"]")),
        );
    }
    for k in cx.app.metadata.annotations.keys() {
        doc.trace(
            &format!("{at}/annotations/{}", ojek_output::doc::escape(k)),
            src.manifest(&format!("metadata.annotations[\"{k}\"]")),
        );
    }
}
