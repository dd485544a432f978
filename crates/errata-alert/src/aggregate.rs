//! Grouping and timing: events in, a few alerts out.
//!
//! The model is Alertmanager's. A new group (a fingerprint seen for the first time, or again
//! after `repeat_interval` of quiet) is notified `group_wait` after its first alerting event, so a
//! burst arrives as one message; later events of the group are summed into at most one digest
//! per `group_interval`. The windows of a group's notices never overlap, so the counts of its
//! notices add up to exactly its events.
//!
//! A group that alerted and then sees no event for `resolve_after` (default 5 min; `None` turns
//! it off) gets one resolved notice ([`AlertKind::Resolved`](crate::AlertKind::Resolved)), once
//! every notice of its events has gone out; each digest says whether the group is still
//! active. The resolved notice counts as a notice for `group_interval` and `repeat_interval`, so
//! a problem that comes back right away is notified again one `group_interval` later at most.
//!
//! Which codes alert is the catalog's `alert` field: `always`, `never` (counted only), or
//! `spike`: when a code sees more than `count` events within `window_secs`, its groups start
//! alerting.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use errata_catalog::template::Template;
use errata_catalog::{AlertPolicy, Catalog, SpikeRule};

use crate::alert::{Alert, AlertKind, ParamSample, RouteCount, UpstreamCounts};
use crate::capture::Captured;
use crate::clock::add_std;
use crate::event::Event;
use crate::fingerprint::{self, FingerprintFn};
use crate::scrub::{ScrubEvent, Scrubber};
use crate::store::{minute_of, CountRow, SampleRow, UNMATCHED_ROUTE};

/// When alerts of a group go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Wait after the first event of a new group, so a burst becomes one message (default 5 s).
    pub group_wait: Duration,
    /// Least time between two notices of one group (default 5 min).
    pub group_interval: Duration,
    /// Quiet time after which a group closes; its next event opens it again with a fresh
    /// alert (default 4 h).
    pub repeat_interval: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            group_wait: Duration::from_secs(5),
            group_interval: Duration::from_secs(300),
            repeat_interval: Duration::from_secs(4 * 3600),
        }
    }
}

/// The default quiet time after which a group that alerted is resolved (5 min, as
/// Alertmanager's `resolve_timeout`).
pub const DEFAULT_RESOLVE_AFTER: Duration = Duration::from_secs(300);

/// Memory bounds of the aggregator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Distinct users remembered per group (counting stops, flagged, beyond).
    pub max_users: usize,
    /// Distinct routes remembered per notice window (the rest are summed as "other").
    pub max_routes: usize,
    /// Open groups kept at once.
    pub max_groups: usize,
    /// Sampled events kept per code and minute.
    pub samples_per_minute: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_users: 1000,
            max_routes: 10,
            max_groups: 10_000,
            samples_per_minute: 3,
        }
    }
}

/// A map with a fast hasher, for keys the service controls (catalog codes, fingerprints).
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Alert policy, spike rule and docs link by code (aliases included).
pub(crate) type Policies = FastMap<String, (AlertPolicy, Option<SpikeRule>, Option<String>)>;

/// The message templates of one code: the one that names the problem, and the one alerts
/// are written in.
#[derive(Debug)]
pub(crate) struct MessageTemplates {
    /// The template in the catalog's default locale, placeholders unfilled: part of the
    /// fingerprint, whatever the client's locale and the parameters' values.
    pub key: String,
    /// The template in the operator's locale (the default locale's when it has none).
    pub operator: Template,
}

/// Message templates by code (aliases included).
pub(crate) type Messages = FastMap<String, Arc<MessageTemplates>>;

/// Distinct values remembered per message parameter of a group.
pub(crate) const MAX_PARAM_VALUES: usize = 100;

/// Message parameters tracked per group.
pub(crate) const MAX_PARAMS: usize = 10;

/// Example values an alert shows per parameter.
pub(crate) const PARAM_EXAMPLES: usize = 3;

/// What the aggregator needs to know, besides events.
#[derive(Clone)]
pub(crate) struct AggConfig {
    pub timing: Timing,
    /// Quiet time after which a group that alerted gets a resolved notice (`None`: never).
    pub resolve_after: Option<Duration>,
    pub limits: Limits,
    pub default_spike: SpikeRule,
    pub policies: Policies,
    pub messages: Messages,
    /// The locale alerts are written in (`None`: the message as the client got it).
    pub locale: Option<String>,
    pub scrubber: Scrubber,
    pub fingerprint: Option<FingerprintFn>,
    pub service: Option<String>,
    pub environment: Option<String>,
    pub release: Option<String>,
}

impl AggConfig {
    pub(crate) fn policies_from(catalog: &Catalog) -> Policies {
        let mut map = Policies::default();
        for e in &catalog.entries {
            let docs = catalog.docs_link(&e.code);
            map.insert(e.code.clone(), (e.alert, e.spike, docs.clone()));
            for a in &e.aliases {
                map.entry(a.clone())
                    .or_insert((e.alert, e.spike, docs.clone()));
            }
        }
        map
    }

    /// The message templates of every catalog code, alerts written in `locale` (the catalog's
    /// default locale when `None` or when a code has no message in it).
    pub(crate) fn messages_from(catalog: &Catalog, locale: Option<&str>) -> Messages {
        let default = catalog.info.default_locale.as_str();
        let locale = locale.unwrap_or(default);
        let mut map = Messages::default();
        for e in &catalog.entries {
            let Some(key) = e
                .message(default)
                .or_else(|| e.messages.values().next().map(String::as_str))
            else {
                continue;
            };
            let operator = e
                .template(locale)
                .or_else(|| Template::parse(key).ok())
                .unwrap_or_default();
            let t = Arc::new(MessageTemplates {
                key: key.to_owned(),
                operator,
            });
            map.insert(e.code.clone(), t.clone());
            for a in &e.aliases {
                map.entry(a.clone()).or_insert_with(|| t.clone());
            }
        }
        map
    }
}

