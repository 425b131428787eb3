//! Rendered objects as files: one YAML stream, JSON, a Kustomize base, or a Helm chart for
//! Kubernetes; HCL2 jobspecs or JSON API documents for Nomad. Paths are relative; the caller
//! writes them (or prints the single file).

use std::collections::BTreeMap;

use ojek_output::yaml::{RAW_MARKER, to_yaml, to_yaml_stream};
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
                let id = doc.name();
                match nomad_format {
                    NomadFormat::Hcl => {
                        files.insert(format!("{id}.nomad.hcl"), ojek_nomad::to_hcl(&doc.value)?);
                    }
                    NomadFormat::Json => {
                        files.insert(format!("{id}.json"), pretty(&doc.value));
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
                    files.insert(file, to_yaml(&doc.value));
                }
                let k = json!({
                    "apiVersion": "kustomize.config.k8s.io/v1beta1",
                    "kind": "Kustomization",
                    "resources": resources,
                });
                files.insert("kustomization.yaml".into(), to_yaml(&k));
            }
            Format::Helm => helm(rendered, app, &mut files),
        },
    }
    Ok(files)
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

fn object_file(doc: &Doc) -> String {
    format!("{}-{}.yaml", doc.kind().to_lowercase(), doc.name())
}

/// A Helm chart: the rendered objects as templates, with image tags and replica counts read
/// from values. Namespaces are left to `helm install --namespace`.
fn helm(rendered: &Rendered, app: &str, files: &mut BTreeMap<String, String>) {
    let mut values = Map::new();
    for doc in &rendered.objects {
        let mut value = doc.value.clone();
        if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert(
                "namespace".into(),
                Value::String(format!("{RAW_MARKER}{{{{ .Release.Namespace }}}}")),
            );
        }
        for param in &doc.params {
            set_value(
                &mut values,
                &param.name,
                strip_prefix(&param.value, param.prefix.as_deref()),
            );
            let expr = format!(
                ".Values{}",
                param.name.split('.').map(helm_key).collect::<Vec<_>>().join("")
            );
            let replacement = match &param.prefix {
                Some(prefix) => Value::String(format!(
                    "{RAW_MARKER}\"{}{{{{ {expr} }}}}\"",
                    prefix.replace('"', "\\\"")
                )),
                None => Value::String(format!("{RAW_MARKER}{{{{ {expr} }}}}")),
            };
            if let Some(slot) = value.pointer_mut(&param.pointer) {
                *slot = replacement;
            }
        }
        // Template delimiters in plain values (config files, annotations) must not be read by Helm.
        escape_braces(&mut value);
        files.insert(format!("templates/{}", object_file(doc)), to_yaml(&value));
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
}

fn helm_key(k: &str) -> String {
    if k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !k.starts_with(|c: char| c.is_ascii_digit())
    {
        format!(".{k}")
    } else {
        format!(" | index \"{k}\"")
    }
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
        Value::String(s) if !s.starts_with(RAW_MARKER) && (s.contains("{{") || s.contains("}}")) => {
            // `{{ "{{" }}` prints `{{`; rebuild the string piece by piece.
            let mut out = String::new();
            let mut rest = s.as_str();
            while let Some(i) = rest.find(['{', '}']) {
                out.push_str(&rest[..i]);
                let r = &rest[i..];
                if let Some(after) = r.strip_prefix("{{") {
                    out.push_str("{{ \"{{\" }}");
                    rest = after;
                } else if let Some(after) = r.strip_prefix("}}") {
                    out.push_str("{{ \"}}\" }}");
                    rest = after;
                } else {
                    out.push_str(&r[..1]);
                    rest = &r[1..];
                }
            }
            out.push_str(rest);
            *s = format!("{RAW_MARKER}{}", serde_json::to_string(&out).unwrap_or_default());
        }
        Value::Array(a) => a.iter_mut().for_each(escape_braces),
        Value::Object(m) => m.values_mut().for_each(escape_braces),
        _ => {}
    }
}
