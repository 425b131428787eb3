//! The controller against kube's `tower_test` mock API server: every scenario calls
//! `reconcile` as the kube-runtime Controller would, and checks the requests it made, the
//! objects it left, and the status it wrote.

mod common;

use std::sync::Arc;

use common::{FakeSource, Mock, context, example, experiment_path};
use kube::runtime::controller::Action;
use ojek_experiments::Phase;
use ojek_experiments_controller::{FINALIZER, backoff, error_policy, reconcile};
use serde_json::{Value, json};

const NS: &str = "promotions-production";
const NAME: &str = "cashback-engine";
const SHARD_B: &str = "promo-gateway-production-rules-v2";
const SHARD_C: &str = "promo-gateway-production-rules-v2-cache";
const ROUTE: &str =
    "/apis/gateway.networking.k8s.io/v1/namespaces/promotions-production/httproutes/promo-gateway-web";
const NOW: &str = "2026-11-26T08:00:00Z";

/// The mock with the example Experiment stored, and a source with promo-gateway.
fn setup() -> (
    Mock,
    Arc<FakeSource>,
    Arc<ojek_experiments_controller::Context>,
    common::Clock,
) {
    let (client, mock) = Mock::start();
    mock.put(&experiment_path(NS, NAME), example("promo-gateway-cashback"));
    // One of the Secrets the shards read; the others do not exist (and are skipped).
    mock.put(
        "/api/v1/namespaces/promotions-production/secrets/promo-gateway-keys",
        json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
               "metadata": {"name": "promo-gateway-keys", "namespace": NS},
               "data": {"signing-key": "c2VjcmV0"}}),
    );
    let source = FakeSource::new(Some(common::app("promo-gateway")));
    let (ctx, clock) = context(client, source.clone(), NOW);
    (mock, source, ctx, clock)
}

async fn run(mock: &Mock, ctx: &Arc<ojek_experiments_controller::Context>) -> Result<Action, String> {
    let exp = mock.experiment(NS, NAME).expect("the Experiment is stored");
    reconcile(Arc::new(exp), ctx.clone())
        .await
        .map_err(|e| e.to_string())
}

/// Runs reconciles until the finalizer is on and the first real pass is done.
async fn started(mock: &Mock, ctx: &Arc<ojek_experiments_controller::Context>) {
    run(mock, ctx).await.expect("finalizer added");
    run(mock, ctx).await.expect("first apply");
    mock.take_calls();
}

fn lines(calls: &[common::Call]) -> Vec<String> {
    calls.iter().map(common::Call::line).collect()
}

fn status(mock: &Mock) -> ojek_experiments::ExperimentStatus {
    mock.experiment(NS, NAME)
        .and_then(|e| e.status)
        .expect("a status")
}

