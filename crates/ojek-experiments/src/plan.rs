//! The controller's decisions as a pure function: from what it observed (the Experiment, the
//! app, the shards' readiness, the time) to what it must do (objects to apply, routes to give
//! back, namespaces to delete, a promotion to ask for) and the status to write.
//!
//! Lifecycle (after Argo Rollouts' `Experiment`): **Pending** while shards come up (a shard
//! gets its weight only once ready), **Running** once every shard is ready (`startedAt`),
//! then **Concluded** when `duration` has passed, **Aborted** on `decision.abort`, or
//! **Promoting** on `decision.promote` (all traffic to the winner, the winner's overrides
//! saved as a new app revision) until that revision runs, then Concluded. Ending gives the
//! app its route back and deletes the shards. An invalid spec changes nothing and says why.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Points in time, as `Observed::now` takes them.
pub use k8s_openapi::jiff::Timestamp;
use ojek_output::Doc;
use ojek_spec::Node;
use ojek_spec::load::{LoadedApp, LoadedPlatform};

use crate::crd::{BASELINE, Condition, Experiment, ExperimentStatus, Overrides, Phase, VariantStatus};
use crate::desired::{Desired, desired, percent};
use crate::validate::{Problem, shard_namespace};

/// How often a Pending experiment looks at its shards again (besides the watch).
pub const PENDING_RECHECK: Duration = Duration::from_secs(15);
/// How often a Promoting experiment looks for the promoted revision to be deployed.
pub const PROMOTING_RECHECK: Duration = Duration::from_secs(30);
/// The longest a Running experiment waits before looking again.
pub const RUNNING_RECHECK: Duration = Duration::from_secs(300);

/// A workload's replicas as observed (a shard's Deployment, or the baseline's).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Replicas {
    /// Replicas its spec asks for.
    pub desired: u32,
    /// Replicas ready.
    pub ready: u32,
    /// Whether its controller has seen the newest spec and every replica runs it.
    pub current: bool,
}

impl Replicas {
    /// Ready: every wanted replica is up on the newest spec (and at least one is wanted).
    pub fn is_ready(&self) -> bool {
        self.current && self.desired > 0 && self.ready >= self.desired
    }
}

/// What the controller observed.
pub struct Observed<'a> {
    /// The Experiment (spec, status, generation, deletion).
    pub experiment: &'a Experiment,
    /// The app, when the ojek server knows it.
    pub app: Option<&'a LoadedApp>,
    /// The app's revision `app` is.
    pub app_revision: Option<u64>,
    /// The revision the environment runs now (deployed through ojek), for ending a promotion.
    pub deployed_revision: Option<u64>,
    /// The platform file.
    pub platform: &'a LoadedPlatform,
    /// Now.
    pub now: Timestamp,
    /// The split process's workload in each shard, by variant.
    pub shards: BTreeMap<String, Replicas>,
    /// The baseline's workload.
    pub baseline: Option<Replicas>,
    /// Namespaces that carry this experiment's labels (shards, including removed variants').
    pub shard_namespaces: BTreeSet<String>,
}

/// An object to delete.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Delete {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// Namespace, for namespaced objects.
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

impl Delete {
    fn namespace(name: &str) -> Self {
        Delete {
            api_version: "v1".into(),
            kind: "Namespace".into(),
            namespace: None,
            name: name.into(),
        }
    }
}

/// A promotion to ask the ojek server for.
#[derive(Clone, Debug, PartialEq)]
pub struct PromoteRequest {
    /// The winning variant.
    pub variant: String,
    /// Its overrides.
    pub overrides: Overrides,
    /// The environment.
    pub environment: String,
    /// The split process.
    pub process: String,
    /// The revision the shards were rendered from (the save is refused if the app moved on).
    pub base_revision: u64,
    /// `<namespace>/<name>` of the Experiment.
    pub experiment: String,
}

/// What to do, in order: copy secrets, apply `apply`, apply `restore` (as the app's own
/// field manager), delete `delete`, ask for `promote`, write `status`.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Secrets to copy: (from namespace, to namespace, names).
    pub copy_secrets: Vec<(String, String, Vec<String>)>,
    /// Objects to apply (shards first, the route last).
    pub apply: Vec<Doc>,
    /// The app's own routing objects, given back.
    pub restore: Vec<Doc>,
    /// Objects to delete (after the route no longer points at them).
    pub delete: Vec<Delete>,
    /// A promotion to save.
    pub promote: Option<PromoteRequest>,
    /// The status to write.
    pub status: ExperimentStatus,
    /// When to look again, besides watches.
    pub requeue: Option<Duration>,
}

