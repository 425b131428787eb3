//! A mock Kubernetes API server behind kube's `tower_test` service pair, and an in-memory
//! ojek server. The mock answers what the controller asks the way the API server does for
//! the calls it makes (server-side apply, JSON and merge patches, label-selected lists,
//! deletes, the status subresource), records every request, and fails chosen ones.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::{Arc, Mutex};

use http::{Request, Response};
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::client::Body;
use ojek_experiments::Experiment;
use ojek_experiments::plan::PromoteRequest;
use ojek_experiments_controller::Context;
use ojek_experiments_controller::source::{AppSource, AppView, BoxFuture, SourceError};
use ojek_spec::FileReader;
use ojek_spec::load::{LoadedApp, LoadedPlatform, load_app, load_platform};
use serde_json::{Value, json};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct RootReader;

impl FileReader for RootReader {
    fn read(&self, manifest: &str, relative: &str) -> Result<String, String> {
        let dir = Path::new(manifest).parent().unwrap_or(Path::new("."));
        std::fs::read_to_string(root().join(dir).join(relative)).map_err(|e| e.to_string())
    }
}

/// The example app `name`.
pub fn app(name: &str) -> LoadedApp {
    let rel = format!("examples/{name}.yaml");
    let text = std::fs::read_to_string(root().join(&rel)).expect("example");
    load_app(&rel, &text, &RootReader).unwrap_or_else(|d| panic!("{d}"))
}

/// The example platform.
pub fn platform() -> LoadedPlatform {
    let text = std::fs::read_to_string(root().join("examples/platform.yaml")).expect("platform");
    load_platform("examples/platform.yaml", &text).unwrap_or_else(|d| panic!("{d}"))
}

/// A request as recorded: method, path, sorted query, and the body's JSON.
#[derive(Clone, Debug)]
pub struct Call {
    /// `GET`, `PATCH`, …
    pub method: String,
    /// The path.
    pub path: String,
    /// Query parameters.
    pub query: BTreeMap<String, String>,
    /// `Content-Type`.
    pub content_type: String,
    /// The body, when JSON.
    pub body: Value,
}

impl Call {
    /// `METHOD path` for transcripts.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// A failure to inject: the next `times` requests whose `METHOD path` contains `matching`
/// get `code`.
struct Fault {
    matching: String,
    code: u16,
    times: usize,
}

/// The mock API server's state.
#[derive(Default)]
pub struct State {
    /// Objects by path (`/apis/apps/v1/namespaces/x/deployments/y`).
    pub objects: BTreeMap<String, Value>,
    /// Every request, in order.
    pub calls: Vec<Call>,
    faults: Vec<Fault>,
    rv: u64,
}

/// The parts of a resource path.
struct Parsed {
    /// `/api/v1` or `/apis/g/v`.
    prefix: String,
    namespace: Option<String>,
    plural: String,
    name: Option<String>,
    sub: Option<String>,
}

fn parse(path: &str) -> Option<Parsed> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let n = match *segs.first()? {
        "api" => 2,
        "apis" => 3,
        _ => return None,
    };
    let prefix = format!("/{}", segs.get(..n)?.join("/"));
    let rest = segs.get(n..)?;
    if rest.first() == Some(&"namespaces") && rest.len() >= 3 {
        Some(Parsed {
            prefix,
            namespace: Some(rest[1].to_string()),
            plural: rest[2].to_string(),
            name: rest.get(3).map(|s| s.to_string()),
            sub: rest.get(4).map(|s| s.to_string()),
        })
    } else {
        Some(Parsed {
            prefix,
            namespace: None,
            plural: rest.first()?.to_string(),
            name: rest.get(1).map(|s| s.to_string()),
            sub: rest.get(2).map(|s| s.to_string()),
        })
    }
}

fn object_path(p: &Parsed, name: &str) -> String {
    match &p.namespace {
        Some(ns) => format!("{}/namespaces/{ns}/{}/{name}", p.prefix, p.plural),
        None => format!("{}/{}/{name}", p.prefix, p.plural),
    }
}

