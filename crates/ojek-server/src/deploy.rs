//! Deploying stored revisions for the API: which cluster an environment deploys to, and running
//! a plan, an apply or a rollback there, with the outcome turned into what a deployment record
//! holds (result, hash, one-line summary, report). No HTTP and no permissions here (the
//! handlers in `api::deploy` check those); cluster I/O is `ojek-deploy`'s.

use std::path::Path;
use std::time::Duration;

use ojek_core::Rendered;
use ojek_core::spec::platform::{Platform, TargetKind};
use ojek_deploy::clusters::{self, ClusterSettingsError, PathBase};
use ojek_deploy::kube::{
    ApplyOptions, ApplyReport, ClusterConfig, KubeTarget, ObjectResult, ReadKind, RolloutStatus,
};
use ojek_deploy::nomad::{
    self, NomadApplyOptions, NomadApplyReport, NomadCluster, NomadDeployError, RollbackTarget,
};
use ojek_deploy::{DeployError, kube};
use ojek_store::{DeployResult, DeployTarget};
use serde_json::{Value, json};

/// How often rollouts are looked at while waiting.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// The cluster an environment deploys to.
#[derive(Debug, Clone)]
pub enum Cluster {
    /// A Kubernetes cluster.
    Kube(ClusterConfig),
    /// A Nomad cluster.
    Nomad(NomadCluster),
}

impl Cluster {
    /// The cluster of `env` for `target`, from the stored platform file: relative paths in it
    /// are relative to the server's data directory.
    pub fn of(
        platform: &Platform,
        env: &str,
        target: TargetKind,
        data_dir: &Path,
    ) -> Result<Cluster, ClusterSettingsError> {
        let base = PathBase::new(data_dir, "platform.yaml (stored)");
        Ok(match target {
            TargetKind::Kubernetes => Cluster::Kube(clusters::kube_cluster(platform, env, &base)?),
            TargetKind::Nomad => Cluster::Nomad(clusters::nomad_cluster(platform, env, &base)?),
        })
    }

    /// The name recorded on deployments: the Kubernetes cluster's name, or the Nomad address.
    pub fn name(&self) -> String {
        match self {
            Cluster::Kube(c) => c.name.clone(),
            Cluster::Nomad(c) => c.address.clone(),
        }
    }

    /// Kubernetes or Nomad.
    pub fn target(&self) -> DeployTarget {
        match self {
            Cluster::Kube(_) => DeployTarget::Kubernetes,
            Cluster::Nomad(_) => DeployTarget::Nomad,
        }
    }
}

/// What is deployed: app, environment, revision.
#[derive(Debug, Clone)]
pub struct Subject {
    /// App name.
    pub app: String,
    /// Environment name.
    pub env: String,
    /// The stored revision.
    pub revision: u64,
}

impl Subject {
    fn kube(&self) -> kube::Deployment {
        kube::Deployment {
            app: self.app.clone(),
            env: self.env.clone(),
            revision: self.revision,
        }
    }
}

/// Why a plan could not be made.
#[derive(Debug)]
pub enum PlanError {
    /// The cluster could not be reached or refused the credentials.
    Unreachable(String),
    /// Another failure (an unknown kind, an API error).
    Failed(String),
}

/// A plan: the target's plan JSON and its text.
pub async fn plan(cluster: &Cluster, rendered: &Rendered, subject: &Subject) -> Result<Value, PlanError> {
    match cluster {
        Cluster::Kube(config) => {
            let target = KubeTarget::connect(config).await.map_err(kube_plan_error)?;
            let plan = target
                .plan(rendered, &subject.kube())
                .await
                .map_err(kube_plan_error)?;
            let mut text = plan.to_text();
            if !plan.has_changes() {
                text.push_str("No changes.\n");
            }
            Ok(json!({ "hasChanges": plan.has_changes(), "text": text, "plan": plan }))
        }
        Cluster::Nomad(config) => {
            let plan = nomad::plan(config, rendered).await.map_err(|e| {
                if is_nomad_unreachable(&e) {
                    PlanError::Unreachable(e.to_string())
                } else {
                    PlanError::Failed(e.to_string())
                }
            })?;
            Ok(json!({ "hasChanges": plan.has_changes(), "text": plan.to_text(), "plan": plan }))
        }
    }
}