/// A time as the status writes it (`2026-11-26T08:00:00Z`).
pub fn rfc3339(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Sets a condition, keeping its transition time when its status did not change.
pub fn set_condition(
    conds: &mut Vec<Condition>,
    type_: &str,
    status: bool,
    reason: &str,
    message: String,
    now: &str,
    generation: Option<i64>,
) {
    let status = if status { "True" } else { "False" }.to_string();
    let last = conds
        .iter()
        .find(|c| c.type_ == type_ && c.status == status)
        .map_or_else(|| now.to_string(), |c| c.last_transition_time.clone());
    conds.retain(|c| c.type_ != type_);
    conds.push(Condition {
        type_: type_.into(),
        status,
        reason: reason.into(),
        message,
        last_transition_time: last,
        observed_generation: generation,
    });
    conds.sort_by(|a, b| a.type_.cmp(&b.type_));
}

fn summary(weights: &[(String, u32)]) -> String {
    percent(weights)
        .iter()
        .map(|(n, p)| format!("{n}={p}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn variant_statuses(o: &Observed, d: &Desired) -> Vec<VariantStatus> {
    let pct = percent(&d.weights);
    let pct_of = |name: &str| pct.iter().find(|(n, _)| n == name).map_or(0, |(_, p)| *p);
    let mut out = vec![VariantStatus {
        name: BASELINE.into(),
        namespace: d.namespace.clone(),
        desired_replicas: o.baseline.map_or(d.baseline_replicas, |b| b.desired),
        ready_replicas: o.baseline.map_or(0, |b| b.ready),
        weight: pct_of(BASELINE),
        url: Some(format!(
            "http://{}.{}.svc.cluster.local:{}",
            d.service, d.namespace, d.port
        )),
        pinned_by: None,
    }];
    for (s, v) in d.shards.iter().zip(&o.experiment.spec.variants) {
        let obs = o.shards.get(&s.variant).copied().unwrap_or_default();
        let pinned_by = v.matches.as_ref().map(|m| {
            let mut parts = Vec::new();
            if let Some(h) = &m.header {
                parts.push(format!("header {}: {}", h.name, h.value));
            }
            if let Some(c) = &m.cookie {
                parts.push(format!("cookie {}={}", c.name, c.value));
            }
            parts.join(", ")
        });
        out.push(VariantStatus {
            name: s.variant.clone(),
            namespace: s.namespace.clone(),
            desired_replicas: s.replicas,
            ready_replicas: obs.ready,
            weight: pct_of(&s.variant),
            url: Some(s.url.clone()),
            pinned_by,
        });
    }
    out
}

/// The route objects the app gets back, and what the experiment made that the app never had
/// (a VirtualService) to delete.
fn give_back(exp: &Experiment, d: &Desired) -> (Vec<Doc>, Vec<Delete>) {
    let mut deletes = Vec::new();
    if exp.spec.routing.istio.is_some() {
        for r in &d.route {
            deletes.push(Delete {
                api_version: "networking.istio.io/v1".into(),
                kind: r.kind().into(),
                namespace: Some(d.namespace.clone()),
                name: r.name().into(),
            });
        }
    }
    (d.restore.clone(), deletes)
}

/// Every shard namespace: of the spec's variants and of any observed (removed variants').
fn all_shards(o: &Observed) -> BTreeSet<String> {
    let spec = &o.experiment.spec;
    let mut all: BTreeSet<String> = spec
        .variants
        .iter()
        .map(|v| shard_namespace(&spec.app, &spec.environment, &v.name))
        .collect();
    all.extend(o.shard_namespaces.iter().cloned());
    all
}

/// The plan for an Experiment that exists (not being deleted).
pub fn plan(o: &Observed, located: &dyn Fn(usize) -> Option<Node>) -> Plan {
    let exp = o.experiment;
    let generation = exp.metadata.generation;
    let now = rfc3339(o.now);
    let mut status = exp.status.clone().unwrap_or_default();
    status.observed_generation = generation;
    let prev = status.phase;
    if let Some(p) = prev
        && p.is_final()
    {
        // Ended: only make sure nothing is left behind.
        return Plan {
            delete: o.shard_namespaces.iter().map(|n| Delete::namespace(n)).collect(),
            status,
            ..Plan::default()
        };
    }
    let ready = |v: &str| o.shards.get(v).is_some_and(Replicas::is_ready);
    let d = match desired(exp, o.app, o.platform, &ready, located) {
        Ok(d) => d,
        Err(problems) => return invalid(o, status, &problems, &now),
    };
    set_condition(
        &mut status.conditions,
        "InvalidSpec",
        false,
        "Valid",
        "the spec is valid".into(),
        &now,
        generation,
    );
    for (type_, reason, message) in &d.notes {
        set_condition(
            &mut status.conditions,
            type_,
            true,
            reason,
            message.clone(),
            &now,
            generation,
        );
    }
    if status.app_revision.is_none() || prev.is_none() || prev == Some(Phase::Pending) {
        status.app_revision = o.app_revision;
    }
    status.variants = variant_statuses(o, &d);
    status.summary = Some(summary(&d.weights));
    let decision = exp.spec.decision.clone().unwrap_or_default();
    let elapsed = match (&exp.spec.duration, &status.started_at) {
        (Some(dur), Some(start)) => start.parse::<Timestamp>().ok().map(|s| {
            let end = s + std::time::Duration::from(*dur);
            (o.now >= end, end)
        }),
        _ => None,
    };
    let promoted_and_deployed = matches!(
        (status.promoted_revision, o.deployed_revision),
        (Some(p), Some(dep)) if dep >= p
    );
    let end = if decision.abort {
        Some((
            Phase::Aborted,
            "Aborted",
            "aborted: all traffic is back on the baseline".to_string(),
        ))
    } else if decision.promote.is_some() && promoted_and_deployed {
        Some((
            Phase::Concluded,
            "Promoted",
            format!(
                "variant `{}` was promoted as revision {} and is deployed; traffic is back on the app",
                decision.promote.as_deref().unwrap_or_default(),
                status.promoted_revision.unwrap_or_default()
            ),
        ))
    } else if decision.promote.is_none() && elapsed.is_some_and(|(done, _)| done) {
        Some((
            Phase::Concluded,
            "DurationElapsed",
            "the duration has passed: traffic is back on the baseline".to_string(),
        ))
    } else {
        None
    };
    if let Some((phase, reason, message)) = end {
        let (restore, mut delete) = give_back(exp, &d);
        delete.extend(all_shards(o).iter().map(|n| Delete::namespace(n)));
        status.phase = Some(phase);
        status.ended_at = Some(now.clone());
        status.summary = Some(format!("{BASELINE}=100"));
        for v in &mut status.variants {
            v.weight = u32::from(v.name == BASELINE) * 100;
        }
        set_condition(
            &mut status.conditions,
            "Ready",
            false,
            reason,
            message,
            &now,
            generation,
        );
        set_condition(
            &mut status.conditions,
            "RoutingReady",
            false,
            "RouteGivenBack",
            "the app's own routing is back in place".into(),
            &now,
            generation,
        );
        return Plan {
            restore,
            delete,
            status,
            ..Plan::default()
        };
    }
    // Going on: shards and the route as wanted; shards of removed variants go once the route
    // no longer points at them (it is applied first).
    let route = d
        .route
        .iter()
        .find(|r| matches!(r.kind(), "HTTPRoute" | "VirtualService"))
        .map_or_else(String::new, |r| format!("{}/{}", r.kind(), r.name()));
    set_condition(
        &mut status.conditions,
        "RoutingReady",
        true,
        "RouteApplied",
        format!("{route} splits the traffic {}", summary(&d.weights)),
        &now,
        generation,
    );
    let wanted: BTreeSet<&str> = d.shards.iter().map(|s| s.namespace.as_str()).collect();
    let delete: Vec<Delete> = o
        .shard_namespaces
        .iter()
        .filter(|n| !wanted.contains(n.as_str()))
        .map(|n| Delete::namespace(n))
        .collect();
    let copy_secrets = d
        .shards
        .iter()
        .filter(|s| !s.secrets.is_empty())
        .map(|s| (d.namespace.clone(), s.namespace.clone(), s.secrets.clone()))
        .collect();
    let apply: Vec<Doc> = d.objects().cloned().collect();
    let all_ready = d.shards.iter().all(|s| ready(&s.variant));
    let mut promote = None;
    let requeue;
    if let Some(winner) = &decision.promote {
        status.phase = Some(Phase::Promoting);
        let winner_ready = ready(winner);
        let (reason, message) = match (status.promoted_revision, winner_ready) {
            (Some(rev), _) => (
                "WaitingForDeploy",
                format!("variant `{winner}` was saved as revision {rev}; waiting for it to be deployed"),
            ),
            (None, false) => (
                "WinnerNotReady",
                format!("variant `{winner}` is not ready yet; the baseline keeps the traffic"),
            ),
            (None, true) => (
                "Promoting",
                format!("saving variant `{winner}` as a new revision of the app"),
            ),
        };
        if status.promoted_revision.is_none()
            && winner_ready
            && let (Some(base), Some(v)) = (
                status.app_revision,
                exp.spec.variants.iter().find(|v| &v.name == winner),
            )
        {
            promote = Some(PromoteRequest {
                variant: winner.clone(),
                overrides: v.overrides.clone(),
                environment: exp.spec.environment.clone(),
                process: d.process.clone(),
                base_revision: base,
                experiment: format!(
                    "{}/{}",
                    exp.metadata.namespace.as_deref().unwrap_or_default(),
                    exp.metadata.name.as_deref().unwrap_or_default()
                ),
            });
        }
        set_condition(
            &mut status.conditions,
            "Ready",
            false,
            reason,
            message,
            &now,
            generation,
        );
        requeue = Some(PROMOTING_RECHECK);
    } else if all_ready {
        status.phase = Some(Phase::Running);
        if status.started_at.is_none() {
            status.started_at = Some(now.clone());
        }
        set_condition(
            &mut status.conditions,
            "Ready",
            true,
            "AllVariantsReady",
            format!("every variant is ready; traffic {}", summary(&d.weights)),
            &now,
            generation,
        );
        let started = status
            .started_at
            .as_deref()
            .and_then(|s| s.parse::<Timestamp>().ok());
        requeue = Some(match (&exp.spec.duration, started) {
            (Some(dur), Some(s)) => {
                let end = s + std::time::Duration::from(*dur);
                let left = end.duration_since(o.now).unsigned_abs();
                left.min(RUNNING_RECHECK).max(Duration::from_secs(1))
            }
            _ => RUNNING_RECHECK,
        });
    } else {
        status.phase = Some(Phase::Pending);
        let waiting: Vec<&str> = d
            .shards
            .iter()
            .filter(|s| !ready(&s.variant))
            .map(|s| s.variant.as_str())
            .collect();
        set_condition(
            &mut status.conditions,
            "Ready",
            false,
            "VariantsNotReady",
            format!(
                "waiting for {} to be ready; they get no traffic until then",
                waiting.join(", ")
            ),
            &now,
            generation,
        );
        requeue = Some(PENDING_RECHECK);
    }
    Plan {
        copy_secrets,
        apply,
        restore: Vec::new(),
        delete,
        promote,
        status,
        requeue,
    }
}

fn invalid(o: &Observed, mut status: ExperimentStatus, problems: &[Problem], now: &str) -> Plan {
    let generation = o.experiment.metadata.generation;
    let first = problems.first().map_or("InvalidSpec", |p| p.reason);
    let message = problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    set_condition(
        &mut status.conditions,
        "InvalidSpec",
        true,
        first,
        message.clone(),
        now,
        generation,
    );
    let keeps = match status.phase {
        Some(Phase::Running | Phase::Pending | Phase::Promoting) => {
            " (nothing was changed: the last valid spec keeps running)"
        }
        _ => "",
    };
    set_condition(
        &mut status.conditions,
        "Ready",
        false,
        "InvalidSpec",
        format!("{message}{keeps}"),
        now,
        generation,
    );
    if status.phase.is_none() {
        status.phase = Some(Phase::Failed);
    }
    Plan {
        status,
        ..Plan::default()
    }
}

/// The plan for an Experiment being deleted: give the route back and delete every shard,
/// whatever state it was in (tolerant of never having applied anything).
pub fn cleanup(o: &Observed) -> Plan {
    let ready = |_: &str| false;
    let mut plan = Plan::default();
    if let Ok(d) = desired(o.experiment, o.app, o.platform, &ready, &|_| None) {
        let (restore, delete) = give_back(o.experiment, &d);
        plan.restore = restore;
        plan.delete = delete;
    }
    plan.delete
        .extend(all_shards(o).iter().map(|n| Delete::namespace(n)));
    plan
}
