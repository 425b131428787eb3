//! Every example renders for every Kubernetes environment of the example platform, and every
//! rendered document passes the official schemas of Kubernetes 1.33 and 1.37
//! (`tools/validate/kube.py`, kubernetes-validate in strict mode; CRDs against their published
//! schemas).

use std::path::{Path, PathBuf};
use std::process::Command;

use ojek_output::Sources;
use ojek_output::yaml::to_yaml_stream;
use ojek_spec::FileReader;
use ojek_spec::load::{document_kind, load_app, load_platform, resolve};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Dir;

impl FileReader for Dir {
    fn read(&self, manifest: &str, relative: &str) -> Result<String, String> {
        let dir = Path::new(manifest).parent().unwrap_or(Path::new("."));
        std::fs::read_to_string(dir.join(relative)).map_err(|e| e.to_string())
    }
}

#[test]
fn examples_render_and_pass_official_schemas() {
    let examples = root().join("examples");
    let platform_text = std::fs::read_to_string(examples.join("platform.yaml")).expect("platform");
    let platform = load_platform("examples/platform.yaml", &platform_text).expect("platform loads");
    let out = tempfile::tempdir().expect("tempdir");
    let _dump = std::env::var("OJEK_DUMP")
        .ok()
        .map(|d| std::fs::create_dir_all(&d));
    let mut rendered = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&examples)
        .expect("examples")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
    {
        let text = std::fs::read_to_string(path).expect("read");
        if document_kind(&text).as_deref() != Some("App") {
            continue;
        }
        let name = path.to_string_lossy().to_string();
        let loaded = load_app(&name, &text, &Dir).unwrap_or_else(|d| panic!("{name}:\n{d}"));
        for (env, e) in &platform.platform.environments {
            if e.kubernetes.is_none() {
                continue;
            }
            let resolved = resolve(&loaded, env).unwrap_or_else(|d| panic!("{name} {env}:\n{d}"));
            let src = Sources {
                app: &resolved,
                platform: &platform,
            };
            for version in ["1.33", "1.37"] {
                let r = ojek_kubernetes::render(&src, Some(version))
                    .unwrap_or_else(|d| panic!("{name} {env}:\n{d}"));
                assert!(!r.objects.is_empty());
                for doc in &r.objects {
                    for (pointer, _) in doc.leaves() {
                        assert!(
                            doc.origin(&pointer).is_some(),
                            "{} {pointer} has no origin",
                            doc.id()
                        );
                    }
                }
                let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("x");
                let file = out.path().join(format!("{stem}-{env}-{version}.yaml"));
                std::fs::write(&file, to_yaml_stream(r.objects.iter().map(|d| &d.value))).expect("write");
                if let Ok(d) = std::env::var("OJEK_DUMP") {
                    std::fs::copy(&file, Path::new(&d).join(file.file_name().expect("name"))).expect("dump");
                }
                rendered += 1;
            }
        }
    }
    // The manifest that sets every field (see ojek-core's coverage test), with the one field
    // Kubernetes cannot express dropped.
    let everything = root().join("crates/ojek-core/tests/data/everything.yaml");
    let text = std::fs::read_to_string(&everything)
        .expect("everything.yaml")
        .replace("bestEffort: []", "bestEffort: [processes.web.update.canary]");
    let loaded = load_app(&everything.to_string_lossy(), &text, &Dir).unwrap_or_else(|d| panic!("{d}"));
    let resolved = resolve(&loaded, "staging").unwrap_or_else(|d| panic!("{d}"));
    let src = Sources {
        app: &resolved,
        platform: &platform,
    };
    for version in ["1.33", "1.37"] {
        let r = ojek_kubernetes::render(&src, Some(version)).unwrap_or_else(|d| panic!("everything:\n{d}"));
        assert!(
            r.objects
                .iter()
                .any(|d| d.id() == "Service/everything-worker-headless"),
            "headless Service for the worker StatefulSet"
        );
        let file = out.path().join(format!("everything-{version}.yaml"));
        std::fs::write(&file, to_yaml_stream(r.objects.iter().map(|d| &d.value))).expect("write");
    }
    assert!(rendered >= 10, "rendered only {rendered} outputs");
    let status = Command::new("python3")
        .arg(root().join("tools/validate/kube.py"))
        .args(["--versions", "1.33,1.37"])
        .arg(out.path())
        .status()
        .expect("python3 runs (install with scripts/install-test-deps.sh)");
    assert!(status.success(), "kube.py rejected rendered output (see above)");
}
