//! The event: one error that left the server, as captured.

use chrono::{DateTime, Utc};
use errata_catalog::{AlertPolicy, SpikeRule};
use serde::{Deserialize, Serialize};

pub use errata::{ErrorReport, UpstreamDetail};

/// What an upstream API answered, as kept in an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upstream {
    /// Name of the upstream (`kakao`).
    pub name: String,
    /// Its HTTP status, when it answered.
    pub status: Option<u16>,
    /// Its body (scrubbed before it is stored or sent).
    pub body: String,
    /// Whether the call timed out.
    pub timed_out: bool,
}

impl From<&UpstreamDetail> for Upstream {
    fn from(d: &UpstreamDetail) -> Self {
        Upstream {
            name: d.name.clone(),
            status: d.status,
            body: d.body.clone(),
            timed_out: d.timed_out,
        }
    }
}

/// What a relay in front of Sentry did with an event: forwarded it to the upstream Sentry, or
/// held it back because its group's sample for the window was full. Alerts sum these per
/// notice ([`UpstreamCounts`](crate::UpstreamCounts)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forwarding {
    /// Whether the event was handed to the upstream Sentry.
    pub forwarded: bool,
    /// The sample's size: events forwarded per group and window.
    pub per_group: u32,
}

/// One captured error.
///
/// Build one with [`Event::new`] and the `with_*` methods for non-HTTP code, then hand it to
/// [`Capturer::capture`](crate::Capturer::capture). Secrets are scrubbed before anything is
/// stored or sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Catalog code (or `UNKNOWN_<status>`, `PANIC`).
    pub code: String,
    /// HTTP status (500 for errors outside HTTP).
    pub status: u16,
    /// HTTP method, empty outside HTTP.
    #[serde(default)]
    pub method: String,
    /// Route template (`/users/{id}`), when the router matched one.
    #[serde(default)]
    pub route: Option<String>,
    /// Path and query as requested (scrubbed).
    #[serde(default)]
    pub path: String,
    /// Request id.
    #[serde(default)]
    pub request_id: Option<String>,
    /// Id of the user the request acted for.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Locale of the public message.
    #[serde(default)]
    pub locale: Option<String>,
    /// Public message.
    #[serde(default)]
    pub message: String,
    /// The message's parameters, by name, as text (`sku` → `A-1`); scrubbed like the message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<(String, String)>,
    /// Internal causes, outermost first.
    #[serde(default)]
    pub cause_chain: Vec<String>,
    /// Upstream answer, when there was one.
    #[serde(default)]
    pub upstream: Option<Upstream>,
    /// Request headers that tell who sent the request and from where (user agent, referer,
    /// origin, host, content type and length, forwarding headers, request id); credentials are
    /// never kept.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// When it happened.
    pub time: DateTime<Utc>,
    /// Whether the error was a panic.
    #[serde(default)]
    pub panic: bool,
    /// Link to the code's documentation.
    #[serde(default)]
    pub docs_url: Option<String>,
    /// Explicit fingerprint, overriding the computed one.
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// What a relay in front of Sentry did with it (`None`: no relay, or no upstream).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarding: Option<Forwarding>,
    /// Alert policy carried by the report; `None` looks the code up in the catalog.
    #[serde(skip)]
    pub alert: Option<AlertPolicy>,
    /// Spike rule carried by the report; `None` looks the code up in the catalog.
    #[serde(skip)]
    pub spike: Option<SpikeRule>,
}

impl Event {
    /// An event for `code` with `status`, happening now.
    pub fn new(code: impl Into<String>, status: u16) -> Self {
        Event {
            code: code.into(),
            status,
            method: String::new(),
            route: None,
            path: String::new(),
            request_id: None,
            user_id: None,
            locale: None,
            message: String::new(),
            params: Vec::new(),
            cause_chain: Vec::new(),
            upstream: None,
            headers: Vec::new(),
            time: Utc::now(),
            panic: false,
            docs_url: None,
            fingerprint: None,
            forwarding: None,
            alert: None,
            spike: None,
        }
    }

    /// An event from an edge layer's [`ErrorReport`].
    pub fn from_report(report: &ErrorReport) -> Self {
        let mut ev = Event::new(report.code.as_ref(), report.status);
        ev.message.push_str(&report.message);
        ev.params = report
            .error
            .params()
            .iter()
            .map(|(name, value)| {
                let mut text = String::new();
                value.write_to(&mut text);
                (name.to_string(), text)
            })
            .collect();
        ev.locale = Some(report.locale.to_string());
        ev.request_id = report.request_id.as_deref().map(str::to_owned);
        ev.cause_chain = report.cause_chain();
        ev.upstream = report.upstream().map(Upstream::from);
        ev.alert = Some(report.alert);
        ev.spike = report.spike;
        ev.docs_url = report.docs_url.as_deref().map(str::to_owned);
        ev
    }

    /// Sets the public message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// Sets a message parameter (`sku` → `A-1`), replacing one of the same name.
    pub fn with_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let (name, value) = (name.into(), value.into());
        match self.params.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.params.push((name, value)),
        }
        self
    }

    /// Appends an internal cause.
    pub fn with_cause(mut self, cause: impl Into<String>) -> Self {
        self.cause_chain.push(cause.into());
        self
    }

    /// Sets the route template (or, outside HTTP, the operation's name).
    pub fn with_route(mut self, route: impl Into<String>) -> Self {
        self.route = Some(route.into());
        self
    }

    /// Sets the user id.
    pub fn with_user(mut self, user: impl Into<String>) -> Self {
        self.user_id = Some(user.into());
        self
    }

    /// Sets the time.
    pub fn with_time(mut self, time: DateTime<Utc>) -> Self {
        self.time = time;
        self
    }

    /// Sets the alert policy, overriding the catalog's.
    pub fn with_alert(mut self, alert: AlertPolicy) -> Self {
        self.alert = Some(alert);
        self
    }

    /// Sets an explicit fingerprint.
    pub fn with_fingerprint(mut self, fingerprint: impl Into<String>) -> Self {
        self.fingerprint = Some(fingerprint.into());
        self
    }

    /// Marks what a relay in front of Sentry did with the event.
    pub fn with_forwarding(mut self, forwarded: bool, per_group: u32) -> Self {
        self.forwarding = Some(Forwarding {
            forwarded,
            per_group,
        });
        self
    }

    /// The fallback code of a response nobody rendered: `UNKNOWN_<status>`.
    pub fn fallback_code(status: u16) -> String {
        format!("UNKNOWN_{status}")
    }
}
