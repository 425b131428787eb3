//! Packaging formats mean the same as the plain output: a Kustomize base lists exactly the
//! rendered objects; a Helm chart, with its default values, renders back to exactly them; the
//! JSON List holds the same objects as the YAML stream.

mod common;

use ojek_core::spec::platform::TargetKind;
use ojek_core::{Format, NomadFormat, RenderOptions, package, render};
use serde_json::Value;

fn yaml_docs(text: &str) -> Vec<Value> {
    yaml_rust2::YamlLoader::load_from_str(text)
        .unwrap_or_else(|e| panic!("invalid YAML: {e}\n{text}"))
        .iter()
        .map(to_json)
        .collect()
}

fn to_json(y: &yaml_rust2::Yaml) -> Value {
    use yaml_rust2::Yaml;
    match y {
        Yaml::Real(r) => serde_json::json!(r.parse::<f64>().expect("float")),
        Yaml::Integer(i) => serde_json::json!(i),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Array(a) => Value::Array(a.iter().map(to_json).collect()),
        Yaml::Hash(h) => Value::Object(
            h.iter()
                .map(|(k, v)| (k.as_str().expect("string key").to_string(), to_json(v)))
                .collect(),
        ),
        Yaml::Null => Value::Null,
        other => panic!("unexpected YAML node {other:?}"),
    }
}

/// Evaluates the few template forms ojek's charts use, following Go template syntax:
/// `.Release.Namespace`, `.Values.a.b`, `(index .Values "a-b" "c")`, and raw-string actions
/// that print delimiters (`{{`{{`}}`). Anything else fails the test.
fn helm_template(text: &str, values: &Value, namespace: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        // A raw-string action: {{`...`}}.
        if let Some(body) = after.strip_prefix('`') {
            let end = body.find("`}}").expect("closing `}}");
            out.push_str(&body[..end]);
            rest = &body[end + 3..];
            continue;
        }
        let end = after.find("}}").expect("closing }}");
        let expr = after[..end].trim();
        let value = if expr == ".Release.Namespace" {
            namespace.to_string()
        } else {
            let segs: Vec<String> = if let Some(path) = expr.strip_prefix(".Values.") {
                path.split('.').map(str::to_string).collect()
            } else if let Some(args) = expr
                .strip_prefix("(index .Values ")
                .and_then(|a| a.strip_suffix(')'))
            {
                args.split(' ')
                    .map(|a| serde_json::from_str::<String>(a).expect("quoted key"))
                    .collect()
            } else {
                panic!("unexpected template expression {expr}");
            };
            let mut v = values;
            for s in &segs {
                v = v.get(s).unwrap_or_else(|| panic!("no value {s} in {expr}"));
            }
            match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }
        };
        out.push_str(&value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

#[test]
fn kustomize_and_helm_mean_the_same_as_plain_yaml() {
    let platform = common::platform();
    let mut checked = 0;
    for (stem, loaded) in common::examples() {
        for (env, e) in &platform.platform.environments {
            if e.kubernetes.is_none() {
                continue;
            }
            let opts = RenderOptions {
                env: env.clone(),
                target: Some(TargetKind::Kubernetes),
                kube_version: None,
            };
            let rendered = render(&loaded, &platform, &opts).unwrap_or_else(|d| panic!("{stem} {env}:\n{d}"));
            let app = &loaded.app.metadata.name;
            let plain: Vec<Value> = rendered.objects.iter().map(|d| d.value.clone()).collect();

            let yaml = package(&rendered, app, Format::Yaml, NomadFormat::Hcl).expect("yaml");
            assert_eq!(
                yaml_docs(&yaml[&format!("{app}.yaml")]),
                plain,
                "{stem} {env}: YAML stream"
            );

            let json = package(&rendered, app, Format::Json, NomadFormat::Hcl).expect("json");
            let list: Value = serde_json::from_str(&json[&format!("{app}.json")]).expect("json list");
            assert_eq!(
                list["items"],
                Value::Array(plain.clone()),
                "{stem} {env}: JSON list"
            );

            let kust = package(&rendered, app, Format::Kustomize, NomadFormat::Hcl).expect("kustomize");
            let k = &yaml_docs(&kust["kustomization.yaml"])[0];
            let resources: Vec<&str> = k["resources"]
                .as_array()
                .expect("resources")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            assert_eq!(
                resources.len(),
                plain.len(),
                "{stem} {env}: kustomization lists every object"
            );
            for (file, obj) in resources.iter().zip(&plain) {
                assert_eq!(&yaml_docs(&kust[*file])[0], obj, "{stem} {env}: {file}");
            }

            let chart = package(&rendered, app, Format::Helm, NomadFormat::Hcl).expect("helm");
            let values = yaml_docs(&chart["values.yaml"]).remove(0);
            assert!(yaml_docs(&chart["Chart.yaml"])[0]["apiVersion"] == "v2");
            let templates: Vec<&String> = chart.keys().filter(|k| k.starts_with("templates/")).collect();
            assert_eq!(
                templates.len(),
                plain.len(),
                "{stem} {env}: one template per object"
            );
            for obj in &plain {
                let kind = obj["kind"].as_str().expect("kind").to_lowercase();
                let name = obj["metadata"]["name"].as_str().expect("name");
                let file = format!("templates/{kind}-{name}.yaml");
                // The release namespace is the environment's, where ojek put its objects.
                let ns = plain[0]["metadata"]["namespace"].as_str().unwrap_or("");
                let text = helm_template(&chart[&file], &values, ns);
                let back = yaml_docs(&text).remove(0);
                assert_eq!(&back, obj, "{stem} {env}: {file} with default values");
            }
            checked += 1;
        }
    }
    assert!(checked >= 6, "checked only {checked} renderings");
}
