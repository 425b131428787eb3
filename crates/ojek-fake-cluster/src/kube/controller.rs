//! The simulated controllers: Deployments, StatefulSets and Jobs get pods, pods start (or
//! fail, by image name), and workload statuses report the rollout like real controllers do.
//!
//! Failure injection by image name (any container): `unschedulable` → the pod stays Pending
//! with `PodScheduled=False/Unschedulable` and a `FailedScheduling` event; `fail-pull` → the
//! container waits in `ImagePullBackOff` (event `Failed`); `crash` → `CrashLoopBackOff` with
//! a growing restartCount (a Job's pod fails instead). Deployments keep old pods until the new
//! ones are ready, so a failing rollout leaves the old version serving, and report
//! `ProgressDeadlineExceeded` after `spec.progressDeadlineSeconds`.
//!
//! Simplifications: Deployments own pods directly (no ReplicaSets); StatefulSet pods are all
//! created at once and updated highest ordinal first; a Job runs one pod at a time.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::Shared;
use super::discovery;
use super::store::{self, Propagation, Store};

/// How often the controllers look at the store.
const TICK: Duration = Duration::from_millis(50);
/// How long a pod takes to start (or to fail starting).
const START_DELAY: Duration = Duration::from_millis(300);
/// How often a crashing container restarts.
const RESTART_EVERY: Duration = Duration::from_millis(500);
/// The node every schedulable pod lands on.
const NODE: &str = "fake-node-1";

/// What the controllers remember between ticks (a real controller would use informers).
#[derive(Default)]
struct Memory {
    /// When each controller-created pod was created.
    born: HashMap<String, Instant>,
    /// When each (object uid, fact) first became true: keeps status timestamps stable.
    stamps: HashMap<(String, String), String>,
    /// Events already recorded, by (object uid, reason and message).
    events: HashSet<(String, String)>,
    /// When each (workload uid, generation) rollout started.
    rollouts: HashMap<(String, i64), Instant>,
}

impl Memory {
    fn stamp(&mut self, uid: &str, fact: &str) -> String {
        self.stamps
            .entry((uid.to_string(), fact.to_string()))
            .or_insert_with(store::now)
            .clone()
    }

    fn event_once(
        &mut self,
        store: &mut Store,
        obj: &Value,
        kind: &str,
        reason: &str,
        message: &str,
        from: &str,
    ) {
        if self
            .events
            .insert((uid(obj).to_string(), format!("{reason}: {message}")))
        {
            store.event(obj, kind, reason, message, from);
        }
    }
}

/// Runs the controllers until the task is aborted.
pub(crate) async fn run(shared: Arc<Shared>) {
    let mut memory = Memory::default();
    let mut interval = tokio::time::interval(TICK);
    loop {
        interval.tick().await;
        if !shared.controller.load(Ordering::SeqCst) {
            continue;
        }
        let mut store = shared.store();
        tick(&mut store, &mut memory, Instant::now());
    }
}

fn tick(store: &mut Store, mem: &mut Memory, now: Instant) {
    advance_pods(store, mem, now);
    for d in cloned(store, "Deployment") {
        reconcile_deployment(store, mem, &d, now);
    }
    for s in cloned(store, "StatefulSet") {
        reconcile_statefulset(store, mem, &s);
    }
    for j in cloned(store, "Job") {
        reconcile_job(store, mem, &j);
    }
}

fn cloned(store: &Store, kind: &str) -> Vec<Value> {
    store.list(kind, None).into_iter().cloned().collect()
}

fn uid(obj: &Value) -> &str {
    obj["metadata"]["uid"].as_str().unwrap_or_default()
}

fn name(obj: &Value) -> &str {
    obj["metadata"]["name"].as_str().unwrap_or_default()
}

fn namespace(obj: &Value) -> &str {
    obj["metadata"]["namespace"].as_str().unwrap_or_default()
}

fn generation(obj: &Value) -> i64 {
    obj["metadata"]["generation"].as_i64().unwrap_or(1)
}

/// Pods whose ownerReferences name `owner`.
fn owned_pods(store: &Store, owner: &Value) -> Vec<Value> {
    let owner_uid = uid(owner);
    store
        .list("Pod", Some(namespace(owner)))
        .into_iter()
        .filter(|p| {
            p["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|r| r.iter().any(|r| r["uid"] == owner_uid))
        })
        .cloned()
        .collect()
}

fn is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
}