fn kube_plan_error(e: DeployError) -> PlanError {
    match e.root() {
        DeployError::Connect { .. } => PlanError::Unreachable(e.to_string()),
        _ => PlanError::Failed(e.to_string()),
    }
}

fn is_nomad_unreachable(e: &NomadDeployError) -> bool {
    matches!(
        e,
        NomadDeployError::Unreachable { .. }
            | NomadDeployError::Config { .. }
            | NomadDeployError::PermissionDenied { .. }
    )
}

/// Checks that a cluster answers with our credentials: Kubernetes `GET /version`, Nomad a job
/// list in the cluster's namespace. Says what answered, or why not.
pub async fn check(cluster: &Cluster) -> Result<String, String> {
    match cluster {
        Cluster::Kube(config) => {
            let target = KubeTarget::connect(config).await.map_err(|e| e.to_string())?;
            let version = target
                .client()
                .apiserver_version()
                .await
                .map_err(|e| format!("{}: {e}", config.name))?;
            Ok(format!(
                "{} answers: Kubernetes {}",
                config.name, version.git_version
            ))
        }
        Cluster::Nomad(config) => {
            let client = config
                .client()
                .map_err(|e| format!("Nomad at {}: {e}", config.address))?;
            let jobs = client
                .jobs("")
                .await
                .map_err(|e| format!("Nomad at {}: {e}", config.address))?;
            Ok(format!(
                "Nomad at {} answers; the token can list jobs ({} in namespace {})",
                config.address,
                jobs.len(),
                config.namespace.as_deref().unwrap_or("default")
            ))
        }
    }
}

/// What runs now in the cluster, for the workloads or jobs of `rendered`:
/// `{"workloads": [LiveWorkload…]}` (Kubernetes) or `{"jobs": [LiveJob…]}` (Nomad).
pub async fn live(cluster: &Cluster, rendered: &Rendered, subject: &Subject) -> Result<Value, PlanError> {
    match cluster {
        Cluster::Kube(config) => {
            let target = KubeTarget::connect(config).await.map_err(kube_plan_error)?;
            let workloads = target
                .live(rendered, &subject.kube())
                .await
                .map_err(kube_plan_error)?;
            Ok(json!({ "workloads": workloads }))
        }
        Cluster::Nomad(config) => {
            let jobs = nomad::live(config, rendered).await.map_err(|e| {
                if is_nomad_unreachable(&e) {
                    PlanError::Unreachable(e.to_string())
                } else {
                    PlanError::Failed(e.to_string())
                }
            })?;
            Ok(json!({ "jobs": jobs }))
        }
    }
}

/// The Experiment custom resource (`ojek-experiments`), as it is read from clusters.
const EXPERIMENTS: ReadKind<'static> = ReadKind {
    group: ojek_experiments::crd::GROUP,
    version: ojek_experiments::crd::VERSION,
    kind: "Experiment",
    plural: "experiments",
};

/// The Experiments in `namespace` of a Kubernetes cluster, as JSON; `None` when the cluster
/// does not serve them (their CRD is not installed). Experiments run on Kubernetes only.
pub async fn experiments(cluster: &Cluster, namespace: &str) -> Result<Option<Vec<Value>>, PlanError> {
    match cluster {
        Cluster::Kube(config) => {
            let target = KubeTarget::connect(config).await.map_err(kube_plan_error)?;
            target
                .list_namespaced(&EXPERIMENTS, namespace)
                .await
                .map_err(kube_plan_error)
        }
        Cluster::Nomad(c) => Err(PlanError::Failed(format!(
            "experiments run on Kubernetes; Nomad at {} has none",
            c.address
        ))),
    }
}

/// What to do.
#[derive(Debug, Clone, Copy)]
pub enum Operation {
    /// Apply the rendered revision (a Kubernetes rollback is an apply of the older revision).
    Apply {
        /// Kubernetes: take over fields of other field managers.
        force: bool,
        /// Kubernetes: delete objects no longer rendered.
        prune: bool,
    },
    /// Nomad: revert each rendered job to its version deployed from the subject's revision.
    NomadRevert,
}

/// How a deployment ended, as recorded.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The record's result.
    pub result: DeployResult,
    /// Hash of what was applied; `None` when nothing was.
    pub hash: Option<String>,
    /// One line.
    pub summary: String,
    /// The report (JSON).
    pub report: Value,
}

