//! Promoting an experiment variant: `POST /api/apps/{app}/promote`.
//!
//! An A/B experiment (`ojek-experiments`) ends when its controller promotes the winning
//! variant: the variant's overrides become a new revision of the app, written into the
//! manifest's override for the experiment's environment
//! (`environments.<env>.processes.<process>`), keeping the user's comments and formatting
//! (`form::apply_json`). The new text is saved like any edit (`apps::save`: editor role,
//! every check of the platform, optimistic concurrency on `baseRevision`, audited by the
//! store) with a message naming the experiment and the variant.
//!
//! That message is also the idempotency marker: the controller may crash after the save and
//! send the same promotion again, which is then answered with the revision already saved.
//!
//! The overrides are merged into the environment override the way the experiment's shard
//! merged them over it (`ojek_spec::load::resolve_with`, maps key by key, lists and scalars
//! replaced), so the environment then runs what the variant ran. A variant's `replicas` is
//! the experiment's scale, not the environment's: it is not promoted, and the answer says so.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use ojek_core::spec::load::resolve;
use ojek_core::spec::source::{Layer, parse_yaml};
use ojek_experiments::crd::Overrides;
use ojek_store::{AppSummary, Revision, Role};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::apps::{load_revision, readable_app, save};
use super::render::{MANIFEST_FILE, parse_stored};
use super::{JsonBody, ManifestInput};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, diagnostics_json};
use crate::state::AppState;

/// The audit action of a promotion (beside the store's `app.save` of its revision).
const AUDIT_ACTION: &str = "experiment.promote";

/// The fields of [`Overrides`]: a request naming another is refused rather than half
/// applied. `promoted_fields` destructures `Overrides` whole, so a new field fails to compile
/// there until it is handled and listed here.
const OVERRIDE_FIELDS: [&str; 6] = ["image", "args", "env", "replicas", "cpu", "memory"];
/// The fields of a CPU or memory amount (`ojek_experiments::crd::Amount`).
const AMOUNT_FIELDS: [&str; 2] = ["request", "limit"];

/// Longest experiment reference (`<namespace>/<name>`: a 63-character label and a
/// 253-character name) and variant name accepted.
const MAX_EXPERIMENT: usize = 63 + 1 + 253;
const MAX_VARIANT: usize = 63;

/// Body of `POST /api/apps/{app}/promote`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PromoteRequest {
    /// The experiment's environment, whose override receives the overrides.
    environment: String,
    /// The process the experiment split.
    process: String,
    /// The winning variant's overrides (an `ojek_experiments::crd::Overrides`, checked for
    /// unknown fields first).
    overrides: Map<String, Value>,
    /// The revision the experiment ran against.
    base_revision: i64,
    /// The experiment, `<namespace>/<name>`.
    experiment: String,
    /// The winning variant.
    variant: String,
}

impl PromoteRequest {
    /// The new revision's message, which marks it as this promotion.
    fn marker(&self) -> String {
        format!(
            "Promote variant {} of experiment {} in {}",
            self.variant, self.experiment, self.environment
        )
    }

    /// What the audit entry adds to the revision (the store writes it in the save's
    /// transaction as `app <app> rev <number>: <detail>`).
    fn audit_detail(&self) -> String {
        format!(
            "variant {} of experiment {} in {}, process {} (from rev {})",
            self.variant, self.experiment, self.environment, self.process, self.base_revision
        )
    }
}

