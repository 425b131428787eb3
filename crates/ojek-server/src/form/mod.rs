//! The app editor's form, kept in step with the manifest's YAML text.
//!
//! The web UI edits one manifest in two tabs: a form for the common fields ([`FormApp`]) and
//! the YAML text. The browser keeps the text as the source of truth: when the YAML changes it
//! asks [`form_from_yaml`] for the form, and when the form changes it asks [`apply_form`] for
//! the new text. Only the base body of the manifest is in the form; `environments` overrides,
//! health checks, files, escape hatches and the rest stay YAML-tab territory.
//!
//! `apply_form` edits the user's text rather than rewriting it, so comments, key order and
//! formatting survive. It works in three steps:
//!
//! 1. The old form is read from the text and compared with the new one; each changed field is
//!    set in (or removed from) the document's JSON, which yields the *desired* document.
//!    Entries are matched by name; one whose name is new, in the place of one whose name is
//!    gone, is a rename and keeps what the form does not model (health checks, protocols, …);
//!    references the form does not show follow renames (`bestEffort` paths, health check
//!    ports, `kafkaLag.topic`). An env variable continues a removed one only with the same
//!    value (so renaming a secret reference keeps it).
//! 2. The located YAML tree is reconciled with the desired document into text edits: changed
//!    scalars are replaced in place, keys renamed in place, entries and list items removed or
//!    inserted as indented blocks, flow collections (`{port: 8080}`) rewritten on their line.
//!    Where that is not safe (block scalars, aliases, odd layouts) the smallest enclosing
//!    block entry or list item is written afresh.
//! 3. The result must parse back to exactly the desired document. If it does not, the changed
//!    top-level sections are regenerated with [`ojek_output::yaml::to_yaml`], and as a last
//!    resort the whole document (keeping the leading comment). Correct first, pretty second.
//!
//! Pure: no I/O. It validates the form (names, ports), not the manifest: `ojek_spec::load`
//! does that, and the YAML may be mid-edit and invalid.
//!
//! [`apply_json`] runs steps 2 and 3 alone, for a desired document built elsewhere (the
//! promotion of an experiment variant into an environment override).
//!
//! The submodules follow those steps: `model` holds the form's types and how entries match
//! by name; `read` reads a form from a document and `check` checks a changed one; `desired`
//! builds the desired document (step 1); `edit` makes the text edits (step 2) on positions
//! from `source`, with new text from `write`; `compare` is the read-back check (step 3).

mod check;
mod compare;
mod desired;
mod edit;
mod model;
mod read;
mod source;
mod write;

use std::sync::Arc;

use ojek_spec::diagnostic::{Diagnostic, Diagnostics};
use ojek_spec::load::MAX_FILE_BYTES;
use ojek_spec::source::{Layer, Node, parse_yaml};
use serde_json::Value as Json;

pub use model::{FormApp, FormAutoscale, FormEnv, FormError, FormPort, FormProcess, FormResource, FormRoute};

use check::validate_form;
use compare::{reads_back, same};
use desired::desired_document;
use edit::patch_document;
use read::read_form;
use source::Source;
use write::regenerate_document;

/// Reads the form from a manifest's text: the base body only, not `environments`.
///
/// Works on any YAML that parses, valid manifest or not: what is missing or of the wrong type
/// reads as empty. Text that does not parse (or holds several documents) is an error with the
/// line and column. Empty text reads as an empty form.
pub fn form_from_yaml(file: &str, yaml: &str) -> Result<FormApp, Diagnostics> {
    let root = parse_document(file, yaml)?;
    Ok(root.map(|n| read_form(&n.to_json())).unwrap_or_default())
}

