//! Checking a changed form before it is applied: names (present, unique, DNS labels), port
//! numbers, kinds, resource types, route hosts.
//!
//! Only what the form changed or added is checked; values kept as the YAML has them are the
//! YAML tab's business, and the manifest as a whole is `ojek_spec::load`'s.

use ojek_spec::validate::is_dns_label;

use super::model::{FormApp, FormError, FormProcess, match_entries, names};

const PROCESS_KINDS: &[&str] = &["service", "worker", "cron", "job"];
const RESOURCE_TYPES: &[&str] = &["postgres", "redis", "kafka-topic", "s3-bucket"];

fn invalid(field: impl Into<String>, message: impl Into<String>) -> FormError {
    FormError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// Names must be present and unique; `what` names the list in messages.
fn check_names(names: &[&str], list: &str, what: &str) -> Result<(), FormError> {
    for (i, name) in names.iter().enumerate() {
        if name.trim().is_empty() {
            return Err(invalid(
                format!("{list}[{i}]"),
                format!("the {what} needs a name"),
            ));
        }
        if names[..i].contains(name) {
            return Err(invalid(
                format!("{list}.{name}"),
                format!("the {what} name `{name}` is used twice"),
            ));
        }
    }
    Ok(())
}

fn check_label(name: &str, field: &str, what: &str, max: usize) -> Result<(), FormError> {
    if is_dns_label(name) && name.len() <= max {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!(
                "{what} `{name}` is not a DNS label: lowercase letters, digits and `-`, starting with a letter, at most {max} characters"
            ),
        ))
    }
}

/// Checks what the form changed or added; what it keeps as the YAML has it is the YAML tab's
/// business (the user may be mid-edit there).
pub(super) fn validate_form(old: &FormApp, new: &FormApp) -> Result<(), FormError> {
    if new.name != old.name {
        check_label(&new.name, "metadata.name", "the app name", 63)?;
    }
    if new.team != old.team {
        check_label(&new.team, "metadata.team", "the team", 63)?;
    }
    let (old_names, new_names) = (names(&old.resources), names(&new.resources));
    check_names(&new_names, "resources", "resource")?;
    for (r, m) in new.resources.iter().zip(match_entries(&old_names, &new_names)) {
        let before = m.map(|j| &old.resources[j]);
        let field = format!("resources.{}", r.name);
        if before.is_none_or(|b| b.name != r.name) {
            check_label(&r.name, &field, "the resource name", 63)?;
        }
        if before.is_none_or(|b| b.r#type != r.r#type) && !RESOURCE_TYPES.contains(&r.r#type.as_str()) {
            return Err(invalid(
                format!("{field}.type"),
                format!(
                    "`{}` is not a resource type; use one of {}",
                    r.r#type,
                    RESOURCE_TYPES.join(", ")
                ),
            ));
        }
    }
    let (old_names, new_names) = (names(&old.processes), names(&new.processes));
    check_names(&new_names, "processes", "process")?;
    for (p, m) in new.processes.iter().zip(match_entries(&old_names, &new_names)) {
        let before = m.map(|j| &old.processes[j]);
        validate_process(before, p)?;
    }
    Ok(())
}

fn validate_process(before: Option<&FormProcess>, p: &FormProcess) -> Result<(), FormError> {
    let field = format!("processes.{}", p.name);
    if before.is_none_or(|b| b.name != p.name) {
        check_label(&p.name, &field, "the process name", 63)?;
    }
    if before.is_none_or(|b| b.kind != p.kind) && !PROCESS_KINDS.contains(&p.kind.as_str()) {
        return Err(invalid(
            format!("{field}.kind"),
            format!(
                "`{}` is not a process kind; use one of {}",
                p.kind,
                PROCESS_KINDS.join(", ")
            ),
        ));
    }
    let empty = FormProcess::default();
    let b = before.unwrap_or(&empty);
    let (old_ports, new_ports) = (names(&b.ports), names(&p.ports));
    check_names(&new_ports, &format!("{field}.ports"), "port")?;
    for (port, m) in p.ports.iter().zip(match_entries(&old_ports, &new_ports)) {
        let was = m.map(|j| &b.ports[j]);
        let pf = format!("{field}.ports.{}", port.name);
        if was.is_none_or(|w| w.name != port.name) {
            check_label(&port.name, &pf, "the port name", 15)?;
        }
        if was.is_none_or(|w| w.port != port.port) && port.port == 0 {
            return Err(invalid(format!("{pf}.port"), "a port number is 1 to 65535"));
        }
    }
    check_names(&names(&p.env), &format!("{field}.env"), "variable")?;
    for (i, r) in p.routes.iter().enumerate() {
        if b.routes.get(i).is_none_or(|w| w.host != r.host) && r.host.trim().is_empty() {
            return Err(invalid(
                format!("{field}.routes[{i}].host"),
                "a route needs a host",
            ));
        }
    }
    Ok(())
}
