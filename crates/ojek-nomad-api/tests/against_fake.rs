//! The client against the fake Nomad agent, with jobs rendered by ojek from the examples:
//! plan, register with EnforceIndex, deployments, failures, revert, ACLs and faults.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ojek_core::spec::FileReader;
use ojek_core::spec::load::{load_app, load_platform};
use ojek_core::spec::platform::TargetKind;
use ojek_core::{RenderOptions, render};
use ojek_fake_cluster::nomad::{FakeNomad, FakeNomadOptions};
use ojek_nomad_api::{NomadClient, NomadConfig, NomadError, format_plan_diff};
use serde_json::Value;

const IMAGE: &str = "registry.gojek.io/fulfilment/driver-location:2.14.0";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct RootReader;

impl FileReader for RootReader {
    fn read(&self, manifest: &str, relative: &str) -> Result<String, String> {
        let dir = Path::new(manifest).parent().unwrap_or(Path::new("."));
        std::fs::read_to_string(root().join(dir).join(relative)).map_err(|e| e.to_string())
    }
}

/// The jobs ojek renders for `example` in `env`, as `{"Job": …}` documents.
fn rendered_jobs(example: &str, env: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(root().join("examples/platform.yaml")).expect("platform");
    let platform = load_platform("examples/platform.yaml", &text).unwrap_or_else(|d| panic!("{d}"));
    let name = format!("examples/{example}.yaml");
    let text = std::fs::read_to_string(root().join(&name)).expect("example");
    let app = load_app(&name, &text, &RootReader).unwrap_or_else(|d| panic!("{d}"));
    let options = RenderOptions {
        env: env.into(),
        target: Some(TargetKind::Nomad),
        kube_version: None,
    };
    let rendered = render(&app, &platform, &options).unwrap_or_else(|d| panic!("{d}"));
    rendered.objects.into_iter().map(|d| d.value).collect()
}

/// driver-location for production-dc: service job `driver-location-production-dc` in
/// region `jkt`, namespace `fulfilment`, group `web` × 6.
fn driver_location() -> Value {
    let jobs = rendered_jobs("driver-location", "production-dc");
    let job = jobs.into_iter().next().expect("one job");
    assert_eq!(job["Job"]["Region"], "jkt");
    assert_eq!(job["Job"]["Namespace"], "fulfilment");
    job
}

const JOB_ID: &str = "driver-location-production-dc";

fn with_image(job: &Value, image: &str) -> Value {
    let mut job = job.clone();
    job["Job"]["TaskGroups"][0]["Tasks"][0]["Config"]["image"] = image.into();
    job
}

async fn fake(options: FakeNomadOptions) -> FakeNomad {
    FakeNomad::start(FakeNomadOptions {
        region: "jkt".into(),
        ..options
    })
    .await
    .expect("fake Nomad")
}

fn client(fake: &FakeNomad, token: Option<&str>) -> NomadClient {
    let mut config = NomadConfig::new(fake.url());
    config.region = Some("jkt".into());
    config.namespace = Some("fulfilment".into());
    config.token = token.map(String::from);
    config.timeout = Duration::from_secs(5);
    NomadClient::new(config).expect("client")
}

