//! The `ojek` binary end to end: exit codes, messages with file:line:column, nothing written
//! on errors, explain output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ojek(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ojek"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("run ojek")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn validate_accepts_the_examples() {
    let mut args = vec!["validate"];
    let files: Vec<String> = std::fs::read_dir(root().join("examples"))
        .expect("examples")
        .flatten()
        .map(|e| format!("examples/{}", e.file_name().to_string_lossy()))
        .filter(|f| f.ends_with(".yaml"))
        .collect();
    args.extend(files.iter().map(String::as_str));
    let out = ojek(&args);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("0 error(s)"), "{}", text(&out));
}

const BAD: &str = "apiVersion: ojek.dev/v1
kind: App
metadata:
  name: broken
  team: qa
processes:
  web:
    kind: service
    image: example/web:1
    ports:
      http: {port: 8080}
    routes:
      - host: broken.example.com
        port: htp
    scaling:
      replicaz: 3
  nightly:
    kind: cron
    image: example/report:1
    schedule: \"61 * * * *\"
";

#[test]
fn validate_reports_every_error_with_location_and_hint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("broken.yaml");
    std::fs::write(&file, BAD).expect("write");
    std::fs::copy(
        root().join("examples/platform.yaml"),
        dir.path().join("platform.yaml"),
    )
    .expect("platform");
    let out = ojek(&["validate", file.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("broken.yaml:16:7: error: processes.web.scaling.replicaz: unknown field `replicaz`"),
        "{t}"
    );
    assert!(t.contains("did you mean `replicas`?"), "{t}");
    // Schema errors stop before cross-reference checks; fix the typo and the rest shows.
    std::fs::write(&file, BAD.replace("replicaz", "replicas")).expect("write");
    let out = ojek(&["validate", file.to_str().expect("utf8")]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("broken.yaml:14:15: error: processes.web.routes[0].port: no port named `htp`"),
        "{t}"
    );
    assert!(t.contains("did you mean `http`?"), "{t}");
    assert!(
        t.contains("broken.yaml:20:15: error: processes.nightly.schedule: minute field `61`"),
        "{t}"
    );
}

#[test]
fn render_writes_nothing_when_the_manifest_is_bad() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("broken.yaml");
    std::fs::write(
        &file,
        "apiVersion: ojek.dev/v1\nkind: App\nmetadata: {name: x, team: y\n",
    )
    .expect("write");
    std::fs::copy(
        root().join("examples/platform.yaml"),
        dir.path().join("platform.yaml"),
    )
    .expect("platform");
    let out_dir = dir.path().join("out");
    let out = ojek(&[
        "render",
        file.to_str().expect("utf8"),
        "--env",
        "staging",
        "-o",
        out_dir.to_str().expect("utf8"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // Reported where the unclosed `{` opens, not where the parser gave up (line 4).
    assert!(text(&out).contains("broken.yaml:3:11:"), "{}", text(&out));
    assert!(text(&out).contains("`{` is never closed"), "{}", text(&out));
    assert!(!out_dir.exists(), "output directory was created on error");
}

#[test]
fn render_writes_every_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (args, expect) in [
        (vec!["--format", "yaml"], "driver-location.yaml"),
        (vec!["--format", "kustomize"], "kustomization.yaml"),
        (vec!["--format", "helm"], "Chart.yaml"),
        (
            vec!["--target", "nomad", "--nomad-format", "hcl"],
            "driver-location-staging.nomad.hcl",
        ),
        (
            vec!["--target", "nomad", "--nomad-format", "json"],
            "driver-location-staging.json",
        ),
    ] {
        let out_dir = dir.path().join(expect);
        let mut full = vec![
            "render",
            "examples/driver-location.yaml",
            "--env",
            "staging",
            "-o",
            out_dir.to_str().expect("utf8"),
        ];
        full.extend(args);
        let out = ojek(&full);
        assert!(out.status.success(), "{}", text(&out));
        assert!(out_dir.join(expect).is_file(), "{expect} missing: {}", text(&out));
    }
}

#[test]
fn explain_lists_what_ojek_applies_itself_with_its_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let example = std::fs::read_to_string(root().join("examples/driver-location.yaml")).expect("example");
    let manifest = dir.path().join("app.yaml");
    std::fs::write(
        &manifest,
        format!("{example}logs:\n  retentionDays: 14\n  level: warn\n"),
    )
    .expect("write");
    let logs_line = example.lines().count() + 2;
    let path = manifest.to_str().expect("utf8");
    let base = [
        "explain",
        path,
        "--env",
        "staging",
        "--platform",
        "examples/platform.yaml",
    ];
    let out = ojek(&base);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    let section = t
        .split("Applied by ojek, not rendered")
        .nth(1)
        .unwrap_or_else(|| panic!("no applied section: {t}"));
    assert!(
        section.contains(&format!("  logs.retentionDays = 14\n      <- manifest ({path}:{logs_line}:18): applied by ojek's log pipeline")),
        "{section}"
    );
    assert!(section.contains("  logs.level = \"warn\""), "{section}");
    // Asked for by name, only those.
    let mut one = base.to_vec();
    one.push("logs.level");
    let out = ojek(&one);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(
        t.contains("logs.level") && !t.contains("logs.retentionDays") && !t.contains("Deployment/"),
        "{t}"
    );
    // Without `logs`, nothing of the kind.
    let out = ojek(&["explain", "examples/driver-location.yaml", "--env", "staging"]);
    assert!(!text(&out).contains("Applied by ojek"));
}