/// Does `labels` satisfy a selector like `a=b,c,!d`?
fn selects(selector: &str, labels: &Value) -> bool {
    selector.split(',').filter(|s| !s.is_empty()).all(|term| {
        if let Some(k) = term.strip_prefix('!') {
            labels.get(k).is_none()
        } else if let Some((k, v)) = term.split_once('=') {
            labels.get(k).and_then(Value::as_str) == Some(v)
        } else {
            labels.get(term).is_some()
        }
    })
}

fn status(code: u16, reason: &str, message: &str) -> (u16, Value) {
    (
        code,
        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason, "message": message}),
    )
}

impl State {
    fn next_rv(&mut self) -> String {
        self.rv += 1;
        self.rv.to_string()
    }

    fn handle(&mut self, call: &Call) -> (u16, Value) {
        let line = call.line();
        if let Some(f) = self
            .faults
            .iter_mut()
            .find(|f| f.times > 0 && line.contains(&f.matching))
        {
            f.times -= 1;
            let code = f.code;
            return status(code, "InternalError", "injected failure");
        }
        let Some(p) = parse(&call.path) else {
            return status(404, "NotFound", "no such path");
        };
        match (call.method.as_str(), &p.name) {
            ("GET", None) => {
                let selector = call.query.get("labelSelector").cloned().unwrap_or_default();
                let base = match &p.namespace {
                    Some(ns) => format!("{}/namespaces/{ns}/{}/", p.prefix, p.plural),
                    None => format!("{}/", p.prefix),
                };
                let items: Vec<Value> = self
                    .objects
                    .iter()
                    .filter(|(k, _)| {
                        k.starts_with(&base)
                            && parse(k).is_some_and(|q| q.plural == p.plural && q.prefix == p.prefix)
                    })
                    .filter(|(_, v)| {
                        selects(&selector, v.pointer("/metadata/labels").unwrap_or(&Value::Null))
                    })
                    .map(|(_, v)| v.clone())
                    .collect();
                (
                    200,
                    json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": self.rv.to_string()}, "items": items}),
                )
            }
            ("GET", Some(name)) => match self.objects.get(&object_path(&p, name)) {
                Some(o) => (200, o.clone()),
                None => status(404, "NotFound", &format!("{} \"{name}\" not found", p.plural)),
            },
            ("DELETE", Some(name)) => {
                let path = object_path(&p, name);
                match self.objects.remove(&path) {
                    Some(o) => {
                        if p.plural == "namespaces" && p.prefix == "/api/v1" {
                            // Deleting a namespace deletes everything in it.
                            let inside = format!("/namespaces/{name}/");
                            self.objects.retain(|k, _| !k.contains(&inside));
                        }
                        (200, o)
                    }
                    None => status(404, "NotFound", &format!("{} \"{name}\" not found", p.plural)),
                }
            }
            ("PATCH", Some(name)) => self.patch(call, &p, name),
            _ => status(405, "MethodNotAllowed", "not supported by the mock"),
        }
    }

