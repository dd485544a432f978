//! A load generator for error storms: sends exactly `total` requests with `concurrency` in
//! flight and prints how many were answered, with which statuses, and the throughput.
//!
//! `cargo run --release -p classroom --example storm -- URL TOTAL CONCURRENCY [HEADER: VALUE]...`

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: storm URL TOTAL CONCURRENCY [HEADER: VALUE]...";
    let url = args.next().ok_or(usage)?;
    let total: u64 = args.next().ok_or(usage)?.parse()?;
    let concurrency: u64 = args.next().ok_or(usage)?.parse()?;
    let mut headers = reqwest::header::HeaderMap::new();
    for h in args {
        let (name, value) = h.split_once(':').ok_or(usage)?;
        headers.insert(
            reqwest::header::HeaderName::from_bytes(name.trim().as_bytes())?,
            value.trim().parse()?,
        );
    }
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .build()?;
    let next = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let answered = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, url, next, errors, answered) = (
                client.clone(),
                url.clone(),
                Arc::clone(&next),
                Arc::clone(&errors),
                Arc::clone(&answered),
            );
            tokio::spawn(async move {
                while next.fetch_add(1, Ordering::Relaxed) < total {
                    if let Ok(response) = client.get(&url).send().await {
                        answered.fetch_add(1, Ordering::Relaxed);
                        if !response.status().is_success() {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                        let _ = response.bytes().await;
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.await?;
    }
    let secs = started.elapsed().as_secs_f64();
    let answered = answered.load(Ordering::Relaxed);
    println!(
        "answered={answered} errors={} secs={secs:.3} rps={:.1}",
        errors.load(Ordering::Relaxed),
        answered as f64 / secs
    );
    Ok(())
}
