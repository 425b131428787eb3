//! The Experiment controller (`ojek experiments controller`): kube-rs `Controller` over
//! `Experiment` objects and the Deployments of their shards. Each reconcile observes (the
//! app from the ojek server, the shards' readiness), asks `ojek_experiments::plan` what to
//! do, and does it in a fixed order: copy Secrets, server-side apply the shards and the route
//! (field manager `ojek-experiments`), give the app its route back (as `ojek`), delete what
//! is no longer wanted, save a promotion through the ojek server, write the status. A
//! finalizer makes deletion give the route back and remove the shards first.

pub mod source;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::finalizer::{Event, finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};
use ojek_experiments::Experiment;
use ojek_experiments::desired::{LABEL_EXPERIMENT, LABEL_EXPERIMENT_NAMESPACE, LABEL_VARIANT};
use ojek_experiments::plan::{Delete, Observed, Plan, Replicas, cleanup, plan};
use serde_json::{Value, json};

use crate::source::{AppSource, SourceError};

/// The finalizer on every Experiment the controller has acted on.
pub const FINALIZER: &str = "experiments.ojek.dev/cleanup";
/// Field manager of everything the experiment applies.
pub const MANAGER: &str = "ojek-experiments";
/// Field manager the app's own objects are applied with (`ojek apply`); routes given back
/// are applied as it, so ownership returns to the app.
pub const APP_MANAGER: &str = "ojek";

/// A reconcile failure; retried with backoff.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Kubernetes API refused or failed a request.
    #[error("{what}: {source}")]
    Kube {
        /// The request.
        what: String,
        /// Why.
        #[source]
        source: kube::Error,
    },
    /// The ojek server.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// A planned object the controller cannot map to an API.
    #[error("no API known for {0}")]
    UnknownKind(String),
}

fn kube_err(what: impl Into<String>) -> impl FnOnce(kube::Error) -> Error {
    let what = what.into();
    move |source| Error::Kube { what, source }
}

/// What every reconcile shares.
pub struct Context {
    /// The cluster.
    pub client: Client,
    /// Apps and promotions.
    pub source: Arc<dyn AppSource>,
    /// Now (tests pass a fixed clock).
    pub clock: Arc<dyn Fn() -> Timestamp + Send + Sync>,
    /// Consecutive failures per Experiment, for backoff.
    pub failures: Mutex<HashMap<String, u32>>,
}

impl Context {
    /// A context with the system clock.
    pub fn new(client: Client, source: Arc<dyn AppSource>) -> Self {
        Context {
            client,
            source,
            clock: Arc::new(Timestamp::now),
            failures: Mutex::new(HashMap::new()),
        }
    }
}

/// Delay before retrying after the `n`th consecutive failure (1-based): 5 s doubling to 5 min.
pub fn backoff(n: u32) -> Duration {
    let secs = 5u64.saturating_mul(1u64 << n.saturating_sub(1).min(6));
    Duration::from_secs(secs.min(300))
}

fn key(exp: &Experiment) -> String {
    format!("{}/{}", exp.namespace().unwrap_or_default(), exp.name_any())
}

/// The API of a planned object's kind (a fixed table: no discovery, so every request is
/// predictable).
pub fn api_resource(api_version: &str, kind: &str) -> Option<(ApiResource, bool)> {
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    let (plural, namespaced) = match kind {
        "Namespace" => ("namespaces", false),
        "ServiceAccount" => ("serviceaccounts", true),
        "ConfigMap" => ("configmaps", true),
        "Secret" => ("secrets", true),
        "Service" => ("services", true),
        "Deployment" => ("deployments", true),
        "StatefulSet" => ("statefulsets", true),
        "HorizontalPodAutoscaler" => ("horizontalpodautoscalers", true),
        "PodDisruptionBudget" => ("poddisruptionbudgets", true),
        "NetworkPolicy" => ("networkpolicies", true),
        "Role" => ("roles", true),
        "RoleBinding" => ("rolebindings", true),
        "ScaledObject" => ("scaledobjects", true),
        "HTTPRoute" => ("httproutes", true),
        "ReferenceGrant" => ("referencegrants", true),
        "VirtualService" => ("virtualservices", true),
        _ => return None,
    };
    let gvk = GroupVersionKind::gvk(group, version, kind);
    Some((ApiResource::from_gvk_with_plural(&gvk, plural), namespaced))
}

