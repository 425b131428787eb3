//! Deploying rendered objects to a Kubernetes cluster: [`KubeTarget::connect`], then
//! [`KubeTarget::plan`] (what would change, field by field, and what would be pruned) and
//! [`KubeTarget::apply`] (server-side apply with field manager `ojek`, prune, rollout wait).
//!
//! Every applied object carries the labels `app.kubernetes.io/managed-by: ojek`,
//! `ojek.dev/app` and `ojek.dev/env` (rendered; added here to raw objects that lack them) and
//! the annotation `ojek.dev/revision`. Pruning only ever deletes objects that carry all three
//! labels with this app and environment, in the namespaces the app deploys to.
//!
//! **Rollback** needs nothing special on Kubernetes: the caller renders the old revision's
//! manifest and applies it like any other revision (server-side apply converges every field
//! ojek owns back to that revision; pruning removes objects the old revision did not have).
//!
//! **Order**: setup (namespace, identities, configuration), then Jobs, then Services,
//! workloads and what routes to or scales them ([`order`]). When the apply waits, it waits
//! for the Jobs (database migrations) to complete before applying the rest, and stops if one
//! fails, like Helm's `pre-upgrade` hooks or Argo CD's `PreSync` hooks.
//!
//! Layout: `order` (apply order and phases, prunable kinds), `diff` (field differences and their text),
//! `plan`, `apply`, `rollout` (waiting and failure reasons). This module holds the
//! connection and what plan and apply share: labelling, discovery, namespaces.

mod apply;
pub mod diff;
mod live;
pub mod order;
mod plan;
mod rollout;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::config::{ExecInteractiveMode, KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{Discovery, Scope};
use kube::{Client, Config};
use ojek_core::spec::platform::TargetKind;
use ojek_output::Rendered;
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::{ConnectCause, DeployError, FieldConflict};

pub use self::apply::{AppliedObject, ApplyOptions, ApplyReport, ObjectResult};
pub use self::diff::FieldChange;
pub use self::live::{LiveState, LiveWorkload, ReadKind};
pub use self::plan::{Action, KubePlan, PlannedObject};
pub use self::rollout::{Rollout, RolloutStatus};

/// The field manager ojek applies as.
pub const FIELD_MANAGER: &str = "ojek";
/// Label every ojek object carries.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "ojek");
/// Label naming the app.
pub const APP_LABEL: &str = "ojek.dev/app";
/// Label naming the environment.
pub const ENV_LABEL: &str = "ojek.dev/env";

/// Where a cluster's API server is and how to authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterSource {
    /// A kubeconfig file, and the context to use (its current context when `None`).
    Kubeconfig {
        /// The kubeconfig file.
        path: PathBuf,
        /// The context; the file's `current-context` when unset.
        context: Option<String>,
    },
    /// The service account of the pod ojek runs in.
    InCluster,
    /// A plain URL with no authentication (tests, local proxies such as `kubectl proxy`).
    Url(String),
}

/// One Kubernetes cluster ojek deploys to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// The name used in messages and deployment records.
    pub name: String,
    /// How to reach it.
    pub source: ClusterSource,
}

/// What is deployed: the app, the environment and the app revision being applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deployment {
    /// The app's name (`ojek.dev/app`).
    pub app: String,
    /// The environment (`ojek.dev/env`).
    pub env: String,
    /// The app revision, recorded in the `ojek.dev/revision` annotation.
    pub revision: u64,
}

/// An object in the cluster, by kind and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ObjectRef {
    /// `apps/v1`.
    pub api_version: String,
    /// `Deployment`.
    pub kind: String,
    /// The namespace (`None` for cluster-scoped kinds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}

/// A connected Kubernetes cluster.
#[derive(Clone)]
pub struct KubeTarget {
    name: String,
    client: Client,
}

impl std::fmt::Debug for KubeTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeTarget").field("name", &self.name).finish()
    }
}

