//! Deploying from the web UI: each environment's state (what runs there, how the last attempt
//! went), a plan before every deploy or rollback (the plan page holds the button that does
//! it, pinned to the planned revision), the deploy history, and each deployment with its
//! report. Deploys run in the background: the button leads to the deployment's page, which
//! refreshes itself while it runs. The rules (roles, revisions, clusters) are `api::deploy`'s.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use ojek_core::spec::platform::TargetKind;
use ojek_store::{DeployKind, DeployResult, DeploymentRecord, EnvironmentStatus, Role};
use serde::Deserialize;
use serde_json::Value;

use super::view::{pager, query, time_ago, utc};
use super::{Nav, PageForm, SignedIn, api_error_page, app_or_page, page, page_refreshing};
use crate::api::deploy::{
    DEFAULT_WAIT, live_of, plan_of, prepare, previous_revision, rollback_operation, same_platform, start,
};
use crate::deploy::{Cluster, Operation};
use crate::error::ApiError;
use crate::state::AppState;

/// Deployments per history page.
const PAGE_SIZE: i64 = 50;
/// Revisions offered in the environment cards' pickers.
const REVISION_CHOICES: i64 = 20;
/// Seconds between refreshes of a running deployment's page.
const REFRESH_SECONDS: u32 = 2;

/// Query of the deploy page.
#[derive(Debug, Default, Deserialize)]
pub struct DeployPageQuery {
    /// History of this environment only.
    #[serde(default)]
    environment: Option<String>,
    /// History below this deployment id.
    #[serde(default)]
    before: Option<i64>,
}

