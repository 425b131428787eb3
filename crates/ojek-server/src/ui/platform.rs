//! The platform file page: where each environment deploys (its Kubernetes and Nomad clusters,
//! with a connection check for platform admins), and the file itself — read by everyone signed in, edited by
//! platform admins with the same validation and optimistic versioning as `PUT /api/platform`.

use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use ojek_core::spec::load::load_platform;
use ojek_core::spec::platform::{Platform, TargetKind};
use ojek_store::{PlatformFile, StoreError};
use serde::Deserialize;

use super::view::{Problem, code_block, problems_from, problems_list, query, time_ago};
use super::{Nav, PageForm, SignedIn, api_error_page, page};
use crate::auth::Principal;
use crate::deploy::{Cluster, check};
use crate::error::ApiError;
use crate::state::{AppState, PLATFORM};

/// How long a connection check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// Query of the platform page.
#[derive(Debug, Default, Deserialize)]
pub struct PlatformQuery {
    /// `ENV:TARGET` to check the connection to.
    #[serde(default)]
    check: Option<String>,
    /// The version just saved.
    #[serde(default)]
    saved: Option<i64>,
}

/// `GET /platform`.
pub async fn show(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Query(q): Query<PlatformQuery>,
) -> Response {
    let file = match state.store.platform(PLATFORM).await {
        Ok(f) => f,
        Err(e) => return api_error_page(&p, e.into()),
    };
    // Checks are for platform admins (they make the server connect, with its credentials), and
    // only of environments the platform file has: nothing else of the query is shown.
    let check_result = match q.check.as_deref().and_then(|c| c.split_once(':')) {
        Some((env, target)) if p.is_platform_admin() && known(&state, env, target).await => Some((
            env.to_string(),
            target.to_string(),
            run_check(&state, env, target).await,
        )),
        _ => None,
    };
    let editing = Some(match &file {
        Some(f) => Editing {
            content: f.content.clone(),
            base: Some(f.version),
            problems: Vec::new(),
            error: None,
        },
        None => Editing {
            content: String::new(),
            base: None,
            problems: Vec::new(),
            error: None,
        },
    });
    render(
        &state,
        &p,
        file.as_ref(),
        editing,
        check_result,
        q.saved,
        StatusCode::OK,
    )
}

/// What the edit form holds: the text, the version it started from, and why a save failed.
struct Editing {
    content: String,
    base: Option<i64>,
    problems: Vec<Problem>,
    error: Option<String>,
}

/// A connection check's outcome: `Ok(what answered)` or `Err(why not)`.
type CheckResult = Result<String, String>;

/// Whether the platform file has environment `env` and `target` is one of the two targets.
async fn known(state: &AppState, env: &str, target: &str) -> bool {
    matches!(target, "kubernetes" | "nomad")
        && state
            .platform()
            .await
            .is_ok_and(|p| p.platform.environments.contains_key(env))
}

async fn run_check(state: &AppState, env: &str, target: &str) -> CheckResult {
    let target = match target {
        "kubernetes" => TargetKind::Kubernetes,
        "nomad" => TargetKind::Nomad,
        other => return Err(format!("no target `{other}`")),
    };
    let platform = state.platform().await.map_err(|e| e.message)?;
    let cluster =
        Cluster::of(&platform.platform, env, target, &state.config.data_dir).map_err(|e| e.to_string())?;
    match tokio::time::timeout(CHECK_TIMEOUT, check(&cluster)).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "{} did not answer within {} s",
            cluster.name(),
            CHECK_TIMEOUT.as_secs()
        )),
    }
}

fn render(
    state: &AppState,
    p: &Principal,
    file: Option<&PlatformFile>,
    editing: Option<Editing>,
    check_result: Option<(String, String, CheckResult)>,
    saved: Option<i64>,
    status: StatusCode,
) -> Response {
    let loaded = file.and_then(|f| load_platform("platform.yaml", &f.content).ok());
    let admin = p.is_platform_admin();
    let body = html! {
        div.page-head {
            h1 { "Platform" }
            @if let Some(f) = file {
                p.meta #platform-meta { "platform file version " (f.version) " by " (f.updated_by) ", " (time_ago(f.updated_at)) }
            }
        }
        @if let Some(v) = saved {
            p.alert.success #saved-notice role="status" { "Saved version " (v) " of the platform file." }
        }
        @if let Some((env, target, result)) = &check_result {
            @match result {
                Ok(what) => p.alert.success #check-result role="status" { (env) " · " (target) ": " (what) },
                Err(why) => p.alert.error #check-result role="alert" { (env) " · " (target) ": " (why) },
            }
        }
        @if let Some(l) = &loaded {
            section #clusters aria-labelledby="clusters-title" {
                h2 #clusters-title { "Where each environment deploys" }
                (clusters_table(state, &l.platform, admin))
            }
        }
        section #platform-file aria-labelledby="file-title" {
            h2 #file-title { "Platform file" }
            p.muted {
                "Environments, Kubernetes versions, profiles, bindings and clusters (see docs/platform.md). "
                "Credentials are never written here: clusters name a kubeconfig, or a Nomad token's variable or file, which the server reads when it deploys."
            }
            @if admin {
                @if let Some(ed) = &editing { (edit_form(p, ed)) }
            } @else if let Some(f) = file {
                (code_block(Some("platform-text"), &f.content))
            } @else {
                p.empty { "No platform file yet; a platform admin can add one." }
            }
        }
    };
    (status, page(p, "Platform", Nav::Platform, "platform", body)).into_response()
}

