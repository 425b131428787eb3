//! File-system edges: reading manifests and referenced files, finding the platform file,
//! writing output atomically.

use std::fs;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};
use ojek_core::spec::FileReader;
use ojek_core::spec::load::MAX_FILE_BYTES;

/// Reads a text file, refusing very large or non-UTF-8 files with a clear message.
pub fn read_text(path: &Path) -> Result<String> {
    let meta = fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.len() > MAX_FILE_BYTES as u64 {
        bail!(
            "{} is larger than {} MiB",
            path.display(),
            MAX_FILE_BYTES / 1024 / 1024
        );
    }
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        anyhow::anyhow!(
            "{}: not UTF-8 text (invalid byte at offset {offset})",
            path.display()
        )
    })
}

/// Reads `fromFile` paths relative to the manifest's directory. Absolute paths and paths that
/// climb out of that directory are refused: a manifest only ships the files beside it.
pub struct FsReader;

impl FileReader for FsReader {
    fn read(&self, manifest: &str, relative: &str) -> Result<String, String> {
        let rel = Path::new(relative);
        if rel.is_absolute() || rel.components().any(|c| matches!(c, Component::ParentDir)) {
            return Err("only paths inside the manifest's directory are allowed".into());
        }
        let dir = Path::new(manifest).parent().unwrap_or(Path::new("."));
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        // Symbolic links must not lead out of the manifest's directory either.
        let base = fs::canonicalize(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let target = fs::canonicalize(dir.join(rel)).map_err(|e| format!("cannot read {relative}: {e}"))?;
        if !target.starts_with(&base) {
            return Err("the file is outside the manifest's directory (through a symbolic link)".into());
        }
        read_text(&target).map_err(|e| format!("{e:#}"))
    }
}

/// The platform file: `explicit`, else `platform.yaml` in the manifest's directory or above.
pub fn find_platform(explicit: Option<&Path>, manifest: &Path) -> Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    let start = manifest.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut dir = if start.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        start
    };
    loop {
        let candidate = dir.join("platform.yaml");
        if candidate.is_file() {
            return Ok(candidate);
        }
        let abs = fs::canonicalize(&dir).unwrap_or(dir.clone());
        match abs.parent() {
            Some(parent) => dir = parent.to_path_buf(),
            None => bail!(
                "no platform file: none given with --platform and no platform.yaml beside {} or above it",
                manifest.display()
            ),
        }
    }
}

/// Writes `files` under `dir`, each through a temporary file and a rename, so a reader never
/// sees half a file. Callers render everything first: nothing is written when rendering fails.
pub fn write_all(dir: &Path, files: &std::collections::BTreeMap<String, String>) -> Result<()> {
    for (rel, content) in files {
        let relative = Path::new(rel);
        if relative.is_absolute() || relative.components().any(|c| !matches!(c, Component::Normal(_))) {
            bail!(
                "refusing to write {rel}: output files stay inside {}",
                dir.display()
            );
        }
        let path = dir.join(relative);
        let parent = path.parent().unwrap_or(dir);
        fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        let tmp = parent.join(format!(
            ".{}.tmp",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("out")
        ));
        let mut f = fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(content.as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}
