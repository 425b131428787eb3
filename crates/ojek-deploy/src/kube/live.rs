//! What runs now: the live state of each rendered workload (Deployment, StatefulSet, Job,
//! CronJob), for the live status of an environment, and the objects of a kind ojek reads but
//! does not render (Experiments, whose controller keeps their status). Reads only.

use kube::api::ListParams;
use kube::core::{ApiResource, GroupVersionKind};
use serde::Serialize;
use serde_json::Value;

use super::rollout::{Progress, progress};
use super::{Deployment, KubeTarget, ObjectRef, status_code};
use crate::error::DeployError;
use ojek_output::Rendered;

/// A namespaced kind to read by group, version, kind and plural: a custom resource, which
/// the cluster serves only once its CRD is installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadKind<'a> {
    /// `ojek.dev`.
    pub group: &'a str,
    /// `v1alpha1`.
    pub version: &'a str,
    /// `Experiment`.
    pub kind: &'a str,
    /// `experiments`.
    pub plural: &'a str,
}

/// How a live workload is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LiveState {
    /// Rolled out and available (a Job: completed; a CronJob: scheduled).
    Ready,
    /// Still rolling out (or a Job still running).
    Progressing,
    /// It will not get there without a change (progress deadline exceeded, Job failed).
    Failed,
    /// Not in the cluster.
    Missing,
}

/// One workload as the cluster has it now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveWorkload {
    /// Which workload.
    #[serde(flatten)]
    pub object: ObjectRef,
    /// How it is doing.
    pub state: LiveState,
    /// One line: replicas, completion, schedule.
    pub message: String,
    /// Its `ojek.dev/revision` annotation: the app revision last applied to it by ojek.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Replicas asked for (Deployments, StatefulSets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desired: Option<i64>,
    /// Replicas ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready: Option<i64>,
}

impl KubeTarget {
    /// The live state of every workload `rendered` has, in apply order.
    pub async fn live(
        &self,
        rendered: &Rendered,
        deployment: &Deployment,
    ) -> Result<Vec<LiveWorkload>, DeployError> {
        let prepared = self.prepare(rendered, deployment).await?;
        let mut out = Vec::new();
        for object in prepared.objects.iter().filter(|o| {
            matches!(
                o.object.kind.as_str(),
                "Deployment" | "StatefulSet" | "Job" | "CronJob"
            )
        }) {
            let live = if object.in_missing_namespace(&prepared) {
                None
            } else {
                self.get_live(object).await?
            };
            out.push(match live {
                Some(v) => describe(&object.object, &v),
                None => LiveWorkload {
                    object: object.object.clone(),
                    state: LiveState::Missing,
                    message: "not in the cluster".into(),
                    revision: None,
                    desired: None,
                    ready: None,
                },
            });
        }
        Ok(out)
    }
}

impl KubeTarget {
    /// Every object of `kind` in `namespace`, as JSON with its `apiVersion` and `kind`;
    /// `None` when the cluster does not serve the kind (its CRD is not installed). One page
    /// of a list: a namespace holds few of the kinds this is for.
    pub async fn list_namespaced(
        &self,
        kind: &ReadKind<'_>,
        namespace: &str,
    ) -> Result<Option<Vec<Value>>, DeployError> {
        let gvk = GroupVersionKind::gvk(kind.group, kind.version, kind.kind);
        let resource = ApiResource::from_gvk_with_plural(&gvk, kind.plural);
        let api = self.api_for(&resource, Some(namespace));
        let list = match api.list(&ListParams::default()).await {
            Ok(list) => list,
            Err(e) if status_code(&e) == Some(404) => return Ok(None),
            Err(e) => return Err(self.api_error(format!("list {} in {namespace}", kind.plural), e)),
        };
        let mut out = Vec::with_capacity(list.items.len());
        for item in list.items {
            let mut value = serde_json::to_value(&item)
                .map_err(|e| DeployError::InvalidObject(format!("a listed {}: {e}", kind.kind)))?;
            // Items of a list carry no type of their own.
            if let Some(o) = value.as_object_mut() {
                o.insert("apiVersion".into(), resource.api_version.clone().into());
                o.insert("kind".into(), kind.kind.into());
            }
            out.push(value);
        }
        Ok(Some(out))
    }
}

