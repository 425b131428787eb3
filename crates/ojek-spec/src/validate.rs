//! Checks that need more than the schema: names, cross-references (route → port,
//! `${resources.x.y}` → resource, kafka lag → topic), syntax of cron schedules, quantities and
//! durations, and which fields fit which process kind. Every problem is reported, each at the
//! location of the offending value.

use indexmap::IndexMap;

use crate::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use crate::manifest::*;
use crate::platform::{
    KUBERNETES_VERSIONS, KubernetesCluster, NomadCluster, Platform, TargetKind, TokenSource, is_env_var_name,
};
use crate::source::{Node, Path};
use crate::values::{Duration, check_cron};

struct Ctx<'a> {
    node: &'a Node,
    out: &'a mut Diagnostics,
}

impl Ctx<'_> {
    /// Reports at the value of `path`, or the nearest existing parent.
    fn error(&mut self, path: &Path, message: impl Into<String>) -> &mut Diagnostic {
        let mut p = path.clone();
        let loc = loop {
            if let Some(n) = self.node.get(&p) {
                break Some(n.loc.clone());
            }
            if p.0.pop().is_none() {
                break None;
            }
        };
        self.out.push(Diagnostic::error(loc, message).with_path(path));
        self.out.0.last_mut().expect("just pushed")
    }
    fn error_hint(&mut self, path: &Path, message: impl Into<String>, hint: impl Into<String>) {
        let d = self.error(path, message);
        d.hint = Some(hint.into());
    }
}

/// True for an RFC 1123 DNS label that also starts with a letter (Kubernetes Service names).
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && s.as_bytes()[0].is_ascii_lowercase()
        && !s.ends_with('-')
}

/// A route host: a DNS name, optionally a wildcard (`*.example.com`).
fn is_host(s: &str) -> bool {
    is_dns_name(s.strip_prefix("*.").unwrap_or(s))
}

/// A DNS subdomain name (RFC 1123), as Kubernetes names and label prefixes are.
fn is_dns_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

fn is_env_name(s: &str) -> bool {
    let mut b = s.bytes();
    b.next().is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Kubernetes label/annotation key: optional DNS prefix and `/`, then a name of at most 63.
fn is_qualified_name(s: &str) -> bool {
    let (prefix, name) = match s.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    prefix.is_none_or(is_dns_name)
        && !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric()
}

fn is_label_value(s: &str) -> bool {
    s.is_empty()
        || (s.len() <= 63
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && s.as_bytes()[0].is_ascii_alphanumeric()
            && s.as_bytes()[s.len() - 1].is_ascii_alphanumeric())
}

/// A `${resources.NAME.OUTPUT}` reference found in a string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interpolation {
    /// Resource name.
    pub resource: String,
    /// Output name.
    pub output: String,
}

/// Pieces of a string with interpolations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// Literal text (`$${` already unescaped to `${`).
    Text(String),
    /// A reference.
    Ref(Interpolation),
}

/// Splits a string into literal text and `${resources.NAME.OUTPUT}` references.
pub fn split_interpolations(s: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        text.push_str(&rest[..i]);
        let after = &rest[i..];
        if let Some(r) = after.strip_prefix("$${") {
            text.push_str("${");
            rest = r;
        } else if let Some(r) = after.strip_prefix("${") {
            let end = r.find('}').ok_or("`${` without a closing `}`")?;
            let inner = &r[..end];
            let parts: Vec<&str> = inner.split('.').collect();
            match parts.as_slice() {
                ["resources", name, output] if !name.is_empty() && !output.is_empty() => {
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(Piece::Ref(Interpolation {
                        resource: name.to_string(),
                        output: output.to_string(),
                    }));
                }
                _ => {
                    return Err(format!(
                        "`${{{inner}}}` is not a reference of the form ${{resources.NAME.OUTPUT}} (write `$${{` for a literal `${{`)"
                    ));
                }
            }
            rest = &r[end + 1..];
        } else {
            text.push('$');
            rest = &after[1..];
        }
    }
    text.push_str(rest);
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// Validates a resolved app (after environment overrides are merged).
pub fn validate_app(app: &App, node: &Node, out: &mut Diagnostics) {
    let mut cx = Ctx { node, out };
    let root = Path::root();
    let meta = root.key("metadata");
    for (field, value) in [("name", &app.metadata.name), ("team", &app.metadata.team)] {
        if !is_dns_label(value) {
            cx.error_hint(
                &meta.key(field),
                format!("`{value}` is not a valid {field}"),
                "use lowercase letters, digits and `-`, start with a letter, at most 63 characters (RFC 1123)",
            );
        }
    }
    for (key, value) in &app.metadata.labels {
        let p = meta.key("labels").key(key);
        if !is_qualified_name(key) {
            cx.error(&p, format!("`{key}` is not a valid label key"));
        }
        if !is_label_value(value) {
            cx.error_hint(
                &p,
                format!("`{value}` is not a valid label value"),
                "at most 63 characters: letters, digits, `-`, `_`, `.`",
            );
        }
    }
    for key in app.metadata.annotations.keys() {
        if !is_qualified_name(key) {
            cx.error(
                &meta.key("annotations").key(key),
                format!("`{key}` is not a valid annotation key"),
            );
        }
    }
    for (name, res) in &app.resources {
        let p = root.key("resources").key(name);
        if !is_dns_label(name) {
            cx.error(&p, format!("resource name `{name}` must be a DNS label"));
        }
        if res.kind != ResourceKind::KafkaTopic {
            for (field, set) in [
                ("topic", res.topic.is_some()),
                ("group", res.group.is_some()),
                ("access", res.access.is_some()),
            ] {
                if set {
                    cx.error(
                        &p.key(field),
                        format!("`{field}` is only for kafka-topic resources"),
                    );
                }
            }
        }
    }
    if app.processes.is_empty() {
        cx.error(&root.key("processes"), "an app needs at least one process");
    }
    for (name, process) in &app.processes {
        validate_process(&mut cx, app, name, process);
    }
    validate_targets(&mut cx, &app.targets);
    for (i, field) in app.best_effort.iter().enumerate() {
        // Whether the path names a field is checked once for the whole file (load::check_best_effort):
        // an environment that removes a field with `null` need not restate the list.
        if Path::parse(field).is_none() {
            cx.error(
                &root.key("bestEffort").index(i),
                format!("`{field}` is not a field path"),
            );
        }
    }
}

