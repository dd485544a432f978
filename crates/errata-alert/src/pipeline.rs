//! The pipeline: builder, aggregator task, delivery workers, handle.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use errata_catalog::{Catalog, SpikeRule};
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio::task::JoinHandle;

use crate::aggregate::{
    AggConfig, AggStats, Aggregator, Limits, Messages, Observation, Policies, Timing,
};
use crate::alert::Alert;
use crate::capture::{self, AlertLayer, CaptureReceiver, CaptureStats, Capturer};
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ConfigError};
use crate::delivery::{DeliveryOptions, Worker};
use crate::fingerprint::FingerprintFn;
use crate::fleet::{Fleet, FleetRow, Stamp};
use crate::scrub::Scrubber;
use crate::sink::{SendOutcome, Sink};
use crate::spool::deferred::Deferred;
use crate::spool::{Delivery, ListFilter, MemoryStore, PostgresStore, SqliteStore, StoreError};
use crate::store::minute_of;
use crate::Backend;

/// The SQLite file used when neither `ERRATA_STORE` nor the builder names one.
pub const DEFAULT_STORE: &str = "errata-alert.sqlite3";

/// Why the pipeline could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A setting is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store could not be opened.
    #[error("ERRATA_STORE: {0}")]
    Store(#[from] StoreError),
}

enum StoreChoice {
    Default,
    Location(String),
    Memory,
    Custom(Arc<dyn Backend>),
}

/// Builds the alerting pipeline.
///
/// See the [crate docs](crate) for a complete example.
pub struct Alerting {
    config: Config,
    sinks: Vec<Arc<dyn Sink>>,
    policies: Policies,
    /// The catalog's, when one is given: message templates are taken at start, in the
    /// operator's locale.
    catalog: Option<Arc<Catalog>>,
    locale: Option<String>,
    timing: Timing,
    limits: Limits,
    default_spike: SpikeRule,
    queue_capacity: usize,
    scrubber: Scrubber,
    fingerprint: Option<FingerprintFn>,
    clock: Arc<dyn Clock>,
    store: StoreChoice,
    delivery: DeliveryOptions,
    retention: Duration,
    flush_interval: Duration,
    fleet: bool,
    resolve_after: Option<Duration>,
    /// Tests: called with the code of each notice before it is made (a panic there is a
    /// panic inside a tick).
    #[cfg(test)]
    fault: Option<crate::aggregate::Fault>,
}

impl std::fmt::Debug for Alerting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alerting")
            .field("config", &self.config)
            .field(
                "sinks",
                &self.sinks.iter().map(|s| s.name()).collect::<Vec<_>>(),
            )
            .field("timing", &self.timing)
            .field("queue_capacity", &self.queue_capacity)
            .finish_non_exhaustive()
    }
}

impl Default for Alerting {
    fn default() -> Self {
        Self::new()
    }
}

impl Alerting {
    /// A pipeline with defaults: console sink, SQLite store [`DEFAULT_STORE`], 5 s
    /// `group_wait`, 5 min `group_interval`, 4 h `repeat_interval`.
    pub fn new() -> Self {
        Alerting {
            config: Config::default(),
            sinks: Vec::new(),
            policies: Policies::default(),
            catalog: None,
            locale: None,
            timing: Timing::default(),
            limits: Limits::default(),
            default_spike: SpikeRule {
                count: 100,
                window_secs: 300,
            },
            queue_capacity: 10_000,
            scrubber: Scrubber::default(),
            fingerprint: None,
            clock: Arc::new(SystemClock),
            store: StoreChoice::Default,
            delivery: DeliveryOptions::default(),
            retention: Duration::from_secs(30 * 86_400),
            flush_interval: Duration::from_secs(1),
            fleet: true,
            resolve_after: Some(crate::aggregate::DEFAULT_RESOLVE_AFTER),
            #[cfg(test)]
            fault: None,
        }
    }

