//! An in-memory spool and store: nothing survives a restart. For tests and for services that
//! accept losing pending alerts when they stop.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;

use super::{Delivery, DeliveryState, ListFilter, Spool, StoreError};
use crate::alert::Alert;
use crate::store::{CountRow, SampleRow, Store};

#[derive(Default)]
struct Inner {
    next_id: i64,
    deliveries: BTreeMap<i64, (Delivery, Option<DateTime<Utc>>)>,
    counts: HashMap<(i64, String, u16, String, String), u64>,
    samples: Vec<SampleRow>,
}

/// Spool and store in memory.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut g)
    }
}

fn ready<T: Send + 'static>(v: T) -> BoxFuture<'static, T> {
    Box::pin(std::future::ready(v))
}

impl Spool for MemoryStore {
    fn enqueue<'a>(
        &'a self,
        alerts: &'a [Alert],
        sinks: &'a [String],
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let now = Utc::now();
        self.with(|s| {
            for a in alerts {
                for sink in sinks {
                    s.next_id += 1;
                    let d = Delivery {
                        id: s.next_id,
                        sink: sink.clone(),
                        state: DeliveryState::Pending,
                        attempts: 0,
                        created_at: now,
                        next_at: now,
                        last_error: None,
                        alert: a.clone(),
                    };
                    s.deliveries.insert(d.id, (d, None));
                }
            }
        });
        ready(Ok(()))
    }

    fn lease<'a>(
        &'a self,
        sink: &'a str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<Delivery>, StoreError>> {
        let until = crate::clock::add_std(now, lease);
        let out = self.with(|s| {
            let mut due: Vec<&mut (Delivery, Option<DateTime<Utc>>)> = s
                .deliveries
                .values_mut()
                .filter(|(d, l)| {
                    d.sink == sink
                        && d.state == DeliveryState::Pending
                        && d.next_at <= now
                        && l.is_none_or(|l| l < now)
                })
                .collect();
            due.sort_by_key(|(d, _)| (d.next_at, d.id));
            due.into_iter()
                .take(limit as usize)
                .map(|(d, l)| {
                    *l = Some(until);
                    d.clone()
                })
                .collect()
        });
        ready(Ok(out))
    }

    fn reset_backoff<'a>(
        &'a self,
        sink: &'a str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        let n = self.with(|s| {
            let mut n = 0;
            for (d, l) in s.deliveries.values_mut() {
                if d.sink == sink
                    && d.state == DeliveryState::Pending
                    && d.next_at > now
                    && l.is_none_or(|l| l < now)
                {
                    d.next_at = d.created_at.min(now);
                    d.attempts = 0;
                    n += 1;
                }
            }
            n
        });
        ready(Ok(n))
    }

    fn ack(&self, id: i64) -> BoxFuture<'_, Result<(), StoreError>> {
        self.with(|s| s.deliveries.remove(&id));
        ready(Ok(()))
    }

    fn retry<'a>(
        &'a self,
        id: i64,
        next_at: DateTime<Utc>,
        attempts: u32,
        error: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.with(|s| {
            if let Some((d, l)) = s.deliveries.get_mut(&id) {
                d.next_at = next_at;
                d.attempts = attempts;
                d.last_error = Some(error.to_string());
                *l = None;
            }
        });
        ready(Ok(()))
    }

    fn kill<'a>(
        &'a self,
        id: i64,
        attempts: u32,
        error: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.with(|s| {
            if let Some((d, l)) = s.deliveries.get_mut(&id) {
                d.state = DeliveryState::Dead;
                d.attempts = attempts;
                d.last_error = Some(error.to_string());
                *l = None;
            }
        });
        ready(Ok(()))
    }

    fn list(&self, filter: ListFilter) -> BoxFuture<'_, Result<Vec<Delivery>, StoreError>> {
        let out = self.with(|s| {
            s.deliveries
                .values()
                .map(|(d, _)| d)
                .filter(|d| match filter {
                    ListFilter::All => true,
                    ListFilter::Pending => d.state == DeliveryState::Pending,
                    ListFilter::Dead => d.state == DeliveryState::Dead,
                })
                .cloned()
                .collect()
        });
        ready(Ok(out))
    }

    fn replay(&self, id: i64) -> BoxFuture<'_, Result<(), StoreError>> {
        let now = Utc::now();
        let r = self.with(|s| match s.deliveries.get_mut(&id) {
            Some((d, l)) => {
                d.state = DeliveryState::Pending;
                d.attempts = 0;
                d.next_at = now;
                *l = None;
                Ok(())
            }
            None => Err(StoreError::NotFound(id)),
        });
        ready(r)
    }

    fn replay_dead(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        let now = Utc::now();
        let n = self.with(|s| {
            let mut n = 0;
            for (d, l) in s.deliveries.values_mut() {
                if d.state == DeliveryState::Dead {
                    d.state = DeliveryState::Pending;
                    d.attempts = 0;
                    d.next_at = now;
                    *l = None;
                    n += 1;
                }
            }
            n
        });
        ready(Ok(n))
    }

    fn pending<'a>(&'a self, sink: Option<&'a str>) -> BoxFuture<'a, Result<u64, StoreError>> {
        let n = self.with(|s| {
            s.deliveries
                .values()
                .filter(|(d, _)| {
                    d.state == DeliveryState::Pending && sink.is_none_or(|k| d.sink == k)
                })
                .count() as u64
        });
        ready(Ok(n))
    }

    fn next_due<'a>(
        &'a self,
        sink: &'a str,
    ) -> BoxFuture<'a, Result<Option<DateTime<Utc>>, StoreError>> {
        let v = self.with(|s| {
            s.deliveries
                .values()
                .filter(|(d, _)| d.state == DeliveryState::Pending && d.sink == sink)
                .map(|(d, l)| l.map_or(d.next_at, |l| l.max(d.next_at)))
                .min()
        });
        ready(Ok(v))
    }
}

