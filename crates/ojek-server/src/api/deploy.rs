//! Plan, deploy and roll back stored revisions; deployment history and per-environment status.
//! Viewers plan and read; editors deploy and roll back. Every attempt is a deployment record
//! (started before the cluster is touched, finished with the outcome, audited by the store);
//! running it is `crate::deploy`'s.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use ojek_core::spec::values::parse_duration;
use ojek_core::{RenderOptions, Rendered};
use ojek_deploy::clusters::ClusterSettingsError;
use ojek_store::{AppSummary, DeployKind, DeployResult, DeploymentRecord, NewDeployment, Role, StoreError};
use serde::Deserialize;
use serde_json::{Value, json};

use super::JsonBody;
use super::apps::{load_revision, readable_app};
use super::render::parse_stored;
use crate::auth::Principal;
use crate::deploy::{self, Cluster, Operation, PlanError, Subject};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// How long a deploy waits for the rollout unless asked otherwise.
pub(crate) const DEFAULT_WAIT: Duration = Duration::from_secs(5 * 60);
/// The longest wait a request may ask for.
const MAX_WAIT: Duration = Duration::from_secs(10 * 60);

/// Body of `POST /api/apps/{app}/plan`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanRequest {
    environment: String,
    #[serde(default)]
    revision: Option<i64>,
}

/// Body of `POST /api/apps/{app}/deployments`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeployRequest {
    environment: String,
    #[serde(default)]
    revision: Option<i64>,
    #[serde(default)]
    force: bool,
    #[serde(default)]
    prune: bool,
    #[serde(default)]
    wait: Option<String>,
    #[serde(default)]
    platform_version: Option<i64>,
}

/// Body of `POST /api/apps/{app}/rollback`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RollbackRequest {
    environment: String,
    #[serde(default)]
    to_revision: Option<i64>,
    #[serde(default)]
    force: bool,
    #[serde(default)]
    wait: Option<String>,
    #[serde(default)]
    platform_version: Option<i64>,
}

/// Query of `GET /api/apps/{app}/deployments`.
#[derive(Debug, Default, Deserialize)]
pub struct HistoryQuery {
    /// Only this environment.
    #[serde(default)]
    pub environment: Option<String>,
    /// Only ids below this (cursor).
    #[serde(default)]
    pub before: Option<i64>,
    /// Page size (default 50, at most 500).
    #[serde(default)]
    pub limit: Option<i64>,
}

/// A revision rendered for an environment, and where that environment deploys to.
pub(crate) struct Prepared {
    pub app: AppSummary,
    pub revision: i64,
    pub rendered: Rendered,
    pub cluster: Cluster,
    /// The version of the platform file it was rendered with.
    pub platform_version: i64,
}

pub(crate) async fn prepare(
    state: &AppState,
    p: &Principal,
    name: &str,
    env: &str,
    revision: Option<i64>,
    role: Role,
) -> ApiResult<Prepared> {
    let app = readable_app(state, p, name, role).await?;
    let (platform_version, platform) = state.platform_versioned().await?;
    if !platform.platform.environments.contains_key(env) {
        let names: Vec<&str> = platform
            .platform
            .environments
            .keys()
            .map(String::as_str)
            .collect();
        return Err(ApiError::bad_request(format!(
            "no environment `{env}` in the platform file; environments: {}",
            names.join(", ")
        )));
    }
    let rev = load_revision(state, &app, revision).await?;
    let loaded = parse_stored(&rev.manifest, &rev.files)?;
    let options = RenderOptions {
        env: env.to_string(),
        target: None,
        kube_version: None,
    };
    let rendered = ojek_core::render(&loaded, &platform, &options).map_err(|d| {
        ApiError::invalid(
            format!("revision {} cannot be rendered for {env}", rev.number),
            &d,
        )
    })?;
    let cluster = Cluster::of(&platform.platform, env, rendered.target, &state.config.data_dir).map_err(
        |e| match e {
            ClusterSettingsError::Invalid { message } => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "cluster_settings", message)
            }
            other => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "no_cluster", other.to_string()),
        },
    )?;
    Ok(Prepared {
        app,
        revision: rev.number,
        rendered,
        cluster,
        platform_version,
    })
}

