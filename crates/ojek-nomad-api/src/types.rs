//! The parts of Nomad's API responses ojek reads, as typed structs.
//!
//! Field names follow the API (`PascalCase`); unknown fields are ignored and missing or `null`
//! fields take their default, because Nomad omits or nulls many of them depending on the
//! version and the job. Jobs themselves are not typed here: they stay `serde_json::Value`.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Decodes `null` as the type's default (Nomad sends `"Fields": null` for empty lists).
fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Answer to `POST /v1/job/{id}/plan` (`JobPlanResponse`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PlanResponse {
    /// The structural diff of the submitted job against the registered one (when asked for).
    #[serde(deserialize_with = "nullable")]
    pub diff: Option<JobDiff>,
    /// The registered job's modify index: pass it to register with `EnforceIndex` so that
    /// the job is only changed if nobody changed it since this plan (0 for a new job).
    pub job_modify_index: u64,
    /// Task groups the scheduler could not place, with the reasons.
    #[serde(rename = "FailedTGAllocs", deserialize_with = "nullable")]
    pub failed_tg_allocs: BTreeMap<String, AllocationMetric>,
    /// Warnings about the job (deprecated fields and the like), one string.
    pub warnings: String,
    /// For periodic jobs, when the next launch would be (RFC 3339).
    #[serde(deserialize_with = "nullable")]
    pub next_periodic_launch: Option<String>,
}

/// Why allocations of a task group could not be placed (`AllocationMetric`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocationMetric {
    /// Nodes evaluated.
    pub nodes_evaluated: u64,
    /// Nodes filtered out by constraints.
    pub nodes_filtered: u64,
    /// Nodes without enough resources.
    pub nodes_exhausted: u64,
    /// Nodes available per datacenter.
    #[serde(deserialize_with = "nullable")]
    pub nodes_available: BTreeMap<String, u64>,
    /// Filtered nodes per constraint.
    #[serde(deserialize_with = "nullable")]
    pub constraint_filtered: BTreeMap<String, u64>,
    /// Exhausted nodes per resource dimension (`memory`, `cpu`, `network: …`).
    #[serde(deserialize_with = "nullable")]
    pub dimension_exhausted: BTreeMap<String, u64>,
    /// How many more allocations failed the same way.
    pub coalesced_failures: u64,
}

/// A job's diff (`JobDiff`). `Type` is `Added`, `Deleted`, `Edited` or `None`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobDiff {
    /// `Added`, `Deleted`, `Edited` or `None`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// The job ID.
    #[serde(rename = "ID")]
    pub id: String,
    /// Changed job-level fields.
    #[serde(deserialize_with = "nullable")]
    pub fields: Vec<FieldDiff>,
    /// Changed job-level blocks.
    #[serde(deserialize_with = "nullable")]
    pub objects: Vec<ObjectDiff>,
    /// Task groups, with what the scheduler would do to their allocations.
    #[serde(deserialize_with = "nullable")]
    pub task_groups: Vec<TaskGroupDiff>,
}

/// One field's change (`FieldDiff`); values are rendered as strings by Nomad.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct FieldDiff {
    /// `Added`, `Deleted`, `Edited` or `None` (unchanged, shown for context).
    #[serde(rename = "Type")]
    pub kind: String,
    /// Field name, flattened for maps and lists (`Meta[team]`, `args[0]`).
    pub name: String,
    /// Old value (empty when added).
    pub old: String,
    /// New value (empty when deleted).
    pub new: String,
    /// What the change forces, e.g. `forces create`.
    #[serde(deserialize_with = "nullable")]
    pub annotations: Vec<String>,
}

/// A block's change (`ObjectDiff`), e.g. `Config`, `Env`, `Service`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ObjectDiff {
    /// `Added`, `Deleted`, `Edited` or `None`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// Block name.
    pub name: String,
    /// Changed fields of the block.
    #[serde(deserialize_with = "nullable")]
    pub fields: Vec<FieldDiff>,
    /// Changed nested blocks.
    #[serde(deserialize_with = "nullable")]
    pub objects: Vec<ObjectDiff>,
}

