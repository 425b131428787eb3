//! Jobs. Nomad's job type (`service`, `batch`) and `periodic` are job-level, so:
//!
//! - all `service` and `worker` processes are groups of one **service** job `{app}-{env}`
//!   (none when the app has only cron and job processes);
//! - each `cron` process is its own **periodic batch** job `{app}-{env}-{process}`;
//! - each `job` process is its own **batch** job `{app}-{env}-{process}` (Nomad runs a batch
//!   job again when a changed version is submitted).
//!
//! Region and datacenters come from the environment's profile; the namespace from the
//! environment (a template), else the profile, else `default`. `Meta` holds `app`, `team`,
//! `env`, the description, labels and annotations (Nomad meta values are strings).
//! Cron schedules: `SpecType: cron` (Nomad's cron parser takes the five-field form and the
//! macros except `@midnight`, written `@daily`), `ProhibitOverlap` for `concurrency: forbid`
//! (`replace` has no Nomad equivalent; reported), `TimeZone` (UTC unless set).

use ojek_output::{Doc, Origin};
use ojek_spec::manifest::{Concurrency, Process};
use serde_json::{Map, Value};

use crate::context::{Cx, Traces, process_path, ptr};
use crate::group::group;

/// The service job holding the long-running processes.
pub(crate) fn service_job(cx: &mut Cx, processes: &[(&String, &Process)]) -> Doc {
    let mut t = Traces::default();
    let id = format!("{}-{}", cx.src.app.app.metadata.name, cx.src.app.env);
    let mut job = common(cx, &mut t, &id, "service");
    let mut groups = Vec::new();
    for (i, (name, p)) in processes.iter().enumerate() {
        groups.push(group(cx, &mut t, &format!("/Job/TaskGroups/{i}"), name, p));
    }
    job.insert("TaskGroups".into(), Value::Array(groups));
    let origin = Origin::default(
        "one Nomad service job per app and environment, with a task group per service and worker process",
    );
    let mut doc = finish(job, origin, t);
    for (i, (name, p)) in processes.iter().enumerate() {
        params(&mut doc, &format!("/Job/TaskGroups/{i}"), name, p);
    }
    doc
}

/// The batch job (periodic for `cron`) of one `cron` or `job` process.
pub(crate) fn batch_job(cx: &mut Cx, name: &str, p: &Process) -> Doc {
    let mut t = Traces::default();
    let path = process_path(name);
    let id = format!("{}-{}-{name}", cx.src.app.app.metadata.name, cx.src.app.env);
    let mut job = common(cx, &mut t, &id, "batch");
    if p.schedule.is_some() {
        job.insert("Periodic".into(), periodic(cx, &mut t, name, p));
    }
    job.insert(
        "TaskGroups".into(),
        Value::Array(vec![group(cx, &mut t, "/Job/TaskGroups/0", name, p)]),
    );
    let note = match p.schedule {
        Some(_) => {
            "a cron process is its own periodic batch job (Nomad's periodic and batch settings are job-level)"
        }
        None => "a job process is its own batch job (Nomad's batch type is job-level)",
    };
    let mut doc = finish(job, cx.at_note(&path.key("kind"), note), t);
    params(&mut doc, "/Job/TaskGroups/0", name, p);
    doc
}

fn finish(job: Map<String, Value>, origin: Origin, t: Traces) -> Doc {
    let mut root = Map::new();
    root.insert("Job".into(), Value::Object(job));
    let mut doc = Doc::new(Value::Object(root), origin);
    for (pointer, o) in t.0 {
        doc.trace(&pointer, o);
    }
    doc
}

/// Image tags and fixed replica counts as packaging parameters.
fn params(doc: &mut Doc, gptr: &str, name: &str, p: &Process) {
    if let Some(prefix) = image_prefix(&p.image) {
        doc.param(
            &format!("{gptr}/Tasks/0/Config/image"),
            format!("{name}.image.tag"),
            Some(prefix),
        );
    }
    if p.scaling.as_ref().is_some_and(|s| s.replicas.is_some()) {
        doc.param(&format!("{gptr}/Count"), format!("{name}.replicas"), None);
    }
}

/// The part of an image reference before its tag or digest (`registry/app:`), if it has one.
fn image_prefix(image: &str) -> Option<String> {
    if let Some(at) = image.find('@') {
        return Some(image[..=at].to_string());
    }
    let slash = image.rfind('/').map_or(0, |i| i + 1);
    image[slash..].rfind(':').map(|c| image[..=slash + c].to_string())
}

