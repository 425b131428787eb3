//! The ojek app manifest and platform file.
//!
//! Pure and synchronous: parse YAML with locations ([`source`]), check it against the JSON
//! Schema ([`schema`]), merge environment overrides and validate ([`load`], [`validate`]).
//! This crate does no I/O: files referenced by a manifest are read through a [`FileReader`]
//! the caller supplies. It knows nothing about Kubernetes or Nomad output.

pub mod de;
pub mod diagnostic;
pub mod load;
pub mod manifest;
pub mod platform;
pub mod schema;
pub mod source;
pub mod validate;
pub mod values;

pub use diagnostic::{Diagnostic, Diagnostics, Severity};
pub use load::{
    FileReader, LoadedApp, LoadedPlatform, NoFiles, ResolvedApp, load_app, load_platform, resolve,
    validate_all,
};
pub use manifest::App;
pub use platform::{Platform, TargetKind};
pub use source::{Layer, Location, Node, Path};
