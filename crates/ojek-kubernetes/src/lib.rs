//! Renders a resolved ojek app to Kubernetes objects.
//!
//! One app and environment become: a ServiceAccount; per process a Deployment (or a
//! StatefulSet when it has a persistent volume), CronJob or Job; a Service for `service`
//! processes; an Ingress or Gateway API HTTPRoutes for routes (per platform profile); a
//! HorizontalPodAutoscaler (CPU/memory) or a KEDA ScaledObject (Kafka lag); a
//! PodDisruptionBudget; a ConfigMap for config files. Then the manifest's escape hatches
//! (patches, raw objects) are applied.
//!
//! Every emitted field is traced to its origin (see `ojek_output::Doc`). Fields Kubernetes
//! cannot express are reported through `ojek_output::Support`, never dropped silently.
//! Pure and deterministic: no I/O, no clocks, no randomness, map order as written.

mod config;
mod meta;
mod network;
mod scaling;
mod versions;
mod workload;

use ojek_output::{Doc, Origin, Rendered, Sources, Support};
use ojek_spec::diagnostic::{Diagnostic, Diagnostics};
use ojek_spec::manifest::{App, ProcessKind};
use ojek_spec::platform::{KubernetesProfile, TargetKind};

pub use versions::{SUPPORTED_VERSIONS, object_api_versions};

/// What the renderer needs, looked up once.
pub(crate) struct Ctx<'a> {
    pub src: &'a Sources<'a>,
    pub app: &'a App,
    pub env: &'a str,
    pub namespace: String,
    pub namespace_origin: Origin,
    pub profile: &'a KubernetesProfile,
    /// Platform-file path of the profile's `kubernetes` block, for origins.
    pub profile_path: String,
    /// Kubernetes minor version, `1.33`…`1.37`.
    pub version: String,
    pub support: Support,
    pub errors: Diagnostics,
    /// Metadata shared by the objects of each process (`""`: the app's own objects).
    pub metadata: std::collections::HashMap<String, Doc>,
}

impl Ctx<'_> {
    /// `{app}-{process}`: the name of a process's objects.
    pub fn object_name(&self, process: &str) -> String {
        format!("{}-{process}", self.app.metadata.name)
    }

    pub fn unsupported(&mut self, path: &str, why: &str, alternative: &str) {
        let src = self.src;
        self.support
            .unsupported(src, TargetKind::Kubernetes, path, why, alternative);
    }

    pub fn error(&mut self, path: &str, message: impl Into<String>, hint: impl Into<String>) {
        let loc = self.src.manifest(path).location;
        self.errors
            .push(Diagnostic::error(loc, message).with_path(path).with_hint(hint));
    }
}

/// Renders the app in its environment (`src.app.env`) for Kubernetes. `version` overrides the
/// environment's Kubernetes version (`--kube-version`).
pub fn render(src: &Sources, version: Option<&str>) -> Result<Rendered, Diagnostics> {
    let platform = &src.platform.platform;
    let env = src.app.env.as_str();
    let env_path = format!("environments.{env}");
    let fail = |msg: String, hint: &str, path: &str| {
        let loc = src.platform(path).location;
        Err(Diagnostics(vec![
            Diagnostic::error(loc, msg).with_hint(hint.to_string()),
        ]))
    };
    let Some(environment) = platform.environments.get(env) else {
        let names: Vec<&str> = platform.environments.keys().map(String::as_str).collect();
        return fail(
            format!("the platform has no environment `{env}`"),
            &format!("environments: {}", names.join(", ")),
            "environments",
        );
    };
    let Some(kenv) = &environment.kubernetes else {
        return fail(
            format!("environment `{env}` has no kubernetes section in the platform file"),
            "render it for its own target (--target nomad), or ask the platform team to add one",
            &env_path,
        );
    };
    let Some(profile) = platform
        .profiles
        .get(&kenv.profile)
        .and_then(|p| p.kubernetes.as_ref())
    else {
        return fail(
            format!("profile `{}` has no kubernetes settings", kenv.profile),
            "fix the platform file",
            &env_path,
        );
    };
    let version = version.unwrap_or(&kenv.version).to_string();
    if !SUPPORTED_VERSIONS.contains(&version.as_str()) {
        return Err(Diagnostics(vec![
            Diagnostic::error(None, format!("Kubernetes {version} is not supported"))
                .with_hint(format!("supported: {}", SUPPORTED_VERSIONS.join(", "))),
        ]));
    }
    let (namespace, namespace_origin) = match &kenv.namespace {
        Some(t) => (
            ojek_output::bind::fill(src, t, None),
            src.platform_note(
                &format!("{env_path}.kubernetes.namespace"),
                format!("template `{t}`"),
            ),
        ),
        None => (
            format!("{}-{env}", src.app.app.metadata.team),
            Origin::default(
                "the platform sets no namespace for this environment: `{team}-{env}`, one namespace per team and environment",
            ),
        ),
    };
    let mut cx = Ctx {
        src,
        app: &src.app.app,
        env,
        namespace,
        namespace_origin,
        profile,
        profile_path: format!("profiles.{}.kubernetes", kenv.profile),
        version,
        support: Support::default(),
        errors: Diagnostics::default(),
        metadata: std::collections::HashMap::new(),
    };
    let mut shared = std::collections::HashMap::new();
    shared.insert(String::new(), meta::shared_metadata(&cx, None));
    for name in cx.app.processes.keys() {
        shared.insert(name.clone(), meta::shared_metadata(&cx, Some(name)));
    }
    cx.metadata = shared;
    let mut objects: Vec<Doc> = vec![config::service_account(&cx)];
    for (name, process) in &cx.app.processes {
        if let Some(cm) = config::files_config_map(&cx, name, process) {
            objects.push(cm);
        }
        match process.kind {
            ProcessKind::Service | ProcessKind::Worker => {
                objects.push(workload::long_running(&mut cx, name, process));
                if process.kind == ProcessKind::Service {
                    objects.push(network::service(&cx, name, process));
                    objects.extend(network::routes(&mut cx, name, process));
                }
                if workload::is_stateful(process) {
                    objects.push(network::headless_service(&cx, name, process));
                }
                objects.extend(scaling::autoscaler(&mut cx, name, process));
                objects.extend(scaling::disruption_budget(&cx, name, process));
            }
            ProcessKind::Cron => objects.push(workload::cron_job(&mut cx, name, process)),
            ProcessKind::Job => objects.push(workload::job(&mut cx, name, process)),
        }
    }
    let mut diags = std::mem::take(&mut cx.errors);
    diags.0.extend(cx.support.diagnostics.0.clone());
    if let Some(hatch) = &cx.app.targets.kubernetes
        && let Err(d) = ojek_output::patch::apply(&mut objects, hatch, src, "targets.kubernetes")
    {
        diags.0.extend(d.0);
    }
    diags.sort();
    if diags.has_errors() {
        return Err(diags);
    }
    Ok(Rendered {
        target: TargetKind::Kubernetes,
        objects,
        warnings: diags,
    })
}
