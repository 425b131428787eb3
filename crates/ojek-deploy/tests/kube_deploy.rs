//! Plan, apply, prune and rollout against the fake Kubernetes API server, with the example
//! apps rendered for `staging`. Expectations are computed from the rendered objects. The same
//! scenarios against a real cluster are in `e2e_kube.rs` (see `docs/deploy-e2e.md`).

mod common;

use std::sync::Arc;
use std::time::Duration;

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use ojek_core::Rendered;
use ojek_core::spec::platform::TargetKind;
use ojek_deploy::kube::{
    Action, ApplyOptions, ApplyReport, ClusterConfig, ClusterSource, Deployment, KubeTarget, ObjectResult,
    RolloutStatus,
};
use ojek_deploy::{ConnectCause, DeployError};
use ojek_fake_cluster::kube::FakeKube;
use serde_json::{Value, json};

use common::example;

const DRIVER: &str = "examples/driver-location.yaml";
const PAYMENTS: &str = "examples/payments-migrate.yaml";
const DRIVER_NS: &str = "fulfilment-staging";
const DRIVER_IMAGE: &str = "registry.gojek.io/fulfilment/driver-location:2.15.0-rc.1";

/// Renders manifest `text` (named `path`) for staging on Kubernetes.
fn render_text(path: &str, text: &str) -> Rendered {
    common::render(path, text, "staging", TargetKind::Kubernetes)
}

fn render(path: &str) -> Rendered {
    render_text(path, &example(path))
}

/// The driver-location manifest with the staging image replaced.
fn driver_with_image(image: &str) -> Rendered {
    let text = example(DRIVER);
    assert!(text.contains(DRIVER_IMAGE));
    render_text(
        DRIVER,
        &text.replace(&format!("image: {DRIVER_IMAGE}"), &format!("image: {image}")),
    )
}

fn deployment(app: &str, revision: u64) -> Deployment {
    Deployment {
        app: app.into(),
        env: "staging".into(),
        revision,
    }
}

async fn target(fake: &FakeKube) -> KubeTarget {
    let mut config = fake.config();
    config.default_retry = false;
    KubeTarget::connect_with("fake", config)
        .await
        .expect("connect to the fake")
}

fn fast(wait: Option<Duration>) -> ApplyOptions {
    ApplyOptions {
        wait,
        poll_interval: Duration::from_millis(50),
        ..ApplyOptions::default()
    }
}

/// (kind, name) of each rendered object, in the order ojek applies them.
fn rendered_ids(rendered: &Rendered) -> Vec<(String, String)> {
    let mut ids: Vec<(String, String)> = rendered
        .objects
        .iter()
        .map(|d| (d.kind().to_string(), d.name().to_string()))
        .collect();
    ids.sort_by_key(|(k, _)| ojek_deploy::kube::order::rank(k));
    ids
}

fn report_ids(report: &ApplyReport) -> Vec<(String, String)> {
    report
        .objects
        .iter()
        .map(|o| (o.object.kind.clone(), o.object.name.clone()))
        .collect()
}

fn rendered_of<'a>(rendered: &'a Rendered, kind: &str) -> &'a Value {
    &rendered
        .objects
        .iter()
        .find(|d| d.kind() == kind)
        .unwrap_or_else(|| panic!("a rendered {kind}"))
        .value
}

fn name_of(v: &Value) -> &str {
    v["metadata"]["name"].as_str().expect("named")
}

fn resource_version(fake: &FakeKube, kind: &str, ns: &str, name: &str) -> String {
    fake.object(kind, ns, name).expect("stored")["metadata"]["resourceVersion"]
        .as_str()
        .expect("resourceVersion")
        .to_string()
}

fn deployments_api(fake: &FakeKube, ns: &str) -> Api<DynamicObject> {
    let ar =
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("apps", "v1", "Deployment"), "deployments");
    Api::namespaced_with(fake.client(), ns, &ar)
}

fn hpa_api(fake: &FakeKube, ns: &str) -> Api<DynamicObject> {
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("autoscaling", "v2", "HorizontalPodAutoscaler"),
        "horizontalpodautoscalers",
    );
    Api::namespaced_with(fake.client(), ns, &ar)
}

fn results(report: &ApplyReport) -> Vec<ObjectResult> {
    report.objects.iter().map(|o| o.result.clone()).collect()
}