/// ID, name, type, region, namespace, datacenters and meta.
fn common(cx: &mut Cx, t: &mut Traces, id: &str, kind: &str) -> Map<String, Value> {
    let app = &cx.src.app.app;
    let mut job = Map::new();
    job.insert("ID".into(), Value::from(id));
    job.insert("Name".into(), Value::from(id));
    let id_note = format!(
        "`{{app}}-{{env}}` for the service job, `{{app}}-{{env}}-{{process}}` for each cron and job process: `{id}`"
    );
    t.add("/Job/ID", cx.src.manifest_note("metadata.name", id_note.clone()));
    t.add("/Job/Name", cx.src.manifest_note("metadata.name", id_note));
    job.insert("Type".into(), Value::from(kind));
    t.add(
        "/Job/Type",
        Origin::default(if kind == "service" {
            "long-running processes"
        } else {
            "runs to completion"
        }),
    );
    job.insert("Region".into(), Value::from(cx.profile.region.as_str()));
    t.add("/Job/Region", cx.profile_field("region", ""));
    let (namespace, origin) = namespace(cx);
    job.insert("Namespace".into(), Value::from(namespace));
    t.add("/Job/Namespace", origin);
    job.insert("Datacenters".into(), Value::from(cx.profile.datacenters.clone()));
    t.add("/Job/Datacenters", cx.profile_field("datacenters", ""));

    let mut meta = Map::new();
    let mut meta_origins: Vec<(String, Origin)> = Vec::new();
    let env = cx.src.app.env.clone();
    for (key, value, origin) in [
        ("app", app.metadata.name.clone(), cx.src.manifest("metadata.name")),
        (
            "team",
            app.metadata.team.clone(),
            cx.src.manifest("metadata.team"),
        ),
        ("env", env, Origin::default("the environment being rendered")),
    ] {
        meta.insert(key.into(), Value::from(value));
        meta_origins.push((key.into(), origin));
    }
    if let Some(d) = &app.metadata.description {
        meta.insert("description".into(), Value::from(d.as_str()));
        meta_origins.push(("description".into(), cx.src.manifest("metadata.description")));
    }
    let base = ojek_spec::source::Path::root().key("metadata");
    for (field, map) in [
        ("labels", &app.metadata.labels),
        ("annotations", &app.metadata.annotations),
    ] {
        for (key, value) in map {
            let path = base.key(field).key(key);
            match meta.get(key) {
                Some(existing) if existing.as_str() != Some(value.as_str()) => cx.error(
                    &path,
                    format!("`{key}` would be set twice in the Nomad job meta (to `{}` and `{value}`)", existing.as_str().unwrap_or_default()),
                    "Nomad puts labels, annotations and ojek's app, team and env into one meta map: rename or remove one",
                ),
                Some(_) => {}
                None => {
                    meta.insert(key.clone(), Value::from(value.as_str()));
                    meta_origins.push((key.clone(), cx.at_note(&path, format!("metadata.{field} become Nomad job meta"))));
                }
            }
        }
    }
    job.insert("Meta".into(), Value::Object(meta));
    for (key, origin) in meta_origins {
        t.add(ptr("/Job/Meta", &key), origin);
    }
    job
}

fn namespace(cx: &Cx) -> (String, Origin) {
    let env_ns = cx
        .src
        .platform
        .platform
        .environments
        .get(&cx.src.app.env)
        .and_then(|e| e.nomad.as_ref())
        .and_then(|n| n.namespace.as_ref());
    if let Some(template) = env_ns {
        let filled = cx.fill(template);
        return (
            filled.clone(),
            cx.src.platform_note(
                &format!("{}.namespace", cx.env_path),
                format!("`{template}` → `{filled}`"),
            ),
        );
    }
    if let Some(ns) = &cx.profile.namespace {
        return (ns.clone(), cx.profile_field("namespace", ""));
    }
    (
        "default".into(),
        Origin::default("Nomad's default namespace (neither the environment nor the profile names one)"),
    )
}

fn periodic(cx: &mut Cx, t: &mut Traces, name: &str, p: &Process) -> Value {
    let path = process_path(name);
    let schedule = p.schedule.clone().unwrap_or_default();
    let spec = if schedule == "@midnight" {
        "@daily".to_string()
    } else {
        schedule.clone()
    };
    let mut m = Map::new();
    m.insert("Spec".into(), Value::from(spec.as_str()));
    let note = if spec != schedule {
        "Nomad's cron parser has no @midnight; @daily is the same schedule"
    } else {
        ""
    };
    t.add("/Job/Periodic/Spec", cx.at_note(&path.key("schedule"), note));
    m.insert("SpecType".into(), Value::from("cron"));
    t.add(
        "/Job/Periodic/SpecType",
        Origin::default("the schedule is a cron expression"),
    );
    let forbid = match p.concurrency {
        Some(Concurrency::Replace) => {
            cx.unsupported(
                &path.key("concurrency"),
                "Nomad can skip a run while the previous one still runs (forbid) or start it anyway (allow), but cannot stop the running one",
                "use concurrency: forbid or allow",
            );
            false
        }
        Some(c) => {
            t.add("/Job/Periodic/ProhibitOverlap", cx.at(&path.key("concurrency")));
            c == Concurrency::Forbid
        }
        None => {
            t.add(
                "/Job/Periodic/ProhibitOverlap",
                Origin::default("runs may overlap when concurrency is unset (allow), as on Kubernetes"),
            );
            false
        }
    };
    m.insert("ProhibitOverlap".into(), Value::from(forbid));
    match &p.time_zone {
        Some(tz) => {
            m.insert("TimeZone".into(), Value::from(tz.as_str()));
            t.add("/Job/Periodic/TimeZone", cx.at(&path.key("timeZone")));
        }
        None => {
            m.insert("TimeZone".into(), Value::from("UTC"));
            t.add(
                "/Job/Periodic/TimeZone",
                Origin::default("schedules are in UTC when timeZone is unset"),
            );
        }
    }
    m.insert("Enabled".into(), Value::from(true));
    t.add("/Job/Periodic/Enabled", Origin::default("the schedule is active"));
    t.add(
        "/Job/Periodic",
        cx.at_note(&path.key("schedule"), "runs on a schedule"),
    );
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::image_prefix;

    #[test]
    fn image_prefixes() {
        assert_eq!(
            image_prefix("registry/team/app:1.4.2").as_deref(),
            Some("registry/team/app:")
        );
        assert_eq!(
            image_prefix("registry:5000/app:2").as_deref(),
            Some("registry:5000/app:")
        );
        assert_eq!(image_prefix("registry:5000/app"), None);
        assert_eq!(image_prefix("app@sha256:abc").as_deref(), Some("app@"));
    }
}
