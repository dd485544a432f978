//! The alert: what a group of events tells a sink.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::{Event, Forwarding};

/// Why an alert was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum AlertKind {
    /// The first notice of a new group.
    New,
    /// More events of a group already notified.
    Digest,
    /// A group seen again after it had been quiet for `repeat_interval`.
    Repeat,
    /// A group that alerted has been quiet for `resolve_after`: the problem looks over. Sent
    /// once per quiet period; its `count` is 0 (no event since the last notice).
    Resolved,
}

impl AlertKind {
    /// `new`, `digest`, `repeat` or `resolved`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::New => "new",
            AlertKind::Digest => "digest",
            AlertKind::Repeat => "repeat",
            AlertKind::Resolved => "resolved",
        }
    }

    /// `firing` for a notice about events, `resolved` for a resolved notice (the two states
    /// of an Alertmanager alert).
    pub fn state(self) -> &'static str {
        match self {
            AlertKind::Resolved => "resolved",
            _ => "firing",
        }
    }
}

/// A route (template, or path when no route matched) and how many events it saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteCount {
    /// `GET /users/{id}`.
    pub route: String,
    /// Events in this alert's window.
    pub count: u64,
}

/// The values one message parameter took in a group: "sku: 10 distinct, e.g. A-1, A-2".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamSample {
    /// Parameter name (`sku`).
    pub name: String,
    /// Distinct values seen since the group opened (a lower bound when `capped`).
    pub distinct: u64,
    /// Whether distinct-value counting hit its cap.
    #[serde(default)]
    pub capped: bool,
    /// The first few values seen, scrubbed.
    pub examples: Vec<String>,
}

impl ParamSample {
    /// Adds the values `more` holds of the same parameters (another replica's), keeping at
    /// most `max_values` distinct values per parameter and `max_params` parameters; `distinct`
    /// becomes the number of values kept.
    pub(crate) fn union(
        into: &mut Vec<ParamSample>,
        more: Vec<ParamSample>,
        max_params: usize,
        max_values: usize,
    ) {
        for p in more {
            let slot = match into.iter().position(|q| q.name == p.name) {
                Some(i) => &mut into[i],
                None if into.len() < max_params => {
                    into.push(ParamSample {
                        name: p.name,
                        distinct: 0,
                        capped: p.capped,
                        examples: Vec::new(),
                    });
                    into.last_mut().expect("just pushed")
                }
                None => continue,
            };
            slot.capped |= p.capped;
            for v in p.examples {
                if slot.examples.contains(&v) {
                    continue;
                }
                if slot.examples.len() < max_values {
                    slot.examples.push(v);
                } else {
                    slot.capped = true;
                }
            }
            slot.distinct = slot.examples.len() as u64;
        }
    }

    /// The same with only the first `examples` values (`distinct` is kept).
    pub(crate) fn shown(mut self, examples: usize) -> ParamSample {
        self.examples.truncate(examples);
        self
    }

    /// `sku: A-1` for one value, `sku: 10 distinct, e.g. A-1, A-2` for more.
    pub fn text(&self) -> String {
        let examples = self.examples.join(", ");
        if self.distinct <= 1 && !self.capped {
            format!("{}: {examples}", self.name)
        } else {
            let more = if self.capped { "+" } else { "" };
            format!(
                "{}: {}{more} distinct, e.g. {examples}",
                self.name,
                thousands(self.distinct)
            )
        }
    }
}

/// How many of a notice's events a relay in front of Sentry forwarded to the upstream Sentry,
/// and how many its sample held back; summed per group and window like the notice's `count`.
///
/// ```
/// use errata_alert::{Forwarding, UpstreamCounts};
///
/// let mut c = UpstreamCounts::default();
/// for i in 0..550 {
///     c.add(Forwarding { forwarded: i < 10, per_group: 10 }, 1);
/// }
/// assert_eq!(c.text(), "Sentry: 10 forwarded, 540 not forwarded (sample of 10 per group and window)");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamCounts {
    /// Events handed to the upstream Sentry.
    pub forwarded: u64,
    /// Events the sample held back (counted, never sent).
    pub not_forwarded: u64,
    /// The sample's size, events forwarded per group and window (the latest event's).
    pub per_group: u32,
}

