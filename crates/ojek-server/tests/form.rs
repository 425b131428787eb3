//! The app editor's form: reading it from manifests, and writing it back while keeping the
//! user's text (comments, order, formatting) everywhere the form did not change.

use std::path::{Path, PathBuf};

use ojek_server::form::{
    FormApp, FormAutoscale, FormEnv, FormError, FormPort, FormProcess, FormResource, FormRoute, apply_form,
    form_from_yaml,
};
use ojek_spec::{FileReader, load_app, resolve};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// `fromFile` content for any path: validity here is about the manifest, not the files.
struct AnyFile;

impl FileReader for AnyFile {
    fn read(&self, _: &str, _: &str) -> Result<String, String> {
        Ok("{}\n".into())
    }
}

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn example(name: &str) -> String {
    let path = examples_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every app manifest in `examples/` (the platform file is skipped).
fn example_apps() -> Vec<(String, String)> {
    let mut apps = Vec::new();
    for entry in std::fs::read_dir(examples_dir()).expect("examples/ exists") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable");
        if ojek_spec::load::document_kind(&text).as_deref() == Some("App") {
            apps.push((path.display().to_string(), text));
        }
    }
    apps.sort();
    assert!(apps.len() >= 6, "examples found: {}", apps.len());
    apps
}

fn form(text: &str) -> FormApp {
    form_from_yaml("app.yaml", text).unwrap_or_else(|d| panic!("form_from_yaml:\n{d}"))
}

fn apply(text: &str, f: &FormApp) -> String {
    apply_form("app.yaml", text, f).unwrap_or_else(|e| panic!("apply_form: {e}"))
}

/// The manifest loads and its base body validates (environments aside).
fn assert_valid(text: &str) {
    let loaded = load_app("app.yaml", text, &AnyFile).unwrap_or_else(|d| panic!("load_app:\n{d}\n{text}"));
    if let Err(d) = resolve(&loaded, "no-such-environment") {
        panic!("invalid:\n{d}\n{text}");
    }
}

/// The manifest's environments, and every override, validate too.
fn assert_all_valid(text: &str) {
    let loaded = load_app("app.yaml", text, &AnyFile).unwrap_or_else(|d| panic!("load_app:\n{d}\n{text}"));
    let diags = ojek_spec::validate_all(&loaded, &[]);
    assert!(!diags.has_errors(), "invalid:\n{diags}\n{text}");
}

/// The comment part of every line that has one.
fn comments(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|l| l.find('#').map(|i| &l[i..]))
        .collect()
}

/// Every comment of `before` is still in `after`, in order (`except` those that went with a
/// removed line).
fn assert_comments_kept(before: &str, after: &str, except: &[&str]) {
    let mut rest = comments(after).into_iter();
    for c in comments(before) {
        if except.iter().any(|e| c.contains(e)) {
            continue;
        }
        assert!(rest.any(|a| a == c), "comment lost: {c}\n--- result:\n{after}");
    }
}

/// `after` differs from `before` exactly in the given lines (1-based), which now read so.
fn assert_lines_changed(before: &str, after: &str, changed: &[(usize, &str)]) {
    let (b, a): (Vec<&str>, Vec<&str>) = (before.lines().collect(), after.lines().collect());
    assert_eq!(b.len(), a.len(), "line count changed:\n{after}");
    for (i, (x, y)) in b.iter().zip(&a).enumerate() {
        match changed.iter().find(|(n, _)| *n == i + 1) {
            Some((_, want)) => assert_eq!(y, want, "line {}", i + 1),
            None => assert_eq!(x, y, "line {} changed", i + 1),
        }
    }
    assert_eq!(before.ends_with('\n'), after.ends_with('\n'));
}

/// The text from the `environments:` line to the end (the examples put it last).
fn environments(text: &str) -> &str {
    text.find("\nenvironments:").map_or("", |i| &text[i..])
}

fn process<'a>(f: &'a mut FormApp, name: &str) -> &'a mut FormProcess {
    f.processes
        .iter_mut()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no process {name}"))
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle}"))
        + 1
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

#[test]
fn reads_the_base_body_of_driver_location() {
    let f = form(&example("driver-location.yaml"));
    assert_eq!(f.name, "driver-location");
    assert_eq!(f.team, "fulfilment");
    assert!(f.description.starts_with("Receives driver GPS pings"));
    assert_eq!(
        f.resources,
        vec![
            FormResource {
                name: "db".into(),
                r#type: "postgres".into()
            },
            FormResource {
                name: "cache".into(),
                r#type: "redis".into()
            },
            FormResource {
                name: "pings".into(),
                r#type: "kafka-topic".into()
            },
        ]
    );
    let web = &f.processes[0];
    assert_eq!(web.name, "web");
    assert_eq!(web.kind, "service");
    // The base image, not staging's override.
    assert_eq!(web.image, "registry.gojek.io/fulfilment/driver-location:2.14.0");
    assert_eq!(web.args, ["serve", "--listen=:8080"]);
    assert!(web.command.is_empty());
    assert_eq!(
        web.ports,
        vec![
            FormPort {
                name: "http".into(),
                port: 8080
            },
            FormPort {
                name: "metrics".into(),
                port: 9090
            }
        ]
    );
    assert_eq!(
        web.routes,
        vec![FormRoute {
            host: "driver-location.gojek.io".into(),
            path: "/v1".into(),
            port: "http".into(),
            tls: true
        }]
    );
    let env: Vec<(&str, &str, bool)> = web
        .env
        .iter()
        .map(|e| (e.name.as_str(), e.value.as_str(), e.editable))
        .collect();
    assert_eq!(
        env,
        [
            ("DATABASE_URL", "${resources.db.url}", false),
            ("REDIS_URL", "${resources.cache.url}", false),
            ("KAFKA_BROKERS", "${resources.pings.brokers}", false),
            ("KAFKA_TOPIC", "${resources.pings.topic}", false),
            ("LOG_LEVEL", "info", true),
            ("GOMAXPROCS", "2", true),
        ]
    );
    assert_eq!((web.cpu_request.as_str(), web.cpu_limit.as_str()), ("500m", ""));
    assert_eq!(
        (web.memory_request.as_str(), web.memory_limit.as_str()),
        ("512Mi", "1Gi")
    );
    assert_eq!(web.replicas, None);
    assert_eq!(
        web.autoscale,
        Some(FormAutoscale {
            min: 6,
            max: 60,
            cpu: Some(65)
        })
    );
}

