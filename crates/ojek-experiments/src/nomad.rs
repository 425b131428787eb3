//! Experiments on Nomad: one job per variant beside the app's own jobs, and the Consul
//! config entries that split traffic between the baseline's service and the variants'.
//!
//! Nomad schedules; it does not route. Its built-in service discovery hands a caller every
//! instance of a service, so it cannot send 10% of requests anywhere. Consul can, through
//! its discovery chain (router → splitter → resolver), for requests that go through the
//! service mesh: Envoy sidecars and Consul's API and ingress gateways. An environment whose
//! Nomad profile registers services in Nomad's own discovery gets `NoTrafficSplit`.
//!
//! - **Jobs**: `{app}-{env}-{variant}`, rendered by `ojek-nomad` from the app resolved with
//!   the variant's overrides as one more layer ([`crate::desired::overlay`]), so the same
//!   checks and `explain` origins as `ojek render` apply. Only the split process's task
//!   group is kept: workers, cron and one-off jobs are not run twice. Each service
//!   `{app}-{process}[-{port}]` becomes `{app}-{process}-{variant}[-{port}]`, and loses its
//!   router tags (Traefik, Fabio): the router reads the Consul catalog, not the discovery
//!   chain, and would otherwise round-robin the public host onto the variants. The job's
//!   `Meta` and every task's environment name the experiment and the variant.
//! - **Config entries** (the JSON `consul config write` takes), in the order to write them:
//!   `service-defaults` (`Protocol`, which the router and splitter require) for the base
//!   service and each variant's; a `service-resolver` with a `baseline` subset when a sticky
//!   cookie must reach the baseline without being split again; the `service-splitter` with
//!   the weights in percent (adding up to exactly 100, zero-weight splits left out); the
//!   `service-router` with header pins, cookie pins and sticky cookies (always written, with
//!   no routes once decided, so that writing it removes the pins of earlier versions).
//!
//! Like the Kubernetes render, every variant is taken as ready. No I/O.

use std::collections::BTreeSet;

use ojek_output::{Doc, Origin, Sources};
use ojek_spec::Node;
use ojek_spec::diagnostic::Diagnostics;
use ojek_spec::load::{LoadedApp, LoadedPlatform, ResolvedApp, resolve_with};
use ojek_spec::manifest::PortProtocol;
use ojek_spec::platform::{Environment, ServiceProvider};
use serde_json::{Map, Value as J, json};

use crate::crd::{BASELINE, Experiment, ExperimentSpec};
use crate::desired::{effective_weights, first_errors, overlay, percent};
use crate::route::{cookie_regex, pins, set_cookie, sticky_cookie};
use crate::validate::{Problem, app_and_environment, check_decision, check_variants, split_process};

/// Job meta key: the experiment's name.
pub const META_EXPERIMENT: &str = "ojek_experiment";
/// Job meta key: the variant.
pub const META_VARIANT: &str = "ojek_variant";
/// The base service's resolver subset holding the baseline's instances: the router sends
/// users with the baseline's sticky cookie there without splitting them again.
pub const BASELINE_SUBSET: &str = "baseline";
/// Longest service name Consul's DNS interface serves (a DNS label).
pub const MAX_SERVICE_NAME: usize = 63;

/// One variant's job.
#[derive(Clone, Debug)]
pub struct VariantJob {
    /// Variant name.
    pub variant: String,
    /// The job, `{"Job": …}`, ID `{app}-{env}-{variant}`.
    pub job: Doc,
    /// The variant's Consul service (the split port's).
    pub service: String,
    /// Instances the variant runs (the group's `Count`).
    pub replicas: u32,
}