    fn patch(&mut self, call: &Call, p: &Parsed, name: &str) -> (u16, Value) {
        let path = object_path(p, name);
        let rv = self.next_rv();
        match (call.content_type.as_str(), p.sub.as_deref()) {
            ("application/apply-patch+yaml", None) => {
                if !call.query.contains_key("fieldManager") {
                    return status(400, "BadRequest", "fieldManager is required for apply");
                }
                let mut obj = call.body.clone();
                let old = self.objects.get(&path).cloned();
                obj["metadata"]["resourceVersion"] = json!(rv);
                obj["metadata"]["generation"] = json!(1);
                obj["metadata"]["annotations"]["mock/field-manager"] = json!(call.query["fieldManager"]);
                if let Some(st) = old.as_ref().and_then(|o| o.get("status")) {
                    obj["status"] = st.clone();
                }
                self.objects.insert(path, obj.clone());
                (200, obj)
            }
            ("application/json-patch+json", None) => {
                let Some(mut obj) = self.objects.get(&path).cloned() else {
                    return status(404, "NotFound", "not found");
                };
                // Like the API server's JSON patch: `test` of `null` passes on a missing path.
                let ops: Vec<Value> = call
                    .body
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|op| {
                        let missing_null_test = op["op"] == "test"
                            && op["value"].is_null()
                            && op["path"].as_str().is_some_and(|p| obj.pointer(p).is_none());
                        !missing_null_test
                    })
                    .collect();
                let patch: json_patch::Patch = match serde_json::from_value(Value::Array(ops)) {
                    Ok(p) => p,
                    Err(e) => return status(400, "BadRequest", &e.to_string()),
                };
                if let Err(e) = json_patch::patch(&mut obj, &patch) {
                    return status(422, "Invalid", &e.to_string());
                }
                obj["metadata"]["resourceVersion"] = json!(rv);
                // The API server deletes an object being deleted once its last finalizer is gone.
                let finalizers_left = obj
                    .pointer("/metadata/finalizers")
                    .and_then(Value::as_array)
                    .is_some_and(|f| !f.is_empty());
                if obj.pointer("/metadata/deletionTimestamp").is_some() && !finalizers_left {
                    self.objects.remove(&path);
                } else {
                    self.objects.insert(path, obj.clone());
                }
                (200, obj)
            }
            ("application/merge-patch+json", Some("status")) => {
                let Some(mut obj) = self.objects.get(&path).cloned() else {
                    return status(404, "NotFound", "not found");
                };
                json_patch::merge(
                    &mut obj,
                    &json!({"status": call.body.get("status").cloned().unwrap_or(Value::Null)}),
                );
                obj["metadata"]["resourceVersion"] = json!(rv);
                self.objects.insert(path, obj.clone());
                (200, obj)
            }
            (ct, sub) => status(415, "UnsupportedMediaType", &format!("{ct} on {sub:?}")),
        }
    }
}

/// The mock API server: a kube `Client` whose requests it answers.
#[derive(Clone)]
pub struct Mock {
    /// Its state.
    pub state: Arc<Mutex<State>>,
}

impl Mock {
    /// A client and its mock server.
    pub fn start() -> (Client, Mock) {
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let state = Arc::new(Mutex::new(State::default()));
        let s = state.clone();
        tokio::spawn(async move {
            let mut handle = pin!(handle);
            while let Some((req, send)) = handle.next_request().await {
                let method = req.method().to_string();
                let uri = req.uri().clone();
                let content_type = req
                    .headers()
                    .get(http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                let bytes = req.into_body().collect_bytes().await.unwrap_or_default();
                let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                let query: BTreeMap<String, String> = uri
                    .query()
                    .unwrap_or_default()
                    .split('&')
                    .filter(|kv| !kv.is_empty())
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| (k.to_string(), percent_decode(v)))
                    .collect();
                let call = Call {
                    method,
                    path: uri.path().to_string(),
                    query,
                    content_type,
                    body,
                };
                let (code, answer) = {
                    let mut st = s.lock().expect("mock state");
                    st.calls.push(call.clone());
                    st.handle(&call)
                };
                let resp = Response::builder()
                    .status(code)
                    .header("content-type", "application/json")
                    .body(Body::from(serde_json::to_vec(&answer).unwrap_or_default()))
                    .expect("response");
                send.send_response(resp);
            }
        });
        let client = Client::new(service, "default");
        (client, Mock { state })
    }

    /// Puts an object in (as if created by someone else).
    pub fn put(&self, path: &str, obj: Value) {
        self.state
            .lock()
            .expect("state")
            .objects
            .insert(path.to_string(), obj);
    }

    /// The object at `path`.
    pub fn get(&self, path: &str) -> Option<Value> {
        self.state.lock().expect("state").objects.get(path).cloned()
    }

    /// Paths of every object whose path contains `part`.
    pub fn paths(&self, part: &str) -> Vec<String> {
        self.state
            .lock()
            .expect("state")
            .objects
            .keys()
            .filter(|k| k.contains(part))
            .cloned()
            .collect()
    }

    /// Every request so far as `METHOD path`, then forgets them.
    pub fn take_calls(&self) -> Vec<Call> {
        std::mem::take(&mut self.state.lock().expect("state").calls)
    }

    /// Fails the next `times` requests whose `METHOD path` contains `matching` with `code`.
    pub fn fail(&self, matching: &str, code: u16, times: usize) {
        self.state.lock().expect("state").faults.push(Fault {
            matching: matching.into(),
            code,
            times,
        });
    }

