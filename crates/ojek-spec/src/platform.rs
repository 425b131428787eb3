//! The platform file (`kind: Platform`), owned by the platform team: which environments exist,
//! which scheduler and version each targets, platform profiles (AWS + kops, GKE, on-prem
//! kubeadm, a Nomad datacenter), and how app dependencies are bound. App manifests stay small
//! because everything cluster-specific lives here.
//!
//! Name templates may use `{app}`, `{team}`, `{env}`, `{resource}`, `{topic}` and `{group}`.

mod cluster;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use cluster::{
    InCluster, KubeconfigCluster, KubernetesCluster, NomadCluster, NomadTls, TokenFromEnv, TokenFromFile,
    TokenSource, is_env_var_name, resolve_path,
};

/// Kubernetes minor versions ojek renders for and validates against.
pub const KUBERNETES_VERSIONS: &[&str] = &["1.33", "1.34", "1.35", "1.36", "1.37"];

/// The platform file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Platform {
    /// Always `ojek.dev/v1`.
    pub api_version: crate::manifest::ApiVersion,
    /// Always `Platform`.
    pub kind: PlatformKind,
    /// Platform name.
    pub metadata: PlatformMetadata,
    /// Environments apps deploy to, keyed by name (`staging`, `production`).
    pub environments: IndexMap<String, Environment>,
    /// Platform profiles keyed by name: the settings of one kind of cluster.
    pub profiles: IndexMap<String, Profile>,
    /// How each kind of dependency is bound, per output.
    #[serde(default, skip_serializing_if = "Bindings::is_empty")]
    pub bindings: Bindings,
}

/// `Platform`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum PlatformKind {
    /// A platform file.
    Platform,
}

/// Platform name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PlatformMetadata {
    /// Name.
    pub name: String,
}

/// One environment: its default target and the clusters of each target it can render for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Environment {
    /// `kubernetes` or `nomad`: what `render` uses when no target is given.
    pub target: TargetKind,
    /// Rendering for Kubernetes in this environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<KubernetesEnvironment>,
    /// Rendering for Nomad in this environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nomad: Option<NomadEnvironment>,
}

/// The two targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// Kubernetes.
    Kubernetes,
    /// HashiCorp Nomad.
    Nomad,
}

impl TargetKind {
    /// `kubernetes` or `nomad`.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Kubernetes => "kubernetes",
            TargetKind::Nomad => "nomad",
        }
    }
}

/// Kubernetes settings of an environment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KubernetesEnvironment {
    /// Kubernetes minor version of the cluster, `"1.33"` to `"1.37"`.
    pub version: String,
    /// Name of a profile with `kubernetes` settings.
    pub profile: String,
    /// Namespace template; `{team}-{env}` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The cluster `ojek plan` and `ojek apply` deploy to: `{kubeconfig: PATH, context: NAME}`
    /// or `{inCluster: true}`. Without it the environment renders but cannot be deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<KubernetesCluster>,
}

/// Nomad settings of an environment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NomadEnvironment {
    /// Name of a profile with `nomad` settings.
    pub profile: String,
    /// Nomad namespace template; the profile's namespace when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The Nomad cluster `ojek plan` and `ojek apply` deploy to: address, region, namespace,
    /// where the ACL token is read from, TLS files. Without it the environment renders but
    /// cannot be deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<NomadCluster>,
}

/// A platform profile: settings for one kind of cluster.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Profile {
    /// What this profile is (`AWS + kops, ap-southeast-1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Kubernetes settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<KubernetesProfile>,
    /// Nomad settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nomad: Option<NomadProfile>,
}

/// Kubernetes cluster settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KubernetesProfile {
    /// Route with an Ingress of this class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<IngressSettings>,
    /// Route with Gateway API HTTPRoutes attached to this Gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<GatewaySettings>,
    /// Storage class for persistent volumes; the cluster default when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// Annotations on Services (cloud load-balancer settings).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub service_annotations: IndexMap<String, String>,
    /// Image pull secrets added to every pod.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<String>,
    /// Secret name template holding the TLS certificate of a route host;
    /// `{app}-tls` when unset. `{host}` is the host with dots replaced by dashes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_secret: Option<String>,
}

