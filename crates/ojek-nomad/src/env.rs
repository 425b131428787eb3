//! Environment variables of a task: literals go to the task's `Env`; a value with any secret
//! part becomes a template with `Envvars: true` that reads Nomad Variables at run time.
//!
//! One template per variable (`secrets/env/<NAME>.env`), so that `ojek explain` can point
//! each template at the manifest line of its variable. A template line uses the dotenv syntax
//! Nomad parses (hashicorp/go-envparse). Inside double quotes that parser accepts only the
//! escapes `\\`, `\"`, `\n` and `\t` (not JSON's `\u0026`, which Go's `toJSON` writes for
//! `&`, `<` and `>`), so every part of a value is written as a double-quoted string with just
//! those four escapes: the whole value is one double-quoted string, static text escaped by
//! the renderer (other control characters in it are an error at the variable) and each
//! secret by a `replaceAll` pipeline at run time. Quotes, `#` and newlines in values survive,
//! and a value mixing text and secrets is one line:
//!
//! ```text
//! DB_URL="postgres://app:{{ with nomadVar "nomad/jobs/payments/db" }}{{ .password | print | replaceAll "\\" "\\\\" | replaceAll "\"" "\\\"" | replaceAll "\n" "\\n" | replaceAll "\t" "\\t" }}{{ end }}@db:5432/app"
//! ```
//!
//! A filled Variable path (`<secretsPath>/<secret>`, or a binding's path) must match Nomad's
//! rule for Variable paths, `^[a-zA-Z0-9-_~/]{1,128}$`; anything else is an error at the
//! variable.
//!
//! Secret values never appear in the output: only Variable paths and keys do. A manifest
//! reference `{secret: db, key: password}` reads Variable `<secretsPath>/db`, where
//! `secretsPath` comes from the profile (`nomad/jobs/{app}` by default); a platform binding
//! names the full Variable path itself. Jobs read Variables through their workload identity:
//! paths outside `nomad/jobs/<job ID>` need an ACL policy the platform team attaches.
//! `ChangeMode` is `restart`: a rotated secret restarts the task, which is the only way a
//! running process sees a new environment.
//!
//! Nomad interpolates `${…}` in `Env` values at run time (node attributes, `NOMAD_*`
//! variables) and has no escape for it, so a manifest literal written `$${X}` reaches the
//! process as `${X}` unless `X` is one of Nomad's variables.

use ojek_output::Origin;
use ojek_output::bind::{self, Part};
use ojek_spec::manifest::EnvValue;
use ojek_spec::platform::TargetKind;
use serde_json::{Map, Value};

use crate::context::{Cx, Field, Traces, join, object, ptr};
use crate::template;

/// Default Variable path prefix of manifest secret references.
const DEFAULT_SECRETS_PATH: &str = "nomad/jobs/{app}";

/// A task's environment: the `Env` map and the env templates, with their origins.
#[derive(Default)]
pub(crate) struct TaskEnv {
    /// Literal variables.
    pub env: Map<String, Value>,
    env_origins: Vec<(String, Origin)>,
    /// Templates for variables with secret parts, each with its variable's origin.
    pub templates: Vec<(Value, Origin)>,
}

impl TaskEnv {
    /// Records the origins of the `Env` map below the task at `task_ptr`.
    pub fn trace_env(&mut self, t: &mut Traces, task_ptr: &str) {
        let env_ptr = join(task_ptr, "/Env");
        for (key, origin) in self.env_origins.drain(..) {
            t.add(ptr(&env_ptr, &key), origin);
        }
    }
}

/// Resolves the environment variables at manifest path `base` (`processes.web.env`).
pub(crate) fn task_env(cx: &mut Cx, base: &Field, vars: &indexmap::IndexMap<String, EnvValue>) -> TaskEnv {
    let mut out = TaskEnv {
        env: Map::with_capacity(vars.len()),
        ..TaskEnv::default()
    };
    // The Variable path prefix, worked out at the first secret.
    let mut prefix = None;
    for (name, value) in vars {
        let path = base.key(name);
        let resolved = match bind::resolve(cx.src, TargetKind::Nomad, value, &path.to_string()) {
            Ok(r) => r,
            Err(d) => {
                cx.diags.push(d);
                continue;
            }
        };
        if let Some(text) = resolved.literal() {
            out.env.insert(name.clone(), Value::String(text));
            out.env_origins.push((name.clone(), resolved.origin));
            continue;
        }
        let secrets_prefix: &(String, String) = prefix.get_or_insert_with(|| secrets_prefix(cx));
        let mut line = format!("{name}=\"");
        let mut reads = Vec::new();
        let mut bad = false;
        for part in &resolved.parts {
            match part {
                Part::Text(t) => match dotenv_escape(t) {
                    Ok(text) => line.push_str(&template::escape_braces(&text)),
                    Err(c) => {
                        cx.error(
                            &path,
                            format!(
                                "env var `{name}` has the control character {c:?}, which a Nomad env template cannot hold"
                            ),
                            "Nomad's env file parser reads only the escapes \\n and \\t in quoted values: use a newline or tab, or drop the character",
                        );
                        bad = true;
                    }
                },
                Part::Secret {
                    name: secret,
                    key,
                    from_manifest,
                } => {
                    let var_path = if *from_manifest {
                        format!("{}/{secret}", secrets_prefix.0)
                    } else {
                        secret.clone()
                    };
                    if !valid_variable_path(&var_path) {
                        let source = if *from_manifest {
                            format!("the secret `{secret}` under {}", secrets_prefix.1)
                        } else {
                            "the platform binding".to_string()
                        };
                        cx.error(
                            &path,
                            format!(
                                "env var `{name}` reads Nomad Variable `{var_path}` (from {source}), which is not a valid Variable path"
                            ),
                            "Nomad Variable paths are 1 to 128 characters of letters, digits, `-`, `_`, `~` and `/`: rename the secret or ask the platform team to fix the path",
                        );
                        bad = true;
                        continue;
                    }
                    line.push_str(&format!(
                        "{{{{ with nomadVar {} }}}}{{{{ {} | print{DOTENV_ESCAPE} }}}}{{{{ end }}}}",
                        json_string(&var_path),
                        item(key)
                    ));
                    reads.push(format!("key `{key}` of Nomad Variable `{var_path}`"));
                }
            }
        }
        if bad {
            continue;
        }
        line.push('"');
        line.push('\n');
        let mut origin = resolved.origin;
        let mut note = format!(
            "read at run time from {}; the value is never rendered",
            reads.join(" and ")
        );
        if resolved.parts.iter().any(|p| {
            matches!(
                p,
                Part::Secret {
                    from_manifest: true,
                    ..
                }
            )
        }) {
            note.push_str(&format!("; Variable paths start with {}", secrets_prefix.1));
        }
        // A manifest secret's own note says what `note` says; a binding's names the binding.
        if !origin.note.is_empty() && !matches!(value, EnvValue::Secret(_)) {
            note = format!("{}; {note}", origin.note);
        }
        origin.note = note.into();
        let tmpl = object([
            ("EmbeddedTmpl", line.into()),
            ("DestPath", format!("secrets/env/{name}.env").into()),
            ("ChangeMode", "restart".into()),
            ("Envvars", true.into()),
        ]);
        out.templates.push((tmpl, origin));
    }
    out
}

