//! Checks of an Experiment on its own and against the app and the platform. Every problem
//! is collected (not only the first); each names the field of the Experiment it is about,
//! so the render command can point at a line and the controller can say it in a condition.

use std::collections::BTreeSet;

use ojek_spec::load::{LoadedApp, LoadedPlatform};
use ojek_spec::manifest::{ProcessKind, VolumeKind};
use ojek_spec::platform::Environment;

use crate::crd::{BASELINE, ExperimentSpec, NameValue};

/// Longest namespace name Kubernetes accepts.
pub const MAX_NAMESPACE: usize = 63;

/// One reason an Experiment cannot be carried out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The `InvalidSpec` condition reason (`OverlappingMatches`, `UnknownApp`, …).
    pub reason: &'static str,
    /// The Experiment field it is about (`spec.variants[1].match`).
    pub field: String,
    /// What is wrong, and what to do.
    pub message: String,
}

impl Problem {
    pub(crate) fn new(reason: &'static str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            reason,
            field: field.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.field, self.message, self.reason)
    }
}

/// What a pin looks like, for overlap checks: header names are case-insensitive.
fn pin_key(kind: &str, nv: &NameValue) -> (String, String, String) {
    let name = if kind == "header" {
        nv.name.to_ascii_lowercase()
    } else {
        nv.name.clone()
    };
    (kind.to_string(), name, nv.value.clone())
}

/// Checks that need only the Experiment.
pub fn check_spec(spec: &ExperimentSpec) -> Vec<Problem> {
    let mut problems = check_variants(spec);
    problems.extend(check_routing(spec));
    problems.extend(check_decision(spec));
    problems
}

/// Names, matches and weights of the variants: what every target checks.
pub fn check_variants(spec: &ExperimentSpec) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut names = BTreeSet::new();
    let mut pins: Vec<((String, String, String), String)> = Vec::new();
    for (i, v) in spec.variants.iter().enumerate() {
        let field = format!("spec.variants[{i}]");
        if v.name == BASELINE {
            problems.push(Problem::new(
                "ReservedVariantName",
                format!("{field}.name"),
                format!("`{BASELINE}` is the app as deployed; give the variant another name"),
            ));
        }
        if !names.insert(v.name.as_str()) {
            problems.push(Problem::new(
                "DuplicateVariant",
                format!("{field}.name"),
                format!("two variants are named `{}`", v.name),
            ));
        }
        if let Some(m) = &v.matches {
            if m.header.is_none() && m.cookie.is_none() {
                problems.push(Problem::new(
                    "InvalidMatch",
                    format!("{field}.match"),
                    "a match needs a `header` or a `cookie`",
                ));
            }
            for (kind, nv) in [("header", &m.header), ("cookie", &m.cookie)] {
                let Some(nv) = nv else { continue };
                if kind == "header" && nv.name.eq_ignore_ascii_case("cookie") {
                    problems.push(Problem::new(
                        "InvalidMatch",
                        format!("{field}.match.header.name"),
                        "match cookies with `match.cookie`, not the Cookie header",
                    ));
                }
                let key = pin_key(kind, nv);
                if let Some((_, other)) = pins.iter().find(|(k, _)| *k == key) {
                    problems.push(Problem::new(
                        "OverlappingMatches",
                        format!("{field}.match.{kind}"),
                        format!(
                            "variants `{other}` and `{}` both match {kind} `{}: {}`: a request would go to the first only",
                            v.name, nv.name, nv.value
                        ),
                    ));
                } else {
                    pins.push((key, v.name.clone()));
                }
            }
        }
    }
    let total: u64 =
        u64::from(spec.baseline_weight) + spec.variants.iter().map(|v| u64::from(v.weight)).sum::<u64>();
    if total == 0 {
        problems.push(Problem::new(
            "WeightsNotPositive",
            "spec.variants",
            "the baseline and variant weights add up to 0: no request would have anywhere to go; give the baseline or a variant a weight",
        ));
    }
    problems
}

/// `routing`: exactly one of the Kubernetes routes (Nomad experiments route through Consul,
/// whatever `routing` says).
fn check_routing(spec: &ExperimentSpec) -> Vec<Problem> {
    let mut problems = Vec::new();
    match (&spec.routing.gateway_api, &spec.routing.istio) {
        (Some(_), Some(_)) => problems.push(Problem::new(
            "InvalidRouting",
            "spec.routing",
            "choose one of `gatewayApi` and `istio`",
        )),
        (None, None) => problems.push(Problem::new(
            "InvalidRouting",
            "spec.routing",
            "say how traffic is split: `gatewayApi: {}` or `istio: {}`",
        )),
        _ => {}
    }
    problems
}

/// A decision names a variant, and does not both promote and abort.
pub fn check_decision(spec: &ExperimentSpec) -> Vec<Problem> {
    let mut problems = Vec::new();
    if let Some(d) = &spec.decision {
        match (&d.promote, d.abort) {
            (Some(_), true) => problems.push(Problem::new(
                "InvalidDecision",
                "spec.decision",
                "promote or abort, not both",
            )),
            (Some(p), false) if !spec.variants.iter().any(|v| &v.name == p) => {
                let known: Vec<&str> = spec.variants.iter().map(|v| v.name.as_str()).collect();
                problems.push(Problem::new(
                    "InvalidDecision",
                    "spec.decision.promote",
                    format!("no variant `{p}`; variants: {}", known.join(", ")),
                ))
            }
            _ => {}
        }
    }
    problems
}