/// A live workload's state from its own spec and status.
pub fn describe(object: &ObjectRef, live: &Value) -> LiveWorkload {
    let revision = live
        .pointer("/metadata/annotations/ojek.dev~1revision")
        .and_then(Value::as_str)
        .map(str::to_string);
    let int = |p: &str| live.pointer(p).and_then(Value::as_i64);
    let (desired, ready) = match object.kind.as_str() {
        "Deployment" | "StatefulSet" => (
            Some(int("/spec/replicas").unwrap_or(1)),
            Some(int("/status/readyReplicas").unwrap_or(0)),
        ),
        _ => (None, None),
    };
    let (state, message) = if object.kind == "CronJob" {
        let schedule = live
            .pointer("/spec/schedule")
            .and_then(Value::as_str)
            .unwrap_or("?");
        let suspended = live.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true);
        let last = live
            .pointer("/status/lastScheduleTime")
            .and_then(Value::as_str)
            .map_or_else(|| "not run yet".to_string(), |t| format!("last run {t}"));
        let what = if suspended { "suspended" } else { "scheduled" };
        (LiveState::Ready, format!("{what} `{schedule}`, {last}"))
    } else {
        match progress(&object.kind, live) {
            Progress::Done(m) => (LiveState::Ready, m),
            Progress::Waiting(m) => (LiveState::Progressing, m),
            Progress::Failed(m) => (LiveState::Failed, m),
        }
    };
    LiveWorkload {
        object: object.clone(),
        state,
        message,
        revision,
        desired,
        ready,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(kind: &str) -> ObjectRef {
        ObjectRef {
            api_version: "apps/v1".into(),
            kind: kind.into(),
            namespace: Some("ns".into()),
            name: "web".into(),
        }
    }

    #[test]
    fn a_rolled_out_deployment_is_ready_with_its_revision_and_replicas() {
        let live = json!({
            "metadata": {"generation": 2, "annotations": {"ojek.dev/revision": "7"}},
            "spec": {"replicas": 3},
            "status": {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3}
        });
        let w = describe(&object("Deployment"), &live);
        assert_eq!(w.state, LiveState::Ready);
        assert_eq!(w.revision.as_deref(), Some("7"));
        assert_eq!((w.desired, w.ready), (Some(3), Some(3)));
        assert_eq!(w.message, "3 of 3 replicas updated and available");
    }

    #[test]
    fn a_deployment_half_way_is_progressing_and_a_stuck_one_failed() {
        let mut live = json!({
            "metadata": {"generation": 2},
            "spec": {"replicas": 4},
            "status": {"observedGeneration": 2, "replicas": 4, "updatedReplicas": 2, "readyReplicas": 3, "availableReplicas": 3}
        });
        let w = describe(&object("Deployment"), &live);
        assert_eq!(
            (w.state, w.message.as_str()),
            (LiveState::Progressing, "2 of 4 replicas updated")
        );
        assert_eq!(w.revision, None);
        live["status"]["conditions"] = json!([{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "too slow"}]);
        assert_eq!(describe(&object("Deployment"), &live).state, LiveState::Failed);
    }

    #[test]
    fn a_cron_job_says_its_schedule_and_last_run() {
        let live = json!({"spec": {"schedule": "0 2 * * *"}, "status": {"lastScheduleTime": "2026-11-25T02:00:00Z"}});
        let w = describe(&object("CronJob"), &live);
        assert_eq!(w.state, LiveState::Ready);
        assert_eq!(w.message, "scheduled `0 2 * * *`, last run 2026-11-25T02:00:00Z");
    }
}