#[test]
fn secret_references_and_literal_dollars() {
    let f = form(&example("promo-gateway.yaml"));
    let env = &f.processes[0].env;
    let by_name = |n: &str| env.iter().find(|e| e.name == n).unwrap_or_else(|| panic!("{n}"));
    let key = by_name("PROMO_SIGNING_KEY");
    assert_eq!(
        (key.value.as_str(), key.editable),
        ("secret promo-gateway-keys/signing-key", false)
    );
    // `$${` is a literal `${`: an ordinary, editable string.
    let price = by_name("PRICE_FORMAT");
    assert_eq!((price.value.as_str(), price.editable), ("$${amount} IDR", true));
    let settlement = form(&example("settlement-report.yaml"));
    let report = &settlement.processes[0];
    assert_eq!(
        (report.schedule.as_str(), report.time_zone.as_str()),
        ("30 2 * * *", "Asia/Jakarta")
    );
    assert_eq!(report.cpu_request, "1");
    let ledger = form(&example("ledger-store.yaml"));
    assert_eq!(ledger.processes[0].replicas, Some(3));
    assert_eq!(ledger.processes[0].cpu_request, "2");
}

#[test]
fn json_shape_is_camel_case() {
    let f = form(&example("settlement-report.yaml"));
    let json = serde_json::to_value(&f).expect("serialises");
    let p = &json["processes"][0];
    assert_eq!(p["timeZone"], "Asia/Jakarta");
    assert_eq!(p["cpuRequest"], "1");
    assert_eq!(p["memoryLimit"], "2Gi");
    assert_eq!(
        json["resources"][1],
        serde_json::json!({"name": "reports", "type": "s3-bucket"})
    );
    let back: FormApp = serde_json::from_value(json).expect("deserialises");
    assert_eq!(back, f);
    // Missing fields take their defaults (the browser may send a partial process).
    let partial: FormApp =
        serde_json::from_str(r#"{"name": "x", "processes": [{"name": "web", "ports": [{"name": "http"}]}]}"#)
            .expect("partial form");
    assert_eq!(partial.processes[0].ports[0].port, 0);
    assert_eq!(partial.processes[0].autoscale, None);
}

#[test]
fn reads_manifests_that_do_not_validate() {
    // Mid-edit: an unknown field, a port that is not a number, a missing image, a list where
    // a mapping belongs. The form shows what it can.
    let text = "apiVersion: ojek.dev/v1\nkind: App\nmetadata:\n  name: Bad_Name\n  tem: x\nprocesses:\n  web:\n    kind: servce\n    ports:\n      http: {port: eighty}\n    env: [1, 2]\n    scaling: {replicas: -1}\n";
    assert!(load_app("app.yaml", text, &AnyFile).is_err());
    let f = form(text);
    assert_eq!(f.name, "Bad_Name");
    assert_eq!(f.team, "");
    let web = &f.processes[0];
    assert_eq!(web.kind, "servce");
    assert_eq!(
        web.ports,
        vec![FormPort {
            name: "http".into(),
            port: 0
        }]
    );
    assert!(web.env.is_empty());
    assert_eq!(web.replicas, None);
    // Editing something else keeps the rest as the user wrote it, invalid or not.
    let mut g = f.clone();
    g.processes[0].image = "nginx:1.27".into();
    let out = apply(text, &g);
    assert_eq!(form(&out), g);
    assert!(
        out.contains("kind: servce") && out.contains("{port: eighty}") && out.contains("tem: x"),
        "{out}"
    );
    assert!(out.contains("    kind: servce\n    image: nginx:1.27\n"), "{out}");
}

#[test]
fn malformed_yaml_is_reported_with_line_and_column() {
    let text =
        "apiVersion: ojek.dev/v1\nkind: App\nprocesses:\n  web:\n    args: [serve, --x\n    image: x\n";
    let diags = form_from_yaml("app.yaml", text).expect_err("malformed");
    let d = &diags.0[0];
    assert!(d.message.starts_with("invalid YAML"), "{d}");
    let loc = d.location.as_ref().expect("located");
    // Where the unclosed `[` opens (the parser itself stops at 6:10).
    assert_eq!((&*loc.file, loc.line, loc.column), ("app.yaml", 5, 11), "{d}");
    assert!(
        d.message.contains("never closed") && d.message.contains("line 6, column 10"),
        "{d}"
    );

    let dup = "metadata:\n  name: a\n  name: b\n";
    let d = &form_from_yaml("m.yaml", dup).expect_err("duplicate").0[0];
    assert!(d.message.contains("duplicate key `name`"), "{d}");
    assert_eq!(d.location.as_ref().map(|l| (l.line, l.column)), Some((3, 3)));

    let tab = "metadata:\n\tname: a\n";
    let d = &form_from_yaml("m.yaml", tab).expect_err("tab").0[0];
    assert_eq!(d.location.as_ref().map(|l| l.line), Some(2), "{d}");

    let two = "a: 1\n---\nb: 2\n";
    let d = &form_from_yaml("m.yaml", two).expect_err("two documents").0[0];
    assert!(d.message.contains("one YAML document"), "{d}");

    // apply_form refuses the same text with the same diagnostics.
    match apply_form("app.yaml", text, &FormApp::default()) {
        Err(FormError::Yaml(d)) => assert_eq!(
            d.0[0].location.as_ref().map(|l| (l.line, l.column)),
            Some((5, 11))
        ),
        other => panic!("expected a YAML error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------------

#[test]
fn every_example_round_trips_byte_for_byte() {
    for (path, text) in example_apps() {
        let f = form_from_yaml(&path, &text).unwrap_or_else(|d| panic!("{path}:\n{d}"));
        assert!(!f.processes.is_empty(), "{path}");
        let out = apply_form(&path, &text, &f).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(out, text, "{path}");
        // Through JSON, as the browser sends it, and with `editable` flags it may not keep.
        let mut sent: FormApp =
            serde_json::from_str(&serde_json::to_string(&f).expect("json")).expect("back");
        sent.processes
            .iter_mut()
            .flat_map(|p| &mut p.env)
            .for_each(|e| e.editable = true);
        assert_eq!(apply_form(&path, &text, &sent).expect("applies"), text, "{path}");
    }
}

#[test]
fn every_example_survives_an_edit_of_every_process() {
    for (path, text) in example_apps() {
        let mut f = form(&text);
        for p in &mut f.processes {
            p.image = format!("{}-patched", p.image);
            p.args.push("--verbose".into());
        }
        let out = apply(&text, &f);
        assert_eq!(form(&out), f, "{path}");
        assert_all_valid(&out);
        assert_comments_kept(&text, &out, &[]);
        assert_eq!(environments(&out), environments(&text), "{path}");
    }
}

// ---------------------------------------------------------------------------------------------
// Scalar edits: one line each, comments kept
// ---------------------------------------------------------------------------------------------

#[test]
fn image_edit_changes_one_line() {
    let text = example("driver-location.yaml");
    let mut f = form(&text);
    process(&mut f, "web").image = "registry.gojek.io/fulfilment/driver-location:2.16.0".into();
    let out = apply(&text, &f);
    let n = line_of(
        &text,
        "image: registry.gojek.io/fulfilment/driver-location:2.14.0",
    );
    assert_lines_changed(
        &text,
        &out,
        &[(
            n,
            "    image: registry.gojek.io/fulfilment/driver-location:2.16.0",
        )],
    );
    assert_eq!(form(&out), f);
    assert_all_valid(&out);
}

#[test]
fn port_edit_inside_a_flow_mapping_keeps_the_comment() {
    let text = example("driver-location.yaml");
    let mut f = form(&text);
    process(&mut f, "web").ports[1].port = 9091;
    let out = apply(&text, &f);
    let n = line_of(&text, "metrics: {port: 9090}");
    assert_lines_changed(
        &text,
        &out,
        &[(
            n,
            "      metrics: {port: 9091}    # Prometheus scrapes this; not routed",
        )],
    );
    assert_eq!(form(&out), f);
    assert_all_valid(&out);
}

#[test]
fn cpu_request_edit_keeps_alignment_of_the_comment() {
    let text = example("driver-location.yaml");
    let mut f = form(&text);
    process(&mut f, "web").cpu_request = "750m".into();
    let out = apply(&text, &f);
    let n = line_of(&text, "request: 500m");
    assert_lines_changed(
        &text,
        &out,
        &[(
            n,
            "      request: 750m            # no limit: CPU is shared, throttling hurts latency",
        )],
    );
    assert_eq!(form(&out), f);
    assert_all_valid(&out);
}

#[test]
fn replicas_edit() {
    let text = example("ledger-store.yaml");
    let mut f = form(&text);
    f.processes[0].replicas = Some(5);
    let out = apply(&text, &f);
    let n = line_of(&text, "replicas: 3");
    assert_lines_changed(
        &text,
        &out,
        &[(
            n,
            "      replicas: 5                          # a Raft group: keep it odd",
        )],
    );
    assert_eq!(form(&out), f);
    assert_all_valid(&out);
}

#[test]
fn schedule_edit_stays_quoted() {
    let text = example("settlement-report.yaml");
    let mut f = form(&text);
    f.processes[0].schedule = "0 3 * * *".into();
    f.processes[0].time_zone = "Asia/Makassar".into();
    let out = apply(&text, &f);
    assert_lines_changed(
        &text,
        &out,
        &[
            (
                line_of(&text, "schedule: \"30 2"),
                "    schedule: \"0 3 * * *\"         # 02:30 every night...",
            ),
            (
                line_of(&text, "timeZone: Asia/Jakarta"),
                "    timeZone: Asia/Makassar         # ...Jakarta time (WIB), not UTC",
            ),
        ],
    );
    assert_eq!(form(&out), f);
    assert_all_valid(&out);
}

#[test]
fn description_edit_is_quoted_when_it_must_be() {
    let text = example("driver-location.yaml");
    let mut f = form(&text);
    f.description = "Driver GPS pings: latest and history #fulfilment".into();
    let out = apply(&text, &f);
    let n = line_of(&text, "description: Receives");
    assert_lines_changed(
        &text,
        &out,
        &[(
            n,
            "  description: \"Driver GPS pings: latest and history #fulfilment\"",
        )],
    );
    assert_eq!(form(&out), f);
    f.description = "Plain words only".into();
    let out = apply(&text, &f);
    assert_lines_changed(&text, &out, &[(n, "  description: Plain words only")]);
}

#[test]
fn autoscale_and_env_edits_in_place() {
    let text = example("driver-location.yaml");
    let mut f = form(&text);
    let web = process(&mut f, "web");
    web.autoscale = Some(FormAutoscale {
        min: 8,
        max: 80,
        cpu: Some(70),
    });
    let log = web
        .env
        .iter_mut()
        .find(|e| e.name == "LOG_LEVEL")
        .expect("LOG_LEVEL");
    log.value = "warn".into();
    let procs = web
        .env
        .iter_mut()
        .find(|e| e.name == "GOMAXPROCS")
        .expect("GOMAXPROCS");
    procs.value = "4".into();
    let out = apply(&text, &f);
    assert_lines_changed(
        &text,
        &out,
        &[
            (
                line_of(&text, "autoscale: {min: 6"),
                "      autoscale: {min: 8, max: 80, cpu: 70}",
            ),
            (line_of(&text, "LOG_LEVEL: info"), "      LOG_LEVEL: warn"),
            (
                line_of(&text, "GOMAXPROCS: 2"),
                "      GOMAXPROCS: 4                              # numbers and booleans are passed as text",
            ),
        ],
    );
    assert_eq!(form(&out), f);
    assert_all_valid(&out);
    // Without cpu the flow mapping is rewritten on its line.
    process(&mut f, "web").autoscale = Some(FormAutoscale {
        min: 8,
        max: 80,
        cpu: None,
    });
    let out = apply(&text, &f);
    assert!(out.contains("      autoscale: {min: 8, max: 80}\n"), "{out}");
    assert_eq!(form(&out), f);
}

#[test]
fn values_that_look_like_other_types_are_quoted() {
    let text = example("driver-location.yaml");
    let mut f = form(&text);
    let web = process(&mut f, "web");
    web.env
        .iter_mut()
        .find(|e| e.name == "LOG_LEVEL")
        .expect("LOG_LEVEL")
        .value = "no".into();
    web.cpu_request = "1".into();
    web.args = vec!["serve".into(), "true".into(), "a, b".into(), "#x".into()];
    let out = apply(&text, &f);
    assert!(out.contains("      LOG_LEVEL: \"no\"\n"), "{out}");
    assert!(
        out.contains("      request: \"1\"            # no limit"),
        "{out}"
    );
    assert!(
        out.contains("    args: [serve, \"true\", \"a, b\", \"#x\"]\n"),
        "{out}"
    );
    assert_eq!(form(&out), f);
}

// ---------------------------------------------------------------------------------------------
// Structural edits
// ---------------------------------------------------------------------------------------------

#[test]
fn add_a_process() {
    let text = example("driver-location.yaml");
    let mut f = form(&text);
    f.processes.push(FormProcess {
        name: "backfill".into(),
        kind: "worker".into(),
        image: "registry.gojek.io/fulfilment/driver-location:2.14.0".into(),
        args: vec!["backfill".into(), "--since=24h".into()],
        env: vec![
            FormEnv {
                name: "DATABASE_URL".into(),
                value: "${resources.db.url}".into(),
                editable: false,
            },
            FormEnv {
                name: "BATCH".into(),
                value: "500".into(),
                editable: true,
            },
        ],
        ports: vec![FormPort {
            name: "metrics".into(),
            port: 9090,
        }],
        cpu_request: "250m".into(),
        memory_request: "256Mi".into(),
        memory_limit: "512Mi".into(),
        replicas: Some(2),
        ..FormProcess::default()
    });
    let out = apply(&text, &f);
    assert_eq!(form(&out), f);
    assert_all_valid(&out);
    assert_comments_kept(&text, &out, &[]);
    assert_eq!(environments(&out), environments(&text));
    let added = "  backfill:\n    kind: worker\n    image: registry.gojek.io/fulfilment/driver-location:2.14.0\n    args: [backfill, --since=24h]\n    env:\n      DATABASE_URL: ${resources.db.url}\n      BATCH: \"500\"\n    ports:\n      metrics:\n        port: 9090\n    cpu:\n      request: 250m\n    memory:\n      request: 256Mi\n      limit: 512Mi\n    scaling:\n      replicas: 2\n";
    assert!(
        out.contains(&format!("      maxUnavailable: \"10%\"\n{added}\n# Fields Nomad")),
        "{out}"
    );
}

#[test]
fn add_an_env_var() {
    let text = example("driver-location.yaml");
    let mut f = form(&text);
    let env = &mut process(&mut f, "web").env;
    env.push(FormEnv {
        name: "FEATURE_X".into(),
        value: "on".into(),
        editable: true,
    });
    env.push(FormEnv {
        name: "GREETING".into(),
        value: "selamat pagi".into(),
        editable: true,
    });
    let out = apply(&text, &f);
    assert_eq!(form(&out), f);
    assert_all_valid(&out);
    assert_comments_kept(&text, &out, &[]);
    assert!(
        out.contains("      GOMAXPROCS: 2                              # numbers and booleans are passed as text\n      FEATURE_X: \"on\"\n      GREETING: selamat pagi\n    ports:"),
        "{out}"
    );
    assert_eq!(out.lines().count(), text.lines().count() + 2);
}

#[test]
fn add_a_route() {
    let text = example("driver-location.yaml");
    let mut f = form(&text);
    process(&mut f, "web").routes.push(FormRoute {
        host: "driver-location.internal.gojek.io".into(),
        path: "/v2".into(),
        port: "http".into(),
        tls: false,
    });
    let out = apply(&text, &f);
    assert_eq!(form(&out), f);
    assert_all_valid(&out);
    assert_comments_kept(&text, &out, &[]);
    assert!(
        out.contains("        tls: true\n      - host: driver-location.internal.gojek.io\n        path: /v2\n        port: http\n    health:"),
        "{out}"
    );
    // And changing the first route's fields: path removed, tls off, in place.
    let route = &mut process(&mut f, "web").routes[0];
    route.path = String::new();
    route.tls = false;
    let out = apply(&text, &f);
    assert_eq!(form(&out), f);
    assert!(out.contains("      - host: driver-location.gojek.io\n        port: http             # required: the process has two ports\n        tls: false\n"), "{out}");
}

#[test]
fn remove_a_port() {
    let text = example("driver-location.yaml");
    let mut f = form(&text);
    process(&mut f, "web").ports.retain(|p| p.name != "metrics");
    let out = apply(&text, &f);
    assert_eq!(form(&out), f);
    assert_all_valid(&out);
    assert_comments_kept(&text, &out, &["Prometheus scrapes this"]);
    let removed = line_of(&text, "metrics: {port: 9090}") - 1;
    let expected: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != removed)
        .map(|(_, l)| l)
        .collect();
    assert_eq!(out.lines().collect::<Vec<_>>(), expected);
}

#[test]
fn remove_the_last_route_and_an_optional_field() {
    let text = example("payments-migrate.yaml");
    let mut f = form(&text);
    let api = process(&mut f, "api");
    api.routes.clear();
    api.memory_limit = String::new();
    let out = apply(&text, &f);
    assert_eq!(form(&out), f);
    assert_all_valid(&out);
    assert!(!out.contains("      - host: payments.gojek.io\n"), "{out}");
    assert!(
        out.contains("    memory:\n      request: 256Mi\n    scaling:\n      replicas: 3"),
        "{out}"
    );
    assert_eq!(environments(&out), environments(&text));
}

#[test]
fn rename_a_process_keeps_what_the_form_does_not_show() {
    let text = example("ledger-store.yaml");
    let mut f = form(&text);
    f.processes[0].name = "store".into();
    let out = apply(&text, &f);
    assert_eq!(form(&out), f);
    assert_all_valid(&out);
    assert_comments_kept(&text, &out, &[]);
    let n = line_of(&text, "  api:");
    assert_lines_changed(&text, &out, &[(n, "  store:")]);
}

#[test]
fn rename_a_process_follows_best_effort_paths() {
    let text = example("driver-location.yaml");
    let mut f = form(&text);
    f.processes[0].name = "api".into();
    let out = apply(&text, &f);
    assert_eq!(form(&out), f);
    assert_comments_kept(&text, &out, &[]);
    assert_lines_changed(
        &text,
        &out,
        &[
            (line_of(&text, "  web:"), "  api:"),
            (
                line_of(&text, "- processes.web.health.startup"),
                "  - processes.api.health.startup       # Nomad checks have no startup phase",
            ),
            (
                line_of(&text, "- processes.web.update.maxUnavailable"),
                "  - processes.api.update.maxUnavailable  # Nomad stops an old allocation before its replacement starts",
            ),
        ],
    );
    // The body validates; the overrides (YAML-tab territory) still name `web`.
    assert_valid(&out);
    assert_eq!(environments(&out), environments(&text));
}

#[test]
fn rename_a_port_follows_health_checks() {
    let text = example("ledger-store.yaml");
    let mut f = form(&text);
    f.processes[0].ports[0].name = "rpc".into();
    let out = apply(&text, &f);
    assert_eq!(form(&out), f);
    assert_all_valid(&out);
    assert_lines_changed(
        &text,
        &out,
        &[
            (
                line_of(&text, "grpc: {port: 7000"),
                "      rpc: {port: 7000, protocol: grpc}   # clients; no route: internal traffic only",
            ),
            (
                line_of(&text, "grpc: {port: grpc"),
                "        grpc: {port: rpc, service: ledger.v1.Store}",
            ),
        ],
    );
}

#[test]
fn add_a_resource() {
    let text = example("driver-location.yaml");
    let mut f = form(&text);
    f.resources.push(FormResource {
        name: "archive".into(),
        r#type: "s3-bucket".into(),
    });
    let out = apply(&text, &f);
    assert_eq!(form(&out), f);
    assert_all_valid(&out);
    assert_comments_kept(&text, &out, &[]);
    assert!(out.contains("    access: produce            # this app only writes; consumers have their own manifests\n  archive:\n    type: s3-bucket\n\nprocesses:"), "{out}");

    // A manifest without resources gets the section after metadata.
    let text = example("ledger-store.yaml");
    let mut f = form(&text);
    f.resources.push(FormResource {
        name: "audit".into(),
        r#type: "postgres".into(),
    });
    let out = apply(&text, &f);
    assert_eq!(form(&out), f);
    assert_all_valid(&out);
    assert!(
        out.contains("internal gRPC only.\nresources:\n  audit:\n    type: postgres\n\nprocesses:"),
        "{out}"
    );
}

#[test]
fn rename_a_resource_follows_kafka_lag() {
    let text = example("order-events-consumer.yaml");
    let mut f = form(&text);
    f.resources[0].name = "order-events".into();
    // The form shows env values that use the old name; the user updates them.
    for e in &mut f.processes[0].env {
        e.value = e.value.replace("resources.orders.", "resources.order-events.");
    }
    match apply_form("app.yaml", &text, &f) {
        Err(FormError::ReadOnly { field }) => assert_eq!(field, "processes.worker.env.KAFKA_BROKERS"),
        other => panic!("expected a read-only error, got {other:?}"),
    }
    let mut f = form(&text);
    f.resources[0].name = "order-events".into();
    let out = apply(&text, &f);
    assert_eq!(form(&out), f);
    assert!(
        out.contains(
            "  order-events:\n    type: kafka-topic\n    topic: gofood.order-events       # produced"
        ),
        "{out}"
    );
    assert!(
        out.contains("kafkaLag: {topic: order-events, lag: 1000}"),
        "{out}"
    );
}

#[test]
fn remove_and_rename_env_entries_that_are_read_only() {
    let text = example("promo-gateway.yaml");
    let mut f = form(&text);
    let env = &mut f.processes[0].env;
    env.retain(|e| e.name != "PARTNER_API_TOKEN");
    let key = env
        .iter_mut()
        .find(|e| e.name == "PROMO_SIGNING_KEY")
        .expect("key");
    key.name = "SIGNING_KEY".into();
    let out = apply(&text, &f);
    assert_eq!(form(&out), f);
    assert_valid(&out);
    assert!(!out.contains("PARTNER_API_TOKEN"), "{out}");
    assert!(
        out.contains("      SIGNING_KEY: {secret: promo-gateway-keys, key: signing-key}\n"),
        "{out}"
    );
    assert_comments_kept(&text, &out, &[]);
}

#[test]
fn set_and_unset_optional_sections() {
    let text = example("settlement-report.yaml");
    let mut f = form(&text);
    let report = &mut f.processes[0];
    report.command = vec!["/app/report".into()];
    report.cpu_limit = "2".into();
    report.time_zone = String::new();
    let out = apply(&text, &f);
    assert_eq!(form(&out), f);
    assert_all_valid(&out);
    assert_comments_kept(&text, &out, &["Jakarta time"]);
    assert!(out.contains("    image: registry.gojek.io/payments/settlement-report:3.2.1\n    command: [/app/report]\n    args:"), "{out}");
    assert!(
        out.contains("    cpu:\n      request: \"1\"\n      limit: \"2\"\n"),
        "{out}"
    );
    assert!(!out.contains("timeZone"), "{out}");
}

#[test]
fn kind_change_and_schedule_on_a_new_cron() {
    let text = example("payments-migrate.yaml");
    let mut f = form(&text);
    f.processes.insert(
        1,
        FormProcess {
            name: "cleanup".into(),
            kind: "cron".into(),
            image: "registry.gojek.io/payments/payments:5.7.0".into(),
            command: vec!["/app/payments".into()],
            args: vec!["cleanup".into()],
            schedule: "@daily".into(),
            time_zone: "Asia/Jakarta".into(),
            ..FormProcess::default()
        },
    );
    let out = apply(&text, &f);
    assert_eq!(form(&out), f);
    assert_all_valid(&out);
    assert_comments_kept(&text, &out, &[]);
    assert!(
        out.contains("    schedule: \"@daily\"\n    timeZone: Asia/Jakarta\n\n  api:\n"),
        "{out}"
    );
}

// ---------------------------------------------------------------------------------------------
// Where editing in place is not safe: written afresh, still correct
// ---------------------------------------------------------------------------------------------

#[test]
fn block_scalar_description_is_rewritten() {
    let text = "apiVersion: ojek.dev/v1\nkind: App\nmetadata:\n  name: demo\n  team: core\n  description: >\n    A long\n    description.\n  labels: {tier: low}   # kept\nprocesses:\n  web:  # the web process\n    kind: service\n    image: nginx:1.27\n    ports: {http: {port: 80}}\n";
    let mut f = form(text);
    assert_eq!(f.description, "A long description.\n");
    f.description = "Short.".into();
    let out = apply(text, &f);
    assert_eq!(form(&out), f);
    assert_valid(&out);
    assert!(
        out.contains("  team: core\n  description: Short.\n  labels: {tier: low}   # kept\n"),
        "{out}"
    );
    assert_comments_kept(text, &out, &[]);
    // A multi-line value in the form is written as a literal block.
    f.description = "Line one.\nLine two.".into();
    let out = apply(text, &f);
    assert_eq!(form(&out), f);
    assert!(
        out.contains("  description: |-\n    Line one.\n    Line two.\n  labels"),
        "{out}"
    );
}

#[test]
fn flow_style_processes_are_extended_on_their_line() {
    let text = "apiVersion: ojek.dev/v1\nkind: App\nmetadata: {name: demo, team: core}  # compact\nprocesses:\n  web: {kind: service, image: \"nginx:1.27\", ports: {http: {port: 80}}}\n";
    let mut f = form(text);
    let web = &mut f.processes[0];
    web.env.push(FormEnv {
        name: "MODE".into(),
        value: "fast, safe".into(),
        editable: true,
    });
    web.ports[0].port = 8080;
    f.description = "Demo".into();
    let out = apply(text, &f);
    assert_eq!(form(&out), f);
    assert_valid(&out);
    assert_eq!(
        out,
        "apiVersion: ojek.dev/v1\nkind: App\nmetadata: {name: demo, team: core, description: Demo}  # compact\nprocesses:\n  web: {kind: service, image: \"nginx:1.27\", env: {MODE: \"fast, safe\"}, ports: {http: {port: 8080}}}\n"
    );
}

#[test]
fn flow_rewrites_keep_the_users_quoting() {
    let text = "apiVersion: ojek.dev/v1\nkind: App\nmetadata: {name: a, team: b}\nprocesses:\n  web: {kind: job, image: x, args: [it's, \"q, r\"], env: {A: 'it''s'}}  # c\n";
    let mut f = form(text);
    f.processes[0].env.push(FormEnv {
        name: "B".into(),
        value: "v".into(),
        editable: true,
    });
    let out = apply(text, &f);
    assert_eq!(form(&out), f);
    assert_eq!(
        out,
        text.replace("env: {A: 'it''s'}}", "env: {A: 'it''s', B: v}}")
    );
}

#[test]
fn a_flow_style_document_is_edited() {
    let text = "{apiVersion: ojek.dev/v1, kind: App, metadata: {name: demo, team: core}, processes: {web: {kind: job, image: busybox}}}\n";
    let mut f = form(text);
    f.processes[0].args = vec!["echo".into(), "hi".into()];
    f.processes.push(FormProcess {
        name: "other".into(),
        kind: "job".into(),
        image: "busybox".into(),
        ..Default::default()
    });
    let out = apply(text, &f);
    assert_eq!(form(&out), f);
    assert_valid(&out);
}

#[test]
fn aliases_are_not_edited_through_their_anchor() {
    let text = "apiVersion: ojek.dev/v1\nkind: App\nmetadata:\n  name: demo\n  team: core\nprocesses:\n  web:\n    kind: service\n    image: &img nginx:1.27   # shared\n    ports: {http: {port: 80}}\n  worker:\n    kind: worker\n    image: *img\n";
    let mut f = form(text);
    assert_eq!(f.processes[1].image, "nginx:1.27");
    f.processes[1].image = "nginx:1.28".into();
    let out = apply(text, &f);
    assert_eq!(form(&out), f);
    assert_eq!(form(&out).processes[0].image, "nginx:1.27");
    assert_valid(&out);
    assert_comments_kept(text, &out, &[]);
    // And the other way round: the anchor's own value changes, the alias must not.
    let mut f = form(text);
    f.processes[0].image = "nginx:1.29".into();
    let out = apply(text, &f);
    assert_eq!(form(&out), f);
    assert_eq!(form(&out).processes[1].image, "nginx:1.27");
}

#[test]
fn compact_lists_and_first_keys_of_items() {
    // Routes written as a compact list (dashes at the key's column), items starting with
    // `port`: removing an item's first key rewrites that item only.
    let text = "apiVersion: ojek.dev/v1\nkind: App\nmetadata:\n  name: demo\n  team: core\nprocesses:\n  web:\n    kind: service\n    image: nginx\n    ports:\n      http: {port: 80}\n    routes:\n    - port: http   # first\n      host: a.example.com\n      tls: true\n    - host: b.example.com  # second\n    health:\n      liveness: {tcp: {}}\n";
    let mut f = form(text);
    let routes = &mut f.processes[0].routes;
    routes[0].port = String::new();
    routes[0].path = "/a".into();
    routes[1].tls = true;
    routes.push(FormRoute {
        host: "c.example.com".into(),
        ..Default::default()
    });
    let out = apply(text, &f);
    assert_eq!(form(&out), f);
    assert_valid(&out);
    assert_eq!(
        out,
        text.replace(
            "    - port: http   # first\n      host: a.example.com\n      tls: true\n    - host: b.example.com  # second\n",
            "    - host: a.example.com\n      path: /a\n      tls: true\n    - host: b.example.com  # second\n      tls: true\n    - host: c.example.com\n"
        )
    );
}

#[test]
fn an_empty_document_becomes_a_manifest() {
    let f = FormApp {
        name: "fresh".into(),
        team: "core".into(),
        processes: vec![FormProcess {
            name: "web".into(),
            kind: "service".into(),
            image: "nginx:1.27".into(),
            ports: vec![FormPort {
                name: "http".into(),
                port: 80,
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    for text in ["", "# a new app\n"] {
        assert_eq!(form(text), FormApp::default());
        let out = apply(text, &f);
        assert_eq!(form(&out), f);
        assert_valid(&out);
        assert!(
            out.starts_with(text) && out.contains("apiVersion: ojek.dev/v1\nkind: App\n"),
            "{out}"
        );
    }
}

#[test]
fn crlf_line_endings_are_kept() {
    let text = "apiVersion: ojek.dev/v1\r\nkind: App\r\nmetadata:\r\n  name: demo  # name\r\n  team: core\r\nprocesses:\r\n  web:\r\n    kind: job\r\n    image: busybox\r\n";
    let mut f = form(text);
    f.processes[0].image = "alpine".into();
    f.processes[0].args = vec!["true".into()];
    let out = apply(text, &f);
    assert_eq!(form(&out), f);
    assert!(!out.replace("\r\n", "").contains('\n'), "{out:?}");
    assert!(out.contains("  name: demo  # name\r\n"), "{out:?}");
}

// ---------------------------------------------------------------------------------------------
// Invalid forms
// ---------------------------------------------------------------------------------------------

fn invalid_field(text: &str, f: &FormApp) -> String {
    match apply_form("app.yaml", text, f) {
        Err(FormError::Invalid { field, message }) => {
            assert!(!message.is_empty());
            field
        }
        other => panic!("expected an invalid form, got {other:?}"),
    }
}

#[test]
fn invalid_forms_are_refused() {
    let text = example("driver-location.yaml");
    let base = form(&text);

    let mut f = base.clone();
    f.processes[0].name = "Web".into();
    assert_eq!(invalid_field(&text, &f), "processes.Web");

    let mut f = base.clone();
    f.processes[0].ports[1].name = "http".into();
    assert_eq!(invalid_field(&text, &f), "processes.web.ports.http");

    let mut f = base.clone();
    f.processes[0].ports[0].port = 0;
    assert_eq!(invalid_field(&text, &f), "processes.web.ports.http.port");

    let mut f = base.clone();
    f.processes[0].ports[0].name = "a-very-long-port-name".into();
    assert_eq!(
        invalid_field(&text, &f),
        "processes.web.ports.a-very-long-port-name"
    );

    let mut f = base.clone();
    f.processes[0].env.push(FormEnv {
        name: String::new(),
        value: "x".into(),
        editable: true,
    });
    assert_eq!(invalid_field(&text, &f), "processes.web.env[6]");

    let mut f = base.clone();
    f.processes.push(FormProcess {
        name: "web".into(),
        kind: "worker".into(),
        ..Default::default()
    });
    assert_eq!(invalid_field(&text, &f), "processes.web");

    let mut f = base.clone();
    f.processes[0].kind = "daemon".into();
    assert_eq!(invalid_field(&text, &f), "processes.web.kind");

    let mut f = base.clone();
    f.resources[0].r#type = "mysql".into();
    assert_eq!(invalid_field(&text, &f), "resources.db.type");

    let mut f = base.clone();
    f.name = "driver_location".into();
    assert_eq!(invalid_field(&text, &f), "metadata.name");

    let mut f = base.clone();
    f.processes[0].routes[0].host = String::new();
    assert_eq!(invalid_field(&text, &f), "processes.web.routes[0].host");

    // Changing a secret reference or an interpolated value is for the YAML tab.
    let mut f = base.clone();
    f.processes[0].env[0].value = "postgres://localhost/x".into();
    match apply_form("app.yaml", &text, &f) {
        Err(e @ FormError::ReadOnly { .. }) => {
            assert!(e.to_string().contains("processes.web.env.DATABASE_URL"), "{e}")
        }
        other => panic!("expected a read-only error, got {other:?}"),
    }

    // A top level that is not a mapping cannot take a form.
    let f = FormApp {
        name: "x".into(),
        ..FormApp::default()
    };
    assert!(matches!(
        apply_form("app.yaml", "- a\n- b\n", &f),
        Err(FormError::NotAMapping)
    ));
}

#[test]
fn values_kept_as_written_are_not_checked() {
    // The YAML tab may hold a name the form would refuse; editing something else is fine.
    let text = "apiVersion: ojek.dev/v1\nkind: App\nmetadata:\n  name: Demo_App\n  team: core\nprocesses:\n  Web:\n    kind: servic\n    image: x\n    ports: {HTTP: {port: 0}}\n";
    let mut f = form(text);
    f.processes[0].image = "nginx".into();
    let out = apply(text, &f);
    assert_eq!(form(&out), f);
    assert!(out.contains("    image: nginx\n"), "{out}");
    // `y` is a boolean to YAML 1.1 readers: quoted.
    f.processes[0].image = "y".into();
    assert!(apply(text, &f).contains("    image: \"y\"\n"));
}

// ---------------------------------------------------------------------------------------------
// Property: random forms round-trip and leave the environments alone
// ---------------------------------------------------------------------------------------------

const MINIMAL: &str = "# A small app.\napiVersion: ojek.dev/v1\nkind: App\nmetadata:\n  name: demo        # the app\n  team: core\nprocesses:\n  web:\n    kind: service\n    image: nginx:1.27\n    ports:\n      http: {port: 8080}\n\nenvironments:\n  staging:\n    processes:\n      web:\n        image: nginx:1.28   # try the next one\n";

fn label() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,4})?"
}

/// Text with the characters that make YAML scalars need quoting.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z][a-zA-Z0-9 ./_-]{0,20}",
        Just(String::new()),
        Just("yes".to_string()),
        Just("null".to_string()),
        Just("0755".to_string()),
        Just("1.10".to_string()),
        Just("a: b # c".to_string()),
        Just("- dash".to_string()),
        Just("{flow}, [x]".to_string()),
        Just("quote \" and \\ backslash".to_string()),
        Just("it's".to_string()),
        Just("two\nlines\n".to_string()),
        Just("  leading space".to_string()),
        Just("tab\there".to_string()),
        Just("ünïcödé ✓".to_string()),
        Just("${resources.db.url}".to_string()),
        Just("$${literal}".to_string()),
        Just("*star &amp !bang %pct @at `tick".to_string()),
    ]
}

fn quantity() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("500m".to_string()),
        Just("2".to_string()),
        Just("0.5".to_string()),
        Just("1Gi".to_string())
    ]
}

fn unique_by_name<T>(items: Vec<T>, name: impl Fn(&T) -> &str) -> Vec<T> {
    let mut seen = std::collections::HashSet::new();
    items
        .into_iter()
        .filter(|i| seen.insert(name(i).to_string()))
        .collect()
}

fn process_strategy() -> impl Strategy<Value = FormProcess> {
    let ports = prop::collection::vec(("[a-z][a-z0-9]{0,9}", 1u16..=65535), 0..3).prop_map(|v| {
        unique_by_name(
            v.into_iter()
                .map(|(name, port)| FormPort { name, port })
                .collect(),
            |p| &p.name,
        )
    });
    let routes = prop::collection::vec(
        (
            "[a-z]{1,8}\\.example\\.com",
            prop_oneof![Just(String::new()), "/[a-z]{1,5}"],
            any::<bool>(),
        ),
        0..3,
    )
    .prop_map(|v| {
        v.into_iter()
            .map(|(host, path, tls)| FormRoute {
                host,
                path,
                port: String::new(),
                tls,
            })
            .collect::<Vec<_>>()
    });
    let env = prop::collection::vec(("V_[A-Z]{1,5}", text()), 0..4).prop_map(|v| {
        unique_by_name(
            v.into_iter()
                .map(|(name, value)| FormEnv {
                    editable: !value.contains("${") || value.contains("$${"),
                    name,
                    value,
                })
                .collect(),
            |e| &e.name,
        )
    });
    let scaling = (
        prop::option::of(0u32..50),
        prop::option::of(
            (1u32..5, 5u32..50, prop::option::of(10u32..95)).prop_map(|(min, max, cpu)| FormAutoscale {
                min,
                max,
                cpu,
            }),
        ),
    );
    (
        (
            label(),
            prop::sample::select(vec!["service", "worker", "cron", "job"]),
            "[a-z]{1,8}(/[a-z]{1,8})?:[0-9]\\.[0-9]{1,2}",
        ),
        (
            prop::collection::vec(text(), 0..3),
            prop::collection::vec(text(), 0..3),
        ),
        (ports, routes, env),
        (quantity(), quantity(), quantity(), quantity()),
        scaling,
        (
            prop_oneof![
                Just(String::new()),
                Just("*/5 * * * *".to_string()),
                Just("@hourly".to_string())
            ],
            prop_oneof![Just(String::new()), Just("Asia/Jakarta".to_string())],
        ),
    )
        .prop_map(
            |(
                (name, kind, image),
                (command, args),
                (ports, routes, env),
                (cr, cl, mr, ml),
                (replicas, autoscale),
                (schedule, time_zone),
            )| FormProcess {
                name,
                kind: kind.to_string(),
                image,
                command,
                args,
                ports,
                routes,
                env,
                cpu_request: cr,
                cpu_limit: cl,
                memory_request: mr,
                memory_limit: ml,
                replicas,
                autoscale,
                schedule,
                time_zone,
            },
        )
}

fn form_strategy() -> impl Strategy<Value = FormApp> {
    (
        label(),
        label(),
        text(),
        prop::collection::vec(
            (
                label(),
                prop::sample::select(vec!["postgres", "redis", "kafka-topic", "s3-bucket"]),
            ),
            0..3,
        ),
        prop::collection::vec(process_strategy(), 1..4),
    )
        .prop_map(|(name, team, description, resources, processes)| FormApp {
            name,
            team,
            description,
            resources: unique_by_name(
                resources
                    .into_iter()
                    .map(|(name, t)| FormResource {
                        name,
                        r#type: t.to_string(),
                    })
                    .collect(),
                |r| &r.name,
            ),
            processes: unique_by_name(processes, |p| &p.name),
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_forms_round_trip(f in form_strategy()) {
        for base in [MINIMAL.to_string(), example("driver-location.yaml")] {
            let out = apply_form("app.yaml", &base, &f).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let back = form_from_yaml("app.yaml", &out).map_err(|d| TestCaseError::fail(format!("{d}\n{out}")))?;
            prop_assert_eq!(&back, &f, "{}", out);
            prop_assert_eq!(environments(&out), environments(&base), "{}", out);
            // Applying the same form again changes nothing.
            let again = apply_form("app.yaml", &out, &f).ok();
            prop_assert_eq!(again.as_deref(), Some(out.as_str()));
        }
    }

    #[test]
    fn one_field_edits_keep_every_comment(f in form_strategy()) {
        // Scalar changes only, on the richest example: every comment must stay.
        let base = example("driver-location.yaml");
        let mut g = form(&base);
        let web = &mut g.processes[0];
        let p = &f.processes[0];
        web.image = p.image.clone();
        if !p.cpu_request.is_empty() {
            web.cpu_request = p.cpu_request.clone();
        }
        web.args = p.args.clone();
        web.replicas = p.replicas;
        g.description = f.description.clone();
        let out = apply_form("app.yaml", &base, &g).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(form(&out), g);
        let mut rest = comments(&out).into_iter();
        for c in comments(&base) {
            prop_assert!(rest.any(|a| a == c), "comment lost: {}\n{}", c, out);
        }
    }
}

/// `base` with some of `random`'s fields, chosen by the bits of `mix`: edits of a real
/// manifest's own form rather than a whole new form.
fn mixed(base: &FormApp, random: &FormApp, mix: u64) -> FormApp {
    let mut g = base.clone();
    if mix & 1 != 0 {
        g.description = random.description.clone();
    }
    if mix & 2 != 0 {
        g.resources = random.resources.clone();
    }
    if mix & 8 != 0 {
        g.name = random.name.clone();
    }
    for (i, p) in g.processes.iter_mut().enumerate() {
        let q = &random.processes[i % random.processes.len()];
        let bits = mix >> (4 + (i % 4) * 12);
        if bits & 1 != 0 {
            p.image = q.image.clone();
        }
        if bits & 2 != 0 {
            p.args = q.args.clone();
        }
        if bits & 4 != 0 {
            p.ports = q.ports.clone();
        }
        if bits & 8 != 0 {
            p.routes = q.routes.clone();
        }
        if bits & 16 != 0 {
            // Read-only entries stay; editable ones are replaced.
            p.env.retain(|e| !e.editable);
            p.env.extend(q.env.clone());
        }
        if bits & 32 != 0 {
            p.cpu_request = q.cpu_request.clone();
            p.memory_limit = q.memory_limit.clone();
        }
        if bits & 64 != 0 {
            p.replicas = q.replicas;
        }
        if bits & 128 != 0 {
            p.autoscale = q.autoscale.clone();
        }
        if bits & 256 != 0 {
            p.schedule = q.schedule.clone();
            p.time_zone = q.time_zone.clone();
        }
        if bits & 512 != 0 {
            p.name = q.name.clone();
        }
        if bits & 1024 != 0 {
            p.command = q.command.clone();
        }
    }
    if mix & 4 != 0 {
        g.processes.push(random.processes[0].clone());
    }
    g.processes = unique_by_name(g.processes, |p| &p.name);
    g
}

/// Layouts the examples do not use: four-space indentation, document markers, quoted keys,
/// tags, empty values, no final newline, block and multi-line scalars, anchors and aliases,
/// flow style everywhere, CRLF, complex keys, flow collections over several lines.
const ODD_LAYOUTS: &[&str] = &[
    "---\napiVersion: ojek.dev/v1\nkind: App\nmetadata:\n    name: four   # four spaces\n    team: core\n\n\nprocesses:\n    web:\n        kind: service\n        image: nginx\n        env:\n            A: '1'\n            B: \"two\"   # dq\n        ports:\n            http:\n                port: 80\n    # between\n    job:\n        kind: job\n        image: busybox\n        # trailing comment inside job\n...\n",
    "apiVersion: ojek.dev/v1\nkind: App\nmetadata:\n  \"name\": quoted\n  'team': core\nprocesses:\n  \"web\":\n    kind: !!str service\n    image: nginx\n    args:\n    - a\n    - 'b'   # b\n    env:\n    routes:\n    - {host: x.example.com, tls: true}\n    ports: {http: {port: 80}}",
    "apiVersion: ojek.dev/v1\nkind: App\nmetadata:\n  name: blocks\n  team: core\n  description: |\n    multi\n    line\nprocesses:\n  web:\n    kind: service\n    image: nginx\n    env:\n      CONF: |\n        a: 1\n      PLAIN: this is\n        folded plain\n      BASE: &b base-value\n      COPY: *b\n    ports:\n      http: {port: 80}\nenvironments:\n  staging:\n    processes:\n      web: {image: nginx:2}\n",
    "apiVersion: ojek.dev/v1\r\nkind: App\r\nmetadata:\r\n  name: crlf\r\n  team: core\r\nprocesses:\r\n  web:\r\n    kind: service\r\n    image: nginx\t# tab before comment\r\n    ports:\r\n      http: {port: 80}\r\n",
    "apiVersion: ojek.dev/v1\nkind: App\nmetadata: {name: flow, team: core}\nresources: {db: {type: postgres}}\nprocesses: {web: {kind: service, image: nginx, ports: {http: {port: 80}}, env: {X: '1'}}}\nenvironments: {staging: {processes: {web: {image: nginx:2}}}}\n",
    "apiVersion: ojek.dev/v1\nkind: App\nmetadata:\n  name: complex\n  team: core\nprocesses:\n  ? web\n  : kind: service\n    image: nginx\n    ports:\n      http: {port: 80}\n  base: &base\n    kind: worker\n    image: busybox\n  copy: *base\n",
    "apiVersion: ojek.dev/v1\nkind: App\nmetadata:\n  name: multi\n  team: core\nprocesses:\n  web:\n    kind: service\n    image: nginx\n    ports: {\n      http: {port: 80},   # comment in flow\n      admin: {port: 81}\n    }\n    args: [\n      a,\n      b\n    ]\n",
    "apiVersion: ojek.dev/v1\nkind: App\nmetadata:\n  name: x\n  team: y\nprocesses:\n  web:\n    kind: service\n    image: nginx\n    scaling:\n      replicas: 2\n    # trailing deeper comment\n  # trailing shallower comment\n# end\n",
    "",
    "# only a comment\n",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn edits_of_every_example_round_trip(random in form_strategy(), pick in 0usize..6, mix in any::<u64>()) {
        let apps = example_apps();
        let (_, base) = &apps[pick % apps.len()];
        let g = mixed(&form(base), &random, mix);
        let out = apply_form("app.yaml", base, &g).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&form(&out), &g, "{}", out);
        prop_assert_eq!(environments(&out), environments(base));
    }

    #[test]
    fn edits_of_odd_layouts_round_trip(random in form_strategy(), pick in 0usize..10, mix in any::<u64>()) {
        let base = ODD_LAYOUTS[pick % ODD_LAYOUTS.len()];
        let g = if mix & (1 << 63) != 0 { random } else { mixed(&form(base), &random, mix) };
        let out = apply_form("app.yaml", base, &g).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&form(&out), &g, "{}", out);
        // The override of the block-scalar layout stays as written.
        prop_assert_eq!(environments(&out), environments(base));
    }
}
