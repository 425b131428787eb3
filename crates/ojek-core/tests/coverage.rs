//! Nothing is silently dropped: every field of the app manifest is either rendered for each
//! target (some generated field traces back to it, see `explain`) or reported as unsupported
//! by that target, or is one of the few fields ojek applies itself for every target
//! ([`APPLIED_BY_OJEK`], such as `logs`), which renderers must ignore.
//!
//! `tests/data/everything.yaml` sets every field; the first test proves it does, by walking the
//! manifest's JSON Schema, so a new field cannot escape this check.

mod common;

use std::collections::BTreeSet;

use ojek_core::spec::load::load_app;
use ojek_core::spec::manifest::APPLIED_BY_OJEK;
use ojek_core::spec::platform::TargetKind;
use ojek_core::spec::schema::app_schema;
use ojek_core::spec::source::{Node, Path, Segment, Value as N};
use ojek_core::{RenderOptions, render};
use serde_json::Value;

const EVERYTHING: &str = "crates/ojek-core/tests/data/everything.yaml";

/// Fields that steer ojek itself rather than the output.
const META: &[&str] = &["apiVersion", "kind", "environments", "bestEffort"];

/// Fields that only constrain validation, with the reason they render nothing.
const VALIDATION_ONLY: &[(&str, &str)] = &[(
    "resources.*.access",
    "checked by validation: Kafka-lag scaling needs a topic the app consumes",
)];

fn resolve<'a>(schema: &'a Value, mut s: &'a Value) -> &'a Value {
    while let Some(r) = s.get("$ref").and_then(Value::as_str) {
        s = &schema["$defs"][r.trim_start_matches("#/$defs/")];
    }
    s
}

/// Leaf paths of a manifest: (schema-shaped path, real path).
fn manifest_leaves(
    root: &Value,
    s: &Value,
    node: &Node,
    shaped: &str,
    real: &Path,
    out: &mut Vec<(String, Path)>,
) {
    let s = resolve(root, s);
    let join = |p: &str, k: &str| {
        if p.is_empty() {
            k.to_string()
        } else {
            format!("{p}.{k}")
        }
    };
    if let Some(alts) = s
        .get("anyOf")
        .or_else(|| s.get("oneOf"))
        .and_then(Value::as_array)
    {
        if let N::Map(_) = &node.value
            && let Some(obj) = alts
                .iter()
                .map(|a| resolve(root, a))
                .find(|a| a.get("properties").is_some())
        {
            manifest_leaves(root, obj, node, shaped, real, out);
            return;
        }
        out.push((shaped.to_string(), real.clone()));
        return;
    }
    match &node.value {
        N::Map(entries) if s.get("properties").is_some() => {
            for (k, v) in entries {
                if real.0.is_empty() && META.contains(&k.name.as_str()) {
                    continue;
                }
                manifest_leaves(
                    root,
                    &s["properties"][&k.name],
                    v,
                    &join(shaped, &k.name),
                    &real.key(&k.name),
                    out,
                );
            }
        }
        N::Map(entries) if s.get("additionalProperties").is_some_and(Value::is_object) => {
            for (k, v) in entries {
                manifest_leaves(
                    root,
                    &s["additionalProperties"],
                    v,
                    &join(shaped, "*"),
                    &real.key(&k.name),
                    out,
                );
            }
        }
        N::Seq(items) if s.get("items").is_some_and(Value::is_object) => {
            for (i, v) in items.iter().enumerate() {
                manifest_leaves(root, &s["items"], v, &format!("{shaped}[]"), &real.index(i), out);
            }
        }
        _ => out.push((shaped.to_string(), real.clone())),
    }
}

fn everything() -> (ojek_core::spec::LoadedApp, String) {
    let text = std::fs::read_to_string(common::root().join(EVERYTHING)).expect("everything.yaml");
    let loaded = load_app(EVERYTHING, &text, &common::RootReader).unwrap_or_else(|d| panic!("{d}"));
    (loaded, text)
}

/// Every field of every definition in the schema, as `Definition:field.path`.
fn schema_fields(
    root: &Value,
    s: &Value,
    owner: &str,
    rel: &str,
    seen: &mut BTreeSet<String>,
    out: &mut BTreeSet<String>,
) {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/$defs/").to_string();
        if seen.insert(name.clone()) {
            schema_fields(root, &root["$defs"][&name], &name, "", seen, out);
        }
        return;
    }
    if let Some(alts) = s
        .get("anyOf")
        .or_else(|| s.get("oneOf"))
        .and_then(Value::as_array)
    {
        for a in alts {
            schema_fields(root, a, owner, rel, seen, out);
        }
        return;
    }
    if let Some(props) = s.get("properties").and_then(Value::as_object) {
        for (k, v) in props {
            if owner == "App" && META.contains(&k.as_str()) {
                continue;
            }
            let f = if rel.is_empty() {
                k.clone()
            } else {
                format!("{rel}.{k}")
            };
            out.insert(format!("{owner}:{f}"));
            schema_fields(root, v, owner, &f, seen, out);
        }
    }
    for key in ["additionalProperties", "items"] {
        if let Some(inner) = s.get(key).filter(|v| v.is_object()) {
            schema_fields(root, inner, owner, &format!("{rel}[]"), seen, out);
        }
    }
}

