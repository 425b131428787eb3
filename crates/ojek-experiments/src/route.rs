//! The route that splits traffic: the app's own Gateway API HTTPRoute taken over (same
//! name, rules expanded with pins and weights) plus a ReferenceGrant in each shard, or an
//! Istio VirtualService.
//!
//! Rules, in this order (Gateway API gives ties between equally specific matches to the
//! first rule in the list): header pins, cookie pins, sticky cookies, then the weighted
//! split. A weight of 0 sends nothing; a shard that is not ready yet has weight 0.

use ojek_output::{Doc, Origin};
use serde_json::{Value as J, json};

use crate::crd::{BASELINE, Experiment, NameValue};
use crate::desired::Desired;
use crate::validate::Problem;

/// Most rules an HTTPRoute may have (Gateway API v1 CRD: `rules` maxItems).
pub const MAX_RULES: usize = 16;
/// Most backends a rule may have.
pub const MAX_BACKENDS: usize = 16;

type Notes = Vec<(&'static str, &'static str, String)>;

/// Escapes a literal for a RE2 / ECMAScript regular expression.
pub fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A regular expression matching a `Cookie` header that carries `name=value`.
pub fn cookie_regex(name: &str, value: &str) -> String {
    format!("(^|.*;\\s*){}={}(;.*|$)", regex_escape(name), regex_escape(value))
}

/// The stickiness cookie's name; none once a decision is made (a cookie must not keep a
/// user away from the winner, or on a variant after an abort).
pub fn sticky_cookie(exp: &Experiment) -> Option<String> {
    if exp.spec.decision.is_some() {
        return None;
    }
    let s = exp.spec.stickiness.as_ref()?;
    Some(s.cookie_name.clone().unwrap_or_else(|| {
        format!(
            "ojek-exp-{}",
            exp.metadata.name.as_deref().unwrap_or("experiment")
        )
    }))
}

/// The `Set-Cookie` value that keeps a user on `variant`.
pub(crate) fn set_cookie(exp: &Experiment, cookie: &str, variant: &str) -> String {
    let max_age = exp
        .spec
        .stickiness
        .as_ref()
        .and_then(|s| s.max_age.as_ref())
        .map(|d| format!("; Max-Age={}", std::time::Duration::from(*d).as_secs()))
        .unwrap_or_default();
    format!("{cookie}={variant}; Path=/{max_age}")
}

/// One destination: the baseline or a shard.
struct Backend {
    variant: String,
    namespace: Option<String>,
    host: String,
    weight: u32,
}

fn backends(d: &Desired) -> Vec<Backend> {
    let mut out = vec![Backend {
        variant: BASELINE.to_string(),
        namespace: None,
        host: format!("{}.{}.svc.cluster.local", d.service, d.namespace),
        weight: d.weights.first().map_or(0, |(_, w)| *w),
    }];
    for (s, (_, w)) in d.shards.iter().zip(d.weights.iter().skip(1)) {
        out.push(Backend {
            variant: s.variant.clone(),
            namespace: Some(s.namespace.clone()),
            host: format!("{}.{}.svc.cluster.local", d.service, s.namespace),
            weight: *w,
        });
    }
    out
}

/// Pins: (variant, kind, name/value), in the spec's order, headers before cookies. None once
/// a decision is made: then every request follows the decision.
pub(crate) fn pins(exp: &Experiment) -> Vec<(String, &'static str, NameValue)> {
    let mut out = Vec::new();
    if exp.spec.decision.is_some() {
        return out;
    }
    for kind in ["header", "cookie"] {
        for v in &exp.spec.variants {
            let Some(m) = &v.matches else { continue };
            let nv = if kind == "header" { &m.header } else { &m.cookie };
            if let Some(nv) = nv {
                out.push((v.name.clone(), kind, nv.clone()));
            }
        }
    }
    out
}

fn origin(exp: &Experiment, note: &'static str) -> Origin {
    Origin::experiment(exp.metadata.name.clone().unwrap_or_default(), note)
}

/// The routing objects and the notes that go with them.
pub fn routes(exp: &Experiment, d: &Desired) -> Result<(Vec<Doc>, Notes), Vec<Problem>> {
    if exp.spec.routing.istio.is_some() {
        return Ok((vec![istio(exp, d)], Vec::new()));
    }
    gateway(exp, d)
}

fn gateway_backend_ref(d: &Desired, b: &Backend, weight: u32) -> J {
    let mut r = json!({"group": "", "kind": "Service", "name": d.service, "port": d.port, "weight": weight});
    if let Some(ns) = &b.namespace {
        r["namespace"] = json!(ns);
    }
    r
}

