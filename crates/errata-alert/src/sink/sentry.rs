//! Sentry: one event per alert, in an envelope, POSTed to `/api/<project>/envelope/`.
//!
//! Rate limits are honored: `X-Sentry-Rate-Limits` (also on a 200) and a bare 429 (60 s)
//! hold the sink, and spooled alerts wait out the window instead of being resent into it.
//!
//! Resolved notices ([`AlertKind::Resolved`](crate::AlertKind::Resolved)) are not sent to
//! Sentry ([`Sink::send_resolved`] is false): a Sentry issue has its own state (resolved in
//! Sentry, or by a release), and an event saying "it stopped" would count as one more
//! occurrence of the issue. Their deliveries are marked delivered without a request.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use futures_util::future::BoxFuture;
use sentry_types::protocol::v7::{Event, Exception, Level, Map, Request, User, Values};
use sentry_types::Dsn;

use super::{classify, client, describe, retry_after_header, SendOutcome, Sink, DEFAULT_TIMEOUT};
use crate::alert::Alert;
use crate::config::{redact_userinfo, ConfigError, Secret};

/// Sends alerts to Sentry.
pub struct SentrySink {
    name: String,
    dsn: Secret<Dsn>,
    http: reqwest::Client,
}

impl std::fmt::Debug for SentrySink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentrySink")
            .field("name", &self.name)
            .field("host", &self.dsn.expose().host())
            .field("project", &self.dsn.expose().project_id().to_string())
            .finish()
    }
}

/// Parses a DSN; the error names `ERRATA_SENTRY_DSN` and hides the keys.
pub fn parse_dsn(value: &str) -> Result<Dsn, ConfigError> {
    use sentry_types::ParseDsnError as E;
    let v = value.trim();
    v.parse::<Dsn>().map_err(|e| {
        let why = match e {
            E::InvalidUrl => "not a URL",
            E::InvalidScheme => "the scheme must be http or https",
            E::NoUsername => "missing public key",
            E::NoProjectId => "missing project id",
            E::InvalidProjectId(_) => "invalid project id",
        };
        ConfigError::invalid(
            "ERRATA_SENTRY_DSN",
            format!("{why} in {:?}", redact_userinfo(v)),
        )
    })
}

/// How long `X-Sentry-Rate-Limits` holds error events (the longest entry that covers the
/// `error` category or all categories).
///
/// ```
/// use errata_alert::sink::sentry::rate_limit_hold;
/// use std::time::Duration;
///
/// assert_eq!(rate_limit_hold("60:transaction:key, 2:error;default:organization"), Some(Duration::from_secs(2)));
/// assert_eq!(rate_limit_hold("30::organization"), Some(Duration::from_secs(30)));
/// assert_eq!(rate_limit_hold("30:transaction:key"), None);
/// ```
pub fn rate_limit_hold(header: &str) -> Option<Duration> {
    let mut hold: Option<Duration> = None;
    for entry in header.split(',') {
        let mut parts = entry.trim().split(':');
        let Some(secs) = parts.next().and_then(|s| s.trim().parse::<f64>().ok()) else {
            continue;
        };
        if !secs.is_finite() || secs < 0.0 {
            continue;
        }
        let cats = parts.next().unwrap_or("");
        let covers = cats.trim().is_empty()
            || cats
                .split(';')
                .any(|c| matches!(c.trim(), "error" | "default"));
        if covers {
            let d = Duration::from_secs_f64(secs.min(86_400.0));
            hold = Some(hold.map_or(d, |h| h.max(d)));
        }
    }
    hold
}

