//! Reports over the store, for the `errata` command line: `stats` (counts per code and route,
//! optionally against a second window) and `alerts list` / `alerts replay`.
//!
//! Every command has an args struct and a `run_*` function returning the text to print:
//!
//! ```
//! use errata_alert::report::{run_stats, Format, StatsArgs};
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("s.sqlite3");
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
//! #     .block_on(errata_alert::spool::SqliteStore::open(&path)).unwrap();
//!
//! let out = run_stats(&StatsArgs {
//!     store: path.display().to_string(),
//!     from: "-7d".into(),
//!     to: "now".into(),
//!     vs: Some(("-14d".into(), "-7d".into())),
//!     format: Format::Table,
//! })
//! .unwrap();
//! assert!(out.contains("code"));
//! ```

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::alert::thousands;
use crate::spool::{Delivery, ListFilter, PostgresStore, SqliteStore, StoreError};
use crate::store::minute_of;
use crate::Backend;

mod html;
pub mod time;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Format {
    /// Aligned text columns.
    #[default]
    Table,
    /// JSON.
    Json,
    /// A self-contained HTML page with an inline SVG chart.
    Html,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "table" | "text" => Ok(Format::Table),
            "json" => Ok(Format::Json),
            "html" => Ok(Format::Html),
            other => Err(format!("unknown format {other:?}: use table, json or html")),
        }
    }
}

/// Why a report failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// A time argument could not be read.
    #[error("{what}: cannot read {input:?} as a time; use RFC 3339 (2026-01-31T12:00:00Z), a date (2026-01-31), `now` or a relative time (-1h, -30m, -7d)")]
    Time {
        /// Which argument.
        what: &'static str,
        /// What was given.
        input: String,
    },
    /// A window holds no minute: counts are kept per minute.
    #[error("{what}: the window {from} → {to} holds no whole minute's start; counts are kept per minute, so widen it to include one")]
    NoMinute {
        /// Which window.
        what: &'static str,
        /// Its start.
        from: String,
        /// Its end.
        to: String,
    },
    /// The two windows share minutes: a comparison would count them on both sides.
    #[error("the windows overlap: {first} and {second} share {minutes} minute(s); let one end where the other starts")]
    Overlap {
        /// The earlier window.
        first: String,
        /// The later window.
        second: String,
        /// How many minutes they share.
        minutes: i64,
    },
    /// A window ends before it starts.
    #[error("{what}: the window is empty: it starts at {from} and ends at {to}; put the earlier time first")]
    EmptyWindow {
        /// Which window.
        what: &'static str,
        /// Its start.
        from: String,
        /// Its end.
        to: String,
    },
    /// This output format is not available for the command.
    #[error("{0}")]
    Unsupported(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No async runtime could be started.
    #[error("cannot start a runtime: {0}")]
    Runtime(String),
}

/// Arguments of `errata stats`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsArgs {
    /// SQLite path or `postgres://` URL (usually `ERRATA_STORE`).
    pub store: String,
    /// Start of the window (RFC 3339 or relative, e.g. `-1h`).
    pub from: String,
    /// End of the window (`now` when empty).
    pub to: String,
    /// A second window to compare against (the "before").
    pub vs: Option<(String, String)>,
    /// Output format.
    pub format: Format,
}

/// Counts of one code on one route.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsRow {
    /// Catalog code.
    pub code: String,
    /// HTTP status.
    pub status: u16,
    /// Route template.
    pub route: String,
    /// Events in the window.
    pub count: u64,
    /// Events in the comparison window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vs_count: Option<u64>,
    /// Change from `vs_count` to `count`, in percent (`None` without a comparison, or from 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_pct: Option<f64>,
}

/// A window: half-open, `[from, to)`, at second precision.
///
/// Counts are kept per minute; a minute is counted in the window that holds its start. So
/// windows that meet (one's `to` is the other's `from`, even inside a minute) never count a
/// minute twice, and together count every minute once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Window {
    /// Start (inclusive).
    pub from: DateTime<Utc>,
    /// End (exclusive).
    pub to: DateTime<Utc>,
}

