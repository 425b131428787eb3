//! The resource endpoints: path parsing and GET / LIST / POST / PATCH / PUT / DELETE.
//!
//! One handler parses the path itself (core `/api/v1/…` and named groups `/apis/{g}/{v}/…`,
//! namespaced and cluster-wide forms, the `/status` subresource) and dispatches on the verb;
//! each operation takes the store lock once and never awaits while holding it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::Shared;
use super::apply::{self, ApplyOptions};
use super::body;
use super::discovery::{self, ResourceType};
use super::selector::{FieldSelector, LabelSelector};
use super::status::{self, ApiError};
use super::store::{self, Propagation, Store};

/// What a resource path names.
#[derive(Debug)]
struct Target {
    rt: &'static ResourceType,
    /// `None` for cluster-scoped kinds and for cluster-wide lists.
    namespace: Option<String>,
    name: Option<String>,
    status: bool,
}

enum Route {
    /// `GET /api/v1`, `GET /apis/{g}/{v}`: the APIResourceList.
    Resources(Value),
    Resource(Target),
}

fn route(path: &str) -> Result<Route, ApiError> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segments.as_slice() {
        ["api", "v1", rest @ ..] => ("", "v1", rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Err(ApiError::no_resource()),
    };
    let find = |plural: &str| discovery::by_plural(group, version, plural).ok_or_else(ApiError::no_resource);
    let object = |name: &str, tail: &[&str]| -> Result<(Option<String>, bool), ApiError> {
        match tail {
            [] => Ok((Some(name.to_string()), false)),
            ["status"] => Ok((Some(name.to_string()), true)),
            _ => Err(ApiError::no_resource()),
        }
    };
    let target = match rest {
        [] => {
            return discovery::resource_list(group, version)
                .map(Route::Resources)
                .ok_or_else(ApiError::no_resource);
        }
        ["namespaces", ns, plural, tail @ ..] if *plural != "status" => {
            let rt = find(plural)?;
            if !rt.namespaced {
                return Err(ApiError::no_resource());
            }
            let (name, status) = match tail {
                [] => (None, false),
                [name, tail @ ..] => object(name, tail)?,
            };
            Target {
                rt,
                namespace: Some(ns.to_string()),
                name,
                status,
            }
        }
        [plural, tail @ ..] => {
            let rt = find(plural)?;
            let (name, status) = match tail {
                [] => (None, false),
                [_, ..] if rt.namespaced => return Err(ApiError::no_resource()),
                [name, tail @ ..] => object(name, tail)?,
            };
            Target {
                rt,
                namespace: None,
                name,
                status,
            }
        }
    };
    Ok(Route::Resource(target))
}

/// Every `/api/…` and `/apis/…` request that is not a group list.
pub(crate) async fn resource(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle(&shared, &method, &uri, &headers, &body) {
        Ok((code, value)) => (code, Json(value)).into_response(),
        Err(e) => e.into_response(),
    }
}

type Reply = Result<(StatusCode, Value), ApiError>;

fn handle(shared: &Shared, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Reply {
    let target = match route(uri.path())? {
        Route::Resources(list) if method == Method::GET => return Ok((StatusCode::OK, list)),
        Route::Resources(_) => return Err(ApiError::method_not_allowed("discovery is read-only")),
        Route::Resource(t) => t,
    };
    let query: HashMap<String, String> = Query::try_from_uri(uri).map(|q| q.0).unwrap_or_default();
    let dry_run = match query.get("dryRun").map(String::as_str) {
        None | Some("") => false,
        Some("All") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "unsupported dryRun value {other:?}; only All"
            )));
        }
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let content_type = content_type.split(';').next().unwrap_or("").trim().to_string();
    let mut store = shared.store();
    let store = &mut *store;
    match (method.as_str(), target.name.as_deref(), target.status) {
        ("GET", None, _) => list(store, &target, &query),
        ("GET", Some(name), _) => {
            let obj = lookup(store, &target, name)?;
            Ok((StatusCode::OK, obj.clone()))
        }
        ("POST", None, false) => create(store, &target, body, dry_run),
        ("PATCH", Some(name), false) if content_type == "application/apply-patch+yaml" => {
            apply_patch(store, &target, name, &query, body, dry_run)
        }
        ("PATCH", Some(name), status)
            if content_type == "application/merge-patch+json"
                || content_type == "application/strategic-merge-patch+json" =>
        {
            merge_patch(store, &target, name, body, dry_run, status)
        }
        ("PATCH", Some(_), _) => Err(ApiError::unsupported_media_type(&content_type)),
        ("PUT", Some(name), status) => replace(store, &target, name, body, dry_run, status),
        ("DELETE", Some(name), false) => delete(store, &target, name, &query, body, dry_run),
        _ => Err(ApiError::method_not_allowed(format!(
            "{method} is not supported on {} by the fake",
            uri.path()
        ))),
    }
}