/// The Sentry event for an alert.
pub fn event_of(alert: &Alert) -> Event<'static> {
    let s = &alert.sample;
    let mut ev = Event::new();
    if let Ok(id) = alert.id.parse() {
        ev.event_id = id;
    }
    ev.level = if s.panic { Level::Fatal } else { Level::Error };
    ev.message = Some(if s.message.is_empty() {
        alert.code.clone()
    } else {
        format!("{}: {}", alert.code, s.message)
    });
    ev.fingerprint = Cow::Owned(vec![Cow::Owned(alert.fingerprint.clone())]);
    ev.logger = Some("errata".to_string());
    ev.transaction = Some(alert.where_text());
    ev.timestamp = SystemTime::from(alert.last_seen);
    ev.environment = alert.environment.clone().map(Cow::Owned);
    ev.release = alert.release.clone().map(Cow::Owned);
    ev.server_name = alert.service.clone().map(Cow::Owned);
    let mut tags = Map::new();
    tags.insert("code".to_string(), alert.code.clone());
    tags.insert("status".to_string(), alert.status.to_string());
    if let Some(r) = &s.route {
        tags.insert("route".to_string(), r.clone());
    }
    if !s.method.is_empty() {
        tags.insert("method".to_string(), s.method.clone());
    }
    if let Some(rid) = &s.request_id {
        tags.insert("request_id".to_string(), rid.clone());
    }
    if let Some(l) = &s.locale {
        tags.insert("locale".to_string(), l.clone());
    }
    ev.tags = tags;
    let mut extra = Map::new();
    extra.insert("count".to_string(), alert.count.into());
    extra.insert("total".to_string(), alert.total.into());
    extra.insert("users".to_string(), alert.users.into());
    extra.insert(
        "first_seen".to_string(),
        alert.first_seen.to_rfc3339().into(),
    );
    extra.insert("last_seen".to_string(), alert.last_seen.to_rfc3339().into());
    extra.insert("alert_kind".to_string(), alert.kind.as_str().into());
    if let Some(d) = &alert.docs_url {
        extra.insert("docs".to_string(), d.clone().into());
    }
    if let Some(up) = &s.upstream {
        extra.insert(
            "upstream".to_string(),
            serde_json::to_value(up).unwrap_or_default(),
        );
    }
    if let Some(f) = &alert.upstream {
        extra.insert(
            "upstream_forwarding".to_string(),
            serde_json::to_value(f).unwrap_or_default(),
        );
    }
    ev.extra = extra;
    if let Some(u) = &s.user_id {
        ev.user = Some(User {
            id: Some(u.clone()),
            ..Default::default()
        });
    }
    let (path, query) = match s.path.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (s.path.clone(), None),
    };
    let mut env = Map::new();
    env.insert("PATH_INFO".to_string(), path);
    ev.request = Some(Request {
        method: (!s.method.is_empty()).then(|| s.method.clone()),
        query_string: query,
        headers: s.headers.iter().cloned().collect(),
        env,
        ..Default::default()
    });
    // Sentry lists the innermost exception last.
    let mut values: Vec<Exception> = s
        .cause_chain
        .iter()
        .rev()
        .map(|c| Exception {
            ty: alert.code.clone(),
            value: Some(c.clone()),
            ..Default::default()
        })
        .collect();
    if values.is_empty() {
        values.push(Exception {
            ty: alert.code.clone(),
            value: Some(s.message.clone()),
            ..Default::default()
        });
    }
    ev.exception = Values { values };
    ev
}

