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
use http::header::{self, HeaderName, HeaderValue};

use super::UserId;
use crate::event::{ErrorReport, Event};

/// Bytes kept per header value.
const MAX_HEADER_VALUE: usize = 256;

/// The request id header (edge layers echo it on the response).
pub(crate) const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// How many headers are kept.
const KEPT: usize = 10;

/// The request headers kept with an error: who sent it and from where, never credentials.
static KEPT_HEADERS: [HeaderName; KEPT] = [
    header::USER_AGENT,
    header::REFERER,
    header::ORIGIN,
    header::HOST,
    header::CONTENT_TYPE,
    header::CONTENT_LENGTH,
    header::FORWARDED,
    HeaderName::from_static("x-forwarded-for"),
    HeaderName::from_static("x-real-ip"),
    X_REQUEST_ID,
];

/// The values of [`KEPT_HEADERS`] a request had (reference-counted: copying them allocates
/// nothing).
#[derive(Debug, Default)]
pub(crate) struct KeptHeaders([Option<HeaderValue>; KEPT]);

impl KeptHeaders {
    /// Picks the kept headers out of a request's, in one pass, into these (none kept yet).
    #[inline]
    pub(crate) fn pick(&mut self, headers: &http::HeaderMap) {
        for (name, value) in headers {
            if let Some(slot) = Self::slot(name).and_then(|i| self.0.get_mut(i)) {
                slot.get_or_insert_with(|| value.clone());
            }
        }
    }

    /// Drops the values kept, leaving none.
    pub(crate) fn clear(&mut self) {
        for value in &mut self.0 {
            *value = None;
        }
    }

    /// The position of `name` in [`KEPT_HEADERS`].
    fn slot(name: &HeaderName) -> Option<usize> {
        Some(match name.as_str() {
            "user-agent" => 0,
            "referer" => 1,
            "origin" => 2,
            "host" => 3,
            "content-type" => 4,
            "content-length" => 5,
            "forwarded" => 6,
            "x-forwarded-for" => 7,
            "x-real-ip" => 8,
            "x-request-id" => 9,
            _ => return None,
        })
    }

    fn get(&self, name: &HeaderName) -> Option<&HeaderValue> {
        self.0.get(Self::slot(name)?)?.as_ref()
    }

    /// The headers kept, with their names.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
        KEPT_HEADERS
            .iter()
            .zip(&self.0)
            .filter_map(|(name, value)| Some((name, value.as_ref()?)))
    }
}

/// One captured error, as queued: boxed, so moving it through the queue and into its group
/// copies a pointer, not the capture.
#[derive(Debug)]
pub(crate) enum Captured {
    /// Built by code ([`Capturer::capture`](super::Capturer::capture)), or already written out.
    Event(Box<Event>),
    /// An error response seen by the capture layer.
    Response(Box<ResponseCapture>),
}

/// An error response and its request, unformatted.
#[derive(Debug)]
pub(crate) struct ResponseCapture {
    pub status: u16,
    pub time: DateTime<Utc>,
    pub method: http::Method,
    /// The request's path and query (`None` for `CONNECT`'s authority, which has none).
    pub path: Option<http::uri::PathAndQuery>,
    pub route: Option<MatchedPath>,
    pub headers: KeptHeaders,
    /// Who the request acted for, as the service recorded it.
    pub user: UserId,
    /// The edge layer's report; `None` for a response nobody rendered.
    pub report: Option<ErrorReport>,
    /// `UNKNOWN_<status>` when there is no report, else empty.
    pub fallback_code: String,
    /// The request id the response echoed.
    pub response_request_id: Option<HeaderValue>,
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

    /// Header names and values as text, values cut at [`MAX_HEADER_VALUE`] bytes. Sensitive
    /// ones are filtered with the rest of the event, by [`ScrubEvent::scrub_event_with`](crate::ScrubEvent::scrub_event_with).
    fn header_text(&self) -> Vec<(String, String)> {
        self.headers
            .iter()
            .map(|(k, v)| {
                let s = String::from_utf8_lossy(v.as_bytes());
                let end = crate::sink::slack::floor_char_boundary(&s, MAX_HEADER_VALUE);
                (k.as_str().to_owned(), s[..end].to_owned())
            })
            .collect()
    }

