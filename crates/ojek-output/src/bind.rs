//! Environment values for a target: literals, secret references, and `${resources.x.y}`
//! interpolations bound through the platform file. Shared by both renderers so that a
//! reference means the same on Kubernetes and on Nomad.

use ojek_spec::diagnostic::Diagnostic;
use ojek_spec::manifest::EnvValue;
use ojek_spec::platform::TargetKind;
use ojek_spec::validate::{Piece, split_interpolations};

use crate::origin::{Origin, Sources};

/// One piece of an environment value.
#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    /// Text known at render time.
    Text(String),
    /// A key of a secret, read at run time. On Kubernetes `name` is a Secret; on Nomad it is
    /// a Variable path (already complete for platform bindings; relative for manifest refs).
    Secret {
        /// Secret name or Variable path.
        name: String,
        /// Key.
        key: String,
        /// True for a secret reference written in the manifest (`{secret, key}`); false for a
        /// platform binding of a dependency.
        from_manifest: bool,
    },
}

/// A resolved value and where its parts came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    /// The parts, in order; adjacent text is joined.
    pub parts: Vec<Part>,
    /// Origin of the value (the manifest line), noting platform bindings used.
    pub origin: Origin,
}

impl Resolved {
    /// The whole value if it has no secret parts.
    pub fn literal(&self) -> Option<String> {
        let mut s = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => s.push_str(t),
                Part::Secret { .. } => return None,
            }
        }
        Some(s)
    }
}

/// Fills a platform template with the app's variables (`{app}`, `{team}`, `{env}`, and for a
/// dependency `{resource}`, `{topic}`, `{group}`); unknown placeholders stay as written.
pub fn fill(src: &Sources, template: &str, resource: Option<&str>) -> String {
    if !template.contains('{') {
        return template.to_string();
    }
    let app = &src.app.app;
    let res = resource.and_then(|r| app.resources.get(r).map(|res| (r, res)));
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let name = &after[..close];
        match (name, res) {
            ("app", _) => out.push_str(&app.metadata.name),
            ("team", _) => out.push_str(&app.metadata.team),
            ("env", _) => out.push_str(&src.app.env),
            ("resource", Some((r, _))) => out.push_str(r),
            ("topic", Some((r, res))) => out.push_str(res.topic.as_deref().unwrap_or(r)),
            ("group", Some((r, res))) => match &res.group {
                Some(g) => out.push_str(g),
                None => {
                    out.push_str(&app.metadata.name);
                    out.push('-');
                    out.push_str(r);
                }
            },
            _ => {
                out.push('{');
                out.push_str(name);
                out.push('}');
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Resolves the env value at manifest path `path` for `target`.
pub fn resolve(
    src: &Sources,
    target: TargetKind,
    value: &EnvValue,
    path: &str,
) -> Result<Resolved, Diagnostic> {
    let mut origin = src.manifest(path);
    let parts = match value {
        EnvValue::Number(n) => vec![Part::Text(n.to_string())],
        EnvValue::Bool(b) => vec![Part::Text(b.to_string())],
        EnvValue::Secret(s) => {
            origin.note = format!(
                "key `{}` of secret `{}`; the value is never rendered",
                s.key, s.secret
            )
            .into();
            vec![Part::Secret {
                name: s.secret.clone(),
                key: s.key.clone(),
                from_manifest: true,
            }]
        }
        EnvValue::Text(t) => {
            let pieces = split_interpolations(t)
                .map_err(|e| Diagnostic::error(origin.location.clone(), e).with_path(path))?;
            let mut parts = Vec::new();
            let mut notes = Vec::new();
            for piece in pieces {
                match piece {
                    Piece::Text(t) => parts.push(Part::Text(t)),
                    Piece::Ref(r) => {
                        let res = src.app.app.resources.get(&r.resource).ok_or_else(|| {
                            Diagnostic::error(
                                origin.location.clone(),
                                format!("unknown resource `{}`", r.resource),
                            )
                            .with_path(path)
                        })?;
                        let binding = src
                            .platform
                            .platform
                            .bindings
                            .of(res.kind)
                            .get(&r.output)
                            .ok_or_else(|| {
                                Diagnostic::error(
                                    origin.location.clone(),
                                    format!(
                                        "the platform does not bind output `{}` of {} resources",
                                        r.output,
                                        res.kind.as_str()
                                    ),
                                )
                                .with_path(path)
                                .with_hint(format!(
                                    "ask the platform team to add bindings.{}.{} to the platform file",
                                    res.kind.as_str(),
                                    r.output
                                ))
                            })?;
                        let source = match target {
                            TargetKind::Kubernetes => &binding.kubernetes,
                            TargetKind::Nomad => &binding.nomad,
                        };
                        origin = origin.with_input(format!("resources.{}", r.resource));
                        let bpath =
                            format!("bindings.{}.{}.{}", res.kind.as_str(), r.output, target.as_str());
                        let (bound, _) = src.platform.node.deepest(&bpath);
                        notes.push(format!(
                            "${{resources.{}.{}}} bound by platform {bpath} ({})",
                            r.resource, r.output, bound.loc
                        ));
                        match (&source.value, &source.secret, &source.key) {
                            (Some(v), _, _) => parts.push(Part::Text(fill(src, v, Some(&r.resource)))),
                            (None, Some(s), Some(k)) => parts.push(Part::Secret {
                                name: fill(src, s, Some(&r.resource)),
                                key: fill(src, k, Some(&r.resource)),
                                from_manifest: false,
                            }),
                            _ => {
                                return Err(Diagnostic::error(
                                    origin.location.clone(),
                                    format!("binding {bpath} is incomplete"),
                                )
                                .with_path(path));
                            }
                        }
                    }
                }
            }
            origin.note = notes.join("; ").into();
            parts
        }
    };
    // Join adjacent text.
    let mut joined: Vec<Part> = Vec::new();
    for p in parts {
        match (joined.last_mut(), p) {
            (Some(Part::Text(a)), Part::Text(b)) => a.push_str(&b),
            (_, p) => joined.push(p),
        }
    }
    if joined.is_empty() {
        joined.push(Part::Text(String::new()));
    }
    Ok(Resolved {
        parts: joined,
        origin,
    })
}
