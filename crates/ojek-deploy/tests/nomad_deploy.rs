//! `ojek_deploy::nomad` against the fake Nomad agent, with jobs rendered from the examples:
//! first deploy, no-op redeploy, image change, EnforceIndex conflicts, failed and timed-out
//! rollouts, rollback (also of a job that did not change in the revision), autoscaled counts,
//! unreachable agents and ACL tokens. The same scenarios against a real agent are in
//! `e2e_nomad.rs`.

mod common;

use std::time::{Duration, Instant};

use ojek_core::Rendered;
use ojek_core::spec::platform::TargetKind;
use ojek_deploy::nomad::{
    Deployment, NomadApplyOptions, NomadApplyReport, NomadCluster, NomadDeployError, RollbackTarget,
    RolloutStatus, apply, apply_plan, plan, rollback,
};
use ojek_fake_cluster::nomad::{FakeNomad, FakeNomadOptions};
use serde_json::{Value, json};

const JOB_ID: &str = "driver-location-production-dc";
const NAMESPACE: &str = "fulfilment";
const IMAGE: &str = "registry.gojek.io/fulfilment/driver-location:2.14.0";
const NEW_IMAGE: &str = "registry.gojek.io/fulfilment/driver-location:2.15.0";
const REPORT_JOB_ID: &str = "settlement-report-production-dc-report";

/// `examples/{example}.yaml` rendered for `production-dc` (Nomad) with `examples/platform.yaml`.
fn rendered(example: &str) -> Rendered {
    let path = format!("examples/{example}.yaml");
    common::render(&path, &common::example(&path), "production-dc", TargetKind::Nomad)
}

fn driver_location() -> Rendered {
    rendered("driver-location")
}

/// driver-location with the web task's image replaced.
fn with_image(rendered: &Rendered, image: &str) -> Rendered {
    let mut rendered = rendered.clone();
    rendered.objects[0].value["Job"]["TaskGroups"][0]["Tasks"][0]["Config"]["image"] = image.into();
    rendered
}

fn revision(n: u64) -> Deployment {
    Deployment {
        app: "driver-location".into(),
        env: "production-dc".into(),
        revision: n,
    }
}

fn options() -> NomadApplyOptions {
    NomadApplyOptions {
        wait: Some(Duration::from_secs(10)),
        poll_interval: Duration::from_millis(20),
    }
}

async fn fake(options: FakeNomadOptions) -> FakeNomad {
    FakeNomad::start(FakeNomadOptions {
        region: "jkt".into(),
        ..options
    })
    .await
    .expect("fake Nomad")
}

/// The fake as ojek sees it: the jobs carry their region and namespace; the cluster's
/// namespace is the one rollbacks use.
fn cluster(nomad: &FakeNomad) -> NomadCluster {
    let mut cluster = NomadCluster::new(nomad.url());
    cluster.namespace = Some(NAMESPACE.into());
    cluster.region = Some("jkt".into());
    cluster.request_timeout = Duration::from_secs(5);
    cluster
}

fn stored(nomad: &FakeNomad) -> Value {
    nomad.job(NAMESPACE, JOB_ID).expect("job registered")
}

fn image_of(job: &Value) -> &str {
    job["TaskGroups"][0]["Tasks"][0]["Config"]["image"]
        .as_str()
        .expect("image")
}

async fn deploy(nomad: &FakeNomad, rendered: &Rendered, n: u64) -> NomadApplyReport {
    apply(&cluster(nomad), rendered, &revision(n), &options())
        .await
        .expect("apply")
}

