//! Golden files for experiments: the generated CRD, and every example Experiment rendered
//! (all variants ready, not ready yet, promoting, aborted), compared byte for byte with
//! `crates/ojek-experiments/tests/golden/`, then validated against the official schemas
//! (Kubernetes 1.33 and 1.37, Gateway API, Istio) and the CRD's own schema. After an intended
//! change: `OJEK_BLESS=1 cargo test -p ojek-experiments --test golden`, and review the diff.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use ojek_experiments::crd::{Decision, crd_yaml};
use ojek_experiments::desired::desired;
use ojek_experiments::file::{LoadedExperiment, render, to_yaml};
use ojek_spec::Path;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Renders `loaded` with `ready` deciding which shards are ready.
fn scenario(loaded: &LoadedExperiment, ready: &dyn Fn(&str) -> bool) -> String {
    let app = common::app(&loaded.experiment.spec.app);
    let platform = common::platform();
    let overrides = |i: usize| {
        loaded
            .node
            .get(&Path::root().key("spec").key("variants").index(i).key("overrides"))
            .cloned()
    };
    let d = desired(&loaded.experiment, Some(&app), &platform, ready, &overrides)
        .unwrap_or_else(|p| panic!("{p:?}"));
    to_yaml(loaded, &d)
}

fn expected() -> BTreeMap<String, String> {
    let mut all = BTreeMap::new();
    all.insert("crd.yaml".to_string(), crd_yaml());
    for (stem, loaded) in common::experiments() {
        let app = common::app(&loaded.experiment.spec.app);
        let d = render(&loaded, &app, &common::platform()).unwrap_or_else(|e| panic!("{stem}:\n{e}"));
        all.insert(format!("{stem}/running.yaml"), to_yaml(&loaded, &d));
        all.insert(format!("{stem}/pending.yaml"), scenario(&loaded, &|_| false));
        let first = loaded.experiment.spec.variants[0].name.clone();
        let mut promote = loaded.clone();
        promote.experiment.spec.decision = Some(Decision {
            promote: Some(first.clone()),
            abort: false,
        });
        all.insert(
            format!("{stem}/promoting-{first}.yaml"),
            scenario(&promote, &|_| true),
        );
        let mut abort = loaded.clone();
        abort.experiment.spec.decision = Some(Decision {
            promote: None,
            abort: true,
        });
        all.insert(format!("{stem}/aborted.yaml"), scenario(&abort, &|_| true));
    }
    all
}

#[test]
fn goldens_match() {
    common::check_goldens(&golden_dir(), &expected());
}

#[test]
fn goldens_and_examples_match_official_and_own_schemas() {
    let dir = golden_dir();
    let crd = dir.join("crd.yaml");
    let mut files: Vec<PathBuf> = common::on_disk(&dir).into_iter().map(|p| dir.join(p)).collect();
    files.push(common::root().join("examples/experiments"));
    assert!(files.len() > 4, "no goldens");
    let status = Command::new("python3")
        .arg(common::root().join("tools/validate/kube.py"))
        .args(["--versions", "1.33,1.37", "--crd"])
        .arg(&crd)
        .args(&files)
        .status()
        .expect("python3 runs (install with scripts/install-test-deps.sh)");
    assert!(status.success(), "kube.py rejected experiment output (see above)");
}