impl UpstreamCounts {
    /// The counts of `n` events the relay treated alike.
    pub fn of(f: Forwarding, n: u64) -> Self {
        let mut c = UpstreamCounts::default();
        c.add(f, n);
        c
    }

    /// Counts `n` more events the relay treated alike.
    pub fn add(&mut self, f: Forwarding, n: u64) {
        if f.forwarded {
            self.forwarded += n;
        } else {
            self.not_forwarded += n;
        }
        self.per_group = f.per_group;
    }

    /// Adds the counts of later events.
    pub fn merge(&mut self, later: UpstreamCounts) {
        self.forwarded += later.forwarded;
        self.not_forwarded += later.not_forwarded;
        self.per_group = later.per_group;
    }

    /// Sums counts that may be missing (`None`: none of the events came through a relay's
    /// upstream).
    pub fn merge_into(into: &mut Option<UpstreamCounts>, later: Option<UpstreamCounts>) {
        match (into.as_mut(), later) {
            (Some(c), Some(l)) => c.merge(l),
            (None, Some(l)) => *into = Some(l),
            (_, None) => {}
        }
    }

    /// "Sentry: 10 forwarded, 540 not forwarded (sample of 10 per group and window)".
    pub fn text(&self) -> String {
        format!(
            "Sentry: {} forwarded, {} not forwarded (sample of {} per group and window)",
            thousands(self.forwarded),
            thousands(self.not_forwarded),
            thousands(u64::from(self.per_group))
        )
    }
}

/// One notice about a group of events, as spooled and handed to every sink.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Unique id (UUID v7).
    pub id: String,
    /// New group, digest or repeat.
    pub kind: AlertKind,
    /// The group's fingerprint.
    pub fingerprint: String,
    /// Catalog code.
    pub code: String,
    /// HTTP status.
    pub status: u16,
    /// Events in this notice's window; the windows of a group's notices do not overlap, so the
    /// counts of its notices add up to its events.
    pub count: u64,
    /// Events since the group opened.
    pub total: u64,
    /// Start of this notice's window.
    pub window_start: DateTime<Utc>,
    /// End of this notice's window.
    pub window_end: DateTime<Utc>,
    /// First event of the group.
    pub first_seen: DateTime<Utc>,
    /// Latest event of the group.
    pub last_seen: DateTime<Utc>,
    /// Distinct users in this window.
    pub users: u64,
    /// Distinct users since the group opened (a lower bound when `users_capped`).
    pub users_total: u64,
    /// Whether distinct-user counting hit its cap.
    #[serde(default)]
    pub users_capped: bool,
    /// Routes in this window, busiest first.
    pub routes: Vec<RouteCount>,
    /// Values of the message's parameters since the group opened.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<ParamSample>,
    /// The latest event, scrubbed.
    pub sample: Event,
    /// Service name.
    #[serde(default)]
    pub service: Option<String>,
    /// Environment (`production`).
    #[serde(default)]
    pub environment: Option<String>,
    /// Release.
    #[serde(default)]
    pub release: Option<String>,
    /// Link to the code's documentation.
    #[serde(default)]
    pub docs_url: Option<String>,
    /// Number of this notice within its group, from 1.
    pub notice: u32,
    /// The quiet time after which the group is resolved (`None`: resolved notices are off,
    /// or the alert was made before they existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolve_after_secs: Option<u64>,
    /// Of this notice's events, how many a relay in front of Sentry forwarded upstream and
    /// how many it held back (`None`: the events did not come through a relay with an
    /// upstream; resolved notices, which count no event, have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<UpstreamCounts>,
}

impl Alert {
    /// "in 5 s", "in the last 5 min": the window in words.
    pub fn window_text(&self) -> String {
        let secs = (self.window_end - self.window_start).num_seconds().max(0);
        let span = human_duration(secs);
        match self.kind {
            AlertKind::Digest | AlertKind::Resolved => format!("in the last {span}"),
            _ => format!("in {span}"),
        }
    }

    /// Whether this is a resolved notice.
    pub fn is_resolved(&self) -> bool {
        self.kind == AlertKind::Resolved
    }