/// Everything a Nomad experiment wants.
#[derive(Clone, Debug)]
pub struct NomadDesired {
    /// The experiment's name.
    pub experiment: String,
    /// The app.
    pub app: String,
    /// The environment.
    pub environment: String,
    /// The split process.
    pub process: String,
    /// The baseline's Consul service, whose traffic is split.
    pub service: String,
    /// Its protocol for Consul (`http` or `grpc`).
    pub protocol: &'static str,
    /// One per variant, in the spec's order.
    pub jobs: Vec<VariantJob>,
    /// Consul config entries, in the order to write them.
    pub config_entries: Vec<Doc>,
    /// Traffic in percent (adding up to 100): the baseline first, then the variants.
    pub weights: Vec<(String, u32)>,
    /// What the variant jobs do not run: the app's other task groups and jobs.
    pub not_run: Vec<String>,
    /// Notes for the render output and conditions (type, reason, message).
    pub notes: Vec<(&'static str, &'static str, String)>,
}

impl NomadDesired {
    /// The variant jobs, in the spec's order.
    pub fn jobs(&self) -> impl Iterator<Item = &Doc> {
        self.jobs.iter().map(|j| &j.job)
    }

    /// The output as files: `jobs/<job>.json` (for `nomad job run -json` or the HTTP API) and
    /// `consul/<nn>-<kind>-<name>.json` (for `consul config write`, in file-name order), each
    /// pretty JSON ending in a newline.
    pub fn files(&self) -> Vec<(String, String)> {
        let pretty = |v: &J| serde_json::to_string_pretty(v).unwrap_or_default() + "\n";
        let mut out: Vec<(String, String)> = self
            .jobs()
            .map(|d| (format!("jobs/{}.json", d.name()), pretty(&d.value)))
            .collect();
        for (i, e) in self.config_entries.iter().enumerate() {
            let field = |k: &str| e.value.get(k).and_then(J::as_str).unwrap_or_default().to_string();
            out.push((
                format!("consul/{:02}-{}-{}.json", i + 1, field("Kind"), field("Name")),
                pretty(&e.value),
            ));
        }
        out
    }

    /// What was rendered and what it needs, as `#` comment lines.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "# Experiment {}: app {} in {}, process {}; Consul service {} ({}).\n",
            self.experiment, self.app, self.environment, self.process, self.service, self.protocol
        );
        let weights: Vec<String> = self.weights.iter().map(|(n, w)| format!("{n}={w}%")).collect();
        out.push_str(&format!("# Traffic: {}.\n", weights.join(" ")));
        for j in &self.jobs {
            out.push_str(&format!(
                "# Variant {}: job {}, service {}, {} instance(s).\n",
                j.variant,
                j.job.name(),
                j.service,
                j.replicas
            ));
        }
        for (_, _, note) in &self.notes {
            out.push_str(&format!("# Note: {note}.\n"));
        }
        out
    }
}

/// Checks against the app and the platform for Nomad; returns the process to split. The
/// environment's Nomad profile must register services in Consul (`NoTrafficSplit`).
pub fn check_nomad_app(
    spec: &ExperimentSpec,
    app: &LoadedApp,
    platform: &LoadedPlatform,
) -> Result<String, Vec<Problem>> {
    let (loaded, env) = app_and_environment(spec, Some(app), platform)?;
    let mut problems = Vec::new();
    if let Err(p) = check_consul(spec, env, platform) {
        problems.push(p);
    }
    let process = split_process(spec, loaded, &mut problems);
    match (problems.is_empty(), process) {
        (true, Some(process)) => Ok(process),
        _ => Err(problems),
    }
}