impl Window {
    /// The minutes counted, as `[first, end)` minute numbers since the epoch: those whose
    /// start lies in the window.
    pub fn minutes(&self) -> (i64, i64) {
        (minute_ceil(self.from), minute_ceil(self.to))
    }

    fn label(&self) -> String {
        format!(
            "{} → {}",
            self.from.format("%Y-%m-%d %H:%M:%S"),
            self.to.format("%Y-%m-%d %H:%M:%S")
        )
    }
}

/// Which of the two compared windows is the earlier ("before").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Before {
    /// The comparison window (`--vs-from … --vs-to`) comes first: changes read vs → window.
    Vs,
    /// The main window comes first: changes read window → vs.
    Window,
}

/// The counts of one code (or of the codes folded into `other`) per bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CodeSeries {
    /// The code, or `other` for the codes past the top ones.
    pub code: String,
    /// Events per bucket of the window.
    pub series: Vec<u64>,
    /// Events per bucket of the comparison window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vs_series: Option<Vec<u64>>,
}

/// How many codes get a series of their own; the rest are folded into `other`.
pub const TOP_CODES: usize = 5;

/// The result of `stats`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    /// The window.
    pub window: Window,
    /// The comparison window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vs: Option<Window>,
    /// Events in the window.
    pub total: u64,
    /// Events in the comparison window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vs_total: Option<u64>,
    /// Change of the total, in percent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_pct: Option<f64>,
    /// Per code and route, busiest first.
    pub rows: Vec<StatsRow>,
    /// Per code.
    pub codes: Vec<StatsRow>,
    /// Minutes per bucket of the series.
    pub bucket_minutes: i64,
    /// Events per bucket of the window.
    pub series: Vec<u64>,
    /// Events per bucket of the comparison window, aligned on its start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vs_series: Option<Vec<u64>>,
    /// With a comparison: which window is the earlier one. `change_pct` always reads from the
    /// earlier window to the later.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Before>,
    /// One series per top code ([`TOP_CODES`]), then `other` for the rest.
    pub code_series: Vec<CodeSeries>,
    /// Whose counts these are: the store read, and so which processes wrote them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

fn window(
    what: &'static str,
    from: &str,
    to: &str,
    now: DateTime<Utc>,
) -> Result<Window, ReportError> {
    let f = time::parse_time(from, now).ok_or_else(|| ReportError::Time {
        what,
        input: from.to_string(),
    })?;
    let t = if to.trim().is_empty() {
        now
    } else {
        time::parse_time(to, now).ok_or_else(|| ReportError::Time {
            what,
            input: to.to_string(),
        })?
    };
    if f >= t {
        return Err(ReportError::EmptyWindow {
            what,
            from: f.to_rfc3339(),
            to: t.to_rfc3339(),
        });
    }
    Ok(Window { from: f, to: t })
}

/// The first minute that starts at or after `t`.
fn minute_ceil(t: DateTime<Utc>) -> i64 {
    let m = minute_of(t);
    if t.timestamp().rem_euclid(60) == 0 && t.timestamp_subsec_nanos() == 0 {
        m
    } else {
        m + 1
    }
}

/// Checks that `w` holds a minute.
fn holds_a_minute(what: &'static str, w: Window) -> Result<(), ReportError> {
    let (first, end) = w.minutes();
    if first >= end {
        return Err(ReportError::NoMinute {
            what,
            from: w.from.to_rfc3339(),
            to: w.to.to_rfc3339(),
        });
    }
    Ok(())
}

/// Percent change from `before` to `after`.
pub fn change_pct(before: u64, after: u64) -> Option<f64> {
    (before > 0).then(|| (after as f64 - before as f64) / before as f64 * 100.0)
}

/// `-98.4%` with a real minus sign, `+12.0%`.
pub fn format_pct(p: f64) -> String {
    if p < 0.0 {
        format!("−{:.1}%", -p)
    } else {
        format!("+{p:.1}%")
    }
}