    /// A pipeline configured from `ERRATA_*` variables (see [`Config`]).
    ///
    /// Grouping timing comes from [`Config`] (the environment wins over the catalog's
    /// `[alerting]` table, which wins over [`Alerting::timing`]). The fleet knobs are read
    /// here, as durations (`500ms`, `5s`, `5m`): `ERRATA_FLUSH_INTERVAL` (how often counts
    /// reach the store, default 1 s) and
    /// `ERRATA_LEASE` (how long a delivery taken by a replica that died stays with it,
    /// default 2 min).
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut a = Self::from_config(Config::from_env()?);
        // The one duration grammar of `ERRATA_*` variables (bare seconds or humantime).
        let get = |var: &'static str, least: Duration, most: Duration| match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => {
                crate::config::parse_duration(var, &v, least, most).map(Some)
            }
            _ => Ok(None),
        };
        let ms = Duration::from_millis;
        if let Some(d) = get("ERRATA_FLUSH_INTERVAL", ms(1), Duration::from_secs(3600))? {
            a.flush_interval = d;
        }
        if let Some(d) = get(
            "ERRATA_LEASE",
            Duration::from_secs(1),
            Duration::from_secs(86_400),
        )? {
            a.delivery.lease = d;
        }
        Ok(a)
    }

    /// A pipeline configured from `config`.
    pub fn from_config(config: Config) -> Self {
        let mut a = Self::new();
        if let Some(s) = &config.store {
            a.store = StoreChoice::Location(s.expose().clone());
        }
        a.config = config;
        a
    }

    /// Takes alert policies, spike rules, docs links and message templates from the catalog:
    /// a catalog code is grouped by its message template (whatever the client's locale and
    /// the parameters' values), and its alerts are written in the operator's locale.
    pub fn catalog(mut self, catalog: &Catalog) -> Self {
        self.policies = AggConfig::policies_from(catalog);
        self.catalog = Some(Arc::new(catalog.clone()));
        self
    }

    /// The locale alerts are written in, when `ERRATA_LOCALE` sets none (default: the
    /// catalog's default locale).
    pub fn locale(mut self, locale: impl Into<String>) -> Self {
        self.locale = Some(locale.into());
        self
    }

    /// Adds a sink. Once any sink is added, the ones from the environment are not used.
    pub fn sink(mut self, sink: impl Sink) -> Self {
        self.sinks.push(Arc::new(sink));
        self
    }

    /// Adds a shared sink.
    pub fn sink_arc(mut self, sink: Arc<dyn Sink>) -> Self {
        self.sinks.push(sink);
        self
    }

    /// Service name stamped on alerts (`ERRATA_SERVICE`).
    pub fn service(mut self, name: impl Into<String>) -> Self {
        self.config.service = Some(name.into());
        self
    }

    /// Environment stamped on alerts (`ERRATA_ENV`).
    pub fn environment(mut self, env: impl Into<String>) -> Self {
        self.config.environment = Some(env.into());
        self
    }

    /// Release stamped on alerts (`ERRATA_RELEASE`).
    pub fn release(mut self, release: impl Into<String>) -> Self {
        self.config.release = Some(release.into());
        self
    }

    /// Keeps the spool and counts in the SQLite file at `path`.
    pub fn store_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.store = StoreChoice::Location(path.into().to_string_lossy().into_owned());
        self
    }

    /// Keeps the spool and counts in PostgreSQL (`postgres://…`), for several replicas.
    pub fn store_postgres(mut self, url: impl Into<String>) -> Self {
        self.store = StoreChoice::Location(url.into());
        self
    }

    /// Keeps everything in memory: pending alerts are lost when the process stops.
    pub fn store_memory(mut self) -> Self {
        self.store = StoreChoice::Memory;
        self
    }

    /// Uses a store of your own.
    pub fn store(mut self, backend: Arc<dyn Backend>) -> Self {
        self.store = StoreChoice::Custom(backend);
        self
    }

    /// Grouping timing.
    pub fn timing(mut self, timing: Timing) -> Self {
        self.timing = timing;
        self
    }

    /// Quiet time after which a group that alerted gets one resolved notice (default 5 min,
    /// [`DEFAULT_RESOLVE_AFTER`](crate::aggregate::DEFAULT_RESOLVE_AFTER)); `None` turns
    /// resolved notices off. `ERRATA_RESOLVE_AFTER` and the catalog's `[alerting]
    /// resolve_after` win over it. Values are used as given here; the environment and the
    /// catalog are bounded to 1 s .. 1 day.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let a = errata_alert::Alerting::new().resolve_after(Duration::from_secs(600));
    /// let b = errata_alert::Alerting::new().resolve_after(None); // no resolved notices
    /// # let _ = (a, b);
    /// ```
    pub fn resolve_after(mut self, quiet: impl Into<Option<Duration>>) -> Self {
        self.resolve_after = quiet.into();
        self
    }

    /// Tests: a hook run before each notice is made, with the notice's code.
    #[cfg(test)]
    pub(crate) fn fault(mut self, f: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.fault = Some(Arc::new(f));
        self
    }

    /// Memory bounds of the aggregator.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Spike rule for `spike` codes whose catalog entry sets none (default 100 in 5 min).
    pub fn default_spike(mut self, rule: SpikeRule) -> Self {
        self.default_spike = rule;
        self
    }

    /// Capacity of the capture queue (default 10,000); beyond, events are folded into
    /// counters.
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity;
        self
    }

    /// Replaces the scrubber.
    pub fn scrubber(mut self, scrubber: Scrubber) -> Self {
        self.scrubber = scrubber;
        self
    }

    /// Overrides fingerprints: return `Some` to decide an event's group.
    pub fn fingerprint(
        mut self,
        f: impl Fn(&crate::Event) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.fingerprint = Some(Arc::new(f));
        self
    }

    /// The clock grouping decisions run on (default: the system clock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Retry and shutdown behaviour of deliveries.
    pub fn delivery(mut self, options: DeliveryOptions) -> Self {
        self.delivery = options;
        self
    }

    /// How long counts and samples are kept (default 30 days).
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// How often counts are written to the store (default 1 s): a process killed with
    /// `kill -9` loses at most this much counting.
    pub fn flush_interval(mut self, every: Duration) -> Self {
        self.flush_interval = every;
        self
    }

    /// With a PostgreSQL store, whether the replicas sharing it behave as one node (default
    /// on): notices are claimed in the store (one per group and window across the fleet), with
    /// fleet-wide counts, spike rules and sink pacing. Off, each process alerts on its own.
    pub fn fleet(mut self, on: bool) -> Self {
        self.fleet = on;
        self
    }

    /// Keeps the console sink (the default) or turns it off, like `ERRATA_CONSOLE=off`.
    pub fn console(mut self, on: bool) -> Self {
        self.config.console_off = !on;
        self
    }

    /// Opens the store, starts the aggregator and one worker per sink.
    ///
    /// The sinks are the console (unless turned off), those of the environment, and those
    /// added with [`Alerting::sink`]; a sink added in code named `console` replaces the
    /// default one. One `info` log line names them, the store and the timing, secrets masked
    /// (also [`AlertingHandle::summary`]).
    ///
    /// A PostgreSQL store that cannot be reached (the network) does not stop start-up: alerts
    /// and counts wait in bounded memory while it is connected in the background, and are
    /// written when it answers. A misconfigured store (a bad URL, refused credentials, an
    /// unwritable SQLite path) stops start-up with an error naming `ERRATA_STORE`.
    ///
    /// Call inside a tokio runtime. Deliveries left pending by an earlier run (even one killed
    /// with `kill -9`) are sent again.
    pub async fn start(self) -> Result<(AlertLayer, AlertingHandle), StartError> {
        let mut sinks = self.config.sinks()?;
        for sink in self.sinks {
            if sink.name() == "console" {
                sinks.retain(|s| s.name() != "console");
            }
            if sinks.iter().any(|s| s.name() == sink.name()) {
                return Err(StartError::Config(ConfigError::invalid(
                    "Alerting::sink",
                    format!(
                        "two sinks are named `{}` (one from the environment?): give the one added in code another name",
                        sink.name()
                    ),
                )));
            }
            sinks.push(sink);
        }
        let mut store_note = "";
        let store_shown = match &self.store {
            StoreChoice::Memory => "memory".to_owned(),
            StoreChoice::Custom(_) => "custom".to_owned(),
            StoreChoice::Default => format!("sqlite {DEFAULT_STORE}"),
            StoreChoice::Location(loc) => mask_store(loc),
        };
        // Environment, then the catalog's `[alerting]`, then code, then defaults (the fleet
        // decides notices with the same timing).
        let alerting = self.catalog.as_ref().map(|c| &c.alerting);
        let mut timing = self.timing;
        let mut resolve_after = self.resolve_after;
        let layers = [
            alerting.map(|a| {
                (
                    a.group_wait,
                    a.group_interval,
                    a.repeat_interval,
                    a.resolve_after,
                )
            }),
            Some((
                self.config.group_wait,
                self.config.group_interval,
                self.config.repeat_interval,
                self.config.resolve_after,
            )),
        ];
        for (wait, interval, repeat, resolve) in layers.into_iter().flatten() {
            timing.group_wait = wait.unwrap_or(timing.group_wait);
            timing.group_interval = interval.unwrap_or(timing.group_interval);
            timing.repeat_interval = repeat.unwrap_or(timing.repeat_interval);
            resolve_after = resolve.unwrap_or(resolve_after);
        }
        let sink_names: Vec<String> = sinks.iter().map(|s| s.name().to_string()).collect();
        let fleet = match &self.store {
            StoreChoice::Location(loc)
                if self.fleet
                    && (loc.starts_with("postgres://") || loc.starts_with("postgresql://")) =>
            {
                Some(Arc::new(
                    Fleet::new(
                        loc,
                        timing,
                        self.limits,
                        sink_names.clone(),
                        Stamp {
                            service: self.config.service.clone(),
                            environment: self.config.environment.clone(),
                            release: self.config.release.clone(),
                        },
                    )
                    .map_err(StartError::Store)?
                    .resolve_after(resolve_after),
                ))
            }
            _ => None,
        };
        let backend: Arc<dyn Backend> = match self.store {
            StoreChoice::Memory => Arc::new(MemoryStore::new()),
            StoreChoice::Custom(b) => b,
            StoreChoice::Default => Arc::new(SqliteStore::open(DEFAULT_STORE).await?),
            StoreChoice::Location(loc) => {
                if loc.starts_with("postgres://") || loc.starts_with("postgresql://") {
                    use std::str::FromStr as _;
                    if sqlx::postgres::PgConnectOptions::from_str(&loc).is_err() {
                        return Err(StartError::Config(ConfigError::invalid(
                            "ERRATA_STORE",
                            "not a valid PostgreSQL URL (the value is not shown: it may hold a password)",
                        )));
                    }
                    if !names_a_database(&loc) {
                        return Err(StartError::Config(ConfigError::invalid(
                            "ERRATA_STORE",
                            format!(
                                "the PostgreSQL URL {store_shown} names no database: add one, as in postgres://host/errata (it would silently be `postgres`)"
                            ),
                        )));
                    }
                    match PostgresStore::try_connect(&loc, STORE_CONNECT_TIMEOUT).await {
                        Ok(store) => Arc::new(store),
                        Err((true, e)) => {
                            tracing::warn!(
                                store = %store_shown,
                                error = %e,
                                "errata: the store cannot be reached; serving goes on, alerts and counts wait in memory until it answers"
                            );
                            store_note = " (unreachable: connecting in the background)";
                            Deferred::start(loc, store_shown.clone(), STORE_CONNECT_TIMEOUT)
                        }
                        Err((false, e)) => return Err(StartError::Store(e)),
                    }
                } else {
                    let path = loc.strip_prefix("sqlite://").unwrap_or(&loc).to_string();
                    let s = SqliteStore::open(&path).await?;
                    // One process owns a SQLite spool: leases of a dead run are void.
                    s.release_leases().await?;
                    Arc::new(s)
                }
            }
        };
        let locale = match &self.catalog {
            Some(catalog) => {
                let wanted = self
                    .config
                    .locale
                    .clone()
                    .or(catalog.alerting.locale.clone())
                    .or(self.locale.clone());
                if let Some(l) = &wanted {
                    if !catalog.info.locales.iter().any(|c| c == l) {
                        return Err(StartError::Config(ConfigError::invalid(
                            if self.config.locale.is_some() {
                                "ERRATA_LOCALE"
                            } else {
                                "Alerting::locale"
                            },
                            format!(
                                "{l:?} is not a locale of the catalog (it has {})",
                                catalog.info.locales.join(", ")
                            ),
                        )));
                    }
                }
                Some(wanted.unwrap_or_else(|| catalog.info.default_locale.clone()))
            }
            None => None,
        };
        let messages = match &self.catalog {
            Some(catalog) => AggConfig::messages_from(catalog, locale.as_deref()),
            None => Messages::default(),
        };
        let (capturer, receiver) = capture::channel(self.queue_capacity, self.clock.clone());
        #[allow(unused_mut)]
        let mut agg = Aggregator::new(AggConfig {
            timing,
            resolve_after,
            limits: self.limits,
            default_spike: self.default_spike,
            policies: self.policies,
            messages,
            locale,
            scrubber: self.scrubber,
            fingerprint: self.fingerprint,
            service: self.config.service.clone(),
            environment: self.config.environment.clone(),
            release: self.config.release.clone(),
        });
        #[cfg(test)]
        {
            agg.fault = self.fault.clone();
        }
        let console = sinks.iter().find(|s| s.name() == "console").cloned();
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut wakes = Vec::new();
        let mut workers = Vec::new();
        let mut memory_senders = Vec::new();
        for sink in &sinks {
            let memory = fleet.as_ref().map(|_| {
                let (tx, rx) = mpsc::channel(MEMORY_QUEUE);
                memory_senders.push(tx);
                rx
            });
            let wake = Arc::new(Notify::new());
            wakes.push(wake.clone());
            workers.push(tokio::spawn(
                Worker {
                    sink: sink.clone(),
                    backend: backend.clone(),
                    wake,
                    stop: stop_rx.clone(),
                    opts: self.delivery,
                    pacer: fleet.clone(),
                    memory,
                }
                .run(),
            ));
        }
        let (cmd_tx, cmd_rx) = mpsc::channel(16);
        let task = AggTask {
            agg,
            receiver,
            cmds: cmd_rx,
            clock: self.clock,
            backend: backend.clone(),
            sink_names,
            wakes,
            flush_interval: self.flush_interval,
            retention: self.retention,
            unspooled: Vec::new(),
            unsaved: Vec::new(),
            unsaved_samples: Vec::new(),
            store_down: false,
            fleet,
            fleet_unsaved: HashMap::new(),
            fleet_dropped: 0,
            fleet_alerts: 0,
            memory_senders,
            memory_notified: HashMap::new(),
            timing,
            resolve_after,
            console,
            stopping: false,
            panics: Panics::default(),
            stamp: Stamp {
                service: self.config.service.clone(),
                environment: self.config.environment.clone(),
                release: self.config.release.clone(),
            },
        };
        let fleet_on = task.fleet.is_some();
        let agg_task = tokio::spawn(task.run());
        let names: Vec<&str> = sinks.iter().map(|s| s.name()).collect();
        let fleet_note = if fleet_on {
            "; fleet: notices claimed in the store"
        } else {
            ""
        };
        let summary = format!(
            "errata alerting: sinks {}; store {store_shown}{store_note}; group_wait {}, group_interval {}, repeat_interval {}, resolve_after {}{fleet_note}",
            if names.is_empty() { "none".to_owned() } else { names.join(", ") },
            secs(timing.group_wait),
            secs(timing.group_interval),
            secs(timing.repeat_interval),
            resolve_after.map_or_else(|| "off".to_owned(), secs),
        );
        tracing::info!("{summary}");
        let handle = AlertingHandle {
            summary: Arc::from(summary),
            capturer: capturer.clone(),
            cmds: cmd_tx,
            backend,
            stop: stop_tx,
            tasks: Arc::new(Mutex::new(Some((agg_task, workers)))),
            delivery: self.delivery,
            sinks: sinks.iter().map(|s| s.name().to_string()).collect(),
        };
        Ok((AlertLayer::new(capturer), handle))
    }
}

