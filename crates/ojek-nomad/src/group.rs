//! Task groups: one per process. Count and scaling, network, services, volumes, placement,
//! update, restart and reschedule policies, then the tasks.
//!
//! - Count: `replicas`, else autoscale `min`, else 1.
//! - Network: bridge mode with a dynamic host port per manifest port (`To` = container port).
//! - Placement: `nodeSelector` → constraints on `${meta.<key>}`; tolerations have no Nomad
//!   equivalent (Nomad has no taints; reported).
//! - Persistent volumes → group host volumes (`Source` from the profile's `hostVolume`
//!   template, `{app}-{volume}` by default) with `PerAlloc`, one volume per replica: the
//!   platform provides host volumes named `<source>[0]`, `<source>[1]`, …. Their size cannot
//!   be requested (a warning says so). Ephemeral disk volumes with a size add to the group's
//!   `EphemeralDisk` (300 MB, Nomad's default, plus the volumes), which Nomad uses for
//!   placement but does not enforce.
//! - Update (services and workers): `MaxParallel` is how many allocations Nomad replaces at
//!   once; it stops an old allocation before its replacement starts, so it never surges.
//!   `maxSurge` (or else `maxUnavailable`) sets `MaxParallel` (percentages of the count;
//!   surge rounds up, unavailable down; at least 1); a `maxUnavailable` below `MaxParallel`
//!   (such as 0) cannot be honoured (reported). `recreate` replaces every allocation in one
//!   batch (`MaxParallel` = the largest count); Nomad does not wait for the old ones to exit
//!   before starting the new ones. `canary` → `Canary` with manual promotion. Deployments
//!   auto-revert to the last stable version.
//! - Disruption budget → `Migrate.MaxParallel`: how many allocations a node drain migrates at
//!   once (a budget of zero cannot be expressed; reported).
//! - Restart/reschedule: Nomad's service defaults for long-running processes; for `cron` and
//!   `job`, `retries` → in-place restarts with `Mode: fail` and no rescheduling, so a run is
//!   tried 1 + retries times (unset: no retries, as on Kubernetes); `deadline` has no equivalent in the Nomad API version ojek
//!   targets (reported).

use ojek_output::Origin;
use ojek_spec::manifest::{Process, UpdateStrategy, VolumeKind};
use ojek_spec::values::IntOrPercent;
use serde_json::{Map, Value};

use crate::context::{Cx, Field, Traces, join, object, ptr};
use crate::units::{mib, secs};
use crate::{scaling, services, task};

/// The task group of process `name` at `gptr`.
pub(crate) fn group(cx: &mut Cx, t: &mut Traces, gptr: &str, name: &str, p: &Process) -> Value {
    let path = cx.process(name);
    let mut g = Map::with_capacity(13);
    g.insert("Name".into(), Value::from(name));
    t.add(
        gptr,
        cx.at_note(
            path.key("kind"),
            format!("a {} process becomes a task group", p.kind.as_str()),
        ),
    );

    let count = count(cx, t, gptr, &path, p, &mut g);
    constraints(cx, t, gptr, &path, p, &mut g);
    network(cx, t, gptr, &path, p, &mut g);
    services::build(cx, t, gptr, &mut g, (&path, name), p);
    volumes(cx, t, gptr, &path, p, &mut g);
    if let Some(a) = p.scaling.as_ref().and_then(|s| s.autoscale.as_ref()) {
        let s = scaling::scaling(cx, t, gptr, &path.key("scaling").key("autoscale"), a);
        g.insert("Scaling".into(), s);
    }
    if p.kind.is_long_running() {
        update(cx, t, gptr, &path, p, count, &mut g);
        migrate(cx, t, gptr, &path, p, count, &mut g);
    }
    restart(cx, t, gptr, &path, p, &mut g);

    let mut tasks = vec![task::main_task(cx, t, &join(gptr, "/Tasks/0"), (&path, name), p)];
    let mut previous: Option<&str> = None;
    for (cname, c) in &p.init_containers {
        if let Some(prev) = previous {
            cx.unsupported(
                &path.key("initContainers").key(cname),
                &format!("Nomad starts all prestart tasks at the same time, so `{cname}` cannot wait for `{prev}` to finish"),
                "merge the init containers into one that runs the steps in order",
            );
        }
        previous = Some(cname);
        let tp = format!("{gptr}/Tasks/{}", tasks.len());
        tasks.push(task::container_task(
            cx,
            t,
            &tp,
            (&path, p),
            task::Role::Init,
            (cname, c),
        ));
    }
    for (cname, c) in &p.sidecars {
        let tp = format!("{gptr}/Tasks/{}", tasks.len());
        tasks.push(task::container_task(
            cx,
            t,
            &tp,
            (&path, p),
            task::Role::Sidecar,
            (cname, c),
        ));
    }
    g.insert("Tasks".into(), Value::Array(tasks));
    Value::Object(g)
}

