//! Autoscaling → a group `Scaling` block for the Nomad Autoscaler.
//!
//! `Policy` is free-form for Nomad; it is written in the shape Nomad itself stores for an HCL
//! `policy { check "x" { strategy "y" { … } } }` block (labelled blocks as lists of
//! single-key objects), which is what the autoscaler reads. Several checks scale to the
//! largest count any of them asks for, as Kubernetes' HPA does.
//!
//! - cpu / memory → `nomad-apm` checks `avg_cpu-allocated` / `avg_memory-allocated` (percent
//!   of the group's reservation, which comes from the request) with `target-value`.
//! - Kafka lag → a check on the profile's `lagMetricsSource` (required) with the PromQL query
//!   `ceil(sum(kafka_consumergroup_lag{consumergroup=…,topic=…}) / lag)` and `pass-through`:
//!   the replica count is the total lag divided by the target lag per replica, as KEDA's
//!   Kafka scaler computes it.
//!
//! The group `Count` starts at `min`; jobs must be submitted with `PreserveCounts` so that a
//! new version does not reset what the autoscaler chose.

use ojek_output::Origin;
use ojek_output::bind::fill;
use ojek_spec::manifest::Autoscale;
use serde_json::Value;

use crate::context::{Cx, Field, Traces, join, object};

/// The `Scaling` block of an autoscaled group at `gptr`.
pub(crate) fn scaling(cx: &mut Cx, t: &mut Traces, gptr: &str, ap: &Field, a: &Autoscale) -> Value {
    let sp = join(gptr, "/Scaling");
    t.add(&sp, cx.at_note(ap.clone(), "scaled by the Nomad Autoscaler"));
    t.add(join(&sp, "/Min"), cx.at(ap.key("min")));
    t.add(join(&sp, "/Max"), cx.at(ap.key("max")));
    t.add(
        join(&sp, "/Enabled"),
        Origin::default("the manifest asks for autoscaling"),
    );
    t.add(
        join(&sp, "/Type"),
        Origin::default("horizontal: the autoscaler changes the group's count"),
    );
    let mut checks = Vec::new();
    for (metric, target) in [("cpu", a.cpu), ("memory", a.memory)] {
        let Some(target) = target else { continue };
        let cp = format!("{sp}/Policy/check/{}", checks.len());
        t.add(
            &cp,
            cx.at_note(
                ap.key(metric),
                format!("average {metric} use in percent of the reservation, target {target}%"),
            ),
        );
        checks.push(block(
            metric,
            object([
                ("source", "nomad-apm".into()),
                ("query", format!("avg_{metric}-allocated").into()),
                (
                    "strategy",
                    Value::Array(vec![block("target-value", object([("target", target.into())]))]),
                ),
            ]),
        ));
    }
    if let Some(lag) = &a.kafka_lag {
        let lp = ap.key("kafkaLag");
        let topic = fill(cx.src, "{topic}", Some(&lag.topic));
        let group = fill(cx.src, "{group}", Some(&lag.topic));
        let query = format!(
            "ceil(sum(kafka_consumergroup_lag{{consumergroup=\"{group}\",topic=\"{topic}\"}}) / {})",
            lag.lag
        );
        match &cx.profile.lag_metrics_source {
            None => {
                let pp = format!("{}.lagMetricsSource", cx.profile_path);
                cx.error(
                    &lp,
                    "Kafka-lag scaling on Nomad needs the platform profile's lagMetricsSource, which is not set",
                    format!("ask the platform team to set {pp} to the Nomad Autoscaler APM plugin that has kafka_consumergroup_lag (such as prometheus)"),
                );
            }
            Some(source) => {
                let cp = format!("{sp}/Policy/check/{}", checks.len());
                t.add(
                    &cp,
                    cx.at_note(lp, format!("replicas = total lag of group `{group}` on topic `{topic}` / {} messages per replica, rounded up", lag.lag))
                        .with_input(format!("resources.{}", lag.topic)),
                );
                t.add(
                    join(&cp, "/kafka-lag/0/source"),
                    cx.profile_field("lagMetricsSource", ""),
                );
                checks.push(block(
                    "kafka-lag",
                    object([
                        ("source", source.as_str().into()),
                        ("query", query.into()),
                        ("strategy", Value::Array(vec![block("pass-through", object([]))])),
                    ]),
                ));
            }
        }
    }
    object([
        ("Min", a.min.into()),
        ("Max", a.max.into()),
        ("Enabled", true.into()),
        ("Type", "horizontal".into()),
        ("Policy", object([("check", Value::Array(checks))])),
    ])
}

/// `{name: [body]}`: how Nomad stores the HCL block `name { … }` (or `check "name" { … }`)
/// in a policy.
fn block(name: &str, body: Value) -> Value {
    object([(name, Value::Array(vec![body]))])
}