/// A task group's change (`TaskGroupDiff`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskGroupDiff {
    /// `Added`, `Deleted`, `Edited` or `None`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// Group name.
    pub name: String,
    /// Changed group-level fields (e.g. `Count`).
    #[serde(deserialize_with = "nullable")]
    pub fields: Vec<FieldDiff>,
    /// Changed group-level blocks.
    #[serde(deserialize_with = "nullable")]
    pub objects: Vec<ObjectDiff>,
    /// Changed tasks.
    #[serde(deserialize_with = "nullable")]
    pub tasks: Vec<TaskDiff>,
    /// What the scheduler would do, as counts of allocations by update type: `create`,
    /// `destroy`, `ignore`, `in-place update`, `create/destroy update`, `migrate`, `canary`.
    #[serde(deserialize_with = "nullable")]
    pub updates: BTreeMap<String, u64>,
}

/// A task's change (`TaskDiff`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskDiff {
    /// `Added`, `Deleted`, `Edited` or `None`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// Task name.
    pub name: String,
    /// Changed task-level fields.
    #[serde(deserialize_with = "nullable")]
    pub fields: Vec<FieldDiff>,
    /// Changed task-level blocks (`Config`, `Env`, `Resources`, …).
    #[serde(deserialize_with = "nullable")]
    pub objects: Vec<ObjectDiff>,
    /// What the change forces, e.g. `forces create/destroy update`.
    #[serde(deserialize_with = "nullable")]
    pub annotations: Vec<String>,
}

/// Answer to `POST /v1/jobs` and `POST /v1/job/{id}/revert` (`JobRegisterResponse`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RegisterResponse {
    /// The evaluation created for the job (empty for periodic and parameterized jobs).
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    /// Raft index at which the evaluation was created.
    pub eval_create_index: u64,
    /// The job's modify index after the call (unchanged when the job spec did not change).
    pub job_modify_index: u64,
    /// Warnings about the job, one string.
    pub warnings: String,
}

/// Answer to `DELETE /v1/job/{id}` (`JobDeregisterResponse`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeregisterResponse {
    /// The evaluation that stops the allocations.
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    /// Raft index at which the evaluation was created.
    pub eval_create_index: u64,
    /// The job's modify index after the call.
    pub job_modify_index: u64,
}

/// Answer to `GET /v1/job/{id}/versions` (`JobVersionsResponse`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobVersions {
    /// Every retained version of the job, newest first, as Nomad returns them.
    #[serde(deserialize_with = "nullable")]
    pub versions: Vec<Value>,
    /// Diffs between consecutive versions, when asked for with `diffs=true`.
    #[serde(deserialize_with = "nullable")]
    pub diffs: Vec<JobDiff>,
}

/// One entry of `GET /v1/jobs` (`JobListStub`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobListStub {
    /// Job ID.
    #[serde(rename = "ID")]
    pub id: String,
    /// Job name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// `service`, `batch`, `system` or `sysbatch`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// `pending`, `running` or `dead`.
    pub status: String,
    /// Whether the job is stopped (deregistered without purge).
    pub stop: bool,
    /// Whether the job is periodic.
    pub periodic: bool,
    /// Current version.
    pub version: u64,
    /// The job's modify index.
    pub job_modify_index: u64,
}

/// A deployment: the rollout of one job version (`Deployment`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Deployment {
    /// Deployment ID.
    #[serde(rename = "ID")]
    pub id: String,
    /// Namespace.
    pub namespace: String,
    /// Job ID.
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// The job version being rolled out.
    pub job_version: u64,
    /// The job's modify index when the deployment was created.
    pub job_modify_index: u64,
    /// The job's spec modify index when the deployment was created.
    pub job_spec_modify_index: u64,
    /// `running`, `successful`, `failed`, `cancelled`, `paused`, `blocked`, `pending`, …
    pub status: String,
    /// Why it has that status, e.g. `Failed due to unhealthy allocations`.
    pub status_description: String,
    /// Progress per task group.
    #[serde(deserialize_with = "nullable")]
    pub task_groups: BTreeMap<String, DeploymentState>,
    /// Raft index of creation.
    pub create_index: u64,
    /// Raft index of the last change.
    pub modify_index: u64,
}