/// Sets `Count`; returns it, and the largest count the group may reach.
fn count(
    cx: &mut Cx,
    t: &mut Traces,
    gptr: &str,
    path: &Field,
    p: &Process,
    g: &mut Map<String, Value>,
) -> (u32, u32) {
    let sp = path.key("scaling");
    let (n, max, origin) = match &p.scaling {
        Some(s) if s.replicas.is_some() => {
            let n = s.replicas.unwrap_or(1);
            (n, n, cx.at(sp.key("replicas")))
        }
        Some(s) if s.autoscale.is_some() => {
            let a = s.autoscale.as_ref().map_or((1, 1), |a| (a.min, a.max));
            (
                a.0,
                a.1,
                cx.at_note(
                    sp.key("autoscale").key("min"),
                    "starts at min; the Nomad Autoscaler changes it (submit new versions with PreserveCounts to keep its choice)",
                ),
            )
        }
        _ if p.kind.is_long_running() => (
            1,
            1,
            Origin::default("one replica when the process sets no scaling, as on Kubernetes"),
        ),
        _ => (
            1,
            1,
            Origin::default("a cron or job process runs one instance per run"),
        ),
    };
    g.insert("Count".into(), Value::from(n));
    t.add(join(gptr, "/Count"), origin);
    (n, max)
}

fn constraints(
    cx: &mut Cx,
    t: &mut Traces,
    gptr: &str,
    path: &Field,
    p: &Process,
    g: &mut Map<String, Value>,
) {
    let Some(pl) = &p.placement else { return };
    let pp = path.key("placement");
    if !pl.tolerations.is_empty() {
        cx.unsupported(
            &pp.key("tolerations"),
            "Nomad has no node taints to tolerate",
            "remove the tolerations; to reach dedicated nodes, ask the platform team for node meta and use nodeSelector",
        );
    }
    if pl.node_selector.is_empty() {
        return;
    }
    let mut list = Vec::new();
    for (i, (key, value)) in pl.node_selector.iter().enumerate() {
        list.push(object([
            ("LTarget", format!("${{meta.{key}}}").into()),
            ("RTarget", value.as_str().into()),
            ("Operand", "=".into()),
        ]));
        t.add(
            format!("{gptr}/Constraints/{i}"),
            cx.at_note(
                pp.key("nodeSelector").key(key),
                "node labels are Nomad client meta: the client's meta must have this value",
            ),
        );
    }
    g.insert("Constraints".into(), Value::Array(list));
}

fn network(cx: &mut Cx, t: &mut Traces, gptr: &str, path: &Field, p: &Process, g: &mut Map<String, Value>) {
    if p.ports.is_empty() {
        return;
    }
    let np = format!("{gptr}/Networks/0");
    let mut ports = Vec::new();
    for (i, (name, port)) in p.ports.iter().enumerate() {
        ports.push(object([
            ("Label", name.as_str().into()),
            ("To", port.port.into()),
        ]));
        t.add(
            format!("{np}/DynamicPorts/{i}"),
            cx.at_note(
                path.key("ports").key(name),
                "a dynamic host port mapped to the container port",
            ),
        );
    }
    t.add(
        &np,
        Origin::default("bridge mode: the group gets its own network namespace, and the process listens on its own port numbers"),
    );
    g.insert(
        "Networks".into(),
        Value::Array(vec![object([
            ("Mode", "bridge".into()),
            ("DynamicPorts", Value::Array(ports)),
        ])]),
    );
}

