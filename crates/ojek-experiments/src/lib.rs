//! Experiments (Whiterabbit): the `Experiment` custom resource and everything that follows
//! from one, as pure functions: validation against the app and the platform, the variant
//! shards (the app rendered with each variant's overrides into its own namespace), the
//! weighted route (Gateway API HTTPRoute with ReferenceGrants, or an Istio
//! VirtualService), the controller's decisions and the status (`plan`), and on Nomad a job per
//! variant with Consul's service-router and service-splitter entries (`nomad`). No I/O and no
//! clock: the controller passes in what it observed and the time.

pub mod crd;

pub use crd::{Experiment, ExperimentSpec, ExperimentStatus, Phase};
pub mod desired;
pub mod file;
pub mod nomad;
pub mod plan;
pub mod route;
pub mod validate;
