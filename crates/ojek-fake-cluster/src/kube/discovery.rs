//! The resource types the fake serves and the discovery documents that describe them.
//!
//! The table is the single source of truth: routing, storage and discovery all look kinds up
//! here, so a kind missing from the table is a 404 everywhere, as on a real server without it.

use serde_json::{Value, json};

/// One served resource type (a kind at one group/version).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ResourceType {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub namespaced: bool,
    /// Whether the kind has a `/status` subresource (then apply to the main resource ignores `status`).
    pub status: bool,
}

impl ResourceType {
    /// `apps/v1`, or `v1` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `deployments.apps`, or `configmaps` for the core group: how error messages name the resource.
    pub fn group_resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

const fn rt(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    singular: &'static str,
    namespaced: bool,
    status: bool,
) -> ResourceType {
    ResourceType {
        group,
        version,
        kind,
        plural,
        singular,
        namespaced,
        status,
    }
}

/// Every kind the fake serves. Kinds are unique across groups, so the store keys objects by kind.
pub(crate) static RESOURCES: &[ResourceType] = &[
    rt("", "v1", "Namespace", "namespaces", "namespace", false, true),
    rt(
        "",
        "v1",
        "ServiceAccount",
        "serviceaccounts",
        "serviceaccount",
        true,
        false,
    ),
    rt("", "v1", "ConfigMap", "configmaps", "configmap", true, false),
    rt("", "v1", "Secret", "secrets", "secret", true, false),
    rt("", "v1", "Service", "services", "service", true, true),
    rt("", "v1", "Pod", "pods", "pod", true, true),
    rt("", "v1", "Event", "events", "event", true, false),
    rt(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        "deployment",
        true,
        true,
    ),
    rt(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        "statefulset",
        true,
        true,
    ),
    rt("batch", "v1", "Job", "jobs", "job", true, true),
    rt("batch", "v1", "CronJob", "cronjobs", "cronjob", true, true),
    rt(
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        "ingress",
        true,
        true,
    ),
    rt(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        "networkpolicy",
        true,
        false,
    ),
    rt(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        "horizontalpodautoscaler",
        true,
        true,
    ),
    rt(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        "poddisruptionbudget",
        true,
        true,
    ),
    rt(
        "gateway.networking.k8s.io",
        "v1",
        "HTTPRoute",
        "httproutes",
        "httproute",
        true,
        true,
    ),
    rt(
        "gateway.networking.k8s.io",
        "v1beta1",
        "ReferenceGrant",
        "referencegrants",
        "referencegrant",
        true,
        false,
    ),
    rt(
        "keda.sh",
        "v1alpha1",
        "ScaledObject",
        "scaledobjects",
        "scaledobject",
        true,
        true,
    ),
    // ojek's own custom resource (`ojek-experiments`), as if its CRD were installed.
    rt(
        "ojek.dev",
        "v1alpha1",
        "Experiment",
        "experiments",
        "experiment",
        true,
        true,
    ),
];

/// The resource type served at `group/version` under `plural`.
pub(crate) fn by_plural(group: &str, version: &str, plural: &str) -> Option<&'static ResourceType> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// The resource type of `kind` (kinds are unique in [`RESOURCES`]).
pub(crate) fn by_kind(kind: &str) -> Option<&'static ResourceType> {
    RESOURCES.iter().find(|r| r.kind == kind)
}

/// `GET /version`: the fake reports the oldest Kubernetes version ojek supports.
pub(crate) fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "gitVersion": "v1.33.0-ojek-fake",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-04-23T00:00:00Z",
        "goVersion": "go1.24.2",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

/// `GET /api`: the core group's versions.
pub(crate) fn core_versions() -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]
    })
}

fn groups() -> Vec<&'static str> {
    let mut groups: Vec<&str> = Vec::new();
    for r in RESOURCES.iter().filter(|r| !r.group.is_empty()) {
        if !groups.contains(&r.group) {
            groups.push(r.group);
        }
    }
    groups
}

fn versions_of(group: &str) -> Vec<&'static str> {
    let mut versions: Vec<&str> = Vec::new();
    for r in RESOURCES.iter().filter(|r| r.group == group) {
        if !versions.contains(&r.version) {
            versions.push(r.version);
        }
    }
    versions
}

/// `GET /apis`: an `APIGroupList` with every named group; the first listed version is preferred.
pub(crate) fn group_list() -> Value {
    let groups: Vec<Value> = groups()
        .into_iter()
        .map(|group| {
            let versions: Vec<Value> = versions_of(group)
                .into_iter()
                .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
                .collect();
            let preferred = versions.first().cloned().unwrap_or(Value::Null);
            json!({"name": group, "versions": versions, "preferredVersion": preferred})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /api/v1` or `GET /apis/{group}/{version}`: an `APIResourceList`, `None` if not served.
pub(crate) fn resource_list(group: &str, version: &str) -> Option<Value> {
    let verbs = [
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    ];
    let mut resources = Vec::new();
    for r in RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        resources.push(json!({
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": verbs,
        }));
        if r.status {
            resources.push(json!({
                "name": format!("{}/status", r.plural),
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
    }
    if resources.is_empty() {
        return None;
    }
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_unique_so_the_store_can_key_by_kind() {
        for (i, a) in RESOURCES.iter().enumerate() {
            assert!(
                RESOURCES[i + 1..].iter().all(|b| b.kind != a.kind),
                "{} twice",
                a.kind
            );
        }
    }

    #[test]
    fn gateway_group_lists_both_versions_with_v1_preferred() {
        let list = group_list();
        let gw = list["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|g| g["name"] == "gateway.networking.k8s.io")
            .cloned()
            .unwrap_or_default();
        assert_eq!(gw["preferredVersion"]["version"], "v1");
        assert_eq!(gw["versions"].as_array().map(Vec::len), Some(2));
        assert!(resource_list("example.com", "v1").is_none());
    }
}