/// `GET /apps/{app}/deploy`.
pub async fn overview(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(name): Path<String>,
    Query(q): Query<DeployPageQuery>,
) -> Response {
    let app = match app_or_page(&state, &p, &name, Role::Viewer).await {
        Ok(a) => a,
        Err(page) => return page,
    };
    let platform = match state.platform().await {
        Ok(pl) => pl,
        Err(e) => return api_error_page(&p, e),
    };
    let (statuses, revisions) = match (
        state.store.current_deployments(&app.name).await,
        state.store.revisions(&app.name, None, REVISION_CHOICES).await,
    ) {
        (Ok(s), Ok(r)) => (s, r),
        (Err(e), _) | (_, Err(e)) => return api_error_page(&p, e.into()),
    };
    let env_filter = q.environment.as_deref().filter(|e| !e.is_empty());
    let history = match state
        .store
        .deployments(&app.name, env_filter, q.before, PAGE_SIZE)
        .await
    {
        Ok(h) => h,
        Err(e) => return api_error_page(&p, e.into()),
    };
    let editor = p.can(app.team_id, Role::Editor);
    // Where each deployed environment's "Roll back" goes (none: nothing earlier succeeded).
    let mut rollback_targets: Vec<(String, i64)> = Vec::new();
    if editor {
        for status in &statuses {
            match previous_revision(&state, &app.name, &status.environment).await {
                Ok(r) => rollback_targets.push((status.environment.clone(), r)),
                Err(e) if e.status == StatusCode::CONFLICT => {}
                Err(e) => return api_error_page(&p, e),
            }
        }
    }
    let keep = |before: Option<i64>| {
        query(&[
            ("environment", env_filter.unwrap_or_default().to_string()),
            ("before", before.map(|b| b.to_string()).unwrap_or_default()),
        ])
    };
    let next = (history.len() as i64 == PAGE_SIZE)
        .then(|| {
            history
                .last()
                .map(|d| format!("/apps/{}/deploy{}", app.name, keep(Some(d.id))))
        })
        .flatten();
    let prev = q
        .before
        .map(|_| format!("/apps/{}/deploy{}", app.name, keep(None)));
    let body = html! {
        div.page-head {
            h1 { a href={ "/apps/" (app.name) } { (app.name) } " · deploy" }
            nav.head-links aria-label="App" {
                a.btn.small href={ "/apps/" (app.name) } { "Editor" }
                a.btn.small href={ "/apps/" (app.name) "/history" } { "History" }
                a.btn.small #experiments-link href={ "/apps/" (app.name) "/experiments" } { "Experiments" }
                a.btn.small href={ "/audit?app=" (app.name) } { "Audit" }
            }
        }
        @if state.config.demo {
            p.alert.info #demo-clusters role="note" {
                "Demo mode: unless the platform file was changed, these clusters are simulated inside the ojek process; what you deploy there lives in memory until ojek stops."
            }
        }
        @if !editor {
            p.alert.info role="note" { "You can plan deploys of this app; deploying needs the editor role in its team." }
        }
        section #environments aria-labelledby="environments-title" {
            h2 #environments-title { "Environments" }
            div.env-cards {
                @for (env, settings) in &platform.platform.environments {
                    @let status = statuses.iter().find(|s| &s.environment == env);
                    @let rollback_to = rollback_targets.iter().find(|(e, _)| e == env).map(|(_, r)| *r);
                    @let cluster = Cluster::of(&platform.platform, env, settings.target, &state.config.data_dir);
                    (env_card(&app.name, app.head, env, settings.target, cluster.as_ref().map(Cluster::name).map_err(ToString::to_string), status, rollback_to, &revisions, editor))
                }
            }
        }
        section #deploy-history aria-labelledby="deploy-history-title" {
            div.section-head {
                h2 #deploy-history-title { "Deploy history" }
                form.filters method="get" action={ "/apps/" (app.name) "/deploy" } {
                    label for="history-env" { "Environment" }
                    select #history-env name="environment" {
                        option value="" selected[env_filter.is_none()] { "all" }
                        @for env in platform.platform.environments.keys() {
                            option value=(env) selected[env_filter == Some(env.as_str())] { (env) }
                        }
                    }
                    button.btn.small type="submit" { "Show" }
                }
            }
            @if history.is_empty() {
                p.empty { "No deployments yet." }
            } @else {
                table.list #deployments {
                    thead { tr {
                        th.num scope="col" { "#" }
                        th scope="col" { "Environment" }
                        th scope="col" { "What" }
                        th scope="col" { "Result" }
                        th scope="col" { "Summary" }
                        th scope="col" { "Who" }
                        th scope="col" { "When" }
                    } }
                    tbody {
                        @for d in &history {
                            tr data-deployment=(d.id) data-result=(d.result.as_str()) {
                                td.num { a href={ "/apps/" (app.name) "/deployments/" (d.id) } { (d.id) } }
                                td { (d.environment) }
                                td.nowrap { (kind_label(d.kind)) " r" (d.revision) }
                                td { (result_badge(d.result)) }
                                td.summary { (d.summary) }
                                td { (d.actor) }
                                td.nowrap { (time_ago(d.started_at)) }
                            }
                        }
                    }
                }
                (pager(prev, next, &plural(history.len(), "deployment")))
            }
        }
    };
    page(&p, &format!("{} · deploy", app.name), Nav::Apps, "deploy", body).into_response()
}

