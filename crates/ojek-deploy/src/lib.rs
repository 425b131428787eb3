//! Deploying rendered ojek apps to clusters: plan, apply, prune, rollout wait.
//!
//! [`clusters`] turns the platform file's cluster settings into connection settings;
//! [`kube`] deploys to Kubernetes with server-side apply (field manager `ojek`); [`nomad`]
//! registers Nomad jobs with `EnforceIndex` and follows their deployments. Both take what
//! `ojek_core::render` produced. This crate does I/O against clusters only: no rendering, no
//! store (callers record deployments, e.g. with [`kube::ApplyReport::hash`] or
//! `nomad::NomadApplyReport::jobs_hash`).
//!
//! # Tests
//! `tests/kube_deploy.rs` runs every scenario against `ojek_fake_cluster::kube::FakeKube`,
//! `tests/nomad_deploy.rs` against `ojek_fake_cluster::nomad::FakeNomad` (the real-Nomad
//! variables are in [`nomad`]'s docs).
//! One ignored test, `real_cluster_first_deploy_and_rollback`, runs first deploy, image
//! change and rollback against a real cluster:
//!
//! ```text
//! OJEK_E2E_KUBECONFIG=~/.kube/config \
//! OJEK_E2E_KUBE_CONTEXT=kind-ojek    # optional: the kubeconfig's current context otherwise
//! OJEK_E2E_NAMESPACE=ojek-e2e        # optional: the namespace to deploy into (default ojek-e2e)
//! cargo test -p ojek-deploy --test kube_deploy -- --ignored
//! ```
//!
//! It deploys `examples/driver-location.yaml` (staging) into that namespace with a public
//! image and leaves the namespace for inspection; delete it afterwards.

pub mod clusters;
mod error;
pub mod kube;
pub mod nomad;

pub use error::{ConnectCause, DeployError, FieldConflict};