/// Runs `operation` and says how it ended; never fails (failures are outcomes).
pub async fn run(
    cluster: &Cluster,
    rendered: &Rendered,
    subject: &Subject,
    operation: Operation,
    wait: Option<Duration>,
) -> Outcome {
    match (cluster, operation) {
        (Cluster::Kube(config), Operation::Apply { force, prune }) => {
            let options = ApplyOptions {
                force,
                prune,
                wait,
                poll_interval: POLL_INTERVAL,
            };
            kube_apply(config, rendered, subject, &options).await
        }
        (Cluster::Kube(_), Operation::NomadRevert) => {
            failed("a Kubernetes rollback re-applies the older revision")
        }
        (Cluster::Nomad(config), Operation::Apply { .. }) => {
            let options = NomadApplyOptions {
                wait,
                poll_interval: POLL_INTERVAL,
            };
            let deployment = nomad::Deployment {
                app: subject.app.clone(),
                env: subject.env.clone(),
                revision: subject.revision,
            };
            match nomad::apply(config, rendered, &deployment, &options).await {
                Ok(report) => nomad_outcome(subject, report),
                Err(e) => nomad_error(&e, false),
            }
        }
        (Cluster::Nomad(config), Operation::NomadRevert) => {
            nomad_revert(config, rendered, subject, wait).await
        }
    }
}

fn failed(message: &str) -> Outcome {
    Outcome {
        result: DeployResult::Failed,
        hash: None,
        summary: message.to_string(),
        report: json!({ "error": message }),
    }
}

async fn kube_apply(
    config: &ClusterConfig,
    rendered: &Rendered,
    subject: &Subject,
    options: &ApplyOptions,
) -> Outcome {
    let target = match KubeTarget::connect(config).await {
        Ok(t) => t,
        Err(e) => return kube_error(&e),
    };
    match target.apply(rendered, &subject.kube(), options).await {
        Ok(report) => kube_outcome(subject, report),
        Err(e) => kube_error(&e),
    }
}

fn kube_outcome(subject: &Subject, report: ApplyReport) -> Outcome {
    let (result, summary) = if report.succeeded() {
        let count =
            |want: fn(&ObjectResult) -> bool| report.objects.iter().filter(|o| want(&o.result)).count();
        let created = count(|r| matches!(r, ObjectResult::Created));
        let changed = count(|r| matches!(r, ObjectResult::Updated | ObjectResult::Replaced));
        let unchanged = count(|r| matches!(r, ObjectResult::Unchanged));
        let rolled = if report.rollouts.is_empty() {
            String::new()
        } else {
            format!("; {} rolled out", report.rollouts.len())
        };
        (
            DeployResult::Succeeded,
            format!(
                "revision {} on {}: {created} created, {changed} updated, {unchanged} unchanged, {} pruned{rolled}",
                subject.revision,
                report.cluster,
                report.pruned.len()
            ),
        )
    } else {
        let bad: Vec<String> = report
            .rollouts
            .iter()
            .filter(|r| r.status != RolloutStatus::Ok)
            .map(|r| {
                let mut line = format!("{}: {}", r.object, r.message);
                for reason in r.reasons.iter().take(2) {
                    line.push_str("; ");
                    line.push_str(reason);
                }
                line
            })
            .collect();
        let result = if report.rollouts.iter().any(|r| r.status == RolloutStatus::Failed) {
            DeployResult::Failed
        } else {
            DeployResult::Timeout
        };
        let what = if result == DeployResult::Failed {
            "rollout failed"
        } else {
            "rollout timed out"
        };
        let skipped = report
            .objects
            .iter()
            .filter(|o| matches!(o.result, ObjectResult::Skipped { .. }))
            .count();
        let mut summary = format!("{what}: {}", bad.join(" | "));
        if skipped > 0 {
            summary.push_str(&format!(
                "; {skipped} object{} not applied because of it",
                if skipped == 1 { "" } else { "s" }
            ));
        }
        (result, summary)
    };
    // The hash says what the cluster was given: only when every rendered object was applied
    // (objects skipped after a failed Job were not).
    let all_applied = report
        .objects
        .iter()
        .all(|o| !matches!(o.result, ObjectResult::Skipped { .. }));
    Outcome {
        result,
        hash: all_applied.then(|| report.hash.clone()),
        summary,
        report: serde_json::to_value(&report).unwrap_or(Value::Null),
    }
}

