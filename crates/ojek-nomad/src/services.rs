//! Group services: service discovery per port, health checks, and route tags for the HTTP
//! router. Services are group-level (the group has a bridge network).
//!
//! - A `service` process gets one service per port: `{app}-{process}` for the first port,
//!   `{app}-{process}-{port}` for the others.
//! - Nomad runs health checks only as part of a service, so a `worker` (or `cron`/`job`)
//!   process with health checks gets a service just to carry them: on the checked port.
//!   Exec checks have no port: they ride on the process's first service (in port order),
//!   or on a port-less service when there is none, so service names stay unique.
//! - Liveness → a check with `CheckRestart` (restart after `failureThreshold`, default 3,
//!   failures; `initialDelay` is the grace period). Readiness → a plain check; `initialDelay`
//!   is honoured by `InitialStatus: critical` (no traffic before the first pass) and
//!   `failureThreshold` → `FailuresBeforeCritical` (Consul only). In Nomad every failing
//!   check, liveness included, takes the replica out of service discovery and routing.
//! - Startup checks have no Nomad equivalent (reported).
//! - Nomad's built-in provider runs only `http` and `tcp` checks; `exec` (script) and `grpc`
//!   need the Consul provider (reported otherwise). Checks run at most every second and
//!   time out after at least a second (Nomad's minimums; shorter values are reported).
//! - Routes become tags for the profile's router: Traefik (`traefik.http.routers.<name>.rule`
//!   with `Host` and `PathPrefix`, `tls=true`, `h2c` for gRPC ports) or Fabio (`urlprefix-`,
//!   `proto=grpc`, Consul only; Fabio terminates TLS on its listeners).

use ojek_output::Origin;
use ojek_spec::manifest::{PortProtocol, Probe, Process, ProcessKind};
use ojek_spec::platform::{Router, ServiceProvider};
use serde_json::{Map, Value};

use crate::context::{Cx, Field, Traces, join};
use crate::units::secs;

struct Svc<'p> {
    name: String,
    port: Option<&'p str>,
    origin: Origin,
    tags: Vec<(String, Origin)>,
    checks: Vec<Check>,
}

/// Where a service sorts: by its port's position among the process's ports, port-less last.
fn port_order(p: &Process, s: &Svc) -> usize {
    s.port
        .and_then(|port| p.ports.get_index_of(port))
        .unwrap_or(usize::MAX)
}