/// `POST /api/apps/{app}/promote` (editor): saves the variant's overrides as a new revision;
/// 201 `{revision, replayed: false, ignored, warnings}`, or 200 with `replayed: true` and the
/// revision saved before when this promotion was already saved since `baseRevision`.
pub async fn promote(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
    JsonBody(req): JsonBody<PromoteRequest>,
) -> ApiResult<impl IntoResponse> {
    check_names(&req)?;
    let overrides = parse_overrides(&req.overrides)?;
    let (fields, ignored) = promoted_fields(&overrides);
    let app = readable_app(&state, &p, &name, Role::Editor).await?;
    let marker = req.marker();
    if app.head != req.base_revision
        && let Some(number) = promoted_since(&state, &app, req.base_revision, &marker).await?
    {
        return replayed(number, ignored);
    }

    let base = load_revision(&state, &app, Some(req.base_revision)).await?;
    let text = promoted_text(&state, &app, &base, &req, &fields).await?;
    let input = ManifestInput {
        manifest: text,
        files: base.files,
        message: marker.clone(),
        base_revision: Some(base.number),
        extra: Map::new(),
        // Written in the save's transaction: a saved promotion is never without its entry.
        also_audit: Some(ojek_store::AlsoAudit {
            action: AUDIT_ACTION.to_string(),
            detail: req.audit_detail(),
        }),
    };
    let (rev, warnings) = match save(&state, &p, &app.name, input).await {
        Ok(saved) => saved,
        // A concurrent send of this same promotion may have won the race.
        Err(e) if e.code == "conflict" => {
            let Some(now) = state.store.app(&app.name).await? else {
                return Err(e);
            };
            return match promoted_since(&state, &now, req.base_revision, &marker).await? {
                Some(number) => replayed(number, ignored),
                None => Err(e),
            };
        }
        Err(e) => return Err(e),
    };
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "revision": rev.number,
            "replayed": false,
            "ignored": ignored,
            "warnings": diagnostics_json(&warnings),
        })),
    ))
}

/// Revision `base`'s manifest with `fields` merged into the override of the request's
/// environment and process, which must exist (400 otherwise).
async fn promoted_text(
    state: &AppState,
    app: &AppSummary,
    base: &Revision,
    req: &PromoteRequest,
    fields: &Map<String, Value>,
) -> ApiResult<String> {
    let platform = state.platform().await?;
    let environments = &platform.platform.environments;
    if !environments.contains_key(&req.environment) {
        let names: Vec<&str> = environments.keys().map(String::as_str).collect();
        return Err(ApiError::bad_request(format!(
            "environment: the platform file has no environment `{}`; environments: {}",
            req.environment,
            names.join(", ")
        )));
    }
    let loaded = parse_stored(&base.manifest, &base.files)?;
    let resolved = resolve(&loaded, &req.environment).map_err(|d| {
        ApiError::invalid(
            format!(
                "revision {} does not resolve for {}; nothing was saved",
                base.number, req.environment
            ),
            &d,
        )
    })?;
    if !resolved.app.processes.contains_key(&req.process) {
        let names: Vec<&str> = resolved.app.processes.keys().map(String::as_str).collect();
        return Err(ApiError::bad_request(format!(
            "process: {} has no process `{}` in {}; processes: {}",
            app.name,
            req.process,
            req.environment,
            names.join(", ")
        )));
    }

    let mut desired = document_json(&base.manifest)?;
    let target = process_override(&mut desired, &req.environment, &req.process)?;
    merge(target, fields);
    crate::form::apply_json(MANIFEST_FILE, &base.manifest, &desired).map_err(|e| {
        tracing::error!(
            "promote {}: cannot write the overrides into revision {}: {e}",
            app.name,
            base.number
        );
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!(
                "could not write the overrides into revision {}'s manifest; nothing was saved",
                base.number
            ),
        )
    })
}

/// The answer to a promotion saved before (as revision `number`, audited with it).
fn replayed(number: i64, ignored: Vec<&'static str>) -> ApiResult<(StatusCode, Json<Value>)> {
    Ok((
        StatusCode::OK,
        Json(json!({ "revision": number, "replayed": true, "ignored": ignored, "warnings": [] })),
    ))
}

/// The revision saved after `base` with `marker` as its message, if any (the newest 500).
async fn promoted_since(
    state: &AppState,
    app: &AppSummary,
    base: i64,
    marker: &str,
) -> ApiResult<Option<i64>> {
    if app.head <= base {
        return Ok(None);
    }
    let since = state
        .store
        .revisions(&app.name, None, (app.head - base).min(500))
        .await?;
    Ok(since
        .iter()
        .take_while(|r| r.number > base)
        .find(|r| r.message == marker)
        .map(|r| r.number))
}

