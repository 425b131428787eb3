//! Shared state of the server.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use ojek_spec::load::{LoadedPlatform, load_platform};
use ojek_store::Store;

use crate::auth::LoginLimiter;
use crate::error::{ApiError, ApiResult};

/// Server configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Data directory (the SQLite file lives here).
    pub data_dir: PathBuf,
    /// Address to listen on.
    pub listen: std::net::SocketAddr,
    /// `postgres://…` or `sqlite://…`; `None`: SQLite in the data directory.
    pub database_url: Option<String>,
    /// Load the demo teams, users and apps.
    pub demo: bool,
    /// The first admin's password (else one is generated and printed once).
    pub admin_password: Option<String>,
    /// Largest request body accepted (413 above).
    pub max_body_bytes: usize,
    /// Mark cookies `Secure` (serve behind HTTPS).
    pub secure_cookies: bool,
    /// Where retention archives each expired log day before dropping it (`--logs-archive`);
    /// `None`: expired days are dropped without a copy.
    pub logs_archive: Option<Arc<ojek_logstore::archive::Archive>>,
    /// `ojek up --logs-node`: the URL of the log node (`ojek ingest`) that keeps the logs. This
    /// server then opens no log store, takes no logs and runs no retention; it reads from the
    /// node.
    pub logs_node: Option<String>,
    /// The secret shared with the log node (`OJEK_NODE_TOKEN`): on a node, what its internal
    /// API requires; on a control plane with `logs_node`, what it sends.
    pub node_token: Option<crate::logs::node::NodeToken>,
}

impl Config {
    /// Defaults: `./.ojek` data directory, `127.0.0.1:8080`, SQLite, 1 MiB bodies.
    pub fn new(data_dir: PathBuf) -> Config {
        Config {
            data_dir,
            listen: ([127, 0, 0, 1], 8080).into(),
            database_url: None,
            demo: false,
            admin_password: None,
            max_body_bytes: 1024 * 1024,
            secure_cookies: false,
            logs_archive: None,
            logs_node: None,
            node_token: None,
        }
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(u) => u.clone(),
            None => format!("sqlite://{}", self.data_dir.join("ojek.db").display()),
        }
    }
}

/// The name of the platform file apps are rendered against.
pub const PLATFORM: &str = "default";

/// The parsed platform file and the version it was parsed from.
type CachedPlatform = (i64, Arc<LoadedPlatform>);

/// State shared by all handlers. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The store.
    pub store: Store,
    /// Configuration.
    pub config: Arc<Config>,
    /// Login throttling.
    pub limiter: Arc<LoginLimiter>,
    /// The log store and its limits (`None`: this server takes no logs).
    pub logs: Option<Arc<crate::logs::Logs>>,
    /// The log node this server reads logs from instead (`--logs-node`).
    pub logs_node: Option<Arc<crate::logs::node_client::LogNode>>,
    platform: Arc<Mutex<Option<CachedPlatform>>>,
}

impl AppState {
    /// State over an open store.
    pub fn new(store: Store, config: Config) -> AppState {
        AppState {
            store,
            config: Arc::new(config),
            limiter: Arc::default(),
            logs: None,
            logs_node: None,
            platform: Arc::default(),
        }
    }

    /// The current platform file, parsed (cached per version).
    pub async fn platform(&self) -> ApiResult<Arc<LoadedPlatform>> {
        Ok(self.platform_versioned().await?.1)
    }

    /// The current platform file's version and the file, parsed (cached per version).
    pub async fn platform_versioned(&self) -> ApiResult<(i64, Arc<LoadedPlatform>)> {
        let Some(file) = self.store.platform(PLATFORM).await? else {
            return Err(ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "no_platform",
                "no platform file is configured; an admin can upload one (PUT /api/platform)",
            ));
        };
        {
            let cache = self.platform.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((v, p)) = &*cache
                && *v == file.version
            {
                return Ok((file.version, p.clone()));
            }
        }
        let loaded = load_platform("platform.yaml", &file.content).map_err(|d| {
            ApiError::invalid("the stored platform file is not valid; an admin must fix it", &d)
        })?;
        let loaded = Arc::new(loaded);
        *self.platform.lock().unwrap_or_else(|p| p.into_inner()) = Some((file.version, loaded.clone()));
        Ok((file.version, loaded))
    }
}
