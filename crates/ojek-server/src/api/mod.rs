//! The JSON API under `/api` (described in `openapi.yaml`, served at `/api/openapi.json`).
//! Authentication: `Authorization: Bearer ojek_…` (team-scoped token) or the UI's session
//! cookie plus the `X-CSRF-Token` header for changes.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use axum::routing::{delete, get, post, put};
use serde::Deserialize;
use serde_json::Value;

use crate::error::ApiError;
use crate::state::AppState;

pub mod admin;
pub mod apps;
pub mod deploy;
pub mod experiments;
pub mod promote;
pub mod render;

/// The API routes (mounted under `/api`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(crate::openapi::openapi_json))
        .route("/me", get(admin::me))
        .route("/apps", get(apps::list).post(apps::create))
        .route(
            "/apps/{app}",
            get(apps::show).put(apps::update).delete(apps::remove),
        )
        .route("/apps/{app}/revisions", get(apps::revisions))
        .route("/apps/{app}/revisions/{number}", get(apps::revision))
        .route("/apps/{app}/diff", get(apps::diff))
        .route("/apps/{app}/render", get(render::render_stored))
        .route("/apps/{app}/explain", get(render::explain_stored))
        .route("/apps/{app}/plan", post(deploy::plan))
        .route(
            "/apps/{app}/deployments",
            get(deploy::history).post(deploy::deploy),
        )
        .route("/apps/{app}/deployments/{id}", get(deploy::show))
        .route("/apps/{app}/rollback", post(deploy::rollback))
        .route("/apps/{app}/promote", post(promote::promote))
        .route("/apps/{app}/status", get(deploy::status))
        .route("/apps/{app}/live", get(deploy::live))
        .route("/apps/{app}/experiments", get(experiments::list))
        .route(
            "/logs/settings",
            get(crate::logs::admin::settings).put(crate::logs::admin::put_settings),
        )
        .route(
            "/logs/secrets",
            get(crate::logs::admin::secrets).post(crate::logs::admin::create_secret),
        )
        .route("/logs/secrets/{id}", delete(crate::logs::admin::revoke_secret))
        .route(
            "/logs/secrets/{id}/rotate",
            post(crate::logs::admin::rotate_secret),
        )
        .route("/logs/search", get(crate::logs::search::search))
        .route("/logs/histogram", get(crate::logs::search::histogram))
        .route("/logs/top", get(crate::logs::search::top))
        .route("/logs/tail", get(crate::logs::search::tail))
        .route("/validate", post(render::validate))
        .route("/render", post(render::render))
        .route("/explain", post(render::explain))
        .route("/preview", post(render::preview))
        .route("/environments", get(render::environments))
        .route("/platform", get(admin::platform).put(admin::save_platform))
        .route("/audit", get(admin::audit))
        .route("/teams", get(admin::teams).post(admin::create_team))
        .route("/teams/{team}/members", get(admin::members))
        .route(
            "/teams/{team}/members/{user}",
            put(admin::set_member).delete(admin::remove_member),
        )
        .route("/users", get(admin::users).post(admin::create_user))
        .route("/tokens", get(admin::tokens).post(admin::create_token))
        .route("/tokens/{id}", delete(admin::revoke_token))
        .layer(axum::middleware::from_fn(json_errors))
}

/// Rejections of axum's own extractors (a bad query string or path parameter) and 405s come
/// as plain text or without a body: answer them as JSON errors like every other API failure.
async fn json_errors(req: Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let method = req.method().clone();
    let path = match req.extensions().get::<axum::extract::OriginalUri>() {
        Some(original) => original.path().to_string(),
        None => req.uri().path().to_string(),
    };
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let (code, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            let allow = parts
                .headers
                .get(header::ALLOW)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let message = format!("{method} is not allowed on {path} (allowed: {allow})");
            ("method_not_allowed", message)
        }
        StatusCode::BAD_REQUEST => ("bad_request", text),
        StatusCode::NOT_FOUND => ("not_found", text),
        _ => ("error", text),
    };
    let message = if message.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        message
    };
    let mut json = ApiError::new(status, code, message).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            json.headers_mut().insert(name, value.clone());
        }
    }
    json
}

