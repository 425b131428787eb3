//! What an Experiment wants to exist: a namespace shard per variant holding the app rendered
//! with that variant's overrides, and the route that splits traffic between the baseline
//! and the shards.

use std::sync::Arc;

use ojek_output::{Doc, Origin, Sources};
use ojek_spec::diagnostic::Diagnostics;
use ojek_spec::load::{LoadedApp, LoadedPlatform, resolve, resolve_with};
use ojek_spec::source::{Key, Location, Value};
use ojek_spec::{Layer, Node};
use serde_json::{Value as J, json};

use crate::crd::{BASELINE, Experiment, Overrides, Variant};
use crate::route;
use crate::validate::{Problem, check_app, check_spec, shard_namespace};

/// Label on every object of a shard: the experiment's name.
pub const LABEL_EXPERIMENT: &str = "ojek.dev/experiment";
/// Label on every object of a shard: the experiment's namespace.
pub const LABEL_EXPERIMENT_NAMESPACE: &str = "ojek.dev/experiment-namespace";
/// Label on every object of a shard: the variant.
pub const LABEL_VARIANT: &str = "ojek.dev/variant";

/// Kinds of objects without a process that a shard needs too (they are the app's, used by
/// every process).
const APP_WIDE_KINDS: &[&str] = &[
    "ServiceAccount",
    "ConfigMap",
    "NetworkPolicy",
    "Role",
    "RoleBinding",
];

/// One variant's shard.
#[derive(Clone, Debug)]
pub struct Shard {
    /// Variant name.
    pub variant: String,
    /// The shard's namespace.
    pub namespace: String,
    /// Objects to apply, in order (the Namespace first).
    pub objects: Vec<Doc>,
    /// Secrets the shard's pods read; they live in the app's namespace and must be copied.
    pub secrets: Vec<String>,
    /// Replicas the variant runs (its autoscaler's minimum when it autoscales).
    pub replicas: u32,
    /// The variant's Service inside the cluster.
    pub url: String,
}

/// Everything the experiment wants, given which shards are ready.
#[derive(Clone, Debug)]
pub struct Desired {
    /// The app's namespace (the baseline's).
    pub namespace: String,
    /// The split process.
    pub process: String,
    /// The baseline's Service name (also each shard's).
    pub service: String,
    /// Its port.
    pub port: i64,
    /// Replicas the baseline runs.
    pub baseline_replicas: u32,
    /// One per variant, in the spec's order.
    pub shards: Vec<Shard>,
    /// The routing objects to apply after the shards (HTTPRoutes and ReferenceGrants, or a
    /// VirtualService).
    pub route: Vec<Doc>,
    /// The app's own routing objects, applied back when the experiment ends.
    pub restore: Vec<Doc>,
    /// Relative weights in effect: the baseline first, then the variants.
    pub weights: Vec<(String, u32)>,
    /// Objects of the app that are not copied into shards (other processes, jobs).
    pub not_sharded: Vec<String>,
    /// Notes for conditions (type, reason, message).
    pub notes: Vec<(&'static str, &'static str, String)>,
}

fn location(exp: &Experiment, variant: &str) -> Location {
    let file: Arc<str> = Arc::from(format!(
        "Experiment {}/{} variant {variant}",
        exp.metadata.namespace.as_deref().unwrap_or("-"),
        exp.metadata.name.as_deref().unwrap_or("-")
    ));
    Location::new(&file, 0, 0)
}

fn key(name: &str, loc: &Location) -> Key {
    Key {
        name: name.to_string(),
        loc: loc.clone(),
    }
}

fn map(entries: Vec<(Key, Node)>, loc: &Location, layer: &Layer) -> Node {
    Node {
        value: Value::Map(entries),
        loc: loc.clone(),
        layer: layer.clone(),
    }
}

