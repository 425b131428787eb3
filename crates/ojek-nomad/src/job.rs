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
//! and when unset, as on Kubernetes (`replace` has no Nomad equivalent: reported, and treated as
//! unset under `bestEffort`), `TimeZone` (UTC unless set).

use ojek_output::{Doc, Origin, Param};
use ojek_spec::manifest::{Concurrency, Process};
use serde_json::{Map, Value};

use crate::context::{Cx, Traces, ptr};
use crate::group::group;

/// The service job holding the long-running processes.
pub(crate) fn service_job(cx: &mut Cx, processes: &[(&String, &Process)]) -> Doc {
    let mut t = Traces::new(Origin::default(
        "one Nomad service job per app and environment, with a task group per service and worker process",
    ));
    let id = format!("{}-{}", cx.src.app.app.metadata.name, cx.src.app.env);
    let mut job = common(cx, &mut t, &id, "service");
    let mut groups = Vec::with_capacity(processes.len());
    for (i, (name, p)) in processes.iter().enumerate() {
        groups.push(group(cx, &mut t, &format!("/Job/TaskGroups/{i}"), name, p));
    }
    job.insert("TaskGroups".into(), Value::Array(groups));
    let mut doc = finish(job, t);
    for (i, (name, p)) in processes.iter().enumerate() {
        params(&mut doc, i, name, p);
    }
    doc
}

/// The batch job (periodic for `cron`) of one `cron` or `job` process.
pub(crate) fn batch_job(cx: &mut Cx, name: &str, p: &Process) -> Doc {
    let note = match p.schedule {
        Some(_) => {
            "a cron process is its own periodic batch job (Nomad's periodic and batch settings are job-level)"
        }
        None => "a job process is its own batch job (Nomad's batch type is job-level)",
    };
    let mut t = Traces::new(cx.at_note(cx.process(name).key("kind"), note));
    let id = format!("{}-{}-{name}", cx.src.app.app.metadata.name, cx.src.app.env);
    let mut job = common(cx, &mut t, &id, "batch");
    if p.schedule.is_some() {
        job.insert("Periodic".into(), periodic(cx, &mut t, name, p));
    }
    job.insert(
        "TaskGroups".into(),
        Value::Array(vec![group(cx, &mut t, "/Job/TaskGroups/0", name, p)]),
    );
    let mut doc = finish(job, t);
    params(&mut doc, 0, name, p);
    doc
}

fn finish(job: Map<String, Value>, t: Traces) -> Doc {
    let mut root = Map::with_capacity(1);
    root.insert("Job".into(), Value::Object(job));
    t.into_doc(Value::Object(root))
}

