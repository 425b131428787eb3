//! `ojek up`: the control plane (web UI and JSON API) in one process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

/// Options of `ojek up`.
#[derive(clap::Args)]
pub struct UpArgs {
    /// Data directory (holds the SQLite database when no --database is given).
    #[arg(long, env = "OJEK_DATA_DIR", default_value = ".ojek")]
    data_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, env = "OJEK_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Database URL: `postgres://user:password@host:port/db` (several ojek replicas may share
    /// it) or `sqlite:///path/ojek.db`. Default: SQLite in the data directory.
    #[arg(long, env = "OJEK_DATABASE_URL")]
    database: Option<String>,
    /// Load demo teams, users and the example apps.
    #[arg(long)]
    demo: bool,
    /// Largest request body accepted, in bytes (larger ones get 413).
    #[arg(long, default_value_t = 1024 * 1024)]
    max_body_bytes: usize,
    /// Mark session cookies `Secure` (when served behind HTTPS).
    #[arg(long)]
    secure_cookies: bool,
    /// Archive each expired log day here before retention drops it: `s3://bucket/prefix`
    /// (S3 or S3-compatible; credentials, region and endpoint from the standard AWS_* variables,
    /// AWS_ALLOW_HTTP=true for a plain-HTTP endpoint) or `file:///directory`.
    #[arg(long, env = "OJEK_LOGS_ARCHIVE", value_name = "URL")]
    logs_archive: Option<String>,
    /// Keep no logs here: read them from this log node (`ojek ingest`, e.g.
    /// `http://10.0.0.5:8081`), with the secret in OJEK_NODE_TOKEN. Shippers send to the node;
    /// retention and the archive run there.
    #[arg(long, env = "OJEK_LOGS_NODE", value_name = "URL")]
    logs_node: Option<String>,
}

/// Runs the server until interrupted.
pub fn run(args: UpArgs) -> Result<ExitCode> {
    init_tracing();
    let mut config = ojek_server::Config::new(args.data_dir);
    config.listen = args.listen;
    config.database_url = args.database;
    config.demo = args.demo;
    config.admin_password = std::env::var("OJEK_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    config.max_body_bytes = args.max_body_bytes;
    config.secure_cookies = args.secure_cookies;
    if let Some(url) = &args.logs_node {
        config.node_token = Some(node_token().context("--logs-node")?);
        config.logs_node = Some(url.clone());
        if args.logs_archive.is_some() {
            bail!(
                "--logs-archive belongs on the log node (`ojek ingest --logs-archive`): with \
                 --logs-node this server keeps no logs"
            );
        }
    }
    if let Some(url) = &args.logs_archive {
        config.logs_archive = Some(archive(url)?);
    }
    let logs_node = config.logs_node.clone();
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let db = ojek_server::bootstrap::redact(&config.database_url());
        let server = ojek_server::start(config).await?;
        eprintln!(
            "ojek: serving the web UI and API on http://{} (database: {db})",
            server.addr
        );
        if let Some(node) = logs_node {
            eprintln!("ojek: logs are kept by the log node {node}; shippers send to it");
        }
        tokio::select! {
            r = server.wait() => r?,
            _ = tokio::signal::ctrl_c() => eprintln!("ojek: stopping"),
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Logs to standard error, filtered by `OJEK_LOG` (default `info`).
pub(crate) fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("OJEK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// The log archive at `url` (`--logs-archive`), with settings from the AWS_* variables.
pub(crate) fn archive(url: &str) -> Result<std::sync::Arc<ojek_logstore::archive::Archive>> {
    // Variables that are not UTF-8 cannot be AWS settings: skip them.
    let env = std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
    let archive = ojek_logstore::archive::Archive::from_url(url, env).context("--logs-archive")?;
    eprintln!("ojek: expired log days are archived to {archive} before they are dropped");
    Ok(std::sync::Arc::new(archive))
}

/// The node token from `OJEK_NODE_TOKEN` (only from the environment: a flag would show it to
/// everyone who can list processes).
pub(crate) fn node_token() -> Result<ojek_server::logs::node::NodeToken> {
    let var = ojek_server::logs::node::NODE_TOKEN_VAR;
    let value = match std::env::var(var) {
        Ok(v) => Some(v),
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => bail!("{var} is not valid UTF-8"),
    };
    Ok(ojek_server::logs::node::NodeToken::new(value)?)
}