/// The variant's overrides as a layer in the manifest's shape
/// (`processes.<process>.{image,args,env,cpu,memory,scaling}`). `located` is the variant's
/// `overrides` node when the Experiment came from a file (errors then point at its lines).
pub fn overlay(exp: &Experiment, variant: &Variant, process: &str, located: Option<&Node>) -> Node {
    let name = exp.metadata.name.clone().unwrap_or_default();
    let layer = Layer::Experiment(Arc::from(format!("{name}/{}", variant.name)));
    let loc = located.map_or_else(|| location(exp, &variant.name), |n| n.loc.clone());
    let from = |field: &str, value: J| -> Node {
        let mut node = located
            .and_then(|n| n.get(&ojek_spec::Path::root().key(field)))
            .cloned()
            .unwrap_or_else(|| Node::from_json(&value, &loc, &layer));
        node.set_layer(&layer);
        node
    };
    let o: &Overrides = &variant.overrides;
    let mut fields: Vec<(Key, Node)> = Vec::new();
    fn json<T: serde::Serialize>(v: &T) -> J {
        serde_json::to_value(v).unwrap_or(J::Null)
    }
    if let Some(image) = &o.image {
        fields.push((key("image", &loc), from("image", json(image))));
    }
    if let Some(args) = &o.args {
        fields.push((key("args", &loc), from("args", json(args))));
    }
    if !o.env.is_empty() {
        fields.push((key("env", &loc), from("env", json(&o.env))));
    }
    if let Some(cpu) = &o.cpu {
        fields.push((key("cpu", &loc), from("cpu", json(cpu))));
    }
    if let Some(memory) = &o.memory {
        fields.push((key("memory", &loc), from("memory", json(memory))));
    }
    if let Some(replicas) = o.replicas {
        let r = located
            .and_then(|n| n.get(&ojek_spec::Path::root().key("replicas")))
            .cloned()
            .map(|mut n| {
                n.set_layer(&layer);
                n
            })
            .unwrap_or_else(|| Node::from_json(&json!(replicas), &loc, &layer));
        let null = Node::from_json(&J::Null, &loc, &layer);
        fields.push((
            key("scaling", &loc),
            map(
                vec![(key("replicas", &loc), r), (key("autoscale", &loc), null)],
                &loc,
                &layer,
            ),
        ));
    }
    let proc = map(fields, &loc, &layer);
    let processes = map(vec![(key(process, &loc), proc)], &loc, &layer);
    map(vec![(key("processes", &loc), processes)], &loc, &layer)
}

fn render_kube(
    loaded: &LoadedApp,
    platform: &LoadedPlatform,
    env: &str,
    extra: Option<&Node>,
) -> Result<Vec<Doc>, Diagnostics> {
    let resolved = match extra {
        Some(extra) => resolve_with(loaded, env, Some(extra))?,
        None => resolve(loaded, env)?,
    };
    let src = Sources {
        app: &resolved,
        platform,
    };
    Ok(ojek_kubernetes::render(&src, None)?.objects)
}

fn label<'a>(doc: &'a Doc, name: &str) -> Option<&'a str> {
    doc.value
        .pointer(&format!("/metadata/labels/{}", ojek_output::doc::escape(name)))
        .and_then(J::as_str)
}

fn is_route(kind: &str) -> bool {
    matches!(kind, "HTTPRoute" | "Ingress" | "GRPCRoute" | "VirtualService")
}

/// Which of the app's rendered objects belong in a shard of `process`.
fn belongs(doc: &Doc, process: &str) -> bool {
    let kind = doc.kind();
    if is_route(kind) {
        return false;
    }
    match label(doc, "ojek.dev/process") {
        Some(p) => p == process,
        None => APP_WIDE_KINDS.contains(&kind),
    }
}

fn replicas_of(objects: &[Doc]) -> u32 {
    let workload = objects
        .iter()
        .find(|d| matches!(d.kind(), "Deployment" | "StatefulSet"));
    let hpa_min = objects
        .iter()
        .find(|d| matches!(d.kind(), "HorizontalPodAutoscaler" | "ScaledObject"))
        .and_then(|d| {
            d.value
                .pointer("/spec/minReplicas")
                .or_else(|| d.value.pointer("/spec/minReplicaCount"))
                .and_then(J::as_u64)
        });
    let fixed = workload
        .and_then(|d| d.value.pointer("/spec/replicas"))
        .and_then(J::as_u64);
    u32::try_from(fixed.or(hpa_min).unwrap_or(1)).unwrap_or(u32::MAX)
}

