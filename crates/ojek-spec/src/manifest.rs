//! The app manifest (`apiVersion: ojek.dev/v1`, `kind: App`): the types a product engineer
//! writes. Doc comments here become the JSON Schema descriptions that editors show.
//!
//! Rules of thumb for this file: every field means the same thing for every target; a field
//! one target cannot express is reported by that target's renderer, never silently dropped;
//! named things (processes, ports, files, volumes, resources) are mappings keyed by name, so
//! that environment overrides can merge into them.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::values::{Duration, IntOrPercent, Quantity};

/// The only manifest API version this build reads.
pub const API_VERSION: &str = "ojek.dev/v1";

/// An app: the processes of one service, what they depend on, and per-environment overrides.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct App {
    /// Always `ojek.dev/v1`.
    pub api_version: ApiVersion,
    /// Always `App`.
    pub kind: AppKind,
    /// Name, owning team and labels.
    pub metadata: Metadata,
    /// Dependencies the platform provides (databases, caches, Kafka topics, buckets), keyed by
    /// a name that env values refer to as `${resources.NAME.OUTPUT}`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub resources: IndexMap<String, Resource>,
    /// The processes of the app, keyed by name (RFC 1123 label).
    pub processes: IndexMap<String, Process>,
    /// Log settings of the app's log streams, in every environment: retention, rate limit,
    /// level filter. Applied by ojek's log pipeline, not rendered; they take precedence over
    /// settings made in the API or UI. Per app, so not in `environments`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs: Option<Logs>,
    /// Per-environment overrides of any field above, merged key by key; `null` removes a key.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub environments: IndexMap<String, EnvironmentOverride>,
    /// Escape hatches per target: patches on generated objects and extra raw objects.
    #[serde(default, skip_serializing_if = "Targets::is_empty")]
    pub targets: Targets,
    /// Field paths (such as `processes.web.update.canary`) that a target may drop with a
    /// warning when it cannot express them. Without this, an inexpressible field is an error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub best_effort: Vec<String>,
}

/// Manifest fields that ojek applies itself, for every target, instead of rendering them into
/// Kubernetes objects or Nomad jobs: (field path, what applies it). Renderers ignore these
/// fields, so they are neither traced in rendered output nor reported as unsupported; the
/// coverage test accepts exactly these, and `ojek explain` lists them apart.
pub const APPLIED_BY_OJEK: &[(&str, &str)] = &[(
    "logs",
    "ojek's log pipeline: retention, rate limit and level filter of the app's log streams, in every environment",
)];

/// Log settings of an app's streams, applied by ojek's log pipeline (see [`APPLIED_BY_OJEK`]).
/// A field left out here is taken from the app's settings made in the API or UI, else its
/// team's, else the default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Logs {
    /// Days logs are kept, 1 to 3650 (the default is 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 3650))]
    pub retention_days: Option<u32>,
    /// Lines per second each of the app's streams accepts; shippers sending more get HTTP 429
    /// (the default is no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub rate_limit: Option<u32>,
    /// The lowest level kept: lines below it are dropped at ingest (the default keeps every line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<LogLevel>,
}

/// Log levels, lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Keep everything.
    Trace,
    /// Debug and above.
    Debug,
    /// Info and above.
    Info,
    /// Warnings and above.
    Warn,
    /// Errors and fatal errors.
    Error,
    /// Fatal errors only.
    Fatal,
}

impl LogLevel {
    /// Every level, lowest first.
    pub const ALL: [LogLevel; 6] = [
        LogLevel::Trace,
        LogLevel::Debug,
        LogLevel::Info,
        LogLevel::Warn,
        LogLevel::Error,
        LogLevel::Fatal,
    ];
    /// The name used in the manifest (and by the log pipeline).
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
            LogLevel::Fatal => "fatal",
        }
    }
}

/// An environment's overrides. They are merged into the located tree (see `load::resolve`),
/// so the typed manifest only records that they exist; their schema is the app body's, with
/// nothing required (see `schema`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EnvironmentOverride;

impl<'de> Deserialize<'de> for EnvironmentOverride {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| EnvironmentOverride)
    }
}

impl Serialize for EnvironmentOverride {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        s.serialize_map(Some(0))?.end()
    }
}

impl JsonSchema for EnvironmentOverride {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "EnvironmentOverride".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "object" })
    }
}

/// `ojek.dev/v1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ApiVersion {
    /// Version 1.
    #[serde(rename = "ojek.dev/v1")]
    V1,
}

/// `App`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum AppKind {
    /// An app manifest.
    App,
}

