//! `ojek plan` and `ojek apply`: render an app like `ojek render`, connect to the
//! environment's cluster named in the platform file (`environments.<env>.<target>.cluster`),
//! and show what would change, or change it.
//!
//! Exit codes: 0 done, or nothing to change; 1 an invalid manifest or platform file, a
//! conflict, a failed or timed-out rollout, or another failure while applying; 2 a usage or
//! configuration problem (no cluster in the platform file, a missing token variable) or an
//! unreachable cluster (or one that refused our credentials). Nothing else here decides what
//! to deploy: rendering is `render_cmd`'s, cluster I/O is `ojek-deploy`'s.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use ojek_core::spec::platform::TargetKind;
use ojek_core::spec::values::parse_duration;
use ojek_deploy::DeployError;
use ojek_deploy::clusters::{self, PathBase};
use ojek_deploy::kube::{ApplyOptions, ClusterConfig, Deployment, KubeTarget};
use ojek_deploy::nomad::{self, NomadApplyOptions, NomadCluster, NomadDeployError};
use serde::Serialize;

use crate::render_cmd::{RenderedApp, render_app};
use crate::{TargetArg, TargetArgs};

/// How often rollouts are looked at while waiting.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// What `ojek plan` and `ojek apply` share: the app, where to deploy it, how to print.
#[derive(clap::Args)]
pub struct DeployArgs {
    /// The app manifest.
    file: PathBuf,
    /// Environment, as named in the platform file; its cluster is the target section's `cluster`.
    #[arg(long)]
    env: String,
    /// Target; the environment's default when unset.
    #[arg(long, value_enum)]
    target: Option<TargetArg>,
    /// Platform file; found as platform.yaml beside the manifest or above it when unset.
    #[arg(long)]
    platform: Option<PathBuf>,
    /// The app revision recorded on what is applied (annotation / job meta
    /// `ojek.dev/revision`). 0, the default, means a local deploy, not a revision stored on
    /// an ojek server.
    #[arg(long, default_value_t = 0)]
    revision: u64,
    /// Print the plan or report as JSON.
    #[arg(long)]
    json: bool,
}

/// Options of `ojek apply` besides [`DeployArgs`].
#[derive(clap::Args)]
pub struct ApplyFlags {
    /// Kubernetes: take over fields another field manager (kubectl, an operator) owns.
    #[arg(long)]
    force: bool,
    /// Kubernetes: delete objects ojek applied for this app and environment that are no
    /// longer rendered.
    #[arg(long)]
    prune: bool,
    /// How long to wait for the rollout (`30s`, `5m`, `1h`); `0` returns right after applying.
    #[arg(long, default_value = "5m", value_parser = parse_wait)]
    wait: Duration,
}

fn parse_wait(text: &str) -> Result<Duration, String> {
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    parse_duration(text)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("`{text}` is not a duration like 30s, 5m or 1h"))
}

/// Plan or apply.
enum Action<'a> {
    Plan,
    Apply(&'a ApplyFlags),
}

/// `ojek plan`.
pub fn plan(args: &DeployArgs) -> Result<ExitCode> {
    run(args, Action::Plan)
}

/// `ojek apply`.
pub fn apply(args: &DeployArgs, flags: &ApplyFlags) -> Result<ExitCode> {
    run(args, Action::Apply(flags))
}

