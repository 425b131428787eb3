//! Rolling a job back to an earlier version: find it among the retained versions, revert to it
//! with `EnforcePriorVersion`, follow the new deployment.
//!
//! By ojek revision, the version is the newest one deployed from the highest revision at or
//! below the one asked for: apply only sets `Meta["ojek.dev/revision"]` on jobs that change,
//! so a job that did not change in revision 7 (an extra batch or periodic job, say) ran
//! revision 5's version then, and that is what rolling back to 7 reverts it to.

use std::fmt;

use ojek_nomad_api::NomadError;
use serde_json::Value;

use super::apply::has_deployments;
use super::rollout::follow;
use super::{
    NomadApplyOptions, NomadCluster, NomadDeployError, NomadJobReport, REVISION_META_KEY, Result,
    RolloutStatus,
};

/// Which version to roll back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RollbackTarget {
    /// A Nomad job version.
    Version(u64),
    /// The job as it was at this ojek revision: the newest retained version deployed from the
    /// highest revision at or below it (`Meta["ojek.dev/revision"]`); see the module docs.
    Revision(u64),
}

impl fmt::Display for RollbackTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RollbackTarget::Version(v) => write!(f, "version {v}"),
            RollbackTarget::Revision(r) => write!(f, "version deployed from ojek revision {r} or earlier"),
        }
    }
}

