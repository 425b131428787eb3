//! HCL2 jobspecs: parsed back with hcl-rs and converted to the JSON API form by an
//! independent inverse of the mapping, they must equal the rendered JSON.

mod common;

use hcl::template::Element;
use hcl::{Block, Body, Expression, Template};
use serde_json::{Map, Value, json};

#[derive(Clone, Copy, PartialEq)]
enum C {
    Job,
    Group,
    Task,
    Network,
    Port,
    Service,
    Check,
    CheckRestart,
    Update,
    Migrate,
    Restart,
    Reschedule,
    Disk,
    Volume,
    VolumeMount,
    Template,
    Resources,
    Lifecycle,
    Constraint,
    Periodic,
    Scaling,
    Docker,
    Mount,
    Tmpfs,
}

enum K {
    Str,
    Int,
    Bool,
    Dur,
    List,
    Tmpl,
    Map,
    Block(C),
    Blocks(C),
    Labeled(C, &'static str),
    LabeledMap(C, &'static str),
    Policy,
}

/// The inverse table: HCL name in a context → JSON name and kind.
fn inverse(c: C, name: &str) -> (&'static str, K) {
    use K::*;
    match (c, name) {
        (C::Job, "name") => ("Name", Str),
        (C::Job, "type") => ("Type", Str),
        (C::Job, "region") => ("Region", Str),
        (C::Job, "namespace") => ("Namespace", Str),
        (C::Job, "datacenters") => ("Datacenters", List),
        (C::Job, "priority") => ("Priority", Int),
        (C::Job | C::Group | C::Task, "meta") => ("Meta", Map),
        (C::Job | C::Group, "constraint") => ("Constraints", Blocks(C::Constraint)),
        (C::Job, "periodic") => ("Periodic", Block(C::Periodic)),
        (C::Job, "group") => ("TaskGroups", Labeled(C::Group, "Name")),
        (C::Group, "count") => ("Count", Int),
        (C::Group, "network") => ("Networks", Blocks(C::Network)),
        (C::Group, "service") => ("Services", Blocks(C::Service)),
        (C::Group, "volume") => ("Volumes", LabeledMap(C::Volume, "Name")),
        (C::Group, "ephemeral_disk") => ("EphemeralDisk", Block(C::Disk)),
        (C::Group, "scaling") => ("Scaling", Block(C::Scaling)),
        (C::Group, "update") => ("Update", Block(C::Update)),
        (C::Group, "migrate") => ("Migrate", Block(C::Migrate)),
        (C::Group, "restart") => ("RestartPolicy", Block(C::Restart)),
        (C::Group, "reschedule") => ("ReschedulePolicy", Block(C::Reschedule)),
        (C::Group, "task") => ("Tasks", Labeled(C::Task, "Name")),
        (C::Network, "mode") => ("Mode", Str),
        (C::Port, "to") => ("To", Int),
        (C::Port, "static") => ("Value", Int),
        (C::Service, "name") => ("Name", Str),
        (C::Service, "port") => ("PortLabel", Str),
        (C::Service, "provider") => ("Provider", Str),
        (C::Service, "tags") => ("Tags", List),
        (C::Service, "check") => ("Checks", Blocks(C::Check)),
        (C::Check, "name") => ("Name", Str),
        (C::Check, "type") => ("Type", Str),
        (C::Check, "path") => ("Path", Str),
        (C::Check, "port") => ("PortLabel", Str),
        (C::Check, "interval") => ("Interval", Dur),
        (C::Check, "timeout") => ("Timeout", Dur),
        (C::Check, "command") => ("Command", Str),
        (C::Check, "args") => ("Args", List),
        (C::Check, "task") => ("TaskName", Str),
        (C::Check, "grpc_service") => ("GRPCService", Str),
        (C::Check, "initial_status") => ("InitialStatus", Str),
        (C::Check, "failures_before_critical") => ("FailuresBeforeCritical", Int),
        (C::Check, "check_restart") => ("CheckRestart", Block(C::CheckRestart)),
        (C::CheckRestart, "limit") => ("Limit", Int),
        (C::CheckRestart, "grace") => ("Grace", Dur),
        (C::Update | C::Migrate, "max_parallel") => ("MaxParallel", Int),
        (C::Update, "canary") => ("Canary", Int),
        (C::Update, "auto_revert") => ("AutoRevert", Bool),
        (C::Update, "auto_promote") => ("AutoPromote", Bool),
        (C::Update | C::Migrate, "health_check") => ("HealthCheck", Str),
        (C::Update, "min_healthy_time") => ("MinHealthyTime", Dur),
        (C::Update, "healthy_deadline") => ("HealthyDeadline", Dur),
        (C::Update, "progress_deadline") => ("ProgressDeadline", Dur),
        (C::Restart | C::Reschedule, "attempts") => ("Attempts", Int),
        (C::Restart | C::Reschedule, "delay") => ("Delay", Dur),
        (C::Restart | C::Reschedule, "interval") => ("Interval", Dur),
        (C::Restart, "mode") => ("Mode", Str),
        (C::Reschedule, "delay_function") => ("DelayFunction", Str),
        (C::Reschedule, "max_delay") => ("MaxDelay", Dur),
        (C::Reschedule, "unlimited") => ("Unlimited", Bool),
        (C::Disk, "size") => ("SizeMB", Int),
        (C::Volume, "type") => ("Type", Str),
        (C::Volume, "source") => ("Source", Str),
        (C::Volume, "read_only") => ("ReadOnly", Bool),
        (C::Volume, "per_alloc") => ("PerAlloc", Bool),
        (C::VolumeMount, "volume") => ("Volume", Str),
        (C::VolumeMount, "destination") => ("Destination", Str),
        (C::VolumeMount, "read_only") => ("ReadOnly", Bool),
        (C::Task, "driver") => ("Driver", Str),
        (C::Task, "user") => ("User", Str),
        (C::Task, "config") => ("Config", Block(C::Docker)),
        (C::Task, "env") => ("Env", Map),
        (C::Task, "template") => ("Templates", Blocks(C::Template)),
        (C::Task, "volume_mount") => ("VolumeMounts", Blocks(C::VolumeMount)),
        (C::Task, "resources") => ("Resources", Block(C::Resources)),
        (C::Task, "kill_timeout") => ("KillTimeout", Dur),
        (C::Task, "lifecycle") => ("Lifecycle", Block(C::Lifecycle)),
        (C::Lifecycle, "hook") => ("Hook", Str),
        (C::Lifecycle, "sidecar") => ("Sidecar", Bool),
        (C::Resources, "cpu") => ("CPU", Int),
        (C::Resources, "memory") => ("MemoryMB", Int),
        (C::Resources, "memory_max") => ("MemoryMaxMB", Int),
        (C::Template, "data") => ("EmbeddedTmpl", Tmpl),
        (C::Template, "destination") => ("DestPath", Str),
        (C::Template, "change_mode") => ("ChangeMode", Str),
        (C::Template, "env") => ("Envvars", Bool),
        (C::Template, "perms") => ("Perms", Str),
        (C::Template, "left_delimiter") => ("LeftDelim", Str),
        (C::Template, "right_delimiter") => ("RightDelim", Str),
        (C::Template, "uid") => ("Uid", Int),
        (C::Constraint, "attribute") => ("LTarget", Tmpl),
        (C::Constraint, "value") => ("RTarget", Tmpl),
        (C::Constraint, "operator") => ("Operand", Str),
        (C::Periodic, "cron") => ("Spec", Str),
        (C::Periodic, "prohibit_overlap") => ("ProhibitOverlap", Bool),
        (C::Periodic, "time_zone") => ("TimeZone", Str),
        (C::Periodic, "enabled") => ("Enabled", Bool),
        (C::Scaling, "min") => ("Min", Int),
        (C::Scaling, "max") => ("Max", Int),
        (C::Scaling, "enabled") => ("Enabled", Bool),
        (C::Scaling, "policy") => ("Policy", Policy),
        (C::Docker, "image") => ("image", Str),
        (C::Docker, "entrypoint") => ("entrypoint", List),
        (C::Docker, "args") => ("args", List),
        (C::Docker, "readonly_rootfs") => ("readonly_rootfs", Bool),
        (C::Docker, "cpu_hard_limit") => ("cpu_hard_limit", Bool),
        (C::Docker, "volumes") => ("volumes", List),
        (C::Docker, "mount") => ("mount", Blocks(C::Mount)),
        (C::Mount, "type") => ("type", Str),
        (C::Mount, "source") => ("source", Str),
        (C::Mount, "target") => ("target", Str),
        (C::Mount, "readonly") => ("readonly", Bool),
        (C::Mount, "tmpfs_options") => ("tmpfs_options", Block(C::Tmpfs)),
        (C::Tmpfs, "size") => ("size", Int),
        _ => panic!("unexpected HCL field `{name}`"),
    }
}

fn go_duration_ns(s: &str) -> i64 {
    let mut total = 0i64;
    let mut rest = s;
    while !rest.is_empty() {
        let n = rest.bytes().take_while(u8::is_ascii_digit).count();
        let value: i64 = rest[..n].parse().expect("number");
        rest = &rest[n..];
        let (unit, len) = [
            ("ms", 1_000_000),
            ("us", 1_000),
            ("ns", 1),
            ("h", 3_600_000_000_000),
            ("m", 60_000_000_000),
            ("s", 1_000_000_000),
        ]
        .into_iter()
        .find(|(u, _)| rest.starts_with(u))
        .map(|(u, f)| (f, u.len()))
        .expect("unit");
        total += value * unit;
        rest = &rest[len..];
    }
    total
}

/// The string HCL yields for `e`: a template must be literal text only (escaped `$${` and
/// `%%{` read back as `${` and `%{`), so an interpolation Nomad should see as text cannot
/// pass as an HCL expression.
fn string(e: &Expression) -> String {
    match e {
        Expression::String(s) => s.clone(),
        Expression::TemplateExpr(t) => {
            let template = Template::from_expr(t).unwrap_or_else(|err| panic!("template {t:?}: {err}"));
            template
                .elements()
                .iter()
                .map(|el| match el {
                    Element::Literal(text) => text.as_str(),
                    other => panic!("HCL would evaluate {other:?} in {t:?}"),
                })
                .collect()
        }
        other => panic!("expected a string, got {other:?}"),
    }
}

fn json_of(e: &Expression) -> Value {
    match e {
        Expression::Bool(b) => json!(b),
        Expression::Number(n) => serde_json::to_value(n).expect("number"),
        Expression::Array(a) => Value::Array(a.iter().map(json_of).collect()),
        Expression::Object(o) => Value::Object(o.iter().map(|(k, v)| (key(k), json_of(v))).collect()),
        other => Value::String(string(other)),
    }
}

fn key(k: &hcl::ObjectKey) -> String {
    match k {
        hcl::ObjectKey::Identifier(i) => i.to_string(),
        hcl::ObjectKey::Expression(e) => string(e),
        other => panic!("unexpected key {other:?}"),
    }
}

fn push(obj: &mut Map<String, Value>, key: &str, v: Value) {
    obj.entry(key.to_string())
        .or_insert_with(|| json!([]))
        .as_array_mut()
        .expect("list")
        .push(v);
}

fn body_to_json(c: C, body: &Body) -> Map<String, Value> {
    let mut out = Map::new();
    for attr in body.attributes() {
        let (name, kind) = inverse(c, attr.key());
        let e = attr.expr();
        let v = match kind {
            K::Str | K::Tmpl => Value::String(string(e)),
            K::Int | K::Bool | K::List => json_of(e),
            K::Dur => json!(go_duration_ns(&string(e))),
            K::Map => json_of(e),
            _ => panic!("`{}` should be a block", attr.key()),
        };
        out.insert(name.to_string(), v);
    }
    for block in body.blocks() {
        if c == C::Network && block.identifier() == "port" {
            let mut p = body_to_json(C::Port, block.body());
            p.insert("Label".into(), json!(label(block)));
            let list = if p.contains_key("Value") {
                "ReservedPorts"
            } else {
                "DynamicPorts"
            };
            push(&mut out, list, Value::Object(p));
            continue;
        }
        let (name, kind) = inverse(c, block.identifier());
        match kind {
            K::Map => {
                let m: Map<String, Value> = block
                    .body()
                    .attributes()
                    .map(|a| (a.key().to_string(), Value::String(string(a.expr()))))
                    .collect();
                out.insert(name.into(), Value::Object(m));
            }
            K::Block(bc) => {
                out.insert(name.into(), Value::Object(body_to_json(bc, block.body())));
            }
            K::Blocks(bc) => push(&mut out, name, Value::Object(body_to_json(bc, block.body()))),
            K::Labeled(bc, field) => {
                let mut o = Map::new();
                o.insert(field.into(), json!(label(block)));
                o.extend(body_to_json(bc, block.body()));
                push(&mut out, name, Value::Object(o));
            }
            K::LabeledMap(bc, field) => {
                let mut o = Map::new();
                o.insert(field.into(), json!(label(block)));
                o.extend(body_to_json(bc, block.body()));
                out.entry(name.to_string()).or_insert_with(|| json!({}))[label(block)] = Value::Object(o);
            }
            K::Policy => {
                out.insert(name.into(), Value::Object(policy(block.body())));
            }
            _ => panic!("`{}` should be an attribute", block.identifier()),
        }
    }
    // Implied in HCL.
    match c {
        C::Periodic => {
            out.insert("SpecType".into(), json!("cron"));
        }
        C::Scaling => {
            out.insert("Type".into(), json!("horizontal"));
        }
        _ => {}
    }
    out
}

/// Nomad's JSON form of a free-form block body: labelled blocks as `[{label: [body]}]`.
fn policy(body: &Body) -> Map<String, Value> {
    let mut out = Map::new();
    for attr in body.attributes() {
        out.insert(attr.key().to_string(), json_of(attr.expr()));
    }
    for block in body.blocks() {
        let inner = Value::Object(policy(block.body()));
        let item = match block.labels().first() {
            Some(l) => json!({ l.as_str(): [inner] }),
            None => inner,
        };
        push(&mut out, block.identifier(), item);
    }
    out
}

fn label(b: &Block) -> String {
    b.labels().first().expect("label").as_str().to_string()
}

/// The JSON API form of an HCL jobspec.
fn hcl_to_json(text: &str) -> Value {
    let body: Body = hcl::from_str(text).unwrap_or_else(|e| panic!("HCL does not parse: {e}\n{text}"));
    let job = body.blocks().next().expect("job block");
    assert_eq!(job.identifier(), "job");
    let id = label(job);
    let mut j = Map::new();
    j.insert("ID".into(), json!(id));
    j.insert("Name".into(), json!(id));
    j.extend(body_to_json(C::Job, job.body()));
    json!({ "Job": j })
}

fn round_trip(job: &Value) {
    let text = ojek_nomad::to_hcl(job).unwrap_or_else(|e| panic!("to_hcl: {e}"));
    let back = hcl_to_json(&text);
    if &back != job {
        panic!(
            "round trip differs\n--- rendered\n{}\n--- from HCL\n{}\n--- HCL\n{text}",
            serde_json::to_string_pretty(job).unwrap_or_default(),
            serde_json::to_string_pretty(&back).unwrap_or_default()
        );
    }
}

#[test]
fn service_worker_cron_and_batch_jobs_round_trip() {
    let r = common::ok(common::FULL, "production");
    assert_eq!(r.objects.len(), 3);
    for d in &r.objects {
        round_trip(&d.value);
    }
    for d in &common::ok(common::SMALL, "staging").objects {
        round_trip(&d.value);
    }
}

/// Strings HCL treats specially: interpolation and directive markers, quotes, backslashes,
/// heredoc delimiters, text without a final newline, control characters, non-ASCII.
#[test]
fn awkward_strings_round_trip() {
    let r = common::ok(common::ODD, "production");
    let job = &r.objects[0].value;
    round_trip(job);
    let text = ojek_nomad::to_hcl(job).expect("hcl");
    assert!(
        text.contains("data = <<EOF1\n"),
        "another delimiter when a line is EOF:\n{text}"
    );
    assert!(
        text.contains("attribute = \"$${meta.node.example.com/pool}\""),
        "{text}"
    );
}

#[test]
fn hand_written_job_round_trips() {
    let job = json!({"Job": {
        "ID": "edge", "Name": "edge-proxy", "Type": "service", "Datacenters": ["a", "b"], "Priority": 80,
        "Constraints": [{"LTarget": "${attr.kernel.name}", "RTarget": "linux", "Operand": "="}],
        "TaskGroups": [{
            "Name": "lb", "Count": 2,
            "Networks": [{"Mode": "bridge", "DynamicPorts": [{"Label": "admin", "To": 9901}], "ReservedPorts": [{"Label": "https", "Value": 443, "To": 8443}]}],
            "Scaling": {"Min": 1, "Max": 4, "Enabled": true, "Type": "horizontal",
                "Policy": {"cooldown": "2m", "check": [{"m": [{"source": "prometheus", "query": "q", "strategy": [{"threshold": [{"upper_bound": 10.5, "delta": -1}]}]}]}]}},
            "Tasks": [{"Name": "envoy", "Driver": "docker", "Config": {"image": "envoy:1"}, "Resources": {"CPU": 500, "MemoryMB": 128}}]
        }]
    }});
    round_trip(&job);
}

#[test]
fn fields_without_a_mapping_are_errors() {
    let mut r = common::ok(common::SMALL, "staging");
    let job = &mut r.objects[0].value;
    job["Job"]["TaskGroups"][0]["Tasks"][0]["Config"]["labels"] = json!([{"a": "b"}]);
    let err = ojek_nomad::to_hcl(job).expect_err("unknown docker option");
    assert!(
        err.starts_with("Job.TaskGroups[0].Tasks[0].Config.labels:"),
        "{err}"
    );
    assert!(err.contains("--nomad-format json"), "{err}");
    job["Job"]["TaskGroups"][0]["Tasks"][0]["Config"]
        .as_object_mut()
        .expect("config")
        .remove("labels");
    job["Job"]["TaskGroups"][0]["Tasks"][0]["Driver"] = json!("exec");
    assert!(ojek_nomad::to_hcl(job).expect_err("driver").contains("Config"));
    assert!(ojek_nomad::to_hcl(&json!({"ID": "x"})).is_err());
}