/// The group's volume requests (all per-allocation, which rules out canaries: reported here)
/// and ephemeral disk.
fn volumes(cx: &mut Cx, t: &mut Traces, gptr: &str, path: &Field, p: &Process, g: &mut Map<String, Value>) {
    let mut requests = Map::new();
    let mut disk_mb: u64 = 0;
    let mut sized: Vec<String> = Vec::new();
    let template = cx.profile.host_volume.clone();
    for (name, vol) in &p.volumes {
        let vp = path.key("volumes").key(name);
        match vol.kind {
            VolumeKind::Persistent => {
                let source = ojek_spec::platform::fill_template(
                    &cx.fill(template.as_deref().unwrap_or("{app}-{volume}")),
                    &[("volume", name)],
                );
                let rp = ptr(&join(gptr, "/Volumes"), name);
                requests.insert(
                    name.clone(),
                    object([
                        ("Name", name.as_str().into()),
                        ("Type", "host".into()),
                        ("Source", source.as_str().into()),
                        ("ReadOnly", false.into()),
                        ("PerAlloc", true.into()),
                    ]),
                );
                let size = vol.size.as_ref().map(|s| s.to_string()).unwrap_or_default();
                t.add(
                    &rp,
                    cx.at_note(
                        vp.clone(),
                        "a persistent volume is a Nomad host volume the platform provides",
                    ),
                );
                t.add(
                    join(&rp, "/Type"),
                    Origin::default("host volumes are the volumes every Nomad client can offer"),
                );
                let source_origin = match &template {
                    Some(_) => cx.profile_field("hostVolume", format!("`{source}` for volume `{name}`")),
                    None => Origin::default(format!(
                        "`{{app}}-{{volume}}` (the profile sets no hostVolume template): `{source}`"
                    )),
                };
                t.add(join(&rp, "/Source"), source_origin);
                t.add(
                    join(&rp, "/PerAlloc"),
                    cx.at_note(
                        vp.key("type"),
                        format!("one volume per replica: allocation n mounts host volume `{source}[n]`"),
                    ),
                );
                let read_only_note = if vol.size.is_some() {
                    format!(
                        "read-write; a host volume request has no size: the platform provisions `{source}[n]` with at least {size}"
                    )
                } else {
                    "read-write: the process owns its volume".to_string()
                };
                t.add(join(&rp, "/ReadOnly"), cx.at_note(vp.clone(), read_only_note));
                if vol.size.is_some() {
                    cx.warn(
                        &vp.key("size"),
                        format!("nomad cannot request a volume size: make sure the host volumes `{source}[n]` have at least {size}"),
                    );
                }
            }
            VolumeKind::Ephemeral if !vol.memory => {
                if let Some(bytes) = vol.size.as_ref().and_then(|s| s.bytes()) {
                    disk_mb = disk_mb.saturating_add(mib(bytes));
                    sized.push(format!(
                        "{name} ({})",
                        vol.size.as_ref().map(|s| s.to_string()).unwrap_or_default()
                    ));
                }
            }
            VolumeKind::Ephemeral => {}
        }
    }
    let per_alloc = !requests.is_empty();
    if per_alloc && p.update.as_ref().is_some_and(|u| u.canary.is_some_and(|c| c > 0)) {
        cx.unsupported(
            &path.key("update").key("canary"),
            "Nomad cannot give canaries their own per-replica volume",
            "use rolling updates for processes with persistent volumes",
        );
    }
    if per_alloc {
        g.insert("Volumes".into(), Value::Object(requests));
    }
    if disk_mb > 0 {
        g.insert(
            "EphemeralDisk".into(),
            object([("SizeMB", disk_mb.saturating_add(300).into())]),
        );
        t.add(
            join(gptr, "/EphemeralDisk/SizeMB"),
            cx.at_note(
                path.key("volumes"),
                format!("300 MB (Nomad's default, for logs and templates) plus the ephemeral volumes {}; Nomad uses it for placement and does not enforce it", sized.join(", ")),
            ),
        );
    }
}

/// Resolves a count or percentage against `count`, rounding up or down.
fn resolve(v: &IntOrPercent, count: u32, round_up: bool) -> u32 {
    match v {
        IntOrPercent::Int(n) => *n,
        IntOrPercent::Percent(p) => {
            let pct: u64 = p.trim_end_matches('%').parse().unwrap_or(0);
            let scaled = pct * u64::from(count);
            let n = if round_up {
                scaled.div_ceil(100)
            } else {
                scaled / 100
            };
            u32::try_from(n).unwrap_or(u32::MAX)
        }
    }
}

