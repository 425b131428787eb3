//! Applying a plan: register each job against the planned modify index, then follow the
//! rollouts.

use std::time::Duration;

use ojek_nomad_api::{NomadClient, NomadError};
use ojek_output::Rendered;
use serde_json::Value;

use super::plan::{client_of, set_meta, wrap};
use super::rollout::follow;
use super::{
    NomadApplyReport, NomadCluster, NomadDeployError, NomadJobPlan, NomadJobReport, NomadPlan,
    REVISION_META_KEY, Result, RolloutStatus, plan,
};

/// Which deploy this is: the app, the environment and ojek's revision number for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    /// App name.
    pub app: String,
    /// Environment name.
    pub env: String,
    /// ojek's revision of the app in the environment, written to the jobs' meta.
    pub revision: u64,
}

/// How to apply.
#[derive(Debug, Clone)]
pub struct NomadApplyOptions {
    /// How long to follow each deployment; `None` registers without waiting.
    pub wait: Option<Duration>,
    /// How often to poll the deployment while following it.
    pub poll_interval: Duration,
}

impl Default for NomadApplyOptions {
    /// Follow each deployment for up to 10 minutes (Nomad's default progress deadline),
    /// polling every second.
    fn default() -> Self {
        NomadApplyOptions {
            wait: Some(Duration::from_secs(600)),
            poll_interval: Duration::from_secs(1),
        }
    }
}

/// Plans the rendered jobs, then applies that plan ([`apply_plan`]).
pub async fn apply(
    cluster: &NomadCluster,
    rendered: &Rendered,
    deployment: &Deployment,
    options: &NomadApplyOptions,
) -> Result<NomadApplyReport> {
    let plan = plan(cluster, rendered).await?;
    apply_plan(cluster, &plan, deployment, options).await
}

/// Registers each planned job with `EnforceIndex` = the planned job modify index (and
/// `PreserveCounts` when it has autoscaled groups), the changed ones with
/// `Meta["ojek.dev/revision"]` = `deployment.revision`, and follows the deployment of each
/// service job whose version changed. A job changed by someone since the plan is not
/// registered: [`NomadDeployError::Conflict`], and the jobs after it are left alone.
pub async fn apply_plan(
    cluster: &NomadCluster,
    plan: &NomadPlan,
    deployment: &Deployment,
    options: &NomadApplyOptions,
) -> Result<NomadApplyReport> {
    let mut reports: Vec<NomadJobReport> = Vec::with_capacity(plan.jobs.len());
    for job in &plan.jobs {
        let client = client_of(cluster, job)?;
        let registered: Vec<String> = reports
            .iter()
            .filter(|r| r.changed)
            .map(|r| r.job_id.clone())
            .collect();
        let mut report = register(&client, job, deployment, registered).await?;
        let follows =
            report.changed && job.job_type == "service" && !job.periodic && has_deployments(&job.job);
        if follows {
            let rollout = follow(
                &client,
                &job.job_id,
                report.version,
                options.wait,
                options.poll_interval,
            )
            .await?;
            report.status = rollout.status;
            report.deployment_id = rollout.deployment_id;
            report.status_description = rollout.description;
            report.failures = rollout.failures;
        }
        reports.push(report);
    }
    Ok(NomadApplyReport {
        address: plan.address.clone(),
        jobs: reports,
        jobs_hash: plan.jobs_hash.clone(),
    })
}

/// Registers one planned job and reads back its version.
async fn register(
    client: &NomadClient,
    job: &NomadJobPlan,
    deployment: &Deployment,
    already_registered: Vec<String>,
) -> Result<NomadJobReport> {
    let address = &client.config().address;
    let mut submitted = job.job.clone();
    if job.has_changes() {
        set_meta(
            &mut submitted,
            REVISION_META_KEY,
            Value::String(deployment.revision.to_string()),
        );
    }
    let response = client
        .register(&wrap(&submitted), Some(job.job_modify_index), job.autoscaled)
        .await
        .map_err(|e| match e {
            NomadError::Conflict { message } => NomadDeployError::Conflict {
                address: address.clone(),
                job_id: job.job_id.clone(),
                since: if job.job_modify_index == 0 {
                    "the plan (when it did not exist)".into()
                } else {
                    format!("the plan (job modify index {})", job.job_modify_index)
                },
                message,
                already_registered,
            },
            e => NomadDeployError::api(address, format!("register job {:?}", job.job_id), e),
        })?;
    let action = format!("read job {:?}", job.job_id);
    let stored = client
        .job(&job.job_id)
        .await
        .map_err(|e| NomadDeployError::api(address, action.clone(), e))?
        .ok_or_else(|| {
            NomadDeployError::api(
                address,
                action,
                NomadError::NotFound {
                    message: "job not found right after it was registered".into(),
                },
            )
        })?;
    let version = stored.get("Version").and_then(Value::as_u64).unwrap_or_default();
    let changed = job.current_version != Some(version);
    Ok(NomadJobReport {
        job_id: job.job_id.clone(),
        namespace: job.namespace.clone(),
        job_type: job.job_type.clone(),
        changed,
        previous_version: job.current_version,
        version,
        eval_id: response.eval_id,
        job_modify_index: response.job_modify_index,
        deployment_id: None,
        status: if changed {
            RolloutStatus::Registered
        } else {
            RolloutStatus::Unchanged
        },
        status_description: String::new(),
        failures: Vec::new(),
    })
}

/// Whether Nomad creates deployments for the job: not when every group's update block sets
/// `MaxParallel` to 0.
pub(crate) fn has_deployments(job: &Value) -> bool {
    let max_parallel = |v: &Value| {
        v.get("Update")
            .and_then(|u| u.get("MaxParallel"))
            .and_then(Value::as_u64)
    };
    let job_level = max_parallel(job);
    job.get("TaskGroups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|g| max_parallel(g).or(job_level) != Some(0))
}
