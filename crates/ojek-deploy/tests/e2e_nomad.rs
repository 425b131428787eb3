//! The Nomad scenarios of `nomad_deploy.rs` against a real agent: first deploy, no-op
//! redeploy, a changed job, an `EnforceIndex` conflict, a failed deployment, a timeout,
//! rollback by revert, and rollback by revision of a job that did not change in that revision.
//!
//! Ignored: they need a Nomad agent with the `raw_exec` driver (`nomad agent -dev` has it).
//! Run them as `docs/deploy-e2e.md` says, with the variables the `nomad` CLI reads
//! ([`NomadCluster::from_env`]):
//!
//! ```text
//! NOMAD_ADDR=http://127.0.0.1:4646 cargo test -p ojek-deploy --test e2e_nomad -- --ignored
//! ```
//!
//! The jobs run `/bin/sleep`, `/bin/sh` and `/bin/true` on the agent's host (no image is
//! pulled). Each test registers jobs named `ojek-e2e-<scenario>-<random>` and purges them at
//! the end, whether it passed or failed.

mod common;

use std::future::Future;
use std::time::Duration;

use ojek_core::spec::platform::TargetKind;
use ojek_core::{Doc, Origin, Rendered};
use ojek_deploy::nomad::{
    Deployment, NomadApplyOptions, NomadCluster, NomadDeployError, RollbackTarget, RolloutStatus, apply,
    apply_plan, plan, rollback,
};
use ojek_nomad_api::NomadError;
use serde_json::{Value, json};

/// Nanoseconds, as Nomad's JSON durations are.
const SECOND: u64 = 1_000_000_000;

/// One scenario's cluster and the IDs of the jobs it may register.
struct E2e {
    cluster: NomadCluster,
    /// The service job.
    job_id: String,
    /// The periodic job, for the scenarios with two jobs.
    periodic_id: String,
}

/// Reads the cluster from the `NOMAD_*` variables and runs `scenario`, then purges its jobs
/// whatever happened.
async fn e2e<F, Fut>(scenario: &str, body: F)
where
    F: FnOnce(E2e) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(mut cluster) = NomadCluster::from_env() else {
        panic!(
            "set NOMAD_ADDR to the address of a Nomad agent with the raw_exec driver, e.g. \
             http://127.0.0.1:4646 for `nomad agent -dev` (and NOMAD_TOKEN, NOMAD_NAMESPACE, NOMAD_REGION, \
             NOMAD_CACERT… as the nomad CLI reads them); see docs/deploy-e2e.md"
        );
    };
    cluster.request_timeout = Duration::from_secs(10);
    let job_id = format!("ojek-e2e-{scenario}-{}", common::unique_suffix());
    let e2e = E2e {
        cluster: cluster.clone(),
        periodic_id: format!("{job_id}-report"),
        job_id,
    };
    let jobs = [e2e.job_id.clone(), e2e.periodic_id.clone()];
    common::run_then_clean_up(body(e2e), purge(cluster, jobs)).await;
}

async fn purge(cluster: NomadCluster, jobs: [String; 2]) {
    let client = match cluster.client() {
        Ok(c) => c,
        Err(e) => return eprintln!("cannot purge {jobs:?}: {e}"),
    };
    for job in jobs {
        match client.deregister(&job, true).await {
            Ok(_) | Err(NomadError::NotFound { .. }) => {}
            Err(e) => eprintln!("could not purge job {job:?}: {e}; purge it by hand"),
        }
    }
}

fn revision(n: u64) -> Deployment {
    Deployment {
        app: "ojek-e2e".into(),
        env: "e2e".into(),
        revision: n,
    }
}

fn waiting() -> NomadApplyOptions {
    NomadApplyOptions {
        wait: Some(Duration::from_secs(120)),
        poll_interval: Duration::from_millis(500),
    }
}