fn check_duration(cx: &mut Ctx, path: &Path, d: &Option<Duration>) {
    if let Some(d) = d
        && d.millis().is_none()
    {
        cx.error_hint(
            path,
            format!("`{d}` is not a duration"),
            "write durations like 30s, 1m30s, 500ms or 2h",
        );
    }
}

fn check_amount(cx: &mut Ctx, path: &Path, amount: &Option<ResourceAmount>, cpu: bool) {
    let Some(a) = amount else { return };
    let mut values = [None, None];
    for (i, (field, q)) in [("request", &a.request), ("limit", &a.limit)]
        .into_iter()
        .enumerate()
    {
        if let Some(q) = q {
            match q.value() {
                Some(v) if v > 0.0 => values[i] = Some(v),
                Some(_) => {
                    cx.error(&path.key(field), format!("`{q}` must be more than zero"));
                }
                None => {
                    let hint = if cpu {
                        "CPU is in cores: 0.5, 500m, 2"
                    } else {
                        "memory needs a unit: 256Mi, 1Gi, 512M"
                    };
                    cx.error_hint(&path.key(field), format!("`{q}` is not a quantity"), hint);
                }
            }
        }
    }
    if let (Some(r), Some(l)) = (values[0], values[1])
        && r > l
    {
        cx.error(&path.key("request"), "the request is larger than the limit");
    }
    if !cpu && let Some(v) = values.iter().flatten().find(|v| **v < 1024.0 * 1024.0) {
        cx.error_hint(
            path,
            format!("{v} bytes of memory is almost certainly a mistake"),
            "memory needs a unit: 256Mi, 1Gi",
        );
    }
}

fn resolve_port<'a>(
    cx: &mut Ctx,
    path: &Path,
    ports: &'a IndexMap<String, Port>,
    name: &Option<String>,
) -> Option<&'a Port> {
    match name {
        Some(n) => match ports.get(n) {
            Some(p) => Some(p),
            None => {
                let names: Vec<&str> = ports.keys().map(String::as_str).collect();
                let hint = match did_you_mean(n, names.iter().copied()) {
                    Some(m) => format!("did you mean `{m}`? Ports: {}", names.join(", ")),
                    None if names.is_empty() => "this process declares no ports".to_string(),
                    None => format!("ports of this process: {}", names.join(", ")),
                };
                cx.error_hint(path, format!("no port named `{n}`"), hint);
                None
            }
        },
        None if ports.len() == 1 => ports.values().next(),
        None => {
            let names: Vec<&str> = ports.keys().map(String::as_str).collect();
            let hint = if names.is_empty() {
                "declare the port under `ports`".to_string()
            } else {
                format!("name one of: {}", names.join(", "))
            };
            cx.error_hint(
                path,
                "`port` is required when a process does not have exactly one port",
                hint,
            );
            None
        }
    }
}