fn clusters_table(state: &AppState, platform: &Platform, can_check: bool) -> Markup {
    let cell = |env: &str, target: TargetKind, present: bool| {
        let cluster = Cluster::of(platform, env, target, &state.config.data_dir);
        html! {
            td data-target=(target.as_str()) {
                @if !present {
                    span.muted { "—" }
                } @else {
                    @match &cluster {
                        Ok(c) => {
                            code { (c.name()) }
                            @if can_check {
                                " "
                                a.btn.small href={ "/platform" (query(&[("check", format!("{env}:{}", target.as_str()))])) "#check-result" } { "Check" }
                            }
                        },
                        Err(_) => span.muted { "rendered only (no cluster)" },
                    }
                }
            }
        }
    };
    html! {
        table.list #clusters-table {
            thead { tr {
                th scope="col" { "Environment" } th scope="col" { "Default target" }
                th scope="col" { "Kubernetes" } th scope="col" { "Nomad" }
            } }
            tbody {
                @for (env, e) in &platform.environments {
                    tr data-environment=(env) {
                        td { (env) }
                        td { (e.target.as_str()) }
                        (cell(env, TargetKind::Kubernetes, e.kubernetes.is_some()))
                        (cell(env, TargetKind::Nomad, e.nomad.is_some()))
                    }
                }
            }
        }
    }
}

fn edit_form(p: &Principal, ed: &Editing) -> Markup {
    html! {
        form #platform-form method="post" action="/platform" {
            input type="hidden" name="csrf" value=(p.csrf());
            @if let Some(b) = ed.base { input type="hidden" name="base" value=(b); }
            @if let Some(e) = &ed.error {
                div.alert.error #save-error role="alert" { (e) }
            }
            @if !ed.problems.is_empty() {
                ul.problem-list #problems-list { (problems_list(&ed.problems)) }
            }
            label.visually-hidden for="platform-content" { "Platform file (YAML)" }
            textarea.platform-text #platform-content name="content" rows="30" spellcheck="false" { (ed.content) }
            div.form-actions {
                button.btn.primary #save-platform type="submit" { "Save platform file" }
                span.muted { "Checked before it is stored; every save is a new version in the audit log." }
            }
        }
    }
}

/// The platform form's fields.
#[derive(Debug, Deserialize)]
pub struct SaveForm {
    #[serde(default)]
    content: String,
    #[serde(default)]
    base: Option<i64>,
}

/// `POST /platform` (platform admins): validated, then saved on top of `base`.
pub async fn save(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    PageForm(form): PageForm<SaveForm>,
) -> Response {
    if !p.is_platform_admin() {
        return api_error_page(
            &p,
            ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "only platform admins can change the platform file",
            ),
        );
    }
    let current = match state.store.platform(PLATFORM).await {
        Ok(f) => f,
        Err(e) => return api_error_page(&p, e.into()),
    };
    // Browsers send a textarea's lines with CRLF.
    let form = SaveForm {
        content: form.content.replace("\r\n", "\n"),
        base: form.base,
    };
    let refused = |problems: Vec<Problem>, error: String, status: StatusCode| {
        let editing = Editing {
            content: form.content.clone(),
            base: form.base,
            problems,
            error: Some(error),
        };
        render(&state, &p, current.as_ref(), Some(editing), None, None, status)
    };
    if let Err(d) = load_platform("platform.yaml", &form.content) {
        let e = ApiError::invalid("the platform file has errors; nothing was saved", &d);
        let problems = problems_from(e.details.as_ref().and_then(|d| d.get("diagnostics")));
        return refused(problems, e.message, StatusCode::UNPROCESSABLE_ENTITY);
    }
    match state
        .store
        .save_platform(PLATFORM, &form.content, form.base, &p.actor())
        .await
    {
        Ok(f) => Redirect::to(&format!("/platform?saved={}", f.version)).into_response(),
        Err(StoreError::PlatformConflict(_)) => refused(
            Vec::new(),
            format!(
                "Someone saved the platform file after you opened it (it is at version {} now). Your text is kept below: copy your change, reload, and apply it again.",
                current.as_ref().map_or(0, |f| f.version)
            ),
            StatusCode::CONFLICT,
        ),
        Err(e) => api_error_page(&p, e.into()),
    }
}
