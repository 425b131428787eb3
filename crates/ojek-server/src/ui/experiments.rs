//! The experiments page of an app: for one environment (a picker when the app has several
//! Kubernetes environments), each Experiment as a card with its phase, summary, conditions
//! and timing, and its variants side by side: namespace, traffic share, replicas, how to
//! reach one on purpose, log lines, error lines and error rate, with a link to the Logs page
//! showing a variant's errors. What is read and who may read it is `api::experiments`'s.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use ojek_core::spec::platform::TargetKind;
use ojek_experiments::crd::Condition;
use ojek_store::Role;
use serde::Deserialize;

use super::view::{code_block, query, time_ago, utc};
use super::{Nav, SignedIn, api_error_page, app_or_page, page};
use crate::api::experiments::{AppExperiments, ExperimentView, VariantView, experiments_of};
use crate::auth::now_ms;
use crate::state::AppState;

/// Query of the experiments page.
#[derive(Debug, Default, Deserialize)]
pub struct ExperimentsPageQuery {
    /// The environment (default: where the app last deployed successfully on Kubernetes,
    /// else the platform file's first Kubernetes environment).
    #[serde(default)]
    environment: Option<String>,
}

/// `GET /apps/{app}/experiments?environment=E`.
pub async fn page_handler(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(name): Path<String>,
    Query(q): Query<ExperimentsPageQuery>,
) -> Response {
    let app = match app_or_page(&state, &p, &name, Role::Viewer).await {
        Ok(a) => a,
        Err(page) => return page,
    };
    let platform = match state.platform().await {
        Ok(pl) => pl,
        Err(e) => return api_error_page(&p, e),
    };
    let kube_envs: Vec<String> = platform
        .platform
        .environments
        .iter()
        .filter(|(_, settings)| settings.target == TargetKind::Kubernetes)
        .map(|(env, _)| env.clone())
        .collect();
    let env = match q.environment.filter(|e| !e.is_empty()) {
        Some(e) => e,
        None => {
            let deployed = match state.store.current_deployments(&app.name).await {
                Ok(s) => s,
                Err(e) => return api_error_page(&p, e.into()),
            };
            let newest = deployed
                .iter()
                .filter(|s| kube_envs.contains(&s.environment))
                .filter_map(|s| {
                    s.last_succeeded
                        .as_ref()
                        .map(|d| (d.finished_at.unwrap_or(d.started_at), &s.environment))
                })
                .max();
            match newest
                .map(|(_, e)| e.clone())
                .or_else(|| kube_envs.first().cloned())
            {
                Some(e) => e,
                None => {
                    return api_error_page(
                        &p,
                        crate::error::ApiError::new(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            "not_kubernetes",
                            "experiments run on Kubernetes, and the platform file has no Kubernetes environment",
                        ),
                    );
                }
            }
        }
    };
    let (found, status) = match experiments_of(&state, &p, &app.name, &env).await {
        Ok(v) => (Ok(v), StatusCode::OK),
        Err(e) => {
            let status = e.status;
            (Err((e.status, e.message)), status)
        }
    };
    let this_page = |env: &str| {
        format!(
            "/apps/{}/experiments{}",
            app.name,
            query(&[("environment", env.to_string())])
        )
    };
    let body = html! {
        div.page-head {
            h1 { a href={ "/apps/" (app.name) } { (app.name) } " · experiments in " (env) }
            nav.head-links aria-label="App" {
                a.btn.small href={ "/apps/" (app.name) } { "Editor" }
                a.btn.small href={ "/apps/" (app.name) "/deploy" } { "Deploy" }
                a.btn.small #logs-link href={ "/logs" (query(&[("app", app.name.clone()), ("env", env.clone())])) } { "Logs" }
                a.btn.small #refresh href=(this_page(&env)) { "Refresh" }
            }
        }
        @if kube_envs.len() > 1 {
            nav.env-picker #env-picker aria-label="Environment" {
                span.muted { "Environment" }
                @for e in &kube_envs {
                    @if *e == env {
                        a.btn.small.current href=(this_page(e)) aria-current="page" data-environment=(e) { (e) }
                    } @else {
                        a.btn.small href=(this_page(e)) data-environment=(e) { (e) }
                    }
                }
            }
        }
        @match &found {
            Err((status, message)) => (error_state(*status, message)),
            Ok(found) => (experiments_view(found)),
        }
    };
    let title = format!("{} · experiments in {env}", app.name);
    (status, page(&p, &title, Nav::Apps, "experiments", body)).into_response()
}

