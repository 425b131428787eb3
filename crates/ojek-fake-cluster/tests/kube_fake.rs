//! The fake Kubernetes API server, driven by the real `kube` client the deployer will use.

use std::time::Duration;

use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, PropagationPolicy,
};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{Discovery, Scope};
use ojek_fake_cluster::kube::FakeKube;
use serde_json::{Value, json};

fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

fn deployments(fake: &FakeKube) -> Api<DynamicObject> {
    Api::namespaced_with(
        fake.client(),
        "default",
        &resource("apps", "v1", "Deployment", "deployments"),
    )
}

fn config_maps(fake: &FakeKube) -> Api<DynamicObject> {
    Api::namespaced_with(
        fake.client(),
        "default",
        &resource("", "v1", "ConfigMap", "configmaps"),
    )
}

fn dynamic(v: Value) -> DynamicObject {
    serde_json::from_value(v).expect("a valid object")
}

fn json_of(o: &DynamicObject) -> Value {
    serde_json::to_value(o).expect("serialisable")
}

fn deployment(name: &str, image: &str, replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "ojek", "ojek.dev/app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"ojek.dev/app": name}},
            "template": {
                "metadata": {"labels": {"ojek.dev/app": name}},
                "spec": {"containers": [{"name": "app", "image": image, "ports": [{"containerPort": 8080}]}]}
            }
        }
    })
}

async fn apply(api: &Api<DynamicObject>, v: Value, pp: &PatchParams) -> Result<DynamicObject, kube::Error> {
    let name = v["metadata"]["name"].as_str().expect("named").to_string();
    api.patch(&name, pp, &Patch::Apply(dynamic(v))).await
}