fn check_env(cx: &mut Ctx, app: &App, path: &Path, env: &IndexMap<String, EnvValue>) {
    for (key, value) in env {
        let p = path.key(key);
        if !is_env_name(key) {
            cx.error_hint(
                &p,
                format!("`{key}` is not a valid environment variable name"),
                "letters, digits and `_`, not starting with a digit",
            );
        }
        if key.starts_with("OJEK_") {
            cx.error(&p, "names starting with OJEK_ are reserved for the platform");
        }
        match value {
            EnvValue::Text(text) => match split_interpolations(text) {
                Ok(pieces) => {
                    for piece in pieces {
                        if let Piece::Ref(r) = piece {
                            check_reference(cx, app, &p, &r);
                        }
                    }
                }
                Err(e) => {
                    cx.error(&p, e);
                }
            },
            EnvValue::Secret(s) => {
                if s.secret.is_empty() || s.key.is_empty() {
                    cx.error(&p, "a secret reference needs both `secret` and `key`");
                } else if !is_dns_name(&s.secret) {
                    cx.error_hint(
                        &p.key("secret"),
                        format!("`{}` is not a valid secret name", s.secret),
                        "lowercase letters, digits, `-` and `.`",
                    );
                }
            }
            EnvValue::Number(_) | EnvValue::Bool(_) => {}
        }
    }
}

fn check_reference(cx: &mut Ctx, app: &App, path: &Path, r: &Interpolation) {
    match app.resources.get(&r.resource) {
        None => {
            let names: Vec<&str> = app.resources.keys().map(String::as_str).collect();
            let hint = match did_you_mean(&r.resource, names.iter().copied()) {
                Some(m) => format!("did you mean `{m}`?"),
                None if names.is_empty() => "declare it under `resources`".into(),
                None => format!("resources: {}", names.join(", ")),
            };
            cx.error_hint(
                path,
                format!(
                    "`${{resources.{}.{}}}` refers to an unknown resource",
                    r.resource, r.output
                ),
                hint,
            );
        }
        Some(res) => {
            let outputs = res.kind.outputs();
            if !outputs.contains(&r.output.as_str()) {
                let hint = match did_you_mean(&r.output, outputs.iter().copied()) {
                    Some(m) => format!(
                        "did you mean `{m}`? {} resources provide: {}",
                        res.kind.as_str(),
                        outputs.join(", ")
                    ),
                    None => format!("{} resources provide: {}", res.kind.as_str(), outputs.join(", ")),
                };
                cx.error_hint(
                    path,
                    format!(
                        "`{}` is not an output of {} resource `{}`",
                        r.output,
                        res.kind.as_str(),
                        r.resource
                    ),
                    hint,
                );
            }
        }
    }
}

