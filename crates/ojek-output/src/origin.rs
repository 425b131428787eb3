//! Where a generated field came from: the answer `ojek explain` gives.

use std::borrow::Cow;
use std::fmt;

use ojek_spec::load::{LoadedPlatform, ResolvedApp};
use ojek_spec::source::{Layer, Location, Node, Path};
use serde::Serialize;

/// The kinds of sources a generated field can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum OriginKind {
    /// A field of the app manifest's body.
    Manifest,
    /// An `environments.<env>` override in the app manifest.
    Environment,
    /// The platform file (profile, environment, binding).
    Platform,
    /// A built-in default of ojek; the note says why.
    Default,
    /// An escape-hatch patch.
    Patch,
    /// An extra raw object from the manifest.
    Raw,
    /// A variant's overrides in an Experiment; `env` names `<experiment>/<variant>`.
    Experiment,
}

/// One answer to "where did this field come from?".
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Origin {
    /// Manifest, environment override, platform, default, patch or raw object.
    pub kind: OriginKind,
    /// Environment name, for environment overrides; `<experiment>/<variant>` for an
    /// experiment's overrides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// Where in which file, when it came from a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// The source field (`processes.web.scaling.replicas`), when it came from one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Why: how the value was derived, or the reason for a default. Most notes are fixed
    /// text, so this borrows them rather than copying each time an origin is recorded.
    pub note: Cow<'static, str>,
    /// Other manifest fields the value was derived from (`resources.db` for `${resources.db.url}`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<String>,
}

impl Origin {
    /// Set by an experiment (`<experiment>` or `<experiment>/<variant>`), with what it does.
    pub fn experiment(name: impl Into<String>, note: impl Into<Cow<'static, str>>) -> Self {
        Origin {
            kind: OriginKind::Experiment,
            env: Some(name.into()),
            location: None,
            field: None,
            note: note.into(),
            inputs: Vec::new(),
        }
    }

    /// A built-in default, with the reason it is the default.
    pub fn default(reason: impl Into<Cow<'static, str>>) -> Self {
        Origin {
            kind: OriginKind::Default,
            env: None,
            location: None,
            field: None,
            note: reason.into(),
            inputs: Vec::new(),
        }
    }

    /// The field at `path` of a located tree (manifest, override or platform, by its layer).
    pub fn from_node(node: &Node, path: &Path, note: impl Into<Cow<'static, str>>) -> Self {
        Origin::at(
            node,
            Some(path.to_string()).filter(|p| !p.is_empty()),
            note.into(),
        )
    }

    /// The origin of `node`, its kind and environment taken from the node's layer.
    fn at(node: &Node, field: Option<String>, note: Cow<'static, str>) -> Self {
        let (kind, env) = match &node.layer {
            Layer::Manifest => (OriginKind::Manifest, None),
            Layer::Environment(e) => (OriginKind::Environment, Some(e.to_string())),
            Layer::Platform => (OriginKind::Platform, None),
            Layer::Experiment(e) => (OriginKind::Experiment, Some(e.to_string())),
        };
        Origin {
            kind,
            env,
            location: Some(node.loc.clone()),
            field,
            note,
            inputs: Vec::new(),
        }
    }

    /// Adds a manifest field the value was derived from.
    pub fn with_input(mut self, field: impl Into<String>) -> Self {
        let f = field.into();
        if !self.inputs.contains(&f) {
            self.inputs.push(f);
        }
        self
    }

    /// Replaces the note.
    pub fn with_note(mut self, note: impl Into<Cow<'static, str>>) -> Self {
        self.note = note.into();
        self
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            OriginKind::Manifest => "manifest".to_string(),
            OriginKind::Environment => {
                format!("environment override `{}`", self.env.as_deref().unwrap_or("?"))
            }
            OriginKind::Platform => "platform".to_string(),
            OriginKind::Default => "default".to_string(),
            OriginKind::Patch => "patch".to_string(),
            OriginKind::Raw => "raw object".to_string(),
            OriginKind::Experiment => {
                format!("experiment variant `{}`", self.env.as_deref().unwrap_or("?"))
            }
        };
        write!(f, "{what}")?;
        if let Some(field) = &self.field {
            write!(f, " {field}")?;
        }
        if let Some(loc) = &self.location {
            write!(f, " ({loc})")?;
        }
        if !self.note.is_empty() {
            write!(f, ": {}", self.note)?;
        }
        Ok(())
    }
}

/// Looks up origins in the resolved app and the platform file for a renderer.
#[derive(Clone, Copy)]
pub struct Sources<'a> {
    /// The app, resolved for one environment.
    pub app: &'a ResolvedApp,
    /// The platform file.
    pub platform: &'a LoadedPlatform,
}

impl<'a> Sources<'a> {
    /// Origin of a manifest field (text path like `processes.web.image`); falls back to the
    /// nearest existing parent, so a field that was left out points at its enclosing block.
    pub fn manifest(&self, path: &str) -> Origin {
        locate(&self.app.node, path, "")
    }

    /// Like [`Sources::manifest`], with a note on how the value was derived.
    pub fn manifest_note(&self, path: &str, note: impl Into<Cow<'static, str>>) -> Origin {
        locate(&self.app.node, path, note)
    }

    /// Origin of a platform-file field.
    pub fn platform(&self, path: &str) -> Origin {
        locate(&self.platform.node, path, "")
    }

    /// Like [`Sources::platform`], with a note.
    pub fn platform_note(&self, path: &str, note: impl Into<Cow<'static, str>>) -> Origin {
        locate(&self.platform.node, path, note)
    }
}

fn locate(root: &Node, path: &str, note: impl Into<Cow<'static, str>>) -> Origin {
    let (node, _) = root.deepest(path);
    Origin::at(node, (!path.is_empty()).then(|| path.to_string()), note.into())
}
