//! Experiments read from YAML files (`ojek experiments render`, GitOps): parsed with
//! locations, checked against the Experiment's schema with every problem reported at its
//! line and column, and problems of the desired state mapped back to the lines they are
//! about.

use std::sync::{Arc, OnceLock};

use ojek_spec::diagnostic::{Diagnostic, Diagnostics};
use ojek_spec::load::{LoadedApp, LoadedPlatform, MAX_FILE_BYTES};
use ojek_spec::source::{Path, Value, parse_yaml};
use ojek_spec::{Layer, Node};
use serde_json::{Value as J, json};

use crate::crd::{API_VERSION, Experiment, ExperimentSpec};
use crate::desired::{Desired, desired};
use crate::validate::Problem;

/// An Experiment read from a file, with its located tree.
#[derive(Clone, Debug)]
pub struct LoadedExperiment {
    /// The typed Experiment.
    pub experiment: Experiment,
    /// The document, for locating fields.
    pub node: Node,
}

/// The spec's JSON Schema for located checks: unknown fields are errors here (the CRD keeps
/// them out by pruning, which would hide a typo).
fn spec_schema() -> &'static J {
    static SCHEMA: OnceLock<J> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut s = schemars::schema_for!(ExperimentSpec).to_value();
        close(&mut s);
        s
    })
}

fn close(v: &mut J) {
    match v {
        J::Object(m) => {
            if m.contains_key("properties") && !m.contains_key("additionalProperties") {
                m.insert("additionalProperties".into(), J::Bool(false));
            }
            m.values_mut().for_each(close);
        }
        J::Array(items) => items.iter_mut().for_each(close),
        _ => {}
    }
}

fn err(node: &Node, message: impl Into<String>, hint: &str) -> Diagnostics {
    Diagnostics(vec![
        Diagnostic::error(Some(node.loc.clone()), message).with_hint(hint.to_string()),
    ])
}

/// Parses and checks one Experiment document.
pub fn load_experiment(file: &str, text: &str) -> Result<LoadedExperiment, Diagnostics> {
    let file: Arc<str> = Arc::from(file);
    if text.len() > MAX_FILE_BYTES {
        return Err(Diagnostics(vec![Diagnostic::error(
            None,
            format!("{file}: larger than {} MiB", MAX_FILE_BYTES / 1024 / 1024),
        )]));
    }
    let mut docs = parse_yaml(&file, text, Layer::Manifest).map_err(|d| Diagnostics(vec![d]))?;
    if docs.len() != 1 {
        return Err(Diagnostics(vec![
            Diagnostic::error(
                docs.get(1).map(|d| d.loc.clone()),
                format!("expected one Experiment document, found {}", docs.len()),
            )
            .with_hint("put each experiment in its own file"),
        ]));
    }
    let node = docs.remove(0);
    let get = |k: &str| node.get(&Path::root().key(k));
    let text_of = |n: Option<&Node>| match n.map(|n| &n.value) {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    if text_of(get("kind")).as_deref() != Some("Experiment") {
        return Err(err(
            get("kind").unwrap_or(&node),
            "not an Experiment",
            "start with `kind: Experiment`",
        ));
    }
    if text_of(get("apiVersion")).as_deref() != Some(API_VERSION) {
        return Err(err(
            get("apiVersion").unwrap_or(&node),
            format!("expected `apiVersion: {API_VERSION}`"),
            "this version of ojek reads ojek.dev/v1alpha1 Experiments",
        ));
    }
    let mut diags = Diagnostics::default();
    match get("metadata").map(|m| m.get(&Path::root().key("name"))) {
        Some(Some(Node {
            value: Value::String(n),
            loc,
            ..
        })) if !is_dns_label(n) => diags.push(
            Diagnostic::error(Some(loc.clone()), format!("`{n}` is not a valid name"))
                .with_hint("lower-case letters, digits and `-`, at most 63"),
        ),
        Some(Some(_)) => {}
        _ => diags.push(Diagnostic::error(
            Some(node.loc.clone()),
            "missing `metadata.name`",
        )),
    }
    match get("spec") {
        Some(spec) => ojek_spec::schema::check(spec_schema(), spec, &mut diags),
        None => diags.push(Diagnostic::error(Some(node.loc.clone()), "missing `spec`")),
    }
    if diags.has_errors() {
        return Err(prefix(diags, "spec"));
    }
    let experiment: Experiment = serde_json::from_value(node.to_json()).map_err(|e| {
        Diagnostics(vec![Diagnostic::error(
            Some(node.loc.clone()),
            format!("invalid Experiment: {e}"),
        )])
    })?;
    Ok(LoadedExperiment { experiment, node })
}

/// Schema paths are relative to `spec`; say so.
fn prefix(mut d: Diagnostics, root: &str) -> Diagnostics {
    for x in &mut d.0 {
        if let Some(p) = &x.path
            && !p.starts_with("metadata")
        {
            x.path = Some(if p.is_empty() {
                root.to_string()
            } else {
                format!("{root}.{p}")
            });
        }
    }
    d
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// The problems as diagnostics at the lines of the fields they are about.
pub fn located(problems: &[Problem], node: &Node) -> Diagnostics {
    Diagnostics(
        problems
            .iter()
            .map(|p| {
                let loc = Path::parse(&p.field)
                    .map(|path| deepest(node, &path))
                    .unwrap_or(&node.loc)
                    .clone();
                Diagnostic::error(Some(loc), p.message.clone())
                    .with_path(Path::parse(&p.field).unwrap_or_default())
                    .with_hint(format!("InvalidSpec: {}", p.reason))
            })
            .collect(),
    )
}

fn deepest<'a>(node: &'a Node, path: &Path) -> &'a ojek_spec::Location {
    let mut cur = Path(Vec::new());
    let mut loc = &node.loc;
    for seg in &path.0 {
        cur.0.push(seg.clone());
        match node.get(&cur) {
            Some(n) => loc = node.key_at(&cur).map_or(&n.loc, |k| &k.loc),
            None => break,
        }
    }
    loc
}

