//! `ojek experiments`: the Experiment custom resource's definition, and experiments rendered
//! to manifests for teams that deploy through GitOps.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use ojek_core::spec::load::{load_app, load_platform};

use crate::emit;
use crate::files::{FsReader, find_platform, read_text, write_all};

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
        /// Output as a JSON list instead of a YAML stream (Kubernetes).
        #[arg(long)]
        json: bool,
        /// Target: `kubernetes` (shards and a route) or `nomad` (a job per variant and Consul
        /// config entries); the environment's default when unset.
        #[arg(long, value_enum)]
        target: Option<crate::TargetArg>,
        /// Write the files into this directory instead of printing (Nomad: `jobs/*.json`,
        /// `consul/*.json`; Kubernetes: `experiment.yaml`).
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
    },
    /// Run the Experiment controller against the current kubeconfig context (or in-cluster
    /// config): it applies shards and routes, keeps statuses, and saves promotions through the
    /// ojek server (a token of the apps' team that may edit them).
    Controller {
        #[command(flatten)]
        server: crate::client_cmd::ServerArgs,
    },
    /// Promote a variant: its overrides become a new revision of the app and the experiment
    /// ends once that revision is deployed (sets `spec.decision.promote`).
    Promote {
        /// The Experiment.
        name: String,
        /// The winning variant.
        variant: String,
        /// Its namespace (the app's); the kubeconfig context's when unset.
        #[arg(short, long)]
        namespace: Option<String>,
    },
    /// End an experiment: all traffic back to the baseline, shards removed (sets
    /// `spec.decision.abort`).
    Abort {
        /// The Experiment.
        name: String,
        /// Its namespace (the app's); the kubeconfig context's when unset.
        #[arg(short, long)]
        namespace: Option<String>,
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
            target,
            output,
        } => render(
            file,
            manifest,
            platform.as_deref(),
            &RenderOutput {
                json: *json,
                target: *target,
                output: output.as_deref(),
            },
        ),
        ExperimentsCommand::Controller { server } => controller(server),
        ExperimentsCommand::Promote {
            name,
            variant,
            namespace,
        } => decide(
            name,
            namespace.as_deref(),
            serde_json::json!({"promote": variant}),
        ),
        ExperimentsCommand::Abort { name, namespace } => {
            decide(name, namespace.as_deref(), serde_json::json!({"abort": true}))
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Runtime::new()?)
}

/// The current kubeconfig context's cluster (or the in-cluster configuration).
async fn kube_client() -> Result<kube::Client> {
    kube::Client::try_default()
        .await
        .map_err(|e| anyhow::anyhow!("no Kubernetes connection (kubeconfig or in-cluster): {e}"))
}

fn controller(server: &crate::client_cmd::ServerArgs) -> Result<ExitCode> {
    let Some(token) = server.token.as_deref() else {
        eprintln!("error: the controller needs an API token of the apps' team (--token or OJEK_TOKEN)");
        return Ok(ExitCode::from(2));
    };
    let source = ojek_experiments_controller::source::ApiSource::new(&server.server, token)?;
    runtime()?.block_on(async move {
        let client = kube_client().await?;
        eprintln!(
            "ojek experiments controller: watching Experiments; apps from {}",
            server.server
        );
        ojek_experiments_controller::run(client, std::sync::Arc::new(source)).await;
        Ok(ExitCode::SUCCESS)
    })
}

fn decide(name: &str, namespace: Option<&str>, decision: serde_json::Value) -> Result<ExitCode> {
    runtime()?.block_on(async move {
        let client = kube_client().await?;
        let ns = namespace.map_or_else(|| client.default_namespace().to_string(), str::to_string);
        let api: kube::Api<ojek_experiments::Experiment> = kube::Api::namespaced(client, &ns);
        let patch = serde_json::json!({"spec": {"decision": decision}});
        match api
            .patch(
                name,
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(&patch),
            )
            .await
        {
            Ok(_) => {
                eprintln!("experiment {ns}/{name}: {decision}; the controller carries it out");
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("error: experiment {ns}/{name}: {e}");
                Ok(ExitCode::from(2))
            }
        }
    })
}

/// How `render` writes what it rendered.
struct RenderOutput<'a> {
    json: bool,
    target: Option<crate::TargetArg>,
    output: Option<&'a Path>,
}

fn render(file: &Path, manifest: &Path, platform: Option<&Path>, out: &RenderOutput) -> Result<ExitCode> {
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
    let env_target = platform
        .platform
        .environments
        .get(&loaded.experiment.spec.environment)
        .map(|e| e.target);
    let nomad = match out.target {
        Some(crate::TargetArg::Nomad) => true,
        Some(crate::TargetArg::Kubernetes) => false,
        None => env_target == Some(ojek_core::spec::platform::TargetKind::Nomad),
    };
    let files: Vec<(String, String)> = if nomad {
        let located = |i: usize| {
            loaded
                .node
                .get(
                    &ojek_core::spec::Path::root()
                        .key("spec")
                        .key("variants")
                        .index(i)
                        .key("overrides"),
                )
                .cloned()
        };
        match ojek_experiments::nomad::render_nomad(&loaded.experiment, &app, &platform, &located) {
            Ok(d) => {
                if out.output.is_none() {
                    let mut text = d.summary();
                    for (path, content) in d.files() {
                        text.push_str(&format!("# {path}\n{content}"));
                    }
                    emit(&text);
                    return Ok(ExitCode::SUCCESS);
                }
                d.files()
            }
            Err(p) => {
                eprint!("{}", ojek_experiments::file::located(&p, &loaded.node));
                return Ok(ExitCode::from(1));
            }
        }
    } else {
        match ojek_experiments::file::render(&loaded, &app, &platform) {
            Ok(d) => {
                let text = if out.json {
                    format!("{:#}\n", ojek_experiments::file::to_json(&d))
                } else {
                    ojek_experiments::file::to_yaml(&loaded, &d)
                };
                if out.output.is_none() {
                    emit(&text);
                    return Ok(ExitCode::SUCCESS);
                }
                let name = if out.json {
                    "experiment.json"
                } else {
                    "experiment.yaml"
                };
                vec![(name.to_string(), text)]
            }
            Err(d) => {
                eprint!("{d}");
                return Ok(ExitCode::from(1));
            }
        }
    };
    if let Some(dir) = out.output {
        write_all(dir, &files.into_iter().collect())?;
    }
    Ok(ExitCode::SUCCESS)
}
