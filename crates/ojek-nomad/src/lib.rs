//! Renders an ojek app for HashiCorp Nomad: jobs in the JSON API form (`{"Job": {…}}`, as
//! `POST /v1/jobs` takes them), and HCL2 jobspecs from them.
//!
//! Pure and deterministic: the same manifest and platform file give byte-identical output.
//! Every generated field records where it came from (manifest line, environment override,
//! platform field, or a default with its reason) for `ojek explain`; a manifest field Nomad
//! cannot express is an error naming the field, or a warning when the manifest lists it under
//! `bestEffort`. Secret values never appear: jobs read Nomad Variables at run time.
//!
//! The file tree is the mapping, one module per part of a job, each documenting its choices
//! and what it reports as unsupported:
//!
//! | module | renders |
//! |---|---|
//! | `job` | jobs (one service job per app and environment; a batch job per cron and job process), meta, periodic |
//! | `group` | count, network, placement, volumes, update, migrate, restart and reschedule |
//! | `services` | services per port, health checks, route tags (Traefik, Fabio) |
//! | `scaling` | the Nomad Autoscaler policy (CPU, memory, Kafka lag) |
//! | `task` | docker tasks, sidecars and init containers, resources, security, files and volumes |
//! | `env` | environment variables; secrets as templates reading Nomad Variables |
//! | `template` | config files as templates |
//! | `hcl` | the HCL2 writer |
//! | `context`, `units` | shared state and unit conversions |
//!
//! This crate knows nothing about Kubernetes, files or clusters.

mod context;
mod env;
mod group;
mod hcl;
mod job;
mod scaling;
mod services;
mod task;
mod template;
mod units;

use ojek_output::{Rendered, Sources, patch};
use ojek_spec::Diagnostics;
use ojek_spec::platform::TargetKind;

pub use hcl::to_hcl;

/// Renders the resolved app for Nomad in its environment (`src.app.env`), using the
/// environment's `nomad` section of the platform file and its profile.
///
/// Objects: the service job (if the app has service or worker processes), then one job per
/// cron and job process, in manifest order; then the manifest's `targets.nomad` patches are
/// applied (select kind `Job`, name = the job ID) and its raw jobs appended.
///
/// # Errors
///
/// All diagnostics (errors and warnings) when anything cannot be rendered.
pub fn render(src: &Sources) -> Result<Rendered, Diagnostics> {
    let mut cx = context::Cx::new(src)?;
    let app = &src.app.app;
    let long: Vec<_> = app
        .processes
        .iter()
        .filter(|(_, p)| p.kind.is_long_running())
        .collect();
    let mut objects = Vec::new();
    if !long.is_empty() {
        objects.push(job::service_job(&mut cx, &long));
    }
    for (name, p) in app.processes.iter().filter(|(_, p)| !p.kind.is_long_running()) {
        objects.push(job::batch_job(&mut cx, name, p));
    }
    let mut diags = cx.finish();
    if diags.has_errors() {
        return Err(diags);
    }
    if let Some(hatch) = &app.targets.nomad
        && let Err(e) = patch::apply(&mut objects, hatch, src, "targets.nomad")
    {
        diags.0.extend(e.0);
        diags.sort();
        return Err(diags);
    }
    Ok(Rendered {
        target: TargetKind::Nomad,
        objects,
        warnings: diags,
    })
}