fn dynamic_api(
    client: &Client,
    api_version: &str,
    kind: &str,
    ns: Option<&str>,
) -> Result<Api<DynamicObject>, Error> {
    let (ar, namespaced) =
        api_resource(api_version, kind).ok_or_else(|| Error::UnknownKind(format!("{api_version} {kind}")))?;
    Ok(match (namespaced, ns) {
        (true, Some(ns)) => Api::namespaced_with(client.clone(), ns, &ar),
        _ => Api::all_with(client.clone(), &ar),
    })
}

async fn apply(client: &Client, doc: &Value, manager: &str) -> Result<(), Error> {
    let api_version = doc.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
    let ns = doc.pointer("/metadata/namespace").and_then(Value::as_str);
    let name = doc
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let api = dynamic_api(client, api_version, kind, ns)?;
    let pp = PatchParams::apply(manager).force();
    api.patch(name, &pp, &Patch::Apply(doc))
        .await
        .map_err(kube_err(format!("apply {kind} {}/{name}", ns.unwrap_or("-"))))?;
    Ok(())
}

fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

async fn delete(client: &Client, d: &Delete) -> Result<(), Error> {
    let api = dynamic_api(client, &d.api_version, &d.kind, d.namespace.as_deref())?;
    match api.delete(&d.name, &DeleteParams::background()).await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(kube_err(format!("delete {} {}", d.kind, d.name))(e)),
    }
}

/// Copies Secrets into a shard: data and type only, labelled as the shard's. A Secret the app
/// namespace lacks is skipped (the shard's pods then wait for it, as the app's would).
async fn copy_secrets(
    client: &Client,
    exp: &Experiment,
    from: &str,
    to: &str,
    names: &[String],
) -> Result<(), Error> {
    let src: Api<Secret> = Api::namespaced(client.clone(), from);
    for name in names {
        let secret = match src.get(name).await {
            Ok(s) => s,
            Err(e) if is_not_found(&e) => continue,
            Err(e) => return Err(kube_err(format!("read Secret {from}/{name}"))(e)),
        };
        let copy = json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": name,
                "namespace": to,
                "labels": {
                    LABEL_EXPERIMENT: exp.name_any(),
                    LABEL_EXPERIMENT_NAMESPACE: exp.namespace().unwrap_or_default(),
                },
            },
            "type": secret.type_,
            "data": secret.data,
        });
        apply(client, &copy, MANAGER).await?;
    }
    Ok(())
}

fn selector(exp: &Experiment) -> String {
    format!(
        "{LABEL_EXPERIMENT}={},{LABEL_EXPERIMENT_NAMESPACE}={}",
        exp.name_any(),
        exp.namespace().unwrap_or_default()
    )
}

fn replicas(d: &Deployment) -> Replicas {
    let desired = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let st = d.status.clone().unwrap_or_default();
    let generation = d.metadata.generation.unwrap_or(0);
    let current = st.observed_generation.unwrap_or(0) >= generation
        && st.updated_replicas.unwrap_or(0) >= desired
        && st.replicas.unwrap_or(0) <= desired;
    Replicas {
        desired: u32::try_from(desired).unwrap_or(0),
        ready: u32::try_from(st.ready_replicas.unwrap_or(0)).unwrap_or(0),
        current,
    }
}

/// What the cluster says about the shards and the baseline.
struct Cluster {
    shards: BTreeMap<String, Replicas>,
    namespaces: BTreeSet<String>,
    baseline: Option<Replicas>,
}

