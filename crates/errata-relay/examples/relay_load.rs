//! Load generator: replays realistic Sentry envelopes at an in-process relay over loopback
//! HTTP/1.1 connections and reports events/s accepted and processed, p50/p99 latency, 429s
//! (with `Retry-After`), peak RSS and the events lost.
//!
//! ```text
//! cargo run --release -p errata-relay --example relay_load -- [SECONDS] [CONNECTIONS]
//! ```
//!
//! Scenarios: a Django exception event as sentry-python sends it (~13 KB, alternately br and
//! gzip) and a ~50 KB event (gzip), each from `CONNECTIONS` keep-alive connections in a closed
//! loop; then an open-loop overload: requests of the typical event started at ten times the
//! rate the first scenario reached, whatever the answers (at most 20,000 outstanding; beyond,
//! counted as not sent), against the relay's default `max_in_flight`. The relay runs with a
//! SQLite store in a temporary directory and no sink but the store; the client runs in the
//! same process on its own runtime, so the RSS shown is an upper bound for the relay, and the
//! client's cost is charged to the relay's two cores: for the relay as it is deployed (its
//! own process, wrk as the client), `scripts/bench-relay.sh`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use errata_alert::Alerting;
use errata_relay::{Relay, RelaySettings};

#[path = "support/events.rs"]
mod events;

const AUTH: &str =
    "Sentry sentry_version=7, sentry_client=sentry.python/2.19.0, sentry_key=loadkey";

/// Requests outstanding at once in the open loop, at most.
const MAX_OUTSTANDING: u64 = 20_000;

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// How requests are started.
#[derive(Clone, Copy)]
enum Load {
    /// `n` connections, each sending its next request when the last is answered.
    Closed(usize),
    /// Requests started at this rate per second, answered or not.
    Open(f64),
}

#[derive(Default)]
struct Counts {
    ok: AtomicU64,
    shed: AtomicU64,
    shed_with_retry_after: AtomicU64,
    other: AtomicU64,
    not_sent: AtomicU64,
    outstanding: AtomicU64,
    lat: Mutex<Vec<u32>>,
}

struct Outcome {
    sent: u64,
    ok: u64,
    shed: u64,
    shed_with_retry_after: u64,
    other: u64,
    not_sent: u64,
    p50_ms: f64,
    p99_ms: f64,
    elapsed: Duration,
}