/// One environment: where it deploys, what runs there, the last attempt, and the actions.
#[allow(clippy::too_many_arguments)]
fn env_card(
    app: &str,
    head: i64,
    env: &str,
    target: TargetKind,
    cluster: Result<String, String>,
    status: Option<&EnvironmentStatus>,
    rollback_to: Option<i64>,
    revisions: &[ojek_store::Revision],
    editor: bool,
) -> Markup {
    let running = status.and_then(|s| s.last_succeeded.as_ref());
    let last = status.map(|s| &s.last);
    let last_differs = match (last, running) {
        (Some(l), Some(r)) => l.id != r.id,
        (Some(_), None) => true,
        _ => false,
    };
    let rollback_url = |to: i64| {
        format!(
            "/apps/{app}/deploy/plan{}",
            query(&[
                ("environment", env.to_string()),
                ("revision", to.to_string()),
                ("rollback", "1".to_string()),
            ])
        )
    };
    html! {
        article.card.env-card id={ "env-" (env) } data-environment=(env) {
            div.env-head {
                h3 { (env) }
                span.target { (target.as_str()) }
            }
            @match &cluster {
                Ok(name) => p.meta { "cluster " code { (name) } },
                Err(why) => p.alert.warning { "No cluster to deploy to: " (why) },
            }
            @match running {
                Some(r) => p.env-running data-revision=(r.revision) {
                    "Runs " a href={ "/apps/" (app) "/revisions/" (r.revision) } { "revision " (r.revision) }
                    @if r.revision < head { " (newest is " (head) ")" }
                    ", deployed by " (r.actor) " " (time_ago(r.finished_at.unwrap_or(r.started_at)))
                    " · " a href={ "/apps/" (app) "/deployments/" (r.id) } { "#" (r.id) }
                },
                None => p.env-running.muted { "Not deployed by ojek yet." },
            }
            @if let Some(l) = last.filter(|_| last_differs) {
                p.env-last {
                    "Last attempt " a href={ "/apps/" (app) "/deployments/" (l.id) } { "#" (l.id) } ": "
                    (kind_label(l.kind)) " revision " (l.revision) " " (result_badge(l.result))
                    @if !l.summary.is_empty() { " " span.summary { (l.summary) } }
                }
            }
            @if cluster.is_ok() {
                p.env-live {
                    a id={ "live-" (env) } href={ "/apps/" (app) "/deploy/live" (query(&[("environment", env.to_string())])) } { "Live status in the cluster →" }
                    @if target == TargetKind::Kubernetes {
                        " · "
                        a id={ "experiments-" (env) } href={ "/apps/" (app) "/experiments" (query(&[("environment", env.to_string())])) } { "Experiments →" }
                    }
                }
                form.env-actions method="get" action={ "/apps/" (app) "/deploy/plan" } {
                    input type="hidden" name="environment" value=(env);
                    label for={ "rev-" (env) } { "Revision" }
                    select id={ "rev-" (env) } name="revision" {
                        @for r in revisions {
                            option value=(r.number) selected[r.number == head] {
                                (r.number) " — " (truncate(&r.message, 48))
                            }
                        }
                    }
                    button.btn.primary type="submit" id={ "plan-" (env) } {
                        @if editor { "Plan & deploy…" } @else { "Plan" }
                    }
                    @if let Some(to) = rollback_to.filter(|_| editor) {
                        a.btn id={ "rollback-" (env) } href=(rollback_url(to)) { "Roll back to " (to) "…" }
                    }
                }
            }
        }
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn truncate(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() <= max {
        line.to_string()
    } else {
        let mut s: String = line.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

fn kind_label(kind: DeployKind) -> &'static str {
    match kind {
        DeployKind::Apply => "deploy",
        DeployKind::Rollback => "rollback to",
    }
}

/// A result as a coloured badge with its word.
pub fn result_badge(result: DeployResult) -> Markup {
    let class = match result {
        DeployResult::Succeeded => "ok",
        DeployResult::Running => "busy",
        DeployResult::Timeout | DeployResult::Conflict | DeployResult::Partial => "warning",
        DeployResult::Failed | DeployResult::Unreachable => "error",
    };
    html! { span class={ "status " (class) } data-result=(result.as_str()) { (result.as_str()) } }
}

/// Query of the plan page.
#[derive(Debug, Deserialize)]
pub struct PlanQuery {
    environment: String,
    /// The revision to plan (default: the newest; for a rollback: the revision of the newest
    /// successful deployment older than what runs now).
    #[serde(default)]
    revision: Option<String>,
    /// `1`: plan a rollback (the button rolls back instead of deploying).
    #[serde(default)]
    rollback: Option<String>,
}

/// `GET /apps/{app}/deploy/plan?environment=&revision=&rollback=`: what deploying (or rolling
/// back to) a revision would change, with the button that does it for editors.
pub async fn plan(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(name): Path<String>,
    Query(q): Query<PlanQuery>,
) -> Response {
    let app = match app_or_page(&state, &p, &name, Role::Viewer).await {
        Ok(a) => a,
        Err(page) => return page,
    };
    let rollback = q.rollback.as_deref() == Some("1");
    let env = q.environment.as_str();
    let revision = match q.revision.as_deref().filter(|r| !r.is_empty()) {
        None if rollback => match previous_revision(&state, &app.name, env).await {
            Ok(r) => Some(r),
            Err(e) => return api_error_page(&p, e),
        },
        None => None,
        Some(text) => match text.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                return api_error_page(
                    &p,
                    ApiError::bad_request(format!("`{text}` is not a revision number")),
                );
            }
        },
    };
    let prepared = match prepare(&state, &p, &app.name, env, revision, Role::Viewer).await {
        Ok(pr) => pr,
        Err(e) => return api_error_page(&p, e),
    };
    let editor = p.can(app.team_id, Role::Editor);
    let target = prepared.cluster.target();
    let is_kube = matches!(prepared.cluster, Cluster::Kube(_));
    let cluster_name = prepared.cluster.name();
    let rev = prepared.revision;
    let (plan, error) = match plan_of(&prepared, env).await {
        Ok(v) => (Some(v), None),
        Err(e) => (None, Some(e)),
    };
    let platform_version = prepared.platform_version;
    let mut has_changes = plan
        .as_ref()
        .and_then(|v| v.get("hasChanges"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut text = plan
        .as_ref()
        .and_then(|v| v.get("text"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if rollback && is_kube {
        // A rollback re-applies the older revision without pruning: what a prune would delete
        // stays, and is no change.
        has_changes = plan
            .as_ref()
            .and_then(|v| v.pointer("/plan/objects"))
            .and_then(Value::as_array)
            .is_some_and(|objects| {
                objects
                    .iter()
                    .any(|o| o["action"] == "create" || o["action"] == "update")
            });
        text = text
            .lines()
            .map(
                |line| match line.strip_prefix("- ").and_then(|r| r.strip_suffix(" (prune)")) {
                    Some(object) => format!("= {object} (stays: a rollback does not prune)\n"),
                    None => format!("{line}\n"),
                },
            )
            .collect();
    }
    let prunes = plan
        .as_ref()
        .and_then(|v| v.pointer("/plan/prune"))
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let verb = if rollback { "Roll back" } else { "Deploy" };
    let action = if rollback { "rollback" } else { "deploy" };
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    let body = html! {
        div.page-head {
            h1 {
                a href={ "/apps/" (app.name) } { (app.name) } " · "
                @if rollback { "roll back " (env) " to revision " (rev) } @else { "plan revision " (rev) " for " (env) }
            }
            nav.head-links aria-label="App" {
                a.btn.small href={ "/apps/" (app.name) "/deploy" } { "Deploy" }
                a.btn.small href={ "/apps/" (app.name) "/revisions/" (rev) } { "Revision " (rev) }
            }
        }
        p.meta { (target.as_str()) " cluster " code { (cluster_name) } }
        @if let Some(e) = &error {
            div.alert.error #plan-error role="alert" {
                strong { "The plan could not be made. " }
                (e.message)
            }
        }
        @if plan.is_some() {
            section #plan aria-labelledby="plan-title" {
                h2 #plan-title {
                    @if has_changes { "What would change" } @else { "No changes" }
                }
                (plan_view(&text))
                @if rollback && !is_kube {
                    p.alert.info #nomad-rollback-note role="note" {
                        "A Nomad rollback reverts each job to its newest stored version from revision " (rev)
                        " or earlier; this plan renders revision " (rev) " with today's platform file, so a job's stored version can differ slightly from it."
                    }
                }
            }
            @if editor {
                form.deploy-form #deploy-form method="post" action={ "/apps/" (app.name) "/" (action) } {
                    input type="hidden" name="csrf" value=(p.csrf());
                    input type="hidden" name="environment" value=(env);
                    input type="hidden" name="revision" value=(rev);
                    input type="hidden" name="platform" value=(platform_version);
                    @if is_kube {
                        @if !rollback {
                            div.field.check {
                                input #prune type="checkbox" name="prune" value="1";
                                label for="prune" {
                                    "Delete objects this app no longer renders"
                                    @if prunes > 0 { " (" (prunes) " listed above)" }
                                }
                            }
                        }
                        div.field.check {
                            input #force type="checkbox" name="force" value="1";
                            label for="force" { "Force: take over fields another field manager owns" }
                        }
                    }
                    div.form-actions {
                        button.btn.primary #deploy-button type="submit" {
                            (verb) " revision " (rev) " to " (env)
                        }
                        span.muted { "Waits up to " (DEFAULT_WAIT.as_secs() / 60) " minutes for the rollout; you can leave the page." }
                    }
                }
            }
        }
    };
    let title = format!("{} · plan {env}", app.name);
    (status, page(&p, &title, Nav::Apps, "plan", body)).into_response()
}

