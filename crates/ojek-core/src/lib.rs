//! The ojek pipeline, as one facade over the focused crates:
//! app manifest → validate → render (Kubernetes or Nomad) → package (YAML, JSON, Kustomize,
//! Helm; HCL or JSON for Nomad) → explain.
//!
//! Pure and synchronous like the crates below it: callers (CLI, server) read files and
//! write output. Same input, byte-identical output.

pub mod explain;
pub mod package;
pub mod pipeline;

pub use explain::{AppliedField, Explanation, applied_by_ojek, explain};
pub use ojek_output::{Doc, Origin, Rendered};
pub use ojek_spec as spec;
pub use package::{Format, NomadFormat, package};
pub use pipeline::{RenderOptions, render, validate_project};
