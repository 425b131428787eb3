//! An app's experiments in one environment, `GET /api/apps/{app}/experiments?environment=E`:
//! the Experiment objects (Whiterabbit) of the app in that environment's Kubernetes cluster,
//! their spec in short and the status their controller keeps, and for each variant (the
//! baseline included) how many log lines and error lines it wrote since the experiment
//! started, so the variants can be compared side by side.
//!
//! Experiments are read **in the app's namespace** of the environment (from the rendered
//! revision the environment runs), not across the cluster: an Experiment elsewhere is one the
//! controller refuses (`NotInAppNamespace`: only who may change the app's namespace may
//! split its traffic), so one in another team's namespace naming this app must not appear on
//! its page; and ojek then needs only a namespaced `list` permission.
//!
//! Viewers of the app's team may read it; other callers get a 404, as for every app. The log
//! counts go through the server's log backend (its own store or its log node) and are
//! audited like other log reads. Failures of the cluster are 502/503/504 like the live
//! status; failures of the logs leave the counts out and say why.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use ojek_core::spec::platform::TargetKind;
use ojek_experiments::crd::{BASELINE, Experiment, ExperimentSpec, ExperimentStatus, VariantMatch};
use ojek_logstore::index::{SearchRequest, Stream};
use ojek_store::Role;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::apps::readable_app;
use super::deploy::{LIVE_TIMEOUT, Prepared, prepare_running, within};
use crate::auth::{Principal, now_ms};
use crate::deploy;
use crate::error::{ApiError, ApiResult};
use crate::logs::backend::{LogBackend, LogRead};
use crate::logs::search::parse_query;
use crate::state::AppState;

/// How far back the counts of an experiment that has not started go.
const NOT_STARTED_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;
/// The log query of the baseline's lines: those of no variant.
pub const BASELINE_QUERY: &str = "NOT variant:*";

/// Query of `GET /api/apps/{app}/experiments`.
#[derive(Debug, Deserialize)]
pub struct ExperimentsQuery {
    /// The environment.
    pub environment: String,
}

/// An app's experiments in one environment.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppExperiments {
    /// The app.
    pub app: String,
    /// The environment.
    pub environment: String,
    /// The Kubernetes cluster asked.
    pub cluster: String,
    /// The app's namespace there, where its Experiments are.
    pub namespace: String,
    /// The revision the namespace was rendered from (what the environment runs).
    pub revision: i64,
    /// Whether the cluster serves Experiments at all (their CRD is installed).
    pub installed: bool,
    /// The Experiments of the app in this environment, by name.
    pub experiments: Vec<ExperimentView>,
    /// Why the log counts are missing (no logs on this server, the log node is down).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logs_error: Option<String>,
}

/// One Experiment: its spec in short, its status, and its variants side by side.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExperimentView {
    /// Its name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// When it was created (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Why it could not be read (fields that do not fit the Experiment's types); then only
    /// its name is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// The spec in short.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec: Option<SpecSummary>,
    /// The status its controller keeps (none before the controller saw it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<ExperimentStatus>,
    /// The time range of the log counts.
    pub window: Window,
    /// The baseline first, then each variant.
    pub variants: Vec<VariantView>,
}

/// The spec of an Experiment in short.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpecSummary {
    /// The split process (`None`: the app's only routed one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
    /// `gatewayApi`, `istio`, or `none` when the spec names neither.
    pub routing: &'static str,
    /// How long it runs once every variant is ready (`72h`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// How long the sticky cookie keeps a user on a variant (`session` without a max age).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stickiness: Option<String>,
    /// `promote <variant>` or `abort`, once decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
}

/// The time range of an experiment's log counts.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Window {
    /// From (Unix ms): when it started, or 24 hours ago when it has not.
    pub from: i64,
    /// To (Unix ms, excluded): when it ended, or now.
    pub to: i64,
    /// Whether `from` is the experiment's `startedAt`.
    pub since_start: bool,
}