/// The experiment and the variant are written into the revision message, which is the
/// idempotency marker: without spaces or control characters it reads one way only.
fn check_names(req: &PromoteRequest) -> ApiResult<()> {
    for (field, value, max) in [
        ("experiment", &req.experiment, MAX_EXPERIMENT),
        ("variant", &req.variant, MAX_VARIANT),
    ] {
        if value.is_empty() || value.len() > max || value.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(ApiError::bad_request(format!(
                "{field}: expected 1 to {max} characters without spaces, got {value:?}"
            )));
        }
    }
    Ok(())
}

/// The overrides, refusing fields `Overrides` does not have (it would ignore them).
fn parse_overrides(raw: &Map<String, Value>) -> ApiResult<Overrides> {
    for (key, value) in raw {
        if !OVERRIDE_FIELDS.contains(&key.as_str()) {
            return Err(ApiError::bad_request(format!(
                "overrides.{key}: unknown field; overrides have {}",
                OVERRIDE_FIELDS.join(", ")
            )));
        }
        if let ("cpu" | "memory", Value::Object(amount)) = (key.as_str(), value)
            && let Some(other) = amount.keys().find(|k| !AMOUNT_FIELDS.contains(&k.as_str()))
        {
            return Err(ApiError::bad_request(format!(
                "overrides.{key}.{other}: unknown field; amounts have request, limit"
            )));
        }
    }
    serde_json::from_value(Value::Object(raw.clone()))
        .map_err(|e| ApiError::bad_request(format!("overrides: {e}")))
}

/// The overrides in the manifest's shape of a process, and the fields left out.
fn promoted_fields(o: &Overrides) -> (Map<String, Value>, Vec<&'static str>) {
    let Overrides {
        image,
        args,
        env,
        replicas,
        cpu,
        memory,
    } = o;
    let mut fields = Map::new();
    if let Some(image) = image {
        fields.insert("image".into(), json!(image));
    }
    if let Some(args) = args {
        fields.insert("args".into(), json!(args));
    }
    if !env.is_empty() {
        fields.insert("env".into(), json!(env));
    }
    for (name, amount) in [("cpu", cpu), ("memory", memory)] {
        if let Some(amount) = amount {
            fields.insert(name.into(), json!(amount));
        }
    }
    // The experiment's scale, not the environment's.
    let ignored = replicas.map(|_| "replicas").into_iter().collect();
    (fields, ignored)
}

/// The manifest's document as JSON (a stored revision: it parses).
fn document_json(text: &str) -> ApiResult<Value> {
    let file = std::sync::Arc::from(MANIFEST_FILE);
    let docs = parse_yaml(&file, text, Layer::Manifest)
        .map_err(|_| internal("the stored manifest does not parse"))?;
    match docs.as_slice() {
        [doc] => Ok(doc.to_json()),
        _ => Err(internal("the stored manifest is not one YAML document")),
    }
}

/// `environments.<env>.processes.<process>` of the document, created (appended) where
/// missing or `null`.
fn process_override<'a>(
    doc: &'a mut Value,
    env: &str,
    process: &str,
) -> ApiResult<&'a mut Map<String, Value>> {
    let mut at = doc;
    for key in ["environments", env, "processes", process] {
        let map = at
            .as_object_mut()
            .ok_or_else(|| internal("the stored manifest has a non-mapping where an override goes"))?;
        let entry = map.entry(key).or_insert(Value::Null);
        if entry.is_null() {
            *entry = Value::Object(Map::new());
        }
        at = entry;
    }
    at.as_object_mut()
        .ok_or_else(|| internal("the stored manifest's process override is not a mapping"))
}

/// Merges `over` into `base` like a layer of overrides: mappings key by key, anything else
/// replaced (`over` holds no nulls).
fn merge(base: &mut Map<String, Value>, over: &Map<String, Value>) {
    for (key, value) in over {
        match (base.get_mut(key), value) {
            (Some(Value::Object(inner)), Value::Object(over_inner)) => merge(inner, over_inner),
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

fn internal(message: &str) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
}
