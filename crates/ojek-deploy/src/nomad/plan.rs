//! Planning: each rendered job as it will be submitted, the scheduler's dry run and diff, and
//! the job modify index to register against.

use std::fmt::Write;

use ojek_core::spec::platform::TargetKind;
use ojek_nomad_api::{NomadClient, PlanResponse, format_plan_diff};
use ojek_output::Rendered;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{NomadCluster, NomadDeployError, REVISION_META_KEY, Result};

/// What deploying the rendered jobs would change, job by job. Serializable, for `--json`
/// output and API answers.
#[derive(Debug, Clone, Serialize)]
pub struct NomadPlan {
    /// The cluster's address.
    pub address: String,
    /// One plan per rendered job, in the rendered order (the service job first).
    pub jobs: Vec<NomadJobPlan>,
    /// [`jobs_hash`] of the rendered jobs.
    pub jobs_hash: String,
}

impl NomadPlan {
    /// Whether any job would change.
    pub fn has_changes(&self) -> bool {
        self.jobs.iter().any(|j| j.has_changes())
    }

    /// The whole plan as text: each job's diff like `nomad job plan`, or `no changes`.
    pub fn to_text(&self) -> String {
        if !self.has_changes() {
            return format!(
                "No changes: every job on Nomad at {} is up to date.\n",
                self.address
            );
        }
        let mut out = String::new();
        for job in &self.jobs {
            if !out.is_empty() {
                out.push('\n');
            }
            if job.has_changes() {
                out.push_str(&job.diff_text);
            } else {
                let _ = writeln!(out, "  Job: {:?} (no changes)", job.job_id);
            }
        }
        out
    }
}

/// The plan of one job.
#[derive(Debug, Clone, Serialize)]
pub struct NomadJobPlan {
    /// Job ID.
    pub job_id: String,
    /// The namespace the job is submitted to.
    pub namespace: String,
    /// The region the job is submitted to, when the job or the cluster names one.
    pub region: Option<String>,
    /// `service`, `batch`, `system` or `sysbatch`.
    pub job_type: String,
    /// Whether the job is periodic or parameterized (launched later, never deployed).
    pub periodic: bool,
    /// The job as planned (bare, not wrapped in `{"Job": …}`): the rendered job with the
    /// running job's revision meta key and autoscaled counts. Apply sets the new revision on
    /// it when it has changes.
    pub job: Value,
    /// The registered version, `None` when the job does not exist yet.
    pub current_version: Option<u64>,
    /// The job modify index the plan saw (0: no job): registration enforces it.
    pub job_modify_index: u64,
    /// Whether the job has groups with a `Scaling` block (registered with `PreserveCounts`).
    pub autoscaled: bool,
    /// The scheduler's answer, with the diff.
    pub response: PlanResponse,
    /// The diff printed like `nomad job plan`.
    pub diff_text: String,
}

impl NomadJobPlan {
    /// The diff type: `Added`, `Edited`, `Deleted` or `None`.
    pub fn diff_type(&self) -> &str {
        self.response.diff.as_ref().map_or("None", |d| d.kind.as_str())
    }

    /// Whether registering the job would change it.
    pub fn has_changes(&self) -> bool {
        self.diff_type() != "None"
    }
}

/// Plans the rendered Nomad jobs against `cluster` (`POST /v1/job/{id}/plan` with a diff).
pub async fn plan(cluster: &NomadCluster, rendered: &Rendered) -> Result<NomadPlan> {
    let jobs = rendered_jobs(rendered)?;
    let mut plans = Vec::with_capacity(jobs.len());
    for job in &jobs {
        plans.push(plan_job(cluster, job).await?);
    }
    Ok(NomadPlan {
        address: cluster.address.clone(),
        jobs: plans,
        jobs_hash: jobs_hash(rendered),
    })
}

/// The bare jobs of `rendered`, checked: a Nomad rendering whose objects are `{"Job": …}`
/// with an `ID`.
pub(crate) fn rendered_jobs(rendered: &Rendered) -> Result<Vec<&Value>> {
    if rendered.target != TargetKind::Nomad {
        return Err(NomadDeployError::InvalidJobs {
            message: "the app was rendered for Kubernetes, not Nomad".into(),
        });
    }
    if rendered.objects.is_empty() {
        return Err(NomadDeployError::InvalidJobs {
            message: "the rendering has no jobs".into(),
        });
    }
    rendered
        .objects
        .iter()
        .enumerate()
        .map(|(i, doc)| {
            let job = doc.value.get("Job").filter(|j| j.is_object());
            match job {
                Some(job) if !str_of(job, "ID").is_empty() => Ok(job),
                _ => Err(NomadDeployError::InvalidJobs {
                    message: format!("object {} is not a {{\"Job\": …}} document with a Job.ID", i + 1),
                }),
            }
        })
        .collect()
}