fn ns_key(target: &Target) -> &str {
    target.namespace.as_deref().unwrap_or("")
}

fn lookup<'a>(store: &'a Store, target: &Target, name: &str) -> Result<&'a Value, ApiError> {
    store
        .get(target.rt.kind, ns_key(target), name)
        .ok_or_else(|| ApiError::not_found(target.rt, name))
}

fn list(store: &Store, target: &Target, query: &HashMap<String, String>) -> Reply {
    let labels = LabelSelector::parse(query.get("labelSelector").map_or("", String::as_str))
        .map_err(|e| ApiError::bad_request(format!("invalid labelSelector: {e}")))?;
    let fields = FieldSelector::parse(query.get("fieldSelector").map_or("", String::as_str))
        .map_err(|e| ApiError::bad_request(format!("invalid fieldSelector: {e}")))?;
    let namespace = if target.rt.namespaced {
        target.namespace.as_deref()
    } else {
        None
    };
    // Like a real server, items of a typed list carry no apiVersion/kind of their own.
    let items: Vec<Value> = store
        .list(target.rt.kind, namespace)
        .into_iter()
        .filter(|o| labels.matches(o) && fields.matches(o))
        .map(|o| {
            let mut o = o.clone();
            if let Some(m) = o.as_object_mut() {
                m.shift_remove("apiVersion");
                m.shift_remove("kind");
            }
            o
        })
        .collect();
    Ok((
        StatusCode::OK,
        json!({
            "kind": format!("{}List", target.rt.kind),
            "apiVersion": target.rt.api_version(),
            "metadata": {"resourceVersion": store.revision().to_string()},
            "items": items,
        }),
    ))
}

/// Checks an object body against the URL: apiVersion, kind, name and namespace; fills the
/// namespace and name when the body leaves them out.
fn check_identity(target: &Target, url_name: Option<&str>, obj: &mut Value) -> Result<(), ApiError> {
    let rt = target.rt;
    if !obj.is_object() {
        return Err(ApiError::bad_request("the body must be an object"));
    }
    let api_version = obj["apiVersion"].as_str().unwrap_or_default();
    if !api_version.is_empty() && api_version != rt.api_version() {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({})",
            rt.api_version()
        )));
    }
    let kind = obj["kind"].as_str().unwrap_or_default();
    if !kind.is_empty() && kind != rt.kind {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({kind}) does not match the expected kind ({})",
            rt.kind
        )));
    }
    if !obj["metadata"].is_object() {
        obj["metadata"] = json!({});
    }
    let meta = &mut obj["metadata"];
    if let Some(url_name) = url_name {
        match meta["name"].as_str() {
            None | Some("") => meta["name"] = json!(url_name),
            Some(n) if n != url_name => {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({n}) does not match the name on the URL ({url_name})"
                )));
            }
            Some(_) => {}
        }
    }
    if rt.namespaced {
        let Some(ns) = target.namespace.as_deref() else {
            return Err(ApiError::method_not_allowed(
                "namespaced objects are written under /namespaces/{ns}/",
            ));
        };
        match meta["namespace"].as_str() {
            None | Some("") => meta["namespace"] = json!(ns),
            Some(n) if n != ns => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            Some(_) => {}
        }
    } else if let Some(m) = meta.as_object_mut() {
        m.shift_remove("namespace");
    }
    obj["apiVersion"] = json!(rt.api_version());
    obj["kind"] = json!(rt.kind);
    Ok(())
}

fn require_namespace(store: &Store, target: &Target) -> Result<(), ApiError> {
    match target.namespace.as_deref() {
        Some(ns) if target.rt.namespaced && !store.namespace_exists(ns) => {
            Err(ApiError::namespace_not_found(ns))
        }
        _ => Ok(()),
    }
}

fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    body::parse(body).map_err(|e| ApiError::bad_request(format!("error decoding the request body: {e}")))
}