/// The cluster (or the environment) could not tell.
fn error_state(status: StatusCode, message: &str) -> Markup {
    let lead = match status {
        StatusCode::SERVICE_UNAVAILABLE => "The cluster cannot be reached.",
        StatusCode::GATEWAY_TIMEOUT => "The cluster did not answer in time.",
        StatusCode::BAD_GATEWAY => "The cluster answered with an error.",
        _ => "Experiments cannot be read here.",
    };
    html! {
        div.alert.error #experiments-error role="alert" data-status=(status.as_u16()) {
            p { strong { (lead) } " " (message) }
            @if status.is_server_error() {
                p { "Experiments are read from the environment's Kubernetes cluster when this page opens; nothing is kept of them in ojek. Try again with Refresh." }
            }
        }
    }
}

fn experiments_view(found: &AppExperiments) -> Markup {
    html! {
        p.meta #experiments-meta {
            "Kubernetes cluster " code { (found.cluster) } " · namespace " code { (found.namespace) }
            " · as rendered from revision " (found.revision)
        }
        @if !found.installed {
            div.alert.warning #experiments-not-installed role="note" {
                p {
                    "This cluster does not serve Experiments: their CustomResourceDefinition is not installed. "
                    "A cluster admin installs it with " code { "ojek experiments crd | kubectl apply -f -" } "."
                }
            }
        }
        @if let Some(e) = &found.logs_error {
            div.alert.warning #experiments-logs-error role="note" {
                "Log counts are not shown: " (e)
            }
        }
        @if found.experiments.is_empty() {
            (empty_state(found))
        }
        @for e in &found.experiments {
            (card(found, e))
        }
    }
}

/// No experiments: what they are and how to start one.
fn empty_state(found: &AppExperiments) -> Markup {
    let example = format!(
        "apiVersion: ojek.dev/v1alpha1\nkind: Experiment\nmetadata:\n  name: my-experiment\n  namespace: {}\nspec:\n  app: {}\n  environment: {}\n  baselineWeight: 90\n  variants:\n    - name: candidate\n      weight: 10\n      overrides:\n        image: registry.example/{}:next\n  routing:\n    gatewayApi: {{}}     # or istio: {{}}\n",
        found.namespace, found.app, found.environment, found.app
    );
    html! {
        section.empty.experiments-empty #experiments-empty aria-labelledby="experiments-empty-title" {
            h2 #experiments-empty-title { "No experiments of " (found.app) " in " (found.environment) }
            p {
                "An experiment runs variants of the app beside it, each in a namespace of its own, and splits traffic between them by weight, "
                "so their error rates can be compared here side by side."
            }
            p {
                "How to start one: " strong { "docs/experiments.md" } " in the ojek documentation. In short, apply an "
                code { "Experiment" } " in the app's namespace " code { (found.namespace) } ":"
            }
            (code_block(Some("experiment-example"), &example))
        }
    }
}

