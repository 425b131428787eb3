//! Following a job version's deployment until it ends or the wait runs out, and explaining a
//! failure from the allocations' task events.

use std::time::Duration;

use ojek_nomad_api::{Deployment, NomadClient};
use tokio::time::Instant;

use super::{AllocationFailure, NomadDeployError, Result, RolloutStatus};

/// Where following a deployment ended.
pub(crate) struct Rollout {
    pub status: RolloutStatus,
    pub deployment_id: Option<String>,
    pub description: String,
    pub failures: Vec<AllocationFailure>,
}

/// Polls the latest deployment of `job_id` until the one of `version` is terminal, a newer
/// version's appears, or `wait` has passed. With `wait` `None`, looks once and reports
/// [`RolloutStatus::NotFollowed`].
pub(crate) async fn follow(
    client: &NomadClient,
    job_id: &str,
    version: u64,
    wait: Option<Duration>,
    poll_interval: Duration,
) -> Result<Rollout> {
    let address = &client.config().address;
    let start = Instant::now();
    let mut seen: Option<Deployment> = None;
    loop {
        let action = format!("read the deployment of job {job_id:?}");
        let latest = client
            .latest_deployment(job_id)
            .await
            .map_err(|e| NomadDeployError::api(address, action, e))?;
        if let Some(d) = latest {
            if d.job_version > version {
                return Ok(Rollout {
                    status: RolloutStatus::Superseded,
                    deployment_id: seen.map(|s| s.id),
                    description: format!(
                        "version {} of the job was registered meanwhile (deployment {})",
                        d.job_version, d.id
                    ),
                    failures: Vec::new(),
                });
            }
            if d.job_version == version {
                if d.is_terminal() {
                    let status = if d.is_successful() {
                        RolloutStatus::Successful
                    } else {
                        RolloutStatus::Failed
                    };
                    let failures = if d.is_successful() {
                        Vec::new()
                    } else {
                        failures(client, job_id, version).await?
                    };
                    return Ok(Rollout {
                        status,
                        deployment_id: Some(d.id),
                        description: d.status_description,
                        failures,
                    });
                }
                seen = Some(d);
            }
        }
        let Some(wait) = wait else {
            return Ok(Rollout {
                status: RolloutStatus::NotFollowed,
                description: seen
                    .as_ref()
                    .map(|d| d.status_description.clone())
                    .unwrap_or_default(),
                deployment_id: seen.map(|d| d.id),
                failures: Vec::new(),
            });
        };
        let elapsed = start.elapsed();
        if elapsed >= wait {
            let description = match &seen {
                Some(d) => format!("still {} after {:?}: {}", d.status, wait, d.status_description),
                None => format!("no deployment of version {version} appeared within {wait:?}"),
            };
            return Ok(Rollout {
                status: RolloutStatus::TimedOut,
                deployment_id: seen.map(|d| d.id),
                description,
                failures: failures(client, job_id, version).await?,
            });
        }
        tokio::time::sleep(poll_interval.min(wait - elapsed)).await;
    }
}

/// The failing tasks of the allocations that run `version` of the job.
pub(crate) async fn failures(
    client: &NomadClient,
    job_id: &str,
    version: u64,
) -> Result<Vec<AllocationFailure>> {
    let action = format!("list the allocations of job {job_id:?}");
    let allocations = client
        .allocations(job_id)
        .await
        .map_err(|e| NomadDeployError::api(&client.config().address, action, e))?;
    Ok(allocations
        .iter()
        .filter(|a| a.job_version == version)
        .flat_map(AllocationFailure::of)
        .collect())
}
