//! Deploying rendered apps to Nomad: plan, apply (register with `EnforceIndex`, then follow the
//! rollout), and rollback to an earlier job version.
//!
//! The input is what `ojek render` produces for a Nomad environment: `{"Job": …}` documents,
//! the service job first, then extra batch or periodic jobs. For each job:
//!
//! - [`plan`] asks the scheduler for a dry run with a diff (`POST /v1/job/{id}/plan`), printed
//!   like `nomad job plan`, and keeps the job's modify index. The job is planned as it will be
//!   submitted, with two things taken from the running job so that they never show as changes:
//!   the `ojek.dev/revision` meta key and the counts of autoscaled groups (groups with a
//!   `Scaling` block belong to the Nomad Autoscaler once running).
//! - [`apply_plan`] registers each job with `EnforceIndex` set to the planned modify index, so
//!   a job that somebody changed since the plan is not overwritten
//!   ([`NomadDeployError::Conflict`]), and with `PreserveCounts` when the job has autoscaled
//!   groups. A changed job gets `Meta["ojek.dev/revision"]` = the ojek revision (the rendered
//!   meta keys stay). Then, for a service job whose version changed, it follows the job's
//!   deployment until it is `successful`, `failed` or the wait runs out; on failure it reads
//!   the allocations of the new version and reports their failing task events. Batch and
//!   periodic jobs have no deployment: registering them is the whole of it.
//!   [`apply`] is [`plan`] then [`apply_plan`].
//! - [`rollback`] finds an earlier version (by number, or by the ojek revision in its meta:
//!   the newest version of the highest revision at or below the one asked for, since a job
//!   that did not change in a revision has no version carrying it), reverts to it with
//!   `EnforcePriorVersion` and follows the deployment like apply; a job already at that
//!   version is left alone.
//!
//! A failed or timed-out rollout is a result ([`RolloutStatus`]), not an error: errors are for
//! what stopped ojek from doing its part (unreachable agent, permission denied, conflict).
//! Every error names the cluster's address.
//!
//! This module does not render, store deployment records or prune jobs that are no longer
//! rendered; it reports a hash of the rendered jobs ([`jobs_hash`]) for the records.
//!
//! # Testing against a real Nomad
//!
//! `tests/nomad_deploy.rs` runs against the in-process fake agent of `ojek-fake-cluster`;
//! `tests/e2e_nomad.rs` runs the same scenarios against a real agent (ignored; see
//! `docs/deploy-e2e.md`) when these variables are set, the same ones the `nomad` CLI reads
//! (see [`NomadCluster::from_env`]):
//!
//! - `NOMAD_ADDR`: the agent's address, e.g. `http://127.0.0.1:4646` (required);
//! - `NOMAD_TOKEN`: an ACL token allowed to submit, read, revert and purge jobs (when ACLs are on);
//! - `NOMAD_NAMESPACE`: the namespace to deploy into (default `default`);
//! - `NOMAD_REGION`: the region (default: the agent's);
//! - `NOMAD_CACERT`, `NOMAD_CLIENT_CERT`, `NOMAD_CLIENT_KEY`: TLS files, when the agent
//!   serves HTTPS.
//!
//! `cargo test -p ojek-deploy --test e2e_nomad -- --ignored` (with `nomad agent -dev` running,
//! for instance).

mod apply;
mod cluster;
mod error;
mod live;
mod plan;
mod report;
mod rollback;
mod rollout;

pub use apply::{Deployment, NomadApplyOptions, apply, apply_plan};
pub use cluster::NomadCluster;
pub use error::NomadDeployError;
pub use live::{LiveJob, live};
pub use plan::{NomadJobPlan, NomadPlan, jobs_hash, plan};
pub use report::{AllocationFailure, FailureEvent, NomadApplyReport, NomadJobReport, RolloutStatus};
pub use rollback::{RollbackTarget, rollback};

/// The job meta key that holds the ojek revision a job version was deployed from.
pub const REVISION_META_KEY: &str = "ojek.dev/revision";

/// Results of this module.
pub type Result<T, E = NomadDeployError> = std::result::Result<T, E>;
