//! What an apply would do: per object Create / Update (with field changes) / Unchanged,
//! computed by a server-side-apply dry run against the live object, and the objects a prune
//! would delete. Reads only; never writes to the cluster.

use serde::Serialize;
use serde_json::Value;

use super::diff::{self, FieldChange};
use super::rollout::job_failed;
use super::{Deployment, KubeTarget, ObjectRef};
use crate::error::{DeployError, FieldConflict};
use ojek_output::Rendered;

/// What applying would do to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The object does not exist yet.
    Create,
    /// Fields change (see [`PlannedObject::changes`]).
    Update,
    /// Only the `ojek.dev/revision` annotation changes.
    RevisionOnly,
    /// Nothing changes.
    Unchanged,
}

/// One object of a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedObject {
    /// Which object.
    #[serde(flatten)]
    pub object: ObjectRef,
    /// What applying does to it.
    pub action: Action,
    /// Field changes from the live object (empty for creates and unchanged objects).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<FieldChange>,
    /// Fields another field manager owns with other values: applying fails without `force`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<FieldConflict>,
    /// A Job whose pod template changes, or that had failed: it is deleted and created again
    /// (so a failed migration runs again).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub replace: bool,
}

/// What [`KubeTarget::apply`] would do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KubePlan {
    /// The cluster's name.
    pub cluster: String,
    /// App, environment and revision.
    pub deployment: Deployment,
    /// Every object in apply order (a missing namespace first).
    pub objects: Vec<PlannedObject>,
    /// Objects ojek applied before for this app and environment that are no longer rendered.
    pub prune: Vec<ObjectRef>,
}

impl KubePlan {
    /// Whether applying would change anything besides revision annotations (prune and
    /// Jobs run again included).
    pub fn has_changes(&self) -> bool {
        !self.prune.is_empty()
            || self
                .objects
                .iter()
                .any(|o| o.replace || matches!(o.action, Action::Create | Action::Update))
    }

    /// A `kubectl diff`-like text: `+ Service/y`, `~ Deployment/x (2 fields)` with `-`/`+`
    /// lines per field, `= ConfigMap/c`, `- ConfigMap/z (prune)`.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "cluster {}: {} in {}, revision {}\n",
            self.cluster, self.deployment.app, self.deployment.env, self.deployment.revision
        );
        for o in &self.objects {
            let line = match o.action {
                Action::Create => format!("+ {}\n", o.object),
                Action::Update => {
                    let n = o.changes.len();
                    let replace = if o.replace { ", replaced" } else { "" };
                    format!(
                        "~ {} ({n} field{}{replace})\n",
                        o.object,
                        if n == 1 { "" } else { "s" }
                    )
                }
                Action::RevisionOnly | Action::Unchanged if o.replace => {
                    format!("~ {} (failed: replaced to run again)\n", o.object)
                }
                Action::RevisionOnly => format!("= {} (unchanged except revision)\n", o.object),
                Action::Unchanged => format!("= {}\n", o.object),
            };
            out.push_str(&line);
            if o.action == Action::Update {
                diff::write_changes(&o.changes, &mut out);
            }
            for c in &o.conflicts {
                out.push_str(&format!("    ! {} is owned by {}\n", c.field, c.manager));
            }
        }
        for p in &self.prune {
            out.push_str(&format!("- {p} (prune)\n"));
        }
        out
    }
}

impl KubeTarget {
    /// Plans applying `rendered` for `deployment`: dry-run server-side apply of each object,
    /// field changes against the live object, and what a prune would delete.
    pub async fn plan(&self, rendered: &Rendered, deployment: &Deployment) -> Result<KubePlan, DeployError> {
        let prepared = self.prepare(rendered, deployment).await?;
        let mut objects = Vec::new();
        for object in &prepared.objects {
            let create = PlannedObject {
                object: object.object.clone(),
                action: Action::Create,
                changes: Vec::new(),
                conflicts: Vec::new(),
                replace: false,
            };
            if object.in_missing_namespace(&prepared) {
                objects.push(create);
                continue;
            }
            let Some(live) = self.get_live(object).await? else {
                objects.push(create);
                continue;
            };
            let (dry, conflicts) = match self.server_side_apply(object, false, true).await {
                Ok(dry) => (Some(dry), Vec::new()),
                Err(DeployError::Conflict { conflicts, .. }) => {
                    (Some(self.server_side_apply(object, true, true).await?), conflicts)
                }
                // The API server refuses a changed Job template as immutable (422).
                Err(DeployError::Api { ref source, .. })
                    if object.object.kind == "Job" && super::status_code(source) == Some(422) =>
                {
                    (None, Vec::new())
                }
                Err(e) => return Err(e),
            };
            let after = dry.unwrap_or_else(|| object.value.clone());
            let replace =
                object.object.kind == "Job" && (job_failed(&live) || template_changed(&live, &after));
            let mut changes = diff::diff(&live, &after);
            if object.object.kind == "Secret" {
                diff::hide_secret_values(&mut changes);
            }
            let action = if changes.is_empty() {
                Action::Unchanged
            } else if diff::diff(&diff::without_revision(&live), &diff::without_revision(&after)).is_empty() {
                Action::RevisionOnly
            } else {
                Action::Update
            };
            objects.push(PlannedObject {
                object: object.object.clone(),
                action,
                changes,
                conflicts,
                replace,
            });
        }
        let prune = self
            .prune_candidates(&prepared, deployment)
            .await?
            .into_iter()
            .map(|(o, _)| o)
            .collect();
        Ok(KubePlan {
            cluster: self.name.clone(),
            deployment: deployment.clone(),
            objects,
            prune,
        })
    }
}

/// Whether `live` and `after` differ in a Job's pod template (which the API server refuses
/// to change in place).
pub(crate) fn template_changed(live: &Value, after: &Value) -> bool {
    diff::normalize(live).pointer("/spec/template") != diff::normalize(after).pointer("/spec/template")
}
