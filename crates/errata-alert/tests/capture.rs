//! The capture layer: error responses with and without a report, panics, users, route
//! templates; exact counts when the queue overflows; counts per minute in the store.

mod support;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use errata_alert::{
    AlertKind, AlertPolicy, Alerting, CaptureContext, Clock, ErrorReport, Event, ManualClock,
    Timing,
};
use std::sync::Arc;

use support::causes::failing;
use support::Recorder;
use tower::ServiceExt;

async fn not_found_user(ctx: CaptureContext) -> Response {
    ctx.set_user("u-7");
    let mut r = (StatusCode::NOT_FOUND, "{}").into_response();
    r.extensions_mut().insert(ErrorReport {
        code: "USER_NOT_FOUND".into(),
        status: 404,
        message: "No such user.".into(),
        locale: "en".into(),
        request_id: None,
        error: Arc::new(failing("USER_NOT_FOUND", 404, vec![], None)),
        in_catalog: true,
        alert: AlertPolicy::Never,
        spike: None,
        docs_url: None,
    });
    r
}

async fn db_down(ctx: CaptureContext) -> Response {
    ctx.set_user("u-8");
    let mut r = (StatusCode::SERVICE_UNAVAILABLE, "{}").into_response();
    r.extensions_mut().insert(ErrorReport {
        code: "DB_DOWN".into(),
        status: 503,
        message: "Try again later.".into(),
        locale: "ko".into(),
        request_id: Some("req-42".into()),
        error: Arc::new(failing("DB_DOWN", 503, vec!["pool timed out".into()], None)),
        in_catalog: true,
        alert: AlertPolicy::Always,
        spike: None,
        docs_url: Some("https://docs.example/DB_DOWN".into()),
    });
    r
}

async fn boom() -> &'static str {
    panic!("index out of bounds")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layer_turns_error_responses_and_panics_into_events() {
    let rec = Recorder::default();
    let clock = ManualClock::new(chrono::Utc::now());
    let (layer, handle) = Alerting::new()
        .sink(rec.clone())
        .clock(clock.clone())
        .store_memory()
        .start()
        .await
        .unwrap();
    let app = Router::new()
        .route("/users/{id}", get(not_found_user))
        .route("/db/{id}", get(db_down))
        .route("/boom", get(boom))
        .route("/ok", get(|| async { "fine" }))
        .layer(layer);
    let call = |uri: &'static str| {
        let app = app.clone();
        async move {
            tokio::spawn(
                app.oneshot(
                    Request::get(uri)
                        .header("x-request-id", "hdr-1")
                        .body(Body::empty())
                        .unwrap(),
                ),
            )
            .await
        }
    };
    assert_eq!(call("/ok").await.unwrap().unwrap().status(), 200);
    assert_eq!(call("/users/1").await.unwrap().unwrap().status(), 404);
    assert_eq!(call("/db/1").await.unwrap().unwrap().status(), 503);
    assert_eq!(call("/db/2").await.unwrap().unwrap().status(), 503);
    assert_eq!(call("/nowhere").await.unwrap().unwrap().status(), 404);
    assert!(
        call("/boom").await.unwrap_err().is_panic(),
        "the panic goes on after capture"
    );
    handle.flush().await;
    clock.advance(Duration::from_secs(6));
    handle.flush().await;
    assert!(handle.wait_delivered(Duration::from_secs(5)).await);
    let stats = handle.stats().await;
    assert_eq!(stats.capture.captured, 5, "the 200 is not an event");
    let alerts = rec.take();
    // 4xx never alerts (the report's policy, and the default for UNKNOWN_404); 5xx and panics do.
    let mut codes: Vec<&str> = alerts.iter().map(|a| a.code.as_str()).collect();
    codes.sort();
    assert_eq!(codes, ["DB_DOWN", "PANIC"]);
    let db = alerts.iter().find(|a| a.code == "DB_DOWN").unwrap();
    assert_eq!(db.kind, AlertKind::New);
    assert_eq!(db.count, 2);
    assert_eq!(db.users, 1);
    assert_eq!(db.sample.route.as_deref(), Some("/db/{id}"));
    assert_eq!(db.sample.method, "GET");
    assert_eq!(db.sample.user_id.as_deref(), Some("u-8"));
    assert_eq!(db.sample.request_id.as_deref(), Some("req-42"));
    assert_eq!(db.sample.locale.as_deref(), Some("ko"));
    assert_eq!(db.sample.cause_chain, ["pool timed out"]);
    assert_eq!(db.docs_url.as_deref(), Some("https://docs.example/DB_DOWN"));
    let panic = alerts.iter().find(|a| a.code == "PANIC").unwrap();
    assert!(panic.sample.panic);
    assert_eq!(panic.sample.cause_chain, ["panic: index out of bounds"]);
    assert_eq!(panic.sample.request_id.as_deref(), Some("hdr-1"));

    // Counts per minute reach the store, 4xx included, unmatched routes kept apart.
    let now = errata_alert::store::minute_of(clock.now());
    let counts = handle.backend().counts(now - 5, now + 5).await.unwrap();
    let count = |code: &str| {
        counts
            .iter()
            .filter(|r| r.code == code)
            .map(|r| r.count)
            .sum::<u64>()
    };
    assert_eq!(count("USER_NOT_FOUND"), 1);
    assert_eq!(count("UNKNOWN_404"), 1);
    assert_eq!(count("DB_DOWN"), 2);
    assert_eq!(count("PANIC"), 1);
    assert!(counts
        .iter()
        .any(|r| r.code == "UNKNOWN_404" && r.route == "(unmatched)"));
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overflow_folds_into_exact_counts_with_bounded_memory() {
    let rec = Recorder::default();
    let clock = ManualClock::new(chrono::Utc::now());
    let (_layer, handle) = Alerting::new()
        .sink(rec.clone())
        .clock(clock.clone())
        .queue_capacity(1)
        .store_memory()
        .timing(Timing {
            group_wait: Duration::from_secs(1),
            ..Timing::default()
        })
        .start()
        .await
        .unwrap();
    let cap = handle.capturer();
    // 50,000 events with distinct messages that normalize to 5 groups.
    for i in 0..50_000u64 {
        cap.capture(
            Event::new(format!("FLOOD_{}", i % 5), 500)
                .with_message(format!("order {i} failed"))
                .with_user(format!("user-{i}")),
        );
    }
    handle.flush().await;
    let stats = handle.stats().await;
    assert_eq!(stats.capture.captured, 50_000);
    assert!(stats.capture.folded > 40_000, "{stats:?}");
    assert_eq!(stats.aggregated, 50_000);
    clock.advance(Duration::from_secs(2));
    handle.flush().await;
    assert!(handle.wait_delivered(Duration::from_secs(5)).await);
    handle.shutdown().await;
    let alerts = rec.take();
    assert_eq!(alerts.iter().map(|a| a.count).sum::<u64>(), 50_000);
    assert!(alerts.len() <= 10, "{} alerts", alerts.len());
    for a in &alerts {
        assert!(a.users_total <= 1000, "users are capped");
    }
}