/// Secret names the pod templates read (`secretKeyRef`, `secretRef`, secret volumes, image
/// pull secrets).
fn secrets_of(objects: &[Doc]) -> Vec<String> {
    fn walk(v: &J, out: &mut std::collections::BTreeSet<String>) {
        match v {
            J::Object(m) => {
                for (k, child) in m {
                    match (k.as_str(), child) {
                        ("secretKeyRef" | "secretRef", J::Object(r)) => {
                            if let Some(n) = r.get("name").and_then(J::as_str) {
                                out.insert(n.to_string());
                            }
                        }
                        ("secret", J::Object(r)) => {
                            if let Some(n) = r.get("secretName").and_then(J::as_str) {
                                out.insert(n.to_string());
                            }
                        }
                        ("imagePullSecrets", J::Array(items)) => {
                            for i in items {
                                if let Some(n) = i.get("name").and_then(J::as_str) {
                                    out.insert(n.to_string());
                                }
                            }
                        }
                        _ => walk(child, out),
                    }
                }
            }
            J::Array(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = std::collections::BTreeSet::new();
    for d in objects {
        if let Some(spec) = d.value.get("spec") {
            walk(spec, &mut out);
        }
    }
    out.into_iter().collect()
}

/// Moves an object into the shard: namespace and the experiment's labels (also on the pod
/// template, so the pods and their logs carry the variant). Selectors stay as they are: in
/// its own namespace, a shard's Service selects only the shard's pods.
fn into_shard(mut doc: Doc, exp_name: &str, exp_ns: &str, variant: &str, shard_ns: &str) -> Doc {
    let origin = Origin::experiment(
        format!("{exp_name}/{variant}"),
        "the variant's shard: its own namespace, labelled with the experiment and variant",
    );
    doc.set("/metadata/namespace", json!(shard_ns), origin.clone());
    let labels = [
        (LABEL_EXPERIMENT, exp_name),
        (LABEL_EXPERIMENT_NAMESPACE, exp_ns),
        (LABEL_VARIANT, variant),
    ];
    for base in [
        "/metadata",
        "/spec/template/metadata",
        "/spec/jobTemplate/spec/template/metadata",
    ] {
        if doc.value.pointer(base).is_none() {
            continue;
        }
        for (k, v) in labels {
            // `set` creates `labels` when the object has none.
            let pointer = format!("{base}/labels/{}", ojek_output::doc::escape(k));
            doc.set(&pointer, json!(v), origin.clone());
        }
    }
    // The process learns which experiment and variant it runs as (`OJEK_*` names are the
    // platform's, so they are set here rather than through the manifest).
    let containers = "/spec/template/spec/containers";
    let n = doc
        .value
        .pointer(containers)
        .and_then(J::as_array)
        .map_or(0, Vec::len);
    for i in 0..n {
        // `set` at the next index appends (and creates `env` when the container has none).
        let env_ptr = format!("{containers}/{i}/env");
        for (name, value) in [("OJEK_EXPERIMENT", exp_name), ("OJEK_VARIANT", variant)] {
            let len = doc
                .value
                .pointer(&env_ptr)
                .and_then(J::as_array)
                .map_or(0, Vec::len);
            doc.set(
                &format!("{env_ptr}/{len}"),
                json!({"name": name, "value": value}),
                origin.clone(),
            );
        }
    }
    doc
}

fn namespace_doc(exp_name: &str, exp_ns: &str, app: &str, env: &str, variant: &str, shard_ns: &str) -> Doc {
    Doc::new(
        json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": shard_ns,
                "labels": {
                    "app.kubernetes.io/managed-by": "ojek",
                    "ojek.dev/app": app,
                    "ojek.dev/env": env,
                    LABEL_EXPERIMENT: exp_name,
                    LABEL_EXPERIMENT_NAMESPACE: exp_ns,
                    LABEL_VARIANT: variant,
                }
            }
        }),
        Origin::experiment(format!("{exp_name}/{variant}"), "the variant's shard namespace"),
    )
}

