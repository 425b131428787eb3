//! `ojek up`: the control plane (web UI and JSON API) in one process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

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
}

/// Runs the server until interrupted.
pub fn run(args: UpArgs) -> Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("OJEK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut config = ojek_server::Config::new(args.data_dir);
    config.listen = args.listen;
    config.database_url = args.database;
    config.demo = args.demo;
    config.admin_password = std::env::var("OJEK_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    config.max_body_bytes = args.max_body_bytes;
    config.secure_cookies = args.secure_cookies;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let db = ojek_server::bootstrap::redact(&config.database_url());
        let server = ojek_server::start(config).await?;
        eprintln!(
            "ojek: serving the web UI and API on http://{} (database: {db})",
            server.addr
        );
        tokio::select! {
            r = server.wait() => r?,
            _ = tokio::signal::ctrl_c() => eprintln!("ojek: stopping"),
        }
        Ok(ExitCode::SUCCESS)
    })
}
