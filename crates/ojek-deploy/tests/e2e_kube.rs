//! The Kubernetes scenarios of `kube_deploy.rs` against a real cluster: first deploy, no-op
//! redeploy, image change, prune, field-manager conflict, unpullable image, timeout, rollback,
//! and the migration Job run before the workloads (and stopping them when it fails).
//!
//! Ignored: they need a disposable cluster (kind, k3d, minikube) and pull public images. Run
//! them as `docs/deploy-e2e.md` says:
//!
//! ```text
//! OJEK_E2E_KUBECONFIG=~/.kube/config cargo test -p ojek-deploy --test e2e_kube -- --ignored
//! ```
//!
//! Each test deploys into a namespace of its own, `<prefix>-<scenario>-<random>` (prefix
//! `OJEK_E2E_NAMESPACE`, default `ojek-e2e`), and deletes that namespace at the end, whether it
//! passed or failed. The example apps are rendered for staging, then made runnable anywhere:
//! public images, no probes, environment or pull secrets, an Ingress host of the test's own.

mod common;

use std::future::Future;
use std::time::Duration;

use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use ojek_core::Rendered;
use ojek_core::spec::platform::TargetKind;
use ojek_deploy::DeployError;
use ojek_deploy::kube::{
    Action, ApplyOptions, ApplyReport, ClusterConfig, ClusterSource, Deployment, KubeTarget, ObjectResult,
    RolloutStatus,
};
use serde_json::{Value, json};

const KUBECONFIG: &str = "OJEK_E2E_KUBECONFIG";
const CONTEXT: &str = "OJEK_E2E_KUBE_CONTEXT";
const NAMESPACE_PREFIX: &str = "OJEK_E2E_NAMESPACE";

const DRIVER: &str = "examples/driver-location.yaml";
const PAYMENTS: &str = "examples/payments-migrate.yaml";
const WEB: &str = "driver-location-web";
const API: &str = "payments-api";
const MIGRATION: &str = "payments-migrate";

/// Public images: two versions of a web server, a tag that does not exist, and a shell for
/// the migration Job.
const IMAGE: &str = "nginx:1.27-alpine";
const NEW_IMAGE: &str = "nginx:1.28-alpine";
const MISSING_IMAGE: &str = "nginx:ojek-e2e-no-such-tag";
const JOB_IMAGE: &str = "busybox:1.37";

/// Long enough for image pulls on a fresh cluster.
const WAIT: Duration = Duration::from_secs(240);

/// One scenario's cluster and namespace.
struct E2e {
    target: KubeTarget,
    namespace: String,
}

/// Connects to the cluster the variables name and runs `scenario` in a new namespace, which is
/// deleted afterwards whatever happened.
async fn e2e<F, Fut>(scenario: &str, body: F)
where
    F: FnOnce(E2e) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(kubeconfig) = common::var(KUBECONFIG) else {
        panic!(
            "set {KUBECONFIG} to the kubeconfig of a disposable cluster (optionally {CONTEXT} and \
             {NAMESPACE_PREFIX}); see docs/deploy-e2e.md"
        );
    };
    let cluster = ClusterConfig {
        name: "e2e".into(),
        source: ClusterSource::Kubeconfig {
            path: kubeconfig.into(),
            context: common::var(CONTEXT),
        },
    };
    let target = KubeTarget::connect(&cluster)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let prefix = common::var(NAMESPACE_PREFIX).unwrap_or_else(|| "ojek-e2e".into());
    let namespace = format!("{prefix}-{scenario}-{}", common::unique_suffix());
    assert!(
        namespace.len() <= 63,
        "{NAMESPACE_PREFIX} is too long for {namespace}"
    );
    let e2e = E2e {
        target: target.clone(),
        namespace: namespace.clone(),
    };
    common::run_then_clean_up(body(e2e), delete_namespace(target, namespace)).await;
}

async fn delete_namespace(target: KubeTarget, namespace: String) {
    let api: Api<DynamicObject> = Api::all_with(target.client().clone(), &resource("Namespace"));
    match api.delete(&namespace, &DeleteParams::background()).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 404 => {}
        Err(e) => eprintln!("could not delete namespace {namespace}: {e}; delete it by hand"),
    }
}

