//! What every part of the Nomad renderer needs: the sources (manifest and platform), the
//! environment's Nomad settings, the origins recorded for the object being built, and the
//! problems found so far. Nothing here knows the shape of a job.

use std::borrow::Cow;
use std::fmt;

use ojek_output::doc::escape;
use ojek_output::{Doc, Origin, Sources, Support};
use ojek_spec::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use ojek_spec::platform::{NomadProfile, TargetKind};
use ojek_spec::source::{Node, Path, Value as Yaml};
use serde_json::{Map, Value};

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
    /// The profile's `nomad` section located in the platform file (`None` when the profile's
    /// name is not one path segment: then fields are found through `profile_path`).
    profile_at: Option<Field<'a>>,
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
        let profile_path = format!("profiles.{}.nomad", nomad.profile);
        // A name with `.` or `[` (or none) reads as other path segments: such a profile is
        // looked up through its path text instead.
        let plain = !nomad.profile.is_empty() && !nomad.profile.contains(['.', '[']);
        let profile_at = plain.then(|| {
            Field::root(&src.platform.node)
                .key("profiles")
                .key(&nomad.profile)
                .key("nomad")
        });
        Ok(Cx {
            src,
            profile,
            profile_path,
            env_path,
            profile_at,
            support: Support::default(),
            diags: Diagnostics::default(),
        })
    }

    /// The root of the manifest, to build field paths from.
    pub fn manifest(&self) -> Field<'a> {
        Field::root(&self.src.app.node)
    }

    /// The manifest field of a process (`processes.web`).
    pub fn process<'n>(&self, name: &'n str) -> Field<'n>
    where
        'a: 'n,
    {
        self.manifest().key("processes").key(name)
    }

    /// Origin of a manifest field (as `Sources::manifest`, without a detour through text).
    pub fn at(&self, field: Field) -> Origin {
        field.into_origin("")
    }

    /// Origin of a manifest field, with a note on how the value was derived.
    pub fn at_note(&self, field: Field, note: impl Into<Cow<'static, str>>) -> Origin {
        field.into_origin(note)
    }

    /// Origin of a field of the environment's Nomad profile (`region`).
    pub fn profile_field(&self, field: &str, note: impl Into<Cow<'static, str>>) -> Origin {
        match &self.profile_at {
            Some(profile) => profile.key(field).into_origin(note),
            None => self
                .src
                .platform_note(&format!("{}.{field}", self.profile_path), note),
        }
    }

    /// True when the platform file sets `field` of the environment's Nomad profile.
    pub fn has_profile_field(&self, field: &str) -> bool {
        match &self.profile_at {
            Some(profile) => profile.has(field),
            None => Path::parse(&format!("{}.{field}", self.profile_path))
                .is_some_and(|p| self.src.platform.node.get(&p).is_some()),
        }
    }

    /// The origin of a field of the environment's Nomad profile, or a default with `reason`
    /// when the platform file leaves it out.
    pub fn profile_or_default(&self, field: &str, reason: &'static str) -> Origin {
        if self.has_profile_field(field) {
            self.profile_field(field, "")
        } else {
            Origin::default(reason)
        }
    }

    /// Reports that Nomad cannot express the manifest field at `field`.
    pub fn unsupported(&mut self, field: &Field, why: &str, alternative: &str) {
        self.support
            .unsupported(self.src, TargetKind::Nomad, &field.to_string(), why, alternative);
    }

    /// Reports an error at a manifest field.
    pub fn error(&mut self, field: &Field, message: impl Into<String>, hint: impl Into<String>) {
        self.diags.push(
            Diagnostic::error(Some(field.node.loc.clone()), message)
                .with_path(field)
                .with_hint(hint),
        );
    }

    /// Nanoseconds of a duration of `ms` milliseconds at manifest `field`; a duration too long
    /// for Go's `time.Duration` is an error there (and `None`, as for an unset one).
    pub fn duration_ns(&mut self, field: &Field, ms: Option<u64>) -> Option<i64> {
        let ms = ms?;
        let ns = crate::units::ns_from_ms(ms);
        if ns.is_none() {
            self.error(
                field,
                "the duration is too long for Nomad (at most about 292 years)",
                "use a shorter duration",
            );
        }
        ns
    }

    /// Reports a warning at a manifest field.
    pub fn warn(&mut self, field: &Field, message: impl Into<String>) {
        self.diags
            .push(Diagnostic::warning(Some(field.node.loc.clone()), message).with_path(field));
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

/// A field of the manifest or the platform file, located as its path is built: the path's
/// segments, and the node at that path or, for a field left out, at its nearest existing
/// parent (so its origin points at the enclosing block).
///
/// Building a path this way finds the node on the way down and allocates nothing; the path
/// is written out (as [`Path`] displays it) only for an origin or a diagnostic.
#[derive(Clone)]
pub(crate) struct Field<'a> {
    segments: [Seg<'a>; MAX_DEPTH],
    depth: usize,
    /// The node at the path, or at its nearest existing parent.
    node: &'a Node,
    /// True when `node` is at the path itself.
    exact: bool,
}

/// The deepest field path the renderer builds (`processes.web.sidecars.proxy.env.NAME` has 6
/// segments).
const MAX_DEPTH: usize = 8;

#[derive(Clone, Copy)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

impl<'a> Field<'a> {
    /// The document root.
    pub fn root(node: &'a Node) -> Self {
        Field {
            segments: [Seg::Index(0); MAX_DEPTH],
            depth: 0,
            node,
            exact: true,
        }
    }

    /// This field extended by a mapping key.
    pub fn key<'k>(&self, key: &'k str) -> Field<'k>
    where
        'a: 'k,
    {
        let child = match &self.node.value {
            Yaml::Map(entries) if self.exact => entries.iter().find(|(k, _)| k.name == key).map(|(_, n)| n),
            _ => None,
        };
        self.child(Seg::Key(key), child)
    }

    /// This field extended by a sequence index.
    pub fn index(&self, index: usize) -> Self {
        let child = match &self.node.value {
            Yaml::Seq(items) if self.exact => items.get(index),
            _ => None,
        };
        self.child(Seg::Index(index), child)
    }

    fn child<'k>(&self, segment: Seg<'k>, found: Option<&'k Node>) -> Field<'k>
    where
        'a: 'k,
    {
        assert!(
            self.depth < MAX_DEPTH,
            "field path deeper than {MAX_DEPTH}: {self}"
        );
        let mut segments: [Seg<'k>; MAX_DEPTH] = self.segments;
        segments[self.depth] = segment;
        Field {
            segments,
            depth: self.depth + 1,
            node: found.unwrap_or(self.node),
            exact: found.is_some(),
        }
    }

    /// True when the document sets `key` below this field.
    pub fn has(&self, key: &str) -> bool {
        self.exact && matches!(&self.node.value, Yaml::Map(e) if e.iter().any(|(k, _)| k.name == key))
    }

    /// Where the field came from, with a note on how the value was derived.
    pub fn into_origin(self, note: impl Into<Cow<'static, str>>) -> Origin {
        let mut origin = Origin::from_node(self.node, &Path::root(), note);
        origin.field = (self.depth > 0).then(|| self.text());
        origin
    }

    /// The path as [`Path`] displays it (`processes.web.routes[0].host`).
    pub fn text(&self) -> String {
        let segments = &self.segments[..self.depth];
        let len = segments.iter().map(|s| match s {
            Seg::Key(k) => k.len() + 4,
            Seg::Index(_) => 8,
        });
        let mut text = String::with_capacity(len.sum());
        for segment in segments {
            match *segment {
                // Quoted when it has characters the dotted form cannot hold.
                Seg::Key(k) if k.is_empty() || k.bytes().any(|b| b".[]\"/ ".contains(&b)) => {
                    text.push_str("[\"");
                    text.push_str(k);
                    text.push_str("\"]");
                }
                Seg::Key(k) => {
                    if !text.is_empty() {
                        text.push('.');
                    }
                    text.push_str(k);
                }
                Seg::Index(n) => {
                    text.push('[');
                    text.push_str(&n.to_string());
                    text.push(']');
                }
            }
        }
        text
    }
}

impl fmt::Display for Field<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

/// The origins of an object's fields, recorded by JSON pointer while the object is built.
pub(crate) struct Traces(Doc);

impl Traces {
    /// Origins for an object whose fields come from `origin` unless traced otherwise.
    pub fn new(origin: Origin) -> Self {
        Traces(Doc::new(Value::Null, origin))
    }

    /// Records that the field at `pointer` came from `origin` (a later record of the same
    /// pointer wins).
    pub fn add(&mut self, pointer: impl Into<String>, origin: Origin) {
        self.0.origins.insert(pointer.into(), origin);
    }

    /// The object `value`, with the origins recorded for its fields.
    pub fn into_doc(self, value: Value) -> Doc {
        let mut doc = self.0;
        doc.value = value;
        debug_assert!(
            doc.origins.iter().all(|(p, _)| doc.value.pointer(p).is_some()),
            "trace of a missing field in {}",
            doc.value
        );
        doc
    }
}

/// A JSON object of `fields`, in order: as `json!` makes it, but allocated at its final size
/// and without serializing the values again.
pub(crate) fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
    let mut map = Map::with_capacity(N);
    for (key, value) in fields {
        map.insert(key.into(), value);
    }
    Value::Object(map)
}

/// `base/key` as a JSON pointer, escaping the key.
pub(crate) fn ptr(base: &str, key: &str) -> String {
    if key.contains(['~', '/']) {
        format!("{base}/{}", escape(key))
    } else {
        [base, "/", key].concat()
    }
}

/// The pointer `rel` (`/Count`, starting with `/`) below `base`.
pub(crate) fn join(base: &str, rel: &str) -> String {
    [base, rel].concat()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ojek_spec::source::{Layer, Location};

    use super::*;

    #[test]
    fn field_paths_read_as_path_displays_them() {
        let node = Node {
            value: Yaml::Null,
            loc: Location::new(&Arc::from("x.yaml"), 1, 1),
            layer: Layer::Manifest,
        };
        let keys = ["processes", "web", "/etc/a.yaml", "", "a b", "x\"y", "k[0]"];
        for (i, key) in keys.iter().enumerate() {
            let field = Field::root(&node).key(key).index(i).key("files").key(key);
            let path = Path::root().key(key).index(i).key("files").key(key);
            assert_eq!(field.to_string(), path.to_string());
        }
        let first = Field::root(&node).index(3).key("a");
        assert_eq!(first.to_string(), Path::root().index(3).key("a").to_string());
    }
}