/// Whether a `postgres://` URL names its database (a path, or a `dbname` parameter).
fn names_a_database(url: &str) -> bool {
    let Ok(u) = reqwest::Url::parse(url) else {
        return false;
    };
    let path = u.path().trim_start_matches('/');
    !path.is_empty() || u.query_pairs().any(|(k, v)| k == "dbname" && !v.is_empty())
}

enum Command {
    Flush(oneshot::Sender<()>),
    Stats(oneshot::Sender<(AggStats, u64)>),
    Shutdown(oneshot::Sender<()>),
}

struct AggTask {
    agg: Aggregator,
    receiver: CaptureReceiver,
    cmds: mpsc::Receiver<Command>,
    clock: Arc<dyn Clock>,
    backend: Arc<dyn Backend>,
    sink_names: Vec<String>,
    wakes: Vec<Arc<Notify>>,
    flush_interval: Duration,
    retention: Duration,
    unspooled: Vec<Alert>,
    unsaved: Vec<crate::store::CountRow>,
    unsaved_samples: Vec<crate::store::SampleRow>,
    /// The last write failed: the next one that works says so on the console.
    store_down: bool,
    /// Fleet mode: the store decides the notices.
    fleet: Option<Arc<Fleet>>,
    /// Fleet rows not written yet (the store is unreachable), one per group.
    fleet_unsaved: HashMap<String, FleetRow>,
    /// Events that did not fit in memory while the store was unreachable.
    fleet_dropped: u64,
    /// Notices this replica claimed.
    fleet_alerts: u64,
    /// Fleet mode: one queue per sink for alerts sent while the store is unreachable.
    memory_senders: Vec<mpsc::Sender<Alert>>,
    /// Groups notified from memory: when, and how many notices.
    memory_notified: HashMap<String, (chrono::DateTime<chrono::Utc>, u32)>,
    timing: Timing,
    /// Quiet time before a group's resolved notice (`None`: off).
    resolve_after: Option<Duration>,
    /// The console sink, if any: a panic of this task is told there.
    console: Option<Arc<dyn Sink>>,
    /// Shutting down: a panic now ends the task instead of restarting the turn.
    stopping: bool,
    panics: Panics,
    stamp: Stamp,
}