/// The baseline or a variant: how it is set up, how it runs, and what it logged.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantView {
    /// `baseline`, or the variant's name.
    pub name: String,
    /// Whether this is the baseline (the app as deployed).
    pub baseline: bool,
    /// Its relative weight in the spec.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub configured_weight: Option<u32>,
    /// From the status: its namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// From the status: the share of traffic it gets now, in percent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
    /// From the status: replicas wanted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desired_replicas: Option<u32>,
    /// From the status: replicas ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_replicas: Option<u32>,
    /// How to reach it on purpose (the status's, else the spec's match).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pinned_by: Option<String>,
    /// From the status: its Service inside the cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The log query of its lines within the app's stream (`variant:"b"`, or
    /// `NOT variant:*` for the baseline).
    pub query: String,
    /// Its log lines in the window (`None`: not counted, see `logsError`).
    pub lines: Option<u64>,
    /// Those at level `error`.
    pub errors: Option<u64>,
    /// `errors / lines`; `None` without lines.
    pub error_rate: Option<f64>,
}

/// `GET /api/apps/{app}/experiments?environment=E`.
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
    Query(q): Query<ExperimentsQuery>,
) -> ApiResult<Json<AppExperiments>> {
    Ok(Json(experiments_of(&state, &p, &name, &q.environment).await?))
}

/// The app's experiments in `env` with their log counts (see the module's documentation).
pub(crate) async fn experiments_of(
    state: &AppState,
    p: &Principal,
    name: &str,
    env: &str,
) -> ApiResult<AppExperiments> {
    // Another team's app is a 404 before anything about the environment is said.
    let app = readable_app(state, p, name, Role::Viewer).await?;
    let platform = state.platform().await?;
    if let Some(settings) = platform.platform.environments.get(env)
        && settings.target != TargetKind::Kubernetes
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_kubernetes",
            format!(
                "experiments run on Kubernetes, and `{env}` deploys {} to {}",
                app.name,
                settings.target.as_str()
            ),
        ));
    }
    let prepared = prepare_running(state, p, &app.name, env).await?;
    let namespace = app_namespace(&prepared).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no_namespace",
            format!("{name} renders no namespaced object for `{env}`, so it has no namespace to look in"),
        )
    })?;
    let listed = within(
        &prepared.cluster,
        LIVE_TIMEOUT,
        deploy::experiments(&prepared.cluster, &namespace),
    )
    .await?;
    let installed = listed.is_some();
    let now = now_ms();
    let mut experiments: Vec<ExperimentView> = listed
        .unwrap_or_default()
        .into_iter()
        .filter(|o| o["spec"]["app"] == prepared.app.name && o["spec"]["environment"] == env)
        .map(|o| view(o, now))
        .collect();
    experiments.sort_by(|a, b| a.name.cmp(&b.name));
    let mut logs_error = None;
    if !experiments.is_empty()
        && let Err(e) = count_logs(state, p, &prepared, env, &mut experiments, now).await
    {
        // All counts or none: a page half counted would compare variants unfairly.
        for v in experiments.iter_mut().flat_map(|e| e.variants.iter_mut()) {
            (v.lines, v.errors, v.error_rate) = (None, None, None);
        }
        logs_error = Some(e.message);
    }
    Ok(AppExperiments {
        app: prepared.app.name.clone(),
        environment: env.to_string(),
        cluster: prepared.cluster.name(),
        namespace,
        revision: prepared.revision,
        installed,
        experiments,
        logs_error,
    })
}

/// The namespace the app's objects go to in this environment.
fn app_namespace(prepared: &Prepared) -> Option<String> {
    prepared
        .rendered
        .objects
        .iter()
        .find_map(|d| d.value.pointer("/metadata/namespace").and_then(Value::as_str))
        .map(str::to_string)
}