#[tokio::test]
async fn first_deploy_plans_added_registers_and_rolls_out() {
    let nomad = fake(FakeNomadOptions::default()).await;
    let cluster = cluster(&nomad);
    let rendered = driver_location();

    let planned = plan(&cluster, &rendered).await.expect("plan");
    assert!(planned.has_changes());
    assert_eq!(planned.jobs.len(), 1);
    let job = &planned.jobs[0];
    assert_eq!(
        (job.job_id.as_str(), job.namespace.as_str(), job.diff_type()),
        (JOB_ID, NAMESPACE, "Added")
    );
    assert_eq!((job.job_modify_index, job.current_version), (0, None));
    assert!(job.autoscaled, "driver-location's web group is autoscaled");
    assert!(
        planned.to_text().starts_with(&format!(
            "+ Job: \"{JOB_ID}\"\n+ Task Group: \"web\" (6 create)\n"
        )),
        "{}",
        planned.to_text()
    );
    assert_eq!(planned.jobs_hash.len(), 64);

    let report = apply_plan(&cluster, &planned, &revision(1), &options())
        .await
        .expect("apply");
    assert!(report.succeeded(), "{report:#?}");
    assert_eq!(report.address, nomad.url());
    assert_eq!(report.jobs_hash, planned.jobs_hash);
    let job = &report.jobs[0];
    assert!(job.changed);
    assert_eq!((job.previous_version, job.version), (None, 0));
    assert_eq!(job.status, RolloutStatus::Successful);
    assert_eq!(job.status_description, "Deployment completed successfully");
    assert!(!job.eval_id.is_empty());
    let deployments = nomad.deployments();
    assert_eq!(deployments.len(), 1);
    assert_eq!(job.deployment_id.as_deref(), deployments[0]["ID"].as_str());
    assert!(job.failures.is_empty());
    assert_eq!(
        report.to_text(),
        format!(
            "job \"{JOB_ID}\" (namespace {NAMESPACE}): version 0 registered, deployment {} successful: Deployment completed successfully\n",
            deployments[0]["ID"].as_str().expect("ID")
        )
    );

    let stored = stored(&nomad);
    assert_eq!(stored["Version"], 0);
    assert_eq!(stored["JobModifyIndex"], job.job_modify_index);
    assert_eq!(stored["Meta"]["ojek.dev/revision"], "1");
    assert_eq!(stored["Meta"]["app"], "driver-location", "rendered meta kept");
    assert_eq!(stored["TaskGroups"][0]["Count"], 6);
}

#[tokio::test]
async fn periodic_job_is_registered_without_a_deployment() {
    let nomad = fake(FakeNomadOptions::default()).await;
    let cluster = cluster(&nomad);
    let rendered = rendered("settlement-report");
    let planned = plan(&cluster, &rendered).await.expect("plan");
    let job = &planned.jobs[0];
    assert_eq!(
        (job.job_id.as_str(), job.job_type.as_str(), job.periodic),
        (REPORT_JOB_ID, "batch", true)
    );
    assert_eq!(job.diff_type(), "Added");

    let report = apply(&cluster, &rendered, &revision(1), &options())
        .await
        .expect("apply");
    let job = &report.jobs[0];
    assert_eq!((job.version, job.status), (0, RolloutStatus::Registered));
    assert_eq!(job.deployment_id, None);
    assert_eq!(job.eval_id, "", "periodic jobs get no evaluation");
    assert!(nomad.deployments().is_empty());
    let stored = nomad.job(&job.namespace, REPORT_JOB_ID).expect("registered");
    assert_eq!(stored["Meta"]["ojek.dev/revision"], "1");
    assert!(stored["Periodic"].is_object());

    let again = apply(&cluster, &rendered, &revision(2), &options())
        .await
        .expect("redeploy");
    assert_eq!(
        (again.jobs[0].version, again.jobs[0].status),
        (0, RolloutStatus::Unchanged)
    );
    assert_eq!(again.jobs_hash, report.jobs_hash);
}

/// driver-location's service job followed by settlement-report's periodic job, as a rendering
/// with an extra job would be.
fn service_and_periodic() -> Rendered {
    let mut rendered = driver_location();
    rendered
        .objects
        .extend(self::rendered("settlement-report").objects);
    rendered
}

