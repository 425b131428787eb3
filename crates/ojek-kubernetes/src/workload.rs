//! Workloads: Deployment or StatefulSet for services and workers, CronJob, Job; their pod
//! templates and containers.

use indexmap::IndexMap;
use ojek_output::bind::{self, Part};
use ojek_output::{Doc, Origin};
use ojek_spec::manifest::*;
use ojek_spec::platform::TargetKind;
use serde_json::{Map, Value, json};

use crate::Ctx;
use crate::config::{config_map_name, file_keys};
use crate::meta;

/// True when the process runs as a StatefulSet (it has a persistent volume).
pub(crate) fn is_stateful(p: &Process) -> bool {
    p.volumes.values().any(|v| v.kind == VolumeKind::Persistent)
}

/// Deployment, or StatefulSet when the process has a persistent volume.
pub(crate) fn long_running(cx: &mut Ctx, name: &str, p: &Process) -> Doc {
    let base = format!("processes.{name}");
    let stateful = is_stateful(p);
    let kind = if stateful { "StatefulSet" } else { "Deployment" };
    let why = if stateful {
        format!(
            "a {} process with a persistent volume runs as a StatefulSet: one volume per replica",
            p.kind.as_str()
        )
    } else {
        format!("a {} process runs as a Deployment", p.kind.as_str())
    };
    let obj_name = cx.object_name(name);
    let mut doc = meta::object(
        cx,
        kind,
        &obj_name,
        Some(name),
        cx.src.manifest_note(&format!("{base}.kind"), why),
    );
    let autoscaled = p.scaling.as_ref().is_some_and(|s| s.autoscale.is_some());
    let mut spec = Doc::new(json!({}), cx.src.manifest_note(&format!("{base}.kind"), ""));
    if let Some(r) = p.scaling.as_ref().and_then(|s| s.replicas) {
        spec.set(
            "/replicas",
            json!(r),
            cx.src.manifest(&format!("{base}.scaling.replicas")),
        );
        spec.param("/replicas", format!("{name}.replicas"), None);
    } else if !autoscaled {
        spec.set(
            "/replicas",
            json!(1),
            Origin::default("no scaling given: one replica"),
        );
    }
    if stateful {
        spec.set(
            "/serviceName",
            json!(format!("{obj_name}-headless")),
            Origin::default("a StatefulSet names the headless Service that gives its pods stable DNS names"),
        );
    }
    spec.set(
        "/selector",
        json!({ "matchLabels": meta::selector(cx, name) }),
        Origin::default("pods are selected by app and process; these labels never change, so selectors stay valid across releases"),
    );
    strategy(cx, &mut spec, name, p, stateful);
    spec.set(
        "/revisionHistoryLimit",
        json!(10),
        Origin::default(if stateful {
            "ten old revisions are kept for `kubectl rollout undo` and ojek rollback"
        } else {
            "ten old ReplicaSets are kept for `kubectl rollout undo` and ojek rollback"
        }),
    );
    let template = pod_template(cx, name, p, None);
    spec.graft("/template", template);
    if stateful {
        let mut claims = Vec::new();
        for (vname, v) in p.volumes.iter().filter(|(_, v)| v.kind == VolumeKind::Persistent) {
            let vpath = format!("{base}.volumes.{vname}");
            let mut claim = Doc::new(json!({"metadata": {"name": vname}}), cx.src.manifest(&vpath));
            claim.set(
                "/spec/accessModes",
                json!(["ReadWriteOnce"]),
                Origin::default("one volume per replica, mounted by one node"),
            );
            if let Some(class) = &cx.profile.storage_class {
                claim.set(
                    "/spec/storageClassName",
                    json!(class),
                    cx.src.platform(&format!("{}.storageClass", cx.profile_path)),
                );
            }
            let size = v.size.as_ref().map(|s| s.0.clone()).unwrap_or_default();
            claim.set(
                "/spec/resources/requests/storage",
                json!(size),
                cx.src.manifest(&format!("{vpath}.size")),
            );
            claims.push(claim);
        }
        for c in claims {
            spec.push("/volumeClaimTemplates", c);
        }
    }
    doc.graft("/spec", spec);
    doc
}