fn api_error(r: Result<DynamicObject, kube::Error>) -> Box<kube::core::Status> {
    match r {
        Err(kube::Error::Api(s)) => s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// Polls `check` every 50 ms until it returns `Some`, for at most `secs` seconds.
async fn eventually<T>(secs: u64, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn pods_of(fake: &FakeKube, app: &str) -> Vec<Value> {
    fake.objects("Pod")
        .into_iter()
        .filter(|p| p["metadata"]["labels"]["ojek.dev/app"] == app)
        .collect()
}

fn events(fake: &FakeKube, reason: &str) -> Vec<Value> {
    fake.objects("Event")
        .into_iter()
        .filter(|e| e["reason"] == reason)
        .collect()
}

fn condition<'a>(obj: &'a Value, type_: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

#[tokio::test]
async fn discovery_finds_every_kind_the_deployer_applies() {
    let fake = FakeKube::start().await;
    let client = fake.client();
    let version = client.apiserver_version().await.expect("version");
    assert_eq!((version.major.as_str(), version.minor.as_str()), ("1", "33"));
    let discovery = Discovery::new(client).run().await.expect("discovery");
    for (group, version, kind, plural, namespaced) in [
        ("", "v1", "Namespace", "namespaces", false),
        ("", "v1", "ConfigMap", "configmaps", true),
        ("", "v1", "Event", "events", true),
        ("apps", "v1", "Deployment", "deployments", true),
        ("apps", "v1", "StatefulSet", "statefulsets", true),
        ("batch", "v1", "CronJob", "cronjobs", true),
        ("networking.k8s.io", "v1", "Ingress", "ingresses", true),
        (
            "autoscaling",
            "v2",
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers",
            true,
        ),
        (
            "policy",
            "v1",
            "PodDisruptionBudget",
            "poddisruptionbudgets",
            true,
        ),
        ("gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes", true),
        (
            "gateway.networking.k8s.io",
            "v1beta1",
            "ReferenceGrant",
            "referencegrants",
            true,
        ),
        ("keda.sh", "v1alpha1", "ScaledObject", "scaledobjects", true),
    ] {
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let (ar, caps) = discovery
            .resolve_gvk(&gvk)
            .unwrap_or_else(|| panic!("{kind} discovered"));
        assert_eq!(ar.plural, plural);
        assert_eq!(caps.scope == Scope::Namespaced, namespaced, "{kind}");
        assert!(caps.supports_operation("patch"), "{kind}");
    }
    assert!(
        discovery
            .resolve_gvk(&GroupVersionKind::gvk("apps", "v1", "ReplicaSet"))
            .is_none()
    );
}

#[tokio::test]
async fn apply_creates_then_identical_apply_is_a_no_op_and_a_new_image_bumps_generation() {
    let fake = FakeKube::start().await;
    fake.set_controller(false);
    let api = deployments(&fake);
    let pp = PatchParams::apply("ojek");
    let created = json_of(
        &apply(&api, deployment("web", "web:1", 2), &pp)
            .await
            .expect("create"),
    );
    assert_eq!(created["metadata"]["generation"], 1);
    assert_eq!(created["metadata"]["namespace"], "default");
    assert!(created["metadata"]["uid"].as_str().is_some_and(|u| u.len() == 36));
    assert!(
        created["metadata"]["creationTimestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let mf = &created["metadata"]["managedFields"][0];
    assert_eq!(
        (mf["manager"].as_str(), mf["operation"].as_str()),
        (Some("ojek"), Some("Apply"))
    );
    assert_eq!(
        (mf["apiVersion"].as_str(), mf["fieldsType"].as_str()),
        (Some("apps/v1"), Some("FieldsV1"))
    );
    assert!(mf["time"].is_string());
    let containers = &mf["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"];
    assert_eq!(containers["k:{\"name\":\"app\"}"]["f:image"], json!({}));
    assert_eq!(containers["k:{\"name\":\"app\"}"]["."], json!({}));
    assert_eq!(
        fake.object("Deployment", "default", "web").expect("stored"),
        created
    );

    let again = json_of(
        &apply(&api, deployment("web", "web:1", 2), &pp)
            .await
            .expect("re-apply"),
    );
    assert_eq!(
        again["metadata"]["resourceVersion"],
        created["metadata"]["resourceVersion"]
    );
    assert_eq!(again["metadata"]["generation"], 1);

    let labelled = {
        let mut d = deployment("web", "web:1", 2);
        d["metadata"]["annotations"] = json!({"ojek.dev/revision": "2"});
        json_of(&apply(&api, d, &pp).await.expect("annotate"))
    };
    assert_ne!(
        labelled["metadata"]["resourceVersion"],
        created["metadata"]["resourceVersion"]
    );
    assert_eq!(
        labelled["metadata"]["generation"], 1,
        "metadata changes keep the generation"
    );

    let new_image = json_of(
        &apply(&api, deployment("web", "web:2", 2), &pp)
            .await
            .expect("update"),
    );
    assert_eq!(new_image["metadata"]["generation"], 2);
    assert_eq!(
        new_image["spec"]["template"]["spec"]["containers"][0]["image"],
        "web:2"
    );
    assert!(
        new_image["metadata"].get("annotations").is_none(),
        "dropped by its only manager"
    );
}

#[tokio::test]
async fn dry_run_apply_answers_the_result_and_stores_nothing() {
    let fake = FakeKube::start().await;
    fake.set_controller(false);
    let api = deployments(&fake);
    let dry = PatchParams::apply("ojek").dry_run();
    let preview = json_of(
        &apply(&api, deployment("web", "web:1", 1), &dry)
            .await
            .expect("dry create"),
    );
    assert_eq!(preview["spec"]["replicas"], 1);
    assert!(fake.object("Deployment", "default", "web").is_none());

    let live = json_of(
        &apply(&api, deployment("web", "web:1", 1), &PatchParams::apply("ojek"))
            .await
            .expect("create"),
    );
    let preview = json_of(
        &apply(&api, deployment("web", "web:2", 3), &dry)
            .await
            .expect("dry update"),
    );
    assert_eq!(preview["spec"]["replicas"], 3);
    assert_eq!(preview["metadata"]["generation"], 2);
    assert_eq!(fake.object("Deployment", "default", "web").expect("kept"), live);
}

#[tokio::test]
async fn another_manager_changing_an_owned_field_conflicts_until_it_forces() {
    let fake = FakeKube::start().await;
    fake.set_controller(false);
    let api = deployments(&fake);
    apply(&api, deployment("web", "web:1", 2), &PatchParams::apply("ojek"))
        .await
        .expect("create");
    let mut kubectl = deployment("web", "web:1", 5);
    kubectl["spec"]["template"]["spec"]["containers"][0]["image"] = json!("web:hotfix");

    let status = api_error(apply(&api, kubectl.clone(), &PatchParams::apply("kubectl")).await);
    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
    assert!(
        status
            .message
            .starts_with("Apply failed with 2 conflicts: conflicts with \"ojek\" using apps/v1")
    );
    let causes = status
        .details
        .as_ref()
        .map(|d| d.causes.clone())
        .unwrap_or_default();
    let fields: Vec<&str> = causes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            ".spec.replicas",
            ".spec.template.spec.containers[name=\"app\"].image"
        ]
    );
    assert!(causes.iter().all(|c| c.reason == "FieldManagerConflict"));
    assert_eq!(causes[0].message, "conflict with \"ojek\" using apps/v1");
    assert_eq!(
        fake.object("Deployment", "default", "web").expect("kept")["spec"]["replicas"],
        2
    );

    let forced = json_of(
        &apply(&api, kubectl, &PatchParams::apply("kubectl").force())
            .await
            .expect("forced"),
    );
    assert_eq!(forced["spec"]["replicas"], 5);
    let managers: Vec<&str> = forced["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert_eq!(managers, ["ojek", "kubectl"]);
    let ojek_fields = &forced["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"];
    assert!(
        ojek_fields.get("f:replicas").is_none(),
        "ownership moved to kubectl"
    );

    // Now ojek is the one that conflicts.
    let status = api_error(apply(&api, deployment("web", "web:1", 2), &PatchParams::apply("ojek")).await);
    assert!(
        status.message.contains("with \"kubectl\" using apps/v1"),
        "{}",
        status.message
    );
}

#[tokio::test]
async fn fields_a_manager_stops_sending_go_unless_another_manager_owns_them() {
    let fake = FakeKube::start().await;
    let api = config_maps(&fake);
    let cm = |data: Value| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": data});
    apply(
        &api,
        cm(json!({"a": "1", "b": "2", "c": "3"})),
        &PatchParams::apply("ojek"),
    )
    .await
    .expect("create");
    apply(&api, cm(json!({"b": "2"})), &PatchParams::apply("kubectl"))
        .await
        .expect("same value: shared");
    let after = json_of(
        &apply(&api, cm(json!({"a": "1"})), &PatchParams::apply("ojek"))
            .await
            .expect("drop b, c"),
    );
    assert_eq!(after["data"], json!({"a": "1", "b": "2"}));

    let status = api_error(
        api.patch(
            "cfg",
            &PatchParams::default(),
            &Patch::Apply(dynamic(cm(json!({"a": "1"})))),
        )
        .await,
    );
    assert_eq!(
        (status.code, status.reason.as_str()),
        (400, "BadRequest"),
        "fieldManager is required"
    );
}

#[tokio::test]
async fn list_filters_by_every_label_selector_operator() {
    let fake = FakeKube::start().await;
    let api = config_maps(&fake);
    for (name, labels) in [
        (
            "web-prod",
            json!({"app": "web", "env": "prod", "app.kubernetes.io/managed-by": "ojek"}),
        ),
        (
            "web-dev",
            json!({"app": "web", "env": "dev", "app.kubernetes.io/managed-by": "ojek"}),
        ),
        ("db", json!({"app": "db", "env": "prod"})),
        ("bare", json!({})),
    ] {
        let cm =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}});
        apply(&api, cm, &PatchParams::apply("ojek"))
            .await
            .expect("create");
    }
    for (selector, expected) in [
        ("app=web", vec!["web-dev", "web-prod"]),
        ("app==web,env=prod", vec!["web-prod"]),
        ("app!=web", vec!["bare", "db"]),
        ("env in (prod, staging)", vec!["db", "web-prod"]),
        ("env notin (prod)", vec!["bare", "web-dev"]),
        ("app.kubernetes.io/managed-by", vec!["web-dev", "web-prod"]),
        ("!env", vec!["bare"]),
        (
            "app.kubernetes.io/managed-by=ojek,app=web,env=dev",
            vec!["web-dev"],
        ),
    ] {
        let list = api
            .list(&ListParams::default().labels(selector))
            .await
            .expect(selector);
        let names: Vec<String> = list
            .items
            .iter()
            .filter_map(|o| o.metadata.name.clone())
            .collect();
        assert_eq!(names, expected, "{selector}");
        assert!(list.metadata.resource_version.is_some());
    }
    let by_name = api
        .list(&ListParams::default().fields("metadata.name=db"))
        .await
        .expect("field selector");
    assert_eq!(by_name.items.len(), 1);
    let err = api
        .list(&ListParams::default().labels("app in web"))
        .await
        .expect_err("bad selector");
    assert!(matches!(err, kube::Error::Api(s) if s.code == 400));

    let everywhere: Api<DynamicObject> =
        Api::all_with(fake.client(), &resource("", "v1", "ConfigMap", "configmaps"));
    assert_eq!(
        everywhere
            .list(&ListParams::default())
            .await
            .expect("all namespaces")
            .items
            .len(),
        4
    );
}

#[tokio::test]
async fn delete_propagation_removes_or_orphans_a_deployments_pods() {
    let fake = FakeKube::start().await;
    let api = deployments(&fake);
    let pp = PatchParams::apply("ojek");
    for (name, policy, pods_kept) in [
        ("fg", PropagationPolicy::Foreground, false),
        ("bg", PropagationPolicy::Background, false),
        ("orphan", PropagationPolicy::Orphan, true),
    ] {
        apply(&api, deployment(name, "web:1", 2), &pp)
            .await
            .expect("create");
        eventually(5, "two pods", || (pods_of(&fake, name).len() == 2).then_some(())).await;
        fake.set_controller(false);
        let dp = DeleteParams {
            propagation_policy: Some(policy.clone()),
            ..DeleteParams::default()
        };
        let answer = api.delete(name, &dp).await.expect("delete");
        if let Some(obj) = answer.clone().left() {
            assert!(
                matches!(policy, PropagationPolicy::Foreground),
                "only Foreground answers the object"
            );
            assert!(obj.metadata.deletion_timestamp.is_some());
            assert_eq!(
                obj.metadata.finalizers,
                Some(vec!["foregroundDeletion".to_string()])
            );
        }
        if let Some(status) = answer.right() {
            assert_eq!(status.details.map(|d| d.name), Some(name.to_string()));
        }
        assert!(fake.object("Deployment", "default", name).is_none());
        let pods = pods_of(&fake, name);
        assert_eq!(pods.len(), if pods_kept { 2 } else { 0 }, "{name}");
        assert!(
            pods.iter()
                .all(|p| p["metadata"].get("ownerReferences").is_none())
        );
        fake.set_controller(true);
    }
}

#[tokio::test]
async fn unknown_kinds_and_missing_objects_are_404_status_objects() {
    let fake = FakeKube::start().await;
    let things: Api<DynamicObject> = Api::namespaced_with(
        fake.client(),
        "default",
        &resource("example.com", "v1", "Thing", "things"),
    );
    let status = match things.list(&ListParams::default()).await {
        Err(kube::Error::Api(s)) => s,
        other => panic!("expected 404, got {other:?}"),
    };
    assert_eq!((status.code, status.reason.as_str()), (404, "NotFound"));

    let status = api_error(deployments(&fake).get("nope").await);
    assert_eq!((status.code, status.reason.as_str()), (404, "NotFound"));
    assert_eq!(status.message, "deployments.apps \"nope\" not found");
    let details = status.details.expect("details");
    assert_eq!(
        (
            details.name.as_str(),
            details.group.as_str(),
            details.kind.as_str()
        ),
        ("nope", "apps", "deployments")
    );

    let elsewhere: Api<DynamicObject> = Api::namespaced_with(
        fake.client(),
        "missing",
        &resource("", "v1", "ConfigMap", "configmaps"),
    );
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}});
    let status = api_error(apply(&elsewhere, cm, &PatchParams::apply("ojek")).await);
    assert_eq!(
        (status.code, status.message.as_str()),
        (404, "namespaces \"missing\" not found")
    );
}