impl Store for MemoryStore {
    fn add_counts<'a>(&'a self, rows: &'a [CountRow]) -> BoxFuture<'a, Result<(), StoreError>> {
        self.with(|s| {
            for r in rows {
                *s.counts
                    .entry((
                        r.minute,
                        r.code.clone(),
                        r.status,
                        r.route.clone(),
                        r.method.clone(),
                    ))
                    .or_insert(0) += r.count;
            }
        });
        ready(Ok(()))
    }

    fn add_samples<'a>(&'a self, rows: &'a [SampleRow]) -> BoxFuture<'a, Result<(), StoreError>> {
        self.with(|s| s.samples.extend_from_slice(rows));
        ready(Ok(()))
    }

    fn counts(&self, from: i64, to: i64) -> BoxFuture<'_, Result<Vec<CountRow>, StoreError>> {
        let mut out: Vec<CountRow> = self.with(|s| {
            s.counts
                .iter()
                .filter(|(k, _)| k.0 >= from && k.0 < to)
                .map(|((minute, code, status, route, method), count)| CountRow {
                    minute: *minute,
                    code: code.clone(),
                    status: *status,
                    route: route.clone(),
                    method: method.clone(),
                    count: *count,
                })
                .collect()
        });
        out.sort_by_key(|r| r.minute);
        ready(Ok(out))
    }

    fn samples(
        &self,
        from: i64,
        to: i64,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<SampleRow>, StoreError>> {
        let out = self.with(|s| {
            s.samples
                .iter()
                .rev()
                .filter(|r| r.minute >= from && r.minute < to)
                .take(limit as usize)
                .cloned()
                .collect()
        });
        ready(Ok(out))
    }

    fn prune(&self, before_minute: i64) -> BoxFuture<'_, Result<(), StoreError>> {
        self.with(|s| {
            s.counts.retain(|k, _| k.0 >= before_minute);
            s.samples.retain(|r| r.minute >= before_minute);
        });
        ready(Ok(()))
    }
}