/// Everything a file's Experiment wants, every variant taken as ready (what a GitOps tool
/// applies once the shards are up).
pub fn render(
    loaded: &LoadedExperiment,
    app: &LoadedApp,
    platform: &LoadedPlatform,
) -> Result<Desired, Diagnostics> {
    let overrides = |i: usize| {
        loaded
            .node
            .get(&Path::root().key("spec").key("variants").index(i).key("overrides"))
            .cloned()
    };
    desired(&loaded.experiment, Some(app), platform, &|_| true, &overrides)
        .map_err(|p| located(&p, &loaded.node))
}

/// The rendered objects as one YAML stream with a header that says what to do with them.
pub fn to_yaml(loaded: &LoadedExperiment, d: &Desired) -> String {
    let name = loaded.experiment.metadata.name.as_deref().unwrap_or_default();
    let mut out = format!(
        "# Experiment {name}: app {app} in {env}, process {p}; baseline in namespace {ns}.\n",
        app = loaded.experiment.spec.app,
        env = loaded.experiment.spec.environment,
        p = d.process,
        ns = d.namespace,
    );
    let weights: Vec<String> = crate::desired::percent(&d.weights)
        .iter()
        .map(|(n, w)| format!("{n}={w}%"))
        .collect();
    out.push_str(&format!("# Traffic: {}.\n", weights.join(" ")));
    if d.route.iter().any(|r| r.kind() == "HTTPRoute") {
        out.push_str(
            "# The HTTPRoute replaces the app's route of the same name while the experiment runs.\n",
        );
    }
    for s in &d.shards {
        if !s.secrets.is_empty() {
            out.push_str(&format!(
                "# Namespace {} needs copies of these Secrets of {}: {}.\n",
                s.namespace,
                d.namespace,
                s.secrets.join(", ")
            ));
        }
    }
    for (_, _, note) in &d.notes {
        out.push_str(&format!("# Note: {note}.\n"));
    }
    let values: Vec<&J> = d.objects().map(|o| &o.value).collect();
    out.push_str(&ojek_output::yaml::to_yaml_stream(values));
    out
}

/// The objects as a JSON list.
pub fn to_json(d: &Desired) -> J {
    json!(d.objects().map(|o| &o.value).collect::<Vec<_>>())
}