/// What the supervisor of the aggregator task remembers about its panics.
#[derive(Debug, Default)]
struct Panics {
    /// Panics since the task started.
    total: u64,
    /// Panics in a row, without a turn that ended well (sets the pause before the next turn).
    in_a_row: u32,
    /// When the console was last told, and panics since then not told.
    told: Option<tokio::time::Instant>,
    untold: u64,
}

/// The loop state of the aggregator task that lives across turns (and panics).
struct Turns {
    flush_tick: tokio::time::Interval,
    last_prune: Option<tokio::time::Instant>,
    queue_open: bool,
}

/// What a turn of the aggregator task asks for next.
enum Flow {
    Go,
    Stop,
}

/// Least time between two console alerts about panics of the aggregator task.
const PANIC_ALERT_EVERY: Duration = Duration::from_secs(60);

/// The text of a panic's payload.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// The code of the console alert about a panic of the aggregator task.
pub const AGGREGATOR_PANIC: &str = "ERRATA_AGGREGATOR_PANIC";

/// Alerts per sink waiting to be sent from memory while the store is unreachable.
const MEMORY_QUEUE: usize = 1000;

/// Events taken from the queue per turn, so commands and deadlines are not starved.
const BATCH: usize = 4096;

/// Pause after a batch, so a stream of events costs at most one wake-up per pause.
const COALESCE: Duration = Duration::from_millis(10);

