//! Applying: server-side apply of every object in order with field manager `ojek`, phase by
//! phase ([`order`](super::order)): setup, then Jobs (replaced when their pod template changed
//! or they had failed, and waited for when waiting), then the rollout phase; prune after every
//! apply succeeded, then the rollout wait. Stops at the first object that fails: what was
//! applied before stays, and the [`ApplyReport`] in [`DeployError::Incomplete`] says which
//! objects were applied.

use std::time::Duration;

use kube::api::DeleteParams;
use kube::core::ApiResource;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::diff::{self, show};
use super::order::{self, Phase};
use super::plan::template_changed;
use super::rollout::{Rollout, RolloutStatus, Wait, is_workload, job_failed};
use super::{Deployment, KubeTarget, ObjectRef, PreparedObject};
use crate::error::DeployError;
use ojek_output::Rendered;

/// How long to wait for a replaced Job to be gone before applying it again.
const DELETE_WAIT: Duration = Duration::from_secs(60);

/// How to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyOptions {
    /// Take over fields other field managers own (server-side apply `force`).
    pub force: bool,
    /// Delete objects of this app and environment that are no longer rendered.
    pub prune: bool,
    /// Wait for Jobs to complete and workloads to roll out, at most this long in all.
    pub wait: Option<Duration>,
    /// How often to look at rollouts while waiting (1 s by default).
    pub poll_interval: Duration,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            force: false,
            prune: false,
            wait: None,
            poll_interval: Duration::from_secs(1),
        }
    }
}

/// What happened to one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ObjectResult {
    /// Created.
    Created,
    /// Changed (a new resourceVersion).
    Updated,
    /// Applied, nothing changed.
    Unchanged,
    /// A Job with a changed pod template (or one that had failed), deleted and created again.
    Replaced,
    /// Applying it failed; nothing after it was applied.
    Failed {
        /// Why.
        error: String,
    },
    /// Not attempted because an earlier object failed.
    NotApplied,
    /// Not applied because a Job of an earlier phase failed or did not complete in time
    /// (the rollout phase waits for the Jobs; see [`order`](super::order)).
    Skipped {
        /// Which Job, and why it did not complete.
        reason: String,
    },
}

/// One object of an [`ApplyReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedObject {
    /// Which object.
    #[serde(flatten)]
    pub object: ObjectRef,
    /// What happened.
    #[serde(flatten)]
    pub result: ObjectResult,
}

/// The outcome of [`KubeTarget::apply`], for the user and for deployment records.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApplyReport {
    /// The cluster's name.
    pub cluster: String,
    /// App, environment and revision.
    pub deployment: Deployment,
    /// Every object in apply order.
    pub objects: Vec<AppliedObject>,
    /// Objects deleted by the prune.
    pub pruned: Vec<ObjectRef>,
    /// Each workload's rollout, when waiting was asked for.
    pub rollouts: Vec<Rollout>,
    /// SHA-256 (hex) of the applied objects' canonical JSON (keys sorted, in apply order),
    /// without the revision annotation and implicitly created namespaces: two revisions that
    /// render the same objects have the same hash.
    pub hash: String,
}

impl ApplyReport {
    /// Every object applied and every rollout ok.
    pub fn succeeded(&self) -> bool {
        self.objects.iter().all(|o| {
            !matches!(
                o.result,
                ObjectResult::Failed { .. } | ObjectResult::NotApplied | ObjectResult::Skipped { .. }
            )
        }) && self.rollouts.iter().all(|r| r.status == RolloutStatus::Ok)
    }

