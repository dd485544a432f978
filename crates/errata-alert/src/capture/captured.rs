//! What the capture queue carries.
//!
//! An error response is queued as the request and the response left it: the method, URI,
//! matched route and headers the layer already holds, and the edge layer's shared report.
//! Nothing is formatted or scrubbed on the request path. The aggregator reads what counting
//! and grouping need straight from it, and writes out a full (then scrubbed) [`Event`] only
//! for the few it samples or alerts on: in a storm of one error, almost none.

use axum::extract::MatchedPath;
use chrono::{DateTime, Utc};
use errata_catalog::{AlertPolicy, SpikeRule};

use crate::event::{ErrorReport, Event};
use crate::scrub::{Scrubber, FILTERED};

/// Headers kept per event, at most.
const MAX_HEADERS: usize = 24;
/// Bytes kept per header value.
const MAX_HEADER_VALUE: usize = 256;

/// One captured error, as queued.
#[derive(Debug)]
pub(crate) enum Captured {
    /// Built by code ([`Capturer::capture`](super::Capturer::capture)), or already written out.
    Event(Event),
    /// An error response seen by the capture layer.
    Response(ResponseCapture),
}

/// An error response and its request, unformatted.
#[derive(Debug)]
pub(crate) struct ResponseCapture {
    pub status: u16,
    pub time: DateTime<Utc>,
    pub method: http::Method,
    pub uri: http::Uri,
    pub route: Option<MatchedPath>,
    pub headers: http::HeaderMap,
    pub user: Option<String>,
    /// The edge layer's report; `None` for a response nobody rendered.
    pub report: Option<ErrorReport>,
    /// `UNKNOWN_<status>` when there is no report, else empty.
    pub fallback_code: String,
    /// The request id the response echoed.
    pub response_request_id: Option<http::HeaderValue>,
}

impl ResponseCapture {
    fn code(&self) -> &str {
        match &self.report {
            Some(r) => &r.code,
            None => &self.fallback_code,
        }
    }

    fn message(&self) -> &str {
        match &self.report {
            Some(r) => &r.message,
            None => errata_catalog::reason_phrase(self.status),
        }
    }

    /// Header names and values as text, sensitive ones filtered.
    fn header_text(&self, scrub: &Scrubber) -> Vec<(String, String)> {
        self.headers
            .iter()
            .take(MAX_HEADERS)
            .map(|(k, v)| {
                let name = k.as_str().to_string();
                let value = if scrub.is_sensitive_header(&name) {
                    FILTERED.to_string()
                } else {
                    let s = String::from_utf8_lossy(v.as_bytes());
                    let end = crate::sink::slack::floor_char_boundary(&s, MAX_HEADER_VALUE);
                    s[..end].to_string()
                };
                (name, value)
            })
            .collect()
    }

    /// The event, written out (not yet scrubbed; sensitive headers already filtered).
    fn to_event(&self, scrub: &Scrubber) -> Event {
        let mut ev = match &self.report {
            Some(r) => Event::from_report(r),
            None => {
                Event::new(self.fallback_code.clone(), self.status).with_message(self.message())
            }
        };
        ev.time = self.time;
        ev.headers = self.header_text(scrub);
        ev.method = self.method.as_str().to_string();
        ev.path = self
            .uri
            .path_and_query()
            .map_or_else(|| self.uri.path().to_string(), |p| p.as_str().to_string());
        ev.route = self.route.as_ref().map(|m| m.as_str().to_string());
        ev.user_id.clone_from(&self.user);
        if ev.request_id.is_none() {
            ev.request_id = self
                .response_request_id
                .as_ref()
                .or_else(|| self.headers.get("x-request-id"))
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
        }
        ev
    }
}

impl Captured {
    /// An error response captured by the layer.
    pub(crate) fn response(capture: ResponseCapture) -> Self {
        Captured::Response(capture)
    }

    /// Catalog code.
    pub(crate) fn code(&self) -> &str {
        match self {
            Captured::Event(e) => &e.code,
            Captured::Response(r) => r.code(),
        }
    }

    /// HTTP status.
    pub(crate) fn status(&self) -> u16 {
        match self {
            Captured::Event(e) => e.status,
            Captured::Response(r) => r.status,
        }
    }

    /// HTTP method, empty outside HTTP.
    pub(crate) fn method(&self) -> &str {
        match self {
            Captured::Event(e) => &e.method,
            Captured::Response(r) => r.method.as_str(),
        }
    }

    /// Route template.
    pub(crate) fn route(&self) -> Option<&str> {
        match self {
            Captured::Event(e) => e.route.as_deref(),
            Captured::Response(r) => r.route.as_ref().map(MatchedPath::as_str),
        }
    }

    /// Public message (raw: scrubbed where it is used).
    pub(crate) fn message(&self) -> &str {
        match self {
            Captured::Event(e) => &e.message,
            Captured::Response(r) => r.message(),
        }
    }

    /// User id.
    pub(crate) fn user(&self) -> Option<&str> {
        match self {
            Captured::Event(e) => e.user_id.as_deref(),
            Captured::Response(r) => r.user.as_deref(),
        }
    }

    /// When it happened.
    pub(crate) fn time(&self) -> DateTime<Utc> {
        match self {
            Captured::Event(e) => e.time,
            Captured::Response(r) => r.time,
        }
    }

    /// Alert policy carried with the error, if any.
    pub(crate) fn alert(&self) -> Option<AlertPolicy> {
        match self {
            Captured::Event(e) => e.alert,
            Captured::Response(r) => r.report.as_ref().map(|r| r.alert),
        }
    }

    /// Spike rule carried with the error, if any.
    pub(crate) fn spike(&self) -> Option<SpikeRule> {
        match self {
            Captured::Event(e) => e.spike,
            Captured::Response(r) => r.report.as_ref().and_then(|r| r.spike),
        }
    }

    /// Docs link carried with the error, if any.
    pub(crate) fn docs_url(&self) -> Option<&str> {
        match self {
            Captured::Event(e) => e.docs_url.as_deref(),
            Captured::Response(r) => r.report.as_ref().and_then(|r| r.docs_url.as_deref()),
        }
    }

    /// Explicit fingerprint, if any.
    pub(crate) fn fingerprint(&self) -> Option<&str> {
        match self {
            Captured::Event(e) => e.fingerprint.as_deref(),
            Captured::Response(_) => None,
        }
    }

    /// The event, written out (not yet scrubbed).
    pub(crate) fn to_event(&self, scrub: &Scrubber) -> Event {
        match self {
            Captured::Event(e) => e.clone(),
            Captured::Response(r) => r.to_event(scrub),
        }
    }

    /// The event, written out (not yet scrubbed), reusing what can be moved.
    pub(crate) fn into_event(self, scrub: &Scrubber) -> Event {
        match self {
            Captured::Event(e) => e,
            Captured::Response(r) => r.to_event(scrub),
        }
    }
}

impl From<Event> for Captured {
    fn from(ev: Event) -> Self {
        Captured::Event(ev)
    }
}
