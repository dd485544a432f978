//! A PostgreSQL store that was not reachable at start-up: the service starts all the same,
//! every call fails (so the pipeline keeps alerts and counts in bounded memory) until a
//! background task connects, after which every call goes to the real store.

use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;

use super::{Delivery, ListFilter, PostgresStore, Spool, StoreError};
use crate::alert::Alert;
use crate::store::{CountRow, SampleRow, Store};

/// Longest pause between two connection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A store connecting in the background.
pub(crate) struct Deferred {
    /// The URL with its secrets masked, for messages.
    shown: String,
    inner: OnceLock<PostgresStore>,
}

impl Deferred {
    /// Starts connecting to `url` in the background (call inside a tokio runtime).
    pub(crate) fn start(url: String, shown: String, timeout: Duration) -> Arc<Self> {
        let this = Arc::new(Deferred {
            shown,
            inner: OnceLock::new(),
        });
        let weak: Weak<Deferred> = Arc::downgrade(&this);
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(500);
            loop {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                let Some(this) = weak.upgrade() else { return };
                match PostgresStore::try_connect(&url, timeout).await {
                    Ok(store) => {
                        let _ = this.inner.set(store);
                        tracing::warn!(
                            store = %this.shown,
                            "errata: the store is reachable now; what was kept in memory is being written to it"
                        );
                        return;
                    }
                    Err((_, e)) => {
                        tracing::debug!(store = %this.shown, error = %e, "errata: the store is still unreachable");
                    }
                }
            }
        });
        this
    }

    fn get(&self) -> Result<&PostgresStore, StoreError> {
        self.inner.get().ok_or_else(|| {
            StoreError::Database(format!("the store {} is not reachable yet", self.shown))
        })
    }
}

impl Spool for Deferred {
    fn enqueue<'a>(
        &'a self,
        alerts: &'a [Alert],
        sinks: &'a [String],
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { self.get()?.enqueue(alerts, sinks).await })
    }

    fn lease<'a>(
        &'a self,
        sink: &'a str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<Delivery>, StoreError>> {
        Box::pin(async move { self.get()?.lease(sink, now, lease, limit).await })
    }

    fn reset_backoff<'a>(
        &'a self,
        sink: &'a str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move { self.get()?.reset_backoff(sink, now).await })
    }

    fn ack(&self, id: i64) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move { self.get()?.ack(id).await })
    }

    fn retry<'a>(
        &'a self,
        id: i64,
        next_at: DateTime<Utc>,
        attempts: u32,
        error: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { self.get()?.retry(id, next_at, attempts, error).await })
    }

    fn kill<'a>(
        &'a self,
        id: i64,
        attempts: u32,
        error: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { self.get()?.kill(id, attempts, error).await })
    }

    fn list(&self, filter: ListFilter) -> BoxFuture<'_, Result<Vec<Delivery>, StoreError>> {
        Box::pin(async move { self.get()?.list(filter).await })
    }

    fn replay(&self, id: i64) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move { self.get()?.replay(id).await })
    }

    fn replay_dead(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async move { self.get()?.replay_dead().await })
    }

    fn pending<'a>(&'a self, sink: Option<&'a str>) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move { self.get()?.pending(sink).await })
    }

    fn next_due<'a>(
        &'a self,
        sink: &'a str,
    ) -> BoxFuture<'a, Result<Option<DateTime<Utc>>, StoreError>> {
        Box::pin(async move { self.get()?.next_due(sink).await })
    }
}

impl Store for Deferred {
    fn add_counts<'a>(&'a self, rows: &'a [CountRow]) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { self.get()?.add_counts(rows).await })
    }

    fn add_samples<'a>(&'a self, rows: &'a [SampleRow]) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { self.get()?.add_samples(rows).await })
    }

    fn counts(&self, from: i64, to: i64) -> BoxFuture<'_, Result<Vec<CountRow>, StoreError>> {
        Box::pin(async move { self.get()?.counts(from, to).await })
    }

    fn samples(
        &self,
        from: i64,
        to: i64,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<SampleRow>, StoreError>> {
        Box::pin(async move { self.get()?.samples(from, to, limit).await })
    }

    fn prune(&self, before_minute: i64) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move { self.get()?.prune(before_minute).await })
    }
}
