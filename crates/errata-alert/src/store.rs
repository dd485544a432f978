//! Counts over time and sampled events: what the store keeps for `stats`.

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::spool::StoreError;

/// Route recorded for responses no route matched (keeps cardinality bounded).
pub const UNMATCHED_ROUTE: &str = "(unmatched)";

/// Events of one (minute, code, status, route, method).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountRow {
    /// Minutes since the Unix epoch.
    pub minute: i64,
    /// Catalog code.
    pub code: String,
    /// HTTP status.
    pub status: u16,
    /// Route template, or [`UNMATCHED_ROUTE`].
    pub route: String,
    /// HTTP method.
    pub method: String,
    /// Events.
    pub count: u64,
}

/// One sampled, scrubbed event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleRow {
    /// Minutes since the Unix epoch.
    pub minute: i64,
    /// Catalog code.
    pub code: String,
    /// Fingerprint of its group.
    pub fingerprint: String,
    /// The event as JSON.
    pub event: String,
}

/// The minute (since the epoch) of `t`.
pub fn minute_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(60)
}

/// Where counts and samples are kept.
pub trait Store: Send + Sync + 'static {
    /// Adds counts (rows for the same key are summed).
    fn add_counts<'a>(&'a self, rows: &'a [CountRow]) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Keeps sampled events.
    fn add_samples<'a>(&'a self, rows: &'a [SampleRow]) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Counts with `from <= minute < to`.
    fn counts(&self, from: i64, to: i64) -> BoxFuture<'_, Result<Vec<CountRow>, StoreError>>;
    /// Samples with `from <= minute < to`, at most `limit`, newest first.
    fn samples(
        &self,
        from: i64,
        to: i64,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<SampleRow>, StoreError>>;
    /// Deletes counts and samples older than `minute`, and delivered history.
    fn prune(&self, before_minute: i64) -> BoxFuture<'_, Result<(), StoreError>>;
}