/// The absolute URL of the request an alert's sample answered (`http://host/path?query`), from
/// its `Host` header (or the service's name); `None` outside HTTP.
pub fn request_url(alert: &Alert) -> Option<String> {
    let s = &alert.sample;
    if s.method.is_empty() && s.path.is_empty() {
        return None;
    }
    let header = |name: &str| {
        s.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let host = header("host")
        .or(alert.service.as_deref())
        .unwrap_or("localhost");
    let path = if s.path.starts_with('/') {
        s.path.clone()
    } else {
        format!("/{}", s.path)
    };
    let url = reqwest::Url::parse(&format!("http://{host}{path}")).ok()?;
    Some(url.to_string())
}

/// The Sentry event for an alert as JSON, with what the typed event leaves out when it holds
/// a default: `level` always, and `request.url` for an HTTP error.
pub fn event_json(alert: &Alert) -> serde_json::Value {
    let ev = event_of(alert);
    let level = if alert.sample.panic { "fatal" } else { "error" };
    let mut v = serde_json::to_value(&ev).unwrap_or_else(|_| serde_json::json!({}));
    if let Some(obj) = v.as_object_mut() {
        obj.insert("level".into(), level.into());
        if let Some(url) = request_url(alert) {
            let req = obj
                .entry("request")
                .or_insert_with(|| serde_json::json!({}));
            if let Some(req) = req.as_object_mut() {
                req.insert("url".into(), url.into());
            }
        }
    }
    v
}

/// The envelope for an alert: its header, then one `event` item (the Sentry envelope format:
/// newline-separated JSON headers and payload, the item's `length` in bytes).
pub fn envelope_of(alert: &Alert) -> Result<Vec<u8>, serde_json::Error> {
    let event = event_json(alert);
    let payload = serde_json::to_vec(&event)?;
    let mut header = serde_json::Map::new();
    if let Some(id) = event.get("event_id") {
        header.insert("event_id".into(), id.clone());
    }
    let mut body = serde_json::to_vec(&header)?;
    body.push(b'\n');
    body.extend(serde_json::to_vec(
        &serde_json::json!({"type": "event", "length": payload.len()}),
    )?);
    body.push(b'\n');
    body.extend(payload);
    body.push(b'\n');
    Ok(body)
}

impl SentrySink {
    /// A sink for the DSN (`https://<key>@<host>/<project>`).
    pub fn new(dsn: &str) -> Result<Self, ConfigError> {
        Ok(SentrySink {
            name: "sentry".to_string(),
            dsn: Secret::new(parse_dsn(dsn)?),
            http: client(DEFAULT_TIMEOUT),
        })
    }

    /// Renames the sink (default `sentry`).
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
        let dsn = self.dsn.expose();
        let body = match envelope_of(alert) {
            Ok(b) => b,
            Err(e) => {
                return SendOutcome::Rejected {
                    reason: format!("cannot encode the envelope: {e}"),
                }
            }
        };
        let auth = dsn
            .to_auth(Some(concat!("errata-alert/", env!("CARGO_PKG_VERSION"))))
            .to_string();
        let resp = self
            .http
            .post(dsn.envelope_api_url().as_str())
            .header("X-Sentry-Auth", auth)
            .header("Content-Type", "application/x-sentry-envelope")
            .body(body)
            .send()
            .await;
        let resp = match resp {
            Ok(r) => r,
            Err(e) => {
                return SendOutcome::Retry {
                    retry_after: None,
                    reason: describe(e),
                }
            }
        };
        let status = resp.status().as_u16();
        let limits = resp
            .headers()
            .get("x-sentry-rate-limits")
            .and_then(|v| v.to_str().ok())
            .and_then(rate_limit_hold);
        let retry_after = retry_after_header(resp.headers());
        let text = resp.text().await.unwrap_or_default();
        match status {
            200..=299 => SendOutcome::Delivered { hold: limits },
            429 => SendOutcome::RateLimited {
                retry_after: limits.or(retry_after).unwrap_or(Duration::from_secs(60)),
                reason: "429 rate limited".to_string(),
            },
            _ => match classify(status, retry_after, &text) {
                SendOutcome::Retry {
                    retry_after: r,
                    reason,
                } => SendOutcome::Retry {
                    retry_after: limits.or(r),
                    reason,
                },
                other => other,
            },
        }
    }
}

impl Sink for SentrySink {
    /// No: a Sentry issue has its own state (resolved in Sentry, or by a release), and an
    /// event saying "it stopped" would count as one more occurrence of the issue.
    fn send_resolved(&self) -> bool {
        false
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn send<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, SendOutcome> {
        Box::pin(self.post(alert))
    }
}
