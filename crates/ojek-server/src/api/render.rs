//! Validate, render, explain and the editor's live preview — for unsaved manifests (POST) and
//! stored revisions (GET).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use ojek_core::spec::diagnostic::Diagnostics;
use ojek_core::spec::load::{FileReader, LoadedApp, LoadedPlatform, load_app};
use ojek_core::spec::platform::TargetKind;
use ojek_core::{Format, NomadFormat, RenderOptions, Rendered};
use ojek_store::{Revision, Role};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ManifestInput;
use super::apps::{load_revision, readable_app};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, diagnostics_json};
use crate::state::AppState;

/// The file name manifests sent to the API are reported under.
pub const MANIFEST_FILE: &str = "app.yaml";

/// `fromFile` files sent along with a manifest.
pub struct MapReader<'a>(pub &'a BTreeMap<String, String>);

impl FileReader for MapReader<'_> {
    fn read(&self, _manifest: &str, relative: &str) -> Result<String, String> {
        let key = relative.trim_start_matches("./");
        self.0.get(key).cloned().ok_or_else(|| {
            let sent: Vec<&str> = self.0.keys().map(String::as_str).collect();
            if sent.is_empty() {
                format!("file `{relative}` was not sent with the manifest (send it in `files`)")
            } else {
                format!(
                    "file `{relative}` was not sent with the manifest (sent: {})",
                    sent.join(", ")
                )
            }
        })
    }
}