/// The API resource of the kinds the example apps render.
fn resource(kind: &str) -> ApiResource {
    let (group, version, plural) = match kind {
        "Namespace" => ("", "v1", "namespaces"),
        "ServiceAccount" => ("", "v1", "serviceaccounts"),
        "Service" => ("", "v1", "services"),
        "Deployment" => ("apps", "v1", "deployments"),
        "Job" => ("batch", "v1", "jobs"),
        "Ingress" => ("networking.k8s.io", "v1", "ingresses"),
        "HorizontalPodAutoscaler" => ("autoscaling", "v2", "horizontalpodautoscalers"),
        other => panic!("the tests do not read {other} objects"),
    };
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

fn deployment(app: &str, revision: u64) -> Deployment {
    Deployment {
        app: app.into(),
        env: "staging".into(),
        revision,
    }
}

fn waiting() -> ApplyOptions {
    ApplyOptions {
        wait: Some(WAIT),
        ..ApplyOptions::default()
    }
}

fn container(pod_spec: &mut Value) -> &mut serde_json::Map<String, Value> {
    pod_spec["containers"][0]
        .as_object_mut()
        .expect("a rendered container")
}

impl E2e {
    fn api(&self, kind: &str) -> Api<DynamicObject> {
        Api::namespaced_with(self.target.client().clone(), &self.namespace, &resource(kind))
    }

    async fn live(&self, kind: &str, name: &str) -> Option<Value> {
        let object = self
            .api(kind)
            .get_opt(name)
            .await
            .unwrap_or_else(|e| panic!("read {kind}/{name}: {e}"));
        object.map(|o| serde_json::to_value(o).expect("JSON"))
    }

    async fn image_of(&self, name: &str) -> String {
        let live = self.live("Deployment", name).await.expect("deployment");
        live["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .expect("image")
            .to_string()
    }

    /// `manifest` rendered for staging into this test's namespace, runnable on any cluster.
    fn render(&self, path: &str, manifest: &str) -> Rendered {
        let mut rendered = common::render(path, manifest, "staging", TargetKind::Kubernetes);
        for doc in &mut rendered.objects {
            let (kind, name) = (doc.kind().to_string(), doc.name().to_string());
            let v = &mut doc.value;
            v["metadata"]["namespace"] = json!(self.namespace);
            if let Some(pod) = v.pointer_mut("/spec/template/spec") {
                if let Some(spec) = pod.as_object_mut() {
                    spec.shift_remove("imagePullSecrets");
                }
                let c = container(pod);
                for key in [
                    "livenessProbe",
                    "readinessProbe",
                    "startupProbe",
                    "env",
                    "args",
                    "command",
                ] {
                    c.shift_remove(key);
                }
            }
            if kind == "Ingress" {
                if let Some(annotations) = v["metadata"]["annotations"].as_object_mut() {
                    annotations.shift_remove("cert-manager.io/cluster-issuer");
                }
                if let Some(spec) = v["spec"].as_object_mut() {
                    spec.shift_remove("tls");
                }
                let host = format!("{name}.{}.ojek-e2e.test", self.namespace);
                for rule in v["spec"]["rules"].as_array_mut().into_iter().flatten() {
                    rule["host"] = json!(host);
                }
            }
        }
        rendered
    }

    /// driver-location (Deployment, Service, Ingress, HPA) serving `image`, autoscaled from one
    /// replica so that nothing scales it while a test looks.
    fn driver(&self, image: &str) -> Rendered {
        let manifest =
            common::example(DRIVER).replace("autoscale: {min: 2, max: 6}", "autoscale: {min: 1, max: 6}");
        let mut rendered = self.render(DRIVER, &manifest);
        for doc in &mut rendered.objects {
            if doc.kind() == "Deployment" {
                container(&mut doc.value["spec"]["template"]["spec"]).insert("image".into(), json!(image));
            }
        }
        rendered
    }

    /// payments: the migration Job running `script` in a shell (no retries), then the API.
    fn payments(&self, script: &str) -> Rendered {
        let mut rendered = self.render(PAYMENTS, &common::example(PAYMENTS));
        for doc in &mut rendered.objects {
            match doc.kind() {
                "Job" => {
                    doc.value["spec"]["backoffLimit"] = json!(0);
                    let c = container(&mut doc.value["spec"]["template"]["spec"]);
                    c.insert("image".into(), json!(JOB_IMAGE));
                    c.insert("command".into(), json!(["sh", "-c", script]));
                }
                "Deployment" => {
                    container(&mut doc.value["spec"]["template"]["spec"])
                        .insert("image".into(), json!(IMAGE));
                }
                _ => {}
            }
        }
        rendered
    }
}

fn rollout_of<'a>(report: &'a ApplyReport, kind: &str) -> &'a ojek_deploy::kube::Rollout {
    report
        .rollouts
        .iter()
        .find(|r| r.object.kind == kind)
        .unwrap_or_else(|| panic!("no {kind} rollout in {}", report.to_text()))
}