#[tokio::test]
async fn first_deploy_creates_the_namespace_and_every_object_and_waits_for_the_rollout() {
    let fake = FakeKube::start().await;
    let target = target(&fake).await;
    let rendered = render(DRIVER);
    let d = deployment("driver-location", 1);

    let plan = target.plan(&rendered, &d).await.expect("plan");
    let mut expected = vec![("Namespace".to_string(), DRIVER_NS.to_string())];
    expected.extend(rendered_ids(&rendered));
    let planned: Vec<(String, String)> = plan
        .objects
        .iter()
        .map(|o| (o.object.kind.clone(), o.object.name.clone()))
        .collect();
    assert_eq!(planned, expected);
    assert!(plan.objects.iter().all(|o| o.action == Action::Create));
    assert!(plan.prune.is_empty());
    assert!(plan.has_changes());
    let text = plan.to_text();
    assert!(text.contains(&format!("+ Namespace/{DRIVER_NS}\n")), "{text}");
    assert!(text.contains("+ Deployment/driver-location-web\n"), "{text}");
    assert!(
        fake.object("Namespace", "", DRIVER_NS).is_none(),
        "plan writes nothing"
    );

    let report = target
        .apply(&rendered, &d, &fast(Some(Duration::from_secs(10))))
        .await
        .expect("apply");
    assert_eq!(report_ids(&report), expected);
    assert!(results(&report).iter().all(|r| *r == ObjectResult::Created));
    assert!(report.succeeded(), "{}", report.to_text());
    assert_eq!(report.hash.len(), 64);
    for doc in &rendered.objects {
        let live = fake.object(doc.kind(), DRIVER_NS, doc.name()).expect("created");
        let labels = &live["metadata"]["labels"];
        assert_eq!(labels["app.kubernetes.io/managed-by"], "ojek");
        assert_eq!(labels["ojek.dev/app"], "driver-location");
        assert_eq!(labels["ojek.dev/env"], "staging");
        assert_eq!(live["metadata"]["annotations"]["ojek.dev/revision"], "1");
        assert_eq!(live["metadata"]["managedFields"][0]["manager"], "ojek");
    }
    let workload = rendered_of(&rendered, "Deployment");
    assert_eq!(report.rollouts.len(), 1);
    assert_eq!(report.rollouts[0].object.name, name_of(workload));
    assert_eq!(report.rollouts[0].status, RolloutStatus::Ok);
    let live = fake
        .object("Deployment", DRIVER_NS, name_of(workload))
        .expect("deployment");
    assert_eq!(
        live["status"]["availableReplicas"], 1,
        "waited for the controller"
    );
    let json = serde_json::to_value(&report).expect("serialisable");
    assert_eq!(json["objects"][0]["result"], "created");
    assert_eq!(json["rollouts"][0]["status"], "ok");
}

#[tokio::test]
async fn redeploying_the_same_revision_changes_nothing() {
    let fake = FakeKube::start().await;
    fake.set_controller(false);
    let target = target(&fake).await;
    let rendered = render(DRIVER);
    let d = deployment("driver-location", 1);
    let first = target.apply(&rendered, &d, &fast(None)).await.expect("apply");

    let plan = target.plan(&rendered, &d).await.expect("plan");
    assert_eq!(
        plan.objects.len(),
        rendered.objects.len(),
        "the namespace exists now"
    );
    for o in &plan.objects {
        assert_eq!(o.action, Action::Unchanged, "{}: {:?}", o.object, o.changes);
    }
    assert!(plan.prune.is_empty());
    assert!(!plan.has_changes());

    let versions: Vec<String> = rendered
        .objects
        .iter()
        .map(|d| resource_version(&fake, d.kind(), DRIVER_NS, d.name()))
        .collect();
    let again = target.apply(&rendered, &d, &fast(None)).await.expect("re-apply");
    assert!(results(&again).iter().all(|r| *r == ObjectResult::Unchanged));
    let after: Vec<String> = rendered
        .objects
        .iter()
        .map(|d| resource_version(&fake, d.kind(), DRIVER_NS, d.name()))
        .collect();
    assert_eq!(versions, after);
    assert_eq!(first.hash, again.hash);

    // A new revision of the same objects only moves the annotation.
    let next = target
        .plan(&rendered, &deployment("driver-location", 2))
        .await
        .expect("plan");
    assert!(next.objects.iter().all(|o| o.action == Action::RevisionOnly));
    assert!(!next.has_changes());
    assert!(next.to_text().contains("(unchanged except revision)"));
}

#[tokio::test]
async fn an_image_change_plans_exactly_that_field_and_rolls_out() {
    let fake = FakeKube::start().await;
    let target = target(&fake).await;
    let wait = fast(Some(Duration::from_secs(10)));
    let v1 = render(DRIVER);
    let first = target
        .apply(&v1, &deployment("driver-location", 1), &wait)
        .await
        .expect("first");
    assert!(first.succeeded());

    let new_image = "registry.gojek.io/fulfilment/driver-location:2.15.0";
    let v2 = driver_with_image(new_image);
    let d2 = deployment("driver-location", 2);
    let plan = target.plan(&v2, &d2).await.expect("plan");
    let workload = name_of(rendered_of(&v2, "Deployment"));
    for o in &plan.objects {
        if o.object.kind == "Deployment" {
            assert_eq!(o.action, Action::Update);
            let changes: Vec<(String, Option<Value>, Option<Value>)> = o
                .changes
                .iter()
                .map(|c| (c.path.clone(), c.old.clone(), c.new.clone()))
                .collect();
            assert_eq!(
                changes,
                vec![
                    (
                        "metadata.annotations[\"ojek.dev/revision\"]".to_string(),
                        Some(json!("1")),
                        Some(json!("2"))
                    ),
                    (
                        "spec.template.spec.containers[name=web].image".to_string(),
                        Some(json!(DRIVER_IMAGE)),
                        Some(json!(new_image))
                    ),
                ]
            );
        } else {
            assert_eq!(o.action, Action::RevisionOnly, "{}", o.object);
        }
    }
    let text = plan.to_text();
    assert!(
        text.contains(&format!(
            "~ Deployment/{workload} (2 fields)\n    - metadata.annotations[\"ojek.dev/revision\"]: 1\n    + \
             metadata.annotations[\"ojek.dev/revision\"]: 2\n    - spec.template.spec.containers[name=web].image: \
             {DRIVER_IMAGE}\n    + spec.template.spec.containers[name=web].image: {new_image}\n"
        )),
        "{text}"
    );

    let report = target.apply(&v2, &d2, &wait).await.expect("apply");
    assert!(report.succeeded(), "{}", report.to_text());
    assert_ne!(report.hash, first.hash);
    for o in &report.objects {
        assert_eq!(
            o.result,
            ObjectResult::Updated,
            "{}: the revision annotation moved",
            o.object
        );
    }
    let live = fake
        .object("Deployment", DRIVER_NS, workload)
        .expect("deployment");
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"],
        new_image
    );
    assert_eq!(live["metadata"]["generation"], 2);
    assert!(
        fake.objects("Pod")
            .iter()
            .filter(|p| p["metadata"]["labels"]["ojek.dev/app"] == "driver-location")
            .all(|p| p["spec"]["containers"][0]["image"] == new_image),
        "old pods replaced before the wait ended"
    );
}