fn phase(pod: &Value) -> &str {
    pod["status"]["phase"].as_str().unwrap_or("Pending")
}

/// A short stable hash of a pod template, like `pod-template-hash`.
fn template_hash(template: &Value) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in template.to_string().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (0..10)
        .map(|_| {
            let c = ALPHABET[(h % ALPHABET.len() as u64) as usize] as char;
            h /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

/// How a pod's containers will behave, chosen by image name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Normal,
    FailPull,
    Crash,
    Unschedulable,
}

fn images(pod: &Value) -> Vec<(String, String)> {
    pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().to_string(),
                c["image"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn mode(pod: &Value) -> Mode {
    let images = images(pod);
    let any = |word: &str| images.iter().any(|(_, i)| i.contains(word));
    if any("unschedulable") {
        Mode::Unschedulable
    } else if any("fail-pull") {
        Mode::FailPull
    } else if any("crash") {
        Mode::Crash
    } else {
        Mode::Normal
    }
}

fn condition(type_: &str, status: bool, time: &str, reason: Option<&str>, message: Option<&str>) -> Value {
    let mut c = json!({"type": type_, "status": if status { "True" } else { "False" },
        "lastProbeTime": null, "lastTransitionTime": time});
    if let Some(r) = reason {
        c["reason"] = json!(r);
    }
    if let Some(m) = message {
        c["message"] = json!(m);
    }
    c
}

fn create_pod(
    store: &mut Store,
    mem: &mut Memory,
    owner: &Value,
    pod_name: &str,
    extra_labels: &[(&str, String)],
    now: Instant,
) {
    let Some(rt) = discovery::by_kind("Pod") else {
        return;
    };
    let template = &owner["spec"]["template"];
    let mut labels = template["metadata"]["labels"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for (k, v) in extra_labels {
        labels.insert((*k).to_string(), json!(v));
    }
    let mut spec = template["spec"].clone();
    let mut pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": pod_name,
            "namespace": namespace(owner),
            "labels": labels,
            "ownerReferences": [{
                "apiVersion": owner["apiVersion"],
                "kind": owner["kind"],
                "name": name(owner),
                "uid": uid(owner),
                "controller": true,
                "blockOwnerDeletion": true,
            }],
        },
        "spec": {},
        "status": {"phase": "Pending", "qosClass": "BestEffort"},
    });
    if let Some(a) = template["metadata"].get("annotations") {
        pod["metadata"]["annotations"] = a.clone();
    }
    if mode(&json!({"spec": spec})) != Mode::Unschedulable
        && let Some(s) = spec.as_object_mut()
    {
        s.insert("nodeName".into(), json!(NODE));
    }
    pod["spec"] = spec;
    let created = store.create(rt, pod);
    mem.born.insert(uid(&created).to_string(), now);
    let (kind, reason) = match owner["kind"].as_str() {
        Some("Job") => ("Normal", "SuccessfulCreate"),
        Some("StatefulSet") => ("Normal", "SuccessfulCreate"),
        _ => ("", ""),
    };
    if !kind.is_empty() {
        let message = format!(
            "create Pod {pod_name} in {} {} successful",
            owner["kind"].as_str().unwrap_or(""),
            name(owner)
        );
        let message = if owner["kind"] == "Job" {
            format!("Created pod: {pod_name}")
        } else {
            message
        };
        store.event(owner, kind, reason, &message, "controller");
    }
}

/// Moves controller-created pods through their lifecycle.
fn advance_pods(store: &mut Store, mem: &mut Memory, now: Instant) {
    for pod in cloned(store, "Pod") {
        let pod_uid = uid(&pod).to_string();
        let Some(born) = mem.born.get(&pod_uid).copied() else {
            continue;
        };
        let age = now.saturating_duration_since(born);
        let status = pod_status(store, mem, &pod, age);
        store.set_status("Pod", namespace(&pod), name(&pod), status);
    }
    let live: HashSet<String> = store
        .list("Pod", None)
        .into_iter()
        .map(|p| uid(p).to_string())
        .collect();
    mem.born.retain(|u, _| live.contains(u));
}

fn is_job_pod(pod: &Value) -> bool {
    pod["metadata"]["ownerReferences"]
        .as_array()
        .is_some_and(|r| r.iter().any(|r| r["kind"] == "Job"))
}

fn pod_status(store: &mut Store, mem: &mut Memory, pod: &Value, age: Duration) -> Value {
    let pod_uid = uid(pod).to_string();
    let created = mem.stamp(&pod_uid, "created");
    let started = age >= START_DELAY;
    let images = images(pod);
    let mode = mode(pod);
    let job = is_job_pod(pod);
    if mode == Mode::Unschedulable {
        let message = "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: \
                       3 No preemption victims found for incoming pod.";
        mem.event_once(
            store,
            pod,
            "Warning",
            "FailedScheduling",
            message,
            "default-scheduler",
        );
        return json!({"phase": "Pending", "qosClass": "BestEffort",
            "conditions": [condition("PodScheduled", false, &created, Some("Unschedulable"), Some(message))]});
    }
    let waiting = |reason: &str, message: Option<String>| {
        let mut w = json!({"reason": reason});
        if let Some(m) = message {
            w["message"] = json!(m);
        }
        json!({"waiting": w})
    };
    let container = |name: &str, image: &str, state: Value, ready: bool, restarts: u64, last: Value| {
        json!({"name": name, "image": image, "imageID": "", "ready": ready, "started": ready,
            "restartCount": restarts, "state": state, "lastState": last})
    };
    let (phase, ready, containers): (&str, bool, Vec<Value>) = match (mode, started) {
        (_, false) => {
            let cs = images
                .iter()
                .map(|(n, i)| container(n, i, waiting("ContainerCreating", None), false, 0, json!({})))
                .collect();
            ("Pending", false, cs)
        }
        (Mode::Normal, true) if job => {
            let finished = mem.stamp(&pod_uid, "finished");
            let term = json!({"terminated": {"exitCode": 0, "reason": "Completed",
                "startedAt": created, "finishedAt": finished}});
            let cs = images
                .iter()
                .map(|(n, i)| container(n, i, term.clone(), false, 0, json!({})))
                .collect();
            ("Succeeded", false, cs)
        }
        (Mode::Normal, true) => {
            let running = mem.stamp(&pod_uid, "running");
            let state = json!({"running": {"startedAt": running}});
            let cs = images
                .iter()
                .map(|(n, i)| container(n, i, state.clone(), true, 0, json!({})))
                .collect();
            ("Running", true, cs)
        }
        (Mode::FailPull, true) => {
            let mut cs = Vec::new();
            for (n, i) in &images {
                if i.contains("fail-pull") {
                    let message = format!(
                        "Failed to pull image \"{i}\": rpc error: code = NotFound desc = failed to pull and \
                         unpack image \"{i}\": not found"
                    );
                    mem.event_once(store, pod, "Warning", "Failed", &message, "kubelet");
                    let backoff = format!("Back-off pulling image \"{i}\"");
                    mem.event_once(store, pod, "Normal", "BackOff", &backoff, "kubelet");
                    cs.push(container(
                        n,
                        i,
                        waiting("ImagePullBackOff", Some(backoff)),
                        false,
                        0,
                        json!({}),
                    ));
                } else {
                    let running = mem.stamp(&pod_uid, "running");
                    cs.push(container(
                        n,
                        i,
                        json!({"running": {"startedAt": running}}),
                        true,
                        0,
                        json!({}),
                    ));
                }
            }
            ("Pending", false, cs)
        }
        (Mode::Crash, true) if job => {
            let finished = mem.stamp(&pod_uid, "finished");
            let term = json!({"terminated": {"exitCode": 1, "reason": "Error",
                "startedAt": created, "finishedAt": finished}});
            let cs = images
                .iter()
                .map(|(n, i)| container(n, i, term.clone(), false, 0, json!({})))
                .collect();
            ("Failed", false, cs)
        }
        (Mode::Crash, true) => {
            let restarts = 1 + (age - START_DELAY).as_millis() as u64 / RESTART_EVERY.as_millis() as u64;
            let mut cs = Vec::new();
            for (n, i) in &images {
                if i.contains("crash") {
                    let message = format!("Back-off restarting failed container {n} in pod {}", name(pod));
                    mem.event_once(store, pod, "Warning", "BackOff", &message, "kubelet");
                    let state = waiting(
                        "CrashLoopBackOff",
                        Some(format!(
                            "back-off 10s restarting failed container={n} pod={}",
                            name(pod)
                        )),
                    );
                    let last = json!({"terminated": {"exitCode": 1, "reason": "Error",
                        "startedAt": created, "finishedAt": created}});
                    cs.push(container(n, i, state, false, restarts, last));
                } else {
                    let running = mem.stamp(&pod_uid, "running");
                    cs.push(container(
                        n,
                        i,
                        json!({"running": {"startedAt": running}}),
                        true,
                        0,
                        json!({}),
                    ));
                }
            }
            ("Running", false, cs)
        }
        (Mode::Unschedulable, true) => ("Pending", false, Vec::new()),
    };
    let ready_time = mem.stamp(&pod_uid, &format!("ready-{ready}"));
    let not_ready = if ready { None } else { Some("ContainersNotReady") };
    let conditions = json!([
        condition("PodReadyToStartContainers", started, &created, None, None),
        condition("Initialized", true, &created, None, None),
        condition("Ready", ready, &ready_time, not_ready, None),
        condition("ContainersReady", ready, &ready_time, not_ready, None),
        condition("PodScheduled", true, &created, None, None),
    ]);
    json!({
        "phase": phase,
        "conditions": conditions,
        "hostIP": "10.0.0.1",
        "podIP": "10.244.0.10",
        "startTime": created,
        "containerStatuses": containers,
        "qosClass": "BestEffort",
    })
}

/// `maxUnavailable` of a rolling update (an int or a percentage, rounded down; default 25%).
fn max_unavailable(d: &Value, replicas: i64) -> i64 {
    match &d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) => s
            .trim_end_matches('%')
            .parse::<i64>()
            .map(|p| replicas * p / 100)
            .unwrap_or(0),
        _ => replicas / 4,
    }
}