/// The `Definition:field.path` of every field a manifest sets.
fn manifest_fields(root: &Value, s: &Value, node: &Node, owner: &str, rel: &str, out: &mut BTreeSet<String>) {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/$defs/");
        manifest_fields(root, &root["$defs"][name], node, name, "", out);
        return;
    }
    if let Some(alts) = s
        .get("anyOf")
        .or_else(|| s.get("oneOf"))
        .and_then(Value::as_array)
    {
        if let N::Map(_) = &node.value {
            for a in alts {
                let resolved = resolve(root, a);
                if resolved.get("properties").is_some()
                    || resolved.get("additionalProperties").is_some_and(Value::is_object)
                {
                    manifest_fields(root, a, node, owner, rel, out);
                    return;
                }
            }
        }
        return;
    }
    match &node.value {
        N::Map(entries) => {
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                for (k, v) in entries {
                    if let Some(ps) = props.get(&k.name) {
                        let f = if rel.is_empty() {
                            k.name.clone()
                        } else {
                            format!("{rel}.{}", k.name)
                        };
                        out.insert(format!("{owner}:{f}"));
                        manifest_fields(root, ps, v, owner, &f, out);
                    }
                }
            } else if let Some(inner) = s.get("additionalProperties").filter(|v| v.is_object()) {
                for (_, v) in entries {
                    manifest_fields(root, inner, v, owner, &format!("{rel}[]"), out);
                }
            }
        }
        N::Seq(items) => {
            if let Some(inner) = s.get("items").filter(|v| v.is_object()) {
                for v in items {
                    manifest_fields(root, inner, v, owner, &format!("{rel}[]"), out);
                }
            }
        }
        _ => {}
    }
}

#[test]
fn everything_manifest_sets_every_schema_field() {
    let schema = app_schema();
    let mut want = BTreeSet::new();
    let mut seen = BTreeSet::new();
    schema_fields(schema, schema, "App", "", &mut seen, &mut want);
    // Override definitions mirror the body; only the body is checked.
    want.retain(|f| !f.starts_with("Override"));
    // Read the raw text: loading replaces `fromFile` by the file's content.
    let text = std::fs::read_to_string(common::root().join(EVERYTHING)).expect("everything.yaml");
    let node = ojek_core::spec::source::parse_yaml(
        &std::sync::Arc::from(EVERYTHING),
        &text,
        ojek_core::spec::Layer::Manifest,
    )
    .expect("parses")
    .remove(0);
    let mut have = BTreeSet::new();
    manifest_fields(schema, schema, &node, "App", "", &mut have);
    let missing: Vec<&String> = want.difference(&have).collect();
    assert!(want.len() > 80, "schema walk found only {} fields", want.len());
    assert!(
        missing.is_empty(),
        "everything.yaml does not set these schema fields: {missing:#?}"
    );
}

fn covered_by(leaf: &Path, field: &str, min_depth: usize) -> bool {
    Path::parse(field)
        .is_some_and(|f| (f.0.len() >= min_depth && leaf.starts_with(&f)) || f.starts_with(leaf))
}

/// True for a field at or below one that ojek applies itself ([`APPLIED_BY_OJEK`]).
fn applied_by_ojek(shaped: &str) -> bool {
    APPLIED_BY_OJEK
        .iter()
        .any(|(field, _)| shaped == *field || shaped.starts_with(&format!("{field}.")))
}

fn shaped_matches(pattern: &str, shaped: &str) -> bool {
    let p: Vec<&str> = pattern.split('.').collect();
    let s: Vec<&str> = shaped.split('.').collect();
    p.len() == s.len() && p.iter().zip(&s).all(|(a, b)| a == b || *a == "*")
}