#[tokio::test]
async fn prune_deletes_only_what_ojek_applied_for_this_app_and_env() {
    let fake = FakeKube::start().await;
    fake.set_controller(false);
    let target = target(&fake).await;
    let v1 = render(DRIVER);
    target
        .apply(&v1, &deployment("driver-location", 1), &fast(None))
        .await
        .expect("first");
    let hpa = name_of(rendered_of(&v1, "HorizontalPodAutoscaler")).to_string();

    // Two HPAs ojek must never prune: one without ojek's labels, one of another app.
    let other = |name: &str, labels: Value| {
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "labels": labels},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "x"},
                "minReplicas": 1, "maxReplicas": 2}})
    };
    for (name, labels) in [
        ("hand-made", json!({"team": "fulfilment"})),
        (
            "other-app",
            json!({"app.kubernetes.io/managed-by": "ojek", "ojek.dev/app": "other", "ojek.dev/env": "staging"}),
        ),
    ] {
        let obj: DynamicObject = serde_json::from_value(other(name, labels)).expect("object");
        hpa_api(&fake, DRIVER_NS)
            .patch(name, &PatchParams::apply("kubectl"), &Patch::Apply(&obj))
            .await
            .expect("kubectl apply");
    }

    // Fixed replicas instead of autoscaling in staging: no HPA any more.
    let text = example(DRIVER).replace(
        "autoscale: {min: 2, max: 6}    # cpu: 65 is kept: maps merge key by key",
        "autoscale: null\n          replicas: 2",
    );
    let v2 = render_text(DRIVER, &text);
    assert!(v2.objects.iter().all(|d| d.kind() != "HorizontalPodAutoscaler"));
    let d2 = deployment("driver-location", 2);

    let plan = target.plan(&v2, &d2).await.expect("plan");
    let prune: Vec<(String, String)> = plan
        .prune
        .iter()
        .map(|p| (p.kind.clone(), p.name.clone()))
        .collect();
    assert_eq!(prune, [("HorizontalPodAutoscaler".to_string(), hpa.clone())]);
    assert!(
        plan.to_text()
            .contains(&format!("- HorizontalPodAutoscaler/{hpa} (prune)\n"))
    );

    let without = target
        .apply(&v2, &d2, &fast(None))
        .await
        .expect("apply without prune");
    assert!(without.pruned.is_empty());
    assert!(fake.object("HorizontalPodAutoscaler", DRIVER_NS, &hpa).is_some());

    let report = target
        .apply(
            &v2,
            &d2,
            &ApplyOptions {
                prune: true,
                ..fast(None)
            },
        )
        .await
        .expect("apply with prune");
    let pruned: Vec<&str> = report.pruned.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(pruned, [hpa.as_str()]);
    assert!(fake.object("HorizontalPodAutoscaler", DRIVER_NS, &hpa).is_none());
    assert!(
        fake.object("HorizontalPodAutoscaler", DRIVER_NS, "hand-made")
            .is_some()
    );
    assert!(
        fake.object("HorizontalPodAutoscaler", DRIVER_NS, "other-app")
            .is_some()
    );
    let live = fake
        .object("Deployment", DRIVER_NS, name_of(rendered_of(&v2, "Deployment")))
        .expect("deployment");
    assert_eq!(live["spec"]["replicas"], 2);
    assert!(target.plan(&v2, &d2).await.expect("plan").prune.is_empty());
}