/// One listed object as a view, without counts yet.
fn view(object: Value, now: i64) -> ExperimentView {
    let meta = |field: &str| object["metadata"][field].as_str().map(str::to_string);
    let name = meta("name").unwrap_or_default();
    let namespace = meta("namespace").unwrap_or_default();
    let created_at = meta("creationTimestamp");
    let experiment = match serde_json::from_value::<Experiment>(object) {
        Ok(e) => e,
        Err(e) => {
            return ExperimentView {
                name,
                namespace,
                created_at,
                problem: Some(format!("this Experiment cannot be read: {e}")),
                spec: None,
                status: None,
                window: window(None, now),
                variants: Vec::new(),
            };
        }
    };
    let status = experiment.status;
    ExperimentView {
        name,
        namespace,
        created_at,
        problem: None,
        spec: Some(summary(&experiment.spec)),
        window: window(status.as_ref(), now),
        variants: variants(&experiment.spec, status.as_ref()),
        status,
    }
}

fn summary(spec: &ExperimentSpec) -> SpecSummary {
    let routing = match (&spec.routing.gateway_api, &spec.routing.istio) {
        (Some(_), _) => "gatewayApi",
        (None, Some(_)) => "istio",
        (None, None) => "none",
    };
    let decision = spec.decision.as_ref().and_then(|d| match (&d.promote, d.abort) {
        (_, true) => Some("abort".to_string()),
        (Some(v), false) => Some(format!("promote {v}")),
        (None, false) => None,
    });
    SpecSummary {
        process: spec.process.clone(),
        routing,
        duration: spec.duration.map(go_duration),
        stickiness: spec.stickiness.as_ref().map(|s| match s.max_age {
            Some(age) => go_duration(age),
            None => "session".to_string(),
        }),
        decision,
    }
}

/// A duration as written in Experiments (`72h`, `1h30m`, `45s`); the client library's own
/// form is seconds only (`259200s`).
fn go_duration(d: impl Into<std::time::Duration>) -> String {
    let d: std::time::Duration = d.into();
    let (h, m, s) = (d.as_secs() / 3600, d.as_secs() % 3600 / 60, d.as_secs() % 60);
    let mut out = String::new();
    for (n, unit) in [(h, "h"), (m, "m"), (s, "s")] {
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    if out.is_empty() {
        out = format!("{}ms", d.as_millis());
    }
    out
}

/// When the counts start and end: from `startedAt` (the last 24 hours before it started)
/// to `endedAt` (now while it runs).
fn window(status: Option<&ExperimentStatus>, now: i64) -> Window {
    let time = |t: Option<&String>| {
        t.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp_millis())
    };
    let started = time(status.and_then(|s| s.started_at.as_ref())).filter(|t| *t <= now);
    let from = started.unwrap_or(now - NOT_STARTED_WINDOW_MS);
    let to = time(status.and_then(|s| s.ended_at.as_ref()))
        .filter(|t| *t > from)
        .map_or(now + 1, |t| t.min(now + 1));
    Window {
        from,
        to,
        since_start: started.is_some(),
    }
}

/// The baseline and the spec's variants in order, with what the status says of each, then
/// any the status has and the spec no longer does.
fn variants(spec: &ExperimentSpec, status: Option<&ExperimentStatus>) -> Vec<VariantView> {
    let mut names: Vec<(String, Option<u32>, Option<&VariantMatch>)> =
        vec![(BASELINE.to_string(), Some(spec.baseline_weight), None)];
    for v in &spec.variants {
        names.push((v.name.clone(), Some(v.weight), v.matches.as_ref()));
    }
    let seen: BTreeSet<String> = names.iter().map(|(n, _, _)| n.clone()).collect();
    for s in status.map(|s| s.variants.as_slice()).unwrap_or_default() {
        if !seen.contains(&s.name) {
            names.push((s.name.clone(), None, None));
        }
    }
    names
        .into_iter()
        .map(|(name, configured_weight, matches)| {
            let s = status.and_then(|s| s.variants.iter().find(|v| v.name == name));
            let baseline = name == BASELINE;
            VariantView {
                query: variant_query(&name),
                baseline,
                configured_weight,
                namespace: s.map(|s| s.namespace.clone()),
                weight: s.map(|s| s.weight),
                desired_replicas: s.map(|s| s.desired_replicas),
                ready_replicas: s.map(|s| s.ready_replicas),
                pinned_by: s
                    .and_then(|s| s.pinned_by.clone())
                    .or_else(|| matches.and_then(pinned_by)),
                url: s.and_then(|s| s.url.clone()),
                name,
                lines: None,
                errors: None,
                error_rate: None,
            }
        })
        .collect()
}

