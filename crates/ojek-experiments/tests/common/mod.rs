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
