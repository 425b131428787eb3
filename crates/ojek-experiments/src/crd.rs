//! The `Experiment` custom resource (`ojek.dev/v1alpha1`): its Rust types, from which the
//! CustomResourceDefinition is generated.
//!
//! Cross-field rules (overlapping matches, weights, names, the app) are checked by
//! [`crate::validate`] and reported in the status as an `InvalidSpec` condition, not by the
//! API server: a person applying a bad Experiment sees why in `kubectl describe`, and a
//! GitOps tool does not retry a rejected object forever.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The API group of ojek's custom resources.
pub const GROUP: &str = "ojek.dev";
/// The version of the Experiment resource.
pub const VERSION: &str = "v1alpha1";
/// `apiVersion` of an Experiment.
pub const API_VERSION: &str = "ojek.dev/v1alpha1";
/// The variant name that means "the app as deployed"; no variant may take it.
pub const BASELINE: &str = "baseline";

/// An A/B experiment on an ojek app (Whiterabbit): each variant runs in its own namespace
/// shard with its overrides; traffic is split between the baseline and the variants by
/// weight, and a header or cookie can pin a user to a variant.
// Every `printcolumn(...)` repeats `type_ = "string"`, which clippy takes for a duplicated
// attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "ojek.dev",
    version = "v1alpha1",
    kind = "Experiment",
    namespaced,
    status = "ExperimentStatus",
    derive = "PartialEq",
    shortname = "exp",
    category = "ojek",
    doc = "An A/B experiment on an ojek app: variants in namespace shards, traffic split by weight or pinned by header or cookie",
    printcolumn(name = "App", type_ = "string", json_path = ".spec.app"),
    printcolumn(name = "Env", type_ = "string", json_path = ".spec.environment"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(
        name = "Weights",
        type_ = "string",
        description = "traffic in percent per variant",
        json_path = ".status.summary"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        priority = "1",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    selectable = ".spec.app"
)]
#[serde(rename_all = "camelCase")]
pub struct ExperimentSpec {
    /// The ojek app (its `metadata.name`).
    #[schemars(length(min = 1, max = 63))]
    pub app: String,
    /// The environment of the app (from the platform file).
    #[schemars(length(min = 1, max = 63))]
    pub environment: String,
    /// The `service` process whose traffic is split; may be left out when the app has
    /// exactly one service process with routes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
    /// The relative traffic weight of the baseline (the app as deployed). Default 100.
    #[serde(default = "default_baseline_weight")]
    #[schemars(range(max = 1_000_000))]
    pub baseline_weight: u32,
    /// The variants, each in its own namespace shard.
    #[schemars(length(min = 1, max = 8))]
    pub variants: Vec<Variant>,
    /// How traffic reaches the variants.
    pub routing: Routing,
    /// How long the experiment runs once every variant is ready (`72h`, `30m`); after that
    /// traffic goes back to the baseline and the shards are removed. Runs until promoted
    /// or aborted when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<kube::core::Duration>,
    /// Keep a user on the variant they first got (a cookie set by the route).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stickiness: Option<Stickiness>,
    /// Ends the experiment: promote a variant or abort. Set by `ojek experiments promote`
    /// and `abort`, or written by hand (GitOps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
}

fn default_baseline_weight() -> u32 {
    100
}

/// One variant of the app.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Variant {
    /// Name (a DNS label); the shard namespace is `<app>-<env>-<name>`.
    #[schemars(
        length(min = 1, max = 20),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub name: String,
    /// Relative traffic weight; 0 = only users pinned by `match` reach it.
    #[schemars(range(max = 1_000_000))]
    pub weight: u32,
    /// Requests that always go to this variant (checked before the weights).
    #[serde(default, rename = "match", skip_serializing_if = "Option::is_none")]
    pub matches: Option<VariantMatch>,
    /// What differs from the app as deployed.
    #[serde(default)]
    pub overrides: Overrides,
}

/// Pins requests to a variant: a request with the header, or with the cookie, goes to it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VariantMatch {
    /// An HTTP header with an exact value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<NameValue>,
    /// A cookie with an exact value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie: Option<NameValue>,
}

/// A header or cookie name and its exact value.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NameValue {
    /// Header or cookie name.
    #[schemars(length(min = 1, max = 256), regex(pattern = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$"))]
    pub name: String,
    /// The exact value.
    #[schemars(length(min = 1, max = 4096))]
    pub value: String,
}

/// What a variant changes in the split process. Each field replaces the app's; `env`
/// entries are added to or replace the app's variables one by one.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Overrides {
    /// Container image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// Environment variables (plain values; secrets stay the app's).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// A fixed number of replicas (replaces the app's scaling in the shard).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 1000))]
    pub replicas: Option<u32>,
    /// CPU in cores (`500m`, `2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Amount>,
    /// Memory (`256Mi`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Amount>,
}

impl Overrides {
    /// Whether the variant changes nothing.
    pub fn is_empty(&self) -> bool {
        self == &Overrides::default()
    }
}