impl Deployment {
    /// Whether the rollout finished successfully.
    pub fn is_successful(&self) -> bool {
        self.status == "successful"
    }

    /// Whether the rollout ended without success (failed or cancelled).
    pub fn is_failed(&self) -> bool {
        self.status == "failed" || self.status == "cancelled"
    }

    /// Whether the deployment will not change any more on its own.
    pub fn is_terminal(&self) -> bool {
        self.is_successful() || self.is_failed()
    }
}

/// A task group's progress in a deployment (`DeploymentState`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeploymentState {
    /// Whether Nomad reverts to the last stable version when this group fails.
    pub auto_revert: bool,
    /// Whether the canaries were promoted.
    pub promoted: bool,
    /// Canaries wanted.
    pub desired_canaries: u64,
    /// Allocations wanted.
    pub desired_total: u64,
    /// Allocations placed so far.
    pub placed_allocs: u64,
    /// Placed allocations that became healthy.
    pub healthy_allocs: u64,
    /// Placed allocations that became unhealthy.
    pub unhealthy_allocs: u64,
    /// Progress deadline in nanoseconds.
    pub progress_deadline: i64,
    /// When progress must be made by (RFC 3339).
    #[serde(deserialize_with = "nullable")]
    pub require_progress_by: Option<String>,
}

/// One entry of `GET /v1/job/{id}/allocations` (`AllocationListStub`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocationStub {
    /// Allocation ID.
    #[serde(rename = "ID")]
    pub id: String,
    /// Allocation name, `job.group[index]`.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Node ID.
    #[serde(rename = "NodeID")]
    pub node_id: String,
    /// Node name.
    pub node_name: String,
    /// Job ID.
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// The job version this allocation runs.
    pub job_version: u64,
    /// Task group name.
    pub task_group: String,
    /// What the scheduler wants: `run`, `stop` or `evict`.
    pub desired_status: String,
    /// Why, when it is not `run`.
    pub desired_description: String,
    /// What the client reports: `pending`, `running`, `complete`, `failed`, `lost`.
    pub client_status: String,
    /// Why, in the client's words.
    pub client_description: String,
    /// Health as seen by the deployment (absent before it is known).
    #[serde(deserialize_with = "nullable")]
    pub deployment_status: Option<AllocDeploymentStatus>,
    /// State of each task, by task name.
    #[serde(deserialize_with = "nullable")]
    pub task_states: BTreeMap<String, TaskState>,
    /// Raft index of creation.
    pub create_index: u64,
    /// Raft index of the last change.
    pub modify_index: u64,
    /// Creation time, Unix nanoseconds.
    pub create_time: i64,
    /// Last change time, Unix nanoseconds.
    pub modify_time: i64,
}

impl AllocationStub {
    /// Task events that made a task fail, as `(task, event)`, in the order they happened.
    pub fn failure_events(&self) -> Vec<(&str, &TaskEvent)> {
        self.task_states
            .iter()
            .filter(|(_, state)| state.failed)
            .flat_map(|(task, state)| {
                state
                    .events
                    .iter()
                    .filter(|e| e.is_failure())
                    .map(move |e| (task.as_str(), e))
            })
            .collect()
    }
}

/// An allocation's health in its deployment (`AllocDeploymentStatus`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocDeploymentStatus {
    /// `Some(true)` healthy, `Some(false)` unhealthy, `None` not known yet.
    #[serde(deserialize_with = "nullable")]
    pub healthy: Option<bool>,
    /// Whether the allocation is a canary.
    pub canary: bool,
}