fn rendered(jobs: Vec<Value>) -> Rendered {
    Rendered {
        target: TargetKind::Nomad,
        objects: jobs
            .into_iter()
            .map(|job| Doc::new(json!({ "Job": job }), Origin::default("e2e")))
            .collect(),
        warnings: Default::default(),
    }
}

/// A one-allocation service job whose task runs `command args…` with `raw_exec`, healthy after
/// `min_healthy` seconds of running; no restarts or rescheduling, and (with a progress
/// deadline of 0) the first unhealthy allocation fails the deployment.
fn service(id: &str, command: &str, args: &[&str], min_healthy: u64) -> Value {
    json!({
        "ID": id, "Name": id, "Type": "service", "Datacenters": ["*"],
        "Meta": {"app": "ojek-e2e"},
        "TaskGroups": [{
            "Name": "main", "Count": 1,
            "RestartPolicy": {"Attempts": 0, "Mode": "fail", "Interval": 600 * SECOND, "Delay": SECOND},
            "ReschedulePolicy": {"Attempts": 0, "Unlimited": false},
            "Update": {"MaxParallel": 1, "HealthCheck": "task_states", "MinHealthyTime": min_healthy * SECOND,
                "HealthyDeadline": 300 * SECOND, "ProgressDeadline": 0},
            "Tasks": [{
                "Name": "main", "Driver": "raw_exec",
                "Config": {"command": command, "args": args},
                "Resources": {"CPU": 50, "MemoryMB": 32}
            }]
        }]
    })
}

fn sleeper(id: &str, seconds: &str) -> Value {
    service(id, "/bin/sleep", &[seconds], 1)
}

/// A periodic batch job that would run `/bin/true` on `cron`.
fn periodic(id: &str, cron: &str) -> Value {
    json!({
        "ID": id, "Name": id, "Type": "batch", "Datacenters": ["*"],
        "Periodic": {"Enabled": true, "SpecType": "cron", "Spec": cron, "ProhibitOverlap": true},
        "TaskGroups": [{
            "Name": "report", "Count": 1,
            "Tasks": [{
                "Name": "report", "Driver": "raw_exec",
                "Config": {"command": "/bin/true"},
                "Resources": {"CPU": 50, "MemoryMB": 32}
            }]
        }]
    })
}

impl E2e {
    async fn stored(&self, id: &str) -> Value {
        let client = self.cluster.client().expect("client");
        client
            .job(id)
            .await
            .unwrap_or_else(|e| panic!("read job {id}: {e}"))
            .unwrap_or_else(|| panic!("job {id} is registered"))
    }

    async fn args_of(&self, id: &str) -> Value {
        self.stored(id).await["TaskGroups"][0]["Tasks"][0]["Config"]["args"].clone()
    }
}

#[tokio::test]
#[ignore = "needs a Nomad agent: set NOMAD_ADDR (docs/deploy-e2e.md)"]
async fn real_nomad_first_deploy_plans_added_and_rolls_out() {
    e2e("first", first_deploy).await;
}

async fn first_deploy(e2e: E2e) {
    let jobs = rendered(vec![sleeper(&e2e.job_id, "3600")]);
    let planned = plan(&e2e.cluster, &jobs).await.expect("plan");
    let job = &planned.jobs[0];
    assert_eq!(job.diff_type(), "Added");
    assert_eq!((job.job_modify_index, job.current_version), (0, None));
    assert!(planned.has_changes());

    let report = apply_plan(&e2e.cluster, &planned, &revision(1), &waiting())
        .await
        .expect("apply");
    assert!(report.succeeded(), "{}", report.to_text());
    let job = &report.jobs[0];
    assert_eq!((job.changed, job.version), (true, 0));
    assert_eq!(job.status, RolloutStatus::Successful, "{}", report.to_text());
    assert!(job.deployment_id.is_some());
    let stored = e2e.stored(&e2e.job_id).await;
    assert_eq!(stored["Meta"]["ojek.dev/revision"], "1");
    assert_eq!(stored["Meta"]["app"], "ojek-e2e", "rendered meta kept");
}