/// 409 when the platform file is no longer the version a plan was made with: the clusters,
/// profiles or bindings may differ from what the plan showed.
pub(crate) fn same_platform(prepared: &Prepared, planned: Option<i64>) -> ApiResult<()> {
    match planned {
        Some(v) if v != prepared.platform_version => Err(ApiError::new(
            StatusCode::CONFLICT,
            "platform_changed",
            format!(
                "the platform file changed since the plan (version {v}, now {}): plan again",
                prepared.platform_version
            ),
        )),
        _ => Ok(()),
    }
}

pub(crate) fn subject(prepared: &Prepared, env: &str) -> Subject {
    Subject {
        app: prepared.app.name.clone(),
        env: env.to_string(),
        revision: u64::try_from(prepared.revision).unwrap_or_default(),
    }
}

pub(crate) fn unreachable(message: String) -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "cluster_unreachable", message)
}

/// `POST /api/apps/{app}/plan`: what deploying a revision (default: the newest) would change.
pub async fn plan(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
    JsonBody(req): JsonBody<PlanRequest>,
) -> ApiResult<Json<Value>> {
    let prepared = prepare(&state, &p, &name, &req.environment, req.revision, Role::Viewer).await?;
    Ok(Json(plan_of(&prepared, &req.environment).await?))
}

/// The plan of a prepared revision: `{hasChanges, text, plan, target, cluster, environment,
/// revision}`; 503 when the cluster cannot be reached, 502 when it fails otherwise.
pub(crate) async fn plan_of(prepared: &Prepared, env: &str) -> ApiResult<Value> {
    let subject = subject(prepared, env);
    let planned = deploy::plan(&prepared.cluster, &prepared.rendered, &subject);
    let mut body = ask_cluster(prepared, env, PLAN_TIMEOUT, planned).await?;
    if let Some(o) = body.as_object_mut() {
        o.insert("platformVersion".into(), json!(prepared.platform_version));
    }
    Ok(body)
}

pub(crate) fn wait_of(text: Option<&str>) -> ApiResult<Option<Duration>> {
    let wait = match text {
        None => DEFAULT_WAIT,
        Some("0") => return Ok(None),
        Some(t) => parse_duration(t).map(Duration::from_millis).ok_or_else(|| {
            ApiError::bad_request(format!("`wait`: `{t}` is not a duration like 30s, 5m or 0"))
        })?,
    };
    if wait > MAX_WAIT {
        return Err(ApiError::bad_request("`wait` is at most 10m"));
    }
    Ok(Some(wait))
}

/// A deployment that was recorded as running and whose work goes on in a task of its own.
pub(crate) struct Started {
    /// The record as started.
    pub record: DeploymentRecord,
    /// The task: it finishes the record, whether or not anyone waits for it.
    pub task: tokio::task::JoinHandle<Result<DeploymentRecord, StoreError>>,
}

