//! The editor's form tab talks to these two JSON endpoints (session + `X-CSRF-Token`): the
//! form model of a manifest (`crate::form`), and a manifest with a changed form applied to it
//! (comments and fields the form does not show are kept).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::api::JsonBody;
use crate::api::render::MANIFEST_FILE;
use crate::auth::Principal;
use crate::error::diagnostics_json;
use crate::form::{FormApp, FormError, apply_form, form_from_yaml};

/// Body of `POST /ui/form/from-yaml`.
#[derive(Debug, Deserialize)]
pub struct FromYaml {
    /// The manifest text.
    manifest: String,
}

/// `POST /ui/form/from-yaml {manifest}`: `{form}`, or 422 `{diagnostics}` when the YAML
/// cannot be read.
pub async fn from_yaml(_p: Principal, JsonBody(body): JsonBody<FromYaml>) -> Response {
    match form_from_yaml(MANIFEST_FILE, &body.manifest) {
        Ok(form) => Json(json!({ "form": form })).into_response(),
        Err(d) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({
                "error": "the YAML cannot be read; fix it in the YAML tab first",
                "diagnostics": diagnostics_json(&d),
            })),
        )
            .into_response(),
    }
}

/// Body of `POST /ui/form/apply`.
#[derive(Debug, Deserialize)]
pub struct Apply {
    /// The manifest text the form was read from.
    manifest: String,
    /// The edited form.
    form: FormApp,
}

/// `POST /ui/form/apply {manifest, form}`: `{manifest}`, or 422 `{error, field}` (`field`: the
/// manifest path of the form value at fault, when there is one).
pub async fn apply(_p: Principal, JsonBody(body): JsonBody<Apply>) -> Response {
    match apply_form(MANIFEST_FILE, &body.manifest, &body.form) {
        Ok(text) => Json(json!({ "manifest": text })).into_response(),
        Err(e) => {
            let field = match &e {
                FormError::Invalid { field, .. } | FormError::ReadOnly { field } => Some(field.clone()),
                _ => None,
            };
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({ "error": e.to_string(), "field": field })),
            )
                .into_response()
        }
    }
}