/// Who the app is and how it is labelled.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Metadata {
    /// App name: a DNS label (RFC 1123): lowercase letters, digits and `-`, at most 63
    /// characters, starting with a letter.
    pub name: String,
    /// The team that owns the app (also a DNS label).
    pub team: String,
    /// One line about what the app does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Labels added to every generated object (Kubernetes labels, Nomad job meta).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub labels: IndexMap<String, String>,
    /// Annotations added to every generated object (Kubernetes annotations, Nomad job meta).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub annotations: IndexMap<String, String>,
}

/// A dependency provided by the platform; the platform file says how it is bound.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Resource {
    /// What kind of dependency it is.
    #[serde(rename = "type")]
    pub kind: ResourceKind,
    /// Kafka topic name (`kafka-topic` only); defaults to the resource name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Kafka consumer group (`kafka-topic` only); defaults to `APP-RESOURCE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Whether the app produces to, consumes from, or does both with the topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<KafkaAccess>,
}

/// Kinds of dependencies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceKind {
    /// A PostgreSQL database. Outputs: url, host, port, database, username, password.
    Postgres,
    /// A Redis instance. Outputs: url, host, port, password.
    Redis,
    /// A Kafka topic. Outputs: brokers, topic, group.
    KafkaTopic,
    /// An S3-compatible bucket. Outputs: bucket, endpoint, region, accessKeyId, secretAccessKey.
    S3Bucket,
}

impl ResourceKind {
    /// The values a dependency of this kind provides, usable as `${resources.NAME.OUTPUT}`.
    pub fn outputs(self) -> &'static [&'static str] {
        match self {
            ResourceKind::Postgres => &["url", "host", "port", "database", "username", "password"],
            ResourceKind::Redis => &["url", "host", "port", "password"],
            ResourceKind::KafkaTopic => &["brokers", "topic", "group"],
            ResourceKind::S3Bucket => &["bucket", "endpoint", "region", "accessKeyId", "secretAccessKey"],
        }
    }
    /// The name used in the manifest and the platform file.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Postgres => "postgres",
            ResourceKind::Redis => "redis",
            ResourceKind::KafkaTopic => "kafka-topic",
            ResourceKind::S3Bucket => "s3-bucket",
        }
    }
}

/// How an app uses a Kafka topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum KafkaAccess {
    /// Writes to the topic.
    Produce,
    /// Reads from the topic with a consumer group.
    Consume,
    /// Both.
    Both,
}

/// One process of the app: a long-running service or worker, a cron job, or a one-off job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Process {
    /// `service` (long-running, receives traffic), `worker` (long-running, no traffic, e.g. a
    /// Kafka consumer), `cron` (runs on a schedule) or `job` (runs once to completion).
    pub kind: ProcessKind,
    /// Container image, with a tag or digest (`registry/team/app:1.4.2`).
    pub image: String,
    /// Replaces the image's entrypoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Arguments to the entrypoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// Environment variables: a literal, a `{secret, key}` reference, or a string using
    /// `${resources.NAME.OUTPUT}` values the platform provides.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub env: IndexMap<String, EnvValue>,
    /// Config files keyed by absolute path in the container.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub files: IndexMap<String, FileSpec>,
    /// Volumes keyed by name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub volumes: IndexMap<String, Volume>,
    /// Ports keyed by name (a DNS label of at most 15 characters).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub ports: IndexMap<String, Port>,
    /// HTTP routes from outside the cluster to a port (`service` only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<Route>,
    /// Liveness, readiness and startup checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    /// CPU in cores (`0.5`, `500m`, `2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<ResourceAmount>,
    /// Memory in bytes with a unit (`256Mi`, `1Gi`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<ResourceAmount>,
    /// Fixed replicas or autoscaling (`service` and `worker` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling: Option<Scaling>,
    /// How a new version replaces the old one (`service` and `worker` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<Update>,
    /// Time between the stop signal and a forced kill (`30s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shutdown_grace_period: Option<Duration>,
    /// Where the process may run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placement>,
    /// How the process runs (user, root file system).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<Security>,
    /// Containers that run beside the main one for its whole life, keyed by name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub sidecars: IndexMap<String, Container>,
    /// Containers that run to completion, in order, before the main one starts.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub init_containers: IndexMap<String, Container>,
    /// How many replicas voluntary disruptions (node drains) may take down at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disruption_budget: Option<DisruptionBudget>,
    /// Cron schedule, five fields (`30 2 * * *`) or a macro (`@hourly`) (`cron` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// IANA time zone of the schedule (`Asia/Jakarta`); UTC when unset (`cron` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// What to do when a run is due while the previous one still runs (`cron` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<Concurrency>,
    /// How many times a failed run is retried (`cron` and `job`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// Longest time a run may take before it is stopped (`cron` and `job`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<Duration>,
}

