//! Config files as Nomad templates. Nomad renders a template only inside the task directory,
//! so a file for `/etc/app/config.yaml` is rendered to `local/files/etc/app/config.yaml` and
//! bind-mounted read-only at its path by the docker driver (relative bind sources resolve
//! inside the task directory, so this works with the driver's host volumes disabled).
//!
//! File content is data, not a consul-template program. Content without `{{` is embedded as
//! it is. Content with `{{` (Helm charts, Go templates, Jinja) gets template delimiters it
//! does not contain ([`FILE_DELIMS`]), so it still reads as written in the jobspec; in the
//! unlikely case it contains those too, every `{{` is escaped as `{{ "{{" }}` instead.
//! `ChangeMode` is `noop`: the content only changes with a new job version, which replaces
//! the allocation anyway.

use serde_json::{Value, json};

/// Delimiters for file content that contains `{{`.
pub(crate) const FILE_DELIMS: (&str, &str) = ("[[ojek-no-template[[", "]]ojek-no-template]]");

/// Escapes `{{` so that consul-template prints it literally.
pub(crate) fn escape_braces(text: &str) -> String {
    text.replace("{{", "{{ \"{{\" }}")
}

/// Where a config file is rendered inside the task directory.
pub(crate) fn dest_path(file: &str) -> String {
    format!("local/files/{}", file.trim_start_matches('/'))
}

/// The template of a config file at `file` with `content` and optional octal `mode`.
pub(crate) fn file_template(file: &str, content: &str, perms: &str) -> Value {
    let mut t = json!({
        "EmbeddedTmpl": content,
        "DestPath": dest_path(file),
        "ChangeMode": "noop",
        "Perms": perms,
    });
    if content.contains("{{") {
        if content.contains(FILE_DELIMS.0) {
            t["EmbeddedTmpl"] = Value::String(escape_braces(content));
        } else {
            t["LeftDelim"] = Value::from(FILE_DELIMS.0);
            t["RightDelim"] = Value::from(FILE_DELIMS.1);
        }
    }
    t
}

/// Nomad's `Perms` for a manifest mode (`"0600"` → `"600"`); `644` when unset.
pub(crate) fn perms(mode: Option<&str>) -> String {
    match mode {
        Some(m) if m.len() == 4 && m.starts_with('0') => m[1..].to_string(),
        Some(m) => m.to_string(),
        None => "644".into(),
    }
}

/// The docker `mount` entry that puts the rendered file at its path.
pub(crate) fn file_mount(file: &str) -> Value {
    json!({
        "type": "bind",
        "source": dest_path(file),
        "target": file,
        "readonly": true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_content_is_embedded_as_is() {
        let t = file_template("/etc/app/config.yaml", "a: 1\n", "644");
        assert_eq!(t["EmbeddedTmpl"], "a: 1\n");
        assert_eq!(t["DestPath"], "local/files/etc/app/config.yaml");
        assert!(t.get("LeftDelim").is_none());
    }

    #[test]
    fn braces_get_other_delimiters_or_escapes() {
        let t = file_template("/x", "name: {{ .Values.name }}\n", "600");
        assert_eq!(t["EmbeddedTmpl"], "name: {{ .Values.name }}\n");
        assert_eq!(t["LeftDelim"], FILE_DELIMS.0);
        let tricky = format!("{} {{{{ x }}}}", FILE_DELIMS.0);
        let t = file_template("/x", &tricky, "600");
        assert!(t.get("LeftDelim").is_none());
        assert_eq!(
            t["EmbeddedTmpl"],
            format!("{} {{{{ \"{{{{\" }}}} x }}}}", FILE_DELIMS.0)
        );
        assert_eq!(perms(Some("0600")), "600");
        assert_eq!(perms(None), "644");
    }
}