fn validate_process(cx: &mut Ctx, app: &App, name: &str, p: &Process) {
    let path = Path::root().key("processes").key(name);
    let kind = p.kind;
    if !is_dns_label(name) {
        cx.error_hint(
            &path,
            format!("process name `{name}` is not a DNS label"),
            "lowercase letters, digits and `-`, starting with a letter",
        );
    } else if app.metadata.name.len() + 1 + name.len() > 63 {
        cx.error_hint(
            &path,
            format!("`{}-{name}` is longer than 63 characters", app.metadata.name),
            "generated object names join app and process names; shorten one",
        );
    }
    let stateful = p.volumes.values().any(|v| v.kind == VolumeKind::Persistent);
    if stateful && is_dns_label(name) && app.metadata.name.len() + 1 + name.len() > 52 {
        cx.error_hint(
            &path,
            format!("`{}-{name}` is longer than 52 characters", app.metadata.name),
            "a StatefulSet's name goes into its pods' controller-revision-hash label with 11 more characters; shorten the app or process name",
        );
    }
    if kind == ProcessKind::Cron && is_dns_label(name) && app.metadata.name.len() + 1 + name.len() > 52 {
        cx.error_hint(
            &path,
            format!("`{}-{name}` is longer than 52 characters", app.metadata.name),
            "Kubernetes appends 11 characters to a CronJob's name for its Jobs; shorten the app or process name",
        );
    }
    if p.image.trim().is_empty() || p.image.contains(char::is_whitespace) {
        cx.error(
            &path.key("image"),
            format!("`{}` is not an image reference", p.image),
        );
    }
    check_env(cx, app, &path.key("env"), &p.env);
    let mut mounts: Vec<(&str, Path)> = Vec::new();
    for (file, spec) in &p.files {
        let fp = path.key("files").key(file);
        if !file.starts_with('/')
            || file.ends_with('/')
            || file.split('/').any(|seg| seg == ".." || seg == ".")
        {
            cx.error_hint(
                &fp,
                format!("`{file}` must be an absolute file path"),
                "for example /etc/app/config.yaml",
            );
        }
        match (&spec.content, &spec.from_file) {
            (None, None) => {
                cx.error(&fp, "a file needs `content` or `fromFile`");
            }
            (Some(_), Some(_)) => {
                cx.error(&fp, "give `content` or `fromFile`, not both");
            }
            _ => {}
        }
        if let Some(mode) = &spec.mode
            && (mode.len() != 4 || !mode.starts_with('0') || u32::from_str_radix(mode, 8).is_err())
        {
            cx.error_hint(
                &fp.key("mode"),
                format!("`{mode}` is not an octal file mode"),
                "write it quoted, like \"0644\"",
            );
        }
        mounts.push((file.as_str(), fp));
    }
    for (vname, vol) in &p.volumes {
        let vp = path.key("volumes").key(vname);
        if !is_dns_label(vname) {
            cx.error(&vp, format!("volume name `{vname}` is not a DNS label"));
        }
        if !vol.path.starts_with('/') {
            cx.error(
                &vp.key("path"),
                format!("`{}` must be an absolute path", vol.path),
            );
        }
        match (&vol.size, vol.kind) {
            (None, VolumeKind::Persistent) => {
                cx.error_hint(
                    &vp,
                    "a persistent volume needs a `size`",
                    "for example size: 10Gi",
                );
            }
            (Some(s), _) if s.bytes().is_none() => {
                cx.error_hint(
                    &vp.key("size"),
                    format!("`{s}` is not a size"),
                    "for example 10Gi",
                );
            }
            _ => {}
        }
        if vol.memory && vol.kind == VolumeKind::Persistent {
            cx.error(&vp.key("memory"), "only ephemeral volumes can live in memory");
        }
        if vol.kind == VolumeKind::Persistent && !kind.is_long_running() {
            cx.error(
                &vp,
                format!(
                    "persistent volumes are for services and workers, not {} processes",
                    kind.as_str()
                ),
            );
        }
        mounts.push((vol.path.as_str(), vp));
    }
    for (i, (a, pa)) in mounts.iter().enumerate() {
        for (b, _) in &mounts[..i] {
            if a == b {
                cx.error(pa, format!("`{a}` is mounted twice"));
            }
        }
    }
    let mut seen_ports: Vec<u16> = Vec::new();
    for (pname, port) in &p.ports {
        let pp = path.key("ports").key(pname);
        if !is_dns_label(pname) || pname.len() > 15 || pname.contains("--") {
            cx.error_hint(
                &pp,
                format!("port name `{pname}` is invalid"),
                "at most 15 lowercase letters, digits and single `-`, like `http` or `grpc`",
            );
        }
        if port.port == 0 {
            cx.error(&pp.key("port"), "port 0 is not a port");
        }
        if seen_ports.contains(&port.port) {
            cx.error(&pp.key("port"), format!("port {} is declared twice", port.port));
        }
        seen_ports.push(port.port);
    }
    if !p.routes.is_empty() && kind != ProcessKind::Service {
        cx.error_hint(
            &path.key("routes"),
            format!("routes are for `service` processes, not `{}`", kind.as_str()),
            "make this process a service, or remove the routes",
        );
    }
    for (i, route) in p.routes.iter().enumerate() {
        let rp = path.key("routes").index(i);
        if !is_host(&route.host) {
            cx.error(&rp.key("host"), format!("`{}` is not a host name", route.host));
        }
        if let Some(rpath) = &route.path
            && !rpath.starts_with('/')
        {
            cx.error(&rp.key("path"), "a route path starts with `/`");
        }
        if let Some(port) = resolve_port(cx, &rp.key("port"), &p.ports, &route.port)
            && matches!(port.protocol, PortProtocol::Tcp | PortProtocol::Udp)
        {
            cx.error(&rp.key("port"), "HTTP routes need an http or grpc port");
        }
    }
    if let Some(h) = &p.health {
        for (probe_name, probe) in [
            ("liveness", &h.liveness),
            ("readiness", &h.readiness),
            ("startup", &h.startup),
        ] {
            let Some(probe) = probe else { continue };
            let pp = path.key("health").key(probe_name);
            let set = [
                probe.http.is_some(),
                probe.tcp.is_some(),
                probe.exec.is_some(),
                probe.grpc.is_some(),
            ]
            .iter()
            .filter(|b| **b)
            .count();
            if set != 1 {
                cx.error(
                    &pp,
                    format!("a check needs exactly one of http, tcp, exec, grpc (found {set})"),
                );
            }
            if let Some(c) = &probe.http {
                resolve_port(cx, &pp.key("http").key("port"), &p.ports, &c.port);
                if !c.path.starts_with('/') {
                    cx.error(&pp.key("http").key("path"), "the path starts with `/`");
                }
            }
            if let Some(c) = &probe.tcp {
                resolve_port(cx, &pp.key("tcp").key("port"), &p.ports, &c.port);
            }
            if let Some(c) = &probe.grpc {
                resolve_port(cx, &pp.key("grpc").key("port"), &p.ports, &c.port);
            }
            if let Some(c) = &probe.exec
                && c.command.is_empty()
            {
                cx.error(&pp.key("exec").key("command"), "the command is empty");
            }
            for (f, d) in [
                ("interval", &probe.interval),
                ("timeout", &probe.timeout),
                ("initialDelay", &probe.initial_delay),
            ] {
                check_duration(cx, &pp.key(f), d);
            }
            if probe.failure_threshold == Some(0) {
                cx.error(&pp.key("failureThreshold"), "must be at least 1");
            }
            if probe_name == "readiness" && !kind.is_long_running() {
                cx.error(
                    &pp,
                    format!(
                        "readiness checks are for services and workers, not {} processes",
                        kind.as_str()
                    ),
                );
            }
        }
    }
    check_amount(cx, &path.key("cpu"), &p.cpu, true);
    check_amount(cx, &path.key("memory"), &p.memory, false);
    let only_long = |cx: &mut Ctx, field: &str, set: bool| {
        if set && !kind.is_long_running() {
            cx.error(
                &path.key(field),
                format!(
                    "`{field}` is for services and workers, not {} processes",
                    kind.as_str()
                ),
            );
        }
    };
    only_long(cx, "scaling", p.scaling.is_some());
    only_long(cx, "update", p.update.is_some());
    only_long(cx, "disruptionBudget", p.disruption_budget.is_some());
    if let Some(s) = &p.scaling {
        let sp = path.key("scaling");
        match (&s.replicas, &s.autoscale) {
            (Some(_), Some(_)) => {
                cx.error_hint(
                    &sp,
                    "give `replicas` or `autoscale`, not both",
                    "autoscaling sets the replica count itself",
                );
            }
            (None, None) => {
                cx.error(&sp, "scaling needs `replicas` or `autoscale`");
            }
            _ => {}
        }
        if let Some(a) = &s.autoscale {
            let ap = sp.key("autoscale");
            let zero_ok = a.kafka_lag.is_some();
            if a.min == 0 && !zero_ok {
                cx.error_hint(
                    &ap.key("min"),
                    "`min` must be at least 1",
                    "only Kafka-lag scaling can scale to zero",
                );
            }
            if a.min > a.max {
                cx.error(
                    &ap.key("min"),
                    format!("`min` ({}) is larger than `max` ({})", a.min, a.max),
                );
            }
            if a.cpu.is_none() && a.memory.is_none() && a.kafka_lag.is_none() {
                cx.error_hint(
                    &ap,
                    "autoscale needs a signal",
                    "set cpu, memory (percent of request) or kafkaLag",
                );
            }
            for (f, v, req) in [("cpu", a.cpu, &p.cpu), ("memory", a.memory, &p.memory)] {
                if let Some(v) = v {
                    if v == 0 || v > 1000 {
                        cx.error(&ap.key(f), format!("{v}% is not a sensible target"));
                    }
                    if req.as_ref().and_then(|r| r.request.as_ref()).is_none() {
                        cx.error_hint(
                            &ap.key(f),
                            format!("{f} autoscaling needs a {f} request"),
                            format!("set processes.{name}.{f}.request: utilisation is a percentage of it"),
                        );
                    }
                }
            }
            if let Some(lag) = &a.kafka_lag {
                let lp = ap.key("kafkaLag");
                if kind != ProcessKind::Worker {
                    cx.error(&lp, "Kafka-lag scaling is for `worker` processes");
                }
                if lag.lag == 0 {
                    cx.error(&lp.key("lag"), "`lag` must be at least 1");
                }
                match app.resources.get(&lag.topic) {
                    Some(r) if r.kind == ResourceKind::KafkaTopic => {
                        if r.access == Some(KafkaAccess::Produce) {
                            cx.error(
                                &lp.key("topic"),
                                format!(
                                    "the app only produces to `{}`; lag scaling needs a consumer",
                                    lag.topic
                                ),
                            );
                        }
                    }
                    Some(r) => {
                        cx.error(
                            &lp.key("topic"),
                            format!(
                                "`{}` is a {} resource, not a kafka-topic",
                                lag.topic,
                                r.kind.as_str()
                            ),
                        );
                    }
                    None => {
                        let topics: Vec<&str> = app
                            .resources
                            .iter()
                            .filter(|(_, r)| r.kind == ResourceKind::KafkaTopic)
                            .map(|(n, _)| n.as_str())
                            .collect();
                        cx.error_hint(
                            &lp.key("topic"),
                            format!("no kafka-topic resource named `{}`", lag.topic),
                            format!(
                                "kafka-topic resources: {}",
                                if topics.is_empty() {
                                    "none".into()
                                } else {
                                    topics.join(", ")
                                }
                            ),
                        );
                    }
                }
            }
        }
    }
    if let Some(u) = &p.update {
        let up = path.key("update");
        for (f, v) in [("maxSurge", &u.max_surge), ("maxUnavailable", &u.max_unavailable)] {
            if let Some(v) = v {
                if !v.is_valid() {
                    cx.error_hint(&up.key(f), "not a count or percentage", "write 1 or \"25%\"");
                }
                if u.strategy == UpdateStrategy::Recreate {
                    cx.error(&up.key(f), format!("`{f}` only applies to rolling updates"));
                }
            }
        }
        if let (Some(crate::values::IntOrPercent::Int(0)), Some(crate::values::IntOrPercent::Int(0))) =
            (&u.max_surge, &u.max_unavailable)
        {
            cx.error(
                &up,
                "maxSurge and maxUnavailable cannot both be 0: the update could never progress",
            );
        }
    }
    check_duration(cx, &path.key("shutdownGracePeriod"), &p.shutdown_grace_period);
    if let Some(pl) = &p.placement {
        for (k, v) in &pl.node_selector {
            if !is_qualified_name(k) || !is_label_value(v) {
                cx.error(
                    &path.key("placement").key("nodeSelector").key(k),
                    "not a valid label key and value",
                );
            }
        }
    }
    for (group, containers) in [("sidecars", &p.sidecars), ("initContainers", &p.init_containers)] {
        for (cname, c) in containers {
            let cp = path.key(group).key(cname);
            if !is_dns_label(cname) {
                cx.error(&cp, format!("container name `{cname}` is not a DNS label"));
            }
            if cname == name {
                cx.error(
                    &cp,
                    "a sidecar or init container cannot share the process's name (the main container has it)",
                );
            }
            if c.image.trim().is_empty() || c.image.contains(char::is_whitespace) {
                cx.error(
                    &cp.key("image"),
                    format!("`{}` is not an image reference", c.image),
                );
            }
            check_env(cx, app, &cp.key("env"), &c.env);
            check_amount(cx, &cp.key("cpu"), &c.cpu, true);
            check_amount(cx, &cp.key("memory"), &c.memory, false);
        }
    }
    if p.sidecars.keys().any(|k| p.init_containers.contains_key(k)) {
        cx.error(
            &path.key("sidecars"),
            "sidecar and init container names must differ",
        );
    }
    if let Some(b) = &p.disruption_budget {
        let bp = path.key("disruptionBudget");
        match (&b.max_unavailable, &b.min_available) {
            (Some(v), None) | (None, Some(v)) => {
                if !v.is_valid() {
                    cx.error_hint(&bp, "not a count or percentage", "write 1 or \"25%\"");
                }
            }
            _ => {
                cx.error(&bp, "give exactly one of maxUnavailable and minAvailable");
            }
        }
    }
    match (&p.schedule, kind) {
        (None, ProcessKind::Cron) => {
            cx.error_hint(
                &path,
                "a cron process needs a `schedule`",
                "for example schedule: \"30 2 * * *\"",
            );
        }
        (Some(s), ProcessKind::Cron) => {
            if let Err(e) = check_cron(s) {
                cx.error(&path.key("schedule"), e);
            }
        }
        (Some(_), _) => {
            cx.error(
                &path.key("schedule"),
                format!("`schedule` is for cron processes, not {}", kind.as_str()),
            );
        }
        (None, _) => {}
    }
    if let Some(tz) = &p.time_zone {
        if kind != ProcessKind::Cron {
            cx.error(&path.key("timeZone"), "`timeZone` is for cron processes");
        } else if tz.parse::<chrono_tz::Tz>().is_err() {
            let hint = match did_you_mean(tz, chrono_tz::TZ_VARIANTS.iter().map(|t| t.name())) {
                Some(m) => format!("did you mean `{m}`?"),
                None => "use an IANA name such as Asia/Jakarta or UTC".into(),
            };
            cx.error_hint(
                &path.key("timeZone"),
                format!("`{tz}` is not an IANA time zone"),
                hint,
            );
        }
    }
    if p.concurrency.is_some() && kind != ProcessKind::Cron {
        cx.error(&path.key("concurrency"), "`concurrency` is for cron processes");
    }
    for (f, set) in [
        ("retries", p.retries.is_some()),
        ("deadline", p.deadline.is_some()),
    ] {
        if set && kind.is_long_running() {
            cx.error(&path.key(f), format!("`{f}` is for cron and job processes"));
        }
    }
    check_duration(cx, &path.key("deadline"), &p.deadline);
    if kind == ProcessKind::Service && p.ports.is_empty() {
        cx.error_hint(
            &path,
            "a service process needs at least one port",
            "a process without traffic is a `worker`",
        );
    }
}