#[tokio::test]
#[ignore = "needs a real cluster: set OJEK_E2E_KUBECONFIG (docs/deploy-e2e.md)"]
async fn real_first_deploy_creates_every_object_and_rolls_out() {
    e2e("first", first_deploy).await;
}

async fn first_deploy(e2e: E2e) {
    let rendered = e2e.driver(IMAGE);
    let d = deployment("driver-location", 1);
    let plan = e2e.target.plan(&rendered, &d).await.expect("plan");
    assert!(
        plan.objects.iter().all(|o| o.action == Action::Create),
        "{}",
        plan.to_text()
    );
    assert_eq!(plan.objects[0].object.kind, "Namespace");
    assert_eq!(plan.objects.len(), rendered.objects.len() + 1);

    let report = e2e.target.apply(&rendered, &d, &waiting()).await.expect("apply");
    assert!(report.succeeded(), "{}", report.to_text());
    assert!(report.objects.iter().all(|o| o.result == ObjectResult::Created));
    assert_eq!(rollout_of(&report, "Deployment").status, RolloutStatus::Ok);
    for doc in &rendered.objects {
        let live = e2e.live(doc.kind(), doc.name()).await.expect("created");
        assert_eq!(live["metadata"]["labels"]["app.kubernetes.io/managed-by"], "ojek");
        assert_eq!(live["metadata"]["labels"]["ojek.dev/app"], "driver-location");
        assert_eq!(live["metadata"]["annotations"]["ojek.dev/revision"], "1");
        let managers: Vec<&str> = live["metadata"]["managedFields"]
            .as_array()
            .expect("managedFields")
            .iter()
            .filter(|m| m["operation"] == "Apply")
            .filter_map(|m| m["manager"].as_str())
            .collect();
        assert!(managers.contains(&"ojek"), "{}: {managers:?}", doc.id());
    }
    let live = e2e.live("Deployment", WEB).await.expect("deployment");
    assert!(
        live["status"]["availableReplicas"].as_i64() >= Some(1),
        "{:#}",
        live["status"]
    );
}

#[tokio::test]
#[ignore = "needs a real cluster: set OJEK_E2E_KUBECONFIG (docs/deploy-e2e.md)"]
async fn real_redeploying_the_same_revision_reports_no_changes() {
    e2e("noop", redeploy_without_changes).await;
}

async fn redeploy_without_changes(e2e: E2e) {
    let rendered = e2e.driver(IMAGE);
    let d = deployment("driver-location", 1);
    let first = e2e.target.apply(&rendered, &d, &waiting()).await.expect("first");
    assert!(first.succeeded(), "{}", first.to_text());

    let plan = e2e.target.plan(&rendered, &d).await.expect("plan");
    assert!(!plan.has_changes(), "{}", plan.to_text());
    assert!(
        plan.objects.iter().all(|o| o.action == Action::Unchanged),
        "{}",
        plan.to_text()
    );
    let again = e2e.target.apply(&rendered, &d, &waiting()).await.expect("again");
    assert!(again.succeeded(), "{}", again.to_text());
    assert!(
        again.objects.iter().all(|o| o.result == ObjectResult::Unchanged),
        "{}",
        again.to_text()
    );
    assert_eq!(again.hash, first.hash);
}

#[tokio::test]
#[ignore = "needs a real cluster: set OJEK_E2E_KUBECONFIG (docs/deploy-e2e.md)"]
async fn real_an_image_change_plans_the_image_and_rolls_out() {
    e2e("image", image_change).await;
}