#[tokio::test]
async fn service_and_periodic_jobs_deploy_together_and_conflicts_say_what_was_registered() {
    let nomad = fake(FakeNomadOptions::default()).await;
    let cluster = cluster(&nomad);
    let report = apply(&cluster, &service_and_periodic(), &revision(1), &options())
        .await
        .expect("apply");
    let statuses: Vec<(&str, RolloutStatus)> = report
        .jobs
        .iter()
        .map(|j| (j.job_id.as_str(), j.status))
        .collect();
    assert_eq!(
        statuses,
        [
            (JOB_ID, RolloutStatus::Successful),
            (REPORT_JOB_ID, RolloutStatus::Registered)
        ]
    );

    // Both change; the periodic job is also changed behind ojek's back after the plan.
    let mut changed = with_image(&service_and_periodic(), NEW_IMAGE);
    changed.objects[1].value["Job"]["Periodic"]["Spec"] = json!("0 3 * * *");
    let planned = plan(&cluster, &changed).await.expect("plan");
    assert!(planned.jobs.iter().all(|j| j.has_changes()));
    let periodic_namespace = planned.jobs[1].namespace.clone();
    let mut theirs = nomad
        .job(&periodic_namespace, REPORT_JOB_ID)
        .expect("periodic job");
    theirs["Meta"]["owner"] = json!("someone else");
    let mut theirs_cluster = cluster.clone();
    theirs_cluster.namespace = Some(periodic_namespace.clone());
    theirs_cluster
        .client()
        .expect("client")
        .register(&json!({ "Job": theirs }), None, false)
        .await
        .expect("their register");
    let error = apply_plan(&cluster, &planned, &revision(2), &options())
        .await
        .expect_err("conflict on the periodic job");
    let message = error.to_string();
    assert!(
        message.contains(&format!("job \"{REPORT_JOB_ID}\""))
            && message.contains(&format!("(already registered by this deploy: {JOB_ID})")),
        "{message}"
    );
    assert_eq!(image_of(&stored(&nomad)), NEW_IMAGE, "the service job went first");
    let periodic = nomad
        .job(&periodic_namespace, REPORT_JOB_ID)
        .expect("periodic job");
    assert_eq!(periodic["Meta"]["owner"], "someone else");
    assert_eq!(periodic["Periodic"]["Spec"], "30 2 * * *");
}

/// The cluster with the namespace rollbacks use set to `namespace`.
fn cluster_in(nomad: &FakeNomad, namespace: &str) -> NomadCluster {
    let mut cluster = cluster(nomad);
    cluster.namespace = Some(namespace.into());
    cluster
}

fn reverts(nomad: &FakeNomad) -> usize {
    nomad.requests().iter().filter(|r| r.contains("/revert")).count()
}

#[tokio::test]
async fn rollback_by_revision_reverts_a_job_unchanged_in_that_revision_to_its_older_revision() {
    let nomad = fake(FakeNomadOptions::default()).await;
    let both = service_and_periodic();
    // Revision 1: both jobs. Revision 2: only the service's image. Revision 3: both again.
    deploy(&nomad, &both, 1).await;
    let second = deploy(&nomad, &with_image(&both, NEW_IMAGE), 2).await;
    let changed: Vec<bool> = second.jobs.iter().map(|j| j.changed).collect();
    assert_eq!(
        changed,
        [true, false],
        "the periodic job has no version of revision 2"
    );
    let mut third = with_image(&both, "registry.gojek.io/fulfilment/driver-location:2.16.0");
    third.objects[1].value["Job"]["Periodic"]["Spec"] = json!("0 3 * * *");
    deploy(&nomad, &third, 3).await;
    let periodic_namespace = second.jobs[1].namespace.clone();
    let periodic = || {
        nomad
            .job(&periodic_namespace, REPORT_JOB_ID)
            .expect("periodic job")
    };
    assert_eq!(
        (
            periodic()["Version"].clone(),
            periodic()["Periodic"]["Spec"].clone()
        ),
        (json!(1), json!("0 3 * * *"))
    );

    // Back to revision 2, job by job as the server does it.
    let service = rollback(&cluster(&nomad), JOB_ID, RollbackTarget::Revision(2), &options())
        .await
        .expect("service rollback");
    assert_eq!(
        (service.changed, service.status),
        (true, RolloutStatus::Successful)
    );
    assert_eq!(image_of(&stored(&nomad)), NEW_IMAGE);
    let report = rollback(
        &cluster_in(&nomad, &periodic_namespace),
        REPORT_JOB_ID,
        RollbackTarget::Revision(2),
        &options(),
    )
    .await
    .expect("the periodic job goes back to its revision 1 version");
    assert!(report.changed);
    assert_eq!((report.previous_version, report.version), (Some(1), 2));
    assert_eq!(report.status, RolloutStatus::Registered);
    let reverted = periodic();
    assert_eq!(reverted["Periodic"]["Spec"], "30 2 * * *");
    assert_eq!(reverted["Meta"]["ojek.dev/revision"], "1");
    assert_eq!(reverts(&nomad), 2);

    // Again: both already run revision 2's jobs; nothing is reverted.
    let service = rollback(&cluster(&nomad), JOB_ID, RollbackTarget::Revision(2), &options())
        .await
        .expect("service at revision 2");
    let report = rollback(
        &cluster_in(&nomad, &periodic_namespace),
        REPORT_JOB_ID,
        RollbackTarget::Revision(2),
        &options(),
    )
    .await
    .expect("periodic job at revision 2");
    for job in [&service, &report] {
        assert_eq!(
            (job.changed, job.status),
            (false, RolloutStatus::Unchanged),
            "{job:?}"
        );
    }
    assert_eq!(report.version, 2);
    assert_eq!(
        report.status_description,
        "version 2 is already the current version"
    );
    assert_eq!(reverts(&nomad), 2, "no revert call for a job already there");

    // Before any revision the job was deployed from: an error naming the job.
    let error = rollback(
        &cluster_in(&nomad, &periodic_namespace),
        REPORT_JOB_ID,
        RollbackTarget::Revision(0),
        &options(),
    )
    .await
    .expect_err("no version at or below revision 0");
    let NomadDeployError::VersionNotFound { ref job_id, .. } = error else {
        panic!("expected VersionNotFound, got {error:?}");
    };
    assert_eq!(job_id, REPORT_JOB_ID);
    assert_eq!(
        error.to_string(),
        format!(
            "job \"{REPORT_JOB_ID}\" on Nomad at {} has no version deployed from ojek revision 0 or earlier; \
             retained versions: 2 (revision 1), 1 (revision 3), 0 (revision 1)",
            nomad.url()
        )
    );
}

