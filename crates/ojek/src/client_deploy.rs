//! `ojek apps plan|deploy|rollback|deployments|status` and `ojek rollback`: deploying stored
//! revisions through an ojek server, which holds the revisions, the cluster settings and the
//! deployment records. Exit codes as for `ojek apply`: 0 succeeded (or nothing to change),
//! 1 the deployment did not succeed, 2 usage, server or cluster unreachable.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use reqwest::Method;
use serde_json::{Value, json};

use crate::client_cmd::{Client, urlencode, when};

/// Arguments of `ojek apps plan`.
#[derive(clap::Args)]
pub struct PlanArgs {
    /// App name.
    app: String,
    /// Environment, as named in the platform file.
    #[arg(long)]
    env: String,
    /// Revision (default: the newest).
    #[arg(long)]
    revision: Option<i64>,
    /// Print the plan as JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `ojek apps deploy`.
#[derive(clap::Args)]
pub struct DeployArgs {
    /// App name.
    app: String,
    /// Environment, as named in the platform file.
    #[arg(long)]
    env: String,
    /// Revision (default: the newest).
    #[arg(long)]
    revision: Option<i64>,
    /// Kubernetes: take over fields another field manager owns.
    #[arg(long)]
    force: bool,
    /// Kubernetes: delete objects ojek applied for this app and environment that are no longer
    /// rendered.
    #[arg(long)]
    prune: bool,
    /// How long to wait for the rollout (`0`: do not wait; at most 10m).
    #[arg(long, default_value = "5m")]
    wait: String,
    /// Print the deployment record (with its report) as JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `ojek apps rollback` and `ojek rollback`.
#[derive(clap::Args)]
pub struct RollbackArgs {
    /// App name.
    app: String,
    /// Environment, as named in the platform file.
    #[arg(long)]
    env: String,
    /// The revision to go back to (default: the revision of the newest successful deployment
    /// older than what the environment runs now).
    #[arg(long)]
    to: Option<i64>,
    /// Kubernetes: take over fields another field manager owns.
    #[arg(long)]
    force: bool,
    /// How long to wait for the rollout (`0`: do not wait; at most 10m).
    #[arg(long, default_value = "5m")]
    wait: String,
    /// Print the deployment record (with its report) as JSON.
    #[arg(long)]
    json: bool,
}

/// The HTTP timeout of a deploy: the rollout wait and a margin for applying.
fn timeout_for(wait: &str) -> Duration {
    let waited = ojek_core::spec::values::parse_duration(wait).map_or(Duration::ZERO, Duration::from_millis);
    waited + Duration::from_secs(120)
}

/// `ojek apps plan APP --env E [--revision N]`.
pub async fn plan(client: &Client, args: &PlanArgs) -> Result<ExitCode> {
    let body = json!({ "environment": args.env, "revision": args.revision });
    let v = client
        .send_for(
            Method::POST,
            &format!("/apps/{}/plan", urlencode(&args.app)),
            Some(body),
            Some(Duration::from_secs(300)),
        )
        .await?;
    if args.json {
        crate::emit(&format!("{}\n", serde_json::to_string_pretty(&v)?));
    } else {
        eprintln!(
            "# {} revision {} → {} ({} cluster {})",
            args.app,
            v["revision"],
            args.env,
            v["target"].as_str().unwrap_or_default(),
            v["cluster"].as_str().unwrap_or_default()
        );
        crate::emit(v["text"].as_str().unwrap_or_default());
    }
    Ok(ExitCode::SUCCESS)
}

/// `ojek apps deploy APP --env E …`.
pub async fn deploy(client: &Client, args: &DeployArgs) -> Result<ExitCode> {
    let body = json!({
        "environment": args.env,
        "revision": args.revision,
        "force": args.force,
        "prune": args.prune,
        "wait": args.wait,
    });
    let path = format!("/apps/{}/deployments", urlencode(&args.app));
    let record = client
        .send_for(Method::POST, &path, Some(body), Some(timeout_for(&args.wait)))
        .await?;
    report(&record, args.json)
}

/// `ojek apps rollback APP --env E [--to N]` and `ojek rollback …`.
pub async fn rollback(client: &Client, args: &RollbackArgs) -> Result<ExitCode> {
    let body = json!({
        "environment": args.env,
        "toRevision": args.to,
        "force": args.force,
        "wait": args.wait,
    });
    let path = format!("/apps/{}/rollback", urlencode(&args.app));
    let record = client
        .send_for(Method::POST, &path, Some(body), Some(timeout_for(&args.wait)))
        .await?;
    report(&record, args.json)
}

/// Prints a finished deployment and says how to exit: 0 succeeded, 1 otherwise.
fn report(record: &Value, as_json: bool) -> Result<ExitCode> {
    let succeeded = record["result"] == "succeeded";
    if as_json {
        crate::emit(&format!("{}\n", serde_json::to_string_pretty(record)?));
    } else {
        let mut out = format!(
            "deployment #{} ({} revision {} to {}): {}\n{}\n",
            record["id"],
            if record["kind"] == "rollback" {
                "rollback to"
            } else {
                "deploy"
            },
            record["revision"],
            record["environment"].as_str().unwrap_or_default(),
            record["result"].as_str().unwrap_or_default(),
            record["summary"].as_str().unwrap_or_default()
        );
        out.push_str(&report_details(&record["report"]));
        crate::emit(&out);
    }
    Ok(if succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The parts of a deployment report worth reading on a terminal: objects that failed or were
/// not applied, rollouts that did not succeed with their reasons, pruned objects, Nomad jobs.
fn report_details(report: &Value) -> String {
    let s = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    let name = |v: &Value| format!("{}/{}", s(v, "kind"), s(v, "name"));
    let mut out = String::new();
    for o in report["objects"].as_array().into_iter().flatten() {
        let result = s(o, "result");
        if !matches!(result.as_str(), "created" | "updated" | "unchanged" | "replaced") {
            out.push_str(&format!("  {} {}", name(o), result.replace('_', " ")));
            if let Some(e) = o["error"].as_str().or(o["reason"].as_str()) {
                out.push_str(&format!(": {e}"));
            }
            out.push('\n');
        }
    }
    for r in report["rollouts"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  rollout {} {}: {}\n",
            name(r),
            s(r, "status"),
            s(r, "message")
        ));
        if r["status"] != "ok" {
            for reason in r["reasons"].as_array().into_iter().flatten() {
                out.push_str(&format!("    {}\n", reason.as_str().unwrap_or_default()));
            }
        }
    }
    for p in report["pruned"].as_array().into_iter().flatten() {
        out.push_str(&format!("  deleted {} (no longer rendered)\n", name(p)));
    }
    for j in report["jobs"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  job {} (namespace {}) version {} {}",
            s(j, "job_id"),
            s(j, "namespace"),
            j["version"],
            s(j, "status").replace('_', " ")
        ));
        let description = s(j, "status_description");
        if !description.is_empty() {
            out.push_str(&format!(": {description}"));
        }
        out.push('\n');
        for f in j["failures"].as_array().into_iter().flatten() {
            for e in f["events"].as_array().into_iter().flatten() {
                out.push_str(&format!(
                    "    task {}: {}: {}\n",
                    s(f, "task"),
                    s(e, "kind"),
                    s(e, "message")
                ));
            }
        }
    }
    if let Some(e) = report["error"].as_str() {
        out.push_str(&format!("  error: {e}\n"));
    }
    out
}