/// Computes the statistics of `window` (and `vs`) from a store.
pub async fn compute_stats(
    store: &dyn Backend,
    window: Window,
    vs: Option<Window>,
) -> Result<Stats, ReportError> {
    holds_a_minute("from/to", window)?;
    let mut before = None;
    if let Some(w) = vs {
        holds_a_minute("vs", w)?;
        let (a, b) = (window.minutes(), w.minutes());
        let shared = a.1.min(b.1) - a.0.max(b.0);
        let (first, second) = if b.0 < a.0 { (w, window) } else { (window, w) };
        if shared > 0 {
            return Err(ReportError::Overlap {
                first: first.label(),
                second: second.label(),
                minutes: shared,
            });
        }
        before = Some(if b.0 < a.0 {
            Before::Vs
        } else {
            Before::Window
        });
    }
    let (a_from, a_to) = window.minutes();
    let rows_a = store.counts(a_from, a_to).await?;
    let rows_b = match vs {
        Some(w) => {
            let (from, to) = w.minutes();
            Some(store.counts(from, to).await?)
        }
        None => None,
    };
    let span = (a_to - a_from).max(1);
    let bucket_minutes = [1i64, 5, 15, 60, 360, 1440, 10_080]
        .into_iter()
        .find(|b| span / b <= 120)
        .unwrap_or(10_080);
    let buckets = ((span + bucket_minutes - 1) / bucket_minutes) as usize;
    let mut series = vec![0u64; buckets];
    let mut by_route: BTreeMap<(String, String), (u16, u64, u64)> = BTreeMap::new();
    let mut by_code: BTreeMap<String, (u16, u64, u64)> = BTreeMap::new();
    for r in &rows_a {
        let e = by_route
            .entry((r.code.clone(), r.route.clone()))
            .or_insert((r.status, 0, 0));
        e.0 = e.0.max(r.status);
        e.1 += r.count;
        let c = by_code.entry(r.code.clone()).or_insert((r.status, 0, 0));
        c.0 = c.0.max(r.status);
        c.1 += r.count;
        let i = ((r.minute - a_from) / bucket_minutes) as usize;
        if let Some(s) = series.get_mut(i) {
            *s += r.count;
        }
    }
    let mut vs_series = None;
    if let (Some(rows_b), Some(w)) = (&rows_b, vs) {
        let (b_from, b_to) = w.minutes();
        let b_span = (b_to - b_from).max(1);
        let mut s = vec![0u64; ((b_span + bucket_minutes - 1) / bucket_minutes) as usize];
        for r in rows_b {
            let e = by_route
                .entry((r.code.clone(), r.route.clone()))
                .or_insert((r.status, 0, 0));
            e.0 = e.0.max(r.status);
            e.2 += r.count;
            let c = by_code.entry(r.code.clone()).or_insert((r.status, 0, 0));
            c.0 = c.0.max(r.status);
            c.2 += r.count;
            let i = ((r.minute - b_from) / bucket_minutes) as usize;
            if let Some(v) = s.get_mut(i) {
                *v += r.count;
            }
        }
        vs_series = Some(s);
    }
    let has_vs = vs.is_some();
    // The change reads from the earlier window to the later.
    let change = |window: u64, vs: u64| match before {
        Some(Before::Vs) => change_pct(vs, window),
        Some(Before::Window) => change_pct(window, vs),
        None => None,
    };
    let make = |code: String, route: String, (status, a, b): (u16, u64, u64)| StatsRow {
        code,
        status,
        route,
        count: a,
        vs_count: has_vs.then_some(b),
        change_pct: change(a, b),
    };
    let mut rows: Vec<StatsRow> = by_route
        .into_iter()
        .map(|((code, route), v)| make(code, route, v))
        .collect();
    let mut codes: Vec<StatsRow> = by_code
        .into_iter()
        .map(|(code, v)| make(code, String::new(), v))
        .collect();
    let order = |a: &StatsRow, b: &StatsRow| {
        (b.count.max(b.vs_count.unwrap_or(0)))
            .cmp(&a.count.max(a.vs_count.unwrap_or(0)))
            .then_with(|| a.code.cmp(&b.code))
            .then_with(|| a.route.cmp(&b.route))
    };
    rows.sort_by(order);
    codes.sort_by(order);
    let total: u64 = rows.iter().map(|r| r.count).sum();
    let vs_total = has_vs.then(|| rows.iter().map(|r| r.vs_count.unwrap_or(0)).sum());
    let code_series = per_code_series(
        &codes,
        &rows_a,
        rows_b.as_deref(),
        window,
        vs,
        bucket_minutes,
    );
    Ok(Stats {
        window,
        vs,
        total,
        vs_total,
        change_pct: vs_total.and_then(|b| change(total, b)),
        rows,
        codes,
        bucket_minutes,
        series,
        vs_series,
        before,
        code_series,
        source: None,
    })
}

