//! The database: SQLite (the default) or PostgreSQL behind one `DATABASE_URL`, versioned
//! migrations for each, write transactions and row locks.
//!
//! The service speaks to both through sqlx's `Any` driver: every query is written once, with
//! `$1`-style placeholders (which SQLite accepts too), integer, text and blob columns only, and
//! timestamps written by the service as RFC 3339 text. What differs lives here: the migrations
//! (`migrations/sqlite`, `migrations/postgres`), how a write transaction begins, and how a row
//! is locked.
//!
//! Concurrency rests on the database, never on check-then-insert: unique constraints make a
//! second enrollment, participant or completion impossible, `INSERT … ON CONFLICT` makes
//! repeated joins and reports idempotent. Writes that read first are serialized:
//!
//! - on SQLite by `BEGIN IMMEDIATE`, which takes the database's write lock up front;
//! - on PostgreSQL by locking the row they read ([`lock_session`]: `FOR UPDATE` for state
//!   changes, `FOR SHARE` for joins and reports, which must not interleave with a state change
//!   but may run side by side), so that several replicas can share one database.

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Any, AnyPool, ConnectOptions, Database, Transaction};

/// The pool every handler uses (SQLite or PostgreSQL).
pub type Pool = AnyPool;

/// A transaction on [`Pool`].
pub type Tx = Transaction<'static, Any>;

/// Migrations of the SQLite schema.
pub static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");

/// Migrations of the PostgreSQL schema.
pub static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite:…`: one file (or memory), one process at a time writing.
    Sqlite,
    /// `postgres://…` or `postgresql://…`: shared by several replicas.
    Postgres,
}

impl Backend {
    /// The backend of `url`, or why the URL cannot be used.
    pub fn of_url(url: &str) -> Result<Self, String> {
        if url.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url)
                .map_err(|e| format!("`{}` is not a usable SQLite URL: {e}", redact_url(url)))?;
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            sqlx::postgres::PgConnectOptions::from_str(url).map_err(|e| {
                format!("`{}` is not a usable PostgreSQL URL: {e}", redact_url(url))
            })?;
            Ok(Backend::Postgres)
        } else {
            Err(format!(
                "`{}` is neither a SQLite nor a PostgreSQL URL: write it like `sqlite://classroom.db`, `sqlite::memory:` or `postgres://user@host/classroom`",
                redact_url(url)
            ))
        }
    }

    /// The migrations of this backend.
    pub fn migrations(self) -> &'static Migrator {
        match self {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }
}

/// A URL with any password replaced, for messages and `Debug`.
pub fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// The URL the `Any` driver opens: for SQLite, the file is created when missing.
fn driver_url(url: &str, backend: Backend) -> Result<String, String> {
    match backend {
        Backend::Sqlite => {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|e| format!("`{}` is not a usable SQLite URL: {e}", redact_url(url)))?
                .create_if_missing(true);
            Ok(options.to_url_lossy().to_string())
        }
        Backend::Postgres => Ok(url.to_owned()),
    }
}

/// Settings of every new SQLite connection: write-ahead log, foreign keys, a generous busy
/// timeout (writers queue on the write lock rather than fail).
const SQLITE_PRAGMAS: &[&str] = &[
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 10000",
];

/// Opens the pool (at most `max_connections`) and brings the schema up to date. Several
/// processes may start at once against one PostgreSQL database: sqlx's migrator holds an
/// advisory lock while it migrates.
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Pool> {
    sqlx::any::install_default_drivers();
    let backend =
        Backend::of_url(url).map_err(|reason| anyhow::anyhow!("DATABASE_URL: {reason}"))?;
    let options = AnyConnectOptions::from_str(
        &driver_url(url, backend).map_err(|reason| anyhow::anyhow!("DATABASE_URL: {reason}"))?,
    )
    .map_err(|e| anyhow::anyhow!("DATABASE_URL: {e}"))?
    .disable_statement_logging();
    let mut pool = AnyPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(15));
    if backend == Backend::Sqlite {
        pool = pool.after_connect(|conn, _| {
            Box::pin(async move {
                for pragma in SQLITE_PRAGMAS {
                    sqlx::Executor::execute(&mut *conn, *pragma).await?;
                }
                Ok(())
            })
        });
    }
    let pool = pool.connect_with(options).await.map_err(|e| {
        anyhow::anyhow!(
            "DATABASE_URL: cannot open the database `{}`: {e}",
            redact_url(url)
        )
    })?;
    backend
        .migrations()
        .run(&pool)
        .await
        .map_err(|e| anyhow::anyhow!("cannot migrate the schema: {e}"))?;
    Ok(pool)
}

fn is_postgres(conn: &sqlx::AnyConnection) -> bool {
    conn.backend_name() == sqlx::Postgres::NAME
}

/// A write transaction. On SQLite it holds the database's write lock from its first
/// statement; on PostgreSQL it is an ordinary `READ COMMITTED` transaction, and what it reads
/// before writing is locked with [`lock_session`].
pub async fn begin_write(pool: &Pool) -> Result<Tx, sqlx::Error> {
    if pool
        .connect_options()
        .database_url
        .scheme()
        .starts_with("postgres")
    {
        pool.begin().await
    } else {
        pool.begin_with("BEGIN IMMEDIATE").await
    }
}

/// How a session row is locked for the rest of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// Changes the session (start, step, end): excludes every other lock.
    Update,
    /// Reads the session's state to add to it (join, report): excludes [`Lock::Update`] only.
    Share,
}

/// Locks the row of session `code` until the transaction ends (PostgreSQL; on SQLite the
/// write transaction already excludes every other writer). A session that does not exist
/// locks nothing: the load that follows answers `SESSION_NOT_FOUND`.
pub async fn lock_session(tx: &mut Tx, code: &str, lock: Lock) -> Result<(), sqlx::Error> {
    if !is_postgres(tx) {
        return Ok(());
    }
    let sql = match lock {
        Lock::Update => "SELECT id FROM sessions WHERE code = $1 FOR UPDATE",
        Lock::Share => "SELECT id FROM sessions WHERE code = $1 FOR SHARE",
    };
    sqlx::query(sql).bind(code).execute(&mut **tx).await?;
    Ok(())
}

/// Now, in whole seconds since the epoch.
pub fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Now, as the text stored in `*_at` columns (`2026-02-10T09:30:00Z`).
pub fn now_text() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_backend_and_never_show_a_password() {
        assert_eq!(Backend::of_url("sqlite://x.db"), Ok(Backend::Sqlite));
        assert_eq!(Backend::of_url("sqlite::memory:"), Ok(Backend::Sqlite));
        assert_eq!(
            Backend::of_url("postgres://u:p@127.0.0.1/db"),
            Ok(Backend::Postgres)
        );
        assert_eq!(
            Backend::of_url("postgresql://u@h/db"),
            Ok(Backend::Postgres)
        );
        let err = Backend::of_url("mysql://u:hunter2@db/x").unwrap_err();
        assert!(err.contains("neither") && !err.contains("hunter2"), "{err}");
        assert_eq!(
            redact_url("postgres://u:hunter2@h/db"),
            "postgres://u:***@h/db"
        );
    }
}