#[tokio::test]
async fn status_is_a_subresource() {
    let fake = FakeKube::start().await;
    fake.set_controller(false);
    let api = deployments(&fake);
    let mut d = deployment("web", "web:1", 1);
    d["status"] = json!({"replicas": 9});
    let created = json_of(&apply(&api, d, &PatchParams::apply("ojek")).await.expect("create"));
    assert!(
        created.get("status").is_none(),
        "apply to the main resource ignores status"
    );
    let patched = api
        .patch_status(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"replicas": 1}, "spec": {"replicas": 7}})),
        )
        .await
        .expect("status patch");
    let patched = json_of(&patched);
    assert_eq!(patched["status"]["replicas"], 1);
    assert_eq!(
        patched["spec"]["replicas"], 1,
        "the status subresource changes only status"
    );
    assert_eq!(patched["metadata"]["generation"], 1);
    assert_ne!(
        patched["metadata"]["resourceVersion"],
        created["metadata"]["resourceVersion"]
    );

    let ns: Api<DynamicObject> = Api::all_with(fake.client(), &resource("", "v1", "Namespace", "namespaces"));
    let made = ns
        .create(
            &PostParams::default(),
            &dynamic(json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "team-a"}})),
        )
        .await
        .expect("create namespace");
    assert_eq!(made.metadata.name.as_deref(), Some("team-a"));
    assert!(fake.object("Namespace", "", "team-a").is_some());
}