fn create(store: &mut Store, target: &Target, body: &[u8], dry_run: bool) -> Reply {
    let mut obj = parse_body(body)?;
    check_identity(target, None, &mut obj)?;
    require_namespace(store, target)?;
    if obj["metadata"]["name"].as_str().unwrap_or_default().is_empty() {
        match obj["metadata"]["generateName"].as_str() {
            Some(prefix) if !prefix.is_empty() => {
                let name = format!("{prefix}{}", store.suffix(5));
                obj["metadata"]["name"] = json!(name);
            }
            _ => {
                return Err(ApiError::invalid(
                    target.rt,
                    "",
                    "metadata.name: Required value: name or generateName is required",
                ));
            }
        }
    }
    let name = obj["metadata"]["name"].as_str().unwrap_or_default().to_string();
    if store.get(target.rt.kind, ns_key(target), &name).is_some() {
        return Err(ApiError::already_exists(target.rt, &name));
    }
    strip_server_fields(&mut obj, target.rt.status);
    let created = if dry_run {
        store.prepare_create(target.rt, obj, true)
    } else {
        store.create(target.rt, obj)
    };
    Ok((StatusCode::CREATED, created))
}

/// Removes what clients cannot set on create or replace.
fn strip_server_fields(obj: &mut Value, status_subresource: bool) {
    if let Some(meta) = obj["metadata"].as_object_mut() {
        for f in [
            "uid",
            "resourceVersion",
            "generation",
            "creationTimestamp",
            "managedFields",
            "deletionTimestamp",
        ] {
            meta.shift_remove(f);
        }
    }
    if status_subresource && let Some(o) = obj.as_object_mut() {
        o.shift_remove("status");
    }
}

fn apply_patch(
    store: &mut Store,
    target: &Target,
    name: &str,
    query: &HashMap<String, String>,
    body: &[u8],
    dry_run: bool,
) -> Reply {
    let manager = query.get("fieldManager").map(String::as_str).unwrap_or_default();
    if manager.is_empty() {
        return Err(ApiError::bad_request(
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
        ));
    }
    let force = query.get("force").is_some_and(|f| f == "true");
    let mut config = parse_body(body)?;
    check_identity(target, Some(name), &mut config)?;
    require_namespace(store, target)?;
    let now = store::now();
    let api_version = target.rt.api_version();
    let opts = ApplyOptions {
        manager,
        api_version: &api_version,
        force,
        now: &now,
        status_subresource: target.rt.status,
    };
    let live = store.get(target.rt.kind, ns_key(target), name).cloned();
    let mut merged = apply::apply(live.as_ref(), config, &opts).map_err(|conflicts| {
        ApiError::apply_conflict(
            apply::conflict_message(&conflicts),
            apply::conflict_causes(&conflicts),
        )
    })?;
    match live {
        None => {
            if let (Some(ns), Some(meta)) = (target.namespace.as_deref(), merged["metadata"].as_object_mut())
            {
                meta.insert("namespace".into(), json!(ns));
            }
            let created = if dry_run {
                store.prepare_create(target.rt, merged, true)
            } else {
                store.create(target.rt, merged)
            };
            Ok((StatusCode::CREATED, created))
        }
        Some(old) => {
            let updated = if dry_run {
                store.prepare_update(&old, merged).unwrap_or(old)
            } else {
                store.update(&old, merged)
            };
            Ok((StatusCode::OK, updated))
        }
    }
}

/// RFC 7386 JSON merge patch.
fn merge_patch_value(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.shift_remove(k);
            } else {
                merge_patch_value(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// Keeps what a patch or replace cannot change: identity, server metadata, managedFields, and
/// either the status (main resource of a kind with a status subresource) or everything else
/// (the status subresource).
fn keep_protected(old: &Value, new: &mut Value, rt: &ResourceType, status_only: bool) {
    if status_only {
        let status = new.get("status").cloned();
        *new = old.clone();
        match status {
            Some(s) => new["status"] = s,
            None => {
                if let Some(o) = new.as_object_mut() {
                    o.shift_remove("status");
                }
            }
        }
        return;
    }
    for f in ["apiVersion", "kind"] {
        new[f] = old[f].clone();
    }
    if !new["metadata"].is_object() {
        new["metadata"] = json!({});
    }
    for f in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "managedFields",
    ] {
        match old["metadata"].get(f) {
            Some(v) => new["metadata"][f] = v.clone(),
            None => {
                if let Some(m) = new["metadata"].as_object_mut() {
                    m.shift_remove(f);
                }
            }
        }
    }
    if rt.status {
        match old.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(o) = new.as_object_mut() {
                    o.shift_remove("status");
                }
            }
        }
    }
}

fn check_resource_version(given: &Value, old: &Value, rt: &ResourceType, name: &str) -> Result<(), ApiError> {
    match given["metadata"]["resourceVersion"].as_str() {
        Some(rv) if !rv.is_empty() && Some(rv) != old["metadata"]["resourceVersion"].as_str() => {
            Err(ApiError::stale(rt, name))
        }
        _ => Ok(()),
    }
}

