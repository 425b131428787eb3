//! What every store test binary shares: a store on a database of its own per scenario (a
//! SQLite file in a temporary directory, or a fresh database on the PostgreSQL server named by
//! `OJEK_TEST_POSTGRES_URL`; start one with `eval "$(bash scripts/postgres.sh start)"`), the
//! `scenarios!` macro that runs each scenario on both engines, and small fixtures. Without that
//! variable the PostgreSQL variants are skipped, except under CI, where they fail.

// Each test binary uses part of this module.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};

use ojek_store::*;
use sqlx::Connection;

// ---- harness

/// A store on a database of its own, removed when dropped.
pub struct TestDb {
    pub store: Store,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    _pg: Option<PgDatabase>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("ojek.db").display());
        let store = Store::open(&url).await.expect("open SQLite store");
        assert_eq!(store.kind(), DbKind::Sqlite);
        TestDb {
            store,
            url,
            _dir: Some(dir),
            _pg: None,
        }
    }

    /// `None` (after a note) when no PostgreSQL server is configured outside CI.
    pub async fn postgres() -> Option<TestDb> {
        let Some(admin_url) = std::env::var("OJEK_TEST_POSTGRES_URL")
            .ok()
            .filter(|u| !u.is_empty())
        else {
            if std::env::var_os("CI").is_some() {
                panic!(
                    "OJEK_TEST_POSTGRES_URL is not set under CI: start a server first with \
                     `eval \"$(bash scripts/postgres.sh start)\"`"
                );
            }
            eprintln!(
                "skipped: OJEK_TEST_POSTGRES_URL is not set (eval \"$(bash scripts/postgres.sh start)\")"
            );
            return None;
        };
        let pg = PgDatabase::create(&admin_url).await;
        let url = pg.url.clone();
        let store = Store::open(&url).await.expect("open PostgreSQL store");
        assert_eq!(store.kind(), DbKind::Postgres);
        Some(TestDb {
            store,
            url,
            _dir: None,
            _pg: Some(pg),
        })
    }

    pub async fn reopen(&self) -> Store {
        Store::open(&self.url).await.expect("reopen the store")
    }
}

/// A database `ojek_test_<random>` on the test server, dropped (with its connections) on drop.
pub struct PgDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl PgDatabase {
    pub async fn create(admin_url: &str) -> PgDatabase {
        let random = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        let name = format!("ojek_test_{random:016x}");
        let mut admin = sqlx::PgConnection::connect(admin_url)
            .await
            .unwrap_or_else(|e| panic!("connect to OJEK_TEST_POSTGRES_URL: {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create the test database");
        admin.close().await.ok();
        PgDatabase {
            admin_url: admin_url.to_owned(),
            url: with_database(admin_url, &name),
            name,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime, which cannot be blocked on: use a thread with
        // a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await?;
                admin.close().await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

/// `postgres://u:p@h:5432/admin?x=y` with the database replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    format!("{}/{db}{query}", &base[..host_end])
}
/// Declares each scenario twice: `sqlite::<name>` and `postgres::<name>`.
macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let db = super::TestDb::sqlite().await;
                    super::$name(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some(db) = super::TestDb::postgres().await else { return };
                    super::$name(&db).await;
                    db.store.close().await;
                }
            )*
        }
    };
}
pub(crate) use scenarios;

// ---- fixtures

pub fn actor(user: &User) -> Actor {
    Actor {
        user_id: Some(user.id),
        name: user.username.clone(),
        via: "ui".into(),
    }
}

pub fn now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    i64::try_from(since.expect("clock after 1970").as_millis()).expect("ms fit i64")
}

pub fn manifest(app: &str, team: &str, note: &str) -> String {
    format!("apiVersion: ojek/v1\nmetadata:\n  name: {app}\n  team: {team}\n# {note}\n")
}

pub fn new_revision(app: &str, team: &Team, note: &str) -> NewRevision {
    NewRevision {
        app: app.into(),
        team_id: team.id,
        description: format!("{app} service"),
        manifest: manifest(app, &team.name, note),
        files: BTreeMap::from([("config/app.toml".to_owned(), format!("note = \"{note}\"\n"))]),
        message: note.into(),
        log_settings: LogSettings::default(),
        expected_team_id: None,
        also_audit: None,
    }
}

pub async fn user(store: &Store, name: &str) -> User {
    store
        .create_user(
            name,
            &name.to_uppercase(),
            &format!("hash-of-{name}"),
            false,
            &Actor::system(),
        )
        .await
        .expect("create user")
}

pub async fn team(store: &Store, name: &str) -> Team {
    store
        .create_team(name, &Actor::system())
        .await
        .expect("create team")
}

pub async fn all_audit(store: &Store) -> Vec<AuditEntry> {
    store
        .audit(&AuditFilter {
            limit: 500,
            ..Default::default()
        })
        .await
        .expect("audit")
}

pub fn json(text: &Option<String>) -> serde_json::Value {
    serde_json::from_str(text.as_deref().expect("JSON state present")).expect("JSON state parses")
}

/// `join_all` for a handful of futures, without a futures dependency.
pub async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}