#[tokio::test]
async fn a_field_owned_by_another_manager_is_a_conflict_until_forced() {
    let fake = FakeKube::start().await;
    fake.set_controller(false);
    let target = target(&fake).await;
    let rendered = render(DRIVER);
    let d = deployment("driver-location", 1);
    target.apply(&rendered, &d, &fast(None)).await.expect("first");
    let workload = name_of(rendered_of(&rendered, "Deployment")).to_string();

    // Someone runs `kubectl apply --server-side --force-conflicts` with a hotfix image.
    let hotfix: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": workload},
        "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "hotfix:1"}]}}}}))
    .expect("object");
    deployments_api(&fake, DRIVER_NS)
        .patch(
            &workload,
            &PatchParams::apply("kubectl").force(),
            &Patch::Apply(&hotfix),
        )
        .await
        .expect("kubectl apply");

    let field = ".spec.template.spec.containers[name=\"web\"].image";
    let plan = target.plan(&rendered, &d).await.expect("plan");
    let planned = plan
        .objects
        .iter()
        .find(|o| o.object.kind == "Deployment")
        .expect("deployment planned");
    assert_eq!(planned.action, Action::Update);
    assert_eq!(planned.conflicts.len(), 1);
    assert_eq!(
        (
            planned.conflicts[0].field.as_str(),
            planned.conflicts[0].manager.as_str()
        ),
        (field, "kubectl")
    );
    assert!(plan.to_text().contains(&format!("! {field} is owned by kubectl")));

    let err = target
        .apply(&rendered, &d, &fast(None))
        .await
        .expect_err("conflict");
    let DeployError::Conflict {
        cluster,
        object,
        conflicts,
    } = err.root()
    else {
        panic!("expected a conflict, got {err}");
    };
    assert_eq!(
        (cluster.as_str(), object.as_str()),
        ("fake", format!("Deployment/{workload}").as_str())
    );
    assert_eq!(conflicts.len(), 1);
    assert_eq!(
        (conflicts[0].field.as_str(), conflicts[0].manager.as_str()),
        (field, "kubectl")
    );
    let message = err.to_string();
    assert!(
        message.contains("kubectl") && message.contains("--force"),
        "{message}"
    );
    let report = err.report().expect("partial report");
    let ids = rendered_ids(&rendered);
    let at = ids
        .iter()
        .position(|(k, _)| k == "Deployment")
        .expect("deployment");
    for (i, o) in report.objects.iter().enumerate() {
        match i.cmp(&at) {
            std::cmp::Ordering::Less => assert_eq!(o.result, ObjectResult::Unchanged, "{}", o.object),
            std::cmp::Ordering::Equal => assert!(matches!(o.result, ObjectResult::Failed { .. })),
            std::cmp::Ordering::Greater => assert_eq!(o.result, ObjectResult::NotApplied, "{}", o.object),
        }
    }
    let live = fake
        .object("Deployment", DRIVER_NS, &workload)
        .expect("deployment");
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"],
        "hotfix:1"
    );

    let forced = target
        .apply(
            &rendered,
            &d,
            &ApplyOptions {
                force: true,
                ..fast(None)
            },
        )
        .await
        .expect("forced");
    assert!(forced.succeeded());
    let live = fake
        .object("Deployment", DRIVER_NS, &workload)
        .expect("deployment");
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"],
        DRIVER_IMAGE
    );
    let owners: Vec<(String, bool)> = live["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .map(|m| {
            let image =
                m["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"web\"}"]
                    .get("f:image")
                    .is_some();
            (m["manager"].as_str().unwrap_or_default().to_string(), image)
        })
        .collect();
    assert!(owners.contains(&("ojek".to_string(), true)), "{owners:?}");
    assert!(
        !owners.iter().any(|(m, image)| m == "kubectl" && *image),
        "{owners:?}"
    );
}

async fn failed_rollout_reason(image: &str) -> (RolloutStatus, String, Vec<String>) {
    let fake = FakeKube::start().await;
    let target = target(&fake).await;
    let report = target
        .apply(
            &driver_with_image(image),
            &deployment("driver-location", 1),
            &fast(Some(Duration::from_secs(10))),
        )
        .await
        .expect("applied");
    assert!(!report.succeeded());
    assert_eq!(report.rollouts.len(), 1);
    let r = &report.rollouts[0];
    (r.status, r.message.clone(), r.reasons.clone())
}

#[tokio::test]
async fn an_image_that_cannot_be_pulled_fails_the_rollout_with_image_pull_back_off() {
    let image = "registry.gojek.io/fulfilment/fail-pull:1";
    let (status, message, reasons) = failed_rollout_reason(image).await;
    assert_eq!(status, RolloutStatus::Failed);
    assert!(
        message.contains("container web is waiting: ImagePullBackOff"),
        "{message}"
    );
    assert!(
        reasons.iter().any(|r| r.starts_with("event Failed (Pod/")
            && r.contains(&format!("Failed to pull image \"{image}\""))),
        "{reasons:#?}"
    );
}

#[tokio::test]
async fn a_crashing_container_fails_the_rollout_with_crash_loop_back_off() {
    let (status, message, reasons) = failed_rollout_reason("registry.gojek.io/fulfilment/crash:1").await;
    assert_eq!(status, RolloutStatus::Failed);
    assert!(message.contains("CrashLoopBackOff (restarted "), "{message}");
    assert!(
        reasons.iter().any(|r| r.starts_with("event BackOff (Pod/")),
        "{reasons:#?}"
    );
}

#[tokio::test]
async fn a_rollout_nobody_acts_on_times_out_with_a_clear_message() {
    let fake = FakeKube::start().await;
    fake.set_controller(false);
    let target = target(&fake).await;
    let rendered = render(DRIVER);
    let started = std::time::Instant::now();
    let report = target
        .apply(
            &rendered,
            &deployment("driver-location", 1),
            &fast(Some(Duration::from_millis(400))),
        )
        .await
        .expect("applied");
    assert!(started.elapsed() < Duration::from_secs(5));
    let r = &report.rollouts[0];
    assert_eq!(r.status, RolloutStatus::Timeout);
    assert_eq!(
        r.message,
        format!(
            "timed out after 400ms waiting for Deployment/{}: the controller has not observed generation 1 yet \
             (observed: 0)",
            name_of(rendered_of(&rendered, "Deployment"))
        )
    );
    assert!(!report.succeeded());
    assert!(report.to_text().contains("rollout TIMED OUT"));
}