fn kube_error(e: &DeployError) -> Outcome {
    let report = e.report();
    // Partial only when something was changed before the failure: objects applied unchanged
    // leave the cluster as it was (a conflict on a redeploy is a conflict, not a partial).
    let applied = report.is_some_and(|r| {
        r.objects.iter().any(|o| {
            matches!(
                o.result,
                ObjectResult::Created | ObjectResult::Updated | ObjectResult::Replaced
            )
        })
    });
    let result = match e.root() {
        DeployError::Connect { .. } => DeployResult::Unreachable,
        _ if applied => DeployResult::Partial,
        DeployError::Conflict { .. } => DeployResult::Conflict,
        _ => DeployResult::Failed,
    };
    let mut json = report
        .and_then(|r| serde_json::to_value(r).ok())
        .unwrap_or_else(|| json!({}));
    if let Some(o) = json.as_object_mut() {
        o.insert("error".into(), Value::String(e.to_string()));
    }
    Outcome {
        result,
        // Not everything was applied: no hash (the report says what was).
        hash: None,
        summary: e.to_string(),
        report: json,
    }
}

fn nomad_outcome(subject: &Subject, report: NomadApplyReport) -> Outcome {
    let (result, summary) = if report.succeeded() {
        let jobs: Vec<String> = report
            .jobs
            .iter()
            .map(|j| format!("{} v{} {}", j.job_id, j.version, j.status))
            .collect();
        (
            DeployResult::Succeeded,
            format!(
                "revision {} on {}: {}",
                subject.revision,
                report.address,
                jobs.join(", ")
            ),
        )
    } else {
        let bad: Vec<String> = report
            .jobs
            .iter()
            .filter(|j| !j.status.is_success())
            .map(|j| {
                let mut line = format!("{} {}", j.job_id, j.status);
                if !j.status_description.is_empty() {
                    line.push_str(&format!(" ({})", j.status_description));
                }
                for reason in j.failure_summary().into_iter().take(2) {
                    line.push_str("; ");
                    line.push_str(&reason);
                }
                line
            })
            .collect();
        let timed_out = report
            .jobs
            .iter()
            .any(|j| j.status == nomad::RolloutStatus::TimedOut);
        let result = if timed_out {
            DeployResult::Timeout
        } else {
            DeployResult::Failed
        };
        (result, format!("rollout did not succeed: {}", bad.join(" | ")))
    };
    Outcome {
        result,
        hash: Some(report.jobs_hash.clone()),
        summary,
        report: serde_json::to_value(&report).unwrap_or(Value::Null),
    }
}

/// `some_done`: an earlier job of the same deployment was already changed.
fn nomad_error(e: &NomadDeployError, some_done: bool) -> Outcome {
    let result = match e {
        _ if is_nomad_unreachable(e) && !some_done => DeployResult::Unreachable,
        NomadDeployError::Conflict {
            already_registered, ..
        } if already_registered.is_empty() && !some_done => DeployResult::Conflict,
        _ if some_done => DeployResult::Partial,
        NomadDeployError::Conflict { .. } => DeployResult::Partial,
        _ => DeployResult::Failed,
    };
    Outcome {
        result,
        hash: None,
        summary: e.to_string(),
        report: json!({ "error": e.to_string() }),
    }
}

/// Reverts each rendered job (in its own namespace and region) to the version whose meta
/// `ojek.dev/revision` is the subject's revision.
async fn nomad_revert(
    config: &NomadCluster,
    rendered: &Rendered,
    subject: &Subject,
    wait: Option<Duration>,
) -> Outcome {
    let options = NomadApplyOptions {
        wait,
        poll_interval: POLL_INTERVAL,
    };
    let mut report = NomadApplyReport {
        address: config.address.clone(),
        jobs: Vec::new(),
        jobs_hash: nomad::jobs_hash(rendered),
    };
    for doc in &rendered.objects {
        let job = doc.value.get("Job").unwrap_or(&doc.value);
        let Some(id) = job.get("ID").and_then(Value::as_str) else {
            continue;
        };
        let mut cluster = config.clone();
        if let Some(ns) = job.get("Namespace").and_then(Value::as_str) {
            cluster.namespace = Some(ns.to_string());
        }
        if let Some(region) = job.get("Region").and_then(Value::as_str) {
            cluster.region = Some(region.to_string());
        }
        let target = RollbackTarget::Revision(subject.revision);
        match nomad::rollback(&cluster, id, target, &options).await {
            Ok(job_report) => report.jobs.push(job_report),
            Err(e) => {
                let some_done = report.jobs.iter().any(|j| j.changed);
                let mut outcome = nomad_error(&e, some_done);
                if let Some(o) = outcome.report.as_object_mut()
                    && let Ok(Value::Object(done)) = serde_json::to_value(&report)
                {
                    o.extend(done);
                }
                return outcome;
            }
        }
    }
    nomad_outcome(subject, report)
}

