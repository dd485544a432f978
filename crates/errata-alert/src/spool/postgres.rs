//! The PostgreSQL spool and store, for several replicas sharing one queue.
//!
//! Workers lease deliveries with `FOR UPDATE SKIP LOCKED`, so replicas never send the same
//! delivery at once; a lease held by a replica that died expires and another one sends it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::Row;

use super::{decode, from_ms, ms, Delivery, DeliveryState, ListFilter, Spool, StoreError};
use crate::alert::Alert;
use crate::store::{CountRow, SampleRow, Store};

/// The spool's and store's tables (also re-created by fleet mode after the database comes back).
pub(crate) const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS errata_deliveries (
        id BIGSERIAL PRIMARY KEY,
        alert_id TEXT NOT NULL,
        sink TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts BIGINT NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL,
        next_at BIGINT NOT NULL,
        lease_until BIGINT,
        last_error TEXT,
        alert TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS errata_deliveries_due ON errata_deliveries (sink, state, next_at)",
    "CREATE TABLE IF NOT EXISTS errata_counts (
        minute BIGINT NOT NULL,
        code TEXT NOT NULL,
        status INTEGER NOT NULL,
        route TEXT NOT NULL,
        method TEXT NOT NULL,
        count BIGINT NOT NULL,
        PRIMARY KEY (minute, code, status, route, method))",
    "CREATE TABLE IF NOT EXISTS errata_samples (
        id BIGSERIAL PRIMARY KEY,
        minute BIGINT NOT NULL,
        code TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        event TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS errata_samples_minute ON errata_samples (minute)",
];

const COLUMNS: &str = "id, sink, state, attempts, created_at, next_at, last_error, alert";

