//! Rate limits over HTTP: two windows and a clock the test moves, clients that obey
//! `Retry-After`, no shared key without a client address, keys swept in the background.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum::Router;
use errata::Renderer;
use errata_axum::ratelimit::{ManualClock, MemoryStore, RateLimitLayer, Rule};
use errata_axum::test::parse_error;
use errata_axum::ErrataLayer;
use http_body_util::BodyExt;
use tower::ServiceExt;

mod errors {
    errata::catalog!("../../../examples/classroom/errors.toml");
}

fn app(limits: RateLimitLayer) -> Router {
    let renderer = Arc::new(Renderer::new(errors::catalog().clone()));
    Router::new()
        .route("/r", get(|| async { "ok" }))
        .layer(limits)
        .layer(ErrataLayer::new(renderer))
}

struct Answer {
    status: StatusCode,
    retry_after: Option<u64>,
    body: Vec<u8>,
}

async fn call(app: &Router, from: Option<&str>) -> Answer {
    let mut req = Request::get("/r").body(Body::empty()).unwrap();
    if let Some(ip) = from {
        let addr: SocketAddr = format!("{ip}:5555").parse().unwrap();
        req.extensions_mut().insert(ConnectInfo(addr));
    }
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let retry_after = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    Answer {
        status,
        retry_after,
        body,
    }
}

#[tokio::test]
async fn a_client_that_waits_out_retry_after_is_admitted_across_two_windows() {
    let clock = ManualClock::new();
    // 2 a minute (one back every 30 s) and 5 an hour (one back every 12 min).
    let layer = RateLimitLayer::new([Rule::parse("2/min").unwrap(), Rule::parse("5/h").unwrap()])
        .clock(Arc::new(clock.clone()));
    let app = app(layer);
    let ip = Some("198.51.100.7");
    let mut admitted = 0;
    let mut waits = Vec::new();
    while admitted < 12 {
        let answer = call(&app, ip).await;
        if answer.status == StatusCode::OK {
            admitted += 1;
            continue;
        }
        assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
        let body = parse_error(429, &answer.body);
        assert_eq!(body.code, "RATE_LIMIT_EXCEEDED");
        let wait = answer.retry_after.expect("Retry-After");
        // Knocking again and again takes no slot: the advertised wait does not grow.
        for _ in 0..20 {
            let again = call(&app, ip).await;
            assert_eq!(again.status, StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(again.retry_after, Some(wait));
        }
        // One second short is not enough (the waits here are whole seconds) ...
        clock.advance(Duration::from_secs(wait - 1));
        assert_eq!(call(&app, ip).await.retry_after, Some(1));
        // ... the advertised wait is.
        clock.advance(Duration::from_secs(1));
        let answer = call(&app, ip).await;
        assert_eq!(answer.status, StatusCode::OK, "after waiting {wait} s");
        admitted += 1;
        waits.push(wait);
    }
    // The minute window binds first (30 s), then the hour window (up to 12 min) : Retry-After is
    // the time until both admit.
    assert_eq!(waits[0], 30, "{waits:?}");
    assert!(waits.iter().any(|w| *w > 60), "{waits:?}");
    assert!(waits.iter().all(|w| *w <= 720), "{waits:?}");
}

#[tokio::test]
async fn without_a_client_address_every_request_fails_loudly_and_none_share_a_key() {
    let app = app(RateLimitLayer::new([Rule::parse("1/h").unwrap()]));
    for _ in 0..3 {
        let answer = call(&app, None).await;
        assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(parse_error(500, &answer.body).code, "SERVER_ERROR");
    }
    // With connect info (what `errata_axum::serve` sets), each client has its own count.
    assert_eq!(call(&app, Some("192.0.2.1")).await.status, StatusCode::OK);
    assert_eq!(call(&app, Some("192.0.2.2")).await.status, StatusCode::OK);
    assert_eq!(
        call(&app, Some("192.0.2.1")).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test(start_paused = true)]
async fn stale_keys_are_swept_by_a_background_task() {
    let store = Arc::new(MemoryStore::new());
    let layer = RateLimitLayer::new([Rule::parse("10/min").unwrap()])
        .store(store.clone())
        .sweep_every(Duration::from_secs(60));
    let app = app(layer);
    for ip in ["10.1.0.1", "10.1.0.2", "10.1.0.3"] {
        assert_eq!(call(&app, Some(ip)).await.status, StatusCode::OK);
    }
    assert_eq!(store.len(), 3);
    // tokio's paused clock: the sweeper's interval and the limiter's clock move together.
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(store.len(), 3, "nothing is stale yet");
    tokio::time::sleep(Duration::from_secs(100)).await;
    assert_eq!(store.len(), 0, "the keys were not swept");
    // No request was needed for it; and the limiter still works afterwards.
    assert_eq!(call(&app, Some("10.1.0.1")).await.status, StatusCode::OK);
    assert_eq!(store.len(), 1);
}
