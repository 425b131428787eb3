//! Experiments (Whiterabbit): the `Experiment` custom resource and everything that follows
//! from one, as pure functions: validation against the app and the platform, the variant
//! shards (the app rendered with each variant's overrides into its own namespace), the
//! weighted route (Gateway API HTTPRoute with ReferenceGrants, or an Istio
//! VirtualService), and the status. No I/O and no clock: the controller passes in what it
//! observed and the time.

pub mod crd;

pub use crd::{Experiment, ExperimentSpec, ExperimentStatus, Phase};
pub mod desired;
pub mod file;
pub mod route;
pub mod validate;