impl AggTask {
    /// Runs turns until shutdown, supervised: a panic inside a turn is caught, logged at error
    /// level and told on the console sink, and the next turn goes on with the state kept here
    /// (open groups, counts not yet written, alerts not yet spooled). What the panicking turn
    /// was doing may be lost; nothing else is.
    async fn run(mut self) {
        use futures_util::FutureExt as _;
        let mut flush_tick = tokio::time::interval(self.flush_interval);
        flush_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut turns = Turns {
            flush_tick,
            last_prune: None,
            queue_open: true,
        };
        loop {
            let turn = std::panic::AssertUnwindSafe(self.turn(&mut turns)).catch_unwind();
            match turn.await {
                Ok(Flow::Go) => self.panics.in_a_row = 0,
                Ok(Flow::Stop) => return,
                Err(payload) => {
                    let text = panic_text(payload.as_ref());
                    if self.stopping {
                        tracing::error!(panic = %text, "errata: the alert aggregator panicked while stopping; what it had not spooled is lost");
                        return;
                    }
                    self.supervise(text).await;
                }
            }
        }
    }

    /// After a panic: an error log line, a console alert (at most one a minute, with the
    /// count of those not told), and a pause that grows while turns keep panicking.
    async fn supervise(&mut self, text: String) {
        self.panics.total += 1;
        self.panics.in_a_row = self.panics.in_a_row.saturating_add(1);
        tracing::error!(
            panic = %text,
            panics = self.panics.total,
            "errata: the alert aggregator panicked; it goes on with its state (what that turn was doing may be lost)"
        );
        let now = tokio::time::Instant::now();
        if self
            .panics
            .told
            .is_none_or(|t| now.duration_since(t) >= PANIC_ALERT_EVERY)
        {
            let missed = std::mem::take(&mut self.panics.untold);
            self.panics.told = Some(now);
            if let Some(console) = &self.console {
                let alert = self.panic_alert(&text, missed);
                let sent = tokio::time::timeout(Duration::from_secs(5), console.send(&alert)).await;
                if !matches!(sent, Ok(SendOutcome::Delivered { .. })) {
                    tracing::warn!("errata: cannot tell the console about the aggregator's panic");
                }
            }
        } else {
            self.panics.untold += 1;
        }
        let pause = Duration::from_millis(10)
            .saturating_mul(1u32 << self.panics.in_a_row.min(10))
            .min(Duration::from_secs(5));
        tokio::time::sleep(pause).await;
    }

    /// The console alert about a panic of this task (never spooled: the spool may be what
    /// failed).
    fn panic_alert(&self, text: &str, missed: u64) -> Alert {
        let now = self.clock.now();
        let more = if missed > 0 {
            format!(" ({missed} more since the last alert about it)")
        } else {
            String::new()
        };
        let sample = crate::Event::new(AGGREGATOR_PANIC, 500)
            .with_message(format!(
                "the alert aggregator panicked and goes on with its state: {text}{more}"
            ))
            .with_time(now);
        Alert {
            id: uuid::Uuid::now_v7().to_string(),
            kind: crate::alert::AlertKind::New,
            fingerprint: "errata/aggregator-panic".to_owned(),
            code: AGGREGATOR_PANIC.to_owned(),
            status: 500,
            count: 1 + missed,
            total: self.panics.total,
            window_start: now,
            window_end: now,
            first_seen: now,
            last_seen: now,
            users: 0,
            users_total: 0,
            users_capped: false,
            routes: Vec::new(),
            params: Vec::new(),
            sample,
            service: self.stamp.service.clone(),
            environment: self.stamp.environment.clone(),
            release: self.stamp.release.clone(),
            docs_url: None,
            notice: u32::try_from(self.panics.total).unwrap_or(u32::MAX),
            resolve_after_secs: None,
            upstream: None,
        }
    }

    /// One turn: a command, a batch of events, a deadline or a flush tick, then what is due.
    async fn turn(&mut self, turns: &mut Turns) -> Flow {
        let Turns {
            flush_tick,
            last_prune,
            queue_open,
        } = turns;
        {
            // In fleet mode the store decides when notices are due; the flush tick asks it.
            let deadline = if self.fleet.is_some() {
                None
            } else {
                self.agg.next_due()
            };
            let sleep = match deadline {
                Some(d) => self.clock.sleep_until(d),
                None => Box::pin(std::future::pending()),
            };
            tokio::select! {
                biased;
                cmd = self.cmds.recv() => match cmd {
                    Some(Command::Flush(done)) => {
                        self.drain_all();
                        self.emit_due().await;
                        self.persist().await;
                        let _ = done.send(());
                    }
                    Some(Command::Stats(reply)) => {
                        let mut stats = self.agg.stats();
                        stats.alerts += self.fleet_alerts;
                        let _ = reply.send((stats, self.fleet_dropped));
                    }
                    Some(Command::Shutdown(done)) => {
                        self.stopping = true;
                        self.finish().await;
                        let _ = done.send(());
                        return Flow::Stop;
                    }
                    None => {
                        // Every handle is gone: finish like a shutdown.
                        self.stopping = true;
                        self.finish().await;
                        return Flow::Stop;
                    }
                },
                ev = self.receiver.rx.recv(), if *queue_open => match ev {
                    Some(ev) => {
                        let now = self.clock.now();
                        self.agg.ingest(Observation::single(ev), now);
                        for _ in 0..BATCH {
                            match self.receiver.rx.try_recv() {
                                Ok(ev) => self.agg.ingest(Observation::single(ev), now),
                                Err(_) => break,
                            }
                        }
                        // Let events gather before listening again: while the aggregator is
                        // not waiting on the queue, capturing never wakes it.
                        tokio::time::sleep(COALESCE).await;
                    }
                    None => *queue_open = false,
                },
                _ = sleep => {}
                _ = flush_tick.tick() => {
                    self.persist().await;
                    if last_prune.is_none_or(|p| p.elapsed() > Duration::from_secs(3600)) {
                        *last_prune = Some(tokio::time::Instant::now());
                        let cutoff = crate::clock::sub_std(self.clock.now(), self.retention);
                        if let Err(e) = self.backend.prune(minute_of(cutoff)).await {
                            tracing::warn!(error = %e, "errata: cannot prune the store");
                        }
                        if let Some(fleet) = &self.fleet {
                            if let Err(e) = fleet.prune(self.clock.now()).await {
                                tracing::warn!(error = %e, "errata: cannot prune the fleet's events");
                            }
                        }
                    }
                }
            }
            let now = self.clock.now();
            for obs in self.receiver.drain_overflow() {
                self.agg.ingest(obs, now);
            }
            if self.fleet.is_some() && self.agg.opened_group() {
                // A new group's first events go to the store at once: its notice is due there,
                // whatever becomes of this process.
                self.persist_fleet(false).await;
            }
            self.emit_due().await;
        }
        Flow::Go
    }