/// Records a deployment as running and starts it in a task that runs it to the end (even if
/// the client goes away) and finishes the record with the outcome. 409 when one of the same
/// app and environment is still running.
pub(crate) async fn start(
    state: &AppState,
    p: &Principal,
    prepared: Prepared,
    env: &str,
    kind: DeployKind,
    operation: Operation,
    wait: Option<Duration>,
) -> ApiResult<Started> {
    let new = NewDeployment {
        app: prepared.app.name.clone(),
        revision: prepared.revision,
        environment: env.to_string(),
        target: prepared.cluster.target(),
        cluster: prepared.cluster.name(),
        kind,
        expected_team_id: Some(prepared.app.team_id),
    };
    let actor = p.actor();
    let record = state
        .store
        .start_deployment(&new, &actor)
        .await
        .map_err(|e| match e {
            StoreError::AlreadyExists(_) => ApiError::new(
                StatusCode::CONFLICT,
                "deployment_running",
                format!(
                    "a deployment of {} to {env} is still running; wait for it to finish",
                    new.app
                ),
            ),
            e => e.into(),
        })?;
    let subject = subject(&prepared, env);
    let store = state.store.clone();
    let id = record.id;
    let limit = wait.unwrap_or_default() + APPLY_MARGIN;
    let task = tokio::spawn(async move {
        let cluster = prepared.cluster.name();
        // The work in a task of its own, so that a panic or a cluster that stops answering
        // still finishes the record instead of leaving the environment blocked as running.
        let mut work = tokio::spawn(async move {
            deploy::run(&prepared.cluster, &prepared.rendered, &subject, operation, wait).await
        });
        let outcome = match tokio::time::timeout(limit, &mut work).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(e)) => stopped(
                format!("the deployment stopped unexpectedly: {e}"),
                DeployResult::Failed,
            ),
            Err(_) => {
                work.abort();
                stopped(
                    format!(
                        "{cluster} did not finish within {} s; what was applied stays: deploy again to converge",
                        limit.as_secs()
                    ),
                    DeployResult::Timeout,
                )
            }
        };
        finish(&store, id, &outcome, &actor).await
    });
    Ok(Started { record, task })
}

/// Beyond the rollout wait, how long applying a deployment may take before it is given up.
const APPLY_MARGIN: Duration = Duration::from_secs(5 * 60);
/// How long a plan may take.
const PLAN_TIMEOUT: Duration = Duration::from_secs(90);

fn stopped(message: String, result: DeployResult) -> deploy::Outcome {
    deploy::Outcome {
        result,
        hash: None,
        report: json!({ "error": message }),
        summary: message,
    }
}

/// Finishes a deployment record, retrying a few times: a record left running would block
/// deploys to its environment until a server start clears it.
async fn finish(
    store: &ojek_store::Store,
    id: i64,
    outcome: &deploy::Outcome,
    actor: &ojek_store::Actor,
) -> Result<DeploymentRecord, StoreError> {
    let mut attempt = 0;
    loop {
        let result = store
            .finish_deployment(
                id,
                outcome.result,
                outcome.hash.as_deref(),
                &outcome.summary,
                &outcome.report,
                actor,
            )
            .await;
        match result {
            Err(StoreError::Unavailable(_) | StoreError::Database(_)) if attempt < 4 => {
                attempt += 1;
                tokio::time::sleep(Duration::from_secs(1 << attempt)).await;
            }
            Err(e) => {
                tracing::error!(deployment = id, "cannot record how deployment {id} ended: {e}");
                return Err(e);
            }
            Ok(record) => return Ok(record),
        }
    }
}

/// Starts a deployment and answers with its finished record: 201 whatever the rollout did,
/// 503 when the cluster could not be reached.
async fn record_and_run(
    state: &AppState,
    p: &Principal,
    prepared: Prepared,
    env: &str,
    kind: DeployKind,
    operation: Operation,
    wait: Option<Duration>,
) -> ApiResult<axum::response::Response> {
    let started = start(state, p, prepared, env, kind, operation, wait).await?;
    let record: DeploymentRecord = started.task.await.map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("the deploy task failed: {e}"),
        )
    })??;
    if record.result == DeployResult::Unreachable {
        return Err(unreachable(record.summary.clone()).with_details(json!({ "deployment": record })));
    }
    Ok((StatusCode::CREATED, Json(record)).into_response())
}