/// The Deployment `web` once its rollout of `generation` (3 replicas) is complete.
fn rolled_out(fake: &FakeKube, generation: i64) -> Option<Value> {
    let d = fake.object("Deployment", "default", "web")?;
    let s = &d["status"];
    let complete = s["observedGeneration"] == generation
        && s["updatedReplicas"] == 3
        && s["availableReplicas"] == 3
        && s["replicas"] == 3
        && condition(&d, "Available")?["status"] == "True"
        && condition(&d, "Progressing")?["reason"] == "NewReplicaSetAvailable";
    complete.then_some(d)
}

#[tokio::test]
async fn a_deployment_rolls_out_and_becomes_available() {
    let fake = FakeKube::start().await;
    let api = deployments(&fake);
    apply(&api, deployment("web", "web:1", 3), &PatchParams::apply("ojek"))
        .await
        .expect("create");
    let d = eventually(5, "the rollout", || rolled_out(&fake, 1)).await;
    assert_eq!(d["status"]["readyReplicas"], 3);
    let pods = pods_of(&fake, "web");
    assert_eq!(pods.len(), 3);
    for p in &pods {
        assert_eq!(p["status"]["phase"], "Running");
        assert_eq!(p["metadata"]["ownerReferences"][0]["uid"], d["metadata"]["uid"]);
        assert_eq!(p["metadata"]["ownerReferences"][0]["kind"], "Deployment");
        assert_eq!(p["status"]["containerStatuses"][0]["ready"], true);
    }
    // Through the API, with the kube client, as the deployer will poll it.
    let via_api = json_of(&api.get_status("web").await.expect("get status"));
    assert_eq!(via_api["status"]["availableReplicas"], 3);

    apply(&api, deployment("web", "web:2", 3), &PatchParams::apply("ojek"))
        .await
        .expect("update");
    eventually(5, "the second rollout", || rolled_out(&fake, 2)).await;
    let pods = pods_of(&fake, "web");
    assert_eq!(pods.len(), 3, "old pods replaced");
    assert!(
        pods.iter()
            .all(|p| p["spec"]["containers"][0]["image"] == "web:2")
    );
    assert!(!events(&fake, "ScalingReplicaSet").is_empty());
}

