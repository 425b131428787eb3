//! From text to a checked, typed manifest: parse with locations, check against the schema,
//! read `fromFile` content through a caller-supplied [`FileReader`] (the crate itself does no
//! I/O), merge an environment's overrides, deserialise, validate.

use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::manifest::App;
use crate::platform::Platform;
use crate::schema;
use crate::source::{Key, Layer, Node, Path, Value, parse_yaml};
use crate::validate;

/// Reads files referenced by a manifest (`fromFile`). The CLI reads the file system; the
/// server reads uploaded bundles; tests use a map.
pub trait FileReader {
    /// Content of `relative`, a path relative to the manifest named `manifest`.
    fn read(&self, manifest: &str, relative: &str) -> Result<String, String>;
}

/// A reader with no files: every `fromFile` is an error.
pub struct NoFiles;

impl FileReader for NoFiles {
    fn read(&self, _: &str, relative: &str) -> Result<String, String> {
        Err(format!("no files are available here (wanted `{relative}`)"))
    }
}

/// Largest manifest or referenced file accepted, in bytes.
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;

/// An app manifest that passed the schema check; environments not yet applied.
#[derive(Clone, Debug)]
pub struct LoadedApp {
    /// File name.
    pub file: Arc<str>,
    /// The body (everything but `environments`), `fromFile` content filled in; shared by
    /// every environment that overrides nothing.
    pub body: Arc<Node>,
    /// The `environments` mapping, when the manifest has one.
    pub environments: Option<Node>,
    /// The base app (environments only by name).
    pub app: App,
    /// Validation of the body alone, computed once: every environment without overrides
    /// shares it.
    base_checks: std::sync::OnceLock<Diagnostics>,
}

/// An app resolved for one environment: overrides merged, fully validated.
#[derive(Clone, Debug)]
pub struct ResolvedApp {
    /// Environment name.
    pub env: String,
    /// The merged manifest (no `environments`).
    pub app: App,
    /// The merged tree, for locating any field: nodes remember their file, line and layer.
    pub node: Arc<Node>,
}

impl ResolvedApp {
    /// The node at `path` of the merged manifest.
    pub fn at(&self, path: &Path) -> Option<&Node> {
        self.node.get(path)
    }
}

/// A platform file that passed all checks.
#[derive(Clone, Debug)]
pub struct LoadedPlatform {
    /// The tree, for locating fields.
    pub node: Node,
    /// The typed platform.
    pub platform: Platform,
}

fn single_document(file: &Arc<str>, text: &str, layer: Layer) -> Result<Node, Diagnostics> {
    if text.len() > MAX_FILE_BYTES {
        return Err(Diagnostics(vec![Diagnostic::error(
            None,
            format!("{file}: larger than {} MiB", MAX_FILE_BYTES / 1024 / 1024),
        )]));
    }
    let mut docs = parse_yaml(file, text, layer).map_err(|d| Diagnostics(vec![d]))?;
    match docs.len() {
        1 => Ok(docs.remove(0)),
        0 => Err(Diagnostics(vec![
            Diagnostic::error(
                Some(crate::source::Location::new(file, 1, 1)),
                "the file is empty",
            )
            .with_hint("start with `apiVersion: ojek.dev/v1` and `kind: App`"),
        ])),
        n => Err(Diagnostics(vec![
            Diagnostic::error(
                Some(docs[1].loc.clone()),
                format!("expected one YAML document, found {n}"),
            )
            .with_hint("put each app in its own file"),
        ])),
    }
}

fn kind_of(node: &Node) -> Option<&str> {
    match &node.get(&Path::root().key("kind"))?.value {
        Value::String(s) => Some(s),
        _ => None,
    }
}

/// What kind of document a text holds (`App`, `Platform`), if it says.
pub fn document_kind(text: &str) -> Option<String> {
    let file: Arc<str> = Arc::from("<probe>");
    let docs = parse_yaml(&file, text, Layer::Manifest).ok()?;
    docs.first().and_then(kind_of).map(str::to_string)
}

