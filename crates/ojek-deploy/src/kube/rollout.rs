//! Waiting for workloads to roll out, and explaining why one did not.
//!
//! Deployments are done when the controller has observed the new generation and every
//! replica is updated and available; StatefulSets when every replica is updated and ready and
//! the current revision is the update revision; Jobs when `Complete` (`Failed` fails). Other
//! kinds are ready at once. A workload fails early when its progress deadline passes or a
//! pod of its current template is stuck in a state that will not fix itself
//! (`ImagePullBackOff`, `CrashLoopBackOff`, …). Failure and timeout reasons come from pod
//! statuses and recent Events of the pods and the workload.

use std::time::Duration;

use kube::api::{Api, DynamicObject, ListParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde::Serialize;
use serde_json::Value;

use super::{KubeTarget, ObjectRef};
use crate::error::DeployError;

/// Container waiting reasons that mean a pod will not start without a change.
const STUCK: &[&str] = &[
    "ImagePullBackOff",
    "ErrImageNeverPull",
    "InvalidImageName",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
];
/// How many recent events a failure reason quotes.
const MAX_EVENTS: usize = 10;

/// How a workload's rollout ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutStatus {
    /// Rolled out (or, for a Job, completed).
    Ok,
    /// Failed: see the reasons.
    Failed,
    /// Still not done when the wait ended.
    Timeout,
}

/// The rollout of one workload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rollout {
    /// The workload.
    #[serde(flatten)]
    pub object: ObjectRef,
    /// Ok, failed or timed out.
    pub status: RolloutStatus,
    /// One line: what was reached, or what went wrong.
    pub message: String,
    /// Details for failures and timeouts: container states, scheduling, recent events.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

/// Where a workload's rollout stands, from its own status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Done.
    Done(String),
    /// Not yet: why.
    Waiting(String),
    /// It will not finish: why.
    Failed(String),
}

fn int(v: &Value, pointer: &str) -> i64 {
    v.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn condition<'a>(obj: &'a Value, type_: &str) -> Option<&'a Value> {
    obj.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

/// Whether `kind` is waited for.
pub fn is_workload(kind: &str) -> bool {
    matches!(kind, "Deployment" | "StatefulSet" | "Job")
}

/// Whether a live Job has failed (condition `Failed` is `True`): applying it again replaces
/// it, so that a deploy run again after a failed migration runs the migration again.
pub fn job_failed(job: &Value) -> bool {
    condition(job, "Failed").is_some_and(|c| c["status"] == "True")
}

/// How long an apply waits for rollouts: one deadline for all of its phases.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wait {
    /// The whole wait asked for, as timeout messages quote it.
    pub timeout: Duration,
    /// When waiting ends, for the Jobs and the workloads together.
    pub deadline: tokio::time::Instant,
    /// How often to look.
    pub interval: Duration,
}

impl Wait {
    /// A wait of `timeout` from now, looking every `interval`.
    pub fn starting_now(timeout: Duration, interval: Duration) -> Wait {
        Wait {
            timeout,
            deadline: tokio::time::Instant::now() + timeout,
            interval,
        }
    }
}