#[tokio::test]
#[ignore = "needs a Nomad agent: set NOMAD_ADDR (docs/deploy-e2e.md)"]
async fn real_nomad_redeploy_without_changes_is_a_no_op() {
    e2e("noop", redeploy_without_changes).await;
}

async fn redeploy_without_changes(e2e: E2e) {
    let jobs = rendered(vec![sleeper(&e2e.job_id, "3600")]);
    let first = apply(&e2e.cluster, &jobs, &revision(1), &waiting())
        .await
        .expect("first");
    assert!(first.succeeded(), "{}", first.to_text());

    let planned = plan(&e2e.cluster, &jobs).await.expect("plan");
    assert!(!planned.has_changes(), "{}", planned.to_text());
    assert_eq!(planned.jobs[0].diff_type(), "None");
    let again = apply_plan(&e2e.cluster, &planned, &revision(2), &waiting())
        .await
        .expect("again");
    let job = &again.jobs[0];
    assert_eq!((job.changed, job.status), (false, RolloutStatus::Unchanged));
    assert_eq!(job.version, first.jobs[0].version);
    assert_eq!(again.jobs_hash, first.jobs_hash);
    assert_eq!(e2e.stored(&e2e.job_id).await["Meta"]["ojek.dev/revision"], "1");
}

#[tokio::test]
#[ignore = "needs a Nomad agent: set NOMAD_ADDR (docs/deploy-e2e.md)"]
async fn real_nomad_a_changed_job_rolls_out_a_new_version() {
    e2e("change", changed_job).await;
}

async fn changed_job(e2e: E2e) {
    apply(
        &e2e.cluster,
        &rendered(vec![sleeper(&e2e.job_id, "3600")]),
        &revision(1),
        &waiting(),
    )
    .await
    .expect("first");
    let planned = plan(&e2e.cluster, &rendered(vec![sleeper(&e2e.job_id, "3601")]))
        .await
        .expect("plan");
    assert_eq!(planned.jobs[0].diff_type(), "Edited");
    assert!(planned.to_text().contains("3601"), "{}", planned.to_text());
    assert!(
        !planned.to_text().contains("ojek.dev/revision"),
        "{}",
        planned.to_text()
    );

    let report = apply_plan(&e2e.cluster, &planned, &revision(2), &waiting())
        .await
        .expect("apply");
    let job = &report.jobs[0];
    assert_eq!((job.previous_version, job.version), (Some(0), 1));
    assert_eq!(job.status, RolloutStatus::Successful, "{}", report.to_text());
    assert_eq!(e2e.args_of(&e2e.job_id).await, json!(["3601"]));
    assert_eq!(e2e.stored(&e2e.job_id).await["Meta"]["ojek.dev/revision"], "2");
}

#[tokio::test]
#[ignore = "needs a Nomad agent: set NOMAD_ADDR (docs/deploy-e2e.md)"]
async fn real_nomad_a_change_behind_ojeks_back_is_an_index_conflict() {
    e2e("conflict", index_conflict).await;
}

