//! `Status` objects: how a Kubernetes API server reports failures (and some successes).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::discovery::ResourceType;

/// A failed request, answered as a `Status` object with the matching HTTP code.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// `deployments.apps "web" not found`.
    pub fn not_found(rt: &ResourceType, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", rt.group_resource()),
        )
        .with_details(details(rt, name, None))
    }

    /// A path no served resource matches (unknown group, version or kind).
    pub fn no_resource() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
        .with_details(json!({}))
    }

    /// `namespaces "x" not found`, for writes into a namespace that does not exist.
    pub fn namespace_not_found(namespace: &str) -> Self {
        Self::new(404, "NotFound", format!("namespaces \"{namespace}\" not found"))
            .with_details(json!({"name": namespace, "kind": "namespaces"}))
    }

    /// A malformed request (400).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// An object that fails the checks the fake makes (422).
    pub fn invalid(rt: &ResourceType, name: &str, message: impl Into<String>) -> Self {
        let message = format!("{} \"{name}\" is invalid: {}", rt.kind, message.into());
        Self::new(422, "Invalid", message).with_details(details(rt, name, None))
    }

    /// Create of an object that already exists (409).
    pub fn already_exists(rt: &ResourceType, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", rt.group_resource()),
        )
        .with_details(details(rt, name, None))
    }

    /// An update based on a stale `resourceVersion` (409).
    pub fn stale(rt: &ResourceType, name: &str) -> Self {
        let message = format!(
            "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; \
             please apply your changes to the latest version and try again",
            rt.group_resource()
        );
        Self::new(409, "Conflict", message).with_details(details(rt, name, None))
    }

    /// Server-side apply conflicts (409) with one `FieldManagerConflict` cause per field.
    pub fn apply_conflict(message: String, causes: Vec<Value>) -> Self {
        Self::new(409, "Conflict", message).with_details(json!({ "causes": causes }))
    }

    /// A verb the resource does not support here (405).
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    /// A patch type the fake does not implement (415).
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got {content_type:?})"
            ),
        )
    }

    /// An injected failure (`FakeKube::fail_next`).
    pub fn injected(code: u16) -> Self {
        match code {
            503 => Self::new(
                503,
                "ServiceUnavailable",
                "the server is currently unable to handle the request",
            ),
            429 => Self::new(
                429,
                "TooManyRequests",
                "the server has received too many requests",
            ),
            504 => Self::new(
                504,
                "Timeout",
                "the server was unable to return a response in the time allotted",
            ),
            _ => Self::new(
                code,
                "InternalError",
                "Internal error occurred: injected by the fake cluster",
            ),
        }
    }

    /// The `Status` object.
    pub fn to_json(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        });
        if let (Some(obj), Some(details)) = (status.as_object_mut(), &self.details) {
            obj.insert("details".into(), details.clone());
        }
        if let Some(obj) = status.as_object_mut() {
            obj.insert("code".into(), json!(self.code));
        }
        status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (code, Json(self.to_json())).into_response()
    }
}

/// `details` of a `Status`: the resource's name, group, kind (its plural, as real servers do) and uid.
pub(crate) fn details(rt: &ResourceType, name: &str, uid: Option<&str>) -> Value {
    let mut d = Map::new();
    d.insert("name".into(), json!(name));
    if !rt.group.is_empty() {
        d.insert("group".into(), json!(rt.group));
    }
    d.insert("kind".into(), json!(rt.plural));
    if let Some(uid) = uid {
        d.insert("uid".into(), json!(uid));
    }
    Value::Object(d)
}

/// The `Status` a DELETE answers when the object is gone at once.
pub(crate) fn deleted(rt: &ResourceType, name: &str, uid: Option<&str>) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details(rt, name, uid),
    })
}