/// Image tags and fixed replica counts of task group `i` as packaging parameters.
fn params(doc: &mut Doc, i: usize, name: &str, p: &Process) {
    let group = &doc.value["Job"]["TaskGroups"][i];
    let mut params = Vec::new();
    if let Some(prefix) = image_prefix(&p.image)
        && let Some(image) = group["Tasks"][0]["Config"].get("image")
    {
        params.push(Param {
            pointer: format!("/Job/TaskGroups/{i}/Tasks/0/Config/image"),
            name: format!("{name}.image.tag"),
            value: image.clone(),
            prefix: Some(prefix),
        });
    }
    if p.scaling.as_ref().is_some_and(|s| s.replicas.is_some())
        && let Some(count) = group.get("Count")
    {
        params.push(Param {
            pointer: format!("/Job/TaskGroups/{i}/Count"),
            name: format!("{name}.replicas"),
            value: count.clone(),
            prefix: None,
        });
    }
    doc.params.extend(params);
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
    let metadata = cx.manifest().key("metadata");
    let mut job = Map::with_capacity(9);
    job.insert("ID".into(), Value::from(id));
    job.insert("Name".into(), Value::from(id));
    let id_note = format!(
        "`{{app}}-{{env}}` for the service job, `{{app}}-{{env}}-{{process}}` for each cron and job process: `{id}`"
    );
    let name_at = metadata.key("name");
    t.add("/Job/ID", cx.at_note(name_at.clone(), id_note.clone()));
    t.add("/Job/Name", cx.at_note(name_at.clone(), id_note));
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

    let mut meta = Map::with_capacity(4 + app.metadata.labels.len() + app.metadata.annotations.len());
    meta.insert("app".into(), Value::from(app.metadata.name.as_str()));
    t.add("/Job/Meta/app", cx.at(name_at));
    meta.insert("team".into(), Value::from(app.metadata.team.as_str()));
    t.add("/Job/Meta/team", cx.at(metadata.key("team")));
    meta.insert("env".into(), Value::from(cx.src.app.env.as_str()));
    t.add("/Job/Meta/env", Origin::default("the environment being rendered"));
    if let Some(d) = &app.metadata.description {
        meta.insert("description".into(), Value::from(d.as_str()));
        t.add("/Job/Meta/description", cx.at(metadata.key("description")));
    }
    for (field, map, note) in [
        (
            "labels",
            &app.metadata.labels,
            "metadata.labels become Nomad job meta",
        ),
        (
            "annotations",
            &app.metadata.annotations,
            "metadata.annotations become Nomad job meta",
        ),
    ] {
        let field_at = metadata.key(field);
        for (key, value) in map {
            let path = field_at.key(key);
            match meta.get(key) {
                Some(existing) if existing.as_str() != Some(value.as_str()) => cx.error(
                    &path,
                    format!("`{key}` would be set twice in the Nomad job meta (to `{}` and `{value}`)", existing.as_str().unwrap_or_default()),
                    "Nomad puts labels, annotations and ojek's app, team and env into one meta map: rename or remove one",
                ),
                Some(_) => {}
                None => {
                    meta.insert(key.clone(), Value::from(value.as_str()));
                    t.add(ptr("/Job/Meta", key), cx.at_note(path, note));
                }
            }
        }
    }
    job.insert("Meta".into(), Value::Object(meta));
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
        let note = format!("`{template}` → `{filled}`");
        return (
            filled,
            cx.src.platform_note(&format!("{}.namespace", cx.env_path), note),
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
    let path = cx.process(name);
    let schedule = p.schedule.as_deref().unwrap_or_default();
    let midnight = schedule == "@midnight";
    let mut m = Map::with_capacity(5);
    m.insert(
        "Spec".into(),
        Value::from(if midnight { "@daily" } else { schedule }),
    );
    let note = if midnight {
        "Nomad's cron parser has no @midnight; @daily is the same schedule"
    } else {
        ""
    };
    let schedule_at = path.key("schedule");
    t.add("/Job/Periodic/Spec", cx.at_note(schedule_at.clone(), note));
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
            // Dropped under bestEffort: behave as if unset.
            t.add(
                "/Job/Periodic/ProhibitOverlap",
                cx.at_note(
                    path.key("concurrency"),
                    "Nomad cannot replace a running run (dropped under bestEffort): a run is skipped while the previous one still runs (forbid), as when no concurrency is given",
                ),
            );
            true
        }
        Some(c) => {
            t.add("/Job/Periodic/ProhibitOverlap", cx.at(path.key("concurrency")));
            c == Concurrency::Forbid
        }
        None => {
            t.add(
                "/Job/Periodic/ProhibitOverlap",
                Origin::default(
                    "no concurrency given: a run is skipped while the previous one still runs (forbid), as on Kubernetes",
                ),
            );
            true
        }
    };
    m.insert("ProhibitOverlap".into(), Value::from(forbid));
    match &p.time_zone {
        Some(tz) => {
            m.insert("TimeZone".into(), Value::from(tz.as_str()));
            t.add("/Job/Periodic/TimeZone", cx.at(path.key("timeZone")));
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
    t.add("/Job/Periodic", cx.at_note(schedule_at, "runs on a schedule"));
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
