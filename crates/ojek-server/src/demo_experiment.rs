//! `ojek up --demo`: one running Experiment, so the experiments page shows something on the
//! first run. promo-gateway in staging tries a new cashback rule engine on 10 % of the
//! traffic and the same engine with a rule cache on another 10 %; the demo log trickle
//! (`logs::demo`) writes the variants' lines, with more errors for the cached one.
//!
//! No controller runs in the demo, so the Experiment is stored in the simulated staging
//! cluster with the status a controller would keep: computed by `ojek-experiments` from the
//! app and the platform file (namespaces, Services, replicas, weights in percent), as if
//! every shard were ready. The shards themselves are not created.

use anyhow::Context;
use ojek_experiments::crd::{Condition, Experiment, ExperimentStatus, Phase, VariantStatus};
use ojek_experiments::desired::{Desired, percent};
use ojek_fake_cluster::kube::FakeKube;
use serde_json::{Value, json};

use crate::bootstrap::{DEFAULT_PLATFORM, demo_apps};

/// The app of the demo experiment.
pub const APP: &str = "promo-gateway";
/// Its environment.
pub const ENV: &str = "staging";
/// The variants: (name, percent of the app's lines, extra error lines in percent). The
/// baseline writes the rest; the weights in [`EXPERIMENT`] are the same.
pub const VARIANTS: &[(&str, u64, u64)] = &[("rules-v2", 10, 0), ("rules-v2-cache", 10, 15)];
/// How long before the start of the demo it started (the log trickle fills in the last hour).
const STARTED_BEFORE_MS: i64 = 55 * 60 * 1000;

/// The Experiment, as a team would apply it.
const EXPERIMENT: &str = "\
apiVersion: ojek.dev/v1alpha1
kind: Experiment
metadata:
  name: cashback-engine
  namespace: promotions-staging
spec:
  app: promo-gateway
  environment: staging
  process: web
  baselineWeight: 80
  variants:
    - name: rules-v2
      weight: 10
      match:
        header: {name: x-promo-variant, value: rules-v2}
      overrides:
        image: registry.gojek.io/promotions/promo-gateway:4.3.0-rc1
        env: {RULE_ENGINE: v2}
        replicas: 2
    - name: rules-v2-cache
      weight: 10
      match:
        cookie: {name: promo_variant, value: rules-v2-cache}
      overrides:
        image: registry.gojek.io/promotions/promo-gateway:4.3.0-rc1
        env: {RULE_ENGINE: v2, RULE_CACHE_TTL: 5m}
        replicas: 2
  routing:
    istio: {}
  duration: 72h
  stickiness:
    maxAge: 24h
";

/// The demo Experiment with a Running status, as of `now_ms`.
pub fn experiment(now_ms: i64) -> anyhow::Result<Value> {
    let loaded = ojek_experiments::file::load_experiment("demo experiment", EXPERIMENT)
        .map_err(|d| anyhow::anyhow!("the demo experiment does not load:\n{d}"))?;
    let (file, text, files) = demo_apps()
        .into_iter()
        .find(|(_, text, _)| text.contains(&format!("name: {APP}\n")))
        .context("no demo app for the demo experiment")?;
    let app = ojek_core::spec::load::load_app(file, text, &crate::api::render::MapReader(&files))
        .map_err(|d| anyhow::anyhow!("demo app {file} does not load:\n{d}"))?;
    let platform = ojek_core::spec::load::load_platform("platform.yaml", DEFAULT_PLATFORM)
        .map_err(|d| anyhow::anyhow!("the default platform file does not load:\n{d}"))?;
    let desired = ojek_experiments::file::render(&loaded, &app, &platform)
        .map_err(|d| anyhow::anyhow!("the demo experiment does not render:\n{d}"))?;
    let started = rfc3339(now_ms - STARTED_BEFORE_MS)?;
    let mut experiment: Experiment = loaded.experiment;
    experiment.status = Some(status(&experiment, &desired, &started));
    let mut value = serde_json::to_value(&experiment)?;
    if let Some(meta) = value["metadata"].as_object_mut() {
        meta.insert("generation".into(), json!(1));
    }
    Ok(value)
}

