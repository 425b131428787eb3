//! What stops a Nomad deploy, each error naming the cluster and saying what to do.

use ojek_nomad_api::NomadError;

use super::RollbackTarget;

/// An error deploying to (or rolling back on) a Nomad cluster.
#[derive(Debug, thiserror::Error)]
pub enum NomadDeployError {
    /// The cluster settings cannot be used (bad address, unreadable TLS files).
    #[error("Nomad cluster {address}: {message}")]
    Config {
        /// The cluster's address.
        address: String,
        /// What is wrong.
        message: String,
    },
    /// The rendered objects are not Nomad jobs ojek can submit.
    #[error("cannot deploy to Nomad: {message}")]
    InvalidJobs {
        /// What is wrong, e.g. `object 2 has no Job.ID`.
        message: String,
    },
    /// No answer from the agent (connection refused, DNS, TLS, timeout).
    #[error("cannot reach Nomad at {address}: {cause} (check the address, the network and the TLS settings)")]
    Unreachable {
        /// The cluster's address.
        address: String,
        /// The underlying error.
        cause: String,
    },
    /// The agent refused the ACL token (missing, unknown, or without the needed policy).
    #[error(
        "Nomad at {address} refused to {action} ({message}): use a token (NOMAD_TOKEN) whose ACL policy allows it in this namespace"
    )]
    PermissionDenied {
        /// The cluster's address.
        address: String,
        /// What ojek was doing, e.g. `plan job "web"`.
        action: String,
        /// Nomad's message.
        message: String,
    },
    /// The job changed in Nomad after the plan (or the version read before a rollback): ojek
    /// did not overwrite it.
    #[error(
        "job {job_id:?} on Nomad at {address} changed since {since}: {message}. Nothing was overwritten{}; run the plan again, review the changes and apply it",
        already_registered_note(.already_registered)
    )]
    Conflict {
        /// The cluster's address.
        address: String,
        /// The job.
        job_id: String,
        /// What ojek read it at, e.g. `the plan (job modify index 12)`.
        since: String,
        /// Nomad's message.
        message: String,
        /// Jobs of the same deploy registered before this one.
        already_registered: Vec<String>,
    },
    /// The job to roll back does not exist in the namespace.
    #[error("job {job_id:?} not found in namespace {namespace:?} on Nomad at {address}")]
    JobNotFound {
        /// The cluster's address.
        address: String,
        /// The namespace.
        namespace: String,
        /// The job.
        job_id: String,
    },
    /// No retained version of the job matches the rollback target (Nomad keeps the last few).
    #[error("job {job_id:?} on Nomad at {address} has no {target}; retained versions: {available}")]
    VersionNotFound {
        /// The cluster's address.
        address: String,
        /// The job.
        job_id: String,
        /// What was asked for.
        target: RollbackTarget,
        /// The retained versions with their ojek revisions, e.g. `3 (revision 7), 2, 1`.
        available: String,
    },
    /// Any other error answer from the agent.
    #[error("Nomad at {address} failed to {action}: {source}")]
    Api {
        /// The cluster's address.
        address: String,
        /// What ojek was doing.
        action: String,
        /// The client's error.
        #[source]
        source: NomadError,
    },
}

fn already_registered_note(jobs: &[String]) -> String {
    if jobs.is_empty() {
        String::new()
    } else {
        format!(" (already registered by this deploy: {})", jobs.join(", "))
    }
}

impl NomadDeployError {
    /// The error for a failed API call made while doing `action` on the cluster at `address`.
    pub(crate) fn api(address: &str, action: impl Into<String>, error: NomadError) -> Self {
        let action = action.into();
        match error {
            NomadError::Unreachable { address, cause } => NomadDeployError::Unreachable { address, cause },
            NomadError::PermissionDenied { message } => NomadDeployError::PermissionDenied {
                address: address.to_string(),
                action,
                message,
            },
            NomadError::Config { message } => NomadDeployError::Config {
                address: address.to_string(),
                message,
            },
            source => NomadDeployError::Api {
                address: address.to_string(),
                action,
                source,
            },
        }
    }
}
