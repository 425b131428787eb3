//! A small typed client of the HashiCorp Nomad HTTP API (v1), for `ojek deploy`.
//!
//! It covers what deploying needs and nothing more: plan a job (with the scheduler's diff),
//! register it with `EnforceIndex`, read the job, its versions, its latest deployment and its
//! allocations (with task events, to explain failures), revert to a version and deregister.
//! TLS (custom CA, client certificate), ACL tokens (`X-Nomad-Token`), region and namespace are
//! configured once in [`NomadConfig`].
//!
//! The job itself stays a `serde_json::Value`: ojek renders it (`ojek-nomad`), this crate only
//! sends it. Responses are decoded into the typed structs of [`types`] that keep the fields
//! ojek reads and ignore the rest. [`format_plan_diff`] prints a plan like `nomad job plan`.
//!
//! This crate knows nothing about manifests or rendering, and never retries on its own: the
//! caller decides what a failed request means.

mod client;
mod config;
mod error;
mod plan_format;
pub mod types;

pub use client::NomadClient;
pub use config::NomadConfig;
pub use error::NomadError;
pub use plan_format::format_plan_diff;
pub use types::{
    AllocationStub, Deployment, DeploymentState, DeregisterResponse, FieldDiff, JobDiff, JobListStub,
    JobVersions, ObjectDiff, PlanResponse, RegisterResponse, TaskDiff, TaskEvent, TaskGroupDiff, TaskState,
};

/// Results of this crate.
pub type Result<T, E = NomadError> = std::result::Result<T, E>;
