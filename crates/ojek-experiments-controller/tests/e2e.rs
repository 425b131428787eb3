//! The controller against a real cluster: an Experiment with one variant goes Pending →
//! Running (the shard's pods really start), its weights reach the HTTPRoute, and aborting it
//! gives the route back and deletes the shard.
//!
//! Ignored: it needs a disposable cluster with the Gateway API CRDs (standard channel) and
//! pulls a public image. Run it as `docs/experiments.md` says:
//!
//! ```text
//! OJEK_E2E_KUBECONFIG=~/.kube/config cargo test -p ojek-experiments-controller --test e2e -- --ignored
//! ```
//!
//! It installs the Experiment CRD, deploys a small app (nginx) into `e2e-production`, and
//! deletes what it created at the end, whether it passed or failed.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::FakeSource;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use ojek_experiments::{Experiment, Phase};
use ojek_experiments_controller::{Context, api_resource, reconcile};
use ojek_spec::load::{LoadedApp, load_app};
use serde_json::{Value, json};

const KUBECONFIG: &str = "OJEK_E2E_KUBECONFIG";
const CONTEXT: &str = "OJEK_E2E_KUBE_CONTEXT";
const NS: &str = "e2e-production";
const SHARD: &str = "e2e-echo-production-b";

const APP: &str = r#"apiVersion: ojek.dev/v1
kind: App
metadata: {name: e2e-echo, team: e2e}
processes:
  web:
    kind: service
    image: nginx:1.27-alpine
    ports: {http: {port: 80}}
    routes: [{host: echo.e2e.invalid}]
    scaling: {replicas: 1}
"#;

async fn client() -> Client {
    let Ok(path) = std::env::var(KUBECONFIG) else {
        panic!(
            "set {KUBECONFIG} (and optionally {CONTEXT}) to a disposable cluster's kubeconfig; see docs/experiments.md"
        );
    };
    let kubeconfig = Kubeconfig::read_from(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let options = KubeConfigOptions {
        context: std::env::var(CONTEXT).ok(),
        ..KubeConfigOptions::default()
    };
    let config = Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .unwrap_or_else(|e| panic!("kubeconfig: {e}"));
    Client::try_from(config).unwrap_or_else(|e| panic!("client: {e}"))
}

async fn apply(client: &Client, v: &Value) {
    let api_version = v["apiVersion"].as_str().unwrap_or_default();
    let kind = v["kind"].as_str().unwrap_or_default();
    let (ar, namespaced) = match kind {
        "CustomResourceDefinition" => (
            kube::core::ApiResource::from_gvk_with_plural(
                &kube::core::GroupVersionKind::gvk("apiextensions.k8s.io", "v1", kind),
                "customresourcedefinitions",
            ),
            false,
        ),
        _ => api_resource(api_version, kind).unwrap_or_else(|| panic!("no API for {kind}")),
    };
    let api: Api<DynamicObject> = match v.pointer("/metadata/namespace").and_then(Value::as_str) {
        Some(ns) if namespaced => Api::namespaced_with(client.clone(), ns, &ar),
        _ => Api::all_with(client.clone(), &ar),
    };
    let name = v
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    api.patch(name, &PatchParams::apply("ojek").force(), &Patch::Apply(v))
        .await
        .unwrap_or_else(|e| panic!("apply {kind} {name}: {e}"));
}

fn app() -> LoadedApp {
    load_app("e2e-echo.yaml", APP, &ojek_spec::NoFiles).unwrap_or_else(|d| panic!("{d}"))
}

async fn scenario(client: &Client) {
    // The CRD, and the app as `ojek apply` would deploy it (production renders an HTTPRoute).
    let crd = serde_json::to_value(ojek_experiments::crd::crd()).expect("crd");
    apply(client, &crd).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let platform = common::platform();
    let opts = ojek_spec::load::resolve(&app(), "production").expect("resolves");
    let rendered = ojek_kubernetes_render(&opts, &platform);
    apply(
        client,
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
    )
    .await;
    for o in &rendered {
        apply(client, o).await;
    }
    let exp = json!({
        "apiVersion": "ojek.dev/v1alpha1", "kind": "Experiment",
        "metadata": {"name": "e2e", "namespace": NS},
        "spec": {"app": "e2e-echo", "environment": "production", "baselineWeight": 90,
                 "variants": [{"name": "b", "weight": 10, "overrides": {"image": "nginx:1.28-alpine"}}],
                 "routing": {"gatewayApi": {}}}
    });
    let api: Api<Experiment> = Api::namespaced(client.clone(), NS);
    api.patch("e2e", &PatchParams::apply("e2e").force(), &Patch::Apply(&exp))
        .await
        .expect("create the Experiment");
    let source = FakeSource::new(Some(app()));
    let ctx = Arc::new(Context::new(client.clone(), source));
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut phase = None;
    while Instant::now() < deadline {
        let e = api.get("e2e").await.expect("get");
        reconcile(Arc::new(e), ctx.clone()).await.expect("reconcile");
        phase = api.get("e2e").await.expect("get").status.and_then(|s| s.phase);
        if phase == Some(Phase::Running) {
            break;
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    assert_eq!(phase, Some(Phase::Running), "the shard did not become ready");
    let routes = Api::<DynamicObject>::namespaced_with(
        client.clone(),
        NS,
        &api_resource("gateway.networking.k8s.io/v1", "HTTPRoute")
            .expect("route api")
            .0,
    );
    let route = routes.get("e2e-echo-web").await.expect("the route");
    let refs = route
        .data
        .pointer("/spec/rules/0/backendRefs")
        .cloned()
        .unwrap_or_default();
    assert!(refs.to_string().contains(SHARD), "{refs}");

    // Abort: the route is the app's again, the shard goes.
    api.patch(
        "e2e",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"decision": {"abort": true}}})),
    )
    .await
    .expect("abort");
    let e = api.get("e2e").await.expect("get");
    reconcile(Arc::new(e), ctx.clone()).await.expect("reconcile");
    let e = api.get("e2e").await.expect("get");
    assert_eq!(e.status.and_then(|s| s.phase), Some(Phase::Aborted));
    let route = routes.get("e2e-echo-web").await.expect("the route");
    assert!(
        !route.data.to_string().contains(SHARD),
        "the route still points at the shard"
    );
}

fn ojek_kubernetes_render(
    resolved: &ojek_spec::ResolvedApp,
    platform: &ojek_spec::LoadedPlatform,
) -> Vec<Value> {
    let src = ojek_output::Sources {
        app: resolved,
        platform,
    };
    ojek_kubernetes::render(&src, None)
        .unwrap_or_else(|d| panic!("{d}"))
        .objects
        .into_iter()
        .map(|d| d.value)
        .collect()
}

#[tokio::test]
#[ignore = "needs a disposable cluster with the Gateway API CRDs: OJEK_E2E_KUBECONFIG (docs/experiments.md)"]
async fn real_experiment_runs_and_aborts() {
    let client = client().await;
    let result = tokio::spawn({
        let client = client.clone();
        async move { scenario(&client).await }
    })
    .await;
    // Clean up whatever happened: the Experiment (its finalizer runs only with a controller,
    // so remove it), the shard and the app's namespace.
    let api: Api<Experiment> = Api::namespaced(client.clone(), NS);
    let _ = api
        .patch(
            "e2e",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await;
    let _ = api.delete("e2e", &DeleteParams::default()).await;
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    for ns in [SHARD, NS] {
        let _ = namespaces.delete(ns, &DeleteParams::background()).await;
    }
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}
