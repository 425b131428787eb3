//! Property tests: the parser never panics on arbitrary input; rendering generated valid
//! manifests never panics and is deterministic (byte-identical output twice over).

mod common;

use ojek_core::spec::NoFiles;
use ojek_core::spec::load::load_app;
use ojek_core::spec::platform::TargetKind;
use ojek_core::{Format, NomadFormat, RenderOptions, package, render};
use proptest::prelude::*;
use serde_json::{Value, json};

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn parser_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = load_app("fuzz.yaml", &text, &NoFiles);
    }

    #[test]
    fn parser_never_panics_on_yaml_like_text(text in "[a-z:{}\\[\\], \n\"'&*!|>#-]{0,200}") {
        let _ = load_app("fuzz.yaml", &text, &NoFiles);
    }

    #[test]
    fn parser_never_panics_on_mutated_manifests(cut in 0usize..2000, insert in "[ :\\-\\[{\n\"a-z0-9]{0,8}") {
        let base = include_str!("data/everything.yaml");
        let cut = cut.min(base.len());
        let cut = (0..=cut).rev().find(|i| base.is_char_boundary(*i)).unwrap_or(0);
        let text = format!("{}{}{}", &base[..cut], insert, &base[cut..]);
        let _ = load_app("fuzz.yaml", &text, &NoFiles);
    }
}

fn process_strategy() -> impl Strategy<Value = (String, Value)> {
    let kind = prop_oneof![Just("service"), Just("worker"), Just("cron"), Just("job")];
    (
        "[a-z][a-z0-9]{0,8}",
        kind,
        1u16..=65535,
        prop::collection::btree_map("[A-Z][A-Z0-9_]{0,6}", "[ -~]{0,20}", 0..4),
        prop::option::of(1u32..5),
        prop::option::of((1u32..4, 4u32..20, 10u32..90)),
        prop::option::of(1u64..4000),
        prop::option::of("[a-z]{1,6}\\.example\\.com"),
        any::<bool>(),
    )
        .prop_map(
            |(name, kind, port, env, replicas, autoscale, millicores, host, secure)| {
                let mut p = json!({"kind": kind, "image": format!("registry.example.com/{name}:1.0")});
                let env: serde_json::Map<String, Value> = env
                    .into_iter()
                    .filter(|(k, _)| !k.starts_with("OJEK_"))
                    .map(|(k, v)| (k, Value::String(v.replace('$', "$$"))))
                    .collect();
                p["env"] = Value::Object(env);
                if let Some(m) = millicores {
                    p["cpu"] = json!({"request": format!("{m}m")});
                    p["memory"] = json!({"request": "128Mi", "limit": "256Mi"});
                }
                match kind {
                    "service" | "worker" => {
                        if kind == "service" {
                            p["ports"] = json!({"http": {"port": port}});
                            if let Some(h) = host {
                                p["routes"] = json!([{"host": h, "tls": secure}]);
                            }
                            p["health"] = json!({"readiness": {"http": {"path": "/ready"}}});
                        }
                        match (replicas, autoscale, millicores) {
                            (_, Some((min, max, cpu)), Some(_)) => {
                                p["scaling"] = json!({"autoscale": {"min": min, "max": max, "cpu": cpu}})
                            }
                            (Some(r), _, _) => p["scaling"] = json!({"replicas": r}),
                            _ => {}
                        }
                        if secure {
                            p["security"] = json!({"runAsUser": 1000, "readOnlyRootFilesystem": true});
                        }
                    }
                    "cron" => {
                        p["schedule"] = json!("*/15 * * * *");
                        p["retries"] = json!(replicas.unwrap_or(0));
                    }
                    _ => {
                        p["retries"] = json!(replicas.unwrap_or(1));
                    }
                }
                (name, p)
            },
        )
}

fn manifest_strategy() -> impl Strategy<Value = String> {
    (
        "[a-z][a-z0-9-]{0,10}[a-z0-9]",
        prop::collection::vec(process_strategy(), 1..4),
    )
        .prop_map(|(name, procs)| {
            let mut processes = serde_json::Map::new();
            for (pname, p) in procs {
                processes.entry(pname).or_insert(p);
            }
            let app = json!({
                "apiVersion": "ojek.dev/v1",
                "kind": "App",
                "metadata": {"name": name, "team": "props"},
                "processes": processes,
            });
            ojek_output::yaml::to_yaml(&app)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn rendering_valid_manifests_is_deterministic_and_never_panics(text in manifest_strategy()) {
        let platform = common::platform();
        let loaded = load_app("generated.yaml", &text, &NoFiles);
        let loaded = match loaded {
            Ok(l) => l,
            Err(d) => return Err(TestCaseError::fail(format!("generated manifest is invalid:\n{d}\n{text}"))),
        };
        for (target, env) in [(TargetKind::Kubernetes, "production"), (TargetKind::Kubernetes, "staging"), (TargetKind::Nomad, "production-dc")] {
            let opts = RenderOptions { env: env.into(), target: Some(target), kube_version: None };
            let first = render(&loaded, &platform, &opts);
            let second = render(&loaded, &platform, &opts);
            match (first, second) {
                (Ok(a), Ok(b)) => {
                    let fa = package(&a, "x", Format::Yaml, NomadFormat::Json).map_err(TestCaseError::fail)?;
                    let fb = package(&b, "x", Format::Yaml, NomadFormat::Json).map_err(TestCaseError::fail)?;
                    prop_assert_eq!(fa, fb);
                    if target == TargetKind::Nomad {
                        let ha = package(&a, "x", Format::Yaml, NomadFormat::Hcl).map_err(TestCaseError::fail)?;
                        let hb = package(&b, "x", Format::Yaml, NomadFormat::Hcl).map_err(TestCaseError::fail)?;
                        prop_assert_eq!(ha, hb);
                    }
                    for doc in &a.objects {
                        for (pointer, _) in doc.leaves() {
                            prop_assert!(doc.origin(&pointer).is_some(), "{} {} has no origin", doc.id(), pointer);
                        }
                    }
                }
                (Err(a), Err(b)) => {
                    prop_assert_eq!(a.to_string(), b.to_string());
                    // Kubernetes expresses everything the generator produces.
                    prop_assert!(target == TargetKind::Nomad, "kubernetes rejected a valid manifest:\n{}\n{}", a, text);
                }
                _ => prop_assert!(false, "rendering twice gave different results"),
            }
        }
    }
}