/// Ingress routing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IngressSettings {
    /// IngressClass name (`nginx`, `alb`).
    pub class_name: String,
    /// Annotations on every Ingress (controller settings, cert-manager issuer).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub annotations: IndexMap<String, String>,
}

/// Gateway API routing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GatewaySettings {
    /// Gateway name.
    pub name: String,
    /// Gateway namespace.
    pub namespace: String,
    /// Listener for plain HTTP routes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_listener: Option<String>,
    /// Listener for routes with `tls: true` (the Gateway terminates TLS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub https_listener: Option<String>,
}

/// Nomad cluster settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NomadProfile {
    /// Nomad region.
    pub region: String,
    /// Datacenters jobs may run in.
    pub datacenters: Vec<String>,
    /// Nomad namespace; `default` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Service discovery: `nomad` (built in) or `consul`.
    #[serde(default)]
    pub service_provider: ServiceProvider,
    /// MHz that one CPU core is worth on the clients (Nomad schedules CPU in MHz).
    #[serde(default = "default_mhz")]
    pub cpu_mhz_per_core: u32,
    /// Router that reads service tags for HTTP routes: `traefik` (default) or `fabio`.
    #[serde(default)]
    pub router: Router,
    /// Prefix of Nomad Variable paths holding secrets; `nomad/jobs/{app}` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets_path: Option<String>,
    /// Metrics source the Nomad Autoscaler uses for Kafka lag (`prometheus`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag_metrics_source: Option<String>,
    /// Host volume name template for persistent volumes; `{app}-{volume}` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_volume: Option<String>,
}

fn default_mhz() -> u32 {
    1000
}

/// Nomad service discovery providers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ServiceProvider {
    /// Nomad's built-in service discovery.
    #[default]
    Nomad,
    /// HashiCorp Consul.
    Consul,
}

/// HTTP routers that configure themselves from Nomad service tags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Router {
    /// Traefik (`traefik.http.routers.*` tags).
    #[default]
    Traefik,
    /// Fabio (`urlprefix-` tags).
    Fabio,
}

/// Bindings of dependency kinds, keyed by output name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Bindings {
    /// PostgreSQL outputs.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub postgres: IndexMap<String, Binding>,
    /// Redis outputs.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub redis: IndexMap<String, Binding>,
    /// Kafka topic outputs.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub kafka_topic: IndexMap<String, Binding>,
    /// S3 bucket outputs.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub s3_bucket: IndexMap<String, Binding>,
}

impl Bindings {
    /// True when nothing is bound.
    pub fn is_empty(&self) -> bool {
        self.postgres.is_empty()
            && self.redis.is_empty()
            && self.kafka_topic.is_empty()
            && self.s3_bucket.is_empty()
    }
    /// The bindings of one kind of dependency.
    pub fn of(&self, kind: crate::manifest::ResourceKind) -> &IndexMap<String, Binding> {
        use crate::manifest::ResourceKind as K;
        match kind {
            K::Postgres => &self.postgres,
            K::Redis => &self.redis,
            K::KafkaTopic => &self.kafka_topic,
            K::S3Bucket => &self.s3_bucket,
        }
    }
}

/// Where one output of a dependency comes from, per target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Binding {
    /// On Kubernetes.
    pub kubernetes: BindingSource,
    /// On Nomad.
    pub nomad: BindingSource,
}

/// A plain value, or a key of a secret (Kubernetes Secret / Nomad Variable).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BindingSource {
    /// A literal value template (not secret), such as the Kafka brokers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Secret name template (Kubernetes) or Nomad Variable path template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Key within the secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// Fills `{app}`-style placeholders; unknown placeholders are left as written.
pub fn fill_template(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (name, value) in vars {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}