    /// Fleet mode, the store unreachable: groups kept in memory whose notice is due go to the
    /// sinks directly (this replica alone decides them; their events leave memory, so they are
    /// never counted twice when the store is back).
    fn deliver_from_memory(&mut self) {
        let now = self.clock.now();
        let t = self.timing;
        let due: Vec<String> = self
            .fleet_unsaved
            .iter()
            .filter(|(fp, r)| {
                crate::clock::add_std(r.at, t.group_wait) <= now
                    && self.memory_notified.get(*fp).is_none_or(|(last, _)| {
                        crate::clock::add_std(*last, t.group_interval) <= now
                    })
            })
            .map(|(fp, _)| fp.clone())
            .collect();
        for fp in due {
            let Some(row) = self.fleet_unsaved.remove(&fp) else {
                continue;
            };
            let (last, notices) = self.memory_notified.get(&fp).copied().unzip();
            let notice = notices.unwrap_or(0) + 1;
            let mut routes = row.routes;
            routes.sort_by(|a, b| b.count.cmp(&a.count).then(a.route.cmp(&b.route)));
            let window_start = last.unwrap_or(row.at).min(row.at);
            let alert = Alert {
                id: uuid::Uuid::now_v7().to_string(),
                kind: if notice == 1 {
                    crate::alert::AlertKind::New
                } else {
                    crate::alert::AlertKind::Digest
                },
                fingerprint: fp.clone(),
                code: row.code,
                status: row.status,
                count: row.n,
                total: row.n,
                window_start,
                window_end: now.max(window_start),
                first_seen: row.at,
                last_seen: row.last_at,
                users: row.users.len() as u64,
                users_total: row.users.len() as u64,
                users_capped: false,
                routes,
                sample: row.sample,
                service: self.stamp.service.clone(),
                environment: self.stamp.environment.clone(),
                release: self.stamp.release.clone(),
                params: row
                    .params
                    .into_iter()
                    .map(|p| p.shown(crate::aggregate::PARAM_EXAMPLES))
                    .collect(),
                docs_url: row.docs_url,
                notice,
                resolve_after_secs: self.resolve_after.map(|d| d.as_secs()),
                upstream: row.upstream,
            };
            for tx in &self.memory_senders {
                if tx.try_send(alert.clone()).is_err() {
                    self.fleet_dropped += alert.count;
                    tracing::error!(code = %alert.code, "errata: too many alerts waiting in memory; one is dropped");
                }
            }
            self.memory_notified.insert(fp, (now, notice));
            self.fleet_alerts += 1;
        }
        self.memory_notified.retain(|_, (last, _)| {
            now - *last
                < chrono::Duration::from_std(t.repeat_interval).unwrap_or(chrono::Duration::MAX)
        });
        for w in &self.wakes {
            w.notify_one();
        }
    }

    /// At shutdown: every captured event aggregated, every notice spooled if the store takes
    /// it, and a log line that says what could not be.
    async fn finish(&mut self) {
        self.drain_all();
        self.emit_due().await;
        let now = self.clock.now();
        if self.fleet.is_none() {
            let rest = self.agg.flush_all(now);
            self.emit(rest).await;
        }
        self.persist().await;
        if !self.unspooled.is_empty() {
            tracing::error!(
                alerts = self.unspooled.len(),
                "errata: stopping with {} alerts that the store did not take; they are lost",
                self.unspooled.len()
            );
        }
        if let Some(fleet) = &self.fleet {
            if !self.fleet_unsaved.is_empty() {
                let events: u64 = self.fleet_unsaved.values().map(|r| r.n).sum();
                tracing::error!(
                    events,
                    groups = self.fleet_unsaved.len(),
                    "errata: stopping with {events} events the store did not take; they are lost to alerting (and not counted)"
                );
            }
            match fleet.unattributed().await {
                Ok(0) => {}
                Ok(events) => tracing::info!(
                    events,
                    "errata: {events} events are in the store and not notified yet; a replica sharing the store, or the next start, notifies them when due"
                ),
                Err(e) => tracing::warn!(error = %e, "errata: cannot tell which events the store holds"),
            }
        }
    }

    /// Fleet mode: writes the groups' new events to the store, then (with `claim`) claims the
    /// notices now due fleet-wide.
    async fn persist_fleet(&mut self, claim: bool) {
        let Some(fleet) = self.fleet.clone() else {
            return;
        };
        let rows = self.agg.take_fleet_rows();
        let kept = self.fleet_unsaved.len();
        match fleet.write_rows(&mut self.fleet_unsaved, rows).await {
            Ok(()) => {
                if kept > 0 {
                    self.store_back(kept, "groups' events");
                }
            }
            Err((e, dropped)) => {
                if dropped > 0 {
                    self.fleet_dropped += dropped;
                    tracing::error!(
                        dropped,
                        dropped_total = self.fleet_dropped,
                        "errata: the store is unreachable and the memory bound is reached; events dropped from alerting"
                    );
                }
                if !std::mem::replace(&mut self.store_down, true) {
                    tracing::warn!(error = %e, groups = self.fleet_unsaved.len(), "errata: cannot write events to the store; keeping them in memory (one row per group), due notices go to the sinks from memory");
                }
                self.deliver_from_memory();
                return;
            }
        }
        if !claim {
            return;
        }
        match fleet.claim_due(self.clock.now()).await {
            Ok(alerts) => {
                if !alerts.is_empty() {
                    tracing::debug!(alerts = alerts.len(), "errata: notices claimed and spooled");
                    self.fleet_alerts += alerts.len() as u64;
                    for w in &self.wakes {
                        w.notify_one();
                    }
                }
            }
            Err(e) => {
                if !std::mem::replace(&mut self.store_down, true) {
                    tracing::warn!(error = %e, "errata: cannot claim notices in the store; will retry");
                }
                return;
            }
        }
        match fleet.claim_resolved(self.clock.now()).await {
            Ok(alerts) => {
                if !alerts.is_empty() {
                    tracing::debug!(
                        alerts = alerts.len(),
                        "errata: resolved notices claimed and spooled"
                    );
                    self.fleet_alerts += alerts.len() as u64;
                    for w in &self.wakes {
                        w.notify_one();
                    }
                }
            }
            Err(e) => {
                if !std::mem::replace(&mut self.store_down, true) {
                    tracing::warn!(error = %e, "errata: cannot claim resolved notices in the store; will retry");
                }
            }
        }
    }

