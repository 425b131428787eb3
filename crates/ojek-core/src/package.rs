//! Rendered objects as files: one YAML stream, JSON, a Kustomize base, or a Helm chart for
//! Kubernetes; HCL2 jobspecs or JSON API documents for Nomad. Paths are relative; the caller
//! writes them (or prints the single file).

use std::collections::BTreeMap;

use ojek_output::yaml::{to_yaml, to_yaml_stream, to_yaml_with_raw};
use ojek_output::{Doc, Rendered};
use ojek_spec::platform::TargetKind;
use serde_json::{Map, Value, json};

/// Output formats for Kubernetes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// One multi-document YAML file.
    #[default]
    Yaml,
    /// One JSON file: a `v1/List` of the objects.
    Json,
    /// A Kustomize base: one file per object and `kustomization.yaml`.
    Kustomize,
    /// A Helm chart directory with image tags and replicas as values.
    Helm,
}

/// Output formats for Nomad.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NomadFormat {
    /// HCL2 jobspecs (`nomad job run`).
    #[default]
    Hcl,
    /// The JSON API form (`{"Job": …}`, `POST /v1/jobs`).
    Json,
}

/// Files of the rendered output, by relative path.
pub fn package(
    rendered: &Rendered,
    app: &str,
    format: Format,
    nomad_format: NomadFormat,
) -> Result<BTreeMap<String, String>, String> {
    let mut files = BTreeMap::new();
    match rendered.target {
        TargetKind::Nomad => {
            for doc in &rendered.objects {
                let id = safe_file_part(doc.name());
                match nomad_format {
                    NomadFormat::Hcl => {
                        insert_unique(
                            &mut files,
                            format!("{id}.nomad.hcl"),
                            ojek_nomad::to_hcl(&doc.value)?,
                        )?;
                    }
                    NomadFormat::Json => {
                        insert_unique(&mut files, format!("{id}.json"), pretty(&doc.value))?;
                    }
                }
            }
        }
        TargetKind::Kubernetes => match format {
            Format::Yaml => {
                files.insert(
                    format!("{app}.yaml"),
                    to_yaml_stream(rendered.objects.iter().map(|d| &d.value)),
                );
            }
            Format::Json => {
                let items: Vec<Value> = rendered.objects.iter().map(|d| d.value.clone()).collect();
                files.insert(
                    format!("{app}.json"),
                    pretty(&json!({"apiVersion": "v1", "kind": "List", "items": items})),
                );
            }
            Format::Kustomize => {
                let mut resources = Vec::new();
                for doc in &rendered.objects {
                    let file = object_file(doc);
                    resources.push(Value::String(file.clone()));
                    insert_unique(&mut files, file, to_yaml(&doc.value))?;
                }
                let k = json!({
                    "apiVersion": "kustomize.config.k8s.io/v1beta1",
                    "kind": "Kustomization",
                    "resources": resources,
                });
                files.insert("kustomization.yaml".into(), to_yaml(&k));
            }
            Format::Helm => helm(rendered, app, &mut files)?,
        },
    }
    Ok(files)
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

/// `kind-name.yaml`, with anything but letters, digits, `.`, `-` and `_` replaced: names of
/// raw or patched objects must not steer where files are written.
fn object_file(doc: &Doc) -> String {
    format!(
        "{}-{}.yaml",
        safe_file_part(&doc.kind().to_lowercase()),
        safe_file_part(doc.name())
    )
}

/// A string usable as one path component.
pub fn safe_file_part(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    match cleaned.trim_start_matches('.') {
        "" => "_".to_string(),
        rest => rest.to_string(),
    }
}

/// A Helm chart: the rendered objects as templates, with image tags and replica counts read
/// from values. Objects ojek placed in the environment's namespace take the release namespace
/// instead; other namespaces (raw objects) stay as written.
fn helm(rendered: &Rendered, app: &str, files: &mut BTreeMap<String, String>) -> Result<(), String> {
    let mut values = Map::new();
    let namespace = rendered
        .objects
        .first()
        .and_then(|d| d.value.pointer("/metadata/namespace"))
        .cloned();
    for doc in &rendered.objects {
        let mut value = doc.value.clone();
        let mut raw = BTreeMap::new();
        if namespace.is_some() && value.pointer("/metadata/namespace") == namespace.as_ref() {
            raw.insert(
                "/metadata/namespace".to_string(),
                "{{ .Release.Namespace }}".to_string(),
            );
        }
        for param in &doc.params {
            // A patch may have changed or moved the field since it was marked: keep it literal.
            if value.pointer(&param.pointer) != Some(&param.value) {
                continue;
            }
            set_value(
                &mut values,
                &param.name,
                strip_prefix(&param.value, param.prefix.as_deref()),
            );
            let expr = values_expr(&param.name);
            let text = match &param.prefix {
                Some(prefix) => {
                    let prefix = escape_template(prefix).replace('\\', "\\\\").replace('"', "\\\"");
                    format!("\"{prefix}{{{{ {expr} }}}}\"")
                }
                None => format!("{{{{ {expr} }}}}"),
            };
            raw.insert(param.pointer.clone(), text);
        }
        // Template delimiters in values (config files, annotations) must reach the cluster as
        // written, not be run by Helm.
        escape_braces(&mut value);
        insert_unique(
            files,
            format!("templates/{}", object_file(doc)),
            to_yaml_with_raw(&value, &raw),
        )?;
    }
    let chart = json!({
        "apiVersion": "v2",
        "name": app,
        "description": format!("{app}, rendered by ojek"),
        "type": "application",
        "version": "0.1.0",
    });
    files.insert("Chart.yaml".into(), to_yaml(&chart));
    files.insert("values.yaml".into(), to_yaml(&Value::Object(values)));
    Ok(())
}

/// Adds a file; two objects that would be written to the same file are an error, never a
/// silently lost object.
fn insert_unique(files: &mut BTreeMap<String, String>, path: String, content: String) -> Result<(), String> {
    if files.contains_key(&path) {
        return Err(format!(
            "two objects would be written to {path}: give them different kinds or names"
        ));
    }
    files.insert(path, content);
    Ok(())
}

/// `.Values.web.image.tag`, or `(index .Values "my-web" "image" "tag")` when a name is not an
/// identifier Go templates accept after a dot.
fn values_expr(name: &str) -> String {
    let parts: Vec<&str> = name.split('.').collect();
    let identifiers = parts.iter().all(|k| {
        !k.is_empty()
            && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !k.starts_with(|c: char| c.is_ascii_digit())
    });
    if identifiers {
        format!(".Values.{}", parts.join("."))
    } else {
        let quoted: Vec<String> = parts.iter().map(|k| format!("{k:?}")).collect();
        format!("(index .Values {})", quoted.join(" "))
    }
}

/// Replaces `{{` and `}}` by template actions that print them (the raw-string form, which
/// needs no escaping inside a YAML double-quoted string).
fn escape_template(s: &str) -> String {
    if !s.contains("{{") && !s.contains("}}") {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 16);
    let mut rest = s;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let r = &rest[i..];
        if let Some(after) = r.strip_prefix("{{") {
            out.push_str("{{`{{`}}");
            rest = after;
        } else if let Some(after) = r.strip_prefix("}}") {
            out.push_str("{{`}}`}}");
            rest = after;
        } else {
            out.push_str(&r[..1]);
            rest = &r[1..];
        }
    }
    out.push_str(rest);
    out
}