/// Parses and checks an app manifest, reading `fromFile` content through `files`.
pub fn load_app(file: &str, text: &str, files: &dyn FileReader) -> Result<LoadedApp, Diagnostics> {
    let file: Arc<str> = Arc::from(file);
    let mut node = single_document(&file, text, Layer::Manifest)?;
    if kind_of(&node) == Some("Platform") {
        return Err(Diagnostics(vec![
            Diagnostic::error(
                Some(node.loc.clone()),
                "this is a platform file, not an app manifest",
            )
            .with_hint("pass it with --platform"),
        ]));
    }
    let mut diags = Diagnostics::default();
    schema::check(schema::app_schema(), &node, &mut diags);
    if diags.has_errors() {
        explain_per_app_overrides(&mut diags);
        diags.sort();
        return Err(diags);
    }
    // Environment overrides are labelled with their layer so that explain can tell them apart.
    if let Some(Value::Map(envs)) = node_mut(&mut node, "environments").map(|n| &mut n.value) {
        for (key, env) in envs.iter_mut() {
            env.set_layer(&Layer::Environment(Arc::from(key.name.as_str())));
        }
    }
    check_best_effort(&node, &mut diags);
    fill_from_files(&mut node, &file, files, &mut diags);
    if diags.has_errors() {
        diags.sort();
        return Err(diags);
    }
    let app: App = deserialize(&node, &mut diags).ok_or_else(|| {
        diags.sort();
        diags.clone()
    })?;
    let mut body = node;
    let environments = match &mut body.value {
        Value::Map(entries) => entries
            .iter()
            .position(|(k, _)| k.name == "environments")
            .map(|i| entries.remove(i).1),
        _ => None,
    };
    Ok(LoadedApp {
        file,
        body: Arc::new(body),
        environments,
        app,
        base_checks: std::sync::OnceLock::new(),
    })
}

/// `environments.<env>.logs` is an unknown field to the schema (log settings are stored per
/// app, so one environment cannot have its own); say that, and where to set them instead.
fn explain_per_app_overrides(diags: &mut Diagnostics) {
    use crate::source::Segment;
    let field = schema::PER_APP_ONLY;
    for d in diags.0.iter_mut() {
        let Some(path) = d.path.as_deref().and_then(Path::parse) else {
            continue;
        };
        let in_override = matches!(
            path.0.as_slice(),
            [Segment::Key(envs), Segment::Key(_), Segment::Key(f)] if envs == "environments" && f == field
        );
        if in_override && d.message.starts_with("unknown field") {
            d.message = format!("`{field}` cannot be set per environment");
            d.hint = Some(format!(
                "log settings are per app, the same in every environment: set `{field}` at the top \
                 level of the manifest"
            ));
        }
    }
}

/// Every `bestEffort` entry (of the body or of an override) must name a field that the body
/// or some environment override sets: a typo would otherwise silently do nothing.
fn check_best_effort(node: &Node, diags: &mut Diagnostics) {
    let envs: Vec<&Node> = node
        .get(&Path::root().key("environments"))
        .map(|e| e.entries().iter().map(|(_, n)| n).collect())
        .unwrap_or_default();
    let mut lists: Vec<(Path, &Node)> = Vec::new();
    if let Some(l) = node.get(&Path::root().key("bestEffort")) {
        lists.push((Path::root().key("bestEffort"), l));
    }
    for (key, env) in node
        .get(&Path::root().key("environments"))
        .map(Node::entries)
        .unwrap_or_default()
    {
        if let Some(l) = env.get(&Path::root().key("bestEffort")) {
            lists.push((
                Path::root().key("environments").key(&key.name).key("bestEffort"),
                l,
            ));
        }
    }
    for (list_path, list) in lists {
        let Value::Seq(items) = &list.value else { continue };
        for (i, item) in items.iter().enumerate() {
            let Value::String(field) = &item.value else {
                continue;
            };
            let Some(target) = Path::parse(field).filter(|p| !p.0.is_empty()) else {
                diags.push(
                    Diagnostic::error(Some(item.loc.clone()), format!("`{field}` is not a field path"))
                        .with_path(list_path.index(i)),
                );
                continue;
            };
            let exists = node.get(&target).is_some() || envs.iter().any(|e| e.get(&target).is_some());
            if !exists || target.0.first() == Some(&crate::source::Segment::Key("environments".into())) {
                diags.push(
                    Diagnostic::error(
                        Some(item.loc.clone()),
                        format!("`{field}` is not a field of this manifest"),
                    )
                    .with_path(list_path.index(i))
                    .with_hint("list paths such as `processes.web.update.canary`"),
                );
            }
        }
    }
}

fn node_mut<'a>(node: &'a mut Node, key: &str) -> Option<&'a mut Node> {
    match &mut node.value {
        Value::Map(entries) => entries.iter_mut().find(|(k, _)| k.name == key).map(|(_, n)| n),
        _ => None,
    }
}