    /// Marks every Deployment in `namespace` ready (as its controller would).
    pub fn make_ready(&self, namespace: &str) {
        let mut st = self.state.lock().expect("state");
        let part = format!("/namespaces/{namespace}/deployments/");
        for (k, v) in st.objects.iter_mut() {
            if k.contains(&part) {
                let r = v.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
                v["status"] = json!({"observedGeneration": 1, "replicas": r, "updatedReplicas": r, "readyReplicas": r, "availableReplicas": r});
            }
        }
    }

    /// The Experiment as stored.
    pub fn experiment(&self, ns: &str, name: &str) -> Option<Experiment> {
        self.get(&experiment_path(ns, name))
            .map(|v| serde_json::from_value(v).expect("an Experiment"))
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => out.push(b),
                    Err(_) => out.extend_from_slice(&bytes[i..i + 3]),
                }
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).to_string()
}

/// The path of an Experiment.
pub fn experiment_path(ns: &str, name: &str) -> String {
    format!("/apis/ojek.dev/v1alpha1/namespaces/{ns}/experiments/{name}")
}

/// The in-memory ojek server: one app, promotions recorded.
pub struct FakeSource {
    /// The app (None: unknown app).
    pub app: Mutex<Option<LoadedApp>>,
    /// Its newest revision.
    pub revision: Mutex<u64>,
    /// The deployed revision.
    pub deployed: Mutex<Option<u64>>,
    /// Promotions asked for.
    pub promotions: Mutex<Vec<PromoteRequest>>,
    /// Refuse promotions with this message.
    pub refuse: Mutex<Option<String>>,
    platform: LoadedPlatform,
}

impl FakeSource {
    /// A source holding `app` at revision 3, deployed.
    pub fn new(app: Option<LoadedApp>) -> Arc<Self> {
        Arc::new(FakeSource {
            app: Mutex::new(app),
            revision: Mutex::new(3),
            deployed: Mutex::new(Some(3)),
            promotions: Mutex::new(Vec::new()),
            refuse: Mutex::new(None),
            platform: platform(),
        })
    }
}

impl AppSource for FakeSource {
    fn app<'a>(&'a self, _app: &'a str, _env: &'a str) -> BoxFuture<'a, Result<AppView, SourceError>> {
        Box::pin(async move {
            let app = self.app.lock().expect("app").clone();
            Ok(AppView {
                revision: app.as_ref().map(|_| *self.revision.lock().expect("rev")),
                app,
                deployed_revision: *self.deployed.lock().expect("deployed"),
                platform: self.platform.clone(),
            })
        })
    }

    fn promote<'a>(
        &'a self,
        _app: &'a str,
        req: &'a PromoteRequest,
    ) -> BoxFuture<'a, Result<u64, SourceError>> {
        Box::pin(async move {
            if let Some(why) = self.refuse.lock().expect("refuse").clone() {
                return Err(SourceError::Refused(why));
            }
            self.promotions.lock().expect("promotions").push(req.clone());
            let mut rev = self.revision.lock().expect("rev");
            *rev += 1;
            Ok(*rev)
        })
    }
}

/// A clock tests move by hand.
pub type Clock = Arc<Mutex<Timestamp>>;

/// A controller context on the mock, with a clock starting at `now`.
pub fn context(client: Client, source: Arc<FakeSource>, now: &str) -> (Arc<Context>, Clock) {
    let clock: Clock = Arc::new(Mutex::new(now.parse().expect("time")));
    let c = clock.clone();
    let mut ctx = Context::new(client, source);
    ctx.clock = Arc::new(move || *c.lock().expect("clock"));
    (Arc::new(ctx), clock)
}

/// An example Experiment as the API server would store it (generation 1, no status).
pub fn example(stem: &str) -> Value {
    let rel = format!("examples/experiments/{stem}.yaml");
    let text = std::fs::read_to_string(root().join(&rel)).expect("example");
    let loaded = ojek_experiments::file::load_experiment(&rel, &text).unwrap_or_else(|d| panic!("{d}"));
    let mut v = serde_json::to_value(&loaded.experiment).expect("json");
    v["metadata"]["generation"] = json!(1);
    v["metadata"]["uid"] = json!("0b4c7d8e-1111-4222-8333-944455556666");
    v["metadata"]["resourceVersion"] = json!("1");
    v
}