/// `POST /api/apps/{app}/deployments`: applies a revision (default: the newest).
pub async fn deploy(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
    JsonBody(req): JsonBody<DeployRequest>,
) -> ApiResult<axum::response::Response> {
    let wait = wait_of(req.wait.as_deref())?;
    let prepared = prepare(&state, &p, &name, &req.environment, req.revision, Role::Editor).await?;
    same_platform(&prepared, req.platform_version)?;
    if matches!(prepared.cluster, Cluster::Nomad(_)) && (req.force || req.prune) {
        return Err(ApiError::bad_request(
            "`force` and `prune` are for Kubernetes; a Nomad job changed since the plan is never overwritten, \
             and ojek does not deregister Nomad jobs",
        ));
    }
    let operation = Operation::Apply {
        force: req.force,
        prune: req.prune,
    };
    record_and_run(
        &state,
        &p,
        prepared,
        &req.environment,
        DeployKind::Apply,
        operation,
        wait,
    )
    .await
}

/// `POST /api/apps/{app}/rollback`: goes back to `toRevision`, by default the revision of the
/// newest successful deployment older than what the environment runs now.
pub async fn rollback(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
    JsonBody(req): JsonBody<RollbackRequest>,
) -> ApiResult<axum::response::Response> {
    let wait = wait_of(req.wait.as_deref())?;
    let app = readable_app(&state, &p, &name, Role::Editor).await?;
    let env = req.environment.as_str();
    let to = match req.to_revision {
        Some(r) => r,
        None => previous_revision(&state, &app.name, env).await?,
    };
    let prepared = prepare(&state, &p, &name, env, Some(to), Role::Editor).await?;
    same_platform(&prepared, req.platform_version)?;
    let operation = rollback_operation(&prepared, req.force);
    record_and_run(&state, &p, prepared, env, DeployKind::Rollback, operation, wait).await
}

/// How a rollback to a prepared revision is done: Kubernetes re-applies it (never pruning:
/// what the newer revision added stays until a deploy prunes it), Nomad reverts each job.
pub(crate) fn rollback_operation(prepared: &Prepared, force: bool) -> Operation {
    match prepared.cluster {
        Cluster::Kube(_) => Operation::Apply { force, prune: false },
        Cluster::Nomad(_) => Operation::NomadRevert,
    }
}

/// Where a rollback goes by default: the revision of the newest successful deployment to `env`
/// whose revision differs from the one the environment was last changed to — the newest
/// deployment that may have changed the cluster (one with an applied hash, a partial one, or
/// one that timed out; not one that failed, conflicted or could not connect before applying
/// anything). After a failed rollout of revision 5 over 4, that is 4; after a successful
/// one, the revision that ran before.
pub(crate) async fn previous_revision(state: &AppState, app: &str, env: &str) -> ApiResult<i64> {
    let mut current = None;
    let mut before = None;
    loop {
        let page = state.store.deployments(app, Some(env), before, 500).await?;
        for d in &page {
            // Whether it may have changed the cluster: something was applied (a hash), or
            // some of it was, or it was given up while applying.
            let changed =
                d.hash.is_some() || matches!(d.result, DeployResult::Partial | DeployResult::Timeout);
            match current {
                None if changed => current = Some(d.revision),
                Some(c) if c != d.revision && d.result == DeployResult::Succeeded => return Ok(d.revision),
                _ => {}
            }
        }
        match page.last() {
            Some(last) if page.len() == 500 => before = Some(last.id),
            _ => break,
        }
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "nothing_to_roll_back",
        format!(
            "{app} has no earlier successful deployment to {env} to roll back to; name one with `toRevision`"
        ),
    ))
}

/// Query of `GET /api/apps/{app}/live`.
#[derive(Debug, Deserialize)]
pub struct LiveQuery {
    /// The environment.
    pub environment: String,
}

/// How long a live status may take.
pub(crate) const LIVE_TIMEOUT: Duration = Duration::from_secs(30);

/// `GET /api/apps/{app}/live?environment=E`: what runs in the environment's cluster now.
pub async fn live(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
    Query(q): Query<LiveQuery>,
) -> ApiResult<Json<Value>> {
    Ok(Json(live_of(&state, &p, &name, &q.environment).await?))
}