    /// The event, written out (not yet scrubbed).
    fn to_event(&self) -> Event {
        let mut ev = match &self.report {
            Some(r) => Event::from_report(r),
            None => {
                Event::new(self.fallback_code.clone(), self.status).with_message(self.message())
            }
        };
        ev.time = self.time;
        ev.headers = self.header_text();
        ev.method = self.method.as_str().to_string();
        ev.path = self
            .path
            .as_ref()
            .map_or_else(String::new, |p| p.as_str().to_string());
        ev.route = self.route.as_ref().map(|m| m.as_str().to_string());
        ev.user_id = self.user.as_str().map(str::to_owned);
        if ev.request_id.is_none() {
            ev.request_id = self
                .response_request_id
                .as_ref()
                .or_else(|| self.headers.get(&X_REQUEST_ID))
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
        }
        ev
    }
}

impl Captured {
    /// An error response captured by the layer.
    pub(crate) fn response(capture: ResponseCapture) -> Self {
        Captured::Response(Box::new(capture))
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

    /// Calls `f` with each message parameter's name and text (`sku`, `A-1`), raw.
    pub(crate) fn for_each_param(&self, mut f: impl FnMut(&str, &str)) {
        match self {
            Captured::Event(e) => {
                for (name, value) in &e.params {
                    f(name, value);
                }
            }
            Captured::Response(r) => {
                let Some(report) = &r.report else { return };
                let mut text = String::new();
                for (name, value) in report.error.params() {
                    text.clear();
                    value.write_to(&mut text);
                    f(name, &text);
                }
            }
        }
    }

    /// The internal causes, outermost first, one per line (raw: scrubbed where it is used).
    pub(crate) fn cause_text(&self) -> String {
        match self {
            Captured::Event(e) => e.cause_chain.join("\n"),
            Captured::Response(r) => r
                .report
                .as_ref()
                .map(|report| report.cause_chain().join("\n"))
                .unwrap_or_default(),
        }
    }

    /// User id.
    pub(crate) fn user(&self) -> Option<&str> {
        match self {
            Captured::Event(e) => e.user_id.as_deref(),
            Captured::Response(r) => r.user.as_str(),
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

    /// What a relay in front of Sentry did with it, if it came through one.
    pub(crate) fn forwarding(&self) -> Option<crate::event::Forwarding> {
        match self {
            Captured::Event(e) => e.forwarding,
            Captured::Response(_) => None,
        }
    }

    /// The event, written out (not yet scrubbed).
    pub(crate) fn to_event(&self) -> Event {
        match self {
            Captured::Event(e) => Event::clone(e),
            Captured::Response(r) => r.to_event(),
        }
    }

    /// The event, written out (not yet scrubbed), reusing what can be moved.
    pub(crate) fn into_event(self) -> Event {
        match self {
            Captured::Event(e) => *e,
            Captured::Response(r) => r.to_event(),
        }
    }
}

impl From<Event> for Captured {
    fn from(ev: Event) -> Self {
        Captured::Event(Box::new(ev))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kept_header_has_its_own_slot() {
        for (i, name) in KEPT_HEADERS.iter().enumerate() {
            assert_eq!(KeptHeaders::slot(name), Some(i), "{name}");
        }
        assert_eq!(KeptHeaders::slot(&header::AUTHORIZATION), None);
        assert_eq!(KeptHeaders::slot(&header::COOKIE), None);
    }

    #[test]
    fn credentials_are_not_kept() {
        let mut headers = http::HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        headers.insert(header::USER_AGENT, HeaderValue::from_static("app/1.2"));
        headers.insert("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
        let mut kept = KeptHeaders::default();
        kept.pick(&headers);
        let names: Vec<&str> = kept.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["user-agent", "x-forwarded-for"]);
    }
}