fn validate_targets(cx: &mut Ctx, targets: &Targets) {
    for (tname, hatch) in [("kubernetes", &targets.kubernetes), ("nomad", &targets.nomad)] {
        let Some(h) = hatch else { continue };
        let tp = Path::root().key("targets").key(tname);
        for (i, patch) in h.patches.iter().enumerate() {
            let pp = tp.key("patches").index(i);
            if patch.select.kind.is_none() && patch.select.name.is_none() {
                cx.error(&pp.key("select"), "select by `kind`, `name` or both");
            }
            match (&patch.json_patch, &patch.merge_patch) {
                (Some(ops), None) => {
                    if let Err(e) =
                        serde_json::from_value::<json_patch_ops::Ops>(serde_json::Value::Array(ops.clone()))
                    {
                        cx.error_hint(
                            &pp.key("jsonPatch"),
                            format!("not a JSON Patch: {e}"),
                            "operations look like {op: add, path: /spec/x, value: 1}",
                        );
                    }
                }
                (None, Some(_)) => {}
                _ => {
                    cx.error(&pp, "a patch needs exactly one of `jsonPatch` and `mergePatch`");
                }
            }
        }
        for (i, obj) in h.objects.iter().enumerate() {
            let op = tp.key("objects").index(i);
            if tname == "kubernetes" {
                let ok = obj.get("apiVersion").is_some_and(|v| v.is_string())
                    && obj.get("kind").is_some_and(|v| v.is_string())
                    && obj.pointer("/metadata/name").is_some_and(|v| v.is_string());
                if !ok {
                    cx.error(
                        &op,
                        "a Kubernetes object needs apiVersion, kind and metadata.name",
                    );
                }
            } else if obj.pointer("/Job/ID").is_none_or(|v| !v.is_string()) {
                cx.error_hint(
                    &op,
                    "a raw Nomad object is a whole job in the JSON API form",
                    "{\"Job\": {\"ID\": \"…\", …}}",
                );
            }
        }
    }
}