/// Sets the counts a real controller sets, leaving zeros out as the API does.
fn counts(status: &mut Value, counts: &[(&str, i64)]) {
    for (k, v) in counts {
        if *v != 0 {
            status[*k] = json!(v);
        }
    }
}

fn reconcile_deployment(store: &mut Store, mem: &mut Memory, d: &Value, now: Instant) {
    let (ns, d_name, d_uid) = (namespace(d).to_string(), name(d).to_string(), uid(d).to_string());
    let replicas = d["spec"]["replicas"].as_i64().unwrap_or(1).max(0);
    let hash = template_hash(&d["spec"]["template"]);
    let rs_name = format!("{d_name}-{hash}");
    let is_new = |p: &Value| p["metadata"]["labels"]["pod-template-hash"] == hash.as_str();

    let new: Vec<Value> = owned_pods(store, d).into_iter().filter(|p| is_new(p)).collect();
    if (new.len() as i64) < replicas {
        for _ in new.len() as i64..replicas {
            let pod_name = format!("{rs_name}-{}", store.suffix(5));
            create_pod(
                store,
                mem,
                d,
                &pod_name,
                &[("pod-template-hash", hash.clone())],
                now,
            );
        }
        let message = format!("Scaled up replica set {rs_name} from {} to {replicas}", new.len());
        mem.event_once(
            store,
            d,
            "Normal",
            "ScalingReplicaSet",
            &message,
            "deployment-controller",
        );
    }
    for extra in new.iter().skip(replicas as usize) {
        store.delete("Pod", &ns, name(extra), Propagation::Background);
    }
    let pods = owned_pods(store, d);
    let (new, old): (Vec<&Value>, Vec<&Value>) = pods.iter().partition(|p| is_new(p));
    let new_ready = new.iter().filter(|p| is_ready(p)).count() as i64;
    if new_ready >= replicas && !old.is_empty() {
        for p in &old {
            store.delete("Pod", &ns, name(p), Propagation::Background);
        }
    }
    let pods = owned_pods(store, d);
    let (new, old): (Vec<&Value>, Vec<&Value>) = pods.iter().partition(|p| is_new(p));
    let total = pods.len() as i64;
    let updated = new.len() as i64;
    let available = pods.iter().filter(|p| is_ready(p)).count() as i64;
    let new_ready = new.iter().filter(|p| is_ready(p)).count() as i64;

    let started = *mem.rollouts.entry((d_uid.clone(), generation(d))).or_insert(now);
    let deadline = Duration::from_secs(d["spec"]["progressDeadlineSeconds"].as_u64().unwrap_or(600));
    let complete = updated == replicas && new_ready == replicas && old.is_empty();
    let (progressing, reason, message) = if complete {
        (
            true,
            "NewReplicaSetAvailable",
            format!("ReplicaSet \"{rs_name}\" has successfully progressed."),
        )
    } else if now.saturating_duration_since(started) > deadline {
        (
            false,
            "ProgressDeadlineExceeded",
            format!("ReplicaSet \"{rs_name}\" has timed out progressing."),
        )
    } else {
        (
            true,
            "ReplicaSetUpdated",
            format!("ReplicaSet \"{rs_name}\" is progressing."),
        )
    };
    let available_ok = available >= replicas - max_unavailable(d, replicas);
    let (a_reason, a_message) = if available_ok {
        ("MinimumReplicasAvailable", "Deployment has minimum availability.")
    } else {
        (
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
        )
    };
    let cond = |mem: &mut Memory, type_: &str, ok: bool, reason: &str, message: &str| {
        let transition = mem.stamp(&d_uid, &format!("{type_}-{ok}"));
        let update = mem.stamp(&d_uid, &format!("{type_}-{ok}-{reason}-{hash}"));
        json!({"type": type_, "status": if ok { "True" } else { "False" }, "lastUpdateTime": update,
            "lastTransitionTime": transition, "reason": reason, "message": message})
    };
    let conditions = json!([
        cond(mem, "Available", available_ok, a_reason, a_message),
        cond(mem, "Progressing", progressing, reason, &message),
    ]);
    if !progressing {
        mem.event_once(
            store,
            d,
            "Warning",
            "ProgressDeadlineExceeded",
            &message,
            "deployment-controller",
        );
    }
    let mut status = json!({"observedGeneration": generation(d)});
    counts(
        &mut status,
        &[
            ("replicas", total),
            ("updatedReplicas", updated),
            ("readyReplicas", available),
            ("availableReplicas", available),
            ("unavailableReplicas", (total.max(replicas) - available).max(0)),
        ],
    );
    status["conditions"] = conditions;
    store.set_status("Deployment", &ns, &d_name, status);
}

