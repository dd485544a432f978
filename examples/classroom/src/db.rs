//! The SQLite database: connection, schema (created on start), transactions.
//!
//! Concurrency rests on the database, never on check-then-insert: unique constraints make a
//! second enrollment, participant or completion impossible, `INSERT … ON CONFLICT` makes
//! repeated joins and reports idempotent, and writes that read first run in `BEGIN IMMEDIATE`
//! transactions, which take the write lock up front so that two of them never interleave.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

/// The schema, idempotent: run on every start.
pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('student', 'instructor')),
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE TABLE IF NOT EXISTS refresh_tokens (
    jti            TEXT PRIMARY KEY,
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family         TEXT NOT NULL,
    expires_at     INTEGER NOT NULL,
    revoked_at     INTEGER,
    revoked_reason TEXT CHECK (revoked_reason IN ('rotated', 'logout', 'reuse'))
);
CREATE INDEX IF NOT EXISTS refresh_tokens_family ON refresh_tokens (family);

CREATE TABLE IF NOT EXISTS lectures (
    id            INTEGER PRIMARY KEY,
    title         TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    instructor_id INTEGER NOT NULL REFERENCES users (id),
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE TABLE IF NOT EXISTS enrollments (
    lecture_id INTEGER NOT NULL REFERENCES lectures (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    PRIMARY KEY (lecture_id, user_id)
);

-- A lecture with sessions cannot be deleted: the history of its sessions stays. (NO ACTION,
-- not RESTRICT: SQLite reports RESTRICT as a trigger failure, NO ACTION as a foreign key one.)
CREATE TABLE IF NOT EXISTS sessions (
    id           INTEGER PRIMARY KEY,
    code         TEXT NOT NULL UNIQUE,
    lecture_id   INTEGER NOT NULL REFERENCES lectures (id),
    title        TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'WAITING' CHECK (status IN ('WAITING', 'IN_PROGRESS', 'ENDED')),
    current_step INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    started_at   TEXT,
    ended_at     TEXT
);

CREATE TABLE IF NOT EXISTS participants (
    id         INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    device_id  TEXT NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    joined_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (session_id, device_id)
);

CREATE TABLE IF NOT EXISTS completions (
    session_id     INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    step           INTEGER NOT NULL,
    participant_id INTEGER NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
    completed_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    PRIMARY KEY (session_id, step, participant_id)
);

CREATE TABLE IF NOT EXISTS images (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    content_type TEXT NOT NULL,
    data         BLOB NOT NULL,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
"#;

/// Connection options for a `sqlite:` URL, or why it cannot be used.
pub fn connect_options(url: &str) -> Result<SqliteConnectOptions, String> {
    if !url.starts_with("sqlite:") {
        return Err(format!(
            "`{}` is not a SQLite URL: write it like `sqlite://classroom.db` or `sqlite::memory:`",
            redact_url(url)
        ));
    }
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| format!("`{}` is not a usable SQLite URL: {e}", redact_url(url)))?;
    Ok(options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10)))
}

/// A URL with any password replaced, for messages.
fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Opens the pool and creates the schema.
pub async fn connect(url: &str) -> anyhow::Result<SqlitePool> {
    let options =
        connect_options(url).map_err(|reason| anyhow::anyhow!("DATABASE_URL: {reason}"))?;
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(15))
        .connect_with(options)
        .await
        .map_err(|e| anyhow::anyhow!("DATABASE_URL: cannot open the database: {e}"))?;
    sqlx::raw_sql(SCHEMA)
        .execute(&pool)
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the schema: {e}"))?;
    Ok(pool)
}

/// A write transaction that holds the database's write lock from its first statement.
pub async fn begin_write(pool: &SqlitePool) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

/// Now, in whole seconds since the epoch.
pub fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}
