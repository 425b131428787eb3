//! The fake agent's state store and scheduler: jobs and their versions, deployments and
//! allocations, all at a Raft-like index that every change bumps.
//!
//! Time is simulated lazily: [`NomadState::advance`] runs before every request and settles
//! whatever was due (`deployment_delay` after it was placed).

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use super::diff;

/// How many versions of a job Nomad keeps (`JobTrackedVersions`).
const TRACKED_VERSIONS: usize = 6;

/// Fields of a stored job that the server sets: not part of the spec, ignored by diffs.
const SERVER_FIELDS: [&str; 9] = [
    "Version",
    "CreateIndex",
    "ModifyIndex",
    "JobModifyIndex",
    "SubmitTime",
    "Status",
    "StatusDescription",
    "Stable",
    "VersionTag",
];

/// An error answer: HTTP status and Nomad's plain-text message.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ApiError {
    pub status: u16,
    pub message: String,
}

impl ApiError {
    pub(super) fn new(status: u16, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// Every version of one job (oldest first, at most [`TRACKED_VERSIONS`]).
#[derive(Debug, Clone)]
struct JobRecord {
    versions: Vec<Value>,
}

impl JobRecord {
    fn current(&self) -> &Value {
        // A record is only created with a version and versions are only ever appended.
        &self.versions[self.versions.len() - 1]
    }
}

/// How an allocation's tasks end, decided from their images.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Healthy,
    FailPull,
    Crash,
}

fn outcome_of(image: &str) -> Outcome {
    if image.contains("fail-pull") {
        Outcome::FailPull
    } else if image.contains("crash") {
        Outcome::Crash
    } else {
        Outcome::Healthy
    }
}

#[derive(Debug, Clone)]
struct TaskSim {
    name: String,
    image: String,
    outcome: Outcome,
}

#[derive(Debug, Clone)]
struct Allocation {
    id: String,
    eval_id: String,
    namespace: String,
    job_id: String,
    job_type: String,
    job_version: u64,
    group: String,
    name: String,
    deployment_id: Option<String>,
    tasks: Vec<TaskSim>,
    restart_attempts: u64,
    restart_interval_ns: u64,
    settle_at: Instant,
    settled: bool,
    desired_status: String,
    desired_description: String,
    client_status: String,
    healthy: Option<bool>,
    task_states: Value,
    create_index: u64,
    modify_index: u64,
    create_time: i64,
    modify_time: i64,
}

#[derive(Debug, Clone)]
struct Deployment {
    id: String,
    namespace: String,
    job_id: String,
    job_version: u64,
    job_modify_index: u64,
    job_create_index: u64,
    status: String,
    description: String,
    groups: BTreeMap<String, Value>,
    settle_at: Instant,
    create_index: u64,
    modify_index: u64,
}

/// The fake agent's whole state.
#[derive(Debug)]
pub struct NomadState {
    region: String,
    index: u64,
    next_id: u64,
    delay: Duration,
    jobs: BTreeMap<(String, String), JobRecord>,
    deployments: Vec<Deployment>,
    allocations: Vec<Allocation>,
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

fn rfc3339(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A Go-style duration (`30m0s`), as Nomad prints restart intervals.
fn go_duration(ns: u64) -> String {
    let secs = ns / 1_000_000_000;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn u64_of(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or_default()
}

/// The spec part of a stored job: what a resubmission is compared with.
fn spec_of(job: &Value) -> Value {
    let mut spec = job.clone();
    if let Some(map) = spec.as_object_mut() {
        for field in SERVER_FIELDS {
            map.remove(field);
        }
    }
    spec
}

fn is_periodic_or_parameterized(job: &Value) -> bool {
    let set = |k: &str| job.get(k).is_some_and(|v| !v.is_null());
    set("Periodic") || set("ParameterizedJob")
}

impl NomadState {
    /// An empty state for an agent in `region` whose deployments settle after `delay`.
    pub(super) fn new(region: String, delay: Duration) -> Self {
        NomadState {
            region,
            index: 1,
            next_id: 0,
            delay,
            jobs: BTreeMap::new(),
            deployments: Vec::new(),
            allocations: Vec::new(),
        }
    }

    /// The agent's region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The current index (what `X-Nomad-Index` reports for lists).
    pub fn index(&self) -> u64 {
        self.index
    }

    fn bump(&mut self) -> u64 {
        self.index += 1;
        self.index
    }

    fn uuid(&mut self) -> String {
        self.next_id += 1;
        let x = self.next_id.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5851_F42D_4C95_7F2D;
        let y = self.next_id.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            x >> 32,
            (x >> 16) & 0xffff,
            x & 0xfff,
            y >> 52,
            y & 0xffff_ffff_ffff
        )
    }

    /// Checks a request's `region` (the query parameter or the job's).
    pub(super) fn check_region(&self, region: Option<&str>) -> ApiResult<()> {
        match region {
            Some(r) if !r.is_empty() && r != self.region => Err(ApiError::new(500, "No path to region")),
            _ => Ok(()),
        }
    }

    /// Validates a submitted job and fills in what Nomad defaults.
    fn canonicalize(&self, job: &Value, namespace: &str) -> ApiResult<(String, Value)> {
        let Some(map) = job.as_object() else {
            return Err(ApiError::new(400, "Job must be specified"));
        };
        let id = str_of(job, "ID");
        if id.is_empty() {
            return Err(ApiError::new(400, "Job ID hasn't been provided"));
        }
        let region = map.get("Region").and_then(Value::as_str);
        self.check_region(region)?;
        let mut errors = Vec::new();
        let groups = map.get("TaskGroups").and_then(Value::as_array);
        if groups.is_none_or(Vec::is_empty) {
            errors.push("Missing job task groups".to_string());
        }
        let kind = map.get("Type").and_then(Value::as_str).unwrap_or("service");
        if !["service", "batch", "system", "sysbatch"].contains(&kind) {
            errors.push(format!("Invalid job type: {kind:?}"));
        }
        for group in groups.into_iter().flatten() {
            if group
                .get("Tasks")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty)
            {
                errors.push(format!(
                    "Task group {} validation failed: Missing tasks for task group",
                    str_of(group, "Name")
                ));
            }
        }
        if !errors.is_empty() {
            let list: String = errors.iter().map(|e| format!("\t* {e}\n")).collect();
            return Err(ApiError::new(
                500,
                format!("{} error(s) occurred:\n{list}\n", errors.len()),
            ));
        }
        let mut spec: Map<String, Value> = map.clone();
        for field in SERVER_FIELDS {
            spec.remove(field);
        }
        let namespace = map
            .get("Namespace")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .unwrap_or(namespace);
        spec.insert("Namespace".into(), json!(namespace));
        spec.insert("Region".into(), json!(region.unwrap_or(&self.region)));
        spec.entry("Name").or_insert_with(|| json!(id));
        spec.entry("Type").or_insert_with(|| json!("service"));
        spec.entry("Priority").or_insert_with(|| json!(50));
        spec.entry("Stop").or_insert_with(|| json!(false));
        Ok((namespace.to_string(), Value::Object(spec)))
    }

    fn record(&self, namespace: &str, id: &str) -> Option<&JobRecord> {
        self.jobs.get(&(namespace.to_string(), id.to_string()))
    }

    /// `POST /v1/job/{id}/plan`.
    pub(super) fn plan(&self, namespace: &str, job: &Value, with_diff: bool) -> ApiResult<Value> {
        let (namespace, spec) = self.canonicalize(job, namespace)?;
        let existing = self.record(&namespace, str_of(&spec, "ID")).map(|r| r.current());
        let old_spec = existing.map(spec_of);
        let annotate = !is_periodic_or_parameterized(&spec);
        let job_diff = diff::job_diff(old_spec.as_ref(), &spec, annotate);
        let mut failed = Map::new();
        for group in spec["TaskGroups"].as_array().into_iter().flatten() {
            let memory: u64 = group["Tasks"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| t["Resources"]["MemoryMB"].as_u64().unwrap_or(300))
                .sum();
            if memory > super::NODE_MEMORY_MB {
                failed.insert(
                    str_of(group, "Name").to_string(),
                    json!({
                        "NodesEvaluated": 3, "NodesFiltered": 0, "NodesExhausted": 3,
                        "NodesAvailable": {"dc1": 3}, "ClassFiltered": null, "ConstraintFiltered": null,
                        "ClassExhausted": null, "DimensionExhausted": {"memory": 3}, "QuotaExhausted": null,
                        "CoalescedFailures": u64_of(group, "Count").saturating_sub(1), "AllocationTime": 10000
                    }),
                );
            }
        }
        Ok(json!({
            "Annotations": diff::desired_updates(&job_diff),
            "CreatedEvals": null,
            "Diff": if with_diff { job_diff } else { Value::Null },
            "FailedTGAllocs": if failed.is_empty() { Value::Null } else { Value::Object(failed) },
            "JobModifyIndex": existing.map_or(0, |j| u64_of(j, "JobModifyIndex")),
            "NextPeriodicLaunch": null,
            "Warnings": "",
            "Index": self.index,
        }))
    }

    /// `POST /v1/jobs` (and `POST /v1/job/{id}`).
    pub(super) fn register(
        &mut self,
        namespace: &str,
        job: &Value,
        enforce_index: Option<u64>,
        preserve_counts: bool,
    ) -> ApiResult<Value> {
        let (namespace, mut spec) = self.canonicalize(job, namespace)?;
        let id = str_of(&spec, "ID").to_string();
        let existing = self.record(&namespace, &id).map(|r| r.current().clone());
        if let Some(jmi) = enforce_index {
            match &existing {
                Some(_) if jmi == 0 => {
                    return Err(ApiError::new(
                        500,
                        "Enforcing job modify index 0: job already exists",
                    ));
                }
                Some(current) if jmi != u64_of(current, "JobModifyIndex") => {
                    return Err(ApiError::new(
                        500,
                        format!(
                            "Enforcing job modify index {jmi}: job exists with conflicting job modify index: {}",
                            u64_of(current, "JobModifyIndex")
                        ),
                    ));
                }
                None if jmi != 0 => {
                    return Err(ApiError::new(
                        500,
                        format!("Enforcing job modify index {jmi}: job does not exist"),
                    ));
                }
                _ => {}
            }
        }
        if preserve_counts && let Some(current) = &existing {
            let counts: BTreeMap<&str, u64> = current["TaskGroups"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|g| (str_of(g, "Name"), u64_of(g, "Count")))
                .collect();
            for group in spec["TaskGroups"].as_array_mut().into_iter().flatten() {
                let name = str_of(group, "Name").to_string();
                if let Some(count) = counts.get(name.as_str()) {
                    group["Count"] = json!(count);
                }
            }
        }
        Ok(self.store(&namespace, &id, spec, existing.as_ref()))
    }

    /// Stores `spec` as a new version unless it equals the current one, and schedules it.
    fn store(&mut self, namespace: &str, id: &str, spec: Value, existing: Option<&Value>) -> Value {
        let periodic = is_periodic_or_parameterized(&spec);
        let unchanged = existing.is_some_and(|current| spec_of(current) == spec);
        if unchanged {
            // Nomad creates an evaluation but neither a new version nor a new job modify index.
            let job_modify_index = existing.map_or(0, |j| u64_of(j, "JobModifyIndex"));
            let (eval_id, eval_index) = if periodic {
                (String::new(), 0)
            } else {
                (self.uuid(), self.bump())
            };
            return json!({
                "EvalID": eval_id, "EvalCreateIndex": eval_index, "JobModifyIndex": job_modify_index,
                "Warnings": "", "Index": self.index, "KnownLeader": false, "LastContact": 0
            });
        }
        let index = self.bump();
        let version = existing.map_or(0, |j| u64_of(j, "Version") + 1);
        let create_index = existing.map_or(index, |j| u64_of(j, "CreateIndex"));
        let mut stored = spec;
        if let Some(map) = stored.as_object_mut() {
            map.insert("Version".into(), json!(version));
            map.insert("CreateIndex".into(), json!(create_index));
            map.insert("ModifyIndex".into(), json!(index));
            map.insert("JobModifyIndex".into(), json!(index));
            map.insert("SubmitTime".into(), json!(now_ns()));
            map.insert("Stable".into(), json!(false));
            map.insert("Status".into(), json!("pending"));
            map.insert("StatusDescription".into(), json!(""));
        }
        let key = (namespace.to_string(), id.to_string());
        let record = self
            .jobs
            .entry(key)
            .or_insert_with(|| JobRecord { versions: Vec::new() });
        record.versions.push(stored.clone());
        if record.versions.len() > TRACKED_VERSIONS {
            record.versions.remove(0);
        }
        let eval_id = if periodic { String::new() } else { self.uuid() };
        if !periodic {
            self.schedule(namespace, id, &stored, &eval_id);
        }
        json!({
            "EvalID": eval_id, "EvalCreateIndex": if periodic { 0 } else { index }, "JobModifyIndex": index,
            "Warnings": "", "Index": index, "KnownLeader": false, "LastContact": 0
        })
    }

    /// Places the allocations of a new job version (and its deployment for service jobs).
    fn schedule(&mut self, namespace: &str, id: &str, job: &Value, eval_id: &str) {
        let stopping = job["Stop"].as_bool().unwrap_or(false);
        for d in self.deployments.iter_mut() {
            if d.namespace == namespace && d.job_id == id && d.status == "running" {
                d.status = "cancelled".into();
                d.description = if stopping {
                    "Cancelled because job is stopped".into()
                } else {
                    "Cancelled due to newer version of job".into()
                };
            }
        }
        let index = self.index;
        let now = Instant::now();
        let job_type = str_of(job, "Type").to_string();
        let version = u64_of(job, "Version");
        if stopping {
            for a in self.allocations.iter_mut() {
                if a.namespace == namespace && a.job_id == id && a.desired_status == "run" {
                    a.desired_status = "stop".into();
                    a.desired_description = "alloc not needed due to job update".into();
                    if a.client_status == "running" || a.client_status == "pending" {
                        a.client_status = "complete".into();
                    }
                    a.modify_index = index;
                }
            }
            return;
        }
        let deployment_id = (job_type == "service").then(|| self.uuid());
        let mut groups = BTreeMap::new();
        for group in job["TaskGroups"].as_array().into_iter().flatten() {
            let name = str_of(group, "Name").to_string();
            let count = group.get("Count").and_then(Value::as_u64).unwrap_or(1);
            let update = &group["Update"];
            let progress_deadline = update["ProgressDeadline"].as_i64().unwrap_or(600_000_000_000);
            groups.insert(
                name.clone(),
                json!({
                    "AutoRevert": update["AutoRevert"].as_bool().unwrap_or(false),
                    "AutoPromote": false, "Promoted": false, "PlacedCanaries": null, "DesiredCanaries": 0,
                    "DesiredTotal": count, "PlacedAllocs": count, "HealthyAllocs": 0, "UnhealthyAllocs": 0,
                    "ProgressDeadline": progress_deadline,
                    "RequireProgressBy": rfc3339(now_ns().saturating_add(progress_deadline)),
                }),
            );
            let tasks: Vec<TaskSim> = group["Tasks"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| {
                    let image = t["Config"]["image"].as_str().unwrap_or_default().to_string();
                    TaskSim {
                        name: str_of(t, "Name").to_string(),
                        outcome: outcome_of(&image),
                        image,
                    }
                })
                .collect();
            for i in 0..count {
                let alloc_id = self.uuid();
                let created = now_ns();
                let mut alloc = Allocation {
                    id: alloc_id,
                    eval_id: eval_id.to_string(),
                    namespace: namespace.to_string(),
                    job_id: id.to_string(),
                    job_type: job_type.clone(),
                    job_version: version,
                    group: name.clone(),
                    name: format!("{id}.{name}[{i}]"),
                    deployment_id: deployment_id.clone(),
                    tasks: tasks.clone(),
                    restart_attempts: group["RestartPolicy"]["Attempts"].as_u64().unwrap_or(2),
                    restart_interval_ns: group["RestartPolicy"]["Interval"]
                        .as_u64()
                        .unwrap_or(1_800_000_000_000),
                    settle_at: now + self.delay,
                    settled: false,
                    desired_status: "run".into(),
                    desired_description: String::new(),
                    client_status: "pending".into(),
                    healthy: None,
                    task_states: Value::Null,
                    create_index: index,
                    modify_index: index,
                    create_time: created,
                    modify_time: created,
                };
                alloc.task_states = pending_task_states(&alloc);
                self.allocations.push(alloc);
            }
        }
        if let Some(deployment_id) = deployment_id {
            let index = self.bump();
            let job_create_index = u64_of(job, "CreateIndex");
            self.deployments.push(Deployment {
                id: deployment_id,
                namespace: namespace.to_string(),
                job_id: id.to_string(),
                job_version: version,
                job_modify_index: u64_of(job, "JobModifyIndex"),
                job_create_index,
                status: "running".into(),
                description: "Deployment is running".into(),
                groups,
                settle_at: now + self.delay,
                create_index: index,
                modify_index: index,
            });
        }
    }

    /// Settles allocations and deployments that are due.
    pub(super) fn advance(&mut self, now: Instant) {
        let due: Vec<usize> = (0..self.allocations.len())
            .filter(|&i| !self.allocations[i].settled && self.allocations[i].settle_at <= now)
            .collect();
        if !due.is_empty() {
            let index = self.bump();
            for i in due {
                settle_allocation(&mut self.allocations[i], index);
            }
        }
        let due: Vec<usize> = (0..self.deployments.len())
            .filter(|&i| self.deployments[i].status == "running" && self.deployments[i].settle_at <= now)
            .collect();
        for i in due {
            let index = self.bump();
            let (healthy, unhealthy) = {
                let d = &self.deployments[i];
                let mine = self
                    .allocations
                    .iter()
                    .filter(|a| a.deployment_id.as_deref() == Some(d.id.as_str()));
                let mut healthy: BTreeMap<String, u64> = BTreeMap::new();
                let mut unhealthy: BTreeMap<String, u64> = BTreeMap::new();
                for a in mine {
                    let counter = if a.healthy == Some(true) {
                        &mut healthy
                    } else {
                        &mut unhealthy
                    };
                    *counter.entry(a.group.clone()).or_default() += 1;
                }
                (healthy, unhealthy)
            };
            let failed = unhealthy.values().any(|n| *n > 0);
            let d = &mut self.deployments[i];
            for (group, state) in d.groups.iter_mut() {
                state["HealthyAllocs"] = json!(healthy.get(group).copied().unwrap_or(0));
                state["UnhealthyAllocs"] = json!(unhealthy.get(group).copied().unwrap_or(0));
            }
            d.modify_index = index;
            if failed {
                d.status = "failed".into();
                d.description = "Failed due to unhealthy allocations".into();
            } else {
                d.status = "successful".into();
                d.description = "Deployment completed successfully".into();
                let (ns, job_id, version, deployment) =
                    (d.namespace.clone(), d.job_id.clone(), d.job_version, d.id.clone());
                if let Some(record) = self.jobs.get_mut(&(ns.clone(), job_id.clone())) {
                    for v in record
                        .versions
                        .iter_mut()
                        .filter(|v| u64_of(v, "Version") == version)
                    {
                        v["Stable"] = json!(true);
                    }
                }
                for a in self.allocations.iter_mut() {
                    let older = a.namespace == ns
                        && a.job_id == job_id
                        && a.deployment_id.as_deref() != Some(&deployment);
                    if older && a.desired_status == "run" {
                        a.desired_status = "stop".into();
                        a.desired_description = "alloc is being updated due to job update".into();
                        a.client_status = "complete".into();
                        a.modify_index = index;
                    }
                }
            }
        }
    }

    /// Settles everything now, whatever the delay (for tests).
    pub(super) fn settle_all(&mut self) {
        let far = Instant::now() + Duration::from_secs(365 * 24 * 3600);
        self.advance(far);
    }

    /// The stored job as `GET /v1/job/{id}` returns it.
    pub(super) fn job(&self, namespace: &str, id: &str) -> Option<Value> {
        let record = self.record(namespace, id)?;
        let mut job = record.current().clone();
        job["Status"] = json!(self.job_status(namespace, id, &job));
        Some(job)
    }

    fn job_status(&self, namespace: &str, id: &str, job: &Value) -> &'static str {
        if job["Stop"].as_bool().unwrap_or(false) {
            return "dead";
        }
        if is_periodic_or_parameterized(job) {
            return "running";
        }
        let mine: Vec<&Allocation> = self
            .allocations
            .iter()
            .filter(|a| a.namespace == namespace && a.job_id == id)
            .collect();
        if mine.iter().any(|a| {
            a.desired_status == "run" && (a.client_status == "running" || a.client_status == "pending")
        }) {
            "running"
        } else if !mine.is_empty() && str_of(job, "Type") == "batch" {
            "dead"
        } else {
            "pending"
        }
    }

