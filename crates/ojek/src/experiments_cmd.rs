//! `ojek experiments`: the Experiment custom resource's definition, and experiments rendered
//! to manifests for teams that deploy through GitOps.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use ojek_core::spec::load::{load_app, load_platform};

use crate::emit;
use crate::files::{FsReader, find_platform, read_text};

/// `ojek experiments …`.
#[derive(clap::Subcommand)]
pub enum ExperimentsCommand {
    /// Print the Experiment CustomResourceDefinition (apply it once per cluster).
    Crd,
    /// Render an Experiment to the objects it wants: a namespace shard per variant with the
    /// app rendered with that variant's overrides, and the route that splits traffic (every
    /// variant taken as ready). Problems are reported at the Experiment's lines.
    Render {
        /// The Experiment (`kind: Experiment`).
        file: PathBuf,
        /// The app manifest the experiment is on.
        #[arg(long)]
        manifest: PathBuf,
        /// Platform file; found as platform.yaml beside the manifest or above it when unset.
        #[arg(long)]
        platform: Option<PathBuf>,
        /// Output as a JSON list instead of a YAML stream.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a subcommand.
pub fn run(command: &ExperimentsCommand) -> Result<ExitCode> {
    match command {
        ExperimentsCommand::Crd => {
            emit(&ojek_experiments::crd::crd_yaml());
            Ok(ExitCode::SUCCESS)
        }
        ExperimentsCommand::Render {
            file,
            manifest,
            platform,
            json,
        } => render(file, manifest, platform.as_deref(), *json),
    }
}

fn render(file: &Path, manifest: &Path, platform: Option<&Path>, json: bool) -> Result<ExitCode> {
    let text = read_text(file)?;
    let loaded = match ojek_experiments::file::load_experiment(&file.display().to_string(), &text) {
        Ok(l) => l,
        Err(d) => {
            eprint!("{d}");
            return Ok(ExitCode::from(1));
        }
    };
    let platform_path = find_platform(platform, manifest)?;
    let platform = match load_platform(&platform_path.display().to_string(), &read_text(&platform_path)?) {
        Ok(p) => p,
        Err(d) => {
            eprint!("{d}");
            return Ok(ExitCode::from(1));
        }
    };
    let app = match load_app(&manifest.display().to_string(), &read_text(manifest)?, &FsReader) {
        Ok(a) => a,
        Err(d) => {
            eprint!("{d}");
            return Ok(ExitCode::from(1));
        }
    };
    match ojek_experiments::file::render(&loaded, &app, &platform) {
        Ok(d) if json => {
            emit(&format!("{:#}\n", ojek_experiments::file::to_json(&d)));
            Ok(ExitCode::SUCCESS)
        }
        Ok(d) => {
            emit(&ojek_experiments::file::to_yaml(&loaded, &d));
            Ok(ExitCode::SUCCESS)
        }
        Err(d) => {
            eprint!("{d}");
            Ok(ExitCode::from(1))
        }
    }
}
