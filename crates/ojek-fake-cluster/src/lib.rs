//! Fake clusters for ojek's tests: an in-process Kubernetes API server (`kube`) and Nomad agent.
//!
//! Each fake is an axum server on `127.0.0.1:0` that implements the endpoints ojek uses, with
//! simulated controllers and fault injection. Never used against real clusters.

pub mod kube;
pub mod nomad;
