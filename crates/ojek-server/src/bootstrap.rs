//! First start and demo data: open and migrate the store, create the first admin, store the
//! default platform file, and (with `--demo`) the demo teams, users and apps.

use std::collections::BTreeMap;

use anyhow::Context;
use ojek_store::{Actor, NewRevision, Role, Store, StoreError};

use crate::auth::{hash_password, random_secret};
use crate::state::{AppState, Config, PLATFORM};

/// The platform file stored on first start (the examples' platform).
pub const DEFAULT_PLATFORM: &str = include_str!("../../../examples/platform.yaml");

/// The example apps loaded by `--demo`: (file name, manifest, fromFile files).
pub fn demo_apps() -> Vec<(&'static str, &'static str, BTreeMap<String, String>)> {
    let promo_files = BTreeMap::from([(
        "config/promo-rules.json".to_string(),
        include_str!("../../../examples/config/promo-rules.json").to_string(),
    )]);
    vec![
        (
            "driver-location.yaml",
            include_str!("../../../examples/driver-location.yaml"),
            BTreeMap::new(),
        ),
        (
            "ledger-store.yaml",
            include_str!("../../../examples/ledger-store.yaml"),
            BTreeMap::new(),
        ),
        (
            "order-events-consumer.yaml",
            include_str!("../../../examples/order-events-consumer.yaml"),
            BTreeMap::new(),
        ),
        (
            "payments-migrate.yaml",
            include_str!("../../../examples/payments-migrate.yaml"),
            BTreeMap::new(),
        ),
        (
            "promo-gateway.yaml",
            include_str!("../../../examples/promo-gateway.yaml"),
            promo_files,
        ),
        (
            "settlement-report.yaml",
            include_str!("../../../examples/settlement-report.yaml"),
            BTreeMap::new(),
        ),
    ]
}

/// A demo user: username, display name, and roles by team.
pub type DemoUser = (&'static str, &'static str, &'static [(&'static str, Role)]);

/// Demo users: (username, display name, [(team, role)]). Their password is [`DEMO_PASSWORD`].
pub const DEMO_USERS: &[DemoUser] = &[
    (
        "ana",
        "Ana (payments)",
        &[("payments", Role::Admin), ("fulfilment", Role::Editor)],
    ),
    (
        "budi",
        "Budi (gofood)",
        &[("gofood", Role::Admin), ("promotions", Role::Editor)],
    ),
];

/// The demo users' password (demo data only; printed at start).
pub const DEMO_PASSWORD: &str = "demo-password";

/// A deployment still running after this long was left by a process that died (deploys wait
/// at most 10 minutes): finished as interrupted on start.
const STALE_DEPLOYMENT_MS: i64 = 60 * 60 * 1000;

/// Opens the store and prepares it; returns the server state.
pub async fn prepare(config: Config) -> anyhow::Result<AppState> {
    // A wrong log node setting stops the start before anything is created.
    let logs_node = match (&config.logs_node, &config.node_token) {
        (Some(url), Some(token)) => {
            anyhow::ensure!(
                config.logs_archive.is_none(),
                "--logs-archive belongs on the log node (`ojek ingest --logs-archive`): with --logs-node \
                 this server keeps no logs"
            );
            Some(crate::logs::node_client::LogNode::new(url, token.clone())?)
        }
        (Some(_), None) => anyhow::bail!("--logs-node: {}", crate::logs::node::NodeTokenError::Missing),
        (None, _) => None,
    };
    if config.database_url.is_none() {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    }
    let url = config.database_url();
    let store = Store::open(&url)
        .await
        .with_context(|| format!("cannot open the database ({})", redact(&url)))?;
    first_start(&store, &config).await?;
    let interrupted = store.finish_stale_deployments(STALE_DEPLOYMENT_MS).await?;
    if !interrupted.is_empty() {
        tracing::warn!(
            count = interrupted.len(),
            "deployments left running by an earlier process were marked failed (interrupted)"
        );
    }
    if config.demo {
        load_demo(&store).await?;
    }
    let logs_dir = config.data_dir.join("logs");
    let mut state = AppState::new(store, config);
    // With a log node the logs are kept there; otherwise here.
    match logs_node {
        Some(node) => state.logs_node = Some(std::sync::Arc::new(node)),
        None => state.logs = Some(std::sync::Arc::new(crate::logs::Logs::open(&logs_dir)?)),
    }
    Ok(state)
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    ojek_store::redact_url(url)
}