/// Deliveries, counts and samples in PostgreSQL tables prefixed `errata_`.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://…`) and creates the tables if needed.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::try_connect(url, Duration::from_secs(30))
            .await
            .map_err(|(_, e)| e)
    }

    /// Like [`PostgresStore::connect`], giving up after `timeout`; the error says whether the
    /// server could not be reached (`true`: the network, worth retrying) or refused the
    /// connection (`false`: bad credentials, no such database: a configuration mistake).
    pub(crate) async fn try_connect(
        url: &str,
        timeout: Duration,
    ) -> Result<Self, (bool, StoreError)> {
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(timeout)
            .connect(url)
            .await
            .map_err(|e| {
                let unreachable = matches!(e, sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut);
                (unreachable, StoreError::Database(redact_pg_error(&e)))
            })?;
        Self::create_schema(pool).await.map_err(|e| (false, e))
    }

    async fn create_schema(pool: PgPool) -> Result<Self, StoreError> {
        let mut tx = pool.begin().await?;
        // Replicas starting together must not race on CREATE TABLE.
        sqlx::query("SELECT pg_advisory_xact_lock(7217305)")
            .execute(&mut *tx)
            .await?;
        for stmt in SCHEMA {
            sqlx::query(stmt).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(PostgresStore { pool })
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// sqlx's connection errors can quote the URL; keep only the kind of failure.
pub(crate) fn redact_pg_error(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => format!("database error: {}", d.message()),
        sqlx::Error::Io(io) => format!("cannot reach the database: {io}"),
        sqlx::Error::PoolTimedOut => "timed out connecting to the database".to_string(),
        sqlx::Error::Configuration(_) => "invalid database URL".to_string(),
        _ => "cannot connect to the database".to_string(),
    }
}

fn row_to_delivery(r: &PgRow) -> Result<Delivery, StoreError> {
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

/// Spools one alert (`json`, its serialized form) as a pending delivery to each of `sinks`, due
/// at `now_ms`; the one insert of the spool and of the fleet's claims.
pub(crate) async fn insert_deliveries(
    conn: &mut sqlx::PgConnection,
    alert_id: &str,
    json: &str,
    sinks: &[String],
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    for s in sinks {
        sqlx::query(
            "INSERT INTO errata_deliveries (alert_id, sink, state, attempts, created_at, next_at, alert)
             VALUES ($1, $2, 'pending', 0, $3, $3, $4)",
        )
        .bind(alert_id)
        .bind(s)
        .bind(now_ms)
        .bind(json)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

impl Spool for PostgresStore {
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
                insert_deliveries(&mut tx, &a.id, &json, sinks, now).await?;
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
            let sql = format!(
                "UPDATE errata_deliveries SET lease_until = $1
                 WHERE id IN (SELECT id FROM errata_deliveries
                              WHERE sink = $2 AND state = 'pending' AND next_at <= $3
                                AND (lease_until IS NULL OR lease_until < $3)
                              ORDER BY next_at, id LIMIT $4
                              FOR UPDATE SKIP LOCKED)
                 RETURNING {COLUMNS}"
            );
            let rows = sqlx::query(&sql)
                .bind(now_ms.saturating_add(lease.as_millis().min(i64::MAX as u128) as i64))
                .bind(sink)
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
                "UPDATE errata_deliveries SET next_at = LEAST(created_at, $1), attempts = 0
                 WHERE sink = $2 AND state = 'pending' AND next_at > $1
                   AND (lease_until IS NULL OR lease_until < $1)",
            )
            .bind(now_ms)
            .bind(sink)
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected())
        })
    }

    fn ack(&self, id: i64) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            sqlx::query("DELETE FROM errata_deliveries WHERE id = $1")
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
                "UPDATE errata_deliveries SET next_at = $1, attempts = $2, last_error = $3, lease_until = NULL WHERE id = $4",
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
                "UPDATE errata_deliveries SET state = 'dead', attempts = $1, last_error = $2, lease_until = NULL WHERE id = $3",
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
            let sql = format!("SELECT {COLUMNS} FROM errata_deliveries {cond} ORDER BY id");
            let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
            rows.iter().map(row_to_delivery).collect()
        })
    }

    fn replay(&self, id: i64) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let r = sqlx::query(
                "UPDATE errata_deliveries SET state = 'pending', attempts = 0, next_at = $1, lease_until = NULL WHERE id = $2",
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
                "UPDATE errata_deliveries SET state = 'pending', attempts = 0, next_at = $1, lease_until = NULL WHERE state = 'dead'",
            )
            .bind(ms(Utc::now()))
            .execute(&self.pool)
            .await?;
            Ok(r.rows_affected())
        })
    }

    fn pending<'a>(&'a self, sink: Option<&'a str>) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM errata_deliveries WHERE state = 'pending' AND ($1::TEXT IS NULL OR sink = $1)",
            )
            .bind(sink)
            .fetch_one(&self.pool)
            .await?;
            Ok(n.max(0) as u64)
        })
    }

    fn next_due<'a>(
        &'a self,
        sink: &'a str,
    ) -> BoxFuture<'a, Result<Option<DateTime<Utc>>, StoreError>> {
        Box::pin(async move {
            let v: Option<i64> = sqlx::query_scalar(
                "SELECT MIN(GREATEST(next_at, COALESCE(lease_until, 0))) FROM errata_deliveries WHERE state = 'pending' AND sink = $1",
            )
            .bind(sink)
            .fetch_one(&self.pool)
            .await?;
            Ok(v.map(from_ms))
        })
    }
}

impl Store for PostgresStore {
    fn add_counts<'a>(&'a self, rows: &'a [CountRow]) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            for r in rows {
                sqlx::query(
                    "INSERT INTO errata_counts (minute, code, status, route, method, count) VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (minute, code, status, route, method)
                     DO UPDATE SET count = errata_counts.count + EXCLUDED.count",
                )
                .bind(r.minute)
                .bind(&r.code)
                .bind(i32::from(r.status))
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
                    "INSERT INTO errata_samples (minute, code, fingerprint, event) VALUES ($1, $2, $3, $4)",
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
                "SELECT minute, code, status, route, method, count FROM errata_counts
                 WHERE minute >= $1 AND minute < $2 ORDER BY minute",
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
                        status: r.try_get::<i32, _>("status")?.clamp(0, 999) as u16,
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
                "SELECT minute, code, fingerprint, event FROM errata_samples
                 WHERE minute >= $1 AND minute < $2 ORDER BY id DESC LIMIT $3",
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
            sqlx::query("DELETE FROM errata_counts WHERE minute < $1")
                .bind(before_minute)
                .execute(&self.pool)
                .await?;
            sqlx::query("DELETE FROM errata_samples WHERE minute < $1")
                .bind(before_minute)
                .execute(&self.pool)
                .await?;
            Ok(())
        })
    }
}
