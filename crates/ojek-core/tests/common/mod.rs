//! Test helpers: the workspace root, the examples, and a file reader for `fromFile`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use ojek_core::spec::FileReader;
use ojek_core::spec::load::{LoadedApp, LoadedPlatform, document_kind, load_app, load_platform};

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

/// Every example app, as (stem, loaded), sorted by file name. Names are relative to the root
/// so that locations in golden files do not depend on where the checkout lives.
pub fn examples() -> Vec<(String, LoadedApp)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join("examples"))
        .expect("examples/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).expect("read example");
        if document_kind(&text).as_deref() != Some("App") {
            continue;
        }
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("stem")
            .to_string();
        let name = format!("examples/{stem}.yaml");
        let loaded = load_app(&name, &text, &RootReader).unwrap_or_else(|d| panic!("{name}:\n{d}"));
        out.push((stem, loaded));
    }
    out
}