/// Reads the registered job, prepares `rendered` for submission and plans it.
async fn plan_job(cluster: &NomadCluster, rendered: &Value) -> Result<NomadJobPlan> {
    let job_id = str_of(rendered, "ID").to_string();
    let namespace = non_empty(rendered, "Namespace")
        .or(cluster.namespace.as_deref())
        .unwrap_or("default")
        .to_string();
    let region = non_empty(rendered, "Region")
        .or(cluster.region.as_deref())
        .map(String::from);
    let client = cluster.client_for(Some(&namespace), region.as_deref())?;
    let action = format!("read job {job_id:?}");
    let current = client
        .job(&job_id)
        .await
        .map_err(|e| NomadDeployError::api(&cluster.address, action, e))?;
    let job = submitted_job(rendered, current.as_ref());
    let action = format!("plan job {job_id:?}");
    let response = client
        .plan(&wrap(&job), true)
        .await
        .map_err(|e| NomadDeployError::api(&cluster.address, action, e))?;
    let diff_text = format_plan_diff(&response);
    let autoscaled = scaled_groups(&job).next().is_some();
    Ok(NomadJobPlan {
        job_type: non_empty(&job, "Type").unwrap_or("service").to_string(),
        periodic: is_set(&job, "Periodic") || is_set(&job, "ParameterizedJob"),
        autoscaled,
        current_version: current
            .as_ref()
            .and_then(|j| j.get("Version"))
            .and_then(Value::as_u64),
        job_modify_index: response.job_modify_index,
        job_id,
        namespace,
        region,
        job,
        response,
        diff_text,
    })
}

/// The job to submit: the rendered one with the running job's revision meta key and the
/// running counts of autoscaled groups, so that neither shows as a change. (Nomad's
/// `PreserveCounts` alone would keep the counts, but the plan would still show them.)
fn submitted_job(rendered: &Value, current: Option<&Value>) -> Value {
    let mut job = rendered.clone();
    let Some(current) = current else {
        return job;
    };
    if let Some(revision) = current.get("Meta").and_then(|m| m.get(REVISION_META_KEY)) {
        set_meta(&mut job, REVISION_META_KEY, revision.clone());
    }
    let running: Vec<(String, Value)> = current
        .get("TaskGroups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|g| Some((str_of(g, "Name").to_string(), g.get("Count")?.clone())))
        .collect();
    let scaled: Vec<String> = scaled_groups(&job).map(String::from).collect();
    for group in job
        .get_mut("TaskGroups")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        let name = str_of(group, "Name").to_string();
        if !scaled.contains(&name) {
            continue;
        }
        if let Some((_, count)) = running.iter().find(|(n, _)| *n == name) {
            group["Count"] = count.clone();
        }
    }
    job
}

/// Names of the groups with an enabled `Scaling` block.
fn scaled_groups(job: &Value) -> impl Iterator<Item = &str> {
    job.get("TaskGroups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|g| {
            g.get("Scaling")
                .is_some_and(|s| s.is_object() && s.get("Enabled").and_then(Value::as_bool) != Some(false))
        })
        .map(|g| str_of(g, "Name"))
}

/// Sets `Meta[key]` on a bare job, creating `Meta` when needed.
pub(crate) fn set_meta(job: &mut Value, key: &str, value: Value) {
    let Some(map) = job.as_object_mut() else {
        return;
    };
    let meta = map.entry("Meta").or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    if let Some(meta) = meta.as_object_mut() {
        meta.insert(key.to_string(), value);
    }
}

/// `{"Job": job}`, as the client and Nomad's API take it.
pub(crate) fn wrap(job: &Value) -> Value {
    let mut map = Map::new();
    map.insert("Job".into(), job.clone());
    Value::Object(map)
}

/// The client for a planned job's namespace and region.
pub(crate) fn client_of(cluster: &NomadCluster, job: &NomadJobPlan) -> Result<NomadClient> {
    cluster.client_for(Some(&job.namespace), job.region.as_deref())
}

pub(crate) fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn non_empty<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn is_set(v: &Value, key: &str) -> bool {
    v.get(key).is_some_and(|x| !x.is_null())
}

/// The SHA-256 (hex) of the rendered objects as canonical JSON (keys sorted, no spaces): the
/// same rendering always hashes the same, whatever the revision or what runs in Nomad.
pub fn jobs_hash(rendered: &Rendered) -> String {
    let docs: Vec<Value> = rendered.objects.iter().map(|d| canonical(&d.value)).collect();
    let text = Value::Array(docs).to_string();
    Sha256::digest(text.as_bytes())
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// `value` with every object's keys in sorted order.
fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), canonical(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn running_revision_and_autoscaled_counts_are_kept() {
        let rendered = json!({"ID": "web", "Meta": {"app": "web"}, "TaskGroups": [
            {"Name": "web", "Count": 6, "Scaling": {"Min": 6, "Max": 60, "Enabled": true}},
            {"Name": "worker", "Count": 2}
        ]});
        let current = json!({"ID": "web", "Meta": {"app": "web", REVISION_META_KEY: "4"}, "TaskGroups": [
            {"Name": "web", "Count": 9}, {"Name": "worker", "Count": 5}
        ]});
        let job = submitted_job(&rendered, Some(&current));
        assert_eq!(job["Meta"], json!({"app": "web", REVISION_META_KEY: "4"}));
        assert_eq!(job["TaskGroups"][0]["Count"], 9, "autoscaled: the running count");
        assert_eq!(
            job["TaskGroups"][1]["Count"], 2,
            "not autoscaled: the rendered count"
        );
        assert_eq!(submitted_job(&rendered, None), rendered);
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let a = json!({"b": [{"y": 1, "x": 2}], "a": null});
        assert_eq!(canonical(&a).to_string(), r#"{"a":null,"b":[{"x":2,"y":1}]}"#);
    }
}
