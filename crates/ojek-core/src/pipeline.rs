//! Validate and render an app for an environment and target.

use ojek_output::{Rendered, Sources};
use ojek_spec::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use ojek_spec::load::{LoadedApp, LoadedPlatform, resolve, validate_all};
use ojek_spec::platform::TargetKind;

/// What to render.
#[derive(Clone, Debug, Default)]
pub struct RenderOptions {
    /// Environment name (from the platform file).
    pub env: String,
    /// Target; the environment's default when unset.
    pub target: Option<TargetKind>,
    /// Kubernetes version (`1.33`…`1.37`); the environment's when unset.
    pub kube_version: Option<String>,
}

fn unknown_env(platform: &LoadedPlatform, env: &str, loc: Option<ojek_spec::Location>) -> Diagnostic {
    let names: Vec<&str> = platform
        .platform
        .environments
        .keys()
        .map(String::as_str)
        .collect();
    let hint = match did_you_mean(env, names.iter().copied()) {
        Some(m) => format!("did you mean `{m}`? Environments: {}", names.join(", ")),
        None => format!("environments in the platform file: {}", names.join(", ")),
    };
    Diagnostic::error(loc, format!("no environment `{env}` in the platform file")).with_hint(hint)
}

/// Validates an app against the platform: the manifest itself, each of its environment
/// overrides, that overridden environments exist, and that it renders for every environment
/// and target the platform defines (so a field one target cannot express is found early).
pub fn validate_project(loaded: &LoadedApp, platform: &LoadedPlatform) -> Diagnostics {
    let envs: Vec<String> = platform.platform.environments.keys().cloned().collect();
    let mut all = validate_all(loaded, &envs);
    for name in loaded.app.environments.keys() {
        if !platform.platform.environments.contains_key(name) {
            let path = ojek_spec::Path::root().key("environments").key(name);
            let loc = loaded
                .environments
                .as_ref()
                .and_then(|e| e.key_at(&ojek_spec::Path::root().key(name)))
                .map(|k| k.loc.clone());
            all.push(unknown_env(platform, name, loc).with_path(&path));
        }
    }
    if !all.has_errors() {
        for (env, e) in &platform.platform.environments {
            for (target, present) in [
                (TargetKind::Kubernetes, e.kubernetes.is_some()),
                (TargetKind::Nomad, e.nomad.is_some()),
            ] {
                if !present {
                    continue;
                }
                let opts = RenderOptions {
                    env: env.clone(),
                    target: Some(target),
                    kube_version: None,
                };
                match render(loaded, platform, &opts) {
                    Ok(r) => all.0.extend(r.warnings.0),
                    Err(d) => all.0.extend(d.0),
                }
            }
        }
    }
    all.sort();
    all
}

/// Renders `loaded` for one environment and target.
pub fn render(
    loaded: &LoadedApp,
    platform: &LoadedPlatform,
    opts: &RenderOptions,
) -> Result<Rendered, Diagnostics> {
    let Some(env) = platform.platform.environments.get(&opts.env) else {
        return Err(Diagnostics(vec![unknown_env(platform, &opts.env, None)]));
    };
    let resolved = resolve(loaded, &opts.env)?;
    let src = Sources {
        app: &resolved,
        platform,
    };
    let target = opts.target.unwrap_or(env.target);
    let rendered = match target {
        TargetKind::Kubernetes => ojek_kubernetes::render(&src, opts.kube_version.as_deref()),
        TargetKind::Nomad => ojek_nomad::render(&src),
    }?;
    check_unique(&rendered)?;
    Ok(rendered)
}

/// Two generated or raw objects with the same kind, namespace and name would overwrite each
/// other when applied: an error, never a silently lost object.
fn check_unique(rendered: &Rendered) -> Result<(), Diagnostics> {
    let mut seen = std::collections::BTreeSet::new();
    let mut diags = Diagnostics::default();
    for doc in &rendered.objects {
        let ns = doc
            .value
            .pointer("/metadata/namespace")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("");
        if !seen.insert((doc.kind().to_string(), ns.to_string(), doc.name().to_string())) {
            let origin = doc.origin("").map(|(_, o)| o.clone());
            diags.push(
                Diagnostic::error(
                    origin.and_then(|o| o.location),
                    format!("two objects are named {}", doc.id()),
                )
                .with_hint("rename a process, or the raw object or patch that produces the second one"),
            );
        }
    }
    if diags.has_errors() { Err(diags) } else { Ok(()) }
}