/// Replaces every `files.<path>.fromFile: x` (in the body and in environment overrides) by
/// `content:` holding the file's text, located at the `fromFile` line.
/// Replaces every `processes.<p>.files.<path>.fromFile: x` (in the body and in
/// `environments.<env>.processes…`) by `content:` holding the file's text, located at the
/// `fromFile` line.
fn fill_from_files(node: &mut Node, file: &Arc<str>, files: &dyn FileReader, diags: &mut Diagnostics) {
    fn child<'a>(node: &'a mut Node, key: &str) -> Option<&'a mut Node> {
        node_mut(node, key)
    }
    fn fill_processes(
        processes: &mut Node,
        file: &Arc<str>,
        files: &dyn FileReader,
        diags: &mut Diagnostics,
    ) {
        let Value::Map(procs) = &mut processes.value else {
            return;
        };
        for (_, process) in procs.iter_mut() {
            let Some(Node {
                value: Value::Map(specs),
                ..
            }) = child(process, "files")
            else {
                continue;
            };
            for (_, spec) in specs.iter_mut() {
                fill_one(spec, file, files, diags);
            }
        }
    }
    fn fill_one(spec: &mut Node, file: &Arc<str>, files: &dyn FileReader, diags: &mut Diagnostics) {
        let Value::Map(fields) = &mut spec.value else {
            return;
        };
        let Some(pos) = fields.iter().position(|(k, _)| k.name == "fromFile") else {
            return;
        };
        if fields.iter().any(|(k, _)| k.name == "content") {
            let loc = fields[pos].1.loc.clone();
            diags.push(Diagnostic::error(
                Some(loc),
                "give `content` or `fromFile`, not both",
            ));
            return;
        }
        let (key, value) = fields.remove(pos);
        let Value::String(rel) = &value.value else { return };
        let path = std::path::Path::new(rel);
        if rel.is_empty()
            || path.is_absolute()
            || path
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_) | std::path::Component::CurDir))
        {
            diags.push(
                Diagnostic::error(
                    Some(value.loc.clone()),
                    format!("`{rel}` is not a path inside the manifest's directory"),
                )
                .with_hint("fromFile paths are relative, without `..`: a manifest ships the files beside it"),
            );
            return;
        }
        match files.read(file, rel) {
            Ok(text) if text.len() > MAX_FILE_BYTES => diags.push(Diagnostic::error(
                Some(value.loc.clone()),
                format!("`{rel}` is too large"),
            )),
            Ok(text) => fields.push((
                Key {
                    name: "content".into(),
                    loc: key.loc.clone(),
                },
                Node {
                    value: Value::String(text),
                    loc: value.loc.clone(),
                    layer: value.layer.clone(),
                },
            )),
            Err(e) => diags.push(
                Diagnostic::error(Some(value.loc.clone()), format!("cannot read `{rel}`: {e}"))
                    .with_hint("fromFile paths are relative to the manifest's directory"),
            ),
        }
    }
    if let Some(processes) = child(node, "processes") {
        fill_processes(processes, file, files, diags);
    }
    if let Some(Node {
        value: Value::Map(envs),
        ..
    }) = child(node, "environments")
    {
        for (_, env) in envs.iter_mut() {
            if let Some(processes) = child(env, "processes") {
                fill_processes(processes, file, files, diags);
            }
        }
    }
}

fn deserialize<T: DeserializeOwned>(node: &Node, diags: &mut Diagnostics) -> Option<T> {
    match crate::de::from_node::<T>(node) {
        Ok(v) => Some(v),
        Err(e) => {
            diags.push(Diagnostic::error(
                Some(node.loc.clone()),
                format!("invalid manifest: {e}"),
            ));
            None
        }
    }
}

/// The names of the environments a manifest overrides.
pub fn override_names(loaded: &LoadedApp) -> Vec<String> {
    loaded.app.environments.keys().cloned().collect()
}

/// Merges the overrides of `env` (if the manifest has any) and validates the result.
pub fn resolve(loaded: &LoadedApp, env: &str) -> Result<ResolvedApp, Diagnostics> {
    resolve_with(loaded, env, None)
}