#[test]
fn a_status_validates_against_the_crd_schema_and_a_bad_one_does_not() {
    let dir = std::env::temp_dir().join(format!("ojek-exp-status-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let good = r#"apiVersion: ojek.dev/v1alpha1
kind: Experiment
metadata: {name: a, namespace: promotions-production}
spec:
  app: promo-gateway
  environment: production
  variants: [{name: b, weight: 10}]
  routing: {gatewayApi: {}}
status:
  phase: Running
  observedGeneration: 2
  summary: baseline=91 b=9
  variants:
    - {name: baseline, namespace: promotions-production, desiredReplicas: 4, readyReplicas: 4, weight: 91}
    - {name: b, namespace: promo-gateway-production-b, desiredReplicas: 1, readyReplicas: 1, weight: 9}
  conditions:
    - {type: Ready, status: "True", reason: AllVariantsReady, message: ok, lastTransitionTime: "2026-11-26T08:00:00Z"}
"#;
    let bad = good.replace("phase: Running", "phase: Winning");
    std::fs::write(dir.join("good.yaml"), good).expect("write");
    std::fs::write(dir.join("bad.yaml"), bad).expect("write");
    let run = |f: &str| {
        Command::new("python3")
            .arg(common::root().join("tools/validate/kube.py"))
            .args(["--versions", "1.33,1.37", "--crd"])
            .arg(golden_dir().join("crd.yaml"))
            .arg(dir.join(f))
            .output()
            .expect("python3 runs")
    };
    let ok = run("good.yaml");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stdout));
    let no = run("bad.yaml");
    assert!(!no.status.success(), "an unknown phase passed");
    let out = String::from_utf8_lossy(&no.stdout).to_string() + &String::from_utf8_lossy(&no.stderr);
    assert!(out.contains("Winning"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shard_fields_remember_the_experiment_line_they_came_from() {
    let (_, loaded) = common::experiments()
        .into_iter()
        .find(|(s, _)| s == "promo-gateway-cashback")
        .expect("example");
    let d =
        render(&loaded, &common::app("promo-gateway"), &common::platform()).unwrap_or_else(|e| panic!("{e}"));
    let shard = &d.shards[0];
    let deploy = shard
        .objects
        .iter()
        .find(|o| o.kind() == "Deployment")
        .expect("a Deployment in the shard");
    let (_, image) = deploy
        .origin("/spec/template/spec/containers/0/image")
        .expect("image origin");
    let shown = image.to_string();
    assert!(
        shown.starts_with("experiment variant `cashback-engine/rules-v2`"),
        "{shown}"
    );
    assert!(
        shown.contains("examples/experiments/promo-gateway-cashback.yaml:24:16"),
        "{shown}"
    );
    // Fields the variant does not change still come from the app's manifest.
    let (_, port) = deploy
        .origin("/spec/template/spec/containers/0/ports/0/containerPort")
        .expect("port origin");
    assert!(port.to_string().contains("examples/promo-gateway.yaml"), "{port}");
    assert_eq!(
        deploy
            .value
            .pointer("/spec/template/metadata/labels/ojek.dev~1variant"),
        Some(&serde_json::json!("rules-v2"))
    );
    assert_eq!(
        deploy.value.pointer("/spec/replicas"),
        Some(&serde_json::json!(2))
    );
}

#[test]
fn the_route_points_at_the_port_the_app_routes_to_not_the_first() {
    let rel = "examples/driver-location.yaml";
    let text = std::fs::read_to_string(common::root().join(rel)).expect("example");
    let swapped = text.replace(
        "      http: {port: 8080}\n      metrics: {port: 9090}    # Prometheus scrapes this; not routed\n",
        "      metrics: {port: 9090}\n      http: {port: 8080}\n",
    );
    assert_ne!(swapped, text, "the example changed: update this test");
    let app = ojek_spec::load::load_app(rel, &swapped, &common::RootReader).unwrap_or_else(|d| panic!("{d}"));
    let (_, loaded) = common::experiments()
        .into_iter()
        .find(|(s, _)| s == "driver-location-mesh")
        .expect("example");
    let d = render(&loaded, &app, &common::platform()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.port, 8080);
    let vs = d
        .route
        .iter()
        .find(|r| r.kind() == "VirtualService")
        .expect("a VirtualService");
    let split = vs
        .value
        .pointer("/spec/http/1/route")
        .and_then(|r| r.as_array())
        .expect("split");
    for r in split {
        assert_eq!(
            r.pointer("/destination/port/number"),
            Some(&serde_json::json!(8080)),
            "{r}"
        );
    }
}
