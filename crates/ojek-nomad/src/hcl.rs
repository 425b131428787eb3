//! The HCL2 jobspec of a job in the JSON API form: `job "id" { group "web" { … } }`, as a
//! person would write it. Durations become Go duration strings (`"10s"`), labelled things
//! become block labels (`group "web"`, `port "http"`, `volume "data"`), maps become blocks
//! when their keys are identifiers (`env { PORT = "8080" }`) and map attributes otherwise
//! (`meta = { "app.kubernetes.io/name" = "x" }`), template content becomes a heredoc.
//!
//! Strings are escaped so HCL yields exactly the JSON value (`${` → `$${`, `%{` → `%%{`):
//! Nomad runtime interpolations such as a constraint's `${meta.rack}` are written
//! `"$${meta.rack}"`, which HCL reads back as the literal `${meta.rack}` for Nomad to
//! interpolate at run time (unescaped, `${meta.node.example.io/pool}` would be an HCL
//! expression).
//!
//! The conversion is driven by a table of the fields ojek knows ([`rule`]); a field it does
//! not know (one a patch added, say) is an error naming it, because guessing its HCL form
//! could change the job: use the JSON form for such jobs.

use hcl::expr::{Heredoc, TemplateExpr};
use hcl::format::{Format, Formatter};
use std::fmt;

use hcl::{Attribute, Block, Body, Expression, Identifier, Number, ObjectKey, Structure};
use serde_json::{Map, Value};

use crate::units::go_duration;

/// The HCL2 jobspec of one job in the JSON API form (`{"Job": {...}}`).
///
/// # Errors
///
/// A message naming the first field that has no HCL mapping, or that has a value of the
/// wrong type.
pub fn to_hcl(job: &Value) -> Result<String, String> {
    let j = job
        .get("Job")
        .and_then(Value::as_object)
        .ok_or("expected a job in the JSON API form: {\"Job\": {…}}")?;
    let id = j
        .get("ID")
        .and_then(Value::as_str)
        .ok_or("Job.ID: missing or not a string")?;
    let body = convert(Ctx::Job, j, &Trail::Root("Job"))?;
    let block = Block::builder("job").add_label(id).add_structures(body).build();
    let body = Body::builder().add_block(block).build();
    let mut f = Formatter::builder()
        .compact_arrays(true)
        .prefer_ident_keys(true)
        .build_vec();
    let text = body
        .format_string(&mut f)
        .map_err(|e| format!("cannot format HCL: {e}"))?;
    Ok(close_empty_blocks(text))
}

/// Writes empty blocks as `name {}` (the formatter leaves spaces between the braces), outside
/// heredocs.
fn close_empty_blocks(text: String) -> String {
    let mut out = String::new();
    // `text[..copied]` is in `out` (with its empty blocks closed).
    let mut copied = 0;
    let mut start = 0;
    let mut heredoc: Option<&str> = None;
    for line in text.split_inclusive('\n') {
        let line_start = start;
        start += line.len();
        let bare = line.strip_suffix('\n').unwrap_or(line);
        if let Some(delim) = heredoc {
            if bare.trim() == delim {
                heredoc = None;
            }
            continue;
        }
        // A heredoc starts: the text after the last `<<` is a delimiter (the last `<` ends
        // that `<<`, or no delimiter follows it).
        if bare.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            && let Some(lt) = bare.rfind('<')
            && bare[..lt].ends_with('<')
        {
            let d = &bare[lt + 1..];
            if d.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                heredoc = Some(d);
            }
        }
        if bare.ends_with(" }")
            && let Some(head) = bare[..bare.len() - 1].trim_end().strip_suffix('{')
            && !head.trim().is_empty()
        {
            if out.is_empty() {
                out.reserve(text.len());
            }
            out.push_str(&text[copied..line_start]);
            out.push_str(head);
            out.push_str("{}");
            copied = line_start + bare.len();
        }
    }
    if copied == 0 {
        return text;
    }
    out.push_str(&text[copied..]);
    out
}

