//! The HTTP surface: routes, ACL and region checks, fault injection, and the translation of
//! state answers into Nomad's responses (JSON bodies, plain-text errors, `X-Nomad-Index`).

use std::collections::HashMap;
use std::sync::{Arc, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;

use super::Shared;
use super::state::ApiError;

type Params = Query<HashMap<String, String>>;
type Ctx = State<Arc<Shared>>;

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/jobs", get(list_jobs).post(register))
        .route("/v1/job/{id}", get(read_job).post(register_at).delete(deregister))
        .route("/v1/job/{id}/plan", post(plan))
        .route("/v1/job/{id}/versions", get(versions))
        .route("/v1/job/{id}/deployment", get(latest_deployment))
        .route("/v1/job/{id}/deployments", get(job_deployments))
        .route("/v1/job/{id}/allocations", get(job_allocations))
        .route("/v1/job/{id}/revert", post(revert))
        .route("/v1/deployment/{id}", get(deployment))
        .route("/v1/allocation/{id}", get(allocation))
        .fallback(|| async { text(StatusCode::NOT_FOUND, "404 page not found") })
        .layer(middleware::from_fn_with_state(shared.clone(), gate))
        .with_state(shared)
}

/// Records the request, then applies injected faults, the ACL token and the region.
async fn gate(State(shared): Ctx, Query(params): Params, request: Request, next: Next) -> Response {
    let line = match request.uri().query() {
        Some(q) => format!("{} {}?{q}", request.method(), request.uri().path()),
        None => format!("{} {}", request.method(), request.uri().path()),
    };
    shared
        .requests
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(line);
    {
        let mut faults = shared.faults.lock().unwrap_or_else(PoisonError::into_inner);
        if faults.remaining > 0 {
            faults.remaining -= 1;
            let status = StatusCode::from_u16(faults.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return text(status, &format!("injected failure ({})", status.as_u16()));
        }
    }
    if let Some(expected) = &shared.options.acl_token {
        let headers = request.headers();
        let given = headers
            .get("X-Nomad-Token")
            .and_then(|v| v.to_str().ok())
            .or_else(|| {
                headers
                    .get("Authorization")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
            });
        if given != Some(expected.as_str()) {
            return text(StatusCode::FORBIDDEN, "Permission denied");
        }
    }
    if let Err(e) = shared
        .state()
        .check_region(params.get("region").map(String::as_str))
    {
        return error(e);
    }
    next.run(request).await
}

fn text(status: StatusCode, message: &str) -> Response {
    (
        status,
        [("Content-Type", "text/plain; charset=utf-8")],
        message.to_string(),
    )
        .into_response()
}

fn error(e: ApiError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    text(status, &e.message)
}

/// A JSON answer with `X-Nomad-Index` (and the other query-meta headers).
fn json_response(body: Value, index: u64) -> Response {
    let mut response = axum::Json(body).into_response();
    let headers = response.headers_mut();
    headers.insert("X-Nomad-Index", HeaderValue::from(index));
    headers.insert("X-Nomad-KnownLeader", HeaderValue::from_static("true"));
    headers.insert("X-Nomad-LastContact", HeaderValue::from_static("0"));
    response
}

fn namespace(params: &HashMap<String, String>) -> String {
    params
        .get("namespace")
        .filter(|n| !n.is_empty())
        .cloned()
        .unwrap_or_else(|| "default".into())
}

fn flag(params: &HashMap<String, String>, name: &str) -> bool {
    params.get(name).is_some_and(|v| v == "true" || v == "1")
}

fn decode(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::new(400, format!("Failed to decode request body: {e}")))
}

/// The index of a read: the object's modify index, else the state's.
fn index_of(body: &Value, fallback: u64) -> u64 {
    body.get("ModifyIndex")
        .and_then(Value::as_u64)
        .unwrap_or(fallback)
}

async fn list_jobs(State(shared): Ctx, Query(params): Params) -> Response {
    let state = shared.state();
    let prefix = params.get("prefix").map_or("", String::as_str);
    json_response(state.list(&namespace(&params), prefix), state.index())
}

async fn read_job(State(shared): Ctx, Path(id): Path<String>, Query(params): Params) -> Response {
    let state = shared.state();
    match state.job(&namespace(&params), &id) {
        Some(job) => {
            let index = index_of(&job, state.index());
            json_response(job, index)
        }
        None => text(StatusCode::NOT_FOUND, "job not found"),
    }
}

async fn register(State(shared): Ctx, Query(params): Params, body: Bytes) -> Response {
    do_register(&shared, None, &params, &body)
}

async fn register_at(
    State(shared): Ctx,
    Path(id): Path<String>,
    Query(params): Params,
    body: Bytes,
) -> Response {
    do_register(&shared, Some(&id), &params, &body)
}

