//! A generic webhook: the alert as JSON, signed with HMAC-SHA256 of a shared secret.
//!
//! The body is the [`Alert`] as serialized (`status` is its HTTP status), plus `state`:
//! `"firing"` for a notice about events, `"resolved"` once the group has been quiet for
//! `resolve_after` (Alertmanager's two states; `kind` is then `"resolved"`, `count` 0). The
//! events of an `errata relay` forwarding a sample to Sentry add `upstream`: `{"forwarded":
//! 10, "not_forwarded": 540, "per_group": 10}`, of this notice's events (absent otherwise).
//!
//! Headers: `X-Errata-Timestamp: <unix seconds>` and `X-Errata-Signature: sha256=<hex>`, where
//! the signature covers `"<timestamp>.<body>"`; a receiver recomputes it with
//! [`verify`] and rejects old timestamps to stop replays.
//!
//! ```
//! use errata_alert::sink::webhook::{sign, verify};
//!
//! let sig = sign(b"s3cret", 1_700_000_000, br#"{"code":"E"}"#);
//! assert!(sig.starts_with("sha256="));
//! assert!(verify(b"s3cret", "1700000000", br#"{"code":"E"}"#, &sig, 1_700_000_010, 300));
//! assert!(!verify(b"s3cret", "1700000000", br#"{"code":"F"}"#, &sig, 1_700_000_010, 300));
//! assert!(!verify(b"s3cret", "1700000000", br#"{"code":"E"}"#, &sig, 1_700_009_999, 300));
//! ```

use std::time::Duration;

use futures_util::future::BoxFuture;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{classify, client, describe, retry_after_header, SendOutcome, Sink, DEFAULT_TIMEOUT};
use crate::alert::Alert;
use crate::config::{ConfigError, Secret};

/// Header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Errata-Signature";
/// Header carrying the timestamp (Unix seconds) included in the signature.
pub const TIMESTAMP_HEADER: &str = "X-Errata-Timestamp";

/// `sha256=<hex of HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length; the error branch cannot happen.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "sha256={}",
        crate::fingerprint::hex(&mac.finalize().into_bytes())
    )
}

/// Checks a signature (in constant time) and that the timestamp is within `tolerance_secs`
/// of `now`.
pub fn verify(
    secret: &[u8],
    timestamp: &str,
    body: &[u8],
    signature: &str,
    now: i64,
    tolerance_secs: i64,
) -> bool {
    let Ok(ts) = timestamp.trim().parse::<i64>() else {
        return false;
    };
    if (now - ts).abs() > tolerance_secs {
        return false;
    }
    let Some(hex) = signature.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Some(bytes) = unhex(hex) else {
        return false;
    };
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret) else {
        return false;
    };
    mac.update(ts.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&bytes).is_ok()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() & 1 == 1 || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// What the webhook posts: the alert and its state.
#[derive(serde::Serialize)]
struct Body<'a> {
    /// `firing` or `resolved`.
    state: &'static str,
    #[serde(flatten)]
    alert: &'a Alert,
}

/// Sends alerts as signed JSON.
pub struct WebhookSink {
    name: String,
    url: Secret<String>,
    secret: Secret<Vec<u8>>,
    http: reqwest::Client,
}

impl std::fmt::Debug for WebhookSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSink")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl WebhookSink {
    /// A sink posting to `url`, signing with `secret`.
    pub fn new(url: &str, secret: &str) -> Result<Self, ConfigError> {
        let url = crate::config::parse_url("ERRATA_WEBHOOK_URL", url, true)?;
        if secret.is_empty() {
            return Err(ConfigError::invalid("ERRATA_WEBHOOK_SECRET", "is empty"));
        }
        Ok(WebhookSink {
            name: "webhook".to_string(),
            url: Secret::new(url),
            secret: Secret::new(secret.as_bytes().to_vec()),
            http: client(DEFAULT_TIMEOUT),
        })
    }

    /// Renames the sink (default `webhook`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Timeout of one request (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.http = client(timeout);
        self
    }

    async fn post(&self, alert: &Alert) -> SendOutcome {
        let body = match serde_json::to_vec(&Body {
            state: alert.kind.state(),
            alert,
        }) {
            Ok(b) => b,
            Err(e) => {
                return SendOutcome::Rejected {
                    reason: format!("cannot encode the alert: {e}"),
                }
            }
        };
        let ts = chrono::Utc::now().timestamp();
        let sig = sign(self.secret.expose(), ts, &body);
        let resp = self
            .http
            .post(self.url.expose().as_str())
            .header("Content-Type", "application/json")
            .header(TIMESTAMP_HEADER, ts.to_string())
            .header(SIGNATURE_HEADER, sig)
            .body(body)
            .send()
            .await;
        match resp {
            Ok(r) => {
                let status = r.status().as_u16();
                let ra = retry_after_header(r.headers());
                let text = r.text().await.unwrap_or_default();
                classify(status, ra, &text)
            }
            Err(e) => SendOutcome::Retry {
                retry_after: None,
                reason: describe(e),
            },
        }
    }
}

impl Sink for WebhookSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn send<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, SendOutcome> {
        Box::pin(self.post(alert))
    }
}
