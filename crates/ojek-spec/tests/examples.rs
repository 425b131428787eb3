//! The example manifests in `examples/` are valid against the example platform file, and
//! typical mistakes are reported at the right line and column, with a hint.
//!
//! Test code may do I/O: the `fromFile` reader here reads relative to the manifest's
//! directory, as the CLI does.

use std::path::{Path, PathBuf};

use ojek_spec::load::{LoadedPlatform, document_kind};
use ojek_spec::{
    Diagnostic, Diagnostics, FileReader, NoFiles, load_app, load_platform, resolve, validate_all,
};

/// Reads `fromFile` paths relative to the directory of the manifest.
struct RelativeToManifest;

impl FileReader for RelativeToManifest {
    fn read(&self, manifest: &str, relative: &str) -> Result<String, String> {
        let dir = Path::new(manifest).parent().unwrap_or_else(|| Path::new("."));
        std::fs::read_to_string(dir.join(relative)).map_err(|e| e.to_string())
    }
}

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn example_platform() -> LoadedPlatform {
    let path = examples_dir().join("platform.yaml");
    load_platform(&path.display().to_string(), &read(&path))
        .unwrap_or_else(|d| panic!("examples/platform.yaml is invalid:\n{d}"))
}

/// Every `examples/*.yaml` that is an app manifest (platform files are skipped by kind).
fn example_apps() -> Vec<(PathBuf, String)> {
    let mut apps = Vec::new();
    for entry in std::fs::read_dir(examples_dir()).expect("examples/ exists") {
        let path = entry.expect("directory entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let text = read(&path);
        match document_kind(&text).as_deref() {
            Some("Platform") => continue,
            Some("App") => apps.push((path, text)),
            other => panic!("{}: unexpected kind {other:?}", path.display()),
        }
    }
    apps.sort();
    apps
}

#[test]
fn example_platform_is_valid() {
    let platform = example_platform().platform;
    let envs: Vec<&str> = platform.environments.keys().map(String::as_str).collect();
    assert_eq!(envs, ["staging", "production", "production-dc"]);
    for profile in ["aws-kops", "gke", "onprem-kubeadm", "jkt-nomad"] {
        assert!(
            platform.profiles.contains_key(profile),
            "missing profile {profile}"
        );
    }
    // Every output of every dependency kind is bound, so every `${resources.x.y}` an app may
    // write resolves on both targets.
    use ojek_spec::manifest::ResourceKind as K;
    for kind in [K::Postgres, K::Redis, K::KafkaTopic, K::S3Bucket] {
        for output in kind.outputs() {
            assert!(
                platform.bindings.of(kind).contains_key(*output),
                "bindings.{}.{output} is missing",
                kind.as_str()
            );
        }
    }
}

#[test]
fn example_apps_are_valid_in_every_environment() {
    let platform = example_platform().platform;
    let envs: Vec<String> = platform.environments.keys().cloned().collect();
    let apps = example_apps();
    assert!(
        apps.len() >= 6,
        "expected the six example apps, found {}",
        apps.len()
    );
    let mut failures = Vec::new();
    for (path, text) in &apps {
        let file = path.display().to_string();
        let loaded = match load_app(&file, text, &RelativeToManifest) {
            Ok(l) => l,
            Err(d) => {
                failures.push(format!("{file} does not load:\n{d}"));
                continue;
            }
        };
        for env in loaded.app.environments.keys() {
            assert!(
                envs.contains(env),
                "{file}: overrides `{env}`, which the platform does not define"
            );
        }
        let diags = validate_all(&loaded, &envs);
        if diags.has_errors() {
            failures.push(format!("{file}:\n{diags}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn environment_overrides_merge_and_null_removes() {
    let path = examples_dir().join("driver-location.yaml");
    let loaded = load_app(&path.display().to_string(), &read(&path), &NoFiles).expect("loads");
    let staging = resolve(&loaded, "staging").unwrap_or_else(|d| panic!("{d}"));
    let web = &staging.app.processes["web"];
    assert!(web.image.ends_with(":2.15.0-rc.1"));
    let auto = web
        .scaling
        .as_ref()
        .and_then(|s| s.autoscale.as_ref())
        .expect("autoscale");
    assert_eq!(
        (auto.min, auto.max, auto.cpu),
        (2, 6, Some(65)),
        "cpu kept from the body"
    );
    assert_eq!(web.disruption_budget, None, "`disruptionBudget: null` removes it");
    assert!(
        !staging.app.metadata.labels.contains_key("tier"),
        "`tier: null` removes the label"
    );
    assert_eq!(web.routes.len(), 1, "lists are replaced, not appended");
    assert_eq!(
        web.routes[0].host, "driver-location.staging.gojek.io",
        "lists are replaced"
    );
    assert_eq!(
        web.env["LOG_LEVEL"],
        ojek_spec::manifest::EnvValue::Text("debug".into())
    );
    assert!(web.env.contains_key("DATABASE_URL"), "env merges key by key");
    // The merged tree remembers which layer wrote each field, for `ojek explain`.
    let image = staging
        .at(&ojek_spec::Path::parse("processes.web.image").expect("path"))
        .expect("image");
    assert_eq!(image.layer, ojek_spec::Layer::Environment("staging".into()));
    let production = resolve(&loaded, "production").unwrap_or_else(|d| panic!("{d}"));
    let memory = production.app.processes["web"].memory.as_ref().expect("memory");
    assert_eq!(memory.request.as_ref().map(|q| q.0.as_str()), Some("512Mi"));
    assert_eq!(memory.limit.as_ref().map(|q| q.0.as_str()), Some("2Gi"));
    assert!(production.app.processes["web"].disruption_budget.is_some());
    assert_eq!(production.app.metadata.labels["tier"], "critical");
}

#[test]
fn from_file_content_is_read_relative_to_the_manifest() {
    let path = examples_dir().join("promo-gateway.yaml");
    let loaded = load_app(&path.display().to_string(), &read(&path), &RelativeToManifest).expect("loads");
    let file = &loaded.app.processes["web"].files["/etc/promo-gateway/rules.json"];
    let content = file.content.as_deref().expect("content filled in");
    assert!(content.contains("gofood-weekend-20"));
    assert_eq!(file.from_file, None);
    // Without a reader, the manifest cannot load, and the error points at the fromFile value.
    let text = read(&path);
    let err = load_app("promo-gateway.yaml", &text, &NoFiles).expect_err("no files");
    let d = err.errors().next().expect("an error");
    let (line, column) = position_of(&text, "config/promo-rules.json");
    assert_eq!(at(d), (line, column), "{d}");
    assert!(d.message.contains("cannot read `config/promo-rules.json`"), "{d}");
}

// ---------------------------------------------------------------------------------------------
// Mistakes: each is reported at the right place, with a hint where one helps.
// ---------------------------------------------------------------------------------------------

/// A small valid app; tests replace one line of it to make one mistake.
const BASE: &str = "\
apiVersion: ojek.dev/v1
kind: App
metadata:
  name: driver-location
  team: fulfilment
resources:
  db:
    type: postgres
processes:
  web:
    kind: service
    image: registry.gojek.io/fulfilment/driver-location:2.14.0
    env:
      DATABASE_URL: ${resources.db.url}
    ports:
      http: {port: 8080}
      metrics: {port: 9090}
    routes:
      - host: driver-location.gojek.io
        port: http
    scaling:
      replicas: 3
  report:
    kind: cron
    image: registry.gojek.io/fulfilment/driver-location:2.14.0
    schedule: \"30 2 * * *\"
    timeZone: Asia/Jakarta
";

/// `BASE` with the first occurrence of `from` replaced by `to`.
fn with(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "BASE has no `{from}`");
    BASE.replacen(from, to, 1)
}

/// 1-based line and column of the first occurrence of `needle`.
fn position_of(text: &str, needle: &str) -> (u32, u32) {
    let offset = text
        .find(needle)
        .unwrap_or_else(|| panic!("no `{needle}` in the text"));
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line as u32, column as u32)
}

fn at(d: &Diagnostic) -> (u32, u32) {
    let loc = d.location.as_ref().unwrap_or_else(|| panic!("no location: {d}"));
    (loc.line, loc.column)
}

/// All errors of loading and validating `text` (base manifest and each override).
fn errors(text: &str) -> Vec<Diagnostic> {
    let diags: Diagnostics = match load_app("app.yaml", text, &NoFiles) {
        Err(d) => d,
        Ok(loaded) => validate_all(&loaded, &["staging".to_string()]),
    };
    diags.errors().cloned().collect()
}

/// The single error of `text`; fails (printing all) when there is not exactly one.
fn single_error(text: &str) -> Diagnostic {
    let errs = errors(text);
    let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert_eq!(errs.len(), 1, "expected one error, got:\n{}", shown.join("\n"));
    errs.into_iter().next().expect("one")
}

#[test]
fn the_base_of_the_mistakes_is_valid() {
    assert_eq!(errors(BASE), Vec::<Diagnostic>::new());
}

#[test]
fn misspelt_field_points_at_the_key_with_did_you_mean() {
    let text = with("replicas: 3", "replicaz: 3");
    let d = single_error(&text);
    assert_eq!(at(&d), position_of(&text, "replicaz"), "{d}");
    assert_eq!(d.message, "unknown field `replicaz`");
    assert_eq!(d.hint.as_deref(), Some("did you mean `replicas`?"));
    assert_eq!(d.path.as_deref(), Some("processes.web.scaling.replicaz"));
}

#[test]
fn misspelt_field_in_an_environment_override_points_into_the_override() {
    let text = format!("{BASE}environments:\n  staging:\n    processes:\n      web:\n        imagee: x:1\n");
    let d = single_error(&text);
    assert_eq!(at(&d), position_of(&text, "imagee"), "{d}");
    assert_eq!(d.message, "unknown field `imagee`");
    assert_eq!(d.hint.as_deref(), Some("did you mean `image`?"));
}

#[test]
fn wrong_type_points_at_the_value() {
    let text = with("http: {port: 8080}", "http: {port: eighty}");
    let d = single_error(&text);
    assert_eq!(at(&d), position_of(&text, "eighty"), "{d}");
    assert_eq!(d.message, "expected a whole number, found `eighty`");
    assert_eq!(d.path.as_deref(), Some("processes.web.ports.http.port"));
}

#[test]
fn out_of_range_port_points_at_the_value() {
    let text = with("http: {port: 8080}", "http: {port: 80800}");
    let d = single_error(&text);
    assert_eq!(at(&d), position_of(&text, "80800"), "{d}");
    assert!(d.message.contains("out of range"), "{d}");
}

#[test]
fn wrong_enum_value_suggests_the_closest() {
    let text = with("kind: cron", "kind: corn");
    let d = single_error(&text);
    assert_eq!(at(&d), position_of(&text, "corn"), "{d}");
    assert_eq!(d.message, "`corn` is not allowed here");
    let hint = d.hint.as_deref().unwrap_or_default();
    assert!(hint.starts_with("did you mean `cron`?"), "{d}");
}

#[test]
fn route_to_an_unknown_port_names_the_ports() {
    let text = with("port: http", "port: htp");
    let d = single_error(&text);
    assert_eq!(at(&d), position_of(&text, "htp"), "{d}");
    assert_eq!(d.message, "no port named `htp`");
    assert_eq!(
        d.hint.as_deref(),
        Some("did you mean `http`? Ports: http, metrics")
    );
    assert_eq!(d.path.as_deref(), Some("processes.web.routes[0].port"));
}

#[test]
fn route_without_a_port_when_there_are_two() {
    let text = with("        port: http\n", "");
    let d = single_error(&text);
    // The route has no `port` key: the error points at the route itself.
    assert_eq!(
        at(&d),
        position_of(&text, "host: driver-location.gojek.io"),
        "{d}"
    );
    assert!(d.message.contains("`port` is required"), "{d}");
    assert_eq!(d.hint.as_deref(), Some("name one of: http, metrics"));
}

#[test]
fn bad_cron_schedule_names_the_field() {
    let text = with("\"30 2 * * *\"", "\"61 2 * * *\"");
    let d = single_error(&text);
    assert_eq!(at(&d), position_of(&text, "\"61 2"), "{d}");
    assert_eq!(d.message, "minute field `61`: `61` is not a value from 0 to 59");
    assert_eq!(d.path.as_deref(), Some("processes.report.schedule"));
}

#[test]
fn cron_with_six_fields_is_refused() {
    let text = with("\"30 2 * * *\"", "\"0 30 2 * * *\"");
    let d = single_error(&text);
    assert_eq!(at(&d), position_of(&text, "\"0 30 2"), "{d}");
    assert!(d.message.contains("5 fields"), "{d}");
}

#[test]
fn unknown_resource_in_interpolation_suggests_the_closest() {
    let text = with("${resources.db.url}", "${resources.dbb.url}");
    let d = single_error(&text);
    assert_eq!(at(&d), position_of(&text, "${resources.dbb.url}"), "{d}");
    assert_eq!(d.message, "`${resources.dbb.url}` refers to an unknown resource");
    assert_eq!(d.hint.as_deref(), Some("did you mean `db`?"));
    assert_eq!(d.path.as_deref(), Some("processes.web.env.DATABASE_URL"));
}

#[test]
fn unknown_resource_without_a_close_name_lists_the_resources() {
    let text = with("${resources.db.url}", "${resources.x.url}");
    let d = single_error(&text);
    assert_eq!(at(&d), position_of(&text, "${resources.x.url}"), "{d}");
    assert_eq!(d.message, "`${resources.x.url}` refers to an unknown resource");
    assert_eq!(d.hint.as_deref(), Some("resources: db"));
}

#[test]
fn unknown_output_lists_the_outputs() {
    let text = with("${resources.db.url}", "${resources.db.uri}");
    let d = single_error(&text);
    assert_eq!(at(&d), position_of(&text, "${resources.db.uri}"), "{d}");
    assert_eq!(d.message, "`uri` is not an output of postgres resource `db`");
    assert_eq!(
        d.hint.as_deref(),
        Some("did you mean `url`? postgres resources provide: url, host, port, database, username, password")
    );
}

#[test]
fn bad_time_zone_suggests_the_closest() {
    let text = with("timeZone: Asia/Jakarta", "timeZone: Asia/Jakrta");
    let d = single_error(&text);
    assert_eq!(at(&d), position_of(&text, "Asia/Jakrta"), "{d}");
    assert_eq!(d.message, "`Asia/Jakrta` is not an IANA time zone");
    assert_eq!(d.hint.as_deref(), Some("did you mean `Asia/Jakarta`?"));
}

#[test]
fn mistake_made_only_in_an_override_is_located_in_the_override() {
    let text = format!(
        "{BASE}environments:\n  staging:\n    processes:\n      report:\n        timeZone: Asia/Jakrta\n"
    );
    let d = single_error(&text);
    assert_eq!(at(&d), position_of(&text, "Asia/Jakrta"), "{d}");
    assert_eq!(d.hint.as_deref(), Some("did you mean `Asia/Jakarta`?"));
}

#[test]
fn best_effort_path_must_exist() {
    let text = format!("{BASE}bestEffort:\n  - processes.web.update.canary\n");
    let d = single_error(&text);
    assert_eq!(at(&d), position_of(&text, "processes.web.update.canary"), "{d}");
    assert_eq!(
        d.message,
        "`processes.web.update.canary` is not a field of this manifest"
    );
}

#[test]
fn platform_mistakes_are_located() {
    let path = examples_dir().join("platform.yaml");
    let text = read(&path)
        .replacen("version: \"1.37\"", "version: \"1.32\"", 1)
        .replacen("profile: onprem-kubeadm", "profile: onprem-kubeadmm", 1);
    let err = load_platform("platform.yaml", &text).expect_err("invalid");
    let errs: Vec<&Diagnostic> = err.errors().collect();
    assert_eq!(errs.len(), 2, "{err}");
    let version = errs
        .iter()
        .find(|d| d.message.contains("1.32"))
        .expect("version error");
    assert_eq!(at(version), position_of(&text, "\"1.32\""), "{version}");
    assert_eq!(version.message, "Kubernetes 1.32 is not supported");
    assert_eq!(
        version.hint.as_deref(),
        Some("supported: 1.33, 1.34, 1.35, 1.36, 1.37")
    );
    let profile = errs
        .iter()
        .find(|d| d.message.contains("profile"))
        .expect("profile error");
    assert_eq!(at(profile), position_of(&text, "onprem-kubeadmm"), "{profile}");
    assert_eq!(profile.message, "no profile named `onprem-kubeadmm`");
    assert_eq!(profile.hint.as_deref(), Some("did you mean `onprem-kubeadm`?"));
}

// ---------------------------------------------------------------------------------------------
// Regressions: optional enums; `null` removing map entries in overrides; block mappings
// located at their first key (flow mappings at their `{`).
// ---------------------------------------------------------------------------------------------

#[test]
fn optional_enum_values_are_accepted() {
    let text = format!(
        "{BASE}    concurrency: forbid\n{}",
        "    placement:\n      tolerations:\n        - {key: dedicated, effect: NoSchedule}\n"
    )
    .replacen(
        "    type: postgres\n",
        "    type: postgres\n  pings:\n    type: kafka-topic\n    access: produce\n",
        1,
    );
    assert_eq!(errors(&text), Vec::<Diagnostic>::new());
    let text = with(
        "timeZone: Asia/Jakarta",
        "timeZone: Asia/Jakarta\n    concurrency: forbd",
    );
    let d = single_error(&text);
    assert_eq!(at(&d), position_of(&text, "forbd"), "{d}");
    assert_eq!(d.message, "`forbd` is not allowed here");
    assert!(
        d.hint
            .as_deref()
            .unwrap_or_default()
            .starts_with("did you mean `forbid`?"),
        "{d}"
    );
}

#[test]
fn null_removes_map_entries_in_overrides() {
    let text = format!(
        "{BASE}environments:\n  staging:\n    processes:\n      report: null\n      web:\n        env:\n          DATABASE_URL: null\n"
    );
    let loaded = load_app("app.yaml", &text, &NoFiles).unwrap_or_else(|d| panic!("{d}"));
    let staging = resolve(&loaded, "staging").unwrap_or_else(|d| panic!("{d}"));
    assert!(!staging.app.processes.contains_key("report"));
    assert!(staging.app.processes["web"].env.is_empty());
}

#[test]
fn mapping_locations_point_at_the_first_key() {
    // (A block mapping inside a list: `route_without_a_port_when_there_are_two`.)
    let text = with(
        "    scaling:\n      replicas: 3\n",
        "    scaling:\n      autoscale: {min: 1, max: 3}\n",
    );
    let d = single_error(&text);
    assert_eq!(d.message, "autoscale needs a signal");
    assert_eq!(at(&d), position_of(&text, "{min: 1"), "{d}");
    let text = with(
        "    scaling:\n      replicas: 3\n",
        "    scaling:\n      autoscale:\n        min: 1\n        max: 3\n",
    );
    let d = single_error(&text);
    assert_eq!(at(&d), position_of(&text, "min: 1"), "{d}");
}
