//! The SQLite spool and store (WAL mode): one file holds deliveries, counts and samples.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use super::{decode, from_ms, ms, Delivery, DeliveryState, ListFilter, Spool, StoreError};
use crate::alert::Alert;
use crate::store::{CountRow, SampleRow, Store};

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        alert_id TEXT NOT NULL,
        sink TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        next_at INTEGER NOT NULL,
        lease_until INTEGER,
        last_error TEXT,
        alert TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (sink, state, next_at)",
    "CREATE TABLE IF NOT EXISTS counts (
        minute INTEGER NOT NULL,
        code TEXT NOT NULL,
        status INTEGER NOT NULL,
        route TEXT NOT NULL,
        method TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (minute, code, status, route, method))",
    "CREATE TABLE IF NOT EXISTS samples (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        minute INTEGER NOT NULL,
        code TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        event TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS samples_minute ON samples (minute)",
];

/// Deliveries, counts and samples in one SQLite file, in WAL mode.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    path: PathBuf,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish()
    }
}

impl SqliteStore {
    /// Opens (creating it if needed) the store at `path`.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::connect(path.as_ref(), true).await
    }

    /// Opens the store at `path`, failing if there is none.
    pub async fn open_existing(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        if !path.exists() {
            return Err(StoreError::Database(format!(
                "no store at {} (set ERRATA_STORE or pass the path of the service's store)",
                path.display()
            )));
        }
        Self::connect(path, false).await
    }

    async fn connect(path: &Path, create: bool) -> Result<Self, StoreError> {
        let opts = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(opts)
            .await?;
        for stmt in SCHEMA {
            sqlx::query(stmt).execute(&pool).await?;
        }
        Ok(SqliteStore {
            pool,
            path: path.to_path_buf(),
        })
    }

    /// Frees every lease: the process that held them is gone. Only for the process that owns
    /// the file (the pipeline calls it at start).
    pub async fn release_leases(&self) -> Result<(), StoreError> {
        sqlx::query("UPDATE deliveries SET lease_until = NULL WHERE lease_until IS NOT NULL")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes the pool (checkpointing the WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn row_to_delivery(r: &sqlx::sqlite::SqliteRow) -> Result<Delivery, StoreError> {
    let id: i64 = r.try_get("id")?;
    let json: String = r.try_get("alert")?;
    let state: String = r.try_get("state")?;
    let attempts: i64 = r.try_get("attempts")?;
    Ok(Delivery {
        id,
        sink: r.try_get("sink")?,
        state: DeliveryState::parse(&state),
        attempts: attempts.clamp(0, u32::MAX as i64) as u32,
        created_at: from_ms(r.try_get("created_at")?),
        next_at: from_ms(r.try_get("next_at")?),
        last_error: r.try_get("last_error")?,
        alert: decode(id, &json)?,
    })
}

impl Spool for SqliteStore {
    fn enqueue<'a>(
        &'a self,
        alerts: &'a [Alert],
        sinks: &'a [String],
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let now = ms(Utc::now());
            let mut tx = self.pool.begin().await?;
            for a in alerts {
                let json =
                    serde_json::to_string(a).map_err(|e| StoreError::Database(e.to_string()))?;
                for s in sinks {
                    sqlx::query(
                        "INSERT INTO deliveries (alert_id, sink, state, attempts, created_at, next_at, alert)
                         VALUES (?, ?, 'pending', 0, ?, ?, ?)",
                    )
                    .bind(&a.id)
                    .bind(s)
                    .bind(now)
                    .bind(now)
                    .bind(&json)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tx.commit().await?;
            Ok(())
        })
    }

    fn lease<'a>(
        &'a self,
        sink: &'a str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<Delivery>, StoreError>> {
        Box::pin(async move {
            let now_ms = ms(now);
            let until = now_ms.saturating_add(lease.as_millis().min(i64::MAX as u128) as i64);
            let rows = sqlx::query(
                "UPDATE deliveries SET lease_until = ?
                 WHERE id IN (SELECT id FROM deliveries
                              WHERE sink = ? AND state = 'pending' AND next_at <= ?
                                AND (lease_until IS NULL OR lease_until < ?)
                              ORDER BY next_at, id LIMIT ?)
                 RETURNING id, sink, state, attempts, created_at, next_at, last_error, alert",
            )
            .bind(until)
            .bind(sink)
            .bind(now_ms)
            .bind(now_ms)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
            let mut out: Vec<Delivery> =
                rows.iter().map(row_to_delivery).collect::<Result<_, _>>()?;
            out.sort_by_key(|d| (d.next_at, d.id));
            Ok(out)
        })
    }

    fn reset_backoff<'a>(
        &'a self,
        sink: &'a str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            let now_ms = ms(now);
            let done = sqlx::query(
                "UPDATE deliveries SET next_at = MIN(created_at, ?), attempts = 0
                 WHERE sink = ? AND state = 'pending' AND next_at > ?
                   AND (lease_until IS NULL OR lease_until < ?)",
            )
            .bind(now_ms)
            .bind(sink)
            .bind(now_ms)
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected())
        })
    }

    fn ack(&self, id: i64) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            sqlx::query("DELETE FROM deliveries WHERE id = ?")
                .bind(id)
                .execute(&self.pool)
                .await?;
            Ok(())
        })
    }

    fn retry<'a>(
        &'a self,
        id: i64,
        next_at: DateTime<Utc>,
        attempts: u32,
        error: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            sqlx::query(
                "UPDATE deliveries SET next_at = ?, attempts = ?, last_error = ?, lease_until = NULL WHERE id = ?",
            )
            .bind(ms(next_at))
            .bind(i64::from(attempts))
            .bind(error)
            .bind(id)
            .execute(&self.pool)
            .await?;
            Ok(())
        })
    }

    fn kill<'a>(
        &'a self,
        id: i64,
        attempts: u32,
        error: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            sqlx::query(
                "UPDATE deliveries SET state = 'dead', attempts = ?, last_error = ?, lease_until = NULL WHERE id = ?",
            )
            .bind(i64::from(attempts))
            .bind(error)
            .bind(id)
            .execute(&self.pool)
            .await?;
            Ok(())
        })
    }

    fn list(&self, filter: ListFilter) -> BoxFuture<'_, Result<Vec<Delivery>, StoreError>> {
        Box::pin(async move {
            let cond = match filter {
                ListFilter::All => "",
                ListFilter::Pending => "WHERE state = 'pending'",
                ListFilter::Dead => "WHERE state = 'dead'",
            };
            let sql = format!(
                "SELECT id, sink, state, attempts, created_at, next_at, last_error, alert
                 FROM deliveries {cond} ORDER BY id"
            );
            let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
            rows.iter().map(row_to_delivery).collect()
        })
    }

    fn replay(&self, id: i64) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let r = sqlx::query(
                "UPDATE deliveries SET state = 'pending', attempts = 0, next_at = ?, lease_until = NULL WHERE id = ?",
            )
            .bind(ms(Utc::now()))
            .bind(id)
            .execute(&self.pool)
            .await?;
            if r.rows_affected() == 0 {
                return Err(StoreError::NotFound(id));
            }
            Ok(())
        })
    }

    fn replay_dead(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async move {
            let r = sqlx::query(
                "UPDATE deliveries SET state = 'pending', attempts = 0, next_at = ?, lease_until = NULL WHERE state = 'dead'",
            )
            .bind(ms(Utc::now()))
            .execute(&self.pool)
            .await?;
            Ok(r.rows_affected())
        })
    }

    fn pending<'a>(&'a self, sink: Option<&'a str>) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            let n: i64 = match sink {
                Some(s) => {
                    sqlx::query_scalar(
                        "SELECT COUNT(*) FROM deliveries WHERE state = 'pending' AND sink = ?",
                    )
                    .bind(s)
                    .fetch_one(&self.pool)
                    .await?
                }
                None => {
                    sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE state = 'pending'")
                        .fetch_one(&self.pool)
                        .await?
                }
            };
            Ok(n.max(0) as u64)
        })
    }

    fn next_due<'a>(
        &'a self,
        sink: &'a str,
    ) -> BoxFuture<'a, Result<Option<DateTime<Utc>>, StoreError>> {
        Box::pin(async move {
            let v: Option<i64> = sqlx::query_scalar(
                "SELECT MIN(MAX(next_at, COALESCE(lease_until, 0))) FROM deliveries WHERE state = 'pending' AND sink = ?",
            )
            .bind(sink)
            .fetch_one(&self.pool)
            .await?;
            Ok(v.map(from_ms))
        })
    }
}