/// Traffic on Nomad is split by Consul: the environment needs a Nomad profile with
/// `serviceProvider: consul`.
fn check_consul(spec: &ExperimentSpec, env: &Environment, platform: &LoadedPlatform) -> Result<(), Problem> {
    let name = &spec.environment;
    let no_split = |message: String| Problem::new("NoTrafficSplit", "spec.environment", message);
    let Some(nomad) = &env.nomad else {
        return Err(no_split(format!(
            "environment `{name}` has no nomad section, so there are no Nomad jobs to run variants beside; experiments on Nomad need an environment whose Nomad profile registers services in Consul (serviceProvider: consul)"
        )));
    };
    let profile = &nomad.profile;
    match platform
        .platform
        .profiles
        .get(profile)
        .and_then(|p| p.nomad.as_ref())
    {
        None => Err(no_split(format!(
            "environment `{name}` names the profile `{profile}`, which has no nomad settings"
        ))),
        Some(p) if p.service_provider == ServiceProvider::Nomad => Err(no_split(format!(
            "Nomad cannot split traffic on its own: environment `{name}` registers services in Nomad's service discovery (profile `{profile}`); experiments on Nomad need Consul (serviceProvider: consul) for service-splitter and service-router config entries"
        ))),
        Some(_) => Ok(()),
    }
}

/// The app resolved for `env` (with `extra`, a variant's overrides) and its Nomad jobs.
fn render_jobs(
    loaded: &LoadedApp,
    platform: &LoadedPlatform,
    env: &str,
    extra: Option<&Node>,
) -> Result<(ResolvedApp, Vec<Doc>), Diagnostics> {
    let resolved = resolve_with(loaded, env, extra)?;
    let src = Sources {
        app: &resolved,
        platform,
    };
    let jobs = ojek_nomad::render(&src)?.objects;
    Ok((resolved, jobs))
}

/// The service job holding the task group of `process`: (job index, group index).
fn find_group(jobs: &[Doc], process: &str) -> Option<(usize, usize)> {
    jobs.iter().enumerate().find_map(|(j, d)| {
        let groups = d.value.pointer("/Job/TaskGroups")?.as_array()?;
        let g = groups
            .iter()
            .position(|g| g.get("Name").and_then(J::as_str) == Some(process))?;
        (d.value.pointer("/Job/Type").and_then(J::as_str) == Some("service")).then_some((j, g))
    })
}

fn services(group: &J) -> &[J] {
    group
        .get("Services")
        .and_then(J::as_array)
        .map_or(&[], Vec::as_slice)
}

fn text<'a>(v: &'a J, key: &str) -> &'a str {
    v.get(key).and_then(J::as_str).unwrap_or_default()
}

/// Tags a router reads routes from: the variants must not get the public host.
fn is_router_tag(tag: &str) -> bool {
    tag.starts_with("traefik.") || tag.starts_with("urlprefix-")
}

/// `{app}-{process}[-{port}]` → `{app}-{process}-{variant}[-{port}]`.
fn variant_service_name(name: &str, prefix: &str, variant: &str) -> String {
    match name.strip_prefix(prefix) {
        Some(rest) if rest.is_empty() || rest.starts_with('-') => format!("{prefix}-{variant}{rest}"),
        // A service a patch added under another name.
        _ => format!("{name}-{variant}"),
    }
}