#[tokio::test]
async fn a_job_whose_template_changes_is_replaced_and_completes() {
    let fake = FakeKube::start().await;
    let target = target(&fake).await;
    let wait = fast(Some(Duration::from_secs(10)));
    let v1 = render(PAYMENTS);
    let job = name_of(rendered_of(&v1, "Job")).to_string();
    let ns = rendered_of(&v1, "Job")["metadata"]["namespace"]
        .as_str()
        .expect("namespace")
        .to_string();
    let first = target
        .apply(&v1, &deployment("payments", 1), &wait)
        .await
        .expect("first");
    assert!(first.succeeded(), "{}", first.to_text());
    let first_uid = fake.object("Job", &ns, &job).expect("job")["metadata"]["uid"].clone();
    assert_eq!(
        fake.object("Job", &ns, &job).expect("job")["status"]["succeeded"],
        1
    );

    let v2 = render_text(
        PAYMENTS,
        &example(PAYMENTS).replace("payments:5.7.0", "payments:5.8.0"),
    );
    let d2 = deployment("payments", 2);
    let plan = target.plan(&v2, &d2).await.expect("plan");
    let planned = plan.objects.iter().find(|o| o.object.kind == "Job").expect("job");
    assert!(planned.replace);
    assert!(
        planned
            .changes
            .iter()
            .any(|c| c.path == "spec.template.spec.containers[name=migrate].image")
    );
    assert!(
        plan.to_text()
            .contains(&format!("~ Job/{job} (2 fields, replaced)"))
    );

    let report = target.apply(&v2, &d2, &wait).await.expect("apply");
    assert!(report.succeeded(), "{}", report.to_text());
    let result = |kind: &str| {
        report
            .objects
            .iter()
            .find(|o| o.object.kind == kind)
            .map(|o| o.result.clone())
    };
    assert_eq!(result("Job"), Some(ObjectResult::Replaced));
    assert_eq!(result("Deployment"), Some(ObjectResult::Updated));
    let live = fake.object("Job", &ns, &job).expect("job");
    assert_ne!(live["metadata"]["uid"], first_uid);
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.gojek.io/payments/payments:5.8.0"
    );
    let job_rollout = report
        .rollouts
        .iter()
        .find(|r| r.object.kind == "Job")
        .expect("job rollout");
    assert_eq!(job_rollout.status, RolloutStatus::Ok);
    assert!(job_rollout.message.starts_with("completed"));
}

const PAYMENTS_NS: &str = "payments-staging";
const MIGRATION: &str = "payments-migrate";

/// payments-migrate with the image of both processes (the migration and the API) replaced.
fn payments_with_image(tag: &str) -> Rendered {
    let text = example(PAYMENTS);
    assert!(text.contains("payments:5.7.0"));
    render_text(
        PAYMENTS,
        &text.replace("payments:5.7.0", &format!("payments:{tag}")),
    )
}

/// What a client sent to the fake, recorded before each request leaves it.
#[derive(Default)]
struct Recorded {
    /// Every write (not dry runs), as `PATCH jobs/payments-migrate`.
    writes: Vec<String>,
    /// The migration Job as stored when the first write to a Deployment was sent.
    job_when_deployment_written: Option<Option<Value>>,
}

/// A client that records the writes it sends, and the migration Job's state at the first
/// Deployment write.
fn recording_client(fake: Arc<FakeKube>) -> (kube::Client, Arc<std::sync::Mutex<Recorded>>) {
    let recorded = Arc::new(std::sync::Mutex::new(Recorded::default()));
    let log = recorded.clone();
    let mut config = fake.config();
    config.default_retry = false;
    let layer = tower::util::MapRequestLayer::new(move |req: http::Request<kube::client::Body>| {
        let query = req.uri().query().unwrap_or_default();
        if req.method() != http::Method::GET && !query.contains("dryRun") {
            let path: Vec<&str> = req.uri().path().rsplitn(3, '/').collect();
            let write = format!("{} {}/{}", req.method(), path[1], path[0]);
            let mut log = log.lock().expect("log");
            if path[1] == "deployments" && log.job_when_deployment_written.is_none() {
                log.job_when_deployment_written = Some(fake.object("Job", PAYMENTS_NS, MIGRATION));
            }
            log.writes.push(write);
        }
        req
    });
    let client = kube::client::ClientBuilder::try_from(config)
        .expect("client builder")
        .with_layer(&layer)
        .build();
    (client, recorded)
}

/// `PATCH <plural>/<name>` for each object, as the client writes them.
fn patches<'a>(objects: impl IntoIterator<Item = &'a (String, String)>) -> Vec<String> {
    objects
        .into_iter()
        .map(|(kind, name)| {
            let kind = kind.to_lowercase();
            let plural = if kind.ends_with('s') { "es" } else { "s" };
            format!("PATCH {kind}{plural}/{name}")
        })
        .collect()
}

fn condition_is_true(obj: &Value, type_: &str) -> bool {
    obj["status"]["conditions"]
        .as_array()
        .is_some_and(|cs| cs.iter().any(|c| c["type"] == type_ && c["status"] == "True"))
}

#[tokio::test]
async fn a_migration_job_completes_before_the_deployment_is_applied() {
    let fake = Arc::new(FakeKube::start().await);
    let (client, recorded) = recording_client(fake.clone());
    let target = KubeTarget::from_client("fake", client).await.expect("connect");
    let rendered = render(PAYMENTS);
    let d = deployment("payments", 1);
    let mut expected = vec![("Namespace".to_string(), PAYMENTS_NS.to_string())];
    expected.extend(rendered_ids(&rendered));
    let kinds: Vec<&str> = expected.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "Namespace",
            "ServiceAccount",
            "Job",
            "Service",
            "Deployment",
            "Ingress"
        ],
        "the migration after its identity, before the Service and the workload"
    );

    let plan = target.plan(&rendered, &d).await.expect("plan");
    let planned: Vec<(String, String)> = plan
        .objects
        .iter()
        .map(|o| (o.object.kind.clone(), o.object.name.clone()))
        .collect();
    assert_eq!(planned, expected, "the plan lists objects in apply order");

    let report = target
        .apply(&rendered, &d, &fast(Some(Duration::from_secs(10))))
        .await
        .expect("apply");
    assert!(report.succeeded(), "{}", report.to_text());
    assert_eq!(report_ids(&report), expected);
    let rollouts: Vec<(String, RolloutStatus)> = report
        .rollouts
        .iter()
        .map(|r| (r.object.kind.clone(), r.status))
        .collect();
    assert_eq!(
        rollouts,
        [
            ("Job".to_string(), RolloutStatus::Ok),
            ("Deployment".to_string(), RolloutStatus::Ok)
        ]
    );

    let recorded = recorded.lock().expect("recorded");
    assert_eq!(recorded.writes, patches(&expected));
    let job = recorded
        .job_when_deployment_written
        .clone()
        .expect("the Deployment was written")
        .expect("the Job existed then");
    assert!(
        condition_is_true(&job, "Complete"),
        "the Job had completed before the Deployment was applied: {:#}",
        job["status"]
    );
    assert_eq!(job["status"]["succeeded"], 1);
}