#[tokio::test]
async fn plan_register_edit_and_enforce_index() {
    let nomad = fake(FakeNomadOptions::default()).await;
    let client = client(&nomad, None);
    let job = driver_location();

    let plan = client.plan(&job, true).await.expect("plan new");
    let diff = plan.diff.as_ref().expect("diff");
    assert_eq!(diff.kind, "Added");
    assert_eq!(diff.id, JOB_ID);
    assert_eq!(plan.job_modify_index, 0);
    assert_eq!(diff.task_groups.len(), 1);
    assert_eq!(diff.task_groups[0].name, "web");
    assert_eq!(diff.task_groups[0].updates.get("create"), Some(&6));
    assert!(plan.failed_tg_allocs.is_empty());
    let text = format_plan_diff(&plan);
    assert!(
        text.starts_with(&format!(
            "+ Job: \"{JOB_ID}\"\n+ Task Group: \"web\" (6 create)\n"
        )),
        "{text}"
    );

    let registered = client.register(&job, Some(0), false).await.expect("register");
    assert!(!registered.eval_id.is_empty());
    let stored = client.job(JOB_ID).await.expect("read").expect("exists");
    assert_eq!(stored["Version"], 0);
    assert_eq!(stored["JobModifyIndex"], registered.job_modify_index);
    assert_eq!(stored["TaskGroups"][0]["Tasks"][0]["Config"]["image"], IMAGE);

    let plan = client.plan(&job, true).await.expect("plan again");
    assert_eq!(plan.diff.as_ref().expect("diff").kind, "None");
    assert_eq!(
        plan.diff.as_ref().expect("diff").task_groups[0]
            .updates
            .get("ignore"),
        Some(&6)
    );
    assert_eq!(plan.job_modify_index, registered.job_modify_index);

    let new_image = "registry.gojek.io/fulfilment/driver-location:2.15.0";
    let changed = with_image(&job, new_image);
    let plan = client.plan(&changed, true).await.expect("plan change");
    let diff = plan.diff.as_ref().expect("diff");
    assert_eq!(diff.kind, "Edited");
    let group = &diff.task_groups[0];
    assert_eq!(group.kind, "Edited");
    assert_eq!(group.updates.get("create/destroy update"), Some(&6));
    let task = &group.tasks[0];
    assert_eq!(task.annotations, ["forces create/destroy update"]);
    let config = task
        .objects
        .iter()
        .find(|o| o.name == "Config")
        .expect("Config diff");
    let image = config
        .fields
        .iter()
        .find(|f| f.name == "image")
        .expect("image field");
    assert_eq!(
        (image.kind.as_str(), image.old.as_str(), image.new.as_str()),
        ("Edited", IMAGE, new_image)
    );
    let text = format_plan_diff(&plan);
    assert!(
        text.contains(&format!("+/- image:   \"{IMAGE}\" => \"{new_image}\"\n")),
        "changed field line missing:\n{text}"
    );
    assert!(
        text.contains("+/- Task Group: \"web\" (6 create/destroy update)\n"),
        "{text}"
    );

    let stale = plan.job_modify_index - 1;
    match client.register(&changed, Some(stale), false).await {
        Err(NomadError::Conflict { message }) => assert_eq!(
            message,
            format!(
                "Enforcing job modify index {stale}: job exists with conflicting job modify index: {}",
                plan.job_modify_index
            )
        ),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let e = client
        .register(&changed, Some(0), false)
        .await
        .expect_err("index 0 on an existing job");
    assert!(
        e.to_string()
            .contains("Enforcing job modify index 0: job already exists"),
        "{e}"
    );

    let updated = client
        .register(&changed, Some(plan.job_modify_index), false)
        .await
        .expect("register change");
    assert!(updated.job_modify_index > plan.job_modify_index);
    let versions = client.versions(JOB_ID).await.expect("versions");
    let numbers: Vec<&Value> = versions.versions.iter().map(|v| &v["Version"]).collect();
    assert_eq!(numbers, [1, 0]);
    let listed = client.jobs("driver-").await.expect("jobs");
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].id.as_str(), listed[0].version), (JOB_ID, 1));
}

#[tokio::test]
async fn identical_resubmission_keeps_the_version() {
    let nomad = fake(FakeNomadOptions::default()).await;
    let client = client(&nomad, None);
    let job = driver_location();
    let first = client.register(&job, None, false).await.expect("register");
    let second = client.register(&job, None, false).await.expect("register again");
    assert_eq!(first.job_modify_index, second.job_modify_index);
    assert_ne!(first.eval_id, second.eval_id);
    let stored = client.job(JOB_ID).await.expect("read").expect("exists");
    assert_eq!(stored["Version"], 0);
}