/// A CPU or memory amount.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Amount {
    /// Reserved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Quantity>,
    /// Hard cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<Quantity>,
}

/// A Kubernetes quantity, written as a string or a number (`500m`, `1`, `256Mi`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quantity(pub String);

impl Serialize for Quantity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => Ok(Quantity(s)),
            serde_json::Value::Number(n) => Ok(Quantity(n.to_string())),
            other => Err(serde::de::Error::custom(format!(
                "expected a quantity (`500m`, `1`, `256Mi`), found {other}"
            ))),
        }
    }
}

impl JsonSchema for Quantity {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Quantity".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "x-kubernetes-int-or-string": true,
            "anyOf": [{"type": "integer"}, {"type": "string"}],
        })
    }
}

/// How traffic is split: exactly one of `gatewayApi` and `istio`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Routing {
    /// A Gateway API HTTPRoute with weighted backends (the app's route, taken over while
    /// the experiment runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_api: Option<GatewayApiRouting>,
    /// An Istio VirtualService with weighted destinations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub istio: Option<IstioRouting>,
}

/// Gateway API routing.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayApiRouting {
    /// The Gateways the route attaches to; the app's own when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub parent_refs: Vec<ParentRef>,
    /// Host names; the app's route hosts when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    pub hostnames: Vec<String>,
}

/// A Gateway (or other parent) a route attaches to.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParentRef {
    /// Gateway name.
    pub name: String,
    /// Its namespace; the route's when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The listener (section) to attach to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section_name: Option<String>,
}

/// Istio routing.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IstioRouting {
    /// Hosts the VirtualService applies to; the baseline Service's cluster name when empty
    /// (traffic inside the mesh).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    /// Istio Gateways (`namespace/name`); `mesh` (sidecars) when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gateways: Vec<String>,
}

/// Sticky assignment.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Stickiness {
    /// Cookie that remembers the variant; `ojek-exp-<experiment>` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9._-]{1,64}$"))]
    pub cookie_name: Option<String>,
    /// How long the cookie lasts (`24h`); until the browser closes when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<kube::core::Duration>,
}

/// How the experiment ends.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// Make this variant's overrides a new revision of the app, then end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promote: Option<String>,
    /// Send all traffic back to the baseline and end.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub abort: bool,
}

/// Where an experiment is in its life.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum Phase {
    /// Shards are being created; variants get traffic once ready.
    Pending,
    /// Every variant is ready and gets its share.
    Running,
    /// A variant won: all traffic goes to it while the app gets its overrides.
    Promoting,
    /// Ended: duration elapsed or promoted; traffic is back on the app.
    Concluded,
    /// Ended by `abort`: traffic is back on the baseline.
    Aborted,
    /// Cannot go on (see the conditions).
    Failed,
}

impl Phase {
    /// Whether the experiment has ended.
    pub fn is_final(self) -> bool {
        matches!(self, Phase::Concluded | Phase::Aborted)
    }

    /// The name, as in the status.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "Pending",
            Phase::Running => "Running",
            Phase::Promoting => "Promoting",
            Phase::Concluded => "Concluded",
            Phase::Aborted => "Aborted",
            Phase::Failed => "Failed",
        }
    }
}

/// What the controller observed and did.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExperimentStatus {
    /// Where the experiment is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// The generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The app revision the shards were rendered from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_revision: Option<u64>,
    /// When every variant first was ready (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When it ended (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// Traffic per variant in percent, for `kubectl get` (`baseline=80 b=20`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The baseline and each variant.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<VariantStatus>,
    /// The app revision a promotion saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promoted_revision: Option<u64>,
    /// `Ready`, `InvalidSpec`, `RoutingReady`, … (as Kubernetes conditions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// One variant (or the baseline) as it runs.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VariantStatus {
    /// Variant name (`baseline` for the app itself).
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// Replicas wanted.
    pub desired_replicas: u32,
    /// Replicas ready.
    pub ready_replicas: u32,
    /// Share of the weighted traffic it gets now, in percent.
    pub weight: u32,
    /// Its Service inside the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// How to reach it on purpose (`header x-variant: b`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_by: Option<String>,
}

/// A condition, shaped like Kubernetes' `metav1.Condition`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// `Ready`, `InvalidSpec`, `RoutingReady`, `ProcessesNotSharded`, `StickinessBestEffort`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// A CamelCase reason.
    pub reason: String,
    /// For people.
    pub message: String,
    /// When the status last changed (RFC 3339).
    pub last_transition_time: String,
    /// The generation this condition was set for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// The generated CustomResourceDefinition.
pub fn crd() -> k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition {
    use kube::CustomResourceExt;
    Experiment::crd()
}

/// The CustomResourceDefinition as YAML, byte-stable (`ojek experiments crd`).
pub fn crd_yaml() -> String {
    let value = serde_json::to_value(crd()).unwrap_or_default();
    ojek_output::yaml::to_yaml(&value)
}