/// The relative weights in effect: the baseline first. A variant gets its weight only once
/// `ready(variant)`; a decision overrides (promote: everything to the winner; abort:
/// everything to the baseline).
pub fn effective_weights(exp: &Experiment, ready: &dyn Fn(&str) -> bool) -> Vec<(String, u32)> {
    let spec = &exp.spec;
    let decision = spec.decision.as_ref();
    let promote = decision.and_then(|d| d.promote.as_deref());
    let abort = decision.is_some_and(|d| d.abort);
    let mut out = Vec::with_capacity(spec.variants.len() + 1);
    let base = match (promote, abort) {
        (_, true) => 1,
        (Some(winner), _) if ready(winner) => 0,
        (Some(_), _) => 1,
        (None, _) => spec.baseline_weight,
    };
    out.push((BASELINE.to_string(), base));
    for v in &spec.variants {
        let w = match (promote, abort) {
            (_, true) => 0,
            (Some(winner), _) => u32::from(winner == v.name && ready(&v.name)),
            (None, _) if ready(&v.name) => v.weight,
            (None, _) => 0,
        };
        out.push((v.name.clone(), w));
    }
    out
}

/// Relative weights as percentages that add up to exactly 100 (largest remainder; all 0
/// when the total is 0).
pub fn percent(weights: &[(String, u32)]) -> Vec<(String, u32)> {
    let total: u64 = weights.iter().map(|(_, w)| u64::from(*w)).sum();
    if total == 0 {
        return weights.iter().map(|(n, _)| (n.clone(), 0)).collect();
    }
    let mut out: Vec<(String, u32, u64)> = weights
        .iter()
        .map(|(n, w)| {
            let scaled = u64::from(*w) * 100;
            (
                n.clone(),
                u32::try_from(scaled / total).unwrap_or(100),
                scaled % total,
            )
        })
        .collect();
    let assigned: u32 = out.iter().map(|(_, p, _)| *p).sum();
    let mut order: Vec<usize> = (0..out.len()).collect();
    // Largest remainder first; ties go to the earlier entry (the baseline first).
    order.sort_by(|a, b| out[*b].2.cmp(&out[*a].2).then(a.cmp(b)));
    for i in order.into_iter().take(100usize.saturating_sub(assigned as usize)) {
        out[i].1 += 1;
    }
    out.into_iter().map(|(n, p, _)| (n, p)).collect()
}