async fn one(
    client: &reqwest::Client,
    url: &str,
    (enc, body): &(&'static str, Vec<u8>),
    c: &Counts,
) {
    let t = Instant::now();
    let r = client
        .post(url)
        .header("x-sentry-auth", AUTH)
        .header("content-type", "application/x-sentry-envelope")
        .header("content-encoding", *enc)
        .body(body.clone())
        .send()
        .await;
    match r {
        Ok(r) => {
            let status = r.status().as_u16();
            let retry_after = r.headers().contains_key("retry-after");
            let _ = r.bytes().await;
            match status {
                200 => {
                    c.ok.fetch_add(1, Ordering::Relaxed);
                    let us = t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
                    c.lat.lock().unwrap().push(us);
                }
                429 => {
                    c.shed.fetch_add(1, Ordering::Relaxed);
                    if retry_after {
                        c.shed_with_retry_after.fetch_add(1, Ordering::Relaxed);
                    }
                }
                _ => {
                    c.other.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        Err(_) => {
            c.other.fetch_add(1, Ordering::Relaxed);
        }
    }
}

async fn drive(
    url: String,
    bodies: Arc<Vec<(&'static str, Vec<u8>)>>,
    load: Load,
    secs: u64,
) -> Outcome {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Counts::default());
    let start = Instant::now();
    let mut tasks = Vec::new();
    let mut sent = 0u64;
    match load {
        Load::Closed(connections) => {
            for w in 0..connections {
                let (client, url, bodies, stop, c) = (
                    client.clone(),
                    url.clone(),
                    bodies.clone(),
                    stop.clone(),
                    counts.clone(),
                );
                tasks.push(tokio::spawn(async move {
                    let mut i = w;
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        one(&client, &url, &bodies[i % bodies.len()], &c).await;
                        i += connections;
                        n += 1;
                    }
                    n
                }));
            }
            tokio::time::sleep(Duration::from_secs(secs)).await;
            stop.store(true, Ordering::Relaxed);
            for t in tasks {
                sent += t.await.unwrap_or(0);
            }
        }
        Load::Open(rate) => {
            let mut tick = tokio::time::interval(Duration::from_millis(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut due = 0f64;
            let mut i = 0usize;
            while start.elapsed() < Duration::from_secs(secs) {
                tick.tick().await;
                // Requests due by now, at `rate`, whether or not the earlier ones were answered.
                let target = start.elapsed().as_secs_f64() * rate;
                while due < target {
                    due += 1.0;
                    if counts.outstanding.load(Ordering::Relaxed) >= MAX_OUTSTANDING {
                        counts.not_sent.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    counts.outstanding.fetch_add(1, Ordering::Relaxed);
                    sent += 1;
                    let (client, url, bodies, c) =
                        (client.clone(), url.clone(), bodies.clone(), counts.clone());
                    let k = i;
                    i += 1;
                    tasks.push(tokio::spawn(async move {
                        one(&client, &url, &bodies[k % bodies.len()], &c).await;
                        c.outstanding.fetch_sub(1, Ordering::Relaxed);
                        0
                    }));
                }
            }
            for t in tasks {
                let _ = t.await;
            }
        }
    }
    let elapsed = start.elapsed();
    let mut l = counts.lat.lock().unwrap().clone();
    l.sort_unstable();
    let pct = |p: f64| {
        if l.is_empty() {
            0.0
        } else {
            f64::from(l[((l.len() as f64 * p) as usize).min(l.len() - 1)]) / 1000.0
        }
    };
    let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
    Outcome {
        sent,
        ok: g(&counts.ok),
        shed: g(&counts.shed),
        shed_with_retry_after: g(&counts.shed_with_retry_after),
        other: g(&counts.other),
        not_sent: g(&counts.not_sent),
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        elapsed,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let secs: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10);
    let conns: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(32);

    let typical = Arc::new(events::bodies(64, events::typical, true));
    let big = Arc::new(events::bodies(64, events::large, false));
    let typical_raw = events::envelope(&events::typical(0)).len();
    let big_raw = events::envelope(&events::large(0)).len();
    println!(
        "typical envelope: {typical_raw} bytes ({} br / {} gzip); large: {big_raw} bytes ({} gzip)",
        typical[0].1.len(),
        typical[1].1.len(),
        big[0].1.len()
    );

    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("relay.sqlite3");
    let relay = server_rt.block_on(async {
        let settings = RelaySettings::from_sources(None, |k| match k {
            "ERRATA_RELAY_ADDR" => Some("127.0.0.1:0".into()),
            "ERRATA_RELAY_PROJECTS" => Some("1:loadkey".into()),
            _ => None,
        })
        .unwrap();
        let alerting = Alerting::new().store_path(&store).console(false);
        Relay::start(settings, alerting).await.unwrap()
    });
    let url = format!("http://{}/api/1/envelope/", relay.local_addr());
    println!("| scenario | load | sent | accepted/s | processed/s | p50 ms | p99 ms | 429 (with Retry-After) | errors | not sent | lost | peak RSS MiB |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut typical_rate = 0f64;
    for scenario in 0..3 {
        let (name, bodies, load) = match scenario {
            0 => (
                "typical ~13 KB br/gzip",
                typical.clone(),
                Load::Closed(conns),
            ),
            1 => ("large ~50 KB gzip", big.clone(), Load::Closed(conns)),
            _ => (
                "typical, open-loop 10x overload",
                typical.clone(),
                Load::Open((typical_rate * 10.0).max(1000.0)),
            ),
        };
        let before_stats = relay.stats();
        let before_agg = server_rt.block_on(async { relay.alerting().stats().await.aggregated });
        let started = Instant::now();
        let out = client_rt.block_on(drive(url.clone(), bodies, load, secs));
        // Processed: aggregated by the pipeline once it has taken in what was accepted.
        let agg = server_rt.block_on(async {
            relay.alerting().flush().await;
            relay.alerting().stats().await.aggregated
        });
        let processed_elapsed = started.elapsed();
        let after = relay.stats();
        let accepted = after.events - before_stats.events;
        let processed = agg - before_agg;
        let lost = accepted.saturating_sub(processed);
        let accepted_rate = out.ok as f64 / out.elapsed.as_secs_f64();
        if scenario == 0 {
            typical_rate = accepted_rate;
        }
        let load = match load {
            Load::Closed(c) => format!("{c} connections"),
            Load::Open(r) => format!("{r:.0} req/s offered"),
        };
        println!(
            "| {name} | {load} | {} | {accepted_rate:.0} | {:.0} | {:.2} | {:.2} | {} ({}) | {} | {} | {lost} | {:.0} |",
            out.sent,
            processed as f64 / processed_elapsed.as_secs_f64(),
            out.p50_ms,
            out.p99_ms,
            out.shed,
            out.shed_with_retry_after,
            out.other,
            out.not_sent,
            peak_rss_kib() as f64 / 1024.0,
        );
    }
    let s = relay.stats();
    println!(
        "relay counters: events {} shed {} folded {} captured {}",
        s.events, s.shed, s.folded, s.captured
    );
    server_rt.block_on(relay.shutdown());
}