#[tokio::test]
async fn redeploy_without_changes_is_a_no_op() {
    let nomad = fake(FakeNomadOptions::default()).await;
    let rendered = driver_location();
    let first = deploy(&nomad, &rendered, 1).await;

    let planned = plan(&cluster(&nomad), &rendered).await.expect("plan");
    assert!(!planned.has_changes(), "{}", planned.to_text());
    assert_eq!(planned.jobs[0].diff_type(), "None");
    assert_eq!(planned.jobs[0].job_modify_index, first.jobs[0].job_modify_index);
    assert!(
        planned.to_text().starts_with("No changes"),
        "{}",
        planned.to_text()
    );

    let report = deploy(&nomad, &rendered, 2).await;
    let job = &report.jobs[0];
    assert!(!job.changed);
    assert_eq!((job.previous_version, job.version), (Some(0), 0));
    assert_eq!(job.status, RolloutStatus::Unchanged);
    assert_eq!(
        report.to_text(),
        format!("job \"{JOB_ID}\" (namespace {NAMESPACE}): version 0 unchanged\n")
    );
    assert_eq!(job.job_modify_index, first.jobs[0].job_modify_index);
    assert_eq!(report.jobs_hash, first.jobs_hash);
    assert_eq!(nomad.deployments().len(), 1, "no new deployment");
    assert_eq!(
        stored(&nomad)["Meta"]["ojek.dev/revision"],
        "1",
        "the running version still comes from revision 1"
    );
}

#[tokio::test]
async fn image_change_plans_old_to_new_and_rolls_out_version_1() {
    let nomad = fake(FakeNomadOptions::default()).await;
    let first = deploy(&nomad, &driver_location(), 1).await;
    let changed = with_image(&driver_location(), NEW_IMAGE);

    let planned = plan(&cluster(&nomad), &changed).await.expect("plan");
    let job = &planned.jobs[0];
    assert_eq!(job.diff_type(), "Edited");
    assert_eq!(job.current_version, Some(0));
    let diff = job.response.diff.as_ref().expect("diff");
    let task = &diff.task_groups[0].tasks[0];
    let image = task
        .objects
        .iter()
        .find(|o| o.name == "Config")
        .and_then(|c| c.fields.iter().find(|f| f.name == "image"))
        .expect("image field in the diff");
    assert_eq!((image.old.as_str(), image.new.as_str()), (IMAGE, NEW_IMAGE));
    let text = planned.to_text();
    let image_line = text
        .lines()
        .find(|l| l.trim_start().starts_with("+/- image:"))
        .unwrap_or_else(|| panic!("no image line in {text}"));
    assert!(
        image_line.ends_with(&format!("\"{IMAGE}\" => \"{NEW_IMAGE}\"")),
        "{text}"
    );
    assert!(!text.contains("ojek.dev/revision"), "{text}");
    assert_ne!(planned.jobs_hash, first.jobs_hash);

    let report = apply_plan(&cluster(&nomad), &planned, &revision(2), &options())
        .await
        .expect("apply");
    let job = &report.jobs[0];
    assert!(job.changed);
    assert_eq!((job.previous_version, job.version), (Some(0), 1));
    assert_eq!(job.status, RolloutStatus::Successful);
    let stored = stored(&nomad);
    assert_eq!(image_of(&stored), NEW_IMAGE);
    assert_eq!(stored["Meta"]["ojek.dev/revision"], "2");
    assert_eq!(nomad.deployments()[1]["JobVersion"], 1);
}