/// Reverts job `job_id` (in the cluster's namespace) to `target` as a new version, only if the
/// current version is still the one read (`EnforcePriorVersion`), then follows its deployment
/// like [`apply`](super::apply). When `target` is the current version, nothing is reverted
/// (no revert call) and the report says [`RolloutStatus::Unchanged`]. No retained version
/// matching `target` is [`NomadDeployError::VersionNotFound`], naming the job.
pub async fn rollback(
    cluster: &NomadCluster,
    job_id: &str,
    target: RollbackTarget,
    options: &NomadApplyOptions,
) -> Result<NomadJobReport> {
    let client = cluster.client()?;
    let address = &cluster.address;
    let namespace = cluster.namespace.clone().unwrap_or_else(|| "default".into());
    let action = format!("read the versions of job {job_id:?}");
    let versions = match client.versions(job_id).await {
        Ok(v) => v.versions,
        Err(NomadError::NotFound { .. }) => Vec::new(),
        Err(e) => return Err(NomadDeployError::api(address, action, e)),
    };
    // Newest first, as Nomad returns them.
    let Some(current) = versions.first() else {
        return Err(NomadDeployError::JobNotFound {
            address: address.clone(),
            namespace,
            job_id: job_id.to_string(),
        });
    };
    let current_version = version_of(current);
    let wanted = find_version(&versions, target);
    let Some(wanted) = wanted else {
        return Err(NomadDeployError::VersionNotFound {
            address: address.clone(),
            job_id: job_id.to_string(),
            target,
            available: versions.iter().map(describe).collect::<Vec<_>>().join(", "),
        });
    };
    let wanted_version = version_of(wanted);
    let job_type = wanted
        .get("Type")
        .and_then(Value::as_str)
        .unwrap_or("service")
        .to_string();
    let mut report = NomadJobReport {
        job_id: job_id.to_string(),
        namespace,
        job_type,
        changed: false,
        previous_version: Some(current_version),
        version: current_version,
        eval_id: String::new(),
        job_modify_index: current
            .get("JobModifyIndex")
            .and_then(Value::as_u64)
            .unwrap_or_default(),
        deployment_id: None,
        status: RolloutStatus::Unchanged,
        status_description: String::new(),
        failures: Vec::new(),
    };
    if wanted_version == current_version {
        report.status_description = format!("version {current_version} is already the current version");
        return Ok(report);
    }
    let response = client
        .revert(job_id, wanted_version, Some(current_version))
        .await
        .map_err(|e| match e {
            NomadError::Conflict { message } => NomadDeployError::Conflict {
                address: address.clone(),
                job_id: job_id.to_string(),
                since: format!("ojek read it at version {current_version}"),
                message,
                already_registered: Vec::new(),
            },
            e => NomadDeployError::api(
                address,
                format!("revert job {job_id:?} to version {wanted_version}"),
                e,
            ),
        })?;
    let action = format!("read job {job_id:?}");
    let stored = client
        .job(job_id)
        .await
        .map_err(|e| NomadDeployError::api(address, action, e))?;
    report.version = stored.as_ref().map_or(current_version, version_of);
    report.changed = report.version != current_version;
    report.eval_id = response.eval_id;
    report.job_modify_index = response.job_modify_index;
    if !report.changed {
        return Ok(report);
    }
    report.status = RolloutStatus::Registered;
    let periodic = ["Periodic", "ParameterizedJob"]
        .iter()
        .any(|k| wanted.get(*k).is_some_and(|p| !p.is_null()));
    if report.job_type == "service" && !periodic && has_deployments(wanted) {
        let rollout = follow(
            &client,
            job_id,
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
    Ok(report)
}

/// The version `target` names among `versions` (newest first, as Nomad lists them).
fn find_version(versions: &[Value], target: RollbackTarget) -> Option<&Value> {
    match target {
        RollbackTarget::Version(n) => versions.iter().find(|v| version_of(v) == n),
        RollbackTarget::Revision(r) => {
            let at_or_below = |v: &&Value| revision_of(v).is_some_and(|rev| rev <= r);
            let highest = versions
                .iter()
                .filter(at_or_below)
                .filter_map(revision_of)
                .max()?;
            versions.iter().find(|v| revision_of(v) == Some(highest))
        }
    }
}

fn version_of(job: &Value) -> u64 {
    job.get("Version").and_then(Value::as_u64).unwrap_or_default()
}

/// The ojek revision a job version was deployed from.
fn revision_of(job: &Value) -> Option<u64> {
    job.get("Meta")?.get(REVISION_META_KEY)?.as_str()?.parse().ok()
}

/// `3 (revision 7)`, or `3` for a version ojek did not deploy.
fn describe(job: &Value) -> String {
    match revision_of(job) {
        Some(r) => format!("{} (revision {r})", version_of(job)),
        None => version_of(job).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn version(version: u64, revision: Option<u64>) -> Value {
        match revision {
            Some(r) => json!({"Version": version, "Meta": {REVISION_META_KEY: r.to_string()}}),
            None => json!({"Version": version, "Meta": {"team": "a"}}),
        }
    }

    fn found(versions: &[Value], target: RollbackTarget) -> Option<u64> {
        find_version(versions, target).map(version_of)
    }

    #[test]
    fn a_revision_finds_the_newest_version_of_the_highest_revision_at_or_below_it() {
        // Newest first: a rollback to revision 2 (version 4), revision 5, someone's version 2
        // without ojek's meta, revision 2, revision 1.
        let versions = [
            version(4, Some(2)),
            version(3, Some(5)),
            version(2, None),
            version(1, Some(2)),
            version(0, Some(1)),
        ];
        assert_eq!(found(&versions, RollbackTarget::Revision(2)), Some(4));
        assert_eq!(
            found(&versions, RollbackTarget::Revision(4)),
            Some(4),
            "unchanged in 3 and 4"
        );
        assert_eq!(found(&versions, RollbackTarget::Revision(5)), Some(3));
        assert_eq!(found(&versions, RollbackTarget::Revision(9)), Some(3));
        assert_eq!(found(&versions, RollbackTarget::Revision(1)), Some(0));
        assert_eq!(found(&versions, RollbackTarget::Revision(0)), None);
        assert_eq!(found(&versions, RollbackTarget::Version(2)), Some(2));
        assert_eq!(found(&versions, RollbackTarget::Version(7)), None);
    }
}
