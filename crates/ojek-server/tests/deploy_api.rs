//! Plan, deploy, roll back, history and status through the API, against the fake clusters of
//! `ojek-fake-cluster`: the stored platform file (the example's) with staging's Kubernetes
//! cluster pointed at a kubeconfig for `FakeKube` and production-dc's Nomad cluster at
//! `FakeNomad` (its ACL token in a file); both paths relative to the server's data directory.

#[macro_use]
mod common;

use std::time::Duration;

use common::Db;
use common::clusters::*;
use ojek_fake_cluster::kube::FakeKube;
use ojek_fake_cluster::nomad::FakeNomad;
use reqwest::Method;
use serde_json::{Value, json};

both!(
    kubernetes_deploy_and_rollback,
    nomad_deploy_and_rollback,
    kubernetes_conflict_timeout_and_concurrent_deploys,
    kubernetes_failed_migration_stops_the_rollout
);

fn status_of(status: &Value, env: &str) -> Value {
    status["environments"]
        .as_array()
        .expect("environments")
        .iter()
        .find(|e| e["environment"] == env)
        .cloned()
        .unwrap_or_else(|| panic!("no status for {env}: {status}"))
}

async fn kubernetes_deploy_and_rollback(db: Db) {
    let Some(s) = common::server(db, false).await else {
        return;
    };
    let mut kube = FakeKube::start().await;
    point_platform_at(&s, &kube.url(), "http://127.0.0.1:9").await;
    let (editor, viewer, outsider) = setup(&s).await;
    let deployments = format!("/api/apps/{APP}/deployments");

    // Plan (a viewer may): everything is created; nothing is written.
    let plan = viewer
        .post(
            &format!("/api/apps/{APP}/plan"),
            &json!({ "environment": "staging" }),
        )
        .await
        .expect(200);
    assert_eq!(plan["target"], "kubernetes");
    assert_eq!(plan["cluster"], "staging (fake)");
    assert_eq!(plan["revision"], 1);
    assert_eq!(plan["hasChanges"], true);
    assert!(
        plan["plan"]["objects"]
            .as_array()
            .expect("objects")
            .iter()
            .any(|o| o["kind"] == "Deployment" && o["action"] == "create"),
        "{plan}"
    );
    assert!(
        plan["text"]
            .as_str()
            .expect("text")
            .contains("+ Deployment/driver-location-web\n"),
        "{plan}"
    );
    assert!(kube.objects("Deployment").is_empty(), "a plan must not write");

    // A viewer cannot deploy; another team does not see the app.
    viewer
        .post(&deployments, &json!({ "environment": "staging" }))
        .await
        .expect_error(403, "forbidden");
    outsider
        .post(&deployments, &json!({ "environment": "staging" }))
        .await
        .expect_error(404, "not_found");
    outsider
        .get(&format!("/api/apps/{APP}/status"))
        .await
        .expect_error(404, "not_found");
    editor
        .post(&deployments, &json!({ "environment": "nowhere" }))
        .await
        .expect_error(400, "bad_request");
    editor
        .post(&deployments, &json!({ "environment": "staging", "wait": "11m" }))
        .await
        .expect_error(400, "bad_request");

    // Deploy revision 1.
    let first = editor
        .post(&deployments, &json!({ "environment": "staging", "wait": "30s" }))
        .await
        .expect(201);
    assert_eq!(first["result"], "succeeded", "{first}");
    assert_eq!(first["kind"], "apply");
    assert_eq!(first["revision"], 1);
    assert_eq!(first["actor"], "edna");
    assert_eq!(first["target"], "kubernetes");
    assert!(first["hash"].as_str().is_some_and(|h| h.len() == 64), "{first}");
    assert!(
        first["summary"]
            .as_str()
            .expect("summary")
            .starts_with("revision 1 on staging (fake)")
    );
    let deployment = kube
        .object("Deployment", KUBE_NAMESPACE, "driver-location-web")
        .expect("applied");
    assert_eq!(deployment["metadata"]["annotations"]["ojek.dev/revision"], "1");
    assert_eq!(kube_image(&kube), STAGING_IMAGE);

    let status = viewer.get(&format!("/api/apps/{APP}/status")).await.expect(200);
    let staging = status_of(&status, "staging");
    assert_eq!(staging["lastSucceeded"]["revision"], 1);
    assert_eq!(staging["last"]["result"], "succeeded");

    // The record with its report; another team's caller cannot read it.
    let id = first["id"].as_i64().expect("id");
    let one = viewer.get(&format!("{deployments}/{id}")).await.expect(200);
    assert!(one["report"]["objects"].is_array(), "{one}");
    outsider
        .get(&format!("{deployments}/{id}"))
        .await
        .expect_error(404, "not_found");
    viewer
        .get(&format!("{deployments}/{}", id + 1000))
        .await
        .expect_error(404, "not_found");

    // Revision 2 with a new image.
    let v2_image = STAGING_IMAGE.replace("2.15.0-rc.1", "2.15.0");
    save_revision(&editor, manifest().replace(STAGING_IMAGE, &v2_image), 1).await;
    let second = editor
        .post(&deployments, &json!({ "environment": "staging", "wait": "30s" }))
        .await
        .expect(201);
    assert_eq!(second["result"], "succeeded", "{second}");
    assert_eq!(second["revision"], 2);
    assert_eq!(kube_image(&kube), v2_image);

    // Roll back: to revision 1 by default.
    let back = editor
        .post(
            &format!("/api/apps/{APP}/rollback"),
            &json!({ "environment": "staging", "wait": "30s" }),
        )
        .await
        .expect(201);
    assert_eq!(back["result"], "succeeded", "{back}");
    assert_eq!(back["kind"], "rollback");
    assert_eq!(back["revision"], 1);
    assert_eq!(kube_image(&kube), STAGING_IMAGE);
    let deployment = kube
        .object("Deployment", KUBE_NAMESPACE, "driver-location-web")
        .expect("applied");
    assert_eq!(deployment["metadata"]["annotations"]["ojek.dev/revision"], "1");

    // Forward again to revision 2.
    let again = editor
        .post(
            &deployments,
            &json!({ "environment": "staging", "revision": 2, "wait": "30s" }),
        )
        .await
        .expect(201);
    assert_eq!(again["result"], "succeeded", "{again}");

    // History, newest first, filtered and paged.
    let list = viewer
        .get(&format!("{deployments}?environment=staging"))
        .await
        .expect(200);
    let list = list["deployments"].as_array().expect("list").clone();
    let kinds: Vec<(&str, i64)> = list
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap_or(""),
                d["revision"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(kinds, [("apply", 2), ("rollback", 1), ("apply", 2), ("apply", 1)]);
    assert!(list.iter().all(|d| d["report"].is_null()));
    let page = viewer
        .get(&format!("{deployments}?limit=1&before={}", list[0]["id"]))
        .await
        .expect(200);
    assert_eq!(page["deployments"][0]["kind"], "rollback");

    // The audit log has the deploys.
    let audit = s
        .admin_session()
        .await
        .get(&format!("/api/audit?app={APP}"))
        .await
        .expect(200);
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .map(|e| e.iter().filter_map(|e| e["action"].as_str()).collect())
        .unwrap_or_default();
    assert!(actions.contains(&"deploy.rollback"), "{audit}");
    assert!(actions.contains(&"deploy.apply"), "{audit}");

    // An unpullable image: the record says failed, with the reason.
    save_revision(
        &editor,
        manifest().replace(STAGING_IMAGE, "registry.gojek.io/fail-pull:1"),
        2,
    )
    .await;
    let failed = editor
        .post(&deployments, &json!({ "environment": "staging", "wait": "20s" }))
        .await
        .expect(201);
    assert_eq!(failed["result"], "failed", "{failed}");
    assert_eq!(failed["revision"], 3);
    assert!(
        failed["summary"]
            .as_str()
            .expect("summary")
            .contains("ImagePullBackOff"),
        "{failed}"
    );

    // The cluster goes away: 503, recorded as unreachable, still running revision 2.
    kube.stop().await;
    let err = editor
        .post(&deployments, &json!({ "environment": "staging", "revision": 2 }))
        .await
        .expect_error(503, "cluster_unreachable");
    assert_eq!(err["deployment"]["result"], "unreachable", "{err}");
    assert!(err["deployment"]["hash"].is_null());
    let staging = status_of(
        &viewer.get(&format!("/api/apps/{APP}/status")).await.expect(200),
        "staging",
    );
    assert_eq!(staging["last"]["result"], "unreachable");
    assert_eq!(staging["lastSucceeded"]["revision"], 2);
    viewer
        .post(
            &format!("/api/apps/{APP}/plan"),
            &json!({ "environment": "staging" }),
        )
        .await
        .expect_error(503, "cluster_unreachable");

    // Unknown fields are refused, not ignored.
    editor
        .post(
            &format!("/api/apps/{APP}/plan"),
            &json!({ "environment": "staging", "revison": 1 }),
        )
        .await
        .expect_error(400, "bad_request");
}

async fn nomad_deploy_and_rollback(db: Db) {
    let Some(s) = common::server(db, false).await else {
        return;
    };
    let nomad = fake_nomad().await;
    point_platform_at(&s, "http://127.0.0.1:9", &nomad.url()).await;
    let (editor, _viewer, _outsider) = setup(&s).await;
    let deployments = format!("/api/apps/{APP}/deployments");
    let env = "production-dc";

    let plan = editor
        .post(&format!("/api/apps/{APP}/plan"), &json!({ "environment": env }))
        .await
        .expect(200);
    assert_eq!(plan["target"], "nomad", "{plan}");
    assert_eq!(plan["hasChanges"], true, "{plan}");
    assert!(plan["text"].as_str().expect("text").contains(NOMAD_JOB), "{plan}");

    let first = editor
        .post(&deployments, &json!({ "environment": env, "wait": "30s" }))
        .await
        .expect(201);
    assert_eq!(first["result"], "succeeded", "{first}");
    assert_eq!(first["target"], "nomad");
    let image = |nomad: &FakeNomad| {
        let job = nomad.job(NOMAD_NAMESPACE, NOMAD_JOB).expect("job registered");
        (
            job["TaskGroups"][0]["Tasks"][0]["Config"]["image"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            job["Meta"]["ojek.dev/revision"].clone(),
        )
    };
    assert_eq!(image(&nomad), (BASE_IMAGE.to_string(), json!("1")));

    save_revision(
        &editor,
        manifest().replace(BASE_IMAGE, "registry.gojek.io/fulfilment/driver-location:2.14.1"),
        1,
    )
    .await;
    let second = editor
        .post(&deployments, &json!({ "environment": env, "wait": "30s" }))
        .await
        .expect(201);
    assert_eq!(second["result"], "succeeded", "{second}");
    assert_eq!(image(&nomad).1, json!("2"));

    editor
        .post(&deployments, &json!({ "environment": env, "force": true }))
        .await
        .expect_error(400, "bad_request");

    let back = editor
        .json(
            Method::POST,
            &format!("/api/apps/{APP}/rollback"),
            &json!({ "environment": env, "wait": "30s" }),
        )
        .await
        .expect(201);
    assert_eq!(back["result"], "succeeded", "{back}");
    assert_eq!(back["kind"], "rollback");
    assert_eq!(back["revision"], 1);
    assert_eq!(image(&nomad), (BASE_IMAGE.to_string(), json!("1")));
    let one = editor
        .get(&format!("{deployments}/{}", back["id"]))
        .await
        .expect(200);
    assert_eq!(one["report"]["jobs"][0]["job_id"], NOMAD_JOB, "{one}");
}

/// `kubectl apply --server-side --force-conflicts` of a hotfix image by someone else.
async fn kubectl_hotfix(kube: &FakeKube, image: &str) {
    let url = format!(
        "{}/apis/apps/v1/namespaces/{KUBE_NAMESPACE}/deployments/driver-location-web?fieldManager=kubectl&force=true",
        kube.url()
    );
    let body = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "driver-location-web"},
        "spec": {"template": {"spec": {"containers": [{"name": "web", "image": image}]}}}
    });
    let resp = reqwest::Client::new()
        .patch(url)
        .header("content-type", "application/apply-patch+yaml")
        .body(body.to_string())
        .send()
        .await
        .expect("kubectl apply");
    assert!(
        resp.status().is_success(),
        "{}",
        resp.text().await.unwrap_or_default()
    );
}