/// Records the origins of an env template at `tmpl_ptr` (the variable's origin for the
/// template, defaults with reasons for the fixed fields).
pub(crate) fn trace_env_template(t: &mut Traces, tmpl_ptr: &str, origin: Origin) {
    t.add(tmpl_ptr, origin);
    t.add(
        join(tmpl_ptr, "/DestPath"),
        Origin::default("one env file per variable under the task's secrets/ directory, which the alloc filesystem API does not expose"),
    );
    t.add(
        join(tmpl_ptr, "/ChangeMode"),
        Origin::default(
            "a running process cannot see a changed environment: restart the task when a secret changes",
        ),
    );
    t.add(
        join(tmpl_ptr, "/Envvars"),
        Origin::default("the template renders environment variables"),
    );
}

/// The Variable path prefix for manifest secret references, and a description of where it
/// came from for notes.
fn secrets_prefix(cx: &Cx) -> (String, String) {
    match &cx.profile.secrets_path {
        Some(p) => {
            let o = cx.profile_field("secretsPath", "");
            let filled = cx.fill(p);
            let at = o.location.map(|l| format!(" ({l})")).unwrap_or_default();
            (
                filled.clone(),
                format!("`{filled}/` from platform {}.secretsPath{at}", cx.profile_path),
            )
        }
        None => {
            let filled = cx.fill(DEFAULT_SECRETS_PATH);
            (
                filled.clone(),
                format!("`{filled}/` (default `{DEFAULT_SECRETS_PATH}`; the profile sets no secretsPath)"),
            )
        }
    }
}

/// The template pipeline that escapes a secret for a double-quoted dotenv value, after
/// `print`: `replaceAll` takes the old and new strings and the piped value last.
const DOTENV_ESCAPE: &str =
    r#" | replaceAll "\\" "\\\\" | replaceAll "\"" "\\\"" | replaceAll "\n" "\\n" | replaceAll "\t" "\\t""#;

/// Text for a double-quoted dotenv value, with only the escapes go-envparse reads (`\\`,
/// `\"`, `\n`, `\t`); another control character is returned as the error.
fn dotenv_escape(text: &str) -> Result<String, char> {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => return Err(c),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// True when `path` is a valid Nomad Variable path (`^[a-zA-Z0-9-_~/]{1,128}$`).
fn valid_variable_path(path: &str) -> bool {
    (1..=128).contains(&path.len())
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_~/".contains(&b))
}

/// `.key` when the key is a Go template field name, else `index . "key"`.
fn item(key: &str) -> String {
    let mut chars = key.chars();
    let ident = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ident {
        format!(".{key}")
    } else {
        format!("index . {}", json_string(key))
    }
}

/// A JSON string literal, valid as a Go template string literal.
fn json_string(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_items() {
        assert_eq!(item("password"), ".password");
        assert_eq!(item("api-key"), "index . \"api-key\"");
        assert_eq!(item("1x"), "index . \"1x\"");
        assert_eq!(json_string("a\"b\n"), "\"a\\\"b\\n\"");
    }

    #[test]
    fn dotenv_text_and_variable_paths() {
        assert_eq!(
            dotenv_escape("a&<>\"\\\n\t$#").as_deref(),
            Ok("a&<>\\\"\\\\\\n\\t$#")
        );
        assert_eq!(dotenv_escape("a\rb"), Err('\r'));
        assert!(valid_variable_path("nomad/jobs/a-b_c~d/E1"));
        assert!(!valid_variable_path(""));
        assert!(!valid_variable_path("a.b"));
        assert!(!valid_variable_path(&"a".repeat(129)));
        assert!(valid_variable_path(&"a".repeat(128)));
    }
}