fn update(
    cx: &mut Cx,
    t: &mut Traces,
    gptr: &str,
    path: &Field,
    p: &Process,
    (count, max): (u32, u32),
    g: &mut Map<String, Value>,
) {
    let up = path.key("update");
    let u = p.update.as_ref();
    let mut m = Map::with_capacity(8);
    let up_ptr = join(gptr, "/Update");
    let mut block_origin = if u.is_some() {
        cx.at(up.clone())
    } else {
        Origin::default("rolling updates one allocation at a time, as Nomad does by default")
    };
    let (parallel, origin) = match u {
        Some(u) if u.strategy == UpdateStrategy::Recreate => (
            max.max(1),
            cx.at_note(
                up.key("strategy"),
                "recreate: every allocation is replaced in one batch; Nomad stops the old ones and starts the new ones together, without waiting for the old ones to exit",
            ),
        ),
        Some(u) if u.max_surge.is_some() => {
            let v = u.max_surge.as_ref().map_or(1, |s| resolve(s, count, true));
            (
                v.max(1),
                cx.at_note(up.key("maxSurge"), format!("Nomad replaces this many allocations at a time ({}); it stops an old allocation before starting its replacement", describe(u.max_surge.as_ref(), count, max))),
            )
        }
        Some(u) if u.max_unavailable.as_ref().is_some_and(|v| resolve(v, count, false) > 0) => {
            let v = u.max_unavailable.as_ref().map_or(1, |s| resolve(s, count, false));
            (v, cx.at_note(up.key("maxUnavailable"), format!("Nomad replaces this many allocations at a time ({})", describe(u.max_unavailable.as_ref(), count, max))))
        }
        _ => (1, Origin::default("one allocation at a time, Nomad's default")),
    };
    m.insert("MaxParallel".into(), Value::from(parallel));
    t.add(join(&up_ptr, "/MaxParallel"), origin);
    if let Some(v) = u.and_then(|u| u.max_unavailable.as_ref())
        && u.is_some_and(|u| u.strategy == UpdateStrategy::Rolling)
    {
        let allowed = resolve(v, count, false);
        if allowed < parallel {
            cx.unsupported(
                &up.key("maxUnavailable"),
                &format!(
                    "Nomad stops an old allocation before its replacement starts, so up to {parallel} allocation(s) (MaxParallel) are unavailable during an update, more than maxUnavailable allows ({allowed})"
                ),
                "use a canary update for surge-style rollouts, or allow maxUnavailable of at least maxSurge",
            );
        } else {
            block_origin = cx.at_note(
                up.key("maxUnavailable"),
                format!("honoured: at most {parallel} allocation(s) (MaxParallel) are down at once during an update, within maxUnavailable ({allowed})"),
            );
        }
    }
    // Canaries that were reported unsupported (the group's volume requests, built before
    // this, are per-allocation) are left out, so a bestEffort render gets a plain rolling
    // update.
    let canary_ok = !g.contains_key("Volumes");
    if let Some(c) = u.and_then(|u| u.canary).filter(|_| canary_ok) {
        m.insert("Canary".into(), Value::from(c));
        m.insert("AutoPromote".into(), Value::from(false));
        t.add(
            join(&up_ptr, "/Canary"),
            cx.at_note(
                up.key("canary"),
                "new versions start this many canaries and wait for promotion",
            ),
        );
        t.add(
            join(&up_ptr, "/AutoPromote"),
            cx.at_note(
                up.key("canary"),
                "canaries wait for promotion (ojek promote, or nomad deployment promote)",
            ),
        );
    }
    m.insert("AutoRevert".into(), Value::from(true));
    t.add(
        join(&up_ptr, "/AutoRevert"),
        Origin::default("a failed deployment rolls back to the last stable version"),
    );
    let defaults: [(&str, Value, &str); 4] = [
        (
            "HealthCheck",
            Value::from("checks"),
            "an allocation is healthy when its tasks run and its checks pass",
        ),
        (
            "MinHealthyTime",
            Value::from(secs(10)),
            "Nomad's default: healthy for 10s before the next batch",
        ),
        (
            "HealthyDeadline",
            Value::from(secs(300)),
            "Nomad's default: an allocation not healthy within 5m fails the deployment",
        ),
        (
            "ProgressDeadline",
            Value::from(secs(600)),
            "Nomad's default: a deployment with no newly healthy allocation for 10m fails",
        ),
    ];
    for (k, v, why) in defaults {
        m.insert(k.into(), v);
        t.add(ptr(&up_ptr, k), Origin::default(why));
    }
    t.add(&up_ptr, block_origin);
    g.insert("Update".into(), Value::Object(m));
}

/// A count or percentage for a note (`25% of the count 4`), where `max` above `count` means
/// the group is autoscaled.
fn describe(v: Option<&IntOrPercent>, count: u32, max: u32) -> String {
    match v {
        Some(IntOrPercent::Percent(p)) if max > count => format!("{p} of the initial count {count}"),
        Some(IntOrPercent::Percent(p)) => format!("{p} of the count {count}"),
        Some(IntOrPercent::Int(n)) => n.to_string(),
        None => String::new(),
    }
}