async fn image_change(e2e: E2e) {
    let first = e2e
        .target
        .apply(&e2e.driver(IMAGE), &deployment("driver-location", 1), &waiting())
        .await
        .expect("first");
    assert!(first.succeeded(), "{}", first.to_text());

    let v2 = e2e.driver(NEW_IMAGE);
    let d2 = deployment("driver-location", 2);
    let plan = e2e.target.plan(&v2, &d2).await.expect("plan");
    let planned = plan
        .objects
        .iter()
        .find(|o| o.object.kind == "Deployment")
        .expect("deployment");
    assert_eq!(planned.action, Action::Update);
    let image = planned
        .changes
        .iter()
        .find(|c| c.path == "spec.template.spec.containers[name=web].image")
        .unwrap_or_else(|| panic!("no image change in {}", plan.to_text()));
    assert_eq!(
        (image.old.clone(), image.new.clone()),
        (Some(json!(IMAGE)), Some(json!(NEW_IMAGE)))
    );
    for o in plan.objects.iter().filter(|o| o.object.kind != "Deployment") {
        assert_eq!(o.action, Action::RevisionOnly, "{}", o.object);
    }

    let report = e2e.target.apply(&v2, &d2, &waiting()).await.expect("apply");
    assert!(report.succeeded(), "{}", report.to_text());
    assert_ne!(report.hash, first.hash);
    assert_eq!(e2e.image_of(WEB).await, NEW_IMAGE);
}

#[tokio::test]
#[ignore = "needs a real cluster: set OJEK_E2E_KUBECONFIG (docs/deploy-e2e.md)"]
async fn real_prune_deletes_only_what_ojek_applied_for_this_app() {
    e2e("prune", prune).await;
}

async fn prune(e2e: E2e) {
    let first = e2e
        .target
        .apply(
            &e2e.driver(IMAGE),
            &deployment("driver-location", 1),
            &ApplyOptions::default(),
        )
        .await
        .expect("first");
    assert!(first.succeeded(), "{}", first.to_text());
    // An HPA somebody made by hand in the same namespace: never pruned.
    let hand_made: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "hand-made", "labels": {"team": "fulfilment"}},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "someone-elses"},
            "minReplicas": 1, "maxReplicas": 2}}))
    .expect("object");
    e2e.api("HorizontalPodAutoscaler")
        .patch(
            "hand-made",
            &PatchParams::apply("kubectl"),
            &Patch::Apply(&hand_made),
        )
        .await
        .expect("kubectl apply");

    // Fixed replicas instead of autoscaling: no HPA any more.
    let manifest = common::example(DRIVER).replace(
        "autoscale: {min: 2, max: 6}    # cpu: 65 is kept: maps merge key by key",
        "autoscale: null\n          replicas: 1",
    );
    let mut v2 = e2e.render(DRIVER, &manifest);
    for doc in &mut v2.objects {
        if doc.kind() == "Deployment" {
            container(&mut doc.value["spec"]["template"]["spec"]).insert("image".into(), json!(IMAGE));
        }
    }
    assert!(v2.objects.iter().all(|d| d.kind() != "HorizontalPodAutoscaler"));
    let d2 = deployment("driver-location", 2);
    let plan = e2e.target.plan(&v2, &d2).await.expect("plan");
    let prune: Vec<(&str, &str)> = plan
        .prune
        .iter()
        .map(|p| (p.kind.as_str(), p.name.as_str()))
        .collect();
    assert_eq!(prune, [("HorizontalPodAutoscaler", WEB)]);

    let options = ApplyOptions {
        prune: true,
        ..ApplyOptions::default()
    };
    let report = e2e.target.apply(&v2, &d2, &options).await.expect("apply");
    let pruned: Vec<&str> = report.pruned.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(pruned, [WEB]);
    assert!(e2e.live("HorizontalPodAutoscaler", WEB).await.is_none());
    assert!(e2e.live("HorizontalPodAutoscaler", "hand-made").await.is_some());
    assert!(e2e.target.plan(&v2, &d2).await.expect("plan").prune.is_empty());
}

#[tokio::test]
#[ignore = "needs a real cluster: set OJEK_E2E_KUBECONFIG (docs/deploy-e2e.md)"]
async fn real_a_field_owned_by_another_manager_is_a_conflict_until_forced() {
    e2e("conflict", conflict).await;
}

