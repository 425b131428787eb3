//! `ojek`: the one binary. Reads files, calls the pure pipeline in `ojek-core`, writes output.

mod client_cmd;
mod client_deploy;
mod deploy_cmd;
mod experiments_cmd;
mod files;
mod ingest_cmd;
mod logs_cmd;
mod render_cmd;
mod up_cmd;
mod validate_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Rendering builds many small JSON trees; mimalloc makes it about a third faster than the
/// system allocator (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// ojek: describe a service once; render it for Kubernetes and Nomad; see where every field came from.
#[derive(Parser)]
#[command(name = "ojek", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check app manifests and platform files; print every problem with file:line:column.
    Validate {
        /// App manifests and platform files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Platform file; found as platform.yaml beside the first manifest or above it when unset.
        #[arg(long)]
        platform: Option<PathBuf>,
        /// Output as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Render an app for an environment.
    Render {
        /// The app manifest.
        file: PathBuf,
        #[command(flatten)]
        target: TargetArgs,
        /// Kubernetes output format.
        #[arg(long, value_enum, default_value_t = KubeFormat::Yaml)]
        format: KubeFormat,
        /// Nomad output format.
        #[arg(long, value_enum, default_value_t = NomadFormatArg::Hcl)]
        nomad_format: NomadFormatArg,
        /// Write files into this directory instead of printing.
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
    },
    /// Show where generated fields came from: manifest line, environment override, platform, default or patch.
    Explain {
        /// The app manifest.
        file: PathBuf,
        /// Object to explain: Kind/name or name. All objects when unset.
        object: Option<String>,
        /// Field or subtree: `spec.replicas`, `spec.template.spec.containers[0].image` or a JSON pointer.
        field: Option<String>,
        #[command(flatten)]
        target: TargetArgs,
        /// Output as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show what `ojek apply` would change in the environment's cluster (from the platform
    /// file), object by object and field by field. Changes nothing.
    Plan(deploy_cmd::DeployArgs),
    /// Deploy an app to the environment's cluster (from the platform file) and wait for the
    /// rollout. Exit 1 on a conflict or failed rollout, 2 when the cluster cannot be reached.
    Apply {
        #[command(flatten)]
        args: deploy_cmd::DeployArgs,
        #[command(flatten)]
        flags: deploy_cmd::ApplyFlags,
    },
    /// Go back to an earlier revision of an app stored on an ojek server (default: the one the
    /// environment ran before): Kubernetes re-applies it, Nomad reverts each job to the version
    /// deployed from it. The same as `ojek apps rollback`.
    Rollback {
        #[command(flatten)]
        server: client_cmd::ServerArgs,
        #[command(flatten)]
        args: client_deploy::RollbackArgs,
    },
    /// Serve the web UI and JSON API (embedded SQLite by default; --database for PostgreSQL).
    Up(up_cmd::UpArgs),
    /// Run a log node alone: ingest (Barito, Elasticsearch bulk, OTLP), log storage, retention
    /// and archive, read by control planes started with `ojek up --logs-node` (OJEK_NODE_TOKEN
    /// required on both).
    Ingest(ingest_cmd::IngestArgs),
    /// Work with apps stored on an ojek server: list, show, push, history, diff, render, plan,
    /// deploy, rollback, deployments, status.
    Apps {
        #[command(flatten)]
        server: client_cmd::ServerArgs,
        #[command(subcommand)]
        command: client_cmd::AppsCommand,
    },
    /// Read the logs an ojek server keeps: search, tail, histogram, top.
    Logs(logs_cmd::LogsArgs),
    /// A/B experiments (the Experiment custom resource): print its definition, render an
    /// experiment to manifests.
    Experiments {
        #[command(subcommand)]
        command: experiments_cmd::ExperimentsCommand,
    },
    /// Print the JSON Schema of the app manifest (or the platform file), for editor completion.
    Schema {
        /// Which schema.
        #[arg(value_enum, default_value_t = SchemaKind::App)]
        kind: SchemaKind,
    },
}

#[derive(clap::Args)]
struct TargetArgs {
    /// Environment, as named in the platform file.
    #[arg(long)]
    env: String,
    /// Target; the environment's default when unset.
    #[arg(long, value_enum)]
    target: Option<TargetArg>,
    /// Kubernetes version, 1.33 to 1.37; the environment's when unset.
    #[arg(long)]
    kube_version: Option<String>,
    /// Platform file; found as platform.yaml beside the manifest or above it when unset.
    #[arg(long)]
    platform: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum TargetArg {
    Kubernetes,
    Nomad,
}

#[derive(Clone, Copy, ValueEnum)]
enum KubeFormat {
    Yaml,
    Json,
    Kustomize,
    Helm,
}

#[derive(Clone, Copy, ValueEnum)]
enum NomadFormatArg {
    Hcl,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum SchemaKind {
    App,
    Platform,
}

/// Writes to standard output. A closed pipe (`ojek render … | head`) ends the program quietly
/// instead of panicking; another write error is reported.
pub(crate) fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write the output: {e}");
        std::process::exit(2);
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate {
            files,
            platform,
            json,
        } => validate_cmd::run(&files, platform.as_deref(), json),
        Command::Render {
            file,
            target,
            format,
            nomad_format,
            output,
        } => render_cmd::render(&file, &target, format, nomad_format, output.as_deref()),
        Command::Explain {
            file,
            object,
            field,
            target,
            json,
        } => render_cmd::explain(&file, &target, object.as_deref(), field.as_deref(), json),
        Command::Plan(args) => deploy_cmd::plan(&args),
        Command::Apply { args, flags } => deploy_cmd::apply(&args, &flags),
        Command::Rollback { server, args } => {
            client_cmd::run(&server, client_cmd::AppsCommand::Rollback(args))
        }
        Command::Up(args) => up_cmd::run(args),
        Command::Ingest(args) => ingest_cmd::run(args),
        Command::Apps { server, command } => client_cmd::run(&server, command),
        Command::Logs(args) => logs_cmd::run(args),
        Command::Experiments { command } => experiments_cmd::run(&command),
        Command::Schema { kind } => {
            let schema = match kind {
                SchemaKind::App => ojek_core::spec::schema::app_schema(),
                SchemaKind::Platform => ojek_core::spec::schema::platform_schema(),
            };
            emit(&format!(
                "{}\n",
                serde_json::to_string_pretty(schema).unwrap_or_default()
            ));
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