/// Everything the experiment wants. `ready(variant)` says whether a variant's shard is ready
/// (the render command assumes all are); `located` gives the variants' `overrides` nodes
/// when the Experiment was read from a file.
pub fn desired(
    exp: &Experiment,
    app: Option<&LoadedApp>,
    platform: &LoadedPlatform,
    ready: &dyn Fn(&str) -> bool,
    located: &dyn Fn(usize) -> Option<Node>,
) -> Result<Desired, Vec<Problem>> {
    let spec = &exp.spec;
    let mut problems = check_spec(spec);
    let target = check_app(spec, app, platform);
    let (loaded, process) = match (target, app) {
        (Ok(t), Some(a)) if problems.is_empty() => (a, t.process),
        (Err(p), _) => {
            problems.extend(p);
            return Err(problems);
        }
        _ => return Err(problems),
    };
    let env = spec.environment.as_str();
    let exp_name = exp.metadata.name.clone().unwrap_or_default();
    let base = render_kube(loaded, platform, env, None).map_err(|d| {
        vec![Problem::new(
            "RenderFailed",
            "spec.app",
            format!("the app does not render for `{env}`: {}", first_errors(&d)),
        )]
    })?;
    let Some(service) = base
        .iter()
        .find(|d| d.kind() == "Service" && label(d, "ojek.dev/process") == Some(process.as_str()))
    else {
        return Err(vec![Problem::new(
            "NoService",
            "spec.process",
            format!("process `{process}` renders no Service: give it a port"),
        )]);
    };
    let namespace = service
        .value
        .pointer("/metadata/namespace")
        .and_then(J::as_str)
        .unwrap_or_default()
        .to_string();
    let service_name = service.name().to_string();
    // The port the process's routes use (by name); the Service's first when they name none.
    let route_port = loaded
        .app
        .processes
        .get(&process)
        .and_then(|p| p.routes.iter().find_map(|r| r.port.clone()));
    let ports = service
        .value
        .pointer("/spec/ports")
        .and_then(J::as_array)
        .cloned()
        .unwrap_or_default();
    let port = ports
        .iter()
        .find(|p| route_port.is_some() && p.get("name").and_then(J::as_str) == route_port.as_deref())
        .or(ports.first())
        .and_then(|p| p.get("port"))
        .and_then(J::as_i64)
        .unwrap_or(80);
    if let Some(ns) = exp.metadata.namespace.as_deref()
        && ns != namespace
    {
        return Err(vec![Problem::new(
            "NotInAppNamespace",
            "metadata.namespace",
            format!(
                "the app `{}` runs in namespace `{namespace}` in `{env}`; create the Experiment there (only who may change the app's namespace may split its traffic)",
                spec.app
            ),
        )]);
    }
    let baseline_replicas = replicas_of(
        &base
            .iter()
            .filter(|d| belongs(d, &process))
            .cloned()
            .collect::<Vec<_>>(),
    );
    let not_sharded: Vec<String> = base
        .iter()
        .filter(|d| !belongs(d, &process) && !is_route(d.kind()))
        .map(Doc::id)
        .collect();
    let mut shards = Vec::new();
    for (i, v) in spec.variants.iter().enumerate() {
        let node = located(i);
        let extra = overlay(exp, v, &process, node.as_ref());
        let rendered = render_kube(loaded, platform, env, Some(&extra)).map_err(|d| {
            vec![Problem::new(
                "InvalidOverrides",
                format!("spec.variants[{i}].overrides"),
                format!("variant `{}` does not render: {}", v.name, first_errors(&d)),
            )]
        })?;
        let shard_ns = shard_namespace(&spec.app, env, &v.name);
        let kept: Vec<Doc> = rendered.into_iter().filter(|d| belongs(d, &process)).collect();
        let secrets = secrets_of(&kept);
        let replicas = replicas_of(&kept);
        let mut objects = vec![namespace_doc(
            &exp_name, &namespace, &spec.app, env, &v.name, &shard_ns,
        )];
        objects.extend(
            kept.into_iter()
                .map(|d| into_shard(d, &exp_name, &namespace, &v.name, &shard_ns)),
        );
        shards.push(Shard {
            variant: v.name.clone(),
            url: format!("http://{service_name}.{shard_ns}.svc.cluster.local:{port}"),
            namespace: shard_ns,
            objects,
            secrets,
            replicas,
        });
    }
    let weights = effective_weights(exp, ready);
    let restore: Vec<Doc> = base
        .iter()
        .filter(|d| is_route(d.kind()) && label(d, "ojek.dev/process") == Some(process.as_str()))
        .cloned()
        .collect();
    let mut d = Desired {
        namespace,
        process,
        service: service_name,
        port,
        baseline_replicas,
        shards,
        route: Vec::new(),
        restore,
        weights,
        not_sharded,
        notes: Vec::new(),
    };
    let (route, notes) = route::routes(exp, &d)?;
    d.route = route;
    d.notes = notes;
    if !d.not_sharded.is_empty() {
        d.notes.push((
            "ProcessesNotSharded",
            "OnlyTheSplitProcess",
            format!(
                "shards run only process `{}`; not copied: {}",
                d.process,
                d.not_sharded.join(", ")
            ),
        ));
    }
    Ok(d)
}

/// The first few errors of `d`, with their paths, for a one-line message.
pub(crate) fn first_errors(d: &Diagnostics) -> String {
    let errors: Vec<String> =
        d.0.iter()
            .filter(|x| x.severity == ojek_spec::Severity::Error)
            .take(3)
            .map(|x| match &x.path {
                Some(p) => format!("{p}: {}", x.message),
                None => x.message.clone(),
            })
            .collect();
    errors.join("; ")
}

impl Desired {
    /// Every object in apply order: each shard (namespace first), then the routing objects.
    pub fn objects(&self) -> impl Iterator<Item = &Doc> {
        self.shards
            .iter()
            .flat_map(|s| s.objects.iter())
            .chain(self.route.iter())
    }
}