/// One series per top code (the busiest first, by the larger of its two windows), the rest in
/// `other`.
fn per_code_series(
    codes: &[StatsRow],
    rows_a: &[crate::store::CountRow],
    rows_b: Option<&[crate::store::CountRow]>,
    window: Window,
    vs: Option<Window>,
    bucket_minutes: i64,
) -> Vec<CodeSeries> {
    let top: Vec<&str> = codes
        .iter()
        .take(TOP_CODES)
        .map(|c| c.code.as_str())
        .collect();
    let folded = codes.len() > TOP_CODES;
    let lanes = top.len() + usize::from(folded);
    let lane = |code: &str| top.iter().position(|c| *c == code).unwrap_or(top.len());
    let fill = |rows: &[crate::store::CountRow], w: Window| {
        let (from, to) = w.minutes();
        let buckets = ((to - from).max(1) + bucket_minutes - 1) / bucket_minutes;
        let mut out = vec![vec![0u64; buckets as usize]; lanes];
        for r in rows {
            let i = ((r.minute - from) / bucket_minutes) as usize;
            if let Some(v) = out.get_mut(lane(&r.code)).and_then(|s| s.get_mut(i)) {
                *v += r.count;
            }
        }
        out
    };
    let a = fill(rows_a, window);
    let b = rows_b.zip(vs).map(|(rows, w)| fill(rows, w));
    (0..lanes)
        .map(|i| CodeSeries {
            code: top
                .get(i)
                .map_or_else(|| "other".to_owned(), |c| (*c).to_owned()),
            series: a[i].clone(),
            vs_series: b.as_ref().map(|b| b[i].clone()),
        })
        .collect()
}

/// `before → after  change`, the earlier window first.
fn fmt_change(r: &StatsRow, before: Option<Before>) -> String {
    let Some(vs) = r.vs_count else {
        return String::new();
    };
    let (b, a) = match before {
        Some(Before::Window) => (r.count, vs),
        _ => (vs, r.count),
    };
    match r.change_pct {
        Some(p) => format!("{} → {}  {}", thousands(b), thousands(a), format_pct(p)),
        None if a == 0 => format!("{} → {}", thousands(b), thousands(a)),
        None => format!("{} → {}  new", thousands(b), thousands(a)),
    }
}

/// `before: … → …, after: … → …`.
fn fmt_windows(stats: &Stats) -> Option<String> {
    let vs = stats.vs?;
    let (b, a) = match stats.before {
        Some(Before::Window) => (stats.window, vs),
        _ => (vs, stats.window),
    };
    Some(format!("before {}, after {} (UTC)", b.label(), a.label()))
}

fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            let pad = widths[i] - c.chars().count();
            s.push_str(c);
            if i + 1 < cells.len() {
                s.push_str(&" ".repeat(pad + 2));
            }
        }
        s.trim_end().to_string()
    };
    let mut out = line(headers.iter().map(|h| h.to_string()).collect());
    out.push('\n');
    for r in rows {
        out.push_str(&line(r.clone()));
        out.push('\n');
    }
    out
}

