//! A fake Nomad agent: the HTTP API v1 endpoints ojek uses, served by axum on
//! `127.0.0.1:0`, with a simulated scheduler and fault injection. Never used against real
//! clusters.
//!
//! What it does like Nomad: jobs keyed by namespace and ID; a new version (and job modify
//! index) only when the spec changed (an identical resubmission only creates an evaluation);
//! `EnforceIndex` and `EnforcePriorVersion` with Nomad's error messages (HTTP 500, as Nomad
//! reports RPC errors); `PreserveCounts`; six tracked versions; plans with a structural diff
//! and per-group update counts; a deployment per new version of a service job (none for
//! batch, periodic or parameterized jobs), `running` then `successful`, or `failed` when an
//! image contains `fail-pull` or `crash` (with the task events Nomad records); ACL tokens
//! (`X-Nomad-Token`, 403 `Permission denied`); `region` (unknown: `No path to region`);
//! `X-Nomad-Index` on reads.
//!
//! What it simplifies: namespaces exist as soon as a job uses them; one node with enough room
//! for everything but groups asking more than [`NODE_MEMORY_MB`]; every new version replaces
//! all allocations (no in-place updates, canaries, `max_parallel` or auto-revert); blocking
//! queries return at once; evaluations are IDs only.

mod diff;
mod http;
mod state;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use state::NomadState;

/// Memory (MB) of the fake's nodes: a task group asking for more cannot be placed, and its
/// plan reports `FailedTGAllocs` (dimension `memory`).
pub const NODE_MEMORY_MB: u64 = 65_536;

/// How to start a [`FakeNomad`].
#[derive(Debug, Clone)]
pub struct FakeNomadOptions {
    /// When set, every request needs this `X-Nomad-Token` (else 403 `Permission denied`).
    pub acl_token: Option<String>,
    /// How long after placement allocations settle and deployments finish.
    pub deployment_delay: Duration,
    /// The agent's region; requests and jobs for another region fail like Nomad's.
    pub region: String,
}

impl Default for FakeNomadOptions {
    /// No ACLs, deployments finish at the next request, region `global`.
    fn default() -> Self {
        FakeNomadOptions {
            acl_token: None,
            deployment_delay: Duration::ZERO,
            region: "global".into(),
        }
    }
}

/// Faults to inject into the next requests.
#[derive(Debug, Default)]
struct Faults {
    remaining: usize,
    status: u16,
}

/// What the server's handlers share.
#[derive(Debug)]
struct Shared {
    options: FakeNomadOptions,
    state: Mutex<NomadState>,
    faults: Mutex<Faults>,
    requests: Mutex<Vec<String>>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, NomadState> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.advance(Instant::now());
        state
    }
}

/// A running fake Nomad agent. Stops when dropped.
#[derive(Debug)]
pub struct FakeNomad {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl FakeNomad {
    /// Starts a fake agent on `127.0.0.1` with a free port.
    pub async fn start(options: FakeNomadOptions) -> std::io::Result<FakeNomad> {
        let state = NomadState::new(options.region.clone(), options.deployment_delay);
        let shared = Arc::new(Shared {
            options,
            state: Mutex::new(state),
            faults: Mutex::new(Faults::default()),
            requests: Mutex::new(Vec::new()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = http::router(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let shutdown = async {
                let _ = rx.await;
            };
            if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
                tracing::warn!("fake Nomad agent stopped: {e}");
            }
        });
        Ok(FakeNomad {
            addr,
            shared,
            shutdown: Some(tx),
            server: Some(server),
        })
    }

    /// The agent's address, `http://127.0.0.1:PORT` (what `NOMAD_ADDR` would be).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address the agent listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The next `n` requests answer `status` with a plain-text body, before any other check.
    pub fn fail_next(&self, n: usize, status: u16) {
        let mut faults = self.shared.faults.lock().unwrap_or_else(PoisonError::into_inner);
        *faults = Faults { remaining: n, status };
    }

    /// Stops the server: from now on connections are refused (the agent is unreachable).
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
    }

    /// The state, after settling what is due, for assertions and setup. Do not hold the
    /// guard across an `.await`.
    pub fn state(&self) -> MutexGuard<'_, NomadState> {
        self.shared.state()
    }

    /// Finishes every placement and deployment now, whatever the delay.
    pub fn settle(&self) {
        self.shared.state().settle_all();
    }

    /// The current job `id` in `namespace`, as `GET /v1/job/{id}` would return it.
    pub fn job(&self, namespace: &str, id: &str) -> Option<Value> {
        self.state().job(namespace, id)
    }

    /// Every deployment, oldest first, as `GET /v1/deployment/{id}` returns them.
    pub fn deployments(&self) -> Vec<Value> {
        self.state().deployments()
    }

    /// The requests served so far, as `METHOD /path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for FakeNomad {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