/// The job of `variant`: the rendered service job with only group `g`, renamed, labelled,
/// without router tags. Origins and packaging parameters of the group move with it.
fn variant_job(rendered: &Doc, g: usize, exp_name: &str, variant: &str, id: &str, prefix: &str) -> Doc {
    let origin = |note: &'static str| Origin::experiment(format!("{exp_name}/{variant}"), note);
    let group = rendered
        .value
        .pointer(&format!("/Job/TaskGroups/{g}"))
        .cloned()
        .unwrap_or(J::Null);
    let mut value = rendered.value.clone();
    value["Job"]["TaskGroups"] = J::Array(vec![group]);
    let root = rendered
        .origin("")
        .map(|(_, o)| o.clone())
        .unwrap_or_else(|| origin("the variant's job"));
    let mut doc = Doc::new(value, root);
    let from = format!("/Job/TaskGroups/{g}");
    let moved = |p: &str| -> Option<String> {
        match p.strip_prefix("/Job/TaskGroups/") {
            None => Some(p.to_string()),
            Some(_) => {
                let rest = p.strip_prefix(&from)?;
                (rest.is_empty() || rest.starts_with('/')).then(|| format!("/Job/TaskGroups/0{rest}"))
            }
        }
    };
    for (p, o) in rendered.origins.iter().filter(|(p, _)| !p.is_empty()) {
        if let Some(p) = moved(p) {
            doc.origins.insert(p, o.clone());
        }
    }
    for param in &rendered.params {
        if let Some(pointer) = moved(&param.pointer) {
            doc.params.push(ojek_output::Param {
                pointer,
                ..param.clone()
            });
        }
    }
    let note = "one Nomad job per variant, `{app}-{env}-{variant}`, beside the app's own jobs";
    doc.set("/Job/ID", json!(id), origin(note));
    doc.set("/Job/Name", json!(id), origin(note));
    doc.set(
        &format!("/Job/Meta/{META_EXPERIMENT}"),
        json!(exp_name),
        origin("the experiment this job runs a variant of"),
    );
    doc.set(
        &format!("/Job/Meta/{META_VARIANT}"),
        json!(variant),
        origin("the variant this job runs"),
    );
    let gp = "/Job/TaskGroups/0";
    let svcs = services(&doc.value["Job"]["TaskGroups"][0]).to_vec();
    for (i, s) in svcs.iter().enumerate() {
        let sp = format!("{gp}/Services/{i}");
        doc.set(
            &format!("{sp}/Name"),
            json!(variant_service_name(text(s, "Name"), prefix, variant)),
            origin("the variant's own Consul service, which the splitter and router send requests to"),
        );
        let Some(tags) = s.get("Tags").and_then(J::as_array) else {
            continue;
        };
        let kept: Vec<J> = tags
            .iter()
            .filter(|t| !t.as_str().is_some_and(is_router_tag))
            .cloned()
            .collect();
        if kept.len() == tags.len() {
            continue;
        }
        let tp = format!("{sp}/Tags");
        doc.trace_replaced(
            &tp,
            origin("router tags removed: the public host stays on the baseline; Consul splits mesh traffic"),
        );
        if kept.is_empty() {
            if let Some(J::Object(m)) = doc.value.pointer_mut(&sp) {
                m.remove("Tags");
            }
            doc.origins.remove(&tp);
        } else if let Some(t) = doc.value.pointer_mut(&tp) {
            *t = J::Array(kept);
        }
    }
    let tasks = doc
        .value
        .pointer(&format!("{gp}/Tasks"))
        .and_then(J::as_array)
        .map_or(0, Vec::len);
    for t in 0..tasks {
        for (name, value) in [("OJEK_EXPERIMENT", exp_name), ("OJEK_VARIANT", variant)] {
            doc.set(
                &format!("{gp}/Tasks/{t}/Env/{name}"),
                json!(value),
                origin("the process learns which experiment and variant it runs as"),
            );
        }
    }
    doc
}

/// A config entry as a traced document.
fn entry(exp_name: &str, value: J, note: &'static str) -> Doc {
    Doc::new(value, Origin::experiment(exp_name.to_string(), note))
}

struct Backend<'a> {
    variant: &'a str,
    service: &'a str,
    percent: u32,
}