async fn conflict(e2e: E2e) {
    let rendered = e2e.driver(IMAGE);
    let d = deployment("driver-location", 1);
    e2e.target
        .apply(&rendered, &d, &ApplyOptions::default())
        .await
        .expect("first");
    // Someone runs `kubectl apply --server-side --force-conflicts` with a hotfix image.
    let hotfix: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": WEB},
        "spec": {"template": {"spec": {"containers": [{"name": "web", "image": NEW_IMAGE}]}}}}))
    .expect("object");
    e2e.api("Deployment")
        .patch(
            WEB,
            &PatchParams::apply("kubectl").force(),
            &Patch::Apply(&hotfix),
        )
        .await
        .expect("kubectl apply");

    let field = ".spec.template.spec.containers[name=\"web\"].image";
    let plan = e2e.target.plan(&rendered, &d).await.expect("plan");
    let planned = plan
        .objects
        .iter()
        .find(|o| o.object.kind == "Deployment")
        .expect("deployment");
    let conflicts: Vec<(&str, &str)> = planned
        .conflicts
        .iter()
        .map(|c| (c.field.as_str(), c.manager.as_str()))
        .collect();
    assert_eq!(conflicts, [(field, "kubectl")]);

    let err = e2e
        .target
        .apply(&rendered, &d, &ApplyOptions::default())
        .await
        .expect_err("conflict");
    let DeployError::Conflict {
        object, conflicts, ..
    } = err.root()
    else {
        panic!("expected a conflict, got {err}");
    };
    assert_eq!(object, &format!("Deployment/{WEB}"));
    assert_eq!(
        (conflicts[0].field.as_str(), conflicts[0].manager.as_str()),
        (field, "kubectl")
    );
    assert!(err.to_string().contains("--force"), "{err}");
    assert_eq!(e2e.image_of(WEB).await, NEW_IMAGE, "not overwritten");

    let forced = ApplyOptions {
        force: true,
        ..waiting()
    };
    let report = e2e.target.apply(&rendered, &d, &forced).await.expect("forced");
    assert!(report.succeeded(), "{}", report.to_text());
    assert_eq!(e2e.image_of(WEB).await, IMAGE);
}

#[tokio::test]
#[ignore = "needs a real cluster: set OJEK_E2E_KUBECONFIG (docs/deploy-e2e.md)"]
async fn real_an_unpullable_image_fails_the_rollout_with_image_pull_back_off() {
    e2e("pull", unpullable_image).await;
}

async fn unpullable_image(e2e: E2e) {
    let first = e2e
        .target
        .apply(&e2e.driver(IMAGE), &deployment("driver-location", 1), &waiting())
        .await
        .expect("first");
    assert!(first.succeeded(), "{}", first.to_text());

    let report = e2e
        .target
        .apply(
            &e2e.driver(MISSING_IMAGE),
            &deployment("driver-location", 2),
            &waiting(),
        )
        .await
        .expect("applied");
    assert!(!report.succeeded());
    let rollout = rollout_of(&report, "Deployment");
    assert_eq!(rollout.status, RolloutStatus::Failed, "{}", report.to_text());
    assert!(
        rollout
            .message
            .contains("container web is waiting: ImagePullBackOff"),
        "{}",
        report.to_text()
    );
    assert!(
        rollout.reasons.iter().any(|r| r.contains(MISSING_IMAGE)),
        "{:#?}",
        rollout.reasons
    );
    let live = e2e.live("Deployment", WEB).await.expect("deployment");
    assert!(
        live["status"]["availableReplicas"].as_i64() >= Some(1),
        "the old pod keeps serving: {:#}",
        live["status"]
    );
}

#[tokio::test]
#[ignore = "needs a real cluster: set OJEK_E2E_KUBECONFIG (docs/deploy-e2e.md)"]
async fn real_a_rollout_that_cannot_finish_times_out_with_its_reason() {
    e2e("timeout", timeout).await;
}