#[cfg(test)]
mod tests {
    use ojek_deploy::FieldConflict;
    use ojek_deploy::kube::{AppliedObject, ObjectRef};

    use super::*;

    fn object(kind: &str, name: &str, result: ObjectResult) -> AppliedObject {
        AppliedObject {
            object: ObjectRef {
                api_version: "v1".into(),
                kind: kind.into(),
                namespace: Some("ns".into()),
                name: name.into(),
            },
            result,
        }
    }

    fn report(objects: Vec<AppliedObject>) -> ApplyReport {
        ApplyReport {
            cluster: "c".into(),
            deployment: kube::Deployment {
                app: "a".into(),
                env: "e".into(),
                revision: 2,
            },
            objects,
            pruned: Vec::new(),
            rollouts: Vec::new(),
            hash: "h".repeat(64),
        }
    }

    fn conflict() -> DeployError {
        DeployError::Conflict {
            cluster: "c".into(),
            object: "Deployment/web".into(),
            conflicts: vec![FieldConflict {
                field: ".spec.replicas".into(),
                manager: "kubectl".into(),
            }],
        }
    }

    #[test]
    fn a_failure_after_changes_is_partial_and_records_which_objects_were_applied_and_which_failed() {
        let e = DeployError::Incomplete {
            report: Box::new(report(vec![
                object("ServiceAccount", "sa", ObjectResult::Created),
                object("Deployment", "web", ObjectResult::Failed { error: "boom".into() }),
                object("Ingress", "web", ObjectResult::NotApplied),
            ])),
            source: Box::new(conflict()),
        };
        let outcome = kube_error(&e);
        assert_eq!(outcome.result, DeployResult::Partial);
        assert_eq!(outcome.hash, None, "not everything was applied");
        let objects = outcome.report["objects"].as_array().cloned().unwrap_or_default();
        let results: Vec<(&str, &str)> = objects
            .iter()
            .map(|o| {
                (
                    o["kind"].as_str().unwrap_or(""),
                    o["result"].as_str().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(
            results,
            [
                ("ServiceAccount", "created"),
                ("Deployment", "failed"),
                ("Ingress", "not_applied")
            ]
        );
        assert_eq!(objects[1]["error"], "boom");
        assert!(
            outcome.report["error"]
                .as_str()
                .is_some_and(|m| m.contains("kubectl"))
        );
    }

    #[test]
    fn a_conflict_after_unchanged_objects_is_a_conflict_with_nothing_applied() {
        let e = DeployError::Incomplete {
            report: Box::new(report(vec![
                object("ServiceAccount", "sa", ObjectResult::Unchanged),
                object(
                    "Deployment",
                    "web",
                    ObjectResult::Failed {
                        error: "conflict".into(),
                    },
                ),
            ])),
            source: Box::new(conflict()),
        };
        let outcome = kube_error(&e);
        assert_eq!(outcome.result, DeployResult::Conflict);
        assert_eq!(outcome.hash, None);
    }

    #[test]
    fn an_unreachable_cluster_is_unreachable_whatever_else() {
        let e = DeployError::Connect {
            cluster: "staging".into(),
            cause: ojek_deploy::ConnectCause::Unreachable,
            message: "connection refused".into(),
        };
        let outcome = kube_error(&e);
        assert_eq!(outcome.result, DeployResult::Unreachable);
        assert_eq!(outcome.hash, None);
        assert!(outcome.summary.contains("staging") && outcome.summary.contains("connection refused"));
    }
}
