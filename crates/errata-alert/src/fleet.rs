//! Fleet mode: replicas sharing one PostgreSQL store (`ERRATA_STORE=postgres://…`) behave as
//! one node.
//!
//! Each replica groups its own events as before, but decides no notice itself. Every flush
//! (1 s by default, and at once when a group opens) it writes one row per group with the
//! events it took in since the last flush (`errata_fleet_events`: fingerprint, time, count,
//! users, routes, a scrubbed sample, how many a relay forwarded to Sentry; `notice` NULL). Every replica then looks for groups whose
//! unattributed rows are due (`group_wait` after the first, `group_interval` after the group's
//! last notice) and claims each in one transaction:
//!
//! 1. lock the group's row (`errata_fleet_groups`, `SELECT … FOR UPDATE`) and check it is
//!    still due with what is committed now;
//! 2. attribute its unattributed rows to the new notice (`UPDATE … SET notice = $id WHERE
//!    fingerprint = $1 AND notice IS NULL RETURNING …`);
//! 3. record the notice (`INSERT … ON CONFLICT (fingerprint, seq) DO NOTHING`: one winner per
//!    window), update the group, and enqueue the alert's deliveries into the spool.
//!
//! A replica that dies before the commit leaves nothing claimed: the next tick of any replica
//! takes the group. Every counted row is attributed to exactly one notice, so the counts of a
//! group's notices add up, over the fleet, to its events. Spike rules read fleet-wide counts of
//! the code over their window from the same rows. Sinks are paced fleet-wide by one row per
//! sink holding its next allowed send time, taken with an atomic `UPDATE … WHERE next_at <=
//! now RETURNING` on the database's clock.
//!
//! A group that alerted is resolved once it is quiet fleet-wide: no unattributed row, no row
//! of the fleet with an event within `resolve_after`. The claim is one transaction too: lock
//! the group row, re-check, take the next notice number (`ON CONFLICT (fingerprint, seq) DO
//! NOTHING`), stamp `resolved_at`, spool. One replica wins; a group is resolved again only
//! after a later notice about events.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use errata_catalog::SpikeRule;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, Row, Transaction};

use crate::aggregate::{Limits, Timing, MAX_PARAMS, MAX_PARAM_VALUES, PARAM_EXAMPLES};
use crate::alert::{Alert, AlertKind, ParamSample, RouteCount, UpstreamCounts};
use crate::event::Event;
use crate::spool::postgres::insert_deliveries;
use crate::spool::{from_ms, ms, StoreError};

/// One replica's events of one group since its last flush.
#[derive(Debug, Clone)]
pub(crate) struct FleetRow {
    pub fingerprint: String,
    pub code: String,
    pub status: u16,
    /// The spike rule when the code alerts on spikes only.
    pub spike: Option<SpikeRule>,
    /// When the first of these events was taken in.
    pub at: DateTime<Utc>,
    /// The latest of these events.
    pub last_at: DateTime<Utc>,
    pub n: u64,
    pub users: Vec<String>,
    pub routes: Vec<RouteCount>,
    /// The latest event, scrubbed.
    pub sample: Event,
    pub docs_url: Option<String>,
    /// Of these events, how many a relay forwarded upstream and held back.
    pub upstream: Option<UpstreamCounts>,
    /// The group's parameter values on this replica, scrubbed (all it keeps, not only the
    /// examples an alert shows).
    pub params: Vec<ParamSample>,
}

impl FleetRow {
    /// Adds a later row of the same group (while the store is unreachable).
    fn merge(&mut self, later: FleetRow, limits: Limits) {
        self.n += later.n;
        UpstreamCounts::merge_into(&mut self.upstream, later.upstream);
        ParamSample::union(&mut self.params, later.params, MAX_PARAMS, MAX_PARAM_VALUES);
        self.at = self.at.min(later.at);
        if later.last_at >= self.last_at {
            self.last_at = later.last_at;
            self.sample = later.sample;
            self.code = later.code;
            self.status = later.status;
        }
        self.spike = later.spike.or(self.spike);
        self.docs_url = later.docs_url.or(self.docs_url.take());
        for u in later.users {
            if self.users.len() < limits.max_users && !self.users.contains(&u) {
                self.users.push(u);
            }
        }
        merge_routes(&mut self.routes, later.routes, limits.max_routes);
    }
}

fn merge_routes(into: &mut Vec<RouteCount>, more: Vec<RouteCount>, max: usize) {
    for r in more {
        if let Some(e) = into.iter_mut().find(|e| e.route == r.route) {
            e.count += r.count;
        } else if into.len() < max.max(1) {
            into.push(r);
        } else if let Some(o) = into.iter_mut().find(|e| e.route == "other") {
            o.count += r.count;
        } else if let Some(last) = into.last_mut() {
            last.route = "other".to_string();
            last.count += r.count;
        }
    }
}