/// The live status of an app in an environment: its workloads (Kubernetes) or jobs (Nomad)
/// as the cluster has them, found from the revision the environment last ran successfully
/// (the newest when it never did). 503 unreachable, 504 no answer within 30 s.
pub(crate) async fn live_of(state: &AppState, p: &Principal, name: &str, env: &str) -> ApiResult<Value> {
    let prepared = prepare_running(state, p, name, env).await?;
    let subject = subject(&prepared, env);
    let found = deploy::live(&prepared.cluster, &prepared.rendered, &subject);
    ask_cluster(&prepared, env, LIVE_TIMEOUT, found).await
}

/// What an environment runs, rendered for reading the cluster: the revision it last ran
/// successfully (the newest when it never did), for a viewer of the app.
pub(crate) async fn prepare_running(
    state: &AppState,
    p: &Principal,
    name: &str,
    env: &str,
) -> ApiResult<Prepared> {
    let app = readable_app(state, p, name, Role::Viewer).await?;
    let ran = state
        .store
        .current_deployments(&app.name)
        .await?
        .into_iter()
        .find(|s| s.environment == env)
        .and_then(|s| s.last_succeeded)
        .map(|d| d.revision);
    prepare(state, p, &app.name, env, ran, Role::Viewer).await
}

/// Waits at most `limit` for a read-only cluster call: 504 when the cluster does not answer
/// in time, 503 when it cannot be reached, 502 when it fails otherwise.
pub(crate) async fn within<T>(
    cluster: &Cluster,
    limit: Duration,
    call: impl std::future::Future<Output = Result<T, PlanError>>,
) -> ApiResult<T> {
    let answered = tokio::time::timeout(limit, call).await.map_err(|_| {
        ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "cluster_timeout",
            format!("{} did not answer within {} s", cluster.name(), limit.as_secs()),
        )
    })?;
    answered.map_err(|e| match e {
        PlanError::Unreachable(m) => unreachable(m),
        PlanError::Failed(m) => ApiError::new(StatusCode::BAD_GATEWAY, "cluster_error", m),
    })
}

/// Waits at most `limit` for a read-only cluster call (a plan, a live status) and answers with
/// its JSON and where it came from (see [`within`] for the errors).
async fn ask_cluster(
    prepared: &Prepared,
    env: &str,
    limit: Duration,
    call: impl std::future::Future<Output = Result<Value, PlanError>>,
) -> ApiResult<Value> {
    let mut body = within(&prepared.cluster, limit, call).await?;
    if let Some(o) = body.as_object_mut() {
        o.insert("target".into(), json!(prepared.cluster.target()));
        o.insert("cluster".into(), json!(prepared.cluster.name()));
        o.insert("environment".into(), json!(env));
        o.insert("revision".into(), json!(prepared.revision));
    }
    Ok(body)
}

/// `GET /api/apps/{app}/deployments`: history, newest first, without reports.
pub async fn history(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> ApiResult<Json<Value>> {
    let app = readable_app(&state, &p, &name, Role::Viewer).await?;
    let env = q.environment.as_deref().filter(|e| !e.is_empty());
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let deployments = state.store.deployments(&app.name, env, q.before, limit).await?;
    Ok(Json(json!({ "deployments": deployments })))
}

/// `GET /api/apps/{app}/deployments/{id}`: one deployment with its report.
pub async fn show(
    State(state): State<AppState>,
    p: Principal,
    Path((name, id)): Path<(String, i64)>,
) -> ApiResult<Json<DeploymentRecord>> {
    let app = readable_app(&state, &p, &name, Role::Viewer).await?;
    match state.store.deployment(id).await? {
        Some(d) if d.app == app.name && d.team_id == app.team_id => Ok(Json(d)),
        _ => Err(ApiError::not_found(format!("no deployment {id} of {}", app.name))),
    }
}

/// `GET /api/apps/{app}/status`: per environment, the newest deployment and the newest
/// successful one.
pub async fn status(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let app = readable_app(&state, &p, &name, Role::Viewer).await?;
    let environments = state.store.current_deployments(&app.name).await?;
    Ok(Json(json!({ "environments": environments })))
}