#[test]
fn explain_names_the_manifest_line_of_a_field() {
    let out = ojek(&[
        "explain",
        "examples/driver-location.yaml",
        "--env",
        "staging",
        "Deployment/driver-location-web",
        "spec.template.spec.containers[0].image",
    ]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("spec.template.spec.containers[0].image = "), "{t}");
    assert!(t.contains("examples/driver-location.yaml:"), "{t}");
    let json = ojek(&[
        "explain",
        "examples/driver-location.yaml",
        "--env",
        "staging",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert!(v.as_array().is_some_and(|a| a.len() > 100));
}

#[test]
fn schema_is_json_schema() {
    let out = ojek(&["schema"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert!(v["$defs"]["Process"]["properties"]["image"].is_object());
}

#[test]
fn up_refuses_a_bad_logs_archive_url_at_start_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().display().to_string();
    for (url, expected) in [
        ("ftp://host/logs", "unsupported scheme `ftp`"),
        (
            "s3://AKIAEXAMPLE:top-secret@bucket/logs",
            "credentials do not belong in the URL",
        ),
        ("s3:///logs", "no bucket"),
    ] {
        let out = ojek(&[
            "up",
            "--data-dir",
            &data,
            "--listen",
            "127.0.0.1:0",
            "--logs-archive",
            url,
        ]);
        assert!(!out.status.success(), "{url}: {}", text(&out));
        let text = text(&out);
        assert!(
            text.contains("--logs-archive") && text.contains(expected),
            "{url}: {text}"
        );
        assert!(
            !text.contains("top-secret") && !text.contains("AKIAEXAMPLE"),
            "{text}"
        );
    }
}

#[test]
fn experiments_crd_prints_the_generated_definition() {
    let out = ojek(&["experiments", "crd"]);
    assert!(out.status.success(), "{}", text(&out));
    let yaml = String::from_utf8_lossy(&out.stdout);
    assert!(yaml.contains("name: experiments.ojek.dev"), "{yaml}");
    assert!(yaml.contains("kind: Experiment"), "{yaml}");
    assert!(yaml.contains("jsonPath: \".status.phase\""), "{yaml}");
}

#[test]
fn experiments_render_prints_shards_and_route_or_located_errors() {
    let exp = root().join("examples/experiments/promo-gateway-cashback.yaml");
    let manifest = root().join("examples/promo-gateway.yaml");
    let platform = root().join("examples/platform.yaml");
    let args = |e: &str| {
        vec![
            "experiments".to_string(),
            "render".into(),
            e.to_string(),
            "--manifest".into(),
            manifest.display().to_string(),
            "--platform".into(),
            platform.display().to_string(),
        ]
    };
    let a = args(&exp.display().to_string());
    let out = ojek(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.status.success(), "{}", text(&out));
    let yaml = String::from_utf8_lossy(&out.stdout);
    assert!(
        yaml.contains("name: promo-gateway-production-rules-v2\n"),
        "{yaml}"
    );
    assert!(yaml.contains("kind: HTTPRoute"), "{yaml}");
    assert!(
        yaml.contains("# Traffic: baseline=80% rules-v2=10% rules-v2-cache=10%."),
        "{yaml}"
    );

    let dir = tempfile::tempdir().expect("tmp");
    let bad = dir.path().join("bad.yaml");
    let text_in = std::fs::read_to_string(&exp).expect("example");
    std::fs::write(
        &bad,
        text_in.replace("- name: rules-v2-cache", "- name: baseline"),
    )
    .expect("write");
    let a = args(&bad.display().to_string());
    let out = ojek(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.yaml:28:7"), "{err}");
    assert!(err.contains("`baseline` is the app as deployed"), "{err}");
    assert!(out.stdout.is_empty(), "printed output for a bad experiment");
}

#[test]
fn experiments_render_for_nomad_writes_jobs_and_consul_entries_or_says_why_not() {
    let data = root().join("crates/ojek-experiments/tests/data");
    let platform = root().join("examples/platform.yaml").display().to_string();
    let dir = tempfile::tempdir().expect("tmp");
    let out_dir = dir.path().join("out");
    let exp = data.join("rider-offers-ranker.yaml").display().to_string();
    let manifest = data.join("rider-offers.yaml").display().to_string();
    let out = ojek(&[
        "experiments",
        "render",
        &exp,
        "--manifest",
        &manifest,
        "--platform",
        &platform,
        "--target",
        "nomad",
        "-o",
        &out_dir.display().to_string(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let job = std::fs::read_to_string(out_dir.join("jobs/rider-offers-production-dc-ranker-v2.json"))
        .expect("a job file");
    assert!(job.contains("\"ojek_variant\": \"ranker-v2\""), "{job}");
    let consul: Vec<String> = std::fs::read_dir(out_dir.join("consul"))
        .expect("consul/")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert!(
        consul.iter().any(|f| f.contains("service-splitter")),
        "{consul:?}"
    );

    // promo-gateway's production has no Nomad section: a clear error at the line, nothing written.
    let empty = dir.path().join("empty");
    let out = ojek(&[
        "experiments",
        "render",
        &root()
            .join("examples/experiments/promo-gateway-cashback.yaml")
            .display()
            .to_string(),
        "--manifest",
        &root().join("examples/promo-gateway.yaml").display().to_string(),
        "--platform",
        &platform,
        "--target",
        "nomad",
        "-o",
        &empty.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("promo-gateway-cashback.yaml:15:3"), "{err}");
    assert!(err.contains("NoTrafficSplit"), "{err}");
    assert!(!empty.exists(), "wrote output for a refused experiment");
}