#[tokio::test]
async fn a_change_behind_ojeks_back_is_a_conflict_and_is_not_overwritten() {
    let nomad = fake(FakeNomadOptions::default()).await;
    let cluster = cluster(&nomad);
    deploy(&nomad, &driver_location(), 1).await;
    let planned = plan(&cluster, &with_image(&driver_location(), NEW_IMAGE))
        .await
        .expect("plan");

    // Somebody registers another image meanwhile, straight through the API.
    let client = cluster.client().expect("client");
    let mut theirs = stored(&nomad);
    theirs["TaskGroups"][0]["Tasks"][0]["Config"]["image"] =
        json!("registry.gojek.io/fulfilment/driver-location:hotfix");
    client
        .register(&json!({ "Job": theirs }), None, false)
        .await
        .expect("their register");

    let error = apply_plan(&cluster, &planned, &revision(2), &options())
        .await
        .expect_err("stale plan");
    let NomadDeployError::Conflict {
        ref address,
        ref job_id,
        ..
    } = error
    else {
        panic!("expected a conflict, got {error:?}");
    };
    assert_eq!(
        (address.as_str(), job_id.as_str()),
        (nomad.url().as_str(), JOB_ID)
    );
    let message = error.to_string();
    for expected in [
        JOB_ID,
        &nomad.url(),
        "changed since the plan",
        "conflicting job modify index",
        "Nothing was overwritten",
        "run the plan again",
    ] {
        assert!(message.contains(expected), "{expected:?} not in {message}");
    }
    let stored = stored(&nomad);
    assert_eq!(
        image_of(&stored),
        "registry.gojek.io/fulfilment/driver-location:hotfix"
    );
    assert_eq!(stored["Version"], 1);
    assert_eq!(stored["Meta"]["ojek.dev/revision"], "1", "not ojek's revision 2");

    // A fresh plan sees their change and applies over it knowingly.
    let report = apply(
        &cluster,
        &with_image(&driver_location(), NEW_IMAGE),
        &revision(2),
        &options(),
    )
    .await
    .expect("apply after a new plan");
    assert_eq!(report.jobs[0].version, 2);
}

#[tokio::test]
async fn failed_pull_reports_the_driver_failure() {
    let nomad = fake(FakeNomadOptions::default()).await;
    deploy(&nomad, &driver_location(), 1).await;
    let broken = "registry.gojek.io/fulfilment/driver-location:2.15.0-fail-pull";
    let report = deploy(&nomad, &with_image(&driver_location(), broken), 2).await;
    assert!(!report.succeeded());
    let job = &report.jobs[0];
    assert_eq!((job.version, job.status), (1, RolloutStatus::Failed));
    assert_eq!(job.status_description, "Failed due to unhealthy allocations");
    assert_eq!(job.failures.len(), 6, "one per allocation of version 1: {job:#?}");
    let failure = &job.failures[0];
    assert_eq!(
        (failure.task_group.as_str(), failure.task.as_str()),
        ("web", "web")
    );
    assert_eq!(failure.client_status, "failed");
    let driver = &failure.events[0];
    assert_eq!(driver.kind, "Driver Failure");
    assert!(
        driver.message.starts_with(&format!("Failed to pull `{broken}`")),
        "{driver:?}"
    );
    let summary = job.failure_summary();
    assert!(
        summary[0].starts_with("task \"web\": Driver Failure: Failed to pull")
            && summary[0].ends_with("(6 allocations)"),
        "{summary:?}"
    );
    let text = report.to_text();
    let mut lines = text.lines();
    let first = lines.next().expect("job line");
    assert!(
        first.starts_with(&format!(
            "job \"{JOB_ID}\" (namespace {NAMESPACE}): version 0 → 1, deployment "
        )) && first.ends_with(" failed: Failed due to unhealthy allocations"),
        "{text}"
    );
    assert_eq!(lines.next(), Some(format!("  {}", summary[0]).as_str()), "{text}");
    assert_eq!(stored(&nomad)["Version"], 1, "Nomad keeps the failed version");
}