/// The shape of RFC 6902 operations, checked without applying them.
mod json_patch_ops {
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
    #[allow(dead_code)]
    pub enum Op {
        Add { path: String, value: serde_json::Value },
        Remove { path: String },
        Replace { path: String, value: serde_json::Value },
        Move { from: String, path: String },
        Copy { from: String, path: String },
        Test { path: String, value: serde_json::Value },
    }

    pub type Ops = Vec<Op>;
}

/// Validates a platform file.
pub fn validate_platform(platform: &Platform, node: &Node, out: &mut Diagnostics) {
    let mut cx = Ctx { node, out };
    let root = Path::root();
    for (name, env) in &platform.environments {
        let ep = root.key("environments").key(name);
        if !is_dns_label(name) {
            cx.error(&ep, format!("environment name `{name}` is not a DNS label"));
        }
        let profiles: Vec<&str> = platform.profiles.keys().map(String::as_str).collect();
        let check_profile = |cx: &mut Ctx, path: &Path, profile: &str, target: TargetKind| match platform
            .profiles
            .get(profile)
        {
            None => {
                let hint = match did_you_mean(profile, profiles.iter().copied()) {
                    Some(m) => format!("did you mean `{m}`?"),
                    None => format!("profiles: {}", profiles.join(", ")),
                };
                cx.error_hint(path, format!("no profile named `{profile}`"), hint);
            }
            Some(p) => {
                let has = match target {
                    TargetKind::Kubernetes => p.kubernetes.is_some(),
                    TargetKind::Nomad => p.nomad.is_some(),
                };
                if !has {
                    cx.error(
                        path,
                        format!("profile `{profile}` has no {} settings", target.as_str()),
                    );
                }
            }
        };
        if let Some(k) = &env.kubernetes {
            if !KUBERNETES_VERSIONS.contains(&k.version.as_str()) {
                cx.error_hint(
                    &ep.key("kubernetes").key("version"),
                    format!("Kubernetes {} is not supported", k.version),
                    format!("supported: {}", KUBERNETES_VERSIONS.join(", ")),
                );
            }
            check_profile(
                &mut cx,
                &ep.key("kubernetes").key("profile"),
                &k.profile,
                TargetKind::Kubernetes,
            );
            if let Some(cluster) = &k.cluster {
                check_kubernetes_cluster(&mut cx, &ep.key("kubernetes").key("cluster"), cluster);
            }
        }
        if let Some(n) = &env.nomad {
            check_profile(
                &mut cx,
                &ep.key("nomad").key("profile"),
                &n.profile,
                TargetKind::Nomad,
            );
            if let Some(cluster) = &n.cluster {
                check_nomad_cluster(&mut cx, &ep.key("nomad").key("cluster"), cluster);
            }
        }
        let has_default = match env.target {
            TargetKind::Kubernetes => env.kubernetes.is_some(),
            TargetKind::Nomad => env.nomad.is_some(),
        };
        if !has_default {
            cx.error(
                &ep.key("target"),
                format!(
                    "the default target is {} but the environment has no `{}` section",
                    env.target.as_str(),
                    env.target.as_str()
                ),
            );
        }
    }
    for (name, profile) in &platform.profiles {
        let pp = root.key("profiles").key(name);
        if let Some(k) = &profile.kubernetes
            && k.ingress.is_some()
            && k.gateway.is_some()
        {
            cx.error(
                &pp.key("kubernetes"),
                "route with `ingress` or `gateway`, not both",
            );
        }
        if let Some(n) = &profile.nomad {
            if n.datacenters.is_empty() {
                cx.error(&pp.key("nomad").key("datacenters"), "at least one datacenter");
            }
            if n.cpu_mhz_per_core == 0 {
                cx.error(&pp.key("nomad").key("cpuMhzPerCore"), "must be more than 0");
            }
        }
    }
    for kind in [
        ResourceKind::Postgres,
        ResourceKind::Redis,
        ResourceKind::KafkaTopic,
        ResourceKind::S3Bucket,
    ] {
        for (output, binding) in platform.bindings.of(kind) {
            let bp = root.key("bindings").key(kind.as_str()).key(output);
            if !kind.outputs().contains(&output.as_str()) {
                cx.error_hint(
                    &bp,
                    format!("{} resources have no output `{output}`", kind.as_str()),
                    format!("outputs: {}", kind.outputs().join(", ")),
                );
            }
            for (t, src) in [("kubernetes", &binding.kubernetes), ("nomad", &binding.nomad)] {
                let ok = matches!(
                    (&src.value, &src.secret, &src.key),
                    (Some(_), None, None) | (None, Some(_), Some(_))
                );
                if !ok {
                    cx.error_hint(
                        &bp.key(t),
                        "give either `value`, or `secret` and `key`",
                        "secret values stay in the cluster; ojek only references them",
                    );
                }
            }
        }
    }
}

