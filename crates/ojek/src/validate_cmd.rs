//! `ojek validate`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use ojek_core::spec::diagnostic::Diagnostics;
use ojek_core::spec::load::{LoadedPlatform, document_kind, load_app, load_platform, validate_all};

use crate::files::{FsReader, find_platform, read_text};

fn load_platform_file(path: &Path) -> Result<Result<LoadedPlatform, Diagnostics>> {
    let text = read_text(path)?;
    Ok(load_platform(&path.display().to_string(), &text))
}

/// Validates every file; platform files (kind: Platform) are checked as such, app manifests
/// against the platform (every environment and target it defines).
pub fn run(files: &[std::path::PathBuf], platform: Option<&Path>, json: bool) -> Result<ExitCode> {
    let mut all = Diagnostics::default();
    let mut notes = Vec::new();
    let mut platform_cache: Option<(std::path::PathBuf, Option<LoadedPlatform>)> = None;
    for file in files {
        let name = file.display().to_string();
        let text = match read_text(file) {
            Ok(t) => t,
            Err(e) => {
                all.push(ojek_core::spec::Diagnostic::error(None, format!("{e:#}")));
                continue;
            }
        };
        if document_kind(&text).as_deref() == Some("Platform") {
            if let Err(d) = load_platform(&name, &text) {
                all.0.extend(d.0);
            }
            continue;
        }
        let loaded = match load_app(&name, &text, &FsReader) {
            Ok(l) => l,
            Err(d) => {
                all.0.extend(d.0);
                continue;
            }
        };
        let platform_path = match find_platform(platform, file) {
            Ok(p) => Some(p),
            Err(e) => {
                notes.push(format!("{name}: {e:#}; checked the manifest alone"));
                None
            }
        };
        let Some(platform_path) = platform_path else {
            all.0.extend(validate_all(&loaded, &[]).0);
            continue;
        };
        if platform_cache.as_ref().is_none_or(|(p, _)| *p != platform_path) {
            let loaded_platform = match load_platform_file(&platform_path)? {
                Ok(p) => Some(p),
                Err(d) => {
                    all.0.extend(d.0);
                    None
                }
            };
            platform_cache = Some((platform_path.clone(), loaded_platform));
        }
        match platform_cache.as_ref().and_then(|(_, p)| p.as_ref()) {
            Some(p) => all.0.extend(ojek_core::validate_project(&loaded, p).0),
            None => all.0.extend(validate_all(&loaded, &[]).0),
        }
    }
    all.sort();
    let errors = all.errors().count();
    let warnings = all.0.len() - errors;
    if json {
        crate::emit(&format!("{}\n", serde_json::to_string_pretty(&all)?));
    } else {
        for n in &notes {
            eprintln!("note: {n}");
        }
        crate::emit(&all.to_string());
        let summary = format!(
            "{} file(s): {errors} error(s), {warnings} warning(s)",
            files.len()
        );
        if errors > 0 {
            eprintln!("{summary}")
        } else {
            crate::emit(&format!("{summary}\n"))
        }
    }
    Ok(if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