async fn observe(client: &Client, exp: &Experiment, process: Option<&str>) -> Result<Cluster, Error> {
    let lp = ListParams::default().labels(&selector(exp));
    let deployments: Api<Deployment> = Api::all(client.clone());
    let list = deployments
        .list(&lp)
        .await
        .map_err(kube_err("list the shards' Deployments"))?;
    let mut shards = BTreeMap::new();
    for d in &list.items {
        if let Some(v) = d.labels().get(LABEL_VARIANT) {
            shards.insert(v.clone(), replicas(d));
        }
    }
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns_list = namespaces
        .list(&lp)
        .await
        .map_err(kube_err("list the shard namespaces"))?;
    let namespaces = ns_list.items.iter().map(ResourceExt::name_any).collect();
    let baseline = match (process, exp.namespace()) {
        (Some(p), Some(ns)) => {
            let api: Api<Deployment> = Api::namespaced(client.clone(), &ns);
            let lp = ListParams::default().labels(&format!(
                "ojek.dev/app={},ojek.dev/process={p},!{LABEL_EXPERIMENT}",
                exp.spec.app
            ));
            api.list(&lp)
                .await
                .map_err(kube_err("list the baseline's Deployment"))?
                .items
                .first()
                .map(replicas)
        }
        _ => None,
    };
    Ok(Cluster {
        shards,
        namespaces,
        baseline,
    })
}

/// Carries out a plan, in order; returns the revision a promotion saved.
async fn execute(ctx: &Context, exp: &Experiment, p: &Plan) -> Result<Option<u64>, Error> {
    let client = &ctx.client;
    let mut created = BTreeSet::new();
    for (from, to, names) in &p.copy_secrets {
        // The shard namespace must exist first: it is the first object of its shard.
        if let Some(ns) = p.apply.iter().find(|d| d.kind() == "Namespace" && d.name() == to) {
            apply(client, &ns.value, MANAGER).await?;
            created.insert(to.as_str());
        }
        copy_secrets(client, exp, from, to, names).await?;
    }
    for doc in &p.apply {
        if doc.kind() == "Namespace" && created.contains(doc.name()) {
            continue;
        }
        apply(client, &doc.value, MANAGER).await?;
    }
    for doc in &p.restore {
        apply(client, &doc.value, APP_MANAGER).await?;
    }
    for d in &p.delete {
        delete(client, d).await?;
    }
    match &p.promote {
        Some(req) => Ok(Some(ctx.source.promote(&exp.spec.app, req).await?)),
        None => Ok(None),
    }
}