fn route_weights(mock: &Mock) -> Vec<(String, i64)> {
    let route = mock.get(ROUTE).expect("the route");
    let rules = route
        .pointer("/spec/rules")
        .and_then(Value::as_array)
        .expect("rules");
    let weighted = rules.last().expect("a weighted rule");
    weighted["backendRefs"]
        .as_array()
        .expect("backends")
        .iter()
        .map(|b| {
            (
                b.get("namespace")
                    .and_then(Value::as_str)
                    .unwrap_or(NS)
                    .to_string(),
                b["weight"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

fn condition<'a>(s: &'a ojek_experiments::ExperimentStatus, t: &str) -> &'a ojek_experiments::crd::Condition {
    s.conditions
        .iter()
        .find(|c| c.type_ == t)
        .unwrap_or_else(|| panic!("no {t} condition: {s:?}"))
}

#[tokio::test]
async fn create_adds_the_finalizer_and_nothing_else() {
    let (mock, _, ctx, _) = setup();
    let action = run(&mock, &ctx).await.expect("reconcile");
    assert_eq!(action, Action::await_change());
    let calls = mock.take_calls();
    assert_eq!(
        lines(&calls),
        vec![format!("PATCH {}", experiment_path(NS, NAME))]
    );
    assert_eq!(calls[0].content_type, "application/json-patch+json");
    let exp = mock.experiment(NS, NAME).expect("stored");
    assert_eq!(exp.metadata.finalizers, Some(vec![FINALIZER.to_string()]));
}

#[tokio::test]
async fn first_apply_creates_shards_with_no_traffic_until_ready_then_runs() {
    let (mock, _, ctx, _) = setup();
    run(&mock, &ctx).await.expect("finalizer");
    mock.take_calls();
    let action = run(&mock, &ctx).await.expect("apply");
    assert_eq!(action, Action::requeue(ojek_experiments::plan::PENDING_RECHECK));
    let calls = mock.take_calls();
    let l = lines(&calls);
    // Observe, then the shard namespace before anything in it, the route last, the status.
    let ns_b = l
        .iter()
        .position(|x| x == &format!("PATCH /api/v1/namespaces/{SHARD_B}"))
        .expect("namespace applied");
    let dep_b = l
        .iter()
        .position(|x| x == &format!("PATCH /apis/apps/v1/namespaces/{SHARD_B}/deployments/promo-gateway-web"))
        .expect("deployment applied");
    let route = l
        .iter()
        .position(|x| x == &format!("PATCH {ROUTE}"))
        .expect("route applied");
    assert!(ns_b < dep_b && dep_b < route, "{l:#?}");
    let ns_line = format!("PATCH /api/v1/namespaces/{SHARD_B}");
    assert_eq!(
        l.iter().filter(|x| **x == ns_line).count(),
        1,
        "the namespace is applied once: {l:#?}"
    );
    assert_eq!(
        l.last().map(String::as_str),
        Some(format!("PATCH {}/status", experiment_path(NS, NAME)).as_str())
    );
    assert!(!l.iter().any(|x| x.starts_with("DELETE")), "{l:#?}");
    for c in calls
        .iter()
        .filter(|c| c.content_type == "application/apply-patch+yaml")
    {
        assert_eq!(
            c.query.get("fieldManager").map(String::as_str),
            Some("ojek-experiments")
        );
        assert_eq!(c.query.get("force").map(String::as_str), Some("true"));
    }
    // The one Secret that exists was copied into each shard, labelled; the missing ones not.
    let copy = mock
        .get(&format!(
            "/api/v1/namespaces/{SHARD_B}/secrets/promo-gateway-keys"
        ))
        .expect("copied");
    assert_eq!(copy["data"], json!({"signing-key": "c2VjcmV0"}));
    assert_eq!(copy["metadata"]["labels"]["ojek.dev/experiment"], json!(NAME));
    assert!(
        mock.paths(&format!("{SHARD_B}/secrets/promo-partner-api"))
            .is_empty()
    );
    assert_eq!(
        route_weights(&mock),
        vec![(NS.into(), 80), (SHARD_B.into(), 0), (SHARD_C.into(), 0)]
    );
    let s = status(&mock);
    assert_eq!(s.phase, Some(Phase::Pending));
    assert_eq!(s.observed_generation, Some(1));
    assert_eq!(s.app_revision, Some(3));
    assert_eq!(condition(&s, "Ready").reason, "VariantsNotReady");
    assert_eq!(condition(&s, "InvalidSpec").status, "False");

    // One shard ready: it gets its weight, the other still none.
    mock.make_ready(SHARD_B);
    run(&mock, &ctx).await.expect("apply");
    assert_eq!(
        route_weights(&mock),
        vec![(NS.into(), 80), (SHARD_B.into(), 10), (SHARD_C.into(), 0)]
    );
    assert_eq!(status(&mock).phase, Some(Phase::Pending));

    mock.make_ready(SHARD_C);
    let action = run(&mock, &ctx).await.expect("apply");
    let s = status(&mock);
    assert_eq!(s.phase, Some(Phase::Running));
    assert_eq!(s.started_at.as_deref(), Some(NOW));
    assert_eq!(
        s.summary.as_deref(),
        Some("baseline=80 rules-v2=10 rules-v2-cache=10")
    );
    assert_eq!(condition(&s, "Ready").status, "True");
    let routing = condition(&s, "RoutingReady");
    assert_eq!(routing.status, "True");
    assert!(
        routing
            .message
            .starts_with("HTTPRoute/promo-gateway-web splits the traffic baseline=80"),
        "{}",
        routing.message
    );
    let b = s
        .variants
        .iter()
        .find(|v| v.name == "rules-v2")
        .expect("variant status");
    assert_eq!(
        (b.namespace.as_str(), b.ready_replicas, b.weight),
        (SHARD_B, 2, 10)
    );
    assert_eq!(b.pinned_by.as_deref(), Some("header x-promo-variant: rules-v2"));
    assert_eq!(action, Action::requeue(ojek_experiments::plan::RUNNING_RECHECK));
    assert_eq!(
        route_weights(&mock),
        vec![(NS.into(), 80), (SHARD_B.into(), 10), (SHARD_C.into(), 10)]
    );
}

fn edit(mock: &Mock, f: impl FnOnce(&mut Value)) {
    let path = experiment_path(NS, NAME);
    let mut v = mock.get(&path).expect("stored");
    f(&mut v);
    let g = v["metadata"]["generation"].as_i64().unwrap_or(1);
    v["metadata"]["generation"] = json!(g + 1);
    mock.put(&path, v);
}

async fn running() -> (
    Mock,
    Arc<FakeSource>,
    Arc<ojek_experiments_controller::Context>,
    common::Clock,
) {
    let (mock, source, ctx, clock) = setup();
    started(&mock, &ctx).await;
    mock.make_ready(SHARD_B);
    mock.make_ready(SHARD_C);
    run(&mock, &ctx).await.expect("running");
    assert_eq!(status(&mock).phase, Some(Phase::Running));
    mock.take_calls();
    (mock, source, ctx, clock)
}

#[tokio::test]
async fn changed_weights_change_the_route_only() {
    let (mock, _, ctx, _) = running().await;
    edit(&mock, |v| {
        v["spec"]["baselineWeight"] = json!(50);
        v["spec"]["variants"][0]["weight"] = json!(30);
        v["spec"]["variants"][1]["weight"] = json!(20);
    });
    run(&mock, &ctx).await.expect("reconcile");
    assert_eq!(
        route_weights(&mock),
        vec![(NS.into(), 50), (SHARD_B.into(), 30), (SHARD_C.into(), 20)]
    );
    let s = status(&mock);
    assert_eq!(s.observed_generation, Some(2));
    assert_eq!(
        s.summary.as_deref(),
        Some("baseline=50 rules-v2=30 rules-v2-cache=20")
    );
    assert_eq!(s.started_at.as_deref(), Some(NOW), "startedAt is kept");
    assert!(!lines(&mock.take_calls()).iter().any(|l| l.starts_with("DELETE")));
}

#[tokio::test]
async fn a_removed_variant_loses_its_traffic_before_its_shard_is_deleted() {
    let (mock, _, ctx, _) = running().await;
    edit(&mock, |v| {
        v["spec"]["variants"]
            .as_array_mut()
            .expect("variants")
            .truncate(1);
    });
    run(&mock, &ctx).await.expect("reconcile");
    let l = lines(&mock.take_calls());
    let route = l
        .iter()
        .position(|x| x == &format!("PATCH {ROUTE}"))
        .expect("route");
    let del = l
        .iter()
        .position(|x| x == &format!("DELETE /api/v1/namespaces/{SHARD_C}"))
        .expect("shard deleted");
    assert!(route < del, "{l:#?}");
    assert_eq!(route_weights(&mock), vec![(NS.into(), 80), (SHARD_B.into(), 10)]);
    assert!(
        mock.paths(SHARD_C).is_empty(),
        "the shard and everything in it are gone"
    );
    assert!(!mock.paths(SHARD_B).is_empty());
}

#[tokio::test]
async fn promote_saves_the_winner_once_sends_it_all_traffic_and_concludes_when_deployed() {
    let (mock, source, ctx, _) = running().await;
    edit(&mock, |v| v["spec"]["decision"] = json!({"promote": "rules-v2"}));
    run(&mock, &ctx).await.expect("promote");
    let promos = source.promotions.lock().expect("promotions").clone();
    assert_eq!(promos.len(), 1);
    assert_eq!(promos[0].variant, "rules-v2");
    assert_eq!(promos[0].base_revision, 3);
    assert_eq!(promos[0].environment, "production");
    assert_eq!(promos[0].process, "web");
    assert_eq!(promos[0].experiment, format!("{NS}/{NAME}"));
    assert_eq!(
        promos[0].overrides.image.as_deref(),
        Some("registry.gojek.io/promotions/promo-gateway:4.3.0-rc1")
    );
    let s = status(&mock);
    assert_eq!(s.phase, Some(Phase::Promoting));
    assert_eq!(s.promoted_revision, Some(4));
    assert_eq!(
        route_weights(&mock),
        vec![(NS.into(), 0), (SHARD_B.into(), 1), (SHARD_C.into(), 0)]
    );

    // Not deployed yet: no second save, traffic stays on the winner.
    run(&mock, &ctx).await.expect("waiting");
    assert_eq!(source.promotions.lock().expect("promotions").len(), 1);
    assert_eq!(condition(&status(&mock), "Ready").reason, "WaitingForDeploy");

    // Revision 4 deployed: the app gets its route back (as its own field manager), shards go.
    *source.deployed.lock().expect("deployed") = Some(4);
    mock.take_calls();
    run(&mock, &ctx).await.expect("conclude");
    let calls = mock.take_calls();
    let restore = calls
        .iter()
        .find(|c| c.method == "PATCH" && c.path == ROUTE)
        .expect("route given back");
    assert_eq!(
        restore.query.get("fieldManager").map(String::as_str),
        Some("ojek")
    );
    let route = mock.get(ROUTE).expect("route");
    assert_eq!(route["spec"]["rules"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        route.pointer("/spec/rules/0/backendRefs/0"),
        Some(
            &json!({"group": "", "kind": "Service", "name": "promo-gateway-web", "port": 8080, "weight": 1})
        )
    );
    assert!(mock.paths(SHARD_B).is_empty() && mock.paths(SHARD_C).is_empty());
    let s = status(&mock);
    assert_eq!(s.phase, Some(Phase::Concluded));
    assert_eq!(condition(&s, "Ready").reason, "Promoted");
    assert_eq!(s.ended_at.as_deref(), Some(NOW));

    // Ended: a later reconcile changes nothing.
    run(&mock, &ctx).await.expect("ended");
    let l = lines(&mock.take_calls());
    assert!(!l.iter().any(|x| x.starts_with("PATCH /apis/gateway")), "{l:#?}");
}

#[tokio::test]
async fn a_refused_promotion_fails_the_experiment_with_the_reason() {
    let (mock, source, ctx, _) = running().await;
    *source.refuse.lock().expect("refuse") = Some("409: revision 5 is newer than 3".into());
    edit(&mock, |v| v["spec"]["decision"] = json!({"promote": "rules-v2"}));
    let action = run(&mock, &ctx).await.expect("reconcile");
    assert_eq!(action, Action::await_change());
    let s = status(&mock);
    assert_eq!(s.phase, Some(Phase::Failed));
    let ready = condition(&s, "Ready");
    assert_eq!(ready.reason, "PromotionRefused");
    assert!(
        ready.message.contains("revision 5 is newer than 3"),
        "{}",
        ready.message
    );
}

#[tokio::test]
async fn abort_returns_all_traffic_to_the_baseline_and_removes_the_shards() {
    let (mock, _, ctx, _) = running().await;
    edit(&mock, |v| v["spec"]["decision"] = json!({"abort": true}));
    run(&mock, &ctx).await.expect("abort");
    let calls = mock.take_calls();
    let restore = calls.iter().find(|c| c.path == ROUTE).expect("route given back");
    assert_eq!(
        restore.query.get("fieldManager").map(String::as_str),
        Some("ojek")
    );
    assert_eq!(route_weights(&mock), vec![(NS.into(), 1)]);
    assert!(mock.paths(SHARD_B).is_empty() && mock.paths(SHARD_C).is_empty());
    let s = status(&mock);
    assert_eq!(s.phase, Some(Phase::Aborted));
    assert_eq!(s.summary.as_deref(), Some("baseline=100"));
    assert_eq!(condition(&s, "RoutingReady").reason, "RouteGivenBack");
}

#[tokio::test]
async fn the_duration_ends_the_experiment() {
    let (mock, _, ctx, clock) = running().await;
    *clock.lock().expect("clock") = "2026-11-29T07:59:59Z".parse().expect("time");
    let action = run(&mock, &ctx).await.expect("still running");
    assert_eq!(status(&mock).phase, Some(Phase::Running));
    assert_eq!(action, Action::requeue(std::time::Duration::from_secs(1)));
    *clock.lock().expect("clock") = "2026-11-29T08:00:00Z".parse().expect("time");
    run(&mock, &ctx).await.expect("concluded");
    let s = status(&mock);
    assert_eq!(s.phase, Some(Phase::Concluded));
    assert_eq!(condition(&s, "Ready").reason, "DurationElapsed");
    assert!(mock.paths(SHARD_B).is_empty());
}

#[tokio::test]
async fn deleting_gives_the_route_back_removes_shards_then_the_finalizer() {
    let (mock, _, ctx, _) = running().await;
    let path = experiment_path(NS, NAME);
    let mut v = mock.get(&path).expect("stored");
    v["metadata"]["deletionTimestamp"] = json!("2026-11-26T09:00:00Z");
    mock.put(&path, v);
    run(&mock, &ctx).await.expect("cleanup");
    let l = lines(&mock.take_calls());
    let route = l
        .iter()
        .position(|x| x == &format!("PATCH {ROUTE}"))
        .expect("route given back");
    let del = l
        .iter()
        .position(|x| x.starts_with("DELETE /api/v1/namespaces/"))
        .expect("shards deleted");
    let fin = l
        .iter()
        .rposition(|x| x == &format!("PATCH {path}"))
        .expect("finalizer removed");
    assert!(route < del && del < fin, "{l:#?}");
    assert!(
        mock.get(&path).is_none(),
        "the Experiment is gone once its finalizer is"
    );
    assert!(mock.paths(SHARD_B).is_empty() && mock.paths(SHARD_C).is_empty());
    assert_eq!(route_weights(&mock), vec![(NS.into(), 1)]);
}

#[tokio::test]
async fn api_errors_fail_the_reconcile_without_a_status_and_a_retry_converges() {
    let (mock, _, ctx, _) = setup();
    run(&mock, &ctx).await.expect("finalizer");
    mock.take_calls();
    mock.fail(
        &format!("PATCH /apis/apps/v1/namespaces/{SHARD_C}/deployments/"),
        500,
        1,
    );
    let err = run(&mock, &ctx).await.expect_err("the injected failure");
    assert!(err.contains("apply Deployment"), "{err}");
    let l = lines(&mock.take_calls());
    assert!(
        !l.iter().any(|x| x.ends_with("/status")),
        "no status after a failure: {l:#?}"
    );
    assert!(
        !l.iter().any(|x| x.contains("httproutes")),
        "the route waits for every shard: {l:#?}"
    );
    // Backoff grows with consecutive failures and resets on success.
    assert_eq!(backoff(1), std::time::Duration::from_secs(5));
    assert_eq!(backoff(2), std::time::Duration::from_secs(10));
    assert_eq!(backoff(30), std::time::Duration::from_secs(300));
    let exp = Arc::new(mock.experiment(NS, NAME).expect("stored"));
    let fake_err = kube::runtime::finalizer::Error::<ojek_experiments_controller::Error>::UnnamedObject;
    assert_eq!(
        error_policy(exp.clone(), &fake_err, ctx.clone()),
        Action::requeue(backoff(1))
    );
    assert_eq!(
        error_policy(exp, &fake_err, ctx.clone()),
        Action::requeue(backoff(2))
    );
    run(&mock, &ctx).await.expect("the retry");
    assert_eq!(status(&mock).phase, Some(Phase::Pending));
    assert!(mock.get(ROUTE).is_some());

    // A conflicting edit of the finalizer list (the JSON patch's test fails): an error, retried.
    let (mock, _, ctx, _) = setup();
    mock.fail(&format!("PATCH {}", experiment_path(NS, NAME)), 422, 1);
    assert!(run(&mock, &ctx).await.is_err());
    run(&mock, &ctx).await.expect("retried");
    assert!(
        mock.experiment(NS, NAME)
            .and_then(|e| e.metadata.finalizers)
            .is_some()
    );

    // Gateway API not installed: the route's apply is 404; the reconcile fails and says so.
    let (mock, _, ctx, _) = setup();
    run(&mock, &ctx).await.expect("finalizer");
    mock.fail("PATCH /apis/gateway.networking.k8s.io/v1/", 404, 1);
    let err = run(&mock, &ctx).await.expect_err("no HTTPRoute API");
    assert!(err.contains("HTTPRoute"), "{err}");
}

async fn invalid(edit_spec: impl FnOnce(&mut Value), source_app: bool, reason: &str, says: &str) {
    let (client, mock) = Mock::start();
    let mut v = example("promo-gateway-cashback");
    edit_spec(&mut v);
    mock.put(&experiment_path(NS, NAME), v);
    let source = FakeSource::new(source_app.then(|| common::app("promo-gateway")));
    let (ctx, _) = context(client, source, NOW);
    run(&mock, &ctx).await.expect("finalizer");
    mock.take_calls();
    run(&mock, &ctx).await.expect("reconcile");
    let l = lines(&mock.take_calls());
    let writes: Vec<&String> = l.iter().filter(|x| !x.starts_with("GET")).collect();
    assert_eq!(
        writes,
        vec![&format!("PATCH {}/status", experiment_path(NS, NAME))],
        "only the status is written"
    );
    let s = status(&mock);
    let c = condition(&s, "InvalidSpec");
    assert_eq!((c.status.as_str(), c.reason.as_str()), ("True", reason), "{c:?}");
    assert!(c.message.contains(says), "{}", c.message);
    assert_eq!(s.phase, Some(Phase::Failed));
    assert!(
        mock.paths("/namespaces/promo-gateway-production").is_empty(),
        "nothing applied"
    );
}

#[tokio::test]
async fn invalid_specs_write_only_a_condition() {
    invalid(
        |v| {
            v["spec"]["variants"][1]["match"] =
                json!({"header": {"name": "X-Promo-Variant", "value": "rules-v2"}})
        },
        true,
        "OverlappingMatches",
        "both match header",
    )
    .await;
    invalid(
        |v| {
            v["spec"]["baselineWeight"] = json!(0);
            v["spec"]["variants"][0]["weight"] = json!(0);
            v["spec"]["variants"][1]["weight"] = json!(0);
        },
        true,
        "WeightsNotPositive",
        "add up to 0",
    )
    .await;
    invalid(
        |v| v["spec"]["variants"][0]["name"] = json!("baseline"),
        true,
        "ReservedVariantName",
        "the app as deployed",
    )
    .await;
    invalid(|_| {}, false, "UnknownApp", "there is no app `promo-gateway`").await;
}

#[tokio::test]
async fn an_invalid_edit_of_a_running_experiment_keeps_it_running() {
    let (mock, _, ctx, _) = running().await;
    edit(&mock, |v| v["spec"]["variants"][0]["name"] = json!("baseline"));
    run(&mock, &ctx).await.expect("reconcile");
    let l = lines(&mock.take_calls());
    assert!(
        !l.iter()
            .any(|x| x.contains("httproutes") || x.starts_with("DELETE")),
        "{l:#?}"
    );
    let s = status(&mock);
    assert_eq!(s.phase, Some(Phase::Running));
    assert_eq!(condition(&s, "InvalidSpec").status, "True");
    assert!(
        condition(&s, "Ready")
            .message
            .contains("the last valid spec keeps running")
    );
    assert_eq!(
        route_weights(&mock),
        vec![(NS.into(), 80), (SHARD_B.into(), 10), (SHARD_C.into(), 10)]
    );
}
