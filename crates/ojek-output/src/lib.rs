//! What renderers produce: objects ([`Doc`]) that remember, for every field, where it came
//! from ([`Origin`]); escape-hatch patches applied to them ([`patch`]); and deterministic YAML
//! and JSON writers ([`yaml`]).
//!
//! Target renderers (Kubernetes, Nomad) build on this crate; it knows neither target.

pub mod doc;
pub mod origin;
pub mod patch;
pub mod yaml;

pub use doc::{Doc, Origins, Param, Rendered};
pub use origin::{Origin, OriginKind, Sources};
pub mod bind;
pub mod support;
pub use support::Support;