/// Fleet tables, created beside the spool's.
const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS errata_fleet_events (
        id BIGSERIAL PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        code TEXT NOT NULL,
        status INTEGER NOT NULL,
        spike_count BIGINT,
        spike_window BIGINT,
        at BIGINT NOT NULL,
        last_at BIGINT NOT NULL,
        n BIGINT NOT NULL,
        users TEXT NOT NULL,
        routes TEXT NOT NULL,
        sample TEXT NOT NULL,
        docs_url TEXT,
        notice TEXT)",
    "CREATE INDEX IF NOT EXISTS errata_fleet_events_open ON errata_fleet_events (fingerprint) WHERE notice IS NULL",
    "CREATE INDEX IF NOT EXISTS errata_fleet_events_code ON errata_fleet_events (code, at)",
    "CREATE TABLE IF NOT EXISTS errata_fleet_groups (
        fingerprint TEXT PRIMARY KEY,
        seq BIGINT NOT NULL DEFAULT 0,
        notices BIGINT NOT NULL DEFAULT 0,
        total BIGINT NOT NULL DEFAULT 0,
        first_seen BIGINT,
        last_notice_at BIGINT,
        last_event_at BIGINT,
        users TEXT NOT NULL DEFAULT '[]')",
    "CREATE TABLE IF NOT EXISTS errata_fleet_notices (
        id TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        seq BIGINT NOT NULL,
        at BIGINT NOT NULL,
        count BIGINT NOT NULL,
        UNIQUE (fingerprint, seq))",
    "CREATE TABLE IF NOT EXISTS errata_fleet_pacing (
        sink TEXT PRIMARY KEY,
        next_at BIGINT NOT NULL)",
    // Resolved notices: when the group's current quiet period was resolved (a resolution
    // older than the group's last notice is a past one).
    "ALTER TABLE errata_fleet_groups ADD COLUMN IF NOT EXISTS resolved_at BIGINT",
    "CREATE INDEX IF NOT EXISTS errata_fleet_events_latest ON errata_fleet_events (fingerprint, last_at)",
    // A relay's forwarding upstream: how many of the row's events it forwarded and held back
    // (`UpstreamCounts` as JSON; NULL for events that came through no relay's upstream).
    "ALTER TABLE errata_fleet_events ADD COLUMN IF NOT EXISTS upstream TEXT",
    // The group's parameter values on the replica that wrote the row, scrubbed
    // (`[ParamSample]` as JSON; NULL when the code's message has no parameters).
    "ALTER TABLE errata_fleet_events ADD COLUMN IF NOT EXISTS params TEXT",
];

/// Upper bound on one round trip to the store, whatever the pool does.
const QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// Rows kept in memory (one per group) while the store is unreachable.
const MAX_UNSAVED_GROUPS: usize = 10_000;

/// Attributed rows older than this are deleted (longer than any spike window in use).
const KEEP_ATTRIBUTED: Duration = Duration::from_secs(25 * 3600);

/// What alerts carry besides the group's own data.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stamp {
    pub service: Option<String>,
    pub environment: Option<String>,
    pub release: Option<String>,
}

/// The fleet's shared state in PostgreSQL.
pub(crate) struct Fleet {
    pool: PgPool,
    schema_ready: AtomicBool,
    timing: Timing,
    limits: Limits,
    sinks: Vec<String>,
    stamp: Stamp,
    /// Quiet time before a group's resolved notice (`None`: off).
    resolve_after: Option<Duration>,
}

/// A group with unattributed rows.
struct Candidate {
    fingerprint: String,
    first_at: i64,
    code: String,
    spike: Option<SpikeRule>,
    last_notice_at: Option<i64>,
    last_event_at: Option<i64>,
}

fn dur_ms(d: Duration) -> i64 {
    d.as_millis().min(i64::MAX as u128 / 4) as i64
}

/// Whether a group notified before is closed (quiet for `repeat_interval`) when rows from
/// `first_at` arrive.
fn closed_at(
    first_at: i64,
    last_notice_at: Option<i64>,
    last_event_at: Option<i64>,
    t: Timing,
) -> bool {
    match last_notice_at {
        None => false,
        Some(n) => first_at - n.max(last_event_at.unwrap_or(n)) >= dur_ms(t.repeat_interval),
    }
}

/// When a group with unattributed rows from `first_at` may be notified.
fn due_at(
    first_at: i64,
    last_notice_at: Option<i64>,
    last_event_at: Option<i64>,
    t: Timing,
) -> i64 {
    let wait = first_at.saturating_add(dur_ms(t.group_wait));
    match last_notice_at {
        Some(n) if !closed_at(first_at, last_notice_at, last_event_at, t) => {
            wait.max(n.saturating_add(dur_ms(t.group_interval)))
        }
        _ => wait,
    }
}