/// A plan's text with its lines coloured: added, removed, changed, conflicts. The lines under
/// Nomad's `Scheduler dry-run:` are the scheduler's findings, not changes.
fn plan_view(text: &str) -> Markup {
    let mut dry_run = false;
    let classes: Vec<(&str, &str)> = text
        .lines()
        .map(|line| {
            let t = line.trim_start();
            if t.is_empty() {
                dry_run = false;
            } else if t.starts_with("Scheduler dry-run:") {
                dry_run = true;
            }
            let class = if dry_run || t.is_empty() {
                "ctx"
            } else if t.starts_with("+/-") || t.starts_with('~') {
                "chg"
            } else if t.starts_with('+') {
                "add"
            } else if t.starts_with('-') {
                "del"
            } else if t.starts_with('!') {
                "warn"
            } else {
                "ctx"
            };
            (class, line)
        })
        .collect();
    html! {
        pre.code.plan #plan-text tabindex="0" {
            code { @for (class, line) in &classes { span class={ "line " (class) } { (line) "\n" } } }
        }
    }
}

/// The deploy and rollback buttons' form.
#[derive(Debug, Deserialize)]
pub struct DeployForm {
    environment: String,
    revision: i64,
    /// The platform file's version the plan was made with.
    #[serde(default)]
    platform: Option<i64>,
    #[serde(default)]
    force: Option<String>,
    #[serde(default)]
    prune: Option<String>,
}