async fn index_conflict(e2e: E2e) {
    apply(
        &e2e.cluster,
        &rendered(vec![sleeper(&e2e.job_id, "3600")]),
        &revision(1),
        &waiting(),
    )
    .await
    .expect("first");
    let ours = rendered(vec![sleeper(&e2e.job_id, "3601")]);
    let planned = plan(&e2e.cluster, &ours).await.expect("plan");

    // Somebody registers another version straight through the API meanwhile.
    let mut theirs = e2e.stored(&e2e.job_id).await;
    theirs["TaskGroups"][0]["Tasks"][0]["Config"]["args"] = json!(["7200"]);
    e2e.cluster
        .client()
        .expect("client")
        .register(&json!({ "Job": theirs }), None, false)
        .await
        .expect("their register");

    let error = apply_plan(&e2e.cluster, &planned, &revision(2), &waiting())
        .await
        .expect_err("stale plan");
    assert!(matches!(error, NomadDeployError::Conflict { .. }), "{error:?}");
    let message = error.to_string();
    for expected in [&e2e.job_id, "changed since the plan", "Nothing was overwritten"] {
        assert!(message.contains(expected), "{expected:?} not in {message}");
    }
    assert_eq!(e2e.args_of(&e2e.job_id).await, json!(["7200"]), "theirs kept");

    // A fresh plan sees their version and applies over it knowingly.
    let report = apply(&e2e.cluster, &ours, &revision(2), &waiting())
        .await
        .expect("apply after a new plan");
    assert_eq!(report.jobs[0].version, 2, "{}", report.to_text());
    assert_eq!(e2e.args_of(&e2e.job_id).await, json!(["3601"]));
}

#[tokio::test]
#[ignore = "needs a Nomad agent: set NOMAD_ADDR (docs/deploy-e2e.md)"]
async fn real_nomad_a_failing_task_fails_the_deployment_with_its_exit_code() {
    e2e("fail", failing_task).await;
}

async fn failing_task(e2e: E2e) {
    let first = apply(
        &e2e.cluster,
        &rendered(vec![sleeper(&e2e.job_id, "3600")]),
        &revision(1),
        &waiting(),
    )
    .await
    .expect("first");
    assert!(first.succeeded(), "{}", first.to_text());
    let failing = service(&e2e.job_id, "/bin/sh", &["-c", "exit 3"], 1);
    let report = apply(&e2e.cluster, &rendered(vec![failing]), &revision(2), &waiting())
        .await
        .expect("applied");
    assert!(!report.succeeded());
    let job = &report.jobs[0];
    assert_eq!(
        (job.version, job.status),
        (1, RolloutStatus::Failed),
        "{}",
        report.to_text()
    );
    let terminated = job
        .failures
        .iter()
        .flat_map(|f| &f.events)
        .find(|e| e.kind == "Terminated")
        .unwrap_or_else(|| panic!("no Terminated event in {}", report.to_text()));
    assert_eq!(terminated.exit_code, Some(3));
    assert!(
        job.failure_summary()
            .iter()
            .any(|r| r.starts_with("task \"main\": Terminated")),
        "{:?}",
        job.failure_summary()
    );
}

#[tokio::test]
#[ignore = "needs a Nomad agent: set NOMAD_ADDR (docs/deploy-e2e.md)"]
async fn real_nomad_a_deployment_slower_than_the_wait_times_out() {
    e2e("timeout", timeout).await;
}

async fn timeout(e2e: E2e) {
    // Healthy only after a minute of running; the wait is 3 seconds.
    let slow = service(&e2e.job_id, "/bin/sleep", &["3600"], 60);
    let options = NomadApplyOptions {
        wait: Some(Duration::from_secs(3)),
        poll_interval: Duration::from_millis(500),
    };
    let report = apply(&e2e.cluster, &rendered(vec![slow]), &revision(1), &options)
        .await
        .expect("applied");
    assert!(!report.succeeded());
    let job = &report.jobs[0];
    assert_eq!(job.status, RolloutStatus::TimedOut, "{}", report.to_text());
    assert!(
        job.status_description.starts_with("still running after 3s")
            || job
                .status_description
                .starts_with("no deployment of version 0 appeared within 3s"),
        "{}",
        job.status_description
    );
}

#[tokio::test]
#[ignore = "needs a Nomad agent: set NOMAD_ADDR (docs/deploy-e2e.md)"]
async fn real_nomad_rollback_reverts_to_the_revisions_version() {
    e2e("rollback", rollback_by_revert).await;
}

