//! Per-sink workers: lease from the spool, pace, send, retry with backoff and jitter, honor
//! rate limits, dead-letter what a sink refuses.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rand::Rng;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

use crate::sink::{SendOutcome, Sink};
use crate::Backend;

/// How deliveries are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryOptions {
    /// First retry delay (doubles per attempt; default 1 s).
    pub backoff_base: Duration,
    /// Longest retry delay (default 5 min).
    pub backoff_max: Duration,
    /// Age after which a delivery that keeps failing becomes a dead letter (default 24 h).
    pub max_age: Duration,
    /// How long a worker owns a leased delivery before another may take it (default 2 min).
    pub lease: Duration,
    /// Upper bound on one send, whatever the sink's own timeout (default 60 s).
    pub send_timeout: Duration,
    /// How long [`shutdown`](crate::AlertingHandle::shutdown) waits for pending deliveries
    /// (default 10 s); what is left stays spooled for the next start.
    pub shutdown_timeout: Duration,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        DeliveryOptions {
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            max_age: Duration::from_secs(24 * 3600),
            lease: Duration::from_secs(120),
            send_timeout: Duration::from_secs(60),
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

/// Delay before retry number `attempt` (from 1): exponential, capped, with "equal jitter"
/// (between half and all of the exponential delay), given a random `unit` in `[0, 1)`.
///
/// ```
/// use errata_alert::delivery::backoff;
/// use std::time::Duration;
///
/// let base = Duration::from_secs(1);
/// let max = Duration::from_secs(60);
/// assert_eq!(backoff(1, base, max, 0.0), Duration::from_millis(500));
/// assert_eq!(backoff(3, base, max, 0.999_999), Duration::from_micros(3_999_998));
/// assert_eq!(backoff(30, base, max, 0.0), Duration::from_secs(30));
/// ```
pub fn backoff(attempt: u32, base: Duration, max: Duration, unit: f64) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
    let capped = exp.min(max);
    let half = capped / 2;
    half + half.mul_f64(unit.clamp(0.0, 1.0))
}

const YEAR: Duration = Duration::from_secs(365 * 86_400);

/// `now + d`, without overflowing on absurd durations.
fn after(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d.min(YEAR)).unwrap_or(now)
}

pub(crate) struct Worker {
    pub sink: Arc<dyn Sink>,
    pub backend: Arc<dyn Backend>,
    pub wake: Arc<Notify>,
    pub stop: watch::Receiver<bool>,
    pub opts: DeliveryOptions,
    /// Fleet mode: pacing and rate-limit holds shared by every replica.
    pub pacer: Option<Arc<crate::fleet::Fleet>>,
    /// Alerts made while the store is unreachable, sent without the spool.
    pub memory: Option<tokio::sync::mpsc::Receiver<crate::alert::Alert>>,
}

