//! Tasks: the process's main container and its sidecars and init containers, all with the
//! docker driver.
//!
//! - `command` → docker `entrypoint` and `args` → docker `args`. (Nomad's docker `command`
//!   sets the image's CMD, not its ENTRYPOINT; Kubernetes' `command` replaces the ENTRYPOINT,
//!   and Docker then ignores the image's CMD, as Kubernetes does.)
//! - Ports are not listed in the docker config: in bridge mode the group network maps them
//!   (`To`) and the driver ignores docker `ports`.
//! - CPU: `CPU` (MHz) = the request (else the limit) × the profile's `cpuMhzPerCore`, rounded
//!   up; Nomad's default of 100 MHz when unset. Nomad's CPU is a reservation and a soft
//!   share; a limit equal to the reservation is enforced with docker `cpu_hard_limit`, a
//!   limit above it cannot be expressed (reported).
//! - Memory: `MemoryMB` = the request (else the limit), `MemoryMaxMB` = a larger limit
//!   (effective only where the cluster enables memory oversubscription); 300 MiB default.
//! - Security: `runAsUser` → `User`; `readOnlyRootFilesystem` → docker `readonly_rootfs`;
//!   `runAsNonRoot` without a non-zero `runAsUser` cannot be enforced (reported).
//! - Config files → templates mounted at their path (see [`crate::template`]); ephemeral
//!   volumes → docker binds of `local/volumes/<name>` (disk) or `tmpfs` mounts (memory);
//!   persistent volumes → `VolumeMounts` of the group's host volumes.
//! - `shutdownGracePeriod` → `KillTimeout` (30s default, Kubernetes' grace period) for the
//!   main task and sidecars; Nomad clients cap it at their `max_kill_timeout`.
//! - Sidecars → `Lifecycle {Hook: prestart, Sidecar: true}`; init containers → `Lifecycle
//!   {Hook: prestart, Sidecar: false}`. Nomad starts all prestart tasks together, so more
//!   than one init container cannot run in order (reported).

use ojek_output::Origin;
use ojek_spec::manifest::{Container, Process, ResourceAmount, VolumeKind};
use serde_json::{Map, Value};

use crate::context::{Cx, Field, Traces, join};
use crate::env::{task_env, trace_env_template};
use crate::template;
use crate::units::{mhz, mib, secs};

/// Nomad's default CPU reservation (MHz).
const DEFAULT_CPU_MHZ: u64 = 100;
/// Nomad's default memory reservation (MiB).
const DEFAULT_MEMORY_MB: u64 = 300;