fn strip_prefix(v: &Value, prefix: Option<&str>) -> Value {
    match (v, prefix) {
        (Value::String(s), Some(p)) => Value::String(s.strip_prefix(p).unwrap_or(s).to_string()),
        _ => v.clone(),
    }
}

fn set_value(values: &mut Map<String, Value>, name: &str, v: Value) {
    let mut cur = values;
    let parts: Vec<&str> = name.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            cur.insert(part.to_string(), v);
            return;
        }
        let next = cur.entry(part.to_string()).or_insert_with(|| json!({}));
        if !next.is_object() {
            *next = json!({});
        }
        cur = match next.as_object_mut() {
            Some(m) => m,
            None => return,
        };
    }
}

fn escape_braces(v: &mut Value) {
    match v {
        Value::String(s) if s.contains("{{") || s.contains("}}") => *s = escape_template(s),
        Value::Array(a) => a.iter_mut().for_each(escape_braces),
        Value::Object(m) => m.values_mut().for_each(escape_braces),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ojek_output::{Doc, Origin};
    use ojek_spec::Diagnostics;

    fn rendered(docs: Vec<Doc>) -> Rendered {
        Rendered {
            target: TargetKind::Kubernetes,
            objects: docs,
            warnings: Diagnostics::default(),
        }
    }

    #[test]
    fn helm_quotes_names_go_templates_cannot_take_after_a_dot() {
        let mut d = Doc::new(
            json!({"kind": "Deployment", "metadata": {"name": "a", "namespace": "ns"},
                   "spec": {"image": "reg/app:1.0", "note": "x {{ y }}"}}),
            Origin::default("test"),
        );
        d.param("/spec/image", "my-web.image.tag", Some("reg/app:".into()));
        let files = package(&rendered(vec![d]), "a", Format::Helm, NomadFormat::Hcl).expect("chart");
        let t = &files["templates/deployment-a.yaml"];
        assert!(
            t.contains(r#"image: "reg/app:{{ (index .Values "my-web" "image" "tag") }}""#),
            "{t}"
        );
        assert!(t.contains("x {{`{{`}} y {{`}}`}}"), "{t}");
        assert!(t.contains("namespace: {{ .Release.Namespace }}"), "{t}");
        assert!(
            files["values.yaml"].contains("tag: \"1.0\""),
            "{}",
            files["values.yaml"]
        );
    }

    #[test]
    fn patched_parameters_stay_literal() {
        let mut d = Doc::new(
            json!({"kind": "Deployment", "metadata": {"name": "a"}, "spec": {"replicas": 2}}),
            Origin::default("t"),
        );
        d.param("/spec/replicas", "web.replicas", None);
        d.value["spec"]["replicas"] = json!(5);
        let files = package(&rendered(vec![d]), "a", Format::Helm, NomadFormat::Hcl).expect("chart");
        assert!(files["templates/deployment-a.yaml"].contains("replicas: 5"));
    }

    #[test]
    fn object_names_cannot_steer_file_paths() {
        assert_eq!(safe_file_part("../../etc/x"), "_.._etc_x");
        assert_eq!(safe_file_part("/abs"), "_abs");
        assert_eq!(safe_file_part(""), "_");
        let a = Doc::new(
            json!({"kind": "ConfigMap", "metadata": {"name": "a/b"}}),
            Origin::default("t"),
        );
        let b = Doc::new(
            json!({"kind": "ConfigMap", "metadata": {"name": "a_b"}}),
            Origin::default("t"),
        );
        let err =
            package(&rendered(vec![a, b]), "x", Format::Kustomize, NomadFormat::Hcl).expect_err("collision");
        assert!(err.contains("two objects would be written"), "{err}");
    }
}
