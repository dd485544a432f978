//! Time for the aggregator: the system clock, tokio's (pausable) clock, or a manual one.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use tokio::sync::watch;

/// A source of time for grouping decisions (`group_wait`, `group_interval`, spike windows).
///
/// Delivery (pacing, backoff, `Retry-After`) always runs on real time.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
    /// A future that completes once [`now`](Clock::now) has reached `deadline`.
    fn sleep_until(&self, deadline: DateTime<Utc>) -> BoxFuture<'static, ()>;
}

/// The system's wall clock (the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until(&self, deadline: DateTime<Utc>) -> BoxFuture<'static, ()> {
        let wait = (deadline - Utc::now()).to_std().unwrap_or_default();
        Box::pin(tokio::time::sleep(wait))
    }
}

/// Wall time derived from tokio's clock, so `tokio::time::pause` and `advance` drive it.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    base_wall: DateTime<Utc>,
    base: tokio::time::Instant,
}

impl TokioClock {
    /// A clock starting at the current wall time. Call inside a tokio runtime.
    pub fn new() -> Self {
        Self::starting_at(Utc::now())
    }

    /// A clock that reads `start` now.
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        TokioClock {
            base_wall: start,
            base: tokio::time::Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = tokio::time::Instant::now() - self.base;
        self.base_wall + chrono::Duration::from_std(elapsed).unwrap_or_default()
    }

    fn sleep_until(&self, deadline: DateTime<Utc>) -> BoxFuture<'static, ()> {
        let offset = (deadline - self.base_wall).to_std().unwrap_or_default();
        let at = self.base.checked_add(offset).unwrap_or_else(|| {
            tokio::time::Instant::now() + std::time::Duration::from_secs(86_400 * 365)
        });
        Box::pin(tokio::time::sleep_until(at))
    }
}

/// A clock that moves only when told to; for tests.
///
/// ```
/// use errata_alert::{Clock, ManualClock};
/// use std::time::Duration;
///
/// let clock = ManualClock::new("2026-01-01T00:00:00Z".parse().unwrap());
/// clock.advance(Duration::from_secs(90));
/// assert_eq!(clock.now().to_rfc3339(), "2026-01-01T00:01:30+00:00");
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    inner: Arc<Mutex<DateTime<Utc>>>,
    tick: watch::Sender<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock reading `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock {
            inner: Arc::new(Mutex::new(start)),
            tick: watch::Sender::new(start),
        }
    }

    /// Moves the clock forward by `by`, waking sleepers whose deadline passed.
    pub fn advance(&self, by: std::time::Duration) {
        let mut t = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        *t += chrono::Duration::from_std(by).unwrap_or_default();
        let now = *t;
        drop(t);
        self.tick.send_replace(now);
    }

    /// Sets the clock to `to` (which may be earlier).
    pub fn set(&self, to: DateTime<Utc>) {
        *self.inner.lock().unwrap_or_else(|e| e.into_inner()) = to;
        self.tick.send_replace(to);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sleep_until(&self, deadline: DateTime<Utc>) -> BoxFuture<'static, ()> {
        let mut rx = self.tick.subscribe();
        Box::pin(async move {
            loop {
                if *rx.borrow_and_update() >= deadline {
                    return;
                }
                if rx.changed().await.is_err() {
                    // The clock is gone: time stands still forever.
                    std::future::pending::<()>().await;
                }
            }
        })
    }
}

/// `t + d`, saturating at the end of time instead of overflowing.
pub(crate) fn add_std(t: DateTime<Utc>, d: std::time::Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|c| t.checked_add_signed(c))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `t - d`, saturating at the start of time.
pub(crate) fn sub_std(t: DateTime<Utc>, d: std::time::Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|c| t.checked_sub_signed(c))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}