/// The split process and its namespace, once the app and platform are known to fit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The `service` process whose traffic is split.
    pub process: String,
}

/// Checks against the app and the platform for Kubernetes; returns the process to split.
pub fn check_app(
    spec: &ExperimentSpec,
    app: Option<&LoadedApp>,
    platform: &LoadedPlatform,
) -> Result<Target, Vec<Problem>> {
    let (loaded, env) = app_and_environment(spec, app, platform)?;
    let mut problems = Vec::new();
    if env.kubernetes.is_none() {
        problems.push(Problem::new(
            "NoKubernetes",
            "spec.environment",
            format!(
                "environment `{}` has no kubernetes section: Experiment resources run on Kubernetes (for Nomad, render the variant jobs with `ojek experiments render --target nomad`)",
                spec.environment
            ),
        ));
    }
    let process = split_process(spec, loaded, &mut problems);
    for (i, v) in spec.variants.iter().enumerate() {
        let ns = shard_namespace(&spec.app, &spec.environment, &v.name);
        if ns.len() > MAX_NAMESPACE {
            problems.push(Problem::new(
                "NamespaceTooLong",
                format!("spec.variants[{i}].name"),
                format!(
                    "the shard namespace `{ns}` is longer than {MAX_NAMESPACE} characters; shorten the variant name"
                ),
            ));
        }
    }
    match (problems.is_empty(), process) {
        (true, Some(process)) => Ok(Target { process }),
        _ => Err(problems),
    }
}

/// The app the Experiment names and its environment in the platform file: what every target
/// checks first.
pub fn app_and_environment<'a>(
    spec: &ExperimentSpec,
    app: Option<&'a LoadedApp>,
    platform: &'a LoadedPlatform,
) -> Result<(&'a LoadedApp, &'a Environment), Vec<Problem>> {
    let Some(loaded) = app.filter(|a| a.app.metadata.name == spec.app) else {
        return Err(vec![Problem::new(
            "UnknownApp",
            "spec.app",
            format!("there is no app `{}`", spec.app),
        )]);
    };
    let Some(env) = platform.platform.environments.get(&spec.environment) else {
        let names: Vec<&str> = platform
            .platform
            .environments
            .keys()
            .map(String::as_str)
            .collect();
        return Err(vec![Problem::new(
            "UnknownEnvironment",
            "spec.environment",
            format!(
                "the platform has no environment `{}`; environments: {}",
                spec.environment,
                names.join(", ")
            ),
        )]);
    };
    Ok((loaded, env))
}

/// The process to split (`spec.process`, or the app's only `service` process with routes),
/// checked to receive traffic and to keep no data; problems go to `problems`.
pub fn split_process(
    spec: &ExperimentSpec,
    loaded: &LoadedApp,
    problems: &mut Vec<Problem>,
) -> Option<String> {
    let processes = &loaded.app.processes;
    let routed: Vec<&String> = processes
        .iter()
        .filter(|(_, p)| p.kind == ProcessKind::Service && !p.routes.is_empty())
        .map(|(n, _)| n)
        .collect();
    let process = match &spec.process {
        Some(name) => match processes.get(name) {
            None => {
                let names: Vec<&str> = processes.keys().map(String::as_str).collect();
                problems.push(Problem::new(
                    "UnknownProcess",
                    "spec.process",
                    format!(
                        "app `{}` has no process `{name}`; processes: {}",
                        spec.app,
                        names.join(", ")
                    ),
                ));
                None
            }
            Some(p) if p.kind != ProcessKind::Service => {
                problems.push(Problem::new(
                    "NotAService",
                    "spec.process",
                    format!(
                        "process `{name}` is a {}: only a `service` receives traffic to split",
                        p.kind.as_str()
                    ),
                ));
                None
            }
            Some(_) => Some(name.clone()),
        },
        None => match routed.as_slice() {
            [one] => Some((*one).clone()),
            [] => {
                problems.push(Problem::new(
                    "NoRoutedProcess",
                    "spec.process",
                    format!(
                        "app `{}` has no `service` process with routes; name the process to split",
                        spec.app
                    ),
                ));
                None
            }
            many => {
                let names: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
                problems.push(Problem::new(
                    "AmbiguousProcess",
                    "spec.process",
                    format!(
                        "app `{}` has several routed processes ({}); name one",
                        spec.app,
                        names.join(", ")
                    ),
                ));
                None
            }
        },
    };
    if let Some(name) = &process
        && let Some(p) = processes.get(name)
        && let Some((vol, _)) = p.volumes.iter().find(|(_, v)| v.kind == VolumeKind::Persistent)
    {
        problems.push(Problem::new(
            "StatefulProcess",
            "spec.process",
            format!(
                "process `{name}` keeps data in the persistent volume `{vol}`: a variant would start with empty disks; experiment on a stateless process"
            ),
        ));
        return None;
    }
    process
}

/// The namespace of a variant's shard.
pub fn shard_namespace(app: &str, env: &str, variant: &str) -> String {
    format!("{app}-{env}-{variant}")
}