    /// Seconds from the group's latest event to this notice.
    pub fn quiet_secs(&self) -> i64 {
        (self.window_end - self.last_seen).num_seconds().max(0)
    }

    /// Whether the group is still active: for a digest, "still active: last event 3 s ago"
    /// (or "quiet: last event 6 min ago" once it has been quiet for `resolve_after`, a
    /// resolved notice following); for a resolved notice, "resolved: no event for 5 min".
    /// `None` for a first notice, whose events are all fresh.
    ///
    /// ```
    /// # use errata_alert::{Alert, AlertKind, Event};
    /// # let t = |s: i64| chrono::DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap();
    /// # let mut a: Alert = serde_json::from_value(serde_json::json!({
    /// #   "id": "1", "kind": "digest", "fingerprint": "f", "code": "E", "status": 503,
    /// #   "count": 5, "total": 9, "window_start": t(0), "window_end": t(300),
    /// #   "first_seen": t(0), "last_seen": t(297), "users": 0, "users_total": 0,
    /// #   "routes": [], "sample": Event::new("E", 503), "notice": 2,
    /// #   "resolve_after_secs": 300})).unwrap();
    /// assert_eq!(a.activity_text().unwrap(), "still active: last event 3 s ago");
    /// a.kind = AlertKind::Resolved;
    /// a.window_end = t(597);
    /// assert_eq!(a.activity_text().unwrap(), "resolved: no event for 5 min");
    /// ```
    pub fn activity_text(&self) -> Option<String> {
        let quiet = self.quiet_secs();
        let ago = human_duration(quiet);
        match self.kind {
            AlertKind::Resolved => Some(format!("resolved: no event for {ago}")),
            AlertKind::Digest => Some(match self.resolve_after_secs {
                Some(r) if quiet >= i64::try_from(r).unwrap_or(i64::MAX) => {
                    format!("quiet: last event {ago} ago")
                }
                Some(_) => format!("still active: last event {ago} ago"),
                None => format!("last event {ago} ago"),
            }),
            _ => None,
        }
    }

    /// "×6,174 in the last 5 min".
    pub fn count_text(&self) -> String {
        format!("×{} {}", thousands(self.count), self.window_text())
    }

    /// "Sentry: 10 forwarded, 540 not forwarded (sample of 10 per group and window)", for the
    /// events of a relay that forwards a sample upstream.
    pub fn upstream_text(&self) -> Option<String> {
        self.upstream.as_ref().map(UpstreamCounts::text)
    }

    /// The parameters' values in one line: `sku: 10 distinct, e.g. A-1; store: S-9`.
    pub fn params_text(&self) -> Option<String> {
        if self.params.is_empty() {
            return None;
        }
        Some(
            self.params
                .iter()
                .map(ParamSample::text)
                .collect::<Vec<_>>()
                .join("; "),
        )
    }

    /// `GET /users/{id}`, or the path when no route matched.
    pub fn where_text(&self) -> String {
        let target = self
            .sample
            .route
            .clone()
            .unwrap_or_else(|| self.sample.path.clone());
        if self.sample.method.is_empty() {
            target
        } else {
            format!("{} {}", self.sample.method, target)
        }
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    let mut until_comma = s.len() % 3;
    if until_comma == 0 {
        until_comma = 3;
    }
    for c in s.chars() {
        if until_comma == 0 {
            out.push(',');
            until_comma = 3;
        }
        out.push(c);
        until_comma -= 1;
    }
    out
}

/// `300` → `5 min`, `7200` → `2 h`, `42` → `42 s`.
pub fn human_duration(secs: i64) -> String {
    if secs < 120 {
        format!("{secs} s")
    } else if secs < 7200 {
        format!("{} min", (secs + 30) / 60)
    } else if secs < 172_800 {
        format!("{} h", (secs + 1800) / 3600)
    } else {
        format!("{} d", (secs + 43_200) / 86_400)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(6174), "6,174");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(human_duration(5), "5 s");
        assert_eq!(human_duration(300), "5 min");
        assert_eq!(human_duration(4 * 3600), "4 h");
    }
}
