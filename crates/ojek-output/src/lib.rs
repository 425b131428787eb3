//! What renderers produce: objects ([`Doc`]) that remember, for every field, where it came
//! from ([`Origin`]); escape-hatch patches applied to them ([`patch`]); env values bound through
//! the platform ([`bind`]); reports of what a target cannot express ([`support`]); and a
//! deterministic YAML writer ([`yaml`]).
//!
//! Target renderers (Kubernetes, Nomad) build on this crate. It holds what both share: it
//! only knows how to name an object of either kind (`Kind/name`, or `Job/<ID>` for Nomad's
//! JSON form) and which target's half of a platform binding to read.

pub mod doc;
pub mod origin;
pub mod patch;
pub mod yaml;

pub use doc::{Doc, Origins, Param, Rendered};
pub use origin::{Origin, OriginKind, Sources};
pub mod bind;
pub mod support;
pub use support::Support;