#[tokio::test]
async fn deployment_runs_then_succeeds() {
    let nomad = fake(FakeNomadOptions {
        deployment_delay: Duration::from_millis(300),
        ..FakeNomadOptions::default()
    })
    .await;
    let client = client(&nomad, None);
    let job = driver_location();
    assert_eq!(client.latest_deployment(JOB_ID).await.expect("no job yet"), None);
    client.register(&job, None, false).await.expect("register");

    let running = client
        .latest_deployment(JOB_ID)
        .await
        .expect("read")
        .expect("deployment");
    assert_eq!(running.status, "running");
    assert_eq!(running.status_description, "Deployment is running");
    assert_eq!(running.job_version, 0);
    assert_eq!(running.task_groups["web"].desired_total, 6);
    assert!(running.task_groups["web"].auto_revert);
    let pending = client.allocations(JOB_ID).await.expect("allocations");
    assert_eq!(pending.len(), 6);
    assert!(pending.iter().all(|a| a.client_status == "pending"));

    let mut deployment = running.clone();
    for _ in 0..50 {
        deployment = client.deployment(&running.id).await.expect("deployment");
        if deployment.is_terminal() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(deployment.is_successful(), "{deployment:?}");
    assert_eq!(deployment.status_description, "Deployment completed successfully");
    assert_eq!(deployment.task_groups["web"].healthy_allocs, 6);
    let allocations = client.allocations(JOB_ID).await.expect("allocations");
    assert!(allocations.iter().all(|a| a.client_status == "running"));
    assert!(
        allocations
            .iter()
            .all(|a| a.deployment_status.as_ref().and_then(|d| d.healthy) == Some(true))
    );
    assert!(allocations.iter().all(|a| a.failure_events().is_empty()));
    let versions = client.versions(JOB_ID).await.expect("versions");
    assert_eq!(versions.versions[0]["Stable"], true);
    let missing = client.deployment("00000000-0000-0000-0000-000000000000").await;
    assert!(matches!(missing, Err(NomadError::NotFound { .. })), "{missing:?}");
}

#[tokio::test]
async fn failed_pull_fails_the_deployment_with_the_driver_message() {
    let nomad = fake(FakeNomadOptions::default()).await;
    let client = client(&nomad, None);
    let image = "registry.gojek.io/fulfilment/driver-location:fail-pull";
    client
        .register(&with_image(&driver_location(), image), None, false)
        .await
        .expect("register");

    let deployment = client
        .latest_deployment(JOB_ID)
        .await
        .expect("read")
        .expect("deployment");
    assert_eq!(deployment.status, "failed");
    assert_eq!(
        deployment.status_description,
        "Failed due to unhealthy allocations"
    );
    assert_eq!(deployment.task_groups["web"].unhealthy_allocs, 6);
    let allocations = client.allocations(JOB_ID).await.expect("allocations");
    assert_eq!(allocations.len(), 6);
    let alloc = &allocations[0];
    assert_eq!(alloc.client_status, "failed");
    assert!(alloc.task_states["web"].failed);
    let failures = alloc.failure_events();
    let (task, event) = failures.first().expect("a failure event");
    assert_eq!(*task, "web");
    assert_eq!(event.kind, "Driver Failure");
    assert!(
        event.text().starts_with(&format!("Failed to pull `{image}`: ")),
        "{}",
        event.text()
    );
    assert_eq!(event.details["fails_task"], "true");
}

#[tokio::test]
async fn crash_fails_with_the_exit_code() {
    let nomad = fake(FakeNomadOptions::default()).await;
    let client = client(&nomad, None);
    let job = with_image(
        &driver_location(),
        "registry.gojek.io/fulfilment/driver-location:crash",
    );
    client.register(&job, None, false).await.expect("register");
    let deployment = client
        .latest_deployment(JOB_ID)
        .await
        .expect("read")
        .expect("deployment");
    assert!(deployment.is_failed());
    let allocations = client.allocations(JOB_ID).await.expect("allocations");
    let state = &allocations[0].task_states["web"];
    let terminated = state
        .events
        .iter()
        .find(|e| e.kind == "Terminated")
        .expect("Terminated event");
    assert_eq!(
        (terminated.exit_code, terminated.display_message.as_str()),
        (1, "Exit Code: 1")
    );
    assert_eq!(state.restarts, 2, "the job's restart attempts");
}

#[tokio::test]
async fn revert_to_version_zero_restores_the_image() {
    let nomad = fake(FakeNomadOptions::default()).await;
    let client = client(&nomad, None);
    let job = driver_location();
    client.register(&job, None, false).await.expect("v0");
    let bad = with_image(&job, "registry.gojek.io/fulfilment/driver-location:fail-pull");
    client.register(&bad, None, false).await.expect("v1");

    let e = client
        .revert(JOB_ID, 0, Some(0))
        .await
        .expect_err("prior version is 1");
    match e {
        NomadError::Conflict { message } => {
            assert_eq!(message, "Current job has version 1; enforcing version 0")
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let reverted = client.revert(JOB_ID, 0, Some(1)).await.expect("revert");
    assert!(!reverted.eval_id.is_empty());
    let stored = client.job(JOB_ID).await.expect("read").expect("exists");
    assert_eq!(stored["Version"], 2);
    assert_eq!(stored["TaskGroups"][0]["Tasks"][0]["Config"]["image"], IMAGE);
    let deployment = client
        .latest_deployment(JOB_ID)
        .await
        .expect("read")
        .expect("deployment");
    assert_eq!(
        (deployment.job_version, deployment.status.as_str()),
        (2, "successful")
    );
    let e = client.revert(JOB_ID, 7, None).await.expect_err("no such version");
    assert!(e.to_string().contains("at version 7 not found"), "{e}");
}

#[tokio::test]
async fn preserve_counts_keeps_the_running_count() {
    let nomad = fake(FakeNomadOptions::default()).await;
    let client = client(&nomad, None);
    let job = driver_location();
    client.register(&job, None, false).await.expect("register");
    let mut scaled = job.clone();
    scaled["Job"]["TaskGroups"][0]["Count"] = 9.into();
    client.register(&scaled, None, false).await.expect("scale up");
    client
        .register(&with_image(&job, "x:2"), None, true)
        .await
        .expect("register preserving");
    let stored = client.job(JOB_ID).await.expect("read").expect("exists");
    assert_eq!(stored["TaskGroups"][0]["Count"], 9);
    assert_eq!(stored["TaskGroups"][0]["Tasks"][0]["Config"]["image"], "x:2");
}

#[tokio::test]
async fn batch_and_periodic_jobs_have_no_deployment() {
    let nomad = fake(FakeNomadOptions::default()).await;
    let mut config = NomadConfig::new(nomad.url());
    config.region = Some("jkt".into());
    let jobs = rendered_jobs("settlement-report", "production-dc");
    let job = &jobs[0]["Job"];
    assert!(job["Periodic"].is_object(), "settlement-report is a cron job");
    config.namespace = job["Namespace"].as_str().map(String::from);
    let client = NomadClient::new(config).expect("client");
    let id = job["ID"].as_str().expect("id");
    let registered = client.register(&jobs[0], None, false).await.expect("register");
    assert_eq!(
        registered.eval_id, "",
        "Nomad creates no evaluation for periodic jobs"
    );
    assert_eq!(client.latest_deployment(id).await.expect("read"), None);
    assert!(client.allocations(id).await.expect("allocations").is_empty());
}

#[tokio::test]
async fn deregister_stops_then_purges() {
    let nomad = fake(FakeNomadOptions::default()).await;
    let client = client(&nomad, None);
    client
        .register(&driver_location(), None, false)
        .await
        .expect("register");
    client.deregister(JOB_ID, false).await.expect("stop");
    let stored = client.job(JOB_ID).await.expect("read").expect("still there");
    assert_eq!(
        (stored["Stop"].as_bool(), stored["Status"].as_str()),
        (Some(true), Some("dead"))
    );
    client.deregister(JOB_ID, true).await.expect("purge");
    assert_eq!(client.job(JOB_ID).await.expect("read"), None);
    assert!(matches!(
        client.deregister(JOB_ID, true).await,
        Err(NomadError::NotFound { .. })
    ));
}

#[tokio::test]
async fn acl_token_is_required() {
    let nomad = fake(FakeNomadOptions {
        acl_token: Some("s3cret".into()),
        ..FakeNomadOptions::default()
    })
    .await;
    let e = client(&nomad, None)
        .plan(&driver_location(), true)
        .await
        .expect_err("no token");
    assert!(
        matches!(&e, NomadError::PermissionDenied { message } if message == "Permission denied"),
        "{e:?}"
    );
    assert!(e.to_string().contains("NOMAD_TOKEN"), "says what to do: {e}");
    let e = client(&nomad, Some("wrong"))
        .job(JOB_ID)
        .await
        .expect_err("wrong token");
    assert!(matches!(e, NomadError::PermissionDenied { .. }));
    client(&nomad, Some("s3cret"))
        .plan(&driver_location(), true)
        .await
        .expect("with the token");
}

#[tokio::test]
async fn unreachable_agent_names_the_address() {
    let mut nomad = fake(FakeNomadOptions::default()).await;
    let client = client(&nomad, None);
    nomad.stop().await;
    let e = client.job(JOB_ID).await.expect_err("stopped");
    match &e {
        NomadError::Unreachable { address, .. } => assert_eq!(address, &nomad.url()),
        other => panic!("expected Unreachable, got {other:?}"),
    }
    assert!(
        e.to_string()
            .starts_with(&format!("cannot reach Nomad at {}", nomad.url())),
        "{e}"
    );
}

#[tokio::test]
async fn injected_server_error_carries_the_body() {
    let nomad = fake(FakeNomadOptions::default()).await;
    let client = client(&nomad, None);
    nomad.fail_next(1, 500);
    match client.register(&driver_location(), None, false).await {
        Err(NomadError::Http { status, message }) => {
            assert_eq!((status, message.as_str()), (500, "injected failure (500)"))
        }
        other => panic!("expected an HTTP error, got {other:?}"),
    }
    client
        .register(&driver_location(), None, false)
        .await
        .expect("the next request works");
}

#[tokio::test]
async fn unknown_region_is_refused_like_nomad() {
    let nomad = FakeNomad::start(FakeNomadOptions::default())
        .await
        .expect("fake in region global");
    let client = client(&nomad, None);
    match client.job(JOB_ID).await {
        Err(NomadError::Http { status, message }) => {
            assert_eq!((status, message.as_str()), (500, "No path to region"))
        }
        other => panic!("expected No path to region, got {other:?}"),
    }
}