/// What a controller writes once every shard of `desired` is ready.
fn status(experiment: &Experiment, desired: &Desired, started: &str) -> ExperimentStatus {
    let shares = percent(&desired.weights);
    let share = |name: &str| shares.iter().find(|(n, _)| n == name).map_or(0, |(_, p)| *p);
    let summary = shares
        .iter()
        .map(|(n, p)| format!("{n}={p}"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut variants = vec![VariantStatus {
        name: ojek_experiments::crd::BASELINE.to_string(),
        namespace: desired.namespace.clone(),
        desired_replicas: desired.baseline_replicas,
        ready_replicas: desired.baseline_replicas,
        weight: share(ojek_experiments::crd::BASELINE),
        url: Some(format!(
            "http://{}.{}.svc.cluster.local:{}",
            desired.service, desired.namespace, desired.port
        )),
        pinned_by: None,
    }];
    for shard in &desired.shards {
        let matches = experiment
            .spec
            .variants
            .iter()
            .find(|v| v.name == shard.variant)
            .and_then(|v| v.matches.as_ref());
        let pinned_by = matches.and_then(|m| match (&m.header, &m.cookie) {
            (Some(h), _) => Some(format!("header {}: {}", h.name, h.value)),
            (None, Some(c)) => Some(format!("cookie {}={}", c.name, c.value)),
            (None, None) => None,
        });
        variants.push(VariantStatus {
            name: shard.variant.clone(),
            namespace: shard.namespace.clone(),
            desired_replicas: shard.replicas,
            ready_replicas: shard.replicas,
            weight: share(&shard.variant),
            url: Some(shard.url.clone()),
            pinned_by,
        });
    }
    let condition = |type_: &str, reason: &str, message: String| Condition {
        type_: type_.to_string(),
        status: "True".to_string(),
        reason: reason.to_string(),
        message,
        last_transition_time: started.to_string(),
        observed_generation: Some(1),
    };
    let route = desired
        .route
        .first()
        .map_or_else(String::new, |d| format!("{}/{}", d.kind(), d.name()));
    let mut conditions = vec![
        condition(
            "Ready",
            "AllVariantsReady",
            "every variant is ready and gets its share of the traffic".to_string(),
        ),
        condition(
            "RoutingReady",
            "RouteApplied",
            format!("{route} splits the traffic {summary}"),
        ),
    ];
    for (type_, reason, message) in &desired.notes {
        conditions.push(condition(type_, reason, message.clone()));
    }
    ExperimentStatus {
        phase: Some(Phase::Running),
        observed_generation: Some(1),
        app_revision: Some(1),
        started_at: Some(started.to_string()),
        ended_at: None,
        summary: Some(summary),
        variants,
        promoted_revision: None,
        conditions,
    }
}

fn rfc3339(ms: i64) -> anyhow::Result<String> {
    let t = chrono::DateTime::from_timestamp_millis(ms).context("a time out of range")?;
    Ok(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// Stores the demo Experiment, and the app's namespace it lives in, in the simulated cluster.
pub fn seed(cluster: &FakeKube, now_ms: i64) -> anyhow::Result<()> {
    let experiment = experiment(now_ms)?;
    let namespace = experiment["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if cluster.object("Namespace", "", &namespace).is_none() {
        cluster
            .put(json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": namespace, "labels": {"kubernetes.io/metadata.name": namespace}},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            }))
            .map_err(anyhow::Error::msg)?;
    }
    cluster.put(experiment).map_err(anyhow::Error::msg)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_experiment_runs_with_the_variants_the_log_trickle_writes() {
        let now = 1_800_000_000_000;
        let value = experiment(now).expect("the demo experiment");
        let exp: Experiment = serde_json::from_value(value.clone()).expect("an Experiment");
        assert_eq!((exp.spec.app.as_str(), exp.spec.environment.as_str()), (APP, ENV));
        let spec: Vec<(&str, u64)> = exp
            .spec
            .variants
            .iter()
            .map(|v| (v.name.as_str(), u64::from(v.weight)))
            .collect();
        let trickle: Vec<(&str, u64)> = VARIANTS.iter().map(|(n, share, _)| (*n, *share)).collect();
        assert_eq!(spec, trickle);
        assert_eq!(
            u64::from(exp.spec.baseline_weight),
            100 - trickle.iter().map(|(_, s)| s).sum::<u64>()
        );
        let status = exp.status.expect("status");
        assert_eq!(status.phase, Some(Phase::Running));
        assert_eq!(status.started_at.as_deref(), Some("2027-01-15T07:05:00Z"));
        assert_eq!(
            status.summary.as_deref(),
            Some("baseline=80 rules-v2=10 rules-v2-cache=10")
        );
        let variants: Vec<(&str, &str, u32, u32)> = status
            .variants
            .iter()
            .map(|v| (v.name.as_str(), v.namespace.as_str(), v.ready_replicas, v.weight))
            .collect();
        assert_eq!(
            variants,
            [
                ("baseline", "promotions-staging", 1, 80),
                ("rules-v2", "promo-gateway-staging-rules-v2", 2, 10),
                ("rules-v2-cache", "promo-gateway-staging-rules-v2-cache", 2, 10),
            ]
        );
        assert!(
            status
                .conditions
                .iter()
                .any(|c| c.type_ == "RoutingReady" && c.message.starts_with("VirtualService/"))
        );
    }

    #[tokio::test]
    async fn it_is_stored_in_the_simulated_cluster_with_its_namespace() {
        let fake = FakeKube::start().await;
        seed(&fake, crate::auth::now_ms()).expect("seeded");
        seed(&fake, crate::auth::now_ms()).expect("seeded again on the same cluster");
        assert!(fake.object("Namespace", "", "promotions-staging").is_some());
        let stored = fake
            .object("Experiment", "promotions-staging", "cashback-engine")
            .expect("stored");
        assert_eq!(stored["status"]["phase"], "Running");
    }
}
