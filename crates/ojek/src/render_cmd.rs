//! `ojek render` and `ojek explain`, and the rendering step `ojek plan` and `ojek apply` share.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use ojek_core::spec::load::{LoadedPlatform, load_app, load_platform};
use ojek_core::spec::platform::TargetKind;
use ojek_core::{AppliedField, Format, NomadFormat, RenderOptions, Rendered};

use crate::files::{FsReader, find_platform, read_text, write_all};
use crate::{KubeFormat, NomadFormatArg, TargetArg, TargetArgs};

/// An app rendered for one environment, with the platform file it was rendered against.
pub(crate) struct RenderedApp {
    /// What the renderer produced.
    pub rendered: Rendered,
    /// The app's `metadata.name`.
    pub app: String,
    /// The platform file, loaded.
    pub platform: LoadedPlatform,
    /// Where the platform file is (paths in it are relative to its directory).
    pub platform_path: PathBuf,
    /// The manifest fields ojek applies itself instead of rendering (`logs`).
    pub applied: Vec<AppliedField>,
}

/// Loads the platform file and the manifest and renders the app for `args.env`; on invalid
/// input prints the diagnostics and returns exit code 1. Warnings go to standard error.
/// `ojek render`, `explain`, `plan` and `apply` all start here.
pub(crate) fn render_app(file: &Path, args: &TargetArgs) -> Result<Result<RenderedApp, ExitCode>> {
    let name = file.display().to_string();
    let text = read_text(file)?;
    let platform_path = find_platform(args.platform.as_deref(), file)?;
    let platform_text = read_text(&platform_path)?;
    let platform = match load_platform(&platform_path.display().to_string(), &platform_text) {
        Ok(p) => p,
        Err(d) => {
            eprint!("{d}");
            return Ok(Err(ExitCode::from(1)));
        }
    };
    let loaded = match load_app(&name, &text, &FsReader) {
        Ok(l) => l,
        Err(d) => {
            eprint!("{d}");
            return Ok(Err(ExitCode::from(1)));
        }
    };
    let opts = RenderOptions {
        env: args.env.clone(),
        target: args.target.map(|t| match t {
            TargetArg::Kubernetes => TargetKind::Kubernetes,
            TargetArg::Nomad => TargetKind::Nomad,
        }),
        kube_version: args.kube_version.clone(),
    };
    match ojek_core::render(&loaded, &platform, &opts) {
        Ok(rendered) => {
            eprint!("{}", rendered.warnings);
            Ok(Ok(RenderedApp {
                rendered,
                app: loaded.app.metadata.name.clone(),
                platform,
                platform_path,
                applied: ojek_core::applied_by_ojek(&loaded),
            }))
        }
        Err(d) => {
            eprint!("{d}");
            Ok(Err(ExitCode::from(1)))
        }
    }
}

/// `ojek render`.
pub fn render(
    file: &Path,
    args: &TargetArgs,
    format: KubeFormat,
    nomad_format: NomadFormatArg,
    output: Option<&Path>,
) -> Result<ExitCode> {
    let RenderedApp { rendered, app, .. } = match render_app(file, args)? {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    let format = match format {
        KubeFormat::Yaml => Format::Yaml,
        KubeFormat::Json => Format::Json,
        KubeFormat::Kustomize => Format::Kustomize,
        KubeFormat::Helm => Format::Helm,
    };
    let nomad_format = match nomad_format {
        NomadFormatArg::Hcl => NomadFormat::Hcl,
        NomadFormatArg::Json => NomadFormat::Json,
    };
    let files = ojek_core::package(&rendered, &app, format, nomad_format).map_err(anyhow::Error::msg)?;
    match output {
        Some(dir) => {
            write_all(dir, &files)?;
            for name in files.keys() {
                eprintln!("wrote {}", dir.join(name).display());
            }
        }
        None => {
            let many = files.len() > 1;
            for (name, content) in &files {
                if many {
                    crate::emit(&format!("# --- {name}\n"));
                }
                crate::emit(content);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `ojek explain`.
pub fn explain(
    file: &Path,
    args: &TargetArgs,
    object: Option<&str>,
    field: Option<&str>,
    json: bool,
) -> Result<ExitCode> {
    let RenderedApp {
        rendered, applied, ..
    } = match render_app(file, args)? {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    // `ojek explain app.yaml logs` (or `logs.level`): fields ojek applies itself.
    let applied_match =
        |f: &AppliedField, sel: &str| f.field == sel || f.field.starts_with(&format!("{sel}."));
    if let Some(sel) = object
        && field.is_none()
        && !json
        && applied.iter().any(|f| applied_match(f, sel))
    {
        let chosen: Vec<&AppliedField> = applied.iter().filter(|f| applied_match(f, sel)).collect();
        crate::emit(&applied_text(&chosen));
        return Ok(ExitCode::SUCCESS);
    }
    let entries = match ojek_core::explain(&rendered, object, field) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    if json {
        crate::emit(&format!("{}\n", serde_json::to_string_pretty(&entries)?));
        return Ok(ExitCode::SUCCESS);
    }
    let mut current = String::new();
    let mut text = String::new();
    for e in &entries {
        if e.object != current {
            text.push_str(&e.object);
            text.push('\n');
            current = e.object.clone();
        }
        let value = match &e.value {
            serde_json::Value::String(s) if s.contains('\n') => format!(
                "\"{}…\" ({} lines)",
                s.lines().next().unwrap_or(""),
                s.lines().count()
            ),
            v => v.to_string(),
        };
        text.push_str(&format!("  {} = {}\n      <- {}\n", e.field, value, e.origin));
    }
    if object.is_none() && field.is_none() && !applied.is_empty() {
        text.push_str(&applied_text(&applied.iter().collect::<Vec<_>>()));
    }
    crate::emit(&text);
    Ok(ExitCode::SUCCESS)
}

/// The fields ojek applies itself, in the form of `explain`'s other entries.
fn applied_text(applied: &[&AppliedField]) -> String {
    let mut text =
        String::from("Applied by ojek, not rendered (the same for every target and environment)\n");
    for f in applied {
        text.push_str(&format!(
            "  {} = {}\n      <- manifest ({}): applied by {}\n",
            f.field, f.value, f.location, f.applied_by
        ));
    }
    text
}
