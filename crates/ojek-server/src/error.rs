//! API errors: every failure is a status code with a JSON body that says why.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ojek_spec::diagnostic::Diagnostics;
use ojek_store::StoreError;
use serde_json::{Value, json};

/// An API error: status, a machine-readable code, a message, and optional details.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Short code (`not_found`, `conflict`, `invalid_manifest`, …).
    pub code: &'static str,
    /// What went wrong, for people.
    pub message: String,
    /// Extra fields merged into the body (`diagnostics`, `current`, …).
    pub details: Option<Box<Value>>,
    /// `Retry-After` seconds (429, 503).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }
    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    /// 401.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
    /// 403.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    /// 422 with the manifest's diagnostics.
    pub fn invalid(message: impl Into<String>, diagnostics: &Diagnostics) -> Self {
        let mut e = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_manifest", message);
        e.details = Some(Box::new(json!({ "diagnostics": diagnostics_json(diagnostics) })));
        e
    }
    /// Adds detail fields.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(Box::new(details));
        self
    }
    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut body = json!({ "error": self.message, "code": self.code });
        if let (Some(Value::Object(extra)), Some(obj)) = (self.details.as_deref(), body.as_object_mut()) {
            for (k, v) in extra {
                obj.insert(k.clone(), v.clone());
            }
        }
        body
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, axum::Json(self.body())).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => {
                tracing::warn!("database unavailable: {m}");
                let mut e = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "database_unavailable",
                    format!("the database is unavailable, nothing was changed; try again shortly ({m})"),
                );
                e.retry_after = Some(5);
                e
            }
            StoreError::Conflict(rev) => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!(
                    "{} was saved by {} since your base revision (now at revision {}); nothing was saved",
                    rev.app, rev.author, rev.number
                ),
            ),
            StoreError::PlatformConflict(p) => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!(
                    "platform file {} was changed by {} (now at version {}); nothing was saved",
                    p.name, p.updated_by, p.version
                ),
            ),
            // The store's message names the fields and the revision, and says what to do.
            StoreError::SetByManifest {
                ref app,
                revision,
                ref fields,
            } => ApiError::new(StatusCode::CONFLICT, "set_by_manifest", e.to_string())
                .with_details(json!({ "app": app, "revision": revision, "fields": fields })),
            StoreError::AlreadyExists(what) => ApiError::new(
                StatusCode::CONFLICT,
                "already_exists",
                format!("{what} already exists"),
            ),
            StoreError::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            StoreError::InvalidInput(m) => ApiError::bad_request(m),
            StoreError::Database(m) | StoreError::Corrupt(m) => {
                tracing::error!("database error: {m}");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal database error",
                )
            }
        }
    }
}

/// Diagnostics as JSON: severity, file, line, column, path, message, hint.
pub fn diagnostics_json(diags: &Diagnostics) -> Value {
    Value::Array(
        diags
            .0
            .iter()
            .map(|d| {
                json!({
                    "severity": d.severity,
                    "file": d.location.as_ref().map(|l| l.file.to_string()),
                    "line": d.location.as_ref().map(|l| l.line),
                    "column": d.location.as_ref().map(|l| l.column),
                    "path": d.path,
                    "message": d.message,
                    "hint": d.hint,
                })
            })
            .collect(),
    )
}

/// Result of API handlers.
pub type ApiResult<T> = Result<T, ApiError>;
