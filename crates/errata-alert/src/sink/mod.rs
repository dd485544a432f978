//! Sinks: where alerts go. Every sink is behind one trait, [`Sink`]; the pipeline paces each
//! one to its [`min_interval`](Sink::min_interval) and retries on its behalf.

use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::alert::Alert;

pub mod console;
pub mod sentry;
pub mod slack;
pub mod webhook;

pub use console::ConsoleSink;
pub use sentry::SentrySink;
pub use slack::SlackSink;
pub use webhook::WebhookSink;

/// What became of one attempt to send.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendOutcome {
    /// Accepted. `hold` asks the worker to send nothing more for a while (a rate limit
    /// announced on a success, as Sentry does).
    Delivered {
        /// Pause before the next send.
        hold: Option<Duration>,
    },
    /// The sink is rate limited: keep the alert and send nothing to this sink for `retry_after`.
    RateLimited {
        /// How long to hold.
        retry_after: Duration,
        /// What the sink said.
        reason: String,
    },
    /// A transient failure: retry this alert (after `retry_after` if the sink said so,
    /// otherwise after an exponential backoff with jitter).
    Retry {
        /// The sink's own hint.
        retry_after: Option<Duration>,
        /// What went wrong.
        reason: String,
    },
    /// The sink refused the alert for good: it becomes a dead letter.
    Rejected {
        /// What the sink said.
        reason: String,
    },
}

impl SendOutcome {
    /// Delivered, nothing to hold.
    pub fn delivered() -> Self {
        SendOutcome::Delivered { hold: None }
    }
}

/// A destination for alerts.
///
/// Implementations render the alert, send it once and classify the result; they do not retry,
/// sleep or spool: the pipeline does.
pub trait Sink: Send + Sync + 'static {
    /// A stable name (the spool keys pending deliveries by it across restarts).
    fn name(&self) -> &str;

    /// Least time between two sends (Slack: 1 s per channel).
    fn min_interval(&self) -> Duration {
        Duration::ZERO
    }

    /// Sends one alert.
    fn send<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, SendOutcome>;

    /// Whether this sink is sent resolved notices ([`AlertKind::Resolved`](crate::AlertKind::Resolved);
    /// default yes, like Alertmanager's `send_resolved`). A sink that answers no has them
    /// marked delivered without a send (Sentry, whose issues have their own state).
    fn send_resolved(&self) -> bool {
        true
    }
}

/// The longest wait a sink can ask for (a day); longer hints are capped.
pub const MAX_RETRY_AFTER_SECS: u64 = 86_400;

/// Parses `Retry-After`: delay-seconds or an HTTP date (capped at a day).
///
/// ```
/// use errata_alert::sink::parse_retry_after;
/// use std::time::{Duration, SystemTime};
///
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
/// assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
/// assert_eq!(
///     parse_retry_after("Sun, 09 Sep 2001 01:46:50 GMT", now),
///     Some(Duration::from_secs(10))
/// );
/// assert_eq!(parse_retry_after("soon", now), None);
/// ```
pub fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs.min(MAX_RETRY_AFTER_SECS)));
    }
    if let Ok(secs) = v.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(
                secs.min(MAX_RETRY_AFTER_SECS as f64),
            ));
        }
    }
    let at = httpdate::parse_http_date(v).ok()?;
    let wait = at.duration_since(now).unwrap_or(Duration::ZERO);
    Some(wait.min(Duration::from_secs(MAX_RETRY_AFTER_SECS)))
}

pub(crate) fn retry_after_header(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, std::time::SystemTime::now()))
}

/// A transport error as text that never contains the URL (webhook URLs carry secrets).
pub(crate) fn describe(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "bad response body"
    } else {
        "request failed"
    };
    let mut text = format!("{kind}: {}", e.without_url());
    // Some inner errors repeat the address; keep the sentence short.
    text.truncate(crate::sink::slack::floor_char_boundary(&text, 300));
    text
}

/// Classifies an HTTP answer the common way: 2xx delivered, 429 rate limited, 3xx (never
/// followed) and 408/425/5xx retried, other 4xx rejected.
pub(crate) fn classify(status: u16, retry_after: Option<Duration>, body: &str) -> SendOutcome {
    let snippet: String = body.chars().take(200).collect();
    match status {
        200..=299 => SendOutcome::delivered(),
        300..=399 => SendOutcome::Retry {
            retry_after,
            reason: format!(
                "{status} redirect, not followed (an alert and its credentials go only to the configured URL; point the sink at the new location)"
            ),
        },
        429 => SendOutcome::RateLimited {
            retry_after: retry_after.unwrap_or(Duration::from_secs(1)),
            reason: format!("429 {snippet}"),
        },
        408 | 425 | 500..=599 => SendOutcome::Retry {
            retry_after,
            reason: format!("{status} {snippet}"),
        },
        _ => SendOutcome::Rejected {
            reason: format!("{status} {snippet}"),
        },
    }
}

/// An HTTP client for sinks, with a total timeout per request, that never follows a redirect:
/// an alert, its signature and its credentials go to the configured origin or nowhere.
pub(crate) fn client(timeout: Duration) -> reqwest::Client {
    let no_redirects = || reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    no_redirects()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("errata-alert/", env!("CARGO_PKG_VERSION")))
        .build()
        .or_else(|_| no_redirects().build())
        .unwrap_or_else(|_| {
            // Only a TLS backend that cannot start fails both; a client that refuses every
            // URL is then the only one that cannot leak.
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .https_only(true)
                .build()
                .unwrap_or_default()
        })
}

/// Default timeout of a sink's HTTP request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
