//! Load generator: replays realistic Sentry envelopes at an in-process relay over loopback
//! keep-alive connections and reports events/s accepted and processed, p99 latency, peak RSS
//! and the share lost.
//!
//! ```text
//! cargo run --release -p errata-relay --example relay_load -- [SECONDS] [CONNECTIONS]
//! ```
//!
//! Scenarios: a Django exception event as sentry-python sends it (~10 KB, alternately br and
//! gzip), a 50 KB event (gzip), then a 10× overload (ten times the connections, `max_in_flight`
//! of the relay at its default). The relay runs with a SQLite store in a temporary directory and
//! no sink but the store; the client runs in the same process on its own runtime, so the RSS
//! shown is an upper bound for the relay.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use errata_alert::Alerting;
use errata_relay::{Relay, RelaySettings};

#[path = "support/events.rs"]
mod events;

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

struct Outcome {
    ok: u64,
    shed: u64,
    other: u64,
    p50_ms: f64,
    p99_ms: f64,
    elapsed: Duration,
}

async fn drive(
    url: String,
    bodies: Arc<Vec<(&'static str, Vec<u8>)>>,
    connections: usize,
    secs: u64,
) -> Outcome {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, shed, other) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let lat = Arc::new(Mutex::new(Vec::<u32>::new()));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..connections {
        let (client, url, bodies, stop) =
            (client.clone(), url.clone(), bodies.clone(), stop.clone());
        let (ok, shed, other, lat) = (ok.clone(), shed.clone(), other.clone(), lat.clone());
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let mut i = w;
            while !stop.load(Ordering::Relaxed) {
                let (enc, body) = &bodies[i % bodies.len()];
                i += connections;
                let t = Instant::now();
                let r = client
                    .post(&url)
                    .header("x-sentry-auth", "Sentry sentry_version=7, sentry_client=sentry.python/2.19.0, sentry_key=loadkey")
                    .header("content-type", "application/x-sentry-envelope")
                    .header("content-encoding", *enc)
                    .body(body.clone())
                    .send()
                    .await;
                match r {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let _ = r.bytes().await;
                        match status {
                            200 => {
                                ok.fetch_add(1, Ordering::Relaxed);
                                mine.push(t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                            }
                            429 => {
                                shed.fetch_add(1, Ordering::Relaxed);
                            }
                            _ => {
                                other.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    Err(_) => {
                        other.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            lat.lock().unwrap().extend(mine);
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = start.elapsed();
    let mut l = lat.lock().unwrap().clone();
    l.sort_unstable();
    let pct = |p: f64| {
        if l.is_empty() {
            0.0
        } else {
            f64::from(l[((l.len() as f64 * p) as usize).min(l.len() - 1)]) / 1000.0
        }
    };
    Outcome {
        ok: ok.load(Ordering::Relaxed),
        shed: shed.load(Ordering::Relaxed),
        other: other.load(Ordering::Relaxed),
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        elapsed,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let secs: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10);
    let conns: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(32);

    let typical = events::bodies(64, events::typical, true);
    let big = events::bodies(64, events::large, false);
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
    let scenarios = [
        ("typical ~10 KB br/gzip", Arc::new(typical.clone()), conns),
        ("large ~50 KB gzip", Arc::new(big), conns),
        ("typical, 10x overload", Arc::new(typical), conns * 10),
    ];
    println!("| scenario | conns | accepted/s | processed/s | p50 ms | p99 ms | 429 | errors | lost | peak RSS MiB |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (name, bodies, c) in scenarios {
        let before_stats = relay.stats();
        let before_agg = server_rt.block_on(async { relay.alerting().stats().await.aggregated });
        let started = Instant::now();
        let out = client_rt.block_on(drive(url.clone(), bodies, c, secs));
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
        println!(
            "| {name} | {c} | {:.0} | {:.0} | {:.2} | {:.2} | {} | {} | {lost} | {:.0} |",
            out.ok as f64 / out.elapsed.as_secs_f64(),
            processed as f64 / processed_elapsed.as_secs_f64(),
            out.p50_ms,
            out.p99_ms,
            out.shed,
            out.other,
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