async fn kubernetes_conflict_timeout_and_concurrent_deploys(db: Db) {
    let Some(s) = common::server(db, false).await else {
        return;
    };
    let kube = FakeKube::start().await;
    point_platform_at(&s, &kube.url(), "http://127.0.0.1:9").await;
    let (editor, viewer, _outsider) = setup(&s).await;
    let deployments = format!("/api/apps/{APP}/deployments");
    // A deploy names the platform file's version of its plan; a stale one is refused.
    let plan = viewer
        .post(
            &format!("/api/apps/{APP}/plan"),
            &json!({ "environment": "staging" }),
        )
        .await
        .expect(200);
    let version = plan["platformVersion"].as_i64().expect("platformVersion");
    editor
        .post(
            &deployments,
            &json!({ "environment": "staging", "platformVersion": version - 1 }),
        )
        .await
        .expect_error(409, "platform_changed");
    let first = editor
        .post(
            &deployments,
            &json!({ "environment": "staging", "wait": "30s", "platformVersion": version }),
        )
        .await
        .expect(201);
    assert_eq!(first["result"], "succeeded", "{first}");

    // Someone else took the image field: the plan shows it, the deploy is a conflict that names
    // the field and its manager and changes nothing; forcing takes the field back.
    kubectl_hotfix(&kube, "hotfix:1").await;
    let plan = viewer
        .post(
            &format!("/api/apps/{APP}/plan"),
            &json!({ "environment": "staging" }),
        )
        .await
        .expect(200);
    let text = plan["text"].as_str().expect("text");
    assert!(
        text.contains("! .spec.template.spec.containers[name=\"web\"].image is owned by kubectl"),
        "{text}"
    );
    let conflict = editor
        .post(&deployments, &json!({ "environment": "staging", "wait": "30s" }))
        .await
        .expect(201);
    assert_eq!(conflict["result"], "conflict", "{conflict}");
    let summary = conflict["summary"].as_str().expect("summary");
    assert!(
        summary.contains("kubectl") && summary.contains("image"),
        "{summary}"
    );
    assert!(conflict["hash"].is_null(), "nothing was applied: {conflict}");
    assert_eq!(kube_image(&kube), "hotfix:1");
    let report = editor
        .get(&format!("{deployments}/{}", conflict["id"]))
        .await
        .expect(200);
    let objects = report["report"]["objects"].as_array().expect("objects");
    assert!(
        objects
            .iter()
            .any(|o| o["kind"] == "Deployment" && o["result"] == "failed"),
        "the report names the object that failed: {report}"
    );
    assert!(
        objects
            .iter()
            .all(|o| o["result"] != "created" && o["result"] != "updated"),
        "{report}"
    );
    let forced = editor
        .post(
            &deployments,
            &json!({ "environment": "staging", "force": true, "wait": "30s" }),
        )
        .await
        .expect(201);
    assert_eq!(forced["result"], "succeeded", "{forced}");
    assert_eq!(kube_image(&kube), STAGING_IMAGE);
    let status = viewer.get(&format!("/api/apps/{APP}/status")).await.expect(200);
    assert_eq!(status_of(&status, "staging")["lastSucceeded"]["id"], forced["id"]);

    // Nobody acts on the rollout: a timeout, recorded as such with what was reached.
    kube.set_controller(false);
    save_revision(
        &editor,
        manifest().replace(
            STAGING_IMAGE,
            "registry.gojek.io/fulfilment/driver-location:2.16.0",
        ),
        1,
    )
    .await;
    let slow = editor
        .post(&deployments, &json!({ "environment": "staging", "wait": "1s" }))
        .await
        .expect(201);
    assert_eq!(slow["result"], "timeout", "{slow}");
    assert!(
        slow["summary"]
            .as_str()
            .expect("summary")
            .starts_with("rollout timed out: Deployment/driver-location-web"),
        "{slow}"
    );
    assert!(
        slow["hash"].as_str().is_some(),
        "the objects were applied: {slow}"
    );

    // While a deployment runs, another one to the same environment is refused with 409.
    let running = {
        let editor = editor.clone();
        let path = deployments.clone();
        tokio::spawn(async move {
            editor
                .post(&path, &json!({ "environment": "staging", "wait": "3s" }))
                .await
        })
    };
    let mut refused = None;
    for _ in 0..100 {
        let listed = viewer
            .get(&format!("{deployments}?environment=staging"))
            .await
            .expect(200);
        if listed["deployments"][0]["result"] == "running" {
            refused = Some(
                editor
                    .post(&deployments, &json!({ "environment": "staging", "wait": "3s" }))
                    .await,
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let refused = refused.expect("the first deployment was seen running");
    refused.expect_error(409, "deployment_running");
    let first = running.await.expect("join");
    assert_eq!(first.expect(201)["result"], "timeout");
    kube.set_controller(true);
    let listed = viewer
        .get(&format!("{deployments}?environment=staging"))
        .await
        .expect(200);
    assert_eq!(
        listed["deployments"].as_array().expect("list").len(),
        5,
        "the refused one is not recorded: {listed}"
    );
}

/// payments: a migration Job that fails stops the deploy before the API's Deployment is
/// applied; the record says so and has no hash (not everything was applied). Fixed, the Job
/// runs again and the API rolls out.
async fn kubernetes_failed_migration_stops_the_rollout(db: Db) {
    let Some(s) = common::server(db, false).await else {
        return;
    };
    let kube = FakeKube::start().await;
    point_platform_at(&s, &kube.url(), "http://127.0.0.1:9").await;
    let team = s.team("payments").await;
    let user = s.user("pia", false).await;
    s.member(&team, &user, ojek_store::Role::Editor).await;
    let editor = s.session(&user).await;
    let manifest = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/payments-migrate.yaml"
    ))
    .expect("example");
    let image = "registry.gojek.io/payments/payments:5.7.0";
    // Only the migration (the first process) gets the crashing image.
    let broken = manifest.replacen(image, "registry.gojek.io/payments/crash:5.7.0", 1);
    editor
        .post("/api/apps", &json!({ "manifest": broken, "message": "first" }))
        .await
        .expect(201);
    let deployments = "/api/apps/payments/deployments";
    let failed = editor
        .post(deployments, &json!({ "environment": "staging", "wait": "30s" }))
        .await
        .expect(201);
    assert_eq!(failed["result"], "failed", "{failed}");
    let summary = failed["summary"].as_str().expect("summary");
    assert!(summary.contains("Job/payments-migrate"), "{summary}");
    assert!(summary.contains("not applied because of it"), "{summary}");
    assert!(failed["hash"].is_null(), "not everything was applied: {failed}");
    assert!(
        kube.objects("Deployment").is_empty(),
        "the API is not rolled out over a failed migration"
    );
    let record = editor
        .get(&format!("{deployments}/{}", failed["id"]))
        .await
        .expect(200);
    let skipped: Vec<&Value> = record["report"]["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .filter(|o| o["result"] == "skipped")
        .collect();
    assert!(skipped.iter().any(|o| o["kind"] == "Deployment"), "{record}");
    assert!(
        skipped.iter().all(|o| o["reason"]
            .as_str()
            .is_some_and(|r| r.contains("Job/payments-migrate"))),
        "{record}"
    );

    editor
        .put(
            "/api/apps/payments",
            &json!({ "manifest": manifest, "baseRevision": 1, "message": "fix the migration" }),
        )
        .await
        .expect(200);
    let fixed = editor
        .post(deployments, &json!({ "environment": "staging", "wait": "30s" }))
        .await
        .expect(201);
    assert_eq!(fixed["result"], "succeeded", "{fixed}");
    assert!(fixed["hash"].as_str().is_some());
    assert_eq!(kube.objects("Deployment").len(), 1);
}

both!(experiments_with_log_counts_per_variant);

/// The fake's Kubernetes API as a client other than ojek would call it (kubectl, the
/// experiments controller): JSON over plain HTTP.
async fn kube_call(kube: &FakeKube, method: Method, path: &str, content_type: &str, body: &Value) -> Value {
    let resp = reqwest::Client::new()
        .request(method.clone(), format!("{}{path}", kube.url()))
        .header("content-type", content_type)
        .body(body.to_string())
        .send()
        .await
        .expect("the fake answers");
    let status = resp.status();
    let answer: Value = resp.json().await.expect("JSON");
    assert!(status.is_success(), "{method} {path}: {status} {answer}");
    answer
}

/// Applies an Experiment as kubectl would (server-side apply).
async fn apply_experiment(kube: &FakeKube, namespace: &str, name: &str, app: &str, env: &str) {
    let body = json!({
        "apiVersion": "ojek.dev/v1alpha1",
        "kind": "Experiment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "app": app,
            "environment": env,
            "baselineWeight": 70,
            "variants": [
                {"name": "h3", "weight": 10, "match": {"header": {"name": "x-geo-index", "value": "h3"}}},
                {"name": "h3-cache", "weight": 20},
            ],
            "routing": {"istio": {}},
            "duration": "72h",
        },
    });
    kube_call(
        kube,
        Method::PATCH,
        &format!("/apis/ojek.dev/v1alpha1/namespaces/{namespace}/experiments/{name}?fieldManager=kubectl"),
        "application/apply-patch+yaml",
        &body,
    )
    .await;
}

/// An Experiment in the fake cluster with the status its controller keeps, log lines of its
/// variants shipped through the real ingest: the experiments of the app in an environment,
/// with exact counts and error rates per variant since it started; only the app's own
/// experiments in its namespace; viewers only (another team gets a 404); clear errors for a
/// Nomad environment and a cluster that is gone.
async fn experiments_with_log_counts_per_variant(db: Db) {
    const SECRET: &str = "ojek-log-secret-for-experiment-tests-0123";
    let Some(s) = common::server(db, false).await else {
        return;
    };
    let mut kube = FakeKube::start().await;
    point_platform_at(&s, &kube.url(), "http://127.0.0.1:9").await;
    let (_editor, viewer, outsider) = setup(&s).await;
    let team = s
        .store()
        .team_by_name("fulfilment")
        .await
        .expect("store")
        .expect("team");
    s.log_secret(&team, Some(APP), "shipper", SECRET).await;
    let path = format!("/api/apps/{APP}/experiments?environment=staging");

    // None yet: the cluster serves Experiments, the app has none.
    let none = viewer.get(&path).await.expect(200);
    assert_eq!(
        (&none["namespace"], &none["installed"], &none["experiments"]),
        (&json!(KUBE_NAMESPACE), &json!(true), &json!([])),
        "{none}"
    );
    assert_eq!(none["cluster"], "staging (fake)");

    // The app's experiment, and others that are not its own in this environment.
    kube_call(
        &kube,
        Method::POST,
        "/api/v1/namespaces",
        "application/json",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": KUBE_NAMESPACE}}),
    )
    .await;
    kube_call(
        &kube,
        Method::POST,
        "/api/v1/namespaces",
        "application/json",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "elsewhere"}}),
    )
    .await;
    apply_experiment(&kube, KUBE_NAMESPACE, "geo-index", APP, "staging").await;
    apply_experiment(&kube, KUBE_NAMESPACE, "in-production", APP, "production").await;
    apply_experiment(&kube, KUBE_NAMESPACE, "another-app", "payments", "staging").await;
    apply_experiment(&kube, "elsewhere", "not-in-the-apps-namespace", APP, "staging").await;

    // Its controller's status: running for an hour.
    let now = ojek_server::auth::now_ms();
    let started = now - 3_600_000;
    let rfc3339 = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .expect("time")
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    let variant = |name: &str, ns: &str, ready: u32, weight: u32| json!({"name": name, "namespace": ns, "desiredReplicas": 2, "readyReplicas": ready, "weight": weight});
    kube_call(
        &kube,
        Method::PATCH,
        &format!("/apis/ojek.dev/v1alpha1/namespaces/{KUBE_NAMESPACE}/experiments/geo-index/status"),
        "application/merge-patch+json",
        &json!({"status": {
            "phase": "Running",
            "startedAt": rfc3339(started),
            "summary": "baseline=70 h3=10 h3-cache=20",
            "variants": [
                variant("baseline", KUBE_NAMESPACE, 2, 70),
                variant("h3", "driver-location-staging-h3", 2, 10),
                variant("h3-cache", "driver-location-staging-h3-cache", 1, 20),
            ],
            "conditions": [{"type": "Ready", "status": "True", "reason": "AllVariantsReady",
                "message": "every variant is ready", "lastTransitionTime": rfc3339(started)}],
        }}),
    )
    .await;

    // Lines during the experiment: the baseline 40 (2 errors), h3 10 (1 error, its variant
    // from the pod label as Fluent Bit ships it), h3-cache 20 (5 errors); lines of h3 from
    // before it started and of another environment do not count.
    let line = |i: i64, at: i64, error: bool, how: &str| {
        let mut l = json!({
            "@timestamp": at + i * 1000,
            "message": format!("request {i}"),
            "level": if error { "error" } else { "info" },
        });
        match how {
            "h3" => l["kubernetes"] = json!({"labels": {"ojek.dev/variant": "h3"}}),
            "h3-cache" => l["variant"] = json!("h3-cache"),
            _ => {}
        }
        l
    };
    let during = now - 30 * 60_000;
    let mut staging: Vec<Value> = Vec::new();
    staging.extend((0..40).map(|i| line(i, during, i < 2, "baseline")));
    staging.extend((0..10).map(|i| line(i, during, i == 0, "h3")));
    staging.extend((0..20).map(|i| line(i, during, i % 4 == 0, "h3-cache")));
    staging.extend((0..7).map(|i| line(i, started - 3_600_000, true, "h3")));
    let production: Vec<Value> = (0..9).map(|i| line(i, during, true, "h3")).collect();
    for (env, lines) in [("staging", staging), ("production", production)] {
        let resp = reqwest::Client::new()
            .post(s.url("/produce_batch"))
            .header("X-App-Secret", SECRET)
            .header("X-Ojek-Env", env)
            .json(&json!({ "items": lines }))
            .send()
            .await
            .expect("produce");
        assert_eq!(resp.status().as_u16(), 200);
    }
    s.server
        .state
        .logs
        .clone()
        .expect("logs")
        .store
        .flush()
        .expect("flush");

    let found = viewer.get(&path).await.expect(200);
    let experiments = found["experiments"].as_array().expect("experiments");
    assert_eq!(
        experiments.len(),
        1,
        "only the app's own, in its namespace: {found}"
    );
    let exp = &experiments[0];
    assert_eq!(
        (&exp["name"], &exp["namespace"]),
        (&json!("geo-index"), &json!(KUBE_NAMESPACE))
    );
    assert_eq!(exp["status"]["phase"], "Running");
    assert_eq!(exp["status"]["summary"], "baseline=70 h3=10 h3-cache=20");
    assert_eq!(exp["status"]["conditions"][0]["reason"], "AllVariantsReady");
    assert_eq!(exp["spec"], json!({"routing": "istio", "duration": "72h"}));
    assert_eq!(exp["window"]["sinceStart"], true);
    assert_eq!(exp["window"]["from"], started);
    assert!(found.get("logsError").is_none(), "{found}");
    let side_by_side: Vec<(&str, &str, u64, u64, u64, u64, f64)> = exp["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap_or_default(),
                v["query"].as_str().unwrap_or_default(),
                v["weight"].as_u64().unwrap_or(999),
                v["readyReplicas"].as_u64().unwrap_or(999),
                v["lines"].as_u64().unwrap_or(999),
                v["errors"].as_u64().unwrap_or(999),
                v["errorRate"].as_f64().unwrap_or(-1.0),
            )
        })
        .collect();
    assert_eq!(
        side_by_side,
        [
            ("baseline", "NOT variant:*", 70, 2, 40, 2, 0.05),
            ("h3", "variant:\"h3\"", 10, 2, 10, 1, 0.1),
            ("h3-cache", "variant:\"h3-cache\"", 20, 1, 20, 5, 0.25),
        ],
        "{exp}"
    );
    assert_eq!(exp["variants"][1]["pinnedBy"], "header x-geo-index: h3");
    assert_eq!(exp["variants"][0]["baseline"], true);

    // The counting is audited like other log reads.
    let audit = s.admin_session().await.get("/api/audit").await.expect(200);
    assert!(
        audit["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .any(|e| e["action"] == "logs.search"
                && e["after"].as_str().is_some_and(|a| a.contains("\"experiments\""))),
        "{audit}"
    );

    // Another team's user does not see the app; bad environments say why.
    outsider.get(&path).await.expect_error(404, "not_found");
    viewer
        .get(&format!("/api/apps/{APP}/experiments?environment=nowhere"))
        .await
        .expect_error(400, "bad_request");
    viewer
        .get(&format!("/api/apps/{APP}/experiments?environment=production-dc"))
        .await
        .expect_error(422, "not_kubernetes");

    // The cluster goes away: 503 with the reason, as for the live status.
    kube.stop().await;
    let err = viewer.get(&path).await.expect_error(503, "cluster_unreachable");
    assert!(
        err["error"]
            .as_str()
            .is_some_and(|m| m.contains("staging (fake)")),
        "{err}"
    );
    // The page says so too, with the environments to pick from.
    let page = viewer
        .get(&format!("/apps/{APP}/experiments?environment=staging"))
        .await;
    assert_eq!(page.status, 503);
    assert!(
        page.text.contains("The cluster cannot be reached."),
        "{}",
        page.text
    );
    assert!(page.text.contains("id=\"env-picker\""), "{}", page.text);
}
