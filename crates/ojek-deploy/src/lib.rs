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
//! `tests/nomad_deploy.rs` against `ojek_fake_cluster::nomad::FakeNomad`.
//! `tests/e2e_kube.rs` and `tests/e2e_nomad.rs` run the same scenarios against a real cluster
//! (kind, k3d or minikube; `nomad agent -dev`). They are ignored, and fail at once naming the
//! variable to set when run without it:
//!
//! ```text
//! OJEK_E2E_KUBECONFIG=~/.kube/config cargo test -p ojek-deploy --test e2e_kube -- --ignored
//! NOMAD_ADDR=http://127.0.0.1:4646 cargo test -p ojek-deploy --test e2e_nomad -- --ignored
//! ```
//!
//! `docs/deploy-e2e.md` says how to start such clusters, which variables the tests read,
//! which images they pull, and what they create and delete (each test its own namespace or
//! jobs, removed at the end).

pub mod clusters;
mod error;
pub mod kube;
pub mod nomad;

pub use error::{ConnectCause, DeployError, FieldConflict};