impl KubeTarget {
    /// Loads the cluster's configuration and checks that it answers (`GET /version`).
    ///
    /// Errors name the cluster and say whether it is unreachable, refused TLS, or refused
    /// our credentials.
    pub async fn connect(cluster: &ClusterConfig) -> Result<KubeTarget, DeployError> {
        let config_error = |message: String| DeployError::Connect {
            cluster: cluster.name.clone(),
            cause: ConnectCause::Config,
            message,
        };
        let config = match &cluster.source {
            ClusterSource::Kubeconfig { path, context } => {
                let mut kubeconfig = Kubeconfig::read_from(path)
                    .map_err(|e| config_error(format!("reading {}: {e}", path.display())))?;
                // A credential plugin must never wait for someone to type: ojek runs unattended.
                for auth in &mut kubeconfig.auth_infos {
                    if let Some(exec) = auth.auth_info.as_mut().and_then(|a| a.exec.as_mut()) {
                        exec.interactive_mode = Some(ExecInteractiveMode::Never);
                    }
                }
                let options = KubeConfigOptions {
                    context: context.clone(),
                    ..KubeConfigOptions::default()
                };
                Config::from_custom_kubeconfig(kubeconfig, &options)
                    .await
                    .map_err(|e| config_error(format!("{}: {e}", path.display())))?
            }
            ClusterSource::InCluster => {
                Config::incluster().map_err(|e| config_error(format!("in-cluster configuration: {e}")))?
            }
            ClusterSource::Url(url) => {
                let uri = url
                    .parse()
                    .map_err(|e| config_error(format!("bad URL {url:?}: {e}")))?;
                let mut config = Config::new(uri);
                config.default_namespace = "default".to_string();
                config
            }
        };
        Self::connect_with(&cluster.name, config).await
    }

    /// Connects with an explicit `kube::Config` (tests tune retries and timeouts this way).
    /// Without a read timeout, [`READ_TIMEOUT`] is set: a server that accepts the connection
    /// and never answers must not hold a plan or a deploy forever.
    pub async fn connect_with(name: &str, mut config: Config) -> Result<KubeTarget, DeployError> {
        if config.read_timeout.is_none() {
            config.read_timeout = Some(READ_TIMEOUT);
        }
        let connect = |cause: ConnectCause, message: String| DeployError::Connect {
            cluster: name.to_string(),
            cause,
            message,
        };
        let client = Client::try_from(config).map_err(|e| {
            let e = redact(e);
            let cause = classify(&e);
            connect(
                if cause == ConnectCause::Other {
                    ConnectCause::Config
                } else {
                    cause
                },
                chain(&e),
            )
        })?;
        Self::from_client(name, client).await
    }

    /// Uses a ready client (e.g. one with extra tower layers), after checking it answers.
    pub async fn from_client(name: &str, client: Client) -> Result<KubeTarget, DeployError> {
        client.apiserver_version().await.map_err(|e| {
            let e = redact(e);
            DeployError::Connect {
                cluster: name.to_string(),
                cause: classify(&e),
                message: chain(&e),
            }
        })?;
        Ok(KubeTarget {
            name: name.to_string(),
            client,
        })
    }

