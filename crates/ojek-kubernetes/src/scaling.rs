//! Scaling and availability: HorizontalPodAutoscaler (CPU, memory), KEDA ScaledObject (Kafka
//! consumer lag, which the HPA cannot see), PodDisruptionBudget.

use ojek_output::bind::{self, Part};
use ojek_output::{Doc, Origin};
use ojek_spec::manifest::{EnvValue, Process};
use ojek_spec::platform::TargetKind;
use serde_json::{Value, json};

use crate::Ctx;
use crate::meta;

fn target_ref(cx: &Ctx, name: &str, p: &Process) -> Value {
    let stateful = crate::workload::is_stateful(p);
    json!({
        "apiVersion": "apps/v1",
        "kind": if stateful { "StatefulSet" } else { "Deployment" },
        "name": cx.object_name(name),
    })
}

/// An HPA for CPU/memory autoscaling, or a KEDA ScaledObject when Kafka lag is a signal.
pub(crate) fn autoscaler(cx: &mut Ctx, name: &str, p: &Process) -> Option<Doc> {
    let a = p.scaling.as_ref()?.autoscale.as_ref()?;
    let base = format!("processes.{name}.scaling.autoscale");
    if let Some(lag) = &a.kafka_lag {
        return keda(cx, name, p, a, lag);
    }
    let mut doc = meta::object(
        cx,
        "HorizontalPodAutoscaler",
        &cx.object_name(name),
        Some(name),
        cx.src
            .manifest_note(&base, "autoscaling on CPU/memory uses a HorizontalPodAutoscaler"),
    );
    doc.set(
        "/spec/scaleTargetRef",
        target_ref(cx, name, p),
        cx.src
            .manifest_note(&format!("processes.{name}"), "the process's workload"),
    );
    doc.set(
        "/spec/minReplicas",
        json!(a.min),
        cx.src.manifest(&format!("{base}.min")),
    );
    doc.set(
        "/spec/maxReplicas",
        json!(a.max),
        cx.src.manifest(&format!("{base}.max")),
    );
    let mut i = 0;
    for (field, target) in [("cpu", a.cpu), ("memory", a.memory)] {
        if let Some(t) = target {
            doc.set(
                &format!("/spec/metrics/{i}"),
                json!({"type": "Resource", "resource": {"name": field, "target": {"type": "Utilization", "averageUtilization": t}}}),
                cx.src.manifest_note(&format!("{base}.{field}"), format!("percent of the {field} request")),
            );
            i += 1;
        }
    }
    Some(doc)
}

fn keda(
    cx: &mut Ctx,
    name: &str,
    p: &Process,
    a: &ojek_spec::manifest::Autoscale,
    lag: &ojek_spec::manifest::KafkaLag,
) -> Option<Doc> {
    let base = format!("processes.{name}.scaling.autoscale");
    let lag_path = format!("{base}.kafkaLag");
    // Brokers, topic and group come from the platform's kafka-topic bindings, like env values.
    let lookup = |cx: &mut Ctx, output: &str| -> Option<(String, Origin)> {
        let v = EnvValue::Text(format!("${{resources.{}.{output}}}", lag.topic));
        match bind::resolve(cx.src, TargetKind::Kubernetes, &v, &lag_path) {
            Ok(r) => match r.parts.as_slice() {
                [Part::Text(t)] => Some((t.clone(), r.origin)),
                _ => {
                    cx.error(
                        &lag_path,
                        format!("the platform binds kafka-topic `{output}` to a secret; KEDA needs it as a plain value"),
                        format!("ask the platform team to bind bindings.kafka-topic.{output}.kubernetes to a `value`"),
                    );
                    None
                }
            },
            Err(d) => {
                cx.errors.push(d);
                None
            }
        }
    };
    let (brokers, brokers_origin) = lookup(cx, "brokers")?;
    let (topic, topic_origin) = lookup(cx, "topic")?;
    let (group, group_origin) = lookup(cx, "group")?;
    let mut doc = meta::object(
        cx,
        "ScaledObject",
        &cx.object_name(name),
        Some(name),
        cx.src.manifest_note(
            &lag_path,
            "Kafka consumer lag is not a metric the HPA sees: KEDA scales on it (and creates the HPA itself)",
        ),
    );
    doc.set(
        "/spec/scaleTargetRef",
        target_ref(cx, name, p),
        cx.src
            .manifest_note(&format!("processes.{name}"), "the process's workload"),
    );
    doc.set(
        "/spec/minReplicaCount",
        json!(a.min),
        cx.src.manifest(&format!("{base}.min")),
    );
    doc.set(
        "/spec/maxReplicaCount",
        json!(a.max),
        cx.src.manifest(&format!("{base}.max")),
    );
    doc.set(
        "/spec/triggers/0",
        json!({
            "type": "kafka",
            "metadata": {
                "bootstrapServers": brokers,
                "consumerGroup": group,
                "topic": topic,
                "lagThreshold": lag.lag.to_string(),
            }
        }),
        cx.src.manifest(&lag_path),
    );
    doc.trace("/spec/triggers/0/metadata/bootstrapServers", brokers_origin);
    doc.trace("/spec/triggers/0/metadata/consumerGroup", group_origin);
    doc.trace("/spec/triggers/0/metadata/topic", topic_origin);
    doc.trace(
        "/spec/triggers/0/metadata/lagThreshold",
        cx.src
            .manifest_note(&format!("{lag_path}.lag"), "target lag per replica"),
    );
    let mut i = 1;
    for (field, target) in [("cpu", a.cpu), ("memory", a.memory)] {
        if let Some(t) = target {
            doc.set(
                &format!("/spec/triggers/{i}"),
                json!({"type": field, "metricType": "Utilization", "metadata": {"value": t.to_string()}}),
                cx.src.manifest_note(
                    &format!("{base}.{field}"),
                    format!("percent of the {field} request"),
                ),
            );
            i += 1;
        }
    }
    Some(doc)
}

/// A PodDisruptionBudget when the process sets one.
pub(crate) fn disruption_budget(cx: &Ctx, name: &str, p: &Process) -> Option<Doc> {
    let b = p.disruption_budget.as_ref()?;
    let base = format!("processes.{name}.disruptionBudget");
    let mut doc = meta::object(
        cx,
        "PodDisruptionBudget",
        &cx.object_name(name),
        Some(name),
        cx.src.manifest(&base),
    );
    doc.set(
        "/spec/selector/matchLabels",
        meta::selector(cx, name),
        Origin::default("the process's pods"),
    );
    if let Some(m) = &b.max_unavailable {
        doc.set(
            "/spec/maxUnavailable",
            m.to_json(),
            cx.src.manifest(&format!("{base}.maxUnavailable")),
        );
    }
    if let Some(m) = &b.min_available {
        doc.set(
            "/spec/minAvailable",
            m.to_json(),
            cx.src.manifest(&format!("{base}.minAvailable")),
        );
    }
    doc.set(
        "/spec/unhealthyPodEvictionPolicy",
        json!("AlwaysAllow"),
        Origin::default("pods that are not ready yet never block a node drain"),
    );
    Some(doc)
}