    fn drain_all(&mut self) {
        let now = self.clock.now();
        while let Ok(ev) = self.receiver.rx.try_recv() {
            self.agg.ingest(Observation::single(ev), now);
        }
        for obs in self.receiver.drain_overflow() {
            self.agg.ingest(obs, now);
        }
    }

    async fn emit_due(&mut self) {
        let now = self.clock.now();
        if self.fleet.is_some() {
            self.agg.housekeep(now);
            return;
        }
        let alerts = self.agg.tick(now);
        self.emit(alerts).await;
    }

    async fn emit(&mut self, alerts: Vec<Alert>) {
        self.unspooled.extend(alerts);
        if self.unspooled.is_empty() {
            return;
        }
        match self
            .backend
            .enqueue(&self.unspooled, &self.sink_names)
            .await
        {
            Ok(()) => {
                tracing::debug!(alerts = self.unspooled.len(), "errata: alerts spooled");
                self.store_back(self.unspooled.len(), "alerts");
                self.unspooled.clear();
                for w in &self.wakes {
                    w.notify_one();
                }
            }
            Err(e) => {
                self.store_down = true;
                tracing::error!(error = %e, pending = self.unspooled.len(), "errata: cannot spool alerts; keeping them in memory");
                // Bounded: keep the newest when the store stays down.
                let excess = self.unspooled.len().saturating_sub(10_000);
                self.unspooled.drain(..excess);
            }
        }
    }

    /// A write worked after one failed: say so once, with what was kept in memory.
    fn store_back(&mut self, written: usize, what: &str) {
        if std::mem::take(&mut self.store_down) {
            tracing::warn!(
                written,
                "errata: the store answers again; wrote the {written} {what} kept in memory"
            );
        }
    }

    async fn persist(&mut self) {
        self.persist_fleet(true).await;
        let now = self.clock.now();
        self.unsaved.extend(self.agg.take_counts());
        if !self.unsaved.is_empty() {
            match self.backend.add_counts(&self.unsaved).await {
                Ok(()) => {
                    self.store_back(self.unsaved.len(), "count rows");
                    self.unsaved.clear();
                }
                Err(e) => {
                    self.store_down = true;
                    tracing::warn!(error = %e, "errata: cannot write counts; will retry");
                    let excess = self.unsaved.len().saturating_sub(100_000);
                    self.unsaved.drain(..excess);
                }
            }
        }
        self.unsaved_samples.extend(self.agg.take_samples(now));
        if !self.unsaved_samples.is_empty() {
            match self.backend.add_samples(&self.unsaved_samples).await {
                Ok(()) => self.unsaved_samples.clear(),
                Err(e) => {
                    tracing::warn!(error = %e, "errata: cannot write samples; will retry");
                    // Bounded: keep the newest when the store stays down.
                    let excess = self.unsaved_samples.len().saturating_sub(1_000);
                    self.unsaved_samples.drain(..excess);
                }
            }
        }
        if !self.unspooled.is_empty() {
            self.emit(Vec::new()).await;
        }
    }
}

/// How long start-up waits for a PostgreSQL store before going on without it.
const STORE_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// `5s`, `300s`, `250ms`.
fn secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// A store location fit for a log: a URL's user info and query (passwords) masked.
fn mask_store(loc: &str) -> String {
    if loc.starts_with("postgres://") || loc.starts_with("postgresql://") {
        let masked = crate::config::redact_userinfo(loc);
        match masked.split_once('?') {
            Some((base, _)) => format!("{base}?***"),
            None => masked,
        }
    } else {
        format!("sqlite {}", loc.strip_prefix("sqlite://").unwrap_or(loc))
    }
}

/// Counters of a running pipeline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PipelineStats {
    /// Capture side.
    pub capture: CaptureStats,
    /// Events the aggregator has taken in.
    pub aggregated: u64,
    /// Alerts produced.
    pub alerts: u64,
    /// Groups open now.
    pub open_groups: usize,
    /// Fleet mode: events dropped from alerting because the store was unreachable for longer
    /// than memory could hold (they were still answered and captured).
    pub store_dropped: u64,
}

type Tasks = (JoinHandle<()>, Vec<JoinHandle<()>>);

/// Controls a running pipeline. Cheap to clone.
#[derive(Clone)]
pub struct AlertingHandle {
    capturer: Capturer,
    cmds: mpsc::Sender<Command>,
    backend: Arc<dyn Backend>,
    stop: watch::Sender<bool>,
    tasks: Arc<Mutex<Option<Tasks>>>,
    delivery: DeliveryOptions,
    sinks: Vec<String>,
    summary: Arc<str>,
}

impl std::fmt::Debug for AlertingHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertingHandle")
            .field("sinks", &self.sinks)
            .finish_non_exhaustive()
    }
}

impl AlertingHandle {
    /// The capture handle, for errors outside HTTP.
    pub fn capturer(&self) -> Capturer {
        self.capturer.clone()
    }

    /// Another layer capturing into this pipeline.
    pub fn layer(&self) -> AlertLayer {
        AlertLayer::new(self.capturer.clone())
    }

