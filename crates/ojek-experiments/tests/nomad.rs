//! Experiments on Nomad: variant jobs and Consul config entries, compared byte for byte with
//! `crates/ojek-experiments/tests/golden-nomad/`, the jobs validated against Nomad's `Job`
//! schema (`tools/validate/nomad.py`) and the config entries against a schema written from
//! Consul's documentation (`tests/data/consul-config-entries.schema.json`); the split and the
//! names checked; and the clear error where Nomad cannot split traffic. After an intended
//! change: `OJEK_BLESS=1 cargo test -p ojek-experiments --test nomad`, and review the diff.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use ojek_experiments::crd::Decision;
use ojek_experiments::file::{LoadedExperiment, load_experiment};
use ojek_experiments::nomad::{NomadDesired, render_nomad};
use ojek_experiments::validate::Problem;
use ojek_spec::Path;
use ojek_spec::load::{LoadedApp, LoadedPlatform, load_app, load_platform};
use serde_json::{Value as J, json};

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden-nomad")
}

const DATA: &str = "crates/ojek-experiments/tests/data";

/// A test app from `tests/data/`.
fn data_app(stem: &str) -> LoadedApp {
    let rel = format!("{DATA}/{stem}.yaml");
    let text = std::fs::read_to_string(common::root().join(&rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    load_app(&rel, &text, &common::RootReader).unwrap_or_else(|d| panic!("{d}"))
}

/// An Experiment from `tests/data/`.
fn data_experiment(stem: &str) -> LoadedExperiment {
    let rel = format!("{DATA}/{stem}.yaml");
    let text = std::fs::read_to_string(common::root().join(&rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    load_experiment(&rel, &text).unwrap_or_else(|d| panic!("{d}"))
}

fn app_for(loaded: &LoadedExperiment) -> LoadedApp {
    match loaded.experiment.spec.app.as_str() {
        "rider-offers" => data_app("rider-offers"),
        other => common::app(other),
    }
}

fn render(
    loaded: &LoadedExperiment,
    app: &LoadedApp,
    platform: &LoadedPlatform,
) -> Result<NomadDesired, Vec<Problem>> {
    let overrides = |i: usize| {
        loaded
            .node
            .get(&Path::root().key("spec").key("variants").index(i).key("overrides"))
            .cloned()
    };
    render_nomad(&loaded.experiment, app, platform, &overrides)
}

fn ok(loaded: &LoadedExperiment) -> NomadDesired {
    render(loaded, &app_for(loaded), &common::platform()).unwrap_or_else(|p| panic!("{p:#?}"))
}

fn promoted(loaded: &LoadedExperiment, variant: &str) -> LoadedExperiment {
    let mut l = loaded.clone();
    l.experiment.spec.decision = Some(Decision {
        promote: Some(variant.to_string()),
        abort: false,
    });
    l
}

/// (golden directory, rendered) of every scenario.
fn scenarios() -> Vec<(String, NomadDesired)> {
    let h3 = data_experiment("driver-location-h3");
    let ranker = data_experiment("rider-offers-ranker");
    vec![
        ("driver-location-h3/running".into(), ok(&h3)),
        ("rider-offers-ranker/running".into(), ok(&ranker)),
        (
            "rider-offers-ranker/promoting-ranker-v2".into(),
            ok(&promoted(&ranker, "ranker-v2")),
        ),
    ]
}

fn expected() -> BTreeMap<String, String> {
    let mut all = BTreeMap::new();
    for (dir, d) in scenarios() {
        all.insert(format!("{dir}/summary.txt"), d.summary());
        for (path, content) in d.files() {
            all.insert(format!("{dir}/{path}"), content);
        }
    }
    all
}

#[test]
fn goldens_match() {
    common::check_goldens(&golden_dir(), &expected());
}

fn golden_files(part: &str) -> Vec<PathBuf> {
    let dir = golden_dir();
    common::on_disk(&dir)
        .into_iter()
        .filter(|p| p.contains(part) && p.ends_with(".json"))
        .map(|p| dir.join(p))
        .collect()
}

#[test]
fn golden_jobs_pass_the_nomad_api_schema() {
    let files = golden_files("/jobs/");
    assert!(files.len() >= 4, "no variant job goldens: {files:?}");
    let out = Command::new("python3")
        .arg(common::root().join("tools/validate/nomad.py"))
        .args(&files)
        .output()
        .expect("python3 runs (install with scripts/install-test-deps.sh)");
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "nomad.py rejected variant jobs:\n{text}");
    assert!(
        text.contains(&format!("nomad-validate: {} jobs, 0 failed", files.len())),
        "{text}"
    );
}

/// Validates JSON files against the config-entry schema with Python's `jsonschema` (a
/// dependency of tools/validate); returns (success, output).
fn consul_schema(files: &[PathBuf]) -> (bool, String) {
    const SCRIPT: &str = r#"
import json, sys
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
schema = json.load(open(sys.argv[1]))
Draft202012Validator.check_schema(schema)
validator = Draft202012Validator(schema)
failed = 0
for path in sys.argv[2:]:
    with open(path) as f:
        doc = json.load(f)
    errors = list(validator.iter_errors(doc))
    if errors:
        failed += 1
        err = best_match(errors)
        causes = [best_match(e.context) for e in errors if e.context]
        for e in [err] + causes:
            print("%s: %s: %s" % (path, e.json_path, e.message))
print("consul-schema: %d entries, %d failed" % (len(sys.argv) - 2, failed))
sys.exit(1 if failed else 0)
"#;
    let schema = common::root()
        .join(DATA)
        .join("consul-config-entries.schema.json");
    let out = Command::new("python3")
        .args(["-c", SCRIPT])
        .arg(schema)
        .args(files)
        .output()
        .expect("python3 with jsonschema (scripts/install-test-deps.sh)");
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn golden_config_entries_match_the_consul_schema_and_bad_ones_do_not() {
    let files = golden_files("/consul/");
    assert!(files.len() >= 10, "no config entry goldens: {files:?}");
    let (ok, text) = consul_schema(&files);
    assert!(ok, "config entries rejected:\n{text}");
    assert!(
        text.contains(&format!("consul-schema: {} entries, 0 failed", files.len())),
        "{text}"
    );
    // The schema is not vacuous: misspelt fields, two matchers in one header and an unknown
    // protocol fail.
    let dir = std::env::temp_dir().join(format!("ojek-consul-schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let bad = [
        json!({"Kind": "service-splitter", "Name": "a-web", "Splits": [{"Weight": 100, "Service": "a-web"}], "Weights": 1}),
        json!({"Kind": "service-router", "Name": "a-web", "Routes": [{"Match": {"HTTP": {"Header": [{"Name": "x", "Exact": "1", "Regex": "1"}]}}}]}),
        json!({"Kind": "service-defaults", "Name": "a-web", "Protocol": "https"}),
        json!({"Kind": "service-splitter", "Name": "a-web", "Splits": [{"Weight": 0, "Service": "a-web"}]}),
    ];
    let paths: Vec<PathBuf> = bad
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let p = dir.join(format!("bad-{i}.json"));
            std::fs::write(&p, v.to_string()).expect("write");
            p
        })
        .collect();
    let (ok, text) = consul_schema(&paths);
    assert!(!ok, "bad entries passed:\n{text}");
    assert!(text.contains("consul-schema: 4 entries, 4 failed"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn entries<'a>(d: &'a NomadDesired, kind: &str) -> Vec<&'a J> {
    d.config_entries
        .iter()
        .map(|e| &e.value)
        .filter(|v| v["Kind"] == kind)
        .collect()
}

fn group_services(job: &J) -> Vec<&J> {
    job.pointer("/Job/TaskGroups")
        .and_then(J::as_array)
        .into_iter()
        .flatten()
        .flat_map(|g| g["Services"].as_array().into_iter().flatten())
        .collect()
}

#[test]
fn splits_add_up_to_100_and_every_entry_names_the_services_the_jobs_register() {
    for (dir, d) in scenarios() {
        assert_eq!(d.service, format!("{}-{}", d.app, d.process), "{dir}");
        let mut services: BTreeSet<String> = BTreeSet::from([d.service.clone()]);
        for j in &d.jobs {
            assert_eq!(j.service, format!("{}-{}", d.service, j.variant), "{dir}");
            let registered: Vec<&str> = group_services(&j.job.value)
                .iter()
                .filter_map(|s| s["Name"].as_str())
                .collect();
            assert!(registered.contains(&j.service.as_str()), "{dir}: {registered:?}");
            services.insert(j.service.clone());
        }
        let defaults: BTreeSet<String> = entries(&d, "service-defaults")
            .iter()
            .map(|e| e["Name"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(defaults, services, "{dir}: a service-defaults per service");
        for e in entries(&d, "service-defaults") {
            assert_eq!(e["Protocol"], "http", "{dir}");
        }
        let splitter = entries(&d, "service-splitter");
        let [splitter] = splitter.as_slice() else {
            panic!("{dir}: one splitter")
        };
        assert_eq!(splitter["Name"], d.service.as_str(), "{dir}");
        let splits = splitter["Splits"].as_array().expect("splits");
        let total: f64 = splits.iter().filter_map(|s| s["Weight"].as_f64()).sum();
        assert!(
            (total - 100.0).abs() < f64::EPSILON,
            "{dir}: weights add up to {total}"
        );
        let want: Vec<u64> = d
            .weights
            .iter()
            .map(|(_, w)| u64::from(*w))
            .filter(|w| *w > 0)
            .collect();
        let got: Vec<u64> = splits.iter().filter_map(|s| s["Weight"].as_u64()).collect();
        assert_eq!(got, want, "{dir}: the splitter's weights are the experiment's");
        for s in splits {
            let target = s["Service"].as_str().unwrap_or_default();
            assert!(
                services.contains(target),
                "{dir}: split to unknown service {target}"
            );
        }
        let router = entries(&d, "service-router");
        let [router] = router.as_slice() else {
            panic!("{dir}: one router")
        };
        assert_eq!(router["Name"], d.service.as_str(), "{dir}");
        for r in router["Routes"].as_array().into_iter().flatten() {
            let target = r["Destination"]["Service"].as_str().unwrap_or_default();
            assert!(
                services.contains(target),
                "{dir}: route to unknown service {target}"
            );
            if let Some(subset) = r["Destination"]["ServiceSubset"].as_str() {
                let resolver = entries(&d, "service-resolver");
                assert!(
                    resolver
                        .iter()
                        .any(|e| e["Name"] == target && e["Subsets"].get(subset).is_some()),
                    "{dir}: subset {subset} of {target} is defined"
                );
            }
        }
        for e in entries(&d, "service-resolver") {
            assert_eq!(e["Name"], d.service.as_str(), "{dir}");
        }
    }
}

#[test]
fn pins_and_sticky_cookies_route_before_the_split_and_a_decision_drops_them() {
    let ranker = data_experiment("rider-offers-ranker");
    let d = ok(&ranker);
    let router = entries(&d, "service-router")[0];
    let routes = router["Routes"].as_array().expect("routes");
    // Header pin, cookie pin, then a sticky route per backend that takes traffic.
    assert_eq!(routes.len(), 5, "{routes:#?}");
    assert_eq!(
        routes[0]["Match"]["HTTP"]["Header"][0],
        json!({"Name": "x-offers-variant", "Exact": "ranker-v2"})
    );
    assert_eq!(routes[0]["Destination"]["Service"], "rider-offers-web-ranker-v2");
    assert_eq!(routes[1]["Match"]["HTTP"]["Header"][0]["Name"], "cookie");
    assert_eq!(
        routes[1]["Match"]["HTTP"]["Header"][0]["Regex"],
        ojek_experiments::route::cookie_regex("offers_variant", "ranker-v2-warm")
    );
    assert_eq!(
        routes[2]["Destination"],
        json!({"Service": "rider-offers-web", "ServiceSubset": "baseline"}),
        "the baseline's sticky users are not split again"
    );
    let splitter = entries(&d, "service-splitter")[0];
    let cookie = splitter["Splits"][1]["ResponseHeaders"]["Add"]["Set-Cookie"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(cookie, "ojek-exp-ranker-v2=ranker-v2; Path=/; Max-Age=86400");

    let done = ok(&promoted(&ranker, "ranker-v2"));
    let router = entries(&done, "service-router")[0];
    assert_eq!(router["Routes"], json!([]), "the router is written without pins");
    assert!(entries(&done, "service-resolver").is_empty());
    assert_eq!(
        entries(&done, "service-splitter")[0]["Splits"],
        json!([{"Weight": 100, "Service": "rider-offers-web-ranker-v2"}])
    );
}

/// The example platform with the Jakarta Nomad profile on Nomad's own service discovery.
fn platform_without_consul() -> LoadedPlatform {
    let text = std::fs::read_to_string(common::root().join("examples/platform.yaml")).expect("platform");
    let changed = text.replace("serviceProvider: consul", "serviceProvider: nomad");
    assert_ne!(changed, text, "the example platform changed: update this test");
    load_platform("examples/platform.yaml", &changed).unwrap_or_else(|d| panic!("{d}"))
}

#[test]
fn nomad_service_discovery_cannot_split_traffic_and_says_so() {
    let ranker = data_experiment("rider-offers-ranker");
    let problems = render(&ranker, &data_app("rider-offers"), &platform_without_consul())
        .expect_err("no split without Consul");
    let p = problems
        .iter()
        .find(|p| p.reason == "NoTrafficSplit")
        .unwrap_or_else(|| panic!("{problems:#?}"));
    assert_eq!(p.field, "spec.environment");
    assert_eq!(
        p.message,
        "Nomad cannot split traffic on its own: environment `production-dc` registers services in Nomad's service discovery (profile `jkt-nomad`); experiments on Nomad need Consul (serviceProvider: consul) for service-splitter and service-router config entries"
    );
    // At the line of `environment` when the Experiment came from a file.
    let shown = ojek_experiments::file::located(&problems, &ranker.node).to_string();
    assert!(shown.contains("rider-offers-ranker.yaml:10:"), "{shown}");
}

#[test]
fn an_environment_without_nomad_cannot_split_traffic_on_nomad() {
    let mut ranker = data_experiment("rider-offers-ranker");
    ranker.experiment.spec.environment = "production".into();
    let problems = render(&ranker, &data_app("rider-offers"), &common::platform())
        .expect_err("production has no nomad section");
    assert!(
        problems
            .iter()
            .any(|p| p.reason == "NoTrafficSplit" && p.message.contains("has no nomad section")),
        "{problems:#?}"
    );
}

#[test]
fn variant_jobs_run_only_the_split_process_without_router_tags() {
    let d = ok(&data_experiment("rider-offers-ranker"));
    assert_eq!(d.process, "web");
    assert_eq!(
        d.not_run,
        vec![
            "Job/rider-offers-production-dc group ranker-sync".to_string(),
            "Job/rider-offers-production-dc-expire".to_string(),
        ]
    );
    // The baseline routes the public host through Traefik tags ...
    let app = data_app("rider-offers");
    let resolved = ojek_spec::load::resolve(&app, "production-dc").unwrap_or_else(|d| panic!("{d}"));
    let platform = common::platform();
    let base = ojek_nomad::render(&ojek_output::Sources {
        app: &resolved,
        platform: &platform,
    })
    .unwrap_or_else(|d| panic!("{d}"));
    let base_tags: Vec<&J> = base
        .objects
        .iter()
        .flat_map(|o| group_services(&o.value))
        .flat_map(|s| s["Tags"].as_array().into_iter().flatten())
        .collect();
    assert!(
        base_tags
            .iter()
            .any(|t| t.as_str().is_some_and(|t| t.starts_with("traefik.http.routers."))),
        "{base_tags:?}"
    );
    // ... the variants do not.
    for j in &d.jobs {
        let job = &j.job.value["Job"];
        assert_eq!(job["ID"], format!("rider-offers-production-dc-{}", j.variant));
        assert_eq!(job["Type"], "service");
        let groups = job["TaskGroups"].as_array().expect("groups");
        assert_eq!(groups.len(), 1, "only the split process's group");
        assert_eq!(groups[0]["Name"], "web");
        for s in group_services(&j.job.value) {
            assert!(s.get("Tags").is_none(), "router tags left: {s}");
        }
        assert_eq!(job["Meta"]["ojek_experiment"], "ranker-v2");
        assert_eq!(job["Meta"]["ojek_variant"], j.variant.as_str());
        for task in groups[0]["Tasks"].as_array().into_iter().flatten() {
            assert_eq!(task["Env"]["OJEK_EXPERIMENT"], "ranker-v2", "{}", task["Name"]);
            assert_eq!(
                task["Env"]["OJEK_VARIANT"],
                j.variant.as_str(),
                "{}",
                task["Name"]
            );
        }
        assert!(
            j.job
                .params
                .iter()
                .all(|p| p.pointer.starts_with("/Job/TaskGroups/0/")),
            "{:?}",
            j.job.params
        );
    }
    let warm = &d.jobs[1].job.value["Job"]["TaskGroups"][0];
    assert_eq!(warm["Count"], 1, "the variant's replicas");
    assert!(warm.get("Scaling").is_none(), "replicas replace the autoscaler");
    assert_eq!(warm["Tasks"][0]["Env"]["RANKER_WARMUP"], "true");
}

#[test]
fn other_ports_services_are_renamed_and_keep_their_checks() {
    let d = ok(&data_experiment("driver-location-h3"));
    let names: Vec<&str> = group_services(&d.jobs[0].job.value)
        .iter()
        .filter_map(|s| s["Name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["driver-location-web-h3", "driver-location-web-h3-metrics"]
    );
    let checks = &group_services(&d.jobs[0].job.value)[0]["Checks"];
    assert!(checks.as_array().is_some_and(|c| !c.is_empty()), "{checks}");
}

#[test]
fn variant_fields_remember_the_experiment_line_they_came_from() {
    let d = ok(&data_experiment("rider-offers-ranker"));
    let job = &d.jobs[0].job;
    let (_, image) = job
        .origin("/Job/TaskGroups/0/Tasks/0/Config/image")
        .expect("image origin");
    let shown = image.to_string();
    assert!(
        shown.starts_with("experiment variant `ranker-v2/ranker-v2`"),
        "{shown}"
    );
    assert!(shown.contains("rider-offers-ranker.yaml:18:16"), "{shown}");
    let (_, args) = job
        .origin("/Job/TaskGroups/0/Tasks/0/Config/args")
        .expect("args origin");
    assert!(
        args.to_string().contains("tests/data/rider-offers.yaml"),
        "{args}"
    );
    let (_, id) = job.origin("/Job/ID").expect("id origin");
    assert!(id.to_string().contains("one Nomad job per variant"), "{id}");
}

#[test]
fn variants_named_like_the_apps_jobs_or_services_are_refused() {
    let ranker = data_experiment("rider-offers-ranker");
    let mut clash = ranker.clone();
    clash.experiment.spec.variants[0].name = "expire".into();
    let problems =
        render(&clash, &data_app("rider-offers"), &common::platform()).expect_err("job name clash");
    assert!(
        problems
            .iter()
            .any(|p| p.reason == "JobNameTaken" && p.field == "spec.variants[0].name"),
        "{problems:#?}"
    );

    let mut h3 = data_experiment("driver-location-h3");
    h3.experiment.spec.variants[0].name = "metrics".into();
    let problems =
        render(&h3, &common::app("driver-location"), &common::platform()).expect_err("service name clash");
    assert!(
        problems
            .iter()
            .any(|p| p.reason == "ServiceNameTaken" && p.message.contains("`driver-location-web-metrics`")),
        "{problems:#?}"
    );
}

#[test]
fn the_kubernetes_routing_section_is_not_needed_on_nomad() {
    // `routing: {}` is an error for Kubernetes, not for Nomad.
    let ranker = data_experiment("rider-offers-ranker");
    assert!(ranker.experiment.spec.routing.gateway_api.is_none());
    assert!(ranker.experiment.spec.routing.istio.is_none());
    assert!(
        ojek_experiments::validate::check_spec(&ranker.experiment.spec)
            .iter()
            .any(|p| p.reason == "InvalidRouting")
    );
    assert_eq!(ok(&ranker).jobs.len(), 2);
}
