//! What an apply or rollback did, job by job, and why a rollout failed. Serializable, for
//! deployment records.

use std::fmt::{self, Write};

use ojek_nomad_api::{AllocationStub, TaskEvent};
use serde::Serialize;

/// What an apply did on a Nomad cluster.
#[derive(Debug, Clone, Serialize)]
pub struct NomadApplyReport {
    /// The cluster's address.
    pub address: String,
    /// One report per job, in the rendered order.
    pub jobs: Vec<NomadJobReport>,
    /// [`jobs_hash`](super::jobs_hash) of the rendered jobs, for the deployment record.
    pub jobs_hash: String,
}

impl NomadApplyReport {
    /// Whether every job was registered and every followed rollout succeeded (or had nothing
    /// to roll out).
    pub fn succeeded(&self) -> bool {
        self.jobs.iter().all(|j| j.status.is_success())
    }

    /// A line per job (what was registered, how the rollout ended), followed by the distinct
    /// failure reasons of failed or timed-out rollouts.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for job in &self.jobs {
            job.write_text(&mut out);
        }
        out
    }
}

/// How the rollout of one job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutStatus {
    /// The job was already as rendered: no new version, nothing to roll out.
    Unchanged,
    /// A new version of a job without deployments (batch, periodic, parameterized, or a
    /// service job whose groups disable deployments): registering it was all.
    Registered,
    /// A new version whose deployment was not followed (no wait asked for).
    NotFollowed,
    /// The deployment completed successfully.
    Successful,
    /// The deployment failed or was cancelled; see the failures.
    Failed,
    /// A newer version of the job was registered (by someone else) while following.
    Superseded,
    /// The wait ran out before the deployment finished.
    TimedOut,
}

impl RolloutStatus {
    /// Whether the job is where it should be (or on its way there, when not followed).
    pub fn is_success(self) -> bool {
        matches!(
            self,
            RolloutStatus::Unchanged
                | RolloutStatus::Registered
                | RolloutStatus::NotFollowed
                | RolloutStatus::Successful
        )
    }

    /// A lowercase word for output: `unchanged`, `registered`, `not followed`, `successful`,
    /// `failed`, `superseded`, `timed out`.
    pub fn as_str(self) -> &'static str {
        match self {
            RolloutStatus::Unchanged => "unchanged",
            RolloutStatus::Registered => "registered",
            RolloutStatus::NotFollowed => "not followed",
            RolloutStatus::Successful => "successful",
            RolloutStatus::Failed => "failed",
            RolloutStatus::Superseded => "superseded",
            RolloutStatus::TimedOut => "timed out",
        }
    }
}

impl fmt::Display for RolloutStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened to one job.
#[derive(Debug, Clone, Serialize)]
pub struct NomadJobReport {
    /// Job ID.
    pub job_id: String,
    /// Namespace.
    pub namespace: String,
    /// `service`, `batch`, `system` or `sysbatch`.
    pub job_type: String,
    /// Whether a new job version was registered.
    pub changed: bool,
    /// The version before, `None` for a new job.
    pub previous_version: Option<u64>,
    /// The job's version now.
    pub version: u64,
    /// The evaluation the registration created (empty for periodic jobs).
    pub eval_id: String,
    /// The job modify index after the registration.
    pub job_modify_index: u64,
    /// The deployment of the new version, when there is one.
    pub deployment_id: Option<String>,
    /// How the rollout ended.
    pub status: RolloutStatus,
    /// Nomad's description of the deployment's status, e.g. `Failed due to unhealthy
    /// allocations` (empty without deployment).
    pub status_description: String,
    /// Failed allocations of the new version with their failing task events (when the
    /// rollout failed or timed out).
    pub failures: Vec<AllocationFailure>,
}

