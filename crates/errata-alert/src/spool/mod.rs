//! The spool: every alert is written here, once per sink, before any sink sees it.
//!
//! Deliveries are leased by a sink's worker, then acknowledged (deleted), rescheduled (retry),
//! or dead-lettered (kept and listable, replayable). A lease that is never settled (the process
//! died) expires, and the delivery is sent again: a duplicate rather than a loss.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::alert::Alert;

pub(crate) mod deferred;
mod memory;
pub(crate) mod postgres;
pub(crate) mod sqlite;

pub use memory::MemoryStore;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database answered with an error.
    #[error("store: {0}")]
    Database(String),
    /// A stored alert could not be read back.
    #[error("store: unreadable alert {id}: {reason}")]
    Corrupt {
        /// Delivery id.
        id: i64,
        /// What was wrong.
        reason: String,
    },
    /// No delivery with that id.
    #[error("no delivery with id {0}")]
    NotFound(i64),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

/// State of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum DeliveryState {
    /// Waiting to be sent (or to be retried).
    Pending,
    /// Given up on: rejected by the sink, or too old. Kept until replayed.
    Dead,
}

impl DeliveryState {
    /// `pending` or `dead`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Dead => "dead",
        }
    }

    pub(crate) fn parse(s: &str) -> Self {
        if s == "dead" {
            DeliveryState::Dead
        } else {
            DeliveryState::Pending
        }
    }
}

/// One alert on its way to one sink.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// Spool id.
    pub id: i64,
    /// Sink name.
    pub sink: String,
    /// Pending or dead.
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: u32,
    /// When it was spooled.
    pub created_at: DateTime<Utc>,
    /// Earliest next attempt.
    pub next_at: DateTime<Utc>,
    /// What went wrong last.
    pub last_error: Option<String>,
    /// The alert.
    pub alert: Alert,
}

/// Which deliveries to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ListFilter {
    /// Pending and dead.
    #[default]
    All,
    /// Pending only.
    Pending,
    /// Dead letters only.
    Dead,
}

/// Where alerts wait for their sinks.
pub trait Spool: Send + Sync + 'static {
    /// Writes each alert once per sink, atomically.
    fn enqueue<'a>(
        &'a self,
        alerts: &'a [Alert],
        sinks: &'a [String],
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Leases up to `limit` due deliveries of `sink` for `lease`, earliest due first.
    fn lease<'a>(
        &'a self,
        sink: &'a str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<Delivery>, StoreError>>;

    /// The sink took a delivery after failing: every pending delivery of `sink` waiting for a
    /// retry becomes due again as of when it was spooled, its backoff reset (attempts back to
    /// 0), so what waited longest goes out first instead of last (leases go by due time). Returns how many were reset. Stores of your own
    /// that do not implement it keep their backoffs.
    fn reset_backoff<'a>(
        &'a self,
        sink: &'a str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        let _ = (sink, now);
        Box::pin(async { Ok(0) })
    }

    /// The delivery reached its sink: forget it.
    fn ack(&self, id: i64) -> BoxFuture<'_, Result<(), StoreError>>;

    /// Try again at `next_at`.
    fn retry<'a>(
        &'a self,
        id: i64,
        next_at: DateTime<Utc>,
        attempts: u32,
        error: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Give up: keep it as a dead letter.
    fn kill<'a>(
        &'a self,
        id: i64,
        attempts: u32,
        error: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Deliveries, oldest first.
    fn list(&self, filter: ListFilter) -> BoxFuture<'_, Result<Vec<Delivery>, StoreError>>;

    /// Makes one dead (or pending) delivery due now, attempts reset.
    fn replay(&self, id: i64) -> BoxFuture<'_, Result<(), StoreError>>;

    /// Makes every dead letter due again; returns how many.
    fn replay_dead(&self) -> BoxFuture<'_, Result<u64, StoreError>>;

    /// Pending deliveries of `sink` (all sinks when `None`).
    fn pending<'a>(&'a self, sink: Option<&'a str>) -> BoxFuture<'a, Result<u64, StoreError>>;

    /// Earliest `next_at` of a pending delivery of `sink`.
    fn next_due<'a>(
        &'a self,
        sink: &'a str,
    ) -> BoxFuture<'a, Result<Option<DateTime<Utc>>, StoreError>>;
}

pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_ms(v: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(v).unwrap_or_default()
}

pub(crate) fn decode(id: i64, json: &str) -> Result<Alert, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt {
        id,
        reason: e.to_string(),
    })
}