    /// `GET /v1/job/{id}/versions`: newest first.
    pub(super) fn versions(&self, namespace: &str, id: &str, diffs: bool) -> Option<Value> {
        let record = self.record(namespace, id)?;
        let versions: Vec<Value> = record.versions.iter().rev().cloned().collect();
        let diffs = if diffs {
            let list: Vec<Value> = versions
                .windows(2)
                .map(|pair| diff::job_diff(Some(&spec_of(&pair[1])), &spec_of(&pair[0]), false))
                .collect();
            json!(list)
        } else {
            Value::Null
        };
        Some(json!({"Versions": versions, "Diffs": diffs, "Index": self.index}))
    }

    /// `GET /v1/jobs?prefix=` in `namespace` (`*`: all namespaces).
    pub(super) fn list(&self, namespace: &str, prefix: &str) -> Value {
        let stubs: Vec<Value> = self
            .jobs
            .iter()
            .filter(|((ns, id), _)| (namespace == "*" || ns == namespace) && id.starts_with(prefix))
            .map(|((ns, id), record)| {
                let job = record.current();
                json!({
                    "ID": id, "ParentID": "", "Name": str_of(job, "Name"), "Namespace": ns,
                    "Datacenters": job["Datacenters"], "Type": str_of(job, "Type"), "Priority": job["Priority"],
                    "Periodic": job.get("Periodic").is_some_and(|p| !p.is_null()),
                    "ParameterizedJob": job.get("ParameterizedJob").is_some_and(|p| !p.is_null()),
                    "Stop": job["Stop"], "Status": self.job_status(ns, id, job), "StatusDescription": "",
                    "Version": job["Version"], "CreateIndex": job["CreateIndex"], "ModifyIndex": job["ModifyIndex"],
                    "JobModifyIndex": job["JobModifyIndex"], "SubmitTime": job["SubmitTime"], "JobSummary": null
                })
            })
            .collect();
        json!(stubs)
    }

