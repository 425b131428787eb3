//! What every part of the Nomad renderer needs: the sources (manifest and platform), the
//! environment's Nomad settings, the origins recorded for the object being built, and the
//! problems found so far. Nothing here knows the shape of a job.

use ojek_output::doc::escape;
use ojek_output::{Origin, Sources, Support};
use ojek_spec::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use ojek_spec::platform::{NomadProfile, TargetKind};
use ojek_spec::source::{Node, Path};

/// The renderer's state for one app in one environment.
pub(crate) struct Cx<'a> {
    /// Manifest and platform file.
    pub src: &'a Sources<'a>,
    /// The Nomad profile of the environment.
    pub profile: &'a NomadProfile,
    /// Platform path of the profile's `nomad` section (`profiles.dc1.nomad`).
    pub profile_path: String,
    /// Platform path of the environment's `nomad` section (`environments.production.nomad`).
    pub env_path: String,
    /// Fields Nomad cannot express (errors, or warnings under `bestEffort`).
    pub support: Support,
    /// Other problems (bad bindings, names Nomad rejects) and plain warnings.
    pub diags: Diagnostics,
}

impl<'a> Cx<'a> {
    /// Finds the environment's Nomad settings; an error says what to add to the platform file.
    pub fn new(src: &'a Sources<'a>) -> Result<Self, Diagnostics> {
        let env_name = src.app.env.as_str();
        let platform = &src.platform.platform;
        let fail = |path: &str, msg: String, hint: String| {
            Diagnostics(vec![
                Diagnostic::error(src.platform(path).location, msg)
                    .with_path(path)
                    .with_hint(hint),
            ])
        };
        let Some(env) = platform.environments.get(env_name) else {
            let names: Vec<&str> = platform.environments.keys().map(String::as_str).collect();
            let hint = match did_you_mean(env_name, names.iter().copied()) {
                Some(m) => format!("did you mean `{m}`?"),
                None => format!("environments: {}", names.join(", ")),
            };
            return Err(fail(
                "environments",
                format!("the platform file has no environment `{env_name}`"),
                hint,
            ));
        };
        let env_path = format!("environments.{env_name}.nomad");
        let Some(nomad) = &env.nomad else {
            return Err(fail(
                &format!("environments.{env_name}"),
                format!("environment `{env_name}` has no `nomad` settings"),
                format!(
                    "ask the platform team to add environments.{env_name}.nomad (a profile with nomad settings), or render for kubernetes"
                ),
            ));
        };
        let Some(profile) = platform
            .profiles
            .get(&nomad.profile)
            .and_then(|p| p.nomad.as_ref())
        else {
            return Err(fail(
                &format!("{env_path}.profile"),
                format!("profile `{}` has no `nomad` settings", nomad.profile),
                "ask the platform team to add a nomad section (region, datacenters) to the profile".into(),
            ));
        };
        Ok(Cx {
            src,
            profile,
            profile_path: format!("profiles.{}.nomad", nomad.profile),
            env_path,
            support: Support::default(),
            diags: Diagnostics::default(),
        })
    }

    /// Origin of a manifest field (as `Sources::manifest`, without a detour through text).
    pub fn at(&self, path: &Path) -> Origin {
        locate(&self.src.app.node, path, String::new())
    }

    /// Origin of a manifest field, with a note on how the value was derived.
    pub fn at_note(&self, path: &Path, note: impl Into<String>) -> Origin {
        locate(&self.src.app.node, path, note.into())
    }

    /// Origin of a field of the environment's Nomad profile (`region`).
    pub fn profile_field(&self, field: &str, note: impl Into<String>) -> Origin {
        self.src
            .platform_note(&format!("{}.{field}", self.profile_path), note)
    }

    /// True when the platform file sets `path` (`profiles.dc1.nomad.router`).
    pub fn has_platform(&self, path: &str) -> bool {
        Path::parse(path).is_some_and(|p| self.src.platform.node.get(&p).is_some())
    }

    /// The origin of a field of the environment's Nomad profile, or a default with `reason`
    /// when the platform file leaves it out.
    pub fn profile_or_default(&self, field: &str, reason: &str) -> Origin {
        if self.has_platform(&format!("{}.{field}", self.profile_path)) {
            self.profile_field(field, "")
        } else {
            Origin::default(reason)
        }
    }

    /// Reports that Nomad cannot express the manifest field at `path`.
    pub fn unsupported(&mut self, path: &Path, why: &str, alternative: &str) {
        self.support
            .unsupported(self.src, TargetKind::Nomad, &path.to_string(), why, alternative);
    }

    /// Reports an error at a manifest field.
    pub fn error(&mut self, path: &Path, message: impl Into<String>, hint: impl Into<String>) {
        let loc = self.at(path).location;
        self.diags
            .push(Diagnostic::error(loc, message).with_path(path).with_hint(hint));
    }

    /// Reports a warning at a manifest field.
    pub fn warn(&mut self, path: &Path, message: impl Into<String>) {
        let loc = self.at(path).location;
        self.diags.push(Diagnostic::warning(loc, message).with_path(path));
    }

    /// Fills a platform name template (`{app}`, `{team}`, `{env}`).
    pub fn fill(&self, template: &str) -> String {
        ojek_output::bind::fill(self.src, template, None)
    }

    /// Every diagnostic found, sorted.
    pub fn finish(self) -> Diagnostics {
        let mut all = self.support.diagnostics;
        all.0.extend(self.diags.0);
        all.sort();
        all
    }
}

/// The origin of the field at `path`, or of its nearest existing parent (a field left out
/// points at its enclosing block) with `field` still naming `path`.
fn locate(root: &Node, path: &Path, note: String) -> Origin {
    let mut depth = path.0.len();
    loop {
        let prefix = Path(path.0[..depth].to_vec());
        if let Some(node) = root.get(&prefix) {
            return Origin::from_node(node, path, note);
        }
        if depth == 0 {
            return Origin::from_node(root, path, note);
        }
        depth -= 1;
    }
}

/// Origins recorded by JSON pointer while an object is built; applied to its `Doc` at the end.
#[derive(Default)]
pub(crate) struct Traces(pub Vec<(String, Origin)>);

impl Traces {
    /// Records that the field at `pointer` came from `origin`.
    pub fn add(&mut self, pointer: impl Into<String>, origin: Origin) {
        self.0.push((pointer.into(), origin));
    }
}

/// `base/key` as a JSON pointer, escaping the key.
pub(crate) fn ptr(base: &str, key: &str) -> String {
    format!("{base}/{}", escape(key))
}

/// The manifest path of a process (`processes.web`).
pub(crate) fn process_path(name: &str) -> Path {
    Path::root().key("processes").key(name)
}