#[tokio::test]
async fn a_failing_migration_stops_before_the_deployment_is_changed() {
    let fake = Arc::new(FakeKube::start().await);
    let (client, recorded) = recording_client(fake.clone());
    let target = KubeTarget::from_client("fake", client).await.expect("connect");
    let wait = fast(Some(Duration::from_secs(10)));
    let first = target
        .apply(&render(PAYMENTS), &deployment("payments", 1), &wait)
        .await
        .expect("first");
    assert!(first.succeeded(), "{}", first.to_text());
    let api = "payments-api";
    let before = fake.object("Deployment", PAYMENTS_NS, api).expect("deployment");
    recorded.lock().expect("recorded").writes.clear();

    let crashing = payments_with_image("5.8.0-crash");
    let d2 = deployment("payments", 2);
    let report = target.apply(&crashing, &d2, &wait).await.expect("applied");
    assert!(!report.succeeded());
    let reason = format!(
        "Job/{MIGRATION} did not complete: job failed: BackoffLimitExceeded: Job has reached the specified backoff \
         limit"
    );
    let results: Vec<(String, ObjectResult)> = report
        .objects
        .iter()
        .map(|o| (o.object.kind.clone(), o.result.clone()))
        .collect();
    let skipped = ObjectResult::Skipped {
        reason: reason.clone(),
    };
    assert_eq!(
        results,
        [
            ("ServiceAccount".to_string(), ObjectResult::Updated),
            ("Job".to_string(), ObjectResult::Replaced),
            ("Service".to_string(), skipped.clone()),
            ("Deployment".to_string(), skipped.clone()),
            ("Ingress".to_string(), skipped),
        ]
    );
    assert_eq!(report.rollouts.len(), 1, "{:#?}", report.rollouts);
    let job = &report.rollouts[0];
    assert_eq!(
        (job.object.kind.as_str(), job.object.name.as_str(), job.status),
        ("Job", MIGRATION, RolloutStatus::Failed)
    );
    assert_eq!(
        job.message,
        "job failed: BackoffLimitExceeded: Job has reached the specified backoff limit"
    );
    assert!(
        job.reasons
            .iter()
            .any(|r| r.starts_with("event BackoffLimitExceeded (Job/")),
        "{:#?}",
        job.reasons
    );
    let text = report.to_text();
    assert!(
        text.contains(&format!("  Deployment/{api}: skipped: {reason}\n")),
        "{text}"
    );
    let json = serde_json::to_value(&report).expect("serialisable");
    assert_eq!(json["objects"][3]["result"], "skipped");
    assert_eq!(json["objects"][3]["reason"], reason.as_str());

    let writes = recorded.lock().expect("recorded").writes.clone();
    assert_eq!(
        writes,
        [
            "PATCH serviceaccounts/payments".to_string(),
            format!("DELETE jobs/{MIGRATION}"),
            format!("PATCH jobs/{MIGRATION}"),
        ],
        "nothing written after the Job"
    );
    let after = fake.object("Deployment", PAYMENTS_NS, api).expect("deployment");
    assert_eq!(
        after["metadata"]["annotations"],
        before["metadata"]["annotations"]
    );
    assert_eq!(after["spec"], before["spec"], "still revision 1's Deployment");

    // Run again, the failed Job is run again even though it did not change.
    let plan = target.plan(&crashing, &d2).await.expect("plan");
    let planned = plan.objects.iter().find(|o| o.object.kind == "Job").expect("job");
    assert!(planned.replace, "{planned:?}");
    assert!(plan.has_changes());
    assert!(
        plan.to_text()
            .contains(&format!("~ Job/{MIGRATION} (failed: replaced to run again)\n")),
        "{}",
        plan.to_text()
    );

    // A fixed image: the Job runs again and completes, then the Deployment rolls out.
    let fixed = target
        .apply(&payments_with_image("5.8.1"), &deployment("payments", 3), &wait)
        .await
        .expect("fixed");
    assert!(fixed.succeeded(), "{}", fixed.to_text());
    let live = fake.object("Deployment", PAYMENTS_NS, api).expect("deployment");
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.gojek.io/payments/payments:5.8.1"
    );
}