async fn write_status(
    client: &Client,
    exp: &Experiment,
    status: &ojek_experiments::ExperimentStatus,
) -> Result<(), Error> {
    let api: Api<Experiment> = Api::namespaced(client.clone(), &exp.namespace().unwrap_or_default());
    let patch = json!({"status": status});
    api.patch_status(&exp.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(kube_err("write the status"))?;
    Ok(())
}

async fn reconcile_apply(exp: Arc<Experiment>, ctx: &Context) -> Result<Action, Error> {
    let spec = &exp.spec;
    let view = ctx.source.app(&spec.app, &spec.environment).await?;
    let platform = &view.platform;
    let app = view.app.as_ref();
    let process = ojek_experiments::validate::check_app(spec, app, platform)
        .ok()
        .map(|t| t.process);
    let cluster = observe(&ctx.client, &exp, process.as_deref()).await?;
    let observed = Observed {
        experiment: &exp,
        app,
        app_revision: view.revision,
        deployed_revision: view.deployed_revision,
        platform,
        now: (ctx.clock)(),
        shards: cluster.shards,
        baseline: cluster.baseline,
        shard_namespaces: cluster.namespaces,
    };
    let mut p = plan(&observed, &|_| None);
    tracing::info!(
        experiment = %key(&exp),
        phase = ?p.status.phase,
        apply = p.apply.len(),
        delete = p.delete.len(),
        "reconcile"
    );
    match execute(ctx, &exp, &p).await {
        Ok(Some(revision)) => p.status.promoted_revision = Some(revision),
        Ok(None) => {}
        Err(Error::Source(SourceError::Refused(why))) => {
            // The server will not take the promotion as it stands (the app moved on, or the
            // overrides are no longer valid): say so and stop trying until the spec changes.
            p.status.phase = Some(ojek_experiments::Phase::Failed);
            ojek_experiments::plan::set_condition(
                &mut p.status.conditions,
                "Ready",
                false,
                "PromotionRefused",
                format!("the ojek server refused the promotion: {why}"),
                &ojek_experiments::plan::rfc3339((ctx.clock)()),
                exp.metadata.generation,
            );
            p.requeue = None;
        }
        Err(e) => return Err(e),
    }
    if exp.status.as_ref() != Some(&p.status) {
        write_status(&ctx.client, &exp, &p.status).await?;
    }
    Ok(p.requeue.map_or_else(Action::await_change, Action::requeue))
}

async fn reconcile_cleanup(exp: Arc<Experiment>, ctx: &Context) -> Result<Action, Error> {
    let spec = &exp.spec;
    let view = ctx.source.app(&spec.app, &spec.environment).await?;
    let cluster = observe(&ctx.client, &exp, None).await?;
    // Without the app there is no route to give back; the shards still go.
    let p = cleanup(&Observed {
        experiment: &exp,
        app: view.app.as_ref(),
        app_revision: view.revision,
        deployed_revision: view.deployed_revision,
        platform: &view.platform,
        now: (ctx.clock)(),
        shards: cluster.shards,
        baseline: None,
        shard_namespaces: cluster.namespaces,
    });
    execute(ctx, &exp, &p).await?;
    Ok(Action::await_change())
}

/// One reconcile of one Experiment (the finalizer first).
pub async fn reconcile(
    exp: Arc<Experiment>,
    ctx: Arc<Context>,
) -> Result<Action, kube::runtime::finalizer::Error<Error>> {
    let api: Api<Experiment> = Api::namespaced(ctx.client.clone(), &exp.namespace().unwrap_or_default());
    let k = key(&exp);
    let result = finalizer(&api, FINALIZER, exp, |event| async {
        match event {
            Event::Apply(e) => reconcile_apply(e, &ctx).await,
            Event::Cleanup(e) => reconcile_cleanup(e, &ctx).await,
        }
    })
    .await;
    if result.is_ok()
        && let Ok(mut f) = ctx.failures.lock()
    {
        f.remove(&k);
    }
    result
}

/// After a failed reconcile: retry with a growing delay.
pub fn error_policy(
    exp: Arc<Experiment>,
    error: &kube::runtime::finalizer::Error<Error>,
    ctx: Arc<Context>,
) -> Action {
    let k = key(&exp);
    let n = match ctx.failures.lock() {
        Ok(mut f) => {
            let n = f.entry(k.clone()).or_insert(0);
            *n += 1;
            *n
        }
        Err(_) => 1,
    };
    tracing::warn!(experiment = %k, attempt = n, "reconcile failed: {error}");
    Action::requeue(backoff(n))
}

/// Runs the controller until a shutdown signal.
pub async fn run(client: Client, source: Arc<dyn AppSource>) {
    let experiments: Api<Experiment> = Api::all(client.clone());
    let deployments: Api<Deployment> = Api::all(client.clone());
    let ctx = Arc::new(Context::new(client, source));
    Controller::new(experiments, watcher::Config::default())
        // Shards live in their own namespaces, so ownerReferences cannot tie them to the
        // Experiment: map a shard Deployment back by its labels.
        .watches(
            deployments,
            watcher::Config::default().labels(LABEL_EXPERIMENT),
            |d: Deployment| {
                let labels = d.labels();
                let name = labels.get(LABEL_EXPERIMENT)?;
                let ns = labels.get(LABEL_EXPERIMENT_NAMESPACE)?;
                Some(ObjectRef::<Experiment>::new(name).within(ns))
            },
        )
        .shutdown_on_signal()
        .run(reconcile, error_policy, ctx)
        .for_each(|r| async move {
            if let Err(e) = r {
                tracing::warn!("{e}");
            }
        })
        .await;
}