    /// `GET /v1/job/{id}/deployment`: the latest one, `null` when none.
    pub(super) fn latest_deployment(&self, namespace: &str, id: &str) -> Option<Value> {
        self.record(namespace, id)?;
        let latest = self
            .deployments
            .iter()
            .filter(|d| d.namespace == namespace && d.job_id == id)
            .max_by_key(|d| d.create_index);
        Some(latest.map_or(Value::Null, deployment_json))
    }

    /// `GET /v1/job/{id}/deployments`: newest first.
    pub(super) fn job_deployments(&self, namespace: &str, id: &str) -> Option<Value> {
        self.record(namespace, id)?;
        let mut list: Vec<&Deployment> = self
            .deployments
            .iter()
            .filter(|d| d.namespace == namespace && d.job_id == id)
            .collect();
        list.sort_by_key(|d| std::cmp::Reverse(d.create_index));
        Some(json!(list.into_iter().map(deployment_json).collect::<Vec<_>>()))
    }

    /// `GET /v1/deployment/{id}`.
    pub(super) fn deployment(&self, id: &str) -> Option<Value> {
        self.deployments.iter().find(|d| d.id == id).map(deployment_json)
    }

    /// All deployments, oldest first.
    pub(super) fn deployments(&self) -> Vec<Value> {
        self.deployments.iter().map(deployment_json).collect()
    }