fn gateway(exp: &Experiment, d: &Desired) -> Result<(Vec<Doc>, Notes), Vec<Problem>> {
    let Some(g) = &exp.spec.routing.gateway_api else {
        return Ok((Vec::new(), Vec::new()));
    };
    let mut notes: Notes = Vec::new();
    let mut bases: Vec<Doc> = d
        .restore
        .iter()
        .filter(|r| r.kind() == "HTTPRoute")
        .cloned()
        .collect();
    if bases.is_empty() {
        if g.parent_refs.is_empty() || g.hostnames.is_empty() {
            return Err(vec![Problem::new(
                "NoGatewayRoute",
                "spec.routing.gatewayApi",
                format!(
                    "process `{}` has no HTTPRoute in `{}` (no routes, or the profile routes with Ingress): give `parentRefs` and `hostnames`",
                    d.process, exp.spec.environment
                ),
            )]);
        }
        bases.push(Doc::new(
            json!({
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "HTTPRoute",
                "metadata": {"name": d.service, "namespace": d.namespace},
                "spec": {"rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}]}]},
            }),
            origin(exp, "the experiment's route: the process has none of its own"),
        ));
    }
    let backends = backends(d);
    let pins = pins(exp);
    let sticky = sticky_cookie(exp);
    let mut out = Vec::new();
    for mut route in bases {
        let o = |note| origin(exp, note);
        if !g.parent_refs.is_empty() {
            let refs: Vec<J> = g
                .parent_refs
                .iter()
                .map(|p| {
                    let mut r =
                        json!({"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": p.name});
                    if let Some(ns) = &p.namespace {
                        r["namespace"] = json!(ns);
                    }
                    if let Some(s) = &p.section_name {
                        r["sectionName"] = json!(s);
                    }
                    r
                })
                .collect();
            route.set(
                "/spec/parentRefs",
                J::Array(refs),
                o("spec.routing.gatewayApi.parentRefs"),
            );
        }
        if !g.hostnames.is_empty() {
            route.set(
                "/spec/hostnames",
                json!(g.hostnames),
                o("spec.routing.gatewayApi.hostnames"),
            );
        }
        let old_rules = route
            .value
            .pointer("/spec/rules")
            .and_then(J::as_array)
            .cloned()
            .unwrap_or_default();
        let mut rules = Vec::new();
        for rule in &old_rules {
            let matches = rule
                .get("matches")
                .and_then(J::as_array)
                .cloned()
                .unwrap_or_else(|| vec![json!({"path": {"type": "PathPrefix", "value": "/"}})]);
            let with_header = |h: J| -> J {
                J::Array(
                    matches
                        .iter()
                        .map(|m| {
                            let mut m = m.clone();
                            m["headers"] = json!([h]);
                            m
                        })
                        .collect(),
                )
            };
            let to = |variant: &str| -> J {
                let b = backends.iter().find(|b| b.variant == variant);
                J::Array(b.map(|b| vec![gateway_backend_ref(d, b, 1)]).unwrap_or_default())
            };
            for (variant, kind, nv) in &pins {
                let header = if *kind == "header" {
                    json!({"type": "Exact", "name": nv.name, "value": nv.value})
                } else {
                    json!({"type": "RegularExpression", "name": "Cookie", "value": cookie_regex(&nv.name, &nv.value)})
                };
                rules.push(json!({"matches": with_header(header), "backendRefs": to(variant)}));
            }
            if let Some(cookie) = &sticky {
                // Only to variants that take traffic: a cookie never leads to a shard that is
                // not ready.
                for b in backends.iter().filter(|b| b.weight > 0) {
                    let header = json!({"type": "RegularExpression", "name": "Cookie", "value": cookie_regex(cookie, &b.variant)});
                    rules.push(json!({"matches": with_header(header), "backendRefs": to(&b.variant)}));
                }
            }
            let refs: Vec<J> = backends
                .iter()
                .map(|b| {
                    let mut r = gateway_backend_ref(d, b, b.weight);
                    if let Some(cookie) = &sticky {
                        r["filters"] = json!([{
                            "type": "ResponseHeaderModifier",
                            "responseHeaderModifier": {"add": [{"name": "Set-Cookie", "value": set_cookie(exp, cookie, &b.variant)}]}
                        }]);
                    }
                    r
                })
                .collect();
            let mut weighted = rule.clone();
            weighted["matches"] = J::Array(matches.clone());
            weighted["backendRefs"] = J::Array(refs);
            rules.push(weighted);
        }
        if rules.len() > MAX_RULES {
            return Err(vec![Problem::new(
                "TooManyRules",
                "spec.variants",
                format!(
                    "the route `{}` would need {} rules (Gateway API allows {MAX_RULES}): fewer pins, no stickiness, or fewer paths",
                    route.name(),
                    rules.len()
                ),
            )]);
        }
        route.set(
            "/spec/rules",
            J::Array(rules),
            o("the experiment's rules: pins first, then the weighted split between the baseline and the shards"),
        );
        route.set(
            "/metadata/annotations/ojek.dev~1experiment",
            json!(exp.metadata.name),
            o("the experiment that owns this route while it runs"),
        );
        out.push(route);
    }
    if backends.len() > MAX_BACKENDS {
        return Err(vec![Problem::new(
            "TooManyRules",
            "spec.variants",
            format!(
                "{} backends; Gateway API allows {MAX_BACKENDS} per rule",
                backends.len()
            ),
        )]);
    }
    if sticky.is_some() {
        notes.push((
            "StickinessBestEffort",
            "GatewayImplementationSpecific",
            "stickiness uses a Cookie header regular expression and a Set-Cookie response filter on backends; both are implementation-specific in Gateway API".to_string(),
        ));
    }
    for s in &d.shards {
        out.push(Doc::new(
            json!({
                "apiVersion": "gateway.networking.k8s.io/v1beta1",
                "kind": "ReferenceGrant",
                "metadata": {
                    "name": format!("ojek-experiment-{}", exp.metadata.name.as_deref().unwrap_or_default()),
                    "namespace": s.namespace,
                    "labels": {
                        crate::desired::LABEL_EXPERIMENT: exp.metadata.name,
                        crate::desired::LABEL_VARIANT: s.variant,
                    },
                },
                "spec": {
                    "from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": d.namespace}],
                    "to": [{"group": "", "kind": "Service", "name": d.service}],
                },
            }),
            origin(exp, "lets the app's HTTPRoute send traffic to the shard's Service"),
        ));
    }
    Ok((out, notes))
}