impl Worker {
    pub(crate) async fn run(mut self) {
        let name = self.sink.name().to_string();
        let mut hold_until: Option<Instant> = None;
        let mut last_send: Option<Instant> = None;
        // A send failed since the last success (or this run just started, with what an earlier
        // run left in backoff): the next success resets the backoffs behind it.
        let mut failing = true;
        loop {
            if *self.stop.borrow() {
                break;
            }
            if let Some(h) = hold_until {
                if h > Instant::now() {
                    tokio::select! {
                        _ = tokio::time::sleep_until(h) => {}
                        _ = self.stop.changed() => continue,
                    }
                }
                hold_until = None;
            }
            if let Some(l) = last_send {
                let ready = l
                    .checked_add(self.sink.min_interval())
                    .unwrap_or_else(|| after(YEAR));
                if ready > Instant::now() {
                    tokio::select! {
                        _ = tokio::time::sleep_until(ready) => {}
                        _ = self.stop.changed() => continue,
                    }
                }
            }
            if let Some(alert) = self.memory.as_mut().and_then(|m| m.try_recv().ok()) {
                if alert.is_resolved() && !self.sink.send_resolved() {
                    continue;
                }
                last_send = Some(Instant::now());
                if let Some(h) = self.send_from_memory(&name, &alert).await {
                    hold_until = Some(after(h));
                }
                continue;
            }
            let leased = match self
                .backend
                .lease(&name, Utc::now(), self.opts.lease, 1)
                .await
            {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(sink = %name, error = %e, "errata: cannot read the spool");
                    self.idle(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let Some(d) = leased.into_iter().next() else {
                let wait = match self.backend.next_due(&name).await {
                    Ok(Some(t)) => (t - Utc::now())
                        .to_std()
                        .unwrap_or(Duration::from_millis(10))
                        .min(Duration::from_secs(5)),
                    _ => Duration::from_secs(5),
                };
                self.idle(wait).await;
                continue;
            };
            if d.alert.is_resolved() && !self.sink.send_resolved() {
                // Not for this sink: done, without a send (and without pacing).
                tracing::debug!(sink = %name, delivery = d.id, "errata: resolved notice not sent to this sink");
                if let Err(e) = self.backend.ack(d.id).await {
                    tracing::warn!(sink = %name, error = %e, "errata: cannot update the spool");
                }
                continue;
            }
            if !self.fleet_slot(&name).await {
                // Stopping while waiting for a slot: hand the delivery back at once.
                let error = d.last_error.as_deref().unwrap_or("");
                let _ = self.backend.retry(d.id, d.next_at, d.attempts, error).await;
                continue;
            }
            last_send = Some(Instant::now());
            let outcome = match tokio::time::timeout(
                self.opts.send_timeout,
                self.sink.send(&d.alert),
            )
            .await
            {
                Ok(o) => o,
                Err(_) => SendOutcome::Retry {
                    retry_after: None,
                    reason: "timed out".to_string(),
                },
            };
            let attempts = d.attempts.saturating_add(1);
            let now = Utc::now();
            let result = match outcome {
                SendOutcome::Delivered { hold } => {
                    tracing::debug!(sink = %name, delivery = d.id, code = %d.alert.code, "errata: alert delivered");
                    if let Some(h) = hold {
                        tracing::info!(sink = %name, hold_secs = h.as_secs_f64(), "errata: sink announced a rate limit; holding");
                        hold_until = Some(after(h));
                        self.fleet_hold(&name, h).await;
                    }
                    let acked = self.backend.ack(d.id).await;
                    if std::mem::take(&mut failing) {
                        // The sink is back: what waited behind this one goes now, oldest
                        // first, instead of after its grown backoff.
                        match self.backend.reset_backoff(&name, now).await {
                            Ok(n) if n > 0 => {
                                tracing::info!(sink = %name, reset = n, "errata: sink recovered; pending alerts go out now, oldest first");
                            }
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!(sink = %name, error = %e, "errata: cannot reset retry delays");
                            }
                        }
                    }
                    acked
                }
                SendOutcome::RateLimited {
                    retry_after,
                    reason,
                } => {
                    tracing::info!(sink = %name, retry_after_secs = retry_after.as_secs_f64(), "errata: sink rate limited; holding");
                    hold_until = Some(after(retry_after));
                    self.fleet_hold(&name, retry_after).await;
                    failing = true;
                    let at = crate::clock::add_std(now, retry_after);
                    self.backend.retry(d.id, at, attempts, &reason).await
                }
                SendOutcome::Retry {
                    retry_after,
                    reason,
                } => {
                    failing = true;
                    let age = (now - d.created_at).to_std().unwrap_or_default();
                    if age > self.opts.max_age {
                        tracing::warn!(sink = %name, delivery = d.id, attempts, "errata: giving up on an alert (too old); kept as a dead letter");
                        let why = format!("expired after {attempts} attempts; last: {reason}");
                        self.backend.kill(d.id, attempts, &why).await
                    } else {
                        let delay = retry_after.unwrap_or_else(|| {
                            backoff(
                                attempts,
                                self.opts.backoff_base,
                                self.opts.backoff_max,
                                rand::thread_rng().gen::<f64>(),
                            )
                        });
                        tracing::info!(sink = %name, delivery = d.id, attempts, retry_in_secs = delay.as_secs_f64(), reason = %reason, "errata: send failed; will retry");
                        let at = crate::clock::add_std(now, delay);
                        self.backend.retry(d.id, at, attempts, &reason).await
                    }
                }
                SendOutcome::Rejected { reason } => {
                    tracing::warn!(sink = %name, delivery = d.id, reason = %reason, "errata: sink rejected an alert; kept as a dead letter");
                    self.backend.kill(d.id, attempts, &reason).await
                }
            };
            if let Err(e) = result {
                tracing::warn!(sink = %name, error = %e, "errata: cannot update the spool");
            }
        }
    }

    /// Fleet mode: waits for this sink's next send slot across the fleet. `false` when
    /// stopping. A store that cannot be asked leaves only this replica's own pacing.
    async fn fleet_slot(&mut self, name: &str) -> bool {
        let Some(pacer) = self.pacer.clone() else {
            return true;
        };
        let interval = self.sink.min_interval();
        if interval.is_zero() {
            return true;
        }
        loop {
            match pacer.take_send_slot(name, interval).await {
                Ok(None) => return true,
                Ok(Some(wait)) => {
                    tokio::select! {
                        _ = tokio::time::sleep(wait.min(Duration::from_secs(5))) => {}
                        _ = self.stop.changed() => return false,
                    }
                }
                Err(e) => {
                    tracing::debug!(sink = %name, error = %e, "errata: fleet pacing unavailable; pacing this replica alone");
                    return true;
                }
            }
        }
    }

    /// Sends an alert the store could not take, a few times at most (it lives only in memory);
    /// returns a hold the sink asked for.
    async fn send_from_memory(
        &mut self,
        name: &str,
        alert: &crate::alert::Alert,
    ) -> Option<Duration> {
        for attempt in 1..=3u32 {
            let outcome = tokio::time::timeout(self.opts.send_timeout, self.sink.send(alert))
                .await
                .unwrap_or(SendOutcome::Retry {
                    retry_after: None,
                    reason: "timed out".to_string(),
                });
            let wait = match outcome {
                SendOutcome::Delivered { hold } => {
                    tracing::debug!(sink = %name, code = %alert.code, "errata: alert delivered from memory (the store is unreachable)");
                    return hold;
                }
                SendOutcome::Rejected { reason } => {
                    tracing::error!(sink = %name, code = %alert.code, reason = %reason, "errata: sink rejected an alert made while the store was unreachable; it is lost");
                    return None;
                }
                SendOutcome::RateLimited { retry_after, .. } => retry_after,
                SendOutcome::Retry { retry_after, .. } => retry_after.unwrap_or_else(|| {
                    backoff(
                        attempt,
                        self.opts.backoff_base,
                        self.opts.backoff_max,
                        rand::thread_rng().gen::<f64>(),
                    )
                }),
            };
            tokio::select! {
                _ = tokio::time::sleep(wait.min(Duration::from_secs(30))) => {}
                _ = self.stop.changed() => break,
            }
        }
        tracing::error!(sink = %name, code = %alert.code, "errata: an alert made while the store was unreachable could not be sent; it is lost");
        None
    }

    /// Fleet mode: no replica sends to this sink for `hold`.
    async fn fleet_hold(&self, name: &str, hold: Duration) {
        if let Some(pacer) = &self.pacer {
            if let Err(e) = pacer.hold(name, hold).await {
                tracing::debug!(sink = %name, error = %e, "errata: cannot share a rate-limit hold with the fleet");
            }
        }
    }

    async fn idle(&mut self, wait: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = self.wake.notified() => {}
            _ = self.stop.changed() => {}
        }
    }
}
