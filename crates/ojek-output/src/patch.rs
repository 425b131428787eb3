//! Escape hatches: JSON Patch (RFC 6902) and merge patches (RFC 7386) on generated objects,
//! and raw objects added as they are. Patched fields are traced to the patch, so `explain`
//! names the patch that changed them.

use ojek_spec::diagnostic::{Diagnostic, Diagnostics};
use ojek_spec::manifest::{EscapeHatch, Patch};
use serde_json::Value;

use crate::doc::{Doc, escape};
use crate::origin::{Origin, OriginKind, Sources};

fn matches(patch: &Patch, doc: &Doc) -> bool {
    patch.select.kind.as_deref().is_none_or(|k| k == doc.kind())
        && patch.select.name.as_deref().is_none_or(|n| n == doc.name())
}

/// Applies the patches of `hatch` (found at manifest path `base`, e.g. `targets.kubernetes`)
/// to `objects`, then appends its raw objects. Every problem is reported; on any error the
/// objects may be partly patched and must be discarded.
pub fn apply(
    objects: &mut Vec<Doc>,
    hatch: &EscapeHatch,
    src: &Sources,
    base: &str,
) -> Result<(), Diagnostics> {
    let mut diags = Diagnostics::default();
    for (i, patch) in hatch.patches.iter().enumerate() {
        let path = format!("{base}.patches[{i}]");
        let origin = Origin {
            kind: OriginKind::Patch,
            ..src.manifest_note(&path, format!("patch #{} of {base}", i + 1))
        };
        let mut hit = false;
        for doc in objects.iter_mut().filter(|d| matches(patch, d)) {
            hit = true;
            if let Some(ops) = &patch.json_patch {
                let parsed: json_patch::Patch = match serde_json::from_value(Value::Array(ops.clone())) {
                    Ok(p) => p,
                    Err(e) => {
                        diags.push(err(src, &path, format!("not a JSON Patch: {e}")));
                        continue;
                    }
                };
                if let Err(e) = json_patch::patch(&mut doc.value, &parsed) {
                    diags.push(
                        err(src, &path, format!("cannot apply to {}: {e}", doc.id())).with_hint(
                            "paths are JSON pointers into the generated object; see `ojek render` output",
                        ),
                    );
                    continue;
                }
                for op in ops {
                    let Some(p) = op.get("path").and_then(Value::as_str) else {
                        continue;
                    };
                    // `/list/-` appends: the new element is the last one.
                    let p = match p.strip_suffix("/-") {
                        Some(list) => match doc.value.pointer(list).and_then(Value::as_array) {
                            Some(a) if !a.is_empty() => format!("{list}/{}", a.len() - 1),
                            _ => continue,
                        },
                        None => p.to_string(),
                    };
                    if doc.value.pointer(&p).is_some() {
                        doc.trace_replaced(&p, origin.clone());
                    }
                }
            }
            if let Some(merge) = &patch.merge_patch {
                json_patch::merge(&mut doc.value, merge);
                trace_merge(doc, merge, String::new(), &origin);
            }
        }
        if !hit {
            let available: Vec<String> = objects.iter().map(Doc::id).collect();
            diags.push(
                err(src, &format!("{path}.select"), "selects no generated object")
                    .with_hint(format!("generated: {}", available.join(", "))),
            );
        }
    }
    for (i, raw) in hatch.objects.iter().enumerate() {
        let path = format!("{base}.objects[{i}]");
        let origin = Origin {
            kind: OriginKind::Raw,
            ..src.manifest_note(&path, "extra raw object, added as written")
        };
        objects.push(Doc::new(raw.clone(), origin));
    }
    if diags.has_errors() { Err(diags) } else { Ok(()) }
}

fn trace_merge(doc: &mut Doc, merge: &Value, pointer: String, origin: &Origin) {
    match merge {
        Value::Object(m) => {
            for (k, v) in m {
                trace_merge(doc, v, format!("{pointer}/{}", escape(k)), origin);
            }
        }
        _ => {
            if doc.value.pointer(&pointer).is_some() {
                doc.trace_replaced(&pointer, origin.clone());
            }
        }
    }
}

fn err(src: &Sources, path: &str, msg: impl Into<String>) -> Diagnostic {
    let o = src.manifest(path);
    Diagnostic::error(o.location, msg).with_path(path)
}
