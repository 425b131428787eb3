//! `ojek up --demo`: one running Experiment, so the experiments page shows something on the
//! first run. promo-gateway in staging tries a new cashback rule engine on 10 % of the
//! traffic and the same engine with a rule cache on another 10 %; the demo log trickle
//! (`logs::demo`) writes the variants' lines, with more errors for the cached one.
//!
//! No controller runs in the demo, so the Experiment is stored in the simulated staging
//! cluster with the status the controller would keep: its plan (`ojek_experiments::plan`) for
//! the app and the platform file, every shard ready since the experiment started. The shards
//! themselves are not created.

use anyhow::Context;
use ojek_experiments::crd::Experiment;
use ojek_experiments::plan::{Observed, Replicas, Timestamp, plan};
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

/// The demo Experiment with a Running status, as of `now_ms`: the status the controller's own
/// plan writes once every shard has been ready since it started.
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
    let ready = |n: u32| Replicas {
        desired: n,
        ready: n,
        current: true,
    };
    let started = Timestamp::from_millisecond(now_ms - STARTED_BEFORE_MS).context("a time out of range")?;
    let mut experiment: Experiment = loaded.experiment;
    experiment.metadata.generation = Some(1);
    let observed = Observed {
        experiment: &experiment,
        app: Some(&app),
        app_revision: Some(1),
        deployed_revision: Some(1),
        platform: &platform,
        now: started,
        shards: desired
            .shards
            .iter()
            .map(|s| (s.variant.clone(), ready(s.replicas)))
            .collect(),
        baseline: Some(ready(desired.baseline_replicas)),
        shard_namespaces: Default::default(),
    };
    let status = plan(&observed, &|_| None).status;
    experiment.status = Some(status);
    Ok(serde_json::to_value(&experiment)?)
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
    use ojek_experiments::Phase;

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