impl Store for SqliteStore {
    fn add_counts<'a>(&'a self, rows: &'a [CountRow]) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            for r in rows {
                sqlx::query(
                    "INSERT INTO counts (minute, code, status, route, method, count) VALUES (?, ?, ?, ?, ?, ?)
                     ON CONFLICT (minute, code, status, route, method) DO UPDATE SET count = count + excluded.count",
                )
                .bind(r.minute)
                .bind(&r.code)
                .bind(i64::from(r.status))
                .bind(&r.route)
                .bind(&r.method)
                .bind(r.count as i64)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    fn add_samples<'a>(&'a self, rows: &'a [SampleRow]) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            for r in rows {
                sqlx::query(
                    "INSERT INTO samples (minute, code, fingerprint, event) VALUES (?, ?, ?, ?)",
                )
                .bind(r.minute)
                .bind(&r.code)
                .bind(&r.fingerprint)
                .bind(&r.event)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    fn counts(&self, from: i64, to: i64) -> BoxFuture<'_, Result<Vec<CountRow>, StoreError>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT minute, code, status, route, method, count FROM counts
                 WHERE minute >= ? AND minute < ? ORDER BY minute",
            )
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(CountRow {
                        minute: r.try_get("minute")?,
                        code: r.try_get("code")?,
                        status: r.try_get::<i64, _>("status")?.clamp(0, 999) as u16,
                        route: r.try_get("route")?,
                        method: r.try_get("method")?,
                        count: r.try_get::<i64, _>("count")?.max(0) as u64,
                    })
                })
                .collect()
        })
    }

    fn samples(
        &self,
        from: i64,
        to: i64,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<SampleRow>, StoreError>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT minute, code, fingerprint, event FROM samples
                 WHERE minute >= ? AND minute < ? ORDER BY id DESC LIMIT ?",
            )
            .bind(from)
            .bind(to)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(SampleRow {
                        minute: r.try_get("minute")?,
                        code: r.try_get("code")?,
                        fingerprint: r.try_get("fingerprint")?,
                        event: r.try_get("event")?,
                    })
                })
                .collect()
        })
    }

    fn prune(&self, before_minute: i64) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            sqlx::query("DELETE FROM counts WHERE minute < ?")
                .bind(before_minute)
                .execute(&self.pool)
                .await?;
            sqlx::query("DELETE FROM samples WHERE minute < ?")
                .bind(before_minute)
                .execute(&self.pool)
                .await?;
            Ok(())
        })
    }
}