/// A task's state in an allocation (`TaskState`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskState {
    /// `pending`, `running` or `dead`.
    pub state: String,
    /// Whether the task failed (dead and not successful).
    pub failed: bool,
    /// How many times the task was restarted.
    pub restarts: u64,
    /// When the task last started (RFC 3339).
    #[serde(deserialize_with = "nullable")]
    pub started_at: Option<String>,
    /// When the task finished (RFC 3339).
    #[serde(deserialize_with = "nullable")]
    pub finished_at: Option<String>,
    /// What happened to the task, oldest first (Nomad keeps the last ten).
    #[serde(deserialize_with = "nullable")]
    pub events: Vec<TaskEvent>,
}

/// Something that happened to a task (`TaskEvent`), e.g. `Driver Failure`, `Terminated`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskEvent {
    /// Event type: `Received`, `Task Setup`, `Driver`, `Started`, `Driver Failure`,
    /// `Terminated`, `Restarting`, `Not Restarting`, `Killing`, `Killed`, …
    #[serde(rename = "Type")]
    pub kind: String,
    /// Unix nanoseconds.
    pub time: i64,
    /// The human-readable message Nomad shows (`nomad alloc status`).
    pub display_message: String,
    /// Structured details (`driver_error`, `exit_code`, `fails_task`, …), all strings.
    #[serde(deserialize_with = "nullable")]
    pub details: BTreeMap<String, String>,
    /// Older free-form message field.
    pub message: String,
    /// The driver's error, for `Driver Failure`.
    pub driver_error: String,
    /// Exit code, for `Terminated`.
    pub exit_code: i64,
    /// Whether this event failed the task.
    pub fails_task: bool,
}

impl TaskEvent {
    /// Whether the event reports a failure worth showing to whoever deployed.
    pub fn is_failure(&self) -> bool {
        self.fails_task
            || matches!(
                self.kind.as_str(),
                "Driver Failure" | "Setup Failure" | "Failed Validation" | "Not Restarting" | "Terminated"
            )
    }