#[tokio::test]
async fn crash_reports_the_exit_code() {
    let nomad = fake(FakeNomadOptions::default()).await;
    let report = deploy(
        &nomad,
        &with_image(
            &driver_location(),
            "registry.gojek.io/fulfilment/driver-location:crash",
        ),
        1,
    )
    .await;
    let job = &report.jobs[0];
    assert_eq!((job.version, job.status), (0, RolloutStatus::Failed));
    let events = &job.failures[0].events;
    let terminated = events
        .iter()
        .find(|e| e.kind == "Terminated")
        .expect("Terminated event");
    assert_eq!(terminated.exit_code, Some(1));
    assert_eq!(terminated.to_string(), "Terminated: Exit Code: 1");
    let not_restarting = events
        .iter()
        .find(|e| e.kind == "Not Restarting")
        .expect("Not Restarting event");
    assert!(
        not_restarting.message.starts_with("Exceeded allowed attempts"),
        "{not_restarting:?}"
    );
}

#[tokio::test]
async fn a_deployment_slower_than_the_wait_times_out() {
    let nomad = fake(FakeNomadOptions {
        deployment_delay: Duration::from_secs(60),
        ..FakeNomadOptions::default()
    })
    .await;
    let started = Instant::now();
    let options = NomadApplyOptions {
        wait: Some(Duration::from_millis(300)),
        poll_interval: Duration::from_millis(50),
    };
    let report = apply(&cluster(&nomad), &driver_location(), &revision(1), &options)
        .await
        .expect("apply");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!report.succeeded());
    let job = &report.jobs[0];
    assert_eq!(job.status, RolloutStatus::TimedOut);
    assert_eq!(
        job.deployment_id.as_deref(),
        nomad.deployments()[0]["ID"].as_str()
    );
    assert!(
        job.status_description.starts_with("still running after 300ms"),
        "{}",
        job.status_description
    );
    assert!(job.failures.is_empty(), "nothing failed yet");

    // Without a wait, apply returns as soon as the job is registered.
    let report = apply(
        &cluster(&nomad),
        &with_image(&driver_location(), NEW_IMAGE),
        &revision(2),
        &NomadApplyOptions {
            wait: None,
            ..options
        },
    )
    .await
    .expect("apply without waiting");
    assert_eq!(report.jobs[0].status, RolloutStatus::NotFollowed);
    assert!(report.jobs[0].deployment_id.is_some());
}