    /// The cluster's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The underlying client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn api_error(&self, action: impl Into<String>, e: kube::Error) -> DeployError {
        DeployError::Api {
            cluster: self.name.clone(),
            action: action.into(),
            source: Box::new(redact(e)),
        }
    }

    /// Labels and orders the rendered objects and resolves their API resources.
    async fn prepare(&self, rendered: &Rendered, deployment: &Deployment) -> Result<Prepared, DeployError> {
        if rendered.target != TargetKind::Kubernetes {
            return Err(DeployError::WrongTarget(rendered.target.as_str().to_string()));
        }
        let mut values = rendered
            .objects
            .iter()
            .map(|doc| label(doc.value.clone(), deployment))
            .collect::<Result<Vec<Value>, DeployError>>()?;
        let default_namespace = values
            .iter()
            .find_map(|v| v.pointer("/metadata/namespace").and_then(Value::as_str))
            .map(str::to_string);

        let mut groups: BTreeSet<String> = order::PRUNABLE_KINDS
            .iter()
            .map(|(g, _, _)| g.to_string())
            .collect();
        groups.insert(String::new());
        for v in &values {
            groups.insert(gvk_of(v).group);
        }
        let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
        let discovery = Discovery::new(self.client.clone())
            .filter(&groups)
            .run()
            .await
            .map_err(|e| self.api_error("discover API resources", e))?;

        let mut objects = Vec::new();
        for v in values.iter_mut() {
            let gvk = gvk_of(v);
            let name = str_at(v, "/metadata/name").to_string();
            let Some((resource, caps)) = discovery.resolve_gvk(&gvk) else {
                return Err(DeployError::UnknownKind {
                    cluster: self.name.clone(),
                    api_version: str_at(v, "/apiVersion").to_string(),
                    kind: gvk.kind,
                    name,
                });
            };
            let namespace = if caps.scope == Scope::Namespaced {
                let ns = match v.pointer("/metadata/namespace").and_then(Value::as_str) {
                    Some(ns) => ns.to_string(),
                    None => default_namespace.clone().ok_or_else(|| {
                        DeployError::InvalidObject(format!("{}/{name} has no metadata.namespace", gvk.kind))
                    })?,
                };
                v["metadata"]["namespace"] = json!(ns);
                Some(ns)
            } else {
                None
            };
            objects.push(PreparedObject {
                object: ObjectRef {
                    api_version: resource.api_version.clone(),
                    kind: resource.kind.clone(),
                    namespace,
                    name,
                },
                value: v.clone(),
                resource,
                implicit: false,
            });
        }

        let namespaces: BTreeSet<String> = objects
            .iter()
            .filter_map(|o| o.object.namespace.clone())
            .collect();
        let ns_resource = discovery
            .resolve_gvk(&GroupVersionKind::gvk("", "v1", "Namespace"))
            .map(|(r, _)| r)
            .ok_or_else(|| DeployError::UnknownKind {
                cluster: self.name.clone(),
                api_version: "v1".into(),
                kind: "Namespace".into(),
                name: String::new(),
            })?;
        let ns_api: Api<DynamicObject> = Api::all_with(self.client.clone(), &ns_resource);
        let mut missing_namespaces = BTreeSet::new();
        for ns in &namespaces {
            let rendered_ns = objects
                .iter()
                .any(|o| o.object.kind == "Namespace" && o.object.name == *ns);
            let live = ns_api
                .get_opt(ns)
                .await
                .map_err(|e| self.api_error(format!("read Namespace/{ns}"), e))?;
            if live.is_none() {
                missing_namespaces.insert(ns.clone());
                if !rendered_ns {
                    objects.push(PreparedObject {
                        object: ObjectRef {
                            api_version: "v1".into(),
                            kind: "Namespace".into(),
                            namespace: None,
                            name: ns.clone(),
                        },
                        value: json!({"apiVersion": "v1", "kind": "Namespace",
                            "metadata": {"name": ns, "labels": {MANAGED_BY.0: MANAGED_BY.1}}}),
                        resource: ns_resource.clone(),
                        implicit: true,
                    });
                }
            }
        }
        order::sort_by_kind(&mut objects, |o| o.object.kind.as_str());

        let prunable = order::PRUNABLE_KINDS
            .iter()
            .filter_map(|(g, v, k)| discovery.resolve_gvk(&GroupVersionKind::gvk(g, v, k)))
            .map(|(r, _)| r)
            .collect();
        Ok(Prepared {
            objects,
            namespaces,
            missing_namespaces,
            prunable,
        })
    }

    fn api_for(&self, resource: &ApiResource, namespace: Option<&str>) -> Api<DynamicObject> {
        match namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, resource),
            None => Api::all_with(self.client.clone(), resource),
        }
    }

    /// Live objects with ojek's labels for this app and environment that are not rendered.
    async fn prune_candidates(
        &self,
        prepared: &Prepared,
        deployment: &Deployment,
    ) -> Result<Vec<(ObjectRef, ApiResource)>, DeployError> {
        let selector = format!(
            "{}={},{APP_LABEL}={},{ENV_LABEL}={}",
            MANAGED_BY.0, MANAGED_BY.1, deployment.app, deployment.env
        );
        let rendered: BTreeSet<(String, Option<String>, String)> = prepared
            .objects
            .iter()
            .map(|o| {
                (
                    o.object.kind.clone(),
                    o.object.namespace.clone(),
                    o.object.name.clone(),
                )
            })
            .collect();
        let mut out = Vec::new();
        for ns in prepared.namespaces.difference(&prepared.missing_namespaces) {
            for resource in &prepared.prunable {
                let api = self.api_for(resource, Some(ns));
                let list = api
                    .list(&ListParams::default().labels(&selector))
                    .await
                    .map_err(|e| self.api_error(format!("list {} in {ns}", resource.plural), e))?;
                for item in list.items {
                    let name = item.metadata.name.clone().unwrap_or_default();
                    let key = (resource.kind.clone(), Some(ns.clone()), name.clone());
                    if rendered.contains(&key) || !carries_labels(&item, deployment) {
                        continue;
                    }
                    let object = ObjectRef {
                        api_version: resource.api_version.clone(),
                        kind: resource.kind.clone(),
                        namespace: Some(ns.clone()),
                        name,
                    };
                    out.push((object, resource.clone()));
                }
            }
        }
        Ok(out)
    }

    /// Server-side apply of one object; a 409 with field-manager causes becomes a
    /// [`DeployError::Conflict`].
    async fn server_side_apply(
        &self,
        object: &PreparedObject,
        force: bool,
        dry_run: bool,
    ) -> Result<Value, DeployError> {
        let mut params = PatchParams::apply(FIELD_MANAGER);
        if force {
            params = params.force();
        }
        if dry_run {
            params = params.dry_run();
        }
        let api = self.api_for(&object.resource, object.object.namespace.as_deref());
        match api
            .patch(&object.object.name, &params, &Patch::Apply(&object.value))
            .await
        {
            Ok(o) => serde_json::to_value(&o).map_err(|e| {
                DeployError::InvalidObject(format!("{} as answered by the server: {e}", object.object))
            }),
            Err(e) => Err(match conflicts(&e) {
                Some(conflicts) => DeployError::Conflict {
                    cluster: self.name.clone(),
                    object: object.object.to_string(),
                    conflicts,
                },
                None => self.api_error(
                    format!(
                        "{} {}",
                        if dry_run { "dry-run apply" } else { "apply" },
                        object.object
                    ),
                    e,
                ),
            }),
        }
    }

    async fn get_live(&self, object: &PreparedObject) -> Result<Option<Value>, DeployError> {
        let api = self.api_for(&object.resource, object.object.namespace.as_deref());
        let live = api
            .get_opt(&object.object.name)
            .await
            .map_err(|e| self.api_error(format!("read {}", object.object), e))?;
        live.map(|o| serde_json::to_value(&o))
            .transpose()
            .map_err(|e| DeployError::InvalidObject(format!("live {}: {e}", object.object)))
    }
}