fn do_register(
    shared: &Shared,
    path_id: Option<&str>,
    params: &HashMap<String, String>,
    body: &Bytes,
) -> Response {
    let request = match decode(body) {
        Ok(v) => v,
        Err(e) => return error(e),
    };
    let Some(job) = request.get("Job").filter(|j| j.is_object()) else {
        return text(StatusCode::BAD_REQUEST, "Job must be specified");
    };
    if let Some(id) = path_id
        && job.get("ID").and_then(Value::as_str) != Some(id)
    {
        return text(StatusCode::BAD_REQUEST, "Job ID does not match name");
    }
    let enforce = request
        .get("EnforceIndex")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let index = request.get("JobModifyIndex").and_then(Value::as_u64).unwrap_or(0);
    let preserve = request
        .get("PreserveCounts")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut state = shared.state();
    match state.register(&namespace(params), job, enforce.then_some(index), preserve) {
        Ok(reply) => {
            let index = state.index();
            json_response(reply, index)
        }
        Err(e) => error(e),
    }
}

async fn plan(State(shared): Ctx, Path(id): Path<String>, Query(params): Params, body: Bytes) -> Response {
    let request = match decode(&body) {
        Ok(v) => v,
        Err(e) => return error(e),
    };
    let Some(job) = request.get("Job").filter(|j| j.is_object()) else {
        return text(StatusCode::BAD_REQUEST, "Job must be specified");
    };
    if job.get("ID").and_then(Value::as_str) != Some(id.as_str()) {
        return text(StatusCode::BAD_REQUEST, "Job ID does not match");
    }
    let with_diff = request.get("Diff").and_then(Value::as_bool).unwrap_or(false);
    let state = shared.state();
    match state.plan(&namespace(&params), job, with_diff) {
        Ok(reply) => json_response(reply, state.index()),
        Err(e) => error(e),
    }
}

async fn versions(State(shared): Ctx, Path(id): Path<String>, Query(params): Params) -> Response {
    let state = shared.state();
    match state.versions(&namespace(&params), &id, flag(&params, "diffs")) {
        Some(body) => json_response(body, state.index()),
        None => text(StatusCode::NOT_FOUND, "job versions not found"),
    }
}

async fn latest_deployment(State(shared): Ctx, Path(id): Path<String>, Query(params): Params) -> Response {
    let state = shared.state();
    match state.latest_deployment(&namespace(&params), &id) {
        Some(body) => {
            let index = index_of(&body, state.index());
            json_response(body, index)
        }
        None => text(StatusCode::NOT_FOUND, "job not found"),
    }
}

async fn job_deployments(State(shared): Ctx, Path(id): Path<String>, Query(params): Params) -> Response {
    let state = shared.state();
    match state.job_deployments(&namespace(&params), &id) {
        Some(body) => json_response(body, state.index()),
        None => text(StatusCode::NOT_FOUND, "job not found"),
    }
}

async fn job_allocations(State(shared): Ctx, Path(id): Path<String>, Query(params): Params) -> Response {
    let state = shared.state();
    json_response(state.allocations(&namespace(&params), &id), state.index())
}

async fn revert(State(shared): Ctx, Path(id): Path<String>, Query(params): Params, body: Bytes) -> Response {
    let request = match decode(&body) {
        Ok(v) => v,
        Err(e) => return error(e),
    };
    if request.get("JobID").and_then(Value::as_str) != Some(id.as_str()) {
        return text(StatusCode::BAD_REQUEST, "Job ID does not match");
    }
    let Some(version) = request.get("JobVersion").and_then(Value::as_u64) else {
        return text(StatusCode::BAD_REQUEST, "missing JobVersion");
    };
    let prior = request.get("EnforcePriorVersion").and_then(Value::as_u64);
    let mut state = shared.state();
    match state.revert(&namespace(&params), &id, version, prior) {
        Ok(reply) => {
            let index = state.index();
            json_response(reply, index)
        }
        Err(e) => error(e),
    }
}

async fn deregister(State(shared): Ctx, Path(id): Path<String>, Query(params): Params) -> Response {
    let mut state = shared.state();
    match state.deregister(&namespace(&params), &id, flag(&params, "purge")) {
        Ok(reply) => {
            let index = state.index();
            json_response(reply, index)
        }
        Err(e) => error(e),
    }
}

async fn deployment(State(shared): Ctx, Path(id): Path<String>) -> Response {
    let state = shared.state();
    match state.deployment(&id) {
        Some(body) => {
            let index = index_of(&body, state.index());
            json_response(body, index)
        }
        None => text(StatusCode::NOT_FOUND, "deployment not found"),
    }
}

async fn allocation(State(shared): Ctx, Path(id): Path<String>) -> Response {
    let state = shared.state();
    match state.allocation(&id) {
        Some(body) => {
            let index = index_of(&body, state.index());
            json_response(body, index)
        }
        None => text(StatusCode::NOT_FOUND, "alloc not found"),
    }
}