#[tokio::test]
async fn rollback_to_a_revision_reverts_the_image_as_a_new_version() {
    let nomad = fake(FakeNomadOptions::default()).await;
    let cluster = cluster(&nomad);
    deploy(&nomad, &driver_location(), 1).await;
    deploy(&nomad, &with_image(&driver_location(), NEW_IMAGE), 2).await;
    assert_eq!(image_of(&stored(&nomad)), NEW_IMAGE);

    let report = rollback(&cluster, JOB_ID, RollbackTarget::Revision(1), &options())
        .await
        .expect("rollback");
    assert!(report.changed);
    assert_eq!((report.previous_version, report.version), (Some(1), 2));
    assert_eq!(report.status, RolloutStatus::Successful);
    assert!(report.deployment_id.is_some());
    let stored = stored(&nomad);
    assert_eq!(stored["Version"], 2);
    assert_eq!(image_of(&stored), IMAGE);
    assert_eq!(stored["Meta"]["ojek.dev/revision"], "1");

    // The current version: nothing to do.
    let report = rollback(&cluster, JOB_ID, RollbackTarget::Version(2), &options())
        .await
        .expect("rollback to current");
    assert_eq!((report.changed, report.status), (false, RolloutStatus::Unchanged));

    // By version number.
    let report = rollback(&cluster, JOB_ID, RollbackTarget::Version(1), &options())
        .await
        .expect("rollback to version 1");
    assert_eq!(report.version, 3);
    assert_eq!(image_of(&nomad.job(NAMESPACE, JOB_ID).expect("job")), NEW_IMAGE);

    let error = rollback(&cluster, JOB_ID, RollbackTarget::Revision(0), &options())
        .await
        .expect_err("no such revision");
    assert!(
        matches!(error, NomadDeployError::VersionNotFound { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "job \"{JOB_ID}\" on Nomad at {} has no version deployed from ojek revision 0 or earlier; retained versions: 3 (revision 2), 2 (revision 1), 1 (revision 2), 0 (revision 1)",
            nomad.url()
        )
    );
    let error = rollback(&cluster, "no-such-job", RollbackTarget::Version(0), &options())
        .await
        .expect_err("no such job");
    assert!(matches!(error, NomadDeployError::JobNotFound { .. }), "{error:?}");
}

#[tokio::test]
async fn autoscaled_group_counts_are_preserved() {
    let nomad = fake(FakeNomadOptions::default()).await;
    let cluster = cluster(&nomad);
    deploy(&nomad, &driver_location(), 1).await;

    // The autoscaler scales web from 6 to 9.
    let mut scaled = stored(&nomad);
    scaled["TaskGroups"][0]["Count"] = json!(9);
    cluster
        .client()
        .expect("client")
        .register(&json!({ "Job": scaled }), None, false)
        .await
        .expect("scale");

    let planned = plan(&cluster, &driver_location()).await.expect("plan");
    assert!(
        !planned.has_changes(),
        "the autoscaler's count is not a change: {}",
        planned.to_text()
    );
    let report = deploy(&nomad, &with_image(&driver_location(), NEW_IMAGE), 2).await;
    assert_eq!(report.jobs[0].version, 2);
    assert_eq!(report.jobs[0].status, RolloutStatus::Successful);
    let stored = stored(&nomad);
    assert_eq!(stored["TaskGroups"][0]["Count"], 9, "count kept");
    assert_eq!(image_of(&stored), NEW_IMAGE);
    let deployment = nomad.deployments().pop().expect("deployment");
    assert_eq!(deployment["TaskGroups"]["web"]["DesiredTotal"], 9);
}

#[tokio::test]
async fn an_unreachable_agent_is_named() {
    let mut nomad = fake(FakeNomadOptions::default()).await;
    let cluster = cluster(&nomad);
    nomad.stop().await;
    let error = plan(&cluster, &driver_location()).await.expect_err("unreachable");
    assert!(matches!(error, NomadDeployError::Unreachable { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("cannot reach Nomad at {}: ", nomad.url())),
        "{message}"
    );
    let error = rollback(&cluster, JOB_ID, RollbackTarget::Revision(1), &options())
        .await
        .expect_err("unreachable");
    assert!(error.to_string().contains(&nomad.url()), "{error}");
}

#[tokio::test]
async fn a_wrong_acl_token_is_a_permission_error() {
    let nomad = fake(FakeNomadOptions {
        acl_token: Some("s3cret".into()),
        ..FakeNomadOptions::default()
    })
    .await;
    let mut cluster = cluster(&nomad);
    cluster.token = Some("wrong".into());
    let error = apply(&cluster, &driver_location(), &revision(1), &options())
        .await
        .expect_err("denied");
    assert!(
        matches!(error, NomadDeployError::PermissionDenied { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert_eq!(
        message,
        format!(
            "Nomad at {} refused to read job \"{JOB_ID}\" (Permission denied): use a token (NOMAD_TOKEN) whose ACL policy allows it in this namespace",
            nomad.url()
        )
    );
    assert!(nomad.job(NAMESPACE, JOB_ID).is_none());

    cluster.token = Some("s3cret".into());
    let report = apply(&cluster, &driver_location(), &revision(1), &options())
        .await
        .expect("the right token");
    assert_eq!(report.jobs[0].status, RolloutStatus::Successful);
}
