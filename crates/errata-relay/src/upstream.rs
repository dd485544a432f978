//! In front of Sentry: the first `per_group` events of each group and window are forwarded
//! (scrubbed) to an upstream DSN; the rest are counted, never sent. Each captured event is
//! marked with what became of it ([`errata_alert::Forwarding`]), so every notice and digest
//! of its group says how many of its window's events Sentry got and how many were held back
//! (`Alert::upstream`); the totals are also at `GET /relay/stats`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use errata_alert::Forwarding;
use tokio::sync::mpsc;

use crate::settings::{SettingsError, UpstreamSettings};

/// Where to send: the envelope endpoint and the auth header of a DSN.
#[derive(Clone)]
pub struct UpstreamTarget {
    /// `{scheme}://{host}{path}/api/{project_id}/envelope/`.
    pub envelope_url: String,
    /// The `X-Sentry-Auth` header value (holds the public key).
    pub auth: String,
    /// The DSN, for the envelope header.
    dsn: String,
}

impl std::fmt::Debug for UpstreamTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamTarget")
            .field("envelope_url", &self.envelope_url)
            .finish_non_exhaustive()
    }
}

impl UpstreamTarget {
    /// Parses a DSN `{scheme}://{public_key}[:{secret}]@{host}[:port]{path}/{project_id}`.
    pub fn parse(dsn: &str) -> Result<Self, SettingsError> {
        let bad = |why: &str| SettingsError {
            var: "ERRATA_RELAY_UPSTREAM_DSN",
            reason: format!("{why} (the value is not shown: it holds a key)"),
        };
        let url = reqwest::Url::parse(dsn.trim()).map_err(|_| bad("not a DSN"))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(bad("the scheme must be http or https"));
        }
        let key = url.username();
        if key.is_empty() {
            return Err(bad("missing public key"));
        }
        let host = url.host_str().ok_or_else(|| bad("missing host"))?;
        let path = url.path().trim_end_matches('/');
        let (prefix, project) = path
            .rsplit_once('/')
            .ok_or_else(|| bad("missing project id"))?;
        if project.is_empty() {
            return Err(bad("missing project id"));
        }
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        Ok(UpstreamTarget {
            envelope_url: format!(
                "{}://{host}{port}{prefix}/api/{project}/envelope/",
                url.scheme()
            ),
            auth: format!(
                "Sentry sentry_version=7, sentry_client=errata-relay/{}, sentry_key={key}",
                env!("CARGO_PKG_VERSION")
            ),
            dsn: dsn.trim().to_owned(),
        })
    }
}

/// Counters of forwarding.
#[derive(Debug, Default)]
pub struct UpstreamCounters {
    /// Events handed to the upstream.
    pub forwarded: AtomicU64,
    /// Events the sample left out (per group and window).
    pub not_forwarded: AtomicU64,
    /// Events sampled but not delivered (the upstream failed or its queue was full).
    pub failed: AtomicU64,
}

struct Window {
    start: Instant,
    sent: u32,
}

/// Decides per group and forwards in the background.
pub struct Forwarder {
    per_group: u32,
    window: Duration,
    groups: Mutex<HashMap<String, Window>>,
    tx: mpsc::Sender<(String, Vec<u8>)>,
    /// Counters.
    pub counters: Arc<UpstreamCounters>,
}

impl std::fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarder")
            .field("per_group", &self.per_group)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

const MAX_GROUPS: usize = 50_000;