    /// A readable summary: one line per object, pruned object and rollout, with reasons.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "cluster {}: {} in {}, revision {}\n",
            self.cluster, self.deployment.app, self.deployment.env, self.deployment.revision
        );
        for o in &self.objects {
            let what = match &o.result {
                ObjectResult::Created => "created".to_string(),
                ObjectResult::Updated => "updated".to_string(),
                ObjectResult::Unchanged => "unchanged".to_string(),
                ObjectResult::Replaced => "replaced".to_string(),
                ObjectResult::Failed { error } => format!("FAILED: {error}"),
                ObjectResult::NotApplied => "not applied".to_string(),
                ObjectResult::Skipped { reason } => format!("skipped: {reason}"),
            };
            out.push_str(&format!("  {}: {what}\n", o.object));
        }
        for p in &self.pruned {
            out.push_str(&format!("  {p}: pruned\n"));
        }
        for r in &self.rollouts {
            let status = match r.status {
                RolloutStatus::Ok => "rolled out",
                RolloutStatus::Failed => "rollout FAILED",
                RolloutStatus::Timeout => "rollout TIMED OUT",
            };
            out.push_str(&format!("  {} {status}: {}\n", r.object, r.message));
            for reason in &r.reasons {
                out.push_str(&format!("      {reason}\n"));
            }
        }
        out.push_str(&format!("  sha256 {}\n", self.hash));
        out
    }
}