/// The main task of process `name` (at manifest `path`) at `tptr`.
pub(crate) fn main_task(
    cx: &mut Cx,
    t: &mut Traces,
    tptr: &str,
    (path, name): (&Field, &str),
    p: &Process,
) -> Value {
    let mut task = Map::with_capacity(10);
    task.insert("Name".into(), Value::from(name));
    task.insert("Driver".into(), Value::from("docker"));
    t.add(tptr, cx.at_note(path.clone(), "the process's main container"));
    t.add(
        join(tptr, "/Driver"),
        Origin::default("ojek runs OCI images with Nomad's docker driver"),
    );

    let mut config = Map::with_capacity(7);
    image(cx, t, tptr, path, &mut config, &p.image, &p.command, &p.args);

    if let Some(sec) = &p.security {
        let sp = path.key("security");
        match (sec.run_as_user, sec.run_as_non_root) {
            (Some(0), Some(true)) => cx.error(
                &sp.key("runAsNonRoot"),
                "runAsNonRoot is true but runAsUser is 0 (root)",
                "set runAsUser to a non-zero user id",
            ),
            (None, Some(true)) => cx.unsupported(
                &sp.key("runAsNonRoot"),
                "Nomad's docker driver cannot check that an image's user is not root",
                "set runAsUser to a non-zero user id: the task then runs as that user",
            ),
            _ => {}
        }
        if let Some(uid) = sec.run_as_user {
            task.insert("User".into(), Value::from(uid.to_string()));
            let o = if sec.run_as_non_root == Some(true) && uid != 0 {
                cx.at_note(
                    sp.clone(),
                    format!("runAsUser {uid}, a non-zero user, which also satisfies runAsNonRoot"),
                )
            } else {
                cx.at(sp.key("runAsUser"))
            };
            t.add(join(tptr, "/User"), o);
        }
        if let Some(ro) = sec.read_only_root_filesystem {
            config.insert("readonly_rootfs".into(), Value::from(ro));
            t.add(
                join(tptr, "/Config/readonly_rootfs"),
                cx.at(sp.key("readOnlyRootFilesystem")),
            );
        }
    }

    let mut resources = Map::with_capacity(3);
    resources_into(cx, t, tptr, path, &p.cpu, &p.memory, &mut resources, &mut config);

    // Files and volumes.
    let mut templates: Vec<(Value, Origin)> = Vec::new();
    let mut mounts: Vec<(Value, Origin)> = Vec::new();
    let mut binds: Vec<(Value, Origin)> = Vec::new();
    let mut volume_mounts: Vec<(Value, Origin)> = Vec::new();
    for (file, spec) in &p.files {
        let fp = path.key("files").key(file);
        let perms = template::perms(spec.mode.as_deref());
        let mut tmpl = template::file_template(file, spec.content.as_deref().unwrap_or(""), &perms);
        if let Some(uid) = p.security.as_ref().and_then(|s| s.run_as_user) {
            tmpl["Uid"] = Value::from(uid);
        }
        templates.push((
            tmpl,
            cx.at_note(fp.clone(), "config file rendered into the task directory"),
        ));
        mounts.push((
            template::file_mount(file),
            cx.at_note(fp, "puts the rendered file at its path, read-only"),
        ));
    }
    for (vname, vol) in &p.volumes {
        let vp = path.key("volumes").key(vname);
        match (vol.kind, vol.memory) {
            (VolumeKind::Ephemeral, true) => {
                let mut m = Map::with_capacity(4);
                m.insert("type".into(), Value::from("tmpfs"));
                m.insert("target".into(), Value::from(vol.path.as_str()));
                m.insert("readonly".into(), Value::from(false));
                if let Some(bytes) = vol.size.as_ref().and_then(|s| s.bytes()) {
                    let mut opts = Map::new();
                    opts.insert("size".into(), Value::from(bytes));
                    m.insert("tmpfs_options".into(), Value::Object(opts));
                }
                mounts.push((
                    Value::Object(m),
                    cx.at_note(
                        vp,
                        "in-memory volume: a tmpfs mount, counted against the task's memory",
                    ),
                ));
            }
            (VolumeKind::Ephemeral, false) => {
                binds.push((
                    Value::from(format!("local/volumes/{vname}:{}", vol.path)),
                    cx.at_note(vp, "ephemeral volume: a directory in the task's local/ directory, gone with the allocation"),
                ));
            }
            (VolumeKind::Persistent, _) => {
                let mut m = Map::with_capacity(3);
                m.insert("Volume".into(), Value::from(vname.as_str()));
                m.insert("Destination".into(), Value::from(vol.path.as_str()));
                m.insert("ReadOnly".into(), Value::from(false));
                volume_mounts.push((Value::Object(m), cx.at_note(vp, "mounts the group's host volume")));
            }
        }
    }
    if !binds.is_empty() {
        let list = traced_list(t, &join(tptr, "/Config/volumes"), binds);
        config.insert("volumes".into(), list);
    }
    if !mounts.is_empty() {
        let list = traced_list(t, &join(tptr, "/Config/mount"), mounts);
        config.insert("mount".into(), list);
    }
    task.insert("Config".into(), Value::Object(config));

    let mut env = task_env(cx, &path.key("env"), &p.env);
    if !env.env.is_empty() {
        task.insert("Env".into(), Value::Object(std::mem::take(&mut env.env)));
        env.trace_env(t, tptr);
    }
    let file_count = templates.len();
    let mut all_templates = Vec::with_capacity(file_count + env.templates.len());
    for (i, (tmpl, o)) in templates.into_iter().enumerate() {
        all_templates.push(tmpl);
        let tp = format!("{tptr}/Templates/{i}");
        t.add(&tp, o);
        t.add(
            join(&tp, "/ChangeMode"),
            Origin::default("the content only changes with a new job version, which replaces the allocation"),
        );
    }
    for (k, file) in p.files.iter().enumerate() {
        let tp = format!("{tptr}/Templates/{k}");
        let fp = path.key("files").key(file.0);
        if file.1.mode.is_some() {
            t.add(join(&tp, "/Perms"), cx.at(fp.key("mode")));
        } else {
            t.add(
                join(&tp, "/Perms"),
                Origin::default("readable by everyone, writable by the owner (0644), as on Kubernetes"),
            );
        }
        if let Some(uid) = p.security.as_ref().and_then(|s| s.run_as_user) {
            t.add(
                join(&tp, "/Uid"),
                cx.at_note(
                    path.key("security").key("runAsUser"),
                    format!("the file belongs to user {uid}, which the task runs as, so a mode like 0600 still lets it read the file"),
                ),
            );
        }
        if file.1.content.as_deref().is_some_and(|c| c.contains("{{")) {
            t.add(join(&tp, "/EmbeddedTmpl"), cx.at_note(fp, "the content contains `{{`: escaped or given other delimiters, so it is written exactly as given"));
        }
    }
    for (i, (tmpl, o)) in env.templates.into_iter().enumerate() {
        trace_env_template(t, &format!("{tptr}/Templates/{}", file_count + i), o);
        all_templates.push(tmpl);
    }
    if !all_templates.is_empty() {
        task.insert("Templates".into(), Value::Array(all_templates));
    }
    if !volume_mounts.is_empty() {
        let list = traced_list(t, &join(tptr, "/VolumeMounts"), volume_mounts);
        task.insert("VolumeMounts".into(), list);
    }
    task.insert("Resources".into(), Value::Object(resources));
    kill_timeout(cx, t, tptr, path, p, &mut task);
    Value::Object(task)
}