async fn first_start(store: &Store, config: &Config) -> anyhow::Result<()> {
    if store.count_users().await? == 0 {
        let (password, generated) = match &config.admin_password {
            Some(p) => (p.clone(), false),
            None => (random_secret()[..20].to_string(), true),
        };
        let hash = hash_password(password.clone())
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
        match store
            .create_user("admin", "Administrator", &hash, true, &Actor::system())
            .await
        {
            Ok(_) => {
                if generated {
                    eprintln!(
                        "\n  ojek: created the first administrator.\n    user:     admin\n    password: {password}\n  \
                         This password is shown once. Set OJEK_ADMIN_PASSWORD to choose it.\n"
                    );
                } else {
                    eprintln!(
                        "ojek: created the first administrator `admin` (password from OJEK_ADMIN_PASSWORD)"
                    );
                }
            }
            // Another replica created it at the same moment.
            Err(StoreError::AlreadyExists(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if store.platform(PLATFORM).await?.is_none() {
        match store
            .save_platform(PLATFORM, DEFAULT_PLATFORM, None, &Actor::system())
            .await
        {
            Ok(_) | Err(StoreError::AlreadyExists(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Loads demo teams, users and apps; what already exists is left as it is.
pub async fn load_demo(store: &Store) -> anyhow::Result<()> {
    let actor = Actor::system();
    let mut teams = BTreeMap::new();
    for (_, text, _) in demo_apps() {
        let loaded = ojek_core::spec::load::load_app("demo.yaml", text, &ojek_core::spec::load::NoFiles);
        let team = match loaded {
            Ok(l) => l.app.metadata.team.clone(),
            Err(_) => text
                .lines()
                .find_map(|l| l.trim().strip_prefix("team: "))
                .unwrap_or("demo")
                .to_string(),
        };
        teams.insert(team, ());
    }
    for (_, _, roles) in DEMO_USERS {
        for (t, _) in *roles {
            teams.insert((*t).to_string(), ());
        }
    }
    for name in teams.keys() {
        match store.create_team(name, &actor).await {
            Ok(_) | Err(StoreError::AlreadyExists(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let hash = hash_password(DEMO_PASSWORD.to_string())
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    for (username, display, roles) in DEMO_USERS {
        let user = match store.create_user(username, display, &hash, false, &actor).await {
            Ok(u) => u,
            Err(StoreError::AlreadyExists(_)) => match store.user_by_name(username).await? {
                Some((u, _)) => u,
                None => continue,
            },
            Err(e) => return Err(e.into()),
        };
        for (team, role) in *roles {
            if let Some(t) = store.team_by_name(team).await? {
                store.set_member(t.id, user.id, Some(*role), &actor).await?;
            }
        }
    }
    for (file, text, files) in demo_apps() {
        let loaded = ojek_core::spec::load::load_app(file, text, &crate::api::render::MapReader(&files))
            .map_err(|d| anyhow::anyhow!("demo app {file} does not load:\n{d}"))?;
        let m = &loaded.app.metadata;
        if store.app(&m.name).await?.is_some() {
            continue;
        }
        let Some(team) = store.team_by_name(&m.team).await? else {
            continue;
        };
        let new = NewRevision {
            app: m.name.clone(),
            team_id: team.id,
            description: m.description.clone().unwrap_or_default(),
            manifest: text.to_string(),
            files,
            message: format!("Import {file} from the examples"),
            log_settings: crate::logs::admin::from_manifest(loaded.app.logs.as_ref()),
            expected_team_id: None,
            also_audit: None,
        };
        match store.create_app(&new, &actor).await {
            Ok(_) | Err(StoreError::AlreadyExists(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    eprintln!(
        "ojek: demo data loaded: users {} (password `{DEMO_PASSWORD}`), teams {}",
        DEMO_USERS.iter().map(|u| u.0).collect::<Vec<_>>().join(", "),
        teams.keys().cloned().collect::<Vec<_>>().join(", ")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_passwords_only() {
        assert_eq!(
            redact("postgres://ojek:s3cret@db:5432/ojek"),
            "postgres://ojek:***@db:5432/ojek"
        );
        assert_eq!(redact("postgres://db/ojek"), "postgres://db/ojek");
        assert_eq!(redact("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
        assert_eq!(
            redact("postgres://db/ojek?sslmode=require&password=s3cret&sslpassword=k"),
            "postgres://db/ojek?sslmode=require&password=***&sslpassword=***"
        );
    }

    #[test]
    fn demo_apps_load_with_their_files() {
        for (file, text, files) in demo_apps() {
            let r = ojek_core::spec::load::load_app(file, text, &crate::api::render::MapReader(&files));
            assert!(r.is_ok(), "{file}: {:?}", r.err().map(|d| d.to_string()));
        }
    }
}