fn reconcile_statefulset(store: &mut Store, mem: &mut Memory, s: &Value) {
    let now = Instant::now();
    let (ns, s_name) = (namespace(s).to_string(), name(s).to_string());
    let replicas = s["spec"]["replicas"].as_i64().unwrap_or(1).max(0);
    let revision = format!("{s_name}-{}", template_hash(&s["spec"]["template"]));
    let revision_of = |p: &Value| {
        p["metadata"]["labels"]["controller-revision-hash"]
            .as_str()
            .map(str::to_string)
    };
    let labels = |i: i64| {
        vec![
            ("controller-revision-hash", revision.clone()),
            ("statefulset.kubernetes.io/pod-name", format!("{s_name}-{i}")),
            ("apps.kubernetes.io/pod-index", i.to_string()),
        ]
    };
    let pods = owned_pods(store, s);
    let ordinal = |p: &Value| {
        name(p)
            .rsplit('-')
            .next()
            .and_then(|o| o.parse::<i64>().ok())
            .unwrap_or(-1)
    };
    for p in pods.iter().filter(|p| ordinal(p) >= replicas) {
        store.delete("Pod", &ns, name(p), Propagation::Background);
    }
    for i in 0..replicas {
        if !pods.iter().any(|p| ordinal(p) == i) {
            create_pod(store, mem, s, &format!("{s_name}-{i}"), &labels(i), now);
        }
    }
    // Rolling update: replace the highest-ordinal old pod once every updated pod is ready.
    let pods = owned_pods(store, s);
    let (updated, old): (Vec<&Value>, Vec<&Value>) = pods
        .iter()
        .partition(|p| revision_of(p).as_deref() == Some(revision.as_str()));
    if updated.iter().all(|p| is_ready(p))
        && let Some(victim) = old.iter().max_by_key(|p| ordinal(p))
    {
        let i = ordinal(victim);
        store.delete("Pod", &ns, name(victim), Propagation::Background);
        create_pod(store, mem, s, &format!("{s_name}-{i}"), &labels(i), now);
    }
    let pods = owned_pods(store, s);
    let ready = pods.iter().filter(|p| is_ready(p)).count() as i64;
    let updated = pods
        .iter()
        .filter(|p| revision_of(p).as_deref() == Some(revision.as_str()))
        .count() as i64;
    let previous = s["status"]["currentRevision"].as_str().map(str::to_string);
    let current_revision = if updated == replicas && ready == replicas {
        revision.clone()
    } else {
        previous.unwrap_or_else(|| revision.clone())
    };
    let current = pods
        .iter()
        .filter(|p| revision_of(p).as_deref() == Some(current_revision.as_str()))
        .count();
    let mut status = json!({"observedGeneration": generation(s), "replicas": pods.len(),
        "currentRevision": current_revision, "updateRevision": revision, "collisionCount": 0});
    counts(
        &mut status,
        &[
            ("readyReplicas", ready),
            ("availableReplicas", ready),
            ("currentReplicas", current as i64),
            ("updatedReplicas", updated),
        ],
    );
    store.set_status("StatefulSet", &ns, &s_name, status);
}