struct Check {
    value: Map<String, Value>,
    origin: Origin,
    /// Origins of fields, by pointer relative to the check.
    fields: Vec<(&'static str, Origin)>,
}

/// Builds the group services of process `name` (at manifest `path`) into
/// `group["Services"]`, tracing them below `gptr`.
pub(crate) fn build(
    cx: &mut Cx,
    t: &mut Traces,
    gptr: &str,
    group: &mut Map<String, Value>,
    (path, name): (&Field, &str),
    p: &Process,
) {
    let src = cx.src;
    let app = &src.app.app.metadata.name;
    let service_name = |port: Option<&str>| -> String {
        let first = p.ports.keys().next().map(String::as_str);
        match port {
            Some(port) if Some(port) != first => format!("{app}-{name}-{port}"),
            _ => format!("{app}-{name}"),
        }
    };
    let mut svcs: Vec<Svc> = Vec::new();
    if p.kind == ProcessKind::Service {
        for port in p.ports.keys() {
            svcs.push(Svc {
                name: service_name(Some(port)),
                port: Some(port),
                origin: cx.at_note(
                    path.key("ports").key(port),
                    "one service per port of a service process",
                ),
                tags: Vec::new(),
                checks: Vec::new(),
            });
        }
    }
    routes(cx, path, name, p, &mut svcs);

    if let Some(h) = &p.health {
        let hp = path.key("health");
        if h.startup.is_some() {
            cx.unsupported(
                &hp.key("startup"),
                "Nomad has no startup checks: every check runs from the start",
                "drop the startup check and give the liveness check an initialDelay (it becomes the check_restart grace period)",
            );
        }
        let mut found = Vec::new();
        for (kind, probe) in [("liveness", &h.liveness), ("readiness", &h.readiness)] {
            let Some(probe) = probe else { continue };
            let pp = hp.key(kind);
            if let Some((port, check)) = check(cx, &pp, name, kind, p, probe) {
                found.push((port, check, pp));
            }
        }
        // Services for checked ports first, so that where a port-less (exec) check goes, and
        // the names of the services, do not depend on the order of the checks.
        for (port, _, pp) in &found {
            if port.is_some() && !svcs.iter().any(|s| s.port == *port) {
                svcs.push(Svc {
                    name: service_name(*port),
                    port: *port,
                    origin: cx.at_note(
                        pp.clone(),
                        "Nomad runs health checks only as part of a service: this one carries them",
                    ),
                    tags: Vec::new(),
                    checks: Vec::new(),
                });
            }
        }
        for (port, check, pp) in found {
            // Exec checks have no port: they ride on the first service (in port order) if
            // there is one, else on a port-less service of their own.
            let idx = match port {
                Some(_) => svcs.iter().position(|s| s.port == port),
                None => (0..svcs.len()).min_by_key(|&i| port_order(p, &svcs[i])),
            };
            let idx = idx.unwrap_or_else(|| {
                svcs.push(Svc {
                    name: service_name(None),
                    port: None,
                    origin: cx.at_note(
                        pp,
                        "Nomad runs health checks only as part of a service: this one carries them",
                    ),
                    tags: Vec::new(),
                    checks: Vec::new(),
                });
                svcs.len() - 1
            });
            svcs[idx].checks.push(check);
        }
    }
    if svcs.is_empty() {
        return;
    }
    // Port services in port order, then the port-less one.
    svcs.sort_by_key(|s| port_order(p, s));

    let (provider, provider_origin) = provider(cx);
    let mut list = Vec::new();
    for (i, svc) in svcs.into_iter().enumerate() {
        let sp = format!("{gptr}/Services/{i}");
        if svc.name.len() > 63 {
            cx.error(
                path,
                format!(
                    "the Nomad service name `{}` is longer than 63 characters",
                    svc.name
                ),
                "Nomad service names are DNS labels; shorten the app, process or port name",
            );
        }
        let mut s = Map::with_capacity(5);
        s.insert("Name".into(), Value::from(svc.name));
        t.add(&sp, svc.origin);
        if let Some(port) = svc.port {
            s.insert("PortLabel".into(), Value::from(port));
            t.add(join(&sp, "/PortLabel"), cx.at(path.key("ports").key(port)));
        }
        s.insert("Provider".into(), Value::from(provider));
        t.add(join(&sp, "/Provider"), provider_origin.clone());
        if !svc.tags.is_empty() {
            let mut tags = Vec::new();
            for (k, (tag, origin)) in svc.tags.into_iter().enumerate() {
                tags.push(Value::from(tag));
                t.add(format!("{sp}/Tags/{k}"), origin);
            }
            s.insert("Tags".into(), Value::Array(tags));
        }
        if !svc.checks.is_empty() {
            let mut checks = Vec::new();
            for (k, c) in svc.checks.into_iter().enumerate() {
                let cp = format!("{sp}/Checks/{k}");
                t.add(&cp, c.origin);
                for (rel, o) in c.fields {
                    t.add(join(&cp, rel), o);
                }
                checks.push(Value::Object(c.value));
            }
            s.insert("Checks".into(), Value::Array(checks));
        }
        list.push(Value::Object(s));
    }
    group.insert("Services".into(), Value::Array(list));
}

fn provider(cx: &Cx) -> (&'static str, Origin) {
    let name = match cx.profile.service_provider {
        ServiceProvider::Nomad => "nomad",
        ServiceProvider::Consul => "consul",
    };
    (
        name,
        cx.profile_or_default(
            "serviceProvider",
            "Nomad's built-in service discovery (the profile sets no serviceProvider)",
        ),
    )
}

/// The port a check or route names, or the process's only port.
fn port_of<'p>(p: &'p Process, named: Option<&'p str>) -> Option<&'p str> {
    named.or_else(|| {
        (p.ports.len() == 1)
            .then(|| p.ports.keys().next().map(String::as_str))
            .flatten()
    })
}

fn routes(cx: &mut Cx, path: &Field, name: &str, p: &Process, svcs: &mut [Svc]) {
    if p.routes.is_empty() {
        return;
    }
    let router = cx.profile.router;
    let router_origin = cx.profile_or_default(
        "router",
        "Traefik reads routes from service tags (the profile sets no router)",
    );
    let consul = cx.profile.service_provider == ServiceProvider::Consul;
    let job_id = format!("{}-{}", cx.src.app.app.metadata.name, cx.src.app.env);
    for (i, route) in p.routes.iter().enumerate() {
        let rp = path.key("routes").index(i);
        let Some(port) = port_of(p, route.port.as_deref()) else {
            continue;
        };
        let Some(svc) = svcs.iter_mut().find(|s| s.port == Some(port)) else {
            continue;
        };
        let grpc = p
            .ports
            .get(port)
            .is_some_and(|pt| pt.protocol == PortProtocol::Grpc);
        let prefix = route.path.as_deref().unwrap_or("/");
        let origin = cx.at_note(rp.clone(), format!("route {} of {name}", i + 1));
        match router {
            Router::Traefik => {
                if !svc.tags.iter().any(|(t, _)| t == "traefik.enable=true") {
                    svc.tags
                        .push(("traefik.enable=true".into(), router_origin.clone()));
                }
                let r = format!("{job_id}-{name}-{i}");
                let mut rule = format!("Host(`{}`)", route.host);
                if prefix != "/" {
                    rule.push_str(&format!(" && PathPrefix(`{prefix}`)"));
                }
                svc.tags
                    .push((format!("traefik.http.routers.{r}.rule={rule}"), origin.clone()));
                if route.tls {
                    svc.tags
                        .push((format!("traefik.http.routers.{r}.tls=true"), cx.at(rp.key("tls"))));
                }
                let h2c = format!(
                    "traefik.http.services.{}.loadbalancer.server.scheme=h2c",
                    svc.name
                );
                if grpc && !svc.tags.iter().any(|(t, _)| *t == h2c) {
                    svc.tags.push((
                        h2c,
                        cx.at_note(
                            path.key("ports").key(port).key("protocol"),
                            "gRPC backends speak HTTP/2 without TLS (h2c)",
                        ),
                    ));
                }
            }
            Router::Fabio if !consul => {
                cx.unsupported(
                    &rp,
                    "the profile's router is Fabio, which reads routes from Consul, but services are registered in Nomad's built-in service discovery",
                    "ask the platform team for a profile with serviceProvider: consul or router: traefik",
                );
            }
            Router::Fabio => {
                let mut tag = format!("urlprefix-{}{prefix}", route.host);
                if grpc {
                    tag.push_str(" proto=grpc");
                }
                let mut o = origin.clone();
                if route.tls {
                    o.note.to_mut().push_str("; tls: Fabio serves HTTPS for every route on its TLS listener, with the certificates the platform gives it");
                    // The tag is the route's (field and location); tls is an input.
                    o.inputs.push(rp.key("tls").to_string());
                }
                svc.tags.push((tag, o));
            }
        }
    }
}

/// A check for `probe` (`liveness` or `readiness`), with the port it checks.
fn check<'p>(
    cx: &mut Cx,
    pp: &Field,
    process: &str,
    kind: &str,
    p: &'p Process,
    probe: &'p Probe,
) -> Option<(Option<&'p str>, Check)> {
    let consul = cx.profile.service_provider == ServiceProvider::Consul;
    let mut v = Map::with_capacity(10);
    let mut fields: Vec<(&'static str, Origin)> = Vec::new();
    v.insert("Name".into(), Value::from(format!("{process}-{kind}")));
    let port;
    if let Some(h) = &probe.http {
        port = port_of(p, h.port.as_deref());
        v.insert("Type".into(), Value::from("http"));
        v.insert("Path".into(), Value::from(h.path.as_str()));
        fields.push(("/Path", cx.at(pp.key("http").key("path"))));
    } else if probe.tcp.is_some() {
        port = port_of(p, probe.tcp.as_ref().and_then(|c| c.port.as_deref()));
        v.insert("Type".into(), Value::from("tcp"));
    } else if let Some(g) = &probe.grpc {
        if !consul {
            cx.unsupported(
                &pp.key("grpc"),
                "Nomad's built-in service discovery runs only http and tcp checks",
                "use an http or tcp check, or ask the platform team for a profile with serviceProvider: consul",
            );
            return None;
        }
        port = port_of(p, g.port.as_deref());
        v.insert("Type".into(), Value::from("grpc"));
        if let Some(svc) = &g.service {
            v.insert("GRPCService".into(), Value::from(svc.as_str()));
            fields.push(("/GRPCService", cx.at(pp.key("grpc").key("service"))));
        }
    } else if let Some(e) = &probe.exec {
        if !consul {
            cx.unsupported(
                &pp.key("exec"),
                "Nomad's built-in service discovery runs only http and tcp checks (exec checks are Consul script checks)",
                "use an http or tcp check, or ask the platform team for a profile with serviceProvider: consul",
            );
            return None;
        }
        port = None;
        let (cmd, args) = e.command.split_first()?;
        v.insert("Type".into(), Value::from("script"));
        v.insert("Command".into(), Value::from(cmd.as_str()));
        if !args.is_empty() {
            v.insert("Args".into(), Value::from(args.to_vec()));
        }
        v.insert("TaskName".into(), Value::from(process));
        fields.push(("/Command", cx.at(pp.key("exec").key("command"))));
        fields.push((
            "/TaskName",
            Origin::default("script checks run inside the process's task"),
        ));
    } else {
        return None;
    }
    if let Some(port) = port {
        v.insert("PortLabel".into(), Value::from(port));
    }
    for (field, rel, key, default_s, reason) in [
        (
            "Interval",
            "/Interval",
            "interval",
            10,
            "Kubernetes' default probe period, so checks behave alike on both targets",
        ),
        (
            "Timeout",
            "/Timeout",
            "timeout",
            1,
            "Kubernetes' default probe timeout, so checks behave alike on both targets",
        ),
    ] {
        let d = match key {
            "interval" => &probe.interval,
            _ => &probe.timeout,
        };
        let ns = match cx.duration_ns(&pp.key(key), d.as_ref().and_then(|d| d.millis())) {
            Some(ns) if ns < secs(1) => {
                cx.unsupported(
                    &pp.key(key),
                    &format!("Nomad requires a check {key} of at least 1s"),
                    &format!("set {key}: 1s or more"),
                );
                fields.push((
                    rel,
                    Origin::default(format!(
                        "Nomad's minimum of 1s, instead of the shorter {key} the manifest asks for"
                    )),
                ));
                secs(1)
            }
            Some(ns) => {
                fields.push((rel, cx.at(pp.key(key))));
                ns
            }
            None => {
                fields.push((rel, Origin::default(reason)));
                secs(default_s)
            }
        };
        v.insert(field.into(), Value::from(ns));
    }
    let mut origin = cx.at_note(pp.clone(), format!("{kind} check"));
    if kind == "liveness" {
        origin.note = "liveness check: restarts the task after repeated failures (in Nomad a failing check also takes the replica out of service discovery)".into();
        let mut restart = Map::with_capacity(2);
        match probe.failure_threshold {
            Some(n) => {
                restart.insert("Limit".into(), Value::from(n));
                fields.push(("/CheckRestart/Limit", cx.at(pp.key("failureThreshold"))));
            }
            None => {
                restart.insert("Limit".into(), Value::from(3));
                fields.push((
                    "/CheckRestart/Limit",
                    Origin::default(
                        "Kubernetes' default failureThreshold: restart after 3 failed checks in a row",
                    ),
                ));
            }
        }
        if let Some(ns) = cx.duration_ns(
            &pp.key("initialDelay"),
            probe.initial_delay.as_ref().and_then(|d| d.millis()),
        ) {
            restart.insert("Grace".into(), Value::from(ns));
            fields.push((
                "/CheckRestart/Grace",
                cx.at_note(
                    pp.key("initialDelay"),
                    "failures are not counted for this long after the task starts",
                ),
            ));
        }
        v.insert("CheckRestart".into(), Value::Object(restart));
    } else {
        origin.note = "readiness check: a replica takes traffic only while it passes".into();
        if probe.initial_delay.is_some() {
            v.insert("InitialStatus".into(), Value::from("critical"));
            fields.push((
                "/InitialStatus",
                cx.at_note(pp.key("initialDelay"), "Nomad starts checks at once; the check starts critical, so the replica takes no traffic before its first pass, which is what the delay protected"),
            ));
        }
        if let Some(n) = probe.failure_threshold {
            if consul {
                v.insert("FailuresBeforeCritical".into(), Value::from(n));
                fields.push(("/FailuresBeforeCritical", cx.at(pp.key("failureThreshold"))));
            } else {
                cx.unsupported(
                    &pp.key("failureThreshold"),
                    "Nomad's built-in service discovery marks a check failed at its first failure (failures_before_critical is Consul only)",
                    "remove failureThreshold, or ask the platform team for a profile with serviceProvider: consul",
                );
            }
        }
    }
    Some((
        port,
        Check {
            value: v,
            origin,
            fields,
        },
    ))
}