fn card(found: &AppExperiments, e: &ExperimentView) -> Markup {
    let phase = e
        .status
        .as_ref()
        .and_then(|s| s.phase)
        .map_or("Unknown", |p| p.as_str());
    let status = e.status.as_ref();
    let time = |t: Option<&String>| {
        t.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp_millis())
    };
    let started = time(status.and_then(|s| s.started_at.as_ref()));
    let ended = time(status.and_then(|s| s.ended_at.as_ref()));
    let conditions: &[Condition] = status.map(|s| s.conditions.as_slice()).unwrap_or_default();
    let baseline_rate = e.variants.iter().find(|v| v.baseline).and_then(|v| v.error_rate);
    html! {
        article.card.experiment id={ "experiment-" (e.name) } data-experiment=(e.name) data-phase=(phase) {
            div.experiment-head {
                h2 { (e.name) }
                (phase_badge(phase))
                @if let Some(summary) = status.and_then(|s| s.summary.as_ref()) {
                    span.experiment-summary.muted { (summary) }
                }
            }
            @if let Some(problem) = &e.problem {
                div.alert.error.experiment-problem role="alert" { (problem) }
            }
            dl.facts.experiment-facts {
                dt { "Started" }
                dd.experiment-started {
                    @match started {
                        Some(t) => { (utc(t)) " (" (time_ago(t)) ")" },
                        None => { "not yet: variants get traffic once every one is ready" },
                    }
                }
                @if let Some(t) = ended {
                    dt { "Ended" } dd { (utc(t)) }
                }
                @if let Some(from) = started {
                    dt { "Ran for" } dd.experiment-ran { (elapsed(ended.unwrap_or_else(now_ms) - from)) }
                }
                @if let Some(spec) = &e.spec {
                    dt { "Duration" }
                    dd {
                        @match &spec.duration {
                            Some(d) => { (d) " once every variant is ready" },
                            None => { "until promoted or aborted" },
                        }
                    }
                    dt { "Routing" }
                    dd {
                        (match spec.routing { "gatewayApi" => "Gateway API HTTPRoute", "istio" => "Istio VirtualService", _ => "none chosen" })
                        @if let Some(p) = &spec.process { " · process " code { (p) } }
                        @if let Some(s) = &spec.stickiness { " · sticky for " (s) }
                    }
                    @if let Some(d) = &spec.decision {
                        dt { "Decision" } dd.experiment-decision { (d) }
                    }
                }
                dt { "Counted" }
                dd.experiment-window {
                    @if e.window.since_start { "log lines since it started" } @else { "log lines of the last 24 hours (it has not started)" }
                    " · " (utc(e.window.from)) " – " (utc(e.window.to))
                }
            }
            @if !conditions.is_empty() {
                table.list.compact.conditions {
                    caption.visually-hidden { "Conditions" }
                    thead { tr {
                        th scope="col" { "Condition" } th scope="col" { "Status" } th scope="col" { "Reason" } th scope="col" { "Message" }
                    } }
                    tbody {
                        @for c in conditions {
                            tr data-condition=(c.type_) data-status=(c.status) {
                                td { (c.type_) }
                                td { (c.status) }
                                td.condition-reason { (c.reason) }
                                td.condition-message { (c.message) }
                            }
                        }
                    }
                }
            }
            @if !e.variants.is_empty() {
                div.table-scroll {
                    table.list.variants {
                        caption.visually-hidden { "Variants of " (e.name) " side by side" }
                        thead { tr {
                            th scope="col" { "Variant" }
                            th scope="col" { "Namespace" }
                            th.num scope="col" { "Traffic" }
                            th.num scope="col" { "Ready" }
                            th scope="col" { "Pinned by" }
                            th.num scope="col" { "Requests" br; span.th-note { "(log lines)" } }
                            th.num scope="col" { "Errors" }
                            th.num scope="col" { "Error rate" }
                            th scope="col" { span.visually-hidden { "Logs" } }
                        } }
                        tbody {
                            @for v in &e.variants {
                                (variant_row(found, e, v, baseline_rate))
                            }
                        }
                    }
                }
            }
        }
    }
}