/// The config entries, in the order to write them.
fn config_entries(exp: &Experiment, d: &NomadDesired) -> Vec<Doc> {
    let name = d.experiment.as_str();
    let mut backends = vec![Backend {
        variant: BASELINE,
        service: &d.service,
        percent: d.weights.first().map_or(0, |(_, p)| *p),
    }];
    for (j, (_, p)) in d.jobs.iter().zip(d.weights.iter().skip(1)) {
        backends.push(Backend {
            variant: &j.variant,
            service: &j.service,
            percent: *p,
        });
    }
    let meta = |variant: Option<&str>| {
        let mut m = Map::new();
        m.insert(META_EXPERIMENT.into(), json!(name));
        if let Some(v) = variant {
            m.insert(META_VARIANT.into(), json!(v));
        }
        J::Object(m)
    };
    let mut out = Vec::new();
    for b in &backends {
        let variant = (b.variant != BASELINE).then_some(b.variant);
        out.push(entry(
            name,
            json!({"Kind": "service-defaults", "Name": b.service, "Protocol": d.protocol, "Meta": meta(variant)}),
            "Consul routes and splits only services whose protocol is http-based",
        ));
    }
    let sticky = sticky_cookie(exp);
    let to = |b: &Backend| -> J {
        if b.variant == BASELINE {
            // The base service's own chain would split the request again.
            json!({"Service": b.service, "ServiceSubset": BASELINE_SUBSET})
        } else {
            json!({"Service": b.service})
        }
    };
    let mut routes = Vec::new();
    for (variant, kind, nv) in pins(exp) {
        let Some(b) = backends.iter().find(|b| b.variant == variant) else {
            continue;
        };
        let header = if kind == "header" {
            json!({"Name": nv.name.to_ascii_lowercase(), "Exact": nv.value})
        } else {
            json!({"Name": "cookie", "Regex": cookie_regex(&nv.name, &nv.value)})
        };
        routes.push(json!({"Match": {"HTTP": {"Header": [header]}}, "Destination": {"Service": b.service}}));
    }
    let live: Vec<&Backend> = backends.iter().filter(|b| b.percent > 0).collect();
    if let Some(cookie) = &sticky {
        // Only to backends that take traffic.
        for b in &live {
            let header = json!({"Name": "cookie", "Regex": cookie_regex(cookie, b.variant)});
            routes.push(json!({"Match": {"HTTP": {"Header": [header]}}, "Destination": to(b)}));
        }
        if live.iter().any(|b| b.variant == BASELINE) {
            out.push(entry(
                name,
                json!({
                    "Kind": "service-resolver",
                    "Name": d.service,
                    "Subsets": {BASELINE_SUBSET: {"Filter": format!("Service.Service == \"{}\"", d.service)}},
                    "Meta": meta(None),
                }),
                "the baseline's instances as a subset, for users the sticky cookie keeps on the baseline",
            ));
        }
    }
    let splits: Vec<J> = live
        .iter()
        .map(|b| {
            let mut s = json!({"Weight": b.percent, "Service": b.service});
            if let Some(cookie) = &sticky {
                s["ResponseHeaders"] = json!({"Add": {"Set-Cookie": set_cookie(exp, cookie, b.variant)}});
            }
            s
        })
        .collect();
    out.push(entry(
        name,
        json!({"Kind": "service-splitter", "Name": d.service, "Splits": splits, "Meta": meta(None)}),
        "the weighted split between the baseline and the variants, in percent",
    ));
    out.push(entry(
        name,
        json!({"Kind": "service-router", "Name": d.service, "Routes": routes, "Meta": meta(None)}),
        "pins and sticky cookies, checked before the split; other requests go on to the splitter",
    ));
    out
}

/// The baseline's service of the split process: the one on the port its routes use (the
/// only port when they name none).
struct BaseService {
    name: String,
    protocol: &'static str,
    /// Whether the rendered service joins the service mesh (has a `Connect` block).
    meshed: bool,
    routed: bool,
}

