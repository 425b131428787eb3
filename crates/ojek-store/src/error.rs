//! Store errors.

use crate::{PlatformFile, Revision};

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached (connection refused, pool timeout, I/O): HTTP 503.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// Someone saved the app since the base revision: HTTP 409 with the current head.
    #[error("app {} was changed since your base revision (now at revision {})", .0.app, .0.number)]
    Conflict(Box<Revision>),
    /// The platform file was changed since the base version.
    #[error("platform file {} was changed (now at version {})", .0.name, .0.version)]
    PlatformConflict(Box<PlatformFile>),
    /// A change of an app's log settings that its manifest sets (`logs:`): HTTP 409. The
    /// manifest comes first, so the change would do nothing; it is made in the manifest.
    #[error(
        "{} of app {app} {} set by its manifest (revision {revision}): change the manifest's `logs:` section instead",
        fields.join(", "),
        if fields.len() == 1 { "is" } else { "are" }
    )]
    SetByManifest {
        /// App name.
        app: String,
        /// The revision whose manifest sets them.
        revision: i64,
        /// The fields refused (`retentionDays`, `rateLimit`, `levelFilter`).
        fields: Vec<&'static str>,
    },
    /// The database refused a value (PostgreSQL text cannot hold NUL characters): HTTP 400.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A unique name is taken.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// A referenced row is missing.
    #[error("{0} not found")]
    NotFound(String),
    /// Anything else from the database (a bug or a broken schema): HTTP 500.
    #[error("database error: {0}")]
    Database(String),
    /// Stored data could not be decoded.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

/// Maps a sqlx error to a store error: connection trouble is `Unavailable` (retry later, HTTP
/// 503), a unique violation is `AlreadyExists` (callers replace the message with the name that
/// is taken), anything else is `Database`.
pub(crate) fn map(e: sqlx::Error) -> StoreError {
    use sqlx::Error as E;
    match e {
        E::PoolTimedOut => StoreError::Unavailable(
            "no database connection within 3 s: is the database running and reachable?".into(),
        ),
        E::PoolClosed => StoreError::Unavailable("the connection pool is closed".into()),
        E::WorkerCrashed => StoreError::Unavailable("the SQLite worker thread stopped".into()),
        E::Io(e) => StoreError::Unavailable(format!("cannot talk to the database: {e}")),
        E::Tls(e) => StoreError::Unavailable(format!("TLS to the database failed: {e}")),
        E::Protocol(msg) if is_disconnect(&msg) => {
            StoreError::Unavailable(format!("the database connection broke: {msg}"))
        }
        E::Database(db) => {
            if db.is_unique_violation() {
                StoreError::AlreadyExists(db.message().to_owned())
            } else if matches!(db.code().as_deref(), Some("22021" | "22P05")) {
                // PostgreSQL text cannot hold NUL (or bytes invalid in the encoding).
                StoreError::InvalidInput("text must not contain NUL characters".to_owned())
            } else if is_unavailable_code(db.as_ref()) {
                StoreError::Unavailable(db.message().to_owned())
            } else {
                StoreError::Database(db.to_string())
            }
        }
        other => StoreError::Database(other.to_string()),
    }
}

/// `map`, naming what already exists (`user ana`) instead of quoting the constraint.
pub(crate) fn map_named(e: sqlx::Error, what: impl FnOnce() -> String) -> StoreError {
    match map(e) {
        StoreError::AlreadyExists(_) => StoreError::AlreadyExists(what()),
        other => other,
    }
}

/// A foreign-key violation: a referenced team or user is missing.
pub(crate) fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_foreign_key_violation())
}

fn is_disconnect(msg: &str) -> bool {
    let msg = msg.to_ascii_lowercase();
    [
        "connection refused",
        "connection closed",
        "connection reset",
        "unexpected eof",
        "broken pipe",
    ]
    .iter()
    .any(|m| msg.contains(m))
}

/// Errors that mean "try again later" rather than "this request is wrong": PostgreSQL's
/// connection exceptions (class 08), shutdowns and "too many connections"; SQLite's busy or
/// locked database (another writer held the lock past the 5 s busy timeout).
fn is_unavailable_code(db: &dyn sqlx::error::DatabaseError) -> bool {
    let Some(code) = db.code() else { return false };
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        let primary = code.parse::<i64>().unwrap_or(0) & 0xff;
        return primary == 5 || primary == 6; // SQLITE_BUSY, SQLITE_LOCKED
    }
    code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
}
