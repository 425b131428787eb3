//! `ojek ingest`: a log node alone, so ingest and log storage scale apart from the control
//! plane. It takes shipped lines (Barito, Elasticsearch bulk, OTLP), keeps them in its data
//! directory, runs retention and the archive, and answers control planes started with
//! `ojek up --logs-node` on its internal read API (node token from `OJEK_NODE_TOKEN`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::up_cmd::{archive, init_tracing, node_token};

/// Options of `ojek ingest`.
#[derive(clap::Args)]
pub struct IngestArgs {
    /// The control plane's database (producer secrets, log settings and rate limits are read
    /// from it): `postgres://user:password@host:port/db` or `sqlite:///path/ojek.db`.
    #[arg(long, env = "OJEK_DATABASE_URL", value_name = "URL", hide_env_values = true)]
    database: String,
    /// Data directory: the logs are kept in its `logs/`.
    #[arg(long, env = "OJEK_DATA_DIR", default_value = ".ojek")]
    data_dir: PathBuf,
    /// Address to listen on (shippers and control planes connect here).
    #[arg(long, env = "OJEK_LISTEN", default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// Archive each expired log day here before retention drops it (as `ojek up
    /// --logs-archive`): `s3://bucket/prefix` or `file:///directory`.
    #[arg(long, env = "OJEK_LOGS_ARCHIVE", value_name = "URL")]
    logs_archive: Option<String>,
}

/// Runs the log node until interrupted.
pub fn run(args: IngestArgs) -> Result<ExitCode> {
    // Refuse to start before anything else happens: without the token no control plane can
    // read what this node keeps.
    let token = node_token().context("ojek ingest")?;
    init_tracing();
    let mut config = ojek_server::Config::new(args.data_dir);
    config.listen = args.listen;
    config.database_url = Some(args.database);
    config.node_token = Some(token);
    if let Some(url) = &args.logs_archive {
        config.logs_archive = Some(archive(url)?);
    }
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let db = ojek_server::bootstrap::redact(&config.database_url());
        let node = ojek_server::logs::node::start(config).await?;
        eprintln!(
            "ojek: log node taking logs on http://{} (Barito, Elasticsearch bulk, OTLP; internal read \
             API for control planes at /internal/logs/; database: {db})",
            node.addr
        );
        tokio::select! {
            r = node.wait() => r?,
            _ = tokio::signal::ctrl_c() => eprintln!("ojek: stopping"),
        }
        Ok(ExitCode::SUCCESS)
    })
}
