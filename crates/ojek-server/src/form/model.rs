//! The form model: the manifest fields the form shows, as the browser sends and receives them
//! (JSON, camelCase), the error [`super::apply_form`] reports, and how form entries are matched
//! to manifest entries (by name, with renames).
//!
//! Types and matching only: reading, checking and writing the model live in the sibling modules.

use ojek_spec::diagnostic::Diagnostics;
use serde::{Deserialize, Serialize};

/// The form's view of a manifest: its common fields. Empty strings mean "not set".
///
/// As JSON (what the browser sends and receives):
///
/// ```json
/// {"name": "driver-location", "team": "fulfilment", "description": "GPS pings",
///  "resources": [{"name": "db", "type": "postgres"}],
///  "processes": [{"name": "web", "kind": "service", "image": "registry/driver-location:2.14.0",
///    "command": [], "args": ["serve"],
///    "ports": [{"name": "http", "port": 8080}],
///    "routes": [{"host": "driver-location.gojek.io", "path": "/v1", "port": "http", "tls": true}],
///    "env": [{"name": "DATABASE_URL", "value": "${resources.db.url}", "editable": false},
///            {"name": "LOG_LEVEL", "value": "info", "editable": true}],
///    "cpuRequest": "500m", "cpuLimit": "", "memoryRequest": "512Mi", "memoryLimit": "1Gi",
///    "replicas": null, "autoscale": {"min": 6, "max": 60, "cpu": 65},
///    "schedule": "", "timeZone": ""}]}
/// ```
///
/// Missing fields read as their defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FormApp {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.team`.
    pub team: String,
    /// `metadata.description`.
    pub description: String,
    /// `resources`, in manifest order.
    pub resources: Vec<FormResource>,
    /// `processes`, in manifest order.
    pub processes: Vec<FormProcess>,
}

/// One entry of `resources`; `topic`, `group` and `access` are kept as written.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FormResource {
    /// The resource's key.
    pub name: String,
    /// `type`: `postgres`, `redis`, `kafka-topic` or `s3-bucket`.
    pub r#type: String,
}

/// One entry of `processes`; fields the form does not show (health, update, files, …) are
/// kept as written.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FormProcess {
    /// The process's key.
    pub name: String,
    /// `kind`: `service`, `worker`, `cron` or `job`.
    pub kind: String,
    /// `image`.
    pub image: String,
    /// `command` (empty: not set).
    pub command: Vec<String>,
    /// `args` (empty: not set).
    pub args: Vec<String>,
    /// `ports`, in manifest order; `protocol` is kept as written.
    pub ports: Vec<FormPort>,
    /// `routes`.
    pub routes: Vec<FormRoute>,
    /// `env`, in manifest order.
    pub env: Vec<FormEnv>,
    /// `cpu.request`.
    pub cpu_request: String,
    /// `cpu.limit`.
    pub cpu_limit: String,
    /// `memory.request`.
    pub memory_request: String,
    /// `memory.limit`.
    pub memory_limit: String,
    /// `scaling.replicas`.
    pub replicas: Option<u32>,
    /// `scaling.autoscale`; `memory` and `kafkaLag` are kept as written.
    pub autoscale: Option<FormAutoscale>,
    /// `schedule` (cron processes).
    pub schedule: String,
    /// `timeZone` (cron processes).
    pub time_zone: String,
}

/// One entry of a process's `ports`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FormPort {
    /// The port's key (a DNS label of at most 15 characters).
    pub name: String,
    /// `port`, 1 to 65535 (0 when the YAML holds something else).
    pub port: u16,
}

/// One item of a process's `routes`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FormRoute {
    /// `host`.
    pub host: String,
    /// `path` (empty: not set, `/`).
    pub path: String,
    /// `port`, a port name (empty: not set, the only port).
    pub port: String,
    /// `tls`.
    pub tls: bool,
}

/// One entry of a process's `env`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FormEnv {
    /// The variable's name.
    pub name: String,
    /// The value as text. Read-only values read as something to show: `secret NAME/KEY` for a
    /// secret reference, the string itself when it uses `${resources.…}`.
    pub value: String,
    /// Whether the form may change the value: false for secret references, for strings that
    /// use `${…}` and for other non-scalar values. Computed when reading; ignored when
    /// applying (the YAML decides), except that a new entry is always a plain string.
    pub editable: bool,
}

/// A process's `scaling.autoscale`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FormAutoscale {
    /// `min`.
    pub min: u32,
    /// `max`.
    pub max: u32,
    /// `cpu`: target average CPU use, percent of the request.
    pub cpu: Option<u32>,
}

/// Why a form could not be applied to a manifest.
#[derive(Debug, thiserror::Error)]
pub enum FormError {
    /// The YAML text does not parse, so there is nothing to apply the form to.
    #[error("the YAML does not parse; fix it in the YAML tab first:\n{0}")]
    Yaml(Diagnostics),
    /// The YAML text parses, but its top level is not a mapping.
    #[error("the YAML is not an app manifest (its top level is not a mapping); fix it in the YAML tab")]
    NotAMapping,
    /// A form value is not acceptable (an empty or duplicate name, a name that is not a DNS
    /// label, port 0, an unknown kind).
    #[error("{field}: {message}")]
    Invalid {
        /// Where in the form, as a manifest path (`processes.web.ports.http.port`).
        field: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// The form changed a value the form shows read-only.
    #[error(
        "{field}: this value is a secret reference or uses ${{…}}; the form cannot change it, edit it in the YAML tab"
    )]
    ReadOnly {
        /// The env entry, as a manifest path (`processes.web.env.TOKEN`).
        field: String,
    },
    /// The edited text did not read back as the form. Not expected to happen.
    #[error(
        "could not write the form into the manifest ({0}); please report this, and use the YAML tab meanwhile"
    )]
    Internal(String),
}

// ---------------------------------------------------------------------------------------------
// Matching entries: the manifest keys entries by name
// ---------------------------------------------------------------------------------------------

/// Form entries that are keyed by name in the manifest.
pub(super) trait Named {
    fn name(&self) -> &str;
}

macro_rules! named {
    ($($t:ty),*) => {$(
        impl Named for $t {
            fn name(&self) -> &str {
                &self.name
            }
        }
    )*};
}
named!(FormResource, FormProcess, FormPort, FormEnv);

pub(super) fn names<T: Named>(entries: &[T]) -> Vec<&str> {
    entries.iter().map(Named::name).collect()
}

/// For each new entry, the old entry it continues: the one with its name, or, for a new name,
/// the one in its place when that one's name is gone (a rename).
pub(super) fn match_entries(old: &[&str], new: &[&str]) -> Vec<Option<usize>> {
    new.iter()
        .enumerate()
        .map(|(i, name)| {
            old.iter()
                .position(|o| o == name)
                .or_else(|| old.get(i).filter(|o| !new.contains(*o)).map(|_| i))
        })
        .collect()
}