/// `POST /apps/{app}/deploy`: starts deploying the planned revision; to its page.
pub async fn deploy(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(name): Path<String>,
    PageForm(form): PageForm<DeployForm>,
) -> Response {
    run(&state, &p, &name, form, DeployKind::Apply).await
}

/// `POST /apps/{app}/rollback`: starts rolling back to the planned revision; to its page.
pub async fn rollback(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(name): Path<String>,
    PageForm(form): PageForm<DeployForm>,
) -> Response {
    run(&state, &p, &name, form, DeployKind::Rollback).await
}

async fn run(
    state: &AppState,
    p: &crate::auth::Principal,
    name: &str,
    form: DeployForm,
    kind: DeployKind,
) -> Response {
    let app = match app_or_page(state, p, name, Role::Editor).await {
        Ok(a) => a,
        Err(page) => return page,
    };
    let env = form.environment.as_str();
    let prepared = match prepare(state, p, &app.name, env, Some(form.revision), Role::Editor).await {
        Ok(pr) => pr,
        Err(e) => return api_error_page(p, e),
    };
    if let Err(e) = same_platform(&prepared, form.platform) {
        return api_error_page(p, e);
    }
    let force = form.force.is_some();
    let operation = match kind {
        DeployKind::Apply => {
            let prune = form.prune.is_some();
            if matches!(prepared.cluster, Cluster::Nomad(_)) && (force || prune) {
                return api_error_page(
                    p,
                    ApiError::bad_request("force and prune are for Kubernetes clusters"),
                );
            }
            Operation::Apply { force, prune }
        }
        DeployKind::Rollback => rollback_operation(&prepared, force),
    };
    match start(state, p, prepared, env, kind, operation, Some(DEFAULT_WAIT)).await {
        // The task goes on without us and finishes the record.
        Ok(started) => {
            Redirect::to(&format!("/apps/{}/deployments/{}", app.name, started.record.id)).into_response()
        }
        Err(e) => api_error_page(p, e),
    }
}