/// Many events of one fold key, counted as one observation.
///
/// A single event needs no lists: empty `users` and `minutes` stand for the event's own user
/// and minute, so taking in one event allocates nothing.
#[derive(Debug)]
pub(crate) struct Observation {
    /// The first of them, as captured (not yet scrubbed).
    pub event: Captured,
    pub count: u64,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
    /// Distinct users, once more than one event is folded in.
    pub users: Vec<String>,
    /// Events per minute, once more than one event is folded in.
    pub minutes: Vec<(i64, u64)>,
    /// How many of them a relay forwarded upstream and held back (`None`: none came through
    /// a relay's upstream).
    pub upstream: Option<UpstreamCounts>,
}

impl Observation {
    pub(crate) fn single(event: Captured) -> Self {
        let t = event.time();
        let upstream = event.forwarding().map(|f| UpstreamCounts::of(f, 1));
        Observation {
            event,
            count: 1,
            first: t,
            last: t,
            users: Vec::new(),
            minutes: Vec::new(),
            upstream,
        }
    }

    /// Turns a single event's implicit user and minute into list entries, before a second
    /// event is folded in.
    pub(crate) fn spell_out(&mut self) {
        if self.minutes.is_empty() {
            self.minutes.push((minute_of(self.first), self.count));
            if let Some(u) = self.event.user() {
                self.users.push(u.to_owned());
            }
        }
    }

    /// Distinct users.
    fn users(&self) -> impl Iterator<Item = &str> {
        let own = if self.minutes.is_empty() {
            self.event.user()
        } else {
            None
        };
        own.into_iter().chain(self.users.iter().map(String::as_str))
    }

    /// Events per minute.
    fn minutes(&self) -> impl Iterator<Item = (i64, u64)> + '_ {
        let own = self
            .minutes
            .is_empty()
            .then(|| (minute_of(self.first), self.count));
        own.into_iter().chain(self.minutes.iter().copied())
    }
}

struct Group {
    code: String,
    status: u16,
    policy: AlertPolicy,
    alerting: bool,
    repeat: bool,
    opened: DateTime<Utc>,
    first_seen: DateTime<Utc>,
    last_seen: DateTime<Utc>,
    last_activity: DateTime<Utc>,
    total: u64,
    pending: u64,
    pending_since: Option<DateTime<Utc>>,
    pending_users: UserSet,
    pending_routes: Vec<RouteCount>,
    /// Of the pending events, how many a relay forwarded upstream and held back.
    pending_upstream: Option<UpstreamCounts>,
    users_total: UserSet,
    users_capped: bool,
    /// The group's latest event, as captured: written out and scrubbed only for a notice.
    sample: Option<Captured>,
    /// Values seen per message parameter (raw; scrubbed when a notice shows them).
    params: Vec<ParamValues>,
    docs_url: Option<String>,
    last_notified: Option<DateTime<Utc>>,
    next_due: Option<DateTime<Utc>>,
    notices: u32,
    /// The resolved notice of the current quiet period went out.
    resolved: bool,
}

/// The values one message parameter took in a group.
struct ParamValues {
    name: String,
    /// Distinct values, up to [`MAX_PARAM_VALUES`], in the order first seen.
    values: Vec<String>,
    /// More distinct values were seen than are kept.
    capped: bool,
}

impl ParamValues {
    fn add(list: &mut Vec<ParamValues>, name: &str, value: &str) {
        let slot = match list.iter().position(|p| p.name == name) {
            Some(i) => &mut list[i],
            None if list.len() < MAX_PARAMS => {
                list.push(ParamValues {
                    name: name.to_owned(),
                    values: Vec::new(),
                    capped: false,
                });
                let last = list.len() - 1;
                &mut list[last]
            }
            None => return,
        };
        if slot.values.iter().any(|v| v == value) {
            return;
        }
        if slot.values.len() < MAX_PARAM_VALUES {
            slot.values.push(value.to_owned());
        } else {
            slot.capped = true;
        }
    }
}

/// User ids; they come from the service's own auth, so a fast hasher is safe.
type UserSet = HashSet<String, foldhash::fast::RandomState>;

struct SpikeWindow {
    rule: SpikeRule,
    buckets: VecDeque<(i64, u64)>,
    sum: u64,
}

impl SpikeWindow {
    fn trim(&mut self, now: DateTime<Utc>) {
        let oldest = now.timestamp().saturating_sub(window_secs(self.rule));
        while let Some(&(sec, n)) = self.buckets.front() {
            if sec > oldest {
                break;
            }
            self.sum -= n;
            self.buckets.pop_front();
        }
    }

    fn add(&mut self, now: DateTime<Utc>, n: u64) {
        let sec = now.timestamp();
        match self.buckets.back_mut() {
            Some((s, c)) if *s == sec => *c += n,
            _ => self.buckets.push_back((sec, n)),
        }
        self.sum += n;
        self.trim(now);
    }

    fn firing(&self) -> bool {
        self.sum > u64::from(self.rule.count)
    }
}

/// Counters the pipeline reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AggStats {
    /// Events ingested (folded ones included).
    pub events: u64,
    /// Alerts produced.
    pub alerts: u64,
    /// Groups open now.
    pub open_groups: usize,
}

pub(crate) struct Aggregator {
    cfg: AggConfig,
    /// Open groups by fingerprint (shared with the fingerprint memo).
    groups: FastMap<Arc<str>, Group>,
    closed: HashSet<Arc<str>>,
    closed_order: VecDeque<Arc<str>>,
    spikes: FastMap<String, SpikeWindow>,
    counts: FastMap<CountKey, u64>,
    /// The key counted last and its count not yet in `counts`: a storm repeats one key, and
    /// comparing it costs less than building a key to look up.
    last_count: Option<(CountKey, u64)>,
    samples: Vec<SampleRow>,
    /// Samples taken per code in the minute it names.
    sample_budget: FastMap<String, (i64, u32)>,
    stats: AggStats,
    /// Scrubbed text by raw text: a storm repeats the same messages and causes, and the
    /// scrubbing rules are regular expressions.
    scrubbed: Memo,
    /// Scrubbed paths by raw path (query parameters are scrubbed by name, apart from text).
    paths: Memo,
    /// Default fingerprints by code, route and raw message (normalizing is regex work too).
    fingerprints: FingerprintMemo,
    /// A group opened since the last [`Aggregator::take_fleet_rows`] (fleet mode writes its
    /// first events at once, so its notice is durable).
    opened_group: bool,
    /// Tests: run with the code of each notice before it is made.
    #[cfg(test)]
    pub(crate) fault: Option<Fault>,
}