/// SHA-256 of the rendered objects' canonical JSON, without revision annotations (and
/// without namespaces ojek creates because they are missing).
fn hash(objects: &[PreparedObject]) -> String {
    let canonical: Vec<Value> = objects
        .iter()
        .filter(|o| !o.implicit)
        .map(|o| diff::canonical(&diff::without_revision(&o.value)))
        .collect();
    let digest = Sha256::digest(Value::Array(canonical).to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The objects among `objects` that are waited for, with their API resources.
fn waited_for(objects: &[PreparedObject]) -> Vec<(ObjectRef, ApiResource)> {
    objects
        .iter()
        .filter(|o| is_workload(&o.object.kind))
        .map(|o| (o.object.clone(), o.resource.clone()))
        .collect()
}

impl KubeTarget {
    /// Applies `rendered` for `deployment` phase by phase (see [`order`]), then
    /// prunes and waits as `options` say.
    ///
    /// When waiting, the Jobs are waited for before the rollout phase is applied, within the
    /// same deadline as the workloads: if one fails or does not complete in time, the rollout
    /// phase is not applied ([`ObjectResult::Skipped`], naming the Job), nothing is pruned, and
    /// the report's rollouts say why the Job failed.
    ///
    /// A failure while applying returns [`DeployError::Incomplete`] with the report so far
    /// (its cause is [`DeployError::Conflict`] for field-manager conflicts). A failed or
    /// timed-out rollout is not an error: see [`ApplyReport::succeeded`] and the rollouts.
    pub async fn apply(
        &self,
        rendered: &Rendered,
        deployment: &Deployment,
        options: &ApplyOptions,
    ) -> Result<ApplyReport, DeployError> {
        let prepared = self.prepare(rendered, deployment).await?;
        let wait = options
            .wait
            .map(|timeout| Wait::starting_now(timeout, options.poll_interval));
        let mut report = ApplyReport {
            cluster: self.name.clone(),
            deployment: deployment.clone(),
            objects: Vec::new(),
            pruned: Vec::new(),
            rollouts: Vec::new(),
            hash: hash(&prepared.objects),
        };
        let split = prepared
            .objects
            .iter()
            .position(|o| order::phase(&o.object.kind) == Phase::Rollout)
            .unwrap_or(prepared.objects.len());
        let (before, rollout_phase) = prepared.objects.split_at(split);

        self.apply_all(before, rollout_phase, options.force, &mut report)
            .await?;
        if let Some(wait) = &wait {
            let jobs = waited_for(before);
            report.rollouts = self.wait_for_rollouts(&jobs, wait).await;
            if let Some(job) = report.rollouts.iter().find(|r| r.status != RolloutStatus::Ok) {
                let reason = format!("{} did not complete: {}", job.object, job.message);
                for object in rollout_phase {
                    report.objects.push(AppliedObject {
                        object: object.object.clone(),
                        result: ObjectResult::Skipped {
                            reason: reason.clone(),
                        },
                    });
                }
                return Ok(report);
            }
        }
        self.apply_all(rollout_phase, &[], options.force, &mut report)
            .await?;

        if options.prune {
            for (object, resource) in self.prune_candidates(&prepared, deployment).await? {
                let api = self.api_for(&resource, object.namespace.as_deref());
                match api.delete(&object.name, &DeleteParams::background()).await {
                    Ok(_) => report.pruned.push(object),
                    Err(e) if super::status_code(&e) == Some(404) => {}
                    Err(e) => {
                        let source = self.api_error(format!("prune {object}"), e);
                        return Err(DeployError::Incomplete {
                            report: Box::new(report),
                            source: Box::new(source),
                        });
                    }
                }
            }
        }

        if let Some(wait) = &wait {
            let workloads = waited_for(rollout_phase);
            let rollouts = self.wait_for_rollouts(&workloads, wait).await;
            report.rollouts.extend(rollouts);
        }
        Ok(report)
    }

    /// Applies `objects` in order into `report`. At the first failure, the objects after it
    /// and every object of `later` are reported [`ObjectResult::NotApplied`] and the error is
    /// [`DeployError::Incomplete`] with the report.
    async fn apply_all(
        &self,
        objects: &[PreparedObject],
        later: &[PreparedObject],
        force: bool,
        report: &mut ApplyReport,
    ) -> Result<(), DeployError> {
        for (i, object) in objects.iter().enumerate() {
            match self.apply_one(object, force).await {
                Ok(result) => report.objects.push(AppliedObject {
                    object: object.object.clone(),
                    result,
                }),
                Err(source) => {
                    report.objects.push(AppliedObject {
                        object: object.object.clone(),
                        result: ObjectResult::Failed {
                            error: source.to_string(),
                        },
                    });
                    for rest in objects[i + 1..].iter().chain(later) {
                        report.objects.push(AppliedObject {
                            object: rest.object.clone(),
                            result: ObjectResult::NotApplied,
                        });
                    }
                    return Err(DeployError::Incomplete {
                        report: Box::new(report.clone()),
                        source: Box::new(source),
                    });
                }
            }
        }
        Ok(())
    }

    async fn apply_one(&self, object: &PreparedObject, force: bool) -> Result<ObjectResult, DeployError> {
        let live = self.get_live(object).await?;
        let Some(live) = live else {
            self.server_side_apply(object, force, false).await?;
            return Ok(ObjectResult::Created);
        };
        let replace = object.object.kind == "Job"
            && (job_failed(&live) || self.job_template_changes(object, &live, force).await?);
        if replace {
            let api = self.api_for(&object.resource, object.object.namespace.as_deref());
            api.delete(&object.object.name, &DeleteParams::background())
                .await
                .map_err(|e| self.api_error(format!("delete {} to replace it", object.object), e))?;
            let deadline = tokio::time::Instant::now() + DELETE_WAIT;
            while self.get_live(object).await?.is_some() {
                if tokio::time::Instant::now() >= deadline {
                    return Err(DeployError::InvalidObject(format!(
                        "{} is still being deleted after {DELETE_WAIT:?}; apply again once it is gone",
                        object.object
                    )));
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            self.server_side_apply(object, force, false).await?;
            return Ok(ObjectResult::Replaced);
        }
        let after = self.server_side_apply(object, force, false).await?;
        let version = |v: &Value| v.pointer("/metadata/resourceVersion").map(show);
        Ok(if version(&live) == version(&after) {
            ObjectResult::Unchanged
        } else {
            ObjectResult::Updated
        })
    }

    /// Whether applying would change the live Job's (immutable) pod template.
    async fn job_template_changes(
        &self,
        object: &PreparedObject,
        live: &Value,
        force: bool,
    ) -> Result<bool, DeployError> {
        match self.server_side_apply(object, force, true).await {
            Ok(after) => Ok(template_changed(live, &after)),
            Err(DeployError::Api { ref source, .. }) if super::status_code(source) == Some(422) => Ok(true),
            Err(e) => Err(e),
        }
    }
}