/// `GET /apps/{app}/deployments/{id}`: one deployment and its report; refreshes while running.
pub async fn deployment(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path((name, id)): Path<(String, i64)>,
) -> Response {
    let app = match app_or_page(&state, &p, &name, Role::Viewer).await {
        Ok(a) => a,
        Err(page) => return page,
    };
    let d = match state.store.deployment(id).await {
        Ok(Some(d)) if d.app == app.name && d.team_id == app.team_id => d,
        Ok(_) => {
            return api_error_page(
                &p,
                ApiError::not_found(format!("no deployment {id} of {}", app.name)),
            );
        }
        Err(e) => return api_error_page(&p, e.into()),
    };
    let running = d.result == DeployResult::Running;
    let body = html! {
        div.page-head {
            h1 { a href={ "/apps/" (app.name) } { (app.name) } " · deployment #" (d.id) }
            nav.head-links aria-label="App" {
                a.btn.small href={ "/apps/" (app.name) "/deploy" } { "Deploy" }
                a.btn.small href={ "/apps/" (app.name) "/revisions/" (d.revision) } { "Revision " (d.revision) }
            }
        }
        (facts(&app.name, &d))
        @if running {
            p.alert.info #running role="status" {
                "Running: this page refreshes every " (REFRESH_SECONDS) " seconds until it ends."
            }
        } @else if !d.summary.is_empty() {
            p #summary class={ "alert " (if d.result == DeployResult::Succeeded { "success" } else { "error" }) } role="status" {
                (d.summary)
            }
        }
        @if let Some(report) = &d.report { (report_view(report)) }
    };
    let title = format!("{} · deployment {}", app.name, d.id);
    if running {
        page_refreshing(&p, &title, Nav::Apps, "deployment", REFRESH_SECONDS, body).into_response()
    } else {
        page(&p, &title, Nav::Apps, "deployment", body).into_response()
    }
}

fn facts(app: &str, d: &DeploymentRecord) -> Markup {
    html! {
        dl.facts #facts {
            dt { "Result" } dd { (result_badge(d.result)) }
            dt { "What" } dd {
                (kind_label(d.kind)) " "
                a href={ "/apps/" (app) "/revisions/" (d.revision) } { "revision " (d.revision) }
                " in " (d.environment)
            }
            dt { "Where" } dd { (d.target.as_str()) " cluster " code { (d.cluster) } }
            dt { "Who" } dd { (d.actor) " (" (d.via) ")" }
            dt { "Started" } dd { (utc(d.started_at)) }
            @if let Some(f) = d.finished_at {
                dt { "Finished" } dd { (utc(f)) " (" (duration(f - d.started_at)) ")" }
            }
            @if let Some(h) = &d.hash { dt { "Applied hash" } dd { code.hash { (h) } } }
        }
    }
}

fn duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    if s < 60 {
        format!("{s} s")
    } else {
        format!("{} min {} s", s / 60, s % 60)
    }
}