fn istio(exp: &Experiment, d: &Desired) -> Doc {
    let i = exp.spec.routing.istio.clone().unwrap_or_default();
    let backends = backends(d);
    let percents = crate::desired::percent(&d.weights);
    let baseline_host = backends.first().map(|b| b.host.clone()).unwrap_or_default();
    let hosts = if i.hosts.is_empty() {
        vec![baseline_host]
    } else {
        i.hosts.clone()
    };
    let dest = |b: &Backend| json!({"host": b.host, "port": {"number": d.port}});
    let to = |variant: &str| -> J {
        J::Array(
            backends
                .iter()
                .filter(|b| b.variant == variant)
                .map(|b| json!({"destination": dest(b)}))
                .collect(),
        )
    };
    let mut http = Vec::new();
    for (variant, kind, nv) in pins(exp) {
        let m = if kind == "header" {
            json!({"headers": {nv.name.to_ascii_lowercase(): {"exact": nv.value}}})
        } else {
            json!({"headers": {"cookie": {"regex": cookie_regex(&nv.name, &nv.value)}}})
        };
        http.push(json!({"name": format!("pin-{kind}-{variant}"), "match": [m], "route": to(&variant)}));
    }
    let sticky = sticky_cookie(exp);
    if let Some(cookie) = &sticky {
        for b in backends.iter().filter(|b| b.weight > 0) {
            http.push(json!({
                "name": format!("sticky-{}", b.variant),
                "match": [{"headers": {"cookie": {"regex": cookie_regex(cookie, &b.variant)}}}],
                "route": to(&b.variant),
            }));
        }
    }
    let split: Vec<J> = backends
        .iter()
        .zip(percents.iter())
        .map(|(b, (_, p))| {
            let mut r = json!({"destination": dest(b), "weight": p});
            if let Some(cookie) = &sticky {
                r["headers"] =
                    json!({"response": {"add": {"set-cookie": set_cookie(exp, cookie, &b.variant)}}});
            }
            r
        })
        .collect();
    http.push(json!({"name": "split", "route": split}));
    let mut spec = json!({"hosts": hosts, "http": http});
    if !i.gateways.is_empty() {
        spec["gateways"] = json!(i.gateways);
    }
    Doc::new(
        json!({
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": {
                "name": d.service,
                "namespace": d.namespace,
                "labels": {crate::desired::LABEL_EXPERIMENT: exp.metadata.name},
            },
            "spec": spec,
        }),
        origin(
            exp,
            "the experiment's traffic split: pins first, then weights in percent",
        ),
    )
}