#[tokio::test]
async fn a_migration_that_does_not_complete_in_time_leaves_the_workloads_unapplied() {
    let fake = FakeKube::start().await;
    fake.set_controller(false);
    let target = target(&fake).await;
    let report = target
        .apply(
            &render(PAYMENTS),
            &deployment("payments", 1),
            &fast(Some(Duration::from_millis(300))),
        )
        .await
        .expect("applied");
    assert!(!report.succeeded());
    assert_eq!(report.rollouts.len(), 1);
    let job = &report.rollouts[0];
    assert_eq!(job.status, RolloutStatus::Timeout);
    let message = format!(
        "timed out after 300ms waiting for Job/{MIGRATION}: job running: 0 active, 0 succeeded, 0 failed"
    );
    assert_eq!(job.message, message);
    let deployment_result = report
        .objects
        .iter()
        .find(|o| o.object.kind == "Deployment")
        .map(|o| o.result.clone());
    assert_eq!(
        deployment_result,
        Some(ObjectResult::Skipped {
            reason: format!("Job/{MIGRATION} did not complete: {message}")
        })
    );
    assert!(fake.object("Job", PAYMENTS_NS, MIGRATION).is_some());
    assert!(fake.objects("Deployment").is_empty());
    assert!(fake.objects("Service").is_empty());
}

#[tokio::test]
async fn without_waiting_jobs_are_applied_first_and_the_workloads_right_after() {
    let fake = Arc::new(FakeKube::start().await);
    fake.set_controller(false);
    let (client, recorded) = recording_client(fake.clone());
    let target = KubeTarget::from_client("fake", client).await.expect("connect");
    let rendered = payments_with_image("5.8.0-crash");
    let report = target
        .apply(&rendered, &deployment("payments", 1), &fast(None))
        .await
        .expect("apply");
    assert!(report.succeeded(), "{}", report.to_text());
    assert!(results(&report).iter().all(|r| *r == ObjectResult::Created));
    assert!(report.rollouts.is_empty());
    let mut expected = vec![("Namespace".to_string(), PAYMENTS_NS.to_string())];
    expected.extend(rendered_ids(&rendered));
    assert_eq!(recorded.lock().expect("recorded").writes, patches(&expected));
    let job = recorded
        .lock()
        .expect("recorded")
        .job_when_deployment_written
        .clone()
        .expect("the Deployment was written")
        .expect("after the Job");
    assert!(!condition_is_true(&job, "Complete"), "not waited for");
}

#[tokio::test]
async fn an_unreachable_cluster_is_named_with_the_cause_and_nothing_is_applied() {
    let mut fake = FakeKube::start().await;
    let url = fake.url();
    let connected = target(&fake).await;
    fake.stop().await;

    let cluster = ClusterConfig {
        name: "staging-east".into(),
        source: ClusterSource::Url(url),
    };
    let err = KubeTarget::connect(&cluster).await.expect_err("unreachable");
    let DeployError::Connect { cluster, cause, .. } = &err else {
        panic!("expected a connect error, got {err}");
    };
    assert_eq!(
        (cluster.as_str(), *cause),
        ("staging-east", ConnectCause::Unreachable)
    );
    assert!(
        err.to_string()
            .starts_with("cluster `staging-east`: unreachable: "),
        "{err}"
    );

    // Connected before the cluster went away: the first request fails, naming the cluster.
    let err = connected
        .apply(&render(DRIVER), &deployment("driver-location", 1), &fast(None))
        .await
        .expect_err("gone");
    assert!(
        err.to_string()
            .starts_with("cluster `fake`: discover API resources: "),
        "{err}"
    );
    assert!(fake.object("Namespace", "", DRIVER_NS).is_none());
    assert!(fake.objects("Deployment").is_empty());
}

