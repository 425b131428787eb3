//! What can go wrong while deploying, with the cluster named and what to do next.

use serde::Serialize;

use crate::kube::ApplyReport;

/// Why a cluster could not be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectCause {
    /// The kubeconfig (or in-cluster environment) could not be read or used.
    Config,
    /// Nothing answered: connection refused, DNS, timeout.
    Unreachable,
    /// The TLS handshake failed (certificate, CA, protocol).
    Tls,
    /// The server answered 401 or 403.
    Auth,
    /// The server answered, but not like a Kubernetes API server.
    Other,
}

impl std::fmt::Display for ConnectCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ConnectCause::Config => "cannot load its configuration",
            ConnectCause::Unreachable => "unreachable",
            ConnectCause::Tls => "TLS handshake failed",
            ConnectCause::Auth => "authentication or authorisation failed",
            ConnectCause::Other => "unexpected answer",
        })
    }
}

/// A field another field manager owns with a different value (from a 409 `Status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldConflict {
    /// The field, as the server names it: `.spec.template.spec.containers[name="web"].image`.
    pub field: String,
    /// The manager that owns it, e.g. `kubectl`.
    pub manager: String,
}

/// Everything `ojek-deploy` reports as a failure.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The cluster could not be reached or refused us; nothing was applied.
    #[error("cluster `{cluster}`: {cause}: {message}")]
    Connect {
        /// The cluster's name from the configuration.
        cluster: String,
        /// Unreachable, TLS, auth, …
        cause: ConnectCause,
        /// What the client said.
        message: String,
    },
    /// A request failed (server error, timeout) after connecting.
    #[error("cluster `{cluster}`: {action}: {source}")]
    Api {
        /// The cluster's name.
        cluster: String,
        /// What ojek was doing, e.g. `apply Deployment/web`.
        action: String,
        /// The client error.
        #[source]
        source: Box<kube::Error>,
    },
    /// A rendered object's kind is not served by the cluster (a missing CRD, or an API
    /// version the cluster does not have).
    #[error(
        "cluster `{cluster}` does not serve {api_version} {kind} (object {name}); install its CRD or \
         render for this cluster's Kubernetes version"
    )]
    UnknownKind {
        /// The cluster's name.
        cluster: String,
        /// `apiVersion` of the object.
        api_version: String,
        /// `kind` of the object.
        kind: String,
        /// The object's name.
        name: String,
    },
    /// A rendered object is not a Kubernetes object (no kind, apiVersion or name).
    #[error("not a Kubernetes object: {0}")]
    InvalidObject(String),
    /// Rendered objects of another target (Nomad) were given to the Kubernetes deployer.
    #[error("these objects were rendered for {0}, not Kubernetes")]
    WrongTarget(String),
    /// Server-side apply found fields another manager owns with other values.
    #[error(
        "cluster `{cluster}`: {object} has fields owned by another field manager:\n{}\nRe-run with \
         --force to take them over (their values will be overwritten)",
        conflicts.iter().map(|c| format!("  {} (owned by {})", c.field, c.manager)).collect::<Vec<_>>().join("\n")
    )]
    Conflict {
        /// The cluster's name.
        cluster: String,
        /// `Deployment/web`.
        object: String,
        /// Each conflicting field and its manager.
        conflicts: Vec<FieldConflict>,
    },
    /// Applying stopped part-way: `report` says what was applied and what failed.
    #[error("{source}")]
    Incomplete {
        /// Objects applied before the failure (they stay), the failed one, the rest not applied.
        report: Box<ApplyReport>,
        /// Why the failed object failed.
        #[source]
        source: Box<DeployError>,
    },
}

impl DeployError {
    /// The underlying error: the cause of an [`DeployError::Incomplete`], else `self`.
    pub fn root(&self) -> &DeployError {
        match self {
            DeployError::Incomplete { source, .. } => source.root(),
            other => other,
        }
    }

    /// The partial report of an interrupted apply, if any.
    pub fn report(&self) -> Option<&ApplyReport> {
        match self {
            DeployError::Incomplete { report, .. } => Some(report),
            _ => None,
        }
    }
}
