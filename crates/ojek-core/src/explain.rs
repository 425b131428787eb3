//! `explain`: for generated fields, where each came from.

use ojek_output::{Origin, Rendered};
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

#[cfg(test)]
mod tests {
    use super::*;

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