/// A deployment report (Kubernetes apply report or Nomad job reports) as tables.
fn report_view(report: &Value) -> Markup {
    let list = |key: &str| {
        report
            .get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let s = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
    let objects = list("objects");
    let rollouts = list("rollouts");
    let pruned = list("pruned");
    let jobs = list("jobs");
    let name_of = |v: &Value| {
        let ns = s(v, "namespace");
        let base = format!("{}/{}", s(v, "kind"), s(v, "name"));
        if ns.is_empty() {
            base
        } else {
            format!("{base} ({ns})")
        }
    };
    html! {
        @if let Some(err) = report.get("error").and_then(Value::as_str) {
            div.alert.error #report-error role="alert" { (err) }
        }
        @if !rollouts.is_empty() {
            section #rollouts aria-labelledby="rollouts-title" {
                h2 #rollouts-title { "Rollouts" }
                table.list {
                    thead { tr { th scope="col" { "Workload" } th scope="col" { "Status" } th scope="col" { "Message" } } }
                    tbody {
                        @for r in &rollouts {
                            tr data-status=(s(r, "status")) {
                                td { (name_of(r)) }
                                td { (s(r, "status")) }
                                td {
                                    (s(r, "message"))
                                    @if let Some(reasons) = r.get("reasons").and_then(Value::as_array) {
                                        ul.reasons { @for reason in reasons { li { (reason.as_str().unwrap_or_default()) } } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if !objects.is_empty() {
            section #objects aria-labelledby="objects-title" {
                h2 #objects-title { "Objects" }
                table.list {
                    thead { tr { th scope="col" { "Object" } th scope="col" { "Result" } } }
                    tbody {
                        @for o in &objects {
                            tr data-result=(s(o, "result")) {
                                td { (name_of(o)) }
                                td {
                                    (s(o, "result").replace('_', " "))
                                    @let e = s(o, "error");
                                    @if !e.is_empty() { ": " (e) }
                                    @let reason = s(o, "reason");
                                    @if !reason.is_empty() { ": " (reason) }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if !pruned.is_empty() {
            section #pruned aria-labelledby="pruned-title" {
                h2 #pruned-title { "Deleted (no longer rendered)" }
                ul { @for o in &pruned { li { (name_of(o)) } } }
            }
        }
        @if !jobs.is_empty() {
            section #jobs aria-labelledby="jobs-title" {
                h2 #jobs-title { "Nomad jobs" }
                table.list {
                    thead { tr {
                        th scope="col" { "Job" } th scope="col" { "Version" } th scope="col" { "Status" } th scope="col" { "Details" }
                    } }
                    tbody {
                        @for j in &jobs {
                            tr data-status=(s(j, "status")) {
                                td { (s(j, "job_id")) " (" (s(j, "namespace")) ")" }
                                td.nowrap {
                                    @match (j.get("previous_version").and_then(Value::as_u64), j.get("changed").and_then(Value::as_bool).unwrap_or(false)) {
                                        (Some(old), true) => { (old) " → " (j.get("version").and_then(Value::as_u64).unwrap_or_default()) },
                                        _ => { (j.get("version").and_then(Value::as_u64).unwrap_or_default()) },
                                    }
                                }
                                td { (s(j, "status").replace('_', " ")) }
                                td {
                                    (s(j, "status_description"))
                                    @let reasons = failure_reasons(j);
                                    @if !reasons.is_empty() {
                                        ul.reasons { @for r in &reasons { li { (r) } } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A Nomad job report's failing task events, each once with how many allocations had it.
fn failure_reasons(job: &Value) -> Vec<String> {
    let mut seen: Vec<(String, usize)> = Vec::new();
    let failures = job.get("failures").and_then(Value::as_array);
    for f in failures.into_iter().flatten() {
        let task = f.get("task").and_then(Value::as_str).unwrap_or_default();
        for e in f.get("events").and_then(Value::as_array).into_iter().flatten() {
            let text = format!(
                "task {task}: {}: {}",
                e.get("kind").and_then(Value::as_str).unwrap_or_default(),
                e.get("message").and_then(Value::as_str).unwrap_or_default()
            );
            match seen.iter_mut().find(|(t, _)| *t == text) {
                Some((_, n)) => *n += 1,
                None => seen.push((text, 1)),
            }
        }
    }
    seen.into_iter()
        .map(|(t, n)| {
            if n == 1 {
                t
            } else {
                format!("{t} ({n} allocations)")
            }
        })
        .collect()
}

/// Query of the live status page.
#[derive(Debug, Deserialize)]
pub struct LiveQuery {
    environment: String,
}

/// `GET /apps/{app}/deploy/live?environment=E`: what runs in the environment's cluster now.
pub async fn live(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(name): Path<String>,
    Query(q): Query<LiveQuery>,
) -> Response {
    let app = match app_or_page(&state, &p, &name, Role::Viewer).await {
        Ok(a) => a,
        Err(page) => return page,
    };
    let env = q.environment.as_str();
    let (found, status) = match live_of(&state, &p, &app.name, env).await {
        Ok(v) => (Ok(v), StatusCode::OK),
        // Bad input and unknown apps are pages of their own; cluster trouble is shown here.
        Err(e) if !e.status.is_server_error() => return api_error_page(&p, e),
        Err(e) => {
            let status = e.status;
            (Err(e.message), status)
        }
    };
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let n = |v: &Value, k: &str| v.get(k).and_then(Value::as_i64);
    let refresh = format!(
        "/apps/{}/deploy/live{}",
        app.name,
        query(&[("environment", env.to_string())])
    );
    let body = html! {
        div.page-head {
            h1 { a href={ "/apps/" (app.name) } { (app.name) } " · live in " (env) }
            nav.head-links aria-label="App" {
                a.btn.small href={ "/apps/" (app.name) "/deploy" } { "Deploy" }
                a.btn.small #refresh href=(refresh) { "Refresh" }
            }
        }
        @match &found {
            Err(message) => div.alert.error #live-error role="alert" {
                strong { "The cluster could not tell. " } (message)
            },
            Ok(v) => {
                p.meta #live-meta {
                    (s(v, "target")) " cluster " code { (s(v, "cluster")) }
                    " · objects of revision " (n(v, "revision").unwrap_or_default())
                    ", as the cluster has them now"
                }
                @if let Some(workloads) = v.get("workloads").and_then(Value::as_array) {
                    table.list #live-workloads {
                        thead { tr {
                            th scope="col" { "Workload" } th scope="col" { "State" } th scope="col" { "Ready" }
                            th scope="col" { "Revision" } th scope="col" { "Details" }
                        } }
                        tbody {
                            @for w in workloads {
                                tr data-state=(s(w, "state")) {
                                    td { (s(w, "kind")) "/" (s(w, "name")) }
                                    td { (live_badge(&s(w, "state"))) }
                                    td.nowrap {
                                        @match (n(w, "ready"), n(w, "desired")) {
                                            (Some(r), Some(d)) => { (r) " / " (d) },
                                            _ => { "—" },
                                        }
                                    }
                                    td { @let r = s(w, "revision"); @if r.is_empty() { "—" } @else { (r) } }
                                    td { (s(w, "message")) }
                                }
                            }
                        }
                    }
                }
                @if let Some(jobs) = v.get("jobs").and_then(Value::as_array) {
                    table.list #live-jobs {
                        thead { tr {
                            th scope="col" { "Job" } th scope="col" { "Status" } th scope="col" { "Version" }
                            th scope="col" { "Revision" } th scope="col" { "Running" } th scope="col" { "Deployment" }
                        } }
                        tbody {
                            @for j in jobs {
                                tr data-status=(s(j, "status")) {
                                    td { (s(j, "job_id")) " (" (s(j, "namespace")) ")" }
                                    td {
                                        (s(j, "status"))
                                        @if j.get("stopped").and_then(Value::as_bool) == Some(true) { " (stopped)" }
                                    }
                                    td { (n(j, "version").unwrap_or_default()) }
                                    td { @let r = s(j, "revision"); @if r.is_empty() { "—" } @else { (r) } }
                                    td.nowrap {
                                        (n(j, "running").unwrap_or_default()) " / " (n(j, "desired").unwrap_or_default())
                                        @let failed = n(j, "failed").unwrap_or_default();
                                        @if failed > 0 { " (" (failed) " failed)" }
                                    }
                                    td { (s(j, "deployment")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let title = format!("{} · live in {env}", app.name);
    (status, page(&p, &title, Nav::Apps, "live", body)).into_response()
}

fn live_badge(state: &str) -> Markup {
    let class = match state {
        "ready" => "ok",
        "progressing" => "busy",
        "missing" => "warning",
        _ => "error",
    };
    html! { span class={ "status " (class) } { (state) } }
}