fn strategy(cx: &mut Ctx, spec: &mut Doc, name: &str, p: &Process, stateful: bool) {
    let base = format!("processes.{name}.update");
    let Some(u) = &p.update else { return };
    if u.canary.is_some() {
        cx.unsupported(
            &format!("{base}.canary"),
            "a Deployment has no canary step; it replaces replicas by maxSurge/maxUnavailable",
            "use an Experiment (ojek experiments), Argo Rollouts via a raw object, or a second process",
        );
    }
    let field = if stateful { "/updateStrategy" } else { "/strategy" };
    match u.strategy {
        UpdateStrategy::Recreate if stateful => {
            spec.set(
                field,
                json!({"type": "OnDelete"}),
                cx.src.manifest_note(
                    &format!("{base}.strategy"),
                    "a StatefulSet has no Recreate; OnDelete replaces pods only when they are deleted",
                ),
            );
        }
        UpdateStrategy::Recreate => {
            spec.set(
                field,
                json!({"type": "Recreate"}),
                cx.src.manifest(&format!("{base}.strategy")),
            );
        }
        UpdateStrategy::Rolling => {
            spec.set(
                &format!("{field}/type"),
                json!("RollingUpdate"),
                cx.src.manifest_note(&base.to_string(), "rolling update"),
            );
            if let Some(s) = &u.max_surge {
                if stateful {
                    cx.unsupported(
                        &format!("{base}.maxSurge"),
                        "a StatefulSet never runs extra replicas during an update",
                        "remove maxSurge for stateful processes",
                    );
                } else {
                    spec.set(
                        &format!("{field}/rollingUpdate/maxSurge"),
                        s.to_json(),
                        cx.src.manifest(&format!("{base}.maxSurge")),
                    );
                }
            }
            if let Some(m) = &u.max_unavailable {
                if stateful {
                    cx.unsupported(
                        &format!("{base}.maxUnavailable"),
                        "StatefulSet maxUnavailable is an alpha feature, off by default",
                        "remove maxUnavailable for stateful processes",
                    );
                } else {
                    spec.set(
                        &format!("{field}/rollingUpdate/maxUnavailable"),
                        m.to_json(),
                        cx.src.manifest(&format!("{base}.maxUnavailable")),
                    );
                }
            }
        }
    }
}

/// CronJob for a `cron` process.
pub(crate) fn cron_job(cx: &mut Ctx, name: &str, p: &Process) -> Doc {
    let base = format!("processes.{name}");
    let obj_name = cx.object_name(name);
    let mut doc = meta::object(
        cx,
        "CronJob",
        &obj_name,
        Some(name),
        cx.src
            .manifest_note(&format!("{base}.kind"), "a cron process runs as a CronJob"),
    );
    let mut spec = Doc::new(json!({}), cx.src.manifest(&format!("{base}.kind")));
    spec.set(
        "/schedule",
        json!(p.schedule.clone().unwrap_or_default()),
        cx.src.manifest(&format!("{base}.schedule")),
    );
    match &p.time_zone {
        Some(tz) => spec.set(
            "/timeZone",
            json!(tz),
            cx.src.manifest(&format!("{base}.timeZone")),
        ),
        None => spec.set(
            "/timeZone",
            json!("Etc/UTC"),
            Origin::default("no timeZone given: schedules are in UTC, not the controller's local time"),
        ),
    }
    let policy = match p.concurrency {
        Some(Concurrency::Allow) => "Allow",
        Some(Concurrency::Replace) => "Replace",
        Some(Concurrency::Forbid) => "Forbid",
        None => "Forbid",
    };
    let policy_origin = match p.concurrency {
        Some(_) => cx.src.manifest(&format!("{base}.concurrency")),
        None => Origin::default(
            "no concurrency given: a run is skipped while the previous one still runs, the safe choice for reports and batch work",
        ),
    };
    spec.set("/concurrencyPolicy", json!(policy), policy_origin);
    spec.set(
        "/successfulJobsHistoryLimit",
        json!(3),
        Origin::default("the last three successful runs are kept for their logs"),
    );
    spec.set(
        "/failedJobsHistoryLimit",
        json!(3),
        Origin::default("the last three failed runs are kept for their logs"),
    );
    let job = job_spec(cx, name, p);
    let mut template = Doc::new(json!({}), cx.src.manifest(&format!("{base}.kind")));
    template.value["metadata"] = json!({});
    meta::copy_shared(cx, &mut template, Some(name), &["labels"]);
    template.graft("/spec", job);
    spec.graft("/jobTemplate", template);
    doc.graft("/spec", spec);
    doc
}