    /// The best message the event has: `DisplayMessage`, else the driver error or message.
    pub fn text(&self) -> &str {
        [&self.display_message, &self.driver_error, &self.message]
            .into_iter()
            .find(|s| !s.is_empty())
            .map_or(self.kind.as_str(), |s| s.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plan_response_decodes_the_spec_shape_with_nulls() {
        let body = json!({
            "Annotations": {"DesiredTGUpdates": {"web": {"DestructiveUpdate": 2}}},
            "CreatedEvals": null,
            "Diff": {
                "Fields": null,
                "ID": "web",
                "Objects": null,
                "TaskGroups": [{
                    "Fields": null,
                    "Name": "web",
                    "Objects": null,
                    "Tasks": [{
                        "Annotations": ["forces create/destroy update"],
                        "Fields": null,
                        "Name": "web",
                        "Objects": [{
                            "Fields": [{"Annotations": null, "Name": "image", "New": "b:2", "Old": "b:1", "Type": "Edited"}],
                            "Name": "Config",
                            "Objects": null,
                            "Type": "Edited"
                        }],
                        "Type": "Edited"
                    }],
                    "Type": "Edited",
                    "Updates": {"create/destroy update": 2}
                }],
                "Type": "Edited"
            },
            "FailedTGAllocs": {"db": {"NodesEvaluated": 3, "DimensionExhausted": {"memory": 3}, "Unknown": 1}},
            "JobModifyIndex": 17,
            "NextPeriodicLaunch": "0001-01-01T00:00:00Z",
            "Warnings": ""
        });
        let plan: PlanResponse = serde_json::from_value(body).expect("decode");
        assert_eq!(plan.job_modify_index, 17);
        let diff = plan.diff.expect("diff");
        assert_eq!(diff.kind, "Edited");
        assert!(diff.fields.is_empty());
        let tg = &diff.task_groups[0];
        assert_eq!(tg.updates["create/destroy update"], 2);
        let field = &tg.tasks[0].objects[0].fields[0];
        assert_eq!((field.old.as_str(), field.new.as_str()), ("b:1", "b:2"));
        assert!(field.annotations.is_empty());
        assert_eq!(plan.failed_tg_allocs["db"].dimension_exhausted["memory"], 3);
    }

    #[test]
    fn allocation_stub_exposes_failure_events() {
        let body = json!([{
            "ID": "a1", "Name": "web.web[0]", "Namespace": "default", "NodeID": "n1",
            "JobID": "web", "JobVersion": 1, "TaskGroup": "web", "DesiredStatus": "run",
            "ClientStatus": "failed", "DeploymentStatus": {"Healthy": false, "Canary": false, "Timestamp": "2024-01-01T00:00:00Z"},
            "TaskStates": {"web": {
                "State": "dead", "Failed": true, "Restarts": 0, "StartedAt": null,
                "FinishedAt": "2024-01-01T00:00:00Z", "LastRestart": null,
                "Events": [
                    {"Type": "Received", "Time": 1, "DisplayMessage": "Task received by client", "Details": {}, "FailsTask": false},
                    {"Type": "Driver Failure", "Time": 2, "DisplayMessage": "Failed to pull `x:1`: not found",
                     "Details": {"driver_error": "Failed to pull `x:1`: not found", "fails_task": "true"},
                     "DriverError": "Failed to pull `x:1`: not found", "FailsTask": true, "ExitCode": 0}
                ]
            }},
            "CreateIndex": 10, "ModifyIndex": 12, "CreateTime": 5, "ModifyTime": 6, "AllocatedResources": null
        }]);
        let allocs: Vec<AllocationStub> = serde_json::from_value(body).expect("decode");
        assert_eq!(
            allocs[0].deployment_status.as_ref().and_then(|d| d.healthy),
            Some(false)
        );
        let failures = allocs[0].failure_events();
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].0, "web");
        assert_eq!(failures[0].1.text(), "Failed to pull `x:1`: not found");
        assert_eq!(failures[0].1.details["fails_task"], "true");
    }

    #[test]
    fn deployment_decodes_and_classifies() {
        let body = json!({
            "ID": "d1", "Namespace": "default", "JobID": "web", "JobVersion": 2, "JobModifyIndex": 30,
            "JobSpecModifyIndex": 30, "JobCreateIndex": 10, "IsMultiregion": false,
            "Status": "failed", "StatusDescription": "Failed due to unhealthy allocations",
            "TaskGroups": {"web": {"AutoRevert": true, "DesiredTotal": 3, "PlacedAllocs": 3,
                "HealthyAllocs": 0, "UnhealthyAllocs": 3, "ProgressDeadline": 600_000_000_000_i64,
                "RequireProgressBy": "2024-01-01T00:10:00Z", "PlacedCanaries": null}},
            "CreateIndex": 31, "ModifyIndex": 40
        });
        let d: Deployment = serde_json::from_value(body).expect("decode");
        assert!(d.is_failed() && d.is_terminal() && !d.is_successful());
        assert_eq!(d.task_groups["web"].unhealthy_allocs, 3);
        assert!(d.task_groups["web"].auto_revert);
    }

    #[test]
    fn register_and_versions_decode() {
        let r: RegisterResponse = serde_json::from_value(json!({
            "EvalID": "e1", "EvalCreateIndex": 9, "JobModifyIndex": 8, "Warnings": "",
            "KnownLeader": false, "LastContact": 0, "LastIndex": 0, "Index": 9
        }))
        .expect("decode");
        assert_eq!((r.eval_id.as_str(), r.job_modify_index), ("e1", 8));
        let v: JobVersions = serde_json::from_value(json!({
            "Versions": [{"ID": "web", "Version": 1}, {"ID": "web", "Version": 0}], "Diffs": null
        }))
        .expect("decode");
        assert_eq!(v.versions.len(), 2);
        assert!(v.diffs.is_empty());
    }
}