/// The array of `items`, tracing item `i` at `{base}/{i}`.
fn traced_list(t: &mut Traces, base: &str, items: Vec<(Value, Origin)>) -> Value {
    let mut list = Vec::with_capacity(items.len());
    for (i, (value, origin)) in items.into_iter().enumerate() {
        t.add(format!("{base}/{i}"), origin);
        list.push(value);
    }
    Value::Array(list)
}

/// What a container beside the main one does.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Runs beside the main task for its whole life.
    Sidecar,
    /// Runs to completion before the main task starts.
    Init,
}

/// The task of sidecar or init container `name` of process `p` (at manifest `process`) at
/// `tptr`.
pub(crate) fn container_task(
    cx: &mut Cx,
    t: &mut Traces,
    tptr: &str,
    (process, p): (&Field, &Process),
    role: Role,
    (name, c): (&str, &Container),
) -> Value {
    let sidecar = role == Role::Sidecar;
    let group = if sidecar { "sidecars" } else { "initContainers" };
    let path = process.key(group).key(name);
    let mut task = Map::with_capacity(10);
    task.insert("Name".into(), Value::from(name));
    task.insert("Driver".into(), Value::from("docker"));
    let note = if sidecar {
        "sidecar: runs beside the main task for its whole life"
    } else {
        "init container: runs to completion before the main task starts"
    };
    t.add(tptr, cx.at_note(path.clone(), note));
    t.add(
        join(tptr, "/Driver"),
        Origin::default("ojek runs OCI images with Nomad's docker driver"),
    );
    let mut lifecycle = Map::with_capacity(2);
    lifecycle.insert("Hook".into(), Value::from("prestart"));
    lifecycle.insert("Sidecar".into(), Value::from(sidecar));
    task.insert("Lifecycle".into(), Value::Object(lifecycle));

    let mut config = Map::with_capacity(7);
    image(cx, t, tptr, &path, &mut config, &c.image, &c.command, &c.args);
    let mut resources = Map::with_capacity(3);
    resources_into(cx, t, tptr, &path, &c.cpu, &c.memory, &mut resources, &mut config);
    task.insert("Config".into(), Value::Object(config));

    let mut env = task_env(cx, &path.key("env"), &c.env);
    if !env.env.is_empty() {
        task.insert("Env".into(), Value::Object(std::mem::take(&mut env.env)));
        env.trace_env(t, tptr);
    }
    if !env.templates.is_empty() {
        let mut list = Vec::new();
        for (i, (tmpl, o)) in env.templates.into_iter().enumerate() {
            trace_env_template(t, &format!("{tptr}/Templates/{i}"), o);
            list.push(tmpl);
        }
        task.insert("Templates".into(), Value::Array(list));
    }
    task.insert("Resources".into(), Value::Object(resources));
    if sidecar {
        kill_timeout(cx, t, tptr, process, p, &mut task);
    }
    Value::Object(task)
}