    /// `GET /v1/job/{id}/allocations`.
    pub(super) fn allocations(&self, namespace: &str, id: &str) -> Value {
        let list: Vec<Value> = self
            .allocations
            .iter()
            .filter(|a| a.namespace == namespace && a.job_id == id)
            .map(allocation_json)
            .collect();
        json!(list)
    }

    /// `GET /v1/allocation/{id}`: the stub plus the job version it runs.
    pub(super) fn allocation(&self, id: &str) -> Option<Value> {
        let a = self.allocations.iter().find(|a| a.id == id)?;
        let mut out = allocation_json(a);
        let job = self.record(&a.namespace, &a.job_id).and_then(|r| {
            r.versions
                .iter()
                .find(|v| u64_of(v, "Version") == a.job_version)
                .cloned()
        });
        out["Job"] = job.unwrap_or(Value::Null);
        Some(out)
    }

    /// `POST /v1/job/{id}/revert`.
    pub(super) fn revert(
        &mut self,
        namespace: &str,
        id: &str,
        version: u64,
        enforce_prior: Option<u64>,
    ) -> ApiResult<Value> {
        let Some(record) = self.record(namespace, id) else {
            return Err(ApiError::new(
                500,
                format!("job {id:?} in namespace {namespace:?} not found"),
            ));
        };
        let current = record.current().clone();
        let current_version = u64_of(&current, "Version");
        if let Some(prior) = enforce_prior
            && prior != current_version
        {
            return Err(ApiError::new(
                500,
                format!("Current job has version {current_version}; enforcing version {prior}"),
            ));
        }
        if version == current_version {
            return Err(ApiError::new(500, "can't revert to current version"));
        }
        let Some(old) = record.versions.iter().find(|v| u64_of(v, "Version") == version) else {
            return Err(ApiError::new(
                500,
                format!("job {id:?} in namespace {namespace:?} at version {version} not found"),
            ));
        };
        // Like Nomad, a revert is a registration of the old spec: a new version unless the
        // old spec equals the current one.
        let spec = spec_of(old);
        Ok(self.store(namespace, id, spec, Some(&current)))
    }