#[tokio::test]
async fn tls_to_a_plain_http_server_and_a_missing_kubeconfig_are_named() {
    let fake = FakeKube::start().await;
    let https = fake.url().replace("http://", "https://");
    let err = KubeTarget::connect(&ClusterConfig {
        name: "tls".into(),
        source: ClusterSource::Url(https),
    })
    .await
    .expect_err("not TLS");
    assert!(
        matches!(
            err,
            DeployError::Connect {
                cause: ConnectCause::Tls,
                ..
            }
        ),
        "{err}"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("kubeconfig");
    let err = KubeTarget::connect(&ClusterConfig {
        name: "prod".into(),
        source: ClusterSource::Kubeconfig {
            path: missing.clone(),
            context: None,
        },
    })
    .await
    .expect_err("no kubeconfig");
    assert!(
        matches!(
            err,
            DeployError::Connect {
                cause: ConnectCause::Config,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains(&missing.display().to_string()), "{err}");

    // A kubeconfig pointing at the fake works, context chosen by name.
    let kubeconfig = dir.path().join("config");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster: {{server: \"{}\"}}\n\
             users:\n- name: me\n  user: {{}}\ncontexts:\n- name: fake-ctx\n  context: {{cluster: fake, user: me}}\n\
             current-context: nowhere\n",
            fake.url()
        ),
    )
    .expect("write kubeconfig");
    let target = KubeTarget::connect(&ClusterConfig {
        name: "kc".into(),
        source: ClusterSource::Kubeconfig {
            path: kubeconfig,
            context: Some("fake-ctx".into()),
        },
    })
    .await
    .expect("connect through the kubeconfig");
    assert_eq!(target.name(), "kc");
}

/// Makes the fake fail the next request right before the client sends a PATCH (not a dry
/// run) to a path containing `marker`, once.
fn fail_before_patch(fake: Arc<FakeKube>, marker: &'static str) -> kube::Client {
    use std::sync::atomic::{AtomicBool, Ordering};
    let mut config = fake.config();
    config.default_retry = false;
    let armed = Arc::new(AtomicBool::new(true));
    let layer = tower::util::MapRequestLayer::new(move |req: http::Request<kube::client::Body>| {
        let query = req.uri().query().unwrap_or_default();
        if req.method() == http::Method::PATCH
            && req.uri().path().contains(marker)
            && !query.contains("dryRun")
            && armed.swap(false, Ordering::SeqCst)
        {
            fake.fail_next(1, 500);
        }
        req
    });
    kube::client::ClientBuilder::try_from(config)
        .expect("client builder")
        .with_layer(&layer)
        .build()
}

#[tokio::test]
async fn a_failure_part_way_reports_what_was_applied_and_a_rerun_converges() {
    let fake = Arc::new(FakeKube::start().await);
    fake.set_controller(false);
    let first = render(DRIVER);
    target(&fake)
        .await
        .apply(&first, &deployment("driver-location", 1), &fast(None))
        .await
        .expect("first");

    let client = fail_before_patch(fake.clone(), "/ingresses/");
    let target = KubeTarget::from_client("flaky", client).await.expect("connect");
    let v2 = driver_with_image("registry.gojek.io/fulfilment/driver-location:2.15.0");
    let d2 = deployment("driver-location", 2);
    let err = target
        .apply(&v2, &d2, &fast(None))
        .await
        .expect_err("500 on the Ingress");
    assert!(matches!(err.root(), DeployError::Api { .. }), "{err}");
    assert!(
        err.to_string().contains("cluster `flaky`: apply Ingress/"),
        "{err}"
    );
    let report = err.report().expect("report");
    let by_kind: Vec<(String, ObjectResult)> = report
        .objects
        .iter()
        .map(|o| (o.object.kind.clone(), o.result.clone()))
        .collect();
    let ids = rendered_ids(&v2);
    let at = ids.iter().position(|(k, _)| k == "Ingress").expect("ingress");
    for (i, (kind, result)) in by_kind.iter().enumerate() {
        if i < at {
            assert_eq!(*result, ObjectResult::Updated, "{kind}");
        } else if i == at {
            assert!(
                matches!(result, ObjectResult::Failed { error } if error.contains("500") || error.contains("Internal")),
                "{result:?}"
            );
        } else {
            assert_eq!(*result, ObjectResult::NotApplied, "{kind}");
        }
    }
    let ingress = name_of(rendered_of(&v2, "Ingress"));
    let live = fake.object("Ingress", DRIVER_NS, ingress).expect("ingress");
    assert_eq!(
        live["metadata"]["annotations"]["ojek.dev/revision"], "1",
        "not applied"
    );
    let live = fake
        .object("Deployment", DRIVER_NS, name_of(rendered_of(&v2, "Deployment")))
        .expect("deployment");
    assert_eq!(
        live["metadata"]["annotations"]["ojek.dev/revision"], "2",
        "applied before the failure"
    );

    let again = target.apply(&v2, &d2, &fast(None)).await.expect("converges");
    for o in &again.objects {
        let expected = if o.object.kind == "Deployment"
            || o.object.kind == "ServiceAccount"
            || o.object.kind == "Service"
        {
            ObjectResult::Unchanged
        } else {
            ObjectResult::Updated
        };
        assert_eq!(o.result, expected, "{}", o.object);
    }
    for doc in &v2.objects {
        let live = fake.object(doc.kind(), DRIVER_NS, doc.name()).expect("object");
        assert_eq!(
            live["metadata"]["annotations"]["ojek.dev/revision"],
            "2",
            "{}",
            doc.id()
        );
    }
}

/// Objects of a kind ojek reads without rendering (Experiments): listed in one namespace with
/// their type and status; `None` when the cluster does not serve the kind (no CRD); other
/// failures are API errors naming what was listed.
#[tokio::test]
async fn a_custom_kind_is_listed_in_a_namespace_or_reported_as_not_served() {
    use ojek_deploy::kube::ReadKind;

    let fake = FakeKube::start().await;
    let target = target(&fake).await;
    let experiments = ReadKind {
        group: "ojek.dev",
        version: "v1alpha1",
        kind: "Experiment",
        plural: "experiments",
    };
    let none = target
        .list_namespaced(&experiments, DRIVER_NS)
        .await
        .expect("list");
    assert_eq!(
        none,
        Some(Vec::new()),
        "a namespace without any, even a missing one"
    );
    fake.put(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": DRIVER_NS}}))
        .expect("namespace");
    for (ns, name) in [(DRIVER_NS, "b"), (DRIVER_NS, "a"), ("default", "elsewhere")] {
        fake.put(json!({
            "apiVersion": "ojek.dev/v1alpha1", "kind": "Experiment",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"app": "driver-location"},
            "status": {"phase": "Running"},
        }))
        .expect("experiment");
    }
    let listed = target
        .list_namespaced(&experiments, DRIVER_NS)
        .await
        .expect("list")
        .expect("served");
    let seen: Vec<(&str, &str, &str, &str)> = listed
        .iter()
        .map(|o| {
            (
                o["apiVersion"].as_str().unwrap_or_default(),
                o["kind"].as_str().unwrap_or_default(),
                o["metadata"]["name"].as_str().unwrap_or_default(),
                o["status"]["phase"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("ojek.dev/v1alpha1", "Experiment", "a", "Running"),
            ("ojek.dev/v1alpha1", "Experiment", "b", "Running"),
        ]
    );

    let unserved = ReadKind {
        group: "example.com",
        version: "v1",
        kind: "Thing",
        plural: "things",
    };
    assert_eq!(
        target.list_namespaced(&unserved, DRIVER_NS).await.expect("list"),
        None
    );
    fake.fail_next(1, 500);
    let err = target
        .list_namespaced(&experiments, DRIVER_NS)
        .await
        .expect_err("a server error");
    assert!(
        matches!(&err, DeployError::Api { action, .. } if action == "list experiments in fulfilment-staging"),
        "{err}"
    );
}