fn migrate(
    cx: &mut Cx,
    t: &mut Traces,
    gptr: &str,
    path: &Field,
    p: &Process,
    (count, _): (u32, u32),
    g: &mut Map<String, Value>,
) {
    let Some(b) = &p.disruption_budget else { return };
    let bp = path.key("disruptionBudget");
    let (n, field) = match (&b.max_unavailable, &b.min_available) {
        (Some(v), _) => (resolve(v, count, true), "maxUnavailable"),
        (None, Some(v)) => (count.saturating_sub(resolve(v, count, true)), "minAvailable"),
        (None, None) => return,
    };
    if n == 0 {
        cx.unsupported(
            &bp.key(field),
            "a node drain in Nomad always migrates at least one allocation at a time (and a drain deadline forces the rest)",
            "allow at least one replica to be disrupted",
        );
        return;
    }
    g.insert(
        "Migrate".into(),
        object([("MaxParallel", n.into()), ("HealthCheck", "checks".into())]),
    );
    t.add(
        join(gptr, "/Migrate/MaxParallel"),
        cx.at_note(bp.key(field), format!("a node drain migrates at most {n} allocation(s) at a time (count {count}) and waits for the replacements to be healthy")),
    );
    t.add(
        join(gptr, "/Migrate/HealthCheck"),
        Origin::default("a migrated allocation is healthy when its tasks run and its checks pass"),
    );
}

fn restart(cx: &mut Cx, t: &mut Traces, gptr: &str, path: &Field, p: &Process, g: &mut Map<String, Value>) {
    let rp = join(gptr, "/RestartPolicy");
    let sp = join(gptr, "/ReschedulePolicy");
    if p.kind.is_long_running() {
        g.insert(
            "RestartPolicy".into(),
            object([
                ("Attempts", 2.into()),
                ("Delay", secs(15).into()),
                ("Interval", secs(1800).into()),
                ("Mode", "fail".into()),
            ]),
        );
        t.add(&rp, Origin::default("Nomad's default for services: restart in place twice in 30 minutes, then reschedule the allocation"));
        g.insert(
            "ReschedulePolicy".into(),
            object([
                ("Delay", secs(30).into()),
                ("DelayFunction", "exponential".into()),
                ("MaxDelay", secs(3600).into()),
                ("Unlimited", true.into()),
            ]),
        );
        t.add(&sp, Origin::default("Nomad's default for services: reschedule without limit, backing off up to an hour, like Kubernetes' crash-loop back-off"));
        return;
    }
    if p.deadline.is_some() {
        cx.unsupported(
            &path.key("deadline"),
            "the Nomad job API ojek targets has no run deadline for batch jobs",
            "stop the run from inside the process (for example `timeout 1h cmd`), or add max_run_duration with a targets.nomad patch where the cluster supports it",
        );
    }
    // Unset retries mean none, as on Kubernetes (backoffLimit 0): side effects never repeat
    // unasked. Nomad's own batch default (3 restarts, 1 reschedule) would differ by target.
    let n = p.retries.unwrap_or(0);
    let interval = i64::from(n).saturating_mul(secs(15)).max(secs(86_400));
    g.insert(
        "RestartPolicy".into(),
        object([
            ("Attempts", n.into()),
            ("Delay", secs(15).into()),
            ("Interval", interval.into()),
            ("Mode", "fail".into()),
        ]),
    );
    t.add(
        &rp,
        Origin::default("15s between attempts; the run fails when the attempts are used up"),
    );
    t.add(
        join(&rp, "/Attempts"),
        match p.retries {
            Some(_) => cx.at_note(path.key("retries"), "retried in place, on the same node"),
            None => Origin::default(
                "no retries given: a failed run is not retried, so side effects never repeat unasked (as on Kubernetes)",
            ),
        },
    );
    t.add(
        join(&rp, "/Interval"),
        Origin::default("a day, or longer if the retries need it: all retries count"),
    );
    g.insert(
        "ReschedulePolicy".into(),
        object([("Attempts", 0.into()), ("Unlimited", false.into())]),
    );
    t.add(
        &sp,
        match p.retries {
            Some(_) => cx.at_note(
                path.key("retries"),
                "no rescheduling on other nodes: a run is tried 1 + retries times in all",
            ),
            None => Origin::default("no rescheduling on other nodes: a run is tried once (no retries given)"),
        },
    );
}
