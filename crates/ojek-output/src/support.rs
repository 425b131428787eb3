//! Fields a target cannot express: an error naming the field and the target, or a warning
//! when the manifest lists the field under `bestEffort`. Nothing is dropped silently.

use ojek_spec::diagnostic::{Diagnostic, Diagnostics};
use ojek_spec::platform::TargetKind;
use ojek_spec::source::Path;

use crate::origin::Sources;

/// Collects what a renderer could not express.
#[derive(Debug, Default)]
pub struct Support {
    /// Errors (unsupported and not best-effort) and warnings (best-effort, dropped).
    pub diagnostics: Diagnostics,
}

impl Support {
    /// Reports that `target` cannot express the manifest field at `path`, and why.
    /// `alternative` tells the user what to do instead.
    pub fn unsupported(
        &mut self,
        src: &Sources,
        target: TargetKind,
        path: &str,
        why: &str,
        alternative: &str,
    ) {
        let loc = src.manifest(path).location;
        let best_effort = Path::parse(path).is_some_and(|p| {
            src.app
                .app
                .best_effort
                .iter()
                .any(|b| Path::parse(b).is_some_and(|b| p.starts_with(&b)))
        });
        let target_name = target.as_str();
        let d = if best_effort {
            Diagnostic::warning(
                loc,
                format!("{target_name} cannot express this; dropped (listed in bestEffort): {why}"),
            )
        } else {
            Diagnostic::error(loc, format!("{target_name} cannot express this: {why}")).with_hint(format!(
                "{alternative}; or list `{path}` under bestEffort to drop it for {target_name} with a warning"
            ))
        };
        self.diagnostics.push(d.with_path(path));
    }

    /// True when any unsupported field was not best-effort.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.has_errors()
    }
}