fn write(store: &mut Store, old: &Value, new: Value, dry_run: bool) -> Value {
    if dry_run {
        store.prepare_update(old, new).unwrap_or_else(|| old.clone())
    } else {
        store.update(old, new)
    }
}

fn merge_patch(
    store: &mut Store,
    target: &Target,
    name: &str,
    body: &[u8],
    dry_run: bool,
    status: bool,
) -> Reply {
    let old = lookup(store, target, name)?.clone();
    let patch = parse_body(body)?;
    check_resource_version(&patch, &old, target.rt, name)?;
    let mut new = old.clone();
    merge_patch_value(&mut new, &patch);
    keep_protected(&old, &mut new, target.rt, status);
    Ok((StatusCode::OK, write(store, &old, new, dry_run)))
}

fn replace(
    store: &mut Store,
    target: &Target,
    name: &str,
    body: &[u8],
    dry_run: bool,
    status: bool,
) -> Reply {
    let old = lookup(store, target, name)?.clone();
    let mut new = parse_body(body)?;
    check_identity(target, Some(name), &mut new)?;
    check_resource_version(&new, &old, target.rt, name)?;
    keep_protected(&old, &mut new, target.rt, status);
    Ok((StatusCode::OK, write(store, &old, new, dry_run)))
}

fn delete(
    store: &mut Store,
    target: &Target,
    name: &str,
    query: &HashMap<String, String>,
    body: &[u8],
    dry_run: bool,
) -> Reply {
    let options = if body.is_empty() {
        json!({})
    } else {
        parse_body(body)?
    };
    let dry_run = dry_run
        || options["dryRun"]
            .as_array()
            .is_some_and(|d| d.iter().any(|v| v == "All"));
    let policy = match query.get("propagationPolicy").map(String::as_str).or(options["propagationPolicy"].as_str()) {
        None | Some("") => Propagation::Background,
        Some(p) => Propagation::parse(p).ok_or_else(|| {
            ApiError::bad_request(format!("propagationPolicy: Unsupported value: {p:?}: supported values: \"Foreground\", \"Background\", \"Orphan\""))
        })?,
    };
    let old = lookup(store, target, name)?.clone();
    if dry_run {
        return Ok((StatusCode::OK, old));
    }
    let uid = old["metadata"]["uid"].as_str().map(str::to_string);
    store.delete(target.rt.kind, ns_key(target), name, policy);
    if policy == Propagation::Foreground {
        // A real server answers with the object marked for deletion; here its dependents and
        // then the object itself are already gone.
        let mut marked = old;
        marked["metadata"]["deletionTimestamp"] = json!(store::now());
        marked["metadata"]["deletionGracePeriodSeconds"] = json!(0);
        marked["metadata"]["finalizers"] = json!(["foregroundDeletion"]);
        return Ok((StatusCode::OK, marked));
    }
    Ok((StatusCode::OK, status::deleted(target.rt, name, uid.as_deref())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(path: &str) -> Option<(String, Option<String>, Option<String>, bool)> {
        match route(path).ok()? {
            Route::Resource(t) => Some((t.rt.kind.to_string(), t.namespace, t.name, t.status)),
            Route::Resources(_) => None,
        }
    }

    #[test]
    fn paths_route_to_kinds_namespaces_names_and_status() {
        let s = |v: &str| Some(v.to_string());
        assert_eq!(
            target("/api/v1/namespaces/a/pods"),
            Some(("Pod".into(), s("a"), None, false))
        );
        assert_eq!(
            target("/api/v1/namespaces/a"),
            Some(("Namespace".into(), None, s("a"), false))
        );
        assert_eq!(
            target("/api/v1/namespaces/a/status"),
            Some(("Namespace".into(), None, s("a"), true))
        );
        assert_eq!(
            target("/apis/apps/v1/namespaces/a/deployments/web/status"),
            Some(("Deployment".into(), s("a"), s("web"), true))
        );
        assert_eq!(
            target("/apis/apps/v1/deployments"),
            Some(("Deployment".into(), None, None, false))
        );
        assert!(
            route("/apis/apps/v1/deployments/web").is_err(),
            "namespaced kind needs a namespace"
        );
        assert!(route("/apis/example.com/v1/namespaces/a/things").is_err());
        assert!(matches!(route("/apis/apps/v1"), Ok(Route::Resources(_))));
    }

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut v = json!({"a": 1, "b": {"c": 2, "d": 3}});
        merge_patch_value(&mut v, &json!({"a": null, "b": {"c": 4}, "e": [1]}));
        assert_eq!(v, json!({"b": {"c": 4, "d": 3}, "e": [1]}));
    }
}