fn variant_row(
    found: &AppExperiments,
    e: &ExperimentView,
    v: &VariantView,
    baseline_rate: Option<f64>,
) -> Markup {
    let worse = !v.baseline && matches!((v.error_rate, baseline_rate), (Some(r), Some(b)) if r > b);
    let logs = logs_link(found, e, v);
    html! {
        tr data-variant=(v.name) data-error-rate=[v.error_rate.map(|r| format!("{r}"))] class=[worse.then_some("worse")] {
            th scope="row" {
                (v.name)
                @if v.baseline { " " span.muted { "(the app as deployed)" } }
            }
            td { @match &v.namespace { Some(ns) => code { (ns) }, None => span.muted { "—" } } }
            td.num.nowrap.variant-weight {
                @match v.weight { Some(w) => { (w) " %" }, None => span.muted { "—" } }
                @if let Some(w) = v.configured_weight { br; span.muted.small { "weight " (w) } }
            }
            td.num.nowrap.variant-ready {
                @match (v.ready_replicas, v.desired_replicas) {
                    (Some(r), Some(d)) => { (r) " / " (d) },
                    _ => span.muted { "—" },
                }
            }
            td.variant-pinned { @match &v.pinned_by { Some(p) => code { (p) }, None => span.muted { "—" } } }
            td.num.variant-lines { (count(v.lines)) }
            td.num.variant-errors { (count(v.errors)) }
            td.num.nowrap.variant-error-rate {
                @match v.error_rate {
                    Some(r) if worse => strong title="higher than the baseline's" { (rate(r)) },
                    Some(r) => strong { (rate(r)) },
                    None => span.muted { "—" },
                }
            }
            td.nowrap { a.variant-logs href=(logs) { "errors in Logs →" } }
        }
    }
}

/// The Logs page with the variant's error lines in the experiment's time range.
fn logs_link(found: &AppExperiments, e: &ExperimentView, v: &VariantView) -> String {
    let since = ["15m", "1h", "6h", "24h", "7d", "30d"]
        .into_iter()
        .find(|s| {
            ojek_core::spec::values::parse_duration(s)
                .is_some_and(|ms| i64::try_from(ms).unwrap_or(i64::MAX) >= e.window.to - 1 - e.window.from)
        })
        .unwrap_or("30d");
    let q = if v.baseline {
        format!("{} level:error", v.query)
    } else {
        format!("variant:{} level:error", v.name)
    };
    format!(
        "/logs{}",
        query(&[
            ("q", q),
            ("app", found.app.clone()),
            ("env", found.environment.clone()),
            ("since", since.to_string()),
            ("from", e.window.from.to_string()),
            ("to", e.window.to.to_string()),
        ])
    )
}

fn phase_badge(phase: &str) -> Markup {
    let class = match phase {
        "Running" | "Concluded" => "ok",
        "Pending" | "Promoting" => "busy",
        "Aborted" | "Unknown" => "warning",
        _ => "error",
    };
    html! { span class={ "status " (class) } data-phase=(phase) { (phase) } }
}

fn count(n: Option<u64>) -> String {
    n.map_or_else(|| "—".to_string(), |n| n.to_string())
}

/// An error rate in percent, one decimal.
fn rate(r: f64) -> String {
    format!("{:.1} %", r * 100.0)
}

/// A duration in words: `3 d 4 h`, `2 h 5 min`, `40 s`.
fn elapsed(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        3600..=86_399 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_durations_in_words() {
        assert_eq!(rate(0.0), "0.0 %");
        assert_eq!(rate(1.0 / 3.0), "33.3 %");
        assert_eq!(rate(0.0426), "4.3 %");
        assert_eq!(elapsed(42_000), "42 s");
        assert_eq!(elapsed(55 * 60_000), "55 min");
        assert_eq!(elapsed(2 * 3_600_000 + 5 * 60_000), "2 h 5 min");
        assert_eq!(elapsed(3 * 86_400_000 + 4 * 3_600_000), "3 d 4 h");
    }
}