/// A manifest that passed every check against the platform.
pub struct Checked {
    /// The parsed manifest.
    pub loaded: LoadedApp,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.team`.
    pub team: String,
    /// `metadata.description`.
    pub description: String,
    /// Warnings (saving is allowed).
    pub warnings: Diagnostics,
}

/// Parses and validates a manifest for every environment and target of the platform; 422
/// with every diagnostic (file, line, column) if it has errors.
pub async fn checked_manifest(
    state: &AppState,
    text: &str,
    files: &BTreeMap<String, String>,
) -> ApiResult<Checked> {
    let platform = state.platform().await?;
    let loaded = load_app(MANIFEST_FILE, text, &MapReader(files))
        .map_err(|d| ApiError::invalid("the manifest has errors; nothing was saved", &d))?;
    let diags = ojek_core::validate_project(&loaded, &platform);
    if diags.has_errors() {
        return Err(ApiError::invalid(
            "the manifest has errors; nothing was saved",
            &diags,
        ));
    }
    let m = &loaded.app.metadata;
    Ok(Checked {
        name: m.name.clone(),
        team: m.team.clone(),
        description: m.description.clone().unwrap_or_default(),
        warnings: diags,
        loaded,
    })
}

/// A revision without its manifest and files.
pub fn revision_meta(r: &Revision) -> Value {
    json!({
        "app": r.app,
        "number": r.number,
        "author": r.author,
        "authorId": r.author_id,
        "createdAt": r.created_at,
        "message": r.message,
    })
}

/// Render parameters (JSON body fields or query parameters).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderParams {
    /// Environment (required).
    #[serde(default, alias = "env")]
    pub environment: Option<String>,
    /// `kubernetes` or `nomad` (default: the environment's).
    #[serde(default)]
    pub target: Option<TargetKind>,
    /// Kubernetes version (default: the environment's).
    #[serde(default)]
    pub kube_version: Option<String>,
    /// `yaml` (default), `json`, `kustomize`, `helm`.
    #[serde(default)]
    pub format: Option<String>,
    /// `hcl` (default) or `json`.
    #[serde(default)]
    pub nomad_format: Option<String>,
    /// Explain: `Kind/name` or name.
    #[serde(default)]
    pub object: Option<String>,
    /// Explain: a field path or JSON pointer.
    #[serde(default)]
    pub field: Option<String>,
    /// Stored apps: the revision (default: newest).
    #[serde(default)]
    pub revision: Option<i64>,
}

impl RenderParams {
    fn from_extra(extra: serde_json::Map<String, Value>) -> ApiResult<RenderParams> {
        serde_json::from_value(Value::Object(extra))
            .map_err(|e| ApiError::bad_request(format!("invalid field: {e}")))
    }

    fn options(&self, platform: &LoadedPlatform) -> ApiResult<RenderOptions> {
        let env = match &self.environment {
            Some(e) => e.clone(),
            None => {
                let names: Vec<&String> = platform.platform.environments.keys().collect();
                return Err(ApiError::bad_request(format!(
                    "`environment` is required; environments: {}",
                    names.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                )));
            }
        };
        Ok(RenderOptions {
            env,
            target: self.target,
            kube_version: self.kube_version.clone(),
        })
    }

    fn formats(&self) -> ApiResult<(Format, NomadFormat)> {
        let f = match self.format.as_deref().unwrap_or("yaml") {
            "yaml" => Format::Yaml,
            "json" => Format::Json,
            "kustomize" => Format::Kustomize,
            "helm" => Format::Helm,
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown format `{other}`; formats: yaml, json, kustomize, helm"
                )));
            }
        };
        let n = match self.nomad_format.as_deref().unwrap_or("hcl") {
            "hcl" => NomadFormat::Hcl,
            "json" => NomadFormat::Json,
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown nomadFormat `{other}`; formats: hcl, json"
                )));
            }
        };
        Ok((f, n))
    }
}

/// Parses a manifest (unsaved, or a stored revision's); 422 with its diagnostics.
pub fn parse_stored(text: &str, files: &BTreeMap<String, String>) -> ApiResult<LoadedApp> {
    parse(text, files)
}

fn parse(text: &str, files: &BTreeMap<String, String>) -> ApiResult<LoadedApp> {
    load_app(MANIFEST_FILE, text, &MapReader(files))
        .map_err(|d| ApiError::invalid("the manifest has errors", &d))
}

fn do_render(loaded: &LoadedApp, platform: &LoadedPlatform, params: &RenderParams) -> ApiResult<Rendered> {
    let opts = params.options(platform)?;
    ojek_core::render(loaded, platform, &opts).map_err(|d| ApiError::invalid("cannot render", &d))
}

fn render_body(loaded: &LoadedApp, platform: &LoadedPlatform, params: &RenderParams) -> ApiResult<Value> {
    let rendered = do_render(loaded, platform, params)?;
    let (f, n) = params.formats()?;
    let files = ojek_core::package(&rendered, &loaded.app.metadata.name, f, n)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "cannot_package", e))?;
    Ok(json!({
        "target": rendered.target,
        "files": files,
        "warnings": diagnostics_json(&rendered.warnings),
    }))
}

fn explain_body(loaded: &LoadedApp, platform: &LoadedPlatform, params: &RenderParams) -> ApiResult<Value> {
    let rendered = do_render(loaded, platform, params)?;
    let entries = ojek_core::explain(&rendered, params.object.as_deref(), params.field.as_deref())
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "cannot_explain", e))?;
    Ok(json!({ "target": rendered.target, "explanations": entries }))
}

/// `POST /api/validate`: every diagnostic of a manifest against the platform (200 either way).
pub async fn validate(
    State(state): State<AppState>,
    _p: Principal,
    input: ManifestInput,
) -> ApiResult<Json<Value>> {
    let platform = state.platform().await?;
    let diags = match load_app(MANIFEST_FILE, &input.manifest, &MapReader(&input.files)) {
        Ok(loaded) => ojek_core::validate_project(&loaded, &platform),
        Err(d) => d,
    };
    Ok(Json(
        json!({ "valid": !diags.has_errors(), "diagnostics": diagnostics_json(&diags) }),
    ))
}

/// `POST /api/render`: renders an unsaved manifest (422 with diagnostics if it cannot).
pub async fn render(
    State(state): State<AppState>,
    _p: Principal,
    input: ManifestInput,
) -> ApiResult<Json<Value>> {
    let platform = state.platform().await?;
    let params = RenderParams::from_extra(input.extra)?;
    let loaded = parse(&input.manifest, &input.files)?;
    Ok(Json(render_body(&loaded, &platform, &params)?))
}

/// `POST /api/explain`: where generated fields of an unsaved manifest come from.
pub async fn explain(
    State(state): State<AppState>,
    _p: Principal,
    input: ManifestInput,
) -> ApiResult<Json<Value>> {
    let platform = state.platform().await?;
    let params = RenderParams::from_extra(input.extra)?;
    let loaded = parse(&input.manifest, &input.files)?;
    Ok(Json(explain_body(&loaded, &platform, &params)?))
}

async fn stored(state: &AppState, p: &Principal, name: &str, params: &RenderParams) -> ApiResult<LoadedApp> {
    let app = readable_app(state, p, name, Role::Viewer).await?;
    let rev = load_revision(state, &app, params.revision).await?;
    parse(&rev.manifest, &rev.files)
}

/// `GET /api/apps/{app}/render?environment=…`: renders a stored revision.
pub async fn render_stored(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
    Query(params): Query<RenderParams>,
) -> ApiResult<Json<Value>> {
    let loaded = stored(&state, &p, &name, &params).await?;
    let platform = state.platform().await?;
    Ok(Json(render_body(&loaded, &platform, &params)?))
}

/// `GET /api/apps/{app}/explain?environment=…&object=…&field=…`.
pub async fn explain_stored(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
    Query(params): Query<RenderParams>,
) -> ApiResult<Json<Value>> {
    let loaded = stored(&state, &p, &name, &params).await?;
    let platform = state.platform().await?;
    Ok(Json(explain_body(&loaded, &platform, &params)?))
}

/// `GET /api/environments`: the platform's environments and their targets.
pub async fn environments(State(state): State<AppState>, _p: Principal) -> ApiResult<Json<Value>> {
    let platform = state.platform().await?;
    let envs: Vec<Value> = platform
        .platform
        .environments
        .iter()
        .map(|(name, e)| {
            json!({
                "name": name,
                "target": e.target,
                "kubernetes": e.kubernetes.is_some(),
                "nomad": e.nomad.is_some(),
            })
        })
        .collect();
    Ok(Json(json!({ "environments": envs })))
}

/// `POST /api/preview`: the editor's live preview — diagnostics, and the output of both
/// targets (where the environment has them) with, per output line, the object and field it
/// shows (for click-to-explain). Always 200 unless the request itself is bad.
pub async fn preview(
    State(state): State<AppState>,
    _p: Principal,
    input: ManifestInput,
) -> ApiResult<Json<Value>> {
    let platform = state.platform().await?;
    let params = RenderParams::from_extra(input.extra)?;
    Ok(Json(preview_body(
        &input.manifest,
        &input.files,
        &platform,
        &params,
    )))
}

/// The preview of a manifest (also used by benchmarks and the UI).
pub fn preview_body(
    text: &str,
    files: &BTreeMap<String, String>,
    platform: &LoadedPlatform,
    params: &RenderParams,
) -> Value {
    let loaded = match load_app(MANIFEST_FILE, text, &MapReader(files)) {
        Ok(l) => l,
        Err(d) => return json!({ "valid": false, "diagnostics": diagnostics_json(&d) }),
    };
    let envs = &platform.platform.environments;
    let env_name = params
        .environment
        .clone()
        .filter(|e| envs.contains_key(e))
        .or_else(|| envs.keys().next().cloned())
        .unwrap_or_default();
    let Some(env) = envs.get(&env_name) else {
        return json!({ "valid": false, "diagnostics": [], "error": "the platform has no environments" });
    };
    let mut all = Diagnostics::default();
    let mut out = serde_json::Map::new();
    for (target, present) in [
        (TargetKind::Kubernetes, env.kubernetes.is_some()),
        (TargetKind::Nomad, env.nomad.is_some()),
    ] {
        if !present {
            out.insert(
                target.as_str().into(),
                json!({ "available": false, "reason": format!("environment {env_name} has no {} target", target.as_str()) }),
            );
            continue;
        }
        let opts = RenderOptions {
            env: env_name.clone(),
            target: Some(target),
            kube_version: None,
        };
        match ojek_core::render(&loaded, platform, &opts) {
            Ok(r) => {
                let mut v = preview_target(&r);
                if let Some(o) = v.as_object_mut() {
                    o.insert("warnings".into(), diagnostics_json(&r.warnings));
                }
                all.0.extend(r.warnings.0);
                out.insert(target.as_str().into(), v);
            }
            Err(d) => {
                out.insert(
                    target.as_str().into(),
                    json!({ "available": true, "error": "cannot render: see the problems list" }),
                );
                all.0.extend(d.0);
            }
        }
    }
    all.sort();
    all.0.dedup();
    json!({
        "valid": !all.has_errors(),
        "environment": env_name,
        "diagnostics": diagnostics_json(&all),
        "kubernetes": out.remove("kubernetes"),
        "nomad": out.remove("nomad"),
    })
}

/// Text of the rendered objects with a line map: `lines[i]` is `[object index, JSON pointer]`
/// of text line `i + 1`, or null. For Nomad, also the HCL2 jobspec.
fn preview_target(r: &Rendered) -> Value {
    let mut text = String::new();
    let mut lines: Vec<Value> = Vec::new();
    let mut objects = Vec::new();
    for (i, doc) in r.objects.iter().enumerate() {
        if i > 0 {
            text.push_str("---\n");
            lines.push(Value::Null);
        }
        let (t, pointers) = ojek_output::yaml::to_yaml_with_lines(&doc.value);
        text.push_str(&t);
        for p in pointers {
            lines.push(json!([i, p]));
        }
        objects.push(json!({ "id": doc.id(), "kind": doc.kind(), "name": doc.name() }));
    }
    let mut v = json!({ "available": true, "text": text, "lines": lines, "objects": objects });
    if r.target == TargetKind::Nomad {
        let hcl: Vec<String> = r.objects.iter().map(|d| ojek_nomad_hcl(&d.value)).collect();
        v["hcl"] = Value::String(hcl.join("\n"));
    }
    v
}

fn ojek_nomad_hcl(job: &Value) -> String {
    ojek_nomad::to_hcl(job).unwrap_or_else(|e| format!("# cannot write HCL: {e}\n"))
}
