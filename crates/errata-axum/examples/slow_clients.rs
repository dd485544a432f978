//! Latency of normal requests with and without 2,000 slow clients, against `errata_axum::serve`
//! in a child process limited to 1,024 file descriptors.
//!
//! ```text
//! cargo run --release -p errata-axum --example slow_clients [-- REQUESTS]
//! ```
//!
//! Prints p50/p99 (and max) of `REQUESTS` (default 2,000) sequential `GET /health` requests,
//! each on a fresh connection from 127.0.0.1, first with no attack, then while 2,000 slow
//! clients from eight other loopback addresses send half a request head and one byte every
//! two seconds (header-read timeout: 5 s).

#[path = "../tests/support/slow.rs"]
mod slow;

use std::time::{Duration, Instant};

async fn measure(addr: std::net::SocketAddr, n: usize) -> (Vec<Duration>, usize) {
    let mut samples = Vec::with_capacity(n);
    let mut failed = 0;
    for _ in 0..n {
        match slow::normal_request(addr).await {
            Ok(d) => samples.push(d),
            Err(_) => failed += 1,
        }
    }
    (samples, failed)
}

fn row(label: &str, samples: &mut [Duration], failed: usize) {
    let p50 = slow::percentile(samples, 50.0);
    let p99 = slow::percentile(samples, 99.0);
    let max = samples.last().copied().unwrap_or_default();
    println!(
        "| {label} | {} | {failed} | {:.2} ms | {:.2} ms | {:.2} ms |",
        samples.len(),
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if slow::is_child() {
        slow::child_server().await;
        return;
    }
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    slow::raise_nofile(8192);
    let exe = std::env::current_exe().unwrap();
    let server = slow::spawn_server(&exe, &[], Duration::from_secs(5)).await;

    // Warm up.
    let _ = measure(server.addr, 100).await;
    let (mut calm, calm_failed) = measure(server.addr, n).await;

    let attack = slow::Attack::start(server.addr, 2000, 8, Duration::from_secs(2));
    let started = Instant::now();
    while attack.held() < 400 && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let held_before = attack.held();
    let (mut attacked, attacked_failed) = measure(server.addr, n).await;
    let held_after = attack.held();
    let stats = &attack.stats;
    use std::sync::atomic::Ordering::Relaxed;

    println!("| run | requests | failed | p50 | p99 | max |");
    println!("|---|---|---|---|---|---|");
    row("no attack", &mut calm, calm_failed);
    row("2,000 slow clients", &mut attacked, attacked_failed);
    println!();
    println!(
        "attack: {held_before} connections held when measuring started, {held_after} at the end; \
         {} closed by the header timeout while trickling, {} closed at once by the connection caps, \
         {} connects failed",
        stats.closed_while_trickling.load(Relaxed),
        stats.closed_at_once.load(Relaxed),
        stats.connect_failed.load(Relaxed)
    );
    drop(attack);
}