fn base_service(resolved: &ResolvedApp, group: &J, process: &str) -> Result<BaseService, Problem> {
    let no_service = || {
        Problem::new(
            "NoService",
            "spec.process",
            format!("process `{process}` registers no service: give it a port"),
        )
    };
    let p = resolved.app.processes.get(process).ok_or_else(no_service)?;
    let port = p
        .routes
        .iter()
        .find_map(|r| r.port.clone())
        .or_else(|| p.ports.keys().next().cloned())
        .ok_or_else(no_service)?;
    let svc = services(group)
        .iter()
        .find(|s| s.get("PortLabel").and_then(J::as_str) == Some(port.as_str()))
        .ok_or_else(no_service)?;
    let protocol = match p.ports.get(&port).map(|pt| pt.protocol) {
        Some(PortProtocol::Grpc) => "grpc",
        Some(PortProtocol::Http) | None => "http",
        Some(other) => {
            let other = if other == PortProtocol::Udp { "udp" } else { "tcp" };
            return Err(Problem::new(
                "NotHttp",
                "spec.process",
                format!(
                    "port `{port}` of process `{process}` is {other}: Consul splits and routes only HTTP and gRPC requests"
                ),
            ));
        }
    };
    Ok(BaseService {
        name: text(svc, "Name").to_string(),
        protocol,
        meshed: svc.get("Connect").is_some(),
        routed: !p.routes.is_empty(),
    })
}

/// Every service name the jobs register.
fn service_names(jobs: &[Doc]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for d in jobs {
        for g in d
            .value
            .pointer("/Job/TaskGroups")
            .and_then(J::as_array)
            .into_iter()
            .flatten()
        {
            out.extend(services(g).iter().map(|s| text(s, "Name").to_string()));
        }
    }
    out
}

/// The app's jobs and task groups other than group `group` of job `job`.
fn others(jobs: &[Doc], (job, group): (usize, usize)) -> Vec<String> {
    let mut out = Vec::new();
    for (j, d) in jobs.iter().enumerate() {
        if j != job {
            out.push(d.id());
            continue;
        }
        let groups = d
            .value
            .pointer("/Job/TaskGroups")
            .and_then(J::as_array)
            .into_iter()
            .flatten();
        for (_, g) in groups.enumerate().filter(|(g, _)| *g != group) {
            out.push(format!("{} group {}", d.id(), text(g, "Name")));
        }
    }
    out
}

/// What the user must know about what was rendered.
fn notes(process: &str, base: &BaseService, not_run: &[String]) -> Vec<(&'static str, &'static str, String)> {
    let service = &base.name;
    let mut notes = Vec::new();
    if !not_run.is_empty() {
        notes.push((
            "ProcessesNotRun",
            "OnlyTheSplitProcess",
            format!(
                "variant jobs run only process `{process}`; not run again: {}",
                not_run.join(", ")
            ),
        ));
    }
    if !base.meshed {
        notes.push((
            "NotInServiceMesh",
            "ConsulConnectRequired",
            format!(
                "service `{service}` has no Connect sidecar in the rendered job: Consul's router and splitter act only on requests that reach it through the service mesh (Envoy sidecars, or a Consul API or ingress gateway); without one every request reaches the baseline"
            ),
        ));
    }
    if base.routed {
        notes.push((
            "PublicRoutesNotSplit",
            "RouterReadsCatalog",
            format!(
                "requests through the public router (route tags on `{service}`) reach the baseline only: the router reads the Consul catalog, not the discovery chain; split them with a Consul API or ingress gateway"
            ),
        ));
    }
    notes
}