fn check_kubernetes_cluster(cx: &mut Ctx, path: &Path, cluster: &KubernetesCluster) {
    if let KubernetesCluster::Kubeconfig(k) = cluster {
        if k.kubeconfig.trim().is_empty() {
            cx.error_hint(
                &path.key("kubeconfig"),
                "the kubeconfig path is empty",
                "e.g. `~/.kube/config`, or a path relative to the platform file",
            );
        }
        if k.context.as_deref().is_some_and(|c| c.trim().is_empty()) {
            cx.error_hint(
                &path.key("context"),
                "the context is empty",
                "leave `context` out to use the kubeconfig's current context",
            );
        }
    }
}

fn check_nomad_cluster(cx: &mut Ctx, path: &Path, cluster: &NomadCluster) {
    let address = cluster.address.as_str();
    let https = address.starts_with("https://");
    match address.split_once("://") {
        Some(("http" | "https", rest)) if !rest.is_empty() && !rest.contains(char::is_whitespace) => {}
        _ => cx.error_hint(
            &path.key("address"),
            format!("`{address}` is not an http:// or https:// address"),
            "e.g. `https://nomad.example.com:4646` (what NOMAD_ADDR would be)",
        ),
    }
    for (field, value) in [("region", &cluster.region), ("namespace", &cluster.namespace)] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            cx.error_hint(
                &path.key(field),
                format!("the {field} is empty"),
                format!("leave `{field}` out to use the default"),
            );
        }
    }
    match &cluster.token {
        Some(TokenSource::Env(e)) if !is_env_var_name(&e.env) => cx.error_hint(
            &path.key("token").key("env"),
            "not an environment variable name",
            "name the variable that holds the token (letters, digits and `_`), e.g. `NOMAD_TOKEN`; \
             never write the token itself in the platform file",
        ),
        Some(TokenSource::File(f)) if f.file.trim().is_empty() => {
            cx.error(&path.key("token").key("file"), "the token file path is empty");
        }
        _ => {}
    }
    if let Some(tls) = &cluster.tls {
        let tp = path.key("tls");
        let empty = |v: &Option<String>| v.as_deref().is_some_and(|s| s.trim().is_empty());
        for (field, value) in [
            ("caFile", &tls.ca_file),
            ("certFile", &tls.cert_file),
            ("keyFile", &tls.key_file),
        ] {
            if empty(value) {
                cx.error(&tp.key(field), format!("the {field} path is empty"));
            }
        }
        match (&tls.ca_file, &tls.cert_file, &tls.key_file) {
            (None, None, None) => cx.error_hint(
                &tp,
                "no TLS files",
                "give `caFile`, and `certFile` with `keyFile` for client certificates; or leave `tls` out",
            ),
            (_, Some(_), None) => cx.error_hint(
                &tp,
                "`certFile` without `keyFile`",
                "a client certificate needs its private key",
            ),
            (_, None, Some(_)) => cx.error_hint(
                &tp,
                "`keyFile` without `certFile`",
                "a client key needs its certificate",
            ),
            _ => {}
        }
        if !https && address.starts_with("http://") {
            cx.error_hint(
                &path.key("address"),
                "TLS files are given but the address is plain http://",
                "use the agent's https:// address",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_pieces() {
        let p = split_interpolations("postgres://${resources.db.host}:5432/x$${HOME}$5").expect("ok");
        assert_eq!(
            p,
            vec![
                Piece::Text("postgres://".into()),
                Piece::Ref(Interpolation {
                    resource: "db".into(),
                    output: "host".into()
                }),
                Piece::Text(":5432/x${HOME}$5".into()),
            ]
        );
        assert!(split_interpolations("${env.HOME}").is_err());
        assert!(split_interpolations("${resources.db.url").is_err());
    }

    #[test]
    fn names() {
        assert!(is_dns_label("driver-location"));
        assert!(!is_dns_label("Driver"));
        assert!(!is_dns_label("1abc"));
        assert!(!is_dns_label("abc-"));
        assert!(is_qualified_name("app.kubernetes.io/name"));
        assert!(!is_qualified_name("-x"));
        assert!(is_dns_name("api.gojek.io"));
        assert!(!is_dns_name("api..io"));
        assert!(is_host("*.gojek.io"));
        assert!(!is_dns_name("*.gojek.io"), "wildcards only in route hosts");
        assert!(!is_qualified_name("*.example.com/x"));
    }
}
