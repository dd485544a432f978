//! A server for the rate-limit load test: the same route behind the limiter with its windows in
//! this process (`/local/r`) and in Redis (`/redis/r`), both under the errata layer.
//!
//! `cargo run --release -p errata-axum --features redis --example ratelimit_bench -- 127.0.0.1:3998 redis://127.0.0.1:6379/`
//! (`scripts/bench-ratelimit.sh` runs it with wrk and counts Redis round trips per request;
//! `RATELIMIT_IN_FLIGHT=N` sets `RedisStore::batches_in_flight`, `RATELIMIT_TIMEOUT_MS=N` its
//! timeout, e.g. for a run under valgrind, where 50 ms is too short).
//! The limits are high enough never to refuse: the cost measured is the check's.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use errata::Renderer;
use errata_axum::ratelimit::{RateLimitLayer, RedisStore, Rule};
use errata_axum::ErrataLayer;

mod errors {
    errata::catalog!("../../../examples/classroom/errors.toml");
}

fn rules() -> [Rule; 2] {
    // Two windows, as classroom has: every request checks (and charges) both.
    [
        Rule::parse("1000000000/s").expect("rate"),
        Rule::parse("4000000000/h").expect("rate"),
    ]
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:3998".to_owned());
    let redis = args
        .next()
        .unwrap_or_else(|| "redis://127.0.0.1:6379/".to_owned());
    let prefix = format!("errata-bench:{}:", std::process::id());
    let mut store = RedisStore::new(&redis)?.key_prefix(prefix);
    if let Some(n) = std::env::var("RATELIMIT_IN_FLIGHT")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        store = store.batches_in_flight(n);
    }
    if let Some(ms) = std::env::var("RATELIMIT_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        store = store.timeout(Duration::from_millis(ms));
    }
    if !store.connect_within(Duration::from_secs(5)).await {
        return Err(format!("no answer from {redis}").into());
    }
    let store = Arc::new(store);
    let renderer = Arc::new(Renderer::new(errors::catalog().clone()));
    let local = Router::new()
        .route("/local/r", get(|| async { "ok" }))
        .layer(RateLimitLayer::new(rules()));
    let shared = Router::new()
        .route("/redis/r", get(|| async { "ok" }))
        .layer(RateLimitLayer::new(rules()).store(store.clone()));
    let app = local.merge(shared).layer(ErrataLayer::new(renderer));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("listening on {addr}");
    let stats = Arc::clone(&store);
    tokio::spawn(async move {
        let mut last = 0;
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let now = stats.fallbacks();
            if now != last {
                eprintln!("fallbacks to the local store: {now}");
                last = now;
            }
        }
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