/// Tests: a hook that may panic inside a tick.
#[cfg(test)]
pub(crate) type Fault = Arc<dyn Fn(&str) + Send + Sync>;

/// Per-minute count key: minute, code, status, route, method.
type CountKey = (i64, String, u16, String, String);

/// Code, route, message, causes and the fingerprint they give.
type FingerprintEntry = (String, Option<String>, String, String, Arc<str>);

/// Default fingerprints by a hash of code, route and message; entries keep their inputs, so a
/// hash collision is a miss, never a wrong fingerprint.
#[derive(Default)]
struct FingerprintMemo {
    hasher: foldhash::fast::RandomState,
    map: HashMap<u64, Vec<FingerprintEntry>>,
    len: usize,
}

impl FingerprintMemo {
    fn get_or(
        &mut self,
        ev: &Captured,
        cause: &str,
        derive: impl FnOnce(&str, Option<&str>, &str, &str) -> String,
    ) -> Arc<str> {
        use std::hash::BuildHasher;
        let (code, route, message) = (ev.code(), ev.route(), ev.message());
        let key = self.hasher.hash_one((code, route, message, cause));
        let same = |e: &&FingerprintEntry| {
            e.0 == code && e.1.as_deref() == route && e.2 == message && e.3 == cause
        };
        if let Some(found) = self.map.get(&key).and_then(|l| l.iter().find(same)) {
            return found.4.clone();
        }
        let fp: Arc<str> = derive(code, route, message, cause).into();
        if self.len >= Memo::CAPACITY {
            self.map.clear();
            self.len = 0;
        }
        self.len += 1;
        self.map.entry(key).or_default().push((
            code.to_owned(),
            route.map(str::to_owned),
            message.to_owned(),
            cause.to_owned(),
            fp.clone(),
        ));
        fp
    }
}

/// A bounded map from an input text to a derived text; emptied when full.
struct Memo {
    map: HashMap<String, String, foldhash::fast::RandomState>,
}

impl Memo {
    const CAPACITY: usize = 4096;

    fn new() -> Self {
        Memo {
            map: HashMap::default(),
        }
    }

    fn get_or(&mut self, key: &str, derive: impl FnOnce(&str) -> String) -> String {
        if let Some(v) = self.map.get(key) {
            return v.clone();
        }
        let v = derive(key);
        if self.map.len() >= Self::CAPACITY {
            self.map.clear();
        }
        self.map.insert(key.to_owned(), v.clone());
        v
    }
}

/// A spike rule's window in seconds, bounded as the catalog bounds it (a rule built in code
/// may carry any number).
fn window_secs(rule: SpikeRule) -> i64 {
    rule.window_secs
        .clamp(1, errata_catalog::MAX_SPIKE_WINDOW_SECS) as i64
}

