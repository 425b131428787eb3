//! Test helpers: the workspace root, the example platform and apps, and Experiments.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use ojek_experiments::file::{LoadedExperiment, load_experiment};
use ojek_spec::FileReader;
use ojek_spec::load::{LoadedApp, LoadedPlatform, load_app, load_platform};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Reads `fromFile` paths relative to the manifest (given relative to the workspace root).
pub struct RootReader;

impl FileReader for RootReader {
    fn read(&self, manifest: &str, relative: &str) -> Result<String, String> {
        let dir = Path::new(manifest).parent().unwrap_or(Path::new("."));
        std::fs::read_to_string(root().join(dir).join(relative)).map_err(|e| e.to_string())
    }
}

/// The example platform.
pub fn platform() -> LoadedPlatform {
    let text =
        std::fs::read_to_string(root().join("examples/platform.yaml")).expect("examples/platform.yaml");
    load_platform("examples/platform.yaml", &text).unwrap_or_else(|d| panic!("{d}"))
}

/// The example app `name` (examples/<name>.yaml).
pub fn app(name: &str) -> LoadedApp {
    let rel = format!("examples/{name}.yaml");
    let text = std::fs::read_to_string(root().join(&rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    load_app(&rel, &text, &RootReader).unwrap_or_else(|d| panic!("{d}"))
}

/// The example Experiments, as (stem, loaded), sorted by file name.
pub fn experiments() -> Vec<(String, LoadedExperiment)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join("examples/experiments"))
        .expect("examples/experiments/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let stem = p
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            let rel = format!("examples/experiments/{stem}.yaml");
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{rel}: {e}"));
            let loaded = load_experiment(&rel, &text).unwrap_or_else(|d| panic!("{d}"));
            (stem, loaded)
        })
        .collect()
}

/// An Experiment from text (file name `test.yaml`).
pub fn experiment(text: &str) -> LoadedExperiment {
    load_experiment("test.yaml", text).unwrap_or_else(|d| panic!("{d}"))
}

/// Every file below `dir`, as relative paths, sorted.
pub fn on_disk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(rel) = p.strip_prefix(dir) {
                out.push(rel.display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// Compares `expected` (relative path → content) with the files in `dir`, after writing them
/// there when `OJEK_BLESS` is set; panics listing what differs, is missing or is left over.
pub fn check_goldens(dir: &Path, expected: &std::collections::BTreeMap<String, String>) {
    if std::env::var_os("OJEK_BLESS").is_some() {
        let _ = std::fs::remove_dir_all(dir);
        for (path, content) in expected {
            let p = dir.join(path);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, content).expect("write golden");
        }
    }
    let mut problems = Vec::new();
    for (path, content) in expected {
        match std::fs::read_to_string(dir.join(path)) {
            Ok(old) if &old == content => {}
            Ok(_) => problems.push(format!("{path}: differs")),
            Err(_) => problems.push(format!("{path}: missing")),
        }
    }
    for path in on_disk(dir) {
        if !expected.contains_key(&path) {
            problems.push(format!("{path}: no longer rendered"));
        }
    }
    assert!(
        problems.is_empty(),
        "goldens out of date (OJEK_BLESS=1 to regenerate, then review):\n{}",
        problems.join("\n")
    );
}