/// A manifest as sent by clients: YAML (or JSON) text, or a JSON object.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum ManifestText {
    /// YAML or JSON text.
    Text(String),
    /// A JSON object (written out as YAML before parsing, so locations are lines of that).
    Object(serde_json::Map<String, Value>),
}

impl ManifestText {
    /// The manifest as text.
    pub fn into_text(self) -> String {
        match self {
            ManifestText::Text(s) => s,
            ManifestText::Object(o) => ojek_output::yaml::to_yaml(&Value::Object(o)),
        }
    }
}

/// A manifest with its `fromFile` files, and what to do with it.
#[derive(Clone, Debug, Default)]
pub struct ManifestInput {
    /// Manifest text.
    pub manifest: String,
    /// Files referenced by `fromFile`, by relative path.
    pub files: BTreeMap<String, String>,
    /// Revision message.
    pub message: String,
    /// The revision the edit started from (required for updates).
    pub base_revision: Option<i64>,
    /// Other fields of a JSON body (environment, target, … for previews).
    pub extra: serde_json::Map<String, Value>,
    /// An audit entry to write with the saved revision (set by handlers, never by a body).
    pub also_audit: Option<ojek_store::AlsoAudit>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonManifest {
    manifest: ManifestText,
    #[serde(default)]
    files: BTreeMap<String, String>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    base_revision: Option<i64>,
    #[serde(flatten)]
    extra: serde_json::Map<String, Value>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ManifestQuery {
    #[serde(default)]
    message: String,
    #[serde(default)]
    base_revision: Option<i64>,
}

/// True if a content type is YAML.
fn is_yaml(ct: &str) -> bool {
    let ct = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    matches!(
        ct.as_str(),
        "application/yaml" | "application/x-yaml" | "text/yaml" | "text/x-yaml" | "text/plain"
    )
}

impl FromRequest<AppState> for ManifestInput {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let query: ManifestQuery = req
            .uri()
            .query()
            .map(serde_urlencoded_query)
            .transpose()?
            .unwrap_or_default();
        // With a YAML body, the other query parameters (environment, target, …) are what a
        // JSON body would carry beside the manifest.
        let query_extra: Vec<(String, String)> = req
            .uri()
            .query()
            .map(serde_urlencoded_query)
            .transpose()?
            .unwrap_or_default();
        let bytes = Bytes::from_request(req, state).await.map_err(body_error)?;
        if is_yaml(&ct) {
            let manifest = String::from_utf8(bytes.to_vec())
                .map_err(|_| ApiError::bad_request("the manifest is not UTF-8 text"))?;
            let extra = query_extra
                .into_iter()
                .filter(|(k, _)| k != "message" && k != "baseRevision")
                .map(|(k, v)| (k, Value::String(v)))
                .collect();
            return Ok(ManifestInput {
                manifest,
                message: query.message,
                base_revision: query.base_revision,
                extra,
                ..Default::default()
            });
        }
        let body: JsonManifest = parse_json(&bytes)?;
        Ok(ManifestInput {
            manifest: body.manifest.into_text(),
            files: body.files,
            message: body.message,
            base_revision: body.base_revision,
            extra: body.extra,
            also_audit: None,
        })
    }
}

fn serde_urlencoded_query<T: serde::de::DeserializeOwned>(q: &str) -> Result<T, ApiError> {
    serde_urlencoded::from_str(q).map_err(|e| ApiError::bad_request(format!("bad query: {e}")))
}

/// A JSON body, with serde's message (line and column) on error.
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

/// 413 for bodies over the limit, 400 for other body errors.
pub fn body_error(e: axum::extract::rejection::BytesRejection) -> ApiError {
    let status = e.status();
    if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            status,
            "too_large",
            "the request body is larger than this server accepts",
        )
    } else {
        ApiError::new(status, "bad_body", e.body_text())
    }
}

/// A JSON body extractor with clear 400/413 errors.
pub struct JsonBody<T>(pub T);

impl<T: serde::de::DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(body_error)?;
        Ok(JsonBody(parse_json(&bytes)?))
    }
}