/// The rollout progress of a live workload.
pub fn progress(kind: &str, obj: &Value) -> Progress {
    let generation = int(obj, "/metadata/generation");
    let observed = int(obj, "/status/observedGeneration");
    let replicas = obj.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
    match kind {
        "Deployment" | "StatefulSet" if observed < generation => Progress::Waiting(format!(
            "the controller has not observed generation {generation} yet (observed: {observed})"
        )),
        "Deployment" => {
            if let Some(c) = condition(obj, "Progressing")
                && c["reason"] == "ProgressDeadlineExceeded"
            {
                return Progress::Failed(format!(
                    "progress deadline exceeded: {}",
                    c["message"].as_str().unwrap_or_default()
                ));
            }
            let updated = int(obj, "/status/updatedReplicas");
            let available = int(obj, "/status/availableReplicas");
            let total = int(obj, "/status/replicas");
            if updated < replicas {
                Progress::Waiting(format!("{updated} of {replicas} replicas updated"))
            } else if total > updated {
                Progress::Waiting(format!("{} old replicas pending termination", total - updated))
            } else if available < replicas {
                Progress::Waiting(format!("{available} of {replicas} updated replicas available"))
            } else {
                Progress::Done(format!("{replicas} of {replicas} replicas updated and available"))
            }
        }
        "StatefulSet" => {
            let updated = int(obj, "/status/updatedReplicas");
            let ready = int(obj, "/status/readyReplicas");
            let current = obj.pointer("/status/currentRevision");
            let update = obj.pointer("/status/updateRevision");
            if updated < replicas {
                Progress::Waiting(format!("{updated} of {replicas} replicas updated"))
            } else if ready < replicas {
                Progress::Waiting(format!("{ready} of {replicas} replicas ready"))
            } else if current != update {
                Progress::Waiting("the current revision is not the update revision yet".into())
            } else {
                Progress::Done(format!("{replicas} of {replicas} replicas updated and ready"))
            }
        }
        "Job" => {
            let is_true = |c: &&Value| c["status"] == "True";
            if let Some(c) = condition(obj, "Failed").filter(is_true) {
                Progress::Failed(format!(
                    "job failed: {}: {}",
                    c["reason"].as_str().unwrap_or_default(),
                    c["message"].as_str().unwrap_or_default()
                ))
            } else if condition(obj, "Complete").filter(is_true).is_some() {
                Progress::Done(format!("completed ({} succeeded)", int(obj, "/status/succeeded")))
            } else {
                Progress::Waiting(format!(
                    "job running: {} active, {} succeeded, {} failed",
                    int(obj, "/status/active"),
                    int(obj, "/status/succeeded"),
                    int(obj, "/status/failed")
                ))
            }
        }
        _ => Progress::Done("ready".into()),
    }
}

