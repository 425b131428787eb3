//! Traffic: the Service of a `service` process, and its routes as an Ingress or as Gateway API
//! HTTPRoutes, whichever the platform profile uses.

use ojek_output::{Doc, Origin};
use ojek_spec::manifest::{PortProtocol, Process, Route};
use serde_json::{Value, json};

use crate::Ctx;
use crate::meta;

/// The ClusterIP Service in front of a `service` process.
pub(crate) fn service(cx: &Ctx, name: &str, p: &Process) -> Doc {
    let base = format!("processes.{name}");
    let mut doc = meta::object(
        cx,
        "Service",
        &cx.object_name(name),
        Some(name),
        cx.src.manifest_note(
            &format!("{base}.kind"),
            "a service process gets a Service for its ports",
        ),
    );
    if !cx.profile.service_annotations.is_empty() {
        let mut ann = doc.value["metadata"]["annotations"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for (k, v) in &cx.profile.service_annotations {
            ann.insert(k.clone(), json!(v));
        }
        doc.value["metadata"]["annotations"] = Value::Object(ann);
        for k in cx.profile.service_annotations.keys() {
            doc.trace(
                &format!("/metadata/annotations/{}", ojek_output::doc::escape(k)),
                cx.src
                    .platform(&format!("{}.serviceAnnotations[\"{k}\"]", cx.profile_path)),
            );
        }
    }
    doc.set(
        "/spec/type",
        json!("ClusterIP"),
        Origin::default("reached in the cluster, and from outside through routes"),
    );
    doc.set(
        "/spec/selector",
        meta::selector(cx, name),
        Origin::default("the process's pods"),
    );
    let ports = service_ports(p);
    doc.set(
        "/spec/ports",
        Value::Array(ports),
        cx.src.manifest(&format!("{base}.ports")),
    );
    for (i, pname) in p.ports.keys().enumerate() {
        doc.trace(
            &format!("/spec/ports/{i}"),
            cx.src.manifest(&format!("{base}.ports.{pname}")),
        );
    }
    doc
}

/// The Service ports of a process: every port, by name, with its application protocol.
fn service_ports(p: &Process) -> Vec<Value> {
    p.ports
        .iter()
        .map(|(pname, port)| {
            let mut v = json!({
                "name": pname,
                "port": port.port,
                "targetPort": pname,
                "protocol": if port.protocol == PortProtocol::Udp { "UDP" } else { "TCP" },
            });
            match port.protocol {
                PortProtocol::Http => v["appProtocol"] = json!("http"),
                PortProtocol::Grpc => v["appProtocol"] = json!("kubernetes.io/h2c"),
                _ => {}
            }
            v
        })
        .collect()
}

/// The headless Service a StatefulSet names: stable DNS names for its pods (peers of a
/// replicated store find each other through it, ready or not).
pub(crate) fn headless_service(cx: &Ctx, name: &str, p: &Process) -> Doc {
    let mut doc = meta::object(
        cx,
        "Service",
        &format!("{}-headless", cx.object_name(name)),
        Some(name),
        cx.src.manifest_note(
            &format!("processes.{name}.volumes"),
            "a process with a persistent volume runs as a StatefulSet, which needs a headless Service for its pods' DNS names",
        ),
    );
    doc.set(
        "/spec/clusterIP",
        json!("None"),
        Origin::default("headless: DNS names for the pods, no load balancing"),
    );
    doc.set(
        "/spec/publishNotReadyAddresses",
        json!(true),
        Origin::default("peers find each other before they are ready (forming a quorum needs it)"),
    );
    doc.set(
        "/spec/selector",
        meta::selector(cx, name),
        Origin::default("the process's pods"),
    );
    if !p.ports.is_empty() {
        let ports = service_ports(p);
        doc.set(
            "/spec/ports",
            Value::Array(ports),
            cx.src.manifest(&format!("processes.{name}.ports")),
        );
    }
    doc
}

/// The route's `port`, or, when it names none, the process's only port.
fn port_origin(cx: &Ctx, process: &str, r: &Route, rpath: &str, port_name: &str) -> Origin {
    match &r.port {
        Some(_) => cx.src.manifest(&format!("{rpath}.port")),
        None => cx.src.manifest_note(
            &format!("processes.{process}.ports.{port_name}"),
            "the route names no port: the process's only port",
        ),
    }
}

fn route_port<'a>(p: &'a Process, r: &Route) -> (&'a str, u16) {
    let (name, port) = match &r.port {
        Some(n) => p.ports.get_key_value(n),
        None => p.ports.iter().next(),
    }
    .map(|(n, port)| (n.as_str(), port.port))
    .unwrap_or(("", 0));
    (name, port)
}

