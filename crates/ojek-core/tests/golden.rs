//! Golden files: every example × environment × target × format, checked in under
//! `tests/golden/` at the workspace root and compared byte for byte. After an intended change,
//! regenerate with `OJEK_BLESS=1 cargo test -p ojek-core --test golden` and review the diff.
//!
//! The Nomad JSON goldens are also checked against the Nomad API's `Job` schema, and the
//! Kubernetes YAML goldens against Kubernetes' official schemas for the environment's version.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use ojek_core::spec::platform::TargetKind;
use ojek_core::{Format, NomadFormat, RenderOptions, package, render};

fn golden_dir() -> PathBuf {
    common::root().join("tests/golden")
}

/// Every file the examples render to, by path below `tests/golden/`.
fn expected_files() -> BTreeMap<String, String> {
    let platform = common::platform();
    let mut all = BTreeMap::new();
    for (stem, loaded) in common::examples() {
        for (env, e) in &platform.platform.environments {
            let targets = [
                (TargetKind::Kubernetes, e.kubernetes.is_some()),
                (TargetKind::Nomad, e.nomad.is_some()),
            ];
            for (target, present) in targets {
                if !present {
                    continue;
                }
                let opts = RenderOptions {
                    env: env.clone(),
                    target: Some(target),
                    kube_version: None,
                };
                let rendered = render(&loaded, &platform, &opts)
                    .unwrap_or_else(|d| panic!("{stem} {env} {}:\n{d}", target.as_str()));
                let base = format!("{stem}/{env}/{}", target.as_str());
                if !rendered.warnings.0.is_empty() {
                    all.insert(format!("{base}/warnings.txt"), rendered.warnings.to_string());
                }
                let formats: Vec<(&str, Format, NomadFormat)> = match target {
                    TargetKind::Kubernetes => vec![
                        ("yaml", Format::Yaml, NomadFormat::Hcl),
                        ("json", Format::Json, NomadFormat::Hcl),
                        ("kustomize", Format::Kustomize, NomadFormat::Hcl),
                        ("helm", Format::Helm, NomadFormat::Hcl),
                    ],
                    TargetKind::Nomad => vec![
                        ("hcl", Format::Yaml, NomadFormat::Hcl),
                        ("json", Format::Yaml, NomadFormat::Json),
                    ],
                };
                for (fname, format, nomad_format) in formats {
                    let files = package(&rendered, &loaded.app.metadata.name, format, nomad_format)
                        .unwrap_or_else(|e| panic!("{base} {fname}: {e}"));
                    for (path, content) in files {
                        all.insert(format!("{base}/{fname}/{path}"), content);
                    }
                }
            }
        }
    }
    all
}

fn files_on_disk(dir: &Path) -> BTreeSet<String> {
    fn walk(dir: &Path, base: &Path, out: &mut BTreeSet<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, base, out);
            } else if let Ok(rel) = p.strip_prefix(base) {
                out.insert(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn rendered_examples_match_golden_files() {
    let expected = expected_files();
    let dir = golden_dir();
    if std::env::var_os("OJEK_BLESS").is_some() {
        let _ = std::fs::remove_dir_all(&dir);
        for (path, content) in &expected {
            let p = dir.join(path);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, content).expect("write golden");
        }
    }
    let on_disk = files_on_disk(&dir);
    let want: BTreeSet<String> = expected.keys().cloned().collect();
    let missing: Vec<_> = want.difference(&on_disk).collect();
    let extra: Vec<_> = on_disk.difference(&want).collect();
    assert!(
        missing.is_empty(),
        "golden files missing (run with OJEK_BLESS=1): {missing:?}"
    );
    assert!(extra.is_empty(), "stale golden files: {extra:?}");
    let mut differ = Vec::new();
    for (path, content) in &expected {
        let actual = std::fs::read_to_string(dir.join(path)).expect("read golden");
        if &actual != content {
            differ.push(path.clone());
        }
    }
    assert!(
        differ.is_empty(),
        "rendered output differs from golden files (review, then OJEK_BLESS=1): {differ:?}"
    );
    assert!(
        expected.len() > 50,
        "suspiciously few golden files: {}",
        expected.len()
    );
}

#[test]
fn golden_nomad_jobs_match_the_nomad_api_schema() {
    let dir = golden_dir();
    let files: Vec<PathBuf> = files_on_disk(&dir)
        .into_iter()
        .filter(|p| p.contains("/nomad/json/"))
        .map(|p| dir.join(p))
        .collect();
    assert!(!files.is_empty(), "no Nomad JSON goldens");
    let status = Command::new("python3")
        .arg(common::root().join("tools/validate/nomad.py"))
        .args(&files)
        .status()
        .expect("python3 runs (install with scripts/install-test-deps.sh)");
    assert!(
        status.success(),
        "nomad.py rejected golden Nomad jobs (see above)"
    );
}

#[test]
fn golden_kubernetes_yaml_matches_official_schemas() {
    let dir = golden_dir();
    let files: Vec<PathBuf> = files_on_disk(&dir)
        .into_iter()
        .filter(|p| p.contains("/kubernetes/yaml/"))
        .map(|p| dir.join(p))
        .collect();
    assert!(!files.is_empty(), "no Kubernetes YAML goldens");
    let status = Command::new("python3")
        .arg(common::root().join("tools/validate/kube.py"))
        .args(["--versions", "1.33,1.37"])
        .args(&files)
        .status()
        .expect("python3 runs (install with scripts/install-test-deps.sh)");
    assert!(
        status.success(),
        "kube.py rejected golden Kubernetes output (see above)"
    );
}