/// Kinds of processes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProcessKind {
    /// Long-running, may receive traffic.
    Service,
    /// Long-running, no traffic (e.g. a Kafka consumer).
    Worker,
    /// Runs on a schedule.
    Cron,
    /// Runs once to completion (e.g. a migration).
    Job,
}

impl ProcessKind {
    /// The name used in the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            ProcessKind::Service => "service",
            ProcessKind::Worker => "worker",
            ProcessKind::Cron => "cron",
            ProcessKind::Job => "job",
        }
    }
    /// Service or worker.
    pub fn is_long_running(self) -> bool {
        matches!(self, ProcessKind::Service | ProcessKind::Worker)
    }
}

/// An environment variable's value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum EnvValue {
    /// A literal; may contain `${resources.NAME.OUTPUT}`. Write `$${` for a literal `${`.
    Text(String),
    /// A number, passed as its decimal text (`1.10` becomes `1.1`: quote it to keep it as written).
    Number(serde_json::Number),
    /// A boolean, passed as `true`/`false`.
    Bool(bool),
    /// A reference to a secret; the value itself never appears in rendered output.
    Secret(SecretRef),
}

/// A reference to a key of a secret (a Kubernetes Secret; a Nomad Variable).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretRef {
    /// Secret name (Kubernetes) or Nomad Variable path below the platform's prefix.
    pub secret: String,
    /// Key within the secret.
    pub key: String,
}

/// A config file: inline content, or a file next to the manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FileSpec {
    /// The file's content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Path of a file relative to the manifest; its content is read when the manifest loads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_file: Option<String>,
    /// File mode in octal (`"0644"`); read-only for everyone else by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

/// A volume mounted into the main container.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Volume {
    /// Mount path in the container.
    pub path: String,
    /// `ephemeral` (gone when the replica goes) or `persistent` (kept per replica).
    #[serde(rename = "type")]
    pub kind: VolumeKind,
    /// Size (`10Gi`); required for persistent volumes, a limit for ephemeral ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<Quantity>,
    /// Keep an ephemeral volume in memory (tmpfs).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub memory: bool,
}

/// Volume lifetimes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VolumeKind {
    /// Lives as long as the replica.
    Ephemeral,
    /// Outlives replicas; one per replica.
    Persistent,
}

/// A port the main container listens on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Port {
    /// Port number in the container, 1 to 65535.
    pub port: u16,
    /// `http` (default), `grpc`, `tcp` or `udp`.
    #[serde(default)]
    pub protocol: PortProtocol,
}

/// Port protocols.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PortProtocol {
    /// HTTP over TCP.
    #[default]
    Http,
    /// gRPC over TCP (HTTP/2).
    Grpc,
    /// Plain TCP.
    Tcp,
    /// UDP.
    Udp,
}

/// An HTTP route from outside to a port of a `service` process.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Route {
    /// Host name (`api.example.com`).
    pub host: String,
    /// Path prefix; `/` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Name of the port to route to; may be left out when the process has one port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// Serve HTTPS with a certificate the platform provides.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tls: bool,
}

/// Health checks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Health {
    /// Restart the process when this fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness: Option<Probe>,
    /// Take the replica out of traffic while this fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness: Option<Probe>,
    /// Hold the other checks until this first succeeds (slow starters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup: Option<Probe>,
}

/// One health check: exactly one of `http`, `tcp`, `exec`, `grpc`, plus timing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Probe {
    /// HTTP GET that must answer 2xx or 3xx.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpCheck>,
    /// TCP connect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<PortCheck>,
    /// Command that must exit 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecCheck>,
    /// gRPC health checking protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc: Option<GrpcCheck>,
    /// Time between checks (`10s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// Time a check may take (`1s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Time after start before the first check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_delay: Option<Duration>,
    /// Consecutive failures before the check counts as failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_threshold: Option<u32>,
}

/// An HTTP check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpCheck {
    /// Request path (`/healthz`).
    pub path: String,
    /// Port name; may be left out when the process has one port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
}

/// A TCP check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PortCheck {
    /// Port name; may be left out when the process has one port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
}

/// A command check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExecCheck {
    /// Command and arguments.
    pub command: Vec<String>,
}