/// Routes of a process: one Ingress, or one HTTPRoute per host and TLS setting.
pub(crate) fn routes(cx: &mut Ctx, name: &str, p: &Process) -> Vec<Doc> {
    if p.routes.is_empty() {
        return Vec::new();
    }
    let base = format!("processes.{name}.routes");
    if let Some(ingress) = cx.profile.ingress.clone() {
        return vec![ingress_object(cx, name, p, &ingress)];
    }
    if let Some(gw) = cx.profile.gateway.clone() {
        return http_routes(cx, name, p, &gw);
    }
    let profile = cx.profile_path.clone();
    cx.error(
        &base,
        format!("the platform profile ({profile}) routes neither with an Ingress nor a Gateway"),
        "ask the platform team to set `ingress` or `gateway` in the profile",
    );
    Vec::new()
}

fn ingress_object(
    cx: &mut Ctx,
    name: &str,
    p: &Process,
    ingress: &ojek_spec::platform::IngressSettings,
) -> Doc {
    let base = format!("processes.{name}.routes");
    let svc = cx.object_name(name);
    let mut doc = meta::object(
        cx,
        "Ingress",
        &svc,
        Some(name),
        cx.src.manifest_note(&base, "routes of a service process"),
    );
    if !ingress.annotations.is_empty() {
        let mut ann = doc.value["metadata"]["annotations"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for (k, v) in &ingress.annotations {
            ann.insert(k.clone(), json!(v));
        }
        doc.value["metadata"]["annotations"] = Value::Object(ann);
        for k in ingress.annotations.keys() {
            doc.trace(
                &format!("/metadata/annotations/{}", ojek_output::doc::escape(k)),
                cx.src
                    .platform(&format!("{}.ingress.annotations[\"{k}\"]", cx.profile_path)),
            );
        }
    }
    doc.set(
        "/spec/ingressClassName",
        json!(ingress.class_name),
        cx.src.platform(&format!("{}.ingress.className", cx.profile_path)),
    );
    // One rule per host, paths in manifest order.
    let mut hosts: Vec<&str> = Vec::new();
    for r in &p.routes {
        if !hosts.contains(&r.host.as_str()) {
            hosts.push(&r.host);
        }
    }
    let mut tls_hosts: Vec<&str> = Vec::new();
    for (hi, host) in hosts.iter().enumerate() {
        doc.set(
            &format!("/spec/rules/{hi}/host"),
            json!(host),
            Origin::default("placeholder"),
        );
        for (pi, (ri, r)) in p
            .routes
            .iter()
            .enumerate()
            .filter(|(_, r)| r.host == *host)
            .enumerate()
        {
            let (port_name, _) = route_port(p, r);
            let rpath = format!("{base}[{ri}]");
            doc.set(
                &format!("/spec/rules/{hi}/http/paths/{pi}"),
                json!({
                    "path": r.path.clone().unwrap_or_else(|| "/".into()),
                    "pathType": "Prefix",
                    "backend": {"service": {"name": svc, "port": {"name": port_name}}},
                }),
                cx.src.manifest(&rpath),
            );
            doc.trace(
                &format!("/spec/rules/{hi}/http/paths/{pi}/pathType"),
                Origin::default("routes match path prefixes"),
            );
            doc.trace(
                &format!("/spec/rules/{hi}/http/paths/{pi}/backend/service/port"),
                port_origin(cx, name, r, &rpath, port_name),
            );
            if r.path.is_some() {
                doc.trace(
                    &format!("/spec/rules/{hi}/http/paths/{pi}/path"),
                    cx.src.manifest(&format!("{rpath}.path")),
                );
            } else {
                doc.trace(
                    &format!("/spec/rules/{hi}/http/paths/{pi}/path"),
                    Origin::default("no path given: the whole host"),
                );
            }
            if pi == 0 {
                doc.trace(
                    &format!("/spec/rules/{hi}/host"),
                    cx.src.manifest(&format!("{rpath}.host")),
                );
            }
            if r.tls && !tls_hosts.contains(host) {
                tls_hosts.push(host);
            }
        }
    }
    if !tls_hosts.is_empty() {
        let template = cx
            .profile
            .tls_secret
            .clone()
            .unwrap_or_else(|| "{app}-tls".to_string());
        let origin = match &cx.profile.tls_secret {
            Some(_) => cx.src.platform(&format!("{}.tlsSecret", cx.profile_path)),
            None => {
                Origin::default("the platform sets no tlsSecret: `{app}-tls`, one certificate Secret per app")
            }
        };
        // Group hosts by secret name (the template may or may not depend on the host).
        let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
        for host in &tls_hosts {
            let secret =
                ojek_output::bind::fill(cx.src, &template.replace("{host}", &host.replace('.', "-")), None);
            match groups.iter_mut().find(|(s, _)| *s == secret) {
                Some((_, hs)) => hs.push(host),
                None => groups.push((secret, vec![host])),
            }
        }
        let tls: Vec<Value> = groups
            .iter()
            .map(|(s, hs)| json!({"hosts": hs, "secretName": s}))
            .collect();
        doc.set("/spec/tls", Value::Array(tls), origin);
        for (i, (_, hs)) in groups.iter().enumerate() {
            if let Some(ri) = p
                .routes
                .iter()
                .position(|r| r.tls && hs.contains(&r.host.as_str()))
            {
                doc.trace(
                    &format!("/spec/tls/{i}/hosts"),
                    cx.src.manifest(&format!("{base}[{ri}].tls")),
                );
            }
        }
    }
    doc
}

fn http_routes(cx: &mut Ctx, name: &str, p: &Process, gw: &ojek_spec::platform::GatewaySettings) -> Vec<Doc> {
    let base = format!("processes.{name}.routes");
    let svc = cx.object_name(name);
    let mut groups: Vec<(&str, bool, Vec<usize>)> = Vec::new();
    for (i, r) in p.routes.iter().enumerate() {
        match groups.iter_mut().find(|(h, t, _)| *h == r.host && *t == r.tls) {
            Some((_, _, idx)) => idx.push(i),
            None => groups.push((&r.host, r.tls, vec![i])),
        }
    }
    let single = groups.len() == 1;
    let mut out = Vec::new();
    for (gi, (host, tls, idx)) in groups.iter().enumerate() {
        let obj_name = if single {
            svc.clone()
        } else {
            format!("{svc}-{}", gi + 1)
        };
        let mut doc = meta::object(
            cx,
            "HTTPRoute",
            &obj_name,
            Some(name),
            cx.src.manifest_note(
                &format!("{base}[{}]", idx[0]),
                "a route of a service process, attached to the platform's Gateway",
            ),
        );
        let listener = if *tls {
            &gw.https_listener
        } else {
            &gw.http_listener
        };
        let mut parent = json!({
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "name": gw.name,
            "namespace": gw.namespace,
        });
        if let Some(l) = listener {
            parent["sectionName"] = json!(l);
        } else if *tls {
            let first = idx[0];
            cx.error(
                &format!("{base}[{first}].tls"),
                "the platform's Gateway has no HTTPS listener for TLS routes",
                "ask the platform team to set gateway.httpsListener in the profile",
            );
        }
        doc.set(
            "/spec/parentRefs",
            json!([parent]),
            cx.src.platform(&format!("{}.gateway", cx.profile_path)),
        );
        if *tls && listener.is_some() {
            doc.trace(
                "/spec/parentRefs/0/sectionName",
                cx.src.manifest_note(
                    &format!("{base}[{}].tls", idx[0]),
                    "TLS routes attach to the Gateway's HTTPS listener, which terminates TLS",
                ),
            );
        }
        doc.set(
            "/spec/hostnames",
            json!([host]),
            cx.src.manifest(&format!("{base}[{}].host", idx[0])),
        );
        for (k, ri) in idx.iter().enumerate() {
            let r = &p.routes[*ri];
            let (_, port) = route_port(p, r);
            let rpath = format!("{base}[{ri}]");
            doc.set(
                &format!("/spec/rules/{k}"),
                json!({
                    "matches": [{"path": {"type": "PathPrefix", "value": r.path.clone().unwrap_or_else(|| "/".into())}}],
                    "backendRefs": [{"group": "", "kind": "Service", "name": svc, "port": port, "weight": 1}],
                }),
                cx.src.manifest(&rpath),
            );
            let port_name = route_port(p, r).0;
            doc.trace(
                &format!("/spec/rules/{k}/backendRefs/0/port"),
                port_origin(cx, name, r, &rpath, port_name),
            );
            if r.path.is_some() {
                doc.trace(
                    &format!("/spec/rules/{k}/matches/0/path/value"),
                    cx.src.manifest(&format!("{rpath}.path")),
                );
            }
        }
        out.push(doc);
    }
    out
}