/// A group (`g`) that alerted, is not resolved in its current quiet period, has had no event
/// fleet-wide since `$1` (the cutoff: now − `resolve_after`), and was active after `$2` (left
/// alone when closed long ago): the latest event time claims keep is before the cutoff, and no
/// row, notified or not, holds a later event or waits for a notice.
const QUIET: &str = "g.notices > 0 AND g.last_notice_at IS NOT NULL
    AND (g.resolved_at IS NULL OR g.resolved_at < g.last_notice_at)
    AND COALESCE(g.last_event_at, g.last_notice_at) <= $1
    AND GREATEST(COALESCE(g.last_event_at, 0), g.last_notice_at) > $2
    AND NOT EXISTS (SELECT 1 FROM errata_fleet_events e WHERE e.fingerprint = g.fingerprint
                    AND (e.notice IS NULL OR e.last_at > $1))";

fn is_undefined_table(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("42P01"))
}

impl Fleet {
    /// A fleet on `url`; connects lazily and again after any failure, so a store that goes
    /// away and comes back (even recreated empty) is used again with its schema re-created.
    pub(crate) fn new(
        url: &str,
        timing: Timing,
        limits: Limits,
        sinks: Vec<String>,
        stamp: Stamp,
    ) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(2))
            .connect_lazy(url)
            .map_err(|_| StoreError::Database("invalid database URL".to_string()))?;
        Ok(Fleet {
            pool,
            schema_ready: AtomicBool::new(false),
            timing,
            limits,
            sinks,
            stamp,
            resolve_after: None,
        })
    }

    /// Sends resolved notices after `quiet` of fleet-wide quiet (`None`: never).
    pub(crate) fn resolve_after(mut self, quiet: Option<Duration>) -> Self {
        self.resolve_after = quiet;
        self
    }

    async fn bounded<T>(
        &self,
        f: impl std::future::Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(QUERY_TIMEOUT, f).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                // A missing table (the database was recreated), a lost connection or any other
                // failure: check the schema again (cheap, idempotent) before the next use.
                self.schema_ready.store(false, Ordering::Relaxed);
                let what = if is_undefined_table(&e) {
                    "the store's tables are missing (re-created at the next use)".to_string()
                } else {
                    crate::spool::postgres::redact_pg_error(&e)
                };
                Err(StoreError::Database(what))
            }
            Err(_) => {
                self.schema_ready.store(false, Ordering::Relaxed);
                Err(StoreError::Database(
                    "the store did not answer in time".into(),
                ))
            }
        }
    }

    /// Creates the spool's and the fleet's tables if they are missing.
    pub(crate) async fn ensure_schema(&self) -> Result<(), StoreError> {
        if self.schema_ready.load(Ordering::Relaxed) {
            return Ok(());
        }
        self.bounded(async {
            let mut tx = self.pool.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock(7217305)")
                .execute(&mut *tx)
                .await?;
            for stmt in crate::spool::postgres::SCHEMA.iter().chain(SCHEMA) {
                sqlx::query(stmt).execute(&mut *tx).await?;
            }
            tx.commit().await
        })
        .await?;
        self.schema_ready.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Writes rows; on failure they stay in `unsaved` (merged per group, bounded), and the
    /// number of events that did not fit is returned.
    pub(crate) async fn write_rows(
        &self,
        unsaved: &mut HashMap<String, FleetRow>,
        rows: Vec<FleetRow>,
    ) -> Result<(), (StoreError, u64)> {
        let mut dropped = 0;
        for r in rows {
            let room = unsaved.len() < MAX_UNSAVED_GROUPS;
            match unsaved.get_mut(&r.fingerprint) {
                Some(e) => e.merge(r, self.limits),
                None if room => {
                    unsaved.insert(r.fingerprint.clone(), r);
                }
                None => dropped += r.n,
            }
        }
        if unsaved.is_empty() {
            return if dropped > 0 {
                Err((StoreError::Database("too many groups".into()), dropped))
            } else {
                Ok(())
            };
        }
        if let Err(e) = self.ensure_schema().await {
            return Err((e, dropped));
        }
        let result = self
            .bounded(async {
                let mut tx = self.pool.begin().await?;
                for r in unsaved.values() {
                    let users = serde_json::to_string(&r.users).unwrap_or_else(|_| "[]".into());
                    let routes = serde_json::to_string(&r.routes).unwrap_or_else(|_| "[]".into());
                    let sample = serde_json::to_string(&r.sample).unwrap_or_else(|_| "{}".into());
                    let upstream = r.upstream.and_then(|u| serde_json::to_string(&u).ok());
                    let params = (!r.params.is_empty())
                        .then(|| serde_json::to_string(&r.params).ok())
                        .flatten();
                    sqlx::query(
                        "INSERT INTO errata_fleet_events (fingerprint, code, status, spike_count, spike_window, at, last_at, n, users, routes, sample, docs_url, upstream, params)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                    )
                    .bind(&r.fingerprint)
                    .bind(&r.code)
                    .bind(i32::from(r.status))
                    .bind(r.spike.map(|s| i64::from(s.count)))
                    .bind(r.spike.map(|s| s.window_secs.min(i64::MAX as u64 / 1000) as i64))
                    .bind(ms(r.at))
                    .bind(ms(r.last_at))
                    .bind(r.n.min(i64::MAX as u64) as i64)
                    .bind(users)
                    .bind(routes)
                    .bind(sample)
                    .bind(&r.docs_url)
                    .bind(upstream)
                    .bind(params)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await
            })
            .await;
        match result {
            Ok(()) => {
                unsaved.clear();
                if dropped > 0 {
                    Err((StoreError::Database("too many groups".into()), dropped))
                } else {
                    Ok(())
                }
            }
            Err(e) => Err((e, dropped)),
        }
    }

    /// Claims every group that is due at `now` and enqueues its notice; returns the alerts
    /// this replica won.
    pub(crate) async fn claim_due(&self, now: DateTime<Utc>) -> Result<Vec<Alert>, StoreError> {
        // The store keeps milliseconds: decide and stamp notices on the same value.
        let now = from_ms(ms(now));
        self.ensure_schema().await?;
        let now_ms = ms(now);
        let rows = self
            .bounded(
                sqlx::query(
                    "SELECT e.fingerprint, MIN(e.at) AS first_at, MAX(e.code) AS code,
                            MAX(e.spike_count) AS spike_count, MAX(e.spike_window) AS spike_window,
                            BOOL_AND(e.spike_count IS NOT NULL) AS spike,
                            g.last_notice_at, g.last_event_at
                     FROM errata_fleet_events e
                     LEFT JOIN errata_fleet_groups g ON g.fingerprint = e.fingerprint
                     WHERE e.notice IS NULL
                     GROUP BY e.fingerprint, g.last_notice_at, g.last_event_at
                     ORDER BY first_at LIMIT 1000",
                )
                .fetch_all(&self.pool),
            )
            .await?;
        let mut candidates = Vec::with_capacity(rows.len());
        for r in &rows {
            let spike = if r.try_get::<Option<bool>, _>("spike")?.unwrap_or(false) {
                let count: i64 = r.try_get::<Option<i64>, _>("spike_count")?.unwrap_or(0);
                let window: i64 = r.try_get::<Option<i64>, _>("spike_window")?.unwrap_or(0);
                Some(SpikeRule {
                    count: count.clamp(0, u32::MAX as i64) as u32,
                    window_secs: window.max(0) as u64,
                })
            } else {
                None
            };
            candidates.push(Candidate {
                fingerprint: r.try_get("fingerprint")?,
                first_at: r.try_get("first_at")?,
                code: r.try_get("code")?,
                spike,
                last_notice_at: r.try_get("last_notice_at")?,
                last_event_at: r.try_get("last_event_at")?,
            });
        }
        let mut firing: HashMap<String, bool> = HashMap::new();
        let mut won = Vec::new();
        for c in candidates {
            let t = self.timing;
            let open = c.last_notice_at.is_some()
                && !closed_at(c.first_at, c.last_notice_at, c.last_event_at, t);
            if let (Some(rule), false) = (c.spike, open) {
                let window_ms = (rule.window_secs as i64).saturating_mul(1000);
                let fires = match firing.get(&c.code) {
                    Some(f) => *f,
                    None => {
                        let sum: Option<i64> = self
                            .bounded(
                                sqlx::query_scalar::<_, Option<i64>>(
                                    "SELECT SUM(n)::BIGINT FROM errata_fleet_events WHERE code = $1 AND at > $2 AND at <= $3",
                                )
                                .bind(&c.code)
                                .bind(now_ms.saturating_sub(window_ms))
                                .bind(now_ms)
                                .fetch_one(&self.pool),
                            )
                            .await?;
                        let f = sum.unwrap_or(0) > i64::from(rule.count);
                        firing.insert(c.code.clone(), f);
                        f
                    }
                };
                if !fires {
                    // Below the threshold: events that left the window are not notified
                    // (they stay counted in the store's counts).
                    self.bounded(
                        sqlx::query(
                            "UPDATE errata_fleet_events SET notice = '' WHERE fingerprint = $1 AND notice IS NULL AND at <= $2",
                        )
                        .bind(&c.fingerprint)
                        .bind(now_ms.saturating_sub(window_ms))
                        .execute(&self.pool),
                    )
                    .await?;
                    continue;
                }
            }
            if due_at(c.first_at, c.last_notice_at, c.last_event_at, t) > now_ms {
                continue;
            }
            if let Some(alert) = self.claim(&c.fingerprint, now).await? {
                won.push(alert);
            }
        }
        Ok(won)
    }

    /// One claim: attributes the group's unattributed rows to a new notice and spools it, in
    /// one transaction; `None` when another replica was first or nothing is due any more.
    async fn claim(
        &self,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Alert>, StoreError> {
        let stamp = &self.stamp;
        let timing = self.timing;
        let limits = self.limits;
        let sinks = &self.sinks;
        self.bounded(async move {
            let mut tx: Transaction<'_, Postgres> = self.pool.begin().await?;
            let now_ms = ms(now);
            sqlx::query("INSERT INTO errata_fleet_groups (fingerprint) VALUES ($1) ON CONFLICT DO NOTHING")
                .bind(fingerprint)
                .execute(&mut *tx)
                .await?;
            let g = sqlx::query(
                "SELECT seq, notices, total, first_seen, last_notice_at, last_event_at, users
                 FROM errata_fleet_groups WHERE fingerprint = $1 FOR UPDATE",
            )
            .bind(fingerprint)
            .fetch_one(&mut *tx)
            .await?;
            let seq: i64 = g.try_get("seq")?;
            let mut notices: i64 = g.try_get("notices")?;
            let mut total: i64 = g.try_get("total")?;
            let mut first_seen: Option<i64> = g.try_get("first_seen")?;
            let last_notice_at: Option<i64> = g.try_get("last_notice_at")?;
            let last_event_at: Option<i64> = g.try_get("last_event_at")?;
            let mut users_total: Vec<String> =
                serde_json::from_str(&g.try_get::<String, _>("users")?).unwrap_or_default();
            let first_at: Option<i64> = sqlx::query_scalar(
                "SELECT MIN(at) FROM errata_fleet_events WHERE fingerprint = $1 AND notice IS NULL",
            )
            .bind(fingerprint)
            .fetch_one(&mut *tx)
            .await?;
            let Some(first_at) = first_at else {
                return Ok(None);
            };
            if due_at(first_at, last_notice_at, last_event_at, timing) > now_ms {
                // Another replica notified it meanwhile: its window is not over.
                return Ok(None);
            }
            let closed = closed_at(first_at, last_notice_at, last_event_at, timing);
            let kind = if closed {
                notices = 0;
                total = 0;
                first_seen = None;
                users_total.clear();
                AlertKind::Repeat
            } else if notices == 0 {
                AlertKind::New
            } else {
                AlertKind::Digest
            };
            let id = uuid::Uuid::now_v7().to_string();
            let rows = sqlx::query(
                "UPDATE errata_fleet_events SET notice = $1 WHERE fingerprint = $2 AND notice IS NULL
                 RETURNING code, status, at, last_at, n, users, routes, sample, docs_url, upstream, params",
            )
            .bind(&id)
            .bind(fingerprint)
            .fetch_all(&mut *tx)
            .await?;
            if rows.is_empty() {
                return Ok(None);
            }
            let mut count: u64 = 0;
            let mut users: Vec<String> = Vec::new();
            let mut users_capped = false;
            let mut routes: Vec<RouteCount> = Vec::new();
            let mut upstream: Option<UpstreamCounts> = None;
            let mut params: Vec<ParamSample> = Vec::new();
            let mut latest: Option<(i64, String, u16, String, Option<String>)> = None;
            let mut min_at = i64::MAX;
            for r in &rows {
                let n: i64 = r.try_get("n")?;
                count += n.max(0) as u64;
                let at: i64 = r.try_get("at")?;
                let last_at: i64 = r.try_get("last_at")?;
                min_at = min_at.min(at);
                let row_users: Vec<String> =
                    serde_json::from_str(&r.try_get::<String, _>("users")?).unwrap_or_default();
                for u in row_users {
                    if !users.contains(&u) {
                        if users.len() < limits.max_users {
                            users.push(u);
                        } else {
                            users_capped = true;
                        }
                    }
                }
                let row_routes: Vec<RouteCount> =
                    serde_json::from_str(&r.try_get::<String, _>("routes")?).unwrap_or_default();
                merge_routes(&mut routes, row_routes, limits.max_routes);
                let row_upstream: Option<String> = r.try_get("upstream")?;
                UpstreamCounts::merge_into(
                    &mut upstream,
                    row_upstream.and_then(|u| serde_json::from_str(&u).ok()),
                );
                let row_params: Option<String> = r.try_get("params")?;
                ParamSample::union(
                    &mut params,
                    row_params
                        .and_then(|p| serde_json::from_str(&p).ok())
                        .unwrap_or_default(),
                    MAX_PARAMS,
                    MAX_PARAM_VALUES,
                );
                if latest.as_ref().is_none_or(|l| last_at >= l.0) {
                    let status: i32 = r.try_get("status")?;
                    latest = Some((
                        last_at,
                        r.try_get("code")?,
                        status.clamp(0, 999) as u16,
                        r.try_get("sample")?,
                        r.try_get("docs_url")?,
                    ));
                }
            }
            let Some((last_at, code, status, sample, docs_url)) = latest else {
                return Ok(None);
            };
            for u in &users {
                if !users_total.contains(u) {
                    if users_total.len() < limits.max_users {
                        users_total.push(u.clone());
                    } else {
                        users_capped = true;
                    }
                }
            }
            let sample: Event = serde_json::from_str(&sample)
                .unwrap_or_else(|_| Event::new(code.clone(), status));
            routes.sort_by(|a, b| b.count.cmp(&a.count).then(a.route.cmp(&b.route)));
            notices += 1;
            total = total.saturating_add(count.min(i64::MAX as u64) as i64);
            let first_seen = first_seen.map_or(min_at, |f| f.min(min_at));
            let window_start = match (kind, last_notice_at) {
                (AlertKind::Digest, Some(n)) => n,
                _ => min_at,
            };
            let inserted = sqlx::query(
                "INSERT INTO errata_fleet_notices (id, fingerprint, seq, at, count) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (fingerprint, seq) DO NOTHING",
            )
            .bind(&id)
            .bind(fingerprint)
            .bind(seq + 1)
            .bind(now_ms)
            .bind(count.min(i64::MAX as u64) as i64)
            .execute(&mut *tx)
            .await?;
            if inserted.rows_affected() != 1 {
                return Ok(None);
            }
            sqlx::query(
                "UPDATE errata_fleet_groups SET seq = $2, notices = $3, total = $4, first_seen = $5,
                        last_notice_at = $6, last_event_at = GREATEST(COALESCE(last_event_at, 0), $7), users = $8
                 WHERE fingerprint = $1",
            )
            .bind(fingerprint)
            .bind(seq + 1)
            .bind(notices)
            .bind(total)
            .bind(first_seen)
            .bind(now_ms)
            .bind(last_at)
            .bind(serde_json::to_string(&users_total).unwrap_or_else(|_| "[]".into()))
            .execute(&mut *tx)
            .await?;
            let window_start = from_ms(window_start);
            let alert = Alert {
                id,
                kind,
                fingerprint: fingerprint.to_string(),
                code,
                status,
                count,
                total: total.max(0) as u64,
                window_start,
                window_end: now.max(window_start),
                first_seen: from_ms(first_seen),
                last_seen: from_ms(last_at),
                users: users.len() as u64,
                users_total: users_total.len() as u64,
                users_capped,
                routes,
                sample,
                service: stamp.service.clone(),
                environment: stamp.environment.clone(),
                release: stamp.release.clone(),
                // The union of the values the replicas that reported in this window kept.
                params: params
                    .into_iter()
                    .map(|p| p.shown(PARAM_EXAMPLES))
                    .collect(),
                docs_url,
                notice: notices.clamp(0, u32::MAX as i64) as u32,
                resolve_after_secs: self.resolve_after.map(|d| d.as_secs()),
                upstream,
            };
            let json = serde_json::to_string(&alert)
                .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
            insert_deliveries(&mut tx, &alert.id, &json, sinks, now_ms).await?;
            tx.commit().await?;
            Ok(Some(alert))
        })
        .await
    }

    /// Claims the resolved notice of every group quiet fleet-wide for `resolve_after` at `now`
    /// and spools it; returns the notices this replica won.
    pub(crate) async fn claim_resolved(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<Alert>, StoreError> {
        let Some(quiet) = self.resolve_after else {
            return Ok(Vec::new());
        };
        let now = from_ms(ms(now));
        self.ensure_schema().await?;
        let now_ms = ms(now);
        let cutoff = now_ms.saturating_sub(dur_ms(quiet));
        // Groups closed long ago (quiet for `repeat_interval` past their resolution time) are
        // left alone, so turning resolved notices on resolves only groups still open.
        let oldest = cutoff.saturating_sub(dur_ms(self.timing.repeat_interval));
        let fingerprints: Vec<String> = self
            .bounded(
                sqlx::query_scalar(&format!(
                    "SELECT g.fingerprint FROM errata_fleet_groups g WHERE {QUIET} ORDER BY g.last_event_at LIMIT 1000"
                ))
                .bind(cutoff)
                .bind(oldest)
                .fetch_all(&self.pool),
            )
            .await?;
        let mut won = Vec::new();
        for fp in fingerprints {
            if let Some(alert) = self.resolve(&fp, now, cutoff, oldest).await? {
                won.push(alert);
            }
        }
        Ok(won)
    }

    /// One resolved notice, in one transaction: `None` when another replica was first or
    /// the group is not quiet any more.
    async fn resolve(
        &self,
        fingerprint: &str,
        now: DateTime<Utc>,
        cutoff: i64,
        oldest: i64,
    ) -> Result<Option<Alert>, StoreError> {
        let stamp = &self.stamp;
        let sinks = &self.sinks;
        let resolve_after_secs = self.resolve_after.map(|d| d.as_secs());
        let max_users = self.limits.max_users;
        self.bounded(async move {
            let mut tx: Transaction<'_, Postgres> = self.pool.begin().await?;
            let now_ms = ms(now);
            let g = sqlx::query(
                "SELECT seq, notices, total, first_seen, last_notice_at, last_event_at, users
                 FROM errata_fleet_groups WHERE fingerprint = $1 FOR UPDATE",
            )
            .bind(fingerprint)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(g) = g else { return Ok(None) };
            // Checked again under the lock: another replica may have resolved it, or notified
            // new events, since the candidates were read.
            let still: bool = sqlx::query_scalar(&format!(
                "SELECT EXISTS (SELECT 1 FROM errata_fleet_groups g WHERE g.fingerprint = $3 AND {QUIET})"
            ))
            .bind(cutoff)
            .bind(oldest)
            .bind(fingerprint)
            .fetch_one(&mut *tx)
            .await?;
            if !still {
                return Ok(None);
            }
            let seq: i64 = g.try_get("seq")?;
            let notices: i64 = g.try_get("notices")?;
            let total: i64 = g.try_get("total")?;
            let first_seen: Option<i64> = g.try_get("first_seen")?;
            let last_notice_at: Option<i64> = g.try_get("last_notice_at")?;
            let last_event_at: Option<i64> = g.try_get("last_event_at")?;
            let users_total: Vec<String> =
                serde_json::from_str(&g.try_get::<String, _>("users")?).unwrap_or_default();
            let latest = sqlx::query(
                "SELECT code, status, sample, docs_url FROM errata_fleet_events
                 WHERE fingerprint = $1 AND notice <> '' ORDER BY last_at DESC LIMIT 1",
            )
            .bind(fingerprint)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(latest) = latest else {
                // Its events were pruned: nothing is left to describe it with; resolved quietly.
                sqlx::query("UPDATE errata_fleet_groups SET resolved_at = $2 WHERE fingerprint = $1")
                    .bind(fingerprint)
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                return Ok(None);
            };
            let code: String = latest.try_get("code")?;
            let status = latest.try_get::<i32, _>("status")?.clamp(0, 999) as u16;
            let sample: Event = serde_json::from_str(&latest.try_get::<String, _>("sample")?)
                .unwrap_or_else(|_| Event::new(code.clone(), status));
            let docs_url: Option<String> = latest.try_get("docs_url")?;
            let id = uuid::Uuid::now_v7().to_string();
            let inserted = sqlx::query(
                "INSERT INTO errata_fleet_notices (id, fingerprint, seq, at, count) VALUES ($1, $2, $3, $4, 0)
                 ON CONFLICT (fingerprint, seq) DO NOTHING",
            )
            .bind(&id)
            .bind(fingerprint)
            .bind(seq + 1)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
            if inserted.rows_affected() != 1 {
                return Ok(None);
            }
            sqlx::query(
                "UPDATE errata_fleet_groups SET seq = $2, notices = $3, last_notice_at = $4, resolved_at = $4
                 WHERE fingerprint = $1",
            )
            .bind(fingerprint)
            .bind(seq + 1)
            .bind(notices + 1)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
            let window_start = from_ms(last_notice_at.unwrap_or(now_ms));
            let alert = Alert {
                id,
                kind: AlertKind::Resolved,
                fingerprint: fingerprint.to_string(),
                code,
                status,
                count: 0,
                total: total.max(0) as u64,
                window_start,
                window_end: now.max(window_start),
                first_seen: from_ms(first_seen.unwrap_or(now_ms)),
                last_seen: from_ms(last_event_at.unwrap_or(now_ms)),
                users: 0,
                users_total: users_total.len() as u64,
                users_capped: users_total.len() >= max_users,
                routes: Vec::new(),
                sample,
                service: stamp.service.clone(),
                environment: stamp.environment.clone(),
                release: stamp.release.clone(),
                params: Vec::new(),
                docs_url,
                notice: (notices + 1).clamp(0, u32::MAX as i64) as u32,
                resolve_after_secs,
                upstream: None,
            };
            let json = serde_json::to_string(&alert)
                .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
            insert_deliveries(&mut tx, &alert.id, &json, sinks, now_ms).await?;
            tx.commit().await?;
            Ok(Some(alert))
        })
        .await
    }

    /// Events written to the store and not yet part of any notice.
    pub(crate) async fn unattributed(&self) -> Result<u64, StoreError> {
        self.ensure_schema().await?;
        let n: Option<i64> = self
            .bounded(
                sqlx::query_scalar(
                    "SELECT SUM(n)::BIGINT FROM errata_fleet_events WHERE notice IS NULL",
                )
                .fetch_one(&self.pool),
            )
            .await?;
        Ok(n.unwrap_or(0).max(0) as u64)
    }

    /// Deletes attributed rows too old for any spike window.
    pub(crate) async fn prune(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.ensure_schema().await?;
        let cutoff = ms(now).saturating_sub(dur_ms(KEEP_ATTRIBUTED));
        self.bounded(
            sqlx::query(
                "DELETE FROM errata_fleet_events WHERE notice IS NOT NULL AND last_at < $1",
            )
            .bind(cutoff)
            .execute(&self.pool),
        )
        .await?;
        Ok(())
    }

    /// Takes the sink's next send slot fleet-wide: `None` when this replica may send now
    /// (the next one is `interval` later), else how long to wait.
    pub(crate) async fn take_send_slot(
        &self,
        sink: &str,
        interval: Duration,
    ) -> Result<Option<Duration>, StoreError> {
        self.ensure_schema().await?;
        let wait: Option<i64> = self
            .bounded(async {
                sqlx::query(
                    "INSERT INTO errata_fleet_pacing (sink, next_at) VALUES ($1, 0) ON CONFLICT DO NOTHING",
                )
                .bind(sink)
                .execute(&self.pool)
                .await?;
                let taken: Option<i64> = sqlx::query_scalar(
                    "WITH clock AS (SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT AS t)
                     UPDATE errata_fleet_pacing p SET next_at = clock.t + $2 FROM clock
                     WHERE p.sink = $1 AND p.next_at <= clock.t RETURNING p.next_at",
                )
                .bind(sink)
                .bind(dur_ms(interval))
                .fetch_optional(&self.pool)
                .await?;
                if taken.is_some() {
                    return Ok(None);
                }
                sqlx::query_scalar(
                    "SELECT next_at - (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT
                     FROM errata_fleet_pacing WHERE sink = $1",
                )
                .bind(sink)
                .fetch_optional(&self.pool)
                .await
            })
            .await?;
        Ok(wait.map(|w| Duration::from_millis(w.clamp(1, 60_000) as u64)))
    }

    /// Nothing is sent to `sink` by any replica for `hold` (a rate limit the sink announced).
    pub(crate) async fn hold(&self, sink: &str, hold: Duration) -> Result<(), StoreError> {
        self.ensure_schema().await?;
        self.bounded(
            sqlx::query(
                "INSERT INTO errata_fleet_pacing (sink, next_at)
                 VALUES ($1, (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT + $2)
                 ON CONFLICT (sink) DO UPDATE SET next_at = GREATEST(errata_fleet_pacing.next_at, EXCLUDED.next_at)",
            )
            .bind(sink)
            .bind(dur_ms(hold))
            .execute(&self.pool),
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1000;

    #[test]
    fn due_times_follow_the_group_timing() {
        let t = Timing {
            group_wait: Duration::from_secs(5),
            group_interval: Duration::from_secs(300),
            repeat_interval: Duration::from_secs(3600),
        };
        // A new group: group_wait after its first event.
        assert_eq!(due_at(100 * S, None, None, t), 105 * S);
        // Notified at 105 s: the next notice waits for group_interval.
        assert_eq!(due_at(110 * S, Some(105 * S), Some(104 * S), t), 405 * S);
        // Quiet for repeat_interval: the group closed, a fresh alert after group_wait.
        assert!(closed_at(4000 * S, Some(105 * S), Some(300 * S), t));
        assert_eq!(due_at(4000 * S, Some(105 * S), Some(300 * S), t), 4005 * S);
        assert!(!closed_at(3000 * S, Some(105 * S), Some(300 * S), t));
    }

    #[test]
    fn routes_merge_within_their_cap() {
        let rc = |r: &str, c| RouteCount {
            route: r.into(),
            count: c,
        };
        let mut a = vec![rc("GET /a", 2)];
        merge_routes(
            &mut a,
            vec![rc("GET /a", 1), rc("GET /b", 4), rc("GET /c", 5)],
            2,
        );
        assert_eq!(a.iter().map(|r| r.count).sum::<u64>(), 12);
        assert_eq!(a.len(), 2);
        assert_eq!(a[1].route, "other");
    }
}