/// `ojek apps deployments APP [--env E]`.
pub async fn deployments(client: &Client, app: &str, env: Option<&str>) -> Result<ExitCode> {
    let mut path = format!("/apps/{}/deployments?limit=500", urlencode(app));
    if let Some(e) = env {
        path.push_str(&format!("&environment={}", urlencode(e)));
    }
    let v = client.send(Method::GET, &path, None).await?;
    let mut out = String::new();
    for d in v["deployments"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "{:>5}  {}  {:<14} {:<8} r{:<4} {:<11} {:<12} {}\n",
            d["id"],
            when(d["startedAt"].as_i64().unwrap_or_default()),
            d["environment"].as_str().unwrap_or_default(),
            d["kind"].as_str().unwrap_or_default(),
            d["revision"],
            d["result"].as_str().unwrap_or_default(),
            d["actor"].as_str().unwrap_or_default(),
            d["summary"].as_str().unwrap_or_default()
        ));
    }
    crate::emit(&out);
    Ok(ExitCode::SUCCESS)
}

/// `ojek apps status APP`.
pub async fn status(client: &Client, app: &str) -> Result<ExitCode> {
    let v = client
        .send(Method::GET, &format!("/apps/{}/status", urlencode(app)), None)
        .await?;
    let mut out = String::new();
    for e in v["environments"].as_array().into_iter().flatten() {
        let runs = match e["lastSucceeded"].as_object() {
            Some(d) => format!(
                "runs revision {} (deployment #{}, {})",
                d["revision"],
                d["id"],
                when(d["finishedAt"].as_i64().unwrap_or_default())
            ),
            None => "nothing deployed successfully".to_string(),
        };
        let last = &e["last"];
        out.push_str(&format!(
            "{:<14} {runs}; last: #{} {} revision {} {}\n",
            e["environment"].as_str().unwrap_or_default(),
            last["id"],
            last["kind"].as_str().unwrap_or_default(),
            last["revision"],
            last["result"].as_str().unwrap_or_default()
        ));
    }
    crate::emit(&out);
    Ok(ExitCode::SUCCESS)
}