fn chrono_dur(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

impl Aggregator {
    pub(crate) fn new(cfg: AggConfig) -> Self {
        Aggregator {
            cfg,
            groups: FastMap::default(),
            closed: HashSet::new(),
            closed_order: VecDeque::new(),
            spikes: FastMap::default(),
            counts: FastMap::default(),
            last_count: None,
            samples: Vec::new(),
            sample_budget: FastMap::default(),
            stats: AggStats::default(),
            scrubbed: Memo::new(),
            paths: Memo::new(),
            fingerprints: FingerprintMemo::default(),
            opened_group: false,
            #[cfg(test)]
            fault: None,
        }
    }

    /// Adds `n` to the count of one minute, code, status, route and method.
    fn count(&mut self, minute: i64, ev: &Captured, route: &str, n: u64) {
        if let Some(((m, code, status, r, method), total)) = &mut self.last_count {
            if *m == minute
                && *status == ev.status()
                && code == ev.code()
                && r == route
                && method == ev.method()
            {
                *total += n;
                return;
            }
        }
        self.flush_last_count();
        let key = (
            minute,
            ev.code().to_owned(),
            ev.status(),
            route.to_owned(),
            ev.method().to_owned(),
        );
        self.last_count = Some((key, n));
    }

    fn flush_last_count(&mut self) {
        if let Some((key, n)) = self.last_count.take() {
            *self.counts.entry(key).or_insert(0) += n;
        }
    }

    /// The captured error written out as an event and scrubbed, reusing earlier results for
    /// texts seen before.
    fn written_out(&mut self, captured: &Captured) -> Event {
        let scrubber = &self.cfg.scrubber;
        let mut ev = captured.to_event();
        let (texts, paths) = (&mut self.scrubbed, &mut self.paths);
        scrubber.scrub_event_with(
            &mut ev,
            &mut |t| texts.get_or(t, |t| scrubber.scrub_text(t)),
            &mut |p| paths.get_or(p, |p| scrubber.scrub_path(p)),
        );
        ev
    }

    fn fingerprint_of(&mut self, ev: &Captured) -> Arc<str> {
        if let Some(fp) = ev.fingerprint() {
            return fp.into();
        }
        if self.cfg.fingerprint.is_some() {
            let event = self.written_out(ev);
            return fingerprint::of_event(&event, self.cfg.fingerprint.as_ref()).into();
        }
        let scrubber = &self.cfg.scrubber;
        let template = self.cfg.messages.get(ev.code()).map(|t| t.key.as_str());
        let cause = ev.cause_text();
        self.fingerprints
            .get_or(ev, &cause, |code, route, message, cause| {
                fingerprint::problem_fingerprint(
                    code,
                    route,
                    template,
                    &scrubber.scrub_text(message),
                    &scrubber.scrub_text(cause),
                )
            })
    }

    pub(crate) fn stats(&self) -> AggStats {
        AggStats {
            open_groups: self.groups.len(),
            ..self.stats
        }
    }

    fn policy_of(&self, ev: &Captured) -> (AlertPolicy, SpikeRule) {
        let known = self.cfg.policies.get(ev.code());
        let policy = ev
            .alert()
            .or(known.map(|k| k.0))
            .unwrap_or_else(|| AlertPolicy::default_for(ev.status()));
        let spike = ev
            .spike()
            .or(known.and_then(|k| k.1))
            .unwrap_or(self.cfg.default_spike);
        (policy, spike)
    }

    /// The docs link of the event's code: the event's own, else the catalog's.
    fn docs_of<'a>(policies: &'a Policies, ev: &'a Captured) -> Option<&'a str> {
        ev.docs_url()
            .or_else(|| policies.get(ev.code()).and_then(|k| k.2.as_deref()))
    }

    /// Takes in one event, or many folded into one observation.
    ///
    /// Counting and grouping read the capture as it came; only an event kept as a sample is
    /// written out and scrubbed here (the group's latest one is, when a notice goes out).
    pub(crate) fn ingest(&mut self, obs: Observation, now: DateTime<Utc>) {
        let ev = &obs.event;
        self.stats.events += obs.count;
        let route = ev.route().unwrap_or(UNMATCHED_ROUTE);
        for (minute, n) in obs.minutes() {
            self.count(minute, ev, route, n);
        }
        let fp = self.fingerprint_of(ev);
        let minute = minute_of(obs.last);
        let limit = self.cfg.limits.samples_per_minute;
        let budget = match self.sample_budget.get_mut(ev.code()) {
            Some(b) => b,
            None => self
                .sample_budget
                .entry(ev.code().to_owned())
                .or_insert((minute, 0)),
        };
        if minute > budget.0 {
            *budget = (minute, 0);
        }
        if budget.1 < limit {
            budget.1 += 1;
            let sample = self.written_out(ev);
            if let Ok(json) = serde_json::to_string(&sample) {
                self.samples.push(SampleRow {
                    minute,
                    code: sample.code,
                    fingerprint: fp.to_string(),
                    event: json,
                });
            }
        }

        let (policy, spike) = self.policy_of(ev);
        if policy == AlertPolicy::Never {
            return;
        }
        let mut spike_started = false;
        let firing = if policy == AlertPolicy::Spike {
            let w = match self.spikes.get_mut(ev.code()) {
                Some(w) => w,
                None => self
                    .spikes
                    .entry(ev.code().to_owned())
                    .or_insert_with(|| SpikeWindow {
                        rule: spike,
                        buckets: VecDeque::new(),
                        sum: 0,
                    }),
            };
            w.rule = spike;
            let before = w.firing();
            w.add(now, obs.count);
            spike_started = !before && w.firing();
            w.firing()
        } else {
            true
        };

        if !self.groups.contains_key(&fp) {
            self.make_room();
            self.opened_group = true;
            let repeat = self.closed.remove(&fp);
            self.groups.insert(
                fp.clone(),
                Group {
                    code: ev.code().to_owned(),
                    status: ev.status(),
                    policy,
                    alerting: false,
                    repeat,
                    opened: now,
                    first_seen: obs.first,
                    last_seen: obs.last,
                    last_activity: now,
                    total: 0,
                    pending: 0,
                    pending_since: None,
                    pending_users: UserSet::default(),
                    pending_routes: Vec::new(),
                    pending_upstream: None,
                    users_total: UserSet::default(),
                    users_capped: false,
                    sample: None,
                    params: Vec::new(),
                    docs_url: None,
                    last_notified: None,
                    next_due: None,
                    notices: 0,
                    resolved: false,
                },
            );
        }
        let limits = self.cfg.limits;
        let timing = self.cfg.timing;
        let docs = Self::docs_of(&self.cfg.policies, ev);
        let Some(g) = self.groups.get_mut(&fp) else {
            return;
        };
        g.policy = policy;
        g.total += obs.count;
        g.pending += obs.count;
        UpstreamCounts::merge_into(&mut g.pending_upstream, obs.upstream);
        g.pending_since.get_or_insert(now);
        g.first_seen = g.first_seen.min(obs.first);
        g.last_seen = g.last_seen.max(obs.last);
        g.last_activity = now;
        for u in obs.users() {
            if g.pending_users.len() < limits.max_users && !g.pending_users.contains(u) {
                g.pending_users.insert(u.to_owned());
            }
            if g.users_total.contains(u) {
                continue;
            }
            if g.users_total.len() < limits.max_users {
                g.users_total.insert(u.to_owned());
            } else {
                g.users_capped = true;
            }
        }
        // "METHOD route", compared in place: built only for a new entry.
        let method = ev.method();
        let is_where = |r: &str| {
            if method.is_empty() {
                r == route
            } else {
                r.len() == method.len() + 1 + route.len()
                    && r.starts_with(method)
                    && r[method.len()..].starts_with(' ')
                    && r.ends_with(route)
            }
        };
        if let Some(r) = g.pending_routes.iter_mut().find(|r| is_where(&r.route)) {
            r.count += obs.count;
        } else if g.pending_routes.len() < limits.max_routes {
            let route = if method.is_empty() {
                route.to_owned()
            } else {
                format!("{method} {route}")
            };
            g.pending_routes.push(RouteCount {
                route,
                count: obs.count,
            });
        } else if let Some(r) = g.pending_routes.iter_mut().find(|r| r.route == "other") {
            r.count += obs.count;
        } else if let Some(last) = g.pending_routes.last_mut() {
            last.route = "other".to_string();
            last.count += obs.count;
        }
        if let Some(docs) = docs {
            if g.docs_url.as_deref() != Some(docs) {
                g.docs_url = Some(docs.to_owned());
            }
        }
        obs.event
            .for_each_param(|name, value| ParamValues::add(&mut g.params, name, value));
        g.sample = Some(obs.event);
        if firing && !g.alerting {
            g.alerting = true;
        }
        if g.alerting && g.next_due.is_none() {
            g.next_due = Some(due_after(g, now, timing));
        }
        if spike_started {
            let code = g.code.clone();
            for g in self.groups.values_mut() {
                if g.code == code && g.policy == AlertPolicy::Spike && !g.alerting && g.pending > 0
                {
                    g.alerting = true;
                    g.next_due = Some(due_after(g, now, timing));
                }
            }
        }
    }

    /// Frees a slot when the group table is full, dropping the longest-quiet group that has
    /// nothing left to say.
    fn make_room(&mut self) {
        if self.groups.len() < self.cfg.limits.max_groups {
            return;
        }
        let victim = self
            .groups
            .iter()
            .filter(|(_, g)| !g.alerting || g.pending == 0)
            .min_by_key(|(_, g)| g.last_activity)
            .map(|(k, _)| k.clone());
        if let Some(k) = victim {
            self.groups.remove(&k);
        }
    }

    /// When the next notice is due, if any (resolved notices included).
    pub(crate) fn next_due(&self) -> Option<DateTime<Utc>> {
        let resolve = self.cfg.resolve_after;
        self.groups
            .values()
            .filter_map(|g| g.next_due.or_else(|| resolve_due(g, resolve)))
            .min()
    }

    /// Alerts due at `now`; closes groups that have been quiet long enough.
    pub(crate) fn tick(&mut self, now: DateTime<Utc>) -> Vec<Alert> {
        let mut out = Vec::new();
        let keys: Vec<Arc<str>> = self
            .groups
            .iter()
            .filter(|(_, g)| g.alerting && g.pending > 0 && g.next_due.is_some_and(|d| d <= now))
            .map(|(k, _)| k.clone())
            .collect();
        for k in keys {
            if let Some(a) = self.notify(&k, now) {
                out.push(a);
            }
        }
        let resolve = self.cfg.resolve_after;
        let quiet: Vec<Arc<str>> = self
            .groups
            .iter()
            .filter(|(_, g)| resolve_due(g, resolve).is_some_and(|d| d <= now))
            .map(|(k, _)| k.clone())
            .collect();
        for k in quiet {
            if let Some(a) = self.resolve(&k, now) {
                out.push(a);
            }
        }
        self.housekeep(now);
        out
    }

    /// The resolved notice of a group that has been quiet for `resolve_after`.
    fn resolve(&mut self, key: &str, now: DateTime<Utc>) -> Option<Alert> {
        let (sample, params) = self.notice_sample(key)?;
        let resolve_after_secs = self.cfg.resolve_after.map(|d| d.as_secs());
        let g = self.groups.get_mut(key)?;
        let window_start = g.last_notified.unwrap_or(g.opened);
        g.notices += 1;
        g.resolved = true;
        g.last_notified = Some(now);
        self.stats.alerts += 1;
        Some(Alert {
            id: uuid::Uuid::now_v7().to_string(),
            kind: AlertKind::Resolved,
            fingerprint: key.to_string(),
            code: g.code.clone(),
            status: g.status,
            count: 0,
            total: g.total,
            window_start,
            window_end: now.max(window_start),
            first_seen: g.first_seen,
            last_seen: g.last_seen,
            users: 0,
            users_total: g.users_total.len() as u64,
            users_capped: g.users_capped,
            routes: Vec::new(),
            params,
            sample,
            service: self.cfg.service.clone(),
            environment: self.cfg.environment.clone(),
            release: self.cfg.release.clone(),
            docs_url: g.docs_url.clone(),
            notice: g.notices,
            resolve_after_secs,
            upstream: None,
        })
    }

    /// Every pending notice, due or not (at shutdown).
    pub(crate) fn flush_all(&mut self, now: DateTime<Utc>) -> Vec<Alert> {
        let keys: Vec<Arc<str>> = self
            .groups
            .iter()
            .filter(|(_, g)| g.alerting && g.pending > 0)
            .map(|(k, _)| k.clone())
            .collect();
        keys.iter().filter_map(|k| self.notify(k, now)).collect()
    }

    pub(crate) fn housekeep(&mut self, now: DateTime<Utc>) {
        let repeat = chrono_dur(self.cfg.timing.repeat_interval);
        let spikes = &self.spikes;
        let default_spike = self.cfg.default_spike;
        let mut closing = Vec::new();
        for (k, g) in self.groups.iter_mut() {
            if !g.alerting && g.pending > 0 {
                // A spike group below threshold: keep only the current window's events.
                let window = window_secs(spikes.get(&g.code).map_or(default_spike, |w| w.rule));
                if g.pending_since
                    .is_some_and(|s| now - s > chrono::Duration::seconds(window))
                {
                    g.pending = 0;
                    g.pending_since = None;
                    g.pending_users.clear();
                    g.pending_routes.clear();
                    g.pending_upstream = None;
                }
            }
            let quiet_since = g.last_activity.max(g.last_notified.unwrap_or(g.opened));
            if (g.pending == 0 || !g.alerting) && now - quiet_since >= repeat {
                closing.push(k.clone());
            }
        }
        for k in closing {
            let notified = self.groups.remove(&k).is_some_and(|g| g.notices > 0);
            if notified {
                self.closed.insert(k.clone());
                self.closed_order.push_back(k);
                while self.closed_order.len() > self.cfg.limits.max_groups {
                    if let Some(old) = self.closed_order.pop_front() {
                        self.closed.remove(&old);
                    }
                }
            }
        }
        for w in self.spikes.values_mut() {
            w.trim(now);
        }
        self.spikes.retain(|_, w| w.sum > 0);
    }

    /// The sample's message written again from its code's template and parameters, in the
    /// operator's locale.
    fn in_operator_locale(&self, sample: &mut Event) {
        let (Some(locale), Some(t)) = (&self.cfg.locale, self.cfg.messages.get(&sample.code))
        else {
            return;
        };
        let mut message = String::new();
        let params = &sample.params;
        t.operator.render_with(&mut message, |name| {
            params
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        });
        sample.message = message;
        sample.locale = Some(locale.clone());
    }

    /// The parameter values of a group, scrubbed, with up to `examples` values each (an
    /// alert shows [`PARAM_EXAMPLES`]; a fleet row keeps them all for the fleet's union).
    fn param_samples(&mut self, key: &str, examples: usize) -> Vec<ParamSample> {
        let Some(g) = self.groups.get(key) else {
            return Vec::new();
        };
        let scrubber = &self.cfg.scrubber;
        let texts = &mut self.scrubbed;
        g.params
            .iter()
            .map(|p| ParamSample {
                name: p.name.clone(),
                distinct: p.values.len() as u64,
                capped: p.capped,
                examples: p
                    .values
                    .iter()
                    .take(examples)
                    .map(|v| {
                        if scrubber.is_sensitive_field(&p.name) {
                            crate::scrub::FILTERED.to_owned()
                        } else {
                            texts.get_or(v, |t| scrubber.scrub_text(t))
                        }
                    })
                    .collect(),
            })
            .collect()
    }

    /// What every notice of a group carries: its sample as sinks see it (written out, in the
    /// operator locale) and its sampled parameters.
    fn notice_sample(&mut self, key: &str) -> Option<(Event, Vec<ParamSample>)> {
        #[cfg(test)]
        if let (Some(f), Some(g)) = (&self.fault, self.groups.get(key)) {
            f(&g.code);
        }
        let captured = self.groups.get_mut(key)?.sample.take()?;
        let mut sample = self.written_out(&captured);
        self.in_operator_locale(&mut sample);
        let params = self.param_samples(key, PARAM_EXAMPLES);
        self.groups.get_mut(key)?.sample = Some(captured);
        Some((sample, params))
    }

    fn notify(&mut self, key: &str, now: DateTime<Utc>) -> Option<Alert> {
        let (sample, params) = self.notice_sample(key)?;
        let resolve_after_secs = self.cfg.resolve_after.map(|d| d.as_secs());
        let g = self.groups.get_mut(key)?;
        g.resolved = false;
        let kind = if g.notices > 0 {
            AlertKind::Digest
        } else if g.repeat {
            AlertKind::Repeat
        } else {
            AlertKind::New
        };
        let window_start = g.last_notified.or(g.pending_since).unwrap_or(g.opened);
        let window_start = if g.notices == 0 {
            g.first_seen.min(window_start)
        } else {
            window_start
        };
        let mut routes = std::mem::take(&mut g.pending_routes);
        routes.sort_by(|a, b| b.count.cmp(&a.count).then(a.route.cmp(&b.route)));
        g.notices += 1;
        let alert = Alert {
            id: uuid::Uuid::now_v7().to_string(),
            kind,
            fingerprint: key.to_string(),
            code: g.code.clone(),
            status: g.status,
            count: g.pending,
            total: g.total,
            window_start,
            window_end: now.max(window_start),
            first_seen: g.first_seen,
            last_seen: g.last_seen,
            users: g.pending_users.len() as u64,
            users_total: g.users_total.len() as u64,
            users_capped: g.users_capped,
            routes,
            params,
            sample,
            service: self.cfg.service.clone(),
            environment: self.cfg.environment.clone(),
            release: self.cfg.release.clone(),
            docs_url: g.docs_url.clone(),
            notice: g.notices,
            resolve_after_secs,
            upstream: g.pending_upstream.take(),
        };
        g.pending = 0;
        g.pending_since = None;
        g.pending_users.clear();
        g.last_notified = Some(now);
        g.next_due = None;
        self.stats.alerts += 1;
        Some(alert)
    }

    /// Whether a group opened since the last [`Aggregator::take_fleet_rows`].
    pub(crate) fn opened_group(&self) -> bool {
        self.opened_group
    }

    /// Fleet mode: each group's events since the last call, as rows for the shared store
    /// (which decides the notices); the groups' windows start afresh.
    pub(crate) fn take_fleet_rows(&mut self) -> Vec<crate::fleet::FleetRow> {
        self.opened_group = false;
        let keys: Vec<Arc<str>> = self
            .groups
            .iter()
            .filter(|(_, g)| g.pending > 0)
            .map(|(k, _)| k.clone())
            .collect();
        let mut rows = Vec::with_capacity(keys.len());
        for k in keys {
            let Some(captured) = self.groups.get_mut(&k).and_then(|g| g.sample.take()) else {
                continue;
            };
            let sample = self.written_out(&captured);
            let params = self.param_samples(&k, MAX_PARAM_VALUES);
            let Some(g) = self.groups.get_mut(&k) else {
                continue;
            };
            g.sample = Some(captured);
            let spike = (g.policy == AlertPolicy::Spike).then(|| {
                self.spikes
                    .get(&g.code)
                    .map(|w| w.rule)
                    .unwrap_or(self.cfg.default_spike)
            });
            let at = g.pending_since.unwrap_or(g.last_seen);
            rows.push(crate::fleet::FleetRow {
                fingerprint: k.to_string(),
                code: g.code.clone(),
                status: g.status,
                spike,
                at,
                last_at: g.last_seen.max(at),
                n: g.pending,
                users: g.pending_users.drain().collect(),
                routes: std::mem::take(&mut g.pending_routes),
                sample,
                docs_url: g.docs_url.clone(),
                upstream: g.pending_upstream.take(),
                params,
            });
            g.pending = 0;
            g.pending_since = None;
            // Nothing is notified from here: the store decides.
            g.next_due = None;
        }
        rows
    }

    /// Counts gathered since the last call.
    pub(crate) fn take_counts(&mut self) -> Vec<CountRow> {
        self.flush_last_count();
        self.counts
            .drain()
            .map(|((minute, code, status, route, method), count)| CountRow {
                minute,
                code,
                status,
                route,
                method,
                count,
            })
            .collect()
    }

    /// Samples gathered since the last call.
    pub(crate) fn take_samples(&mut self, now: DateTime<Utc>) -> Vec<SampleRow> {
        let current = minute_of(now);
        self.sample_budget.retain(|_, (m, _)| *m >= current - 1);
        std::mem::take(&mut self.samples)
    }
}

/// When a group's resolved notice is due: `resolve_after` after its latest event, once it has
/// alerted, every event of it is notified, and it is not resolved already.
fn resolve_due(g: &Group, resolve_after: Option<Duration>) -> Option<DateTime<Utc>> {
    let after = resolve_after?;
    (g.alerting && g.notices > 0 && g.pending == 0 && !g.resolved)
        .then(|| add_std(g.last_activity, after))
}

fn due_after(g: &Group, now: DateTime<Utc>, timing: Timing) -> DateTime<Utc> {
    let wait = add_std(now, timing.group_wait);
    match g.last_notified {
        None => wait,
        Some(last) => wait.max(add_std(last, timing.group_interval)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    fn cfg() -> AggConfig {
        AggConfig {
            timing: Timing::default(),
            resolve_after: None,
            limits: Limits::default(),
            default_spike: SpikeRule {
                count: 10,
                window_secs: 60,
            },
            policies: Policies::default(),
            messages: Messages::default(),
            locale: None,
            scrubber: Scrubber::default(),
            fingerprint: None,
            service: None,
            environment: None,
            release: None,
        }
    }

    fn event(code: &str, status: u16, at: i64) -> Event {
        Event::new(code, status)
            .with_route("/r/{id}")
            .with_message("failed")
            .with_time(t(at))
    }

    fn ev(code: &str, status: u16, at: i64) -> Observation {
        Observation::single(event(code, status, at).into())
    }

    #[test]
    fn burst_then_digests_add_up() {
        let mut a = Aggregator::new(cfg());
        for i in 0..100 {
            a.ingest(ev("E", 500, i / 50), t(i / 50));
        }
        assert!(a.tick(t(4)).is_empty(), "group_wait not over");
        let first = a.tick(t(5));
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].kind, AlertKind::New);
        assert_eq!(first[0].count, 100);
        // A storm for ten minutes: at most one digest per group_interval.
        let mut sent = vec![first[0].count];
        for s in 6..600 {
            a.ingest(ev("E", 500, s), t(s));
            for al in a.tick(t(s)) {
                assert_eq!(al.kind, AlertKind::Digest);
                sent.push(al.count);
            }
        }
        assert_eq!(sent.len(), 2, "one digest at 305 s: {sent:?}");
        sent.extend(a.flush_all(t(600)).iter().map(|a| a.count));
        assert_eq!(sent.iter().sum::<u64>(), 100 + 594);
    }

    #[test]
    fn notices_say_how_many_of_their_events_a_relay_forwarded() {
        let relayed = |at: i64, forwarded: bool| {
            Observation::single(event("E", 502, at).with_forwarding(forwarded, 3).into())
        };
        let mut a = Aggregator::new(cfg());
        for i in 0..10 {
            a.ingest(relayed(0, i < 3), t(0));
        }
        let first = a.tick(t(5));
        assert_eq!(first[0].count, 10);
        let up = first[0].upstream.expect("relayed events are counted");
        assert_eq!((up.forwarded, up.not_forwarded, up.per_group), (3, 7, 3));
        // The next window: a folded observation of many events, counted by what each was.
        for i in 0..40 {
            a.ingest(relayed(10 + i, i % 20 < 3), t(10 + i));
        }
        let mut folded = Observation::single(event("E", 502, 60).with_forwarding(true, 3).into());
        folded.count = 5;
        folded.upstream = Some(UpstreamCounts {
            forwarded: 1,
            not_forwarded: 4,
            per_group: 3,
        });
        a.ingest(folded, t(60));
        let digest = a.tick(t(305));
        assert_eq!(digest[0].kind, AlertKind::Digest);
        assert_eq!(digest[0].count, 45);
        let up = digest[0].upstream.unwrap();
        assert_eq!((up.forwarded, up.not_forwarded), (7, 38));
        assert_eq!(up.forwarded + up.not_forwarded, digest[0].count);
        // Events from no relay carry no counts; a resolved notice none either.
        a.ingest(ev("F", 500, 400), t(400));
        assert_eq!(a.tick(t(405))[0].upstream, None);
    }

    #[test]
    fn client_errors_are_counted_not_alerted() {
        let mut a = Aggregator::new(cfg());
        a.ingest(ev("NOT_FOUND", 404, 0), t(0));
        assert!(a.tick(t(3600)).is_empty());
        assert!(a.flush_all(t(3600)).is_empty());
        let counts = a.take_counts();
        assert_eq!(counts.len(), 1);
        assert_eq!(counts[0].count, 1);
        assert_eq!(counts[0].route, "/r/{id}");
    }

    #[test]
    fn spike_fires_above_threshold_within_window() {
        let mut c = cfg();
        c.policies.insert(
            "LOGIN".into(),
            (
                AlertPolicy::Spike,
                Some(SpikeRule {
                    count: 5,
                    window_secs: 60,
                }),
                None,
            ),
        );
        let mut a = Aggregator::new(c);
        // Five in a minute, spread out: not above 5.
        for i in 0..5 {
            a.ingest(ev("LOGIN", 401, i * 10), t(i * 10));
        }
        assert!(a.tick(t(100)).is_empty());
        // Old ones leave the window; six quick ones exceed it.
        for i in 0..6 {
            a.ingest(ev("LOGIN", 401, 200 + i), t(200 + i));
        }
        let out = a.tick(t(220));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].count, 6);
    }

    #[test]
    fn a_huge_spike_window_from_code_neither_panics_nor_stops_alerting() {
        let mut a = Aggregator::new(cfg());
        // Far beyond what chrono's durations hold (i64 milliseconds).
        let rule = |count| SpikeRule {
            count,
            window_secs: 1 << 62,
        };
        for (code, count, n) in [("HUGE", 2, 5), ("QUIET", 100, 1)] {
            for i in 0..n {
                let mut e = event(code, 500, i);
                e.alert = Some(AlertPolicy::Spike);
                e.spike = Some(rule(count));
                a.ingest(Observation::single(e.into()), t(i));
            }
        }
        let out = a.tick(t(10));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].count, 5);
        assert!(a.tick(t(100_000)).is_empty());
    }

    #[test]
    fn quiet_group_closes_and_reopens_as_repeat() {
        let mut a = Aggregator::new(cfg());
        a.ingest(ev("E", 500, 0), t(0));
        assert_eq!(a.tick(t(5))[0].kind, AlertKind::New);
        assert!(a.tick(t(4 * 3600 + 10)).is_empty());
        assert_eq!(a.stats().open_groups, 0);
        a.ingest(ev("E", 500, 5 * 3600), t(5 * 3600));
        let out = a.tick(t(5 * 3600 + 5));
        assert_eq!(out[0].kind, AlertKind::Repeat);
    }

    #[test]
    fn a_quiet_group_is_resolved_once_per_quiet_period() {
        let mut c = cfg();
        c.resolve_after = Some(Duration::from_secs(300));
        let mut a = Aggregator::new(c);
        a.ingest(ev("E", 503, 0), t(0));
        a.ingest(ev("E", 503, 0), t(0));
        assert_eq!(a.tick(t(5))[0].kind, AlertKind::New);
        assert_eq!(
            a.next_due(),
            Some(t(300)),
            "the resolved notice is a deadline"
        );
        assert!(a.tick(t(299)).is_empty(), "not quiet long enough");
        let out = a.tick(t(300));
        assert_eq!(out.len(), 1);
        let r = &out[0];
        assert_eq!(r.kind, AlertKind::Resolved);
        assert_eq!((r.count, r.total, r.notice), (0, 2, 2));
        assert_eq!((r.first_seen, r.last_seen), (t(0), t(0)));
        assert_eq!((r.window_start, r.window_end), (t(5), t(300)));
        assert_eq!(r.activity_text().unwrap(), "resolved: no event for 5 min");
        assert_eq!(a.next_due(), None);
        assert!(a.tick(t(3000)).is_empty(), "once per quiet period");
        // It comes back: a digest one group_interval after the resolved notice at most,
        // saying it is active, then a resolved notice again once quiet.
        a.ingest(ev("E", 503, 3100), t(3100));
        assert!(a.tick(t(3104)).is_empty());
        let d = a.tick(t(3105));
        assert_eq!(d[0].kind, AlertKind::Digest);
        assert_eq!(d[0].count, 1);
        assert_eq!(
            d[0].activity_text().unwrap(),
            "still active: last event 5 s ago"
        );
        let out = a.tick(t(3400));
        assert_eq!(out.len(), 1);
        assert_eq!(
            (out[0].kind, out[0].total, out[0].notice),
            (AlertKind::Resolved, 3, 4)
        );
        // Resolved notices count for repeat_interval: the group closes 4 h after the last.
        assert!(a.tick(t(3400 + 4 * 3600 - 1)).is_empty());
        assert_eq!(a.stats().open_groups, 1);
        assert!(a.tick(t(3400 + 4 * 3600)).is_empty());
        assert_eq!(a.stats().open_groups, 0);
    }

    #[test]
    fn pending_events_go_out_before_the_resolved_notice() {
        let mut c = cfg();
        c.resolve_after = Some(Duration::from_secs(60));
        let mut a = Aggregator::new(c);
        a.ingest(ev("E", 500, 0), t(0));
        assert_eq!(a.tick(t(5))[0].kind, AlertKind::New);
        // An event before group_interval is over: its digest is due at 305 s, later than
        // 60 s of quiet; the resolved notice waits for it.
        a.ingest(ev("E", 500, 10), t(10));
        assert!(a.tick(t(100)).is_empty());
        let out = a.tick(t(305));
        let kinds: Vec<AlertKind> = out.iter().map(|a| a.kind).collect();
        assert_eq!(kinds, [AlertKind::Digest, AlertKind::Resolved]);
        assert_eq!(
            out[0].activity_text().unwrap(),
            "quiet: last event 5 min ago"
        );
        assert_eq!(out.iter().map(|a| a.count).sum::<u64>(), 1);
    }

    #[test]
    fn only_groups_that_alerted_are_resolved_and_off_means_never() {
        let mut c = cfg();
        c.resolve_after = Some(Duration::from_secs(60));
        c.policies
            .insert("COUNTED".into(), (AlertPolicy::Never, None, None));
        let mut a = Aggregator::new(c.clone());
        a.ingest(ev("COUNTED", 500, 0), t(0));
        a.ingest(ev("NOT_FOUND", 404, 0), t(0));
        assert!(a.tick(t(5)).is_empty());
        assert!(a.tick(t(3600)).is_empty());
        c.resolve_after = None;
        let mut a = Aggregator::new(c);
        a.ingest(ev("E", 500, 0), t(0));
        assert_eq!(a.tick(t(5)).len(), 1);
        assert_eq!(a.next_due(), None);
        assert!(a.tick(t(3600)).is_empty());
    }

    #[test]
    fn users_and_routes_are_capped() {
        let mut c = cfg();
        c.limits.max_users = 3;
        c.limits.max_routes = 2;
        let mut a = Aggregator::new(c);
        for i in 0..10 {
            let mut e = event("E", 500, 0).with_user(format!("u{i}"));
            e.method = ["GET", "POST", "PUT"][i % 3].to_string();
            e.fingerprint = Some("same".into());
            a.ingest(Observation::single(e.into()), t(0));
        }
        let al = &a.tick(t(5))[0];
        assert_eq!(al.users, 3);
        assert!(al.users_capped);
        assert_eq!(al.routes.len(), 2);
        assert_eq!(al.routes.iter().map(|r| r.count).sum::<u64>(), 10);
    }

    #[test]
    fn fleet_rows_carry_every_event_once_and_notify_nothing() {
        let mut a = Aggregator::new(cfg());
        assert!(!a.opened_group());
        for i in 0..30 {
            let e = event("E", 500, 0).with_user(format!("u{}", i % 4));
            a.ingest(Observation::single(e.into()), t(0));
        }
        assert!(a.opened_group(), "a new group is flushed at once");
        let rows = a.take_fleet_rows();
        assert!(!a.opened_group());
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].n, 30);
        assert_eq!(rows[0].users.len(), 4);
        assert_eq!(rows[0].routes.iter().map(|r| r.count).sum::<u64>(), 30);
        assert!(a.take_fleet_rows().is_empty(), "taken once");
        a.ingest(ev("E", 500, 1), t(1));
        assert!(!a.opened_group(), "the group is open already");
        assert_eq!(a.take_fleet_rows()[0].n, 1);
        a.housekeep(t(10));
        assert!(a.tick(t(10)).is_empty(), "the store decides notices");
    }

    #[test]
    fn events_are_scrubbed_before_sampling() {
        let mut a = Aggregator::new(cfg());
        let mut e = event("E", 500, 0);
        e.path = "/x?token=SECRET".into();
        e.cause_chain = vec![r#"{"password":"SECRET"}"#.into()];
        a.ingest(Observation::single(e.into()), t(0));
        let samples = a.take_samples(t(0));
        assert_eq!(samples.len(), 1);
        assert!(!samples[0].event.contains("SECRET"));
        assert!(!format!("{:?}", a.tick(t(5))).contains("SECRET"));
    }
}
