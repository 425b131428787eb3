//! What runs now: each rendered job as the Nomad cluster has it (status, version, the ojek
//! revision it came from, allocations of that version, the latest deployment), for the live
//! status of an environment. Reads only.

use serde::Serialize;
use serde_json::Value;

use super::plan::{rendered_jobs, str_of};
use super::{NomadCluster, NomadDeployError, Result};
use ojek_output::Rendered;

/// One job as the cluster has it now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveJob {
    /// Job ID.
    pub job_id: String,
    /// Namespace.
    pub namespace: String,
    /// Whether the job is registered.
    pub exists: bool,
    /// Nomad's status: `pending`, `running` or `dead`.
    pub status: String,
    /// Whether it was stopped.
    pub stopped: bool,
    /// The job's version.
    pub version: u64,
    /// Its meta `ojek.dev/revision`: the app revision it was registered from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Allocations asked for (the task groups' counts).
    pub desired: u64,
    /// Allocations of this version that are running.
    pub running: u64,
    /// Allocations of this version that failed.
    pub failed: u64,
    /// The latest deployment's status and description, e.g. `successful: Deployment completed
    /// successfully`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
}

/// The live state of every job `rendered` has, each in its own namespace and region.
pub async fn live(cluster: &NomadCluster, rendered: &Rendered) -> Result<Vec<LiveJob>> {
    let mut out = Vec::new();
    for job in rendered_jobs(rendered)? {
        let id = str_of(job, "ID");
        let namespace = job.get("Namespace").and_then(Value::as_str);
        let region = job.get("Region").and_then(Value::as_str);
        let client = cluster.client_for(namespace, region)?;
        let error = |action: &str| {
            let action = format!("{action} {id:?}");
            move |e| NomadDeployError::api(&cluster.address, action, e)
        };
        let namespace = namespace
            .map(str::to_string)
            .or_else(|| cluster.namespace.clone())
            .unwrap_or_else(|| "default".into());
        let Some(registered) = client.job(id).await.map_err(error("read job"))? else {
            out.push(LiveJob {
                job_id: id.to_string(),
                namespace,
                exists: false,
                status: "not registered".into(),
                stopped: false,
                version: 0,
                revision: None,
                desired: 0,
                running: 0,
                failed: 0,
                deployment: None,
            });
            continue;
        };
        let version = registered.get("Version").and_then(Value::as_u64).unwrap_or(0);
        let allocations = client
            .allocations(id)
            .await
            .map_err(error("list allocations of"))?;
        let of_version = |status: &str| {
            allocations
                .iter()
                .filter(|a| a.job_version == version && a.client_status == status)
                .count() as u64
        };
        let deployment = client
            .latest_deployment(id)
            .await
            .map_err(error("read the deployment of"))?
            .map(|d| {
                if d.status_description.is_empty() {
                    d.status
                } else {
                    format!("{}: {}", d.status, d.status_description)
                }
            });
        out.push(LiveJob {
            job_id: id.to_string(),
            namespace,
            exists: true,
            status: str_of(&registered, "Status").to_string(),
            stopped: registered.get("Stop").and_then(Value::as_bool) == Some(true),
            version,
            revision: registered
                .pointer("/Meta/ojek.dev~1revision")
                .and_then(Value::as_str)
                .map(str::to_string),
            desired: desired(&registered),
            running: of_version("running"),
            failed: of_version("failed"),
            deployment,
        });
    }
    Ok(out)
}

/// The sum of a job's task groups' counts.
fn desired(job: &Value) -> u64 {
    job.get("TaskGroups")
        .and_then(Value::as_array)
        .map_or(0, |groups| {
            groups
                .iter()
                .map(|g| g.get("Count").and_then(Value::as_u64).unwrap_or(1))
                .sum()
        })
}
