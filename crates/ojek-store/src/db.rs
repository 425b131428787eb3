//! Opening a store: which engine a URL names, pool settings per engine, and the migrations of
//! that engine (`migrations/sqlite`, `migrations/postgres`, embedded at build time).

use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::{AnyPool, Executor};

use crate::error::map;
use crate::{DbKind, Result, StoreError};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// How long to wait for a connection before reporting the database as unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// What a database URL names.
#[derive(Debug, PartialEq)]
pub(crate) enum Target {
    /// A SQLite file; `url` is what sqlx's SQLite driver parses (`sqlite://path?mode=rwc`).
    SqliteFile { url: String },
    /// A private in-memory SQLite database (tests).
    SqliteMemory,
    /// A PostgreSQL server; `url` as given.
    Postgres { url: String },
}

impl Target {
    /// Parses `sqlite:///abs/path.db`, `sqlite://rel.db`, `sqlite:rel.db`, `sqlite::memory:`,
    /// `postgres://…` and `postgresql://…`.
    pub(crate) fn parse(url: &str) -> Result<Target> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Target::Postgres { url: url.to_owned() });
        }
        let Some(rest) = url.strip_prefix("sqlite:") else {
            return Err(StoreError::Database(format!(
                "unsupported database URL {}: use sqlite:///path/ojek.db or postgres://user:pw@host/db",
                redact_url(url)
            )));
        };
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let (path, query) = match rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (rest, None),
        };
        if path == ":memory:" || query.is_some_and(|q| q.split('&').any(|p| p == "mode=memory")) {
            return Ok(Target::SqliteMemory);
        }
        if path.is_empty() {
            return Err(StoreError::Database(format!(
                "database URL {url} names no SQLite file"
            )));
        }
        // Create the file if it is missing, unless the URL chose a mode itself.
        let query = match query {
            Some(q) if q.split('&').any(|p| p.starts_with("mode=")) => q.to_owned(),
            Some(q) => format!("{q}&mode=rwc"),
            None => "mode=rwc".to_owned(),
        };
        Ok(Target::SqliteFile {
            url: format!("sqlite://{path}?{query}"),
        })
    }

    fn kind(&self) -> DbKind {
        match self {
            Target::SqliteFile { .. } | Target::SqliteMemory => DbKind::Sqlite,
            Target::Postgres { .. } => DbKind::Postgres,
        }
    }
}

/// Connects (a pool suited to the engine) and runs the engine's pending migrations.
pub(crate) async fn open(url: &str) -> Result<(AnyPool, DbKind)> {
    // Idempotent: sqlx guards it with a `Once` of its own.
    sqlx::any::install_default_drivers();

    let target = Target::parse(url)?;
    let options = AnyPoolOptions::new().acquire_timeout(ACQUIRE_TIMEOUT);
    let pool = match &target {
        Target::Postgres { url } => options.connect(url).await,
        Target::SqliteFile { url } => sqlite_options(options).connect(url).await,
        // Every connection to `:memory:` is a database of its own: keep exactly one, forever.
        Target::SqliteMemory => {
            sqlite_options(options)
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect("sqlite::memory:")
                .await
        }
    }
    .map_err(|e| match map(e) {
        StoreError::Unavailable(why) => StoreError::Unavailable(format!("{}: {why}", redact_url(url))),
        other => other,
    })?;

    if let Target::SqliteFile { .. } = target {
        // WAL lets readers go on while one connection writes. The mode is stored in the file,
        // so setting it once here covers every later connection.
        pool.execute("PRAGMA journal_mode = WAL").await.map_err(map)?;
    }

    let migrator = match target.kind() {
        DbKind::Sqlite => &SQLITE_MIGRATIONS,
        DbKind::Postgres => &POSTGRES_MIGRATIONS,
    };
    // On PostgreSQL the migrator holds an advisory lock while it runs, so replicas starting
    // together against one database apply each migration once; each migration runs in a
    // transaction of its own.
    migrator.run(&pool).await.map_err(|e| match e {
        MigrateError::Execute(e) => map(e),
        other => StoreError::Database(format!("migrating the database: {other}")),
    })?;
    Ok((pool, target.kind()))
}

/// SQLite connections: foreign keys enforced, and a writer waits up to 5 s for the lock
/// instead of failing at once (sqlx sets both by default; set here so it never depends on
/// that).
fn sqlite_options(options: AnyPoolOptions) -> AnyPoolOptions {
    options.after_connect(|conn, _| {
        Box::pin(async move {
            conn.execute("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;")
                .await?;
            Ok(())
        })
    })
}

/// A database URL fit for messages: the password (in `user:password@` or a `password=`
/// parameter) replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut out = match (base.find("://"), base.rfind('@')) {
        (Some(s), Some(at)) if at > s => match base[s + 3..at].split_once(':') {
            Some((user, _)) => format!("{}{user}:***{}", &base[..s + 3], &base[at..]),
            None => base.to_string(),
        },
        _ => base.to_string(),
    };
    if let Some(q) = query {
        let params: Vec<String> = q
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.to_ascii_lowercase().contains("password") => format!("{k}=***"),
                _ => kv.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_url_forms() {
        let file = |u: &str| Target::SqliteFile { url: u.to_owned() };
        assert_eq!(
            Target::parse("sqlite:///var/lib/ojek.db").ok(),
            Some(file("sqlite:///var/lib/ojek.db?mode=rwc"))
        );
        assert_eq!(
            Target::parse("sqlite://ojek.db").ok(),
            Some(file("sqlite://ojek.db?mode=rwc"))
        );
        assert_eq!(
            Target::parse("sqlite:ojek.db").ok(),
            Some(file("sqlite://ojek.db?mode=rwc"))
        );
        assert_eq!(
            Target::parse("sqlite://ojek.db?mode=ro").ok(),
            Some(file("sqlite://ojek.db?mode=ro"))
        );
        assert_eq!(
            Target::parse("sqlite://ojek.db?cache=private").ok(),
            Some(file("sqlite://ojek.db?cache=private&mode=rwc"))
        );
        assert_eq!(Target::parse("sqlite::memory:").ok(), Some(Target::SqliteMemory));
        for pg in ["postgres://u:p@h:5432/db", "postgresql://h/db"] {
            assert_eq!(
                Target::parse(pg).ok(),
                Some(Target::Postgres { url: pg.to_owned() })
            );
        }
        assert!(Target::parse("mysql://h/db").is_err());
        assert!(Target::parse("sqlite://").is_err());
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://ojek:secret@db:5432/ojek"),
            "postgres://ojek:***@db:5432/ojek"
        );
        assert_eq!(redact_url("postgres://db/ojek"), "postgres://db/ojek");
    }
}