/// The docker `image`, `entrypoint` and `args`, with the image tag marked as a parameter
/// later by the caller.
#[allow(clippy::too_many_arguments)]
fn image(
    cx: &Cx,
    t: &mut Traces,
    tptr: &str,
    path: &Field,
    config: &mut Map<String, Value>,
    image: &str,
    command: &Option<Vec<String>>,
    args: &Option<Vec<String>>,
) {
    config.insert("image".into(), Value::from(image));
    t.add(join(tptr, "/Config/image"), cx.at(path.key("image")));
    if let Some(cmd) = command {
        config.insert("entrypoint".into(), strings(cmd));
        t.add(
            join(tptr, "/Config/entrypoint"),
            cx.at_note(
                path.key("command"),
                "replaces the image's ENTRYPOINT (and its CMD), as on Kubernetes",
            ),
        );
    }
    if let Some(a) = args {
        config.insert("args".into(), strings(a));
        t.add(
            join(tptr, "/Config/args"),
            cx.at_note(path.key("args"), "replaces the image's CMD"),
        );
    }
}

/// A JSON array of strings.
fn strings(items: &[String]) -> Value {
    Value::Array(items.iter().map(|s| Value::from(s.as_str())).collect())
}

/// `CPU`, `MemoryMB` and `MemoryMaxMB` for `cpu` and `memory` at manifest path `path`; sets
/// docker `cpu_hard_limit` in `config` when the CPU limit equals the reservation.
#[allow(clippy::too_many_arguments)]
fn resources_into(
    cx: &mut Cx,
    t: &mut Traces,
    tptr: &str,
    path: &Field,
    cpu: &Option<ResourceAmount>,
    memory: &Option<ResourceAmount>,
    resources: &mut Map<String, Value>,
    config: &mut Map<String, Value>,
) {
    let rptr = join(tptr, "/Resources");
    let per_core = cx.profile.cpu_mhz_per_core;
    let per_core_note = |millicores: u64| {
        if cx.has_profile_field("cpuMhzPerCore") {
            format!(
                "{millicores} millicores × {per_core} MHz per core (platform {}.cpuMhzPerCore), rounded up",
                cx.profile_path
            )
        } else {
            format!(
                "{millicores} millicores × {per_core} MHz per core (default; the profile sets no cpuMhzPerCore), rounded up"
            )
        }
    };
    let cp = path.key("cpu");
    let req = cpu
        .as_ref()
        .and_then(|c| c.request.as_ref())
        .and_then(|q| q.millicores());
    let lim = cpu
        .as_ref()
        .and_then(|c| c.limit.as_ref())
        .and_then(|q| q.millicores());
    let (mhz_value, origin) = match (req, lim) {
        (Some(r), _) => (mhz(r, per_core), cx.at_note(cp.key("request"), per_core_note(r))),
        (None, Some(l)) => (
            mhz(l, per_core),
            cx.at_note(
                cp.key("limit"),
                format!(
                    "no request: the limit is also the reservation, as on Kubernetes; {}",
                    per_core_note(l)
                ),
            ),
        ),
        (None, None) => (
            DEFAULT_CPU_MHZ,
            Origin::default("Nomad's default CPU reservation (100 MHz); the process sets no CPU"),
        ),
    };
    resources.insert("CPU".into(), Value::from(mhz_value));
    t.add(join(&rptr, "/CPU"), origin);
    match (req, lim) {
        (Some(r), Some(l)) if l > r => cx.unsupported(
            &cp.key("limit"),
            "Nomad's CPU is a reservation and a soft share; docker cpu_hard_limit can cap CPU only at the reservation, not at a different limit",
            "set the limit equal to the request (a hard cap) or remove it (a soft share that may use idle CPU)",
        ),
        (_, Some(_)) => {
            config.insert("cpu_hard_limit".into(), Value::from(true));
            t.add(join(tptr, "/Config/cpu_hard_limit"), cx.at_note(cp.key("limit"), "the limit equals the reservation: docker enforces it as a hard cap"));
        }
        _ => {}
    }

    let mp = path.key("memory");
    let req = memory
        .as_ref()
        .and_then(|c| c.request.as_ref())
        .and_then(|q| q.bytes());
    let lim = memory
        .as_ref()
        .and_then(|c| c.limit.as_ref())
        .and_then(|q| q.bytes());
    let (mb, origin) = match (req, lim) {
        (Some(r), Some(l)) if mib(l) == mib(r) => (
            mib(r),
            cx.at_note(
                mp.clone(),
                "request = limit: Nomad reserves this much and stops the task above it",
            ),
        ),
        (Some(r), _) => (mib(r), cx.at_note(mp.key("request"), "MiB, rounded up")),
        (None, Some(l)) => (
            mib(l),
            cx.at_note(
                mp.key("limit"),
                "no request: the limit is also the reservation, as on Kubernetes; MiB, rounded up",
            ),
        ),
        (None, None) => (
            DEFAULT_MEMORY_MB,
            Origin::default("Nomad's default memory reservation (300 MiB); the process sets no memory"),
        ),
    };
    resources.insert("MemoryMB".into(), Value::from(mb));
    t.add(join(&rptr, "/MemoryMB"), origin);
    if let (Some(r), Some(l)) = (req, lim)
        && mib(l) > mib(r)
    {
        resources.insert("MemoryMaxMB".into(), Value::from(mib(l)));
        t.add(
            join(&rptr, "/MemoryMaxMB"),
            cx.at_note(mp.key("limit"), "MiB; Nomad lets the task use more than MemoryMB up to this only where the cluster enables memory oversubscription, otherwise MemoryMB is the cap"),
        );
    }
}

fn kill_timeout(
    cx: &mut Cx,
    t: &mut Traces,
    tptr: &str,
    path: &Field,
    p: &Process,
    task: &mut Map<String, Value>,
) {
    let grace = cx.duration_ns(
        &path.key("shutdownGracePeriod"),
        p.shutdown_grace_period.as_ref().and_then(|d| d.millis()),
    );
    let (ns, origin) = match grace {
        Some(ns) => (ns, cx.at_note(path.key("shutdownGracePeriod"), "time between the stop signal and a forced kill; Nomad clients cap it at their max_kill_timeout (30s unless the platform raises it)")),
        None => (secs(30), Origin::default("Kubernetes' default grace period (30s), so a process stops alike on both targets (Nomad's own default is 5s)")),
    };
    task.insert("KillTimeout".into(), Value::from(ns));
    t.add(join(tptr, "/KillTimeout"), origin);
}