    /// `DELETE /v1/job/{id}`.
    pub(super) fn deregister(&mut self, namespace: &str, id: &str, purge: bool) -> ApiResult<Value> {
        let Some(record) = self.record(namespace, id) else {
            return Err(ApiError::new(404, "job not found"));
        };
        if purge {
            let key = (namespace.to_string(), id.to_string());
            self.jobs.remove(&key);
            self.deployments
                .retain(|d| !(d.namespace == namespace && d.job_id == id));
            self.allocations
                .retain(|a| !(a.namespace == namespace && a.job_id == id));
            let index = self.bump();
            let eval_id = self.uuid();
            return Ok(
                json!({"EvalID": eval_id, "EvalCreateIndex": index, "JobModifyIndex": index, "Index": index}),
            );
        }
        let current = record.current().clone();
        let mut spec = spec_of(&current);
        spec["Stop"] = json!(true);
        let reply = self.store(namespace, id, spec, Some(&current));
        Ok(json!({
            "EvalID": reply["EvalID"], "EvalCreateIndex": reply["EvalCreateIndex"],
            "JobModifyIndex": reply["JobModifyIndex"], "Index": reply["Index"]
        }))
    }
}

fn deployment_json(d: &Deployment) -> Value {
    json!({
        "ID": d.id, "Namespace": d.namespace, "JobID": d.job_id, "JobVersion": d.job_version,
        "JobModifyIndex": d.job_modify_index, "JobSpecModifyIndex": d.job_modify_index,
        "JobCreateIndex": d.job_create_index, "IsMultiregion": false, "TaskGroups": d.groups,
        "Status": d.status, "StatusDescription": d.description, "EvalPriority": 50,
        "CreateIndex": d.create_index, "ModifyIndex": d.modify_index,
    })
}

fn allocation_json(a: &Allocation) -> Value {
    let client_description = match a.client_status.as_str() {
        "pending" => "No tasks have started",
        "running" => "Tasks are running",
        "failed" => "Failed tasks",
        _ => "All tasks have completed",
    };
    let deployment_status = a.deployment_id.as_ref().map(|_| {
        json!({"Healthy": a.healthy, "Canary": false, "Timestamp": rfc3339(a.modify_time), "ModifyIndex": a.modify_index})
    });
    json!({
        "ID": a.id, "EvalID": a.eval_id, "Name": a.name, "Namespace": a.namespace,
        "NodeID": "9d5741c1-3146-4b6d-9ff8-0c6e1c3e5f10", "NodeName": "fake-client-1",
        "JobID": a.job_id, "JobType": a.job_type, "JobVersion": a.job_version, "TaskGroup": a.group,
        "DesiredStatus": a.desired_status, "DesiredDescription": a.desired_description,
        "ClientStatus": a.client_status, "ClientDescription": client_description,
        "DeploymentStatus": deployment_status, "TaskStates": a.task_states,
        "FollowupEvalID": "", "RescheduleTracker": null, "PreemptedAllocations": null,
        "PreemptedByAllocation": "", "AllocatedResources": null,
        "CreateIndex": a.create_index, "ModifyIndex": a.modify_index,
        "CreateTime": a.create_time, "ModifyTime": a.modify_time,
    })
}

fn event(kind: &str, time: i64, display: &str, details: Value) -> Value {
    json!({
        "Type": kind, "Time": time, "DisplayMessage": display, "Details": details, "Message": "",
        "FailsTask": false, "DriverError": "", "DriverMessage": "", "ExitCode": 0, "Signal": 0,
        "RestartReason": "", "SetupError": "", "KillError": "", "KillReason": "", "KillTimeout": 0,
        "DownloadError": "", "ValidationError": "", "StartDelay": 0, "FailedSibling": "", "VaultError": "",
        "TaskSignal": "", "TaskSignalReason": "", "GenericSource": ""
    })
}

fn first_events(t: i64) -> Vec<Value> {
    vec![
        event("Received", t, "Task received by client", json!({})),
        event(
            "Task Setup",
            t + 1_000_000,
            "Building Task Directory",
            json!({"message": "Building Task Directory"}),
        ),
    ]
}

fn pending_task_states(a: &Allocation) -> Value {
    let mut states = Map::new();
    for task in &a.tasks {
        let mut events = first_events(a.create_time);
        let mut pulling = event(
            "Driver",
            a.create_time + 2_000_000,
            "Downloading image",
            json!({"driver_message": "Downloading image"}),
        );
        pulling["DriverMessage"] = json!("Downloading image");
        events.push(pulling);
        states.insert(
            task.name.clone(),
            json!({"State": "pending", "Failed": false, "Restarts": 0, "LastRestart": null,
                   "StartedAt": null, "FinishedAt": null, "Events": events, "TaskHandle": null}),
        );
    }
    Value::Object(states)
}

/// The allocation's end state: every task healthy, or the failing tasks' events.
fn settle_allocation(a: &mut Allocation, index: u64) {
    let t = now_ns();
    let failed_task = a
        .tasks
        .iter()
        .find(|t| t.outcome != Outcome::Healthy)
        .map(|t| t.name.clone());
    let batch = a.job_type == "batch" || a.job_type == "sysbatch";
    let mut states = Map::new();
    for task in &a.tasks {
        let mut events = first_events(a.create_time);
        let started = event("Started", t, "Task started by client", json!({}));
        let (state, failed, restarts) = match task.outcome {
            Outcome::FailPull => {
                let message = format!(
                    "Failed to pull `{}`: Error response from daemon: manifest for {} not found: manifest unknown: manifest unknown",
                    task.image, task.image
                );
                let mut failure = event(
                    "Driver Failure",
                    t,
                    &message,
                    json!({"driver_error": message, "fails_task": "true"}),
                );
                failure["DriverError"] = json!(message);
                failure["FailsTask"] = json!(true);
                events.push(failure);
                let mut stop = event(
                    "Not Restarting",
                    t + 1_000_000,
                    "Error was unrecoverable",
                    json!({"fails_task": "true", "restart_reason": "Error was unrecoverable"}),
                );
                stop["FailsTask"] = json!(true);
                stop["RestartReason"] = json!("Error was unrecoverable");
                events.push(stop);
                ("dead", true, 0)
            }
            Outcome::Crash => {
                events.push(started);
                let mut terminated = event(
                    "Terminated",
                    t + 1_000_000,
                    "Exit Code: 1",
                    json!({"exit_code": "1", "signal": "0", "oom_killed": "false"}),
                );
                terminated["ExitCode"] = json!(1);
                events.push(terminated);
                let reason = format!(
                    "Exceeded allowed attempts {} in interval {} and mode is \"fail\"",
                    a.restart_attempts,
                    go_duration(a.restart_interval_ns)
                );
                let mut stop = event(
                    "Not Restarting",
                    t + 2_000_000,
                    &reason,
                    json!({"fails_task": "true", "restart_reason": reason}),
                );
                stop["FailsTask"] = json!(true);
                stop["RestartReason"] = json!(reason);
                events.push(stop);
                ("dead", true, a.restart_attempts)
            }
            Outcome::Healthy => {
                events.push(started);
                if let Some(failed) = &failed_task {
                    let message = format!("Task's sibling {failed:?} failed");
                    let mut sibling = event(
                        "Sibling Task Failed",
                        t + 3_000_000,
                        &message,
                        json!({"failed_sibling": failed}),
                    );
                    sibling["FailedSibling"] = json!(failed);
                    events.push(sibling);
                    ("dead", false, 0)
                } else if batch {
                    let mut done = event(
                        "Terminated",
                        t + 1_000_000,
                        "Exit Code: 0",
                        json!({"exit_code": "0", "signal": "0", "oom_killed": "false"}),
                    );
                    done["ExitCode"] = json!(0);
                    events.push(done);
                    ("dead", false, 0)
                } else {
                    ("running", false, 0)
                }
            }
        };
        let finished = (state == "dead").then(|| rfc3339(t));
        states.insert(
            task.name.clone(),
            json!({"State": state, "Failed": failed, "Restarts": restarts, "LastRestart": null,
                   "StartedAt": rfc3339(t), "FinishedAt": finished, "Events": events, "TaskHandle": null}),
        );
    }
    a.task_states = Value::Object(states);
    a.settled = true;
    a.modify_index = index;
    a.modify_time = t;
    if failed_task.is_some() {
        a.client_status = "failed".into();
        a.healthy = a.deployment_id.as_ref().map(|_| false);
    } else if batch {
        a.client_status = "complete".into();
    } else {
        a.client_status = "running".into();
        a.healthy = a.deployment_id.as_ref().map(|_| true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(image: &str) -> Value {
        json!({"ID": "web", "Type": "service", "TaskGroups": [{"Name": "web", "Count": 2,
            "Tasks": [{"Name": "web", "Driver": "docker", "Config": {"image": image}}]}]})
    }

    #[test]
    fn go_durations_print_like_go() {
        assert_eq!(go_duration(1_800_000_000_000), "30m0s");
        assert_eq!(go_duration(15_000_000_000), "15s");
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
    }

    #[test]
    fn identical_resubmission_keeps_version_and_modify_index() {
        let mut s = NomadState::new("global".into(), Duration::ZERO);
        let first = s.register("default", &job("a:1"), None, false).expect("register");
        let again = s.register("default", &job("a:1"), None, false).expect("register");
        assert_eq!(first["JobModifyIndex"], again["JobModifyIndex"]);
        assert_ne!(first["EvalID"], again["EvalID"]);
        assert!(again["EvalCreateIndex"].as_u64() > first["EvalCreateIndex"].as_u64());
        let stored = s.job("default", "web").expect("job");
        assert_eq!(stored["Version"], 0);
        assert_eq!(s.deployments().len(), 1, "no new deployment for an unchanged job");
    }

    #[test]
    fn a_newer_version_cancels_the_running_deployment() {
        let mut s = NomadState::new("global".into(), Duration::from_secs(60));
        s.register("default", &job("a:1"), None, false).expect("register");
        s.register("default", &job("a:2"), None, false).expect("register");
        let d = s.deployments();
        assert_eq!(d[0]["Status"], "cancelled");
        assert_eq!(d[0]["StatusDescription"], "Cancelled due to newer version of job");
        assert_eq!(d[1]["Status"], "running");
        s.settle_all();
        assert_eq!(s.deployments()[1]["Status"], "successful");
        let versions = s.versions("default", "web", false).expect("versions");
        assert_eq!(versions["Versions"][0]["Stable"], true);
        assert_eq!(versions["Versions"][1]["Stable"], false);
    }

    #[test]
    fn crash_images_fail_with_terminated_events() {
        let mut s = NomadState::new("global".into(), Duration::ZERO);
        s.register("default", &job("app:crash"), None, false)
            .expect("register");
        s.advance(Instant::now());
        let allocs = s.allocations("default", "web");
        let state = &allocs[0]["TaskStates"]["web"];
        assert_eq!(state["Failed"], true);
        assert_eq!(state["Restarts"], 2);
        let kinds: Vec<&str> = state["Events"]
            .as_array()
            .expect("events")
            .iter()
            .filter_map(|e| e["Type"].as_str())
            .collect();
        assert_eq!(
            kinds,
            [
                "Received",
                "Task Setup",
                "Started",
                "Terminated",
                "Not Restarting"
            ]
        );
        assert_eq!(
            state["Events"][4]["DisplayMessage"],
            "Exceeded allowed attempts 2 in interval 30m0s and mode is \"fail\""
        );
        assert_eq!(s.deployments()[0]["Status"], "failed");
    }

    #[test]
    fn periodic_jobs_get_neither_evaluation_nor_deployment() {
        let mut s = NomadState::new("global".into(), Duration::ZERO);
        let mut periodic = job("a:1");
        periodic["Type"] = json!("batch");
        periodic["Periodic"] = json!({"Enabled": true, "Spec": "0 * * * *", "SpecType": "cron"});
        let reply = s.register("default", &periodic, None, false).expect("register");
        assert_eq!(reply["EvalID"], "");
        assert!(s.deployments().is_empty());
        assert_eq!(s.allocations("default", "web"), json!([]));
        assert_eq!(s.latest_deployment("default", "web"), Some(Value::Null));
    }
}