fn run(args: &DeployArgs, action: Action) -> Result<ExitCode> {
    let target_args = TargetArgs {
        env: args.env.clone(),
        target: args.target,
        kube_version: None,
        platform: args.platform.clone(),
    };
    let app = match render_app(&args.file, &target_args)? {
        Ok(app) => app,
        Err(code) => return Ok(code),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match app.rendered.target {
        TargetKind::Kubernetes => {
            let cluster = clusters::kube_cluster(&app.platform.platform, &args.env, &path_base(&app))?;
            runtime.block_on(kube(cluster, &app, args, action))
        }
        TargetKind::Nomad => {
            if let Action::Apply(flags) = &action {
                if flags.force {
                    bail!(
                        "--force is for Kubernetes field managers; Nomad has none. A Nomad job changed since \
                         the plan is never overwritten: run `ojek plan` again and apply"
                    );
                }
                if flags.prune {
                    bail!("--prune is not supported on Nomad yet: ojek does not deregister jobs");
                }
            }
            let cluster = clusters::nomad_cluster(&app.platform.platform, &args.env, &path_base(&app))?;
            runtime.block_on(nomad(cluster, &app, args, action))
        }
    }
}

/// Paths in the platform file are relative to its directory.
fn path_base(app: &RenderedApp) -> PathBase {
    let dir = app.platform_path.parent().unwrap_or(Path::new("."));
    PathBase::new(dir, app.platform_path.display().to_string())
}

fn print_json<T: Serialize>(value: &T) -> Result<()> {
    crate::emit(&format!("{}\n", serde_json::to_string_pretty(value)?));
    Ok(())
}

fn wait_of(flags: &ApplyFlags) -> Option<Duration> {
    (!flags.wait.is_zero()).then_some(flags.wait)
}

async fn kube(
    cluster: ClusterConfig,
    app: &RenderedApp,
    args: &DeployArgs,
    action: Action<'_>,
) -> Result<ExitCode> {
    let target = match KubeTarget::connect(&cluster).await {
        Ok(target) => target,
        Err(e) => return Ok(kube_failure(&e)),
    };
    let deployment = Deployment {
        app: app.app.clone(),
        env: args.env.clone(),
        revision: args.revision,
    };
    match action {
        Action::Plan => {
            let plan = match target.plan(&app.rendered, &deployment).await {
                Ok(plan) => plan,
                Err(e) => return Ok(kube_failure(&e)),
            };
            if args.json {
                print_json(&plan)?;
                return Ok(ExitCode::SUCCESS);
            }
            let mut text = plan.to_text();
            if !plan.has_changes() {
                text.push_str("No changes.\n");
            }
            if plan.objects.iter().any(|o| !o.conflicts.is_empty()) {
                text.push_str(
                    "Fields marked ! are owned by another field manager: `ojek apply` stops there unless run \
                     with --force, which takes them over.\n",
                );
            }
            crate::emit(&text);
            Ok(ExitCode::SUCCESS)
        }
        Action::Apply(flags) => {
            let options = ApplyOptions {
                force: flags.force,
                prune: flags.prune,
                wait: wait_of(flags),
                poll_interval: POLL_INTERVAL,
            };
            match target.apply(&app.rendered, &deployment, &options).await {
                Ok(report) => {
                    if args.json {
                        print_json(&report)?;
                    } else {
                        crate::emit(&report.to_text());
                    }
                    if report.succeeded() {
                        Ok(ExitCode::SUCCESS)
                    } else {
                        eprintln!(
                            "error: cluster `{}`: the rollout did not succeed (see above)",
                            cluster.name
                        );
                        Ok(ExitCode::from(1))
                    }
                }
                Err(e) => {
                    if let Some(report) = e.report() {
                        if args.json {
                            print_json(report)?;
                        } else {
                            crate::emit(&report.to_text());
                        }
                    }
                    Ok(kube_failure(&e))
                }
            }
        }
    }
}

/// Prints a Kubernetes deploy error; exit code 2 when the cluster could not be used at all.
fn kube_failure(e: &DeployError) -> ExitCode {
    eprintln!("error: {e}");
    match e.root() {
        DeployError::Connect { .. } => ExitCode::from(2),
        _ => ExitCode::from(1),
    }
}

async fn nomad(
    cluster: NomadCluster,
    app: &RenderedApp,
    args: &DeployArgs,
    action: Action<'_>,
) -> Result<ExitCode> {
    let header = format!(
        "nomad cluster {} ({}): {} in {}, revision {}\n",
        args.env, cluster.address, app.app, args.env, args.revision
    );
    match action {
        Action::Plan => {
            let plan = match nomad::plan(&cluster, &app.rendered).await {
                Ok(plan) => plan,
                Err(e) => return Ok(nomad_failure(&args.env, &e)),
            };
            if args.json {
                print_json(&plan)?;
            } else {
                crate::emit(&format!("{header}{}", plan.to_text()));
            }
            Ok(ExitCode::SUCCESS)
        }
        Action::Apply(flags) => {
            let deployment = nomad::Deployment {
                app: app.app.clone(),
                env: args.env.clone(),
                revision: args.revision,
            };
            let options = NomadApplyOptions {
                wait: wait_of(flags),
                poll_interval: POLL_INTERVAL,
            };
            let report = match nomad::apply(&cluster, &app.rendered, &deployment, &options).await {
                Ok(report) => report,
                Err(e) => return Ok(nomad_failure(&args.env, &e)),
            };
            if args.json {
                print_json(&report)?;
            } else {
                crate::emit(&format!("{header}{}", report.to_text()));
            }
            if report.succeeded() {
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!(
                    "error: {} ({}): the rollout did not succeed (see above)",
                    args.env, cluster.address
                );
                Ok(ExitCode::from(1))
            }
        }
    }
}

/// Prints a Nomad deploy error; exit code 2 when the cluster could not be used at all.
fn nomad_failure(env: &str, e: &NomadDeployError) -> ExitCode {
    eprintln!("error: {env}: {e}");
    match e {
        NomadDeployError::Unreachable { .. }
        | NomadDeployError::Config { .. }
        | NomadDeployError::PermissionDenied { .. } => ExitCode::from(2),
        _ => ExitCode::from(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_durations() {
        assert_eq!(parse_wait("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_wait("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_wait("0"), Ok(Duration::ZERO));
        assert!(parse_wait("5 minutes").is_err());
    }
}
