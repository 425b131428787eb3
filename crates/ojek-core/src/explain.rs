//! `explain`: for generated fields, where each came from; and the manifest fields ojek applies
//! itself instead of rendering ([`applied_by_ojek`]), so that those are not a black box either.

use ojek_output::{Origin, Rendered};
use ojek_spec::load::LoadedApp;
use ojek_spec::manifest::APPLIED_BY_OJEK;
use ojek_spec::source::{Location, Node, Path, Value as N};
use serde::Serialize;
use serde_json::Value;

/// The origin of one generated field.
#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    /// `Kind/name` of the object.
    pub object: String,
    /// The field as a JSON pointer (`/spec/replicas`).
    pub pointer: String,
    /// The field as a path (`spec.template.spec.containers[0].image`).
    pub field: String,
    /// The generated value.
    pub value: Value,
    /// Where it came from.
    pub origin: Origin,
}

/// A JSON pointer as a readable path: `spec.containers[0].image`, keys with dots quoted.
pub fn pointer_to_path(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer.split('/').skip(1) {
        let key = seg.replace("~1", "/").replace("~0", "~");
        if !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{key}]"));
        } else if key.contains(['.', '/', '[', ']', '"']) || key.is_empty() {
            out.push_str(&format!("[\"{key}\"]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&key);
        }
    }
    out
}

/// A path (`spec.containers[0].image`) or a JSON pointer (`/spec/...`) as a pointer.
pub fn path_to_pointer(path: &str) -> Option<String> {
    if path.starts_with('/') || path.is_empty() {
        return Some(path.to_string());
    }
    let parsed = ojek_spec::Path::parse(path)?;
    Some(
        parsed
            .0
            .iter()
            .map(|seg| match seg {
                ojek_spec::source::Segment::Key(k) => format!("/{}", ojek_output::doc::escape(k)),
                ojek_spec::source::Segment::Index(i) => format!("/{i}"),
            })
            .collect(),
    )
}

/// Explains every field (no object), every field of one object, or one field (or subtree).
/// `object` is `Kind/name` or a unique `name`.
pub fn explain(
    rendered: &Rendered,
    object: Option<&str>,
    field: Option<&str>,
) -> Result<Vec<Explanation>, String> {
    let docs: Vec<_> = match object {
        None => rendered.objects.iter().collect(),
        Some(sel) => {
            let found: Vec<_> = rendered
                .objects
                .iter()
                .filter(|d| d.id().eq_ignore_ascii_case(sel) || d.name() == sel)
                .collect();
            if found.is_empty() {
                let ids: Vec<String> = rendered.objects.iter().map(|d| d.id()).collect();
                return Err(format!(
                    "no generated object `{sel}`; objects: {}",
                    ids.join(", ")
                ));
            }
            if found.len() > 1 {
                let ids: Vec<String> = found.iter().map(|d| d.id()).collect();
                return Err(format!(
                    "`{sel}` names several objects ({}); use Kind/name",
                    ids.join(", ")
                ));
            }
            found
        }
    };
    let prefix = match field {
        Some(f) => Some(path_to_pointer(f).ok_or_else(|| format!("`{f}` is not a field path"))?),
        None => None,
    };
    let mut out = Vec::new();
    for doc in docs {
        if let Some(p) = &prefix
            && doc.value.pointer(p).is_none()
        {
            return Err(format!(
                "{} has no field `{}`",
                doc.id(),
                field.unwrap_or_default()
            ));
        }
        for (pointer, value) in doc.leaves() {
            if let Some(p) = &prefix
                && !(pointer == *p || pointer.starts_with(&format!("{p}/")))
            {
                continue;
            }
            if let Some((_, origin)) = doc.origin(&pointer) {
                out.push(Explanation {
                    object: doc.id(),
                    field: pointer_to_path(&pointer),
                    pointer,
                    value: value.clone(),
                    origin: origin.clone(),
                });
            }
        }
    }
    Ok(out)
}

/// A manifest field that no target renders because ojek applies it itself, for every target
/// and environment (see [`APPLIED_BY_OJEK`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AppliedField {
    /// The field (`logs.retentionDays`).
    pub field: String,
    /// Its value.
    pub value: Value,
    /// Where the manifest sets it.
    pub location: Location,
    /// What applies it.
    pub applied_by: &'static str,
}

/// Every field (leaf by leaf, in manifest order) that `app` sets and ojek applies itself. These
/// cannot differ per environment, so the manifest's body says it all.
pub fn applied_by_ojek(app: &LoadedApp) -> Vec<AppliedField> {
    fn leaves(node: &Node, path: &Path, applied_by: &'static str, out: &mut Vec<AppliedField>) {
        match &node.value {
            N::Map(entries) => {
                for (key, child) in entries {
                    leaves(child, &path.key(&key.name), applied_by, out);
                }
            }
            _ => out.push(AppliedField {
                field: path.to_string(),
                value: node.to_json(),
                location: node.loc.clone(),
                applied_by,
            }),
        }
    }
    let mut out = Vec::new();
    for (field, applied_by) in APPLIED_BY_OJEK {
        let path = Path::root().key(field);
        if let Some(node) = app.body.get(&path) {
            leaves(node, &path, applied_by, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use ojek_spec::NoFiles;
    use ojek_spec::load::load_app;

    use super::*;

    #[test]
    fn fields_applied_by_ojek_are_listed_with_their_lines() {
        let text = "apiVersion: ojek.dev/v1\nkind: App\nmetadata: {name: shop, team: t}\n\
                    processes:\n  w: {kind: worker, image: 'x:1'}\nlogs:\n  rateLimit: 50\n  level: warn\n";
        let loaded = load_app("app.yaml", text, &NoFiles).unwrap_or_else(|d| panic!("{d}"));
        let applied = applied_by_ojek(&loaded);
        let shown: Vec<(String, Value, u32, u32)> = applied
            .iter()
            .map(|a| {
                (
                    a.field.clone(),
                    a.value.clone(),
                    a.location.line,
                    a.location.column,
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                ("logs.rateLimit".to_string(), Value::from(50), 7, 14),
                ("logs.level".to_string(), Value::from("warn"), 8, 10),
            ]
        );
        assert!(applied.iter().all(|a| a.applied_by.contains("log pipeline")));
        let without = text.split("logs:").next().unwrap_or_default();
        let loaded = load_app("app.yaml", without, &NoFiles).unwrap_or_else(|d| panic!("{d}"));
        assert!(applied_by_ojek(&loaded).is_empty());
    }

    #[test]
    fn paths_and_pointers() {
        let p = "/spec/template/metadata/labels/app.kubernetes.io~1name";
        let path = pointer_to_path(p);
        assert_eq!(path, "spec.template.metadata.labels[\"app.kubernetes.io/name\"]");
        assert_eq!(path_to_pointer(&path).as_deref(), Some(p));
        assert_eq!(
            path_to_pointer("spec.containers[0].image").as_deref(),
            Some("/spec/containers/0/image")
        );
    }
}
