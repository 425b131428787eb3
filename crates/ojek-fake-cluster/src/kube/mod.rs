//! A fake Kubernetes API server for tests: [`FakeKube`].
//!
//! It serves, on `127.0.0.1:0`, the endpoints ojek's deployer uses, with real Kubernetes JSON
//! shapes so the real `kube` client talks to it unchanged: discovery, GET/LIST with selectors,
//! server-side apply with field ownership, merge patches, the status subresource, DELETE with
//! propagation, Events, simulated Deployment/StatefulSet/Job controllers and fault injection.
//! It must never be pointed at, or stand in for, a real cluster outside tests and demos.
//!
//! Layout: [`discovery`] (the served kinds), `handlers` (paths and verbs), `store` (objects,
//! resourceVersion, garbage collection), `apply` + `fieldpath` (server-side apply),
//! `selector`, `status` (error objects), `controller` (the simulated controllers).
//!
//! What it simplifies compared with a real API server: no authentication, admission,
//! defaulting or schema validation; no watch; Deployments own their pods directly (no
//! ReplicaSets); deletion and garbage collection are immediate; only `Apply` managers are
//! tracked in managedFields; namespaces must exist (`default`, `kube-system`, `kube-public`
//! do) and are created like any other object.

mod apply;
mod body;
mod controller;
mod discovery;
mod fieldpath;
mod handlers;
mod selector;
mod status;
mod store;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use self::status::ApiError;
use self::store::Store;

/// State shared by the HTTP handlers, the controllers and the [`FakeKube`] handle.
pub(crate) struct Shared {
    store: Mutex<Store>,
    /// Requests still to fail, and with which HTTP code.
    faults: Mutex<(u32, u16)>,
    controller: AtomicBool,
}

impl Shared {
    /// The store; a panic in another holder does not make it unusable for the test.
    fn store(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A running fake Kubernetes API server. Dropping it stops the server.
pub struct FakeKube {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    controller: JoinHandle<()>,
}

impl FakeKube {
    /// Starts the server on `127.0.0.1:0` with the simulated controllers on.
    ///
    /// # Panics
    /// If no loopback port can be bound (see [`FakeKube::try_start`]).
    pub async fn start() -> FakeKube {
        match Self::try_start().await {
            Ok(fake) => fake,
            Err(e) => panic!("cannot start the fake Kubernetes API server on 127.0.0.1: {e}"),
        }
    }

    /// Starts the server on `127.0.0.1:0`, or says why the port could not be bound.
    pub async fn try_start() -> std::io::Result<FakeKube> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            store: Mutex::new(Store::new()),
            faults: Mutex::new((0, 500)),
            controller: AtomicBool::new(true),
        });
        let app = router(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                tracing::warn!("fake Kubernetes API server stopped: {e}");
            }
        });
        let controller = tokio::spawn(controller::run(shared.clone()));
        Ok(FakeKube {
            addr,
            shared,
            shutdown: Some(tx),
            server: Some(server),
            controller,
        })
    }

    /// `http://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A `kube::Config` for this server: plain HTTP, no auth, default namespace `default`.
    pub fn config(&self) -> ::kube::Config {
        let url: axum::http::Uri = match self.url().parse() {
            Ok(u) => u,
            Err(e) => panic!("the fake's own URL does not parse: {e}"),
        };
        let mut config = ::kube::Config::new(url);
        config.default_namespace = "default".to_string();
        config.read_timeout = Some(Duration::from_secs(10));
        config
    }

    /// A `kube::Client` talking to this server (see [`FakeKube::config`]).
    ///
    /// # Panics
    /// If kube cannot build a client for a plain-HTTP URL (it always can with the `client`
    /// feature); must be called inside a Tokio runtime.
    pub fn client(&self) -> ::kube::Client {
        match ::kube::Client::try_from(self.config()) {
            Ok(c) => c,
            Err(e) => panic!("kube cannot build a client for the fake: {e}"),
        }
    }

    /// The stored object, as the API would return it (`namespace` is "" for cluster-scoped kinds).
    pub fn object(&self, kind: &str, namespace: &str, name: &str) -> Option<Value> {
        self.shared.store().get(kind, namespace, name).cloned()
    }

    /// Every stored object of `kind`, in all namespaces, ordered by namespace and name.
    pub fn objects(&self, kind: &str) -> Vec<Value> {
        self.shared
            .store()
            .list(kind, None)
            .into_iter()
            .cloned()
            .collect()
    }

    /// Stores `object` as it is, its `status` included, as if its clients and its controller
    /// had written it (the demo's Experiment, with the status its controller would keep):
    /// created, or in place of the stored one, with the server's fields filled in. Its kind
    /// must be served and, when namespaced, its namespace must exist. Returns what is stored.
    pub fn put(&self, object: Value) -> Result<Value, String> {
        let kind = object["kind"].as_str().unwrap_or_default();
        let rt = discovery::by_kind(kind).ok_or_else(|| format!("the fake serves no kind {kind:?}"))?;
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if name.is_empty() {
            return Err(format!("the {kind} has no metadata.name"));
        }
        let namespace = if rt.namespaced {
            object["metadata"]["namespace"].as_str().unwrap_or_default()
        } else {
            ""
        };
        let mut store = self.shared.store();
        if rt.namespaced && !store.namespace_exists(namespace) {
            return Err(format!("{kind} {name}: namespace {namespace:?} does not exist"));
        }
        Ok(match store.get(rt.kind, namespace, &name).cloned() {
            None => store.create(rt, object),
            Some(old) => {
                let mut new = object;
                for field in ["uid", "creationTimestamp"] {
                    new["metadata"][field] = old["metadata"][field].clone();
                }
                new["apiVersion"] = old["apiVersion"].clone();
                store.update(&old, new)
            }
        })
    }

    /// Turns the simulated controllers on (the default) or off; off, objects stay as written.
    pub fn set_controller(&self, on: bool) {
        self.shared.controller.store(on, Ordering::SeqCst);
    }

    /// The next `n` requests (to any endpoint) fail with HTTP `status` and a `Status` body
    /// (`503` → `ServiceUnavailable`, otherwise `InternalError` for 5xx).
    pub fn fail_next(&self, n: u32, status: u16) {
        *self
            .shared
            .faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = (n, status);
    }

    /// Stops the server: the port is closed and new connections are refused. State stays
    /// readable through [`FakeKube::object`].
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let abort = server.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), server)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        self.controller.abort();
    }
}

impl Drop for FakeKube {
    fn drop(&mut self) {
        if let Some(server) = &self.server {
            server.abort();
        }
        self.controller.abort();
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/version", get(|| async { axum::Json(discovery::version()) }))
        .route("/api", get(|| async { axum::Json(discovery::core_versions()) }))
        .route("/apis", get(|| async { axum::Json(discovery::group_list()) }))
        .fallback(handlers::resource)
        .layer(middleware::from_fn_with_state(shared.clone(), inject_faults))
        .with_state(shared)
}

/// Answers with the injected failure while [`FakeKube::fail_next`] has requests left to fail.
async fn inject_faults(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let injected = {
        let mut faults = shared
            .faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if faults.0 > 0 {
            faults.0 -= 1;
            Some(faults.1)
        } else {
            None
        }
    };
    match injected {
        Some(code) => ApiError::injected(code).into_response(),
        None => next.run(request).await,
    }
}