    /// The start-up line: every active sink, the store (secrets masked) and the timing.
    pub fn summary(&self) -> &str {
        &self.summary
    }

    /// The spool and store.
    pub fn backend(&self) -> Arc<dyn Backend> {
        self.backend.clone()
    }

    /// Names of the sinks.
    pub fn sinks(&self) -> &[String] {
        &self.sinks
    }

    /// Takes in every event captured so far, spools the alerts now due and writes counts.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.cmds.send(Command::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// Counters.
    pub async fn stats(&self) -> PipelineStats {
        let (tx, rx) = oneshot::channel();
        let (agg, store_dropped) = if self.cmds.send(Command::Stats(tx)).await.is_ok() {
            rx.await.unwrap_or_default()
        } else {
            (AggStats::default(), 0)
        };
        PipelineStats {
            capture: self.capturer.stats(),
            aggregated: agg.events,
            alerts: agg.alerts,
            open_groups: agg.open_groups,
            store_dropped,
        }
    }

    /// Pending deliveries (all sinks).
    pub async fn pending(&self) -> Result<u64, StoreError> {
        self.backend.pending(None).await
    }

    /// Dead letters.
    pub async fn dead_letters(&self) -> Result<Vec<Delivery>, StoreError> {
        self.backend.list(ListFilter::Dead).await
    }

    /// Waits until no delivery is pending, or `timeout` passes; returns whether the spool
    /// emptied.
    pub async fn wait_delivered(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if matches!(self.backend.pending(None).await, Ok(0)) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops: every event captured so far is aggregated, every group with events not yet
    /// notified gets its notice now, and deliveries are given up to
    /// [`DeliveryOptions::shutdown_timeout`]; what is left stays spooled for the next start.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.cmds.send(Command::Shutdown(tx)).await.is_ok() {
            let _ = rx.await;
        }
        let tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner()).take();
        let Some((agg, workers)) = tasks else {
            return;
        };
        let _ = agg.await;
        let drained = self.wait_delivered(self.delivery.shutdown_timeout).await;
        if !drained {
            match self.backend.pending(None).await {
                Ok(n) => tracing::warn!(
                    pending = n,
                    "errata: stopping with {n} deliveries still spooled; they are sent at the next start (or by a replica sharing the store)"
                ),
                Err(e) => tracing::warn!(
                    error = %e,
                    "errata: stopping without reaching the store; what it had spooled stays there for the next start"
                ),
            }
        }
        let _ = self.stop.send(true);
        for w in workers {
            let abort = w.abort_handle();
            if tokio::time::timeout(self.delivery.send_timeout, w)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use super::*;
    use crate::alert::AlertKind;
    use crate::sink::ConsoleSink;
    use crate::{Event, ManualClock};

    /// A sink that keeps what it is sent.
    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<Vec<Alert>>>);

    impl Sink for Recorder {
        fn name(&self) -> &str {
            "recorder"
        }

        fn send<'a>(
            &'a self,
            alert: &'a Alert,
        ) -> futures_util::future::BoxFuture<'a, SendOutcome> {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(alert.clone());
            Box::pin(async { SendOutcome::delivered() })
        }
    }

    /// What the console sink wrote.
    #[derive(Clone, Default)]
    struct Screen(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Screen {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Screen {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panic_inside_a_tick_is_told_and_alerting_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(chrono::Utc::now());
        let recorder = Recorder::default();
        let screen = Screen::default();
        let armed = Arc::new(AtomicBool::new(true));
        let faults = Arc::new(AtomicUsize::new(0));
        let (a, f) = (armed.clone(), faults.clone());
        let (_layer, handle) = Alerting::new()
            .store_path(dir.path().join("alerts.sqlite3"))
            .clock(clock.clone())
            .sink(ConsoleSink::writer(screen.clone()))
            .sink(recorder.clone())
            .fault(move |code| {
                if code == "BOOM" && a.swap(false, Ordering::SeqCst) {
                    f.fetch_add(1, Ordering::SeqCst);
                    panic!("injected: the tick of BOOM fails");
                }
            })
            .start()
            .await
            .unwrap();
        let cap = handle.capturer();
        for _ in 0..3 {
            cap.capture(Event::new("BOOM", 500).with_message("boom"));
        }
        handle.flush().await;
        clock.advance(Duration::from_secs(6));
        // This flush's tick panics on BOOM's notice.
        handle.flush().await;
        assert_eq!(faults.load(Ordering::SeqCst), 1, "the hook panicked");
        // The task goes on, with its state: BOOM's events are still there to notify, and new
        // events are taken in and alerted.
        cap.capture(Event::new("AFTER", 503).with_message("after the panic"));
        handle.flush().await;
        clock.advance(Duration::from_secs(6));
        handle.flush().await;
        assert!(handle.wait_delivered(Duration::from_secs(30)).await);
        let stats = handle.stats().await;
        handle.shutdown().await;

        let got = recorder.0.lock().unwrap().clone();
        let by = |code: &str| {
            got.iter()
                .filter(|a| a.code == code)
                .cloned()
                .collect::<Vec<_>>()
        };
        let boom = by("BOOM");
        assert_eq!(boom.len(), 1, "{got:?}");
        assert_eq!((boom[0].kind, boom[0].count), (AlertKind::New, 3));
        let after = by("AFTER");
        assert_eq!(after.len(), 1, "{got:?}");
        assert_eq!(after[0].count, 1);
        assert!(
            by(AGGREGATOR_PANIC).is_empty(),
            "the panic alert goes to the console only"
        );
        assert_eq!(stats.aggregated, 4);

        let text = screen.text();
        let told: Vec<&str> = text
            .lines()
            .filter(|l| l.contains(AGGREGATOR_PANIC))
            .collect();
        assert_eq!(told.len(), 1, "{text}");
        assert!(
            told[0].contains("injected: the tick of BOOM fails"),
            "{text}"
        );
        assert!(text.lines().any(|l| l.contains("BOOM 500")), "{text}");
        assert!(text.lines().any(|l| l.contains("AFTER 503")), "{text}");
    }
}