#[tokio::test]
async fn an_image_that_cannot_be_pulled_backs_off_keeps_the_old_pods_and_misses_the_deadline() {
    let fake = FakeKube::start().await;
    let api = deployments(&fake);
    let pp = PatchParams::apply("ojek");
    apply(&api, deployment("web", "web:1", 1), &pp)
        .await
        .expect("create");
    eventually(5, "first rollout", || {
        let d = fake.object("Deployment", "default", "web")?;
        (d["status"]["availableReplicas"] == 1).then_some(())
    })
    .await;
    let mut bad = deployment("web", "registry.example/fail-pull:2", 1);
    bad["spec"]["progressDeadlineSeconds"] = json!(1);
    apply(&api, bad, &pp).await.expect("update");
    let pod = eventually(5, "ImagePullBackOff", || {
        pods_of(&fake, "web")
            .into_iter()
            .find(|p| p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "ImagePullBackOff")
    })
    .await;
    assert_eq!(pod["status"]["phase"], "Pending");
    let failed = events(&fake, "Failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["type"], "Warning");
    assert_eq!(failed[0]["involvedObject"]["name"], pod["metadata"]["name"]);
    assert!(
        failed[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Failed to pull image"))
    );

    let d = eventually(5, "ProgressDeadlineExceeded", || {
        let d = fake.object("Deployment", "default", "web")?;
        (condition(&d, "Progressing")?["reason"] == "ProgressDeadlineExceeded").then_some(d)
    })
    .await;
    assert_eq!(
        condition(&d, "Progressing").expect("progressing")["status"],
        "False"
    );
    assert_eq!(
        condition(&d, "Available").expect("available")["status"],
        "True",
        "the old pod still serves"
    );
    assert_eq!(d["status"]["availableReplicas"], 1);
    assert_eq!(
        pods_of(&fake, "web").len(),
        2,
        "old pod kept beside the failing one"
    );

    // Events are listed through the API like any other kind.
    let events_api: Api<DynamicObject> =
        Api::namespaced_with(fake.client(), "default", &resource("", "v1", "Event", "events"));
    let pod_name = pod["metadata"]["name"].as_str().expect("pod name");
    let list = events_api
        .list(&ListParams::default().fields(&format!("involvedObject.name={pod_name},reason=Failed")))
        .await
        .expect("events");
    assert_eq!(list.items.len(), 1);
}

#[tokio::test]
async fn a_crashing_container_is_in_crash_loop_back_off_with_restarts() {
    let fake = FakeKube::start().await;
    apply(
        &deployments(&fake),
        deployment("web", "crash:1", 1),
        &PatchParams::apply("ojek"),
    )
    .await
    .expect("create");
    let pod = eventually(5, "CrashLoopBackOff with two restarts", || {
        pods_of(&fake, "web").into_iter().find(|p| {
            let c = &p["status"]["containerStatuses"][0];
            c["state"]["waiting"]["reason"] == "CrashLoopBackOff" && c["restartCount"].as_i64() >= Some(2)
        })
    })
    .await;
    assert_eq!(
        pod["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"],
        1
    );
    let d = fake.object("Deployment", "default", "web").expect("deployment");
    assert_eq!(condition(&d, "Available").expect("available")["status"], "False");
    assert!(!events(&fake, "BackOff").is_empty());
}

#[tokio::test]
async fn an_unschedulable_pod_stays_pending_with_a_failed_scheduling_event() {
    let fake = FakeKube::start().await;
    let big = deployment("web", "unschedulable:1", 1);
    apply(&deployments(&fake), big, &PatchParams::apply("ojek"))
        .await
        .expect("create");
    let event = eventually(5, "FailedScheduling", || {
        events(&fake, "FailedScheduling").into_iter().next()
    })
    .await;
    assert_eq!(event["type"], "Warning");
    assert_eq!(event["source"]["component"], "default-scheduler");
    let pod = pods_of(&fake, "web").into_iter().next().expect("pod");
    assert_eq!(pod["status"]["phase"], "Pending");
    let scheduled = condition(&pod, "PodScheduled").expect("PodScheduled");
    assert_eq!(
        (scheduled["status"].as_str(), scheduled["reason"].as_str()),
        (Some("False"), Some("Unschedulable"))
    );
}

#[tokio::test]
async fn a_stateful_set_gets_ordinal_pods_and_reports_its_revision() {
    let fake = FakeKube::start().await;
    let api: Api<DynamicObject> = Api::namespaced_with(
        fake.client(),
        "default",
        &resource("apps", "v1", "StatefulSet", "statefulsets"),
    );
    let mut sts = deployment("db", "db:1", 2);
    sts["kind"] = json!("StatefulSet");
    sts["spec"]["serviceName"] = json!("db");
    apply(&api, sts, &PatchParams::apply("ojek"))
        .await
        .expect("create");
    let s = eventually(5, "ready statefulset", || {
        let s = fake.object("StatefulSet", "default", "db")?;
        (s["status"]["readyReplicas"] == 2 && s["status"]["currentRevision"] == s["status"]["updateRevision"])
            .then_some(s)
    })
    .await;
    assert_eq!(s["status"]["observedGeneration"], 1);
    let mut names: Vec<String> = pods_of(&fake, "db")
        .iter()
        .filter_map(|p| p["metadata"]["name"].as_str().map(String::from))
        .collect();
    names.sort();
    assert_eq!(names, ["db-0", "db-1"]);
}

#[tokio::test]
async fn jobs_complete_or_fail_after_their_backoff_limit() {
    let fake = FakeKube::start().await;
    let api: Api<DynamicObject> =
        Api::namespaced_with(fake.client(), "default", &resource("batch", "v1", "Job", "jobs"));
    let job = |name: &str, image: &str| {
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"backoffLimit": 1, "template": {"metadata": {"labels": {"ojek.dev/app": name}},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": image}]}}}})
    };
    apply(&api, job("migrate", "migrate:1"), &PatchParams::apply("ojek"))
        .await
        .expect("create");
    apply(&api, job("broken", "crash:1"), &PatchParams::apply("ojek"))
        .await
        .expect("create");
    let done = eventually(5, "Complete", || {
        let j = fake.object("Job", "default", "migrate")?;
        (condition(&j, "Complete")?["status"] == "True").then_some(j)
    })
    .await;
    assert_eq!(done["status"]["succeeded"], 1);
    assert!(done["status"]["completionTime"].is_string());
    let failed = eventually(5, "Failed", || {
        let j = fake.object("Job", "default", "broken")?;
        (condition(&j, "Failed")?["status"] == "True").then_some(j)
    })
    .await;
    assert_eq!(
        condition(&failed, "Failed").expect("failed")["reason"],
        "BackoffLimitExceeded"
    );
    assert_eq!(
        failed["status"]["failed"], 2,
        "backoffLimit 1: the first pod and one retry"
    );
    assert!(
        pods_of(&fake, "broken")
            .iter()
            .all(|p| p["status"]["phase"] == "Failed")
    );
}

#[tokio::test]
async fn fail_next_answers_the_next_requests_with_the_given_status() {
    let fake = FakeKube::start().await;
    // kube's default client retries 429/503/504 itself: two 503s are invisible to its caller.
    fake.fail_next(2, 503);
    config_maps(&fake)
        .list(&ListParams::default())
        .await
        .expect("retried past two 503s");

    let mut config = fake.config();
    config.default_retry = false;
    let client = kube::Client::try_from(config).expect("client without retries");
    let api: Api<DynamicObject> =
        Api::default_namespaced_with(client, &resource("", "v1", "ConfigMap", "configmaps"));
    fake.fail_next(2, 503);
    for _ in 0..2 {
        let err = api.list(&ListParams::default()).await.expect_err("injected");
        match err {
            kube::Error::Api(s) => assert_eq!((s.code, s.reason.as_str()), (503, "ServiceUnavailable")),
            other => panic!("expected a 503 Status, got {other:?}"),
        }
    }
    api.list(&ListParams::default())
        .await
        .expect("third request succeeds");
    fake.fail_next(1, 500);
    let status = api_error(config_maps(&fake).get("x").await);
    assert_eq!(
        (status.code, status.reason.as_str()),
        (500, "InternalError"),
        "500 is not retried"
    );
}

#[tokio::test]
async fn a_stopped_server_refuses_connections() {
    let mut fake = FakeKube::start().await;
    let api = config_maps(&fake);
    api.list(&ListParams::default()).await.expect("up");
    fake.stop().await;
    let err = api.list(&ListParams::default()).await.expect_err("down");
    assert!(
        !matches!(err, kube::Error::Api(_)),
        "a transport error, not an API answer: {err:?}"
    );
    let refused = tokio::net::TcpStream::connect(fake.addr())
        .await
        .expect_err("nothing listens");
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    assert!(
        fake.object("Namespace", "", "default").is_some(),
        "state stays readable"
    );
}

fn experiment(name: &str, app: &str) -> Value {
    json!({
        "apiVersion": "ojek.dev/v1alpha1",
        "kind": "Experiment",
        "metadata": {"name": name, "namespace": "promotions-staging", "labels": {"ojek.dev/app": app}},
        "spec": {
            "app": app,
            "environment": "staging",
            "baselineWeight": 80,
            "variants": [{"name": "rules-v2", "weight": 20}],
            "routing": {"istio": {}},
        },
        // Ignored by apply: the status is a subresource.
        "status": {"phase": "Failed"},
    })
}

/// ojek's `Experiment` custom resource is served like the built-in kinds, as if its CRD were
/// installed: discovery with the status subresource, server-side apply, GET and LIST (with
/// selectors, in a namespace and across them) through the typed kube API, the status written
/// only through `/status`, merge patches, DELETE; and `put` stores one with the status its
/// controller would have written (what `ojek up --demo` does).
#[tokio::test]
async fn experiments_are_served_with_a_status_subresource() {
    use ojek_experiments::{Experiment, Phase};

    let fake = FakeKube::start().await;
    let client = fake.client();
    let discovery: Value = reqwest::get(format!("{}/apis/ojek.dev/v1alpha1", fake.url()))
        .await
        .expect("discovery")
        .json()
        .await
        .expect("APIResourceList");
    let names: Vec<&str> = discovery["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(names, ["experiments", "experiments/status"]);
    let groups = Discovery::new(client.clone())
        .filter(&["ojek.dev"])
        .run()
        .await
        .expect("discovery");
    let (ar, caps) = groups
        .resolve_gvk(&GroupVersionKind::gvk("ojek.dev", "v1alpha1", "Experiment"))
        .expect("Experiment discovered");
    assert_eq!(ar.plural, "experiments");
    assert!(caps.scope == Scope::Namespaced);

    let api: Api<Experiment> = Api::namespaced(client.clone(), "promotions-staging");
    let exp: Experiment = serde_json::from_value(experiment("cashback", "promo-gateway")).expect("typed");
    let status = match api
        .patch("cashback", &PatchParams::apply("kubectl"), &Patch::Apply(&exp))
        .await
    {
        Err(kube::Error::Api(s)) => s,
        other => panic!("expected 404 for a missing namespace, got {other:?}"),
    };
    assert_eq!(status.code, 404);
    let ns: Api<DynamicObject> =
        Api::all_with(client.clone(), &resource("", "v1", "Namespace", "namespaces"));
    ns.create(
        &PostParams::default(),
        &dynamic(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "promotions-staging"}}),
        ),
    )
    .await
    .expect("namespace");

    let created = api
        .patch("cashback", &PatchParams::apply("kubectl"), &Patch::Apply(&exp))
        .await
        .expect("apply");
    assert_eq!(created.status, None, "apply to the main resource ignores status");
    assert_eq!(created.metadata.generation, Some(1));
    assert_eq!(created.spec.variants[0].name, "rules-v2");

    // The controller writes the status through the subresource; the spec stays.
    let patched = api
        .patch_status(
            "cashback",
            &PatchParams::default(),
            &Patch::Merge(json!({
                "spec": {"baselineWeight": 1},
                "status": {"phase": "Running", "summary": "baseline=80 rules-v2=20",
                    "variants": [{"name": "baseline", "namespace": "promotions-staging", "desiredReplicas": 2,
                        "readyReplicas": 2, "weight": 80}]},
            })),
        )
        .await
        .expect("status patch");
    let status = patched.status.clone().expect("status");
    assert_eq!(status.phase, Some(Phase::Running));
    assert_eq!(status.variants[0].ready_replicas, 2);
    assert_eq!(patched.spec.baseline_weight, 80);
    assert_eq!(patched.metadata.generation, Some(1));
    let read = api.get_status("cashback").await.expect("GET /status");
    assert_eq!(read.status, patched.status);

    // A merge patch of the spec bumps the generation and keeps the status.
    let spec_patched = api
        .patch(
            "cashback",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"baselineWeight": 60}, "status": {"phase": "Failed"}})),
        )
        .await
        .expect("merge patch");
    assert_eq!(spec_patched.spec.baseline_weight, 60);
    assert_eq!(spec_patched.metadata.generation, Some(2));
    assert_eq!(spec_patched.status, patched.status);

    // LIST, with selectors, here and across namespaces.
    let other: Experiment = serde_json::from_value(experiment("other", "driver-location")).expect("typed");
    api.patch("other", &PatchParams::apply("kubectl"), &Patch::Apply(&other))
        .await
        .expect("apply another");
    let names = |list: kube::api::ObjectList<Experiment>| -> Vec<String> {
        list.items.into_iter().filter_map(|e| e.metadata.name).collect()
    };
    let all = api.list(&ListParams::default()).await.expect("list");
    assert_eq!(names(all), ["cashback", "other"]);
    let by_label = api
        .list(&ListParams::default().labels("ojek.dev/app=promo-gateway"))
        .await
        .expect("list by label");
    assert_eq!(names(by_label), ["cashback"]);
    let by_field = api
        .list(&ListParams::default().fields("spec.app=driver-location"))
        .await
        .expect("list by field");
    assert_eq!(names(by_field), ["other"]);
    let everywhere: Api<Experiment> = Api::all(client.clone());
    let listed = everywhere.list(&ListParams::default()).await.expect("list all");
    assert_eq!(listed.items.len(), 2);
    assert_eq!(listed.items[0].status, patched.status, "LIST has the status too");

    // DELETE.
    api.delete("other", &DeleteParams::default())
        .await
        .expect("delete");
    assert!(api.get_opt("other").await.expect("get").is_none());
    assert!(fake.object("Experiment", "promotions-staging", "other").is_none());

    // `put`: stored with its status, as the controller would have left it.
    let mut demo = experiment("demo", "promo-gateway");
    demo["status"] = json!({"phase": "Running", "startedAt": "2026-01-01T00:00:00Z"});
    let stored = fake.put(demo.clone()).expect("put");
    assert_eq!(stored["metadata"]["generation"], 1);
    let read = api.get("demo").await.expect("GET");
    let status = read.status.expect("status kept");
    assert_eq!(
        (status.phase, status.started_at.as_deref()),
        (Some(Phase::Running), Some("2026-01-01T00:00:00Z"))
    );
    demo["status"]["phase"] = json!("Concluded");
    let replaced = fake.put(demo).expect("put again");
    assert_eq!(replaced["metadata"]["uid"], stored["metadata"]["uid"]);
    assert_eq!(replaced["status"]["phase"], "Concluded");
    let mut elsewhere = experiment("x", "promo-gateway");
    elsewhere["metadata"]["namespace"] = json!("nowhere");
    assert!(fake.put(elsewhere).is_err(), "its namespace must exist");
    assert!(
        fake.put(json!({"kind": "Thing", "metadata": {"name": "x"}}))
            .is_err()
    );
}