/// How a variant's match pins requests to it, in words.
fn pinned_by(m: &VariantMatch) -> Option<String> {
    let mut ways = Vec::new();
    if let Some(h) = &m.header {
        ways.push(format!("header {}: {}", h.name, h.value));
    }
    if let Some(c) = &m.cookie {
        ways.push(format!("cookie {}={}", c.name, c.value));
    }
    (!ways.is_empty()).then(|| ways.join(", "))
}

/// The log query of a variant's lines within the app's stream.
pub fn variant_query(name: &str) -> String {
    if name == BASELINE {
        BASELINE_QUERY.to_string()
    } else {
        format!("variant:\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Counts every variant's lines and error lines, after recording the read in the app's
/// team's audit log; stops at the first failure (of the logs, or of the audit record).
async fn count_logs(
    state: &AppState,
    p: &Principal,
    prepared: &Prepared,
    env: &str,
    experiments: &mut [ExperimentView],
    now: i64,
) -> ApiResult<()> {
    let backend = LogBackend::of(state)?;
    let app = &prepared.app;
    let names: Vec<&str> = experiments.iter().map(|e| e.name.as_str()).collect();
    let detail = json!({
        "kind": "experiments",
        "query": "log lines and level:error lines per variant",
        "experiments": names,
        "from": experiments.iter().map(|e| e.window.from).min(),
        "to": experiments.iter().map(|e| e.window.to).max(),
        "apps": [app.name],
        "environments": [env],
    });
    state
        .store
        .record_read(&p.actor(), "logs.search", &[app.team_id], &app.name, &detail)
        .await?;
    for experiment in experiments.iter_mut() {
        let window = experiment.window;
        for v in &mut experiment.variants {
            let count = |text: String| {
                let backend = backend.clone();
                let stream = Stream {
                    app: app.name.clone(),
                    env: env.to_string(),
                };
                async move {
                    let read = LogRead {
                        request: SearchRequest {
                            streams: vec![stream],
                            query: parse_query(&text, now)?,
                            from_ms: window.from,
                            to_ms: window.to,
                        },
                        query: text,
                        parsed_at: now,
                    };
                    backend.count(&read).await
                }
            };
            let lines = count(v.query.clone()).await?;
            let errors = count(format!("level:error AND {}", v.query)).await?;
            v.lines = Some(lines);
            v.errors = Some(errors);
            v.error_rate = (lines > 0).then(|| errors as f64 / lines as f64);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn experiment(status: Value) -> Value {
        json!({
            "apiVersion": "ojek.dev/v1alpha1",
            "kind": "Experiment",
            "metadata": {"name": "cashback", "namespace": "promotions-staging"},
            "spec": {
                "app": "promo-gateway",
                "environment": "staging",
                "baselineWeight": 80,
                "variants": [
                    {"name": "b", "weight": 20, "match": {"header": {"name": "x-v", "value": "b"}}},
                    {"name": "c", "weight": 0, "match": {"cookie": {"name": "v", "value": "c"}}},
                ],
                "routing": {"istio": {}},
                "stickiness": {},
                "decision": {"promote": "b"},
                "duration": "90m",
            },
            "status": status,
        })
    }

    #[test]
    fn variants_are_the_baseline_then_the_spec_with_the_status_of_each() {
        let now = 1_800_000_000_000;
        let v = view(
            experiment(json!({
                "phase": "Running",
                "startedAt": "2027-01-15T07:00:00Z",
                "variants": [
                    {"name": "baseline", "namespace": "promotions-staging", "desiredReplicas": 4,
                     "readyReplicas": 3, "weight": 80},
                    {"name": "b", "namespace": "promo-gateway-staging-b", "desiredReplicas": 2,
                     "readyReplicas": 2, "weight": 20, "pinnedBy": "header x-v: b (status)"},
                    {"name": "gone", "namespace": "promo-gateway-staging-gone", "desiredReplicas": 0,
                     "readyReplicas": 0, "weight": 0},
                ],
            })),
            now,
        );
        assert_eq!(v.problem, None);
        let names: Vec<&str> = v.variants.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["baseline", "b", "c", "gone"]);
        let [base, b, c, gone] = &v.variants[..] else {
            panic!("four variants")
        };
        assert!(base.baseline && !b.baseline);
        assert_eq!(
            (base.configured_weight, base.weight, base.ready_replicas),
            (Some(80), Some(80), Some(3))
        );
        assert_eq!(base.query, "NOT variant:*");
        assert_eq!(b.query, "variant:\"b\"");
        assert_eq!(b.pinned_by.as_deref(), Some("header x-v: b (status)"));
        assert_eq!(
            c.pinned_by.as_deref(),
            Some("cookie v=c"),
            "from the spec without a status"
        );
        assert_eq!((c.weight, c.namespace.as_deref()), (None, None));
        assert_eq!((gone.configured_weight, gone.weight), (None, Some(0)));
        let spec = v.spec.expect("spec");
        assert_eq!(
            (spec.routing, spec.stickiness.as_deref(), spec.decision.as_deref()),
            ("istio", Some("session"), Some("promote b"))
        );
        assert_eq!(spec.duration.as_deref(), Some("1h30m"));
        let secs = std::time::Duration::from_secs;
        assert_eq!(go_duration(secs(72 * 3600)), "72h");
        assert_eq!(go_duration(secs(45)), "45s");
        assert!(v.window.since_start);
        assert_eq!((v.window.from, v.window.to), (now - 3_600_000, now + 1));
    }

    #[test]
    fn the_window_is_the_experiments_run_or_the_last_day() {
        // 2027-01-15T08:00:00Z.
        let now = 1_800_000_000_000;
        let hour = 3_600_000;
        let started = |s: Value| window(serde_json::from_value(s).ok().as_ref(), now);
        let w = started(json!({}));
        assert_eq!((w.from, w.to, w.since_start), (now - 24 * hour, now + 1, false));
        let w = started(json!({"startedAt": "2027-01-15T06:00:00Z", "endedAt": "2027-01-15T08:00:00+01:00"}));
        assert_eq!((w.from, w.to, w.since_start), (now - 2 * hour, now - hour, true));
        let w = started(json!({"startedAt": "2027-01-15T06:00:00Z", "endedAt": "2027-01-15T05:00:00Z"}));
        assert_eq!(
            (w.from, w.to),
            (now - 2 * hour, now + 1),
            "an end before the start: up to now"
        );
        // A start in the future (a wrong clock) counts the last day.
        let w = started(json!({"startedAt": "2099-01-01T00:00:00Z"}));
        assert_eq!((w.from, w.since_start), (now - 24 * hour, false));
    }

    #[test]
    fn an_unreadable_experiment_is_named_with_why() {
        let mut o = experiment(json!({}));
        o["spec"]["variants"] = json!("not a list");
        let v = view(o, 0);
        assert!(
            v.problem.as_deref().is_some_and(|p| p.contains("cannot be read")),
            "{v:?}"
        );
        assert!(v.variants.is_empty() && v.spec.is_none());
    }
}