/// Everything a Nomad experiment wants: a job per variant and the Consul config entries that
/// split the split process's traffic. `located` gives the variants' `overrides` nodes when the
/// Experiment was read from a file (errors and origins then point at its lines). Every
/// variant is taken as ready.
///
/// `spec.routing` (Gateway API or Istio) is for Kubernetes and is not read: on Nomad,
/// Consul routes. `metadata.namespace` is not checked against the app's (a Kubernetes rule).
///
/// # Errors
///
/// Every problem found: the Experiment's own, the app and platform's (`NoTrafficSplit` when
/// the environment's Nomad profile does not register services in Consul), and rendering.
pub fn render_nomad(
    exp: &Experiment,
    app: &LoadedApp,
    platform: &LoadedPlatform,
    located: &dyn Fn(usize) -> Option<Node>,
) -> Result<NomadDesired, Vec<Problem>> {
    let spec = &exp.spec;
    let mut problems = check_variants(spec);
    problems.extend(check_decision(spec));
    let process = match check_nomad_app(spec, app, platform) {
        Ok(p) if problems.is_empty() => p,
        Ok(_) => return Err(problems),
        Err(p) => {
            problems.extend(p);
            return Err(problems);
        }
    };
    let env = spec.environment.as_str();
    let exp_name = exp.metadata.name.clone().unwrap_or_default();
    let (resolved, base) = render_jobs(app, platform, env, None).map_err(|d| {
        vec![Problem::new(
            "RenderFailed",
            "spec.app",
            format!(
                "the app does not render for Nomad in `{env}`: {}",
                first_errors(&d)
            ),
        )]
    })?;
    let no_group = |field: String| {
        vec![Problem::new(
            "RenderFailed",
            field,
            format!("the rendered service job has no task group `{process}`"),
        )]
    };
    let at = find_group(&base, &process).ok_or_else(|| no_group("spec.process".into()))?;
    let base_service = base_service(&resolved, &base[at.0].value["Job"]["TaskGroups"][at.1], &process)
        .map_err(|p| vec![p])?;
    let mut taken_services = service_names(&base);
    let mut taken_jobs: BTreeSet<String> = base.iter().map(|d| d.name().to_string()).collect();
    let prefix = format!("{}-{process}", spec.app);
    let mut jobs = Vec::new();
    for (i, v) in spec.variants.iter().enumerate() {
        let field = format!("spec.variants[{i}].name");
        let extra = overlay(exp, v, &process, located(i).as_ref());
        let (_, rendered) = render_jobs(app, platform, env, Some(&extra)).map_err(|d| {
            vec![Problem::new(
                "InvalidOverrides",
                format!("spec.variants[{i}].overrides"),
                format!(
                    "variant `{}` does not render for Nomad: {}",
                    v.name,
                    first_errors(&d)
                ),
            )]
        })?;
        let (vj, vg) = find_group(&rendered, &process)
            .ok_or_else(|| no_group(format!("spec.variants[{i}].overrides")))?;
        let id = format!("{}-{env}-{}", spec.app, v.name);
        if !taken_jobs.insert(id.clone()) {
            problems.push(Problem::new(
                "JobNameTaken",
                field.clone(),
                format!("the variant's job would be `{id}`, a job the app already has; rename the variant"),
            ));
        }
        let job = variant_job(&rendered[vj], vg, &exp_name, &v.name, &id, &prefix);
        for s in services(&job.value["Job"]["TaskGroups"][0]) {
            let name = text(s, "Name");
            if name.len() > MAX_SERVICE_NAME {
                problems.push(Problem::new(
                    "ServiceNameTooLong",
                    field.clone(),
                    format!(
                        "the variant's service `{name}` is longer than {MAX_SERVICE_NAME} characters; shorten the variant name"
                    ),
                ));
            } else if !taken_services.insert(name.to_string()) {
                problems.push(Problem::new(
                    "ServiceNameTaken",
                    field.clone(),
                    format!("the variant's service would be `{name}`, a service that exists already; rename the variant"),
                ));
            }
        }
        let replicas = job
            .value
            .pointer("/Job/TaskGroups/0/Count")
            .and_then(J::as_u64)
            .map_or(1, |c| u32::try_from(c).unwrap_or(u32::MAX));
        jobs.push(VariantJob {
            variant: v.name.clone(),
            service: variant_service_name(&base_service.name, &prefix, &v.name),
            job,
            replicas,
        });
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let not_run = others(&base, at);
    let mut d = NomadDesired {
        experiment: exp_name,
        app: spec.app.clone(),
        environment: env.to_string(),
        notes: notes(&process, &base_service, &not_run),
        process,
        service: base_service.name,
        protocol: base_service.protocol,
        jobs,
        config_entries: Vec::new(),
        weights: percent(&effective_weights(exp, &|_| true)),
        not_run,
    };
    d.config_entries = config_entries(exp, &d);
    Ok(d)
}