impl Forwarder {
    /// Starts the sending task; call inside a tokio runtime.
    pub fn start(
        settings: &UpstreamSettings,
    ) -> Result<(Arc<Self>, tokio::task::JoinHandle<()>), SettingsError> {
        let target = UpstreamTarget::parse(settings.dsn.expose())?;
        let (tx, mut rx) = mpsc::channel::<(String, Vec<u8>)>(1024);
        let counters = Arc::new(UpstreamCounters::default());
        let c = counters.clone();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        let task = tokio::spawn(async move {
            while let Some((event_id, payload)) = rx.recv().await {
                let mut body = serde_json::json!({"event_id": event_id, "dsn": target.dsn})
                    .to_string()
                    .into_bytes();
                body.push(b'\n');
                body.extend_from_slice(
                    format!("{{\"type\":\"event\",\"length\":{}}}\n", payload.len()).as_bytes(),
                );
                body.extend_from_slice(&payload);
                body.push(b'\n');
                let sent = client
                    .post(&target.envelope_url)
                    .header("X-Sentry-Auth", &target.auth)
                    .header("Content-Type", "application/x-sentry-envelope")
                    .body(body)
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().is_success() => {
                        c.forwarded.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(r) => {
                        c.failed.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(
                            status = r.status().as_u16(),
                            "errata relay: upstream Sentry refused an event"
                        );
                    }
                    Err(e) => {
                        c.failed.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(error = %e.without_url(), "errata relay: upstream Sentry unreachable");
                    }
                }
            }
        });
        Ok((
            Arc::new(Forwarder {
                per_group: settings.per_group,
                window: settings.window,
                groups: Mutex::new(HashMap::new()),
                tx,
                counters,
            }),
            task,
        ))
    }

    /// Whether the sample takes this event of `group` now (counts it when not).
    pub fn admit(&self, group: &str, now: Instant) -> bool {
        let mut g = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        if g.len() >= MAX_GROUPS && !g.contains_key(group) {
            let window = self.window;
            g.retain(|_, w| now.duration_since(w.start) < window);
        }
        let w = g.entry(group.to_owned()).or_insert(Window {
            start: now,
            sent: 0,
        });
        if now.duration_since(w.start) >= self.window {
            *w = Window {
                start: now,
                sent: 0,
            };
        }
        if w.sent < self.per_group {
            w.sent += 1;
            true
        } else {
            self.counters.not_forwarded.fetch_add(1, Ordering::Relaxed);
            false
        }
    }

    /// Forwards a scrubbed event payload, or counts it when the sample is full; says what
    /// became of the event, for its alerts: forwarded when it was handed to the sending task,
    /// not forwarded when the sample held it back or the sending queue was full (counted as
    /// failed too). A refusal by the upstream comes later, and is counted as failed only.
    pub fn offer(
        &self,
        group: &str,
        event_id: &str,
        payload: impl FnOnce() -> Vec<u8>,
    ) -> Forwarding {
        let forwarded = self.admit(group, Instant::now())
            && match self.tx.try_send((event_id.to_owned(), payload())) {
                Ok(()) => true,
                Err(_) => {
                    self.counters.failed.fetch_add(1, Ordering::Relaxed);
                    false
                }
            };
        Forwarding {
            forwarded,
            per_group: self.per_group,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use errata_alert::Secret;

    #[test]
    fn dsn_to_endpoint() {
        let t = UpstreamTarget::parse("https://abc@o1.ingest.sentry.io/42").unwrap();
        assert_eq!(
            t.envelope_url,
            "https://o1.ingest.sentry.io/api/42/envelope/"
        );
        assert!(t.auth.ends_with("sentry_key=abc"));
        let t = UpstreamTarget::parse("http://k:old@127.0.0.1:9/sentry/7").unwrap();
        assert_eq!(t.envelope_url, "http://127.0.0.1:9/sentry/api/7/envelope/");
        assert!(UpstreamTarget::parse("http://127.0.0.1/7").is_err());
        assert!(UpstreamTarget::parse("http://k@127.0.0.1/").is_err());
    }

    #[tokio::test]
    async fn first_n_per_group_and_window() {
        let (f, _task) = Forwarder::start(&UpstreamSettings {
            dsn: Secret::new("http://k@127.0.0.1:1/1".into()),
            per_group: 3,
            window: Duration::from_secs(60),
        })
        .unwrap();
        let t0 = Instant::now();
        let taken = (0..10).filter(|_| f.admit("a", t0)).count();
        assert_eq!(taken, 3);
        assert!(f.admit("b", t0));
        assert_eq!(f.counters.not_forwarded.load(Ordering::Relaxed), 7);
        assert!(f.admit("a", t0 + Duration::from_secs(61)));
    }
}