/// A gRPC health check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GrpcCheck {
    /// Port name; may be left out when the process has one port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// gRPC service name to check; the server's overall health when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// A CPU or memory amount: what is reserved and the most that may be used.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResourceAmount {
    /// Reserved for the process (used for placement).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Quantity>,
    /// Hard cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<Quantity>,
}

/// Fixed replicas, or autoscaling.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Scaling {
    /// A fixed number of replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// Scale between `min` and `max` on CPU, memory or Kafka consumer lag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscale: Option<Autoscale>,
}

/// Autoscaling bounds and signals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Autoscale {
    /// Fewest replicas.
    pub min: u32,
    /// Most replicas.
    pub max: u32,
    /// Target average CPU use, in percent of the CPU request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<u32>,
    /// Target average memory use, in percent of the memory request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u32>,
    /// Scale a Kafka consumer on its lag (`worker` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka_lag: Option<KafkaLag>,
}

/// Kafka consumer lag scaling.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KafkaLag {
    /// Name of a `kafka-topic` resource the process consumes.
    pub topic: String,
    /// Target lag (messages) per replica.
    pub lag: u32,
}

/// Update strategy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Update {
    /// `rolling` (default) or `recreate` (stop all old replicas first).
    #[serde(default)]
    pub strategy: UpdateStrategy,
    /// Extra replicas allowed during a rolling update (number or percent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_surge: Option<IntOrPercent>,
    /// Replicas that may be unavailable during a rolling update (number or percent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrPercent>,
    /// Start this many replicas of the new version first and wait for promotion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<u32>,
}

/// Update strategies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum UpdateStrategy {
    /// Replace replicas a few at a time.
    #[default]
    Rolling,
    /// Stop every old replica, then start the new ones.
    Recreate,
}

/// Placement rules.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Placement {
    /// Node labels (Kubernetes) or node meta (Nomad) that must match.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub node_selector: IndexMap<String, String>,
    /// Node taints the process tolerates (Kubernetes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
}

/// A toleration of a node taint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Toleration {
    /// Taint key.
    pub key: String,
    /// Taint value; when unset, any value is tolerated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`; all effects when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<TaintEffect>,
}

/// Taint effects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum TaintEffect {
    /// Not scheduled on the node.
    NoSchedule,
    /// Avoided when possible.
    PreferNoSchedule,
    /// Evicted from the node.
    NoExecute,
}

/// Security settings of the main container.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Security {
    /// Refuse to start as root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_non_root: Option<bool>,
    /// Numeric user id to run as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_user: Option<u32>,
    /// Mount the root file system read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only_root_filesystem: Option<bool>,
}

/// A sidecar or init container.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Container {
    /// Container image.
    pub image: String,
    /// Replaces the image's entrypoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Arguments to the entrypoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// Environment variables, as for processes.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub env: IndexMap<String, EnvValue>,
    /// CPU in cores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<ResourceAmount>,
    /// Memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<ResourceAmount>,
}

/// What to do when a cron run is due while the last one still runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Concurrency {
    /// Start it anyway.
    Allow,
    /// Skip it.
    Forbid,
    /// Stop the running one and start the new one.
    Replace,
}

/// Disruption budget: set exactly one of the two.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DisruptionBudget {
    /// At most this many (or percent) replicas down by voluntary disruption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrPercent>,
    /// At least this many (or percent) replicas up during voluntary disruption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_available: Option<IntOrPercent>,
}

/// Escape hatches, per target.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Targets {
    /// For Kubernetes output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<EscapeHatch>,
    /// For Nomad output (patches apply to the JSON API form of the job).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nomad: Option<EscapeHatch>,
}

impl Targets {
    /// True when no target has anything.
    pub fn is_empty(&self) -> bool {
        self.kubernetes.is_none() && self.nomad.is_none()
    }
}

/// Patches on generated objects and raw objects added as they are.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EscapeHatch {
    /// Applied in order, after rendering.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patches: Vec<Patch>,
    /// Added to the output unchanged (Kubernetes objects; for Nomad, whole jobs `{"Job": …}`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<serde_json::Value>,
}

/// A patch on the generated objects that match `select`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Patch {
    /// Which objects: by kind and/or name. Must match at least one.
    pub select: Selector,
    /// JSON Patch operations (RFC 6902).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_patch: Option<Vec<serde_json::Value>>,
    /// A JSON merge patch (RFC 7386).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_patch: Option<serde_json::Value>,
}

/// Selects generated objects.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Selector {
    /// Object kind (`Deployment`; `Job` for Nomad).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Object name (`payments-web`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}