/// Whether the pod runs the workload's current pod template (same image per container).
fn runs_template(pod: &Value, template: &Value) -> bool {
    let images = |containers: Option<&Value>| -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = containers
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| {
                (
                    c["name"].as_str().unwrap_or_default().to_string(),
                    c["image"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        out.sort();
        out
    };
    images(pod.pointer("/spec/containers")) == images(template.pointer("/spec/containers"))
}

/// What is wrong with the pods, and whether any pod of the current template is stuck.
pub fn pod_problems(pods: &[Value], template: Option<&Value>) -> (bool, Vec<String>) {
    let mut stuck = false;
    let mut out = Vec::new();
    for pod in pods {
        let name = pod
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("?");
        let current = template.is_none_or(|t| runs_template(pod, t));
        let statuses = ["/status/initContainerStatuses", "/status/containerStatuses"]
            .iter()
            .filter_map(|p| pod.pointer(p).and_then(Value::as_array))
            .flatten();
        for cs in statuses {
            let Some(reason) = cs.pointer("/state/waiting/reason").and_then(Value::as_str) else {
                continue;
            };
            if reason == "ContainerCreating" || reason == "PodInitializing" {
                continue;
            }
            let container = cs["name"].as_str().unwrap_or("?");
            let restarts = int(cs, "/restartCount");
            let mut line = format!("pod {name}: container {container} is waiting: {reason}");
            if reason == "CrashLoopBackOff" || restarts > 0 {
                line.push_str(&format!(" (restarted {restarts} times)"));
            }
            if let Some(m) = cs.pointer("/state/waiting/message").and_then(Value::as_str) {
                line.push_str(&format!(": {m}"));
            }
            stuck |= current && STUCK.contains(&reason);
            out.push(line);
        }
        if let Some(c) = condition(pod, "PodScheduled")
            && c["status"] == "False"
        {
            out.push(format!(
                "pod {name} is not scheduled: {}: {}",
                c["reason"].as_str().unwrap_or_default(),
                c["message"].as_str().unwrap_or_default()
            ));
        }
    }
    (stuck, out)
}

/// The most recent events about the named objects, as `Reason (Kind/name): message`.
pub fn event_lines(events: &[Value], about: &[(String, String)]) -> Vec<String> {
    let time = |e: &Value| {
        ["/lastTimestamp", "/eventTime", "/metadata/creationTimestamp"]
            .iter()
            .find_map(|p| e.pointer(p).and_then(Value::as_str))
            .unwrap_or_default()
            .to_string()
    };
    let mut relevant: Vec<&Value> = events
        .iter()
        .filter(|e| {
            let kind = e
                .pointer("/involvedObject/kind")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let name = e
                .pointer("/involvedObject/name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            about.iter().any(|(k, n)| k == kind && n == name)
        })
        .collect();
    relevant.sort_by_key(|e| time(e));
    let skip = relevant.len().saturating_sub(MAX_EVENTS);
    relevant
        .into_iter()
        .skip(skip)
        .map(|e| {
            format!(
                "event {} ({}/{}): {}",
                e["reason"].as_str().unwrap_or_default(),
                e.pointer("/involvedObject/kind")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
                e.pointer("/involvedObject/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
                e["message"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// `k=v,k=v` from `spec.selector.matchLabels` (a Job without one: `job-name=<name>`).
fn pod_selector(kind: &str, obj: &Value, name: &str) -> Option<String> {
    let labels = obj
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object);
    match labels {
        Some(l) if !l.is_empty() => Some(
            l.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(","),
        ),
        _ if kind == "Job" => Some(format!("job-name={name}")),
        _ => None,
    }
}

fn core_resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("", "v1", kind), plural)
}

fn values(list: Vec<DynamicObject>) -> Vec<Value> {
    list.iter().filter_map(|o| serde_json::to_value(o).ok()).collect()
}

impl KubeTarget {
    /// The workload's pods and whether one of its current template is stuck, with reasons.
    async fn pods_of(
        &self,
        kind: &str,
        obj: &Value,
        object: &ObjectRef,
    ) -> Result<(bool, Vec<String>, Vec<String>), DeployError> {
        let ns = object.namespace.as_deref().unwrap_or("default");
        let Some(selector) = pod_selector(kind, obj, &object.name) else {
            return Ok((false, Vec::new(), Vec::new()));
        };
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), ns, &core_resource("Pod", "pods"));
        let pods = api
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| self.api_error(format!("list pods of {object}"), e))?;
        let pods = values(pods.items);
        let names = pods
            .iter()
            .filter_map(|p| p.pointer("/metadata/name").and_then(Value::as_str))
            .map(str::to_string)
            .collect();
        let template = (kind == "Deployment")
            .then(|| obj.pointer("/spec/template"))
            .flatten();
        let (stuck, reasons) = pod_problems(&pods, template);
        Ok((stuck, reasons, names))
    }

    /// Pod problems and recent events of a workload that failed or timed out.
    async fn diagnose(&self, kind: &str, obj: &Value, object: &ObjectRef) -> Vec<String> {
        let Ok((_, mut reasons, pods)) = self.pods_of(kind, obj, object).await else {
            return vec!["(could not list the pods)".into()];
        };
        let ns = object.namespace.as_deref().unwrap_or("default");
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), ns, &core_resource("Event", "events"));
        let mut about: Vec<(String, String)> = pods.into_iter().map(|p| ("Pod".to_string(), p)).collect();
        about.push((kind.to_string(), object.name.clone()));
        match api.list(&ListParams::default()).await {
            Ok(events) => reasons.extend(event_lines(&values(events.items), &about)),
            Err(e) => reasons.push(format!("(could not list events: {e})")),
        }
        reasons
    }

    /// Waits for every workload until done, failed, or the wait's deadline, polling every
    /// `wait.interval`.
    pub(crate) async fn wait_for_rollouts(
        &self,
        workloads: &[(ObjectRef, ApiResource)],
        wait: &Wait,
    ) -> Vec<Rollout> {
        let Wait {
            timeout,
            deadline,
            interval,
        } = *wait;
        let mut results: Vec<Option<Rollout>> = vec![None; workloads.len()];
        let mut waiting: Vec<String> = vec![String::new(); workloads.len()];
        let mut last: Vec<Value> = vec![Value::Null; workloads.len()];
        loop {
            for (i, (object, resource)) in workloads.iter().enumerate() {
                if results[i].is_some() {
                    continue;
                }
                let api = self.api_for(resource, object.namespace.as_deref());
                // A failed read during the wait is retried until the deadline, not fatal: the
                // objects are applied, and the report must reach the caller.
                let live = match api.get_opt(&object.name).await {
                    Ok(live) => live,
                    Err(e) => {
                        waiting[i] = format!("cannot read {object}: {e}");
                        continue;
                    }
                };
                let Some(live) = live.and_then(|o| serde_json::to_value(o).ok()) else {
                    results[i] = Some(rollout(
                        object,
                        RolloutStatus::Failed,
                        "deleted while waiting".into(),
                        Vec::new(),
                    ));
                    continue;
                };
                let kind = object.kind.as_str();
                match progress(kind, &live) {
                    Progress::Done(message) => {
                        results[i] = Some(rollout(object, RolloutStatus::Ok, message, Vec::new()))
                    }
                    Progress::Failed(message) => {
                        let reasons = self.diagnose(kind, &live, object).await;
                        results[i] = Some(rollout(object, RolloutStatus::Failed, message, reasons));
                    }
                    Progress::Waiting(message) => {
                        let (stuck, problems, _) =
                            self.pods_of(kind, &live, object).await.unwrap_or_default();
                        if stuck {
                            let reasons = self.diagnose(kind, &live, object).await;
                            let first = problems.first().cloned().unwrap_or_default();
                            results[i] = Some(rollout(object, RolloutStatus::Failed, first, reasons));
                        } else {
                            waiting[i] = message;
                            last[i] = live;
                        }
                    }
                }
            }
            if results.iter().all(Option::is_some) {
                break;
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                for (i, (object, _)) in workloads.iter().enumerate() {
                    if results[i].is_none() {
                        let reasons = self.diagnose(&object.kind, &last[i], object).await;
                        let message =
                            format!("timed out after {timeout:?} waiting for {object}: {}", waiting[i]);
                        results[i] = Some(rollout(object, RolloutStatus::Timeout, message, reasons));
                    }
                }
                break;
            }
            tokio::time::sleep(interval.min(deadline - now)).await;
        }
        results.into_iter().flatten().collect()
    }
}

fn rollout(object: &ObjectRef, status: RolloutStatus, message: String, reasons: Vec<String>) -> Rollout {
    Rollout {
        object: object.clone(),
        status,
        message,
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deployment_progress_follows_generation_counts_and_deadline() {
        let d =
            |status: Value| json!({"metadata": {"generation": 2}, "spec": {"replicas": 2}, "status": status});
        assert!(matches!(
            progress("Deployment", &d(json!({"observedGeneration": 1}))),
            Progress::Waiting(_)
        ));
        assert_eq!(
            progress(
                "Deployment",
                &d(json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 2}))
            ),
            Progress::Waiting("1 old replicas pending termination".into())
        );
        assert!(matches!(
            progress(
                "Deployment",
                &d(
                    json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2})
                )
            ),
            Progress::Done(_)
        ));
        let stuck = d(json!({"observedGeneration": 2, "conditions": [
            {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "RS timed out"}]}));
        assert_eq!(
            progress("Deployment", &stuck),
            Progress::Failed("progress deadline exceeded: RS timed out".into())
        );
        assert!(matches!(progress("ConfigMap", &json!({})), Progress::Done(_)));
    }

    #[test]
    fn job_and_statefulset_progress() {
        let job = |t: &str| json!({"status": {"conditions": [{"type": t, "status": "True", "reason": "R", "message": "m"}]}});
        assert!(matches!(progress("Job", &job("Complete")), Progress::Done(_)));
        assert_eq!(
            progress("Job", &job("Failed")),
            Progress::Failed("job failed: R: m".into())
        );
        let sts = json!({"metadata": {"generation": 1}, "spec": {"replicas": 1}, "status": {"observedGeneration": 1,
            "updatedReplicas": 1, "readyReplicas": 1, "currentRevision": "a", "updateRevision": "b"}});
        assert!(matches!(progress("StatefulSet", &sts), Progress::Waiting(_)));
    }

    #[test]
    fn stuck_pods_of_the_current_template_only() {
        let template = json!({"spec": {"containers": [{"name": "web", "image": "web:2"}]}});
        let pod = |image: &str, reason: &str| {
            json!({"metadata": {"name": format!("p-{image}")},
            "spec": {"containers": [{"name": "web", "image": image}]},
            "status": {"containerStatuses": [{"name": "web", "restartCount": 4, "state": {"waiting": {"reason": reason}}}]}})
        };
        let (stuck, lines) = pod_problems(&[pod("web:1", "CrashLoopBackOff")], Some(&template));
        assert!(!stuck, "an old pod crashing does not fail the new rollout");
        assert_eq!(
            lines,
            ["pod p-web:1: container web is waiting: CrashLoopBackOff (restarted 4 times)"]
        );
        assert!(pod_problems(&[pod("web:2", "ImagePullBackOff")], Some(&template)).0);
    }
}