/// The labelled, ordered objects of one plan or apply, with their API resources.
struct Prepared {
    objects: Vec<PreparedObject>,
    /// Every namespace the objects go to.
    namespaces: BTreeSet<String>,
    /// Those that do not exist yet.
    missing_namespaces: BTreeSet<String>,
    /// The prunable kinds this cluster serves.
    prunable: Vec<ApiResource>,
}

struct PreparedObject {
    object: ObjectRef,
    value: Value,
    resource: ApiResource,
    /// A namespace ojek creates because it is missing, not a rendered object.
    implicit: bool,
}

impl PreparedObject {
    fn in_missing_namespace(&self, prepared: &Prepared) -> bool {
        self.object
            .namespace
            .as_ref()
            .is_some_and(|ns| prepared.missing_namespaces.contains(ns))
    }
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

fn gvk_of(v: &Value) -> GroupVersionKind {
    let api_version = str_at(v, "/apiVersion");
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    GroupVersionKind::gvk(group, version, str_at(v, "/kind"))
}

/// Adds ojek's labels (overriding wrong values) and the revision annotation.
fn label(mut v: Value, deployment: &Deployment) -> Result<Value, DeployError> {
    for field in ["/apiVersion", "/kind", "/metadata/name"] {
        if str_at(&v, field).is_empty() {
            return Err(DeployError::InvalidObject(format!(
                "an object has no {}: {}",
                &field[1..],
                v.to_string().chars().take(200).collect::<String>()
            )));
        }
    }
    let meta = &mut v["metadata"];
    let labels: BTreeMap<&str, &str> = [
        MANAGED_BY,
        (APP_LABEL, deployment.app.as_str()),
        (ENV_LABEL, deployment.env.as_str()),
    ]
    .into();
    for (k, value) in labels {
        if !meta["labels"].is_object() {
            meta["labels"] = json!({});
        }
        meta["labels"][k] = json!(value);
    }
    if !meta["annotations"].is_object() {
        meta["annotations"] = json!({});
    }
    meta["annotations"][diff::REVISION_ANNOTATION] = json!(deployment.revision.to_string());
    Ok(v)
}

fn carries_labels(item: &DynamicObject, deployment: &Deployment) -> bool {
    let Some(labels) = &item.metadata.labels else {
        return false;
    };
    labels.get(MANAGED_BY.0).map(String::as_str) == Some(MANAGED_BY.1)
        && labels.get(APP_LABEL) == Some(&deployment.app)
        && labels.get(ENV_LABEL) == Some(&deployment.env)
}

/// The field-manager conflicts of a 409 answer, if it is one.
fn conflicts(e: &kube::Error) -> Option<Vec<FieldConflict>> {
    let kube::Error::Api(status) = e else {
        return None;
    };
    if status.code != 409 {
        return None;
    }
    let causes = &status.details.as_ref()?.causes;
    let out: Vec<FieldConflict> = causes
        .iter()
        .filter(|c| c.reason == "FieldManagerConflict")
        .map(|c| FieldConflict {
            field: c.field.clone(),
            manager: c.message.split('"').nth(1).unwrap_or(&c.message).to_string(),
        })
        .collect();
    (!out.is_empty()).then_some(out)
}

/// The HTTP status of an API error.
fn status_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

/// An error and all its sources, on one line.
/// How long one request may wait for the API server's answer (ojek never watches).
pub const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// `e` without what a failed credential plugin left in it: its command line (with the
/// environment variables the kubeconfig sets for it) and its output may hold secrets, and
/// errors reach deployment records and pages. Only the exit status is kept.
pub(crate) fn redact(e: kube::Error) -> kube::Error {
    match e {
        kube::Error::Auth(kube::client::AuthError::AuthExecRun { out, .. }) => kube::Error::Auth(
            kube::client::AuthError::AuthExecStart(std::io::Error::other(format!(
                "the kubeconfig's credential plugin failed ({}); its command line and output are not \
                 shown because they may hold secrets: run it by hand to see why",
                out.status
            ))),
        ),
        other => other,
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

fn classify(e: &kube::Error) -> ConnectCause {
    match e {
        kube::Error::Api(s) if s.code == 401 || s.code == 403 => ConnectCause::Auth,
        kube::Error::Auth(_) => ConnectCause::Auth,
        kube::Error::RustlsTls(_) | kube::Error::TlsRequired => ConnectCause::Tls,
        kube::Error::HyperError(_) | kube::Error::Service(_) => {
            let text = chain(e).to_lowercase();
            if [
                "tls",
                "certificate",
                "handshake",
                "invalid peer",
                "corrupt message",
            ]
            .iter()
            .any(|w| text.contains(w))
            {
                ConnectCause::Tls
            } else {
                ConnectCause::Unreachable
            }
        }
        _ => ConnectCause::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_failed_credential_plugin_is_reported_without_its_command_line_or_output() {
        use std::os::unix::process::ExitStatusExt;
        let e = kube::Error::Auth(kube::client::AuthError::AuthExecRun {
            cmd: "AWS_SECRET_ACCESS_KEY=\"hunter2\" \"aws\" \"eks\" \"get-token\"".into(),
            out: Box::new(std::process::Output {
                status: std::process::ExitStatus::from_raw(256),
                stdout: b"{\"token\": \"hunter2\"}".to_vec(),
                stderr: b"hunter2 is not valid".to_vec(),
            }),
        });
        assert!(
            chain(&e).contains("hunter2"),
            "the unredacted error would leak it"
        );
        let redacted = redact(e);
        let text = chain(&redacted);
        assert!(!text.contains("hunter2"), "{text}");
        assert!(
            text.contains("credential plugin failed (exit status: 1)"),
            "{text}"
        );
        assert_eq!(classify(&redacted), ConnectCause::Auth);
    }

    #[test]
    fn labels_are_added_and_corrected_and_the_revision_annotated() {
        let d = Deployment {
            app: "web".into(),
            env: "staging".into(),
            revision: 4,
        };
        let raw = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x", "labels": {"ojek.dev/app": "other", "team": "a"}}});
        let v = label(raw, &d).expect("valid");
        assert_eq!(
            v["metadata"]["labels"],
            json!({"ojek.dev/app": "web", "team": "a", "app.kubernetes.io/managed-by": "ojek",
                "ojek.dev/env": "staging"})
        );
        assert_eq!(v["metadata"]["annotations"], json!({"ojek.dev/revision": "4"}));
        assert!(label(json!({"kind": "ConfigMap", "metadata": {"name": "x"}}), &d).is_err());
    }

    #[test]
    fn gvk_of_core_and_grouped_kinds() {
        let core = gvk_of(&json!({"apiVersion": "v1", "kind": "Service"}));
        assert_eq!((core.group.as_str(), core.version.as_str()), ("", "v1"));
        let apps = gvk_of(&json!({"apiVersion": "apps/v1", "kind": "Deployment"}));
        assert_eq!((apps.group.as_str(), apps.kind.as_str()), ("apps", "Deployment"));
    }
}
