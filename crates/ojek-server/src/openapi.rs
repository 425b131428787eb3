//! The OpenAPI description of the JSON API (`openapi.yaml`, served as JSON).

use std::sync::{Arc, OnceLock};

use axum::Json;
use axum::http::StatusCode;
use serde_json::Value;

/// The OpenAPI document (YAML source).
pub const OPENAPI_YAML: &str = include_str!("../openapi.yaml");

/// The OpenAPI document as JSON.
pub fn document() -> Result<Value, String> {
    static DOC: OnceLock<Result<Value, String>> = OnceLock::new();
    DOC.get_or_init(|| {
        let file: Arc<str> = Arc::from("openapi.yaml");
        let docs = ojek_spec::source::parse_yaml(&file, OPENAPI_YAML, ojek_spec::Layer::Manifest)
            .map_err(|d| d.to_string())?;
        docs.first()
            .map(|d| d.to_json())
            .ok_or_else(|| "empty OpenAPI document".to_string())
    })
    .clone()
}

/// `GET /api/openapi.json` (no authentication).
pub async fn openapi_json() -> Result<Json<Value>, (StatusCode, String)> {
    document()
        .map(Json)
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e))
}