/// Like [`resolve`], with one more layer merged over the environment's overrides (an
/// experiment variant's overrides, in the manifest's shape with its own layer), and the
/// result validated again as a whole.
pub fn resolve_with(loaded: &LoadedApp, env: &str, extra: Option<&Node>) -> Result<ResolvedApp, Diagnostics> {
    let over = loaded
        .environments
        .as_ref()
        .and_then(|o| o.get(&Path::root().key(env)));
    let mut diags = Diagnostics::default();
    let layered = over.is_some() || extra.is_some();
    let (app, node): (Option<App>, Arc<Node>) = match layered {
        true => {
            // Merged values may be incomplete (a new process, a `null`): check the whole again.
            let mut merged = (*loaded.body).clone();
            if let Some(over) = over {
                merged.merge(over);
            }
            if let Some(extra) = extra {
                merged.merge(extra);
            }
            schema::check(schema::app_schema(), &merged, &mut diags);
            let app = if diags.has_errors() {
                None
            } else {
                deserialize(&merged, &mut diags)
            };
            (app, Arc::new(merged))
        }
        // No overrides: the body passed the schema check when it loaded.
        false => (
            Some(App {
                environments: Default::default(),
                ..loaded.app.clone()
            }),
            loaded.body.clone(),
        ),
    };
    if let Some(app) = &app {
        if layered {
            validate::validate_app(app, &node, &mut diags);
        } else {
            let base = loaded.base_checks.get_or_init(|| {
                let mut d = Diagnostics::default();
                validate::validate_app(app, &node, &mut d);
                d
            });
            diags.0.extend(base.0.iter().cloned());
        }
    }
    diags.sort();
    match app {
        Some(app) if !diags.has_errors() => Ok(ResolvedApp {
            env: env.to_string(),
            app,
            node,
        }),
        _ => Err(diags),
    }
}

/// Validates the base manifest and every environment it overrides; returns all diagnostics
/// (errors and warnings), sorted and without duplicates.
pub fn validate_all(loaded: &LoadedApp, extra_envs: &[String]) -> Diagnostics {
    let mut all = Diagnostics::default();
    let mut envs: Vec<String> = override_names(loaded);
    for e in extra_envs {
        if !envs.contains(e) {
            envs.push(e.clone());
        }
    }
    // The base manifest must be valid on its own too: an environment without overrides uses it.
    let mut names = vec![String::new()];
    names.extend(envs);
    for env in names {
        match resolve(loaded, &env) {
            Ok(_) => {}
            Err(d) => all.0.extend(d.0),
        }
    }
    all.sort();
    all
}

/// A Nomad token written into the platform file (`token: "s3cret"`) is a type error, and
/// `token: {value: …}` an unknown field; say why the file only references tokens, without
/// echoing the value into terminals and CI logs.
fn explain_written_tokens(diags: &mut Diagnostics) {
    let is_token = |path: &str| path.starts_with("environments.") && path.ends_with(".nomad.cluster.token");
    let hint = "reference the token instead: `token: {env: NOMAD_TOKEN}` (an environment variable of the \
                process running ojek) or `token: {file: /path/to/token}`; if a real token was committed, \
                revoke it";
    let mut unknown_at = Vec::new();
    for d in diags.0.iter_mut() {
        let Some(path) = d.path.clone() else { continue };
        if is_token(&path) && d.message.starts_with("expected ") {
            d.message = "a token cannot be written in the platform file".into();
            d.hint = Some(hint.into());
        } else if let Some((parent, _)) = path.rsplit_once('.')
            && is_token(parent)
            && d.message.starts_with("unknown field")
        {
            d.hint = Some(hint.into());
            unknown_at.push(parent.to_string());
        }
    }
    // With an unknown field under `token`, "missing field `env`" only repeats the problem.
    diags.0.retain(|d| {
        !(d.message.starts_with("missing field") && d.path.as_ref().is_some_and(|p| unknown_at.contains(p)))
    });
}

/// Parses and fully checks a platform file.
pub fn load_platform(file: &str, text: &str) -> Result<LoadedPlatform, Diagnostics> {
    let file: Arc<str> = Arc::from(file);
    let node = single_document(&file, text, Layer::Platform)?;
    if kind_of(&node) == Some("App") {
        return Err(Diagnostics(vec![Diagnostic::error(
            Some(node.loc.clone()),
            "this is an app manifest, not a platform file",
        )]));
    }
    let mut diags = Diagnostics::default();
    schema::check(schema::platform_schema(), &node, &mut diags);
    if diags.has_errors() {
        explain_written_tokens(&mut diags);
        diags.sort();
        return Err(diags);
    }
    let platform: Platform = deserialize(&node, &mut diags).ok_or_else(|| diags.clone())?;
    validate::validate_platform(&platform, &node, &mut diags);
    diags.sort();
    if diags.has_errors() {
        return Err(diags);
    }
    Ok(LoadedPlatform { node, platform })
}