#[test]
fn every_manifest_field_is_rendered_or_reported_for_each_target() {
    let platform = common::platform();
    let schema = app_schema();
    let (loaded, text) = everything();
    for target in [TargetKind::Kubernetes, TargetKind::Nomad] {
        let opts = RenderOptions {
            env: "staging".into(),
            target: Some(target),
            kube_version: None,
        };
        // First pass: what the target cannot express (errors without bestEffort).
        let unsupported: Vec<String> = match render(&loaded, &platform, &opts) {
            Ok(r) => r.warnings.0.iter().filter_map(|d| d.path.clone()).collect(),
            Err(d) => {
                for e in d.errors() {
                    assert!(
                        e.message.contains("cannot express"),
                        "{}: unexpected error: {e}",
                        target.as_str()
                    );
                }
                d.0.iter().filter_map(|d| d.path.clone()).collect()
            }
        };
        // Second pass: the same fields as bestEffort render with warnings instead.
        let list: Vec<String> = unsupported.iter().map(|p| format!("'{p}'")).collect();
        let text2 = text.replace("bestEffort: []", &format!("bestEffort: [{}]", list.join(", ")));
        let loaded2 = load_app(EVERYTHING, &text2, &common::RootReader).unwrap_or_else(|d| panic!("{d}"));
        let rendered =
            render(&loaded2, &platform, &opts).unwrap_or_else(|d| panic!("{}: {d}", target.as_str()));
        let warned: BTreeSet<String> = rendered
            .warnings
            .0
            .iter()
            .filter_map(|d| d.path.clone())
            .collect();
        assert_eq!(
            warned,
            unsupported.iter().cloned().collect(),
            "{}: bestEffort turns each error into a warning",
            target.as_str()
        );
        let mut fields = BTreeSet::new();
        let mut inputs = BTreeSet::new();
        for doc in &rendered.objects {
            for o in doc.origins.values() {
                if let Some(f) = &o.field {
                    fields.insert(f.clone());
                }
                inputs.extend(o.inputs.iter().cloned());
            }
        }
        let other_hatch = match target {
            TargetKind::Kubernetes => "targets.nomad",
            TargetKind::Nomad => "targets.kubernetes",
        };
        let mut leaves = Vec::new();
        manifest_leaves(schema, schema, &loaded.body, "", &Path::root(), &mut leaves);
        let mut uncovered = Vec::new();
        let mut applied = Vec::new();
        for (shaped, real) in &leaves {
            if applied_by_ojek(shaped) {
                applied.push(real.to_string());
                continue;
            }
            if shaped.starts_with(other_hatch)
                || VALIDATION_ONLY.iter().any(|(p, _)| shaped_matches(p, shaped))
            {
                continue;
            }
            let min_depth = match real.0.first() {
                Some(Segment::Key(k)) if k == "processes" => 3,
                _ => 2,
            };
            let ok = fields.iter().any(|f| covered_by(real, f, min_depth))
                || inputs.iter().any(|f| covered_by(real, f, 2))
                || warned.iter().any(|f| covered_by(real, f, 2));
            if !ok {
                uncovered.push(real.to_string());
            }
        }
        assert!(
            uncovered.is_empty(),
            "{}: manifest fields neither rendered nor reported: {uncovered:#?}",
            target.as_str()
        );
        // What ojek applies itself is neither rendered nor reported: renderers ignore it.
        assert!(
            !applied.is_empty(),
            "everything.yaml sets fields ojek applies itself"
        );
        let leaked: Vec<&String> = fields
            .iter()
            .chain(&inputs)
            .chain(&warned)
            .filter(|f| applied_by_ojek(f))
            .collect();
        assert!(
            leaked.is_empty(),
            "{}: renderers must ignore fields ojek applies itself, but traced or reported {leaked:?}",
            target.as_str()
        );
    }
}

#[test]
fn fields_applied_by_ojek_change_no_rendered_output() {
    let platform = common::platform();
    let (with_logs, text) = everything();
    let start = text
        .find("\nlogs:\n")
        .expect("everything.yaml has a logs section")
        + 1;
    let end = start + text[start..].find("\ntargets:").expect("targets after logs") + 1;
    let without = format!("{}{}", &text[..start], &text[end..]);
    let without_logs = load_app(EVERYTHING, &without, &common::RootReader).unwrap_or_else(|d| panic!("{d}"));
    assert!(with_logs.app.logs.is_some() && without_logs.app.logs.is_none());
    for target in [TargetKind::Kubernetes, TargetKind::Nomad] {
        let opts = RenderOptions {
            env: "staging".into(),
            target: Some(target),
            kube_version: None,
        };
        // Unsupported fields are reported the same way with and without `logs` (lines after
        // the section move, so compare paths and messages).
        let said = |d: &ojek_core::spec::Diagnostic| format!("{:?} {:?}: {}", d.severity, d.path, d.message);
        let outcome = |loaded| match render(loaded, &platform, &opts) {
            Ok(r) => (
                r.objects.iter().map(|d| d.value.clone()).collect::<Vec<Value>>(),
                r.warnings.0.iter().map(said).collect::<Vec<String>>(),
            ),
            Err(d) => (Vec::new(), d.0.iter().map(said).collect()),
        };
        assert_eq!(
            outcome(&with_logs),
            outcome(&without_logs),
            "{}: `logs` must not change rendered objects or diagnostics",
            target.as_str()
        );
    }
}