/// The JSON objects of a job, each with its own HCL field names.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Ctx {
    Job,
    Group,
    Task,
    Network,
    DynamicPort,
    ReservedPort,
    Service,
    Check,
    CheckRestart,
    Update,
    Migrate,
    Restart,
    Reschedule,
    EphemeralDisk,
    Volume,
    VolumeMount,
    Template,
    Resources,
    Lifecycle,
    Constraint,
    Periodic,
    Scaling,
    Docker,
    DockerMount,
    Tmpfs,
}

/// How a JSON field is written in HCL.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Str,
    Int,
    Bool,
    /// Integer nanoseconds → `"10s"`.
    Dur,
    StrList,
    /// Template content: a heredoc where possible.
    Tmpl,
    /// String map: a block, or a map attribute when a key is not an identifier.
    StrMap,
    /// An object → a block.
    Block(Ctx),
    /// A list of objects → repeated blocks.
    Blocks(Ctx),
    /// A list of objects → blocks labelled by a field of each.
    Labeled(Ctx, &'static str),
    /// An object of objects → blocks labelled by key (which a field of each repeats).
    LabeledMap(Ctx, &'static str),
    /// The autoscaler's free-form policy.
    Policy,
    /// Written as the block label by the parent.
    Label,
    /// Implied in HCL; must have this value.
    Fixed(&'static str),
}

/// The HCL name and kind of field `key` of a `ctx` object.
fn rule(ctx: Ctx, key: &str) -> Option<(&'static str, Kind)> {
    use Kind::*;
    let r = match (ctx, key) {
        (Ctx::Job, "ID") => ("", Label),
        (Ctx::Job, "Type") => ("type", Str),
        (Ctx::Job, "Region") => ("region", Str),
        (Ctx::Job, "Namespace") => ("namespace", Str),
        (Ctx::Job, "Datacenters") => ("datacenters", StrList),
        (Ctx::Job, "Priority") => ("priority", Int),
        (Ctx::Job, "AllAtOnce") => ("all_at_once", Bool),
        (Ctx::Job, "Meta") | (Ctx::Group, "Meta") | (Ctx::Task, "Meta") | (Ctx::Service, "Meta") => {
            ("meta", StrMap)
        }
        (Ctx::Job, "Constraints") | (Ctx::Group, "Constraints") | (Ctx::Task, "Constraints") => {
            ("constraint", Blocks(Ctx::Constraint))
        }
        (Ctx::Job, "Periodic") => ("periodic", Block(Ctx::Periodic)),
        (Ctx::Job, "Update") | (Ctx::Group, "Update") => ("update", Block(Ctx::Update)),
        (Ctx::Job, "Migrate") | (Ctx::Group, "Migrate") => ("migrate", Block(Ctx::Migrate)),
        (Ctx::Job, "Reschedule") | (Ctx::Group, "ReschedulePolicy") => ("reschedule", Block(Ctx::Reschedule)),
        (Ctx::Job, "TaskGroups") => ("group", Labeled(Ctx::Group, "Name")),

        (Ctx::Group, "Name") | (Ctx::Task, "Name") => ("", Label),
        (Ctx::Group, "Count") => ("count", Int),
        (Ctx::Group, "Networks") => ("network", Blocks(Ctx::Network)),
        (Ctx::Group, "Services") | (Ctx::Task, "Services") => ("service", Blocks(Ctx::Service)),
        (Ctx::Group, "Volumes") => ("volume", LabeledMap(Ctx::Volume, "Name")),
        (Ctx::Group, "EphemeralDisk") => ("ephemeral_disk", Block(Ctx::EphemeralDisk)),
        (Ctx::Group, "Scaling") => ("scaling", Block(Ctx::Scaling)),
        (Ctx::Group, "RestartPolicy") | (Ctx::Task, "RestartPolicy") => ("restart", Block(Ctx::Restart)),
        (Ctx::Group, "ShutdownDelay") | (Ctx::Task, "ShutdownDelay") => ("shutdown_delay", Dur),
        (Ctx::Group, "Tasks") => ("task", Labeled(Ctx::Task, "Name")),

        (Ctx::Network, "Mode") => ("mode", Str),
        (Ctx::Network, "Hostname") => ("hostname", Str),
        (Ctx::Network, "DynamicPorts") => ("port", Labeled(Ctx::DynamicPort, "Label")),
        (Ctx::Network, "ReservedPorts") => ("port", Labeled(Ctx::ReservedPort, "Label")),
        (Ctx::DynamicPort, "Label") | (Ctx::ReservedPort, "Label") => ("", Label),
        (Ctx::DynamicPort, "To") | (Ctx::ReservedPort, "To") => ("to", Int),
        (Ctx::DynamicPort, "HostNetwork") | (Ctx::ReservedPort, "HostNetwork") => ("host_network", Str),
        (Ctx::ReservedPort, "Value") => ("static", Int),

        (Ctx::Service, "Name") => ("name", Str),
        (Ctx::Service, "PortLabel") => ("port", Str),
        (Ctx::Service, "Provider") => ("provider", Str),
        (Ctx::Service, "Tags") => ("tags", StrList),
        (Ctx::Service, "CanaryTags") => ("canary_tags", StrList),
        (Ctx::Service, "TaskName") => ("task", Str),
        (Ctx::Service, "AddressMode") => ("address_mode", Str),
        (Ctx::Service, "OnUpdate") => ("on_update", Str),
        (Ctx::Service, "Checks") => ("check", Blocks(Ctx::Check)),
        (Ctx::Service, "CheckRestart") | (Ctx::Check, "CheckRestart") => {
            ("check_restart", Block(Ctx::CheckRestart))
        }

        (Ctx::Check, "Name") => ("name", Str),
        (Ctx::Check, "Type") => ("type", Str),
        (Ctx::Check, "Path") => ("path", Str),
        (Ctx::Check, "PortLabel") => ("port", Str),
        (Ctx::Check, "Protocol") => ("protocol", Str),
        (Ctx::Check, "Method") => ("method", Str),
        (Ctx::Check, "Interval") => ("interval", Dur),
        (Ctx::Check, "Timeout") => ("timeout", Dur),
        (Ctx::Check, "Command") => ("command", Str),
        (Ctx::Check, "Args") => ("args", StrList),
        (Ctx::Check, "TaskName") => ("task", Str),
        (Ctx::Check, "GRPCService") => ("grpc_service", Str),
        (Ctx::Check, "GRPCUseTLS") => ("grpc_use_tls", Bool),
        (Ctx::Check, "InitialStatus") => ("initial_status", Str),
        (Ctx::Check, "FailuresBeforeCritical") => ("failures_before_critical", Int),
        (Ctx::Check, "SuccessBeforePassing") => ("success_before_passing", Int),
        (Ctx::Check, "OnUpdate") => ("on_update", Str),
        (Ctx::Check, "AddressMode") => ("address_mode", Str),
        (Ctx::Check, "TLSSkipVerify") => ("tls_skip_verify", Bool),
        (Ctx::CheckRestart, "Limit") => ("limit", Int),
        (Ctx::CheckRestart, "Grace") => ("grace", Dur),
        (Ctx::CheckRestart, "IgnoreWarnings") => ("ignore_warnings", Bool),

        (Ctx::Update, "MaxParallel") => ("max_parallel", Int),
        (Ctx::Update, "Canary") => ("canary", Int),
        (Ctx::Update, "AutoRevert") => ("auto_revert", Bool),
        (Ctx::Update, "AutoPromote") => ("auto_promote", Bool),
        (Ctx::Update, "HealthCheck") | (Ctx::Migrate, "HealthCheck") => ("health_check", Str),
        (Ctx::Update, "MinHealthyTime") | (Ctx::Migrate, "MinHealthyTime") => ("min_healthy_time", Dur),
        (Ctx::Update, "HealthyDeadline") | (Ctx::Migrate, "HealthyDeadline") => ("healthy_deadline", Dur),
        (Ctx::Update, "ProgressDeadline") => ("progress_deadline", Dur),
        (Ctx::Update, "Stagger") => ("stagger", Dur),
        (Ctx::Migrate, "MaxParallel") => ("max_parallel", Int),

        (Ctx::Restart, "Attempts") | (Ctx::Reschedule, "Attempts") => ("attempts", Int),
        (Ctx::Restart, "Delay") | (Ctx::Reschedule, "Delay") => ("delay", Dur),
        (Ctx::Restart, "Interval") | (Ctx::Reschedule, "Interval") => ("interval", Dur),
        (Ctx::Restart, "Mode") => ("mode", Str),
        (Ctx::Reschedule, "DelayFunction") => ("delay_function", Str),
        (Ctx::Reschedule, "MaxDelay") => ("max_delay", Dur),
        (Ctx::Reschedule, "Unlimited") => ("unlimited", Bool),

        (Ctx::EphemeralDisk, "SizeMB") => ("size", Int),
        (Ctx::EphemeralDisk, "Sticky") => ("sticky", Bool),
        (Ctx::EphemeralDisk, "Migrate") => ("migrate", Bool),

        (Ctx::Volume, "Name") => ("", Label),
        (Ctx::Volume, "Type") => ("type", Str),
        (Ctx::Volume, "Source") => ("source", Str),
        (Ctx::Volume, "ReadOnly") => ("read_only", Bool),
        (Ctx::Volume, "PerAlloc") => ("per_alloc", Bool),
        (Ctx::Volume, "AccessMode") => ("access_mode", Str),
        (Ctx::Volume, "AttachmentMode") => ("attachment_mode", Str),
        (Ctx::VolumeMount, "Volume") => ("volume", Str),
        (Ctx::VolumeMount, "Destination") => ("destination", Str),
        (Ctx::VolumeMount, "ReadOnly") => ("read_only", Bool),
        (Ctx::VolumeMount, "PropagationMode") => ("propagation_mode", Str),

        (Ctx::Task, "Driver") => ("driver", Str),
        (Ctx::Task, "User") => ("user", Str),
        (Ctx::Task, "Config") => ("config", Block(Ctx::Docker)),
        (Ctx::Task, "Env") => ("env", StrMap),
        (Ctx::Task, "Templates") => ("template", Blocks(Ctx::Template)),
        (Ctx::Task, "VolumeMounts") => ("volume_mount", Blocks(Ctx::VolumeMount)),
        (Ctx::Task, "Resources") => ("resources", Block(Ctx::Resources)),
        (Ctx::Task, "KillTimeout") => ("kill_timeout", Dur),
        (Ctx::Task, "KillSignal") => ("kill_signal", Str),
        (Ctx::Task, "Leader") => ("leader", Bool),
        (Ctx::Task, "Lifecycle") => ("lifecycle", Block(Ctx::Lifecycle)),
        (Ctx::Lifecycle, "Hook") => ("hook", Str),
        (Ctx::Lifecycle, "Sidecar") => ("sidecar", Bool),
        (Ctx::Resources, "CPU") => ("cpu", Int),
        (Ctx::Resources, "Cores") => ("cores", Int),
        (Ctx::Resources, "MemoryMB") => ("memory", Int),
        (Ctx::Resources, "MemoryMaxMB") => ("memory_max", Int),

        (Ctx::Template, "EmbeddedTmpl") => ("data", Tmpl),
        (Ctx::Template, "SourcePath") => ("source", Str),
        (Ctx::Template, "DestPath") => ("destination", Str),
        (Ctx::Template, "ChangeMode") => ("change_mode", Str),
        (Ctx::Template, "ChangeSignal") => ("change_signal", Str),
        (Ctx::Template, "Envvars") => ("env", Bool),
        (Ctx::Template, "Perms") => ("perms", Str),
        (Ctx::Template, "LeftDelim") => ("left_delimiter", Str),
        (Ctx::Template, "RightDelim") => ("right_delimiter", Str),
        (Ctx::Template, "Splay") => ("splay", Dur),
        (Ctx::Template, "Uid") => ("uid", Int),
        (Ctx::Template, "Gid") => ("gid", Int),

        (Ctx::Constraint, "LTarget") => ("attribute", Str),
        (Ctx::Constraint, "RTarget") => ("value", Str),
        (Ctx::Constraint, "Operand") => ("operator", Str),

        (Ctx::Periodic, "Spec") => ("cron", Str),
        (Ctx::Periodic, "SpecType") => ("", Fixed("cron")),
        (Ctx::Periodic, "ProhibitOverlap") => ("prohibit_overlap", Bool),
        (Ctx::Periodic, "TimeZone") => ("time_zone", Str),
        (Ctx::Periodic, "Enabled") => ("enabled", Bool),

        (Ctx::Scaling, "Min") => ("min", Int),
        (Ctx::Scaling, "Max") => ("max", Int),
        (Ctx::Scaling, "Enabled") => ("enabled", Bool),
        (Ctx::Scaling, "Type") => ("", Fixed("horizontal")),
        (Ctx::Scaling, "Policy") => ("policy", Policy),

        (Ctx::Docker, "image") => ("image", Str),
        (Ctx::Docker, "entrypoint") => ("entrypoint", StrList),
        (Ctx::Docker, "command") => ("command", Str),
        (Ctx::Docker, "args") => ("args", StrList),
        (Ctx::Docker, "ports") => ("ports", StrList),
        (Ctx::Docker, "readonly_rootfs") => ("readonly_rootfs", Bool),
        (Ctx::Docker, "cpu_hard_limit") => ("cpu_hard_limit", Bool),
        (Ctx::Docker, "force_pull") => ("force_pull", Bool),
        (Ctx::Docker, "work_dir") => ("work_dir", Str),
        (Ctx::Docker, "hostname") => ("hostname", Str),
        (Ctx::Docker, "volumes") => ("volumes", StrList),
        (Ctx::Docker, "mount") => ("mount", Blocks(Ctx::DockerMount)),
        (Ctx::DockerMount, "type") => ("type", Str),
        (Ctx::DockerMount, "source") => ("source", Str),
        (Ctx::DockerMount, "target") => ("target", Str),
        (Ctx::DockerMount, "readonly") => ("readonly", Bool),
        (Ctx::DockerMount, "tmpfs_options") => ("tmpfs_options", Block(Ctx::Tmpfs)),
        (Ctx::Tmpfs, "size") => ("size", Int),
        (Ctx::Tmpfs, "mode") => ("mode", Int),
        _ => return None,
    };
    Some(r)
}

fn unknown(path: &Trail) -> String {
    format!("{path}: ojek has no HCL mapping for this field; use --nomad-format json for this job")
}

fn wrong(path: &Trail, want: &str) -> String {
    format!("{path}: expected {want}")
}

/// Where a value is in the job (`Job.TaskGroups[0].Count`), for error messages: written out
/// only when there is an error.
#[derive(Clone, Copy)]
enum Trail<'a> {
    Root(&'a str),
    Key(&'a Trail<'a>, &'a str),
    Index(&'a Trail<'a>, usize),
}

impl fmt::Display for Trail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trail::Root(name) => f.write_str(name),
            Trail::Key(parent, key) => write!(f, "{parent}.{key}"),
            Trail::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

/// An HCL name from the [`rule`] table, valid by construction (so not checked again).
fn name(name: &'static str) -> Identifier {
    Identifier::unchecked(name)
}

/// The attributes and blocks of a `ctx` object at `path` (`Job.TaskGroups[0]`), attributes
/// first, each in JSON order.
fn convert(ctx: Ctx, obj: &Map<String, Value>, path: &Trail) -> Result<Vec<Structure>, String> {
    let mut attrs: Vec<Structure> = Vec::with_capacity(obj.len());
    let mut blocks: Vec<Structure> = Vec::new();
    for (key, value) in obj {
        let fpath = Trail::Key(path, key);
        if ctx == Ctx::Job && key == "Name" {
            let job_name = value.as_str().ok_or_else(|| wrong(&fpath, "a string"))?;
            if Some(job_name) != obj.get("ID").and_then(Value::as_str) {
                attrs.push(Attribute::new(name("name"), job_name).into());
            }
            continue;
        }
        if ctx == Ctx::Task && key == "Config" && obj.get("Driver").and_then(Value::as_str) != Some("docker")
        {
            return Err(format!(
                "{fpath}: ojek writes HCL only for docker task config; use --nomad-format json for this job"
            ));
        }
        let (hcl_name, kind) = rule(ctx, key).ok_or_else(|| unknown(&fpath))?;
        if value.is_null() {
            return Err(wrong(&fpath, "a value (Nomad jobs have no nulls)"));
        }
        let attr = |expr: Expression| -> Structure { Attribute::new(name(hcl_name), expr).into() };
        match kind {
            Kind::Label => {}
            Kind::Fixed(v) => {
                if value.as_str() != Some(v) {
                    return Err(format!(
                        "{fpath}: only {v:?} has an HCL form here; use --nomad-format json for this job"
                    ));
                }
            }
            Kind::Str => attrs.push(attr(
                value.as_str().ok_or_else(|| wrong(&fpath, "a string"))?.into(),
            )),
            Kind::Int => attrs.push(attr(Expression::Number(
                number(value)
                    .filter(|_| value.is_i64() || value.is_u64())
                    .ok_or_else(|| wrong(&fpath, "an integer"))?,
            ))),
            Kind::Bool => attrs.push(attr(Expression::Bool(
                value.as_bool().ok_or_else(|| wrong(&fpath, "a boolean"))?,
            ))),
            Kind::Dur => {
                let ns = value
                    .as_i64()
                    .ok_or_else(|| wrong(&fpath, "integer nanoseconds"))?;
                attrs.push(attr(Expression::String(go_duration(ns))));
            }
            Kind::StrList => {
                let list = value
                    .as_array()
                    .ok_or_else(|| wrong(&fpath, "a list of strings"))?;
                let items = list
                    .iter()
                    .map(|v| v.as_str().map(|s| Expression::String(s.to_string())))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| wrong(&fpath, "a list of strings"))?;
                attrs.push(attr(Expression::Array(items)));
            }
            Kind::Tmpl => attrs.push(attr(template(
                value.as_str().ok_or_else(|| wrong(&fpath, "a string"))?,
            ))),
            Kind::StrMap => {
                let m = value
                    .as_object()
                    .ok_or_else(|| wrong(&fpath, "a map of strings"))?;
                let mut pairs = Vec::with_capacity(m.len());
                for (k, v) in m {
                    let v = v
                        .as_str()
                        .ok_or_else(|| wrong(&Trail::Key(&fpath, k), "a string"))?;
                    pairs.push((k.as_str(), v));
                }
                if pairs.iter().all(|(k, _)| is_ident(k)) {
                    let mut b = Block::builder(name(hcl_name));
                    for (k, v) in pairs {
                        b = b.add_attribute(Attribute::new(Identifier::unchecked(k), v));
                    }
                    blocks.push(b.build().into());
                } else {
                    let obj: hcl::Object<ObjectKey, Expression> = pairs
                        .into_iter()
                        .map(|(k, v)| {
                            (
                                ObjectKey::Expression(Expression::String(k.into())),
                                Expression::String(v.into()),
                            )
                        })
                        .collect();
                    attrs.push(attr(Expression::Object(obj)));
                }
            }
            Kind::Block(c) => {
                let m = value.as_object().ok_or_else(|| wrong(&fpath, "an object"))?;
                blocks.push(
                    Block::builder(name(hcl_name))
                        .add_structures(convert(c, m, &fpath)?)
                        .build()
                        .into(),
                );
            }
            Kind::Blocks(c) => {
                let list = value
                    .as_array()
                    .ok_or_else(|| wrong(&fpath, "a list of objects"))?;
                for (i, item) in list.iter().enumerate() {
                    let ipath = Trail::Index(&fpath, i);
                    let m = item.as_object().ok_or_else(|| wrong(&ipath, "an object"))?;
                    blocks.push(
                        Block::builder(name(hcl_name))
                            .add_structures(convert(c, m, &ipath)?)
                            .build()
                            .into(),
                    );
                }
            }
            Kind::Labeled(c, field) => {
                let list = value
                    .as_array()
                    .ok_or_else(|| wrong(&fpath, "a list of objects"))?;
                for (i, item) in list.iter().enumerate() {
                    let ipath = Trail::Index(&fpath, i);
                    let m = item.as_object().ok_or_else(|| wrong(&ipath, "an object"))?;
                    let label = m
                        .get(field)
                        .and_then(Value::as_str)
                        .ok_or_else(|| wrong(&Trail::Key(&ipath, field), "a string"))?;
                    blocks.push(
                        Block::builder(name(hcl_name))
                            .add_label(label)
                            .add_structures(convert(c, m, &ipath)?)
                            .build()
                            .into(),
                    );
                }
            }
            Kind::LabeledMap(c, field) => {
                let m = value
                    .as_object()
                    .ok_or_else(|| wrong(&fpath, "a map of objects"))?;
                for (label, item) in m {
                    let ipath = Trail::Key(&fpath, label);
                    let im = item.as_object().ok_or_else(|| wrong(&ipath, "an object"))?;
                    if let Some(own) = im.get(field)
                        && own.as_str() != Some(label)
                    {
                        return Err(format!(
                            "{ipath}.{field}: must equal the key `{label}` to have an HCL form"
                        ));
                    }
                    blocks.push(
                        Block::builder(name(hcl_name))
                            .add_label(label.as_str())
                            .add_structures(convert(c, im, &ipath)?)
                            .build()
                            .into(),
                    );
                }
            }
            Kind::Policy => {
                let m = value.as_object().ok_or_else(|| wrong(&fpath, "an object"))?;
                blocks.push(
                    Block::builder(name(hcl_name))
                        .add_structures(policy(m, &fpath)?)
                        .build()
                        .into(),
                );
            }
        }
    }
    attrs.extend(blocks);
    Ok(attrs)
}

/// The autoscaler policy: Nomad stores HCL blocks as lists (`"check": [{"cpu": [{…}]}]` for
/// `check "cpu" { … }`); everything else is an attribute.
fn policy(obj: &Map<String, Value>, path: &Trail) -> Result<Vec<Structure>, String> {
    let mut attrs: Vec<Structure> = Vec::new();
    let mut blocks: Vec<Structure> = Vec::new();
    for (key, value) in obj {
        let fpath = Trail::Key(path, key);
        let objects: Option<Vec<&Map<String, Value>>> = value
            .as_array()
            .filter(|a| !a.is_empty())
            .and_then(|a| a.iter().map(Value::as_object).collect());
        let Some(objects) = objects else {
            attrs.push(Attribute::new(ident(key, &fpath)?, any(value, &fpath)?).into());
            continue;
        };
        let labelled = objects.iter().all(|o| {
            o.len() == 1
                && o.values()
                    .all(|v| v.as_array().is_some_and(|a| a.iter().all(Value::is_object)))
        });
        for (i, o) in objects.into_iter().enumerate() {
            let ipath = Trail::Index(&fpath, i);
            if labelled {
                for (label, bodies) in o {
                    for body in bodies
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_object)
                    {
                        blocks.push(
                            Block::builder(ident(key, &fpath)?)
                                .add_label(label.as_str())
                                .add_structures(policy(body, &ipath)?)
                                .build()
                                .into(),
                        );
                    }
                }
            } else {
                blocks.push(
                    Block::builder(ident(key, &fpath)?)
                        .add_structures(policy(o, &ipath)?)
                        .build()
                        .into(),
                );
            }
        }
    }
    attrs.extend(blocks);
    Ok(attrs)
}

fn number(v: &Value) -> Option<Number> {
    if let Some(u) = v.as_u64() {
        Some(Number::from(u))
    } else if let Some(i) = v.as_i64() {
        Some(Number::from(i))
    } else {
        v.as_f64().and_then(Number::from_f64)
    }
}

/// Any JSON value as an HCL expression.
fn any(v: &Value, path: &Trail) -> Result<Expression, String> {
    Ok(match v {
        Value::Null => return Err(wrong(path, "a value (Nomad jobs have no nulls)")),
        Value::Bool(b) => Expression::Bool(*b),
        Value::Number(_) => Expression::Number(number(v).ok_or_else(|| wrong(path, "a finite number"))?),
        Value::String(s) => Expression::String(s.clone()),
        Value::Array(a) => Expression::Array(
            a.iter()
                .enumerate()
                .map(|(i, x)| any(x, &Trail::Index(path, i)))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => Expression::Object(
            m.iter()
                .map(|(k, x)| {
                    Ok((
                        ObjectKey::Expression(Expression::String(k.clone())),
                        any(x, &Trail::Key(path, k))?,
                    ))
                })
                .collect::<Result<_, String>>()?,
        ),
    })
}

/// `key` as an HCL identifier; an error naming the field at `path` when it is not one.
fn ident(key: &str, path: &Trail) -> Result<Identifier, String> {
    Identifier::new(key).map_err(|_| {
        format!("{path}: `{key}` is not an HCL identifier (letters, digits, `_` and `-`, not starting with a digit or `-`)")
    })
}

/// True for an HCL identifier (letters, digits, `_`, `-`; not starting with a digit or `-`).
fn is_ident(s: &str) -> bool {
    Identifier::new(s).is_ok()
}

/// Template content: a heredoc (`<<EOF`) when the text ends with a newline and has no
/// control characters but tabs, else an escaped string. Heredocs are templates too, so
/// `${` and `%{` are escaped.
fn template(s: &str) -> Expression {
    let heredoc_ok = s.ends_with('\n') && s.chars().all(|c| c == '\n' || c == '\t' || !c.is_control());
    if !heredoc_ok {
        return Expression::String(s.to_string());
    }
    let mut delim = "EOF".to_string();
    let mut n = 0;
    while s.lines().any(|l| l.trim() == delim) {
        n += 1;
        delim = format!("EOF{n}");
    }
    let escaped = s.replace("${", "$${").replace("%{", "%%{");
    match Identifier::new(delim) {
        Ok(id) => Expression::TemplateExpr(Box::new(TemplateExpr::Heredoc(Heredoc::new(id, escaped)))),
        Err(_) => Expression::String(s.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_fields_are_named() {
        let job = json!({"Job": {"ID": "x", "TaskGroups": [{"Name": "web", "Tasks": [{"Name": "web", "Driver": "docker", "Frobnicate": 1}]}]}});
        let err = to_hcl(&job).expect_err("unknown field");
        assert!(err.contains("Job.TaskGroups[0].Tasks[0].Frobnicate"), "{err}");
        assert!(err.contains("--nomad-format json"), "{err}");
    }

    #[test]
    fn idiomatic_shapes() {
        let job = json!({"Job": {
            "ID": "a-prod", "Name": "a-prod", "Type": "service", "Datacenters": ["dc1"],
            "Meta": {"app": "a", "app.kubernetes.io/name": "a"},
            "Constraints": [{"LTarget": "${meta.rack}", "RTarget": "r1", "Operand": "="}],
            "TaskGroups": [{"Name": "web", "Count": 2,
                "Networks": [{"Mode": "bridge", "DynamicPorts": [{"Label": "http", "To": 8080}]}],
                "Tasks": [{"Name": "web", "Driver": "docker", "Config": {"image": "x:1"}, "Env": {"A": "${x}"},
                    "Templates": [{"EmbeddedTmpl": "a ${b} %{c}\n", "DestPath": "local/x"}],
                    "KillTimeout": 30_000_000_000_i64}]}]}});
        let hcl = to_hcl(&job).expect("hcl");
        for want in [
            "job \"a-prod\" {",
            "datacenters = [\"dc1\"]",
            "meta = {\n    app = \"a\"\n    \"app.kubernetes.io/name\" = \"a\"\n  }",
            "attribute = \"$${meta.rack}\"",
            "port \"http\" {\n        to = 8080",
            "env {\n        A = \"$${x}\"",
            "data = <<EOF\na $${b} %%{c}\nEOF",
            "kill_timeout = \"30s\"",
        ] {
            assert!(hcl.contains(want), "missing {want:?} in\n{hcl}");
        }
        assert!(!hcl.contains("name ="), "{hcl}");
    }

    #[test]
    fn policy_keys_must_be_identifiers() {
        let job = json!({"Job": {"ID": "x", "TaskGroups": [{"Name": "web",
            "Scaling": {"Min": 1, "Max": 2, "Policy": {"bad key": 1}}}]}});
        let err = to_hcl(&job).expect_err("not an identifier");
        assert!(err.contains("Policy.bad key"), "{err}");
        assert!(err.contains("not an HCL identifier"), "{err}");
    }
}