/// Job for a `job` process.
pub(crate) fn job(cx: &mut Ctx, name: &str, p: &Process) -> Doc {
    let base = format!("processes.{name}");
    let obj_name = cx.object_name(name);
    let mut doc = meta::object(
        cx,
        "Job",
        &obj_name,
        Some(name),
        cx.src
            .manifest_note(&format!("{base}.kind"), "a job process runs once as a Job"),
    );
    let spec = job_spec(cx, name, p);
    doc.graft("/spec", spec);
    doc
}

fn job_spec(cx: &mut Ctx, name: &str, p: &Process) -> Doc {
    let base = format!("processes.{name}");
    let mut spec = Doc::new(json!({}), cx.src.manifest(&format!("{base}.kind")));
    match p.retries {
        Some(r) => spec.set(
            "/backoffLimit",
            json!(r),
            cx.src.manifest(&format!("{base}.retries")),
        ),
        None => spec.set(
            "/backoffLimit",
            json!(0),
            Origin::default(
                "no retries given: a failed run is not retried, so side effects never repeat unasked",
            ),
        ),
    }
    if let Some(d) = p.deadline.as_ref().and_then(|d| d.seconds()) {
        spec.set(
            "/activeDeadlineSeconds",
            json!(d),
            cx.src.manifest(&format!("{base}.deadline")),
        );
    }
    let template = pod_template(cx, name, p, Some("Never"));
    spec.graft("/template", template);
    spec
}

/// A pod template: labels, and the pod spec with all containers.
fn pod_template(cx: &mut Ctx, name: &str, p: &Process, restart: Option<&str>) -> Doc {
    let base = format!("processes.{name}");
    let mut t = Doc::new(json!({"metadata": {}}), cx.src.manifest(&format!("{base}.kind")));
    meta::copy_shared(cx, &mut t, Some(name), &["labels", "annotations"]);
    if let Some(a) = t.value["metadata"]
        .get_mut("annotations")
        .and_then(serde_json::Value::as_object_mut)
    {
        // Pods carry the app's own annotations, not ojek's description of it.
        a.remove("ojek.dev/description");
        t.origins.remove("/metadata/annotations/ojek.dev~1description");
        if a.is_empty() {
            t.value["metadata"]
                .as_object_mut()
                .map(|m| m.remove("annotations"));
        }
    }
    if !p.files.is_empty() {
        let hash = files_hash(p);
        t.set(
            "/metadata/annotations/ojek.dev~1files-hash",
            json!(hash),
            cx.src.manifest_note(
                &format!("{base}.files"),
                "hash of the config files: a change restarts the pods, which mount files by subPath",
            ),
        );
    }
    let mut spec = Doc::new(json!({}), cx.src.manifest(&format!("{base}.kind")));
    spec.set(
        "/serviceAccountName",
        json!(cx.app.metadata.name),
        Origin::default("the app's own ServiceAccount"),
    );
    if let Some(r) = restart {
        spec.set(
            "/restartPolicy",
            json!(r),
            Origin::default(
                "a failed run is retried by the Job (backoffLimit) in a new pod, never restarted in place",
            ),
        );
    }
    if let Some(g) = p.shutdown_grace_period.as_ref().and_then(|d| d.seconds()) {
        spec.set(
            "/terminationGracePeriodSeconds",
            json!(g),
            cx.src.manifest(&format!("{base}.shutdownGracePeriod")),
        );
    }
    // Pod-level security defaults (Pod Security Standards, "restricted" where it cannot break images).
    spec.set(
        "/securityContext/seccompProfile/type",
        json!("RuntimeDefault"),
        Origin::default(
            "the container runtime's default seccomp profile (Pod Security Standards: restricted)",
        ),
    );
    if let Some(pl) = &p.placement {
        if !pl.node_selector.is_empty() {
            spec.set(
                "/nodeSelector",
                json!(pl.node_selector),
                cx.src.manifest(&format!("{base}.placement.nodeSelector")),
            );
        }
        for (i, t) in pl.tolerations.iter().enumerate() {
            let mut tol = Map::new();
            tol.insert("key".into(), json!(t.key));
            match &t.value {
                Some(v) => {
                    tol.insert("operator".into(), json!("Equal"));
                    tol.insert("value".into(), json!(v));
                }
                None => {
                    tol.insert("operator".into(), json!("Exists"));
                }
            }
            if let Some(e) = t.effect {
                tol.insert("effect".into(), json!(format!("{e:?}")));
            }
            spec.set(
                &format!("/tolerations/{i}"),
                Value::Object(tol),
                cx.src.manifest(&format!("{base}.placement.tolerations[{i}]")),
            );
        }
    }
    if !cx.profile.image_pull_secrets.is_empty() {
        let secrets: Vec<Value> = cx
            .profile
            .image_pull_secrets
            .iter()
            .map(|s| json!({"name": s}))
            .collect();
        spec.set(
            "/imagePullSecrets",
            Value::Array(secrets),
            cx.src.platform(&format!("{}.imagePullSecrets", cx.profile_path)),
        );
    }
    // Native sidecars (init containers with restartPolicy Always, GA in 1.33) start first so that
    // init containers and the main container can use them; init containers run in order.
    let mut inits: Vec<Doc> = Vec::new();
    for (cname, c) in &p.sidecars {
        let mut d = container(cx, &format!("{base}.sidecars.{cname}"), cname, c);
        d.set(
            "/restartPolicy",
            json!("Always"),
            Origin::default(
                "a native sidecar: an init container that keeps running beside the main container",
            ),
        );
        inits.push(d);
    }
    for (cname, c) in &p.init_containers {
        inits.push(container(cx, &format!("{base}.initContainers.{cname}"), cname, c));
    }
    for d in inits {
        spec.push("/initContainers", d);
    }
    let main = main_container(cx, name, p);
    spec.push("/containers", main);
    volumes(cx, &mut spec, name, p);
    t.graft("/spec", spec);
    t
}