async fn rollback_by_revert(e2e: E2e) {
    let first = apply(
        &e2e.cluster,
        &rendered(vec![sleeper(&e2e.job_id, "3600")]),
        &revision(1),
        &waiting(),
    )
    .await
    .expect("first");
    assert!(first.succeeded(), "{}", first.to_text());
    let second = apply(
        &e2e.cluster,
        &rendered(vec![sleeper(&e2e.job_id, "3601")]),
        &revision(2),
        &waiting(),
    )
    .await
    .expect("second");
    assert!(second.succeeded(), "{}", second.to_text());

    let back = rollback(&e2e.cluster, &e2e.job_id, RollbackTarget::Revision(1), &waiting())
        .await
        .expect("rollback");
    assert_eq!(back.status, RolloutStatus::Successful, "{back:#?}");
    assert_eq!((back.previous_version, back.version), (Some(1), 2));
    assert_eq!(e2e.args_of(&e2e.job_id).await, json!(["3600"]));
    assert_eq!(e2e.stored(&e2e.job_id).await["Meta"]["ojek.dev/revision"], "1");

    let again = rollback(&e2e.cluster, &e2e.job_id, RollbackTarget::Version(2), &waiting())
        .await
        .expect("rollback to the current version");
    assert_eq!((again.changed, again.status), (false, RolloutStatus::Unchanged));
}

#[tokio::test]
#[ignore = "needs a Nomad agent: set NOMAD_ADDR (docs/deploy-e2e.md)"]
async fn real_nomad_rollback_by_revision_reverts_a_job_unchanged_in_that_revision() {
    e2e("rollback2", rollback_of_an_unchanged_job).await;
}

async fn rollback_of_an_unchanged_job(e2e: E2e) {
    let (service_id, periodic_id) = (&e2e.job_id, &e2e.periodic_id);
    let deploy = |args: &'static str, cron: &'static str, n: u64| {
        let jobs = rendered(vec![sleeper(service_id, args), periodic(periodic_id, cron)]);
        let cluster = e2e.cluster.clone();
        async move {
            let report = apply(&cluster, &jobs, &revision(n), &waiting())
                .await
                .unwrap_or_else(|e| panic!("revision {n}: {e}"));
            assert!(report.succeeded(), "{}", report.to_text());
            report
        }
    };
    // Revision 1: both jobs. Revision 2: only the service. Revision 3: both again.
    deploy("3600", "0 3 * * *", 1).await;
    let second = deploy("3601", "0 3 * * *", 2).await;
    let changed: Vec<bool> = second.jobs.iter().map(|j| j.changed).collect();
    assert_eq!(changed, [true, false]);
    deploy("3602", "0 4 * * *", 3).await;

    let service = rollback(&e2e.cluster, service_id, RollbackTarget::Revision(2), &waiting())
        .await
        .expect("service back to revision 2");
    assert_eq!(service.status, RolloutStatus::Successful, "{service:#?}");
    assert_eq!(e2e.args_of(service_id).await, json!(["3601"]));
    let report = rollback(&e2e.cluster, periodic_id, RollbackTarget::Revision(2), &waiting())
        .await
        .expect("the periodic job back to its revision 1 version");
    assert_eq!((report.changed, report.status), (true, RolloutStatus::Registered));
    let stored = e2e.stored(periodic_id).await;
    assert_eq!(stored["Periodic"]["Spec"], "0 3 * * *");
    assert_eq!(stored["Meta"]["ojek.dev/revision"], "1");

    let again = rollback(&e2e.cluster, periodic_id, RollbackTarget::Revision(2), &waiting())
        .await
        .expect("already there");
    assert_eq!((again.changed, again.status), (false, RolloutStatus::Unchanged));

    let error = rollback(&e2e.cluster, periodic_id, RollbackTarget::Revision(0), &waiting())
        .await
        .expect_err("nothing at or below revision 0");
    assert!(
        matches!(error, NomadDeployError::VersionNotFound { ref job_id, .. } if job_id == periodic_id),
        "{error:?}"
    );
    assert!(error.to_string().contains(periodic_id.as_str()), "{error}");
}