/// Renders statistics.
pub fn render_stats(stats: &Stats, format: Format) -> String {
    match format {
        Format::Json => serde_json::to_string_pretty(stats).unwrap_or_default(),
        Format::Html => html::page(stats),
        Format::Table => {
            let has_vs = stats.vs.is_some();
            let mut out = format!(
                "errors {} → {}",
                stats.window.from.format("%Y-%m-%d %H:%M"),
                stats.window.to.format("%Y-%m-%d %H:%M UTC")
            );
            if let Some(w) = fmt_windows(stats) {
                out.push_str(&format!("\n{w}"));
            }
            out.push_str("\n\n");
            let mut headers = vec!["code", "status", "route", "count"];
            if has_vs {
                headers.push("before → after  change");
            }
            let to_cells = |r: &StatsRow, route: &str| {
                let mut c = vec![
                    r.code.clone(),
                    r.status.to_string(),
                    route.to_string(),
                    thousands(r.count),
                ];
                if has_vs {
                    c.push(fmt_change(r, stats.before));
                }
                c
            };
            let mut cells: Vec<Vec<String>> =
                stats.rows.iter().map(|r| to_cells(r, &r.route)).collect();
            let total = StatsRow {
                code: "total".into(),
                status: 0,
                route: String::new(),
                count: stats.total,
                vs_count: stats.vs_total,
                change_pct: stats.change_pct,
            };
            let mut t = to_cells(&total, "");
            t[1] = String::new();
            cells.push(t);
            out.push_str(&table(&headers, &cells));
            if let Some(source) = &stats.source {
                out.push_str(&format!("\n{source}\n"));
            }
            if stats.codes.len() > 1 {
                out.push_str("\nper code\n");
                let cells: Vec<Vec<String>> = stats
                    .codes
                    .iter()
                    .map(|r| to_cells(r, ""))
                    .map(|mut c| {
                        c.remove(2);
                        c
                    })
                    .collect();
                let mut h = headers.clone();
                h.remove(2);
                out.push_str(&table(&h, &cells));
            }
            out
        }
    }
}

/// Whose counts a store holds (never its URL: it may carry a password).
pub fn describe_store(location: &str) -> String {
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        "Counts from the shared PostgreSQL store: every replica writing to it (the fleet's counts)."
            .to_owned()
    } else {
        "Counts from a SQLite store: the processes on this host that write to that file.".to_owned()
    }
}

/// Opens the store named by a CLI argument: a `postgres://` URL or a SQLite path that must
/// exist.
pub async fn open_store(location: &str) -> Result<Box<dyn Backend>, ReportError> {
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        Ok(Box::new(PostgresStore::connect(location).await?))
    } else {
        let path = location.strip_prefix("sqlite://").unwrap_or(location);
        Ok(Box::new(SqliteStore::open_existing(path).await?))
    }
}

/// `stats` against a store, at `now`.
pub async fn stats(
    store: &dyn Backend,
    args: &StatsArgs,
    now: DateTime<Utc>,
) -> Result<String, ReportError> {
    let w = window("from/to", &args.from, &args.to, now)?;
    let vs = match &args.vs {
        Some((f, t)) => Some(window("vs", f, t, now)?),
        None => None,
    };
    let mut s = compute_stats(store, w, vs).await?;
    s.source = Some(describe_store(&args.store));
    Ok(render_stats(&s, args.format))
}

/// Runs on a private runtime (on its own thread when called inside one).
fn block_on<T: Send + 'static>(
    f: impl std::future::Future<Output = Result<T, ReportError>> + Send + 'static,
) -> Result<T, ReportError> {
    let run = move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ReportError::Runtime(e.to_string()))?
            .block_on(f)
    };
    if tokio::runtime::Handle::try_current().is_ok() {
        std::thread::spawn(run)
            .join()
            .unwrap_or_else(|_| Err(ReportError::Runtime("the report thread panicked".into())))
    } else {
        run()
    }
}

/// `errata stats`: counts per code and route in a window, optionally against another.
pub fn run_stats(args: &StatsArgs) -> Result<String, ReportError> {
    let args = args.clone();
    block_on(async move {
        let store = open_store(&args.store).await?;
        stats(store.as_ref(), &args, Utc::now()).await
    })
}