async fn timeout(e2e: E2e) {
    // A CPU request no node has: the pod stays Pending, Unschedulable, which is not a failure
    // (a node could be added), so the wait runs out.
    let mut rendered = e2e.driver(IMAGE);
    for doc in &mut rendered.objects {
        if doc.kind() == "Deployment" {
            doc.value["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] =
                json!("1000");
        }
    }
    let options = ApplyOptions {
        wait: Some(Duration::from_secs(20)),
        ..ApplyOptions::default()
    };
    let report = e2e
        .target
        .apply(&rendered, &deployment("driver-location", 1), &options)
        .await
        .expect("applied");
    assert!(!report.succeeded());
    let rollout = rollout_of(&report, "Deployment");
    assert_eq!(rollout.status, RolloutStatus::Timeout, "{}", report.to_text());
    assert!(
        rollout
            .message
            .starts_with(&format!("timed out after 20s waiting for Deployment/{WEB}: ")),
        "{}",
        rollout.message
    );
    assert!(
        rollout
            .reasons
            .iter()
            .any(|r| r.contains("Unschedulable") || r.contains("FailedScheduling")),
        "{:#?}",
        rollout.reasons
    );
}

#[tokio::test]
#[ignore = "needs a real cluster: set OJEK_E2E_KUBECONFIG (docs/deploy-e2e.md)"]
async fn real_rollback_applies_the_older_revision_again() {
    e2e("rollback", rollback).await;
}

async fn rollback(e2e: E2e) {
    let v1 = e2e.driver(IMAGE);
    let first = e2e
        .target
        .apply(&v1, &deployment("driver-location", 1), &waiting())
        .await
        .expect("first");
    assert!(first.succeeded(), "{}", first.to_text());
    let second = e2e
        .target
        .apply(
            &e2e.driver(NEW_IMAGE),
            &deployment("driver-location", 2),
            &waiting(),
        )
        .await
        .expect("second");
    assert!(second.succeeded(), "{}", second.to_text());
    assert_eq!(e2e.image_of(WEB).await, NEW_IMAGE);

    // A Kubernetes rollback renders the old revision again and applies it.
    let back = e2e
        .target
        .apply(&v1, &deployment("driver-location", 3), &waiting())
        .await
        .expect("rollback");
    assert!(back.succeeded(), "{}", back.to_text());
    assert_eq!(back.hash, first.hash, "the same objects as revision 1");
    assert_eq!(e2e.image_of(WEB).await, IMAGE);
    let live = e2e.live("Deployment", WEB).await.expect("deployment");
    assert_eq!(live["metadata"]["annotations"]["ojek.dev/revision"], "3");
}

#[tokio::test]
#[ignore = "needs a real cluster: set OJEK_E2E_KUBECONFIG (docs/deploy-e2e.md)"]
async fn real_a_migration_job_completes_before_the_deployment_is_created() {
    e2e("jobs", migration_first).await;
}

async fn migration_first(e2e: E2e) {
    let rendered = e2e.payments("sleep 5");
    let report = e2e
        .target
        .apply(&rendered, &deployment("payments", 1), &waiting())
        .await
        .expect("apply");
    assert!(report.succeeded(), "{}", report.to_text());
    let kinds: Vec<&str> = report.objects.iter().map(|o| o.object.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "Namespace",
            "ServiceAccount",
            "Job",
            "Service",
            "Deployment",
            "Ingress"
        ]
    );
    let rollouts: Vec<(&str, RolloutStatus)> = report
        .rollouts
        .iter()
        .map(|r| (r.object.kind.as_str(), r.status))
        .collect();
    assert_eq!(
        rollouts,
        [("Job", RolloutStatus::Ok), ("Deployment", RolloutStatus::Ok)]
    );

    let job = e2e.live("Job", MIGRATION).await.expect("job");
    let completed = job["status"]["completionTime"]
        .as_str()
        .expect("completed")
        .to_string();
    let api = e2e.live("Deployment", API).await.expect("deployment");
    let created = api["metadata"]["creationTimestamp"].as_str().expect("created");
    // RFC 3339 in UTC with whole seconds: ordered as strings.
    assert!(
        created >= completed.as_str(),
        "Deployment created at {created}, the Job completed at {completed}"
    );
}

#[tokio::test]
#[ignore = "needs a real cluster: set OJEK_E2E_KUBECONFIG (docs/deploy-e2e.md)"]
async fn real_a_failing_migration_leaves_the_deployment_unapplied() {
    e2e("jobfail", failing_migration).await;
}

async fn failing_migration(e2e: E2e) {
    let report = e2e
        .target
        .apply(&e2e.payments("exit 3"), &deployment("payments", 1), &waiting())
        .await
        .expect("applied");
    assert!(!report.succeeded());
    let job = rollout_of(&report, "Job");
    assert_eq!(job.status, RolloutStatus::Failed, "{}", report.to_text());
    assert!(
        job.message.starts_with("job failed: BackoffLimitExceeded"),
        "{}",
        job.message
    );
    assert_eq!(report.rollouts.len(), 1);
    for o in &report.objects {
        let expected_skipped = matches!(o.object.kind.as_str(), "Service" | "Deployment" | "Ingress");
        assert_eq!(
            matches!(&o.result, ObjectResult::Skipped { reason } if reason.starts_with(&format!("Job/{MIGRATION} did not complete: job failed"))),
            expected_skipped,
            "{}: {:?}",
            o.object,
            o.result
        );
    }
    assert!(e2e.live("Deployment", API).await.is_none(), "never created");
}