/// Stable 64-bit FNV-1a hash of the files, hex.
fn files_hash(p: &Process) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for (path, f) in &p.files {
        for b in path
            .bytes()
            .chain([0])
            .chain(f.content.as_deref().unwrap_or("").bytes())
            .chain([0])
        {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    format!("{h:016x}")
}

fn volumes(cx: &mut Ctx, spec: &mut Doc, name: &str, p: &Process) {
    let base = format!("processes.{name}");
    for (vname, v) in p.volumes.iter().filter(|(_, v)| v.kind == VolumeKind::Ephemeral) {
        let vpath = format!("{base}.volumes.{vname}");
        let mut empty = Map::new();
        if v.memory {
            empty.insert("medium".into(), json!("Memory"));
        }
        if let Some(s) = &v.size {
            empty.insert("sizeLimit".into(), json!(s.0));
        }
        let d = Doc::new(
            json!({"name": vname, "emptyDir": Value::Object(empty)}),
            cx.src.manifest(&vpath),
        );
        spec.push("/volumes", d);
    }
    if !p.files.is_empty() {
        let items: Vec<Value> = file_keys(p)
            .into_iter()
            .map(|(path, key)| {
                let mut item = json!({"key": key, "path": key});
                if let Some(mode) = p.files[&path]
                    .mode
                    .as_ref()
                    .and_then(|m| u32::from_str_radix(m, 8).ok())
                {
                    item["mode"] = json!(mode);
                }
                item
            })
            .collect();
        let d = Doc::new(
            json!({"name": "ojek-files", "configMap": {"name": config_map_name(cx, name), "items": items}}),
            cx.src.manifest_note(
                &format!("{base}.files"),
                "config files come from the process's ConfigMap",
            ),
        );
        spec.push("/volumes", d);
    }
}

fn main_container(cx: &mut Ctx, name: &str, p: &Process) -> Doc {
    let base = format!("processes.{name}");
    let c = Container {
        image: p.image.clone(),
        command: p.command.clone(),
        args: p.args.clone(),
        env: p.env.clone(),
        cpu: p.cpu.clone(),
        memory: p.memory.clone(),
    };
    let mut d = container(cx, &base, name, &c);
    // Only an explicit tag becomes a Helm value; digests and untagged images stay as written.
    let (prefix, tag) = split_image(&p.image);
    if !tag.is_empty() && p.image.ends_with(&format!(":{tag}")) {
        d.param("/image", format!("{name}.image.tag"), Some(prefix));
    }
    if !p.ports.is_empty() {
        let ports: Vec<Value> = p
            .ports
            .iter()
            .map(|(pname, port)| {
                json!({
                    "name": pname,
                    "containerPort": port.port,
                    "protocol": if port.protocol == PortProtocol::Udp { "UDP" } else { "TCP" },
                })
            })
            .collect();
        d.set(
            "/ports",
            Value::Array(ports),
            cx.src.manifest(&format!("{base}.ports")),
        );
        for (i, pname) in p.ports.keys().enumerate() {
            d.trace(
                &format!("/ports/{i}"),
                cx.src.manifest(&format!("{base}.ports.{pname}")),
            );
        }
    }
    if let Some(h) = &p.health {
        for (field, probe, k8s) in [
            ("liveness", &h.liveness, "livenessProbe"),
            ("readiness", &h.readiness, "readinessProbe"),
            ("startup", &h.startup, "startupProbe"),
        ] {
            if let Some(probe) = probe {
                let path = format!("{base}.health.{field}");
                let v = probe_json(p, probe);
                d.set(&format!("/{k8s}"), v, cx.src.manifest(&path));
            }
        }
    }
    // Security: what the manifest asks, plus no privilege escalation by default.
    let sec = p.security.clone().unwrap_or_default();
    if let Some(v) = sec.run_as_non_root {
        d.set(
            "/securityContext/runAsNonRoot",
            json!(v),
            cx.src.manifest(&format!("{base}.security.runAsNonRoot")),
        );
    }
    if let Some(v) = sec.run_as_user {
        d.set(
            "/securityContext/runAsUser",
            json!(v),
            cx.src.manifest(&format!("{base}.security.runAsUser")),
        );
    }
    if let Some(v) = sec.read_only_root_filesystem {
        d.set(
            "/securityContext/readOnlyRootFilesystem",
            json!(v),
            cx.src
                .manifest(&format!("{base}.security.readOnlyRootFilesystem")),
        );
    }
    let mut mounts: Vec<Doc> = Vec::new();
    for (vname, v) in &p.volumes {
        mounts.push(Doc::new(
            json!({"name": vname, "mountPath": v.path}),
            cx.src.manifest(&format!("{base}.volumes.{vname}.path")),
        ));
    }
    for (path, key) in file_keys(p) {
        mounts.push(Doc::new(
            json!({"name": "ojek-files", "mountPath": path, "subPath": key, "readOnly": true}),
            cx.src.manifest(&format!("{base}.files[\"{path}\"]")),
        ));
    }
    for m in mounts {
        d.push("/volumeMounts", m);
    }
    d
}

/// Splits `registry/app:tag` into (`registry/app:`, `tag`); digests and untagged images keep
/// the whole reference as prefix.
pub(crate) fn split_image(image: &str) -> (String, String) {
    let last = image.rsplit('/').next().unwrap_or(image);
    if image.contains('@') {
        return (image.to_string(), String::new());
    }
    match last.rfind(':') {
        Some(i) => {
            let cut = image.len() - last.len() + i + 1;
            (image[..cut].to_string(), image[cut..].to_string())
        }
        None => (format!("{image}:"), "latest".to_string()),
    }
}

fn probe_json(p: &Process, probe: &Probe) -> Value {
    let port_ref = |name: &Option<String>| -> Value {
        match name {
            Some(n) => json!(n),
            None => json!(p.ports.keys().next().cloned().unwrap_or_default()),
        }
    };
    let mut v = Map::new();
    if let Some(h) = &probe.http {
        v.insert(
            "httpGet".into(),
            json!({"path": h.path, "port": port_ref(&h.port)}),
        );
    }
    if let Some(t) = &probe.tcp {
        v.insert("tcpSocket".into(), json!({"port": port_ref(&t.port)}));
    }
    if let Some(e) = &probe.exec {
        v.insert("exec".into(), json!({"command": e.command}));
    }
    if let Some(g) = &probe.grpc {
        // gRPC probes take a port number, not a name.
        let number = g
            .port
            .as_ref()
            .and_then(|n| p.ports.get(n))
            .or_else(|| p.ports.values().next())
            .map(|p| p.port)
            .unwrap_or_default();
        let mut grpc = json!({"port": number});
        if let Some(s) = &g.service {
            grpc["service"] = json!(s);
        }
        v.insert("grpc".into(), grpc);
    }
    if let Some(s) = probe.initial_delay.as_ref().and_then(|d| d.seconds()) {
        v.insert("initialDelaySeconds".into(), json!(s));
    }
    if let Some(s) = probe.interval.as_ref().and_then(|d| d.seconds()) {
        v.insert("periodSeconds".into(), json!(s.max(1)));
    }
    if let Some(s) = probe.timeout.as_ref().and_then(|d| d.seconds()) {
        v.insert("timeoutSeconds".into(), json!(s.max(1)));
    }
    if let Some(f) = probe.failure_threshold {
        v.insert("failureThreshold".into(), json!(f));
    }
    Value::Object(v)
}

/// A container (main, sidecar or init) with env and resources, traced to `base`.
fn container(cx: &mut Ctx, base: &str, name: &str, c: &Container) -> Doc {
    let mut d = Doc::new(json!({"name": name}), cx.src.manifest(base));
    d.set(
        "/image",
        json!(c.image),
        cx.src.manifest(&format!("{base}.image")),
    );
    if let Some(cmd) = &c.command {
        d.set(
            "/command",
            json!(cmd),
            cx.src.manifest(&format!("{base}.command")),
        );
    }
    if let Some(args) = &c.args {
        d.set("/args", json!(args), cx.src.manifest(&format!("{base}.args")));
    }
    let env = env_vars(cx, base, &c.env);
    for e in env {
        d.push("/env", e);
    }
    let mut resources = Map::new();
    for (field, amount) in [("cpu", &c.cpu), ("memory", &c.memory)] {
        if let Some(a) = amount {
            if let Some(r) = &a.request {
                resources.entry("requests").or_insert_with(|| json!({}))[field] = json!(r.0);
            }
            if let Some(l) = &a.limit {
                resources.entry("limits").or_insert_with(|| json!({}))[field] = json!(l.0);
            }
        }
    }
    if !resources.is_empty() {
        d.set(
            "/resources",
            Value::Object(resources.clone()),
            cx.src.manifest(base),
        );
        for (kind, field) in [
            ("requests", "cpu"),
            ("requests", "memory"),
            ("limits", "cpu"),
            ("limits", "memory"),
        ] {
            if resources.get(kind).and_then(|r| r.get(field)).is_some() {
                let mf = if kind == "requests" { "request" } else { "limit" };
                d.trace(
                    &format!("/resources/{kind}/{field}"),
                    cx.src.manifest(&format!("{base}.{field}.{mf}")),
                );
            }
        }
    }
    d.set(
        "/securityContext/allowPrivilegeEscalation",
        json!(false),
        Origin::default("no process in the container may gain more privileges than it started with (Pod Security Standards)"),
    );
    d
}

/// Env vars. Secret parts are read with secretKeyRef; a value mixing text and secrets reads
/// each secret into a helper variable first and refers to it with `$(NAME)`, which Kubernetes
/// expands. Kubernetes reads `$$` as `$`, so every literal `$` is written `$$`: the value
/// arrives exactly as written in the manifest.
fn env_vars(cx: &mut Ctx, base: &str, env: &IndexMap<String, EnvValue>) -> Vec<Doc> {
    let mut out = Vec::new();
    for (key, value) in env {
        let path = format!("{base}.env.{key}");
        let resolved = match bind::resolve(cx.src, TargetKind::Kubernetes, value, &path) {
            Ok(r) => r,
            Err(d) => {
                cx.errors.push(d);
                continue;
            }
        };
        match resolved.parts.as_slice() {
            [Part::Text(t)] => out.push(Doc::new(
                json!({"name": key, "value": t.replace('$', "$$")}),
                resolved.origin,
            )),
            [Part::Secret { name, key: skey, .. }] => out.push(Doc::new(
                json!({"name": key, "valueFrom": {"secretKeyRef": {"name": name, "key": skey}}}),
                resolved.origin,
            )),
            parts => {
                let mut composed = String::new();
                let mut n = 0;
                for part in parts {
                    match part {
                        Part::Text(t) => composed.push_str(&t.replace('$', "$$")),
                        Part::Secret { name, key: skey, .. } => {
                            n += 1;
                            let helper = format!("OJEK_{key}_{n}");
                            out.push(Doc::new(
                                json!({"name": helper, "valueFrom": {"secretKeyRef": {"name": name, "key": skey}}}),
                                resolved.origin.clone().with_note(format!("helper variable holding one secret part of {key}; {}", resolved.origin.note)),
                            ));
                            composed.push_str(&format!("$({helper})"));
                        }
                    }
                }
                out.push(Doc::new(json!({"name": key, "value": composed}), resolved.origin));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::split_image;

    #[test]
    fn image_split() {
        assert_eq!(
            split_image("reg:5000/team/app:1.2"),
            ("reg:5000/team/app:".into(), "1.2".into())
        );
        assert_eq!(split_image("nginx"), ("nginx:".into(), "latest".into()));
        assert_eq!(split_image("app@sha256:abc").1, "");
    }
}