/// Arguments of `errata alerts list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertsListArgs {
    /// SQLite path or `postgres://` URL.
    pub store: String,
    /// Pending, dead, or both.
    pub filter: ListFilter,
    /// Table or JSON.
    pub format: Format,
}

#[derive(Serialize)]
struct ListedDelivery<'a> {
    id: i64,
    sink: &'a str,
    state: &'a str,
    attempts: u32,
    created_at: DateTime<Utc>,
    next_at: DateTime<Utc>,
    last_error: Option<&'a str>,
    code: &'a str,
    status: u16,
    count: u64,
    kind: &'a str,
    fingerprint: &'a str,
}

/// Renders deliveries.
pub fn render_deliveries(list: &[Delivery], format: Format) -> Result<String, ReportError> {
    let items: Vec<ListedDelivery> = list
        .iter()
        .map(|d| ListedDelivery {
            id: d.id,
            sink: &d.sink,
            state: d.state.as_str(),
            attempts: d.attempts,
            created_at: d.created_at,
            next_at: d.next_at,
            last_error: d.last_error.as_deref(),
            code: &d.alert.code,
            status: d.alert.status,
            count: d.alert.count,
            kind: d.alert.kind.as_str(),
            fingerprint: &d.alert.fingerprint,
        })
        .collect();
    match format {
        Format::Json => Ok(serde_json::to_string_pretty(&items).unwrap_or_default()),
        Format::Html => Err(ReportError::Unsupported(
            "alerts list: html is not available; use table or json".into(),
        )),
        Format::Table => {
            if items.is_empty() {
                return Ok("no pending or dead-lettered alerts\n".to_string());
            }
            let rows: Vec<Vec<String>> = items
                .iter()
                .map(|d| {
                    vec![
                        d.id.to_string(),
                        d.sink.to_string(),
                        d.state.to_string(),
                        d.attempts.to_string(),
                        format!("{} {}", d.code, d.status),
                        format!("×{}", thousands(d.count)),
                        d.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                        d.last_error
                            .map(|e| e.chars().take(60).collect())
                            .unwrap_or_default(),
                    ]
                })
                .collect();
            Ok(table(
                &[
                    "id",
                    "sink",
                    "state",
                    "attempts",
                    "code",
                    "count",
                    "created",
                    "last error",
                ],
                &rows,
            ))
        }
    }
}

/// `errata alerts list`: pending and dead-lettered deliveries.
pub fn run_alerts_list(args: &AlertsListArgs) -> Result<String, ReportError> {
    let args = args.clone();
    block_on(async move {
        let store = open_store(&args.store).await?;
        let list = store.list(args.filter).await?;
        render_deliveries(&list, args.format)
    })
}

/// What to replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplayTarget {
    /// One delivery by id.
    Id(i64),
    /// Every dead letter (`--all-dead`).
    AllDead,
}

/// Arguments of `errata alerts replay`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertsReplayArgs {
    /// SQLite path or `postgres://` URL.
    pub store: String,
    /// Which deliveries.
    pub target: ReplayTarget,
}

/// Makes deliveries due again; returns how many. The running service sends them.
pub async fn replay(store: &dyn Backend, target: ReplayTarget) -> Result<u64, ReportError> {
    match target {
        ReplayTarget::Id(id) => store.replay(id).await.map(|()| 1).map_err(Into::into),
        ReplayTarget::AllDead => store.replay_dead().await.map_err(Into::into),
    }
}

/// `errata alerts replay <id|--all-dead>`.
pub fn run_alerts_replay(args: &AlertsReplayArgs) -> Result<String, ReportError> {
    let args = args.clone();
    block_on(async move {
        let store = open_store(&args.store).await?;
        let n = replay(store.as_ref(), args.target).await?;
        Ok(format!(
            "{n} deliver{} queued again; the running service sends {}\n",
            if n == 1 { "y" } else { "ies" },
            if n == 1 { "it" } else { "them" }
        ))
    })
}