/// Writes `form` into the manifest `yaml` and returns the new text.
///
/// Only what changed between the form read from `yaml` and `form` is touched; comments,
/// formatting and every field the form does not model are kept (see the module docs).
/// Applying the form read from a text returns the text unchanged. The result reads back as
/// `form` ([`form_from_yaml`]), except that `editable` is computed from the values.
///
/// ```
/// use ojek_server::form::{apply_form, form_from_yaml};
///
/// let yaml = "kind: App\nprocesses:\n  migrate:\n    kind: job\n    image: busybox:1.36   # pinned\n";
/// let mut form = form_from_yaml("app.yaml", yaml).expect("parses");
/// form.processes[0].image = "busybox:1.37".into();
/// let out = apply_form("app.yaml", yaml, &form).expect("applies");
/// assert_eq!(out, yaml.replace("1.36", "1.37"));
/// ```
pub fn apply_form(file: &str, yaml: &str, form: &FormApp) -> Result<String, FormError> {
    let root = parse_document(file, yaml).map_err(FormError::Yaml)?;
    let old_json = root.as_ref().map_or(Json::Null, Node::to_json);
    let old = read_form(&old_json);
    if *form == old {
        return Ok(yaml.to_string());
    }
    validate_form(&old, form)?;
    let desired = desired_document(&old_json, &old, form)?;
    write_document(yaml, root.as_ref(), &old_json, &desired)
}

/// Writes a whole desired document into the manifest `yaml` and returns the new text: steps
/// 2 and 3 of [`apply_form`] for any document (the promotion of an experiment variant builds
/// its own, `api::promote`). Comments and formatting of what did not change are kept; the
/// result reads back as exactly `desired` (key order included). A `desired` equal to the
/// text's document returns the text unchanged.
///
/// ```
/// use ojek_server::form::apply_json;
///
/// let yaml = "kind: App\nprocesses:\n  web:\n    image: web:1.0   # pinned\n";
/// let desired = serde_json::json!({"kind": "App", "processes": {"web": {"image": "web:1.1"}}});
/// let out = apply_json("app.yaml", yaml, &desired).expect("applies");
/// assert_eq!(out, yaml.replace("1.0", "1.1"));
/// ```
pub fn apply_json(file: &str, yaml: &str, desired: &Json) -> Result<String, FormError> {
    let root = parse_document(file, yaml).map_err(FormError::Yaml)?;
    let old_json = root.as_ref().map_or(Json::Null, Node::to_json);
    write_document(yaml, root.as_ref(), &old_json, desired)
}

/// Steps 2 and 3: `root` is `yaml` parsed, `old_json` its document.
fn write_document(
    yaml: &str,
    root: Option<&Node>,
    old_json: &Json,
    desired: &Json,
) -> Result<String, FormError> {
    if same(desired, old_json) {
        return Ok(yaml.to_string());
    }
    let src = Source::new(yaml);
    if let Some(root) = root {
        // Fine-grained edits first; then whole top-level sections.
        for shallow in [false, true] {
            if let Some(text) = patch_document(&src, root, desired, shallow)
                && reads_back(&text, desired)
            {
                return Ok(text);
            }
        }
    }
    let text = regenerate_document(&src, desired);
    if reads_back(&text, desired) {
        Ok(text)
    } else {
        Err(FormError::Internal(
            "the regenerated manifest reads back differently".into(),
        ))
    }
}

/// Parses the text as at most one YAML document, within the manifest size limit.
fn parse_document(file: &str, yaml: &str) -> Result<Option<Node>, Diagnostics> {
    if yaml.len() > MAX_FILE_BYTES {
        return Err(Diagnostics(vec![Diagnostic::error(
            None,
            format!("{file}: larger than {} MiB", MAX_FILE_BYTES / 1024 / 1024),
        )]));
    }
    let file: Arc<str> = Arc::from(file);
    let mut docs = parse_yaml(&file, yaml, Layer::Manifest).map_err(|d| Diagnostics(vec![d]))?;
    match docs.len() {
        0 => Ok(None),
        1 => Ok(docs.pop()),
        n => Err(Diagnostics(vec![
            Diagnostic::error(
                Some(docs[1].loc.clone()),
                format!("expected one YAML document, found {n}"),
            )
            .with_hint("put each app in its own file"),
        ])),
    }
}