fn reconcile_job(store: &mut Store, mem: &mut Memory, j: &Value) {
    let finished = j["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True")
    });
    if finished {
        return;
    }
    let (ns, j_name, j_uid) = (namespace(j).to_string(), name(j).to_string(), uid(j).to_string());
    let completions = j["spec"]["completions"].as_i64().unwrap_or(1);
    let backoff_limit = j["spec"]["backoffLimit"].as_i64().unwrap_or(6);
    let pods = owned_pods(store, j);
    let succeeded = pods.iter().filter(|p| phase(p) == "Succeeded").count() as i64;
    let failed = pods.iter().filter(|p| phase(p) == "Failed").count() as i64;
    let mut active = pods.len() as i64 - succeeded - failed;
    let start = mem.stamp(&j_uid, "start");
    let mut status = json!({"startTime": start, "terminating": 0, "uncountedTerminatedPods": {}});
    let done = |mem: &mut Memory, type_: &str, reason: &str, message: &str| {
        let t = mem.stamp(&j_uid, type_);
        json!({"type": type_, "status": "True", "lastProbeTime": t, "lastTransitionTime": t,
            "reason": reason, "message": message})
    };
    if succeeded >= completions {
        let message = "Reached expected number of succeeded pods";
        status["completionTime"] = json!(mem.stamp(&j_uid, "Complete"));
        status["conditions"] = json!([
            done(mem, "SuccessCriteriaMet", "CompletionsReached", message),
            done(mem, "Complete", "CompletionsReached", message),
        ]);
        mem.event_once(store, j, "Normal", "Completed", "Job completed", "job-controller");
    } else if failed > backoff_limit {
        let message = "Job has reached the specified backoff limit";
        status["conditions"] = json!([
            done(mem, "FailureTarget", "BackoffLimitExceeded", message),
            done(mem, "Failed", "BackoffLimitExceeded", message),
        ]);
        mem.event_once(
            store,
            j,
            "Warning",
            "BackoffLimitExceeded",
            message,
            "job-controller",
        );
    } else if active == 0 {
        let pod_name = format!("{j_name}-{}", store.suffix(5));
        let labels = [
            ("batch.kubernetes.io/controller-uid", j_uid.clone()),
            ("batch.kubernetes.io/job-name", j_name.clone()),
            ("controller-uid", j_uid.clone()),
            ("job-name", j_name.clone()),
        ];
        create_pod(store, mem, j, &pod_name, &labels, Instant::now());
        active = 1;
    }
    let ready = pods.iter().filter(|p| is_ready(p)).count() as i64;
    counts(
        &mut status,
        &[("active", active), ("succeeded", succeeded), ("failed", failed)],
    );
    status["ready"] = json!(ready);
    store.set_status("Job", &ns, &j_name, status);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_come_from_image_names() {
        let pod = |image: &str| json!({"spec": {"containers": [{"name": "a", "image": "ok:1"}, {"name": "b", "image": image}]}});
        assert_eq!(mode(&pod("web:1")), Mode::Normal);
        assert_eq!(mode(&pod("registry/fail-pull:1")), Mode::FailPull);
        assert_eq!(mode(&pod("crash:1")), Mode::Crash);
        assert_eq!(mode(&pod("unschedulable")), Mode::Unschedulable);
    }

    #[test]
    fn template_hash_is_stable_and_changes_with_the_template() {
        let a = json!({"spec": {"containers": [{"image": "a"}]}});
        let b = json!({"spec": {"containers": [{"image": "b"}]}});
        assert_eq!(template_hash(&a), template_hash(&a.clone()));
        assert_ne!(template_hash(&a), template_hash(&b));
        assert_eq!(max_unavailable(&json!({}), 4), 1);
        assert_eq!(
            max_unavailable(
                &json!({"spec": {"strategy": {"rollingUpdate": {"maxUnavailable": "50%"}}}}),
                4
            ),
            2
        );
    }
}