impl NomadJobReport {
    /// Writes the job's line and failure reasons, e.g. `job "web" (namespace apps): version
    /// 3 → 4, deployment 6b0e… failed: Failed due to unhealthy allocations`.
    pub(crate) fn write_text(&self, out: &mut String) {
        let versions = match (self.previous_version, self.changed) {
            (_, false) => format!("version {} unchanged", self.version),
            (None, true) => format!("version {} registered", self.version),
            (Some(old), true) => format!("version {old} → {}", self.version),
        };
        let _ = write!(
            out,
            "job {:?} (namespace {}): {versions}",
            self.job_id, self.namespace
        );
        match &self.deployment_id {
            Some(id) => {
                let _ = write!(out, ", deployment {id} {}", self.status);
            }
            None if self.changed => {
                let _ = write!(out, ", {}", self.status);
            }
            None => {}
        }
        if !self.status_description.is_empty() {
            let _ = write!(out, ": {}", self.status_description);
        }
        out.push('\n');
        for reason in self.failure_summary() {
            let _ = writeln!(out, "  {reason}");
        }
    }

    /// The distinct failure reasons, each with how many allocations had it, e.g.
    /// `task "web": Driver Failure: Failed to pull … (6 allocations)`.
    pub fn failure_summary(&self) -> Vec<String> {
        let mut reasons: Vec<(String, usize)> = Vec::new();
        for failure in &self.failures {
            for event in &failure.events {
                let reason = format!("task {:?}: {event}", failure.task);
                match reasons.iter_mut().find(|(r, _)| *r == reason) {
                    Some((_, n)) => *n += 1,
                    None => reasons.push((reason, 1)),
                }
            }
        }
        reasons
            .into_iter()
            .map(|(reason, n)| match n {
                1 => format!("{reason} (1 allocation)"),
                n => format!("{reason} ({n} allocations)"),
            })
            .collect()
    }
}

/// A task of an allocation that failed, with what Nomad recorded about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AllocationFailure {
    /// Allocation ID.
    pub allocation_id: String,
    /// Allocation name, `job.group[index]`.
    pub allocation_name: String,
    /// Task group.
    pub task_group: String,
    /// The failing task.
    pub task: String,
    /// The allocation's client status (`failed`, `pending`, …).
    pub client_status: String,
    /// The task's failure events, oldest first.
    pub events: Vec<FailureEvent>,
}

impl AllocationFailure {
    /// The failures of one allocation: a task marked failed, with its failure events.
    pub(crate) fn of(alloc: &AllocationStub) -> Vec<AllocationFailure> {
        let mut out: Vec<AllocationFailure> = Vec::new();
        for (task, event) in alloc.failure_events() {
            let event = FailureEvent::from(event);
            match out.iter_mut().find(|f| f.task == task) {
                Some(failure) => failure.events.push(event),
                None => out.push(AllocationFailure {
                    allocation_id: alloc.id.clone(),
                    allocation_name: alloc.name.clone(),
                    task_group: alloc.task_group.clone(),
                    task: task.to_string(),
                    client_status: alloc.client_status.clone(),
                    events: vec![event],
                }),
            }
        }
        out
    }
}

/// One failing task event, e.g. `Driver Failure` or `Terminated`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailureEvent {
    /// Event type as Nomad names it.
    pub kind: String,
    /// Nomad's message for it.
    pub message: String,
    /// The exit code, for `Terminated`.
    pub exit_code: Option<i64>,
}

impl From<&TaskEvent> for FailureEvent {
    fn from(event: &TaskEvent) -> Self {
        let exit_code = (event.kind == "Terminated").then(|| {
            event
                .details
                .get("exit_code")
                .and_then(|c| c.parse().ok())
                .unwrap_or(event.exit_code)
        });
        FailureEvent {
            kind: event.kind.clone(),
            message: event.text().to_string(),
            exit_code,
        }
    }
}

impl fmt::Display for FailureEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)?;
        if let Some(code) = self.exit_code
            && !self.message.contains(&format!("Exit Code: {code}"))
        {
            write!(f, " (exit code {code})")?;
        }
        Ok(())
    }
}
